//! IMAP end to end: the real binary against a real Dovecot (the shared
//! instance of `support::dovecot`, and a private one where the test must
//! change the server's configuration).
//!
//! Every test makes its own users, so tests run in parallel without seeing
//! each other's mail. Passwords live in 0600 files in the test directory and
//! reach mailtug through `--src-password-file`/`--dst-password-file`, never
//! argv; every `imaps://` run gets the harness CA with `--src-ca-file`/
//! `--dst-ca-file`, except in the tests about certificate checks. The host is
//! always `127.0.0.1`, which the server certificate names.
//!
//! Comparisons go through `util::model`: a store is read back into folder →
//! messages (bytes, flags, internal date to the second). IMAP serves CRLF and
//! mailtug keeps messages it fetches with LF, so bytes are compared after
//! turning CRLF into LF on both sides (`lf`). What the server holds is read
//! with `doveadm`, independently of mailtug.

mod admin;
mod copy;
mod failures;
mod mirror;
mod resume;
mod tools;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{self, Dovecot};
use crate::util::crlf::lf;
use crate::util::model::{flag_text, maildir_flags, Model, Stored};
use crate::util::{args, events_of, path_arg, TestEnv};

/// The Dovecot every test shares (each with users of its own).
fn server() -> &'static Dovecot {
    Dovecot::shared()
}

/// One IMAP account of a test (see `support::account`), with what the IMAP
/// tests load and read back.
struct Account<'s>(support::account::Account<'s>);

