//! Regression tests for what the chaos test found at mbox destinations:
//! a run killed after a folder's last commit left that folder's dotlock, and
//! no later run opened the folder again to take the stale lock over.

use std::fs;

use crate::util::corpus;
use crate::util::model::{assert_mbox_dir_layout, assert_mbox_file_layout};
use crate::util::{assert_exit, TestEnv};

/// The pid of a process that has ended and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_dead_runs_lock_on_a_finished_mbox_folder_is_removed_by_the_next_run() {
    let env = TestEnv::new();
    corpus::write_mbox(&env.path("src/INBOX.mbox"), &corpus::synthetic_range(0..20));
    corpus::write_mbox(
        &env.path("src/Lists.mbox"),
        &corpus::synthetic_range(20..30),
    );
    for (destination, locks) in [
        ("out", vec!["out/INBOX.mbox.lock", "out/Lists.mbox.lock"]),
        ("single.mbox", vec!["single.mbox.lock"]),
    ] {
        let src = if destination == "out" {
            env.endpoint("mbox", "src")
        } else {
            env.endpoint("mbox", "src/INBOX.mbox")
        };
        let args = ["copy", src.as_str(), &env.endpoint("mbox", destination)];
        assert_exit(&env.run(&args), 0);
        // What a run killed after the folders' last commits leaves.
        for lock in &locks {
            fs::write(env.path(lock), dead_pid().to_string()).unwrap();
        }
        let output = env.run(&args);
        assert_exit(&output, 0);
        for lock in &locks {
            assert!(
                !env.path(lock).exists(),
                "{lock} is left although its process is gone"
            );
        }
        if destination == "out" {
            assert_mbox_dir_layout(&env.path("out"));
        } else {
            assert_mbox_file_layout(&env.path(destination));
        }
    }
}
