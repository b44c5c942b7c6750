//! Copies to, from and between IMAP accounts: what arrives, under which
//! folder names, and what a rerun does.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::support::Dovecot;
use crate::util::model::{
    assert_maildir_layout, assert_same_messages, deduplicated, read_maildir, total, Model,
};
use crate::util::{count, events_of, summary, TestEnv};

use super::{
    args, checkpoint_json, folders_done, lf_model, list_with_special_use, log_mark, mails, server,
    sessions_since, stored, try_list_with_special_use, Account, Mail,
};

/// Sets every message file's mtime (its internal date) to the seconds its
/// name starts with, as the fixture generator did; git does not keep mtimes.
fn date_maildir_files(root: &Path) {
    let mut dirs = vec![root.to_path_buf()];
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with('.') && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    for dir in dirs {
        for sub in ["cur", "new"] {
            for entry in fs::read_dir(dir.join(sub)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let secs: u64 = name.split('.').next().unwrap().parse().unwrap();
                let file = fs::File::options().write(true).open(entry.path()).unwrap();
                file.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
                    .unwrap();
            }
        }
    }
}

#[test]
fn maildir_to_imap_to_maildir_keeps_bytes_flags_keywords_dates_and_hierarchy() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "round-trip", None);
    let root = env.copy_fixture("maildir");
    date_maildir_files(&root);
    // Two files of INBOX hold the same bytes: a deduplicating copy stores one.
    let expected = deduplicated(&lf_model(&read_maildir(&root)));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        ["Archive/2023", "Drafts", "INBOX", "Sent"],
        "the fixture's folders"
    );

    let mut upload = args([
        "--json",
        "copy",
        &env.endpoint("maildir", "maildir"),
        &account.imaps(),
    ]);
    upload.extend(account.dst_args());
    let events = env.run_json_owned(&upload, 0);
    assert_eq!(
        count(summary(&events), "messages_copied"),
        total(&expected) as u64
    );
    assert_eq!(
        account.folders(),
        ["Archive.2023", "Drafts", "INBOX", "Sent"],
        "the hierarchy on the server"
    );
    for (folder, messages) in &expected {
        assert_eq!(
            account.count(&folder.replace('/', ".")),
            messages.len() as u64,
            "messages in server folder {folder}"
        );
    }
    // Bytes, flags with keywords, and INTERNALDATE = the maildir mtime.
    assert_same_messages(
        &expected,
        &account.model(),
        "the server after maildir → IMAP",
    );

    let mut download = args([
        "--json",
        "copy",
        &account.imaps(),
        &env.endpoint("maildir", "out"),
    ]);
    download.extend(account.src_args());
    let events = env.run_json_owned(&download, 0);
    assert_eq!(
        count(summary(&events), "messages_copied"),
        total(&expected) as u64
    );
    let out = env.path("out");
    assert_same_messages(
        &expected,
        &lf_model(&read_maildir(&out)),
        "maildir → IMAP → maildir",
    );
    assert_maildir_layout(&out);
}

/// The folders of the IMAP → IMAP test, Dovecot's names and the messages.
fn hierarchy_source() -> Vec<(&'static str, Vec<Mail>)> {
    vec![
        ("INBOX", mails("inbox", 6, 700)),
        ("Archive.2023", mails("archive", 3, 1500)),
        ("Archiv.Grüße", mails("gruesse", 3, 900)),
        ("Sent", mails("sent", 3, 600)),
    ]
}

fn model_of(folders: &[(&str, Vec<Mail>)]) -> Model {
    folders
        .iter()
        .map(|(name, mails)| (name.replace('.', "/"), stored(mails)))
        .collect()
}

