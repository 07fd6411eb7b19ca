//! Running rules over a capture on all cores with the same result as one core.
//!
//! Pass 1 (sequential) replays only the events that change state (fork, exec,
//! exit, open, close, dup, socket calls, chdir, set*id, ...) from the start
//! snapshot and keeps a copy of the state at the start of every chunk. Pass 2
//! (parallel, one task per chunk) starts from the chunk's checkpoint, replays
//! the chunk, and evaluates the rules whose event types match each event
//! (Falco's event-type pre-filter). Alerts are concatenated in chunk order, so
//! the output is identical whatever the thread count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capture::kind::{id, kind_by_name, KindSet};
use capture::{Capture, EventRef, LoadedChunk};

use crate::eval::{format_output_in, matches_in, Env, EvCtx, Val};
use crate::rules::{CompiledRule, Priority};
use crate::state::State;

/// Which matching rules produce alerts for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Matching {
    /// Every matching rule (the default: forensics wants every hit).
    All,
    /// Only the first matching rule in load order (Falco's default).
    First,
}

/// One alert.
#[derive(Clone, Debug)]
pub struct Alert {
    /// Event number (1-based, like sysdig's evt.num).
    pub evt_num: u64,
    /// Event timestamp, event clock.
    pub ts: u64,
    /// Wall-clock time (Unix ns).
    pub time_ns: u64,
    /// Rule name.
    pub rule: String,
    /// Rule priority.
    pub priority: Priority,
    /// The formatted output.
    pub output: String,
    /// Fields named in the output, with their values.
    pub output_fields: Vec<(String, Val<'static>)>,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Whether the event lies inside a span where events were lost.
    pub in_gap: bool,
}

/// A span of lost events, from a loss record.
#[derive(Clone, Copy, Debug)]
pub struct Gap {
    /// CPU.
    pub cpu: u16,
    /// Events lost.
    pub count: u64,
    /// First timestamp of the span.
    pub first_ts: u64,
    /// Last timestamp of the span.
    pub last_ts: u64,
}

/// The result of a run.
pub struct RunResult {
    /// Alerts in event order (per event, in rule load order).
    pub alerts: Vec<Alert>,
    /// Events read.
    pub events: u64,
    /// Chunks that could not be read (their events are missing).
    pub chunk_errors: Vec<capture::Error>,
    /// Recorded gaps.
    pub gaps: Vec<Gap>,
    /// Wall time.
    pub elapsed: Duration,
}

fn state_kinds() -> KindSet {
    [
        id::PROC_FORK,
        id::PROC_EXEC,
        id::PROC_EXIT,
        id::PRCTL,
        id::CLONE,
        id::CLONE3,
        id::FORK,
        id::VFORK,
        id::EXECVE,
        id::EXECVEAT,
        id::OPEN,
        id::OPENAT,
        id::OPENAT2,
        id::CREAT,
        id::CLOSE,
        id::DUP,
        id::DUP2,
        id::DUP3,
        id::FCNTL,
        id::SOCKET,
        id::SOCKETPAIR,
        id::CONNECT,
        id::ACCEPT,
        id::ACCEPT4,
        id::SENDTO,
        id::RECVFROM,
        id::SENDMSG,
        id::RECVMSG,
        id::BIND,
        id::LISTEN,
        id::PIPE,
        id::PIPE2,
        id::MEMFD_CREATE,
        id::CHDIR,
        id::FCHDIR,
        id::SETUID,
        id::SETREUID,
        id::SETRESUID,
        id::SETGID,
        id::SETREGID,
        id::SETRESGID,
        id::SIGNALFD,
        id::CONTAINER,
    ]
    .into_iter()
    .collect()
}

/// Rules to evaluate per event kind, in load order.
fn prefilter(rules: &[CompiledRule]) -> Vec<Vec<usize>> {
    let mut by_kind = vec![Vec::new(); 256];
    let internal = [id::LOSS, id::PROC_FORK, id::PROC_EXEC];
    for (i, r) in rules.iter().enumerate() {
        match &r.evttypes {
            Some(names) => {
                for n in names {
                    if let Some(k) = kind_by_name(n) {
                        by_kind[k.id as usize].push(i);
                    } else if capture::syscalls::x86_64_number(n).is_some()
                        && !by_kind[id::GENERIC as usize].contains(&i)
                    {
                        // Calls without a kind of their own arrive as
                        // generic events named by their number.
                        by_kind[id::GENERIC as usize].push(i);
                    }
                }
            }
            None => {
                for (k, v) in by_kind.iter_mut().enumerate() {
                    if !internal.contains(&(k as u16)) {
                        v.push(i);
                    }
                }
            }
        }
    }
    for v in &mut by_kind {
        v.sort_unstable();
        v.dedup();
    }
    by_kind
}

/// Decompressed bytes a run keeps in flight at most (chunks loaded and not
/// yet evaluated), whatever the chunks declare and however many threads
/// run: one chunk larger than this is still read, alone.
pub const DECODE_BUDGET: u64 = 512 << 20;

/// Memory a loaded chunk takes: its payload and the per-event columns the
/// reader adds (timestamp and argument offset).
pub(crate) fn chunk_cost(e: &capture::schema::ChunkEntry) -> u64 {
    u64::from(e.raw_len) + 12 * u64::from(e.event_count)
}

/// Options of a run.
pub struct RunOptions {
    /// Alerting mode.
    pub matching: Matching,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Show progress on stderr.
    pub progress: bool,
}

/// Runs `rules` (enabled ones only are expected) over a capture.
pub fn run(cap: &Capture, rules: &[CompiledRule], opts: &RunOptions) -> RunResult {
    let t0 = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .ok();
    let work = || run_inner(cap, rules, opts);
    let mut r = match pool {
        Some(p) => p.install(work),
        None => work(),
    };
    r.elapsed = t0.elapsed();
    r
}

/// Alerts of one chunk and its event count.
type ChunkResult = (Vec<Alert>, u64);

fn run_inner(cap: &Capture, rules: &[CompiledRule], opts: &RunOptions) -> RunResult {
    let meta = cap.meta();
    let anchor = meta.map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let hostname: Arc<str> = meta.map(|m| m.hostname.as_str()).unwrap_or("").into();
    let snapshot = cap.snapshot().ok().flatten().unwrap_or_default();
    let by_kind = prefilter(rules);
    let sk = state_kinds();
    let n = cap.chunks().len();
    let total = cap.event_count();
    let done = AtomicU64::new(0);
    let results: Vec<Mutex<Option<ChunkResult>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let gaps = Mutex::new(Vec::new());
    let chunk_errors = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let in_flight = std::sync::atomic::AtomicUsize::new(0);
    let in_flight_bytes = AtomicU64::new(0);
    let limit = 2 * rayon::current_num_threads().max(1);

    // Evaluates one chunk from the state at its start.
    let eval_chunk = |chunk: &LoadedChunk, mut st: State| -> (Vec<Alert>, u64) {
        let mut alerts = Vec::new();
        for e in chunk.events() {
            let stateful = sk.contains(e.kind);
            if stateful {
                st.apply(&e);
            }
            let cands = &by_kind[(e.kind as usize).min(255)];
            // Containers already running when the capture began are state,
            // as in Falco, which learns them without a container event.
            let initial =
                e.kind == id::CONTAINER && e.arg("initial").and_then(|v| v.as_u64()) == Some(1);
            if !cands.is_empty() && !initial {
                let env = Env {
                    state: &st,
                    anchor,
                    hostname: &hostname,
                };
                let cx = EvCtx::new(&e, &env);
                for &ri in cands {
                    let r = &rules[ri];
                    if matches_in(&r.program, &cx) {
                        alerts.push(alert(r, &e, &cx, &env));
                        if opts.matching == Matching::First {
                            break;
                        }
                    }
                }
            }
            if stateful {
                st.retire(&e);
            }
        }
        done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        (alerts, chunk.len() as u64)
    };

    std::thread::scope(|ts| {
        // The progress line; woken at the end, so a short run never waits
        // on its timer.
        let progress = ts.spawn(|| {
            let mut p = crate::progress::Progress::new("rules: events", Some(total), opts.progress);
            while !stop.load(Ordering::Acquire) {
                p.tick(done.load(Ordering::Relaxed), "");
                std::thread::park_timeout(Duration::from_millis(100));
            }
            p.finish();
        });
        // Pass 1 walks the chunks in order, keeping the state; as soon as the
        // state at a chunk's start is known, that chunk's evaluation is
        // spawned (pass 2), sharing the decompressed chunk.
        rayon::scope(|s| {
            s.spawn(|s| {
                let mut state = State::from_snapshot(&snapshot);
                for i in 0..n {
                    // Memory: wait (running queued evaluations on this
                    // thread) until the chunk fits in the budget.
                    let cost = chunk_cost(&cap.chunks()[i]);
                    loop {
                        let held = in_flight_bytes.load(Ordering::Acquire);
                        if held == 0 || held + cost <= DECODE_BUDGET {
                            break;
                        }
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                    let chunk = match cap.load_chunk(i) {
                        Ok(c) => Arc::new(c),
                        Err(err) => {
                            chunk_errors
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(err);
                            continue;
                        }
                    };
                    // Backpressure: at most two chunks in flight per thread,
                    // so memory stays bounded. Waiting runs queued work on
                    // this thread (no deadlock with a single thread).
                    while in_flight.load(Ordering::Acquire) >= limit {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                    in_flight.fetch_add(1, Ordering::AcqRel);
                    in_flight_bytes.fetch_add(cost, Ordering::AcqRel);
                    let checkpoint = state.clone();
                    let (c2, results, eval_chunk, in_flight, in_flight_bytes) = (
                        chunk.clone(),
                        &results,
                        &eval_chunk,
                        &in_flight,
                        &in_flight_bytes,
                    );
                    s.spawn(move |_| {
                        let r = eval_chunk(&c2, checkpoint);
                        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                        drop(c2);
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                        in_flight_bytes.fetch_sub(cost, Ordering::AcqRel);
                    });
                    let mut local_gaps = Vec::new();
                    for (k, kind) in chunk.kinds().enumerate() {
                        if kind == id::LOSS || sk.contains(kind) {
                            let Some(e) = chunk.event(k) else { continue };
                            if kind == id::LOSS {
                                let g = |n: &str| e.arg(n).and_then(|v| v.as_u64()).unwrap_or(0);
                                local_gaps.push(Gap {
                                    cpu: e.cpu,
                                    count: g("count"),
                                    first_ts: g("first_ts"),
                                    last_ts: g("last_ts").max(e.ts),
                                });
                            } else {
                                state.apply(&e);
                                state.retire(&e);
                            }
                        }
                    }
                    gaps.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(local_gaps);
                }
            });
        });
        stop.store(true, Ordering::Release);
        progress.thread().unpark();
    });
    let per_chunk: Vec<(Vec<Alert>, u64)> = results
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    let events = per_chunk.iter().map(|(_, n)| n).sum();
    let gaps = gaps.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut alerts: Vec<Alert> = per_chunk.into_iter().flat_map(|(a, _)| a).collect();
    for a in &mut alerts {
        a.in_gap = gaps.iter().any(|g| g.first_ts <= a.ts && a.ts <= g.last_ts);
    }
    RunResult {
        alerts,
        events,
        chunk_errors: chunk_errors.into_inner().unwrap_or_else(|p| p.into_inner()),
        gaps,
        elapsed: Duration::ZERO,
    }
}

fn alert(r: &CompiledRule, e: &EventRef<'_>, cx: &EvCtx<'_>, env: &Env<'_>) -> Alert {
    let (output, output_fields) = format_output_in(&r.output, cx);
    Alert {
        evt_num: e.seq + 1,
        ts: e.ts,
        time_ns: e.ts.wrapping_add(env.anchor),
        rule: r.name.clone(),
        priority: r.priority,
        output,
        output_fields,
        tags: r.tags.clone(),
        in_gap: false,
    }
}
