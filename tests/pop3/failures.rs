//! Connecting and logging in to POP3 servers, and what goes wrong there:
//! TLS (STLS, POP3S, plaintext on loopback), certificates, passwords, login
//! mechanisms, and two runs of one job at the same time.

use crate::util::{
    assert_exit, assert_same_snapshot, count, json_events, snapshot, stderr, stdout, summary,
    TestEnv,
};

use super::{
    args, assert_same_raws, copy_args, log_mark, logins_since, maildir_inbox, mails, message_ids,
    path_arg, server, sessions_since, wait_until_stopped, Mailbox,
};

#[test]
fn stls_pop3s_and_plaintext_on_loopback_each_fetch_the_mailbox() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "tls-src", None);
    let raws = mails("tls", 4, 800);
    source.load(&raws);

    let cases: [(&str, String, &[&str], &str); 3] = [
        ("STLS", source.pop3(), &[], "TLS"),
        ("POP3S", source.pop3s(), &[], "TLS"),
        // Plaintext: no CA needed, and loopback only.
        ("--tls none", source.pop3(), &["--tls", "none"], "secured"),
    ];
    for (n, (what, url, extra, security)) in cases.iter().enumerate() {
        let out = format!("out-{n}");
        let mut copy = args(["--json", "copy", url, &env.endpoint("maildir", &out)]);
        copy.extend(args([
            "--src-password-file",
            &path_arg(&source.password_file),
        ]));
        if extra.is_empty() {
            copy.extend(args(["--src-ca-file", &path_arg(server.ca_file())]));
        }
        copy.extend(args(extra.iter().copied()));
        let mark = log_mark(server);
        let events = env.run_json_owned(&copy, 0);
        assert_eq!(count(summary(&events), "messages_copied"), 4, "{what}");
        assert_same_raws(&raws, &maildir_inbox(&env.path(&out)), what);
        // Dovecot's login line says how the session was protected: `TLS`,
        // or `secured` for plaintext it trusts (loopback).
        let logins = logins_since(server, mark, source.name());
        assert!(!logins.is_empty(), "{what}: no login logged");
        for line in &logins {
            let fields: Vec<&str> = line.split(", ").collect();
            assert!(fields.contains(security), "{what}: {line}");
            if *security != "TLS" {
                assert!(!fields.contains(&"TLS"), "{what}: {line}");
            }
        }
    }
    assert_eq!(source.count(), 4);
}

#[test]
fn a_server_certificate_from_an_unknown_ca_is_refused_before_logging_in() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "untrusted-src", None);
    source.load(&mails("untrusted", 2, 500));
    let password = path_arg(&source.password_file);

    for (what, url) in [("POP3S", source.pop3s()), ("STLS", source.pop3())] {
        let mark = log_mark(server);
        let copy = args([
            "copy",
            &url,
            &env.endpoint("maildir", "out"),
            "--src-password-file",
            &password,
        ]);
        let output = env.run_owned(&copy);
        assert_exit(&output, 3);
        let text = stderr(&output);
        assert!(
            text.lines().any(|l| l.starts_with("mailtug: error: ")
                && l.contains("certificate")
                && l.contains("--src-ca-file")),
            "{what}: the error says why and what to do:\n{text}"
        );
        assert!(
            logins_since(server, mark, source.name()).is_empty(),
            "{what}: the password was not sent"
        );
        assert!(!env.path("out").exists(), "{what}: nothing was written");
    }

    // --insecure accepts it, with a warning.
    let copy = args([
        "copy",
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        "--src-password-file",
        &password,
        "--insecure",
    ]);
    let output = env.run_owned(&copy);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("warning: --insecure"),
        "{}",
        stderr(&output)
    );
    assert_eq!(maildir_inbox(&env.path("out")).len(), 2);
}

