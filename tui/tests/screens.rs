//! The investigation UI driven by actions and drawn into a TestBackend: the
//! alerts of the scenario capture, pivots from alert to event to process, and
//! search.

use std::path::Path;

use capture::Capture;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use engine::run::{run, Matching, RunOptions};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui::app::{Action, App, Pane};

fn fixture() -> Capture {
    Capture::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/captures/v1/scenarios.cap"),
    )
    .expect("fixture")
}

fn app_with_alerts() -> App {
    let set = ruleset::load_rules(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")],
        &ruleset::Selection::default(),
    );
    let rules: Vec<_> = set.enabled().cloned().collect();
    let alerts = run(
        &fixture(),
        &rules,
        &RunOptions {
            matching: Matching::All,
            threads: 1,
            ..Default::default()
        },
    )
    .alerts;
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(Ok(alerts)).expect("send");
    let mut app = App::new(fixture(), Some(rx));
    app.poll();
    app
}

fn screen(app: &mut App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 30)).expect("terminal");
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

#[test]
fn alerts_pane_lists_the_detections() {
    let mut app = app_with_alerts();
    assert_eq!(app.alerts_status, format!("{} alerts", app.alerts.len()));
    let s = screen(&mut app);
    assert!(s.contains("1 Alerts (34)"), "{s}");
    assert!(s.contains("Terminal shell spawned"), "{s}");
    assert!(s.contains("q quit"), "{s}");
}

#[test]
fn pivot_from_alert_to_event_to_process_and_back() {
    let mut app = app_with_alerts();
    let miner = app
        .alerts
        .iter()
        .position(|a| a.rule == "Crypto miner launched")
        .expect("miner alert");
    let evt = app.alerts[miner].evt_num;
    app.handle(Action::Move(miner as i64));
    app.handle(Action::Pivot);
    assert_eq!(app.pane, Pane::Events);
    assert_eq!(app.event_sel + 1, evt);
    let s = screen(&mut app);
    assert!(
        s.contains("execve ret=0 filename=/tmp/ferret-scenarios/xmrig"),
        "{s}"
    );
    app.handle(Action::Pivot);
    assert_eq!(app.pane, Pane::Processes);
    let (_, p) = &app.tree[app.proc_sel];
    assert!(
        p.cmdline.contains("stratum+tcp://127.0.0.1:3333"),
        "{}",
        p.cmdline
    );
    let s = screen(&mut app);
    assert!(s.contains("xmrig 0.1 -o stratum+tcp"), "{s}");
    app.handle(Action::Pivot);
    assert_eq!(app.pane, Pane::Events);
    assert!(app.event_sel < evt);
}

#[test]
fn search_finds_the_next_matching_event() {
    let mut app = App::new(fixture(), None);
    app.handle(Action::Focus(Pane::Events));
    app.handle(Action::StartSearch);
    for c in "/etc/shadow".chars() {
        app.handle(Action::SearchChar(c));
    }
    app.handle(Action::SearchSubmit);
    let first = app.event_sel;
    let line = app.event_line(first).expect("line");
    assert!(line.contains("/etc/shadow"), "{line}");
    app.handle(Action::SearchNext);
    assert!(app.event_sel != first);
    assert!(app.message.contains("found"), "{}", app.message);
}

#[test]
fn process_tree_nests_children_under_parents() {
    let app = App::new(fixture(), None);
    let i = app
        .tree
        .iter()
        .position(|(_, p)| p.cmdline.starts_with("cat /etc/shadow"))
        .expect("cat in tree");
    let (depth, cat) = &app.tree[i];
    let parent = app.tree[..i]
        .iter()
        .rev()
        .find(|(d, _)| *d + 1 == *depth)
        .expect("parent row");
    assert_eq!(parent.1.pid, cat.ppid);
}

#[test]
fn keys_map_to_actions() {
    let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(
        tui::keys::action(k(KeyCode::Char('q')), false),
        Some(Action::Quit)
    );
    assert_eq!(
        tui::keys::action(k(KeyCode::Enter), false),
        Some(Action::Pivot)
    );
    assert_eq!(
        tui::keys::action(k(KeyCode::Enter), true),
        Some(Action::SearchSubmit)
    );
    assert_eq!(
        tui::keys::action(k(KeyCode::Char('q')), true),
        Some(Action::SearchChar('q'))
    );
    assert_eq!(
        tui::keys::action(
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            true
        ),
        Some(Action::Quit)
    );
}

#[test]
fn control_characters_from_the_capture_never_reach_the_terminal() {
    let mut app = app_with_alerts();
    app.alerts[0].output = "evil \u{1b}]52;c;AAAA\u{7} \u{1b}[2J\nforged line".into();
    let s = screen(&mut app);
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s}");
    assert!(s.contains("\\x1b[2J"), "{s}");
}
