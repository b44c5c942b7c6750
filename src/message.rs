//! One e-mail as it moves through the pipeline, and the names that identify it.
//!
//! Invariant: `Message::raw` holds the RFC 5322 bytes exactly as the source
//! stored them (apart from mbox From_ quoting, which the mbox reader undoes,
//! and mailbox metadata headers, which stores turn into `flags`). Nothing in
//! the pipeline rewrites them.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// A message read from a source, ready for a sink.
#[derive(Clone, Debug)]
pub struct Message {
    /// Where the message came from; what the checkpoint records once it is stored.
    pub key: SourceKey,
    /// RFC 5322 bytes, never rewritten.
    pub raw: Vec<u8>,
    pub flags: Flags,
    /// IMAP INTERNALDATE, maildir file mtime, mbox From_ line date.
    pub internal_date: Option<SystemTime>,
    /// Computed once, when the message is read.
    pub fingerprint: Fingerprint,
}

impl Message {
    /// Builds a message from its raw bytes, computing its fingerprint.
    pub fn new(
        key: SourceKey,
        raw: Vec<u8>,
        flags: Flags,
        internal_date: Option<SystemTime>,
    ) -> Message {
        let fingerprint = Fingerprint::of(&raw);
        Message {
            key,
            raw,
            flags,
            internal_date,
            fingerprint,
        }
    }

    pub fn size(&self) -> u64 {
        self.raw.len() as u64
    }

    /// The size with CRLF line ends, as IMAP's RFC822.SIZE and POP3's LIST
    /// count it, so `--max-size` picks the same messages from every store.
    pub fn wire_size(&self) -> u64 {
        let bare_lf = self
            .raw
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || self.raw[i - 1] != b'\r'))
            .count();
        (self.raw.len() + bare_lf) as u64
    }
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
    pub fn is_empty(&self) -> bool {
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
    pub fn to_imap(&self) -> Vec<String> {
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
    fn empty_flags_are_empty() {
        assert!(Flags::default().is_empty());
        let mut flags = Flags::default();
        flags.add_keyword("x");
        assert!(!flags.is_empty());
    }
}
