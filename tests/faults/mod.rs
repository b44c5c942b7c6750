//! Faults on the wire: the real binary copies through `support::faultproxy`
//! to the shared Dovecot while the proxy drops connections every few hundred
//! KB, stalls them past `--timeout`, cuts TLS handshakes, and plays a server
//! that says `* BYE` mid-FETCH or `-ERR [SYS/TEMP]` mid-RETR and hangs up.
//!
//! What every test holds mailtug to: with enough `--retries` the run ends
//! with exit 0 and the destination holds exactly the source's messages —
//! `mailtug verify` finds nothing missing or extra, and the destination's
//! bytes are the source's, as a multiset, so nothing is lost and nothing
//! doubled; with retries exhausted it ends with one clear error line and no
//! panic, its checkpoint claims only messages the destination holds, and a
//! rerun without faults completes the copy exactly. The proxy's counters
//! prove the faults happened (a test whose fault never fired proves nothing).
//!
//! Transport: plaintext (`imap://`/`pop3://` with `--tls none`, allowed on
//! loopback) where a fault must land at a protocol position (an injected
//! line after a FETCH response or a RETR answer) or where byte counts should
//! be easy to relate to messages; implicit TLS (`imaps://` with the harness
//! CA) where TLS itself matters (handshake cuts) and, in the IMAP → IMAP
//! test, on the destination side, so drops also hit encrypted streams.
//! `verify` always talks to Dovecot directly, over TLS.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailtug::checkpoint::FolderProgress;
use mailtug::fingerprint::Fingerprint;
use mailtug::message::SourceKey;
use mailtug::state::State;

use crate::support::faultproxy::{Connections, Direction, Fault, FaultProxy, Plan, Rule, Stats};
use crate::support::{self, Dovecot};
use crate::util::corpus::{self, Synthetic};
use crate::util::crlf::lf;
use crate::util::model::{maildir_files, read_maildir};
use crate::util::{args, assert_no_panic, count, events_of, json_events, stderr, summary, TestEnv};

mod proxy;

/// Messages per test: with ~3 KB each, about 600 KB go through the proxy,
/// so a drop every 200 KB hits every test several times.
const MESSAGES: usize = 200;
/// Each message is padded to about this size.
const MESSAGE_BYTES: usize = 3_000;
/// The drop interval of the drop tests.
const DROP_EVERY: u64 = 200_000;

fn server() -> &'static Dovecot {
    Dovecot::shared()
}

/// Synthetic message `i` (with its quirks: no Message-ID, CRLF, `From `
/// lines) padded with body lines to about `MESSAGE_BYTES`.
fn padded(i: usize) -> Synthetic {
    corpus::padded(corpus::synthetic(i), MESSAGE_BYTES, |n| {
        format!("padding {n:03} of synthetic message {i} ----------")
    })
}

fn padded_range(range: std::ops::Range<usize>) -> Vec<Synthetic> {
    range.map(padded).collect()
}

/// One Dovecot user of a test (see `support::account`), reached straight
/// or through a fault proxy.
struct Account<'s>(support::account::Account<'s>);

impl<'s> std::ops::Deref for Account<'s> {
    type Target = support::account::Account<'s>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Account<'static> {
    fn new(env: &TestEnv, hint: &str) -> Account<'static> {
        Account(support::account::Account::new(env, server(), hint, None))
    }

    /// `imap://USER@127.0.0.1:PORT` through `proxy` (plaintext with `--tls none`).
    fn imap_via(&self, proxy: &FaultProxy) -> String {
        self.url("imap", proxy.port())
    }

    /// `imaps://USER@127.0.0.1:PORT` through `proxy`.
    fn imaps_via(&self, proxy: &FaultProxy) -> String {
        self.url("imaps", proxy.port())
    }

    /// `pop3://USER@127.0.0.1:PORT` through `proxy` (plaintext with `--tls none`).
    fn pop3_via(&self, proxy: &FaultProxy) -> String {
        self.url("pop3", proxy.port())
    }

    /// The password file and the CA for `side` (`src`/`dst`), then `more`.
    fn args_and(&self, side: &str, more: &[&str]) -> Vec<String> {
        let mut argv = self.side_args(side);
        argv.extend(args(more.iter().copied()));
        argv
    }

