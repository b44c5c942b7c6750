//! Hostile and broken input, table-driven: every case runs the real binary,
//! copying into a maildir and into an mbox file, and must end exactly as its
//! row says — the messages copied byte for byte (with their flags and dates),
//! or a failure reported on one `mailtug: error:` line naming the file, with
//! the documented exit code. Never a panic, never a hang, never a partial
//! file (nothing left in `tmp/`, no journal or lock, an mbox that parses to
//! its end), and never a change to the source or outside the destination.
//!
//! The rows: `fixtures/malformed/cases.json` (small mbox files, made by
//! `scripts/gen-corpus.py`), [`generated_cases`] (files too big to commit,
//! written at test time) and [`maildir_cases`] (maildir trees with special
//! files: FIFOs, symbolic links, unreadable files, stray files).

mod imap;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::model::{
    assert_maildir_copy_layout, assert_maildir_layout, assert_mbox_file_layout, read_maildir,
    read_mbox_file, Stored,
};
use crate::util::{
    assert_error_line, assert_no_panic, count, events_of, fixtures_dir, json_events,
    permissions_are_bypassed, stderr, summary, TestEnv,
};

/// A run that takes longer than this is hung (the slowest case, a 60 MB
/// message through a debug build, needs a few seconds).
const HANG: Duration = Duration::from_secs(120);

/// One message a case must copy.
#[derive(Clone, Debug)]
struct Want {
    sha256: String,
    size: u64,
    /// [`crate::util::model::flag_text`] form.
    flags: String,
    /// Unix seconds; `None` when the source gives no date (not compared).
    date: Option<i64>,
    /// The flags in a maildir destination, when it keeps more than an mbox
    /// can: keyword letters without a name.
    in_maildir: Option<String>,
}

impl Want {
    fn of(raw: &[u8], flags: &str, date: Option<i64>) -> Want {
        Want {
            sha256: sha256_hex(raw),
            size: raw.len() as u64,
            flags: flags.to_string(),
            date,
            in_maildir: None,
        }
    }

    /// The same message with `flags` in a maildir destination.
    fn in_maildir(mut self, flags: &str) -> Want {
        self.in_maildir = Some(flags.to_string());
        self
    }

    /// What a maildir destination holds.
    fn as_in_maildir(&self) -> Want {
        Want {
            flags: self
                .in_maildir
                .clone()
                .unwrap_or_else(|| self.flags.clone()),
            ..self.clone()
        }
    }
}

/// What a case must end with.
#[derive(Clone, Debug)]
struct Outcome {
    exit: i32,
    messages: Vec<Want>,
    failed: u64,
    duplicates: u64,
    /// Substrings of one `mailtug: error:` line, when an error is expected.
    error: Option<Vec<String>>,
    /// Paths (relative to the source) reported as not read.
    not_read: Vec<String>,
}

impl Outcome {
    fn copied(messages: Vec<Want>) -> Outcome {
        Outcome {
            exit: 0,
            messages,
            failed: 0,
            duplicates: 0,
            error: None,
            not_read: Vec::new(),
        }
    }

