//! The README's recipes for the four main uses work as written on a fresh
//! account: a server-to-server migration, POP3 mail fetched into IMAP from
//! cron (typed out and from the config file), a backup of an IMAP account
//! into a maildir (and its mirror), and scripting with `--json` and the exit
//! codes.
//!
//! Each test reads its commands from README.md, by section and code block,
//! and fails naming the recipe when one is gone. It runs them with `sh -c`
//! in cron's environment (HOME, LOGNAME, SHELL, PATH and nothing else),
//! with an empty home directory, so `~`, `~/.config/mailtug` and the state
//! directory start out empty as on a new account. Only what must differ on
//! a test machine is replaced: host names by the test Dovecot's address and
//! port, the user `me` by a user of its own, the example passwords by that
//! user's, `pass show …` (pass is not installed) by `cat FILE`, and
//! `--ca-file CA` is added, since the test server's certificate is signed
//! by a private CA.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::account::Account;
use crate::support::Dovecot;
use crate::util::crlf::lf;
use crate::util::model::{
    assert_maildir_layout, assert_same_messages, mapped, read_maildir, Model, Stored,
};
use crate::util::{crate_dir, path_arg, snapshot, stderr, stdout, TestEnv};

// ------------------------------------------------------------ README.md

/// README.md as committed.
fn readme() -> String {
    let path = crate_dir().join("README.md");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The text of a section: from its heading line (`## IMAP`) to the next
/// heading of the same or a higher level, its subsections included. A `#`
/// line in a code block is a shell comment, not a heading.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut offset = 0;
    let mut start = None;
    let mut in_code = false;
    for line in readme.split_inclusive('\n') {
        let text = line.trim_end();
        if text.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        match start {
            _ if in_code => {}
            None if text == heading => start = Some(offset + line.len()),
            Some(begin) => {
                let hashes = text.chars().take_while(|&c| c == '#').count();
                if (1..=level).contains(&hashes) && text[hashes..].starts_with(' ') {
                    return &readme[begin..offset];
                }
            }
            None => {}
        }
        offset += line.len();
    }
    match start {
        Some(begin) => &readme[begin..],
        None => panic!(
            "README.md has no `{heading}` section any more; the recipes of \
             tests/docs/recipes.rs are read from it"
        ),
    }
}

/// The bodies of a section's code blocks fenced as ```` ```LANG ````.
fn code_blocks(section: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in section.lines() {
        match current.as_mut() {
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```") {
                    current = Some((info.trim() == lang, String::new()));
                }
            }
            Some((wanted, body)) => {
                if line.trim_start().starts_with("```") {
                    if *wanted {
                        blocks.push(std::mem::take(body));
                    }
                    current = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    blocks
}

/// The one ```` ```LANG ```` block of a section whose text contains `marker`.
fn code_block(heading: &str, lang: &str, marker: &str, recipe: &str) -> String {
    let readme = readme();
    let blocks = code_blocks(section(&readme, heading), lang);
    let mut found: Vec<String> = blocks.into_iter().filter(|b| b.contains(marker)).collect();
    assert_eq!(
        found.len(),
        1,
        "README.md, section `{heading}`: expected one ```{lang} block containing `{marker}` \
         (the {recipe}), found {found:?}"
    );
    found.remove(0)
}

/// One command of a ```` ```sh ```` block, with the comment lines above it.
#[derive(Debug)]
struct ShellLine {
    comment: String,
    command: String,
}

/// The commands of a shell block: `\` continuations joined, each with the
/// comment lines written just above it (a blank line ends a comment).
fn shell_lines(block: &str) -> Vec<ShellLine> {
    let mut lines = Vec::new();
    let mut comment = String::new();
    let mut command = String::new();
    for line in block.lines() {
        let text = line.trim();
        if command.is_empty() {
            if text.is_empty() {
                comment.clear();
                continue;
            }
            if let Some(words) = text.strip_prefix('#') {
                comment.push_str(words.trim());
                comment.push('\n');
                continue;
            }
        }
        match text.strip_suffix('\\') {
            Some(head) => {
                command.push_str(head.trim_end());
                command.push(' ');
            }
            None => {
                command.push_str(text);
                lines.push(ShellLine {
                    comment: std::mem::take(&mut comment),
                    command: std::mem::take(&mut command),
                });
            }
        }
    }
    lines
}

/// The command of the block's line whose comment mentions `topic`.
fn commented_command(block: &str, topic: &str, heading: &str) -> String {
    let lines = shell_lines(block);
    lines
        .iter()
        .find(|line| line.comment.contains(topic))
        .map(|line| line.command.clone())
        .unwrap_or_else(|| {
            panic!(
                "README.md, section `{heading}`: no command commented `{topic}` any more; \
                 its commands are {lines:#?}"
            )
        })
}

/// The word after `option` in a recipe (`IMAP_PW` of
/// `--src-password-env IMAP_PW`).
fn option_value<'a>(recipe: &'a str, option: &str) -> &'a str {
    let mut words = recipe.split_whitespace();
    words
        .find(|word| *word == option)
        .and_then(|_| words.next())
        .unwrap_or_else(|| {
            panic!("README.md: the recipe has no `{option} VALUE` any more: {recipe}")
        })
}

