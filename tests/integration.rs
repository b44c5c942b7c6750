//! End-to-end tests: the real `mailtug` binary on real files (and, for the
//! protocol endpoints, real servers). One test binary, as ripgrep does.

mod support;
mod util;

mod bulk;
mod chaos;
mod checkpoint;
mod commands;
mod config;
mod conformance;
mod deploy;
mod docs;
mod faults;
mod guidance;
mod hostile;
mod imap;
mod interop;
mod local;
mod maildir;
mod malformed;
mod mirror;
mod oauth;
mod plan;
mod pop3;
mod providers;
mod regression;
mod resources;
mod resume;
mod terminal;
mod throttle;
mod trust;
