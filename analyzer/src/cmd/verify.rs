//! `analyzer verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use capture::Capture;

use crate::{out, problem_json};

/// Arguments of `analyzer verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The capture file.
    pub capture: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args { capture, json } = a;
    // A merged capture is verified whole: every stream's frames on its one chain.
    let cap = if capture.exists() {
        Capture::open_whole(&capture)?
    } else {
        Capture::open(&capture)?
    };
    let rep = capture::verify(&cap);
    if json {
        let v = serde_json::json!({
            "file": cap.name(),
            "intact": rep.intact(),
            "finished": rep.finished,
            "chain_head": rep.chain_head_hex(),
            "good_frames": rep.good_frames,
            "good_chunks": rep.good_chunks,
            "good_events": rep.good_events,
            "first_problem": rep.problems.first().map(problem_json),
            "problems": rep.problems.iter().map(problem_json).collect::<Vec<_>>(),
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else if rep.intact() {
        out(&format!(
            "{}: intact: {} chunks, {} events, chain head {}\n",
            cap.name(),
            rep.good_chunks,
            rep.good_events,
            rep.chain_head_hex().unwrap_or_default()
        ));
    } else {
        let mut text = format!(
            "{}: DAMAGED: first bad place: {}\n",
            cap.name(),
            rep.problems[0]
        );
        for p in &rep.problems[1..] {
            text += &format!("  also: {p}\n");
        }
        text += &format!(
            "intact: {} chunks, {} events{}\n",
            rep.good_chunks,
            rep.good_events,
            rep.chain_head_hex()
                .map(|h| format!("; chain intact up to {h}"))
                .unwrap_or_default()
        );
        out(&text);
    }
    Ok(if rep.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
