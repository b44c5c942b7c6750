//! What a bulk run reports: one record per account pair, the totals, and
//! the classes of failure that decide whether an account is tried again.
//! `report.jsonl`, `summary.json` and `bulk --json` all print these.

use serde::Serialize;

/// How a row's last attempt failed, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// The server refused the login: retrying could lock the account.
    Auth,
    /// The server asked to slow down or is busy.
    Throttled,
    /// A connection failed or dropped.
    Network,
    /// Another run holds the account pair's state.
    Locked,
    /// Some messages or folders failed; the rest was copied.
    Partial,
    /// A mirror's deletions were held back by a safety rail.
    DeletionsRefused,
    /// The row's options or endpoints are wrong.
    Usage,
    /// Stopped by the user.
    Interrupted,
    Other,
}

impl ErrorKind {
    pub(crate) fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Network | ErrorKind::Locked
        )
    }
}

/// One line of `report.jsonl`.
#[derive(Debug, Serialize)]
pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) line: usize,
    /// `ok`, `failed`, `skipped` (completed by an earlier bulk run) or
    /// `not_started` (the run stopped first).
    pub(crate) status: &'static str,
    pub(crate) messages_copied: u64,
    pub(crate) bytes_copied: u64,
    pub(crate) messages_duplicate: u64,
    pub(crate) messages_failed: u64,
    pub(crate) seconds: f64,
    /// When its first attempt started and its last ended (seconds since
    /// the epoch; 0 when it never started).
    pub(crate) started_at: f64,
    pub(crate) ended_at: f64,
    pub(crate) attempts: u32,
    pub(crate) exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_kind: Option<ErrorKind>,
    pub(crate) retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// `summary.json`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Totals {
    pub(crate) accounts: u64,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) skipped: u64,
    pub(crate) not_started: u64,
    pub(crate) messages_copied: u64,
    pub(crate) bytes_copied: u64,
    pub(crate) messages_duplicate: u64,
    pub(crate) messages_failed: u64,
    pub(crate) seconds: f64,
    pub(crate) exit_code: i64,
}