    /// Puts messages into INBOX behind the server's back, in order (UIDs,
    /// UIDLs and POP3 numbers follow it).
    fn load(&self, messages: &[Synthetic]) {
        let loaded: Vec<(Vec<u8>, &str, SystemTime)> = messages
            .iter()
            .map(|m| {
                let flags = if m.flags.seen { "S" } else { "" };
                let date = UNIX_EPOCH + Duration::from_secs(m.date as u64);
                (m.raw.clone(), flags, date)
            })
            .collect();
        self.user.load(self.server, "INBOX", &loaded);
    }

    /// INBOX by UID, line ends normalised.
    fn by_uid(&self) -> Vec<(u32, Vec<u8>)> {
        self.user
            .messages(self.server, "INBOX")
            .into_iter()
            .map(|(uid, _, _, raw)| (uid, lf(&raw)))
            .collect()
    }

    /// The bytes of every INBOX message, line ends normalised.
    fn held(&self) -> Vec<Vec<u8>> {
        self.by_uid().into_iter().map(|(_, raw)| raw).collect()
    }
}

/// The bytes of every message of a one-folder maildir (INBOX).
fn maildir_held(env: &TestEnv, dir: &str) -> Vec<Vec<u8>> {
    let model = read_maildir(&env.path(dir));
    assert!(
        model.keys().all(|folder| folder == "INBOX"),
        "only INBOX expected in {dir}: {:?}",
        model.keys().collect::<Vec<_>>()
    );
    model
        .into_values()
        .flatten()
        .map(|stored| lf(&stored.raw))
        .collect()
}

fn raw_of(messages: &[Synthetic]) -> Vec<Vec<u8>> {
    messages.iter().map(|m| lf(&m.raw)).collect()
}

/// Asserts the destination holds exactly the source's messages: the same
/// fingerprints, each once, and the same bytes as a multiset.
#[track_caller]
fn assert_exact_copy(source: &[Vec<u8>], destination: &[Vec<u8>], what: &str) {
    let mut counts: BTreeMap<Fingerprint, usize> = BTreeMap::new();
    for raw in destination {
        *counts.entry(Fingerprint::of(raw)).or_default() += 1;
    }
    let doubled: Vec<String> = counts
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(f, n)| format!("{f} ×{n}"))
        .collect();
    assert!(
        doubled.is_empty(),
        "{what}: duplicates at the destination: {doubled:?}"
    );
    let wanted: BTreeMap<Fingerprint, usize> =
        source.iter().map(|raw| (Fingerprint::of(raw), 1)).collect();
    let missing: Vec<String> = wanted
        .keys()
        .filter(|f| !counts.contains_key(f))
        .map(|f| f.to_string())
        .collect();
    let extra: Vec<String> = counts
        .keys()
        .filter(|f| !wanted.contains_key(f))
        .map(|f| f.to_string())
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} of {} messages missing {missing:?}, extra {extra:?}",
        missing.len(),
        source.len()
    );
    let (mut expected, mut actual) = (source.to_vec(), destination.to_vec());
    expected.sort();
    actual.sort();
    let differing = expected.iter().zip(&actual).filter(|(a, b)| a != b).count();
    assert!(
        expected == actual,
        "{what}: {differing} messages differ in their bytes"
    );
}

/// Runs `mailtug --json copy …` and returns its output, after checking it
/// did not panic.
fn copy(env: &TestEnv, source: &str, destination: &str, extra: &[String]) -> std::process::Output {
    let mut argv = args(["--json", "-v", "copy", source, destination]);
    argv.extend(extra.iter().cloned());
    let output = env.run_owned(&argv);
    assert_no_panic(&stderr(&output));
    output
}

#[track_caller]
fn assert_code(output: &std::process::Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: expected exit {code}\n--- stderr ---\n{}",
        stderr(output)
    );
}

/// `mailtug verify` straight against the servers (no proxy): exit 0, and
/// `checked` messages with nothing missing or extra.
fn assert_verified(env: &TestEnv, source: &str, destination: &str, extra: &[String], checked: u64) {
    let mut argv = args(["--json", "verify", source, destination]);
    argv.extend(extra.iter().cloned());
    let output = env.run_owned(&argv);
    assert_code(&output, 0, "verify");
    let events = json_events(&output);
    let last = summary(&events);
    assert_eq!(last["messages_missing"], 0, "verify: {last}");
    assert_eq!(last["messages_extra"], 0, "verify: {last}");
    assert_eq!(last["messages_checked"], checked, "verify: {last}");
}