#[test]
fn imap_to_imap_keeps_hierarchy_non_ascii_names_and_the_sent_folder() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "tree-src", None);
    let folders = hierarchy_source();
    for (folder, mails) in &folders {
        source.load(folder, mails);
    }
    let expected = model_of(&folders);
    assert_same_messages(&expected, &source.model(), "the loaded source");
    let listed = list_with_special_use(server, &source);
    assert!(
        listed.get("Sent").is_some_and(|a| a.contains("\\Sent")),
        "the source's Sent is marked \\Sent: {listed:?}"
    );

    for no_map in [false, true] {
        let destination = Account::new(&env, server, "tree-dst", None);
        let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
        copy.extend(source.src_args());
        copy.extend(destination.dst_args());
        if no_map {
            copy.push("--no-special-use-map".into());
        }
        let what = if no_map {
            "with --no-special-use-map"
        } else {
            "mapped"
        };
        let events = env.run_json_owned(&copy, 0);
        assert_eq!(count(summary(&events), "messages_copied"), 15, "{what}");
        assert_eq!(
            destination.folders(),
            ["Archiv.Grüße", "Archive.2023", "INBOX", "Sent"],
            "{what}: Dovecot's names at the destination"
        );
        assert_same_messages(&expected, &destination.model(), what);
        let done = folders_done(&events);
        assert_eq!(
            done.keys().collect::<Vec<_>>(),
            ["Archiv/Grüße", "Archive/2023", "INBOX", "Sent"],
            "{what}: mailtug's names"
        );
        for (folder, event) in &done {
            assert_eq!(event["destination_folder"], folder.as_str(), "{what}");
        }
        let listed = list_with_special_use(server, &destination);
        assert!(
            listed.get("Sent").is_some_and(|a| a.contains("\\Sent")),
            "{what}: the messages are in the destination's \\Sent folder: {listed:?}"
        );

        // The non-ASCII name is stable from run to run: nothing is new.
        let events = env.run_json_owned(&copy, 0);
        let rerun = summary(&events);
        assert_eq!(count(rerun, "messages_copied"), 0, "{what}: {rerun}");
        assert_eq!(count(rerun, "folders_unchanged"), 4, "{what}: {rerun}");
    }
}

/// Adds `Sent Items` as a second \Sent folder name to a private server's
/// configuration (as accounts made by Outlook have it), reloads it, and
/// waits until `probe`, which has a `Sent Items` folder, sees it marked.
/// The shared template cannot name it, and is not ours to change. Reload
/// only once the users are set up: `doveadm` fails while auth restarts.
fn mark_sent_items_as_sent(server: &Dovecot, probe: &Account<'_>) {
    let mut conf = fs::read_to_string(server.conf_path()).unwrap();
    conf.push_str(
        "\n# Added by the special-use test.\nnamespace inbox {\n  mailbox \"Sent Items\" {\n    special_use = \\Sent\n    auto = no\n  }\n}\n",
    );
    fs::write(server.conf_path(), conf).unwrap();
    server.doveadm(&["reload"]);
    // The reload takes effect for sessions that start once it is done:
    // wait until one shows `Sent Items` as \Sent.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match try_list_with_special_use(server, probe) {
            Ok(listed)
                if listed
                    .get("Sent Items")
                    .is_some_and(|a| a.contains("\\Sent")) =>
            {
                return;
            }
            outcome => assert!(
                Instant::now() < deadline,
                "the reloaded server never marked `Sent Items`: {outcome:?}\n{}",
                server.log_tail(20)
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_sent_folder_lands_in_the_destinations_own_sent_folder_whatever_its_name() {
    let env = TestEnv::new();
    let server = Dovecot::start();
    let source = Account::new(&env, &server, "special-src", None);
    let sent = mails("sent", 3, 600);
    let inbox = mails("inbox", 2, 600);
    source.load("Sent", &sent);
    source.load("INBOX", &inbox);
    let destination = Account::new(&env, &server, "special-dst", None);
    let unmapped = Account::new(&env, &server, "special-nomap", None);
    for account in [&destination, &unmapped] {
        server.doveadm(&["mailbox", "create", "-u", account.name(), "Sent Items"]);
    }

    mark_sent_items_as_sent(&server, &destination);

    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 5);
    assert_eq!(
        folders_done(&events)["Sent"]["destination_folder"],
        "Sent Items"
    );
    assert_eq!(destination.folders(), ["INBOX", "Sent Items"]);
    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), stored(&inbox)),
            ("Sent Items".to_string(), stored(&sent)),
        ]),
        &destination.model(),
        "Sent mapped onto the destination's \\Sent folder",
    );

    let mut copy = args(["--json", "copy", &source.imaps(), &unmapped.imaps()]);
    copy.extend(source.src_args());
    copy.extend(unmapped.dst_args());
    copy.push("--no-special-use-map".into());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 5);
    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), stored(&inbox)),
            ("Sent".to_string(), stored(&sent)),
            ("Sent Items".to_string(), Vec::new()),
        ]),
        &unmapped.model(),
        "--no-special-use-map keeps the source's name",
    );
}

