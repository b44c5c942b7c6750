//! `mailtug state list|show|forget`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::checkpoint::{self, JobLock};
use crate::cli::StateCommand;
use crate::event::Event;
use crate::exit::{self, ExitCode};
use crate::report;
use crate::state::{LastRun, MessageRow, State};

pub fn run(command: StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List => list(),
        StateCommand::Show {
            job,
            messages: true,
        } => {
            let path = resolve(&job)?;
            let state = State::inspect(&path)?;
            let mut out = std::io::stdout().lock();
            for folder in state.folder_names() {
                for row in state.messages(&folder)? {
                    let mut line = serde_json::to_vec(&MessageLine {
                        folder: folder.as_str(),
                        row,
                    })?;
                    line.push(b'\n');
                    out.write_all(&line)?;
                }
            }
            Ok(ExitCode::Success)
        }
        StateCommand::Show {
            job,
            messages: false,
        } => {
            let path = resolve(&job)?;
            let checkpoint = State::inspect(&path)?.to_checkpoint()?;
            // Serialised first, so a closed pipe shows up as an io::Error
            // (quietly ignored) rather than inside a serde_json error.
            let mut text = serde_json::to_vec_pretty(&checkpoint)?;
            text.push(b'\n');
            std::io::stdout().lock().write_all(&text)?;
            Ok(ExitCode::Success)
        }
        StateCommand::Forget { job } => {
            let path = resolve(&job)?;
            // Only a state file is removed: the name must not point at something else.
            drop(State::inspect(&path)?);
            std::fs::remove_file(&path)
                .with_context(|| format!("removing state `{}`", path.display()))?;
            for suffix in ["-wal", "-shm", ".lock"] {
                let mut beside = path.clone().into_os_string();
                beside.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(beside));
            }
            report::human(&format!("mailtug: forgot state `{}`", path.display()));
            Ok(ExitCode::Success)
        }
    }
}

/// One line of `state show --messages`.
#[derive(serde::Serialize)]
struct MessageLine<'a> {
    folder: &'a str,
    #[serde(flatten)]
    row: MessageRow,
}

fn list() -> Result<ExitCode> {
    let entries = state_files()?;
    let json = report::verbosity().json;
    let mut out = std::io::stdout().lock();
    if !json && !entries.is_empty() {
        writeln!(
            out,
            "{:<16}  {:<16}  {:<11}  {:>7}  {:>6}  SOURCE -> DESTINATION",
            "ID", "LAST RUN", "STATUS", "COPIED", "FAILED"
        )?;
    }
    for path in entries {
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match State::inspect(&path) {
            Ok(state) => {
                let job = state.job();
                let last_run = state.last_run();
                let status = status_of(last_run.as_ref(), &path);
                report::emit(&Event::Checkpoint {
                    id: &id,
                    path: &path,
                    updated: state.updated(),
                    source: &job.source,
                    destination: &job.destination,
                    options: &job.options,
                    folders: state.folder_names().len() as u64,
                    status,
                    last_run: last_run.as_ref(),
                });
                if !json {
                    let (when, copied, failed) = match &last_run {
                        Some(run) => (
                            format_time(run.started),
                            run.messages_copied.to_string(),
                            run.messages_failed.to_string(),
                        ),
                        None => (format_time(state.updated()), "-".into(), "-".into()),
                    };
                    writeln!(
                        out,
                        "{id:<16}  {when:<16}  {status:<11}  {copied:>7}  {failed:>6}  {} -> {}{}",
                        report::sanitize(&job.source),
                        report::sanitize(&job.destination),
                        if job.options.is_empty() {
                            String::new()
                        } else {
                            format!("  {}", job.options.join(" "))
                        }
                    )?;
                }
            }
            Err(e) => report::warn(&format!("{e:#}")),
        }
    }
    Ok(ExitCode::Success)
}

