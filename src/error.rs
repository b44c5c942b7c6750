//! How far a failure reaches, as markers in the `anyhow` chain.
//!
//! Errors carry their scope (as isync's `DRV_MSG_BAD`/`BOX_BAD`/`STORE_BAD`):
//! a message the destination rejected, a folder the store refused, a
//! connection that broke. The stores attach a marker where they know the
//! scope; the pipeline and the exit code read it by walking the chain. The
//! markers live here, below the stores and the network code, so neither
//! depends on the other for them.

use std::fmt;

/// Marks a sink error as scoped to one message (e.g. the server rejected it):
/// the run records the failure and goes on. Any other sink error stops the run.
#[derive(Debug)]
pub struct MessageRejected(pub String);

impl fmt::Display for MessageRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for MessageRejected {}

pub fn is_message_rejected(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<MessageRejected>())
}

/// Marks a refusal: the store answered a request for one folder with no
/// (an IMAP NO or BAD, a permission, a file in the way, another program's
/// lock), or with an answer that cannot be trusted, and is otherwise fine. A destination folder refused this way fails
/// alone; the run goes on with the other folders.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

pub fn is_refused(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Refused>()) || err.downcast_ref::<Refused>().is_some()
}

/// Marks a local file system error that concerns one folder only (no
/// permission on it, a file where a directory should be, a name the file
/// system refuses) as a refusal. A full disk or a read-only file system
/// stays a failure of the whole destination.
pub fn refused_if_local(err: anyhow::Error) -> anyhow::Error {
    use std::io::ErrorKind;
    let folder_only = err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ErrorKind::PermissionDenied
                    | ErrorKind::NotADirectory
                    | ErrorKind::IsADirectory
                    | ErrorKind::AlreadyExists
                    | ErrorKind::InvalidFilename
                    | ErrorKind::InvalidInput
            )
        })
    });
    if folder_only {
        let text = format!("{err:#}");
        err.context(Refused(text))
    } else {
        err
    }
}

/// Marks an error as a broken connection: the session cannot be trusted
/// any more, and the folder can be retried after reconnecting.
#[derive(Debug)]
pub struct Disconnected(pub String);

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Disconnected {}

pub fn is_disconnected(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Disconnected>())
        || err.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            })
        })
}
