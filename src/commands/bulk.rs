//! `mailtug bulk MANIFEST`: one copy (or mirror) per row of a manifest,
//! several at a time, each in its own mailtug process with its own state,
//! under per-host connection caps; failures classified and retried by
//! class, and a report directory an operator can act on.
//!
//! A row runs as a child `mailtug copy … --json`: its events go to a file
//! of the report directory and its summary is the row's record, a crash or
//! a runaway server affects that row alone, and Ctrl-C (sent to the whole
//! process group) stops every row the way it stops one copy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{watch, Semaphore};

use crate::bulk::{ErrorKind, Record, Totals};
use crate::cli::BulkArgs;
use crate::cli::ReportCommand;
use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::exit::{usage, ExitCode};
use crate::manifest::{Manifest, Row};
use crate::report;
use crate::shard::Shard;

pub async fn run(args: BulkArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let manifest = Manifest::load(&args.manifest)?;
    if args.accounts == 0 {
        return Err(usage("--accounts must be at least 1"));
    }
    let shard = Shard::from_options(args.shard.as_deref(), args.shards, |name| {
        std::env::var(name).ok()
    })?;
    let report_dir = args.report.clone().unwrap_or_else(|| match shard {
        Some(shard) => PathBuf::from(format!(
            "mailtug-report/shard-{}-of-{}",
            shard.index, shard.count
        )),
        None => PathBuf::from("mailtug-report"),
    });
    if let Some(shard) = shard {
        report::info(&format!(
            "shard {} of {}: {} of the manifest's {} rows",
            shard.index,
            shard.count,
            manifest
                .rows
                .iter()
                .filter(|row| shard.takes(&row.id))
                .count(),
            manifest.rows.len()
        ));
    }
    std::fs::create_dir_all(report_dir.join("accounts"))
        .with_context(|| format!("creating report directory `{}`", report_dir.display()))
        .map_err(|e| usage(format!("{e:#}")))?;
    let completed = match args.skip_completed {
        true => completed_ids(&report_dir.join("report.jsonl")),
        false => HashSet::new(),
    };
    let program = std::env::current_exe().context("finding the mailtug program")?;
    // Each shard keeps to its share of a host's cap.
    let caps = HostCaps::new(
        args.max_connections_per_host
            .map(|cap| shard.map_or(cap, |shard| shard.share_of(cap))),
    );
    let accounts = Arc::new(Semaphore::new(args.accounts));
    let (stop, stopped) = watch::channel(false);
    let listener = tokio::spawn(async move {
        super::copy::wait_for_stop_signal().await;
        report::warn(
            "stopping: the accounts running finish their current batch; no new one starts",
        );
        let _ = stop.send(true);
        std::future::pending::<()>().await;
    });

    let mut tasks = Vec::new();
    let mut records: BTreeMap<usize, Record> = BTreeMap::new();
    for (index, row) in manifest.rows.iter().enumerate() {
        if shard.is_some_and(|shard| !shard.takes(&row.id)) {
            continue;
        }
        if completed.contains(&row.id) {
            let record = skipped(row);
            report::emit(&Event::AccountDone { record: &record });
            records.insert(index, record);
            continue;
        }
        let job = RowJob {
            row: row.clone(),
            program: program.clone(),
            log: report_dir.join("accounts").join(format!("{:05}", row.line)),
            mirror: args.mirror,
            jobs: args.jobs,
            retries: args.retries,
            retry_wait: Duration::from_secs(args.retry_wait),
            extra: args.options.clone(),
        };
        let (caps, accounts, stopped) = (caps.clone(), accounts.clone(), stopped.clone());
        tasks.push((
            index,
            tokio::spawn(async move { job.run(&caps, &accounts, stopped).await }),
        ));
    }
    for (index, task) in tasks {
        let record = task.await.context("an account's task failed")?;
        records.insert(index, record);
    }
    listener.abort();
    let interrupted = *stopped.borrow();

    let mut totals = Totals::default();
    let mut report_lines = String::new();
    let mut failed_rows = Vec::new();
    for (index, record) in &records {
        totals.accounts += 1;
        match record.status {
            "ok" => totals.ok += 1,
            "skipped" => totals.skipped += 1,
            "not_started" => totals.not_started += 1,
            _ => {
                totals.failed += 1;
                failed_rows.push(&manifest.rows[*index]);
            }
        }
        totals.messages_copied += record.messages_copied;
        totals.bytes_copied += record.bytes_copied;
        totals.messages_duplicate += record.messages_duplicate;
        totals.messages_failed += record.messages_failed;
        report_lines.push_str(&serde_json::to_string(record)?);
        report_lines.push('\n');
    }
    // Rows not started go to failed.csv too: feeding it back finishes the job.
    failed_rows.extend(
        records
            .iter()
            .filter(|(_, r)| r.status == "not_started")
            .map(|(index, _)| &manifest.rows[*index]),
    );
    let refused = records
        .values()
        .any(|record| record.error_kind == Some(ErrorKind::Auth));
    let code = outcome(interrupted, refused, totals.failed > 0);
    totals.seconds = started.elapsed().as_secs_f64();
    totals.exit_code = i64::from(code.code());
    write(&report_dir.join("report.jsonl"), &report_lines)?;
    write(
        &report_dir.join("summary.json"),
        &format!("{}\n", serde_json::to_string_pretty(&totals)?),
    )?;
    let mut failed = manifest.header.join(",");
    failed.push('\n');
    for row in failed_rows {
        failed.push_str(&row.csv_line(&manifest.header));
        failed.push('\n');
    }
    write(&report_dir.join("failed.csv"), &failed)?;
    report::emit(&Event::BulkSummary { totals: &totals });
    report::human(&format!(
        "mailtug: {} accounts: {} ok, {} failed, {} skipped, {} not started; {} messages \
         copied ({}) in {:.0} s; report in `{}`",
        totals.accounts,
        totals.ok,
        totals.failed,
        totals.skipped,
        totals.not_started,
        totals.messages_copied,
        report::bytes(totals.bytes_copied),
        totals.seconds,
        report_dir.display()
    ));
    Ok(code)
}

