//! A real Cyrus IMAP 3.6 (IMAP + POP3, plain and implicit TLS) on 127.0.0.1
//! for the interop tests, in either of its two folder-naming modes, from the
//! packages `scripts/install-test-servers` unpacked.
//!
//! Invariants:
//! - No Cyrus outlives the test process. `master` runs in the foreground as
//!   the second process of a PID namespace of its own: `unshare --pid --fork
//!   --kill-child sh -c 'master … & wait'`, forked by the keeper thread (see
//!   `system.rs`) with SIGKILL as its parent-death signal. When the test
//!   process ends, `unshare` is killed, `--kill-child` kills the shell, and
//!   the kernel kills every process of a namespace whose first process died.
//!   The shell is there because `master` changes its uid to `mail`, which
//!   clears a parent-death signal; the shell stays root and keeps it. (And
//!   `unshare` blocks SIGTERM while it waits, hence SIGKILL.) `confined.rs`
//!   starts, watches and stops the namespace.
//! - Nothing is shared between instances or tests: each instance has its own
//!   directory `$TMPDIR/mailtug-cyrus-<pid>-<n>` (configs, mail spool,
//!   databases, sockets, sasldb, certificates), removed on drop; every test
//!   makes its own user, whose name `add_user` makes unique.
//! - Cyrus's defaults that matter to interop are left alone: `munge8bit`
//!   stays `yes` (8-bit header bytes become `X` on APPEND), and so do its
//!   name rules.
//!
//! Needs root: the spool belongs to `mail`, as Cyrus refuses to run as root,
//! and the PID namespace needs CAP_SYS_ADMIN. Cyrus logs only to syslog;
//! without a `/dev/log` its messages are lost, so a failed start shows what
//! `master` printed on stderr.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::certs::make_certificates;
use super::confined::{self, Confined, ConfinedServer, Readiness, TIMEOUT};
use super::imapclient::ImapClient;
use super::system::{
    check_searchable, chown_tree, find_program, is_root, missing_libraries_hint, random_password,
    tail, unique_user_name, unpacked_tree, user_by_name, Failure, Ports, INSTALL_HINT,
    PORT_ATTEMPTS,
};

/// The administrator, who creates each user's INBOX (Cyrus makes none by
/// itself).
const ADMIN: &str = "cyrus";

/// Cyrus's two ways of naming folders, both tested since real servers run
/// either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CyrusMode {
    /// `altnamespace: yes` + `unixhierarchysep: yes` (upstream's 3.x
    /// default): personal folders at the top level beside INBOX, separator
    /// `/`, NAMESPACE `(("" "/"))`.
    Slash,
    /// Both `no` (Debian's packaged default): personal folders under
    /// `INBOX.`, separator `.`, NAMESPACE `(("INBOX." "."))`.
    Dot,
}

impl CyrusMode {
    /// The hierarchy separator.
    pub fn separator(self) -> char {
        match self {
            CyrusMode::Slash => '/',
            CyrusMode::Dot => '.',
        }
    }

    fn yes_no(self) -> &'static str {
        match self {
            CyrusMode::Slash => "yes",
            CyrusMode::Dot => "no",
        }
    }
}

/// A running Cyrus. See the module docs.
pub struct Cyrus {
    mode: CyrusMode,
    /// `master`'s namespace, directory and ports.
    process: Confined,
    /// The packages' `usr/lib/cyrus/bin` and shared libraries.
    bin: PathBuf,
    lib: PathBuf,
    admin_password: String,
    saslpasswd2: PathBuf,
    mail_uid: u32,
    mail_gid: u32,
    /// Serialises writes to the sasldb (saslpasswd2 runs one at a time).
    sasldb: Mutex<()>,
    /// How long the start took, for reports.
    pub started_in: Duration,
}

impl Cyrus {
    /// The instance of `mode` shared by every test of the test binary,
    /// started on first use. Panics (in every test that asks) if it cannot
    /// start, with how to install it; never skips.
    pub fn shared(mode: CyrusMode) -> &'static Cyrus {
        static SLASH: OnceLock<Result<Cyrus, String>> = OnceLock::new();
        static DOT: OnceLock<Result<Cyrus, String>> = OnceLock::new();
        let cell = match mode {
            CyrusMode::Slash => &SLASH,
            CyrusMode::Dot => &DOT,
        };
        match cell.get_or_init(|| Cyrus::try_start(mode)) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// A private instance, stopped and removed on drop (kept when the test
    /// is panicking).
    pub fn start(mode: CyrusMode) -> Cyrus {
        Cyrus::try_start(mode).unwrap_or_else(|message| panic!("{message}"))
    }

    pub fn mode(&self) -> CyrusMode {
        self.mode
    }

    pub fn imap_port(&self) -> u16 {
        self.process.ports().imap
    }

    pub fn imaps_port(&self) -> u16 {
        self.process.ports().imaps
    }

    pub fn pop3_port(&self) -> u16 {
        self.process.ports().pop3
    }

    pub fn pop3s_port(&self) -> u16 {
        self.process.ports().pop3s
    }

