//! `verify`, `ls`, and the `--json` contract every command keeps: one JSON
//! object per stdout line with an `event` key, from `run_start` to `summary`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use mailtug::fingerprint::Fingerprint;
use serde_json::Value;

use crate::util::corpus::manifest;
use crate::util::model::{maildir_files, read_mbox_dir};
use crate::util::{assert_exit, count, events_of, json_events, stderr, stdout, summary, TestEnv};

/// Copies the fixture mbox tree into maildir `md` and returns (src, dst).
fn copied_fixtures(env: &TestEnv) -> (String, String) {
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    assert_exit(&env.run(&["copy", &src, &dst]), 0);
    (src, dst)
}

#[test]
fn verify_succeeds_after_a_copy() {
    let env = TestEnv::new();
    let (src, dst) = copied_fixtures(&env);
    let output = env.run(&["verify", &src, &dst]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "", "nothing missing, nothing extra");

    let events = env.run_json(&["--json", "verify", &src, &dst], 0);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_missing"), 0);
    assert_eq!(count(summary, "messages_extra"), 0);
    assert_eq!(count(summary, "exit_code"), 0);
    let distinct: BTreeSet<(String, Fingerprint)> = read_mbox_dir(&env.path("mbox"))
        .into_iter()
        .flat_map(|(f, ms)| ms.into_iter().map(move |m| (f.clone(), m.fingerprint())))
        .collect();
    assert_eq!(count(summary, "messages_checked"), distinct.len() as u64);
}

#[test]
fn verify_reports_a_deleted_message_as_missing_with_its_fingerprint() {
    let env = TestEnv::new();
    let (src, dst) = copied_fixtures(&env);
    let victim = maildir_files(&env.path("md"))
        .into_iter()
        .next()
        .expect("INBOX holds messages");
    let fingerprint = Fingerprint::of(&fs::read(&victim.path).unwrap()).to_string();
    fs::remove_file(&victim.path).unwrap();

    let output = env.run(&["verify", &src, &dst]);
    assert_exit(&output, 1);
    assert_eq!(
        stdout(&output),
        format!("missing\tINBOX\t{fingerprint}\n"),
        "stderr:\n{}",
        stderr(&output)
    );

    let events = env.run_json(&["--json", "verify", &src, &dst], 1);
    let missing = events_of(&events, "missing");
    assert_eq!(missing.len(), 1, "{events:?}");
    assert_eq!(missing[0]["fingerprint"], fingerprint.as_str());
    assert_eq!(missing[0]["folder"], "INBOX");
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_missing"), 1);
    assert_eq!(count(summary, "exit_code"), 1);

    // Copying again puts it back, and verify is happy again.
    let fresh = env.path("fresh.json");
    assert_exit(
        &env.run(&["copy", "--state", fresh.to_str().unwrap(), &src, &dst]),
        0,
    );
    assert_exit(&env.run(&["verify", &src, &dst]), 0);
}

#[test]
fn verify_lists_extra_messages_but_succeeds() {
    let env = TestEnv::new();
    let (src, dst) = copied_fixtures(&env);
    let extra = b"Message-ID: <extra@example.org>\nSubject: not in the source\n\nhi\n";
    fs::write(env.path("md/new/1700000000.M1P1.extra"), extra).unwrap();
    let output = env.run(&["verify", &src, &dst]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "extra\tINBOX\t<extra@example.org>\n");
}

/// Expected `ls` rows from the manifest: folder → (messages, bytes).
fn manifest_folders(prefix: &str, rename: impl Fn(&str) -> String) -> BTreeMap<String, (u64, u64)> {
    let mut folders = BTreeMap::new();
    for row in manifest() {
        if row["file"].as_str().unwrap().starts_with(prefix) {
            let entry = folders
                .entry(rename(row["folder"].as_str().unwrap()))
                .or_insert((0, 0));
            entry.0 += 1;
            entry.1 += row["size"].as_u64().unwrap();
        }
    }
    folders
}

#[test]
fn ls_lists_every_fixture_folder_with_its_message_count() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    env.copy_fixture("maildir");
    env.copy_fixture("single.mbox");
    let cases = [
        (
            env.endpoint("mbox", "mbox"),
            manifest_folders("mbox/", str::to_string),
        ),
        // Maildir++ `.Archive.2023` is folder Archive/2023.
        (
            env.endpoint("maildir", "maildir"),
            manifest_folders("maildir/", |f| f.replace('.', "/")),
        ),
        (
            env.endpoint("mbox", "single.mbox"),
            manifest_folders("single.mbox", |_| "INBOX".into()),
        ),
    ];
    for (endpoint, expected) in cases {
        let output = env.run(&["ls", &endpoint]);
        assert_exit(&output, 0);
        let text = stdout(&output);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["FOLDER", "MESSAGES", "SIZE"], "{text}");
        let mut table = BTreeMap::new();
        let mut total = None;
        for line in lines {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let messages: u64 = cells[1]
                .parse()
                .unwrap_or_else(|_| panic!("bad row {line:?}"));
            if cells[0] == "total" {
                total = Some(messages);
            } else {
                table.insert(cells[0].to_string(), messages);
            }
        }
        let counts: BTreeMap<String, u64> =
            expected.iter().map(|(f, (n, _))| (f.clone(), *n)).collect();
        assert_eq!(table, counts, "`ls {endpoint}` table:\n{text}");
        assert_eq!(total, Some(counts.values().sum()), "total line:\n{text}");

        let events = env.run_json(&["--json", "ls", &endpoint], 0);
        let listed: BTreeMap<String, (u64, u64)> = events_of(&events, "folder")
            .iter()
            .map(|e| {
                (
                    e["folder"].as_str().unwrap().to_string(),
                    (count(e, "messages"), count(e, "bytes")),
                )
            })
            .collect();
        assert_eq!(
            listed, expected,
            "`ls --json {endpoint}`: (messages, bytes) per folder"
        );
        let summary = summary(&events);
        assert_eq!(count(summary, "folders"), expected.len() as u64);
        assert_eq!(count(summary, "messages"), counts.values().sum::<u64>());
        assert_eq!(
            count(summary, "bytes"),
            expected.values().map(|(_, b)| b).sum::<u64>()
        );
    }
}