    /// Entries of the source that are reported as not read (exit 1).
    fn with_not_read(mut self, paths: &[&str]) -> Outcome {
        self.exit = 1;
        self.not_read = paths.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Some messages fail alone (exit 1), each reported naming `names`.
    fn with_failed(mut self, failed: u64, error: &[&str]) -> Outcome {
        self.exit = 1;
        self.failed = failed;
        self.error = Some(error.iter().map(|s| s.to_string()).collect());
        self
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A listing of everything under `dir` without following symbolic links or
/// opening anything (a FIFO must not be read): path → (kind, size, mtime,
/// mode, symlink target).
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(listing) = fs::read_dir(dir) else {
            return;
        };
        for entry in listing {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let target = fs::read_link(&path).ok();
            out.insert(
                path.strip_prefix(base).unwrap().to_path_buf(),
                format!(
                    "{:?} size={} mtime={}.{} mode={:o} target={target:?}",
                    meta.file_type(),
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.mode()
                ),
            );
            if meta.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs the binary, killing it if it has not ended after [`HANG`].
fn run_bounded(env: &TestEnv, args: &[&str]) -> Output {
    let child = env
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting mailtug");
    let pid = child.id();
    let deadline = Instant::now() + HANG;
    let watchdog = std::thread::spawn(move || {
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            // Ends when the child is gone (reaped): signal 0 finds no process.
            // SAFETY: kill with signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
            if !alive {
                return false;
            }
        }
        crate::util::send_signal(pid, "KILL");
        true
    });
    let output = child.wait_with_output().expect("waiting for mailtug");
    let hung = watchdog.join().unwrap_or(false);
    assert!(
        !hung,
        "mailtug {args:?} did not end within {HANG:?}: killed\n{}",
        stderr(&output)
    );
    output
}

/// Runs one case into a maildir and into an mbox file and checks `want`.
/// `source` is the endpoint; `protected` is where the source lives, which
/// must be left exactly as it was.
fn check_case(env: &TestEnv, label: &str, source: &str, protected: &Path, want: &Outcome) {
    let before = tree(protected);
    let outside_before = tree(env.root());
    let mut maildir_result: Option<Vec<Stored>> = None;
    for kind in ["maildir", "mbox"] {
        let destination = match kind {
            "maildir" => env.path(&format!("out/{label}.maildir")),
            _ => env.path(&format!("out/{label}.mbox")),
        };
        let endpoint = format!("{kind}:{}", destination.display());
        let output = run_bounded(env, &["--json", "copy", source, &endpoint]);
        let context = format!(
            "case `{label}` into {kind}\n--- stderr ---\n{}",
            stderr(&output)
        );
        assert_no_panic(&stderr(&output));
        assert_eq!(
            output.status.code(),
            Some(want.exit),
            "exit code, {context}"
        );
        let events = json_events(&output);
        let summary = summary(&events);
        let not_read: Vec<String> = events_of(&events, "skipped")
            .iter()
            .map(|e| {
                let path = std::path::Path::new(e["path"].as_str().unwrap_or_default());
                path.strip_prefix(
                    source
                        .trim_start_matches("maildir:")
                        .trim_start_matches("mbox:"),
                )
                .unwrap_or(path)
                .display()
                .to_string()
            })
            .collect();
        assert_eq!(not_read, want.not_read, "not read, {context}");
        assert_eq!(
            count(summary, "messages_copied"),
            want.messages.len() as u64,
            "messages_copied, {context}"
        );
        assert_eq!(
            count(summary, "messages_failed"),
            want.failed,
            "messages_failed, {context}"
        );
        assert_eq!(
            count(summary, "messages_duplicate"),
            want.duplicates,
            "messages_duplicate, {context}"
        );
        match &want.error {
            Some(parts) => {
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                assert_error_line(&output, &parts);
            }
            None if want.exit == 0 => assert!(
                !stderr(&output).contains("mailtug: error:"),
                "no error expected, {context}"
            ),
            None => {}
        }
        for line in stderr(&output).lines() {
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "a control character reached the terminal: {line:?}, {context}"
            );
        }

        let stored = match kind {
            "maildir" => {
                let model = read_maildir(&destination);
                if destination.join("cur").is_dir() {
                    if source.starts_with("maildir:") {
                        assert_maildir_copy_layout(&destination);
                    } else {
                        assert_maildir_layout(&destination);
                    }
                }
                assert!(
                    model.keys().all(|folder| folder == "INBOX"),
                    "only INBOX expected, {context}: {:?}",
                    model.keys()
                );
                model.get("INBOX").cloned().unwrap_or_default()
            }
            _ => {
                if destination.exists() {
                    assert_mbox_file_layout(&destination);
                    read_mbox_file(&destination)
                } else {
                    Vec::new()
                }
            }
        };
        assert_no_leftovers(&env.path("out"), &context);
        match &maildir_result {
            None => {
                let in_maildir: Vec<Want> = want.messages.iter().map(Want::as_in_maildir).collect();
                assert_same(&stored, &in_maildir, &context);
                maildir_result = Some(stored);
            }
            Some(exact) => {
                // mbox cannot end a message without a newline: it gains one
                // (documented); otherwise the bytes are the maildir's.
                let expected: Vec<Want> = sorted_stored(exact)
                    .iter()
                    .zip(sorted_by_content(&want.messages))
                    .map(|(stored, wanted)| {
                        let mut raw = stored.raw.clone();
                        if !raw.ends_with(b"\n") {
                            raw.push(b'\n');
                        }
                        Want::of(&raw, &wanted.flags, wanted.date)
                    })
                    .collect();
                assert_same(&stored, &expected, &context);
            }
        }
    }
    let after = tree(protected);
    assert_eq!(before, after, "case `{label}`: the source changed");
    // Nothing appeared or changed outside `out/` and the checkpoint directory.
    let outside_after = tree(env.root());
    let keep = |map: &BTreeMap<PathBuf, String>| -> BTreeMap<PathBuf, String> {
        map.iter()
            .filter(|(path, _)| !path.starts_with("out") && !path.starts_with("state"))
            .map(|(path, what)| (path.clone(), what.clone()))
            .collect()
    };
    assert_eq!(
        keep(&outside_before),
        keep(&outside_after),
        "case `{label}`: files changed outside the destination"
    );
}

/// The stored messages sorted as [`sorted_by_content`] sorts wants.
fn sorted_stored(stored: &[Stored]) -> Vec<Stored> {
    let mut stored = stored.to_vec();
    stored.sort_by_key(|m| (sha256_hex(&m.raw), m.flags.clone()));
    stored
}

fn sorted_by_content(wants: &[Want]) -> Vec<Want> {
    let mut wants = wants.to_vec();
    wants.sort_by_key(|w| (w.sha256.clone(), w.flags.clone()));
    wants
}

#[track_caller]
fn assert_same(stored: &[Stored], wants: &[Want], context: &str) {
    let got: Vec<(String, u64, String, Option<i64>)> = sorted_stored(stored)
        .iter()
        .map(|m| {
            (
                sha256_hex(&m.raw),
                m.raw.len() as u64,
                m.flags.clone(),
                m.date,
            )
        })
        .collect();
    let mut wants = wants.to_vec();
    wants.sort_by_key(|w| (w.sha256.clone(), w.flags.clone()));
    let expected: Vec<(String, u64, String, Option<i64>)> = wants
        .iter()
        .zip(got.iter().map(|g| g.3).chain(std::iter::repeat(None)))
        .map(|(w, got_date)| {
            // A source without a date gives the copy time: not compared.
            let date = if w.date.is_some() { w.date } else { got_date };
            (w.sha256.clone(), w.size, w.flags.clone(), date)
        })
        .collect();
    assert_eq!(
        got, expected,
        "stored messages (sha256, size, flags, date) differ, {context}"
    );
}

/// No half-written file anywhere under the destinations: `tmp/` empty, no
/// mbox journal or lock, no temporary files.
fn assert_no_leftovers(out: &Path, context: &str) {
    for (path, what) in tree(out) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let in_tmp = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|p| p == "tmp");
        assert!(
            !in_tmp
                && !name.ends_with(".lock")
                && !name.contains("mailtug-journal")
                && !name.contains(".tmp"),
            "left behind: {} ({what}), {context}",
            path.display()
        );
    }
}

