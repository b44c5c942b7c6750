//! The config file: named accounts and jobs, so a cron line is `mailtug run
//! fetch` instead of two hundred characters of options.
//!
//! A job from the file becomes the command line it stands for, which the
//! same parser reads as if it had been typed: the file can mean nothing the
//! command line cannot say, options given to `mailtug run` after the job's
//! name override the file's (they come later), and a job run from the file
//! and the same command line typed out are one job with one checkpoint.
//!
//! ```toml
//! [defaults]
//! jobs = 4
//!
//! [accounts.work]
//! url = "imaps://me@imap.example.com"
//! password_file = "~/.config/mailtug/work.password"
//!
//! [jobs.fetch]
//! src = "work"
//! dst = "maildir:~/Mail"
//! ```

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::exit;
use crate::secret::Secret;

/// The environment variable that names the config file.
pub const CONFIG_ENV: &str = "MAILTUG_CONFIG";

/// The whole file. Unknown keys are errors: a misspelt option must not be
/// ignored by a cron job that then does something else.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub defaults: Options,
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
    #[serde(default)]
    pub jobs: BTreeMap<String, JobSpec>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
    /// No one but its owner can read it: only then may it hold passwords.
    #[serde(skip)]
    private: bool,
}

/// One account: an endpoint and how to log in to it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The endpoint, as on the command line (`imaps://user@host`,
    /// `maildir:~/Mail`…).
    pub url: String,
    /// The user name, when it is not in the URL.
    pub user: Option<String>,
    /// Log in as this administrator, with its password, and act as the
    /// user (`--src-admin`).
    pub admin: Option<String>,
    pub password_file: Option<String>,
    pub password_env: Option<String>,
    pub password_command: Option<String>,
    /// The password itself: only in a file no one else can read.
    pub password: Option<String>,
    /// `auto`, `login`, `plain`, `xoauth2`, `oauthbearer` (IMAP), `user`,
    /// `apop` (POP3).
    pub auth: Option<String>,
    pub ca_file: Option<String>,
    /// Log in with the OAuth2 sign-in of `mailtug auth login` (`google` or
    /// `microsoft`); with no `auth`, that is XOAUTH2.
    pub oauth: Option<crate::oauth::Provider>,
    /// The client ID `auth login` signs in with.
    pub oauth_client_id: Option<String>,
    /// A file whose first line is the client's secret.
    pub oauth_client_secret_file: Option<String>,
    /// Microsoft's directory (`common` when not given).
    pub oauth_tenant: Option<String>,
    /// `auto`, `maildir++` or `fs`, for a maildir.
    pub maildir_layout: Option<String>,
    /// `gmail`, `microsoft` or `none`: the account's preset, when its host
    /// name does not tell.
    pub provider: Option<String>,
}

/// Options of a job, or of every job (`[defaults]`), by their command-line
/// names without the dashes (`delete_source` for `--delete-source`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub folders: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub map: Option<Vec<String>>,
    pub all_namespaces: Option<bool>,
    pub merge: Option<bool>,
    pub dedup: Option<bool>,
    pub jobs: Option<u32>,
    pub retries: Option<u32>,
    pub timeout: Option<u64>,
    pub delete_source: Option<bool>,
    pub delete_after: Option<u64>,
    pub max_messages: Option<u64>,
    pub max_bytes: Option<String>,
    pub since: Option<String>,
    pub before: Option<String>,
    pub max_size: Option<String>,
    pub special_use_map: Option<bool>,
    pub state: Option<String>,
    /// `required` (the default) or `none` (loopback only).
    pub tls: Option<String>,
    pub insecure: Option<bool>,
    pub mbox_format: Option<String>,
    /// mirror: `expunge` or `trash`; absent, nothing is deleted.
    pub delete: Option<String>,
    /// mirror: `N` or `P%`.
    pub max_delete: Option<String>,
    pub max_bytes_per_second: Option<String>,
    pub max_messages_per_second: Option<u64>,
    pub src_max_bytes_per_day: Option<String>,
    pub dst_max_bytes_per_day: Option<String>,
    /// A Gmail source's label policy (`folders` or `all-mail`).
    pub gmail_labels: Option<String>,
}

/// One job: what to run, from where to where.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// `copy` (the default) or `mirror`.
    #[serde(default = "copy_command")]
    pub command: String,
    /// An account of the file, or an endpoint as on the command line.
    pub src: String,
    pub dst: String,
    #[serde(flatten)]
    pub options: Options,
}

fn copy_command() -> String {
    "copy".into()
}

/// A job of the file as the command line it stands for, with the
/// passwords the file holds itself (never put on any command line).
#[derive(Debug)]
pub struct Resolved {
    pub name: String,
    /// `copy SRC DST --option…` (without the program name).
    pub args: Vec<String>,
    pub src_password: Option<Secret>,
    pub dst_password: Option<Secret>,
}

