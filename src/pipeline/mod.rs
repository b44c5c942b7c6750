//! The copy pipeline: source → dedup → sink → commit → state.
//!
//! This is the one place that knows the order in which things become true:
//! a message is recorded in the job's state only after the sink's `commit`
//! returned (and is reported as copied only then), and the state records it
//! durably before the source may delete it. Every commit is recorded at
//! once (a transaction of what changed, see `state.rs`), so after a crash
//! the state lags behind the destination by at most the batch in flight;
//! the destination's fingerprint index covers that gap.
//! It knows nothing about protocols: every store looks the same from here.
//!
//! Failures are scoped (as in isync): a message that cannot be read or that
//! the destination rejects is reported and the run goes on; a source folder
//! that cannot be read fails that folder only; a destination that fails
//! (disk full, connection lost) stops the run, because every later message
//! would fail the same way. Whatever was committed before stays recorded.

mod batch;
mod connect;
mod delete;
mod plan;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::Serialize;
use tokio::sync::watch;

use crate::checkpoint::{FolderProgress, JobLock};
use crate::error::{is_disconnected, is_refused};
use crate::event::Event;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::job::Job;
use crate::message::SourceKey;
use crate::report::{self, Progress};
use crate::state::{State, StateWriter};
use crate::store::{Create, Fetched, Outbox, Sink, Source};
use batch::{Batch, BatchTarget};
use connect::{connect_sink, connect_source, Stores};
use delete::delete_from_source;
use plan::Unit;

/// A commit (and checkpoint save) happens at least this often…
const COMMIT_EVERY_MESSAGES: usize = 100;
/// …and at least this often in time, so a slow source still makes progress durable.
const COMMIT_EVERY: Duration = Duration::from_secs(2);
/// Bytes of messages in flight between source and sink, shared by the
/// folders copied at the same time: from the source's send until the sink has
/// taken the message. At 8 MiB, four IMAP folders peaked at 65-70 MiB RSS;
/// at 4 MiB, 48-55 MiB at the same speed.
const IN_FLIGHT_BYTES: u32 = 4 * 1024 * 1024;

/// Set when the user asks the run to stop (Ctrl-C, SIGTERM).
pub type InterruptSignal = watch::Receiver<bool>;

/// Counts for one folder or a whole run.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub messages_copied: u64,
    pub messages_duplicate: u64,
    pub messages_failed: u64,
    pub bytes_copied: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.messages_copied += other.messages_copied;
        self.messages_duplicate += other.messages_duplicate;
        self.messages_failed += other.messages_failed;
        self.bytes_copied += other.bytes_copied;
    }
}

/// What a finished run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub folders: u64,
    pub folders_failed: u64,
    pub folders_unchanged: u64,
    /// Folders a stopped run (interrupted, or its destination failed) never
    /// started: neither copied nor failed, left for the next run.
    pub folders_not_started: u64,
    /// Files and directories under the source that look like mail and were
    /// not read (each reported by path).
    pub files_skipped: u64,
    #[serde(flatten)]
    pub counts: Counts,
    pub seconds: f64,
    pub dry_run: bool,
    /// Stopped by Ctrl-C or SIGTERM; what was committed is recorded.
    pub interrupted: bool,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.folders += other.folders;
        self.folders_failed += other.folders_failed;
        self.folders_not_started += other.folders_not_started;
        self.folders_unchanged += other.folders_unchanged;
        self.counts.add(&other.counts);
    }

    pub fn is_clean(&self) -> bool {
        !self.interrupted
            && self.folders_failed == 0
            && self.counts.messages_failed == 0
            && self.files_skipped == 0
    }
}

/// How a run that got as far as copying ended.
pub struct Finished {
    pub summary: Summary,
    /// The failure that stopped the whole run (the destination failed), if
    /// any; the summary still counts what was done before it.
    pub fatal: Option<anyhow::Error>,
}

