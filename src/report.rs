//! Everything the user sees while a command runs: progress bars, log lines,
//! JSON Lines events and the final summary.
//!
//! stdout is data (JSON Lines with `--json`, tables for `ls`), stderr is for
//! people (bars, warnings, errors, the summary). Bars appear only when stderr
//! is a terminal, and log lines go through indicatif's `suspend` so they never
//! tear a bar. Text from servers, headers and file names is hostile: it passes
//! through `sanitize` before it reaches a terminal.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::event::Event;

/// How chatty the run is; set once at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verbosity {
    pub quiet: bool,
    /// 0: warnings and errors; 1: `-v` info; 2: `-vv` debug.
    pub level: u8,
    pub json: bool,
    /// `--progress` (`Some(true)`), `--no-progress` (`Some(false)`), or
    /// bars when stderr is a terminal (`None`).
    pub progress: Option<bool>,
}

struct Logger {
    verbosity: Verbosity,
    bars: Option<MultiProgress>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static STDOUT: Mutex<()> = Mutex::new(());

/// Sets up logging and, when stderr is a terminal and not quiet/json, bars.
pub fn init(verbosity: Verbosity) {
    let on_a_terminal =
        std::io::stderr().is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
    let bars = match verbosity.progress {
        Some(false) => None,
        // Asked for: drawn on stderr whatever it is.
        Some(true) if !on_a_terminal => Some(MultiProgress::with_draw_target(
            ProgressDrawTarget::term_like_with_hz(Box::new(ForcedStderr), 4),
        )),
        Some(true) => Some(MultiProgress::with_draw_target(
            ProgressDrawTarget::stderr_with_hz(10),
        )),
        None => (!verbosity.quiet && !verbosity.json && on_a_terminal)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10))),
    };
    let _ = LOGGER.set(Logger { verbosity, bars });
}

/// Moves the cursor `n` places in `direction` (an ANSI `CSI n A..D`).
fn move_cursor(n: usize, direction: char) -> std::io::Result<()> {
    if n > 0 {
        write!(std::io::stderr(), "\x1b[{n}{direction}")?;
    }
    Ok(())
}

/// stderr as a terminal 80 columns wide, for `--progress` when it is not
/// one (indicatif draws nothing on what is not a terminal).
#[derive(Debug)]
struct ForcedStderr;

