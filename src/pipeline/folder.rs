//! One folder's copy: open the source folder against its record, open (or
//! create) the destination folder, stream the messages through dedup into
//! the sink, committing as they flow, then record the end of the pass and
//! delete from the source.
//!
//! `Err` from here means the whole run must stop (the destination failed);
//! trouble with the source folder ends this folder only and comes back in
//! [`FolderDone`].

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use tokio::sync::watch;

use super::batch::{Batch, BatchTarget};
use super::connect::Stores;
use super::delete::delete_from_source;
use super::{Counts, MirrorCounts, Shared, COMMIT_EVERY, COMMIT_EVERY_MESSAGES, IN_FLIGHT_BYTES};
use crate::checkpoint::{FolderProgress, IndexMark};
use crate::error::is_refused;
use crate::event::Event;
use crate::exit::is_try_later;
use crate::folder::FolderName;
use crate::job::Job;
use crate::rate::Direction;
use crate::report::{self, FolderBar, Progress};
use crate::store::{
    AnySink, Create, Fetched, FingerprintSet, FolderStatus, Inbox, Outbox, Sink, Source,
};

#[derive(Default)]
pub(super) struct FolderDone {
    pub counts: Counts,
    /// The source folder failed part-way; what was committed stays recorded.
    pub error: Option<anyhow::Error>,
    /// Nothing new: the destination was not even opened.
    pub unchanged: bool,
    /// Stopped by the user part-way.
    pub interrupted: bool,
    /// `mirror`: what it changed beyond the copy.
    pub mirrored: Option<MirrorCounts>,
    /// `mirror --delete`: removals to make once every folder is copied.
    pub removals: Option<Deferred>,
}

/// A folder's removals, made at the end of the run (see
/// [`super::mirror::Removals`]).
pub(super) struct Deferred {
    pub removals: super::mirror::Removals,
    /// The mirror stamp to record once they are all made.
    pub stamp: Option<String>,
}

/// Kept index fingerprints moved between the state and a run's index at a time.
const INDEX_PAGE: usize = 10_000;

/// One attempt at copying a source folder into its destination folder.
pub(super) struct FolderCopy<'a> {
    pub job: &'a Job,
    pub shared: &'a Shared,
    pub progress: &'a Progress,
    /// Set when the run stops: the user's interrupt, or a worker whose
    /// destination failed.
    pub stop: &'a mut watch::Receiver<bool>,
    pub folder: &'a FolderName,
    pub destination: &'a FolderName,
    /// Set after the destination's connection died: it may still store what
    /// was sent on it.
    pub destination_unsettled: bool,
}

/// A source folder as opened, and the progress its copy starts from.
struct Opened {
    status: FolderStatus,
    /// The record, brought up to date with what the source says now.
    progress: FolderProgress,
    /// No record yet: the folder is seen for the first time.
    first_time: bool,
    /// The record already says what `progress` says.
    unchanged_record: bool,
}

/// How the flow of one folder's messages ended.
enum Received {
    /// The source closed its end: it sent all it had, or failed.
    End,
    /// The run stopped.
    Interrupted,
    /// The destination failed.
    Failed(anyhow::Error),
    /// A daily budget is spent: what was taken is committed, then the run
    /// stops until later (exit 75).
    Paused(anyhow::Error),
}

