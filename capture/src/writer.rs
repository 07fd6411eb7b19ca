//! Writing captures.
//!
//! A [`CaptureWriter`] buffers events column-wise for one chunk, bounded by
//! [`CaptureWriterBuilder::chunk_bytes`] and `chunk_events`, and seals the
//! chunk into a zstd frame when a bound or the chunk's time span is reached.
//! Each sealed frame is written and flushed at once, so a writer killed at any
//! point leaves every sealed chunk readable (see [`crate::reader`]'s recovery
//! scan). [`CaptureWriter::finish`] seals the last chunk and writes the index
//! and trailer.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::args::{ArgIter, ArgValue, ArgWriter};
use crate::error::{Error, Fault, Result};
use crate::format::{
    Codec, FileHeader, FrameHeader, FrameKind, Trailer, FILE_HEADER_LEN, FORMAT_VERSION,
    MAX_CHUNK_EVENTS, MAX_PAYLOAD, SCHEMA_VERSION,
};
use crate::kind::{self, KindSet};
use crate::schema::{CaptureIndex, CaptureMeta, Chunk, ChunkEntry, Snapshot, TS_ESCAPE};

/// Where a writer's bytes go: a file (which can be synced) or memory.
pub trait Sink: Write {
    /// Makes written bytes durable (fsync for files; nothing for memory).
    fn sync(&mut self) -> io::Result<()>;
}

impl Sink for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl<W: Sink> Sink for io::BufWriter<W> {
    fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.get_mut().sync()
    }
}

/// Bytes written nowhere: a writer whose chunks are only handed over
/// ([`CaptureWriterBuilder::hand_over_chunks`]).
impl Sink for io::Sink {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for Vec<u8> {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The fixed fields of one event; its arguments are passed beside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHeader {
    /// Timestamp, ns in the event clock (see [`CaptureMeta::boot_time_unix_ns`]).
    pub ts: u64,
    /// CPU it was recorded on.
    pub cpu: u16,
    /// Thread group id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Kind id ([`crate::kind::id`]).
    pub kind: u16,
    /// Return value (syscalls) or 0.
    pub ret: i64,
}

/// The zstd level captures are written with unless told otherwise.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// The default bound of a chunk's raw columns
/// ([`CaptureWriterBuilder::chunk_bytes`]).
pub const DEFAULT_CHUNK_BYTES: usize = 4 << 20;

/// Configures and creates a [`CaptureWriter`].
#[derive(Clone, Debug)]
pub struct CaptureWriterBuilder {
    chunk_events: u32,
    chunk_bytes: usize,
    chunk_span_ns: u64,
    zstd_level: i32,
    compress: bool,
    hand_over: bool,
    write_frames: bool,
    sync_on_seal: bool,
    output: crate::outfile::OutputOptions,
}

impl Default for CaptureWriterBuilder {
    fn default() -> Self {
        CaptureWriterBuilder {
            chunk_events: 65_536,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            chunk_span_ns: 1_000_000_000,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            compress: true,
            hand_over: false,
            write_frames: true,
            sync_on_seal: false,
            output: crate::outfile::OutputOptions::default(),
        }
    }
}

impl CaptureWriterBuilder {
    /// A builder with the defaults: 65,536 events or 4 MiB of raw columns per
    /// chunk, at most 1 s of event time per chunk, zstd level 3, no fsync.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seals a chunk once it holds this many events (1 ..= 16,777,216).
    pub fn chunk_events(mut self, n: u32) -> Self {
        self.chunk_events = n.clamp(1, MAX_CHUNK_EVENTS);
        self
    }

    /// Seals a chunk once its raw columns reach this many bytes. This bounds
    /// the writer's memory: about twice this value plus one event.
    pub fn chunk_bytes(mut self, n: usize) -> Self {
        self.chunk_bytes = n.clamp(4096, (MAX_PAYLOAD / 2) as usize);
        self
    }

    /// Seals a chunk before it would span more than this much event time, and
    /// lets [`CaptureWriter::seal_if_older`] seal idle chunks.
    pub fn chunk_span_ns(mut self, ns: u64) -> Self {
        self.chunk_span_ns = ns.max(1);
        self
    }

