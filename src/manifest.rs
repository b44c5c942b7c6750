//! The manifest of `mailtug bulk`: one row per account pair, as CSV with a
//! header row or as JSON Lines, each row naming its two endpoints, the
//! users, where their secrets are, and options of its own.
//!
//! The whole file is read and checked before anything starts: every bad
//! row is reported with its line number. A row's columns are the keys of
//! a config file's account (prefixed `src_`/`dst_`) and job options, so a
//! row means what the same job in a config file would.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::exit;

/// The columns a row may have.
pub const COLUMNS: &[&str] = &[
    "id",
    "src",
    "dst",
    "src_user",
    "dst_user",
    "src_admin",
    "dst_admin",
    "src_password_file",
    "dst_password_file",
    "src_password_env",
    "dst_password_env",
    "src_password_command",
    "dst_password_command",
    "src_auth",
    "dst_auth",
    "src_ca_file",
    "dst_ca_file",
    "folders",
    "exclude",
    "map",
    "since",
    "before",
    "max_size",
    "jobs",
];

/// One account pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Line number in the manifest (1 is the CSV header).
    pub line: usize,
    /// `id` if given, else `SRC -> DST`: names the row in reports.
    pub id: String,
    /// Every column given (non-empty), by name.
    pub fields: BTreeMap<String, String>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields.get(column).map(String::as_str)
    }

    /// The row as a `copy` command line (without the program name):
    /// endpoints, then options in column order. List columns (`folders`,
    /// `exclude`, `map`) hold values separated by `;`.
    pub fn args(&self, command: &str) -> Vec<String> {
        let mut args = vec![
            command.to_string(),
            self.get("src").unwrap_or_default().to_string(),
            self.get("dst").unwrap_or_default().to_string(),
        ];
        for (column, value) in &self.fields {
            let option = match column.as_str() {
                "id" | "src" | "dst" => continue,
                "folders" => "folder",
                other => other,
            };
            let option = format!("--{}", option.replace('_', "-"));
            if matches!(column.as_str(), "folders" | "exclude" | "map") {
                for item in value.split(';').map(str::trim).filter(|i| !i.is_empty()) {
                    args.push(option.clone());
                    args.push(item.to_string());
                }
            } else {
                args.push(option);
                args.push(value.clone());
            }
        }
        args
    }

    /// The row in manifest form (for `failed.csv`): its fields in `header`
    /// order.
    pub fn csv_line(&self, header: &[String]) -> String {
        header
            .iter()
            .map(|column| csv_field(self.get(column).unwrap_or("")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A parsed manifest.
#[derive(Debug)]
pub struct Manifest {
    /// The columns, in the file's order (JSON Lines: every key seen, in
    /// the order of `COLUMNS`).
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

impl Manifest {
    /// Reads and checks `path`: CSV with a header row, or JSON Lines when
    /// the name ends in `.jsonl` or `.ndjson` or the first non-blank
    /// character is `{`. Every problem is reported, one line each with its
    /// line number; then the error (exit 2).
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading manifest `{}`", path.display()))
            .map_err(|e| exit::usage(format!("{e:#}")))?;
        let json = path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "ndjson")
            || text.trim_start().starts_with('{');
        let (manifest, mut problems) = match json {
            true => parse_json_lines(&text),
            false => parse_csv(&text),
        };
        problems.extend(check(&manifest));
        if manifest.rows.is_empty() && problems.is_empty() {
            problems.push((1, "the manifest has no rows".to_string()));
        }
        if problems.is_empty() {
            return Ok(manifest);
        }
        problems.sort();
        for (line, problem) in &problems {
            crate::report::error(&format!(
                "manifest `{}`, line {line}: {problem}",
                path.display()
            ));
        }
        Err(exit::usage(format!(
            "manifest `{}` has {} problem{}; nothing was started",
            path.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )))
    }
}

/// What is wrong with each row beyond its syntax.
fn check(manifest: &Manifest) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &manifest.rows {
        for side in ["src", "dst"] {
            match row.get(side) {
                None => problems.push((row.line, format!("no `{side}` endpoint"))),
                Some(endpoint) => {
                    if let Err(e) = crate::endpoint::Endpoint::parse(endpoint) {
                        problems.push((row.line, format!("`{side}`: {e:#}")));
                    }
                }
            }
            let secrets = ["password_file", "password_env", "password_command"]
                .iter()
                .filter(|s| row.get(&format!("{side}_{s}")).is_some())
                .count();
            if secrets > 1 {
                problems.push((
                    row.line,
                    format!(
                        "more than one of {side}_password_file, {side}_password_env and \
                         {side}_password_command"
                    ),
                ));
            }
        }
        if let Some(jobs) = row.get("jobs") {
            if jobs.parse::<u32>().map_or(true, |n| n == 0) {
                problems.push((
                    row.line,
                    format!("`jobs` is `{jobs}`, not a number above 0"),
                ));
            }
        }
        if let Some(first) = ids.insert(&row.id, row.line) {
            problems.push((
                row.line,
                format!("the same account pair as line {first} (`{}`)", row.id),
            ));
        }
    }
    problems
}

/// CSV (RFC 4180): a header row, fields separated by commas, quoted with
/// `"` when they hold commas, quotes or line breaks.
fn parse_csv(text: &str) -> (Manifest, Vec<(usize, String)>) {
    let mut problems = Vec::new();
    let records = csv_records(text, &mut problems);
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return (
            Manifest {
                header: Vec::new(),
                rows: Vec::new(),
            },
            vec![(1, "the manifest is empty; it needs a header row".into())],
        );
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    for column in &header {
        if !COLUMNS.contains(&column.as_str()) {
            let hint = crate::suggest::closest(column, COLUMNS.iter())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            problems.push((1, format!("unknown column `{column}`{hint}")));
        }
    }
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if fields.len() != header.len() {
            problems.push((
                line,
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let fields: BTreeMap<String, String> = header
            .iter()
            .zip(fields)
            .filter(|(column, value)| {
                COLUMNS.contains(&column.as_str()) && !value.trim().is_empty()
            })
            .map(|(column, value)| (column.clone(), value.trim().to_string()))
            .collect();
        rows.push(row(line, fields));
    }
    (Manifest { header, rows }, problems)
}

/// The records of a CSV text, each with the line it starts on.
fn csv_records(text: &str, problems: &mut Vec<(usize, String)>) -> Vec<(usize, Vec<String>)> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    problems.push((start, "a quoted field is not closed".into()));
                }
                break;
            };
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                ('"', true) => quoted = false,
                ('"', false) if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                (',', false) => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                ('\r', false) if chars.peek() == Some(&'\n') => {}
                ('\n', false) => {
                    line += 1;
                    break;
                }
                ('\n', true) => {
                    line += 1;
                    field.push(c);
                }
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        records.push((start, fields));
    }
    records
}

