//! Checkpoints: a finished job copies nothing the next time, `mailtug state`
//! manages them, they are private, a source that changed under them falls
//! back on dedup, and one job runs at a time (its lock).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use serde_json::Value;

use crate::util::corpus::{self, manifest};
use crate::util::model::{assert_same_messages, read_maildir, Model};
use crate::util::{
    assert_error_line, assert_exit, assert_same_snapshot, count, events_of, json_events, snapshot,
    stdout, summary, TestEnv,
};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_second_run_copies_nothing_and_changes_nothing() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    env.copy_fixture("maildir");
    let jobs = [
        (
            env.endpoint("mbox", "mbox"),
            env.endpoint("maildir", "md"),
            "md",
        ),
        (
            env.endpoint("maildir", "maildir"),
            env.endpoint("mbox", "mb"),
            "mb",
        ),
    ];
    for (src, dst, dir) in &jobs {
        let first = env.run_json(&["--json", "copy", src, dst], 0);
        assert!(count(summary(&first), "messages_copied") > 0);
        let after_first = snapshot(&env.path(dir));
        for run in 2..=3 {
            let events = env.run_json(&["--json", "copy", src, dst], 0);
            let summary = summary(&events);
            assert_eq!(
                count(summary, "messages_copied"),
                0,
                "run {run} of {src}: {summary}"
            );
            assert_eq!(
                count(summary, "messages_duplicate"),
                0,
                "run {run}: {summary}"
            );
            assert_eq!(count(summary, "folders"), 4, "run {run}: {summary}");
            assert_eq!(
                count(summary, "folders_unchanged"),
                count(summary, "folders"),
                "run {run} of {src}: every folder is unchanged: {summary}"
            );
            assert!(events_of(&events, "message").is_empty(), "run {run}");
            assert_same_snapshot(
                &after_first,
                &snapshot(&env.path(dir)),
                &format!("run {run}"),
            );
        }
    }
}

#[test]
fn state_list_show_and_forget_manage_the_checkpoint() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    assert_exit(&env.run(&["copy", &src, &dst]), 0);
    let (id, path) = env.only_checkpoint();

    let output = env.run(&["state", "list"]);
    assert_exit(&output, 0);
    let lines: Vec<String> = stdout(&output).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "a header and the job: {lines:?}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "LAST",
            "RUN",
            "STATUS",
            "COPIED",
            "FAILED",
            "SOURCE",
            "->",
            "DESTINATION"
        ]
    );
    for part in [id.as_str(), "finished", src.as_str(), dst.as_str()] {
        assert!(
            lines[1].contains(part),
            "`state list` line lacks {part}: {}",
            lines[1]
        );
    }
    let events = env.run_json(&["--json", "state", "list"], 0);
    let listed = events_of(&events, "checkpoint");
    assert_eq!(listed.len(), 1, "{events:?}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["source"], src.as_str());
    assert_eq!(listed[0]["destination"], dst.as_str());
    assert_eq!(listed[0]["status"], "finished");
    let copied = listed[0]["last_run"]["messages_copied"].as_u64().unwrap();
    assert!(copied > 0, "{}", listed[0]);
    assert_eq!(
        lines[1].split_whitespace().nth(4),
        Some(copied.to_string().as_str()),
        "{}",
        lines[1]
    );

    // By id, the id's first characters, the file, or SRC DST.
    for reference in [
        vec![id.clone()],
        vec![id[..6].to_string()],
        vec![path.display().to_string()],
        vec![src.clone(), dst.clone()],
    ] {
        let mut show = vec!["state".to_string(), "show".to_string()];
        show.extend(reference.iter().cloned());
        let output = env.run_owned(&show);
        assert_exit(&output, 0);
        let shown: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("`state show {reference:?}` is not JSON: {e}"));
        assert_eq!(shown["job"]["source"], src.as_str());
        assert_eq!(shown["job"]["destination"], dst.as_str());
        let folders: Vec<&String> = shown["folders"].as_object().unwrap().keys().collect();
        assert_eq!(folders, ["Archive/2023", "Archive/2024", "INBOX", "Sent"]);
    }

    let output = env.run(&["state", "forget", &id]);
    assert_exit(&output, 0);
    assert!(!path.exists(), "the checkpoint is still there");
    assert!(env.checkpoints().is_empty());
    assert_eq!(stdout(&env.run(&["state", "list"])), "");
    let output = env.run(&["state", "show", &id]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["no state"]);
    let output = env.run(&["state", "forget", &src, &dst]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["no state for"]);

    // Starting over relies on dedup: everything is already there.
    let events = env.run_json(&["--json", "copy", &src, &dst], 0);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 0, "{summary}");
    let rows = manifest()
        .iter()
        .filter(|r| r["file"].as_str().unwrap().starts_with("mbox/"))
        .count();
    assert_eq!(
        count(summary, "messages_duplicate"),
        rows as u64,
        "{summary}"
    );
}

