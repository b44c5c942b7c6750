//! A store held in memory, for the pipeline's tests.
//!
//! It plays both roles through the same traits as the real stores, with
//! several folders, flags, stable keys (UIDs under a UIDVALIDITY) and
//! deletion, and it keeps a log of what was committed and deleted, so a
//! test can check the order in which things happened. A clone shares the
//! contents, as a second connection to one server would. It is also the
//! proof that a new kind of store is its own module plus one line in the
//! `stores!` registration: nothing above `store/` names it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context, Result};

use crate::checkpoint::FolderProgress;
use crate::checkpoint::{FolderIdentity, IndexMark};
use crate::cli::Removal;
use crate::error::MessageRejected;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::DestinationKey;
use crate::message::{Flags, Form, Message, SourceKey};
use crate::store::{
    Capabilities, Committed, Create, DestinationMessage, Fetched, FingerprintSet, FlagChange,
    FlagsNow, FolderStats, FolderStatus, Opened, Outbox, Rejection, Sink, Source,
};

/// The header that makes the sink refuse a message at `commit`, as a
/// server answers an APPEND with NO.
pub const REJECT_HEADER: &str = "X-Memory-Reject: yes";

/// The header that makes the sink refuse to change the message's flags.
pub const REFUSE_FLAGS_HEADER: &str = "X-Memory-Refuse-Flags: yes";

/// The header that makes the whole `commit` of a batch holding the message
/// fail, as a full disk or a lost connection does: nothing of the batch is
/// stored.
pub const FAIL_COMMIT_HEADER: &str = "X-Memory-Fail-Commit: yes";

/// One message as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub uid: u32,
    pub raw: Vec<u8>,
    pub flags: Flags,
    pub internal_date: Option<SystemTime>,
}

/// What happened to the store, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged {
    /// A commit stored these UIDs in this folder.
    Committed(FolderName, Vec<u32>),
    /// These UIDs were deleted from this folder.
    Deleted(FolderName, Vec<u32>),
    /// A commit into this folder failed and stored nothing.
    CommitFailed(FolderName),
    /// A mirror gave these UIDs new flags.
    FlagsSet(FolderName, Vec<u32>),
    /// A mirror removed these UIDs.
    Removed(FolderName, Vec<u32>),
    /// These UIDs of the first folder were copied into the second.
    CopiedIn(FolderName, FolderName, Vec<u32>),
}

#[derive(Debug)]
struct Folder {
    uid_validity: u32,
    uid_next: u32,
    messages: BTreeMap<u32, Held>,
    /// Counts changes to the folder: its listing stamp.
    changes: u64,
}

impl Folder {
    fn new(uid_validity: u32) -> Folder {
        Folder {
            uid_validity,
            uid_next: 1,
            messages: BTreeMap::new(),
            changes: 0,
        }
    }

    /// Stores a message under the next UID, which it returns.
    fn hold(&mut self, raw: Vec<u8>, flags: Flags, internal_date: Option<SystemTime>) -> u32 {
        let uid = self.uid_next;
        self.uid_next += 1;
        self.changes += 1;
        self.messages.insert(
            uid,
            Held {
                uid,
                raw,
                flags,
                internal_date,
            },
        );
        uid
    }
}

#[derive(Debug, Default)]
struct Contents {
    folders: BTreeMap<FolderName, Folder>,
    log: Vec<Logged>,
    /// How many times a source folder was listed (not skipped by its stamp).
    listings: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Memory {
    contents: Arc<Mutex<Contents>>,
    /// The folder `open` chose, and (as a source) the UIDs it left to fetch.
    open: Option<(FolderName, Vec<u32>)>,
    /// Messages appended since the last commit.
    pending: Vec<Message>,
}

impl Memory {
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Adds a folder holding `messages` (raw bytes, flags), with UIDs from 1.
    pub fn with_folder(self, name: &str, messages: &[(&str, Flags)]) -> Memory {
        {
            let mut contents = self.contents();
            let uid_validity = contents.folders.len() as u32 + 1;
            let folder = contents
                .folders
                .entry(FolderName::parse(name).expect("a folder name"))
                .or_insert_with(|| Folder::new(uid_validity));
            for (raw, flags) in messages {
                folder.hold(raw.as_bytes().to_vec(), flags.clone(), None);
            }
        }
        self
    }

