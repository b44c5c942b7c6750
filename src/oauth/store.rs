//! Where sign-ins are kept: one JSON file per account in
//! `$XDG_STATE_HOME/mailtug/tokens/` (else `~/.local/state/mailtug/tokens/`),
//! mode 0600 in a 0700 directory, replaced atomically, with a lock file
//! beside it that a refresh holds.
//!
//! Tokens live here and nowhere else: never in a job's state, a log or the
//! JSON output.
//!
//! Or in a keyring: with `MAILTUG_TOKEN_COMMAND` set, the records go to that
//! command instead of the files, through `sh -c`: `CMD load ADDRESS` prints
//! the record (nothing when there is none), `CMD save ADDRESS` takes it on
//! stdin, `CMD delete ADDRESS` forgets it and `CMD list` prints the
//! addresses, one a line. The records travel on pipes, never on an argv;
//! the lock stays a file in the tokens directory.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Provider, TokenAnswer};
use crate::durable;

/// One signed-in account.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub provider: Provider,
    pub user: String,
    pub client_id: String,
    /// Google's "desktop app" clients have a secret that is not secret
    /// (RFC 8252 §8.5) but that the token endpoint wants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Microsoft's directory (`common` when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub scope: String,
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub signed_in_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<u64>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens or the client secret.
        f.debug_struct("TokenRecord")
            .field("provider", &self.provider)
            .field("user", &self.user)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    /// When the access token was issued.
    pub fn issued_at(&self) -> u64 {
        self.refreshed_at.unwrap_or(self.signed_in_at)
    }

    pub fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("common")
    }

    /// Takes a token endpoint's answer. A provider that does not rotate
    /// refresh tokens leaves the old one out, and the old one stays.
    pub(crate) fn take(&mut self, answer: TokenAnswer) {
        self.access_token = answer.access_token;
        // RFC 6749 §5.1 makes expires_in optional; an hour is what both
        // providers give.
        self.expires_at = super::now() + answer.expires_in.unwrap_or(3600);
        if let Some(refresh_token) = answer.refresh_token {
            self.refresh_token = Some(refresh_token);
        }
        if let Some(scope) = answer.scope {
            self.scope = scope;
        }
    }
}

/// The environment variable naming a command that keeps the records.
pub const TOKEN_COMMAND_ENV: &str = "MAILTUG_TOKEN_COMMAND";

/// The directory of token files (and of their locks), or the command that
/// keeps the records instead.
#[derive(Clone, Debug)]
pub struct TokenStore {
    dir: PathBuf,
    command: Option<String>,
}

impl TokenStore {
    pub fn default_location() -> Result<TokenStore> {
        Ok(TokenStore {
            dir: crate::checkpoint::state_dir()?.join("tokens"),
            command: std::env::var(TOKEN_COMMAND_ENV)
                .ok()
                .filter(|c| !c.trim().is_empty()),
        })
    }

    /// Where the records are, for people.
    pub fn location(&self, user: &str) -> String {
        match &self.command {
            Some(command) => format!("the token command `{command}`"),
            None => format!("`{}`", self.path(user).display()),
        }
    }

    /// Where all the records are, for people.
    pub fn place(&self) -> String {
        match &self.command {
            Some(command) => format!("the token command `{command}`"),
            None => format!("`{}`", self.dir.display()),
        }
    }

