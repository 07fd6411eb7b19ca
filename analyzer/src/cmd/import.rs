//! `analyzer import`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::{out, output_options};

/// Arguments of `analyzer import`.
#[derive(clap::Args)]
pub struct Args {
    /// The .scap trace.
    pub trace: PathBuf,
    /// The Ferret capture to write (a new file, mode 0600).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Replace an existing output file (a regular file only: a symbolic
    /// link is never followed, an input is never overwritten). Without
    /// it an existing file is left alone and the command fails.
    #[arg(long)]
    pub force: bool,
    /// Print the report as JSON on stdout: {trace, out, scap_events,
    /// events, merged, exits_alone, entries_alone, entries_dropped,
    /// internal: {name: n}, unknown: {code: n}, problems: [{offset,
    /// reason}], seconds, events_per_sec, scap_bytes, out_bytes}.
    #[arg(long)]
    pub json: bool,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        trace,
        out,
        force,
        json,
        quiet,
    } = a;
    import(&trace, &out, force, json, quiet)
}

fn import(
    trace: &std::path::Path,
    dest: &std::path::Path,
    force: bool,
    json: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let scap_bytes = std::fs::metadata(trace)
        .with_context(|| format!("{}", trace.display()))?
        .len();
    // Read as a stream: memory holds the header and the calls waiting for
    // their exit, whatever the trace's size.
    let mut stream = scap::ScapStream::open(trace, &scap::ReadLimits::default())
        .with_context(|| format!("{}", trace.display()))?;
    // Nothing of a .scap was read (empty, or another kind of file): no
    // output is written.
    if stream.head.block_counts.is_empty() && stream.head.events.is_empty() {
        let why = stream
            .head
            .problems
            .first()
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| "no block".into());
        anyhow::bail!("{}: {why}", trace.display());
    }
    let file = capture::outfile::create(dest, output_options(force), &[trace])?;
    let name = dest.display().to_string();
    let (_, summary, rep) = scap::import::convert_stream(
        &mut stream,
        &trace.display().to_string(),
        file,
        &name,
        capture::CaptureWriterBuilder::new(),
    )?;
    let s = &stream.head;
    let secs = t0.elapsed().as_secs_f64();
    let out_bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    let rate = rep.scap_events as f64 / secs.max(1e-9);
    for p in &s.problems {
        say!(
            "analyzer: {}: {p} (the events before it are converted)",
            trace.display()
        );
    }
    if !quiet {
        say!(
            "analyzer: {}: {}",
            trace.display(),
            engine::source::import_line(&rep)
        );
        say!(
            "analyzer: wrote {} ({} bytes from {} bytes of .scap, {:.2}x) in {:.3} s, {:.0} scap events/s; chain head {}",
            dest.display(),
            out_bytes,
            scap_bytes,
            scap_bytes as f64 / out_bytes.max(1) as f64,
            secs,
            rate,
            capture::format::hex(&summary.chain_head)
        );
    }
    if json {
        let v = serde_json::json!({
            "trace": trace.display().to_string(),
            "out": dest.display().to_string(),
            "scap_events": rep.scap_events,
            "events": rep.written,
            "merged": rep.merged,
            "exits_alone": rep.exits_alone,
            "entries_alone": rep.entries_alone,
            "entries_dropped": rep.entries_dropped,
            "internal": rep.internal,
            "unknown": rep.unknown.iter().map(|(c, n)| (c.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "problems": s.problems.iter().map(|p| serde_json::json!({"offset": p.offset, "reason": p.reason})).collect::<Vec<_>>(),
            "seconds": secs,
            "events_per_sec": rate,
            "scap_bytes": scap_bytes,
            "out_bytes": out_bytes,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    Ok(if s.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
