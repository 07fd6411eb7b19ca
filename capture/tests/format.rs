//! Behaviour of the capture format as a whole: what is written reads back, a
//! cut or damaged file yields all intact events and a precise error, and the
//! verifier names the first bad chunk.

use capture::format::{FRAME_HEADER_LEN, TRAILER_LEN};
use capture::kind::id;
use capture::synth::{self, SynthConfig};
use capture::{
    verify, Bytes, Capture, CaptureWriterBuilder, EventHeader, Fault, FrameFault, IndexSource,
    KindSet,
};

mod common;
use common::{collect, Ev};

/// A synthetic capture with small chunks, so that files have many frames.
fn synthetic(events: u64, chunk_events: u32) -> (Vec<u8>, [u8; 32]) {
    let cfg = SynthConfig {
        events,
        seed: 7,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);
    let snap = synth::synth_snapshot(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(chunk_events)
        .build(Vec::new(), "mem", &meta, Some(&snap))
        .expect("writer");
    assert_eq!(synth::generate(&cfg, &mut w).expect("generate"), events);
    let (bytes, sum) = w.finish(meta.start_unix_ns + 10).expect("finish");
    assert_eq!(sum.stats.events, events);
    (bytes, sum.chain_head)
}

fn open(bytes: &[u8]) -> Capture {
    Capture::from_bytes(Bytes::Owned(bytes.to_vec()), "test.cap").expect("header intact")
}

#[test]
fn written_events_read_back_identically_with_meta_and_snapshot() {
    let cfg = SynthConfig {
        events: 300,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(64)
        .chunk_span_ns(u64::MAX)
        .build(Vec::new(), "mem", &meta, Some(&synth::synth_snapshot(&cfg)))
        .expect("writer");
    let mut written = Vec::new();
    for i in 0..300u64 {
        // Timestamps jump back and far ahead to exercise the escape path.
        let ts = match i % 7 {
            3 => 5_000_000_000 + i,
            5 => 1_000 + i,
            _ => 1_000_000 + i * 1_000,
        };
        let h = EventHeader {
            ts,
            cpu: (i % 3) as u16,
            pid: 100 + i as u32,
            tid: 200,
            kind: id::OPENAT,
            ret: -(i as i64),
        };
        let seq = w
            .push(&h, |a| {
                a.int(-100).str(format!("/tmp/f{i}")).uint(i).uint(0o644);
            })
            .expect("push");
        assert_eq!(seq, i);
        let mut args = Vec::new();
        capture::ArgWriter::new(&mut args)
            .int(-100)
            .str(format!("/tmp/f{i}"))
            .uint(i)
            .uint(0o644);
        written.push(Ev {
            seq: i,
            ts,
            cpu: h.cpu,
            pid: h.pid,
            tid: 200,
            kind: id::OPENAT,
            ret: h.ret,
            args,
        });
    }
    let (bytes, _) = w.finish(42).expect("finish");
    let cap = open(&bytes);
    assert!(cap.problems().is_empty(), "{:?}", cap.problems());
    assert_eq!(cap.index_source(), IndexSource::Trailer);
    assert_eq!(cap.meta(), Some(&meta));
    assert_eq!(cap.end_unix_ns(), Some(42));
    assert_eq!(
        cap.snapshot().expect("snapshot"),
        Some(synth::synth_snapshot(&cfg))
    );
    assert_eq!(cap.chunks().len(), 5);
    let (events, errs) = collect(&cap);
    assert!(errs.is_empty());
    assert_eq!(events, written);
    let c0 = cap.load_chunk(0).expect("chunk");
    let e = c0.event(3).map(|e| e.arg("name"));
    assert_eq!(e, Some(Some(capture::ArgValue::Str(b"/tmp/f3"))));
}

#[test]
fn cut_at_any_offset_reads_back_every_complete_chunk() {
    let (bytes, _) = synthetic(3_000, 200);
    let full = open(&bytes);
    let (all, _) = collect(&full);
    let ends: Vec<u64> = full
        .chunks()
        .iter()
        .map(|c| c.offset + u64::from(c.frame_len))
        .collect();
    let counts: Vec<u64> = full
        .chunks()
        .iter()
        .map(|c| u64::from(c.event_count))
        .collect();
    let mut cuts: Vec<usize> = (64..bytes.len()).step_by(61).collect();
    for &e in &ends {
        cuts.extend([e as usize - 1, e as usize, e as usize + 1]);
    }
    cuts.push(bytes.len() - TRAILER_LEN);
    cuts.push(bytes.len() - 1);
    for cut in cuts {
        let cap = open(&bytes[..cut.min(bytes.len())]);
        let expected: u64 = ends
            .iter()
            .zip(&counts)
            .filter(|(e, _)| **e as usize <= cut)
            .map(|(_, c)| c)
            .sum();
        let (events, errs) = collect(&cap);
        assert!(errs.is_empty(), "cut {cut}: {errs:?}");
        assert_eq!(events.len() as u64, expected, "cut at {cut}");
        assert_eq!(
            &all[..events.len()],
            &events[..],
            "cut at {cut}: events differ"
        );
        assert_eq!(cap.index_source(), IndexSource::Scan, "cut at {cut}");
        assert!(!cap.problems().is_empty(), "cut at {cut} reported nothing");
        let rep = verify(&cap);
        assert!(!rep.intact(), "cut at {cut} verified as intact");
        assert_eq!(rep.good_events, expected, "cut at {cut}");
    }
}

#[test]
fn corrupt_bytes_never_panic_and_never_yield_altered_events() {
    let (bytes, _) = synthetic(2_000, 250);
    let (all, _) = collect(&open(&bytes));
    let mut x: u64 = 12345;
    for _ in 0..400 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (x >> 33) as usize % bytes.len();
        let mut bad = bytes.clone();
        bad[at] ^= 1 << ((x >> 20) % 8);
        let Ok(cap) = Capture::from_bytes(Bytes::Owned(bad), "bad.cap") else {
            assert!(
                at < 64,
                "open failed for a flip at {at}, outside the file header"
            );
            continue;
        };
        let (events, errs) = collect(&cap);
        for e in &events {
            assert_eq!(
                &all[e.seq as usize], e,
                "flip at {at} altered event {}",
                e.seq
            );
        }
        for e in &errs {
            assert!(e.offset.is_some(), "error without offset: {e}");
        }
        let rep = verify(&cap);
        assert!(!rep.intact(), "flip at {at} verified as intact");
        let first = &rep.problems[0];
        assert!(
            first.offset.is_some(),
            "first problem without offset: {first}"
        );
    }
}

#[test]
fn verify_names_the_first_bad_chunk_and_its_offset() {
    let (bytes, head) = synthetic(2_000, 250);
    let cap = open(&bytes);
    let rep = verify(&cap);
    assert!(rep.intact(), "{:?}", rep.problems);
    assert_eq!(rep.chain_head, Some(head));
    assert_eq!(cap.chain_head(), Some(head));
    assert_eq!(rep.good_events, 2_000);

    let c3 = cap.chunks()[3];
    let mut bad = bytes.clone();
    bad[c3.offset as usize + FRAME_HEADER_LEN + 10] ^= 0x40;
    let rep = verify(&open(&bad));
    let first = &rep.problems[0];
    assert_eq!(first.chunk, Some(3));
    assert_eq!(first.offset, Some(c3.offset));
    assert_eq!(first.fault, Fault::Frame(FrameFault::HashMismatch));
    assert_eq!(rep.good_chunks, cap.chunks().len() as u32 - 1);
    let msg = first.to_string();
    assert!(
        msg.contains("chunk 3") && msg.contains(&c3.offset.to_string()),
        "{msg}"
    );
}

#[test]
fn swapping_two_chunks_breaks_the_chain() {
    let (bytes, _) = synthetic(1_000, 250);
    let cap = open(&bytes);
    let (a, b) = (cap.chunks()[1], cap.chunks()[2]);
    let (a0, a1) = (
        a.offset as usize,
        (a.offset + u64::from(a.frame_len)) as usize,
    );
    let b1 = (b.offset + u64::from(b.frame_len)) as usize;
    let mut swapped = bytes[..a0].to_vec();
    swapped.extend_from_slice(&bytes[a1..b1]);
    swapped.extend_from_slice(&bytes[a0..a1]);
    swapped.extend_from_slice(&bytes[b1..]);
    let rep = verify(&open(&swapped));
    assert!(!rep.intact());
    assert_eq!(rep.problems[0].fault, Fault::Frame(FrameFault::ChainBreak));
    assert_eq!(rep.problems[0].chunk, Some(1));
}

#[test]
fn chunks_are_skipped_by_kind_and_seeked_by_time() {
    let (bytes, _) = synthetic(5_000, 100);
    let cap = open(&bytes);
    let loss_only: KindSet = [id::LOSS].into_iter().collect();
    let with_loss = cap.select_chunks(&loss_only, 0, u64::MAX);
    let mut truth = Vec::new();
    for i in 0..cap.chunks().len() {
        if cap
            .load_chunk(i)
            .expect("chunk")
            .kinds()
            .any(|k| k == id::LOSS)
        {
            truth.push(i);
        }
    }
    assert_eq!(with_loss, truth);
    assert!(with_loss.len() < cap.chunks().len());

    let (lo, hi) = cap.time_range().expect("events");
    let mid = lo + (hi - lo) / 2;
    let i = cap.seek_time(mid).expect("a chunk");
    let c = cap.load_chunk(i).expect("chunk");
    let j = c.seek_time(mid);
    let e = c.event(j).expect("event");
    assert!(e.ts >= mid);
    if j > 0 {
        assert!(c.event(j - 1).map(|p| p.ts < mid) == Some(true));
    }
    let windowed = cap.select_chunks(&KindSet::ALL, mid, mid);
    assert!(windowed.contains(&i));
}

#[test]
fn chunks_are_sealed_on_a_time_boundary() {
    let meta = capture::CaptureMeta::default();
    let mut w = CaptureWriterBuilder::new()
        .chunk_span_ns(1_000)
        .build(Vec::new(), "mem", &meta, None)
        .expect("writer");
    for ts in [0u64, 500, 999, 1_500, 1_600, 10_000] {
        w.push(
            &EventHeader {
                ts,
                kind: id::CLOSE,
                ..Default::default()
            },
            |a| {
                a.int(3);
            },
        )
        .expect("push");
    }
    w.seal_if_older(10_500).expect("not yet");
    assert_eq!(w.stats().chunks, 2);
    w.seal_if_older(11_000).expect("seal");
    assert_eq!(w.stats().chunks, 3);
    let (bytes, _) = w.finish(0).expect("finish");
    let cap = open(&bytes);
    let counts: Vec<u32> = cap.chunks().iter().map(|c| c.event_count).collect();
    assert_eq!(counts, vec![3, 2, 1]);
}

#[test]
fn loss_records_are_counted_in_the_index() {
    let meta = capture::CaptureMeta::default();
    let mut w = CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &meta, None)
        .expect("writer");
    w.push_loss(10, 1, 17, 1, 9).expect("loss");
    w.push_loss(20, 0, 3, 11, 19).expect("loss");
    let (bytes, sum) = w.finish(0).expect("finish");
    assert_eq!(sum.stats.lost, 20);
    let cap = open(&bytes);
    let c = cap.load_chunk(0).expect("chunk");
    let e = c.event(0).expect("event");
    assert_eq!(e.kind_name(), "ferret_loss");
    assert_eq!(e.arg("count"), Some(capture::ArgValue::Uint(17)));
}

