//! `mailtug verify SRC DST`

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result};
use serde_json::json;

use crate::checkpoint::FolderProgress;
use crate::cli::VerifyArgs;
use crate::commands::access::{access, Side};
use crate::endpoint::Endpoint;
use crate::exit::{self, ExitCode};
use crate::fingerprint::Fingerprint;
use crate::job::FolderSelection;
use crate::report;
use crate::store::{AnySink, AnySource, Create, Fetched, Outbox, Sink, Source, SourceOptions};

pub async fn run(args: VerifyArgs) -> Result<ExitCode> {
    let source_endpoint = Endpoint::parse(&args.source)?;
    let destination_endpoint = Endpoint::parse(&args.destination)?;
    let mut selection = FolderSelection::new(
        &args.folders.folders,
        &args.folders.exclude,
        &args.folders.map,
    )?;
    selection.all_namespaces = args.folders.all_namespaces;
    let source_access = access(
        &source_endpoint,
        Side::Source,
        &args.remote,
        &args.layout.src_maildir_layout,
    )?;
    let destination_access = access(
        &destination_endpoint,
        Side::Destination,
        &args.remote,
        &args.layout.dst_maildir_layout,
    )?;
    let options = SourceOptions {
        all_namespaces: selection.all_namespaces,
        ..SourceOptions::default()
    };
    let mut source = AnySource::connect(&source_endpoint, &source_access, &options)
        .await
        .with_context(|| format!("opening source `{source_endpoint}`"))?;
    let mut destination = AnySink::connect_read_only(&destination_endpoint, &destination_access)
        .await
        .with_context(|| format!("opening destination `{destination_endpoint}`"))?;
    let folders = source
        .folders()
        .await
        .with_context(|| format!("listing folders of `{source_endpoint}`"))?;
    for wanted in &selection.only {
        if !folders.contains(wanted) {
            return Err(exit::usage(format!(
                "folder `{wanted}` does not exist in `{source_endpoint}`"
            )));
        }
    }

    let json = report::verbosity().json;
    let mut out = std::io::stdout().lock();
    let (mut checked, mut missing_total, mut extra_total, mut failed) = (0u64, 0u64, 0u64, 0u64);
    for folder in folders.iter().filter(|f| selection.includes(f)) {
        let target = selection.destination(folder);
        let wanted = match source_fingerprints(&mut source, folder).await {
            Ok(set) => set,
            Err(e) => {
                report::error(&format!("folder `{folder}`: {e:#}"));
                failed += 1;
                continue;
            }
        };
        let present: BTreeSet<Fingerprint> = destination
            .open(&target, Create::No, None)
            .await
            .with_context(|| format!("reading destination folder `{target}`"))?
            .unwrap_or_default()
            .fingerprints
            .into_iter()
            .collect();
        checked += wanted.len() as u64;
        for (status, fingerprints) in [
            ("missing", wanted.difference(&present).collect::<Vec<_>>()),
            ("extra", present.difference(&wanted).collect::<Vec<_>>()),
        ] {
            for fingerprint in fingerprints {
                if status == "missing" {
                    missing_total += 1;
                } else {
                    extra_total += 1;
                }
                report::event(json!({
                    "event": status,
                    "folder": folder,
                    "destination_folder": target,
                    "fingerprint": fingerprint,
                }));
                if !json {
                    writeln!(
                        out,
                        "{status}\t{}\t{}",
                        report::sanitize(folder.as_str()),
                        report::sanitize(&fingerprint.to_string())
                    )?;
                }
            }
        }
    }
    source.close().await;
    destination.close().await;
    let code = if missing_total > 0 || failed > 0 {
        ExitCode::Partial
    } else {
        ExitCode::Success
    };
    report::event(json!({
        "event": "summary",
        "messages_checked": checked,
        "messages_missing": missing_total,
        "messages_extra": extra_total,
        "folders_failed": failed,
        "exit_code": code.code(),
    }));
    report::human(&format!(
        "mailtug: verified {checked} distinct messages: {missing_total} missing, {extra_total} extra at the destination"
    ));
    Ok(code)
}

/// The fingerprints of every message in a source folder.
async fn source_fingerprints(
    source: &mut AnySource,
    folder: &crate::folder::FolderName,
) -> Result<BTreeSet<Fingerprint>> {
    // A server folder is indexed by its headers, as a destination would be:
    // checking a large account must not download every body.
    if let AnySource::Imap(imap) = source {
        return Ok(imap.fingerprints(folder).await?.into_iter().collect());
    }
    let everything = FolderProgress::default();
    source.open(folder, &everything).await?;
    let (outbox, mut inbox) = Outbox::channel(32 * 1024 * 1024);
    let collect = async move {
        let mut set = BTreeSet::new();
        let mut unreadable = 0u64;
        while let Some((item, _permit)) = inbox.recv().await {
            match item {
                Fetched::Message(message) => {
                    set.insert(message.fingerprint);
                }
                Fetched::Duplicate(_, fingerprint) => {
                    set.insert(fingerprint);
                }
                Fetched::Failed(key, e) => {
                    unreadable += 1;
                    report::error(&format!("folder `{folder}`, {key}: {e:#}"));
                }
            }
        }
        (set, unreadable)
    };
    let fetch = async {
        let result = source
            .fetch(&everything, &Default::default(), &outbox)
            .await;
        drop(outbox);
        result
    };
    let (fetched, (set, unreadable)) = tokio::join!(fetch, collect);
    fetched?;
    if unreadable > 0 {
        anyhow::bail!("{unreadable} messages could not be read");
    }
    Ok(set)
}
