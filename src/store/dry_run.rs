//! `--dry-run` as a sink: it reads like the real destination and stores nothing.
//!
//! Dry-run lives here, once, instead of as `if` statements scattered through
//! the stores: the wrapped sink was opened read-only, so it cannot create a
//! folder or write a byte, and `append`/`commit` only count.

use anyhow::Result;

use crate::folder::FolderName;
use crate::message::Message;
use crate::store::{AnySink, Create, IndexCache, Opened};

pub struct DryRun {
    /// The real destination, opened read-only.
    pub inner: Box<AnySink>,
    /// Messages that would have been appended.
    pub appended: u64,
}

impl DryRun {
    pub fn new(inner: AnySink) -> DryRun {
        DryRun {
            inner: Box::new(inner),
            appended: 0,
        }
    }

    /// The fingerprints the destination folder holds; a folder that does not
    /// exist yet is reported empty rather than created.
    pub async fn open(
        &mut self,
        folder: &FolderName,
        cache: Option<IndexCache>,
    ) -> Result<Option<Opened>> {
        // Calls the concrete store, not `AnySink::open`, so the future type
        // does not contain itself.
        let existing = match &mut *self.inner {
            AnySink::Maildir(s) => s.open_sink_folder(folder, false)?.map(Opened::local),
            AnySink::Mbox(s) => s.open_sink_folder(folder, false)?.map(Opened::local),
            AnySink::Imap(s) => s.open_sink_folder(folder, Create::No, cache).await?,
            AnySink::DryRun(_) => None,
        };
        Ok(Some(existing.unwrap_or_default()))
    }

    pub fn append(&mut self, _message: &Message) -> Result<()> {
        self.appended += 1;
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        Ok(())
    }
}
