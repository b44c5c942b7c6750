//! `mailtug plan` (and `copy --dry-run`, `mirror --dry-run`): the table per
//! folder, the destination's quota and APPENDLIMIT checked against what
//! would be copied on a real Dovecot, --max-size, deletions, the verdict
//! as exit code, the `--json` plan events, and nothing written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::account::Account;
use crate::support::Dovecot;
use crate::util::{args, assert_exit, events_of, stderr, stdout, summary, TestEnv};

const WHEN: u64 = 1_700_000_000;

/// A message of about `bytes` bytes (CRLF line ends), for `Account::load`.
fn message(id: &str, bytes: usize) -> (Vec<u8>, &'static str, SystemTime) {
    let mut raw = format!("Message-ID: <{id}@plan.example>\r\nSubject: {id}\r\n\r\n");
    while raw.len() < bytes {
        raw.push_str(
            "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n",
        );
    }
    (raw.into_bytes(), "", UNIX_EPOCH + Duration::from_secs(WHEN))
}

/// A source with INBOX (four messages of 8 KB, one of them twice, and one
/// of 30 KB) and Sent (three of 8 KB, marked \Sent by the server).
fn source<'s>(env: &TestEnv, server: &'s Dovecot) -> Account<'s> {
    let source = Account::new(env, server, "plan-src", None);
    let mut inbox: Vec<_> = (0..4).map(|i| message(&format!("in{i}"), 8_000)).collect();
    inbox.push(message("in0", 8_000));
    inbox.push(message("big", 30_000));
    source.user.load(server, "INBOX", &inbox);
    let sent: Vec<_> = (0..3)
        .map(|i| message(&format!("sent{i}"), 8_000))
        .collect();
    source.user.load(server, "Sent", &sent);
    source
}

