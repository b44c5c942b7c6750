//! Which folders a run copies, where each goes, and in what order.
//!
//! Source folders that share a destination folder form one unit, copied by
//! one worker in turn, so two workers never write into the same folder.
//! Folders the state shows complete and unchanged are settled before any
//! worker starts, on the connection that listed them.

use std::collections::HashMap;

use anyhow::{Context, Result};

use super::folder::stamp_to_record;
use super::{Shared, Summary};
use crate::event::Event;
use crate::exit;
use crate::folder::FolderName;
use crate::job::Job;
use crate::report;
use crate::state::State;
use crate::store::{AnySink, AnySource, SingleFolder, Sink, Source};
use crate::suggest;

/// Source folders that share a destination folder: one worker copies them in turn.
pub(super) type Unit = Vec<(FolderName, FolderName)>;

/// The source folders taking part, each with its destination name, grouped
/// by destination folder (in source order).
pub(super) async fn select_folders(
    job: &Job,
    source: &mut AnySource,
    sink: &AnySink,
) -> Result<Vec<Unit>> {
    let available = source
        .folders()
        .await
        .with_context(|| format!("listing folders of `{}`", job.source))?;
    for wanted in &job.folders.only {
        if !available.contains(wanted) {
            let names: Vec<&str> = available.iter().map(FolderName::as_str).collect();
            return Err(suggest::missing_folder(
                wanted.as_str(),
                &job.source.to_string(),
                &names,
            ));
        }
    }
    if available.is_empty() {
        report::warn(&format!("`{}` holds no folders", job.source));
    }
    // A folder the destination's URL names (`imaps://host/Restored`) is
    // the parent of the source's folders, or the home of a source's only
    // one (see `under_url_folder`); one file holds one folder only.
    let single_folder = sink.capabilities().single_folder;
    let url_folder = match &single_folder {
        Some(SingleFolder::Named(folder)) => Some(folder.clone()),
        _ => None,
    };
    let source_holds_one = available.len() == 1;
    let selected: Vec<(FolderName, FolderName)> = available
        .into_iter()
        .filter(|f| job.folders.includes(f))
        // A preset leaves some folders out, unless named with --folder.
        .filter(|f| job.folders.only.contains(f) || job.presets.takes(f))
        .map(|f| {
            let destination = match &url_folder {
                Some(url_folder) => job
                    .folders
                    .under_url_folder(url_folder, source_holds_one, &f),
                None => destination_of(job, source, sink, &f),
            };
            (f, destination)
        })
        .collect();
    let units = group_by_destination(selected);
    if single_folder == Some(SingleFolder::File) && units.len() > 1 {
        return Err(exit::usage(format!(
            "`{}` is a single mbox file and holds one folder, but {} folders are selected; choose one with --folder, merge them with --map, or give a directory",
            job.destination,
            units.len()
        )));
    }
    Ok(units)
}

/// One unit per destination folder, in the order each is first named.
fn group_by_destination(selected: Vec<(FolderName, FolderName)>) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of: HashMap<FolderName, usize> = HashMap::new();
    for (folder, destination) in selected {
        match unit_of.get(&destination) {
            Some(&i) => units[i].push((folder, destination)),
            None => {
                unit_of.insert(destination.clone(), units.len());
                units.push(vec![(folder, destination)]);
            }
        }
    }
    units
}

/// Where a source folder goes: `--map` first; then, between stores that
/// mark special-use folders (IMAP), the destination's own folder of the same
/// use (a source `Sent Items` marked \Sent lands in the destination's
/// \Sent folder, whatever it is called); else the same name.
fn destination_of(
    job: &Job,
    source: &AnySource,
    sink: &AnySink,
    folder: &FolderName,
) -> FolderName {
    let mapped = job.folders.destination(folder);
    if mapped != *folder || !job.special_use_map {
        return mapped;
    }
    let special = special_destination(job, source, sink, folder).unwrap_or(mapped);
    // A name the destination's service reserves gets another.
    job.presets
        .renamed_at_destination(&special)
        .unwrap_or(special)
}

