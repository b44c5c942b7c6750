//! A real Dovecot on 127.0.0.1 for the protocol tests: a private config
//! rendered from `dovecot.conf.in` (the same template `scripts/test-server`
//! uses), free ports, a CA and a server certificate made at start, and users
//! made on demand.
//!
//! Invariants:
//! - No Dovecot outlives the test process. Every `dovecot -F` is forked by one
//!   keeper thread that lives as long as the process, with `PR_SET_PDEATHSIG`
//!   = SIGTERM. The kernel sends that signal when the thread that forked the
//!   child ends (not the process: forking from a test thread would kill the
//!   server when that test returns), so the server goes when the test process
//!   goes, whether it returns, panics or is killed with SIGKILL. Dovecot then
//!   stops its own children, which takes it about a second (up to six right
//!   after start).
//! - Nothing is shared between instances or tests. Every instance lives in its
//!   own directory `$TMPDIR/mailtug-dovecot-<pid>-<n>` (config, sockets, state,
//!   log, mail, certificates), and every test makes its own user, whose name
//!   `add_user` makes unique. The shared instance's directory is left behind
//!   for reading its log and removed by a later run once its process is gone.
//!
//! As root, Dovecot's processes run as its own accounts (`dovecot`,
//! `dovenull`) and mail is owned by `mail` (uid 8), since Dovecot refuses to
//! access mail as root. As another user, everything runs as that user
//! (Dovecot's rootless mode; nothing in the template needs root).

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::certs::make_certificates;
use super::system::{
    find_program, group_name, has_exited, remove_stale_dirs, spawn_kept, tail, unique_user_name,
    user_by_name, user_by_uid, Failure, Ports, PORT_ATTEMPTS,
};

const TEMPLATE: &str = include_str!("dovecot.conf.in");

const NOT_INSTALLED: &str = "dovecot is not installed: run `apt-get install dovecot-imapd \
                             dovecot-pop3d` (scripts/test does this when run as root)";

/// How long a server may take to open its ports, or to stop.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A running Dovecot. See the module docs.
pub struct Dovecot {
    dir: PathBuf,
    conf: PathBuf,
    ca_path: PathBuf,
    ports: Ports,
    accounts: Accounts,
    doveadm: PathBuf,
    child: Mutex<Child>,
}

/// A mail user of one `Dovecot`, with a mailbox no other test touches.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    /// The password given to `add_user`; `set_password` does not change it.
    pub password: String,
    quota: Option<String>,
    /// The largest message accepted: refused past it (`NO [LIMIT]`) and
    /// advertised as `APPENDLIMIT=N`.
    max_mail_size: Option<u64>,
    maildir: PathBuf,
}

/// The accounts the template names (see its comments).
#[derive(Clone, Debug)]
struct Accounts {
    internal_user: String,
    internal_group: String,
    login_user: String,
    mail_user: String,
    mail_group: String,
    mail_uid: u32,
    mail_gid: u32,
}

/// An administrator of every test Dovecot ("master user", a master passdb):
/// it logs in as any user with SASL PLAIN's authorization identity, or as
/// `USER*mailtug-admin` with LOGIN.
pub const MASTER_USER: &str = "mailtug-admin";
/// Its password, distinctive so that a leak is found by a substring search.
pub const MASTER_PASSWORD: &str = "master-pw-7f3a9c";

impl Dovecot {
    /// The instance shared by every test of the test binary, started on first
    /// use. Panics (in every test that asks, without retrying) if it cannot
    /// start; never skips.
    pub fn shared() -> &'static Dovecot {
        static SHARED: OnceLock<Result<Dovecot, String>> = OnceLock::new();
        match SHARED.get_or_init(Dovecot::try_start) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// A fresh, private instance, for tests that restart or reconfigure the
    /// server. Stopped, and its directory removed, on drop (kept when the test
    /// is panicking, for its log).
    pub fn start() -> Dovecot {
        Dovecot::try_start().unwrap_or_else(|message| panic!("{message}"))
    }

