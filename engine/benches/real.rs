//! `analyzer run`'s engine on a real recording: the capture `bench/record.sh`
//! makes with the real recorder from `bench/workload.sh` (builds, package
//! queries, file scans, shells and interpreters, loopback HTTP; snap length
//! 80), with upstream falco_rules + incubating + sandbox from ../shared/corpus.
//! The speed goal of issue 14 is judged here, never in a timed test.
//!
//! For 1 and 2 threads: the median and best of 5 runs (events/s), the
//! alerts (identical at every thread count or the bench fails), and a run
//! without rules (the floor: decoding and state). Then the capture's profile
//! beside the synthetic generator's (bytes per event, kinds, data sizes), the
//! figures the generator's mix is calibrated against, and peak memory.
//!
//! `bench/record.sh && cargo bench -p engine --bench real`;
//! `FERRET_WORKLOAD_CAP=path` to measure another capture, `FERRET_BENCH_RUNS=N`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use capture::kind::id;
use capture::synth::{self, SynthConfig};
use capture::Capture;
use engine::run::{run, Matching, RunOptions};
use ruleset::{load_rules, Selection};

use ferret_tests::peak_rss_mb;

// The allocator of the `analyzer` binary, so that these figures are its.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bytes per event on disk and raw, share of each kind, and the mean data
/// bytes of read/write-like events.
struct Profile {
    events: u64,
    file_bytes_per_event: f64,
    raw_bytes_per_event: f64,
    kinds: BTreeMap<String, f64>,
    data_mean: f64,
}

fn profile(cap: &Capture, file_len: u64) -> Profile {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut data_n, mut data_bytes) = (0u64, 0u64);
    let mut raw = 0u64;
    for (i, entry) in cap.chunks().iter().enumerate() {
        raw += u64::from(entry.raw_len);
        let Ok(c) = cap.load_chunk(i) else { continue };
        for e in c.events() {
            *counts.entry(e.kind_name().into_owned()).or_default() += 1;
            if matches!(
                e.kind,
                id::READ | id::WRITE | id::PREAD64 | id::PWRITE64 | id::SENDTO | id::RECVFROM
            ) {
                if let Some(b) = e.arg("data").and_then(|v| match v {
                    capture::args::ArgValue::Bytes(b) => Some(b.len()),
                    _ => None,
                }) {
                    data_n += 1;
                    data_bytes += b as u64;
                }
            }
        }
    }
    let events = cap.event_count().max(1);
    Profile {
        events,
        file_bytes_per_event: file_len as f64 / events as f64,
        raw_bytes_per_event: raw as f64 / events as f64,
        kinds: counts
            .into_iter()
            .map(|(k, n)| (k, n as f64 * 100.0 / events as f64))
            .collect(),
        data_mean: data_bytes as f64 / data_n.max(1) as f64,
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("FERRET_WORKLOAD_CAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/workload.cap"));
    let runs: usize = std::env::var("FERRET_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let Ok(cap) = Capture::open(&path) else {
        eprintln!(
            "real benchmark skipped: no capture at {} (make it with bench/record.sh, as root)",
            path.display()
        );
        return;
    };
    let upstream = root.join("../shared/corpus/falco-rules");
    let files: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| upstream.join(f))
    .collect();
    if !files.iter().all(|f| f.exists()) {
        eprintln!("real benchmark skipped: ../shared/corpus/falco-rules is missing");
        return;
    }
    let set = load_rules(&files, &Selection::default());
    let rules: Vec<_> = set.enabled().cloned().collect();
    let n = cap.event_count();
    println!(
        "capture {}: {n} events; rules: falco_rules + incubating + sandbox, {} enabled",
        path.display(),
        rules.len()
    );
    let mut alerts_seen = Vec::new();
    for threads in [1, 2] {
        let opts = RunOptions {
            matching: Matching::All,
            threads,
            ..Default::default()
        };
        let mut times = Vec::new();
        for _ in 0..runs {
            let r = run(&cap, &rules, &opts);
            times.push(r.elapsed.as_secs_f64());
            alerts_seen.push(r.alerts.len());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "threads {threads}: median {:.2} M events/s ({median:.3} s), best {:.2} M events/s, {} alerts",
            n as f64 / median / 1e6,
            n as f64 / times[0] / 1e6,
            alerts_seen.last().copied().unwrap_or(0)
        );
        let t = Instant::now();
        let r = run(&cap, &[], &opts);
        println!(
            "threads {threads}, no rules (decode + state): {:.2} M events/s",
            r.events as f64 / t.elapsed().as_secs_f64() / 1e6
        );
    }
    assert!(
        alerts_seen.windows(2).all(|w| w[0] == w[1]),
        "alerts differ between runs: {alerts_seen:?}"
    );
    println!("peak memory (VmHWM): {:.0} MB", peak_rss_mb());

    // The real capture's profile beside the synthetic generator's.
    let real = profile(&cap, std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
    let cfg = SynthConfig {
        events: real.events.min(2_000_000),
        ..SynthConfig::default()
    };
    let (syn_cap, len) = synth::in_memory(&cfg, 65_536).expect("synthetic capture");
    let syn = profile(&syn_cap, len);
    println!("\nprofile          real      synthetic");
    println!(
        "bytes/event      {:<9.2} {:.2}",
        real.file_bytes_per_event, syn.file_bytes_per_event
    );
    println!(
        "raw bytes/event  {:<9.2} {:.2}",
        real.raw_bytes_per_event, syn.raw_bytes_per_event
    );
    println!(
        "mean data bytes  {:<9.1} {:.1}",
        real.data_mean, syn.data_mean
    );
    let mut top: Vec<(&String, &f64)> = real.kinds.iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(a.1));
    for (k, pct) in top.into_iter().take(12) {
        println!(
            "{k:<16} {pct:<8.2}% {:.2}%",
            syn.kinds.get(k).copied().unwrap_or(0.0)
        );
    }
}
