//! Several recordings in one file: a merged capture (`analyzer merge`).
//!
//! A merged capture is schema version 2 ([`MERGED_SCHEMA_VERSION`]): after
//! the file header, a sources frame ([`Sources`]) names each recording it
//! holds (its file, file id, chain head, host, event and loss counts, and
//! what of it was already lost); then each recording's metadata and snapshot
//! frames, then the event chunks of all recordings ordered by their first
//! timestamp, then one index and the trailer. Every frame header carries the
//! number of the recording (stream) it belongs to, and one hash chain runs
//! through the whole file.
//!
//! Chunks are copied as they are stored (compressed bytes and all: a merge
//! neither decompresses nor re-encodes events), after their own hash has
//! been checked, and a recording's chain is checked link by link, so that a
//! merge never gives a damaged or altered frame a valid new hash: what fails
//! is left out and named in the sources frame. Each stream keeps its
//! recording's event numbers and snapshot, so a reader treats stream `i`
//! exactly as it treated the file it came from ([`crate::Capture::open`]
//! with `FILE#i`).

use crate::error::{Error, Fault, FrameFault, Result};
use crate::format::{
    Codec, FileHeader, FrameHeader, FrameKind, FILE_HEADER_LEN, FORMAT_VERSION, FRAME_HEADER_LEN,
    MAX_PAYLOAD, MERGED_SCHEMA_VERSION,
};
use crate::reader::{walk_frames, Capture, WalkItem};
use crate::schema::{CaptureIndex, ChunkEntry, SourceFile, Sources};
use crate::writer::{now_unix_ns, FrameChain, Sink};

/// What [`merge`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeSummary {
    /// The sources frame written: one entry per stream, with what of each
    /// could not be copied.
    pub sources: Vec<SourceFile>,
    /// Chunks copied.
    pub chunks: u64,
    /// Events copied.
    pub events: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The merged file's chain head.
    pub chain_head: [u8; 32],
}

impl MergeSummary {
    /// Whether every source was copied whole.
    pub fn complete(&self) -> bool {
        self.sources.iter().all(|s| s.damage.is_empty())
    }
}

/// Encodes `value`, compresses it and appends it to `chain` as a `kind`
/// frame of `stream`; returns its offset.
fn put_record<W: Sink, T>(
    chain: &mut FrameChain<W>,
    kind: FrameKind,
    stream: u16,
    value: &T,
) -> Result<u64>
where
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            rkyv::util::AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    let raw = rkyv::to_bytes::<rkyv::rancor::Error>(value)
        .map_err(|e| Error::new(&chain.name, Fault::Write(e.to_string())))?;
    if raw.len() > MAX_PAYLOAD as usize {
        return Err(Error::new(
            &chain.name,
            Fault::Write(format!(
                "{} frame of {} bytes exceeds the limit",
                kind.name(),
                raw.len()
            )),
        ));
    }
    let stored = zstd::bulk::compress(&raw, 3)
        .map_err(|e| Error::new(&chain.name, Fault::Write(format!("zstd: {e}"))))?;
    chain
        .put(
            FrameHeader {
                kind,
                codec: Codec::Zstd,
                stream,
                frame_no: 0,
                stored_len: 0,
                raw_len: raw.len() as u32,
                event_count: 0,
                first_seq: 0,
                ts_min: 0,
                ts_max: 0,
                kinds: [0; 4],
                prev_hash: [0; 32],
                hash: [0; 32],
            },
            &stored,
        )
        .map(|(at, _)| at)
}