impl<'a> FolderCopy<'a> {
    /// Copies the folder. `Err` means the whole run must stop (the destination
    /// failed, or an interruption); source trouble is returned in `FolderDone`.
    pub async fn run(&mut self, stores: &mut Stores, committed: &mut Counts) -> Result<FolderDone> {
        let opened = match self.open_source(stores).await? {
            ControlFlow::Continue(opened) => opened,
            ControlFlow::Break(done) => return Ok(done),
        };
        self.report_start(opened.status.pending);
        let mirror_stamps = (
            opened.status.mirror_stamp.clone(),
            opened.progress.mirror_stamp.clone(),
        );
        if opened.status.pending == Some(0) && !opened.first_time {
            let done = self.settle(stores, opened).await?;
            return self.mirror(stores, done, mirror_stamps).await;
        }
        let bar = self
            .progress
            .folder_bar(self.folder.as_str(), opened.status.pending);
        let known = match self.open_destination(stores, &opened).await? {
            ControlFlow::Continue(known) => known,
            ControlFlow::Break(done) => return Ok(done),
        };
        let Opened {
            status, progress, ..
        } = opened;
        let target = BatchTarget {
            folder: self.folder,
            destination: self.destination,
            shared: self.shared,
            known,
            dedup: self.job.dedup,
            keeps_done: self.job.source_options.deletes() && !self.job.dry_run,
            // A source that reads fingerprints first looked elsewhere itself.
            looks_elsewhere: !stores.source.get()?.capabilities().fingerprints_first,
            adopts: self.job.mirror.is_some() && !self.job.dry_run,
            dry_run: self.job.dry_run,
            append_limit: stores.sink.append_limit(),
            max_size: self.job.plan_max_size,
        };
        // The source reads the whole progress; the run keeps only what the
        // folder row records, as each message is recorded as a row.
        let mut batch = Batch::new(target, progress.watermarks(), committed);
        let (received, fetched) = self.stream(stores, progress, &mut batch, &bar).await?;
        let (paused, interrupted) = match received {
            // Nothing more is committed: the batch may hold a partial write.
            Received::Failed(e) => return Err(e),
            Received::Paused(e) => (Some(e), false),
            Received::Interrupted => (None, true),
            Received::End => (None, false),
        };
        batch.commit(&mut stores.sink).await?;
        if let Some(e) = paused {
            // What was taken is recorded; what the source sent after it is
            // left for the next run.
            return Err(e);
        }
        drop(bar);
        if interrupted {
            // What was committed counts; the folder is not finished, so no
            // UID pass is recorded and nothing is deleted.
            return Ok(FolderDone {
                counts: batch.counts,
                error: None,
                unchanged: false,
                interrupted: true,
                mirrored: None,
                removals: None,
            });
        }
        let done = self.finish(stores, &status, batch, fetched).await?;
        self.mirror(stores, done, mirror_stamps).await
    }

    /// `mirror`: once the folder's copy went through, the flags and
    /// deletions of the messages copied before. A folder whose copy failed
    /// is not mirrored: its listing may be incomplete.
    ///
    /// `stamps` are the source folder's mirror stamp now and as recorded:
    /// equal, nothing changed since the last complete mirror and nothing is
    /// read; after a pass that left nothing undone, the new one is recorded.
    async fn mirror(
        &self,
        stores: &mut Stores,
        mut done: FolderDone,
        (now, was): (Option<String>, Option<String>),
    ) -> Result<FolderDone> {
        let Some(mirror) = self.job.mirror else {
            return Ok(done);
        };
        if done.error.is_some() || done.interrupted {
            return Ok(done);
        }
        let folder = self.folder;
        if now.is_some() && now == was {
            report::debug(&format!(
                "folder `{folder}`: unchanged since its last complete mirror"
            ));
            done.mirrored = Some(MirrorCounts::default());
            return Ok(done);
        }
        let mirrored =
            super::mirror::mirror_folder(self.job, self.shared, stores, folder, mirror).await?;
        if mirrored.counts != MirrorCounts::default() {
            done.unchanged = false;
        }
        let clean = mirrored.settled && done.counts.messages_failed == 0 && !self.job.dry_run;
        let stamp = now.filter(|_| clean);
        match mirrored.removals {
            Some(removals) => done.removals = Some(Deferred { removals, stamp }),
            None => {
                if let Some(stamp) = stamp {
                    self.shared.record_mirror_stamp(folder, stamp).await?;
                }
            }
        }
        done.mirrored = Some(mirrored.counts);
        Ok(done)
    }

