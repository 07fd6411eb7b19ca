//! Running rules over a capture on all cores with the same result as one core.
//!
//! Pass 1 (sequential) replays only the events that change state (fork, exec,
//! exit, open, close, dup, socket calls, chdir, set*id, ...) from the start
//! snapshot and keeps a copy of the state at the start of every chunk. Pass 2
//! (parallel, one task per chunk) starts from the chunk's checkpoint, replays
//! the chunk, and evaluates the rules whose event types match each event
//! (Falco's event-type pre-filter). Alerts are concatenated in chunk order, so
//! the output is identical whatever the thread count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capture::{Capture, LoadedChunk};
use ruleset::{CompiledRule, Priority};

use crate::eval::Val;
use crate::replay::{CaptureFacts, Replay, RuleIndex};
use crate::state::State;

/// Which matching rules produce alerts for one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Matching {
    /// Every matching rule (the default: forensics wants every hit).
    #[default]
    All,
    /// Only the first matching rule in load order (Falco's default).
    First,
}

/// One alert, an owned value that names the capture it came from.
#[derive(Clone, Debug)]
pub struct Alert {
    /// The source it came from (a capture's path as given).
    pub source: Arc<str>,
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
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The source (as named in [`RunOptions::source`]).
    pub source: std::sync::Arc<str>,
    /// Alerts in event order (per event, in rule load order).
    pub alerts: Vec<Alert>,
    /// Events read.
    pub events: u64,
    /// Chunks that could not be read (their events are missing).
    pub chunk_errors: Vec<capture::Error>,
    /// Recorded gaps.
    pub gaps: Vec<Gap>,
    /// Events with more arguments than the decoder holds (their extra
    /// arguments were not read; 0 for every capture Ferret writes).
    pub truncated_args: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// How often one rule alerted, and when first and last (Unix ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleTally {
    /// Alerts.
    pub count: u64,
    /// Time of the first.
    pub first_ns: u64,
    /// Time of the last.
    pub last_ns: u64,
}

/// Alerts counted per rule, most severe priority first, then by name: what
/// every summary of a run shows (stderr, Markdown, the HTML report).
pub fn tally_by_rule<'a>(
    alerts: impl IntoIterator<Item = &'a Alert>,
) -> std::collections::BTreeMap<(Priority, &'a str), RuleTally> {
    let mut by: std::collections::BTreeMap<(Priority, &str), RuleTally> = Default::default();
    for a in alerts {
        let t = by
            .entry((a.priority, a.rule.as_str()))
            .or_insert(RuleTally {
                count: 0,
                first_ns: u64::MAX,
                last_ns: 0,
            });
        t.count += 1;
        t.first_ns = t.first_ns.min(a.time_ns);
        t.last_ns = t.last_ns.max(a.time_ns);
    }
    by
}

/// The alerts of `rules` on `cap`, grouped by event number (`evt_num`),
/// for consumers that attach them to events (the search index, exports);
/// `threads` 0 uses every core. No rules: no alerts, and no pass.
pub fn alerts_by_event(
    cap: &Capture,
    rules: &[CompiledRule],
    threads: usize,
) -> std::collections::HashMap<u64, Vec<Alert>> {
    let mut out: std::collections::HashMap<u64, Vec<Alert>> = Default::default();
    if rules.is_empty() {
        return out;
    }
    let opts = RunOptions {
        threads,
        ..Default::default()
    };
    for a in run(cap, rules, &opts).alerts {
        out.entry(a.evt_num).or_default().push(a);
    }
    out
}

/// Decompressed bytes a run keeps in flight by default (chunks loaded and
/// not yet evaluated), whatever the chunks declare and however many threads
/// run: one chunk larger than this is still read, alone
/// ([`RunOptions::decode_budget`] changes it).
pub const DECODE_BUDGET: u64 = 512 << 20;

/// Memory a loaded chunk takes: its payload and the per-event columns the
/// reader adds (timestamp and argument offset).
pub fn chunk_cost(e: &capture::schema::ChunkEntry) -> u64 {
    u64::from(e.raw_len) + 12 * u64::from(e.event_count)
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Alerting mode.
    pub matching: Matching,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Counts the events evaluated so far, for a caller that shows progress
    /// (the engine itself shows nothing and never waits on a timer).
    pub progress: Option<Arc<AtomicU64>>,
    /// The name alerts give their source (default: empty).
    pub source: Arc<str>,
    /// Decompressed bytes kept in flight at most ([`DECODE_BUDGET`] by
    /// default); one chunk larger than this is still read, alone.
    pub decode_budget: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            matching: Matching::All,
            threads: 0,
            progress: None,
            source: Arc::from(""),
            decode_budget: DECODE_BUDGET,
        }
    }
}

