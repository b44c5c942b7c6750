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

/// Each subcommand page's EXAMPLES, EXIT STATUS and SEE ALSO, in blocks
/// that start with a `.\" page: NAME` line.
const MAN_PAGES: &str = include_str!("man-pages.roff");

/// The blocks of `MAN_PAGES`: (page name, roff to append).
fn page_sections() -> Vec<(&'static str, String)> {
    let mut blocks: Vec<(&'static str, String)> = Vec::new();
    for line in MAN_PAGES.lines() {
        if let Some(name) = line.strip_prefix(".\\\" page: ") {
            blocks.push((name.trim(), String::new()));
        } else if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    blocks
}

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
    std::fs::write(main_page, page)?;
    for (name, sections) in page_sections() {
        let path = dir.join(format!("{name}.1"));
        let mut page = std::fs::read(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("man-pages.roff names `{name}`: {e}")))?;
        page.extend_from_slice(sections.as_bytes());
        std::fs::write(path, page)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand page, by its file name (`mailtug-state-list`).
    fn subcommand_pages() -> Vec<String> {
        fn walk(prefix: &str, command: &clap::Command, pages: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let name = format!("{prefix}-{}", sub.get_name());
                walk(&name, sub, pages);
                pages.push(name);
            }
        }
        let mut pages = Vec::new();
        walk("mailtug", &Cli::command(), &mut pages);
        pages.sort();
        pages
    }

    #[test]
    fn every_subcommand_page_has_examples_and_see_also_and_each_command_its_exit_status() {
        let sections = page_sections();
        let mut named: Vec<String> = sections.iter().map(|(n, _)| n.to_string()).collect();
        named.sort();
        assert_eq!(
            named,
            subcommand_pages(),
            "pages in man-pages.roff vs subcommands"
        );
        for (name, text) in &sections {
            assert!(text.contains(".SH EXAMPLES"), "{name}: no EXAMPLES");
            assert!(text.contains(".SH SEE ALSO"), "{name}: no SEE ALSO");
            // A command that runs has an exit status; a group
            // (`state`, `config`, `report`) has a page per command.
            let group = matches!(*name, "mailtug-config" | "mailtug-report");
            assert!(
                group || text.contains(".SH EXIT STATUS"),
                "{name}: no EXIT STATUS"
            );
        }
    }
}
