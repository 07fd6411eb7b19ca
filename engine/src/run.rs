//! Running rules over a capture on all cores with the same result as one core.
//!
//! The chunks are cut into one run of consecutive chunks per thread, each
//! replayed in order (apply, evaluate, retire) from the state at its
//! start. The first run starts from the snapshot; a sequential state pass
//! replays only the events that change state (fork, exec, exit, open,
//! close, dup, socket calls, chdir, set*id, ...) to find where the next
//! runs start, and its own thread takes the last run. Rules are
//! pre-filtered by event type (Falco's pre-filter). Alerts are concatenated
//! in chunk order, so the output is identical whatever the thread count.

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
    let opts = &RunOptions {
        threads: feed_threads(opts.threads),
        ..opts.clone()
    };
    run_with(rules, opts, |par, task| {
        replay_feed(feed, start, facts, par, task)
    })
}

/// The threads [`run_feed`] replays on for `threads` (0: all cores). The
/// conversion feeding the chunks takes a core: "all cores" leaves it one
/// (on two cores, the rules run on one thread, which applies each event's
/// state once: 0.97 s instead of 1.15 s on the real workload's .scap).
pub fn feed_threads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
        n => n,
    }
}

/// How a conversion should hand its chunks to a [`run_feed`] on `threads`
/// (0: all cores): small chunks to one thread, large ones to several.
pub fn feed_handover(threads: usize) -> scap::import::Handover {
    if feed_threads(threads) <= 1 {
        scap::import::Handover::SEQUENTIAL
    } else {
        scap::import::Handover::PARALLEL
    }
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
    /// The runs of chunks replayed one after the other from one state, in
    /// order: one per thread that took part in a parallel replay of a
    /// capture, the whole capture on one thread, one per chunk when a feed
    /// is replayed in parallel (each chunk from its checkpoint).
    pub runs: Vec<std::ops::Range<usize>>,
}

/// The parallel replay every whole-capture consumer uses (rules, the search
/// index, exports): `task(chunk index, chunk, replay)` is called on every
/// chunk, with the replay standing at the chunk's start; the task replays
/// its chunk with [`Replay::step`] or [`Replay::evaluate`]. Each thread
/// replays a run of consecutive chunks from the state at its start, which
/// a sequential state pass finds (see [`ParResult::runs`]); results come
/// back in chunk order, so the outcome is the same at every thread count.
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
    in_pool(opts.threads, |threads| {
        if threads <= 1 || cap.chunks().len() <= 1 {
            let mut chunks = 0..cap.chunks().len();
            let next = |_: &mut dyn FnMut(u64)| chunks.next().map(|i| cap.load_chunk(i));
            replay_sequential(next, first, facts, opts, &task)
        } else {
            replay_runs(cap, first, facts, opts, &task)
        }
    })
}

/// What the threads of a parallel replay gather, chunk by chunk, in
/// whatever order the chunks finish; [`Gathered::finish`] puts it in chunk
/// order.
struct Gathered<'o, R> {
    results: Mutex<Vec<(usize, R)>>,
    gaps: Mutex<Vec<(usize, Vec<Gap>)>>,
    chunk_errors: Mutex<Vec<(usize, capture::Error)>>,
    events: AtomicU64,
    progress: Option<&'o Arc<AtomicU64>>,
}

impl<'o, R> Gathered<'o, R> {
    fn new(opts: &'o ParOptions) -> Self {
        Gathered {
            results: Mutex::default(),
            gaps: Mutex::default(),
            chunk_errors: Mutex::default(),
            events: AtomicU64::new(0),
            progress: opts.progress.as_ref(),
        }
    }

    /// Chunk `i`'s result; `events`: the chunk's events, counted and
    /// shown as progress.
    fn result(&self, i: usize, r: R, events: usize) {
        relock(&self.results).push((i, r));
        self.events.fetch_add(events as u64, Ordering::Relaxed);
        if let Some(p) = self.progress {
            p.fetch_add(events as u64, Ordering::Relaxed);
        }
    }

    /// Chunk `i`'s loss spans.
    fn gaps(&self, i: usize, gaps: Vec<Gap>) {
        if !gaps.is_empty() {
            relock(&self.gaps).push((i, gaps));
        }
    }

    /// Chunk `i` could not be read.
    fn error(&self, i: usize, err: capture::Error) {
        relock(&self.chunk_errors).push((i, err));
    }

