//! Stores read back into a comparable model: folder → messages, each message
//! its bytes, its flags and its internal date to the second. Maildirs are read
//! here independently of mailtug (file names, `dovecot-keywords`, mtimes);
//! mbox files through `mailtug::mboxrd::MboxReader`, the one mbox parser.
//!
//! Comparisons print a readable diff: per folder, what is missing and what is
//! extra, and for a message present on both sides with different content,
//! what differs (first differing byte, flags, date).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use mailtug::fingerprint::Fingerprint;
use mailtug::mboxrd::{MboxEntry, MboxReader};
use mailtug::message::Flags;

/// One stored message as the tests compare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stored {
    /// The message bytes (mbox: From_ line, metadata headers and quoting removed).
    pub raw: Vec<u8>,
    /// Canonical flag text, see [`flag_text`].
    pub flags: String,
    /// Internal date in whole seconds: maildir mtime, mbox From_ line date.
    pub date: Option<i64>,
}

impl Stored {
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.raw)
    }

    /// One line naming the message for a diff.
    pub fn describe(&self) -> String {
        let id = header(&self.raw, "message-id")
            .or_else(|| header(&self.raw, "subject").map(|s| format!("subject {s:?}")))
            .unwrap_or_else(|| "(no Message-ID or Subject)".into());
        format!(
            "{id}  size={} flags=[{}] date={}",
            self.raw.len(),
            self.flags,
            self.date.map_or("none".into(), |d| d.to_string())
        )
    }
}

/// Folder name (`/`-separated, INBOX for the root) → messages in store order.
pub type Model = BTreeMap<String, Vec<Stored>>;

/// Flags as text: maildir letters D F R S T in that order, then the keywords
/// sorted, space-separated; `-` when there are none. Independent of the
/// order a store lists keywords in.
pub fn flag_text(flags: &Flags) -> String {
    let mut text = String::new();
    for (set, letter) in [
        (flags.draft, 'D'),
        (flags.flagged, 'F'),
        (flags.answered, 'R'),
        (flags.seen, 'S'),
        (flags.deleted, 'T'),
    ] {
        if set {
            text.push(letter);
        }
    }
    let mut keywords = flags.keywords.clone();
    keywords.sort();
    for keyword in keywords {
        text.push(' ');
        text.push_str(&keyword);
    }
    if text.is_empty() {
        "-".into()
    } else {
        text.trim_start().to_string()
    }
}

// ---------------------------------------------------------------- maildir

/// A maildir tree: the root is INBOX, `.A.B` is folder `A/B`.
pub fn read_maildir(root: &Path) -> Model {
    let mut model = Model::new();
    for (folder, dir) in maildir_folders(root) {
        model.insert(folder, read_maildir_folder(&dir));
    }
    model
}

/// The folders of a maildir tree and their directories.
pub fn maildir_folders(root: &Path) -> Vec<(String, PathBuf)> {
    let mut folders = Vec::new();
    if root.join("cur").is_dir() {
        folders.push(("INBOX".to_string(), root.to_path_buf()));
    }
    let Ok(listing) = fs::read_dir(root) else {
        return folders;
    };
    for entry in listing {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix('.') {
            if entry.path().join("cur").is_dir() {
                folders.push((rest.replace('.', "/"), entry.path()));
            }
        }
    }
    folders.sort();
    folders
}

/// An fs-layout maildir tree (mbsync `SubFolders Verbatim`, Dovecot
/// `LAYOUT=fs`): the root is INBOX, directory `A/B/` is folder `A/B`.
pub fn read_fs_maildir(root: &Path) -> Model {
    let mut model = Model::new();
    for (folder, dir) in fs_maildir_folders(root) {
        model.insert(folder, read_maildir_folder(&dir));
    }
    model
}

/// The folders of an fs-layout maildir tree and their directories: every
/// directory with a `cur/`, named by its path below the root (as written,
/// not decoded), walking all directories but `cur`, `new`, `tmp` and hidden
/// ones.
pub fn fs_maildir_folders(root: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        if dir.join("cur").is_dir() {
            let relative = dir.strip_prefix(root).unwrap().to_string_lossy();
            let folder = if relative.is_empty() {
                "INBOX".to_string()
            } else {
                relative.into_owned()
            };
            out.push((folder, dir.to_path_buf()));
        }
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir()
                && !name.starts_with('.')
                && !["cur", "new", "tmp"].contains(&name.as_str())
            {
                walk(root, &entry.path(), out);
            }
        }
    }
    let mut folders = Vec::new();
    if root.is_dir() {
        walk(root, root, &mut folders);
    }
    folders.sort();
    folders
}