/// JSON Lines: one object per line, keys as the CSV columns, values
/// strings, numbers or (for list columns) arrays of strings.
fn parse_json_lines(text: &str) -> (Manifest, Vec<(usize, String)>) {
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for (index, text_line) in text.lines().enumerate() {
        let line = index + 1;
        if text_line.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(text_line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                problems.push((line, "not a JSON object".into()));
                continue;
            }
            Err(e) => {
                problems.push((line, format!("not JSON: {e}")));
                continue;
            }
        };
        let mut fields = BTreeMap::new();
        for (key, value) in object {
            if !COLUMNS.contains(&key.as_str()) {
                let hint = crate::suggest::closest(&key, COLUMNS.iter())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                problems.push((line, format!("unknown key `{key}`{hint}")));
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                serde_json::Value::Null => continue,
                other => {
                    problems.push((line, format!("`{key}` is {other}, not a string")));
                    continue;
                }
            };
            if !text.trim().is_empty() {
                fields.insert(key, text);
            }
        }
        rows.push(row(line, fields));
    }
    let header = COLUMNS
        .iter()
        .filter(|column| {
            rows.iter()
                .any(|row: &Row| row.fields.contains_key(**column))
        })
        .map(|column| column.to_string())
        .collect();
    (Manifest { header, rows }, problems)
}

fn row(line: usize, fields: BTreeMap<String, String>) -> Row {
    let id = fields.get("id").cloned().unwrap_or_else(|| {
        let user = |side: &str| {
            fields
                .get(&format!("{side}_user"))
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        };
        format!(
            "{}{} -> {}{}",
            fields.get("src").map_or("", String::as_str),
            user("src"),
            fields.get("dst").map_or("", String::as_str),
            user("dst")
        )
    });
    Row { line, id, fields }
}

