//! Stores: opened endpoints, behind two small traits.
//!
//! A `Source` lists folders and streams messages; a `Sink` indexes a folder's
//! fingerprints, appends messages and makes them durable on `commit`. The
//! pipeline drives both and owns every ordering decision (commit before
//! checkpoint before delete); stores never see the checkpoint file, and a
//! source sees the destination's fingerprints only to skip downloads. The set of stores is closed, so dispatch is by enum: POP3 can
//! never be a sink by construction, and the futures stay `Send` without boxing.

pub mod dry_run;
pub mod imap;
pub mod maildir;
pub mod mbox;
pub mod pop3;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::checkpoint::FolderProgress;
use crate::endpoint::{Endpoint, Remote};
use crate::exit;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::mboxrd::MboxFormat;
use crate::message::{Form, Message, SourceKey};
use crate::net::TlsOptions;
use crate::secret::Secret;

/// What a source sends down the pipeline for each message it visits.
#[derive(Debug)]
pub enum Fetched {
    Message(Message),
    /// The source read the fingerprint without the body and the sink already has it.
    Duplicate(SourceKey, Fingerprint),
    /// This one message could not be read; the run goes on with the others.
    Failed(SourceKey, anyhow::Error),
}

/// A folder as a source sees it when opened, checked against the checkpoint.
#[derive(Debug, Default)]
pub struct FolderStatus {
    /// Names the folder instance (maildir/mbox inode, IMAP UIDVALIDITY); a
    /// different identity than the checkpoint recorded means its progress no
    /// longer applies.
    pub identity: Option<FolderIdentity>,
    /// Why the checkpoint's progress no longer describes the folder, if it does not.
    pub changed: Option<String>,
    /// How many messages the checkpoint does not cover yet, when cheap to know.
    /// `Some(0)` lets the pipeline skip the folder without opening the sink.
    pub pending: Option<u64>,
    /// Keys the checkpoint records that the folder no longer holds (pruned).
    pub vanished: Vec<SourceKey>,
    /// With `--delete-source`: messages recorded as stored by an earlier run
    /// that stopped before deleting them.
    pub done_but_present: Vec<SourceKey>,
    /// IMAP: the UIDNEXT at open; recorded once a pass over the folder is
    /// complete, so an unchanged folder is skipped without a FETCH.
    pub uid_next: Option<u32>,
}

/// The identity of a folder instance, recorded in the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FolderIdentity {
    /// A file or directory, by device and inode: a folder replaced by a copy is a new folder.
    Inode { dev: u64, ino: u64 },
    /// An IMAP folder's UIDVALIDITY.
    UidValidity { uid_validity: u32 },
}

/// Message count and size of a folder, for `mailtug ls`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FolderStats {
    pub messages: u64,
    pub bytes: u64,
}

/// The sending half of the pipeline's message channel. It bounds memory by
/// bytes in flight, not by message count, so a run holds at most about
/// `budget` bytes of messages plus the largest single message.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<(Fetched, Option<OwnedSemaphorePermit>)>,
    budget: Arc<Semaphore>,
    budget_bytes: u32,
}

/// The receiving half of the pipeline's message channel.
pub type Inbox = mpsc::Receiver<(Fetched, Option<OwnedSemaphorePermit>)>;

/// The consumer hung up: the source should stop sending.
#[derive(Debug)]
pub struct Closed;

impl Outbox {
    pub fn channel(budget_bytes: u32) -> (Outbox, Inbox) {
        Outbox::sharing(
            Arc::new(Semaphore::new(budget_bytes as usize)),
            budget_bytes,
        )
    }

    /// A channel whose bytes in flight count against `budget`, shared with
    /// other channels (the folders copied at the same time), so the run's
    /// memory does not grow with `--jobs`.
    pub fn sharing(budget: Arc<Semaphore>, budget_bytes: u32) -> (Outbox, Inbox) {
        let (tx, rx) = mpsc::channel(256);
        let outbox = Outbox {
            tx,
            budget,
            budget_bytes,
        };
        (outbox, rx)
    }

