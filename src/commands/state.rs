//! `mailtug state list|show|forget`

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;

use crate::checkpoint::{self, Checkpoint};
use crate::cli::StateCommand;
use crate::exit::{self, ExitCode};
use crate::report;

pub fn run(command: StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List => list(),
        StateCommand::Show { id } => {
            let path = resolve(&id)?;
            let checkpoint = load(&path)?;
            // Serialised first, so a closed pipe shows up as an io::Error
            // (quietly ignored) rather than inside a serde_json error.
            let mut text = serde_json::to_vec_pretty(&checkpoint)?;
            text.push(b'\n');
            std::io::stdout().lock().write_all(&text)?;
            Ok(ExitCode::Success)
        }
        StateCommand::Forget { id } => {
            let path = resolve(&id)?;
            load(&path)?;
            std::fs::remove_file(&path)
                .with_context(|| format!("removing checkpoint `{}`", path.display()))?;
            let mut lock = path.clone().into_os_string();
            lock.push(".lock");
            let _ = std::fs::remove_file(PathBuf::from(lock));
            report::human(&format!("mailtug: forgot checkpoint `{}`", path.display()));
            Ok(ExitCode::Success)
        }
    }
}

fn list() -> Result<ExitCode> {
    let dir = checkpoint::state_dir()?;
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(listing) => listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
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
        match Checkpoint::load(&path) {
            Ok(Some(checkpoint)) => {
                report::event(json!({
                    "event": "checkpoint",
                    "id": id,
                    "path": path,
                    "updated": checkpoint.updated,
                    "source": checkpoint.job.source,
                    "destination": checkpoint.job.destination,
                    "options": checkpoint.job.options,
                    "folders": checkpoint.folders.len(),
                }));
                if !json {
                    writeln!(
                        out,
                        "{id}  {}  {} -> {}{}",
                        format_time(checkpoint.updated),
                        report::sanitize(&checkpoint.job.source),
                        report::sanitize(&checkpoint.job.destination),
                        if checkpoint.job.options.is_empty() {
                            String::new()
                        } else {
                            format!("  {}", checkpoint.job.options.join(" "))
                        }
                    )?;
                }
            }
            Ok(None) => {}
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
    Ok(checkpoint::state_dir()?.join(format!("{id}.json")))
}

fn load(path: &std::path::Path) -> Result<Checkpoint> {
    Checkpoint::load(path)?
        .ok_or_else(|| exit::usage(format!("there is no checkpoint `{}`", path.display())))
}

/// UTC `YYYY-MM-DD HH:MM`, without a date library.
fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant), valid for the whole u64 seconds range we see.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
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
