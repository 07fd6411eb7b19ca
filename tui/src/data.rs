//! Work done away from the screen: jobs that run on their own thread with
//! progress and cancellation ([`Job`]), and what they build: the process
//! tree keyed by process identity with state checkpoints ([`Tree`]), the
//! events a filter selects or a search finds ([`scan`]), and the state
//! resolved fields of one event ([`detail`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use capture::args::ArgValue;
use capture::kind::{id, kind_by_name};
use capture::{Capture, EventRef};
use engine::replay::{CaptureFacts, Replay};
use engine::state::State;

/// A scan's result: the events found, and whether it ran to the end.
pub type ScanResult = (Vec<u64>, bool);

/// Progress of a job, shared with the screen.
#[derive(Debug, Default)]
pub struct Progress {
    /// Units done (events).
    pub done: AtomicU64,
    /// Units in all (0 when unknown).
    pub total: AtomicU64,
    /// Set to ask the job to stop.
    pub cancel: AtomicBool,
}

impl Progress {
    /// Whether the job was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `done/total` as a percentage (0 when the total is unknown).
    pub fn percent(&self) -> u64 {
        let t = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed) * 100)
            .checked_div(t)
            .unwrap_or(0)
    }
}

/// A job on its own thread: its result arrives once, its progress can be
/// read at any time, and it can be asked to stop.
pub struct Job<T> {
    rx: Receiver<T>,
    /// Progress and cancellation.
    pub progress: Arc<Progress>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `f` on a new thread.
    pub fn spawn(f: impl FnOnce(&Progress) -> T + Send + 'static) -> Job<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        let progress = Arc::new(Progress::default());
        let p = progress.clone();
        std::thread::spawn(move || {
            let _ = tx.send(f(&p));
        });
        Job { rx, progress }
    }

    /// The result, when the job has finished (once).
    pub fn try_take(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// Waits for the result (tests, and the end of a cancelled job).
    pub fn wait(self) -> Option<T> {
        self.rx.recv().ok()
    }

    /// Asks the job to stop; its result then says it was cancelled.
    pub fn cancel(&self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }
}

/// One program a process ran (or had when the capture started).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exec {
    /// Event number (0-based) of the exec; `None` for the program the
    /// process had at the start or at its fork.
    pub seq: Option<u64>,
    /// Command name.
    pub comm: String,
    /// The executable.
    pub exe: String,
    /// The command line.
    pub cmdline: String,
}

/// A process: one pid from its fork (or the capture's start) to its exit.
/// A pid used again later is another node.
#[derive(Clone, Debug, Default)]
pub struct ProcNode {
    /// Pid (thread group id).
    pub pid: u32,
    /// The parent's node.
    pub parent: Option<usize>,
    /// Child nodes, in order of their fork.
    pub children: Vec<usize>,
    /// Event number (0-based) of the fork; `None` when it existed at the start.
    pub first_seq: Option<u64>,
    /// Event number of its exit, when seen.
    pub end_seq: Option<u64>,
    /// What it ran, oldest first (the first is what it had at the start or
    /// inherited at the fork).
    pub execs: Vec<Exec>,
    /// Its events.
    pub events: u64,
    /// Files it opened (successful opens).
    pub files: u64,
    /// Connections it made or accepted.
    pub conns: u64,
    /// Alerts on its events (filled when the alerts arrive).
    pub alerts: u64,
}

impl ProcNode {
    /// The program it ran at event `seq`.
    pub fn exec_at(&self, seq: u64) -> Option<&Exec> {
        self.execs
            .iter()
            .rev()
            .find(|e| e.seq.is_none_or(|s| s <= seq))
            .or(self.execs.first())
    }

    /// Its last program.
    pub fn last(&self) -> Option<&Exec> {
        self.execs.last()
    }
}

