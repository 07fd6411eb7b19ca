//! The one replay loop: for each event, apply its state change, evaluate
//! against the state that includes its own effect (the new fd, the new
//! image), then retire what it removes (the closed fd, the exited process).
//!
//! Every consumer goes through [`Replay`]: the parallel run ([`crate::run`],
//! one `Replay` per run of chunks from the state at its start, and a
//! state-only `Replay` that finds those states), event listings with a filter (`analyzer events`),
//! streaming evaluation of a live feed, and the tests' sequential oracle.
//! The event's arguments are decoded once, here, for the state engine and
//! the evaluator together.

use std::sync::Arc;

use capture::kind::{id, kind_by_name, KindSet};
use capture::schema::Snapshot;
use capture::EventRef;
use ruleset::CompiledRule;

use crate::eval::{format_output_in, Env, EvCtx};
use crate::run::{Alert, Matching};
use crate::shared::{Memo, SharedRules};
use crate::state::{Args, State};

/// Facts of the capture the evaluator needs besides the state.
#[derive(Clone, Debug, Default)]
pub struct CaptureFacts {
    /// Wall-clock time of the event clock's zero (Unix ns).
    pub anchor: u64,
    /// Host name.
    pub hostname: Arc<str>,
    /// Name of the source (a capture's path), carried by its alerts.
    pub source: Arc<str>,
}

impl CaptureFacts {
    /// The facts of an open capture, named `source`.
    pub fn of(cap: &capture::Capture, source: &str) -> CaptureFacts {
        let meta = cap.meta();
        CaptureFacts {
            anchor: meta.map(|m| m.boot_time_unix_ns).unwrap_or(0),
            hostname: meta.map(|m| m.hostname.as_str()).unwrap_or("").into(),
            source: source.into(),
        }
    }
}

/// The event kinds [`State::apply`] and [`State::retire`] act on: events of
/// other kinds leave the state as it is, so a state-only pass skips them.
pub fn state_kinds() -> KindSet {
    crate::state::STATE_KINDS.iter().copied().collect()
}

/// Scratch memory of the state pass ([`Replay::advance_chunk`]), reused
/// from chunk to chunk so that the pass allocates nothing per chunk. A
/// clone starts empty: it holds nothing between two chunks.
#[derive(Default)]
struct PassScratch {
    /// Positions in the chunk of its state-changing events and loss records.
    events: Vec<u32>,
    /// For each of `events`: the position in `events` of the close that
    /// pairs with it (an open), or `u32::MAX`.
    close_of: Vec<u32>,
    /// For each of `events`: left out (the close of a pair left out).
    skip: Vec<bool>,
    /// Per process: its pending opens (fd, position in `events`).
    pending: rustc_hash::FxHashMap<u32, Vec<(i64, u32)>>,
}

impl Clone for PassScratch {
    fn clone(&self) -> Self {
        PassScratch::default()
    }
}

/// For each of a chunk's state-changing `events` (their positions in
/// `chunk`, in order) that is an open whose fd its process closes again
/// (successfully) with no other state change of that process in between
/// but opens and closes of other files: the position in `events` of that
/// close, in `close_of`.
fn open_close_pairs(chunk: &capture::LoadedChunk, scratch: &mut PassScratch) {
    let PassScratch {
        events,
        close_of,
        pending,
        ..
    } = scratch;
    pending.clear();
    close_of.clear();
    close_of.resize(events.len(), u32::MAX);
    // The first argument as a number (a close's fd, an openat's dirfd).
    let first = |e: &EventRef<'_>| {
        e.args()
            .next()
            .and_then(|a| a.ok())
            .and_then(|a| a.as_i64())
    };
    for (i, &k) in events.iter().enumerate() {
        let Some(e) = chunk.event(k as usize) else {
            continue;
        };
        match e.kind {
            id::LOSS => {}
            _ if State::unchanged_by(&e) => {}
            id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT => {
                let p = pending.entry(e.pid).or_default();
                // An open relative to a pending fd needs that fd in the
                // state: the open that made it is applied.
                if matches!(e.kind, id::OPENAT | id::OPENAT2) {
                    if let Some(dirfd) = first(&e) {
                        p.retain(|(fd, _)| *fd != dirfd);
                    }
                }
                p.push((e.ret, i as u32));
            }
            id::CLOSE => {
                let fd = (e.ret == 0).then(|| first(&e)).flatten();
                if let (Some(fd), Some(p)) = (fd, pending.get_mut(&e.pid)) {
                    if let Some(at) = p.iter().position(|(open_fd, _)| *open_fd == fd) {
                        let (_, open) = p.swap_remove(at);
                        close_of[open as usize] = i as u32;
                    }
                }
            }
            // Anything else that changes the process's state (fork, exec,
            // dup, fcntl, sockets, chdir, exit, ...) ends its pending opens.
            _ => {
                if let Some(p) = pending.get_mut(&e.pid) {
                    p.clear();
                }
            }
        }
    }
}

