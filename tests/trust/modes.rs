//! Mail and checkpoints are private: every file mailtug creates is 0600 and
//! every directory 0700, whatever the umask (here 000, which would make
//! them world-writable if mailtug relied on it).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Output;

use crate::util::corpus;
use crate::util::model::{assert_maildir_layout, assert_mbox_dir_layout, assert_mbox_file_layout};
use crate::util::{assert_exit, list_files, TestEnv};

/// Runs the binary with umask 000.
fn run_with_umask_000(env: &TestEnv, argv: &[&str]) -> Output {
    let mut command = env.command(argv);
    // SAFETY: umask is an async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    command.output().expect("running the mailtug binary")
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every directory below `top` down to `path` (included) is 0700.
#[track_caller]
fn assert_private_dirs(top: &Path, path: &Path) {
    for dir in path
        .ancestors()
        .take_while(|d| *d != top && d.starts_with(top))
    {
        assert_eq!(
            mode(dir),
            0o700,
            "directory {} ({:o})",
            dir.display(),
            mode(dir)
        );
    }
}

#[test]
fn everything_mailtug_creates_is_private_even_with_umask_000() {
    let env = TestEnv::new();
    // A source with a subfolder, so nested folders are created too.
    corpus::write_maildir(&env.path("src"), &corpus::synthetic_range(0..6));
    corpus::write_maildir(
        &env.path("src/.Archive.2023"),
        &corpus::synthetic_range(6..9),
    );
    let src = env.endpoint("maildir", "src");
    fs::create_dir(env.path("new")).unwrap();

    // Destinations below directories that do not exist yet.
    let maildir = env.path("new/a/maildir");
    let mbox_tree = env.path("new/b/tree");
    let mbox_file = env.path("new/c/inbox.mbox");
    let custom_state = env.path("new/d/job.json");
    let runs: [(&str, Vec<String>); 4] = [
        ("maildir", vec![format!("maildir:{}", maildir.display())]),
        ("mbox tree", vec![format!("mbox:{}", mbox_tree.display())]),
        (
            "mbox file",
            vec![
                format!("mbox:{}", mbox_file.display()),
                "--folder".into(),
                "INBOX".into(),
            ],
        ),
        (
            "--state",
            vec![
                format!("maildir:{}", env.path("new/e/maildir").display()),
                "--state".into(),
                custom_state.display().to_string(),
            ],
        ),
    ];
    for (what, extra) in &runs {
        let mut argv = vec!["copy", src.as_str()];
        argv.extend(extra.iter().map(String::as_str));
        let output = run_with_umask_000(&env, &argv);
        assert!(output.status.success(), "{what}: {output:?}");
        assert_exit(&output, 0);
    }

    // The stores: modes, and that they hold what they should.
    assert_maildir_layout(&maildir);
    assert_private_dirs(
        &env.path("new"),
        &env.path("new/a/maildir/.Archive.2023/cur"),
    );
    assert_mbox_dir_layout(&mbox_tree);
    assert_private_dirs(&env.path("new"), &mbox_tree);
    assert_mbox_file_layout(&mbox_file);
    assert_private_dirs(&env.path("new"), &env.path("new/c"));

    // The checkpoints: $XDG_STATE_HOME did not exist either.
    let state = env.state_home();
    assert_private_dirs(env.root(), &env.checkpoint_dir());
    let files = list_files(&state);
    assert!(
        files.len() >= 3,
        "the checkpoints and their locks: {files:?}"
    );
    for file in &files {
        assert_eq!(mode(&state.join(file)), 0o600, "{}", file.display());
    }
    assert_private_dirs(&env.path("new"), &env.path("new/d"));
    for file in list_files(&env.path("new/d")) {
        let path = env.path("new/d").join(&file);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(custom_state.is_file());

    // Nothing anywhere under the destinations is open to others.
    for file in list_files(&env.path("new")) {
        let path = env.path("new").join(&file);
        assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
    }
}
