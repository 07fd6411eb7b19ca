//! Ferret's evaluation engine: everything between a capture and an alert,
//! with no command line, no printing and no terminal, so that the analyzer,
//! the TUI and the tests run the same code.
//!
//! - [`state`]: processes, fd tables and containers, kept current by
//!   [`State::apply`](state::State::apply) before an event is evaluated and
//!   [`State::retire`](state::State::retire) after.
//! - [`eval`]: field extraction (Falco's renderings), comparisons and output
//!   formatting over programs compiled by the `ruleset` crate.
//! - [`replay`]: the one apply → evaluate → retire loop, event by event
//!   ([`replay::Replay`]), which every consumer uses: the parallel run, event
//!   listings and streaming evaluation.
//! - [`shared`]: the rules of a run as one DAG, so a subcondition several
//!   rules share is evaluated once per event.
//! - [`run`]: rules over a capture on all cores with the result of one core.
//! - [`source`]: what can be read: a Ferret capture, a sysdig/Falco `.scap`
//!   trace converted in memory, several captures merged by time.
//! - [`summary`]: what `analyzer info` shows of a capture.
//! - [`print`]: events as text lines and JSON objects.

pub mod eval;
pub mod print;
pub mod replay;
pub mod run;
pub mod shared;
pub mod source;
pub mod state;
pub mod summary;

pub use run::{Alert, Matching, RunOptions, RunResult};
