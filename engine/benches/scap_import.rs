//! `.scap` import rate and size, per trace of ../shared/corpus/scap: the
//! median of 5 conversions in memory (read + gunzip + enter/exit merge +
//! Ferret write), scap events per second, and the Ferret capture's size
//! against the .scap file's.
//!
//! `cargo bench -p engine --bench scap_import`; `FERRET_BENCH_RUNS=N`.

use std::path::Path;
use std::time::Instant;

fn main() {
    let runs: usize = std::env::var("FERRET_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/scap");
    let Ok(inv) = std::fs::read_to_string(corpus.join("INVENTORY.tsv")) else {
        eprintln!("no ../shared/corpus/scap: nothing to measure");
        return;
    };
    println!(
        "| trace | scap events | Ferret events | import (M scap events/s) | .scap bytes | Ferret bytes | smaller |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut all_events, mut all_secs, mut all_in, mut all_out) = (0u64, 0f64, 0u64, 0u64);
    for line in inv.lines().skip(1) {
        let Some(rel) = line.split('\t').next() else {
            continue;
        };
        let path = corpus.join(rel);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let mut times = Vec::new();
        let mut result = None;
        for _ in 0..runs {
            let t = Instant::now();
            let Ok(scap) = scap::ScapFile::open(&path) else {
                break;
            };
            let Ok((bytes, _, rep)) = scap::import::convert(&scap, rel, Vec::new(), rel) else {
                break;
            };
            times.push(t.elapsed().as_secs_f64());
            result = Some((bytes.len() as u64, rep));
        }
        let Some((out, rep)) = result else {
            println!("| {rel} | unreadable | | | {size} | | |");
            continue;
        };
        times.sort_by(f64::total_cmp);
        let secs = times[times.len() / 2];
        all_events += rep.scap_events;
        all_secs += secs;
        all_in += size;
        all_out += out;
        println!(
            "| {rel} | {} | {} | {:.2} | {size} | {out} | {:.1}x |",
            rep.scap_events,
            rep.written,
            rep.scap_events as f64 / secs / 1e6,
            size as f64 / out.max(1) as f64
        );
    }
    println!(
        "| all | {all_events} | | {:.2} | {all_in} | {all_out} | {:.1}x |",
        all_events as f64 / all_secs.max(1e-9) / 1e6,
        all_in as f64 / all_out.max(1) as f64
    );
}
