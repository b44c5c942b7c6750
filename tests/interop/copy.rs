//! Copies to, from and between the test servers: what arrives (bytes, flags,
//! dates), under which names, what a rerun and a fresh checkpoint do, and
//! what POP3 leaves behind.

use std::sync::OnceLock;

use crate::support::servers::{ServerAccount, TestServer, ALL};
use crate::util::corpus::Synthetic;
use crate::util::crlf::lf;
use crate::util::model::{
    assert_maildir_layout, assert_same_messages, mapped, read_maildir, total, Model, Stored,
};
use crate::util::{count, events_of, summary, TestEnv};

use super::corpus::{self, Tree};
use super::{
    assert_server_holds, command, folders_done, munged_what, on_each, on_each_server, pairs,
    server_model, stored_by, Side,
};

/// A maildir of `tree` at `relative` in the test directory.
fn maildir_of(env: &TestEnv, relative: &str, tree: &Tree) -> Side {
    let root = env.path(relative);
    corpus::write_maildir(&root, tree, "interop");
    Side::Maildir(root)
}

/// The model of a maildir mailtug wrote, line ends normalised.
fn maildir_model(env: &TestEnv, relative: &str) -> Model {
    let root = env.path(relative);
    assert_maildir_layout(&root);
    mapped(&read_maildir(&root), |m| Stored {
        raw: lf(&m.raw),
        ..m.clone()
    })
}

#[test]
fn maildir_to_imap_and_back_keeps_bytes_flags_and_dates_on_every_server() {
    let tree = corpus::main_tree();
    let source = corpus::model(&tree);
    on_each_server("maildir → IMAP → maildir", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "round-trip");
        let src = maildir_of(&env, "src", &tree);
        let expected = stored_by(server, &source);

        let events = env.run_json_owned(&command("copy", &src, &Side::imaps(&account), &[]), 0);
        let done = summary(&events);
        assert_eq!(
            count(done, "messages_copied"),
            total(&source) as u64,
            "{done}"
        );
        assert_server_holds(&account, &expected, "maildir → IMAP");

        let out = Side::Maildir(env.path("out"));
        let events = env.run_json_owned(&command("copy", &Side::imaps(&account), &out, &[]), 0);
        let done = summary(&events);
        assert_eq!(
            count(done, "messages_copied"),
            total(&source) as u64,
            "{done}"
        );
        assert_same_messages(
            &expected,
            &maildir_model(&env, "out"),
            &munged_what(&[server], "IMAP → maildir"),
        );
        // The reader left each folder without expunging: `\Deleted` is
        // still on the server.
        assert_server_holds(&account, &expected, "the server after IMAP → maildir");
    });
}

#[test]
fn imap_to_imap_between_every_pair_of_servers_lands_under_the_destinations_names() {
    let tree = corpus::main_tree();
    let source = corpus::model(&tree);
    let env = TestEnv::new();
    // One loaded source account per server, copied to each of the others:
    // every pair, both directions.
    let sources: Vec<(TestServer, ServerAccount)> = ALL
        .iter()
        .map(|&server| {
            let account = server.add_account(&env, "pair-src");
            corpus::load(&account, &tree);
            (server, account)
        })
        .collect();
    let mut directions = Vec::new();
    for (a, b) in pairs() {
        directions.extend([(a, b), (b, a)]);
    }
    on_each(
        "IMAP → IMAP",
        &directions,
        |(a, b)| format!("{} → {}", a.name(), b.name()),
        |(from, to)| {
            let src = &sources.iter().find(|(s, _)| *s == from).unwrap().1;
            let held = stored_by(from, &source);
            assert_server_holds(src, &held, "the loaded source");
            let dst = to.add_account(&env, "pair-dst");
            let events = env.run_json_owned(
                &command("copy", &Side::imaps(src), &Side::imaps(&dst), &[]),
                0,
            );
            let done = summary(&events);
            assert_eq!(
                count(done, "messages_copied"),
                total(&source) as u64,
                "{done}"
            );
            for (folder, event) in folders_done(&events) {
                assert_eq!(event["destination_folder"], folder.as_str(), "{event}");
            }
            let what = munged_what(&[from], "the destination");
            assert_server_holds(&dst, &stored_by(to, &held), &what);
            // The source was read without a change: `\Deleted` is still there.
            assert_server_holds(src, &held, "the source after the copy");
        },
    );
}

/// Whether RETR marks a message `\Seen` on `server`: Courier's does
/// (measured); Cyrus's does not, and Dovecot's test config sets
/// `pop3_no_flag_updates`.
fn pop3_retr_marks_seen(server: TestServer) -> bool {
    server == TestServer::Courier
}

