//! What the test servers have in common with the system: processes that
//! cannot outlive the test process, free ports, programs, accounts.
//!
//! Invariant: every server process is forked by one keeper thread that lives
//! as long as the test process, with a parent-death signal
//! (`PR_SET_PDEATHSIG`). The kernel sends that signal when the thread that
//! forked the child ends (not the process: forking from a test thread would
//! kill the server when that test returns), so a server goes when the test
//! process goes, whether it returns, panics or is killed with SIGKILL.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

/// `n` ports nothing listens on now. Found by binding port 0 and closing the
/// socket, so another process may take one before the server binds it:
/// servers retry with new ports then.
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// How many sets of free ports a server tries: one may be taken by another
/// process before the server binds it (see `free_ports`).
pub const PORT_ATTEMPTS: usize = 5;

/// The four ports of a test server on 127.0.0.1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ports {
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
}

impl Ports {
    /// Four ports nothing listens on now (see `free_ports`).
    pub fn free() -> io::Result<Ports> {
        let ports = free_ports(4)?;
        Ok(Ports {
            imap: ports[0],
            imaps: ports[1],
            pop3: ports[2],
            pop3s: ports[3],
        })
    }

    /// All four: IMAP, IMAPS, POP3, POP3S.
    pub fn all(self) -> [u16; 4] {
        [self.imap, self.imaps, self.pop3, self.pop3s]
    }
}

