//! What a responder waits for in the investigator, on a 10M-event synthetic
//! capture and on the real-workload recording (`bench/record.sh`): time to
//! the first frame, to the alerts and the process tree, to draw a page, to
//! run a filter and a search, the longest the screen took to answer a key
//! while they ran, and peak memory. Rules: Ferret's default set.
//!
//! `cargo bench -p tui --bench investigate` (FERRET_TUI_CAPS=a.cap,b.cap to
//! choose the captures).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui::app::{Action, App, Mode, ViewKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn synthetic(events: u64) -> PathBuf {
    let p = root().join(format!("target/bench/tui-{}m.cap", events / 1_000_000));
    if capture::Capture::open(&p).is_ok_and(|c| c.event_count() == events) {
        return p;
    }
    std::fs::create_dir_all(p.parent().expect("dir")).expect("dir");
    let _ = std::fs::remove_file(&p);
    let cfg = capture::synth::SynthConfig {
        events,
        ..Default::default()
    };
    let meta = capture::synth::synth_meta(&cfg);
    let snap = capture::synth::synth_snapshot(&cfg);
    let mut w = capture::CaptureWriterBuilder::new()
        .create(&p, &meta, Some(&snap))
        .expect("create");
    capture::synth::generate(&cfg, &mut w).expect("generate");
    w.finish(meta.start_unix_ns + 1).expect("finish");
    p
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn draw(t: &mut Terminal<TestBackend>, app: &mut App) -> Duration {
    let s = Instant::now();
    t.draw(|f| tui::ui::draw(f, app)).expect("draw");
    s.elapsed()
}

/// Keys answered while a background job runs: the longest handle + draw.
fn while_running(t: &mut Terminal<TestBackend>, app: &mut App) -> (Duration, Duration) {
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    while !app
        .busy()
        .iter()
        .all(|(w, _)| w == "rules" || w == "process tree")
    {
        let s = Instant::now();
        app.poll();
        app.handle(Action::Move(1));
        t.draw(|f| tui::ui::draw(f, app)).expect("draw");
        worst = worst.max(s.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    app.poll();
    (start.elapsed(), worst)
}

fn bench(path: &Path) {
    let rules = vec![root().join("rules")];
    let mut t = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let start = Instant::now();
    let cap = Arc::new(engine::source::open(path).expect("open").capture);
    let events = cap.event_count();
    let loaded = tui::term::Rules::load(&rules);
    let job = tui::term::start_rules(&cap, &loaded);
    let mut app = App::new(cap, job, loaded.diags.clone(), rules.clone());
    draw(&mut t, &mut app);
    let first = start.elapsed();
    let mut alerts_at = None;
    let mut tree_at = None;
    while alerts_at.is_none() || tree_at.is_none() {
        app.poll();
        let busy = app.busy();
        if alerts_at.is_none() && !busy.iter().any(|(w, _)| w == "rules") {
            alerts_at = Some(start.elapsed());
        }
        if tree_at.is_none() && !busy.iter().any(|(w, _)| w == "process tree") {
            tree_at = Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    app.handle(Action::Show(ViewKind::Timeline));
    let mut pages: Vec<Duration> = (0..200)
        .map(|_| {
            let s = Instant::now();
            app.handle(Action::Page(1));
            draw(&mut t, &mut app);
            s.elapsed()
        })
        .collect();
    pages.sort();
    app.handle(Action::StartInput(Mode::Filter));
    for c in "evt.type = connect and proc.name = curl".chars() {
        app.handle(Action::InputChar(c));
    }
    app.handle(Action::InputSubmit);
    let (filter, filter_worst) = while_running(&mut t, &mut app);
    let matched = app.timeline_len();
    app.handle(Action::ClearFilter);
    app.handle(Action::StartInput(Mode::Search));
    for c in "no-such-text-anywhere".chars() {
        app.handle(Action::InputChar(c));
    }
    app.handle(Action::InputSubmit);
    let (search, search_worst) = while_running(&mut t, &mut app);
    println!(
        "{}: {events} events, {} alerts\n  first frame {:.0} ms; alerts shown {:.0} ms; process tree {:.0} ms\n  \
         page down + draw: median {:.2} ms, worst {:.2} ms\n  filter ({matched} events) {:.0} ms, longest key answer meanwhile {:.1} ms\n  \
         search (no hit) {:.0} ms, longest key answer meanwhile {:.1} ms\n  peak memory {:.0} MB",
        path.display(),
        app.alerts.len(),
        ms(first),
        ms(alerts_at.unwrap_or_default()),
        ms(tree_at.unwrap_or_default()),
        ms(pages[pages.len() / 2]),
        ms(pages[pages.len() - 1]),
        ms(filter),
        ms(filter_worst),
        ms(search),
        ms(search_worst),
        ferret_tests::peak_rss_mb()
    );
}

fn main() {
    let caps: Vec<PathBuf> = match std::env::var("FERRET_TUI_CAPS") {
        Ok(v) => v.split(',').map(PathBuf::from).collect(),
        Err(_) => {
            let mut v = vec![synthetic(10_000_000)];
            let real = root().join("target/bench/workload.cap");
            if real.exists() {
                v.push(real);
            } else {
                eprintln!(
                    "no {} (bench/record.sh 45 as root makes it)",
                    real.display()
                );
            }
            v
        }
    };
    for c in caps {
        bench(&c);
    }
}