#[test]
fn a_rerun_downloads_nothing_and_a_later_one_only_the_new_messages() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "rerun-src", None);
    let inbox = mails("inbox", 5, 800);
    let work = mails("work", 4, 800);
    source.load("INBOX", &inbox);
    source.load("Work", &work);
    let mut copy = args([
        "--json",
        "copy",
        &source.imaps(),
        &env.endpoint("maildir", "out"),
    ]);
    copy.extend(source.src_args());

    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 9);
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(
        sessions.iter().map(|s| s.body_count).sum::<u64>(),
        9,
        "the first run downloads each body once: {sessions:#?}"
    );

    // The checkpoint records each folder's UIDNEXT after a clean pass.
    let checkpoint = checkpoint_json(&env);
    for folder in ["INBOX", "Work"] {
        let done = &checkpoint["folders"][folder]["done"];
        assert_eq!(done["kind"], "uids", "{checkpoint:#}");
        assert_eq!(
            done["uid_next"].as_u64(),
            Some(source.status(folder, "uidnext")),
            "folder {folder}: {checkpoint:#}"
        );
    }

    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let rerun = summary(&events);
    assert_eq!(count(rerun, "messages_copied"), 0, "{rerun}");
    assert_eq!(count(rerun, "messages_duplicate"), 0, "{rerun}");
    assert_eq!(count(rerun, "folders"), 2, "{rerun}");
    assert_eq!(count(rerun, "folders_unchanged"), 2, "{rerun}");
    for (folder, event) in folders_done(&events) {
        assert_eq!(event["unchanged"], true, "folder {folder}: {event}");
    }
    assert!(events_of(&events, "message").is_empty());
    for session in sessions_since(server, mark, source.name()) {
        assert_eq!(
            (session.hdr_count, session.body_count),
            (0, 0),
            "an unchanged source is not fetched from: {}",
            session.line
        );
    }

    let new = [Mail::new("inbox", 5, 800), Mail::new("inbox", 6, 800)];
    source.load("INBOX", &new);
    let mark = log_mark(server);
    let events = env.run_json_owned(&copy, 0);
    let third = summary(&events);
    assert_eq!(count(third, "messages_copied"), 2, "{third}");
    assert_eq!(count(third, "folders_unchanged"), 1, "{third}");
    let done = folders_done(&events);
    assert_eq!(done["INBOX"]["messages_copied"], 2);
    assert_eq!(done["Work"]["unchanged"], true);
    let sessions = sessions_since(server, mark, source.name());
    assert_eq!(
        sessions.iter().map(|s| s.body_count).sum::<u64>(),
        2,
        "only the new bodies are downloaded: {sessions:#?}"
    );

    let mut all_inbox = inbox.clone();
    all_inbox.extend(new);
    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), stored(&all_inbox)),
            ("Work".to_string(), stored(&work)),
        ]),
        &read_maildir(&env.path("out")),
        "the destination after three runs",
    );
}