/// The `mailtug: warning:` lines saying a folder is being retried.
fn reconnects(output: &std::process::Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.starts_with("mailtug: warning: ") && l.contains("reconnecting (attempt"))
        .map(str::to_owned)
        .collect()
}

/// The `mailtug: error:` lines.
fn error_lines(output: &std::process::Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.starts_with("mailtug: error: "))
        .map(str::to_owned)
        .collect()
}

/// The job's checkpoint progress for INBOX.
fn inbox_progress(env: &TestEnv) -> FolderProgress {
    let (_, path) = env.only_checkpoint();
    let checkpoint = State::inspect(&path)
        .expect("the state opens")
        .to_checkpoint()
        .expect("the state reads");
    checkpoint
        .folders
        .iter()
        .find(|(name, _)| name.as_str() == "INBOX")
        .map(|(_, progress)| progress.clone())
        .unwrap_or_default()
}

/// Asserts every source message the checkpoint claims is at the
/// destination; returns how many it claims.
#[track_caller]
fn assert_claims_are_stored(
    progress: &FolderProgress,
    source: &[(SourceKey, Vec<u8>)],
    destination: &[Vec<u8>],
    what: &str,
) -> usize {
    let held: std::collections::HashSet<Fingerprint> =
        destination.iter().map(|raw| Fingerprint::of(raw)).collect();
    let mut claimed = 0;
    for (key, raw) in source {
        if progress.is_done(key) {
            claimed += 1;
            assert!(
                held.contains(&Fingerprint::of(raw)),
                "{what}: the checkpoint claims {key}, which the destination lacks"
            );
        }
    }
    claimed
}

/// The proxy's counters, printed for the record (the report reads them).
fn log_stats(what: &str, stats: &Stats, started: Instant) {
    eprintln!(
        "faults: {what}: {} connections, {} drops, {} stalls, {} injections, \
         {} B to client, {} B to server, {:.1} s",
        stats.connections,
        stats.drops,
        stats.stalls,
        stats.injections,
        stats.bytes_to_client,
        stats.bytes_to_server,
        started.elapsed().as_secs_f64()
    );
}

/// What a fault test starts from: its own test directory, the clock its
/// counters are printed with, and the `MESSAGES` padded messages its source
/// holds.
struct Scenario {
    started: Instant,
    env: TestEnv,
    messages: Vec<Synthetic>,
}

impl Scenario {
    fn new() -> Scenario {
        Scenario {
            started: Instant::now(),
            env: TestEnv::new(),
            messages: padded_range(0..MESSAGES),
        }
    }

    /// A new account with an empty INBOX.
    fn account(&self, hint: &str) -> Account<'static> {
        Account::new(&self.env, hint)
    }

    /// A new account with the messages in its INBOX.
    fn loaded_account(&self, hint: &str) -> Account<'static> {
        let account = self.account(hint);
        account.load(&self.messages);
        account
    }

    /// Writes the messages to the maildir `src`; returns its endpoint.
    fn maildir_source(&self) -> String {
        corpus::write_maildir(&self.env.path("src"), &self.messages);
        self.env.endpoint("maildir", "src")
    }

    /// The maildir `out`.
    fn out(&self) -> String {
        self.env.endpoint("maildir", "out")
    }

    /// Runs `mailtug --json copy …` (see [`copy`]).
    fn copy(&self, source: &str, destination: &str, extra: &[String]) -> std::process::Output {
        copy(&self.env, source, destination, extra)
    }

    /// The counters of `proxy`, printed for the record.
    fn stats(&self, what: &str, proxy: &FaultProxy) -> Stats {
        let stats = proxy.stats();
        log_stats(what, &stats, self.started);
        stats
    }

    /// Asserts the maildir `out` holds exactly the messages.
    #[track_caller]
    fn assert_in_out(&self, what: &str) {
        assert_exact_copy(
            &raw_of(&self.messages),
            &maildir_held(&self.env, "out"),
            what,
        );
    }

    /// Asserts the INBOX of `account` holds exactly the messages.
    #[track_caller]
    fn assert_in(&self, account: &Account<'static>, what: &str) {
        assert_exact_copy(&raw_of(&self.messages), &account.held(), what);
    }

    /// `mailtug verify` straight against the servers finds every message.
    fn assert_verified(&self, source: &str, destination: &str, extra: &[String]) {
        assert_verified(&self.env, source, destination, extra, MESSAGES as u64);
    }
}

