//! `mailtug plan SRC DST`, and what `copy --dry-run` and `mirror --dry-run`
//! print: per folder where it goes and what a run would do there, then
//! whether the destination has the room and accepts the sizes, what would
//! be deleted, and a verdict. Exit 0 when the plan can run as it is, 1 with
//! the reasons when it cannot.

use super::copy::plural;
use crate::cli::CopyArgs;
use crate::event::{Event, PlanRoom};
use crate::exit::ExitCode;
use crate::job::Job;
use crate::pipeline::{Preview, PreviewFolder, Summary};
use crate::report;

/// What the plan found, ready to print.
struct Plan<'a> {
    preview: &'a Preview,
    /// Messages and bytes a real run would copy.
    messages: u64,
    bytes: u64,
    /// Why a real run would not do all it is asked to.
    problems: Vec<String>,
    /// What else a real run does, or the checks that passed.
    notes: Vec<String>,
    /// `--delete-source`: messages deleted from the source after the copy.
    source_deletions: Option<u64>,
    /// `mirror --delete`: messages removed from the destination.
    destination_deletions: Option<u64>,
}

/// `mailtug plan`: a copy's dry run.
pub(super) async fn run(mut args: CopyArgs) -> anyhow::Result<ExitCode> {
    args.dry_run = true;
    super::copy::run(args).await
}

/// Prints the plan of a dry run (a table on stdout, or `--json` events)
/// and returns the exit code: `Partial` (1) when it cannot run as it is.
pub(super) fn show(job: &Job, summary: &Summary, preview: &Preview) -> ExitCode {
    let plan = Plan::new(job, summary, preview);
    if report::verbosity().json {
        plan.emit();
    } else {
        print!("{}", plan.render(job));
    }
    match plan.problems.is_empty() {
        true => ExitCode::Success,
        false => ExitCode::Partial,
    }
}