    /// Opens the source folder against its record. `Break` when it cannot
    /// be opened: the folder fails alone.
    async fn open_source(&self, stores: &mut Stores) -> Result<ControlFlow<FolderDone, Opened>> {
        let folder = self.folder;
        let recorded = self
            .shared
            .recorded(folder)
            .await
            .with_context(|| format!("reading the state of folder `{folder}`"))?;
        // A folder seen for the first time is created at the destination even
        // when it is empty: folder structure is data too.
        let first_time = recorded.is_none();
        let mut recorded = recorded.unwrap_or_default();
        if self.job.mirror.is_some() {
            // A copy's stamp says nothing new arrived, not that no flag
            // changed: a mirror may skip a listing only when nothing changed
            // since its own last complete pass (a maildir's two stamps are
            // of one kind).
            recorded.listing_stamp = recorded.mirror_stamp.clone();
        }
        let status = match stores.source.get()?.open(folder, &recorded).await {
            Ok(status) => status,
            Err(e) => {
                // Every folder_done follows its folder_start, even when the
                // source folder could not be opened (nothing known to copy).
                self.report_start(None);
                return Ok(ControlFlow::Break(FolderDone {
                    counts: Counts::default(),
                    error: Some(e),
                    unchanged: false,
                    interrupted: false,
                    mirrored: None,
                    removals: None,
                }));
            }
        };
        let mut status = status;
        if self.job.mirror.is_some() {
            // The rows of messages gone from the source are what a mirror
            // removes from the destination: they stay until it has.
            status.vanished.clear();
        }
        let unchanged_record = status.changed.is_none()
            && status.identity == recorded.identity
            && status.vanished.is_empty();
        let mut progress = recorded;
        if let Some(reason) = &status.changed {
            report::warn(&format!(
                "{reason}; copying folder `{folder}` again, relying on dedup"
            ));
            progress = FolderProgress::default();
        }
        progress.identity = status.identity.clone();
        progress.forget(&status.vanished);
        Ok(ControlFlow::Continue(Opened {
            status,
            progress,
            first_time,
            unchanged_record,
        }))
    }

    /// A folder with nothing new: the record is brought up to date and what
    /// is due is deleted from the source; the destination is not opened.
    async fn settle(&self, stores: &mut Stores, mut opened: Opened) -> Result<FolderDone> {
        let mut unchanged_record = opened.unchanged_record;
        if let Some(stamp) = stamp_to_record(self.job, &opened.status, 0) {
            if opened.progress.listing_stamp.as_deref() != Some(stamp) {
                opened.progress.listing_stamp = Some(stamp.to_string());
                unchanged_record = false;
            }
        }
        if !unchanged_record {
            self.record(&opened).await?;
        }
        let folder = self.folder;
        report::info(&format!("folder `{folder}`: nothing new"));
        let error = delete_from_source(
            self.job,
            self.folder,
            &mut stores.source,
            Vec::new(),
            &opened.status,
        )
        .await
        .err();
        Ok(FolderDone {
            counts: Counts::default(),
            error,
            unchanged: opened.status.done_but_present.is_empty(),
            interrupted: false,
            mirrored: None,
            removals: None,
        })
    }

    /// Opens the destination folder, creating it if missing, then records
    /// the source folder; returns the fingerprints to deduplicate against.
    /// `Break` when the destination refused the folder: it fails alone.
    async fn open_destination(
        &self,
        stores: &mut Stores,
        opened: &Opened,
    ) -> Result<ControlFlow<FolderDone, Arc<FingerprintSet>>> {
        let (job, folder, destination) = (self.job, self.folder, self.destination);
        // The index an earlier run kept goes into this run's index first;
        // the sink adds what is newer, or starts over if it no longer holds.
        let index = FingerprintSet::new()?;
        let cached = self.load_index(&index).await?;
        if self.destination_unsettled {
            stores
                .sink
                .wait_until_quiet(destination)
                .await
                .with_context(|| format!("checking destination folder `{destination}`"))?;
        }
        // A folder the destination lacks is created with the source folder's
        // special use, so a new Sent folder is the destination's Sent folder.
        let special_use = super::plan::created_special_use(job, stores.source.peek(), folder);
        let held = match stores
            .sink
            .open(destination, Create::Yes(special_use), cached, &index)
            .await
        {
            Ok(held) => held.unwrap_or_default(),
            Err(e) if is_refused(&e) => return Ok(ControlFlow::Break(self.refused(&e))),
            Err(e) => {
                return Err(e.context(format!("opening destination folder `{destination}`")));
            }
        };
        // The state learns of the folder only once its destination folder is
        // open: one the destination refused is tried again by the next run,
        // not taken for a copy that has gone.
        if opened.first_time || !opened.unchanged_record {
            self.record(opened).await?;
        }
        if let Some(mark) = held.cache {
            self.save_index(&index, mark).await?;
        }
        // Without dedup, nothing counts as already there.
        let known = if job.dedup {
            index
        } else {
            FingerprintSet::new()?
        };
        // Gmail's All Mail: what a label folder gives is a copy within the
        // source (never kept in the destination's index).
        if let Some(elsewhere) = self.shared.labels.elsewhere(folder) {
            crate::durable::blocking(|| known.extend_this_run(elsewhere))
                .context("noting the messages of the label folders")?;
        }
        // A mirror copies a message that moved between source folders from
        // where the destination already holds it; only another folder's
        // messages can have moved here.
        let elsewhere = job.mirror.is_some()
            && job.dedup
            && !job.dry_run
            && stores.sink.capabilities().copies_within
            && {
                let folder = folder.clone();
                self.shared
                    .state
                    .call(move |state| state.records_other_folders(&folder))
                    .await?
            };
        let known = match elsewhere {
            true => known.looking_elsewhere(Arc::new(super::mirror::Recorded {
                state: self.shared.state.clone(),
                destination: destination.clone(),
            })),
            _ => known,
        };
        report::debug(&format!(
            "destination folder `{destination}` holds {} messages",
            known.messages()
        ));
        Ok(ControlFlow::Continue(Arc::new(known)))
    }

