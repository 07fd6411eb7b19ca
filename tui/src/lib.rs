//! Ferret's investigation UI, as a library so that tests drive it: the model
//! ([`app`]), key bindings as data ([`keys`]) and rendering ([`ui`]). The
//! binary (`ferret-tui`) only sets up the terminal and the event loop.
//!
//! Panes: alerts from a rule run (in a background thread), the event
//! timeline (chunks loaded on demand, so captures of any size open at once),
//! and the process tree (snapshot plus fork/exec records). Enter pivots from
//! an alert to its event, from an event to its process, and from a process to
//! its first event; `/` searches the event lines.

pub mod app;
pub mod keys;
pub mod ui;
