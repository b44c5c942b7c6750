//! Maildir trees as other tools leave them: the fs layout (mbsync
//! `SubFolders Verbatim`, Dovecot `LAYOUT=fs`) beside Maildir++, info
//! separators other than `:`, messages in `new/` and in `cur/` without
//! flags, keyword letters that `dovecot-keywords` does not name. Each tree is
//! built here, file by file, so the test says what it holds.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, UNIX_EPOCH};

use crate::util::model::{
    assert_fs_maildir_copy_layout, assert_fs_maildir_layout, assert_maildir_copy_layout,
    assert_maildir_layout, deduplicated, fs_maildir_folders, header, read_fs_maildir, read_maildir,
    read_mbox_dir, read_mbox_file, renamed, Model, Stored,
};
use crate::util::{
    assert_error_line, assert_exit, count, events_of, json_events, stderr, stdout, summary, TestEnv,
};

/// A small message whose Message-ID and subject carry `tag`.
fn message(tag: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: {tag}\n\
         Message-ID: <{tag}@layouts.example.org>\nDate: Tue, 1 Oct 2024 10:00:00 +0000\n\n\
         The {tag} message.\n"
    )
    .into_bytes()
}

/// The internal date every message written here gets (its mtime).
const DATE: i64 = 1_727_776_800;

/// A maildir folder (`cur/ new/ tmp/`) at `dir`.
fn make_folder(dir: &Path) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
}

/// Writes the message `tag` to `relative` below `root`, dated [`DATE`].
fn put(root: &Path, relative: &str, tag: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, message(tag)).unwrap();
    let date = UNIX_EPOCH + Duration::from_secs(DATE as u64);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(date)
        .unwrap();
}

/// What a store holds as the model shows it: `tag` with flags `flags`.
fn stored(tag: &str, flags: &str) -> Stored {
    Stored {
        raw: message(tag),
        flags: flags.to_string(),
        date: Some(DATE),
    }
}

/// Sorted, so that models compare regardless of file order.
fn model(folders: &[(&str, &[Stored])]) -> Model {
    folders
        .iter()
        .map(|(folder, messages)| {
            let mut messages = messages.to_vec();
            messages.sort();
            (folder.to_string(), messages)
        })
        .collect()
}

fn sorted(mut model: Model) -> Model {
    for messages in model.values_mut() {
        messages.sort();
    }
    model
}

/// The names of the files in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn info_after_bang_or_semicolon_keeps_its_flags_and_is_written_after_a_colon() {
    let env = TestEnv::new();
    let src = env.path("src");
    make_folder(&src);
    put(&src, "cur/1700000001.M1P1.host!2,S", "bang");
    put(&src, "cur/1700000002.M1P1.host;2,FS", "semicolon");
    put(&src, "cur/1700000003.M1P1.host!2,", "bang-empty");
    put(&src, "cur/1700000004.M1P1.host:2,RS", "colon");
    let expected = model(&[(
        "INBOX",
        &[
            stored("bang", "S"),
            stored("semicolon", "FS"),
            stored("bang-empty", "-"),
            stored("colon", "RS"),
        ],
    )]);

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("maildir", "dst"),
    ]);
    assert_exit(&output, 0);
    assert_eq!(
        sorted(read_maildir(&env.path("dst"))),
        expected,
        "{}",
        stderr(&output)
    );
    for name in names(&env.path("dst/cur")) {
        assert!(
            name.contains(":2,") && !name.contains("!2,") && !name.contains(";2,"),
            "{name}"
        );
    }

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("mbox", "out.mbox"),
    ]);
    assert_exit(&output, 0);
    let mut mbox = read_mbox_file(&env.path("out.mbox"));
    mbox.sort();
    assert_eq!(mbox, expected["INBOX"]);

    // The unique names are the checkpoint's keys: a rerun finds every
    // message done, rather than reading it again as a duplicate.
    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("maildir", "src"),
            &env.endpoint("maildir", "dst"),
        ],
        0,
    );
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    assert_eq!(count(summary(&events), "messages_duplicate"), 0);
}

