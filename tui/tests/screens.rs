//! The investigator driven by actions and drawn into a TestBackend: every
//! view, every pivot and the way back on the recorded fixture, the filter
//! and search bars, process identity under pid reuse, bookmarks, and the
//! bugs of the first version (a search that froze the screen, rule errors
//! swallowed, damaged chunks without a reason, a cut .scap shown empty,
//! pivots to the wrong event).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use capture::kind::id;
use capture::{Capture, CaptureWriterBuilder, EventHeader};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui::app::{Action, AlertRow, App, Mode, Scope, ViewKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture_path() -> PathBuf {
    root().join("fixtures/captures/v1/scenarios.cap")
}

fn open(p: &Path) -> Arc<Capture> {
    Arc::new(engine::source::open(p).expect("open").capture)
}

fn app_on(p: &Path, rules: &[PathBuf]) -> App {
    let o = engine::source::open(p).expect("open");
    let mut app = tui::term::open_app(o, &tui::term::Rules::load(rules));
    app.wait_all();
    app
}

fn app_with_rules() -> App {
    app_on(&fixture_path(), &[root().join("rules")])
}

fn screen(app: &mut App) -> String {
    screen_sized(app, 180, 40)
}

fn screen_sized(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| tui::ui::draw(f, app)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn typed(app: &mut App, mode: Mode, text: &str) {
    app.handle(Action::StartInput(mode));
    for c in text.chars() {
        app.handle(Action::InputChar(c));
    }
    app.handle(Action::InputSubmit);
}

fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/test-scratch/tui");
    std::fs::create_dir_all(&d).expect("scratch");
    d.join(name)
}

/// The pid of event `seq` (0-based), read from the capture.
fn pid_of(cap: &Capture, seq: u64) -> u32 {
    let mut pid = None;
    cap.for_each_event(|e| {
        if e.seq == seq {
            pid = Some(e.pid)
        }
    });
    pid.expect("event")
}

#[test]
fn alerts_are_grouped_by_rule_most_severe_first_with_counts() {
    let mut app = app_with_rules();
    assert!(!app.alerts.is_empty());
    let s = screen(&mut app);
    assert!(s.contains("alerts of"), "{s}");
    // Groups are sorted by priority, and each counts its alerts.
    let prios: Vec<_> = app.groups.iter().map(|g| g.priority).collect();
    assert!(prios.windows(2).all(|w| w[0] <= w[1]), "{prios:?}");
    let total: usize = app.groups.iter().map(|g| g.alerts.len()).sum();
    assert_eq!(total, app.alerts.len());
    let first = app.groups[0].clone();
    let row = s
        .lines()
        .find(|l| l.starts_with('│') && l.contains(&first.rule))
        .unwrap_or_else(|| panic!("no row for {}: {s}", first.rule));
    assert!(
        row.contains(first.priority.name()) && row.contains(&first.alerts.len().to_string()),
        "{row}"
    );
    // Each rule is listed once (the first version printed it twice a row).
    assert_eq!(
        s.matches(first.rule.as_str()).count(),
        2,
        "the row and the breadcrumb: {s}"
    );
    // Expanding lists its alerts with their event numbers.
    app.handle(Action::Expand);
    let s = screen(&mut app);
    let a = &app.alerts[first.alerts[0]];
    assert!(s.contains(&format!("#{}", a.evt_num)), "{s}");
    assert_eq!(app.alert_rows[1], AlertRow::Alert(0, 0));
}

#[test]
fn alert_to_event_to_process_to_its_events_and_back() {
    let mut app = app_with_rules();
    let cap = app.cap.clone();
    app.handle(Action::Pivot); // expand the first group
    app.handle(Action::Move(1));
    let alert = app.alerts[app.groups[0].alerts[0]].clone();
    app.handle(Action::Pivot);
    assert_eq!(app.view, ViewKind::Detail);
    let d = app.detail.clone().expect("detail");
    assert_eq!(d.seq + 1, alert.evt_num, "the alert's own event");
    let s = screen_sized(&mut app, 180, 120);
    assert!(
        s.contains(&alert.rule) && s.contains(&format!("Event {}", alert.evt_num)),
        "{s}"
    );
    for (k, _) in &alert.output_fields {
        assert!(s.contains(k.as_str()), "output field {k} shown: {s}");
    }
    let fields = d.fields.expect("fields");
    let get = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let pid = pid_of(&cap, d.seq);
    assert_eq!(get("proc.pid"), pid.to_string());
    assert_eq!(get("evt.num"), alert.evt_num.to_string());
    for (k, v) in &fields {
        assert!(!v.starts_with("(not available"), "{k}: {v}");
    }
    assert!(s.contains("ancestry"), "{s}");

    // Event -> its process, selected in the tree.
    app.handle(Action::Pivot);
    assert_eq!(app.view, ViewKind::Processes);
    let node = app.proc_rows[app.proc_row].node;
    let tree = app.tree.as_ref().expect("tree");
    assert_eq!(tree.nodes[node].pid, pid);
    // Process -> its events: every row is that process's, the alert's among them.
    app.handle(Action::Pivot);
    app.wait_all();
    assert_eq!(app.view, ViewKind::Timeline);
    assert_eq!(app.scope, Scope::Process(node));
    let rows = app.rows.clone().expect("rows");
    assert!(rows.contains(&d.seq));
    for &seq in rows.iter() {
        assert_eq!(pid_of(&cap, seq), pid);
    }
    let s = screen(&mut app);
    assert!(
        s.contains(&format!("Events of {}", app.node_name(node))),
        "{s}"
    );
    // The breadcrumb shows the way here, and Esc walks it back.
    let crumb = app.breadcrumb();
    assert_eq!(crumb.len(), 4, "{crumb:?}");
    for want in [ViewKind::Processes, ViewKind::Detail, ViewKind::Alerts] {
        app.handle(Action::Back);
        assert_eq!(app.view, want);
    }
    assert_eq!(
        app.alert_rows[app.alert_row],
        AlertRow::Alert(0, 0),
        "the cursor came back too"
    );
    app.handle(Action::Back);
    assert!(app.message.contains("nothing to go back to"));
}

#[test]
fn timeline_event_opens_detail_and_e_steps_through_alerts() {
    let mut app = app_with_rules();
    app.handle(Action::Show(ViewKind::Timeline));
    app.handle(Action::NextAlert(1));
    let first = app.alert_events[0];
    assert_eq!(app.current_seq(), Some(first));
    app.handle(Action::NextAlert(1));
    assert_eq!(app.current_seq(), Some(app.alert_events[1]));
    app.handle(Action::NextAlert(-1));
    assert_eq!(app.current_seq(), Some(first));
    let s = screen(&mut app);
    assert!(s.contains(&format!("{}", first + 1)), "{s}");
    app.handle(Action::Pivot);
    assert_eq!(app.detail.as_ref().map(|d| d.seq), Some(first));
}

#[test]
fn the_filter_bar_takes_a_falco_condition_and_shows_errors_at_their_place() {
    let mut app = app_with_rules();
    app.handle(Action::Show(ViewKind::Timeline));
    typed(&mut app, Mode::Filter, "evt.type = connect and");
    assert_eq!(app.mode, Mode::Filter, "the bar stays open on an error");
    let (col, why) = app.input_error.clone().expect("error located");
    assert!(col > 0 && !why.is_empty(), "{col} {why}");
    let s = screen(&mut app);
    assert!(s.contains(&format!("column {}", col + 1)), "{s}");
    app.handle(Action::InputClear);
    for c in "evt.type = connect and proc.name = curl".chars() {
        app.handle(Action::InputChar(c));
    }
    app.handle(Action::InputSubmit);
    app.wait_all();
    let rows = app.rows.clone().expect("filtered");
    // The same as a full scan of the capture.
    let mut want = Vec::new();
    let sel = ruleset::filter::compile(&[], Some("evt.type = connect and proc.name = curl"), None)
        .expect("compiles");
    let prog = sel.program.expect("program");
    let snap = app.cap.snapshot().expect("snap").unwrap_or_default();
    let mut r = engine::replay::Replay::new(&snap, engine::replay::CaptureFacts::of(&app.cap, "x"));
    app.cap.for_each_event(|e| {
        if r.step(e, |cx| engine::eval::matches_in(&prog, cx)) {
            want.push(e.seq)
        }
    });
    assert!(!want.is_empty());
    assert_eq!(*rows, want);
    assert!(matches!(app.scope, Scope::Filter(_)));
    app.handle(Action::ClearFilter);
    assert_eq!(app.timeline_len(), app.events_total);
}

#[test]
fn search_finds_highlights_and_steps_with_n_and_shift_n() {
    let mut app = app_with_rules();
    app.handle(Action::Show(ViewKind::Timeline));
    typed(&mut app, Mode::Search, "nc.openbsd");
    app.wait_all();
    let (_, hits) = app.search.clone().expect("searched");
    assert!(hits.len() >= 2, "{hits:?}");
    assert_eq!(app.current_seq(), Some(hits[0]));
    app.handle(Action::NextHit(1));
    assert_eq!(app.current_seq(), Some(hits[1]));
    app.handle(Action::NextHit(-1));
    assert_eq!(app.current_seq(), Some(hits[0]));
    let s = screen(&mut app);
    assert!(s.contains("nc.openbsd") && s.contains("hit 1 of"), "{s}");
    typed(&mut app, Mode::Search, "no-such-text-anywhere");
    app.wait_all();
    assert!(app.message.contains("not found"), "{}", app.message);
}

/// A synthetic capture of `events` events in the scratch directory.
fn big_capture(name: &str, events: u64) -> PathBuf {
    let p = scratch(name);
    if Capture::open(&p).is_ok_and(|c| c.event_count() == events) {
        return p;
    }
    let cfg = capture::synth::SynthConfig {
        events,
        ..Default::default()
    };
    let meta = capture::synth::synth_meta(&cfg);
    let snap = capture::synth::synth_snapshot(&cfg);
    let _ = std::fs::remove_file(&p);
    let mut w = CaptureWriterBuilder::new()
        .create(&p, &meta, Some(&snap))
        .expect("create");
    capture::synth::generate(&cfg, &mut w).expect("generate");
    w.finish(meta.start_unix_ns + 1).expect("finish");
    p
}

#[test]
fn a_long_search_never_blocks_the_screen_and_can_be_cancelled() {
    let p = big_capture("big.cap", 1_500_000);
    let mut app = App::new(open(&p), None, Vec::new(), Vec::new());
    // The first frame draws while the tree is still being built.
    let s = screen(&mut app);
    assert!(s.contains("process tree"), "progress shown: {s}");
    app.handle(Action::Show(ViewKind::Timeline));
    typed(&mut app, Mode::Search, "no-such-text-anywhere");
    // The search runs in the background: the screen still answers keys.
    assert!(app.busy().iter().any(|(w, _)| w.starts_with("search")));
    app.handle(Action::Move(5));
    assert_eq!(app.timeline_row, 5);
    let s = screen(&mut app);
    assert!(s.contains("search (Ctrl-c cancels)"), "{s}");
    app.handle(Action::Cancel);
    app.wait_all();
    assert!(app.message.contains("cancelled"), "{}", app.message);
}

#[test]
fn a_pid_used_twice_is_two_processes_and_every_exec_is_shown() {
    let p = scratch("reuse.cap");
    let _ = std::fs::remove_file(&p);
    let meta = capture::CaptureMeta {
        hostname: "h".into(),
        ..Default::default()
    };
    let mut w = CaptureWriterBuilder::new()
        .create(&p, &meta, None)
        .expect("create");
    let mut ts = 1_000;
    let mut ev = |w: &mut capture::CaptureWriter<std::fs::File>,
                  pid: u32,
                  kind: u16,
                  args: &dyn Fn(&mut capture::ArgWriter<'_>)| {
        ts += 1_000;
        w.push(
            &EventHeader {
                ts,
                cpu: 0,
                pid,
                tid: pid,
                kind,
                ret: 0,
            },
            |a| args(a),
        )
        .expect("push");
    };
    let exec = |exe: &'static str| {
        move |a: &mut capture::ArgWriter<'_>| {
            a.str(exe)
                .str_list([exe])
                .str(exe.rsplit('/').next().unwrap_or(""));
        }
    };
    ev(&mut w, 100, id::PROC_EXEC, &exec("/bin/sh"));
    ev(&mut w, 100, id::PROC_FORK, &|a| {
        a.int(200).int(200).uint(0);
    });
    ev(&mut w, 200, id::PROC_EXEC, &exec("/bin/first"));
    ev(&mut w, 200, id::PROC_EXEC, &exec("/bin/second"));
    ev(&mut w, 200, id::PROC_EXIT, &|a| {
        a.int(0).int(0).uint(1);
    });
    ev(&mut w, 100, id::PROC_FORK, &|a| {
        a.int(200).int(200).uint(0);
    });
    ev(&mut w, 200, id::PROC_EXEC, &exec("/bin/third"));
    w.finish(1).expect("finish");

    let mut app = App::new(open(&p), None, Vec::new(), Vec::new());
    app.wait_all();
    let tree = app.tree.as_ref().expect("tree");
    let twos: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.nodes[n].pid == 200)
        .collect();
    assert_eq!(twos.len(), 2, "pid 200 twice: two processes");
    let progs =
        |n: usize| -> Vec<String> { tree.nodes[n].execs.iter().map(|x| x.exe.clone()).collect() };
    assert_eq!(progs(twos[0]), ["/bin/sh", "/bin/first", "/bin/second"]);
    assert_eq!(progs(twos[1]), ["/bin/sh", "/bin/third"]);
    assert_eq!(tree.node_at(200, 3), Some(twos[0]));
    assert_eq!(tree.node_at(200, 6), Some(twos[1]));
    assert_eq!(
        tree.comm_at(200, 3).map(str::to_string),
        Some("second".to_string())
    );
    app.handle(Action::Show(ViewKind::Processes));
    let s = screen(&mut app);
    assert!(s.contains("/bin/first  ->  /bin/second"), "every exec: {s}");
    assert!(s.contains("/bin/third"), "{s}");
    assert_eq!(s.matches("(200)").count(), 2, "{s}");
    // Collapse and expand the parent.
    app.handle(Action::Top);
    app.handle(Action::Collapse);
    assert_eq!(app.proc_rows.len(), 1);
    app.handle(Action::Expand);
    assert_eq!(app.proc_rows.len(), 3);
    // Filter the tree: the match and its ancestors.
    typed(&mut app, Mode::Search, "third");
    assert_eq!(app.proc_rows.len(), 2);
}

