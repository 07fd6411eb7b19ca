//! The parallel engine against a naive sequential oracle written separately:
//! one state from the snapshot, every event applied and retired through
//! `State::apply`/`State::retire` (no list of state-changing kinds, no
//! checkpoints), every enabled rule evaluated on every event (no event-type
//! pre-filter) except, as documented, the containers already running at the
//! start, and the engine's internal records (procfork, procexec, loss) for
//! rules that do not name them in `evt.type`. The engine must give the
//! same alerts (event number, rule, output, fields) at 1, 2 and 4 threads,
//! for both matching modes, on captures with many chunks so that checkpoints
//! matter: the recorded scenarios, a synthetic capture cut into small
//! chunks, and any capture named by `FERRET_ORACLE_CAPTURE` (the
//! real-workload capture, in release mode).

mod common;

use std::path::Path;

use capture::kind::id;
use capture::synth::{self, SynthConfig};
use capture::Capture;
use engine::eval::{format_output_in, matches_in, Env, EvCtx};
use engine::run::{run, Matching, RunOptions};
use engine::state::{Args, State};
use ruleset::{load_rules, CompiledRule, Selection};

type Row = (u64, String, String, String);

fn oracle(cap: &Capture, rules: &[CompiledRule], matching: Matching) -> Vec<Row> {
    let meta = cap.meta();
    let anchor = meta.map(|m| m.boot_time_unix_ns).unwrap_or(0);
    let hostname = meta.map(|m| m.hostname.to_string()).unwrap_or_default();
    let source: std::sync::Arc<str> = "".into();
    let mut st = State::from_snapshot(&cap.snapshot().ok().flatten().unwrap_or_default());
    let mut out = Vec::new();
    for i in 0..cap.chunks().len() {
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            st.apply(&e);
            let internal = matches!(e.kind, id::LOSS | id::PROC_FORK | id::PROC_EXEC);
            let initial =
                e.kind == id::CONTAINER && e.arg("initial").and_then(|v| v.as_u64()) == Some(1);
            if !initial {
                let args = Args::new(&e);
                let env = Env {
                    state: &st,
                    anchor,
                    hostname: &hostname,
                    source: &source,
                };
                let cx = EvCtx::new(&e, &args, &env);
                let name = e.kind_name();
                for r in rules {
                    let names_it = r
                        .evttypes
                        .as_ref()
                        .is_some_and(|t| t.iter().any(|n| *n == name));
                    if internal && !names_it {
                        continue;
                    }
                    if matches_in(&r.program, &cx) {
                        let (text, fields) = format_output_in(&r.output, &cx);
                        out.push((e.seq + 1, r.name.clone(), text, format!("{fields:?}")));
                        if matching == Matching::First {
                            break;
                        }
                    }
                }
            }
            st.retire(&e);
        }
    }
    out
}

fn engine_rows(
    cap: &Capture,
    rules: &[CompiledRule],
    matching: Matching,
    threads: usize,
) -> Vec<Row> {
    let opts = RunOptions {
        matching,
        threads,
        ..Default::default()
    };
    run(cap, rules, &opts)
        .alerts
        .into_iter()
        .map(|a| {
            (
                a.evt_num,
                a.rule,
                a.output,
                format!("{:?}", a.output_fields),
            )
        })
        .collect()
}

fn rules() -> Vec<CompiledRule> {
    let root = ferret_tests::workspace();
    let mut files = vec![root.join("rules")];
    let upstream = root.join("../shared/corpus/falco-rules");
    if upstream.join("falco_rules.yaml").exists() {
        for f in [
            "falco_rules.yaml",
            "falco-incubating_rules.yaml",
            "falco-sandbox_rules.yaml",
        ] {
            if upstream.join(f).exists() {
                files.push(upstream.join(f));
            }
        }
    }
    let set = load_rules(&files, &Selection::default());
    set.enabled().cloned().collect()
}

fn check(name: &str, cap: &Capture, rules: &[CompiledRule], min_alerts: usize) {
    for matching in [Matching::All, Matching::First] {
        let want = oracle(cap, rules, matching);
        assert!(
            want.len() >= min_alerts,
            "{name}: the oracle found {} alerts, expected at least {min_alerts}: the test would prove nothing",
            want.len()
        );
        for threads in [1, 2, 3, 4] {
            let got = engine_rows(cap, rules, matching, threads);
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b);
                panic!(
                    "{name} {matching:?} {threads} threads: {} alerts, oracle {}; first difference at {at:?}: engine {:?} oracle {:?}",
                    got.len(),
                    want.len(),
                    at.and_then(|i| got.get(i)),
                    at.and_then(|i| want.get(i)),
                );
            }
        }
    }
}

