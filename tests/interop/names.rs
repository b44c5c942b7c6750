//! Folder names across servers: special-use folders land in the
//! destination's folder of the same use (or a created one gets the use),
//! and names a server refuses fail alone, folder by folder, while every
//! other folder is copied.

use crate::support::servers::{ServerAccount, TestServer, ALL};
use crate::util::model::{assert_same_messages, total, Model};
use crate::util::{count, events_of, stderr, summary, TestEnv};

use super::corpus::{self, Tree};
use super::{
    assert_server_holds, command, folders_done, listed, on_each, on_each_server, server_model,
    stored_by, Side,
};

// ------------------------------------------------------------ special use

/// Where the destination's `\Sent` folder is before the copy.
#[derive(Clone, Copy, Debug)]
enum SentBefore {
    /// No folder of that use.
    None,
    /// One under another name than the source's.
    OtherName,
}

/// The source of a special-use case: Dovecot's `Sent` (its test config
/// marks that name `\Sent`) for a Cyrus destination, else Cyrus (dot) with
/// `Sent Items` created with the use `\Sent`, as Outlook names it.
fn sent_source(destination: TestServer) -> (TestServer, &'static str) {
    match destination {
        TestServer::CyrusSlash | TestServer::CyrusDot => (TestServer::Dovecot, "Sent"),
        TestServer::Dovecot | TestServer::Courier => (TestServer::CyrusDot, "Sent Items"),
    }
}

/// Gives `account` a `\Sent` folder named `name` (mailtug's name): with
/// CREATE-SPECIAL-USE where offered, else by the name Dovecot's test config
/// marks. Courier knows no special use: there it is a folder like any other.
fn create_sent(account: &ServerAccount, name: &str) {
    let there = account.server_folder(name);
    let mut client = account.client();
    let created = match account.server {
        TestServer::CyrusSlash | TestServer::CyrusDot => {
            client.create_special_use(&there, "\\Sent")
        }
        TestServer::Dovecot | TestServer::Courier => client.create(&there),
    };
    created.unwrap_or_else(|e| panic!("{}: CREATE `{there}`: {e}", account.server.name()));
    client.logout();
}

/// Whether the folder `name` (mailtug's) of `account` is listed as `\Sent`.
fn is_sent(account: &ServerAccount, name: &str) -> bool {
    let there = account.server_folder(name);
    listed(account)
        .get(&there)
        .unwrap_or_else(|| panic!("`{there}` is not listed"))
        .iter()
        .any(|a| a.eq_ignore_ascii_case("\\Sent"))
}

/// The destination's `\Sent` folder when it has one before the copy: the
/// name Dovecot's config marks, a name of our own elsewhere.
fn other_sent_name(destination: TestServer) -> &'static str {
    match destination {
        TestServer::Dovecot => "Sent",
        _ => "Gesendet",
    }
}

/// Where the source's `\Sent` folder lands (mailtug's name), and whether
/// the destination lists it as `\Sent` afterwards.
fn sent_landing(destination: TestServer, before: SentBefore) -> (&'static str, bool) {
    let (_, source_name) = sent_source(destination);
    match (destination, before) {
        // Courier has no special use: the source's name, like any folder.
        (TestServer::Courier, _) => (source_name, false),
        (_, SentBefore::OtherName) => (other_sent_name(destination), true),
        // Cyrus offers CREATE-SPECIAL-USE: the created folder gets the use.
        (TestServer::CyrusSlash | TestServer::CyrusDot, SentBefore::None) => (source_name, true),
        // Dovecot does not: the source's name, which its config does not
        // mark `\Sent` (`Sent Items`).
        (TestServer::Dovecot, SentBefore::None) => (source_name, false),
    }
}