/// The command of a crontab line: what follows its five time fields.
fn cron_command(block: &str) -> String {
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(lines.len(), 1, "one crontab line expected: {block:?}");
    let mut rest = lines[0];
    for field in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        assert!(
            rest[..end]
                .chars()
                .all(|c| c.is_ascii_digit() || "*/,-".contains(c)),
            "time field {} of the crontab line `{}` is `{}`",
            field + 1,
            lines[0],
            &rest[..end]
        );
        rest = &rest[end..];
    }
    rest.trim().to_owned()
}

/// The commands of a section's table rows: the first cell of each row,
/// written as code, with markdown's `\|` read back as `|`.
fn table_commands(heading: &str) -> Vec<String> {
    section(&readme(), heading)
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|row| {
            row.split_once("` |")
                .map(|(cell, _)| cell.replace("\\|", "|"))
        })
        .collect()
}

/// The rows `| CODE | MEANING |` of the exit code table.
fn exit_code_table() -> Vec<(i32, String)> {
    let readme = readme();
    let rows: Vec<(i32, String)> = section(&readme, "## Output and exit codes")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells[..] {
                ["", code, meaning, ""] => Some((code.parse().ok()?, meaning.to_owned())),
                _ => None,
            }
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "README.md, section `## Output and exit codes`: the exit code table is gone"
    );
    rows
}

/// `recipe` with each `from` replaced by its `to`; every `from` must be
/// there, so a recipe that changed fails here instead of running untested.
fn substitute(recipe: &str, what: &str, pairs: &[(&str, &str)]) -> String {
    let mut text = recipe.to_owned();
    for (from, to) in pairs {
        assert!(
            text.contains(from),
            "README.md, {what}: the recipe no longer contains `{from}`; update \
             tests/docs/recipes.rs to run it as it is now:\n{recipe}"
        );
        text = text.replace(from, to);
    }
    text
}

// ------------------------------------------------------------ a fresh account

/// A new account's home directory and cron's environment, with the built
/// mailtug on the PATH.
struct Fresh {
    env: TestEnv,
}

impl Fresh {
    fn new() -> Fresh {
        Fresh {
            env: TestEnv::new(),
        }
    }

    /// `$HOME`: empty, like a new account's (TestEnv makes it).
    fn home(&self) -> PathBuf {
        self.env.path("home")
    }

    /// A file outside the home directory holding `secret` (for `cat FILE`
    /// in place of `pass show …`).
    fn secret(&self, name: &str, secret: &str) -> String {
        path_arg(&self.env.write_secret(name, secret))
    }

    /// Runs `script` with `sh -c` in the home directory.
    fn sh(&self, script: &str) -> Output {
        self.sh_in(&self.home(), script, &[])
    }