/// A source folder's special use: what the server says, else what the
/// source's preset knows of its name (`[Gmail]/Sent Mail`).
fn source_special_use(
    job: &Job,
    source: Option<&AnySource>,
    folder: &FolderName,
) -> Option<&'static str> {
    source
        .and_then(|source| source.special_use(folder))
        .or_else(|| job.presets.source_special_use(folder))
}

/// The special use a destination folder made for source `folder` is
/// created with, so that a new Sent folder is the destination's Sent
/// folder (none without --special-use-map).
pub(super) fn created_special_use(
    job: &Job,
    source: Option<&AnySource>,
    folder: &FolderName,
) -> Option<&'static str> {
    source_special_use(job, source, folder)
        .filter(|_| job.special_use_map)
        .and_then(|special_use| job.presets.created_special_use(special_use))
}

/// Where a source folder goes by its special use, if it has one.
fn special_destination(
    job: &Job,
    source: &AnySource,
    sink: &AnySink,
    folder: &FolderName,
) -> Option<FolderName> {
    // Gmail's All Mail, once the label folders have given their messages,
    // holds the archived ones: the destination's archive.
    if job.presets.gmail_source() && crate::provider::is_gmail_all_mail(folder) {
        if let Some(archive) = sink
            .special_folder("\\All")
            .or_else(|| sink.special_folder("\\Archive"))
        {
            return Some(archive);
        }
    }
    // The folder itself or its nearest special-use ancestor: `Sent/2023`
    // follows `Sent` to the destination's `Sent Items/2023`, as with --map.
    let components: Vec<&str> = folder.components().collect();
    for depth in (1..=components.len()).rev() {
        let Ok(ancestor) = FolderName::from_components(&components[..depth]) else {
            continue;
        };
        let Some(special_use) = source_special_use(job, Some(source), &ancestor) else {
            continue;
        };
        // The destination's own folder of that use; for Gmail's `[Gmail]/…`
        // folders where it has none, the usual name (`Sent`, not
        // `[Gmail]/Sent Mail`).
        let Some(target) = sink
            .special_folder(special_use)
            .or_else(|| job.presets.usual_name(&ancestor, special_use))
        else {
            continue;
        };
        let rest = &components[depth..];
        let parts = target.components().chain(rest.iter().copied());
        return FolderName::from_components(parts).ok();
    }
    None
}

/// Drops the progress of source folders whose destination folder no longer
/// exists (a backup directory removed, a folder deleted on the server):
/// kept, it would skip them as done while their copies are missing.
/// Forgotten, they are copied again, deduplicated against whatever the
/// destination holds by then.
pub(super) fn forget_folders_whose_copy_is_gone(
    units: &[Unit],
    sink: &AnySink,
    state: &mut State,
) -> Result<()> {
    for (folder, destination) in units.iter().flatten() {
        if state.has_folder(folder) && !sink.holds(destination) {
            report::warn(&format!(
                "destination folder `{destination}` is gone: copying folder `{folder}` again"
            ));
            state.forget_folder(folder)?;
            state.forget_index(destination)?;
        }
    }
    Ok(())
}

/// Settles the folders with nothing new (see [`settle_if_unchanged`]) and
/// returns what they add to the summary, with the units left to copy.
pub(super) async fn settle_unchanged(
    job: &Job,
    source: &mut AnySource,
    units: Vec<Unit>,
    shared: &Shared,
) -> (Summary, Vec<Unit>) {
    let mut settled = Summary::default();
    let mut units_to_copy = Vec::with_capacity(units.len());
    for unit in units {
        let mut rest = Vec::with_capacity(unit.len());
        for (folder, destination) in unit {
            if settle_if_unchanged(job, source, &folder, &destination, shared).await {
                settled.folders += 1;
                settled.folders_unchanged += 1;
            } else {
                rest.push((folder, destination));
            }
        }
        if !rest.is_empty() {
            units_to_copy.push(rest);
        }
    }
    (settled, units_to_copy)
}