fn run_args(verb: &str, source: &Account, destination: &Account, extra: &[&str]) -> Vec<String> {
    let mut all = args([verb, &source.imaps(), &destination.imaps()]);
    all.extend(source.src_args());
    all.extend(destination.dst_args());
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

/// The row of `folder` in the plan's table, split on runs of spaces.
fn row(table: &str, folder: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{folder}  ")))
        .unwrap_or_else(|| panic!("no row for {folder}:\n{table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_plan_against_a_destination_with_a_quota_and_an_appendlimit_says_why_it_cannot_run() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = source(&env, server);
    // 50 KiB of quota, messages up to 20 KiB, and one of the source's
    // messages already there.
    let destination = Account::with_limits(&env, server, "plan-dst", Some("50K"), Some(20_480));
    destination
        .user
        .load(server, "INBOX", &[message("in1", 8_000)]);
    let before = destination.folders();

    let output = env.run_owned(&run_args("plan", &source, &destination, &[]));
    assert_exit(&output, 1);
    let table = stdout(&output);
    // FOLDER, DESTINATION, STATUS, COPY, SIZE, DUP, THERE, DONE
    let inbox = row(&table, "INBOX");
    assert_eq!(inbox[0..4], ["INBOX", "INBOX", "exists", "3"], "{table}");
    assert_eq!(inbox[5..], ["1", "1", "0"], "{table}");
    let sent = row(&table, "Sent");
    assert_eq!(sent[0..4], ["Sent", "Sent", "new \\Sent", "3"], "{table}");
    assert!(table.contains("Cannot run as it is:"), "{table}");
    let said = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains(
            "1 message is larger than the 20.00 KiB the destination accepts (APPENDLIMIT)"
        ),
        "{table}"
    );
    assert!(
        said.contains("quota `User quota`: 8.00 KiB of 50.00 KiB used")
            && said.contains("more than it has left"),
        "{table}"
    );
    assert!(
        table.lines().all(|l| l.chars().count() <= 80),
        "fits 80 columns:\n{table}"
    );
    // Nothing written: no folder, no message, no state.
    assert_eq!(destination.folders(), before);
    assert_eq!(destination.messages("INBOX").len(), 1);
    assert!(env.checkpoints().is_empty(), "a plan keeps no state");

    // `copy --dry-run` prints the same plan and exits the same way.
    let dry = env.run_owned(&run_args("copy", &source, &destination, &["--dry-run"]));
    assert_exit(&dry, 1);
    assert_eq!(stdout(&dry), table);

    // --json: a plan_folder per folder, the plan, then the summary.
    let events = env.run_json_owned(&run_args("plan", &source, &destination, &["--json"]), 1);
    let folders = events_of(&events, "plan_folder");
    let inbox = folders.iter().find(|e| e["folder"] == "INBOX").unwrap();
    assert_eq!(inbox["destination"], "exists");
    assert_eq!(inbox["to_copy"], 3, "{inbox}");
    assert_eq!(inbox["duplicates_in_source"], 1);
    assert_eq!(inbox["at_destination"], 1);
    assert_eq!(inbox["too_large"], 1);
    let sent = folders.iter().find(|e| e["folder"] == "Sent").unwrap();
    assert_eq!(sent["destination"], "new");
    assert_eq!(sent["special_use"], "\\Sent");
    let plan = events_of(&events, "plan")[0];
    assert_eq!(plan["can_run"], false);
    assert_eq!(plan["append_limit"], 20_480);
    assert_eq!(plan["room"]["bytes_limit"], 50 * 1024);
    assert_eq!(plan["problems"].as_array().unwrap().len(), 2, "{plan}");
    assert_eq!(summary(&events)["exit_code"], 1);
    let last: &Value = events.last().unwrap();
    assert_eq!(last["event"], "summary", "the summary comes last");

    // Leaving out what the destination cannot take makes it fit.
    let fitting = ["--max-size", "20000", "--folder", "INBOX"];
    let output = env.run_owned(&run_args("plan", &source, &destination, &fitting));
    assert_exit(&output, 0);
    let table = stdout(&output);
    let said = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        said.contains("--max-size 19.53 KiB: leaves out 1 message larger than that"),
        "{table}"
    );
    assert!(said.contains("Ready: 3 messages"), "{table}");
    assert!(said.contains("(APPENDLIMIT): all fit"), "{table}");

    // The plan holds: the real run copies exactly that, and the plan
    // after it counts those as done.
    let copy = env.run_owned(&run_args("copy", &source, &destination, &fitting));
    assert_exit(&copy, 0);
    assert_eq!(destination.messages("INBOX").len(), 4);
    let output = env.run_owned(&run_args("plan", &source, &destination, &fitting));
    assert_exit(&output, 0);
    let table = stdout(&output);
    // Five of the source's six are recorded: the big one is left out.
    assert_eq!(
        row(&table, "INBOX")[2..],
        ["exists", "0", "0 B", "0", "0", "5"],
        "{table}"
    );
    assert!(table.contains("Ready: 0 messages"), "{table}");
}

#[test]
fn a_message_over_the_appendlimit_fails_alone_without_being_sent() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = source(&env, server);
    let destination = Account::with_limits(&env, server, "plan-limit", None, Some(20_480));
    let events = env.run_json_owned(&run_args("copy", &source, &destination, &["--json"]), 1);
    let failed: Vec<&Value> = events_of(&events, "message")
        .into_iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("APPENDLIMIT"),
        "{failed:?}"
    );
    let total = summary(&events);
    assert_eq!(total["messages_too_large"], 1);
    assert_eq!(total["messages_copied"], 7);
    assert_eq!(destination.messages("INBOX").len(), 4);
    // Never sent: Dovecot's own refusal would be in its log.
    assert!(
        !server
            .log_tail(400)
            .contains("larger than the maximum size"),
        "the big message reached the server"
    );
}

#[test]
fn a_plan_says_what_would_be_deleted_at_the_source_and_by_a_mirror() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = source(&env, server);
    let backup = env.endpoint("maildir", "backup");

    let mut plan = args(["plan", &source.imaps(), &backup, "--delete-source"]);
    plan.extend(source.src_args());
    let output = env.run_owned(&plan);
    assert_exit(&output, 0);
    let table = stdout(&output)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // 8 copied and the copy within INBOX: every message is deleted.
    assert!(
        table.contains(
            "then deletes 9 messages from the source, each once stored (--delete-source)"
        ),
        "{table}"
    );
    assert_eq!(source.messages("INBOX").len(), 6, "a plan deletes nothing");

    let mut copy = args(["mirror", &source.imaps(), &backup]);
    copy.extend(source.src_args());
    assert_exit(&env.run_owned(&copy), 0);
    server.doveadm(&[
        "expunge",
        "-u",
        source.name(),
        "mailbox",
        "Sent",
        "header",
        "Message-ID",
        "<sent0@plan.example>",
    ]);
    let mut mirror = args(["mirror", &source.imaps(), &backup, "--delete", "--dry-run"]);
    mirror.extend(source.src_args());
    let mut json = mirror.clone();
    json.push("--json".into());
    let events = env.run_json_owned(&json, 0);
    let plan = events_of(&events, "plan")[0];
    assert_eq!(plan["destination_deletions"], 1, "{plan}");
    let notes: Vec<&str> = plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"mirror: deletes 1 message from the destination, gone from the source"),
        "{notes:?}"
    );
    let output = env.run_owned(&mirror);
    assert_exit(&output, 0);
    assert!(
        stdout(&output)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("mirror: deletes 1 message from the destination"),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}
