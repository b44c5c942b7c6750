//! Passwords reach the server and nothing else: not a command line, not an
//! environment, not stdout or stderr at `-vv` or with `--json`, not a
//! checkpoint, and not an error message, even when the server quotes the
//! credentials back or drops the connection on receiving them.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::tlsserver::{FakeServer, OnLogin, Protocol};
use crate::support::{Dovecot, User};
use crate::util::{
    args, assert_exit, count, json_events, list_files, path_arg, stderr, stdout, summary, TestEnv,
};

use super::{assert_clean, date, mail, scan_processes, secret_forms, ProcessScan};

/// A password command for `side` that prints `secret`, but first records
/// its ancestry (pid and argv of each process up to init) in
/// `ancestry-SIDE`, says `ready-SIDE`, and waits (30 s at most) for
/// `go-SIDE`, so the test can look at every process while it runs. The
/// secret is in the script's body, never on a command line.
fn password_command(dir: &Path, side: &str, secret: &str) -> String {
    let script = dir.join(format!("pw-{side}.sh"));
    let d = path_arg(dir);
    fs::write(
        &script,
        format!(
            r#"pid=$$
while [ "$pid" -gt 1 ]; do
  {{ printf '%s ' "$pid"; tr '\000' ' ' < /proc/$pid/cmdline; echo; }} >> '{d}/ancestry-{side}'
  ppid=1
  while read -r key value; do
    if [ "$key" = "PPid:" ]; then ppid=$value; fi
  done < /proc/$pid/status
  pid=$ppid
done
: > '{d}/ready-{side}'
n=0
while [ ! -e '{d}/go-{side}' ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n+1)); done
printf '%s\n' '{secret}'
"#
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o700)).unwrap();
    format!("sh {}", script.display())
}

/// A run whose processes were watched while it ran.
struct Watched {
    output: Output,
    /// For each side, the look taken while its password command waited.
    scans: Vec<(String, ProcessScan)>,
    /// Every place a secret showed, in any look.
    leaks: Vec<String>,
    pid: u32,
}

