//! Interrupted runs: `kill -9` at several points, then a rerun, must end with
//! the destination holding exactly the source (every message once, none
//! lost, no half-written message, no `tmp/` leftovers); SIGTERM and SIGINT
//! stop cleanly with exit code 4 and a checkpoint covering everything stored.
//!
//! Kill points count `message` events on stdout. mailtug prints them once
//! their batch is committed to the destination, and saves the checkpoint
//! before the first batch's events (later saves are paced by their cost, so
//! the checkpoint may lag behind the events: the destination's fingerprints
//! cover the difference). The sources are thousands of messages, so each
//! kill point falls well before the end, while the next batch is written.

use std::collections::HashSet;

use crate::util::corpus::{self, Synthetic};
use crate::util::model::{
    assert_maildir_layout, assert_mbox_dir_layout, assert_mbox_file_layout, assert_same_messages,
    diff_messages, read_maildir, read_mbox_dir, read_mbox_file, total, Model,
};
use crate::util::{count, events_of, summary, TestEnv};

#[derive(Clone, Copy, Debug)]
enum Direction {
    /// One 3,000-message mbox file into a maildir.
    MboxToMaildir,
    /// A 1,000-file maildir into one mbox file.
    MaildirToMbox,
    /// An mbox tree of two 1,500-message folders into another mbox tree.
    MboxTreeToMboxTree,
}

struct Job {
    src: String,
    dst: String,
    expected: Model,
}

fn set_up(env: &TestEnv, direction: Direction) -> Job {
    let folder = |name: &str, messages: &[Synthetic]| (name.to_string(), corpus::stored(messages));
    match direction {
        Direction::MboxToMaildir => {
            let messages = corpus::synthetic_range(0..3000);
            corpus::write_mbox(&env.path("big.mbox"), &messages);
            Job {
                src: env.endpoint("mbox", "big.mbox"),
                dst: env.endpoint("maildir", "out"),
                expected: Model::from([folder("INBOX", &messages)]),
            }
        }
        Direction::MaildirToMbox => {
            // As many as the other directions: with 1,000 a run under load
            // could finish before the kill at 700 arrived (the events pipe
            // holds a few hundred, so mailtug runs that far ahead at most).
            let messages = corpus::synthetic_range(0..3000);
            corpus::write_maildir(&env.path("maildir"), &messages);
            Job {
                src: env.endpoint("maildir", "maildir"),
                dst: env.endpoint("mbox", "out.mbox"),
                expected: Model::from([folder("INBOX", &messages)]),
            }
        }
        Direction::MboxTreeToMboxTree => {
            let inbox = corpus::synthetic_range(0..1500);
            let archive = corpus::synthetic_range(1500..3000);
            corpus::write_mbox(&env.path("tree/INBOX.mbox"), &inbox);
            corpus::write_mbox(&env.path("tree/Archive/2024.mbox"), &archive);
            Job {
                src: env.endpoint("mbox", "tree"),
                dst: env.endpoint("mbox", "out"),
                expected: Model::from([folder("INBOX", &inbox), folder("Archive/2024", &archive)]),
            }
        }
    }
}

fn read_destination(env: &TestEnv, direction: Direction) -> Model {
    match direction {
        Direction::MboxToMaildir => read_maildir(&env.path("out")),
        Direction::MaildirToMbox => {
            Model::from([("INBOX".to_string(), read_mbox_file(&env.path("out.mbox")))])
        }
        Direction::MboxTreeToMboxTree => read_mbox_dir(&env.path("out")),
    }
}

fn assert_destination_layout(env: &TestEnv, direction: Direction) {
    match direction {
        Direction::MboxToMaildir => assert_maildir_layout(&env.path("out")),
        Direction::MaildirToMbox => assert_mbox_file_layout(&env.path("out.mbox")),
        Direction::MboxTreeToMboxTree => assert_mbox_dir_layout(&env.path("out")),
    }
}

