//! A worker's two ends: the source and the sink it copies between, as
//! connected from the job's endpoints.
//!
//! The source leaves its slot while it reads a folder on its own task and
//! comes back when the folder ends; a failure in between can lose it. Every
//! use of the source goes through [`SourceSlot`], so that loss is handled
//! (and worded) in one place.

use anyhow::{anyhow, Context, Result};

use crate::job::Job;
use crate::store::{AnySink, AnySource, Sink, Source};

pub(super) async fn connect_source(job: &Job) -> Result<AnySource> {
    AnySource::connect(&job.source, &job.source_access, &job.source_options)
        .await
        .with_context(|| format!("opening source `{}`", job.source))
}

pub(super) async fn connect_sink(job: &Job) -> Result<AnySink> {
    let sink = if job.dry_run {
        AnySink::connect_read_only(&job.destination, &job.destination_access)
            .await
            .map(AnySink::into_dry_run)
    } else {
        AnySink::connect(&job.destination, &job.destination_access).await
    };
    sink.with_context(|| format!("opening destination `{}`", job.destination))
}

/// A worker's source and sink.
pub(super) struct Stores {
    pub source: SourceSlot,
    pub sink: AnySink,
}

impl Stores {
    pub fn new(source: AnySource, sink: AnySink) -> Stores {
        Stores {
            source: SourceSlot(Some(source)),
            sink,
        }
    }

    /// Connects both ends for a worker of its own.
    pub async fn connect(job: &Job) -> Result<Stores> {
        let source = connect_source(job).await?;
        let sink = connect_sink(job).await?;
        Ok(Stores::new(source, sink))
    }

    pub async fn close(self) {
        if let Some(source) = self.source.0 {
            source.close().await;
        }
        self.sink.close().await;
    }
}

/// The source, unless an earlier failure lost it while it was away reading.
pub(super) struct SourceSlot(Option<AnySource>);

impl SourceSlot {
    /// The source, to open a folder or delete from it.
    pub fn get(&mut self) -> Result<&mut AnySource> {
        self.0.as_mut().ok_or_else(lost)
    }

    /// The source, if it is here, for what can do without it.
    pub fn peek(&self) -> Option<&AnySource> {
        self.0.as_ref()
    }

    /// Takes the source out, to read on its own task.
    pub fn take(&mut self) -> Result<AnySource> {
        self.0.take().ok_or_else(lost)
    }

    /// Puts a source (back, or a new connection) in the slot.
    pub fn put(&mut self, source: AnySource) {
        self.0 = Some(source);
    }
}

fn lost() -> anyhow::Error {
    anyhow!("the source was lost to an earlier failure")
}
