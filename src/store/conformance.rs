//! The conformance table: one list of behaviours every store must show
//! through the [`Source`] and [`Sink`] traits, run against every store
//! (rclone's fstests). A behaviour takes a fresh, empty instance of a store
//! and either passes, fails, or is skipped because the store lacks what it
//! needs, which is reported with the reason, never silently.
//!
//! Why it is `#[doc(hidden)] pub` and not `#[cfg(test)]`: the same table
//! runs in two test binaries. The library's unit tests run it against the
//! in-memory store (which exists only under `cfg(test)`), maildir and mbox;
//! `tests/conformance/` runs it against IMAP and POP3 on every test
//! server, which only the integration harness can start. One copy of
//! the table, reached from both, keeps the stores held to the same rules.
//! Nothing outside tests calls it.
//!
//! The table drives stores only through `AnySource`/`AnySink`, as the
//! pipeline does, with a few small messages per behaviour.

use std::any::Any;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;

use crate::checkpoint::FolderProgress;
use crate::folder::FolderName;
use crate::message::{lf_to_crlf, DestinationKey, Flags, Form, Message, SourceKey};
use crate::store::{
    AnySink, AnySource, Capabilities, Create, Fetched, FingerprintSet, FolderStatus, Outbox, Sink,
    Source, SourceOptions,
};

/// A future that opens a store.
pub type Opening<T> = LocalBoxFuture<'static, Result<T>>;

/// Opens a store as a source, with the options a run would give it.
pub type OpenSource = Box<dyn Fn(SourceOptions) -> Opening<AnySource>>;

/// Opens a store as a sink.
pub type OpenSink = Box<dyn Fn() -> Opening<AnySink>>;

/// One fresh, empty instance of a store (a new directory, a new account),
/// and the ways to open it.
pub struct Instance {
    /// `None` for a store that is only a sink.
    pub source: Option<OpenSource>,
    /// `None` for a store that is only a source (POP3).
    pub sink: Option<OpenSink>,
    /// For a store that is not a sink: another way to put mail into the
    /// same place (the IMAP side of a POP3 account), so a source behaviour
    /// has something to read.
    pub seeder: Option<OpenSink>,
    /// The one folder the store holds, for stores that hold one (a single
    /// mbox file, a POP3 maildrop); behaviours then use it for every name.
    pub only_folder: Option<FolderName>,
    /// Whatever must live as long as the instance (a temporary directory).
    pub keep: Box<dyn Any>,
}

/// A store under test: a name for the report and how to make instances.
pub struct Subject {
    pub name: String,
    pub instance: Box<dyn Fn() -> Instance>,
}

/// How one behaviour ended on one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The store lacks what the behaviour needs: why.
    Skipped(String),
    Failed(String),
}

/// A behaviour of the table.
pub type Behaviour = for<'a> fn(&'a Instance) -> LocalBoxFuture<'a, Result<Outcome>>;