impl Config {
    /// Where the config file is: `explicit` (`-c FILE`), else
    /// `$MAILTUG_CONFIG`, else `$XDG_CONFIG_HOME/mailtug/config.toml`
    /// (`~/.config/…` without it).
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(path) = explicit {
            return Some(path.to_path_buf());
        }
        if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(path));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
        Some(base.join("mailtug").join("config.toml"))
    }

    /// Reads and checks the file at `path`. Errors name the file, and the
    /// line and key where there is one (exit 2).
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file `{}`", path.display()))
            .map_err(|e| exit::usage(format!("{e:#}")))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            exit::usage(format!(
                "config file `{}`{}",
                path.display(),
                where_and_what(&text, &e)
            ))
        })?;
        config.path = path.to_path_buf();
        let meta = std::fs::metadata(path)
            .with_context(|| format!("reading config file `{}`", path.display()))?;
        config.private =
            meta.permissions().mode() & 0o077 == 0 && meta.uid() == unsafe { libc::geteuid() };
        config.check()?;
        Ok(config)
    }

    /// What `load` checks beyond the syntax: every job's accounts exist,
    /// and passwords are only in a private file.
    fn check(&self) -> Result<()> {
        for (name, account) in &self.accounts {
            if account.password.is_some() && !self.private {
                return Err(exit::usage(format!(
                    "config file `{}`: account `{name}` holds a password, and others can read \
                     the file; make it private (chmod 600) or use password_file, \
                     password_env or password_command",
                    self.path.display()
                )));
            }
            let given = [
                account.password.is_some(),
                account.password_file.is_some(),
                account.password_env.is_some(),
                account.password_command.is_some(),
            ];
            if account.oauth.is_some() && given.iter().any(|&g| g) {
                return Err(exit::usage(format!(
                    "config file `{}`: account `{name}` signs in with oauth and also gives a \
                     password; keep one",
                    self.path.display()
                )));
            }
            if given.iter().filter(|&&g| g).count() > 1 {
                return Err(exit::usage(format!(
                    "config file `{}`: account `{name}` gives more than one of password, \
                     password_file, password_env and password_command",
                    self.path.display()
                )));
            }
        }
        for (name, job) in &self.jobs {
            if !matches!(job.command.as_str(), "copy" | "mirror") {
                return Err(exit::usage(format!(
                    "config file `{}`: job `{name}` has command `{}`; it is `copy` or `mirror`",
                    self.path.display(),
                    job.command
                )));
            }
            if job.command == "copy"
                && (job.options.delete.is_some() || job.options.max_delete.is_some())
            {
                return Err(exit::usage(format!(
                    "config file `{}`: job `{name}` sets delete or max_delete, which are for \
                     command = \"mirror\"",
                    self.path.display()
                )));
            }
        }
        Ok(())
    }

    /// The job `name` as a command line: the defaults, then the job's own
    /// options, then `overrides` (what was typed after the job's name).
    pub fn resolve(&self, name: &str, overrides: &[String]) -> Result<Resolved> {
        let job = self.jobs.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.jobs.keys().map(String::as_str).collect();
            exit::usage(format!(
                "config file `{}` has no job `{name}`{}",
                self.path.display(),
                match known.is_empty() {
                    true => String::new(),
                    false => format!(" (its jobs: {})", known.join(", ")),
                }
            ))
        })?;
        let (src, src_password) = self.endpoint("src", &job.src)?;
        let (dst, dst_password) = self.endpoint("dst", &job.dst)?;
        let mut args = vec![job.command.clone(), src.endpoint, dst.endpoint];
        args.extend(src.options);
        args.extend(dst.options);
        job.options.or(&self.defaults).push_args(&mut args);
        args.extend(overrides.iter().cloned());
        Ok(Resolved {
            name: name.to_string(),
            args,
            src_password,
            dst_password,
        })
    }

    /// An account (by name) or an endpoint, as the options for `side`.
    fn endpoint(&self, side: &str, given: &str) -> Result<(Side, Option<Secret>)> {
        let Some(account) = self.accounts.get(given) else {
            return Ok((
                Side {
                    endpoint: given.to_string(),
                    options: Vec::new(),
                },
                None,
            ));
        };
        let mut options = Vec::new();
        let mut push = |option: &str, value: &Option<String>| {
            if let Some(value) = value {
                options.push(format!("--{side}-{option}"));
                options.push(value.clone());
            }
        };
        push("user", &account.user);
        push("admin", &account.admin);
        push("password-file", &account.password_file);
        push("password-env", &account.password_env);
        push("password-command", &account.password_command);
        let oauth_default =
            (account.oauth.is_some() && account.auth.is_none()).then(|| "xoauth2".to_owned());
        push("auth", &account.auth.clone().or(oauth_default));
        push("ca-file", &account.ca_file);
        push("maildir-layout", &account.maildir_layout);
        push("provider", &account.provider);
        Ok((
            Side {
                endpoint: account.url.clone(),
                options,
            },
            account.password.clone().map(Secret::new),
        ))
    }
}

