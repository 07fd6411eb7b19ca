//! Ferret's offline analyzer, as a library so that the TUI and the tests use
//! the same code as the `analyzer` binary.
//!
//! Built so far: capture summaries ([`summary`], `analyzer info`), integrity
//! verification (`analyzer verify`, on [`capture::verify`]), event listing
//! ([`print`], `analyzer events`) and the synthetic capture generator front
//! end (`analyzer synth`). Rule loading, state and
//! evaluation come with their own issues.

pub mod print;
pub mod progress;
pub mod rules;
pub mod summary;
pub mod timefmt;
