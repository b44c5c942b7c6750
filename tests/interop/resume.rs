//! `kill -9` in the middle of a copy into each server, then a rerun: the
//! server ends with exactly the deduplicated source, nothing twice, and
//! `mailtug verify` agrees.
//!
//! The kill point counts `message` events, which mailtug prints after the
//! batch they belong to is committed. The test reads stdout only up to the
//! kill point, so the run soon blocks on a full pipe and cannot finish
//! first: the source's file names are long (each event carries one), so the
//! 64 KiB pipe holds only about 200 of the 311 events.

use crate::util::corpus::{synthetic_range, Synthetic};
use crate::util::model::{
    assert_only_source_messages, assert_same_messages, deduplicated, total, Stored,
};
use crate::util::{count, summary, TestEnv};

use super::corpus::{self, Tree};
use super::{command, on_each_server, server_model, stored_by, Side};

/// The folder the copy goes into (not INBOX, so the prefix applies).
const FOLDER: &str = "Resumed";

/// Kill after this many `message` events.
const KILL_AFTER: usize = 40;

/// 300 synthetic messages (some without Message-ID, some with CRLF,
/// keywords), one with raw 8-bit headers and no Message-ID, and ten sent
/// twice.
fn source() -> Tree {
    let mut messages = synthetic_range(0..300);
    messages.push(Synthetic {
        raw: b"Date: Mon, 15 Jan 2024 23:59:00 +0000\n\
From: Ren\xe9e <renee@example.org>\n\
To: rcpt@example.net\n\
Subject: r\xe9sum\xe9 without Message-ID\n\
\n\
Latin-1 in the header, no Message-ID.\n"
            .to_vec(),
        flags: corpus::flags(&["\\Seen"]),
        date: 1_705_363_140,
    });
    let resent: Vec<Synthetic> = messages[100..110].to_vec();
    messages.extend(resent);
    vec![(FOLDER.to_string(), messages)]
}

/// The fingerprints of a list of messages, sorted (duplicates kept).
fn fingerprints(messages: &[Stored]) -> Vec<String> {
    let mut all: Vec<String> = messages
        .iter()
        .map(|m| format!("{:?}", m.fingerprint()))
        .collect();
    all.sort();
    all
}

#[test]
fn kill_9_mid_copy_then_a_rerun_stores_the_deduplicated_source_once_on_every_server() {
    let tree = source();
    let source = corpus::model(&tree);
    on_each_server("kill -9 and resume", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "kill");
        corpus::write_maildir(&env.path("src"), &tree, &"long-name-".repeat(18));
        let mut expected = stored_by(server, &deduplicated(&source));
        expected.insert("INBOX".to_string(), Vec::new());
        let wanted = &expected[FOLDER];
        let copy = command(
            "copy",
            &Side::Maildir(env.path("src")),
            &Side::imap(&account),
            &[],
        );

        let argv: Vec<&str> = copy.iter().map(String::as_str).collect();
        let mut run = env.spawn(&argv);
        assert!(
            run.wait_for_messages(KILL_AFTER),
            "the run ended before {KILL_AFTER} messages"
        );
        run.kill_9();
        run.finish().assert_killed();
        // An APPEND the server had whole when mailtug died is still stored.
        account.wait_until_settled(&account.server_folder(FOLDER));
        let present = server_model(&account).remove(FOLDER).unwrap_or_default();
        assert_only_source_messages(wanted, &present, "after the kill");
        assert!(
            present.len() < wanted.len(),
            "the run was not killed part-way: {} of {} stored",
            present.len(),
            wanted.len()
        );

        let events = env.run_json_owned(&copy, 0);
        let rerun = summary(&events);
        assert_eq!(
            count(rerun, "messages_copied"),
            (wanted.len() - present.len()) as u64,
            "the rerun copies exactly what is missing ({} were there): {rerun}",
            present.len()
        );
        let after = server_model(&account);
        assert_eq!(
            fingerprints(&after[FOLDER]),
            fingerprints(wanted),
            "each source fingerprint once"
        );
        assert_same_messages(
            &expected,
            &after,
            &super::munged_what(&[server], "after the rerun"),
        );
        assert_eq!(total(&after), wanted.len());

        let events = env.run_json_owned(
            &command(
                "verify",
                &Side::Maildir(env.path("src")),
                &Side::imap(&account),
                &[],
            ),
            0,
        );
        let verified = summary(&events);
        assert_eq!(count(verified, "messages_missing"), 0, "{verified}");
    });
}
