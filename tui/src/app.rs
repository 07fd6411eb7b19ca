//! The model: what the investigator looks at, where each cursor is, where
//! pivots came from, and the background jobs that fill the views. No
//! terminal I/O here: keys arrive as [`Action`]s and the view reads the model.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use capture::{Capture, LoadedChunk};
use engine::run::Alert;
use ruleset::{Diagnostic, Priority};

use crate::data::{self, DetailFormats, Job, Scan, Tree};
use crate::marks::{Mark, Marks};

/// The views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewKind {
    /// Alerts grouped by rule.
    Alerts,
    /// Events in capture order (all, filtered, or one process's).
    Timeline,
    /// The process tree.
    Processes,
    /// Every field of one event.
    Detail,
    /// The data read and written on one fd.
    Stream,
    /// Every problem: capture damage, lost events, rule diagnostics.
    Problems,
    /// The key map.
    Help,
}

impl ViewKind {
    /// Its name in the breadcrumb.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Alerts => "Alerts",
            ViewKind::Timeline => "Timeline",
            ViewKind::Processes => "Processes",
            ViewKind::Detail => "Event",
            ViewKind::Stream => "Data",
            ViewKind::Problems => "Problems",
            ViewKind::Help => "Help",
        }
    }
}

/// What is being typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Keys are commands.
    Normal,
    /// Text to search for.
    Search,
    /// A Falco condition.
    Filter,
    /// A bookmark's note.
    Note,
    /// A `:` command.
    Command,
    /// A query of the search index (Falco field names).
    Query,
}

/// What a key does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Show the key map.
    Help,
    /// Show a view (a pivot: Esc comes back).
    Show(ViewKind),
    /// Next view.
    NextView,
    /// Previous view.
    PrevView,
    /// Move the cursor by rows.
    Move(i64),
    /// Half a page down (1) or up (-1).
    HalfPage(i64),
    /// A page down (1) or up (-1).
    Page(i64),
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open what is selected.
    Pivot,
    /// Expand the selected group or process.
    Expand,
    /// Collapse it.
    Collapse,
    /// Back where the last pivot came from.
    Back,
    /// Start typing.
    StartInput(Mode),
    /// A typed character.
    InputChar(char),
    /// Delete the last character.
    InputBackspace,
    /// Clear the line.
    InputClear,
    /// Submit the line.
    InputSubmit,
    /// Abandon the line.
    InputCancel,
    /// Remove the filter or scope.
    ClearFilter,
    /// Next (1) or previous (-1) search hit.
    NextHit(i64),
    /// Next (1) or previous (-1) event with an alert.
    NextAlert(i64),
    /// Next bookmark.
    NextMark,
    /// Follow the data of the event's fd.
    Follow,
    /// Zoom the histogram in (1) or out (-1) around the cursor.
    Zoom(i32),
    /// The next (1) or previous (-1) capture, when several are open (the
    /// terminal loop switches; the model only says when there is none).
    SwitchCapture(i32),
    /// Show followed data as hex or as text.
    ToggleHex,
    /// Stop a running search or filter.
    Cancel,
    /// Suspend the program (the terminal loop does it).
    Suspend,
    /// A click on a row of the body (0-based row on screen).
    Click(u16),
    /// The mouse wheel: rows down (positive) or up.
    Wheel(i64),
}

/// The alerts of one rule.
#[derive(Clone, Debug)]
pub struct Group {
    /// Rule name.
    pub rule: String,
    /// Priority.
    pub priority: Priority,
    /// Indexes into [`App::alerts`], in event order.
    pub alerts: Vec<usize>,
    /// First and last alert time (Unix ns).
    pub first_ns: u64,
    /// Last alert time.
    pub last_ns: u64,
    /// Whether its alerts are listed.
    pub expanded: bool,
}

/// A row of the alerts view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertRow {
    /// A rule's group.
    Group(usize),
    /// One alert of a group.
    Alert(usize, usize),
}

/// A row of the process view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcRow {
    /// The node.
    pub node: usize,
    /// Depth in the tree.
    pub depth: usize,
}

/// What the timeline shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every event.
    All,
    /// The events a condition selected.
    Filter(String),
    /// The events of one process (a tree node).
    Process(usize),
}

/// Where a pivot came from, to come back to it.
#[derive(Clone, Debug)]
struct Place {
    view: ViewKind,
    label: String,
    alert_row: usize,
    timeline_row: u64,
    scope: Scope,
    rows: Option<Arc<Vec<u64>>>,
    proc_row: usize,
    detail: Option<(u64, Option<usize>)>,
}

/// The event shown in the detail view.
#[derive(Clone, Debug)]
pub struct DetailState {
    /// The event (0-based).
    pub seq: u64,
    /// The alert it was opened from.
    pub alert: Option<usize>,
    /// Its fields, or why they could not be read.
    pub fields: Result<Vec<(String, String)>, String>,
    /// Its one-line text.
    pub line: String,
    /// Scroll offset.
    pub scroll: usize,
}

/// What a running scan is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanFor {
    /// Filtering the timeline.
    Filter(String),
    /// A text search.
    Search(String),
    /// The events of a process.
    Process(usize),
}

/// The followed fd's data, as shown.
#[derive(Clone, Debug)]
pub struct StreamView {
    /// What the scan found.
    pub stream: data::Stream,
    /// The fd's name at the event it was opened from.
    pub name: String,
    /// Hex instead of text.
    pub hex: bool,
    /// Scroll offset.
    pub scroll: usize,
    /// Lines, as last drawn.
    pub rows: usize,
}

/// What an index query found: the events (0-based, in order) and how many
/// matched in all, or the error and its position in the query.
pub type IndexAnswer = Result<(Vec<u64>, usize), (String, Option<usize>)>;

/// Most hits of an index query kept for stepping through.
pub const INDEX_HITS: usize = 100_000;

/// Results of the background rule run.
pub type AlertsResult = Result<Vec<Alert>, String>;

/// The background rule run and its progress counter (events evaluated).
pub type AlertsJob = (Job<AlertsResult>, Arc<AtomicU64>);

/// The application state.
pub struct App {
    /// The capture.
    pub cap: Arc<Capture>,
    /// The view shown.
    pub view: ViewKind,
    /// Typing mode.
    pub mode: Mode,
    /// The line being typed.
    pub input: String,
    /// Where the caret of the last filter error points (column in `input`).
    pub input_error: Option<(usize, String)>,
    /// A message for the message line (never over the hint bar).
    pub message: String,
    /// Whether the message is an error.
    pub message_is_error: bool,
    /// Whether to quit.
    pub quit: bool,
    /// Rows in the body, as last drawn (the page size).
    pub page: usize,
    /// First body row on screen, as last drawn (for clicks).
    pub body_top: u16,
    /// Problems with the capture and the rules, shown in the header.
    pub problems: Vec<String>,
    /// Rule load diagnostics (errors and warnings), shown in the alerts view.
    pub rule_diags: Vec<Diagnostic>,
    /// Rule files (for the macros and lists of filters).
    pub rule_files: Vec<PathBuf>,
    /// Their macros and lists, read the first time a filter or a column
    /// needs them.
    filter_defs: std::cell::OnceCell<ruleset::filter::FilterDefinitions>,

