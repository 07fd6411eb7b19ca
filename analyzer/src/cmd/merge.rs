//! `analyzer merge`: several recordings in one capture file
//! ([`capture::merge`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::progress::Progress;
use crate::{open_input, out};

/// Arguments of `analyzer merge`.
#[derive(clap::Args)]
pub struct Args {
    /// Captures to merge: Ferret captures, .scap traces, merged captures
    /// (each of their recordings is taken with its original provenance), or
    /// directories holding them (searched recursively).
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// The merged capture to write.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing output file (a regular file, never an input).
    #[arg(long)]
    pub force: bool,
    /// No progress or notes on stderr (problems are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let captures = engine::source::expand_inputs(&a.captures)?;
    // Same recording twice is refused; same host overlapping is reported.
    let plan = crate::plan_captures(&captures, a.quiet)?;
    let mut caps = Vec::with_capacity(captures.len());
    let mut damaged = false;
    for &i in &plan.order {
        let (cap, scap_damaged, _) = open_input(&captures[i], a.quiet)?;
        damaged |= scap_damaged;
        caps.push(cap);
    }
    let files = crate::input_files(&captures);
    let inputs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let opts = capture::outfile::OutputOptions {
        force: a.force,
        ..Default::default()
    };
    let file = capture::outfile::create(&a.out, opts, &inputs)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    let total: u64 = caps.iter().map(|c| c.event_count()).sum();
    let mut progress = Progress::new("events", Some(total), !a.quiet);
    let refs: Vec<&capture::Capture> = caps.iter().collect();
    let name = a.out.display().to_string();
    let sum = match capture::merge::merge(&refs, std::io::BufWriter::new(file), &name, |n| {
        progress.tick(n, "")
    }) {
        Ok((_, sum)) => sum,
        Err(e) => {
            // A half-written file is not left to be taken for a merge.
            let _ = std::fs::remove_file(&a.out);
            return Err(e.into());
        }
    };
    progress.finish();
    for s in &sum.sources {
        for d in &s.damage {
            say!("analyzer: {}: not merged: {d}", s.name);
            damaged = true;
        }
    }
    if !a.quiet {
        let hosts: std::collections::BTreeSet<&str> =
            sum.sources.iter().map(|s| s.hostname.as_str()).collect();
        say!(
            "analyzer: {} recordings of {} host(s) ({}) merged into {}: {} events in {} chunks, {} bytes",
            sum.sources.len(),
            hosts.len(),
            hosts.into_iter().collect::<Vec<_>>().join(", "),
            a.out.display(),
            sum.events,
            sum.chunks,
            sum.bytes
        );
    }
    out(&format!(
        "{}: chain head {}\n",
        a.out.display(),
        capture::format::hex(&sum.chain_head)
    ));
    Ok(if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
