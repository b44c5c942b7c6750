//! Regenerates `man/` and `completions/` from the command-line definition:
//! `cargo run --bin gen-docs`. Run it after changing `src/cli.rs`; the test
//! suite fails while the committed copies are stale.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    mailtug::docs::write_man_pages(&root.join("man"))?;
    mailtug::docs::write_completions(&root.join("completions"))?;
    println!("wrote man/ and completions/");
    Ok(())
}