macro_rules! table {
    ($($name:ident),* $(,)?) => {
        /// Every behaviour, by name, in the order they run.
        pub fn behaviours() -> Vec<(&'static str, Behaviour)> {
            vec![$((stringify!($name), |store| Box::pin($name(store)) as LocalBoxFuture<'_, _>),)*]
        }
    };
}

table![
    folders_are_listed_in_a_stable_order,
    a_sink_opens_a_missing_folder_as_none_and_an_existing_one_without_creating,
    a_source_refuses_a_folder_that_does_not_exist,
    open_creates_nested_and_non_ascii_folders,
    a_round_trip_keeps_the_bytes_in_the_form_asked_for,
    a_round_trip_keeps_flags_and_internal_dates,
    commit_reports_a_distinct_destination_key_for_each_message,
    open_returns_the_fingerprints_of_what_was_appended,
    fetch_sends_every_message_once_in_a_stable_order,
    fetch_skips_what_the_progress_records_as_done,
    an_empty_folder_opens_and_sends_nothing,
    delete_removes_exactly_the_given_keys,
    stats_count_the_messages_and_their_bytes,
];

/// What a run of the table did, store by store.
#[derive(Debug, Default)]
pub struct Report {
    /// (store, behaviour, outcome, seconds), in the order they ran.
    pub rows: Vec<(String, &'static str, Outcome, f64)>,
}

impl Report {
    /// The matrix as text: one line per store and behaviour.
    pub fn matrix(&self) -> String {
        let width = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        let mut text = String::new();
        for (store, behaviour, outcome, seconds) in &self.rows {
            let verdict = match outcome {
                Outcome::Passed => "passed".to_string(),
                Outcome::Skipped(why) => format!("skipped: {why}"),
                Outcome::Failed(why) => format!("FAILED: {why}"),
            };
            text.push_str(&format!(
                "{store:<14} {behaviour:<width$} {seconds:>6.2}s  {verdict}\n"
            ));
        }
        text
    }

    /// The failed rows, one paragraph each.
    pub fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|(store, behaviour, outcome, _)| match outcome {
                Outcome::Failed(why) => Some(format!("{store}: {behaviour}: {why}")),
                _ => None,
            })
            .collect()
    }

    /// The skipped rows, one line each, and the counts.
    pub fn skips(&self) -> String {
        let mut text = String::new();
        let (mut passed, mut skipped) = (0, 0);
        for (store, behaviour, outcome, _) in &self.rows {
            match outcome {
                Outcome::Passed => passed += 1,
                Outcome::Skipped(why) => {
                    skipped += 1;
                    text.push_str(&format!("  skipped {store} {behaviour}: {why}\n"));
                }
                Outcome::Failed(_) => {}
            }
        }
        format!("{passed} passed, {skipped} skipped by capability\n{text}")
    }

    /// Prints the matrix and panics naming every failure.
    pub fn assert_passed(&self, what: &str) {
        // The whole matrix goes to the test's output (shown on failure and
        // with `--nocapture`); the skips go straight to stderr, past the
        // test harness's capture, so no run hides them.
        println!("{what}: conformance matrix\n{}", self.matrix());
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("conformance, {what}: {}", self.skips()).as_bytes(),
        );
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "{what}: {} of {} behaviours failed:\n{}\n\nthe whole matrix:\n{}",
            failures.len(),
            self.rows.len(),
            failures.join("\n\n"),
            self.matrix()
        );
    }
}

/// Runs every behaviour on every subject, each on a fresh instance, every
/// one to its end even when another fails.
pub async fn run(subjects: &[Subject]) -> Report {
    let mut report = Report::default();
    for subject in subjects {
        for (name, behaviour) in behaviours() {
            let started = Instant::now();
            let instance = (subject.instance)();
            let outcome = match AssertUnwindSafe(behaviour(&instance)).catch_unwind().await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) => Outcome::Failed(format!("{e:#}")),
                Err(panic) => Outcome::Failed(
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into()),
                ),
            };
            drop(instance);
            report.rows.push((
                subject.name.clone(),
                name,
                outcome,
                started.elapsed().as_secs_f64(),
            ));
        }
    }
    report
}

// ---------------------------------------------------------------------------
// The messages the behaviours store.

/// Three small messages for `tag` (unique per behaviour), in file form (LF):
/// no flags; \Seen \Flagged and a keyword; \Answered \Draft \Seen. One
/// holds body lines starting with `From ` and `>From `, which an mbox must
/// quote on write and unquote on read; one lines starting with dots (and
/// a lone dot), which POP3 must stuff and unstuff.
fn samples(tag: &str) -> Vec<Message> {
    let base = 1_614_834_367; // 2021-03-04T05:06:07Z
    (0..3u32)
        .map(|i| {
            let mut flags = Flags::default();
            match i {
                1 => {
                    flags.seen = true;
                    flags.flagged = true;
                    flags.add_keyword("project-x");
                }
                2 => {
                    flags.answered = true;
                    flags.draft = true;
                    flags.seen = true;
                }
                _ => {}
            }
            let body = match i {
                1 => "From the start of a line, mbox quotes this.\n>From and this.\n",
                // POP3 stuffs a leading dot; trailing blanks must survive.
                2 => ".A line that starts with a dot.\n..and two.\n.\nTrailing blanks.  \n",
                _ => "A plain body.\n",
            };
            let raw = format!(
                "Message-ID: <{tag}.{i}@conformance.example>\nFrom: Ann <ann@example.org>\n\
                 To: Bob <bob@example.org>\nSubject: {tag} {i}\n\
                 Date: Thu, 4 Mar 2021 05:06:07 +0000\n\n{body}line {i}\n"
            );
            let date = UNIX_EPOCH + Duration::from_secs(base + u64::from(i) * 86_400);
            Message::new(SourceKey::Uid(i + 1), raw.into_bytes(), flags, Some(date))
        })
        .collect()
}

