//! Errors that say what to do: which side failed and the option to use,
//! a TLS port written as a plain one (and the other way round) found out
//! at once with the URL to write, OpenSSL's internals only at -vv, one
//! CA file for both sides, a password from stdin, a password file others
//! can read, and a missing source path.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::account::Account;
use crate::support::Dovecot;
use crate::util::{args, assert_exit, path_arg, stderr, TestEnv};

/// The error lines of a run.
fn errors(output: &std::process::Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.starts_with("mailtug: error: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_tls_port_written_as_plain_and_a_plain_port_written_as_tls_say_what_to_write() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let account = Account::new(&env, server, "ports", None);
    let ca = path_arg(server.ca_file());
    let password = path_arg(&account.password_file);
    let user = account.name();
    let cases = [
        // (written, port, what to write instead)
        (
            "imap",
            server.imaps_port(),
            format!("imaps://{user}@127.0.0.1:{}", server.imaps_port()),
        ),
        (
            "pop3",
            server.pop3s_port(),
            format!("pop3s://{user}@127.0.0.1:{}", server.pop3s_port()),
        ),
        (
            "imaps",
            server.imap_port(),
            format!("imap://{user}@127.0.0.1:{}", server.imap_port()),
        ),
        (
            "pop3s",
            server.pop3_port(),
            format!("pop3://{user}@127.0.0.1:{}", server.pop3_port()),
        ),
    ];
    for (scheme, port, instead) in cases {
        let url = format!("{scheme}://{user}@127.0.0.1:{port}");
        let started = Instant::now();
        // The default 60 s timeout: the mismatch must not wait for it.
        let output = env.run(&[
            "ls",
            &url,
            "--src-password-file",
            &password,
            "--ca-file",
            &ca,
        ]);
        let took = started.elapsed();
        assert_exit(&output, 3);
        let errors = errors(&output);
        assert_eq!(errors.len(), 1, "{url}: one line: {errors:?}");
        assert!(
            errors[0].contains(&instead),
            "{url}: suggests {instead}: {errors:?}"
        );
        assert!(!errors[0].contains("SSL routines"), "{url}: {errors:?}");
        assert!(
            took < Duration::from_secs(20),
            "{url}: found out in {took:?}, not after the 60 s timeout"
        );
    }
}

#[test]
fn an_untrusted_certificate_names_its_sides_option_and_openssl_speaks_only_at_vv() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = Account::new(&env, server, "trust-src", None);
    let destination = Account::new(&env, server, "trust-dst", None);
    crate::bulk::load(&source, "t", 2);
    let ca = path_arg(server.ca_file());
    let base = args([
        "copy",
        &source.imaps(),
        &destination.imaps(),
        "--src-password-file",
        &path_arg(&source.password_file),
        "--dst-password-file",
        &path_arg(&destination.password_file),
    ]);
    for (side, trusted, option) in [
        ("source", "--dst-ca-file", "--src-ca-file"),
        ("destination", "--src-ca-file", "--dst-ca-file"),
    ] {
        let mut run = base.clone();
        run.extend(args([trusted, &ca]));
        let output = env.run_owned(&run);
        assert_exit(&output, 3);
        let errors = errors(&output);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let error = &errors[0];
        assert!(error.contains(&format!("opening {side} ")), "{error}");
        assert!(error.contains("not trusted"), "{error}");
        assert!(error.contains(&format!("{option} FILE")), "{error}");
        assert!(error.contains("--ca-file FILE"), "{error}");
        assert!(
            !error.contains("SSL routines") && !error.contains(".c:"),
            "{error}"
        );
        // -vv shows OpenSSL's own words.
        run.push("-vv".into());
        let output = env.run_owned(&run);
        assert!(
            stderr(&output).contains("SSL routines"),
            "{}",
            stderr(&output)
        );
    }
    // --ca-file: both sides at once.
    let mut run = base.clone();
    run.extend(args(["--ca-file", &ca]));
    assert_exit(&env.run_owned(&run), 0);
    assert_eq!(destination.user.count(server, "INBOX"), 2);
}

#[test]
fn a_password_comes_from_stdin_with_a_dash_and_a_readable_password_file_is_warned_about() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let account = Account::new(&env, server, "stdin", None);
    crate::bulk::load(&account, "s", 1);
    let ca = path_arg(server.ca_file());
    let run_with_stdin = |argv: &[&str], input: &str| {
        let mut child = env
            .command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let url = account.imaps();
    let output = run_with_stdin(
        &["ls", &url, "--src-password-file", "-", "--src-ca-file", &ca],
        &format!("{}\n", account.password()),
    );
    assert_exit(&output, 0);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    // Both sides from one stdin cannot be.
    let output = run_with_stdin(
        &[
            "copy",
            &url,
            &url,
            "--src-password-file",
            "-",
            "--dst-password-file",
            "-",
            "--ca-file",
            &ca,
        ],
        "x\n",
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("only one password can come from stdin"));

    // A password file others can read works, with a warning that says
    // how to fix it; a private one gets none.
    let shared = env.path("shared.password");
    std::fs::write(&shared, format!("{}\n", account.password())).unwrap();
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let output = env.run(&[
        "ls",
        &url,
        "--src-password-file",
        &path_arg(&shared),
        "--src-ca-file",
        &ca,
    ]);
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(
        err.contains("can be read by other users") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains(account.password()));
    let output = env.run(&[
        "ls",
        &url,
        "--src-password-file",
        &path_arg(&account.password_file),
        "--src-ca-file",
        &ca,
    ]);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn a_missing_source_path_is_not_offered_to_be_created() {
    let env = TestEnv::new();
    let missing = path_arg(&env.path("no-such-mail"));
    let output = env.run(&["copy", &missing, &env.endpoint("maildir", "out")]);
    assert_exit(&output, 2);
    let errors = errors(&output);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("source") && errors[0].contains("does not exist"));
    assert!(!errors[0].contains("to create it"), "{errors:?}");
    // As a destination, a new path is made once its kind is said.
    let output = env.run(&[
        "copy",
        &path_arg(&crate::util::fixtures_dir().join("single.mbox")),
        &missing,
    ]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains(&format!("maildir:{missing}")));
}

