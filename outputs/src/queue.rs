//! Falco's outputs behind a bounded queue: each runs on its own thread,
//! every attempt is bounded by a timeout, a failed alert is retried a
//! bounded number of times, and after `max_consecutive_timeouts` timed-out
//! attempts in a row (or as many alerts in a row that failed every attempt)
//! the output gives up: the rest of its alerts are counted as undelivered
//! at once. A receiver that hangs or fails therefore costs a bounded time,
//! never hangs a run, and loses nothing silently: [`Delivery`] counts every
//! alert and why it was not delivered.
//!
//! A full queue blocks the sender (the analysis waits for a slow receiver
//! rather than dropping alerts; the wait is bounded by the rules above).

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Delivery, Rendered, Sink, SinkError};

/// One alert as a transport receives it.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The line (text or JSON, per the format).
    pub line: String,
    /// The alert's JSON.
    pub json: String,
    /// Its priority.
    pub priority: ruleset::Priority,
}

/// Why one attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The receiver did not answer in time (counts toward giving up).
    Timeout(String),
    /// Worth another attempt (refused connection, 5xx, program exited).
    Retry(String),
    /// Another attempt would fail the same way (4xx, bad payload).
    Permanent(String),
}

impl Failure {
    fn reason(&self) -> &str {
        match self {
            Failure::Timeout(r) | Failure::Retry(r) | Failure::Permanent(r) => r,
        }
    }
}

/// A way to deliver one alert, used from the queue's thread.
pub trait Transport: Send + 'static {
    /// One attempt to deliver `p`.
    fn deliver(&mut self, p: &Payload) -> Result<(), Failure>;
    /// Called once after the last alert (close a pipe, wait for a program);
    /// an error is reported with the delivery.
    fn close(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Queue size, retries and the give-up rule.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Alerts waiting at most (Falco's `outputs_queue.capacity`; 0: 1024).
    pub capacity: usize,
    /// Attempts per alert (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt, doubled for each later one.
    pub backoff: Duration,
    /// Consecutive timed-out attempts, or consecutive alerts that failed
    /// every attempt, after which the output gives up (at least 1; Falco's
    /// `http_output.max_consecutive_timeouts`).
    pub max_consecutive_timeouts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            capacity: 1024,
            attempts: 3,
            backoff: Duration::from_millis(100),
            max_consecutive_timeouts: 5,
        }
    }
}

/// A transport behind a bounded queue and its own thread.
pub struct Queued {
    name: String,
    tx: Option<SyncSender<Payload>>,
    worker: Option<JoinHandle<Delivery>>,
}

impl Queued {
    /// Starts the output `name`, delivering through `t` under `policy`.
    pub fn start(name: &str, t: impl Transport, policy: Policy) -> Queued {
        let cap = if policy.capacity == 0 {
            1024
        } else {
            policy.capacity
        };
        let (tx, rx) = sync_channel::<Payload>(cap);
        let sink = name.to_string();
        let worker = std::thread::Builder::new()
            .name(format!("output {name}"))
            .spawn(move || work(sink, t, policy, rx))
            .ok();
        Queued {
            name: name.into(),
            tx: Some(tx),
            worker,
        }
    }
}

fn work(
    sink: String,
    mut t: impl Transport,
    policy: Policy,
    rx: std::sync::mpsc::Receiver<Payload>,
) -> Delivery {
    let mut d = Delivery {
        sink,
        ..Delivery::default()
    };
    let limit = policy.max_consecutive_timeouts.max(1);
    let (mut timeouts, mut failed_alerts) = (0u32, 0u32);
    for p in rx {
        if let Some(why) = &d.gave_up {
            d.undelivered += 1;
            *d.reasons.entry(why.clone()).or_default() += 1;
            continue;
        }
        let mut last: Option<Failure> = None;
        for attempt in 0..policy.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(policy.backoff * (1 << (attempt - 1).min(6)));
            }
            match t.deliver(&p) {
                Ok(()) => {
                    last = None;
                    timeouts = 0;
                    break;
                }
                Err(f) => {
                    let stop = match &f {
                        Failure::Timeout(_) => {
                            timeouts += 1;
                            timeouts >= limit
                        }
                        Failure::Retry(_) => false,
                        Failure::Permanent(_) => true,
                    };
                    last = Some(f);
                    if stop {
                        break;
                    }
                }
            }
        }
        match last {
            None => {
                d.delivered += 1;
                failed_alerts = 0;
            }
            Some(f) => {
                d.undelivered += 1;
                *d.reasons.entry(f.reason().to_string()).or_default() += 1;
                failed_alerts += 1;
                if timeouts >= limit {
                    d.gave_up = Some(format!(
                        "gave up after {timeouts} consecutive timeouts (last: {})",
                        f.reason()
                    ));
                } else if failed_alerts >= limit {
                    d.gave_up = Some(format!(
                        "gave up after {failed_alerts} consecutive undelivered alerts (last: {})",
                        f.reason()
                    ));
                }
            }
        }
    }
    d.close_error = t.close().err();
    d
}

