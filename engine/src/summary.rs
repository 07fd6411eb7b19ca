//! What `analyzer info` reports: metadata, counts by kind, time range, drops,
//! compression; computed over every chunk in parallel, skipping damaged ones.

use capture::kind::{id, kind_info};
use capture::{ArgValue, Capture};
use rayon::prelude::*;
use serde::Serialize;

use capture::text::rfc3339 as utc;

/// Events of one kind.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KindCount {
    /// Kind name (`openat`, `procexec`, ...; `kind<N>` for unknown ids).
    pub kind: String,
    /// Category (`file`, `net`, ...).
    pub category: String,
    /// Number of events.
    pub count: u64,
}

/// Drops recorded on one CPU.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CpuDrops {
    /// The CPU.
    pub cpu: u16,
    /// Events lost.
    pub lost: u64,
    /// Loss records.
    pub records: u64,
}

/// Events recorded on one CPU.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CpuEvents {
    /// The CPU.
    pub cpu: u16,
    /// Events in intact chunks.
    pub events: u64,
}

/// The summary of a capture. Its JSON form (`analyzer info --json`) is a
/// stable interface: fields are only ever added.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureSummary {
    /// The file.
    pub file: String,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Container format version.
    pub format_version: u16,
    /// Schema version.
    pub schema_version: u16,
    /// Whether the capture has a valid trailer and index.
    pub finished: bool,
    /// The trailer's chain head (hex), finished captures only.
    pub chain_head: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Kernel release.
    pub kernel_release: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// CPUs of the recorded host.
    pub num_cpus: Option<u32>,
    /// Recorder name and version.
    pub recorder: Option<String>,
    /// Recorder command line.
    pub command_line: Vec<String>,
    /// Capture filters.
    pub filters: Vec<String>,
    /// Snap length.
    pub snaplen: Option<u32>,
    /// Where the events came from.
    pub source: Option<String>,
    /// Capture start (RFC 3339, UTC).
    pub start: Option<String>,
    /// Capture end (finished captures).
    pub end: Option<String>,
    /// First event time (RFC 3339, UTC).
    pub first_event: Option<String>,
    /// Last event time.
    pub last_event: Option<String>,
    /// Seconds between first and last event.
    pub duration_s: f64,
    /// Events in intact chunks.
    pub events: u64,
    /// Chunks in the file.
    pub chunks: usize,
    /// Chunks that could not be read.
    pub damaged_chunks: usize,
    /// Events lost, by the loss records.
    pub lost_events: u64,
    /// Loss records.
    pub loss_records: u64,
    /// Drops per CPU.
    pub drops_by_cpu: Vec<CpuDrops>,
    /// Events recorded per CPU (intact chunks), in CPU order.
    pub events_by_cpu: Vec<CpuEvents>,
    /// Decompressed payload bytes of the event chunks.
    pub raw_bytes: u64,
    /// raw_bytes / file_bytes.
    pub compression_ratio: f64,
    /// file_bytes / events.
    pub bytes_per_event: f64,
    /// Processes in the start snapshot.
    pub snapshot_processes: usize,
    /// Users in the snapshot.
    pub snapshot_users: usize,
    /// Groups in the snapshot.
    pub snapshot_groups: usize,
    /// Events by kind, most frequent first.
    pub by_kind: Vec<KindCount>,
    /// Containers the capture describes (its `container` records, the
    /// latest record of each), by id.
    pub containers: Vec<ContainerSummary>,
    /// Problems met (damaged frames, missing trailer), as messages naming
    /// chunk and offset.
    pub problems: Vec<String>,
    /// For one recording of a merged capture (`analyzer merge`): its stream
    /// and the file it was merged from; absent for a recording's own file.
    pub merged_from: Option<MergedFrom>,
}

/// Where a recording of a merged capture came from (its sources entry).
#[derive(Clone, Debug, Serialize)]
pub struct MergedFrom {
    /// Stream number in the merged file (`FILE#N`).
    pub stream: u16,
    /// The source file's name as given to the merge.
    pub file: String,
    /// The source file's id (hex).
    pub file_id: String,
    /// The source's chain head (hex) when it was finished; it equals what
    /// `analyzer verify` printed for the source.
    pub chain_head: Option<String>,
    /// What of the source could not be merged.
    pub not_merged: Vec<String>,
}