    /// PEM of the CA that signed the server certificate (subjectAltName
    /// `DNS:localhost, IP:127.0.0.1`), for `--ca-file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir().join("tls/ca.pem")
    }

    /// The instance directory.
    pub fn dir(&self) -> &Path {
        self.process.dir()
    }

    /// Creates a user with a unique name derived from `hint` and its INBOX,
    /// and returns the name (log in with it bare, not `NAME@localhost`).
    pub fn add_user(&self, hint: &str, password: &str) -> String {
        let name = unique_user_name(hint);
        self.set_sasl_password(&name, password);
        let mut admin = ImapClient::login(self.imap_port(), ADMIN, &self.admin_password);
        let inbox = format!("user{}{name}", self.mode.separator());
        admin
            .create(&inbox)
            .unwrap_or_else(|text| panic!("cyrus: `CREATE {inbox}` as admin failed: {text}"));
        admin.logout();
        name
    }

    /// What `master` printed (Cyrus logs the rest to syslog).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir().join(Self::LAUNCH_LOG), lines)
    }

    fn set_sasl_password(&self, name: &str, password: &str) {
        let _one_at_a_time = self.sasldb.lock().unwrap_or_else(|e| e.into_inner());
        let sasldb = self.dir().join("sasldb2");
        let mut child = Command::new(&self.saslpasswd2)
            .arg("-f")
            .arg(&sasldb)
            .args(["-u", "localhost", "-c", "-p", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running `{}`: {e}", self.saslpasswd2.display()));
        // `-p`: the password is all of stdin, no newline.
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(password.as_bytes())
            .expect("writing to saslpasswd2");
        drop(stdin);
        let output = child.wait_with_output().expect("waiting for saslpasswd2");
        assert!(
            output.status.success(),
            "saslpasswd2 for `{name}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Read by Cyrus's processes, which run as `mail`.
        std::os::unix::fs::chown(&sasldb, Some(self.mail_uid), Some(self.mail_gid))
            .unwrap_or_else(|e| panic!("chown `{}`: {e}", sasldb.display()));
    }

    fn try_start(mode: CyrusMode) -> Result<Cyrus, String> {
        let started = Instant::now();
        let root = unpacked_tree("cyrus", "Cyrus IMAP")?;
        let bin = root.join("usr/lib/cyrus/bin");
        let lib = library_dir(&root)?;
        let saslpasswd2 = find_program("saslpasswd2")
            .ok_or_else(|| format!("saslpasswd2 (sasl2-bin) is missing: {INSTALL_HINT}"))?;
        if !is_root() {
            return Err(
                "the Cyrus tests must run as root (the spool belongs to `mail` and \
                        Cyrus runs in a PID namespace of its own): run `scripts/test` as root"
                    .to_owned(),
            );
        }
        let (_, mail_uid, mail_gid) = user_by_name("mail")
            .ok_or("the account `mail`, which owns Cyrus's files, is missing")?;
        let process = Confined::new("cyrus")?;
        check_searchable(process.dir(), "Cyrus")?;
        let admin_password = random_password();
        let mut cyrus = Cyrus {
            mode,
            process,
            bin,
            lib,
            admin_password,
            saslpasswd2,
            mail_uid,
            mail_gid,
            sasldb: Mutex::new(()),
            started_in: Duration::ZERO,
        };
        cyrus.make_dirs()?;
        cyrus.set_sasl_password(ADMIN, &cyrus.admin_password.clone());
        confined::start(&mut cyrus)?;
        cyrus.started_in = started.elapsed();
        Ok(cyrus)
    }

    fn make_dirs(&self) -> Result<(), String> {
        let dir = self.dir();
        let make = || -> std::io::Result<()> {
            if dir.exists() {
                fs::remove_dir_all(dir)?;
            }
            for sub in [
                "", "conf", "spool", "proc", "lock", "run", "tmp", "sieve", "tls",
            ] {
                fs::create_dir_all(dir.join(sub))?;
                fs::set_permissions(dir.join(sub), fs::Permissions::from_mode(0o750))?;
            }
            Ok(())
        };
        make().map_err(|e| format!("preparing `{}`: {e}", dir.display()))?;
        make_certificates(&dir.join("tls"))?;
        chown_tree(dir, self.mail_uid, self.mail_gid)
            .map_err(|e| format!("chown `{}`: {e}", dir.display()))
    }

    fn write_configs(&self, ports: Ports) -> Result<(), String> {
        let dir = self.dir().to_str().ok_or("a UTF-8 temp dir")?;
        let yes_no = self.mode.yes_no();
        let imapd_conf = format!(
            "# Written by tests/support/cyrus.rs.\n\
             configdirectory: {dir}/conf\n\
             defaultpartition: default\n\
             partition-default: {dir}/spool\n\
             proc_path: {dir}/proc\n\
             mboxname_lockpath: {dir}/lock\n\
             lmtpsocket: {dir}/run/lmtp\n\
             idlesocket: {dir}/run/idle\n\
             notifysocket: {dir}/run/notify\n\
             temp_path: {dir}/tmp\n\
             sievedir: {dir}/sieve\n\
             cyrus_user: mail\n\
             cyrus_group: mail\n\
             admins: {ADMIN}\n\
             # The SASL realm of unqualified user names; the default, the host\n\
             # name, would not match the sasldb entries (made with -u localhost).\n\
             servername: localhost\n\
             allowplaintext: yes\n\
             popminpoll: 0\n\
             sasl_pwcheck_method: auxprop\n\
             sasl_auxprop_plugin: sasldb\n\
             sasl_sasldb_path: {dir}/sasldb2\n\
             sasl_mech_list: PLAIN LOGIN\n\
             altnamespace: {yes_no}\n\
             unixhierarchysep: {yes_no}\n\
             tls_server_cert: {dir}/tls/server.pem\n\
             tls_server_key: {dir}/tls/server.key\n\
             syslog_prefix: mailtug-cyrus\n"
        );
        let conf = format!("{dir}/imapd.conf");
        let bin = self.bin.to_str().ok_or("a UTF-8 package path")?;
        let Ports {
            imap,
            imaps,
            pop3,
            pop3s,
        } = ports;
        // master passes no -C to its children: every command names it.
        let cyrus_conf = format!(
            "# Written by tests/support/cyrus.rs.\n\
             START {{\n\
             \x20 recover cmd=\"{bin}/ctl_cyrusdb -C {conf} -r\"\n\
             }}\n\
             SERVICES {{\n\
             \x20 imap cmd=\"{bin}/imapd -C {conf}\" listen=\"127.0.0.1:{imap}\" prefork=0\n\
             \x20 imaps cmd=\"{bin}/imapd -s -C {conf}\" listen=\"127.0.0.1:{imaps}\" prefork=0\n\
             \x20 pop3 cmd=\"{bin}/pop3d -C {conf}\" listen=\"127.0.0.1:{pop3}\" prefork=0\n\
             \x20 pop3s cmd=\"{bin}/pop3d -s -C {conf}\" listen=\"127.0.0.1:{pop3s}\" prefork=0\n\
             }}\n\
             EVENTS {{\n\
             }}\n"
        );
        for (name, text) in [("imapd.conf", imapd_conf), ("cyrus.conf", cyrus_conf)] {
            let path = self.dir().join(name);
            fs::write(&path, text).map_err(|e| format!("writing `{}`: {e}", path.display()))?;
            std::os::unix::fs::chown(&path, Some(self.mail_uid), Some(self.mail_gid))
                .map_err(|e| format!("chown `{}`: {e}", path.display()))?;
        }
        Ok(())
    }
}

impl ConfinedServer for Cyrus {
    const LAUNCH_LOG: &'static str = "master.log";

    fn process(&mut self) -> &mut Confined {
        &mut self.process
    }

    fn command(&self, unshare: &mut Command, ports: Ports) -> Result<(), String> {
        self.write_configs(ports)?;
        let dir = self.dir();
        unshare
            .args(["--", "/bin/sh", "-c"])
            // Not `exec`: see the module docs.
            .arg("\"$@\" & wait $!")
            .arg("sh")
            .arg(self.bin.join("master"))
            .arg("-C")
            .arg(dir.join("imapd.conf"))
            .arg("-M")
            .arg(dir.join("cyrus.conf"))
            .arg("-p")
            .arg(dir.join("run/master.pid"))
            .env("LD_LIBRARY_PATH", &self.lib);
        Ok(())
    }

    fn readiness(imap: &str, pop3: &str) -> Readiness {
        if imap.contains("Cyrus IMAP") && pop3.contains("Cyrus POP3") {
            Readiness::Ready
        } else if !imap.is_empty() && !imap.contains("Cyrus")
            || !pop3.is_empty() && !pop3.contains("Cyrus")
        {
            // Open, but not greeting as Cyrus: another process has a port.
            Readiness::PortTaken
        } else {
            Readiness::NotYet
        }
    }

    fn exited(&self, status: ExitStatus) -> Failure {
        let stderr = self.log_tail(20);
        Failure::Other(format!(
            "cyrus exited ({status}) while starting; its stderr `{}`:\n{stderr}{}",
            self.dir().join(Self::LAUNCH_LOG).display(),
            missing_libraries_hint(&stderr)
        ))
    }

    fn timed_out(&self) -> String {
        format!(
            "cyrus did not open its ports within {TIMEOUT:?} (its log goes to syslog); \
             its stderr:\n{}",
            self.log_tail(20)
        )
    }

    fn ports_taken(&self) -> String {
        format!(
            "cyrus found its ports taken {PORT_ATTEMPTS} times; its stderr:\n{}",
            self.log_tail(20)
        )
    }
}

/// The directory of the packages' own shared libraries (`libcyrus*.so`),
/// such as `usr/lib/x86_64-linux-gnu`.
fn library_dir(root: &Path) -> Result<PathBuf, String> {
    let lib = root.join("usr/lib");
    fs::read_dir(&lib)
        .map_err(|e| format!("listing `{}`: {e}", lib.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.join("libcyrus.so.0").exists())
        .ok_or_else(|| format!("no libcyrus.so.0 under `{}`: {INSTALL_HINT}", lib.display()))
}