impl<'a> Plan<'a> {
    fn new(job: &Job, summary: &Summary, preview: &'a Preview) -> Plan<'a> {
        let counts = &summary.counts;
        let messages = counts.messages_copied;
        let bytes = counts.bytes_copied;
        let mut problems = Vec::new();
        let mut notes = Vec::new();

        for folder in &preview.folders {
            if let Some(reason) = &folder.refused {
                problems.push(format!(
                    "the destination would refuse folder `{}`: {reason}; give it another name with --map '{}=NEW'",
                    folder.destination, folder.folder
                ));
            }
            if let Some(error) = &folder.result.error {
                problems.push(format!("folder `{}`: {error}", folder.folder));
            }
        }
        let unreadable = counts.messages_failed - counts.messages_too_large;
        if unreadable > 0 {
            problems.push(format!(
                "{} could not be read from the source (each is named above)",
                messages_word(unreadable)
            ));
        }
        if let Some(limit) = preview.append_limit {
            match counts.messages_too_large {
                0 => notes.push(format!(
                    "the destination accepts messages of up to {} (APPENDLIMIT): all fit",
                    report::bytes(limit)
                )),
                n => problems.push(format!(
                    "{} larger than the {} the destination accepts (APPENDLIMIT); leave them out with --max-size {}",
                    messages_are(n),
                    report::bytes(limit),
                    limit
                )),
            }
        }
        if let Some(max) = job.plan_max_size {
            notes.push(format!(
                "--max-size {}: leaves out {} larger than that",
                report::bytes(max),
                messages_word(counts.over_max_size)
            ));
        }
        if let Some(room) = &preview.room {
            if let Some(usage) = room.bytes {
                let after = usage.used.saturating_add(bytes);
                let text = format!(
                    "{}: {} of {} used; this run adds {}",
                    room.limited_by,
                    report::bytes(usage.used),
                    report::bytes(usage.limit),
                    report::bytes(bytes)
                );
                match after > usage.limit {
                    true => problems.push(format!(
                        "{text}, {} more than it has left",
                        report::bytes(after - usage.limit)
                    )),
                    false => notes.push(format!("{text} ({}% after)", percent(after, usage.limit))),
                }
            }
            if let Some(usage) = room.messages {
                let after = usage.used.saturating_add(messages);
                if after > usage.limit {
                    problems.push(format!(
                        "{}: {} of {} messages held; this run adds {}, {} more than it allows",
                        room.limited_by,
                        usage.used,
                        usage.limit,
                        messages,
                        after - usage.limit
                    ));
                }
            }
        }

        let source_options = &job.source_options;
        let source_deletions = source_options.deletes().then(|| {
            // What a real run records (copied, or found at the destination)
            // is what it deletes; --delete-after keeps the recent ones.
            counts.messages_copied + counts.messages_duplicate
        });
        if let Some(n) = source_deletions {
            notes.push(match source_options.delete_after {
                None => format!(
                    "then deletes {} from the source, each once stored (--delete-source)",
                    messages_word(n)
                ),
                Some(after) => format!(
                    "then deletes from the source, once stored, those of these {} delivered more than {} days ago (--delete-after)",
                    messages_word(n),
                    after.as_secs() / 86_400
                ),
            });
        }
        let destination_deletions = summary.mirrored.map(|m| m.messages_deleted);
        if let Some(m) = &summary.mirrored {
            if m.flags_updated > 0 {
                notes.push(format!(
                    "mirror: sets the flags of {} copied before",
                    messages_word(m.flags_updated)
                ));
            }
            if m.messages_deleted > 0 {
                notes.push(format!(
                    "mirror: deletes {} from the destination, gone from the source",
                    messages_word(m.messages_deleted)
                ));
            }
            if m.deletions_refused > 0 {
                problems.push(format!(
                    "mirror: {} held back by --max-delete (each folder is named above)",
                    plural(m.deletions_refused, "deletion")
                ));
            }
        }
        if job.mirror.as_ref().is_some_and(|m| m.delete.is_none()) {
            notes.push("mirror: nothing is deleted at the destination (no --delete)".into());
        }
        for (side, service) in [
            ("source", job.presets.source),
            ("destination", job.presets.destination),
        ] {
            if let Some(service) = service {
                notes.push(format!(
                    "the {side} is {}: its preset applies (--{}-provider none turns it off)",
                    service.title(),
                    if side == "source" { "src" } else { "dst" }
                ));
            }
        }
        if job.presets.gmail_source() {
            notes.push(format!(
                "Gmail labels: --gmail-labels {} (DUP counts what All Mail leaves to the other folders)",
                job.presets.gmail_labels.as_str()
            ));
        }
        // A copy larger than a day's allowance takes several runs, each
        // stopping with exit 75 until the window frees up.
        for (budget, direction) in [
            (job.src_daily_bytes, "download"),
            (job.dst_daily_bytes, "upload"),
        ] {
            if let Some(budget) = budget.filter(|&b| b > 0 && bytes > b) {
                notes.push(format!(
                    "{} is more than the {} a day the {direction} may take: about {} days of runs, \
                     each stopping with exit 75 and continuing when run again",
                    report::bytes(bytes),
                    report::bytes(budget),
                    bytes.div_ceil(budget)
                ));
            }
        }
        Plan {
            preview,
            messages,
            bytes,
            problems,
            notes,
            source_deletions,
            destination_deletions,
        }
    }

    /// The table and what follows it, as plain text that reads the same
    /// on a terminal, in a file or in a mail from cron.
    fn render(&self, job: &Job) -> String {
        let mut out = format!(
            "Plan of a {}\n  from {}\n  to   {}\n\n",
            if job.mirror.is_some() {
                "mirror"
            } else {
                "copy"
            },
            report::sanitize(&job.source.to_string()),
            report::sanitize(&job.destination.to_string())
        );
        let header = [
            "FOLDER",
            "DESTINATION",
            "STATUS",
            "COPY",
            "SIZE",
            "DUP",
            "THERE",
            "DONE",
        ];
        let mut rows: Vec<[String; 8]> = vec![header.map(str::to_string)];
        for folder in &self.preview.folders {
            rows.push(row(folder));
        }
        let total = |f: fn(&PreviewFolder) -> u64| {
            self.preview.folders.iter().map(f).sum::<u64>().to_string()
        };
        rows.push([
            format!("{} folders", self.preview.folders.len()),
            String::new(),
            String::new(),
            self.messages.to_string(),
            report::bytes(self.bytes),
            total(|f| f.result.counts.duplicates_in_source),
            total(|f| f.result.counts.at_destination()),
            total(|f| f.done_before),
        ]);
        let widths: Vec<usize> = (0..8)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let last = rows.len() - 1;
        for (n, row) in rows.iter().enumerate() {
            if n == last {
                let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                out.push_str(&"-".repeat(rule));
                out.push('\n');
            }
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                // Names to the left, numbers to the right.
                match i {
                    0..=2 => line.push_str(&format!("{cell}{}", " ".repeat(pad))),
                    _ => line.push_str(&format!("{}{cell}", " ".repeat(pad))),
                }
                if i + 1 < row.len() {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(
            "\nCOPY: messages to copy, SIZE: their bytes, DUP: copies within the source,\n\
             THERE: already at the destination, DONE: copied by earlier runs of this job.\n",
        );
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                out.push_str(&wrap(note, "  ", "  "));
            }
        }
        out.push('\n');
        if self.problems.is_empty() {
            let verb = match job.mirror {
                Some(_) => "mirror",
                None => "copy",
            };
            let ready = format!(
                "Ready: {} ({}) to copy. `mailtug {verb}` with the same arguments, without \
                 --dry-run, runs it.",
                messages_word(self.messages),
                report::bytes(self.bytes),
            );
            out.push_str(&wrap(&ready, "", ""));
        } else {
            out.push_str("Cannot run as it is:\n");
            for problem in &self.problems {
                out.push_str(&wrap(problem, "  - ", "    "));
            }
        }
        out
    }

    /// `--json`: a `plan_folder` event per folder, then the `plan`.
    fn emit(&self) {
        for folder in &self.preview.folders {
            report::emit(&Event::PlanFolder {
                folder: &folder.folder,
                destination_folder: &folder.destination,
                destination: destination_status(folder),
                special_use: folder.special_use,
                to_copy: folder.result.counts.messages_copied,
                bytes: folder.result.counts.bytes_copied,
                duplicates_in_source: folder.result.counts.duplicates_in_source,
                at_destination: folder.result.counts.at_destination(),
                done_before: folder.done_before,
                failed: folder.result.counts.messages_failed,
                too_large: folder.result.counts.messages_too_large,
                over_max_size: folder.result.counts.over_max_size,
                refused: folder.refused.as_deref(),
                error: folder.result.error.as_deref(),
            });
        }
        let room = self.preview.room.as_ref().map(|room| PlanRoom {
            limited_by: &room.limited_by,
            bytes_used: room.bytes.map(|u| u.used),
            bytes_limit: room.bytes.map(|u| u.limit),
            messages_used: room.messages.map(|u| u.used),
            messages_limit: room.messages.map(|u| u.limit),
        });
        report::emit(&Event::Plan {
            can_run: self.problems.is_empty(),
            messages: self.messages,
            bytes: self.bytes,
            problems: &self.problems,
            notes: &self.notes,
            room,
            append_limit: self.preview.append_limit,
            source_deletions: self.source_deletions,
            destination_deletions: self.destination_deletions,
        });
    }
}

/// `exists`, `new` (the run creates it) or `refused`.
fn destination_status(folder: &PreviewFolder) -> &'static str {
    match (folder.destination_exists, &folder.refused) {
        (true, _) => "exists",
        (false, Some(_)) => "refused",
        (false, None) => "new",
    }
}