/// A bulk run's exit code. A refused login outranks other failures: the
/// engine running the shard must not run it again as is (that would try
/// the same credentials again), while an interrupted run should be.
fn outcome(interrupted: bool, login_refused: bool, failed: bool) -> ExitCode {
    if interrupted {
        ExitCode::Interrupted
    } else if login_refused {
        ExitCode::LoginRefused
    } else if failed {
        ExitCode::Partial
    } else {
        ExitCode::Success
    }
}

/// The ids an earlier run's report says finished well.
fn completed_ids(report: &Path) -> HashSet<String> {
    let Ok(text) = std::fs::read_to_string(report) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| matches!(record["status"].as_str(), Some("ok" | "skipped")))
        .filter_map(|record| record["id"].as_str().map(str::to_string))
        .collect()
}

fn skipped(row: &Row) -> Record {
    Record {
        id: row.id.clone(),
        line: row.line,
        status: "skipped",
        messages_copied: 0,
        bytes_copied: 0,
        messages_duplicate: 0,
        messages_failed: 0,
        seconds: 0.0,
        started_at: 0.0,
        ended_at: 0.0,
        attempts: 0,
        exit_code: None,
        error_kind: None,
        retryable: false,
        error: None,
    }
}

/// Writes `text` to `path` whole (a temporary file renamed into place).
fn write(path: &Path, text: &str) -> Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, path))
        .with_context(|| format!("writing `{}`", path.display()))
}

