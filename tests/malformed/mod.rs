//! Bad input gives a clear error and the documented exit code, never a
//! panic: the malformed mbox fixtures, unreadable messages, endpoints that do
//! not exist or are not supported, destinations that cannot be written, and
//! damaged checkpoints.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::model::{assert_same_messages, read_maildir, read_mbox_file, Model};
use crate::util::{
    assert_error_line, assert_exit, count, list_files, permissions_are_bypassed, summary, TestEnv,
};

/// The message files under a maildir tree (in `cur/` and `new/`).
fn message_files(env: &TestEnv, maildir: &str) -> Vec<std::path::PathBuf> {
    list_files(&env.path(maildir))
        .into_iter()
        .filter(|p| {
            let parent = p.parent().and_then(|d| d.file_name()).unwrap_or_default();
            parent == "cur" || parent == "new"
        })
        .collect()
}

#[test]
fn an_empty_mbox_is_an_empty_folder() {
    let env = TestEnv::new();
    env.copy_fixture("malformed");
    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("mbox", "malformed/empty.mbox"),
            &env.endpoint("maildir", "md"),
        ],
        0,
    );
    let summary = summary(&events);
    assert_eq!(count(summary, "messages_copied"), 0);
    assert_eq!(count(summary, "messages_failed"), 0);
    assert!(message_files(&env, "md").is_empty());
}

#[test]
fn garbage_or_no_from_line_fails_naming_the_file_and_writes_nothing() {
    let env = TestEnv::new();
    env.copy_fixture("malformed");
    for name in ["garbage.mbox", "no-from-line.mbox"] {
        let destination = format!("md-{name}");
        let output = env.run(&[
            "copy",
            &env.endpoint("mbox", &format!("malformed/{name}")),
            &env.endpoint("maildir", &destination),
        ]);
        let code = output.status.code();
        assert!(
            matches!(code, Some(1 | 2)),
            "{name}: expected exit 1 or 2, got {code:?}"
        );
        assert_exit(&output, code.unwrap()); // no panic
        assert_error_line(&output, &[name, "From "]);
        assert!(
            message_files(&env, &destination).is_empty(),
            "{name}: messages were written"
        );
    }
}

#[test]
fn a_truncated_last_message_is_copied_as_it_is() {
    let env = TestEnv::new();
    env.copy_fixture("malformed");
    let path = env.path("malformed/truncated.mbox");
    let bytes = fs::read(&path).unwrap();
    // The last message: everything after the last From_ line, cut mid-line.
    let last_from = bytes
        .windows(6)
        .rposition(|w| w == b"\nFrom ")
        .expect("truncated.mbox has several messages")
        + 1;
    let line_end = last_from + bytes[last_from..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let tail = &bytes[line_end..];
    assert!(!tail.ends_with(b"\n"), "the fixture is cut mid-line");

    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "malformed/truncated.mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    assert_exit(&output, 0);
    let expected = Model::from([("INBOX".to_string(), read_mbox_file(&path))]);
    assert_eq!(
        expected["INBOX"].len(),
        4,
        "three complete messages and a truncated one"
    );
    let stored = read_maildir(&env.path("md"));
    assert_same_messages(&expected, &stored, "truncated.mbox → maildir");
    assert!(
        stored["INBOX"].iter().any(|m| m.raw == tail),
        "the truncated message is stored byte for byte as it is in the file"
    );
}

#[test]
fn unreadable_message_files_are_reported_and_the_rest_copied() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "src"),
    ]);
    assert_exit(&output, 0);
    let readable = read_maildir(&env.path("src"));

    let locked = message_files(&env, "src")
        .into_iter()
        .find(|p| p.starts_with("cur"))
        .unwrap();
    // Unreadable whoever runs the tests: a symbolic link to nothing and a
    // directory where message files should be.
    std::os::unix::fs::symlink(
        env.path("nowhere"),
        env.path("src/cur/1700000000.M1P1.dangling:2,S"),
    )
    .unwrap();
    fs::create_dir(env.path("src/cur/1700000000.M2P1.directory:2,S")).unwrap();
    let mut failing = vec!["1700000000.M1P1.dangling", "1700000000.M2P1.directory"];
    // Mode 000 only stops readers without CAP_DAC_OVERRIDE; root reads it.
    let locked_name = locked.file_name().unwrap().to_string_lossy().into_owned();
    fs::set_permissions(
        env.path("src").join(&locked),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let bypassed = permissions_are_bypassed(&env);
    if !bypassed {
        failing.push(locked_name.split(":2,").next().unwrap());
    }

    let output = env.run(&[
        "--json",
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("mbox", "out.mbox"),
    ]);
    assert_exit(&output, 1);
    for name in &failing {
        assert_error_line(&output, &[name]);
    }
    let events = crate::util::json_events(&output);
    let summary = summary(&events);
    assert_eq!(
        count(summary, "messages_failed"),
        failing.len() as u64,
        "{summary}"
    );
    let stored = Model::from([("INBOX".to_string(), read_mbox_file(&env.path("out.mbox")))]);
    let mut expected = readable;
    if !bypassed {
        let locked_bytes = {
            fs::set_permissions(
                env.path("src").join(&locked),
                fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            fs::read(env.path("src").join(&locked)).unwrap()
        };
        expected
            .get_mut("INBOX")
            .unwrap()
            .retain(|m| m.raw != locked_bytes);
    }
    assert_same_messages(&expected, &stored, "everything readable is copied");
}

#[test]
fn an_unreadable_mbox_file_fails_naming_it_unless_permissions_are_bypassed() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let path = env.path("single.mbox");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "md"),
    ]);
    if permissions_are_bypassed(&env) {
        // Running as root: mode 000 does not stop the read, so it is copied.
        assert_exit(&output, 0);
        assert_eq!(read_maildir(&env.path("md"))["INBOX"].len(), 10);
    } else {
        let code = output.status.code();
        assert!(
            matches!(code, Some(1 | 3)),
            "expected exit 1 or 3, got {code:?}"
        );
        assert_exit(&output, code.unwrap());
        assert_error_line(&output, &["single.mbox"]);
        assert!(message_files(&env, "md").is_empty());
    }
}

