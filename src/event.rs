//! The events `--json` prints on stdout, one JSON object per line.
//!
//! Scripts depend on these objects, so they are part of the interface: every
//! event the binary prints is a variant of [`Event`], and the tests below pin
//! each one to the exact line it prints and to its entry in `mailtug(1)`,
//! section JSON OUTPUT (`man-extra.roff`). Keys may be added; none may change
//! name, type or presence without the man page and the tests saying so.
//!
//! Events borrow what they describe: building one costs no copies, and one
//! that `--json` does not ask for is dropped unprinted.

use std::path::Path;

use serde::Serialize;

use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::SourceKey;
use crate::pipeline::{Counts, MirrorCounts, Summary};

/// One line of `--json` output; its variant name is the `event` key.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// `copy`: the first event of a run.
    RunStart {
        source: &'a str,
        destination: &'a str,
        dry_run: bool,
        version: &'a str,
    },
    /// `copy`: a folder is about to be copied.
    FolderStart {
        folder: &'a FolderName,
        destination_folder: &'a FolderName,
        /// Messages not yet done; `null` when not known cheaply, or when the
        /// source folder could not be opened.
        pending: Option<u64>,
    },
    /// `copy`: one message handled.
    Message {
        folder: &'a FolderName,
        key: &'a SourceKey,
        #[serde(flatten)]
        outcome: Outcome<'a>,
    },
    /// `copy`: a folder finished, failed or was found unchanged.
    FolderDone {
        folder: &'a FolderName,
        destination_folder: &'a FolderName,
        unchanged: bool,
        #[serde(flatten)]
        counts: Counts,
        /// `mirror`: what it changed beyond the copy.
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        mirrored: Option<MirrorCounts>,
        /// `null`, or why the folder failed.
        error: Option<String>,
    },
    /// `mirror`: a message copied before was given the source's flags now
    /// (with `dry_run`, would be).
    FlagsUpdated {
        folder: &'a FolderName,
        key: &'a SourceKey,
        destination_folder: &'a FolderName,
        destination_key: serde_json::Value,
        /// The flags it has now, in IMAP syntax.
        flags: String,
        dry_run: bool,
    },
    /// `mirror --delete`: a message gone from the source was removed from
    /// the destination (with `dry_run`, would be).
    Deleted {
        folder: &'a FolderName,
        /// `null` for a message of a replaced folder instance (a new
        /// UIDVALIDITY, a rewritten mbox) that was not found again.
        key: Option<&'a SourceKey>,
        destination_folder: &'a FolderName,
        destination_key: serde_json::Value,
        dry_run: bool,
    },
    /// `--delete-source`, `--delete-after`: a message stored at the
    /// destination and recorded was deleted from the source.
    SourceDeleted {
        folder: &'a FolderName,
        key: &'a SourceKey,
    },
    /// `mirror --delete`: a safety rail held back a folder's deletions.
    DeletionsRefused {
        folder: &'a FolderName,
        /// How many messages are gone from the source folder.
        count: u64,
        reason: &'a str,
    },
    /// `config check`: a job of the config file, as the command line it
    /// runs (after `mailtug`), without its secrets.
    ConfigJob {
        name: &'a str,
        args: &'a [String],
        /// A password comes from the config file itself.
        password_in_file: bool,
    },
    /// Any command: what `mailtug: warning:` says on stderr.
    Warning { message: &'a str },
    /// Any command reading a local store: something that may hold mail and
    /// was not read.
    Skipped { path: &'a str, reason: &'a str },
    /// `copy`: the last event of a run. Without `summary` (a run that could
    /// not start copying) only `exit_code` and `error` are there.
    #[serde(rename = "summary")]
    CopySummary {
        #[serde(flatten)]
        summary: Option<&'a Summary>,
        exit_code: i32,
        /// Why the run stopped; absent when it did not.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// With `error`: `auth`, `throttled`, `network`, `usage`, `locked`
        /// or `other` (see `exit::failure_kind`).
        #[serde(skip_serializing_if = "Option::is_none")]
        error_kind: Option<&'static str>,
    },
    /// `plan`, `copy --dry-run`, `mirror --dry-run`: one folder of the plan.
    PlanFolder {
        folder: &'a FolderName,
        destination_folder: &'a FolderName,
        /// `exists`, `new` (the run creates it) or `refused` (the
        /// destination would refuse its name).
        destination: &'static str,
        /// The source folder's special use, given to a folder created.
        special_use: Option<&'static str>,
        /// Messages a run would copy, and their bytes.
        to_copy: u64,
        bytes: u64,
        /// Copies within the source of a message the run copies.
        duplicates_in_source: u64,
        /// Messages the destination folder holds already.
        at_destination: u64,
        /// Messages earlier runs of the job copied.
        done_before: u64,
        /// Messages that would fail: unreadable, or `too_large`.
        failed: u64,
        /// Larger than the destination's APPENDLIMIT.
        too_large: u64,
        /// Left out by `--max-size`.
        over_max_size: u64,
        /// Why the destination would refuse the folder, or `null`.
        refused: Option<&'a str>,
        /// Why the folder could not be looked at, or `null`.
        error: Option<&'a str>,
    },
    /// `plan`, `copy --dry-run`, `mirror --dry-run`: the verdict, before
    /// the summary.
    Plan {
        /// No problem: a real run would do all it is asked to.
        can_run: bool,
        messages: u64,
        bytes: u64,
        /// Why it cannot run as it is, one sentence each.
        problems: &'a [String],
        /// What else it does, and the checks that passed.
        notes: &'a [String],
        /// The destination's quota or free space, when it tells.
        room: Option<PlanRoom<'a>>,
        /// The largest message the destination accepts, when it says.
        append_limit: Option<u64>,
        /// `--delete-source`/`--delete-after`: messages deleted from the
        /// source after the copy (at most, with `--delete-after`).
        source_deletions: Option<u64>,
        /// `mirror`: messages removed from the destination.
        destination_deletions: Option<u64>,
    },
    /// `auth login`, `auth status`: one kept sign-in (never its tokens).
    SignIn {
        user: &'a str,
        /// `google` or `microsoft`.
        provider: &'static str,
        client_id: &'a str,
        /// Unix seconds.
        access_token_expires_at: u64,
        /// A refresh token is kept: the access token renews itself.
        refreshable: bool,
        signed_in_at: u64,
        refreshed_at: Option<u64>,
        /// `auth status --check`: whether a refresh worked; `null` without it.
        checked: Option<bool>,
        /// The token file.
        file: &'a str,
    },
    /// `ls`: one folder.
    Folder {
        folder: &'a FolderName,
        messages: u64,
        bytes: u64,
    },
    /// `ls`: the last event.
    #[serde(rename = "summary")]
    LsSummary {
        folders: u64,
        messages: u64,
        bytes: u64,
        files_skipped: u64,
    },
    /// `verify`: a source message the destination lacks.
    Missing(Finding<'a>),
    /// `verify`: a destination message the source lacks.
    Extra(Finding<'a>),
    /// `verify --content`: the same fingerprint on both sides, other bytes.
    Different(Finding<'a>),
    /// `verify`: the last event.
    #[serde(rename = "summary")]
    VerifySummary {
        messages_checked: u64,
        messages_missing: u64,
        messages_extra: u64,
        messages_different: u64,
        folders_failed: u64,
        files_skipped: u64,
        exit_code: i32,
    },
    /// `bulk`: an account pair is done (the record `report.jsonl` gets).
    AccountDone {
        #[serde(flatten)]
        record: &'a crate::bulk::Record,
    },
    /// `bulk`, `report merge`: the last event, the totals of
    /// `summary.json`.
    #[serde(rename = "summary")]
    BulkSummary {
        #[serde(flatten)]
        totals: &'a crate::bulk::Totals,
    },
    /// `state list`: one job's state.
    Checkpoint {
        id: &'a str,
        path: &'a Path,
        /// Seconds since the epoch of the last save.
        updated: u64,
        source: &'a str,
        destination: &'a str,
        options: &'a [String],
        folders: u64,
        /// The last run: `finished`, `failed`, `interrupted`, `running`,
        /// `stopped` (killed or crashed) or `unknown` (not recorded).
        status: &'a str,
        /// What the last run recorded of itself; `null` when unknown.
        last_run: Option<&'a crate::state::LastRun>,
    },
}

/// How much more the destination can take, in a `plan` event.
#[derive(Debug, Serialize)]
pub struct PlanRoom<'a> {
    /// "quota `User quota`", "the file system of `/backup`".
    pub limited_by: &'a str,
    pub bytes_used: Option<u64>,
    pub bytes_limit: Option<u64>,
    pub messages_used: Option<u64>,
    pub messages_limit: Option<u64>,
}

/// What became of one message: the `status` key of a `message` event and
/// the keys that go with it.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome<'a> {
    /// Stored and made durable by the destination.
    Copied {
        fingerprint: &'a Fingerprint,
        bytes: u64,
        /// Where an IMAP destination stored it (UIDPLUS APPENDUID), when it said.
        #[serde(skip_serializing_if = "Option::is_none")]
        destination_uid: Option<u32>,
        /// Mirror: the destination folder it was copied from, at the
        /// destination, rather than read from the source (a message moved
        /// between source folders); `bytes` is then 0.
        #[serde(skip_serializing_if = "Option::is_none")]
        copied_from: Option<&'a FolderName>,
    },
    /// `--dry-run`: would be copied.
    WouldCopy {
        fingerprint: &'a Fingerprint,
        bytes: u64,
    },
    /// Already at the destination (or copied earlier in this run).
    Duplicate {
        fingerprint: &'a Fingerprint,
        bytes: u64,
    },
    /// Not read, or refused by the destination; the run goes on.
    Failed { reason: String },
}

/// A message `verify` found on one side only, or different on both.
#[derive(Debug, Serialize)]
pub struct Finding<'a> {
    pub folder: &'a FolderName,
    pub destination_folder: &'a FolderName,
    pub fingerprint: &'a Fingerprint,
}

