//! `--dry-run` as a sink: it reads like the real destination and stores nothing.
//!
//! Dry-run lives here, once, instead of as `if` statements scattered through
//! the stores: the wrapped sink was opened read-only, so it cannot create a
//! folder or write a byte, and `append`/`commit` do nothing. It wraps any
//! [`Sink`], so a new store has its dry run without a line of its own.

use anyhow::Result;

use crate::folder::FolderName;
use crate::message::Message;
use crate::store::{Capabilities, Committed, Create, IndexCache, Opened, Sink};

pub struct DryRun<S> {
    /// The real destination, opened read-only.
    inner: S,
}

impl<S: Sink> DryRun<S> {
    pub fn new(inner: S) -> DryRun<S> {
        DryRun { inner }
    }
}

impl<S: Sink> Sink for DryRun<S> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Nothing was written, so nothing can still be arriving.
            has_other_writers: false,
            ..self.inner.capabilities()
        }
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        self.inner.folders().await
    }

    fn special_folder(&self, special_use: &str) -> Option<FolderName> {
        self.inner.special_folder(special_use)
    }

    fn holds(&self, folder: &FolderName) -> bool {
        self.inner.holds(folder)
    }

    /// The fingerprints the destination folder holds; a folder that does not
    /// exist yet is reported empty rather than created.
    async fn open(
        &mut self,
        folder: &FolderName,
        _create: Create,
        cache: Option<IndexCache>,
    ) -> Result<Option<Opened>> {
        let existing = self.inner.open(folder, Create::No, cache).await?;
        Ok(Some(existing.unwrap_or_default()))
    }

    async fn append(&mut self, _message: Message) -> Result<()> {
        Ok(())
    }

    async fn commit(&mut self) -> Result<Committed> {
        Ok(Committed::default())
    }

    async fn wait_until_quiet(&mut self, _folder: &FolderName) -> Result<()> {
        Ok(())
    }

    async fn close(self) {
        self.inner.close().await
    }
}