#[test]
fn pop3_to_maildir_fetches_inbox_and_leaves_the_read_state_as_each_server_does() {
    let inbox: Tree = corpus::main_tree().into_iter().take(1).collect();
    let source = corpus::model(&inbox);
    on_each_server("POP3 → maildir", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "pop3");
        corpus::load(&account, &inbox);
        let held = stored_by(server, &source);
        assert_server_holds(&account, &held, "the loaded INBOX");

        // Implicit TLS on two servers, plaintext on the others.
        let tls = matches!(server, TestServer::Dovecot | TestServer::CyrusDot);
        let src = Side::Pop3 {
            account: account.clone(),
            tls,
        };
        let out = Side::Maildir(env.path("out"));
        let copy = command("copy", &src, &out, &[]);
        let events = env.run_json_owned(&copy, 0);
        let done = summary(&events);
        assert_eq!(
            count(done, "messages_copied"),
            total(&source) as u64,
            "{done}"
        );
        // POP3 carries neither flags nor dates: the bytes arrive without
        // flags (and dated when they arrived).
        let expected = mapped(&held, |m| Stored {
            flags: "-".into(),
            date: None,
            ..m.clone()
        });
        let arrived = mapped(&maildir_model(&env, "out"), |m| Stored {
            date: None,
            ..m.clone()
        });
        assert_same_messages(
            &expected,
            &arrived,
            &munged_what(&[server], "POP3 → maildir"),
        );

        // The server's read state afterwards.
        let after = if pop3_retr_marks_seen(server) {
            let mut read = inbox.clone();
            for message in &mut read[0].1 {
                message.flags.seen = true;
            }
            stored_by(server, &corpus::model(&read))
        } else {
            held.clone()
        };
        assert_server_holds(
            &account,
            &after,
            if pop3_retr_marks_seen(server) {
                "after POP3: RETR marked every message \\Seen"
            } else {
                "after POP3: flags unchanged"
            },
        );

        let events = env.run_json_owned(&copy, 0);
        assert_eq!(count(summary(&events), "messages_copied"), 0, "the rerun");
    });
}

#[test]
fn a_rerun_copies_nothing_in_every_imap_direction() {
    let tree = corpus::main_tree();
    let messages = total(&corpus::model(&tree)) as u64;
    on_each_server("rerun", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "rerun");
        // The next server of the table receives the IMAP → IMAP copy.
        let next = ALL[(ALL.iter().position(|s| *s == server).unwrap() + 1) % ALL.len()];
        let other = next.add_account(&env, "rerun-dst");
        let src = maildir_of(&env, "src", &tree);
        let out = Side::Maildir(env.path("out"));
        let runs = [
            (
                "maildir → IMAP",
                command("copy", &src, &Side::imap(&account), &[]),
            ),
            (
                "IMAP → maildir",
                command("copy", &Side::imap(&account), &out, &[]),
            ),
            (
                "IMAP → IMAP",
                command("copy", &Side::imap(&account), &Side::imaps(&other), &[]),
            ),
        ];
        for (what, copy) in &runs {
            let events = env.run_json_owned(copy, 0);
            assert_eq!(
                count(summary(&events), "messages_copied"),
                messages,
                "{what}: the first run"
            );
            let before = (server_model(&account), server_model(&other));
            let events = env.run_json_owned(copy, 0);
            let rerun = summary(&events);
            assert_eq!(
                count(rerun, "messages_copied"),
                0,
                "{what}: the rerun: {rerun}"
            );
            assert_eq!(
                count(rerun, "messages_failed"),
                0,
                "{what}: the rerun: {rerun}"
            );
            assert_eq!(
                (server_model(&account), server_model(&other)),
                before,
                "{what}: the rerun changed the servers"
            );
        }
    });
}