#[test]
fn keys_help_unbound_keys_and_paging() {
    let mut app = app_with_rules();
    let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        tui::keys::action(&k('j'), ViewKind::Timeline),
        Ok(Action::Move(1))
    );
    assert_eq!(
        tui::keys::action(
            &KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
            ViewKind::Timeline
        ),
        Ok(Action::HalfPage(1))
    );
    let err = tui::keys::action(&k('x'), ViewKind::Alerts).expect_err("unbound");
    app.unbound(&err);
    let s = screen(&mut app);
    assert!(s.contains("'x' does nothing in Alerts"), "{s}");
    // The hint bar is never hidden by a message.
    assert!(s.contains("? help"), "{s}");
    // Help lists every binding.
    app.handle(Action::Help);
    let s = screen_sized(&mut app, 180, 60);
    for b in tui::keys::bindings() {
        assert!(s.contains(b.help), "{}: {s}", b.help);
    }
    app.handle(Action::Back);
    // A page is the viewport.
    app.handle(Action::Show(ViewKind::Timeline));
    let _ = screen_sized(&mut app, 120, 30);
    let page = app.page as u64;
    assert!(page > 10);
    app.handle(Action::Page(1));
    assert_eq!(app.timeline_row, page);
    app.handle(Action::HalfPage(-1));
    assert_eq!(app.timeline_row, page - page / 2);
    app.handle(Action::Bottom);
    assert_eq!(app.timeline_row, app.events_total - 1);
}

