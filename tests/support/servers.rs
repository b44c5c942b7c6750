//! The four real servers the interop tests run against, behind one type, so
//! one scenario table can loop over them: Dovecot, Cyrus IMAP in both of its
//! naming modes, and Courier-IMAP. Each is shared by the whole test binary
//! and started on first use; every account is new and unique to its test.
//!
//! Folder names: mailtug separates levels with `/` and names folders
//! relative to the personal namespace; `ServerAccount::server_folder` maps
//! such a name onto the server's own personal prefix and separator (INBOX
//! alone stays INBOX), which come from the server's NAMESPACE answer (asked
//! once per server), not from what we believe it says.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::courier::Courier;
use super::cyrus::{Cyrus, CyrusMode};
use super::imapclient::{ImapClient, Namespace, Status};
use super::pop3client::Pop3Client;
use super::Dovecot;
use crate::util::{path_arg, TestEnv};

/// mailtug's `--tls none`, which plaintext `imap://` and `pop3://` to
/// loopback need. One flag for both sides (clap refuses it twice), so it is
/// not part of `src_args`/`dst_args`.
pub const PLAINTEXT: [&str; 2] = ["--tls", "none"];

/// One of the test servers (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TestServer {
    /// The private Dovecot of `dovecot.rs`: no prefix, separator `.`.
    Dovecot,
    /// Cyrus with `altnamespace` and `unixhierarchysep`: no prefix, `/`.
    CyrusSlash,
    /// Cyrus as Debian packages it: prefix `INBOX.`, separator `.`.
    CyrusDot,
    /// Courier-IMAP: prefix `INBOX.`, separator `.`.
    Courier,
}

/// Every test server, for scenario tables.
pub const ALL: [TestServer; 4] = [
    TestServer::Dovecot,
    TestServer::CyrusSlash,
    TestServer::CyrusDot,
    TestServer::Courier,
];

