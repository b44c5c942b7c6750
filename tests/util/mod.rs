//! The harness every end-to-end test uses: a private temp directory per test,
//! the real `mailtug` binary run inside it with its own `XDG_STATE_HOME` and
//! `HOME` (the user's real checkpoints are never touched), and assertions that
//! print everything needed to understand a failure (ripgrep's and fd's
//! `TestEnv`).
//!
//! A test's directory is removed when the test passes and kept, with its path
//! printed, when it fails.

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod corpus;
pub mod crlf;
pub mod model;
pub mod smallfs;

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use serde_json::Value;

/// The crate root, where `fixtures/`, `man/` and `completions/` live.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped test corpus.
pub fn fixtures_dir() -> PathBuf {
    crate_dir().join("fixtures")
}

/// One test's world: a temp directory holding its inputs, outputs and state.
pub struct TestEnv {
    root: PathBuf,
}

impl TestEnv {
    /// A fresh, empty directory named after the running test.
    pub fn new() -> TestEnv {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let thread = std::thread::current();
        let test_name: String = thread
            .name()
            .unwrap_or("test")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let root = std::env::temp_dir().join("mailtug-tests").join(format!(
            "{test_name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if root.exists() {
            make_writable(&root);
            fs::remove_dir_all(&root).expect("removing an old test directory");
        }
        fs::create_dir_all(root.join("home")).expect("creating the test directory");
        // Canonical, so paths printed by mailtug (which canonicalises) compare equal.
        let root = root
            .canonicalize()
            .expect("canonicalising the test directory");
        TestEnv { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the test directory.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// An endpoint argument, e.g. `endpoint("maildir", "out")` →
    /// `maildir:/tmp/…/out`.
    pub fn endpoint(&self, kind: &str, relative: &str) -> String {
        format!("{kind}:{}", self.path(relative).display())
    }

    /// `$XDG_STATE_HOME` as the binary sees it.
    pub fn state_home(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Where mailtug keeps default checkpoints.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.state_home().join("mailtug")
    }

    /// The state files (`*.sqlite`) in the default state directory.
    pub fn checkpoints(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = match fs::read_dir(self.checkpoint_dir()) {
            Ok(listing) => listing
                .map(|e| e.expect("listing checkpoints").path())
                .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort();
        found
    }

    /// The only default checkpoint, as (id, path).
    pub fn only_checkpoint(&self) -> (String, PathBuf) {
        let found = self.checkpoints();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one checkpoint in {}, found {found:?}",
            self.checkpoint_dir().display()
        );
        let path = found.into_iter().next().unwrap();
        let id = path.file_stem().unwrap().to_string_lossy().into_owned();
        (id, path)
    }

    /// A state file as `mailtug state show` prints it: the JSON shape of
    /// the checkpoints of earlier releases (folders, their progress and
    /// destination indexes).
    pub fn state_json(&self, path: &Path) -> Value {
        let output = self.run(&["state", "show", path.to_str().expect("a UTF-8 path")]);
        assert_exit(&output, 0);
        serde_json::from_slice(&output.stdout).expect("`state show` prints JSON")
    }

    /// The only default state file as `mailtug state show` prints it.
    pub fn only_state_json(&self) -> Value {
        let (_, path) = self.only_checkpoint();
        self.state_json(&path)
    }

    /// Writes `secret` and a newline to `<root>/<name>` with mode 0600 (the
    /// file exists with that mode before the secret is in it), for
    /// `--src-password-file`/`--dst-password-file`: secrets never go on argv.
    pub fn write_secret(&self, name: &str, secret: &str) -> PathBuf {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = self.path(name);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        writeln!(file, "{secret}").unwrap();
        path
    }

    /// Runs the binary with owned arguments (built with `format!`).
    pub fn run_owned(&self, args: &[String]) -> Output {
        self.command(args)
            .output()
            .expect("running the mailtug binary")
    }

    /// [`TestEnv::run_json`] with owned arguments.
    pub fn run_json_owned(&self, args: &[String], code: i32) -> Vec<Value> {
        let output = self.run_owned(args);
        assert_exit(&output, code);
        json_events(&output)
    }

    /// Copies `fixtures/<name>` (file or tree) to `<root>/<name>`, keeping
    /// file modification times, which are internal dates in a maildir.
    /// Tests read the copy, never `fixtures/` itself.
    pub fn copy_fixture(&self, name: &str) -> PathBuf {
        let from = fixtures_dir().join(name);
        let to = self.path(name);
        copy_tree(&from, &to);
        to
    }

    /// A command for the real binary, run in the test directory with the
    /// test's own state directories.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mailtug"));
        command
            .args(args)
            .current_dir(&self.root)
            .env("XDG_STATE_HOME", self.state_home())
            .env("HOME", self.root.join("home"))
            // The user's own config file is not the test's.
            .env_remove("MAILTUG_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Runs the binary to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("running the mailtug binary")
    }

    /// Runs the binary, checks its exit code and that every stdout line is
    /// a JSON event, and returns the events. `args` should contain `--json`.
    pub fn run_json(&self, args: &[&str], code: i32) -> Vec<Value> {
        let output = self.run(args);
        assert_exit(&output, code);
        json_events(&output)
    }

    /// Starts the binary with stdout piped for reading JSON events as they come.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the mailtug binary");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        // Drained on its own thread, so the child never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Running {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
            events: Vec::new(),
            stopped: false,
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test directory kept for inspection: {}",
                self.root.display()
            );
        } else {
            make_writable(&self.root);
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// A binary started with [`TestEnv::spawn`].
pub struct Running {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<JoinHandle<String>>,
    /// Every event read so far.
    pub events: Vec<Value>,
    stopped: bool,
}

/// How a spawned run ended.
pub struct Finished {
    pub status: ExitStatus,
    pub stderr: String,
    pub events: Vec<Value>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads events until `n` `message` events have been seen in total.
    /// Returns false if the run ended first.
    pub fn wait_for_messages(&mut self, n: usize) -> bool {
        while self.count("message") < n {
            if !self.read_event() {
                return false;
            }
        }
        true
    }

    /// Reads events until one of the given kind arrives; false at EOF.
    pub fn wait_for_event(&mut self, kind: &str) -> bool {
        loop {
            if !self.read_event() {
                return false;
            }
            if self.events.last().is_some_and(|e| e["event"] == kind) {
                return true;
            }
        }
    }

    fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|e| e["event"] == kind).count()
    }

    fn read_event(&mut self) -> bool {
        let Some(stdout) = self.stdout.as_mut() else {
            return false;
        };
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(0) | Err(_) => false,
            Ok(_) => {
                self.events.push(parse_event(&line));
                true
            }
        }
    }