    /// Runs `script` with `sh -c` in `dir`, in cron's environment plus
    /// `vars`, with a new login's umask 022; stdin, stdout and stderr are
    /// not terminals.
    fn sh_in(&self, dir: &Path, script: &str, vars: &[(&str, &str)]) -> Output {
        let binary = Path::new(env!("CARGO_BIN_EXE_mailtug"));
        let path = format!("{}:/usr/bin:/bin", binary.parent().unwrap().display());
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env_clear()
            .env("HOME", self.home())
            .env("PATH", path)
            .env("SHELL", "/bin/sh")
            .env("LOGNAME", "me")
            .envs(vars.iter().copied())
            .stdin(Stdio::null());
        // Kept: on a test machine it may be the only writable temporary
        // directory.
        if let Some(tmp) = std::env::var_os("TMPDIR") {
            command.env("TMPDIR", tmp);
        }
        // SAFETY: umask(2) is async-signal-safe and touches no memory.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            });
        }
        command
            .output()
            .unwrap_or_else(|e| panic!("running sh -c {script:?}: {e}"))
    }
}

/// Exit 0 and not a byte on stdout or stderr: what cron mails nobody about.
#[track_caller]
fn assert_silent_success(output: &Output, what: &str) {
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "{what}: expected exit 0 and no output, got {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// ` --ca-file PATH`: trusts the test server's private CA.
fn ca_arg(server: &Dovecot) -> String {
    format!(" --ca-file {}", path_arg(server.ca_file()))
}

/// `USER@127.0.0.1:PORT`, in place of `me@host.example.org`.
fn address(account: &Account, port: u16) -> String {
    format!("{}@127.0.0.1:{port}", account.name())
}

// ------------------------------------------------------------ messages

/// One small message, LF line ends (as mailtug stores what it fetches).
fn message(tag: &str, i: usize) -> Vec<u8> {
    format!(
        "From: Ann <ann@example.org>\nTo: me@example.org\nMessage-ID: <{tag}-{i}@recipes.example>\n\
         Date: Tue, 14 Nov 2023 22:13:{i:02} +0000\nSubject: {tag} {i}\n\nThis is {tag} {i}.\n"
    )
    .into_bytes()
}

/// Puts one message per entry of `flags` (maildir letters) into `folder`.
fn load(account: &Account, folder: &str, tag: &str, flags: &[&str]) {
    let messages: Vec<(Vec<u8>, &str, SystemTime)> = flags
        .iter()
        .enumerate()
        .map(|(i, flags)| {
            (
                message(tag, i),
                *flags,
                UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 3_600 * i as u64),
            )
        })
        .collect();
    account.user.load(account.server, folder, &messages);
}

/// A maildir tree as the tests compare it, line ends as LF.
fn maildir_model(root: &Path) -> Model {
    mapped(&read_maildir(root), |m| Stored {
        raw: lf(&m.raw),
        ..m.clone()
    })
}

/// The bytes of the messages of a folder, sorted.
fn bodies(account: &Account, folder: &str) -> Vec<Vec<u8>> {
    let mut raw: Vec<Vec<u8>> = account
        .messages(folder)
        .into_iter()
        .map(|m| m.raw)
        .collect();
    raw.sort();
    raw
}

// ------------------------------------------------------------ 1. migration

/// The command commented `topic` in the ```` ```sh ```` block of `## IMAP`.
fn imap_recipe(topic: &str) -> String {
    let block = code_block("## IMAP", "sh", topic, topic);
    commented_command(&block, topic, "## IMAP")
}