/// Asserts mailtug retried a folder with a warning that contains `saying`
/// (any warning for "").
#[track_caller]
fn assert_reconnected(output: &std::process::Output, saying: &str, what: &str) {
    assert!(
        reconnects(output).iter().any(|w| w.contains(saying)),
        "{what}:\n{}",
        stderr(output)
    );
}

/// Asserts there is one `mailtug: error:` line, containing every one of
/// `words`.
#[track_caller]
fn assert_one_error(output: &std::process::Output, words: &[&str], what: &str) {
    let errors = error_lines(output);
    assert!(
        errors.len() == 1 && words.iter().all(|w| errors[0].contains(w)),
        "{what}:\n{}",
        stderr(output)
    );
}

/// Asserts a run whose retries ran out ended with exit 1 or 3 and one
/// error line containing every one of `words`.
#[track_caller]
fn assert_failed_cleanly(failed: &std::process::Output, words: &[&str], what: &str) {
    let code = failed.status.code();
    assert!(
        matches!(code, Some(1 | 3)),
        "exit 1 or 3, got {code:?}:\n{}",
        stderr(failed)
    );
    assert_one_error(failed, words, what);
}

/// Asserts no message is held twice.
#[track_caller]
fn assert_no_duplicates(held: &[Vec<u8>]) {
    assert_exact_copy(held, held, "no duplicates even after a failed run");
}

/// A BYE sent in place of the next answer, on `connections`.
fn bye(after: u64, marker: &[u8], connections: Connections) -> Rule {
    Rule::to_client(Fault::InjectAndClose {
        after,
        marker: marker.to_vec(),
        line: b"* BYE Server shutting down.\r\n".to_vec(),
    })
    .on(connections)
}

/// The connection `number` only.
fn connection(number: usize) -> Connections {
    Connections::Numbers(number..number + 1)
}

// ------------------------------------------------------------ drops

#[test]
fn imap_to_maildir_survives_a_drop_every_200_kb() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-imap-md");
    // Plaintext: the drops count message bytes, not TLS records.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::drop_every(Direction::ToClient, DROP_EVERY),
    );
    let extra = source.args_and("src", &["--tls", "none", "--retries", "8"]);
    let output = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    let stats = s.stats("IMAP → maildir", &proxy);
    assert_code(&output, 0, "copy through drops");
    assert!(stats.drops >= 2, "several drops happened: {stats:?}");
    assert_reconnected(&output, "", "mailtug reconnected");
    s.assert_in_out("IMAP → maildir");
    s.assert_verified(&source.imaps(), &s.out(), &source.side_args("src"));
}

#[test]
fn maildir_to_imap_survives_a_drop_every_200_kb() {
    let s = Scenario::new();
    let destination = s.account("fault-md-imap");
    let src = s.maildir_source();
    // Plaintext, and the drops cut what mailtug sends: APPENDs in flight.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::drop_every(Direction::ToServer, DROP_EVERY),
    );
    let extra = destination.args_and("dst", &["--tls", "none", "--retries", "8"]);
    let output = s.copy(&src, &destination.imap_via(&proxy), &extra);
    let stats = s.stats("maildir → IMAP", &proxy);
    assert_code(&output, 0, "copy through drops");
    assert!(stats.drops >= 2, "several drops happened: {stats:?}");
    assert_reconnected(&output, "", "mailtug reconnected");
    s.assert_in(&destination, "maildir → IMAP");
    s.assert_verified(&src, &destination.imaps(), &destination.side_args("dst"));
}