fn skipped(why: impl Into<String>) -> Result<Outcome> {
    Ok(Outcome::Skipped(why.into()))
}

fn folder(store: &Instance, name: &str) -> FolderName {
    store
        .only_folder
        .clone()
        .unwrap_or_else(|| FolderName::parse(name).expect("a valid folder name"))
}

async fn open_sink(store: &Instance) -> Result<Option<AnySink>> {
    match &store.sink {
        Some(open) => Ok(Some(open().await.context("opening the sink")?)),
        None => Ok(None),
    }
}

async fn open_source(store: &Instance, options: SourceOptions) -> Result<AnySource> {
    let open = store.source.as_ref().context("the store is not a source")?;
    open(options).await.context("opening the source")
}

/// What a store says it can do, from whichever side it has.
async fn capabilities(store: &Instance) -> Result<Capabilities> {
    if let Some(sink) = open_sink(store).await? {
        let capabilities = Sink::capabilities(&sink);
        sink.close().await;
        return Ok(capabilities);
    }
    let source = open_source(store, SourceOptions::default()).await?;
    let capabilities = Source::capabilities(&source);
    source.close().await;
    Ok(capabilities)
}

/// Stores `messages` in `folder` (created), through the store's sink or its
/// seeder, in one commit; returns what the commit reported.
async fn seed(
    store: &Instance,
    folder: &FolderName,
    messages: &[Message],
) -> Result<crate::store::Committed> {
    let open = store
        .sink
        .as_ref()
        .or(store.seeder.as_ref())
        .context("the store has no way to be given mail")?;
    let mut sink = open().await.context("opening the sink to seed")?;
    sink.open(folder, Create::Yes(None), None, &FingerprintSet::new()?)
        .await
        .with_context(|| format!("creating folder `{folder}`"))?
        .with_context(|| format!("folder `{folder}` was not created"))?;
    for message in messages {
        sink.append(message.clone()).await.context("appending")?;
    }
    let committed = sink.commit().await.context("committing")?;
    sink.close().await;
    ensure!(
        committed.rejections.is_empty(),
        "the sink refused {:?}",
        committed.rejections
    );
    Ok(committed)
}

/// Opens `folder` on `source` with `progress` and collects what `fetch` sends.
async fn fetch_all(
    source: &mut AnySource,
    folder: &FolderName,
    progress: &FolderProgress,
) -> Result<(FolderStatus, Vec<Message>)> {
    let status = source
        .open(folder, progress)
        .await
        .with_context(|| format!("opening folder `{folder}` as a source"))?;
    let (outbox, mut inbox) = Outbox::channel(64 << 20);
    source
        .fetch(progress, &FingerprintSet::new()?, &outbox)
        .await
        .context("fetching")?;
    drop(outbox);
    let mut messages = Vec::new();
    while let Some((item, _permit)) = inbox.recv().await {
        match item {
            Fetched::Message(message) => messages.push(message),
            Fetched::Duplicate(key, _) | Fetched::Elsewhere(key, ..) => {
                bail!("{key} was sent as a duplicate of nothing known")
            }
            Fetched::Failed(key, e) => bail!("{key} could not be read: {e:#}"),
        }
    }
    Ok((status, messages))
}

