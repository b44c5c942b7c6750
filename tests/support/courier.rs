//! A real Courier-IMAP 5.0 (imapd + pop3d through couriertcpd, authdaemond
//! with a userdb; plain and implicit TLS) on 127.0.0.1 for the interop
//! tests, from the packages `scripts/install-test-servers` unpacked.
//!
//! Courier's paths are compiled in (`/etc/courier`, `/run/courier/…`), so
//! `courier-launch.sh` runs it in a mount namespace of its own, with the
//! packages laid over `/etc` and `/usr` and the instance's `/etc/courier`
//! bound on top; the host's files are never written.
//!
//! Invariants:
//! - No Courier outlives the test process: the launcher is the first process
//!   of a PID namespace (`unshare --pid --fork --kill-child --mount`), and
//!   `unshare` is forked by the keeper thread (see `system.rs`) with SIGKILL
//!   as its parent-death signal; when a namespace's first process dies, the
//!   kernel kills all of it (see `confined.rs`).
//! - Nothing is shared between instances or tests: each instance has its own
//!   directory `$TMPDIR/mailtug-courier-<pid>-<n>` (config overrides, userdb,
//!   mail homes, logs, certificates), removed on drop; every test makes its
//!   own user, whose name `add_user` makes unique.
//! - The overrides are the ones that matter for tests:
//!   `IMAP_EMPTYTRASH=` (the default deletes Trash mail older than 7 days at
//!   logout), no STARTTLS on the plain ports, no TLS requirement.
//!
//! Needs root (mount namespaces, mail owned by `mail`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::certs::make_certificates;
use super::confined::{self, Confined, ConfinedServer, Readiness, TIMEOUT};
use super::system::{
    check_searchable, chown_tree, find_program, is_root, missing_libraries_hint, tail,
    unique_user_name, unpacked_tree, user_by_name, Failure, Ports, PORT_ATTEMPTS,
};

const LAUNCHER: &str = include_str!("courier-launch.sh");

/// A running Courier. See the module docs.
pub struct Courier {
    /// The launcher's namespace, directory and ports.
    process: Confined,
    /// The unpacked packages, which the launcher lays over `/etc` and `/usr`.
    root: PathBuf,
    mail_uid: u32,
    mail_gid: u32,
    openssl: PathBuf,
    nsenter: PathBuf,
    /// Serialises changes to the userdb (one `makeuserdb` at a time).
    userdb: Mutex<()>,
    /// How long the start took, for reports.
    pub started_in: Duration,
}

