//! IMAP servers, as a source and as a sink.
//!
//! Folder names are translated at the border: the server's names (modified
//! UTF-7, its own hierarchy delimiter) become mailtug's `/`-separated
//! names and back. Messages travel with LF line ends inside mailtug, like
//! messages read from local stores; CRLF is restored on APPEND.
//!
//! As a source, a folder is opened with EXAMINE (read-only; SELECT only when
//! messages are to be deleted) and searched for UIDs the checkpoint does not
//! cover. When dedup is on, only the Message-ID header and size of those are
//! fetched first, and bodies are downloaded only for messages the
//! destination lacks; bodies come in batches over UID sets with BODY.PEEK[],
//! which never sets \Seen.
//!
//! As a sink, APPENDs are pipelined with non-synchronizing literals when the
//! server offers them, and `commit` waits for every answer: a server OK is
//! the durability point, and a NO fails just that message.

pub mod client;
mod namespace;
#[cfg(test)]
mod scripted;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::{ControlFlow, RangeInclusive};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context, Result};

use crate::checkpoint::{Done, FolderProgress};
use crate::checkpoint::{FolderIdentity, IndexMark};
use crate::cli::Removal;
use crate::durable;
use crate::error::{MessageRejected, Refused};
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::DestinationKey;
use crate::message::{Flags, Form, Message, SourceKey};
use crate::report;
use crate::spool::{Listed, ListingSpool};
use crate::store::{
    Capabilities, Committed, Create, DestinationMessage, Fetched, FingerprintSet, FlagChange,
    FlagsNow, FolderStats, FolderStatus, Opened, Outbox, Rejection, Room, SingleFolder, Sink,
    Source, SourceOptions, Usage,
};

use client::{Appended, FolderState, ImapClient, ListedFolder, Resync, MAX_MESSAGE_SIZE};
pub use client::{AuthMechanism, Login};
use namespace::{Namespaces, Naming, Placed};

/// UIDs per header FETCH: keeps the command line well under server limits.
const META_CHUNK: usize = 1000;
/// UIDs whose sizes and Message-IDs are read before their bodies: the
/// window bounds what a fetch holds, whatever the folder's size.
const META_WINDOW: usize = 10 * META_CHUNK;
/// How long a destination folder must stay unchanged before a retry
/// indexes it (see `wait_until_quiet`)…
const QUIET_FOR: Duration = Duration::from_secs(2);
/// …and the longest wait for that.
const QUIET_WAIT_MAX: Duration = Duration::from_secs(60);
/// A body FETCH covers at most this many messages…
const BODY_CHUNK_MESSAGES: usize = 200;
/// …or this many bytes, so a batch is neither one round trip per message nor huge.
const BODY_CHUNK_BYTES: u64 = 16 * 1024 * 1024;

pub struct Imap {
    client: ImapClient,
    /// The server's namespaces, when it offers NAMESPACE.
    namespaces: Option<Namespaces>,
    /// How mailtug names map to server names (prefix, delimiter).
    naming: Naming,
    /// Server folders by mailtug name.
    folders: BTreeMap<FolderName, ListedFolder>,
    /// The folder named in the endpoint URL, if any: the only one used.
    only: Option<FolderName>,
    options: SourceOptions,
    source: Option<SourceFolder>,
    sink: Option<SinkFolder>,
    read_only: bool,
    /// Server folders already reported as renamed by [`name_folders`].
    renames_reported: BTreeSet<String>,
    /// Whether the folders left out as other users' or shared ones were
    /// reported (a sink lists again after each CREATE).
    left_out_reported: bool,
    /// Mirror: the destination folder selected read-write for flag changes
    /// and removals, and its PERMANENTFLAGS, so a batch after another does
    /// not select it again.
    writable: Option<(String, FolderState)>,
    /// The server drops `\Flagged` from APPEND (Microsoft 365): set it
    /// again with a STORE once the batch is in.
    reapply_flagged: bool,
}

struct SourceFolder {
    server_name: String,
    /// What the server said when it was opened.
    state: FolderState,
    /// UIDs to visit, found by `open`, ascending.
    pending: Vec<u32>,
    /// Mirror: the folder's flags, read on the first `flags_of`.
    flags: Option<FlagView>,
    /// Mirror: the HIGHESTMODSEQ of the last complete mirror of this folder
    /// instance, when CONDSTORE is on: only what changed since is read.
    changed_since: Option<u64>,
}

struct SinkFolder {
    server_name: String,
    /// Messages of the batch (by position) sent with `\Flagged`, to set it
    /// again where the server drops it on APPEND.
    flagged: Vec<usize>,
    /// Messages of the batch sent so far.
    sent: usize,
}

impl Imap {
    pub async fn connect(login: &Login, options: SourceOptions, read_only: bool) -> Result<Imap> {
        // Its errors name the server (`user@host:port`).
        let mut client = ImapClient::connect(login).await?;
        let only = match &login.remote.folder {
            Some(name) => Some(FolderName::parse(name)?),
            None => None,
        };
        let namespaces = client.namespaces().await?;
        let naming = Naming::new(namespaces.as_ref(), '/', options.all_namespaces);
        let mut imap = Imap {
            client,
            namespaces,
            naming,
            folders: BTreeMap::new(),
            only,
            options,
            source: None,
            sink: None,
            read_only,
            renames_reported: BTreeSet::new(),
            left_out_reported: false,
            writable: None,
            reapply_flagged: login.reapply_flagged,
        };
        imap.refresh_folders().await?;
        Ok(imap)
    }

    async fn refresh_folders(&mut self) -> Result<()> {
        let listed = self.client.list().await?;
        if let Some(delimiter) = listed.iter().find_map(|f| f.delimiter) {
            // NAMESPACE's delimiter, when given, wins over the listing's.
            self.naming = Naming::new(
                self.namespaces.as_ref(),
                delimiter,
                self.options.all_namespaces,
            );
        }
        let (folders, renamed, elsewhere) = name_folders(listed, &self.naming);
        if let Some(example) = elsewhere.first().filter(|_| !self.left_out_reported) {
            self.left_out_reported = true;
            report::info(&format!(
                "leaving out {} folders of other users' and shared namespaces (such as `{example}`); --all-namespaces includes them",
                elsewhere.len(),
            ));
        }
        for rename in renamed {
            // A sink lists again after each CREATE: say it once.
            if self.renames_reported.insert(rename.server_name.clone()) {
                report::warn(&format!(
                    "server folders `{}` and `{}` are both folder `{}`; copying `{}` as folder `{}`",
                    rename.kept_by,
                    rename.server_name,
                    rename.shared,
                    rename.server_name,
                    rename.name
                ));
            }
        }
        self.folders = folders;
        Ok(())
    }

    /// The server name of a mailtug folder: the listed one when it exists,
    /// else built with the server's delimiter and encoding.
    fn server_name(&self, folder: &FolderName) -> String {
        if let Some(listed) = self.folders.get(folder) {
            return listed.name.clone();
        }
        self.naming.server_name(folder)
    }