/// The source folders in the order their copies started.
fn folders_started(events: &[serde_json::Value]) -> Vec<String> {
    events_of(events, "folder_start")
        .into_iter()
        .map(|event| event["folder"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn one_worker_or_eight_store_the_same_messages() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "jobs-src", None);
    let folders: Vec<(&str, Vec<Mail>)> = vec![
        ("INBOX", mails("inbox", 25, 600)),
        ("Sent", mails("sent", 20, 900)),
        ("Drafts", mails("drafts", 5, 400)),
        ("Lists", mails("lists", 30, 300)),
        ("Projects.Alpha", mails("alpha", 12, 2000)),
        ("Projects.Beta", mails("beta", 12, 2000)),
        ("Projects.Beta.Old", mails("old", 7, 5000)),
    ];
    for (folder, mails) in &folders {
        source.load(folder, mails);
    }
    let expected = model_of(&folders);
    let messages = total(&expected) as u64;

    for jobs in ["1", "8"] {
        let out = format!("out-{jobs}");
        let mut copy = args(["--json", "copy", "--jobs", jobs, &source.imaps()]);
        copy.push(env.endpoint("maildir", &out));
        copy.extend(source.src_args());
        let events = env.run_json_owned(&copy, 0);
        let done = summary(&events);
        assert_eq!(
            count(done, "messages_copied"),
            messages,
            "--jobs {jobs}: {done}"
        );
        assert_eq!(count(done, "folders"), 7, "--jobs {jobs}: {done}");
        if jobs == "1" {
            // More folders than workers: the largest start first, ties in
            // the listed order.
            assert_eq!(
                folders_started(&events),
                [
                    "Lists",
                    "INBOX",
                    "Sent",
                    "Projects/Alpha",
                    "Projects/Beta",
                    "Projects/Beta/Old",
                    "Drafts"
                ]
            );
        }
        assert_same_messages(
            &expected,
            &read_maildir(&env.path(&out)),
            &format!("--jobs {jobs} into a maildir"),
        );

        let destination = Account::new(&env, server, "jobs-dst", None);
        let mut copy = args(["--json", "copy", "--jobs", jobs, &source.imaps()]);
        copy.push(destination.imaps());
        copy.extend(source.src_args());
        copy.extend(destination.dst_args());
        let events = env.run_json_owned(&copy, 0);
        assert_eq!(count(summary(&events), "messages_copied"), messages);
        assert_same_messages(
            &expected,
            &destination.model(),
            &format!("--jobs {jobs} into an IMAP account"),
        );
    }
}

#[test]
fn since_before_and_max_size_select_by_internal_date_and_size() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "filters-src", None);
    // Noon UTC, so the day is the same in any server time zone within ±11 h.
    let noon = |days_after_2024: i64| (1_704_110_400 + days_after_2024 * 86_400) as u64;
    let small = 1_000;
    let large = 30_000;
    let series = [
        (noon(-1), small),   // 0: 2023-12-31
        (noon(0), small),    // 1: 2024-01-01
        (noon(14), small),   // 2: 2024-01-15
        (noon(30), small),   // 3: 2024-01-31
        (noon(31), small),   // 4: 2024-02-01
        (noon(9), large),    // 5: 2024-01-10
        (noon(-214), large), // 6: 2023-06-01
    ];
    let all: Vec<Mail> = series
        .iter()
        .enumerate()
        .map(|(i, &(date, size))| Mail::dated("filter", i, size, date))
        .collect();
    source.load("INBOX", &all);

    let cases: [(&[&str], &[usize]); 5] = [
        (&["--since", "2024-01-01"], &[1, 2, 3, 4, 5]),
        (&["--before", "2024-02-01"], &[0, 1, 2, 3, 5, 6]),
        (
            &["--since", "2024-01-01", "--before", "2024-02-01"],
            &[1, 2, 3, 5],
        ),
        (&["--max-size", "10K"], &[0, 1, 2, 3, 4]),
        (
            &[
                "--since",
                "2024-01-01",
                "--before",
                "2024-02-01",
                "--max-size",
                "10K",
            ],
            &[1, 2, 3],
        ),
    ];
    for (n, (filter, wanted)) in cases.iter().enumerate() {
        let out = format!("out-{n}");
        let mut copy = args(["--json", "copy", &source.imaps()]);
        copy.push(env.endpoint("maildir", &out));
        copy.extend(source.src_args());
        copy.extend(filter.iter().map(|s| s.to_string()));
        let events = env.run_json_owned(&copy, 0);
        assert_eq!(
            count(summary(&events), "messages_copied"),
            wanted.len() as u64,
            "{filter:?}"
        );
        let expected: Vec<Mail> = wanted.iter().map(|&i| all[i].clone()).collect();
        assert_same_messages(
            &Model::from([("INBOX".to_string(), stored(&expected))]),
            &read_maildir(&env.path(&out)),
            &format!("{filter:?}"),
        );
    }
}