/// Runs a copy job to the end (or to an interruption).
///
/// Folders are spread over up to `job.jobs` workers, each with its own source
/// and sink (for servers: its own connections), each owning one destination
/// folder at a time, so two workers never write into the same folder.
pub async fn copy(job: &Job, mut interrupt: InterruptSignal) -> Result<Finished> {
    let started = Instant::now();
    report::emit(&Event::RunStart {
        source: &job.source.to_string(),
        destination: &job.destination.to_string(),
        dry_run: job.dry_run,
        version: env!("CARGO_PKG_VERSION"),
    });
    let job = Arc::new(job.clone());
    // The lock comes first: a second run of the same job must stop here
    // (exit 5), before it logs in anywhere (a POP3 server would refuse its
    // login with [IN-USE] while the first run holds the maildrop).
    // A dry run writes nothing, not even a lock file.
    let _lock = if job.dry_run {
        None
    } else {
        Some(JobLock::acquire(&job.checkpoint_path)?)
    };
    let mut source = connect_source(&job).await?;
    // Local destinations create nothing until a folder is opened, so a run
    // refused here leaves no trace (not even an empty directory).
    let sink = connect_sink(&job).await?;
    let units = plan::select_folders(&job, &mut source, &sink).await?;

    let mut state = open_state(&job).await?;
    plan::forget_folders_whose_copy_is_gone(&units, &sink, &mut state)?;
    let (state, state_thread) = StateWriter::spawn(state)?;
    let shared = Arc::new(Shared {
        state,
        in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_BYTES as usize)),
    });
    // Folders with nothing new are settled here, on the first connection,
    // so a run with nothing to do opens no further connections.
    let (settled, mut units_to_copy) =
        plan::settle_unchanged(&job, &mut source, units, &shared).await;
    if units_to_copy.len() > job.jobs {
        // More folders than workers: the order decides which folder runs
        // alone at the end.
        plan::order_largest_first(&mut source, &mut units_to_copy).await;
    }
    let queue = Arc::new(Mutex::new(
        units_to_copy.into_iter().collect::<VecDeque<_>>(),
    ));
    let progress = Arc::new(Progress::new());

    // One stop signal for everyone: the user's interrupt, or a worker whose
    // destination failed.
    let (stop, _) = watch::channel(false);
    let stop = Arc::new(stop);
    let stopped_by: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let forwarder = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if interrupt.wait_for(|&stopped| stopped).await.is_ok() {
                stop.send_replace(true);
            }
        })
    };

    let workers = job.jobs.min(queue_len(&queue));
    let mut handles = Vec::with_capacity(workers);
    let mut first = Some(Stores::new(source, sink));
    if workers == 0 {
        if let Some(stores) = first.take() {
            stores.close().await;
        }
    }
    for number in 0..workers {
        let worker = Worker {
            job: job.clone(),
            shared: shared.clone(),
            queue: queue.clone(),
            progress: progress.clone(),
            stop: stop.clone(),
            stopped_by: stopped_by.clone(),
        };
        let stores = first.take();
        handles.push(tokio::spawn(async move {
            let stores = match stores {
                Some(stores) => stores,
                None => match Stores::connect(&worker.job).await {
                    Ok(stores) => stores,
                    Err(e) => {
                        // Fewer connections than asked for still finish the job.
                        report::warn(&format!("worker {number} could not start: {e:#}"));
                        return (Summary::default(), None);
                    }
                },
            };
            worker.run(stores).await
        }));
    }

    let mut summary = Summary {
        dry_run: job.dry_run,
        ..Summary::default()
    };
    summary.add(&settled);
    let mut fatal = None;
    for handle in handles {
        match handle.await {
            Ok((part, failure)) => {
                summary.add(&part);
                if let Some(e) = failure {
                    fatal.get_or_insert(e);
                }
            }
            Err(e) => {
                fatal.get_or_insert(anyhow::Error::new(e).context("a copy worker crashed"));
            }
        }
    }
    forwarder.abort();
    progress.finish();
    // Every worker has ended, so this is the last handle on the state:
    // closing it folds the write-ahead log back into the file.
    drop(shared);
    state_thread.join().await;
    summary.folders_not_started += lock(&queue)
        .iter()
        .map(|unit| unit.len() as u64)
        .sum::<u64>();
    summary.interrupted = *stop.borrow() && fatal.is_none();
    summary.files_skipped = report::skipped_count();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(Finished { summary, fatal })
}

/// What the workers share: the job's state (behind its writer thread) and
/// the budget of bytes in flight.
struct Shared {
    state: StateWriter,
    /// Bytes of messages in flight, for all workers together.
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    /// The recorded progress of a source folder, `None` the first time.
    async fn recorded(&self, folder: &FolderName) -> Result<Option<FolderProgress>> {
        let folder = folder.clone();
        self.state.call(move |state| state.folder(&folder)).await
    }