/// Where each message of the maildir folder `dir` is, by its tag: `new` or
/// `cur:` and its info letters.
fn places(dir: &Path) -> BTreeMap<String, String> {
    let mut places = BTreeMap::new();
    for sub in ["new", "cur"] {
        for name in names(&dir.join(sub)) {
            let raw = fs::read_to_string(dir.join(sub).join(&name)).unwrap();
            let tag = header(raw.as_bytes(), "subject").unwrap();
            let place = match (sub, name.split_once(":2,")) {
                ("new", None) => "new".to_string(),
                ("cur", Some((_, info))) => format!("cur:{info}"),
                _ => panic!("{sub}/{name} is misplaced"),
            };
            places.insert(tag, place);
        }
    }
    places
}

fn expect(places: &[(&str, &str)]) -> BTreeMap<String, String> {
    places
        .iter()
        .map(|(tag, place)| (tag.to_string(), place.to_string()))
        .collect()
}

#[test]
fn a_maildir_copy_keeps_new_mail_in_new_and_read_mail_in_cur_even_without_flags() {
    let env = TestEnv::new();
    let src = env.path("src");
    make_folder(&src);
    put(&src, "new/1700000001.M1P1.host", "fresh");
    put(&src, "cur/1700000002.M1P1.host:2,", "read");
    put(&src, "cur/1700000003.M1P1.host", "read-without-info");
    put(&src, "cur/1700000004.M1P1.host:2,S", "seen");
    // The maildir spec keeps info out of new/; flags win over the place.
    put(&src, "new/1700000005.M1P1.host:2,F", "flagged-in-new");

    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("maildir", "dst"),
    ]);
    assert_exit(&output, 0);
    assert_eq!(
        places(&env.path("dst")),
        expect(&[
            ("fresh", "new"),
            ("read", "cur:"),
            ("read-without-info", "cur:"),
            ("seen", "cur:S"),
            ("flagged-in-new", "cur:F"),
        ])
    );
    assert_maildir_copy_layout(&env.path("dst"));

    // An mbox has no such place: through one, a message without flags is
    // new again, the rule for every store but a maildir.
    for (from, to) in [
        (
            env.endpoint("maildir", "src"),
            env.endpoint("mbox", "out.mbox"),
        ),
        (
            env.endpoint("mbox", "out.mbox"),
            env.endpoint("maildir", "back"),
        ),
    ] {
        assert_exit(&env.run(&["copy", &from, &to]), 0);
    }
    assert_eq!(
        places(&env.path("back")),
        expect(&[
            ("fresh", "new"),
            ("read", "new"),
            ("read-without-info", "new"),
            ("seen", "cur:S"),
            ("flagged-in-new", "cur:F"),
        ])
    );
    assert_maildir_layout(&env.path("back"));
}

#[test]
fn keyword_letters_without_a_name_stay_in_a_maildir_and_are_reported_elsewhere() {
    let env = TestEnv::new();
    let src = env.path("src");
    make_folder(&src);
    // `a` has a name; `b`, `c` and `d` have none (a tool wrote the letters
    // and never the file, or the file was lost).
    fs::write(src.join("dovecot-keywords"), "0 $Label1\n").unwrap();
    put(&src, "cur/1700000001.M1P1.host:2,Sa", "named");
    put(&src, "cur/1700000002.M1P1.host:2,Sbc", "unnamed");
    put(&src, "cur/1700000003.M1P1.host!2,d", "unnamed-only");

    // Into a fresh maildir: every letter as it was, no file names them.
    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("maildir", "dst"),
    ]);
    assert_exit(&output, 0);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    assert_eq!(
        places(&env.path("dst")),
        expect(&[
            ("named", "cur:Sa"),
            ("unnamed", "cur:Sbc"),
            ("unnamed-only", "cur:d")
        ])
    );
    assert_eq!(
        fs::read_to_string(env.path("dst/dovecot-keywords")).unwrap(),
        "0 $Label1\n"
    );
    assert_maildir_copy_layout(&env.path("dst"));

    // Into a maildir whose `b` is a keyword of its own: `b` would change
    // meaning, so it is left out with a warning naming the file; `c` and `d`
    // stay, and a new keyword takes none of them.
    let other = env.path("other");
    make_folder(&other);
    fs::write(other.join("dovecot-keywords"), "1 Junk\n").unwrap();
    put(&other, "cur/1600000000.M1P1.host:2,Se", "already-there");
    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("maildir", "other"),
    ]);
    assert_exit(&output, 0);
    let warnings: Vec<String> = stderr(&output)
        .lines()
        .filter(|line| line.starts_with("mailtug: warning:"))
        .map(String::from)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for part in ["file 1700000002.M1P1.host", "`b`", "left out"] {
        assert!(warnings[0].contains(part), "{part}: {warnings:?}");
    }
    assert_eq!(
        places(&other),
        expect(&[
            ("already-there", "cur:Se"),
            ("named", "cur:Sa"),
            ("unnamed", "cur:Sc"),
            ("unnamed-only", "cur:d")
        ])
    );
    assert_eq!(
        fs::read_to_string(other.join("dovecot-keywords")).unwrap(),
        "0 $Label1\n1 Junk\n"
    );

    // Into an mbox, which stores keywords by name only: both files with
    // unnamed letters are named in a warning, and the rest is kept.
    let output = env.run(&[
        "copy",
        &env.endpoint("maildir", "src"),
        &env.endpoint("mbox", "out.mbox"),
    ]);
    assert_exit(&output, 0);
    let text = stderr(&output);
    for part in [
        "file 1700000002.M1P1.host: keyword letters `bc`",
        "file 1700000003.M1P1.host: keyword letters `d`",
        "an mbox file can only store keywords by name",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let mut mbox = read_mbox_file(&env.path("out.mbox"));
    mbox.sort();
    let mut expected = vec![
        stored("named", "S $Label1"),
        stored("unnamed", "S"),
        stored("unnamed-only", "-"),
    ];
    expected.sort();
    assert_eq!(mbox, expected);
}

