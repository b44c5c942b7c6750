//! What goes wrong with servers: logins, certificates, quotas, and the
//! promise of `--delete-source` to remove only what is safely stored.

use std::collections::{BTreeSet, HashSet};
use std::fs;

use serde_json::Value;

use crate::util::corpus;
use crate::util::model::{assert_same_messages, read_maildir, Model};
use crate::util::{
    assert_exit, count, events_of, json_events, list_files, stderr, stdout, summary, TestEnv,
};

use super::{
    args, checkpoint_json, log_mark, mails, message_ids, path_arg, server, sessions_since, stored,
    uid_of, Account, Mail,
};

/// A one-folder maildir of three messages, as a local source.
fn small_maildir(env: &TestEnv) -> String {
    corpus::write_maildir(&env.path("src"), &corpus::synthetic_range(0..3));
    env.endpoint("maildir", "src")
}

#[test]
fn a_wrong_password_exits_7_with_the_servers_words_and_never_the_password() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "wrong-password", None);
    account.load("INBOX", &mails("inbox", 2, 500));
    let wrong = "Wr0ng-Pa55word-Zyxxy-4711";
    let wrong_file = path_arg(&env.write_secret("wrong.password", wrong));
    let ca = path_arg(server.ca_file());
    let local = small_maildir(&env);

    let mut runs: Vec<(String, Vec<String>)> = Vec::new();
    for extra in [
        &[][..],
        &["-vv"],
        &["--json"],
        &["--json", "-vv"],
        &["--src-auth", "login"],
    ] {
        let mut copy = args(["copy", &account.imaps(), &env.endpoint("maildir", "out")]);
        copy.extend(args([
            "--src-password-file",
            &wrong_file,
            "--src-ca-file",
            &ca,
        ]));
        copy.extend(args(extra.iter().copied()));
        runs.push((format!("copy from IMAP {extra:?}"), copy));
    }
    for extra in [&[][..], &["-vv"], &["--json"], &["--dst-auth", "login"]] {
        let mut copy = args(["copy", &local, &account.imaps()]);
        copy.extend(args([
            "--dst-password-file",
            &wrong_file,
            "--dst-ca-file",
            &ca,
        ]));
        copy.extend(args(extra.iter().copied()));
        runs.push((format!("copy to IMAP {extra:?}"), copy));
    }
    let mut ls = args(["-vv", "ls", &account.imaps()]);
    ls.extend(args([
        "--src-password-file",
        &wrong_file,
        "--src-ca-file",
        &ca,
    ]));
    runs.push(("ls -vv".into(), ls));

    for (what, argv) in runs {
        let output = env.run_owned(&argv);
        assert_exit(&output, 7);
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(
            err.contains("Authentication failed"),
            "{what}: the server's own words are shown:\n{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with("mailtug: error: ") && l.contains(account.name())),
            "{what}: the error names the account:\n{err}"
        );
        for secret in [wrong, account.password()] {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{what}: a password was printed\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
            );
        }
        if argv.iter().any(|a| a == "--json") {
            let events = json_events(&output);
            for event in &events {
                assert!(!event.to_string().contains(wrong), "{what}: {event}");
            }
            // Scripts and `bulk` learn it was the login, not worth retrying.
            let summary = events.last().expect("a summary event");
            assert_eq!(summary["event"], "summary", "{what}");
            assert_eq!(summary["error_kind"], "auth", "{what}: {summary}");
            assert_eq!(summary["exit_code"], 7, "{what}: {summary}");
        }
    }
    assert!(!env.path("out").exists(), "nothing was written");
    assert_eq!(
        account.count("INBOX"),
        2,
        "nothing was written to the server"
    );
}

/// `copy imaps://… maildir:NAME` with the password and `extra`.
fn tls_run(
    env: &TestEnv,
    account: &Account<'_>,
    url: &str,
    out: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut copy = args(["--json", "copy", url, &env.endpoint("maildir", out)]);
    copy.extend(args([
        "--src-password-file",
        &path_arg(&account.password_file),
    ]));
    copy.extend(args(extra.iter().copied()));
    env.run_owned(&copy)
}

