//! `analyzer index`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use index::{BuildOptions, EventIndex};

use crate::progress::Progress;
use crate::SelectionArgs;

/// Arguments of `analyzer index`.
#[derive(clap::Args)]
pub struct Args {
    /// Captures to index together (Ferret captures or .scap traces).
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Where the index lives (default: <first capture>.index beside it).
    /// An existing directory that is not a Ferret index is never replaced.
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Rule files or directories: their alerts are indexed as `rule` and
    /// `priority` (search `rule:"Terminal shell spawned"`).
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Indexing threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rebuild even when the index is current.
    #[arg(long)]
    pub force: bool,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// Build options from the arguments shared by `index` and `search`.
pub fn build_options(
    index_dir: Option<PathBuf>,
    rules: &[PathBuf],
    sel: &SelectionArgs,
    threads: usize,
) -> Result<BuildOptions> {
    let compiled = if rules.is_empty() {
        Vec::new()
    } else {
        let set = ruleset::load_rules(rules, &sel.selection());
        for d in &set.diagnostics {
            if d.severity == ruleset::Severity::Error {
                say_part!("{}", d.render());
            }
        }
        if set.errors() > 0 {
            anyhow::bail!("{} rule error(s)", set.errors());
        }
        set.enabled().cloned().collect()
    };
    Ok(BuildOptions {
        dir: index_dir,
        rules: compiled,
        rule_files: rules.iter().map(|r| r.display().to_string()).collect(),
        threads,
        force: false,
        progress: None,
    })
}

/// Opens or builds the index, with progress and a summary on stderr.
pub fn open(
    captures: &[PathBuf],
    mut opts: BuildOptions,
    force: bool,
    quiet: bool,
) -> Result<EventIndex> {
    let total: u64 = captures
        .iter()
        .filter_map(|c| engine::source::open(c).ok())
        .map(|o| o.capture.event_count())
        .sum();
    opts.force = force;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    opts.progress = Some(counter.clone());
    let (ix, report) = {
        let _p = Progress::follow("index: events", Some(total), !quiet, counter);
        EventIndex::open_or_build(captures, &opts)?
    };
    if let (Some(r), false) = (&report, quiet) {
        let secs = r.elapsed.as_secs_f64();
        say!(
            "analyzer: indexed {} events ({} processes, {} fds) in {:.2}s ({:.2}M events/s) into {} ({} bytes, {:.1} bytes/event); built because: {}",
            r.events,
            r.entities.0,
            r.entities.1,
            secs,
            r.events as f64 / secs.max(1e-9) / 1e6,
            ix.dir().display(),
            r.bytes,
            r.bytes as f64 / r.events.max(1) as f64,
            r.reason
        );
    }
    if let Some(r) = &report {
        for e in &r.chunk_errors {
            say!("analyzer: not indexed (damaged chunk): {e}");
        }
    }
    Ok(ix)
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    // Directories and merged captures stand for the recordings they hold.
    let a = Args {
        captures: engine::source::expand_inputs(&a.captures)?,
        ..a
    };
    let opts = build_options(a.index_dir, &a.rules, &a.sel, a.threads)?;
    let ix = open(&a.captures, opts, a.force, a.quiet)?;
    if !a.quiet {
        say!(
            "analyzer: index {} holds {} events",
            ix.dir().display(),
            ix.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
