//! `mailtug mirror` through every server of the table: pushed from a
//! maildir (flags by STORE, removals by UID EXPUNGE), then pulled into
//! another maildir (flags by FETCH, with CONDSTORE where the server has it
//! and without on Courier), ending with both maildirs alike.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::util::model::read_maildir;
use crate::util::{count, json_events, stderr, summary, TestEnv};

use super::{command, on_each_server, Side};

/// (Subject, flag letters) of every message of a maildir's INBOX.
fn flags_by_subject(root: &Path) -> BTreeSet<(String, String)> {
    read_maildir(root)
        .get("INBOX")
        .map(|messages| {
            messages
                .iter()
                .map(|m| {
                    let text = String::from_utf8_lossy(&m.raw);
                    let subject = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Subject: "))
                        .unwrap_or("")
                        .to_string();
                    (subject, m.flags.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_mirror_through_each_server_carries_flags_and_removals_both_ways() {
    on_each_server("mirror", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "mirror");
        let src = env.path("src");
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(src.join(sub)).unwrap();
            fs::create_dir_all(src.join(".Archive").join(sub)).unwrap();
        }
        let file = |i: usize, info: &str| {
            src.join(format!("cur/{}.M1P1.host:2,{info}", 1_700_000_000 + i))
        };
        for i in 1..=12 {
            fs::write(
                file(i, "S"),
                format!("Message-ID: <{i}@mirror.test>\nSubject: m{i}\n\nbody {i}\n"),
            )
            .unwrap();
        }
        let (maildir, imap, out) = (
            Side::Maildir(src.clone()),
            Side::imaps(&account),
            Side::Maildir(env.path("out")),
        );
        let push = command("mirror", &maildir, &imap, &["--delete"]);
        let pull = command("mirror", &imap, &out, &["--delete"]);
        env.run_json_owned(&push, 0);
        env.run_json_owned(&pull, 0);
        assert_eq!(flags_by_subject(&src), flags_by_subject(&env.path("out")));

        fs::rename(file(1, "S"), file(1, "FS")).unwrap();
        fs::rename(file(2, "S"), file(2, "")).unwrap();
        fs::remove_file(file(3, "S")).unwrap();
        let events = env.run_json_owned(&push, 0);
        assert_eq!(
            count(summary(&events), "flags_updated"),
            2,
            "{}",
            server.name()
        );
        assert_eq!(
            count(summary(&events), "messages_deleted"),
            1,
            "{}",
            server.name()
        );
        // The cheapest way the server allows: changes and expunges told
        // by the open (QRESYNC), else changes since (CONDSTORE), else all.
        let mut verbose_pull = pull.clone();
        verbose_pull.push("-vv".into());
        let output = env.run(&verbose_pull.iter().map(String::as_str).collect::<Vec<_>>());
        let said = stderr(&output);
        let mut client = account.client();
        let way = if client.has_capability("QRESYNC") {
            "QRESYNC since modseq"
        } else if client.has_capability("CONDSTORE") {
            "messages changed since modseq"
        } else {
            "folder `"
        };
        assert!(said.contains(way), "{}: {said}", server.name());
        assert!(
            !said.contains("changed since modseq") || way != "folder `",
            "{}: {said}",
            server.name()
        );
        eprintln!("{}: mirrored by `{way}`", server.name());
        let events = json_events(&output);
        assert_eq!(
            count(summary(&events), "flags_updated"),
            2,
            "{}",
            server.name()
        );
        assert_eq!(
            count(summary(&events), "messages_deleted"),
            1,
            "{}",
            server.name()
        );
        assert_eq!(
            flags_by_subject(&src),
            flags_by_subject(&env.path("out")),
            "{}: the pulled copy follows the pushed one",
            server.name()
        );
        // A message moved between folders is copied within each
        // destination (UID COPY at the server, a link in the maildir), and
        // removed from the old folder.
        fs::rename(
            file(5, "S"),
            src.join(format!(".Archive/cur/{}.M1P1.host:2,S", 1_700_000_005)),
        )
        .unwrap();
        for (run, side) in [(&push, "push"), (&pull, "pull")] {
            let events = env.run_json_owned(run, 0);
            let messages = crate::util::events_of(&events, "message");
            assert_eq!(messages.len(), 1, "{} {side}: {events:?}", server.name());
            assert_eq!(
                messages[0]["copied_from"],
                "INBOX",
                "{} {side}: {}",
                server.name(),
                messages[0]
            );
            assert_eq!(
                count(summary(&events), "messages_deleted"),
                1,
                "{} {side}",
                server.name()
            );
        }
        let archived = read_maildir(&env.path("out"))
            .get("Archive")
            .map_or(0, |messages| messages.len());
        assert_eq!(archived, 1, "{}", server.name());
        assert_eq!(flags_by_subject(&src), flags_by_subject(&env.path("out")));

        // Nothing changed since: nothing to do on either side.
        for run in [&push, &pull] {
            let events = env.run_json_owned(run, 0);
            assert_eq!(
                count(summary(&events), "flags_updated"),
                0,
                "{}",
                server.name()
            );
            assert_eq!(
                count(summary(&events), "messages_deleted"),
                0,
                "{}",
                server.name()
            );
        }
    });
}