/// Runs `argv`, looking at every process again and again until it exits,
/// and once more while each side's password command waits for its `go`.
fn run_watched(
    env: &TestEnv,
    argv: &[String],
    dir: &Path,
    sides: &[&str],
    secrets: &[&str],
) -> Watched {
    let mut child = env
        .command(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting mailtug");
    let pid = child.id();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut scans = Vec::new();
    let mut leaks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let waiting: Vec<&str> = sides
            .iter()
            .copied()
            .filter(|side| {
                dir.join(format!("ready-{side}")).exists()
                    && !dir.join(format!("go-{side}")).exists()
            })
            .collect();
        let scan = scan_processes(pid, secrets);
        leaks.extend(scan.leaks.iter().cloned());
        for side in &waiting {
            fs::write(dir.join(format!("go-{side}")), b"").unwrap();
            scans.push((
                side.to_string(),
                ProcessScan {
                    family: scan.family.clone(),
                    leaks: scan.leaks.clone(),
                },
            ));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mailtug did not finish within 120 s: {argv:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Watched {
        output: Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        scans,
        leaks,
        pid,
    }
}

impl Watched {
    /// The password command of each of `sides` ran inside this run's
    /// process tree while the test looked, and no look found a secret.
    fn assert_no_leak(&self, dir: &Path, sides: &[&str], what: &str) {
        assert!(
            self.leaks.is_empty(),
            "{what}: a secret showed in a process:\n{}",
            self.leaks.join("\n")
        );
        for side in sides {
            let script = path_arg(&dir.join(format!("pw-{side}.sh")));
            let scan = self
                .scans
                .iter()
                .find(|(s, _)| s == side)
                .map(|(_, scan)| scan)
                .unwrap_or_else(|| panic!("{what}: the {side} password command never ran"));
            assert!(
                scan.family.iter().any(|argv| argv.contains(&script)),
                "{what}: the {side} password command was not seen among mailtug's processes: {:#?}",
                scan.family
            );
            let ancestry = fs::read_to_string(dir.join(format!("ancestry-{side}"))).unwrap();
            assert!(
                ancestry
                    .lines()
                    .any(|l| l.starts_with(&format!("{} ", self.pid))),
                "{what}: mailtug (pid {}) is not an ancestor of the {side} password command:\n{ancestry}",
                self.pid
            );
        }
    }
}

/// A Dovecot user with three messages in INBOX.
fn loaded_user(server: &Dovecot, hint: &str, password: &str) -> User {
    let user = server.add_user(hint, password, None);
    let messages: Vec<(Vec<u8>, &str, std::time::SystemTime)> =
        (0..3).map(|i| (mail(hint, i), "S", date())).collect();
    user.load(server, "INBOX", &messages);
    user
}

/// Every file under the test's state directory is free of `forms`.
fn assert_state_clean(env: &TestEnv, forms: &[String]) {
    let state = env.state_home();
    let files = list_files(&state);
    assert!(!files.is_empty(), "no checkpoint was written");
    for file in files {
        let text = String::from_utf8_lossy(&fs::read(state.join(&file)).unwrap()).into_owned();
        assert_clean(&format!("state file {}", file.display()), &text, forms);
    }
}

#[test]
fn imap_passwords_from_a_command_reach_no_argv_environment_output_or_checkpoint() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let (src_secret, dst_secret) = ("Cmd-Src-Secret-7Hq2x", "Cmd-Dst-Secret-9Vw4z");
    let source = loaded_user(server, "cmd-src", src_secret);
    let destination = server.add_user("cmd-dst", dst_secret, None);
    let ca = path_arg(server.ca_file());
    let mut forms = secret_forms(&source.name, src_secret);
    forms.extend(secret_forms(&destination.name, dst_secret));
    let url = |user: &User| format!("imaps://{}@127.0.0.1:{}", user.name, server.imaps_port());

    for (n, (src_auth, dst_auth)) in [("auto", "auto"), ("login", "plain"), ("plain", "login")]
        .into_iter()
        .enumerate()
    {
        let dir = env.path(&format!("run-{n}"));
        fs::create_dir(&dir).unwrap();
        let src_command = password_command(&dir, "src", src_secret);
        let dst_command = password_command(&dir, "dst", dst_secret);
        for command in [&src_command, &dst_command] {
            assert_clean("the password command", command, &forms);
        }
        let argv = args([
            "--json",
            "-vv",
            "copy",
            &url(&source),
            &url(&destination),
            "--src-password-command",
            &src_command,
            "--dst-password-command",
            &dst_command,
            "--src-ca-file",
            &ca,
            "--dst-ca-file",
            &ca,
            "--src-auth",
            src_auth,
            "--dst-auth",
            dst_auth,
        ]);
        let what = format!("--src-auth {src_auth} --dst-auth {dst_auth}");
        let watched = run_watched(
            &env,
            &argv,
            &dir,
            &["src", "dst"],
            &[src_secret, dst_secret],
        );
        assert_exit(&watched.output, 0);
        if n == 0 {
            let events = json_events(&watched.output);
            assert_eq!(count(summary(&events), "messages_copied"), 3, "{what}");
        }
        watched.assert_no_leak(&dir, &["src", "dst"], &what);
        assert_clean(&format!("{what}: stdout"), &stdout(&watched.output), &forms);
        assert_clean(&format!("{what}: stderr"), &stderr(&watched.output), &forms);
        assert!(
            stderr(&watched.output).contains("mailtug: debug: "),
            "{what}: -vv logs:\n{}",
            stderr(&watched.output)
        );
    }
    assert_state_clean(&env, &forms);
    assert_eq!(destination.count(server, "INBOX"), 3);
}

#[test]
fn pop3_passwords_from_a_command_reach_no_argv_environment_output_or_checkpoint() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let secret = "Cmd-Pop3-Secret-4Rt8k";
    let source = loaded_user(server, "cmd-pop3", secret);
    let forms = secret_forms(&source.name, secret);
    let ca = path_arg(server.ca_file());

    for (n, auth) in ["auto", "user", "plain", "login"].into_iter().enumerate() {
        let dir = env.path(&format!("run-{n}"));
        fs::create_dir(&dir).unwrap();
        let command = password_command(&dir, "src", secret);
        assert_clean("the password command", &command, &forms);
        let argv = args([
            "--json",
            "-vv",
            "copy",
            &format!("pop3s://{}@127.0.0.1:{}", source.name, server.pop3s_port()),
            &env.endpoint("maildir", "out"),
            "--src-password-command",
            &command,
            "--src-ca-file",
            &ca,
            "--src-auth",
            auth,
        ]);
        let what = format!("--src-auth {auth}");
        let watched = run_watched(&env, &argv, &dir, &["src"], &[secret]);
        assert_exit(&watched.output, 0);
        if n == 0 {
            let events = json_events(&watched.output);
            assert_eq!(count(summary(&events), "messages_copied"), 3, "{what}");
        }
        watched.assert_no_leak(&dir, &["src"], &what);
        assert_clean(&format!("{what}: stdout"), &stdout(&watched.output), &forms);
        assert_clean(&format!("{what}: stderr"), &stderr(&watched.output), &forms);
        assert!(
            stderr(&watched.output).contains("C: "),
            "{what}: -vv shows the dialogue:\n{}",
            stderr(&watched.output)
        );
    }
    assert_state_clean(&env, &forms);
}

/// The runs that send `password_file`'s password to `port` of a fake
/// server: as a source (`ls` and `copy`), and for IMAP as a destination.
fn runs_against(
    env: &TestEnv,
    protocol: Protocol,
    port: u16,
    password_file: &Path,
    mechanism: &str,
) -> Vec<(String, Vec<String>)> {
    let scheme = match protocol {
        Protocol::Imap => "imap",
        Protocol::Pop3 => "pop3",
    };
    let url = format!("{scheme}://someone@127.0.0.1:{port}");
    let password = path_arg(password_file);
    let mut runs = vec![
        (
            format!("-vv ls {url} --src-auth {mechanism}"),
            args([
                "-vv",
                "ls",
                &url,
                "--tls",
                "none",
                "--src-password-file",
                &password,
                "--src-auth",
                mechanism,
            ]),
        ),
        (
            format!("--json -vv copy {url} --src-auth {mechanism}"),
            args([
                "--json",
                "-vv",
                "copy",
                &url,
                &env.endpoint("maildir", "out"),
                "--tls",
                "none",
                "--retries",
                "0",
                "--src-password-file",
                &password,
                "--src-auth",
                mechanism,
            ]),
        ),
    ];
    if protocol == Protocol::Imap {
        runs.push((
            format!("--json -vv copy to {url} --dst-auth {mechanism}"),
            args([
                "--json",
                "-vv",
                "copy",
                &env.endpoint("maildir", "src"),
                &url,
                "--tls",
                "none",
                "--retries",
                "0",
                "--dst-password-file",
                &password,
                "--dst-auth",
                mechanism,
            ]),
        ));
    }
    runs
}

#[test]
fn servers_that_refuse_quote_or_hang_up_on_a_login_never_get_the_password_printed() {
    let env = TestEnv::new();
    crate::util::corpus::write_maildir(
        &env.path("src"),
        &crate::util::corpus::synthetic_range(0..2),
    );
    let secret = "Hostile-Server-Secret-3Kd9p";
    let password_file: PathBuf = env.write_secret("password", secret);
    let forms = secret_forms("someone", secret);

    let cases = [
        (Protocol::Imap, &["login", "plain"][..]),
        (Protocol::Pop3, &["user", "plain", "login"][..]),
    ];
    for (protocol, mechanisms) in cases {
        for on_login in [OnLogin::Refuse, OnLogin::RefuseQuoting, OnLogin::Drop] {
            for mechanism in mechanisms {
                let server = FakeServer::plain(protocol, on_login);
                for (what, argv) in
                    runs_against(&env, protocol, server.port, &password_file, mechanism)
                {
                    let what = format!("{protocol:?} server that does {on_login:?}: {what}");
                    let logins = server.logins();
                    let output = env.run_owned(&argv);
                    // A refusal is a refused login (7); a hang-up during
                    // the login says nothing of the credentials (3).
                    let code = if on_login == OnLogin::Drop { 3 } else { 7 };
                    assert_exit(&output, code);
                    assert!(
                        server.logins() > logins,
                        "{what}: no credentials were sent, so this proves nothing:\n{}",
                        server.received()
                    );
                    let err = stderr(&output);
                    assert!(
                        err.lines().any(|l| l.starts_with("mailtug: error: ")),
                        "{what}: an error line:\n{err}"
                    );
                    if on_login != OnLogin::Drop {
                        assert!(
                            err.contains("refuse"),
                            "{what}: the server's words are shown:\n{err}"
                        );
                    }
                    assert_clean(&format!("{what}: stdout"), &stdout(&output), &forms);
                    assert_clean(&format!("{what}: stderr"), &err, &forms);
                }
            }
        }
    }
    assert!(!env.path("out").exists());
}