#[test]
fn imaps_to_a_self_signed_server_needs_its_ca_file_or_insecure() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "tls", None);
    let inbox = mails("inbox", 3, 500);
    account.load("INBOX", &inbox);
    let ca = path_arg(server.ca_file());

    let refused = tls_run(&env, &account, &account.imaps(), "refused", &[]);
    assert_exit(&refused, 3);
    let err = stderr(&refused);
    assert!(
        err.contains("certificate") && err.contains("--src-ca-file"),
        "the error names the certificate problem and the option:\n{err}"
    );
    assert!(!env.path("refused").exists());

    let trusted = tls_run(
        &env,
        &account,
        &account.imaps(),
        "trusted",
        &["--src-ca-file", &ca],
    );
    assert_exit(&trusted, 0);
    assert_eq!(count(summary(&json_events(&trusted)), "messages_copied"), 3);

    let insecure = tls_run(
        &env,
        &account,
        &account.imaps(),
        "insecure",
        &["--insecure"],
    );
    assert_exit(&insecure, 0);
    let err = stderr(&insecure);
    assert!(
        err.lines()
            .any(|l| l.starts_with("mailtug: warning: ") && l.contains("--insecure")),
        "--insecure is loud:\n{err}"
    );
    assert_eq!(
        count(summary(&json_events(&insecure)), "messages_copied"),
        3
    );
    for out in ["trusted", "insecure"] {
        assert_same_messages(
            &Model::from([("INBOX".to_string(), stored(&inbox))]),
            &read_maildir(&env.path(out)),
            out,
        );
    }

    // The same check on the destination side.
    let local = small_maildir(&env);
    let mut copy = args(["copy", &local, &account.imaps()]);
    copy.extend(args([
        "--dst-password-file",
        &path_arg(&account.password_file),
    ]));
    let output = env.run_owned(&copy);
    assert_exit(&output, 3);
    let err = stderr(&output);
    assert!(
        err.contains("certificate") && err.contains("--dst-ca-file"),
        "the error names the certificate problem and the option:\n{err}"
    );
    assert_eq!(account.count("INBOX"), 3, "nothing was stored");
}

/// The `imap-login` lines of `user`'s sessions since `mark`.
fn logins_since(server: &crate::support::Dovecot, mark: usize, user: &str) -> Vec<String> {
    sessions_since(server, mark, user);
    let needle = format!("Login: user=<{user}>");
    server
        .log_tail(usize::MAX)
        .lines()
        .skip(mark)
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

#[test]
fn imap_urls_use_starttls_or_with_tls_none_plaintext_on_loopback() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "starttls", None);
    account.load("INBOX", &mails("inbox", 3, 500));
    let ca = path_arg(server.ca_file());

    let refused = tls_run(&env, &account, &account.imap(), "refused", &[]);
    assert_exit(&refused, 3);
    let err = stderr(&refused);
    assert!(
        err.contains("certificate") && err.contains("--src-ca-file"),
        "STARTTLS checks the certificate too:\n{err}"
    );

    let mark = log_mark(server);
    let starttls = tls_run(
        &env,
        &account,
        &account.imap(),
        "starttls",
        &["--src-ca-file", &ca],
    );
    assert_exit(&starttls, 0);
    assert_eq!(
        count(summary(&json_events(&starttls)), "messages_copied"),
        3
    );
    let logins = logins_since(server, mark, account.name());
    assert!(
        logins.iter().all(|l| l.contains(", TLS")),
        "every STARTTLS login is over TLS: {logins:#?}"
    );

    let mark = log_mark(server);
    let plain = tls_run(&env, &account, &account.imap(), "plain", &["--tls", "none"]);
    assert_exit(&plain, 0);
    assert_eq!(count(summary(&json_events(&plain)), "messages_copied"), 3);
    let logins = logins_since(server, mark, account.name());
    assert!(
        logins.iter().all(|l| !l.contains(", TLS")),
        "--tls none stays plaintext: {logins:#?}"
    );
    // The same messages, compared as multisets: maildir unique names carry
    // unpadded microseconds (`M664` sorts after `M1082`), so file-name order
    // differs between two copies of the same folder.
    assert_same_messages(
        &read_maildir(&env.path("starttls")),
        &read_maildir(&env.path("plain")),
        "--tls none and STARTTLS copies",
    );
}

/// The Message-IDs of a server folder and of a maildir folder.
fn ids_on_server(account: &Account<'_>, folder: &str) -> Vec<String> {
    message_ids(&account.messages(folder))
}

