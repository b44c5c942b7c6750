//! The command line, in the user's vocabulary. One definition drives the
//! parser, `--help`, the man pages and the shell completions; each field's
//! doc comment is its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Path options take a leading `~` as a shell would (see
/// [`crate::endpoint::expand_home`]): a quoted or `--opt=~/x` path is not
/// expanded by the shell.
fn home_path(text: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(crate::endpoint::expand_home(text))
}

/// Move e-mail between POP3, IMAP, maildir and mbox: deduplicated by
/// Message-ID, resumable after any interruption, quiet and scriptable.
#[derive(Debug, Parser)]
#[command(
    name = "mailtug",
    version,
    propagate_version = true,
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub output: OutputArgs,
}

const AFTER_HELP: &str = "\
Endpoints:
  maildir:PATH        a maildir tree (Maildir++ or fs-layout subfolders), created if missing
  mbox:PATH           an mbox file (one folder) or a directory of *.mbox files
  PATH                an existing maildir (has cur/ new/ tmp/) or mbox file
  imaps://USER@HOST[:PORT][/FOLDER], imap://…   IMAP (implicit TLS / STARTTLS)
  pop3s://USER@HOST[:PORT], pop3://…            POP3 (implicit TLS / STLS), as a source

Exit codes:
  0 success, 1 some messages or folders failed, 2 usage or configuration error,
  3 an endpoint could not be opened, 4 interrupted, 5 another run holds the job's lock";

/// Options that shape what the user sees; valid for every command.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON Lines events on stdout, one object per line (see mailtug(1))
    #[arg(long, global = true)]
    pub json: bool,

    /// Print nothing but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail on stderr; -vv for debugging
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy messages from SRC to DST, every folder or those selected
    ///
    /// Folders are created at the destination as needed; flags and internal
    /// dates are kept. Messages whose fingerprint (Message-ID, or a hash when
    /// there is none) the destination folder already holds are skipped. A
    /// checkpoint records what is done, so an interrupted run continues where
    /// it stopped and a finished one copies nothing the next time.
    Copy(CopyArgs),

    /// List the folders of an endpoint with message counts and sizes
    Ls(LsArgs),

    /// Check that DST holds every message of SRC, folder by folder
    ///
    /// Compares fingerprint sets per folder (with the same --folder, --exclude
    /// and --map as copy), prints messages missing from DST and extra ones,
    /// and exits 0 only when nothing is missing.
    Verify(VerifyArgs),

    /// Inspect or remove checkpoints
    #[command(subcommand)]
    State(StateCommand),
}

/// Which folders take part, and what they are called at the destination.
#[derive(Debug, Args, Clone)]
pub struct FolderArgs {
    /// Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023
    #[arg(long = "folder", value_name = "NAME")]
    pub folders: Vec<String>,

    /// Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Rename folder OLD (and everything below it) to NEW at the destination (repeatable)
    #[arg(long, value_name = "OLD=NEW")]
    pub map: Vec<String>,

    /// IMAP: also take folders of other users' and shared namespaces, under their full names (by default only your own folders)
    #[arg(long)]
    pub all_namespaces: bool,
}

/// How to open endpoints: logging in to IMAP and POP3 servers (`--src-…`
/// apply to SRC and to the endpoint of `ls`, `--dst-…` to DST; passwords
/// are never taken from the command line), and the mbox format.
#[derive(Debug, Args, Clone, Default)]
pub struct RemoteArgs {
    /// User name for SRC, when not in its URL (e.g. one containing `@`)
    #[arg(long, value_name = "USER")]
    pub src_user: Option<String>,
    /// Read SRC's password (or token) from the first line of FILE
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub src_password_file: Option<PathBuf>,
    /// Read SRC's password (or token) from environment variable VAR
    #[arg(long, value_name = "VAR")]
    pub src_password_env: Option<String>,
    /// Run CMD with sh and read SRC's password (or token) from its first line of output
    #[arg(long, value_name = "CMD")]
    pub src_password_command: Option<String>,
    /// How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)
    #[arg(long, value_name = "MECHANISM", default_value = "auto", value_parser = ["auto", "login", "plain", "xoauth2", "oauthbearer", "user", "apop"])]
    pub src_auth: String,
    /// Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub src_ca_file: Option<PathBuf>,