/// The process tree of a capture, with state checkpoints for resolving
/// fields of any event quickly.
#[derive(Default)]
pub struct Tree {
    /// Every process.
    pub nodes: Vec<ProcNode>,
    /// Processes without a known parent.
    pub roots: Vec<usize>,
    by_pid: HashMap<u32, Vec<usize>>,
    /// State before chunk `i`, for some chunks (bounded in number).
    pub checkpoints: Vec<(usize, State)>,
    /// Chunks that could not be read (with why).
    pub damaged: Vec<String>,
    /// Whether the build was cancelled (the tree is then partial).
    pub cancelled: bool,
    /// Events per time bucket ([`HIST_BUCKETS`] over the capture's time
    /// range), for the timeline's histogram.
    pub hist: Vec<u64>,
}

/// Buckets of [`Tree::hist`].
pub const HIST_BUCKETS: usize = 2048;

/// The most checkpoints a tree keeps (each is a copy of the state).
const MAX_CHECKPOINTS: usize = 48;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn exec_of(e: &EventRef<'_>) -> Exec {
    let mut x = Exec {
        seq: Some(e.seq),
        ..Exec::default()
    };
    for (name, v) in e.info().map(|k| k.args).unwrap_or(&[]).iter().zip(e.args()) {
        let Ok(v) = v else { break };
        match (name.0, v) {
            ("filename", ArgValue::Bytes(b) | ArgValue::Str(b)) => x.exe = lossy(b),
            ("comm", ArgValue::Bytes(b) | ArgValue::Str(b)) => x.comm = lossy(b),
            ("args", ArgValue::StrList(l)) => {
                x.cmdline = l.iter().map(lossy).collect::<Vec<_>>().join(" ")
            }
            _ => {}
        }
    }
    if x.comm.is_empty() {
        x.comm = x.exe.rsplit('/').next().unwrap_or("").to_string();
    }
    x
}

impl Tree {
    /// The node of `pid` at event `seq` (the latest one forked at or
    /// before it).
    pub fn node_at(&self, pid: u32, seq: u64) -> Option<usize> {
        let list = self.by_pid.get(&pid)?;
        list.iter()
            .rev()
            .find(|&&n| self.nodes[n].first_seq.is_none_or(|s| s <= seq))
            .or(list.first())
            .copied()
    }

    /// The command name of `pid` at event `seq`.
    pub fn comm_at(&self, pid: u32, seq: u64) -> Option<&str> {
        let n = self.node_at(pid, seq)?;
        self.nodes[n].exec_at(seq).map(|e| e.comm.as_str())
    }

    /// The ancestors of a node, nearest first.
    pub fn ancestors(&self, mut n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(p) = self.nodes[n].parent {
            if out.contains(&p) || out.len() > 256 {
                break;
            }
            out.push(p);
            n = p;
        }
        out
    }

    /// Counts alerts per process (by the event each alert is on).
    pub fn count_alerts(&mut self, alerts: &[(u32, u64)]) {
        for n in &mut self.nodes {
            n.alerts = 0;
        }
        for &(pid, seq) in alerts {
            if let Some(n) = self.node_at(pid, seq) {
                self.nodes[n].alerts += 1;
            }
        }
    }

    /// The state before chunk `chunk`: the nearest checkpoint at or before it.
    pub fn checkpoint_before(&self, chunk: usize) -> Option<&(usize, State)> {
        self.checkpoints.iter().rev().find(|(c, _)| *c <= chunk)
    }

    fn add(&mut self, node: ProcNode) -> usize {
        let i = self.nodes.len();
        self.by_pid.entry(node.pid).or_default().push(i);
        match node.parent {
            Some(p) => self.nodes[p].children.push(i),
            None => self.roots.push(i),
        }
        self.nodes.push(node);
        i
    }

    fn current(&self, pid: u32) -> Option<usize> {
        self.by_pid
            .get(&pid)?
            .last()
            .copied()
            .filter(|&n| self.nodes[n].end_seq.is_none())
    }
}