/// Every stored message is a source message, and none is stored twice.
#[track_caller]
fn assert_only_source_messages(expected: &Model, actual: &Model, what: &str) {
    for (folder, messages) in actual {
        let source = expected
            .get(folder)
            .unwrap_or_else(|| panic!("{what}: unexpected folder {folder}"));
        let mut fingerprints = HashSet::new();
        for message in messages {
            assert!(
                fingerprints.insert(message.fingerprint()),
                "{what}: folder {folder} holds {} twice",
                message.describe()
            );
            if !source.contains(message) {
                let diff = diff_messages(source, std::slice::from_ref(message)).unwrap_or_default();
                panic!("{what}: folder {folder} holds a message the source does not have:\n{diff}");
            }
        }
    }
}

/// Kills a fresh copy after `kill_after` message events, reruns it to the
/// end, and checks the destination.
fn kill_then_rerun(direction: Direction, kill_after: usize) {
    let env = TestEnv::new();
    let job = set_up(&env, direction);
    let all = total(&job.expected) as u64;
    let args = ["--json", "copy", job.src.as_str(), job.dst.as_str()];
    let what = format!("{direction:?}, killed after {kill_after} messages");

    let mut run = env.spawn(&args);
    assert!(
        run.wait_for_messages(kill_after),
        "{what}: the run ended before the kill point"
    );
    run.kill_9();
    let killed = run.finish();
    killed.assert_killed();
    let reported = events_of(&killed.events, "message").len();
    assert!(reported >= kill_after);
    // A maildir only ever shows complete messages; mbox files may end in a
    // half-written batch until the next run rolls it back.
    let present = match direction {
        Direction::MboxToMaildir => {
            let present = read_destination(&env, direction);
            assert_only_source_messages(&job.expected, &present, &format!("{what}, before rerun"));
            Some(total(&present) as u64)
        }
        _ => None,
    };

    let events = env.run_json(&args, 0);
    let rerun = summary(&events);
    let (copied, duplicate) = (
        count(rerun, "messages_copied"),
        count(rerun, "messages_duplicate"),
    );
    assert!(
        copied + duplicate < all,
        "{what}: the rerun started over instead of resuming from the checkpoint: {rerun}"
    );
    if let Some(present) = present {
        assert_eq!(
            copied,
            all - present,
            "{what}: the rerun copies only what is missing"
        );
    }

    assert_same_messages(&job.expected, &read_destination(&env, direction), &what);
    assert_destination_layout(&env, direction);

    let events = env.run_json(&args, 0);
    assert_eq!(
        count(summary(&events), "messages_copied"),
        0,
        "{what}: a third run copies nothing"
    );
}

#[test]
fn kill_9_then_rerun_copies_mbox_to_maildir_exactly_once() {
    for kill_after in [1, 150, 700, 2000] {
        kill_then_rerun(Direction::MboxToMaildir, kill_after);
    }
}

#[test]
fn kill_9_then_rerun_copies_maildir_to_mbox_exactly_once() {
    for kill_after in [1, 150, 700] {
        kill_then_rerun(Direction::MaildirToMbox, kill_after);
    }
}

#[test]
fn kill_9_then_rerun_copies_mbox_tree_to_mbox_tree_exactly_once() {
    // 2000 falls in the second folder, after the first is complete.
    for kill_after in [1, 150, 700, 2000] {
        kill_then_rerun(Direction::MboxTreeToMboxTree, kill_after);
    }
}

#[test]
fn repeated_kills_never_copy_a_message_twice() {
    let env = TestEnv::new();
    let direction = Direction::MboxToMaildir;
    let job = set_up(&env, direction);
    let args = ["--json", "copy", job.src.as_str(), job.dst.as_str()];
    // Source keys reported `copied`: a later run may find a message stored
    // but not yet recorded (a duplicate), but must never copy it again.
    let mut copied: HashSet<String> = HashSet::new();
    let take = |copied: &mut HashSet<String>, events: &[serde_json::Value], run: &str| {
        for event in events_of(events, "message") {
            if event["status"] == "copied" {
                let key = event["key"].to_string();
                assert!(copied.insert(key.clone()), "{run} copied {key} again");
            }
        }
    };
    for attempt in 1..=4 {
        let mut run = env.spawn(&args);
        assert!(run.wait_for_messages(1), "attempt {attempt} stored nothing");
        run.kill_9();
        let killed = run.finish();
        killed.assert_killed();
        take(&mut copied, &killed.events, &format!("attempt {attempt}"));
        let present = read_destination(&env, direction);
        assert_only_source_messages(&job.expected, &present, &format!("after attempt {attempt}"));
    }
    assert!(copied.len() < total(&job.expected));
    let events = env.run_json(&args, 0);
    take(&mut copied, &events, "the final run");
    assert_same_messages(
        &job.expected,
        &read_destination(&env, direction),
        "after four kills",
    );
    assert_destination_layout(&env, direction);
}

