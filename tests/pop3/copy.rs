//! Copies from POP3: what arrives at each kind of destination, what a rerun
//! does, the per-run limits, dedup against the destination, and the bytes
//! of messages POP3 has to escape.

use std::fs;

use crate::util::model::read_mbox_file;
use crate::util::{assert_exit, corpus, count, events_of, stderr, stdout, summary, TestEnv};

use super::{
    args, assert_same_raws, copy_args, crlf_size, lf, log_mark, mail, maildir_inbox, mails,
    message_ids, server, sessions_since, total, uid_of_uidl, uidl_of, with_status, Mailbox,
};

/// A source that varies what can go wrong: the synthetic corpus (some
/// messages without Message-ID, some with CRLF, some with `From ` lines an
/// mbox must quote) and one message of about 300 KB.
fn varied_source() -> Vec<Vec<u8>> {
    let mut raws: Vec<Vec<u8>> = corpus::synthetic_range(0..40)
        .into_iter()
        .map(|s| s.raw)
        .collect();
    raws.push(mail("large", 0, 300_000));
    raws
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Maildir,
    MboxFile,
    Imap,
}

fn copy_to(target: Target) {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "copy-src", None);
    let raws = varied_source();
    source.load(&raws);
    let destination = match target {
        Target::Imap => Some(Mailbox::new(&env, server, "copy-dst", None)),
        _ => None,
    };
    let endpoint = match (&destination, target) {
        (Some(account), _) => account.imaps(),
        (None, Target::MboxFile) => env.endpoint("mbox", "out.mbox"),
        (None, _) => env.endpoint("maildir", "out"),
    };
    let mut copy = copy_args(&source, &source.pop3s(), &endpoint, &[]);
    if let Some(account) = &destination {
        copy.extend(account.dst_args());
    }

    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), raws.len() as u64, "{done}");
    assert_eq!(count(done, "messages_failed"), 0, "{done}");
    let stored = match (&destination, target) {
        (Some(account), _) => account.held(),
        (None, Target::MboxFile) => read_mbox_file(&env.path("out.mbox"))
            .into_iter()
            .map(|m| m.raw)
            .collect(),
        (None, _) => maildir_inbox(&env.path("out")),
    };
    assert_same_raws(&raws, &stored, &format!("POP3 → {target:?}"));

    // Each body was downloaded once, and nothing was marked for deletion.
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(
        total(&sessions, |s| s.retr),
        raws.len() as u64,
        "{sessions:#?}"
    );
    assert_eq!(total(&sessions, |s| s.del), 0, "{sessions:#?}");
    assert_eq!(
        source.count(),
        raws.len() as u64,
        "the server keeps every message"
    );
    assert_same_raws(&raws, &source.held(), "the server after the copy");

    // Every message event names a UIDL the server has, each once.
    let uids: Vec<u32> = source.held_by_uid().iter().map(|(uid, _)| *uid).collect();
    let mut seen: Vec<u32> = events_of(&events, "message")
        .into_iter()
        .map(|e| uid_of_uidl(&uidl_of(e)))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, uids, "one message event per server message");
}

#[test]
fn pop3_to_maildir_stores_every_message_byte_exact_and_deletes_nothing() {
    copy_to(Target::Maildir);
}

#[test]
fn pop3_to_an_mbox_file_stores_every_message_byte_exact_and_deletes_nothing() {
    copy_to(Target::MboxFile);
}

#[test]
fn pop3_to_imap_stores_every_message_byte_exact_and_deletes_nothing() {
    copy_to(Target::Imap);
}