// ---------------------------------------------------------------- layouts

/// Builds an fs-layout tree at `root` as mbsync (`SubFolders Verbatim`) and
/// Dovecot (`LAYOUT=fs:UTF-8`) write them, and returns what it holds: the
/// root is INBOX, `Work` holds mail and a subfolder, `Archive` is a bare
/// parent, `INBOX/sub` sits below INBOX, and one name is not ASCII.
fn build_fs_tree(root: &Path) -> Model {
    for dir in [
        "",
        "Work",
        "Work/Project",
        "Archive/2023",
        "Entwürfe",
        "INBOX/sub",
    ] {
        make_folder(&root.join(dir));
    }
    put(root, "new/1700000001.M1P1.host", "inbox-new");
    put(root, "cur/1700000002.M1P1.host:2,S", "inbox-seen");
    put(root, "Work/cur/1700000003.M1P1.host:2,RS", "work");
    put(root, "Work/Project/cur/1700000004.M1P1.host:2,F", "project");
    put(root, "Work/Project/new/1700000005.M1P1.host", "project-new");
    put(
        root,
        "Archive/2023/cur/1700000006.M1P1.host:2,S",
        "archived",
    );
    put(root, "Entwürfe/cur/1700000007.M1P1.host:2,D", "draft");
    put(root, "INBOX/sub/cur/1700000008.M1P1.host:2,S", "inbox-sub");
    model(&[
        (
            "INBOX",
            &[stored("inbox-new", "-"), stored("inbox-seen", "S")],
        ),
        ("Work", &[stored("work", "RS")]),
        (
            "Work/Project",
            &[stored("project", "F"), stored("project-new", "-")],
        ),
        ("Archive/2023", &[stored("archived", "S")]),
        ("Entwürfe", &[stored("draft", "D")]),
        ("INBOX/sub", &[stored("inbox-sub", "S")]),
    ])
}

/// The model's folder names as the Maildir++ reader of the tests shows
/// them: in modified UTF-7.
fn in_modified_utf7(model: &Model) -> Model {
    renamed(model, mailtug::folder::mutf7::encode)
}

fn copy(env: &TestEnv, args: &[&str]) -> Output {
    let mut all = vec!["copy"];
    all.extend_from_slice(args);
    let output = env.run(&all);
    assert_exit(&output, 0);
    output
}