fn row(folder: &PreviewFolder) -> [String; 8] {
    let c = &folder.result.counts;
    let status = match (destination_status(folder), folder.special_use) {
        ("new", Some(role)) => format!("new {role}"),
        (status, _) => status.to_string(),
    };
    let copy = match &folder.result.error {
        Some(_) => "FAILED".to_string(),
        None => c.messages_copied.to_string(),
    };
    [
        report::sanitize(folder.folder.as_str()).into_owned(),
        report::sanitize(folder.destination.as_str()).into_owned(),
        status,
        copy,
        report::bytes(c.bytes_copied),
        c.duplicates_in_source.to_string(),
        c.at_destination().to_string(),
        folder.done_before.to_string(),
    ]
}

/// `text` in lines of at most 80 columns, the first after `first`, the
/// others after `rest`; a word longer than a line stays whole.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    const WIDTH: usize = 80;
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn percent(part: u64, whole: u64) -> u64 {
    match whole {
        0 => 100,
        _ => (part as u128 * 100 / whole as u128) as u64,
    }
}

fn messages_word(n: u64) -> String {
    plural(n, "message")
}

/// "1 message is", "3 messages are".
fn messages_are(n: u64) -> String {
    match n {
        1 => "1 message is".to_string(),
        _ => format!("{n} messages are"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_sentences_wrap_within_80_columns_under_their_bullet() {
        let text = "quota `User quota`: 8.00 KiB of 50.00 KiB used; this run adds 46.59 KiB, \
                    4.59 KiB more than it has left";
        let wrapped = wrap(text, "  - ", "    ");
        let lines: Vec<&str> = wrapped.lines().collect();
        assert_eq!(lines.len(), 2, "{wrapped}");
        assert!(lines[0].starts_with("  - quota") && lines[1].starts_with("    "));
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{wrapped}");
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>().join(" "),
            format!("- {text}")
        );
        assert_eq!(wrap("short", "  ", "  "), "  short\n");
    }
}
