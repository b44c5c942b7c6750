//! POP3 end to end: the real binary against a real Dovecot's POP3 and POP3S
//! listeners (the shared instance of `support::dovecot`).
//!
//! Every test makes its own users, so tests run in parallel without seeing
//! each other's mail. Passwords live in 0600 files in the test directory and
//! reach mailtug through `--src-password-file`/`--dst-password-file`, never
//! argv; every TLS connection (`pop3s://`, STLS on `pop3://`, `imaps://`)
//! gets the harness CA, except in the tests about certificate checks. The
//! host is always `127.0.0.1`, which the server certificate names.
//!
//! POP3 serves messages with CRLF line ends and mailtug stores what it
//! fetches with LF, so bytes are compared after turning CRLF into LF on both
//! sides (`lf`); POP3 has no flags or internal dates, so only bytes are
//! compared. What the server holds is read with `doveadm` and from its
//! maildir, independently of mailtug; what a session did (TOP, RETR, DELE
//! counts) comes from Dovecot's log line at the session's end.

mod copy;
mod delete;
mod failures;
mod scripted;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{self, Dovecot};
use crate::util::crlf::lf;
use crate::util::model::{diff_messages, header, Stored};
use crate::util::{args, events_of, path_arg, TestEnv};

/// The Dovecot every test shares (each with users of its own).
fn server() -> &'static Dovecot {
    Dovecot::shared()
}

/// One mail account of a test (see `support::account`), used as a POP3
/// source or an IMAP destination, with what the POP3 tests load and read
/// back.
struct Mailbox<'s>(support::account::Account<'s>);

impl<'s> std::ops::Deref for Mailbox<'s> {
    type Target = support::account::Account<'s>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'s> Mailbox<'s> {
    /// A new user; `quota` such as `Some("100K")` limits its storage.
    fn new(env: &TestEnv, server: &'s Dovecot, hint: &str, quota: Option<&str>) -> Mailbox<'s> {
        Mailbox(support::account::Account::new(env, server, hint, quota))
    }

    /// Puts messages into INBOX behind the server's back, in order (so UIDs,
    /// and with them UIDLs and POP3 message numbers, follow it), unflagged.
    fn load(&self, raws: &[Vec<u8>]) {
        // 2024-03-01 12:00 UTC: POP3 has no internal dates, any will do.
        let date = UNIX_EPOCH + Duration::from_secs(1_709_294_400);
        let messages: Vec<(Vec<u8>, &str, SystemTime)> =
            raws.iter().map(|raw| (raw.clone(), "", date)).collect();
        self.user.load(self.server, "INBOX", &messages);
    }

    /// The number of messages in INBOX.
    fn count(&self) -> u64 {
        self.user.count(self.server, "INBOX")
    }

    /// INBOX in UID order: (UID, the bytes of its file).
    fn held_by_uid(&self) -> Vec<(u32, Vec<u8>)> {
        self.user
            .messages(self.server, "INBOX")
            .into_iter()
            .map(|(uid, _, _, raw)| (uid, raw))
            .collect()
    }

    /// The bytes of every INBOX message, line ends normalised.
    fn held(&self) -> Vec<Vec<u8>> {
        self.held_by_uid()
            .into_iter()
            .map(|(_, raw)| lf(&raw))
            .collect()
    }

    /// Makes the server refuse a second POP3 session of this user while one
    /// is open (`-ERR [IN-USE]` after its lock wait), as RFC 1939 §4 servers
    /// that lock the maildrop do. The shared template leaves sessions
    /// unlocked; Dovecot takes the setting from a userdb field too, so this
    /// adds it to the user's passwd-file line (`users/NAME` next to the
    /// config, see `dovecot.conf.in`). Call it before the user's first login:
    /// a file Dovecot has not read yet is read fresh on the first lookup.
    fn lock_pop3_sessions(&self) {
        let file = self
            .server
            .conf_path()
            .parent()
            .expect("the config lives in the instance directory")
            .join("users")
            .join(self.name());
        let line = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading `{}`: {e}", file.display()));
        let line = line.trim_end();
        assert!(
            line.ends_with("::"),
            "a user line without extra fields: {line:?}"
        );
        let temp = file.with_extension("locking.tmp");
        fs::write(&temp, format!("{line}userdb_pop3_lock_session=yes\n")).unwrap();
        fs::rename(&temp, &file).unwrap();
    }
}

/// `copy --json SRC DST` plus `extra`, with `mailbox`'s password and CA.
fn copy_args(
    mailbox: &Mailbox<'_>,
    source: &str,
    destination: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut argv = args(["--json", "copy", source, destination]);
    argv.extend(mailbox.src_args());
    argv.extend(args(extra.iter().copied()));
    argv
}

/// Message `i` of series `tag`: a unique Message-ID, LF line ends, a body
/// of about `body_bytes` bytes (lines of 60 characters).
fn mail(tag: &str, i: usize, body_bytes: usize) -> Vec<u8> {
    let mut raw = format!(
        "Date: Fri, 01 Mar 2024 12:00:00 +0000\nFrom: Sender {i} <sender{i}@example.org>\n\
         To: rcpt@example.net\nSubject: {tag} message {i}\nMessage-ID: <{tag}.{i}@pop3.mailtug.test>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nBody of {tag} message {i}.\n"
    )
    .into_bytes();
    let mut n = 0;
    while raw.len() < body_bytes {
        raw.extend_from_slice(
            format!("{tag} {i} filler line {n:05} ..............................\n").as_bytes(),
        );
        n += 1;
    }
    raw
}

/// `n` messages of series `tag`.
fn mails(tag: &str, n: usize, body_bytes: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| mail(tag, i, body_bytes)).collect()
}