#[test]
fn a_sent_folder_lands_in_the_destinations_sent_folder_or_a_created_one_gets_the_use() {
    let env = TestEnv::new();
    let sent = corpus::small("Sent", 0, 3);
    let inbox = corpus::small("INBOX", 3, 1);
    let mut cases = Vec::new();
    for destination in ALL {
        cases.extend([
            (destination, SentBefore::None),
            (destination, SentBefore::OtherName),
        ]);
    }
    on_each(
        "special use",
        &cases,
        |(d, before)| format!("{} → {} ({before:?})", sent_source(d).0.name(), d.name()),
        |(to, before)| {
            let (from, source_name) = sent_source(to);
            let source = from.add_account(&env, "sent-src");
            create_sent(&source, source_name);
            let tree: Tree = vec![
                ("INBOX".to_string(), inbox.clone()),
                (source_name.to_string(), sent.clone()),
            ];
            load_existing(&source, &tree);
            assert!(
                is_sent(&source, source_name),
                "the source's `{source_name}` is \\Sent"
            );

            let destination = to.add_account(&env, "sent-dst");
            let mut expected = Model::new();
            if let SentBefore::OtherName = before {
                let other = other_sent_name(to);
                create_sent(&destination, other);
                expected.insert(other.to_string(), Vec::new());
                if to != TestServer::Courier {
                    assert!(is_sent(&destination, other), "`{other}` is \\Sent");
                }
            }
            let (landing, marked) = sent_landing(to, before);
            let held = stored_by(to, &stored_by(from, &corpus::model(&tree)));
            expected.insert("INBOX".to_string(), held["INBOX"].clone());
            expected.insert(landing.to_string(), held[source_name].clone());

            let events = env.run_json_owned(
                &command(
                    "copy",
                    &Side::imaps(&source),
                    &Side::imaps(&destination),
                    &[],
                ),
                0,
            );
            assert_eq!(
                folders_done(&events)[source_name]["destination_folder"],
                landing,
                "where mailtug says `{source_name}` went"
            );
            let what = super::munged_what(&[from], "the destination");
            assert_server_holds(&destination, &expected, &what);
            assert_eq!(
                is_sent(&destination, landing),
                marked,
                "whether `{landing}` is listed \\Sent: {:?}",
                listed(&destination)
            );
        },
    );
}

/// [`corpus::load`] into folders that exist already (INBOX and those
/// created with a special use).
fn load_existing(account: &ServerAccount, tree: &Tree) {
    let mut client = account.client();
    for (folder, messages) in tree {
        let there = account.server_folder(folder);
        for message in messages {
            let names = corpus::imap_names(&message.flags);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            client
                .append(
                    &there,
                    &corpus::crlf(&message.raw),
                    &names,
                    Some(message.date),
                )
                .unwrap_or_else(|e| panic!("APPEND to `{there}`: {e}"));
        }
    }
    client.logout();
}

// ------------------------------------------------------------ odd names

/// Folders (mailtug's names) with awkward names, each with mail unless
/// said otherwise. `A/B/C` holds mail while `A` and `A/B` do not exist in
/// the source. `P/Q` is larger than `P`, so it is copied first (largest
/// first); the test also creates it at the destination before the copy.
fn odd_tree() -> Tree {
    let mut tree: Tree = Vec::new();
    let mut n = 0;
    let mut add = |tree: &mut Tree, folder: &str, messages: usize| {
        tree.push((folder.to_string(), corpus::small(folder, n, messages)));
        n += messages;
    };
    add(&mut tree, "INBOX", 1);
    for folder in [
        "Old Stuff",
        "100%",
        "say \"hi\"",
        "R&D",
        "Entwürfe",
        "Mail 📬",
        "L1",
        "L1/L2",
        "L1/L2/L3",
        "L1/L2/L3/L4",
        "L1/L2/L3/L4/L5",
        "A/B/C",
        "P",
        "INBOX/Sub",
    ] {
        add(&mut tree, folder, 1);
    }
    add(&mut tree, "P/Q", 4);
    tree
}

/// The folders of `odd_tree` that `server` refuses to create.
fn refused(server: TestServer) -> &'static [&'static str] {
    match server {
        TestServer::Dovecot => &[],
        // A character beyond the BMP (a UTF-16 surrogate pair in modified
        // UTF-7, `&2D3c7A-` for 📬) gets `NO Error in IMAP command received
        // by server.` (measured); `%`, `"` and BMP characters are fine.
        TestServer::Courier => &["Mail 📬"],
        // `NO Invalid mailbox name` (measured).
        TestServer::CyrusSlash | TestServer::CyrusDot => &["100%", "say \"hi\""],
    }
}

