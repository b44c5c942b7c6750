//! The command line, in the user's vocabulary. One definition drives the
//! parser, `--help`, the man pages and the shell completions; each field's
//! doc comment is its help text.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::date;

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
    // The last of a repeated option counts: `mailtug run JOB --jobs 8`
    // overrides the job's `jobs` (options that take several values add up).
    args_override_self = true,
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)
    #[arg(short = 'c', long = "config", value_name = "FILE", global = true, value_parser = home_path)]
    pub config: Option<PathBuf>,
}

impl Cli {
    /// Whether the command prints one JSON document rather than events
    /// (`state show`), so `--json` adds no summary event after it.
    pub fn prints_a_document(&self) -> bool {
        matches!(&self.command, Command::State(StateCommand::Show { .. }))
    }

    /// Options typed after `mailtug run JOB` that shape the output
    /// (`--json`, `-q`, `-v`): they apply from the start, before the
    /// job's command line is read.
    pub fn output_of_run(&self) -> OutputArgs {
        let mut output = self.output.clone();
        if let Command::Run(run) = &self.command {
            for word in run.jobs.iter().skip_while(|w| !w.starts_with('-')) {
                match word.as_str() {
                    "--json" => output.json = true,
                    "-q" | "--quiet" => output.quiet = true,
                    "--progress" => output.progress = true,
                    "--no-progress" => output.no_progress = true,
                    "--verbose" => output.verbose += 1,
                    short
                        if short.starts_with('-')
                            && !short.starts_with("--")
                            && short[1..].chars().all(|c| c == 'v') =>
                    {
                        output.verbose += (short.len() - 1) as u8
                    }
                    _ => {}
                }
            }
        }
        output
    }
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
  3 an endpoint could not be opened, 4 interrupted, 5 another run holds the job's lock,
  6 mirror deletions held back by a safety rail, 7 a login was refused,
  8 sign in again with `mailtug auth login`, 75 a limit was reached: run again later";

/// Options that shape what the user sees; valid for every command.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Print JSON Lines events on stdout, one object per line (see mailtug(1))
    #[arg(help_heading = "Output", long, global = true)]
    pub json: bool,