#[test]
fn a_file_that_is_not_a_capture_is_rejected_with_its_name() {
    let err = Capture::from_bytes(
        Bytes::Owned(b"not a capture at all, just text".to_vec()),
        "x.txt",
    )
    .err()
    .expect("rejected");
    assert!(err.to_string().starts_with("x.txt: "), "{err}");
}

#[test]
fn swapped_chunk_frames_are_read_in_full_and_in_order_despite_the_index() {
    let (bytes, _) = synthetic(20_000, 4_000);
    let intact = Capture::from_bytes(Bytes::Owned(bytes.clone()), "intact").expect("open");
    let (want, errs) = collect(&intact);
    assert!(errs.is_empty());
    let c = intact.chunks();
    assert!(c.len() >= 4);
    // Swap the frames of chunks 1 and 2 (adjacent in the file).
    let (a, b) = (&c[1], &c[2]);
    let (a0, a1) = (
        a.offset as usize,
        (a.offset + u64::from(a.frame_len)) as usize,
    );
    let (b0, b1) = (
        b.offset as usize,
        (b.offset + u64::from(b.frame_len)) as usize,
    );
    assert_eq!(a1, b0);
    let mut swapped = bytes[..a0].to_vec();
    swapped.extend_from_slice(&bytes[b0..b1]);
    swapped.extend_from_slice(&bytes[a0..a1]);
    swapped.extend_from_slice(&bytes[b1..]);
    let cap = Capture::from_bytes(Bytes::Owned(swapped), "swapped").expect("open");
    assert_eq!(cap.index_source(), IndexSource::Scan);
    assert!(
        cap.problems()
            .iter()
            .any(|p| p.to_string().contains("disagrees with the frames")),
        "{:?}",
        cap.problems()
    );
    assert_eq!(cap.event_count(), 20_000);
    let (got, errs) = collect(&cap);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(got, want);
}

