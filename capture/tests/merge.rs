//! Merged captures: each stream reads back exactly as the recording it came
//! from, the file verifies as one chain with its sources' heads recorded,
//! and damage in a source is left out and named, never given a valid hash.

use capture::format::FRAME_HEADER_LEN;
use capture::merge::merge;
use capture::reader::Part;
use capture::synth::{self, SynthConfig};
use capture::{verify, Bytes, Capture, CaptureWriterBuilder, Fault};

mod common;
use common::Ev;

/// Every event of an intact capture.
fn collect(cap: &Capture) -> Vec<Ev> {
    let (out, errs) = common::collect(cap);
    assert!(errs.is_empty(), "{errs:?}");
    out
}

/// A synthetic recording of host `host`, small chunks, starting at `start_ts`.
fn recording(host: &str, seed: u64, events: u64, start_ts: u64) -> Vec<u8> {
    let cfg = SynthConfig {
        events,
        seed,
        start_ts,
        ..SynthConfig::default()
    };
    let mut meta = synth::synth_meta(&cfg);
    meta.hostname = host.into();
    let snap = synth::synth_snapshot(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(500)
        .build(Vec::new(), host, &meta, Some(&snap))
        .expect("writer");
    synth::generate(&cfg, &mut w).expect("generate");
    w.finish(meta.start_unix_ns + 10).expect("finish").0
}

fn open(bytes: &[u8], name: &str, part: Part) -> capture::Result<Capture> {
    Capture::from_bytes_part(Bytes::Owned(bytes.to_vec()), name, part)
}

fn merged_of(inputs: &[&Capture]) -> (Vec<u8>, capture::merge::MergeSummary) {
    let mut seen = Vec::new();
    let (bytes, sum) = merge(inputs, Vec::new(), "all.cap", |n| seen.push(n)).expect("merge");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "progress only grows");
    assert_eq!(seen.last().copied().unwrap_or(0), sum.events);
    (bytes, sum)
}

#[test]
fn each_stream_reads_back_as_its_recording_and_the_file_verifies() {
    let a = recording("node-a", 1, 6_000, 3_600_000_000_000);
    let b = recording("node-b", 2, 4_000, 3_600_000_500_000);
    let ca = open(&a, "a.cap", Part::Default).expect("ok");
    let cb = open(&b, "b.cap", Part::Default).expect("ok");
    let (m, sum) = merged_of(&[&ca, &cb]);
    assert!(sum.complete());
    assert_eq!(sum.events, 10_000);

    // The file alone names its streams instead of reading one silently.
    let err = open(&m, "all.cap", Part::Default).err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("2 recordings") && text.contains("node-a") && text.contains("all.cap#N"),
        "{text}"
    );

    for (i, (src, bytes)) in [(&ca, &a), (&cb, &b)].into_iter().enumerate() {
        let s = open(&m, "all.cap#i", Part::Stream(i as u16)).expect("ok");
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert_eq!(s.meta(), src.meta());
        assert_eq!(s.snapshot().expect("ok"), src.snapshot().expect("ok"));
        assert_eq!(collect(&s), collect(src));
        assert_eq!(s.event_count(), src.event_count());
        assert_eq!(s.recording_head(), src.chain_head());
        assert_eq!(s.end_unix_ns(), src.end_unix_ns());
        let f = s.source_file().expect("ok");
        assert_eq!(f.file_id, src.header().file_id);
        assert!(f.finished && f.damage.is_empty());
        // The source's head is the one its own verify prints.
        let own = Capture::from_bytes(Bytes::Owned(bytes.clone()), "x").expect("ok");
        assert_eq!(Some(f.chain_head), verify(&own).chain_head);
        // One stream verified: the whole chain, this stream's chunks decoded.
        let rep = verify(&s);
        assert!(rep.intact(), "{:?}", rep.problems);
        assert_eq!(rep.chain_head, Some(sum.chain_head));
    }
    let whole = open(&m, "all.cap", Part::Whole).expect("ok");
    let rep = verify(&whole);
    assert!(rep.intact(), "{:?}", rep.problems);
    assert_eq!(rep.good_events, 10_000);
    assert_eq!(whole.sources().len(), 2);
    // Chunks are in time order across the streams.
    let firsts: Vec<u64> = whole.chunks().iter().map(|c| c.ts_min).collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
    assert!(open(&m, "all.cap#2", Part::Stream(2)).is_err());
    assert!(open(&a, "a.cap#1", Part::Stream(1)).is_err());
}