    /// Sends one item, waiting while too many bytes are in flight.
    pub async fn send(&self, item: Fetched) -> Result<(), Closed> {
        let permit = match &item {
            Fetched::Message(message) => {
                // A message larger than the whole budget takes all of it, so it
                // travels alone instead of waiting forever.
                let want = message.size().clamp(1, u64::from(self.budget_bytes)) as u32;
                Some(
                    self.budget
                        .clone()
                        .acquire_many_owned(want)
                        .await
                        .map_err(|_| Closed)?,
                )
            }
            _ => None,
        };
        self.tx.send((item, permit)).await.map_err(|_| Closed)
    }
}

/// Marks a sink error as scoped to one message (e.g. the server rejected it):
/// the run records the failure and goes on. Any other sink error stops the run.
#[derive(Debug)]
pub struct MessageRejected(pub String);

impl fmt::Display for MessageRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for MessageRejected {}

pub fn is_message_rejected(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<MessageRejected>())
}

/// Marks a refusal: the store answered a request for one folder with no
/// (an IMAP NO or BAD, a permission, a file in the way, another program's
/// lock), or with an answer that cannot be trusted, and is otherwise fine. A destination folder refused this way fails
/// alone; the run goes on with the other folders.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

pub fn is_refused(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Refused>()) || err.downcast_ref::<Refused>().is_some()
}

/// Marks a local file system error that concerns one folder only (no
/// permission on it, a file where a directory should be, a name the file
/// system refuses) as a refusal. A full disk or a read-only file system
/// stays a failure of the whole destination.
pub fn refused_if_local(err: anyhow::Error) -> anyhow::Error {
    use std::io::ErrorKind;
    let folder_only = err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ErrorKind::PermissionDenied
                    | ErrorKind::NotADirectory
                    | ErrorKind::IsADirectory
                    | ErrorKind::AlreadyExists
                    | ErrorKind::InvalidFilename
                    | ErrorKind::InvalidInput
            )
        })
    });
    if folder_only {
        let text = format!("{err:#}");
        err.context(Refused(text))
    } else {
        err
    }
}

/// Marks an error as a broken connection: the session cannot be trusted
/// any more, and the folder can be retried after reconnecting.
#[derive(Debug)]
pub struct Disconnected(pub String);

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Disconnected {}

pub fn is_disconnected(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Disconnected>())
        || err.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            })
        })
}

/// A message the sink refused at `commit`: its position among the messages
/// appended since the previous commit, and why.
#[derive(Debug)]
pub struct Rejection {
    pub index: usize,
    pub error: anyhow::Error,
}

/// Where a destination stored a message: what mirroring needs to find the
/// copy again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestinationKey {
    /// IMAP: the UID from APPENDUID (RFC 4315).
    Uid(u32),
    /// maildir: the unique name of the file written.
    File(String),
    /// mbox: the byte offset of the message's From_ line.
    Offset(u64),
}

/// What a `commit` reports about the messages appended since the previous
/// one, by their position.
#[derive(Debug, Default)]
pub struct Committed {
    /// Messages the destination refused; the checkpoint must not claim them.
    pub rejections: Vec<Rejection>,
    /// Where the destination stored messages, when it says (IMAP APPENDUID).
    pub uids: Vec<(usize, u32)>,
}

/// What [`Sink::open`] does with a folder the destination lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Leaves it missing: `open` returns `None`.
    No,
    /// Creates it, marked with this RFC 6154 special use (`\Sent`…) where
    /// the store can mark one and has no folder of that use yet.
    Yes(Option<&'static str>),
}

impl Create {
    pub fn is_yes(self) -> bool {
        matches!(self, Create::Yes(_))
    }
}

/// Fingerprints a destination folder holds.
pub type FingerprintSet = HashSet<Fingerprint>;

