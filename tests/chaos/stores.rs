//! The four sources and three sinks of the chaos test: how each is filled
//! with the corpus, named on the command line, and read back (maildir and
//! mbox from the files, IMAP and POP3 with `doveadm`, all independently of
//! the run under test).

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailtug::mboxrd::MboxReader;

use super::proxy::Pop3Proxy;
use crate::support::{self, Dovecot};
use crate::util::corpus::{self, Synthetic};
use crate::util::crlf::lf;
use crate::util::model::{flag_text, read_maildir, read_mbox_dir, Model, Stored};
use crate::util::{path_arg, TestEnv};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Mbox,
    Maildir,
    Imap,
    Pop3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    Maildir,
    Mbox,
    Imap,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Mbox,
        SourceKind::Maildir,
        SourceKind::Imap,
        SourceKind::Pop3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Mbox => "mbox",
            SourceKind::Maildir => "maildir",
            SourceKind::Imap => "imap",
            SourceKind::Pop3 => "pop3",
        }
    }

    /// Whether messages keep flags and internal dates on the way (POP3 has
    /// neither).
    pub fn has_metadata(self) -> bool {
        self != SourceKind::Pop3
    }

    pub fn is_server(self) -> bool {
        matches!(self, SourceKind::Imap | SourceKind::Pop3)
    }
}

impl SinkKind {
    pub const ALL: [SinkKind; 3] = [SinkKind::Maildir, SinkKind::Mbox, SinkKind::Imap];

    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Maildir => "maildir",
            SinkKind::Mbox => "mbox",
            SinkKind::Imap => "imap",
        }
    }
}