/// The chain breaks of a file: the offsets of frames whose `prev_hash` is
/// not the hash of the frame before them (or, for the first, of the header).
fn chain_breaks(data: &[u8]) -> Vec<(u64, String)> {
    let mut header = [0u8; FILE_HEADER_LEN];
    header.copy_from_slice(&data[..FILE_HEADER_LEN]);
    let mut prev = Some(FileHeader::genesis_hash(&header));
    let mut out = Vec::new();
    for item in walk_frames(data) {
        match item {
            WalkItem::Frame { offset, header } => {
                if prev.is_some_and(|p| p != header.prev_hash) {
                    out.push((
                        offset,
                        format!(
                            "the hash chain breaks at the {} frame at offset {offset} (frames before it were changed, removed or reordered)",
                            header.kind.name()
                        ),
                    ));
                }
                prev = Some(header.hash);
            }
            // Damage is reported by the reader; the chain resumes after it.
            WalkItem::Damage { .. } => prev = None,
            WalkItem::Trailer { .. } => {}
        }
    }
    out
}

/// The sources entry of one input, before its chunks are copied.
fn source_entry(cap: &Capture) -> SourceFile {
    let mut damage: Vec<String> = cap.problems().iter().map(|e| e.to_string()).collect();
    // A stream of a merged capture keeps its original provenance (its
    // problems already include what its source had lost).
    if let Some(src) = cap.source_file() {
        return SourceFile {
            damage,
            events: 0,
            ..src.clone()
        };
    }
    let head = cap.chain_head();
    if cap.meta().is_none() {
        damage.push("its metadata frame was unreadable".into());
    }
    SourceFile {
        name: cap.name().to_string(),
        file_id: cap.header().file_id,
        chain_head: head.unwrap_or([0; 32]),
        finished: head.is_some(),
        hostname: cap.meta().map(|m| m.hostname.clone()).unwrap_or_default(),
        events: 0,
        lost_events: cap.lost_events().unwrap_or(0),
        end_unix_ns: cap.end_unix_ns().unwrap_or(0),
        damage,
    }
}

