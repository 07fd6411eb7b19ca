//! `analyzer run`: flags and an optional Falco configuration turned into
//! rules, outputs and documents; the captures run through the engine; every
//! alert goes to every output; what could not be delivered is counted.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use outputs::queue::{Policy, Queued};
use outputs::{Delivery, LineSink, Rendered, Sink};

use crate::progress::Progress;
use crate::{add_scap_num, enabled_rules, output_options, parse_priority, SelectionArgs};

/// Arguments of `analyzer run`.
#[derive(clap::Args)]
pub struct Args {
    /// Rule files or directories (repeatable, loaded in order). Required
    /// unless --config names rules_files; given, they replace those.
    #[arg(short, long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Capture files.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// A Falco configuration (falco.yaml): rules_files, priority,
    /// rule_matching, the json_* and time settings, output_timeout,
    /// outputs_queue, and the stdout, file, program, syslog and http
    /// outputs and append_output. Flags given here override it; keys
    /// absent take Falco's defaults (rule_matching first, times as
    /// HH:MM:SS). Unknown keys are errors with their position; Falco keys
    /// Ferret does not use are listed once.
    #[arg(long, value_name = "FALCO_YAML")]
    pub config: Option<PathBuf>,
    /// What stdout gets: text lines, json lines (Falco's json_output
    /// shape), or one document at the end: sarif (SARIF 2.1.0), junit
    /// (JUnit XML, a test case per rule) or markdown (a CI job summary).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Also write the alerts in FORMAT to FILE (repeatable): text, json,
    /// sarif, junit or markdown. Files are new (mode 0600, never an input;
    /// --force replaces one), except markdown, which is appended to an
    /// existing file such as $GITHUB_STEP_SUMMARY.
    #[arg(long = "write", value_name = "FORMAT=FILE", value_parser = parse_write)]
    pub write: Vec<(FormatArg, PathBuf)>,
    /// Also write alerts as JSON lines to this file (same as --write json=FILE).
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// Replace existing --write/--json-file files (a regular file only: a
    /// symbolic link is never followed, an input is never overwritten).
    #[arg(long)]
    pub force: bool,
    /// Also POST every alert as JSON to this falcosidekick-compatible URL
    /// (http:// or https://; overrides http_output.url of --config).
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// Write Prometheus text exposition (Falco's metric names: rule
    /// matches, events and drops per CPU; undelivered alerts) to this file,
    /// atomically, for node_exporter's textfile collector.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Exit 1 when an alert has this priority or a more severe one.
    #[arg(long, default_value = "warning", value_parser = parse_priority)]
    pub fail_on: ruleset::Priority,
    /// Load only rules of this priority or a more severe one (Falco's
    /// `priority`; overrides --config).
    #[arg(long, value_parser = parse_priority)]
    pub min_priority: Option<ruleset::Priority>,
    /// all: every matching rule alerts (default without --config); first:
    /// only the first in load order, like Falco (default with --config).
    #[arg(long, value_enum)]
    pub rule_matching: Option<MatchingArg>,
    /// Worker threads (0: all cores, but one for a .scap trace's
    /// conversion; at most 4 per core). Each holds one decompressed chunk,
    /// so this also bounds memory.
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

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Falco's text lines.
    Text,
    /// JSON lines in Falco's json_output shape.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// Markdown summary.
    Markdown,
}

impl FormatArg {
    /// Whether the format is one document written at the end.
    fn is_document(self) -> bool {
        matches!(
            self,
            FormatArg::Sarif | FormatArg::Junit | FormatArg::Markdown
        )
    }
}

fn parse_write(s: &str) -> Result<(FormatArg, PathBuf), String> {
    use clap::ValueEnum;
    let (f, p) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: FORMAT=FILE expected, e.g. sarif=results.sarif"))?;
    let f = FormatArg::from_str(f, true)
        .map_err(|_| format!("{f:?}: not a format (text, json, sarif, junit, markdown)"))?;
    if p.is_empty() {
        return Err(format!("{s:?}: the file is missing"));
    }
    Ok((f, PathBuf::from(p)))
}

