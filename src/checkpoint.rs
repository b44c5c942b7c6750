//! Resumable checkpoints: what each job has already stored, per source folder.
//!
//! Invariant: the checkpoint never runs ahead of the destination. The
//! pipeline records a message only after the sink's `commit` returned, and
//! `save` replaces the file atomically (temp file, fsync, rename, fsync of the
//! directory), so after a crash the file on disk is either the old or the new
//! checkpoint, and both only name messages that are durable. Messages stored
//! after the last save are caught by the destination's fingerprint index on
//! the next run.
//!
//! The file is JSON with sorted keys (stable, diffable), mode 0600, versioned;
//! an unknown version is refused with the file named. Only stable hashes are
//! persisted (SHA-256), never `DefaultHasher` output.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use anyhow::{Context, Result};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::durable;
use crate::exit::{usage, Locked};
use crate::fingerprint::{self, Fingerprint};
use crate::folder::FolderName;
use crate::message::SourceKey;

/// The checkpoint format this build reads and writes.
pub const VERSION: u32 = 1;

/// What makes two runs the same job: same source, same destination, same
/// options that change the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobKey {
    pub source: String,
    pub destination: String,
    /// Folder selection and renaming options, normalised (e.g. `--folder=INBOX`).
    pub options: Vec<String>,
}

impl JobKey {
    /// A short stable id: the first 16 hex digits of SHA-256 over the key.
    pub fn id(&self) -> String {
        let json = serde_json::to_vec(self).expect("a job key always serialises");
        hex(&Sha256::digest(&json)[..8])
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub job: JobKey,
    /// Seconds since the epoch of the last save.
    pub updated: u64,
    /// Progress per source folder.
    pub folders: BTreeMap<FolderName, FolderProgress>,
    /// Destination folders' fingerprint indexes, for servers that can be
    /// indexed incrementally (by destination folder name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destinations: BTreeMap<FolderName, IndexCache>,
    /// The fingerprint rules (`fingerprint::RULES`) `destinations` was made
    /// with; 1 for checkpoints older than the field.
    #[serde(default = "first_rules")]
    pub fingerprint_rules: u32,
}

fn first_rules() -> u32 {
    1
}

/// What is done in one source folder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FolderProgress {
    /// The folder instance the progress belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<FolderIdentity>,
    #[serde(default)]
    pub done: Done,
    /// Where to read the keys of `done` that are not held in it: a state
    /// keeps a maildir folder's names in its message rows, as a million of
    /// them would not fit in memory.
    #[serde(skip)]
    pub recorded: RecordedKeys,
    /// The folder's listing stamp (see `FolderStatus::listing_stamp`) as of
    /// the last pass that left nothing behind: while the folder shows the
    /// same stamp, it holds nothing new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_stamp: Option<String>,
    /// The folder's mirror stamp (see `FolderStatus::mirror_stamp`) as of
    /// the last mirror pass that left nothing undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_stamp: Option<String>,
}

/// Reads a folder's recorded keys, page by page in key order.
pub trait KeyPages: Send + Sync {
    /// Up to `limit` keys after `after` (from the first with `None`).
    fn after(&self, after: Option<String>, limit: usize)
        -> BoxFuture<'static, Result<Vec<String>>>;
}

/// The recorded keys of a folder that live in the state rather than in
/// [`Done`]; empty when all of them are in `Done`. Progress values compare
/// equal whatever this holds: it is a view of the state, not a value.
#[derive(Clone, Default)]
pub struct RecordedKeys(Option<Arc<dyn KeyPages>>);

impl RecordedKeys {
    pub fn in_state(pages: Arc<dyn KeyPages>) -> RecordedKeys {
        RecordedKeys(Some(pages))
    }

    /// Hands every recorded key to `take`, a page at a time.
    pub async fn each_page(
        &self,
        page_size: usize,
        mut take: impl FnMut(Vec<String>) -> Result<()>,
    ) -> Result<()> {
        let Some(pages) = &self.0 else {
            return Ok(());
        };
        let mut after = None;
        loop {
            let page = pages.after(after.take(), page_size).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.clone());
            take(page)?;
        }
    }
}

impl PartialEq for RecordedKeys {
    fn eq(&self, _: &RecordedKeys) -> bool {
        true
    }
}

