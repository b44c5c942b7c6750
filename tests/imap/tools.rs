//! `ls` and `verify` on IMAP endpoints.

use std::collections::BTreeMap;

use mailtug::fingerprint::Fingerprint;

use crate::util::{assert_exit, count, events_of, stderr, stdout, summary, TestEnv};

use super::{args, mails, server, Account};

/// Bytes of a message as IMAP counts them (RFC822.SIZE: CRLF line ends).
fn crlf_size(raw: &[u8]) -> u64 {
    let lf = raw.iter().filter(|&&b| b == b'\n').count();
    let crlf = raw.windows(2).filter(|w| w == b"\r\n").count();
    (raw.len() + lf - crlf) as u64
}

#[test]
fn ls_lists_imap_folders_with_message_counts_and_sizes() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "ls", None);
    let folders = [
        ("INBOX", mails("inbox", 4, 700)),
        ("Archive.2023", mails("archive", 3, 2500)),
        ("Archiv.Grüße", mails("gruesse", 2, 400)),
        ("Empty", Vec::new()),
    ];
    for (folder, mails) in &folders {
        if mails.is_empty() {
            server.doveadm(&["mailbox", "create", "-u", account.name(), folder]);
        } else {
            account.load(folder, mails);
        }
    }
    let expected: BTreeMap<String, (u64, u64)> = folders
        .iter()
        .map(|(folder, mails)| {
            let bytes = mails.iter().map(|m| crlf_size(&m.raw)).sum();
            (folder.replace('.', "/"), (mails.len() as u64, bytes))
        })
        .collect();

    let mut ls = args(["--json", "ls", &account.imaps()]);
    ls.extend(account.src_args());
    let events = env.run_json_owned(&ls, 0);
    let listed: BTreeMap<String, (u64, u64)> = events_of(&events, "folder")
        .into_iter()
        .map(|e| {
            (
                e["folder"].as_str().unwrap().to_owned(),
                (count(e, "messages"), count(e, "bytes")),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    let total = summary(&events);
    assert_eq!(count(total, "folders"), 4);
    assert_eq!(count(total, "messages"), 9);

    let mut ls = args(["ls", &account.imaps()]);
    ls.extend(account.src_args());
    let output = env.run_owned(&ls);
    assert_exit(&output, 0);
    let table = stdout(&output);
    let rows: BTreeMap<String, String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect();
    for (folder, (messages, _)) in &expected {
        assert_eq!(
            rows.get(folder),
            Some(&messages.to_string()),
            "row of {folder} in:\n{table}"
        );
    }
    assert_eq!(rows.get("total"), Some(&"9".to_string()), "{table}");
}

#[test]
fn verify_passes_after_an_imap_copy_and_fails_once_a_message_is_expunged() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "verify-src", None);
    let destination = Account::new(&env, server, "verify-dst", None);
    let inbox = mails("inbox", 5, 700);
    source.load("INBOX", &inbox);
    source.load("Archive.2024", &mails("archive", 3, 700));
    let with_credentials = |command: &str, extra: &[&str]| {
        let mut argv = args(extra.iter().copied());
        argv.extend(args([command, &source.imaps(), &destination.imaps()]));
        argv.extend(source.src_args());
        argv.extend(destination.dst_args());
        argv
    };

    // Before the copy everything is missing.
    let output = env.run_owned(&with_credentials("verify", &[]));
    assert_exit(&output, 1);

    assert_exit(&env.run_owned(&with_credentials("copy", &[])), 0);
    let output = env.run_owned(&with_credentials("verify", &[]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "", "nothing missing, nothing extra");
    let events = env.run_json_owned(&with_credentials("verify", &["--json"]), 0);
    let checked = summary(&events);
    assert_eq!(count(checked, "messages_checked"), 8, "{checked}");
    assert_eq!(count(checked, "messages_missing"), 0, "{checked}");

    let uids = destination.uids("INBOX");
    let victim = destination.messages("INBOX").remove(0);
    server.doveadm(&[
        "expunge",
        "-u",
        destination.name(),
        "mailbox",
        "INBOX",
        "uid",
        &uids[0].to_string(),
    ]);
    assert_eq!(destination.count("INBOX"), 4);
    let fingerprint = Fingerprint::of(&victim.raw).to_string();
    let output = env.run_owned(&with_credentials("verify", &[]));
    assert_exit(&output, 1);
    assert_eq!(
        stdout(&output),
        format!("missing\tINBOX\t{fingerprint}\n"),
        "stderr:\n{}",
        stderr(&output)
    );
    let events = env.run_json_owned(&with_credentials("verify", &["--json"]), 1);
    let missing = events_of(&events, "missing");
    assert_eq!(missing.len(), 1, "{events:#?}");
    assert_eq!(missing[0]["folder"], "INBOX");
    assert_eq!(missing[0]["fingerprint"], fingerprint.as_str());
    assert_eq!(count(summary(&events), "messages_missing"), 1);
}