#[test]
fn imap_to_imap_survives_drops_on_both_sides() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-imap-imap-src");
    let destination = s.account("fault-imap-imap-dst");
    // The source in plaintext, the destination over TLS: the drops on that
    // side cut encrypted records wherever they fall. A drop on either side
    // reconnects both, so the sides take turns: the source's connections 0
    // and 2 die 200 KB in, the destination's connection 1 150 KB in.
    let source_proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean()
            .with(Rule::to_client(Fault::DropAfter(DROP_EVERY)).on(connection(0)))
            .with(Rule::to_client(Fault::DropAfter(DROP_EVERY)).on(connection(2))),
    );
    let destination_proxy = FaultProxy::start(
        server().imaps_port(),
        Plan::clean().with(Rule::to_server(Fault::DropAfter(150_000)).on(connection(1))),
    );
    let both = [source.side_args("src"), destination.side_args("dst")].concat();
    let extra = [both.clone(), args(["--tls", "none", "--retries", "6"])].concat();
    let output = s.copy(
        &source.imap_via(&source_proxy),
        &destination.imaps_via(&destination_proxy),
        &extra,
    );
    let from = s.stats("IMAP → IMAP, source", &source_proxy);
    let to = s.stats("IMAP → IMAP, destination", &destination_proxy);
    assert_code(&output, 0, "copy through drops");
    assert!(
        (from.drops, to.drops) == (2, 1),
        "both sides dropped: {from:?} {to:?}"
    );
    s.assert_in(&destination, "IMAP → IMAP");
    s.assert_verified(&source.imaps(), &destination.imaps(), &both);
}

#[test]
fn pop3_to_imap_survives_a_drop_every_200_kb() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-pop3-src");
    let destination = s.account("fault-pop3-dst");
    // Plaintext POP3 through the proxy; the destination straight over TLS.
    let proxy = FaultProxy::start(
        server().pop3_port(),
        Plan::drop_every(Direction::ToClient, DROP_EVERY),
    );
    let both = [source.side_args("src"), destination.side_args("dst")].concat();
    let extra = [both.clone(), args(["--tls", "none", "--retries", "8"])].concat();
    let output = s.copy(&source.pop3_via(&proxy), &destination.imaps(), &extra);
    let stats = s.stats("POP3 → IMAP", &proxy);
    assert_code(&output, 0, "copy through drops");
    assert!(stats.drops >= 2, "several drops happened: {stats:?}");
    assert_reconnected(&output, "", "mailtug reconnected");
    s.assert_in(&destination, "POP3 → IMAP");
    s.assert_verified(&source.pop3s(), &destination.imaps(), &both);
}

/// `--retries` counts attempts in a row that store nothing: a folder larger
/// than what one connection carries between drops still finishes.
#[test]
fn retries_count_only_attempts_that_store_nothing() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-progress");
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::drop_every(Direction::ToClient, 120_000),
    );
    let extra = source.args_and("src", &["--tls", "none", "--retries", "1"]);
    let output = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    let stats = s.stats("IMAP → maildir with --retries 1", &proxy);
    assert_code(&output, 0, "copy through more drops than --retries");
    assert!(stats.drops >= 3, "more drops than retries: {stats:?}");
    s.assert_in_out("IMAP → maildir with --retries 1");
    let events = json_events(&output);
    assert_eq!(
        count(summary(&events), "messages_copied") as usize,
        MESSAGES,
        "every attempt's messages are counted once"
    );
}

// ------------------------------------------------------------ retries exhausted

#[test]
fn a_source_that_keeps_dropping_fails_cleanly_and_a_clean_rerun_completes() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-exhaust-src");
    // The first connection copies part of the folder; every later one is
    // cut inside the greeting, so the retry makes no progress and runs out.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean()
            .with(Rule::to_client(Fault::DropAfter(120_000)).on(Connections::First(1)))
            .with(Rule::to_client(Fault::DropAfter(16)).on(Connections::Numbers(1..usize::MAX))),
    );
    let extra = source.args_and("src", &["--tls", "none", "--retries", "1"]);
    let failed = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    let stats = s.stats("IMAP source, retries exhausted", &proxy);
    assert_eq!(
        stats.drops, 2,
        "one drop, one retry, one more drop: {stats:?}"
    );
    assert_failed_cleanly(
        &failed,
        &[
            "folder `INBOX`",
            "reading from the source",
            "the server closed the connection",
        ],
        "one error line naming the folder, the side and what happened",
    );
    let held = maildir_held(&s.env, "out");
    assert_no_duplicates(&held);
    let keyed: Vec<(SourceKey, Vec<u8>)> = source
        .by_uid()
        .into_iter()
        .map(|(uid, raw)| (SourceKey::Uid(uid), raw))
        .collect();
    let claimed = assert_claims_are_stored(&inbox_progress(&s.env), &keyed, &held, "after failing");
    assert!(
        claimed > 0 && claimed < MESSAGES,
        "the checkpoint holds part of the folder: {claimed}"
    );

    proxy.set_plan(Plan::clean());
    let rerun = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    assert_code(&rerun, 0, "rerun without faults");
    s.assert_in_out("after the rerun");
    let events = json_events(&rerun);
    assert_eq!(
        summary(&events)["messages_copied"].as_u64().unwrap() as usize,
        MESSAGES - held.len(),
        "the rerun copies exactly what was missing"
    );
}