#[test]
fn a_rerun_fetches_nothing_and_prints_nothing_when_unattended() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "rerun-src", None);
    let raws = mails("rerun", 8, 1200);
    source.load(&raws);
    let mut quiet = args(["copy", &source.pop3s(), &env.endpoint("maildir", "out")]);
    quiet.extend(source.src_args());

    // stderr is a pipe here, as under cron: a run that went well is silent.
    for run in ["the first run", "the rerun"] {
        let output = env.run_owned(&quiet);
        assert_exit(&output, 0);
        assert!(
            output.stdout.is_empty() && output.stderr.is_empty(),
            "{run} printed something\n--- stdout ---\n{}\n--- stderr ---\n{}",
            stdout(&output),
            stderr(&output)
        );
    }
    assert_same_raws(&raws, &maildir_inbox(&env.path("out")), "after two runs");

    let mark = log_mark(server);
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &[],
    );
    let events = env.run_json_owned(&copy, 0);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_copied"), 0, "{rerun}");
    assert_eq!(count(rerun, "messages_duplicate"), 0, "{rerun}");
    assert_eq!(count(rerun, "folders_unchanged"), 1, "{rerun}");
    assert!(events_of(&events, "message").is_empty(), "{events:#?}");
    for session in sessions_since(server, mark, source.name()) {
        assert_eq!(
            (session.top, session.retr, session.del),
            (0, 0, 0),
            "a rerun reads nothing: {}",
            session.line
        );
    }
    assert_eq!(source.count(), 8);
}

#[test]
fn new_mail_between_runs_is_fetched_exactly_once() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "new-mail-src", None);
    let first = mails("first", 5, 900);
    source.load(&first);
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &[],
    );
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 5);

    let new = mails("second", 2, 900);
    source.load(&new);
    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let second = summary(&events);
    assert_eq!(count(second, "messages_copied"), 2, "{second}");
    let copied: Vec<String> = with_status(&events, "copied")
        .into_iter()
        .map(|e| e["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        copied,
        [
            "<second.0@pop3.mailtug.test>",
            "<second.1@pop3.mailtug.test>"
        ]
    );
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(
        total(&sessions, |s| s.retr),
        2,
        "only the new bodies are downloaded: {sessions:#?}"
    );

    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    let all: Vec<Vec<u8>> = first.iter().chain(&new).cloned().collect();
    assert_same_raws(&all, &maildir_inbox(&env.path("out")), "after three runs");
}

#[test]
fn changed_uidls_fall_back_on_dedup_and_download_nothing_again() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "uidl-change-src", None);
    let raws = mails("renumbered", 5, 1000);
    source.load(&raws);
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &[],
    );
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 5);
    let before: Vec<String> = super::delivered(&super::checkpoint_json(&env))
        .into_keys()
        .collect();

    // A new UIDVALIDITY gives every message a new UIDL (`%08Xu%08Xv`), as
    // a server migration or a rebuilt index does.
    server.doveadm(&[
        "mailbox",
        "update",
        "-u",
        source.name(),
        "--uid-validity",
        "12345",
        "INBOX",
    ]);
    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_copied"), 0, "{rerun}");
    assert_eq!(count(rerun, "messages_duplicate"), 5, "{rerun}");
    for event in with_status(&events, "duplicate") {
        assert_eq!(event["bytes"], 0, "{event}");
    }
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(total(&sessions, |s| s.retr), 0, "{sessions:#?}");
    let after: Vec<String> = super::delivered(&super::checkpoint_json(&env))
        .into_keys()
        .collect();
    assert_eq!(after.len(), 5);
    assert!(
        after.iter().all(|uidl| !before.contains(uidl)),
        "the old UIDLs are forgotten: {before:?} → {after:?}"
    );
    assert!(
        after.iter().all(|uidl| uidl.ends_with("00003039")),
        "{after:?}"
    );
    assert_same_raws(&raws, &maildir_inbox(&env.path("out")), "each message once");

    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "folders_unchanged"), 1);
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(total(&sessions, |s| s.top + s.retr), 0, "{sessions:#?}");
}

