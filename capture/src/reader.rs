//! Reading captures.
//!
//! [`Capture::open`] maps a file and validates before trusting: the header's
//! checksum and versions, then the trailer and the index frame (its hash must
//! equal the trailer's chain head). When the trailer is missing or damaged
//! (a killed recorder, a cut file) the reader walks the frames from the start
//! instead, keeps every frame whose header checks out, and records why it had
//! to in [`Capture::problems`]. Opening fails only when the file header itself
//! is unusable.
//!
//! Chunks are loaded one at a time with [`Capture::load_chunk`], which checks
//! the frame's hash, decompresses into an aligned buffer of exactly the
//! announced size, validates the rkyv archive and the column lengths. Chunks are
//! independent: callers load them in parallel (`Capture` is `Sync`).

use std::path::Path;

use rkyv::util::AlignedVec;

use crate::args::{ArgIter, ArgValue};
use crate::error::{Error, Fault, FrameFault, Result};
use crate::format::{
    FileHeader, FrameHeader, FrameKind, Trailer, FILE_HEADER_LEN, FRAME_HEADER_LEN, FRAME_MAGIC,
    MERGED_SCHEMA_VERSION, TRAILER_LEN,
};
use crate::kind::{kind_info, KindInfo, KindSet};
use crate::schema::{
    ArchivedCaptureIndex, ArchivedChunk, CaptureMeta, ChunkEntry, Snapshot, SourceFile, Sources,
    TS_ESCAPE,
};

/// The bytes of a capture: a read-only memory map or an owned buffer.
pub enum Bytes {
    /// A mapped file.
    Mapped(memmap2::Mmap),
    /// Bytes in memory.
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// How the chunk list was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexSource {
    /// From the trailing index of a finished capture.
    Trailer,
    /// By walking the frames (the capture was not finished, or its index is
    /// damaged).
    Scan,
}

/// An open capture.
pub struct Capture {
    name: String,
    data: Bytes,
    header: FileHeader,
    meta: Option<CaptureMeta>,
    snapshot_offset: Option<u64>,
    chunks: Vec<ChunkEntry>,
    source: IndexSource,
    end_unix_ns: Option<u64>,
    lost_events: Option<u64>,
    chain_head: Option<[u8; 32]>,
    problems: Vec<Error>,
    /// The stream read, in a merged capture (`None`: a recording, or every
    /// stream at once for [`Capture::open_whole`]).
    stream: Option<u16>,
    /// A merged capture's sources frame (empty for a recording).
    sources: Vec<SourceFile>,
}

/// Which part of a file [`Capture::from_bytes_part`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A recording; a merged capture only when it holds one stream.
    Default,
    /// One stream of a merged capture.
    Stream(u16),
    /// Every frame of the file, whatever stream (for verification); the
    /// metadata and snapshot are the first stream's.
    Whole,
}

/// Splits `all.cap#2` into the file and stream it names (the file must
/// exist and the suffix be a number); `None` for any other path, and for a
/// file whose own name ends so.
pub fn split_stream_path(path: &Path) -> Option<(std::path::PathBuf, u16)> {
    if path.exists() {
        return None;
    }
    let s = path.to_str()?;
    let (file, n) = s.rsplit_once('#')?;
    let n: u16 = n.parse().ok()?;
    let file = std::path::PathBuf::from(file);
    file.is_file().then_some((file, n))
}

/// The file a capture path is read from (`all.cap#1` is read from
/// `all.cap`; any other path from itself).
pub fn file_of(path: &Path) -> std::path::PathBuf {
    split_stream_path(path).map_or_else(|| path.to_path_buf(), |(f, _)| f)
}

/// One step of a walk over the frames of a file.
#[derive(Clone, Debug)]
pub enum WalkItem {
    /// A frame whose header checks out and whose payload lies in the file.
    Frame {
        /// Offset of the frame header.
        offset: u64,
        /// The decoded header.
        header: FrameHeader,
    },
    /// Bytes that are not a frame; the walk resumes at `resume` (or ends).
    Damage {
        /// Where the damage starts.
        offset: u64,
        /// What was found there.
        fault: FrameFault,
        /// Offset of the next valid frame header, if any.
        resume: Option<u64>,
    },
    /// A valid trailer ending the file.
    Trailer {
        /// Offset of the trailer.
        offset: u64,
        /// The decoded trailer.
        trailer: Trailer,
    },
}

/// Reads a merged capture's sources frame, which follows the file header.
fn read_sources(data: &[u8]) -> std::result::Result<Vec<SourceFile>, FrameFault> {
    let at = FILE_HEADER_LEN as u64;
    let h = frame_at(data, at)?;
    if h.kind != FrameKind::Sources {
        return Err(FrameFault::WrongKind {
            expected: "sources",
            found: h.kind.name(),
        });
    }
    let raw = decode_frame_payload(data, at, &h)?;
    rkyv::from_bytes::<Sources, rkyv::rancor::Error>(&raw)
        .map(|s| s.sources)
        .map_err(|e| FrameFault::Archive(e.to_string()))
}