/// The size POP3 reports for a message stored with LF line ends: every LF
/// goes out as CRLF, and LIST counts the message as it goes out (as Dovecot
/// does; RFC 1939 leaves it to the server).
fn crlf_size(raw: &[u8]) -> u64 {
    (raw.len() + raw.iter().filter(|&&b| b == b'\n').count()) as u64
}

fn as_stored(raw: &[u8]) -> Stored {
    Stored {
        raw: lf(raw),
        flags: "-".into(),
        date: None,
    }
}

/// Asserts two lists of messages hold the same bytes (line ends
/// normalised) as multisets: same messages, each as often.
#[track_caller]
fn assert_same_raws(expected: &[Vec<u8>], actual: &[Vec<u8>], what: &str) {
    let expected: Vec<Stored> = expected.iter().map(|r| as_stored(r)).collect();
    let actual: Vec<Stored> = actual.iter().map(|r| as_stored(r)).collect();
    if let Some(diff) = diff_messages(&expected, &actual) {
        panic!("{what}: messages differ (- expected, + actual)\n{diff}");
    }
}

/// The Message-ID of a message, or a placeholder naming its subject.
fn message_id(raw: &[u8]) -> String {
    header(raw, "message-id").unwrap_or_else(|| {
        format!(
            "(no Message-ID, subject {:?})",
            header(raw, "subject").unwrap_or_default()
        )
    })
}

/// The Message-IDs of a list of messages, sorted (duplicates kept).
fn message_ids(raws: &[Vec<u8>]) -> Vec<String> {
    let mut ids: Vec<String> = raws.iter().map(|r| message_id(r)).collect();
    ids.sort();
    ids
}

/// The INBOX messages of a maildir destination.
fn maildir_inbox(root: &Path) -> Vec<Vec<u8>> {
    crate::util::model::read_maildir(root)
        .remove("INBOX")
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.raw)
        .collect()
}

/// The UIDL of a `message` event's key (`{"uidl": S}`).
fn uidl_of(event: &Value) -> String {
    event["key"]["uidl"]
        .as_str()
        .unwrap_or_else(|| panic!("not a POP3 message event: {event}"))
        .to_owned()
}

/// The UID inside one of Dovecot's UIDLs (`pop3_uidl_format = %08Xu%08Xv`).
fn uid_of_uidl(uidl: &str) -> u32 {
    assert_eq!(uidl.len(), 16, "a UIDL of the test server: {uidl}");
    u32::from_str_radix(&uidl[..8], 16).unwrap_or_else(|_| panic!("a hex UID in {uidl}"))
}

/// The `message` events with status `status`.
fn with_status<'a>(events: &'a [Value], status: &str) -> Vec<&'a Value> {
    events_of(events, "message")
        .into_iter()
        .filter(|e| e["status"] == status)
        .collect()
}

