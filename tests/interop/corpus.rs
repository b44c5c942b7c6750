//! What the interop scenarios copy: small folder trees of messages in the
//! shapes real archives hold (with and without Message-ID, raw 8-bit and
//! UTF-8 headers, every system flag and keywords, distinct internal dates),
//! written as a maildir by hand or loaded into a server with the test-side
//! IMAP client, and the model a correct copy of them reads back as.

use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use mailtug::message::Flags;

use crate::support::imapclient::encode_mailbox;
use crate::support::servers::ServerAccount;
use crate::util::corpus::Synthetic;
use crate::util::crlf::lf;
use crate::util::model::{flag_text, Model, Stored};

/// Folders (mailtug's names) in order, each with its messages in order.
pub type Tree = Vec<(String, Vec<Synthetic>)>;

/// 2023-05-01 08:00:00 UTC; each message of the corpus is an hour and a
/// minute later than the one before, so no two dates are alike.
const BASE_DATE: i64 = 1_682_928_000;

/// Flags from IMAP names (`\Seen`, keywords).
pub fn flags(names: &[&str]) -> Flags {
    let mut flags = Flags::default();
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "\\seen" => flags.seen = true,
            "\\answered" => flags.answered = true,
            "\\flagged" => flags.flagged = true,
            "\\deleted" => flags.deleted = true,
            "\\draft" => flags.draft = true,
            _ => flags.add_keyword(name),
        }
    }
    flags
}

