//! Exit codes, and the typed errors that choose them.
//!
//! Scripts depend on these numbers, so they are part of the interface and
//! documented in the man page. Errors stay `anyhow` everywhere; the few kinds
//! that decide an exit code wrap their cause in a marker type below, and
//! `classify` finds the marker by walking the error chain (as ripgrep does for
//! broken pipes).

use std::fmt;

/// The process exit status, documented in `mailtug(1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything selected was copied (or was already there).
    Success = 0,
    /// The run finished, but some messages or folders failed.
    Partial = 1,
    /// Bad command line or configuration: nothing was done.
    Usage = 2,
    /// An endpoint could not be reached or opened (connect, auth, permission).
    Unreachable = 3,
    /// Interrupted (Ctrl-C, SIGTERM); the checkpoint holds what was stored.
    Interrupted = 4,
    /// Another run of the same job holds its checkpoint lock.
    Locked = 5,
    /// mirror: deletions were refused by a safety rail (too many, or a
    /// source folder that holds none of what was copied from it); the rest
    /// of the run went well.
    DeletionsRefused = 6,
    /// A server refused the login (wrong password, disabled account, dead
    /// token). Running again as is cannot help and may lock the account.
    LoginRefused = 7,
    /// An OAuth2 sign-in is needed: none was made for the account, or the
    /// provider no longer accepts it (revoked, expired, password changed).
    /// `mailtug auth login` cures it; running again as is cannot.
    SignInNeeded = 8,
    /// A provider's limit was reached (a daily budget of --src-max-bytes-per-day
    /// or --dst-max-bytes-per-day, or a server asking to come back in more
    /// than a minute): what was copied is recorded, and running the same
    /// command again after the time printed continues (EX_TEMPFAIL).
    TryLater = 75,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Marks an error as a usage or configuration problem (exit 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

/// Marks an error as an endpoint that could not be opened (exit 3).
#[derive(Debug)]
pub(crate) struct EndpointError(pub String);

/// The job's checkpoint is locked by another run (exit 5).
#[derive(Debug)]
pub(crate) struct Locked(pub String);

/// A server refused the credentials (exit 7).
#[derive(Debug)]
pub(crate) struct LoginRefused(pub String);

/// Only a new OAuth2 sign-in can help (exit 8).
#[derive(Debug)]
pub(crate) struct SignInNeeded(pub String);

/// A server asked to come back later: too many connections, a rate or
/// bandwidth limit, a temporary failure (exit 3, worth retrying later).
#[derive(Debug)]
pub(crate) struct Busy(pub String);

/// A limit stopped the run until later (exit 75); the text says when to
/// run it again.
#[derive(Debug)]
pub(crate) struct TryLater(pub String);

/// Each marker is an error whose text is its own.
macro_rules! marker_error {
    ($($marker:ident),*) => {$(
        impl fmt::Display for $marker {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::error::Error for $marker {}
    )*};
}
marker_error!(
    UsageError,
    EndpointError,
    Locked,
    LoginRefused,
    SignInNeeded,
    Busy,
    TryLater
);

/// A run stopped by a limit, with the sentence saying when to resume.
pub(crate) fn try_later(text: impl Into<String>) -> anyhow::Error {
    TryLater(text.into()).into()
}

/// True when a limit stopped the run until later.
pub(crate) fn is_try_later(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<TryLater>())
}

/// A usage error with the given text.
pub(crate) fn usage(text: impl Into<String>) -> anyhow::Error {
    UsageError(text.into()).into()
}

/// An endpoint error with the given text.
pub(crate) fn unreachable(text: impl Into<String>) -> anyhow::Error {
    EndpointError(text.into()).into()
}

/// A refused login, told apart by the server's words: a response code
/// saying "later" (RFC 5530 `UNAVAILABLE`, `LIMIT`, `INUSE`, `THROTTLED`;
/// POP3's RFC 2449/3206 `IN-USE`, `LOGIN-DELAY`, `SYS/TEMP`) makes it a
/// busy server, anything else refused credentials.
pub(crate) fn login_failed(text: String, server_words: &str) -> anyhow::Error {
    if says_later(server_words) {
        Busy(text).into()
    } else {
        LoginRefused(text).into()
    }
}

/// A server that turned the connection away before login: busy when its
/// words say "later" (`* BYE [UNAVAILABLE] Too many connections`), else
/// an endpoint that could not be opened.
pub(crate) fn turned_away(text: String, server_words: &str) -> anyhow::Error {
    if says_later(server_words) {
        Busy(text).into()
    } else {
        EndpointError(text).into()
    }
}

/// True when a server's answer asks to try again later.
pub(crate) fn says_later(words: &str) -> bool {
    let words = words.to_ascii_uppercase();
    [
        "[UNAVAILABLE]",
        "[LIMIT]",
        "[INUSE]",
        "[THROTTLED]",
        "[OVERQUOTA]",
        "[IN-USE]",
        "[LOGIN-DELAY]",
        "[SYS/TEMP]",
        // Not any "too many": "too many login failures" is a lockout,
        // which retrying makes worse.
        "TOO MANY CONNECTIONS",
        "TOO MANY SIMULTANEOUS",
        "TOO MANY SESSIONS",
        "TRY AGAIN LATER",
        "THROTTL",
    ]
    .iter()
    .any(|sign| words.contains(sign))
}

/// What kind of failure ended a run, for scripts and `bulk` deciding
/// whether to run it again: `auth` (never retry as is), `throttled` (a
/// busy server or a provider's limit) and `network` (retry later), `usage`, `locked` or `other`.
pub fn failure_kind(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if cause.is::<LoginRefused>() || cause.is::<SignInNeeded>() {
            return "auth";
        }
        if cause.is::<Busy>() || cause.is::<TryLater>() || cause.is::<crate::throttle::Throttled>()
        {
            return "throttled";
        }
    }
    match classify(err) {
        ExitCode::Usage => "usage",
        ExitCode::Locked => "locked",
        ExitCode::Unreachable => "network",
        _ => "other",
    }
}

