//! `mailtug copy SRC DST`

use anyhow::Result;
use serde_json::json;
use tokio::sync::watch;

use crate::cli::CopyArgs;
use crate::endpoint::Endpoint;
use crate::exit::ExitCode;
use crate::job::{FolderSelection, Job};
use crate::pipeline;
use crate::report;

pub async fn run(args: CopyArgs) -> Result<ExitCode> {
    let job = Job::new(
        Endpoint::parse(&args.source)?,
        Endpoint::parse(&args.destination)?,
        FolderSelection::new(
            &args.folders.folders,
            &args.folders.exclude,
            &args.folders.map,
        )?,
        !args.no_dedup,
        args.dry_run,
        args.state,
    )?;
    report::debug(&format!("checkpoint `{}`", job.checkpoint_path.display()));

    let (stop, interrupt) = watch::channel(false);
    // The sender lives as long as this task, so the pipeline never sees it closed.
    let listener = tokio::spawn(async move {
        wait_for_stop_signal().await;
        report::warn("stopping: finishing the current batch and saving the checkpoint");
        let _ = stop.send(true);
        // Keep `stop` alive until the run ends.
        std::future::pending::<()>().await;
    });
    let result = pipeline::copy(&job, interrupt).await;
    listener.abort();
    let summary = result?;

    let code = if summary.is_clean() {
        ExitCode::Success
    } else {
        ExitCode::Partial
    };
    let mut event = report::to_value(&summary);
    if let Some(object) = event.as_object_mut() {
        object.insert("event".into(), json!("summary"));
        object.insert("exit_code".into(), json!(code.code()));
    }
    report::event(event);
    let c = &summary.counts;
    let verb = if summary.dry_run {
        "would copy"
    } else {
        "copied"
    };
    report::human(&format!(
        "mailtug: {verb} {} messages ({}) from {} folders, {} duplicates skipped, {} failed, in {:.1} s",
        c.messages_copied,
        report::bytes(c.bytes_copied),
        summary.folders,
        c.messages_duplicate,
        c.messages_failed + summary.folders_failed,
        summary.seconds
    ));
    Ok(code)
}

/// Resolves on Ctrl-C or SIGTERM (what cron, systemd and `timeout` send).
async fn wait_for_stop_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
