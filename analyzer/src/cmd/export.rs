//! `analyzer export`: events as rows for other engines.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::progress::Progress;
use crate::{enabled_rules, open_input, output_options, SelectionArgs};

/// Arguments of `analyzer export`.
#[derive(clap::Args)]
pub struct Args {
    /// Capture files (Ferret captures or .scap traces).
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// parquet: Apache Parquet (zstd, a row group per chunk); jsonl: one
    /// JSON object per event. Both follow the schema ferret.events/1
    /// (README, "Exporting").
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Directory for the files, one per capture (`<capture name>.parquet`
    /// or `.jsonl`); created when missing.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    /// Rule files or directories: the `rules` column lists the rules that
    /// alerted on each event.
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Load rules even when some have errors (they are skipped).
    #[arg(long)]
    pub keep_going: bool,
    /// Replace existing output files (regular files only).
    #[arg(long)]
    pub force: bool,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Apache Parquet.
    Parquet,
    /// JSON lines.
    Jsonl,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let rules = if a.rules.is_empty() {
        Vec::new()
    } else {
        let set = ruleset::load_rules(&a.rules, &a.sel.selection());
        enabled_rules(&set, a.quiet, a.keep_going)?
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let (format, ext) = match a.format {
        FormatArg::Parquet => (export::Format::Parquet, "parquet"),
        FormatArg::Jsonl => (export::Format::Jsonl, "jsonl"),
    };
    let inputs: Vec<&std::path::Path> = a.captures.iter().map(|c| c.as_path()).collect();
    let mut damaged = false;
    let mut names = std::collections::BTreeSet::new();
    for path in &a.captures {
        let started = Instant::now();
        let (cap, scap_damaged, _) = open_input(path, a.quiet)?;
        damaged |= scap_damaged;
        for p in cap.problems() {
            say!("analyzer: {p}");
            damaged = true;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "capture".into());
        // Two captures of the same name get distinct files.
        let mut name = format!("{stem}.{ext}");
        let mut n = 1;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{stem}-{n}.{ext}");
        }
        let target = a.out.join(&name);
        let file = capture::outfile::create(&target, output_options(a.force), &inputs)?;
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let res = {
            let _p = Progress::follow(
                "export: events",
                cap.event_count(),
                !a.quiet,
                counter.clone(),
            );
            export::export(
                &cap,
                &path.display().to_string(),
                format,
                file,
                &export::ExportOptions {
                    threads: a.threads,
                    progress: Some(counter.clone()),
                    rules: rules.clone(),
                },
            )
            .with_context(|| format!("exporting {}", path.display()))?
        };
        for e in &res.chunk_errors {
            say!("analyzer: {}: skipped damaged chunk: {e}", path.display());
            damaged = true;
        }
        if !a.quiet {
            let secs = started.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
            say!(
                "analyzer: {} -> {}: {} rows in {} group(s), {} alerts, {bytes} bytes ({:.1} bytes/row), {:.2}s ({:.0}k rows/s)",
                path.display(),
                target.display(),
                res.rows,
                res.groups,
                res.alerts,
                bytes as f64 / res.rows.max(1) as f64,
                secs,
                res.rows as f64 / secs.max(1e-9) / 1e3
            );
        }
    }
    Ok(if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