/// A Dovecot user of one pair (see `support::account`).
pub struct Account(support::account::Account<'static>);

impl std::ops::Deref for Account {
    type Target = support::account::Account<'static>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Account {
    pub fn new(env: &TestEnv, hint: &str) -> Account {
        Account(support::account::Account::new(
            env,
            Dovecot::shared(),
            hint,
            None,
        ))
    }
}

/// A filled source.
pub struct Source {
    pub endpoint: String,
    pub args: Vec<String>,
    pub account: Option<Account>,
    /// POP3: the proxy mailtug reaches the server through.
    pub proxy: Option<Pop3Proxy>,
}

impl Source {
    pub fn set_up(kind: SourceKind, env: &TestEnv, folders: &[(String, Vec<Synthetic>)]) -> Source {
        let server = Dovecot::shared;
        match kind {
            SourceKind::Mbox => {
                for (folder, messages) in folders {
                    corpus::write_mbox(&env.path(&format!("src/{folder}.mbox")), messages);
                }
                Source {
                    endpoint: env.endpoint("mbox", "src"),
                    args: Vec::new(),
                    account: None,
                    proxy: None,
                }
            }
            SourceKind::Maildir => {
                for (folder, messages) in folders {
                    let dir = if folder == "INBOX" {
                        env.path("src")
                    } else {
                        env.path(&format!("src/.{folder}"))
                    };
                    corpus::write_maildir(&dir, messages);
                }
                Source {
                    endpoint: env.endpoint("maildir", "src"),
                    args: Vec::new(),
                    account: None,
                    proxy: None,
                }
            }
            SourceKind::Imap => {
                let account = Account::new(env, "chaos-imap-src");
                for (folder, messages) in folders {
                    load_imap(&account, server(), folder, messages);
                }
                Source {
                    endpoint: account.imaps(),
                    args: account.side_args("src"),
                    account: Some(account),
                    proxy: None,
                }
            }
            SourceKind::Pop3 => {
                let account = Account::new(env, "chaos-pop3-src");
                let proxy = Pop3Proxy::start(server().pop3_port());
                load_pop3(&account, server(), folders);
                Source {
                    endpoint: account.url("pop3", proxy.port),
                    args: vec![
                        "--src-password-file".into(),
                        path_arg(&account.password_file),
                        "--tls".into(),
                        "none".into(),
                    ],
                    account: Some(account),
                    proxy: Some(proxy),
                }
            }
        }
    }

    /// Server sources only: puts the messages on the server again, once a
    /// job with `--delete-source` moved them all away.
    pub fn reload(&self, folders: &[(String, Vec<Synthetic>)]) {
        let account = self.account.as_ref().expect("a server source");
        let server = Dovecot::shared();
        if self.proxy.is_some() {
            load_pop3(account, server, folders);
        } else {
            for (folder, messages) in folders {
                load_imap(account, server, folder, messages);
            }
        }
    }

    /// Server sources only: every message the server still holds, in any
    /// folder (LF line ends).
    pub fn held(&self) -> Vec<Vec<u8>> {
        let account = self.account.as_ref().expect("a server source");
        let server = Dovecot::shared();
        account
            .user
            .folders(server)
            .iter()
            .flat_map(|folder| account.user.messages(server, folder))
            .map(|(_, _, _, raw)| lf(&raw))
            .collect()
    }
}

/// Puts the messages into the INBOX of a POP3 account, unflagged.
fn load_pop3(account: &Account, server: &Dovecot, folders: &[(String, Vec<Synthetic>)]) {
    assert_eq!(folders.len(), 1, "a POP3 account has one folder");
    // POP3 has no flags and no dates: any will do.
    let date = UNIX_EPOCH + Duration::from_secs(1_709_294_400);
    let loaded: Vec<(Vec<u8>, &str, SystemTime)> = folders[0]
        .1
        .iter()
        .map(|m| (m.raw.clone(), "", date))
        .collect();
    account.user.load(server, "INBOX", &loaded);
}

/// Puts messages into an IMAP folder behind the server's back (UIDs follow
/// their order), with system flags as maildir letters and keywords added
/// with `doveadm flags add`.
fn load_imap(account: &Account, server: &Dovecot, folder: &str, messages: &[Synthetic]) {
    let letters: Vec<String> = messages
        .iter()
        .map(|m| corpus::system_flag_letters(&m.flags))
        .collect();
    let loaded: Vec<(Vec<u8>, &str, SystemTime)> = messages
        .iter()
        .zip(&letters)
        .map(|(m, letters)| {
            let date = UNIX_EPOCH + Duration::from_secs(m.date as u64);
            (m.raw.clone(), letters.as_str(), date)
        })
        .collect();
    account.user.load(server, folder, &loaded);
    let uids: Vec<u32> = account
        .user
        .messages(server, folder)
        .into_iter()
        .map(|(uid, ..)| uid)
        .collect();
    assert_eq!(uids.len(), messages.len(), "loading folder {folder}");
    let mut by_keywords: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (message, uid) in messages.iter().zip(&uids) {
        if !message.flags.keywords.is_empty() {
            by_keywords
                .entry(message.flags.keywords.join(" "))
                .or_default()
                .push(uid.to_string());
        }
    }
    for (keywords, uids) in by_keywords {
        server.doveadm(&[
            "flags",
            "add",
            "-u",
            &account.user.name,
            &keywords,
            "mailbox",
            folder,
            "uid",
            &uids.join(","),
        ]);
    }
}

/// A destination.
pub struct Sink {
    pub kind: SinkKind,
    pub endpoint: String,
    pub args: Vec<String>,
    pub root: PathBuf,
    pub account: Option<Account>,
}

impl Sink {
    /// A new, empty destination; `dir` names it in the test directory.
    pub fn set_up(kind: SinkKind, env: &TestEnv, dir: &str) -> Sink {
        let root = env.path(dir);
        match kind {
            SinkKind::Maildir => Sink {
                kind,
                endpoint: env.endpoint("maildir", dir),
                args: Vec::new(),
                root,
                account: None,
            },
            // A directory tree: one `NAME.mbox` per folder.
            SinkKind::Mbox => Sink {
                kind,
                endpoint: env.endpoint("mbox", dir),
                args: Vec::new(),
                root,
                account: None,
            },
            SinkKind::Imap => {
                let account = Account::new(env, "chaos-imap-dst");
                Sink {
                    kind,
                    endpoint: account.imaps(),
                    args: account.side_args("dst"),
                    root,
                    account: Some(account),
                }
            }
        }
    }

    /// What the destination holds for good. For mbox, only the part of each
    /// file a pending journal does not disown: an interrupted batch past the
    /// journal's length is rolled back by the next run, and is checked to
    /// parse only after that (see `check_mbox_file`).
    pub fn committed(&self) -> Model {
        match self.kind {
            SinkKind::Maildir => read_maildir(&self.root),
            SinkKind::Mbox => {
                let mut model = Model::new();
                if !self.root.exists() {
                    return model;
                }
                for (folder, path) in crate::util::model::mbox_files(&self.root) {
                    let mut bytes = fs::read(&path).unwrap();
                    if let Some(committed) = journal_length(&path) {
                        bytes.truncate(committed.min(bytes.len() as u64) as usize);
                    }
                    let messages = MboxReader::new(Cursor::new(bytes), 0)
                        .map(|entry| {
                            let entry = entry.unwrap_or_else(|e| {
                                panic!(
                                    "the committed part of {} does not parse: {e}",
                                    path.display()
                                )
                            });
                            Stored {
                                raw: entry.raw,
                                flags: flag_text(&entry.flags),
                                date: entry.date.map(|d| {
                                    d.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
                                }),
                            }
                        })
                        .collect();
                    model.insert(folder, messages);
                }
                model
            }
            SinkKind::Imap => self.account.as_ref().unwrap().model(),
        }
    }

    /// Everything the destination holds, once no run is left half-done.
    pub fn read(&self) -> Model {
        match self.kind {
            SinkKind::Maildir => read_maildir(&self.root),
            SinkKind::Mbox => read_mbox_dir(&self.root),
            SinkKind::Imap => self.account.as_ref().unwrap().model(),
        }
    }
}

/// The committed length a pending mbox journal records, if there is one.
fn journal_length(mbox: &Path) -> Option<u64> {
    let name = mbox.file_name()?.to_string_lossy().into_owned();
    let journal = mbox.with_file_name(format!(".{name}.mailtug-journal"));
    let text = fs::read_to_string(journal).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("journal of {} holds {text:?}", mbox.display())),
    )
}