#[test]
fn folder_names_with_imap_special_characters_survive_imap_to_imap() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "odd-names-src", None);
    // `&` is modified UTF-7's escape; quotes and backslashes need quoting;
    // `%` is a LIST wildcard; the space needs a quoted string.
    let names = [
        "R&D",
        "Sp ace",
        "Quo\"te",
        "Back\\slash",
        "Per%cent",
        "Ström.Ärger",
    ];
    let folders: Vec<(&str, Vec<Mail>)> = names
        .iter()
        .enumerate()
        .map(|(n, name)| (*name, mails(&format!("odd{n}"), 2, 500)))
        .collect();
    for (folder, mails) in &folders {
        source.load(folder, mails);
    }
    let destination = Account::new(&env, server, "odd-names-dst", None);
    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 12);
    let mut expected = model_of(&folders);
    expected.insert("INBOX".into(), Vec::new());
    assert_same_messages(&expected, &destination.model(), "odd folder names");
    assert_eq!(destination.folders(), source.folders());

    let events = env.run_json_owned(&copy, 0);
    assert_eq!(
        count(summary(&events), "folders_unchanged"),
        7,
        "the names are stable in the checkpoint"
    );
}

#[test]
fn empty_folders_are_created_at_the_destination() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "empty-src", None);
    source.load("INBOX", &mails("inbox", 2, 500));
    for folder in ["Empty", "Parent.EmptyChild"] {
        server.doveadm(&["mailbox", "create", "-u", source.name(), folder]);
    }

    let mut copy = args(["copy", &source.imaps(), &env.endpoint("maildir", "out")]);
    copy.extend(source.src_args());
    crate::util::assert_exit(&env.run_owned(&copy), 0);
    let copied = read_maildir(&env.path("out"));
    assert_eq!(
        copied.keys().collect::<Vec<_>>(),
        ["Empty", "INBOX", "Parent/EmptyChild"],
        "the folders of the maildir copy"
    );

    let destination = Account::new(&env, server, "empty-dst", None);
    let mut copy = args(["copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    crate::util::assert_exit(&env.run_owned(&copy), 0);
    assert_eq!(destination.folders(), source.folders());
}

#[test]
fn a_folder_deleted_on_the_destination_server_is_copied_again() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "gone-dst", None);
    let root = env.copy_fixture("maildir");
    let expected = deduplicated(&lf_model(&read_maildir(&root)));
    let mut upload = args([
        "--json",
        "copy",
        &env.endpoint("maildir", "maildir"),
        &account.imaps(),
    ]);
    upload.extend(account.dst_args());
    env.run_json_owned(&upload, 0);
    assert_eq!(account.count("Drafts"), expected["Drafts"].len() as u64);

    // The checkpoint says Drafts is done; the server no longer has it.
    server.doveadm(&["mailbox", "delete", "-u", account.name(), "Drafts"]);
    let events = env.run_json_owned(&upload, 0);
    let done = summary(&events);
    assert_eq!(
        count(done, "messages_copied"),
        expected["Drafts"].len() as u64,
        "{done}"
    );
    assert_eq!(count(done, "folders_unchanged"), 3, "{done}");
    assert_eq!(account.count("Drafts"), expected["Drafts"].len() as u64);
}

