//! Generated files are current: the man pages and completions committed in
//! `man/` and `completions/` are what `gen-docs` writes today, and the test
//! corpus in `fixtures/` is what its generator writes.

mod recipes;

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{crate_dir, list_files, TestEnv};

/// Compares every file `generate` writes with the committed directory,
/// and reports committed files the generator no longer writes.
fn assert_committed_copy_is_current(
    committed: &Path,
    generate: impl Fn(&Path) -> std::io::Result<()>,
) {
    let env = TestEnv::new();
    let fresh = env.path("generated");
    generate(&fresh).expect("generating docs");
    let generated = list_files(&fresh);
    assert!(!generated.is_empty(), "the generator wrote nothing");
    // The hand-written part of the man page is `src/man-extra.roff`: every
    // file here is generated.
    let committed_files = list_files(committed);

    let mut stale = Vec::new();
    for file in &generated {
        match fs::read(committed.join(file)) {
            Ok(bytes) if bytes == fs::read(fresh.join(file)).unwrap() => {}
            Ok(_) => stale.push(format!("{} differs", file.display())),
            Err(_) => stale.push(format!("{} is missing", file.display())),
        }
    }
    for file in &committed_files {
        if !generated.contains(file) {
            stale.push(format!("{} is no longer generated", file.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "{} is stale; run `cargo run --bin gen-docs` and commit the result:\n  {}",
        committed.display(),
        stale.join("\n  ")
    );
}

#[test]
fn committed_man_pages_are_current() {
    assert_committed_copy_is_current(&crate_dir().join("man"), mailtug::docs::write_man_pages);
}

#[test]
fn committed_completions_are_current() {
    assert_committed_copy_is_current(
        &crate_dir().join("completions"),
        mailtug::docs::write_completions,
    );
}

#[test]
fn fixtures_are_what_their_generator_writes() {
    let output = Command::new(crate_dir().join("scripts/gen-fixtures"))
        .arg("--check")
        .current_dir(crate_dir())
        .output()
        .expect("running scripts/gen-fixtures --check (needs bash and python3)");
    assert!(
        output.status.success(),
        "fixtures/ is stale; run scripts/gen-fixtures and commit the result\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
