//! A worker: takes units from the queue and copies their folders one at a
//! time on a source and a sink of its own, reconnecting both when a
//! connection is lost.
//!
//! A lost connection is retried (`--retries`), each attempt resuming from
//! the state. A destination that fails otherwise stops every worker; what
//! was committed before stays recorded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connect::Stores;
use super::folder::{FolderCopy, FolderDone};
use super::plan::Unit;
use super::{lock, Counts, Shared, Summary};
use crate::error::is_disconnected;
use crate::event::Event;
use crate::exit::is_try_later;
use crate::folder::FolderName;
use crate::job::Job;
use crate::report::{self, Progress};
use crate::throttle::{self, Throttle, ThrottleKind, SHORT_WAIT};

/// Throttled answers in a row a folder waits out before the run stops
/// until later: half of the ten after which Microsoft 365 drops a session,
/// so the account is never pushed that far.
const MAX_THROTTLED: u32 = 5;

/// How long a provider's allowance is taken to last when it does not say:
/// Gmail's bandwidth limits lift within hours; an hour is the first time
/// worth trying again without risking a suspended account.
const ALLOWANCE_PAUSE: Duration = Duration::from_secs(60 * 60);

/// When to stop the run rather than wait `wait` after the `count`-th
/// throttled answer in a row: `Some(how long until a new run)`.
fn give_up_after(throttle: Throttle, count: u32, wait: Duration) -> Option<Duration> {
    match throttle.kind {
        ThrottleKind::Allowance => Some(throttle.wait.unwrap_or(ALLOWANCE_PAUSE)),
        _ if wait > SHORT_WAIT => Some(wait),
        // Asked again and again without a time: come back in a while.
        _ if count > MAX_THROTTLED => Some(throttle.wait.unwrap_or(SHORT_WAIT * 15)),
        _ => None,
    }
}

/// What a worker did, and the failure of the destination that stopped it,
/// if any.
pub(super) type Ended = (Summary, Option<anyhow::Error>);

#[derive(Clone)]
pub(super) struct Worker {
    pub job: Arc<Job>,
    pub shared: Arc<Shared>,
    /// Workers not yet ended: the last one makes the removals left for the
    /// end of the run, on its own connection.
    pub running: Arc<AtomicUsize>,
    pub queue: Arc<Mutex<VecDeque<Unit>>>,
    pub progress: Arc<Progress>,
    pub stop: Arc<watch::Sender<bool>>,
    /// Why the run stops, when a worker's destination failed: folders cut
    /// short by it say so.
    pub stopped_by: Arc<Mutex<Option<String>>>,
}

/// Starts one worker per unit, up to `job.jobs`. The first takes over the
/// stores that listed the folders; the others connect their own.
pub(super) async fn spawn(worker: Worker, first: Stores) -> Vec<JoinHandle<Ended>> {
    let workers = worker.job.jobs.min(lock(&worker.queue).len());
    worker.running.store(workers, Ordering::SeqCst);
    let mut handles = Vec::with_capacity(workers);
    let mut first = Some(first);
    if workers == 0 {
        if let Some(stores) = first.take() {
            stores.close().await;
        }
    }
    for number in 0..workers {
        let worker = worker.clone();
        let stores = first.take();
        handles.push(tokio::spawn(async move {
            let stores = match stores {
                Some(stores) => stores,
                None => match Stores::connect(&worker.job).await {
                    Ok(stores) => stores,
                    Err(e) => {
                        // Fewer connections than asked for still finish the job.
                        report::warn(&format!("worker {number} could not start: {e:#}"));
                        worker.running.fetch_sub(1, Ordering::SeqCst);
                        return (Summary::default(), None);
                    }
                },
            };
            worker.run(stores).await
        }));
    }
    handles
}