/// Runs every row, then fails once listing every row that failed, so one
/// run shows the whole table.
fn run_rows(rows: Vec<(String, Box<dyn FnOnce() + '_>)>) {
    let total = rows.len();
    let mut failures = Vec::new();
    for (label, row) in rows {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(row)) {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("--- {label}:\n{text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn want_from_json(message: &Value) -> Want {
    Want {
        sha256: message["sha256"].as_str().unwrap().to_string(),
        size: message["size"].as_u64().unwrap(),
        flags: message["flags"].as_str().unwrap().to_string(),
        date: message["date"].as_i64(),
        in_maildir: None,
    }
}

fn outcome_from_json(case: &Value) -> Outcome {
    Outcome {
        exit: case["exit"].as_i64().unwrap() as i32,
        messages: case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(want_from_json)
            .collect(),
        failed: case["failed"].as_u64().unwrap(),
        duplicates: case["duplicates"].as_u64().unwrap(),
        error: case["error"].as_array().map(|parts| {
            parts
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect()
        }),
        not_read: Vec::new(),
    }
}

#[test]
fn every_malformed_mbox_fixture_ends_as_its_manifest_says() {
    let manifest: Value = serde_json::from_slice(
        &fs::read(fixtures_dir().join("malformed/cases.json")).expect("reading cases.json"),
    )
    .expect("cases.json is JSON");
    let cases = manifest["cases"].as_array().unwrap();
    let on_disk = fs::read_dir(fixtures_dir().join("malformed"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".mbox")
        })
        .count();
    assert_eq!(cases.len(), on_disk, "every file in malformed/ has a case");
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let env = TestEnv::new();
    env.copy_fixture("malformed");
    let env = &env;
    let rows = cases
        .iter()
        .map(|case| {
            let file = case["file"].as_str().unwrap().to_string();
            let row = move || {
                let source = env.path(&format!("malformed/{file}"));
                let endpoint = format!("mbox:{}", source.display());
                check_case(
                    env,
                    file.trim_end_matches(".mbox"),
                    &endpoint,
                    &env.path("malformed"),
                    &outcome_from_json(case),
                );
            };
            let label = case["file"].as_str().unwrap().to_string();
            (label, Box::new(row) as Box<dyn FnOnce()>)
        })
        .collect();
    run_rows(rows);
}

// ---------------------------------------------------------------- generated

const FROM_LINE: &[u8] = b"From alice@example.org Wed Jan  1 10:00:00 2020\n";
const JAN_1_2020_10H: i64 = 1_577_872_800;

fn headers(tag: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: {tag}\n\
         Message-ID: <{tag}@hostile.example.org>\nDate: Wed, 1 Jan 2020 10:00:00 +0000\n"
    )
    .into_bytes()
}

/// A 60 MB message of 76-character base64-looking lines.
fn huge_message() -> Vec<u8> {
    let mut raw = headers("huge");
    raw.extend_from_slice(b"Content-Type: application/octet-stream\n\n");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while raw.len() < 60 * 1024 * 1024 {
        for _ in 0..76 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            raw.push(alphabet[(state % 64) as usize]);
        }
        raw.push(b'\n');
    }
    raw
}