#[test]
fn the_server_to_server_recipe_migrates_every_folder_to_a_fresh_account() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let old = Account::new(&fresh.env, server, "recipe-old", None);
    let new = Account::new(&fresh.env, server, "recipe-new", None);
    load(&old, "INBOX", "inbox", &["S", "FS", ""]);
    load(&old, "Sent", "sent", &["S", "RS"]);
    load(&old, "Archive.2023", "archive", &["S"]);

    let recipe = imap_recipe("server to server");
    // The recipe reads the old server's password from a file in the home
    // directory (~/.old-pw) that the user made before; `pass show mail/new`
    // is `cat` of a file here.
    let old_pw = option_value(&recipe, "--src-password-file")
        .strip_prefix("~/")
        .map(|name| fresh.home().join(name))
        .unwrap_or_else(|| panic!("the migration's password file is not in ~: {recipe}"));
    fs::write(&old_pw, format!("{}\n", old.password())).unwrap();
    fs::set_permissions(&old_pw, fs::Permissions::from_mode(0o600)).unwrap();
    let pass = format!("cat {}", fresh.secret("pass-mail-new", new.password()));
    let imaps = server.imaps_port();
    let command = substitute(
        &recipe,
        "section `## IMAP`, the server-to-server migration",
        &[
            ("me@old.example.org", &address(&old, imaps)),
            ("me@new.example.org", &address(&new, imaps)),
            ("pass show mail/new", &pass),
        ],
    ) + &ca_arg(server);

    assert_silent_success(&fresh.sh(&command), "the migration");
    let expected = old.model();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        ["Archive/2023", "INBOX", "Sent"]
    );
    // Bytes, flags and internal dates, in every folder.
    assert_same_messages(
        &expected,
        &new.model(),
        "the new server after the migration",
    );

    assert_silent_success(&fresh.sh(&command), "the migration run again");
    assert_same_messages(&expected, &new.model(), "the new server after a second run");
}

// ------------------------------------------------------------ 2. cron fetching

const CRON: &str = "## Fetching POP mail into IMAP from cron";

/// Runs the section's one-time `sh` block with the users' passwords in
/// place of the example ones, and checks the files it makes.
fn make_password_files(fresh: &Fresh, pop: &Account, imap: &Account) {
    let block = code_block(CRON, "sh", "printf", "one-time password files");
    let script = substitute(
        &block,
        "the one-time `sh` block of the cron section",
        &[
            ("'pop-password'", &format!("'{}'", pop.password())),
            ("'imap-password'", &format!("'{}'", imap.password())),
        ],
    );
    assert_silent_success(&fresh.sh(&script), "the one-time sh block");
    for (file, account) in [("pop.pw", pop), ("imap.pw", imap)] {
        let path = fresh.home().join(".config/mailtug").join(file);
        let mode = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("the sh block made no {}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", account.password())
        );
    }
}

/// What Dovecot logged of each POP3 session of `account` when it ended
/// (`top=0/0, retr=3/525, del=0/3, size=477`), oldest first.
fn pop3_sessions(account: &Account) -> Vec<String> {
    account.wait_for_sessions_to_end("the runs from cron");
    let session = format!("pop3({})<", account.name());
    account
        .server
        .log_tail(usize::MAX)
        .lines()
        .filter(|line| line.contains(&session))
        .filter_map(|line| line.split_once("Logged out ").map(|(_, s)| s.to_owned()))
        .collect()
}

/// Runs a crontab line's command as cron would: the first run fetches the
/// POP mailbox into the IMAP INBOX, the second nothing, the third only the
/// message that came in between; all silently, and mail stays on the POP
/// server (`--delete-after 7`: nothing is 7 days old yet).
fn run_from_cron(fresh: &Fresh, command: &str, pop: &Account, imap: &Account) {
    let expected = bodies(pop, "INBOX");
    assert_eq!(expected.len(), 3);
    assert_silent_success(&fresh.sh(command), "the first run from cron");
    assert_eq!(
        bodies(imap, "INBOX"),
        expected,
        "the IMAP INBOX after the first run"
    );

    assert_silent_success(&fresh.sh(command), "the second run from cron");
    assert_eq!(
        bodies(imap, "INBOX"),
        expected,
        "the IMAP INBOX after the second run"
    );
    assert_eq!(bodies(pop, "INBOX"), expected, "the POP mailbox");
    // The README: a run with nothing new is one login and one UIDL.
    let sessions = pop3_sessions(pop);
    assert_eq!(sessions.len(), 2, "one POP3 session per run: {sessions:?}");
    assert!(sessions[0].starts_with("top=0/0, retr=3/"), "{sessions:?}");
    assert!(
        sessions[1].starts_with("top=0/0, retr=0/0, del=0/3"),
        "{sessions:?}"
    );

    load(pop, "INBOX", "later", &[""]);
    assert_silent_success(&fresh.sh(command), "a run after new mail");
    assert_eq!(bodies(imap, "INBOX"), bodies(pop, "INBOX"));
    assert_eq!(imap.user.count(imap.server, "INBOX"), 4);
    let sessions = pop3_sessions(pop);
    assert!(sessions[2].contains(" retr=1/"), "{sessions:?}");
}

