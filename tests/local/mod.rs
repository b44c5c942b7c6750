//! Copies between local stores (mbox files and trees, maildir trees) on the
//! shipped fixtures: round trips, what the written stores look like, dedup,
//! dry runs and folder selection.

use std::collections::BTreeMap;
use std::fs;

use mailtug::fingerprint::Fingerprint;
use serde_json::Value;

use crate::util::corpus::manifest;
use crate::util::model::{
    assert_maildir_layout, assert_mbox_dir_layout, assert_mbox_file_layout, assert_same_messages,
    deduplicated, read_maildir, read_mbox_dir, read_mbox_file, renamed, total, Model, Stored,
};
use crate::util::{
    assert_error_line, assert_exit, assert_same_snapshot, count, events_of, snapshot, summary,
    TestEnv,
};

/// Manifest rows whose file is under `prefix`.
fn manifest_under(prefix: &str) -> Vec<Value> {
    manifest()
        .into_iter()
        .filter(|row| row["file"].as_str().unwrap().starts_with(prefix))
        .collect()
}

/// How many rows repeat an earlier row's Message-ID in the same folder of
/// the same store: the messages a deduplicating copy skips.
fn duplicates_within_files(rows: &[Value]) -> usize {
    let mut seen = std::collections::HashSet::new();
    rows.iter()
        .filter(|row| !row["message_id"].is_null())
        .filter(|row| {
            !seen.insert((
                row["store"].to_string(),
                row["folder"].to_string(),
                row["message_id"].to_string(),
            ))
        })
        .count()
}

#[test]
fn mbox_tree_to_maildir_to_mbox_tree_keeps_bytes_flags_and_dates() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = read_mbox_dir(&env.path("mbox"));
    assert_eq!(total(&original), manifest_under("mbox/").len());
    // The fixtures hold a duplicate inside INBOX, which a copy stores once.
    let expected = deduplicated(&original);

    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let middle = read_maildir(&env.path("md"));
    assert_same_messages(&expected, &middle, "mbox tree → maildir");
    assert_maildir_layout(&env.path("md"));

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "md"),
        &env.endpoint("mbox", "back"),
    ]);
    assert_exit(&output, 0);
    let back = read_mbox_dir(&env.path("back"));
    assert_same_messages(&expected, &back, "mbox tree → maildir → mbox tree");
    assert_mbox_dir_layout(&env.path("back"));
}

#[test]
fn maildir_to_mbox_tree_to_maildir_keeps_bytes_flags_and_dates() {
    let env = TestEnv::new();
    env.copy_fixture("maildir");
    // Internal dates are the mtimes as found on disk (checkout times for
    // fixtures; copy_fixture keeps them).
    let original = read_maildir(&env.path("maildir"));
    assert_eq!(total(&original), manifest_under("maildir/").len());
    let expected = deduplicated(&original);

    // mbox cannot store a message whose last line has no line ending: the
    // separator's blank line needs one (mboxrd.rs states its round-trip
    // invariant only for messages ending in `\n`). That fixture message,
    // and only that one, gains a final `\n`.
    let unterminated = expected
        .values()
        .flatten()
        .filter(|m| !m.raw.ends_with(b"\n"))
        .count();
    let no_final_newline = manifest_under("maildir/")
        .iter()
        .filter(|r| {
            r["features"]
                .as_array()
                .unwrap()
                .contains(&"no_final_newline".into())
        })
        .count();
    assert_eq!(unterminated, no_final_newline);
    let expected = terminated(&expected);

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "maildir"),
        &env.endpoint("mbox", "mb"),
    ]);
    assert_exit(&output, 0);
    let middle = read_mbox_dir(&env.path("mb"));
    assert_same_messages(&expected, &middle, "maildir → mbox tree");
    assert_mbox_dir_layout(&env.path("mb"));

    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "mb"),
        &env.endpoint("maildir", "back"),
    ]);
    assert_exit(&output, 0);
    let back = read_maildir(&env.path("back"));
    assert_same_messages(&expected, &back, "maildir → mbox tree → maildir");
    assert_maildir_layout(&env.path("back"));
}

/// The model with a `\n` added to messages whose last line has no line
/// ending: what they look like after passing through an mbox file.
fn terminated(model: &Model) -> Model {
    model
        .iter()
        .map(|(folder, messages)| {
            let messages = messages
                .iter()
                .map(|m| {
                    let mut m = m.clone();
                    if !m.raw.is_empty() && !m.raw.ends_with(b"\n") {
                        m.raw.push(b'\n');
                    }
                    m
                })
                .collect();
            (folder.clone(), messages)
        })
        .collect()
}