/// A destination folder's fingerprints as of a UIDVALIDITY and UIDNEXT,
/// kept in the checkpoint so the next run fetches only newer headers
/// instead of indexing the whole folder again (IMAP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexCache {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub fingerprints: Vec<Fingerprint>,
}

/// A destination folder opened for appending.
#[derive(Debug, Default)]
pub struct Opened {
    /// The fingerprints the folder already holds.
    pub fingerprints: Vec<Fingerprint>,
    /// What to keep for next time, for stores that can index incrementally.
    pub cache: Option<IndexCache>,
}

impl Opened {
    pub fn local(fingerprints: Vec<Fingerprint>) -> Opened {
        Opened {
            fingerprints,
            cache: None,
        }
    }
}

/// Which messages a source offers, by internal date and size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only messages with an internal date on or after this day (UTC midnight).
    pub since: Option<SystemTime>,
    /// Only messages with an internal date before this day.
    pub before: Option<SystemTime>,
    /// Only messages of at most this many bytes.
    pub max_size: Option<u64>,
}

impl Filters {
    /// The filter as job-key options: a different filter is a different job.
    pub fn key_options(&self) -> Vec<String> {
        let secs = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let mut options = Vec::new();
        if let Some(since) = self.since {
            options.push(format!("--since={}", secs(since)));
        }
        if let Some(before) = self.before {
            options.push(format!("--before={}", secs(before)));
        }
        if let Some(max) = self.max_size {
            options.push(format!("--max-size={max}"));
        }
        options
    }

    /// True when a message with this date and size passes.
    pub fn matches(&self, date: Option<SystemTime>, size: u64) -> bool {
        if self.max_size.is_some_and(|max| size > max) {
            return false;
        }
        match date {
            Some(date) => {
                self.since.is_none_or(|since| date >= since)
                    && self.before.is_none_or(|before| date < before)
            }
            None => self.since.is_none() && self.before.is_none(),
        }
    }

    /// The same filter as IMAP SEARCH criteria (leading space), for
    /// server-side filtering. SINCE/BEFORE compare dates only, as RFC 3501
    /// defines them, which agrees with whole-day `--since`/`--before`.
    pub fn imap_search(&self) -> String {
        let mut criteria = String::new();
        if let Some(since) = self.since {
            criteria.push_str(&format!(" SINCE {}", imap_search_date(since)));
        }
        if let Some(before) = self.before {
            criteria.push_str(&format!(" BEFORE {}", imap_search_date(before)));
        }
        if let Some(max) = self.max_size {
            criteria.push_str(&format!(" SMALLER {}", max.saturating_add(1)));
        }
        criteria
    }
}

fn imap_search_date(time: SystemTime) -> String {
    // `01-Jan-2020 10:00:00 +0000` → `01-Jan-2020`
    imap::client::imap_date(time)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How a source behaves: set once per run.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// Look up fingerprints before downloading bodies (IMAP, POP3).
    pub dedup: bool,
    /// `--delete-source`: open folders writable; messages go after they are stored.
    pub delete: bool,
    /// `--delete-after DAYS` (POP3): delete stored messages this long after
    /// they were first delivered.
    pub delete_after: Option<Duration>,
    pub filters: Filters,
    /// `--max-messages` (POP3): at most this many messages per run.
    pub max_messages: Option<u64>,
    /// `--max-bytes` (POP3): at most about this many bytes per run.
    pub max_bytes: Option<u64>,
    /// The line-end convention the destination writes, so a server source
    /// hands messages over in it.
    pub form: Form,
    /// IMAP: also read folders of other users' and shared namespaces.
    pub all_namespaces: bool,
}

impl SourceOptions {
    /// True when some messages may be deleted from the source.
    pub fn deletes(&self) -> bool {
        self.delete || self.delete_after.is_some()
    }
}