    /// Reads the destination folder's index kept by an earlier run into
    /// `index`, a page at a time; returns what it covers.
    async fn load_index(&self, index: &FingerprintSet) -> Result<Option<IndexMark>> {
        let destination = self.destination.clone();
        let state = &self.shared.state;
        let mark = {
            let destination = destination.clone();
            state
                .call(move |state| state.index_mark(&destination))
                .await?
        };
        if mark.is_none() {
            return Ok(None);
        }
        let mut after = 0;
        loop {
            let page = {
                let destination = destination.clone();
                state
                    .call(move |state| state.index_page(&destination, after, INDEX_PAGE))
                    .await?
            };
            let Some(&(last, _)) = page.last() else {
                return Ok(mark);
            };
            after = last;
            let counted: Vec<_> = page.into_iter().map(|(_, text)| (text, 1)).collect();
            crate::durable::blocking(|| index.extend_counted(counted))
                .with_context(|| format!("reading the kept index of `{destination}`"))?;
        }
    }

    /// Keeps the destination folder's index for the next run, as of `mark`.
    async fn save_index(&self, index: &FingerprintSet, mark: IndexMark) -> Result<()> {
        let state = &self.shared.state;
        let destination = self.destination.clone();
        {
            let destination = destination.clone();
            state
                .call(move |state| state.begin_index(&destination))
                .await?;
        }
        let mut after: Option<String> = None;
        loop {
            let page = crate::durable::blocking(|| index.page(after.as_deref(), INDEX_PAGE))?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            let destination = destination.clone();
            state
                .call(move |state| state.add_to_index(&destination, &page))
                .await?;
        }
        state
            .call(move |state| state.finish_index(&destination, mark))
            .await
    }

    /// The destination refused this folder (a name it does not allow, a
    /// permission): it fails alone.
    fn refused(&self, e: &anyhow::Error) -> FolderDone {
        let (folder, destination) = (self.folder, self.destination);
        let which = if destination == folder {
            "it".to_string()
        } else {
            format!("destination folder `{destination}`")
        };
        FolderDone {
            error: Some(anyhow!(
                "the destination refused {which} ({e:#}); give it another name with --map '{folder}=NEW'"
            )),
            ..FolderDone::default()
        }
    }

    /// Records the source folder as opened: its identity, and its vanished
    /// messages forgotten. A folder replaced by another instance loses the
    /// rows of the old one.
    async fn record(&self, opened: &Opened) -> Result<()> {
        let (folder, summary, vanished) = (
            self.folder.clone(),
            opened.progress.summary(),
            opened.status.vanished.clone(),
        );
        let replaced = opened.status.changed.is_some();
        // A mirror sets the old instance's messages aside instead: found
        // again by fingerprint they keep their place at the destination,
        // and only what is not found again is gone.
        let set_aside = self.job.mirror.is_some();
        self.shared
            .state
            .call(move |state| {
                match (replaced, set_aside) {
                    (true, true) => state.replace_folder(&folder)?,
                    (true, false) => state.forget_folder(&folder)?,
                    _ => {}
                }
                state.save_folder(&folder, &summary, &vanished)
            })
            .await
    }

    /// Streams the source folder through `batch` into the sink. The source
    /// reads on its own task so reading and writing overlap; it is back in
    /// its slot when this returns, with the result of its reading.
    async fn stream(
        &mut self,
        stores: &mut Stores,
        progress: FolderProgress,
        batch: &mut Batch<'_>,
        bar: &FolderBar,
    ) -> Result<(Received, Result<()>)> {
        let (outbox, mut inbox) = Outbox::sharing(self.shared.in_flight.clone(), IN_FLIGHT_BYTES);
        let mut source = stores.source.take()?;
        let known = batch.known();
        let fetcher = tokio::spawn(async move {
            let result = source.fetch(&progress, &known, &outbox).await;
            (source, result)
        });
        let received = self.receive(&mut inbox, &mut stores.sink, batch, bar).await;
        // Closing the inbox tells the source to stop; then take it back.
        drop(inbox);
        let (source, fetched) = fetcher.await.context("the source task failed")?;
        stores.source.put(source);
        Ok((received, fetched))
    }