#[test]
fn single_mbox_file_round_trips_through_a_maildir() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let original = read_mbox_file(&env.path("single.mbox"));
    assert_eq!(original.len(), manifest_under("single.mbox").len());

    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let expected: Model = BTreeMap::from([("INBOX".to_string(), original.clone())]);
    assert_same_messages(
        &expected,
        &read_maildir(&env.path("md")),
        "single.mbox → maildir",
    );

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "md"),
        &env.endpoint("mbox", "back.mbox"),
    ]);
    assert_exit(&output, 0);
    let back = read_mbox_file(&env.path("back.mbox"));
    assert_same_messages(
        &expected,
        &BTreeMap::from([("INBOX".to_string(), back)]),
        "single.mbox → maildir → back.mbox",
    );
    assert_mbox_file_layout(&env.path("back.mbox"));
}

#[test]
fn unflagged_messages_land_in_new_and_all_others_in_cur() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let expected = deduplicated(&read_mbox_dir(&env.path("mbox")));
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);

    for (folder, messages) in &expected {
        let dir = if folder == "INBOX" {
            env.path("md")
        } else {
            env.path(&format!("md/.{}", folder.replace('/', ".")))
        };
        let count_in = |sub: &str| fs::read_dir(dir.join(sub)).unwrap().count();
        let unflagged = messages.iter().filter(|m| m.flags == "-").count();
        assert_eq!(count_in("new"), unflagged, "folder {folder}: files in new/");
        assert_eq!(
            count_in("cur"),
            messages.len() - unflagged,
            "folder {folder}: files in cur/"
        );
    }
    // The fixtures exercise both sides of the rule.
    assert!(expected.values().flatten().any(|m| m.flags == "-"));
    assert!(expected.values().flatten().any(|m| m.flags.contains(' ')));
}

#[test]
fn written_mbox_quotes_from_lines_which_read_back_unquoted() {
    let env = TestEnv::new();
    env.copy_fixture("maildir");
    let rows = manifest_under("maildir/");
    let quoted_row = rows
        .iter()
        .find(|row| {
            let features = row["features"].as_array().unwrap();
            features.contains(&"from_line_in_body".into())
                && features.contains(&"quoted_from_in_body".into())
        })
        .expect("the fixtures have a maildir message with From lines in its body");
    let original = fs::read(env.path(quoted_row["file"].as_str().unwrap())).unwrap();

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "maildir"),
        &env.endpoint("mbox", "mb"),
    ]);
    assert_exit(&output, 0);
    let file = env.path("mb/INBOX.mbox");
    let bytes = fs::read(&file).unwrap();
    let has_line = |prefix: &[u8]| bytes.split(|&b| b == b'\n').any(|l| l.starts_with(prefix));
    assert!(
        has_line(b">From "),
        "`From ` in a body is written as `>From `"
    );
    assert!(
        has_line(b">>From "),
        "`>From ` in a body is written as `>>From `"
    );
    assert_mbox_file_layout(&file);
    let messages = read_mbox_file(&file);
    assert!(
        messages.iter().any(|m| m.raw == original),
        "the message with From lines in its body does not read back byte for byte"
    );
}

#[test]
fn duplicates_within_a_folder_are_copied_once_and_reported_as_duplicates() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let rows = manifest_under("mbox/");
    let duplicates = duplicates_within_files(&rows);
    assert!(
        duplicates > 0,
        "the fixtures have duplicates inside a folder"
    );
    let duplicate_ids: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["features"]
                .as_array()
                .unwrap()
                .contains(&"duplicate_in_folder".into())
        })
        .map(|r| &r["message_id"])
        .collect();

    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_duplicate"), duplicates as u64);
    assert_eq!(
        count(summary, "messages_copied"),
        (rows.len() - duplicates) as u64
    );
    let reported: Vec<&Value> = events_of(&events, "message")
        .into_iter()
        .filter(|e| e["status"] == "duplicate")
        .collect();
    assert_eq!(reported.len(), duplicates, "duplicate events: {reported:?}");
    for event in &reported {
        assert!(
            duplicate_ids.contains(&&event["fingerprint"]),
            "unexpected duplicate {event}"
        );
    }
    let stored = read_maildir(&env.path("md"));
    for id in duplicate_ids {
        let id = id.as_str().unwrap();
        let copies = stored
            .values()
            .flatten()
            .filter(|m| m.fingerprint() == Fingerprint::MessageId(id.to_string()))
            .count();
        assert_eq!(copies, 1, "{id} is stored {copies} times");
    }
}