#[test]
fn a_destination_that_keeps_dropping_fails_cleanly_and_a_clean_rerun_completes() {
    let s = Scenario::new();
    let destination = s.account("fault-exhaust-dst");
    let source = s.maildir_source();
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::drop_every(Direction::ToServer, 120_000),
    );
    let extra = destination.args_and("dst", &["--tls", "none", "--retries", "0"]);
    let failed = s.copy(&source, &destination.imap_via(&proxy), &extra);
    let stats = s.stats("IMAP destination, retries exhausted", &proxy);
    assert_eq!(stats.drops, 1, "no retry: {stats:?}");
    assert_failed_cleanly(
        &failed,
        &["folder `INBOX`", "writing to the destination"],
        "one error line naming the folder and the side",
    );
    let held = destination.held();
    assert_no_duplicates(&held);
    let keyed: Vec<(SourceKey, Vec<u8>)> = maildir_files(&s.env.path("src"))
        .into_iter()
        .map(|file| {
            let raw = lf(&std::fs::read(&file.path).unwrap());
            (SourceKey::File(file.unique), raw)
        })
        .collect();
    let claimed = assert_claims_are_stored(&inbox_progress(&s.env), &keyed, &held, "after failing");
    assert!(
        claimed < MESSAGES,
        "the checkpoint holds part of the folder: {claimed}"
    );
    // The run stopped, and still says what it did: the summary counts what
    // was stored and names the failure; the folder's folder_done carries it.
    let events = json_events(&failed);
    let last = summary(&events);
    assert_eq!(
        count(last, "messages_copied") + count(last, "messages_duplicate"),
        claimed as u64,
        "the summary counts what the checkpoint holds: {last}"
    );
    assert_eq!(count(last, "folders_failed"), 1, "{last}");
    assert!(
        last["error"]
            .as_str()
            .is_some_and(|e| e.contains("writing to the destination")),
        "{last}"
    );
    let done = events_of(&events, "folder_done");
    assert!(done.len() == 1 && done[0]["error"].is_string(), "{done:?}");

    // Dovecot goes on storing the APPENDs it had received when the
    // connection died, for a moment after mailtug has exited; a rerun that
    // indexed the folder meanwhile would not see those messages and would
    // append them again. A later run (from cron, or by hand) comes long
    // after; here the rerun waits for that session to end.
    destination.wait_for_sessions_to_end("the destination after the copy");
    proxy.set_plan(Plan::clean());
    let rerun = s.copy(&source, &destination.imap_via(&proxy), &extra);
    assert_code(&rerun, 0, "rerun without faults");
    s.assert_in(&destination, "after the rerun");
}

// ------------------------------------------------------------ server words, stalls, TLS

#[test]
fn a_bye_mid_fetch_is_survived_with_retries() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-bye");
    // Plaintext, so each BYE lands at a response boundary, in place of the
    // next answer, on one connection each: right after EXAMINE (in place of
    // the SEARCH answer), while the Message-IDs are read (5 KB in), and amid
    // the bodies (150 KB in).
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean()
            .with(bye(0, b"Examine completed", connection(0)))
            .with(bye(5_000, b")\r\n", connection(1)))
            .with(bye(150_000, b")\r\n", connection(2))),
    );
    let extra = source.args_and("src", &["--tls", "none", "--retries", "5"]);
    let output = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    let stats = s.stats("BYE mid-FETCH", &proxy);
    assert_eq!(stats.injections, 3, "every BYE was sent: {stats:?}");
    assert_code(&output, 0, "copy through BYEs");
    assert_reconnected(&output, "", "mailtug reconnected");
    s.assert_in_out("BYE mid-FETCH");
}