    /// Records a folder's progress summary and forgets its vanished keys.
    async fn save_folder(
        &self,
        folder: &FolderName,
        progress: &FolderProgress,
        vanished: &[SourceKey],
    ) -> Result<()> {
        let (folder, progress, vanished) = (folder.clone(), progress.summary(), vanished.to_vec());
        self.state
            .call(move |state| state.save_folder(&folder, &progress, &vanished))
            .await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked while holding the lock left consistent data:
    // every update under it is a plain insert.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn queue_len(queue: &Mutex<VecDeque<Unit>>) -> usize {
    lock(queue).len()
}

struct Worker {
    job: Arc<Job>,
    shared: Arc<Shared>,
    queue: Arc<Mutex<VecDeque<Unit>>>,
    progress: Arc<Progress>,
    stop: Arc<watch::Sender<bool>>,
    /// Why the run stops, when a worker's destination failed: folders cut
    /// short by it say so.
    stopped_by: Arc<Mutex<Option<String>>>,
}

impl Worker {
    /// Reconnects both sides after a lost connection. Each try counts as an
    /// attempt, after a pause of 1, 2, 4… s; a failed try pauses longer and
    /// tries again rather than run the copy on a dead connection. `None`
    /// once the retries are spent or the run stops.
    async fn reconnect(
        &self,
        folder: &FolderName,
        attempt: &mut u32,
        stop: &watch::Receiver<bool>,
    ) -> Option<Stores> {
        loop {
            *attempt += 1;
            tokio::time::sleep(Duration::from_secs(1 << (*attempt - 1).min(5))).await;
            match Stores::connect(&self.job).await {
                Ok(stores) => return Some(stores),
                Err(e) => {
                    report::warn(&format!("folder `{folder}`: reconnecting failed: {e:#}"));
                    if *attempt >= self.job.retries || *stop.borrow() {
                        return None;
                    }
                }
            }
        }
    }

    /// Copies folders from the queue until it is empty or the run stops.
    /// Returns what it did, and the failure of the destination that
    /// stopped it, if any.
    async fn run(self, mut stores: Stores) -> (Summary, Option<anyhow::Error>) {
        let mut summary = Summary::default();
        let mut fatal = None;
        let mut stop = self.stop.subscribe();
        'queue: loop {
            let Some(unit) = lock(&self.queue).pop_front() else {
                break;
            };
            let mut unit = unit.into_iter();
            while let Some((folder, destination)) = unit.next() {
                if *stop.borrow() {
                    summary.folders_not_started += 1 + unit.len() as u64;
                    break;
                }
                summary.folders += 1;
                // Attempts in a row that stored nothing: a link that drops now
                // and then still finishes a large folder, as each attempt
                // resumes from the checkpoint.
                let mut attempt = 0;
                // Set after the destination's connection died: it may still
                // store what was sent on it.
                let mut destination_unsettled = false;
                let (outcome, committed) = loop {
                    let mut committed = Counts::default();
                    let outcome = copy_folder(
                        &self.job,
                        &mut stores,
                        &folder,
                        &destination,
                        &self.shared,
                        &self.progress,
                        &mut stop,
                        &mut committed,
                        destination_unsettled,
                    )
                    .await;
                    let lost = match &outcome {
                        Err(e) => is_disconnected(e).then_some(e),
                        Ok(done) => done.error.as_ref().filter(|e| is_disconnected(e)),
                    };
                    let Some(reason) = lost else {
                        break (outcome, committed);
                    };
                    destination_unsettled = outcome.is_err();
                    if committed.messages_copied + committed.messages_duplicate > 0 {
                        attempt = 0;
                    }
                    if attempt >= self.job.retries || *stop.borrow() {
                        break (outcome, committed);
                    }
                    report::warn(&format!(
                        "folder `{folder}`: {reason:#}; reconnecting (attempt {} of {})",
                        attempt + 1,
                        self.job.retries
                    ));
                    match self.reconnect(&folder, &mut attempt, &stop).await {
                        Some(new) => {
                            stores = new;
                            // What the failed attempt committed is recorded;
                            // count it. Its failures are not final: the retry
                            // redoes them.
                            summary.counts.add(&committed);
                        }
                        None => break (outcome, committed),
                    }
                };
                let mut done = match outcome {
                    Ok(done) => done,
                    Err(e) => {
                        // The destination failed: what was committed stays
                        // recorded; everyone stops.
                        let e = e.context(format!("copying folder `{folder}`"));
                        // What the failed attempt committed is recorded: count it.
                        summary.counts.add(&committed);
                        lock(&self.stopped_by).get_or_insert_with(|| format!("{e:#}"));
                        self.stop.send_replace(true);
                        summary.folders_failed += 1;
                        summary.folders_not_started += unit.len() as u64;
                        report_folder_done(&folder, &destination, &FolderDone::default(), Some(&e));
                        fatal = Some(e);
                        break 'queue;
                    }
                };
                if done.interrupted && done.error.is_none() {
                    if let Some(reason) = lock(&self.stopped_by).clone() {
                        done.error = Some(anyhow::anyhow!(
                            "stopped before the end, because the run stopped: {reason}"
                        ));
                    }
                }
                summary.counts.add(&done.counts);
                if done.unchanged {
                    summary.folders_unchanged += 1;
                }
                if let Some(e) = &done.error {
                    summary.folders_failed += 1;
                    report::error(&format!("folder `{folder}`: {e:#}"));
                }
                report_folder_done(&folder, &destination, &done, done.error.as_ref());
                if done.interrupted {
                    self.stop.send_replace(true);
                    summary.folders_not_started += unit.len() as u64;
                    break;
                }
            }
            if *stop.borrow() {
                break;
            }
        }
        stores.close().await;
        (summary, fatal)
    }
}