/// Connections open to each host, across every account: a row takes its
/// share on its source's host and its destination's before it starts.
#[derive(Clone)]
struct HostCaps {
    per_host: Option<usize>,
    hosts: Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl HostCaps {
    fn new(per_host: Option<usize>) -> HostCaps {
        HostCaps {
            per_host,
            hosts: Arc::default(),
        }
    }

    fn host(&self, host: &str) -> Option<Arc<Semaphore>> {
        let cap = self.per_host?;
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        Some(
            hosts
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(cap)))
                .clone(),
        )
    }
}

/// One row and how to run it.
struct RowJob {
    row: Row,
    program: PathBuf,
    /// The report's files for the row, without extension.
    log: PathBuf,
    mirror: bool,
    jobs: usize,
    retries: u32,
    retry_wait: Duration,
    extra: Vec<String>,
}

/// How one attempt ended.
struct Attempt {
    code: Option<i32>,
    summary: Option<serde_json::Value>,
    error: Option<String>,
}

impl RowJob {
    /// Runs the row (attempts and retries) and says how it ended, in a
    /// `--json` event as soon as it is known.
    async fn run(
        &self,
        caps: &HostCaps,
        accounts: &Semaphore,
        stopped: watch::Receiver<bool>,
    ) -> Record {
        let record = self.run_attempts(caps, accounts, stopped).await;
        report::emit(&Event::AccountDone { record: &record });
        record
    }

