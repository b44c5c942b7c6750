//! The fingerprint: the key mailtug deduplicates messages by.
//!
//! It exists because the same message must be recognised wherever it is
//! stored: fetched over IMAP with CRLF line ends, kept in a maildir with LF,
//! or written to an mbox that added a `Status:` header. Only the Message-ID
//! (or, failing that, a hash of what a store never rewrites) is common to all
//! of them.
//!
//! Invariant: the fingerprint depends only on the raw bytes, by the rules
//! below, and never on the store, the platform or the mailtug release; its
//! string form (`Display`, also used in JSON checkpoint files) is stable and
//! `FromStr` is its exact inverse. Hostile input never panics: every byte
//! string has a fingerprint.
//!
//! # Rules
//!
//! **Header section.** The header section ends at the first empty line (`\n`
//! or `\r\n`); the body starts right after it. A line that is neither a header
//! field (a name, optional spaces or tabs, then `:`) nor the continuation of
//! one (a line starting with a space or tab) also ends the header section, and
//! that line is the first line of the body: a file of plain text without
//! headers is then hashed whole instead of colliding with every other such
//! file (Python's `email` parser does the same). A first line starting with
//! `From ` (an mbox envelope line) is skipped. A message without an empty line
//! whose lines are all header fields has an empty body. Header names match
//! case-insensitively, and `Message-ID : <x>` (space before the colon) counts.
//! Continuation lines are unfolded (line ends removed), and a value is trimmed
//! of leading and trailing whitespace.
//!
//! **Message-ID.** Only the first `Message-ID` header counts. In its value,
//! the id is the text from the first `<` to the next `>`, with all whitespace
//! inside removed (so a fold inside the id disappears) and the angle brackets
//! kept. If the value has no `<` at all, the value with whitespace and
//! comments in parentheses removed is used when it has the form `local@domain`
//! (both parts non-empty), and gets angle brackets. The part after the last
//! `@` is ASCII-lowercased; the local part keeps its case. An id without `@`
//! inside brackets, such as `<abc>`, is accepted as is (some mailers write
//! them). Encoded words (`=?utf-8?…?=`) are never decoded. Every byte above
//! 0x7f counts as `X` (see **Server rewrites**), so two ids that differ only
//! in such bytes at the same places are the same id.
//!
//! The Message-ID is unparseable, and the fallback below is used, when the
//! header is missing, its value is empty, the brackets are empty (`<>`), a
//! `<` has no `>` after it, or a value without brackets is not `local@domain`.
//!
//! **Fallback.** SHA-256 over: for each of the headers Date, From, To, Cc and
//! Subject, in that order, the lowercase name, `:`, the unfolded trimmed value
//! of the first such header (empty if absent, every byte above 0x7f counted
//! as `X`) and `\n`; then one `\n`; then the body bytes with every CRLF
//! turned into LF. So a message fetched with CRLF and stored with LF has the
//! same fingerprint, and headers an mbox writer adds (such as `Status:`) do
//! not change it.
//!
//! **Server rewrites.** A fingerprint must survive what servers are known
//! to do to a message they store, or a rerun after a crash would not find it
//! and would store it again. Cyrus IMAP (`munge8bit`, on by default)
//! replaces every raw 8-bit byte in the header section with `X`; that is
//! why header bytes above 0x7f count as `X` here. Bodies are kept as sent
//! by every server mailtug is tested against (Dovecot, Cyrus, Courier).
//! These are fingerprint rules 2 ([`RULES`]); rules 1 took such bytes as
//! they came.
//!
//! **String form.** A Message-ID fingerprint is the id itself
//! (`<abc@example.org>`); a hash is `sha256:` and 64 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use anyhow::bail;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The dedup key of one message. See the module docs for how it is computed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fingerprint {
    /// A normalised Message-ID with its angle brackets: `<abc@example.org>`.
    /// Values not made by [`Fingerprint::of`] may not survive a `FromStr`
    /// round trip.
    MessageId(String),
    /// SHA-256 over the fallback input (selected headers and the LF body).
    Sha256([u8; 32]),
}

