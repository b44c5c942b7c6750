//! Folder names a server hands out are untrusted: copied from a real
//! Dovecot into a maildir and into an mbox tree, every name — with control
//! characters, quotes, wildcards, backslashes, leading and trailing spaces,
//! non-ASCII, 254 bytes long, or one of the broken names Dovecot lists but
//! cannot open (`..`, `x.`, `a..b`, `...x`) — must land inside the
//! destination root, under a safe name, and nothing may appear outside it.
//!
//! Dovecot refuses to CREATE most hostile names (`/`, `..` components, NUL,
//! control characters), but it lists whatever directories its maildir holds,
//! encoding their names in modified UTF-7: the names it would not create are
//! made as directories behind its back, as a damaged or foreign store would
//! hold them. Names no server can list (`/`, NUL, `..` as a component) are
//! covered by the unit tests of `maildir_dir_name` and `mbox_relative_path`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::support::account::Account;
use crate::support::planted::plant_folder;
use crate::support::Dovecot;
use crate::util::model::{header, read_maildir, read_mbox_dir};
use crate::util::{args, count, json_events, stderr, summary, TestEnv};

/// Names Dovecot creates (UTF-8, `.` is its separator), and whether the
/// copy can open them.
const CREATED: &[&str] = &[
    "\"quoted\"",
    "star*",
    "percent%",
    "back\\slash",
    " leading space",
    "trailing space ",
    "amp&ersand",
    "Ünïcødé",
    "emoji 😀",
    "dir.~tilde",
    "Archive.2023",
    "INBOX.sub",
];

/// Directory names made in Dovecot's maildir behind its back, as they are on
/// disk (Maildir++: `.` + the name in modified UTF-7). Dovecot lists every
/// one (encoding the control characters, escaping invalid modified UTF-7 as
/// `&-…`, keeping empty hierarchy levels) but cannot open any: each must fail
/// alone with one clean error line, and the rest of the account be copied.
const ON_DISK: &[&[u8]] = &[
    b".nl\nname",
    b".esc\x1b[31mred",
    b".tab\tname",
    b".ctl\x01x",
    b".del\x7f",
    b".&AC4ALg-",
    b".&AC8-etc",
    b".&AC4ALgAvAC4ALgAvAGUAdABj-",
    b"..",
    b".x.",
    b".a..b",
    b"....x",
];

/// A message whose Message-ID names the folder it was put in.
fn message(index: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\nTo: b@example.org\nSubject: folder {index}\n\
         Message-ID: <folder-{index}@hostile.example.org>\n\
         Date: Wed, 1 Jan 2020 10:00:00 +0000\n\nin folder {index}\n"
    )
    .into_bytes()
}

/// Every path under `root`, which must all be real directories and regular
/// files inside it (no symbolic link, nothing resolving elsewhere), with
/// components of at most 255 bytes.
fn assert_contained(root: &Path, what: &str) -> usize {
    let canonical_root = root.canonicalize().unwrap();
    let mut files = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            assert!(
                meta.is_dir() || meta.is_file(),
                "{what}: {} is neither a file nor a directory",
                path.display()
            );
            let relative = path.strip_prefix(root).unwrap();
            assert!(
                relative
                    .components()
                    .all(|c| matches!(c, Component::Normal(n) if n.len() <= 255)),
                "{what}: odd path {}",
                relative.display()
            );
            assert!(
                path.canonicalize().unwrap().starts_with(&canonical_root),
                "{what}: {} escapes the destination",
                path.display()
            );
            if meta.is_dir() {
                stack.push(path);
            } else {
                files += 1;
            }
        }
    }
    files
}

