//! Interop: one table of end-to-end scenarios run on every test server —
//! Dovecot, Cyrus IMAP in both naming modes and Courier-IMAP
//! (`support::servers`) — and on every pair of them for server-to-server
//! copies. A scenario is one `#[test]` that runs each server (or pair) to its
//! end even when another fails, then fails naming every server that did and
//! why; nothing is skipped, and a server that is not installed fails with
//! the command that installs it.
//!
//! - `smoke`: the harness itself on each server (login, NAMESPACE, CREATE,
//!   APPEND, FETCH, POP3, TLS).
//! - `copy`: maildir ↔ IMAP, IMAP → IMAP across separators and prefixes,
//!   POP3 → maildir, reruns, a fresh checkpoint, empty folders, a 12 MB
//!   message.
//! - `resume`: `kill -9` mid-copy into each server, then a rerun.
//! - `names`: special-use folders, and folder names servers refuse.
//!
//! What a server holds is read with the test-side IMAP client, never with
//! mailtug. Messages are compared as `util::model` models: bytes with line
//! ends normalised to LF (servers serve CRLF, file stores keep LF), flags
//! (without `\Recent`) and internal dates. The one difference in bytes a
//! server may make is Cyrus's `munge8bit` (`as_stored_by`).

mod copy;
mod corpus;
mod mirror;
mod names;
mod resume;
mod smoke;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use serde_json::Value;

use crate::support::imapclient::Fetched;
use crate::support::servers::{ServerAccount, TestServer, ALL, PLAINTEXT};
use crate::util::crlf::lf;
use crate::util::model::{assert_same_messages, flag_text, mapped, Model, Stored};
use crate::util::{events_of, path_arg};

/// Every unordered pair of test servers, once (six of them).
fn pairs() -> Vec<(TestServer, TestServer)> {
    let mut pairs = Vec::new();
    for (i, a) in ALL.iter().enumerate() {
        for b in &ALL[i + 1..] {
            pairs.push((*a, *b));
        }
    }
    pairs
}