/// How to open one side's endpoint: for a server, the account and how to
/// prove it; for a maildir, the layout of its tree; for mbox files, their
/// format.
#[derive(Clone, Debug)]
pub struct Access {
    /// `--src-user`/`--dst-user`, else the URL's user.
    pub user: Option<String>,
    /// Read once, before any connection (so a prompt or command runs once).
    pub secret: Option<Secret>,
    pub auth: imap::AuthMechanism,
    pub pop3_auth: pop3::Pop3Auth,
    pub tls: TlsOptions,
    /// `--tls none`: `imap://` and `pop3://` stay unencrypted (loopback only).
    pub plaintext: bool,
    pub timeout: Duration,
    /// `--mbox-format`; `None` is `auto`.
    pub mbox_format: Option<MboxFormat>,
    /// `--src-maildir-layout`/`--dst-maildir-layout`.
    pub maildir_layout: maildir::Layout,
}

impl Default for Access {
    fn default() -> Access {
        Access {
            user: None,
            secret: None,
            auth: imap::AuthMechanism::Auto,
            pop3_auth: pop3::Pop3Auth::Auto,
            tls: TlsOptions::default(),
            plaintext: false,
            timeout: Duration::from_secs(60),
            mbox_format: None,
            maildir_layout: maildir::Layout::Auto,
        }
    }
}

impl Access {
    fn pop3_login(&self, remote: &Remote) -> Result<pop3::Pop3Login> {
        let login = self.login(remote)?;
        Ok(pop3::Pop3Login {
            remote: login.remote,
            user: login.user,
            secret: login.secret,
            auth: self.pop3_auth,
            tls: login.tls,
            plaintext: login.plaintext,
            timeout: login.timeout,
        })
    }

    fn login(&self, remote: &Remote) -> Result<imap::Login> {
        let user = self
            .user
            .clone()
            .or_else(|| remote.user.clone())
            .ok_or_else(|| exit::usage(format!("no user name for {}; put it in the URL (USER@HOST) or use --src-user/--dst-user", remote.host)))?;
        let secret = self
            .secret
            .clone()
            .ok_or_else(|| exit::usage(format!("no password for {user}@{}", remote.host)))?;
        Ok(imap::Login {
            remote: remote.clone(),
            user,
            secret,
            auth: self.auth,
            tls: self.tls.clone(),
            plaintext: self.plaintext,
            timeout: self.timeout,
        })
    }
}

#[allow(async_fn_in_trait)] // implemented only in this crate; Send is checked where we spawn
pub trait Source {
    /// Every folder of the store, in a stable order.
    async fn folders(&mut self) -> Result<Vec<FolderName>>;
    /// The RFC 6154 special use of a folder (`\Sent`…), where the store knows one.
    fn special_use(&self, folder: &FolderName) -> Option<&'static str>;
    /// Roughly how much each of `folders` holds, in the store's own unit
    /// (messages, or bytes of an mbox file), where it can tell cheaply;
    /// folders left out are unknown. Only compared within one source, to
    /// start the largest folders first.
    async fn weights(&mut self, folders: &[FolderName]) -> HashMap<FolderName, u64>;
    /// Opens `folder` and checks `progress` against it.
    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus>;
    /// Sends every message of the open folder that `progress` does not
    /// cover, in a stable order. Sources that can read a fingerprint without
    /// the body (IMAP, POP3) check `known` (the destination's fingerprints)
    /// first and send `Duplicate` instead of downloading. Returns early once
    /// the outbox is closed.
    async fn fetch(
        &mut self,
        progress: &FolderProgress,
        known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()>;
    /// Counts the open folder's messages and bytes.
    async fn stats(&mut self) -> Result<FolderStats>;
    /// Removes messages of the open folder. Only for messages a sink
    /// committed and the checkpoint saved (`--delete-source`).
    async fn delete(&mut self, keys: &[SourceKey]) -> Result<()>;
}

#[allow(async_fn_in_trait)]
pub trait Sink {
    /// Every folder of the store.
    async fn folders(&mut self) -> Result<Vec<FolderName>>;
    /// The folder the store marks with an RFC 6154 special use, if any.
    fn special_folder(&self, special_use: &str) -> Option<FolderName>;
    /// Whether `folder` exists at the destination now.
    fn holds(&self, folder: &FolderName) -> bool;
    /// Opens `folder` for appending (creating it as `create` says) and
    /// returns the fingerprints it already holds; `None` when it does not
    /// exist and is not to be created. `cache` is what an earlier run kept.
    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        cache: Option<IndexCache>,
    ) -> Result<Option<Opened>>;
    /// Stores one message in the open folder; not durable until `commit` returns.
    async fn append(&mut self, message: Message) -> Result<()>;
    /// Makes every appended message durable (fsync / server OK). The
    /// checkpoint may record a message only after this returns, and not the
    /// ones it returns as rejected.
    async fn commit(&mut self) -> Result<Committed>;
    /// Waits until nothing else is still storing into `folder`: called
    /// before reopening it after a connection died with messages sent and
    /// unanswered, which a server may yet store.
    async fn wait_until_quiet(&mut self, folder: &FolderName) -> Result<()>;
}

