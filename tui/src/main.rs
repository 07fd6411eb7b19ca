//! `ferret-tui`: investigate a capture interactively (the same as
//! `analyzer tui`).

use std::path::PathBuf;

use clap::Parser;

/// Investigate a capture: alerts by rule, timeline, process tree, event
/// detail; pivots with Enter, back with Esc, keys with `?`.
#[derive(Parser)]
#[command(name = "ferret-tui", version, about)]
struct Cli {
    /// Captures: Ferret captures, .scap traces, merged captures, FILE#N
    /// (one recording of a merged capture) or directories of them; `]`
    /// and `[` switch between them.
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Rule files or directories to run when opening (default: rules/ when
    /// it exists in the current directory). A path that does not exist is
    /// an error; rule errors and warnings are shown in the alerts view.
    #[arg(short, long = "rules")]
    rules: Vec<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut rules = cli.rules;
    if rules.is_empty() && std::path::Path::new("rules").is_dir() {
        rules.push(PathBuf::from("rules"));
    }
    let cfg = tui::term::Config {
        captures: cli.captures,
        rules,
    };
    match tui::term::run(&cfg) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "ferret-tui: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