impl indicatif::TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        move_cursor(n, 'A')
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        move_cursor(n, 'B')
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        move_cursor(n, 'C')
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        move_cursor(n, 'D')
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        writeln!(std::io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        write!(std::io::stderr(), "{s}")
    }
    fn clear_line(&self) -> std::io::Result<()> {
        write!(std::io::stderr(), "\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn logger() -> Option<&'static Logger> {
    LOGGER.get()
}

pub(crate) fn verbosity() -> Verbosity {
    logger().map(|l| l.verbosity).unwrap_or(Verbosity {
        quiet: false,
        level: 0,
        json: false,
        progress: None,
    })
}

fn to_stderr(line: &str) {
    let print = || {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    };
    match logger().and_then(|l| l.bars.as_ref()) {
        Some(bars) => bars.suspend(print),
        None => print(),
    }
}

/// An error line; always shown.
pub fn error(text: &str) {
    to_stderr(&format!("mailtug: error: {}", sanitize(text)));
}

/// A warning; hidden by `--quiet`, also a JSON event with `--json`.
pub(crate) fn warn(text: &str) {
    let v = verbosity();
    if v.json {
        emit(&Event::Warning { message: text });
    }
    if !v.quiet {
        to_stderr(&format!("mailtug: warning: {}", sanitize(text)));
    }
}

/// Files and directories of a source that look like mail and were not
/// read; each once, though every worker lists the source.
static SKIPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Something under a source that may hold mail and is not read (a stray
/// file, an unreadable one, a special file): shown even with `--quiet`, a
/// `skipped` JSON event, and counted, so the run's summary and exit code
/// say that not everything was read.
pub(crate) fn skipped(path: &std::path::Path, why: &str) {
    let path = path.display().to_string();
    {
        let mut seen = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&path) {
            return;
        }
        seen.push(path.clone());
    }
    emit(&Event::Skipped {
        path: &path,
        reason: why,
    });
    to_stderr(&format!(
        "mailtug: warning: not read: `{}`: {}",
        sanitize(&path),
        sanitize(why)
    ));
}

/// How many times [`skipped`] was called.
pub(crate) fn skipped_count() -> u64 {
    SKIPPED.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
}

/// `-v` detail.
pub(crate) fn info(text: &str) {
    let v = verbosity();
    if !v.quiet && v.level >= 1 {
        to_stderr(&format!("mailtug: {}", sanitize(text)));
    }
}

/// `-vv` detail.
pub(crate) fn debug(text: &str) {
    let v = verbosity();
    if !v.quiet && v.level >= 2 {
        to_stderr(&format!("mailtug: debug: {}", sanitize(text)));
    }
}

/// A human line on stderr (the final summary); hidden by `--quiet`.
pub(crate) fn human(text: &str) {
    if !verbosity().quiet {
        to_stderr(&sanitize(text));
    }
}

/// Whether a `summary` event was printed: every command's `--json`
/// output ends with one, and `main` prints a bare one for a command that
/// ended before its own.
static SUMMARY_PRINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn summary_printed() -> bool {
    SUMMARY_PRINTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The last event of a command that printed no summary of its own: its
/// exit code and, when it failed, why.
pub fn final_summary(exit_code: i32, error: Option<&anyhow::Error>) {
    if summary_printed() {
        return;
    }
    emit(&Event::CopySummary {
        summary: None,
        exit_code,
        error: error.map(|e| format!("{e:#}")),
        error_kind: error.map(crate::exit::failure_kind),
    });
}

/// A summary event for a command line clap refused (exit 2), printed only
/// when the words include `--json`: the parser never got far enough to
/// set up the output.
pub fn usage_summary(args: &[String], error: &str) {
    if !args.iter().any(|a| a == "--json") {
        return;
    }
    let event = Event::CopySummary {
        summary: None,
        exit_code: crate::exit::ExitCode::Usage.code(),
        error: Some(error.trim().lines().next().unwrap_or_default().to_string()),
        error_kind: Some("usage"),
    };
    if let Ok(line) = event.to_line() {
        print_line(&line);
    }
}

/// Writes one JSON Lines event to stdout when `--json` is on.
pub(crate) fn emit(event: &Event) {
    if !verbosity().json {
        return;
    }
    if event.is_summary() {
        SUMMARY_PRINTED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    match event.to_line() {
        Ok(line) => print_line(&line),
        Err(e) => warn(&format!("an event could not be printed as JSON: {e}")),
    }
}

fn print_line(line: &str) {
    let _guard = STDOUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Replaces control characters (terminal escapes, NUL, CR) with `?`, so a
/// hostile folder name or server reply cannot rewrite the user's terminal.
pub(crate) fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
            .collect(),
    )
}

/// Progress of one copy run: a line for the whole run (messages done of
/// those known to be pending, percent, bytes, whole-number rates, ETA)
/// and a line per folder being copied, all within 80 columns and cleared
/// when the run ends however it ends.
pub(crate) struct Progress {
    overall: Option<ProgressBar>,
    state: Mutex<Totals>,
}

#[derive(Default)]
struct Totals {
    messages: u64,
    bytes: u64,
    /// Messages the folders started so far said were pending.
    expected: u64,
    folders_started: usize,
    folders: usize,
    started: Option<std::time::Instant>,
}

impl Progress {
    /// For a run of `folders` folders.
    pub fn new(folders: usize) -> Progress {
        let overall = logger().and_then(|l| l.bars.as_ref()).map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            overall,
            state: Mutex::new(Totals {
                folders,
                started: Some(std::time::Instant::now()),
                ..Totals::default()
            }),
        }
    }

    /// A bar for one folder; it disappears when dropped.
    pub fn folder_bar(&self, name: &str, pending: Option<u64>) -> FolderBar {
        {
            let mut totals = self.state.lock().unwrap_or_else(|e| e.into_inner());
            totals.folders_started += 1;
            totals.expected += pending.unwrap_or(0);
        }
        self.redraw();
        let Some(bars) = logger().and_then(|l| l.bars.as_ref()) else {
            return FolderBar(None);
        };
        let bar = match pending {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        };
        let bar = bars.insert(0, bar);
        bar.set_style(
            ProgressStyle::with_template(
                "  {prefix:24!} [{bar:28}] {pos:>7}/{len:7} {percent:>3}%",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(sanitize(name).into_owned());
        FolderBar(Some(bar))
    }

    /// One message handled (copied, duplicate or failed) of `bytes` bytes.
    pub fn message(&self, bytes: u64) {
        {
            let mut totals = self.state.lock().unwrap_or_else(|e| e.into_inner());
            totals.messages += 1;
            totals.bytes += bytes;
        }
        self.redraw();
    }

    fn redraw(&self) {
        let Some(bar) = &self.overall else {
            return;
        };
        let line = self.state.lock().unwrap_or_else(|e| e.into_inner()).line();
        bar.set_message(line);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
    }
}

impl Totals {
    /// `1,204/5,000 msgs 24% · 118 MiB · 312 msg/s 2 MiB/s · ETA 0:12`;
    /// while folders are still to start, the count is of those started
    /// (`1,204/5,000+`) and there is no ETA.
    fn line(&self) -> String {
        let seconds = self
            .started
            .map_or(0.0, |s| s.elapsed().as_secs_f64())
            .max(0.001);
        let all_known = self.folders_started >= self.folders;
        let expected = self.expected.max(self.messages);
        let mut line = format!(
            "{}/{}{} msgs",
            thousands(self.messages),
            thousands(expected),
            if all_known { "" } else { "+" }
        );
        if all_known && expected > 0 {
            line.push_str(&format!(" {}%", self.messages * 100 / expected));
        }
        let rate = self.messages as f64 / seconds;
        line.push_str(&format!(
            " · {} · {} msg/s {}/s",
            bytes(self.bytes),
            rate.round() as u64,
            whole_bytes((self.bytes as f64 / seconds) as u64)
        ));
        if all_known && rate >= 0.5 && expected > self.messages {
            let left = ((expected - self.messages) as f64 / rate) as u64;
            line.push_str(&format!(" · ETA {}:{:02}", left / 60, left % 60));
        }
        line
    }
}

/// A byte count in whole units (`71 KiB`), for rates.
fn whole_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", value.round() as u64, UNITS[unit])
}

/// `12345` as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Drop for Progress {
    /// A run that stops on an error clears its lines too.
    fn drop(&mut self) {
        self.finish();
    }
}

/// The bar of one folder being copied.
pub(crate) struct FolderBar(Option<ProgressBar>);

impl FolderBar {
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for FolderBar {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Formats a byte count the way people read it (`1.2 MiB`).
pub(crate) fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_line_counts_rates_and_eta_in_whole_numbers_within_80_columns() {
        let mut totals = Totals {
            messages: 1_204,
            bytes: 123_456_789,
            expected: 5_000,
            folders_started: 2,
            folders: 3,
            started: None,
        };
        let line = totals.line();
        assert!(line.starts_with("1,204/5,000+ msgs · "), "{line}");
        assert!(!line.contains('%') && !line.contains("ETA"), "{line}");
        totals.folders_started = 3;
        totals.started = Some(std::time::Instant::now() - Duration::from_secs(10));
        let line = totals.line();
        assert!(line.starts_with("1,204/5,000 msgs 24% · "), "{line}");
        assert!(line.contains(" 120 msg/s "), "{line}");
        assert!(line.contains("ETA 0:31"), "{line}");
        assert!(!line.contains('.') || line.contains("MiB"), "{line}");
        assert!(
            line.chars().count() + 2 <= 80,
            "{} columns: {line}",
            line.len()
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(whole_bytes(72_417), "71 KiB");
        assert_eq!(whole_bytes(3 * 1024 * 1024 + 100), "3 MiB");
    }

    #[test]
    fn sanitize_neutralises_terminal_escapes() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[2Jb\r\0c\td"), "a?[2Jb??c\td");
    }
}