/// Whether creating a folder also creates its missing parents as folders
/// that hold mail: Cyrus does; on Dovecot and Courier (Maildir++) they are
/// only listed, `\Noselect`.
fn creates_parents(server: TestServer) -> bool {
    matches!(server, TestServer::CyrusSlash | TestServer::CyrusDot)
}

/// Asserts how `account` lists `parent`, a missing parent of a folder it
/// holds (see `creates_parents`); returns whether it is a real folder.
#[track_caller]
fn assert_parent(account: &ServerAccount, parent: &str) -> bool {
    let there = account.server_folder(parent);
    let listed = listed(account);
    let attributes = listed
        .get(&there)
        .unwrap_or_else(|| panic!("`{there}` is not listed: {listed:?}"));
    let selectable = creates_parents(account.server);
    assert_eq!(
        !super::is_noselect(attributes),
        selectable,
        "the parent `{there}`: {attributes:?}"
    );
    selectable
}

#[test]
fn folders_with_odd_names_are_copied_or_fail_alone_and_are_retried() {
    let tree = odd_tree();
    let source = corpus::model(&tree);
    on_each_server("odd folder names", |server| {
        let env = TestEnv::new();
        let account = server.add_account(&env, "names");
        corpus::write_maildir(&env.path("src"), &tree, "interop");
        let refused = refused(server);
        let mut expected = stored_by(server, &source);
        for folder in refused {
            expected.remove(*folder);
        }
        let copy = command(
            "copy",
            &Side::Maildir(env.path("src")),
            &Side::imap(&account),
            &[],
        );
        // `P/Q` exists before `P`: a `\Noselect` `P` on Dovecot and
        // Courier, which mailtug must create before it can open it.
        let mut client = account.client();
        client.create(&account.server_folder("P/Q")).unwrap();
        client.logout();
        assert_parent(&account, "P");

        for run in ["first run", "rerun"] {
            let output = env.run_owned(&copy);
            let code = if refused.is_empty() { 0 } else { 1 };
            crate::util::assert_exit(&output, code);
            let events = crate::util::json_events(&output);
            let done = summary(&events);
            let copied = if run == "first run" {
                total(&expected)
            } else {
                0
            };
            assert_eq!(
                count(done, "messages_copied"),
                copied as u64,
                "{run}: {done}"
            );
            assert_eq!(
                count(done, "folders_failed"),
                refused.len() as u64,
                "{run}: {done}"
            );
            let text = stderr(&output);
            let mut failed: Vec<String> = folders_done(&events)
                .into_iter()
                .filter(|(_, event)| !event["error"].is_null())
                .map(|(folder, _)| folder)
                .collect();
            failed.sort();
            let mut wanted: Vec<String> = refused.iter().map(|f| f.to_string()).collect();
            wanted.sort();
            assert_eq!(failed, wanted, "{run}: the folders that failed\n{text}");
            for folder in refused {
                assert!(
                    text.lines().any(|l| l.starts_with("mailtug: error: ")
                        && l.contains(folder)
                        && l.contains("--map")),
                    "{run}: no error line names `{folder}` with a --map hint:\n{text}"
                );
            }
            assert!(!text.contains("is gone"), "{run}: a gone warning:\n{text}");
            assert!(
                events_of(&events, "warning")
                    .iter()
                    .all(|w| !w["message"].as_str().unwrap_or("").contains("is gone")),
                "{run}: a gone warning event"
            );

            let mut held = server_model(&account);
            for parent in ["A", "A/B"] {
                if assert_parent(&account, parent) {
                    let empty = held.remove(parent).unwrap_or_default();
                    assert!(empty.is_empty(), "{run}: `{parent}` holds mail");
                }
            }
            assert_same_messages(&expected, &held, &super::munged_what(&[server], run));
        }
    });
}