/// Cases too big to commit: (label, file bytes, outcome).
fn generated_cases() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    let mut cases = Vec::new();

    let huge = huge_message();
    let mut file = FROM_LINE.to_vec();
    file.extend_from_slice(&huge);
    file.push(b'\n');
    cases.push((
        "huge-60mb-message",
        file,
        Outcome::copied(vec![Want::of(&huge, "-", Some(JAN_1_2020_10H))]),
    ));

    let mut many = headers("many-headers");
    for i in 0..10_000 {
        many.extend_from_slice(format!("X-Header-{i}: value {i}\n").as_bytes());
    }
    many.extend_from_slice(b"\nbody\n");
    let mut file = FROM_LINE.to_vec();
    file.extend_from_slice(&many);
    file.push(b'\n');
    cases.push((
        "ten-thousand-headers",
        file,
        Outcome::copied(vec![Want::of(&many, "-", Some(JAN_1_2020_10H))]),
    ));

    // A header line of 6 MB, then a normal message, then one whose only
    // line is 3 MB long and never ends (no newline before EOF).
    let mut long = headers("long-line");
    long.extend_from_slice(b"X-Long: ");
    long.extend(std::iter::repeat_n(b'x', 6 * 1024 * 1024));
    long.extend_from_slice(b"\n\nbody\n");
    let normal = {
        let mut raw = headers("after-long-line");
        raw.extend_from_slice(b"\nbody\n");
        raw
    };
    let mut endless = b"Subject: endless ".to_vec();
    endless.extend(std::iter::repeat_n(b'y', 3 * 1024 * 1024));
    let mut file = Vec::new();
    for raw in [&long, &normal] {
        file.extend_from_slice(FROM_LINE);
        file.extend_from_slice(raw);
        file.push(b'\n');
    }
    file.extend_from_slice(FROM_LINE);
    file.extend_from_slice(&endless);
    cases.push((
        "endless-header-lines",
        file,
        Outcome::copied(vec![
            Want::of(&long, "-", Some(JAN_1_2020_10H)),
            Want::of(&normal, "-", Some(JAN_1_2020_10H)),
            Want::of(&endless, "-", Some(JAN_1_2020_10H)),
        ]),
    ));

    // A From_ line that never ends: the whole file is one line.
    let mut file = b"From alice@example.org Wed Jan  1 10:00:00 2020 ".to_vec();
    file.extend(std::iter::repeat_n(b'z', 2 * 1024 * 1024));
    cases.push((
        "endless-from-line",
        file,
        Outcome::copied(Vec::new()).with_failed(1, &["endless-from-line.mbox", "empty"]),
    ));
    cases
}

#[test]
fn generated_huge_and_endless_mbox_files_end_as_expected() {
    let env = TestEnv::new();
    let env = &env;
    fs::create_dir(env.path("generated")).unwrap();
    let rows = generated_cases()
        .into_iter()
        .map(|(label, bytes, outcome)| {
            let row = move || {
                let path = env.path(&format!("generated/{label}.mbox"));
                fs::write(&path, &bytes).unwrap();
                drop(bytes);
                check_case(
                    env,
                    label,
                    &format!("mbox:{}", path.display()),
                    &env.path("generated"),
                    &outcome,
                );
                // The destinations of a 60 MB case are big: free the space
                // now (kept when the row fails, for inspection).
                let _ = fs::remove_dir_all(env.path("out"));
                let _ = fs::remove_file(&path);
            };
            (label.to_string(), Box::new(row) as Box<dyn FnOnce()>)
        })
        .collect();
    run_rows(rows);
}

