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
//!
//! Read top to bottom, by role: `copy` (here) locks the job, connects,
//! settles the folders with nothing new and gathers what the workers did;
//! `plan` chooses the folders, their destinations and their order;
//! `worker` runs the queue on its own connections and reconnects;
//! `folder` copies one folder; `batch` commits and records what a folder
//! handled; `delete` deletes from the source, last; `connect` holds a
//! worker's source and sink.

mod batch;
mod connect;
mod delete;
mod folder;
mod labels;
mod mirror;
mod plan;
mod preview;
mod worker;

#[cfg(test)]
mod order_tests;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::checkpoint::{FolderProgress, JobLock};
use crate::event::Event;
use crate::folder::FolderName;
use crate::job::Job;
use crate::message::SourceKey;
use crate::rate::{unix_now as unix_seconds, DailyWindow, Direction, Meter, Meters};
use crate::report::{self, Progress};
use crate::state::{State, StateWriter, WriterThread};
use crate::store::AnySink;
use connect::{connect_sink, connect_source, Stores};
use plan::Unit;
pub use preview::{Preview, PreviewFolder};
use worker::Worker;

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
    /// Messages not copied because the destination folder held them:
    /// before the run, or since this run stored another copy (see
    /// `duplicates_in_source`).
    pub messages_duplicate: u64,
    /// Of `messages_duplicate`: copies within the source of a message
    /// this run stored (the same message in two folders, or twice in one).
    pub duplicates_in_source: u64,
    pub messages_failed: u64,
    /// Of `messages_failed`: larger than the destination accepts
    /// (APPENDLIMIT, so not sent; or refused with `[TOOBIG]`, `[LIMIT]`).
    pub messages_too_large: u64,
    /// Of `messages_failed`: refused because the destination account is
    /// over its storage quota (`[OVERQUOTA]` to an APPEND).
    pub messages_over_quota: u64,
    pub bytes_copied: u64,
    /// A dry run: messages a `--max-size` leaves out (a real run's source
    /// never offers them).
    #[serde(skip)]
    pub over_max_size: u64,
}

impl Counts {
    /// Messages not copied because the destination held them before the
    /// run (not the run's own copies of a message twice in the source).
    pub fn at_destination(&self) -> u64 {
        self.messages_duplicate - self.duplicates_in_source
    }

    fn add(&mut self, other: &Counts) {
        self.messages_copied += other.messages_copied;
        self.messages_duplicate += other.messages_duplicate;
        self.duplicates_in_source += other.duplicates_in_source;
        self.messages_failed += other.messages_failed;
        self.messages_too_large += other.messages_too_large;
        self.messages_over_quota += other.messages_over_quota;
        self.over_max_size += other.over_max_size;
        self.bytes_copied += other.bytes_copied;
    }
}

/// What a mirror changed at the destination, beyond the copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MirrorCounts {
    /// Messages whose flags were made equal to the source's.
    pub flags_updated: u64,
    /// Messages removed because they are gone from the source.
    pub messages_deleted: u64,
    /// Deletions a safety rail held back.
    pub deletions_refused: u64,
    /// Changes the destination refused or that failed.
    pub changes_failed: u64,
}

impl MirrorCounts {
    pub(super) fn add(&mut self, other: &MirrorCounts) {
        self.flags_updated += other.flags_updated;
        self.messages_deleted += other.messages_deleted;
        self.deletions_refused += other.deletions_refused;
        self.changes_failed += other.changes_failed;
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
    /// What a mirror changed beyond the copy; absent from a copy's summary.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub mirrored: Option<MirrorCounts>,
    pub seconds: f64,
    /// Times a server asked the run to slow down and it waited (a
    /// throttled answer, or an `OK` saying `[THROTTLED]`).
    pub throttled_waits: u64,
    /// Seconds spent in those waits, over all connections.
    pub throttled_seconds: f64,
    /// Folders that failed, for the summary line.
    #[serde(skip)]
    pub failed_folders: Vec<String>,
    /// The job's state showed an earlier run that did not finish: this
    /// one took up where it stopped.
    #[serde(skip)]
    pub resumed: bool,
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
        self.failed_folders
            .extend(other.failed_folders.iter().cloned());
        self.counts.add(&other.counts);
        if let Some(other) = &other.mirrored {
            self.mirrored
                .get_or_insert_with(MirrorCounts::default)
                .add(other);
        }
    }

