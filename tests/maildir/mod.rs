//! Maildir trees as other tools leave them: info separators other than `:`,
//! messages in `new/` and in `cur/` without flags, keyword letters that
//! `dovecot-keywords` does not name. Each tree is built here, file by file,
//! so the test says what it holds.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crate::util::model::{
    assert_maildir_copy_layout, assert_maildir_layout, header, read_maildir, read_mbox_file, Model,
    Stored,
};
use crate::util::{assert_exit, count, stderr, summary, TestEnv};

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