#[test]
fn goto_by_number_and_by_time() {
    let mut app = app_with_rules();
    typed(&mut app, Mode::Command, "goto 1234");
    assert_eq!(
        (app.view, app.current_seq()),
        (ViewKind::Timeline, Some(1233))
    );
    let mut t = 0;
    app.cap.for_each_event(|e| {
        if e.seq == 5000 {
            t = e.ts
        }
    });
    let anchor = app.cap.meta().map_or(0, |m| m.boot_time_unix_ns);
    let when = capture::text::rfc3339(t + anchor);
    typed(&mut app, Mode::Command, &format!("goto {when}"));
    let seq = app.current_seq().expect("seq");
    assert!(seq <= 5000, "{seq}");
    typed(&mut app, Mode::Command, "goto 99999999");
    assert!(app.message.contains("no event"), "{}", app.message);
    typed(&mut app, Mode::Command, "frobnicate");
    assert!(app.message.contains("unknown command"), "{}", app.message);
}

#[test]
fn bookmarks_live_beside_the_capture_and_export() {
    let p = scratch("marked.cap");
    std::fs::copy(fixture_path(), &p).expect("copy");
    let sidecar = PathBuf::from(format!("{}.marks.json", p.display()));
    let _ = std::fs::remove_file(&sidecar);
    let before = std::fs::read(&p).expect("read");
    let mut app = app_on(&p, &[]);
    app.handle(Action::Show(ViewKind::Timeline));
    typed(&mut app, Mode::Command, "goto 77");
    typed(&mut app, Mode::Note, "first suspicious open");
    typed(&mut app, Mode::Command, "goto 900");
    typed(&mut app, Mode::Note, "second | with a pipe");
    assert!(sidecar.exists(), "{}", app.message);
    assert_eq!(
        std::fs::read(&p).expect("read"),
        before,
        "the capture is never written"
    );
    let md = scratch("marks.md");
    let js = scratch("marks.json");
    typed(&mut app, Mode::Command, &format!("export {}", md.display()));
    typed(&mut app, Mode::Command, &format!("export {}", js.display()));
    let text = std::fs::read_to_string(&md).expect("md");
    assert!(
        text.contains("| 77 | first suspicious open |") && text.contains("second \\| with a pipe"),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&js).expect("json")).expect("json");
    assert_eq!(v["marks"].as_array().map(|a| a.len()), Some(2));
    // Opened again: the bookmarks are there, ' steps through them.
    let mut again = app_on(&p, &[]);
    again.handle(Action::Show(ViewKind::Timeline));
    again.handle(Action::NextMark);
    assert_eq!(again.current_seq(), Some(76));
    let s = screen(&mut again);
    assert!(s.contains("first suspicious open"), "{s}");
}

