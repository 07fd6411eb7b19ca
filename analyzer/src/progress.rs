//! Progress on stderr for long work, through `indicatif` (rate and ETA): a
//! bar redrawn in place on a terminal; on anything else (CI logs, a pipe),
//! one plain line every 5 seconds with the same figures; nothing with
//! `--quiet`. A run that ends sooner than the first redraw shows nothing.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports a running count with its rate and, when the total is known,
/// percentage and ETA.
pub struct Progress {
    bar: ProgressBar,
    what: &'static str,
    tty: bool,
    enabled: bool,
    last_line: Instant,
}

impl Progress {
    /// A reporter for `what` (`events`, `chunks`), out of `total` when known.
    pub fn new(what: &'static str, total: Option<u64>, enabled: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let target = if enabled && tty {
            ProgressDrawTarget::stderr_with_hz(5)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), target),
            None => ProgressBar::with_draw_target(None, target),
        };
        let template = if total.is_some() {
            "{msg}: {pos}/{len} {percent}% [{bar:30}] {per_sec} ETA {eta} {prefix}"
        } else {
            "{msg}: {pos} {per_sec} {prefix}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what);
        Progress {
            bar,
            what,
            tty,
            enabled,
            last_line: Instant::now(),
        }
    }

    /// Reports `done`, with `extra` after the figures.
    pub fn tick(&mut self, done: u64, extra: &str) {
        if !self.enabled {
            return;
        }
        self.bar.set_position(done);
        if self.tty {
            if !extra.is_empty() {
                self.bar.set_prefix(extra.to_string());
            }
            return;
        }
        if self.last_line.elapsed() < Duration::from_secs(5) {
            return;
        }
        self.last_line = Instant::now();
        let rate = self.bar.per_sec();
        let pct = self
            .bar
            .length()
            .map(|t| {
                format!(
                    " {:5.1}%, ETA {}s",
                    done as f64 * 100.0 / t.max(1) as f64,
                    self.bar.eta().as_secs()
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}: {done}{pct} ({:.2}M/s) {extra}",
            self.what,
            rate / 1e6
        );
    }

    /// Removes a terminal bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Follows `counter` (of `total`, when known) on a background thread
    /// until the
    /// returned guard is dropped; dropping it wakes the thread at once, so
    /// a short run never waits on the timer.
    pub fn follow(
        what: &'static str,
        total: Option<u64>,
        enabled: bool,
        counter: Arc<AtomicU64>,
    ) -> Follow {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut p = Progress::new(what, total, enabled);
            while !s2.load(Ordering::Acquire) {
                p.tick(counter.load(Ordering::Relaxed), "");
                std::thread::park_timeout(Duration::from_millis(100));
            }
            p.finish();
        });
        Follow {
            stop,
            thread: Some(thread),
        }
    }
}

/// A progress thread following a counter; see [`Progress::follow`].
pub struct Follow {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