    /// Print nothing but errors
    #[arg(
        help_heading = "Output",
        short,
        long,
        global = true,
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// Show progress on stderr even when it is not a terminal (a log, tmux's pipe-pane)
    #[arg(
        help_heading = "Output",
        long,
        global = true,
        conflicts_with = "no_progress"
    )]
    pub progress: bool,

    /// Never show progress (the summary line still comes)
    #[arg(help_heading = "Output", long, global = true)]
    pub no_progress: bool,

    /// More detail on stderr; -vv for debugging
    #[arg(help_heading = "Output", short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Copy messages from SRC to DST, every folder or those selected
    ///
    /// Folders are created at the destination as needed; flags and internal
    /// dates are kept. Messages whose fingerprint (Message-ID, or a hash when
    /// there is none) the destination folder already holds are skipped. A
    /// checkpoint records what is done, so an interrupted run continues where
    /// it stopped and a finished one copies nothing the next time.
    Copy(CopyArgs),

    /// Copy what is new, then make DST's flags and deletions follow SRC
    ///
    /// Every message an earlier run copied gets the flags it has at the
    /// source now; with --delete, messages gone from the source are removed
    /// from the destination. The source wins: changes made at the destination
    /// are overwritten. Deletions stop at a limit per folder (--max-delete),
    /// and never happen for a source folder that is missing, unreadable or
    /// holds none of what was copied from it.
    Mirror(MirrorArgs),

    /// Show what a copy from SRC to DST would do, and whether it can
    ///
    /// Takes the same options as copy, and writes nothing (`copy --dry-run`
    /// and `mirror --dry-run` print the same plan). Per folder: where it
    /// goes (exists, or new and with which special use), the messages a run
    /// would copy and their size, copies within the source, messages already
    /// at the destination, and what earlier runs did. Then the destination's
    /// quota (or free space) against the bytes to copy, messages over its
    /// APPENDLIMIT or left out by --max-size, folder names it would refuse,
    /// and what would be deleted. Exits 0 when the plan can run as it is, 1
    /// with the reasons when it cannot.
    #[command(mut_arg("dry_run", |a| a.hide(true)))]
    Plan(CopyArgs),

    /// List the folders of an endpoint with message counts and sizes
    // One endpoint, read as a source: the destination's options are not
    // its own (they are still accepted, so a copy's options can be reused).
    #[command(
        mut_arg("dst_user", |a| a.hide(true)),
        mut_arg("dst_admin", |a| a.hide(true)),
        mut_arg("dst_password_file", |a| a.hide(true)),
        mut_arg("dst_password_env", |a| a.hide(true)),
        mut_arg("dst_password_command", |a| a.hide(true)),
        mut_arg("dst_auth", |a| a.hide(true)),
        mut_arg("dst_ca_file", |a| a.hide(true))
    )]
    Ls(LsArgs),

    /// Check that DST holds every message of SRC, folder by folder
    ///
    /// Compares fingerprint sets per folder (with the same --folder, --exclude
    /// and --map as copy), prints messages missing from DST and extra ones,
    /// and exits 0 only when nothing is missing.
    Verify(VerifyArgs),

    /// Inspect or remove the state of jobs
    #[command(subcommand)]
    State(StateCommand),

    /// Run jobs named in the config file (see mailtug-config(5) in mailtug(1))
    ///
    /// Each job runs as the copy or mirror command line it stands for, one
    /// after the other; options given after the job names override the
    /// file's for every job (`mailtug run fetch --dry-run -v`). A job run
    /// this way and the same command line typed out share one state. The
    /// exit code is the first failing job's, or 0.
    Run(RunArgs),

    /// Check the config file
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Copy many account pairs listed in a manifest, several at a time
    ///
    /// MANIFEST is CSV with a header row, or JSON Lines: one account pair per
    /// row (columns src, dst, src_user, dst_user, src_admin, dst_admin,
    /// src_password_file, _env or _command and the same for dst, src_auth,
    /// dst_auth, src_ca_file, dst_ca_file, id, and per row folders, exclude
    /// and map separated by `;`, since, before, max_size, jobs). The whole
    /// file is checked first; every bad row is reported with its line number
    /// and nothing starts (exit 2). Each row runs as its own copy with its
    /// own state. The report directory gets report.jsonl (one record per
    /// account), summary.json and failed.csv (the failed rows, in manifest
    /// form, to run again). Exit 0 when every account went well, 1 when any
    /// failed, 7 when a login was refused (never retried: fix the
    /// credentials, then run failed.csv), 4 when interrupted.
    Bulk(BulkArgs),

    /// Work with bulk reports
    #[command(subcommand)]
    Report(ReportCommand),

    /// Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3
    ///
    /// `auth login` opens the provider's sign-in (a browser for Google, a
    /// code to enter anywhere for Microsoft) with an OAuth client you
    /// registered yourself, and keeps the tokens in a private file under
    /// $XDG_STATE_HOME/mailtug/tokens/. From then on, copy, mirror, ls and
    /// the other commands log in to that account with XOAUTH2 (or
    /// --…-auth oauthbearer) by themselves, and refresh the access token
    /// when it is about to expire. When the provider no longer accepts the
    /// sign-in, they exit 8: run `auth login` again.
    #[command(subcommand)]
    Auth(AuthCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Sign in an account, and keep its tokens
    Login(AuthLoginArgs),
    /// Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed
    Status {
        /// Only these accounts (exit 8 if one has not signed in)
        #[arg(value_name = "ADDRESS")]
        users: Vec<String>,
        /// Refresh each access token now, proving the provider still accepts the sign-in (exit 8 if it does not)
        #[arg(long)]
        check: bool,
    },
    /// Forget an account's sign-in here, and revoke it where the provider allows (Google)
    Logout {
        #[arg(value_name = "ADDRESS")]
        user: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AuthLoginArgs {
    /// An account of the config file: its url, user and oauth_* keys give what the options below do
    #[arg(value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Who issues the tokens (found from the account's host name when not given)
    #[arg(long, value_enum)]
    pub provider: Option<crate::oauth::Provider>,

    /// The mail address to sign in
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,

    /// The client ID of the OAuth client you registered with the provider
    #[arg(long, value_name = "ID", env = "MAILTUG_OAUTH_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Read the client's secret (Google desktop-app clients have one) from the first line of FILE
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub client_secret_file: Option<PathBuf>,

    /// Read the client's secret from environment variable VAR
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,

    /// Microsoft: the directory to sign in to (common, organizations, consumers, or a tenant ID or domain)
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,

    /// browser: a browser comes back to a port on 127.0.0.1; device: enter a code in any browser (default: browser for Google, device for Microsoft)
    #[arg(long, value_enum)]
    pub flow: Option<crate::oauth::Flow>,

    /// Print the sign-in address without starting a browser
    #[arg(long)]
    pub no_browser: bool,

    /// Give up when the sign-in has not come back within SECS (Microsoft's codes last 15 minutes)
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BulkArgs {
    /// The manifest: CSV with a header row, or JSON Lines (.jsonl)
    #[arg(value_name = "MANIFEST", value_parser = home_path)]
    pub manifest: PathBuf,

    /// Copy up to N account pairs at the same time
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub accounts: usize,

    /// Open at most N connections to any one host across all accounts (a row's --jobs shrinks to fit)
    #[arg(long, value_name = "N")]
    pub max_connections_per_host: Option<usize>,

    /// Connections per side for each account, unless its row says (see copy --jobs)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub jobs: usize,

    /// Where to write report.jsonl, summary.json, failed.csv and each account's output
    #[arg(long, value_name = "DIR", value_parser = home_path)]
    pub report: Option<PathBuf>,

    /// Skip the accounts the report directory's report.jsonl says went well
    #[arg(long)]
    pub skip_completed: bool,

    /// Mirror each account pair instead of copying it (see mirror)
    #[arg(long)]
    pub mirror: bool,

    /// Try an account again up to N times after a network failure or a busy server (never after a refused login)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,

    /// Wait SECS before the first retry of an account, twice as long before each next one
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub retry_wait: u64,

    /// Take only shard I of N of the rows (0 <= I < N), by a stable hash of each row's id; without it, from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// How many shards there are, when the engine does not say (Kubernetes, AWS Batch; or MAILTUG_SHARDS)
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,

    /// Options for every account's copy, after `--` (e.g. -- --dry-run --delete-source)
    #[arg(last = true, value_name = "OPTION")]
    pub options: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Merge the report directories of bulk shards into one report
    Merge {
        /// Report directories, each with a report.jsonl
        #[arg(value_name = "DIR", required = true, value_parser = home_path)]
        dirs: Vec<PathBuf>,
        /// Write the merged report.jsonl, summary.json and failed.csv here (else only print the summary)
        #[arg(long, value_name = "DIR", value_parser = home_path)]
        into: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Run every job of the config file, in name order
    #[arg(long)]
    pub all: bool,

    /// The jobs to run, then options for all of them
    #[arg(
        value_name = "JOB",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub jobs: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Check the config file and print each job as the command line it runs (without secrets)
    Check,
}

/// Which folders take part, and what they are called at the destination.
#[derive(Debug, Args, Clone)]
pub(crate) struct FolderArgs {
    /// Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023
    #[arg(help_heading = "Selection", long = "folder", value_name = "NAME")]
    pub folders: Vec<String>,

    /// Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels
    #[arg(help_heading = "Selection", long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Rename folder OLD (and everything below it) to NEW at the destination (repeatable)
    #[arg(help_heading = "Selection", long, value_name = "OLD=NEW")]
    pub map: Vec<String>,

    /// IMAP: also take folders of other users' and shared namespaces, under their full names (by default only your own folders)
    #[arg(help_heading = "Selection", long)]
    pub all_namespaces: bool,

    /// Copy every source folder into the folder DST's URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)
    #[arg(help_heading = "Selection", long)]
    pub merge: bool,
}

/// How to open endpoints: logging in to IMAP and POP3 servers (`--src-…`
/// apply to SRC and to the endpoint of `ls`, `--dst-…` to DST; passwords
/// are never taken from the command line), and the mbox format.
#[derive(Debug, Args, Clone)]
pub(crate) struct RemoteArgs {
    /// User name for SRC, when not in its URL (e.g. one containing `@`)
    #[arg(help_heading = "Authentication", long, value_name = "USER")]
    pub src_user: Option<String>,
    /// Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC's user (SASL PLAIN)
    #[arg(help_heading = "Authentication", long, value_name = "ADMIN")]
    pub src_admin: Option<String>,
    /// Read SRC's password (or token) from the first line of FILE
    #[arg(help_heading = "Authentication", long, value_name = "FILE", value_parser = home_path)]
    pub src_password_file: Option<PathBuf>,
    /// Read SRC's password (or token) from environment variable VAR
    #[arg(help_heading = "Authentication", long, value_name = "VAR")]
    pub src_password_env: Option<String>,
    /// Run CMD with sh and read SRC's password (or token) from its first line of output
    #[arg(help_heading = "Authentication", long, value_name = "CMD")]
    pub src_password_command: Option<String>,
    /// How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)
    #[arg(help_heading = "Authentication", long, value_name = "MECHANISM", value_enum, default_value_t = Auth::Auto)]
    pub src_auth: Auth,
    /// Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)
    #[arg(help_heading = "TLS", long, value_name = "FILE", value_parser = home_path)]
    pub src_ca_file: Option<PathBuf>,

    /// User name for DST, when not in its URL
    #[arg(help_heading = "Authentication", long, value_name = "USER")]
    pub dst_user: Option<String>,
    /// Log in to DST as administrator ADMIN and act as DST's user (SASL PLAIN)
    #[arg(help_heading = "Authentication", long, value_name = "ADMIN")]
    pub dst_admin: Option<String>,
    /// Read DST's password (or token) from the first line of FILE
    #[arg(help_heading = "Authentication", long, value_name = "FILE", value_parser = home_path)]
    pub dst_password_file: Option<PathBuf>,
    /// Read DST's password (or token) from environment variable VAR
    #[arg(help_heading = "Authentication", long, value_name = "VAR")]
    pub dst_password_env: Option<String>,
    /// Run CMD with sh and read DST's password (or token) from its first line of output
    #[arg(help_heading = "Authentication", long, value_name = "CMD")]
    pub dst_password_command: Option<String>,
    /// How to log in to DST: auto, login, plain, xoauth2, oauthbearer
    #[arg(help_heading = "Authentication", long, value_name = "MECHANISM", value_enum, default_value_t = DstAuth::Auto)]
    pub dst_auth: DstAuth,
    /// Also trust the CA certificates in this PEM file for DST
    #[arg(help_heading = "TLS", long, value_name = "FILE", value_parser = home_path)]
    pub dst_ca_file: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)
    #[arg(help_heading = "TLS", long, value_name = "FILE", value_parser = home_path)]
    pub ca_file: Option<PathBuf>,

    /// SRC's password, from the config file (never from the command line)
    #[arg(skip)]
    pub src_password: Option<crate::secret::Secret>,
    /// DST's password, from the config file
    #[arg(skip)]
    pub dst_password: Option<crate::secret::Secret>,

    /// Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)
    #[arg(help_heading = "TLS", long)]
    pub insecure: bool,
    /// `none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)
    #[arg(help_heading = "TLS", long, value_name = "MODE", value_enum, default_value_t = Tls::Required)]
    pub tls: Tls,
    /// Give up on a server that does not answer for SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2
    #[arg(help_heading = "Local stores", long, value_name = "FORMAT", value_enum, default_value_t = MboxFormat::Auto)]
    pub mbox_format: MboxFormat,
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// Where to read messages: an endpoint (see ENDPOINTS)
    #[arg(value_name = "SRC")]
    pub source: String,

    /// Where to store them: an endpoint (see ENDPOINTS)
    #[arg(value_name = "DST")]
    pub destination: String,

    #[command(flatten)]
    pub folders: FolderArgs,

    /// Copy every message, even when the destination folder already holds its fingerprint
    #[arg(help_heading = "Filters", long)]
    pub no_dedup: bool,

    /// Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Copy up to N folders at the same time, the largest first (for servers: N connections per side)
    #[arg(short, long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them
    #[arg(long, conflicts_with = "delete_after")]
    pub delete_source: bool,

    /// POP3: leave mail on the server for DAYS days after it was first stored, then delete it
    #[arg(help_heading = "POP3", long, value_name = "DAYS")]
    pub delete_after: Option<u64>,

    /// POP3: fetch at most N messages per run (the rest waits for the next run)
    #[arg(help_heading = "POP3", long, value_name = "N")]
    pub max_messages: Option<u64>,

    /// POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)
    #[arg(help_heading = "POP3", long, value_name = "SIZE", value_parser = parse_size)]
    pub max_bytes: Option<u64>,

    /// Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server's day for IMAP)
    #[arg(help_heading = "Filters", long, value_name = "DATE", value_parser = parse_day)]
    pub since: Option<SystemTime>,

    /// Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server's day for IMAP)
    #[arg(help_heading = "Filters", long, value_name = "DATE", value_parser = parse_day)]
    pub before: Option<SystemTime>,

    /// Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)
    #[arg(help_heading = "Filters", long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination's own
    #[arg(long)]
    pub no_special_use_map: bool,

    /// Keep the job's state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/
    #[arg(long, value_name = "FILE", value_parser = home_path)]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub layout: LayoutArgs,

    #[command(flatten)]
    pub rate: RateArgs,

    #[command(flatten)]
    pub providers: ProviderArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Which big mail service each side is, for its limits and its folders.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ProviderArgs {
    /// SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders
    #[arg(help_heading = "Providers", long, value_enum, value_name = "PROVIDER")]
    pub src_provider: Option<crate::provider::Service>,

    /// DST is Gmail or Microsoft 365, as --src-provider says for SRC
    #[arg(help_heading = "Providers", long, value_enum, value_name = "PROVIDER")]
    pub dst_provider: Option<crate::provider::Service>,

    /// A Gmail SRC's labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)
    #[arg(help_heading = "Providers", long, value_enum, value_name = "POLICY")]
    pub gmail_labels: Option<crate::provider::GmailLabels>,
}

/// How fast, and how much a day, a run may take from SRC and give to DST.
/// Providers meter accounts: each limit applies to the source account's
/// downloads and, separately, to the destination account's uploads, over
/// all of the run's connections.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RateArgs {
    /// Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)
    #[arg(help_heading = "Rate limits", long, value_name = "SIZE", value_parser = parse_size)]
    pub max_bytes_per_second: Option<u64>,

    /// Read from SRC, and write to DST, at most N messages a second each, over all connections
    #[arg(help_heading = "Rate limits", long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages_per_second: Option<u64>,

    /// Download at most SIZE bytes from SRC in any 24 hours, counted in the job's state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)
    #[arg(help_heading = "Rate limits", long, value_name = "SIZE", value_parser = parse_size)]
    pub src_max_bytes_per_day: Option<u64>,

    /// Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC
    #[arg(help_heading = "Rate limits", long, value_name = "SIZE", value_parser = parse_size)]
    pub dst_max_bytes_per_day: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct MirrorArgs {
    #[command(flatten)]
    pub copy: CopyArgs,

    /// Also remove from DST the messages gone from SRC: `expunge` (the default) removes them, `trash` moves them to the Trash folder
    #[arg(
        long,
        value_name = "HOW",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "expunge"
    )]
    pub delete: Option<Removal>,

    /// Allow up to N deletions per folder, or P% of the messages copied from it (default: 10%, at most 500)
    #[arg(long, value_name = "N|P%", value_parser = parse_delete_limit)]
    pub max_delete: Option<DeleteLimit>,
}

/// How `mirror --delete` removes a message from the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Removal {
    Expunge,
    Trash,
}

/// How many deletions a folder may take in one mirror run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeleteLimit {
    Count(u64),
    Percent(f64),
}