/// The running server behind a `TestServer`.
enum Handle {
    Dovecot(&'static Dovecot),
    Cyrus(&'static Cyrus),
    Courier(&'static Courier),
}

impl TestServer {
    /// A short name for messages and test output.
    pub fn name(self) -> &'static str {
        match self {
            TestServer::Dovecot => "dovecot",
            TestServer::CyrusSlash => "cyrus-slash",
            TestServer::CyrusDot => "cyrus-dot",
            TestServer::Courier => "courier",
        }
    }

    /// The shared server, started on first use (panics if it cannot start).
    fn handle(self) -> Handle {
        match self {
            TestServer::Dovecot => Handle::Dovecot(Dovecot::shared()),
            TestServer::CyrusSlash => Handle::Cyrus(Cyrus::shared(CyrusMode::Slash)),
            TestServer::CyrusDot => Handle::Cyrus(Cyrus::shared(CyrusMode::Dot)),
            TestServer::Courier => Handle::Courier(Courier::shared()),
        }
    }

    /// Starts the shared server now if it is not running yet.
    pub fn ensure_started(self) {
        self.handle();
    }

    /// Plaintext IMAP (with `--tls none`).
    pub fn imap_port(self) -> u16 {
        match self.handle() {
            Handle::Dovecot(s) => s.imap_port(),
            Handle::Cyrus(s) => s.imap_port(),
            Handle::Courier(s) => s.imap_port(),
        }
    }

    /// Plaintext POP3 (with `--tls none`).
    pub fn pop3_port(self) -> u16 {
        match self.handle() {
            Handle::Dovecot(s) => s.pop3_port(),
            Handle::Cyrus(s) => s.pop3_port(),
            Handle::Courier(s) => s.pop3_port(),
        }
    }

    /// Implicit-TLS IMAP, verified with `ca_file`. Every test server has
    /// one today; `Option` so that a server without TLS can join the table.
    pub fn imaps_port(self) -> Option<u16> {
        Some(match self.handle() {
            Handle::Dovecot(s) => s.imaps_port(),
            Handle::Cyrus(s) => s.imaps_port(),
            Handle::Courier(s) => s.imaps_port(),
        })
    }

    /// Implicit-TLS POP3, verified with `ca_file`.
    pub fn pop3s_port(self) -> Option<u16> {
        Some(match self.handle() {
            Handle::Dovecot(s) => s.pop3s_port(),
            Handle::Cyrus(s) => s.pop3s_port(),
            Handle::Courier(s) => s.pop3s_port(),
        })
    }

    /// The CA that signed the server's certificate (for 127.0.0.1 and
    /// localhost).
    pub fn ca_file(self) -> Option<PathBuf> {
        Some(match self.handle() {
            Handle::Dovecot(s) => s.ca_file().to_path_buf(),
            Handle::Cyrus(s) => s.ca_file(),
            Handle::Courier(s) => s.ca_file(),
        })
    }

    /// The personal namespace prefix as the server reports it (`""`,
    /// `"INBOX."`).
    pub fn personal_prefix(self) -> String {
        self.namespace().prefix.clone()
    }

    /// The hierarchy separator as the server reports it.
    pub fn separator(self) -> char {
        self.namespace()
            .separator
            .unwrap_or_else(|| panic!("{} reports a flat namespace", self.name()))
    }

    /// Whether APPEND keeps 8-bit header bytes. Cyrus's `munge8bit: yes`
    /// (its default, kept) replaces each with `X`, the size unchanged.
    pub fn keeps_8bit_headers(self) -> bool {
        !matches!(self, TestServer::CyrusSlash | TestServer::CyrusDot)
    }

    /// A new user with a unique name derived from `hint`; returns the name.
    pub fn add_user(self, hint: &str, password: &str) -> String {
        match self.handle() {
            Handle::Dovecot(s) => s.add_user(hint, password, None).name,
            Handle::Cyrus(s) => s.add_user(hint, password),
            Handle::Courier(s) => s.add_user(hint, password),
        }
    }

    /// A new account for one test: a unique user, its password in a 0600
    /// file of the test directory (never argv).
    pub fn add_account(self, env: &TestEnv, hint: &str) -> ServerAccount {
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        // Distinctive, so a leak is found by a plain substring search.
        let password = format!(
            "Pw{}-{}-xQ7vZ3kL",
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            self.name()
        );
        let user = self.add_user(hint, &password);
        let password_file =
            env.write_secret(&format!("{user}.{}.password", self.name()), &password);
        ServerAccount {
            server: self,
            user,
            password,
            password_file,
        }
    }

    /// The end of the server's logs, for failure messages.
    pub fn log_tail(self, lines: usize) -> String {
        match self.handle() {
            Handle::Dovecot(s) => s.log_tail(lines),
            Handle::Cyrus(s) => s.log_tail(lines),
            Handle::Courier(s) => s.log_tail(lines),
        }
    }

    /// NAMESPACE, asked once per server with an account of its own.
    fn namespace(self) -> &'static Namespace {
        static CACHE: [OnceLock<Namespace>; 4] = [const { OnceLock::new() }; 4];
        let index = ALL.iter().position(|s| *s == self).expect("in ALL");
        CACHE[index].get_or_init(|| {
            let password = "namespace-probe-pw";
            let user = self.add_user("namespace-probe", password);
            let mut client = ImapClient::login(self.imap_port(), &user, password);
            let namespace = client.namespace();
            client.logout();
            namespace
        })
    }
}

/// An account of one test on one server (see `TestServer::add_account`).
#[derive(Clone, Debug)]
pub struct ServerAccount {
    pub server: TestServer,
    pub user: String,
    pub password: String,
    pub password_file: PathBuf,
}

impl ServerAccount {
    /// `imap://USER@127.0.0.1:PORT` (plaintext: with `PLAINTEXT`).
    pub fn imap_url(&self) -> String {
        self.url("imap", self.server.imap_port())
    }

    /// `pop3://USER@127.0.0.1:PORT` (plaintext: with `PLAINTEXT`).
    pub fn pop3_url(&self) -> String {
        self.url("pop3", self.server.pop3_port())
    }

    /// `imaps://USER@127.0.0.1:PORT`, if the server has implicit TLS.
    pub fn imaps_url(&self) -> Option<String> {
        Some(self.url("imaps", self.server.imaps_port()?))
    }

