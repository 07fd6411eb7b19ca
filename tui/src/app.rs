//! The model: what the investigator looks at and where the cursor is. No
//! terminal I/O here; keys arrive as [`Action`]s and the view reads the model.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Receiver;

use capture::args::ArgValue;
use capture::kind::{id, KindSet};
use capture::{Capture, LoadedChunk};
use engine::run::Alert;

/// The panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// Alerts from the rules.
    Alerts,
    /// Events in capture order.
    Events,
    /// The process tree.
    Processes,
}

/// What a key does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Show a pane.
    Focus(Pane),
    /// Next pane.
    NextPane,
    /// Move the cursor by this many rows.
    Move(i64),
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Pivot from the selection: alert -> its event, event -> its process.
    Pivot,
    /// Start typing a search.
    StartSearch,
    /// A character of the search.
    SearchChar(char),
    /// Delete the last search character.
    SearchBackspace,
    /// Run the search (next match in the events pane).
    SearchSubmit,
    /// Leave search mode.
    SearchCancel,
    /// Find the next match of the last search.
    SearchNext,
}

/// A process in the tree.
#[derive(Clone, Debug, Default)]
pub struct ProcNode {
    /// Pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Command line (last exec).
    pub cmdline: String,
    /// Event number where it appeared (0: before the capture).
    pub first_evt: u64,
}

/// Results of the background rule run.
pub type AlertsResult = Result<Vec<Alert>, String>;

/// The application state.
pub struct App {
    /// The capture.
    pub cap: Capture,
    /// Focused pane.
    pub pane: Pane,
    /// Alerts (empty until the rule run ends).
    pub alerts: Vec<Alert>,
    /// Status of the rule run.
    pub alerts_status: String,
    alerts_rx: Option<Receiver<AlertsResult>>,
    /// Selected alert.
    pub alert_sel: usize,
    /// Selected event (0-based sequence number).
    pub event_sel: u64,
    /// Total events.
    pub events_total: u64,
    /// Processes in tree order with their depth.
    pub tree: Vec<(usize, ProcNode)>,
    /// Selected process row.
    pub proc_sel: usize,
    /// Whether a search is being typed.
    pub searching: bool,
    /// The search text.
    pub search: String,
    /// A message for the status line.
    pub message: String,
    /// Whether to quit.
    pub quit: bool,
    cache: Option<(usize, LoadedChunk)>,
    anchor: u64,
}

impl App {
    /// Opens the model on a capture; `alerts` delivers the rule run's result.
    pub fn new(cap: Capture, alerts: Option<Receiver<AlertsResult>>) -> App {
        let events_total = cap.event_count();
        let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
        let tree = build_tree(&cap);
        let alerts_status = if alerts.is_some() {
            "running rules...".into()
        } else {
            "no rules given".into()
        };
        App {
            cap,
            pane: Pane::Alerts,
            alerts: Vec::new(),
            alerts_status,
            alerts_rx: alerts,
            alert_sel: 0,
            event_sel: 0,
            events_total,
            tree,
            proc_sel: 0,
            searching: false,
            search: String::new(),
            message: String::new(),
            quit: false,
            cache: None,
            anchor,
        }
    }

    /// Takes the rule run's result if it arrived.
    pub fn poll(&mut self) {
        if let Some(rx) = &self.alerts_rx {
            if let Ok(r) = rx.try_recv() {
                match r {
                    Ok(a) => {
                        self.alerts_status = format!("{} alerts", a.len());
                        self.alerts = a;
                    }
                    Err(e) => self.alerts_status = format!("rules failed: {e}"),
                }
                self.alerts_rx = None;
            }
        }
    }

    /// Text of event `seq` (one line), or `None` past the end or in a damaged chunk.
    pub fn event_line(&mut self, seq: u64) -> Option<String> {
        let i = self
            .cap
            .chunks()
            .iter()
            .position(|c| seq >= c.first_seq && seq < c.first_seq + u64::from(c.event_count))?;
        if self.cache.as_ref().map(|(ci, _)| *ci) != Some(i) {
            let c = self.cap.load_chunk(i).ok()?;
            self.cache = Some((i, c));
        }
        let (_, c) = self.cache.as_ref()?;
        let e = c.event((seq - c.first_seq()) as usize)?;
        Some(engine::print::line(&e, self.anchor))
    }

    /// The pid of event `seq`.
    pub fn event_pid(&mut self, seq: u64) -> Option<u32> {
        self.event_line(seq)?;
        let (_, c) = self.cache.as_ref()?;
        c.event((seq - c.first_seq()) as usize).map(|e| e.pid)
    }

    fn rows(&self) -> u64 {
        match self.pane {
            Pane::Alerts => self.alerts.len() as u64,
            Pane::Events => self.events_total,
            Pane::Processes => self.tree.len() as u64,
        }
    }

    fn set_row(&mut self, row: u64) {
        let row = row.min(self.rows().saturating_sub(1));
        match self.pane {
            Pane::Alerts => self.alert_sel = row as usize,
            Pane::Events => self.event_sel = row,
            Pane::Processes => self.proc_sel = row as usize,
        }
    }

    fn row(&self) -> u64 {
        match self.pane {
            Pane::Alerts => self.alert_sel as u64,
            Pane::Events => self.event_sel,
            Pane::Processes => self.proc_sel as u64,
        }
    }