    /// SIGKILL, as `kill -9` or a power cut would end it.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("sending SIGKILL");
    }

    /// Sends a signal by name (`TERM`, `INT`, `STOP`, `CONT`).
    pub fn signal(&mut self, name: &str) {
        send_signal(self.pid(), name);
        match name {
            "STOP" => self.stopped = true,
            "CONT" => self.stopped = false,
            _ => {}
        }
    }

    /// Reads the remaining events and waits for the exit.
    pub fn finish(mut self) -> Finished {
        while self.read_event() {}
        self.stdout = None;
        let status = self.child.wait().expect("waiting for mailtug");
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert_no_panic(&stderr);
        Finished {
            status,
            stderr,
            events: std::mem::take(&mut self.events),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Never leave a stopped or running child behind a failed assertion.
        if self.child.try_wait().ok().flatten().is_none() {
            if self.stopped {
                send_signal(self.child.id(), "CONT");
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends a signal with the shell's `kill` builtin (no procps needed).
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{name} {pid}"))
        .status()
        .expect("running sh -c kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

impl Finished {
    /// Asserts the run ended with exit code `code`.
    pub fn assert_exit(&self, code: i32) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit code {code}, got {:?}\n--- stderr ---\n{}",
            self.status,
            self.stderr
        );
    }

    /// Asserts the run was ended by SIGKILL.
    pub fn assert_killed(&self) {
        assert_eq!(
            self.status.signal(),
            Some(9),
            "expected the run to be killed, it ended with {:?}\n--- stderr ---\n{}",
            self.status,
            self.stderr
        );
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn dump(output: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        stdout(output),
        stderr(output)
    )
}

/// Asserts the exit code, and that the binary did not panic whatever the code.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected exit code {code}, got {:?}\n{}",
        output.status,
        dump(output)
    );
    assert_no_panic(&stderr(output));
}

pub fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "mailtug panicked:\n{stderr}");
}

