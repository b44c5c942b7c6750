//! Provider presets on Dovecot standing in for the providers.
//!
//! A Gmail-like tree on Dovecot (`[Gmail]/All Mail` holding every message
//! but spam and trash, label folders holding the same messages again,
//! `[Gmail]/Sent Mail`, Starred) copied with `--src-provider gmail` under
//! each label policy: exact counts per destination folder, no message twice
//! in one folder, Gmail's system folders landing in the destination's own,
//! and a rerun that copies nothing.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::account::Account;
use crate::support::Dovecot;
use crate::util::{args, assert_exit, json_events, summary, TestEnv};

fn message(id: &str) -> (Vec<u8>, &'static str, SystemTime) {
    let raw = format!("Message-ID: <{id}@gmail.example>\r\nSubject: {id}\r\n\r\nbody of {id}\r\n");
    (
        raw.into_bytes(),
        "",
        UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

/// The tree, by Dovecot folder name (separator `.`): which messages each
/// label holds. m1 is in INBOX and Work, m2 in Work and Receipts (and
/// starred), m4 and m5 are archived (All Mail only), sp1 is spam (not in
/// All Mail, as on Gmail).
const TREE: &[(&str, &[&str])] = &[
    ("INBOX", &["m1"]),
    ("Work", &["m1", "m2"]),
    ("Receipts", &["m2", "m3"]),
    ("Work.Projects", &["m6"]),
    ("[Gmail].Sent Mail", &["s1"]),
    ("[Gmail].Drafts", &["d1"]),
    ("[Gmail].Spam", &["sp1"]),
    ("[Gmail].Starred", &["m2"]),
    (
        "[Gmail].All Mail",
        &["m1", "m2", "m3", "m4", "m5", "m6", "s1", "d1"],
    ),
];

fn gmail_like<'s>(env: &TestEnv, server: &'s Dovecot) -> Account<'s> {
    let source = Account::new(env, server, "gmail-src", None);
    for (folder, ids) in TREE {
        let messages: Vec<_> = ids.iter().map(|id| message(id)).collect();
        source.user.load(server, folder, &messages);
    }
    source
}

/// Message-IDs per destination folder (Dovecot's names), each list sorted
/// so that a message stored twice shows twice.
fn contents(account: &Account) -> BTreeMap<String, Vec<String>> {
    account
        .folders()
        .into_iter()
        .map(|folder| {
            let mut ids: Vec<String> = account
                .messages(&folder)
                .iter()
                .map(|m| {
                    let text = String::from_utf8_lossy(&m.raw);
                    let id = text.lines().next().unwrap_or_default();
                    id.trim_start_matches("Message-ID: <")
                        .trim_end_matches("@gmail.example>")
                        .to_owned()
                })
                .collect();
            ids.sort();
            (folder, ids)
        })
        .filter(|(_, ids)| !ids.is_empty())
        .collect()
}

fn expected(rows: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    rows.iter()
        .map(|(folder, ids)| {
            let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
            ids.sort();
            (folder.to_string(), ids)
        })
        .collect()
}

fn copy(
    env: &TestEnv,
    source: &Account,
    destination: &Account,
    extra: &[&str],
) -> serde_json::Value {
    let mut all = args(["copy", &source.imaps(), &destination.imaps(), "--json"]);
    all.extend(source.src_args());
    all.extend(destination.dst_args());
    all.extend(args(["--src-provider", "gmail"]));
    all.extend(extra.iter().map(|s| s.to_string()));
    let output = env.run_owned(&all);
    assert_exit(&output, 0);
    summary(&json_events(&output)).clone()
}