    /// zstd compression level (1 fastest ..= 19).
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.zstd_level = level.clamp(1, 19);
        self
    }

    /// Whether to compress frames (the default). Frames stored as they are
    /// suit a capture that only lives in memory for one pass (a `.scap`
    /// trace converted to be analysed), where compressing and
    /// decompressing again cost more than the memory they save.
    pub fn compress(mut self, yes: bool) -> Self {
        self.compress = yes;
        self
    }

    /// Whether to keep each sealed chunk's columns for the caller to take
    /// ([`CaptureWriter::take_sealed`]), so that a consumer evaluates the
    /// chunks while the capture is still being written (an import analysed
    /// as it converts). Off by default.
    pub fn hand_over_chunks(mut self, yes: bool) -> Self {
        self.hand_over = yes;
        self
    }

    /// Whether to write the capture at all (the default). Off, frames are
    /// neither hashed nor written and the sink gets nothing: for a writer
    /// whose chunks are only handed over ([`Self::hand_over_chunks`]),
    /// whose file nobody reads.
    pub fn write_frames(mut self, yes: bool) -> Self {
        self.write_frames = yes;
        self
    }

    /// Whether to fsync after every sealed chunk (durable against power loss,
    /// slower). A killed process loses nothing sealed either way.
    pub fn sync_on_seal(mut self, yes: bool) -> Self {
        self.sync_on_seal = yes;
        self
    }

    /// How [`CaptureWriterBuilder::create`] creates the file: by default a
    /// new file, mode 0600, never through a link, never over an existing one
    /// (see [`crate::outfile`]).
    pub fn output(mut self, opts: crate::outfile::OutputOptions) -> Self {
        self.output = opts;
        self
    }

    /// Creates a new capture file safely ([`crate::outfile::create`]; `inputs`
    /// are files the caller reads, which it may never be) and writes its
    /// header, metadata and snapshot.
    pub fn create(
        self,
        path: impl AsRef<Path>,
        meta: &CaptureMeta,
        snapshot: Option<&Snapshot>,
    ) -> Result<CaptureWriter<File>> {
        self.create_beside(path, &[], meta, snapshot)
    }

    /// [`CaptureWriterBuilder::create`] for a run that reads `inputs`.
    pub fn create_beside(
        self,
        path: impl AsRef<Path>,
        inputs: &[&Path],
        meta: &CaptureMeta,
        snapshot: Option<&Snapshot>,
    ) -> Result<CaptureWriter<File>> {
        let name = path.as_ref().display().to_string();
        let file = crate::outfile::create(path.as_ref(), self.output, inputs)
            .map_err(|e| Error::new(&name, Fault::Io(e.to_string())))?;
        self.build(file, &name, meta, snapshot)
    }