/// A maildir file: unique name, info letters (None in `new/`), path.
pub struct MaildirFile {
    pub unique: String,
    pub info: Option<String>,
    pub path: PathBuf,
    pub in_new: bool,
}

/// The message files of one maildir folder, sorted by unique name (the
/// order mailtug reads them in). Dot files are not messages.
pub fn maildir_files(dir: &Path) -> Vec<MaildirFile> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let (unique, info) = match name.split_once(":2,") {
                Some((unique, info)) => (unique.to_string(), Some(info.to_string())),
                None => (name.clone(), None),
            };
            files.push(MaildirFile {
                unique,
                info,
                path: entry.path(),
                in_new: sub == "new",
            });
        }
    }
    files.sort_by(|a, b| a.unique.cmp(&b.unique));
    files
}

/// `dovecot-keywords`: index → keyword.
pub fn maildir_keywords(dir: &Path) -> BTreeMap<usize, String> {
    let text = fs::read_to_string(dir.join("dovecot-keywords")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (index, name) = line.split_once(' ')?;
            Some((index.parse().ok()?, name.trim().to_string()))
        })
        .collect()
}

/// Flags from maildir info letters and the folder's keyword table.
pub fn maildir_flags(info: &str, keywords: &BTreeMap<usize, String>) -> Flags {
    let mut flags = Flags::default();
    for letter in info.chars() {
        match letter {
            'D' => flags.draft = true,
            'F' => flags.flagged = true,
            'R' => flags.answered = true,
            'S' => flags.seen = true,
            'T' => flags.deleted = true,
            'P' => flags.add_keyword("$Forwarded"),
            'a'..='z' => {
                let index = letter as usize - 'a' as usize;
                let keyword = keywords
                    .get(&index)
                    .cloned()
                    .unwrap_or_else(|| format!("?undefined-letter-{letter}"));
                flags.add_keyword(&keyword);
            }
            other => flags.add_keyword(&format!("?unknown-letter-{other}")),
        }
    }
    flags
}

pub fn read_maildir_folder(dir: &Path) -> Vec<Stored> {
    let keywords = maildir_keywords(dir);
    maildir_files(dir)
        .into_iter()
        .map(|file| {
            let meta = fs::metadata(&file.path).unwrap();
            Stored {
                raw: fs::read(&file.path).unwrap(),
                flags: flag_text(&maildir_flags(
                    file.info.as_deref().unwrap_or(""),
                    &keywords,
                )),
                date: Some(seconds(meta.modified().unwrap())),
            }
        })
        .collect()
}

