//! The `analyzer` binary: thin argument handling over the analyzer library.
//!
//! Exit codes: 0 success (an intact capture for `verify`), 1 the capture is
//! damaged or unfinished (info and verify still report everything intact),
//! 2 usage errors and unreadable files.

/// A line on stderr that never panics: a closed or broken stderr loses the
/// message, not the run (and its exit code).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// [`say!`] without the newline.
#[allow(unused_macros)]
macro_rules! say_part {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}

mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::progress::Progress;
use anyhow::{Context, Result};
use capture::synth::{self, SynthConfig};
use capture::{Capture, CaptureWriterBuilder};
use clap::{Parser, Subcommand};
use engine::summary::summarize;

/// Ferret's offline analyzer for syscall captures.
#[derive(Parser)]
#[command(name = "analyzer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Falco-compatible rules over a capture (or several) on all cores and
    /// print alerts. Exits 0 when no alert is at or above --fail-on, 1 when
    /// one is, 2 on errors (unreadable rules or capture, rule errors), 3 when
    /// no alert is at or above --fail-on but a capture is damaged or
    /// unfinished (every intact event was evaluated; the lost ones could
    /// not be).
    Run(RunArgs),
    /// Print a capture's metadata, event counts by kind, time range, drops and
    /// compression ratio. Damaged chunks are skipped and listed; everything
    /// intact is still counted. Exits 1 when the capture is damaged or
    /// unfinished.
    Info {
        /// The capture file.
        capture: PathBuf,
        /// Print JSON (a stable, documented object; see README) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a capture's integrity: every frame's BLAKE3 hash, the hash chain
    /// from the file header to the trailer, every chunk's archive and columns,
    /// and the index. Prints "intact" with the chain head, or names the first
    /// bad chunk, its offset and why. Exits 0 when intact, 1 otherwise.
    Verify {
        /// The capture file.
        capture: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List events, one line each (number, time, cpu, pid/tid, type, return
    /// value when there is one, named arguments), or as JSON lines; with
    /// --filter/--format, like `sysdig -r trace "filter" -p format`. Damaged
    /// chunks are skipped with a warning on stderr; every intact event is
    /// listed. Exits 0, 1 when the capture is damaged, 2 when the filter or
    /// format does not compile (every problem shown with its position).
    Events {
        /// The capture file (Ferret capture or sysdig/Falco .scap).
        capture: PathBuf,
        /// Only these event types (comma-separated names: openat,execve).
        #[arg(long, value_delimiter = ',')]
        kind: Vec<String>,
        /// Only events of this process (tgid).
        #[arg(long)]
        pid: Option<u32>,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
        /// Print JSON lines (fields: num, time, ts, cpu, pid, tid, type, ret
        /// (null without a result), args; with --format, {"num", "output"};
        /// on a .scap trace also scap_evt_num, sysdig's number for the event).
        #[arg(long)]
        json: bool,
        /// Only events matching this condition, in Falco's rule language
        /// (sysdig's filter): 'evt.type=openat and fd.name startswith /etc'.
        /// Macros and lists of --rules files may be used.
        #[arg(long, short = 'f')]
        filter: Option<String>,
        /// Print each event with this format instead ('%evt.num %proc.name
        /// %fd.name', like sysdig -p); missing values print as <NA>.
        #[arg(long, short = 'p')]
        format: Option<String>,
        /// Rule files or directories whose macros and lists --filter may use
        /// (their rules are not evaluated).
        #[arg(long)]
        rules: Vec<PathBuf>,
    },
    /// Load and compile Falco rule files and directories (in order) and print
    /// every error and warning with file, line, column and a caret. Exits 1
    /// on errors (and on warnings with --strict), 0 otherwise.
    Validate {
        /// Rule files or directories (*.yaml, *.yml, sorted by name).
        #[arg(required = true)]
        rules: Vec<PathBuf>,
        /// Print JSON: {files, rules, enabled, macros, lists, errors, warnings,
        /// required_plugin_versions, diagnostics: [{severity, code, message,
        /// file, line, column, width, item_type, item_name}], conditions}.
        #[arg(long)]
        json: bool,
        /// Treat warnings as failures.
        #[arg(long)]
        strict: bool,
        /// Print the expanded condition (macros and lists inlined) of this rule (repeatable).
        #[arg(long = "print-condition", value_name = "RULE")]
        print_condition: Vec<String>,
        #[command(flatten)]
        sel: SelectionArgs,
    },
    /// List the supported fields with their types, argument forms and descriptions.
    ListFields {
        /// Print JSON: [{name, type, arg, desc}].
        #[arg(long)]
        json: bool,
    },
    /// Convert a sysdig/Falco .scap trace (plain or gzip, format 1.0 to 1.2)
    /// to a Ferret capture. The process, fd and user lists become the
    /// snapshot; each exit event is merged with its entry event into one
    /// event per call; sysdig's internal events are skipped and unknown
    /// events counted, never fatal. `run`, `info`, `events` and the TUI also
    /// open .scap files directly. Prints a summary on stderr (and the report
    /// as JSON on stdout with --json). Exits 0 when the whole trace was read,
    /// 1 when it is damaged (everything before the damage is converted), 2
    /// when it cannot be read at all.
    Import {
        /// The .scap trace.
        trace: PathBuf,
        /// The Ferret capture to write (a new file, mode 0600).
        #[arg(short, long)]
        out: PathBuf,
        /// Replace an existing output file (a regular file only: a symbolic
        /// link is never followed, an input is never overwritten). Without
        /// it an existing file is left alone and the command fails.
        #[arg(long)]
        force: bool,
        /// Print the report as JSON on stdout: {trace, out, scap_events,
        /// events, merged, exits_alone, entries_alone, entries_dropped,
        /// internal: {name: n}, unknown: {code: n}, problems: [{offset,
        /// reason}], seconds, events_per_sec, scap_bytes, out_bytes}.
        #[arg(long)]
        json: bool,
        /// No summary on stderr.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a synthetic capture with a realistic event mix (web server,
    /// database, shells running tools, outbound connections, file churn,
    /// occasional drops), for tests and benchmarks. Deterministic per seed.
    Synth {
        /// Output file (a new file, mode 0600).
        #[arg(short, long)]
        out: PathBuf,
        /// Replace an existing output file (a regular file only: a symbolic
        /// link is never followed, an input is never overwritten). Without
        /// it an existing file is left alone and the command fails.
        #[arg(long)]
        force: bool,
        /// Number of events.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Events per chunk.
        #[arg(long, default_value_t = 65_536)]
        chunk_events: u32,
        /// zstd level (1..=19).
        #[arg(long, default_value_t = 3)]
        zstd_level: i32,
        /// No progress on stderr.
        #[arg(short, long)]
        quiet: bool,
    },
}

/// Rule selection options shared by the commands that load rules.
#[derive(clap::Args, Debug, Default)]
struct SelectionArgs {
    /// Disable rules by name (exact, or a pattern with *; repeatable).
    #[arg(long = "disable", value_name = "RULE")]
    disable: Vec<String>,
    /// Enable rules by name, even those with enabled: false (repeatable).
    #[arg(long = "enable", value_name = "RULE")]
    enable: Vec<String>,
    /// Disable rules carrying this tag (repeatable).
    #[arg(long = "disable-tag", value_name = "TAG")]
    disable_tags: Vec<String>,
    /// Keep only rules carrying one of these tags (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    only_tags: Vec<String>,
}

impl SelectionArgs {
    fn selection(&self) -> ruleset::Selection {
        ruleset::Selection {
            disable: self.disable.clone(),
            enable: self.enable.clone(),
            disable_tags: self.disable_tags.clone(),
            only_tags: self.only_tags.clone(),
        }
    }
}

/// Opens a capture or a .scap trace, reporting on stderr what reading the
/// trace found; the flag says whether the trace was damaged.
/// Opens a capture or a .scap trace: the capture, whether reading the
/// trace hit damage, and the conversion report of a trace.
fn open_input(
    path: &std::path::Path,
    quiet: bool,
) -> Result<(Capture, bool, Option<scap::import::ImportReport>)> {
    let o = engine::source::open(path)?;
    for p in &o.scap_problems {
        say!("analyzer: {p}");
    }
    if let (Some(r), false) = (&o.import, quiet) {
        say!(
            "analyzer: {}: {}",
            path.display(),
            engine::source::import_line(r)
        );
    }
    let damaged = !o.scap_problems.is_empty();
    Ok((o.capture, damaged, o.import))
}

/// Adds `scap_evt_num`, sysdig's number for the event at `seq` of a
/// converted .scap trace, to a JSON object, so that a reader can pivot to
/// `sysdig -r trace "evt.num=N"`. Events of Ferret's own (number 0) and
/// native captures get none.
fn add_scap_num(v: &mut serde_json::Value, import: Option<&scap::import::ImportReport>, seq: u64) {
    let n = import
        .and_then(|r| r.origin.get(seq as usize).copied())
        .filter(|&n| n != 0);
    if let (Some(n), Some(o)) = (n, v.as_object_mut()) {
        o.insert("scap_evt_num".into(), serde_json::json!(n));
    }
}

/// How output files are created: new, mode 0600, replaced only with --force.
fn output_options(force: bool) -> capture::outfile::OutputOptions {
    capture::outfile::OutputOptions {
        force,
        ..Default::default()
    }
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
    let s = scap::ScapFile::open(trace).with_context(|| format!("{}", trace.display()))?;
    // Nothing of a .scap was read (empty, or another kind of file): no
    // output is written.
    if s.block_counts.is_empty() {
        let why = s
            .problems
            .first()
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| "no block".into());
        anyhow::bail!("{}: {why}", trace.display());
    }
    let file = capture::outfile::create(dest, output_options(force), &[trace])?;
    let name = dest.display().to_string();
    let (_, summary, rep) = scap::import::convert(&s, &trace.display().to_string(), file, &name)?;
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

fn parse_priority(s: &str) -> Result<ruleset::Priority, String> {
    ruleset::Priority::parse(s).ok_or_else(|| format!("unknown priority {s:?}"))
}

/// A capture is read through a memory map: if another process truncates the
/// file meanwhile, reading the lost pages raises SIGBUS. Say so and exit
/// with the code of an unreadable file (2) instead of dying by the signal.
extern "C" fn on_sigbus(_: libc::c_int) {
    const MSG: &[u8] = b"analyzer: the capture file shrank while it was being read (truncated by another process); copy a capture before reading it while something may still change it\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, MSG.as_ptr() as *const libc::c_void, MSG.len());
        libc::_exit(2);
    }
}

fn main() -> ExitCode {
    // SAFETY: installing a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGBUS, on_sigbus as *const () as libc::sighandler_t);
    }
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            say!("analyzer: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run_rules(args),
        Command::Info { capture, json } => {
            let (cap, damaged, _) = open_input(&capture, false)?;
            let s = summarize(&cap);
            if json {
                out(&format!("{}\n", serde_json::to_string_pretty(&s)?));
            } else {
                out(&s.to_string());
            }
            Ok(if s.finished && s.problems.is_empty() && !damaged {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Verify { capture, json } => {
            let cap = Capture::open(&capture)?;
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
        Command::Events {
            capture,
            kind,
            pid,
            limit,
            json,
            filter,
            format,
            rules,
        } => {
            let selector = if filter.is_some() || format.is_some() {
                match ruleset::filter::compile(&rules, filter.as_deref(), format.as_deref()) {
                    Ok(f) => Some(f),
                    Err(diags) => {
                        for d in &diags {
                            say_part!("{}", d.render());
                        }
                        return Ok(ExitCode::from(2));
                    }
                }
            } else {
                None
            };
            let (cap, damaged, import) = open_input(&capture, true)?;
            // What the file lost outside its chunks (metadata, snapshot,
            // index): said before the events, which are all still listed.
            for p in cap.problems() {
                say!("analyzer: {p}");
            }
            let mut kinds = capture::KindSet::EMPTY;
            // Calls without a kind of their own are generic events named
            // by their number.
            let mut generic: Vec<&str> = Vec::new();
            for k in &kind {
                match capture::kind_by_name(k) {
                    Some(info) => kinds.insert(info.id),
                    None if capture::syscalls::x86_64_number(k).is_some() => {
                        kinds.insert(capture::kind::id::GENERIC);
                        generic.push(k);
                    }
                    None => anyhow::bail!("unknown event type {k:?}"),
                }
            }
            let filter_kinds = !kind.is_empty();
            // State (processes, fds) is replayed from the start when the
            // filter or format may need it, so every chunk is read then.
            let sel = cap.select_chunks(
                if filter_kinds && selector.is_none() {
                    &kinds
                } else {
                    &capture::KindSet::ALL
                },
                0,
                u64::MAX,
            );
            let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
            // The state engine runs only when a filter or format needs it.
            let mut replay = selector.as_ref().map(|_| {
                engine::replay::Replay::new(
                    &cap.snapshot().ok().flatten().unwrap_or_default(),
                    engine::replay::CaptureFacts::of(&cap, &capture.display().to_string()),
                )
            });
            let mut printed = 0u64;
            let mut text = String::new();
            let mut bad = 0;
            'chunks: for i in sel {
                let c = match cap.load_chunk(i) {
                    Ok(c) => c,
                    Err(e) => {
                        say!("analyzer: skipping damaged chunk: {e}");
                        bad += 1;
                        continue;
                    }
                };
                for e in c.events() {
                    let generic_ok = e.kind != capture::kind::id::GENERIC
                        || generic.is_empty()
                        || generic.contains(&e.kind_name().as_ref());
                    let wanted = (!filter_kinds || kinds.contains(e.kind))
                        && generic_ok
                        && pid.is_none_or(|p| p == e.pid);
                    // None: not listed; Some(None): the event's own line;
                    // Some(Some(text)): the --format text.
                    let shown: Option<Option<String>> = match (&selector, &mut replay) {
                        (Some(sel), Some(r)) => r.step(&e, |cx| {
                            let hit = wanted
                                && sel
                                    .program
                                    .as_ref()
                                    .is_none_or(|p| engine::eval::matches_in(p, cx));
                            hit.then(|| {
                                sel.format
                                    .as_ref()
                                    .map(|f| engine::eval::format_output_in(f, cx).0)
                            })
                        }),
                        _ if !wanted => None,
                        _ => Some(None),
                    };
                    let line = shown.map(|formatted| match (formatted, json) {
                        (Some(out), false) => capture::text::escape_controls(&out).into_owned(),
                        (None, false) => engine::print::line(&e, anchor),
                        (formatted, true) => {
                            let mut v = match formatted {
                                Some(out) => serde_json::json!({"num": e.seq + 1, "output": out}),
                                None => engine::print::json(&e, anchor),
                            };
                            add_scap_num(&mut v, import.as_ref(), e.seq);
                            v.to_string()
                        }
                    });
                    let Some(line) = line else { continue };
                    if limit.is_some_and(|l| printed >= l) {
                        break 'chunks;
                    }
                    text += &line;
                    text.push('\n');
                    printed += 1;
                    if text.len() > 1 << 16 {
                        out(&text);
                        text.clear();
                    }
                }
            }
            out(&text);
            Ok(if bad > 0 || !cap.problems().is_empty() || damaged {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Validate {
            rules,
            json,
            strict,
            print_condition,
            sel,
        } => {
            let t = std::time::Instant::now();
            let set = ruleset::load_rules(&rules, &sel.selection());
            let elapsed = t.elapsed();
            let conditions: Vec<(String, Option<String>)> = print_condition
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        set.rules
                            .iter()
                            .find(|r| &r.name == n)
                            .map(|r| r.program.to_string()),
                    )
                })
                .collect();
            if json {
                let v = serde_json::json!({
                    "files": set.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                    "rules": set.rules.len(),
                    "enabled": set.enabled().count(),
                    "macros": set.macros,
                    "lists": set.lists,
                    "errors": set.errors(),
                    "warnings": set.warnings(),
                    "required_plugin_versions": set.required_plugins.iter().map(|(n, v)| serde_json::json!({"name": n, "version": v})).collect::<Vec<_>>(),
                    "diagnostics": set.diagnostics,
                    "conditions": conditions.iter().map(|(n, c)| serde_json::json!({"rule": n, "condition": c})).collect::<Vec<_>>(),
                    "elapsed_ms": elapsed.as_secs_f64() * 1e3,
                });
                out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
            } else {
                let mut text = String::new();
                for d in &set.diagnostics {
                    text += &d.render();
                    text.push('\n');
                }
                for (n, c) in &conditions {
                    match c {
                        Some(c) => {
                            text += &format!(
                                "{}: {}\n",
                                capture::text::escape_controls(n),
                                capture::text::escape_controls(c)
                            )
                        }
                        None => {
                            text += &format!(
                                "{}: no such rule (or it did not compile)\n",
                                capture::text::escape_controls(n)
                            )
                        }
                    }
                }
                for (n, v) in &set.required_plugins {
                    text += &format!("note: rules require plugin {n} {v} (not enforced: Ferret reads syscall captures)\n");
                }
                text += &format!(
                    "{} file(s): {} rules ({} enabled, {} definitions), {} macros, {} lists; {} error(s), {} warning(s) in {:.1} ms\n",
                    set.files.len(),
                    set.rules.len(),
                    set.enabled().count(),
                    set.rule_defs,
                    set.macros,
                    set.lists,
                    set.errors(),
                    set.warnings(),
                    elapsed.as_secs_f64() * 1e3
                );
                out(&text);
            }
            let fail = set.errors() > 0
                || (strict && set.warnings() > 0)
                || conditions.iter().any(|(_, c)| c.is_none());
            Ok(if fail {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Import {
            trace,
            out: dest,
            force,
            json,
            quiet,
        } => import(&trace, &dest, force, json, quiet),
        Command::ListFields { json } => {
            use ruleset::fields::{ArgForm, FIELDS};
            let arg = |a: ArgForm| match a {
                ArgForm::None => "",
                ArgForm::OptIndex => "[N] optional",
                ArgForm::ArgRef => ".NAME or [N] required",
                ArgForm::OptKey => "[KEY] optional",
                ArgForm::Key => "[KEY] required",
            };
            if json {
                let v: Vec<_> = FIELDS
                    .iter()
                    .map(|f| serde_json::json!({"name": f.name, "type": f.ty.name(), "arg": arg(f.arg), "desc": f.desc}))
                    .collect();
                out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
            } else {
                let mut text = String::new();
                for f in FIELDS {
                    text += &format!(
                        "{:<40} {:<8} {:<22} {}\n",
                        f.name,
                        f.ty.name(),
                        arg(f.arg),
                        f.desc
                    );
                }
                out(&text);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth {
            out,
            force,
            events,
            seed,
            chunk_events,
            zstd_level,
            quiet,
        } => {
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
    }
}

/// Options of `analyzer run`.
#[derive(clap::Args)]
struct RunArgs {
    /// Rule files or directories (repeatable, loaded in order).
    #[arg(short, long = "rules", required = true)]
    rules: Vec<PathBuf>,
    /// Capture files.
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Print alerts as JSON lines (Falco's json_output shape) instead of text.
    #[arg(long)]
    json: bool,
    /// Also write alerts as JSON lines to this file (a new file, mode 0600;
    /// never one of the captures).
    #[arg(long, value_name = "FILE")]
    json_file: Option<PathBuf>,
    /// Replace an existing --json-file (a regular file only: a symbolic link
    /// is never followed, an input is never overwritten).
    #[arg(long)]
    force: bool,
    /// Also POST every alert as JSON to this falcosidekick-compatible URL (http://host:port/).
    #[arg(long, value_name = "URL")]
    http: Option<String>,
    /// Exit 1 when an alert has this priority or a more severe one.
    #[arg(long, default_value = "warning", value_parser = parse_priority)]
    fail_on: ruleset::Priority,
    /// all: every matching rule alerts (default); first: only the first in load order, like Falco.
    #[arg(long, value_enum, default_value_t = MatchingArg::All)]
    rule_matching: MatchingArg,
    /// Worker threads (0: all cores; at most 4 per core). Each holds one
    /// decompressed chunk, so this also bounds memory.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Load rules even when some have errors (they are skipped) instead of exiting 2.
    #[arg(long)]
    keep_going: bool,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    sel: SelectionArgs,
}

/// `--rule-matching` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum MatchingArg {
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

fn run_rules(a: RunArgs) -> Result<ExitCode> {
    use std::collections::BTreeMap;
    use std::io::Write;
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
    let mut jf = match &a.json_file {
        Some(p) => Some(std::io::BufWriter::new({
            let inputs: Vec<&std::path::Path> = a.captures.iter().map(|c| c.as_path()).collect();
            capture::outfile::create(p, output_options(a.force), &inputs)?
        })),
        None => None,
    };
    let mut http = match &a.http {
        Some(u) => Some(outputs::HttpSink::new(u).map_err(|e| anyhow::anyhow!("--http {u}: {e}"))?),
        None => None,
    };
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut failed = false;
    let mut damaged = false;
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
        let mut text = String::new();
        let mut by_rule: BTreeMap<(ruleset::Priority, &str), u64> = BTreeMap::new();
        for al in &res.alerts {
            let mut j = outputs::json(al, &host);
            add_scap_num(&mut j, import.as_ref(), al.evt_num.wrapping_sub(1));
            if a.json {
                text += &j.to_string();
            } else {
                text += &outputs::text_line(al);
            }
            text.push('\n');
            if let Some(f) = jf.as_mut() {
                writeln!(f, "{j}")?;
            }
            if let Some(h) = http.as_mut() {
                h.post(&j);
            }
            *by_rule.entry((al.priority, al.rule.as_str())).or_default() += 1;
            failed |= al.priority <= a.fail_on;
            if text.len() > 1 << 16 {
                out(&text);
                text.clear();
            }
        }
        out(&text);
        if !a.quiet {
            let secs = res.elapsed.as_secs_f64();
            say!(
                "analyzer: {}: {} events in {:.2}s ({:.2}M events/s), {} rules, {} alerts, {} gap(s) with {} lost events",
                path.display(),
                res.events,
                secs,
                res.events as f64 / secs.max(1e-9) / 1e6,
                rules.len(),
                res.alerts.len(),
                res.gaps.len(),
                res.gaps.iter().map(|g| g.count).sum::<u64>()
            );
            for ((prio, rule), n) in &by_rule {
                say!(
                    "  {:>8}  {:<13} {}",
                    n,
                    prio.name(),
                    capture::text::escape_controls(rule)
                );
            }
        }
    }
    if let Some(mut f) = jf {
        f.flush()?;
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

/// Writes to stdout; a closed pipe (`| head`) ends the program quietly.
fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        say!("analyzer: writing output: {e}");
        std::process::exit(2);
    }
}

fn problem_json(e: &capture::Error) -> serde_json::Value {
    serde_json::json!({
        "chunk": e.chunk,
        "offset": e.offset,
        "message": e.to_string(),
        "reason": e.fault.to_string(),
    })
}
