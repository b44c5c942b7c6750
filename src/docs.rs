//! Man pages and shell completions, generated from the clap definition so
//! they can never disagree with `--help`. `gen-docs` writes them into `man/`
//! and `completions/`; a test fails when the committed copies are stale.

use std::io;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Extra man page sections: what `--help` is too short to say.
const MAN_EXTRA: &str = include_str!("man-extra.roff");

/// Writes `mailtug.1` and one page per subcommand into `dir`.
pub fn write_man_pages(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // The long-form sections below replace `--help`'s short endpoint and
    // exit-code summary, which would render as a badly wrapped EXTRA section.
    let command =
        Cli::command().after_help(clap::builder::Resettable::<clap::builder::StyledStr>::Reset);
    clap_mangen::generate_to(command, dir)?;
    // The main page gets the long-form sections (endpoints, dedup rule,
    // checkpoints, JSON events, exit codes) appended.
    let main_page = dir.join("mailtug.1");
    let mut page = std::fs::read(&main_page)?;
    page.extend_from_slice(MAN_EXTRA.as_bytes());
    std::fs::write(main_page, page)
}

/// Writes completions for bash, zsh, fish, elvish and PowerShell into `dir`.
pub fn write_completions(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut command = Cli::command();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        clap_complete::generate_to(shell, &mut command, "mailtug", dir)?;
    }
    Ok(())
}