#[test]
fn the_same_message_in_two_folders_lands_in_both() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    env.copy_fixture("maildir");
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "maildir"),
        &env.endpoint("mbox", "mb"),
    ]);
    assert_exit(&output, 0);

    let checks = [
        ("mbox/", read_maildir(&env.path("md"))),
        ("maildir/", read_mbox_dir(&env.path("mb"))),
    ];
    for (prefix, stored) in checks {
        let rows: Vec<Value> = manifest_under(prefix)
            .into_iter()
            .filter(|r| {
                r["features"]
                    .as_array()
                    .unwrap()
                    .contains(&"duplicate_across_folders".into())
            })
            .collect();
        assert!(
            rows.len() >= 2,
            "the {prefix} fixtures share a message between folders"
        );
        for row in rows {
            let folder = row["folder"].as_str().unwrap().replace('.', "/");
            let id = Fingerprint::MessageId(row["message_id"].as_str().unwrap().to_string());
            let found = stored[&folder]
                .iter()
                .filter(|m| m.fingerprint() == id)
                .count();
            assert_eq!(found, 1, "{prefix}: {id} in folder {folder}");
        }
    }
}

#[test]
fn no_dedup_copies_every_message() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = read_mbox_dir(&env.path("mbox"));
    let events = env.run_json(
        &[
            "--json",
            "copy",
            "--no-dedup",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), total(&original) as u64);
    assert_eq!(count(summary, "messages_duplicate"), 0);
    assert_same_messages(&original, &read_maildir(&env.path("md")), "--no-dedup copy");
}

#[test]
fn messages_without_message_id_are_deduplicated_by_their_fallback_hash() {
    let env = TestEnv::new();
    let a =
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\nFrom: a@example.org\nSubject: no id\n\nsame body\n";
    let b =
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\nFrom: a@example.org\nSubject: no id\n\nother body\n";
    let a_crlf = a.replace('\n', "\r\n");
    let from = "From a@example.org Mon Jan  1 10:00:00 2024\n";
    let mbox = format!("{from}{a}\n{from}{b}\n{from}{a}\n{from}{a_crlf}\n");
    fs::write(env.path("noid.mbox"), mbox).unwrap();
    let fingerprint_a = Fingerprint::of(a.as_bytes());
    assert!(fingerprint_a.message_id().is_none());

    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "noid.mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 2, "{summary}");
    assert_eq!(count(summary, "messages_duplicate"), 2, "{summary}");
    for event in events_of(&events, "message") {
        if event["status"] == "duplicate" {
            assert_eq!(event["fingerprint"], fingerprint_a.to_string(), "{event}");
            assert!(event["fingerprint"]
                .as_str()
                .unwrap()
                .starts_with("sha256:"));
        }
    }
    let stored = read_maildir(&env.path("md"));
    let mut bodies: Vec<&[u8]> = stored["INBOX"].iter().map(|m| m.raw.as_slice()).collect();
    bodies.sort();
    let mut expected = vec![a.as_bytes(), b.as_bytes()];
    expected.sort();
    assert_eq!(bodies, expected);
}

#[test]
fn rerun_into_a_complete_destination_with_a_fresh_checkpoint_copies_nothing() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    assert_exit(&env.run(&["copy", &src, &dst]), 0);
    let before = snapshot(&env.path("md"));

    let fresh = env.path("fresh-checkpoint.json");
    let events = env.run_json(
        &[
            "--json",
            "copy",
            "--state",
            fresh.to_str().unwrap(),
            &src,
            &dst,
        ],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 0, "{summary}");
    assert_eq!(
        count(summary, "messages_duplicate"),
        manifest_under("mbox/").len() as u64,
        "every source message is reported as a duplicate: {summary}"
    );
    assert!(events_of(&events, "message")
        .iter()
        .all(|e| e["status"] == "duplicate"));
    assert_same_snapshot(
        &before,
        &snapshot(&env.path("md")),
        "rerun with a fresh checkpoint",
    );
    assert!(fresh.is_file(), "the checkpoint went to --state");
}

