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
}

struct Logger {
    verbosity: Verbosity,
    bars: Option<MultiProgress>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static STDOUT: Mutex<()> = Mutex::new(());

/// Sets up logging and, when stderr is a terminal and not quiet/json, bars.
pub fn init(verbosity: Verbosity) {
    let bars = (!verbosity.quiet
        && !verbosity.json
        && std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_some_and(|t| t != "dumb"))
    .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
    let _ = LOGGER.set(Logger { verbosity, bars });
}

fn logger() -> Option<&'static Logger> {
    LOGGER.get()
}

pub(crate) fn verbosity() -> Verbosity {
    logger().map(|l| l.verbosity).unwrap_or(Verbosity {
        quiet: false,
        level: 0,
        json: false,
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

/// Progress of one copy run: an overall line, and a bar per folder being copied.
pub(crate) struct Progress {
    overall: Option<ProgressBar>,
    bytes: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub fn new() -> Progress {
        let overall = logger().and_then(|l| l.bars.as_ref()).map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} total {pos} msgs, {msg} ({per_sec}) {elapsed_precise}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            overall,
            bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A bar for one folder; it disappears when dropped.
    pub fn folder_bar(&self, name: &str, pending: Option<u64>) -> FolderBar {
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
                "{prefix:20!} [{bar:30}] {pos}/{len} msgs {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(sanitize(name).into_owned());
        FolderBar(Some(bar))
    }

    /// One message handled (copied, duplicate or failed) of `bytes` bytes.
    pub fn message(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.overall {
            bar.inc(1);
            bar.set_message(indicatif::HumanBytes(total).to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
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
    fn sanitize_neutralises_terminal_escapes() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[2Jb\r\0c\td"), "a?[2Jb??c\td");
    }
}
