//! What a person sees in a real terminal: mailtug run inside tmux on an
//! 80×24 pane, read back with `tmux capture-pane` while it runs and after.
//! Progress lines fit 80 columns and are gone at the end; the summary
//! line and the plan's table are on screen and fit too. The source is a real Dovecot behind a
//! proxy that adds latency, so a copy lasts long enough to be watched.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::account::Account;
use crate::support::faultproxy::{Fault, FaultProxy, Plan, Rule};
use crate::support::Dovecot;
use crate::util::TestEnv;

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a new detached 80×24 session
    /// named `name`, with `env` exported.
    fn start(env: &TestEnv, name: &str, command: &str) -> Tmux {
        let socket = format!("mailtug-test-{}-{name}", std::process::id());
        let home = env.root().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let exports = format!(
            "export XDG_STATE_HOME='{}' HOME='{}' TERM=xterm-256color; unset NO_COLOR MAILTUG_CONFIG XDG_CONFIG_HOME;",
            env.state_home().display(),
            home.display()
        );
        let line = format!(
            "{exports} cd '{}' && {command}; echo EXIT=$?; sleep 600",
            env.root().display()
        );
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "80", "-y", "24", "-s", name, "sh", "-c", &line])
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux is needed for the terminal tests: apt-get install tmux");
        assert!(status.success(), "tmux did not start");
        Tmux { socket }
    }

    /// The pane's text now, wrapped lines joined (so a line wider than the
    /// pane shows as one long line).
    fn screen(&self) -> String {
        self.capture(&["-J"])
    }

    /// The pane's text as its 80 columns show it. A line that fills all 80
    /// columns (indicatif pads its bars to the width) reads as wrapped to
    /// tmux, so progress is checked on this view.
    fn rows(&self) -> String {
        self.capture(&[])
    }

    fn capture(&self, options: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .args(options)
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Screens captured every 20 ms until one satisfies `done` (returned
    /// last), at most `limit`; as rows when `rows`.
    fn watch(&self, limit: Duration, rows: bool, done: impl Fn(&str) -> bool) -> Vec<String> {
        let started = Instant::now();
        let mut screens = Vec::new();
        loop {
            let screen = match rows {
                true => self.rows(),
                false => self.screen(),
            };
            let finished = done(&screen);
            screens.push(screen);
            if finished {
                return screens;
            }
            assert!(
                started.elapsed() < limit,
                "waited {limit:?}; the screen:\n{}",
                screens.last().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A progress line: the run's (`1,204/5,000 msgs 24% …`) or a folder's.
fn is_progress(line: &str) -> bool {
    line.contains(" msgs") || line.contains(" msg/s")
}

/// Every line fits 80 columns, but for one that holds a path or URL too
/// long to fit anyway (the test directory's name is long).
fn assert_fits(screen: &str) {
    for line in screen.lines() {
        let longest = line
            .split(' ')
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        assert!(
            line.chars().count() <= 80 || longest > 60,
            "a line wider than 80 columns ({}):\n{line}\n\nscreen:\n{screen}",
            line.chars().count()
        );
    }
}

/// A source of 600 small messages in three folders, read through a proxy
/// that delays every chunk, and its arguments.
fn slow_source<'s>(env: &TestEnv, server: &'s Dovecot) -> (Account<'s>, FaultProxy) {
    let source = Account::new(env, server, "tty-src", None);
    let when = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (folder, n) in [("INBOX", 300), ("Archive", 200), ("Sent", 100)] {
        let messages: Vec<(Vec<u8>, &str, SystemTime)> = (0..n)
            .map(|i| {
                let raw = format!(
                    "Message-ID: <{folder}-{i}@tty.example>\r\nSubject: {i}\r\n\r\n{}\r\n",
                    "line of text ".repeat(40)
                );
                (raw.into_bytes(), "", when)
            })
            .collect();
        source.user.load(server, folder, &messages);
    }
    let proxy = FaultProxy::start(
        server.imaps_port(),
        Plan::clean().with(Rule::to_client(Fault::Latency { millis: 15 })),
    );
    (source, proxy)
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn copy_line(source: &Account, proxy: &FaultProxy, destination: &Path, verb: &str) -> String {
    let mut words = vec![
        env!("CARGO_BIN_EXE_mailtug").to_string(),
        verb.to_string(),
        source.url("imaps", proxy.port()),
        format!("maildir:{}", destination.display()),
        "--jobs".into(),
        "2".into(),
    ];
    words.extend(source.src_args());
    shell_words(&words)
}

#[test]
fn in_a_real_terminal_the_plan_and_progress_fit_80_columns_and_only_the_summary_stays() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let (source, proxy) = slow_source(&env, server);
    let destination = env.path("backup");

    // The plan first: a table that fits, and the verdict.
    let tmux = Tmux::start(
        &env,
        "plan",
        &copy_line(&source, &proxy, &destination, "plan"),
    );
    let screens = tmux.watch(Duration::from_secs(60), false, |s| s.contains("EXIT="));
    let plan = screens.last().unwrap();
    assert!(plan.contains("EXIT=0"), "{plan}");
    assert!(plan.contains("Ready: 600 messages"), "{plan}");
    assert_fits(plan);
    drop(tmux);

    let tmux = Tmux::start(
        &env,
        "copy",
        &copy_line(&source, &proxy, &destination, "copy"),
    );
    let screens = tmux.watch(Duration::from_secs(120), true, |s| s.contains("EXIT="));
    let during: Vec<&String> = screens
        .iter()
        .filter(|s| s.lines().any(is_progress))
        .collect();
    assert!(
        !during.is_empty(),
        "no progress seen in {} screens; the last:\n{}",
        screens.len(),
        screens.last().unwrap()
    );
    for screen in &during {
        // Each progress line ends on its own row: nothing wrapped.
        for line in screen.lines().filter(|l| is_progress(l)) {
            assert!(
                line.trim_end().ends_with("B/s") || line.contains(" ETA "),
                "wrapped or cut:\n{screen}"
            );
        }
        for line in screen.lines().filter(|l| l.contains('[')) {
            assert!(line.contains('%'), "a folder's line wrapped:\n{screen}");
        }
        // The run's line counts N/M, a percent and whole-number rates.
        let run_line = screen.lines().find(|l| l.contains(" msgs")).unwrap();
        assert!(run_line.contains('/'), "{run_line}");
        assert!(
            !run_line.contains(".0/s") && !run_line.contains("msg/s."),
            "{run_line}"
        );
    }
    let end = &tmux.screen();
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(
        end.contains("mailtug: copied 600 messages"),
        "the summary line:\n{end}"
    );
    assert!(
        !end.lines().any(is_progress),
        "progress left on screen:\n{end}"
    );
    assert_fits(end);
}