#[test]
fn a_destination_removed_since_the_last_run_is_filled_again() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let expected = deduplicated(&read_mbox_dir(&env.path("mbox")));
    let src = env.endpoint("mbox", "mbox");
    for (kind, destination) in [("maildir", "md"), ("mbox", "mb")] {
        let dst = env.endpoint(kind, destination);
        assert_exit(&env.run(&["copy", &src, &dst]), 0);
        // The whole destination removed behind mailtug's back: the
        // checkpoint says done, yet everything is copied again.
        fs::remove_dir_all(env.path(destination)).unwrap();
        let output = env.run(&["copy", &src, &dst]);
        assert_exit(&output, 0);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("destination folder `INBOX` is gone: copying folder `INBOX` again"),
            "{kind}: {stderr}"
        );
        let stored = match kind {
            "maildir" => read_maildir(&env.path(destination)),
            _ => read_mbox_dir(&env.path(destination)),
        };
        assert_same_messages(&expected, &stored, &format!("{kind} filled again"));
    }

    // One folder removed: only it is copied again.
    fs::remove_dir_all(env.path("md/.Sent")).unwrap();
    let events = env.run_json(&["--json", "copy", &src, &env.endpoint("maildir", "md")], 0);
    assert_eq!(
        count(summary(&events), "messages_copied"),
        expected["Sent"].len() as u64
    );
    assert_eq!(count(summary(&events), "folders_unchanged"), 3);
    assert_same_messages(
        &expected,
        &read_maildir(&env.path("md")),
        "Sent filled again",
    );
}

#[test]
fn dry_run_writes_nothing_and_reports_what_it_would_copy() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let expected = deduplicated(&read_mbox_dir(&env.path("mbox")));
    let expected_bytes: usize = expected.values().flatten().map(|m| m.raw.len()).sum();

    for destination in [env.endpoint("maildir", "md"), env.endpoint("mbox", "mb")] {
        let events = env.run_json(
            &[
                "--json",
                "copy",
                "--dry-run",
                &env.endpoint("mbox", "mbox"),
                &destination,
            ],
            0,
        );
        assert_eq!(events[0]["event"], "run_start");
        assert_eq!(events[0]["dry_run"], true);
        let summary = summary(&events);
        assert_eq!(summary["dry_run"], true);
        assert_eq!(count(summary, "messages_copied"), total(&expected) as u64);
        assert_eq!(count(summary, "bytes_copied"), expected_bytes as u64);
        assert_eq!(
            count(summary, "messages_duplicate"),
            (manifest_under("mbox/").len() - total(&expected)) as u64
        );
    }
    assert!(!env.path("md").exists(), "dry run created the maildir");
    assert!(!env.path("mb").exists(), "dry run created the mbox tree");
    assert!(
        !env.state_home().exists(),
        "dry run wrote into XDG_STATE_HOME: {:?}",
        crate::util::list_files(&env.state_home())
    );
}

#[test]
fn dry_run_into_an_existing_destination_changes_nothing() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    assert_exit(&env.run(&["copy", "--folder", "Sent", &src, &dst]), 0);
    let destination_before = snapshot(&env.path("md"));
    let state_before = snapshot(&env.state_home());

    let events = env.run_json(&["--json", "copy", "-n", &src, &dst], 0);
    let summary = summary(&events);
    let rows = manifest_under("mbox/");
    let sent = rows.iter().filter(|r| r["folder"] == "Sent").count();
    let in_folder = duplicates_within_files(&rows);
    assert_eq!(
        count(summary, "messages_copied"),
        (rows.len() - sent - in_folder) as u64,
        "Sent is already there: {summary}"
    );
    assert_eq!(
        count(summary, "messages_duplicate"),
        (sent + in_folder) as u64
    );
    assert_same_snapshot(
        &destination_before,
        &snapshot(&env.path("md")),
        "destination",
    );
    assert_same_snapshot(
        &state_before,
        &snapshot(&env.state_home()),
        "XDG_STATE_HOME",
    );
}