#[test]
fn the_sizes_of_many_folders_are_asked_in_one_pass_and_the_largest_starts_first() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "sizes-src", None);
    source.load("INBOX", &mails("inbox", 1, 500));
    source.load("Zebra", &mails("zebra", 3, 500));
    // More folders than one window of pipelined STATUS commands.
    let mut create = vec!["mailbox", "create", "-u", source.name()];
    let empty: Vec<String> = (0..70).map(|n| format!("Empty{n:02}")).collect();
    create.extend(empty.iter().map(String::as_str));
    server.doveadm(&create);

    let mut copy = args(["-vv", "copy", "--jobs", "2", &source.imaps()]);
    copy.push(env.endpoint("maildir", "out"));
    copy.extend(source.src_args());
    let output = env.run_owned(&copy);
    crate::util::assert_exit(&output, 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let order = stderr
        .lines()
        .find_map(|line| line.split_once("folders in the order they start: "))
        .map(|(_, order)| order.to_string())
        .unwrap_or_else(|| panic!("no folder order in the debug output:\n{stderr}"));
    assert!(
        order.starts_with("`Zebra` (3), `INBOX` (1), `Empty00` (0), `Empty01` (0)"),
        "{order}"
    );
    assert!(!order.contains("(?)"), "a folder without a size: {order}");
    assert_eq!(order.matches("` (").count(), 72, "{order}");
    assert_eq!(read_maildir(&env.path("out")).len(), 72);
}

#[test]
fn a_folder_in_the_url_is_the_only_source_folder_or_the_destinations_parent_folder() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "url-folder-src", None);
    let inbox = mails("inbox", 3, 500);
    let work = mails("work", 2, 500);
    let shared = Mail::new("shared", 0, 500);
    let mut archive = mails("archive", 2, 500);
    archive.push(shared.clone());
    let mut work_and_shared = work.clone();
    work_and_shared.push(shared.clone());
    source.load("INBOX", &inbox);
    source.load("Work", &work_and_shared);
    source.load("Archive.2024", &archive);

    // Source URL with a folder: only that folder.
    let mut copy = args(["--json", "copy"]);
    copy.push(format!("{}/Archive/2024", source.imaps()));
    copy.push(env.endpoint("maildir", "only"));
    copy.extend(source.src_args());
    let events = env.run_json_owned(&copy, 0);
    assert_eq!(count(summary(&events), "folders"), 1);
    let only = read_maildir(&env.path("only"));
    assert_eq!(only.get("Archive/2024"), Some(&stored(&archive)));
    assert_eq!(
        crate::util::model::total(&only),
        archive.len(),
        "nothing else: {:?}",
        only.keys().collect::<Vec<_>>()
    );

    // Destination URL with a folder, source of several: their parent.
    let destination = Account::new(&env, server, "url-folder-dst", None);
    let mut copy = args(["--json", "copy", &source.imaps()]);
    copy.push(format!("{}/Restored", destination.imaps()));
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 0);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 9, "{done}");
    let folders = destination.folders();
    for expected in ["Restored/INBOX", "Restored/Work", "Restored/Archive/2024"] {
        let found = folders.iter().any(|f| f.replace('.', "/") == expected);
        assert!(found, "{expected} in {folders:?}");
    }
    assert_eq!(destination.count("INBOX"), 0);
    let sep = if folders.iter().any(|f| f.contains('.')) {
        "."
    } else {
        "/"
    };
    assert_eq!(
        super::message_ids(&destination.messages(&format!("Restored{sep}Work"))),
        super::message_ids(&stored(&work_and_shared))
    );

    // A source of one folder (a URL naming it) goes into the folder itself.
    let single = Account::new(&env, server, "url-folder-one", None);
    let mut copy = args(["--json", "copy"]);
    copy.push(format!("{}/Work", source.imaps()));
    copy.push(format!("{}/Imported", single.imaps()));
    copy.extend(source.src_args());
    copy.extend(single.dst_args());
    env.run_json_owned(&copy, 0);
    assert_eq!(single.folders(), ["INBOX", "Imported"]);
    assert_eq!(single.count("Imported"), 3);

    // --merge: every folder lands in it, deduplicated.
    let merged = Account::new(&env, server, "url-folder-merged", None);
    let mut copy = args(["--json", "copy", &source.imaps()]);
    copy.push(format!("{}/Collected", merged.imaps()));
    copy.push("--merge".into());
    copy.extend(source.src_args());
    copy.extend(merged.dst_args());
    let events = env.run_json_owned(&copy, 0);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 8, "{done}");
    assert_eq!(
        count(done, "messages_duplicate"),
        1,
        "the shared message: {done}"
    );
    assert_eq!(merged.folders(), ["Collected", "INBOX"]);
    let mut everything = inbox.clone();
    everything.extend(work);
    everything.extend(archive);
    let mut ids = super::message_ids(&stored(&everything));
    ids.dedup();
    assert_eq!(super::message_ids(&merged.messages("Collected")), ids);

    // verify follows the same rule.
    let mut check = args(["verify", &source.imaps()]);
    check.push(format!("{}/Restored", destination.imaps()));
    check.extend(source.src_args());
    check.extend(destination.dst_args());
    crate::util::assert_exit(&env.run_owned(&check), 0);
}

