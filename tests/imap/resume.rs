//! Interrupted and invalidated IMAP runs: `kill -9` part-way, and a source
//! folder whose UIDVALIDITY changed under the checkpoint.
//!
//! Kill points count `message` events, which mailtug prints after the batch
//! they belong to is committed. The test reads stdout only up to the kill
//! point, so the run soon blocks on a full pipe (64 KiB, a few hundred
//! events) and cannot finish before the kill: with 1,500 messages and kill
//! points up to 500, it is always killed part-way.

use crate::util::model::{
    assert_only_source_messages, assert_same_messages, read_maildir, Model, Stored,
};
use crate::util::{assert_exit, count, json_events, stderr, summary, TestEnv};

use super::{args, log_mark, message_ids, server, sessions_since, stored, Account, Mail};

const MESSAGES: usize = 1500;

#[derive(Clone, Copy, Debug)]
enum Target {
    Maildir,
    Imap,
}

fn kill_then_rerun(target: Target) {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "kill-src", None);
    let mails: Vec<Mail> = (0..MESSAGES).map(Mail::synthetic).collect();
    source.load("INBOX", &mails);
    let expected = stored(&mails);

    for kill_after in [1, 200, 500] {
        let what = format!("{target:?}, killed after {kill_after} messages");
        let destination = match target {
            Target::Maildir => None,
            Target::Imap => Some(Account::new(&env, server, "kill-dst", None)),
        };
        let out = format!("out-{kill_after}");
        let mut copy = args(["--json", "copy", &source.imaps()]);
        copy.extend(source.src_args());
        match &destination {
            None => copy.push(env.endpoint("maildir", &out)),
            Some(account) => {
                copy.push(account.imaps());
                copy.extend(account.dst_args());
            }
        }
        let read = || -> Vec<Stored> {
            match &destination {
                None => read_maildir(&env.path(&out))
                    .remove("INBOX")
                    .unwrap_or_default(),
                Some(account) => account.messages("INBOX"),
            }
        };

        let mark = log_mark(server);
        let argv: Vec<&str> = copy.iter().map(String::as_str).collect();
        let mut run = env.spawn(&argv);
        assert!(
            run.wait_for_messages(kill_after),
            "{what}: the run ended before the kill point"
        );
        run.kill_9();
        let killed = run.finish();
        killed.assert_killed();
        if let Some(account) = &destination {
            // An APPEND the server had whole when mailtug died is still
            // stored: wait for the session to end before looking.
            sessions_since(server, mark, account.name());
        }
        let present = read();
        assert_only_source_messages(&expected, &present, &format!("{what}, before the rerun"));
        assert!(
            present.len() < MESSAGES,
            "{what}: the run was not killed part-way"
        );

        let events = env.run_json_owned(&copy, 0);
        let rerun = summary(&events);
        assert!(
            count(rerun, "messages_copied") + count(rerun, "messages_duplicate") < MESSAGES as u64,
            "{what}: the rerun started over instead of resuming: {rerun}"
        );
        assert_eq!(
            count(rerun, "messages_copied"),
            (MESSAGES - present.len()) as u64,
            "{what}: the rerun copies exactly what is missing: {rerun}"
        );
        let after = read();
        assert_eq!(
            message_ids(&after),
            message_ids(&expected),
            "{what}: the Message-IDs at the destination are the source's, each once"
        );
        assert_same_messages(
            &Model::from([("INBOX".to_string(), expected.clone())]),
            &Model::from([("INBOX".to_string(), after)]),
            &what,
        );

        let events = env.run_json_owned(&copy, 0);
        assert_eq!(
            count(summary(&events), "messages_copied"),
            0,
            "{what}: a third run copies nothing"
        );
        // `verify` agrees, messages without Message-ID and with CRLF included.
        let mut verify = copy.clone();
        verify[1] = "verify".into();
        let events = env.run_json_owned(&verify, 0);
        let verified = summary(&events);
        assert_eq!(count(verified, "messages_missing"), 0, "{what}: {verified}");
        assert_eq!(count(verified, "messages_extra"), 0, "{what}: {verified}");
    }
}

#[test]
fn kill_9_then_rerun_copies_imap_to_maildir_exactly_once() {
    kill_then_rerun(Target::Maildir);
}

#[test]
fn kill_9_then_rerun_copies_imap_to_imap_exactly_once() {
    kill_then_rerun(Target::Imap);
}