/// The `folder_done` event of a folder.
fn report_folder_done(
    folder: &FolderName,
    destination: &FolderName,
    done: &FolderDone,
    error: Option<&anyhow::Error>,
) {
    report::emit(&Event::FolderDone {
        folder,
        destination_folder: destination,
        unchanged: done.unchanged,
        counts: done.counts,
        error: error.map(|e| format!("{e:#}")),
    });
}

/// The job's state: opened (or created, or migrated from a JSON checkpoint)
/// on disk, or for a dry run an in-memory copy that is never written back.
async fn open_state(job: &Job) -> Result<State> {
    let (path, legacy, key, dry_run) = (
        job.checkpoint_path.clone(),
        job.legacy_checkpoint.clone(),
        job.key.clone(),
        job.dry_run,
    );
    tokio::task::spawn_blocking(move || {
        if dry_run {
            let readable = legacy.filter(|legacy| !path.exists() && legacy.exists());
            State::read_copy(readable.as_deref().unwrap_or(&path), Some(&key))
        } else {
            State::open(&path, legacy.as_deref(), &key)
        }
    })
    .await
    .context("the state task failed")?
}

#[derive(Default)]
struct FolderDone {
    counts: Counts,
    /// The source folder failed part-way; what was committed stays recorded.
    error: Option<anyhow::Error>,
    /// Nothing new: the destination was not even opened.
    unchanged: bool,
    /// Stopped by the user part-way.
    interrupted: bool,
}

