//! Progress lines on stderr for long work: a rewritten line on a terminal,
//! one line every few seconds otherwise, nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Reports a running count with its rate.
pub struct Progress {
    what: &'static str,
    total: Option<u64>,
    start: Instant,
    last: Instant,
    every: Duration,
    tty: bool,
    enabled: bool,
}

impl Progress {
    /// A reporter for `what` (`events`, `chunks`), out of `total` when known.
    pub fn new(what: &'static str, total: Option<u64>, enabled: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        Progress {
            what,
            total,
            start: Instant::now(),
            last: Instant::now(),
            every: if tty {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(5)
            },
            tty,
            enabled,
        }
    }

    /// Reports `done` if the last report is old enough.
    pub fn tick(&mut self, done: u64, extra: &str) {
        if !self.enabled || self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let pct = self
            .total
            .map(|t| format!(" {:5.1}%", done as f64 * 100.0 / t.max(1) as f64))
            .unwrap_or_default();
        let line = format!("{}: {done}{pct} ({:.2}M/s) {extra}", self.what, rate / 1e6);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    /// Clears a terminal progress line.
    pub fn finish(&self) {
        if self.enabled && self.tty {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}