#[test]
fn engine_agrees_with_the_sequential_oracle_on_the_recorded_scenarios() {
    let cap = Capture::open(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    check("scenarios.cap", &cap, &rules(), 10);
}

#[test]
fn engine_agrees_with_the_sequential_oracle_across_many_small_chunks() {
    let cfg = SynthConfig {
        events: 60_000,
        seed: 7,
        ..SynthConfig::default()
    };
    let (cap, _) = synth::in_memory(&cfg, 499).expect("synthetic capture");
    assert!(cap.chunks().len() > 100, "{} chunks", cap.chunks().len());
    check("synthetic", &cap, &rules(), 10);
}

/// A capture with damaged chunks (one early, one past the middle, where
/// the runs of a parallel replay begin and end): every thread count gives
/// the oracle's alerts on the intact chunks, names the damaged chunks in
/// order, and ends in the state a one-thread replay ends in.
#[test]
fn engine_agrees_with_the_sequential_oracle_on_a_damaged_capture() {
    let cfg = SynthConfig {
        events: 60_000,
        seed: 11,
        ..SynthConfig::default()
    };
    let (whole, _) = synth::in_memory(&cfg, 499).expect("synthetic capture");
    let mut bytes = whole.bytes().to_vec();
    let n = whole.chunks().len();
    let damaged = [3, n / 2 + 7];
    for &i in &damaged {
        let c = whole.chunks()[i];
        bytes[(c.offset + u64::from(c.frame_len) / 2) as usize] ^= 0x55;
    }
    let cap = Capture::from_bytes(capture::Bytes::Owned(bytes), "damaged.cap").expect("open");
    for &i in &damaged {
        assert!(cap.load_chunk(i).is_err(), "chunk {i} still loads");
    }
    let rules = rules();
    check("damaged", &cap, &rules, 10);
    let mut ends = Vec::new();
    for threads in [1, 2, 3, 4] {
        let opts = RunOptions {
            threads,
            ..Default::default()
        };
        let (res, end) = engine::run::run_from(&cap, &rules, &opts, None);
        let named: Vec<Option<usize>> = res.chunk_errors.iter().map(|e| e.chunk).collect();
        assert_eq!(
            named,
            damaged.iter().map(|&i| Some(i)).collect::<Vec<_>>(),
            "{threads} threads"
        );
        let intact: u64 = (0..n)
            .filter(|i| !damaged.contains(i))
            .map(|i| u64::from(cap.chunks()[i].event_count))
            .sum();
        assert_eq!(res.events, intact, "{threads} threads");
        ends.push(end);
    }
    assert!(!ends[0].procs.is_empty());
    for (t, end) in ends.iter().enumerate().skip(1) {
        assert!(
            common::canonical(end) == common::canonical(&ends[0]),
            "end state at {} threads differs",
            t + 1
        );
    }
}

/// Any capture named by `FERRET_ORACLE_CAPTURE`, such as the real-workload
/// capture `bench/record.sh` makes (not committed: tens of MB; run with
/// `--release`, it is millions of events).
#[test]
fn engine_agrees_with_the_sequential_oracle_on_a_capture_given_by_the_environment() {
    let Some(p) = std::env::var_os("FERRET_ORACLE_CAPTURE") else {
        eprintln!("skipped: set FERRET_ORACLE_CAPTURE to a capture (bench/record.sh makes one)");
        return;
    };
    let p = Path::new(&p);
    let cap = Capture::open(p).expect("capture");
    check(&p.display().to_string(), &cap, &rules(), 1);
}

/// Streaming evaluation (chunks fed one by one, as a live feed would) gives
/// the parallel run's alerts.
#[test]
fn streaming_evaluation_gives_the_runs_alerts() {
    use engine::replay::{CaptureFacts, RuleIndex, Stream};
    let cap = Capture::open(ferret_tests::fixture("v1/scenarios.cap")).expect("fixture");
    let rules = rules();
    let index = RuleIndex::new(&rules, Matching::All);
    let snapshot = cap.snapshot().ok().flatten().unwrap_or_default();
    let mut stream = Stream::new(&snapshot, CaptureFacts::of(&cap, "scenarios.cap"), &index);
    let mut got = Vec::new();
    for i in 0..cap.chunks().len() {
        let chunk = cap.load_chunk(i).expect("chunk");
        for a in stream.push_chunk(&chunk) {
            assert_eq!(a.source.as_ref(), "scenarios.cap");
            got.push((
                a.evt_num,
                a.rule,
                a.output,
                format!("{:?}", a.output_fields),
            ));
        }
    }
    let want = engine_rows(&cap, &rules, Matching::All, 2);
    assert!(want.len() >= 10, "{} alerts", want.len());
    assert_eq!(got, want);
}