/// Runs `copy` until a run copies nothing, and returns what each run copied
/// (the last, empty run left out). Stops with a failure after `limit` runs.
fn runs_until_done(env: &TestEnv, copy: &[String], limit: usize) -> Vec<Vec<String>> {
    let mut runs = Vec::new();
    for _ in 0..limit {
        let events = env.run_json_owned(copy, 0);
        let copied: Vec<String> = with_status(&events, "copied")
            .into_iter()
            .map(|e| e["fingerprint"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            count(summary(&events), "messages_copied"),
            copied.len() as u64
        );
        if copied.is_empty() {
            return runs;
        }
        runs.push(copied);
    }
    panic!("{limit} runs did not copy everything: {runs:#?}");
}

#[test]
fn max_messages_fetches_that_many_per_run_until_everything_is_fetched_once() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "max-messages-src", None);
    let raws = mails("limited", 12, 700);
    source.load(&raws);
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &["--max-messages", "5"],
    );
    let mark = log_mark(server);
    let runs = runs_until_done(&env, &copy, 10);
    let sizes: Vec<usize> = runs.iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 5, 2], "messages copied per run: {runs:#?}");
    // In server order, each once.
    let expected: Vec<String> = (0..12)
        .map(|i| format!("<limited.{i}@pop3.mailtug.test>"))
        .collect();
    assert_eq!(runs.concat(), expected);
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(total(&sessions, |s| s.retr), 12, "{sessions:#?}");
    assert_same_raws(&raws, &maildir_inbox(&env.path("out")), "after the runs");
    assert_eq!(source.count(), 12);
}

#[test]
fn max_bytes_bounds_each_run_and_still_fetches_a_larger_message_alone() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "max-bytes-src", None);
    // Ten messages of about 2 KB, and in the middle one of 12 KB, more than
    // a run may fetch: it must come alone rather than block the rest.
    let mut raws = mails("sized", 10, 2000);
    raws.insert(5, mail("oversized", 0, 12_000));
    source.load(&raws);
    let limit: u64 = 5 * 1024;
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &["--max-bytes", "5K"],
    );

    // What the limit allows, from the sizes POP3 reports (with CRLF):
    // messages in server order while they fit, and at least one per run.
    let mut expected: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0;
    for raw in &raws {
        let size = crlf_size(raw);
        let id = super::message_id(raw);
        match expected.last_mut() {
            Some(run) if bytes + size <= limit => {
                run.push(id);
                bytes += size;
            }
            _ => {
                expected.push(vec![id]);
                bytes = size;
            }
        }
    }
    assert!(
        expected.len() >= 5,
        "the limit splits the mailbox: {expected:#?}"
    );

    let runs = runs_until_done(&env, &copy, 20);
    assert_eq!(runs, expected, "messages per run under --max-bytes 5K");
    for run in &runs {
        let size: u64 = run
            .iter()
            .map(|id| {
                let raw = raws.iter().find(|r| &super::message_id(r) == id).unwrap();
                crlf_size(raw)
            })
            .sum();
        assert!(
            size <= limit || run.len() == 1,
            "a run of several messages went past the limit ({size} bytes): {run:?}"
        );
    }
    assert_same_raws(&raws, &maildir_inbox(&env.path("out")), "after the runs");
}

#[derive(Clone, Copy, Debug)]
enum Holder {
    Maildir,
    Imap,
}

