//! When the destination's file system fails under mailtug: it fills up
//! mid-run, or it is read-only.
//!
//! A full disk must stop the run with one clear error naming the file and
//! the cause, leave no half-written message (no file in a maildir's `tmp/`,
//! no partial message at the end of an mbox), and leave a checkpoint that
//! claims only messages that are at the destination, byte for byte; once
//! there is room again, a rerun finishes the copy with every message once.
//! The full disk is a real one where the tests may mount (`util::smallfs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Output;

use mailtug::message::Flags;
use serde_json::Value;

use crate::util::corpus::{self, Synthetic};
use crate::util::model::{
    assert_maildir_layout, assert_mbox_file_layout, assert_same_messages, read_maildir,
    read_mbox_file, Model, Stored,
};
use crate::util::smallfs::{Fault, SmallFs};
use crate::util::{
    assert_error_line, assert_exit, count, json_events, path_arg, permissions_are_bypassed,
    snapshot, stderr, summary, TestEnv,
};

/// The room the destination gets: a tmpfs of this size, or this file-size limit.
const ROOM: u64 = 512 * 1024;
/// The room it gets for the rerun.
const MORE_ROOM: u64 = 16 * 1024 * 1024;
/// Source messages; about 1.8 MB in all, over three times `ROOM`.
const MESSAGES: usize = 400;
/// This one is larger than `ROOM` (for the file-size limit, which counts per file).
const BIG: usize = 250;

/// Message `i` of the source: about 3 KB, or 600 KB for `BIG`, with flags
/// and a distinct Message-ID.
fn message(i: usize) -> Synthetic {
    let size = if i == BIG { 600 * 1024 } else { 3 * 1024 };
    let date = 1_705_276_800 + i as i64 * 60;
    let mut raw = format!(
        "From: Sender {i} <sender{i}@example.org>\nTo: rcpt@example.net\n\
         Subject: room message {i}\nMessage-ID: <room.{i}@mailtug.test>\n\n\
         Body of message {i}.\n"
    )
    .into_bytes();
    let mut n = 0;
    while raw.len() < size {
        raw.extend_from_slice(
            format!("message {i} line {n:06} .........................\n").as_bytes(),
        );
        n += 1;
    }
    let mut flags = Flags::default();
    if i % 3 == 1 {
        flags.seen = true;
    }
    Synthetic { raw, flags, date }
}

fn messages(range: std::ops::Range<usize>) -> Vec<Synthetic> {
    range.map(message).collect()
}

/// The unique names `corpus::write_maildir` gives `messages`, as a maildir
/// checkpoint records them, with what each message should read back as.
fn by_name(messages: &[Synthetic]) -> BTreeMap<String, Stored> {
    messages
        .iter()
        .enumerate()
        .map(|(n, m)| {
            (
                format!("{}.M{n}P7.synthetic,S={}", m.date, m.raw.len()),
                m.stored(),
            )
        })
        .collect()
}

/// Runs `argv` with the destination's limit in force.
fn run_limited(env: &TestEnv, room: &SmallFs, argv: &[String]) -> Output {
    let mut command = env.command(argv);
    room.limit(&mut command);
    command.output().expect("running the mailtug binary")
}