impl DeleteLimit {
    /// The default: 10% of the messages copied from the folder, at most
    /// 500, and at least one for a folder that had any.
    pub(crate) fn allowed(limit: Option<DeleteLimit>, recorded: u64) -> u64 {
        let percent = |p: f64| (recorded as f64 * p / 100.0).ceil() as u64;
        match limit {
            None => percent(10.0).min(500),
            Some(DeleteLimit::Count(n)) => n,
            Some(DeleteLimit::Percent(p)) => percent(p),
        }
    }
}

fn parse_delete_limit(text: &str) -> Result<DeleteLimit, String> {
    let bad = || format!("not a count like 50 or a share like 20%: `{text}`");
    match text.strip_suffix('%') {
        Some(number) => match number.trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(DeleteLimit::Percent(p)),
            _ => Err(bad()),
        },
        None => text
            .trim()
            .parse()
            .map(DeleteLimit::Count)
            .map_err(|_| bad()),
    }
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// The endpoint to list
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: String,

    /// IMAP: also list folders of other users' and shared namespaces
    #[arg(long)]
    pub all_namespaces: bool,

    /// Subfolder layout of a maildir ENDPOINT: auto (whatever the tree holds), maildir++ (.Archive.2023/), fs (Archive/2023/)
    #[arg(long, value_name = "LAYOUT", value_enum, default_value_t = MaildirLayout::Auto)]
    pub src_maildir_layout: MaildirLayout,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
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

