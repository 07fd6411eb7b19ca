//! Search a capture like logs: an index beside the capture whose fields
//! carry Falco's names and the state-resolved values the engine computes
//! (process, parent, ancestors, user, fd, container, pod), not just
//! raw arguments.
//!
//! Most of an event's fields belong to its process or its fd, and a
//! capture holds far fewer distinct processes and fds than events. So the
//! index is two parts:
//!
//! - a tantivy index of *entities*: one document per distinct process and
//!   per distinct fd as the events saw them, with exact, tokenized and
//!   numeric fields ([`schema`]);
//! - an event table ([`store`]): per event its process and fd entities, its
//!   type, result, number, time and alerts, a few bytes in compressed
//!   blocks with per-block summaries, pointing back at the event in its
//!   capture (capture, chunk, position: the event itself is read from the
//!   capture, never stored twice).
//!
//! Modules:
//! - [`build`]: [`EventIndex::open_or_build`] opens an index when its
//!   manifest still names every capture's chain head and size and its files
//!   match their hashes, and rebuilds it otherwise (stale, damaged or
//!   missing: an index is never trusted over the evidence).
//! - [`parse`]: the query language (Lucene's syntax, Falco's field names),
//!   with errors that point at the position in the query.
//! - [`query`]: evaluation per event over entities and the table, results
//!   in time order, facets and a time histogram; blocks whose summary
//!   decides a query are counted without decoding.
//!
//! No printing, no command line: the analyzer's `index` and `search`
//! commands and the TUI use this API.

pub mod build;
pub mod parse;
pub mod query;
pub mod schema;
pub mod store;

pub use build::{BuildOptions, BuildReport, EventIndex, IndexError};
pub use query::{Hit, QueryError, SearchRequest, SearchResult};
