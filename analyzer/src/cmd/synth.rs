//! `analyzer synth`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use capture::synth::{self, SynthConfig};
use capture::CaptureWriterBuilder;

use crate::output_options;
use crate::progress::Progress;

/// Arguments of `analyzer synth`.
#[derive(clap::Args)]
pub struct Args {
    /// Output file (a new file, mode 0600).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace an existing output file (a regular file only: a symbolic
    /// link is never followed, an input is never overwritten). Without
    /// it an existing file is left alone and the command fails.
    #[arg(long)]
    pub force: bool,
    /// Number of events.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Events per chunk.
    #[arg(long, default_value_t = 65_536)]
    pub chunk_events: u32,
    /// zstd level (1..=19).
    #[arg(long, default_value_t = 3)]
    pub zstd_level: i32,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        out,
        force,
        events,
        seed,
        chunk_events,
        zstd_level,
        quiet,
    } = a;
    let cfg = SynthConfig {
        events,
        seed,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(chunk_events)
        .zstd_level(zstd_level)
        .output(output_options(force))
        .create(&out, &meta, Some(&synth::synth_snapshot(&cfg)))?;
    let mut progress = Progress::new("events", Some(events), !quiet);
    // Generate in slices so that progress can be shown.
    let mut gen = synth::Synth::new(&cfg);
    let mut done = 0;
    while done < events {
        done = gen.fill(&mut w, (done + 250_000).min(events))?;
        progress.tick(done, &format!("{} bytes written", w.stats().file_bytes));
    }
    progress.finish();
    let end = meta.boot_time_unix_ns + w.stats().max_ts;
    let (_, sum) = w.finish(end).context("finishing capture")?;
    if !quiet {
        say!(
            "wrote {} events in {} chunks, {} bytes ({:.2} bytes/event), chain head {}",
            sum.stats.events,
            sum.stats.chunks,
            sum.stats.file_bytes,
            sum.stats.file_bytes as f64 / sum.stats.events.max(1) as f64,
            capture::format::hex(&sum.chain_head)
        );
    }
    Ok(ExitCode::SUCCESS)
}
