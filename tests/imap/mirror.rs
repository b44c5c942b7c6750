//! `mailtug mirror` with a real Dovecot on either side: flags added and
//! removed at the source arrive, expunged messages go, and the two sides
//! end equal.

use std::fs;

use crate::support::faultproxy::{Fault, FaultProxy, Plan, Rule};
use crate::util::model::{assert_same_messages, read_maildir, Model};
use crate::util::{count, events_of, stderr, summary, TestEnv};

use super::{args, lf_model, mails, server, Account};

/// The INBOX of a model.
fn inbox(model: &Model) -> Model {
    model
        .iter()
        .filter(|(folder, _)| folder.as_str() == "INBOX")
        .map(|(folder, messages)| (folder.clone(), messages.clone()))
        .collect()
}

#[test]
fn imap_to_maildir_follows_flag_changes_and_expunges() {
    // Dovecot offers QRESYNC: what changed comes with the EXAMINE itself.
    follow_flag_changes_and_expunges("mirror-pull", None);
}

#[test]
fn without_qresync_only_what_changed_since_is_fetched() {
    // The same server with QRESYNC hidden: CONDSTORE's CHANGEDSINCE.
    let proxy = FaultProxy::start(
        server().imap_port(),
        Plan::clean().with(Rule::to_client(Fault::Rewrite {
            from: b"QRESYNC".to_vec(),
            to: b"XRESYNC".to_vec(),
        })),
    );
    follow_flag_changes_and_expunges("mirror-condstore", Some(&proxy));
}

/// Mirrors an INBOX to maildir, changes flags and expunges at the server,
/// and mirrors again; through `proxy` (plaintext) when given.
fn follow_flag_changes_and_expunges(hint: &str, proxy: Option<&FaultProxy>) {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, hint, None);
    account.load("INBOX", &mails("pull", 20, 300));
    let url = match proxy {
        Some(proxy) => account.url("imap", proxy.port()),
        None => account.imaps(),
    };
    let mut mirror = args(["--json", "mirror", &url, &env.endpoint("maildir", "backup")]);
    mirror.extend(account.src_args());
    if proxy.is_some() {
        mirror.extend(args(["--tls", "none"]));
    }
    let events = env.run_json_owned(&mirror, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 20);

    let uids = account.uids("INBOX");
    let name = account.name().to_string();
    let doveadm = |args: &[&str]| {
        let mut all = vec![args[0], args[1], "-u", &name];
        all.extend_from_slice(&args[2..]);
        server.doveadm(&all);
    };
    let (first, second, third) = (
        uids[0].to_string(),
        uids[1].to_string(),
        uids[2].to_string(),
    );
    doveadm(&[
        "flags",
        "add",
        "\\Flagged $Later",
        "mailbox",
        "INBOX",
        "uid",
        &first,
    ]);
    doveadm(&[
        "flags", "remove", "\\Seen", "mailbox", "INBOX", "uid", &second,
    ]);
    doveadm(&["expunge", "mailbox", "INBOX", "uid", &third]);

    let mut with_delete = mirror.clone();
    with_delete.push("--delete".into());
    let mut verbose = with_delete.clone();
    verbose.push("-vv".into());
    let output = env.run(&verbose.iter().map(String::as_str).collect::<Vec<_>>());
    let events = crate::util::json_events(&output);
    let done = summary(&events);
    assert_eq!(count(done, "messages_deleted"), 1);
    assert!(count(done, "flags_updated") >= 1, "{done}");
    let expected = match proxy {
        None => format!("changed, vanished: {third}"),
        Some(_) => "changed since modseq".to_string(),
    };
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
    assert_same_messages(
        &inbox(&lf_model(&account.model())),
        &inbox(&read_maildir(&env.path("backup"))),
        "the backup follows the server",
    );

    // Nothing changed since: nothing to do, and nothing is even read
    // (HIGHESTMODSEQ is as the last complete mirror left it).
    let events = env.run_json_owned(&with_delete, 0);
    assert_eq!(count(summary(&events), "flags_updated"), 0);
    assert_eq!(count(summary(&events), "messages_deleted"), 0);
    let output = env.run(&verbose.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr(&output).contains("unchanged since its last complete mirror"),
        "{}",
        stderr(&output)
    );

    // A flag changed since is found again, reading only what changed
    // since the last complete mirror.
    doveadm(&[
        "flags",
        "add",
        "\\Answered",
        "mailbox",
        "INBOX",
        "uid",
        &first,
    ]);
    let output = env.run(&verbose.iter().map(String::as_str).collect::<Vec<_>>());
    let events = crate::util::json_events(&output);
    assert_eq!(count(summary(&events), "flags_updated"), 1);
    let expected = match proxy {
        None => ": 1 changed, vanished: none",
        Some(_) => "1 of 19 messages changed since modseq",
    };
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    assert_same_messages(
        &inbox(&lf_model(&account.model())),
        &inbox(&read_maildir(&env.path("backup"))),
        "the backup follows the server",
    );
}