impl Worker {
    /// Copies folders from the queue until it is empty or the run stops.
    /// Returns what it did, and the failure of the destination that
    /// stopped it, if any.
    async fn run(self, mut stores: Stores) -> Ended {
        let mut summary = Summary::default();
        let mut fatal = None;
        let mut stop = self.stop.subscribe();
        while let Some(unit) = self.next_unit() {
            if let Err(e) = self
                .copy_unit(unit, &mut stores, &mut stop, &mut summary)
                .await
            {
                fatal = Some(e);
                break;
            }
            if *stop.borrow() {
                break;
            }
        }
        if self.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last worker: every folder is copied.
            let stopped = *stop.borrow();
            if let Err(e) = super::remove_deferred(
                &self.job,
                &self.shared,
                stopped,
                &mut summary,
                Some(&mut stores.sink),
            )
            .await
            {
                fatal.get_or_insert(e);
            }
        }
        stores.close().await;
        (summary, fatal)
    }

    fn next_unit(&self) -> Option<Unit> {
        lock(&self.queue).pop_front()
    }

    /// Copies the folders of a unit in turn. `Err` is the failure of the
    /// destination, which stops the run.
    async fn copy_unit(
        &self,
        unit: Unit,
        stores: &mut Stores,
        stop: &mut watch::Receiver<bool>,
        summary: &mut Summary,
    ) -> Result<()> {
        let mut unit = unit.into_iter();
        while let Some((folder, destination)) = unit.next() {
            if *stop.borrow() {
                summary.folders_not_started += 1 + unit.len() as u64;
                break;
            }
            summary.folders += 1;
            let mut copy = FolderCopy {
                job: &self.job,
                shared: &self.shared,
                progress: &self.progress,
                stop,
                folder: &folder,
                destination: &destination,
                destination_unsettled: false,
            };
            let (outcome, committed) = self
                .copy_with_retries(&mut copy, stores, &mut summary.counts)
                .await;
            let done = match outcome {
                Ok(done) => done,
                Err(e) => {
                    // The destination failed: what was committed stays
                    // recorded; everyone stops. A limit's sentence stands
                    // alone: it is the line a person acts on.
                    let e = match is_try_later(&e) {
                        true => e,
                        false => e.context(format!("copying folder `{folder}`")),
                    };
                    // What the failed attempt committed is recorded: count it.
                    summary.counts.add(&committed);
                    // A limit is no failure: the folders it cuts short are
                    // only interrupted, and the next run goes on with them.
                    if !is_try_later(&e) {
                        lock(&self.stopped_by).get_or_insert_with(|| format!("{e:#}"));
                        summary.folders_failed += 1;
                    }
                    self.stop.send_replace(true);
                    summary.folders_not_started += unit.len() as u64;
                    report_folder_done(
                        &self.shared,
                        &folder,
                        &destination,
                        &FolderDone::default(),
                        Some(&e),
                    );
                    return Err(e);
                }
            };
            if self.finish_folder(&folder, &destination, done, summary) {
                self.stop.send_replace(true);
                summary.folders_not_started += unit.len() as u64;
                break;
            }
        }
        Ok(())
    }

    /// Copies one folder, reconnecting both sides after a lost connection.
    /// Returns the last attempt's outcome and what it committed; what
    /// earlier attempts committed is added to `counts`.
    async fn copy_with_retries(
        &self,
        copy: &mut FolderCopy<'_>,
        stores: &mut Stores,
        counts: &mut Counts,
    ) -> (Result<FolderDone>, Counts) {
        // Attempts in a row that stored nothing: a link that drops now
        // and then still finishes a large folder, as each attempt
        // resumes from the checkpoint.
        let mut attempt = 0;
        // Throttled answers in a row, without anything stored between them.
        let mut throttled = 0;
        loop {
            let mut committed = Counts::default();
            let outcome = copy.run(stores, &mut committed).await;
            let stored = committed.messages_copied + committed.messages_duplicate > 0;
            if stored {
                throttled = 0;
            }
            let throttle = match &outcome {
                Err(e) => throttle::of(e).map(|t| (t, e)),
                Ok(done) => done
                    .error
                    .as_ref()
                    .and_then(|e| throttle::of(e).map(|t| (t, e))),
            };
            if let Some((throttle, reason)) = throttle {
                throttled += 1;
                let lost_too = is_disconnected(reason);
                let wait = self.wait_out(copy.folder, throttle, reason, throttled);
                let mut stop = copy.stop.clone();
                let waited = tokio::select! {
                    waited = wait => waited,
                    // Stopped while waiting: the folder ends here.
                    _ = stop.wait_for(|&stopped| stopped) => Ok(()),
                };
                match waited {
                    Err(e) => {
                        counts.add(&committed);
                        return (Err(e), Counts::default());
                    }
                    Ok(()) if *copy.stop.borrow() => return (outcome, committed),
                    Ok(()) if !lost_too => {
                        counts.add(&committed);
                        continue;
                    }
                    // The server hung up as well: reconnect, below.
                    Ok(()) => {}
                }
            }
            let lost = match &outcome {
                Err(e) => is_disconnected(e).then_some(e),
                Ok(done) => done.error.as_ref().filter(|e| is_disconnected(e)),
            };
            let Some(reason) = lost else {
                return (outcome, committed);
            };
            copy.destination_unsettled = outcome.is_err();
            if committed.messages_copied + committed.messages_duplicate > 0 {
                attempt = 0;
            }
            if attempt >= self.job.retries || *copy.stop.borrow() {
                return (outcome, committed);
            }
            let folder = copy.folder;
            report::warn(&format!(
                "folder `{folder}`: {reason:#}; reconnecting (attempt {} of {})",
                attempt + 1,
                self.job.retries
            ));
            match self.reconnect(folder, &mut attempt, copy.stop).await {
                Some(new) => {
                    *stores = new;
                    // What the failed attempt committed is recorded;
                    // count it. Its failures are not final: the retry
                    // redoes them.
                    counts.add(&committed);
                }
                None => return (outcome, committed),
            }
        }
    }

    /// Waits out the `count`-th throttled answer in a row, holding every
    /// connection back meanwhile; `Err` (exit 75, saying when to run
    /// again) when the wait is too long or the answers keep coming.
    async fn wait_out(
        &self,
        folder: &FolderName,
        throttle: Throttle,
        reason: &anyhow::Error,
        count: u32,
    ) -> Result<()> {
        let wait = throttle::backoff(throttle, count, throttle::random());
        if let Some(resume) = give_up_after(throttle, count, wait) {
            let why = match throttle.kind {
                ThrottleKind::Allowance => "a provider's allowance is used up".to_string(),
                _ if count > MAX_THROTTLED => format!(
                    "throttled {MAX_THROTTLED} times in a row, stopping before the server \
                     drops the session"
                ),
                _ => format!("asked to wait {} s", wait.as_secs()),
            };
            let now = crate::rate::unix_now();
            return Err(crate::exit::try_later(format!(
                "{reason:#}; {why}; run the same command again after {} to resume",
                crate::rate::local_time(now + resume.as_secs(), now)
            )));
        }
        report::warn(&format!(
            "folder `{folder}`: {reason:#}; waiting {:.1} s before going on \
             (throttled {count} of at most {MAX_THROTTLED} times in a row)",
            wait.as_secs_f64()
        ));
        crate::rate::hold(wait);
        crate::rate::wait_if_held().await;
        Ok(())
    }

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

    /// Counts and reports the end of a folder. True when it was
    /// interrupted, and the worker stops.
    fn finish_folder(
        &self,
        folder: &FolderName,
        destination: &FolderName,
        mut done: FolderDone,
        summary: &mut Summary,
    ) -> bool {
        if done.interrupted && done.error.is_none() {
            if let Some(reason) = lock(&self.stopped_by).clone() {
                done.error = Some(anyhow::anyhow!(
                    "stopped before the end, because the run stopped: {reason}"
                ));
            }
        }
        summary.counts.add(&done.counts);
        if let Some(mirrored) = &done.mirrored {
            summary
                .mirrored
                .get_or_insert_with(Default::default)
                .add(mirrored);
        }
        if done.unchanged {
            summary.folders_unchanged += 1;
        }
        if let Some(e) = &done.error {
            summary.folders_failed += 1;
            summary.failed_folders.push(folder.to_string());
            report::error(&format!("folder `{folder}`: {e:#}"));
        }
        let interrupted = done.interrupted;
        if done.removals.is_some() {
            // Its removals, and so its `folder_done`, wait for the end of
            // the run.
            lock(&self.shared.deferred).push((folder.clone(), destination.clone(), done));
        } else {
            report_folder_done(
                &self.shared,
                folder,
                destination,
                &done,
                done.error.as_ref(),
            );
        }
        interrupted
    }
}