    /// Everything in chunk order, for `n` chunks replayed in `runs`.
    fn finish(self, n: usize, runs: Vec<std::ops::Range<usize>>) -> ParResult<R> {
        fn inner<T>(m: Mutex<T>) -> T {
            m.into_inner().unwrap_or_else(|p| p.into_inner())
        }
        let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
        for (i, r) in inner(self.results) {
            results[i] = Some(r);
        }
        let mut gaps: Vec<(usize, Vec<Gap>)> = inner(self.gaps);
        gaps.sort_by_key(|(i, _)| *i);
        let mut chunk_errors: Vec<(usize, capture::Error)> = inner(self.chunk_errors);
        chunk_errors.sort_by_key(|(i, _)| *i);
        ParResult {
            results,
            events: self.events.into_inner(),
            chunk_errors: chunk_errors.into_iter().map(|(_, e)| e).collect(),
            gaps: gaps.into_iter().flat_map(|(_, g)| g).collect(),
            runs,
        }
    }
}

fn relock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Chunks the state pass keeps for the first run at most.
const HANDED: usize = 4;

/// One run of consecutive chunks, replayed by one thread from one state:
/// the next chunk it takes and the first it leaves (its end), which the
/// state pass may lower while the run goes.
struct RunSpan {
    start: usize,
    next: usize,
    end: usize,
}

/// The parallel replay of a capture (random access to its chunks): the
/// chunks are cut into a few runs of consecutive chunks, one per thread,
/// each replayed in order from the state at its start, so that every
/// event's state is applied once by the run that holds it. A state pass
/// (this thread, [`Replay::advance_chunk`]: state changes only, about a
/// quarter of a run's cost per chunk) walks from the start and finds the
/// state where the next run begins; it cuts the open run where the events
/// left after the cut, shared by the threads not yet running, weigh no
/// more than what the open run still has to do before the cut. The last
/// run is the pass's own thread. On two threads that is one run from the
/// start and one from about the middle; the pass covers only the first.
fn replay_runs<R: Send>(
    cap: &Capture,
    first: State,
    facts: CaptureFacts,
    opts: &ParOptions,
    task: &(impl Fn(usize, &LoadedChunk, &mut Replay) -> R + Sync),
) -> (ParResult<R>, State) {
    let n = cap.chunks().len();
    let threads = rayon::current_num_threads().max(2);
    // Events before each chunk: the work left in a span is weighed in
    // events, chunks being of unequal sizes.
    let before: Vec<u64> = std::iter::once(0)
        .chain(cap.chunks().iter().scan(0u64, |acc, c| {
            *acc += u64::from(c.event_count);
            Some(*acc)
        }))
        .collect();
    let gathered = Gathered::new(opts);
    let last: Mutex<Option<State>> = Mutex::new(None);
    let spans: Vec<Mutex<RunSpan>> = (0..threads)
        .map(|_| {
            Mutex::new(RunSpan {
                start: 0,
                next: 0,
                end: 0,
            })
        })
        .collect();
    let held = AtomicU64::new(0);
    // Chunks the pass loaded for the first run, which takes the same
    // chunks after it (their cost stays held until that run is done).
    let handed: Mutex<std::collections::VecDeque<(usize, u64, LoadedChunk)>> = Mutex::default();
    let release = |cost: u64| {
        held.fetch_sub(cost, Ordering::AcqRel);
    };
    // Loads chunk `i` within the decoding budget. Waiting for room, the
    // chunks handed over are let go (they are loaded again when their
    // turn comes), so nothing ever waits on them.
    let load = |i: usize| -> (u64, capture::Result<LoadedChunk>) {
        let cost = cap.chunks().get(i).map_or(0, chunk_cost);
        loop {
            let h = held.load(Ordering::Acquire);
            if h == 0 || h + cost <= opts.decode_budget {
                if held
                    .compare_exchange(h, h + cost, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    break;
                }
                continue;
            }
            let dropped: Vec<_> = relock(&handed).drain(..).collect();
            if dropped.is_empty() {
                std::thread::sleep(Duration::from_micros(200));
            }
            for (_, cost, _) in dropped {
                release(cost);
            }
        }
        (cost, cap.load_chunk(i))
    };
    // Replays the run of span `k` from `state`.
    let run_span = |k: usize, state: State| {
        let mut replay = Replay::from_state(state, facts.clone());
        loop {
            let i = {
                let mut sp = relock(&spans[k]);
                if sp.next >= sp.end {
                    break;
                }
                sp.next += 1;
                sp.next - 1
            };
            let mut kept = None;
            if k == 0 {
                let mut h = relock(&handed);
                while let Some((j, cost, _)) = h.front() {
                    if *j > i {
                        break;
                    }
                    if *j == i {
                        kept = h.pop_front().map(|(_, cost, c)| (cost, Ok(c)));
                        break;
                    }
                    release(*cost);
                    h.pop_front();
                }
            }
            let (cost, loaded) = kept.unwrap_or_else(|| load(i));
            match loaded {
                Ok(chunk) => {
                    gathered.gaps(i, Gap::all_in(&chunk).collect());
                    gathered.result(i, task(i, &chunk, &mut replay), chunk.len());
                }
                Err(err) => gathered.error(i, err),
            }
            release(cost);
        }
        if relock(&spans[k]).end == n {
            *relock(&last) = Some(replay.state().clone());
        }
    };

    rayon::scope(|s| {
        let mut pass = Replay::from_state(first.clone(), facts.clone());
        *relock(&spans[0]) = RunSpan {
            start: 0,
            next: 0,
            end: n,
        };
        let run_span = &run_span;
        s.spawn(move |_| run_span(0, first));
        let mut open = 0;
        for p in 1..n {
            // The pass takes chunk `p - 1`, to stand at the start of `p`.
            let (cost, loaded) = load(p - 1);
            if let Ok(chunk) = loaded {
                pass.advance_chunk(&chunk, |_| {});
                // The first run has yet to take this chunk: it is handed
                // over (a few at most) instead of decompressed twice.
                let sp = relock(&spans[0]);
                let mut h = relock(&handed);
                if open == 0 && sp.next < p && h.len() < HANDED {
                    h.push_back((p - 1, cost, chunk));
                } else {
                    release(cost);
                }
            } else {
                release(cost);
            }
            let waiting = threads - open - 1;
            let mut sp = relock(&spans[open]);
            // The open run may be ahead of the pass (chunks that cost it
            // little): no cut until the pass is ahead again. Its chunk in
            // progress counts for half.
            if sp.next >= p {
                continue;
            }
            let current = sp.next.checked_sub(1).map_or(0, |c| {
                if c >= sp.start {
                    (before[c + 1] - before[c]) / 2
                } else {
                    0
                }
            });
            let left = before[p] - before[sp.next] + current;
            if left * (waiting as u64) < before[n] - before[p] {
                continue;
            }
            sp.end = p;
            drop(sp);
            open += 1;
            *relock(&spans[open]) = RunSpan {
                start: p,
                next: p,
                end: n,
            };
            if waiting == 1 {
                run_span(open, pass.into_state());
                return;
            }
            let state = pass.state().clone();
            s.spawn(move |_| run_span(open, state));
        }
    });
    let end = last
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_default();
    let runs = spans
        .iter()
        .map(|m| {
            let sp = relock(m);
            sp.start..sp.end
        })
        .filter(|r| !r.is_empty())
        .collect();
    (gathered.finish(n, runs), end)
}

