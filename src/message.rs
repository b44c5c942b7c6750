//! One e-mail as it moves through the pipeline, and the names that identify it.
//!
//! Invariant: a `Message` holds the RFC 5322 bytes exactly as the source
//! stored them (apart from mbox From_ quoting, which the mbox reader undoes,
//! and mailbox metadata headers, which stores turn into `flags`), in the
//! source's own line-end convention (`Form`). Nothing in the pipeline rewrites
//! them; a sink of the other convention converts line ends as it writes.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// Whose line-end convention a message's bytes follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Form {
    /// As a local file holds them (maildir, mbox): written to files as they
    /// are; a bare LF becomes CRLF on the way to a server.
    #[default]
    File,
    /// As a server sent them (IMAP, POP3: CRLF line ends): sent to servers as
    /// they are; CRLF becomes LF on the way to a file.
    Wire,
}

/// A message read from a source, ready for a sink.
#[derive(Clone, Debug)]
pub struct Message {
    /// Where the message came from; what the checkpoint records once it is stored.
    pub key: SourceKey,
    /// RFC 5322 bytes, never rewritten, in `form`'s convention.
    raw: Vec<u8>,
    form: Form,
    /// The size in file form, computed once: counts and budgets use it.
    file_size: u64,
    pub flags: Flags,
    /// IMAP INTERNALDATE, maildir file mtime, mbox From_ line date.
    pub internal_date: Option<SystemTime>,
    /// Computed once, when the message is read.
    pub fingerprint: Fingerprint,
    /// Set by a maildir source only: what its file said beyond `flags`, so
    /// that a maildir sink can keep it. Other sinks have no place for it.
    pub maildir: Option<MaildirFile>,
    /// The envelope sender of an mbox From_ line, so an mbox copy keeps it.
    pub envelope_sender: Option<Vec<u8>>,
}

/// What a maildir file says about a message besides its flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaildirFile {
    /// It was in `new/`: no mail reader has taken it in yet. A file in
    /// `cur/` has been seen by one, even when it carries no flag, and a
    /// client shows a file in `new/` as new again.
    pub in_new: bool,
    /// Keyword letters (`a`–`z`, in ASCII order) of the file name that the
    /// folder's `dovecot-keywords` does not name: the keyword is unknown,
    /// only its letter is, so only a maildir can hold it again.
    pub unnamed_keyword_letters: String,
}

impl Message {
    /// A message read from a local file, computing its fingerprint.
    pub(crate) fn new(
        key: SourceKey,
        raw: Vec<u8>,
        flags: Flags,
        internal_date: Option<SystemTime>,
    ) -> Message {
        Message::with_form(key, raw, Form::File, flags, internal_date)
    }

    /// A message as a server sent it (CRLF line ends), kept in the form
    /// its destination writes: a server-to-server copy never converts line
    /// ends, and for a file the source converts them while it reads, on its
    /// own task, rather than the copy loop as it writes.
    pub(crate) fn from_server(
        key: SourceKey,
        wire: &[u8],
        form: Form,
        flags: Flags,
        internal_date: Option<SystemTime>,
    ) -> Message {
        let raw = match form {
            Form::Wire => wire.to_vec(),
            Form::File => crlf_to_lf(wire),
        };
        Message::with_form(key, raw, form, flags, internal_date)
    }

    fn with_form(
        key: SourceKey,
        raw: Vec<u8>,
        form: Form,
        flags: Flags,
        internal_date: Option<SystemTime>,
    ) -> Message {
        // Fingerprints ignore line ends, so both forms give the same one.
        let fingerprint = Fingerprint::of(&raw);
        let file_size = match form {
            Form::File => raw.len(),
            Form::Wire => raw.len() - crlf_count(&raw),
        } as u64;
        Message {
            key,
            raw,
            form,
            file_size,
            flags,
            internal_date,
            fingerprint,
            maildir: None,
            envelope_sender: None,
        }
    }