/// A CSV field, quoted when it must be.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> (Manifest, Vec<(usize, String)>) {
        let (manifest, mut problems) = parse_csv(text);
        problems.extend(check(&manifest));
        (manifest, problems)
    }

    #[test]
    fn csv_fields_may_be_quoted_across_lines_and_rows_keep_their_line_numbers() {
        let (manifest, problems) = csv("id,src,dst,folders\r\n\
             a,maildir:/m/a,maildir:/n/a,\"INBOX;Sent, old\"\r\n\
             \"b \"\"two\"\"\",maildir:/m/b,\"maildir:/n/b\nline\",\r\n\
             \r\n\
             c,maildir:/m/c,maildir:/n/c,\n");
        assert_eq!(problems, []);
        let rows: Vec<(usize, &str)> = manifest
            .rows
            .iter()
            .map(|r| (r.line, r.id.as_str()))
            .collect();
        assert_eq!(rows, [(2, "a"), (3, "b \"two\""), (6, "c")]);
        assert_eq!(manifest.rows[0].get("folders"), Some("INBOX;Sent, old"));
        assert_eq!(manifest.rows[1].get("dst"), Some("maildir:/n/b\nline"));
        // An empty field is an absent one.
        assert_eq!(manifest.rows[2].get("folders"), None);
    }

    #[test]
    fn a_row_written_back_as_csv_reads_the_same() {
        let (manifest, problems) = csv(
            "id,src,dst,map\n\"x,1\",maildir:/a,maildir:/b,\"Sent=Sent \"\"Items\"\";Junk=Spam\"\n",
        );
        assert_eq!(problems, []);
        let line = manifest.rows[0].csv_line(&manifest.header);
        let (again, problems) = csv(&format!("{}\n{line}\n", manifest.header.join(",")));
        assert_eq!(problems, []);
        assert_eq!(again.rows[0].fields, manifest.rows[0].fields);
    }

    #[test]
    fn json_lines_take_strings_numbers_and_lists() {
        let (manifest, problems) = parse_json_lines(
            "{\"src\": \"maildir:/a\", \"dst\": \"maildir:/b\", \"jobs\": 3, \
             \"folders\": [\"INBOX\", \"Sent\"], \"src_user\": null}\n\n\
             {\"dst\": \"maildir:/d\", \"src\": \"maildir:/c\", \"id\": \"second\"}\n",
        );
        assert_eq!(problems, []);
        assert_eq!(manifest.header, ["id", "src", "dst", "folders", "jobs"]);
        let first = &manifest.rows[0];
        assert_eq!(first.id, "maildir:/a -> maildir:/b");
        assert_eq!(first.get("jobs"), Some("3"));
        assert_eq!(
            first.args("copy"),
            [
                "copy",
                "maildir:/a",
                "maildir:/b",
                "--folder",
                "INBOX",
                "--folder",
                "Sent",
                "--jobs",
                "3"
            ]
        );
        assert_eq!(manifest.rows[1].line, 3);
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let (_, problems) = csv(
            "src,dst,jobs,src_password_file,src_password_env,dst_ca_fil\n\
             maildir:/a,maildir:/b,0,,,\n\
             maildir:/a,maildir:/b,2,f,VAR,\n\
             ,maildir:/c,,,,\n\
             maildir:/d\n",
        );
        let expected = [
            (
                1,
                "unknown column `dst_ca_fil`; did you mean `dst_ca_file`?".to_string(),
            ),
            (2, "`jobs` is `0`, not a number above 0".to_string()),
            (
                3,
                "more than one of src_password_file, src_password_env and \
                 src_password_command"
                    .to_string(),
            ),
            (
                3,
                "the same account pair as line 2 (`maildir:/a -> maildir:/b`)".to_string(),
            ),
            (4, "no `src` endpoint".to_string()),
            (5, "1 fields where the header has 6".to_string()),
        ];
        let mut problems = problems;
        problems.sort();
        assert_eq!(problems, expected);
    }

    #[test]
    fn the_man_page_names_every_column() {
        let man = include_str!("man-extra.roff");
        let section = man
            .split_once(".SH BULK MANIFEST\n")
            .expect("a BULK MANIFEST section")
            .1;
        let section = section.split("\n.SH ").next().unwrap();
        for column in COLUMNS {
            assert!(
                section.contains(&format!("\\fB{column}\\fR")),
                "{column} is not in mailtug(1), BULK MANIFEST"
            );
        }
    }
}