/// Builds the process tree of `cap` from its snapshot and its fork, exec
/// and exit records, counting each process's events, file opens and
/// connections, and keeping state checkpoints on the way.
pub fn build_tree(cap: &Capture, progress: &Progress) -> Tree {
    progress.total.store(cap.event_count(), Ordering::Relaxed);
    let mut t = Tree::default();
    let snapshot = cap.snapshot().ok().flatten().unwrap_or_default();
    let mut snap_nodes: HashMap<u32, usize> = HashMap::new();
    let mut order: Vec<&capture::schema::ProcessInfo> = snapshot.processes.iter().collect();
    order.sort_by_key(|p| (p.start_ts, p.pid));
    // Parents first where the snapshot allows (start time order), then link.
    for p in &order {
        let i = t.nodes.len();
        t.nodes.push(ProcNode {
            pid: p.pid,
            execs: vec![Exec {
                seq: None,
                comm: p.comm.clone(),
                exe: p.exe.clone(),
                cmdline: p.args.join(" "),
            }],
            ..ProcNode::default()
        });
        t.by_pid.entry(p.pid).or_default().push(i);
        snap_nodes.insert(p.pid, i);
    }
    for p in &order {
        let i = snap_nodes[&p.pid];
        match snap_nodes.get(&p.ppid).filter(|&&q| q != i) {
            Some(&q) => {
                t.nodes[i].parent = Some(q);
                t.nodes[q].children.push(i);
            }
            None => t.roots.push(i),
        }
    }
    let opens: Vec<u16> = ["open", "openat", "openat2", "creat"]
        .iter()
        .filter_map(|n| kind_by_name(n).map(|k| k.id))
        .collect();
    let conns: Vec<u16> = ["connect", "accept", "accept4"]
        .iter()
        .filter_map(|n| kind_by_name(n).map(|k| k.id))
        .collect();
    let mut replay = Replay::new(&snapshot, CaptureFacts::of(cap, cap.name()));
    let chunks = cap.chunks().len();
    let (t0, t1) = cap.time_range().unwrap_or((0, 0));
    t.hist = vec![0; HIST_BUCKETS];
    let every = chunks.div_ceil(MAX_CHECKPOINTS).max(1);
    for i in 0..chunks {
        if progress.cancelled() {
            t.cancelled = true;
            break;
        }
        if i % every == 0 {
            t.checkpoints.push((i, replay.state().clone()));
        }
        let c = match cap.load_chunk(i) {
            Ok(c) => c,
            Err(e) => {
                t.damaged.push(e.to_string());
                continue;
            }
        };
        for e in c.events() {
            if replay.changes_state(e.kind) {
                replay.advance(&e);
            }
            t.hist[hist_bucket(e.ts, t0, t1, HIST_BUCKETS)] += 1;
            match e.kind {
                id::PROC_FORK => {
                    let child = match e.arg("child_pid") {
                        Some(ArgValue::Int(v)) => v as u32,
                        Some(ArgValue::Uint(v)) => v as u32,
                        _ => continue,
                    };
                    if child == e.pid || child == 0 {
                        continue;
                    }
                    let parent = t.current(e.pid);
                    // A pid seen again after its exit (or never ended) is a new process.
                    if let Some(old) = t.current(child) {
                        t.nodes[old].end_seq.get_or_insert(e.seq);
                    }
                    let inherited = parent
                        .and_then(|p| t.nodes[p].last().cloned())
                        .map(|x| Exec { seq: None, ..x })
                        .into_iter()
                        .collect();
                    t.add(ProcNode {
                        pid: child,
                        parent,
                        first_seq: Some(e.seq),
                        execs: inherited,
                        ..ProcNode::default()
                    });
                }
                id::PROC_EXEC => {
                    let x = exec_of(&e);
                    let n = match t.current(e.pid) {
                        Some(n) => n,
                        None => t.add(ProcNode {
                            pid: e.pid,
                            first_seq: Some(e.seq),
                            ..ProcNode::default()
                        }),
                    };
                    t.nodes[n].execs.push(x);
                }
                id::PROC_EXIT => {
                    let dead = matches!(e.arg("group_dead"), Some(ArgValue::Uint(v)) if v != 0)
                        || e.tid == e.pid;
                    if dead {
                        if let Some(n) = t.current(e.pid) {
                            t.nodes[n].end_seq = Some(e.seq);
                        }
                    }
                }
                _ => {}
            }
            if e.pid != 0 {
                if let Some(n) = t.current(e.pid).or_else(|| t.node_at(e.pid, e.seq)) {
                    let node = &mut t.nodes[n];
                    node.events += 1;
                    if opens.contains(&e.kind) && e.ret >= 0 {
                        node.files += 1;
                    } else if conns.contains(&e.kind) && (e.ret >= 0 || e.ret == -115) {
                        node.conns += 1;
                    }
                }
            }
        }
        progress.done.fetch_add(c.len() as u64, Ordering::Relaxed);
    }
    t
}

