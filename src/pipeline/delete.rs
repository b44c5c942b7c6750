//! `--delete-source`: the last step of a folder, and the only one that
//! destroys anything.

use anyhow::{Context, Result};

use super::connect::SourceSlot;
use crate::event::Event;
use crate::folder::FolderName;
use crate::job::Job;
use crate::message::SourceKey;
use crate::report;
use crate::store::{FolderStatus, Source};

/// `--delete-source`: removes from the source what this run (or an earlier
/// one that stopped before deleting) stored. Order is important: every key
/// here was recorded by a state transaction that has committed (`record`
/// returns only then), so a crash after the delete cannot make a rerun
/// think they still need copying.
pub(super) async fn delete_from_source(
    job: &Job,
    folder: &FolderName,
    source: &mut SourceSlot,
    mut keys: Vec<SourceKey>,
    status: &FolderStatus,
) -> Result<()> {
    if !job.source_options.deletes() || job.dry_run {
        return Ok(());
    }
    if !job.source_options.delete {
        // --delete-after: only what the source found old enough at open.
        keys.clear();
    }
    keys.extend(status.done_but_present.iter().cloned());
    if keys.is_empty() {
        return Ok(());
    }
    source
        .get()?
        .delete(&keys)
        .await
        .context("deleting copied messages from the source")?;
    report::info(&format!(
        "folder `{folder}`: deleted {} messages from the source",
        keys.len()
    ));
    for key in &keys {
        report::emit(&Event::SourceDeleted { folder, key });
    }
    Ok(())
}
