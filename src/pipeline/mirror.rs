//! `mailtug mirror`: after a folder's copy, the destination follows the
//! source for every message copied before: its flags become the source's,
//! and with `--delete` a message gone from the source is removed.
//!
//! The state pairs each source message with where it was stored, so the
//! work is a walk over the folder's rows a page at a time, asking the
//! source what each message looks like now. Flag changes are applied as
//! they are found; deletions are gathered first, as the safety rails judge
//! them together, and a change is recorded only once the destination
//! made it durable (a crash in between repeats it, which is harmless).

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};

use super::connect::Stores;
use super::{MirrorCounts, Shared};
use crate::cli::DeleteLimit;
use crate::cli::Removal;
use crate::event::Event;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::job::{Job, Mirror};
use crate::message::{DestinationKey, Flags, SourceKey};
use crate::report;
use crate::state::Copied;
use crate::state::StateWriter;
use crate::store::{
    AnySink, DestinationMessage, Elsewhere, FlagChange, FlagsNow, Location, Sink, Source,
};
use futures_util::future::BoxFuture;

/// Which source message a change is for.
#[derive(Clone, Debug)]
enum Whose {
    Recorded(SourceKey),
    SetAside(i64),
}

impl Whose {
    fn key(&self) -> Option<&SourceKey> {
        match self {
            Whose::Recorded(key) => Some(key),
            Whose::SetAside(_) => None,
        }
    }
}

/// Recorded messages compared with the source at a time.
const PAGE: usize = 1_000;
/// Flag changes gathered before they go to the destination.
const APPLY_AT: usize = 10_000;

/// One change to make at the destination.
struct Change {
    /// The source message, or the row of one set aside from a replaced
    /// instance of the folder (its key meant another message).
    key: Whose,
    destination_key: DestinationKey,
    /// The flags it was given last, if recorded.
    was: Option<Flags>,
    /// The new flags (`None` for a deletion).
    flags: Option<Flags>,
}

/// What a mirror pass over a folder did.
pub(super) struct Mirrored {
    pub counts: MirrorCounts,
    /// Nothing was left undone (no failure, no deletion held back or left
    /// for `--delete`): the folder's mirror stamp may be recorded once
    /// `removals` are made.
    pub settled: bool,
    /// Removals decided, to make once every folder is copied.
    pub removals: Option<Removals>,
}

/// Makes the destination follow the source for the messages of `folder`
/// copied before. `Err` only when the run must stop (the state failed).
pub(super) async fn mirror_folder(
    job: &Job,
    shared: &Shared,
    stores: &mut Stores,
    folder: &FolderName,
    mirror: Mirror,
) -> Result<Mirrored> {
    let Walked {
        counts,
        kept_for_delete,
        removals,
    } = walk(job, shared, stores, folder, mirror).await?;
    Ok(Mirrored {
        settled: counts.changes_failed == 0
            && counts.deletions_refused == 0
            && kept_for_delete == 0,
        counts,
        removals,
    })
}

/// Counts, what `--delete` would have removed, and what it removes.
struct Walked {
    counts: MirrorCounts,
    kept_for_delete: u64,
    removals: Option<Removals>,
}