/// A fresh source connection's view of `folder`.
async fn read(
    store: &Instance,
    folder: &FolderName,
    progress: &FolderProgress,
    options: SourceOptions,
) -> Result<(FolderStatus, Vec<Message>)> {
    let mut source = open_source(store, options).await?;
    let read = fetch_all(&mut source, folder, progress).await;
    source.close().await;
    read
}

fn keys(messages: &[Message]) -> Vec<SourceKey> {
    messages.iter().map(|m| m.key.clone()).collect()
}

fn fingerprints(messages: &[Message]) -> Vec<crate::fingerprint::Fingerprint> {
    messages.iter().map(|m| m.fingerprint.clone()).collect()
}

fn seconds(time: Option<SystemTime>) -> Option<u64> {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// Keywords compared as a set: stores keep them, not their order.
fn sorted(flags: &Flags) -> Flags {
    let mut flags = flags.clone();
    flags.keywords.sort();
    flags
}

// ---------------------------------------------------------------------------
// The behaviours.

async fn folders_are_listed_in_a_stable_order(store: &Instance) -> Result<Outcome> {
    let names: Vec<FolderName> = match &store.only_folder {
        Some(only) => vec![only.clone()],
        None => ["Beta", "Alpha", "Alpha/Zeta", "Entwürfe"]
            .iter()
            .map(|n| folder(store, n))
            .collect(),
    };
    for (i, name) in names.iter().enumerate() {
        seed(store, name, &samples(&format!("list{i}"))[..1]).await?;
    }
    if let Some(mut sink) = open_sink(store).await? {
        let first = Sink::folders(&mut sink).await?;
        let again = Sink::folders(&mut sink).await?;
        sink.close().await;
        let mut sink = open_sink(store).await?.expect("a sink");
        let fresh = Sink::folders(&mut sink).await?;
        sink.close().await;
        assert_eq!(first, again, "the sink lists twice the same");
        assert_eq!(first, fresh, "a new sink connection lists the same");
        for name in &names {
            assert!(first.contains(name), "the sink lists `{name}`: {first:?}");
        }
    }
    if store.source.is_some() {
        let mut source = open_source(store, SourceOptions::default()).await?;
        let first = Source::folders(&mut source).await?;
        let again = Source::folders(&mut source).await?;
        source.close().await;
        let mut source = open_source(store, SourceOptions::default()).await?;
        let fresh = Source::folders(&mut source).await?;
        source.close().await;
        assert_eq!(first, again, "the source lists twice the same");
        assert_eq!(first, fresh, "a new source connection lists the same");
        for name in &names {
            assert!(first.contains(name), "the source lists `{name}`: {first:?}");
        }
    }
    Ok(Outcome::Passed)
}

async fn a_sink_opens_a_missing_folder_as_none_and_an_existing_one_without_creating(
    store: &Instance,
) -> Result<Outcome> {
    if store.sink.is_none() {
        return skipped("not a sink");
    }
    if store.only_folder.is_some() {
        return skipped("holds one folder");
    }
    let present = folder(store, "Present");
    seed(store, &present, &samples("present")[..1]).await?;
    let mut sink = open_sink(store).await?.expect("a sink");
    let missing = folder(store, "Missing");
    assert!(!sink.holds(&missing), "holds `Missing` before it exists");
    let opened = sink
        .open(&missing, Create::No, None, &FingerprintSet::new()?)
        .await?;
    assert!(opened.is_none(), "open without Create gives None");
    assert!(!sink.holds(&missing), "open without Create created it");
    assert!(sink.holds(&present), "holds `Present`");
    let index = FingerprintSet::new()?;
    let opened = sink.open(&present, Create::No, None, &index).await?;
    assert_eq!(
        opened.map(|_| index.messages()),
        Some(1),
        "an existing folder opens without Create, with its one message"
    );
    sink.close().await;
    let mut sink = open_sink(store).await?.expect("a sink");
    let listed = Sink::folders(&mut sink).await?;
    sink.close().await;
    assert!(
        !listed.contains(&missing),
        "a new connection lists `Missing`: {listed:?}"
    );
    Ok(Outcome::Passed)
}

async fn a_source_refuses_a_folder_that_does_not_exist(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    // Something exists, so the store itself opens.
    let present = folder(store, "Present");
    seed(store, &present, &samples("present")[..1]).await?;
    let mut source = open_source(store, SourceOptions::default()).await?;
    let missing = FolderName::parse("Missing/Nowhere")?;
    let opened = source.open(&missing, &FolderProgress::default()).await;
    source.close().await;
    assert!(
        opened.is_err(),
        "opening `{missing}` as a source succeeded: {:?}",
        opened.ok()
    );
    Ok(Outcome::Passed)
}

async fn open_creates_nested_and_non_ascii_folders(store: &Instance) -> Result<Outcome> {
    if store.sink.is_none() {
        return skipped("not a sink");
    }
    if store.only_folder.is_some() {
        return skipped("holds one folder");
    }
    let names: Vec<FolderName> = ["Archive/2024", "Entwürfe", "Entwürfe/Übersicht", "日本語"]
        .iter()
        .map(|n| folder(store, n))
        .collect();
    let mut sink = open_sink(store).await?.expect("a sink");
    for name in &names {
        let index = FingerprintSet::new()?;
        sink.open(name, Create::Yes(None), None, &index)
            .await
            .with_context(|| format!("creating `{name}`"))?
            .with_context(|| format!("`{name}` was not created"))?;
        assert!(index.is_empty(), "a new folder is empty");
        sink.commit().await?;
        assert!(sink.holds(name), "holds `{name}` once created");
    }
    sink.close().await;
    let mut sink = open_sink(store).await?.expect("a sink");
    let listed = Sink::folders(&mut sink).await?;
    for name in &names {
        assert!(
            listed.contains(name),
            "a new sink connection lists `{name}`: {listed:?}"
        );
        let opened = sink
            .open(name, Create::No, None, &FingerprintSet::new()?)
            .await?;
        assert!(opened.is_some(), "`{name}` opens without Create");
    }
    sink.close().await;
    if store.source.is_some() {
        let mut source = open_source(store, SourceOptions::default()).await?;
        let listed = Source::folders(&mut source).await?;
        for name in &names {
            assert!(
                listed.contains(name),
                "the source lists `{name}`: {listed:?}"
            );
            let (_, messages) = fetch_all(&mut source, name, &FolderProgress::default()).await?;
            assert!(messages.is_empty(), "`{name}` is empty");
        }
        source.close().await;
    }
    Ok(Outcome::Passed)
}

async fn a_round_trip_keeps_the_bytes_in_the_form_asked_for(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Round trip");
    let sent = samples("bytes");
    seed(store, &name, &sent).await?;
    let form = capabilities(store).await?.form;
    for asked in [Form::File, Form::Wire] {
        let options = SourceOptions {
            form: asked,
            ..SourceOptions::default()
        };
        let (_, got) = read(store, &name, &FolderProgress::default(), options).await?;
        assert_eq!(got.len(), sent.len(), "as many messages as stored");
        for got in &got {
            let tag = &got.key;
            // Matched by fingerprint, not position: a POP3 maildrop lists
            // messages in its own order (Courier's by file time).
            let sent = sent
                .iter()
                .find(|sent| sent.fingerprint == got.fingerprint)
                .unwrap_or_else(|| panic!("{tag}: a message that was never stored"));
            // A file store hands over the bytes it holds (LF); a server
            // converts to the form asked for, so a copy between servers
            // never converts line ends.
            let expected_form = match form {
                Form::File => Form::File,
                Form::Wire => asked,
            };
            assert_eq!(got.form(), expected_form, "{tag}: the line-end form");
            assert_eq!(
                String::from_utf8_lossy(&got.file_bytes()),
                String::from_utf8_lossy(&sent.file_bytes()),
                "{tag}: the bytes (in file form)"
            );
            if expected_form == Form::Wire {
                assert_eq!(
                    got.clone().into_wire_bytes(),
                    lf_to_crlf(&sent.file_bytes()),
                    "{tag}: CRLF on the wire"
                );
            }
            assert_eq!(got.fingerprint, sent.fingerprint, "{tag}: the fingerprint");
        }
    }
    Ok(Outcome::Passed)
}

async fn a_round_trip_keeps_flags_and_internal_dates(store: &Instance) -> Result<Outcome> {
    if store.sink.is_none() {
        return skipped("not a sink: the flags and dates it serves were stored by another");
    }
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Flags");
    let sent = samples("flags");
    seed(store, &name, &sent).await?;
    let (_, got) = read(
        store,
        &name,
        &FolderProgress::default(),
        SourceOptions::default(),
    )
    .await?;
    assert_eq!(got.len(), sent.len(), "as many messages as appended");
    for (got, sent) in got.iter().zip(&sent) {
        let tag = &got.key;
        assert_eq!(got.fingerprint, sent.fingerprint, "{tag}: the order");
        assert_eq!(sorted(&got.flags), sorted(&sent.flags), "{tag}: the flags");
        assert_eq!(
            seconds(got.internal_date),
            seconds(sent.internal_date),
            "{tag}: the internal date"
        );
    }
    Ok(Outcome::Passed)
}

async fn commit_reports_a_distinct_destination_key_for_each_message(
    store: &Instance,
) -> Result<Outcome> {
    if store.sink.is_none() {
        return skipped("not a sink");
    }
    let name = folder(store, "Keys");
    let first = seed(store, &name, &samples("keys1")).await?;
    let second = seed(store, &name, &samples("keys2")).await?;
    let mut all: Vec<DestinationKey> = Vec::new();
    for committed in [first, second] {
        let indexes: Vec<usize> = committed.stored.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 1, 2], "one key per appended message, in order");
        all.extend(committed.stored.into_iter().map(|(_, key)| key));
    }
    let distinct: HashSet<String> = all.iter().map(|k| k.to_string()).collect();
    assert_eq!(distinct.len(), all.len(), "distinct keys: {all:?}");
    Ok(Outcome::Passed)
}

