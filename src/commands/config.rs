//! `mailtug run JOB…` and `mailtug config check`: the jobs of the config
//! file, run or shown as the command lines they stand for.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand, RunArgs};
use crate::config::{Config, Resolved};
use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::exit::{self, usage, ExitCode};
use crate::report;

/// Loads the config file `-c` names, or the default one.
fn load(explicit: Option<PathBuf>) -> Result<Config> {
    let path = Config::locate(explicit.as_deref()).ok_or_else(|| {
        usage("no config file: give one with -c FILE or MAILTUG_CONFIG, or set HOME")
    })?;
    if !path.exists() {
        return Err(usage(format!(
            "config file `{}` does not exist (see mailtug(1), CONFIG FILE)",
            path.display()
        )));
    }
    Config::load(&path)
}

/// The job's command line, parsed as if typed: a mistake in the file is
/// reported with the job's name.
fn parse(config: &Config, resolved: &Resolved) -> Result<Cli> {
    let argv = std::iter::once("mailtug".to_string()).chain(resolved.args.iter().cloned());
    let mut cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ");
        usage(format!(
            "job `{}` of config file `{}`: {first}",
            resolved.name,
            config.path.display()
        ))
    })?;
    let remote = match &mut cli.command {
        Command::Copy(args) => &mut args.remote,
        Command::Mirror(args) => &mut args.copy.remote,
        _ => return Err(anyhow!("job `{}` is not a copy or a mirror", resolved.name)),
    };
    remote.src_password = resolved.src_password.clone();
    remote.dst_password = resolved.dst_password.clone();
    Ok(cli)
}

/// The job names given, and the options after them.
fn names_and_options(args: &RunArgs, config: &Config) -> Result<(Vec<String>, Vec<String>)> {
    let split = args
        .jobs
        .iter()
        .position(|word| word.starts_with('-'))
        .unwrap_or(args.jobs.len());
    let (names, options) = args.jobs.split_at(split);
    let names: Vec<String> = match (args.all, names.is_empty()) {
        (true, true) => config.jobs.keys().cloned().collect(),
        (true, false) => return Err(usage("give job names or --all, not both")),
        (false, true) => {
            return Err(usage(
                "name the jobs to run (see `mailtug config check`), or give --all",
            ))
        }
        (false, false) => names.to_vec(),
    };
    if names.is_empty() {
        return Err(usage(format!(
            "config file `{}` has no jobs",
            config.path.display()
        )));
    }
    Ok((names, options.to_vec()))
}

pub async fn run(args: RunArgs, config: Option<PathBuf>) -> Result<ExitCode> {
    let config = load(config)?;
    let (names, options) = names_and_options(&args, &config)?;
    // Every job is checked before the first one starts.
    let mut parsed = Vec::with_capacity(names.len());
    for name in &names {
        let resolved = config.resolve(name, &options)?;
        parsed.push((name, parse(&config, &resolved)?));
    }
    let mut first_failure = ExitCode::Success;
    for (name, cli) in parsed {
        report::debug(&format!("job `{name}`"));
        let code = match super::run_job(cli.command).await {
            Ok(code) => code,
            Err(e) => {
                report::error(&format!("job `{name}`: {e:#}"));
                exit::classify(&e)
            }
        };
        if first_failure == ExitCode::Success {
            first_failure = code;
        }
    }
    Ok(first_failure)
}

pub fn check(command: ConfigCommand, config: Option<PathBuf>) -> Result<ExitCode> {
    let ConfigCommand::Check = command;
    let config = load(config)?;
    for name in config.jobs.keys() {
        let resolved = config.resolve(name, &[])?;
        let cli = parse(&config, &resolved)?;
        let (source, destination) = match &cli.command {
            Command::Copy(args) => (&args.source, &args.destination),
            Command::Mirror(args) => (&args.copy.source, &args.copy.destination),
            _ => unreachable!("parse takes copies and mirrors only"),
        };
        for endpoint in [source, destination] {
            Endpoint::parse(endpoint).map_err(|e| {
                usage(format!(
                    "job `{name}` of config file `{}`: {e:#}",
                    config.path.display()
                ))
            })?;
        }
        let mut line = vec!["mailtug".to_string()];
        line.extend(resolved.args.iter().map(|word| shell_word(word)));
        for (side, secret) in [
            ("src", &resolved.src_password),
            ("dst", &resolved.dst_password),
        ] {
            if secret.is_some() {
                line.push(format!("# {side} password from the config file"));
            }
        }
        if report::verbosity().json {
            report::emit(&Event::ConfigJob {
                name,
                args: &resolved.args,
                password_in_file: resolved.src_password.is_some()
                    || resolved.dst_password.is_some(),
            });
        } else {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{name}: {}", report::sanitize(&line.join(" ")))?;
        }
    }
    Ok(ExitCode::Success)
}

/// `word` as a shell reads it back.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,~".contains(c));
    match plain {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}