/// The bucket of timestamp `ts` among `n` over `t0..=t1`.
pub fn hist_bucket(ts: u64, t0: u64, t1: u64, n: usize) -> usize {
    let span = u128::from(t1.saturating_sub(t0)) + 1;
    ((u128::from(ts.saturating_sub(t0)) * n as u128 / span) as usize).min(n.saturating_sub(1))
}

/// Fields shown for an event, in Falco's names (each compiled on its own,
/// so one this build cannot resolve is named instead of hiding the rest).
pub const DETAIL_FIELDS: &[&str] = &[
    "evt.num",
    "evt.time",
    "evt.type",
    "evt.dir",
    "evt.res",
    "evt.args",
    "proc.name",
    "proc.pid",
    "thread.tid",
    "proc.exepath",
    "proc.cmdline",
    "proc.cwd",
    "proc.ppid",
    "proc.pname",
    "proc.pcmdline",
    "proc.sid",
    "proc.tty",
    "user.name",
    "user.uid",
    "user.loginname",
    "group.name",
    "fd.num",
    "fd.type",
    "fd.name",
    "fd.directory",
    "fd.filename",
    "fd.l4proto",
    "fd.cip",
    "fd.cport",
    "fd.sip",
    "fd.sport",
    "container.id",
    "container.name",
    "container.image.repository",
    "container.image.tag",
    "container.privileged",
    "k8s.ns.name",
    "k8s.pod.name",
];

/// How many ancestors the detail lists.
pub const ANCESTRY_DEPTH: usize = 8;

/// The compiled detail fields: (name, compiled format) or (name, why not).
pub type DetailFormats = Vec<(String, Result<Vec<ruleset::compile::OutputPart>, String>)>;

