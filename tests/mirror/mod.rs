//! `mailtug mirror` between maildirs: flags follow the source, deletions
//! follow only with `--delete` and only past every safety rail.

mod mbox;

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::util::{assert_exit, count, events_of, json_events, stderr, summary, TestEnv};

/// A source maildir of `n` messages, each read (`:2,S`) but not flagged.
fn source(env: &TestEnv, n: usize) {
    let src = env.path("src");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(src.join(sub)).unwrap();
    }
    for i in 1..=n {
        fs::write(
            src.join(format!("cur/{}.M1P1.host:2,S", 1_700_000_000 + i)),
            format!("Message-ID: <{i}@mirror.example>\nSubject: {i}\n\nbody {i}\n"),
        )
        .unwrap();
    }
}

fn src_file(env: &TestEnv, i: usize) -> std::path::PathBuf {
    env.path(&format!("src/cur/{}.M1P1.host:2,S", 1_700_000_000 + i))
}

fn mirror(env: &TestEnv, extra: &[&str]) -> Output {
    let (from, to) = (
        env.endpoint("maildir", "src"),
        env.endpoint("maildir", "dst"),
    );
    let mut args = vec!["mirror", "--json", &from, &to];
    args.extend_from_slice(extra);
    env.run(&args)
}

/// The destination's files, as (subject number, info letters).
fn destination(dir: &Path) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for sub in ["cur", "new"] {
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            let subject: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
                .parse()
                .unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let info = name
                .split_once(":2,")
                .map_or("", |(_, info)| info)
                .to_string();
            found.push((subject, info));
        }
    }
    found.sort();
    found
}

#[test]
fn flags_and_deletions_follow_the_source_and_a_dry_run_changes_nothing() {
    let env = TestEnv::new();
    source(&env, 12);
    assert_exit(&mirror(&env, &[]), 0);
    assert_eq!(destination(&env.path("dst")).len(), 12);

    // Flagged, unread, gone.
    fs::rename(
        src_file(&env, 1),
        env.path("src/cur/1700000001.M1P1.host:2,FS"),
    )
    .unwrap();
    fs::rename(
        src_file(&env, 2),
        env.path("src/cur/1700000002.M1P1.host:2,"),
    )
    .unwrap();
    fs::remove_file(src_file(&env, 3)).unwrap();

    let before = destination(&env.path("dst"));
    let output = mirror(&env, &["--delete", "--dry-run"]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    assert_eq!(events_of(&events, "flags_updated").len(), 2);
    assert_eq!(events_of(&events, "deleted").len(), 1);
    assert!(events_of(&events, "deleted")[0]["dry_run"] == true);
    assert_eq!(
        destination(&env.path("dst")),
        before,
        "a dry run changes nothing"
    );

    // Without --delete, flags follow and nothing is removed.
    let output = mirror(&env, &[]);
    assert_exit(&output, 0);
    let done = summary(&json_events(&output)).clone();
    assert_eq!(count(&done, "flags_updated"), 2);
    assert_eq!(count(&done, "messages_deleted"), 0);
    let now = destination(&env.path("dst"));
    assert!(
        now.contains(&(1, "FS".into())) && now.contains(&(2, "".into())),
        "{now:?}"
    );
    assert!(now.iter().any(|(n, _)| *n == 3), "kept without --delete");

    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "messages_deleted"), 1);
    assert_eq!(
        count(summary(&events), "flags_updated"),
        0,
        "flags already follow"
    );
    let deleted = events_of(&events, "deleted")[0];
    assert_eq!(
        deleted["key"],
        serde_json::json!({"file": "1700000003.M1P1.host"})
    );
    assert!(deleted["destination_key"].is_string());
    assert!(!destination(&env.path("dst")).iter().any(|(n, _)| *n == 3));

    // Changes made at the destination are overwritten: the source wins.
    let dst_cur = env.path("dst/cur");
    let one = fs::read_dir(&dst_cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::read_to_string(p).unwrap().contains("Subject: 4\n"))
        .unwrap();
    let name = one.file_name().unwrap().to_string_lossy().to_string();
    let (unique, _) = name.split_once(":2,").unwrap();
    fs::rename(&one, dst_cur.join(format!("{unique}:2,T"))).unwrap();
    // The state knows the flags it gave, not this change: touching the
    // source message makes the mirror look again.
    fs::rename(
        src_file(&env, 4),
        env.path("src/cur/1700000004.M1P1.host:2,RS"),
    )
    .unwrap();
    assert_exit(&mirror(&env, &[]), 0);
    assert!(destination(&env.path("dst")).contains(&(4, "RS".into())));

    // A message new at the source is copied as by copy.
    fs::write(
        env.path("src/new/1700000099.M1P1.host"),
        "Message-ID: <99@mirror.example>\nSubject: 99\n\nnew\n",
    )
    .unwrap();
    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "messages_copied"), 1);
}

