//! Folder names (src/folder.rs): modified UTF-7, the canonical form, and the
//! on-disk forms derived from it, over hostile names from servers, file
//! systems and the command line.
//!
//! Invariants: `mutf7::encode` is printable ASCII and decodes back (NUL
//! excepted: the strict decoder refuses an encoded NUL, as Dovecot does);
//! whatever decodes encodes back to the same bytes; a `FolderName` is
//! canonical (reparses to itself, no empty component, `INBOX` spelled so);
//! `maildir_dir_name` is one normal directory name starting with `.`, never
//! `.`/`..`, without `/` or NUL, and maps back for names without `.` or
//! control characters; `mbox_relative_path` is relative with one normal
//! component per folder component, none hidden, none with NUL or longer than
//! 255 bytes, and stays under the root; `fs_relative_path` is the same with
//! no level named `cur`, `new` or `tmp`, and maps back for names without a
//! leading `.`, control characters or modified UTF-7 shift sequences; a
//! glob-free name matches itself.

#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use mailtug::folder::{
    folder_from_fs_path, folder_from_maildir_dir, fs_relative_path, glob_matches, maildir_dir_name,
    mbox_relative_path, mutf7, FolderName,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    check_mutf7(text);
    if let Ok(folder) = FolderName::parse(text) {
        check_folder(&folder);
    }
    // Names as an IMAP server with `.` as its delimiter would list them.
    if let Ok(folder) = FolderName::from_components(text.split('.')) {
        check_folder(&folder);
    }
    if let Some(folder) = folder_from_maildir_dir(text) {
        assert!(text.starts_with('.'));
        check_folder(&folder);
    }
    // A pattern against a name, split at the first NUL.
    if let Some((pattern, name)) = text.split_once('\0') {
        if let Ok(folder) = FolderName::parse(name) {
            if pattern.len().saturating_mul(name.len()) <= 1 << 16 {
                let _ = glob_matches(pattern, &folder);
            }
            assert!(glob_matches("**", &folder));
        }
    }
});

fn check_mutf7(text: &str) {
    let encoded = mutf7::encode(text);
    assert!(
        encoded.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "{encoded:?}"
    );
    if !text.contains('\0') {
        assert_eq!(
            mutf7::decode(&encoded).ok().as_deref(),
            Some(text),
            "{encoded:?}"
        );
    }
    if let Ok(decoded) = mutf7::decode(text) {
        assert_eq!(mutf7::encode(&decoded), text, "not canonical");
    }
}

fn check_folder(folder: &FolderName) {
    let name = folder.as_str();
    assert_eq!(
        FolderName::parse(name).ok().as_ref(),
        Some(folder),
        "{name:?}"
    );
    assert!(folder
        .components()
        .all(|c| !c.is_empty() && !c.contains('/')));
    let first = folder.components().next().expect("at least one component");
    if first.eq_ignore_ascii_case("INBOX") {
        assert_eq!(first, "INBOX");
    }
    assert_eq!(folder.is_inbox(), name == "INBOX");

    let root = Path::new("/mail/root");
    match maildir_dir_name(folder) {
        None => assert!(folder.is_inbox()),
        Some(dir) => {
            assert!(!folder.is_inbox());
            assert!(dir.starts_with('.') && dir != "." && dir != "..", "{dir:?}");
            assert!(!dir.contains('/') && !dir.contains('\0'), "{dir:?}");
            assert!(dir.bytes().all(|b| (b' '..=b'~').contains(&b)), "{dir:?}");
            let parts: Vec<Component> = Path::new(&dir).components().collect();
            assert!(matches!(parts[..], [Component::Normal(_)]), "{dir:?}");
            assert_eq!(root.join(&dir).parent(), Some(root), "{dir:?}");
            let back = folder_from_maildir_dir(&dir).expect("a Maildir++ name");
            let ordinary = !name.chars().any(|c| c == '.' || c.is_control());
            if ordinary {
                assert_eq!(&back, folder, "{dir:?}");
            }
        }
    }

    match fs_relative_path(folder) {
        None => assert!(folder.is_inbox()),
        Some(path) => {
            assert!(path.is_relative(), "{path:?}");
            let mut levels = Vec::new();
            for part in path.components() {
                let Component::Normal(part) = part else {
                    panic!("{name:?} gives a non-normal component in {path:?}");
                };
                let part = part.to_str().expect("built from a str");
                assert!(!part.is_empty() && !part.starts_with('.'), "{path:?}");
                assert!(!["cur", "new", "tmp"].contains(&part), "{path:?}");
                assert!(!part.chars().any(char::is_control), "{path:?}");
                assert!(part.len() <= 255, "{path:?}");
                levels.push(part);
            }
            assert_eq!(levels.len(), folder.components().count(), "{path:?}");
            assert!(root.join(&path).starts_with(root));
            let back = folder_from_fs_path(&levels).expect("a name");
            let ordinary = folder.components().all(|c| {
                !c.starts_with('.')
                    && !["cur", "new", "tmp"].contains(&c)
                    && !c.contains('&')
                    && !c.chars().any(char::is_control)
                    && c.len() <= 255
            });
            if ordinary {
                assert_eq!(&back, folder, "{path:?}");
            }
        }
    }

    let path = mbox_relative_path(folder);
    assert!(path.is_relative(), "{path:?}");
    assert_eq!(
        path.components().count(),
        folder.components().count(),
        "{path:?}"
    );
    for part in path.components() {
        let Component::Normal(part) = part else {
            panic!("{name:?} gives a non-normal component in {path:?}");
        };
        let part = part.to_str().expect("built from a str");
        assert!(!part.is_empty() && !part.starts_with('.'), "{path:?}");
        assert!(!part.chars().any(char::is_control), "{path:?}");
        assert!(part.len() <= 255, "{path:?}");
    }
    assert!(
        path.to_str().is_some_and(|p| p.ends_with(".mbox")),
        "{path:?}"
    );
    assert!(root.join(&path).starts_with(root));

    // Matching is quadratic by design; long names would only slow the run.
    if name.len() <= 128 && !name.contains(['*', '?']) {
        assert!(glob_matches(name, folder), "{name:?} does not match itself");
    }
}