#[test]
fn delete_source_removes_exactly_the_copied_messages() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "delete-src", None);
    // Two messages too large for --max-size, which must stay.
    let mut inbox = mails("inbox", 6, 800);
    inbox.push(Mail::new("inbox", 6, 30_000));
    inbox.push(Mail::new("inbox", 7, 30_000));
    let old = mails("old", 4, 800);
    let keep = mails("keep", 3, 800);
    source.load("INBOX", &inbox);
    source.load("Old", &old);
    source.load("Keep", &keep);

    let mut copy = args(["--json", "copy", "--delete-source", "--max-size", "10K"]);
    copy.extend(args(["--exclude", "Keep", &source.imaps()]));
    copy.push(env.endpoint("maildir", "out"));
    copy.extend(source.src_args());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 10);

    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), stored(&inbox[..6])),
            ("Old".to_string(), stored(&old)),
        ]),
        &read_maildir(&env.path("out")),
        "the destination",
    );
    assert_eq!(
        ids_on_server(&source, "INBOX"),
        message_ids(&stored(&inbox[6..])),
        "only the messages over --max-size stay in INBOX"
    );
    assert_eq!(source.count("Old"), 0);
    assert_same_messages(
        &Model::from([("Keep".to_string(), stored(&keep))]),
        &Model::from([("Keep".to_string(), source.messages("Keep"))]),
        "an excluded folder is untouched",
    );

    // Nothing left to copy or delete.
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    assert_eq!(source.count("INBOX"), 2);
}

/// The UIDs of the `message` events with `status`.
fn uids_with_status(events: &[Value], status: &str) -> BTreeSet<u32> {
    events_of(events, "message")
        .into_iter()
        .filter(|e| e["status"] == status)
        .map(uid_of)
        .collect()
}

#[test]
fn delete_source_keeps_what_an_over_quota_destination_refused() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "quota-delete-src", None);
    let destination = Account::new(&env, server, "quota-delete-dst", Some("200K"));
    let big = mails("big", 20, 20_000);
    source.load("INBOX", &big);

    let mut copy = args(["--json", "copy", "--delete-source", &source.imaps()]);
    copy.push(destination.imaps());
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 1);
    let done = summary(&events);
    let (copied, failed) = (
        count(done, "messages_copied"),
        count(done, "messages_failed"),
    );
    assert!(copied > 0 && failed > 0, "some fit, some not: {done}");
    assert_eq!(copied + failed, 20, "{done}");

    let stored_ids = ids_on_server(&destination, "INBOX");
    let left_ids = ids_on_server(&source, "INBOX");
    assert_eq!(stored_ids.len() as u64, copied);
    assert_eq!(
        left_ids.len() as u64,
        failed,
        "exactly the refused ones stay"
    );
    let stored_set: HashSet<&String> = stored_ids.iter().collect();
    assert!(
        left_ids.iter().all(|id| !stored_set.contains(id)),
        "nothing stored is left at the source, nothing left is stored"
    );
    let mut all: Vec<String> = stored_ids.iter().chain(&left_ids).cloned().collect();
    all.sort();
    assert_eq!(all, message_ids(&stored(&big)), "no message lost");
}

#[test]
fn over_quota_appends_fail_alone_and_the_next_run_retries_only_them() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "quota-src", None);
    let destination = Account::new(&env, server, "quota-dst", Some("200K"));
    let big = mails("big", 20, 20_000);
    source.load("INBOX", &big);
    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());

    let output = env.run_owned(&copy);
    assert_exit(&output, 1);
    let events = json_events(&output);
    let done = summary(&events);
    let (copied, failed) = (
        count(done, "messages_copied"),
        count(done, "messages_failed"),
    );
    assert!(copied > 0 && failed > 0, "some fit, some not: {done}");
    assert_eq!(copied + failed, 20, "{done}");
    let failures: Vec<&Value> = events_of(&events, "message")
        .into_iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert_eq!(failures.len() as u64, failed);
    for event in &failures {
        let reason = event["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("OVERQUOTA") || reason.contains("Quota exceeded"),
            "the server's reason is kept: {event}"
        );
    }
    let err = stderr(&output);
    assert!(
        err.lines()
            .filter(|l| l.starts_with("mailtug: error: ") && l.contains("Quota exceeded"))
            .count() as u64
            == failed,
        "one error line per refused message, with the server's words:\n{err}"
    );
    assert_eq!(destination.count("INBOX"), copied);
    let on_server = ids_on_server(&destination, "INBOX");
    let distinct: BTreeSet<&String> = on_server.iter().collect();
    assert_eq!(distinct.len(), on_server.len(), "nothing stored twice");

    // The checkpoint claims no refused UID.
    let failed_uids = uids_with_status(&events, "failed");
    let copied_uids = uids_with_status(&events, "copied");
    let checkpoint = checkpoint_json(&env);
    let done_json = &checkpoint["folders"]["INBOX"]["done"];
    let through = done_json["through"].as_u64().unwrap_or(0) as u32;
    let above: BTreeSet<u32> = done_json["above"]
        .as_array()
        .map(|a| a.iter().map(|u| u.as_u64().unwrap() as u32).collect())
        .unwrap_or_default();
    for uid in &failed_uids {
        assert!(
            *uid > through && !above.contains(uid),
            "the checkpoint claims refused UID {uid}: {checkpoint:#}"
        );
    }
    for uid in &copied_uids {
        assert!(
            *uid <= through || above.contains(uid),
            "the checkpoint lacks stored UID {uid}: {checkpoint:#}"
        );
    }

    // The rerun tries the refused ones again, and only them.
    let output = env.run_owned(&copy);
    assert_exit(&output, 1);
    let events = json_events(&output);
    let again = summary(&events);
    assert_eq!(count(again, "messages_copied"), 0, "{again}");
    assert_eq!(count(again, "messages_duplicate"), 0, "{again}");
    assert_eq!(count(again, "messages_failed"), failed, "{again}");
    assert_eq!(uids_with_status(&events, "failed"), failed_uids);
    assert_eq!(destination.count("INBOX"), copied, "nothing stored twice");
}