#[test]
fn deletions_past_the_limit_are_refused_with_exit_6_until_allowed() {
    let env = TestEnv::new();
    source(&env, 30);
    assert_exit(&mirror(&env, &[]), 0);
    // 10% of 30 is 3: four deletions are too many.
    for i in 1..=4 {
        fs::remove_file(src_file(&env, i)).unwrap();
    }
    fs::rename(
        src_file(&env, 5),
        env.path("src/cur/1700000005.M1P1.host:2,FS"),
    )
    .unwrap();
    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 6);
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "deletions_refused"), 4);
    assert_eq!(
        count(summary(&events), "flags_updated"),
        1,
        "flags follow anyway"
    );
    let refused = events_of(&events, "deletions_refused")[0];
    assert_eq!(refused["count"], 4);
    assert!(
        stderr(&output).contains("--max-delete 4"),
        "{}",
        stderr(&output)
    );
    assert_eq!(destination(&env.path("dst")).len(), 30, "nothing deleted");

    assert_exit(&mirror(&env, &["--delete", "--max-delete", "3"]), 6);
    let output = mirror(&env, &["--delete", "--max-delete", "20%"]);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "messages_deleted"), 4);
    assert_eq!(destination(&env.path("dst")).len(), 26);
}

#[test]
fn an_emptied_or_missing_source_folder_deletes_nothing_whatever_the_limit() {
    let env = TestEnv::new();
    source(&env, 5);
    fs::create_dir_all(env.path("src/.Work/cur")).unwrap();
    fs::create_dir_all(env.path("src/.Work/new")).unwrap();
    fs::write(
        env.path("src/.Work/cur/1700000100.M1P1.host:2,"),
        "Message-ID: <w@mirror.example>\nSubject: 100\n\nwork\n",
    )
    .unwrap();
    assert_exit(&mirror(&env, &[]), 0);

    for i in 1..=5 {
        fs::remove_file(src_file(&env, i)).unwrap();
    }
    fs::remove_dir_all(env.path("src/.Work")).unwrap();
    let output = mirror(&env, &["--delete", "--max-delete", "100%"]);
    assert_exit(&output, 6);
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "deletions_refused"), 5);
    assert!(
        stderr(&output).contains("holds none of the 5 messages"),
        "{}",
        stderr(&output)
    );
    assert_eq!(destination(&env.path("dst")).len(), 5);
    // The missing folder is not looked at at all; its copy stays whole.
    assert_eq!(destination(&env.path("dst/.Work")).len(), 1);
}

#[test]
fn trash_keeps_what_is_removed_in_the_trash_folder() {
    let env = TestEnv::new();
    source(&env, 10);
    assert_exit(&mirror(&env, &[]), 0);
    fs::remove_file(src_file(&env, 7)).unwrap();
    assert_exit(&mirror(&env, &["--delete=trash"]), 0);
    assert_eq!(destination(&env.path("dst")).len(), 9);
    assert_eq!(destination(&env.path("dst/.Trash")), [(7, "S".to_string())]);
}

#[test]
fn sources_and_destinations_that_cannot_mirror_are_refused_before_anything_starts() {
    let env = TestEnv::new();
    source(&env, 1);
    fs::write(env.path("box.mbox"), "").unwrap();
    let output = env.run(&[
        "mirror",
        &env.endpoint("maildir", "src"),
        &env.endpoint("mbox", "box.mbox"),
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("cannot change flags"),
        "{}",
        stderr(&output)
    );
    let output = env
        .command([
            "mirror",
            "--src-password-env",
            "MAILTUG_TEST_PASSWORD",
            "pop3s://someone@127.0.0.1:1",
            &env.endpoint("maildir", "dst"),
        ])
        .env("MAILTUG_TEST_PASSWORD", "not used")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("not a mirror source"),
        "{}",
        stderr(&output)
    );
    let output = env.run(&[
        "mirror",
        "--delete-source",
        &env.endpoint("maildir", "src"),
        &env.endpoint("maildir", "dst"),
    ]);
    assert_exit(&output, 2);
}

/// Kill -9 in the flag phase and in the delete phase, then rerun: the
/// destination ends equal to the source, and nothing still at the source
/// was removed.
#[test]
fn kill_9_while_flags_change_or_messages_go_then_a_rerun_ends_equal_to_the_source() {
    let env = TestEnv::new();
    source(&env, 300);
    assert_exit(&mirror(&env, &[]), 0);
    for i in 1..=150 {
        fs::rename(
            src_file(&env, i),
            env.path(&format!("src/cur/{}.M1P1.host:2,FS", 1_700_000_000 + i)),
        )
        .unwrap();
    }
    for i in 281..=300 {
        fs::remove_file(src_file(&env, i)).unwrap();
    }
    let (from, to) = (
        env.endpoint("maildir", "src"),
        env.endpoint("maildir", "dst"),
    );
    for phase in ["flags_updated", "deleted"] {
        let mut running = env.spawn(&["mirror", "--json", "--delete", &from, &to]);
        if running.wait_for_event(phase) {
            running.kill_9();
        }
        running.finish();
    }
    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 0);
    let expected: Vec<(usize, String)> = (1..=280)
        .map(|i| (i, if i <= 150 { "FS" } else { "S" }.to_string()))
        .collect();
    assert_eq!(destination(&env.path("dst")), expected);
    // And a last run has nothing left to do.
    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "flags_updated"), 0);
    assert_eq!(count(summary(&events), "messages_deleted"), 0);
}

