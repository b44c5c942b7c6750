//! Folders made in a Dovecot user's maildir behind the server's back, as a
//! damaged or foreign store holds them: Dovecot lists whatever directories
//! its maildir holds, including names it would refuse to CREATE.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use super::User;

/// Makes directory `dir_name` (Maildir++: `.` + the name in modified UTF-7,
/// any bytes) in the user's maildir with `message` as the one file in its
/// `cur/`, named `file_name` (a maildir name with its flags, such as
/// `1577872800.M1P1.planted:2,S`), all owned like the rest of the user's
/// mail. The user's maildir must exist (load INBOX first). Returns the
/// folder directory.
pub fn plant_folder(user: &User, dir_name: &[u8], file_name: &str, message: &[u8]) -> PathBuf {
    let owner = fs::metadata(user.maildir()).unwrap();
    let dir = user.maildir().join(OsStr::from_bytes(dir_name));
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let file = dir.join("cur").join(file_name);
    fs::write(&file, message).unwrap();
    for path in [
        &dir,
        &dir.join("cur"),
        &dir.join("new"),
        &dir.join("tmp"),
        &file,
    ] {
        chown(path, Some(owner.uid()), Some(owner.gid())).unwrap();
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}
