//! One mail account of a test on a real Dovecot: a user nobody else uses,
//! its password in a 0600 file of the test directory (so it reaches mailtug
//! through `--src-password-file`/`--dst-password-file`, never argv), and
//! the endpoint URLs and arguments that reach it. The protocol test modules
//! wrap it with what they read and load their own way.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mailtug::message::Flags;

use super::{Dovecot, User};
use crate::util::crlf::lf;
use crate::util::model::{flag_text, Model, Stored};
use crate::util::{args, path_arg, TestEnv};

pub struct Account<'s> {
    pub server: &'s Dovecot,
    pub user: User,
    pub password_file: PathBuf,
}

impl<'s> Account<'s> {
    /// A new user; `quota` such as `Some("200K")` limits its storage.
    pub fn new(env: &TestEnv, server: &'s Dovecot, hint: &str, quota: Option<&str>) -> Account<'s> {
        Account::with_limits(env, server, hint, quota, None)
    }

    /// A new user with a quota and a largest message (APPENDLIMIT).
    pub fn with_limits(
        env: &TestEnv,
        server: &'s Dovecot,
        hint: &str,
        quota: Option<&str>,
        max_mail_size: Option<u64>,
    ) -> Account<'s> {
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        // Distinctive, so a leak is found by a plain substring search.
        let password = format!(
            "Pw{}-{hint}-xQ7vZ3kL",
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let user = server.add_user_with_limits(hint, &password, quota, max_mail_size);
        let password_file = env.write_secret(&format!("{}.password", user.name), &password);
        Account {
            server,
            user,
            password_file,
        }
    }

    pub fn name(&self) -> &str {
        &self.user.name
    }

    pub fn password(&self) -> &str {
        &self.user.password
    }

    /// `SCHEME://USER@127.0.0.1:PORT`, for a port of the server or of a
    /// proxy in front of it.
    pub fn url(&self, scheme: &str, port: u16) -> String {
        format!("{scheme}://{}@127.0.0.1:{port}", self.name())
    }

    /// `imaps://USER@127.0.0.1:PORT` (implicit TLS).
    pub fn imaps(&self) -> String {
        self.url("imaps", self.server.imaps_port())
    }

    /// `imap://USER@127.0.0.1:PORT` (STARTTLS, or plaintext with `--tls none`).
    pub fn imap(&self) -> String {
        self.url("imap", self.server.imap_port())
    }

    /// `pop3s://USER@127.0.0.1:PORT` (implicit TLS).
    pub fn pop3s(&self) -> String {
        self.url("pop3s", self.server.pop3s_port())
    }

    /// `pop3://USER@127.0.0.1:PORT` (STLS, or plaintext with `--tls none`).
    pub fn pop3(&self) -> String {
        self.url("pop3", self.server.pop3_port())
    }

    /// The password file and the CA, for this account on `side` (`src`/`dst`).
    pub fn side_args(&self, side: &str) -> Vec<String> {
        args([
            format!("--{side}-password-file"),
            path_arg(&self.password_file),
            format!("--{side}-ca-file"),
            path_arg(self.server.ca_file()),
        ])
    }

    /// The password file and the CA, for this account as SRC.
    pub fn src_args(&self) -> Vec<String> {
        self.side_args("src")
    }

    /// The password file and the CA, for this account as DST.
    pub fn dst_args(&self) -> Vec<String> {
        self.side_args("dst")
    }

    /// Folder names as Dovecot spells them (`Archive.2023`), sorted.
    pub fn folders(&self) -> Vec<String> {
        self.user.folders(self.server)
    }

    /// The messages of one folder (Dovecot's name) as the server holds
    /// them (read with `doveadm`), line ends normalised.
    pub fn messages(&self, folder: &str) -> Vec<Stored> {
        self.user
            .messages(self.server, folder)
            .into_iter()
            .map(|(_uid, flags, date, raw)| {
                let mut parsed = Flags::default();
                for flag in &flags {
                    parsed.set_imap(flag);
                }
                Stored {
                    raw: lf(&raw),
                    flags: flag_text(&parsed),
                    date: Some(date),
                }
            })
            .collect()
    }

    /// Every folder the server holds for this user, as a model with
    /// mailtug's names (`Archive/2023`).
    pub fn model(&self) -> Model {
        self.folders()
            .into_iter()
            .map(|folder| (folder.replace('.', "/"), self.messages(&folder)))
            .collect()
    }

    /// Waits until every session of this user that logged in has ended in
    /// the server log: what a killed or cut-off client had sent (its last
    /// APPENDs, the deletions its QUIT asked for) is settled only then. Up
    /// to 45 s (no timing assertion: the wait ends as soon as the lines are
    /// there).
    pub fn wait_for_sessions_to_end(&self, what: &str) {
        let login = format!("Login: user=<{}>", self.user.name);
        let session = format!("({})<", self.user.name);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(45);
        let mut kicked = false;
        loop {
            let log = self.server.log_tail(usize::MAX);
            let logins = log
                .lines()
                .filter(|l| l.contains("-login: ") && l.contains(&login))
                .count();
            let ended = log
                .lines()
                .filter(|l| l.contains(&session) && l.contains("Disconnected"))
                .count();
            if ended >= logins {
                return;
            }
            // Seen once in CI: a POP3 session whose client had been killed
            // right after logging in stayed open on the server with no log
            // line after its login. Its client is gone, so nothing of it can
            // still arrive; ending it cannot delete anything (POP3 deletes
            // at QUIT) or store anything a client did not finish sending.
            if !kicked && started.elapsed() > Duration::from_secs(15) {
                kicked = true;
                eprintln!(
                    "{what}: {} still has {} of {logins} sessions open 15 s after its \
                     client ended; kicking them",
                    self.user.name,
                    logins - ended
                );
                let _ = self.server.run_doveadm(&["kick", &self.user.name]);
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {} logged in {logins} times but only {ended} sessions ended",
                self.user.name
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