    /// Hands what the source sends to the batch until the source is done,
    /// the run stops or the destination fails, committing every
    /// `COMMIT_EVERY_MESSAGES` messages and at least every `COMMIT_EVERY`.
    async fn receive(
        &mut self,
        inbox: &mut Inbox,
        sink: &mut AnySink,
        batch: &mut Batch<'_>,
        bar: &FolderBar,
    ) -> Received {
        let mut last_commit = Instant::now();
        loop {
            let deadline = tokio::time::Instant::from_std(last_commit + COMMIT_EVERY);
            let item = tokio::select! {
                biased;
                _ = self.stop.wait_for(|&stopped| stopped) => return Received::Interrupted,
                _ = tokio::time::sleep_until(deadline), if !batch.is_empty() => None,
                item = inbox.recv() => match item {
                    Some(received) => Some(received),
                    None => return Received::End,
                },
            };
            // The message's share of the in-flight budget is given back only once
            // the sink has taken it, so the budget bounds what waits to be written
            // and what is being written alike.
            if let Some((mut item, _in_flight)) = item {
                if let Fetched::Message(message) = &mut item {
                    self.shared.labels.apply(message);
                }
                let message_bytes = match &item {
                    Fetched::Message(message) => message.size(),
                    _ => 0,
                };
                if let Fetched::Message(_) = &item {
                    // A pace of bytes a second can hold a big message for
                    // minutes: the user's stop does not wait for it.
                    let admitted = tokio::select! {
                        biased;
                        _ = self.stop.wait_for(|&stopped| stopped) => return Received::Interrupted,
                        admitted = self.shared.admit(Direction::Download, message_bytes) => admitted,
                    };
                    if let Err(e) = admitted {
                        return Received::Paused(e);
                    }
                }
                if let Err(e) = batch.take(item, sink).await {
                    return match is_try_later(&e) {
                        true => Received::Paused(e),
                        false => Received::Failed(e),
                    };
                }
                bar.inc();
                self.progress.message(message_bytes);
            }
            if batch.len() >= COMMIT_EVERY_MESSAGES || last_commit.elapsed() >= COMMIT_EVERY {
                if let Err(e) = batch.commit(sink).await {
                    return Received::Failed(e);
                }
                last_commit = Instant::now();
            }
        }
    }

    /// The end of a folder the source read through: records the end of the
    /// UID pass, then deletes from the source what is due.
    async fn finish(
        &self,
        stores: &mut Stores,
        status: &FolderStatus,
        mut batch: Batch<'_>,
        fetched: Result<()>,
    ) -> Result<FolderDone> {
        let folder = self.folder;
        if fetched.is_ok() {
            if let Some(uid_next) = status.uid_next {
                // The UIDs done in the pass are the state's rows: the
                // largest one below the first failure is where the pass
                // can move the watermark to.
                let limit = match batch.failed_uids.iter().min() {
                    Some(first_failed) => first_failed.saturating_sub(1),
                    None => uid_next.saturating_sub(1),
                };
                let largest = {
                    let folder = folder.clone();
                    self.shared
                        .state
                        .call(move |state| state.largest_key_at_most(&folder, limit))
                        .await?
                };
                if let Some(uid) = largest {
                    batch.progress.mark_uid_done(uid);
                }
                batch.progress.finish_uid_pass(&batch.failed_uids, uid_next);
                self.shared
                    .save_folder(folder, &batch.progress, &[])
                    .await
                    .with_context(|| {
                        format!("recording the end of a pass over folder `{folder}`")
                    })?;
            }
            if let Some(stamp) = stamp_to_record(self.job, status, batch.counts.messages_failed) {
                batch.progress.listing_stamp = Some(stamp.to_string());
                self.shared
                    .save_folder(folder, &batch.progress, &[])
                    .await
                    .with_context(|| {
                        format!("recording the end of a pass over folder `{folder}`")
                    })?;
            }
        }
        let done = std::mem::take(&mut batch.done);
        let delete_result =
            delete_from_source(self.job, self.folder, &mut stores.source, done, status).await;
        Ok(FolderDone {
            counts: batch.counts,
            error: fetched
                .map_err(|e| e.context("reading from the source"))
                .err()
                .or(delete_result.err()),
            unchanged: false,
            interrupted: false,
            mirrored: None,
            removals: None,
        })
    }