    /// User name for DST, when not in its URL
    #[arg(long, value_name = "USER")]
    pub dst_user: Option<String>,
    /// Read DST's password (or token) from the first line of FILE
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub dst_password_file: Option<PathBuf>,
    /// Read DST's password (or token) from environment variable VAR
    #[arg(long, value_name = "VAR")]
    pub dst_password_env: Option<String>,
    /// Run CMD with sh and read DST's password (or token) from its first line of output
    #[arg(long, value_name = "CMD")]
    pub dst_password_command: Option<String>,
    /// How to log in to DST: auto, login, plain, xoauth2, oauthbearer
    #[arg(long, value_name = "MECHANISM", default_value = "auto", value_parser = ["auto", "login", "plain", "xoauth2", "oauthbearer"])]
    pub dst_auth: String,
    /// Also trust the CA certificates in this PEM file for DST
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub dst_ca_file: Option<PathBuf>,

    /// Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)
    #[arg(long)]
    pub insecure: bool,
    /// `none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)
    #[arg(long, value_name = "MODE", default_value = "required", value_parser = ["required", "none"])]
    pub tls: String,
    /// Give up on a server that does not answer for SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2
    #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = ["auto", "mboxrd", "mboxo", "mboxcl2"])]
    pub mbox_format: String,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Where to read messages: an endpoint (see ENDPOINTS)
    #[arg(value_name = "SRC")]
    pub source: String,

    /// Where to store them: an endpoint (see ENDPOINTS)
    #[arg(value_name = "DST")]
    pub destination: String,

    #[command(flatten)]
    pub folders: FolderArgs,

    /// Copy every message, even when the destination folder already holds its fingerprint
    #[arg(long)]
    pub no_dedup: bool,

    /// Show what would be copied; write nothing, not even the checkpoint
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Copy up to N folders at the same time, the largest first (for servers: N connections per side)
    #[arg(short, long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Delete messages from SRC (IMAP, POP3) once DST has stored them and the checkpoint holds them
    #[arg(long, conflicts_with = "delete_after")]
    pub delete_source: bool,

    /// POP3: leave mail on the server for DAYS days after it was first stored, then delete it
    #[arg(long, value_name = "DAYS")]
    pub delete_after: Option<u64>,

    /// POP3: fetch at most N messages per run (the rest waits for the next run)
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,

    /// POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)
    #[arg(long, value_name = "SIZE")]
    pub max_bytes: Option<String>,

    /// Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server's day for IMAP)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server's day for IMAP)
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,

    /// Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,

    /// Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination's own
    #[arg(long)]
    pub no_special_use_map: bool,

    /// Keep the checkpoint in FILE instead of $XDG_STATE_HOME/mailtug/
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub layout: LayoutArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The endpoint to list
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: String,

    /// IMAP: also list folders of other users' and shared namespaces
    #[arg(long)]
    pub all_namespaces: bool,

    /// Subfolder layout of a maildir ENDPOINT: auto (whatever the tree holds), maildir++ (.Archive.2023/), fs (Archive/2023/)
    #[arg(long, value_name = "LAYOUT", default_value = "auto", value_parser = MAILDIR_LAYOUTS)]
    pub src_maildir_layout: String,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The endpoint whose messages must all be present
    #[arg(value_name = "SRC")]
    pub source: String,

    /// The endpoint to check
    #[arg(value_name = "DST")]
    pub destination: String,

    /// Also compare each message's bytes (line ends, mbox quoting and mbox flag headers aside), reading every message of both sides whole
    #[arg(long)]
    pub content: bool,

    #[command(flatten)]
    pub folders: FolderArgs,

    #[command(flatten)]
    pub layout: LayoutArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// The spellings of `--src-maildir-layout` and `--dst-maildir-layout`.
const MAILDIR_LAYOUTS: [&str; 3] = ["auto", "maildir++", "fs"];

/// How maildir trees lay out their subfolders. One option per side, as the
/// two sides of a copy between layouts differ.
#[derive(Debug, Args, Clone)]
pub struct LayoutArgs {
    /// Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)
    #[arg(long, value_name = "LAYOUT", default_value = "auto", value_parser = MAILDIR_LAYOUTS)]
    pub src_maildir_layout: String,

    /// Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs
    #[arg(long, value_name = "LAYOUT", default_value = "auto", value_parser = MAILDIR_LAYOUTS)]
    pub dst_maildir_layout: String,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List checkpoints: id, last update, source and destination
    List,
    /// Print a checkpoint (by id from `state list`, or a file path) as JSON
    Show {
        /// Checkpoint id or file
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Remove a checkpoint, so the next run of its job starts over (relying on dedup)
    Forget {
        /// Checkpoint id or file
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