#[test]
fn damage_and_rule_errors_are_shown_not_hidden() {
    let p = scratch("damaged.cap");
    let mut bytes = std::fs::read(fixture_path()).expect("read");
    let cap = Capture::open(fixture_path()).expect("open");
    let c = cap.chunks()[0];
    bytes[c.offset as usize + capture::format::FRAME_HEADER_LEN + 100] ^= 0x55;
    std::fs::write(&p, &bytes).expect("write");
    let rules = scratch("bad-rules.yaml");
    std::fs::write(
        &rules,
        "- rule: broken\n  desc: d\n  condition: evt.type = open and\n  output: o\n  priority: WARNING\n",
    )
    .expect("rules");
    let mut app = app_on(&p, &[rules]);
    app.handle(Action::Show(ViewKind::Alerts));
    let s = screen(&mut app);
    assert!(s.contains("Rules: 1 errors"), "{s}");
    assert!(s.contains("bad-rules.yaml:3"), "{s}");
    app.handle(Action::Show(ViewKind::Timeline));
    let s = screen(&mut app);
    assert!(s.contains("damaged chunk skipped"), "the problem line: {s}");
    assert!(s.contains("unreadable"), "rows say why: {s}");
    // `!` lists every problem: the chunk (where and why) and the rule error.
    app.handle(Action::Show(ViewKind::Problems));
    let s = screen(&mut app);
    assert!(
        s.contains("Problems (") && s.contains("offset") && s.contains("rules: error"),
        "{s}"
    );
}