/// A maildir unchanged since the last complete mirror is neither listed
/// nor read; a flag change (a rename) shows at once.
#[test]
fn an_unchanged_maildir_is_not_read_again_and_a_rename_is_seen_at_once() {
    let env = TestEnv::new();
    source(&env, 10);
    assert_exit(&mirror(&env, &[]), 0);
    // Past the settling time of the directories' stamps.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_exit(&mirror(&env, &[]), 0);
    let output = mirror(&env, &["-vv"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("unchanged since its last complete mirror"),
        "{}",
        stderr(&output)
    );
    fs::rename(
        src_file(&env, 1),
        env.path("src/cur/1700000001.M1P1.host:2,FS"),
    )
    .unwrap();
    let output = mirror(&env, &[]);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "flags_updated"), 1);
}

#[test]
fn a_message_moved_between_folders_is_copied_at_the_destination_then_removed_from_the_old_one() {
    let env = TestEnv::new();
    source(&env, 12);
    let archive = env.path("src/.Archive");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(archive.join(sub)).unwrap();
    }
    assert_exit(&mirror(&env, &["--delete"]), 0);

    // Message 3 moves to Archive, flagged on the way; 4 is copied there too.
    let moved = "1700000003.M1P1.host:2,FS";
    fs::rename(src_file(&env, 3), archive.join("cur").join(moved)).unwrap();
    fs::copy(
        src_file(&env, 4),
        archive.join("cur/1700000004.M1P1.host:2,S"),
    )
    .unwrap();
    let output = mirror(&env, &["--delete"]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    let copied: Vec<_> = events_of(&events, "message")
        .into_iter()
        .filter(|e| e["folder"] == "Archive")
        .collect();
    assert_eq!(copied.len(), 2, "{events:?}");
    for event in &copied {
        // Taken from where the destination holds it, not from the source.
        assert_eq!(event["copied_from"], "INBOX", "{event}");
        assert_eq!(event["bytes"], 0, "{event}");
    }
    let deleted = events_of(&events, "deleted");
    assert_eq!(deleted.len(), 1, "{events:?}");
    assert_eq!(deleted[0]["folder"], "INBOX");
    // The removal comes after the copy, and the folder's end after both.
    let position =
        |wanted: &dyn Fn(&serde_json::Value) -> bool| events.iter().position(wanted).unwrap();
    let removed_at = position(&|e| e["event"] == "deleted");
    assert!(position(&|e| e["copied_from"] == "INBOX") < removed_at);
    assert!(
        removed_at < position(&|e| e["event"] == "folder_done" && e["folder"] == "INBOX"),
        "{events:?}"
    );
    let done = summary(&events);
    assert_eq!(count(done, "messages_deleted"), 1);
    assert_eq!(
        count(done, "flags_updated"),
        1,
        "the moved message's new flag"
    );

    let inbox = destination(&env.path("dst"));
    assert!(!inbox.iter().any(|(n, _)| *n == 3), "{inbox:?}");
    assert_eq!(inbox.len(), 11);
    let archived = destination(&env.path("dst/.Archive"));
    assert_eq!(archived, vec![(3, "FS".to_string()), (4, "S".to_string())]);

    // All settled: a rerun changes nothing.
    let events = json_events(&mirror(&env, &["--delete"]));
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 0);
    assert_eq!(count(done, "messages_deleted"), 0);
    assert_eq!(count(done, "flags_updated"), 0);

    // Another message with the Message-ID of one in INBOX (a mailing
    // list's copy of a message in Sent) is not taken from INBOX: its own
    // bytes are copied.
    let variant =
        "Message-ID: <5@mirror.example>\nSubject: 5\nList-Id: <l.example>\n\nbody 5\n--\nfooter\n";
    fs::write(archive.join("cur/1700000099.M1P1.host:2,S"), variant).unwrap();
    let events = json_events(&mirror(&env, &["--delete"]));
    let copied = events_of(&events, "message");
    assert_eq!(copied.len(), 1, "{events:?}");
    assert!(copied[0].get("copied_from").is_none(), "{}", copied[0]);
    assert!(count(summary(&events), "bytes_copied") > 0);
    let archived: Vec<String> = ["cur", "new"]
        .iter()
        .flat_map(|sub| fs::read_dir(env.path("dst/.Archive").join(sub)).unwrap())
        .map(|entry| fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert!(archived.iter().any(|text| text == variant), "{archived:?}");
}