    /// The messages of a folder, by ascending UID; `None` when it does not exist.
    pub fn messages(&self, folder: &str) -> Option<Vec<Held>> {
        let name = FolderName::parse(folder).expect("a folder name");
        self.contents()
            .folders
            .get(&name)
            .map(|f| f.messages.values().cloned().collect())
    }

    /// Gives message `uid` of `folder` new flags, as a mail reader would.
    pub fn give_flags(&self, folder: &str, uid: u32, flags: Flags) {
        let name = FolderName::parse(folder).expect("a folder name");
        let mut contents = self.contents();
        let folder = contents.folders.get_mut(&name).expect("a folder");
        folder.messages.get_mut(&uid).expect("a message").flags = flags;
        folder.changes += 1;
    }

    /// Removes message `uid` of `folder`, as a mail reader would.
    pub fn expunge(&self, folder: &str, uid: u32) {
        let name = FolderName::parse(folder).expect("a folder name");
        let mut contents = self.contents();
        let folder = contents.folders.get_mut(&name).expect("a folder");
        folder.messages.remove(&uid);
        folder.changes += 1;
    }

    /// How many times `open` listed a source folder: a folder whose stamp
    /// shows nothing new is not listed.
    pub fn listings(&self) -> u64 {
        self.contents().listings
    }

    /// What was committed and deleted, in order.
    pub fn log(&self) -> Vec<Logged> {
        self.contents().log.clone()
    }

    fn contents(&self) -> MutexGuard<'_, Contents> {
        self.contents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_name(&self) -> Result<FolderName> {
        self.open
            .as_ref()
            .map(|(name, _)| name.clone())
            .context("no folder is open")
    }
}

/// What a memory store can do: everything a mirror will want, as one
/// folder tree with stable keys.
fn capabilities() -> Capabilities {
    Capabilities {
        noun: "a memory store",
        single_folder: None,
        deletes_at_source: true,
        is_maildrop: false,
        form: Form::File,
        keeps_unnamed_keyword_letters: false,
        special_use: false,
        stable_message_keys: true,
        fingerprints_first: true,
        mirrors_from: true,
        updates_flags: true,
        deletes_at_destination: true,
        copies_within: true,
        has_other_writers: false,
    }
}

impl Source for Memory {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        Ok(self.contents().folders.keys().cloned().collect())
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        let mut contents = self.contents();
        let held = contents
            .folders
            .get(folder)
            .with_context(|| format!("no folder `{folder}`"))?;
        let identity = FolderIdentity::UidValidity {
            uid_validity: held.uid_validity,
        };
        let changed = progress
            .identity
            .as_ref()
            .is_some_and(|recorded| *recorded != identity)
            .then(|| format!("folder `{folder}` was replaced"));
        let stamp = format!("{}.{}", held.uid_validity, held.changes);
        let unchanged = changed.is_none() && progress.listing_stamp.as_ref() == Some(&stamp);
        let pending: Vec<u32> = match unchanged {
            true => Vec::new(),
            false => held
                .messages
                .keys()
                .copied()
                .filter(|&uid| changed.is_some() || !progress.is_done(&SourceKey::Uid(uid)))
                .collect(),
        };
        if !unchanged {
            contents.listings += 1;
        }
        drop(contents);
        let status = FolderStatus {
            identity: Some(identity),
            changed,
            pending: Some(pending.len() as u64),
            listing_stamp: Some(stamp),
            ..FolderStatus::default()
        };
        self.open = Some((folder.clone(), pending));
        Ok(status)
    }

