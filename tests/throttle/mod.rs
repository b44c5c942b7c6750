//! Rate limits and throttling providers, end to end: the real binary
//! against the shared Dovecot, with `support::faultproxy` answering as
//! Microsoft 365 and Gmail do when they throttle (`NO [THROTTLED] …
//! Suggested Backoff Time`, `NO [OVERQUOTA] Account exceeded command or
//! bandwidth limits`), a Dovecot user with a small quota for a full
//! destination, and the daily budgets and per-second limits of the job.
//!
//! Timing assertions are lower bounds only (a slow machine never fails
//! them): a limit that paces must have made the run take at least so long.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailtug::fingerprint::Fingerprint;
use serde_json::Value;

use crate::support::account::Account;
use crate::support::faultproxy::{Fault, FaultProxy, Plan, Rule};
use crate::support::Dovecot;
use crate::util::crlf::lf;
use crate::util::model::read_maildir;
use crate::util::{
    args, assert_exit, assert_no_panic, count, events_of, json_events, stderr, summary, TestEnv,
};

fn server() -> &'static Dovecot {
    Dovecot::shared()
}

/// `n` messages of about `size` bytes, each with its own Message-ID.
fn mails(tag: &str, n: usize, size: usize) -> Vec<(Vec<u8>, &'static str, SystemTime)> {
    (0..n)
        .map(|i| {
            let mut raw = format!(
                "Message-ID: <{tag}-{i}@example.org>\nFrom: a@example.org\nTo: b@example.org\n\
                 Subject: {tag} {i}\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
            );
            let mut line = 0;
            while raw.len() < size {
                raw.push_str(&format!(
                    "line {line:05} of message {i} of {tag} ---------------\n"
                ));
                line += 1;
            }
            let date = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64 * 60);
            (raw.into_bytes(), "", date)
        })
        .collect()
}

/// The fingerprints of a maildir's messages, folder by folder, with how
/// many times each is there.
fn held(env: &TestEnv, dir: &str) -> BTreeMap<String, BTreeMap<Fingerprint, usize>> {
    read_maildir(&env.path(dir))
        .into_iter()
        .map(|(folder, stored)| {
            let mut counts = BTreeMap::new();
            for message in stored {
                *counts
                    .entry(Fingerprint::of(&lf(&message.raw)))
                    .or_default() += 1;
            }
            (folder, counts)
        })
        .collect()
}

/// Messages in a maildir, and whether any is there twice.
fn held_count(env: &TestEnv, dir: &str) -> (usize, bool) {
    let folders = held(env, dir);
    let total = folders.values().map(|f| f.values().sum::<usize>()).sum();
    let doubled = folders.values().any(|f| f.values().any(|&n| n > 1));
    (total, doubled)
}

/// `mailtug --json copy SRC DST EXTRA…`, checked for panics.
fn copy(env: &TestEnv, source: &str, destination: &str, extra: &[String]) -> std::process::Output {
    let mut argv = args(["--json", "copy", source, destination]);
    argv.extend(extra.iter().cloned());
    let output = env.run_owned(&argv);
    assert_no_panic(&stderr(&output));
    output
}

/// A fault that answers the `nth` to `nth + count - 1` FETCH of message
/// bodies with `line` in place of the server's answer.
fn answer_body_fetch(nth: usize, count: usize, line: &str) -> Plan {
    Plan::clean().with(Rule::to_client(Fault::AnswerTagged {
        command: b"BODY.PEEK[]".to_vec(),
        nth,
        count,
        line: line.as_bytes().to_vec(),
        keep_data: false,
    }))
}

#[test]
fn a_microsoft_like_backoff_is_waited_out_and_every_message_is_copied_once() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-ms", None);
    source.user.load(server(), "INBOX", &mails("ms", 30, 2_000));
    let proxy = FaultProxy::start(
        server().imap_port(),
        answer_body_fetch(
            1,
            2,
            "NO [THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds",
        ),
    );
    let mut extra = source.src_args();
    extra.extend(args(["--tls", "none", "--jobs", "1"]));
    let started = Instant::now();
    let output = copy(
        &env,
        &source.url("imap", proxy.port()),
        &env.endpoint("maildir", "out"),
        &extra,
    );
    let elapsed = started.elapsed();
    assert_exit(&output, 0);
    assert_eq!(
        proxy.stats().injections,
        2,
        "both throttled answers were sent"
    );
    let events = json_events(&output);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 30, "{done}");
    assert!(count(done, "throttled_waits") >= 2, "{done}");
    assert!(
        done["throttled_seconds"].as_f64().unwrap_or(0.0) >= 0.6,
        "two waits of at least 300 ms: {done}"
    );
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    let err = stderr(&output);
    let waits: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("mailtug: warning: ") && l.contains("waiting 0."))
        .collect();
    assert_eq!(
        waits.len(),
        2,
        "a warning per wait, with the server's words:\n{err}"
    );
    assert!(
        waits[0].contains("Suggested Backoff Time: 300 milliseconds"),
        "{err}"
    );
    assert_eq!(held_count(&env, "out"), (30, false), "each message once");
}