#[test]
fn a_fresh_checkpoint_adopts_what_the_server_already_holds() {
    let tree = corpus::main_tree();
    let source = corpus::model(&tree);
    let messages = total(&source) as u64;
    on_each_server("fresh checkpoint", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "adopt");
        let src = maildir_of(&env, "src", &tree);
        let first = env.path("first.json");
        let second = env.path("second.json");
        let with_state = |state: &std::path::Path| {
            let state = crate::util::path_arg(state);
            command("copy", &src, &Side::imap(&account), &["--state", &state])
        };
        let events = env.run_json_owned(&with_state(&first), 0);
        assert_eq!(count(summary(&events), "messages_copied"), messages);
        let expected = stored_by(server, &source);
        assert_server_holds(&account, &expected, "after the first copy");

        let events = env.run_json_owned(&with_state(&second), 0);
        let adopted = summary(&events);
        assert_eq!(count(adopted, "messages_copied"), 0, "{adopted}");
        assert_eq!(count(adopted, "messages_duplicate"), messages, "{adopted}");
        for event in events_of(&events, "message") {
            assert_eq!(event["status"], "duplicate", "{event}");
        }
        // Among them the message with 8-bit headers and no Message-ID,
        // which Cyrus holds with `X` in their place.
        let eight_bit = events_of(&events, "message")
            .into_iter()
            .filter(|e| !e["fingerprint"].as_str().unwrap_or("").starts_with('<'))
            .count();
        assert_eq!(eight_bit, 2, "messages without Message-ID: {events:#?}");
        assert_server_holds(&account, &expected, "after the fresh checkpoint");
    });
}

#[test]
fn an_empty_folder_is_created_at_the_destination() {
    let tree: Tree = vec![
        ("INBOX".to_string(), corpus::small("INBOX", 0, 1)),
        ("Empty".to_string(), Vec::new()),
        ("Outer".to_string(), corpus::small("Outer", 1, 1)),
        ("Outer/Empty".to_string(), Vec::new()),
    ];
    let source = corpus::model(&tree);
    on_each_server("empty folder", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "empty");
        let src = maildir_of(&env, "src", &tree);
        env.run_json_owned(&command("copy", &src, &Side::imap(&account), &[]), 0);
        let expected = stored_by(server, &source);
        assert_server_holds(&account, &expected, "maildir → IMAP");

        let out = Side::Maildir(env.path("out"));
        env.run_json_owned(&command("copy", &Side::imap(&account), &out, &[]), 0);
        assert_same_messages(
            &expected,
            &maildir_model(&env, "out"),
            &munged_what(&[server], "IMAP → maildir"),
        );
    });
}

/// A message of about 12 MB: a short text part and a base64 attachment of
/// pseudo-random bytes in 76-character lines, LF line ends.
fn twelve_megabytes() -> &'static Synthetic {
    static MESSAGE: OnceLock<Synthetic> = OnceLock::new();
    MESSAGE.get_or_init(|| {
        let mut raw = b"Date: Mon, 01 May 2023 09:00:00 +0000\n\
From: Ivan <ivan@example.org>\n\
To: Bob <bob@example.net>\n\
Subject: the big attachment\n\
Message-ID: <interop.large@example.org>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b0undary\"\n\
\n\
--b0undary\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
The attachment is 9 MB of noise.\n\
\n\
--b0undary\n\
Content-Type: application/octet-stream; name=\"noise.bin\"\n\
Content-Transfer-Encoding: base64\n\
Content-Disposition: attachment; filename=\"noise.bin\"\n\
\n"
        .to_vec();
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        while raw.len() < 12 * 1024 * 1024 {
            for _ in 0..76 {
                // xorshift64
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                raw.push(ALPHABET[(state >> 58) as usize]);
            }
            raw.push(b'\n');
        }
        raw.extend_from_slice(b"\n--b0undary--\n");
        Synthetic {
            raw,
            flags: corpus::flags(&["\\Seen"]),
            date: 1_682_931_600,
        }
    })
}

#[test]
fn a_12_mb_message_goes_maildir_to_imap_to_maildir_byte_exact() {
    let message = twelve_megabytes();
    let tree: Tree = vec![("INBOX".to_string(), vec![message.clone()])];
    let source = corpus::model(&tree);
    on_each_server("12 MB message", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "large");
        let src = maildir_of(&env, "src", &tree);
        env.run_json_owned(&command("copy", &src, &Side::imaps(&account), &[]), 0);
        let mut client = account.client();
        let held = client.messages("INBOX");
        client.logout();
        assert_eq!(held.len(), 1, "messages on the server");
        assert!(
            held[0].raw == corpus::crlf(&message.raw),
            "the server holds {} bytes, not the {} of the message with CRLF",
            held[0].raw.len(),
            corpus::crlf(&message.raw).len()
        );

        let out = Side::Maildir(env.path("out"));
        env.run_json_owned(&command("copy", &Side::imaps(&account), &out, &[]), 0);
        let back = read_maildir(&env.path("out"));
        assert!(
            back["INBOX"].len() == 1 && back["INBOX"][0].raw == message.raw,
            "the maildir holds {:?} bytes, not the {} of the message",
            back["INBOX"]
                .iter()
                .map(|m| m.raw.len())
                .collect::<Vec<_>>(),
            message.raw.len()
        );
        assert_same_messages(&source, &back, "maildir → IMAP → maildir");
    });
}