    async fn fetch(
        &mut self,
        _progress: &FolderProgress,
        known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        let (name, pending) = self.open.clone().context("no folder is open")?;
        for uid in pending {
            let held = self
                .contents()
                .folders
                .get(&name)
                .and_then(|f| f.messages.get(&uid).cloned());
            let key = SourceKey::Uid(uid);
            let item = match held {
                None => Fetched::Failed(key, anyhow!("UID {uid} vanished")),
                Some(held) => {
                    // Like IMAP and POP3: the fingerprint is known without
                    // the body, so a duplicate is never read whole.
                    let fingerprint = Fingerprint::of(&held.raw);
                    let wire_size =
                        Message::new(key.clone(), held.raw.clone(), Flags::default(), None)
                            .wire_size();
                    if known.contains(&fingerprint) {
                        Fetched::Duplicate(key, fingerprint)
                    } else if known
                        .stored_elsewhere(&fingerprint, wire_size)
                        .await?
                        .is_some()
                    {
                        Fetched::Elsewhere(key, fingerprint, wire_size)
                    } else {
                        Fetched::Message(Message::new(
                            key,
                            held.raw,
                            held.flags,
                            held.internal_date,
                        ))
                    }
                }
            };
            if out.send(item).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    async fn stats(&mut self) -> Result<FolderStats> {
        let name = self.open_name()?;
        let contents = self.contents();
        let held = &contents.folders[&name];
        Ok(FolderStats {
            messages: held.messages.len() as u64,
            bytes: held.messages.values().map(|m| m.raw.len() as u64).sum(),
        })
    }

    async fn flags_of(&mut self, keys: &[SourceKey]) -> Result<Vec<FlagsNow>> {
        let name = self.open_name()?;
        let contents = self.contents();
        let folder = contents.folders.get(&name).context("folder gone")?;
        Ok(keys
            .iter()
            .map(|key| match key {
                SourceKey::Uid(uid) => folder.messages.get(uid).map(|m| m.flags.clone()).into(),
                _ => FlagsNow::Gone,
            })
            .collect())
    }

    async fn delete(&mut self, keys: &[SourceKey]) -> Result<()> {
        let name = self.open_name()?;
        let mut contents = self.contents();
        let folder = contents.folders.get_mut(&name).context("folder gone")?;
        let mut deleted = Vec::new();
        for key in keys {
            if let SourceKey::Uid(uid) = key {
                if folder.messages.remove(uid).is_some() {
                    folder.changes += 1;
                    deleted.push(*uid);
                }
            }
        }
        contents.log.push(Logged::Deleted(name, deleted));
        Ok(())
    }
}

impl Sink for Memory {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        Ok(self.contents().folders.keys().cloned().collect())
    }

    fn holds(&self, folder: &FolderName) -> bool {
        self.contents().folders.contains_key(folder)
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        _cached: Option<IndexMark>,
        index: &FingerprintSet,
    ) -> Result<Option<Opened>> {
        self.pending.clear();
        let mut contents = self.contents();
        if !contents.folders.contains_key(folder) {
            if !create.is_yes() {
                return Ok(None);
            }
            let uid_validity = contents.folders.len() as u32 + 1;
            contents
                .folders
                .insert(folder.clone(), Folder::new(uid_validity));
        }
        let fingerprints: Vec<Fingerprint> = contents.folders[folder]
            .messages
            .values()
            .map(|m| Fingerprint::of(&m.raw))
            .collect();
        drop(contents);
        index.extend(&fingerprints)?;
        self.open = Some((folder.clone(), Vec::new()));
        Ok(Some(Opened::default()))
    }

    async fn append(&mut self, message: Message) -> Result<()> {
        self.open_name()?;
        self.pending.push(message);
        Ok(())
    }

    async fn commit(&mut self) -> Result<Committed> {
        let Ok(name) = self.open_name() else {
            return Ok(Committed::default());
        };
        let pending = std::mem::take(&mut self.pending);
        let mut contents = self.contents();
        if pending.iter().any(|m| has_header(m, FAIL_COMMIT_HEADER)) {
            contents.log.push(Logged::CommitFailed(name));
            bail!("the memory store failed the commit");
        }
        let folder = contents.folders.get_mut(&name).context("folder gone")?;
        let mut committed = Committed::default();
        let mut uids = Vec::new();
        for (index, message) in pending.into_iter().enumerate() {
            if has_header(&message, REJECT_HEADER) {
                committed.rejections.push(Rejection {
                    index,
                    error: MessageRejected("the memory store refuses it".into()).into(),
                });
                continue;
            }
            let raw = message.file_bytes().into_owned();
            let uid = folder.hold(raw, message.flags, message.internal_date);
            committed.stored.push((index, DestinationKey::Uid(uid)));
            uids.push(uid);
        }
        contents.log.push(Logged::Committed(name, uids));
        Ok(committed)
    }

    async fn set_flags(
        &mut self,
        folder: &FolderName,
        changes: &[FlagChange],
    ) -> Result<Vec<Result<()>>> {
        let mut contents = self.contents();
        let held = contents.folders.get_mut(folder).context("folder gone")?;
        let mut set = Vec::new();
        let results = changes
            .iter()
            .map(|change| {
                let DestinationKey::Uid(uid) = change.key else {
                    bail!("{} is not a UID", change.key);
                };
                let message = held
                    .messages
                    .get_mut(&uid)
                    .with_context(|| format!("UID {uid} is gone"))?;
                if String::from_utf8_lossy(&message.raw)
                    .lines()
                    .any(|line| line == REFUSE_FLAGS_HEADER)
                {
                    bail!("the memory store refuses to change the flags of UID {uid}");
                }
                message.flags = change.now.clone();
                set.push(uid);
                Ok(())
            })
            .collect();
        contents.log.push(Logged::FlagsSet(folder.clone(), set));
        Ok(results)
    }

    async fn remove(
        &mut self,
        folder: &FolderName,
        messages: &[DestinationMessage],
        _how: Removal,
    ) -> Result<Vec<Result<()>>> {
        let keys: Vec<DestinationKey> = messages.iter().map(|m| m.key.clone()).collect();
        let keys = keys.as_slice();
        let mut contents = self.contents();
        let held = contents.folders.get_mut(folder).context("folder gone")?;
        let mut removed = Vec::new();
        for key in keys {
            if let DestinationKey::Uid(uid) = key {
                if held.messages.remove(uid).is_some() {
                    removed.push(*uid);
                }
            }
        }
        contents.log.push(Logged::Removed(folder.clone(), removed));
        Ok(keys.iter().map(|_| Ok(())).collect())
    }

    async fn copy_in(
        &mut self,
        from: &FolderName,
        keys: &[DestinationKey],
    ) -> Result<Vec<Result<DestinationKey>>> {
        let name = self.open_name()?;
        let mut contents = self.contents();
        let found: Vec<Option<Held>> = {
            let source = contents.folders.get(from).context("folder gone")?;
            keys.iter()
                .map(|key| match key {
                    DestinationKey::Uid(uid) => source.messages.get(uid).cloned(),
                    _ => None,
                })
                .collect()
        };
        let target = contents.folders.get_mut(&name).context("folder gone")?;
        let mut copied = Vec::new();
        let results = keys
            .iter()
            .zip(found)
            .map(|(key, held)| {
                let held = held.with_context(|| format!("{key} is gone from `{from}`"))?;
                copied.push(held.uid);
                let uid = target.hold(held.raw, held.flags, held.internal_date);
                Ok(DestinationKey::Uid(uid))
            })
            .collect();
        contents
            .log
            .push(Logged::CopiedIn(from.clone(), name, copied));
        Ok(results)
    }
}

/// Whether `message` holds the line `header`.
fn has_header(message: &Message, header: &str) -> bool {
    String::from_utf8_lossy(&message.file_bytes())
        .lines()
        .any(|line| line == header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u32) -> String {
        format!("Message-ID: <{id}@example.org>\nSubject: {id}\n\nbody {id}\n")
    }

    #[tokio::test]
    async fn a_sink_keeps_what_it_committed_and_refuses_what_it_is_told_to() {
        let mut sink = Memory::new();
        let inbox = FolderName::inbox();
        assert!(crate::store::open_unindexed(&mut sink, &inbox, Create::No)
            .await
            .unwrap()
            .is_none());
        crate::store::open_unindexed(&mut sink, &inbox, Create::Yes(None))
            .await
            .unwrap();
        let refused = format!("{REJECT_HEADER}\n{}", message(2));
        for raw in [message(1), refused, message(3)] {
            let message = Message::new(SourceKey::Uid(0), raw.into_bytes(), Flags::default(), None);
            sink.append(message).await.unwrap();
        }
        let committed = sink.commit().await.unwrap();
        assert_eq!(
            committed.stored,
            [(0, DestinationKey::Uid(1)), (2, DestinationKey::Uid(2))]
        );
        assert_eq!(
            committed
                .rejections
                .iter()
                .map(|r| r.index)
                .collect::<Vec<_>>(),
            [1]
        );
        let held = sink.messages("INBOX").unwrap();
        assert_eq!(held.len(), 2);
        assert_eq!(held[1].raw, message(3).into_bytes());
    }
}