/// How maildir trees lay out their subfolders. One option per side, as the
/// two sides of a copy between layouts differ.
#[derive(Debug, Args, Clone)]
pub(crate) struct LayoutArgs {
    /// Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)
    #[arg(help_heading = "Local stores", long, value_name = "LAYOUT", value_enum, default_value_t = MaildirLayout::Auto)]
    pub src_maildir_layout: MaildirLayout,

    /// Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs
    #[arg(help_heading = "Local stores", long, value_name = "LAYOUT", value_enum, default_value_t = MaildirLayout::Auto)]
    pub dst_maildir_layout: MaildirLayout,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List the jobs' states: id, last run, its status and counts, source and destination
    List,
    /// Print a job's state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST
    Show {
        /// State id, its first characters, or file; or the job's SRC and DST
        #[arg(value_name = "ID|SRC DST", num_args = 1..=2, required = true)]
        job: Vec<String>,
        /// Print one JSON line per message recorded instead: folder, source
        /// key, fingerprint, destination folder and key, flags as copied,
        /// bytes, when stored
        #[arg(long)]
        messages: bool,
    },
    /// Remove a job's state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST
    Forget {
        /// State id, its first characters, or file; or the job's SRC and DST
        #[arg(value_name = "ID|SRC DST", num_args = 1..=2, required = true)]
        job: Vec<String>,
    },
}

