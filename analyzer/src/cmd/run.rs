//! `analyzer run`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use outputs::{LineSink, Sink};

use crate::progress::Progress;
use crate::{add_scap_num, open_input, output_options, parse_priority, SelectionArgs};

/// Arguments of `analyzer run`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (repeatable, loaded in order).
    #[arg(short, long = "rules", required = true)]
    pub rules: Vec<PathBuf>,
    /// Capture files.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Print alerts as JSON lines (Falco's json_output shape) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write alerts as JSON lines to this file (a new file, mode 0600;
    /// never one of the captures).
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// Replace an existing --json-file (a regular file only: a symbolic link
    /// is never followed, an input is never overwritten).
    #[arg(long)]
    pub force: bool,
    /// Also POST every alert as JSON to this falcosidekick-compatible URL (http://host:port/).
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// Exit 1 when an alert has this priority or a more severe one.
    #[arg(long, default_value = "warning", value_parser = parse_priority)]
    pub fail_on: ruleset::Priority,
    /// all: every matching rule alerts (default); first: only the first in load order, like Falco.
    #[arg(long, value_enum, default_value_t = MatchingArg::All)]
    pub rule_matching: MatchingArg,
    /// Worker threads (0: all cores; at most 4 per core). Each holds one
    /// decompressed chunk, so this also bounds memory.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Load rules even when some have errors (they are skipped) instead of exiting 2.
    #[arg(long)]
    pub keep_going: bool,
    /// With several captures (rotated files of one recording, or several
    /// hosts), print their alerts together in time order after the last
    /// one instead of capture by capture; each alert's JSON names its
    /// capture.
    #[arg(long)]
    pub merge: bool,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// `--rule-matching` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MatchingArg {
    /// Every matching rule alerts.
    All,
    /// Only the first matching rule in load order, like Falco.
    First,
}