/// Settles a folder the checkpoint shows complete and unchanged: records
/// its identity (and forgets vanished messages) and reports it, without a
/// worker or a destination connection. False when the folder needs a
/// worker: new messages, a first sight (it must be created), a changed
/// source, deletions to do, or an error (which the worker reports).
async fn settle_if_unchanged(
    job: &Job,
    source: &mut AnySource,
    folder: &FolderName,
    destination: &FolderName,
    shared: &Shared,
) -> bool {
    let Ok(Some(recorded)) = shared.recorded(folder).await else {
        return false;
    };
    // A mirror looks at every folder: flags change without new messages.
    if job.source_options.deletes() || job.mirror.is_some() {
        return false;
    }
    let Ok(Some(status)) = source.open_if_unchanged(folder, &recorded).await else {
        return false;
    };
    let stamp = stamp_to_record(job, &status, 0);
    let restamped = stamp.is_some_and(|stamp| recorded.listing_stamp.as_deref() != Some(stamp));
    if status.identity != recorded.identity || !status.vanished.is_empty() || restamped {
        let mut progress = recorded;
        progress.identity = status.identity.clone();
        progress.forget(&status.vanished);
        progress.listing_stamp = stamp.map(str::to_string).or(progress.listing_stamp);
        if shared
            .save_folder(folder, &progress, &status.vanished)
            .await
            .is_err()
        {
            // The worker tries again and reports the failure.
            return false;
        }
    }
    report::info(&format!("folder `{folder}`: nothing new"));
    report::emit(&Event::FolderStart {
        folder,
        destination_folder: destination,
        pending: Some(0),
    });
    let done = super::folder::FolderDone {
        unchanged: true,
        ..Default::default()
    };
    super::worker::report_folder_done(shared, folder, destination, &done, None);
    true
}

/// Orders the units heaviest first, by the weights the source reports
/// (see [`largest_first`]), and says so in the debug log.
pub(super) async fn order_largest_first(source: &mut AnySource, units: &mut [Unit]) {
    let folders: Vec<FolderName> = units
        .iter()
        .flatten()
        .map(|(folder, _)| folder.clone())
        .collect();
    let weights = source.weights(&folders).await;
    largest_first(units, &weights);
    report::debug(&format!(
        "folders in the order they start: {}",
        units
            .iter()
            .flatten()
            .map(|(folder, _)| match weights.get(folder) {
                Some(weight) => format!("`{folder}` ({weight})"),
                None => format!("`{folder}` (?)"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

/// Puts the heaviest units first, keeping the source's order among equals
/// and after them the units of unknown weight (longest job first). In the
/// listed order, a folder that sorts late waits for a worker however big it
/// is, and the run's end is that one folder copying alone on one connection.
fn largest_first(units: &mut [Unit], weights: &HashMap<FolderName, u64>) {
    units.sort_by_cached_key(|unit| {
        let weight: u64 = unit
            .iter()
            .map(|(folder, _)| weights.get(folder).copied().unwrap_or(0))
            .sum();
        std::cmp::Reverse(weight)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> FolderName {
        FolderName::parse(name).unwrap()
    }

    fn unit(names: &[&str]) -> Unit {
        names
            .iter()
            .map(|name| (folder(name), folder(name)))
            .collect()
    }

    #[test]
    fn the_heaviest_folders_start_first_and_ties_keep_the_listed_order() {
        let mut units = vec![
            unit(&["Archive"]),
            unit(&["Drafts"]),
            unit(&["INBOX"]),
            unit(&["Lists", "Lists2"]),
            unit(&["Sent"]),
            unit(&["Unknown"]),
        ];
        let weights: HashMap<FolderName, u64> = [
            ("Archive", 10),
            ("Drafts", 0),
            ("INBOX", 900),
            ("Lists", 6),
            ("Lists2", 6),
            ("Sent", 10),
        ]
        .into_iter()
        .map(|(name, weight)| (folder(name), weight))
        .collect();
        largest_first(&mut units, &weights);
        let order: Vec<String> = units.iter().map(|unit| unit[0].0.to_string()).collect();
        assert_eq!(
            order,
            ["INBOX", "Lists", "Archive", "Sent", "Drafts", "Unknown"]
        );
    }
}
