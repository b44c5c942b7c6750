//! The messages of one folder handled since the last commit, and the commit
//! that makes them true: sink commit → state record → report.
//!
//! A message counts as copied, and is reported, only once the state has
//! recorded it, and the state records it only once the sink's `commit`
//! returned. Keys kept for `--delete-source` come from recorded messages
//! only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Counts, Shared};
use crate::checkpoint::FolderProgress;
use crate::error::is_message_rejected;
use crate::event::{Event, Outcome};
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::{DestinationKey, Flags, SourceKey};
use crate::rate::Direction;
use crate::report;
use crate::state::Stored;
use crate::store::{AnySink, Fetched, FingerprintSet, Location, Sink};
use crate::throttle::ThrottleKind;

/// One message handled and waiting for the next commit to be recorded.
struct Uncommitted {
    key: SourceKey,
    fingerprint: Fingerprint,
    /// Bytes read from the source (its size as the destination stores it).
    bytes: u64,
    /// Its size with CRLF line ends, as recorded: comparable whatever the
    /// stores (0 for a duplicate).
    wire_bytes: u64,
    /// The flags it was stored with (none for a duplicate); `None` when
    /// not known.
    flags: Option<Flags>,
    /// Mirror: a duplicate found to be the copy a killed run stored and
    /// never recorded: where it is.
    adopted: Option<DestinationKey>,
    /// Its position among the messages appended since the last commit;
    /// `None` for a duplicate (nothing was appended).
    appended: Option<usize>,
    /// Mirror: where the destination already holds it, in another folder;
    /// the commit copies it from there instead of appending it.
    copy_of: Option<Location>,
}

/// What the consumer side of one folder keeps while messages flow.
pub(super) struct Batch<'a> {
    folder: &'a FolderName,
    destination: &'a FolderName,
    shared: &'a Shared,
    /// Fingerprints the destination folder held when opened, and those
    /// this run committed there; empty without dedup.
    known: Arc<FingerprintSet>,
    dedup: bool,
    /// The folder's progress as recorded, kept up to date with each commit.
    pub progress: FolderProgress,
    pub counts: Counts,
    /// What commits recorded so far: the worker's measure of progress.
    committed: &'a mut Counts,
    uncommitted: Vec<Uncommitted>,
    appended: usize,
    /// Fingerprints appended since the last commit; `known` takes them
    /// once committed.
    added: HashSet<Fingerprint>,
    /// Keys recorded as done in this run, for `--delete-source`.
    pub done: Vec<SourceKey>,
    /// Whether to keep `done` (only when the source deletes what is stored).
    keeps_done: bool,
    /// Mirror: duplicates may be the unrecorded copies of a killed run.
    adopts: bool,
    /// Whether a new message may be found elsewhere at the destination
    /// here (the source did not look itself).
    looks_elsewhere: bool,
    /// UIDs taken as such copies since the folder was opened.
    adopted: HashSet<u32>,
    /// UIDs that failed, so the checkpoint's UID watermark stops before them.
    pub failed_uids: Vec<u32>,
    /// A dry run: what would be copied is reported as such.
    dry_run: bool,
    /// The largest message the destination accepts, when it says.
    append_limit: Option<u64>,
    /// A dry run's `--max-size` (see `Job::plan_max_size`).
    max_size: Option<u64>,
}

/// Where a batch goes and what it checks against.
pub(super) struct BatchTarget<'a> {
    pub folder: &'a FolderName,
    pub destination: &'a FolderName,
    pub shared: &'a Shared,
    pub known: Arc<FingerprintSet>,
    pub dedup: bool,
    pub keeps_done: bool,
    pub adopts: bool,
    pub looks_elsewhere: bool,
    pub dry_run: bool,
    pub append_limit: Option<u64>,
    pub max_size: Option<u64>,
}