#[test]
fn a_source_that_does_not_exist_is_a_usage_error() {
    let env = TestEnv::new();
    let missing = env.path("no-such-thing");
    let missing = missing.to_str().unwrap();
    for source in [
        missing.to_string(),
        format!("mbox:{missing}"),
        format!("maildir:{missing}"),
    ] {
        let output = env.run(&["copy", &source, &env.endpoint("maildir", "md")]);
        assert_exit(&output, 2);
        assert_error_line(&output, &["no-such-thing", "does not exist"]);
    }
    assert!(
        !env.state_home().exists(),
        "no checkpoint for a refused job"
    );
}

#[test]
fn an_unknown_endpoint_kind_is_a_usage_error() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let src = env.endpoint("mbox", "single.mbox");
    for (source, destination) in [("ftp://x", "maildir:md"), (src.as_str(), "ftp://x/y")] {
        let output = env.run(&["copy", source, destination]);
        assert_exit(&output, 2);
        assert_error_line(&output, &["unknown endpoint kind", "ftp"]);
    }
}

#[test]
fn an_unreachable_server_is_exit_3_with_one_clear_line() {
    let env = TestEnv::new();
    for source in ["pop3s://user@127.0.0.1:1", "imaps://user@127.0.0.1:1"] {
        let output = env.run(&[
            "copy",
            "--src-password-command",
            "echo secret",
            source,
            "maildir:md",
        ]);
        assert_exit(&output, 3);
        assert_error_line(&output, &["cannot connect to 127.0.0.1:1"]);
        assert!(
            !env.path("md").exists(),
            "nothing is created for a failed run"
        );
    }
}

#[test]
fn a_server_endpoint_without_a_password_never_prompts_a_script() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let src = env.endpoint("mbox", "single.mbox");
    for (source, destination) in [
        ("imaps://user@host.invalid", "maildir:md"),
        (src.as_str(), "imaps://user@host.invalid"),
    ] {
        // stdin is not a terminal here, as under cron: no prompt, a usage error.
        let output = env.run(&["copy", source, destination]);
        assert_exit(&output, 2);
        assert_error_line(&output, &["password", "not a terminal"]);
    }
}

#[test]
fn a_file_where_the_destination_maildir_should_be_is_a_usage_error() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    fs::write(env.path("afile"), b"not a maildir").unwrap();
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "afile"),
    ]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["afile", "is a file"]);
    assert_eq!(fs::read(env.path("afile")).unwrap(), b"not a maildir");
}

#[test]
fn a_destination_in_a_read_only_directory_cannot_be_opened_unless_permissions_are_bypassed() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    fs::create_dir(env.path("ro")).unwrap();
    fs::set_permissions(env.path("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "ro/md"),
    ]);
    if permissions_are_bypassed(&env) {
        // Running as root: the directory's mode does not stop the write.
        assert_exit(&output, 0);
        assert_eq!(read_maildir(&env.path("ro/md"))["INBOX"].len(), 10);
    } else {
        assert_exit(&output, 3);
        assert_error_line(&output, &["ro/md"]);
        assert!(!env.path("ro/md").exists());
    }

    // Below a regular file nothing can be created, whoever runs the tests.
    fs::write(env.path("afile"), b"").unwrap();
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "afile/md"),
    ]);
    assert_exit(&output, 3);
    assert_error_line(&output, &["afile/md"]);
}

#[test]
fn a_damaged_checkpoint_is_refused_naming_the_file() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let cases: [(&str, &[u8], &str); 2] = [
        ("damaged.json", b"{not json", "not valid JSON"),
        ("future.json", br#"{"version": 99}"#, "version 99"),
    ];
    for (name, content, message) in cases {
        fs::write(env.path(name), content).unwrap();
        let output = env.run(&[
            "copy",
            "--state",
            env.path(name).to_str().unwrap(),
            &env.endpoint("mbox", "single.mbox"),
            &env.endpoint("maildir", "md"),
        ]);
        let code = output.status.code();
        assert!(
            matches!(code, Some(1 | 2)),
            "{name}: expected exit 1 or 2, got {code:?}"
        );
        assert_exit(&output, code.unwrap());
        assert_error_line(&output, &[name, message]);
        assert_eq!(
            fs::read(env.path(name)).unwrap(),
            content,
            "{name} was rewritten"
        );
        assert!(
            message_files(&env, "md").is_empty(),
            "{name}: messages were copied"
        );
    }
}

#[test]
fn a_checkpoint_of_another_job_is_a_usage_error() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let state = env.path("job.json");
    let state = state.to_str().unwrap();
    let src = env.endpoint("mbox", "single.mbox");
    assert_exit(
        &env.run(&[
            "copy",
            "--state",
            state,
            &src,
            &env.endpoint("maildir", "a"),
        ]),
        0,
    );
    let output = env.run(&[
        "copy",
        "--state",
        state,
        &src,
        &env.endpoint("maildir", "b"),
    ]);
    assert_exit(&output, 2);
    assert_error_line(&output, &["job.json", "belongs to another job"]);
    assert!(!env.path("b/cur").exists() || message_files(&env, "b").is_empty());
}