#[test]
fn label_folders_each_get_a_copy_and_all_mail_gives_only_the_archive() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = gmail_like(&env, server);
    let destination = Account::new(&env, server, "gmail-dst", None);

    // The plan shows the policy: All Mail gives its two archived messages,
    // the six others are copies within the source; Starred is left out.
    let mut plan = args(["plan", &source.imaps(), &destination.imaps(), "--json"]);
    plan.extend(source.src_args());
    plan.extend(destination.dst_args());
    plan.extend(args([
        "--src-provider",
        "gmail",
        "--src-max-bytes-per-day",
        "300",
    ]));
    let planned = env.run_owned(&plan);
    assert_exit(&planned, 0);
    let events = json_events(&planned);
    let rows: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "plan_folder")
        .collect();
    let all_mail = rows
        .iter()
        .find(|e| e["folder"] == "[Gmail]/All Mail")
        .expect("All Mail in the plan");
    assert_eq!(all_mail["destination_folder"], "Archive");
    assert_eq!(all_mail["to_copy"], 2, "{all_mail}");
    assert_eq!(all_mail["duplicates_in_source"], 6, "{all_mail}");
    assert!(rows.iter().all(|e| e["folder"] != "[Gmail]/Starred"));
    let verdict = events.iter().find(|e| e["event"] == "plan").unwrap();
    let notes = verdict["notes"].to_string();
    assert!(notes.contains("the source is Gmail"), "{notes}");
    assert!(notes.contains("--gmail-labels folders"), "{notes}");
    assert!(
        notes.contains("a day the download may take: about"),
        "{notes}"
    );

    let first = copy(&env, &source, &destination, &[]);
    assert_eq!(
        contents(&destination),
        expected(&[
            ("INBOX", &["m1"]),
            ("Work", &["m1", "m2"]),
            ("Receipts", &["m2", "m3"]),
            ("Work.Projects", &["m6"]),
            ("Sent", &["s1"]),
            ("Drafts", &["d1"]),
            ("Junk", &["sp1"]),
            // All Mail without what the label folders hold; no Starred.
            ("Archive", &["m4", "m5"]),
        ])
    );
    assert_eq!(first["messages_copied"], 11);
    // All Mail's six labelled messages are copies within the source.
    assert_eq!(first["duplicates_in_source"], 6, "{first}");

    let again = copy(&env, &source, &destination, &[]);
    assert_eq!(again["messages_copied"], 0, "{again}");
}

#[test]
fn all_mail_alone_gives_each_message_once() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = gmail_like(&env, server);
    let destination = Account::new(&env, server, "gmail-all", None);
    let first = copy(&env, &source, &destination, &["--gmail-labels", "all-mail"]);
    assert_eq!(
        contents(&destination),
        expected(&[("Archive", &["d1", "m1", "m2", "m3", "m4", "m5", "m6", "s1"])])
    );
    assert_eq!(first["messages_copied"], 8);
    let again = copy(&env, &source, &destination, &["--gmail-labels", "all-mail"]);
    assert_eq!(again["messages_copied"], 0);
}

#[test]
fn keywords_give_each_message_once_with_its_labels() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = gmail_like(&env, server);
    let destination = Account::new(&env, server, "gmail-kw", None);
    let first = copy(&env, &source, &destination, &["--gmail-labels", "keywords"]);
    assert_eq!(
        contents(&destination),
        expected(&[
            ("INBOX", &["m1"]),
            // All Mail without INBOX's message; Spam and Trash are no labels.
            ("Archive", &["d1", "m2", "m3", "m4", "m5", "m6", "s1"]),
        ])
    );
    assert_eq!(first["messages_copied"], 8, "{first}");
    let flags = |folder: &str, id: &str| -> String {
        destination
            .messages(folder)
            .into_iter()
            .find(|m| String::from_utf8_lossy(&m.raw).contains(&format!("<{id}@")))
            .map(|m| m.flags)
            .unwrap_or_else(|| panic!("{id} not in {folder}"))
    };
    assert_eq!(flags("INBOX", "m1"), "Work");
    // Starred is \Flagged, the labels are keywords.
    assert_eq!(flags("Archive", "m2"), "F Receipts Work");
    assert_eq!(flags("Archive", "m6"), "Work_Projects");
    assert_eq!(flags("Archive", "s1"), "Sent_Mail");
    assert_eq!(flags("Archive", "m4"), "-");
    let again = copy(&env, &source, &destination, &["--gmail-labels", "keywords"]);
    assert_eq!(again["messages_copied"], 0);
}

#[test]
fn a_maildir_backup_of_gmail_holds_each_folder_once() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = gmail_like(&env, server);
    let mut all = args([
        "copy",
        &source.imaps(),
        &env.endpoint("maildir", "backup"),
        "--json",
        "--src-provider",
        "gmail",
    ]);
    all.extend(source.src_args());
    let output = env.run_owned(&all);
    assert_exit(&output, 0);
    let done = summary(&json_events(&output)).clone();
    assert_eq!(done["messages_copied"], 11, "{done}");
    let backup = env.path("backup");
    for (folder, count) in [(".Archive", 2), (".Sent", 1), (".Work", 2), (".Junk", 1)] {
        let held: usize = ["cur", "new"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(backup.join(folder).join(sub))
                    .unwrap()
                    .count()
            })
            .sum();
        assert_eq!(held, count, "{folder}");
    }
    assert!(!backup.join(".[Gmail].Starred").exists());
    assert!(!backup.join(".[Gmail].All Mail").exists());
}