#[test]
fn an_fs_tree_copies_to_maildir_plus_plus_and_back_to_the_fs_layout() {
    let env = TestEnv::new();
    let expected = build_fs_tree(&env.path("fs"));
    assert_eq!(sorted(read_fs_maildir(&env.path("fs"))), expected);

    // A new destination is Maildir++; the source's layout is found alone.
    copy(
        &env,
        &[
            &env.endpoint("maildir", "fs"),
            &env.endpoint("maildir", "pp"),
        ],
    );
    assert_eq!(
        sorted(read_maildir(&env.path("pp"))),
        in_modified_utf7(&expected)
    );
    assert!(env.path("pp/.Work.Project/cur").is_dir());
    assert!(!env.path("pp/Work").exists());
    assert_maildir_copy_layout(&env.path("pp"));
    assert_eq!(places(&env.path("pp"))["inbox-new"], "new");
    assert_eq!(places(&env.path("pp/.Work.Project"))["project-new"], "new");

    // And back, asked for: nested directories with UTF-8 names, bare
    // parents, INBOX/sub below the root INBOX, no Maildir++ marker.
    copy(
        &env,
        &[
            &env.endpoint("maildir", "pp"),
            &env.endpoint("maildir", "back"),
            "--dst-maildir-layout",
            "fs",
        ],
    );
    assert_eq!(sorted(read_fs_maildir(&env.path("back"))), expected);
    assert!(env.path("back/Entwürfe/cur").is_dir());
    assert!(env.path("back/Archive/2023/cur").is_dir());
    assert!(!env.path("back/Archive/cur").exists());
    assert!(env.path("back/INBOX/sub/cur").is_dir());
    assert_fs_maildir_copy_layout(&env.path("back"));
    assert_eq!(places(&env.path("back/Work/Project"))["project-new"], "new");

    // The tree is now fs: without the option (another job, as the option
    // is part of a job's key) a run finds it so and every message there; a
    // new folder goes in fs layout too.
    let events = env.run_json(
        &[
            "--json",
            "copy",
            &env.endpoint("maildir", "pp"),
            &env.endpoint("maildir", "back"),
        ],
        0,
    );
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    assert_eq!(count(summary(&events), "messages_duplicate"), 8);
    assert_eq!(sorted(read_fs_maildir(&env.path("back"))), expected);
    make_folder(&env.path("pp/.Later.On"));
    put(
        &env.path("pp"),
        ".Later.On/cur/1700000009.M1P1.host:2,S",
        "later",
    );
    copy(
        &env,
        &[
            &env.endpoint("maildir", "pp"),
            &env.endpoint("maildir", "back"),
        ],
    );
    assert!(env.path("back/Later/On/cur").is_dir());
    assert!(!env.path("back/.Later.On").exists());
}

#[test]
fn an_fs_tree_copies_to_an_mbox_tree_and_back() {
    let env = TestEnv::new();
    let expected = build_fs_tree(&env.path("fs"));
    copy(
        &env,
        &[&env.endpoint("maildir", "fs"), &env.endpoint("mbox", "mb")],
    );
    assert_eq!(sorted(read_mbox_dir(&env.path("mb"))), expected);
    assert!(env.path("mb/Work.mbox").is_file() && env.path("mb/Work/Project.mbox").is_file());

    copy(
        &env,
        &[
            &env.endpoint("mbox", "mb"),
            &env.endpoint("maildir", "back"),
            "--dst-maildir-layout",
            "fs",
        ],
    );
    assert_eq!(sorted(read_fs_maildir(&env.path("back"))), expected);
    assert_fs_maildir_layout(&env.path("back"));
}