#[test]
fn an_ok_that_says_throttled_slows_the_run_down_without_failing_anything() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-ok", None);
    source.user.load(server(), "INBOX", &mails("ok", 10, 2_000));
    // Gmail's way: the FETCH is answered in full, then `OK Success [THROTTLED]`.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean().with(Rule::to_client(Fault::AnswerTagged {
            command: b"BODY.PEEK[]".to_vec(),
            nth: 1,
            count: 1,
            line: b"OK Success [THROTTLED]".to_vec(),
            keep_data: true,
        })),
    );
    let mut extra = source.src_args();
    extra.extend(args(["--tls", "none", "--jobs", "1"]));
    let output = copy(
        &env,
        &source.url("imap", proxy.port()),
        &env.endpoint("maildir", "out"),
        &extra,
    );
    assert_exit(&output, 0);
    assert_eq!(proxy.stats().injections, 1);
    let events = json_events(&output);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 10, "{done}");
    assert_eq!(count(done, "messages_failed"), 0, "{done}");
    assert_eq!(count(done, "throttled_waits"), 1, "one pause: {done}");
    assert_eq!(held_count(&env, "out"), (10, false));
}

#[test]
fn a_gmail_bandwidth_limit_stops_with_75_and_a_rerun_copies_the_rest_once() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-gmail", None);
    source
        .user
        .load(server(), "INBOX", &mails("inbox", 10, 2_000));
    source
        .user
        .load(server(), "Archive", &mails("archive", 10, 2_000));
    // One connection reads both folders, one after the other: the second
    // folder's bodies are refused.
    let proxy = FaultProxy::start(
        server().imap_port(),
        answer_body_fetch(
            2,
            1,
            "NO [OVERQUOTA] Account exceeded command or bandwidth limits. x1mb23",
        ),
    );
    let mut extra = source.src_args();
    extra.extend(args(["--tls", "none", "--jobs", "1"]));
    let src = source.url("imap", proxy.port());
    let dst = env.endpoint("maildir", "out");
    let output = copy(&env, &src, &dst, &extra);
    assert_exit(&output, 75);
    assert_eq!(proxy.stats().injections, 1);
    let events = json_events(&output);
    let done = summary(&events);
    assert_eq!(done["exit_code"], 75, "{done}");
    assert_eq!(done["error_kind"], "throttled", "{done}");
    assert_eq!(count(done, "messages_copied"), 10, "one folder: {done}");
    let err = stderr(&output);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("mailtug: error: ")
            && last.contains("Account exceeded command or bandwidth limits")
            && last.contains("run the same command again after ")
            && last.ends_with(" to resume"),
        "one line saying when to resume:\n{err}"
    );
    assert_eq!(held_count(&env, "out"), (10, false));

    proxy.set_plan(Plan::clean());
    let rerun = copy(&env, &src, &dst, &extra);
    assert_exit(&rerun, 0);
    let events = json_events(&rerun);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 10, "the rest: {done}");
    assert_eq!(held_count(&env, "out"), (20, false), "nothing twice");
}

#[test]
fn a_daily_budget_stops_the_run_and_holds_across_runs_until_a_day_has_passed() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-daily", None);
    source
        .user
        .load(server(), "INBOX", &mails("daily", 20, 5_000));
    let mut extra = source.src_args();
    extra.extend(args(["--jobs", "1", "--src-max-bytes-per-day", "30K"]));
    let (src, dst) = (source.imaps(), env.endpoint("maildir", "out"));

    let first = copy(&env, &src, &dst, &extra);
    assert_exit(&first, 75);
    let events = json_events(&first);
    let copied = count(summary(&events), "messages_copied");
    assert!(
        (4..=6).contains(&copied),
        "about 30 KiB of 5 KB messages: {copied}"
    );
    let err = stderr(&first);
    assert!(
        err.lines().any(|l| l
            .starts_with("mailtug: error: daily limit of 30.00 KiB reached for SRC (")
            && l.contains(" downloaded in the last 24 hours); run the same command again after ")
            && l.ends_with(" to resume")),
        "{err}"
    );
    assert_eq!(held_count(&env, "out"), (copied as usize, false));

    // Within the day: nothing more.
    let second = copy(&env, &src, &dst, &extra);
    assert_exit(&second, 75);
    let events = json_events(&second);
    let last = summary(&events);
    assert_eq!(last["error_kind"], "throttled", "{last}");
    // A budget spent to the last byte stops the run before it reads
    // anything, with a summary of only how it ended.
    assert_eq!(last["messages_copied"].as_u64().unwrap_or(0), 0, "{last}");
    assert_eq!(held_count(&env, "out"), (copied as usize, false));

    // A day later (the clock moved for this run only), as much again.
    let mut argv = args(["--json", "copy", &src, &dst]);
    argv.extend(extra.iter().cloned());
    let third = env
        .command(&argv)
        .env("MAILTUG_TEST_CLOCK_OFFSET", "90000")
        .output()
        .expect("running the mailtug binary");
    assert_no_panic(&stderr(&third));
    assert_exit(&third, 75);
    let events = json_events(&third);
    let more = count(summary(&events), "messages_copied");
    assert!((4..=6).contains(&more), "{more}");
    assert_eq!(held_count(&env, "out"), ((copied + more) as usize, false));
}

