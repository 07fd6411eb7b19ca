//! `ferret-tui`: investigate a capture interactively.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use crossterm::event::{self, Event, KeyEventKind};

/// Investigate a Ferret capture: alerts, event timeline, process tree.
#[derive(Parser)]
#[command(name = "ferret-tui", version, about)]
struct Cli {
    /// The capture file.
    capture: PathBuf,
    /// Rule files or directories to run when opening (default: rules/ if it exists).
    #[arg(short, long = "rules")]
    rules: Vec<PathBuf>,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "ferret-tui: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // ratatui::init panics without a terminal: say so instead.
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "ferret-tui needs a terminal on stdin and stdout (for a report without one, use `analyzer run` or `analyzer events`)"
        );
    }
    let cap = engine::source::open(&cli.capture)?.capture;
    let mut rules = cli.rules.clone();
    if rules.is_empty() && std::path::Path::new("rules").is_dir() {
        rules.push(PathBuf::from("rules"));
    }
    let rx = (!rules.is_empty()).then(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let path = cli.capture.clone();
        std::thread::spawn(move || {
            let r = (|| -> Result<Vec<engine::run::Alert>, String> {
                let set = ruleset::load_rules(&rules, &ruleset::Selection::default());
                let enabled: Vec<_> = set.enabled().cloned().collect();
                let cap = engine::source::open(&path)
                    .map_err(|e| e.to_string())?
                    .capture;
                let opts = engine::run::RunOptions {
                    matching: engine::run::Matching::All,
                    threads: 0,
                    ..Default::default()
                };
                Ok(engine::run::run(&cap, &enabled, &opts).alerts)
            })();
            let _ = tx.send(r);
        });
        rx
    });
    let mut app = tui::app::App::new(cap, rx);
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> Result<()> {
        while !app.quit {
            app.poll();
            terminal.draw(|f| tui::ui::draw(f, &mut app))?;
            if event::poll(Duration::from_millis(200))? {
                if let Event::Key(k) = event::read()? {
                    if k.kind == KeyEventKind::Press {
                        if let Some(a) = tui::keys::action(k, app.searching) {
                            app.handle(a);
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result
}