#[test]
fn the_cron_recipe_fetches_pop_mail_into_imap_and_the_next_run_copies_nothing() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let pop = Account::new(&fresh.env, server, "recipe-pop", None);
    let imap = Account::new(&fresh.env, server, "recipe-imap", None);
    load(&pop, "INBOX", "pop", &["", "", ""]);

    make_password_files(&fresh, &pop, &imap);
    let line = code_block(CRON, "crontab", "mailtug copy", "crontab line of the fetch");
    let command = substitute(
        &cron_command(&line),
        "the crontab line of the cron section",
        &[
            ("me@pop.example.org", &address(&pop, server.pop3s_port())),
            ("me@imap.example.org", &address(&imap, server.imaps_port())),
        ],
    ) + &ca_arg(server);
    run_from_cron(&fresh, &command, &pop, &imap);
}

#[test]
fn the_config_file_recipe_runs_the_same_fetch_from_cron() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let pop = Account::new(&fresh.env, server, "recipe-cfg-pop", None);
    let imap = Account::new(&fresh.env, server, "recipe-cfg-imap", None);
    load(&pop, "INBOX", "config", &["", "", ""]);

    make_password_files(&fresh, &pop, &imap);
    let toml = code_block(CRON, "toml", "[jobs.fetch]", "config file of the fetch");
    let pass = format!("cat {}", fresh.secret("pass-mail-home", imap.password()));
    let config = substitute(
        &toml,
        "the config file of the cron section",
        &[
            ("me@pop.example.org", &address(&pop, server.pop3s_port())),
            ("me@imap.example.org", &address(&imap, server.imaps_port())),
            ("pass show mail/home", &pass),
        ],
    );
    // Saved as an editor would, readable by others (umask 022): it holds
    // no password.
    let path = fresh.home().join(".config/mailtug/config.toml");
    fs::write(&path, config).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

    let line = code_block(
        CRON,
        "crontab",
        "mailtug run",
        "crontab line of the config job",
    );
    // Options after the job's name apply to it: the CA goes there.
    let command = cron_command(&line) + &ca_arg(server);
    run_from_cron(&fresh, &command, &pop, &imap);
}

// ------------------------------------------------------------ 3. backup

#[test]
fn the_backup_recipe_makes_a_maildir_in_home_and_copies_only_what_is_new() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let account = Account::new(&fresh.env, server, "recipe-backup", None);
    load(&account, "INBOX", "inbox", &["S", "FS", ""]);
    load(&account, "Sent", "sent", &["S"]);

    let recipe = imap_recipe("incremental backup");
    let command = substitute(
        &recipe,
        "section `## IMAP`, the incremental backup",
        &[(
            "me@mail.example.org",
            &address(&account, server.imaps_port()),
        )],
    ) + &ca_arg(server);
    // Run from another directory: `maildir:~/…` is not expanded by the
    // shell (the `~` is not at the start of a word), so mailtug must.
    let elsewhere = fresh.env.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let variable = option_value(&recipe, "--src-password-env");
    let run = || fresh.sh_in(&elsewhere, &command, &[(variable, account.password())]);

    assert_silent_success(&run(), "the backup");
    let backup = fresh.home().join("backup/Maildir");
    assert_same_messages(&account.model(), &maildir_model(&backup), "the backup");
    assert_maildir_layout(&backup);
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written in the working directory"
    );

    // Incremental: new mail, and only it, comes with the next run.
    load(&account, "INBOX", "later", &[""]);
    let before = snapshot(&backup);
    assert_silent_success(&run(), "the second backup");
    assert_same_messages(
        &account.model(),
        &maildir_model(&backup),
        "the second backup",
    );
    // What was backed up before stays as it was: one file more.
    let after = snapshot(&backup);
    let changed: Vec<_> = before.iter().filter(|file| !after.contains(file)).collect();
    assert!(
        changed.is_empty(),
        "changed by the second backup: {changed:?}"
    );
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
}

