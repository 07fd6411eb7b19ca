//! `analyzer info`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::{open_input, out};

/// Arguments of `analyzer info`.
#[derive(clap::Args)]
pub struct Args {
    /// The capture file.
    pub capture: PathBuf,
    /// Print JSON (a stable, documented object; see README) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args { capture, json } = a;
    let (cap, damaged, _) = open_input(&capture, false)?;
    let s = engine::summary::summarize(&cap);
    if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&s)?));
    } else {
        out(&s.to_string());
    }
    Ok(if s.finished && s.problems.is_empty() && !damaged {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