impl std::fmt::Debug for RecordedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(_) => f.write_str("RecordedKeys(in the state)"),
            None => f.write_str("RecordedKeys(none)"),
        }
    }
}

/// The messages done in a folder, in the form that suits its source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Done {
    #[default]
    Nothing,
    /// Maildir: unique file names (without the `:2,` info suffix). A
    /// progress read from the state leaves them there and reads them
    /// through [`FolderProgress::recorded`].
    Files { names: BTreeSet<String> },
    /// mbox: every message starting before `through` is done, plus the
    /// messages listed in `above` (start → end) beyond a gap left by a failure.
    /// `anchor` is the last message before `through`, so a reader can tell
    /// whether the file was rewritten under the checkpoint.
    Offsets {
        through: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anchor: Option<Anchor>,
        #[serde(
            default,
            skip_serializing_if = "BTreeMap::is_empty",
            deserialize_with = "offsets_by_start"
        )]
        above: BTreeMap<u64, u64>,
    },
    /// IMAP: every UID up to `through` is done (or was never wanted), plus
    /// the UIDs in `above`. `uid_next` is the folder's UIDNEXT when a pass
    /// over it last finished without failures: unchanged, there is nothing new.
    Uids {
        through: u32,
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        above: BTreeSet<u32>,
        #[serde(default)]
        uid_next: u32,
    },
    /// POP3: the UIDLs delivered, each with when it was first delivered
    /// (seconds since the epoch, for `--delete-after`). UIDLs the server no
    /// longer has are dropped, so the list stays bounded.
    Uidls { delivered: BTreeMap<String, u64> },
}

/// Reads `above` of [`Done::Offsets`]. JSON writes its integer keys as
/// strings, and inside an internally tagged enum serde cannot turn them back
/// into integers (it buffers the map first): every checkpoint whose mbox
/// folder had a gap (a message refused in the middle) failed to load, and
/// its job stayed broken. Keys are read as text and parsed here.
fn offsets_by_start<'de, D>(deserializer: D) -> Result<BTreeMap<u64, u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    BTreeMap::<String, u64>::deserialize(deserializer)?
        .into_iter()
        .map(|(start, end)| {
            start
                .parse()
                .map(|start| (start, end))
                .map_err(|_| D::Error::custom(format!("`{start}` is not a byte offset")))
        })
        .collect()
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

/// A destination folder's fingerprints as of a UIDVALIDITY and UIDNEXT,
/// kept in the checkpoint so the next run fetches only newer headers
/// instead of indexing the whole folder again (IMAP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexCache {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub fingerprints: Vec<Fingerprint>,
}

/// What a kept destination index covers: every message of the folder
/// instance `uid_validity` below `uid_next`, `messages` of them. The
/// fingerprints themselves stay in the state; a sink given a mark indexes
/// only newer messages, or all again when the mark no longer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexMark {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: u64,
}

/// A message that must still be found where the checkpoint saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub start: u64,
    pub end: u64,
    pub fingerprint: Fingerprint,
}

impl FolderProgress {
    /// The folder-level part alone (identity, kind, watermarks), without
    /// the per-message sets: what the state's folder row keeps. Cheap to
    /// copy however many messages the folder has.
    pub fn summary(&self) -> FolderProgress {
        let done = match &self.done {
            Done::Nothing => Done::Nothing,
            Done::Files { .. } => Done::Files {
                names: BTreeSet::new(),
            },
            Done::Uidls { .. } => Done::Uidls {
                delivered: BTreeMap::new(),
            },
            Done::Uids {
                through, uid_next, ..
            } => Done::Uids {
                through: *through,
                above: BTreeSet::new(),
                uid_next: *uid_next,
            },
            Done::Offsets {
                through, anchor, ..
            } => Done::Offsets {
                through: *through,
                anchor: anchor.clone(),
                above: BTreeMap::new(),
            },
        };
        FolderProgress {
            identity: self.identity.clone(),
            done,
            recorded: RecordedKeys::default(),
            listing_stamp: self.listing_stamp.clone(),
            mirror_stamp: self.mirror_stamp.clone(),
        }
    }

    /// True when the message is recorded as stored.
    pub fn is_done(&self, key: &SourceKey) -> bool {
        match (&self.done, key) {
            (Done::Files { names }, SourceKey::File(name)) => names.contains(name),
            (Done::Offsets { through, above, .. }, SourceKey::Offset { start, .. }) => {
                start < through || above.contains_key(start)
            }
            (Done::Uids { through, above, .. }, SourceKey::Uid(uid)) => {
                uid <= through || above.contains(uid)
            }
            (Done::Uidls { delivered }, SourceKey::Uidl(id)) => delivered.contains_key(id),
            _ => false,
        }
    }