    /// Starts a capture on any sink; `name` is used in error messages.
    pub fn build<W: Sink>(
        self,
        out: W,
        name: &str,
        meta: &CaptureMeta,
        snapshot: Option<&Snapshot>,
    ) -> Result<CaptureWriter<W>> {
        let created = meta.start_unix_ns;
        let mut id_src = blake3::Hasher::new();
        id_src.update(&created.to_le_bytes());
        id_src.update(&std::process::id().to_le_bytes());
        id_src.update(meta.hostname.as_bytes());
        id_src.update(&now_unix_ns().to_le_bytes());
        let mut file_id = [0u8; 16];
        file_id.copy_from_slice(&id_src.finalize().as_bytes()[..16]);
        let header = FileHeader {
            format_version: FORMAT_VERSION,
            schema_version: SCHEMA_VERSION,
            created_unix_ns: created,
            file_id,
        }
        .encode();
        let mut chain = FrameChain::start(out, name, &header)?;
        chain.written = self.write_frames;
        let compressor = zstd::bulk::Compressor::new(self.zstd_level)
            .map_err(|e| Error::new(name, Fault::Io(e.to_string())))?;
        // A chunk's columns, reserved for a full chunk: memory is only
        // touched as events come, and a column grown step by step copies
        // itself into new memory at each step.
        let events =
            (self.chunk_events as usize).min(self.chunk_bytes / Chunk::FIXED_BYTES_PER_EVENT + 1);
        let chunk = Chunk {
            ts_delta: Vec::with_capacity(events),
            cpu: Vec::with_capacity(events),
            pid: Vec::with_capacity(events),
            tid: Vec::with_capacity(events),
            kind: Vec::with_capacity(events),
            ret: Vec::with_capacity(events),
            arg_len: Vec::with_capacity(events),
            args: Vec::with_capacity(self.chunk_bytes),
            ..Chunk::default()
        };
        let mut w = CaptureWriter {
            chain,
            opts: self,
            chunk,
            last_ts: 0,
            ts_min: u64::MAX,
            ts_max: 0,
            kinds: KindSet::EMPTY,
            entries: Vec::new(),
            next_seq: 0,
            compressor,
            zbuf: Vec::new(),
            rbuf: rkyv::util::AlignedVec::new(),
            sealed: Vec::new(),
            stats: WriterStats::default(),
        };
        let meta_bytes = rkyv::to_bytes::<rkyv::rancor::Error>(meta)
            .map_err(|e| Error::new(name, Fault::Write(e.to_string())))?;
        w.write_frame(FrameKind::Meta, &meta_bytes, FrameStats::default())?;
        if let Some(s) = snapshot {
            let snap_bytes = rkyv::to_bytes::<rkyv::rancor::Error>(s)
                .map_err(|e| Error::new(name, Fault::Write(e.to_string())))?;
            w.write_frame(FrameKind::Snapshot, &snap_bytes, FrameStats::default())?;
        }
        Ok(w)
    }
}

/// Frames appended one after another on one hash chain and closed by a
/// trailer: what a recording's writer and a merge both write through, so
/// that there is one implementation of the chain.
pub(crate) struct FrameChain<W: Sink> {
    out: W,
    /// The output's name, for messages.
    pub(crate) name: String,
    offset: u64,
    frame_no: u32,
    prev_hash: [u8; 32],
    /// Whether frames are sealed (hashed) and written at all.
    pub(crate) written: bool,
}

impl<W: Sink> FrameChain<W> {
    /// Writes the encoded file header and starts the chain from it.
    pub(crate) fn start(mut out: W, name: &str, header: &[u8; FILE_HEADER_LEN]) -> Result<Self> {
        out.write_all(header)
            .map_err(|e| Error::new(name, Fault::Io(e.to_string())))?;
        Ok(FrameChain {
            out,
            name: name.to_string(),
            offset: FILE_HEADER_LEN as u64,
            frame_no: 0,
            prev_hash: FileHeader::genesis_hash(header),
            written: true,
        })
    }

    pub(crate) fn io(&self, e: io::Error) -> Error {
        Error::new(&self.name, Fault::Io(e.to_string()))
    }

    /// Where the next frame starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends a frame with `stored` as its payload and flushes it:
    /// `template` gives kind, codec, stream, raw length and the chunk facts;
    /// the chain fills the frame number, stored length and previous hash.
    /// Returns the frame's offset and length.
    pub(crate) fn put(&mut self, mut template: FrameHeader, stored: &[u8]) -> Result<(u64, u32)> {
        template.frame_no = self.frame_no;
        template.prev_hash = self.prev_hash;
        template.stored_len = stored.len() as u32;
        if !self.written {
            // Counted as if written, so that offsets stay consistent.
            let at = self.offset;
            let frame_len = (crate::format::FRAME_HEADER_LEN + stored.len()) as u32;
            self.offset += u64::from(frame_len);
            self.frame_no += 1;
            return Ok((at, frame_len));
        }
        let (hb, hash) = template.seal(stored);
        self.out.write_all(&hb).map_err(|e| self.io(e))?;
        self.out.write_all(stored).map_err(|e| self.io(e))?;
        self.out.flush().map_err(|e| self.io(e))?;
        let at = self.offset;
        let frame_len = (hb.len() + stored.len()) as u32;
        self.offset += u64::from(frame_len);
        self.frame_no += 1;
        self.prev_hash = hash;
        Ok((at, frame_len))
    }