/// Copies 20 messages of about `bytes` bytes each to a maildir under
/// `limit` (an option and its value), checks all arrived, and returns how
/// long the copy took.
fn paced_copy(hint: &str, bytes: usize, limit: [&str; 2]) -> Duration {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), hint, None);
    source.user.load(server(), "INBOX", &mails(hint, 20, bytes));
    let mut extra = source.src_args();
    extra.extend(args(limit));
    let started = Instant::now();
    let output = copy(
        &env,
        &source.imaps(),
        &env.endpoint("maildir", "out"),
        &extra,
    );
    let elapsed = started.elapsed();
    assert_exit(&output, 0);
    assert_eq!(held_count(&env, "out"), (20, false));
    elapsed
}

#[test]
fn max_messages_per_second_paces_the_copy() {
    let elapsed = paced_copy("throttle-pace", 1_000, ["--max-messages-per-second", "10"]);
    assert!(
        elapsed >= Duration::from_millis(1_500),
        "20 messages at 10 a second take 2 s: {elapsed:?}"
    );
}

#[test]
fn max_bytes_per_second_paces_the_copy() {
    let elapsed = paced_copy("throttle-bytes", 10_000, ["--max-bytes-per-second", "100K"]);
    assert!(
        elapsed >= Duration::from_millis(1_500),
        "200 KB at 100 KiB a second take about 2 s: {elapsed:?}"
    );
}

#[test]
fn a_full_destination_fails_messages_alone_counted_over_quota() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-quota-src", None);
    let destination = Account::new(&env, server(), "throttle-quota-dst", Some("100K"));
    source
        .user
        .load(server(), "INBOX", &mails("quota", 12, 20_000));
    let mut extra = source.src_args();
    extra.extend(destination.dst_args());
    let output = copy(&env, &source.imaps(), &destination.imaps(), &extra);
    assert_exit(&output, 1);
    let events = json_events(&output);
    let done = summary(&events);
    let (copied, failed) = (
        count(done, "messages_copied"),
        count(done, "messages_failed"),
    );
    assert!(copied > 0 && failed > 0, "some fit, some not: {done}");
    assert_eq!(copied + failed, 12, "the run went on: {done}");
    assert_eq!(count(done, "messages_over_quota"), failed, "{done}");
    let failures: Vec<&Value> = events_of(&events, "message")
        .into_iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert_eq!(failures.len() as u64, failed);
    let err = stderr(&output);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("mailtug: error: folder `INBOX`, UID "))
        .collect();
    assert_eq!(lines.len() as u64, failed, "{err}");
    assert!(
        lines.iter().all(|l| l
            .contains("destination folder `INBOX` is over its quota (the account is full)")
            && l.contains("OVERQUOTA")),
        "one line per message, naming message and folder:\n{err}"
    );
}

#[test]
fn a_throttled_append_is_sent_again_after_the_wait_and_stored_once() {
    let env = TestEnv::new();
    let source = Account::new(&env, server(), "throttle-append-src", None);
    let destination = Account::new(&env, server(), "throttle-append-dst", None);
    source
        .user
        .load(server(), "INBOX", &mails("append", 12, 2_000));
    // The server stores the first APPEND (a group of messages) and the
    // proxy answers it as a throttled refusal: the retry must find those
    // messages there rather than store them twice.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean().with(Rule::to_client(Fault::AnswerTagged {
            command: b" APPEND ".to_vec(),
            nth: 1,
            count: 1,
            line: b"NO [THROTTLED] Request is throttled. Suggested Backoff Time: 200 milliseconds"
                .to_vec(),
            keep_data: false,
        })),
    );
    let mut extra = source.src_args();
    extra.extend(destination.dst_args());
    extra.extend(args(["--tls", "none", "--jobs", "1"]));
    let output = copy(
        &env,
        &source.imap(),
        &destination.url("imap", proxy.port()),
        &extra,
    );
    assert_exit(&output, 0);
    assert_eq!(proxy.stats().injections, 1);
    let events = json_events(&output);
    let done = summary(&events);
    assert!(count(done, "throttled_waits") >= 1, "{done}");
    assert_eq!(
        count(done, "messages_copied") + count(done, "messages_duplicate"),
        12,
        "{done}"
    );
    let mut stored: BTreeMap<Fingerprint, usize> = BTreeMap::new();
    for message in destination.messages("INBOX") {
        *stored.entry(Fingerprint::of(&message.raw)).or_default() += 1;
    }
    assert_eq!(stored.len(), 12, "every message is there");
    assert!(stored.values().all(|&n| n == 1), "none twice: {stored:?}");
}