    /// Folders that hold messages (not `\Noselect` ones), limited to the
    /// endpoint's folder when its URL names one.
    pub fn selectable_folders(&self) -> Vec<FolderName> {
        self.folders
            .iter()
            .filter(|(name, listed)| {
                listed.selectable && self.only.as_ref().is_none_or(|only| only == *name)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// How many messages each of `folders` holds (STATUS), for starting the
    /// largest first.
    async fn server_weights(&mut self, folders: &[FolderName]) -> Result<HashMap<FolderName, u64>> {
        let named: Vec<(FolderName, String)> = folders
            .iter()
            .map(|folder| (folder.clone(), self.server_name(folder)))
            .collect();
        let server_names: Vec<String> = named.iter().map(|(_, name)| name.clone()).collect();
        let counts = self.client.message_counts(&server_names).await?;
        Ok(named
            .into_iter()
            .filter_map(|(folder, name)| counts.get(&name).map(|&n| (folder, u64::from(n))))
            .collect())
    }

    /// The UIDs of the open folder from `from` up to its UIDNEXT at opening,
    /// ascending, proven complete: a server's SEARCH that silently returns
    /// too little would make messages look copied or absent.
    ///
    /// Messages are numbered by ascending UID, so the messages listed must
    /// be the last ones of those the folder held when it was opened: the
    /// one just before them must have a UID below `from` (one FETCH, and
    /// none when the listing covers every message). Mail arriving meanwhile
    /// comes after them and is left for the next run. When the answer fails
    /// that check, the listing is asked for in other forms; when none
    /// agrees, the folder fails rather than be recorded on a wrong answer.
    async fn checked_uids(
        &mut self,
        server_name: &str,
        state: &FolderState,
        from: u32,
    ) -> Result<Vec<u32>> {
        // An explicit upper bound instead of `*`: `n:*` means `*:n` when n
        // is past the last UID (RFC 3501 §6.4.8), and some servers answer
        // it wrongly.
        let last = match state.uid_next {
            0 => "*".to_string(),
            uid_next => (uid_next - 1).max(1).to_string(),
        };
        let within = |uid: &u32| *uid >= from && (state.uid_next == 0 || *uid < state.uid_next);
        let forms = [
            format!("UID SEARCH UID {from}:{last}"),
            "UID SEARCH ALL".to_string(),
            format!("UID FETCH 1:{last} (UID)"),
        ];
        let mut answers = Vec::with_capacity(forms.len());
        for (index, form) in forms.iter().enumerate() {
            let mut uids = match index {
                0 => {
                    self.client
                        .uid_search(&format!("UID {from}:{last}"))
                        .await?
                }
                1 => self.client.uid_search("ALL").await?,
                _ => self.client.uids_by_fetch(&format!("1:{last}")).await?,
            };
            uids.retain(within);
            if self
                .is_complete_suffix(&uids, from, state.uid_next != 0)
                .await?
            {
                if index > 0 {
                    report::warn(&format!(
                        "folder `{server_name}`: the server's UID listing left out messages ({}); `{form}` agrees with its message count, so it is used",
                        answers.join(", ")
                    ));
                }
                return Ok(uids);
            }
            answers.push(format!("`{form}` gave {} UIDs", uids.len()));
        }
        // Scoped to this folder: as a destination it fails alone too.
        Err(Refused(format!(
            "folder `{server_name}`: the server's UID listings disagree with its message count of {} ({}); nothing is copied from it, so that no message is taken as copied or absent on a wrong answer",
            self.client.messages_since_open(),
            answers.join(", ")
        ))
        .into())
    }

    /// Whether `uids` (ascending, at least `from`) are all the messages of
    /// the open folder with a UID from `from`, counted against the messages
    /// it held when opened (`bounded`: the listing stopped at its UIDNEXT),
    /// else against those it holds now.
    async fn is_complete_suffix(&mut self, uids: &[u32], from: u32, bounded: bool) -> Result<bool> {
        let held = if bounded {
            self.client.messages_since_open()
        } else {
            self.client.exists()
        };
        let Some(before) = held.checked_sub(uids.len() as u32) else {
            return Ok(false);
        };
        if before == 0 {
            return Ok(true);
        }
        Ok(self
            .client
            .uid_at(before)
            .await?
            .is_some_and(|uid| uid < from))
    }

    /// Adds to `index` the fingerprints of the selected folder's messages
    /// with UID `from` or above: Message-ID headers first, whole bodies only
    /// for the few messages without one (their fingerprint hashes the
    /// body). Returns how many messages it indexed.
    ///
    /// Messages from UID `arrivals_from` on are also noted with their UIDs
    /// as arrivals ([`FingerprintSet::note_arrivals`]).
    async fn index_from(
        &mut self,
        server_name: &str,
        state: &FolderState,
        from: u32,
        index: &FingerprintSet,
        arrivals_from: Option<u32>,
    ) -> Result<u64> {
        let arrived = |uid: u32| arrivals_from.is_some_and(|first| uid >= first);
        if state.exists == 0 {
            return Ok(0);
        }
        let uids = self.checked_uids(server_name, state, from).await?;
        let mut indexed = 0;
        let mut without_id = Vec::new();
        for chunk in uids.chunks(META_CHUNK) {
            let mut fingerprints = Vec::with_capacity(chunk.len());
            let mut arrivals = Vec::new();
            self.client
                .uid_fetch(
                    chunk,
                    "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                    |fetch| {
                        let fingerprint = fetch.header().map(Fingerprint::of);
                        match (fetch.uid, fingerprint) {
                            (uid, Some(fp)) if fp.message_id().is_some() => {
                                if let Some(uid) = uid.filter(|&uid| arrived(uid)) {
                                    arrivals.push((fp.clone(), uid));
                                }
                                fingerprints.push(fp)
                            }
                            (Some(uid), _) => without_id.push(uid),
                            _ => {}
                        }
                        async { Ok(()) }
                    },
                )
                .await
                .with_context(|| format!("indexing folder `{server_name}`"))?;
            indexed += fingerprints.len() as u64;
            durable::blocking(|| {
                index.extend(&fingerprints)?;
                index.note_arrivals(&arrivals)
            })?;
        }
        for chunk in without_id.chunks(BODY_CHUNK_MESSAGES) {
            let mut fingerprints = Vec::with_capacity(chunk.len());
            let mut arrivals = Vec::new();
            self.client
                .uid_fetch(chunk, "(UID BODY.PEEK[])", |fetch| {
                    if let Some(body) = fetch.body() {
                        let fingerprint = Fingerprint::of(body);
                        if let Some(uid) = fetch.uid.filter(|&uid| arrived(uid)) {
                            arrivals.push((fingerprint.clone(), uid));
                        }
                        fingerprints.push(fingerprint);
                    }
                    async { Ok(()) }
                })
                .await
                .with_context(|| format!("indexing folder `{server_name}`"))?;
            indexed += fingerprints.len() as u64;
            durable::blocking(|| {
                index.extend(&fingerprints)?;
                index.note_arrivals(&arrivals)
            })?;
        }
        Ok(indexed)
    }
}

/// What an IMAP server can do: it keeps keywords by name, marks special-use
/// folders, knows messages by UID under a UIDVALIDITY, changes flags and
/// removes messages in place, and may still store what a dead connection
/// sent. `only`: the folder the URL names, which then takes every folder.
impl Imap {
    /// Selects destination folder `server_name` read-write for a mirror's
    /// changes, unless it is selected so already.
    async fn select_writable(&mut self, server_name: &str) -> Result<FolderState> {
        if let Some((name, state)) = &self.writable {
            if name == server_name {
                return Ok(state.clone());
            }
        }
        self.sink = None;
        let state = self.client.select(server_name).await?;
        self.writable = Some((server_name.to_string(), state.clone()));
        Ok(state)
    }

    /// Checks the UIDs a QRESYNC answer said vanished before any is taken
    /// as gone, since taking one as gone may remove its copy: a UID SEARCH
    /// and a UID FETCH over the whole set must both find none of them (two
    /// commands per folder, whatever the set). One the server still has is
    /// reported, taken out of the set, and answered with its flags as read
    /// now.
    async fn confirm_vanished(&mut self, server_name: &str, resync: &mut Resync) -> Result<()> {
        if resync.vanished.is_empty() {
            return Ok(());
        }
        let set = ranges_text(&resync.vanished);
        let mut still: Vec<u32> = self.client.uid_search(&format!("UID {set}")).await?;
        still.extend(self.client.uids_by_fetch(&set).await?);
        still.sort_unstable();
        still.dedup();
        if still.is_empty() {
            return Ok(());
        }
        report::warn(&format!(
            "folder `{server_name}`: the server reported {} messages as expunged that it still \
             holds (UIDs {}); they are kept",
            still.len(),
            client::uid_set(&still)
        ));
        for listed in self.read_flags(server_name, &still, None).await? {
            if let Ok(uid) = listed.key.parse::<u32>() {
                let text = String::from_utf8_lossy(&listed.place).to_string();
                resync
                    .changed
                    .push((uid, text.split_whitespace().map(str::to_string).collect()));
            }
        }
        resync.vanished = without(std::mem::take(&mut resync.vanished), &still);
        Ok(())
    }

    /// The flags of `uids` (only of those changed since `modseq`, given
    /// one), as spool entries keyed by [`uid_key`].
    async fn read_flags(
        &mut self,
        server_name: &str,
        uids: &[u32],
        modseq: Option<u64>,
    ) -> Result<Vec<Listed>> {
        let items = match modseq {
            Some(modseq) => format!("(UID FLAGS) (CHANGEDSINCE {modseq})"),
            None => "(UID FLAGS)".to_string(),
        };
        let mut listed = Vec::new();
        for chunk in uids.chunks(META_WINDOW) {
            self.client
                .uid_fetch(chunk, &items, |fetch| {
                    if let Some(uid) = fetch.uid {
                        let mut flags = Flags::default();
                        for flag in fetch.flags() {
                            flags.set_imap(&flag_name(&flag));
                        }
                        listed.push(Listed {
                            key: uid_key(uid),
                            place: flags.to_string().into_bytes(),
                        });
                    }
                    std::future::ready(Ok(()))
                })
                .await
                .with_context(|| format!("reading the flags of folder `{server_name}`"))?;
        }
        Ok(listed)
    }
}

/// What a mirror pass knows of the open folder's flags.
enum FlagView {
    /// Every message's flags, by [`uid_key`].
    Every(ListingSpool),
    /// Which UIDs are there now, and the flags of those changed since the
    /// last complete mirror (CONDSTORE or QRESYNC).
    Since {
        present: Presence,
        changed: HashMap<String, Flags>,
    },
}

/// Which messages a folder holds now.
enum Presence {
    /// Every UID, from a checked listing, ascending.
    Listed(Vec<u32>),
    /// All but these UIDs, vanished since the last complete mirror
    /// (QRESYNC); ascending, disjoint ranges.
    AllBut(Vec<RangeInclusive<u32>>),
}

impl Presence {
    fn holds(&self, uid: u32) -> bool {
        match self {
            Presence::Listed(uids) => uids.binary_search(&uid).is_ok(),
            Presence::AllBut(vanished) => {
                let after = vanished.partition_point(|range| *range.start() <= uid);
                !after
                    .checked_sub(1)
                    .is_some_and(|before| vanished[before].contains(&uid))
            }
        }
    }
}

/// `ranges` sorted and merged where they overlap or touch.
fn merged(mut ranges: Vec<RangeInclusive<u32>>) -> Vec<RangeInclusive<u32>> {
    ranges.sort_unstable_by_key(|range| *range.start());
    let mut out: Vec<RangeInclusive<u32>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last) if *range.start() <= last.end().saturating_add(1) => {
                if range.end() > last.end() {
                    *last = *last.start()..=*range.end();
                }
            }
            _ => out.push(range),
        }
    }
    out
}