#[test]
fn folder_option_copies_only_that_folder() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = read_mbox_dir(&env.path("mbox"));
    let output = env.run(&[
        "copy",
        "--folder",
        "Sent",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let mut expected: Model = original.into_iter().filter(|(f, _)| f == "Sent").collect();
    // The root of a Maildir++ tree is always a maildir (an empty INBOX here).
    expected.entry("INBOX".to_string()).or_default();
    assert_same_messages(&expected, &read_maildir(&env.path("md")), "--folder Sent");
}

#[test]
fn exclude_leaves_out_matching_folders() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = deduplicated(&read_mbox_dir(&env.path("mbox")));
    let output = env.run(&[
        "copy",
        "--exclude",
        "Archive/*",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let expected: Model = original
        .into_iter()
        .filter(|(f, _)| !f.starts_with("Archive/"))
        .collect();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        ["INBOX", "Sent"],
        "the fixtures have Archive/2023 and Archive/2024 to exclude"
    );
    assert_same_messages(
        &expected,
        &read_maildir(&env.path("md")),
        "--exclude 'Archive/*'",
    );
}

#[test]
fn map_renames_a_folder_and_everything_below_it() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = deduplicated(&read_mbox_dir(&env.path("mbox")));
    let output = env.run(&[
        "copy",
        "--map",
        "Archive=Old",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    assert!(
        env.path("md/.Old.2023/cur").is_dir(),
        "Archive/2023 goes to .Old.2023"
    );
    assert!(
        env.path("md/.Old.2024/cur").is_dir(),
        "Archive/2024 goes to .Old.2024"
    );
    assert!(!env.path("md/.Archive.2023").exists());
    let expected = renamed(&original, |f| match f.strip_prefix("Archive/") {
        Some(rest) => format!("Old/{rest}"),
        None => f.to_string(),
    });
    assert_same_messages(
        &expected,
        &read_maildir(&env.path("md")),
        "--map Archive=Old",
    );
}

#[test]
fn several_folders_into_one_mbox_file_is_a_usage_error_suggesting_folder() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("mbox", "out.mbox"),
    ]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["out.mbox", "--folder"]);
    assert!(!env.path("out.mbox").exists());
}

#[test]
fn one_folder_into_one_mbox_file_works() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = read_mbox_dir(&env.path("mbox"));
    let output = env.run(&[
        "copy",
        "--folder",
        "Sent",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("mbox", "sent.mbox"),
    ]);
    assert_exit(&output, 0);
    assert_mbox_file_layout(&env.path("sent.mbox"));
    let stored: Vec<Stored> = read_mbox_file(&env.path("sent.mbox"));
    assert_same_messages(
        &BTreeMap::from([("Sent".to_string(), original["Sent"].clone())]),
        &BTreeMap::from([("Sent".to_string(), stored)]),
        "--folder Sent into sent.mbox",
    );
}

#[test]
fn an_unknown_folder_is_a_usage_error() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let output = env.run(&[
        "copy",
        "--folder",
        "Nope",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["`Nope`", "does not exist"]);
}

#[test]
fn usage_errors_leave_no_destination_behind() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    for destination in ["maildir:md", "mbox:mb"] {
        let output = env.run(&[
            "copy",
            "--folder",
            "Nope",
            &env.endpoint("mbox", "mbox"),
            destination,
        ]);
        assert_exit(&output, 2);
    }
    assert!(
        !env.path("md").exists(),
        "maildir:md was created by a refused copy"
    );
    assert!(
        !env.path("mb").exists(),
        "mbox:mb was created by a refused copy"
    );
}

#[test]
fn a_file_that_is_not_an_mbox_fails_its_folder_and_creates_nothing_for_it() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    // In a tree beside good files, and alone.
    fs::write(
        env.path("mbox/notes.mbox"),
        b"Subject: not an mbox\n\nhello\n",
    )
    .unwrap();
    fs::write(env.path("alone.mbox"), b"Subject: not an mbox\n\nhello\n").unwrap();
    for (kind, destination) in [("maildir", "md"), ("mbox", "mb")] {
        let output = env.run(&[
            "copy",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint(kind, destination),
        ]);
        assert_exit(&output, 1);
        assert_error_line(&output, &["notes", "does not start with a `From ` line"]);
        let stored = match kind {
            "maildir" => read_maildir(&env.path(destination)),
            _ => read_mbox_dir(&env.path(destination)),
        };
        assert!(
            stored.contains_key("INBOX") && !stored.contains_key("notes"),
            "{kind}: the good folders and only them: {:?}",
            stored.keys()
        );

        let alone = format!("{destination}-alone");
        let output = env.run(&[
            "copy",
            &env.endpoint("mbox", "alone.mbox"),
            &env.endpoint(kind, &alone),
        ]);
        assert_exit(&output, 1);
        assert_error_line(
            &output,
            &["alone.mbox", "does not start with a `From ` line"],
        );
        assert!(
            !env.path(&alone).exists(),
            "{kind}: a destination was created for a file that is not an mbox"
        );
    }
}

