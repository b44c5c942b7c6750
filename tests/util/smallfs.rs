//! A destination that runs out of room, for the disk-full tests.
//!
//! As root (as CI runs), a real `tmpfs` of a few hundred KiB is mounted on a
//! directory of the test: writes past its size fail with ENOSPC, exactly as
//! on a full disk, and it can be grown (`remount,size=`, which keeps its
//! files) or made read-only (`remount,ro`, which stops root too). Without
//! the privilege to mount, the fault is made with `RLIMIT_FSIZE` instead:
//! the binary runs with a file-size limit and SIGXFSZ ignored, so a write
//! past the limit fails with EFBIG. That limit is per file, so a source for
//! these tests must hold a message larger than the limit. If neither way
//! works, the test fails saying so: it never passes without the fault.
//! `MAILTUG_TEST_FSIZE_LIMIT=1` uses the limit even where a tmpfs could be
//! mounted, to check that way too.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the fault is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A tmpfs of this many bytes is mounted on the directory.
    Tmpfs,
    /// The binary runs with `RLIMIT_FSIZE` at this many bytes.
    FileSizeLimit(u64),
}

/// A directory whose writes fail once `bytes` are used (see the module docs).
pub struct SmallFs {
    dir: PathBuf,
    pub fault: Fault,
    mounted: bool,
}

impl SmallFs {
    /// Creates `dir` and mounts a tmpfs of `bytes` on it; without the
    /// privilege, leaves `dir` a plain directory and limits file sizes to
    /// `bytes` in the commands [`SmallFs::limit`] prepares.
    pub fn new(dir: &Path, bytes: u64) -> SmallFs {
        std::fs::create_dir_all(dir).expect("creating the mount point");
        let mounted = if std::env::var_os("MAILTUG_TEST_FSIZE_LIMIT").is_some() {
            Err(io::Error::other("MAILTUG_TEST_FSIZE_LIMIT is set"))
        } else {
            mount(dir, &format!("size={bytes},mode=0700"), 0)
        };
        match mounted {
            Ok(()) => SmallFs {
                dir: dir.to_path_buf(),
                fault: Fault::Tmpfs,
                mounted: true,
            },
            Err(mount_error) => {
                assert!(
                    file_size_limit_works(dir, bytes),
                    "cannot make a full disk: mounting a tmpfs failed ({mount_error}) \
                     and RLIMIT_FSIZE does not stop writes either"
                );
                SmallFs {
                    dir: dir.to_path_buf(),
                    fault: Fault::FileSizeLimit(bytes),
                    mounted: false,
                }
            }
        }
    }

    /// The text of the OS error a write past the limit gets.
    pub fn error_text(&self) -> &'static str {
        match self.fault {
            Fault::Tmpfs => "No space left on device",
            Fault::FileSizeLimit(_) => "File too large",
        }
    }

    /// Makes `command` (the binary) run into the limit: a no-op with a
    /// tmpfs, the file-size limit otherwise.
    pub fn limit(&self, command: &mut Command) {
        if let Fault::FileSizeLimit(bytes) = self.fault {
            // SAFETY: setrlimit and signal are async-signal-safe system calls.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    // Ignored, a write past the limit fails with EFBIG
                    // instead of killing the process.
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
    }

    /// Frees room: grows the tmpfs to `bytes`, keeping its files (with the
    /// file-size limit, the next runs simply go without it).
    pub fn grow(&mut self, bytes: u64) {
        if self.mounted {
            mount(
                &self.dir,
                &format!("size={bytes}"),
                libc::MS_REMOUNT as libc::c_ulong,
            )
            .unwrap_or_else(|e| panic!("growing the tmpfs on {}: {e}", self.dir.display()));
        }
        self.fault = match self.fault {
            Fault::Tmpfs => Fault::Tmpfs,
            Fault::FileSizeLimit(_) => Fault::FileSizeLimit(u64::MAX),
        };
    }

    /// Makes the tmpfs read-only, for root too; false when there is no tmpfs.
    pub fn make_read_only(&self) -> bool {
        if !self.mounted {
            return false;
        }
        let flags = (libc::MS_REMOUNT | libc::MS_RDONLY) as libc::c_ulong;
        mount(&self.dir, "", flags)
            .unwrap_or_else(|e| panic!("remounting {} read-only: {e}", self.dir.display()));
        true
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        if self.mounted {
            let path = c_path(&self.dir);
            // Detached, so a file still open somewhere cannot keep it mounted.
            // SAFETY: a valid NUL-terminated path.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}

fn mount(dir: &Path, options: &str, flags: libc::c_ulong) -> io::Result<()> {
    let (source, target, kind) = (c"tmpfs", c_path(dir), c"tmpfs");
    let data = CString::new(options).expect("options without NUL");
    // SAFETY: valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            kind.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Checks that a `dd` run with the file-size limit fails to write past it.
fn file_size_limit_works(dir: &Path, bytes: u64) -> bool {
    let probe = dir.join("fsize-probe");
    let mut command = Command::new("dd");
    command
        .arg("if=/dev/zero")
        .arg(format!("of={}", probe.display()))
        .arg("bs=1024")
        .arg(format!("count={}", bytes / 1024 + 8));
    let limited = SmallFs {
        dir: dir.to_path_buf(),
        fault: Fault::FileSizeLimit(bytes),
        mounted: false,
    };
    limited.limit(&mut command);
    let failed = command.output().is_ok_and(|out| !out.status.success());
    let size = std::fs::metadata(&probe).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&probe);
    failed && size <= bytes
}