    /// A private instance that also takes XOAUTH2 and OAUTHBEARER logins,
    /// checking each token with the `oauth2` passdb, whose settings
    /// (`introspection_url = …`) are `oauth2_settings`.
    pub fn start_with_oauth2(oauth2_settings: &str) -> Dovecot {
        Dovecot::try_start_with(Some(oauth2_settings)).unwrap_or_else(|message| panic!("{message}"))
    }

    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }

    pub fn imaps_port(&self) -> u16 {
        self.ports.imaps
    }

    pub fn pop3_port(&self) -> u16 {
        self.ports.pop3
    }

    pub fn pop3s_port(&self) -> u16 {
        self.ports.pop3s
    }

    /// PEM of the CA that signed the server certificate (subjectAltName
    /// `DNS:localhost, IP:127.0.0.1`), for `--ca-file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_path
    }

    /// The rendered config, as `doveadm -c` takes it.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// The pid of the master process.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|e| e.into_inner()).id()
    }

    /// Creates a user with a unique name derived from `hint` (so parallel tests
    /// never share a mailbox). `quota` such as `Some("200K")` limits its
    /// storage: an APPEND past it answers `NO [OVERQUOTA]`.
    pub fn add_user(&self, hint: &str, password: &str, quota: Option<&str>) -> User {
        self.add_user_with_limits(hint, password, quota, None)
    }

    /// `add_user`, and with `max_mail_size` a largest message: Dovecot 2.3
    /// refuses a larger APPEND (`quota_max_mail_size`) and, told to here,
    /// advertises it as RFC 7889's `APPENDLIMIT=N` after login (it does
    /// not by itself).
    pub fn add_user_with_limits(
        &self,
        hint: &str,
        password: &str,
        quota: Option<&str>,
        max_mail_size: Option<u64>,
    ) -> User {
        let name = unique_user_name(hint);
        let user = User {
            maildir: self.dir.join("mail").join(&name),
            name,
            password: password.to_owned(),
            quota: quota.map(str::to_owned),
            max_mail_size,
        };
        self.write_user(&user, password, None);
        user
    }

    /// Changes `user`'s password, and returns once Dovecot accepts the new one.
    /// Takes up to a second: Dovecot checks a passwd-file at most once a second.
    pub fn set_password(&self, user: &User, password: &str) {
        let file = self.dir.join("users").join(&user.name);
        let old =
            fs::metadata(&file).unwrap_or_else(|e| panic!("reading `{}`: {e}", file.display()));
        // Dovecot reloads the file only if its mtime (in seconds) or size
        // changed, so the mtime must move even within the same second.
        let mtime = unix_secs(SystemTime::now()).max(old.mtime() + 1);
        self.write_user(user, password, Some(mtime));
        // It also stats the file at most once per second of its clock: wait
        // for the next second, then prove the change is visible.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        std::thread::sleep(
            Duration::from_millis(1005) - Duration::from_nanos(now.subsec_nanos().into()),
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let output =
                self.run_doveadm(&["auth", "test", "-x", "service=imap", &user.name, password]);
            if output.status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "dovecot does not accept the new password of `{}`:\n{}\n{}",
                    user.name,
                    String::from_utf8_lossy(&output.stdout),
                    self.log_tail(20)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `doveadm -c CONF ARGS...` and returns its stdout; panics with its
    /// stderr if it fails.
    pub fn doveadm(&self, args: &[&str]) -> String {
        let output = self.run_doveadm(args);
        if !output.status.success() {
            panic!(
                "`doveadm {}` failed ({}):\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The last `lines` lines of the server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("dovecot.log"), lines)
    }

    pub fn run_doveadm(&self, args: &[&str]) -> Output {
        Command::new(&self.doveadm)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running `{}`: {e}", self.doveadm.display()))
    }

    /// Writes `user`'s passwd-file line to a file of its own (why: see the
    /// template), whole, then renames it into place.
    fn write_user(&self, user: &User, password: &str, mtime: Option<i64>) {
        assert!(
            !password.contains([':', '\n']),
            "a test password cannot hold `:` or a newline: {password:?}"
        );
        let mut extra = Vec::new();
        if let Some(limit) = &user.quota {
            extra.push(format!("userdb_quota_rule=*:storage={limit}"));
        }
        if let Some(size) = user.max_mail_size {
            extra.push(format!("userdb_quota_max_mail_size={size}"));
            extra.push(format!("userdb_imap_capability=+APPENDLIMIT={size}"));
        }
        let extra = extra.join(" ");
        let line = format!(
            "{}:{{PLAIN}}{password}:{}:{}::{}::{extra}\n",
            user.name,
            self.accounts.mail_uid,
            self.accounts.mail_gid,
            user.maildir.display()
        );
        let users = self.dir.join("users");
        let temp = users.join(format!(".{}.tmp", user.name));
        let file = users.join(&user.name);
        let write = || -> io::Result<()> {
            fs::write(&temp, line)?;
            // Read by Dovecot's auth process, which runs as `dovecot` when we are root.
            fs::set_permissions(&temp, fs::Permissions::from_mode(0o644))?;
            if let Some(secs) = mtime {
                let when = UNIX_EPOCH + Duration::from_secs(secs as u64);
                fs::File::options()
                    .write(true)
                    .open(&temp)?
                    .set_modified(when)?;
            }
            fs::rename(&temp, &file)
        };
        write().unwrap_or_else(|e| panic!("writing `{}`: {e}", file.display()));
    }

    fn try_start() -> Result<Dovecot, String> {
        Dovecot::try_start_with(None)
    }

    fn try_start_with(oauth2_settings: Option<&str>) -> Result<Dovecot, String> {
        let dovecot = find_program("dovecot").ok_or(NOT_INSTALLED)?;
        let doveadm = find_program("doveadm").ok_or(NOT_INSTALLED)?;
        find_program("openssl").ok_or("openssl is not installed: run `apt-get install openssl`")?;
        let accounts = Accounts::for_this_process()?;
        remove_stale_dirs("mailtug-dovecot-");

        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "mailtug-dovecot-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&name);
        make_dirs(&dir, &accounts).map_err(|e| format!("preparing `{}`: {e}", dir.display()))?;
        make_certificates(&dir.join("tls"))?;

        let conf = dir.join("dovecot.conf");
        for attempt in 1..=PORT_ATTEMPTS {
            let ports = Ports::free().map_err(|e| format!("finding free ports: {e}"))?;
            let mut text = render(&dir, &name, ports, &accounts);
            if let Some(settings) = oauth2_settings {
                let file = dir.join("oauth2.conf");
                fs::write(&file, settings)
                    .map_err(|e| format!("writing `{}`: {e}", file.display()))?;
                // First, so that a token is never tried as a password; the
                // passdb answers only the two token mechanisms.
                text = text.replacen(
                    "auth_mechanisms = plain login\n",
                    &format!(
                        "auth_mechanisms = plain login xoauth2 oauthbearer\n\
                         passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  \
                         args = {}\n}}\n",
                        file.display()
                    ),
                    1,
                );
            }
            fs::write(&conf, text).map_err(|e| format!("writing `{}`: {e}", conf.display()))?;
            let log = fs::File::create(dir.join("dovecot.stderr"))
                .map_err(|e| format!("creating the stderr file in `{}`: {e}", dir.display()))?;
            let mut command = Command::new(&dovecot);
            command
                .arg("-F")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log);
            let child = spawn_kept(command, libc::SIGTERM).map_err(|e| {
                format!(
                    "running `{} -F -c {}`: {e}",
                    dovecot.display(),
                    conf.display()
                )
            })?;
            match wait_until_ready(child, ports, &dir) {
                Ok(child) => {
                    return Ok(Dovecot {
                        ca_path: dir.join("tls/ca.pem"),
                        dir,
                        conf,
                        ports,
                        accounts,
                        doveadm,
                        child: Mutex::new(child),
                    });
                }
                Err(Failure::PortTaken) if attempt < PORT_ATTEMPTS => continue,
                Err(Failure::PortTaken) => {
                    return Err(format!(
                        "dovecot found its ports taken {PORT_ATTEMPTS} times; its stderr:\n{}",
                        tail(&dir.join("dovecot.stderr"), 20)
                    ))
                }
                Err(Failure::Other(message)) => return Err(message),
            }
        }
        unreachable!("the last attempt returns")
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        stop(child);
        if std::thread::panicking() {
            eprintln!(
                "dovecot: kept `{}` (its log is dovecot.log)",
                self.dir.display()
            );
        } else {
            // A mail process may still be closing its files for a moment.
            if fs::remove_dir_all(&self.dir).is_err() {
                std::thread::sleep(Duration::from_millis(100));
                let _ = fs::remove_dir_all(&self.dir);
            }
        }
    }
}

impl User {
    /// Dovecot's maildir of this user (Maildir++: folder `A.B` is `.A.B/`).
    pub fn maildir(&self) -> &Path {
        &self.maildir
    }

    /// Puts messages into `folder` (created if missing) fast, bypassing IMAP:
    /// each is written as a file in its `cur/`, named with the maildir flag
    /// letters given (`"S"`, `"FS"`; any of `DFPRST`), with the time as its
    /// mtime, which Dovecot takes as the internal date. UIDs follow the order
    /// of `messages`. Bytes are stored as given (Dovecot itself stores LF).
    pub fn load(&self, server: &Dovecot, folder: &str, messages: &[(Vec<u8>, &str, SystemTime)]) {
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        if !folder.eq_ignore_ascii_case("INBOX") {
            let output = server.run_doveadm(&["mailbox", "create", "-u", &self.name, folder]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() && !stderr.contains("already exists") {
                panic!(
                    "`doveadm mailbox create -u {} {folder}` failed: {stderr}",
                    self.name
                );
            }
        }
        let dir = self.folder_path(server, folder);
        let (uid, gid) = (server.accounts.mail_uid, server.accounts.mail_gid);
        for sub in ["", "cur", "new", "tmp"] {
            let path = dir.join(sub);
            if !path.is_dir() {
                fs::create_dir_all(&path)
                    .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o700)))
                    .and_then(|()| chown(&path, Some(uid), Some(gid)))
                    .unwrap_or_else(|e| panic!("creating `{}`: {e}", path.display()));
            }
        }
        let now = unix_secs(SystemTime::now());
        let batch = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        for (index, (raw, flags, date)) in messages.iter().enumerate() {
            let mut letters: Vec<char> = flags.chars().collect();
            assert!(
                letters.iter().all(|c| "DFPRST".contains(*c)),
                "maildir flag letters are D, F, P, R, S and T, not `{flags}`"
            );
            letters.sort_unstable();
            letters.dedup();
            let letters: String = letters.into_iter().collect();
            // Dovecot gives new files UIDs in the order of their names: the
            // seconds, then the number after `M`, then the rest.
            let base = format!(
                "{now}.M{index:06}P{}Q{batch}.mailtug,S={}",
                std::process::id(),
                raw.len()
            );
            let temp = dir.join("tmp").join(&base);
            let file = dir.join("cur").join(format!("{base}:2,{letters}"));
            let write = || -> io::Result<()> {
                fs::write(&temp, raw)?;
                fs::set_permissions(&temp, fs::Permissions::from_mode(0o600))?;
                fs::File::options()
                    .write(true)
                    .open(&temp)?
                    .set_modified(*date)?;
                chown(&temp, Some(uid), Some(gid))?;
                fs::rename(&temp, &file)
            };
            write().unwrap_or_else(|e| panic!("writing `{}`: {e}", file.display()));
        }
        server.doveadm(&["force-resync", "-u", &self.name, folder]);
        if self.quota.is_some() {
            // Files put in by hand are not counted until the quota is recomputed.
            server.doveadm(&["quota", "recalc", "-u", &self.name]);
        }
    }

    /// The number of messages in `folder`.
    pub fn count(&self, server: &Dovecot, folder: &str) -> u64 {
        let out = server.doveadm(&[
            "-f", "tab", "mailbox", "status", "-u", &self.name, "messages", folder,
        ]);
        // A header line, then `FOLDER<TAB>N`.
        let line = out.lines().nth(1).unwrap_or_default();
        line.rsplit('\t')
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|_| panic!("unexpected `doveadm mailbox status` output: {out:?}"))
    }

    /// The names of the folders that exist, sorted (UTF-8, separator `.`).
    /// Parents that exist only as part of a name (`A` of `A.B`) are left out.
    pub fn folders(&self, server: &Dovecot) -> Vec<String> {
        // Not `doveadm mailbox list`: it also lists such parents.
        let out = server.doveadm(&[
            "-f", "tab", "mailbox", "status", "-u", &self.name, "messages", "*",
        ]);
        let mut names: Vec<String> = out
            .lines()
            .skip(1)
            .filter_map(|line| line.rsplit_once('\t'))
            .map(|(name, _)| name.to_owned())
            .collect();
        names.sort();
        names
    }

    /// Each message of `folder` in UID order: (UID, flags as IMAP strings
    /// without `\Recent`, internal date as unix seconds, the bytes of its
    /// file). Dovecot stores what it receives with LF line ends and serves
    /// CRLF over IMAP; `load` stores bytes as given.
    pub fn messages(
        &self,
        server: &Dovecot,
        folder: &str,
    ) -> Vec<(u32, Vec<String>, i64, Vec<u8>)> {
        let dir = self.folder_path(server, folder);
        let out = server.doveadm(&[
            "-f",
            "tab",
            "fetch",
            "-u",
            &self.name,
            "uid flags date.received.unixtime guid",
            "mailbox",
            folder,
        ]);
        // With maildir, the GUID is the file name up to `:2,`.
        let mut files = std::collections::HashMap::new();
        for sub in ["cur", "new"] {
            let entries = fs::read_dir(dir.join(sub))
                .unwrap_or_else(|e| panic!("listing `{}`: {e}", dir.join(sub).display()));
            for entry in entries.map(|e| e.expect("reading a maildir entry")) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let guid = name.split(':').next().unwrap_or_default().to_owned();
                files.insert(guid, entry.path());
            }
        }
        out.lines()
            .skip(1)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                let [uid, flags, date, guid] = fields[..] else {
                    panic!("unexpected `doveadm fetch` line: {line:?}");
                };
                let path = files
                    .get(guid)
                    .unwrap_or_else(|| panic!("no file for message {guid} in `{}`", dir.display()));
                (
                    uid.parse().expect("a numeric UID"),
                    flags
                        .split_whitespace()
                        .filter(|flag| *flag != "\\Recent")
                        .map(str::to_owned)
                        .collect(),
                    date.parse().expect("a numeric date"),
                    fs::read(path).unwrap_or_else(|e| panic!("reading `{}`: {e}", path.display())),
                )
            })
            .collect()
    }

    /// The directory of `folder` (Dovecot encodes non-ASCII names in modified
    /// UTF-7 there, so ask it).
    fn folder_path(&self, server: &Dovecot, folder: &str) -> PathBuf {
        PathBuf::from(
            server
                .doveadm(&["mailbox", "path", "-u", &self.name, folder])
                .trim_end(),
        )
    }
}