#[test]
fn map_can_merge_folders_into_one_storing_shared_messages_once() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let original = read_mbox_dir(&env.path("mbox"));
    let events = env.run_json(
        &[
            "--json",
            "copy",
            "--folder",
            "Archive/2023",
            "--folder",
            "Archive/2024",
            "--map",
            "Archive/2023=Archive",
            "--map",
            "Archive/2024=Archive",
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("mbox", "archive.mbox"),
        ],
        0,
    );
    // The fixtures' message shared by Archive/2023 and Archive/2024 is
    // stored once in the merged folder.
    let merged: Vec<Stored> = original["Archive/2023"]
        .iter()
        .chain(&original["Archive/2024"])
        .cloned()
        .collect();
    let expected = deduplicated(&Model::from([("Archive".to_string(), merged)]));
    let shared =
        total(&original) - original["INBOX"].len() - original["Sent"].len() - total(&expected);
    assert!(
        shared > 0,
        "the fixtures share a message between the archive folders"
    );
    assert_eq!(count(summary(&events), "messages_duplicate"), shared as u64);
    let stored = Model::from([(
        "Archive".to_string(),
        read_mbox_file(&env.path("archive.mbox")),
    )]);
    assert_same_messages(&expected, &stored, "two folders merged into archive.mbox");
    assert_mbox_file_layout(&env.path("archive.mbox"));
}

#[test]
fn one_worker_or_many_store_the_same_messages() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let expected = deduplicated(&read_mbox_dir(&env.path("mbox")));
    for jobs in ["1", "2", "16"] {
        let destination = format!("md-{jobs}");
        let output = env.run(&[
            "copy",
            "--jobs",
            jobs,
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", &destination),
        ]);
        assert_exit(&output, 0);
        assert_same_messages(
            &expected,
            &read_maildir(&env.path(&destination)),
            &format!("--jobs {jobs}"),
        );
        assert_maildir_layout(&env.path(&destination));
    }
    // One worker for several folders: the fullest start first.
    let copied = read_maildir(&env.path("md-1"));
    assert!(copied.len() > 2, "the fixture has folders to order");
    let events = env.run_json(
        &[
            "--json",
            "copy",
            "--jobs",
            "1",
            &env.endpoint("maildir", "md-1"),
            &env.endpoint("maildir", "md-again"),
        ],
        0,
    );
    let sizes: Vec<usize> = events_of(&events, "folder_start")
        .into_iter()
        .map(|event| copied[event["folder"].as_str().unwrap()].len())
        .collect();
    assert_eq!(sizes.len(), copied.len());
    assert!(
        sizes.windows(2).all(|pair| pair[0] >= pair[1]),
        "folders started in this order of sizes: {sizes:?}"
    );
    let output = env.run(&[
        "copy",
        "--jobs",
        "0",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "md-0"),
    ]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["--jobs"]);
}

/// See: issue 11. `maildir:~/Mail` (as the README writes it) is the home
/// directory's Mail, not a directory named `~` in the working directory;
/// so are `~` paths given to options.
#[test]
fn a_leading_tilde_in_endpoints_and_path_options_is_the_home_directory() {
    let env = TestEnv::new();
    let source = crate::util::fixtures_dir().join("single.mbox");
    let output = env.run(&[
        "copy",
        &format!("mbox:{}", source.display()),
        "maildir:~/Mail",
        "--state=~/job.json",
    ]);
    assert_exit(&output, 0);
    let home = env.path("home");
    assert!(home.join("Mail/cur").is_dir(), "the maildir is under HOME");
    assert!(home.join("job.json").is_file(), "--state is under HOME");
    assert!(!env.path("~").exists(), "no directory named `~`");
    // A bare path too, now that it exists.
    assert_exit(&env.run(&["ls", "~/Mail"]), 0);
}

/// See: issue 11. A file in an mbox tree that may hold mail and is not
/// read is reported by path, counted, and makes the exit code 1; files
/// known not to hold mail, and empty ones, are left alone.
#[test]
fn files_of_an_mbox_tree_that_are_not_read_are_reported_and_counted() {
    let env = TestEnv::new();
    let tree = env.path("tree");
    fs::create_dir_all(tree.join("Sub.sbd")).unwrap();
    let mbox = fs::read(crate::util::fixtures_dir().join("single.mbox")).unwrap();
    fs::write(tree.join("Inbox"), &mbox).unwrap();
    fs::write(tree.join("Sub.sbd/Lists.mbox"), &mbox).unwrap();
    // Not mail, and said so by name or by being empty: left alone.
    fs::write(
        tree.join("Inbox.msf"),
        b"// <!-- <mdb:mork:z v=\"1.4\"/> -->",
    )
    .unwrap();
    fs::write(tree.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    fs::write(tree.join("Trash"), b"").unwrap();
    // May hold mail, is not read: reported.
    fs::write(tree.join("notes.txt"), b"Dear diary\n").unwrap();
    fs::write(
        tree.join("Sub.sbd/old-export"),
        b"\r\n\r\nReturn-Path: <a@b>\n",
    )
    .unwrap();

    let source = format!("mbox:{}", tree.display());
    let output = env.run(&["--json", "copy", &source, "maildir:out"]);
    assert_exit(&output, 1);
    let events = crate::util::json_events(&output);
    let skipped = skipped_paths(&events);
    assert_eq!(
        skipped,
        [
            tree.join("Sub.sbd/old-export").display().to_string(),
            tree.join("notes.txt").display().to_string(),
        ]
    );
    let done = summary(&events);
    assert_eq!(count(done, "files_skipped"), 2, "{done}");
    assert_eq!(count(done, "folders"), 2, "{done}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not read: `") && stderr.contains("notes.txt"),
        "{stderr}"
    );
    // `ls` says the same.
    let listed = env.run(&["--json", "ls", &source]);
    assert_exit(&listed, 1);
    let events = crate::util::json_events(&listed);
    assert_eq!(count(summary(&events), "files_skipped"), 2);
}

