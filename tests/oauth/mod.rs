//! OAuth2 sign-in end to end: `mailtug auth login` against the test
//! suite's own authorization server (tests/support/oauth.rs), then IMAP
//! and POP3 logins to a real Dovecot whose `oauth2` passdb checks every
//! token with that server, the refresh before expiry and after a refused
//! token, rotation, the lock between runs, a dead sign-in (exit 8), and
//! `auth status|logout`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::oauth::{http_get, OAuthServer};
use crate::support::{Dovecot, User};
use crate::util::{assert_exit, stderr, stdout, TestEnv};

/// A Dovecot that takes tokens from `server`, and a user of it with two
/// messages in INBOX.
fn mailbox(server: &OAuthServer) -> (Dovecot, User) {
    let dovecot = Dovecot::start_with_oauth2(&server.dovecot_settings());
    // The password is never used: only tokens log in.
    let user = dovecot.add_user("oauth", "never-used-password", None);
    let when = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let messages: Vec<(Vec<u8>, &str, SystemTime)> = (0..2)
        .map(|i| {
            (
                format!("Message-ID: <m{i}@oauth.example>\r\nSubject: {i}\r\n\r\nbody {i}\r\n")
                    .into_bytes(),
                "",
                when,
            )
        })
        .collect();
    user.load(&dovecot, "INBOX", &messages);
    (dovecot, user)
}

/// A test directory, an authorization server, a Dovecot that checks its
/// tokens, and a user of it whose device codes the server approves.
fn world() -> (TestEnv, OAuthServer, Dovecot, User) {
    let env = TestEnv::new();
    let server = OAuthServer::start();
    let (dovecot, user) = mailbox(&server);
    server.approve_device_codes_as(&user.name);
    (env, server, dovecot, user)
}

/// `mailtug ARGS` with the test's authorization server standing in for the
/// providers'.
fn mailtug(env: &TestEnv, server: &OAuthServer, args: &[&str]) -> Command {
    let mut command = env.command(args);
    command.env("MAILTUG_TEST_OAUTH_SERVER", server.url());
    command
}

