//! The terminal: set-up, the event loop, and putting the terminal back on
//! every way out (quit, error, panic, SIGTERM/SIGINT; Ctrl-Z suspends and
//! resumes; SIGHUP ends it, the terminal being gone).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseButton, MouseEventKind,
};

use crate::app::{Action, App, Mode};
use crate::data::Job;

/// What to open.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The captures: Ferret captures, .scap traces, merged captures (each
    /// recording), `FILE#N` (one recording of a merged capture), or
    /// directories of them. `]` and `[` switch between them.
    pub captures: Vec<PathBuf>,
    /// Rule files and directories to run (none: no alerts).
    pub rules: Vec<PathBuf>,
}

/// Why the investigator could not start or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// No terminal on stdin and stdout.
    #[error("the investigator needs a terminal on stdin and stdout (without one, use `analyzer run` or `analyzer events`)")]
    NoTerminal,
    /// A rules path that does not exist.
    #[error("rules: {0}: no such file or directory")]
    MissingRules(PathBuf),
    /// The capture could not be opened.
    #[error(transparent)]
    Source(#[from] engine::source::SourceError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// Rules loaded once for every capture opened.
#[derive(Clone, Default)]
pub struct Rules {
    /// The rule files and directories, as given (their macros and lists
    /// serve the filter bar).
    pub files: Vec<PathBuf>,
    /// The enabled rules, compiled.
    pub enabled: Arc<Vec<ruleset::CompiledRule>>,
    /// Every error and warning, for the screen.
    pub diags: Vec<ruleset::Diagnostic>,
}

impl Rules {
    /// Loads and compiles `files` (none: no rules).
    pub fn load(files: &[PathBuf]) -> Rules {
        if files.is_empty() {
            return Rules::default();
        }
        let set = ruleset::load_rules(files, &ruleset::Selection::default());
        Rules {
            files: files.to_vec(),
            enabled: Arc::new(set.enabled().cloned().collect()),
            diags: set.diagnostics,
        }
    }
}

/// Starts running `rules` over `cap` in the background (none when no rule
/// files were given).
pub fn start_rules(cap: &Arc<capture::Capture>, rules: &Rules) -> Option<crate::app::AlertsJob> {
    if rules.files.is_empty() {
        return None;
    }
    let counter = Arc::new(AtomicU64::new(0));
    let c2 = counter.clone();
    let cap = cap.clone();
    let enabled = rules.enabled.clone();
    let job = Job::spawn(move |_| {
        let opts = engine::run::RunOptions {
            matching: engine::run::Matching::All,
            threads: 0,
            progress: Some(c2),
            source: cap.name().into(),
            ..Default::default()
        };
        Ok(engine::run::run(&cap, &enabled, &opts).alerts)
    });
    Some((job, counter))
}

/// Opens the app of one capture, its rules running in the background.
pub fn open_app(opened: engine::source::Opened, rules: &Rules) -> App {
    let cap = Arc::new(opened.capture);
    let job = start_rules(&cap, rules);
    let mut app = App::new(cap, job, rules.diags.clone(), rules.files.clone());
    // A .scap trace read up to damage: what was lost is said.
    app.problems.extend(opened.scap_problems);
    app
}

/// Opens the capture and runs the investigator until the user quits.
pub fn run(cfg: &Config) -> Result<(), TuiError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(TuiError::NoTerminal);
    }
    for r in &cfg.rules {
        if !r.exists() {
            return Err(TuiError::MissingRules(r.clone()));
        }
    }
    // Every capture is opened now (an unreadable one is an error before the
    // screen starts); each one's rules and process tree start the first
    // time it is shown, so a directory of many captures does not run them
    // all at once.
    let paths = engine::source::expand_inputs(&cfg.captures)?;
    let mut pending: Vec<Option<engine::source::Opened>> = Vec::with_capacity(paths.len());
    for p in &paths {
        pending.push(Some(engine::source::open(p)?));
    }
    if pending.is_empty() {
        return Err(TuiError::Source(engine::source::SourceError::Input(
            "no capture given".into(),
        )));
    }
    let n = pending.len();
    let rules = Rules::load(&cfg.rules);
    let mut make = move |i: usize| -> Option<App> {
        let mut app = open_app(pending.get_mut(i)?.take()?, &rules);
        if n > 1 {
            app.capture_label = format!("{}/{n}", i + 1);
        }
        Some(app)
    };
    let mut apps: Vec<Option<App>> = (0..n).map(|_| None).collect();
    apps[0] = make(0);
    let stop = Arc::new(AtomicBool::new(false));
    // SIGTERM and SIGINT end the loop, which puts the terminal back.
    // SIGHUP keeps its default (the terminal is gone: nothing to put back,
    // and reading a hung-up terminal would spin).
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let mut terminal = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
    let result = event_loop(&mut apps, &mut make, &mut terminal, &stop);
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(
    apps: &mut [Option<App>],
    make: &mut dyn FnMut(usize) -> Option<App>,
    terminal: &mut ratatui::DefaultTerminal,
    stop: &AtomicBool,
) -> Result<(), TuiError> {
    let mut current = 0usize;
    let n = apps.len();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if apps[current].is_none() {
            apps[current] = make(current);
        }
        for a in apps.iter_mut().flatten() {
            a.poll();
        }
        let Some(app) = apps[current].as_mut() else {
            break;
        };
        if app.quit {
            break;
        }
        terminal.draw(|f| crate::ui::draw(f, app))?;
        if !event::poll(Duration::from_millis(100))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                if app.mode != Mode::Normal {
                    crate::keys::input_action(&k)
                } else {
                    match crate::keys::action(&k, app.view) {
                        Ok(a) => Some(a),
                        Err(name) => {
                            app.unbound(&name);
                            None
                        }
                    }
                }
            }
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollDown => Some(Action::Wheel(3)),
                MouseEventKind::ScrollUp => Some(Action::Wheel(-3)),
                MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.row)),
                _ => None,
            },
            _ => None,
        };
        match action {
            Some(Action::Suspend) => {
                let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
                ratatui::restore();
                // SAFETY: raising a signal in our own process; the default
                // SIGTSTP action stops it until the shell's `fg`.
                unsafe {
                    libc::raise(libc::SIGTSTP);
                }
                *terminal = ratatui::try_init()?;
                crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
                terminal.clear()?;
            }
            Some(Action::SwitchCapture(d)) if n > 1 => {
                current = (current as i32 + d).rem_euclid(n as i32) as usize;
            }
            Some(a) => app.handle(a),
            None => {}
        }
    }
    Ok(())
}