    /// `pop3s://USER@127.0.0.1:PORT`, if the server has implicit TLS.
    pub fn pop3s_url(&self) -> Option<String> {
        Some(self.url("pop3s", self.server.pop3s_port()?))
    }

    /// `SCHEME://USER@127.0.0.1:PORT`, for a port of the server or of a
    /// proxy in front of it.
    pub fn url(&self, scheme: &str, port: u16) -> String {
        format!("{scheme}://{}@127.0.0.1:{port}", self.user)
    }

    /// The password file, and the CA if the server has one, for this account
    /// on `side` (`src`, `dst`). Plaintext URLs also need `PLAINTEXT`, once.
    pub fn side_args(&self, side: &str) -> Vec<String> {
        let mut args = vec![
            format!("--{side}-password-file"),
            path_arg(&self.password_file),
        ];
        if let Some(ca) = self.server.ca_file() {
            args.extend([format!("--{side}-ca-file"), path_arg(&ca)]);
        }
        args
    }

    /// `side_args("src")`.
    pub fn src_args(&self) -> Vec<String> {
        self.side_args("src")
    }

    /// `side_args("dst")`.
    pub fn dst_args(&self) -> Vec<String> {
        self.side_args("dst")
    }

    /// A logged-in IMAP session of the test side (plaintext, LOGIN).
    pub fn client(&self) -> ImapClient {
        ImapClient::login(self.server.imap_port(), &self.user, &self.password)
    }

    /// A logged-in POP3 session of the test side (plaintext, USER/PASS).
    pub fn pop3(&self) -> Pop3Client {
        Pop3Client::login(self.server.pop3_port(), &self.user, &self.password)
    }

    /// The server's name of mailtug's folder `name` (levels separated by
    /// `/`), by mailtug's rule: names are relative to the personal
    /// namespace, so every folder but INBOX itself gets the personal prefix,
    /// and `/` becomes the server's separator. `Archive/2023` is
    /// `Archive.2023` on Dovecot, `Archive/2023` on Cyrus (slash),
    /// `INBOX.Archive.2023` on Cyrus (dot) and Courier; `INBOX/Sub` is
    /// `INBOX.Sub` on Dovecot but `INBOX.INBOX.Sub` on an `INBOX.`-prefixed
    /// server, where `INBOX.Sub` is mailtug's `Sub`.
    pub fn server_folder(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case("INBOX") {
            return "INBOX".to_owned();
        }
        let separator = self.server.separator().to_string();
        let levels: Vec<&str> = name.split('/').collect();
        format!(
            "{}{}",
            self.server.personal_prefix(),
            levels.join(&separator)
        )
    }

    /// The inverse of `server_folder`: mailtug's name of the server's folder
    /// `server` (as LIST spells it, decoded from modified UTF-7).
    pub fn mailtug_folder(&self, server: &str) -> String {
        if server.eq_ignore_ascii_case("INBOX") {
            return "INBOX".to_owned();
        }
        let prefix = self.server.personal_prefix();
        let relative = server.strip_prefix(prefix.as_str()).unwrap_or_else(|| {
            panic!(
                "{}: `{server}` is outside the personal namespace `{prefix}`",
                self.server.name()
            )
        });
        relative
            .split(self.server.separator())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Waits until `folder` (the server's name) has stopped changing: the
    /// same STATUS for a second in a row, read over new connections. For
    /// tests that killed a client mid-APPEND, whose server may still be
    /// storing. Returns that STATUS; panics after 30 s.
    pub fn wait_until_settled(&self, folder: &str) -> Status {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last: Option<(Status, Instant)> = None;
        loop {
            let mut client = self.client();
            let status = client.status(folder);
            client.logout();
            match last {
                Some((seen, since)) if seen == status => {
                    if since.elapsed() >= Duration::from_secs(1) {
                        return status;
                    }
                }
                _ => last = Some((status, Instant::now())),
            }
            assert!(
                Instant::now() < deadline,
                "{}: `{folder}` of {} still changes after 30 s (last {status:?})",
                self.server.name(),
                self.user
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
