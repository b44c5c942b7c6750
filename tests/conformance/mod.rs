//! Conformance: the library's table of store behaviours
//! (`mailtug::store::conformance`, which its own unit tests run against the
//! in-memory store, maildir and mbox) run here against the stores only this
//! harness can start: IMAP on each test server, and POP3 on each as a
//! source, as rclone's fstests run one suite against every backend. Each
//! behaviour gets a new account; a POP3 account is given its mail through
//! mailtug's IMAP sink on the same account (each server's POP3 maildrop is
//! its IMAP INBOX), which the IMAP rows check first. A server that is not
//! installed fails with the command that installs it, as everywhere in the
//! harness; nothing is skipped but by capability, and the matrix printed
//! names every skip and why.
//!
//! The stores are driven through `AnySource`/`AnySink`, not the binary: one
//! test per server, so the servers run side by side.

use std::sync::atomic::{AtomicUsize, Ordering};

use mailtug::endpoint::Endpoint;
use mailtug::folder::FolderName;
use mailtug::secret::Secret;
use mailtug::store::conformance::{run, Instance, Subject};
use mailtug::store::{Access, AnySink, AnySource};

use crate::support::servers::TestServer;

/// How to log in to a new account of `server`: plaintext on loopback.
fn access(password: &str) -> Access {
    Access {
        secret: Some(Secret::new(password.to_string())),
        plaintext: true,
        ..Access::default()
    }
}

/// A new account on `server`, with its password.
fn account(server: TestServer, role: &str) -> (String, String) {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let password = format!(
        "Pw{}-conformance-xQ7vZ3kL",
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let user = server.add_user(&format!("conf-{role}"), &password);
    (user, password)
}

fn endpoint(scheme: &str, user: &str, port: u16) -> Endpoint {
    Endpoint::parse(&format!("{scheme}://{user}@127.0.0.1:{port}")).expect("a server endpoint")
}

fn sink_of(endpoint: Endpoint, access: Access) -> mailtug::store::conformance::OpenSink {
    Box::new(move || {
        let (endpoint, access) = (endpoint.clone(), access.clone());
        Box::pin(async move { AnySink::connect(&endpoint, &access).await })
    })
}

fn source_of(endpoint: Endpoint, access: Access) -> mailtug::store::conformance::OpenSource {
    Box::new(move |options| {
        let (endpoint, access) = (endpoint.clone(), access.clone());
        Box::pin(async move { AnySource::connect(&endpoint, &access, &options).await })
    })
}

/// IMAP on `server`, as source and sink.
fn imap(server: TestServer) -> Subject {
    Subject {
        name: format!("imap/{}", server.name()),
        instance: Box::new(move || {
            let (user, password) = account(server, "imap");
            let imap = endpoint("imap", &user, server.imap_port());
            Instance {
                source: Some(source_of(imap.clone(), access(&password))),
                sink: Some(sink_of(imap, access(&password))),
                seeder: None,
                only_folder: None,
                keep: Box::new(()),
            }
        }),
    }
}

/// POP3 on `server`, a source only, given its mail over IMAP.
fn pop3(server: TestServer) -> Subject {
    Subject {
        name: format!("pop3/{}", server.name()),
        instance: Box::new(move || {
            let (user, password) = account(server, "pop3");
            let pop3 = endpoint("pop3", &user, server.pop3_port());
            let imap = endpoint("imap", &user, server.imap_port());
            Instance {
                source: Some(source_of(pop3, access(&password))),
                sink: None,
                seeder: Some(sink_of(imap, access(&password))),
                only_folder: Some(FolderName::parse("INBOX").expect("INBOX")),
                keep: Box::new(()),
            }
        }),
    }
}

fn conform(server: TestServer) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let report = runtime.block_on(run(&[imap(server), pop3(server)]));
    report.assert_passed(server.name());
}

#[test]
fn imap_and_pop3_on_dovecot_show_every_behaviour_of_the_table() {
    conform(TestServer::Dovecot);
}

#[test]
fn imap_and_pop3_on_cyrus_with_slash_names_show_every_behaviour_of_the_table() {
    conform(TestServer::CyrusSlash);
}

#[test]
fn imap_and_pop3_on_cyrus_with_dot_names_show_every_behaviour_of_the_table() {
    conform(TestServer::CyrusDot);
}

#[test]
fn imap_and_pop3_on_courier_show_every_behaviour_of_the_table() {
    conform(TestServer::Courier);
}