    /// Records a message the sink has committed.
    pub fn mark_done(&mut self, key: &SourceKey, fingerprint: &Fingerprint) {
        match key {
            SourceKey::File(name) => {
                if !matches!(self.done, Done::Files { .. }) {
                    self.done = Done::Files {
                        names: BTreeSet::new(),
                    };
                }
                if let Done::Files { names } = &mut self.done {
                    names.insert(name.clone());
                }
            }
            &SourceKey::Offset { start, end } => {
                if !matches!(self.done, Done::Offsets { .. }) {
                    self.done = Done::Offsets {
                        through: 0,
                        anchor: None,
                        above: BTreeMap::new(),
                    };
                }
                if let Done::Offsets {
                    through,
                    anchor,
                    above,
                } = &mut self.done
                {
                    if start > *through {
                        above.insert(start, end);
                        return;
                    }
                    if end > *through {
                        *through = end;
                        *anchor = Some(Anchor {
                            start,
                            end,
                            fingerprint: fingerprint.clone(),
                        });
                    }
                    // Close the gap: messages done earlier beyond it now join the prefix.
                    while let Some((&next_start, &next_end)) = above.first_key_value() {
                        if next_start > *through {
                            break;
                        }
                        above.remove(&next_start);
                        if next_end > *through {
                            *through = next_end;
                            // The anchor stays on a message whose fingerprint we know.
                        }
                    }
                }
            }
            &SourceKey::Uid(uid) => {
                if !matches!(self.done, Done::Uids { .. }) {
                    self.done = Done::Uids {
                        through: 0,
                        above: BTreeSet::new(),
                        uid_next: 0,
                    };
                }
                if let Done::Uids { through, above, .. } = &mut self.done {
                    if uid > *through {
                        above.insert(uid);
                    }
                }
            }
            SourceKey::Uidl(id) => {
                if !matches!(self.done, Done::Uidls { .. }) {
                    self.done = Done::Uidls {
                        delivered: BTreeMap::new(),
                    };
                }
                if let Done::Uidls { delivered } = &mut self.done {
                    delivered.entry(id.clone()).or_insert_with(now_secs);
                }
            }
        }
    }

    /// Records UID `uid` as done, for [`FolderProgress::finish_uid_pass`]
    /// to fold: the largest UID the state recorded below the pass's limit.
    pub fn mark_uid_done(&mut self, uid: u32) {
        if let Done::Uids { through, above, .. } = &mut self.done {
            if uid > *through {
                above.insert(uid);
            }
        }
    }

    /// Ends a pass over an IMAP folder: UIDs are sparse, so the contiguous
    /// prefix cannot grow one by one; instead, everything below the first
    /// failed UID (all of it when none failed) folds into `through`, and a
    /// clean pass records `uid_next` so an unchanged folder is skipped.
    pub fn finish_uid_pass(&mut self, failed: &[u32], uid_next: u32) {
        let Done::Uids {
            through,
            above,
            uid_next: recorded,
        } = &mut self.done
        else {
            if failed.is_empty() && uid_next > 0 {
                self.done = Done::Uids {
                    through: uid_next - 1,
                    above: BTreeSet::new(),
                    uid_next,
                };
            }
            return;
        };
        let limit = failed
            .iter()
            .min()
            .map(|first| first - 1)
            .unwrap_or(uid_next.saturating_sub(1));
        let folded = above.range(..=limit).next_back().copied();
        if let Some(top) = folded {
            *through = (*through).max(top);
        }
        if failed.is_empty() {
            *through = (*through).max(limit);
        }
        let through_now = *through;
        above.retain(|&uid| uid > through_now);
        *recorded = if failed.is_empty() { uid_next } else { 0 };
    }

    /// The progress without the per-message sets of maildir names and
    /// UIDLs (what [`FolderProgress::advance`] keeps up to date).
    pub fn watermarks(&self) -> FolderProgress {
        match &self.done {
            Done::Files { .. } | Done::Uidls { .. } => self.summary(),
            _ => self.clone(),
        }
    }