#[test]
fn a_changed_uidvalidity_is_reported_and_dedup_copies_nothing_again() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "uidvalidity-src", None);
    let mails = super::mails("projects", 6, 900);
    source.load("Projects", &mails);
    let mut copy = args([
        "--json",
        "copy",
        &source.imaps(),
        &env.endpoint("maildir", "out"),
    ]);
    copy.extend(source.src_args());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 6);

    let before = source.status("Projects", "uidvalidity");
    server.doveadm(&["mailbox", "delete", "-u", source.name(), "Projects"]);
    source.load("Projects", &mails);
    let after = source.status("Projects", "uidvalidity");
    assert_ne!(
        before, after,
        "recreating the folder gives a new UIDVALIDITY"
    );

    let output = env.run_owned(&copy);
    assert_exit(&output, 0);
    let text = stderr(&output);
    assert!(
        text.lines()
            .any(|l| l.contains("warning") && l.contains("UIDVALIDITY") && l.contains("Projects")),
        "a warning names the folder and UIDVALIDITY:\n{text}"
    );
    let events = json_events(&output);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_copied"), 0, "{rerun}");
    assert_eq!(count(rerun, "messages_duplicate"), 6, "{rerun}");
    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), Vec::new()),
            ("Projects".to_string(), stored(&mails)),
        ]),
        &read_maildir(&env.path("out")),
        "after the UIDVALIDITY change",
    );

    // The checkpoint now describes the new folder: the next run is quiet.
    let output = env.run_owned(&copy);
    assert_exit(&output, 0);
    assert!(
        !stderr(&output).contains("UIDVALIDITY"),
        "{}",
        stderr(&output)
    );
    let events = json_events(&output);
    let quiet = summary(&events);
    assert_eq!(count(quiet, "folders"), 2, "INBOX and Projects: {quiet}");
    assert_eq!(count(quiet, "folders_unchanged"), 2, "{quiet}");
}

/// Copies 3,000 messages into an IMAP account and has the server drop the
/// source's or the destination's connections part-way (`doveadm kick`):
/// mailtug reconnects and ends with every message stored once.
fn dropped_connection_is_retried(kick_destination: bool) {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "kick-src", None);
    let destination = Account::new(&env, server, "kick-dst", None);
    let mails: Vec<Mail> = (0..3000).map(Mail::synthetic).collect();
    source.load("INBOX", &mails);
    let mut copy = args(["--json", "copy", "--retries", "3", &source.imaps()]);
    copy.push(destination.imaps());
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());

    let argv: Vec<&str> = copy.iter().map(String::as_str).collect();
    let mut run = env.spawn(&argv);
    assert!(run.wait_for_messages(300), "the run ended early");
    let kicked = if kick_destination {
        destination.name()
    } else {
        source.name()
    };
    let said = server.doveadm(&["kick", kicked]);
    assert!(said.contains(kicked), "doveadm kicked nobody: {said}");
    let finished = run.finish();
    finished.assert_exit(0);
    assert!(
        finished.stderr.contains("reconnecting"),
        "mailtug noticed the dropped connection:\n{}",
        finished.stderr
    );
    assert_same_messages(
        &Model::from([("INBOX".to_string(), stored(&mails))]),
        &Model::from([("INBOX".to_string(), destination.messages("INBOX"))]),
        "after a dropped connection",
    );
}

#[test]
fn a_dropped_source_connection_is_retried_and_the_copy_completes_once() {
    dropped_connection_is_retried(false);
}

#[test]
fn a_dropped_destination_connection_is_retried_and_the_copy_completes_once() {
    dropped_connection_is_retried(true);
}

#[test]
fn a_message_expunged_at_the_destination_is_copied_again_when_dedup_decides() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "stale-index-src", None);
    let destination = Account::new(&env, server, "stale-index-dst", None);
    let mut projects = super::mails("projects", 3, 600);
    source.load("Projects", &projects);
    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    env.run_json_owned(&copy, 0);
    // A second run with something new indexes the destination folder (and
    // keeps that index in the checkpoint).
    let fourth = Mail::new("projects", 3, 600);
    source.load("Projects", std::slice::from_ref(&fourth));
    projects.push(fourth);
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 1);

    // The user deletes one message at the destination; later the source
    // folder is rebuilt (new UIDVALIDITY), so the next run relies on dedup.
    let victim = destination.uids("Projects")[0];
    server.doveadm(&[
        "expunge",
        "-u",
        destination.name(),
        "mailbox",
        "Projects",
        "uid",
        &victim.to_string(),
    ]);
    server.doveadm(&["mailbox", "delete", "-u", source.name(), "Projects"]);
    source.load("Projects", &projects);

    let events = env.run_json_owned(&copy, 0);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_copied"), 1, "the lost one: {rerun}");
    assert_eq!(count(rerun, "messages_duplicate"), 3, "{rerun}");
    assert_eq!(
        message_ids(&destination.messages("Projects")),
        message_ids(&stored(&projects))
    );
}

