//! Ferret's capture format: the schema of recorded events and the file that
//! holds them. The recorder writes captures with [`CaptureWriter`]; the
//! analyzer and the TUI read them with [`Capture`]. This crate depends on no
//! eBPF code, so everything that reads captures builds anywhere.
//!
//! # Layout
//!
//! ```text
//! FileHeader(64)                         magic, format and schema versions
//! Frame(meta)                            CaptureMeta: host, kernel, clock anchor, command line
//! Frame(snapshot)?                       Snapshot: processes, fds, users, groups at start
//! Frame(chunk)*                          Chunk: many events, column-wise (rkyv) in one zstd frame
//! Frame(index)  Trailer(64)              CaptureIndex and a pointer to it (finished files only)
//! ```
//!
//! Each frame header repeats a chunk's event count, first sequence number, time
//! range and kind bitmap, and carries a BLAKE3 hash chained to the previous
//! frame ([`format`]). Readers skip chunks by time and kind from the index,
//! verify each chunk's hash before decompressing it, validate the rkyv archive
//! before reading it, and fall back to walking the frames when the trailer is
//! missing, so a capture cut at any byte still yields every sealed chunk.
//!
//! Events are one record per completed system call (entry arguments and return
//! value together), plus process lifecycle records and loss records. Their
//! kinds and argument layouts are the table in [`kind`]; arguments are stored
//! in the compact tagged stream of [`args`].
//!
//! The full byte-level specification is FORMAT.md at the repository root.

pub mod args;
pub mod error;
pub mod format;
pub mod kind;
pub mod merge;
pub mod outfile;
pub mod reader;
pub mod schema;
pub mod synth;
pub mod syscalls;
pub mod text;
pub mod verify;
pub mod writer;

pub use args::{ArgIter, ArgValue, ArgWriter, SockAddr};
pub use error::{Error, Fault, FrameFault, Result};
pub use format::{FORMAT_VERSION, SCHEMA_VERSION};
pub use kind::{kind_by_name, kind_info, KindInfo, KindSet};
pub use reader::{Bytes, Capture, EventRef, IndexSource, LoadedChunk};
pub use schema::{CaptureMeta, Snapshot};
pub use verify::{verify, VerifyReport};
pub use writer::{
    CaptureWriter, CaptureWriterBuilder, EventHeader, FinishSummary, SealedChunk, Sink, WriterStats,
};