/// Runs `run` for each case, every one to its end even if another fails,
/// then fails with one line per failed case: its name and its panic
/// message, prefixed by the scenario.
fn on_each<T: Copy>(scenario: &str, cases: &[T], name: impl Fn(T) -> String, run: impl Fn(T)) {
    let mut failures = Vec::new();
    for &case in cases {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(case))) {
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            failures.push(format!("{}: {text}", name(case)));
        }
    }
    assert!(
        failures.is_empty(),
        "{scenario}: failed on {} of {}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// [`on_each`] over every server.
fn on_each_server(scenario: &str, run: impl Fn(TestServer)) {
    on_each(scenario, &ALL, |s| s.name().to_string(), run);
}

/// One side of a mailtug command: an endpoint and the options it needs.
#[derive(Clone, Debug)]
enum Side {
    Maildir(PathBuf),
    /// `imaps://` when `tls`, else `imap://` with `--tls none`.
    Imap {
        account: ServerAccount,
        tls: bool,
    },
    /// `pop3s://` when `tls`, else `pop3://` with `--tls none`.
    Pop3 {
        account: ServerAccount,
        tls: bool,
    },
}

impl Side {
    fn imaps(account: &ServerAccount) -> Side {
        Side::Imap {
            account: account.clone(),
            tls: true,
        }
    }

    fn imap(account: &ServerAccount) -> Side {
        Side::Imap {
            account: account.clone(),
            tls: false,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Side::Maildir(path) => format!("maildir:{}", path_arg(path)),
            Side::Imap { account, tls: true } => account.imaps_url().expect("IMAPS port"),
            Side::Imap { account, .. } => account.imap_url(),
            Side::Pop3 { account, tls: true } => account.pop3s_url().expect("POP3S port"),
            Side::Pop3 { account, .. } => account.pop3_url(),
        }
    }

    /// The password file and CA options for `side` (`src`, `dst`).
    fn options(&self, side: &str) -> Vec<String> {
        match self {
            Side::Maildir(_) => Vec::new(),
            Side::Imap { account, .. } | Side::Pop3 { account, .. } => account.side_args(side),
        }
    }

    fn is_plaintext(&self) -> bool {
        matches!(
            self,
            Side::Imap { tls: false, .. } | Side::Pop3 { tls: false, .. }
        )
    }
}

/// `mailtug --json VERB SRC DST` with each side's options, `--tls none`
/// when a side is plaintext, and `extra`.
fn command(verb: &str, src: &Side, dst: &Side, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--json".to_string(),
        verb.to_string(),
        src.endpoint(),
        dst.endpoint(),
    ];
    args.extend(src.options("src"));
    args.extend(dst.options("dst"));
    if src.is_plaintext() || dst.is_plaintext() {
        args.extend(PLAINTEXT.iter().map(|s| s.to_string()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The bytes `server` keeps of a message `raw` appended to it: the same,
/// but on Cyrus, whose `munge8bit: yes` (its default) stores each header
/// byte above 0x7f as `X` (the size unchanged). The only difference in
/// bytes the scenarios allow, and only on Cyrus.
fn as_stored_by(server: TestServer, raw: &[u8]) -> Vec<u8> {
    if server.keeps_8bit_headers() {
        return raw.to_vec();
    }
    // The header ends at its first empty line, LF or CRLF.
    let lf_end = raw.windows(2).position(|w| w == b"\n\n");
    let crlf_end = raw.windows(3).position(|w| w == b"\n\r\n");
    let header_end = lf_end
        .into_iter()
        .chain(crlf_end)
        .min()
        .map_or(raw.len(), |at| at + 1);
    raw.iter()
        .enumerate()
        .map(|(i, &b)| if i < header_end && b > 0x7f { b'X' } else { b })
        .collect()
}

/// `what`, naming Cyrus's `munge8bit` when one of `servers` applies it to
/// what a comparison expects, so a failure says why expected bytes hold
/// `X`.
fn munged_what(servers: &[TestServer], what: &str) -> String {
    let munging: Vec<&str> = servers
        .iter()
        .filter(|s| !s.keeps_8bit_headers())
        .map(|s| s.name())
        .collect();
    if munging.is_empty() {
        what.to_string()
    } else {
        format!(
            "{what} (expected bytes as {} stores them, munge8bit: 8-bit header bytes as `X`)",
            munging.join(" and ")
        )
    }
}

/// [`as_stored_by`] for every message of a model.
fn stored_by(server: TestServer, model: &Model) -> Model {
    mapped(model, |m| Stored {
        raw: as_stored_by(server, &m.raw),
        ..m.clone()
    })
}

/// A message as the test client fetched it, as a model entry (LF line ends).
fn stored(fetched: &Fetched) -> Stored {
    let names: Vec<&str> = fetched.flags.iter().map(String::as_str).collect();
    Stored {
        raw: lf(&fetched.raw),
        flags: flag_text(&corpus::flags(&names)),
        date: Some(fetched.internal_date),
    }
}

/// LIST as the server spells the names (decoded from modified UTF-7) →
/// their attributes, special uses included.
fn listed(account: &ServerAccount) -> BTreeMap<String, Vec<String>> {
    let mut client = account.client();
    let list = client.list_with_special_use();
    client.logout();
    list.into_iter().map(|e| (e.name, e.attributes)).collect()
}

/// Whether LIST attributes make a folder one that holds no messages
/// (`\Noselect`, `\NonExistent`).
fn is_noselect(attributes: &[String]) -> bool {
    attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent"))
}

/// Everything an account holds, read with the test client: each selectable
/// folder under mailtug's name → its messages in UID order.
fn server_model(account: &ServerAccount) -> Model {
    let folders = listed(account);
    let mut client = account.client();
    let mut model = Model::new();
    for (name, attributes) in &folders {
        if is_noselect(attributes) {
            continue;
        }
        let messages = client.messages(name).iter().map(stored).collect();
        model.insert(account.mailtug_folder(name), messages);
    }
    client.logout();
    model
}

/// The server's names of mailtug's folders `folders`, sorted.
fn server_names<'a>(
    account: &ServerAccount,
    folders: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut names: Vec<String> = folders
        .into_iter()
        .map(|f| account.server_folder(f))
        .collect();
    names.sort();
    names
}

/// Asserts that `account` lists exactly the folders of `expected` (under
/// the server's prefix and separator) and holds exactly its messages.
#[track_caller]
fn assert_server_holds(account: &ServerAccount, expected: &Model, what: &str) {
    let what = munged_what(&[account.server], what);
    let names: Vec<String> = listed(account).into_keys().collect();
    assert_eq!(
        names,
        server_names(account, expected.keys().map(String::as_str)),
        "{what}: the folders the server lists"
    );
    assert_same_messages(expected, &server_model(account), &what);
}

/// `folder_done` events by source folder.
fn folders_done(events: &[Value]) -> BTreeMap<String, Value> {
    events_of(events, "folder_done")
        .into_iter()
        .map(|e| (e["folder"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}
