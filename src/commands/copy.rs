//! `mailtug copy SRC DST`

use std::io::IsTerminal;

use anyhow::Result;
use tokio::sync::watch;

use crate::cli::CopyArgs;
use crate::commands::access::{access, Side};
use crate::date;
use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::exit::{usage, ExitCode};
use crate::job::{FolderSelection, Job, JobOptions};
use crate::pipeline;
use crate::report;
use crate::store::Filters;

pub async fn run(args: CopyArgs) -> Result<ExitCode> {
    let source = Endpoint::parse(&args.source)?;
    let destination = Endpoint::parse(&args.destination)?;
    let filters = Filters {
        since: args
            .since
            .as_deref()
            .map(|d| parse_day("--since", d))
            .transpose()?,
        before: args
            .before
            .as_deref()
            .map(|d| parse_day("--before", d))
            .transpose()?,
        max_size: args
            .max_size
            .as_deref()
            .map(|s| parse_size("--max-size", s))
            .transpose()?,
    };
    let options = JobOptions {
        dedup: !args.no_dedup,
        dry_run: args.dry_run,
        jobs: args.jobs,
        retries: args.retries,
        special_use_map: !args.no_special_use_map,
        delete_source: args.delete_source,
        delete_after_days: args.delete_after,
        max_messages: args.max_messages,
        max_bytes: args
            .max_bytes
            .as_deref()
            .map(|s| parse_size("--max-bytes", s))
            .transpose()?,
        filters,
        checkpoint_path: args.state.clone(),
    };
    let mut folders = FolderSelection::new(
        &args.folders.folders,
        &args.folders.exclude,
        &args.folders.map,
    )?;
    folders.all_namespaces = args.folders.all_namespaces;
    let source_access = access(
        &source,
        Side::Source,
        &args.remote,
        &args.layout.src_maildir_layout,
    )?;
    let destination_access = access(
        &destination,
        Side::Destination,
        &args.remote,
        &args.layout.dst_maildir_layout,
    )?;
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
    let (summary, fatal) = match result {
        Ok(pipeline::Finished { summary, fatal }) => (summary, fatal),
        Err(e) => {
            // Scripts reading --json still get a last event saying how it ended.
            report::emit(&Event::CopySummary {
                summary: None,
                exit_code: crate::exit::classify(&e).code(),
                error: Some(format!("{e:#}")),
            });
            return Err(e);
        }
    };

    let code = if let Some(e) = &fatal {
        crate::exit::classify(e)
    } else if summary.interrupted {
        ExitCode::Interrupted
    } else if summary.is_clean() {
        ExitCode::Success
    } else {
        ExitCode::Partial
    };
    report::emit(&Event::CopySummary {
        summary: Some(&summary),
        exit_code: code.code(),
        error: fatal.as_ref().map(|e| format!("{e:#}")),
    });
    // On a terminal the summary line always shows. From cron or a script
    // (stderr not a terminal) a run that went well says nothing, so a
    // five-minute fetch job does not mail its owner every five minutes;
    // -v asks for the line anyway.
    let attended = std::io::stderr().is_terminal() || report::verbosity().level > 0;
    if attended || code != ExitCode::Success {
        report::human(&summary_line(&summary));
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(code),
    }
}

/// `YYYY-MM-DD` as midnight UTC.
fn parse_day(option: &str, text: &str) -> anyhow::Result<std::time::SystemTime> {
    let bad = || usage(format!("{option} `{text}` is not a date like 2024-01-31"));
    let mut parts = text.splitn(3, '-');
    let mut next = |len: usize| -> anyhow::Result<u32> {
        let part = parts.next().filter(|p| p.len() == len).ok_or_else(bad)?;
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (next(4)?, next(2)?, next(2)?);
    if !(1..=12).contains(&month) || day == 0 || day > date::days_in_month(year.into(), month) {
        return Err(bad());
    }
    let days = date::days_from_civil(year.into(), month, day);
    date::from_unix_seconds(days * date::SECONDS_PER_DAY).ok_or_else(bad)
}

/// `1500`, `64K`, `20M`, `1G` (binary multiples).
fn parse_size(option: &str, text: &str) -> anyhow::Result<u64> {
    let bad = || usage(format!("{option} `{text}` is not a size like 25M"));
    let (number, multiplier) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    let n: u64 = number.trim().parse().map_err(|_| bad())?;
    n.checked_mul(multiplier).ok_or_else(bad)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_sizes_parse_or_explain() {
        let day = parse_day("--since", "2020-01-01").unwrap();
        assert_eq!(
            day.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_577_836_800
        );
        let leap = parse_day("--since", "2000-02-29").unwrap();
        assert_eq!(
            leap.duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            951_782_400
        );
        for bad in ["2020-1-01", "yesterday", "2020-13-01", "2020-01-32", ""] {
            assert!(parse_day("--since", bad).is_err(), "{bad}");
        }
        let size = |s| parse_size("--max-size", s);
        assert_eq!(size("1500").unwrap(), 1500);
        assert_eq!(size("64K").unwrap(), 65_536);
        assert_eq!(size("20m").unwrap(), 20 << 20);
        assert!(size("lots").is_err() && size("99999999999G").is_err());
    }
}