    /// Moves the folder-level watermarks past a message the sink committed,
    /// without keeping the per-message sets of maildir names, UIDLs and
    /// UIDs: their record is the state's message rows. mbox offsets above
    /// a gap stay, as the watermark is computed from them.
    pub fn advance(&mut self, key: &SourceKey, fingerprint: &Fingerprint) {
        match key {
            SourceKey::File(_) => {
                if !matches!(self.done, Done::Files { .. }) {
                    self.done = Done::Files {
                        names: BTreeSet::new(),
                    };
                }
            }
            SourceKey::Uidl(_) => {
                if !matches!(self.done, Done::Uidls { .. }) {
                    self.done = Done::Uidls {
                        delivered: BTreeMap::new(),
                    };
                }
            }
            SourceKey::Uid(_) => {
                // Nor the UIDs done in a pass: the pass's end folds them into
                // `through` from the state's rows (see `finish_uid_pass`).
                if !matches!(self.done, Done::Uids { .. }) {
                    self.done = Done::Uids {
                        through: 0,
                        above: BTreeSet::new(),
                        uid_next: 0,
                    };
                }
            }
            SourceKey::Offset { .. } => self.mark_done(key, fingerprint),
        }
    }

    /// Forgets keys the source no longer holds, so the checkpoint stays bounded.
    pub fn forget(&mut self, vanished: &[SourceKey]) {
        for key in vanished {
            match (&mut self.done, key) {
                (Done::Files { names }, SourceKey::File(name)) => {
                    names.remove(name);
                }
                (Done::Uidls { delivered }, SourceKey::Uidl(id)) => {
                    delivered.remove(id);
                }
                _ => {}
            }
        }
    }

    /// How many messages the progress records (mbox prefixes count as one).
    pub fn recorded(&self) -> usize {
        match &self.done {
            Done::Nothing => 0,
            Done::Files { names } => names.len(),
            Done::Offsets { above, through, .. } => above.len() + usize::from(*through > 0),
            Done::Uids { above, through, .. } => above.len() + usize::from(*through > 0),
            Done::Uidls { delivered } => delivered.len(),
        }
    }
}

impl Checkpoint {
    pub fn new(job: JobKey) -> Checkpoint {
        Checkpoint {
            version: VERSION,
            job,
            updated: 0,
            folders: BTreeMap::new(),
            destinations: BTreeMap::new(),
            fingerprint_rules: fingerprint::RULES,
        }
    }

    /// Reads a checkpoint; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
        durable::remove_stale_temps(path);
        let mut text = Vec::new();
        match File::open(path) {
            Ok(mut file) => file
                .read_to_end(&mut text)
                .with_context(|| format!("reading checkpoint `{}`", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("opening checkpoint `{}`", path.display()))
            }
        };
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        // A checkpoint that cannot be used is a configuration problem (exit
        // 2): nothing has been copied, and the user has to decide.
        let version: VersionOnly = serde_json::from_slice(&text).map_err(|e| {
            usage(format!(
                "checkpoint `{}` is not valid JSON ({e}); remove it with `mailtug state forget` to start over",
                path.display()
            ))
        })?;
        if version.version != VERSION {
            return Err(usage(format!(
                "checkpoint `{}` has version {}, this mailtug reads version {VERSION}; remove it or use a matching mailtug",
                path.display(),
                version.version
            )));
        }
        let mut checkpoint: Checkpoint = serde_json::from_slice(&text).map_err(|e| {
            usage(format!(
                "checkpoint `{}` is damaged ({e}); remove it with `mailtug state forget` to start over",
                path.display()
            ))
        })?;
        if checkpoint.fingerprint_rules != fingerprint::RULES {
            // Indexes of fingerprints made by other rules would miss
            // messages the destination holds: the folders are indexed again.
            checkpoint.destinations.clear();
            checkpoint.fingerprint_rules = fingerprint::RULES;
        }
        Ok(Some(checkpoint))
    }

    /// A digest of what the checkpoint records (not when it was saved), to
    /// tell whether a save would change anything.
    pub fn digest(&self) -> [u8; 32] {
        #[derive(Serialize)]
        struct Content<'a> {
            version: u32,
            job: &'a JobKey,
            folders: &'a BTreeMap<FolderName, FolderProgress>,
            destinations: &'a BTreeMap<FolderName, IndexCache>,
        }
        let content = Content {
            version: self.version,
            job: &self.job,
            folders: &self.folders,
            destinations: &self.destinations,
        };
        let json = serde_json::to_vec(&content).expect("a checkpoint always serialises");
        Sha256::digest(&json).into()
    }

    /// Writes the checkpoint atomically: temp file in the same directory,
    /// fsync, rename over the old one, fsync the directory.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.updated = now_secs();
        create_private_dir(parent_dir(path))?;
        let mut json = serde_json::to_vec_pretty(self).expect("a checkpoint always serialises");
        json.push(b'\n');
        durable::write_atomically(path, &json)
            .with_context(|| format!("saving checkpoint `{}`", path.display()))
    }
}