/// A parse error in one line: `, line N: what` (the line of the key an
/// unknown-key error names, not of its table).
fn where_and_what(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end().replace('\n', " ");
    let Some(span) = error.span() else {
        return format!(": {message}");
    };
    let line_at = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut line = line_at(span.start);
    if let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let from = span.start.min(text.len());
        let mut offset = from;
        for text_line in text[from..].split_inclusive('\n') {
            let trimmed = text_line.trim_start();
            let named = trimmed
                .strip_prefix(key)
                .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='));
            if named {
                line = line_at(offset);
                break;
            }
            offset += text_line.len();
        }
    }
    let hint = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        .and_then(|key| crate::suggest::closest(key, KEYS.iter()))
        .map(|key| format!("; did you mean `{key}`?"))
        .unwrap_or_default();
    format!(", line {line}: {message}{hint}")
}

/// Every key the file knows, for suggestions.
const KEYS: &[&str] = &[
    "defaults",
    "accounts",
    "admin",
    "jobs",
    "url",
    "user",
    "password_file",
    "password_env",
    "password_command",
    "password",
    "auth",
    "ca_file",
    "oauth",
    "oauth_client_id",
    "oauth_client_secret_file",
    "oauth_tenant",
    "provider",
    "gmail_labels",
    "maildir_layout",
    "command",
    "src",
    "dst",
    "folders",
    "exclude",
    "map",
    "all_namespaces",
    "merge",
    "dedup",
    "retries",
    "timeout",
    "delete_source",
    "delete_after",
    "max_messages",
    "max_bytes",
    "since",
    "before",
    "max_size",
    "special_use_map",
    "state",
    "tls",
    "insecure",
    "mbox_format",
    "delete",
    "max_delete",
    "max_bytes_per_second",
    "max_messages_per_second",
    "src_max_bytes_per_day",
    "dst_max_bytes_per_day",
];

/// One side of a job as command-line words.
struct Side {
    endpoint: String,
    options: Vec<String>,
}

impl Options {
    /// These options, each one not set taken from `defaults`.
    fn or(&self, defaults: &Options) -> Options {
        macro_rules! either {
            ($($field:ident),*) => {
                Options { $($field: self.$field.clone().or_else(|| defaults.$field.clone()),)* }
            };
        }
        either!(
            folders,
            exclude,
            map,
            all_namespaces,
            merge,
            dedup,
            jobs,
            retries,
            timeout,
            delete_source,
            delete_after,
            max_messages,
            max_bytes,
            since,
            before,
            max_size,
            special_use_map,
            state,
            tls,
            insecure,
            mbox_format,
            delete,
            max_delete,
            max_bytes_per_second,
            max_messages_per_second,
            src_max_bytes_per_day,
            dst_max_bytes_per_day,
            gmail_labels
        )
    }