/// Walks the frames of `data` from just after the file header. A frame whose
/// header is valid but whose payload runs past the end is reported as damage
/// (a cut file). After damage, the walk resumes at the next offset holding a
/// valid frame header.
pub fn walk_frames(data: &[u8]) -> Vec<WalkItem> {
    let mut out = Vec::new();
    let len = data.len() as u64;
    let mut at = FILE_HEADER_LEN as u64;
    while at < len {
        let rest = &data[at as usize..];
        if rest.len() == TRAILER_LEN {
            if let Ok(trailer) = Trailer::decode(rest) {
                out.push(WalkItem::Trailer {
                    offset: at,
                    trailer,
                });
                break;
            }
        }
        match frame_at(data, at) {
            Ok(header) => {
                out.push(WalkItem::Frame { offset: at, header });
                at += header.frame_len();
            }
            Err(fault) => {
                let resume = resync(data, at + 1);
                out.push(WalkItem::Damage {
                    offset: at,
                    fault,
                    resume,
                });
                match resume {
                    Some(r) => at = r,
                    None => break,
                }
            }
        }
    }
    out
}

pub(crate) fn frame_at(data: &[u8], at: u64) -> Result<FrameHeader, FrameFault> {
    let rest = data.get(at as usize..).ok_or(FrameFault::Truncated)?;
    let header = FrameHeader::decode(rest)?;
    if header.frame_len() > rest.len() as u64 {
        return Err(FrameFault::Truncated);
    }
    Ok(header)
}

fn resync(data: &[u8], from: u64) -> Option<u64> {
    let mut i = from as usize;
    while i + FRAME_HEADER_LEN <= data.len() {
        if data[i..i + 4] == FRAME_MAGIC && frame_at(data, i as u64).is_ok() {
            return Some(i as u64);
        }
        i += 1;
    }
    None
}

/// Opens `path` for reading only when it is a regular file: a FIFO, device
/// or directory is refused with what it is, without blocking (a FIFO is
/// opened non-blocking, then checked).
pub fn open_regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let t = f.metadata()?.file_type();
    let what = if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(w) = what {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{w}, not a capture file"),
        ));
    }
    // Back to blocking reads.
    // SAFETY: fcntl on an fd we own, with flags read from it.
    unsafe {
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd();
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
    Ok(f)
}