#[test]
fn passwords_never_reach_the_checkpoint_or_the_output() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "secret-src", None);
    let destination = Account::new(&env, server, "secret-dst", None);
    source.load("INBOX", &mails("inbox", 3, 500));
    source.load("Work", &mails("work", 2, 500));
    let mut copy = args([
        "--json",
        "-vv",
        "copy",
        &source.imaps(),
        &destination.imaps(),
    ]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let secrets = [source.password(), destination.password()];
    let assert_clean = |what: &str, text: &str| {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} holds a password:\n{text}");
        }
    };

    let output = env.run_owned(&copy);
    assert_exit(&output, 0);
    assert_clean("stdout", &stdout(&output));
    assert_clean("stderr", &stderr(&output));

    let (id, _) = env.only_checkpoint();
    let state = env.state_home();
    let files = list_files(&state);
    assert!(!files.is_empty());
    for file in files {
        let bytes = fs::read(state.join(&file)).unwrap();
        assert_clean(
            &format!("state file {}", file.display()),
            &String::from_utf8_lossy(&bytes),
        );
    }
    let checkpoint = checkpoint_json(&env);
    assert!(
        checkpoint["folders"]["INBOX"].is_object() && checkpoint["folders"]["Work"].is_object(),
        "the checkpoint is the one of this run: {checkpoint:#}"
    );
    for argv in [
        args(["state", "show", &id]),
        args(["state", "list"]),
        args(["--json", "state", "list"]),
    ] {
        let output = env.run_owned(&argv);
        assert_exit(&output, 0);
        assert_clean(&format!("{argv:?}"), &stdout(&output));
        assert_clean(&format!("{argv:?}"), &stderr(&output));
    }
}

#[test]
fn over_quota_failures_among_mixed_sizes_are_pinned_on_the_right_messages() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "quota-mixed-src", None);
    let destination = Account::new(&env, server, "quota-mixed-dst", Some("200K"));
    // Some messages fail while later, smaller ones still fit; one is over
    // 1 MiB, so it travels outside the MULTIAPPEND groups.
    let sizes = [
        30_000, 30_000, 150_000, 10_000, 1_200_000, 20_000, 100_000, 5_000, 40_000, 15_000, 2_000,
        60_000, 1_000,
    ];
    let all: Vec<Mail> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| Mail::new("mixed", i, *size))
        .collect();
    source.load("INBOX", &all);
    // UIDs follow the order of loading.
    let id_of_uid: std::collections::BTreeMap<u32, String> = source
        .uids("INBOX")
        .into_iter()
        .zip(&all)
        .map(|(uid, mail)| (uid, mail.message_id()))
        .collect();

    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 1);
    let ids = |uids: &BTreeSet<u32>| -> BTreeSet<String> {
        uids.iter().map(|uid| id_of_uid[uid].clone()).collect()
    };
    let copied = ids(&uids_with_status(&events, "copied"));
    let failed = ids(&uids_with_status(&events, "failed"));
    let stored_now: BTreeSet<String> = ids_on_server(&destination, "INBOX").into_iter().collect();
    assert_eq!(
        copied, stored_now,
        "`copied` events name what the server holds"
    );
    let all_ids: BTreeSet<String> = id_of_uid.values().cloned().collect();
    assert_eq!(
        failed,
        all_ids
            .difference(&stored_now)
            .cloned()
            .collect::<BTreeSet<_>>(),
        "`failed` events name exactly what the server lacks"
    );
    let first_failure = uids_with_status(&events, "failed")
        .into_iter()
        .min()
        .unwrap();
    assert!(
        uids_with_status(&events, "copied")
            .iter()
            .any(|uid| *uid > first_failure),
        "a smaller message after a refused one still fits (else this tests less): {events:#?}"
    );
}