    /// Appends these options as command-line words.
    fn push_args(&self, args: &mut Vec<String>) {
        let mut value = |option: &str, value: Option<String>| {
            if let Some(value) = value {
                args.push(format!("--{option}"));
                args.push(value);
            }
        };
        for folder in self.folders.iter().flatten() {
            value("folder", Some(folder.clone()));
        }
        for glob in self.exclude.iter().flatten() {
            value("exclude", Some(glob.clone()));
        }
        for map in self.map.iter().flatten() {
            value("map", Some(map.clone()));
        }
        value("jobs", self.jobs.map(|n| n.to_string()));
        value("retries", self.retries.map(|n| n.to_string()));
        value("timeout", self.timeout.map(|n| n.to_string()));
        value("delete-after", self.delete_after.map(|n| n.to_string()));
        value("max-messages", self.max_messages.map(|n| n.to_string()));
        value("max-bytes", self.max_bytes.clone());
        value("since", self.since.clone());
        value("before", self.before.clone());
        value("max-size", self.max_size.clone());
        value("state", self.state.clone());
        value("tls", self.tls.clone());
        value("mbox-format", self.mbox_format.clone());
        value("max-delete", self.max_delete.clone());
        value("max-bytes-per-second", self.max_bytes_per_second.clone());
        value(
            "max-messages-per-second",
            self.max_messages_per_second.map(|n| n.to_string()),
        );
        value("src-max-bytes-per-day", self.src_max_bytes_per_day.clone());
        value("dst-max-bytes-per-day", self.dst_max_bytes_per_day.clone());
        value("gmail-labels", self.gmail_labels.clone());
        let mut flag = |option: &str, set: bool| {
            if set {
                args.push(format!("--{option}"));
            }
        };
        flag("all-namespaces", self.all_namespaces == Some(true));
        flag("merge", self.merge == Some(true));
        flag("no-dedup", self.dedup == Some(false));
        flag("delete-source", self.delete_source == Some(true));
        flag("no-special-use-map", self.special_use_map == Some(false));
        flag("insecure", self.insecure == Some(true));
        if let Some(how) = &self.delete {
            args.push(format!("--delete={how}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<Config> {
        let dir = std::env::temp_dir().join(format!("mailtug-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.toml", text.len()));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let loaded = Config::load(&path);
        std::fs::remove_file(&path).unwrap();
        loaded
    }

    const FILE: &str = r#"
[defaults]
jobs = 2
folders = ["INBOX"]
tls = "none"

[accounts.pop]
url = "pop3://me@127.0.0.1:1110"
password_env = "POP_PASSWORD"

[accounts.home]
url = "imaps://me@imap.example.org"
user = "me@example.org"
password = "s3cret"
ca_file = "/etc/ca.pem"

[jobs.fetch]
src = "pop"
dst = "home"
delete_source = true
jobs = 1

[jobs.backup]
command = "mirror"
src = "home"
dst = "maildir:~/backup"
folders = ["INBOX", "Sent"]
exclude = ["Junk"]
delete = "trash"
max_delete = "5%"
dedup = false
"#;

    #[test]
    fn a_job_is_the_command_line_it_stands_for_with_the_files_defaults_under_it() {
        let config = config(FILE).unwrap();
        let fetch = config.resolve("fetch", &["--dry-run".into()]).unwrap();
        assert_eq!(
            fetch.args.join(" "),
            "copy pop3://me@127.0.0.1:1110 imaps://me@imap.example.org \
             --src-password-env POP_PASSWORD --dst-user me@example.org \
             --dst-ca-file /etc/ca.pem --folder INBOX --jobs 1 --tls none --delete-source \
             --dry-run"
        );
        assert!(fetch.src_password.is_none());
        assert_eq!(fetch.dst_password, Some(Secret::new("s3cret".into())));
        assert!(!fetch.args.iter().any(|word| word.contains("s3cret")));

        let backup = config.resolve("backup", &[]).unwrap();
        assert_eq!(
            backup.args.join(" "),
            "mirror imaps://me@imap.example.org maildir:~/backup --src-user me@example.org \
             --src-ca-file /etc/ca.pem --folder INBOX --folder Sent --exclude Junk --jobs 2 \
             --tls none --max-delete 5% --no-dedup --delete=trash"
        );
    }

    #[test]
    fn rate_limits_come_from_the_job_or_the_defaults_as_their_options() {
        let config = config(
            "[defaults]\nmax_messages_per_second = 20\nsrc_max_bytes_per_day = \"2400M\"\n\
             [jobs.gmail]\nsrc = \"imaps://me@imap.gmail.com\"\ndst = \"maildir:~/gmail\"\n\
             max_bytes_per_second = \"1M\"\ndst_max_bytes_per_day = \"30G\"\n",
        )
        .unwrap();
        let job = config.resolve("gmail", &[]).unwrap();
        assert_eq!(
            job.args.join(" "),
            "copy imaps://me@imap.gmail.com maildir:~/gmail --max-bytes-per-second 1M \
             --max-messages-per-second 20 --src-max-bytes-per-day 2400M \
             --dst-max-bytes-per-day 30G"
        );
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let unknown = config("[jobs.x]\nsrc = \"a\"\ndst = \"b\"\nfolder = [\"INBOX\"]\n");
        assert_eq!(
            format!("{:#}", unknown.unwrap_err())
                .split_once(", line ")
                .unwrap()
                .1,
            "4: unknown field `folder`; did you mean `folders`?"
        );
        let mirror_only = config("[jobs.x]\nsrc = \"a\"\ndst = \"b\"\ndelete = \"trash\"\n");
        assert!(format!("{:#}", mirror_only.unwrap_err()).contains("command = \"mirror\""));
        let two = config("[accounts.a]\nurl = \"x\"\npassword = \"p\"\npassword_env = \"P\"\n");
        assert!(format!("{:#}", two.unwrap_err()).contains("more than one of password"));
        let missing = config(FILE).unwrap().resolve("nightly", &[]).unwrap_err();
        assert!(format!("{missing:#}").ends_with("has no job `nightly` (its jobs: backup, fetch)"));
    }
}