/// Compiles [`DETAIL_FIELDS`], the ancestry fields, and every other field
/// of the registry that takes no argument.
pub fn detail_formats() -> DetailFormats {
    let mut names: Vec<String> = DETAIL_FIELDS.iter().map(|s| s.to_string()).collect();
    for i in 1..=ANCESTRY_DEPTH {
        names.push(format!("proc.aname[{i}]"));
        names.push(format!("proc.apid[{i}]"));
        names.push(format!("proc.acmdline[{i}]"));
    }
    // Then every other field of the registry that needs no argument.
    use ruleset::fields::{ArgForm, FIELDS};
    for f in FIELDS {
        if matches!(f.arg, ArgForm::None | ArgForm::OptIndex | ArgForm::OptKey)
            && !names.iter().any(|n| n == f.name)
        {
            names.push(f.name.to_string());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let f = ruleset::filter::compile(&[], None, Some(&format!("%{n}")))
                .map_err(|d| {
                    d.iter()
                        .map(|d| d.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .and_then(|f| f.format.ok_or_else(|| "no format".to_string()));
            (n, f)
        })
        .collect()
}

/// Where to start replaying to reach chunk `chunk`: the nearest checkpoint
/// of the tree at or before it, or the snapshot.
pub fn start_before(cap: &Capture, tree: Option<&Tree>, chunk: usize) -> (usize, State) {
    match tree.and_then(|t| t.checkpoint_before(chunk)) {
        Some((c, st)) => (*c, st.clone()),
        None => (
            0,
            State::from_snapshot(&cap.snapshot().ok().flatten().unwrap_or_default()),
        ),
    }
}

/// The state before chunk `chunk`, replayed from `start`, the state
/// before chunk `from` (state-changing events only).
fn replay_to(cap: &Capture, start: State, from: usize, chunk: usize) -> Replay {
    let mut replay = Replay::from_state(start, CaptureFacts::of(cap, cap.name()));
    for i in from..chunk {
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            if replay.changes_state(e.kind) {
                replay.advance(&e);
            }
        }
    }
    replay
}

/// The state-resolved fields of event `seq`: (field, value) in
/// [`detail_formats`] order; a field that cannot be resolved says why.
pub fn detail(
    cap: &Capture,
    tree: Option<&Tree>,
    formats: &DetailFormats,
    seq: u64,
) -> Result<Vec<(String, String)>, String> {
    let chunk = cap
        .chunk_of(seq)
        .ok_or_else(|| format!("event {} is not in the capture", seq + 1))?;
    let (from, start) = start_before(cap, tree, chunk);
    let mut replay = replay_to(cap, start, from, chunk);
    let c = cap.load_chunk(chunk).map_err(|e| e.to_string())?;
    let target = (seq - c.first_seq()) as usize;
    for k in 0..target {
        if let Some(e) = c.event(k) {
            if replay.changes_state(e.kind) {
                replay.advance(&e);
            }
        }
    }
    let e = c
        .event(target)
        .ok_or_else(|| format!("event {} is unreadable", seq + 1))?;
    Ok(replay.step(&e, |cx| {
        formats
            .iter()
            .map(|(name, f)| {
                let v = match f {
                    Ok(parts) => engine::eval::format_output_in(parts, cx).0,
                    Err(why) => format!("(not available: {why})"),
                };
                (name.clone(), v)
            })
            .collect()
    }))
}

/// What [`scan`] looks for.
pub enum Scan {
    /// Events a compiled Falco condition selects (with state).
    Filter(Arc<ruleset::Program>),
    /// Events whose one-line text contains this (lowercase) text.
    Text(String),
    /// The events of process `pid` from event `from` to `to` (inclusive);
    /// chunks outside that span are not read.
    Process {
        /// The process.
        pid: u32,
        /// First event.
        from: u64,
        /// Last event.
        to: u64,
    },
}

/// The events (0-based numbers, in order) that `what` selects, reading
/// every chunk; stops early when cancelled (the result then holds what was
/// found so far and `false`).
pub fn scan(cap: &Capture, what: &Scan, progress: &Progress) -> (Vec<u64>, bool) {
    progress.total.store(cap.event_count(), Ordering::Relaxed);
    let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let mut replay = match what {
        Scan::Filter(_) => {
            let snap = cap.snapshot().ok().flatten().unwrap_or_default();
            Some(Replay::new(&snap, CaptureFacts::of(cap, cap.name())))
        }
        Scan::Text(_) | Scan::Process { .. } => None,
    };
    let mut hits = Vec::new();
    for i in 0..cap.chunks().len() {
        if progress.cancelled() {
            return (hits, false);
        }
        if let Scan::Process { from, to, .. } = what {
            let e = cap.chunks()[i];
            if e.first_seq + u64::from(e.event_count) <= *from || e.first_seq > *to {
                continue;
            }
        }
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            let hit = match (what, &mut replay) {
                (Scan::Filter(p), Some(r)) => r.step(&e, |cx| engine::eval::matches_in(p, cx)),
                (Scan::Text(t), _) => engine::print::line(&e, anchor)
                    .to_lowercase()
                    .contains(t.as_str()),
                (Scan::Process { pid, from, to }, _) => {
                    e.pid == *pid && e.seq >= *from && e.seq <= *to
                }
                _ => false,
            };
            if hit {
                hits.push(e.seq);
            }
        }
        progress.done.fetch_add(c.len() as u64, Ordering::Relaxed);
    }
    (hits, true)
}

/// One read or write of a followed fd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The event (0-based).
    pub seq: u64,
    /// Whether data went out (write, send) rather than in.
    pub outgoing: bool,
    /// Bytes the call moved (its result).
    pub size: i64,
    /// The bytes recorded (up to the snap length).
    pub data: Vec<u8>,
}