/// The exit code a fatal error maps to. Errors without a marker are endpoint
/// failures only when an I/O permission problem sits in the chain; anything
/// else unexpected counts as a partial failure (exit 1).
pub fn classify(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return ExitCode::Usage;
        }
        if cause.is::<EndpointError>() {
            return ExitCode::Unreachable;
        }
        if cause.is::<Locked>() {
            return ExitCode::Locked;
        }
        if cause.is::<LoginRefused>() {
            return ExitCode::LoginRefused;
        }
        if cause.is::<SignInNeeded>() {
            return ExitCode::SignInNeeded;
        }
        if cause.is::<Busy>() {
            return ExitCode::Unreachable;
        }
        if cause.is::<TryLater>() || cause.is::<crate::throttle::Throttled>() {
            return ExitCode::TryLater;
        }
    }
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) {
                return ExitCode::Unreachable;
            }
        }
    }
    ExitCode::Partial
}

/// True when the error is a broken pipe on stdout (`mailtug ls | head`), which
/// is not a failure worth reporting.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn markers_anywhere_in_the_chain_choose_the_code() {
        let cases: Vec<(anyhow::Error, ExitCode)> = vec![
            (usage("bad flag"), ExitCode::Usage),
            (
                Err::<(), _>(unreachable("connect refused"))
                    .context("opening source")
                    .unwrap_err(),
                ExitCode::Unreachable,
            ),
            (anyhow::Error::new(Locked("busy".into())), ExitCode::Locked),
            (
                anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
                    .context("opening maildir"),
                ExitCode::Unreachable,
            ),
            (anyhow::anyhow!("something odd"), ExitCode::Partial),
            (
                login_failed("login failed".into(), "NO [AUTHENTICATIONFAILED] no"),
                ExitCode::LoginRefused,
            ),
            (
                login_failed("login failed".into(), "NO [UNAVAILABLE] later"),
                ExitCode::Unreachable,
            ),
            (
                try_later("daily limit reached").context("copying folder `INBOX`"),
                ExitCode::TryLater,
            ),
            (
                crate::throttle::later(
                    "NO [OVERQUOTA] Account exceeded command or bandwidth limits",
                )
                .unwrap()
                .context("downloading messages"),
                ExitCode::TryLater,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(classify(&err), expected, "{err:#}");
        }
    }

    #[test]
    fn failures_are_named_for_whoever_decides_to_retry() {
        let kinds = [
            login_failed("x".into(), "-ERR [AUTH] Invalid credentials"),
            login_failed("x".into(), "-ERR [IN-USE] mailbox locked"),
            login_failed("x".into(), "NO [LIMIT] Too many connections"),
            login_failed("x".into(), "NO Too many login failures"),
            login_failed("x".into(), "NO Too many simultaneous connections"),
            unreachable("connection refused"),
            usage("bad flag"),
            anyhow::Error::new(Locked("busy".into())),
            anyhow::anyhow!("odd"),
            try_later("daily limit reached"),
        ]
        .map(|e| failure_kind(&e));
        assert_eq!(
            kinds,
            [
                "auth",
                "throttled",
                "throttled",
                "auth",
                "throttled",
                "network",
                "usage",
                "locked",
                "other",
                "throttled"
            ]
        );
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes = [
            ExitCode::Success,
            ExitCode::Partial,
            ExitCode::Usage,
            ExitCode::Unreachable,
            ExitCode::Interrupted,
            ExitCode::Locked,
            ExitCode::DeletionsRefused,
            ExitCode::LoginRefused,
            ExitCode::SignInNeeded,
            ExitCode::TryLater,
        ]
        .map(ExitCode::code);
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 75]);
    }
}
