//! A server gets no password until it has proved who it is: certificates
//! that are expired, self-signed (without the CA given), or for another
//! host are refused, with implicit TLS and after STARTTLS/STLS alike, and
//! so are servers that offer only TLS 1.0 or 1.1. Each refusal exits 3 with
//! an error naming the problem, for IMAP and POP3 sources and IMAP
//! destinations. A server that never greets is an endpoint failure too.

use std::path::Path;

use crate::support::tlsserver::{
    openssl_client, CertPair, FakeServer, OnLogin, OpenSslServer, Protocol, TestCerts,
};
use crate::util::{args, assert_exit, path_arg, stderr, TestEnv};

/// The ways to send a password to a TLS server at `port`: (what, argv).
fn runs(
    env: &TestEnv,
    protocol: Protocol,
    port: u16,
    ca: Option<&Path>,
) -> Vec<(String, Vec<String>)> {
    runs_with(env, protocol, port, ca, true)
}

/// [`runs`] with implicit TLS (`imaps://`, `pop3s://`) or STARTTLS/STLS
/// (`imap://`, `pop3://`).
fn runs_with(
    env: &TestEnv,
    protocol: Protocol,
    port: u16,
    ca: Option<&Path>,
    implicit: bool,
) -> Vec<(String, Vec<String>)> {
    let password = path_arg(&env.path("password"));
    let ca_args = |side: &str| match ca {
        Some(ca) => args([format!("--{side}-ca-file"), path_arg(ca)]),
        None => Vec::new(),
    };
    let mut runs = Vec::new();
    let scheme = match (protocol, implicit) {
        (Protocol::Imap, true) => "imaps",
        (Protocol::Imap, false) => "imap",
        (Protocol::Pop3, true) => "pop3s",
        (Protocol::Pop3, false) => "pop3",
    };
    let url = format!("{scheme}://someone@127.0.0.1:{port}");
    let mut copy = args([
        "copy",
        &url,
        &env.endpoint("maildir", "out"),
        "--retries",
        "0",
        "--src-password-file",
        &password,
    ]);
    copy.extend(ca_args("src"));
    runs.push((format!("copy from {url}"), copy));
    if protocol == Protocol::Imap {
        let mut copy = args([
            "copy",
            &env.endpoint("maildir", "src"),
            &url,
            "--retries",
            "0",
            "--dst-password-file",
            &password,
        ]);
        copy.extend(ca_args("dst"));
        runs.push((format!("copy to {url}"), copy));
    }
    runs
}

/// A test directory with a password, a small maildir and the certificates.
fn setup() -> (TestEnv, TestCerts) {
    let env = TestEnv::new();
    let certs = TestCerts::make(&env.path("certs"));
    env.write_secret("password", "Tls-Test-Secret-6Jm1c");
    crate::util::corpus::write_maildir(
        &env.path("src"),
        &crate::util::corpus::synthetic_range(0..2),
    );
    (env, certs)
}

#[test]
fn a_trusted_certificate_gets_through_to_the_login() {
    // The control for the refusals below: the same fake server with a good
    // certificate and its CA completes the handshake and gets a login.
    let (env, certs) = setup();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let server = FakeServer::tls(protocol, OnLogin::Refuse, &certs.good);
        for (what, argv) in runs(&env, protocol, server.port, Some(&certs.ca)) {
            let logins = server.logins();
            let output = env.run_owned(&argv);
            // The fake server refuses every login: exit 7.
            assert_exit(&output, 7);
            assert!(
                stderr(&output).contains("fake server refuses"),
                "{what}: the login reached the server:\n{}",
                stderr(&output)
            );
            assert!(server.logins() > logins, "{what}");
        }
        assert!(server.handshakes() > 0);
    }
}

/// A certificate mailtug must refuse: what it is, which of the
/// [`TestCerts`] the server presents, whether mailtug is given the test CA,
/// and the words one of which its error names.
struct Refusal {
    what: &'static str,
    pair: fn(&TestCerts) -> &CertPair,
    with_ca: bool,
    problem: &'static [&'static str],
}

impl Refusal {
    fn pair<'c>(&self, certs: &'c TestCerts) -> &'c CertPair {
        (self.pair)(certs)
    }

    fn ca<'c>(&self, certs: &'c TestCerts) -> Option<&'c Path> {
        self.with_ca.then_some(certs.ca.as_path())
    }
}

const EXPIRED: Refusal = Refusal {
    what: "an expired certificate",
    pair: |certs| &certs.expired,
    with_ca: true,
    problem: &["expired"],
};

const WRONG_HOST: Refusal = Refusal {
    what: "a certificate for mail.example.org",
    pair: |certs| &certs.wrong_host,
    with_ca: true,
    problem: &["mismatch"],
};

const SELF_SIGNED: Refusal = Refusal {
    what: "a self-signed certificate",
    pair: |certs| &certs.self_signed,
    with_ca: false,
    problem: &["self-signed", "self signed"],
};

/// Asserts every one of `runs` exits 3 with an error about the certificate
/// that names the problem of `refusal`.
#[track_caller]
fn assert_certificate_errors(env: &TestEnv, runs: Vec<(String, Vec<String>)>, refusal: &Refusal) {
    let (what, problem) = (refusal.what, refusal.problem);
    for (run, argv) in runs {
        let output = env.run_owned(&argv);
        assert_exit(&output, 3);
        let err = stderr(&output);
        assert!(
            err.lines().any(|l| l.starts_with("mailtug: error: ")
                && l.contains("certificate")
                && problem.iter().any(|p| l.contains(p))),
            "{what}, {run}: the error names the problem ({problem:?}):\n{err}"
        );
    }
}