/// Runs `rules` (enabled ones only are expected) over a capture.
pub fn run(cap: &Capture, rules: &[CompiledRule], opts: &RunOptions) -> RunResult {
    run_from(cap, rules, opts, None).0
}

/// [`run`] starting from `start` instead of the capture's snapshot (see
/// [`replay_chunks_from`]); also returns the state after the last event.
pub fn run_from(
    cap: &Capture,
    rules: &[CompiledRule],
    opts: &RunOptions,
    start: Option<State>,
) -> (RunResult, State) {
    let facts = CaptureFacts {
        source: opts.source.clone(),
        ..CaptureFacts::of(cap, "")
    };
    run_with(rules, opts, |par, task| {
        replay_chunks_from(cap, facts, par, start, task)
    })
}

/// [`run`] on chunks as they come (a conversion handing over each chunk as
/// it seals it: [`scap::import::open_converting`]), starting from the
/// capture's start `snapshot`, with the facts its `meta` gives: the rules
/// run while the chunks are still being made. `threads: 0` means every
/// core but one (the conversion's). Also returns the state after the last
/// event.
pub fn run_feed(
    feed: std::sync::mpsc::Receiver<capture::Result<LoadedChunk>>,
    snapshot: &capture::Snapshot,
    meta: &capture::CaptureMeta,
    rules: &[CompiledRule],
    opts: &RunOptions,
) -> (RunResult, State) {
    let facts = CaptureFacts {
        anchor: meta.boot_time_unix_ns,
        hostname: meta.hostname.as_str().into(),
        source: opts.source.clone(),
    };
    let start = State::from_snapshot(snapshot);
    // The conversion feeding the chunks takes a core: "all cores" leaves
    // it one (on two cores, the rules run on one thread, which applies
    // each event's state once: 0.97 s instead of 1.15 s on the real
    // workload's .scap).
    let opts = &RunOptions {
        threads: match opts.threads {
            0 => {
                std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
            }
            n => n,
        },
        ..opts.clone()
    };
    run_with(rules, opts, |par, task| {
        replay_feed(feed, start, facts, par, task)
    })
}

/// The alerts of `rules` over a replay (`replay` runs the task on every
/// chunk and gives the results in chunk order, and the end state).
fn run_with(
    rules: &[CompiledRule],
    opts: &RunOptions,
    replay: impl FnOnce(&ParOptions, &ChunkTask<'_>) -> (ParResult<(Vec<Alert>, u64)>, State),
) -> (RunResult, State) {
    let t0 = Instant::now();
    let index = RuleIndex::new(rules, opts.matching);
    let par = ParOptions {
        threads: opts.threads,
        decode_budget: opts.decode_budget,
        progress: opts.progress.clone(),
    };
    let task = |_: usize, chunk: &LoadedChunk, replay: &mut Replay| {
        let mut alerts = Vec::new();
        let mut ev = index.evaluator();
        let before = replay.truncated_args();
        for e in chunk.events() {
            replay.evaluate(&e, &mut ev, &mut alerts);
        }
        (alerts, replay.truncated_args() - before)
    };
    let (done, end) = replay(&par, &task);
    let mut alerts = Vec::new();
    let mut truncated = 0;
    for (a, t) in done.results.into_iter().flatten() {
        alerts.extend(a);
        truncated += t;
    }
    mark_gaps(&mut alerts, &done.gaps);
    let res = RunResult {
        source: opts.source.clone(),
        alerts,
        events: done.events,
        chunk_errors: done.chunk_errors,
        gaps: done.gaps,
        truncated_args: truncated,
        elapsed: t0.elapsed(),
    };
    (res, end)
}

/// The rules' task on one chunk: its alerts and its truncated arguments.
type ChunkTask<'a> = dyn Fn(usize, &LoadedChunk, &mut Replay) -> (Vec<Alert>, u64) + Sync + 'a;

/// How [`replay_chunks`] runs.
#[derive(Clone, Debug)]
pub struct ParOptions {
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Decompressed bytes kept in flight at most (see [`DECODE_BUDGET`]).
    pub decode_budget: u64,
    /// Counts the events processed so far.
    pub progress: Option<Arc<AtomicU64>>,
}

impl Default for ParOptions {
    fn default() -> Self {
        ParOptions {
            threads: 0,
            decode_budget: DECODE_BUDGET,
            progress: None,
        }
    }
}

/// What [`replay_chunks`] gives back.
pub struct ParResult<R> {
    /// Each chunk's result, in chunk order (`None`: the chunk could not be
    /// read).
    pub results: Vec<Option<R>>,
    /// Events of the chunks that were read.
    pub events: u64,
    /// Chunks that could not be read (their events are missing).
    pub chunk_errors: Vec<capture::Error>,
    /// Loss spans the capture records.
    pub gaps: Vec<Gap>,
}

/// The parallel replay every whole-capture consumer uses (rules, the search
/// index): a sequential *state pass* walks the chunks and, as soon as the
/// state at a chunk's start is known, spawns `task(chunk index, chunk,
/// replay from that state)` on rayon with the already decompressed chunk
/// (at most two chunks in flight per thread, and `decode_budget` bytes).
/// The task replays its chunk with [`Replay::step`] or
/// [`Replay::evaluate`]; results come back in chunk order, so the outcome
/// is the same at every thread count.
pub fn replay_chunks<R: Send>(
    cap: &Capture,
    facts: CaptureFacts,
    opts: &ParOptions,
    task: impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync,
) -> ParResult<R> {
    replay_chunks_from(cap, facts, opts, None, task).0
}

/// [`replay_chunks`] starting from `start` (the state at the end of the
/// previous file of a rotated recording, which [`State::continue_with`]
/// reconciled with this file's snapshot) instead of the capture's own
/// snapshot; also returns the state after the last event, for the next
/// file.
pub fn replay_chunks_from<R: Send>(
    cap: &Capture,
    facts: CaptureFacts,
    opts: &ParOptions,
    start: Option<State>,
    task: impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync,
) -> (ParResult<R>, State) {
    let first = match start {
        Some(s) => s,
        None => State::from_snapshot(&cap.snapshot().ok().flatten().unwrap_or_default()),
    };
    let mut i = 0;
    let next = |wait: &mut dyn FnMut(u64)| {
        let entry = cap.chunks().get(i)?;
        wait(chunk_cost(entry));
        i += 1;
        Some(cap.load_chunk(i - 1))
    };
    in_pool(opts.threads, || {
        replay_chunks_inner(next, first, facts, opts, &task)
    })
}

/// Runs `work` in a rayon pool of `threads` threads (0: all cores), or on
/// this thread when no pool can be made.
fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p.install(work),
        Err(_) => work(),
    }
}

