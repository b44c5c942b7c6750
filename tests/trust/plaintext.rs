//! Passwords never travel unencrypted beyond this machine: `--tls none` is
//! refused for a host that is not loopback, before any credential is sent,
//! and a server that does not offer STARTTLS/STLS gets none either. The
//! IMAP source cases live in `imap::failures`; these add POP3 and the IMAP
//! destination.

use crate::support::tlsserver::{non_loopback_address, FakeServer, OnLogin, Protocol};
use crate::util::{args, assert_exit, path_arg, stderr, stdout, TestEnv};

/// `ls` and `copy` of `url` as a source, and for IMAP `copy` to it, with
/// `extra` options.
fn runs(env: &TestEnv, protocol: Protocol, url: &str, extra: &[&str]) -> Vec<Vec<String>> {
    let password = path_arg(&env.path("password"));
    let mut runs = vec![
        args(["ls", url, "--src-password-file", &password]),
        args([
            "copy",
            url,
            &env.endpoint("maildir", "out"),
            "--src-password-file",
            &password,
        ]),
    ];
    if protocol == Protocol::Imap {
        runs.push(args([
            "copy",
            &env.endpoint("maildir", "src"),
            url,
            "--dst-password-file",
            &password,
        ]));
    }
    for run in &mut runs {
        run.extend(args(extra.iter().copied()));
    }
    runs
}

fn setup(secret: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_secret("password", secret);
    crate::util::corpus::write_maildir(
        &env.path("src"),
        &crate::util::corpus::synthetic_range(0..2),
    );
    env
}

/// Nothing that carries credentials reached `server`.
#[track_caller]
fn assert_no_credentials(server: &FakeServer, what: &str) {
    let received = server.received().to_ascii_uppercase();
    assert_eq!(server.logins(), 0, "{what}: credentials were sent");
    for command in ["LOGIN", "AUTHENTICATE", "USER ", "PASS ", "AUTH "] {
        assert!(
            !received.contains(command),
            "{what}: `{command}` was sent: {received:?}"
        );
    }
}

#[test]
fn tls_none_beyond_loopback_is_refused_for_pop3_and_imap_destinations_before_any_password() {
    let secret = "Plaintext-Beyond-Loopback-5Wn7";
    let env = setup(secret);
    let Some(ip) = non_loopback_address() else {
        // Nothing but loopback: no such server can be reached at all.
        eprintln!("skipped: this machine has no non-loopback address");
        return;
    };
    for protocol in [Protocol::Pop3, Protocol::Imap] {
        let server = FakeServer::plain_on(ip, protocol, OnLogin::Refuse);
        let scheme = match protocol {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        };
        let url = format!("{scheme}://someone@{ip}:{}", server.port);
        for argv in runs(&env, protocol, &url, &["--tls", "none"]) {
            let what = format!("{argv:?}");
            if protocol == Protocol::Imap && argv[1].starts_with("imap") {
                continue; // an IMAP source: `imap::failures` covers it
            }
            let output = env.run_owned(&argv);
            assert_exit(&output, 2);
            let err = stderr(&output);
            assert!(
                err.lines()
                    .any(|l| l.starts_with("mailtug: error: ") && l.contains("loopback")),
                "{what}: the error says why:\n{err}"
            );
            assert!(!err.contains(secret) && !stdout(&output).contains(secret));
        }
        assert_no_credentials(&server, scheme);
    }
    assert!(!env.path("out").exists());
}

#[test]
fn servers_without_starttls_or_stls_get_no_password() {
    let secret = "No-Stls-Secret-2Pz6";
    let env = setup(secret);
    for protocol in [Protocol::Pop3, Protocol::Imap] {
        let server = FakeServer::plain(protocol, OnLogin::Refuse);
        let (scheme, missing) = match protocol {
            Protocol::Imap => ("imap", "STARTTLS"),
            Protocol::Pop3 => ("pop3", "STLS"),
        };
        let url = format!("{scheme}://someone@127.0.0.1:{}", server.port);
        for argv in runs(&env, protocol, &url, &["--retries", "0"]) {
            let argv: Vec<String> = if argv[0] == "ls" {
                argv.into_iter()
                    .filter(|a| a != "--retries" && a != "0")
                    .collect()
            } else {
                argv
            };
            let what = format!("{argv:?}");
            let output = env.run_owned(&argv);
            assert_exit(&output, 3);
            let err = stderr(&output);
            assert!(
                err.lines()
                    .any(|l| l.starts_with("mailtug: error: ") && l.contains(missing)),
                "{what}: the error says why:\n{err}"
            );
            assert!(!err.contains(secret) && !stdout(&output).contains(secret));
        }
        assert_no_credentials(&server, scheme);
    }
}