/// Sends `signal` after the first stored batch; expects exit 4 with the
/// destination consistent at once, and a rerun that finds nothing it already
/// did (no duplicates: the checkpoint covers every stored message).
fn stop_with_signal_then_rerun(direction: Direction, signal: &str) {
    let env = TestEnv::new();
    let job = set_up(&env, direction);
    let args = ["--json", "copy", job.src.as_str(), job.dst.as_str()];

    let mut run = env.spawn(&args);
    assert!(
        run.wait_for_messages(1),
        "the run ended before storing anything"
    );
    run.signal(signal);
    let stopped = run.finish();
    stopped.assert_exit(4);
    assert!(
        stopped.stderr.contains("interrupted"),
        "stderr says the run was interrupted:\n{}",
        stopped.stderr
    );
    let last = stopped
        .events
        .last()
        .expect("an interrupted run still ends its JSON stream");
    assert_eq!(last["event"], "summary", "{last}");
    assert_eq!(last["interrupted"], true, "{last}");
    assert_eq!(last["exit_code"], 4, "{last}");
    let saved = env.only_state_json();
    assert!(
        saved["folders"]["INBOX"].is_object(),
        "the checkpoint records the folder in progress: {saved}"
    );

    assert_destination_layout(&env, direction);
    let present = read_destination(&env, direction);
    assert_only_source_messages(&job.expected, &present, &format!("after SIG{signal}"));
    let stored = total(&present) as u64;
    assert!(
        stored > 0 && stored < total(&job.expected) as u64,
        "stored {stored}"
    );

    let events = env.run_json(&args, 0);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_duplicate"), 0, "{summary}");
    assert_eq!(
        count(summary, "messages_copied"),
        total(&job.expected) as u64 - stored,
        "{summary}"
    );
    assert_same_messages(
        &job.expected,
        &read_destination(&env, direction),
        "after the rerun",
    );
    assert_destination_layout(&env, direction);
}

#[test]
fn sigterm_stops_with_exit_4_and_a_checkpoint_and_the_rerun_completes() {
    stop_with_signal_then_rerun(Direction::MboxToMaildir, "TERM");
}

#[test]
fn sigint_stops_with_exit_4_and_a_checkpoint_and_the_rerun_completes() {
    stop_with_signal_then_rerun(Direction::MaildirToMbox, "INT");
}

#[test]
fn an_empty_journal_left_by_a_kill_does_not_stop_the_next_run() {
    let env = TestEnv::new();
    let messages = corpus::synthetic_range(0..20);
    corpus::write_mbox(&env.path("first.mbox"), &messages[..10]);
    corpus::write_mbox(&env.path("all.mbox"), &messages);
    let dst = env.endpoint("mbox", "out.mbox");
    crate::util::assert_exit(
        &env.run(&["copy", &env.endpoint("mbox", "first.mbox"), &dst]),
        0,
    );
    // What a run killed right after creating its journal, before writing the
    // committed length into it, leaves: no byte of the batch was written yet.
    std::fs::write(env.path(".out.mbox.mailtug-journal"), b"").unwrap();

    let events = env.run_json(
        &["--json", "copy", &env.endpoint("mbox", "all.mbox"), &dst],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 10, "{summary}");
    assert_eq!(count(summary, "messages_duplicate"), 10, "{summary}");
    let expected = Model::from([("INBOX".to_string(), corpus::stored(&messages))]);
    assert_same_messages(
        &expected,
        &read_destination(&env, Direction::MaildirToMbox),
        "out.mbox",
    );
    assert_destination_layout(&env, Direction::MaildirToMbox);
}
