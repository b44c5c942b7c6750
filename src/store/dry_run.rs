//! `--dry-run` as a sink: it reads like the real destination and stores nothing.
//!
//! Dry-run lives here, once, instead of as `if` statements scattered through
//! the stores: the wrapped sink was opened read-only, so it cannot create a
//! folder or write a byte, and `append`/`commit` do nothing. It wraps any
//! [`Sink`], so a new store has its dry run without a line of its own.

use anyhow::Result;

use crate::checkpoint::IndexMark;
use crate::cli::Removal;
use crate::folder::FolderName;
use crate::message::Message;
use crate::store::{
    Capabilities, Committed, Create, DestinationMessage, FingerprintSet, FlagChange, Opened, Room,
    Sink,
};

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

    fn refuses(&self, folder: &FolderName) -> Option<String> {
        self.inner.refuses(folder)
    }

    fn append_limit(&self) -> Option<u64> {
        self.inner.append_limit()
    }

    async fn room(&mut self) -> Result<Option<Room>> {
        self.inner.room().await
    }

    /// The fingerprints the destination folder holds; a folder that does not
    /// exist yet is reported empty rather than created.
    async fn open(
        &mut self,
        folder: &FolderName,
        _create: Create,
        cached: Option<IndexMark>,
        index: &FingerprintSet,
    ) -> Result<Option<Opened>> {
        let existing = self.inner.open(folder, Create::No, cached, index).await?;
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

    /// Changes nothing; the mirror reports what it would change.
    async fn set_flags(
        &mut self,
        _folder: &FolderName,
        changes: &[FlagChange],
    ) -> Result<Vec<Result<()>>> {
        Ok(changes.iter().map(|_| Ok(())).collect())
    }

    /// Removes nothing; the mirror reports what it would remove.
    async fn remove(
        &mut self,
        _folder: &FolderName,
        messages: &[DestinationMessage],
        _how: Removal,
    ) -> Result<Vec<Result<()>>> {
        Ok(messages.iter().map(|_| Ok(())).collect())
    }

    async fn close(self) {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Flags, SourceKey};
    use crate::store::memory::Memory;
    use crate::store::AnySink;

    #[tokio::test]
    async fn a_dry_run_reads_the_destination_and_stores_nothing() {
        let raw = "Message-ID: <1@example.org>\n\nbody\n";
        let store = Memory::new().with_folder("INBOX", &[(raw, Flags::default())]);
        let mut sink = AnySink::from(store.clone()).into_dry_run();
        let inbox = FolderName::inbox();
        let index = FingerprintSet::new().unwrap();
        let opened = sink.open(&inbox, Create::Yes(None), None, &index).await;
        assert!(opened.unwrap().is_some());
        assert_eq!(index.messages(), 1);
        // A folder the destination lacks is reported empty, not created.
        let new = FolderName::parse("New").unwrap();
        let index = FingerprintSet::new().unwrap();
        let opened = sink.open(&new, Create::Yes(None), None, &index).await;
        assert!(opened.unwrap().is_some() && index.is_empty());
        assert!(!sink.holds(&new));
        let message = Message::new(
            SourceKey::Uid(9),
            b"Message-ID: <2@example.org>\n\nmore\n".to_vec(),
            Flags::default(),
            None,
        );
        sink.append(message).await.unwrap();
        let committed = sink.commit().await.unwrap();
        assert!(committed.stored.is_empty() && committed.rejections.is_empty());
        assert_eq!(store.messages("INBOX").map(|m| m.len()), Some(1));
        assert!(store.messages("New").is_none());
        assert!(store.log().is_empty());
    }
}