#[test]
fn dry_run_into_an_imap_account_creates_and_stores_nothing() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "dry-src", None);
    source.load("INBOX", &mails("inbox", 3, 500));
    source.load("Archive.2023", &mails("archive", 2, 500));
    let destination = Account::new(&env, server, "dry-dst", None);
    let mut copy = args(["--json", "copy", "--dry-run", &source.imaps()]);
    copy.push(destination.imaps());
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let events = env.run_json_owned(&copy, 0);
    let done = summary(&events);
    assert_eq!(done["dry_run"], true);
    assert_eq!(
        count(done, "messages_copied"),
        5,
        "what it would copy: {done}"
    );
    assert_eq!(destination.folders(), ["INBOX"], "no folder was created");
    assert_eq!(destination.count("INBOX"), 0, "nothing was stored");
    assert!(env.checkpoints().is_empty(), "no checkpoint was written");
}

#[test]
fn messages_over_a_megabyte_among_small_ones_travel_byte_exact_both_ways() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "large", None);
    // Small messages go in MULTIAPPEND groups, those over 1 MiB alone; the
    // answers must still be matched to the right messages.
    let sizes = [
        300, 1_600_000, 700, 900, 3_200_000, 200, 200, 1_100_000, 500, 400,
    ];
    let mut local: Vec<crate::util::corpus::Synthetic> = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let mail = Mail::dated("large", i, *size, 1_709_294_400 + i as u64 * 60);
        let flags = mailtug::message::Flags {
            seen: i % 2 == 0,
            ..Default::default()
        };
        local.push(crate::util::corpus::Synthetic {
            raw: mail.raw,
            flags,
            date: mail.date as i64,
        });
    }
    crate::util::corpus::write_maildir(&env.path("src"), &local);
    let expected = read_maildir(&env.path("src"));

    let mut upload = args([
        "--json",
        "copy",
        &env.endpoint("maildir", "src"),
        &account.imaps(),
    ]);
    upload.extend(account.dst_args());
    let events = env.run_json_owned(&upload, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 10);
    assert_same_messages(&expected, &account.model(), "the server");

    let mut download = args([
        "--json",
        "copy",
        &account.imaps(),
        &env.endpoint("maildir", "out"),
    ]);
    download.extend(account.src_args());
    let events = env.run_json_owned(&download, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 10);
    assert_same_messages(&expected, &read_maildir(&env.path("out")), "the way back");
}