#[test]
fn maildir_to_imap_sets_flags_with_store_and_removes_exactly_its_uids() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "mirror-push", None);
    let src = env.path("src");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(src.join(sub)).unwrap();
    }
    for i in 1..=20 {
        fs::write(
            src.join(format!("cur/{}.M1P1.host:2,S", 1_700_000_000 + i)),
            format!("Message-ID: <{i}@push.example>\nSubject: {i}\n\nbody {i}\n"),
        )
        .unwrap();
    }
    let mut mirror = args([
        "--json",
        "mirror",
        &env.endpoint("maildir", "src"),
        &account.imaps(),
    ]);
    mirror.extend(account.dst_args());
    env.run_json_owned(&mirror, 0);
    assert_eq!(account.count("INBOX"), 20);

    // Two read messages flagged (one STORE for both), one unread, one gone.
    let file =
        |i: usize, info: &str| src.join(format!("cur/{}.M1P1.host:2,{info}", 1_700_000_000 + i));
    fs::rename(file(1, "S"), file(1, "FS")).unwrap();
    fs::rename(file(2, "S"), file(2, "FS")).unwrap();
    fs::rename(file(3, "S"), file(3, "")).unwrap();
    fs::remove_file(file(4, "S")).unwrap();
    // A message another client put there is never touched.
    account.load("INBOX", &mails("other", 1, 100));

    let mut with_delete = mirror.clone();
    with_delete.push("--delete".into());
    let events = env.run_json_owned(&with_delete, 0);
    assert_eq!(count(summary(&events), "flags_updated"), 3);
    assert_eq!(count(summary(&events), "messages_deleted"), 1);
    let deleted = events_of(&events, "deleted");
    assert!(deleted[0]["destination_key"].is_u64(), "{}", deleted[0]);
    let held = account.messages("INBOX");
    assert_eq!(held.len(), 20, "19 of ours and the other client's");
    let flags_of = |subject: &str| {
        held.iter()
            .find(|m| String::from_utf8_lossy(&m.raw).contains(&format!("Subject: {subject}\n")))
            .map(|m| m.flags.clone())
    };
    assert_eq!(flags_of("1").as_deref(), Some("FS"));
    assert_eq!(flags_of("2").as_deref(), Some("FS"));
    assert_eq!(flags_of("3").as_deref(), Some("-"), "no flags");
    assert_eq!(flags_of("4"), None);

    // --delete=trash moves into the Trash folder instead.
    fs::remove_file(file(5, "S")).unwrap();
    let mut to_trash = mirror.clone();
    to_trash.push("--delete=trash".into());
    env.run_json_owned(&to_trash, 0);
    assert_eq!(account.count("INBOX"), 19);
    assert_eq!(account.count("Trash"), 1);
}

#[test]
fn a_new_uidvalidity_rematches_by_fingerprint_before_anything_is_deleted() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "mirror-uidvalidity", None);
    account.load("INBOX", &mails("reset", 12, 200));
    let mut mirror = args([
        "--json",
        "mirror",
        "--delete",
        &account.imaps(),
        &env.endpoint("maildir", "backup"),
    ]);
    mirror.extend(account.src_args());
    env.run_json_owned(&mirror, 0);

    // The server renumbers the folder (a restore, a migration), and one
    // message is gone from it.
    let name = account.name().to_string();
    let before = account.status("INBOX", "uidvalidity");
    server.doveadm(&[
        "mailbox",
        "update",
        "-u",
        &name,
        "--uid-validity",
        &(before + 1000).to_string(),
        "INBOX",
    ]);
    let uids = account.uids("INBOX");
    server.doveadm(&[
        "expunge",
        "-u",
        &name,
        "mailbox",
        "INBOX",
        "uid",
        &uids[4].to_string(),
    ]);

    let output = env.run(&mirror.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr(&output).contains("UIDVALIDITY"),
        "{}",
        stderr(&output)
    );
    let events = crate::util::json_events(&output);
    let done = summary(&events);
    assert_eq!(
        count(done, "messages_copied"),
        0,
        "nothing downloaded again"
    );
    assert_eq!(count(done, "messages_deleted"), 1, "{done}");
    assert_same_messages(
        &inbox(&lf_model(&account.model())),
        &inbox(&read_maildir(&env.path("backup"))),
        "the backup follows the renumbered folder",
    );
}