/// The source names the only checkpoint says are done in INBOX.
fn claimed(env: &TestEnv) -> BTreeSet<String> {
    let checkpoint = env.only_state_json();
    let done = &checkpoint["folders"]["INBOX"]["done"];
    assert_eq!(done["kind"], "files", "a maildir source: {checkpoint:#}");
    done["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

/// Checks what a run stopped by the full disk left: each message at most
/// once, nothing that is not from the source, and every message the
/// checkpoint claims present and exact. Returns how many messages the
/// destination holds and how many the checkpoint claims.
fn check_stopped_run(
    env: &TestEnv,
    source: &BTreeMap<String, Stored>,
    held: &[Stored],
) -> (usize, usize) {
    let wanted: BTreeSet<&Stored> = source.values().collect();
    let mut seen = BTreeSet::new();
    for message in held {
        assert!(
            wanted.contains(message),
            "the destination holds a message that is not a source message \
             (half-written or damaged): {}",
            message.describe()
        );
        assert!(seen.insert(message), "stored twice: {}", message.describe());
    }
    let claimed = claimed(env);
    assert!(
        !claimed.is_empty(),
        "no commit happened before the disk filled up (this would test less)"
    );
    for name in &claimed {
        let message = source
            .get(name)
            .unwrap_or_else(|| panic!("the checkpoint claims `{name}`, not a source message"));
        assert!(
            seen.contains(message),
            "the checkpoint claims `{name}`, which is not at the destination: {}",
            message.describe()
        );
    }
    (held.len(), claimed.len())
}

/// Checks the rerun's counts: it copies what the destination lacks, finds
/// as duplicates what it holds beyond the checkpoint, and skips the rest.
fn assert_rerun_counts(output: &Output, held: usize, claims: usize) {
    let done = summary(&json_events(output)).clone();
    assert_eq!(
        count(&done, "messages_copied"),
        (MESSAGES - held) as u64,
        "{done}"
    );
    assert_eq!(
        count(&done, "messages_duplicate"),
        (held - claims) as u64,
        "{done}"
    );
    assert_eq!(count(&done, "messages_failed"), 0, "{done}");
}

/// Asserts the run stopped on the fault: non-zero exit, and exactly one
/// error line naming the destination and the cause.
fn assert_stopped_by_fault(output: &Output, room: &SmallFs, destination: &Path) {
    assert!(
        !output.status.success(),
        "the run cannot succeed on a full disk:\n{}",
        stderr(output)
    );
    assert_exit(output, output.status.code().unwrap_or(-1));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a destination failing mid-run is a partial failure:\n{}",
        stderr(output)
    );
    assert_error_line(output, &[&path_arg(destination), room.error_text()]);
    let text = stderr(output);
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mailtug: error: "))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "one error line, not one per message:\n{text}"
    );
    if room.fault == Fault::Tmpfs {
        assert!(
            !text.contains("File too large"),
            "a full disk is not a file-size limit:\n{text}"
        );
    }
}

fn copy_args(env: &TestEnv, destination: &str) -> Vec<String> {
    vec![
        "--json".into(),
        "copy".into(),
        env.endpoint("maildir", "src"),
        destination.into(),
    ]
}

#[test]
fn a_full_disk_stops_a_maildir_copy_cleanly_and_a_rerun_with_room_finishes_it() {
    let env = TestEnv::new();
    let all = messages(0..MESSAGES);
    corpus::write_maildir(&env.path("src"), &all);
    let source = by_name(&all);
    let mut room = SmallFs::new(&env.path("full"), ROOM);
    let out = env.path("full/out");
    let copy = copy_args(&env, &format!("maildir:{}", out.display()));

    let output = run_limited(&env, &room, &copy);
    assert_stopped_by_fault(&output, &room, &out);
    let held = read_maildir(&out).remove("INBOX").unwrap_or_default();
    let (held, claims) = check_stopped_run(&env, &source, &held);
    assert!(held < MESSAGES, "the disk filled up before the end");
    assert_maildir_layout(&out);

    room.grow(MORE_ROOM);
    let output = run_limited(&env, &room, &copy);
    assert_exit(&output, 0);
    assert_rerun_counts(&output, held, claims);
    assert_same_messages(
        &Model::from([("INBOX".to_string(), corpus::stored(&all))]),
        &read_maildir(&out),
        "after the rerun",
    );
    assert_maildir_layout(&out);
}