#[test]
fn a_bye_amid_pipelined_appends_is_survived_without_duplicates() {
    let s = Scenario::new();
    let destination = s.account("fault-bye-append");
    let src = s.maildir_source();
    // Plaintext: the BYE comes right after the answer to an APPEND group
    // (the first one past 2 KB of answers), in place of the answers to the
    // groups still in flight, which the server goes on storing. The retry
    // must find those by their fingerprints and not append them again.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean().with(bye(2_000, b"Append completed", Connections::First(1))),
    );
    let extra = destination.args_and("dst", &["--tls", "none", "--retries", "3"]);
    let output = s.copy(&src, &destination.imap_via(&proxy), &extra);
    let stats = s.stats("BYE amid APPENDs", &proxy);
    assert_eq!(stats.injections, 1, "the BYE was sent: {stats:?}");
    assert_code(&output, 0, "copy through a BYE amid APPENDs");
    assert_reconnected(
        &output,
        "Server shutting down.",
        "mailtug reconnected, giving the server's words",
    );
    s.assert_in(&destination, "BYE amid APPENDs");
    let events = json_events(&output);
    eprintln!(
        "faults: BYE amid APPENDs: the retry found {} messages already stored",
        summary(&events)["messages_duplicate"]
    );
}

#[test]
fn a_sys_temp_error_mid_retr_is_survived_with_retries() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-systemp");
    // Plaintext, so the -ERR comes in place of the next answer, right after
    // a whole RETR answer (150 KB in: past the TOP headers, amid the RETRs).
    let proxy = FaultProxy::start(
        server().pop3_port(),
        Plan::clean().with(
            Rule::to_client(Fault::InjectAndClose {
                after: 150_000,
                marker: b"\r\n.\r\n".to_vec(),
                line: b"-ERR [SYS/TEMP] Server shutting down.\r\n".to_vec(),
            })
            .on(Connections::First(1)),
        ),
    );
    let extra = source.args_and("src", &["--tls", "none", "--retries", "3"]);
    let output = s.copy(&source.pop3_via(&proxy), &s.out(), &extra);
    let stats = s.stats("-ERR [SYS/TEMP] mid-RETR", &proxy);
    assert_eq!(stats.injections, 1, "the -ERR was sent: {stats:?}");
    assert_code(&output, 0, "copy through -ERR [SYS/TEMP]");
    assert_reconnected(
        &output,
        "[SYS/TEMP] Server shutting down.",
        "mailtug reconnected, giving the server's reason",
    );
    s.assert_in_out("-ERR mid-RETR");
}

/// The first connection goes silent `offset` bytes into the server's
/// answers for 20 s, far past the 3 s timeout (never cut short: the test
/// does not wait for it).
fn stall_at(offset: u64) -> Plan {
    Plan::clean().with(
        Rule::to_client(Fault::StallAt {
            offset,
            millis: 20_000,
        })
        .on(Connections::First(1)),
    )
}

#[test]
fn a_stall_longer_than_the_timeout_is_a_timeout_and_is_retried() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-stall");
    // 100 KB in, amid the bodies.
    let proxy = FaultProxy::start(server().imap_port(), stall_at(100_000));
    let extra = source.args_and(
        "src",
        &["--tls", "none", "--retries", "3", "--timeout", "3"],
    );
    let output = s.copy(&source.imap_via(&proxy), &s.out(), &extra);
    let stats = s.stats("stall past --timeout", &proxy);
    assert_eq!(stats.stalls, 1, "the stall happened: {stats:?}");
    assert_code(&output, 0, "copy through a stall");
    assert_reconnected(
        &output,
        "no answer from the server within 3 s",
        "the stall is reported as a timeout, then retried",
    );
    s.assert_in_out("stall");
}

