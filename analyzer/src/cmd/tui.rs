//! `analyzer tui`: the investigator ([`tui::term`]), as `ferret-tui`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

/// Arguments of `analyzer tui`.
#[derive(clap::Args)]
pub struct Args {
    /// Captures: Ferret captures, .scap traces, merged captures, FILE#N
    /// (one recording of a merged capture) or directories of them; `]`
    /// and `[` switch between them.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Rule files or directories to run when opening (default: rules/ when
    /// it exists in the current directory). A path that does not exist is
    /// an error; rule errors and warnings are shown in the alerts view.
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let mut rules = a.rules;
    if rules.is_empty() && std::path::Path::new("rules").is_dir() {
        rules.push(PathBuf::from("rules"));
    }
    tui::term::run(&tui::term::Config {
        captures: a.captures,
        rules,
    })?;
    Ok(ExitCode::SUCCESS)
}