#[test]
fn sessions_end_with_logout() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "logout-src", None);
    let destination = Account::new(&env, server, "logout-dst", None);
    source.load("INBOX", &mails("inbox", 3, 500));
    source.load("Work", &mails("work", 3, 500));
    let mut copy = args(["copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    let mark = log_mark(server);
    crate::util::assert_exit(&env.run_owned(&copy), 0);
    for account in [&source, &destination] {
        for session in sessions_since(server, mark, account.name()) {
            assert!(
                session.line.contains("Logged out"),
                "the session ended without LOGOUT: {}",
                session.line
            );
        }
    }
}

#[test]
fn subfolders_follow_a_special_use_folder_to_its_new_name() {
    let env = TestEnv::new();
    let server = Dovecot::start();
    let source = Account::new(&env, &server, "special-children-src", None);
    let sent = mails("sent", 2, 600);
    let sent_2023 = mails("sent2023", 2, 600);
    source.load("Sent", &sent);
    source.load("Sent.2023", &sent_2023);
    let destination = Account::new(&env, &server, "special-children-dst", None);
    server.doveadm(&["mailbox", "create", "-u", destination.name(), "Sent Items"]);
    mark_sent_items_as_sent(&server, &destination);

    let mut copy = args(["--json", "copy", &source.imaps(), &destination.imaps()]);
    copy.extend(source.src_args());
    copy.extend(destination.dst_args());
    env.run_json_owned(&copy, 0);
    // As `--map Sent="Sent Items"` would do it.
    assert_same_messages(
        &Model::from([
            ("INBOX".to_string(), Vec::new()),
            ("Sent Items".to_string(), stored(&sent)),
            ("Sent Items/2023".to_string(), stored(&sent_2023)),
        ]),
        &destination.model(),
        "Sent and its subfolder",
    );
}

#[test]
fn max_size_selects_the_same_messages_from_imap_and_from_a_maildir() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "max-size", None);
    // LF messages of 1,000 bytes: 1,000 on disk, more in CRLF over IMAP.
    let mails: Vec<Mail> = (0..3)
        .map(|i| {
            let mut mail = Mail::dated("size", i, 990, 1_709_294_400);
            mail.raw.truncate(999);
            mail.raw.push(b'\n');
            mail
        })
        .collect();
    account.load("INBOX", &mails);
    let local: Vec<crate::util::corpus::Synthetic> = mails
        .iter()
        .map(|m| crate::util::corpus::Synthetic {
            raw: m.raw.clone(),
            flags: Default::default(),
            date: m.date as i64,
        })
        .collect();
    crate::util::corpus::write_maildir(&env.path("local"), &local);

    let mut from_imap = args(["--json", "copy", "--max-size", "1000", &account.imaps()]);
    from_imap.push(env.endpoint("maildir", "from-imap"));
    from_imap.extend(account.src_args());
    let from_local = args([
        "--json",
        "copy",
        "--max-size",
        "1000",
        &env.endpoint("maildir", "local"),
        &env.endpoint("maildir", "from-local"),
    ]);
    let imap_events = env.run_json_owned(&from_imap, 0);
    let local_events = env.run_json_owned(&from_local, 0);
    assert_eq!(
        count(summary(&imap_events), "messages_copied"),
        count(summary(&local_events), "messages_copied"),
        "the same three 1,000-byte messages, from IMAP and from a maildir"
    );
}

/// See: issue 11. A folder in a source URL that the server does not have
/// is an error (exit 2) naming the closest folder, not a quiet run that
/// copies nothing; `ls` of it too.
#[test]
fn a_source_url_folder_the_server_lacks_is_an_error_naming_the_closest() {
    let env = TestEnv::new();
    let server = server();
    let source = Account::new(&env, server, "url-folder-missing", None);
    source.load("Projects", &mails("projects", 1, 300));
    for command in ["copy", "ls"] {
        let mut argv = args([command, &format!("{}/projects", source.imaps())]);
        if command == "copy" {
            argv.push(env.endpoint("maildir", "out"));
        }
        argv.extend(source.src_args());
        let output = env.run_owned(&argv);
        crate::util::assert_exit(&output, 2);
        crate::util::assert_error_line(
            &output,
            &["`projects` does not exist", "did you mean `Projects`?"],
        );
    }
    assert!(!env.path("out").exists());
}