#[test]
fn a_destination_stalled_past_the_timeout_is_retried_without_duplicates() {
    let s = Scenario::new();
    let destination = s.account("fault-stall-dst");
    let src = s.maildir_source();
    // Plaintext: the server's answers stop 2.3 KB in (past the login and
    // the index, amid the APPEND answers: one per group of up to 32
    // messages, about 2.7 KB of answers in all), while it goes on storing
    // what mailtug sends: the retry finds those messages stored.
    let proxy = FaultProxy::start(server().imap_port(), stall_at(2_300));
    let extra = destination.args_and(
        "dst",
        &["--tls", "none", "--retries", "3", "--timeout", "3"],
    );
    let output = s.copy(&src, &destination.imap_via(&proxy), &extra);
    let stats = s.stats("destination stalled past --timeout", &proxy);
    assert_eq!(stats.stalls, 1, "the stall happened: {stats:?}");
    assert_code(&output, 0, "copy through a stalled destination");
    assert_reconnected(
        &output,
        "no answer from the server within 3 s",
        "the stall is reported as a timeout, then retried",
    );
    destination.wait_for_sessions_to_end("the destination after the copy");
    s.assert_in(&destination, "stalled destination");
}

#[test]
fn a_cut_tls_handshake_is_exit_3_with_a_tls_message_once_retries_are_exhausted() {
    let s = Scenario::new();
    let source = s.account("fault-tls-cut");
    source.load(&s.messages[..3]);
    // Every connection closes after the first bytes of the server's hello.
    let proxy = FaultProxy::start(
        server().imaps_port(),
        Plan::drop_every(Direction::ToClient, 7),
    );
    let extra = source.args_and("src", &["--retries", "2"]);
    let output = s.copy(&source.imaps_via(&proxy), &s.out(), &extra);
    let stats = s.stats("TLS handshake cut", &proxy);
    assert!(stats.drops >= 1, "the handshake was cut: {stats:?}");
    assert_code(&output, 3, "TLS handshake cut");
    assert_one_error(
        &output,
        &["TLS", "127.0.0.1"],
        "one error line naming TLS and the server",
    );
    assert!(!s.env.path("out").exists(), "nothing was written");
}

#[test]
fn a_tls_handshake_cut_on_reconnect_is_survived_with_retries() {
    let s = Scenario::new();
    let source = s.loaded_account("fault-tls-reconnect");
    // Over TLS: the first connection dies 150 KB in (amid encrypted
    // records), the reconnection's handshake is cut, the next one is fine.
    let proxy = FaultProxy::start(
        server().imaps_port(),
        Plan::clean()
            .with(Rule::to_client(Fault::DropAfter(150_000)).on(connection(0)))
            .with(Rule::to_client(Fault::DropAfter(7)).on(connection(1))),
    );
    let extra = source.args_and("src", &["--retries", "4"]);
    let output = s.copy(&source.imaps_via(&proxy), &s.out(), &extra);
    let stats = s.stats("TLS cut on reconnect", &proxy);
    assert_eq!(stats.drops, 2, "a drop and a cut handshake: {stats:?}");
    assert_code(&output, 0, "copy through a drop and a cut handshake");
    assert!(
        stderr(&output).lines().any(|l| l
            .starts_with("mailtug: warning: folder `INBOX`: reconnecting failed")
            && l.contains("TLS")),
        "the failed reconnection names TLS:\n{}",
        stderr(&output)
    );
    s.assert_in_out("TLS cut on reconnect");
}

/// A server finishes the commands a dead connection had sent: here the
/// APPENDs mailtug sent before losing the connection keep reaching Dovecot
/// for about 3 s after it reconnected. The retry waits until the folder
/// stops changing before indexing it, so it does not store them again.
#[test]
fn appends_a_dead_session_stores_late_are_not_duplicated_by_the_retry() {
    let s = Scenario::new();
    let destination = s.account("fault-late-appends");
    let src = s.maildir_source();
    // 100 KB in, mailtug loses the connection, while up to 150 KB it had
    // sent reach the server over the next 3 s or so.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean().with(
            Rule::to_server(Fault::LateDelivery {
                after: 100_000,
                in_flight: 150_000,
                millis: 300,
            })
            .on(Connections::First(1)),
        ),
    );
    let extra = destination.args_and("dst", &["--tls", "none", "--retries", "3"]);
    let output = s.copy(&src, &destination.imap_via(&proxy), &extra);
    let stats = s.stats("late APPENDs", &proxy);
    assert_eq!(stats.drops, 1, "{stats:?}");
    assert_code(&output, 0, "copy while the server stores late");
    destination.wait_for_sessions_to_end("the destination after the copy");
    s.assert_in(&destination, "late APPENDs");
}