/// One capture's run and what the documents need of it.
struct Done {
    res: engine::RunResult,
    host: String,
    import: Option<scap::import::ImportReport>,
    summary: Option<engine::summary::CaptureSummary>,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    // Directories and merged captures stand for the recordings they hold.
    let a = Args {
        captures: engine::source::expand_inputs(&a.captures)?,
        ..a
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads = (4 * cores).min(256);
    if a.threads > max_threads {
        anyhow::bail!(
            "--threads {}: at most {max_threads} on this machine (4 per core; 0 uses every core)",
            a.threads
        );
    }
    // The first input opens while the configuration and rules load: a
    // .scap trace starts converting on a thread of its own (the rules then
    // run on its chunks as the conversion seals them).
    let plan = crate::plan_captures(&a.captures, a.quiet)?;
    // A converted trace is kept whole only for the metrics.
    let keep = a.metrics_file.is_some();
    let handover = engine::run::feed_handover(a.threads);
    let mut first = plan.order.first().map(|&i| {
        (
            i,
            engine::source::open_streaming(&a.captures[i], keep, handover),
        )
    });
    // The Falco configuration, if any; flags override it.
    let cfg = match &a.config {
        Some(p) => Some(load_config(p, a.quiet)?),
        None => None,
    };
    let rule_paths = if !a.rules.is_empty() {
        a.rules.clone()
    } else {
        cfg.as_ref()
            .map(|c| c.rules_files.clone())
            .unwrap_or_default()
    };
    if rule_paths.is_empty() {
        anyhow::bail!("no rules: give --rules, or --config with rules_files");
    }
    let mut sel = a.sel.selection();
    sel.min_priority = a.min_priority.or(cfg.as_ref().map(|c| c.priority));
    let mut set = ruleset::load_rules(&rule_paths, &sel);
    if let Some(c) = &cfg {
        let label = c.path.display().to_string();
        let d = set.append_output(&format!("{label}: append_output"), &c.append_output);
        set.diagnostics.extend(d);
    }
    let rules = enabled_rules(&mut set, a.quiet, a.keep_going)?;
    let matching = a.rule_matching.map(Into::into).unwrap_or(match &cfg {
        Some(c) if c.first_match_only => engine::run::Matching::First,
        _ => engine::run::Matching::All,
    });

    // Formats: the configuration's, then the flags.
    let mut fmt = cfg.as_ref().map(|c| c.format.clone()).unwrap_or_default();
    let stdout_format = match (a.format, a.json) {
        (Some(f), _) => f,
        (None, true) => FormatArg::Json,
        (None, false) if fmt.json => FormatArg::Json,
        (None, false) => FormatArg::Text,
    };
    fmt.json = stdout_format == FormatArg::Json;

    // Outputs.
    let files = crate::input_files(&a.captures);
    let inputs: Vec<&Path> = files.iter().map(|c| c.as_path()).collect();
    let timeout = cfg
        .as_ref()
        .map(|c| c.output_timeout)
        .unwrap_or(Duration::from_secs(2));
    let policy = Policy {
        capacity: cfg.as_ref().map(|c| c.queue_capacity).unwrap_or(0),
        max_consecutive_timeouts: cfg
            .as_ref()
            .map(|c| c.max_consecutive_timeouts)
            .unwrap_or(5),
        ..Policy::default()
    };
    let mut sinks: Vec<(Box<dyn Sink>, bool)> = Vec::new();
    let stdout_lines = !stdout_format.is_document() && cfg.as_ref().is_none_or(|c| c.stdout_output);
    if stdout_lines {
        let w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
        sinks.push((Box::new(LineSink::new("stdout", w)), fmt.json));
    }
    let mut writes = a.write.clone();
    if let Some(p) = &a.json_file {
        writes.push((FormatArg::Json, p.clone()));
    }
    let mut documents: Vec<(FormatArg, PathBuf, Option<std::fs::File>)> = Vec::new();
    for (f, p) in &writes {
        if *f == FormatArg::Markdown {
            if capture::outfile::is_input(p, &inputs) {
                anyhow::bail!("--write {}: that is one of the captures", p.display());
            }
            documents.push((*f, p.clone(), None));
            continue;
        }
        let file = capture::outfile::create(p, output_options(a.force), &inputs)
            .with_context(|| format!("--write {}", p.display()))?;
        if f.is_document() {
            documents.push((*f, p.clone(), Some(file)));
        } else {
            let name = p.display().to_string();
            let w = std::io::BufWriter::new(file);
            sinks.push((Box::new(LineSink::new(&name, w)), *f == FormatArg::Json));
        }
    }
    if let Some(c) = &cfg {
        if let Some(fo) = &c.file_output {
            if capture::outfile::is_input(&fo.filename, &inputs) {
                anyhow::bail!(
                    "file_output.filename {}: that is one of the captures",
                    fo.filename.display()
                );
            }
            let t = outputs::file::FileTransport::new(fo.clone())
                .map_err(|e| anyhow::anyhow!("file_output: {e}"))?;
            let name = format!("file_output {}", fo.filename.display());
            sinks.push((Box::new(Queued::start(&name, t, policy.clone())), fmt.json));
        }
        if let Some(po) = &c.program_output {
            let t = outputs::program::ProgramTransport::new(po.clone(), timeout);
            let name = format!("program_output {:?}", po.program);
            sinks.push((Box::new(Queued::start(&name, t, policy.clone())), fmt.json));
        }
        if let Some(so) = &c.syslog_output {
            let t = outputs::syslog::SyslogTransport::new(so.clone(), timeout);
            let name = format!("syslog_output {}", so.socket.display());
            sinks.push((Box::new(Queued::start(&name, t, policy.clone())), fmt.json));
        }
    }
    let http = match (&a.http, cfg.as_ref().and_then(|c| c.http_output.clone())) {
        (Some(url), Some(h)) => Some(outputs::http::HttpConfig {
            url: url.clone(),
            ..h
        }),
        (Some(url), None) => Some(outputs::http::HttpConfig {
            url: url.clone(),
            ..Default::default()
        }),
        (None, h) => h,
    };
    if let Some(h) = &http {
        let t = outputs::http::HttpTransport::new(h, timeout)
            .map_err(|e| anyhow::anyhow!("http output: {e}"))?;
        sinks.push((
            Box::new(Queued::start(
                &format!("http_output {}", h.url),
                t,
                policy.clone(),
            )),
            true,
        ));
    }
    let want_summary = a.metrics_file.is_some();

    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut failed = false;
    let mut damaged = false;
    let mut done: Vec<Done> = Vec::new();
    let mut delivered_upto = 0;
    let mut ends: std::collections::HashMap<usize, engine::state::State> = Default::default();
    for &i in &plan.order {
        let path = &a.captures[i];
        let opening = match first.take() {
            Some((f, o)) if f == i => o,
            other => {
                first = other;
                engine::source::open_streaming(path, keep, handover)
            }
        }?;
        let opts = engine::run::RunOptions {
            matching,
            threads: a.threads,
            progress: Some(counter.clone()),
            source: path.display().to_string().into(),
            ..Default::default()
        };
        counter.store(0, std::sync::atomic::Ordering::Relaxed);
        let (res, cap, import, host) = match opening {
            engine::source::Opening::Ready(o) => {
                let (cap, scap_damaged, import) = crate::report_opened(path, Ok(*o), a.quiet)?;
                damaged |= scap_damaged;
                for p in cap.problems() {
                    say!("analyzer: {p}");
                    damaged = true;
                }
                let _progress = Progress::follow(
                    "rules: events",
                    Some(cap.event_count()),
                    !a.quiet,
                    counter.clone(),
                );
                let start = plan.continues[i]
                    .and_then(|prev| ends.remove(&prev))
                    .map(|st| {
                        let snap = cap.snapshot().ok().flatten().unwrap_or_default();
                        st.continue_with(&snap)
                    });
                let (res, end) = engine::run::run_from(&cap, &rules, &opts, start);
                if plan.has_next[i] {
                    ends.insert(i, end);
                }
                let host = cap.meta().map(|m| m.hostname.clone()).unwrap_or_default();
                (res, Some(cap), import, host)
            }
            // A .scap trace (never a segment of a rotated recording): the
            // rules run on each chunk as the conversion seals it; the
            // converted capture is kept only for the metrics.
            engine::source::Opening::Converting(c) => {
                // No header: the trace could not be read (the wait says why).
                let header = c.header.recv().ok();
                let res = header.as_ref().map(|(meta, snapshot)| {
                    let _progress =
                        Progress::follow("rules: events", None, !a.quiet, counter.clone());
                    engine::run::run_feed(c.chunks, snapshot, meta, &rules, &opts).0
                });
                let conv = c.done.wait().map_err(engine::source::SourceError::from)?;
                let problems = engine::source::scap_problems(path, &conv.problems);
                damaged |= crate::report_scap(path, &problems, Some(&conv.report), a.quiet);
                let (Some(res), Some((meta, _))) = (res, header) else {
                    anyhow::bail!("{}: the conversion gave no header", path.display());
                };
                (res, conv.capture, Some(conv.report), meta.hostname)
            }
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
        let summary = cap
            .as_ref()
            .filter(|_| want_summary)
            .map(engine::summary::summarize);
        done.push(Done {
            res,
            host,
            import,
            summary,
        });
        if !a.merge {
            let d = &done[delivered_upto..];
            let alerts: Vec<(&engine::Alert, &Done)> = d
                .iter()
                .flat_map(|d| d.res.alerts.iter().map(move |al| (al, d)))
                .collect();
            deliver(&alerts, &mut sinks, &fmt)?;
            delivered_upto = done.len();
        }
    }
    if a.merge {
        let merged = engine::run::merge_by_time(done.iter().map(|d| &d.res));
        let by_source: std::collections::HashMap<&str, &Done> =
            done.iter().map(|d| (d.res.source.as_ref(), d)).collect();
        let alerts: Vec<(&engine::Alert, &Done)> = merged
            .into_iter()
            .filter_map(|al| by_source.get(al.source.as_ref()).map(|d| (al, *d)))
            .collect();
        deliver(&alerts, &mut sinks, &fmt)?;
    }

    // Every output accounts for its alerts.
    let mut deliveries: Vec<Delivery> = Vec::new();
    for (s, _) in &mut sinks {
        deliveries.push(s.finish().map_err(delivery_error)?);
    }
    let mut undelivered = 0;
    for d in &deliveries {
        undelivered += d.undelivered;
        if d.undelivered > 0 {
            say!(
                "analyzer: {}: {} of {} alert(s) NOT delivered",
                d.sink,
                d.undelivered,
                d.delivered + d.undelivered
            );
            for (why, n) in &d.reasons {
                say!("  {n:>8}  {}", capture::text::escape_controls(why));
            }
        } else if !a.quiet && d.sink != "stdout" {
            say!("analyzer: {}: {} alert(s) delivered", d.sink, d.delivered);
        }
        if let Some(g) = &d.gave_up {
            say!(
                "analyzer: {}: {}",
                d.sink,
                capture::text::escape_controls(g)
            );
        }
        if let Some(e) = &d.close_error {
            // Written, but not known to be handled: as good as undelivered.
            undelivered += 1;
            say!(
                "analyzer: {}: {} (its alerts may not all have been handled)",
                d.sink,
                capture::text::escape_controls(e)
            );
        }
    }

    // Documents: stdout's, then --write's, then metrics.
    let infos: Vec<outputs::RuleInfo> = rules.iter().map(Into::into).collect();
    let all: Vec<(&engine::Alert, &str)> = done
        .iter()
        .flat_map(|d| d.res.alerts.iter().map(move |al| (al, d.host.as_str())))
        .collect();
    let checked: Vec<outputs::junit::Checked> = done
        .iter()
        .map(|d| outputs::junit::Checked {
            capture: d.res.source.to_string(),
            events: d.res.events,
            lost_events: d.res.gaps.iter().map(|g| g.count).sum(),
            damaged_chunks: d.res.chunk_errors.len(),
            seconds: d.res.elapsed.as_secs_f64(),
        })
        .collect();
    let doc = |f: FormatArg| -> String {
        let alerts: Vec<&engine::Alert> = all.iter().map(|(al, _)| *al).collect();
        match f {
            FormatArg::Sarif => {
                let mut s = serde_json::to_string_pretty(&outputs::sarif::document(&infos, &all))
                    .unwrap_or_default();
                s.push('\n');
                s
            }
            FormatArg::Junit => outputs::junit::document(&infos, &checked, &alerts, a.fail_on),
            _ => outputs::markdown::document(&checked, &alerts, a.fail_on),
        }
    };
    if stdout_format.is_document() {
        crate::out(&doc(stdout_format));
    }
    for (f, p, file) in documents {
        use std::io::Write;
        let text = doc(f);
        let r = match file {
            Some(mut file) => file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_data()),
            None => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&p)
                .and_then(|mut file| file.write_all(text.as_bytes())),
        };
        r.with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &a.metrics_file {
        let hosts: Vec<outputs::metrics::HostCounters> = done
            .iter()
            .filter_map(|d| d.summary.as_ref().map(|s| (d, s)))
            .map(|(d, s)| outputs::metrics::HostCounters {
                hostname: d.host.clone(),
                events_by_cpu: s.events_by_cpu.iter().map(|c| (c.cpu, c.events)).collect(),
                drops_by_cpu: s.drops_by_cpu.iter().map(|c| (c.cpu, c.lost)).collect(),
            })
            .collect();
        let text = outputs::metrics::exposition(&all, &hosts, &deliveries);
        write_atomically(p, text.as_bytes(), &inputs)
            .with_context(|| format!("--metrics-file {}", p.display()))?;
    }
    // Undelivered alerts first: the findings did not all reach where they
    // were sent. Then alerts, then damage (which cannot hide behind "no
    // alert": the missing events were not evaluated).
    Ok(if undelivered > 0 {
        ExitCode::from(4)
    } else if failed {
        ExitCode::from(1)
    } else if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the Falco configuration, printing its problems; errors end the run.
fn load_config(p: &Path, quiet: bool) -> Result<falco_config::Config> {
    let (cfg, diags) = falco_config::load(p, &|k| std::env::var(k).ok())?;
    for d in &diags {
        say_part!("{}", d.render());
    }
    if !diags.is_empty() {
        anyhow::bail!("{} problem(s) in {}", diags.len(), p.display());
    }
    if !cfg.ignored.is_empty() && !quiet {
        say!(
            "analyzer: {}: Falco settings Ferret does not use: {}",
            p.display(),
            cfg.ignored.join(", ")
        );
    }
    Ok(cfg)
}

/// Writes `path` whole or not at all (a temporary file renamed over it), so
/// that a collector never reads half a file.
fn write_atomically(path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<()> {
    use std::io::Write;
    if capture::outfile::is_input(path, inputs) {
        anyhow::bail!("that is one of the captures");
    }
    let name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("not a file name"))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = capture::outfile::create(&tmp, output_options(true), inputs)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Sends alerts to every sink, each in its own shape (the flag says JSON).
fn deliver(
    alerts: &[(&engine::Alert, &Done)],
    sinks: &mut [(Box<dyn Sink>, bool)],
    fmt: &outputs::Format,
) -> Result<()> {
    let text_fmt = outputs::Format {
        json: false,
        ..fmt.clone()
    };
    for (al, d) in alerts {
        let mut j = outputs::json_with(al, &d.host, fmt);
        add_scap_num(&mut j, d.import.as_ref(), al.evt_num.wrapping_sub(1));
        let json_line = j.to_string();
        let text = outputs::text_line_with(al, &text_fmt);
        for (s, as_json) in sinks.iter_mut() {
            let line = if *as_json { &json_line } else { &text };
            s.send(&Rendered {
                alert: al,
                doc: &j,
                line,
            })
            .map_err(delivery_error)?;
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
    for ((prio, rule), t) in engine::run::tally_by_rule(&res.alerts) {
        say!(
            "  {:>8}  {:<13} {}",
            t.count,
            prio.name(),
            capture::text::escape_controls(rule)
        );
    }
}