/// `auth login` with the browser flow: reads the address mailtug prints,
/// plays the browser, and returns the finished run's output.
fn browser_login(
    env: &TestEnv,
    server: &OAuthServer,
    provider: &str,
    user: &str,
) -> std::process::Output {
    let mut child = mailtug(
        env,
        server,
        &[
            "auth",
            "login",
            "--provider",
            provider,
            "--user",
            user,
            "--client-id",
            "test-client.apps.example",
            "--flow",
            "browser",
            "--no-browser",
            "--timeout",
            "60",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let address = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no address printed:\n{seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(address) = line
            .trim()
            .strip_prefix(&format!("{}/authorize?", server.url()))
        {
            break format!("{}/authorize?{address}", server.url());
        }
    };
    // A visit with another state (forged, or an old tab) is turned away,
    // and the sign-in goes on waiting for the real one.
    let (status, location) = http_get(&address);
    assert_eq!(status, 302, "{location}");
    let (status, _) = http_get(&location.replacen("state=", "state=forged", 1));
    assert_eq!(status, 400);
    let (status, page) = http_get(&location);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("signed in"), "{page}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mut output = child.wait_with_output().unwrap();
    output.stderr = format!("{seen}{}", rest.join("\n")).into_bytes();
    output
}

fn imaps(dovecot: &Dovecot, user: &User) -> String {
    format!("imaps://{}@127.0.0.1:{}", user.name, dovecot.imaps_port())
}

fn pop3s(dovecot: &Dovecot, user: &User) -> String {
    format!("pop3s://{}@127.0.0.1:{}", user.name, dovecot.pop3s_port())
}

fn run(env: &TestEnv, server: &OAuthServer, args: &[&str]) -> std::process::Output {
    mailtug(env, server, args).output().unwrap()
}

fn token_file(env: &TestEnv, user: &User) -> serde_json::Value {
    let path = env
        .state_home()
        .join(format!("mailtug/tokens/{}.json", user.name));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

#[test]
fn a_browser_sign_in_logs_in_to_imap_and_pop3_and_refreshes_itself() {
    let (env, server, dovecot, user) = world();
    let ca = dovecot.ca_file().to_str().unwrap().to_owned();

    let login = browser_login(&env, &server, "google", &user.name);
    assert_exit(&login, 0);
    assert!(stderr(&login).contains(&format!("Signed in {} with Google", user.name)));
    // PKCE, no client secret, and the redirect to our loopback port.
    assert_eq!(server.count("code"), 1);
    assert_eq!(
        server.last_token_param("code_verifier").map(|v| v.len()),
        Some(43)
    );
    assert_eq!(server.last_token_param("client_secret"), None);
    let stored = token_file(&env, &user);
    let first_refresh_token = stored["refresh_token"].as_str().unwrap().to_owned();
    assert!(!stderr(&login).contains(&first_refresh_token));
    assert!(!stdout(&login).contains(&first_refresh_token));

    // IMAP and POP3 log in with the kept token: no password option at all.
    let listed = run(
        &env,
        &server,
        &["ls", &imaps(&dovecot, &user), "--ca-file", &ca],
    );
    assert_exit(&listed, 0);
    assert!(stdout(&listed).contains("INBOX"), "{}", stdout(&listed));
    let maildir = env.endpoint("maildir", "backup");
    let copied = run(
        &env,
        &server,
        &[
            "copy",
            &pop3s(&dovecot, &user),
            &maildir,
            "--ca-file",
            &ca,
            "--json",
        ],
    );
    assert_exit(&copied, 0);
    assert!(
        stdout(&copied).contains(r#""messages_copied":2"#),
        "{}",
        stdout(&copied)
    );
    assert_eq!(server.count("refresh"), 0, "the first token was still good");

    // The provider ends the access token early: the login is refused, one
    // refresh (rotating the refresh token) and the login goes through.
    server.revoke_access_tokens();
    server.set_access_lifetime(2);
    let listed = run(
        &env,
        &server,
        &["ls", &imaps(&dovecot, &user), "--ca-file", &ca],
    );
    assert_exit(&listed, 0);
    assert_eq!(server.count("refresh"), 1);
    let stored = token_file(&env, &user);
    assert_ne!(
        stored["refresh_token"].as_str().unwrap(),
        first_refresh_token
    );

    // Now the kept token ends within seconds (past half its life):
    // refreshed before logging in.
    std::thread::sleep(Duration::from_millis(1100));
    let introspections = server.count("introspect");
    let listed = run(
        &env,
        &server,
        &["ls", &imaps(&dovecot, &user), "--ca-file", &ca],
    );
    assert_exit(&listed, 0);
    assert_eq!(server.count("refresh"), 2);
    assert_eq!(
        server.count("introspect"),
        introspections + 1,
        "one login, no refused one"
    );

    // Two runs at once: the lock makes them refresh one after the other,
    // each with the refresh token the other left; without it, one would
    // use a rotated-away token and be refused.
    std::thread::sleep(Duration::from_millis(1100));
    let runs: Vec<_> = (0..3)
        .map(|_| {
            mailtug(
                &env,
                &server,
                &["ls", &imaps(&dovecot, &user), "--ca-file", &ca],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in runs {
        assert_exit(&child.wait_with_output().unwrap(), 0);
    }
    assert!(server.count("refresh") >= 3, "{}", server.count("refresh"));

    // `auth status` tells without showing a token.
    let status = run(&env, &server, &["auth", "status", "--json"]);
    assert_exit(&status, 0);
    let event: serde_json::Value =
        serde_json::from_str(stdout(&status).lines().next().unwrap()).unwrap();
    assert_eq!(event["event"], "sign_in");
    assert_eq!(event["user"], user.name.as_str());
    assert_eq!(event["provider"], "google");
    assert_eq!(event["refreshable"], true);
    let kept = token_file(&env, &user);
    for secret in ["access_token", "refresh_token"] {
        assert!(!stdout(&status).contains(kept[secret].as_str().unwrap()));
    }

    // The sign-in dies at the provider: exit 8, saying how to sign in again.
    server.revoke_everything();
    std::thread::sleep(Duration::from_millis(2100));
    let refused = run(
        &env,
        &server,
        &["ls", &imaps(&dovecot, &user), "--ca-file", &ca],
    );
    assert_exit(&refused, 8);
    let said = stderr(&refused);
    assert!(said.contains("no longer accepts the sign-in"), "{said}");
    assert!(
        said.contains("mailtug auth login --provider google"),
        "{said}"
    );
    let checked = run(&env, &server, &["auth", "status", "--check", &user.name]);
    assert_exit(&checked, 8);

    // Logging out revokes at the provider and forgets the file.
    let logout = run(&env, &server, &["auth", "logout", &user.name]);
    assert_exit(&logout, 0);
    assert_eq!(server.count("revoke"), 1);
    assert!(!env
        .state_home()
        .join(format!("mailtug/tokens/{}.json", user.name))
        .exists());
    let after = run(&env, &server, &["auth", "status", &user.name]);
    assert_exit(&after, 8);
}

#[test]
fn a_device_sign_in_waits_through_pending_and_slow_down() {
    let (env, server, dovecot, user) = world();
    let login = run(
        &env,
        &server,
        &[
            "auth",
            "login",
            "--provider",
            "microsoft",
            "--user",
            &user.name,
            "--client-id",
            "00000000-test",
            "--json",
        ],
    );
    assert_exit(&login, 0);
    let said = stderr(&login);
    assert!(said.contains("enter the code WDJB-MJHT"), "{said}");
    // Pending, then slow down (the wait grows by 5 s), then tokens.
    assert_eq!(server.count("device_poll"), 3);
    assert!(stdout(&login).contains(r#""event":"sign_in""#));
    assert!(token_file(&env, &user)["refresh_token"].is_string());

    // Signing in again, with the browser this time, replaces the sign-in.
    let again = browser_login(&env, &server, "microsoft", &user.name);
    assert_exit(&again, 0);
    assert_eq!(server.count("code"), 1);
    assert_eq!(token_file(&env, &user)["provider"], "microsoft");

    // OAUTHBEARER, the standard mechanism, with the same tokens.
    let ca = dovecot.ca_file().to_str().unwrap();
    let listed = run(
        &env,
        &server,
        &[
            "ls",
            &imaps(&dovecot, &user),
            "--ca-file",
            ca,
            "--src-auth",
            "oauthbearer",
        ],
    );
    assert_exit(&listed, 0);
}

#[test]
fn an_account_of_the_config_file_signs_in_by_name_and_its_jobs_need_no_password() {
    let (env, server, dovecot, user) = world();
    let config = env.path("config.toml");
    std::fs::write(
        &config,
        format!(
            "[accounts.work]\nurl = \"{}\"\noauth = \"microsoft\"\n\
             oauth_client_id = \"00000000-from-config\"\noauth_tenant = \"example.com\"\n\
             ca_file = \"{}\"\n\n[jobs.backup]\nsrc = \"work\"\ndst = \"{}\"\n",
            imaps(&dovecot, &user),
            dovecot.ca_file().display(),
            env.endpoint("maildir", "backup")
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let login = run(&env, &server, &["-c", config, "auth", "login", "work"]);
    assert_exit(&login, 0);
    assert_eq!(
        server.last_token_param("client_id").as_deref(),
        Some("00000000-from-config")
    );
    let stored = token_file(&env, &user);
    assert_eq!(stored["tenant"], "example.com");
    assert_eq!(stored["provider"], "microsoft");
    let backup = run(&env, &server, &["-c", config, "run", "backup", "--json"]);
    assert_exit(&backup, 0);
    assert!(
        stdout(&backup).contains(r#""messages_copied":2"#),
        "{}",
        stdout(&backup)
    );
    let shown = run(&env, &server, &["-c", config, "config", "check"]);
    assert_exit(&shown, 0);
    assert!(
        stdout(&shown).contains("--src-auth xoauth2"),
        "{}",
        stdout(&shown)
    );
}

#[test]
fn a_token_command_keeps_the_sign_in_instead_of_a_file() {
    let (env, server, dovecot, user) = world();
    // A keyring stand-in: one file per address in a directory of its own.
    let keyring = env.path("keyring");
    let script = env.path("keyring.sh");
    std::fs::write(
        &script,
        format!(
            "dir={}\ncase \"$1\" in\n  load) cat \"$dir/$2\" 2>/dev/null || true ;;\n  \
             save) mkdir -p \"$dir\" && cat > \"$dir/$2\" ;;\n  delete) rm -f \"$dir/$2\" ;;\n  \
             list) ls \"$dir\" 2>/dev/null ;;\nesac\n",
            keyring.display()
        ),
    )
    .unwrap();
    let command = format!("sh {}", script.display());
    let with_keyring = |args: &[&str]| {
        mailtug(&env, &server, args)
            .env("MAILTUG_TOKEN_COMMAND", &command)
            .output()
            .unwrap()
    };
    let login = with_keyring(&[
        "auth",
        "login",
        "--provider",
        "microsoft",
        "--user",
        &user.name,
        "--client-id",
        "c",
    ]);
    assert_exit(&login, 0);
    assert!(
        stderr(&login).contains("kept in the token command"),
        "{}",
        stderr(&login)
    );
    assert!(keyring.join(&user.name).exists());
    let tokens = env.state_home().join("mailtug/tokens");
    let files: Vec<_> = std::fs::read_dir(&tokens)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        files
            .iter()
            .all(|f| !f.to_string_lossy().ends_with(".json")),
        "{files:?}"
    );
    let ca = dovecot.ca_file().to_str().unwrap();
    assert_exit(
        &with_keyring(&["ls", &imaps(&dovecot, &user), "--ca-file", ca]),
        0,
    );
    let status = with_keyring(&["auth", "status"]);
    assert_exit(&status, 0);
    assert!(stdout(&status).contains(&user.name), "{}", stdout(&status));
    assert_exit(&with_keyring(&["auth", "logout", &user.name]), 0);
    assert!(!keyring.join(&user.name).exists());
}

#[test]
fn a_refused_token_shows_what_the_server_said_of_it() {
    let (env, server, dovecot, user) = world();
    let ca = dovecot.ca_file().to_str().unwrap();
    let bogus = env.write_secret("token", "not-a-token-anyone-issued");
    for (url, auth) in [
        (imaps(&dovecot, &user), "xoauth2"),
        (imaps(&dovecot, &user), "oauthbearer"),
        (pop3s(&dovecot, &user), "xoauth2"),
    ] {
        let refused = run(
            &env,
            &server,
            &[
                "ls",
                &url,
                "--ca-file",
                ca,
                "--src-auth",
                auth,
                "--src-password-file",
                bogus.to_str().unwrap(),
            ],
        );
        assert_exit(&refused, 7);
        let said = stderr(&refused);
        assert!(
            said.contains("about the token it said {"),
            "{auth} {url}: {said}"
        );
        assert!(!said.contains("not-a-token-anyone-issued"), "{said}");
    }
    // With no sign-in and no token, a script is told how to sign in.
    let unsigned = run(
        &env,
        &server,
        &["ls", &imaps(&dovecot, &user), "--src-auth", "xoauth2"],
    );
    assert_exit(&unsigned, 8);
    assert!(
        stderr(&unsigned).contains("mailtug auth login"),
        "{}",
        stderr(&unsigned)
    );
}