#[test]
fn the_mirror_recipe_keeps_a_maildir_following_flags_and_deletions() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let account = Account::new(&fresh.env, server, "recipe-mirror", None);
    load(
        &account,
        "INBOX",
        "inbox",
        &["S", "", "S", "S", "", "S", "S", "", "S", "S"],
    );

    let recipe = table_commands("## Commands")
        .into_iter()
        .find(|c| c.starts_with("mailtug mirror imaps://") && c.contains("maildir:"))
        .expect("README.md, section `## Commands`: the mirror backup row is gone");
    // The table leaves authentication out: the password comes as in the
    // incremental backup of `## IMAP`.
    let variable =
        option_value(&imap_recipe("incremental backup"), "--src-password-env").to_owned();
    let command = substitute(
        &recipe,
        "section `## Commands`, the mirror backup",
        &[(
            "me@imap.example.org",
            &address(&account, server.imaps_port()),
        )],
    ) + &format!(" --src-password-env {variable}")
        + &ca_arg(server);
    let run = || fresh.sh_in(&fresh.home(), &command, &[(&variable, account.password())]);

    assert_silent_success(&run(), "the first mirror");
    let backup = fresh.home().join("Backup");
    assert_same_messages(
        &account.model(),
        &maildir_model(&backup),
        "the first mirror",
    );

    // Read and flagged on the server, and one message deleted there.
    let user = account.name();
    server.doveadm(&[
        "flags",
        "add",
        "-u",
        user,
        "\\Seen \\Flagged",
        "mailbox",
        "INBOX",
        "uid",
        "2",
    ]);
    server.doveadm(&["expunge", "-u", user, "mailbox", "INBOX", "uid", "3"]);
    assert_silent_success(&run(), "the mirror after changes");
    let expected = account.model();
    assert_eq!(expected["INBOX"].len(), 9);
    assert_same_messages(
        &expected,
        &maildir_model(&backup),
        "the mirror after changes",
    );
}

// ------------------------------------------------------------ 4. scripting

/// The scripting row of the Commands table: `mailtug copy -n --json … | jq .`.
fn scripting_recipe() -> String {
    table_commands("## Commands")
        .into_iter()
        .find(|c| c.contains("--json") && c.contains("| jq"))
        .expect("README.md, section `## Commands`: the `--json … | jq .` row is gone")
}

/// An mbox of three messages, the last a copy of the first.
fn write_old_mbox(path: &Path) {
    let mut text = String::new();
    for i in [0, 1, 0] {
        text.push_str("From ann@example.org Tue Nov 14 22:13:20 2023\n");
        text.push_str(std::str::from_utf8(&message("script", i)).unwrap());
        text.push('\n');
    }
    fs::write(path, text).unwrap();
}

/// JSON values one after the other, as `jq .` prints them.
fn json_values(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a stream of JSON values ({e}):\n{text}"))
}

fn has_jq() -> bool {
    Path::new("/usr/bin/jq").exists() || Path::new("/bin/jq").exists()
}