// The value enums below keep their variants undocumented (`//`, not
// `///`): clap would turn variant docs into a second list of the values in
// `--help`, where each option's own text already explains them.

/// `--src-auth` (and `ls`'s): how to log in to SRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Auth {
    Auto,
    Login,
    Plain,
    Xoauth2,
    Oauthbearer,
    // POP3 only: USER and PASS, the same as `login`.
    User,
    // POP3 only.
    Apop,
}

/// `--dst-auth`: how to log in to DST, which is never a POP3 server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DstAuth {
    Auto,
    Login,
    Plain,
    Xoauth2,
    Oauthbearer,
}

impl Auth {
    /// The spelling on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::Auto => "auto",
            Auth::Login => "login",
            Auth::Plain => "plain",
            Auth::Xoauth2 => "xoauth2",
            Auth::Oauthbearer => "oauthbearer",
            Auth::User => "user",
            Auth::Apop => "apop",
        }
    }
}

impl From<DstAuth> for Auth {
    fn from(auth: DstAuth) -> Auth {
        match auth {
            DstAuth::Auto => Auth::Auto,
            DstAuth::Login => Auth::Login,
            DstAuth::Plain => Auth::Plain,
            DstAuth::Xoauth2 => Auth::Xoauth2,
            DstAuth::Oauthbearer => Auth::Oauthbearer,
        }
    }
}

