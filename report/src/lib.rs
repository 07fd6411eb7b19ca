//! One self-contained HTML incident report of captures and their alerts,
//! for the people a responder hands findings to: the captures' facts and
//! integrity (chain head, damage, recorded gaps), alerts by priority and
//! rule, a timeline of events and alerts, the process tree of the alerting
//! processes with their alerts, the most used files and connections, the
//! containers, and each alert's evidence (event, process ancestry, fd,
//! container and pod).
//!
//! The file holds everything it shows (inline CSS and SVG, no script, no
//! network) and prints readably (no interactive part hides content).
//!
//! [`evidence`] is the `append_output` entry that makes every alert carry
//! its evidence fields; [`gather`] reads a capture's activity in one
//! parallel replay; [`html`] writes the document. Nothing here prints.

mod html;

use std::collections::BTreeMap;

use capture::Capture;
use engine::eval::{format_output_in, Val};
use engine::replay::CaptureFacts;
use rustc_hash::FxHashMap;

pub use html::html;

/// The fields every alert of a report carries as evidence.
pub const EVIDENCE_FIELDS: &[&str] = &[
    "evt.num",
    "evt.type",
    "evt.args",
    "proc.pid",
    "proc.name",
    "proc.exepath",
    "proc.cmdline",
    "proc.cwd",
    "user.name",
    "proc.ppid",
    "proc.apid[1]",
    "proc.acmdline[1]",
    "proc.aname[1]",
    "proc.apid[2]",
    "proc.aname[2]",
    "proc.acmdline[2]",
    "proc.apid[3]",
    "proc.aname[3]",
    "proc.acmdline[3]",
    "proc.apid[4]",
    "proc.aname[4]",
    "proc.acmdline[4]",
    "proc.apid[5]",
    "proc.aname[5]",
    "proc.acmdline[5]",
    "fd.name",
    "fd.type",
    "container.id",
    "container.name",
    "container.image",
    "k8s.ns.name",
    "k8s.pod.name",
];

/// Ancestors shown per alert at most (the report's process tree starts
/// from the oldest of them).
pub const ANCESTORS: usize = 5;

/// The `append_output` entry that adds [`EVIDENCE_FIELDS`] to every rule's
/// alerts (their JSON `output_fields`; the output text is unchanged).
pub fn evidence() -> ruleset::AppendOutput {
    ruleset::AppendOutput {
        extra_fields: EVIDENCE_FIELDS
            .iter()
            .map(|f| (f.to_string(), format!("%{f}")))
            .collect(),
        ..Default::default()
    }
}

/// How much one file or connection was used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Use {
    /// Successful calls.
    pub count: u64,
    /// Processes (names) that made them, at most [`Use::MAX_PROCS`].
    pub procs: Vec<String>,
}

impl Use {
    /// Process names kept per entry.
    pub const MAX_PROCS: usize = 8;

    fn add(&mut self, n: u64, proc_name: &str) {
        self.count += n;
        if self.procs.len() < Self::MAX_PROCS && !self.procs.iter().any(|p| p == proc_name) {
            self.procs.push(proc_name.to_string());
        }
    }
}

/// Bars of the timeline at most.
pub const BINS: u64 = 240;

