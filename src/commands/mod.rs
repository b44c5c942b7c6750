//! Commands are glue: they turn arguments into a job, call the library, and
//! say how it went. The logic lives in `pipeline`, `store` and `checkpoint`.

mod access;
mod auth;
mod bulk;
mod config;
mod copy;
mod ls;
mod mirror;
mod plan;
mod state;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::exit::ExitCode;

/// Runs the parsed command line and returns the exit code to use.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => config::run(args, cli.config).await,
        Command::Bulk(args) => bulk::run(args).await,
        Command::Report(command) => bulk::report(command),
        Command::Config(command) => config::check(command, cli.config),
        Command::Copy(args) => copy::run(args).await,
        Command::Plan(args) => plan::run(args).await,
        Command::Mirror(args) => mirror::run(args).await,
        Command::Ls(args) => ls::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::State(command) => state::run(command),
        Command::Auth(command) => auth::run(command, cli.config).await,
    }
}

/// Runs a job of the config file, parsed into its command.
async fn run_job(command: Command) -> Result<ExitCode> {
    match command {
        Command::Copy(args) => copy::run(args).await,
        Command::Mirror(args) => mirror::run(args).await,
        _ => Err(anyhow::anyhow!(
            "only copy and mirror jobs run from the config file"
        )),
    }
}
