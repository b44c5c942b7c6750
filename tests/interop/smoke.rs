//! Smoke tests that prove the harness on each server: a new account logs in
//! over IMAP and POP3 (plain, and implicit TLS with the test CA), NAMESPACE
//! is what each server is known to say, a folder (also a non-ASCII one) can be
//! made, and a message appended with flags and an internal date comes back
//! byte for byte, but for the quirks each server is known for, which are
//! asserted by name.

use crate::support::servers::{ServerAccount, TestServer, PLAINTEXT};
use crate::util::{args, assert_exit, stdout, TestEnv};

/// 2020-09-13 12:26:40 UTC: an internal date no server would pick itself.
const DATE: i64 = 1_600_000_000;

/// A message with CRLF line ends and one raw 8-bit byte (Latin-1 `é`) in a
/// header, as old mail archives hold.
const MESSAGE: &[u8] = b"From: Smoke Test <smoke@example.org>\r\n\
To: someone@example.org\r\n\
Subject: interop smoke\r\n\
Message-ID: <interop-smoke@example.org>\r\n\
X-Raw: caf\xe9\r\n\
Date: Sun, 13 Sep 2020 12:26:40 +0000\r\n\
\r\n\
Body line one.\r\n\
.A line that starts with a dot.\r\n";

/// What NAMESPACE must say: (personal prefix, separator).
fn expected_namespace(server: TestServer) -> (&'static str, char) {
    match server {
        TestServer::Dovecot => ("", '.'),
        TestServer::CyrusSlash => ("", '/'),
        TestServer::CyrusDot | TestServer::Courier => ("INBOX.", '.'),
    }
}

/// Whether the server offers CREATE-SPECIAL-USE: Cyrus does, Courier has no
/// special-use support at all, the test config of Dovecot sets none up.
fn offers_create_special_use(server: TestServer) -> bool {
    matches!(server, TestServer::CyrusSlash | TestServer::CyrusDot)
}

/// The bytes `server` serves back for `MESSAGE`.
fn as_served(server: TestServer) -> Vec<u8> {
    if server.keeps_8bit_headers() {
        MESSAGE.to_vec()
    } else {
        // Cyrus's `munge8bit: yes` (its default, which the harness keeps):
        // each 8-bit header byte becomes `X` on APPEND, the size unchanged.
        MESSAGE
            .iter()
            .map(|&b| if b == 0xe9 { b'X' } else { b })
            .collect()
    }
}

fn smoke(server: TestServer) {
    let env = TestEnv::new();
    let account = server.add_account(&env, "smoke");
    let name = server.name();

    // NAMESPACE, as the server reports it and as the table says.
    let (prefix, separator) = expected_namespace(server);
    let mut client = account.client();
    let namespace = client.namespace();
    assert_eq!(
        (namespace.prefix.as_str(), namespace.separator),
        (prefix, Some(separator)),
        "{name}: NAMESPACE"
    );
    assert_eq!(server.personal_prefix(), prefix, "{name}");
    assert_eq!(server.separator(), separator, "{name}");

    // A folder, a non-ASCII one (sent in modified UTF-7), and one level down.
    let folder = account.server_folder("Smoke");
    let drafts = account.server_folder("Entwürfe");
    for created in [&folder, &drafts] {
        client
            .create(created)
            .unwrap_or_else(|e| panic!("{name}: CREATE `{created}`: {e}"));
    }
    let listed: Vec<String> = client.list().into_iter().map(|e| e.name).collect();
    for expected in ["INBOX", folder.as_str(), drafts.as_str()] {
        assert!(
            listed.iter().any(|l| l == expected),
            "{name}: `{expected}` is not in LIST: {listed:?}"
        );
    }

    // A special-use folder, where CREATE-SPECIAL-USE (RFC 6154) is offered.
    let sent = account.server_folder("Sent Items");
    let offered = client.has_capability("CREATE-SPECIAL-USE");
    assert_eq!(
        offered,
        offers_create_special_use(server),
        "{name}: CREATE-SPECIAL-USE"
    );
    match client.create_special_use(&sent, "\\Sent") {
        Ok(()) => {
            let entry = client.list().into_iter().find(|e| e.name == sent);
            assert!(
                entry.is_some_and(|e| e.attributes.iter().any(|a| a == "\\Sent")),
                "{name}: `{sent}` was created with USE (\\Sent) but LIST does not say so"
            );
        }
        Err(text) => assert!(!offered, "{name}: CREATE-SPECIAL-USE `{sent}`: {text}"),
    }

    // APPEND with flags and a date, read back as served.
    client
        .append(&folder, MESSAGE, &["\\Seen", "\\Flagged"], Some(DATE))
        .unwrap_or_else(|e| panic!("{name}: APPEND to `{folder}`: {e}"));
    let messages = client.messages(&folder);
    assert_eq!(messages.len(), 1, "{name}: messages in `{folder}`");
    let message = &messages[0];
    let mut flags = message.flags.clone();
    flags.sort();
    assert_eq!(flags, ["\\Flagged", "\\Seen"], "{name}: flags");
    assert_eq!(message.internal_date, DATE, "{name}: internal date");
    let expected = as_served(server);
    // The scenarios' general rule agrees with this known value.
    assert_eq!(super::as_stored_by(server, MESSAGE), expected, "{name}");
    assert!(
        message.raw == expected,
        "{name}: the message does not come back as expected{}\n--- expected ---\n{}\n--- served ---\n{}",
        if server.keeps_8bit_headers() {
            ""
        } else {
            " (Cyrus munge8bit: 8-bit header bytes become `X`)"
        },
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(&message.raw)
    );
    // What tests do after killing a client: wait for the folder to settle.
    let status = account.wait_until_settled(&folder);
    assert_eq!(status.messages, 1, "{name}: STATUS {status:?}");
    assert!(status.uidnext > message.uid, "{name}: STATUS {status:?}");

    // POP3 sees INBOX.
    client
        .append("INBOX", MESSAGE, &[], Some(DATE))
        .unwrap_or_else(|e| panic!("{name}: APPEND to INBOX: {e}"));
    client.logout();
    let mut pop3 = account.pop3();
    let (count, size) = pop3.stat();
    assert_eq!(count, 1, "{name}: POP3 STAT");
    assert_eq!(size, expected.len() as u64, "{name}: POP3 STAT size");
    pop3.quit();

    assert_mailtug_lists(&env, &account);
}