#[test]
fn ls_and_verify_read_an_fs_tree() {
    let env = TestEnv::new();
    let expected = build_fs_tree(&env.path("fs"));
    let events = env.run_json(&["--json", "ls", &env.endpoint("maildir", "fs")], 0);
    let listed: BTreeMap<String, u64> = events_of(&events, "folder")
        .iter()
        .map(|e| {
            (
                e["folder"].as_str().unwrap().to_string(),
                e["messages"].as_u64().unwrap(),
            )
        })
        .collect();
    let counts: BTreeMap<String, u64> = expected
        .iter()
        .map(|(folder, messages)| (folder.clone(), messages.len() as u64))
        .collect();
    assert_eq!(listed, counts);
    let output = env.run(&["ls", &env.endpoint("maildir", "fs")]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("Work/Project"),
        "{}",
        stdout(&output)
    );

    copy(
        &env,
        &[
            &env.endpoint("maildir", "fs"),
            &env.endpoint("maildir", "pp"),
        ],
    );
    copy(
        &env,
        &[
            &env.endpoint("maildir", "pp"),
            &env.endpoint("maildir", "back"),
            "--dst-maildir-layout",
            "fs",
        ],
    );
    // fs tree as the source, and as the destination (found alone).
    for (source, destination) in [("fs", "pp"), ("pp", "back"), ("fs", "back")] {
        let output = env.run(&[
            "verify",
            &env.endpoint("maildir", source),
            &env.endpoint("maildir", destination),
        ]);
        assert_exit(&output, 0);
    }
    // A message gone from a nested folder is missing.
    let project = env.path("back/Work/Project/cur");
    fs::remove_file(project.join(&names(&project)[0])).unwrap();
    let output = env.run(&[
        "verify",
        &env.endpoint("maildir", "fs"),
        &env.endpoint("maildir", "back"),
    ]);
    assert_exit(&output, 1);
    assert!(
        stdout(&output).contains("missing\tWork/Project\t<project@layouts.example.org>"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_tree_in_both_layouts_is_read_whole_and_says_so() {
    let env = TestEnv::new();
    let root = env.path("mixed");
    for dir in ["", ".Sent", "Sent", "Work"] {
        make_folder(&root.join(dir));
    }
    put(&root, "cur/1700000001.M1P1.host:2,S", "inbox");
    put(
        &root,
        ".Sent/cur/1700000002.M1P1.host:2,S",
        "sent-plus-plus",
    );
    put(&root, "Sent/cur/1700000003.M1P1.host:2,S", "sent-fs");
    put(&root, "Work/cur/1700000004.M1P1.host:2,S", "work");
    // (layout, folders read, parts of the warnings)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "auto",
            &["INBOX", "Sent", "Sent~2", "Work"],
            &[
                "holds subfolders in both layouts, Maildir++ (`.Sent`) and fs (`Sent`, `Work`): reading both",
                "/Sent` is read as folder `Sent~2`",
            ],
        ),
        (
            "maildir++",
            &["INBOX", "Sent"],
            &["also holds fs-layout subfolders (`Sent`, `Work`), which the Maildir++ layout leaves out"],
        ),
        (
            "fs",
            &["INBOX", "Sent", "Work"],
            &["also holds Maildir++ subfolders (`.Sent`), which the fs layout leaves out"],
        ),
    ];
    for (layout, folders, warnings) in cases {
        let out = format!("out-{layout}");
        let output = copy(
            &env,
            &[
                &env.endpoint("maildir", "mixed"),
                &env.endpoint("mbox", &out),
                "--src-maildir-layout",
                layout,
            ],
        );
        let copied: Vec<String> = read_mbox_dir(&env.path(&out)).into_keys().collect();
        assert_eq!(copied, *folders, "{layout}");
        for part in *warnings {
            assert!(
                stderr(&output).contains(part),
                "{layout}: {part}\n{}",
                stderr(&output)
            );
        }
    }
    assert_eq!(
        read_mbox_file(&env.path("out-auto/Sent~2.mbox")),
        vec![stored("sent-fs", "S")]
    );
}

#[test]
fn an_mbsync_tree_keeps_inbox_in_its_inbox_directory() {
    let env = TestEnv::new();
    env.copy_fixture("mbox");
    // mbsync with `Inbox ~/Mail/INBOX` and `SubFolders Verbatim`: the root
    // is not a maildir.
    let dst = env.path("mail");
    for dir in ["INBOX", "Sent"] {
        make_folder(&dst.join(dir));
    }
    copy(
        &env,
        &[
            &env.endpoint("mbox", "mbox"),
            &env.endpoint("maildir", "mail"),
        ],
    );
    assert!(!dst.join("cur").exists(), "a second INBOX in the root");
    assert!(!dst.join(".Archive.2023").exists());
    let expected = deduplicated(&read_mbox_dir(&env.path("mbox")));
    // The test reader names the tree's INBOX/ by its path, which is INBOX.
    assert_eq!(sorted(read_fs_maildir(&dst)), sorted(expected));
    let output = env.run(&[
        "verify",
        &env.endpoint("mbox", "mbox"),
        &env.endpoint("maildir", "mail"),
    ]);
    assert_exit(&output, 0);
}

#[test]
fn names_of_maildir_directories_and_hidden_names_stay_apart_and_inside_the_fs_tree() {
    let env = TestEnv::new();
    let src = env.path("src");
    for folder in ["cur", "Work", "Work/new", "tmp/x"] {
        let file = src.join(format!("{folder}.mbox"));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        let mut text = b"From alice@example.org Tue Oct  1 10:00:00 2024\n".to_vec();
        text.extend(message(&folder.replace('/', "-")));
        fs::write(&file, text).unwrap();
    }
    copy(
        &env,
        &[
            &env.endpoint("mbox", "src"),
            &env.endpoint("maildir", "dst"),
            "--dst-maildir-layout",
            "fs",
            "--map",
            "Work=.hidden",
            "--map",
            "tmp=../escape",
        ],
    );
    let folders: Vec<String> = fs_maildir_folders(&env.path("dst"))
        .into_iter()
        .map(|(folder, _)| folder)
        .collect();
    assert_eq!(
        folders,
        ["INBOX", "_../escape/x", "_.hidden", "_.hidden/_new", "_cur"]
    );
    assert!(!env.path("escape").exists());
    assert_fs_maildir_layout(&env.path("dst"));
    // Read back, the names are what the directories say.
    let events = env.run_json(&["--json", "ls", &env.endpoint("maildir", "dst")], 0);
    let listed: Vec<&str> = events_of(&events, "folder")
        .iter()
        .map(|e| e["folder"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["INBOX", "_../escape/x", "_.hidden", "_.hidden/_new", "_cur"]
    );
}

#[test]
fn a_layout_option_for_a_store_that_is_not_a_maildir_is_a_usage_error() {
    let env = TestEnv::new();
    env.copy_fixture("single.mbox");
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "md"),
        "--src-maildir-layout",
        "fs",
    ]);
    assert_exit(&output, 2);
    assert_error_line(
        &output,
        &[
            "--src-maildir-layout fs is for maildir endpoints",
            "single.mbox",
        ],
    );
    let output = env.run(&[
        "copy",
        &env.endpoint("mbox", "single.mbox"),
        &env.endpoint("maildir", "md"),
        "--dst-maildir-layout",
        "verbatim",
    ]);
    assert_exit(&output, 2);
    assert!(!env.path("md").exists());
}

