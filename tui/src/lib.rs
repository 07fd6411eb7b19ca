//! Ferret's investigator, as a library so that tests drive it and both
//! `ferret-tui` and `analyzer tui` start it: the model ([`app`]), key
//! bindings as data ([`keys`]), rendering ([`ui`]), background work
//! ([`data`]: the process tree with state checkpoints, filters, searches,
//! event detail), bookmarks ([`marks`]) and the terminal loop ([`term`]).
//!
//! Views: alerts grouped by rule, the event timeline (virtualised, with a
//! histogram of events and alerts), the process tree (keyed by process
//! identity, every exec shown), and the detail of one event (every field
//! resolved from the state at that event, its ancestry, fd and container).
//! Pivots (alert -> event -> process -> its events -> event) keep a
//! history that Esc walks back, shown as a breadcrumb.

pub mod app;
pub mod data;
pub mod keys;
pub mod marks;
pub mod term;
pub mod ui;
