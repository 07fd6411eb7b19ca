//! Index build rate, size and query latencies on a synthetic capture
//! (calibrated against the real workload; `FERRET_BENCH_EVENTS`, default
//! 2M) or on a given capture (`FERRET_INDEX_CAP=path`, e.g. the real
//! workload from bench/record.sh): events/s to build on all cores, index
//! bytes per event against the capture's, and the median of 5 runs of a
//! field query, a free-text query, a range query and a facet over all
//! events.
//!
//! `cargo bench -p index --bench search`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use capture::synth::{self, SynthConfig};
use capture::CaptureWriterBuilder;
use index::{BuildOptions, EventIndex, SearchRequest};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = ferret_tests::scratch("index-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let cap: PathBuf = match std::env::var_os("FERRET_INDEX_CAP") {
        // Relative to the workspace (cargo runs benches in the crate).
        Some(p) => ferret_tests::workspace().join(p),
        None => {
            let n: u64 = std::env::var("FERRET_BENCH_EVENTS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2_000_000);
            let cfg = SynthConfig {
                events: n,
                ..SynthConfig::default()
            };
            let p = dir.join("synth.cap");
            let mut w = CaptureWriterBuilder::new()
                .create(
                    &p,
                    &synth::synth_meta(&cfg),
                    Some(&synth::synth_snapshot(&cfg)),
                )
                .expect("create");
            synth::generate(&cfg, &mut w).expect("generate");
            w.finish(0).expect("finish");
            p
        }
    };
    let cap_bytes = std::fs::metadata(&cap).map(|m| m.len()).unwrap_or(0);
    let opts = BuildOptions {
        dir: Some(dir.join("index")),
        ..Default::default()
    };
    let (ix, report) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("build");
    let r = report.expect("built");
    println!(
        "{}: {} events, capture {} bytes ({:.1} bytes/event)",
        cap.display(),
        r.events,
        cap_bytes,
        cap_bytes as f64 / r.events.max(1) as f64
    );
    println!(
        "build: {:.2}s, {:.0} events/s; index {} bytes, {:.1} bytes/event, {:.2}x the capture; peak {:.0} MB",
        r.elapsed.as_secs_f64(),
        r.events as f64 / r.elapsed.as_secs_f64(),
        r.bytes,
        r.bytes as f64 / r.events.max(1) as f64,
        r.bytes as f64 / cap_bytes.max(1) as f64,
        ferret_tests::peak_rss_mb()
    );
    println!("entities: {} processes, {} fds", r.entities.0, r.entities.1);
    drop(ix);
    let mut opens = Vec::new();
    let mut ix = None;
    for _ in 0..5 {
        let t = Instant::now();
        let (opened, rebuilt) =
            EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("open");
        assert!(rebuilt.is_none(), "a current index opens");
        opens.push(t.elapsed());
        ix = Some(opened);
    }
    let ix = ix.expect("opened");
    println!(
        "open (manifest, hashes, tantivy): {:.1} ms median",
        median(opens).as_secs_f64() * 1e3
    );
    let mid = {
        let all = ix
            .search(&SearchRequest {
                query: "*".into(),
                limit: 0,
                histogram: Some(Duration::from_secs(1)),
                ..Default::default()
            })
            .expect("histogram");
        let h = &all.histogram;
        (h[h.len() / 3].0, h[h.len() / 2].0)
    };
    let range = format!(
        "evt.time:[{} TO {}]",
        capture::text::rfc3339(mid.0),
        capture::text::rfc3339(mid.1)
    );
    for (what, req) in [
        (
            "field and fd query proc.name:cat AND fd.directory:/etc",
            SearchRequest {
                query: "proc.name:cat AND fd.directory:/etc".into(),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "time range (a sixth of the capture) AND evt.type:openat",
            SearchRequest {
                query: format!("{range} AND evt.type:openat"),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "facets fd.name and evt.type over all events, histogram 1s",
            SearchRequest {
                query: "*".into(),
                limit: 0,
                facets: vec!["fd.name".into(), "evt.type".into()],
                facet_size: 10,
                histogram: Some(Duration::from_secs(1)),
            },
        ),
        (
            "field query proc.name:cat",
            SearchRequest {
                query: "proc.name:cat".into(),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "free text 'passwd'",
            SearchRequest {
                query: "passwd".into(),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "range fd.sport:[1 TO 1024]",
            SearchRequest {
                query: "fd.sport:[1 TO 1024]".into(),
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "facet proc.name over all events",
            SearchRequest {
                query: "*".into(),
                limit: 0,
                facets: vec!["proc.name".into()],
                facet_size: 10,
                ..Default::default()
            },
        ),
    ] {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            let t = Instant::now();
            total = ix.search(&req).expect("search").total;
            times.push(t.elapsed());
        }
        println!(
            "{what}: {:.1} ms median, {total} matches",
            median(times).as_secs_f64() * 1e3
        );
    }
}
