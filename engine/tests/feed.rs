//! Rules evaluated on a .scap trace's chunks as its conversion seals them
//! (`scap::import::open_converting` + `run::run_feed`, what `analyzer run`
//! does on a .scap) against the same rules on the finished conversion
//! (`run::run`): the same alerts, in the same order, with the same fields,
//! on every corpus trace, at one and two threads and with both chunk sizes
//! a conversion hands over (`Handover`); on a cut trace too; and a consumer
//! that stops early stops the conversion.

use std::path::{Path, PathBuf};

use engine::run::{feed_handover, run, run_feed, RunOptions, RunResult};
use ruleset::{load_rules, CompiledRule, Selection};
use scap::import::Handover;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if ferret_tests::skip_unless(p.join("scap/INVENTORY.tsv").exists(), "../shared/corpus") {
        return None;
    }
    Some(p)
}

/// Falco's current rules, every rule enabled (so that many fire).
fn rules(c: &Path) -> Vec<CompiledRule> {
    let r = c.join("falco-rules");
    let files = [
        r.join("falco_rules.yaml"),
        r.join("falco-incubating_rules.yaml"),
        r.join("falco-sandbox_rules.yaml"),
    ];
    let sel = Selection {
        enable: vec!["*".into()],
        ..Selection::default()
    };
    load_rules(&files, &sel).enabled().cloned().collect()
}

/// What a run says, comparable.
fn shown(r: &RunResult) -> Vec<String> {
    let mut out: Vec<String> = r
        .alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {:?} {} {:?} {}",
                a.evt_num, a.ts, a.time_ns, a.rule, a.priority, a.output, a.output_fields, a.in_gap
            )
        })
        .collect();
    out.push(format!(
        "events {} gaps {} errors {} truncated {}",
        r.events,
        r.gaps.len(),
        r.chunk_errors.len(),
        r.truncated_args
    ));
    out
}

fn fed(
    trace: &Path,
    rules: &[CompiledRule],
    threads: usize,
    keep: bool,
    handover: Handover,
) -> (RunResult, scap::import::Converted) {
    let c = scap::import::open_converting(trace, keep, handover).expect("open");
    let (meta, snapshot) = c.header.recv().expect("header");
    let opts = RunOptions {
        threads,
        ..RunOptions::default()
    };
    let (res, _) = run_feed(c.chunks, &snapshot, &meta, rules, &opts);
    (res, c.done.wait().expect("conversion"))
}

#[test]
fn a_trace_evaluated_as_it_converts_alerts_as_its_finished_conversion() {
    let Some(c) = corpus() else { return };
    let rules = rules(&c);
    assert!(rules.len() > 80, "{} rules", rules.len());
    let inv = std::fs::read_to_string(c.join("scap/INVENTORY.tsv")).expect("inventory");
    let (mut traces, mut alerts) = (0, 0);
    for line in inv.lines().skip(1) {
        let rel = line.split('\t').next().expect("path");
        let trace = c.join("scap").join(rel);
        let imp = scap::import::open(&trace).expect("import");
        let whole = run(&imp.capture, &rules, &RunOptions::default());
        // Every thread count with both chunk sizes (small chunks are what
        // one thread gets, large ones what several get).
        for (threads, keep, handover) in [
            (1, true, Handover::SEQUENTIAL),
            (2, true, Handover::PARALLEL),
            (1, false, Handover::PARALLEL),
            (2, false, Handover::SEQUENTIAL),
        ] {
            let (res, conv) = fed(&trace, &rules, threads, keep, handover);
            assert_eq!(
                shown(&res),
                shown(&whole),
                "{rel}, {threads} thread(s), {handover:?}"
            );
            match (&conv.capture, keep) {
                (Some(cap), true) => assert_eq!(
                    cap.event_count(),
                    imp.capture.event_count(),
                    "{rel}: the kept conversion"
                ),
                (None, false) => {}
                (c, _) => panic!("{rel}: kept {keep} but capture {}", c.is_some()),
            }
            assert_eq!(conv.report.origin, imp.report.origin, "{rel}");
            assert!(conv.problems.is_empty(), "{rel}: {:?}", conv.problems);
        }
        // The sequential replay (one thread) agrees with the parallel one.
        let one = run(
            &imp.capture,
            &rules,
            &RunOptions {
                threads: 1,
                ..RunOptions::default()
            },
        );
        assert_eq!(shown(&one), shown(&whole), "{rel}: one thread");
        traces += 1;
        alerts += whole.alerts.len();
    }
    assert!(traces >= 22, "{traces} traces");
    assert!(
        alerts > 100,
        "only {alerts} alerts: the comparison says little"
    );
}