/// See: issue 11. "Nothing there" is an error (exit 2) that says what is
/// there: a folder that does not exist (with the closest name for a case
/// slip or a typo), an mbox endpoint that is a maildir, and a destination
/// to verify that does not exist.
#[test]
fn asking_for_what_is_not_there_is_an_error_that_names_what_is() {
    let env = TestEnv::new();
    let tree = env.copy_fixture("mbox");
    let source = format!("mbox:{}", tree.display());
    let output = env.run(&["copy", &source, "maildir:out", "--folder", "archive/2032"]);
    assert_exit(&output, 2);
    assert_error_line(
        &output,
        &[
            "`archive/2032` does not exist",
            "did you mean `Archive/2023`?",
            "`INBOX`",
        ],
    );
    assert!(!env.path("out").exists(), "nothing was created");

    let maildir = env.copy_fixture("maildir");
    let output = env.run(&["ls", &format!("mbox:{}", maildir.display())]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["is a maildir", "write maildir:"]);

    let output = env.run(&["verify", &source, "maildir:nowhere"]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["`maildir:nowhere` does not exist"]);
}

/// See: issue 11. `verify --content` compares bytes, not only fingerprints:
/// a message changed at the destination under the same Message-ID is
/// listed, while line ends, mbox quoting and flag headers are not
/// differences.
#[test]
fn verify_content_lists_messages_whose_bytes_differ() {
    let env = TestEnv::new();
    let tree = env.copy_fixture("mbox");
    let source = format!("mbox:{}", tree.display());
    assert_exit(&env.run(&["copy", &source, "maildir:out"]), 0);
    let output = env.run(&["--json", "verify", "--content", &source, "maildir:out"]);
    assert_exit(&output, 0);
    let events = crate::util::json_events(&output);
    assert_eq!(count(summary(&events), "messages_different"), 0);

    // Change one stored message's body, keeping its headers.
    let inbox = env.path("out/cur");
    let victim = fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            fs::read(p)
                .unwrap()
                .windows(11)
                .any(|w| w == b"Message-ID:")
        })
        .expect("a stored message with a Message-ID");
    let mut bytes = fs::read(&victim).unwrap();
    bytes.extend_from_slice(b"A line the source never had.\n");
    fs::write(&victim, bytes).unwrap();

    assert_exit(&env.run(&["verify", &source, "maildir:out"]), 0);
    let output = env.run(&["--json", "verify", "--content", &source, "maildir:out"]);
    assert_exit(&output, 1);
    let events = crate::util::json_events(&output);
    assert_eq!(count(summary(&events), "messages_different"), 1);
    assert_eq!(events_of(&events, "different").len(), 1);
}