    /// Applies an action.
    pub fn handle(&mut self, a: Action) {
        self.message.clear();
        match a {
            Action::Quit => self.quit = true,
            Action::Focus(p) => self.pane = p,
            Action::NextPane => {
                self.pane = match self.pane {
                    Pane::Alerts => Pane::Events,
                    Pane::Events => Pane::Processes,
                    Pane::Processes => Pane::Alerts,
                }
            }
            Action::Move(d) => {
                let r = (self.row() as i64 + d).max(0) as u64;
                self.set_row(r);
            }
            Action::Top => self.set_row(0),
            Action::Bottom => self.set_row(u64::MAX),
            Action::Pivot => self.pivot(),
            Action::StartSearch => {
                self.searching = true;
                self.search.clear();
            }
            Action::SearchChar(c) => self.search.push(c),
            Action::SearchBackspace => {
                self.search.pop();
            }
            Action::SearchCancel => self.searching = false,
            Action::SearchSubmit => {
                self.searching = false;
                self.find_next();
            }
            Action::SearchNext => self.find_next(),
        }
    }

    fn pivot(&mut self) {
        match self.pane {
            Pane::Alerts => {
                if let Some(a) = self.alerts.get(self.alert_sel) {
                    self.event_sel = a.evt_num.saturating_sub(1);
                    self.pane = Pane::Events;
                    self.message = format!("event {} of alert '{}'", a.evt_num, a.rule);
                }
            }
            Pane::Events => {
                let seq = self.event_sel;
                if let Some(pid) = self.event_pid(seq) {
                    match self.tree.iter().position(|(_, p)| p.pid == pid) {
                        Some(i) => {
                            self.proc_sel = i;
                            self.pane = Pane::Processes;
                            self.message = format!("process {pid}");
                        }
                        None => self.message = format!("process {pid} is not in the tree"),
                    }
                }
            }
            Pane::Processes => {
                if let Some((_, p)) = self.tree.get(self.proc_sel) {
                    self.event_sel = p.first_evt.saturating_sub(1);
                    self.pane = Pane::Events;
                    self.message = format!("first event of process {}", p.pid);
                }
            }
        }
    }

    /// Moves the event cursor to the next event whose line contains the
    /// search text (case-insensitive), wrapping around.
    fn find_next(&mut self) {
        if self.search.is_empty() {
            return;
        }
        let needle = self.search.to_lowercase();
        let n = self.events_total;
        let start = self.event_sel + 1;
        for k in 0..n {
            let seq = (start + k) % n.max(1);
            if self
                .event_line(seq)
                .is_some_and(|l| l.to_lowercase().contains(&needle))
            {
                self.event_sel = seq;
                self.pane = Pane::Events;
                self.message = format!("found '{}' at event {}", self.search, seq + 1);
                return;
            }
        }
        self.message = format!("'{}' not found", self.search);
    }
}

/// The process tree from the snapshot and the fork/exec records.
fn build_tree(cap: &Capture) -> Vec<(usize, ProcNode)> {
    let mut procs: BTreeMap<u32, ProcNode> = BTreeMap::new();
    if let Ok(Some(s)) = cap.snapshot() {
        for p in &s.processes {
            procs.insert(
                p.pid,
                ProcNode {
                    pid: p.pid,
                    ppid: p.ppid,
                    cmdline: p.args.join(" "),
                    first_evt: 0,
                },
            );
        }
    }
    let kinds: KindSet = [id::PROC_FORK, id::PROC_EXEC].into_iter().collect();
    for i in cap.select_chunks(&kinds, 0, u64::MAX) {
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            match e.kind {
                id::PROC_FORK => {
                    if let Some(child) = e.arg("child_pid").and_then(|v| v.as_i64()) {
                        let child = child as u32;
                        if child != e.pid {
                            let cmd = procs
                                .get(&e.pid)
                                .map(|p| p.cmdline.clone())
                                .unwrap_or_default();
                            procs.entry(child).or_insert(ProcNode {
                                pid: child,
                                ppid: e.pid,
                                cmdline: cmd,
                                first_evt: e.seq + 1,
                            });
                        }
                    }
                }
                id::PROC_EXEC => {
                    if let Some(ArgValue::StrList(l)) = e.arg("args") {
                        let cmd = l
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let p = procs.entry(e.pid).or_insert(ProcNode {
                            pid: e.pid,
                            first_evt: e.seq + 1,
                            ..ProcNode::default()
                        });
                        p.cmdline = cmd;
                    }
                }
                _ => {}
            }
        }
    }
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in procs.values() {
        if p.ppid != p.pid && procs.contains_key(&p.ppid) {
            children.entry(p.ppid).or_default().push(p.pid);
        }
    }
    let roots: Vec<u32> = procs
        .values()
        .filter(|p| p.ppid == p.pid || !procs.contains_key(&p.ppid))
        .map(|p| p.pid)
        .collect();
    let mut out = Vec::new();
    let mut stack: Vec<(usize, u32)> = roots.into_iter().rev().map(|r| (0, r)).collect();
    while let Some((depth, pid)) = stack.pop() {
        if let Some(p) = procs.get(&pid) {
            out.push((depth, p.clone()));
        }
        if let Some(kids) = children.get(&pid) {
            for k in kids.iter().rev() {
                stack.push((depth + 1, *k));
            }
        }
    }
    out
}