/// Asserts `server` got no credentials and completed no handshake.
#[track_caller]
fn assert_no_login_or_handshake(server: &FakeServer, what: &str) {
    assert_eq!(server.logins(), 0, "{what}: credentials were sent");
    assert_eq!(server.handshakes(), 0, "{what}: a handshake completed");
}

/// Asserts every run against a server presenting the certificate of
/// `refusal` over implicit TLS exits 3 with an error naming the problem,
/// before any handshake completes.
fn assert_refused(refusal: &Refusal) {
    let (env, certs) = setup();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let server = FakeServer::tls(protocol, OnLogin::Refuse, refusal.pair(&certs));
        let ca = refusal.ca(&certs);
        assert_certificate_errors(&env, runs(&env, protocol, server.port, ca), refusal);
        assert_no_login_or_handshake(&server, refusal.what);
        assert!(
            server.received().is_empty(),
            "{}: {}",
            refusal.what,
            server.received()
        );
    }
    assert!(
        !env.path("out").exists(),
        "{}: nothing was written",
        refusal.what
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    assert_refused(&EXPIRED);
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    assert_refused(&WRONG_HOST);
}

#[test]
fn a_self_signed_certificate_is_refused_without_its_ca_file() {
    assert_refused(&SELF_SIGNED);
    // Another CA does not vouch for it either.
    assert_refused(&Refusal {
        what: "a self-signed certificate, with another CA file",
        with_ca: true,
        ..SELF_SIGNED
    });
}

#[test]
fn servers_offering_only_tls_1_0_or_1_1_are_refused() {
    let (env, certs) = setup();
    // Old versions need OpenSSL's lowest security level on the server.
    for (version, flag, name) in [("1.0", "-tls1", "TLSv1"), ("1.1", "-tls1_1", "TLSv1.1")] {
        let server = OpenSslServer::start(&certs.good, &[flag, "-cipher", "DEFAULT:@SECLEVEL=0"]);
        // The control: the server really speaks that version.
        let handshake = openssl_client(
            server.port,
            &[
                flag,
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
                "-CAfile",
                &path_arg(&certs.ca),
            ],
        );
        assert!(
            handshake.contains(&format!("Protocol  : {name}\n"))
                && !handshake.contains("Cipher is (NONE)"),
            "openssl s_server {flag} does not speak TLS {version}:\n{handshake}"
        );
        for protocol in [Protocol::Imap, Protocol::Pop3] {
            for (run, argv) in runs(&env, protocol, server.port, Some(&certs.ca)) {
                let output = env.run_owned(&argv);
                assert_exit(&output, 3);
                let err = stderr(&output);
                assert!(
                    err.lines().any(|l| l.starts_with("mailtug: error: ")
                        && l.contains("TLS handshake")
                        && l.contains("protocol")),
                    "TLS {version}, {run}: the error names the protocol problem:\n{err}"
                );
            }
        }
    }
}

#[test]
fn a_server_that_never_greets_is_an_endpoint_failure() {
    // Exit 3, as for any endpoint that cannot be opened, for IMAP as for
    // POP3. However long the timeout, a silent server never answers: 2 s
    // only keeps the test short.
    let (env, certs) = setup();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let server = FakeServer::silent_tls(protocol, &certs.good);
        for (run, mut argv) in runs(&env, protocol, server.port, Some(&certs.ca)) {
            argv.extend(args(["--timeout", "2"]));
            let output = env.run_owned(&argv);
            assert_exit(&output, 3);
            let err = stderr(&output);
            assert!(
                err.lines().any(|l| l.starts_with("mailtug: error: ")
                    && l.contains("no answer")
                    && l.contains("greeting")),
                "{run}: the error says what did not come:\n{err}"
            );
        }
        assert!(server.handshakes() > 0, "the TLS handshake completed");
        assert_eq!(server.logins(), 0);
    }
}

#[test]
fn starttls_and_stls_check_the_certificate_before_any_password_is_sent() {
    let (env, certs) = setup();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        // The control: a good certificate gets through to the login.
        let server = FakeServer::starttls(protocol, OnLogin::Refuse, &certs.good);
        for (run, argv) in runs_with(&env, protocol, server.port, Some(&certs.ca), false) {
            let output = env.run_owned(&argv);
            assert_exit(&output, 7);
            assert!(
                stderr(&output).contains("fake server refuses"),
                "{run}: the login reached the server after STARTTLS:\n{}",
                stderr(&output)
            );
        }
        assert!(server.handshakes() > 0 && server.logins() > 0);

        for refusal in [&EXPIRED, &WRONG_HOST, &SELF_SIGNED] {
            let what = refusal.what;
            let server = FakeServer::starttls(protocol, OnLogin::Refuse, refusal.pair(&certs));
            let ca = refusal.ca(&certs);
            assert_certificate_errors(
                &env,
                runs_with(&env, protocol, server.port, ca, false),
                refusal,
            );
            assert_no_login_or_handshake(&server, what);
            let received = server.received().to_ascii_uppercase();
            for command in ["LOGIN", "AUTHENTICATE", "USER ", "PASS ", "AUTH "] {
                assert!(!received.contains(command), "{what}: {received:?}");
            }
        }
    }
    assert!(!env.path("out").exists());
}
