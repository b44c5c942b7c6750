//! What a dry run learns beyond its counts, for the plan it shows: where
//! each folder goes and whether it can go there (the destination folder
//! exists, a name the destination refuses), what earlier runs did, and the
//! room and message size the destination allows. Looked up on the
//! connections that listed the folders, before any worker starts.

use std::sync::Mutex;

use super::plan::Unit;
use super::{lock, Counts, Shared};
use crate::folder::FolderName;
use crate::job::Job;
use crate::report;
use crate::store::{AnySink, AnySource, Room, Sink};

/// A dry run's look at what a real run would meet.
#[derive(Debug, Default)]
pub struct Preview {
    /// Every folder taking part, in the order the source lists them.
    pub folders: Vec<PreviewFolder>,
    /// The destination's quota or free space, when it tells.
    pub room: Option<Room>,
    /// The largest message the destination accepts, when it says.
    pub append_limit: Option<u64>,
}

/// One source folder in a plan.
#[derive(Clone, Debug)]
pub struct PreviewFolder {
    pub folder: FolderName,
    pub destination: FolderName,
    /// The destination folder exists now (else the run creates it).
    pub destination_exists: bool,
    /// The source folder's special use (`\Sent`…), which a created
    /// destination folder is given.
    pub special_use: Option<&'static str>,
    /// Why the destination would refuse to create the folder, when known.
    pub refused: Option<String>,
    /// Messages the state records as copied by earlier runs.
    pub done_before: u64,
    /// What the dry run found: counts as a real run would have them.
    pub result: FolderResult,
}

/// What the run did with one folder, as reported when it ended.
#[derive(Clone, Debug, Default)]
pub struct FolderResult {
    pub counts: Counts,
    /// Why the folder failed.
    pub error: Option<String>,
}

/// Folder results by source folder, filled in as folders end.
pub(super) type Results = Mutex<Vec<(FolderName, FolderResult)>>;

/// Looks at the destination for each folder of `units`, and at the room
/// it has, before anything runs.
pub(super) async fn look(
    job: &Job,
    source: &AnySource,
    sink: &mut AnySink,
    units: &[Unit],
    shared: &Shared,
) -> Preview {
    let mut folders = Vec::new();
    for (folder, destination) in units.iter().flatten() {
        let done_before = {
            let folder = folder.clone();
            shared
                .state
                .call(move |state| state.messages_in(&folder))
                .await
                .unwrap_or(0)
        };
        let destination_exists = sink.holds(destination);
        folders.push(PreviewFolder {
            folder: folder.clone(),
            destination: destination.clone(),
            destination_exists,
            special_use: super::plan::created_special_use(job, Some(source), folder),
            refused: match destination_exists {
                true => None,
                false => sink.refuses(destination),
            },
            done_before,
            result: FolderResult::default(),
        });
    }
    let room = match sink.room().await {
        Ok(room) => room,
        Err(e) => {
            report::warn(&format!(
                "could not learn how much room the destination has: {e:#}"
            ));
            None
        }
    };
    Preview {
        folders,
        room,
        append_limit: sink.append_limit(),
    }
}

/// Fills in what the run found for each folder.
pub(super) fn fill(preview: &mut Preview, results: &Results) {
    let results = std::mem::take(&mut *lock(results));
    for (folder, result) in results {
        if let Some(planned) = preview.folders.iter_mut().find(|p| p.folder == folder) {
            planned.result = result;
        }
    }
}