/// mailtug itself reaches the account: plaintext with `--tls none`, and
/// implicit TLS verified with the test CA (the harness's side of TLS).
fn assert_mailtug_lists(env: &TestEnv, account: &ServerAccount) {
    let name = account.server.name();
    let mut endpoints = vec![(account.imap_url(), true), (account.pop3_url(), true)];
    endpoints.extend(account.imaps_url().map(|url| (url, false)));
    endpoints.extend(account.pop3s_url().map(|url| (url, false)));
    for (url, plaintext) in endpoints {
        let mut command = args(["ls", url.as_str()]);
        command.extend(account.src_args());
        if plaintext {
            command.extend(args(PLAINTEXT));
        }
        let output = env.run_owned(&command);
        assert_exit(&output, 0);
        assert!(
            stdout(&output).contains("INBOX"),
            "{name}: `mailtug ls {url}` lists no INBOX:\n{}",
            stdout(&output)
        );
    }
}

#[test]
fn dovecot_smoke_login_namespace_create_append_fetch_pop3() {
    smoke(TestServer::Dovecot);
}

#[test]
fn cyrus_slash_smoke_login_namespace_create_append_fetch_pop3() {
    smoke(TestServer::CyrusSlash);
}

#[test]
fn cyrus_dot_smoke_login_namespace_create_append_fetch_pop3() {
    smoke(TestServer::CyrusDot);
}

#[test]
fn courier_smoke_login_namespace_create_append_fetch_pop3() {
    smoke(TestServer::Courier);
}

#[test]
fn server_folder_maps_mailtug_names_onto_each_servers_namespace() {
    let env = TestEnv::new();
    let cases = [
        (TestServer::Dovecot, ["INBOX", "Archive.2023", "INBOX.Sub"]),
        (
            TestServer::CyrusSlash,
            ["INBOX", "Archive/2023", "INBOX/Sub"],
        ),
        (
            TestServer::CyrusDot,
            ["INBOX", "INBOX.Archive.2023", "INBOX.INBOX.Sub"],
        ),
        (
            TestServer::Courier,
            ["INBOX", "INBOX.Archive.2023", "INBOX.INBOX.Sub"],
        ),
    ];
    for (server, [inbox, archive, sub]) in cases {
        let account = server.add_account(&env, "names");
        assert_eq!(account.server_folder("INBOX"), inbox, "{}", server.name());
        assert_eq!(
            account.server_folder("Archive/2023"),
            archive,
            "{}",
            server.name()
        );
        assert_eq!(account.server_folder("INBOX/Sub"), sub, "{}", server.name());
        for name in ["INBOX", "Archive/2023", "INBOX/Sub"] {
            let there = account.server_folder(name);
            assert_eq!(account.mailtug_folder(&there), name, "{}", server.name());
        }
    }
}