#[test]
fn damage_to_the_snapshot_or_metadata_frame_is_reported_and_the_rest_kept() {
    use capture::format::FrameHeader;
    let (bytes, _) = synthetic(5_000, 1_000);
    let meta_at = 64usize;
    let meta = FrameHeader::decode(&bytes[meta_at..]).expect("meta header");
    let snap_at = meta_at + meta.frame_len() as usize;
    let snap = FrameHeader::decode(&bytes[snap_at..]).expect("snapshot header");
    assert_eq!(snap.kind.name(), "snapshot");
    let intact = Capture::from_bytes(Bytes::Owned(bytes.clone()), "intact").expect("open");
    let procs = intact
        .snapshot()
        .expect("snapshot")
        .expect("present")
        .processes
        .len();
    assert!(procs > 0);

    // One flipped byte in the snapshot frame's header.
    let mut b = bytes.clone();
    b[snap_at + 20] ^= 0x40;
    let cap = Capture::from_bytes(Bytes::Owned(b), "snap").expect("open");
    let p: Vec<String> = cap.problems().iter().map(|e| e.to_string()).collect();
    assert!(
        p.iter().any(|m| m.contains("snapshot frame damaged")
            && m.contains(&format!("offset {snap_at}"))
            && m.contains("state starts empty")),
        "{p:?}"
    );
    assert_eq!(cap.event_count(), 5_000);
    assert!(cap.meta().is_some());

    // One flipped byte in the metadata payload: reported, snapshot kept.
    let mut b = bytes.clone();
    b[meta_at + FRAME_HEADER_LEN + 3] ^= 0x40;
    let cap = Capture::from_bytes(Bytes::Owned(b), "meta").expect("open");
    let p: Vec<String> = cap.problems().iter().map(|e| e.to_string()).collect();
    assert!(
        p.iter().any(|m| m.contains("metadata frame damaged")),
        "{p:?}"
    );
    let kept = cap
        .snapshot()
        .expect("snapshot")
        .expect("present")
        .processes
        .len();
    assert_eq!(kept, procs);
    assert_eq!(cap.event_count(), 5_000);
}