/// Why an attempt to start a server failed.
pub enum Failure {
    /// Another process took one of its ports: try new ones.
    PortTaken,
    Other(String),
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn is_open(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Whether `child` has exited, without reaping it.
pub fn has_exited(child: &Child) -> bool {
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    let rc = unsafe { libc::waitid(libc::P_PID, child.id(), &mut info, flags) };
    // With WNOHANG, si_pid stays 0 while the child runs.
    rc != 0 || unsafe { info.si_pid() } != 0
}

/// Forks `command` from the keeper thread, in a process group of its own,
/// with `death_signal` as its parent-death signal, so it gets that signal
/// when the test process ends in any way (see the module docs). The signal
/// must be one the program does not block or ignore: `unshare --fork`
/// blocks SIGTERM while it waits for its child, so it needs SIGKILL.
pub fn spawn_kept(mut command: Command, death_signal: libc::c_int) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static KEEPER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (requests, inbox) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("server-keeper".to_owned())
            .spawn(move || {
                // Never returns: the static sender is never dropped.
                for (mut command, reply) in inbox {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("starting the server keeper thread");
        requests
    });
    let parent = std::process::id();
    // SAFETY: the closure only makes async-signal-safe calls.
    unsafe {
        command.pre_exec(move || {
            // A process group of its own: `stop` can kill the stragglers, and
            // a Ctrl-C in the terminal reaches the tests, not the server.
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The test process may have died before the prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("the test process is gone"));
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    keeper
        .send((command, reply))
        .expect("the server keeper thread is alive");
    answer.recv().expect("the server keeper thread is alive")
}

/// Where `name` is installed: PATH, then the sbin directories a non-root PATH
/// on Debian lacks.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|file| {
            fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The last `lines` lines of the file at `path` (nothing if it cannot be
/// read), for failure messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn user_by_name(name: &str) -> Option<(String, u32, u32)> {
    let name = CString::new(name).ok()?;
    passwd_entry(|entry, buf, len, result| unsafe {
        libc::getpwnam_r(name.as_ptr(), entry, buf, len, result)
    })
}

pub fn user_by_uid(uid: u32) -> Option<(String, u32, u32)> {
    passwd_entry(|entry, buf, len, result| unsafe {
        libc::getpwuid_r(uid, entry, buf, len, result)
    })
}

fn passwd_entry(
    lookup: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<(String, u32, u32)> {
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result = std::ptr::null_mut();
    if lookup(&mut entry, buf.as_mut_ptr(), buf.len(), &mut result) != 0 || result.is_null() {
        return None;
    }
    let name = unsafe { CStr::from_ptr(entry.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((name, entry.pw_uid, entry.pw_gid))
}

pub fn group_name(gid: u32) -> Result<String, String> {
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result = std::ptr::null_mut();
    let rc = unsafe { libc::getgrgid_r(gid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return Err(format!(
            "gid {gid} has no name in the group database; the test servers need one"
        ));
    }
    Ok(unsafe { CStr::from_ptr(entry.gr_name) }
        .to_string_lossy()
        .into_owned())
}

/// What to tell someone whose machine lacks Cyrus or Courier.
pub const INSTALL_HINT: &str = "run `scripts/test` as root once (it runs \
    `scripts/install-test-servers`, which unpacks the packages into \
    $MAILTUG_TEST_SERVERS, default /var/cache/mailtug-test-servers)";

/// Where `scripts/install-test-servers` unpacked the packages of the servers
/// other than Dovecot: `$MAILTUG_TEST_SERVERS`, by default
/// `/var/cache/mailtug-test-servers`.
pub fn test_servers_dir() -> PathBuf {
    std::env::var_os("MAILTUG_TEST_SERVERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/mailtug-test-servers"))
}

/// The unpacked tree `name` (`cyrus`, `courier`), once complete (the
/// install script writes its marker last).
pub fn unpacked_tree(name: &str, what: &str) -> Result<PathBuf, String> {
    let tree = test_servers_dir().join(name);
    if tree.join(".mailtug-unpacked").is_file() {
        Ok(tree)
    } else {
        Err(format!(
            "{what} is not installed for the tests (no `{}`): {INSTALL_HINT}",
            tree.display()
        ))
    }
}

/// Ends a server started in its own PID namespace (`unshare --pid --fork
/// --kill-child`): SIGKILL to `unshare` makes the kernel kill its child,
/// the namespace's first process, and with it every process of the
/// namespace, at once. Then reaps `unshare`.
pub fn kill_namespace(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The pid (in this PID namespace) of the first process `unshare --fork`
/// started, for `nsenter --target`.
pub fn namespace_leader(unshare: &Child) -> Option<u32> {
    let pid = unshare.id();
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Unique user names for parallel tests: `hint` made lower-case alphanumeric
/// and `-` (a name every test server accepts), then a sequence number.
pub fn unique_user_name(hint: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEQUENCE: AtomicUsize = AtomicUsize::new(1);
    let mut stem: String = hint
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    stem = stem.trim_matches('-').to_owned();
    if stem.is_empty() {
        stem = "user".to_owned();
    }
    format!("{stem}-{}", SEQUENCE.fetch_add(1, Ordering::Relaxed))
}

/// Checks that every ancestor of `dir` can be walked by other users, as the
/// servers' unprivileged processes need when the tests run as root.
pub fn check_searchable(dir: &Path, server: &str) -> Result<(), String> {
    for ancestor in dir.ancestors().skip(1) {
        let mode = fs::metadata(ancestor)
            .map_err(|e| format!("reading `{}`: {e}", ancestor.display()))?
            .permissions()
            .mode();
        if mode & 0o001 == 0 {
            return Err(format!(
                "`{}` is not searchable by other users, as {server}'s processes need: \
                 set TMPDIR to a directory such as /tmp",
                ancestor.display()
            ));
        }
    }
    Ok(())
}

/// Changes the owner of `path` and everything below it.
pub fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// A random-enough secret for an account no test logs in to by hand.
pub fn random_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("Adm{:x}{:x}", nanos, std::process::id())
}

/// The first line a server sends on 127.0.0.1:`port`, if one comes within a
/// second (a check that the port is ours, not some other process's).
pub fn greeting(port: u16) -> Option<String> {
    use std::io::BufRead as _;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line)
}

/// Removes the directories (`PREFIX<pid>-<n>`) of earlier test processes
/// that are gone.
pub fn remove_stale_dirs(prefix: &str) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('-') else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The install hint, if `log` shows the dynamic loader missing a library
/// (the unpacked tree is there, the libraries apt installs are not).
pub fn missing_libraries_hint(log: &str) -> String {
    if log.contains("error while loading shared libraries") {
        format!("\na shared library is missing: {INSTALL_HINT}")
    } else {
        String::new()
    }
}