impl Event<'_> {
    /// Whether this is a command's last event.
    pub fn is_summary(&self) -> bool {
        matches!(
            self,
            Event::CopySummary { .. }
                | Event::LsSummary { .. }
                | Event::VerifySummary { .. }
                | Event::BulkSummary { .. }
        )
    }

    /// The event as one line of JSON, without the line end. Keys come in
    /// sorted order, as they always have: through `Value`, whose map is
    /// sorted, so the order of the fields above can follow the man page.
    /// Only a path that is not UTF-8 fails.
    pub fn to_line(&self) -> serde_json::Result<String> {
        serde_json::to_string(&serde_json::to_value(self)?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    use super::*;

    fn folder(name: &str) -> FolderName {
        FolderName::parse(name).unwrap()
    }

    /// The man page source the JSON OUTPUT section is read from.
    const MAN: &str = include_str!("man-extra.roff");

    /// One value of every event (every shape of the ones that have several),
    /// the command whose entry documents it, and the exact line it prints.
    fn contract() -> Vec<(&'static str, String, &'static str)> {
        let inbox = folder("INBOX");
        let archive = folder("Archive/2023");
        let fingerprint: Fingerprint = "<a@example.org>".parse().unwrap();
        let uid = SourceKey::Uid(7);
        let file = SourceKey::File("1700000000.M1P1.host".into());
        let offset = SourceKey::Offset { start: 0, end: 120 };
        let uidl = SourceKey::Uidl("UID1-1700000000".into());
        let last_run = crate::state::LastRun {
            status: "interrupted".into(),
            started: 1_700_000_000,
            ended: Some(1_700_000_060),
            messages_copied: 25,
            messages_duplicate: 2,
            messages_failed: 0,
            bytes_copied: 51_200,
        };
        let account = crate::bulk::Record {
            id: "alice".into(),
            line: 2,
            status: "ok",
            messages_copied: 3,
            bytes_copied: 4096,
            messages_duplicate: 1,
            messages_failed: 0,
            seconds: 12.5,
            started_at: 1_700_000_000.0,
            ended_at: 1_700_000_012.5,
            attempts: 1,
            exit_code: Some(0),
            error_kind: None,
            retryable: false,
            error: None,
        };
        let refused = crate::bulk::Record {
            id: "bob".into(),
            line: 3,
            status: "failed",
            messages_copied: 0,
            bytes_copied: 0,
            messages_duplicate: 0,
            messages_failed: 0,
            seconds: 1.0,
            started_at: 1_700_000_000.0,
            ended_at: 1_700_000_001.0,
            attempts: 1,
            exit_code: Some(7),
            error_kind: Some(crate::bulk::ErrorKind::Auth),
            retryable: false,
            error: Some(
                "login to imaps://bob@old.example.org failed: [AUTHENTICATIONFAILED]".into(),
            ),
        };
        let totals = crate::bulk::Totals {
            accounts: 2,
            ok: 1,
            failed: 1,
            skipped: 0,
            not_started: 0,
            messages_copied: 3,
            bytes_copied: 4096,
            messages_duplicate: 1,
            messages_failed: 0,
            seconds: 13.0,
            exit_code: 7,
        };
        let counts = Counts {
            messages_copied: 3,
            messages_duplicate: 2,
            duplicates_in_source: 1,
            messages_failed: 1,
            messages_too_large: 1,
            messages_over_quota: 0,
            bytes_copied: 4096,
            over_max_size: 0,
        };
        let file_key = SourceKey::File("1700000001.M1P1.host".into());
        let problems = vec!["over quota".to_string()];
        let summary = Summary {
            folders: 2,
            folders_failed: 1,
            folders_unchanged: 0,
            folders_not_started: 0,
            files_skipped: 1,
            counts,
            mirrored: None,
            seconds: 1.5,
            throttled_waits: 2,
            throttled_seconds: 0.75,
            failed_folders: vec!["Sent".into()],
            resumed: false,
            dry_run: false,
            interrupted: false,
        };
        let stopped = Summary::default();
        let finding = Finding {
            folder: &inbox,
            destination_folder: &archive,
            fingerprint: &fingerprint,
        };
        let path = PathBuf::from("/state/mailtug/0123abcd.json");
        let options = vec!["--folder=INBOX".to_owned()];
        let job_args: Vec<String> = ["copy", "pop3s://me@pop.example.org", "maildir:~/Mail"]
            .map(str::to_owned)
            .to_vec();
        let events: Vec<(&str, Event, &str)> = vec![
            (
                "copy",
                Event::RunStart {
                    source: "imaps://me@mail.example.org",
                    destination: "maildir:/home/me/Maildir",
                    dry_run: true,
                    version: "0.1.0",
                },
                r#"{"destination":"maildir:/home/me/Maildir","dry_run":true,"event":"run_start","source":"imaps://me@mail.example.org","version":"0.1.0"}"#,
            ),
            (
                "copy",
                Event::FolderStart {
                    folder: &inbox,
                    destination_folder: &archive,
                    pending: Some(12),
                },
                r#"{"destination_folder":"Archive/2023","event":"folder_start","folder":"INBOX","pending":12}"#,
            ),
            (
                "copy",
                Event::FolderStart {
                    folder: &inbox,
                    destination_folder: &inbox,
                    pending: None,
                },
                r#"{"destination_folder":"INBOX","event":"folder_start","folder":"INBOX","pending":null}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &uid,
                    outcome: Outcome::Copied {
                        fingerprint: &fingerprint,
                        bytes: 2048,
                        destination_uid: Some(42),
                        copied_from: None,
                    },
                },
                r#"{"bytes":2048,"destination_uid":42,"event":"message","fingerprint":"<a@example.org>","folder":"INBOX","key":{"uid":7},"status":"copied"}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &file,
                    outcome: Outcome::Copied {
                        fingerprint: &fingerprint,
                        bytes: 2048,
                        destination_uid: None,
                        copied_from: None,
                    },
                },
                r#"{"bytes":2048,"event":"message","fingerprint":"<a@example.org>","folder":"INBOX","key":{"file":"1700000000.M1P1.host"},"status":"copied"}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &uid,
                    outcome: Outcome::Copied {
                        fingerprint: &fingerprint,
                        bytes: 0,
                        destination_uid: Some(43),
                        copied_from: Some(&inbox),
                    },
                },
                r#"{"bytes":0,"copied_from":"INBOX","destination_uid":43,"event":"message","fingerprint":"<a@example.org>","folder":"INBOX","key":{"uid":7},"status":"copied"}"#,
            ),
            (
                "copy",
                Event::SourceDeleted {
                    folder: &inbox,
                    key: &uidl,
                },
                r#"{"event":"source_deleted","folder":"INBOX","key":{"uidl":"UID1-1700000000"}}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &uid,
                    outcome: Outcome::WouldCopy {
                        fingerprint: &fingerprint,
                        bytes: 2048,
                    },
                },
                r#"{"bytes":2048,"event":"message","fingerprint":"<a@example.org>","folder":"INBOX","key":{"uid":7},"status":"would_copy"}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &offset,
                    outcome: Outcome::Duplicate {
                        fingerprint: &fingerprint,
                        bytes: 120,
                    },
                },
                r#"{"bytes":120,"event":"message","fingerprint":"<a@example.org>","folder":"INBOX","key":{"offset":{"end":120,"start":0}},"status":"duplicate"}"#,
            ),
            (
                "copy",
                Event::Message {
                    folder: &inbox,
                    key: &uidl,
                    outcome: Outcome::Failed {
                        reason: "reading UIDL UID1-1700000000: connection reset".into(),
                    },
                },
                r#"{"event":"message","folder":"INBOX","key":{"uidl":"UID1-1700000000"},"reason":"reading UIDL UID1-1700000000: connection reset","status":"failed"}"#,
            ),
            (
                "copy",
                Event::FolderDone {
                    folder: &inbox,
                    destination_folder: &archive,
                    unchanged: false,
                    counts,
                    mirrored: None,
                    error: None,
                },
                r#"{"bytes_copied":4096,"destination_folder":"Archive/2023","duplicates_in_source":1,"error":null,"event":"folder_done","folder":"INBOX","messages_copied":3,"messages_duplicate":2,"messages_failed":1,"messages_over_quota":0,"messages_too_large":1,"unchanged":false}"#,
            ),
            (
                "copy",
                Event::FolderDone {
                    folder: &inbox,
                    destination_folder: &inbox,
                    unchanged: true,
                    counts: Counts::default(),
                    mirrored: None,
                    error: Some("reading folder `INBOX`: gone".into()),
                },
                r#"{"bytes_copied":0,"destination_folder":"INBOX","duplicates_in_source":0,"error":"reading folder `INBOX`: gone","event":"folder_done","folder":"INBOX","messages_copied":0,"messages_duplicate":0,"messages_failed":0,"messages_over_quota":0,"messages_too_large":0,"unchanged":true}"#,
            ),
            (
                "copy",
                Event::Warning {
                    message: "UIDVALIDITY changed",
                },
                r#"{"event":"warning","message":"UIDVALIDITY changed"}"#,
            ),
            (
                "mirror",
                Event::FlagsUpdated {
                    folder: &inbox,
                    key: &file_key,
                    destination_folder: &inbox,
                    destination_key: serde_json::json!(17),
                    flags: "\\Seen \\Flagged".into(),
                    dry_run: false,
                },
                r#"{"destination_folder":"INBOX","destination_key":17,"dry_run":false,"event":"flags_updated","flags":"\\Seen \\Flagged","folder":"INBOX","key":{"file":"1700000001.M1P1.host"}}"#,
            ),
            (
                "mirror",
                Event::Deleted {
                    folder: &inbox,
                    key: Some(&SourceKey::Uid(9)),
                    destination_folder: &inbox,
                    destination_key: serde_json::json!("1700000002.M1P1.host"),
                    dry_run: true,
                },
                r#"{"destination_folder":"INBOX","destination_key":"1700000002.M1P1.host","dry_run":true,"event":"deleted","folder":"INBOX","key":{"uid":9}}"#,
            ),
            (
                "mirror",
                Event::DeletionsRefused {
                    folder: &inbox,
                    count: 40,
                    reason: "more than the 10 allowed",
                },
                r#"{"count":40,"event":"deletions_refused","folder":"INBOX","reason":"more than the 10 allowed"}"#,
            ),
            (
                "copy",
                Event::Skipped {
                    path: "/mail/stray.txt",
                    reason: "not a maildir",
                },
                r#"{"event":"skipped","path":"/mail/stray.txt","reason":"not a maildir"}"#,
            ),
            (
                "copy",
                Event::CopySummary {
                    summary: Some(&summary),
                    exit_code: 1,
                    error: None,
                    error_kind: None,
                },
                r#"{"bytes_copied":4096,"dry_run":false,"duplicates_in_source":1,"event":"summary","exit_code":1,"files_skipped":1,"folders":2,"folders_failed":1,"folders_not_started":0,"folders_unchanged":0,"interrupted":false,"messages_copied":3,"messages_duplicate":2,"messages_failed":1,"messages_over_quota":0,"messages_too_large":1,"seconds":1.5,"throttled_seconds":0.75,"throttled_waits":2}"#,
            ),
            (
                "copy",
                Event::CopySummary {
                    summary: Some(&stopped),
                    exit_code: 1,
                    error: Some("appending to `INBOX`: disk full".into()),
                    error_kind: Some("other"),
                },
                r#"{"bytes_copied":0,"dry_run":false,"duplicates_in_source":0,"error":"appending to `INBOX`: disk full","error_kind":"other","event":"summary","exit_code":1,"files_skipped":0,"folders":0,"folders_failed":0,"folders_not_started":0,"folders_unchanged":0,"interrupted":false,"messages_copied":0,"messages_duplicate":0,"messages_failed":0,"messages_over_quota":0,"messages_too_large":0,"seconds":0.0,"throttled_seconds":0.0,"throttled_waits":0}"#,
            ),
            (
                "copy",
                Event::CopySummary {
                    summary: None,
                    exit_code: 5,
                    error: Some("another run holds the lock".into()),
                    error_kind: Some("locked"),
                },
                r#"{"error":"another run holds the lock","error_kind":"locked","event":"summary","exit_code":5}"#,
            ),
            (
                "plan",
                Event::PlanFolder {
                    folder: &inbox,
                    destination_folder: &archive,
                    destination: "new",
                    special_use: Some("\\Archive"),
                    to_copy: 3,
                    bytes: 4096,
                    duplicates_in_source: 1,
                    at_destination: 2,
                    done_before: 7,
                    failed: 1,
                    too_large: 1,
                    over_max_size: 0,
                    refused: None,
                    error: None,
                },
                r#"{"at_destination":2,"bytes":4096,"destination":"new","destination_folder":"Archive/2023","done_before":7,"duplicates_in_source":1,"error":null,"event":"plan_folder","failed":1,"folder":"INBOX","over_max_size":0,"refused":null,"special_use":"\\Archive","to_copy":3,"too_large":1}"#,
            ),
            (
                "plan",
                Event::Plan {
                    can_run: false,
                    messages: 3,
                    bytes: 4096,
                    problems: &problems,
                    notes: &[],
                    room: Some(PlanRoom {
                        limited_by: "quota `User quota`",
                        bytes_used: Some(1024),
                        bytes_limit: Some(4096),
                        messages_used: None,
                        messages_limit: None,
                    }),
                    append_limit: Some(20480),
                    source_deletions: None,
                    destination_deletions: None,
                },
                r#"{"append_limit":20480,"bytes":4096,"can_run":false,"destination_deletions":null,"event":"plan","messages":3,"notes":[],"problems":["over quota"],"room":{"bytes_limit":4096,"bytes_used":1024,"limited_by":"quota `User quota`","messages_limit":null,"messages_used":null},"source_deletions":null}"#,
            ),
            (
                "auth",
                Event::SignIn {
                    user: "me@example.com",
                    provider: "microsoft",
                    client_id: "0b5e-client",
                    access_token_expires_at: 1_764_000_000,
                    refreshable: true,
                    signed_in_at: 1_763_990_000,
                    refreshed_at: None,
                    checked: Some(true),
                    file: "/home/me/.local/state/mailtug/tokens/me@example.com.json",
                },
                r#"{"access_token_expires_at":1764000000,"checked":true,"client_id":"0b5e-client","event":"sign_in","file":"/home/me/.local/state/mailtug/tokens/me@example.com.json","provider":"microsoft","refreshable":true,"refreshed_at":null,"signed_in_at":1763990000,"user":"me@example.com"}"#,
            ),
            (
                "ls",
                Event::Folder {
                    folder: &archive,
                    messages: 10,
                    bytes: 51200,
                },
                r#"{"bytes":51200,"event":"folder","folder":"Archive/2023","messages":10}"#,
            ),
            (
                "ls",
                Event::LsSummary {
                    folders: 2,
                    messages: 10,
                    bytes: 51200,
                    files_skipped: 0,
                },
                r#"{"bytes":51200,"event":"summary","files_skipped":0,"folders":2,"messages":10}"#,
            ),
            (
                "verify",
                Event::Missing(Finding { ..finding }),
                r#"{"destination_folder":"Archive/2023","event":"missing","fingerprint":"<a@example.org>","folder":"INBOX"}"#,
            ),
            (
                "verify",
                Event::Extra(Finding { ..finding }),
                r#"{"destination_folder":"Archive/2023","event":"extra","fingerprint":"<a@example.org>","folder":"INBOX"}"#,
            ),
            (
                "verify",
                Event::Different(Finding { ..finding }),
                r#"{"destination_folder":"Archive/2023","event":"different","fingerprint":"<a@example.org>","folder":"INBOX"}"#,
            ),
            (
                "verify",
                Event::VerifySummary {
                    messages_checked: 9,
                    messages_missing: 1,
                    messages_extra: 2,
                    messages_different: 0,
                    folders_failed: 0,
                    files_skipped: 0,
                    exit_code: 1,
                },
                r#"{"event":"summary","exit_code":1,"files_skipped":0,"folders_failed":0,"messages_checked":9,"messages_different":0,"messages_extra":2,"messages_missing":1}"#,
            ),
            (
                "state list",
                Event::Checkpoint {
                    id: "0123abcd",
                    path: &path,
                    updated: 1_700_000_000,
                    source: "imaps://me@mail.example.org",
                    destination: "maildir:/home/me/Maildir",
                    options: &options,
                    folders: 3,
                    status: "unknown",
                    last_run: None,
                },
                r#"{"destination":"maildir:/home/me/Maildir","event":"checkpoint","folders":3,"id":"0123abcd","last_run":null,"options":["--folder=INBOX"],"path":"/state/mailtug/0123abcd.json","source":"imaps://me@mail.example.org","status":"unknown","updated":1700000000}"#,
            ),
            (
                "state list",
                Event::Checkpoint {
                    id: "0123abcd",
                    path: &path,
                    updated: 1_700_000_000,
                    source: "imaps://me@mail.example.org",
                    destination: "maildir:/home/me/Maildir",
                    options: &options,
                    folders: 3,
                    status: "interrupted",
                    last_run: Some(&last_run),
                },
                r#"{"destination":"maildir:/home/me/Maildir","event":"checkpoint","folders":3,"id":"0123abcd","last_run":{"bytes_copied":51200,"ended":1700000060,"messages_copied":25,"messages_duplicate":2,"messages_failed":0,"started":1700000000,"status":"interrupted"},"options":["--folder=INBOX"],"path":"/state/mailtug/0123abcd.json","source":"imaps://me@mail.example.org","status":"interrupted","updated":1700000000}"#,
            ),
            (
                "config check",
                Event::ConfigJob {
                    name: "fetch",
                    args: &job_args,
                    password_in_file: false,
                },
                r#"{"args":["copy","pop3s://me@pop.example.org","maildir:~/Mail"],"event":"config_job","name":"fetch","password_in_file":false}"#,
            ),
            (
                "state list",
                Event::CopySummary {
                    summary: None,
                    exit_code: 0,
                    error: None,
                    error_kind: None,
                },
                r#"{"event":"summary","exit_code":0}"#,
            ),
            (
                "state list",
                Event::CopySummary {
                    summary: None,
                    exit_code: 2,
                    error: Some("neither XDG_STATE_HOME nor HOME is set".into()),
                    error_kind: Some("usage"),
                },
                r#"{"error":"neither XDG_STATE_HOME nor HOME is set","error_kind":"usage","event":"summary","exit_code":2}"#,
            ),
            (
                "config check",
                Event::CopySummary {
                    summary: None,
                    exit_code: 2,
                    error: Some("config file `c.toml`, line 3: unknown key `sorce`".into()),
                    error_kind: Some("usage"),
                },
                r#"{"error":"config file `c.toml`, line 3: unknown key `sorce`","error_kind":"usage","event":"summary","exit_code":2}"#,
            ),
            (
                "bulk",
                Event::AccountDone { record: &account },
                r#"{"attempts":1,"bytes_copied":4096,"ended_at":1700000012.5,"event":"account_done","exit_code":0,"id":"alice","line":2,"messages_copied":3,"messages_duplicate":1,"messages_failed":0,"retryable":false,"seconds":12.5,"started_at":1700000000.0,"status":"ok"}"#,
            ),
            (
                "bulk",
                Event::AccountDone { record: &refused },
                r#"{"attempts":1,"bytes_copied":0,"ended_at":1700000001.0,"error":"login to imaps://bob@old.example.org failed: [AUTHENTICATIONFAILED]","error_kind":"auth","event":"account_done","exit_code":7,"id":"bob","line":3,"messages_copied":0,"messages_duplicate":0,"messages_failed":0,"retryable":false,"seconds":1.0,"started_at":1700000000.0,"status":"failed"}"#,
            ),
            (
                "bulk",
                Event::BulkSummary { totals: &totals },
                r#"{"accounts":2,"bytes_copied":4096,"event":"summary","exit_code":7,"failed":1,"messages_copied":3,"messages_duplicate":1,"messages_failed":0,"not_started":0,"ok":1,"seconds":13.0,"skipped":0}"#,
            ),
            (
                "report merge",
                Event::BulkSummary { totals: &totals },
                r#"{"accounts":2,"bytes_copied":4096,"event":"summary","exit_code":7,"failed":1,"messages_copied":3,"messages_duplicate":1,"messages_failed":0,"not_started":0,"ok":1,"seconds":13.0,"skipped":0}"#,
            ),
        ];
        events
            .into_iter()
            .map(|(command, event, line)| (command, event.to_line().unwrap(), line))
            .collect()
    }

    #[test]
    fn every_event_prints_its_published_line() {
        for (_, printed, published) in contract() {
            assert_eq!(printed, published);
        }
    }

    #[test]
    fn every_published_line_fits_the_json_schema() {
        for (command, line, _) in contract() {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Err(e) = crate::schema::check_event(&value) {
                panic!("{command}: {line}\n{e}");
            }
        }
    }

    /// The entries of the man page's JSON OUTPUT section by command: each
    /// `.TP` entry's head names its events, and its body names their keys
    /// in bold. The copy events come first; the others follow a `.PP`
    /// paragraph naming `mailtug COMMAND \-\-json`.
    fn documented() -> BTreeMap<(String, String), BTreeSet<String>> {
        let bold = |text: &str| -> BTreeSet<String> {
            text.split("\\fB")
                .skip(1)
                .filter_map(|s| s.split_once("\\fR").map(|(word, _)| word))
                .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .map(str::to_owned)
                .collect()
        };
        let section = MAN
            .split_once(".SH JSON OUTPUT\n")
            .expect("a JSON OUTPUT section")
            .1;
        let section = section.split("\n.SH ").next().unwrap();
        let mut entries = BTreeMap::new();
        for (i, group) in section.split("\n.PP\n").enumerate() {
            let command = if i == 0 {
                "copy".to_owned()
            } else {
                let intro = group.lines().next().unwrap();
                let rest = intro.split_once("\\fBmailtug ").expect(intro).1;
                rest.split_once(" \\-\\-json").expect(intro).0.to_owned()
            };
            for entry in group.split("\n.TP\n").skip(1) {
                let (head, body) = entry.split_once('\n').unwrap_or((entry, ""));
                for event in bold(head) {
                    entries.insert((command.clone(), event), bold(body));
                }
            }
        }
        entries
    }

    /// Bold words in an entry that are values or other events, not keys.
    const NOT_KEYS: &[(&str, &str, &[&str])] = &[
        ("copy", "folder_start", &["folder_done"]),
        (
            "copy",
            "message",
            &["copied", "would_copy", "duplicate", "failed"],
        ),
        ("copy", "summary", &["folder_done", "run_start"]),
    ];

    #[test]
    fn the_man_page_lists_exactly_the_keys_of_every_event() {
        let documented = documented();
        let mut emitted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (command, line, _) in contract() {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            let object = value.as_object().unwrap();
            let event = object["event"].as_str().unwrap().to_owned();
            emitted
                .entry((command.to_owned(), event))
                .or_default()
                .extend(object.keys().filter(|k| *k != "event").cloned());
        }
        assert_eq!(
            documented.keys().collect::<Vec<_>>(),
            emitted.keys().collect::<Vec<_>>(),
            "events in the man page vs events printed"
        );
        for (entry, keys) in &emitted {
            let not_keys: BTreeSet<String> = NOT_KEYS
                .iter()
                .filter(|(c, e, _)| (*c, *e) == (entry.0.as_str(), entry.1.as_str()))
                .flat_map(|(_, _, words)| words.iter().map(|w| w.to_string()))
                .collect();
            let listed: BTreeSet<String> =
                documented[entry].difference(&not_keys).cloned().collect();
            assert_eq!(&listed, keys, "keys of {entry:?}: documented vs printed");
        }
    }
}
