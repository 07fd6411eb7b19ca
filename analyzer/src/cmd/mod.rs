//! One module per command: its arguments (clap) and what it does.

pub mod events;
pub mod export;
pub mod import;
pub mod index;
pub mod info;
pub mod list_fields;
pub mod merge;
pub mod report;
pub mod run;
pub mod search;
pub mod sql;
pub mod synth;
pub mod tui;
pub mod validate;
pub mod verify;