impl Accounts {
    fn for_this_process() -> Result<Accounts, String> {
        let euid = unsafe { libc::geteuid() };
        if euid == 0 {
            for account in ["dovecot", "dovenull"] {
                if user_by_name(account).is_none() {
                    return Err(format!(
                        "the account `{account}` is missing; it comes with dovecot-core: {NOT_INSTALLED}"
                    ));
                }
            }
            // Dovecot refuses to access mail as root.
            let (mail_user, mail_uid, mail_gid) = user_by_name("mail")
                .or_else(|| user_by_name("nobody"))
                .ok_or("neither the account `mail` nor `nobody` exists to own the test mail")?;
            Ok(Accounts {
                internal_user: "dovecot".to_owned(),
                internal_group: "dovecot".to_owned(),
                login_user: "dovenull".to_owned(),
                mail_group: group_name(mail_gid)?,
                mail_user,
                mail_uid,
                mail_gid,
            })
        } else {
            let (user, uid, gid) = user_by_uid(euid).ok_or_else(|| {
                format!(
                    "uid {euid} has no name in the user database; Dovecot needs one to run as it"
                )
            })?;
            let group = group_name(gid)?;
            Ok(Accounts {
                internal_user: user.clone(),
                internal_group: group.clone(),
                login_user: user.clone(),
                mail_user: user,
                mail_group: group,
                mail_uid: uid,
                mail_gid: gid,
            })
        }
    }
}