// ------------------------------------------------------------ server log

/// What Dovecot logged about one POP3 session at its end
/// (`pop3_logout_format`'s default `top=%t/%p, retr=%r/%b, del=%d/%m, …`).
#[derive(Debug)]
struct Session {
    line: String,
    /// TOP commands answered.
    top: u64,
    /// RETR commands answered: bodies downloaded.
    retr: u64,
    /// Messages marked with DELE (removed only if the session ended with QUIT).
    del: u64,
}

/// The number of lines the server log has now: pass it to `sessions_since`.
fn log_mark(server: &Dovecot) -> usize {
    server.log_tail(usize::MAX).lines().count()
}

/// The log lines after `mark`.
fn log_since(server: &Dovecot, mark: usize) -> Vec<String> {
    server
        .log_tail(usize::MAX)
        .lines()
        .skip(mark)
        .map(str::to_owned)
        .collect()
}

/// The POP3 sessions of `user` that ended after `mark`, once every session
/// that logged in after `mark` has ended. Dovecot writes the end line after
/// the connection closed (and through its log process), so it may come a
/// moment after mailtug exits: this waits for it, up to 20 s (no timing
/// assertion: the wait ends as soon as the lines are there).
fn sessions_since(server: &Dovecot, mark: usize, user: &str) -> Vec<Session> {
    let login = format!("pop3-login: Info: Login: user=<{user}>");
    let prefix = format!("pop3({user})<");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fresh = log_since(server, mark);
        let logins = fresh.iter().filter(|l| l.contains(&login)).count();
        let ended: Vec<Session> = fresh
            .iter()
            .filter(|l| l.contains(&prefix) && l.contains("Disconnected"))
            .map(|l| Session {
                line: l.clone(),
                top: counter(l, "top="),
                retr: counter(l, "retr="),
                del: counter(l, "del="),
            })
            .collect();
        if ended.len() >= logins {
            return ended;
        }
        if Instant::now() > deadline {
            panic!(
                "dovecot logged {logins} POP3 logins of {user} but {} session ends:\n{}",
                ended.len(),
                fresh.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The login lines of `user` after `mark` (once their sessions ended).
fn logins_since(server: &Dovecot, mark: usize, user: &str) -> Vec<String> {
    sessions_since(server, mark, user);
    let login = format!("pop3-login: Info: Login: user=<{user}>");
    log_since(server, mark)
        .into_iter()
        .filter(|l| l.contains(&login))
        .collect()
}

/// `retr=3/170` → 3.
fn counter(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key))
        .and_then(|value| value.split('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{key}` in the session line: {line}"))
}

/// The sum of one counter over sessions.
fn total(sessions: &[Session], counter: fn(&Session) -> u64) -> u64 {
    sessions.iter().map(counter).sum()
}

/// Reads the one checkpoint of a test as JSON.
fn checkpoint_json(env: &TestEnv) -> Value {
    env.only_state_json()
}

/// The checkpoint's `delivered` map of INBOX: UIDL → unix seconds.
fn delivered(checkpoint: &Value) -> std::collections::BTreeMap<String, u64> {
    let done = &checkpoint["folders"]["INBOX"]["done"];
    assert_eq!(done["kind"], "uidls", "{checkpoint:#}");
    done["delivered"]
        .as_object()
        .unwrap_or_else(|| panic!("no `delivered` map: {checkpoint:#}"))
        .iter()
        .map(|(uidl, secs)| (uidl.clone(), secs.as_u64().expect("unix seconds")))
        .collect()
}

/// Waits until every thread of process `pid` is stopped (after SIGSTOP):
/// `kill` returns once the signal is sent, and a thread busy on another CPU
/// may still finish a write after that.
fn wait_until_stopped(pid: u32) {
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let states: Vec<char> = fs::read_dir(&tasks)
            .unwrap_or_else(|e| panic!("listing `{}`: {e}", tasks.display()))
            .filter_map(|task| fs::read_to_string(task.ok()?.path().join("stat")).ok())
            // `pid (comm) S …`: the state follows the last `)`.
            .filter_map(|stat| stat.rsplit_once(')')?.1.trim_start().chars().next())
            .collect();
        if !states.is_empty() && states.iter().all(|&state| state == 'T') {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} did not stop: thread states {states:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}
