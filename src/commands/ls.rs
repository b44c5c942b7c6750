//! `mailtug ls ENDPOINT`

use std::io::Write;

use anyhow::{Context, Result};

use crate::checkpoint::FolderProgress;
use crate::cli::LsArgs;
use crate::commands::access::{access, Side};
use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::exit::ExitCode;
use crate::report;
use crate::store::{AnySource, FolderStats, Source, SourceOptions};

pub async fn run(args: LsArgs) -> Result<ExitCode> {
    let endpoint = Endpoint::parse_source(&args.endpoint)?;
    let access = access(
        &endpoint,
        Side::Source,
        &args.remote,
        args.src_maildir_layout,
    )?;
    let options = SourceOptions {
        all_namespaces: args.all_namespaces,
        ..SourceOptions::default()
    };
    let mut source = AnySource::connect(&endpoint, &access, &options)
        .await
        .with_context(|| format!("opening `{endpoint}`"))?;
    let folders = source
        .folders()
        .await
        .with_context(|| format!("listing folders of `{endpoint}`"))?;
    let json = report::verbosity().json;
    let mut rows = Vec::new();
    let mut total = FolderStats::default();
    let mut code = ExitCode::Success;
    for folder in folders {
        let stats = async {
            source.open(&folder, &FolderProgress::default()).await?;
            source.stats().await
        }
        .await;
        match stats {
            Ok(stats) => {
                total.messages += stats.messages;
                total.bytes += stats.bytes;
                report::emit(&Event::Folder {
                    folder: &folder,
                    messages: stats.messages,
                    bytes: stats.bytes,
                });
                rows.push((folder.to_string(), stats));
            }
            Err(e) => {
                report::error(&format!("folder `{folder}`: {e:#}"));
                code = ExitCode::Partial;
            }
        }
    }
    source.close().await;
    let skipped = report::skipped_count();
    if skipped > 0 {
        code = ExitCode::Partial;
    }
    report::emit(&Event::LsSummary {
        folders: rows.len() as u64,
        messages: total.messages,
        bytes: total.bytes,
        files_skipped: skipped,
    });
    if !json {
        print_table(&rows, total)?;
    }
    Ok(code)
}

fn print_table(rows: &[(String, FolderStats)], total: FolderStats) -> Result<()> {
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .chain([6])
        .max()
        .unwrap_or(6);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<width$}  {:>9}  {:>10}",
        "FOLDER", "MESSAGES", "SIZE"
    )?;
    for (name, stats) in rows {
        writeln!(
            out,
            "{:<width$}  {:>9}  {:>10}",
            report::sanitize(name),
            stats.messages,
            report::bytes(stats.bytes)
        )?;
    }
    writeln!(
        out,
        "{:<width$}  {:>9}  {:>10}",
        "total",
        total.messages,
        report::bytes(total.bytes)
    )?;
    Ok(())
}
