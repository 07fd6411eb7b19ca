//! The sequential pass that makes the parallel run's checkpoints skips the
//! opens a process closes again within the chunk: the state it leaves at
//! every chunk boundary must be exactly the state of applying every event.
//! Checked on the recorded scenarios and on synthetic events, re-chunked
//! into many small chunks so that opens and closes fall on both sides of
//! boundaries.

mod common;

use capture::synth::{self, SynthConfig};
use capture::{Bytes, Capture, CaptureWriterBuilder};
use engine::replay::{CaptureFacts, Replay};

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
            common::canonical(chunked.state()),
            common::canonical(every.state()),
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

/// The parallel replay cuts a capture into one run of chunks per thread,
/// each replayed from the state the state pass found at its start: with
/// tasks slower than the pass (as rules are), every thread gets a run, the
/// runs tile the capture in order, and the state after every chunk, in
/// whichever run, is the one a one-thread replay reaches there.
#[test]
fn each_thread_replays_a_run_from_the_state_at_its_start() {
    use engine::run::{replay_chunks_from, ParOptions};
    let cfg = SynthConfig {
        events: 30_000,
        seed: 5,
        ..SynthConfig::default()
    };
    let (cap, _) = synth::in_memory(&cfg, 499).expect("synthetic capture");
    let n = cap.chunks().len();
    assert!(n > 50, "{n} chunks");
    let replay = |threads: usize, decode_budget: u64| {
        let opts = ParOptions {
            threads,
            decode_budget,
            ..Default::default()
        };
        let facts = CaptureFacts::of(&cap, "synthetic");
        replay_chunks_from(&cap, facts, &opts, None, |i, chunk, replay| {
            for e in chunk.events() {
                replay.step(&e, |_| ());
            }
            // Far slower than the pass, even unoptimized and on a busy
            // machine (the first chunk gives it a head start of a second),
            // so that every thread gets a run.
            let ms = if i == 0 { 1000 } else { 10 };
            std::thread::sleep(std::time::Duration::from_millis(ms));
            common::canonical(replay.state())
        })
    };
    let (one, one_end) = replay(1, engine::run::DECODE_BUDGET);
    assert_eq!(one.runs, vec![0..n]);
    // Room for one chunk at a time (a loader short of room lets go of the
    // chunks the pass kept for the first run), and the default budget.
    for (threads, budget) in [
        (2, 1),
        (2, engine::run::DECODE_BUDGET),
        (3, 1),
        (4, engine::run::DECODE_BUDGET),
    ] {
        let (par, end) = replay(threads, budget);
        // One chunk of room at a time starves the pass while the runs hold
        // it: fewer runs then, the same states.
        if budget == engine::run::DECODE_BUDGET {
            assert_eq!(par.runs.len(), threads, "{threads} threads: {:?}", par.runs);
        } else {
            assert!(!par.runs.is_empty() && par.runs.len() <= threads);
        }
        assert_eq!(par.runs.first().map(|r| r.start), Some(0));
        assert_eq!(par.runs.last().map(|r| r.end), Some(n));
        for w in par.runs.windows(2) {
            assert_eq!(w[0].end, w[1].start, "{threads} threads: {:?}", par.runs);
        }
        for (i, (a, b)) in par.results.iter().zip(&one.results).enumerate() {
            assert!(a == b, "{threads} threads: state after chunk {i} differs");
        }
        assert_eq!(par.results.len(), n);
        assert!(common::canonical(&end) == common::canonical(&one_end));
    }
}