/// The version of the rules above. Fingerprints are persisted (destination
/// indexes in checkpoints), and ones made by other rules must be made again.
pub const RULES: u32 = 2;

/// The headers the fallback hash covers, in hashing order.
const FALLBACK_HEADERS: [&str; 5] = ["date", "from", "to", "cc", "subject"];

const SHA256_PREFIX: &str = "sha256:";

impl Fingerprint {
    /// The fingerprint of a raw RFC 5322 message (bytes, any of CRLF/LF line ends).
    pub fn of(raw: &[u8]) -> Fingerprint {
        let mut fallback: [Option<&[u8]>; 5] = [None; 5];
        let mut seen_message_id = false;
        let mut fields = Fields::new(raw);
        for field in fields.by_ref() {
            if !seen_message_id && field.name.eq_ignore_ascii_case(b"message-id") {
                // Only the first Message-ID header counts, even if it is unparseable:
                // taking a later one would let a second header change the key.
                seen_message_id = true;
                if let Some(id) = normalize_message_id(&as_munged(unfold(field.value))) {
                    return Fingerprint::MessageId(id);
                }
            }
            for (slot, name) in fallback.iter_mut().zip(FALLBACK_HEADERS) {
                if slot.is_none() && field.name.eq_ignore_ascii_case(name.as_bytes()) {
                    *slot = Some(field.value);
                }
            }
        }
        let body = raw.get(fields.finish()..).unwrap_or_default();

        let mut hasher = Sha256::new();
        for (value, name) in fallback.iter().zip(FALLBACK_HEADERS) {
            hasher.update(name.as_bytes());
            hasher.update(b":");
            if let Some(value) = value {
                hasher.update(as_munged(unfold(value)));
            }
            hasher.update(b"\n");
        }
        hasher.update(b"\n");
        update_with_lf_body(&mut hasher, body);
        Fingerprint::Sha256(hasher.finalize().into())
    }

    /// The normalised Message-ID, if this fingerprint is one.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Fingerprint::MessageId(id) => Some(id),
            Fingerprint::Sha256(_) => None,
        }
    }
}

/// A header value with every byte above 0x7f as `X`, as Cyrus stores it.
fn as_munged(mut value: Vec<u8>) -> Vec<u8> {
    for byte in &mut value {
        if *byte > 0x7f {
            *byte = b'X';
        }
    }
    value
}

