//! Integrity verification: every frame's hash, the hash chain, every chunk's
//! archive and columns, and the index against the frames.

use crate::error::{Error, Fault, FrameFault};
use crate::format::{hex, FileHeader, FrameKind, FILE_HEADER_LEN};
use crate::reader::{walk_frames, Capture, WalkItem};

/// The outcome of [`verify`].
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Frames that passed every check.
    pub good_frames: u32,
    /// Event chunks that passed every check.
    pub good_chunks: u32,
    /// Events in those chunks.
    pub good_events: u64,
    /// Whether the capture has a valid trailer and index.
    pub finished: bool,
    /// The hash of the last good frame of an unbroken chain from the start.
    pub chain_head: Option<[u8; 32]>,
    /// Every problem, in file order; the first is the first bad place.
    pub problems: Vec<Error>,
}

impl VerifyReport {
    /// Whether the capture is intact: finished, and no problem at all.
    pub fn intact(&self) -> bool {
        self.finished && self.problems.is_empty()
    }

    /// The chain head as hex, for printing.
    pub fn chain_head_hex(&self) -> Option<String> {
        self.chain_head.map(|h| hex(&h))
    }
}

/// Verifies an open capture from its bytes, frame by frame.
pub fn verify(cap: &Capture) -> VerifyReport {
    let data = cap.bytes();
    let name = cap.name();
    let mut rep = VerifyReport {
        good_frames: 0,
        good_chunks: 0,
        good_events: 0,
        finished: false,
        chain_head: None,
        problems: Vec::new(),
    };
    let mut header = [0u8; FILE_HEADER_LEN];
    header.copy_from_slice(&data[..FILE_HEADER_LEN]);
    let mut prev = Some(FileHeader::genesis_hash(&header));
    let mut expect_no = 0u32;
    let mut chunk_no = 0usize;
    let mut frames: Vec<(u64, crate::format::FrameHeader)> = Vec::new();
    let mut index_at = None;
    let chunk_at: std::collections::HashMap<u64, usize> = cap
        .chunks()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.offset, i))
        .collect();
    for item in walk_frames(data) {
        match item {
            WalkItem::Frame { offset, header: h } => {
                let chunk = (h.kind == FrameKind::Chunk).then_some(chunk_no);
                let kind = h.kind;
                let mut bad = |f: FrameFault| {
                    // Damage outside the chunks is named by what it costs.
                    let lost = match kind {
                        FrameKind::Chunk => None,
                        FrameKind::Meta => {
                            Some("host, recorder, boot time and filters are unknown")
                        }
                        FrameKind::Snapshot => {
                            Some("the processes, fds, users and groups at the start are lost")
                        }
                        FrameKind::Sources => {
                            Some("the names and chain heads of the merged recordings are unknown")
                        }
                        _ => Some("a reader rebuilds the index by scanning the frames"),
                    };
                    let f = match lost {
                        Some(lost) => FrameFault::Section {
                            frame: if kind == FrameKind::Meta {
                                "metadata"
                            } else {
                                kind.name()
                            },
                            cause: f.to_string(),
                            lost,
                        },
                        None => f,
                    };
                    rep.problems.push(Error::at(name, chunk, offset, f));
                };
                let start = offset as usize;
                let hb = &data[start..start + crate::format::FRAME_HEADER_LEN];
                let payload =
                    &data[start + crate::format::FRAME_HEADER_LEN..start + h.frame_len() as usize];
                let mut ok = true;
                if let Err(f) = h.check_payload(hb, payload) {
                    bad(f);
                    ok = false;
                } else if prev != Some(h.prev_hash) || h.frame_no != expect_no {
                    bad(FrameFault::ChainBreak);
                    ok = false;
                }
                // In a merged capture read one stream at a time, the other
                // streams' chunks are checked by hash and chain only.
                let in_part = cap.stream().is_none_or(|s| s == h.stream);
                if ok && h.kind == FrameKind::Chunk && in_part {
                    // Full decode through the reader's own path.
                    if let Some(&i) = chunk_at.get(&offset) {
                        if let Err(e) = cap.load_chunk(i) {
                            rep.problems.push(Error { chunk, ..e });
                            ok = false;
                        }
                    } else {
                        bad(FrameFault::IndexMismatch(
                            "chunk frame missing from the index".into(),
                        ));
                        ok = false;
                    }
                }
                if h.kind == FrameKind::Index {
                    index_at = Some(offset);
                }
                if h.kind == FrameKind::Chunk {
                    chunk_no += 1;
                }
                expect_no = h.frame_no.wrapping_add(1);
                if ok {
                    rep.good_frames += 1;
                    if h.kind == FrameKind::Chunk {
                        rep.good_chunks += 1;
                        rep.good_events += u64::from(h.event_count);
                    }
                    if prev.is_some() && rep.problems.is_empty() {
                        rep.chain_head = Some(h.hash);
                    }
                }
                prev = Some(h.hash);
                frames.push((offset, h));
            }
            WalkItem::Damage { offset, fault, .. } => {
                rep.problems
                    .push(Error::at(name, Some(chunk_no), offset, fault));
                prev = None;
            }
            WalkItem::Trailer { offset, trailer } => {
                let last = frames.last();
                let consistent = index_at == Some(trailer.index_offset)
                    && last.map(|(o, h)| (*o, h.hash))
                        == Some((trailer.index_offset, trailer.chain_head))
                    && trailer.frame_count == frames.len() as u32;
                if consistent {
                    rep.finished = true;
                } else {
                    rep.problems.push(Error {
                        offset: Some(offset),
                        ..Error::new(
                            name,
                            Fault::Header("trailer does not match the frames before it".into()),
                        )
                    });
                }
            }
        }
    }
    if !rep.finished
        && !rep
            .problems
            .iter()
            .any(|e| matches!(e.fault, Fault::Header(_)))
    {
        rep.problems.push(Error {
            offset: Some(data.len() as u64),
            ..Error::new(
                name,
                Fault::Header(
                    "no trailer: the capture was not finished (cut short or still being written)"
                        .into(),
                ),
            )
        });
    }
    // What the recordings of a merged capture had lost before the merge:
    // the file is whole, the evidence is not.
    for src in cap.sources() {
        for d in &src.damage {
            rep.problems.push(Error::new(
                name,
                Fault::Source(format!("{}: {d}", src.name)),
            ));
        }
    }
    if rep.finished {
        // The index must list exactly the chunk frames found.
        let found: Vec<u64> = frames
            .iter()
            .filter(|(_, h)| h.kind == FrameKind::Chunk)
            .filter(|(_, h)| cap.stream().is_none_or(|s| s == h.stream))
            .map(|(o, _)| *o)
            .collect();
        let listed: Vec<u64> = cap.chunks().iter().map(|c| c.offset).collect();
        if found != listed {
            rep.problems.push(Error {
                offset: index_at,
                ..Error::new(
                    name,
                    Fault::Frame(FrameFault::IndexMismatch(
                        "index does not list the chunk frames".into(),
                    )),
                )
            });
        }
    }
    rep
}