    async fn run_attempts(
        &self,
        caps: &HostCaps,
        accounts: &Semaphore,
        mut stopped: watch::Receiver<bool>,
    ) -> Record {
        let mut record = skipped(&self.row);
        record.status = "not_started";
        let Ok(_account) = accounts.acquire().await else {
            return record;
        };
        if *stopped.borrow() {
            return record;
        }
        // Each side's host gives the row as many connections as it uses.
        let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
        for side in ["src", "dst"] {
            let remote = self
                .row
                .get(side)
                .and_then(|endpoint| Endpoint::parse(endpoint).ok())
                .and_then(|endpoint| endpoint.remote().map(|r| r.host.to_ascii_lowercase()));
            if let Some(host) = remote {
                *hosts.entry(host).or_default() += 1;
            }
        }
        let jobs = self
            .row
            .get("jobs")
            .and_then(|j| j.parse().ok())
            .unwrap_or(self.jobs)
            .max(1);
        // Both sides on one host share its cap.
        let sides_per_host = hosts.values().copied().max().unwrap_or(1);
        let jobs = match caps.per_host {
            Some(cap) => jobs.min((cap / sides_per_host).max(1)),
            None => jobs,
        };
        // All of a host's share at once, hosts in one order for every row:
        // no two rows each hold part of what the other waits for.
        let mut permits = Vec::new();
        for (host, sides) in &hosts {
            if let (Some(semaphore), Some(cap)) = (caps.host(host), caps.per_host) {
                let wanted = (jobs * sides).min(cap) as u32;
                tokio::select! {
                    permit = semaphore.acquire_many_owned(wanted) => match permit {
                        Ok(permit) => permits.push(permit),
                        Err(_) => return record,
                    },
                    _ = stopped.changed() => return record,
                }
            }
        }
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        let started = Instant::now();
        record.started_at = now();
        let mut attempt_number = 0;
        loop {
            attempt_number += 1;
            let attempt = self.attempt(attempt_number, jobs, stopped.clone()).await;
            let kind = classify(&attempt);
            record.attempts = attempt_number;
            record.exit_code = attempt.code.map(i64::from);
            let summary = attempt.summary.as_ref();
            let count = |key: &str| summary.and_then(|s| s[key].as_u64()).unwrap_or(0);
            record.messages_copied += count("messages_copied");
            record.bytes_copied += count("bytes_copied");
            record.messages_duplicate += count("messages_duplicate");
            record.messages_failed = count("messages_failed");
            record.error_kind = kind;
            record.retryable = kind.is_some_and(ErrorKind::retryable);
            record.error = attempt.error.clone();
            match kind {
                None => {
                    record.status = "ok";
                    break;
                }
                // Exit 75 names a time hours away (a daily budget, a
                // provider's allowance): trying again within this bulk run
                // would only be refused again. The row stays retryable, for
                // failed.csv.
                Some(kind)
                    if kind.retryable()
                        && attempt.code != Some(ExitCode::TryLater.code())
                        && attempt_number <= self.retries =>
                {
                    let wait = self.retry_wait * 2u32.pow(attempt_number - 1);
                    report::warn(&format!(
                        "account `{}`: {}; trying again in {} s",
                        self.row.id,
                        attempt.error.as_deref().unwrap_or("failed"),
                        wait.as_secs()
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stopped.changed() => {
                            record.status = "failed";
                            break;
                        }
                    }
                }
                Some(_) => {
                    record.status = "failed";
                    break;
                }
            }
        }
        record.seconds = started.elapsed().as_secs_f64();
        record.ended_at = now();
        drop(permits);
        match record.status {
            "ok" => report::info(&format!("account `{}`: done", self.row.id)),
            _ => report::error(&format!(
                "account `{}` (manifest line {}): {}",
                self.row.id,
                self.row.line,
                record.error.as_deref().unwrap_or("failed")
            )),
        }
        record
    }

    /// Runs the row once, as a child `mailtug … --json`.
    async fn attempt(
        &self,
        number: u32,
        jobs: usize,
        mut stopped: watch::Receiver<bool>,
    ) -> Attempt {
        let command = if self.mirror { "mirror" } else { "copy" };
        let mut args = self.row.args(command);
        args.extend(["--json".into(), "--jobs".into(), jobs.to_string()]);
        args.extend(self.extra.iter().cloned());
        let events = self.log.with_extension(format!("{number}.jsonl"));
        let log = self.log.with_extension(format!("{number}.log"));
        let files = std::fs::File::create(&events).and_then(|out| {
            let err = std::fs::File::create(&log)?;
            Ok((out, err))
        });
        let (out, err) = match files {
            Ok(files) => files,
            Err(e) => {
                return Attempt {
                    code: None,
                    summary: None,
                    error: Some(format!("writing the report: {e}")),
                }
            }
        };
        let child = tokio::process::Command::new(&self.program)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn();
        let status = match child {
            Ok(mut child) => {
                tokio::select! {
                    status = child.wait() => status,
                    () = async {
                        // A closed channel is no stop.
                        if stopped.wait_for(|stop| *stop).await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    } => {
                        // A terminal's Ctrl-C reaches the whole process
                        // group, but Kubernetes, systemd and Slurm signal
                        // only bulk itself: pass the stop on, so the row
                        // ends its batch and saves its state in the grace
                        // period rather than being killed at its end.
                        if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
                            // SAFETY: kill(2) on our own child's pid.
                            unsafe { libc::kill(pid, libc::SIGTERM) };
                        }
                        child.wait().await
                    }
                }
            }
            Err(e) => Err(e),
        };
        let code = match status {
            Ok(status) => status.code(),
            Err(e) => {
                return Attempt {
                    code: None,
                    summary: None,
                    error: Some(format!("starting mailtug: {e}")),
                }
            }
        };
        let summary = std::fs::read_to_string(&events).ok().and_then(|text| {
            text.lines()
                .rev()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|event| event["event"] == "summary")
        });
        // The first error line the row printed says what went wrong.
        let error = std::fs::read_to_string(&log).ok().and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("mailtug: error: "))
                .map(str::to_string)
        });
        Attempt {
            code,
            summary,
            error,
        }
    }
}

