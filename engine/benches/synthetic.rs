//! `analyzer run` throughput: upstream falco_rules.yaml (from ../shared/corpus,
//! or Ferret's rules/ when the corpus is absent) over a synthetic capture of
//! 10M events written to a temporary file and memory-mapped, at 1 and 2
//! threads, plus the process's peak memory.
//!
//! `cargo bench -p engine --bench synthetic`; `FERRET_BENCH_EVENTS=N` to change.

use std::path::Path;
use std::time::Instant;

use capture::synth::{self, SynthConfig};
use capture::{Capture, CaptureWriterBuilder};
use engine::run::{run, Matching, RunOptions};
use ruleset::{load_rules, Selection};

use ferret_tests::peak_rss_mb;

fn main() {
    let n: u64 = std::env::var("FERRET_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let upstream = root.join("../shared/corpus/falco-rules/falco_rules.yaml");
    let rules_path = if upstream.exists() {
        upstream
    } else {
        root.join("rules")
    };
    let set = load_rules(std::slice::from_ref(&rules_path), &Selection::default());
    let rules: Vec<_> = set.enabled().cloned().collect();

    let path = std::env::temp_dir().join("ferret-bench-run.cap");
    let t = Instant::now();
    let cfg = SynthConfig {
        events: n,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .output(capture::outfile::OutputOptions {
            force: true,
            ..Default::default()
        })
        .create(&path, &meta, Some(&synth::synth_snapshot(&cfg)))
        .expect("create");
    synth::generate(&cfg, &mut w).expect("generate");
    w.finish(0).expect("finish");
    eprintln!("generated {n} events in {:.1}s", t.elapsed().as_secs_f64());
    let cap = Capture::open(&path).expect("open");
    println!(
        "rules: {} ({} enabled) from {}",
        set.rules.len(),
        rules.len(),
        rules_path.display()
    );
    let mut results = Vec::new();
    for threads in [1, 2] {
        let opts = RunOptions {
            matching: Matching::All,
            threads,
            ..Default::default()
        };
        let mut best = f64::MAX;
        let mut alerts = 0;
        for _ in 0..2 {
            let r = run(&cap, &rules, &opts);
            best = best.min(r.elapsed.as_secs_f64());
            alerts = r.alerts.len();
        }
        println!(
            "threads {threads}: {:.2} M events/s ({:.2}s, {alerts} alerts)",
            n as f64 / best / 1e6,
            best
        );
        results.push(alerts);
    }
    assert_eq!(results[0], results[1]);
    // The floor: state replay and chunk decoding with no rule to evaluate.
    for threads in [1, 2] {
        let r = run(
            &cap,
            &[],
            &RunOptions {
                matching: Matching::All,
                threads,
                ..Default::default()
            },
        );
        println!(
            "no rules, threads {threads}: {:.2} M events/s",
            n as f64 / r.elapsed.as_secs_f64() / 1e6
        );
    }
    println!("peak memory (VmHWM): {:.0} MB", peak_rss_mb());
    drop(cap);
    let _ = std::fs::remove_file(&path);
}