/// See: issue 11. What lies in a maildir folder's directory and is read as
/// neither a message nor a folder is reported by path and counted; the
/// files mail programs keep there, and hidden names, are left alone.
#[test]
fn stray_entries_of_a_maildir_source_are_reported_and_counted() {
    let env = TestEnv::new();
    let root = env.copy_fixture("maildir");
    fs::create_dir_all(root.join(".Archive/cur")).unwrap();
    fs::create_dir_all(root.join(".Archive/new")).unwrap();
    fs::write(root.join("dovecot-uidlist"), b"3 V1 N1\n").unwrap();
    fs::write(root.join(".mbsyncstate"), b"FarUidValidity 1\n").unwrap();
    fs::write(root.join(".Archive/maildirfolder"), b"").unwrap();
    fs::write(root.join("notes.txt"), b"Dear diary\n").unwrap();
    fs::write(
        root.join(".Archive/saved-message.eml"),
        b"Subject: x\n\nbody\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("exports")).unwrap();
    fs::write(root.join("exports/2019.eml"), b"Subject: y\n\nbody\n").unwrap();

    let output = env.run(&[
        "--json",
        "copy",
        &format!("maildir:{}", root.display()),
        "maildir:out",
    ]);
    assert_exit(&output, 1);
    let events = crate::util::json_events(&output);
    let skipped = skipped_paths(&events);
    let mut expected = vec![
        root.join(".Archive/saved-message.eml")
            .display()
            .to_string(),
        root.join("exports").display().to_string(),
        root.join("notes.txt").display().to_string(),
    ];
    expected.sort();
    assert_eq!(skipped, expected);
    assert_eq!(count(summary(&events), "files_skipped"), 3);
}

/// See: issue 11. Two Maildir++ directories that give the same folder name
/// (`.INBOX` beside the root, `.a..b` beside `.a.b`) are not merged or
/// dropped in silence: the one not read is reported.
#[test]
fn maildir_directories_that_give_a_taken_folder_name_are_reported() {
    let env = TestEnv::new();
    let root = env.copy_fixture("maildir");
    for dir in [".INBOX", ".a.b", ".a..b"] {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(root.join(dir).join(sub)).unwrap();
        }
    }
    let output = env.run(&[
        "--json",
        "copy",
        &format!("maildir:{}", root.display()),
        "maildir:out",
    ]);
    assert_exit(&output, 1);
    let events = crate::util::json_events(&output);
    let skipped = skipped_paths(&events);
    assert_eq!(
        skipped,
        [
            root.join(".INBOX").display().to_string(),
            root.join(".a..b").display().to_string()
        ]
    );
}

/// See: issue 11. mbox to mbox keeps each message's envelope sender (the
/// From_ line's), and a message an mbox marks `Status: O` (seen arriving,
/// not read) lands in a maildir's cur/, not new/, where readers would show
/// it as new again.
#[test]
fn mbox_envelopes_and_old_unread_mail_are_kept() {
    let env = TestEnv::new();
    fs::write(
        env.path("in.mbox"),
        b"From alice@example.org Wed Jan  1 10:00:00 2020\n\
Subject: one\nMessage-ID: <one@x>\nStatus: O\n\nbody\n\n\
From bob@example.net Wed Jan  1 11:00:00 2020\n\
Subject: two\nMessage-ID: <two@x>\n\nbody\n\n",
    )
    .unwrap();
    assert_exit(&env.run(&["copy", "mbox:in.mbox", "mbox:out.mbox"]), 0);
    let written = fs::read_to_string(env.path("out.mbox")).unwrap();
    let senders: Vec<&str> = written
        .lines()
        .filter(|l| l.starts_with("From "))
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(
        senders,
        ["alice@example.org", "bob@example.net"],
        "{written}"
    );

    assert_exit(&env.run(&["copy", "mbox:in.mbox", "maildir:md"]), 0);
    let in_cur = fs::read_dir(env.path("md/cur")).unwrap().count();
    let in_new = fs::read_dir(env.path("md/new")).unwrap().count();
    assert_eq!(
        (in_cur, in_new),
        (1, 1),
        "old mail in cur/, new mail in new/"
    );
}

/// The paths of the `skipped` events, sorted.
fn skipped_paths(events: &[Value]) -> Vec<String> {
    let mut paths: Vec<String> = events_of(events, "skipped")
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default().to_string())
        .collect();
    paths.sort();
    paths
}

#[test]
fn duplicates_within_the_source_are_told_from_messages_already_at_the_destination() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    // The fixture tree holds one message twice.
    let first = env.run_json(&["--json", "copy", &src, &dst], 0);
    let done = summary(&first);
    assert_eq!(count(done, "duplicates_in_source"), 1, "{done}");
    assert_eq!(count(done, "messages_duplicate"), 1, "{done}");
    // The same copy with its state forgotten: everything is already at
    // the destination, which is not the source's doing.
    let (id, _) = env.only_checkpoint();
    assert_exit(&env.run(&["state", "forget", &id]), 0);
    let output = env.run(&["--json", "-v", "copy", &src, &dst]);
    assert_exit(&output, 0);
    let done = summary(&crate::util::json_events(&output)).clone();
    assert_eq!(count(&done, "duplicates_in_source"), 0, "{done}");
    assert_eq!(count(&done, "messages_duplicate"), 48, "{done}");
    assert!(
        crate::util::stderr(&output).contains("skipped 48 messages already at the destination"),
        "{}",
        crate::util::stderr(&output)
    );
}