/// The documented keys of the copy summary (mailtug(1), JSON EVENTS).
const SUMMARY_KEYS: [&str; 19] = [
    "event",
    "messages_copied",
    "messages_duplicate",
    "duplicates_in_source",
    "messages_failed",
    "messages_too_large",
    "messages_over_quota",
    "bytes_copied",
    "seconds",
    "throttled_waits",
    "throttled_seconds",
    "folders",
    "folders_failed",
    "folders_unchanged",
    "folders_not_started",
    "files_skipped",
    "dry_run",
    "interrupted",
    "exit_code",
];

/// Checks the shape of a copy's event stream and that its counts add up.
fn assert_copy_events_are_consistent(events: &[Value]) {
    assert_eq!(events.first().unwrap()["event"], "run_start", "{events:?}");
    let start = &events[0];
    for key in ["source", "destination", "version"] {
        assert!(start[key].is_string(), "run_start lacks {key}: {start}");
    }
    assert!(start["dry_run"].is_boolean());

    let summary = summary(events);
    let keys: BTreeSet<&str> = summary
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(SUMMARY_KEYS),
        "summary keys: {summary}"
    );
    for key in SUMMARY_KEYS {
        match key {
            "event" => {}
            "seconds" | "throttled_seconds" => {
                assert!(summary[key].as_f64().is_some_and(|s| s >= 0.0))
            }
            "dry_run" | "interrupted" => assert!(summary[key].is_boolean()),
            _ => {
                count(summary, key);
            }
        }
    }

    let messages = events_of(events, "message");
    let with = |status: &str| messages.iter().filter(|e| e["status"] == status).count() as u64;
    // A dry run says what it would copy.
    let copied = if summary["dry_run"] == true {
        assert_eq!(with("copied"), 0);
        "would_copy"
    } else {
        assert_eq!(with("would_copy"), 0);
        "copied"
    };
    assert_eq!(with(copied), count(summary, "messages_copied"));
    assert_eq!(with("duplicate"), count(summary, "messages_duplicate"));
    assert_eq!(with("failed"), count(summary, "messages_failed"));
    let copied_bytes: u64 = messages
        .iter()
        .filter(|e| e["status"] == copied)
        .map(|e| count(e, "bytes"))
        .sum();
    assert_eq!(copied_bytes, count(summary, "bytes_copied"));

    // Per folder: folder_start, then its messages, then folder_done with
    // matching counts.
    let done = events_of(events, "folder_done");
    assert_eq!(done.len() as u64, count(summary, "folders"));
    for key in [
        "messages_copied",
        "messages_duplicate",
        "duplicates_in_source",
        "messages_failed",
        "bytes_copied",
    ] {
        let sum: u64 = done.iter().map(|e| count(e, key)).sum();
        assert_eq!(
            sum,
            count(summary, key),
            "folder_done {key} add up to the summary"
        );
    }
    for folder_done in &done {
        let folder = &folder_done["folder"];
        let position = |kind: &str| {
            events
                .iter()
                .position(|e| e["event"] == kind && &e["folder"] == folder)
        };
        let started =
            position("folder_start").unwrap_or_else(|| panic!("no folder_start for {folder}"));
        let ended = position("folder_done").unwrap();
        for (i, event) in events.iter().enumerate() {
            if event["event"] == "message" && &event["folder"] == folder {
                assert!(
                    started < i && i < ended,
                    "message event outside its folder: {event}"
                );
            }
        }
    }
}

#[test]
fn copy_json_is_one_event_per_line_from_run_start_to_a_complete_summary() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    assert_copy_events_are_consistent(&events);
    let first = summary(&events);
    assert_eq!(first["dry_run"], false);
    assert_eq!(count(first, "exit_code"), 0);
    assert_eq!(count(first, "folders"), 4);

    // An unchanged rerun and a dry run keep the same contract.
    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    assert_copy_events_are_consistent(&events);
    let events = env.run_json(
        &[
            "--json",
            "copy",
            "-n",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "md2"),
        ],
        0,
    );
    assert_copy_events_are_consistent(&events);
    assert_eq!(summary(&events)["dry_run"], true);
}

#[test]
fn a_failed_folder_is_in_the_json_summary_with_exit_code_1() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    env.copy_fixture("malformed/garbage.mbox");
    fs::create_dir(env.path("tree")).unwrap();
    fs::rename(env.path("single.mbox"), env.path("tree/good.mbox")).unwrap();
    fs::rename(
        env.path("malformed/garbage.mbox"),
        env.path("tree/garbage.mbox"),
    )
    .unwrap();

    let output = env.run(&[
        "--json",
        "copy",
        &env.endpoint("mbox", "tree"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 1);
    let events = json_events(&output);
    assert_copy_events_are_consistent(&events);
    let summary = summary(&events);
    assert_eq!(count(summary, "exit_code"), 1);
    assert_eq!(count(summary, "folders_failed"), 1);
    assert_eq!(count(summary, "messages_copied"), 10);
    let failed: Vec<&Value> = events_of(&events, "folder_done")
        .into_iter()
        .filter(|e| !e["error"].is_null())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["folder"], "garbage");
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .contains("garbage.mbox"));
}

#[test]
fn quiet_prints_nothing_when_all_goes_well() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let output = env.run(&[
        "-q",
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");
}
