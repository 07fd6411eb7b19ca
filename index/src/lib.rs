//! Search a capture like logs: a tantivy index of its events, built beside
//! the capture, whose fields carry Falco's names and the state-resolved
//! values the engine computes (process, parent, ancestors, user, fd,
//! container, pod), not just raw arguments.
//!
//! - [`schema`]: the indexed fields (exact-match, tokenized text, numbers,
//!   the time) and the pointers back into the capture (capture, chunk,
//!   position: the event itself is read from the capture, never stored
//!   twice).
//! - [`build`]: [`EventIndex::open_or_build`] opens an index when its
//!   manifest still names every capture's chain head and size, and rebuilds
//!   it otherwise (stale, damaged or missing: an index is never trusted
//!   over the evidence).
//! - [`query`]: field-scoped queries with Falco field names, ranges, free
//!   text, facets and a time histogram, with errors that point at the
//!   position in the query.
//!
//! No printing, no command line: the analyzer's `index` and `search`
//! commands and the TUI use this API.

pub mod build;
pub mod query;
pub mod schema;

pub use build::{BuildOptions, BuildReport, EventIndex, IndexError};
pub use query::{Hit, QueryError, SearchRequest, SearchResult};