async fn open_returns_the_fingerprints_of_what_was_appended(store: &Instance) -> Result<Outcome> {
    if store.sink.is_none() {
        return skipped("not a sink");
    }
    let name = folder(store, "Fingerprints");
    let sent = samples("fingerprints");
    seed(store, &name, &sent[..2]).await?;
    let mut sink = open_sink(store).await?.expect("a sink");
    let index = FingerprintSet::new()?;
    let opened = sink
        .open(&name, Create::No, None, &index)
        .await?
        .context("the folder is gone")?;
    let held: HashSet<_> = index.to_vec()?.into_iter().collect();
    assert_eq!(
        held,
        fingerprints(&sent[..2]).into_iter().collect(),
        "the fingerprints open returns"
    );
    // And what the same connection appends next is there on the next open.
    sink.append(sent[2].clone()).await?;
    sink.commit().await?;
    sink.close().await;
    let mut sink = open_sink(store).await?.expect("a sink");
    let again = FingerprintSet::new()?;
    sink.open(&name, Create::No, None, &again)
        .await?
        .context("the folder is gone")?;
    let held: HashSet<_> = again.to_vec()?.into_iter().collect();
    assert_eq!(held, fingerprints(&sent).into_iter().collect());
    // A store that keeps an index for next time indexes only what is newer
    // than its mark, and ends with the whole folder all the same.
    if let Some(mark) = opened.cache {
        assert_eq!(mark.messages, 2, "the mark counts the messages indexed");
        let resumed = FingerprintSet::new()?;
        resumed.extend(&fingerprints(&sent[..2]))?;
        let reopened = sink
            .open(&name, Create::No, Some(mark), &resumed)
            .await?
            .context("the folder is gone")?;
        let held: HashSet<_> = resumed.to_vec()?.into_iter().collect();
        assert_eq!(held, fingerprints(&sent).into_iter().collect());
        assert_eq!(resumed.messages(), 3, "each message indexed once");
        assert_eq!(reopened.cache.map(|m| m.messages), Some(3));
    }
    sink.close().await;
    Ok(Outcome::Passed)
}