// ---------------------------------------------------------------- maildir

/// A message file for the maildir cases.
fn message(tag: &str) -> Vec<u8> {
    let mut raw = headers(tag);
    raw.extend_from_slice(format!("\nbody of {tag}\n").as_bytes());
    raw
}

/// A maildir at `root` with `cur/ new/ tmp/`.
fn make_maildir(root: &Path) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
}

fn put(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

type Setup = fn(&TestEnv, &Path) -> Outcome;

/// Maildir trees with something wrong in them; each sets up `root` (a
/// maildir to copy) and says what must happen.
fn maildir_cases() -> Vec<(&'static str, Setup)> {
    vec![
        ("stray-files", |_, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("stray-ok"));
            for (path, bytes) in [
                (".DS_Store", &b"\0\0\0\x01Bud1"[..]),
                ("cur/.DS_Store", b"\0\0\0\x01Bud1"),
                ("new/._1700000001.M1P1.host", b"\0\x05\x16\x07AppleDouble"),
                ("README", b"not a message\n"),
                ("dovecot-uidlist", b"3 V1 N2\n1 1700000001.M1P1.host\n"),
                ("dovecot.index.cache", b"\0\0"),
                ("courierimapkeywords/:list", b"$Label1\n"),
                // A delivery in progress: not a message yet.
                ("tmp/1700000002.M1P1.host", b"Subject: half\n"),
                // A file where a Maildir++ folder would be.
                (".NotAFolder", b"x"),
            ] {
                put(root, path, bytes);
            }
            // Everything but README is a program's file, hidden, or a
            // delivery in progress.
            Outcome::copied(vec![Want::of(&message("stray-ok"), "S", None)])
                .with_not_read(&["README"])
        }),
        ("directory-in-cur", |_, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("dir-ok"));
            fs::create_dir(root.join("cur/1700000002.M2P1.subdir:2,S")).unwrap();
            Outcome::copied(vec![Want::of(&message("dir-ok"), "S", None)])
                .with_failed(1, &["1700000002.M2P1.subdir", "not a regular file"])
        }),
        ("info-suffixes", |_, root| {
            make_maildir(root);
            let rows = [
                ("cur/1700000001.M1P1.host:2,ZZZ", "unknown", "-"),
                ("cur/1700000002.M1P1.host:1,", "version-1", "-"),
                ("cur/1700000003.M1P1.host", "no-suffix", "-"),
                ("cur/1700000004.M1P1.host:2,", "empty-info", "-"),
                ("cur/1700000005.M1P1.host:2,SZx", "mixed", "S"),
                // Keyword letter without a dovecot-keywords file.
                ("cur/1700000006.M1P1.host:2,Sa", "orphan-keyword", "S"),
                ("cur/1700000007.M1P1.host:2,TSRFD", "unsorted", "DFRST"),
                ("new/1700000008.M1P1.host:2,FS", "flags-in-new", "FS"),
                ("cur/1700000009.M1P1.host:2,S:2,F", "two-suffixes", "S"),
                ("cur/1700000010.M1P1.host:2,P", "passed", "$Forwarded"),
            ];
            let mut wants = Vec::new();
            for (path, tag, flags) in rows {
                put(root, path, &message(tag));
                let want = Want::of(&message(tag), flags, None);
                // A maildir keeps a keyword letter without a name; an mbox
                // cannot, and says so.
                wants.push(match tag {
                    "orphan-keyword" => want.in_maildir("S ?undefined-letter-a"),
                    "mixed" => want.in_maildir("S ?undefined-letter-x"),
                    _ => want,
                });
            }
            Outcome::copied(wants)
        }),
        ("empty-file", |_, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("empty-ok"));
            put(root, "new/1700000002.M1P1.empty", b"");
            Outcome::copied(vec![Want::of(&message("empty-ok"), "S", None)])
                .with_failed(1, &["1700000002.M1P1.empty", "empty"])
        }),
        ("unreadable-mode-000", |env, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("mode-ok"));
            let locked = root.join("cur/1700000002.M1P1.locked:2,S");
            fs::write(&locked, message("mode-000")).unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
            let ok = Want::of(&message("mode-ok"), "S", None);
            if permissions_are_bypassed(env) {
                // Root reads it anyway, so it is copied; the FIFO and
                // symbolic link cases cover unreadable files for root.
                Outcome::copied(vec![ok, Want::of(&message("mode-000"), "S", None)])
            } else {
                Outcome::copied(vec![ok])
                    .with_failed(1, &["1700000002.M1P1.locked", "Permission denied"])
            }
        }),
        ("fifo", |_, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("fifo-ok"));
            mkfifo(&root.join("cur/1700000002.M1P1.fifo:2,S"));
            mkfifo(&root.join("new/1700000003.M1P1.fifo"));
            Outcome::copied(vec![Want::of(&message("fifo-ok"), "S", None)])
                .with_failed(2, &["1700000002.M1P1.fifo", "not a regular file"])
        }),
        ("symlink-to-a-file-outside", |env, root| {
            make_maildir(root);
            fs::write(env.path("outside.eml"), message("outside")).unwrap();
            symlink(
                env.path("outside.eml"),
                root.join("cur/1700000001.M1P1.link:2,FS"),
            )
            .unwrap();
            // Read through the link, as Dovecot and mutt do: the user's own mail.
            Outcome::copied(vec![Want::of(&message("outside"), "FS", None)])
        }),
        ("symlink-dangling", |_, root| {
            make_maildir(root);
            put(
                root,
                "cur/1700000001.M1P1.host:2,S",
                &message("dangling-ok"),
            );
            symlink(
                "../../nowhere",
                root.join("cur/1700000002.M1P1.dangling:2,S"),
            )
            .unwrap();
            Outcome::copied(vec![Want::of(&message("dangling-ok"), "S", None)])
                .with_failed(1, &["1700000002.M1P1.dangling", "symbolic link to nothing"])
        }),
        ("symlink-loop", |_, root| {
            make_maildir(root);
            put(root, "cur/1700000001.M1P1.host:2,S", &message("loop-ok"));
            symlink(
                "1700000002.M1P1.loop:2,S",
                root.join("cur/1700000002.M1P1.loop:2,S"),
            )
            .unwrap();
            symlink("1700000004.M1P1.b", root.join("new/1700000003.M1P1.a")).unwrap();
            symlink("1700000003.M1P1.a", root.join("new/1700000004.M1P1.b")).unwrap();
            Outcome::copied(vec![Want::of(&message("loop-ok"), "S", None)]).with_failed(
                3,
                &["1700000002.M1P1.loop", "Too many levels of symbolic links"],
            )
        }),
        ("hostile-message-bytes", |_, root| {
            make_maildir(root);
            let mut wants = Vec::new();
            let nul = b"Subject: nul\0inside\nMessage-ID: <nul@hostile.example.org>\n\n\0\0\n";
            let cr_only = b"Subject: cr only\rMessage-ID: <cr@hostile.example.org>\r\rbody\r";
            let mixed = b"Subject: mixed\r\nMessage-ID: <mixed@hostile.example.org>\n\r\nbody\rx\n";
            let no_newline = b"Subject: no final newline\n\nbody";
            let from_lines = b"Subject: from lines\n\nFrom here\n>From there\n\nFrom a Wed Jan  1 10:00:00 2020\n";
            let eight_bit =
                b"Subject: caf\xe9 \xff\xfe\nFrom: J\xc3\xbcrgen <j@example.org>\n\nbody\n";
            for (i, raw) in [&nul[..], cr_only, mixed, no_newline, from_lines, eight_bit]
                .into_iter()
                .enumerate()
            {
                put(root, &format!("cur/170000000{i}.M1P1.host:2,S"), raw);
                wants.push(Want::of(raw, "S", None));
            }
            Outcome::copied(wants)
        }),
        ("no-cur-directory", |_, root| {
            // A delivery agent made only new/ (and tmp/).
            fs::create_dir_all(root.join("tmp")).unwrap();
            put(root, "new/1700000001.M1P1.host", &message("only-new"));
            Outcome::copied(vec![Want::of(&message("only-new"), "-", None)])
        }),
        ("non-utf8-file-name", |_, root| {
            use std::os::unix::ffi::OsStrExt;
            make_maildir(root);
            let name = std::ffi::OsStr::from_bytes(b"1700000001.M1P1.h\xffst:2,S");
            fs::write(root.join("cur").join(name), message("latin1-name")).unwrap();
            Outcome::copied(vec![Want::of(&message("latin1-name"), "S", None)])
        }),
    ]
}