/// Any source store.
pub enum AnySource {
    Maildir(maildir::Maildir),
    Mbox(mbox::Mbox),
    Imap(Box<imap::Imap>),
    Pop3(Box<pop3::Pop3>),
}

/// Any sink store. `DryRun` wraps a real sink and stores nothing.
pub enum AnySink {
    Maildir(maildir::Maildir),
    Mbox(mbox::Mbox),
    Imap(Box<imap::Imap>),
    DryRun(dry_run::DryRun),
}

impl AnySource {
    /// Opens an endpoint as a source; it must exist.
    pub async fn connect(
        endpoint: &Endpoint,
        access: &Access,
        options: &SourceOptions,
    ) -> Result<AnySource> {
        match endpoint {
            Endpoint::Maildir(path) => Ok(AnySource::Maildir(maildir::Maildir::open_source(
                path,
                options.filters.clone(),
                access.maildir_layout,
            )?)),
            Endpoint::Mbox(path) => Ok(AnySource::Mbox(mbox::Mbox::open_source(
                path,
                options.filters.clone(),
                access.mbox_format,
            )?)),
            Endpoint::Imap(remote) => Ok(AnySource::Imap(Box::new(
                imap::Imap::connect(&access.login(remote)?, options.clone(), true).await?,
            ))),
            Endpoint::Pop3(remote) => Ok(AnySource::Pop3(Box::new(
                pop3::Pop3::connect(&access.pop3_login(remote)?, options.clone()).await?,
            ))),
        }
    }
}

impl AnySink {
    /// Opens an endpoint as a sink. Local stores create nothing until a folder is opened.
    pub async fn connect(endpoint: &Endpoint, access: &Access) -> Result<AnySink> {
        match endpoint {
            Endpoint::Maildir(path) => Ok(AnySink::Maildir(maildir::Maildir::open_sink(
                path,
                access.maildir_layout,
            )?)),
            Endpoint::Mbox(path) => Ok(AnySink::Mbox(mbox::Mbox::open_sink(
                path,
                access.mbox_format,
            )?)),
            Endpoint::Imap(remote) => Ok(AnySink::Imap(Box::new(
                imap::Imap::connect(&access.login(remote)?, SourceOptions::default(), false)
                    .await?,
            ))),
            Endpoint::Pop3(_) => Err(exit::usage(format!(
                "a POP3 account can only be a source, not a destination: `{endpoint}`"
            ))),
        }
    }

    /// Opens an endpoint read-only, as an index for `verify` or a dry run:
    /// nothing is created, locked or written.
    pub async fn connect_read_only(endpoint: &Endpoint, access: &Access) -> Result<AnySink> {
        match endpoint {
            Endpoint::Maildir(path) => Ok(AnySink::Maildir(maildir::Maildir::open_read_only(
                path,
                access.maildir_layout,
            )?)),
            Endpoint::Mbox(path) => Ok(AnySink::Mbox(mbox::Mbox::open_read_only(
                path,
                access.mbox_format,
            )?)),
            Endpoint::Imap(remote) => Ok(AnySink::Imap(Box::new(
                imap::Imap::connect(&access.login(remote)?, SourceOptions::default(), true).await?,
            ))),
            Endpoint::Pop3(_) => Err(exit::usage(format!(
                "a POP3 account can only be a source, not a destination: `{endpoint}`"
            ))),
        }
    }
}