    /// Makes what was written durable.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.out.sync().map_err(|e| self.io(e))
    }

    /// Writes the trailer for the index frame at `index_offset` (the last
    /// frame put), syncs, and returns the sink, the chain head and the
    /// file's length.
    pub(crate) fn finish(mut self, index_offset: u64) -> Result<(W, [u8; 32], u64)> {
        if !self.written {
            return Ok((self.out, self.prev_hash, self.offset));
        }
        let trailer = Trailer {
            index_offset,
            frame_count: self.frame_no,
            chain_head: self.prev_hash,
        }
        .encode();
        self.out.write_all(&trailer).map_err(|e| self.io(e))?;
        self.out.flush().map_err(|e| self.io(e))?;
        self.sync()?;
        let len = self.offset + trailer.len() as u64;
        Ok((self.out, self.prev_hash, len))
    }
}

/// Counters a writer keeps, for progress lines and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Events pushed.
    pub events: u64,
    /// Chunks sealed.
    pub chunks: u64,
    /// Bytes of rkyv payload before compression, all frames.
    pub raw_bytes: u64,
    /// Bytes written to the file so far.
    pub file_bytes: u64,
    /// Events reported lost by loss records.
    pub lost: u64,
    /// Largest event timestamp pushed (event clock).
    pub max_ts: u64,
}

/// What [`CaptureWriter::finish`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishSummary {
    /// Final counters.
    pub stats: WriterStats,
    /// The hash of the last frame: write it down to prove later that the file
    /// was not changed.
    pub chain_head: [u8; 32],
}

#[derive(Default)]
struct FrameStats {
    event_count: u32,
    first_seq: u64,
    ts_min: u64,
    ts_max: u64,
    kinds: KindSet,
}

/// Writes one capture. Create it with [`CaptureWriterBuilder`].
pub struct CaptureWriter<W: Sink> {
    chain: FrameChain<W>,
    opts: CaptureWriterBuilder,
    chunk: Chunk,
    last_ts: u64,
    ts_min: u64,
    ts_max: u64,
    kinds: KindSet,
    entries: Vec<ChunkEntry>,
    next_seq: u64,
    compressor: zstd::bulk::Compressor<'static>,
    zbuf: Vec<u8>,
    rbuf: rkyv::util::AlignedVec,
    sealed: Vec<SealedChunk>,
    stats: WriterStats,
}

/// A chunk's columns as the writer sealed them, handed over to a consumer
/// ([`CaptureWriterBuilder::hand_over_chunks`]); open it with
/// [`crate::LoadedChunk::from_sealed`].
pub struct SealedChunk {
    /// Its position in the capture.
    pub index: usize,
    /// Its events.
    pub event_count: u32,
    /// The sequence number of its first event.
    pub first_seq: u64,
    /// The serialized columns.
    pub payload: rkyv::util::AlignedVec,
}