#[test]
fn every_hostile_maildir_case_ends_as_expected() {
    let env = TestEnv::new();
    let env = &env;
    let rows = maildir_cases()
        .into_iter()
        .map(|(label, setup)| {
            let row = move || {
                let root = env.path(&format!("sources/{label}"));
                let outcome = setup(env, &root);
                check_case(
                    env,
                    label,
                    &format!("maildir:{}", root.display()),
                    &root,
                    &outcome,
                );
            };
            (label.to_string(), Box::new(row) as Box<dyn FnOnce()>)
        })
        .collect();
    run_rows(rows);
}

#[test]
fn fifos_given_as_mbox_endpoints_are_refused_without_waiting() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    mkfifo(&env.path("fifo.mbox"));
    let single = format!("mbox:{}", env.path("single.mbox").display());
    let fifo = format!("mbox:{}", env.path("fifo.mbox").display());
    for (source, destination) in [
        (fifo.clone(), env.endpoint("maildir", "md")),
        (single.clone(), fifo.clone()),
    ] {
        let output = run_bounded(&env, &["copy", &source, &destination]);
        crate::util::assert_exit(&output, 2);
        assert_error_line(&output, &["fifo.mbox", "not a regular file"]);
    }
    // Where a destination folder's file should be.
    fs::create_dir(env.path("tree")).unwrap();
    mkfifo(&env.path("tree/INBOX.mbox"));
    let output = run_bounded(&env, &["copy", &single, &env.endpoint("mbox", "tree")]);
    crate::util::assert_exit(&output, 1);
    assert_error_line(&output, &["INBOX.mbox", "not a regular file"]);
    assert!(!env.path("md").join("cur").exists() || read_maildir(&env.path("md")).is_empty());
}