/// [`replay_chunks_from`] on chunks as they come (`feed`: a conversion
/// handing over each chunk as it seals it, see
/// [`scap::import::open_converting`]), starting from `start`: the state
/// pass takes each chunk as it arrives, so the replay runs while the
/// chunks are still being made. The feed bounds memory itself (a bounded
/// channel); the decoding budget does not apply.
pub fn replay_feed<R: Send>(
    feed: std::sync::mpsc::Receiver<capture::Result<LoadedChunk>>,
    start: State,
    facts: CaptureFacts,
    opts: &ParOptions,
    task: impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync,
) -> (ParResult<R>, State) {
    let next = move |_: &mut dyn FnMut(u64)| feed.recv().ok();
    in_pool(opts.threads, || {
        replay_chunks_inner(next, start, facts, opts, &task)
    })
}

/// The state pass and the tasks, over the chunks `next` gives in order
/// (`None` at the end); `next` calls its argument with a chunk's memory
/// cost before loading it, to wait until the budget allows.
fn replay_chunks_inner<R: Send>(
    mut next: impl FnMut(&mut dyn FnMut(u64)) -> Option<capture::Result<LoadedChunk>> + Send,
    first: State,
    facts: CaptureFacts,
    opts: &ParOptions,
    task: &(impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync),
) -> (ParResult<R>, State) {
    if rayon::current_num_threads() <= 1 {
        return replay_sequential(next, first, facts, opts, task);
    }
    let last: Mutex<Option<State>> = Mutex::new(None);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::new());
    let seen = AtomicU64::new(0);
    let gaps = Mutex::new(Vec::new());
    let chunk_errors = Mutex::new(Vec::new());
    let events = AtomicU64::new(0);
    let in_flight = std::sync::atomic::AtomicUsize::new(0);
    let in_flight_bytes = AtomicU64::new(0);
    let limit = 2 * rayon::current_num_threads();

    rayon::scope(|s| {
        s.spawn(|s| {
            let mut state = Replay::from_state(first, facts.clone());
            // Memory: wait (running queued tasks on this thread) until a
            // chunk of this cost fits in the budget.
            let mut wait = |cost: u64| loop {
                let held = in_flight_bytes.load(Ordering::Acquire);
                if held == 0 || held + cost <= opts.decode_budget {
                    break;
                }
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::sleep(Duration::from_micros(200));
                }
            };
            for (i, loaded) in std::iter::from_fn(|| next(&mut wait)).enumerate() {
                seen.fetch_add(1, Ordering::Relaxed);
                let chunk = match loaded {
                    Ok(c) => Arc::new(c),
                    Err(err) => {
                        chunk_errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(err);
                        continue;
                    }
                };
                // Backpressure: at most two chunks in flight per thread, so
                // memory stays bounded. Waiting runs queued work on this
                // thread (no deadlock with a single thread).
                while in_flight.load(Ordering::Acquire) >= limit {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                let cost = chunk.cost();
                in_flight.fetch_add(1, Ordering::AcqRel);
                in_flight_bytes.fetch_add(cost, Ordering::AcqRel);
                let checkpoint = state.clone();
                let (c2, results, in_flight, in_flight_bytes, events) = (
                    chunk.clone(),
                    &results,
                    &in_flight,
                    &in_flight_bytes,
                    &events,
                );
                s.spawn(move |_| {
                    let mut checkpoint = checkpoint;
                    let r = task(i, &c2, &mut checkpoint);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, r));
                    events.fetch_add(c2.len() as u64, Ordering::Relaxed);
                    if let Some(p) = &opts.progress {
                        p.fetch_add(c2.len() as u64, Ordering::Relaxed);
                    }
                    drop(c2);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    in_flight_bytes.fetch_sub(cost, Ordering::AcqRel);
                });
                let mut local_gaps = Vec::new();
                state.advance_chunk(&chunk, |e| local_gaps.push(Gap::of(e)));
                gaps.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(local_gaps);
            }
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.state().clone());
        });
    });
    let end = last
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_default();
    let mut by_chunk: Vec<Option<R>> = (0..seen.into_inner()).map(|_| None).collect();
    for (i, r) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        by_chunk[i] = Some(r);
    }
    let par = ParResult {
        results: by_chunk,
        events: events.into_inner(),
        chunk_errors: chunk_errors.into_inner().unwrap_or_else(|p| p.into_inner()),
        gaps: gaps.into_inner().unwrap_or_else(|p| p.into_inner()),
    };
    (par, end)
}

