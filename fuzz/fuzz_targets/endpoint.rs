//! Endpoint parsing (src/endpoint.rs): what the user types as SRC and DST.
//!
//! Invariants: nothing panics; a server endpoint has a usable host (non-empty,
//! no whitespace or control characters) and a non-zero port, a POP3 one no
//! folder; its printed (normalised) form parses back to the same endpoint,
//! host case aside, and so prints the same again — the checkpoint is keyed
//! by that text. The input also builds endpoints directly (user and folder
//! are any text), which must survive printing and parsing too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailtug::endpoint::{Endpoint, Remote, Tls};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(endpoint) = Endpoint::parse(text) {
        check_remote(&endpoint);
    }

    // `kind NUL user NUL host NUL folder`: an endpoint built from parts.
    let mut parts = text.split('\0');
    let (Some(kind), Some(user), Some(host), folder) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    if !is_plausible_host(host) {
        return;
    }
    let kind = kind.bytes().next().unwrap_or(0);
    let remote = Remote {
        tls: if kind & 1 == 0 {
            Tls::Implicit
        } else {
            Tls::StartTls
        },
        user: (!user.is_empty()).then(|| user.to_string()),
        host: host.to_string(),
        port: u16::from(kind).max(1) * 7,
        folder: folder.filter(|f| !f.is_empty()).map(str::to_string),
    };
    let endpoint = if kind & 2 == 0 || remote.folder.is_some() {
        Endpoint::Imap(remote)
    } else {
        Endpoint::Pop3(remote)
    };
    let printed = endpoint.normalized();
    match Endpoint::parse(&printed) {
        Ok(parsed) => assert_eq!(
            lowercase_host(parsed),
            lowercase_host(endpoint),
            "{printed:?}"
        ),
        Err(e) => panic!("{endpoint:?} prints as {printed:?}, which does not parse: {e:#}"),
    }
});

/// A host name as DNS or an IP literal could have it.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'))
}

fn lowercase_host(endpoint: Endpoint) -> Endpoint {
    match endpoint {
        Endpoint::Imap(mut remote) => {
            remote.host.make_ascii_lowercase();
            Endpoint::Imap(remote)
        }
        Endpoint::Pop3(mut remote) => {
            remote.host.make_ascii_lowercase();
            Endpoint::Pop3(remote)
        }
        other => other,
    }
}

fn check_remote(endpoint: &Endpoint) {
    let (Endpoint::Imap(remote) | Endpoint::Pop3(remote)) = endpoint else {
        return;
    };
    assert!(!remote.host.is_empty());
    assert!(
        !remote
            .host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control()),
        "{remote:?}"
    );
    assert_ne!(remote.port, 0);
    if matches!(endpoint, Endpoint::Pop3(_)) {
        assert_eq!(remote.folder, None);
    }
    if let Some(user) = &remote.user {
        assert!(!user.is_empty());
    }
    let printed = endpoint.normalized();
    assert_eq!(endpoint.to_string(), printed);
    let parsed = Endpoint::parse(&printed).unwrap_or_else(|e| {
        panic!("{endpoint:?} prints as {printed:?}, which does not parse: {e:#}")
    });
    assert_eq!(parsed.normalized(), printed, "normalised twice differs");
    assert_eq!(
        lowercase_host(parsed),
        lowercase_host(endpoint.clone()),
        "{printed:?}"
    );
}