/// One container of a capture, as its latest record describes it.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerSummary {
    /// Full id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Image.
    pub image: Option<String>,
    /// Runtime.
    pub runtime: Option<String>,
    /// Kubernetes namespace and pod.
    pub pod: Option<String>,
    /// Running when the capture started.
    pub initial: bool,
    /// Fields the recorder could not fill, with why: (field, reason).
    pub missing: Vec<(String, String)>,
}

/// The containers of a capture, in id order: the latest record of each.
fn containers(cap: &Capture) -> Vec<ContainerSummary> {
    let mut kinds = capture::kind::KindSet::EMPTY;
    kinds.insert(id::CONTAINER);
    let mut out: std::collections::BTreeMap<String, ContainerSummary> = Default::default();
    for i in cap.select_chunks(&kinds, 0, u64::MAX) {
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events().filter(|e| e.kind == id::CONTAINER) {
            let Some((_, k)) = crate::state::Container::from_event(&e) else {
                continue;
            };
            let initial = e.arg("initial").and_then(|v| v.as_u64()) == Some(1);
            let t = |x: &Option<std::sync::Arc<str>>| x.as_deref().map(str::to_string);
            let pod = k.pod.as_ref().map(|p| {
                format!(
                    "{}/{}",
                    p.namespace.as_deref().unwrap_or("<NA>"),
                    p.name.as_deref().unwrap_or("<NA>")
                )
            });
            let prev_initial = out.get(&*k.full_id).is_some_and(|p| p.initial);
            out.insert(
                k.full_id.to_string(),
                ContainerSummary {
                    id: k.full_id.to_string(),
                    name: t(&k.name),
                    image: t(&k.image),
                    runtime: t(&k.runtime),
                    pod,
                    initial: initial || prev_initial,
                    missing: k
                        .missing
                        .iter()
                        .map(|(f, w)| (f.to_string(), w.to_string()))
                        .collect(),
                },
            );
        }
    }
    out.into_values().collect()
}

#[derive(Default)]
struct Tally {
    kinds: Vec<u64>,
    drops: std::collections::BTreeMap<u16, (u64, u64)>,
    cpus: std::collections::BTreeMap<u16, u64>,
    events: u64,
    ts: Option<(u64, u64)>,
}

impl Tally {
    fn merge(mut self, o: Tally) -> Tally {
        if self.kinds.len() < o.kinds.len() {
            self.kinds.resize(o.kinds.len(), 0);
        }
        for (a, b) in self.kinds.iter_mut().zip(o.kinds) {
            *a += b;
        }
        for (cpu, (l, r)) in o.drops {
            let e = self.drops.entry(cpu).or_default();
            e.0 += l;
            e.1 += r;
        }
        for (cpu, n) in o.cpus {
            *self.cpus.entry(cpu).or_default() += n;
        }
        self.events += o.events;
        self.ts = match (self.ts, o.ts) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        self
    }
}

/// Counts one chunk's events by kind, its drops and its time range.
fn tally_chunk(cap: &Capture, i: usize) -> Result<Tally, capture::Error> {
    let c = cap.load_chunk(i)?;
    let mut t = Tally {
        kinds: Vec::with_capacity(256),
        ..Tally::default()
    };
    for e in c.events() {
        let k = e.kind as usize;
        if k >= t.kinds.len() {
            t.kinds.resize(k + 1, 0);
        }
        t.kinds[k] += 1;
        *t.cpus.entry(e.cpu).or_default() += 1;
        if e.kind == id::LOSS {
            let n = match e.args().next() {
                Some(Ok(ArgValue::Uint(n))) => n,
                _ => 0,
            };
            let d = t.drops.entry(e.cpu).or_default();
            d.0 += n;
            d.1 += 1;
        }
        t.ts = Some(match t.ts {
            Some((lo, hi)) => (lo.min(e.ts), hi.max(e.ts)),
            None => (e.ts, e.ts),
        });
    }
    t.events = c.len() as u64;
    Ok(t)
}