impl Courier {
    /// The instance shared by every test of the test binary, started on
    /// first use. Panics (in every test that asks) if it cannot start, with
    /// how to install it; never skips.
    pub fn shared() -> &'static Courier {
        static SHARED: OnceLock<Result<Courier, String>> = OnceLock::new();
        match SHARED.get_or_init(Courier::try_start) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// A private instance, stopped and removed on drop (kept when the test
    /// is panicking).
    pub fn start() -> Courier {
        Courier::try_start().unwrap_or_else(|message| panic!("{message}"))
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

    /// Creates a user with a unique name derived from `hint`, with an empty
    /// maildir, and returns the name.
    pub fn add_user(&self, hint: &str, password: &str) -> String {
        let name = unique_user_name(hint);
        let home = self.dir().join("home").join(&name);
        let make_home = || -> std::io::Result<()> {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(home.join("Maildir").join(sub))?;
            }
            chown_tree(&home, self.mail_uid, self.mail_gid)?;
            fs::set_permissions(&home, fs::Permissions::from_mode(0o700))
        };
        make_home().unwrap_or_else(|e| panic!("making `{}`: {e}", home.display()));
        let hash = self.hash_password(password);
        let home_text = home.to_str().expect("a UTF-8 temp dir");
        let line = format!(
            "{name}\tuid={}|gid={}|home={home_text}|mail={home_text}/Maildir|systempw={hash}\n",
            self.mail_uid, self.mail_gid
        );

        let _one_at_a_time = self.userdb.lock().unwrap_or_else(|e| e.into_inner());
        let userdb = self.dir().join("etc/courier/userdb");
        let mut text = fs::read_to_string(&userdb).unwrap_or_default();
        text.push_str(&line);
        fs::write(&userdb, text).unwrap_or_else(|e| panic!("writing `{}`: {e}", userdb.display()));
        // makeuserdb compiles it into userdb.dat, which authdaemond reads
        // again once it changed; run inside the namespace, where
        // /etc/courier and the package's /usr are.
        let leader = self.process.leader().expect("courier is running");
        let output = Command::new(&self.nsenter)
            .args(["--mount", "--target", &leader.to_string(), "--"])
            .args(["/usr/sbin/makeuserdb", "-f", "/etc/courier/userdb"])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .output()
            .expect("running nsenter");
        assert!(
            output.status.success(),
            "courier: makeuserdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        name
    }

    /// The end of the logs of authdaemond and the four servers.
    pub fn log_tail(&self, lines: usize) -> String {
        [
            "launch",
            "authdaemond",
            "imapd",
            "imapd-ssl",
            "pop3d",
            "pop3d-ssl",
        ]
        .iter()
        .map(|name| {
            format!(
                "--- {name}.log ---\n{}",
                tail(&self.dir().join(format!("{name}.log")), lines)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// A SHA-512 crypt(3) hash, which authuserdb checks with crypt(3).
    fn hash_password(&self, password: &str) -> String {
        let output = Command::new(&self.openssl)
            .args(["passwd", "-6", "-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("piped stdin")
                    .write_all(format!("{password}\n").as_bytes())?;
                child.wait_with_output()
            })
            .expect("running openssl passwd");
        assert!(output.status.success(), "openssl passwd failed");
        String::from_utf8(output.stdout)
            .expect("an ASCII hash")
            .trim()
            .to_owned()
    }

    fn try_start() -> Result<Courier, String> {
        let started = Instant::now();
        let root = unpacked_tree("courier", "Courier-IMAP")?;
        let nsenter = find_program("nsenter").ok_or("nsenter (util-linux) is missing")?;
        let openssl = find_program("openssl").ok_or("openssl is missing")?;
        if !is_root() {
            return Err(
                "the Courier tests must run as root (Courier runs in mount and PID \
                        namespaces of its own): run `scripts/test` as root"
                    .to_owned(),
            );
        }
        let (_, mail_uid, mail_gid) = user_by_name("mail")
            .ok_or("the account `mail`, which owns the test mail, is missing")?;
        let process = Confined::new("courier")?;
        check_searchable(process.dir(), "Courier")?;
        let mut courier = Courier {
            process,
            root,
            mail_uid,
            mail_gid,
            openssl,
            nsenter,
            userdb: Mutex::new(()),
            started_in: Duration::ZERO,
        };
        courier.make_dirs()?;
        confined::start(&mut courier)?;
        courier.started_in = started.elapsed();
        Ok(courier)
    }

    /// The instance directory: the launcher, `etc/courier` (the package's
    /// files plus ours), `home/`, `tls/`.
    fn make_dirs(&self) -> Result<(), String> {
        let dir = self.dir();
        let io = |e: std::io::Error| format!("preparing `{}`: {e}", dir.display());
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(io)?;
        }
        let etc = dir.join("etc/courier");
        for sub in [
            dir.to_owned(),
            etc.clone(),
            dir.join("home"),
            dir.join("tls"),
        ] {
            fs::create_dir_all(&sub).map_err(io)?;
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
        fs::write(dir.join("launch.sh"), LAUNCHER).map_err(io)?;
        let package_etc = self.root.join("etc/courier");
        for entry in fs::read_dir(&package_etc).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.file_type().map_err(io)?.is_file() {
                fs::copy(entry.path(), etc.join(entry.file_name())).map_err(io)?;
            }
        }
        make_certificates(&dir.join("tls"))?;
        // couriertls takes the key and the certificate from one file.
        let tls = dir.join("tls");
        let pem = [
            fs::read(tls.join("server.key")).map_err(io)?,
            fs::read(tls.join("server.pem")).map_err(io)?,
        ]
        .concat();
        fs::write(tls.join("courier.pem"), pem).map_err(io)?;
        fs::set_permissions(tls.join("courier.pem"), fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        let pem = tls.join("courier.pem");
        let pem = pem.to_str().ok_or("a UTF-8 temp dir")?;

        let authdaemonrc = etc.join("authdaemonrc");
        let text = fs::read_to_string(&authdaemonrc).map_err(io)?;
        let text: String = text
            .lines()
            .map(|line| {
                if line.starts_with("authmodulelist=") {
                    "authmodulelist=\"authuserdb\"".to_owned()
                } else {
                    line.to_owned()
                }
            })
            .map(|line| line + "\n")
            .collect();
        fs::write(&authdaemonrc, text).map_err(io)?;

        // Sourced after the package's files, so they win (courier-launch.sh).
        let overrides = [
            (
                "imapd-override",
                "# Written by tests/support/courier.rs.\n\
                 IMAP_STARTTLS=NO\n\
                 IMAP_TLS_REQUIRED=0\n\
                 # The default, Trash:7, deletes Trash mail older than 7 days at logout.\n\
                 IMAP_EMPTYTRASH=\n\
                 IMAPDSTARTTLS=NO\n"
                    .to_owned(),
            ),
            (
                "pop3d-override",
                "# Written by tests/support/courier.rs.\n\
                 POP3_STARTTLS=NO\n\
                 POP3_TLS_REQUIRED=0\n"
                    .to_owned(),
            ),
            (
                "imapd-ssl-override",
                format!(
                    "# Written by tests/support/courier.rs.\n\
                     IMAP_TLS=1\n\
                     TLS_CERTFILE={pem}\n\
                     TLS_CACHEFILE=\n\
                     TLS_VERIFYPEER=NONE\n"
                ),
            ),
            (
                "pop3d-ssl-override",
                format!(
                    "# Written by tests/support/courier.rs.\n\
                     POP3_TLS=1\n\
                     TLS_CERTFILE={pem}\n\
                     TLS_CACHEFILE=\n\
                     TLS_VERIFYPEER=NONE\n"
                ),
            ),
            ("userdb", String::new()),
        ];
        for (name, text) in overrides {
            fs::write(etc.join(name), text).map_err(io)?;
        }
        // makeuserdb refuses a userdb others can read.
        fs::set_permissions(etc.join("userdb"), fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(())
    }
}

impl ConfinedServer for Courier {
    const LAUNCH_LOG: &'static str = "launch.log";

    fn process(&mut self) -> &mut Confined {
        &mut self.process
    }

    fn command(&self, unshare: &mut Command, ports: Ports) -> Result<(), String> {
        let dir = self.dir();
        for name in ["imapd", "imapd-ssl", "pop3d", "pop3d-ssl"] {
            // Fresh logs: a port-taken message of an earlier attempt must
            // not count again.
            let _ = fs::remove_file(dir.join(format!("{name}.log")));
        }
        unshare
            .args(["--mount", "--propagation", "private", "--", "/bin/bash"])
            .arg(dir.join("launch.sh"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("ROOT", &self.root)
            .env("DIR", dir)
            .env("IMAP_PORT", ports.imap.to_string())
            .env("IMAPS_PORT", ports.imaps.to_string())
            .env("POP3_PORT", ports.pop3.to_string())
            .env("POP3S_PORT", ports.pop3s.to_string());
        Ok(())
    }

    fn readiness(imap: &str, pop3: &str) -> Readiness {
        if imap.contains("Courier-IMAP") && pop3.starts_with("+OK") {
            Readiness::Ready
        } else if !imap.is_empty() && !imap.contains("Courier-IMAP") {
            Readiness::PortTaken
        } else {
            Readiness::NotYet
        }
    }

    fn exited(&self, status: ExitStatus) -> Failure {
        let logs = self.log_tail(10);
        if logs.contains("Address already in use") {
            return Failure::PortTaken;
        }
        Failure::Other(format!(
            "courier exited ({status}) while starting; its logs in `{}`:\n{logs}{}",
            self.dir().display(),
            missing_libraries_hint(&logs)
        ))
    }

    fn timed_out(&self) -> String {
        format!(
            "courier did not open its ports within {TIMEOUT:?}; its logs in `{}`:\n{}",
            self.dir().display(),
            self.log_tail(10)
        )
    }

    fn ports_taken(&self) -> String {
        format!(
            "courier found its ports taken {PORT_ATTEMPTS} times:\n{}",
            self.log_tail(10)
        )
    }
}