impl Sink for Queued {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, r: &Rendered<'_>) -> Result<(), SinkError> {
        let p = Payload {
            line: r.line.to_string(),
            json: r.doc.to_string(),
            priority: r.alert.priority,
        };
        match &self.tx {
            Some(tx) if tx.send(p).is_ok() => Ok(()),
            _ => Err(SinkError::Http {
                sink: self.name.clone(),
                reason: "the output's thread stopped".into(),
            }),
        }
    }

    fn finish(&mut self) -> Result<Delivery, SinkError> {
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(d)) => Ok(d),
            _ => Err(SinkError::Http {
                sink: self.name.clone(),
                reason: "the output's thread failed".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// Fails per a script of outcomes, then succeeds.
    struct Scripted(Vec<Failure>, Arc<AtomicU32>);

    impl Transport for Scripted {
        fn deliver(&mut self, _p: &Payload) -> Result<(), Failure> {
            self.1.fetch_add(1, Ordering::Relaxed);
            if self.0.is_empty() {
                Ok(())
            } else {
                Err(self.0.remove(0))
            }
        }
    }

    fn push(q: &mut Queued, n: usize) {
        let a = crate::tests::alert(false);
        let doc = crate::json(&a, "h");
        for _ in 0..n {
            q.send(&Rendered {
                alert: &a,
                doc: &doc,
                line: "x",
            })
            .expect("queued");
        }
    }

    fn policy() -> Policy {
        Policy {
            capacity: 2,
            attempts: 3,
            backoff: Duration::from_millis(1),
            max_consecutive_timeouts: 3,
        }
    }

    #[test]
    fn retries_then_delivers() {
        let calls = Arc::new(AtomicU32::new(0));
        let t = Scripted(
            vec![Failure::Retry("503".into()), Failure::Retry("503".into())],
            calls.clone(),
        );
        let mut q = Queued::start("t", t, policy());
        push(&mut q, 4);
        let d = q.finish().expect("finish");
        assert_eq!((d.delivered, d.undelivered), (4, 0));
        assert_eq!(calls.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn a_permanent_failure_is_not_retried_and_is_counted() {
        let calls = Arc::new(AtomicU32::new(0));
        let t = Scripted(vec![Failure::Permanent("HTTP 400".into())], calls.clone());
        let mut q = Queued::start("t", t, policy());
        push(&mut q, 3);
        let d = q.finish().expect("finish");
        assert_eq!((d.delivered, d.undelivered), (2, 1));
        assert_eq!(d.reasons.get("HTTP 400"), Some(&1));
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn consecutive_timeouts_give_up_and_count_the_rest() {
        let calls = Arc::new(AtomicU32::new(0));
        let t = Scripted(
            vec![Failure::Timeout("timed out".into()); 100],
            calls.clone(),
        );
        let mut q = Queued::start("t", t, policy());
        push(&mut q, 10);
        let d = q.finish().expect("finish");
        assert_eq!((d.delivered, d.undelivered), (0, 10));
        assert_eq!(calls.load(Ordering::Relaxed), 3, "3 attempts, then no more");
        assert!(d
            .gave_up
            .as_deref()
            .unwrap_or("")
            .contains("3 consecutive timeouts"));
    }

    #[test]
    fn consecutive_failed_alerts_give_up() {
        let calls = Arc::new(AtomicU32::new(0));
        let t = Scripted(vec![Failure::Retry("refused".into()); 100], calls.clone());
        let mut q = Queued::start("t", t, policy());
        push(&mut q, 10);
        let d = q.finish().expect("finish");
        assert_eq!((d.delivered, d.undelivered), (0, 10));
        assert_eq!(calls.load(Ordering::Relaxed), 9, "3 alerts x 3 attempts");
        assert!(d.gave_up.is_some());
    }
}