/// Feeds `body` to the hasher with every CRLF turned into LF, without copying
/// the body: LF files go in as one slice.
fn update_with_lf_body(hasher: &mut Sha256, body: &[u8]) {
    let mut rest = body;
    let mut from = 0;
    while let Some(cr) = rest
        .get(from..)
        .and_then(|r| r.iter().position(|&b| b == b'\r'))
    {
        let cr = from + cr;
        if rest.get(cr + 1) == Some(&b'\n') {
            hasher.update(&rest[..cr]);
            rest = &rest[cr + 1..];
            from = 0;
        } else {
            // A lone CR is content, not a line end.
            from = cr + 1;
        }
    }
    hasher.update(rest);
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fingerprint::MessageId(id) => f.write_str(id),
            Fingerprint::Sha256(digest) => {
                // sha2 0.11 digests have no `LowerHex`, and the array never had one.
                f.write_str(SHA256_PREFIX)?;
                for byte in digest {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Fingerprint {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Fingerprint> {
        if let Some(hex) = s.strip_prefix(SHA256_PREFIX) {
            return match parse_lower_hex(hex) {
                Some(digest) => Ok(Fingerprint::Sha256(digest)),
                None => bail!(
                    "`{s}` is not a fingerprint: `sha256:` must be followed by \
                     64 lowercase hex digits"
                ),
            };
        }
        if is_normalized_message_id(s) {
            return Ok(Fingerprint::MessageId(s.to_string()));
        }
        bail!(
            "`{s}` is not a fingerprint: expected a Message-ID such as `<id@example.org>` \
             or `sha256:` and 64 hex digits"
        )
    }
}

fn parse_lower_hex(hex: &str) -> Option<[u8; 32]> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(digest)
}

/// Whether `s` could have come out of [`normalize_message_id`]: brackets
/// around a non-empty id without `>` or whitespace, lowercase after the last `@`.
fn is_normalized_message_id(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let domain = inner.rsplit_once('@').map_or("", |(_, domain)| domain);
    !inner.is_empty()
        && !inner.bytes().any(|b| b == b'>' || b.is_ascii_whitespace())
        && !domain.bytes().any(|b| b.is_ascii_uppercase())
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fingerprint, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Fingerprint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fingerprint string (`<id@domain>` or `sha256:<hex>`)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fingerprint, E> {
                v.parse().map_err(|e| E::custom(format!("{e:#}")))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The unfolded value of the first header named `name` (case-insensitive), raw bytes,
/// leading/trailing whitespace trimmed.
pub fn header_value(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    Fields::new(raw)
        .find(|field| field.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|field| unfold(field.value))
}

/// Byte offset where the body starts (just after the blank line ending the header section), or
/// raw.len() if there is none.
///
/// A line that is not a header field ends the header section too, and the
/// body starts at that line (see the module docs).
pub fn body_offset(raw: &[u8]) -> usize {
    Fields::new(raw).finish()
}

/// One header field as it sits in the message.
struct Field<'a> {
    /// The name, without the spaces or tabs before the colon.
    name: &'a [u8],
    /// Everything after the colon up to the end of the last continuation
    /// line, line ends included; [`unfold`] turns it into the value.
    value: &'a [u8],
}

/// Iterates over the header fields of a message without allocating, and
/// finds where the body starts.
struct Fields<'a> {
    raw: &'a [u8],
    /// Start of the next line to look at.
    pos: usize,
    /// Whether `pos` is the first line (where an mbox `From ` line may sit).
    at_first_line: bool,
    /// Set once the header section has ended: where the body starts.
    body: Option<usize>,
}

impl<'a> Fields<'a> {
    fn new(raw: &'a [u8]) -> Fields<'a> {
        Fields {
            raw,
            pos: 0,
            at_first_line: true,
            body: None,
        }
    }

    /// Reads to the end of the header section and returns where the body starts.
    fn finish(mut self) -> usize {
        for _ in self.by_ref() {}
        self.body.unwrap_or(self.raw.len())
    }

    fn end_headers(&mut self, body: usize) -> Option<Field<'a>> {
        self.body = Some(body);
        None
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let raw = self.raw;
        while self.body.is_none() {
            let start = self.pos;
            if start >= raw.len() {
                return self.end_headers(raw.len());
            }
            let next = line_end(raw, start);
            let line = strip_line_end(raw.get(start..next).unwrap_or_default());
            let at_first_line = std::mem::replace(&mut self.at_first_line, false);
            if line.is_empty() {
                return self.end_headers(next);
            }
            if let Some(colon) = field_colon(line) {
                // RFC 5322 §2.2.3: a line starting with WSP continues the field.
                let mut end = next;
                while matches!(raw.get(end), Some(b' ' | b'\t')) {
                    end = line_end(raw, end);
                }
                self.pos = end;
                return Some(Field {
                    name: line.get(..colon).unwrap_or_default().trim_ascii_end(),
                    value: raw.get(start + colon + 1..end).unwrap_or_default(),
                });
            }
            if at_first_line && line.starts_with(b"From ") {
                // RFC 4155 envelope line left in front of a message.
                self.pos = next;
                continue;
            }
            // Not a field, not a continuation of one: the body starts here.
            return self.end_headers(start);
        }
        None
    }
}

/// The index just after the `\n` ending the line that starts at `start`, or
/// the end of `raw` for a last line without one.
fn line_end(raw: &[u8], start: usize) -> usize {
    raw.get(start..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(raw.len(), |i| start + i + 1)
}

/// The line without its `\n` or `\r\n`.
fn strip_line_end(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
        None => line,
    }
}

/// If `line` starts a header field, the index of its colon. A name is at
/// least one byte that is not a control character, space or colon (8-bit
/// bytes are tolerated); spaces or tabs may follow it before the colon.
fn field_colon(line: &[u8]) -> Option<usize> {
    let is_name_byte = |b: u8| b > b' ' && b != 0x7f && b != b':';
    let name_len = line.iter().position(|&b| !is_name_byte(b))?;
    if name_len == 0 {
        return None;
    }
    let rest = line.get(name_len..)?;
    let blanks = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (rest.get(blanks) == Some(&b':')).then_some(name_len + blanks)
}

/// RFC 5322 §2.2.3 unfolding (line ends removed, the whitespace after them
/// kept), then leading and trailing whitespace trimmed.
fn unfold(value: &[u8]) -> Vec<u8> {
    let value = value.trim_ascii();
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let line = rest.get(..lf).unwrap_or_default();
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = rest.get(lf + 1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// The normalised Message-ID in an unfolded header value, or None if it is
/// unparseable (see the module docs).
fn normalize_message_id(value: &[u8]) -> Option<String> {
    let mut id: Vec<u8> = match value.iter().position(|&b| b == b'<') {
        Some(open) => {
            let after = value.get(open + 1..)?;
            let close = after.iter().position(|&b| b == b'>')?;
            without_whitespace(after.get(..close)?)
        }
        None => {
            let bare = without_whitespace(&without_comments(value));
            let at = bare.iter().rposition(|&b| b == b'@')?;
            if at == 0 || at + 1 == bare.len() || bare.contains(&b'>') {
                return None;
            }
            bare
        }
    };
    if id.is_empty() {
        return None;
    }
    // RFC 5321 §2.4: domains are case-insensitive, local parts are not.
    if let Some(at) = id.iter().rposition(|&b| b == b'@') {
        if let Some(domain) = id.get_mut(at + 1..) {
            domain.make_ascii_lowercase();
        }
    }
    let id = String::from_utf8_lossy(&id);
    let mut out = String::with_capacity(id.len() + 2);
    out.push('<');
    out.push_str(&id);
    out.push('>');
    Some(out)
}

fn without_whitespace(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

/// Removes RFC 5322 §3.2.2 comments: nested parentheses, with `\` quoting
/// inside them. An unclosed comment runs to the end.
fn without_comments(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for &b in bytes {
        if depth == 0 {
            if b == b'(' {
                depth = 1;
            } else {
                out.push(b);
            }
        } else if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'(' {
            depth += 1;
        } else if b == b')' {
            depth -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_of(input: &[u8]) -> Fingerprint {
        Fingerprint::Sha256(Sha256::digest(input).into())
    }

    /// A Sha256 fingerprint, whatever its value.
    const HASH: Option<&str> = None;

    #[test]
    fn message_ids_are_extracted_and_normalised() {
        // (case, raw message, expected Message-ID or HASH for the fallback)
        let cases: &[(&str, &[u8], Option<&str>)] = &[
            (
                "plain",
                b"Message-ID: <abc@example.org>\n\nbody\n",
                Some("<abc@example.org>"),
            ),
            ("folded", b"Message-ID:\n\t<x@y>\n\nb\n", Some("<x@y>")),
            (
                "fold inside the id",
                b"Message-ID: <a\n @b>\n\n",
                Some("<a@b>"),
            ),
            (
                "fold inside the id, crlf",
                b"Message-ID: <a\r\n\t@b>\r\n\r\n",
                Some("<a@b>"),
            ),
            (
                "spaces inside the id",
                b"Message-ID: < a @ b >\n\n",
                Some("<a@b>"),
            ),
            (
                "comments around",
                b"Message-ID: (first) <a@b> (second)\n\n",
                Some("<a@b>"),
            ),
            ("no brackets", b"Message-ID: a@b\n\n", Some("<a@b>")),
            (
                "no brackets, comments",
                b"Message-ID: (c) a@b (x(y)z)\n\n",
                Some("<a@b>"),
            ),
            (
                "no brackets, domain case",
                b"Message-ID: Abc@EXAMPLE.org\n\n",
                Some("<Abc@example.org>"),
            ),
            ("no brackets, no at", b"Message-ID: abc\n\n", HASH),
            ("no brackets, empty local", b"Message-ID: @b\n\n", HASH),
            ("no brackets, empty domain", b"Message-ID: a@\n\n", HASH),
            (
                "no brackets, only a comment",
                b"Message-ID: (a@b)\n\n",
                HASH,
            ),
            ("stray closing bracket", b"Message-ID: a@b>\n\n", HASH),
            (
                "duplicate header: first wins",
                b"Message-ID: <one@x>\nMessage-ID: <two@x>\n\n",
                Some("<one@x>"),
            ),
            (
                "two ids in one header",
                b"Message-ID: <one@x> <two@x>\n\n",
                Some("<one@x>"),
            ),
            (
                "encoded word kept raw",
                b"Message-ID: <=?utf-8?q?ew?=@X>\n\n",
                Some("<=?utf-8?q?ew?=@x>"),
            ),
            (
                "encoded word never decoded",
                b"Message-ID: =?utf-8?b?PGV3QHg+?=\n\n",
                HASH,
            ),
            (
                "space before colon",
                b"Message-ID : <x@y>\n\n",
                Some("<x@y>"),
            ),
            (
                "tab before colon",
                b"Message-ID\t: <x@y>\n\n",
                Some("<x@y>"),
            ),
            (
                "name in other case",
                b"message-id: <x@y>\n\n",
                Some("<x@y>"),
            ),
            (
                "name in upper case",
                b"MESSAGE-ID: <x@y>\n\n",
                Some("<x@y>"),
            ),
            (
                "headers only, no blank line",
                b"Subject: s\nMessage-ID: <x@y>",
                Some("<x@y>"),
            ),
            (
                "headers only, final newline",
                b"Subject: s\r\nMessage-ID: <x@y>\r\n",
                Some("<x@y>"),
            ),
            ("8-bit id", b"Message-ID: <caf\xe9@x>\n\n", Some("<cafX@x>")),
            (
                "utf-8 id",
                "Message-ID: <café@Bücher.example>\n\n".as_bytes(),
                Some("<cafXX@bxxcher.example>"),
            ),
            (
                "domain case",
                b"Message-ID: <AbC@Example.ORG>\n\n",
                Some("<AbC@example.org>"),
            ),
            (
                "case after the last at",
                b"Message-ID: <A@B@C.D>\n\n",
                Some("<A@B@c.d>"),
            ),
            ("id without at", b"Message-ID: <abc>\n\n", Some("<abc>")),
            ("empty value", b"Message-ID:\n\nbody\n", HASH),
            ("blank value", b"Message-ID:   \n\nbody\n", HASH),
            ("empty brackets", b"Message-ID: <>\n\nbody\n", HASH),
            (
                "brackets around whitespace",
                b"Message-ID: < \n >\n\nbody\n",
                HASH,
            ),
            ("unclosed bracket", b"Message-ID: <abc@x\n\n", HASH),
            (
                "first header unparseable, second ignored",
                b"Message-ID: <>\nMessage-ID: <b@x>\n\n",
                HASH,
            ),
            ("missing header", b"Subject: s\n\nbody\n", HASH),
            (
                "body-only message",
                b"just some text\nMessage-ID: <x@y>\n",
                HASH,
            ),
            (
                "header after the blank line",
                b"Subject: s\n\nMessage-ID: <x@y>\n",
                HASH,
            ),
            (
                "other id headers do not count",
                b"Resent-Message-ID: <r@x>\nX-Message-ID: <x@x>\nMessage-IDs: <s@x>\n\n",
                HASH,
            ),
            (
                "mbox From_ line skipped",
                b"From a@b Wed Jan  1 10:00:00 2020\nMessage-ID: <x@y>\n\n",
                Some("<x@y>"),
            ),
            ("empty message", b"", HASH),
        ];
        for (case, raw, expected) in cases {
            let got = Fingerprint::of(raw);
            match expected {
                Some(id) => assert_eq!(got.message_id(), Some(*id), "{case}"),
                None => assert!(matches!(got, Fingerprint::Sha256(_)), "{case}: got {got}"),
            }
        }
    }

    #[test]
    fn fallback_hashes_the_documented_input() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            (
                "crlf message with extra headers",
                b"Subject: Hi\r\nFrom: a@b\r\nStatus: RO\r\n\r\nline1\r\nline2\r\n",
                b"date:\nfrom:a@b\nto:\ncc:\nsubject:Hi\n\nline1\nline2\n",
            ),
            (
                "folded values are unfolded and trimmed",
                b"To:  x@y,\n  z@w \nSubject:\tHello\n world\n\n",
                b"date:\nfrom:\nto:x@y,  z@w\ncc:\nsubject:Hello world\n\n",
            ),
            (
                "first of each header, any case",
                b"DATE: d1\ncc: c1\nDate: d2\nFROM: f\n\nb",
                b"date:d1\nfrom:f\nto:\ncc:c1\nsubject:\n\nb",
            ),
            (
                "headers only: empty body",
                b"Subject: s",
                b"date:\nfrom:\nto:\ncc:\nsubject:s\n\n",
            ),
            (
                "lone cr is kept",
                b"Subject: s\n\na\rb\r\r\nc\r",
                b"date:\nfrom:\nto:\ncc:\nsubject:s\n\na\rb\r\nc\r",
            ),
            (
                "body-only message is hashed whole",
                b"no headers here\r\nat all\r\n",
                b"date:\nfrom:\nto:\ncc:\nsubject:\n\nno headers here\nat all\n",
            ),
            (
                "body after an empty first line",
                b"\nbody",
                b"date:\nfrom:\nto:\ncc:\nsubject:\n\nbody",
            ),
            (
                "8-bit header bytes count as X, 8-bit body bytes as they are",
                "Subject: Grüße\nFrom: Zoë <z@x>\n\nGrüße\n".as_bytes(),
                "date:\nfrom:ZoXX <z@x>\nto:\ncc:\nsubject:GrXXXXe\n\nGrüße\n".as_bytes(),
            ),
        ];
        for (case, raw, input) in cases {
            assert_eq!(Fingerprint::of(raw), sha256_of(input), "{case}");
        }
    }

    #[test]
    fn fallback_hash_is_pinned_across_releases() {
        // Checkpoint files store these strings: a change here breaks resumes.
        let cases: &[(&[u8], &str)] = &[
            (
                b"Subject: Hi\r\nFrom: a@b\r\n\r\nline1\r\nline2\r\n",
                "sha256:6ccb590dbf644bafd6b59b2b7ef628659b5d9c2898a082874307e2918d042965",
            ),
            (
                b"",
                "sha256:5b252c52c10ba7916d3fc03e6cca71bea49320d3263558a4958406572a47d90d",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(Fingerprint::of(raw).to_string(), *expected);
        }
    }

    #[test]
    fn equivalent_messages_share_a_fingerprint() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            (
                "crlf and lf give the same fallback hash",
                b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@b\r\nSubject: x\r\n\r\nline\r\n\r\nmore\r\n",
                b"Date: Mon, 1 Jan 2024 10:00:00 +0000\nFrom: a@b\nSubject: x\n\nline\n\nmore\n",
            ),
            (
                "a Status header does not change the fallback",
                b"From: a@b\nSubject: x\n\nbody\n",
                b"From: a@b\nStatus: RO\nX-Status: A\nSubject: x\n\nbody\n",
            ),
            (
                "an mbox From_ line does not change the fallback",
                b"From: a@b\n\nbody\n",
                b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020\nFrom: a@b\n\nbody\n",
            ),
            (
                "header order does not change the fallback",
                b"From: a@b\nSubject: x\n\nbody\n",
                b"Subject: x\nFrom: a@b\n\nbody\n",
            ),
            (
                "folding does not change the fallback",
                b"Subject: a b\n\nbody\n",
                b"Subject: a\n b\n\nbody\n",
            ),
            (
                "other headers do not change a Message-ID",
                b"Message-ID: <x@y>\nSubject: a\n\none\n",
                b"Subject: b\nmessage-id:\n <x@Y>\n\ntwo\n",
            ),
            (
                "Cyrus's munge8bit does not change the fallback",
                "Subject: Café\nFrom: a@b\n\nbody é\n".as_bytes(),
                "Subject: CafXX\nFrom: a@b\n\nbody é\n".as_bytes(),
            ),
            (
                "Cyrus's munge8bit does not change a Message-ID",
                "Message-ID: <é1@x>\n\n".as_bytes(),
                "Message-ID: <XX1@x>\n\n".as_bytes(),
            ),
        ];
        for (case, a, b) in cases {
            assert_eq!(Fingerprint::of(a), Fingerprint::of(b), "{case}");
        }
    }

    #[test]
    fn different_messages_get_different_fingerprints() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            (
                "different bodies",
                b"Subject: x\n\none\n",
                b"Subject: x\n\ntwo\n",
            ),
            ("body-only messages", b"one\n", b"two\n"),
            (
                "different subjects",
                b"Subject: x\n\nb\n",
                b"Subject: y\n\nb\n",
            ),
            (
                "trailing whitespace in the body",
                b"Subject: x\n\nb\n",
                b"Subject: x\n\nb\n\n",
            ),
            (
                "local part case",
                b"Message-ID: <A@x>\n\n",
                b"Message-ID: <a@x>\n\n",
            ),
            (
                "header moved into the body",
                b"Subject: x\n\n",
                b"\nSubject: x\n",
            ),
        ];
        for (case, a, b) in cases {
            assert_ne!(Fingerprint::of(a), Fingerprint::of(b), "{case}");
        }
    }

    /// (case, raw message, header name, expected value)
    type HeaderCase = (
        &'static str,
        &'static [u8],
        &'static str,
        Option<&'static [u8]>,
    );

    #[test]
    fn header_values_are_unfolded_and_trimmed() {
        let cases: &[HeaderCase] = &[
            ("simple", b"Subject: hi\n\n", "subject", Some(b"hi")),
            ("crlf", b"Subject: hi \r\n\r\n", "Subject", Some(b"hi")),
            (
                "folded",
                b"Subject: a\r\n\tb\r\n c\r\n\r\n",
                "subject",
                Some(b"a\tb c"),
            ),
            (
                "fold right after the colon",
                b"Subject:\n  a\n\n",
                "subject",
                Some(b"a"),
            ),
            ("first of two", b"X: 1\nx: 2\n\n", "X", Some(b"1")),
            (
                "space before colon",
                b"Subject : s\n\n",
                "subject",
                Some(b"s"),
            ),
            ("empty", b"Subject:\n\n", "subject", Some(b"")),
            (
                "8-bit kept raw",
                b"Subject: \xff\xfe\n\n",
                "subject",
                Some(b"\xff\xfe"),
            ),
            ("no such header", b"Subject: s\n\n", "to", None),
            ("only in the body", b"A: 1\n\nSubject: s\n", "subject", None),
            (
                "after a non-header line",
                b"A: 1\nnot a header\nSubject: s\n",
                "subject",
                None,
            ),
            ("prefix is not a match", b"Subjects: s\n\n", "subject", None),
            ("no headers at all", b"", "subject", None),
            ("colon without name", b": s\n\n", "", None),
            (
                "lone continuation line",
                b" Subject: s\n\n",
                "subject",
                None,
            ),
        ];
        for (case, raw, name, expected) in cases {
            assert_eq!(header_value(raw, name).as_deref(), *expected, "{case}");
        }
    }

    #[test]
    fn body_offset_points_after_the_header_section() {
        let cases: &[(&str, &[u8], usize)] = &[
            ("lf", b"A: 1\n\nbody", 6),
            ("crlf", b"A: 1\r\n\r\nbody", 8),
            ("folded header", b"A: 1\n 2\n\nb", 9),
            ("whitespace-only line continues a field", b"A: 1\n \n\nb", 8),
            ("no blank line", b"A: 1\nB: 2\n", 10),
            ("no final newline", b"A: 1", 4),
            ("empty message", b"", 0),
            ("starts with a blank line", b"\nbody", 1),
            ("starts with crlf", b"\r\nbody", 2),
            ("non-header line starts the body", b"A: 1\nplain text\n", 5),
            ("no headers at all", b"plain text\n", 0),
            ("From_ line skipped", b"From x Mon\nA: 1\n\nb", 17),
            ("From_ line only first", b"A: 1\nFrom x\n\nb", 5),
            ("blank line after From_ line", b"From x\n\nb", 8),
            ("lone cr is not a blank line", b"A: 1\n\r\rb\n", 5),
        ];
        for (case, raw, expected) in cases {
            assert_eq!(body_offset(raw), *expected, "{case}");
        }
    }

    #[test]
    fn strings_round_trip_through_display_and_from_str() {
        let cases = [
            Fingerprint::MessageId("<abc@example.org>".to_string()),
            Fingerprint::MessageId("<abc>".to_string()),
            Fingerprint::MessageId("<<a@b>".to_string()),
            Fingerprint::MessageId("<Caf\u{fffd}@x>".to_string()),
            Fingerprint::Sha256([0; 32]),
            Fingerprint::Sha256([0xab; 32]),
            Fingerprint::of(b"Subject: x\n\nbody"),
        ];
        for fingerprint in cases {
            let text = fingerprint.to_string();
            assert_eq!(
                text.parse::<Fingerprint>().ok(),
                Some(fingerprint.clone()),
                "{text}"
            );
            let json = serde_json::to_string(&fingerprint).expect("serialising a fingerprint");
            assert_eq!(json, format!("\"{text}\""));
            let back: Fingerprint =
                serde_json::from_str(&json).expect("deserialising a fingerprint");
            assert_eq!(back, fingerprint);
        }
    }

    #[test]
    fn sha256_is_displayed_as_lowercase_hex() {
        let mut digest = [0u8; 32];
        digest[0] = 0x0f;
        digest[31] = 0xa0;
        let text = Fingerprint::Sha256(digest).to_string();
        assert_eq!(text, format!("sha256:0f{}a0", "00".repeat(30)));
    }

    #[test]
    fn malformed_strings_are_not_fingerprints() {
        let cases = [
            "",
            "abc@example.org",
            "<>",
            "<",
            "<abc@x",
            "<a b@x>",
            "<a@X>",
            "<a>b>",
            "<a@x> ",
            "sha256:",
            "sha256:00",
            &format!("sha256:{}", "0".repeat(63)),
            &format!("sha256:{}", "0".repeat(65)),
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "g".repeat(64)),
            &format!("SHA256:{}", "0".repeat(64)),
            &format!("sha256:{}é", "0".repeat(62)),
        ];
        for text in cases {
            let err = text.parse::<Fingerprint>().expect_err(text);
            assert!(
                err.to_string().contains("is not a fingerprint"),
                "{text}: {err}"
            );
            assert!(serde_json::from_value::<Fingerprint>(serde_json::Value::from(text)).is_err());
        }
    }

    #[test]
    fn message_id_accessor_tells_the_kinds_apart() {
        assert_eq!(
            Fingerprint::MessageId("<a@b>".into()).message_id(),
            Some("<a@b>")
        );
        assert_eq!(Fingerprint::Sha256([1; 32]).message_id(), None);
    }

    /// xorshift64*: deterministic, so a failure is reproducible.
    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn hostile_bytes_never_panic_and_always_round_trip() {
        const PIECES: &[&[u8]] = &[
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            b"\t",
            b":",
            b"<",
            b">",
            b"@",
            b"(",
            b")",
            b"\\",
            b"Message-ID",
            b"message-id :",
            b"From ",
            b"Subject: ",
            b"Date:",
            b"\xff",
            b"\xc3",
            b"\0",
            b"a",
            b"Z",
            b"=?",
            b"..",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let len = next_random(&mut state) % 24;
            let mut raw = Vec::new();
            for _ in 0..len {
                let pick = next_random(&mut state) as usize % PIECES.len();
                raw.extend_from_slice(PIECES[pick]);
            }
            let fingerprint = Fingerprint::of(&raw);
            assert!(body_offset(&raw) <= raw.len());
            let _ = header_value(&raw, "message-id");
            let text = fingerprint.to_string();
            assert_eq!(
                text.parse::<Fingerprint>().ok(),
                Some(fingerprint),
                "{raw:?}"
            );
        }
    }
}