    /// Alerts, in event order (empty until the rule run ends).
    pub alerts: Vec<Alert>,
    /// Alerts grouped by rule, most severe first.
    pub groups: Vec<Group>,
    /// Rows of the alerts view.
    pub alert_rows: Vec<AlertRow>,
    /// Selected row.
    pub alert_row: usize,
    /// Status of the rule run.
    pub alerts_status: String,
    alerts_job: Option<Job<AlertsResult>>,
    alerts_progress: Option<Arc<AtomicU64>>,
    /// Event numbers (0-based) with alerts, sorted.
    pub alert_events: Vec<u64>,

    /// Total events.
    pub events_total: u64,
    /// What the timeline shows.
    pub scope: Scope,
    /// The rows of a filtered or scoped timeline (event numbers).
    pub rows: Option<Arc<Vec<u64>>>,
    /// Selected timeline row.
    pub timeline_row: u64,
    /// Search text and its hits.
    pub search: Option<(String, Arc<Vec<u64>>)>,
    scan_job: Option<(ScanFor, Job<data::ScanResult>)>,

    /// The process tree (when built).
    pub tree: Option<Tree>,
    tree_job: Option<Job<Tree>>,
    /// Collapsed process nodes.
    pub collapsed: BTreeSet<usize>,
    /// Text the tree is filtered by.
    pub tree_filter: String,
    /// Rows of the process view.
    pub proc_rows: Vec<ProcRow>,
    /// Selected process row.
    pub proc_row: usize,

    /// The detail view's event.
    pub detail: Option<DetailState>,
    formats: Option<DetailFormats>,

    /// Bookmarks.
    pub marks: Marks,
    /// Lines of the detail view, as last drawn.
    pub detail_rows: usize,
    /// Which of the open captures this is (`2/3`), empty with one.
    pub capture_label: String,
    /// Histogram zoom: the span shown is the capture's over 2^zoom.
    pub zoom: u32,
    /// Selected row of the problems view.
    pub problems_row: usize,
    /// The followed fd.
    pub stream: Option<StreamView>,
    follow_job: Option<(String, Job<data::Stream>)>,
    index_job: Option<(String, Job<IndexAnswer>, Arc<AtomicU64>)>,
    /// Fields shown as timeline columns (`:columns`).
    pub columns: Vec<String>,
    column_formats: Arc<Vec<Vec<ruleset::compile::OutputPart>>>,
    /// Column values per chunk (the last few), and the chunks being computed.
    column_cache: Vec<(usize, Arc<Vec<Vec<String>>>)>,
    column_jobs: HashMap<usize, Job<Vec<Vec<String>>>>,

    history: Vec<Place>,
    cache: ChunkCache,
    anchor: u64,
}

/// How many decoded chunks the timeline keeps.
const CACHE_CHUNKS: usize = 4;