async fn fetch_sends_every_message_once_in_a_stable_order(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Order");
    let sent = samples("order");
    seed(store, &name, &sent).await?;
    let none = FolderProgress::default();
    let (status, first) = read(store, &name, &none, SourceOptions::default()).await?;
    let (_, second) = read(store, &name, &none, SourceOptions::default()).await?;
    assert_eq!(
        status.pending.unwrap_or(3),
        3,
        "pending before anything is done"
    );
    let got: HashSet<_> = fingerprints(&first).into_iter().collect();
    assert_eq!(
        first.len(),
        sent.len(),
        "each message once: {:?}",
        keys(&first)
    );
    assert_eq!(got, fingerprints(&sent).into_iter().collect());
    assert_eq!(
        keys(&first).into_iter().collect::<HashSet<_>>().len(),
        3,
        "distinct keys"
    );
    assert_eq!(keys(&first), keys(&second), "the same order twice");
    assert_eq!(fingerprints(&first), fingerprints(&second));
    Ok(Outcome::Passed)
}

async fn fetch_skips_what_the_progress_records_as_done(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Resume");
    let sent = samples("resume");
    seed(store, &name, &sent).await?;
    let (status, all) = read(
        store,
        &name,
        &FolderProgress::default(),
        SourceOptions::default(),
    )
    .await?;
    assert_eq!(all.len(), 3);
    let mut progress = FolderProgress {
        identity: status.identity.clone(),
        ..FolderProgress::default()
    };
    // The first and the last are done: a gap, as a failure leaves one.
    for message in [&all[0], &all[2]] {
        progress.mark_done(&message.key, &message.fingerprint);
    }
    let (status, rest) = read(store, &name, &progress, SourceOptions::default()).await?;
    assert!(status.changed.is_none(), "unchanged: {:?}", status.changed);
    assert_eq!(keys(&rest), [all[1].key.clone()], "only the one not done");
    if let Some(pending) = status.pending {
        assert_eq!(pending, 1, "pending with two of three done");
    }
    progress.mark_done(&all[1].key, &all[1].fingerprint);
    let (status, rest) = read(store, &name, &progress, SourceOptions::default()).await?;
    assert!(rest.is_empty(), "all done, yet sent {:?}", keys(&rest));
    if let Some(pending) = status.pending {
        assert_eq!(pending, 0, "pending with all done");
    }
    Ok(Outcome::Passed)
}