/// Summarises a capture, reading every chunk (in parallel).
pub fn summarize(cap: &Capture) -> CaptureSummary {
    // Chunks are decoded in parallel in batches that fit the decode budget,
    // so memory does not depend on what the chunks declare.
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut held = 0u64;
    for (i, e) in cap.chunks().iter().enumerate() {
        let cost = crate::run::chunk_cost(e);
        if batches.is_empty() || held + cost > crate::run::DECODE_BUDGET {
            batches.push(Vec::new());
            held = 0;
        }
        held += cost;
        if let Some(b) = batches.last_mut() {
            b.push(i);
        }
    }
    let results: Vec<Result<Tally, capture::Error>> = batches
        .iter()
        .flat_map(|b| {
            b.par_iter()
                .map(|&i| tally_chunk(cap, i))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut problems: Vec<String> = cap.problems().iter().map(|e| e.to_string()).collect();
    let mut tally = Tally::default();
    let mut damaged = 0;
    let mut raw_bytes = 0u64;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(t) => {
                raw_bytes += u64::from(cap.chunks()[i].raw_len);
                tally = tally.merge(t);
            }
            Err(e) => {
                damaged += 1;
                problems.push(e.to_string());
            }
        }
    }
    let meta = cap.meta();
    let anchor = meta.map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let mut by_kind: Vec<KindCount> = tally
        .kinds
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| {
            let info = kind_info(k as u16);
            KindCount {
                kind: info
                    .map(|i| i.name.to_string())
                    .unwrap_or_else(|| format!("kind{k}")),
                category: info
                    .map(|i| i.category.name())
                    .unwrap_or("unknown")
                    .to_string(),
                count: *n,
            }
        })
        .collect();
    by_kind.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    let (snap_p, snap_u, snap_g) = match cap.snapshot() {
        Ok(Some(s)) => (s.processes.len(), s.users.len(), s.groups.len()),
        Ok(None) => (0, 0, 0),
        Err(e) => {
            problems.push(e.to_string());
            (0, 0, 0)
        }
    };
    // A recording of a merged capture owns its chunks' bytes, not the file's.
    let file_bytes = match cap.stream() {
        Some(_) => cap.chunks().iter().map(|c| u64::from(c.frame_len)).sum(),
        None => cap.bytes().len() as u64,
    };
    let merged_from = cap.source_file().map(|s| MergedFrom {
        stream: cap.stream().unwrap_or(0),
        file: s.name.clone(),
        file_id: capture::format::hex(&s.file_id),
        chain_head: s.finished.then(|| capture::format::hex(&s.chain_head)),
        not_merged: s.damage.clone(),
    });
    let lost: u64 = tally.drops.values().map(|d| d.0).sum();
    let records: u64 = tally.drops.values().map(|d| d.1).sum();
    CaptureSummary {
        file: cap.name().to_string(),
        file_bytes,
        format_version: cap.header().format_version,
        schema_version: cap.header().schema_version,
        finished: cap.chain_head().is_some(),
        chain_head: cap.chain_head().map(|h| capture::format::hex(&h)),
        merged_from,
        hostname: meta.map(|m| m.hostname.clone()),
        kernel_release: meta.map(|m| m.kernel_release.clone()),
        arch: meta.map(|m| m.arch.clone()),
        num_cpus: meta.map(|m| m.num_cpus),
        recorder: meta.map(|m| m.recorder.clone()),
        command_line: meta.map(|m| m.command_line.clone()).unwrap_or_default(),
        filters: meta.map(|m| m.filters.clone()).unwrap_or_default(),
        snaplen: meta.map(|m| m.snaplen),
        source: meta.map(|m| m.source.clone()),
        start: meta.map(|m| utc(m.start_unix_ns)),
        end: cap.end_unix_ns().map(utc),
        first_event: tally.ts.map(|t| utc(t.0 + anchor)),
        last_event: tally.ts.map(|t| utc(t.1 + anchor)),
        duration_s: tally.ts.map(|t| (t.1 - t.0) as f64 / 1e9).unwrap_or(0.0),
        events: tally.events,
        chunks: cap.chunks().len(),
        damaged_chunks: damaged,
        lost_events: lost,
        loss_records: records,
        drops_by_cpu: tally
            .drops
            .iter()
            .map(|(cpu, (l, r))| CpuDrops {
                cpu: *cpu,
                lost: *l,
                records: *r,
            })
            .collect(),
        events_by_cpu: tally
            .cpus
            .iter()
            .map(|(cpu, n)| CpuEvents {
                cpu: *cpu,
                events: *n,
            })
            .collect(),
        raw_bytes,
        compression_ratio: if file_bytes > 0 {
            raw_bytes as f64 / file_bytes as f64
        } else {
            0.0
        },
        bytes_per_event: if tally.events > 0 {
            file_bytes as f64 / tally.events as f64
        } else {
            0.0
        },
        snapshot_processes: snap_p,
        snapshot_users: snap_u,
        snapshot_groups: snap_g,
        by_kind,
        containers: containers(cap),
        problems,
    }
}