async fn walk(
    job: &Job,
    shared: &Shared,
    stores: &mut Stores,
    folder: &FolderName,
    mirror: Mirror,
) -> Result<Walked> {
    let done = |counts: MirrorCounts, kept_for_delete: u64, removals| Walked {
        counts,
        kept_for_delete,
        removals,
    };
    let mut counts = MirrorCounts::default();
    let mut gone: BTreeMap<FolderName, Vec<Change>> = BTreeMap::new();
    let (mut reachable, mut present, mut unreachable) = (0u64, 0u64, 0u64);
    let mut after: Option<SourceKey> = None;
    let mut changed: BTreeMap<FolderName, Vec<Change>> = BTreeMap::new();
    loop {
        let page = {
            let (folder, after) = (folder.clone(), after.clone());
            shared
                .state
                .call(move |state| state.copied_page(&folder, after.as_ref(), PAGE))
                .await?
        };
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        let keys: Vec<SourceKey> = page.iter().map(|copied| copied.key.clone()).collect();
        let now = match stores.source.get()?.flags_of(&keys).await {
            Ok(now) => now,
            Err(e) => {
                // Without the source's view nothing is known to change.
                report::error(&format!(
                    "folder `{folder}`: reading flags to mirror: {e:#}"
                ));
                counts.changes_failed += 1;
                return Ok(done(counts, 0, None));
            }
        };
        for (copied, now) in page.into_iter().zip(now) {
            let Copied {
                key,
                destination_folder,
                destination_key,
                flags,
            } = copied;
            let (Some(destination_key), Some(place)) = (destination_key, destination_folder) else {
                unreachable += 1;
                continue;
            };
            reachable += 1;
            match now {
                FlagsNow::Unchanged => present += 1,
                FlagsNow::Are(now) => {
                    present += 1;
                    if !flags.as_ref().is_some_and(|was| was.same_as(&now)) {
                        changed.entry(place).or_default().push(Change {
                            key: Whose::Recorded(key),
                            destination_key,
                            was: flags,
                            flags: Some(now),
                        });
                    }
                }
                FlagsNow::Gone => gone.entry(place).or_default().push(Change {
                    key: Whose::Recorded(key),
                    destination_key,
                    was: flags,
                    flags: None,
                }),
            }
        }
        // Changes go to the destination in large batches, not a page at a
        // time: a server answers one STORE per distinct change for the whole
        // batch, and a folder is selected once for it.
        let waiting: usize = changed.values().map(Vec::len).sum();
        if waiting >= APPLY_AT {
            for (place, changes) in std::mem::take(&mut changed) {
                apply_flags(job, shared, stores, folder, &place, changes, &mut counts).await?;
            }
        }
    }
    for (place, changes) in std::mem::take(&mut changed) {
        apply_flags(job, shared, stores, folder, &place, changes, &mut counts).await?;
    }
    // Messages of a replaced instance of the folder (a new UIDVALIDITY, a
    // rewritten mbox) that its copy did not find again by fingerprint.
    let set_aside = {
        let folder = folder.clone();
        shared
            .state
            .call(move |state| state.set_aside(&folder))
            .await?
    };
    for (row, place, destination_key) in set_aside {
        reachable += 1;
        gone.entry(place).or_default().push(Change {
            key: Whose::SetAside(row),
            destination_key,
            was: None,
            flags: None,
        });
    }
    if unreachable > 0 {
        report::info(&format!(
            "folder `{folder}`: {unreachable} messages were found already at the destination \
             rather than copied, so where they are is not known: their flags and deletions are \
             not mirrored"
        ));
    }
    let gone_count: u64 = gone.values().map(|changes| changes.len() as u64).sum();
    if gone_count == 0 {
        return Ok(done(counts, 0, None));
    }
    let Some(how) = mirror.delete else {
        report::info(&format!(
            "folder `{folder}`: {gone_count} messages gone from the source stay at the \
             destination (mirror --delete removes them)"
        ));
        return Ok(done(counts, gone_count, None));
    };
    if let Some(reason) = refusal(mirror.max_delete, gone_count, reachable, present) {
        report::error(&format!(
            "folder `{folder}`: {gone_count} deletions refused: {reason}"
        ));
        report::emit(&Event::DeletionsRefused {
            folder,
            count: gone_count,
            reason: &reason,
        });
        counts.deletions_refused += gone_count;
        return Ok(done(counts, 0, None));
    }
    let removals = Removals { gone, how };
    if job.dry_run {
        removals
            .apply(job, shared, &mut stores.sink, folder, &mut counts)
            .await?;
        return Ok(done(counts, 0, None));
    }
    // Removed once every folder is copied (see `Removals`).
    Ok(done(counts, 0, Some(removals)))
}

/// Messages of a folder to remove from the destination, as decided (the
/// safety rails passed them). They are removed once every folder of the run
/// has been copied: a message moved between source folders is then first
/// copied into its new folder from its old one at the destination, and
/// only then removed from the old one.
pub(super) struct Removals {
    gone: BTreeMap<FolderName, Vec<Change>>,
    how: Removal,
}

