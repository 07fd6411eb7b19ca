//! `analyzer info`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::{open_input, out};

/// Arguments of `analyzer info`.
#[derive(clap::Args)]
pub struct Args {
    /// Capture files, .scap traces, merged captures or directories of them:
    /// one summary each (each recording of a merged capture on its own).
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Print JSON (a stable, documented object; see README) instead of
    /// text; with several recordings, an array of those objects.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args { captures, json } = a;
    let given = captures.len();
    let captures = engine::source::expand_inputs(&captures)?;
    let mut all = Vec::with_capacity(captures.len());
    let mut bad = false;
    for capture in &captures {
        let (cap, damaged, _) = open_input(capture, false)?;
        let s = engine::summary::summarize(&cap);
        bad |= damaged || !s.finished || !s.problems.is_empty();
        all.push(s);
    }
    if json && given == 1 && all.len() == 1 {
        out(&format!("{}\n", serde_json::to_string_pretty(&all[0])?));
    } else if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&all)?));
    } else {
        let text: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        out(&text.join("\n"));
    }
    Ok(if !bad {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