/// Kill -9 while a mirror changes flags and removes messages on the
/// server, then rerun: the server ends equal to the source, and nothing
/// still at the source was removed.
#[test]
fn kill_9_during_stores_and_expunges_then_a_rerun_ends_equal_to_the_source() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "mirror-kill", None);
    let src = env.path("src");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(src.join(sub)).unwrap();
    }
    let file =
        |i: usize, info: &str| src.join(format!("cur/{}.M1P1.host:2,{info}", 1_700_000_000 + i));
    for i in 1..=400 {
        fs::write(
            file(i, "S"),
            format!("Message-ID: <{i}@kill.example>\nSubject: {i}\n\nbody {i}\n"),
        )
        .unwrap();
    }
    let mut mirror = args([
        "--json",
        "mirror",
        "--delete",
        &env.endpoint("maildir", "src"),
        &account.imaps(),
    ]);
    mirror.extend(account.dst_args());
    env.run_json_owned(&mirror, 0);
    // Distinct changes, so the flags go as several STOREs.
    for i in 1..=200 {
        let info = ["FS", "", "RS", "DS"][i % 4];
        fs::rename(file(i, "S"), file(i, info)).unwrap();
    }
    for i in 361..=400 {
        fs::remove_file(file(i, "S")).unwrap();
    }
    let argv: Vec<&str> = mirror.iter().map(String::as_str).collect();
    for phase in ["flags_updated", "deleted"] {
        let mut running = env.spawn(&argv);
        if running.wait_for_event(phase) {
            running.kill_9();
        }
        running.finish();
        account.wait_for_sessions_to_end("the killed mirror");
    }
    env.run_json_owned(&mirror, 0);
    let held = account.messages("INBOX");
    assert_eq!(held.len(), 360, "40 removed, none else");
    for message in &held {
        let text = String::from_utf8_lossy(&message.raw);
        let i: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap()
            .parse()
            .unwrap();
        let expected = if i <= 200 {
            ["FS", "-", "RS", "DS"][i % 4]
        } else {
            "S"
        };
        assert_eq!(message.flags, expected, "message {i}");
    }
    let events = env.run_json_owned(&mirror, 0);
    assert_eq!(count(summary(&events), "flags_updated"), 0);
    assert_eq!(count(summary(&events), "messages_deleted"), 0);
}

