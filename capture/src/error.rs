//! Errors that name their place: file, chunk and byte offset.

use std::fmt;

/// What is wrong with one frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameFault {
    /// The file ends inside the frame.
    #[error("truncated frame")]
    Truncated,
    /// No frame magic where a frame should start.
    #[error("no frame header (bad magic)")]
    BadMagic,
    /// The frame header's checksum does not match.
    #[error("frame header checksum mismatch")]
    HeaderChecksum,
    /// A frame kind this build does not know.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// A codec this build does not know.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// A length above the reader's limit.
    #[error("frame length {0} exceeds the 256 MiB limit")]
    TooLarge(u32),
    /// An event count above the reader's limit.
    #[error("event count {0} exceeds the per-chunk limit")]
    TooManyEvents(u32),
    /// Two lengths that must agree do not.
    #[error("length mismatch: expected {expected}, found {found}")]
    LengthMismatch {
        /// The length the header promised.
        expected: u32,
        /// The length found.
        found: u32,
    },
    /// The payload does not hash to the header's hash: the bytes changed.
    #[error("payload hash mismatch (the bytes were altered or damaged)")]
    HashMismatch,
    /// The frame's `prev_hash` does not match the previous frame's hash.
    #[error("hash chain broken: prev_hash does not match the previous frame")]
    ChainBreak,
    /// The payload did not decompress.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The payload is not a valid archive of the expected record.
    #[error("invalid archive: {0}")]
    Archive(String),
    /// The columns of a chunk disagree with each other or with the header.
    #[error("inconsistent chunk: {0}")]
    Columns(String),
    /// A frame of another kind where one kind was expected.
    #[error("expected a {expected} frame, found a {found} frame")]
    WrongKind {
        /// The kind expected.
        expected: &'static str,
        /// The kind found.
        found: &'static str,
    },
    /// The index disagrees with the frames it describes.
    #[error("index entry disagrees with its frame: {0}")]
    IndexMismatch(String),
    /// A section frame (metadata, snapshot) is damaged: what is lost.
    #[error("{frame} frame damaged ({cause}): {lost}")]
    Section {
        /// Which frame.
        frame: &'static str,
        /// The damage.
        cause: String,
        /// What a reader goes without.
        lost: &'static str,
    },
}

/// The cause of an [`Error`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Reading or writing the file failed.
    Io(String),
    /// The file header (or trailer) is unusable.
    Header(String),
    /// A frame is damaged.
    Frame(FrameFault),
    /// The writer was given something it cannot store.
    Write(String),
    /// A stream of a merged capture lacks what its source file had lost
    /// before the merge (recorded in the capture's sources frame).
    Source(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Io(e) => write!(f, "i/o error: {e}"),
            Fault::Header(e) => f.write_str(e),
            Fault::Frame(e) => write!(f, "{e}"),
            Fault::Write(e) => f.write_str(e),
            Fault::Source(e) => write!(f, "lost before the merge: {e}"),
        }
    }
}

/// An error reading or writing a capture, with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The file (or a name for an in-memory capture).
    pub path: String,
    /// The event chunk (0-based), when the error concerns one.
    pub chunk: Option<usize>,
    /// The byte offset in the file where the damaged structure starts.
    pub offset: Option<u64>,
    /// What is wrong.
    pub fault: Fault,
}

impl Error {
    pub(crate) fn new(path: &str, fault: Fault) -> Error {
        Error {
            path: path.to_string(),
            chunk: None,
            offset: None,
            fault,
        }
    }

    pub(crate) fn at(path: &str, chunk: Option<usize>, offset: u64, fault: FrameFault) -> Error {
        Error {
            path: path.to_string(),
            chunk,
            offset: Some(offset),
            fault: Fault::Frame(fault),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(c) = self.chunk {
            write!(f, ": chunk {c}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        write!(f, ": {}", self.fault)
    }
}

impl std::error::Error for Error {}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
