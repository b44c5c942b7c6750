//! mailtug moves e-mail between POP3 accounts, IMAP servers and local stores
//! (maildir, mbox): one pipeline from a source through dedup by Message-ID
//! into a sink, with a checkpoint that makes every run resumable.
//!
//! The binary is a thin shell over this library (see `main.rs`); the tests
//! and the documentation generator reuse it.

pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod date;
pub mod docs;
pub mod durable;
pub mod endpoint;
pub mod exit;
pub mod fingerprint;
pub mod folder;
pub mod job;
pub mod mboxrd;
pub mod message;
pub mod net;
pub mod pipeline;
pub mod report;
pub mod secret;
pub mod store;
