//! Real servers for the protocol tests (see `dovecot.rs`).

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod account;
pub mod certs;
pub mod courier;
pub mod cyrus;
pub mod dovecot;
pub mod faultproxy;
pub mod imapclient;
pub mod planted;
pub mod system;
pub mod tlsserver;

#[allow(unused_imports)] // not every test binary names `User`
pub use dovecot::{Dovecot, User};