    /// The line-end convention its bytes are in.
    pub(crate) fn form(&self) -> Form {
        self.form
    }

    /// The size as a file holds it (LF line ends where the source had CRLF).
    pub(crate) fn size(&self) -> u64 {
        self.file_size
    }

    /// The size with CRLF line ends, as IMAP's RFC822.SIZE and POP3's LIST
    /// count it, so `--max-size` picks the same messages from every store.
    pub(crate) fn wire_size(&self) -> u64 {
        (self.raw.len() + bare_lf_count(&self.raw)) as u64
    }

    /// The bytes to write to a file.
    pub(crate) fn file_bytes(&self) -> Cow<'_, [u8]> {
        match self.form {
            Form::File => Cow::Borrowed(&self.raw),
            Form::Wire => Cow::Owned(crlf_to_lf(&self.raw)),
        }
    }

    /// The bytes to send to a server, without a copy when they came from one.
    pub(crate) fn into_wire_bytes(self) -> Vec<u8> {
        match self.form {
            Form::File => lf_to_crlf(&self.raw),
            Form::Wire => self.raw,
        }
    }
}

/// CRLF pairs in `raw`.
fn crlf_count(raw: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', raw)
        .filter(|&lf| lf > 0 && raw[lf - 1] == b'\r')
        .count()
}

/// LFs in `raw` without a CR before them.
fn bare_lf_count(raw: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', raw)
        .filter(|&lf| lf == 0 || raw[lf - 1] != b'\r')
        .count()
}

/// CRLF → LF (bare CR stays): how a server's message is written to a file.
///
/// Whole line runs are copied at once: every byte of a message between a
/// server and a file passes through here (or `lf_to_crlf`), and a
/// byte-at-a-time loop cost a third of a copy's CPU time.
pub(crate) fn crlf_to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut start = 0;
    for lf in memchr::memchr_iter(b'\n', raw) {
        // `lf > start`: the CR must lie in the run not yet copied.
        if lf > start && raw[lf - 1] == b'\r' {
            out.extend_from_slice(&raw[start..lf - 1]);
            start = lf;
        }
    }
    out.extend_from_slice(&raw[start..]);
    out
}

/// LF → CRLF where the LF is not already preceded by CR, as IMAP requires.
pub(crate) fn lf_to_crlf(raw: &[u8]) -> Vec<u8> {
    let bare = |&lf: &usize| lf == 0 || raw[lf - 1] != b'\r';
    let mut out = Vec::with_capacity(raw.len() + bare_lf_count(raw));
    let mut start = 0;
    for lf in memchr::memchr_iter(b'\n', raw).filter(bare) {
        out.extend_from_slice(&raw[start..lf]);
        out.push(b'\r');
        start = lf;
    }
    out.extend_from_slice(&raw[start..]);
    out
}

/// Identifies a message inside its source folder, stably across runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKey {
    /// IMAP UID (valid under the folder's UIDVALIDITY).
    Uid(u32),
    /// POP3 unique-id listing.
    Uidl(String),
    /// Maildir unique name: the file name up to the `:2,` info suffix.
    File(String),
    /// mbox message spanning bytes `start..end` of the file (From_ line included).
    Offset { start: u64, end: u64 },
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKey::Uid(uid) => write!(f, "UID {uid}"),
            SourceKey::Uidl(uidl) => write!(f, "UIDL {uidl}"),
            SourceKey::File(name) => write!(f, "file {name}"),
            SourceKey::Offset { start, .. } => write!(f, "message at byte {start}"),
        }
    }
}

/// Where a sink stored a message, as it reports it at `commit`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DestinationKey {
    /// IMAP: the UID the server gave it (APPENDUID, RFC 4315).
    Uid(u32),
    /// Maildir: the unique name of its file (without the `:2,` info).
    File(String),
    /// mbox: the byte offset of its From_ line.
    Offset(u64),
}

