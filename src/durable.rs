//! Making writes survive a crash: the few file-system steps every store and
//! the checkpoint need, in one place, so the order (data, fsync, rename,
//! fsync of the directory) is written down once.
//!
//! Everything mailtug creates is private: files 0600, directories 0700.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Runs file-system work that can block for long (writes, fsync and
/// `syncfs`, reading or listing many files) on an async worker thread
/// without stalling the other tasks queued on it: tokio moves them to
/// another thread first (`block_in_place`). A runtime with one thread (the
/// unit tests) runs the work in place.
pub fn blocking<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Creates `dir` and its missing parents, mode 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Flushes a directory, making the renames and creations in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Flushes the directory that holds `path`.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the
/// new content under that name, never a mix or an empty file: write to a
/// temp file beside it (0600), fsync, rename over, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        rename_durably(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The temp name beside `path` that this process builds its replacement
/// under (see [`remove_stale_temps`]).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

/// Creates an empty file, mode 0600, replacing any file of that name.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// Flushes a file's data and metadata.
pub fn sync_file(path: &Path) -> io::Result<()> {
    OpenOptions::new().read(true).open(path)?.sync_all()
}

/// Moves a complete, already flushed `temp` over `path` and makes the move
/// durable. Order is important: the rename must follow the data's fsync.
pub fn rename_durably(temp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(temp, path)?;
    sync_parent(path)
}

/// Removes temp files that `write_atomically` left beside `path` when its
/// process was killed mid-write (their writer is gone).
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp.", name.to_string_lossy());
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    for entry in listing.flatten() {
        let file_name = entry.file_name();
        // The pid may be followed by a suffix of a file that belongs to the
        // temp file (SQLite's `-journal` while a state file is built).
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
            })
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// True unless the process is known to be gone.
pub fn process_exists(pid: i32) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_writes_replace_whole_files_privately() {
        let dir = std::env::temp_dir().join(format!("mailtug-durable-{}", std::process::id()));
        create_private_dir(&dir.join("a/b")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("a/b")), 0o700);
        let file = dir.join("a/b/state");
        write_atomically(&file, b"one").unwrap();
        write_atomically(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            fs::read_dir(dir.join("a/b")).unwrap().count(),
            1,
            "no temp file left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