    fn report_start(&self, pending: Option<u64>) {
        report::emit(&Event::FolderStart {
            folder: self.folder,
            destination_folder: self.destination,
            pending,
        });
    }
}

/// The source's listing stamp, when the pass that ends left nothing behind:
/// no message failed (a failed one is tried again next run) and none is due
/// for deletion (deleting changes the listing anyway).
pub(super) fn stamp_to_record<'s>(
    job: &Job,
    status: &'s FolderStatus,
    failed: u64,
) -> Option<&'s str> {
    let clean = failed == 0 && !job.source_options.deletes() && status.done_but_present.is_empty();
    status.listing_stamp.as_deref().filter(|_| clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::order_tests::{self, memory_job, shared_for};

    fn folder(name: &str) -> FolderName {
        FolderName::parse(name).unwrap()
    }

    use crate::message::{Flags, SourceKey};
    use crate::store::memory::{Logged, Memory, REJECT_HEADER};

    fn raw(id: u32) -> String {
        format!("Message-ID: <{id}@example.org>\nSubject: {id}\n\nbody {id}\n")
    }

    fn seen() -> Flags {
        Flags {
            seen: true,
            ..Flags::default()
        }
    }

    /// What the state records of a source folder.
    async fn recorded(shared: &Shared, name: &str) -> FolderProgress {
        shared.recorded(&folder(name)).await.unwrap().unwrap()
    }

    /// Copies one folder between memory stores, as a worker would.
    async fn copy_memory(
        job: &Job,
        source: &Memory,
        sink: &Memory,
        folders: (&str, &str),
        shared: &Shared,
    ) -> FolderDone {
        order_tests::copy_memory(job, source, sink, folders, shared)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_folder_is_copied_between_memory_stores_through_the_traits() {
        let job = memory_job("copy", false);
        let source = Memory::new()
            .with_folder("INBOX", &[(&raw(1), Flags::default()), (&raw(2), seen())])
            .with_folder("Archive", &[(&raw(3), Flags::default())]);
        let sink = Memory::new().with_folder("INBOX", &[(&raw(2), Flags::default())]);
        let shared = shared_for(&job);

        let done = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert!(done.error.is_none(), "{:?}", done.error);
        assert_eq!(done.counts.messages_copied, 1);
        assert_eq!(done.counts.messages_duplicate, 1);
        let held = sink.messages("INBOX").unwrap();
        assert_eq!(held.len(), 2);
        assert_eq!(held[1].raw, raw(1).into_bytes());
        // Both are recorded: one stored, one found there already.
        let progress = recorded(&shared, "INBOX").await;
        assert!(progress.is_done(&SourceKey::Uid(1)) && progress.is_done(&SourceKey::Uid(2)));

        let done = copy_memory(&job, &source, &sink, ("Archive", "Old/Archive"), &shared).await;
        assert_eq!(done.counts.messages_copied, 1);
        assert!(sink.messages("Old/Archive").is_some_and(|m| m.len() == 1));

        // Nothing new: the destination is not even opened.
        let again = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert!(again.unchanged);
        assert_eq!(sink.messages("INBOX").unwrap().len(), 2);
        assert_eq!(source.log(), [], "nothing was deleted from the source");
    }

    #[tokio::test]
    async fn a_refused_message_is_neither_recorded_nor_deleted_and_deletion_follows_the_commit() {
        let job = memory_job("delete", true);
        let refused = format!("{REJECT_HEADER}\n{}", raw(2));
        // One store plays both roles, so its log orders the sink's commit
        // against the source's deletion.
        let store = Memory::new().with_folder(
            "INBOX",
            &[
                (&raw(1), Flags::default()),
                (&refused, Flags::default()),
                (&raw(3), seen()),
            ],
        );
        let shared = shared_for(&job);

        let done = copy_memory(&job, &store, &store, ("INBOX", "Backup"), &shared).await;
        assert_eq!(done.counts.messages_copied, 2);
        assert_eq!(done.counts.messages_failed, 1);
        assert_eq!(
            store.log(),
            [
                Logged::Committed(folder("Backup"), vec![1, 2]),
                Logged::Deleted(folder("INBOX"), vec![1, 3]),
            ]
        );
        let left: Vec<u32> = store
            .messages("INBOX")
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect();
        assert_eq!(left, [2], "the refused message stays at the source");
        let backup = store.messages("Backup").unwrap();
        assert_eq!(backup[1].flags, seen());
        // The state recorded what was stored (before the deletion: every
        // record is a committed transaction when it returns).
        let progress = recorded(&shared, "INBOX").await;
        assert!(progress.is_done(&SourceKey::Uid(1)) && progress.is_done(&SourceKey::Uid(3)));
        assert!(!progress.is_done(&SourceKey::Uid(2)));
        let rows = shared
            .state
            .call(|state| state.messages(&folder("INBOX")))
            .await
            .unwrap();
        let keys: Vec<(serde_json::Value, Option<String>, serde_json::Value)> = rows
            .into_iter()
            .map(|row| (row.source_key, row.destination_folder, row.destination_key))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    serde_json::json!(1),
                    Some("Backup".into()),
                    serde_json::json!(1)
                ),
                (
                    serde_json::json!(3),
                    Some("Backup".into()),
                    serde_json::json!(2)
                ),
            ],
            "each stored message is recorded with where it went"
        );
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_folder_is_not_listed_again_while_its_stamp_holds_after_a_clean_pass() {
        let job = memory_job("stamp", false);
        let source = Memory::new().with_folder("INBOX", &[(&raw(1), Flags::default())]);
        let sink = Memory::new();
        let shared = shared_for(&job);

        let done = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert_eq!(done.counts.messages_copied, 1);
        assert!(recorded(&shared, "INBOX").await.listing_stamp.is_some());
        assert_eq!(source.listings(), 1);

        let again = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert!(again.unchanged);
        assert_eq!(source.listings(), 1, "an unchanged stamp is not listed");

        // A new message changes the stamp: listed, copied, stamped again.
        let source = source.with_folder("INBOX", &[(&raw(2), Flags::default())]);
        let done = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert_eq!(done.counts.messages_copied, 1);
        assert_eq!(source.listings(), 2);
        copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert_eq!(source.listings(), 2);
        assert_eq!(sink.messages("INBOX").unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_pass_that_leaves_a_message_behind_records_no_stamp() {
        let job = memory_job("stamp-failed", false);
        let refused = format!("{REJECT_HEADER}\n{}", raw(2));
        let source = Memory::new().with_folder(
            "INBOX",
            &[(&raw(1), Flags::default()), (&refused, Flags::default())],
        );
        let sink = Memory::new();
        let shared = shared_for(&job);

        for pass in 1..=3 {
            let done = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
            assert_eq!(done.counts.messages_failed, 1, "pass {pass} tries it again");
            assert!(recorded(&shared, "INBOX").await.listing_stamp.is_none());
            assert_eq!(source.listings(), pass);
        }
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_job_that_deletes_at_the_source_records_no_stamp() {
        let job = memory_job("stamp-delete", true);
        let store = Memory::new().with_folder("INBOX", &[(&raw(1), Flags::default())]);
        let shared = shared_for(&job);

        copy_memory(&job, &store, &store, ("INBOX", "Backup"), &shared).await;
        assert!(store.messages("INBOX").unwrap().is_empty());
        assert!(recorded(&shared, "INBOX").await.listing_stamp.is_none());
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_pass_with_nothing_new_records_the_stamp_a_record_lacks() {
        let job = memory_job("stamp-settle", false);
        let source = Memory::new().with_folder("INBOX", &[(&raw(1), Flags::default())]);
        let sink = Memory::new();
        let shared = shared_for(&job);
        copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        // As a state written before stamps were kept.
        let mut unstamped = recorded(&shared, "INBOX").await;
        unstamped.listing_stamp = None;
        shared
            .save_folder(&folder("INBOX"), &unstamped, &[])
            .await
            .unwrap();

        let again = copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert!(again.unchanged);
        assert_eq!(source.listings(), 2, "listed, as no stamp was recorded");
        assert!(recorded(&shared, "INBOX").await.listing_stamp.is_some());
        copy_memory(&job, &source, &sink, ("INBOX", "INBOX"), &shared).await;
        assert_eq!(source.listings(), 2);
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }
}