/// The IMAP names of `flags`, system flags first.
pub fn imap_names(flags: &Flags) -> Vec<String> {
    let mut names: Vec<String> = [
        (flags.seen, "\\Seen"),
        (flags.answered, "\\Answered"),
        (flags.flagged, "\\Flagged"),
        (flags.deleted, "\\Deleted"),
        (flags.draft, "\\Draft"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| name.to_string())
    .collect();
    names.extend(flags.keywords.iter().cloned());
    names
}

/// `Mon, 01 May 2023 08:00:00 +0000` for a date up to 16 hours after
/// `BASE_DATE`.
fn rfc2822(secs: i64) -> String {
    let t = secs - BASE_DATE;
    assert!(
        (0..16 * 3600).contains(&t),
        "corpus dates stay within 16 hours"
    );
    let (h, m, s) = (8 + t / 3600, t / 60 % 60, t % 60);
    format!("Mon, 01 May 2023 {h:02}:{m:02}:{s:02} +0000")
}

/// One message dated `offset` seconds after `BASE_DATE`: `headers`
/// (without Date, which says the same), a body, LF line ends.
fn dated(offset: i64, headers: &[&[u8]], body: &[u8], flag_names: &[&str]) -> Synthetic {
    let date = BASE_DATE + offset;
    let mut raw = format!("Date: {}\n", rfc2822(date)).into_bytes();
    for header in headers {
        raw.extend_from_slice(header);
        raw.push(b'\n');
    }
    raw.push(b'\n');
    raw.extend_from_slice(body);
    Synthetic {
        raw,
        flags: flags(flag_names),
        date,
    }
}

/// The main corpus: INBOX, `Archive`, `Archive/2023` and `Work`. INBOX holds
/// the awkward messages: one without Message-ID, one with raw Latin-1 bytes
/// in its headers and body and no Message-ID (Cyrus stores its header bytes
/// as `X`; its fingerprint must not change), one with a raw UTF-8 Subject,
/// one with an encoded-word Subject, one with CRLF line ends, one with body
/// lines POP3 and mbox must escape; between them every system flag
/// (`\Deleted` too) and the keywords `$Label1`, `Junk`, `NonJunk`,
/// `$NotJunk`.
pub fn main_tree() -> Tree {
    let inbox = vec![
        letter(
            0,
            &[
                b"From: Alice Example <alice@example.org>",
                b"To: Bob <bob@example.net>",
                b"Subject: plain, with a Message-ID",
                b"Message-ID: <interop.plain@example.org>",
            ],
            b"Hello Bob.\n",
            &[],
        ),
        letter(
            1,
            &[
                b"From: Carol <carol@example.org>",
                b"To: Bob <bob@example.net>",
                b"Subject: no Message-ID here",
            ],
            b"A message as some old clients sent it.\n",
            &["\\Seen"],
        ),
        letter(
            2,
            &[
                b"From: Jos\xe9 Mart\xednez <jose@example.org>",
                b"To: Bob <bob@example.net>",
                b"Subject: caf\xe9 cr\xe8me, no Message-ID",
                b"Content-Type: text/plain; charset=iso-8859-1",
                b"Content-Transfer-Encoding: 8bit",
            ],
            b"Gr\xfc\xdfe, raw Latin-1 in the body too.\n",
            &["\\Seen", "\\Flagged"],
        ),
        letter(
            3,
            &[
                b"From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>",
                "Subject: Grüße aus Köln 📬".as_bytes(),
                b"To: Bob <bob@example.net>",
                b"Message-ID: <interop.utf8-subject@example.de>",
                b"MIME-Version: 1.0",
                b"Content-Type: text/plain; charset=utf-8",
                b"Content-Transfer-Encoding: 8bit",
            ],
            "Schöne Grüße.\n".as_bytes(),
            &["\\Seen", "\\Answered"],
        ),
        letter(
            4,
            &[
                b"From: Dave <dave@example.org>",
                b"To: Bob <bob@example.net>",
                b"Subject: =?UTF-8?B?UmU6IEVudHfDvHJmZQ==?=",
                b"Message-ID: <interop.encoded-word@example.org>",
            ],
            b"A draft with a keyword.\n",
            &["\\Draft", "$Label1"],
        ),
        letter(
            5,
            &[
                b"From: Spammer <win@example.com>",
                b"To: Bob <bob@example.net>",
                b"Subject: deleted, not expunged",
                b"Message-ID: <interop.deleted@example.com>",
            ],
            b"Marked \\Deleted: a copy keeps the flag, a reader expunges nothing.\n",
            &["\\Seen", "\\Deleted", "Junk", "$Label1"],
        ),
        letter(
            6,
            &[
                b"From: Erin <erin@example.org>",
                b"To: Bob <bob@example.net>",
                b"Subject: lines that need escaping",
                b"Message-ID: <interop.escaping@example.org>",
            ],
            b"Below, a dot line and a From_ line.\n.\n..two dots\n\nFrom the start of a line\n>From quoted\n",
            &["NonJunk", "$NotJunk"],
        ),
    ];
    let mut crlf = letter(
        7,
        &[
            b"From: Frank <frank@example.org>",
            b"To: Bob <bob@example.net>",
            b"Subject: CRLF line ends on disk",
            b"Message-ID: <interop.crlf@example.org>",
        ],
        b"Stored with CRLF.\nSecond line.\n",
        &["\\Seen", "\\Answered", "\\Flagged"],
    );
    crlf.raw = self::crlf(&crlf.raw);
    let mut inbox = inbox;
    inbox.push(crlf);

    let mail = |n: i64, folder: &str, i: usize, flag_names: &[&str]| {
        letter(
            n,
            &[
                b"From: Grace <grace@example.org>",
                b"To: Bob <bob@example.net>",
                format!("Subject: {folder} message {i}").as_bytes(),
                format!(
                    "Message-ID: <interop.{}.{i}@example.org>",
                    folder.replace('/', "-")
                )
                .as_bytes(),
            ],
            format!("Filed in {folder}.\n").as_bytes(),
            flag_names,
        )
    };
    vec![
        ("INBOX".to_string(), inbox),
        (
            "Archive".to_string(),
            vec![mail(8, "Archive", 0, &["\\Seen"])],
        ),
        (
            "Archive/2023".to_string(),
            vec![
                mail(9, "Archive/2023", 0, &["\\Seen", "$Label1"]),
                mail(10, "Archive/2023", 1, &["\\Seen", "\\Answered", "Junk"]),
            ],
        ),
        (
            "Work".to_string(),
            vec![
                mail(11, "Work", 0, &["\\Flagged", "NonJunk"]),
                mail(12, "Work", 1, &[]),
            ],
        ),
    ]
}

/// Where the dates of `small` messages start, after those of `letter`.
const SMALL_DATES: i64 = 45_000;

/// Message `n` of the main corpus, dated `n` hours and `n` minutes after
/// `BASE_DATE` (see `dated`).
fn letter(n: i64, headers: &[&[u8]], body: &[u8], flag_names: &[&str]) -> Synthetic {
    assert!(n * 3660 < SMALL_DATES, "main corpus dates come first");
    dated(n * 3660, headers, body, flag_names)
}

/// `n` small messages for folder `folder`, numbered from `first` (at most
/// 1,500 in all), seven seconds apart.
pub fn small(folder: &str, first: usize, n: usize) -> Vec<Synthetic> {
    (first..first + n)
        .map(|i| {
            dated(
                SMALL_DATES + i as i64 * 7,
                &[
                    b"From: Heidi <heidi@example.org>",
                    b"To: Bob <bob@example.net>",
                    format!("Subject: {folder} {i}").as_bytes(),
                    format!("Message-ID: <interop.small.{i}@example.org>").as_bytes(),
                ],
                format!("Message {i} of {folder}.\n").as_bytes(),
                if i % 2 == 0 { &["\\Seen"] } else { &[] },
            )
        })
        .collect()
}

/// The model a correct copy of `tree` reads back as (line ends normalised
/// to LF, as in a file store).
pub fn model(tree: &Tree) -> Model {
    tree.iter()
        .map(|(folder, messages)| {
            let stored = messages
                .iter()
                .map(|m| Stored {
                    raw: lf(&m.raw),
                    flags: flag_text(&m.flags),
                    date: Some(m.date),
                })
                .collect();
            (folder.clone(), stored)
        })
        .collect()
}

/// The maildir directory of mailtug's folder `folder` under `root`: the
/// root for INBOX, else `.` and the levels joined by `.`, in modified UTF-7
/// as Dovecot stores them.
pub fn maildir_dir(root: &Path, folder: &str) -> std::path::PathBuf {
    if folder == "INBOX" {
        root.to_path_buf()
    } else {
        root.join(format!(".{}", encode_mailbox(&folder.replace('/', "."))))
    }
}

/// Writes `tree` as a maildir by hand (independently of mailtug): messages
/// without flags in `new/`, the others in `cur/` with sorted letters and
/// keywords in the folder's `dovecot-keywords`, mtimes set to the dates.
/// Unique names carry `tag`, so a test can make them long.
pub fn write_maildir(root: &Path, tree: &Tree, tag: &str) {
    for (folder, messages) in tree {
        let dir = maildir_dir(root, folder);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let mut keywords: Vec<&str> = Vec::new();
        for message in messages {
            for keyword in &message.flags.keywords {
                if !keywords.contains(&keyword.as_str()) {
                    keywords.push(keyword);
                }
            }
        }
        assert!(keywords.len() <= 26, "maildir has 26 keyword letters");
        if !keywords.is_empty() {
            let table: String = keywords
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{i} {k}\n"))
                .collect();
            fs::write(dir.join("dovecot-keywords"), table).unwrap();
        }
        for (n, message) in messages.iter().enumerate() {
            let unique = format!("{}.M{n:04}P1.{tag},S={}", message.date, message.raw.len());
            let f = &message.flags;
            let mut letters: Vec<char> = crate::util::corpus::system_flag_letters(f)
                .chars()
                .collect();
            for keyword in &f.keywords {
                let index = keywords.iter().position(|k| k == keyword).unwrap();
                letters.push((b'a' + index as u8) as char);
            }
            letters.sort_unstable();
            let path = if letters.is_empty() {
                dir.join("new").join(&unique)
            } else {
                let info: String = letters.into_iter().collect();
                dir.join("cur").join(format!("{unique}:2,{info}"))
            };
            fs::write(&path, &message.raw).unwrap();
            let file = fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(UNIX_EPOCH + Duration::from_secs(message.date as u64))
                .unwrap();
        }
    }
}

/// `raw` with CRLF line ends, as IMAP carries messages.
pub fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Loads `tree` into `account` behind mailtug's back, with the test-side
/// client: creates each folder but INBOX (parents first, as listed) and
/// appends its messages in order with their flags and dates.
pub fn load(account: &ServerAccount, tree: &Tree) {
    let name = account.server.name();
    let mut client = account.client();
    for (folder, messages) in tree {
        let there = account.server_folder(folder);
        if folder != "INBOX" {
            client
                .create(&there)
                .unwrap_or_else(|e| panic!("{name}: CREATE `{there}`: {e}"));
        }
        for message in messages {
            let names = imap_names(&message.flags);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            client
                .append(&there, &crlf(&message.raw), &names, Some(message.date))
                .unwrap_or_else(|e| panic!("{name}: APPEND to `{there}`: {e}"));
        }
    }
    client.logout();
}