#[test]
fn checkpoints_are_private_files_in_a_private_directory() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let src = env.endpoint("mbox", "single.mbox");
    assert_exit(&env.run(&["copy", &src, &env.endpoint("maildir", "md")]), 0);
    let (_, path) = env.only_checkpoint();
    assert_eq!(mode(&path), 0o600, "{}", path.display());
    assert_eq!(mode(&env.checkpoint_dir()), 0o700);

    let explicit = env.path("checkpoints/job.json");
    let output = env.run(&[
        "copy",
        "--state",
        explicit.to_str().unwrap(),
        &src,
        &env.endpoint("maildir", "md2"),
    ]);
    assert_exit(&output, 0);
    assert_eq!(mode(&explicit), 0o600);
    assert_eq!(mode(explicit.parent().unwrap()), 0o700);
    assert_eq!(
        env.checkpoints().len(),
        1,
        "--state does not write a default checkpoint too"
    );
}

#[test]
fn messages_appended_to_a_source_mbox_are_the_only_ones_copied_next_time() {
    let env = TestEnv::new();
    let messages = corpus::synthetic_range(0..30);
    corpus::write_mbox(&env.path("in.mbox"), &messages[..20]);
    let (src, dst) = (
        env.endpoint("mbox", "in.mbox"),
        env.endpoint("maildir", "md"),
    );
    assert_exit(&env.run(&["copy", &src, &dst]), 0);

    // Append in place (same inode), as a delivery agent does.
    corpus::write_mbox(&env.path("more.mbox"), &messages[20..]);
    let more = fs::read(env.path("more.mbox")).unwrap();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(env.path("in.mbox"))
        .unwrap();
    std::io::Write::write_all(&mut file, &more).unwrap();
    drop(file);

    let events = env.run_json(&["--json", "copy", &src, &dst], 0);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 10, "{summary}");
    assert_eq!(
        count(summary, "messages_duplicate"),
        0,
        "resumed past the old end: {summary}"
    );
    let expected = Model::from([("INBOX".to_string(), corpus::stored(&messages))]);
    assert_same_messages(&expected, &read_maildir(&env.path("md")), "after appending");
}

#[test]
fn a_replaced_source_folder_is_copied_again_relying_on_dedup() {
    let env = TestEnv::new();
    let messages = corpus::synthetic_range(0..12);
    corpus::write_mbox(&env.path("in.mbox"), &messages[..10]);
    let (src, dst) = (
        env.endpoint("mbox", "in.mbox"),
        env.endpoint("maildir", "md"),
    );
    assert_exit(&env.run(&["copy", &src, &dst]), 0);

    // Rewritten and renamed over the old file: a new inode, as mail clients
    // compacting a folder leave it. Two messages are new.
    corpus::write_mbox(&env.path("new.mbox"), &messages);
    fs::rename(env.path("new.mbox"), env.path("in.mbox")).unwrap();
    let output = env.run(&["--json", "copy", &src, &dst]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    let warnings = events_of(&events, "warning");
    assert!(
        warnings
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("replaced")),
        "a warning says the folder was replaced: {warnings:?}"
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 2, "{summary}");
    assert_eq!(count(summary, "messages_duplicate"), 10, "{summary}");
    let expected = Model::from([("INBOX".to_string(), corpus::stored(&messages))]);
    assert_same_messages(&expected, &read_maildir(&env.path("md")), "after replacing");
}

#[test]
fn a_run_of_a_job_whose_lock_is_held_exits_5() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let state = env.path("job.json");
    let (src, dst) = (
        env.endpoint("mbox", "single.mbox"),
        env.endpoint("maildir", "md"),
    );
    let args = ["copy", "--state", state.to_str().unwrap(), &src, &dst];

    // Hold the job's lock as a running mailtug would (flock on FILE.lock).
    let lock_path = env.path("job.json.lock");
    let lock = fs::File::create(&lock_path).unwrap();
    lock.lock().expect("taking the job lock");

    let output = env.run(&args);
    assert_exit(&output, 5);
    assert_error_line(&output, &["another mailtug run", "job.json.lock"]);
    assert!(!state.exists(), "a locked-out run saved a checkpoint");

    // A dry run takes no lock, so it is not refused.
    let mut dry = args.to_vec();
    dry.insert(1, "--dry-run");
    assert_exit(&env.run(&dry), 0);

    drop(lock);
    assert_exit(&env.run(&args), 0);
    assert!(state.is_file());
}

