//! `mailtug copy SRC DST`

use std::io::IsTerminal;

use anyhow::Result;
use tokio::sync::watch;

use crate::cli::CopyArgs;
use crate::commands::access::{access, Side};
use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::exit::ExitCode;
use crate::job::{FolderSelection, Job, JobOptions, Mirror};
use crate::pipeline;
use crate::report;
use crate::store::Filters;

pub async fn run(args: CopyArgs) -> Result<ExitCode> {
    run_job(args, None).await
}

/// Runs a copy, or with `mirror` a mirror (a copy followed by the flag and
/// deletion changes).
pub(super) async fn run_job(args: CopyArgs, mirror: Option<Mirror>) -> Result<ExitCode> {
    let source = Endpoint::parse_source(&args.source)?;
    let destination = Endpoint::parse(&args.destination)?;
    let filters = Filters {
        since: args.since,
        before: args.before,
        max_size: args.max_size,
    };
    let presets = crate::provider::Presets {
        source: crate::provider::Service::of(args.providers.src_provider, &source),
        destination: crate::provider::Service::of(args.providers.dst_provider, &destination),
        gmail_labels: args.providers.gmail_labels.unwrap_or_default(),
    };
    if args.providers.gmail_labels.is_some()
        && !(presets.gmail_source() && matches!(source, Endpoint::Imap(_)))
    {
        return Err(crate::exit::usage(
            "--gmail-labels is for a Gmail IMAP source (found from its host name, or \
             --src-provider gmail); Gmail's POP3 gives one folder, without labels",
        ));
    }
    // A preset lowers, never raises, what was asked.
    let mut jobs = args.jobs;
    if let Some(cap) = presets.max_connections().filter(|&cap| cap < jobs) {
        report::info(&format!(
            "--jobs {jobs} lowered to {cap}: {} throttles accounts with more connections",
            [presets.source, presets.destination]
                .into_iter()
                .flatten()
                .filter(|s| s.max_connections() == Some(cap))
                .map(|s| s.title())
                .next()
                .unwrap_or("the provider")
        ));
        jobs = cap;
    }
    let reapply_flagged = presets
        .destination
        .is_some_and(|service| service.drops_flagged_on_append());
    let options = JobOptions {
        dedup: !args.no_dedup,
        dry_run: args.dry_run,
        jobs,
        retries: args.retries,
        special_use_map: !args.no_special_use_map,
        delete_source: args.delete_source,
        delete_after_days: args.delete_after,
        max_messages: args.max_messages,
        max_bytes: args.max_bytes,
        filters,
        checkpoint_path: args.state.clone(),
        mirror,
        max_bytes_per_second: args.rate.max_bytes_per_second,
        max_messages_per_second: args.rate.max_messages_per_second,
        // The provider's own daily limits (they are IMAP's), unless the
        // user gave theirs.
        src_daily_bytes: args.rate.src_max_bytes_per_day.or_else(|| {
            presets
                .source
                .filter(|_| matches!(source, Endpoint::Imap(_)))
                .and_then(|s| s.daily_download_bytes())
        }),
        dst_daily_bytes: args.rate.dst_max_bytes_per_day.or_else(|| {
            presets
                .destination
                .filter(|_| matches!(destination, Endpoint::Imap(_)))
                .and_then(|s| s.daily_upload_bytes())
        }),
        presets,
    };
    let mut folders = FolderSelection::new(
        &args.folders.folders,
        &args.folders.exclude,
        &args.folders.map,
    )?;
    folders.all_namespaces = args.folders.all_namespaces;
    folders.merge = args.folders.merge;
    let source_access = access(
        &source,
        Side::Source,
        &args.remote,
        args.layout.src_maildir_layout,
    )?;
    let mut destination_access = access(
        &destination,
        Side::Destination,
        &args.remote,
        args.layout.dst_maildir_layout,
    )?;
    destination_access.reapply_flagged = reapply_flagged;
    let job = Job::new(
        source,
        destination,
        source_access,
        destination_access,
        folders,
        options,
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
    let (summary, fatal, preview) = match result {
        Ok(pipeline::Finished {
            summary,
            fatal,
            preview,
        }) => (summary, fatal, preview),
        Err(e) => {
            // Scripts reading --json still get a last event saying how it ended.
            report::emit(&Event::CopySummary {
                summary: None,
                exit_code: crate::exit::classify(&e).code(),
                error: Some(format!("{e:#}")),
                error_kind: Some(crate::exit::failure_kind(&e)),
            });
            return Err(e);
        }
    };

    let mut code = if let Some(e) = &fatal {
        crate::exit::classify(e)
    } else if summary.interrupted {
        ExitCode::Interrupted
    } else if summary.deletions_refused() > 0 {
        ExitCode::DeletionsRefused
    } else if summary.is_clean() {
        ExitCode::Success
    } else {
        ExitCode::Partial
    };
    // A dry run that looked at everything shows its plan, whose verdict
    // is the exit code when nothing else went wrong.
    let plan_shown = match (&preview, &fatal) {
        (Some(preview), None) if !summary.interrupted => {
            let verdict = super::plan::show(&job, &summary, preview);
            if code == ExitCode::Success {
                code = verdict;
            }
            true
        }
        _ => false,
    };
    report::emit(&Event::CopySummary {
        summary: Some(&summary),
        exit_code: code.code(),
        error: fatal.as_ref().map(|e| format!("{e:#}")),
        error_kind: fatal.as_ref().map(crate::exit::failure_kind),
    });
    // On a terminal the summary line always shows. From cron or a script
    // (stderr not a terminal) a run that went well says nothing, so a
    // five-minute fetch job does not mail its owner every five minutes;
    // -v asks for the line anyway.
    let attended = std::io::stderr().is_terminal()
        || report::verbosity().level > 0
        || report::verbosity().progress == Some(true);
    if !plan_shown && (attended || code != ExitCode::Success) {
        report::human(&summary_line(&summary));
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(code),
    }
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
    // Mail the destination had, and copies within the source of what
    // this run stored: the second kind is the source's own doing.
    let already_there = c.at_destination();
    if already_there > 0 {
        parts.push(format!(
            "skipped {} already at the destination",
            plural(already_there, "message")
        ));
    }
    if c.duplicates_in_source > 0 {
        parts.push(format!(
            "skipped {} within the source",
            plural(c.duplicates_in_source, "duplicate")
        ));
    }
    if c.messages_failed > 0 {
        parts.push(format!("{} FAILED", plural(c.messages_failed, "message")));
    }
    if let Some(m) = &summary.mirrored {
        let would = if summary.dry_run { "would " } else { "" };
        if m.flags_updated > 0 {
            parts.push(format!(
                "{would}set the flags of {}",
                plural(m.flags_updated, "message")
            ));
        }
        if m.messages_deleted > 0 {
            parts.push(format!(
                "{would}delete {}",
                plural(m.messages_deleted, "message")
            ));
        }
        if m.deletions_refused > 0 {
            parts.push(format!(
                "{} REFUSED",
                plural(m.deletions_refused, "deletion")
            ));
        }
        if m.changes_failed > 0 {
            parts.push(format!("{} FAILED", plural(m.changes_failed, "change")));
        }
    }
    if summary.folders_failed > 0 {
        let mut names = summary.failed_folders.clone();
        names.sort();
        let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
        let more = match names.len().saturating_sub(shown.len()) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        parts.push(format!(
            "{} FAILED ({}{more})",
            plural(summary.folders_failed, "folder"),
            shown.join(", ")
        ));
    }
    if summary.files_skipped > 0 {
        parts.push(format!(
            "{} NOT READ",
            plural(summary.files_skipped, "file")
        ));
    }
    if summary.folders_not_started > 0 {
        parts.push(format!(
            "{} not started",
            plural(summary.folders_not_started, "folder")
        ));
    }
    let folders = plural(summary.folders, "folder");
    let resumed = match summary.resumed {
        true => "resumed the last run: ",
        false => "",
    };
    let line = format!(
        "mailtug: {resumed}{} ({folders}, {:.1} s)",
        parts.join(", "),
        summary.seconds
    );
    match summary.interrupted {
        true => format!("{line}; interrupted: run the same command again to resume"),
        false => line,
    }
}

pub(super) fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Resolves on Ctrl-C or SIGTERM (what cron, systemd and `timeout` send).
pub(super) async fn wait_for_stop_signal() {
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