impl Removals {
    /// Removes the messages and forgets them, counting into `counts`.
    /// `Err` only when the state failed.
    pub(super) async fn apply(
        self,
        job: &Job,
        shared: &Shared,
        sink: &mut AnySink,
        folder: &FolderName,
        counts: &mut MirrorCounts,
    ) -> Result<()> {
        let how = self.how;
        for (place, changes) in self.gone {
            for chunk in chunks(changes) {
                let placed: Vec<DestinationMessage> = chunk
                    .iter()
                    .map(|c| DestinationMessage {
                        key: c.destination_key.clone(),
                        flags: c.was.clone(),
                    })
                    .collect();
                let results = match job.dry_run {
                    true => placed.iter().map(|_| Ok(())).collect(),
                    false => match sink.remove(&place, &placed, how).await {
                        Ok(results) => results,
                        Err(e) => {
                            let text = format!("{e:#}");
                            placed.iter().map(|_| Err(anyhow!("{text}"))).collect()
                        }
                    },
                };
                let (mut removed, mut dropped) = (Vec::new(), Vec::new());
                for (change, result) in chunk.into_iter().zip(results) {
                    match result {
                        Ok(()) => {
                            report::emit(&Event::Deleted {
                                folder,
                                key: change.key.key(),
                                destination_folder: &place,
                                destination_key: change.destination_key.to_json(),
                                dry_run: job.dry_run,
                            });
                            let what = format!(
                                "folder `{place}`: {} {}",
                                if job.dry_run {
                                    "would remove"
                                } else {
                                    "removed"
                                },
                                change.destination_key
                            );
                            match job.dry_run {
                                true => report::human(&what),
                                false => report::info(&what),
                            }
                            counts.messages_deleted += 1;
                            match change.key {
                                Whose::Recorded(key) => removed.push(key),
                                Whose::SetAside(row) => dropped.push(row),
                            }
                        }
                        Err(e) => {
                            report::error(&format!(
                                "folder `{place}`: {} not removed: {e:#}",
                                change.destination_key
                            ));
                            counts.changes_failed += 1;
                        }
                    }
                }
                if !job.dry_run {
                    let folder = folder.clone();
                    shared
                        .state
                        .call(move |state| {
                            state.forget_messages(&folder, &removed)?;
                            state.drop_set_aside(&dropped)
                        })
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Where the destination holds a message in a folder other than
/// `destination`, as the state records it.
pub(super) struct Recorded {
    pub state: StateWriter,
    pub destination: FolderName,
}

impl Elsewhere for Recorded {
    fn find(
        &self,
        fingerprint: &Fingerprint,
        wire_size: u64,
    ) -> BoxFuture<'static, Result<Option<Location>>> {
        let (state, destination, fingerprint) = (
            self.state.clone(),
            self.destination.clone(),
            fingerprint.clone(),
        );
        Box::pin(async move {
            state
                .call(move |state| state.stored_elsewhere(&fingerprint, wire_size, &destination))
                .await
        })
    }

    fn holds_any(&self, wanted: Vec<(Fingerprint, u64)>) -> BoxFuture<'static, Result<Vec<bool>>> {
        let (state, destination) = (self.state.clone(), self.destination.clone());
        Box::pin(async move {
            state
                .call(move |state| {
                    wanted
                        .iter()
                        .map(|(fingerprint, wire_size)| {
                            Ok(state
                                .stored_elsewhere(fingerprint, *wire_size, &destination)?
                                .is_some())
                        })
                        .collect()
                })
                .await
        })
    }
}

/// Why the deletions of a folder must not happen, if they must not.
fn refusal(limit: Option<DeleteLimit>, gone: u64, reachable: u64, present: u64) -> Option<String> {
    if present == 0 {
        return Some(format!(
            "the source folder holds none of the {reachable} messages copied from it (emptied \
             or replaced?); nothing is deleted for a folder in that state"
        ));
    }
    let allowed = DeleteLimit::allowed(limit, reachable);
    (gone > allowed).then(|| {
        format!(
            "more than the {allowed} allowed of the {reachable} messages copied from it; \
             allow them with --max-delete {gone}"
        )
    })
}

/// Changes handed to the destination at a time.
fn chunks(changes: Vec<Change>) -> Vec<Vec<Change>> {
    let mut chunks = Vec::new();
    let mut changes = changes.into_iter().peekable();
    while changes.peek().is_some() {
        chunks.push(changes.by_ref().take(PAGE).collect());
    }
    chunks
}

/// Gives messages of destination folder `place` their new flags, then
/// records them.
async fn apply_flags(
    job: &Job,
    shared: &Shared,
    stores: &mut Stores,
    folder: &FolderName,
    place: &FolderName,
    changes: Vec<Change>,
    counts: &mut MirrorCounts,
) -> Result<()> {
    let asked: Vec<FlagChange> = changes
        .iter()
        .map(|c| FlagChange {
            key: c.destination_key.clone(),
            was: c.was.clone(),
            now: c.flags.clone().unwrap_or_default(),
        })
        .collect();
    let results = match job.dry_run {
        true => asked.iter().map(|_| Ok(())).collect(),
        false => stores.sink.set_flags(place, &asked).await?,
    };
    let mut recorded = Vec::new();
    for ((change, FlagChange { now: flags, .. }), result) in
        changes.into_iter().zip(asked).zip(results)
    {
        match result {
            Ok(()) => {
                let Whose::Recorded(key) = change.key else {
                    continue;
                };
                report::emit(&Event::FlagsUpdated {
                    folder,
                    key: &key,
                    destination_folder: place,
                    destination_key: change.destination_key.to_json(),
                    flags: flags.to_string(),
                    dry_run: job.dry_run,
                });
                // A dry run lists each change; a real one at -v.
                let what = format!(
                    "folder `{place}`: {} {} flags ({})",
                    if job.dry_run { "would give" } else { "gave" },
                    change.destination_key,
                    if flags.is_empty() {
                        "none".to_string()
                    } else {
                        flags.to_string()
                    }
                );
                match job.dry_run {
                    true => report::human(&what),
                    false => report::info(&what),
                }
                counts.flags_updated += 1;
                recorded.push((key, flags));
            }
            Err(e) => {
                report::error(&format!(
                    "folder `{place}`: flags of {} not changed: {e:#}",
                    change.destination_key
                ));
                counts.changes_failed += 1;
            }
        }
    }
    if !job.dry_run {
        let folder = folder.clone();
        shared
            .state
            .call(move |state| state.set_copied_flags(&folder, &recorded))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::Removal;
    use crate::folder::FolderName;
    use crate::job::{Job, Mirror};
    use crate::message::{Flags, SourceKey};
    use crate::pipeline::order_tests::{self, memory_job, shared_for};
    use crate::pipeline::Shared;
    use crate::store::memory::{Logged, Memory, REFUSE_FLAGS_HEADER};

    fn raw(id: u32) -> String {
        format!("Message-ID: <{id}@example.org>\nSubject: {id}\n\nbody {id}\n")
    }

    fn flagged() -> Flags {
        Flags {
            seen: true,
            flagged: true,
            ..Flags::default()
        }
    }

    fn mirror_job(name: &str, dry_run: bool) -> Job {
        let mut job = memory_job(name, false);
        job.mirror = Some(Mirror {
            delete: Some(Removal::Expunge),
            max_delete: None,
        });
        job.dry_run = dry_run;
        job
    }

    async fn run(
        job: &Job,
        source: &Memory,
        sink: &Memory,
        shared: &Shared,
    ) -> super::MirrorCounts {
        let mut done = order_tests::copy_memory(job, source, sink, ("INBOX", "INBOX"), shared)
            .await
            .unwrap();
        assert!(done.error.is_none(), "{:?}", done.error);
        let mut counts = done.mirrored.unwrap_or_default();
        // What the end of a run does: the removals left for it.
        if let Some(deferred) = done.removals.take() {
            let mut sink = crate::store::AnySink::from(sink.clone());
            deferred
                .removals
                .apply(job, shared, &mut sink, &FolderName::inbox(), &mut counts)
                .await
                .unwrap();
        }
        counts
    }

    async fn recorded_flags(shared: &Shared, uid: u32) -> Option<Flags> {
        let page = shared
            .state
            .call(|state| state.copied_page(&FolderName::inbox(), None, 100))
            .await
            .unwrap();
        page.into_iter()
            .find(|c| c.key == SourceKey::Uid(uid))
            .and_then(|c| c.flags)
    }

    #[tokio::test]
    async fn flags_and_removals_reach_the_sink_and_then_the_state() {
        let job = mirror_job("mirror-order", false);
        let messages: Vec<String> = (1..=12).map(raw).collect();
        let source = Memory::new().with_folder(
            "INBOX",
            &messages
                .iter()
                .map(|m| (m.as_str(), Flags::default()))
                .collect::<Vec<_>>(),
        );
        let sink = Memory::new();
        let shared = shared_for(&job);
        run(&job, &source, &sink, &shared).await;

        source.give_flags("INBOX", 1, flagged());
        source.expunge("INBOX", 2);
        let counts = run(&job, &source, &sink, &shared).await;
        assert_eq!((counts.flags_updated, counts.messages_deleted), (1, 1));
        let log = sink.log();
        assert_eq!(
            log[log.len() - 2..],
            [
                Logged::FlagsSet(FolderName::inbox(), vec![1]),
                Logged::Removed(FolderName::inbox(), vec![2]),
            ]
        );
        assert_eq!(recorded_flags(&shared, 1).await, Some(flagged()));
        let rows = shared
            .state
            .call(|state| state.copied_page(&FolderName::inbox(), None, 100))
            .await
            .unwrap();
        assert!(
            rows.iter().all(|c| c.key != SourceKey::Uid(2)),
            "forgotten once removed"
        );
        let held = sink.messages("INBOX").unwrap();
        assert_eq!(held.len(), 11);
        assert_eq!(held[0].flags, flagged());
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_refused_flag_change_is_not_recorded_and_is_tried_again() {
        let job = mirror_job("mirror-refused", false);
        let refusing = format!("{REFUSE_FLAGS_HEADER}\n{}", raw(1));
        let source = Memory::new().with_folder(
            "INBOX",
            &[
                (refusing.as_str(), Flags::default()),
                (&raw(2), Flags::default()),
            ],
        );
        let sink = Memory::new();
        let shared = shared_for(&job);
        run(&job, &source, &sink, &shared).await;
        source.give_flags("INBOX", 1, flagged());
        source.give_flags("INBOX", 2, flagged());
        for _ in 0..2 {
            let counts = run(&job, &source, &sink, &shared).await;
            assert_eq!(counts.changes_failed, 1);
            assert_eq!(recorded_flags(&shared, 1).await, Some(Flags::default()));
        }
        assert_eq!(recorded_flags(&shared, 2).await, Some(flagged()));
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_dry_run_changes_neither_the_sink_nor_the_state() {
        let job = mirror_job("mirror-dry", false);
        let source = Memory::new().with_folder(
            "INBOX",
            &[(&raw(1), Flags::default()), (&raw(2), Flags::default())],
        );
        let sink = Memory::new();
        let shared = shared_for(&job);
        run(&job, &source, &sink, &shared).await;
        source.give_flags("INBOX", 1, flagged());
        let dry = Job {
            dry_run: true,
            ..mirror_job("mirror-dry", true)
        };
        let log_before = sink.log();
        let counts = run(&dry, &source, &sink, &shared).await;
        assert_eq!(counts.flags_updated, 1, "reported as it would be");
        assert_eq!(sink.log(), log_before);
        assert_eq!(recorded_flags(&shared, 1).await, Some(Flags::default()));
        let _ = std::fs::remove_dir_all(job.checkpoint_path.parent().unwrap());
    }
}