#[test]
fn a_cut_scap_trace_shows_its_events_and_says_it_was_cut() {
    let src = root().join("fixtures/scap/process-tree.scap");
    let bytes = std::fs::read(&src).expect("fixture");
    let p = scratch("cut.scap");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let mut app = app_on(&p, &[]);
    assert!(app.events_total > 0);
    assert!(
        app.problems.iter().any(|p| p.contains("cut.scap")),
        "the cut is said: {:?}",
        app.problems
    );
    app.handle(Action::Show(ViewKind::Timeline));
    let first = app.event_line(0).expect("first event");
    let kind = first.split_whitespace().nth(4).expect("type").to_string();
    let s = screen(&mut app);
    assert!(
        s.contains(" ! ") && s.contains(&kind),
        "events listed under the problem: {s}"
    );
}

#[test]
fn follow_an_fd_shows_what_went_out_and_came_in() {
    let mut app = app_with_rules();
    app.handle(Action::Show(ViewKind::Timeline));
    typed(
        &mut app,
        Mode::Filter,
        "evt.type = connect and proc.name = curl and fd.sport > 1024",
    );
    app.wait_all();
    let rows = app.rows.clone().expect("rows");
    assert!(rows.len() >= 2, "curl connected in the scenarios");
    // The last (the first was a probe closed at once, without data).
    app.handle(Action::Bottom);
    app.handle(Action::Pivot);
    assert_eq!(app.view, ViewKind::Detail);
    app.handle(Action::Follow);
    app.wait_all();
    assert_eq!(app.view, ViewKind::Stream);
    let sv = app.stream.clone().expect("stream");
    let out: Vec<u8> = sv
        .stream
        .transfers
        .iter()
        .filter(|t| t.outgoing)
        .flat_map(|t| t.data.clone())
        .collect();
    let inn: Vec<u8> = sv
        .stream
        .transfers
        .iter()
        .filter(|t| !t.outgoing)
        .flat_map(|t| t.data.clone())
        .collect();
    // What curl sends and what the python server answers.
    assert!(
        String::from_utf8_lossy(&out).starts_with("GET /"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(
        String::from_utf8_lossy(&inn).starts_with("HTTP/1."),
        "{:?}",
        String::from_utf8_lossy(&inn)
    );
    // Only this process's fd, inside its open..close span.
    let cap = app.cap.clone();
    for t in &sv.stream.transfers {
        assert_eq!(pid_of(&cap, t.seq), sv.stream.pid);
        assert!(t.seq >= sv.stream.from && sv.stream.to.is_none_or(|c| t.seq < c));
    }
    let s = screen(&mut app);
    assert!(s.contains("out -> event") && s.contains("GET /"), "{s}");
    app.handle(Action::ToggleHex);
    let s = screen(&mut app);
    assert!(s.contains("47 45 54 20 2f"), "GET / in hex: {s}");
    app.handle(Action::Back);
    assert_eq!(app.view, ViewKind::Detail);
}

#[test]
fn the_index_answers_field_queries_and_points_at_errors() {
    let p = scratch("indexed.cap");
    std::fs::copy(fixture_path(), &p).expect("copy");
    let _ = std::fs::remove_dir_all(format!("{}.index", p.display()));
    let mut app = app_on(&p, &[]);
    app.handle(Action::Show(ViewKind::Timeline));
    typed(&mut app, Mode::Query, "proc.nme:curl");
    assert_eq!(app.mode, Mode::Query, "the bar stays open: {}", app.message);
    assert!(app.message.contains("proc.nme"), "{}", app.message);
    app.handle(Action::InputCancel);
    typed(&mut app, Mode::Query, "proc.name:curl AND evt.type:connect");
    app.wait_all();
    let (_, hits) = app.search.clone().expect("hits");
    // The same events as the Falco condition over a full replay.
    typed(
        &mut app,
        Mode::Filter,
        "proc.name = curl and evt.type = connect",
    );
    app.wait_all();
    let rows = app.rows.clone().expect("rows");
    assert!(!rows.is_empty());
    assert_eq!(*hits, *rows);
    app.handle(Action::NextHit(1));
    assert!(app.message.contains("hit 2 of"), "{}", app.message);
}

#[test]
fn columns_chosen_from_fields_agree_with_the_event_detail() {
    let mut app = app_with_rules();
    typed(&mut app, Mode::Command, "columns user.name fd.nme");
    assert!(
        app.message.contains("fd.nme") && app.columns.is_empty(),
        "{}",
        app.message
    );
    typed(
        &mut app,
        Mode::Command,
        "columns user.name fd.name proc.pname",
    );
    typed(&mut app, Mode::Command, "goto 11105");
    let s = screen(&mut app);
    assert!(s.contains("..."), "placeholders while computing: {s}");
    app.wait_all();
    let s = screen(&mut app);
    let row = s
        .lines()
        .find(|l| l.contains(" 11105 "))
        .unwrap_or_else(|| panic!("{s}"))
        .to_string();
    for seq in [11104u64, 11100, 11090, 500, 24000] {
        let cols = app.column_values(seq);
        app.wait_all();
        let cols = cols.or_else(|| app.column_values(seq)).expect("computed");
        app.open_detail(seq, None);
        let fields = app.detail.clone().expect("detail").fields.expect("fields");
        let get = |n: &str| {
            fields
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .expect(n)
        };
        assert_eq!(
            cols,
            [get("user.name"), get("fd.name"), get("proc.pname")],
            "event {}",
            seq + 1
        );
    }
    assert!(
        row.contains("root") && row.contains("127.0.0.1:34776->127.0.0.1:47031"),
        "{row}"
    );
}

#[test]
fn the_histogram_zooms_around_the_cursor() {
    let mut app = app_with_rules();
    typed(&mut app, Mode::Command, "goto 11105");
    let whole = app.histogram(100);
    assert_eq!(
        whole.events.iter().sum::<u64>(),
        app.events_total,
        "every event counted"
    );
    assert_eq!(whole.alerts.iter().sum::<u64>(), app.alerts.len() as u64);
    app.handle(Action::Zoom(1));
    app.handle(Action::Zoom(1));
    let z = app.histogram(100);
    let (span, zspan) = (whole.to_ns - whole.from_ns, z.to_ns - z.from_ns);
    assert!(
        zspan <= span / 4 + 1 && zspan >= span / 4 - 1,
        "{span} {zspan}"
    );
    // The cursor's event is inside the zoomed span.
    let mut ts = 0;
    app.cap.for_each_event(|e| {
        if e.seq == 11104 {
            ts = e.ts
        }
    });
    let wall = ts + app.cap.meta().map_or(0, |m| m.boot_time_unix_ns);
    assert!(z.from_ns <= wall && wall <= z.to_ns);
    assert!(z.cursor.is_some());
    assert!(z.events.iter().sum::<u64>() < app.events_total);
    let s = screen(&mut app);
    assert!(s.contains("zoom 1/4"), "{s}");
    for _ in 0..20 {
        app.handle(Action::Zoom(-1));
    }
    assert_eq!(app.zoom, 0);
}

#[test]
fn redraws_at_a_chunk_boundary_decode_nothing_and_the_mouse_moves_the_cursor() {
    let p = big_capture("big.cap", 1_500_000);
    let mut app = App::new(open(&p), None, Vec::new(), Vec::new());
    let boundary = app.cap.chunks()[1].first_seq;
    typed(&mut app, Mode::Command, &format!("goto {boundary}"));
    let _ = screen(&mut app);
    let loads = app.chunk_loads();
    assert!(loads >= 2, "the rows span two chunks");
    for d in [1, 1, -1, -1, 1] {
        app.handle(Action::Move(d));
        let _ = screen(&mut app);
    }
    assert_eq!(app.chunk_loads(), loads, "no chunk decoded again");
    // The wheel scrolls, a click selects the row under it.
    let before = app.timeline_row;
    app.handle(Action::Wheel(3));
    assert_eq!(app.timeline_row, before + 3);
    let _ = screen(&mut app);
    let first_row = app.body_top;
    app.handle(Action::Click(first_row + 2));
    let start =
        tui::ui::window(app.timeline_len() as usize, before as usize + 3, app.page).start as u64;
    assert_eq!(app.timeline_row, start + 2);
    app.wait_all();
}

#[test]
fn the_detail_lists_every_field_that_needs_no_argument() {
    let mut app = app_with_rules();
    app.open_detail(11104, None);
    let fields = app.detail.clone().expect("detail").fields.expect("fields");
    for f in ruleset::fields::FIELDS {
        if matches!(f.arg, ruleset::fields::ArgForm::None) {
            assert!(
                fields.iter().any(|(k, _)| k == f.name),
                "{} missing",
                f.name
            );
        }
    }
    app.handle(Action::Show(ViewKind::Detail));
    let s = screen_sized(&mut app, 180, 400);
    assert!(
        s.contains("every other field, by class") && s.contains("  container"),
        "{s}"
    );
}

#[test]
fn filters_use_the_rules_macros_as_read_once() {
    // A copy of Ferret's rules, deleted after the first filter: the second
    // filter still compiles against the macros read the first time (the
    // bar no longer re-reads every rule file for each filter).
    let dir = scratch("filter-rules");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for e in std::fs::read_dir(root().join("rules")).expect("rules") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy");
    }
    let mut app = app_on(&fixture_path(), std::slice::from_ref(&dir));
    app.handle(Action::Show(ViewKind::Timeline));
    let macro_name = {
        // Any macro of the rules whose filter matches some event.
        let text: String = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect();
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("- macro: "))
            .expect("a macro")
            .trim()
            .to_string();
        name
    };
    typed(
        &mut app,
        Mode::Filter,
        &format!("{macro_name} or evt.type = close"),
    );
    app.wait_all();
    let first = app.rows.clone().expect("filtered");
    assert!(!first.is_empty());
    app.handle(Action::ClearFilter);
    std::fs::remove_dir_all(&dir).expect("remove the rules");
    typed(
        &mut app,
        Mode::Filter,
        &format!("{macro_name} or evt.type = close"),
    );
    app.wait_all();
    assert_eq!(app.mode, Mode::Normal, "{:?}", app.input_error);
    assert_eq!(app.rows.clone().expect("filtered again"), first);
}