/// What kind of failure an attempt was, `None` for a success: the row's
/// own `error_kind` when its summary says, else its exit code.
fn classify(attempt: &Attempt) -> Option<ErrorKind> {
    let said = attempt
        .summary
        .as_ref()
        .and_then(|summary| summary["error_kind"].as_str());
    match (attempt.code, said) {
        (Some(0), _) => None,
        (_, Some("auth")) => Some(ErrorKind::Auth),
        // A provider's limit (exit 75): retry later, as for a busy server.
        (Some(75), _) | (_, Some("throttled")) => Some(ErrorKind::Throttled),
        (_, Some("network")) => Some(ErrorKind::Network),
        (Some(1), _) => Some(ErrorKind::Partial),
        (Some(2), _) => Some(ErrorKind::Usage),
        (Some(3), _) => Some(ErrorKind::Network),
        (Some(4), _) => Some(ErrorKind::Interrupted),
        (Some(5), _) => Some(ErrorKind::Locked),
        (Some(6), _) => Some(ErrorKind::DeletionsRefused),
        (Some(7), _) => Some(ErrorKind::Auth),
        _ => Some(ErrorKind::Other),
    }
}

/// `mailtug report merge DIR…`: the shards' reports as one. Exit as a
/// bulk run of every row would: 0 when every account went well, 1 when
/// any failed, 7 when a login was refused, 4 when any was not started.
pub fn report(command: ReportCommand) -> Result<ExitCode> {
    let ReportCommand::Merge { dirs, into } = command;
    let mut lines = String::new();
    let mut failed_header: Option<String> = None;
    let mut failed_rows = String::new();
    let mut totals = Totals::default();
    let mut seen = HashSet::new();
    let mut refused = false;
    for dir in &dirs {
        let path = dir.join("report.jsonl");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading `{}`", path.display()))
            .map_err(|e| usage(format!("{e:#}")))?;
        for (number, line) in text.lines().enumerate() {
            let record: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| usage(format!("`{}`, line {}: {e}", path.display(), number + 1)))?;
            let id = record["id"].as_str().unwrap_or_default().to_string();
            if !seen.insert(id.clone()) {
                return Err(usage(format!(
                    "account `{id}` is in more than one report (`{}` again): were the shards \
                     of different manifests?",
                    path.display()
                )));
            }
            totals.accounts += 1;
            refused |= record["error_kind"] == "auth";
            match record["status"].as_str() {
                Some("ok") => totals.ok += 1,
                Some("skipped") => totals.skipped += 1,
                Some("not_started") => totals.not_started += 1,
                _ => totals.failed += 1,
            }
            let count = |key: &str| record[key].as_u64().unwrap_or(0);
            totals.messages_copied += count("messages_copied");
            totals.bytes_copied += count("bytes_copied");
            totals.messages_duplicate += count("messages_duplicate");
            totals.messages_failed += count("messages_failed");
            totals.seconds = totals
                .seconds
                .max(record["seconds"].as_f64().unwrap_or(0.0));
            lines.push_str(line);
            lines.push('\n');
        }
        if let Ok(failed) = std::fs::read_to_string(dir.join("failed.csv")) {
            let mut rows = failed.lines();
            if let Some(header) = rows.next() {
                failed_header.get_or_insert_with(|| header.to_string());
            }
            for row in rows {
                failed_rows.push_str(row);
                failed_rows.push('\n');
            }
        }
    }
    let code = outcome(totals.not_started > 0, refused, totals.failed > 0);
    totals.exit_code = i64::from(code.code());
    let summary = serde_json::to_string_pretty(&totals)?;
    if let Some(into) = into {
        std::fs::create_dir_all(&into).with_context(|| format!("creating `{}`", into.display()))?;
        write(&into.join("report.jsonl"), &lines)?;
        write(&into.join("summary.json"), &format!("{summary}\n"))?;
        let header = failed_header.unwrap_or_default();
        write(
            &into.join("failed.csv"),
            &format!("{header}\n{failed_rows}"),
        )?;
    }
    if report::verbosity().json {
        report::emit(&Event::BulkSummary { totals: &totals });
    } else {
        println!("{summary}");
    }
    Ok(code)
}