impl<W: Sink> CaptureWriter<W> {
    /// Appends an event whose arguments `args` writes, and returns its
    /// sequence number. Arguments must follow the kind's table entry.
    pub fn push(&mut self, h: &EventHeader, args: impl FnOnce(&mut ArgWriter<'_>)) -> Result<u64> {
        self.before_push(h.ts)?;
        let start = self.chunk.args.len();
        args(&mut ArgWriter::new(&mut self.chunk.args));
        self.after_push(h, start)
    }

    /// Appends an event with an already-encoded argument stream (copied from
    /// another capture).
    pub fn push_encoded(&mut self, h: &EventHeader, args: &[u8]) -> Result<u64> {
        self.before_push(h.ts)?;
        let start = self.chunk.args.len();
        self.chunk.args.extend_from_slice(args);
        self.after_push(h, start)
    }

    /// Records that `count` events were lost on `cpu` between `first_ts` and
    /// `last_ts` (a loss record is an event like any other).
    pub fn push_loss(
        &mut self,
        ts: u64,
        cpu: u16,
        count: u64,
        first_ts: u64,
        last_ts: u64,
    ) -> Result<u64> {
        let h = EventHeader {
            ts,
            cpu,
            pid: 0,
            tid: 0,
            kind: kind::id::LOSS,
            ret: 0,
        };
        self.push(&h, |a| {
            a.uint(count).uint(first_ts).uint(last_ts);
        })
    }

    fn before_push(&mut self, ts: u64) -> Result<()> {
        if !self.chunk.is_empty() && ts.saturating_sub(self.ts_min) > self.opts.chunk_span_ns {
            self.seal()?;
        }
        Ok(())
    }

    fn after_push(&mut self, h: &EventHeader, args_start: usize) -> Result<u64> {
        let arg_len = self.chunk.args.len() - args_start;
        if arg_len > (MAX_PAYLOAD / 4) as usize {
            self.chunk.args.truncate(args_start);
            return Err(Error::new(
                &self.chain.name,
                Fault::Write(format!(
                    "event arguments of {arg_len} bytes exceed the 64 MiB limit"
                )),
            ));
        }
        let c = &mut self.chunk;
        if c.kind.is_empty() {
            c.first_seq = self.next_seq;
            c.ts_base = h.ts;
            self.last_ts = h.ts;
        }
        let delta = i128::from(h.ts) - i128::from(self.last_ts);
        match i32::try_from(delta) {
            Ok(d) if d != TS_ESCAPE => c.ts_delta.push(d),
            _ => {
                c.ts_delta.push(TS_ESCAPE);
                c.ts_far.push(h.ts);
            }
        }
        self.last_ts = h.ts;
        c.cpu.push(h.cpu);
        c.pid.push(h.pid);
        c.tid.push(h.tid);
        c.kind.push(h.kind);
        c.ret.push(h.ret);
        c.arg_len.push(arg_len as u32);
        self.ts_min = self.ts_min.min(h.ts);
        self.ts_max = self.ts_max.max(h.ts);
        self.stats.max_ts = self.stats.max_ts.max(h.ts);
        self.kinds.insert(h.kind);
        if h.kind == kind::id::LOSS {
            if let Some(Ok(ArgValue::Uint(n))) = ArgIter::new(&c.args[args_start..]).next() {
                self.stats.lost += n;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stats.events += 1;
        if c.len() >= self.opts.chunk_events as usize
            || c.len() * Chunk::FIXED_BYTES_PER_EVENT + c.args.len() >= self.opts.chunk_bytes
        {
            self.seal()?;
        }
        Ok(seq)
    }

    /// Seals the open chunk if its first event is older than the chunk span
    /// at event-clock time `now`. Call it periodically on a quiet stream so
    /// that events reach the file within about one span.
    pub fn seal_if_older(&mut self, now: u64) -> Result<()> {
        if !self.chunk.is_empty() && now.saturating_sub(self.ts_min) >= self.opts.chunk_span_ns {
            self.seal()?;
        }
        Ok(())
    }

    /// Seals the open chunk (if it holds events) into a frame and writes it.
    pub fn seal(&mut self) -> Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        // One serialization buffer for every chunk, not a new one grown
        // each time.
        let mut buf = std::mem::take(&mut self.rbuf);
        buf.clear();
        // Room for the whole archive up front: a buffer grown while
        // serializing copies what it holds into new memory at each step.
        let need = self.chunk.serialized_estimate();
        if buf.capacity() < need {
            buf = rkyv::util::AlignedVec::with_capacity(need + need / 4);
        }
        let bytes = rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(&self.chunk, buf)
            .map_err(|e| Error::new(&self.chain.name, Fault::Write(e.to_string())))?;
        let fs = FrameStats {
            event_count: self.chunk.len() as u32,
            first_seq: self.chunk.first_seq,
            ts_min: self.ts_min,
            ts_max: self.ts_max,
            kinds: self.kinds,
        };
        let (offset, frame_len, raw_len) = match self.write_frame(FrameKind::Chunk, &bytes, fs) {
            Ok(w) => w,
            Err(e) => {
                self.rbuf = bytes;
                return Err(e);
            }
        };
        if self.opts.hand_over {
            // The columns go to the caller; the next chunk is serialized
            // into a buffer of a chunk dropped since, when there is one.
            self.rbuf = crate::reader::recycle::payload(bytes.len());
            self.sealed.push(SealedChunk {
                index: self.entries.len(),
                event_count: self.chunk.len() as u32,
                first_seq: self.chunk.first_seq,
                payload: bytes,
            });
        } else {
            self.rbuf = bytes;
        }
        self.entries.push(ChunkEntry {
            offset,
            frame_len,
            raw_len,
            event_count: self.chunk.len() as u32,
            first_seq: self.chunk.first_seq,
            ts_min: self.ts_min,
            ts_max: self.ts_max,
            kinds: self.kinds.0,
        });
        self.stats.chunks += 1;
        self.chunk.clear();
        self.ts_min = u64::MAX;
        self.ts_max = 0;
        self.kinds = KindSet::EMPTY;
        if self.opts.sync_on_seal {
            self.chain.sync()?;
        }
        Ok(())
    }

    /// Compresses `raw` and appends it as a `kind` frame; returns its
    /// offset, frame length and raw length.
    fn write_frame(
        &mut self,
        kind: FrameKind,
        raw: &[u8],
        fs: FrameStats,
    ) -> Result<(u64, u32, u32)> {
        if raw.len() > MAX_PAYLOAD as usize {
            return Err(Error::new(
                &self.chain.name,
                Fault::Write(format!("frame of {} bytes exceeds the limit", raw.len())),
            ));
        }
        // Frames nobody will read are not compressed either.
        let (codec, stored) = if self.opts.compress && self.chain.written {
            self.zbuf.clear();
            self.zbuf
                .reserve(zstd::zstd_safe::compress_bound(raw.len()));
            self.compressor
                .compress_to_buffer(raw, &mut self.zbuf)
                .map_err(|e| Error::new(&self.chain.name, Fault::Write(format!("zstd: {e}"))))?;
            (Codec::Zstd, &self.zbuf[..])
        } else {
            (Codec::None, raw)
        };
        let header = FrameHeader {
            kind,
            codec,
            stream: 0,
            frame_no: 0,
            stored_len: 0,
            raw_len: raw.len() as u32,
            event_count: fs.event_count,
            first_seq: fs.first_seq,
            ts_min: fs.ts_min,
            ts_max: fs.ts_max,
            kinds: fs.kinds.0,
            prev_hash: [0; 32],
            hash: [0; 32],
        };
        let (at, frame_len) = self.chain.put(header, stored)?;
        self.stats.file_bytes = self.chain.offset();
        self.stats.raw_bytes += raw.len() as u64;
        Ok((at, frame_len, raw.len() as u32))
    }

    /// The chunks sealed since the last call, in order (always empty
    /// unless [`CaptureWriterBuilder::hand_over_chunks`]).
    pub fn take_sealed(&mut self) -> Vec<SealedChunk> {
        std::mem::take(&mut self.sealed)
    }

    /// Counters so far.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// Seals the last chunk, writes the index and trailer, syncs, and returns
    /// the sink with a summary.
    pub fn finish(mut self, end_unix_ns: u64) -> Result<(W, FinishSummary)> {
        self.seal()?;
        let index = CaptureIndex {
            end_unix_ns,
            chunks: std::mem::take(&mut self.entries),
            event_count: self.stats.events,
            lost_events: self.stats.lost,
        };
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&index)
            .map_err(|e| Error::new(&self.chain.name, Fault::Write(e.to_string())))?;
        let (index_offset, _, _) =
            self.write_frame(FrameKind::Index, &bytes, FrameStats::default())?;
        let (out, chain_head, len) = self.chain.finish(index_offset)?;
        self.stats.file_bytes = len;
        Ok((
            out,
            FinishSummary {
                stats: self.stats,
                chain_head,
            },
        ))
    }
}

/// The current wall-clock time in Unix ns.
pub fn now_unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