/// Runs `work` in a rayon pool of `threads` threads (0: all cores), giving
/// it the pool's size; on this thread (size 1) for one thread, or when no
/// pool can be made: a pool of one would only start a thread to wait for.
fn in_pool<T: Send>(threads: usize, work: impl FnOnce(usize) -> T + Send) -> T {
    if threads == 1 {
        return work(1);
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p.install(|| work(rayon::current_num_threads())),
        Err(_) => work(1),
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
    in_pool(opts.threads, |threads| {
        if threads <= 1 {
            replay_sequential(next, start, facts, opts, &task)
        } else {
            replay_chunks_inner(next, start, facts, opts, &task)
        }
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
    let last: Mutex<Option<State>> = Mutex::new(None);
    let gathered = Gathered::new(opts);
    let seen = AtomicU64::new(0);
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
                        gathered.error(i, err);
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
                let (c2, gathered, in_flight, in_flight_bytes) =
                    (chunk.clone(), &gathered, &in_flight, &in_flight_bytes);
                s.spawn(move |_| {
                    let mut checkpoint = checkpoint;
                    gathered.result(i, task(i, &c2, &mut checkpoint), c2.len());
                    drop(c2);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    in_flight_bytes.fetch_sub(cost, Ordering::AcqRel);
                });
                let mut local_gaps = Vec::new();
                state.advance_chunk(&chunk, |e| local_gaps.push(Gap::of(e)));
                gathered.gaps(i, local_gaps);
            }
            *relock(&last) = Some(state.state().clone());
        });
    });
    let end = last
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_default();
    let seen = seen.into_inner() as usize;
    let par = gathered.finish(seen, Vec::new());
    let runs = (0..seen)
        .filter(|i| par.results[*i].is_some())
        .map(|i| i..i + 1)
        .collect();
    (ParResult { runs, ..par }, end)
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
        runs: Vec::new(),
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
        par.gaps.extend(Gap::all_in(&chunk));
        par.results.push(Some(task(i, &chunk, &mut replay)));
        par.events += chunk.len() as u64;
        if let Some(p) = &opts.progress {
            p.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    }
    if !par.results.is_empty() {
        par.runs.push(0..par.results.len());
    }
    (par, replay.into_state())
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
    /// The spans the loss records of `chunk` describe, in order (found from
    /// the kind column, without decoding the other events).
    pub fn all_in(chunk: &LoadedChunk) -> impl Iterator<Item = Gap> + '_ {
        chunk
            .kinds()
            .enumerate()
            .filter(|(_, kind)| *kind == capture::kind::id::LOSS)
            .filter_map(|(k, _)| chunk.event(k))
            .map(|e| Gap::of(&e))
    }

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