    /// Runs the token command with `words`, feeding it `input`.
    fn run(&self, command: &str, words: &[&str], input: &[u8]) -> Result<Vec<u8>> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{command} \"$@\""))
            .arg("mailtug-token-command")
            .args(words)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("running the token command `{command}`"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let written = stdin.write_all(input);
        drop(stdin);
        let output = child
            .wait_with_output()
            .with_context(|| format!("running the token command `{command}`"))?;
        if !output.status.success() {
            return Err(crate::exit::usage(format!(
                "the token command `{command} {}` failed ({})",
                words.join(" "),
                output.status
            )));
        }
        written.with_context(|| format!("giving the record to `{command}`"))?;
        Ok(output.stdout)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `user`: the address with anything but letters, digits
    /// and `@._+-` percent-encoded, so no address can name another path.
    pub fn path(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(user)))
    }

    pub fn load(&self, user: &str) -> Result<Option<TokenRecord>> {
        let Some(command) = &self.command else {
            return self.read(&self.path(user));
        };
        let text = self.run(command, &["load", user], b"")?;
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let record = serde_json::from_slice(&text).with_context(|| {
            format!("the token command `{command}` printed something other than a record")
        })?;
        Ok(Some(record))
    }

    fn read(&self, path: &Path) -> Result<Option<TokenRecord>> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
        };
        let record = serde_json::from_slice(&text)
            .with_context(|| format!("`{}` is not a token file of mailtug", path.display()))?;
        Ok(Some(record))
    }

    /// Writes `record` so that a crash leaves the old file or the new one.
    pub fn save(&self, record: &TokenRecord) -> Result<()> {
        if let Some(command) = &self.command {
            let json = serde_json::to_vec(record).expect("a token record serializes");
            self.run(command, &["save", &record.user], &json)?;
            return Ok(());
        }
        durable::create_private_dir(&self.dir)
            .with_context(|| format!("creating `{}`", self.dir.display()))?;
        // The directory may predate us with looser permissions.
        let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700));
        let path = self.path(&record.user);
        let json = serde_json::to_vec_pretty(record).expect("a token record serializes");
        durable::write_atomically(&path, &json)
            .with_context(|| format!("saving the sign-in in `{}`", path.display()))
    }

    /// Forgets `user`'s sign-in; false when there was none.
    pub fn remove(&self, user: &str) -> Result<bool> {
        if let Some(command) = &self.command {
            let had = self.load(user)?.is_some();
            self.run(command, &["delete", user], b"")?;
            return Ok(had);
        }
        let path = self.path(user);
        match fs::remove_file(&path) {
            Ok(()) => {
                let _ = fs::remove_file(path.with_extension("lock"));
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing `{}`", path.display())),
        }
    }

    /// Every stored sign-in, by user.
    pub fn all(&self) -> Result<Vec<TokenRecord>> {
        if let Some(command) = &self.command {
            let listed = self.run(command, &["list"], b"")?;
            let mut records = Vec::new();
            for user in String::from_utf8_lossy(&listed).lines() {
                if !user.trim().is_empty() {
                    records.extend(self.load(user.trim())?);
                }
            }
            records.sort_by(|a, b| a.user.cmp(&b.user));
            return Ok(records);
        }
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", self.dir.display())),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                records.extend(self.read(&path)?);
            }
        }
        records.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(records)
    }

    /// Waits for, then holds, the lock of `user`'s sign-in until the
    /// returned file is dropped (flock(2): released by the kernel if the
    /// process dies).
    pub fn lock(&self, user: &str) -> Result<File> {
        durable::create_private_dir(&self.dir)
            .with_context(|| format!("creating `{}`", self.dir.display()))?;
        let path = self.path(user).with_extension("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening `{}`", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("locking `{}`", path.display()));
        }
        Ok(file)
    }
}

fn file_stem(user: &str) -> String {
    let stem = super::http::percent_encode_except(user, b"@_+-.");
    // No hidden file, and no `.` or `..`.
    match stem.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: &str) -> TokenRecord {
        TokenRecord {
            provider: Provider::Microsoft,
            user: user.into(),
            client_id: "client".into(),
            client_secret: None,
            tenant: None,
            scope: Provider::Microsoft.scope().into(),
            access_token: "at-1".into(),
            expires_at: 100,
            refresh_token: Some("rt-1".into()),
            signed_in_at: 50,
            refreshed_at: None,
        }
    }

    #[test]
    fn records_are_private_files_named_safely() {
        let dir = std::env::temp_dir().join(format!("mailtug-tokens-{}", std::process::id()));
        let store = TokenStore {
            dir: dir.join("tokens"),
            command: None,
        };
        assert_eq!(
            store.path("me@example.org"),
            dir.join("tokens/me@example.org.json")
        );
        assert_eq!(store.path("../x/y"), dir.join("tokens/%2E.%2Fx%2Fy.json"));
        store.save(&record("me@example.org")).unwrap();
        let mode = fs::metadata(store.path("me@example.org"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(
            store.load("me@example.org").unwrap(),
            Some(record("me@example.org"))
        );
        assert_eq!(store.all().unwrap().len(), 1);
        drop(store.lock("me@example.org").unwrap());
        assert!(store.remove("me@example.org").unwrap());
        assert!(!store.remove("me@example.org").unwrap());
        assert_eq!(store.load("me@example.org").unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_answer_without_a_refresh_token_keeps_the_old_one() {
        let mut kept = record("a@b");
        kept.take(TokenAnswer {
            access_token: "at-2".into(),
            expires_in: Some(60),
            refresh_token: None,
            scope: None,
        });
        assert_eq!(kept.refresh_token.as_deref(), Some("rt-1"));
        assert_eq!(kept.access_token, "at-2");
        kept.take(TokenAnswer {
            access_token: "at-3".into(),
            expires_in: None,
            refresh_token: Some("rt-2".into()),
            scope: None,
        });
        assert_eq!(kept.refresh_token.as_deref(), Some("rt-2"));
        assert!(!format!("{kept:?}").contains("rt-2"));
    }
}
