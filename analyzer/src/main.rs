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

mod cmd;
mod progress;

use std::process::ExitCode;

use anyhow::Result;
use capture::Capture;
use clap::{Parser, Subcommand};

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
    /// send alerts to stdout and the configured outputs (--config falco.yaml,
    /// --write, --http, --metrics-file). Exits 0 when no alert is at or
    /// above --fail-on, 1 when one is, 2 on errors (unreadable rules,
    /// configuration or capture, rule errors, an output that cannot be
    /// set up), 3 when no alert is at or above --fail-on but a capture is
    /// damaged or unfinished (every intact event was evaluated; the lost
    /// ones could not be), 4 when an output could not deliver every alert
    /// (it takes precedence: the findings did not all reach where they
    /// were sent).
    Run(cmd::run::Args),
    /// Print a capture's metadata, event counts by kind, time range, drops and
    /// compression ratio. Damaged chunks are skipped and listed; everything
    /// intact is still counted. Exits 1 when the capture is damaged or
    /// unfinished.
    Info(cmd::info::Args),
    /// Check a capture's integrity: every frame's BLAKE3 hash, the hash chain
    /// from the file header to the trailer, every chunk's archive and columns,
    /// and the index. Prints "intact" with the chain head, or names the first
    /// bad chunk, its offset and why. Exits 0 when intact, 1 otherwise.
    Verify(cmd::verify::Args),
    /// List events, one line each (number, time, cpu, pid/tid, type, return
    /// value when there is one, named arguments), or as JSON lines; with
    /// --filter/--format, like `sysdig -r trace "filter" -p format`. Damaged
    /// chunks are skipped with a warning on stderr; every intact event is
    /// listed. Exits 0, 1 when the capture is damaged, 2 when the filter or
    /// format does not compile (every problem shown with its position).
    Events(cmd::events::Args),
    /// Load and compile Falco rule files and directories (in order) and print
    /// every error and warning with file, line, column and a caret. Exits 1
    /// on errors (and on warnings with --strict), 0 otherwise.
    Validate(cmd::validate::Args),
    /// List the supported fields with their types, argument forms and descriptions.
    ListFields(cmd::list_fields::Args),
    /// Convert a sysdig/Falco .scap trace (plain or gzip, format 1.0 to 1.2)
    /// to a Ferret capture. The process, fd and user lists become the
    /// snapshot; each exit event is merged with its entry event into one
    /// event per call; sysdig's internal events are skipped and unknown
    /// events counted, never fatal. `run`, `info`, `events` and the TUI also
    /// open .scap files directly. Prints a summary on stderr (and the report
    /// as JSON on stdout with --json). Exits 0 when the whole trace was read,
    /// 1 when it is damaged (everything before the damage is converted), 2
    /// when it cannot be read at all.
    Import(cmd::import::Args),
    /// Write a synthetic capture with a realistic event mix (web server,
    /// database, shells running tools, outbound connections, file churn,
    /// occasional drops), for tests and benchmarks. Deterministic per seed.
    Synth(cmd::synth::Args),
    /// Build a search index of captures (beside the first capture or in
    /// --index-dir): every event with its state-resolved fields (process,
    /// parent, ancestors, user, fd, container, pod; each distinct process
    /// and fd a tantivy document, each event a few bytes referring to
    /// them) and, with --rules, the rules that alert on it. Rebuilt when a
    /// capture changes or the index is damaged.
    Index(cmd::index::Args),
    /// Write one self-contained HTML incident report (no network, prints
    /// readably): the captures' facts and integrity (chain head, damage,
    /// gaps), alerts by priority and rule, a timeline of events and alerts,
    /// the process tree of the alerting processes with their alerts, the
    /// files and connections used most, the containers, and each alert's
    /// evidence (event, process ancestry, fd, container and pod). Exits 0,
    /// 3 when a capture is damaged (the report says which chunks), 2 on
    /// errors.
    Report(cmd::report::Args),
    /// Export events as rows for other engines (Spark, DuckDB, Trino,
    /// pandas): Parquet or JSON lines, one row per event with the
    /// state-resolved Falco fields (columns named proc_name, fd_name, ...;
    /// proc_aname lists the ancestors), time, host, capture file and
    /// position, and with --rules the rules that alerted on it. Schema
    /// ferret.events/1, only ever extended. Exits 0, 3 when a capture is
    /// damaged (its intact chunks are exported and the rest named), 2 on
    /// errors.
    Export(cmd::export::Args),
    /// Print Falco rules as SQL over exported events (`analyzer export`):
    /// one query per rule, separated by `;`, each returning the rule's name
    /// and the capture and evt_num of every matching event; macros and
    /// lists are expanded; a rule SQL cannot express over the schema is a
    /// comment with the reason (and a line on stderr). The queries read
    /// the table or view --table (default `events`).
    Sql(cmd::sql::Args),
    /// Write several captures into one file (sysdig#179): each recording
    /// (a Ferret capture, a .scap trace, a recording of a merged capture, or
    /// the captures in a directory) becomes a stream with its own metadata
    /// and snapshot, event chunks of all streams follow in time order under
    /// one new hash chain, and the sources' file ids and chain heads are
    /// recorded in the file (`analyzer info` shows them). Chunks are copied
    /// as stored after their hash and chain are checked; a damaged or
    /// altered chunk is left out and named. `run`, `events`, `info` and
    /// `export` read every stream of the result (`FILE#N` names one).
    /// Prints the new chain head on stdout. Exits 0, 3 when something of a
    /// source could not be merged (named on stderr and in the file), 2 on
    /// errors (the same recording given twice among them).
    Merge(cmd::merge::Args),
    /// Investigate a capture on the terminal (the same as `ferret-tui`):
    /// alerts grouped by rule, the event timeline with a histogram, the
    /// process tree (every exec, counts per process), every field of an
    /// event; Enter pivots (alert -> event -> process -> its events), Esc
    /// goes back; `f` filters by a Falco condition, `/` searches, `m`
    /// bookmarks (in `<capture>.marks.json`), `?` lists the keys. Exits 2
    /// without a terminal or when the capture or a rules path cannot be
    /// opened.
    Tui(cmd::tui::Args),
    /// Search a capture's events by field, range or free text, with facets
    /// and a time histogram; builds the index first when it is missing or
    /// stale. Exits 2 on a query error, which points at its position.
    Search(cmd::search::Args),
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
            min_priority: None,
        }
    }
}