/// A maildir source whose `new/` and `cur/` are unchanged since a pass that
/// left nothing behind is not listed again; anything that changes them, and
/// any message left behind, brings the listing back.
#[test]
fn an_unchanged_source_folder_is_not_listed_again_and_a_failed_message_never_hides() {
    let env = TestEnv::new();
    let src = env.path("src");
    make_folder(&src);
    put(&src, "cur/1700000001.M1P1.host:2,S", "one");
    put(&src, "new/1700000002.M1P1.host", "two");
    // A directory where a message file should be: it cannot be read.
    fs::create_dir(src.join("cur/1700000003.M1P1.host:2,")).unwrap();
    let (from, to) = (
        env.endpoint("maildir", "src"),
        env.endpoint("maildir", "dst"),
    );
    // The summary, and whether the folder was listed (`-vv` says when not).
    let run = |code: i32| {
        let output = env.run(&["copy", "--json", "-vv", &from, &to]);
        assert_exit(&output, code);
        let listed = !stderr(&output).contains("not listed");
        (summary(&json_events(&output)).clone(), listed)
    };

    let (first, _) = run(1);
    assert_eq!(count(&first, "messages_copied"), 2);
    assert_eq!(count(&first, "messages_failed"), 1);
    // Past the settling time of the directories' change stamps: the
    // failure still shows on every run.
    std::thread::sleep(Duration::from_millis(2100));
    for _ in 0..2 {
        let (again, listed) = run(1);
        assert_eq!(count(&again, "messages_failed"), 1);
        assert!(listed);
    }

    fs::remove_dir(src.join("cur/1700000003.M1P1.host:2,")).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let (clean, listed) = run(0);
    assert_eq!(count(&clean, "messages_copied"), 0);
    assert!(listed, "listed once more, to record its stamp");
    let (unchanged, listed) = run(0);
    assert_eq!(count(&unchanged, "messages_copied"), 0);
    assert!(!listed, "an unchanged folder is not listed");

    // New mail changes the stamp, even delivered at once.
    put(&src, "new/1700000004.M1P1.host", "three");
    let (new_mail, listed) = run(0);
    assert_eq!(count(&new_mail, "messages_copied"), 1);
    assert!(listed);
    assert_eq!(read_maildir(&env.path("dst"))["INBOX"].len(), 3);
}