impl DestinationKey {
    /// As `--json` shows it: a UID or offset as a number, a file name as text.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            DestinationKey::Uid(uid) => (*uid).into(),
            DestinationKey::File(name) => name.as_str().into(),
            DestinationKey::Offset(offset) => (*offset).into(),
        }
    }
}

impl fmt::Display for DestinationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationKey::Uid(uid) => write!(f, "UID {uid}"),
            DestinationKey::File(name) => write!(f, "file `{name}`"),
            DestinationKey::Offset(offset) => write!(f, "offset {offset}"),
        }
    }
}

/// IMAP system flags plus keywords. `\Recent` is session state and never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags {
    pub seen: bool,
    pub answered: bool,
    pub flagged: bool,
    pub deleted: bool,
    pub draft: bool,
    /// Keywords in the order the source gave them, without duplicates.
    pub keywords: Vec<String>,
}

impl Flags {
    pub(crate) fn is_empty(&self) -> bool {
        !(self.seen || self.answered || self.flagged || self.deleted || self.draft)
            && self.keywords.is_empty()
    }

    /// Adds a keyword unless it is already present.
    pub fn add_keyword(&mut self, keyword: &str) {
        if !keyword.is_empty() && !self.keywords.iter().any(|k| k == keyword) {
            self.keywords.push(keyword.to_string());
        }
    }

    /// Sets the flag named in IMAP syntax (`\Seen`, `$Forwarded`, …); names
    /// without a backslash are keywords. `\Recent` is ignored.
    pub fn set_imap(&mut self, name: &str) {
        match name.to_ascii_lowercase().as_str() {
            "\\seen" => self.seen = true,
            "\\answered" => self.answered = true,
            "\\flagged" => self.flagged = true,
            "\\deleted" => self.deleted = true,
            "\\draft" => self.draft = true,
            "\\recent" => {}
            _ if name.starts_with('\\') => {}
            _ => self.add_keyword(name),
        }
    }

    /// The flags in IMAP syntax, system flags first.
    /// Reads flags written by `Display` (IMAP words, space-separated).
    pub fn from_imap(text: &str) -> Flags {
        let mut flags = Flags::default();
        for word in text.split_whitespace() {
            flags.set_imap(word);
        }
        flags
    }

    /// Equal as sets: the same system flags and keywords, in any order.
    pub fn same_as(&self, other: &Flags) -> bool {
        let sorted = |flags: &Flags| {
            let mut words = flags.to_imap();
            words.sort_unstable();
            words
        };
        sorted(self) == sorted(other)
    }

