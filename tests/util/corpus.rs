//! Test inputs: the shipped manifest, and synthetic sources big enough to
//! kill a run part-way (thousands of small messages, generated here with
//! deterministic content rather than stored in git).
//!
//! The synthetic messages vary what can go wrong: some have no Message-ID
//! (fallback fingerprint), some use CRLF, some have body lines that need mbox
//! quoting, and flags and keywords cycle through every combination the stores
//! map. They are all distinct, so a correct copy holds each exactly once.

use std::fs;
use std::io::Write;
use std::path::Path;

use mailtug::message::Flags;
use serde_json::Value;

use super::model::{flag_text, Stored};

/// `fixtures/manifest.jsonl`, one JSON object per stored fixture message.
pub fn manifest() -> Vec<Value> {
    let path = super::fixtures_dir().join("manifest.jsonl");
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("manifest line is JSON"))
        .collect()
}

/// 2024-01-15 00:00:00 UTC, a Monday: every synthetic date falls on that day.
const BASE_DATE: i64 = 1_705_276_800;

/// A generated message with the flags and date it should keep.
#[derive(Clone, Debug)]
pub struct Synthetic {
    pub raw: Vec<u8>,
    pub flags: Flags,
    pub date: i64,
}

impl Synthetic {
    pub fn stored(&self) -> Stored {
        Stored {
            raw: self.raw.clone(),
            flags: flag_text(&self.flags),
            date: Some(self.date),
        }
    }
}

/// Message number `i` (at most 4,319, so dates stay on one day).
pub fn synthetic(i: usize) -> Synthetic {
    assert!(i < 4320, "synthetic dates stay within one day");
    let date = BASE_DATE + i as i64 * 20;
    let (h, m, s) = (i * 20 / 3600, i * 20 / 60 % 60, i * 20 % 60);
    let eol = if i % 13 == 7 { "\r\n" } else { "\n" };
    let mut lines = vec![
        format!("Date: Mon, 15 Jan 2024 {h:02}:{m:02}:{s:02} +0000"),
        format!("From: Sender {} <sender{}@example.org>", i % 50, i % 50),
        "To: Recipient <rcpt@example.net>".to_string(),
        format!("Subject: synthetic message {i}"),
    ];
    if i % 10 != 3 {
        lines.push(format!("Message-ID: <synthetic.{i}@example.org>"));
    }
    lines.push(String::new());
    lines.push(format!("Body of synthetic message {i}."));
    if i % 17 == 5 {
        // mboxrd must quote these and unquote them on reading; after a
        // blank line, an unquoted one would split the message in two.
        lines.push(String::new());
        lines.push("From the desk of nobody, Mon Jan 15 10:00:00 2024".into());
        lines.push(">From an already quoted line".into());
    }
    for n in 0..i % 5 {
        lines.push(format!("filler line {n}"));
    }
    let mut raw = lines.join(eol);
    raw.push_str(eol);

    let mut flags = Flags::default();
    match i % 6 {
        0 => {}
        1 => flags.seen = true,
        2 => {
            flags.seen = true;
            flags.answered = true;
        }
        3 => {
            flags.seen = true;
            flags.flagged = true;
            flags.add_keyword("$Label1");
        }
        4 => flags.add_keyword("Work"),
        _ => {
            flags.draft = true;
            flags.add_keyword("$Label1");
            flags.add_keyword("Work");
        }
    }
    Synthetic {
        raw: raw.into_bytes(),
        flags,
        date,
    }
}

/// Messages `range` of the synthetic corpus.
pub fn synthetic_range(range: std::ops::Range<usize>) -> Vec<Synthetic> {
    range.map(synthetic).collect()
}

/// `message` with body lines `line(0)`, `line(1)`, … added, in its own
/// line ending, until it is at least `bytes` long.
pub fn padded(mut message: Synthetic, bytes: usize, line: impl Fn(usize) -> String) -> Synthetic {
    let eol: &[u8] = if message.raw.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut n = 0;
    while message.raw.len() < bytes {
        message.raw.extend_from_slice(line(n).as_bytes());
        message.raw.extend_from_slice(eol);
        n += 1;
    }
    message
}