/// Part of the source is already at the destination (put there by other
/// means); the rest is new.
fn already_there(holder: Holder) {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "dedup-src", None);
    let mut raws = mails("dedup", 10, 1500);
    // Without a Message-ID, the fingerprint is a hash of the whole message:
    // its body must be downloaded to recognise it.
    raws.push(
        b"From: nobody@example.org\nSubject: no id\n\nA message without Message-ID.\n".to_vec(),
    );
    source.load(&raws);
    let present: Vec<usize> = vec![0, 3, 4, 8, 10];
    let present_raws: Vec<Vec<u8>> = present.iter().map(|&i| raws[i].clone()).collect();

    let destination = match holder {
        Holder::Imap => {
            let account = Mailbox::new(&env, server, "dedup-dst", None);
            account.load(&present_raws);
            Some(account)
        }
        Holder::Maildir => {
            let out = env.path("out");
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(out.join(sub)).unwrap();
            }
            for (n, raw) in present_raws.iter().enumerate() {
                fs::write(
                    out.join("cur").join(format!("1700000000.M{n}P1.other:2,S")),
                    raw,
                )
                .unwrap();
            }
            None
        }
    };
    let copy = match &destination {
        Some(account) => {
            let mut copy = copy_args(&source, &source.pop3s(), &account.imaps(), &[]);
            copy.extend(account.dst_args());
            copy
        }
        None => copy_args(
            &source,
            &source.pop3s(),
            &env.endpoint("maildir", "out"),
            &[],
        ),
    };

    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 6, "{done}");
    assert_eq!(count(done, "messages_duplicate"), 5, "{done}");

    let uids: Vec<u32> = source.held_by_uid().iter().map(|(uid, _)| *uid).collect();
    let index_of = |event: &serde_json::Value| {
        let uid = uid_of_uidl(&uidl_of(event));
        uids.iter().position(|&u| u == uid).unwrap()
    };
    let duplicates = with_status(&events, "duplicate");
    let mut duplicate_indexes: Vec<usize> = duplicates.iter().map(|e| index_of(e)).collect();
    duplicate_indexes.sort_unstable();
    assert_eq!(duplicate_indexes, present, "{duplicates:#?}");
    for event in &duplicates {
        let downloaded = index_of(event) == 10;
        assert_eq!(
            event["bytes"].as_u64() == Some(0),
            !downloaded,
            "a duplicate known by its Message-ID has bytes 0, the one without has its size: {event}"
        );
    }
    let mut copied: Vec<usize> = with_status(&events, "copied")
        .into_iter()
        .map(index_of)
        .collect();
    copied.sort_unstable();
    assert_eq!(copied, [1, 2, 5, 6, 7, 9]);

    // Headers of all eleven were read; bodies only of the six new messages
    // and of the one without Message-ID.
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(total(&sessions, |s| s.top), 11, "{sessions:#?}");
    assert_eq!(total(&sessions, |s| s.retr), 7, "{sessions:#?}");

    let stored = match &destination {
        Some(account) => account.held(),
        None => maildir_inbox(&env.path("out")),
    };
    assert_same_raws(&raws, &stored, &format!("{holder:?} after the copy"));
    assert_eq!(
        message_ids(&stored),
        message_ids(&raws),
        "each message once"
    );
}

#[test]
fn messages_already_in_a_maildir_destination_are_not_downloaded_again() {
    already_there(Holder::Maildir);
}

#[test]
fn messages_already_in_an_imap_destination_are_not_downloaded_again() {
    already_there(Holder::Imap);
}

#[test]
fn dot_stuffed_lines_round_trip_and_a_missing_final_newline_gains_one() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "dots-src", None);
    // A line that is just `.` would end the answer if the server did not
    // stuff it; `..` and `.x` lose their first dot if the client does not
    // unstuff exactly one.
    let dots = b"From: dots@example.org\nSubject: dots\nMessage-ID: <dots@pop3.mailtug.test>\n\n\
                 .\n..\n...\n.leading dot\n..two leading dots\n. space\n.\r\nmiddle\n.\n"
        .to_vec();
    let crlf = b"From: crlf@example.org\r\nSubject: crlf dots\r\nMessage-ID: <crlf@pop3.mailtug.test>\r\n\r\n\
                 .\r\n..\r\nend\r\n"
        .to_vec();
    let unterminated =
        b"From: open@example.org\nSubject: no final newline\nMessage-ID: <open@pop3.mailtug.test>\n\n\
          the last line has no newline\n."
            .to_vec();
    source.load(&[dots.clone(), crlf.clone(), unterminated.clone()]);

    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &[],
    );
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 3);
    let stored = maildir_inbox(&env.path("out"));
    let find = |id: &str| {
        stored
            .iter()
            .find(|raw| super::message_id(raw) == id)
            .unwrap_or_else(|| panic!("{id} is missing: {stored:?}"))
            .clone()
    };
    assert_eq!(
        String::from_utf8_lossy(&find("<dots@pop3.mailtug.test>")),
        String::from_utf8_lossy(&lf(&dots)),
        "dot-stuffed lines come back as they were"
    );
    assert_eq!(
        String::from_utf8_lossy(&find("<crlf@pop3.mailtug.test>")),
        String::from_utf8_lossy(&lf(&crlf))
    );
    // RFC 1939 §3: the server ends the last line before the terminating `.`
    // line, so a message without a final newline arrives with one (as mbox
    // documents for itself); everything before it is unchanged.
    let mut terminated = unterminated.clone();
    terminated.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(&find("<open@pop3.mailtug.test>")),
        String::from_utf8_lossy(&terminated),
        "a missing final newline gains one, nothing else changes"
    );
}