/// Waits until the server listens on all its ports.
fn wait_until_ready(mut child: Child, ports: Ports, dir: &Path) -> Result<Child, Failure> {
    let deadline = Instant::now() + TIMEOUT;
    let mut open = [false; 4];
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stderr = tail(&dir.join("dovecot.stderr"), 20);
                if stderr.contains("Address already in use") {
                    return Err(Failure::PortTaken);
                }
                // Such as `service(pop3-login) access(/usr/lib/dovecot/pop3-login) failed`.
                let hint = if stderr.contains("access(") && stderr.contains("No such file") {
                    format!("\n{NOT_INSTALLED}")
                } else {
                    String::new()
                };
                return Err(Failure::Other(format!(
                    "dovecot exited ({status}) while starting; its stderr:\n{stderr}{hint}\n\
                     the end of its log `{}`:\n{}",
                    dir.join("dovecot.log").display(),
                    tail(&dir.join("dovecot.log"), 20)
                )));
            }
            Ok(None) => {}
            Err(e) => return Err(Failure::Other(format!("waiting for dovecot: {e}"))),
        }
        for (is_open, port) in open.iter_mut().zip(ports.all()) {
            if !*is_open {
                let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                *is_open = TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
            }
        }
        // The master writes its pid file only after it bound every listener,
        // so open ports without it may belong to some other process.
        if open.iter().all(|o| *o) && dir.join("run/master.pid").exists() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            stop(&mut child);
            return Err(Failure::Other(format!(
                "dovecot did not open its ports within {TIMEOUT:?}; the end of its log `{}`:\n{}",
                dir.join("dovecot.log").display(),
                tail(&dir.join("dovecot.log"), 20)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops the server: SIGTERM to its whole process group, repeated, since a
/// master told to stop may still fork a login process for a connection that
/// was waiting, and then waits for it up to 6 s (Dovecot's limit). Then
/// SIGKILL for anything left, such as a mail process serving a connection a
/// test did not close.
fn stop(child: &mut Child) {
    let group = child.id() as libc::pid_t;
    let deadline = Instant::now() + TIMEOUT;
    while !has_exited(child) && Instant::now() < deadline {
        unsafe { libc::kill(-group, libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(20));
    }
    // Before reaping the master: until then its pid, the group's id, cannot
    // be reused by an unrelated process.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
}

fn render(dir: &Path, instance: &str, ports: Ports, accounts: &Accounts) -> String {
    let base = dir.to_str().expect("a UTF-8 temp dir");
    [
        ("@BASE@", base.to_owned()),
        ("@INSTANCE@", instance.to_owned()),
        ("@IMAP_PORT@", ports.imap.to_string()),
        ("@IMAPS_PORT@", ports.imaps.to_string()),
        ("@POP3_PORT@", ports.pop3.to_string()),
        ("@POP3S_PORT@", ports.pop3s.to_string()),
        ("@INTERNAL_USER@", accounts.internal_user.clone()),
        ("@INTERNAL_GROUP@", accounts.internal_group.clone()),
        ("@LOGIN_USER@", accounts.login_user.clone()),
        ("@MAIL_USER@", accounts.mail_user.clone()),
        ("@MAIL_GROUP@", accounts.mail_group.clone()),
        ("@MAIL_UID@", accounts.mail_uid.to_string()),
        ("@MAIL_GID@", accounts.mail_gid.to_string()),
    ]
    .iter()
    .fold(TEMPLATE.to_owned(), |text, (key, value)| {
        text.replace(key, value)
    })
}

fn make_dirs(dir: &Path, accounts: &Accounts) -> io::Result<()> {
    if dir
        .to_str()
        .is_none_or(|path| path.contains(char::is_whitespace))
    {
        // Dovecot splits passdb args on spaces; @BASE@ is pasted in as is.
        return Err(io::Error::other(
            "the temp dir must be UTF-8 without spaces: set TMPDIR",
        ));
    }
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    if unsafe { libc::geteuid() } == 0 {
        // Dovecot's unprivileged processes must be able to walk down to it.
        for ancestor in dir.ancestors().skip(1) {
            let mode = fs::metadata(ancestor)?.permissions().mode();
            if mode & 0o001 == 0 {
                return Err(io::Error::other(format!(
                    "`{}` is not searchable by other users, as Dovecot's processes \
                     need when the tests run as root: set TMPDIR to a directory such as /tmp",
                    ancestor.display()
                )));
            }
        }
    }
    for sub in ["", "run", "state", "users", "tls"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
    }
    // The administrator ("master user") that may log in as any user.
    let masters = dir.join("masters");
    fs::write(
        &masters,
        format!("{MASTER_USER}:{{PLAIN}}{MASTER_PASSWORD}\n"),
    )?;
    fs::set_permissions(&masters, fs::Permissions::from_mode(0o644))?;
    let mail = dir.join("mail");
    fs::create_dir(&mail)?;
    fs::set_permissions(&mail, fs::Permissions::from_mode(0o700))?;
    chown(&mail, Some(accounts.mail_uid), Some(accounts.mail_gid))
}

fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    }
}