async fn an_empty_folder_opens_and_sends_nothing(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Empty");
    seed(store, &name, &[]).await?;
    let mut source = open_source(store, SourceOptions::default()).await?;
    let listed = Source::folders(&mut source).await?;
    assert!(listed.contains(&name), "lists `{name}`: {listed:?}");
    let (status, messages) = fetch_all(&mut source, &name, &FolderProgress::default()).await?;
    assert!(messages.is_empty(), "sent {:?}", keys(&messages));
    assert_eq!(status.pending.unwrap_or(0), 0, "pending in an empty folder");
    let stats = source.stats().await?;
    source.close().await;
    assert_eq!(
        (stats.messages, stats.bytes),
        (0, 0),
        "stats of an empty folder"
    );
    Ok(Outcome::Passed)
}

async fn delete_removes_exactly_the_given_keys(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Delete");
    let sent = samples("delete");
    seed(store, &name, &sent).await?;
    let deleting = SourceOptions {
        delete: true,
        ..SourceOptions::default()
    };
    let mut source = open_source(store, deleting).await?;
    if !Source::capabilities(&source).deletes_at_source {
        source.close().await;
        return skipped("cannot delete at the source (capabilities)");
    }
    let (_, all) = fetch_all(&mut source, &name, &FolderProgress::default()).await?;
    assert_eq!(all.len(), 3);
    source
        .delete(&[all[0].key.clone(), all[2].key.clone()])
        .await
        .context("deleting")?;
    // POP3 deletes at QUIT, IMAP may at CLOSE: deletion is done once the
    // session has ended.
    source.close().await;
    // Courier's POP3 confirms QUIT before it has removed the files, so a
    // session right after it may still list them (and fail to read them):
    // the deletion is given a few seconds to settle.
    let settled = Instant::now() + Duration::from_secs(5);
    loop {
        let left = read(
            store,
            &name,
            &FolderProgress::default(),
            SourceOptions::default(),
        )
        .await;
        let done = matches!(&left, Ok((_, left)) if left.len() == 1);
        if done || Instant::now() > settled {
            let (_, left) = left?;
            assert_eq!(
                fingerprints(&left),
                [all[1].fingerprint.clone()],
                "only the message not named is left"
            );
            return Ok(Outcome::Passed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stats_count_the_messages_and_their_bytes(store: &Instance) -> Result<Outcome> {
    if store.source.is_none() {
        return skipped("not a source");
    }
    let name = folder(store, "Stats");
    let sent = samples("stats");
    seed(store, &name, &sent[..2]).await?;
    let mut source = open_source(store, SourceOptions::default()).await?;
    source.open(&name, &FolderProgress::default()).await?;
    let stats = source.stats().await?;
    source.close().await;
    assert_eq!(stats.messages, 2, "messages");
    // In the store's own unit: file bytes, or with CRLF line ends as a
    // server counts them.
    let file: u64 = sent[..2].iter().map(Message::size).sum();
    let wire: u64 = sent[..2].iter().map(Message::wire_size).sum();
    assert!(
        stats.bytes == file || stats.bytes == wire,
        "bytes: {} is neither the file size {file} nor the wire size {wire}",
        stats.bytes
    );
    Ok(Outcome::Passed)
}

/// The table against the stores the library can open by itself: the
/// in-memory store, maildir, and mbox as a directory and as one file.
/// (`tests/conformance/` runs it against the servers.)
#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::endpoint::Endpoint;
    use crate::store::memory::Memory;
    use crate::store::Access;

    /// A directory removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "mailtug-conformance-{tag}-{}-{}",
                std::process::id(),
                SEQUENCE.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a scratch directory");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn memory() -> Subject {
        Subject {
            name: "memory".into(),
            instance: Box::new(|| {
                let store = Memory::new();
                let (source, sink) = (store.clone(), store);
                Instance {
                    source: Some(Box::new(move |_| {
                        let store = source.clone();
                        Box::pin(async move { Ok(AnySource::from(store)) })
                    })),
                    sink: Some(Box::new(move || {
                        let store = sink.clone();
                        Box::pin(async move { Ok(AnySink::from(store)) })
                    })),
                    seeder: None,
                    only_folder: None,
                    keep: Box::new(()),
                }
            }),
        }
    }

    /// A local store at `path` below a new scratch directory, opened by
    /// endpoint as a run opens it.
    fn local(name: &str, endpoint: fn(&Path) -> Endpoint, only: Option<&str>) -> Subject {
        let tag = name.to_string();
        let only = only.map(|f| FolderName::parse(f).unwrap());
        Subject {
            name: name.into(),
            instance: Box::new(move || {
                let scratch = Scratch::new(&tag);
                let endpoint = endpoint(&scratch.0);
                let for_sink = endpoint.clone();
                Instance {
                    source: Some(Box::new(move |options| {
                        let endpoint = endpoint.clone();
                        Box::pin(async move {
                            AnySource::connect(&endpoint, &Access::default(), &options).await
                        })
                    })),
                    sink: Some(Box::new(move || {
                        let endpoint = for_sink.clone();
                        Box::pin(
                            async move { AnySink::connect(&endpoint, &Access::default()).await },
                        )
                    })),
                    seeder: None,
                    only_folder: only.clone(),
                    keep: Box::new(scratch),
                }
            }),
        }
    }

    #[tokio::test]
    async fn every_local_store_shows_every_behaviour_of_the_table() {
        let subjects = [
            memory(),
            local("maildir", |dir| Endpoint::Maildir(dir.join("mail")), None),
            local("mbox-dir", |dir| Endpoint::Mbox(dir.join("mail")), None),
            local(
                "mbox-file",
                |dir| Endpoint::Mbox(dir.join("mail.mbox")),
                Some("INBOX"),
            ),
        ];
        run(&subjects).await.assert_passed("local stores");
    }
}