impl<'a> Batch<'a> {
    pub fn new(
        target: BatchTarget<'a>,
        progress: FolderProgress,
        committed: &'a mut Counts,
    ) -> Batch<'a> {
        Batch {
            folder: target.folder,
            destination: target.destination,
            shared: target.shared,
            known: target.known,
            dedup: target.dedup,
            progress,
            counts: Counts::default(),
            committed,
            uncommitted: Vec::new(),
            appended: 0,
            added: HashSet::new(),
            done: Vec::new(),
            keeps_done: target.keeps_done,
            adopts: target.adopts,
            looks_elsewhere: target.looks_elsewhere,
            adopted: HashSet::new(),
            failed_uids: Vec::new(),
            dry_run: target.dry_run,
            append_limit: target.append_limit,
            max_size: target.max_size,
        }
    }

    /// The fingerprints the destination folder holds.
    pub fn known(&self) -> Arc<FingerprintSet> {
        self.known.clone()
    }

    /// Messages waiting for the next commit.
    pub fn len(&self) -> usize {
        self.uncommitted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uncommitted.is_empty()
    }

    /// Handles one item from the source: a duplicate is kept for the next
    /// commit, a new message is appended to the sink. `Err` only when the
    /// sink failed for good (not when it refused this one message).
    pub async fn take(&mut self, item: Fetched, sink: &mut AnySink) -> Result<()> {
        match item {
            Fetched::Message(message) => {
                let fingerprint = &message.fingerprint;
                // Counting line ends reads the whole message: once.
                let sizes = (message.size(), message.wire_size());
                if self.max_size.is_some_and(|max| sizes.0 > max) {
                    // What a real run's source would not offer.
                    self.counts.over_max_size += 1;
                    return Ok(());
                }
                if self.dedup && self.holds(fingerprint) {
                    self.duplicate(message.key, message.fingerprint, sizes.0, sizes.1)
                        .await?;
                } else if let Some(location) = match self.looks_elsewhere {
                    true => self.found_elsewhere(fingerprint, sizes.1).await?,
                    false => None,
                } {
                    self.copy_in(message.key, message.fingerprint, sizes.1, location);
                } else if let Some(limit) = self.append_limit.filter(|&limit| sizes.1 > limit) {
                    // Sent anyway, it would be refused after its upload (or
                    // end the connection, on some servers).
                    self.counts.messages_too_large += 1;
                    let e = anyhow::anyhow!(
                        "it is {}, larger than the {} the destination accepts (APPENDLIMIT)",
                        report::bytes(sizes.1),
                        report::bytes(limit)
                    );
                    self.failed(&message.key, &e);
                } else {
                    // Checked before anything is sent: a budget that stops
                    // the run leaves the batch whole, to be committed.
                    self.shared.admit(Direction::Upload, sizes.1).await?;
                    // The sink takes the message (a server sink sends its
                    // bytes without copying them); keep what is recorded.
                    let key = message.key.clone();
                    let fingerprint = message.fingerprint.clone();
                    let flags = message.flags.clone();
                    match sink.append(message).await {
                        Ok(()) => self.appended(key, fingerprint, flags, sizes),
                        Err(e) if is_message_rejected(&e) => self.failed(&key, &e),
                        Err(e) => return Err(e.context("writing to the destination")),
                    }
                }
            }
            Fetched::Duplicate(key, fingerprint) => {
                self.duplicate(key, fingerprint, 0, 0).await?;
            }
            Fetched::Elsewhere(key, fingerprint, wire_size) => {
                // Copied into this folder earlier in the batch: a duplicate.
                if self.holds(&fingerprint) {
                    return self.duplicate(key, fingerprint, 0, wire_size).await;
                }
                match self.found_elsewhere(&fingerprint, wire_size).await? {
                    Some(location) => self.copy_in(key, fingerprint, wire_size, location),
                    None => self.failed(
                        &key,
                        &anyhow::anyhow!(
                            "its copy elsewhere at the destination was forgotten before it \
                             could be copied from there; the next run reads it again"
                        ),
                    ),
                }
            }
            Fetched::Failed(key, e) => self.failed(&key, &e),
        }
        Ok(())
    }

    /// Keeps a message the destination folder already holds. In a mirror,
    /// a copy that arrived there since it was last indexed and that no
    /// recorded message claims is taken as the copy a killed run stored
    /// and never recorded: its place is recorded, so its flags and removal
    /// follow the source again. Its flags are then not known.
    async fn duplicate(
        &mut self,
        key: SourceKey,
        fingerprint: Fingerprint,
        bytes: u64,
        wire_bytes: u64,
    ) -> Result<()> {
        let adopted = match self.adopts {
            true => self.adopt(&fingerprint).await?,
            false => None,
        };
        if let Some(uid) = &adopted {
            report::debug(&format!(
                "folder `{}`, {key}: found at the destination as {uid}, stored by a run \
                 that stopped before recording it",
                self.folder
            ));
        }
        self.counts.messages_duplicate += 1;
        if self.added.contains(&fingerprint) || self.known.stored_this_run(&fingerprint) {
            self.counts.duplicates_in_source += 1;
        }
        self.uncommitted.push(Uncommitted {
            key,
            fingerprint,
            bytes,
            wire_bytes,
            flags: match adopted {
                Some(_) => None,
                None => Some(Flags::default()),
            },
            appended: None,
            copy_of: None,
            adopted,
        });
        Ok(())
    }

    /// The first arrival with `fingerprint` no recorded message claims.
    async fn adopt(&mut self, fingerprint: &Fingerprint) -> Result<Option<DestinationKey>> {
        let arrivals = {
            let known = &self.known;
            crate::durable::blocking(|| known.arrivals(fingerprint))?
        };
        if arrivals.is_empty() {
            return Ok(None);
        }
        let claimed = {
            let (fingerprint, destination) = (fingerprint.clone(), self.destination.clone());
            self.shared
                .state
                .call(move |state| state.claimed_uids(&fingerprint, &destination))
                .await?
        };
        let free = arrivals
            .into_iter()
            .find(|uid| !claimed.contains(uid) && !self.adopted.contains(uid));
        if let Some(uid) = free {
            self.adopted.insert(uid);
        }
        Ok(free.map(DestinationKey::Uid))
    }

    /// Whether the destination folder holds a message with `fingerprint`,
    /// or this run stored one there.
    fn holds(&self, fingerprint: &Fingerprint) -> bool {
        self.added.contains(fingerprint) || self.known.contains(fingerprint)
    }

    /// Where another folder of the destination holds the message, when the
    /// run looks there (mirror) and it does.
    async fn found_elsewhere(
        &self,
        fingerprint: &Fingerprint,
        wire_size: u64,
    ) -> Result<Option<Location>> {
        if !self.dedup {
            return Ok(None);
        }
        self.known
            .stored_elsewhere(fingerprint, wire_size)
            .await
            .context("looking for a message elsewhere at the destination")
    }

    /// Keeps a message to copy from another folder of the destination at
    /// the next commit. It is given the flags of that copy; a mirror makes
    /// them the source's afterwards.
    fn copy_in(
        &mut self,
        key: SourceKey,
        fingerprint: Fingerprint,
        wire_bytes: u64,
        location: Location,
    ) {
        self.added.insert(fingerprint.clone());
        self.counts.messages_copied += 1;
        self.uncommitted.push(Uncommitted {
            key,
            fingerprint,
            bytes: 0,
            wire_bytes,
            flags: location.flags.clone(),
            appended: None,
            copy_of: Some(location),
            adopted: None,
        });
    }

    /// Keeps a message the sink took for the next commit.
    fn appended(
        &mut self,
        key: SourceKey,
        fingerprint: Fingerprint,
        flags: Flags,
        (bytes, wire_bytes): (u64, u64),
    ) {
        if self.dedup {
            self.added.insert(fingerprint.clone());
        }
        self.counts.messages_copied += 1;
        self.counts.bytes_copied += bytes;
        self.uncommitted.push(Uncommitted {
            key,
            fingerprint,
            bytes,
            wire_bytes,
            flags: Some(flags),
            appended: Some(self.appended),
            copy_of: None,
            adopted: None,
        });
        self.appended += 1;
    }

    /// Counts a message the destination refused for its size or for a full
    /// account, and says so in words a person acts on; the server's own
    /// words follow.
    fn count_refusal(&mut self, e: anyhow::Error) -> anyhow::Error {
        let kind = crate::throttle::classify(&format!("{e:#}")).map(|t| t.kind);
        match kind {
            Some(ThrottleKind::MailboxFull) => {
                self.counts.messages_over_quota += 1;
                e.context(format!(
                    "destination folder `{}` is over its quota (the account is full)",
                    self.destination
                ))
            }
            Some(ThrottleKind::TooBig) => {
                self.counts.messages_too_large += 1;
                e.context(format!(
                    "destination folder `{}` does not take a message this large",
                    self.destination
                ))
            }
            _ => e,
        }
    }

    fn failed(&mut self, key: &SourceKey, e: &anyhow::Error) {
        self.counts.messages_failed += 1;
        if let SourceKey::Uid(uid) = key {
            self.failed_uids.push(*uid);
        }
        report_failed(self.folder, key, e);
    }

    /// Makes the batch durable, then records it. Order is important: a
    /// message recorded before the sink confirmed it could be lost by a crash.
    pub async fn commit(&mut self, sink: &mut AnySink) -> Result<()> {
        if self.uncommitted.is_empty() {
            return Ok(());
        }
        let committed = sink.commit().await.context("writing to the destination")?;
        let mut rejected: HashMap<usize, anyhow::Error> = committed
            .rejections
            .into_iter()
            .map(|r| (r.index, r.error))
            .collect();
        let mut stored_at: HashMap<usize, DestinationKey> = committed.stored.into_iter().collect();
        let batch = std::mem::take(&mut self.uncommitted);
        self.appended = 0;
        let mut stored = Vec::with_capacity(batch.len());
        let mut copies: BTreeMap<FolderName, Vec<Uncommitted>> = BTreeMap::new();
        for entry in batch {
            if let Some(location) = &entry.copy_of {
                copies
                    .entry(location.folder.clone())
                    .or_default()
                    .push(entry);
                continue;
            }
            match entry.appended.and_then(|i| rejected.remove(&i)) {
                Some(e) => {
                    self.counts.messages_copied -= 1;
                    self.counts.bytes_copied -= entry.bytes;
                    self.added.remove(&entry.fingerprint);
                    let e = self.count_refusal(e);
                    self.failed(&entry.key, &e);
                }
                None => {
                    let destination = match entry.appended {
                        Some(i) => stored_at.remove(&i),
                        None => entry.adopted.clone(),
                    };
                    stored.push((entry, destination));
                }
            }
        }
        // What was appended is durable now: nothing below may keep it from
        // being recorded.
        for (from, entries) in copies {
            self.copy_from(sink, &from, entries, &mut stored).await?;
        }
        self.record(&mut stored).await?;
        self.shared
            .save_daily_bytes()
            .await
            .context("recording the bytes moved for the daily limits")?;
        if self.dedup {
            let known = self.known.clone();
            let added = std::mem::take(&mut self.added);
            crate::durable::blocking(|| known.extend_this_run(&added))
                .context("keeping the fingerprints stored for deduplication")?;
        }
        self.report(stored);
        Ok(())
    }

    /// Copies `entries` from destination folder `from` into the open one.
    /// A copy that fails fails its message alone; when the destination
    /// says the message is not there, the state forgets that it was, so
    /// the next run reads it from the source again.
    async fn copy_from(
        &mut self,
        sink: &mut AnySink,
        from: &FolderName,
        entries: Vec<Uncommitted>,
        stored: &mut Vec<(Uncommitted, Option<DestinationKey>)>,
    ) -> Result<()> {
        let keys: Vec<DestinationKey> = entries
            .iter()
            .filter_map(|entry| entry.copy_of.as_ref().map(|l| l.key.clone()))
            .collect();
        let (results, missing) = match sink.copy_in(from, &keys).await {
            Ok(results) => (results, true),
            // The session failed: the messages may well be there.
            Err(e) => {
                let text = format!("{e:#}");
                (
                    keys.iter()
                        .map(|_| Err(anyhow::anyhow!("{text}")))
                        .collect(),
                    false,
                )
            }
        };
        for (entry, result) in entries.into_iter().zip(results) {
            match result {
                Ok(copy) => {
                    report::debug(&format!(
                        "folder `{}`, {}: copied from destination folder `{from}` rather \
                         than read again",
                        self.folder, entry.key
                    ));
                    stored.push((entry, Some(copy)));
                }
                Err(e) => {
                    self.counts.messages_copied -= 1;
                    self.added.remove(&entry.fingerprint);
                    let e = e.context(format!("copying it from destination folder `{from}`"));
                    self.failed(&entry.key, &e);
                    if let (true, Some(location)) = (missing, entry.copy_of) {
                        self.shared
                            .state
                            .call(move |state| state.forget_location(&location))
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Records what the sink committed in the state, in one transaction.
    async fn record(&mut self, stored: &mut [(Uncommitted, Option<DestinationKey>)]) -> Result<()> {
        let mut rows = Vec::with_capacity(stored.len());
        for (entry, destination) in stored.iter_mut() {
            self.progress.advance(&entry.key, &entry.fingerprint);
            rows.push(Stored {
                key: entry.key.clone(),
                fingerprint: entry.fingerprint.clone(),
                destination_folder: self.destination.clone(),
                destination_key: destination.clone(),
                flags: entry.flags.take(),
                bytes: entry.wire_bytes,
            });
        }
        let (folder, summary) = (self.folder.clone(), self.progress.summary());
        self.shared
            .state
            .call(move |state| state.record(&folder, &summary, &rows))
            .await
            .context("recording what the destination stored")?;
        for (entry, _) in stored.iter() {
            if entry.appended.is_some() || entry.copy_of.is_some() {
                self.committed.messages_copied += 1;
                self.committed.bytes_copied += entry.bytes;
            } else {
                self.committed.messages_duplicate += 1;
            }
        }
        Ok(())
    }

    /// Reports each recorded message, and keeps its key for
    /// `--delete-source`.
    fn report(&mut self, stored: Vec<(Uncommitted, Option<DestinationKey>)>) {
        for (entry, destination) in stored {
            let (fingerprint, bytes) = (&entry.fingerprint, entry.bytes);
            let destination_uid = match destination {
                Some(DestinationKey::Uid(uid)) => Some(uid),
                _ => None,
            };
            let outcome = match (entry.appended, &entry.copy_of) {
                (Some(_), _) | (None, Some(_)) if self.dry_run => {
                    Outcome::WouldCopy { fingerprint, bytes }
                }
                (Some(_), _) => Outcome::Copied {
                    fingerprint,
                    bytes,
                    destination_uid,
                    copied_from: None,
                },
                (None, Some(location)) => Outcome::Copied {
                    fingerprint,
                    bytes,
                    destination_uid,
                    copied_from: Some(&location.folder),
                },
                (None, None) => Outcome::Duplicate { fingerprint, bytes },
            };
            report::emit(&Event::Message {
                folder: self.folder,
                key: &entry.key,
                outcome,
            });
            if self.keeps_done {
                self.done.push(entry.key);
            }
        }
    }
}

fn report_failed(folder: &FolderName, key: &SourceKey, e: &anyhow::Error) {
    report::error(&format!("folder `{folder}`, {key}: {e:#}"));
    report::emit(&Event::Message {
        folder,
        key,
        outcome: Outcome::Failed {
            reason: format!("{e:#}"),
        },
    });
}