#[test]
fn a_fifo_in_the_destination_maildir_does_not_stop_the_copy() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    make_maildir(&env.path("md"));
    mkfifo(&env.path("md/cur/1700000001.M1P1.fifo:2,S"));
    let output = run_bounded(
        &env,
        &[
            "copy",
            &env.endpoint("mbox", "single.mbox"),
            &env.endpoint("maildir", "md"),
        ],
    );
    crate::util::assert_exit(&output, 0);
    let copied = fs::read_dir(env.path("md/cur"))
        .unwrap()
        .chain(fs::read_dir(env.path("md/new")).unwrap())
        .count();
    assert_eq!(copied, 11, "ten messages beside the FIFO");
}

#[test]
fn maildir_subfolders_with_only_new_or_a_latin1_name_are_copied_not_passed_over() {
    let env = TestEnv::new();
    let root = env.path("src");
    make_maildir(&root);
    put(&root, "cur/1700000001.M1P1.host:2,S", &message("inbox"));
    put(
        &root,
        ".Drafts/new/1700000002.M1P1.host",
        &message("drafts"),
    );
    // A folder whose name is not UTF-8 (Latin-1 `café`), and another that
    // reads the same once made UTF-8: the first is copied, the second named.
    {
        use std::os::unix::ffi::OsStrExt;
        for (dir, tag) in [(&b".caf\xe9"[..], "latin1"), (b".caf\xe8", "latin1-twin")] {
            let dir = root.join(std::ffi::OsStr::from_bytes(dir));
            make_maildir(&dir);
            fs::write(dir.join("cur/1700000003.M1P1.host:2,S"), message(tag)).unwrap();
        }
    }
    let output = run_bounded(
        &env,
        &[
            "copy",
            &env.endpoint("maildir", "src"),
            &env.endpoint("maildir", "dst"),
        ],
    );
    // The twin is not read: reported and counted (exit 1).
    crate::util::assert_exit(&output, 1);
    let model = read_maildir(&env.path("dst"));
    let subjects: Vec<(String, usize)> = model
        .iter()
        .map(|(folder, messages)| (folder.clone(), messages.len()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("Drafts".to_string(), 1),
            ("INBOX".to_string(), 1),
            // `caf\u{fffd}` in modified UTF-7, as the test model shows names.
            ("caf&,,0-".to_string(), 1)
        ],
        "{}",
        stderr(&output)
    );
    let text = stderr(&output);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("is not UTF-8"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning about the twin: {warnings:?}"
    );
    assert_eq!(model["Drafts"][0].raw, message("drafts"));
    // In name order, `.caf\xe8` comes first and wins, on every run.
    assert_eq!(model["caf&,,0-"][0].raw, message("latin1-twin"));
}