#[test]
fn the_scripting_recipe_prints_events_jq_reads_and_writes_nothing() {
    let fresh = Fresh::new();
    write_old_mbox(&fresh.home().join("old.mbox"));
    let recipe = scripting_recipe();
    let (mailtug, jq) = recipe
        .split_once(" | ")
        .unwrap_or_else(|| panic!("the scripting recipe is no pipeline: {recipe}"));
    assert_eq!(jq.trim(), "jq .", "the scripting recipe's filter");

    // scripts/test does not install jq: without it the events are read
    // here, from the mailtug command of the recipe.
    let output = if has_jq() {
        fresh.sh(&recipe)
    } else {
        eprintln!("jq is not installed: reading the events of `{mailtug}` without it");
        fresh.sh(mailtug)
    };
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{recipe}: {:?}\n{}",
        output.status,
        stderr(&output)
    );
    let events = json_values(&stdout(&output));
    let statuses: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| &e["status"])
        .collect();
    assert_eq!(
        statuses,
        ["would_copy", "would_copy", "duplicate"],
        "{events:#?}"
    );
    let summary = events.last().expect("no events");
    assert_eq!(summary["event"], "summary", "{summary}");
    assert_eq!(summary["dry_run"], true, "{summary}");
    assert_eq!(summary["exit_code"], 0, "{summary}");
    assert!(
        !fresh.home().join("Maildir").exists(),
        "a dry run made ~/Maildir"
    );
}

#[test]
fn the_exit_codes_in_the_readme_are_what_runs_end_with() {
    let fresh = Fresh::new();
    let server = Dovecot::shared();
    let account = Account::new(&fresh.env, server, "recipe-codes", None);
    load(&account, "INBOX", "codes", &["S"]);
    write_old_mbox(&fresh.home().join("old.mbox"));
    let table = exit_code_table();
    let recipe = scripting_recipe();
    let copy = recipe.split(" | ").next().unwrap().to_owned();
    let imap = |port: u16, password_file: &str| {
        format!(
            "imaps://{} --src-password-file {password_file}{}",
            address(&account, port),
            ca_arg(server)
        )
    };
    let password = path_arg(&account.password_file);
    let wrong = fresh.secret("wrong.pw", "not-the-password-4kq");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let from = |source: String| {
        substitute(
            &copy,
            "the scripting row of `## Commands`",
            &[("mbox:old.mbox", &source)],
        )
    };

    // (code, words of its row in the README, command, the summary's error_kind)
    let cases = [
        (0, "success", copy.clone(), None),
        (
            0,
            "success",
            from(imap(server.imaps_port(), &password)),
            None,
        ),
        // The copy itself, then a verify against an account holding a
        // message the maildir lacks.
        (0, "success", copy.replace(" -n ", " "), None),
        (
            1,
            "`verify`: messages missing",
            substitute(
                &copy.replace("copy -n", "verify"),
                "the scripting row of `## Commands`",
                &[("mbox:old.mbox", &imap(server.imaps_port(), &password))],
            ),
            None,
        ),
        (
            2,
            "missing source",
            from("mbox:missing.mbox".into()),
            Some("usage"),
        ),
        (
            2,
            "bad option",
            copy.replace(" -n ", " --dry-rn "),
            Some("usage"),
        ),
        (
            3,
            "connection",
            from(imap(closed, &password)),
            Some("network"),
        ),
        (
            7,
            "refused the login",
            from(imap(server.imaps_port(), &wrong)),
            Some("auth"),
        ),
    ];
    // 4 (interrupted), 5 (locked), 6 (a mirror's safety rail) and 75 (a
    // limit) need a run stopped midway, a run held open, a mirror's history
    // or a throttling server: tests/resume, tests/checkpoint, tests/mirror
    // and tests/throttle end runs with them.
    for (code, words, command, kind) in cases {
        let meaning = table
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, m)| m.as_str())
            .unwrap_or_else(|| panic!("README.md: exit code {code} is not in the table"));
        assert!(
            meaning.contains(words),
            "README.md says exit code {code} means `{meaning}`, not `{words}`"
        );
        let output = fresh.sh(&command);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{command}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            stdout(&output),
            stderr(&output)
        );
        let events = json_values(&stdout(&output));
        let summary = events.last().expect("no events");
        assert_eq!(summary["event"], "summary", "{command}: {summary}");
        assert_eq!(summary["exit_code"], code, "{command}: {summary}");
        assert_eq!(summary["error_kind"].as_str(), kind, "{command}: {summary}");
    }
}
