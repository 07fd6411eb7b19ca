//! Ferret's offline analyzer, as a library so that the TUI and the tests use
//! the same code as the `analyzer` binary.
//!
//! `analyzer run` ([`engine`]) evaluates Falco rules ([`rules`]) over a
//! capture with process and fd state ([`state`], [`eval`]) and writes alerts
//! ([`output`]). Also: capture summaries ([`summary`], `analyzer info`), integrity
//! verification (`analyzer verify`, on [`capture::verify`]), event listing
//! ([`print`], `analyzer events`, with sysdig-style `--filter`/`--format`
//! through [`filter`]) and the synthetic capture generator front
//! end (`analyzer synth`). sysdig/Falco `.scap` traces are read through
//! [`input`], which converts them in memory (`analyzer import` writes the
//! conversion to a file).

pub mod engine;
pub mod eval;
pub mod filter;
pub mod input;
pub mod output;
pub mod print;
pub mod progress;
pub mod rules;
pub mod state;
pub mod summary;
pub mod timefmt;