#[test]
fn an_mbox_tree_with_stray_entries_copies_its_folders_and_names_the_rest() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    env.copy_fixture("malformed");
    let tree_root = env.path("tree");
    fs::create_dir_all(tree_root.join("sub")).unwrap();
    fs::create_dir_all(tree_root.join("loop")).unwrap();
    let fixture = |name: &str| fs::read(env.path(&format!("malformed/{name}"))).unwrap();
    fs::write(tree_root.join("good.mbox"), fixture("nul-bytes.mbox")).unwrap();
    fs::write(
        tree_root.join("sub/inner.mbox"),
        fixture("crlf-line-ends.mbox"),
    )
    .unwrap();
    // No .mbox suffix, but it starts with a From_ line: a folder too.
    fs::write(tree_root.join("plain"), fixture("no-final-newline.mbox")).unwrap();
    fs::write(tree_root.join("broken.mbox"), fixture("garbage.mbox")).unwrap();
    // The same folder as `plain`, which comes first in name order.
    fs::write(tree_root.join("plain.mbox"), fixture("nul-bytes.mbox")).unwrap();
    fs::write(tree_root.join("good.mbox.lock"), b"4242").unwrap();
    fs::write(tree_root.join("notes.txt"), b"not mail\n").unwrap();
    symlink("nowhere", tree_root.join("dangling.mbox")).unwrap();
    mkfifo(&tree_root.join("fifo.mbox"));
    symlink("..", tree_root.join("loop/up")).unwrap();
    symlink(env.root(), tree_root.join("outside")).unwrap();
    fs::write(
        tree_root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.mbox")),
        fixture("nul-bytes.mbox"),
    )
    .unwrap();
    let before = tree(&tree_root);

    let output = run_bounded(
        &env,
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "tree"),
            &env.endpoint("maildir", "out"),
        ],
    );
    crate::util::assert_exit(&output, 1);
    assert_error_line(&output, &["broken.mbox", "From "]);
    let text = stderr(&output);
    // Everything that may hold mail and is not read is named and counted
    // (symbolic links to directories are not followed, and said so).
    let not_read = [
        "dangling.mbox",
        "fifo.mbox",
        "caf",
        "plain.mbox",
        "notes.txt",
        "loop/up",
        "outside",
    ];
    for skipped in not_read {
        assert!(
            text.lines()
                .any(|line| line.starts_with("mailtug: warning: not read: ")
                    && line.contains(skipped)),
            "no warning about {skipped}:\n{text}"
        );
    }
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "folders_failed"), 1);
    assert_eq!(
        count(summary(&events), "files_skipped"),
        not_read.len() as u64
    );
    let model = read_maildir(&env.path("out"));
    let counts: Vec<(&str, usize)> = model
        .iter()
        .map(|(folder, messages)| (folder.as_str(), messages.len()))
        .collect();
    // Symbolic links to directories are not followed: no loop, nothing
    // from outside the tree. A lock file and a text file are not folders.
    assert_eq!(
        counts,
        [
            ("INBOX", 0), // the root of a Maildir++ tree
            // broken.mbox is not an mbox: its folder fails before it is
            // created at the destination.
            ("good", 1),
            ("plain", 2),
            ("sub/inner", 2)
        ],
        "{text}"
    );
    assert_eq!(tree(&tree_root), before, "the source changed");
}

#[test]
fn folders_differing_only_in_control_characters_get_files_of_their_own() {
    let env = TestEnv::new();
    let root = env.path("src");
    make_maildir(&root);
    // Maildir++ names in modified UTF-7: `a\u{1}`, `a\u{2}`, and `a_`.
    let dirs = [".a&AAE-", ".a&AAI-", ".a_"];
    for (i, dir) in dirs.iter().enumerate() {
        put(
            &root,
            &format!("{dir}/cur/170000000{i}.M1P1.host:2,S"),
            &message(&format!("control-{i}")),
        );
    }
    for kind in ["mbox", "maildir"] {
        let output = run_bounded(
            &env,
            &[
                "--json",
                "copy",
                &env.endpoint("maildir", "src"),
                &env.endpoint(kind, &format!("out-{kind}")),
            ],
        );
        // Folders copied in parallel into one shared mbox file would fight
        // over its lock, and the loser would stop the whole run.
        crate::util::assert_exit(&output, 0);
        let events = json_events(&output);
        assert_eq!(count(summary(&events), "messages_copied"), 3);
        let model = match kind {
            "mbox" => crate::util::model::read_mbox_dir(&env.path("out-mbox")),
            _ => read_maildir(&env.path("out-maildir")),
        };
        let folders: Vec<usize> = model.values().map(Vec::len).filter(|&n| n > 0).collect();
        assert_eq!(folders, [1, 1, 1], "{kind}: {:?}", model.keys());
    }
}