/// `Mon Jan 15 HH:MM:SS 2024` for a synthetic date.
fn asctime(date: i64) -> String {
    let t = date - BASE_DATE;
    format!(
        "Mon Jan 15 {:02}:{:02}:{:02} 2024",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Writes an mboxrd file by hand (not with mailtug's writer, so the reader
/// is tested against an independent writer): From_ line, flag headers at the
/// end of the header section, `>` quoting, a blank line after each message.
pub fn write_mbox(path: &Path, messages: &[Synthetic]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    let mut out = Vec::new();
    for (n, message) in messages.iter().enumerate() {
        let raw = &message.raw;
        let eol: &[u8] = if raw.windows(2).any(|w| w == b"\r\n") {
            b"\r\n"
        } else {
            b"\n"
        };
        writeln!(
            out,
            "From sender{}@example.org {}",
            n % 7,
            asctime(message.date)
        )
        .unwrap();
        let mut in_headers = true;
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if in_headers && (line == b"\n" || line == b"\r\n") {
                in_headers = false;
                out.extend_from_slice(&metadata_headers(&message.flags, eol));
            }
            let unquoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
            if line[unquoted..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    fs::write(path, out).unwrap();
}

fn metadata_headers(flags: &Flags, eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if flags == &Flags::default() {
        return out;
    }
    out.extend_from_slice(if flags.seen {
        b"Status: RO"
    } else {
        b"Status: O"
    });
    out.extend_from_slice(eol);
    let x_status: String = [
        (flags.answered, 'A'),
        (flags.flagged, 'F'),
        (flags.draft, 'T'),
        (flags.deleted, 'D'),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, c)| *c)
    .collect();
    if !x_status.is_empty() {
        out.extend_from_slice(format!("X-Status: {x_status}").as_bytes());
        out.extend_from_slice(eol);
    }
    if !flags.keywords.is_empty() {
        out.extend_from_slice(format!("X-Keywords: {}", flags.keywords.join(" ")).as_bytes());
        out.extend_from_slice(eol);
    }
    out
}

/// The maildir letters of the system flags, in order (`DFRST`); doveadm
/// takes them too.
pub fn system_flag_letters(f: &Flags) -> String {
    [
        (f.draft, 'D'),
        (f.flagged, 'F'),
        (f.answered, 'R'),
        (f.seen, 'S'),
        (f.deleted, 'T'),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, c)| *c)
    .collect()
}

/// Writes a one-folder maildir by hand: unflagged messages in `new/`, the
/// rest in `cur/` with sorted letters, keywords `a` = `$Label1`, `b` =
/// `Work`, mtimes set to the internal dates.
pub fn write_maildir(root: &Path, messages: &[Synthetic]) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    fs::write(root.join("dovecot-keywords"), "0 $Label1\n1 Work\n").unwrap();
    for (n, message) in messages.iter().enumerate() {
        let unique = format!("{}.M{n}P7.synthetic,S={}", message.date, message.raw.len());
        let f = &message.flags;
        let mut letters: Vec<char> = system_flag_letters(f).chars().collect();
        for keyword in &f.keywords {
            letters.push(match keyword.as_str() {
                "$Label1" => 'a',
                "Work" => 'b',
                other => panic!("no letter for keyword {other}"),
            });
        }
        letters.sort_unstable();
        let path = if letters.is_empty() {
            root.join("new").join(&unique)
        } else {
            let info: String = letters.into_iter().collect();
            root.join("cur").join(format!("{unique}:2,{info}"))
        };
        fs::write(&path, &message.raw).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(message.date as u64),
        )
        .unwrap();
    }
}

/// The model of a list of synthetic messages, for comparisons.
pub fn stored(messages: &[Synthetic]) -> Vec<Stored> {
    messages.iter().map(Synthetic::stored).collect()
}