#[test]
fn a_full_disk_stops_an_mbox_copy_without_a_partial_message_and_a_rerun_finishes_it() {
    let env = TestEnv::new();
    let all = messages(0..MESSAGES);
    corpus::write_maildir(&env.path("src"), &all);
    let source = by_name(&all);
    let mut room = SmallFs::new(&env.path("full"), ROOM);
    let out = env.path("full/out.mbox");
    let copy = copy_args(&env, &format!("mbox:{}", out.display()));

    let output = run_limited(&env, &room, &copy);
    assert_stopped_by_fault(&output, &room, &out);
    // Parses to the end, messages tile the file, no journal or lock left.
    assert_mbox_file_layout(&out);
    let held = read_mbox_file(&out);
    let (held, claims) = check_stopped_run(&env, &source, &held);
    assert!(held < MESSAGES, "the disk filled up before the end");

    room.grow(MORE_ROOM);
    let output = run_limited(&env, &room, &copy);
    assert_exit(&output, 0);
    assert_rerun_counts(&output, held, claims);
    assert_mbox_file_layout(&out);
    assert_same_messages(
        &Model::from([("INBOX".to_string(), corpus::stored(&all))]),
        &Model::from([("INBOX".to_string(), read_mbox_file(&out))]),
        "after the rerun",
    );
}

/// Makes `dir` read-only for mailtug: a read-only remount of its tmpfs
/// (which stops root too), else, for a user without that privilege, a
/// mode that does. Fails when neither is possible.
fn make_read_only(env: &TestEnv, room: &SmallFs, dir: &Path) -> &'static str {
    if room.make_read_only() {
        return "Read-only file system";
    }
    assert!(
        !permissions_are_bypassed(env),
        "cannot make a read-only destination: no tmpfs could be mounted and \
         permissions do not stop this user"
    );
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir(dir) {
        let mode = if entry.is_dir() { 0o555 } else { 0o444 };
        fs::set_permissions(&entry, fs::Permissions::from_mode(mode)).unwrap();
    }
    "Permission denied"
}

/// `dir` and everything below it, deepest first.
fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if dir.is_dir() {
        for entry in fs::read_dir(dir).unwrap() {
            out.extend(walkdir(&entry.unwrap().path()));
        }
    }
    out.push(dir.to_path_buf());
    out
}

#[test]
fn a_read_only_destination_exits_3_naming_it_and_changes_nothing() {
    let env = TestEnv::new();
    corpus::write_maildir(&env.path("src"), &messages(0..20));
    let room = SmallFs::new(&env.path("ro"), MORE_ROOM);
    let maildir = env.path("ro/out");
    let mbox = env.path("ro/out.mbox");
    let destinations = [
        format!("maildir:{}", maildir.display()),
        format!("mbox:{}", mbox.display()),
    ];
    for destination in &destinations {
        let output = run_limited(&env, &room, &copy_args(&env, destination));
        assert_exit(&output, 0);
    }
    // New messages at the source (the same folder, so the checkpoints still
    // describe it), for the existing destinations to refuse.
    corpus::write_maildir(&env.path("src"), &messages(0..30));
    let cause = make_read_only(&env, &room, &env.path("ro"));
    let before = snapshot(&env.path("ro"));
    let checkpoints_before = checkpoint_folders(&env);

    let new_maildir = env.path("ro/new-md");
    let new_mbox = env.path("ro/new.mbox");
    let cases = [
        (destinations[0].clone(), maildir.clone()),
        (destinations[1].clone(), mbox.clone()),
        (format!("maildir:{}", new_maildir.display()), new_maildir),
        (format!("mbox:{}", new_mbox.display()), new_mbox),
    ];
    for (destination, path) in &cases {
        let output = run_limited(&env, &room, &copy_args(&env, destination));
        assert_exit(&output, 3);
        assert_error_line(&output, &[&path_arg(path), cause]);
        let text = stderr(&output);
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("mailtug: error: "))
                .count(),
            1,
            "{destination}: one error line:\n{text}"
        );
        crate::util::assert_same_snapshot(&before, &snapshot(&env.path("ro")), destination);
        assert!(!path.exists() || path == &maildir || path == &mbox);
    }
    let mut after = checkpoint_folders(&env);
    after.retain(|path, _| checkpoints_before.contains_key(path));
    assert_eq!(
        after, checkpoints_before,
        "the refused runs changed no checkpoint"
    );
}