#[test]
fn a_wrong_password_exits_7_with_the_servers_words_and_never_the_password() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "wrong-password", None);
    source.load(&mails("wrong", 2, 500));
    let wrong = "Wr0ng-P0p3-Passw0rd-Qux-8812";
    let wrong_file = path_arg(&env.write_secret("wrong.password", wrong));
    let ca = path_arg(server.ca_file());

    let mut runs: Vec<(String, Vec<String>)> = Vec::new();
    for extra in [
        &[][..],
        &["-vv"],
        &["--json"],
        &["--json", "-vv"],
        &["-vv", "--src-auth", "user"],
        &["-vv", "--src-auth", "plain"],
    ] {
        for url in [source.pop3s(), source.pop3()] {
            let mut copy = args(["copy", &url, &env.endpoint("maildir", "out")]);
            copy.extend(args([
                "--src-password-file",
                &wrong_file,
                "--src-ca-file",
                &ca,
            ]));
            copy.extend(args(extra.iter().copied()));
            runs.push((format!("copy from {url} {extra:?}"), copy));
        }
    }
    let ls = args([
        "-vv",
        "ls",
        &source.pop3s(),
        "--src-password-file",
        &wrong_file,
        "--src-ca-file",
        &ca,
    ]);
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
                .any(|l| l.starts_with("mailtug: error: ") && l.contains(source.name())),
            "{what}: the error names the account:\n{err}"
        );
        for secret in [wrong, source.password()] {
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
        if argv.iter().any(|a| a == "user") {
            // -vv shows the dialogue, but the PASS line never.
            assert!(err.contains("C: USER "), "{what}: {err}");
            assert!(!err.contains("PASS"), "{what}: {err}");
        }
    }
    assert!(!env.path("out").exists(), "nothing was written");
    assert_eq!(source.count(), 2);
}

#[test]
fn each_login_mechanism_the_server_offers_works_and_apop_is_refused_clearly() {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "mechanisms", None);
    source.load(&mails("mechanism", 3, 500));
    for mechanism in ["auto", "plain", "user", "login"] {
        let mut ls = args(["--json", "ls", &source.pop3s(), "--src-auth", mechanism]);
        ls.extend(source.src_args());
        let events = env.run_json_owned(&ls, 0);
        assert_eq!(
            count(summary(&events), "messages"),
            3,
            "--src-auth {mechanism}"
        );
    }
    // Dovecot's greeting carries no APOP timestamp.
    let mut ls = args(["ls", &source.pop3s(), "--src-auth", "apop"]);
    ls.extend(source.src_args());
    let output = env.run_owned(&ls);
    assert_exit(&output, 3);
    assert!(
        stderr(&output).contains("does not offer APOP"),
        "{}",
        stderr(&output)
    );
}

/// Runs the same job twice at once: the first frozen with SIGSTOP after its
/// first committed batch, the second started meanwhile. The first cannot
/// finish before it is frozen: the test reads its stdout only up to the
/// first event, and 1,000 `message` events (over 100 KiB) do not fit in
/// the pipe.
fn concurrent_runs(lock_on_server: bool) {
    let env = TestEnv::new();
    let server = server();
    let source = Mailbox::new(&env, server, "concurrent-src", None);
    if lock_on_server {
        source.lock_pop3_sessions();
    }
    let raws = mails("concurrent", 1000, 300);
    source.load(&raws);
    let copy = copy_args(
        &source,
        &source.pop3s(),
        &env.endpoint("maildir", "out"),
        &[],
    );
    let argv: Vec<&str> = copy.iter().map(String::as_str).collect();

    let mut first = env.spawn(&argv);
    assert!(first.wait_for_messages(1), "the first run ended early");
    first.signal("STOP");
    wait_until_stopped(first.pid());
    let before = snapshot(&env.path("out"));
    let mark = log_mark(server);

    let output = env.run_owned(&copy);
    assert_exit(&output, 5);
    let text = stderr(&output);
    assert!(
        text.lines().any(|l| l.starts_with("mailtug: error: ")
            && l.contains("another mailtug run of this job is in progress")),
        "the second run says why it stops:\n{text}"
    );
    assert_same_snapshot(&before, &snapshot(&env.path("out")), "the second run");
    if lock_on_server {
        assert!(
            logins_since(server, mark, source.name()).is_empty(),
            "the second run stops before logging in"
        );
    }
    for session in sessions_since(server, mark, source.name()) {
        assert_eq!((session.retr, session.del), (0, 0), "{}", session.line);
    }

    first.signal("CONT");
    let finished = first.finish();
    finished.assert_exit(0);

    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    let stored = maildir_inbox(&env.path("out"));
    assert_eq!(
        message_ids(&stored),
        message_ids(&raws),
        "each message once"
    );
    assert_same_raws(&raws, &stored, "after both runs");
    assert_eq!(source.count(), 1000);
}

#[test]
fn a_second_run_of_the_same_job_exits_5_while_the_first_is_frozen() {
    concurrent_runs(false);
}

/// RFC 1939 §4 servers lock the maildrop for the whole session; the job's
/// own lock must still be what a concurrent run reports (exit 5, at once),
/// not the server's `[IN-USE]` refusal after its lock wait (exit 3).
#[test]
fn a_second_run_exits_5_also_when_the_server_locks_the_maildrop() {
    concurrent_runs(true);
}