#[test]
fn help_is_grouped_under_headings_and_each_command_shows_its_own_options() {
    let env = TestEnv::new();
    let help = crate::util::stdout(&env.run(&["copy", "--help"]));
    // Heading → the options listed under it, in order.
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            sections.push((line.trim_end_matches(':').to_string(), Vec::new()));
        } else if let (Some(option), Some(section)) =
            (line.split_whitespace().next(), sections.last_mut())
        {
            if option.starts_with('-') {
                section.1.push(option.trim_end_matches(',').to_string());
            }
        }
    }
    let names: Vec<&str> = sections.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        names,
        [
            "Arguments",
            "Options",
            "Selection",
            "Filters",
            "POP3",
            "Local stores",
            "Rate limits",
            "Providers",
            "Authentication",
            "TLS",
            "Output"
        ],
        "{help}"
    );
    let under = |heading: &str| {
        sections
            .iter()
            .find(|(h, _)| h == heading)
            .map(|(_, options)| options.clone())
            .unwrap()
    };
    for (heading, option) in [
        ("Selection", "--folder"),
        ("Selection", "--merge"),
        ("Filters", "--since"),
        ("Authentication", "--src-password-file"),
        ("TLS", "--ca-file"),
        ("POP3", "--delete-after"),
        ("Rate limits", "--max-bytes-per-second"),
        ("Rate limits", "--src-max-bytes-per-day"),
        ("Providers", "--src-provider"),
        ("Providers", "--gmail-labels"),
        ("Output", "--json"),
    ] {
        assert!(
            under(heading).iter().any(|o| o == option),
            "{option} under {heading}: {help}"
        );
    }
    // ls reads one endpoint: the destination's options are not its own.
    let ls = crate::util::stdout(&env.run(&["ls", "--help"]));
    assert!(ls.contains("--src-password-file"));
    assert!(
        !ls.contains("--dst-password-file") && !ls.contains("--dst-user"),
        "{ls}"
    );
}

#[test]
fn no_color_turns_the_colors_of_help_and_usage_errors_off() {
    // `script` gives the program a terminal, where colors are on.
    let script = crate::support::system::find_program("script").expect("script (util-linux)");
    let run = |no_color: bool| {
        let env = TestEnv::new();
        let mut command = std::process::Command::new(&script);
        command
            .args([
                "-qec",
                &format!("{} --bogus", env!("CARGO_BIN_EXE_mailtug")),
                "/dev/null",
            ])
            .current_dir(env.root())
            .env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let output = command.output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let colored = run(false);
    assert!(
        colored.contains("unexpected argument") && colored.contains('\x1b'),
        "{colored:?}"
    );
    let plain = run(true);
    assert!(
        plain.contains("unexpected argument") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn progress_shows_on_a_terminal_or_when_asked_and_never_with_no_progress() {
    let script = crate::support::system::find_program("script").expect("script (util-linux)");
    let fixture = path_arg(&crate::util::fixtures_dir().join("maildir"));
    let run_in_terminal = |env: &TestEnv, extra: &str| {
        let command = format!(
            "XDG_STATE_HOME={} {} copy {fixture} maildir:{} {extra}",
            path_arg(&env.state_home()),
            env!("CARGO_BIN_EXE_mailtug"),
            path_arg(&env.path("out")),
        );
        let output = std::process::Command::new(&script)
            .args(["-qec", &command, "/dev/null"])
            .current_dir(env.root())
            .env("TERM", "xterm")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // On a terminal: the run's line with its counts, then the summary.
    let shown = run_in_terminal(&TestEnv::new(), "");
    assert!(shown.contains("/48 msgs"), "{shown:?}");
    assert!(shown.contains("msg/s"), "{shown:?}");
    assert!(shown.contains("copied 47 messages"), "{shown:?}");
    // --no-progress: only the summary.
    let quiet = run_in_terminal(&TestEnv::new(), "--no-progress");
    assert!(!quiet.contains("msgs"), "{quiet:?}");
    assert!(quiet.contains("copied 47 messages"), "{quiet:?}");

    // --progress on stderr that is not a terminal (a log file).
    let env = TestEnv::new();
    let output = env.run(&[
        "copy",
        &fixture,
        &env.endpoint("maildir", "out"),
        "--progress",
    ]);
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(err.contains("/48 msgs"), "{err:?}");
    assert!(err.contains("copied 47 messages"), "{err:?}");
    // Without it, nothing but errors there.
    let env = TestEnv::new();
    let output = env.run(&["copy", &fixture, &env.endpoint("maildir", "out")]);
    assert_eq!(stderr(&output), "");
}