/// `--tls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Tls {
    Required,
    // Plaintext imap:// and pop3://, to loopback addresses only.
    None,
}

/// `--mbox-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum MboxFormat {
    Auto,
    Mboxrd,
    Mboxo,
    Mboxcl2,
}

/// `--src-maildir-layout` and `--dst-maildir-layout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum MaildirLayout {
    Auto,
    #[value(name = "maildir++")]
    MaildirPlusPlus,
    Fs,
}

/// `--since` and `--before`: `YYYY-MM-DD` as midnight UTC.
fn parse_day(text: &str) -> Result<SystemTime, String> {
    let bad = || "not a date like 2024-01-31".to_owned();
    let mut parts = text.splitn(3, '-');
    let mut next = |len: usize| -> Result<u32, String> {
        let part = parts.next().filter(|p| p.len() == len).ok_or_else(bad)?;
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (next(4)?, next(2)?, next(2)?);
    if !(1..=12).contains(&month) || day == 0 || day > date::days_in_month(year.into(), month) {
        return Err(bad());
    }
    let days = date::days_from_civil(year.into(), month, day);
    date::from_unix_seconds(days * date::SECONDS_PER_DAY).ok_or_else(bad)
}

/// `--max-size` and `--max-bytes`: `1500`, `64K`, `20M`, `1G` (binary multiples).
fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || "not a size like 25M".to_owned();
    let (number, multiplier) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    let n: u64 = number.trim().parse().map_err(|_| bad())?;
    n.checked_mul(multiplier).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn days_and_sizes_parse_or_explain() {
        let seconds = |text| {
            parse_day(text)
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        assert_eq!(seconds("2020-01-01"), 1_577_836_800);
        assert_eq!(seconds("2000-02-29"), 951_782_400);
        for bad in [
            "2020-1-01",
            "yesterday",
            "2020-13-01",
            "2020-01-32",
            "2021-02-29",
            "",
        ] {
            assert_eq!(
                parse_day(bad),
                Err("not a date like 2024-01-31".into()),
                "{bad}"
            );
        }
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("20m"), Ok(20 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        for bad in ["lots", "99999999999G", "", "K", "-1"] {
            assert_eq!(parse_size(bad), Err("not a size like 25M".into()), "{bad}");
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_option() {
        let error = |args: &[&str]| {
            let argv = [&["mailtug", "copy", "a", "b"][..], args].concat();
            Cli::try_parse_from(argv).unwrap_err().to_string()
        };
        let since = error(&["--since", "yesterday"]);
        assert!(
            since.contains("'yesterday' for '--since <DATE>': not a date like 2024-01-31"),
            "{since}"
        );
        let size = error(&["--max-size", "lots"]);
        assert!(
            size.contains("'lots' for '--max-size <SIZE>': not a size like 25M"),
            "{size}"
        );
        let auth = error(&["--dst-auth", "apop"]);
        assert!(
            auth.contains("'apop' for '--dst-auth <MECHANISM>'"),
            "{auth}"
        );
    }

    #[test]
    fn value_enums_take_the_documented_spellings() {
        let copy = |args: &[&str]| {
            let argv = [&["mailtug", "copy", "a", "b"][..], args].concat();
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Copy(copy) => copy,
                _ => unreachable!(),
            }
        };
        let defaults = copy(&[]);
        assert_eq!(defaults.remote.src_auth, Auth::Auto);
        assert_eq!(defaults.remote.tls, Tls::Required);
        assert_eq!(defaults.remote.mbox_format, MboxFormat::Auto);
        assert_eq!(defaults.layout.dst_maildir_layout, MaildirLayout::Auto);
        let set = copy(&[
            "--src-auth=apop",
            "--dst-auth=oauthbearer",
            "--tls=none",
            "--mbox-format=mboxcl2",
            "--src-maildir-layout=maildir++",
            "--max-bytes=2k",
        ]);
        assert_eq!(set.remote.src_auth, Auth::Apop);
        assert_eq!(Auth::from(set.remote.dst_auth), Auth::Oauthbearer);
        assert_eq!(set.remote.tls, Tls::None);
        assert_eq!(set.remote.mbox_format, MboxFormat::Mboxcl2);
        assert_eq!(
            set.layout.src_maildir_layout,
            MaildirLayout::MaildirPlusPlus
        );
        assert_eq!(set.max_bytes, Some(2048));
        for auth in Auth::value_variants() {
            let name = auth.to_possible_value().unwrap();
            assert_eq!(name.get_name(), auth.as_str());
        }
    }
}