impl App {
    /// Opens the model on a capture. The process tree is built in the
    /// background at once; `alerts` is the rule run (started by the
    /// caller), with its progress counter.
    pub fn new(
        cap: Arc<Capture>,
        alerts: Option<AlertsJob>,
        rule_diags: Vec<Diagnostic>,
        rule_files: Vec<PathBuf>,
    ) -> App {
        let events_total = cap.event_count();
        let anchor = cap.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0);
        let mut problems: Vec<String> = cap.problems().iter().map(|e| e.to_string()).collect();
        if let Some(lost) = cap.lost_events().filter(|&n| n > 0) {
            problems.push(format!(
                "the recorder lost {lost} events (gaps are marked in the alerts)"
            ));
        }
        let c2 = cap.clone();
        let tree_job = Some(Job::spawn(move |p| data::build_tree(&c2, p)));
        let (alerts_job, alerts_progress) = match alerts {
            Some((j, p)) => (Some(j), Some(p)),
            None => (None, None),
        };
        let errors = rule_diags
            .iter()
            .filter(|d| d.severity == ruleset::Severity::Error)
            .count();
        let alerts_status = match (&alerts_job, errors) {
            (Some(_), 0) => "running rules".to_string(),
            (Some(_), n) => format!("running rules ({n} rule errors: see below)"),
            (None, _) => "no rules given (--rules)".into(),
        };
        let marks = Marks::load(&Marks::path_for(cap.name()));
        let mut app = App {
            cap,
            view: ViewKind::Alerts,
            mode: Mode::Normal,
            input: String::new(),
            input_error: None,
            message: String::new(),
            message_is_error: false,
            quit: false,
            page: 20,
            body_top: 0,
            problems,
            rule_diags,
            rule_files,
            filter_defs: std::cell::OnceCell::new(),
            alerts: Vec::new(),
            groups: Vec::new(),
            alert_rows: Vec::new(),
            alert_row: 0,
            alerts_status,
            alerts_job,
            alerts_progress,
            alert_events: Vec::new(),
            events_total,
            scope: Scope::All,
            rows: None,
            timeline_row: 0,
            search: None,
            scan_job: None,
            tree: None,
            tree_job,
            collapsed: BTreeSet::new(),
            tree_filter: String::new(),
            proc_rows: Vec::new(),
            proc_row: 0,
            detail: None,
            formats: None,
            marks: Marks::default(),
            detail_rows: 0,
            capture_label: String::new(),
            zoom: 0,
            problems_row: 0,
            stream: None,
            follow_job: None,
            index_job: None,
            columns: Vec::new(),
            column_formats: Arc::new(Vec::new()),
            column_cache: Vec::new(),
            column_jobs: HashMap::new(),
            history: Vec::new(),
            cache: ChunkCache::default(),
            anchor,
        };
        match marks {
            Ok(m) => app.marks = m,
            Err(e) => app.error(format!("bookmarks not read: {e}")),
        }
        if app.alerts_job.is_none() {
            app.view = ViewKind::Timeline;
        }
        app
    }

    fn say(&mut self, m: impl Into<String>) {
        self.message = m.into();
        self.message_is_error = false;
    }

    fn error(&mut self, m: impl Into<String>) {
        self.message = m.into();
        self.message_is_error = true;
    }

    /// Takes the results of background jobs that have finished.
    pub fn poll(&mut self) {
        if let Some(j) = &self.alerts_job {
            if let Some(r) = j.try_take() {
                self.alerts_job = None;
                match r {
                    Ok(a) => self.set_alerts(a),
                    Err(e) => self.alerts_status = format!("rules failed: {e}"),
                }
            }
        }
        if let Some(j) = &self.tree_job {
            if let Some(t) = j.try_take() {
                self.tree_job = None;
                for d in &t.damaged {
                    self.problems.push(format!("damaged chunk skipped: {d}"));
                }
                self.tree = Some(t);
                self.count_tree_alerts();
                self.rebuild_proc_rows();
            }
        }
        let done: Vec<usize> = self
            .column_jobs
            .iter()
            .filter_map(|(c, j)| j.try_take().map(|v| (*c, v)))
            .map(|(c, v)| {
                if self.column_cache.len() >= CACHE_CHUNKS * 2 {
                    self.column_cache.remove(0);
                }
                self.column_cache.push((c, Arc::new(v)));
                c
            })
            .collect();
        for c in done {
            self.column_jobs.remove(&c);
        }
        if let Some((query, j, _)) = &self.index_job {
            if let Some(r) = j.try_take() {
                let query = query.clone();
                self.index_job = None;
                match r {
                    Ok((hits, total)) => {
                        let n = hits.len();
                        self.search = Some((query.clone(), Arc::new(hits)));
                        if n == 0 {
                            self.error(format!("index: nothing matches {query}"));
                        } else {
                            self.say(format!(
                                "index: {total} events match {query}{}: n/N step through them",
                                if total > n {
                                    format!(" (the first {n} kept)")
                                } else {
                                    String::new()
                                }
                            ));
                            self.next_hit(0);
                        }
                    }
                    Err((why, pos)) => {
                        self.mode = Mode::Query;
                        self.input = query;
                        self.input_error = Some((pos.unwrap_or(0), why.clone()));
                        self.error(format!("index query: {why}"));
                    }
                }
            }
        }
        if let Some((name, j)) = &self.follow_job {
            if let Some(st) = j.try_take() {
                let name = name.clone();
                self.follow_job = None;
                self.push_history();
                let n = st.transfers.len();
                let bytes: usize = st.transfers.iter().map(|t| t.data.len()).sum();
                self.say(format!(
                    "{n} reads and writes, {bytes} bytes recorded{} (x: hex)",
                    if st.complete {
                        ""
                    } else {
                        " (cancelled: partial)"
                    }
                ));
                self.stream = Some(StreamView {
                    stream: st,
                    name,
                    hex: false,
                    scroll: 0,
                    rows: 0,
                });
                self.view = ViewKind::Stream;
            }
        }
        if let Some((what, j)) = &self.scan_job {
            if let Some((hits, complete)) = j.try_take() {
                let what = what.clone();
                self.scan_job = None;
                self.scan_done(what, hits, complete);
            }
        }
    }

    /// Waits for the background jobs (tests).
    pub fn wait_all(&mut self) {
        while self.alerts_job.is_some()
            || self.tree_job.is_some()
            || self.scan_job.is_some()
            || self.follow_job.is_some()
            || self.index_job.is_some()
            || !self.column_jobs.is_empty()
        {
            self.poll();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Work in progress, for the status line: (what, percent).
    pub fn busy(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        if self.alerts_job.is_some() {
            let done = self
                .alerts_progress
                .as_ref()
                .map_or(0, |p| p.load(Ordering::Relaxed));
            out.push((
                "rules".to_string(),
                (done * 100).checked_div(self.events_total).unwrap_or(0),
            ));
        }
        if let Some(j) = &self.tree_job {
            out.push(("process tree".into(), j.progress.percent()));
        }
        if let Some((what, j)) = &self.scan_job {
            let name = match what {
                ScanFor::Filter(_) => "filter",
                ScanFor::Search(_) => "search",
                ScanFor::Process(_) => "process events",
            };
            out.push((format!("{name} (Ctrl-c cancels)"), j.progress.percent()));
        }
        if let Some((_, j)) = &self.follow_job {
            out.push(("fd data (Ctrl-c cancels)".into(), j.progress.percent()));
        }
        if let Some((_, _, done)) = &self.index_job {
            let done = done.load(Ordering::Relaxed);
            out.push((
                "index (built once, beside the capture)".into(),
                (done * 100)
                    .checked_div(self.events_total)
                    .unwrap_or(0)
                    .min(100),
            ));
        }
        out
    }

    fn set_alerts(&mut self, mut alerts: Vec<Alert>) {
        alerts.sort_by_key(|a| a.evt_num);
        let mut by_rule: HashMap<&str, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for (i, a) in alerts.iter().enumerate() {
            let g = *by_rule.entry(a.rule.as_str()).or_insert_with(|| {
                groups.push(Group {
                    rule: a.rule.clone(),
                    priority: a.priority,
                    alerts: Vec::new(),
                    first_ns: a.time_ns,
                    last_ns: a.time_ns,
                    expanded: false,
                });
                groups.len() - 1
            });
            let gr = &mut groups[g];
            gr.alerts.push(i);
            gr.first_ns = gr.first_ns.min(a.time_ns);
            gr.last_ns = gr.last_ns.max(a.time_ns);
        }
        groups.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then(b.alerts.len().cmp(&a.alerts.len()))
                .then(a.rule.cmp(&b.rule))
        });
        self.alert_events = alerts.iter().map(|a| a.evt_num.saturating_sub(1)).collect();
        self.alert_events.dedup();
        let in_gap = alerts.iter().filter(|a| a.in_gap).count();
        self.alerts_status = format!(
            "{} alerts of {} rules{}",
            alerts.len(),
            groups.len(),
            if in_gap > 0 {
                format!(", {in_gap} inside recorded gaps")
            } else {
                String::new()
            }
        );
        self.alerts = alerts;
        self.groups = groups;
        self.rebuild_alert_rows();
        self.count_tree_alerts();
    }

    fn count_tree_alerts(&mut self) {
        if self.alerts.is_empty() {
            return;
        }
        let Some(tree) = &mut self.tree else { return };
        let keys: Vec<(u32, u64)> = self
            .alerts
            .iter()
            .filter_map(|a| {
                let pid = a
                    .output_fields
                    .iter()
                    .find(|(n, _)| n == "proc.pid")
                    .and_then(|(_, v)| v.render().parse::<u32>().ok());
                pid.map(|p| (p, a.evt_num.saturating_sub(1)))
            })
            .collect();
        // Alerts whose output names no pid are counted by their event's pid.
        let mut keys = keys;
        if keys.len() < self.alerts.len() {
            keys.clear();
            let evs: Vec<u64> = self
                .alerts
                .iter()
                .map(|a| a.evt_num.saturating_sub(1))
                .collect();
            for seq in evs {
                if let Some(pid) = event_pid(&self.cap, &mut self.cache, seq) {
                    keys.push((pid, seq));
                }
            }
        }
        tree.count_alerts(&keys);
    }

    fn rebuild_alert_rows(&mut self) {
        let mut rows = Vec::new();
        for (g, gr) in self.groups.iter().enumerate() {
            rows.push(AlertRow::Group(g));
            if gr.expanded {
                rows.extend((0..gr.alerts.len()).map(|k| AlertRow::Alert(g, k)));
            }
        }
        self.alert_rows = rows;
        self.alert_row = self.alert_row.min(self.alert_rows.len().saturating_sub(1));
    }

    /// Rebuilds the rows of the process view from the tree, the collapsed
    /// nodes and the tree filter.
    pub fn rebuild_proc_rows(&mut self) {
        let Some(tree) = &self.tree else { return };
        let needle = self.tree_filter.to_lowercase();
        // With a filter: the matching nodes and their ancestors.
        let keep: Option<BTreeSet<usize>> = (!needle.is_empty()).then(|| {
            let mut keep = BTreeSet::new();
            for (i, n) in tree.nodes.iter().enumerate() {
                let hit = n.pid.to_string() == needle
                    || n.execs.iter().any(|x| {
                        x.comm.to_lowercase().contains(&needle)
                            || x.cmdline.to_lowercase().contains(&needle)
                            || x.exe.to_lowercase().contains(&needle)
                    });
                if hit {
                    keep.insert(i);
                    keep.extend(tree.ancestors(i));
                }
            }
            keep
        });
        let mut rows = Vec::new();
        let mut stack: Vec<(usize, usize)> = tree.roots.iter().rev().map(|&r| (r, 0)).collect();
        while let Some((n, depth)) = stack.pop() {
            if keep.as_ref().is_some_and(|k| !k.contains(&n)) {
                continue;
            }
            rows.push(ProcRow { node: n, depth });
            if self.collapsed.contains(&n) && keep.is_none() {
                continue;
            }
            for &c in tree.nodes[n].children.iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        self.proc_rows = rows;
        self.proc_row = self.proc_row.min(self.proc_rows.len().saturating_sub(1));
    }

    /// Rows in the timeline.
    pub fn timeline_len(&self) -> u64 {
        match &self.rows {
            Some(r) => r.len() as u64,
            None => self.events_total,
        }
    }

    /// The event (0-based) at timeline row `row`.
    pub fn timeline_seq(&self, row: u64) -> Option<u64> {
        match &self.rows {
            Some(r) => r.get(row as usize).copied(),
            None => (row < self.events_total).then_some(row),
        }
    }

    fn row_of_seq(&self, seq: u64) -> u64 {
        match &self.rows {
            Some(r) => r.partition_point(|&s| s < seq) as u64,
            None => seq,
        }
    }

    /// The one-line text of event `seq`, or why it cannot be read.
    pub fn event_line(&mut self, seq: u64) -> Result<String, String> {
        with_event(&self.cap, &mut self.cache, seq, |e| {
            engine::print::line(e, self.anchor)
        })
    }

    /// Every problem, one line each: the capture's (damage, lost events,
    /// chunks skipped), then the rules' errors and warnings.
    pub fn problem_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.problems.clone();
        if let Some(t) = &self.tree {
            if t.cancelled {
                v.push("the process tree was not finished".into());
            }
        }
        let gaps = self.alerts.iter().filter(|a| a.in_gap).count();
        if gaps > 0 {
            v.push(format!(
                "{gaps} alerts are inside spans where the recorder lost events (evidence around them is incomplete)"
            ));
        }
        for d in &self.rule_diags {
            v.push(format!("rules: {} ({})", diag_line(d), d.code));
        }
        v
    }

    /// Chunks decoded for the screen so far (the cache keeps the last four).
    pub fn chunk_loads(&self) -> u64 {
        self.cache.loads
    }

    /// The command name of the process of event `seq` (from the tree).
    pub fn event_comm(&mut self, seq: u64) -> Option<String> {
        let pid = event_pid(&self.cap, &mut self.cache, seq)?;
        self.tree
            .as_ref()
            .and_then(|t| t.comm_at(pid, seq))
            .map(str::to_string)
    }

    fn rows_in_view(&self) -> u64 {
        match self.view {
            ViewKind::Alerts => self.alert_rows.len() as u64,
            ViewKind::Timeline => self.timeline_len(),
            ViewKind::Processes => self.proc_rows.len() as u64,
            ViewKind::Detail => self
                .detail_rows
                .saturating_sub(self.page.saturating_sub(1))
                .max(1) as u64,
            ViewKind::Stream => self.stream.as_ref().map_or(1, |s| {
                s.rows.saturating_sub(self.page.saturating_sub(1)).max(1)
            }) as u64,
            ViewKind::Problems => self.problem_lines().len() as u64,
            ViewKind::Help => crate::keys::bindings().len() as u64 + 4,
        }
    }

    fn cursor(&self) -> u64 {
        match self.view {
            ViewKind::Alerts => self.alert_row as u64,
            ViewKind::Timeline => self.timeline_row,
            ViewKind::Processes => self.proc_row as u64,
            ViewKind::Detail => self.detail.as_ref().map_or(0, |d| d.scroll as u64),
            ViewKind::Stream => self.stream.as_ref().map_or(0, |s| s.scroll as u64),
            ViewKind::Problems => self.problems_row as u64,
            ViewKind::Help => 0,
        }
    }

    fn set_cursor(&mut self, row: i64) {
        let max = self.rows_in_view().saturating_sub(1);
        let row = (row.max(0) as u64).min(max);
        match self.view {
            ViewKind::Alerts => self.alert_row = row as usize,
            ViewKind::Timeline => self.timeline_row = row,
            ViewKind::Processes => self.proc_row = row as usize,
            ViewKind::Detail => {
                if let Some(d) = &mut self.detail {
                    d.scroll = row as usize;
                }
            }
            ViewKind::Stream => {
                if let Some(s) = &mut self.stream {
                    s.scroll = row as usize;
                }
            }
            ViewKind::Problems => self.problems_row = row as usize,
            ViewKind::Help => {}
        }
    }

    fn here(&self, label: String) -> Place {
        Place {
            view: self.view,
            label,
            alert_row: self.alert_row,
            timeline_row: self.timeline_row,
            scope: self.scope.clone(),
            rows: self.rows.clone(),
            proc_row: self.proc_row,
            detail: self.detail.as_ref().map(|d| (d.seq, d.alert)),
        }
    }

    /// The label of the current place, for the breadcrumb.
    pub fn label(&self) -> String {
        match self.view {
            ViewKind::Alerts => match self.alert_rows.get(self.alert_row) {
                Some(AlertRow::Group(g) | AlertRow::Alert(g, _)) => {
                    format!("Alerts: {}", self.groups[*g].rule)
                }
                None => "Alerts".into(),
            },
            ViewKind::Timeline => match &self.scope {
                Scope::All => "Timeline".into(),
                Scope::Filter(f) => format!("Timeline [{f}]"),
                Scope::Process(n) => format!("Events of {}", self.node_name(*n)),
            },
            ViewKind::Processes => "Processes".into(),
            ViewKind::Detail => match &self.detail {
                Some(d) => format!("Event {}", d.seq + 1),
                None => "Event".into(),
            },
            ViewKind::Stream => match &self.stream {
                Some(s) => format!("Data of fd {} of {}", s.stream.fd, s.stream.pid),
                None => "Data".into(),
            },
            ViewKind::Problems => "Problems".into(),
            ViewKind::Help => "Help".into(),
        }
    }

    /// `name(pid)` of a tree node.
    pub fn node_name(&self, n: usize) -> String {
        match self.tree.as_ref().and_then(|t| t.nodes.get(n)) {
            Some(p) => format!(
                "{}({})",
                p.last().map(|x| x.comm.as_str()).unwrap_or("?"),
                p.pid
            ),
            None => format!("process #{n}"),
        }
    }

    /// The breadcrumb: the places pivots came from, then here.
    pub fn breadcrumb(&self) -> Vec<String> {
        let mut v: Vec<String> = self.history.iter().map(|p| p.label.clone()).collect();
        v.push(self.label());
        v
    }

    fn push_history(&mut self) {
        let p = self.here(self.label());
        self.history.push(p);
        if self.history.len() > 100 {
            self.history.remove(0);
        }
    }

    fn back(&mut self) {
        let Some(p) = self.history.pop() else {
            self.say("nothing to go back to (q quits)");
            return;
        };
        self.view = p.view;
        self.alert_row = p.alert_row;
        self.timeline_row = p.timeline_row;
        self.scope = p.scope;
        self.rows = p.rows;
        self.proc_row = p.proc_row;
        if let Some((seq, alert)) = p.detail {
            if self.detail.as_ref().map(|d| d.seq) != Some(seq) {
                self.open_detail(seq, alert);
            }
        }
    }

    /// Applies an action.
    pub fn handle(&mut self, a: Action) {
        if self.mode == Mode::Normal {
            self.message.clear();
        }
        match a {
            Action::Quit => self.quit = true,
            Action::Help => {
                if self.view != ViewKind::Help {
                    self.push_history();
                    self.view = ViewKind::Help;
                }
            }
            Action::Show(v) => {
                if v != self.view {
                    self.push_history();
                    self.view = v;
                }
            }
            Action::NextView | Action::PrevView => {
                let order = [ViewKind::Alerts, ViewKind::Timeline, ViewKind::Processes];
                let i = order.iter().position(|v| *v == self.view).unwrap_or(0) as i64;
                let d = if a == Action::NextView { 1 } else { -1 };
                self.view = order[(i + d).rem_euclid(order.len() as i64) as usize];
            }
            Action::Move(d) => self.set_cursor(self.cursor() as i64 + d),
            Action::Wheel(d) => self.set_cursor(self.cursor() as i64 + d),
            Action::HalfPage(d) => {
                self.set_cursor(self.cursor() as i64 + d * (self.page as i64 / 2).max(1))
            }
            Action::Page(d) => self.set_cursor(self.cursor() as i64 + d * self.page.max(1) as i64),
            Action::Top => self.set_cursor(0),
            Action::Bottom => self.set_cursor(i64::MAX),
            Action::Click(row) => {
                if row >= self.body_top {
                    let offset = (row - self.body_top) as u64;
                    let first = crate::ui::window(
                        self.rows_in_view() as usize,
                        self.cursor() as usize,
                        self.page,
                    )
                    .start as u64;
                    self.set_cursor((first + offset) as i64);
                }
            }
            Action::Pivot => self.pivot(),
            Action::Expand => self.expand(true),
            Action::Collapse => self.expand(false),
            Action::Back => self.back(),
            Action::StartInput(m) => {
                if m == Mode::Note && self.current_seq().is_none() {
                    self.error("no event here to bookmark");
                    return;
                }
                self.mode = m;
                self.input = match m {
                    Mode::Filter => match &self.scope {
                        Scope::Filter(f) => f.clone(),
                        _ => String::new(),
                    },
                    Mode::Search if self.view == ViewKind::Processes => self.tree_filter.clone(),
                    _ => String::new(),
                };
                self.input_error = None;
            }
            Action::InputChar(c) => {
                self.input.push(c);
                self.input_error = None;
            }
            Action::InputBackspace => {
                self.input.pop();
                self.input_error = None;
            }
            Action::InputClear => self.input.clear(),
            Action::InputCancel => {
                self.mode = Mode::Normal;
                self.input_error = None;
            }
            Action::InputSubmit => self.submit(),
            Action::ClearFilter => {
                if self.view == ViewKind::Processes {
                    self.tree_filter.clear();
                    self.rebuild_proc_rows();
                } else if self.scope != Scope::All {
                    let seq = self.current_seq();
                    self.scope = Scope::All;
                    self.rows = None;
                    if let Some(s) = seq {
                        self.timeline_row = s;
                    }
                    self.say("showing every event");
                }
            }
            Action::NextHit(d) => self.next_hit(d),
            Action::NextAlert(d) => self.next_alert(d),
            Action::NextMark => self.next_mark(),
            Action::Follow => self.follow(),
            Action::SwitchCapture(_) => self.say("one capture is open"),
            Action::Zoom(d) => {
                self.zoom = (self.zoom as i32 + d).clamp(0, MAX_ZOOM as i32) as u32;
                self.say(format!(
                    "histogram: 1/{} of the capture around the cursor",
                    1u64 << self.zoom
                ));
            }
            Action::ToggleHex => {
                if let Some(s) = &mut self.stream {
                    s.hex = !s.hex;
                    s.scroll = 0;
                }
            }
            Action::Cancel => {
                let mut any = false;
                if let Some((_, j)) = &self.scan_job {
                    j.cancel();
                    any = true;
                }
                if let Some((_, j)) = &self.follow_job {
                    j.cancel();
                    any = true;
                }
                if self.index_job.take().is_some() {
                    // The build cannot stop half-way; it finishes on its
                    // own and the next query uses it.
                    self.say("index query cancelled (the index build finishes in the background)");
                    return;
                }
                if any {
                    self.say("cancelling...");
                } else {
                    self.say("nothing running to cancel (q quits)");
                }
            }
            Action::Suspend => {}
        }
    }

    /// Handles a key the map does not bind: says so.
    pub fn unbound(&mut self, key: &str) {
        self.error(format!(
            "'{key}' does nothing in {} (? shows the keys)",
            self.view.name()
        ));
    }

    /// The event under the cursor, in the timeline or detail view.
    pub fn current_seq(&self) -> Option<u64> {
        match self.view {
            ViewKind::Timeline => self.timeline_seq(self.timeline_row),
            ViewKind::Detail => self.detail.as_ref().map(|d| d.seq),
            ViewKind::Alerts => match self.alert_rows.get(self.alert_row) {
                Some(AlertRow::Alert(g, k)) => self
                    .alerts
                    .get(self.groups[*g].alerts[*k])
                    .map(|a| a.evt_num.saturating_sub(1)),
                _ => None,
            },
            _ => None,
        }
    }

    fn expand(&mut self, open: bool) {
        match self.view {
            ViewKind::Alerts => {
                let g = match self.alert_rows.get(self.alert_row) {
                    Some(AlertRow::Group(g) | AlertRow::Alert(g, _)) => *g,
                    None => return,
                };
                self.groups[g].expanded = open;
                self.rebuild_alert_rows();
                if !open {
                    if let Some(r) = self
                        .alert_rows
                        .iter()
                        .position(|r| *r == AlertRow::Group(g))
                    {
                        self.alert_row = r;
                    }
                }
            }
            ViewKind::Processes => {
                let Some(r) = self.proc_rows.get(self.proc_row).copied() else {
                    return;
                };
                if open {
                    self.collapsed.remove(&r.node);
                } else {
                    self.collapsed.insert(r.node);
                }
                self.rebuild_proc_rows();
            }
            _ => {}
        }
    }

    fn pivot(&mut self) {
        match self.view {
            ViewKind::Alerts => match self.alert_rows.get(self.alert_row).copied() {
                Some(AlertRow::Group(g)) => {
                    let open = !self.groups[g].expanded;
                    self.groups[g].expanded = open;
                    self.rebuild_alert_rows();
                }
                Some(AlertRow::Alert(g, k)) => {
                    let i = self.groups[g].alerts[k];
                    let seq = self.alerts[i].evt_num.saturating_sub(1);
                    self.push_history();
                    self.open_detail(seq, Some(i));
                    self.view = ViewKind::Detail;
                }
                None => self.say("no alert here"),
            },
            ViewKind::Timeline => match self.timeline_seq(self.timeline_row) {
                Some(seq) => {
                    self.push_history();
                    let alert = self
                        .alerts
                        .iter()
                        .position(|a| a.evt_num.saturating_sub(1) == seq);
                    self.open_detail(seq, alert);
                    self.view = ViewKind::Detail;
                }
                None => self.say("no event here"),
            },
            ViewKind::Detail => {
                let Some(d) = &self.detail else { return };
                let seq = d.seq;
                let Some(pid) = event_pid(&self.cap, &mut self.cache, seq) else {
                    self.error("the event is unreadable");
                    return;
                };
                let Some(node) = self.tree.as_ref().and_then(|t| t.node_at(pid, seq)) else {
                    self.error(if self.tree.is_none() {
                        "the process tree is still being built".to_string()
                    } else {
                        format!("process {pid} is not in the tree")
                    });
                    return;
                };
                self.push_history();
                self.tree_filter.clear();
                // Make the node visible: expand its ancestors.
                if let Some(t) = &self.tree {
                    for a in t.ancestors(node) {
                        self.collapsed.remove(&a);
                    }
                }
                self.rebuild_proc_rows();
                if let Some(r) = self.proc_rows.iter().position(|r| r.node == node) {
                    self.proc_row = r;
                }
                self.view = ViewKind::Processes;
                self.say(format!("the process of event {}", seq + 1));
            }
            ViewKind::Processes => {
                let Some(r) = self.proc_rows.get(self.proc_row).copied() else {
                    return;
                };
                self.start_scan(ScanFor::Process(r.node));
            }
            ViewKind::Help | ViewKind::Stream | ViewKind::Problems => self.back(),
        }
    }

    /// Starts following the data of the fd of the event under the cursor.
    fn follow(&mut self) {
        let Some(seq) = self.current_seq() else {
            self.error("no event here");
            return;
        };
        let Some((pid, fd)) = data::fd_of_event(&self.cap, seq) else {
            self.error(format!("event {} uses no fd", seq + 1));
            return;
        };
        let name = self
            .detail
            .as_ref()
            .filter(|d| d.seq == seq)
            .and_then(|d| d.fields.as_ref().ok())
            .and_then(|f| {
                f.iter()
                    .find(|(k, _)| k == "fd.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default();
        if let Some((_, j)) = self.follow_job.take() {
            j.cancel();
        }
        let cap = self.cap.clone();
        self.follow_job = Some((
            name,
            Job::spawn(move |p| data::follow(&cap, pid, fd, seq, p)),
        ));
    }

    /// Opens the detail of event `seq` (resolving its fields now, from the
    /// nearest state checkpoint).
    pub fn open_detail(&mut self, seq: u64, alert: Option<usize>) {
        let formats = self.formats.get_or_insert_with(data::detail_formats);
        let fields = data::detail(&self.cap, self.tree.as_ref(), formats, seq);
        let line = self.event_line(seq).unwrap_or_else(|e| e);
        self.detail = Some(DetailState {
            seq,
            alert,
            fields,
            line,
            scroll: 0,
        });
    }

    fn start_scan(&mut self, what: ScanFor) {
        if let Some((_, j)) = self.scan_job.take() {
            j.cancel();
        }
        let cap = self.cap.clone();
        let job = match &what {
            ScanFor::Search(text) => {
                let t = text.to_lowercase();
                Job::spawn(move |p| data::scan(&cap, &Scan::Text(t), p))
            }
            ScanFor::Filter(cond) => match self.filter_defs().compile(Some(cond), None) {
                Ok(f) => match f.program {
                    Some(prog) => {
                        let prog = Arc::new(prog);
                        Job::spawn(move |p| data::scan(&cap, &Scan::Filter(prog), p))
                    }
                    None => return,
                },
                Err(diags) => {
                    let d = &diags[0];
                    let col = if d.file == "--filter" {
                        d.column.saturating_sub(1)
                    } else {
                        0
                    };
                    self.mode = Mode::Filter;
                    self.input = cond.clone();
                    self.input_error = Some((col, d.message.clone()));
                    self.error(format!("filter: {}", d.message));
                    return;
                }
            },
            ScanFor::Process(n) => {
                let Some(p) = self.tree.as_ref().and_then(|t| t.nodes.get(*n)) else {
                    return;
                };
                let (pid, from, to) = (
                    p.pid,
                    p.first_seq.unwrap_or(0),
                    p.end_seq.unwrap_or(u64::MAX),
                );
                let what = Scan::Process { pid, from, to };
                Job::spawn(move |p| data::scan(&cap, &what, p))
            }
        };
        self.scan_job = Some((what, job));
    }

    fn scan_done(&mut self, what: ScanFor, hits: Vec<u64>, complete: bool) {
        let partial = if complete {
            ""
        } else {
            " (cancelled: partial)"
        };
        match what {
            ScanFor::Search(text) => {
                let n = hits.len();
                self.search = Some((text.clone(), Arc::new(hits)));
                if n == 0 {
                    self.error(format!("'{text}' not found{partial}"));
                } else {
                    self.say(format!(
                        "{n} events contain '{text}'{partial}: n/N step through them"
                    ));
                    self.next_hit(0);
                }
            }
            ScanFor::Filter(cond) => {
                let seq = self.current_seq();
                self.push_history();
                let n = hits.len();
                self.rows = Some(Arc::new(hits));
                self.scope = Scope::Filter(cond);
                self.timeline_row = seq.map_or(0, |s| self.row_of_seq(s));
                self.view = ViewKind::Timeline;
                self.say(format!("{n} events match{partial} (F clears the filter)"));
            }
            ScanFor::Process(node) => {
                self.push_history();
                let n = hits.len();
                self.rows = Some(Arc::new(hits));
                self.scope = Scope::Process(node);
                self.timeline_row = 0;
                self.view = ViewKind::Timeline;
                self.say(format!("{n} events of {}{partial}", self.node_name(node)));
            }
        }
    }

    fn submit(&mut self) {
        let text = self.input.trim().to_string();
        let mode = self.mode;
        self.mode = Mode::Normal;
        match mode {
            Mode::Normal => {}
            Mode::Search if self.view == ViewKind::Processes => {
                self.tree_filter = text.clone();
                self.rebuild_proc_rows();
                self.say(if text.is_empty() {
                    "tree unfiltered".to_string()
                } else {
                    format!("{} processes shown for '{text}'", self.proc_rows.len())
                });
            }
            Mode::Search => {
                if text.is_empty() {
                    self.search = None;
                } else {
                    self.start_scan(ScanFor::Search(text));
                }
            }
            Mode::Filter => {
                if text.is_empty() {
                    self.handle(Action::ClearFilter);
                } else {
                    self.start_scan(ScanFor::Filter(text));
                }
            }
            Mode::Note => {
                let Some(seq) = self.current_seq() else {
                    return;
                };
                let line = self.event_line(seq).unwrap_or_default();
                self.marks.set(Mark {
                    evt_num: seq + 1,
                    note: text,
                    line,
                });
                match self.marks.save() {
                    Ok(p) => self.say(format!("bookmarked event {} in {}", seq + 1, p.display())),
                    Err(e) => self.error(format!("bookmark NOT saved: {e}")),
                }
            }
            Mode::Command => self.command(&text),
            Mode::Query => self.start_index_query(text),
        }
    }

    /// The rule files' macros and lists, read once.
    fn filter_defs(&self) -> &ruleset::filter::FilterDefinitions {
        self.filter_defs
            .get_or_init(|| ruleset::filter::FilterDefinitions::read(&self.rule_files))
    }

    /// Shows `fields` (Falco field names) as timeline columns; none: the
    /// default columns only. A field that does not compile is named and
    /// nothing changes.
    pub fn set_columns(&mut self, fields: Vec<String>) {
        let mut formats = Vec::new();
        for f in &fields {
            let name = f.trim_start_matches('%');
            match self.filter_defs().compile(None, Some(&format!("%{name}"))) {
                Ok(sel) => formats.push(sel.format.unwrap_or_default()),
                Err(d) => {
                    let why = d.first().map(|d| d.message.clone()).unwrap_or_default();
                    self.error(format!(":columns: {name}: {why}"));
                    return;
                }
            }
        }
        self.columns = fields
            .iter()
            .map(|f| f.trim_start_matches('%').to_string())
            .collect();
        self.column_formats = Arc::new(formats);
        self.column_cache.clear();
        for (_, j) in self.column_jobs.drain() {
            j.cancel();
        }
        self.say(if self.columns.is_empty() {
            "default columns".to_string()
        } else {
            format!(
                "columns: {} (computed chunk by chunk in the background)",
                self.columns.join(", ")
            )
        });
    }

    /// The values of the chosen columns for event `seq`: `None` while they
    /// are being computed (the computation starts here).
    pub fn column_values(&mut self, seq: u64) -> Option<Vec<String>> {
        if self.columns.is_empty() {
            return Some(Vec::new());
        }
        let i = self.cap.chunk_of(seq)?;
        let first = self.cap.chunks()[i].first_seq;
        if let Some((_, v)) = self.column_cache.iter().find(|(c, _)| *c == i) {
            return v.get((seq - first) as usize).cloned();
        }
        if !self.column_jobs.contains_key(&i) {
            let (from, start) = data::start_before(&self.cap, self.tree.as_ref(), i);
            let (cap, formats) = (self.cap.clone(), self.column_formats.clone());
            self.column_jobs.insert(
                i,
                Job::spawn(move |_| data::chunk_columns(&cap, start, from, i, &formats)),
            );
        }
        None
    }

    /// Runs an index query in the background, building the index beside
    /// the capture first when it is missing or stale.
    fn start_index_query(&mut self, query: String) {
        if query.is_empty() {
            self.search = None;
            return;
        }
        if let Err(e) = index::query::prepare(&query) {
            self.mode = Mode::Query;
            self.input = query;
            self.input_error = Some((e.position.unwrap_or(0), e.message.clone()));
            self.error(format!("index query: {}", e.message));
            return;
        }
        let path = PathBuf::from(self.cap.name());
        let counter = Arc::new(AtomicU64::new(0));
        let c2 = counter.clone();
        let q = query.clone();
        let job = Job::spawn(move |_| -> IndexAnswer {
            let opts = index::BuildOptions {
                progress: Some(c2),
                ..Default::default()
            };
            let (ix, _) = index::EventIndex::open_or_build(&[path], &opts)
                .map_err(|e| (e.to_string(), None))?;
            let r = ix
                .search(&index::SearchRequest {
                    query: q,
                    limit: INDEX_HITS,
                    ..Default::default()
                })
                .map_err(|e| (e.message, e.position))?;
            let mut hits: Vec<u64> = r.hits.iter().map(|h| h.evt_num.saturating_sub(1)).collect();
            hits.sort_unstable();
            hits.dedup();
            Ok((hits, r.total))
        });
        self.index_job = Some((query, job, counter));
    }

    fn command(&mut self, text: &str) {
        let mut words = text.split_whitespace();
        match (words.next(), words.next()) {
            (Some("q" | "quit"), _) => self.quit = true,
            (Some("help"), _) => self.handle(Action::Help),
            (Some("goto" | "g"), Some(to)) => self.goto(to),
            (Some("goto" | "g"), None) => self.error(":goto needs an event number or a time"),
            (Some("columns" | "cols"), _) => {
                let fields: Vec<String> = text
                    .split_whitespace()
                    .skip(1)
                    .map(str::to_string)
                    .collect();
                self.set_columns(fields);
            }
            (Some("filter"), _) => {
                let cond = text.split_once(' ').map(|x| x.1).unwrap_or("").trim();
                self.start_scan(ScanFor::Filter(cond.to_string()));
            }
            (Some("export"), Some(file)) => {
                let r = self.marks.export(std::path::Path::new(file));
                match r {
                    Ok(n) => self.say(format!("{n} bookmarks written to {file}")),
                    Err(e) => self.error(format!("export failed: {e}")),
                }
            }
            (Some("export"), None) => self.error(":export needs a file (.md or .json)"),
            (Some(other), _) => self.error(format!(
                "unknown command ':{other}' (:goto, :filter, :columns, :export, :help, :q)"
            )),
            (None, _) => {}
        }
    }

    /// `:goto N` (an event number) or `:goto TIME` (RFC 3339, or a time of
    /// day on the capture's first day).
    fn goto(&mut self, to: &str) {
        let seq = if let Ok(n) = to.parse::<u64>() {
            if n == 0 || n > self.events_total {
                self.error(format!("no event {n} (1..{})", self.events_total));
                return;
            }
            n - 1
        } else {
            let Some(ns) = parse_time(to, self.first_wall_ns()) else {
                self.error(format!(
                    "'{to}' is neither an event number nor a time (2026-11-24T02:00:00Z or 02:00:00)"
                ));
                return;
            };
            let ts = ns.saturating_sub(self.anchor);
            match self.seq_at_ts(ts) {
                Some(s) => s,
                None => {
                    self.error(format!("no event at or after {to}"));
                    return;
                }
            }
        };
        self.push_history();
        self.view = ViewKind::Timeline;
        self.timeline_row = self.row_of_seq(seq);
        self.say(format!("event {}", seq + 1));
    }

    fn first_wall_ns(&self) -> u64 {
        self.cap.time_range().map_or(0, |(a, _)| a + self.anchor)
    }

    fn seq_at_ts(&mut self, ts: u64) -> Option<u64> {
        let i = self.cap.seek_time(ts)?;
        let c = self.cap.load_chunk(i).ok()?;
        let k = c.seek_time(ts);
        c.event(k.min(c.len().saturating_sub(1))).map(|e| e.seq)
    }

    fn next_hit(&mut self, d: i64) {
        let Some((text, hits)) = &self.search else {
            self.say("no search yet (/ searches)");
            return;
        };
        if hits.is_empty() {
            let t = text.clone();
            self.error(format!("'{t}' not found"));
            return;
        }
        let cur = self.current_seq().unwrap_or(0);
        let next = match d {
            0 => hits.iter().find(|&&s| s >= cur).or(hits.first()),
            1 => hits.iter().find(|&&s| s > cur).or(hits.first()),
            _ => hits.iter().rev().find(|&&s| s < cur).or(hits.last()),
        }
        .copied();
        let (text, total) = (text.clone(), hits.len());
        if let Some(s) = next {
            self.jump_to_seq(s);
            let k = self
                .search
                .as_ref()
                .map_or(0, |(_, h)| h.partition_point(|&x| x < s) + 1);
            self.say(format!("'{text}': hit {k} of {total}"));
        }
    }

    fn jump_to_seq(&mut self, seq: u64) {
        self.view = ViewKind::Timeline;
        if let Some(r) = &self.rows {
            if r.binary_search(&seq).is_err() {
                // Not in the filtered view: show every event.
                self.scope = Scope::All;
                self.rows = None;
            }
        }
        self.timeline_row = self.row_of_seq(seq);
    }

    fn next_alert(&mut self, d: i64) {
        if self.alert_events.is_empty() {
            self.say("no alerts");
            return;
        }
        let cur = self.current_seq().unwrap_or(0);
        let next = if d > 0 {
            self.alert_events
                .iter()
                .find(|&&s| s > cur)
                .or(self.alert_events.first())
        } else {
            self.alert_events
                .iter()
                .rev()
                .find(|&&s| s < cur)
                .or(self.alert_events.last())
        }
        .copied();
        if let Some(s) = next {
            self.jump_to_seq(s);
            let rules: Vec<&str> = self
                .alerts
                .iter()
                .filter(|a| a.evt_num == s + 1)
                .map(|a| a.rule.as_str())
                .collect();
            self.say(format!("event {}: {}", s + 1, rules.join(", ")));
        }
    }

    fn next_mark(&mut self) {
        let cur = self.current_seq().unwrap_or(0);
        let seqs: Vec<u64> = self.marks.list().iter().map(|m| m.evt_num - 1).collect();
        match seqs.iter().find(|&&s| s > cur).or(seqs.first()).copied() {
            Some(s) => {
                self.jump_to_seq(s);
                let note = self
                    .marks
                    .get(s + 1)
                    .map(|m| m.note.clone())
                    .unwrap_or_default();
                self.say(format!("bookmark at event {}: {note}", s + 1));
            }
            None => self.say("no bookmarks (m adds one)"),
        }
    }

    /// The alerts on event `seq`.
    pub fn alerts_on(&self, seq: u64) -> impl Iterator<Item = &Alert> {
        let lo = self.alerts.partition_point(|a| a.evt_num < seq + 1);
        self.alerts[lo..]
            .iter()
            .take_while(move |a| a.evt_num == seq + 1)
    }

    /// Events and alerts per time bucket over the histogram's span (the
    /// whole capture, or around the cursor when zoomed in), and the bucket
    /// of the cursor's event: exact once the process tree is built (it
    /// counts every event), from the chunk index until then.
    pub fn histogram(&mut self, buckets: usize) -> Histogram {
        let Some((t0, t1)) = self.cap.time_range() else {
            return Histogram::default();
        };
        let buckets = buckets.max(1);
        let cur_ts = self
            .current_seq()
            .and_then(|s| with_event(&self.cap, &mut self.cache, s, |e| e.ts).ok());
        let full = t1 - t0;
        let span = (full >> self.zoom).max(1);
        let center = cur_ts.unwrap_or(t0 + full / 2);
        let w0 = center
            .saturating_sub(span / 2)
            .max(t0)
            .min(t1.saturating_sub(span));
        let w1 = (w0 + span).min(t1);
        let bucket = |ts: u64| data::hist_bucket(ts, w0, w1, buckets);
        let inside = |ts: u64| ts >= w0 && ts <= w1;
        let mut events = vec![0u64; buckets];
        match &self.tree {
            Some(t) if !t.hist.is_empty() => {
                let n = t.hist.len() as u128;
                for (i, c) in t.hist.iter().enumerate() {
                    let ts = t0 + ((u128::from(full) * (2 * i as u128 + 1)) / (2 * n)) as u64;
                    if inside(ts) {
                        events[bucket(ts)] += c;
                    }
                }
            }
            _ => {
                // A chunk's events, spread evenly over its time range.
                for c in self.cap.chunks() {
                    if c.ts_max < w0 || c.ts_min > w1 {
                        continue;
                    }
                    let (a, b) = (bucket(c.ts_min.max(w0)), bucket(c.ts_max.min(w1)));
                    let n = (b - a + 1) as u64;
                    for slot in events.iter_mut().take(b + 1).skip(a) {
                        *slot += u64::from(c.event_count).div_ceil(n);
                    }
                }
            }
        }
        let mut alerts = vec![0u64; buckets];
        for a in self.alerts.iter().filter(|a| inside(a.ts)) {
            alerts[bucket(a.ts)] += 1;
        }
        Histogram {
            events,
            alerts,
            cursor: cur_ts.filter(|&t| inside(t)).map(bucket),
            from_ns: w0 + self.anchor,
            to_ns: w1 + self.anchor,
        }
    }
}

/// The timeline's histogram.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Events per bucket.
    pub events: Vec<u64>,
    /// Alerts per bucket.
    pub alerts: Vec<u64>,
    /// The bucket of the cursor's event.
    pub cursor: Option<usize>,
    /// Wall-clock start of the span shown (Unix ns).
    pub from_ns: u64,
    /// Its end.
    pub to_ns: u64,
}

/// Zoom levels of the histogram (each halves the span).
pub const MAX_ZOOM: u32 = 8;

/// A rule diagnostic on one line: `error file:line:column: message`.
pub fn diag_line(d: &Diagnostic) -> String {
    format!(
        "{} {}:{}:{}: {}",
        if d.severity == ruleset::Severity::Error {
            "error"
        } else {
            "warning"
        },
        d.file,
        d.line,
        d.column,
        d.message
    )
}

/// Runs `f` on event `seq`, keeping the last few decoded chunks so that
/// redraws near a chunk boundary decode nothing.
fn with_event<T>(
    cap: &Capture,
    cache: &mut ChunkCache,
    seq: u64,
    f: impl FnOnce(&capture::EventRef<'_>) -> T,
) -> Result<T, String> {
    let i = cap.chunk_of(seq).ok_or_else(|| {
        format!(
            "event {} is in no readable chunk (lost or damaged)",
            seq + 1
        )
    })?;
    let entries = &mut cache.entries;
    let pos = match entries.iter().position(|(ci, _)| *ci == i) {
        Some(p) => p,
        None => {
            let c = cap
                .load_chunk(i)
                .map_err(|e| format!("chunk {i} unreadable: {e}"))?;
            cache.loads += 1;
            if entries.len() >= CACHE_CHUNKS {
                entries.remove(0);
            }
            entries.push((i, c));
            entries.len() - 1
        }
    };
    let (_, c) = &entries[pos];
    let e = c
        .event((seq - c.first_seq()) as usize)
        .ok_or_else(|| format!("event {} unreadable", seq + 1))?;
    Ok(f(&e))
}

/// The last few decoded chunks, and how many chunks were decoded in all.
#[derive(Default)]
struct ChunkCache {
    entries: Vec<(usize, LoadedChunk)>,
    loads: u64,
}

fn event_pid(cap: &Capture, cache: &mut ChunkCache, seq: u64) -> Option<u32> {
    with_event(cap, cache, seq, |e| e.pid).ok()
}

/// Parses `2026-11-24T02:00:00Z` (RFC 3339, fractions allowed) or a time of
/// day `02:00[:00]` on the UTC day of `day_of_ns`, to Unix ns.
pub fn parse_time(s: &str, day_of_ns: u64) -> Option<u64> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s.trim_end_matches('Z')) {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_nanos() as u64);
    }
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: u64 = parts[0].parse().ok().filter(|&h| h < 24)?;
    let m: u64 = parts[1].parse().ok().filter(|&m| m < 60)?;
    let sec: f64 = match parts.get(2) {
        Some(x) => x.parse().ok().filter(|&v: &f64| (0.0..61.0).contains(&v))?,
        None => 0.0,
    };
    let day = day_of_ns / 86_400_000_000_000 * 86_400_000_000_000;
    Some(day + (h * 3600 + m * 60) * 1_000_000_000 + (sec * 1e9) as u64)
}
