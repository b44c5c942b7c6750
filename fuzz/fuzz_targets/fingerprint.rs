//! The fingerprint: Message-ID extraction and the SHA-256 fallback
//! (src/fingerprint.rs), over hostile message bytes.
//!
//! Invariants (the module docs promise them): every byte string has a
//! fingerprint; `Display` and `FromStr` are exact inverses both ways; a
//! message has the same fingerprint with LF or CRLF line ends, and with or
//! without an mbox envelope `From ` line in front; the body offset lies
//! inside the message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailtug::fingerprint::{body_offset, header_value, Fingerprint};

fuzz_target!(|data: &[u8]| {
    let fingerprint = Fingerprint::of(data);

    let text = fingerprint.to_string();
    let parsed: Fingerprint = text
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} does not parse back: {e:#}"));
    assert_eq!(parsed, fingerprint);
    if let Some(id) = fingerprint.message_id() {
        assert!(
            id.starts_with('<') && id.ends_with('>') && id.len() > 2,
            "{id:?}"
        );
        assert!(header_value(data, "Message-ID").is_some());
    }

    // The other way round: whatever parses prints as itself.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = text.parse::<Fingerprint>() {
            assert_eq!(parsed.to_string(), text);
        }
    }

    let body = body_offset(data);
    assert!(body <= data.len());

    // LF and CRLF line ends give the same fingerprint.
    if !data.contains(&b'\r') {
        let mut crlf = Vec::with_capacity(data.len() * 2);
        for &b in data {
            if b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        assert_eq!(Fingerprint::of(&crlf), fingerprint, "CRLF form differs");
    }

    // An mbox envelope line in front is skipped.
    if !data.starts_with(b"From ") {
        let mut enveloped = b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020\n".to_vec();
        enveloped.extend_from_slice(data);
        assert_eq!(
            Fingerprint::of(&enveloped),
            fingerprint,
            "envelope line counted"
        );
    }
});