/// The time captures cover (Unix ns, first and last event), from their
/// chunk index: nothing is decompressed.
pub fn time_range(caps: &[&Capture]) -> Option<(u64, u64)> {
    let mut r: Option<(u64, u64)> = None;
    for cap in caps {
        let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
        for c in cap.chunks().iter().filter(|c| c.event_count > 0) {
            let (lo, hi) = (c.ts_min.wrapping_add(anchor), c.ts_max.wrapping_add(anchor));
            r = Some(match r {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
    }
    r
}

/// The width of a timeline bar over `range`: [`BINS`] bars at most, one
/// millisecond at least.
pub fn bin_width(range: Option<(u64, u64)>) -> u64 {
    match range {
        Some((lo, hi)) => ((hi - lo) / BINS + 1).max(1_000_000),
        None => 1_000_000_000,
    }
}

/// What a capture's events show beyond alerts.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// Width of a timeline bar (ns).
    pub bin_ns: u64,
    /// Events per bar: key is Unix ns / `bin_ns`.
    pub per_bin: BTreeMap<u64, u64>,
    /// Files opened successfully, by path.
    pub files: FxHashMap<String, Use>,
    /// Connections made or accepted, by tuple.
    pub connections: FxHashMap<String, Use>,
}

impl Activity {
    fn merge(&mut self, o: Activity) {
        for (s, n) in o.per_bin {
            *self.per_bin.entry(s).or_default() += n;
        }
        for (into, from) in [
            (&mut self.files, o.files),
            (&mut self.connections, o.connections),
        ] {
            for (k, u) in from {
                let e = into.entry(k).or_default();
                for p in &u.procs {
                    e.add(0, p);
                }
                e.count += u.count;
            }
        }
    }

    /// The `n` most used entries of `m`, most used first (ties by name).
    pub fn top(m: &FxHashMap<String, Use>, n: usize) -> Vec<(&str, &Use)> {
        let mut v: Vec<(&str, &Use)> = m.iter().map(|(k, u)| (k.as_str(), u)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

/// Reads a capture's activity (events per bar of `bin_ns`, files opened,
/// connections) in one parallel replay with process and fd state;
/// `threads` 0 uses every core. Damaged chunks are skipped (their events
/// are missing from the counts, as the report says).
pub fn gather(cap: &Capture, source: &str, threads: usize, bin_ns: u64) -> Activity {
    let bin_ns = bin_ns.max(1);
    let defs = ruleset::load::Definitions::default();
    let Ok((parts, _)) = ruleset::compile::compile_format(&defs, "report", "%fd.name %proc.name")
    else {
        return Activity {
            bin_ns,
            ..Activity::default()
        };
    };
    let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let opts = engine::run::ParOptions {
        threads,
        ..Default::default()
    };
    let done = engine::run::replay_chunks(
        cap,
        CaptureFacts::of(cap, source),
        &opts,
        |_, chunk, replay| {
            let mut a = Activity::default();
            let mut last = (u64::MAX, 0u64);
            for e in chunk.events() {
                let sec = e.ts.wrapping_add(anchor) / bin_ns;
                if sec == last.0 {
                    last.1 += 1;
                } else {
                    if last.1 > 0 {
                        *a.per_bin.entry(last.0).or_default() += last.1;
                    }
                    last = (sec, 1);
                }
                use capture::kind::id;
                let file = matches!(e.kind, id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT);
                let conn = matches!(e.kind, id::CONNECT | id::ACCEPT | id::ACCEPT4);
                if !(file || conn) || e.ret < 0 {
                    replay.advance(&e);
                    continue;
                }
                let vals = replay.step(&e, |cx| format_output_in(&parts, cx).1);
                let (Some((_, Val::Str(name))), Some((_, pname))) = (vals.first(), vals.get(1))
                else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let into = if file {
                    &mut a.files
                } else {
                    &mut a.connections
                };
                into.entry(name.to_string())
                    .or_default()
                    .add(1, &pname.render());
            }
            if last.1 > 0 {
                *a.per_bin.entry(last.0).or_default() += last.1;
            }
            a
        },
    );
    let mut all = Activity {
        bin_ns,
        ..Activity::default()
    };
    for r in done.results.into_iter().flatten() {
        all.merge(r);
    }
    all
}

/// One capture in the report.
pub struct CaptureSection<'a> {
    /// Its facts (`analyzer info`).
    pub summary: &'a engine::summary::CaptureSummary,
    /// Recorded gaps.
    pub gaps: &'a [engine::run::Gap],
    /// Why chunks could not be read.
    pub damage: Vec<String>,
    /// Its activity.
    pub activity: &'a Activity,
    /// The capture's clock anchor (boot time, Unix ns) for gap times.
    pub anchor: u64,
}

/// Everything the report shows.
pub struct Input<'a> {
    /// Title (the incident's name, or the capture's).
    pub title: String,
    /// When the report was made (Unix ns).
    pub generated_ns: u64,
    /// The rule files used.
    pub rule_files: Vec<String>,
    /// The enabled rules.
    pub rules: &'a [ruleset::CompiledRule],
    /// The captures.
    pub captures: Vec<CaptureSection<'a>>,
    /// Every alert, with evidence ([`evidence`]).
    pub alerts: Vec<&'a engine::Alert>,
    /// Alerts whose evidence is written out in full at most (the rest are
    /// counted in the tables).
    pub evidence_limit: usize,
}
