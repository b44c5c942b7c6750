//! The life of a test server that runs in a PID namespace of its own (Cyrus,
//! Courier): start on free ports, wait until it greets, stop, clean up.
//! What differs between the servers (how to run one, how it greets, where
//! its logs are, how its failures read) is `ConfinedServer`, in its own file.
//!
//! Invariants:
//! - No such server outlives the test process. It runs under `unshare --pid
//!   --fork --kill-child`, forked by the keeper thread (see `system.rs`) with
//!   SIGKILL as its parent-death signal. When the test process ends,
//!   `unshare` is killed, `--kill-child` kills its child, the namespace's
//!   first process, and the kernel kills every process of a namespace whose
//!   first process died. (`unshare` blocks SIGTERM while it waits, hence
//!   SIGKILL.)
//! - Each instance has a directory of its own, `$TMPDIR/mailtug-NAME-<pid>-<n>`,
//!   removed on drop, unless the test is panicking or the start failed: then
//!   it holds the logs the failure names.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::system::{
    find_program, greeting, is_open, kill_namespace, namespace_leader, remove_stale_dirs,
    spawn_kept, Failure, Ports, PORT_ATTEMPTS,
};

/// How long a server may take to open its ports.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The process of one instance: `unshare`, the outside end of the
/// namespace, once started; the instance's directory and ports.
pub struct Confined {
    /// For messages: `cyrus`, `courier`.
    name: &'static str,
    dir: PathBuf,
    ports: Ports,
    unshare_program: PathBuf,
    /// `None` until started, and after `stop`.
    unshare: Option<Child>,
    /// Set when a start failed: the directory holds the logs the error
    /// names, so drop keeps it.
    keep_dir: bool,
}

/// What the greetings on the plain ports say once all four ports are open.
pub enum Readiness {
    /// The server's own greetings: it is up.
    Ready,
    /// Another program's: it has one of the ports we picked.
    PortTaken,
    /// Nothing telling yet (no greeting, or not the server's whole one).
    NotYet,
}

/// What `start` needs of a server beyond its `Confined` process. Failures
/// are worded by the server, which knows where its logs are.
pub trait ConfinedServer {
    /// The file in the instance directory that gets what the namespace
    /// prints on stdout and stderr, anew at each start.
    const LAUNCH_LOG: &'static str;

    fn process(&mut self) -> &mut Confined;

    /// Completes `unshare`, which holds `unshare --pid --fork --kill-child`,
    /// into the command that runs the server on `ports`, and writes what
    /// that needs (configs for the ports, fresh logs). `start` runs it in
    /// the instance directory, stdin closed, output to `LAUNCH_LOG`.
    fn command(&self, unshare: &mut Command, ports: Ports) -> Result<(), String>;

    /// What the greetings on the plain IMAP and POP3 ports tell.
    fn readiness(imap: &str, pop3: &str) -> Readiness;

    /// Why `unshare` exited (with `status`) while the server was starting.
    fn exited(&self, status: ExitStatus) -> Failure;

    /// The error when the ports were not all open within `TIMEOUT`.
    fn timed_out(&self) -> String;

    /// The error when the ports were taken on every attempt.
    fn ports_taken(&self) -> String;
}

impl Confined {
    /// An instance not started yet, with a new directory name (the
    /// directories of earlier test processes that are gone are removed).
    pub fn new(name: &'static str) -> Result<Confined, String> {
        let unshare_program = find_program("unshare").ok_or("unshare (util-linux) is missing")?;
        remove_stale_dirs(&format!("mailtug-{name}-"));
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mailtug-{name}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(Confined {
            name,
            dir,
            ports: Ports::default(),
            unshare_program,
            unshare: None,
            keep_dir: false,
        })
    }

    /// The instance directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ports of the running server (zeros before it started).
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The pid (in this PID namespace) of the namespace's first process,
    /// for `nsenter --target`; `None` when not running.
    pub fn leader(&self) -> Option<u32> {
        self.unshare.as_ref().and_then(namespace_leader)
    }

    /// Kills every process of the instance (see `kill_namespace`).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.unshare.take() {
            kill_namespace(&mut child);
        }
    }

    /// The exit status of `unshare`, if it has exited.
    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.unshare.as_mut()?.try_wait().ok().flatten()
    }
}

impl Drop for Confined {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() || self.keep_dir {
            eprintln!("{}: kept `{}`", self.name, self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Starts `server` on free ports, and on new ones while another process
/// takes one first (up to `PORT_ATTEMPTS` times).
pub fn start<S: ConfinedServer>(server: &mut S) -> Result<(), String> {
    for attempt in 1..=PORT_ATTEMPTS {
        let ports = Ports::free().map_err(|e| format!("finding free ports: {e}"))?;
        let process = server.process();
        process.ports = ports;
        let mut command = Command::new(&process.unshare_program);
        command.args(["--pid", "--fork", "--kill-child"]);
        server.command(&mut command, ports)?;
        let process = server.process();
        let log = fs::File::create(process.dir.join(S::LAUNCH_LOG))
            .map_err(|e| format!("creating {}: {e}", S::LAUNCH_LOG))?;
        command
            .current_dir(&process.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let child = spawn_kept(command, libc::SIGKILL)
            .map_err(|e| format!("running `{}`: {e}", process.unshare_program.display()))?;
        process.unshare = Some(child);
        match wait_until_ready(server) {
            Ok(()) => return Ok(()),
            Err(Failure::PortTaken) if attempt < PORT_ATTEMPTS => server.process().stop(),
            Err(Failure::PortTaken) => return Err(server.ports_taken()),
            Err(Failure::Other(message)) => {
                server.process().keep_dir = true;
                return Err(message);
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Waits until the four ports accept connections and the plain ones greet
/// as the server (not some other process that took a port).
fn wait_until_ready<S: ConfinedServer>(server: &mut S) -> Result<(), Failure> {
    let deadline = Instant::now() + TIMEOUT;
    let ports = server.process().ports;
    loop {
        if let Some(status) = server.process().exit_status() {
            return Err(server.exited(status));
        }
        if ports.all().into_iter().all(is_open) {
            let imap = greeting(ports.imap).unwrap_or_default();
            let pop3 = greeting(ports.pop3).unwrap_or_default();
            match S::readiness(&imap, &pop3) {
                Readiness::Ready => return Ok(()),
                Readiness::PortTaken => return Err(Failure::PortTaken),
                Readiness::NotYet => {}
            }
        }
        if Instant::now() > deadline {
            server.process().stop();
            return Err(Failure::Other(server.timed_out()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