impl AnySink {
    /// What to call this store when it cannot hold the keyword letters a
    /// maildir source has no name for (see [`crate::message::MaildirFile`]); `None` for a
    /// maildir, which keeps them where it can and says where it cannot.
    fn without_unnamed_keyword_letters(&self) -> Option<&'static str> {
        match self {
            AnySink::Maildir(_) => None,
            AnySink::Mbox(_) => Some("an mbox file"),
            AnySink::Imap(_) => Some("an IMAP server"),
            AnySink::DryRun(s) => s.inner.without_unnamed_keyword_letters(),
        }
    }
}

/// Says that `message`'s keyword letters without a name are left out: a
/// keyword is stored by its name everywhere but in a maildir, and these
/// have none. One warning per message, naming its file.
fn warn_unnamed_keyword_letters_left_out(message: &Message, store: &str) {
    let Some(file) = &message.maildir else { return };
    if file.unnamed_keyword_letters.is_empty() {
        return;
    }
    crate::report::warn(&format!(
        "{}: keyword letters `{}` have no name in the source folder's dovecot-keywords, and \
         {store} can only store keywords by name: left out",
        message.key, file.unnamed_keyword_letters
    ));
}

impl AnySource {
    /// Ends server sessions politely (LOGOUT, QUIT); local stores have nothing to end.
    pub async fn close(self) {
        match self {
            AnySource::Imap(s) => s.close().await,
            AnySource::Pop3(s) => s.close().await,
            AnySource::Maildir(_) | AnySource::Mbox(_) => {}
        }
    }
}

impl AnySink {
    /// Ends server sessions politely; uncommitted local writes are rolled back on drop.
    pub async fn close(self) {
        match self {
            AnySink::Imap(s) => s.close().await,
            AnySink::DryRun(s) => Box::pin(s.inner.close()).await,
            AnySink::Maildir(_) | AnySink::Mbox(_) => {}
        }
    }
}

impl Source for AnySource {
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        match self {
            AnySource::Maildir(s) => s.folders(),
            AnySource::Mbox(s) => s.folders(),
            AnySource::Imap(s) => s.source_folders(),
            AnySource::Pop3(s) => Ok(s.folders()),
        }
    }
    fn special_use(&self, folder: &FolderName) -> Option<&'static str> {
        match self {
            AnySource::Imap(s) => s.special_use(folder),
            AnySource::Maildir(_) | AnySource::Mbox(_) | AnySource::Pop3(_) => None,
        }
    }
    async fn weights(&mut self, folders: &[FolderName]) -> HashMap<FolderName, u64> {
        match self {
            AnySource::Maildir(s) => s.weights(folders),
            AnySource::Mbox(s) => s.weights(folders),
            AnySource::Imap(s) => s.weights(folders).await.unwrap_or_else(|e| {
                // Only the order of the folders depends on it.
                crate::report::debug(&format!("no folder sizes from the server: {e:#}"));
                HashMap::new()
            }),
            // One folder: nothing to order.
            AnySource::Pop3(_) => HashMap::new(),
        }
    }
    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        match self {
            AnySource::Maildir(s) => s.open_source_folder(folder, progress),
            AnySource::Mbox(s) => s.open_source_folder(folder, progress),
            AnySource::Imap(s) => s.open_source_folder(folder, progress).await,
            AnySource::Pop3(s) => s.open_source_folder(folder, progress).await,
        }
    }
    async fn fetch(
        &mut self,
        progress: &FolderProgress,
        known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        match self {
            AnySource::Maildir(s) => s.fetch(progress, out).await,
            AnySource::Mbox(s) => s.fetch(progress, out).await,
            AnySource::Imap(s) => {
                let dedup = s.dedup();
                s.fetch(progress, known, dedup, out).await
            }
            AnySource::Pop3(s) => s.fetch(progress, known, out).await,
        }
    }
    async fn stats(&mut self) -> Result<FolderStats> {
        match self {
            AnySource::Maildir(s) => s.stats(),
            AnySource::Mbox(s) => s.stats(),
            AnySource::Imap(s) => s.stats().await,
            AnySource::Pop3(s) => s.stats().await,
        }
    }
    async fn delete(&mut self, keys: &[SourceKey]) -> Result<()> {
        match self {
            AnySource::Imap(s) => s.delete(keys).await,
            AnySource::Pop3(s) => s.delete(keys).await,
            AnySource::Maildir(_) | AnySource::Mbox(_) => Err(exit::usage(
                "--delete-source works with IMAP and POP3 sources only; local files are never deleted",
            )),
        }
    }
}

