//! `mailtug verify SRC DST`

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::checkpoint::FolderProgress;
use crate::cli::VerifyArgs;
use crate::commands::access::{access, Side};
use crate::endpoint::Endpoint;
use crate::event::{Event, Finding};
use crate::exit::{self, ExitCode};
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::job::FolderSelection;
use crate::message::Message;
use crate::report;
use crate::store::{
    AnySink, AnySource, Create, Fetched, FingerprintSet, Outbox, Sink, Source, SourceOptions,
};

pub async fn run(args: VerifyArgs) -> Result<ExitCode> {
    let source_endpoint = Endpoint::parse_source(&args.source)?;
    let destination_endpoint = Endpoint::parse(&args.destination)?;
    let mut selection = FolderSelection::new(
        &args.folders.folders,
        &args.folders.exclude,
        &args.folders.map,
    )?;
    selection.all_namespaces = args.folders.all_namespaces;
    selection.merge = args.folders.merge;
    let source_access = access(
        &source_endpoint,
        Side::Source,
        &args.remote,
        args.layout.src_maildir_layout,
    )?;
    let destination_access = access(
        &destination_endpoint,
        Side::Destination,
        &args.remote,
        args.layout.dst_maildir_layout,
    )?;
    let options = SourceOptions {
        all_namespaces: selection.all_namespaces,
        ..SourceOptions::default()
    };
    let mut source = AnySource::connect(&source_endpoint, &source_access, &options)
        .await
        .with_context(|| format!("opening source `{source_endpoint}`"))?;
    if let Some(path) = destination_endpoint.path() {
        // Checked against nothing, every message would be "missing".
        if !path.exists() {
            return Err(exit::usage(format!(
                "destination `{destination_endpoint}` does not exist: there is nothing to verify"
            )));
        }
    }
    let mut destination = AnySink::connect_read_only(&destination_endpoint, &destination_access)
        .await
        .with_context(|| format!("opening destination `{destination_endpoint}`"))?;
    let folders = source
        .folders()
        .await
        .with_context(|| format!("listing folders of `{source_endpoint}`"))?;
    for wanted in &selection.only {
        if !folders.contains(wanted) {
            let names: Vec<&str> = folders.iter().map(|f| f.as_str()).collect();
            return Err(crate::suggest::missing_folder(
                wanted.as_str(),
                &source_endpoint.to_string(),
                &names,
            ));
        }
    }

    let json = report::verbosity().json;
    let mut out = std::io::stdout().lock();
    let (mut checked, mut missing_total, mut extra_total, mut failed) = (0u64, 0u64, 0u64, 0u64);
    let mut different_total = 0u64;
    // --content reads the destination's messages whole: as a source.
    let mut destination_messages = if args.content {
        let mut store = AnySource::connect(&destination_endpoint, &destination_access, &options)
            .await
            .with_context(|| format!("opening destination `{destination_endpoint}`"))?;
        let folders: BTreeSet<FolderName> = store.folders().await?.into_iter().collect();
        Some((store, folders))
    } else {
        None
    };
    // Where copy put each folder (see `FolderSelection::under_url_folder`).
    let url_folder = match destination.capabilities().single_folder {
        Some(crate::store::SingleFolder::Named(folder)) => Some(folder),
        _ => None,
    };
    for folder in folders.iter().filter(|f| selection.includes(f)) {
        let target = match &url_folder {
            Some(url_folder) => selection.under_url_folder(url_folder, folders.len() == 1, folder),
            None => selection.destination(folder),
        };
        let wanted = match source_fingerprints(&mut source, folder).await {
            Ok(set) => set,
            Err(e) => {
                report::error(&format!("folder `{folder}`: {e:#}"));
                failed += 1;
                continue;
            }
        };
        let index = FingerprintSet::new()?;
        destination
            .open(&target, Create::No, None, &index)
            .await
            .with_context(|| format!("reading destination folder `{target}`"))?;
        let present: BTreeSet<Fingerprint> = index.to_vec()?.into_iter().collect();
        checked += wanted.len() as u64;
        for (found, fingerprints) in [
            (
                Found::Missing,
                wanted.difference(&present).collect::<Vec<_>>(),
            ),
            (
                Found::Extra,
                present.difference(&wanted).collect::<Vec<_>>(),
            ),
        ] {
            for fingerprint in fingerprints {
                match found {
                    Found::Missing => missing_total += 1,
                    Found::Extra => extra_total += 1,
                    Found::Different => different_total += 1,
                }
                print_finding(&mut out, json, found, folder, &target, fingerprint)?;
            }
        }
        let Some((store, their_folders)) = destination_messages.as_mut() else {
            continue;
        };
        let compared = async {
            let ours = contents(&mut source, folder).await?;
            let theirs = if their_folders.contains(&target) {
                contents(store, &target).await?
            } else {
                BTreeMap::new()
            };
            anyhow::Ok(
                differences(&ours, &theirs)
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        }
        .await;
        let different = match compared {
            Ok(different) => different,
            Err(e) => {
                report::error(&format!("folder `{folder}`: {e:#}"));
                failed += 1;
                continue;
            }
        };
        for fingerprint in different {
            different_total += 1;
            print_finding(
                &mut out,
                json,
                Found::Different,
                folder,
                &target,
                &fingerprint,
            )?;
        }
    }
    source.close().await;
    destination.close().await;
    if let Some((store, _)) = destination_messages {
        store.close().await;
    }
    let skipped = report::skipped_count();
    let code = if missing_total > 0 || different_total > 0 || failed > 0 || skipped > 0 {
        ExitCode::Partial
    } else {
        ExitCode::Success
    };
    report::emit(&Event::VerifySummary {
        messages_checked: checked,
        messages_missing: missing_total,
        messages_extra: extra_total,
        messages_different: different_total,
        folders_failed: failed,
        files_skipped: skipped,
        exit_code: code.code(),
    });
    report::human(&format!(
        "mailtug: verified {checked} distinct messages: {missing_total} missing, {extra_total} extra at the destination{}",
        if args.content {
            format!(", {different_total} with other bytes")
        } else {
            String::new()
        }
    ));
    Ok(code)
}

/// What `verify` found about one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// In the source, not at the destination.
    Missing,
    /// At the destination, not in the source.
    Extra,
    /// On both sides under the same fingerprint, with other bytes.
    Different,
}