/// What [`follow`] found.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// The process (pid) and fd followed.
    pub pid: u32,
    /// The fd.
    pub fd: i64,
    /// Event where the fd's use followed here begins (its open, or the
    /// first event after the previous close).
    pub from: u64,
    /// Its close, when seen.
    pub to: Option<u64>,
    /// The reads and writes, in order.
    pub transfers: Vec<Transfer>,
    /// Whether the scan ran to the end.
    pub complete: bool,
}

fn fd_arg(e: &EventRef<'_>) -> Option<i64> {
    match e.arg("fd") {
        Some(ArgValue::Int(v)) => Some(v),
        Some(ArgValue::Uint(v)) => i64::try_from(v).ok(),
        _ => None,
    }
}

/// The fd event `seq` used, if it used one: its `fd` argument, or the fd it
/// returned (open, socket, accept).
pub fn fd_of_event(cap: &Capture, seq: u64) -> Option<(u32, i64)> {
    let i = cap.chunk_of(seq)?;
    let c = cap.load_chunk(i).ok()?;
    let e = c.event(seq.checked_sub(c.first_seq())? as usize)?;
    if let Some(fd) = fd_arg(&e) {
        return Some((e.pid, fd));
    }
    let returns_fd = [
        "open", "openat", "openat2", "creat", "socket", "accept", "accept4",
    ];
    (returns_fd.contains(&e.kind_name().as_ref()) && e.ret >= 0).then_some((e.pid, e.ret))
}

/// The data read and written on `fd` of process `pid` during the use of
/// the fd that includes event `seq` (from the close before it to the
/// close after it).
pub fn follow(cap: &Capture, pid: u32, fd: i64, seq: u64, progress: &Progress) -> Stream {
    progress.total.store(cap.event_count(), Ordering::Relaxed);
    let close = kind_by_name("close").map(|k| k.id);
    let mut s = Stream {
        pid,
        fd,
        ..Stream::default()
    };
    let mut current: Vec<Transfer> = Vec::new();
    let mut from = 0u64;
    'chunks: for i in 0..cap.chunks().len() {
        if progress.cancelled() {
            s.transfers = current;
            s.from = from;
            return s;
        }
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            if e.pid != pid {
                continue;
            }
            let Some(efd) = fd_arg(&e) else { continue };
            if efd != fd {
                continue;
            }
            if Some(e.kind) == close {
                if e.seq >= seq {
                    s.to = Some(e.seq);
                    break 'chunks;
                }
                current.clear();
                from = e.seq + 1;
                continue;
            }
            let Some(info) = e.info() else { continue };
            let Some(pos) = info.args.iter().position(|(n, _)| *n == "data") else {
                continue;
            };
            let data = match e.args().nth(pos) {
                Some(Ok(ArgValue::Bytes(b) | ArgValue::Str(b))) => b.to_vec(),
                _ => Vec::new(),
            };
            let name = info.name;
            let outgoing =
                name.starts_with("write") || name.starts_with("pwrite") || name.starts_with("send");
            current.push(Transfer {
                seq: e.seq,
                outgoing,
                size: e.ret,
                data,
            });
        }
        progress.done.fetch_add(c.len() as u64, Ordering::Relaxed);
    }
    s.transfers = current;
    s.from = from;
    s.complete = true;
    s
}

/// The values of `formats` for every event of chunk `chunk`, the state
/// replayed from `start` (the state before chunk `from`).
pub fn chunk_columns(
    cap: &Capture,
    start: State,
    from: usize,
    chunk: usize,
    formats: &[Vec<ruleset::compile::OutputPart>],
) -> Vec<Vec<String>> {
    let mut replay = replay_to(cap, start, from, chunk);
    let Ok(c) = cap.load_chunk(chunk) else {
        return Vec::new();
    };
    c.events()
        .map(|e| {
            replay.step(&e, |cx| {
                formats
                    .iter()
                    .map(|f| engine::eval::format_output_in(f, cx).0)
                    .collect()
            })
        })
        .collect()
}
