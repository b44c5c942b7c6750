//! Stores: opened endpoints, behind two small traits.
//!
//! A `Source` lists folders and streams messages; a `Sink` indexes a folder's
//! fingerprints, appends messages and makes them durable on `commit`. The
//! pipeline drives both and owns every ordering decision (commit before
//! checkpoint before delete); stores never see the checkpoint file or the
//! dedup set. The set of stores is closed, so dispatch is by enum: POP3 can
//! never be a sink by construction, and the futures stay `Send` without boxing.

pub mod dry_run;
pub mod maildir;
pub mod mbox;

use std::fmt;
use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::checkpoint::FolderProgress;
use crate::endpoint::Endpoint;
use crate::exit;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::{Message, SourceKey};

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

/// What a sink can keep, so callers can warn instead of silently dropping data.
#[derive(Clone, Copy, Debug)]
pub struct SinkCaps {
    pub keywords: bool,
    pub internal_date: bool,
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
        let (tx, rx) = mpsc::channel(256);
        let outbox = Outbox {
            tx,
            budget: Arc::new(Semaphore::new(budget_bytes as usize)),
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
                let want = message.raw.len().clamp(1, self.budget_bytes as usize) as u32;
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

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
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

#[allow(async_fn_in_trait)] // implemented only in this crate; Send is checked where we spawn
pub trait Source {
    /// Every folder of the store, in a stable order.
    async fn folders(&mut self) -> Result<Vec<FolderName>>;
    /// Opens `folder` read-only and checks `progress` against it.
    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus>;
    /// Sends every message of the open folder that `progress` does not cover,
    /// in a stable order. Returns early once the outbox is closed.
    async fn fetch(&mut self, progress: &FolderProgress, out: &Outbox) -> Result<()>;
    /// Counts the open folder's messages and bytes.
    async fn stats(&mut self) -> Result<FolderStats>;
}

#[allow(async_fn_in_trait)]
pub trait Sink {
    fn capabilities(&self) -> SinkCaps;
    /// Every folder of the store.
    async fn folders(&mut self) -> Result<Vec<FolderName>>;
    /// Opens `folder` for appending (creating it when `create` is set) and
    /// returns the fingerprints it already holds; `None` when it does not
    /// exist and `create` is not set.
    async fn open(&mut self, folder: &FolderName, create: bool)
        -> Result<Option<Vec<Fingerprint>>>;
    /// Stores one message in the open folder; not durable until `commit` returns.
    async fn append(&mut self, message: &Message) -> Result<()>;
    /// Makes every appended message durable (fsync / server OK). The
    /// checkpoint may record a message only after this returns.
    async fn commit(&mut self) -> Result<()>;
}

/// Any source store.
pub enum AnySource {
    Maildir(maildir::Maildir),
    Mbox(mbox::Mbox),
}

/// Any sink store. `DryRun` wraps a real sink and stores nothing.
pub enum AnySink {
    Maildir(maildir::Maildir),
    Mbox(mbox::Mbox),
    DryRun(dry_run::DryRun),
}

fn not_supported_yet(endpoint: &Endpoint) -> anyhow::Error {
    exit::usage(format!(
        "{} endpoints are not supported yet: `{endpoint}`",
        endpoint.kind()
    ))
}

impl AnySource {
    /// Opens an endpoint as a source; it must exist.
    pub async fn connect(endpoint: &Endpoint) -> Result<AnySource> {
        match endpoint {
            Endpoint::Maildir(path) => Ok(AnySource::Maildir(maildir::Maildir::open_source(path)?)),
            Endpoint::Mbox(path) => Ok(AnySource::Mbox(mbox::Mbox::open_source(path)?)),
            Endpoint::Imap(_) | Endpoint::Pop3(_) => Err(not_supported_yet(endpoint)),
        }
    }
}

impl AnySink {
    /// Opens an endpoint as a sink, creating a local store when it does not exist.
    pub async fn connect(endpoint: &Endpoint) -> Result<AnySink> {
        match endpoint {
            Endpoint::Maildir(path) => Ok(AnySink::Maildir(maildir::Maildir::open_sink(path)?)),
            Endpoint::Mbox(path) => Ok(AnySink::Mbox(mbox::Mbox::open_sink(path)?)),
            Endpoint::Pop3(_) => Err(exit::usage(format!(
                "a POP3 account can only be a source, not a destination: `{endpoint}`"
            ))),
            Endpoint::Imap(_) => Err(not_supported_yet(endpoint)),
        }
    }

    /// Opens an endpoint read-only, as an index for `verify` or a dry run:
    /// nothing is created, locked or written.
    pub async fn connect_read_only(endpoint: &Endpoint) -> Result<AnySink> {
        match endpoint {
            Endpoint::Maildir(path) => {
                Ok(AnySink::Maildir(maildir::Maildir::open_read_only(path)?))
            }
            Endpoint::Mbox(path) => Ok(AnySink::Mbox(mbox::Mbox::open_read_only(path)?)),
            Endpoint::Pop3(_) => Err(exit::usage(format!(
                "a POP3 account can only be a source, not a destination: `{endpoint}`"
            ))),
            Endpoint::Imap(_) => Err(not_supported_yet(endpoint)),
        }
    }
}

impl Source for AnySource {
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        match self {
            AnySource::Maildir(s) => s.folders(),
            AnySource::Mbox(s) => s.folders(),
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
        }
    }
    async fn fetch(&mut self, progress: &FolderProgress, out: &Outbox) -> Result<()> {
        match self {
            AnySource::Maildir(s) => s.fetch(progress, out).await,
            AnySource::Mbox(s) => s.fetch(progress, out).await,
        }
    }
    async fn stats(&mut self) -> Result<FolderStats> {
        match self {
            AnySource::Maildir(s) => s.stats(),
            AnySource::Mbox(s) => s.stats(),
        }
    }
}

impl Sink for AnySink {
    fn capabilities(&self) -> SinkCaps {
        match self {
            AnySink::Maildir(_) => SinkCaps {
                keywords: true,
                internal_date: true,
            },
            AnySink::Mbox(_) => SinkCaps {
                keywords: true,
                internal_date: true,
            },
            AnySink::DryRun(s) => s.inner.capabilities(),
        }
    }
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        match self {
            AnySink::Maildir(s) => s.folders(),
            AnySink::Mbox(s) => s.folders(),
            AnySink::DryRun(s) => match &mut *s.inner {
                AnySink::Maildir(inner) => inner.folders(),
                AnySink::Mbox(inner) => inner.folders(),
                AnySink::DryRun(_) => Ok(Vec::new()),
            },
        }
    }
    async fn open(
        &mut self,
        folder: &FolderName,
        create: bool,
    ) -> Result<Option<Vec<Fingerprint>>> {
        match self {
            AnySink::Maildir(s) => s.open_sink_folder(folder, create),
            AnySink::Mbox(s) => s.open_sink_folder(folder, create),
            AnySink::DryRun(s) => s.open(folder).await,
        }
    }
    async fn append(&mut self, message: &Message) -> Result<()> {
        match self {
            AnySink::Maildir(s) => s.append(message),
            AnySink::Mbox(s) => s.append(message),
            AnySink::DryRun(s) => s.append(message),
        }
    }
    async fn commit(&mut self) -> Result<()> {
        match self {
            AnySink::Maildir(s) => s.commit(),
            AnySink::Mbox(s) => s.commit(),
            AnySink::DryRun(s) => s.commit(),
        }
    }
}
