//! Administrator ("master user") logins against Dovecot's master passdb:
//! SASL PLAIN with an authorization identity, and Dovecot's `USER*ADMIN`
//! form, for IMAP and POP3, on the command line and in the config file.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::dovecot::{MASTER_PASSWORD, MASTER_USER};
use crate::util::model::read_maildir;
use crate::util::{args, assert_exit, count, path_arg, stderr, stdout, summary, TestEnv};

use super::{mails, server, Account};

/// Messages per folder of a maildir copy.
fn held(env: &TestEnv, dir: &str) -> usize {
    read_maildir(&env.path(dir))
        .values()
        .map(|messages| messages.len())
        .sum()
}

#[test]
fn an_administrator_copies_any_users_mail_with_its_own_password() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "admin-target", None);
    account.load("INBOX", &mails("admin", 3, 200));
    let admin_password = env.write_secret("admin.pw", MASTER_PASSWORD);
    let ca = path_arg(server.ca_file());

    // SASL PLAIN: log in as the administrator, act as the user.
    let mut plain = args([
        "--json",
        "copy",
        &account.imaps(),
        &env.endpoint("maildir", "plain"),
        "--src-admin",
        MASTER_USER,
    ]);
    plain.extend(args(["--src-password-file", &path_arg(&admin_password)]));
    plain.extend(args(["--src-ca-file", &ca]));
    let events = env.run_json_owned(&plain, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 3);

    // Dovecot's form: USER*ADMIN with LOGIN.
    let starred = format!(
        "imaps://{}*{MASTER_USER}@127.0.0.1:{}",
        account.name(),
        server.imaps_port()
    );
    let mut login = args([
        "copy",
        &starred,
        &env.endpoint("maildir", "starred"),
        "--src-auth",
        "login",
    ]);
    login.extend(args(["--src-password-file", &path_arg(&admin_password)]));
    login.extend(args(["--src-ca-file", &ca]));
    assert_exit(&env.run_owned(&login), 0);
    assert_eq!(held(&env, "starred"), 3);

    // POP3, SASL PLAIN.
    let pop3 = format!(
        "pop3s://{}@127.0.0.1:{}",
        account.name(),
        server.pop3s_port()
    );
    let mut pop = args([
        "copy",
        &pop3,
        &env.endpoint("maildir", "pop"),
        "--src-admin",
        MASTER_USER,
    ]);
    pop.extend(args(["--src-password-file", &path_arg(&admin_password)]));
    pop.extend(args(["--src-ca-file", &ca]));
    assert_exit(&env.run_owned(&pop), 0);
    assert_eq!(held(&env, "pop"), 3);

    // A wrong administrator password is a refused login, never shown.
    let wrong = env.write_secret("wrong.pw", "not-the-admin-pw-51d2");
    let mut refused = plain.clone();
    let at = refused
        .iter()
        .position(|a| a == "--src-password-file")
        .unwrap();
    refused[at + 1] = path_arg(&wrong);
    refused[3] = env.endpoint("maildir", "refused");
    let output = env.run_owned(&refused);
    assert_exit(&output, 7);
    assert!(!stderr(&output).contains("not-the-admin-pw-51d2"));
    assert!(!stdout(&output).contains("not-the-admin-pw-51d2"));

    // LOGIN cannot carry an authorization identity: said before connecting.
    let mut mixed = plain.clone();
    mixed.extend(args(["--src-auth", "login"]));
    mixed[3] = env.endpoint("maildir", "mixed");
    assert_exit(&env.run_owned(&mixed), 2);

    // Per account in the config file.
    let config = env.path("home/.config/mailtug/config.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(
        &config,
        format!(
            "[accounts.user]\nurl = \"{}\"\nadmin = \"{MASTER_USER}\"\npassword = \"{MASTER_PASSWORD}\"\n\
             ca_file = \"{ca}\"\n\n[jobs.pull]\nsrc = \"user\"\ndst = \"maildir:{}\"\n",
            account.imaps(),
            env.path("configured").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
    let output = env.run(&["run", "pull"]);
    assert_exit(&output, 0);
    assert_eq!(held(&env, "configured"), 3);
    let output = env.run(&["config", "check"]);
    assert!(stdout(&output).contains(&format!("--src-admin {MASTER_USER}")));
    assert!(!stdout(&output).contains(MASTER_PASSWORD));
}