/// The `folders` of every checkpoint, by file.
fn checkpoint_folders(env: &TestEnv) -> BTreeMap<std::path::PathBuf, Value> {
    env.checkpoints()
        .into_iter()
        .map(|path| {
            let json = env.state_json(&path);
            (path, json["folders"].clone())
        })
        .collect()
}

/// Fills the file system holding `dir` with a file of zeros until a write
/// fails; returns the file, to remove when room is wanted again.
fn fill_up(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    // Bounded: the tmpfs is small.
    for _ in 0..(MORE_ROOM / 4096) {
        if file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_err()
        {
            return filler;
        }
    }
    panic!("{} never filled up", dir.display());
}

#[test]
fn a_full_disk_under_the_checkpoint_stops_the_run_and_keeps_the_last_checkpoint() {
    let env = TestEnv::new();
    let all = messages(0..MESSAGES);
    // Without the big message: this is about the checkpoint, and with a
    // file-size limit the big message would fail first.
    let all: Vec<Synthetic> = all
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != BIG)
        .map(|(_, m)| m)
        .collect();
    corpus::write_maildir(&env.path("src"), &all[..50]);
    // 512 KiB for the state, or files limited to 64 KiB (the state of 50
    // messages fits, the write-ahead log of 399 does not).
    let limited = if std::env::var_os("MAILTUG_TEST_FSIZE_LIMIT").is_some() {
        64 * 1024
    } else {
        512 * 1024
    };
    let mut room = SmallFs::new(&env.state_home(), limited);
    let out = env.path("out");
    let copy = copy_args(&env, &format!("maildir:{}", out.display()));
    let output = run_limited(&env, &room, &copy);
    assert_exit(&output, 0);
    let (_, checkpoint) = env.only_checkpoint();
    let before = claimed(&env);
    assert_eq!(before.len(), 50);

    // More mail, and no room left for a bigger checkpoint.
    corpus::write_maildir(&env.path("src"), &all);
    let filler = (room.fault == Fault::Tmpfs).then(|| fill_up(&env.state_home()));
    let output = run_limited(&env, &room, &copy);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a checkpoint that cannot be saved fails the run:\n{}",
        stderr(&output)
    );
    assert_error_line(&output, &[&path_arg(&checkpoint), room.error_text()]);
    let text = stderr(&output);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("mailtug: error: "))
            .count(),
        1,
        "one error line:\n{text}"
    );
    // The last checkpoint saved is whole (it parses, and claims what the
    // first run did and more only if saved), and no temp file of a failed
    // save is left.
    let after = claimed(&env);
    assert!(
        before.is_subset(&after),
        "the checkpoint lost what the first run did"
    );
    let stray: Vec<_> = fs::read_dir(env.checkpoint_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(stray.is_empty(), "temp files left: {stray:?}");
    let source = by_name(&all);
    let held = read_maildir(&out).remove("INBOX").unwrap_or_default();
    check_stopped_run(&env, &source, &held);
    assert_maildir_layout(&out);

    // With room again, the rerun finishes: what the destination already
    // holds is found by its fingerprint, nothing is stored twice.
    if let Some(filler) = filler {
        fs::remove_file(filler).unwrap();
    }
    room.grow(MORE_ROOM);
    let output = run_limited(&env, &room, &copy);
    assert_exit(&output, 0);
    assert_same_messages(
        &Model::from([("INBOX".to_string(), corpus::stored(&all))]),
        &read_maildir(&out),
        "after the rerun",
    );
    assert_eq!(claimed(&env).len(), all.len());
}