/// The `folder_done` event of a folder.
pub(super) fn report_folder_done(
    shared: &Shared,
    folder: &FolderName,
    destination: &FolderName,
    done: &FolderDone,
    error: Option<&anyhow::Error>,
) {
    lock(&shared.results).push((
        folder.clone(),
        super::preview::FolderResult {
            counts: done.counts,
            error: error.map(|e| format!("{e:#}")),
        },
    ));
    // -v: a line per folder.
    if !done.unchanged && error.is_none() {
        let c = &done.counts;
        let target = match folder == destination {
            true => String::new(),
            false => format!(" -> `{destination}`"),
        };
        report::info(&format!(
            "folder `{folder}`{target}: {} copied ({}), {} duplicate, {} failed{}",
            c.messages_copied,
            report::bytes(c.bytes_copied),
            c.messages_duplicate,
            c.messages_failed,
            if done.interrupted {
                ", interrupted"
            } else {
                ""
            }
        ));
    }
    report::emit(&Event::FolderDone {
        folder,
        destination_folder: destination,
        unchanged: done.unchanged,
        counts: done.counts,
        mirrored: done.mirrored,
        error: error.map(|e| format!("{e:#}")),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_waits_are_waited_out_and_allowances_long_waits_and_repeats_stop_the_run() {
        let throttle = |kind, wait: Option<u64>| Throttle {
            kind,
            wait: wait.map(Duration::from_millis),
        };
        let slow = ThrottleKind::SlowDown;
        let cases = [
            // (throttle, answers in a row, wait) → stop, and resume after
            (throttle(slow, Some(300)), 1, 300, None),
            (throttle(slow, None), MAX_THROTTLED, 16_000, None),
            (throttle(slow, None), MAX_THROTTLED + 1, 32_000, Some(900)),
            (throttle(slow, Some(120_000)), 1, 120_000, Some(120)),
            (
                throttle(ThrottleKind::Allowance, None),
                1,
                1_000,
                Some(3600),
            ),
        ];
        for (throttle, count, wait, expected) in cases {
            let stop = give_up_after(throttle, count, Duration::from_millis(wait));
            assert_eq!(stop.map(|d| d.as_secs()), expected, "{throttle:?} ×{count}");
        }
    }
}