/// Copies one folder. `Err` means the whole run must stop (the destination
/// failed, or an interruption); source trouble is returned in `FolderDone`.
#[allow(clippy::too_many_arguments)]
async fn copy_folder(
    job: &Job,
    stores: &mut Stores,
    folder: &FolderName,
    destination: &FolderName,
    shared: &Shared,
    progress: &Progress,
    stop: &mut watch::Receiver<bool>,
    committed: &mut Counts,
    destination_unsettled: bool,
) -> Result<FolderDone> {
    let Stores { source, sink } = stores;
    let recorded = shared
        .recorded(folder)
        .await
        .with_context(|| format!("reading the state of folder `{folder}`"))?;
    // A folder seen for the first time is created at the destination even
    // when it is empty: folder structure is data too.
    let first_time = recorded.is_none();
    let recorded = recorded.unwrap_or_default();
    let opened = source.get()?.open(folder, &recorded).await;
    let status = match opened {
        Ok(status) => status,
        Err(e) => {
            // Every folder_done follows its folder_start, even when the
            // source folder could not be opened (nothing known to copy).
            report::emit(&Event::FolderStart {
                folder,
                destination_folder: destination,
                pending: None,
            });
            return Ok(FolderDone {
                counts: Counts::default(),
                error: Some(e),
                unchanged: false,
                interrupted: false,
            });
        }
    };
    let unchanged_record = status.changed.is_none()
        && status.identity == recorded.identity
        && status.vanished.is_empty();
    let mut folder_progress = recorded;
    if let Some(reason) = &status.changed {
        report::warn(&format!(
            "{reason}; copying folder `{folder}` again, relying on dedup"
        ));
        folder_progress = FolderProgress::default();
    }
    folder_progress.identity = status.identity.clone();
    folder_progress.forget(&status.vanished);
    // The state learns of the folder only once its destination folder is
    // open: one the destination refused is tried again by the next run, not
    // taken for a copy that has gone. A folder replaced by another instance
    // loses the rows of the old one.
    let record = |progress: &FolderProgress| {
        let (folder, summary, vanished) =
            (folder.clone(), progress.summary(), status.vanished.clone());
        let replaced = status.changed.is_some();
        shared.state.call(move |state| {
            if replaced {
                state.forget_folder(&folder)?;
            }
            state.save_folder(&folder, &summary, &vanished)
        })
    };

    report::emit(&Event::FolderStart {
        folder,
        destination_folder: destination,
        pending: status.pending,
    });
    if status.pending == Some(0) && !first_time {
        if !unchanged_record {
            record(&folder_progress).await?;
        }
        report::info(&format!("folder `{folder}`: nothing new"));
        let error = delete_from_source(job, source, Vec::new(), &status)
            .await
            .err();
        return Ok(FolderDone {
            counts: Counts::default(),
            error,
            unchanged: status.done_but_present.is_empty(),
            interrupted: false,
        });
    }
    let bar = progress.folder_bar(folder.as_str(), status.pending);

    let cached = {
        let destination = destination.clone();
        shared
            .state
            .call(move |state| state.index(&destination))
            .await?
    };
    if destination_unsettled {
        sink.wait_until_quiet(destination)
            .await
            .with_context(|| format!("checking destination folder `{destination}`"))?;
    }
    // A folder the destination lacks is created with the source folder's
    // special use, so a new Sent folder is the destination's Sent folder.
    let special_use = source
        .peek()
        .filter(|_| job.special_use_map)
        .and_then(|source| source.special_use(folder));
    let opened = match sink
        .open(destination, Create::Yes(special_use), cached)
        .await
    {
        Ok(opened) => opened.unwrap_or_default(),
        Err(e) if is_refused(&e) => {
            // The destination refused this folder (a name it does not
            // allow, a permission): it fails alone.
            let which = if destination == folder {
                "it".to_string()
            } else {
                format!("destination folder `{destination}`")
            };
            return Ok(FolderDone {
                error: Some(anyhow!(
                    "the destination refused {which} ({e:#}); give it another name with --map '{folder}=NEW'"
                )),
                ..FolderDone::default()
            });
        }
        Err(e) => {
            return Err(e.context(format!("opening destination folder `{destination}`")));
        }
    };
    if first_time || !unchanged_record {
        record(&folder_progress).await?;
    }
    if let Some(cache) = opened.cache {
        let destination = destination.clone();
        shared
            .state
            .call(move |state| state.save_index(&destination, &cache))
            .await?;
    }
    let known: Arc<HashSet<Fingerprint>> = Arc::new(if job.dedup {
        opened.fingerprints.into_iter().collect()
    } else {
        HashSet::new()
    });
    report::debug(&format!(
        "destination folder `{destination}` holds {} fingerprints",
        known.len()
    ));

    let (outbox, mut inbox) = Outbox::sharing(shared.in_flight.clone(), IN_FLIGHT_BYTES);
    // The source reads on its own task so reading and writing overlap.
    let mut owned_source = source.take()?;
    // The source reads the whole progress; the run keeps only what the
    // folder row records, as each message is recorded as a row.
    let target = BatchTarget {
        folder,
        destination,
        shared,
        known,
        dedup: job.dedup,
        keeps_done: job.source_options.deletes() && !job.dry_run,
    };
    let mut run = Batch::new(target, folder_progress.watermarks(), committed);
    let known_to_source = run.known();
    let snapshot = folder_progress;
    let fetcher = tokio::spawn(async move {
        let result = owned_source
            .fetch(&snapshot, &known_to_source, &outbox)
            .await;
        (owned_source, result)
    });

    let mut last_commit = Instant::now();
    let mut fatal: Option<anyhow::Error> = None;
    let mut interrupted = false;
    loop {
        let deadline = tokio::time::Instant::from_std(last_commit + COMMIT_EVERY);
        let item = tokio::select! {
            biased;
            _ = stop.wait_for(|&stopped| stopped) => { interrupted = true; break; }
            _ = tokio::time::sleep_until(deadline), if !run.is_empty() => None,
            item = inbox.recv() => match item {
                Some(received) => Some(received),
                None => break,
            },
        };
        // The message's share of the in-flight budget is given back only once
        // the sink has taken it, so the budget bounds what waits to be written
        // and what is being written alike.
        if let Some((item, _in_flight)) = item {
            let message_bytes = match &item {
                Fetched::Message(message) => message.size(),
                _ => 0,
            };
            if let Err(e) = run.take(item, sink).await {
                fatal = Some(e);
                break;
            }
            bar.inc();
            progress.message(message_bytes);
        }
        if run.len() >= COMMIT_EVERY_MESSAGES || last_commit.elapsed() >= COMMIT_EVERY {
            if let Err(e) = run.commit(sink).await {
                fatal = Some(e);
                break;
            }
            last_commit = Instant::now();
        }
    }
    // Closing the inbox tells the source to stop; then take it back.
    drop(inbox);
    let (returned_source, fetch_result) = fetcher.await.context("the source task failed")?;
    source.put(returned_source);
    if let Some(e) = fatal {
        // Nothing more is committed: the batch may hold a partial write.
        return Err(e.context("writing to the destination"));
    }
    run.commit(sink)
        .await
        .context("writing to the destination")?;
    drop(bar);
    if interrupted {
        // What was committed counts; the folder is not finished, so no
        // UID pass is recorded and nothing is deleted.
        return Ok(FolderDone {
            counts: run.counts,
            error: None,
            unchanged: false,
            interrupted: true,
        });
    }
    if fetch_result.is_ok() {
        if let Some(uid_next) = status.uid_next {
            run.progress.finish_uid_pass(&run.failed_uids, uid_next);
            shared
                .save_folder(folder, &run.progress, &[])
                .await
                .with_context(|| format!("recording the end of a pass over folder `{folder}`"))?;
        }
    }
    let done = std::mem::take(&mut run.done);
    let delete_result = delete_from_source(job, source, done, &status).await;
    Ok(FolderDone {
        counts: run.counts,
        error: fetch_result
            .map_err(|e| e.context("reading from the source"))
            .err()
            .or(delete_result.err()),
        unchanged: false,
        interrupted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> FolderName {
        FolderName::parse(name).unwrap()
    }

    use crate::checkpoint::JobKey;
    use crate::endpoint::Endpoint;
    use crate::job::FolderSelection;
    use crate::message::Flags;
    use crate::store::memory::{Logged, Memory, REJECT_HEADER};
    use crate::store::{Access, AnySink, AnySource, SourceOptions};

    fn raw(id: u32) -> String {
        format!("Message-ID: <{id}@example.org>\nSubject: {id}\n\nbody {id}\n")
    }

    fn seen() -> Flags {
        Flags {
            seen: true,
            ..Flags::default()
        }
    }

    /// A job between two memory stores; its endpoints are never opened.
    fn memory_job(tag: &str, delete: bool) -> Job {
        let dir =
            std::env::temp_dir().join(format!("mailtug-pipeline-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Job {
            source: Endpoint::Maildir(dir.join("source")),
            destination: Endpoint::Maildir(dir.join("destination")),
            source_access: Access::default(),
            destination_access: Access::default(),
            folders: FolderSelection::new(&[], &[], &[]).unwrap(),
            dedup: true,
            dry_run: false,
            jobs: 1,
            retries: 0,
            special_use_map: true,
            source_options: SourceOptions {
                dedup: true,
                delete,
                ..SourceOptions::default()
            },
            key: JobKey {
                source: "memory:source".into(),
                destination: "memory:destination".into(),
                options: Vec::new(),
            },
            checkpoint_path: dir.join("state.sqlite"),
            legacy_checkpoint: None,
        }
    }

    fn shared_for(job: &Job) -> Shared {
        let state = State::open(&job.checkpoint_path, None, &job.key).unwrap();
        let (state, _thread) = StateWriter::spawn(state).unwrap();
        Shared {
            state,
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_BYTES as usize)),
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
        (from, to): (&str, &str),
        shared: &Shared,
    ) -> FolderDone {
        let mut stores = Stores::new(AnySource::from(source.clone()), AnySink::from(sink.clone()));
        let (_stop, mut stopped) = watch::channel(false);
        let mut committed = Counts::default();
        copy_folder(
            job,
            &mut stores,
            &folder(from),
            &folder(to),
            shared,
            &Progress::new(),
            &mut stopped,
            &mut committed,
            false,
        )
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
}