/// Rules to evaluate per event kind, in load order (Falco's event-type
/// pre-filter).
pub fn prefilter(rules: &[CompiledRule]) -> Vec<Vec<usize>> {
    let mut by_kind = vec![Vec::new(); 256];
    let internal = [id::LOSS, id::PROC_FORK, id::PROC_EXEC];
    for (i, r) in rules.iter().enumerate() {
        match &r.evttypes {
            Some(names) => {
                for n in names {
                    if let Some(k) = kind_by_name(n) {
                        by_kind[k.id as usize].push(i);
                    } else if capture::syscalls::x86_64_number(n).is_some() {
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

/// Rules prepared for replay: their pre-filter by event kind and their
/// conditions as one shared DAG ([`SharedRules`]).
pub struct RuleIndex<'r> {
    rules: &'r [CompiledRule],
    by_kind: Vec<Vec<usize>>,
    shared: SharedRules<'r>,
    matching: Matching,
}

impl<'r> RuleIndex<'r> {
    /// Indexes `rules` (enabled ones only are expected) by event kind.
    pub fn new(rules: &'r [CompiledRule], matching: Matching) -> RuleIndex<'r> {
        RuleIndex {
            rules,
            by_kind: prefilter(rules),
            shared: SharedRules::new(rules),
            matching,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &'r [CompiledRule] {
        self.rules
    }

    /// The shared DAG of the rules' conditions.
    pub fn shared(&self) -> &SharedRules<'r> {
        &self.shared
    }

    /// An evaluator of these rules for one thread.
    pub fn evaluator(&self) -> Evaluator<'_, 'r> {
        Evaluator {
            index: self,
            memo: self.shared.memo(),
        }
    }
}

/// Evaluates the rules of a [`RuleIndex`] on one thread (it holds the
/// per-event memo of shared subconditions).
pub struct Evaluator<'i, 'r> {
    index: &'i RuleIndex<'r>,
    memo: Memo,
}

/// A state engine walking events in order, evaluating as it goes.
#[derive(Clone)]
pub struct Replay {
    state: State,
    facts: CaptureFacts,
    state_kinds: KindSet,
    truncated_args: u64,
    scratch: PassScratch,
}

impl Replay {
    /// A replay starting from a capture's start snapshot.
    pub fn new(snapshot: &Snapshot, facts: CaptureFacts) -> Replay {
        Replay::from_state(State::from_snapshot(snapshot), facts)
    }

    /// A replay starting from a known state (a checkpoint).
    pub fn from_state(state: State, facts: CaptureFacts) -> Replay {
        Replay {
            state,
            facts,
            state_kinds: state_kinds(),
            truncated_args: 0,
            scratch: PassScratch::default(),
        }
    }

    /// The state after the events replayed so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state after the events replayed so far, taken.
    pub fn into_state(self) -> State {
        self.state
    }

    /// The capture facts.
    pub fn facts(&self) -> &CaptureFacts {
        &self.facts
    }

    /// Events seen with more arguments than the decoder holds
    /// ([`crate::state::MAX_ARGS`]); their extra arguments were not read.
    pub fn truncated_args(&self) -> u64 {
        self.truncated_args
    }

    /// Whether event kind `kind` changes the state.
    pub fn changes_state(&self, kind: u16) -> bool {
        self.state_kinds.contains(kind)
    }

    /// Replays one event for its state change only (no evaluation).
    pub fn advance(&mut self, e: &EventRef<'_>) {
        if self.state_kinds.contains(e.kind) {
            let args = Args::new(e);
            self.truncated_args += u64::from(args.truncated());
            self.state.apply_with(e, &args);
            self.state.retire_with(e, &args);
        }
    }

    /// Replays the state changes of a whole chunk, in order, without
    /// evaluation: what the sequential pass that finds where the parallel
    /// run's runs of chunks start does. `on_loss` sees each loss record.
    /// Opens and closes that failed change nothing and are skipped
    /// undecoded ([`State::unchanged_by`]).
    ///
    /// A file a process opens and closes again within the chunk, with no
    /// other state-changing event of that process in between but opens and
    /// closes of other files not relative to it (the usual open, read,
    /// close), leaves the state as it found it, so the pair is
    /// not applied when the process is known and the fd number free: most
    /// of a capture's opens and closes, each of which would cost decoding,
    /// a path and an allocation here and again in the chunk's task.
    /// Returns how many events were left out that way.
    pub fn advance_chunk(
        &mut self,
        chunk: &capture::LoadedChunk,
        mut on_loss: impl FnMut(&EventRef<'_>),
    ) -> usize {
        // The positions of the state-changing events and loss records, and
        // for each open the position of its close when the pair can be
        // left out.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.events.clear();
        scratch.events.extend(
            chunk
                .kinds()
                .enumerate()
                .filter(|(_, kind)| *kind == id::LOSS || self.state_kinds.contains(*kind))
                .map(|(k, _)| k as u32),
        );
        open_close_pairs(chunk, &mut scratch);
        scratch.skip.clear();
        scratch.skip.resize(scratch.events.len(), false);
        let mut skipped = 0;
        for (i, &k) in scratch.events.iter().enumerate() {
            if scratch.skip[i] {
                skipped += 1;
                continue;
            }
            let Some(e) = chunk.event(k as usize) else {
                continue;
            };
            if e.kind == id::LOSS {
                on_loss(&e);
                continue;
            }
            if State::unchanged_by(&e) {
                skipped += 1;
                continue;
            }
            let close = scratch.close_of[i];
            if close != u32::MAX {
                let free = self
                    .state
                    .procs
                    .get(&e.pid)
                    .is_some_and(|p| !p.fds.contains_key(&(e.ret as i32)));
                if free {
                    scratch.skip[close as usize] = true;
                    skipped += 1;
                    continue;
                }
            }
            self.advance(&e);
        }
        self.scratch = scratch;
        skipped
    }

    /// Replays one event: applies it, calls `visit` with its evaluation
    /// context (the state including the event's own effect), then retires
    /// it. The arguments are decoded once for both.
    pub fn step<T>(&mut self, e: &EventRef<'_>, visit: impl FnOnce(&EvCtx<'_>) -> T) -> T {
        let args = Args::new(e);
        self.truncated_args += u64::from(args.truncated());
        let stateful = self.state_kinds.contains(e.kind);
        if stateful {
            self.state.apply_with(e, &args);
        }
        let env = Env {
            state: &self.state,
            anchor: self.facts.anchor,
            hostname: &self.facts.hostname,
            source: &self.facts.source,
        };
        let out = visit(&EvCtx::new(e, &args, &env));
        if stateful {
            self.state.retire_with(e, &args);
        }
        out
    }

    /// Replays one event and evaluates `rules` on it, pushing an alert for
    /// each match (every matching rule, or the first in load order).
    pub fn evaluate(
        &mut self,
        e: &EventRef<'_>,
        ev: &mut Evaluator<'_, '_>,
        alerts: &mut Vec<Alert>,
    ) {
        let rules = ev.index;
        let cands = &rules.by_kind[(e.kind as usize).min(255)];
        // Containers already running when the capture began are state, as in
        // Falco, which learns them without a container event.
        let initial =
            e.kind == id::CONTAINER && e.arg("initial").and_then(|v| v.as_u64()) == Some(1);
        if cands.is_empty() || initial {
            // Nothing to evaluate: the state change alone.
            self.advance(e);
            return;
        }
        let memo = &mut ev.memo;
        memo.next_event();
        self.step(e, |cx| {
            for &ri in cands {
                let r = &rules.rules[ri];
                if rules.shared.matches(ri, cx, memo) {
                    alerts.push(alert(r, e, cx));
                    if rules.matching == Matching::First {
                        break;
                    }
                }
            }
        });
    }
}

fn alert(r: &CompiledRule, e: &EventRef<'_>, cx: &EvCtx<'_>) -> Alert {
    let (output, mut output_fields) = format_output_in(&r.output, cx);
    for (key, parts) in &r.extra_fields {
        // A lone field keeps its type; anything else is the rendered text.
        let v = match format_output_in(parts, cx) {
            (_, mut f) if parts.len() == 1 && f.len() == 1 => f.pop().map(|(_, v)| v),
            (text, _) => Some(crate::eval::Val::Str(text.into())),
        };
        if let Some(v) = v {
            output_fields.push((key.clone(), v));
        }
    }
    Alert {
        source: cx.source().clone(),
        evt_num: e.seq + 1,
        ts: e.ts,
        time_ns: e.ts.wrapping_add(cx.anchor()),
        rule: r.name.clone(),
        priority: r.priority,
        output,
        output_fields,
        tags: r.tags.clone(),
        in_gap: false,
    }
}

/// Streaming evaluation: events or whole chunks fed in order as they arrive
/// (a live chunk feed, a recorder's sealed chunks, a capture read
/// sequentially), alerts out at once. Gives the alerts of
/// [`crate::run::run`] on the same events, on one thread; an alert is
/// marked `in_gap` by the loss records seen before it (a batch run also
/// marks it by later ones, which the recorder writes up to 100 ms late).
pub struct Stream<'i, 'r> {
    replay: Replay,
    ev: Evaluator<'i, 'r>,
    gaps: Vec<crate::run::Gap>,
}

impl<'i, 'r> Stream<'i, 'r> {
    /// A stream starting from a capture's start snapshot.
    pub fn new(snapshot: &Snapshot, facts: CaptureFacts, rules: &'i RuleIndex<'r>) -> Self {
        Stream {
            replay: Replay::new(snapshot, facts),
            ev: rules.evaluator(),
            gaps: Vec::new(),
        }
    }

    /// Evaluates one event, appending its alerts to `alerts`. A loss record
    /// is remembered as a gap, and alerts inside it are marked.
    pub fn push_event(&mut self, e: &EventRef<'_>, alerts: &mut Vec<Alert>) {
        if e.kind == id::LOSS {
            self.gaps.push(crate::run::Gap::of(e));
        }
        let from = alerts.len();
        self.replay.evaluate(e, &mut self.ev, alerts);
        crate::run::mark_gaps(&mut alerts[from..], &self.gaps);
    }

    /// Evaluates every event of a chunk, in order.
    pub fn push_chunk(&mut self, chunk: &capture::LoadedChunk) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for e in chunk.events() {
            self.push_event(&e, &mut alerts);
        }
        alerts
    }

    /// The loss spans seen so far.
    pub fn gaps(&self) -> &[crate::run::Gap] {
        &self.gaps
    }

    /// The state after the events seen so far.
    pub fn state(&self) -> &State {
        self.replay.state()
    }
}
