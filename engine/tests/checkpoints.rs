//! The sequential pass that makes the parallel run's checkpoints skips the
//! opens a process closes again within the chunk: the state it leaves at
//! every chunk boundary must be exactly the state of applying every event.
//! Checked on the recorded scenarios and on synthetic events, re-chunked
//! into many small chunks so that opens and closes fall on both sides of
//! boundaries.

use capture::synth::{self, SynthConfig};
use capture::{Bytes, Capture, CaptureWriterBuilder};
use engine::replay::{CaptureFacts, Replay};
use engine::state::State;

/// `cap`'s events in chunks of `n`.
fn rechunked(cap: &Capture, n: u32) -> Capture {
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(n)
        .build(
            Vec::new(),
            "rechunked",
            &cap.meta().cloned().unwrap_or_default(),
            cap.snapshot().ok().flatten().as_ref(),
        )
        .expect("writer");
    cap.for_each_event(|e| {
        w.push_encoded(&e.header(), e.args).expect("push");
    });
    let bytes = w.finish(0).expect("finish").0;
    Capture::from_bytes(Bytes::Owned(bytes), "rechunked.cap").expect("open")
}

/// The state as text, independent of hash order.
fn canonical(s: &State) -> String {
    let mut pids: Vec<&u32> = s.procs.keys().collect();
    pids.sort();
    let mut out = String::new();
    for pid in pids {
        let p = &s.procs[pid];
        let mut q = p.clone();
        q.fds = Default::default();
        let vtids = q.vtids.take().map(|m| {
            let mut v: Vec<(u32, u32)> = m.iter().map(|(a, b)| (*a, *b)).collect();
            v.sort_unstable();
            v
        });
        let mut fds: Vec<_> = p.fds.iter().collect();
        fds.sort_by_key(|(n, _)| **n);
        out.push_str(&format!("{q:?} vtids={vtids:?} fds={fds:?}\n"));
    }
    let mut cs: Vec<_> = s.containers.iter().collect();
    cs.sort_by(|a, b| a.0.cmp(b.0));
    out.push_str(&format!("{cs:?}"));
    out
}

fn check(name: &str, cap: &Capture) {
    let snap = cap.snapshot().ok().flatten().unwrap_or_default();
    let mut chunked = Replay::new(&snap, CaptureFacts::of(cap, name));
    let mut every = Replay::new(&snap, CaptureFacts::of(cap, name));
    let (mut skipped, mut boundaries) = (0, 0);
    for i in 0..cap.chunks().len() {
        let c = cap.load_chunk(i).expect("chunk");
        skipped += chunked.advance_chunk(&c, |_| {});
        for e in c.events() {
            every.advance(&e);
        }
        assert_eq!(
            canonical(chunked.state()),
            canonical(every.state()),
            "{name}: the states differ after chunk {i}"
        );
        boundaries += 1;
    }
    assert!(boundaries > 10, "{name}: {boundaries} chunks");
    // The pass did leave opens and closes out (else this checks nothing).
    assert!(skipped > 100, "{name}: {skipped} events skipped");
    eprintln!("{name}: {skipped} of {} events skipped", cap.event_count());
}

#[test]
fn skipping_closed_opens_leaves_every_checkpoint_exact_on_the_recorded_scenarios() {
    let cap = Capture::open(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    for n in [97, 500, 2000] {
        check(&format!("scenarios/{n}"), &rechunked(&cap, n));
    }
}

#[test]
fn skipping_closed_opens_leaves_every_checkpoint_exact_on_synthetic_events() {
    let cfg = SynthConfig {
        events: 60_000,
        seed: 11,
        ..SynthConfig::default()
    };
    let (cap, _) = synth::in_memory(&cfg, 613).expect("synthetic capture");
    check("synthetic", &cap);
}

/// Any capture named by `FERRET_ORACLE_CAPTURE` (the real-workload
/// recording of `bench/record.sh`; run with `--release`).
#[test]
fn skipping_closed_opens_leaves_every_checkpoint_exact_on_a_given_capture() {
    let Some(p) = std::env::var_os("FERRET_ORACLE_CAPTURE") else {
        eprintln!("skipped: set FERRET_ORACLE_CAPTURE to a capture (bench/record.sh makes one)");
        return;
    };
    let cap = Capture::open(std::path::Path::new(&p)).expect("capture");
    check(&p.to_string_lossy(), &cap);
}