/// Opens a capture or a .scap trace, reporting on stderr what reading the
/// trace found; the flag says whether the trace was damaged.
/// Opens a capture or a .scap trace: the capture, whether reading the
/// trace hit damage, and the conversion report of a trace.
/// The files the captures are read from (`all.cap#1` is read from
/// `all.cap`), for the checks that an output never replaces an input.
pub(crate) fn input_files(paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    paths.iter().map(|p| capture::reader::file_of(p)).collect()
}

fn open_input(
    path: &std::path::Path,
    quiet: bool,
) -> Result<(Capture, bool, Option<scap::import::ImportReport>)> {
    report_opened(path, engine::source::open(path), quiet)
}

/// An input opened (by [`engine::source::open`], possibly on another
/// thread), with its .scap problems and import said on stderr.
fn report_opened(
    path: &std::path::Path,
    opened: Result<engine::source::Opened, engine::source::SourceError>,
    quiet: bool,
) -> Result<(Capture, bool, Option<scap::import::ImportReport>)> {
    let o = opened?;
    let damaged = report_scap(path, &o.scap_problems, o.import.as_ref(), quiet);
    Ok((o.capture, damaged, o.import))
}

/// Says a .scap trace's problems and (unless `quiet`) its import; whether
/// it was damaged.
fn report_scap(
    path: &std::path::Path,
    problems: &[String],
    import: Option<&scap::import::ImportReport>,
    quiet: bool,
) -> bool {
    for p in problems {
        say!("analyzer: {p}");
    }
    if let (Some(r), false) = (import, quiet) {
        say!(
            "analyzer: {}: {}",
            path.display(),
            engine::source::import_line(r)
        );
    }
    !problems.is_empty()
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

/// Prints a rule set's diagnostics on stderr (errors always, warnings
/// unless `quiet`) and gives its enabled rules. Rule errors end the command
/// unless `keep_going`, which skips the broken rules; no enabled rule at
/// all is an error.
fn enabled_rules(
    set: &mut ruleset::RuleSet,
    quiet: bool,
    keep_going: bool,
) -> Result<Vec<ruleset::CompiledRule>> {
    for d in &set.diagnostics {
        if d.severity == ruleset::Severity::Error || !quiet {
            say_part!("{}", d.render());
        }
    }
    if set.errors() > 0 && !keep_going {
        anyhow::bail!(
            "{} rule error(s); fix them or pass --keep-going to skip the broken rules",
            set.errors()
        );
    }
    let rules = set.take_enabled();
    if rules.is_empty() {
        anyhow::bail!("no enabled rules in {:?}", set.files);
    }
    Ok(rules)
}

/// How output files are created: new, mode 0600, replaced only with --force.
fn output_options(force: bool) -> capture::outfile::OutputOptions {
    capture::outfile::OutputOptions {
        force,
        ..Default::default()
    }
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

// mimalloc: the state engine and the outputs allocate small strings per
// event (fd names, rendered fields); the system allocator's free lists cost
// several percent of a run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers (`mi_option_t` in mimalloc.h, v3, the version
/// libmimalloc-sys builds); its Rust bindings do not name these two.
mod mi_option {
    pub const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    pub const DESTROY_ON_EXIT: libmimalloc_sys::mi_option_t = 22;
}

/// Memory settings for a process that runs one command and exits, unless
/// the environment sets them (`MIMALLOC_DESTROY_ON_EXIT`,
/// `MIMALLOC_PURGE_DELAY`, `MIMALLOC_ALLOW_THP`):
/// - no collection at exit (a destroy-on-exit level above 1): mimalloc
///   otherwise gives every page back with madvise and TLB shootdowns just
///   before the kernel frees the whole address space anyway, about 1.5 ms
///   of a 35 ms run on a small trace.
/// - For a batch command (`long_lived` false), no purging of freed memory:
///   memory freed between chunks is reused instead of being given back and
///   faulted in again. The resident size stays at its peak, which a batch
///   command reaches anyway.
/// - For a batch command, no transparent huge pages (what
///   `MIMALLOC_ALLOW_THP=0` does, set here with prctl because mimalloc
///   reads that option before `main`). mimalloc asks for huge pages on its
///   arenas; a fault that has to compact memory for one stalls the thread,
///   and on this kind of VM about one run in ten on a small trace took
///   twice as long (70-80 ms instead of 35). Without them the resident size
///   halves and the time is the same or better (real workload: 634 -> 625
///   ms median).
///
/// The investigator (`tui`) keeps mimalloc's defaults.
fn tune_memory(long_lived: bool) {
    let unset = |v: &str| std::env::var_os(v).is_none();
    // SAFETY: mi_option_set only stores an option value, and both numbers
    // are options of the linked mimalloc; PR_SET_THP_DISABLE only sets a
    // flag of this process.
    unsafe {
        if unset("MIMALLOC_DESTROY_ON_EXIT") {
            libmimalloc_sys::mi_option_set(mi_option::DESTROY_ON_EXIT, 2);
        }
        if long_lived {
            return;
        }
        if unset("MIMALLOC_PURGE_DELAY") {
            libmimalloc_sys::mi_option_set(mi_option::PURGE_DELAY, -1);
        }
        if unset("MIMALLOC_ALLOW_THP") {
            // Failing (an old kernel) leaves the default: nothing to report.
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

fn main() -> ExitCode {
    // SAFETY: installing a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGBUS, on_sigbus as *const () as libc::sighandler_t);
    }
    let cli = Cli::parse();
    tune_memory(matches!(cli.command, Command::Tui(_)));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            say!("analyzer: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Events(a) => cmd::events::run(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::ListFields(a) => cmd::list_fields::run(a),
        Command::Import(a) => cmd::import::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Index(a) => cmd::index::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Sql(a) => cmd::sql::run(a),
        Command::Merge(a) => cmd::merge::run(a),
        Command::Tui(a) => cmd::tui::run(a),
    }
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

/// In which order several captures run, and which continue which.
pub(crate) struct Plan {
    /// Capture indices in run order: the files of one rotated recording
    /// together, by segment.
    pub order: Vec<usize>,
    /// For each capture, the file of the same recording it continues (the
    /// previous segment), whose end state it starts from.
    pub continues: Vec<Option<usize>>,
    /// Whether a capture is continued by another.
    pub has_next: Vec<bool>,
}

/// Reads the captures' metadata: the files of one rotated recording (same
/// host, recorder, command line and boot time; consecutive segments) run
/// in segment order as one state; the same capture given twice is an
/// error; captures of one host that overlap in time but are not one
/// recording are said (their alerts may repeat).
pub(crate) fn plan_captures(paths: &[std::path::PathBuf], quiet: bool) -> Result<Plan> {
    struct M {
        key: Option<String>,
        host: String,
        segment: u32,
        boot: u64,
        span: Option<(u64, u64)>,
        head: Option<[u8; 32]>,
    }
    let metas: Vec<M> = paths
        .iter()
        .map(|p| {
            // .scap traces (converted when run) are recordings of their own.
            let cap = (!engine::source::is_scap(p))
                .then(|| capture::Capture::open(p).ok())
                .flatten();
            let meta = cap.as_ref().and_then(|c| c.meta());
            M {
                key: meta.filter(|m| m.source == "ferret-recorder").map(|m| {
                    format!(
                        "{}\0{}\0{}",
                        m.hostname,
                        m.recorder,
                        m.command_line.join("\0")
                    )
                }),
                host: meta.map(|m| m.hostname.clone()).unwrap_or_default(),
                segment: meta.map_or(0, |m| m.segment),
                boot: meta.map_or(0, |m| m.boot_time_unix_ns),
                span: cap.as_ref().and_then(|c| {
                    let anchor = meta.map_or(0, |m| m.boot_time_unix_ns);
                    c.time_range().map(|(a, b)| (a + anchor, b + anchor))
                }),
                head: cap.as_ref().and_then(|c| c.recording_head()),
            }
        })
        .collect();
    for i in 0..metas.len() {
        for j in 0..i {
            if metas[i].head.is_some() && metas[i].head == metas[j].head {
                anyhow::bail!(
                    "{} and {} are the same capture (chain head {}); give it once",
                    paths[j].display(),
                    paths[i].display(),
                    capture::format::hex(&metas[i].head.unwrap_or_default())
                );
            }
        }
    }
    let n = paths.len();
    let mut continues = vec![None; n];
    let mut has_next = vec![false; n];
    for i in 0..n {
        let Some(k) = &metas[i].key else { continue };
        let prev = (0..n).find(|&j| {
            metas[j].key.as_ref() == Some(k)
                && metas[j].segment + 1 == metas[i].segment
                && metas[j].boot.abs_diff(metas[i].boot) < 2_000_000_000
                && match (metas[j].span, metas[i].span) {
                    (Some((_, end)), Some((start, _))) => end <= start,
                    _ => true,
                }
        });
        if let Some(j) = prev {
            continues[i] = Some(j);
            has_next[j] = true;
            if !quiet {
                say!(
                    "analyzer: {} continues {} (segment {} of one recording): one state across the files",
                    paths[i].display(),
                    paths[j].display(),
                    metas[i].segment
                );
            }
        }
    }
    // Run order: each recording's first file where it was given, followed
    // by the files that continue it.
    let mut order = Vec::with_capacity(n);
    for i in 0..n {
        if continues[i].is_some() {
            continue;
        }
        let mut at = Some(i);
        while let Some(x) = at {
            order.push(x);
            at = continues.iter().position(|c| *c == Some(x));
        }
    }
    // Captures of one host that overlap without being one recording, said
    // once per host (ten such files are one line, not forty-five).
    let mut overlapping: std::collections::BTreeMap<&str, std::collections::BTreeSet<usize>> =
        Default::default();
    for i in 0..n {
        for j in 0..i {
            let related = continues[i] == Some(j) || continues[j] == Some(i);
            if related || metas[i].host != metas[j].host || metas[i].host.is_empty() {
                continue;
            }
            if let (Some((a0, a1)), Some((b0, b1))) = (metas[j].span, metas[i].span) {
                if a0 <= b1 && b0 <= a1 {
                    let set = overlapping.entry(metas[i].host.as_str()).or_default();
                    set.insert(j);
                    set.insert(i);
                }
            }
        }
    }
    for (host, set) in overlapping {
        let names: Vec<String> = set
            .iter()
            .map(|&i| paths[i].display().to_string())
            .collect();
        let (list, verb) = match names.split_last() {
            Some((last, [one])) => (format!("{one} and {last}"), "both"),
            Some((last, rest)) => (format!("{} and {last}", rest.join(", ")), "all"),
            None => continue,
        };
        say!(
            "analyzer: {list} are {verb} of host {host} and overlap in time, but are not one recording: analysed separately (their alerts may repeat)"
        );
    }
    Ok(Plan {
        order,
        continues,
        has_next,
    })
}