/// What `state list` says of a job's last run: as recorded, except that a
/// run recorded as running whose lock is free was killed or crashed.
fn status_of(last_run: Option<&LastRun>, path: &Path) -> &'static str {
    match last_run.map(|run| run.status.as_str()) {
        None => "unknown",
        Some("running") if JobLock::is_held(path) => "running",
        Some("running") => "stopped",
        Some("finished") => "finished",
        Some("interrupted") => "interrupted",
        Some(_) => "failed",
    }
}

/// The state file a user named: an id from `state list` or its first
/// characters, a path to a state file, or the job's SRC and DST (as typed
/// for `copy`; a job with options of its own is told apart by its id).
fn resolve(job: &[String]) -> Result<PathBuf> {
    match job {
        [source, destination] => resolve_endpoints(source, destination),
        [id] => resolve_id(id),
        _ => Err(exit::usage("give a state id, or the job's SRC and DST")),
    }
}

fn resolve_id(id: &str) -> Result<PathBuf> {
    let as_path = PathBuf::from(id);
    if id.contains('/') || as_path.is_file() {
        return Ok(as_path);
    }
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(exit::usage(format!(
            "`{id}` is neither a state id (see `mailtug state list`) nor a file"
        )));
    }
    let mut matching: Vec<PathBuf> = state_files()?
        .into_iter()
        .filter(|path| {
            path.file_stem()
                .is_some_and(|stem| stem.to_string_lossy().starts_with(&id.to_ascii_lowercase()))
        })
        .collect();
    // A JSON checkpoint of an older release beside the state it became:
    // the state is the job's.
    matching.sort_by_key(|path| (path.file_stem().map(|s| s.to_owned()), !is_sqlite(path)));
    matching.dedup_by(|later, earlier| later.file_stem() == earlier.file_stem());
    match matching.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(exit::usage(format!(
            "no state has an id starting with `{id}`; see `mailtug state list`"
        ))),
        many => Err(exit::usage(format!(
            "`{id}` starts {} state ids ({}); give more of it",
            many.len(),
            many.iter()
                .filter_map(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn resolve_endpoints(source: &str, destination: &str) -> Result<PathBuf> {
    let source = crate::endpoint::Endpoint::parse(source)?.normalized();
    let destination = crate::endpoint::Endpoint::parse(destination)?.normalized();
    let mut matching = Vec::new();
    for path in state_files()? {
        if let Ok(state) = State::inspect(&path) {
            let job = state.job();
            if job.source == source && job.destination == destination {
                matching.push((path.clone(), job.options.join(" ")));
            }
        }
    }
    match matching.as_slice() {
        [(one, _)] => Ok(one.clone()),
        [] => Err(exit::usage(format!(
            "no state for {source} -> {destination}; see `mailtug state list`"
        ))),
        many => Err(exit::usage(format!(
            "{} states for {source} -> {destination}, with different options: {}; give the id",
            many.len(),
            many.iter()
                .map(|(path, options)| {
                    let id = path.file_stem().unwrap_or_default().to_string_lossy();
                    match options.is_empty() {
                        true => format!("{id} (no options)"),
                        false => format!("{id} ({options})"),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The state files of the state directory, sorted.
fn state_files() -> Result<Vec<PathBuf>> {
    let dir = checkpoint::state_dir()?;
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(listing) => listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_state_file(p))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("listing `{}`", dir.display())),
    };
    entries.sort();
    Ok(entries)
}

fn is_sqlite(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "sqlite")
}

/// A job's state file in the state directory: SQLite, or a JSON checkpoint
/// of an older release not yet migrated.
fn is_state_file(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|x| x == "sqlite" || x == "json")
}

/// UTC `YYYY-MM-DD HH:MM`.
fn format_time(secs: u64) -> String {
    let time = crate::date::from_unix_seconds(secs as i64).unwrap_or(std::time::UNIX_EPOCH);
    let (year, month, day, hours, minutes, _) = crate::date::utc_parts(time);
    format!("{year:04}-{month:02}-{day:02} {hours:02}:{minutes:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_time_gives_utc_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00");
        assert_eq!(super::format_time(1_577_872_800), "2020-01-01 10:00");
        assert_eq!(super::format_time(951_782_400), "2000-02-29 00:00");
    }
}
