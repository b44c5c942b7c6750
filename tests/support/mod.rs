//! Real servers for the protocol tests: Dovecot (`dovecot.rs`), Cyrus and
//! Courier (`cyrus.rs`, `courier.rs`, each in a PID namespace of its own run
//! by `confined.rs`), all four behind `servers.rs`, and the test side's own
//! IMAP and POP3 clients.

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod account;
pub mod certs;
pub mod confined;
pub mod courier;
pub mod cyrus;
pub mod dovecot;
pub mod faultproxy;
pub mod imapclient;
pub mod oauth;
pub mod planted;
pub mod pop3client;
pub mod servers;
pub mod slurm;
pub mod system;
pub mod tlsserver;

#[allow(unused_imports)] // not every test binary names `User`
pub use dovecot::{Dovecot, User};