#[test]
fn messages_moved_between_folders_are_copied_where_they_are_held_not_transferred_again() {
    let env = TestEnv::new();
    let server = server();
    // Pull: a message moved at the server is not downloaded again.
    let account = Account::new(&env, server, "mirror-move-pull", None);
    account.load("INBOX", &mails("move", 6, 300));
    account.load("Archive", &mails("kept", 1, 300));
    let mut pull = args([
        "--json",
        "mirror",
        "--delete",
        &account.imaps(),
        &env.endpoint("maildir", "backup"),
    ]);
    pull.extend(account.src_args());
    env.run_json_owned(&pull, 0);
    let uids = account.uids("INBOX");
    let name = account.name().to_string();
    server.doveadm(&[
        "move",
        "-u",
        &name,
        "Archive",
        "mailbox",
        "INBOX",
        "uid",
        &uids[0].to_string(),
    ]);
    let events = env.run_json_owned(&pull, 0);
    let moved: Vec<_> = events_of(&events, "message");
    assert_eq!(moved.len(), 1, "{events:?}");
    assert_eq!(moved[0]["folder"], "Archive");
    assert_eq!(moved[0]["copied_from"], "INBOX", "{}", moved[0]);
    assert_eq!(count(summary(&events), "bytes_copied"), 0);
    assert_eq!(count(summary(&events), "messages_deleted"), 1);
    let backup = read_maildir(&env.path("backup"));
    let held = |folder: &str| backup.get(folder).map_or(0, |messages| messages.len());
    assert_eq!((held("INBOX"), held("Archive")), (5, 2), "{backup:?}");

    // Push: a message moved between maildir folders is copied at the
    // server (UID COPY), not uploaded again.
    let pushed = Account::new(&env, server, "mirror-move-push", None);
    let src = env.path("src");
    for dir in [src.clone(), src.join(".Archive")] {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
    }
    for i in 1..=6 {
        fs::write(
            src.join(format!("cur/{}.M1P1.host:2,S", 1_700_000_000 + i)),
            format!("Message-ID: <{i}@move.example>\nSubject: {i}\n\nbody {i}\n"),
        )
        .unwrap();
    }
    let mut push = args([
        "--json",
        "mirror",
        "--delete",
        &env.endpoint("maildir", "src"),
        &pushed.imaps(),
    ]);
    push.extend(pushed.dst_args());
    env.run_json_owned(&push, 0);
    fs::rename(
        src.join("cur/1700000002.M1P1.host:2,S"),
        src.join(".Archive/cur/1700000002.M1P1.host:2,S"),
    )
    .unwrap();
    let events = env.run_json_owned(&push, 0);
    let moved: Vec<_> = events_of(&events, "message");
    assert_eq!(moved.len(), 1, "{events:?}");
    assert_eq!(moved[0]["copied_from"], "INBOX", "{}", moved[0]);
    assert!(moved[0]["destination_uid"].is_u64(), "{}", moved[0]);
    assert_eq!(count(summary(&events), "messages_deleted"), 1);
    assert_eq!(pushed.count("INBOX"), 5);
    assert_eq!(pushed.count("Archive"), 1);
    let events = env.run_json_owned(&push, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    assert_eq!(count(summary(&events), "flags_updated"), 0);
}

#[test]
fn copies_a_killed_run_stored_without_recording_are_found_again_and_follow_the_source() {
    let env = TestEnv::new();
    let server = server();
    let account = Account::new(&env, server, "mirror-adopt", None);
    let src = env.path("src");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(src.join(sub)).unwrap();
    }
    let file =
        |i: usize, info: &str| src.join(format!("cur/{}.M1P1.host:2,{info}", 1_700_000_000 + i));
    let write = |i: usize| {
        fs::write(
            file(i, "S"),
            format!("Message-ID: <{i}@adopt.example>\nSubject: {i}\n\nbody {i}\n"),
        )
        .unwrap()
    };
    (1..=30).for_each(write);
    let mut mirror = args([
        "--json",
        "mirror",
        "--delete",
        &env.endpoint("maildir", "src"),
        &account.imaps(),
    ]);
    mirror.extend(account.dst_args());
    env.run_json_owned(&mirror, 0);

    // What a run killed between the server's OK and its own record leaves:
    // ten messages at the server that the state does not know it stored.
    let path = env.only_checkpoint().1;
    let forgotten = rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM messages WHERE destination_key > 20", [])
        .unwrap();
    assert_eq!(forgotten, 10);
    write(31);
    let events = env.run_json_owned(&mirror, 0);
    let done = summary(&events);
    assert_eq!(count(done, "messages_copied"), 1, "{done}");
    assert_eq!(count(done, "messages_duplicate"), 10, "{done}");
    assert_eq!(account.count("INBOX"), 31, "nothing stored twice");

    // Those ten follow the source again, like every other message.
    for i in 1..=30 {
        fs::rename(file(i, "S"), file(i, "FS")).unwrap();
    }
    fs::remove_file(file(31, "S")).unwrap();
    fs::remove_file(file(30, "FS")).unwrap();
    let events = env.run_json_owned(&mirror, 0);
    let done = summary(&events);
    assert_eq!(count(done, "flags_updated"), 29, "{done}");
    assert_eq!(count(done, "messages_deleted"), 2, "{done}");
    let held = account.messages("INBOX");
    assert_eq!(held.len(), 29);
    assert!(held.iter().all(|m| m.flags == "FS"), "{held:?}");
}