impl From<MatchingArg> for engine::run::Matching {
    fn from(m: MatchingArg) -> Self {
        match m {
            MatchingArg::All => engine::run::Matching::All,
            MatchingArg::First => engine::run::Matching::First,
        }
    }
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads = (4 * cores).min(256);
    if a.threads > max_threads {
        anyhow::bail!(
            "--threads {}: at most {max_threads} on this machine (4 per core; 0 uses every core)",
            a.threads
        );
    }
    let set = ruleset::load_rules(&a.rules, &a.sel.selection());
    for d in &set.diagnostics {
        if d.severity == ruleset::Severity::Error || !a.quiet {
            say_part!("{}", d.render());
        }
    }
    if set.errors() > 0 && !a.keep_going {
        anyhow::bail!(
            "{} rule error(s); fix them or pass --keep-going to skip the broken rules",
            set.errors()
        );
    }
    let rules: Vec<ruleset::CompiledRule> = set.enabled().cloned().collect();
    if rules.is_empty() {
        anyhow::bail!("no enabled rules in {:?}", a.rules);
    }
    // Where alerts go: stdout (text or JSON lines), a JSON-lines file, HTTP.
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    sinks.push(Box::new(if a.json {
        LineSink::json("stdout", stdout)
    } else {
        LineSink::text("stdout", stdout)
    }));
    if let Some(p) = &a.json_file {
        let inputs: Vec<&std::path::Path> = a.captures.iter().map(|c| c.as_path()).collect();
        let f = capture::outfile::create(p, output_options(a.force), &inputs)?;
        sinks.push(Box::new(LineSink::json(
            &p.display().to_string(),
            std::io::BufWriter::new(f),
        )));
    }
    let mut http = match &a.http {
        Some(u) => Some(outputs::HttpSink::new(u).map_err(|e| anyhow::anyhow!("--http: {e}"))?),
        None => None,
    };
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut failed = false;
    let mut damaged = false;
    // (result, hostname, import report) per capture; with --merge, alerts
    // are delivered after the last capture, in time order.
    let mut done: Vec<(
        engine::RunResult,
        String,
        Option<scap::import::ImportReport>,
    )> = Vec::new();
    for path in &a.captures {
        let (cap, scap_damaged, import) = open_input(path, a.quiet)?;
        damaged |= scap_damaged;
        for p in cap.problems() {
            say!("analyzer: {p}");
            damaged = true;
        }
        let host = cap.meta().map(|m| m.hostname.clone()).unwrap_or_default();
        let opts = engine::run::RunOptions {
            matching: a.rule_matching.into(),
            threads: a.threads,
            progress: Some(counter.clone()),
            source: path.display().to_string().into(),
            ..Default::default()
        };
        counter.store(0, std::sync::atomic::Ordering::Relaxed);
        let res = {
            let _progress = Progress::follow(
                "rules: events",
                cap.event_count(),
                !a.quiet,
                counter.clone(),
            );
            engine::run::run(&cap, &rules, &opts)
        };
        for e in &res.chunk_errors {
            say!("analyzer: skipped damaged chunk: {e}");
            damaged = true;
        }
        if res.truncated_args > 0 {
            say!(
                "analyzer: {}: {} event(s) carried more than {} arguments; the rest were not read (a capture from a newer Ferret?)",
                path.display(),
                res.truncated_args,
                engine::state::MAX_ARGS
            );
        }
        if !a.quiet {
            summary(path, &res, rules.len());
        }
        for al in &res.alerts {
            failed |= al.priority <= a.fail_on;
        }
        done.push((res, host, import));
        if !a.merge {
            let (res, host, import) = done.pop().expect("pushed");
            let alerts: Vec<&engine::Alert> = res.alerts.iter().collect();
            deliver(&alerts, &mut sinks, http.as_mut(), |_| {
                (&host, import.as_ref())
            })?;
        }
    }
    if a.merge {
        let merged = engine::run::merge_by_time(done.iter().map(|d| &d.0));
        let by_source: std::collections::HashMap<
            &str,
            (&String, Option<&scap::import::ImportReport>),
        > = done
            .iter()
            .map(|(r, h, i)| (r.source.as_ref(), (h, i.as_ref())))
            .collect();
        deliver(&merged, &mut sinks, http.as_mut(), |al| {
            by_source
                .get(al.source.as_ref())
                .copied()
                .unwrap_or((&EMPTY, None))
        })?;
    }
    for s in &mut sinks {
        s.flush().map_err(delivery_error)?;
    }
    if let Some(h) = &http {
        if h.failures > 0 {
            say!(
                "analyzer: {} HTTP post(s) failed: {}",
                h.failures,
                h.last_error
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            );
        }
    }
    // Damage cannot hide behind "no alert": every intact event was
    // evaluated, but the missing ones were not.
    Ok(if failed {
        ExitCode::from(1)
    } else if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

static EMPTY: String = String::new();

/// Sends alerts to every sink; `ctx` gives an alert's hostname and, for a
/// .scap trace, its import report (the JSON names sysdig's event number).
fn deliver<'a>(
    alerts: &[&engine::Alert],
    sinks: &mut [Box<dyn Sink>],
    mut http: Option<&mut outputs::HttpSink>,
    ctx: impl Fn(&engine::Alert) -> (&'a String, Option<&'a scap::import::ImportReport>),
) -> Result<()> {
    for al in alerts {
        let (host, import) = ctx(al);
        let mut j = outputs::json(al, host);
        add_scap_num(&mut j, import, al.evt_num.wrapping_sub(1));
        for s in sinks.iter_mut() {
            s.send(al, &j).map_err(delivery_error)?;
        }
        if let Some(h) = http.as_deref_mut() {
            h.post(&j);
        }
    }
    Ok(())
}

/// A sink that cannot deliver ends the run (exit 2), except a closed
/// stdout pipe (`| head`), which ends it quietly.
fn delivery_error(e: outputs::SinkError) -> anyhow::Error {
    if let outputs::SinkError::Io { source, .. } = &e {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
    anyhow::anyhow!("cannot deliver alerts: {e}")
}

/// The per-capture summary on stderr: rate, alerts by rule.
fn summary(path: &std::path::Path, res: &engine::RunResult, nrules: usize) {
    let secs = res.elapsed.as_secs_f64();
    say!(
        "analyzer: {}: {} events in {:.2}s ({:.2}M events/s), {} rules, {} alerts, {} gap(s) with {} lost events",
        path.display(),
        res.events,
        secs,
        res.events as f64 / secs.max(1e-9) / 1e6,
        nrules,
        res.alerts.len(),
        res.gaps.len(),
        res.gaps.iter().map(|g| g.count).sum::<u64>()
    );
    let mut by_rule: BTreeMap<(ruleset::Priority, &str), u64> = BTreeMap::new();
    for al in &res.alerts {
        *by_rule.entry((al.priority, al.rule.as_str())).or_default() += 1;
    }
    for ((prio, rule), n) in &by_rule {
        say!(
            "  {:>8}  {:<13} {}",
            n,
            prio.name(),
            capture::text::escape_controls(rule)
        );
    }
}