fn seconds(time: std::time::SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

// ---------------------------------------------------------------- mbox

/// Every entry of an mbox file; panics, naming the file, if it does not parse.
pub fn mbox_entries(path: &Path) -> Vec<MboxEntry> {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    MboxReader::new(BufReader::new(file), 0)
        .enumerate()
        .map(|(i, entry)| {
            entry.unwrap_or_else(|e| {
                panic!(
                    "{} does not parse as mbox at message {i}: {e}",
                    path.display()
                )
            })
        })
        .collect()
}

pub fn read_mbox_file(path: &Path) -> Vec<Stored> {
    mbox_entries(path)
        .into_iter()
        .map(|entry| Stored {
            raw: entry.raw,
            flags: flag_text(&entry.flags),
            date: entry.date.map(seconds),
        })
        .collect()
}

/// The `*.mbox` files of a directory tree: `Archive/2023.mbox` is folder
/// `Archive/2023`.
pub fn mbox_files(root: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else if let Some(relative) = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .strip_suffix(".mbox")
            {
                out.push((relative.to_string(), path.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

pub fn read_mbox_dir(root: &Path) -> Model {
    mbox_files(root)
        .into_iter()
        .map(|(folder, path)| (folder, read_mbox_file(&path)))
        .collect()
}

// ---------------------------------------------------------------- comparing

/// The model with later copies of a fingerprint in the same folder dropped:
/// what a deduplicating copy of it stores.
pub fn deduplicated(model: &Model) -> Model {
    model
        .iter()
        .map(|(folder, messages)| {
            let mut seen = HashSet::new();
            let kept = messages
                .iter()
                .filter(|m| seen.insert(m.fingerprint()))
                .cloned()
                .collect();
            (folder.clone(), kept)
        })
        .collect()
}

/// The model with folders renamed.
pub fn renamed(model: &Model, rename: impl Fn(&str) -> String) -> Model {
    model
        .iter()
        .map(|(folder, messages)| (rename(folder), messages.clone()))
        .collect()
}

/// The model with every message passed through `f`.
pub fn mapped(model: &Model, f: impl Fn(&Stored) -> Stored) -> Model {
    model
        .iter()
        .map(|(folder, messages)| (folder.clone(), messages.iter().map(&f).collect()))
        .collect()
}

/// Total message count.
pub fn total(model: &Model) -> usize {
    model.values().map(Vec::len).sum()
}

/// Asserts two stores hold the same messages per folder (as multisets),
/// printing a readable diff otherwise.
#[track_caller]
pub fn assert_same_messages(expected: &Model, actual: &Model, what: &str) {
    if let Some(diff) = diff_models(expected, actual) {
        panic!("{what}: stores differ (- expected, + actual)\n{diff}");
    }
}

/// Like [`assert_same_messages`], ignoring internal dates.
#[track_caller]
pub fn assert_same_messages_ignoring_dates(expected: &Model, actual: &Model, what: &str) {
    let strip = |model: &Model| {
        mapped(model, |m| Stored {
            date: None,
            ..m.clone()
        })
    };
    assert_same_messages(&strip(expected), &strip(actual), what);
}

/// `None` when equal; otherwise a diff listing every difference.
pub fn diff_models(expected: &Model, actual: &Model) -> Option<String> {
    let mut out = String::new();
    let folders: std::collections::BTreeSet<&String> =
        expected.keys().chain(actual.keys()).collect();
    for folder in folders {
        match (expected.get(folder), actual.get(folder)) {
            (Some(e), None) => {
                let _ = writeln!(out, "- folder {folder:?} ({} messages) is missing", e.len());
            }
            (None, Some(a)) => {
                let _ = writeln!(out, "+ folder {folder:?} ({} messages) is extra", a.len());
            }
            (Some(e), Some(a)) => {
                if let Some(diff) = diff_messages(e, a) {
                    let _ = writeln!(out, "in folder {folder:?}:\n{diff}");
                }
            }
            (None, None) => unreachable!(),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Multiset difference of two message lists, with near-misses explained.
pub fn diff_messages(expected: &[Stored], actual: &[Stored]) -> Option<String> {
    let mut missing: Vec<&Stored> = expected.iter().collect();
    let mut extra: Vec<&Stored> = Vec::new();
    missing.sort();
    for message in actual {
        match missing.binary_search(&message) {
            Ok(i) => {
                missing.remove(i);
            }
            Err(_) => extra.push(message),
        }
    }
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {} expected, {} actual; {} missing, {} extra",
        expected.len(),
        actual.len(),
        missing.len(),
        extra.len()
    );
    const SHOWN: usize = 20;
    for m in missing.iter().take(SHOWN) {
        let _ = writeln!(out, "  - {}", m.describe());
        if let Some(near) = extra.iter().find(|x| x.fingerprint() == m.fingerprint()) {
            let _ = writeln!(out, "    + {}", near.describe());
            let _ = writeln!(out, "      {}", explain(m, near));
        }
    }
    for x in extra.iter().take(SHOWN) {
        if !missing.iter().any(|m| m.fingerprint() == x.fingerprint()) {
            let _ = writeln!(out, "  + {}", x.describe());
        }
    }
    if missing.len() > SHOWN || extra.len() > SHOWN {
        let _ = writeln!(out, "  … (only the first {SHOWN} of each shown)");
    }
    Some(out)
}

/// What differs between two versions of one message.
fn explain(expected: &Stored, actual: &Stored) -> String {
    let mut parts = Vec::new();
    if expected.raw != actual.raw {
        let at = expected
            .raw
            .iter()
            .zip(&actual.raw)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.raw.len().min(actual.raw.len()));
        let context = |raw: &[u8]| {
            let start = at.saturating_sub(20);
            String::from_utf8_lossy(&raw[start..(at + 40).min(raw.len())]).into_owned()
        };
        parts.push(format!(
            "bytes differ from offset {at}: expected {:?}, actual {:?}",
            context(&expected.raw),
            context(&actual.raw)
        ));
    }
    if expected.flags != actual.flags {
        parts.push(format!(
            "flags [{}] became [{}]",
            expected.flags, actual.flags
        ));
    }
    if expected.date != actual.date {
        parts.push(format!("date {:?} became {:?}", expected.date, actual.date));
    }
    parts.join("; ")
}

/// The unfolded value of the first header `name` (case-insensitive).
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.lines();
    let mut value: Option<String> = None;
    for line in lines.by_ref() {
        if line.is_empty() || line == "\r" {
            break;
        }
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push_str(line.trim_end_matches('\r'));
                continue;
            }
            break;
        }
        if let Some((field, rest)) = line.split_once(':') {
            if field.trim().eq_ignore_ascii_case(name) {
                value = Some(rest.trim_end_matches('\r').to_string());
            }
        }
    }
    value.map(|v| v.trim().to_string())
}

// ---------------------------------------------------------------- layouts

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Checks a maildir tree mailtug wrote from another store: modes (files
/// 0600, directories 0700), empty `tmp/`, unflagged messages in `new/`
/// without an info suffix, everything else in `cur/` with `:2,` and letters
/// in ASCII order, known keyword letters, and `,S=` equal to the file size.
#[track_caller]
pub fn assert_maildir_layout(root: &Path) {
    check_maildir_layout(root, &maildir_folders(root), false);
}

/// [`assert_maildir_layout`] for a copy of a maildir, whose messages keep
/// their place and their letters: a file in `cur/` may have no flag (the
/// source held it in `cur/`, read), and a keyword letter may have no name
/// (the source's `dovecot-keywords` did not name it either).
#[track_caller]
pub fn assert_maildir_copy_layout(root: &Path) {
    check_maildir_layout(root, &maildir_folders(root), true);
}

/// [`assert_maildir_layout`] for an fs-layout tree, which also holds no
/// Maildir++ subfolder and no `maildirfolder` marker.
#[track_caller]
pub fn assert_fs_maildir_layout(root: &Path) {
    check_fs_maildir_layout(root, false);
}

/// [`assert_maildir_copy_layout`] for an fs-layout tree.
#[track_caller]
pub fn assert_fs_maildir_copy_layout(root: &Path) {
    check_fs_maildir_layout(root, true);
}

#[track_caller]
fn check_fs_maildir_layout(root: &Path, from_maildir: bool) {
    let plus_plus = maildir_folders(root);
    assert!(
        plus_plus.iter().all(|(folder, _)| folder == "INBOX"),
        "{} holds Maildir++ folders: {plus_plus:?}",
        root.display()
    );
    let folders = fs_maildir_folders(root);
    for (folder, dir) in &folders {
        assert!(
            !dir.join("maildirfolder").exists(),
            "folder {folder}: a Maildir++ marker in an fs-layout tree"
        );
    }
    check_maildir_layout(root, &folders, from_maildir);
}

#[track_caller]
fn check_maildir_layout(root: &Path, folders: &[(String, PathBuf)], from_maildir: bool) {
    let mut problems = Vec::new();
    if folders.is_empty() {
        problems.push(format!("{} holds no maildir folder", root.display()));
    }
    for (folder, dir) in folders {
        for sub in ["cur", "new", "tmp"] {
            if !dir.join(sub).is_dir() {
                problems.push(format!("folder {folder}: no {sub}/"));
            }
        }
        let leftovers: Vec<String> = fs::read_dir(dir.join("tmp"))
            .map(|l| {
                l.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if !leftovers.is_empty() {
            problems.push(format!("folder {folder}: tmp/ is not empty: {leftovers:?}"));
        }
        let keywords = maildir_keywords(dir);
        for file in maildir_files(dir) {
            let name = file
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            match (&file.info, file.in_new) {
                (None, true) => {}
                (Some(_), true) => {
                    problems.push(format!("folder {folder}: new/{name} has an info suffix"))
                }
                (None, false) => {
                    problems.push(format!("folder {folder}: cur/{name} has no `:2,` suffix"))
                }
                (Some(info), false) => {
                    let letters: Vec<char> = info.chars().collect();
                    if letters.is_empty() && !from_maildir {
                        problems.push(format!(
                            "folder {folder}: cur/{name} has no flags; it belongs in new/"
                        ));
                    }
                    if !letters.windows(2).all(|w| w[0] < w[1]) {
                        problems.push(format!(
                            "folder {folder}: cur/{name}: letters not in strict ASCII order"
                        ));
                    }
                    for letter in letters.iter().filter(|c| c.is_ascii_lowercase()) {
                        let index = *letter as usize - 'a' as usize;
                        if !keywords.contains_key(&index) && !from_maildir {
                            problems.push(format!(
                                "folder {folder}: cur/{name}: keyword letter {letter} is not in dovecot-keywords"
                            ));
                        }
                    }
                }
            }
            if let Some(size) = file
                .unique
                .split(",S=")
                .nth(1)
                .and_then(|s| s.split(',').next())
            {
                let actual = fs::metadata(&file.path).unwrap().len();
                if size.parse::<u64>().ok() != Some(actual) {
                    problems.push(format!(
                        "folder {folder}: {name}: S={size} but the file has {actual} bytes"
                    ));
                }
            }
        }
    }
    check_modes(root, &mut problems);
    assert!(
        problems.is_empty(),
        "maildir {} is not laid out as it should be:\n  {}",
        root.display(),
        first_problems(&problems)
    );
}

/// Checks an mbox file mailtug wrote: mode 0600, no lock or journal beside
/// it, it parses to the end, its messages tile the file, and every line
/// starting `From ` is a message separator (bodies are quoted).
#[track_caller]
pub fn assert_mbox_file_layout(path: &Path) {
    let mut problems = Vec::new();
    if mode(path) != 0o600 {
        problems.push(format!("mode {:o}, expected 600", mode(path)));
    }
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let dir = path.parent().unwrap();
    for leftover in [format!("{name}.lock"), format!(".{name}.mailtug-journal")] {
        if dir.join(&leftover).exists() {
            problems.push(format!("{leftover} was left behind"));
        }
    }
    let bytes = fs::read(path).unwrap();
    let entries = mbox_entries(path);
    let mut at = 0;
    for entry in &entries {
        if entry.start != at {
            problems.push(format!("message at {} does not start at {at}", entry.start));
        }
        at = entry.end;
    }
    if at != bytes.len() as u64 {
        problems.push(format!(
            "the messages end at byte {at}, the file at {}",
            bytes.len()
        ));
    }
    let from_lines = bytes
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"From "))
        .count();
    if from_lines != entries.len() {
        problems.push(format!(
            "{from_lines} lines start with `From ` but there are {} messages: a body line is not quoted",
            entries.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "mbox {} is not what it should be:\n  {}",
        path.display(),
        first_problems(&problems)
    );
}

/// [`assert_mbox_file_layout`] for every file of an mbox tree, plus
/// directory modes and no stray files.
#[track_caller]
pub fn assert_mbox_dir_layout(root: &Path) {
    let mut problems = Vec::new();
    check_modes(root, &mut problems);
    for file in super::list_files(root) {
        if !file.to_string_lossy().ends_with(".mbox") {
            problems.push(format!("stray file {}", file.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "mbox tree {} is not what it should be:\n  {}",
        root.display(),
        first_problems(&problems)
    );
    for (_, path) in mbox_files(root) {
        assert_mbox_file_layout(&path);
    }
}

/// The first problems, one a line, and how many more there are.
fn first_problems(problems: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = problems[..problems.len().min(SHOWN)].join("\n  ");
    if problems.len() > SHOWN {
        text.push_str(&format!("\n  … and {} more", problems.len() - SHOWN));
    }
    text
}

fn check_modes(dir: &Path, problems: &mut Vec<String>) {
    if mode(dir) != 0o700 {
        problems.push(format!(
            "directory {} has mode {:o}",
            dir.display(),
            mode(dir)
        ));
    }
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let file_type = entry.file_type().unwrap();
        if file_type.is_dir() {
            check_modes(&path, problems);
        } else if !file_type.is_file() {
            problems.push(format!("{} is not a regular file", path.display()));
        } else if mode(&path) != 0o600 {
            problems.push(format!(
                "file {} has mode {:o}",
                path.display(),
                mode(&path)
            ));
        }
    }
}

/// Every message at the destination is a source message, none twice.
#[track_caller]
pub fn assert_only_source_messages(expected: &[Stored], actual: &[Stored], what: &str) {
    let mut seen = HashSet::new();
    for message in actual {
        assert!(
            seen.insert(message.fingerprint()),
            "{what}: the destination holds {} twice",
            message.describe()
        );
        if !expected.contains(message) {
            let diff = diff_messages(expected, std::slice::from_ref(message)).unwrap_or_default();
            panic!("{what}: the destination holds a message the source does not:\n{diff}");
        }
    }
}