/// An exclusive lock on a job, held for the whole run, so two runs of the
/// same job (say, overlapping cron runs) never race on one checkpoint.
pub struct JobLock {
    _file: File,
}

impl JobLock {
    pub fn acquire(checkpoint_path: &Path) -> Result<JobLock> {
        let dir = parent_dir(checkpoint_path);
        create_private_dir(dir)?;
        let mut lock_path = checkpoint_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .with_context(|| format!("opening lock file `{}`", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(JobLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Locked(format!(
                "another mailtug run of this job is in progress (lock `{}` is held)",
                lock_path.display()
            ))
            .into()),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking `{}`", lock_path.display()))
            }
        }
    }
}

impl JobLock {
    /// Whether a run of the job holds its lock now (without taking it).
    pub fn is_held(checkpoint_path: &Path) -> bool {
        let mut lock_path = checkpoint_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let Ok(file) = std::fs::File::open(PathBuf::from(lock_path)) else {
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }
}

/// The directory holding checkpoints: `$XDG_STATE_HOME/mailtug`, else
/// `~/.local/state/mailtug`.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("mailtug"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/mailtug")),
        None => Err(usage(
            "neither XDG_STATE_HOME nor HOME is set; give a checkpoint file with --state",
        )),
    }
}

/// The default state file of a job.
pub fn default_path(job: &JobKey) -> Result<PathBuf> {
    Ok(state_dir()?.join(format!("{}.sqlite", job.id())))
}