impl<'s> std::ops::Deref for Account<'s> {
    type Target = support::account::Account<'s>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'s> Account<'s> {
    /// A new user; `quota` such as `Some("200K")` limits its storage.
    fn new(env: &TestEnv, server: &'s Dovecot, hint: &str, quota: Option<&str>) -> Account<'s> {
        Account(support::account::Account::new(env, server, hint, quota))
    }

    /// Puts messages into `folder` (Dovecot's name: UTF-8, `.` separator)
    /// behind the server's back, in order (so UIDs follow it), then gives
    /// them their keywords with `doveadm flags add`.
    fn load(&self, folder: &str, mails: &[Mail]) {
        let messages: Vec<(Vec<u8>, &str, SystemTime)> = mails
            .iter()
            .map(|m| {
                let date = UNIX_EPOCH + Duration::from_secs(m.date);
                (m.raw.clone(), m.flags.as_str(), date)
            })
            .collect();
        self.user.load(self.server, folder, &messages);
        let uids = self.uids(folder);
        let new = &uids[uids.len() - mails.len()..];
        let mut by_keywords: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (mail, uid) in mails.iter().zip(new) {
            if !mail.keywords.is_empty() {
                by_keywords
                    .entry(mail.keywords.join(" "))
                    .or_default()
                    .push(uid.to_string());
            }
        }
        for (keywords, uids) in by_keywords {
            self.server.doveadm(&[
                "flags",
                "add",
                "-u",
                self.name(),
                &keywords,
                "mailbox",
                folder,
                "uid",
                &uids.join(","),
            ]);
        }
    }

    fn count(&self, folder: &str) -> u64 {
        self.user.count(self.server, folder)
    }

    /// The UIDs of one folder, ascending.
    fn uids(&self, folder: &str) -> Vec<u32> {
        self.user
            .messages(self.server, folder)
            .into_iter()
            .map(|(uid, ..)| uid)
            .collect()
    }

    /// `doveadm mailbox status` fields of a folder, e.g. `uidvalidity`.
    fn status(&self, folder: &str, field: &str) -> u64 {
        let out = self.server.doveadm(&[
            "-f",
            "tab",
            "mailbox",
            "status",
            "-u",
            self.name(),
            field,
            folder,
        ]);
        out.lines()
            .nth(1)
            .and_then(|line| line.rsplit('\t').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected `doveadm mailbox status` output: {out:?}"))
    }
}

/// A message to load into a server folder, with maildir flag letters
/// (`DFRST`), keywords and an internal date. (Dovecot ignores maildir's
/// `P`, so keywords are the only way to more than system flags.)
#[derive(Clone, Debug)]
struct Mail {
    raw: Vec<u8>,
    flags: String,
    keywords: Vec<String>,
    date: u64,
}

impl Mail {
    /// Message `i` of a series named `tag`: distinct Message-IDs, flags
    /// cycling through system flags and a keyword, LF line ends, a body of
    /// about `body_bytes` bytes.
    fn new(tag: &str, i: usize, body_bytes: usize) -> Mail {
        const FLAGS: [(&str, &[&str]); 6] = [
            ("", &[]),
            ("S", &[]),
            ("RS", &[]),
            ("FS", &["$Label1"]),
            ("DS", &[]),
            ("", &["$Label1", "Work"]),
        ];
        // 2024-03-01 12:00 UTC plus i hours.
        let date = 1_709_294_400 + i as u64 * 3600;
        let (letters, keywords) = FLAGS[i % FLAGS.len()];
        let mut mail = Mail::dated(tag, i, body_bytes, date).with_flags(letters);
        mail.keywords = keywords.iter().map(|k| k.to_string()).collect();
        mail
    }

    /// Like `new`, with a chosen internal date (also the Date header).
    fn dated(tag: &str, i: usize, body_bytes: usize, date: u64) -> Mail {
        let mut raw = format!(
            "Date: {}\nFrom: Sender {i} <sender{i}@example.org>\nTo: rcpt@example.net\n\
             Subject: {tag} message {i}\nMessage-ID: <{tag}.{i}@mailtug.test>\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\
             Body of {tag} message {i}.\n",
            rfc2822(date)
        )
        .into_bytes();
        let mut n = 0;
        while raw.len() < body_bytes {
            raw.extend_from_slice(
                format!("{tag} {i} filler line {n:05} ..............................\n").as_bytes(),
            );
            n += 1;
        }
        Mail {
            raw,
            flags: "S".into(),
            keywords: Vec::new(),
            date,
        }
    }

    fn with_flags(mut self, flags: &str) -> Mail {
        self.flags = flags.into();
        self
    }

    /// A message of the shared synthetic corpus: some without Message-ID,
    /// some with CRLF line ends, flags and keywords in every combination.
    fn synthetic(i: usize) -> Mail {
        let s = crate::util::corpus::synthetic(i);
        let flags = crate::util::corpus::system_flag_letters(&s.flags);
        Mail {
            raw: s.raw,
            flags,
            keywords: s.flags.keywords.clone(),
            date: s.date as u64,
        }
    }

    fn message_id(&self) -> String {
        crate::util::model::header(&self.raw, "message-id").expect("generated mail has an id")
    }

    /// What a store holding this message should read back as.
    fn stored(&self) -> Stored {
        let mut flags = maildir_flags(&self.flags, &BTreeMap::new());
        for keyword in &self.keywords {
            flags.add_keyword(keyword);
        }
        Stored {
            raw: lf(&self.raw),
            flags: flag_text(&flags),
            date: Some(self.date as i64),
        }
    }
}

/// `n` messages of series `tag`.
fn mails(tag: &str, n: usize, body_bytes: usize) -> Vec<Mail> {
    (0..n).map(|i| Mail::new(tag, i, body_bytes)).collect()
}

fn stored(mails: &[Mail]) -> Vec<Stored> {
    mails.iter().map(Mail::stored).collect()
}

/// `Fri, 01 Mar 2024 12:00:00 +0000`.
fn rfc2822(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The model with every message's line ends normalised.
fn lf_model(model: &Model) -> Model {
    crate::util::model::mapped(model, |m| Stored {
        raw: lf(&m.raw),
        ..m.clone()
    })
}

/// The Message-IDs of a list of messages, sorted (duplicates kept).
fn message_ids(messages: &[Stored]) -> Vec<String> {
    let mut ids: Vec<String> = messages
        .iter()
        .map(|m| {
            crate::util::model::header(&m.raw, "message-id")
                .unwrap_or_else(|| format!("(no Message-ID: {})", m.describe()))
        })
        .collect();
    ids.sort();
    ids
}

/// `folder_done` events by folder.
fn folders_done(events: &[Value]) -> BTreeMap<String, Value> {
    events_of(events, "folder_done")
        .into_iter()
        .map(|e| (e["folder"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// The UID of a `message` event's key (`{"uid": N}`).
fn uid_of(event: &Value) -> u32 {
    event["key"]["uid"]
        .as_u64()
        .unwrap_or_else(|| panic!("not an IMAP message event: {event}")) as u32
}

// ------------------------------------------------------------ server log

/// What Dovecot logged about one IMAP session at its end (its
/// `imap_logout_format` counters).
#[derive(Debug)]
struct Session {
    line: String,
    /// Messages whose header was fetched.
    hdr_count: u64,
    /// Messages whose body was fetched.
    body_count: u64,
}

/// The number of lines the server log has now: pass it to `sessions_since`.
fn log_mark(server: &Dovecot) -> usize {
    server.log_tail(usize::MAX).lines().count()
}

/// The IMAP sessions of `user` that ended after `mark`, once every session
/// that logged in after `mark` has ended. Dovecot writes the end line after
/// it answered LOGOUT (and through its log process), so it may come a moment
/// after mailtug exits: this waits for it (up to 20 s, which is no timing
/// assertion: the wait ends as soon as the lines are there).
fn sessions_since(server: &Dovecot, mark: usize, user: &str) -> Vec<Session> {
    let login = format!("Login: user=<{user}>");
    let prefix = format!("imap({user})<");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log_tail(usize::MAX);
        let fresh: Vec<&str> = log.lines().skip(mark).collect();
        let logins = fresh
            .iter()
            .filter(|l| l.contains("imap-login: ") && l.contains(&login))
            .count();
        let ended: Vec<Session> = fresh
            .iter()
            .filter(|l| l.contains(&prefix) && l.contains("Disconnected"))
            .map(|l| Session {
                line: l.to_string(),
                hdr_count: counter(l, "hdr_count="),
                body_count: counter(l, "body_count="),
            })
            .collect();
        if logins > 0 && ended.len() >= logins {
            return ended;
        }
        if Instant::now() > deadline {
            panic!(
                "dovecot logged {logins} logins of {user} but {} session ends:\n{}",
                ended.len(),
                fresh.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn counter(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key))
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no `{key}` in the session line: {line}"))
}

// ------------------------------------------------------------ raw IMAP

/// A few IMAP commands over a plaintext connection to the server's `imap`
/// port (the test server takes LOGIN without TLS on loopback), for what
/// `doveadm` does not show, such as special-use attributes. Returns the
/// untagged lines of each command, or what went wrong.
fn try_raw_imap(
    server: &Dovecot,
    user: &str,
    password: &str,
    commands: &[&str],
) -> Result<Vec<Vec<String>>, String> {
    let stream = TcpStream::connect(("127.0.0.1", server.imap_port()))
        .map_err(|e| format!("connecting: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("reading the greeting: {e}"))?;
    if !line.starts_with("* OK") {
        return Err(format!("greeting: {line}"));
    }
    let login = format!("LOGIN \"{user}\" \"{password}\"");
    let mut all = Vec::new();
    for (n, command) in std::iter::once(login.as_str())
        .chain(commands.iter().copied())
        .chain(std::iter::once("LOGOUT"))
        .enumerate()
    {
        let tag = format!("t{n}");
        write!(writer, "{tag} {command}\r\n")
            .and_then(|()| writer.flush())
            .map_err(|e| format!("sending `{command}`: {e}"))?;
        let mut untagged = Vec::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => return Err(format!("connection closed during `{command}`")),
                Ok(_) => {}
                Err(e) => return Err(format!("reading the answer to `{command}`: {e}")),
            }
            let text = line.trim_end().to_owned();
            if let Some(rest) = text.strip_prefix(&format!("{tag} ")) {
                if !rest.starts_with("OK") {
                    return Err(format!("`{command}` failed: {text}"));
                }
                break;
            }
            untagged.push(text);
        }
        if n > 0 && command != "LOGOUT" {
            all.push(untagged);
        }
    }
    Ok(all)
}

/// `LIST "" "*" RETURN (SPECIAL-USE)`: folder name (as the server spells
/// it) → its attributes.
fn try_list_with_special_use(
    server: &Dovecot,
    account: &Account<'_>,
) -> Result<BTreeMap<String, String>, String> {
    let lines = try_raw_imap(
        server,
        account.name(),
        account.password(),
        &["LIST \"\" \"*\" RETURN (SPECIAL-USE)"],
    )?;
    Ok(lines[0]
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("* LIST (")?;
            let (attributes, rest) = rest.split_once(')')?;
            // ` "." "Name"` or ` "." Name`
            let name = rest.trim().split_once(' ')?.1.trim().trim_matches('"');
            Some((name.to_owned(), attributes.to_owned()))
        })
        .collect())
}

fn list_with_special_use(server: &Dovecot, account: &Account<'_>) -> BTreeMap<String, String> {
    try_list_with_special_use(server, account).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads the one checkpoint of a test as JSON.
fn checkpoint_json(env: &TestEnv) -> Value {
    env.only_state_json()
}

// ------------------------------------------------------------ fake server

/// A one-connection fake IMAP server: it greets with `capabilities`,
/// answers CAPABILITY, refuses STARTTLS and everything else, and records
/// every byte a client sends, so a test can prove what never went over the
/// wire. `finish` returns the bytes (empty when nobody connected).
struct FakeImap {
    port: u16,
    handle: std::thread::JoinHandle<Vec<u8>>,
}

impl FakeImap {
    fn start(ip: std::net::IpAddr, capabilities: &'static str) -> FakeImap {
        let listener = std::net::TcpListener::bind((ip, 0)).expect("binding the fake server");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() > deadline {
                            return Vec::new();
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => panic!("accepting: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut received = Vec::new();
            let _ = write!(writer, "* OK [CAPABILITY {capabilities}] fake ready\r\n");
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => received.extend_from_slice(&line),
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                let mut words = text.split_whitespace();
                let tag = words.next().unwrap_or("*").to_owned();
                let command = words.next().unwrap_or("").to_ascii_uppercase();
                let answer = match command.as_str() {
                    "CAPABILITY" => {
                        format!("* CAPABILITY {capabilities}\r\n{tag} OK done\r\n")
                    }
                    "LOGOUT" => format!("* BYE\r\n{tag} OK bye\r\n"),
                    _ => format!("{tag} BAD not here\r\n"),
                };
                if writer.write_all(answer.as_bytes()).is_err() || command == "LOGOUT" {
                    break;
                }
            }
            received
        });
        FakeImap { port, handle }
    }

    fn finish(self) -> String {
        String::from_utf8_lossy(&self.handle.join().expect("the fake server thread")).into_owned()
    }
}

/// This machine's address on its default route, if it has one: not a
/// loopback address, yet local, so a fake server can listen on it.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