/// Writes one merged capture of `inputs` (each a recording, or one stream
/// of a merged capture) to `out`; `name` is used in messages. `progress` is
/// called after each chunk with the events copied so far.
///
/// Chunks whose hash does not check, and links where a recording's hash
/// chain breaks, are named in the source's `damage` list (the merge goes on
/// with everything intact); an error is returned only when the output
/// cannot be written.
pub fn merge<W: Sink>(
    inputs: &[&Capture],
    out: W,
    name: &str,
    mut progress: impl FnMut(u64),
) -> Result<(W, MergeSummary)> {
    if inputs.len() > usize::from(u16::MAX) {
        return Err(Error::new(
            name,
            Fault::Write(format!(
                "{} recordings exceed the limit of 65535",
                inputs.len()
            )),
        ));
    }
    let mut sources: Vec<SourceFile> = inputs.iter().map(|c| source_entry(c)).collect();
    // Chain links are checked once per file (streams of one merged file share it).
    let mut checked: Vec<(*const u8, Vec<(u64, String)>)> = Vec::new();
    for (i, c) in inputs.iter().enumerate() {
        let key = c.bytes().as_ptr();
        let breaks = match checked.iter().find(|(k, _)| *k == key) {
            Some((_, b)) => b.clone(),
            None => {
                let b = chain_breaks(c.bytes());
                checked.push((key, b.clone()));
                b
            }
        };
        // Only the links into this input's own chunks concern it.
        let mine: std::collections::HashSet<u64> = c.chunks().iter().map(|e| e.offset).collect();
        for (at, why) in breaks {
            if mine.contains(&at) || c.stream().is_none() {
                sources[i].damage.push(why);
            }
        }
    }

    let mut id_src = blake3::Hasher::new();
    id_src.update(&now_unix_ns().to_le_bytes());
    for s in &sources {
        id_src.update(&s.file_id);
        id_src.update(&s.chain_head);
    }
    let mut file_id = [0u8; 16];
    file_id.copy_from_slice(&id_src.finalize().as_bytes()[..16]);
    let header = FileHeader {
        format_version: FORMAT_VERSION,
        schema_version: MERGED_SCHEMA_VERSION,
        created_unix_ns: now_unix_ns(),
        file_id,
    }
    .encode();
    let mut f = FrameChain::start(out, name, &header)?;

    // The sources frame is written first, so it cannot know how many events
    // will be copied or which chunks will fail: count and check every chunk
    // before writing anything else.
    // The header of each chunk that checked out (None: left out).
    let mut good: Vec<Vec<Option<FrameHeader>>> = Vec::with_capacity(inputs.len());
    for (i, c) in inputs.iter().enumerate() {
        let data = c.bytes();
        let mut ok = Vec::with_capacity(c.chunks().len());
        for (k, e) in c.chunks().iter().enumerate() {
            let check = crate::reader::frame_at(data, e.offset).and_then(|h| {
                let start = e.offset as usize;
                let hb = &data[start..start + FRAME_HEADER_LEN];
                let payload = &data[start + FRAME_HEADER_LEN..start + h.frame_len() as usize];
                if h.kind != FrameKind::Chunk {
                    return Err(FrameFault::WrongKind {
                        expected: "chunk",
                        found: h.kind.name(),
                    });
                }
                h.check_payload(hb, payload).map(|()| h)
            });
            match check {
                Ok(h) => {
                    sources[i].events += u64::from(e.event_count);
                    ok.push(Some(h));
                }
                Err(fault) => {
                    sources[i].damage.push(format!(
                        "chunk {k} (events {}..{}) at offset {}: {fault}",
                        e.first_seq,
                        e.first_seq + u64::from(e.event_count),
                        e.offset
                    ));
                    ok.push(None);
                }
            }
        }
        good.push(ok);
    }
    put_record(
        &mut f,
        FrameKind::Sources,
        0,
        &Sources {
            sources: sources.clone(),
        },
    )?;
    for (i, c) in inputs.iter().enumerate() {
        let stream = i as u16;
        if let Some(m) = c.meta() {
            put_record(&mut f, FrameKind::Meta, stream, m)?;
        }
        // A snapshot that cannot be read is already among the source's
        // problems (the reader names it when opening).
        if let Ok(Some(s)) = c.snapshot() {
            put_record(&mut f, FrameKind::Snapshot, stream, &s)?;
        }
    }

    // Chunks of all recordings, ordered by first timestamp (each
    // recording's own chunks keep their order).
    let mut next = vec![0usize; inputs.len()];
    let mut entries: Vec<ChunkEntry> = Vec::new();
    let mut events = 0u64;
    loop {
        let pick = (0..inputs.len())
            .filter(|&i| next[i] < inputs[i].chunks().len())
            .min_by_key(|&i| (inputs[i].chunks()[next[i]].ts_min, i));
        let Some(i) = pick else { break };
        let k = next[i];
        next[i] += 1;
        let Some(h) = good[i][k] else { continue };
        let e = inputs[i].chunks()[k];
        let start = e.offset as usize;
        let payload = &inputs[i].bytes()[start + FRAME_HEADER_LEN..start + h.frame_len() as usize];
        let (offset, frame_len) = f.put(
            FrameHeader {
                stream: i as u16,
                ..h
            },
            payload,
        )?;
        entries.push(ChunkEntry {
            offset,
            frame_len,
            ..e
        });
        events += u64::from(e.event_count);
        progress(events);
    }
    let chunks = entries.len() as u64;
    let index = CaptureIndex {
        end_unix_ns: sources.iter().map(|s| s.end_unix_ns).max().unwrap_or(0),
        chunks: entries,
        event_count: events,
        lost_events: sources.iter().map(|s| s.lost_events).sum(),
    };
    let index_offset = put_record(&mut f, FrameKind::Index, 0, &index)?;
    let (out, chain_head, bytes) = f.finish(index_offset)?;
    let summary = MergeSummary {
        sources,
        chunks,
        events,
        bytes,
        chain_head,
    };
    Ok((out, summary))
}