/// Where releases before the SQLite state kept a job's JSON checkpoint;
/// migrated on first use.
pub fn legacy_path(job: &JobKey) -> Result<PathBuf> {
    Ok(state_dir()?.join(format!("{}.json", job.id())))
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    durable::create_private_dir(dir)
        .with_context(|| format!("creating checkpoint directory `{}`", dir.display()))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn fp(n: u32) -> Fingerprint {
        Fingerprint::MessageId(format!("<{n}@x>"))
    }

    /// xorshift64*: a fixed, seedable sequence for the property test (no
    /// randomness crate for one test).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// Progress as a run leaves it: some messages done in some order, some
    /// failed (never marked), passes finished or cut short, keys forgotten.
    fn produced_progress(rng: &mut Rng) -> BTreeMap<FolderName, FolderProgress> {
        let mut folders = BTreeMap::new();
        let count = 1 + rng.below(40);

        let mut files = FolderProgress::default();
        for n in 0..count {
            if rng.chance(80) {
                files.mark_done(&SourceKey::File(format!("{n}.M{n}P1.host")), &fp(n as u32));
            }
        }
        files.forget(&[SourceKey::File("0.M0P1.host".into())]);
        folders.insert(FolderName::parse("Files").unwrap(), files);

        // Messages tiling an mbox file, handed in order with failures
        // between them: gaps leave `above` entries (the wedged case).
        let mut offsets = FolderProgress::default();
        let mut start = 0;
        for n in 0..count {
            let end = start + 1 + rng.below(5_000);
            if rng.chance(70) {
                offsets.mark_done(&SourceKey::Offset { start, end }, &fp(n as u32));
            }
            start = end;
        }
        folders.insert(FolderName::parse("Mbox").unwrap(), offsets);

        let mut uids = FolderProgress {
            identity: Some(FolderIdentity::UidValidity {
                uid_validity: 1 + rng.below(1000) as u32,
            }),
            done: Done::Nothing,
            ..FolderProgress::default()
        };
        let mut failed = Vec::new();
        let mut uid = 0;
        for _ in 0..count {
            uid += 1 + rng.below(3) as u32;
            if rng.chance(85) {
                uids.mark_done(&SourceKey::Uid(uid), &fp(uid));
            } else {
                failed.push(uid);
            }
        }
        if rng.chance(50) {
            uids.finish_uid_pass(&failed, uid + 1);
        }
        folders.insert(FolderName::parse("Imap/Sub").unwrap(), uids);

        let mut uidls = FolderProgress::default();
        for n in 0..count {
            if rng.chance(75) {
                uidls.mark_done(&SourceKey::Uidl(format!("{n:08X}\u{e9}")), &fp(n as u32));
            }
        }
        uidls.forget(&[SourceKey::Uidl("00000001\u{e9}".into())]);
        folders.insert(FolderName::inbox(), uidls);
        folders
    }

    #[test]
    fn every_state_the_code_can_produce_survives_save_and_load() {
        let dir = std::env::temp_dir().join(format!("mailtug-ckpt-p-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("job.json");
        for seed in 1..=300 {
            let mut rng = Rng(seed);
            let mut checkpoint = Checkpoint::new(JobKey {
                source: "mbox:/a".into(),
                destination: "imaps://u@h".into(),
                options: vec!["--folder=INBOX".into()],
            });
            checkpoint.folders = produced_progress(&mut rng);
            if rng.chance(50) {
                checkpoint.destinations.insert(
                    FolderName::inbox(),
                    IndexCache {
                        uid_validity: 3,
                        uid_next: 9,
                        fingerprints: vec![fp(1), Fingerprint::of(b"Subject: x\n\nbody")],
                    },
                );
            }
            checkpoint.save(&path).unwrap();
            let loaded = Checkpoint::load(&path)
                .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"))
                .unwrap();
            assert_eq!(loaded.folders, checkpoint.folders, "seed {seed}");
            assert_eq!(loaded.destinations, checkpoint.destinations, "seed {seed}");
            assert_eq!(loaded.digest(), checkpoint.digest(), "seed {seed}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_checkpoint_wedged_by_an_mbox_gap_loads_again() {
        // As an earlier mailtug wrote it after a refused message in the
        // middle of an mbox folder.
        let dir = std::env::temp_dir().join(format!("mailtug-ckpt-w-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("job.json");
        let written = r#"{
            "version": 1,
            "job": {"source": "mbox:/a.mbox", "destination": "imaps://u@h", "options": []},
            "updated": 1,
            "folders": {"INBOX": {"done": {
                "kind": "offsets",
                "through": 17000,
                "above": {"17705": 20000, "25000": 26000}
            }}}
        }"#;
        fs::write(&path, written).unwrap();
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        let Done::Offsets { through, above, .. } = &loaded.folders[&FolderName::inbox()].done
        else {
            panic!("not offsets: {:?}", loaded.folders);
        };
        assert_eq!(*through, 17000);
        assert_eq!(above, &BTreeMap::from([(17705, 20000), (25000, 26000)]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn offsets_advance_only_over_a_contiguous_prefix() {
        let mut progress = FolderProgress::default();
        progress.mark_done(&SourceKey::Offset { start: 0, end: 10 }, &fp(1));
        // 10..20 failed; 20..30 is done beyond the gap.
        progress.mark_done(&SourceKey::Offset { start: 20, end: 30 }, &fp(3));
        assert!(progress.is_done(&SourceKey::Offset { start: 0, end: 10 }));
        assert!(!progress.is_done(&SourceKey::Offset { start: 10, end: 20 }));
        assert!(progress.is_done(&SourceKey::Offset { start: 20, end: 30 }));
        // A rerun stores the failed one: the gap closes.
        progress.mark_done(&SourceKey::Offset { start: 10, end: 20 }, &fp(2));
        assert_eq!(
            progress.done,
            Done::Offsets {
                through: 30,
                anchor: Some(Anchor {
                    start: 10,
                    end: 20,
                    fingerprint: fp(2)
                }),
                above: BTreeMap::new()
            }
        );
    }

    #[test]
    fn uid_passes_fold_into_the_watermark_up_to_the_first_failure() {
        let mut progress = FolderProgress::default();
        for uid in [3, 5, 9, 12] {
            progress.mark_done(&SourceKey::Uid(uid), &fp(uid));
        }
        // 7 failed: the prefix stops before it, the rest stays listed.
        progress.finish_uid_pass(&[7], 13);
        assert_eq!(
            progress.done,
            Done::Uids {
                through: 5,
                above: BTreeSet::from([9, 12]),
                uid_next: 0
            }
        );
        assert!(progress.is_done(&SourceKey::Uid(4)) && !progress.is_done(&SourceKey::Uid(7)));
        // The rerun stores 7 and finishes clean: everything below UIDNEXT is done.
        progress.mark_done(&SourceKey::Uid(7), &fp(7));
        progress.finish_uid_pass(&[], 13);
        assert_eq!(
            progress.done,
            Done::Uids {
                through: 12,
                above: BTreeSet::new(),
                uid_next: 13
            }
        );
        // A pass with nothing to do still records UIDNEXT.
        let mut empty = FolderProgress::default();
        empty.finish_uid_pass(&[], 40);
        assert!(empty.is_done(&SourceKey::Uid(39)) && !empty.is_done(&SourceKey::Uid(40)));
    }

    #[test]
    fn files_are_recorded_and_forgotten_by_name() {
        let mut progress = FolderProgress::default();
        progress.mark_done(&SourceKey::File("a".into()), &fp(1));
        progress.mark_done(&SourceKey::File("b".into()), &fp(2));
        progress.forget(&[SourceKey::File("a".into())]);
        assert!(!progress.is_done(&SourceKey::File("a".into())));
        assert!(progress.is_done(&SourceKey::File("b".into())));
        assert_eq!(progress.recorded(), 1);
    }

    #[test]
    fn save_is_atomic_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("mailtug-ckpt-{}", std::process::id()));
        let path = dir.join("sub/job.json");
        let mut checkpoint = Checkpoint::new(JobKey {
            source: "mbox:/a".into(),
            destination: "maildir:/b".into(),
            options: vec![],
        });
        let mut progress = FolderProgress::default();
        progress.mark_done(&SourceKey::File("x".into()), &fp(1));
        checkpoint
            .folders
            .insert(FolderName::inbox(), progress.clone());
        checkpoint.save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(loaded.folders[&FolderName::inbox()], progress);
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp files left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn indexes_made_by_older_fingerprint_rules_are_dropped_on_load() {
        let dir = std::env::temp_dir().join(format!("mailtug-ckpt-r-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("job.json");
        let old = r#"{
            "version": 1,
            "job": {"source": "a", "destination": "b", "options": []},
            "updated": 1,
            "folders": {},
            "destinations": {"INBOX": {"uid_validity": 1, "uid_next": 3, "fingerprints": ["<a@b>"]}}
        }"#;
        fs::write(&path, old).unwrap();
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        assert!(loaded.destinations.is_empty());
        assert_eq!(loaded.fingerprint_rules, fingerprint::RULES);
        let current = old.replace(
            r#""updated": 1,"#,
            r#""updated": 1, "fingerprint_rules": 2,"#,
        );
        fs::write(&path, current).unwrap();
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(loaded.destinations.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_versions_are_refused_with_the_file_named() {
        let dir = std::env::temp_dir().join(format!("mailtug-ckpt-v-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("job.json");
        fs::write(&path, br#"{"version": 99}"#).unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("version 99"), "{err:#}");
        assert!(format!("{err:#}").contains("job.json"), "{err:#}");
        fs::write(&path, b"not json").unwrap();
        assert!(format!("{:#}", Checkpoint::load(&path).unwrap_err()).contains("not valid JSON"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_lock_on_the_same_job_is_refused() {
        let dir = std::env::temp_dir().join(format!("mailtug-lock-{}", std::process::id()));
        let path = dir.join("job.json");
        let first = JobLock::acquire(&path).unwrap();
        let err = JobLock::acquire(&path)
            .err()
            .expect("second lock must fail");
        assert_eq!(crate::exit::classify(&err), crate::exit::ExitCode::Locked);
        drop(first);
        JobLock::acquire(&path).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn job_ids_are_stable() {
        let key = JobKey {
            source: "mbox:/a".into(),
            destination: "maildir:/b".into(),
            options: vec!["--folder=INBOX".into()],
        };
        // Persisted in file names: a change orphans every user's state.
        assert_eq!(key.id(), "457b1b42764ef19c");
        let plain = JobKey {
            source: "imaps://user@mail.example.org/".into(),
            destination: "maildir:/home/user/Mail".into(),
            options: Vec::new(),
        };
        assert_eq!(plain.id(), "6db4c8a1e8590b1d");
    }
}