#[test]
fn two_concurrent_runs_of_the_same_job_the_second_exits_5() {
    let env = TestEnv::new();
    let messages = corpus::synthetic_range(0..1500);
    corpus::write_mbox(&env.path("big.mbox"), &messages);
    let (src, dst) = (
        env.endpoint("mbox", "big.mbox"),
        env.endpoint("maildir", "md"),
    );

    let mut first = env.spawn(&["--json", "copy", &src, &dst]);
    assert!(
        first.wait_for_messages(1),
        "the first run ended before storing anything"
    );
    // Frozen while holding the lock, so the overlap is certain.
    first.signal("STOP");
    let output = env.run(&["copy", &src, &dst]);
    assert_exit(&output, 5);
    assert_error_line(&output, &["another mailtug run"]);
    first.signal("CONT");
    let finished = first.finish();
    finished.assert_exit(0);

    let expected = Model::from([("INBOX".to_string(), corpus::stored(&messages))]);
    assert_same_messages(
        &expected,
        &read_maildir(&env.path("md")),
        "after the first run",
    );
}

#[test]
fn state_show_into_a_closed_pipe_exits_quietly() {
    let env = TestEnv::new();
    // A maildir source records every file name: a checkpoint far larger than
    // a pipe's buffer, so `state show` is still writing when the pipe closes.
    corpus::write_maildir(&env.path("maildir"), &corpus::synthetic_range(0..4000));
    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "maildir"),
        &env.endpoint("mbox", "out.mbox"),
    ]);
    assert_exit(&output, 0);
    let (id, path) = env.only_checkpoint();
    // Linux pipes buffer 64 KiB by default.
    assert!(fs::metadata(&path).unwrap().len() > 128 * 1024);

    let mut child = env
        .command(["state", "show", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap(); // then closed
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        crate::util::stderr(&output),
        "",
        "nothing to report on a closed pipe"
    );
}

#[test]
fn state_show_of_an_unknown_id_is_a_usage_error() {
    let env = TestEnv::new();
    let output = env.run(&["state", "show", "0123456789abcdef"]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["no state"]);
    let output = env.run(&["state", "forget", "not-an-id"]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["not-an-id"]);
}

/// The JSON checkpoint of releases before the SQLite state (`state show`
/// prints a state in exactly that form) is migrated on the first run and
/// keeps the job where it was: nothing is copied again, not even from a
/// folder with a gap left by a refused message.
#[test]
fn a_json_checkpoint_of_an_earlier_release_is_migrated_on_first_use() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    assert_exit(&env.run(&["copy", &src, &dst]), 0);
    let (id, path) = env.only_checkpoint();
    let json = stdout(&env.run(&["state", "show", &id]));
    let shown: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(shown["version"], 1, "the JSON form of the earlier releases");

    // As an earlier release left it: only `<id>.json`, with its lock file.
    fs::remove_file(&path).unwrap();
    let legacy = env.checkpoint_dir().join(format!("{id}.json"));
    fs::write(&legacy, &json).unwrap();
    fs::write(env.checkpoint_dir().join(format!("{id}.json.lock")), b"").unwrap();
    let output = env.run(&["state", "list"]);
    assert!(
        stdout(&output).contains(&id),
        "`state list` shows a JSON checkpoint too"
    );

    let events = env.run_json(&["--json", "copy", &src, &dst], 0);
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 0, "{summary}");
    assert_eq!(count(summary, "messages_duplicate"), 0, "{summary}");
    assert_eq!(count(summary, "folders_unchanged"), 4, "{summary}");
    assert!(path.is_file(), "the state file is written");
    assert!(
        !legacy.exists(),
        "the JSON checkpoint is gone once migrated"
    );
    let names: Vec<String> = fs::read_dir(env.checkpoint_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".json")), "{names:?}");
    assert_eq!(env.state_json(&path)["folders"], shown["folders"]);
}