/// A writer that hands its sealed chunks over gives, for each, the chunk a
/// reader loads from the finished file (same index, same events); frames
/// stored uncompressed read back as compressed ones do.
#[test]
fn handed_over_and_uncompressed_chunks_read_as_the_file_does() {
    let cfg = SynthConfig {
        events: 20_000,
        seed: 7,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);
    let snap = synth::synth_snapshot(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(1500)
        .compress(false)
        .hand_over_chunks(true)
        .build(Vec::new(), "mem", &meta, Some(&snap))
        .expect("writer");
    synth::generate(&cfg, &mut w).expect("generate");
    w.seal().expect("seal");
    let sealed = w.take_sealed();
    assert!(w.take_sealed().is_empty(), "taken once");
    let (bytes, _) = w.finish(meta.start_unix_ns + 10).expect("finish");
    let cap = open(&bytes);
    assert_eq!(sealed.len(), cap.chunks().len());
    assert!(sealed.len() >= 13, "{} chunks", sealed.len());
    for s in sealed {
        let i = s.index;
        let handed = capture::LoadedChunk::from_sealed(s, "mem").expect("valid");
        let loaded = cap.load_chunk(i).expect("load");
        assert_eq!(handed.index(), i);
        assert!(handed.events().eq(loaded.events()), "chunk {i}");
    }
    let (compressed, _) = synthetic(20_000, 1500);
    let other = open(&compressed);
    assert!(bytes.len() > compressed.len(), "stored, not compressed");
    assert!(collect(&cap) == collect(&other), "same events either way");
    let rep = verify(&cap);
    assert!(
        rep.intact() && rep.good_events == 20_000,
        "{:?}",
        rep.problems
    );
}