/// Asserts that stderr has a `mailtug: error:` line containing every one of `parts`.
pub fn assert_error_line(output: &Output, parts: &[&str]) {
    let text = stderr(output);
    let found = text
        .lines()
        .filter(|line| line.starts_with("mailtug: error: "))
        .any(|line| parts.iter().all(|part| line.contains(part)));
    assert!(
        found,
        "expected a `mailtug: error:` line containing {parts:?}\n{}",
        dump(output)
    );
}

fn try_parse_event(line: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("stdout line is not JSON ({e}): {line:?}"))?;
    if !value.get("event").is_some_and(Value::is_string) {
        return Err(format!("JSON line has no \"event\" key: {line}"));
    }
    // Every event any test sees fits the published schema
    // (docs/events.schema.json).
    mailtug::schema::check_event(&value)
        .map_err(|e| format!("event does not fit docs/events.schema.json: {e}\n{line}"))?;
    Ok(value)
}

fn parse_event(line: &str) -> Value {
    try_parse_event(line).unwrap_or_else(|e| panic!("{e}"))
}

/// Every stdout line as a JSON event; panics on a line that is not one.
pub fn json_events(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| try_parse_event(line).unwrap_or_else(|e| panic!("{e}\n{}", dump(output))))
        .collect()
}

/// The events of one kind.
pub fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// The final `summary` event.
pub fn summary(events: &[Value]) -> &Value {
    let last = events.last().expect("no JSON events at all");
    assert_eq!(
        last["event"], "summary",
        "the last event is not the summary: {last}"
    );
    last
}

/// A summary count as an integer.
pub fn count(summary: &Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("summary has no integer `{key}`: {summary}"))
}

/// True when this process can read a file whose mode is 000 (root, or
/// CAP_DAC_OVERRIDE): permission-based unreadability cannot be tested then.
pub fn permissions_are_bypassed(env: &TestEnv) -> bool {
    let probe = env.path("permission-probe");
    fs::write(&probe, b"x").unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&probe).is_ok();
    fs::remove_file(&probe).unwrap();
    readable
}

/// Copies a file or a directory tree, keeping file mtimes.
pub fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from)
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", from.display()));
    if meta.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::copy(from, to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
        let file = fs::File::options().write(true).open(to).unwrap();
        file.set_modified(meta.modified().unwrap()).unwrap();
    }
}

/// Every file under `dir` (relative paths), sorted; directories excluded.
pub fn list_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(listing) = fs::read_dir(dir) else {
            return;
        };
        for entry in listing {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Restores owner permissions under `dir` so it can be removed.
fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(listing) = fs::read_dir(dir) {
        for entry in listing.flatten() {
            make_writable(&entry.path());
        }
    }
}

/// Every file under `dir` with its bytes, mtime and mode: equal snapshots
/// mean nothing was written.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime, u32)> {
    list_files(dir)
        .into_iter()
        .map(|relative| {
            let path = dir.join(&relative);
            let meta = fs::symlink_metadata(&path).unwrap();
            let bytes = fs::read(&path).unwrap_or_default();
            (
                relative,
                bytes,
                meta.modified().unwrap(),
                meta.permissions().mode(),
            )
        })
        .collect()
}

/// Asserts two snapshots are equal, naming the files that differ.
#[track_caller]
pub fn assert_same_snapshot(
    before: &[(PathBuf, Vec<u8>, std::time::SystemTime, u32)],
    after: &[(PathBuf, Vec<u8>, std::time::SystemTime, u32)],
    what: &str,
) {
    let names = |s: &[(PathBuf, Vec<u8>, std::time::SystemTime, u32)]| -> Vec<PathBuf> {
        s.iter().map(|(p, ..)| p.clone()).collect()
    };
    let (b, a) = (names(before), names(after));
    let added: Vec<_> = a.iter().filter(|p| !b.contains(p)).collect();
    let removed: Vec<_> = b.iter().filter(|p| !a.contains(p)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|entry| {
            after
                .iter()
                .any(|other| other.0 == entry.0 && other != *entry)
        })
        .map(|entry| &entry.0)
        .collect();
    assert!(
        added.is_empty() && removed.is_empty() && changed.is_empty(),
        "{what}: files changed\n  added: {added:?}\n  removed: {removed:?}\n  changed: {changed:?}"
    );
}

/// A path as a command-line argument.
pub fn path_arg(path: &Path) -> String {
    path.to_str().expect("UTF-8 test paths").to_owned()
}

/// An owned argument list: `args(["copy", &src, &dst])`.
pub fn args<I, S>(parts: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    parts.into_iter().map(Into::into).collect()
}