impl std::fmt::Display for CaptureSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every string here comes from the file, which may be hostile: no
        // control character reaches the terminal.
        use capture::text::escape_controls as esc;
        let na = |o: &Option<String>| {
            o.as_deref()
                .map(|s| esc(s).into_owned())
                .unwrap_or_else(|| "<unknown>".into())
        };
        writeln!(
            f,
            "file          {} ({} bytes)",
            esc(&self.file),
            self.file_bytes
        )?;
        writeln!(
            f,
            "format        v{} schema {}, {}",
            self.format_version,
            self.schema_version,
            if self.finished {
                "finished"
            } else {
                "NOT finished (recovered by scanning)"
            }
        )?;
        if let Some(h) = &self.chain_head {
            writeln!(f, "chain head    {h}")?;
        }
        if let Some(m) = &self.merged_from {
            writeln!(
                f,
                "merged from   stream {} of this file: {} (file id {}, chain head {})",
                m.stream,
                esc(&m.file),
                m.file_id,
                m.chain_head
                    .as_deref()
                    .unwrap_or("none: it was not finished")
            )?;
            for d in &m.not_merged {
                writeln!(f, "  not merged: {}", esc(d))?;
            }
        }
        writeln!(
            f,
            "host          {}  kernel {}  arch {}  cpus {}",
            na(&self.hostname),
            na(&self.kernel_release),
            na(&self.arch),
            self.num_cpus
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into())
        )?;
        writeln!(
            f,
            "recorder      {}  source {}",
            na(&self.recorder),
            na(&self.source)
        )?;
        writeln!(f, "command line  {}", esc(&self.command_line.join(" ")))?;
        writeln!(
            f,
            "filters       {}  snaplen {}",
            if self.filters.is_empty() {
                "none".to_string()
            } else {
                esc(&self.filters.join(", ")).into_owned()
            },
            self.snaplen
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into())
        )?;
        writeln!(f, "capture       {} .. {}", na(&self.start), na(&self.end))?;
        writeln!(
            f,
            "events        {} .. {} ({:.3} s)",
            na(&self.first_event),
            na(&self.last_event),
            self.duration_s
        )?;
        writeln!(
            f,
            "count         {} events in {} chunks{}",
            self.events,
            self.chunks,
            if self.damaged_chunks > 0 {
                format!(" ({} damaged)", self.damaged_chunks)
            } else {
                String::new()
            }
        )?;
        write!(
            f,
            "drops         {} events lost in {} loss records",
            self.lost_events, self.loss_records
        )?;
        for d in &self.drops_by_cpu {
            write!(f, "; cpu{} {}", d.cpu, d.lost)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "size          {} raw bytes, ratio {:.2}, {:.2} bytes/event",
            self.raw_bytes, self.compression_ratio, self.bytes_per_event
        )?;
        writeln!(
            f,
            "snapshot      {} processes, {} users, {} groups",
            self.snapshot_processes, self.snapshot_users, self.snapshot_groups
        )?;
        if !self.containers.is_empty() {
            writeln!(f, "containers    {}", self.containers.len())?;
            for c in &self.containers {
                let o = |x: &Option<String>| {
                    x.as_deref().map(esc).unwrap_or("<NA>".into()).into_owned()
                };
                write!(
                    f,
                    "  {} {} {} {}",
                    esc(c.id.get(..12).unwrap_or(&c.id)),
                    o(&c.runtime),
                    o(&c.name),
                    o(&c.image)
                )?;
                if let Some(p) = &c.pod {
                    write!(f, " pod {}", esc(p))?;
                }
                if c.initial {
                    write!(f, " (running at start)")?;
                }
                writeln!(f)?;
                for (field, why) in &c.missing {
                    writeln!(f, "      no {}: {}", esc(field), esc(why))?;
                }
            }
        }
        writeln!(f, "by kind:")?;
        for k in &self.by_kind {
            let pct = if self.events > 0 {
                k.count as f64 * 100.0 / self.events as f64
            } else {
                0.0
            };
            writeln!(
                f,
                "  {:<16} {:<9} {:>12} {:>6.2}%",
                k.kind, k.category, k.count, pct
            )?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "problems:")?;
            for p in &self.problems {
                writeln!(f, "  {}", esc(p))?;
            }
        }
        Ok(())
    }
}