/// [`replay_chunks_inner`] on one thread: each chunk's task replays it
/// from the state the previous chunk left, so the state is applied once
/// (no state pass, no checkpoints); same results.
fn replay_sequential<R: Send>(
    mut next: impl FnMut(&mut dyn FnMut(u64)) -> Option<capture::Result<LoadedChunk>> + Send,
    first: State,
    facts: CaptureFacts,
    opts: &ParOptions,
    task: &(impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync),
) -> (ParResult<R>, State) {
    let mut replay = Replay::from_state(first, facts);
    let mut par = ParResult {
        results: Vec::new(),
        events: 0,
        chunk_errors: Vec::new(),
        gaps: Vec::new(),
    };
    // One chunk at a time: the budget never waits.
    while let Some(loaded) = next(&mut |_| {}) {
        let i = par.results.len();
        let chunk = match loaded {
            Ok(c) => c,
            Err(err) => {
                par.chunk_errors.push(err);
                par.results.push(None);
                continue;
            }
        };
        // Loss records, found from the kind column without decoding the
        // other events.
        let losses = chunk.kinds().enumerate();
        par.gaps.extend(
            losses
                .filter(|(_, kind)| *kind == capture::kind::id::LOSS)
                .filter_map(|(k, _)| chunk.event(k))
                .map(|e| Gap::of(&e)),
        );
        par.results.push(Some(task(i, &chunk, &mut replay)));
        par.events += chunk.len() as u64;
        if let Some(p) = &opts.progress {
            p.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    }
    (par, replay.state().clone())
}

/// The alerts of several runs (several captures analysed as one: rotated
/// files of one recording, or recordings of several hosts) in wall-clock
/// order; alerts of the same instant keep their order and each names its
/// source capture.
pub fn merge_by_time<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Vec<&'a Alert> {
    let mut all: Vec<&Alert> = results.into_iter().flat_map(|r| &r.alerts).collect();
    all.sort_by_key(|a| a.time_ns);
    all
}

/// Marks the alerts whose event lies inside a loss span.
pub fn mark_gaps(alerts: &mut [Alert], gaps: &[Gap]) {
    for a in alerts {
        a.in_gap = gaps.iter().any(|g| g.first_ts <= a.ts && a.ts <= g.last_ts);
    }
}

impl Gap {
    /// The span a loss record describes.
    pub fn of(e: &capture::EventRef<'_>) -> Gap {
        let g = |n: &str| e.arg(n).and_then(|v| v.as_u64()).unwrap_or(0);
        Gap {
            cpu: e.cpu,
            count: g("count"),
            first_ts: g("first_ts"),
            last_ts: g("last_ts").max(e.ts),
        }
    }
}
