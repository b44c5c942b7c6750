//! The `mailtug` binary: parse, run, map the outcome to an exit code. This is
//! the only place that decides how the process ends.

use clap::Parser;

use mailtug::cli::Cli;
use mailtug::exit::{self, ExitCode};
use mailtug::{commands, report};

fn main() -> std::process::ExitCode {
    mailtug::tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                let args: Vec<String> = std::env::args().collect();
                report::usage_summary(&args, &e.to_string());
            }
            e.exit()
        }
    };
    let output = cli.output_of_run();
    report::init(report::Verbosity {
        quiet: output.quiet,
        level: output.verbose,
        json: output.json,
        progress: match (output.progress, output.no_progress) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    });
    let document = cli.prints_a_document();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    let code = match outcome {
        Ok(code) => {
            if !document {
                report::final_summary(code.code(), None);
            }
            code
        }
        // `mailtug ls | head` is not a failure.
        Err(e) if exit::is_broken_pipe(&e) => ExitCode::Success,
        Err(e) => {
            report::error(&format!("{e:#}"));
            let code = exit::classify(&e);
            report::final_summary(code.code(), Some(&e));
            code
        }
    };
    std::process::ExitCode::from(code.code() as u8)
}