#[test]
fn tls_none_is_refused_for_a_server_beyond_loopback_before_any_password_is_sent() {
    let env = TestEnv::new();
    let Some(ip) = super::non_loopback_address() else {
        // A machine with nothing but loopback cannot reach such a server
        // at all; there is nothing to test.
        eprintln!("skipped: this machine has no non-loopback address");
        return;
    };
    let fake = super::FakeImap::start(ip, "IMAP4rev1 AUTH=PLAIN");
    let password = "Plaintext-Never-9f3k";
    let file = path_arg(&env.write_secret("password", password));
    let output = env.run_owned(&args([
        "ls",
        &format!("imap://someone@{ip}:{}", fake.port),
        "--tls",
        "none",
        "--src-password-file",
        &file,
    ]));
    assert_exit(&output, 2);
    let err = stderr(&output);
    assert!(err.contains("loopback"), "the error says why:\n{err}");
    let received = fake.finish();
    assert!(
        !received.contains("LOGIN") && !received.contains("AUTHENTICATE"),
        "no login was attempted: {received:?}"
    );
    assert!(!err.contains(password) && !stdout(&output).contains(password));
}

#[test]
fn an_imap_server_without_starttls_gets_no_password() {
    let env = TestEnv::new();
    let fake = super::FakeImap::start([127, 0, 0, 1].into(), "IMAP4rev1 AUTH=PLAIN");
    let password = "NoStartTls-Secret-7d2q";
    let file = path_arg(&env.write_secret("password", password));
    let output = env.run_owned(&args([
        "ls",
        &format!("imap://someone@127.0.0.1:{}", fake.port),
        "--src-password-file",
        &file,
    ]));
    assert_exit(&output, 3);
    let err = stderr(&output);
    assert!(err.contains("STARTTLS"), "the error says why:\n{err}");
    let received = fake.finish();
    assert!(
        !received.contains("LOGIN") && !received.contains("AUTHENTICATE"),
        "no login was attempted: {received:?}"
    );
}

/// See: issue 11. An mbox folder with a refused message in its middle left
/// a gap in the checkpoint that an earlier mailtug wrote and could not read
/// back: every later run exited 2 until the checkpoint was removed by hand.
#[test]
fn a_message_refused_in_the_middle_of_an_mbox_leaves_a_checkpoint_later_runs_read() {
    let env = TestEnv::new();
    let server = server();
    let destination = Account::new(&env, server, "mbox-gap-dst", Some("200K"));
    let mut messages = corpus::synthetic_range(0..8);
    // Too big for the quota whatever else is there: refused every time.
    messages[3] = corpus::padded(messages[3].clone(), 300_000, |n| format!("line {n}"));
    let mbox = env.path("gap.mbox");
    corpus::write_mbox(&mbox, &messages);
    let mut copy = args(["--json", "copy", &format!("mbox:{}", path_arg(&mbox))]);
    copy.push(destination.imaps());
    copy.extend(destination.dst_args());

    for run in ["first run", "second run", "third run"] {
        let output = env.run_owned(&copy);
        assert_exit(&output, 1);
        let events = json_events(&output);
        let done = summary(&events);
        assert_eq!(count(done, "messages_failed"), 1, "{run}: {done}");
        let copied = if run == "first run" { 7 } else { 0 };
        assert_eq!(count(done, "messages_copied"), copied, "{run}: {done}");
        assert!(
            stderr(&output).contains("Quota exceeded"),
            "{run}: {}",
            stderr(&output)
        );
    }
    assert_eq!(destination.count("INBOX"), 7);
    let checkpoint = checkpoint_json(&env);
    assert!(
        checkpoint["folders"]["INBOX"]["done"]["above"].is_object(),
        "the gap is recorded: {checkpoint:#}"
    );
}
