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
    /// (README, "Exporting"). scap: a sysdig/Falco trace (scap 1.2) that
    /// sysdig, Falco's replay engine and Stratoshark open; what it cannot
    /// express is counted on stderr. ocsf: the OCSF 1.1 view for security
    /// lakes, `<capture>.process_activity.parquet`,
    /// `.file_activity.parquet` and `.network_activity.parquet`.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Directory for the files, one per capture (`<capture name>.parquet`,
    /// `.jsonl` or `.scap`); created when missing. With --format scap and
    /// one capture, the trace's file name unless it is a directory.
    #[arg(short, long, value_name = "DIR|FILE")]
    pub out: PathBuf,
    /// With --format scap: gzip the trace (also when the output name ends
    /// in .gz); every libscap reader opens it.
    #[arg(long)]
    pub gzip: bool,
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
    /// A sysdig/Falco .scap trace.
    Scap,
    /// The OCSF 1.1 view: Process, File System and Network Activity, one
    /// Parquet file each.
    Ocsf,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    // Directories and merged captures stand for the recordings they hold.
    let a = Args {
        captures: engine::source::expand_inputs(&a.captures)?,
        ..a
    };
    let rules = if a.rules.is_empty() {
        Vec::new()
    } else {
        let mut set = ruleset::load_rules(&a.rules, &a.sel.selection());
        enabled_rules(&mut set, a.quiet, a.keep_going)?
    };
    if a.format == FormatArg::Scap {
        if !a.rules.is_empty() {
            say!("analyzer: --rules has no effect on a .scap export (a trace holds events, not alerts)");
        }
        return scap(&a);
    }
    if a.format == FormatArg::Ocsf {
        if !a.rules.is_empty() {
            say!("analyzer: --rules has no effect on the OCSF view");
        }
        return ocsf(&a);
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let (format, ext) = match a.format {
        FormatArg::Parquet => (export::Format::Parquet, "parquet"),
        FormatArg::Jsonl => (export::Format::Jsonl, "jsonl"),
        FormatArg::Scap | FormatArg::Ocsf => unreachable!("handled above"),
    };
    let files = crate::input_files(&a.captures);
    let inputs: Vec<&std::path::Path> = files.iter().map(|c| c.as_path()).collect();
    let mut damaged = false;
    let mut names = std::collections::BTreeSet::new();
    for path in &a.captures {
        let started = Instant::now();
        let cap = open_checked(path, a.quiet, &mut damaged)?;
        let name = unique_name(path, &format!(".{ext}"), &mut names);
        let target = a.out.join(&name);
        let file = capture::outfile::create(&target, output_options(a.force), &inputs)?;
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let res = {
            let _p = Progress::follow(
                "export: events",
                Some(cap.event_count()),
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

/// `--format scap`: one trace per capture.
fn scap(a: &Args) -> Result<ExitCode> {
    let files = crate::input_files(&a.captures);
    let inputs: Vec<&std::path::Path> = files.iter().map(|c| c.as_path()).collect();
    let gz_name = a.out.extension().is_some_and(|e| e == "gz");
    let single_file = a.captures.len() == 1 && !a.out.is_dir();
    let gzip = a.gzip || gz_name;
    if !single_file {
        std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    }
    let mut damaged = false;
    let mut names = std::collections::BTreeSet::new();
    for path in &a.captures {
        let started = Instant::now();
        let cap = open_checked(path, a.quiet, &mut damaged)?;
        let target = if single_file {
            a.out.clone()
        } else {
            let ext = if gzip { ".scap.gz" } else { ".scap" };
            a.out.join(unique_name(path, ext, &mut names))
        };
        let file = capture::outfile::create(&target, output_options(a.force), &inputs)?;
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (rep, _) = {
            let _p = Progress::follow(
                "export: events",
                Some(cap.event_count()),
                !a.quiet,
                counter.clone(),
            );
            export::scap::write_scap(&cap, &path.display().to_string(), file, gzip, |n| {
                counter.store(n, std::sync::atomic::Ordering::Relaxed)
            })
            .with_context(|| format!("exporting {} to {}", path.display(), target.display()))?
        };
        for e in &rep.chunk_errors {
            say!("analyzer: {}: skipped damaged chunk: {e}", path.display());
            damaged = true;
        }
        if !a.quiet {
            let secs = started.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
            say!(
                "analyzer: {} -> {}: {} events as {} scap events, {} threads and {} fds in the snapshot, {bytes} bytes, {:.2}s ({:.0}k events/s)",
                path.display(),
                target.display(),
                rep.events_read,
                rep.scap_events,
                rep.threads,
                rep.fds,
                secs,
                rep.events_read as f64 / secs.max(1e-9) / 1e3
            );
            let list = |m: &mut dyn Iterator<Item = String>| m.collect::<Vec<_>>().join(", ");
            if !rep.folded.is_empty() {
                say!(
                    "analyzer:   carried by clone/execve parameters: {}",
                    list(&mut rep.folded.iter().map(|(k, n)| format!("{k} {n}")))
                );
            }
            if !rep.renamed.is_empty() {
                say!(
                    "analyzer:   written as the older event every reader knows: {}",
                    list(
                        &mut rep
                            .renamed
                            .iter()
                            .map(|((f, t), n)| format!("{f}->{t} {n}"))
                    )
                );
            }
            if !rep.generic.is_empty() {
                say!(
                    "analyzer:   generic syscall events: {}",
                    list(&mut rep.generic.iter().map(|(k, n)| format!("{k} {n}")))
                );
            }
        }
        // What scap cannot express is said even with --quiet.
        if rep.cut > 0 {
            say!(
                "analyzer: {}: {} values cut to fit scap's limits (process-list argv 4096 bytes, paths 1024; an event 64 KiB)",
                path.display(),
                rep.cut
            );
        }
        if !rep.dropped.is_empty() || rep.lost_events > 0 {
            say!(
                "analyzer: {}: not expressible in scap: {}; the recorder's loss records counted {} lost events",
                path.display(),
                rep.dropped
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                rep.lost_events
            );
        }
    }
    Ok(if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--format ocsf`: three Parquet files per capture.
fn ocsf(a: &Args) -> Result<ExitCode> {
    use export::ocsf::Class;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let files = crate::input_files(&a.captures);
    let inputs: Vec<&std::path::Path> = files.iter().map(|c| c.as_path()).collect();
    let mut damaged = false;
    let mut stems = std::collections::BTreeSet::new();
    for path in &a.captures {
        let started = Instant::now();
        let cap = open_checked(path, a.quiet, &mut damaged)?;
        let stem = unique_name(path, "", &mut stems);
        let mut files = Vec::new();
        for c in Class::ALL {
            let target = a.out.join(format!("{stem}.{}.parquet", c.file_suffix()));
            files.push(capture::outfile::create(
                &target,
                output_options(a.force),
                &inputs,
            )?);
        }
        let outs: [std::fs::File; 3] = files
            .try_into()
            .map_err(|_| anyhow::anyhow!("three output files"))?;
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let res = {
            let _p = Progress::follow(
                "export: events",
                Some(cap.event_count()),
                !a.quiet,
                counter.clone(),
            );
            export::ocsf::export_ocsf(
                &cap,
                &path.display().to_string(),
                outs,
                a.threads,
                Some(counter.clone()),
            )
            .with_context(|| format!("exporting {}", path.display()))?
        };
        for e in &res.chunk_errors {
            say!("analyzer: {}: skipped damaged chunk: {e}", path.display());
            damaged = true;
        }
        if !a.quiet {
            let secs = started.elapsed().as_secs_f64();
            let rows: Vec<String> = Class::ALL
                .iter()
                .map(|c| format!("{} {}", c.name(), res.rows.get(c).copied().unwrap_or(0)))
                .collect();
            say!(
                "analyzer: {} -> {}/{stem}.*.parquet (OCSF {}): {} events, rows: {}; {:.2}s ({:.0}k events/s)",
                path.display(),
                a.out.display(),
                export::ocsf::OCSF_VERSION,
                res.events,
                rows.join(", "),
                secs,
                res.events as f64 / secs.max(1e-9) / 1e3
            );
        }
    }
    Ok(if damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens a capture, saying what its file lost outside its chunks; `damaged`
/// is set when anything was.
fn open_checked(
    path: &std::path::Path,
    quiet: bool,
    damaged: &mut bool,
) -> Result<capture::Capture> {
    let (cap, scap_damaged, _) = open_input(path, quiet)?;
    *damaged |= scap_damaged;
    for p in cap.problems() {
        say!("analyzer: {p}");
        *damaged = true;
    }
    Ok(cap)
}

/// The capture's file stem, made distinct from the ones already `taken`
/// (two captures of the same name get `name-2`), with `ext` appended.
fn unique_name(
    path: &std::path::Path,
    ext: &str,
    taken: &mut std::collections::BTreeSet<String>,
) -> String {
    // `all.cap#1`, a recording of a merged capture, is named `all#1`.
    let (file, stream) = match capture::reader::split_stream_path(path) {
        Some((f, n)) => (f, format!("#{n}")),
        None => (path.to_path_buf(), String::new()),
    };
    let stem = file
        .file_stem()
        .map(|s| format!("{}{stream}", s.to_string_lossy()))
        .unwrap_or_else(|| "capture".into());
    let mut name = format!("{stem}{ext}");
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{stem}-{n}{ext}");
    }
    name
}
