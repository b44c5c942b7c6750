//! The config file: `mailtug run` and `mailtug config check`, against the
//! equivalent command lines and a real Dovecot.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::support::account::Account;
use crate::support::Dovecot;
use crate::util::{assert_exit, count, events_of, json_events, stderr, stdout, summary, TestEnv};

/// Writes `text` as the default config file of `env`'s HOME, mode `mode`.
fn write_config(env: &TestEnv, text: &str, mode: u32) -> PathBuf {
    let path = env.path("home/.config/mailtug/config.toml");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn local_config(env: &TestEnv) -> String {
    let mbox = crate::util::fixtures_dir().join("single.mbox");
    format!(
        "[accounts.archive]\nurl = \"mbox:{}\"\n\n[jobs.backup]\nsrc = \"archive\"\n\
         dst = \"maildir:{}\"\nfolders = [\"INBOX\"]\njobs = 2\n",
        mbox.display(),
        env.path("out").display()
    )
}

#[test]
fn a_job_from_the_file_and_its_command_line_share_one_state() {
    let env = TestEnv::new();
    write_config(&env, &local_config(&env), 0o644);
    let events = json_events(&env.run(&["run", "backup", "--json"]));
    let first = count(summary(&events), "messages_copied");
    assert!(first > 0, "{events:?}");

    // The same job typed out: nothing new, and still one state.
    let mbox = crate::util::fixtures_dir().join("single.mbox");
    let output = env.run(&[
        "copy",
        "--json",
        &format!("mbox:{}", mbox.display()),
        &env.endpoint("maildir", "out"),
        "--folder",
        "INBOX",
        "--jobs",
        "2",
    ]);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "messages_copied"), 0);
    assert_eq!(env.checkpoints().len(), 1, "one job, one state");

    // Options after the job's name override the file's: a dry run of a
    // fresh destination writes nothing.
    let config = local_config(&env).replace("/out\"", "/fresh\"");
    write_config(&env, &config, 0o644);
    let output = env.run(&["run", "backup", "--dry-run", "--json"]);
    assert_exit(&output, 0);
    assert!(!env.path("fresh").exists());
    assert_eq!(env.checkpoints().len(), 1, "a dry run writes no state");
}

#[test]
fn run_checks_every_job_first_and_exits_with_the_first_failures_code() {
    let env = TestEnv::new();
    let text = format!(
        "{}\n[jobs.broken]\nsrc = \"mbox:{}\"\ndst = \"maildir:{}\"\n",
        local_config(&env),
        env.path("nowhere.mbox").display(),
        env.path("out2").display()
    );
    let path = write_config(&env, &text, 0o600);
    // From MAILTUG_CONFIG as well as the default place.
    let moved = env.path("elsewhere.toml");
    fs::rename(&path, &moved).unwrap();
    let output = env
        .command(["run", "--all", "--json"])
        .env("MAILTUG_CONFIG", &moved)
        .output()
        .unwrap();
    // `backup` ran although `broken` (first in name order) failed.
    let code = output.status.code().unwrap();
    assert!(code == 2 || code == 3, "{code}: {}", stderr(&output));
    assert!(
        stderr(&output).contains("job `broken`"),
        "{}",
        stderr(&output)
    );
    assert!(env.path("out/cur").is_dir() || env.path("out/new").is_dir());

    // A job whose options the command line would refuse stops everything
    // before anything runs.
    let bad = text.replace("jobs = 2", "jobs = 2\nmax_size = \"lots\"");
    fs::write(&moved, bad).unwrap();
    let output = env
        .command(["run", "--all"])
        .env("MAILTUG_CONFIG", &moved)
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("job `backup`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unknown_keys_and_readable_passwords_are_refused_with_what_to_do() {
    let env = TestEnv::new();
    let path = write_config(
        &env,
        "[jobs.x]\nsrc = \"a\"\ndst = \"b\"\nfolder = [\"INBOX\"]\n",
        0o600,
    );
    let output = env.run(&["config", "check"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains(&format!(
            "config file `{}`, line 4: unknown field `folder`; did you mean `folders`?",
            path.display()
        )),
        "{}",
        stderr(&output)
    );
    write_config(
        &env,
        "[accounts.a]\nurl = \"imaps://me@example.org\"\npassword = \"s3cret\"\n",
        0o644,
    );
    let output = env.run(&["config", "check"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("chmod 600"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("s3cret"));
    let output = env.run(&["run", "nothing"]);
    assert_exit(&output, 2);
}

#[test]
fn a_password_in_a_private_file_logs_in_and_is_never_shown() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let account = Account::new(&env, server, "config-inline", None);
    let password = fs::read_to_string(&account.password_file).unwrap();
    let password = password.trim_end();
    let text = format!(
        "[accounts.server]\nurl = \"{}\"\npassword = \"{password}\"\nca_file = \"{}\"\n\n\
         [jobs.pull]\nsrc = \"server\"\ndst = \"maildir:{}\"\n",
        account.imaps(),
        server.ca_file().display(),
        env.path("out").display()
    );
    write_config(&env, &text, 0o600);
    let output = env.run(&["config", "check"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).starts_with("pull: mailtug copy imaps://"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("# src password from the config file"));
    let output = env.run(&["config", "check", "--json"]);
    let jobs = json_events(&output);
    let job = events_of(&jobs, "config_job")[0];
    assert_eq!(job["password_in_file"], true);
    assert!(!stdout(&output).contains(password));

    let output = env.run(&["run", "pull", "--json", "-v"]);
    assert_exit(&output, 0);
    assert!(!stdout(&output).contains(password));
    assert!(!stderr(&output).contains(password));
    let state = fs::read(env.only_checkpoint().1).unwrap();
    assert!(!String::from_utf8_lossy(&state).contains(password));
}