#[test]
fn a_cut_trace_evaluated_as_it_converts_keeps_the_alerts_of_its_intact_events() {
    let Some(c) = corpus() else { return };
    let rules = rules(&c);
    let src = c.join("scap/bencer/k8s_node_capture.scap");
    let raw = std::fs::read(&src).expect("read");
    let dir = ferret_tests::scratch("feed-cut");
    std::fs::create_dir_all(&dir).expect("dir");
    let cut = dir.join("cut.scap");
    std::fs::write(&cut, &raw[..raw.len() * 6 / 10]).expect("write");
    let imp = scap::import::open(&cut).expect("import");
    assert!(!imp.problems.is_empty(), "the cut is reported");
    let whole = run(&imp.capture, &rules, &RunOptions::default());
    let (res, conv) = fed(&cut, &rules, 0, false, feed_handover(0));
    assert_eq!(shown(&res), shown(&whole));
    assert_eq!(conv.problems, imp.problems);
    assert!(res.events > 10_000, "{} events before the cut", res.events);
}

#[test]
fn a_consumer_that_stops_early_stops_the_conversion() {
    let Some(c) = corpus() else { return };
    let src = c.join("scap/bencer/k8s_node_capture.scap");
    let full = scap::import::open(&src).expect("import");
    assert!(full.capture.chunks().len() > 4, "several chunks");
    let conv = scap::import::open_converting(&src, true, Handover::PARALLEL).expect("open");
    let (_, snapshot) = conv.header.recv().expect("header");
    assert!(!snapshot.processes.is_empty());
    let first = conv.chunks.recv().expect("a chunk").expect("valid");
    assert_eq!(first.index(), 0);
    drop(conv.chunks);
    let end = conv.done.wait().expect("ends");
    let kept = end.capture.expect("kept").event_count();
    assert!(
        kept < full.capture.event_count(),
        "stopped early: {kept} of {} events",
        full.capture.event_count()
    );
}

#[test]
fn a_file_that_is_not_a_trace_gives_no_header_and_says_why() {
    let dir = ferret_tests::scratch("feed-bad");
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("bad.scap");
    std::fs::write(&f, b"\x1f\x8bnot really gzip").expect("write");
    let conv = scap::import::open_converting(&f, false, Handover::SEQUENTIAL).expect("starts");
    // A damaged stream still yields a header of nothing and a problem.
    let header = conv.header.recv();
    let done = conv.done.wait();
    match (header, done) {
        (Ok(_), Ok(imp)) => assert!(!imp.problems.is_empty(), "the damage is reported"),
        (Err(_), Err(e)) => assert!(!e.to_string().is_empty()),
        (h, d) => panic!("header {:?} but end {:?}", h.is_ok(), d.is_ok()),
    }
    let missing = dir.join("missing.scap");
    let conv =
        scap::import::open_converting(&missing, false, Handover::SEQUENTIAL).expect("starts");
    assert!(conv.header.recv().is_err(), "no header for a missing file");
    let e = conv.done.wait().err().expect("an error");
    assert!(e.to_string().contains("missing.scap"), "{e}");
}