/// Every entry under `dir` (relative path, kind and size), for seeing that
/// nothing appeared beside the destination.
fn listing(dir: &Path) -> BTreeSet<(PathBuf, bool, u64)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            out.insert((relative, meta.is_dir(), meta.len()));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn hostile_folder_names_from_a_server_stay_inside_the_destination() {
    let server = Dovecot::shared();
    let env = TestEnv::new();
    let account = Account::new(&env, server, "hostile-names", None);
    let user = &account.user;
    let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_872_800);

    // INBOX first: it makes the user's maildir.
    let mut expected = BTreeSet::new();
    user.load(server, "INBOX", &[(message(0), "S", date)]);
    expected.insert(0);
    let long_ascii = "x".repeat(254);
    // 90 CJK characters: 242 bytes in modified UTF-7 (Dovecot takes it),
    // 270 bytes in UTF-8, more than a file name can hold.
    let long_cjk = "日本語".repeat(30);
    let mut created: Vec<String> = CREATED.iter().map(|s| s.to_string()).collect();
    created.push(long_ascii.clone());
    created.push(format!("{}y", "x".repeat(250)));
    created.push(long_cjk);
    let mut index = 1;
    for name in &created {
        user.load(server, name, &[(message(index), "S", date)]);
        expected.insert(index);
        index += 1;
    }
    // Behind Dovecot's back, owned like the rest of the user's mail.
    for dir_name in ON_DISK {
        let file = format!("1577872800.M{index}P1.hostile:2,S");
        plant_folder(user, dir_name, &file, &message(index));
        index += 1;
    }
    // No resync: Dovecot finds new files in cur/ when a folder is opened.

    let source = account.imaps();
    for kind in ["maildir", "mbox"] {
        let sandbox = env.path(&format!("sandbox-{kind}"));
        fs::create_dir(&sandbox).unwrap();
        fs::write(sandbox.join("canary"), b"must stay").unwrap();
        let before = listing(env.root());
        let destination = sandbox.join("dest");
        let mut copy = args(["--json", "copy"]);
        copy.extend(account.src_args());
        copy.extend([source.clone(), format!("{kind}:{}", destination.display())]);
        let output = env.run_owned(&copy);
        let text = stderr(&output);
        let context = format!("IMAP -> {kind}\n--- stderr ---\n{text}");
        crate::util::assert_no_panic(&text);
        // The folders Dovecot lists but cannot open fail alone (exit 1);
        // everything else is copied.
        assert_eq!(output.status.code(), Some(1), "{context}");
        // Dovecot's answers for them (one echoes a raw newline, which the
        // parser rejects) are answers: no reconnect attempts.
        let reconnects = text.lines().filter(|l| l.contains("reconnecting")).count();
        assert_eq!(reconnects, 0, "{context}");
        for line in text.lines() {
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "a control character from a folder name reached stderr: {line:?}"
            );
            assert!(
                !line.contains("Outcome {") && !line.contains("Error {"),
                "a debug dump instead of the server's words: {line}"
            );
        }
        let events = json_events(&output);
        let summary = summary(&events);
        assert_eq!(
            count(summary, "messages_copied"),
            expected.len() as u64,
            "{context}"
        );
        let failed = count(summary, "folders_failed");
        assert!(
            (1..=ON_DISK.len() as u64).contains(&failed),
            "{failed} folders failed, {context}"
        );

        let files = assert_contained(&destination, &context);
        assert!(files > 0, "{context}");
        // Nothing appeared, vanished or changed beside the destination.
        let after = listing(env.root());
        let outside = |set: &BTreeSet<(PathBuf, bool, u64)>| -> BTreeSet<(PathBuf, bool, u64)> {
            let dest = destination.strip_prefix(env.root()).unwrap().to_path_buf();
            set.iter()
                .filter(|(path, _, _)| !path.starts_with(&dest) && !path.starts_with("state"))
                .cloned()
                .collect()
        };
        assert_eq!(outside(&before), outside(&after), "{context}");
        assert_eq!(fs::read(sandbox.join("canary")).unwrap(), b"must stay");

        let model = match kind {
            "maildir" => read_maildir(&destination),
            _ => read_mbox_dir(&destination),
        };
        let copied: BTreeSet<usize> = model
            .values()
            .flatten()
            .map(|m| {
                let id = header(&m.raw, "message-id").unwrap();
                id.trim_start_matches("<folder-")
                    .split('@')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(copied, expected, "message indexes copied, {context}");
    }
}
