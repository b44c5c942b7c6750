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
        args.jobs,
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

    let code = if summary.interrupted {
        ExitCode::Interrupted
    } else if summary.is_clean() {
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
    report::human(&summary_line(&summary));
    Ok(code)
}

/// The one line a person reads at the end of a run.
fn summary_line(summary: &pipeline::Summary) -> String {
    let c = &summary.counts;
    let mut parts = Vec::new();
    let verb = if summary.dry_run {
        "would copy"
    } else {
        "copied"
    };
    if c.messages_copied == 0 && c.messages_duplicate == 0 && c.messages_failed == 0 {
        parts.push("nothing to copy".to_string());
    } else if c.messages_copied > 0 || c.messages_duplicate == 0 {
        parts.push(format!(
            "{verb} {} ({})",
            plural(c.messages_copied, "message"),
            report::bytes(c.bytes_copied)
        ));
    }
    if c.messages_duplicate > 0 {
        parts.push(format!(
            "skipped {} already there",
            plural(c.messages_duplicate, "duplicate")
        ));
    }
    if c.messages_failed > 0 {
        parts.push(format!("{} FAILED", plural(c.messages_failed, "message")));
    }
    if summary.folders_failed > 0 {
        parts.push(format!(
            "{} FAILED",
            plural(summary.folders_failed, "folder")
        ));
    }
    let folders = plural(summary.folders, "folder");
    let interrupted = if summary.interrupted {
        "interrupted, "
    } else {
        ""
    };
    format!(
        "mailtug: {interrupted}{} ({folders}, {:.1} s)",
        parts.join(", "),
        summary.seconds
    )
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
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