    pub(crate) fn to_imap(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (set, name) in [
            (self.seen, "\\Seen"),
            (self.answered, "\\Answered"),
            (self.flagged, "\\Flagged"),
            (self.deleted, "\\Deleted"),
            (self.draft, "\\Draft"),
        ] {
            if set {
                out.push(name.to_string());
            }
        }
        out.extend(self.keywords.iter().cloned());
        out
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_imap().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_names_round_trip_and_ignore_recent() {
        let mut flags = Flags::default();
        for name in [
            "\\SEEN",
            "\\Flagged",
            "\\Recent",
            "$Label1",
            "$Label1",
            "\\Unknown",
        ] {
            flags.set_imap(name);
        }
        assert!(flags.seen && flags.flagged && !flags.answered);
        assert_eq!(flags.keywords, vec!["$Label1".to_string()]);
        assert_eq!(flags.to_imap(), vec!["\\Seen", "\\Flagged", "$Label1"]);
    }

    #[test]
    fn wire_size_counts_crlf_line_ends() {
        let message =
            |raw: &[u8]| Message::new(SourceKey::Uid(1), raw.to_vec(), Flags::default(), None);
        assert_eq!(message(b"a\nb\n").wire_size(), 6);
        assert_eq!(message(b"a\r\nb\r\n").wire_size(), 6);
        assert_eq!(message(b"\nx").wire_size(), 3);
    }

    #[test]
    fn both_forms_give_the_same_file_bytes_wire_bytes_sizes_and_fingerprint() {
        let file = b"Message-ID: <a@b>\nSubject: x\n\nline\rwith CR\n\nend".to_vec();
        let wire = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nline\rwith CR\r\n\r\nend".to_vec();
        let from_file = Message::new(SourceKey::Uid(1), file.clone(), Flags::default(), None);
        let from_server =
            Message::from_server(SourceKey::Uid(1), &wire, Form::Wire, Flags::default(), None);
        for message in [&from_file, &from_server] {
            assert_eq!(message.size(), file.len() as u64);
            assert_eq!(message.wire_size(), wire.len() as u64);
            assert_eq!(message.file_bytes(), file.as_slice());
            assert_eq!(message.fingerprint, from_file.fingerprint);
        }
        let converted =
            Message::from_server(SourceKey::Uid(1), &wire, Form::File, Flags::default(), None);
        assert_eq!(converted.size(), file.len() as u64);
        assert_eq!(converted.file_bytes(), file.as_slice());
        assert_eq!(converted.fingerprint, from_file.fingerprint);
        assert_eq!(converted.into_wire_bytes(), wire);
        assert_eq!(from_file.into_wire_bytes(), wire);
        assert_eq!(from_server.into_wire_bytes(), wire);
    }

    #[test]
    fn line_ends_convert_both_ways_and_keep_bare_cr() {
        let cases: [(&[u8], &[u8]); 4] = [
            (b"a\r\nb\r\n", b"a\nb\n"),
            (b"a\rb\r\n", b"a\rb\n"),
            (b"", b""),
            (b"no newline", b"no newline"),
        ];
        for (crlf, lf) in cases {
            assert_eq!(crlf_to_lf(crlf), lf);
            assert_eq!(lf_to_crlf(lf), crlf);
        }
        assert_eq!(lf_to_crlf(b"mixed\r\nand\n"), b"mixed\r\nand\r\n");
        assert_eq!(lf_to_crlf(b"\n\n"), b"\r\n\r\n");
        assert_eq!(crlf_to_lf(b"\r\n\r\r\n\n"), b"\n\r\n\n");
        assert_eq!(crlf_to_lf(b"\r"), b"\r");
    }

    #[test]
    fn line_end_conversion_matches_a_byte_by_byte_reference() {
        fn reference_to_lf(raw: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for (i, &b) in raw.iter().enumerate() {
                if !(b == b'\r' && raw.get(i + 1) == Some(&b'\n')) {
                    out.push(b);
                }
            }
            out
        }
        fn reference_to_crlf(raw: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for (i, &b) in raw.iter().enumerate() {
                if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                    out.push(b'\r');
                }
                out.push(b);
            }
            out
        }
        // Every string of up to 6 symbols over {CR, LF, x}.
        let alphabet = [b'\r', b'\n', b'x'];
        for len in 0..=6u32 {
            for n in 0..3usize.pow(len) {
                let mut k = n;
                let raw: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[k % 3];
                        k /= 3;
                        b
                    })
                    .collect();
                assert_eq!(crlf_to_lf(&raw), reference_to_lf(&raw), "{raw:?}");
                assert_eq!(lf_to_crlf(&raw), reference_to_crlf(&raw), "{raw:?}");
                let wire = Message::from_server(
                    SourceKey::Uid(1),
                    &raw,
                    Form::Wire,
                    Flags::default(),
                    None,
                );
                assert_eq!(wire.size(), reference_to_lf(&raw).len() as u64, "{raw:?}");
            }
        }
    }

    #[test]
    fn empty_flags_are_empty() {
        assert!(Flags::default().is_empty());
        let mut flags = Flags::default();
        flags.add_keyword("x");
        assert!(!flags.is_empty());
    }
}