impl Sink for AnySink {
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        match self {
            AnySink::Maildir(s) => s.folders(),
            AnySink::Mbox(s) => s.folders(),
            AnySink::Imap(s) => Ok(s.folders()),
            AnySink::DryRun(s) => match &mut *s.inner {
                AnySink::Maildir(inner) => inner.folders(),
                AnySink::Mbox(inner) => inner.folders(),
                AnySink::Imap(inner) => Ok(inner.folders()),
                AnySink::DryRun(_) => Ok(Vec::new()),
            },
        }
    }
    fn special_folder(&self, special_use: &str) -> Option<FolderName> {
        match self {
            AnySink::Imap(s) => s.special_folder(special_use),
            AnySink::DryRun(s) => s.inner.special_folder(special_use),
            AnySink::Maildir(_) | AnySink::Mbox(_) => None,
        }
    }
    fn holds(&self, folder: &FolderName) -> bool {
        match self {
            AnySink::Maildir(s) => s.holds(folder),
            AnySink::Mbox(s) => s.holds(folder),
            AnySink::Imap(s) => s.holds(folder),
            AnySink::DryRun(s) => s.inner.holds(folder),
        }
    }
    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        cache: Option<IndexCache>,
    ) -> Result<Option<Opened>> {
        match self {
            AnySink::Maildir(s) => Ok(s
                .open_sink_folder(folder, create.is_yes())?
                .map(Opened::local)),
            AnySink::Mbox(s) => Ok(s
                .open_sink_folder(folder, create.is_yes())?
                .map(Opened::local)),
            AnySink::Imap(s) => s.open_sink_folder(folder, create, cache).await,
            AnySink::DryRun(s) => s.open(folder, cache).await,
        }
    }
    async fn append(&mut self, message: Message) -> Result<()> {
        if let Some(store) = self.without_unnamed_keyword_letters() {
            warn_unnamed_keyword_letters_left_out(&message, store);
        }
        match self {
            AnySink::Maildir(s) => s.append(&message),
            AnySink::Mbox(s) => s.append(&message),
            AnySink::Imap(s) => s.append(message).await,
            AnySink::DryRun(s) => s.append(&message),
        }
    }
    async fn commit(&mut self) -> Result<Committed> {
        match self {
            AnySink::Maildir(s) => s.commit().map(|()| Committed::default()),
            AnySink::Mbox(s) => s.commit().map(|()| Committed::default()),
            AnySink::Imap(s) => s.commit().await,
            AnySink::DryRun(s) => s.commit().map(|()| Committed::default()),
        }
    }
    async fn wait_until_quiet(&mut self, folder: &FolderName) -> Result<()> {
        match self {
            // A local store has no other writer of ours to wait for.
            AnySink::Maildir(_) | AnySink::Mbox(_) | AnySink::DryRun(_) => Ok(()),
            AnySink::Imap(s) => s.wait_until_quiet(folder).await,
        }
    }
}
