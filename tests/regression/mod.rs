//! Regressions found in the test suite itself and in mailtug, each named
//! after what broke.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::support::account::Account;
use crate::support::planted::plant_folder;
use crate::support::Dovecot;
use crate::util::corpus::synthetic;
use crate::util::model::{assert_same_messages, header, read_maildir};
use crate::util::{args, count, json_events, stderr, summary, TestEnv};

/// Writes `messages` into `new/` of a one-folder maildir under the given
/// unique names, with the same mtime on every file.
fn write_named_maildir(root: &Path, messages: &[(&str, &[u8])]) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    for (unique, raw) in messages {
        let path = root.join("new").join(unique);
        fs::write(&path, raw).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
    }
}

/// The maildir unique names mailtug (and Dovecot) write carry unpadded
/// microseconds, so two copies of one folder list their files in different
/// orders: `M664` sorts after `M1082`. Comparing the models with `==` made
/// `imap::failures::imap_urls_use_starttls_or_with_tls_none_plaintext_on_loopback`
/// flaky; the comparison must treat a folder as a multiset.
#[test]
fn maildirs_whose_file_order_differs_by_unpadded_microseconds_compare_equal() {
    let env = TestEnv::new();
    let (a, b) = (synthetic(0).raw, synthetic(1).raw);
    // Copy one: A then B within one second, at 664 µs and 1082 µs.
    write_named_maildir(
        &env.path("one"),
        &[
            ("1700000000.M664P10Q1.host,S=1", &a),
            ("1700000000.M1082P10Q2.host,S=1", &b),
        ],
    );
    // Copy two: A then B at 100100 µs and 100500 µs.
    write_named_maildir(
        &env.path("two"),
        &[
            ("1700000000.M100100P11Q1.host,S=1", &a),
            ("1700000000.M100500P11Q2.host,S=1", &b),
        ],
    );
    let (one, two) = (
        read_maildir(&env.path("one")),
        read_maildir(&env.path("two")),
    );
    assert_ne!(
        one, two,
        "the models list the messages in file-name order, which differs"
    );
    assert_same_messages(&one, &two, "two copies of the same folder");
}

/// A message whose Message-ID names it.
fn named_message(name: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\nTo: b@example.org\nSubject: {name}\n\
         Message-ID: <{name}@regression.example.org>\n\
         Date: Wed, 1 Jan 2020 10:00:00 +0000\n\n{name}\n"
    )
    .into_bytes()
}

/// Puts message `name` (see `named_message`) into `folder`.
fn load(account: &Account<'_>, folder: &str, name: &str) {
    let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_872_800);
    account
        .user
        .load(account.server, folder, &[(named_message(name), "S", date)]);
}

/// `copy --json` from the account over IMAPS into maildir `out`, plus `extra`.
fn copy_to_maildir(env: &TestEnv, account: &Account<'_>, extra: &[&str]) -> Output {
    let mut copy = args(["--json", "copy"]);
    copy.extend(account.src_args());
    copy.extend(args(extra.iter().copied()));
    copy.extend([account.imaps(), env.endpoint("maildir", "out")]);
    env.run_owned(&copy)
}

/// Dovecot lists `x.` (a directory `.x.` made behind its back) beside `x`;
/// both were mailtug folder `x`, and whichever LIST named last silently
/// replaced the other. Now `x` keeps its name, `x.` is folder `x~2` (which
/// Dovecot cannot open: a failed folder, exit 1), and a warning names both.
#[test]
fn server_folders_sharing_a_name_are_both_kept_and_reported() {
    let env = TestEnv::new();
    let account = Account::new(&env, Dovecot::shared(), "shared-name", None);
    load(&account, "INBOX", "inbox");
    load(&account, "x", "x");
    plant_folder(
        &account.user,
        b".x.",
        "1577872800.M1P1.planted:2,S",
        &named_message("x-dot"),
    );

    let output = copy_to_maildir(&env, &account, &[]);
    let text = stderr(&output);
    crate::util::assert_no_panic(&text);
    assert!(
        text.lines()
            .any(|line| line.contains("`x`") && line.contains("`x.`") && line.contains("`x~2`")),
        "a warning names both server folders and the new name:\n{text}"
    );
    let events = json_events(&output);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 2, "{summary}\n{text}");
    assert_eq!(
        count(summary, "folders_failed"),
        1,
        "`x~2` cannot be opened: {summary}\n{text}"
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    let model = read_maildir(&env.path("out"));
    let ids: Vec<(String, Vec<String>)> = model
        .iter()
        .map(|(folder, messages)| {
            let ids = messages
                .iter()
                .map(|m| header(&m.raw, "message-id").unwrap())
                .collect();
            (folder.clone(), ids)
        })
        .collect();
    assert_eq!(
        ids,
        [
            (
                "INBOX".to_string(),
                vec!["<inbox@regression.example.org>".to_string()]
            ),
            (
                "x".to_string(),
                vec!["<x@regression.example.org>".to_string()]
            ),
        ],
        "{text}"
    );
}

/// Dovecot echoes a folder name holding a raw newline in its NO to EXAMINE,
/// a reply the IMAP parser rejects. The connection was fine, and asking
/// again gets the same reply: the folder fails at once with the server's
/// words, without `--retries` reconnect attempts, and the folders after it
/// are copied over a fresh session.
#[test]
fn an_unparsable_reply_fails_its_folder_at_once_and_the_rest_is_copied() {
    let env = TestEnv::new();
    let account = Account::new(&env, Dovecot::shared(), "unparsable", None);
    load(&account, "INBOX", "inbox");
    load(&account, "a", "a");
    load(&account, "zz", "zz");
    plant_folder(
        &account.user,
        b".nl\nname",
        "1577872800.M1P1.planted:2,S",
        &named_message("newline"),
    );

    let output = copy_to_maildir(&env, &account, &["--jobs", "1", "--retries", "2"]);
    let text = stderr(&output);
    crate::util::assert_no_panic(&text);
    let reconnects = text.lines().filter(|l| l.contains("reconnecting")).count();
    assert_eq!(reconnects, 0, "no reconnect attempts for a reply:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("error") && l.contains("not valid IMAP") && l.contains("nl")),
        "the folder's error gives the server's reply:\n{text}"
    );
    let events = json_events(&output);
    let summary = summary(&events);
    assert_eq!(count(summary, "folders_failed"), 1, "{summary}\n{text}");
    assert_eq!(count(summary, "messages_copied"), 3, "{summary}\n{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    let model = read_maildir(&env.path("out"));
    let folders: Vec<(&str, usize)> = model
        .iter()
        .map(|(folder, messages)| (folder.as_str(), messages.len()))
        .collect();
    assert_eq!(folders, [("INBOX", 1), ("a", 1), ("zz", 1)], "{text}");
}
