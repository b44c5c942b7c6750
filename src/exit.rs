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

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Locked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}
impl std::error::Error for EndpointError {}
impl std::error::Error for Locked {}

/// A usage error with the given text.
pub(crate) fn usage(text: impl Into<String>) -> anyhow::Error {
    UsageError(text.into()).into()
}

/// An endpoint error with the given text.
pub(crate) fn unreachable(text: impl Into<String>) -> anyhow::Error {
    EndpointError(text.into()).into()
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
        ];
        for (err, expected) in cases {
            assert_eq!(classify(&err), expected, "{err:#}");
        }
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
        ]
        .map(ExitCode::code);
        assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
    }
}