#[test]
fn a_damaged_source_chunk_is_left_out_and_named() {
    let a = recording("node-a", 3, 5_000, 3_600_000_000_000);
    let b = recording("node-b", 4, 5_000, 3_600_000_000_000);
    let mut bad = b.clone();
    let cb = open(&b, "b.cap", Part::Default).expect("ok");
    let victim = cb.chunks()[3];
    bad[victim.offset as usize + FRAME_HEADER_LEN + 10] ^= 0x40;
    let ca = open(&a, "a.cap", Part::Default).expect("ok");
    let cbad = open(&bad, "b.cap", Part::Default).expect("ok");
    let (m, sum) = merged_of(&[&ca, &cbad]);
    assert!(!sum.complete());
    assert_eq!(sum.events, 10_000 - u64::from(victim.event_count));
    let damage = &sum.sources[1].damage;
    assert!(
        damage
            .iter()
            .any(|d| d.contains("chunk 3") && d.contains(&victim.offset.to_string())),
        "{damage:?}"
    );

    let s = open(&m, "all.cap#1", Part::Stream(1)).expect("ok");
    // Every other event of the damaged source is there, numbered as before.
    let want: Vec<Ev> = collect(&cb)
        .into_iter()
        .filter(|e| {
            e.seq < victim.first_seq || e.seq >= victim.first_seq + u64::from(victim.event_count)
        })
        .collect();
    assert_eq!(collect(&s), want);
    assert!(
        s.problems()
            .iter()
            .any(|p| matches!(p.fault, Fault::Source(_))),
        "the stream says what its source lost: {:?}",
        s.problems()
    );
    let rep = verify(&open(&m, "all.cap", Part::Whole).expect("ok"));
    assert!(!rep.intact());
    assert!(
        rep.problems
            .iter()
            .all(|p| matches!(p.fault, Fault::Source(_))),
        "{:?}",
        rep.problems
    );
}

#[test]
fn an_altered_source_is_not_laundered_and_an_altered_merge_is_caught() {
    let a = recording("node-a", 5, 3_000, 3_600_000_000_000);
    let ca = open(&a, "a.cap", Part::Default).expect("ok");
    // Swap two chunk frames of the source: each frame's own hash still
    // checks, only the chain shows it.
    let (c1, c2) = (ca.chunks()[1], ca.chunks()[2]);
    let mut swapped = a[..c1.offset as usize].to_vec();
    swapped
        .extend_from_slice(&a[c2.offset as usize..(c2.offset + u64::from(c2.frame_len)) as usize]);
    swapped.extend_from_slice(&a[c1.offset as usize..c2.offset as usize]);
    swapped.extend_from_slice(&a[(c2.offset + u64::from(c2.frame_len)) as usize..]);
    let cs = open(&swapped, "a.cap", Part::Default).expect("ok");
    let (_, sum) = merged_of(&[&cs]);
    assert!(
        sum.sources[0]
            .damage
            .iter()
            .any(|d| d.contains("hash chain breaks")),
        "{:?}",
        sum.sources[0].damage
    );

    let (mut m, _) = merged_of(&[&ca]);
    // One stream only: the file opens by its own name.
    let one = open(&m, "all.cap", Part::Default).expect("ok");
    assert_eq!(collect(&one), collect(&ca));
    let at = one.chunks()[1].offset as usize + FRAME_HEADER_LEN + 5;
    m[at] ^= 1;
    let rep = verify(&open(&m, "all.cap", Part::Whole).expect("ok"));
    assert!(!rep.intact());
}

#[test]
fn merging_a_merge_keeps_the_original_provenance() {
    let a = recording("node-a", 6, 2_000, 3_600_000_000_000);
    let b = recording("node-b", 7, 2_000, 3_600_000_000_000);
    let c = recording("node-c", 8, 2_000, 3_600_000_000_000);
    let ca = open(&a, "a.cap", Part::Default).expect("ok");
    let cb = open(&b, "b.cap", Part::Default).expect("ok");
    let cc = open(&c, "c.cap", Part::Default).expect("ok");
    let (ab, _) = merged_of(&[&ca, &cb]);
    let s0 = open(&ab, "ab.cap#0", Part::Stream(0)).expect("ok");
    let s1 = open(&ab, "ab.cap#1", Part::Stream(1)).expect("ok");
    let (abc, sum) = merged_of(&[&s0, &s1, &cc]);
    let names: Vec<&str> = sum.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a.cap", "b.cap", "c.cap"]);
    assert_eq!(sum.sources[1].chain_head, cb.chain_head().expect("ok"));
    for (i, src) in [&ca, &cb, &cc].into_iter().enumerate() {
        let s = open(&abc, "abc.cap", Part::Stream(i as u16)).expect("ok");
        assert_eq!(collect(&s), collect(src));
        assert_eq!(s.recording_head(), src.chain_head());
    }
}