/// A strict check of an mbox file written by mailtug, independent of
/// mailtug's reader: the file starts with a From_ line; every line that
/// starts with `From ` is a well-formed From_ line (sender, asctime date)
/// that follows a blank line; every message ends with the blank line that
/// separates it from the next, the last one included (so the file does not
/// end inside a message); and the count of From_ lines is `expected`.
pub fn check_mbox_file(path: &Path, expected: usize) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if bytes.is_empty() {
        return if expected == 0 {
            Ok(())
        } else {
            Err(format!("{} is empty", path.display()))
        };
    }
    if !bytes.starts_with(b"From ") {
        return Err(format!(
            "{} does not start with a From_ line",
            path.display()
        ));
    }
    // CRLF messages are written with CRLF From_ lines and blank lines.
    if !bytes.ends_with(b"\n\n") && !bytes.ends_with(b"\n\r\n") {
        let tail = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(60)..]).into_owned();
        return Err(format!(
            "{} does not end with a blank line (a message is cut short?): ends {tail:?}",
            path.display()
        ));
    }
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect();
    let mut from_lines = 0;
    for (n, line) in lines.iter().enumerate() {
        if !line.starts_with(b"From ") {
            continue;
        }
        from_lines += 1;
        if n > 0 && !lines[n - 1].is_empty() {
            return Err(format!(
                "{} line {}: a From_ line that does not follow a blank line: {:?}",
                path.display(),
                n + 1,
                String::from_utf8_lossy(line)
            ));
        }
        if !is_from_line(line) {
            return Err(format!(
                "{} line {}: not a well-formed From_ line: {:?}",
                path.display(),
                n + 1,
                String::from_utf8_lossy(line)
            ));
        }
    }
    if from_lines != expected {
        return Err(format!(
            "{} has {from_lines} From_ lines, expected {expected} messages",
            path.display()
        ));
    }
    Ok(())
}

/// `From SENDER Www Mmm dd hh:mm:ss yyyy` (day space-padded or not).
fn is_from_line(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let [from, sender, weekday, month, day, time, year] = words[..] else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let time_ok = {
        let parts: Vec<&str> = time.split(':').collect();
        parts.len() == 3 && parts.iter().all(|p| digits(p, 2))
    };
    from == "From"
        && !sender.is_empty()
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&weekday)
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&month)
        && (digits(day, 1) || digits(day, 2))
        && time_ok
        && digits(year, 4)
}

/// Every `tmp/` file of a maildir tree.
pub fn maildir_tmp_files(root: &Path) -> Vec<PathBuf> {
    crate::util::model::maildir_folders(root)
        .into_iter()
        .flat_map(|(_, dir)| {
            fs::read_dir(dir.join("tmp"))
                .map(|l| l.map(|e| e.unwrap().path()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect()
}