#[test]
fn to_microsoft_files_is_renamed_flags_are_set_again_and_connections_capped() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = Account::new(&env, server, "to-m365-src", None);
    let when = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let raw = |id: &str| {
        format!("Message-ID: <{id}@m365.example>\r\nSubject: {id}\r\n\r\nbody\r\n").into_bytes()
    };
    source.user.load(
        server,
        "INBOX",
        &[(raw("i1"), "FS", when), (raw("i2"), "S", when)],
    );
    source.user.load(server, "Files", &[(raw("f1"), "F", when)]);
    source
        .user
        .load(server, "Files.2023", &[(raw("f2"), "", when)]);
    let destination = Account::new(&env, server, "to-m365-dst", None);
    let mut all = args([
        "copy",
        &source.imaps(),
        &destination.imaps(),
        "--dst-provider",
        "microsoft",
        "--jobs",
        "8",
        "-vv",
    ]);
    all.extend(source.src_args());
    all.extend(destination.dst_args());
    let output = env.run_owned(&all);
    assert_exit(&output, 0);
    let said = crate::util::stderr(&output);
    assert!(said.contains("--jobs 8 lowered to 4"), "{said}");
    assert!(
        said.contains("setting \\Flagged again on 1 messages of `INBOX`"),
        "{said}"
    );
    assert_eq!(
        destination.folders(),
        ["Files (mail)", "Files (mail).2023", "INBOX"]
    );
    let flagged: Vec<String> = destination
        .messages("INBOX")
        .into_iter()
        .map(|m| m.flags)
        .collect();
    assert_eq!(flagged, ["FS", "S"]);
    assert_eq!(destination.messages("Files (mail)")[0].flags, "F");
}

#[test]
fn a_mapped_files_folder_is_not_renamed_for_microsoft() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = Account::new(&env, server, "ms-map-src", None);
    source
        .user
        .load(server, "Files", &[message("f1"), message("f2")]);
    let destination = Account::new(&env, server, "ms-map-dst", None);
    let mut all = args(["copy", &source.imaps(), &destination.imaps()]);
    all.extend(source.src_args());
    all.extend(destination.dst_args());
    all.extend(args([
        "--dst-provider",
        "microsoft",
        "--map",
        "Files=Attachments",
    ]));
    assert_exit(&env.run_owned(&all), 0);
    // The user's --map wins over the preset's rename.
    assert_eq!(
        contents(&destination),
        expected(&[("Attachments", &["f1", "f2"])])
    );
}

#[test]
fn the_config_file_names_an_accounts_provider_and_a_jobs_label_policy() {
    let env = TestEnv::new();
    let config = env.path("config.toml");
    std::fs::write(
        &config,
        "[accounts.old]\nurl = \"imaps://me@mail.example.org\"\nprovider = \"gmail\"\n\
         password_env = \"PW\"\n\n[jobs.move]\nsrc = \"old\"\ndst = \"maildir:/tmp/x\"\n\
         gmail_labels = \"all-mail\"\n",
    )
    .unwrap();
    let output = env.run(&["-c", config.to_str().unwrap(), "config", "check"]);
    assert_exit(&output, 0);
    let shown = crate::util::stdout(&output);
    assert!(shown.contains("--src-provider gmail"), "{shown}");
    assert!(shown.contains("--gmail-labels all-mail"), "{shown}");
}

#[test]
fn gmail_labels_is_for_a_gmail_source() {
    let env = TestEnv::new();
    let output = env.run(&[
        "copy",
        "imaps://me@mail.example.org",
        "maildir:/tmp/nowhere-gmail",
        "--gmail-labels",
        "all-mail",
    ]);
    assert_exit(&output, 2);
    // Gmail's POP3 gives INBOX alone: no labels to choose for.
    let output = env.run(&[
        "copy",
        "pop3s://me@gmail.com@pop.gmail.com",
        "maildir:/tmp/nowhere-gmail",
        "--gmail-labels",
        "keywords",
    ]);
    assert_exit(&output, 2);
    assert!(crate::util::stderr(&output).contains("Gmail's POP3 gives one folder"));
}