/// `ranges` (ascending, disjoint) without the UIDs in `gone` (ascending).
fn without(ranges: Vec<RangeInclusive<u32>>, gone: &[u32]) -> Vec<RangeInclusive<u32>> {
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let (mut start, end) = (*range.start(), *range.end());
        let mut rest = true;
        let first = gone.partition_point(|&uid| uid < start);
        for &uid in gone[first..].iter().take_while(|&&uid| uid <= end) {
            if uid > start {
                out.push(start..=uid - 1);
            }
            match uid.checked_add(1) {
                Some(next) => start = next,
                None => rest = false,
            }
        }
        if rest && start <= end {
            out.push(start..=end);
        }
    }
    out
}

/// UID ranges as an IMAP set: `1:5,7`.
fn ranges_text(ranges: &[RangeInclusive<u32>]) -> String {
    ranges
        .iter()
        .map(|range| match range.start() == range.end() {
            true => range.start().to_string(),
            false => format!("{}:{}", range.start(), range.end()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn capabilities(only: Option<FolderName>) -> Capabilities {
    Capabilities {
        noun: "an IMAP server",
        single_folder: only.map(SingleFolder::Named),
        deletes_at_source: true,
        is_maildrop: false,
        form: Form::Wire,
        keeps_unnamed_keyword_letters: false,
        special_use: true,
        stable_message_keys: true,
        fingerprints_first: true,
        mirrors_from: true,
        updates_flags: true,
        deletes_at_destination: true,
        copies_within: true,
        has_other_writers: true,
    }
}

/// Reading a source folder's messages.
impl Imap {
    /// Downloads the bodies of `wanted` (UID and size), in batches.
    /// `Break` when the pipeline stopped listening.
    async fn download(
        &mut self,
        server_name: &str,
        wanted: &[(u32, u64)],
        form: Form,
        out: &Outbox,
    ) -> Result<ControlFlow<()>> {
        let mut start = 0;
        while start < wanted.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < wanted.len()
                && end - start < BODY_CHUNK_MESSAGES
                && (end == start || bytes + wanted[end].1 <= BODY_CHUNK_BYTES)
            {
                bytes += wanted[end].1;
                end += 1;
            }
            let batch = &wanted[start..end];
            start = end;
            let mut uids = Vec::with_capacity(batch.len());
            for &(uid, size) in batch {
                if size > MAX_MESSAGE_SIZE {
                    let failed = Fetched::Failed(
                        SourceKey::Uid(uid),
                        anyhow!(
                            "the message is {size} bytes, too large to download over IMAP here"
                        ),
                    );
                    if out.send(failed).await.is_err() {
                        return Ok(ControlFlow::Break(()));
                    }
                } else {
                    uids.push(uid);
                }
            }
            let closed = std::sync::atomic::AtomicBool::new(false);
            let seen = self
                .client
                .uid_fetch(&uids, "(UID FLAGS INTERNALDATE BODY.PEEK[])", |fetch| {
                    let item = fetch.uid.map(|uid| {
                        let key = SourceKey::Uid(uid);
                        match fetch.body() {
                            Some(body) => {
                                let mut flags = Flags::default();
                                for flag in fetch.flags() {
                                    flags.set_imap(&flag_name(&flag));
                                }
                                let date = fetch.internal_date().map(|d| {
                                    let secs = d.timestamp();
                                    if secs >= 0 {
                                        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
                                    } else {
                                        SystemTime::UNIX_EPOCH
                                    }
                                });
                                Fetched::Message(Message::from_server(key, body, form, flags, date))
                            }
                            None => Fetched::Failed(key, anyhow!("the server sent no body")),
                        }
                    });
                    let closed = &closed;
                    async move {
                        if let Some(item) = item {
                            if out.send(item).await.is_err() {
                                closed.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                        Ok(())
                    }
                })
                .await
                .with_context(|| format!("downloading messages in folder `{server_name}`"))?;
            if closed.into_inner() {
                return Ok(ControlFlow::Break(()));
            }
            for uid in uids.iter().filter(|uid| !seen.contains(uid)) {
                let failed = Fetched::Failed(
                    SourceKey::Uid(*uid),
                    anyhow!("the server did not send this message (deleted meanwhile, or refused)"),
                );
                if out.send(failed).await.is_err() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// As a source, folders are EXAMINEd (SELECTed to delete) and read by UID.
impl Source for Imap {
    fn capabilities(&self) -> Capabilities {
        capabilities(self.only.clone())
    }

    /// The folders a source reads: [`Imap::selectable_folders`], where a folder named
    /// in the URL that the server does not have is an error naming what it
    /// has (a source with nothing to read is not a quiet success).
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        let folders = self.selectable_folders();
        match &self.only {
            Some(only) if folders.is_empty() => {
                let names: Vec<&str> = self
                    .folders
                    .iter()
                    .filter(|(_, listed)| listed.selectable)
                    .map(|(name, _)| name.as_str())
                    .collect();
                Err(crate::suggest::missing_folder(
                    only.as_str(),
                    self.client.label(),
                    &names,
                ))
            }
            _ => Ok(folders),
        }
    }

    /// The RFC 6154 special use of a folder (`\Sent`…), if the server marks one.
    fn special_use(&self, folder: &FolderName) -> Option<&'static str> {
        self.folders.get(folder).and_then(|f| f.special_use)
    }

    async fn weights(&mut self, folders: &[FolderName]) -> HashMap<FolderName, u64> {
        self.server_weights(folders).await.unwrap_or_else(|e| {
            // Only the order of the folders depends on it.
            report::debug(&format!("no folder sizes from the server: {e:#}"));
            HashMap::new()
        })
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        let server_name = self.server_name(folder);
        // The last complete mirror of this folder: its UIDVALIDITY and
        // HIGHESTMODSEQ (see `mirror_stamp` below).
        let mirrored_at = progress.mirror_stamp.as_deref().and_then(|stamp| {
            let mut parts = stamp.split('.');
            Some((
                parts.next()?.parse::<u32>().ok()?,
                parts.next()?.parse::<u64>().ok()?,
            ))
        });
        if self.options.mirror && !self.client.enable_qresync().await? {
            self.client.enable_condstore().await?;
        }
        let writable = self.options.delete;
        let (state, mut resync) = match mirrored_at.filter(|_| self.options.mirror) {
            Some(since) => {
                self.client
                    .open_folder_since(&server_name, writable, since)
                    .await?
            }
            None if writable => (self.client.select(&server_name).await?, None),
            None => (self.client.examine(&server_name).await?, None),
        };
        if let Some(resync) = &mut resync {
            resync.vanished = merged(std::mem::take(&mut resync.vanished));
            self.confirm_vanished(&server_name, resync).await?;
            report::debug(&format!(
                "folder `{server_name}`: QRESYNC since modseq {}: {} changed, vanished: {}",
                mirrored_at.map_or(0, |(_, modseq)| modseq),
                resync.changed.len(),
                if resync.vanished.is_empty() {
                    "none".to_string()
                } else {
                    ranges_text(&resync.vanished)
                },
            ));
        }
        // What changed since the last complete mirror, when QRESYNC told.
        let resynced = resync.map(|resync| FlagView::Since {
            present: Presence::AllBut(resync.vanished),
            changed: resync
                .changed
                .into_iter()
                .map(|(uid, flags)| {
                    let mut now = Flags::default();
                    for flag in &flags {
                        now.set_imap(flag);
                    }
                    (uid_key(uid), now)
                })
                .collect(),
        });
        let identity = FolderIdentity::UidValidity {
            uid_validity: state.uid_validity,
        };
        let mut status = FolderStatus {
            identity: Some(identity.clone()),
            uid_next: Some(state.uid_next),
            // Any new message, expunge or flag change raises HIGHESTMODSEQ
            // (RFC 7162 §3.1.2); UIDNEXT and the count guard against a
            // server that forgets one.
            mirror_stamp: state.highest_modseq.map(|modseq| {
                format!(
                    "{}.{modseq}.{}.{}",
                    state.uid_validity, state.uid_next, state.exists
                )
            }),
            ..FolderStatus::default()
        };
        // The last complete mirror's HIGHESTMODSEQ, for this instance.
        let changed_since = mirrored_at
            .filter(|(uid_validity, _)| *uid_validity == state.uid_validity)
            .map(|(_, modseq)| modseq)
            .filter(|_| state.highest_modseq.is_some());
        if progress
            .identity
            .as_ref()
            .is_some_and(|recorded| *recorded != identity)
        {
            status.changed = Some(format!(
                "the UIDVALIDITY of folder `{folder}` changed, so its UIDs mean other messages now"
            ));
        }
        let (through, uid_next_seen) = match (&progress.done, &status.changed) {
            (
                Done::Uids {
                    through, uid_next, ..
                },
                None,
            ) => (*through, *uid_next),
            _ => (0, 0),
        };
        // Nothing new since a complete pass: skip without a single FETCH.
        if status.changed.is_none()
            && uid_next_seen != 0
            && uid_next_seen == state.uid_next
            && !self.options.delete
        {
            status.pending = Some(0);
            self.source = Some(SourceFolder {
                server_name,
                state,
                pending: Vec::new(),
                flags: resynced,
                changed_since,
            });
            return Ok(status);
        }
        let from = if self.options.delete {
            1
        } else {
            through.saturating_add(1)
        };
        let mut found = self.checked_uids(&server_name, &state, from).await?;
        let criteria = self.options.filters.imap_search();
        if !criteria.is_empty() && !found.is_empty() {
            let wanted: HashSet<u32> = self
                .client
                .uid_search(&format!("UID {}{criteria}", client::uid_set(&found)))
                .await?
                .into_iter()
                .collect();
            found.retain(|uid| wanted.contains(uid));
        }
        let mut pending = Vec::new();
        for uid in found {
            let key = SourceKey::Uid(uid);
            if progress.is_done(&key) && status.changed.is_none() {
                if self.options.delete {
                    // Stored in an earlier run that stopped before deleting.
                    status.done_but_present.push(key);
                }
            } else {
                pending.push(uid);
            }
        }
        status.pending = Some(pending.len() as u64);
        self.source = Some(SourceFolder {
            server_name,
            state,
            pending,
            flags: resynced,
            changed_since,
        });
        Ok(status)
    }

    async fn fetch(
        &mut self,
        _progress: &FolderProgress,
        known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        let dedup = self.options.dedup;
        let source = self.source.as_ref().context("no folder is open")?;
        let form = self.options.form;
        let server_name = source.server_name.clone();
        let pending = source.pending.clone();
        // 1. Sizes (and Message-IDs when deduplicating), without bodies.
        let items = if dedup {
            "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
        } else {
            "(UID RFC822.SIZE)"
        };
        // A window at a time, so what is held does not grow with the folder.
        for window in pending.chunks(META_WINDOW) {
            let mut wanted: Vec<(u32, u64)> = Vec::with_capacity(window.len());
            let mut duplicates: Vec<Fetched> = Vec::new();
            for chunk in window.chunks(META_CHUNK) {
                let mut meta: Vec<(u32, u64, Option<Fingerprint>)> =
                    Vec::with_capacity(chunk.len());
                let seen = self
                    .client
                    .uid_fetch(chunk, items, |fetch| {
                        if let Some(uid) = fetch.uid {
                            let fingerprint = fetch
                                .header()
                                .map(Fingerprint::of)
                                .filter(|f| f.message_id().is_some());
                            meta.push((uid, u64::from(fetch.size.unwrap_or(0)), fingerprint));
                        }
                        async { Ok(()) }
                    })
                    .await
                    .with_context(|| format!("reading message sizes in folder `{server_name}`"))?;
                if seen.is_empty() {
                    // A refused FETCH looks empty; messages do not all vanish at once.
                    return Err(anyhow!(
                        "the server returned none of {} messages asked for in folder \
                         `{server_name}`",
                        chunk.len()
                    ));
                }
                meta.sort_unstable_by_key(|m| m.0);
                // Mirror: which of the new ones another folder of the
                // destination holds, asked for the chunk at once.
                // RFC822.SIZE counts CRLF line ends, as `wire_size` does.
                let held: Vec<bool> = meta
                    .iter()
                    .map(|(_, _, fp)| fp.as_ref().is_some_and(|fp| known.contains(fp)))
                    .collect();
                let new: Vec<(Fingerprint, u64)> = meta
                    .iter()
                    .zip(&held)
                    .filter(|(_, &held)| !held)
                    .filter_map(|((_, size, fp), _)| Some((fp.clone()?, *size)))
                    .collect();
                let mut elsewhere = known.held_elsewhere(new).await?.into_iter();
                for ((uid, size, fingerprint), held) in meta.into_iter().zip(held) {
                    let key = SourceKey::Uid(uid);
                    match fingerprint {
                        Some(fp) if held => duplicates.push(Fetched::Duplicate(key, fp)),
                        Some(fp) if elsewhere.next().unwrap_or(false) => {
                            duplicates.push(Fetched::Elsewhere(key, fp, size))
                        }
                        _ => wanted.push((uid, size)),
                    }
                }
            }
            for item in duplicates {
                if out.send(item).await.is_err() {
                    return Ok(());
                }
            }
            if self
                .download(&server_name, &wanted, form, out)
                .await?
                .is_break()
            {
                return Ok(());
            }
        }
        Ok(())
    }
    async fn stats(&mut self) -> Result<FolderStats> {
        let source = self.source.as_ref().context("no folder is open")?;
        let (server_name, state) = (source.server_name.clone(), source.state.clone());
        let uids = self.checked_uids(&server_name, &state, 1).await?;
        let mut bytes = 0u64;
        for chunk in uids.chunks(META_CHUNK) {
            self.client
                .uid_fetch(chunk, "(UID RFC822.SIZE)", |fetch| {
                    bytes += u64::from(fetch.size.unwrap_or(0));
                    async { Ok(()) }
                })
                .await?;
        }
        Ok(FolderStats {
            messages: uids.len() as u64,
            bytes,
        })
    }

    /// Every fingerprint of a folder, read-only, from headers (bodies only
    /// for messages without a Message-ID).
    async fn index(&mut self, folder: &FolderName) -> Result<Option<Vec<Fingerprint>>> {
        let server_name = self.server_name(folder);
        let state = self.client.examine(&server_name).await?;
        let index = FingerprintSet::new()?;
        self.index_from(&server_name, &state, 1, &index, None)
            .await?;
        index.to_vec().map(Some)
    }

    /// Reads the folder's flags once per pass, and answers from that. A
    /// checked UID listing first, so a message missing from it is truly
    /// gone. Then, with CONDSTORE and the HIGHESTMODSEQ of the last complete
    /// mirror, only what changed since (`UID FETCH (UID FLAGS) (CHANGEDSINCE
    /// m)`, RFC 7162): the work follows the changes. Otherwise the flags of
    /// every message, in chunks, into a spool.
    async fn flags_of(&mut self, keys: &[SourceKey]) -> Result<Vec<FlagsNow>> {
        let source = self.source.as_ref().context("no folder is open")?;
        if source.flags.is_none() {
            let (server_name, state) = (source.server_name.clone(), source.state.clone());
            let since = source.changed_since;
            let uids = self.checked_uids(&server_name, &state, 1).await?;
            let view = match since {
                Some(modseq) => {
                    let changed = self.read_flags(&server_name, &uids, Some(modseq)).await?;
                    report::debug(&format!(
                        "folder `{server_name}`: {} of {} messages changed since modseq {modseq}",
                        changed.len(),
                        uids.len()
                    ));
                    FlagView::Since {
                        present: Presence::Listed(uids),
                        changed: changed
                            .into_iter()
                            .map(|l| (l.key, Flags::from_imap(&String::from_utf8_lossy(&l.place))))
                            .collect(),
                    }
                }
                None => {
                    let mut spool = ListingSpool::new()?;
                    for chunk in uids.chunks(META_WINDOW) {
                        let listed = self.read_flags(&server_name, chunk, None).await?;
                        durable::blocking(|| spool.list(listed))?;
                    }
                    durable::blocking(|| spool.sort())?;
                    FlagView::Every(spool)
                }
            };
            self.source.as_mut().expect("open").flags = Some(view);
        }
        let view = self
            .source
            .as_ref()
            .and_then(|s| s.flags.as_ref())
            .expect("read above");
        let wanted: Vec<String> = keys
            .iter()
            .map(|key| match key {
                SourceKey::Uid(uid) => uid_key(*uid),
                other => other.to_string(),
            })
            .collect();
        match view {
            FlagView::Every(spool) => {
                let found = durable::blocking(|| spool.find(&wanted))?;
                Ok(found
                    .into_iter()
                    .map(|listed| {
                        listed
                            .map(|l| Flags::from_imap(&String::from_utf8_lossy(&l.place)))
                            .into()
                    })
                    .collect())
            }
            FlagView::Since { present, changed } => {
                let now: Vec<FlagsNow> = keys
                    .iter()
                    .zip(&wanted)
                    .map(|(key, wanted)| match (key, changed.get(wanted)) {
                        (_, Some(flags)) => FlagsNow::Are(flags.clone()),
                        (SourceKey::Uid(uid), None) if present.holds(*uid) => FlagsNow::Unchanged,
                        _ => FlagsNow::Gone,
                    })
                    .collect();
                Ok(now)
            }
        }
    }

    /// Removes messages that are stored at the destination and recorded in
    /// the checkpoint (`--delete-source`).
    async fn delete(&mut self, keys: &[SourceKey]) -> Result<()> {
        let uids: Vec<u32> = keys
            .iter()
            .filter_map(|k| match k {
                SourceKey::Uid(uid) => Some(*uid),
                _ => None,
            })
            .collect();
        self.client.delete_uids(&uids).await
    }

    async fn close(self) {
        self.client.logout().await;
    }
}

/// As a sink, APPENDs are pipelined and `commit` waits for their answers.
impl Sink for Imap {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // The copies are named by COPYUID.
            copies_within: self.client.has("UIDPLUS"),
            ..capabilities(self.only.clone())
        }
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        Ok(self.selectable_folders())
    }

    /// Whether the server listed `folder` as one that can hold messages.
    fn holds(&self, folder: &FolderName) -> bool {
        self.folders
            .get(folder)
            .is_some_and(|listed| listed.selectable)
    }

    /// Known from the listing: a folder under one marked `\Noinferiors`,
    /// or a name the server lists as a mere level (`\Noselect`).
    fn refuses(&self, folder: &FolderName) -> Option<String> {
        refusal(&self.folders, folder)
    }

    fn append_limit(&self) -> Option<u64> {
        self.client.append_limit()
    }

    /// The quota of INBOX's root (RFC 9208), the one new folders share on
    /// the servers seen; the tightest root when there are several.
    async fn room(&mut self) -> Result<Option<Room>> {
        let roots = self.client.quota_roots("INBOX").await?;
        let usage = |(used, limit): (u64, u64), unit: u64| Usage {
            used: used.saturating_mul(unit),
            limit: limit.saturating_mul(unit),
        };
        let rooms = roots.into_iter().map(|quota| Room {
            limited_by: format!("quota `{}`", quota.root),
            bytes: quota.storage.map(|s| usage(s, 1024)),
            messages: quota.messages.map(|m| usage(m, 1)),
        });
        Ok(rooms.min_by_key(|room| room.bytes.map_or(u64::MAX, |b| b.left())))
    }

    /// The folder the server marks with `special_use`, if any.
    fn special_folder(&self, special_use: &str) -> Option<FolderName> {
        self.folders
            .iter()
            .find(|(_, f)| f.special_use == Some(special_use) && f.selectable)
            .map(|(name, _)| name.clone())
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        cached: Option<IndexMark>,
        index: &FingerprintSet,
    ) -> Result<Option<Opened>> {
        self.sink = None;
        self.writable = None;
        // A `\Noselect` folder (Courier lists an implicit parent so, made
        // when a subfolder was created first) needs a CREATE to hold mail.
        if !self.holds(folder) {
            let Create::Yes(special_use) = create else {
                return Ok(None);
            };
            if self.read_only {
                return Ok(None);
            }
            // A use the destination has no folder for yet goes to this one.
            let special_use = special_use.filter(|&u| self.special_folder(u).is_none());
            let server_name = self.server_name(folder);
            self.client.create(&server_name, special_use).await?;
            self.refresh_folders().await?;
        }
        let server_name = self.server_name(folder);
        let state = self.client.examine(&server_name).await?;
        // A cache of the same folder instance covers every UID below its
        // UIDNEXT: only newer messages need their headers fetched. If the
        // counts do not add up, messages were expunged since, and a cached
        // fingerprint could claim a message that is gone: index it all again.
        match cached {
            Some(mark)
                if mark.uid_validity == state.uid_validity && mark.uid_next <= state.uid_next =>
            {
                // What arrived since the last index, with UIDs: maybe what
                // a killed run stored without recording it.
                let arrivals = Some(mark.uid_next.max(1));
                let newer = self
                    .index_from(&server_name, &state, mark.uid_next.max(1), index, arrivals)
                    .await?;
                if mark.messages + newer != u64::from(state.exists) {
                    report::debug(&format!(
                        "folder `{server_name}` lost messages since it was indexed; indexing it again"
                    ));
                    durable::blocking(|| index.clear())?;
                    self.index_from(&server_name, &state, 1, index, arrivals)
                        .await?;
                }
            }
            _ => {
                durable::blocking(|| index.clear())?;
                self.index_from(&server_name, &state, 1, index, None)
                    .await?;
            }
        }
        // Courier refuses APPEND into a folder selected read-only.
        self.client.leave_read_only().await?;
        self.sink = Some(SinkFolder {
            server_name,
            flagged: Vec::new(),
            sent: 0,
        });
        Ok(Some(Opened {
            cache: Some(IndexMark {
                uid_validity: state.uid_validity,
                uid_next: state.uid_next,
                messages: u64::from(state.exists),
            }),
        }))
    }

    async fn append(&mut self, message: Message) -> Result<()> {
        let sink = self.sink.as_mut().context("no folder is open")?;
        let flags = message.flags.to_imap();
        if message.flags.flagged {
            sink.flagged.push(sink.sent);
        }
        sink.sent += 1;
        let date = message.internal_date;
        let key = message.key.clone();
        let raw = message.into_wire_bytes();
        self.client
            .append(&sink.server_name, &flags, date, raw)
            .await
            .with_context(|| format!("appending {key} to folder `{}`", sink.server_name))?;
        Ok(())
    }

    async fn commit(&mut self) -> Result<Committed> {
        if self.sink.is_none() {
            return Ok(Committed::default());
        }
        let answers = self.client.finish_appends().await?;
        let mut committed = Committed::default();
        let mut throttled = None;
        for (index, answer) in answers.into_iter().enumerate() {
            match answer {
                Appended::Rejected(text) => {
                    throttled = throttled.or_else(|| crate::throttle::later(&text));
                    committed.rejections.push(Rejection {
                        index,
                        error: MessageRejected(text).into(),
                    })
                }
                Appended::Stored(uids) => {
                    if let Some(&uid) = uids.first() {
                        committed.stored.push((index, DestinationKey::Uid(uid)));
                    }
                }
            }
        }
        // Messages refused because the account is throttled are not bad
        // messages: the whole batch goes again after the wait (those the
        // server stored meanwhile are then found there and not sent twice).
        if let Some(e) = throttled {
            return Err(e.context("storing messages"));
        }
        let sink = self.sink.as_mut().expect("checked above");
        let flagged = std::mem::take(&mut sink.flagged);
        sink.sent = 0;
        if self.reapply_flagged {
            let uids: Vec<u32> = committed
                .stored
                .iter()
                .filter(|(index, _)| flagged.contains(index))
                .filter_map(|(_, key)| match key {
                    DestinationKey::Uid(uid) => Some(*uid),
                    _ => None,
                })
                .collect();
            if !uids.is_empty() {
                let server_name = sink.server_name.clone();
                report::debug(&format!(
                    "setting \\Flagged again on {} messages of `{server_name}`, which the \
                     server drops on APPEND",
                    uids.len()
                ));
                // SELECT, not the examined state the sink keeps: APPEND
                // needs no selected folder, and a STORE needs it writable.
                let state = self.client.select(&server_name).await?;
                self.writable = Some((server_name.clone(), state));
                self.client
                    .store_flags(&uids, "+FLAGS.SILENT (\\Flagged)")
                    .await
                    .with_context(|| format!("setting \\Flagged again in `{server_name}`"))?;
            }
        }
        Ok(committed)
    }

    /// Waits until `folder`'s UIDNEXT and message count stay the same for
    /// `QUIET_FOR`. A server finishes the commands a dead connection had
    /// already sent: its last APPENDs may be stored after we reconnect, and
    /// indexing the folder before they are would let the retry store them a
    /// second time. Bounded by `QUIET_WAIT_MAX`, after which the index is
    /// taken as it is.
    async fn wait_until_quiet(&mut self, folder: &FolderName) -> Result<()> {
        if !self.folders.contains_key(folder) {
            return Ok(());
        }
        let server_name = self.server_name(folder);
        let started = tokio::time::Instant::now();
        let mut last = self.client.status(&server_name).await?;
        loop {
            tokio::time::sleep(QUIET_FOR).await;
            let now = self.client.status(&server_name).await?;
            if now == last {
                return Ok(());
            }
            if started.elapsed() >= QUIET_WAIT_MAX {
                report::warn(&format!(
                    "folder `{server_name}` is still changing; indexing it anyway"
                ));
                return Ok(());
            }
            report::debug(&format!(
                "folder `{server_name}` is still changing (UIDNEXT {} -> {}); waiting",
                last.uid_next, now.uid_next
            ));
            last = now;
        }
    }

    /// What each message gained and lost, as one `UID STORE` per distinct
    /// change: a thousand messages marked read cost one command. Only
    /// flags the folder keeps (PERMANENTFLAGS) are sent. A UID the folder
    /// no longer holds is passed over by the server without a word.
    async fn set_flags(
        &mut self,
        folder: &FolderName,
        changes: &[FlagChange],
    ) -> Result<Vec<Result<()>>> {
        let server_name = self.server_name(folder);
        let state = self.select_writable(&server_name).await?;
        let words = |flags: &Flags| -> BTreeSet<String> {
            flags
                .to_imap()
                .into_iter()
                .filter(|flag| client::is_atom(flag) && state.keeps(flag))
                .collect()
        };
        // (added, removed, replaced) → indexes of the changes.
        type Delta = (Vec<String>, Vec<String>, Option<Vec<String>>);
        let mut groups: BTreeMap<Delta, Vec<usize>> = BTreeMap::new();
        let mut results: Vec<Result<()>> = Vec::with_capacity(changes.len());
        for (index, change) in changes.iter().enumerate() {
            let DestinationKey::Uid(_) = change.key else {
                results.push(Err(anyhow!("{} is not a UID", change.key)));
                continue;
            };
            results.push(Ok(()));
            let now = words(&change.now);
            let delta = match &change.was {
                Some(was) => {
                    let was = words(was);
                    (
                        now.difference(&was).cloned().collect(),
                        was.difference(&now).cloned().collect(),
                        None,
                    )
                }
                // Nothing recorded to compare with: the whole set.
                None => (Vec::new(), Vec::new(), Some(now.into_iter().collect())),
            };
            groups.entry(delta).or_default().push(index);
        }
        for ((added, removed, replaced), indexes) in groups {
            let uids: Vec<u32> = indexes
                .iter()
                .filter_map(|&i| match changes[i].key {
                    DestinationKey::Uid(uid) => Some(uid),
                    _ => None,
                })
                .collect();
            let mut stores = Vec::new();
            if let Some(all) = replaced {
                stores.push(format!("FLAGS.SILENT ({})", all.join(" ")));
            }
            if !added.is_empty() {
                stores.push(format!("+FLAGS.SILENT ({})", added.join(" ")));
            }
            if !removed.is_empty() {
                stores.push(format!("-FLAGS.SILENT ({})", removed.join(" ")));
            }
            for store in stores {
                if let Err(e) = self.client.store_flags(&uids, &store).await {
                    let text = format!("{e:#}");
                    for &i in &indexes {
                        results[i] = Err(anyhow!("{text}"));
                    }
                    break;
                }
            }
        }
        Ok(results)
    }

    /// `\Deleted` and `UID EXPUNGE` of exactly these UIDs, or a move into
    /// the Trash folder (its special use, else `Trash`, made if missing).
    async fn remove(
        &mut self,
        folder: &FolderName,
        messages: &[DestinationMessage],
        how: Removal,
    ) -> Result<Vec<Result<()>>> {
        let keys: Vec<&DestinationKey> = messages.iter().map(|m| &m.key).collect();
        let uids = destination_uids(keys.iter().copied());
        let trash = match how {
            Removal::Expunge => None,
            Removal::Trash => {
                let trash = match self.special_folder("\\Trash") {
                    Some(trash) => trash,
                    None => {
                        let trash = FolderName::parse("Trash").expect("a folder name");
                        if !self.holds(&trash) {
                            let name = self.server_name(&trash);
                            self.client.create(&name, Some("\\Trash")).await?;
                            self.refresh_folders().await?;
                        }
                        trash
                    }
                };
                Some(self.server_name(&trash))
            }
        };
        let server_name = self.server_name(folder);
        self.select_writable(&server_name).await?;
        let done = match &trash {
            None => self.client.delete_uids(&uids).await,
            Some(trash) => self.client.move_uids(&uids, trash).await,
        };
        let text = done.err().map(|e| format!("{e:#}"));
        Ok(keys
            .iter()
            .map(|key| match (key, &text) {
                (DestinationKey::Uid(_), None) => Ok(()),
                (DestinationKey::Uid(_), Some(text)) => Err(anyhow!("{text}")),
                (other, _) => Err(anyhow!("{other} is not a UID")),
            })
            .collect())
    }

    /// UID COPY from `from` into the open folder; the new UIDs come from
    /// COPYUID. `from` is opened read-only and left again, so the open
    /// folder still takes APPENDs on servers that refuse them meanwhile.
    async fn copy_in(
        &mut self,
        from: &FolderName,
        keys: &[DestinationKey],
    ) -> Result<Vec<Result<DestinationKey>>> {
        let target = self
            .sink
            .as_ref()
            .context("no destination folder is open")?
            .server_name
            .clone();
        let uids = destination_uids(keys);
        let server_name = self.server_name(from);
        self.writable = None;
        let copied = match self.client.examine(&server_name).await {
            Ok(_) => self.client.copy_uids(&uids, &target).await,
            Err(e) => Err(e),
        };
        self.client.leave_read_only().await?;
        let copies = match copied {
            Ok(copies) => copies,
            // The folder or its messages are not there: each copy fails,
            // and its message is read from the source another time.
            Err(e) if crate::error::is_refused(&e) => {
                let text = format!("{e:#}");
                return Ok(keys.iter().map(|_| Err(anyhow!("{text}"))).collect());
            }
            Err(e) => return Err(e),
        };
        Ok(keys
            .iter()
            .map(|key| match key {
                DestinationKey::Uid(uid) => copies
                    .get(uid)
                    .map(|copy| DestinationKey::Uid(*copy))
                    .ok_or_else(|| anyhow!("UID {uid} is no longer in folder `{from}`")),
                other => Err(anyhow!("{other} is not a UID")),
            })
            .collect())
    }

    async fn close(self) {
        self.client.logout().await;
    }
}

/// The key of a UID in a spool: zero-padded, so text order is UID order.
/// The UIDs among destination keys (an IMAP destination names its
/// messages by nothing else).
fn destination_uids<'a>(keys: impl IntoIterator<Item = &'a DestinationKey>) -> Vec<u32> {
    keys.into_iter()
        .filter_map(|key| match key {
            DestinationKey::Uid(uid) => Some(*uid),
            _ => None,
        })
        .collect()
}

fn uid_key(uid: u32) -> String {
    format!("{uid:010}")
}

/// The IMAP spelling of a flag from async-imap.
pub(super) fn flag_name(flag: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(name) => name.to_string(),
    }
}

/// Special-use attributes, in the order folders are matched.
pub const SPECIAL_USES: [&str; 5] = ["\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"];

/// A server folder that shares its mailtug name with another and got a
/// name of its own.
#[derive(Debug, PartialEq, Eq)]
struct Renamed {
    server_name: String,
    /// The server folder that keeps the shared name.
    kept_by: String,
    shared: FolderName,
    name: FolderName,
}

/// Mailtug names for the listed server folders, a distinct one for each.
///
/// Two server names can map to one mailtug name: a `/` inside a hierarchy
/// level becomes `_`, so `a/b` (one level) and `a_b` are both `a_b`; empty
/// levels are dropped, so `x.` is `x`. Neither may silently replace the
/// other. The shared name goes to a selectable folder before a `\Noselect`
/// one, then to the folder whose server name mailtug would build from it
/// (`a_b`, not `a/b`), then to the first in server-name order; each other
/// one gets the first free `~N` suffix (N from 2), in server-name order.
/// Names shared by no other folder never change, and the same listing gives
/// the same names on every run. The renamed selectable folders are returned
/// for a warning, and the selectable folders of other users' and shared
/// namespaces that were left out (see [`Naming::place`]) for a note.
fn name_folders(
    listed: Vec<ListedFolder>,
    naming: &Naming,
) -> (
    BTreeMap<FolderName, ListedFolder>,
    Vec<Renamed>,
    Vec<String>,
) {
    let mut groups: BTreeMap<FolderName, Vec<ListedFolder>> = BTreeMap::new();
    let mut elsewhere = Vec::new();
    for folder in listed {
        match naming.place(&folder.name) {
            Placed::Named(name) => groups.entry(name).or_default().push(folder),
            Placed::Elsewhere if folder.selectable => elsewhere.push(folder.name),
            Placed::Elsewhere => {}
        }
    }
    let mut named = BTreeMap::new();
    let mut renamed = Vec::new();
    let mut crowded = Vec::new();
    for (name, mut group) in groups {
        if group.len() == 1 {
            named.insert(name, group.remove(0));
            continue;
        }
        let built = naming.server_name(&name);
        group.sort_by(|a, b| {
            (!a.selectable, a.name != built, &a.name).cmp(&(
                !b.selectable,
                b.name != built,
                &b.name,
            ))
        });
        let rest = group.split_off(1);
        let keeper = group.remove(0);
        crowded.push((name.clone(), keeper.name.clone(), rest));
        named.insert(name, keeper);
    }
    // Suffixes only once every unshared name is taken, so that none of
    // those changes.
    for (shared, kept_by, rest) in crowded {
        let mut n = 2;
        for folder in rest {
            let name = loop {
                let candidate = FolderName::parse(&format!("{shared}~{n}"))
                    .expect("a canonical name with a suffix is canonical");
                n += 1;
                if !named.contains_key(&candidate) {
                    break candidate;
                }
            };
            if folder.selectable {
                renamed.push(Renamed {
                    server_name: folder.name.clone(),
                    kept_by: kept_by.clone(),
                    shared: shared.clone(),
                    name: name.clone(),
                });
            }
            named.insert(name, folder);
        }
    }
    (named, renamed, elsewhere)
}

/// Why a server whose listing is `folders` would refuse to create
/// `folder`, when its listing tells.
fn refusal(folders: &BTreeMap<FolderName, ListedFolder>, folder: &FolderName) -> Option<String> {
    if let Some(listed) = folders.get(folder) {
        return (!listed.selectable).then(|| {
            format!(
                "the server lists `{}` as a level of its hierarchy that cannot hold messages (\\Noselect)",
                listed.name
            )
        });
    }
    let components: Vec<&str> = folder.components().collect();
    (1..components.len()).find_map(|depth| {
        let ancestor = FolderName::from_components(&components[..depth]).ok()?;
        let listed = folders.get(&ancestor)?;
        listed.childless.then(|| {
            format!(
                "the server does not allow folders under `{}` (\\Noinferiors)",
                listed.name
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scripted::{login_steps, Step};

    const CAPABILITIES: &str = "* CAPABILITY IMAP4rev1 UIDPLUS NAMESPACE\r\n$TAG OK done\r\n";
    /// A folder of 40 messages, UIDs 1 to 40.
    const EXAMINE_40: Step = (
        "EXAMINE",
        "* 40 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 41] ok\r\n$TAG OK [READ-ONLY] done\r\n",
    );
    const NOOP: Step = ("NOOP", "$TAG OK done\r\n");
    const ALL_40: &str = "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40\r\n$TAG OK done\r\n";

    /// Connects to a scripted server that lists INBOX only, then plays `steps`.
    async fn session(steps: Vec<Step>) -> (Result<Imap>, tokio::task::JoinHandle<Vec<String>>) {
        let mut script = login_steps(CAPABILITIES);
        script.push((
            "NAMESPACE",
            "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n$TAG OK done\r\n",
        ));
        script.push(("LIST", "* LIST () \".\" INBOX\r\n$TAG OK done\r\n"));
        script.push(NOOP);
        script.extend(steps);
        let (port, server) = scripted::serve(script).await;
        let imap = Imap::connect(&scripted::login(port), SourceOptions::default(), true).await;
        (imap, server)
    }

    #[tokio::test]
    async fn a_search_that_leaves_out_messages_is_caught_and_another_form_used() {
        let (imap, server) = session(vec![
            EXAMINE_40,
            // The wrong answer: nothing, though the folder holds 40 messages.
            ("UID SEARCH UID 1:40", "* SEARCH\r\n$TAG OK done\r\n"),
            NOOP,
            // The check: message 40 has a UID in the range, so the answer was short.
            ("FETCH 40 (UID)", "* 40 FETCH (UID 40)\r\n$TAG OK done\r\n"),
            ("UID SEARCH ALL", ALL_40),
            NOOP,
        ])
        .await;
        let mut imap = imap.unwrap();
        let status = Source::open(&mut imap, &FolderName::inbox(), &FolderProgress::default())
            .await
            .unwrap();
        assert_eq!(status.pending, Some(40));
        drop(imap);
        let seen = server.await.unwrap();
        assert!(
            seen.iter().any(|c| c.starts_with("UID SEARCH ALL")),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn an_incremental_listing_is_checked_with_the_message_before_it() {
        // UIDs 1-30 are done; 31-40 are new and the server lists them right.
        let progress = FolderProgress {
            identity: Some(FolderIdentity::UidValidity { uid_validity: 7 }),
            done: Done::Uids {
                through: 30,
                above: BTreeSet::new(),
                uid_next: 31,
            },
            ..FolderProgress::default()
        };
        let (imap, server) = session(vec![
            EXAMINE_40,
            (
                "UID SEARCH UID 31:40",
                "* SEARCH 31 32 33 34 35 36 37 38 39 40\r\n$TAG OK done\r\n",
            ),
            NOOP,
            ("FETCH 30 (UID)", "* 30 FETCH (UID 30)\r\n$TAG OK done\r\n"),
        ])
        .await;
        let mut imap = imap.unwrap();
        let status = Source::open(&mut imap, &FolderName::inbox(), &progress)
            .await
            .unwrap();
        assert_eq!(status.pending, Some(10));
        drop(imap);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_folder_no_listing_agrees_on_fails_instead_of_being_taken_as_empty() {
        let (imap, server) = session(vec![
            EXAMINE_40,
            ("UID SEARCH UID 1:40", "* SEARCH\r\n$TAG OK done\r\n"),
            NOOP,
            ("FETCH 40 (UID)", "* 40 FETCH (UID 40)\r\n$TAG OK done\r\n"),
            ("UID SEARCH ALL", "* SEARCH 1 2 3\r\n$TAG OK done\r\n"),
            NOOP,
            ("FETCH 37 (UID)", "* 37 FETCH (UID 37)\r\n$TAG OK done\r\n"),
            ("UID FETCH 1:40 (UID)", "$TAG OK done\r\n"),
            NOOP,
            ("FETCH 40 (UID)", "* 40 FETCH (UID 40)\r\n$TAG OK done\r\n"),
        ])
        .await;
        let mut imap = imap.unwrap();
        let err = Source::open(&mut imap, &FolderName::inbox(), &FolderProgress::default())
            .await
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("disagree with its message count of 40")
                && text.contains("`UID SEARCH ALL` gave 3 UIDs"),
            "{text}"
        );
        drop(imap);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_destination_folder_is_created_with_its_use_and_left_before_appending() {
        let mut script = login_steps(
            "* CAPABILITY IMAP4rev1 CREATE-SPECIAL-USE SPECIAL-USE\r\n$TAG OK done\r\n",
        );
        script.extend([
            ("LIST", "* LIST () \"/\" INBOX\r\n$TAG OK done\r\n"),
            NOOP,
            ("CREATE \"Sent\" (USE (\\Sent))", "$TAG OK done\r\n"),
            ("SUBSCRIBE", "$TAG OK done\r\n"),
            (
                "LIST",
                "* LIST () \"/\" INBOX\r\n* LIST (\\Sent) \"/\" Sent\r\n$TAG OK done\r\n",
            ),
            NOOP,
            (
                "EXAMINE",
                "* 0 EXISTS\r\n* OK [UIDVALIDITY 3] ok\r\n* OK [UIDNEXT 1] ok\r\n$TAG OK [READ-ONLY] done\r\n",
            ),
            // Courier refuses APPEND while the folder is selected read-only;
            // without UNSELECT, CLOSE leaves it (and expunges nothing).
            ("CLOSE", "$TAG OK done\r\n"),
        ]);
        let (port, server) = scripted::serve(script).await;
        let mut imap = Imap::connect(&scripted::login(port), SourceOptions::default(), false)
            .await
            .unwrap();
        let sent = FolderName::parse("Sent").unwrap();
        let opened = crate::store::open_unindexed(&mut imap, &sent, Create::Yes(Some("\\Sent")))
            .await
            .unwrap();
        assert!(opened.is_some());
        assert_eq!(imap.special_folder("\\Sent"), Some(sent));
        drop(imap);
        let seen = server.await.unwrap();
        assert_eq!(seen.last().map(String::as_str), Some("CLOSE"), "{seen:?}");
    }

    #[tokio::test]
    async fn names_sent_as_literals_keep_their_backslashes_and_the_prefix_goes() {
        let mut script = login_steps(CAPABILITIES);
        script.push((
            "NAMESPACE",
            "* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"shared.\" \".\"))\r\n$TAG OK done\r\n",
        ));
        script.push((
            "LIST",
            "* LIST (\\HasChildren) \".\" INBOX\r\n\
             * LIST () \".\" {16}\r\nINBOX.back\\slash\r\n\
             * LIST () \".\" \"INBOX.Sp ace \\\"q\\\"\"\n\
             * LIST () \".\" \"shared.team\"\r\n\
             $TAG OK done\r\n",
        ));
        script.push(NOOP);
        let (port, server) = scripted::serve(script).await;
        let imap = Imap::connect(&scripted::login(port), SourceOptions::default(), true)
            .await
            .unwrap();
        let names: Vec<String> = imap
            .selectable_folders()
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(names, ["INBOX", "Sp ace \"q\"", "back\\slash"]);
        assert_eq!(
            imap.server_name(&FolderName::parse("back\\slash").unwrap()),
            "INBOX.back\\slash"
        );
        assert_eq!(
            imap.server_name(&FolderName::parse("New/Sub").unwrap()),
            "INBOX.New.Sub"
        );
        drop(imap);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_qresync_open_reads_every_change_and_checks_what_vanished() {
        // 150 changed messages: more than async-imap's unsolicited queue
        // holds, so they must be read as the open's own answer.
        let mut examine = String::from(
            "* 300 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 401] ok\r\n\
             * OK [HIGHESTMODSEQ 900] ok\r\n* VANISHED (EARLIER) 5,7:9,350\r\n",
        );
        for uid in 101..=250 {
            examine.push_str(&format!(
                "* {} FETCH (UID {uid} FLAGS (\\Seen $Later) MODSEQ (850))\r\n",
                uid - 100
            ));
        }
        examine.push_str("$TAG OK [READ-ONLY] done\r\n");
        let mut script = login_steps(
            "* CAPABILITY IMAP4rev1 UIDPLUS ENABLE CONDSTORE QRESYNC\r\n$TAG OK done\r\n",
        );
        script.extend([
            ("LIST", "* LIST () \".\" INBOX\r\n$TAG OK done\r\n"),
            NOOP,
            ("ENABLE QRESYNC", "* ENABLED QRESYNC\r\n$TAG OK done\r\n"),
            ("EXAMINE \"INBOX\" (QRESYNC (7 800))", examine.leak()),
            // Every vanished UID is checked, once: the server still has 8.
            ("UID SEARCH UID 5,7:9,350", "* SEARCH 8\r\n$TAG OK done\r\n"),
            NOOP,
            (
                "UID FETCH 5,7:9,350 (UID)",
                "* 4 FETCH (UID 8)\r\n$TAG OK done\r\n",
            ),
            NOOP,
            (
                "UID FETCH 8 (UID FLAGS)",
                "* 4 FETCH (UID 8 FLAGS (\\Draft))\r\n$TAG OK done\r\n",
            ),
        ]);
        let (port, server) = scripted::serve(script).await;
        let options = SourceOptions {
            mirror: true,
            ..SourceOptions::default()
        };
        let mut imap = Imap::connect(&scripted::login(port), options, true)
            .await
            .unwrap();
        let progress = FolderProgress {
            identity: Some(FolderIdentity::UidValidity { uid_validity: 7 }),
            done: Done::Uids {
                through: 400,
                above: BTreeSet::new(),
                uid_next: 401,
            },
            mirror_stamp: Some("7.800.401.303".into()),
            ..FolderProgress::default()
        };
        let status = Source::open(&mut imap, &FolderName::inbox(), &progress)
            .await
            .unwrap();
        assert_eq!(status.pending, Some(0));
        assert_eq!(status.mirror_stamp.as_deref(), Some("7.900.401.300"));
        let keys: Vec<SourceKey> = [5, 8, 101, 250, 300].map(SourceKey::Uid).to_vec();
        let now = imap.flags_of(&keys).await.unwrap();
        let later = Flags::from_imap("\\Seen $Later");
        assert_eq!(
            now,
            vec![
                FlagsNow::Gone,
                FlagsNow::Are(Flags::from_imap("\\Draft")),
                FlagsNow::Are(later.clone()),
                FlagsNow::Are(later),
                FlagsNow::Unchanged,
            ]
        );
        drop(imap);
        server.await.unwrap();
    }

    #[test]
    fn vanished_ranges_are_merged_and_looked_up() {
        let ranges = merged(vec![9..=12, 1..=3, 4..=4, 11..=20, 30..=30]);
        assert_eq!(ranges, vec![1..=4, 9..=20, 30..=30]);
        let present = Presence::AllBut(ranges);
        let held: Vec<u32> = (0..=32).filter(|uid| present.holds(*uid)).collect();
        assert_eq!(
            held,
            [0, 5, 6, 7, 8, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32]
        );
        assert_eq!(ranges_text(&[1..=4, 9..=9]), "1:4,9");
        assert_eq!(
            without(vec![1..=4, 9..=20, 30..=30], &[1, 3, 12, 20, 30, 40]),
            vec![2..=2, 4..=4, 9..=11, 13..=19]
        );
        assert_eq!(
            without(vec![7..=u32::MAX], &[u32::MAX]),
            vec![7..=u32::MAX - 1]
        );
    }

    fn listed(name: &str, selectable: bool) -> ListedFolder {
        ListedFolder {
            name: name.to_string(),
            delimiter: Some('.'),
            selectable,
            childless: false,
            special_use: None,
        }
    }

    /// Mailtug name → server name, for every listed folder.
    fn names(folders: &[(&str, bool)]) -> (Vec<(String, String)>, Vec<Renamed>) {
        let listed = folders.iter().map(|(n, s)| listed(n, *s)).collect();
        let (named, renamed, _) = name_folders(listed, &Naming::new(None, '.', false));
        let pairs = named
            .into_iter()
            .map(|(name, f)| (name.to_string(), f.name))
            .collect();
        (pairs, renamed)
    }

    fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
        rows.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn folders_that_share_a_name_each_get_one() {
        // Server name order; a folder keeps its name whatever order LIST uses.
        // A listing (server name, selectable) and the names it gets.
        type Row = (
            &'static [(&'static str, bool)],
            &'static [(&'static str, &'static str)],
        );
        let table: &[Row] = &[
            // No sharing: names as before.
            (
                &[
                    ("INBOX", true),
                    ("Archive.2023", true),
                    ("&AMk-t&AOk-", true),
                ],
                &[
                    ("Archive/2023", "Archive.2023"),
                    ("INBOX", "INBOX"),
                    ("Été", "&AMk-t&AOk-"),
                ],
            ),
            // `/` inside a level: `a_b` is what mailtug builds, so it keeps the name.
            (
                &[("a/b", true), ("a_b", true)],
                &[("a_b", "a_b"), ("a_b~2", "a/b")],
            ),
            (
                &[("a_b", true), ("a/b", true)],
                &[("a_b", "a_b"), ("a_b~2", "a/b")],
            ),
            // An empty level is dropped.
            (&[("x.", true), ("x", true)], &[("x", "x"), ("x~2", "x.")]),
            // A selectable folder before a `\Noselect` one.
            (&[("x", false), ("x.", true)], &[("x", "x."), ("x~2", "x")]),
            // A suffix never takes a name that is not shared.
            (
                &[("x", true), ("x.", true), ("x..", true), ("x~2", true)],
                &[("x", "x"), ("x~2", "x~2"), ("x~3", "x."), ("x~4", "x..")],
            ),
            // No usable component.
            (&[(".", true), ("_", true)], &[("_", "_"), ("_~2", ".")]),
        ];
        for (listing, expected) in table {
            let (got, _) = names(listing);
            assert_eq!(got, pairs(expected), "listing {listing:?}");
        }
    }

    #[test]
    fn renamed_selectable_folders_are_reported_with_the_one_keeping_the_name() {
        let (_, renamed) = names(&[("a/b", true), ("a_b", true), ("y", true), ("y.", false)]);
        assert_eq!(
            renamed,
            [Renamed {
                server_name: "a/b".into(),
                kept_by: "a_b".into(),
                shared: FolderName::parse("a_b").unwrap(),
                name: FolderName::parse("a_b~2").unwrap(),
            }]
        );
    }

    #[test]
    fn a_folder_under_a_childless_one_or_named_like_a_mere_level_is_refused() {
        let folder = |name: &str| FolderName::parse(name).unwrap();
        let mut folders = BTreeMap::new();
        let mut inbox = listed("INBOX", true);
        inbox.childless = true;
        folders.insert(FolderName::inbox(), inbox);
        folders.insert(folder("Lists"), listed("Lists", false));
        folders.insert(folder("Work"), listed("Work", true));
        let under_inbox = refusal(&folders, &folder("INBOX/Old")).unwrap();
        assert!(under_inbox.contains("Noinferiors"), "{under_inbox}");
        let level = refusal(&folders, &folder("Lists")).unwrap();
        assert!(level.contains("Noselect"), "{level}");
        assert_eq!(refusal(&folders, &folder("Lists/Rust")), None);
        assert_eq!(refusal(&folders, &folder("Work/2024")), None);
        assert_eq!(refusal(&folders, &folder("New")), None);
    }
}
