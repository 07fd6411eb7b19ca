//! `analyzer report`: one self-contained HTML incident report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::progress::Progress;
use crate::{enabled_rules, open_input, output_options, parse_priority, SelectionArgs};

/// Arguments of `analyzer report`.
#[derive(clap::Args)]
pub struct Args {
    /// Capture files (Ferret captures or .scap traces).
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Rule files or directories (repeatable, loaded in order).
    #[arg(short, long = "rules", required = true)]
    pub rules: Vec<PathBuf>,
    /// The HTML file to write (new, mode 0600; never an input).
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing output file (a regular file only).
    #[arg(long)]
    pub force: bool,
    /// The report's title (default: the first capture's name).
    #[arg(long)]
    pub title: Option<String>,
    /// Alerts whose evidence is written out in full, most severe first
    /// (every alert is counted in the tables).
    #[arg(long, default_value_t = 200)]
    pub evidence: usize,
    /// Load only rules of this priority or a more severe one.
    #[arg(long, value_parser = parse_priority)]
    pub min_priority: Option<ruleset::Priority>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Load rules even when some have errors (they are skipped).
    #[arg(long)]
    pub keep_going: bool,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sel: SelectionArgs,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    // Directories and merged captures stand for the recordings they hold.
    let a = Args {
        captures: engine::source::expand_inputs(&a.captures)?,
        ..a
    };
    let started = Instant::now();
    let mut sel = a.sel.selection();
    sel.min_priority = a.min_priority;
    let mut set = ruleset::load_rules(&a.rules, &sel);
    let d = set.append_output("report evidence", &[report::evidence()]);
    set.diagnostics.extend(d);
    let rules = enabled_rules(&mut set, a.quiet, a.keep_going)?;
    // Created first: a path that cannot be written fails before the work.
    let inputs: Vec<&std::path::Path> = a.captures.iter().map(|c| c.as_path()).collect();
    let mut file = capture::outfile::create(&a.out, output_options(a.force), &inputs)?;

    struct One {
        res: engine::RunResult,
        summary: engine::summary::CaptureSummary,
        activity: report::Activity,
        anchor: u64,
    }
    // Every capture is opened first: the timeline's scale covers them all.
    let mut opened = Vec::new();
    let mut damaged = false;
    for path in &a.captures {
        let (cap, scap_damaged, _) = open_input(path, a.quiet)?;
        damaged |= scap_damaged;
        opened.push((path, cap));
    }
    let bin_ns = report::bin_width(report::time_range(
        &opened.iter().map(|(_, c)| c).collect::<Vec<_>>(),
    ));
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut done: Vec<One> = Vec::new();
    for (path, cap) in &opened {
        let source = path.display().to_string();
        counter.store(0, std::sync::atomic::Ordering::Relaxed);
        let res = {
            let _p = Progress::follow(
                "rules: events",
                Some(cap.event_count()),
                !a.quiet,
                counter.clone(),
            );
            engine::run::run(
                cap,
                &rules,
                &engine::run::RunOptions {
                    threads: a.threads,
                    progress: Some(counter.clone()),
                    source: source.clone().into(),
                    ..Default::default()
                },
            )
        };
        let summary = engine::summary::summarize(cap);
        let activity = report::gather(cap, &source, a.threads, bin_ns);
        damaged |= !res.chunk_errors.is_empty() || !summary.problems.is_empty();
        done.push(One {
            res,
            summary,
            activity,
            anchor: cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0),
        });
    }
    let generated_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let input = report::Input {
        title: a
            .title
            .clone()
            .unwrap_or_else(|| format!("Incident report: {}", a.captures[0].display())),
        generated_ns,
        rule_files: set.files.iter().map(|f| f.display().to_string()).collect(),
        rules: &rules,
        captures: done
            .iter()
            .map(|o| report::CaptureSection {
                summary: &o.summary,
                gaps: &o.res.gaps,
                damage: o.res.chunk_errors.iter().map(|e| e.to_string()).collect(),
                activity: &o.activity,
                anchor: o.anchor,
            })
            .collect(),
        alerts: done.iter().flat_map(|o| &o.res.alerts).collect(),
        evidence_limit: a.evidence,
    };
    let html = report::html(&input);
    {
        use std::io::Write;
        file.write_all(html.as_bytes())
            .and_then(|()| file.sync_data())
            .with_context(|| format!("writing {}", a.out.display()))?;
    }
    if !a.quiet {
        say!(
            "analyzer: report {}: {} alert(s) over {} event(s), {} bytes, in {:.2}s",
            a.out.display(),
            input.alerts.len(),
            done.iter().map(|o| o.res.events).sum::<u64>(),
            html.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
