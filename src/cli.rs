//! The command line, in the user's vocabulary. One definition drives the
//! parser, `--help`, the man pages and the shell completions; each field's
//! doc comment is its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
  maildir:PATH        a maildir tree (Maildir++ subfolders), created if missing
  mbox:PATH           an mbox file (one folder) or a directory of *.mbox files
  PATH                an existing maildir (has cur/ new/ tmp/) or mbox file
  imaps://USER@HOST[:PORT][/FOLDER], imap://…   IMAP (not supported yet)
  pop3s://USER@HOST[:PORT], pop3://…            POP3 (not supported yet)

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

    /// Copy up to N folders at the same time (for servers: N connections per side)
    #[arg(short, long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// Keep the checkpoint in FILE instead of $XDG_STATE_HOME/mailtug/
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The endpoint to list
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The endpoint whose messages must all be present
    #[arg(value_name = "SRC")]
    pub source: String,

    /// The endpoint to check
    #[arg(value_name = "DST")]
    pub destination: String,

    #[command(flatten)]
    pub folders: FolderArgs,
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