#[test]
fn kill_9_with_delete_source_then_rerun_moves_every_message_exactly_once() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "kill-move-src", None);
    let mails: Vec<Mail> = (0..MESSAGES).map(Mail::synthetic).collect();
    source.load("INBOX", &mails);
    let mut copy = args(["--json", "copy", "--delete-source", &source.imaps()]);
    copy.push(env.endpoint("maildir", "out"));
    copy.extend(source.src_args());

    let argv: Vec<&str> = copy.iter().map(String::as_str).collect();
    let mut run = env.spawn(&argv);
    assert!(
        run.wait_for_messages(300),
        "the run ended before the kill point"
    );
    run.kill_9();
    run.finish().assert_killed();
    let present = read_maildir(&env.path("out"))
        .remove("INBOX")
        .unwrap_or_default();
    let expected = stored(&mails);
    assert_only_source_messages(&expected, &present, "before the rerun");
    let left = source.messages("INBOX");
    assert!(
        present.len() + left.len() >= MESSAGES,
        "a message was deleted before it was stored: {} stored, {} left",
        present.len(),
        left.len()
    );

    let events = env.run_json_owned(&copy, 0);
    assert_eq!(
        count(summary(&events), "messages_copied"),
        (MESSAGES - present.len()) as u64
    );
    assert_eq!(source.count("INBOX"), 0, "everything stored is deleted");
    assert_same_messages(
        &Model::from([("INBOX".to_string(), expected)]),
        &read_maildir(&env.path("out")),
        "moved after a kill",
    );
}

/// Copies 1,500 messages IMAP → IMAP and sends SIGTERM after 200 message
/// events; returns the stopped run and the number of messages the server
/// then holds.
fn copy_until_sigterm(
    env: &TestEnv,
    copy: &[String],
    destination: &Account<'_>,
) -> (crate::util::Finished, u64) {
    let argv: Vec<&str> = copy.iter().map(String::as_str).collect();
    let mut run = env.spawn(&argv);
    assert!(run.wait_for_messages(200), "the run ended early");
    run.signal("TERM");
    let stopped = run.finish();
    stopped.assert_exit(4);
    let stored_now = destination.count("INBOX");
    assert!(
        stored_now >= 200 && stored_now < MESSAGES as u64,
        "{stored_now}"
    );
    (stopped, stored_now)
}

fn sigterm_job(env: &TestEnv, hint: &str) -> (Vec<String>, Vec<Mail>, Account<'static>) {
    let server = server();
    let source = Account::new(env, server, &format!("{hint}-src"), None);
    let destination = Account::new(env, server, &format!("{hint}-dst"), None);
    let mails: Vec<Mail> = (0..MESSAGES).map(Mail::synthetic).collect();
    source.load("INBOX", &mails);
    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    (copy, mails, destination)
}

#[test]
fn sigterm_stops_an_imap_copy_with_exit_4_and_the_rerun_finds_nothing_done_twice() {
    let env = TestEnv::new();
    let (copy, mails, destination) = sigterm_job(&env, "term");
    let (stopped, stored_now) = copy_until_sigterm(&env, &copy, &destination);
    assert_eq!(summary(&stopped.events)["interrupted"], true);

    // Everything stored is in the checkpoint: no duplicates to skip.
    let events = env.run_json_owned(&copy, 0);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_duplicate"), 0, "{rerun}");
    assert_eq!(
        count(rerun, "messages_copied"),
        MESSAGES as u64 - stored_now,
        "{rerun}"
    );
    assert_same_messages(
        &Model::from([("INBOX".to_string(), stored(&mails))]),
        &Model::from([("INBOX".to_string(), destination.messages("INBOX"))]),
        "after SIGTERM and a rerun",
    );
}

#[test]
fn an_interrupted_run_counts_what_it_stored_in_its_summary() {
    let env = TestEnv::new();
    let (copy, _, destination) = sigterm_job(&env, "term-count");
    let (stopped, stored_now) = copy_until_sigterm(&env, &copy, &destination);
    let stopped_summary = summary(&stopped.events);
    assert_eq!(
        count(stopped_summary, "messages_copied"),
        stored_now,
        "the summary counts what the server holds: {stopped_summary}"
    );
    let reported = crate::util::events_of(&stopped.events, "message").len() as u64;
    assert_eq!(
        reported, stored_now,
        "one `message` event per stored message"
    );
}