impl Found {
    fn as_str(self) -> &'static str {
        match self {
            Found::Missing => "missing",
            Found::Extra => "extra",
            Found::Different => "different",
        }
    }
}

/// One message found `missing`, `extra` or `different`: an event, and a
/// line of `STATUS<TAB>FOLDER<TAB>FINGERPRINT` without `--json`.
fn print_finding(
    out: &mut impl Write,
    json: bool,
    found: Found,
    folder: &FolderName,
    target: &FolderName,
    fingerprint: &Fingerprint,
) -> Result<()> {
    let finding = Finding {
        folder,
        destination_folder: target,
        fingerprint,
    };
    report::emit(&match found {
        Found::Missing => Event::Missing(finding),
        Found::Extra => Event::Extra(finding),
        Found::Different => Event::Different(finding),
    });
    if !json {
        writeln!(
            out,
            "{}\t{}\t{}",
            found.as_str(),
            report::sanitize(folder.as_str()),
            report::sanitize(&fingerprint.to_string())
        )?;
    }
    Ok(())
}

/// The fingerprints of every message in a source folder.
async fn source_fingerprints(
    source: &mut AnySource,
    folder: &FolderName,
) -> Result<BTreeSet<Fingerprint>> {
    // A server folder is indexed by its headers, as a destination would be:
    // checking a large account must not download every body.
    if let Some(fingerprints) = source.index(folder).await? {
        return Ok(fingerprints.into_iter().collect());
    }
    let mut set = BTreeSet::new();
    each_message(source, folder, |message| {
        set.insert(message.fingerprint);
    })
    .await?;
    Ok(set)
}

/// A message's bytes as `--content` compares them: SHA-256 with every CRLF
/// as LF (readers have already undone mbox quoting and taken out mbox
/// metadata headers).
type Content = [u8; 32];

/// The source messages whose bytes the destination does not hold under
/// the same fingerprint (messages the destination lacks altogether are
/// `missing`, not different).
fn differences<'a>(
    ours: &'a BTreeMap<Fingerprint, BTreeSet<Content>>,
    theirs: &BTreeMap<Fingerprint, BTreeSet<Content>>,
) -> Vec<&'a Fingerprint> {
    let mut different = Vec::new();
    for (fingerprint, contents) in ours {
        let Some(held) = theirs.get(fingerprint) else {
            continue;
        };
        for content in contents {
            if !held.contains(content) {
                different.push(fingerprint);
            }
        }
    }
    different
}

/// Each message of a folder read whole: its content, by fingerprint.
async fn contents(
    store: &mut AnySource,
    folder: &FolderName,
) -> Result<BTreeMap<Fingerprint, BTreeSet<Content>>> {
    let mut contents: BTreeMap<Fingerprint, BTreeSet<Content>> = BTreeMap::new();
    each_message(store, folder, |message| {
        let digest = lf_digest(&message.file_bytes());
        contents
            .entry(message.fingerprint)
            .or_default()
            .insert(digest);
    })
    .await?;
    Ok(contents)
}

/// SHA-256 of `bytes` with every CRLF read as LF, without a copy.
fn lf_digest(bytes: &[u8]) -> Content {
    let mut hasher = Sha256::new();
    let mut rest = bytes;
    while let Some(at) = memchr::memmem::find(rest, b"\r\n") {
        hasher.update(&rest[..at]);
        hasher.update(b"\n");
        rest = &rest[at + 2..];
    }
    hasher.update(rest);
    hasher.finalize().into()
}

/// Reads every message of `folder` and hands each to `take`; fails when a
/// message cannot be read (after reporting each one).
async fn each_message(
    source: &mut AnySource,
    folder: &FolderName,
    mut take: impl FnMut(Message),
) -> Result<()> {
    let everything = FolderProgress::default();
    source.open(folder, &everything).await?;
    let (outbox, mut inbox) = Outbox::channel(32 * 1024 * 1024);
    let collect = async move {
        let mut unreadable = 0u64;
        while let Some((item, _permit)) = inbox.recv().await {
            match item {
                Fetched::Message(message) => take(message),
                Fetched::Duplicate(..) | Fetched::Elsewhere(..) => {}
                Fetched::Failed(key, e) => {
                    unreadable += 1;
                    report::error(&format!("folder `{folder}`, {key}: {e:#}"));
                }
            }
        }
        unreadable
    };
    let fetch = async {
        let result = source
            .fetch(&everything, &FingerprintSet::new()?, &outbox)
            .await;
        drop(outbox);
        result
    };
    let (fetched, unreadable) = tokio::join!(fetch, collect);
    fetched?;
    if unreadable > 0 {
        anyhow::bail!("{unreadable} messages could not be read");
    }
    Ok(())
}