impl Capture {
    /// Maps and opens a capture file (a regular file: a FIFO, device or
    /// directory is refused with what it is, without blocking).
    ///
    /// A merged capture (`analyzer merge`) holding several recordings is read
    /// one recording at a time: `all.cap#1` names its stream 1, and the file
    /// alone is refused with the list of its streams (see
    /// [`Capture::stream_paths`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Capture> {
        let path = path.as_ref();
        if let Some((file, n)) = split_stream_path(path) {
            return Capture::open_part(&file, &path.display().to_string(), Part::Stream(n));
        }
        Capture::open_part(path, &path.display().to_string(), Part::Default)
    }

    /// Opens every frame of a file, whatever stream of a merged capture it
    /// belongs to: for verifying the file as a whole.
    pub fn open_whole(path: impl AsRef<Path>) -> Result<Capture> {
        let path = path.as_ref();
        Capture::open_part(path, &path.display().to_string(), Part::Whole)
    }

    /// The paths that name each recording of the file at `path`: the path
    /// itself for a recording (or anything not a merged capture, which
    /// [`Capture::open`] then judges), `FILE#0`, `FILE#1`... for a merged
    /// capture of several recordings.
    pub fn stream_paths(path: &Path) -> Vec<std::path::PathBuf> {
        match Capture::open_part(path, &path.display().to_string(), Part::Whole) {
            Ok(c) if c.sources.len() > 1 => (0..c.sources.len())
                .map(|i| std::path::PathBuf::from(format!("{}#{i}", path.display())))
                .collect(),
            _ => vec![path.to_path_buf()],
        }
    }

    fn open_part(path: &Path, name: &str, part: Part) -> Result<Capture> {
        let name = name.to_string();
        let file = open_regular(path).map_err(|e| Error::new(&name, Fault::Io(e.to_string())))?;
        // SAFETY: the map is read-only and private to this process. Ferret
        // never writes to a file it reads; a capture truncated by another
        // process while mapped would fault, which is the documented limit of
        // reading over mmap (copy the file first when it is still being written).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| Error::new(&name, Fault::Io(e.to_string())))?;
        Capture::from_bytes_part(Bytes::Mapped(map), &name, part)
    }

    /// Opens a capture held in memory; `name` is used in messages.
    pub fn from_bytes(data: Bytes, name: &str) -> Result<Capture> {
        Capture::from_bytes_part(data, name, Part::Default)
    }

    /// Opens the `part` of a capture held in memory.
    pub fn from_bytes_part(data: Bytes, name: &str, part: Part) -> Result<Capture> {
        let header = FileHeader::decode(&data).map_err(|e| Error::new(name, Fault::Header(e)))?;
        let merged = header.schema_version >= MERGED_SCHEMA_VERSION;
        let mut problems = Vec::new();
        let sources = if merged {
            match read_sources(&data) {
                Ok(s) => s,
                Err(f) => {
                    problems.push(Error::at(
                        name,
                        None,
                        FILE_HEADER_LEN as u64,
                        FrameFault::Section {
                            frame: "sources",
                            cause: f.to_string(),
                            lost: "the names and chain heads of the merged recordings are unknown; stream 0 is read",
                        },
                    ));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let stream = match (merged, part) {
            (false, Part::Stream(n)) => {
                return Err(Error::new(
                    name,
                    Fault::Header(format!(
                        "stream {n} asked for, but this is a recording, not a merged capture"
                    )),
                ))
            }
            (false, _) | (true, Part::Whole) => None,
            (true, Part::Stream(n)) => {
                if !sources.is_empty() && usize::from(n) >= sources.len() {
                    return Err(Error::new(
                        name,
                        Fault::Header(format!(
                            "a merged capture of {} recordings has no stream {n}",
                            sources.len()
                        )),
                    ));
                }
                Some(n)
            }
            (true, Part::Default) => {
                if sources.len() > 1 {
                    let hosts: Vec<String> = sources
                        .iter()
                        .enumerate()
                        .map(|(i, s)| format!("#{i} {} ({})", s.hostname, s.name))
                        .collect();
                    return Err(Error::new(
                        name,
                        Fault::Header(format!(
                            "a merged capture of {} recordings: {}; name one as {name}#N, or give the file to a command that reads them all (run, events, info, export, merge)",
                            sources.len(),
                            hosts.join(", ")
                        )),
                    ));
                }
                Some(0)
            }
        };
        let mut cap = Capture {
            name: name.to_string(),
            data,
            header,
            meta: None,
            snapshot_offset: None,
            chunks: Vec::new(),
            source: IndexSource::Trailer,
            end_unix_ns: None,
            lost_events: None,
            chain_head: None,
            problems,
            stream,
            sources,
        };
        match cap.read_index().and_then(|()| cap.check_index()) {
            Ok(()) => {}
            Err(e) => {
                cap.problems.push(e);
                cap.source = IndexSource::Scan;
                cap.chunks.clear();
                cap.scan();
            }
        }
        if let Some(src) = cap.source_file().cloned() {
            let lost: Vec<Error> = src
                .damage
                .iter()
                .map(|d| Error::new(name, Fault::Source(format!("{}: {d}", src.name))))
                .collect();
            cap.lost_events = Some(src.lost_events);
            cap.end_unix_ns = (src.end_unix_ns != 0).then_some(src.end_unix_ns);
            cap.problems.extend(lost);
        }
        cap.read_meta();
        Ok(cap)
    }

    /// Whether a frame belongs to the part read.
    fn mine(&self, h: &FrameHeader) -> bool {
        self.stream.is_none_or(|s| s == h.stream)
    }

    fn read_index(&mut self) -> Result<()> {
        let len = self.data.len();
        if len < FILE_HEADER_LEN + TRAILER_LEN {
            return Err(Error::new(
                &self.name,
                Fault::Header("no trailer (the capture was not finished)".into()),
            ));
        }
        let toff = (len - TRAILER_LEN) as u64;
        let trailer = Trailer::decode(&self.data[len - TRAILER_LEN..]).map_err(|e| Error {
            offset: Some(toff),
            ..Error::new(&self.name, Fault::Header(e))
        })?;
        let at = trailer.index_offset;
        let frame_err = |f| Error::at(&self.name, None, at, f);
        if at < FILE_HEADER_LEN as u64 || at >= toff {
            return Err(frame_err(FrameFault::IndexMismatch(
                "index offset out of range".into(),
            )));
        }
        let header = frame_at(&self.data[..toff as usize], at).map_err(frame_err)?;
        if header.kind != FrameKind::Index {
            return Err(frame_err(FrameFault::WrongKind {
                expected: "index",
                found: header.kind.name(),
            }));
        }
        if header.hash != trailer.chain_head {
            return Err(frame_err(FrameFault::ChainBreak));
        }
        let raw = self.decode_payload(at, &header).map_err(frame_err)?;
        let idx = rkyv::access::<ArchivedCaptureIndex, rkyv::rancor::Error>(&raw)
            .map_err(|e| frame_err(FrameFault::Archive(e.to_string())))?;
        let mut chunks = Vec::with_capacity(idx.chunks.len());
        for (i, e) in idx.chunks.iter().enumerate() {
            let entry = ChunkEntry {
                offset: e.offset.to_native(),
                frame_len: e.frame_len.to_native(),
                raw_len: e.raw_len.to_native(),
                event_count: e.event_count.to_native(),
                first_seq: e.first_seq.to_native(),
                ts_min: e.ts_min.to_native(),
                ts_max: e.ts_max.to_native(),
                kinds: [
                    e.kinds[0].to_native(),
                    e.kinds[1].to_native(),
                    e.kinds[2].to_native(),
                    e.kinds[3].to_native(),
                ],
            };
            if entry.offset + u64::from(entry.frame_len) > at {
                return Err(frame_err(FrameFault::IndexMismatch(format!(
                    "entry {i} points past the index"
                ))));
            }
            if self.stream.is_some() {
                let h = frame_at(&self.data, entry.offset).map_err(|f| {
                    Error::at(
                        &self.name,
                        Some(i),
                        entry.offset,
                        FrameFault::IndexMismatch(format!(
                            "index entry {i} points at no frame ({f}); reading the frames instead"
                        )),
                    )
                })?;
                if !self.mine(&h) {
                    continue;
                }
            }
            chunks.push(entry);
        }
        self.chunks = chunks;
        self.end_unix_ns = Some(idx.end_unix_ns.to_native());
        self.lost_events = Some(idx.lost_events.to_native());
        self.chain_head = Some(trailer.chain_head);
        Ok(())
    }

    /// Checks every index entry against the frame it points to (kind,
    /// length, first event number, event count) and that the entries follow
    /// each other in event order: an index that disagrees with the frames is
    /// not trusted (the caller then scans the frames).
    fn check_index(&self) -> Result<()> {
        let mut next_seq: std::collections::HashMap<u16, Option<u64>> = Default::default();
        for (i, e) in self.chunks.iter().enumerate() {
            let bad = |why: String| {
                Error::at(
                    &self.name,
                    Some(i),
                    e.offset,
                    FrameFault::IndexMismatch(format!(
                        "index entry {i} disagrees with the frames ({why}); reading the frames instead"
                    )),
                )
            };
            let h = frame_at(&self.data, e.offset).map_err(|f| bad(f.to_string()))?;
            if h.kind != FrameKind::Chunk {
                return Err(bad(format!("a {} frame at its offset", h.kind.name())));
            }
            if h.frame_len() != u64::from(e.frame_len)
                || h.first_seq != e.first_seq
                || h.event_count != e.event_count
            {
                return Err(bad(format!(
                    "the frame holds events {}..{}, the index says {}..{}",
                    h.first_seq,
                    h.first_seq + u64::from(h.event_count),
                    e.first_seq,
                    e.first_seq + u64::from(e.event_count)
                )));
            }
            // A recording's events are numbered without gaps; a merged
            // stream keeps its source's numbers, with the gaps of chunks the
            // source had lost (named in its sources entry).
            let merged = self.header.schema_version >= MERGED_SCHEMA_VERSION;
            let next = next_seq.entry(h.stream).or_insert(None);
            if next.is_some_and(|n| {
                if merged {
                    e.first_seq < n
                } else {
                    n != e.first_seq
                }
            }) {
                return Err(bad("entries out of event order".into()));
            }
            *next = Some(e.first_seq + u64::from(e.event_count));
        }
        Ok(())
    }

    fn scan(&mut self) {
        let mut chunk_no = 0usize;
        for item in walk_frames(&self.data) {
            match item {
                WalkItem::Frame { header, .. } if !self.mine(&header) => {}
                WalkItem::Frame { offset, header } => match header.kind {
                    FrameKind::Chunk => {
                        self.chunks.push(ChunkEntry {
                            offset,
                            frame_len: header.frame_len() as u32,
                            raw_len: header.raw_len,
                            event_count: header.event_count,
                            first_seq: header.first_seq,
                            ts_min: header.ts_min,
                            ts_max: header.ts_max,
                            kinds: header.kinds,
                        });
                        chunk_no += 1;
                    }
                    FrameKind::Snapshot if self.snapshot_offset.is_none() => {
                        self.snapshot_offset = Some(offset)
                    }
                    _ => {}
                },
                WalkItem::Damage { offset, fault, .. } => {
                    self.problems
                        .push(Error::at(&self.name, Some(chunk_no), offset, fault));
                }
                WalkItem::Trailer { .. } => {}
            }
        }
        // Frames moved around in the file still read in event order (the
        // streams of a merged capture read whole stay in file order: each
        // numbers its events on its own).
        if self.stream.is_some() || self.header.schema_version < MERGED_SCHEMA_VERSION {
            self.chunks.sort_by_key(|c| c.first_seq);
        }
    }

    /// A merged capture's metadata and snapshot frames for the stream read
    /// (they precede the first chunk, each stream's snapshot after its
    /// metadata).
    fn read_stream_meta(&mut self) {
        let want = self.stream.unwrap_or(0);
        let mut meta_at = None;
        for item in walk_frames(&self.data) {
            let WalkItem::Frame { offset, header } = item else {
                continue;
            };
            match header.kind {
                FrameKind::Chunk | FrameKind::Index => break,
                _ if header.stream != want => {}
                FrameKind::Meta if meta_at.is_none() => meta_at = Some(offset),
                FrameKind::Snapshot if self.snapshot_offset.is_none() => {
                    self.snapshot_offset = Some(offset)
                }
                _ => {}
            }
        }
        let r = match meta_at {
            Some(at) => frame_at(&self.data, at).and_then(|h| {
                let raw = self.decode_payload(at, &h)?;
                rkyv::from_bytes::<CaptureMeta, rkyv::rancor::Error>(&raw)
                    .map_err(|e| FrameFault::Archive(e.to_string()))
            }),
            None => Err(FrameFault::WrongKind {
                expected: "meta",
                found: "none for this stream",
            }),
        };
        match r {
            Ok(m) => self.meta = Some(m),
            Err(f) => self.problems.push(Error::at(
                &self.name,
                None,
                meta_at.unwrap_or(FILE_HEADER_LEN as u64),
                FrameFault::Section {
                    frame: "metadata",
                    cause: f.to_string(),
                    lost: "host, recorder, boot time (times are relative to boot) and filters are unknown; the snapshot and events are still read",
                },
            )),
        }
    }

    fn read_meta(&mut self) {
        if self.header.schema_version >= MERGED_SCHEMA_VERSION {
            return self.read_stream_meta();
        }
        let at = FILE_HEADER_LEN as u64;
        let r = frame_at(&self.data, at).and_then(|h| {
            if h.kind != FrameKind::Meta {
                return Err(FrameFault::WrongKind {
                    expected: "meta",
                    found: h.kind.name(),
                });
            }
            let raw = self.decode_payload(at, &h)?;
            let m = rkyv::from_bytes::<CaptureMeta, rkyv::rancor::Error>(&raw)
                .map_err(|e| FrameFault::Archive(e.to_string()))?;
            Ok((m, h))
        });
        match r {
            Ok((m, h)) => {
                self.meta = Some(m);
                if self.snapshot_offset.is_none() {
                    let next = at + h.frame_len();
                    match frame_at(&self.data, next) {
                        Ok(s) if s.kind == FrameKind::Snapshot => self.snapshot_offset = Some(next),
                        // No snapshot: events (or the index) follow at once.
                        Ok(_) => {}
                        // A frame that the index skips (only the snapshot
                        // lies between the metadata and the first chunk).
                        Err(f)
                            if self.source == IndexSource::Trailer
                                && self.chunks.first().is_none_or(|c| c.offset > next) =>
                        {
                            self.problems.push(Error::at(
                                &self.name,
                                None,
                                next,
                                FrameFault::Section {
                                    frame: "snapshot",
                                    cause: f.to_string(),
                                    lost: "the processes, fds, users and groups at the start are lost; state starts empty",
                                },
                            ))
                        }
                        Err(_) => {}
                    }
                }
            }
            Err(f) => {
                self.problems.push(Error::at(
                    &self.name,
                    None,
                    at,
                    FrameFault::Section {
                        frame: "metadata",
                        cause: f.to_string(),
                        lost: "host, recorder, boot time (times are relative to boot) and filters are unknown; the snapshot and events are still read",
                    },
                ));
                // The snapshot does not depend on the metadata: find it.
                if self.snapshot_offset.is_none() {
                    for item in walk_frames(&self.data) {
                        if let WalkItem::Frame { offset, header } = item {
                            match header.kind {
                                FrameKind::Snapshot => {
                                    self.snapshot_offset = Some(offset);
                                    break;
                                }
                                FrameKind::Chunk | FrameKind::Index => break,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }

    /// Checks a frame's hash and returns its decompressed payload in an aligned
    /// buffer of exactly `raw_len` bytes.
    fn decode_payload(&self, at: u64, h: &FrameHeader) -> Result<AlignedVec, FrameFault> {
        decode_frame_payload(&self.data, at, h)
    }
}

/// Checks a frame's hash and returns its decompressed payload in an aligned
/// buffer of exactly `raw_len` bytes.
pub(crate) fn decode_frame_payload(
    data: &[u8],
    at: u64,
    h: &FrameHeader,
) -> Result<AlignedVec, FrameFault> {
    decode_frame_into(data, at, h, AlignedVec::new())
}

/// [`decode_frame_payload`] into `buf` (a recycled buffer: its capacity is
/// reused, and the bytes it already holds are overwritten rather than
/// zeroed first).
fn decode_frame_into(
    data: &[u8],
    at: u64,
    h: &FrameHeader,
    mut buf: AlignedVec,
) -> Result<AlignedVec, FrameFault> {
    let start = at as usize;
    let hb = &data[start..start + FRAME_HEADER_LEN];
    let payload = &data[start + FRAME_HEADER_LEN..start + h.frame_len() as usize];
    h.check_payload(hb, payload)?;
    let need = h.raw_len as usize;
    if buf.capacity() < need {
        // Room for the next, slightly larger chunks too; nothing to keep.
        buf.clear();
        buf.reserve(need + need / 4);
    }
    // Shrinking keeps the bytes; growing zeroes only what is new.
    buf.resize(need, 0);
    match h.codec {
        crate::format::Codec::None => buf.copy_from_slice(payload),
        crate::format::Codec::Zstd => {
            let n = with_dctx(|d| d.decompress(&mut buf[..], payload)).map_err(|c| {
                FrameFault::Decompress(zstd::zstd_safe::get_error_name(c).to_string())
            })?;
            if n != h.raw_len as usize {
                return Err(FrameFault::LengthMismatch {
                    expected: h.raw_len,
                    found: n as u32,
                });
            }
        }
    }
    Ok(buf)
}

/// Runs `f` with this thread's zstd decompression context (made once per
/// thread instead of once per frame: a context holds about 100 KB of
/// tables that would be allocated and freed for every chunk).
fn with_dctx<T>(f: impl FnOnce(&mut zstd::zstd_safe::DCtx<'static>) -> T) -> T {
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    DCTX.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => f(d.get_or_insert_with(zstd::zstd_safe::DCtx::create)),
        // Re-entered (cannot happen today): a context of its own.
        Err(_) => f(&mut zstd::zstd_safe::DCtx::create()),
    })
}

/// The memory of loaded chunks that were dropped, kept for the next chunks
/// loaded or sealed (process-wide, since chunks are loaded, handed over
/// and dropped on different threads). A chunk's payload is up to a few MB;
/// the allocator hands blocks that large back to the kernel, which then
/// zeroes every page again when the next chunk touches it: 11-14 % of a
/// rules run on the real-workload recording went to that before the
/// buffers were recycled, and on this project's VMs a fresh page costs far
/// more than zeroing it (the host backs it on first touch).
pub(crate) mod recycle {
    use rkyv::util::AlignedVec;
    use std::sync::Mutex;

    /// Buffers of each sort kept at most (enough for every chunk in
    /// flight in a run on a few cores; more are freed).
    const KEPT: usize = 8;
    /// Larger payloads are freed rather than kept.
    const LARGEST: usize = 64 << 20;

    /// A chunk's per-event columns the reader adds.
    #[derive(Default)]
    pub(crate) struct Columns {
        pub ts: Vec<u64>,
        pub arg_off: Vec<u32>,
    }

    static PAYLOADS: Mutex<Vec<AlignedVec>> = Mutex::new(Vec::new());
    static COLUMNS: Mutex<Vec<Columns>> = Mutex::new(Vec::new());

    /// A buffer for a payload of `len` bytes: the smallest kept that holds
    /// it, else the largest kept, else a new one (empty, its capacity
    /// whatever it was).
    pub(crate) fn payload(len: usize) -> AlignedVec {
        let mut free = PAYLOADS.lock().unwrap_or_else(|p| p.into_inner());
        let fits = free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let pick = fits.or_else(|| {
            free.iter()
                .enumerate()
                .max_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)
        });
        pick.map(|i| free.swap_remove(i)).unwrap_or_default()
    }

    /// Columns to fill (empty, their capacity whatever it was).
    pub(crate) fn columns() -> Columns {
        COLUMNS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Keeps a payload buffer for a later chunk, or frees it.
    pub(crate) fn give_payload(b: AlignedVec) {
        if b.capacity() == 0 || b.capacity() > LARGEST {
            return;
        }
        let mut free = PAYLOADS.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < KEPT {
            free.push(b);
        }
    }

    /// Keeps columns for a later chunk, or frees them.
    pub(crate) fn give_columns(c: Columns) {
        if c.ts.capacity() == 0 || c.ts.capacity() * 8 > LARGEST {
            return;
        }
        let mut free = COLUMNS.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < KEPT {
            free.push(c);
        }
    }
}

impl Capture {
    /// The stream of a merged capture this reads (`None` for a recording).
    pub fn stream(&self) -> Option<u16> {
        self.stream
    }

    /// A merged capture's sources, one per stream (empty for a recording).
    pub fn sources(&self) -> &[SourceFile] {
        &self.sources
    }

    /// Where the stream read came from, in a merged capture.
    pub fn source_file(&self) -> Option<&SourceFile> {
        self.sources.get(usize::from(self.stream?))
    }

    /// What identifies the recording read: the chain head of the file, or
    /// for a stream of a merged capture the chain head its source file had.
    /// Two inputs with the same identity are the same recording.
    pub fn recording_head(&self) -> Option<[u8; 32]> {
        match self.source_file() {
            Some(s) if s.finished => Some(s.chain_head),
            Some(_) => None,
            None => self.chain_head,
        }
    }

    /// The file's name as given to `open`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw bytes of the file.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The decoded file header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The capture's metadata, `None` when its frame is damaged.
    pub fn meta(&self) -> Option<&CaptureMeta> {
        self.meta.as_ref()
    }

    /// Every chunk, in file order.
    pub fn chunks(&self) -> &[ChunkEntry] {
        &self.chunks
    }

    /// Where the chunk list came from.
    pub fn index_source(&self) -> IndexSource {
        self.source
    }

    /// Problems met while opening: a missing trailer, damaged frames that were
    /// skipped. Empty for an intact, finished capture.
    pub fn problems(&self) -> &[Error] {
        &self.problems
    }

    /// Wall-clock end from the index (finished captures only).
    pub fn end_unix_ns(&self) -> Option<u64> {
        self.end_unix_ns
    }

    /// Events the recorder knew it lost, from the index (finished captures
    /// only; for a stream of a merged capture, its source's count).
    pub fn lost_events(&self) -> Option<u64> {
        self.lost_events
    }

    /// The chain head from the trailer (finished captures only).
    pub fn chain_head(&self) -> Option<[u8; 32]> {
        self.chain_head
    }

    /// Number of events the chunk list accounts for.
    pub fn event_count(&self) -> u64 {
        self.chunks.iter().map(|c| u64::from(c.event_count)).sum()
    }

    /// Smallest and largest event timestamp, from the chunk list.
    pub fn time_range(&self) -> Option<(u64, u64)> {
        let min = self.chunks.iter().map(|c| c.ts_min).min()?;
        let max = self.chunks.iter().map(|c| c.ts_max).max()?;
        Some((min, max))
    }

    /// Reads the start-of-capture state snapshot, if the capture has one.
    pub fn snapshot(&self) -> Result<Option<Snapshot>> {
        let Some(at) = self.snapshot_offset else {
            return Ok(None);
        };
        let err = |f| Error::at(&self.name, None, at, f);
        let h = frame_at(&self.data, at).map_err(err)?;
        let raw = self.decode_payload(at, &h).map_err(err)?;
        rkyv::from_bytes::<Snapshot, rkyv::rancor::Error>(&raw)
            .map(Some)
            .map_err(|e| err(FrameFault::Archive(e.to_string())))
    }

    /// Indices of the chunks that may hold events of a kind in `kinds` and a
    /// timestamp in `from..=to`, decided from the index alone.
    pub fn select_chunks(&self, kinds: &KindSet, from: u64, to: u64) -> Vec<usize> {
        self.chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                KindSet(c.kinds).intersects(kinds) && c.ts_max >= from && c.ts_min <= to
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The chunk holding event `seq` (0-based), if a readable chunk does.
    pub fn chunk_of(&self, seq: u64) -> Option<usize> {
        let i = self
            .chunks
            .partition_point(|c| c.first_seq + u64::from(c.event_count) <= seq);
        self.chunks.get(i).filter(|c| seq >= c.first_seq).map(|_| i)
    }

    /// The first chunk that may hold an event at or after `ts`.
    pub fn seek_time(&self, ts: u64) -> Option<usize> {
        self.chunks.iter().position(|c| c.ts_max >= ts)
    }

    /// Loads chunk `i`: checks its frame and hash, decompresses and validates it.
    pub fn load_chunk(&self, i: usize) -> Result<LoadedChunk> {
        let entry = *self.chunks.get(i).ok_or_else(|| {
            Error::new(
                &self.name,
                Fault::Header(format!("chunk {i} does not exist")),
            )
        })?;
        let at = entry.offset;
        let err = |f| Error::at(&self.name, Some(i), at, f);
        let h = frame_at(&self.data, at).map_err(err)?;
        if h.kind != FrameKind::Chunk {
            return Err(err(FrameFault::WrongKind {
                expected: "chunk",
                found: h.kind.name(),
            }));
        }
        if h.event_count != entry.event_count
            || h.first_seq != entry.first_seq
            || h.frame_len() != u64::from(entry.frame_len)
        {
            return Err(err(FrameFault::IndexMismatch(
                "count, sequence or length differ".into(),
            )));
        }
        let buf = decode_frame_into(&self.data, at, &h, recycle::payload(h.raw_len as usize))
            .map_err(err)?;
        LoadedChunk::validate(buf, i, h.event_count, h.first_seq).map_err(err)
    }

    /// Calls `f` on every event in file order, loading chunks one at a time.
    /// Chunks that fail to load are skipped and their errors returned, so a
    /// damaged capture still yields all of its intact events.
    pub fn for_each_event(&self, mut f: impl FnMut(&EventRef<'_>)) -> Vec<Error> {
        let mut errors = Vec::new();
        for i in 0..self.chunks.len() {
            match self.load_chunk(i) {
                Ok(c) => c.events().for_each(|e| f(&e)),
                Err(e) => errors.push(e),
            }
        }
        errors
    }
}

/// A decompressed, validated chunk.
pub struct LoadedChunk {
    index: usize,
    buf: AlignedVec,
    ts: Vec<u64>,
    arg_off: Vec<u32>,
}

impl LoadedChunk {
    /// A chunk a writer sealed and handed over
    /// ([`crate::CaptureWriterBuilder::hand_over_chunks`]), validated as a
    /// chunk read from a file is (the frame's hash aside: it never left
    /// memory).
    pub fn from_sealed(s: crate::writer::SealedChunk, name: &str) -> Result<LoadedChunk> {
        let index = s.index;
        LoadedChunk::validate(s.payload, index, s.event_count, s.first_seq)
            .map_err(|f| Error::at(name, Some(index), 0, f))
    }

    fn validate(
        buf: AlignedVec,
        index: usize,
        event_count: u32,
        first_seq: u64,
    ) -> Result<LoadedChunk, FrameFault> {
        let c = rkyv::access::<ArchivedChunk, rkyv::rancor::Error>(&buf)
            .map_err(|e| FrameFault::Archive(e.to_string()))?;
        let n = c.kind.len();
        if n != event_count as usize {
            return Err(FrameFault::Columns(format!(
                "{n} events, header says {event_count}"
            )));
        }
        if c.first_seq.to_native() != first_seq {
            return Err(FrameFault::Columns(
                "first sequence number differs from header".into(),
            ));
        }
        for (name, l) in [
            ("ts_delta", c.ts_delta.len()),
            ("cpu", c.cpu.len()),
            ("pid", c.pid.len()),
            ("tid", c.tid.len()),
            ("ret", c.ret.len()),
            ("arg_len", c.arg_len.len()),
        ] {
            if l != n {
                return Err(FrameFault::Columns(format!(
                    "column {name} has {l} rows, expected {n}"
                )));
            }
        }
        let recycle::Columns {
            mut ts,
            mut arg_off,
        } = recycle::columns();
        arg_off.clear();
        if arg_off.capacity() < n + 1 {
            arg_off.reserve(n + 1 + n / 4);
        }
        let mut off: u64 = 0;
        arg_off.push(0u32);
        for l in c.arg_len.iter() {
            off += u64::from(l.to_native());
            if off > c.args.len() as u64 {
                return Err(FrameFault::Columns(
                    "argument lengths exceed the argument column".into(),
                ));
            }
            arg_off.push(off as u32);
        }
        if off != c.args.len() as u64 {
            return Err(FrameFault::Columns(
                "argument column has trailing bytes".into(),
            ));
        }
        ts.clear();
        if ts.capacity() < n {
            ts.reserve(n + n / 4);
        }
        let mut far = c.ts_far.iter();
        let mut cur = c.ts_base.to_native();
        for d in c.ts_delta.iter() {
            let d = d.to_native();
            cur = if d == TS_ESCAPE {
                far.next()
                    .ok_or_else(|| FrameFault::Columns("missing escaped timestamp".into()))?
                    .to_native()
            } else {
                cur.wrapping_add_signed(i64::from(d))
            };
            ts.push(cur);
        }
        if far.next().is_some() {
            return Err(FrameFault::Columns("unused escaped timestamps".into()));
        }
        Ok(LoadedChunk {
            index,
            buf,
            ts,
            arg_off,
        })
    }

    fn archived(&self) -> &ArchivedChunk {
        // SAFETY: `buf` was validated by `rkyv::access` in `validate`, and it is
        // never mutated afterwards (no method hands out `&mut`).
        unsafe { rkyv::access_unchecked::<ArchivedChunk>(&self.buf) }
    }

    /// Memory the loaded chunk takes: its columns and the per-event
    /// timestamp and argument offset the reader adds.
    pub fn cost(&self) -> u64 {
        self.buf.len() as u64 + 12 * self.ts.len() as u64
    }

    /// The chunk's position in the capture.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the chunk holds no event.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Sequence number of the first event.
    pub fn first_seq(&self) -> u64 {
        self.archived().first_seq.to_native()
    }

    /// The kind column, for quick counting without building events.
    pub fn kinds(&self) -> impl Iterator<Item = u16> + '_ {
        self.archived().kind.iter().map(|k| k.to_native())
    }

    /// Event `i` of the chunk.
    pub fn event(&self, i: usize) -> Option<EventRef<'_>> {
        (i < self.len()).then(|| self.event_at(self.archived(), i))
    }

    fn event_at<'a>(&'a self, c: &'a ArchivedChunk, i: usize) -> EventRef<'a> {
        EventRef {
            seq: c.first_seq.to_native() + i as u64,
            ts: self.ts[i],
            cpu: c.cpu[i].to_native(),
            pid: c.pid[i].to_native(),
            tid: c.tid[i].to_native(),
            kind: c.kind[i].to_native(),
            ret: c.ret[i].to_native(),
            args: &c.args[self.arg_off[i] as usize..self.arg_off[i + 1] as usize],
        }
    }

    /// Iterates the events in stored order.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'_>> + '_ {
        let c = self.archived();
        (0..self.len()).map(move |i| self.event_at(c, i))
    }

    /// Index of the first event at or after `ts` (events are in arrival order,
    /// which is time order up to small cross-CPU skew).
    pub fn seek_time(&self, ts: u64) -> usize {
        self.ts.iter().position(|&t| t >= ts).unwrap_or(self.len())
    }
}

impl Drop for LoadedChunk {
    fn drop(&mut self) {
        recycle::give_payload(std::mem::take(&mut self.buf));
        recycle::give_columns(recycle::Columns {
            ts: std::mem::take(&mut self.ts),
            arg_off: std::mem::take(&mut self.arg_off),
        });
    }
}

/// One event, borrowed from a loaded chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Sequence number in the capture (0-based, like sysdig's evt.num - 1).
    pub seq: u64,
    /// Timestamp, event clock ns.
    pub ts: u64,
    /// CPU.
    pub cpu: u16,
    /// Thread group id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Kind id.
    pub kind: u16,
    /// Return value.
    pub ret: i64,
    /// The encoded arguments.
    pub args: &'a [u8],
}

impl<'a> EventRef<'a> {
    /// The event's header, as a writer takes it (to copy the event with
    /// [`crate::CaptureWriter::push_encoded`] and its `args`).
    pub fn header(&self) -> crate::EventHeader {
        crate::EventHeader {
            ts: self.ts,
            cpu: self.cpu,
            pid: self.pid,
            tid: self.tid,
            kind: self.kind,
            ret: self.ret,
        }
    }

    /// The kind's table entry, `None` for a kind unknown to this build.
    pub fn info(&self) -> Option<&'static KindInfo> {
        kind_info(self.kind)
    }

    /// The kind's name, or `kind<N>` for unknown ids. A generic `syscall`
    /// event is named by its x86_64 system call number (`clock_gettime`).
    pub fn kind_name(&self) -> std::borrow::Cow<'static, str> {
        if self.kind == crate::kind::id::GENERIC {
            if let Some(n) = self.generic_nr().and_then(crate::syscalls::x86_64_name) {
                return n.into();
            }
        }
        match self.info() {
            Some(k) => k.name.into(),
            None => format!("kind{}", self.kind).into(),
        }
    }

    /// The system call number of a generic event.
    pub fn generic_nr(&self) -> Option<u64> {
        if self.kind != crate::kind::id::GENERIC {
            return None;
        }
        self.args().next()?.ok()?.as_u64()
    }

    /// Whether the event is a call's entry that has no return: `exit`,
    /// `exit_group`, `rt_sigreturn`, process exit, signal delivery and
    /// container records (sysdig's `evt.dir` `>`). Every other event is a
    /// completed call (`<`).
    pub fn is_entry_only(&self) -> bool {
        use crate::kind::id;
        match self.kind {
            id::EXIT | id::EXIT_GROUP | id::PROC_EXIT | id::SIGNALDELIVER | id::CONTAINER => true,
            id::GENERIC => matches!(self.generic_nr(), Some(15 | 60 | 231)),
            _ => false,
        }
    }

    /// The return value, `None` when the call has none (entry-only events)
    /// or it was not recorded ([`crate::kind::RET_NONE`]).
    pub fn result(&self) -> Option<i64> {
        (self.ret != crate::kind::RET_NONE && !self.is_entry_only()).then_some(self.ret)
    }

    /// Decodes the arguments in order.
    pub fn args(&self) -> ArgIter<'a> {
        ArgIter::new(self.args)
    }

    /// The argument named `name` in the kind's table, if present and intact.
    pub fn arg(&self, name: &str) -> Option<ArgValue<'a>> {
        let pos = self.info()?.args.iter().position(|(n, _)| *n == name)?;
        self.args().nth(pos)?.ok()
    }
}