/// `state show --messages` prints a row per message stored, with where the
/// destination put it: here each maildir key names a file that is there.
#[test]
fn state_show_messages_names_where_each_message_went() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    let (src, dst) = (env.endpoint("mbox", "mbox"), env.endpoint("maildir", "md"));
    let events = env.run_json(&["--json", "copy", &src, &dst], 0);
    let copied = count(summary(&events), "messages_copied");
    let duplicates = count(summary(&events), "messages_duplicate");
    let (id, _) = env.only_checkpoint();
    let output = env.run(&["state", "show", "--messages", &id]);
    assert_exit(&output, 0);
    let rows: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        rows.len() as u64,
        copied + duplicates,
        "one row per message done"
    );
    let (stored, found): (Vec<&Value>, Vec<&Value>) = rows
        .iter()
        .partition(|row| !row["destination_key"].is_null());
    assert_eq!(
        stored.len() as u64,
        copied,
        "a destination key for each copied"
    );
    assert!(
        found
            .iter()
            .all(|row| row["destination_folder"] == row["folder"]),
        "a duplicate names the folder where its copy already was"
    );
    let files: Vec<String> = crate::util::list_files(&env.path("md"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for row in stored {
        let key = row["destination_key"]
            .as_str()
            .expect("a maildir file name");
        let folder = row["destination_folder"].as_str().unwrap();
        assert_eq!(folder, row["folder"].as_str().unwrap(), "{row}");
        assert!(
            files
                .iter()
                .any(|name| name == key || name.starts_with(&format!("{key}:2,"))),
            "no file `{key}` at the destination: {row}"
        );
        assert!(row["source_key"].is_u64(), "an mbox offset: {row}");
        let fingerprint = row["fingerprint"].as_str().unwrap();
        assert!(
            fingerprint.starts_with('<') || fingerprint.starts_with("sha256:"),
            "{row}"
        );
    }
}

#[test]
fn state_list_says_how_each_jobs_last_run_ended() {
    use crate::support::account::Account;
    use crate::support::faultproxy::{Fault, FaultProxy, Plan, Rule};
    use crate::support::Dovecot;
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let account = Account::new(&env, server, "status", None);
    crate::bulk::load(&account, "st", 150);
    // A slow link, so each run is still copying when it is stopped.
    let proxy = FaultProxy::start(
        server.imaps_port(),
        Plan::clean().with(Rule::to_client(Fault::Latency { millis: 30 })),
    );
    let copy = [
        "--json",
        "-v",
        "copy",
        &account.url("imaps", proxy.port()),
        &env.endpoint("maildir", "out"),
        "--src-password-file",
        &crate::util::path_arg(&account.password_file),
        "--src-ca-file",
        &crate::util::path_arg(server.ca_file()),
    ];
    let status = || {
        let events = env.run_json(&["--json", "state", "list"], 0);
        let listed = events_of(&events, "checkpoint");
        assert_eq!(listed.len(), 1, "{events:?}");
        listed[0]["status"].as_str().unwrap().to_string()
    };

    // Killed while copying: nothing said how it ended, and no run holds
    // the lock any more.
    let mut running = env.spawn(&copy);
    assert!(running.wait_for_event("folder_start"));
    running.kill_9();
    let _ = running.finish();
    assert_eq!(status(), "stopped");

    // Stopped by a signal: it says so.
    let mut running = env.spawn(&copy);
    assert!(running.wait_for_event("folder_start"));
    running.signal("TERM");
    let finished = running.finish();
    assert_eq!(finished.status.code(), Some(4));
    assert!(
        finished
            .stderr
            .contains("interrupted: run the same command again to resume"),
        "{}",
        finished.stderr
    );
    assert_eq!(status(), "interrupted");

    // Run to the end: it says it resumed, and a line per folder (-v).
    let output = env.command(copy).output().unwrap();
    crate::util::assert_exit(&output, 0);
    let err = crate::util::stderr(&output);
    assert!(
        err.contains("mailtug: resumed the last run: copied"),
        "{err}"
    );
    assert!(err.contains("folder `INBOX`: "), "{err}");
    assert_eq!(status(), "finished");
    let output = env.run(&["state", "list"]);
    assert!(stdout(&output).lines().nth(1).unwrap().contains("finished"));
}

#[test]
fn state_show_json_is_one_document_without_a_summary_after_it() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let src = env.endpoint("mbox", "single.mbox");
    assert_exit(&env.run(&["copy", &src, &env.endpoint("maildir", "md")]), 0);
    let (id, _) = env.only_checkpoint();
    let output = env.run(&["--json", "state", "show", &id]);
    assert_exit(&output, 0);
    let shown: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(shown["job"]["source"], src.as_str());
}