    /// Deletions a safety rail refused (mirror).
    pub fn deletions_refused(&self) -> u64 {
        self.mirrored.map_or(0, |m| m.deletions_refused)
    }

    pub fn is_clean(&self) -> bool {
        !self.interrupted
            && self.folders_failed == 0
            && self.counts.messages_failed == 0
            && self.files_skipped == 0
            && self.mirrored.is_none_or(|m| m.changes_failed == 0)
    }
}

/// How a run that got as far as copying ended.
pub struct Finished {
    pub summary: Summary,
    /// The failure that stopped the whole run (the destination failed), if
    /// any; the summary still counts what was done before it.
    pub fatal: Option<anyhow::Error>,
    /// A dry run: what it learned for the plan.
    pub preview: Option<Preview>,
}

/// Runs a copy job to the end (or to an interruption).
///
/// Folders are spread over up to `job.jobs` workers, each with its own source
/// and sink (for servers: its own connections), each owning one destination
/// folder at a time, so two workers never write into the same folder.
pub async fn copy(job: &Job, interrupt: InterruptSignal) -> Result<Finished> {
    let started = Instant::now();
    // `mailtug run` runs several jobs in one process: this run's waits
    // are those after this point.
    let waits_before = crate::rate::waits();
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
    let mut sink = connect_sink(&job).await?;
    let units = plan::select_folders(&job, &mut source, &sink).await?;
    let labels = labels::Labels::gather(&job, &mut source, &units).await?;

    let (shared, state_thread) = start_state(&job, &units, &sink, labels).await?;
    let mut preview = match job.dry_run {
        true => Some(preview::look(&job, &source, &mut sink, &units, &shared).await),
        false => None,
    };
    let started_at = unix_now();
    // An earlier run that did not finish: this one resumes it.
    let resumed = shared
        .state
        .call(|state| Ok(state.last_run()))
        .await
        .ok()
        .flatten()
        .is_some_and(|run| matches!(run.status.as_str(), "running" | "interrupted"));
    if !job.dry_run {
        // Through the run's writer, which holds the state file alone.
        let run = last_run("running", started_at, None, &Summary::default());
        if let Err(e) = shared
            .state
            .call(move |state| state.set_last_run(&run))
            .await
        {
            report::warn(&format!("{e:#}"));
        }
    }
    // Folders with nothing new are settled here, on the first connection,
    // so a run with nothing to do opens no further connections.
    let (settled, mut units) = plan::settle_unchanged(&job, &mut source, units, &shared).await;
    if units.len() > job.jobs {
        // More folders than workers: the order decides which folder runs
        // alone at the end.
        plan::order_largest_first(&mut source, &mut units).await;
    }
    // The folders still to copy: the whole run's line knows its total once
    // each has started.
    let progress = Arc::new(Progress::new(units.iter().map(Vec::len).sum::<usize>()));
    let queue = Arc::new(Mutex::new(units.into_iter().collect::<VecDeque<_>>()));

    // One stop signal for everyone: the user's interrupt, or a worker whose
    // destination failed.
    let (stop, _) = watch::channel(false);
    let stop = Arc::new(stop);
    let forwarder = forward_interrupt(interrupt, stop.clone());
    let worker = Worker {
        job: job.clone(),
        shared: shared.clone(),
        running: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        queue: queue.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        stopped_by: Arc::new(Mutex::new(None)),
    };
    let handles = worker::spawn(worker, Stores::new(source, sink)).await;

    let mut summary = Summary {
        dry_run: job.dry_run,
        resumed,
        ..Summary::default()
    };
    summary.add(&settled);
    let mut fatal = gather(handles, &mut summary).await;
    // Left only when the last worker to end could not make them.
    let stopped = *stop.borrow();
    if let Err(e) = remove_deferred(&job, &shared, stopped, &mut summary, None).await {
        fatal.get_or_insert(e);
    }
    forwarder.abort();
    progress.finish();
    if let Some(preview) = &mut preview {
        preview::fill(preview, &shared.results);
    }
    // What the last commits counted against the daily budgets.
    let shared_meters_saved = match job.dry_run {
        true => Ok(()),
        false => shared.save_daily_bytes().await,
    };
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
    if let Err(e) = shared_meters_saved {
        report::warn(&format!("{e:#}"));
    }
    let (waits, waited) = crate::rate::waits();
    summary.throttled_waits = waits - waits_before.0;
    summary.throttled_seconds = waited.saturating_sub(waits_before.1).as_secs_f64();
    let paused = fatal.as_ref().is_some_and(crate::exit::is_try_later);
    let status = if paused {
        // Stopped by a limit: the next run resumes it.
        "interrupted"
    } else if fatal.is_some() || !summary.is_clean() && !summary.interrupted {
        "failed"
    } else if summary.interrupted {
        "interrupted"
    } else {
        "finished"
    };
    record_run(&job, status, started_at, Some(unix_now()), &summary);
    Ok(Finished {
        summary,
        fatal,
        preview,
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Keeps how the run went in the job's state, for `mailtug state list`.
/// A dry run keeps nothing; a failure to write is only a warning (the
/// messages and their records are what matter, and they are committed).
fn record_run(job: &Job, status: &str, started: u64, ended: Option<u64>, summary: &Summary) {
    if job.dry_run {
        return;
    }
    let run = last_run(status, started, ended, summary);
    if let Err(e) = crate::state::record_last_run(&job.checkpoint_path, &run) {
        report::warn(&format!("{e:#}"));
    }
}

fn last_run(
    status: &str,
    started: u64,
    ended: Option<u64>,
    summary: &Summary,
) -> crate::state::LastRun {
    crate::state::LastRun {
        status: status.to_string(),
        started,
        ended,
        messages_copied: summary.counts.messages_copied,
        messages_duplicate: summary.counts.messages_duplicate,
        messages_failed: summary.counts.messages_failed,
        bytes_copied: summary.counts.bytes_copied,
    }
}

/// `mirror --delete`: makes the removals that folders left for the end of
/// the run, when every folder has been copied, through `sink` (the last
/// worker's) or a connection of their own; then reports those folders
/// done. A stopped run leaves them to the next one (their rows and the
/// source's stamp stay as they were). `Err` only when the state failed.
async fn remove_deferred(
    job: &Job,
    shared: &Shared,
    stopped: bool,
    summary: &mut Summary,
    sink: Option<&mut AnySink>,
) -> Result<()> {
    let deferred = std::mem::take(&mut *lock(&shared.deferred));
    if deferred.is_empty() {
        return Ok(());
    }
    let mut connected = None;
    let mut sink = match (stopped, sink) {
        (true, _) => None,
        (false, Some(sink)) => Some(sink),
        (false, None) => match connect_sink(job).await {
            Ok(sink) => connected.insert(sink).into(),
            Err(e) => {
                report::error(&format!(
                    "removing messages gone from the source: {e:#}; the next run removes them"
                ));
                None
            }
        },
    };
    let mut failed = None;
    for (folder, destination, mut done) in deferred {
        let Some(removals) = done.removals.take() else {
            continue;
        };
        let mut counts = MirrorCounts::default();
        match (&mut sink, &failed) {
            (Some(sink), None) => {
                let applied = removals
                    .removals
                    .apply(job, shared, sink, &folder, &mut counts)
                    .await;
                let recorded = match (applied, removals.stamp) {
                    (Ok(()), Some(stamp)) if counts.changes_failed == 0 => {
                        shared.record_mirror_stamp(&folder, stamp).await
                    }
                    (applied, _) => applied,
                };
                failed = recorded.err();
            }
            _ => report::info(&format!(
                "folder `{folder}`: messages gone from the source were not removed, as the \
                 run stopped first; the next run removes them"
            )),
        }
        done.mirrored
            .get_or_insert_with(Default::default)
            .add(&counts);
        summary
            .mirrored
            .get_or_insert_with(Default::default)
            .add(&counts);
        worker::report_folder_done(shared, &folder, &destination, &done, done.error.as_ref());
    }
    if let Some(sink) = connected {
        crate::store::Sink::close(sink).await;
    }
    failed.map_or(Ok(()), Err)
}

/// Passes the user's interrupt on to the run's stop signal.
fn forward_interrupt(
    mut interrupt: InterruptSignal,
    stop: Arc<watch::Sender<bool>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if interrupt.wait_for(|&stopped| stopped).await.is_ok() {
            stop.send_replace(true);
        }
    })
}

/// Waits for every worker and adds up what they did. Returns the first
/// failure that stopped the run, if any.
async fn gather(
    handles: Vec<JoinHandle<worker::Ended>>,
    summary: &mut Summary,
) -> Option<anyhow::Error> {
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
    fatal
}

/// What the workers share: the job's state (behind its writer thread) and
/// the budget of bytes in flight.
struct Shared {
    state: StateWriter,
    /// Bytes of messages in flight, for all workers together.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// `mirror --delete`: folders whose removals wait for the end of the
    /// run, with their copy's outcome (their `folder_done` waits too).
    deferred: Mutex<Vec<(FolderName, FolderName, folder::FolderDone)>>,
    /// How each folder ended, for a dry run's plan.
    results: preview::Results,
    /// The per-second limits and daily budgets of the source and
    /// destination accounts, over all workers.
    meters: Meters,
    /// A Gmail source: what its label policy adds to the copy.
    labels: labels::Labels,
}

impl Shared {
    /// The recorded progress of a source folder, `None` the first time.
    async fn recorded(&self, folder: &FolderName) -> Result<Option<FolderProgress>> {
        self.state.folder(folder).await
    }

    /// Records that a mirror of `folder` left nothing undone, as of the
    /// source's `stamp`.
    async fn record_mirror_stamp(&self, folder: &FolderName, stamp: String) -> Result<()> {
        if let Some(mut progress) = self.recorded(folder).await? {
            progress.mirror_stamp = Some(stamp);
            self.save_folder(folder, &progress, &[])
                .await
                .with_context(|| format!("recording the mirror of folder `{folder}`"))?;
        }
        Ok(())
    }

    /// Lets one message of `bytes` go in `direction`: waits while the
    /// connections are held back and for the per-second limits; `Err`
    /// (exit 75) when the daily budget has no room for it.
    async fn admit(&self, direction: Direction, bytes: u64) -> Result<()> {
        crate::rate::wait_if_held().await;
        let (meter, _) = self.meters.of(direction);
        meter
            .admit(direction, bytes)
            .map_err(|spent| crate::exit::try_later(spent.sentence()))?;
        meter.pace(bytes).await;
        Ok(())
    }

    /// Writes the bytes counted against the daily budgets since the last
    /// call to the state, so that the next run counts them too.
    async fn save_daily_bytes(&self) -> Result<()> {
        for direction in [Direction::Download, Direction::Upload] {
            let (meter, account) = self.meters.of(direction);
            let bytes = meter.take_unsaved();
            if bytes == 0 {
                continue;
            }
            let account = account.to_string();
            self.state
                .call(move |state| {
                    state.add_daily_bytes(&account, direction.as_str(), unix_seconds(), bytes)
                })
                .await?;
        }
        Ok(())
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

/// Opens the job's state, forgets the folders whose copy is gone, and
/// starts the thread that writes it.
async fn start_state(
    job: &Job,
    units: &[Unit],
    sink: &AnySink,
    labels: labels::Labels,
) -> Result<(Arc<Shared>, WriterThread)> {
    let mut state = open_state(job).await?;
    plan::forget_folders_whose_copy_is_gone(units, sink, &mut state)?;
    if job.mirror.is_some() && !job.dry_run {
        crate::durable::blocking(|| state.index_fingerprints())?;
    }
    let meters = meters(job, &mut state)?;
    for direction in [Direction::Download, Direction::Upload] {
        if let Some(spent) = meters.of(direction).0.spent(direction) {
            return Err(crate::exit::try_later(spent.sentence()));
        }
    }
    let (state, state_thread) = StateWriter::spawn(state)?;
    let shared = Arc::new(Shared {
        state,
        in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_BYTES as usize)),
        deferred: Mutex::new(Vec::new()),
        results: Mutex::new(Vec::new()),
        meters,
        labels,
    });
    Ok((shared, state_thread))
}

/// The run's limits, with what the job's state says each account moved in
/// the last 24 hours. A dry run moves no mail worth counting: it keeps only
/// the per-second limits.
fn meters(job: &Job, state: &mut State) -> Result<Meters> {
    let now = unix_seconds();
    let mut window = |budget: Option<u64>, account: &str, direction: Direction| match budget
        .filter(|_| !job.dry_run)
    {
        Some(budget) => {
            let moved = state.daily_bytes(account, direction.as_str(), now)?;
            anyhow::Ok(Some(DailyWindow::new(budget, moved, now)))
        }
        None => Ok(None),
    };
    let (source, destination) = (job.key.source.clone(), job.key.destination.clone());
    let download = window(job.src_daily_bytes, &source, Direction::Download)?;
    let upload = window(job.dst_daily_bytes, &destination, Direction::Upload)?;
    Ok(Meters {
        download: Meter::new(
            job.max_bytes_per_second,
            job.max_messages_per_second,
            download,
        ),
        upload: Meter::new(
            job.max_bytes_per_second,
            job.max_messages_per_second,
            upload,
        ),
        source,
        destination,
    })
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
