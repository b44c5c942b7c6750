//! `mailtug state list|show|forget`

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::checkpoint;
use crate::cli::StateCommand;
use crate::event::Event;
use crate::exit::{self, ExitCode};
use crate::report;
use crate::state::{MessageRow, State};

pub fn run(command: StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List => list(),
        StateCommand::Show { id, messages: true } => {
            let path = resolve(&id)?;
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
            id,
            messages: false,
        } => {
            let path = resolve(&id)?;
            let checkpoint = State::inspect(&path)?.to_checkpoint()?;
            // Serialised first, so a closed pipe shows up as an io::Error
            // (quietly ignored) rather than inside a serde_json error.
            let mut text = serde_json::to_vec_pretty(&checkpoint)?;
            text.push(b'\n');
            std::io::stdout().lock().write_all(&text)?;
            Ok(ExitCode::Success)
        }
        StateCommand::Forget { id } => {
            let path = resolve(&id)?;
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
    let json = report::verbosity().json;
    let mut out = std::io::stdout().lock();
    for path in entries {
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match State::inspect(&path) {
            Ok(state) => {
                let job = state.job();
                report::emit(&Event::Checkpoint {
                    id: &id,
                    path: &path,
                    updated: state.updated(),
                    source: &job.source,
                    destination: &job.destination,
                    options: &job.options,
                    folders: state.folder_names().len() as u64,
                });
                if !json {
                    writeln!(
                        out,
                        "{id}  {}  {} -> {}{}",
                        format_time(state.updated()),
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

/// An id from `state list`, or a path to a checkpoint file.
fn resolve(id: &str) -> Result<PathBuf> {
    let as_path = PathBuf::from(id);
    if id.contains('/') || as_path.is_file() {
        return Ok(as_path);
    }
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(exit::usage(format!(
            "`{id}` is neither a checkpoint id (see `mailtug state list`) nor a file"
        )));
    }
    let dir = checkpoint::state_dir()?;
    let state = dir.join(format!("{id}.sqlite"));
    let legacy = dir.join(format!("{id}.json"));
    Ok(if !state.exists() && legacy.exists() {
        legacy
    } else {
        state
    })
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
