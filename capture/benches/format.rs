//! Capture format benchmark: write throughput on one core, read-and-iterate
//! throughput on all cores, bytes per event, for the synthetic event mix.
//!
//! `cargo bench -p capture` (10M events); `FERRET_BENCH_EVENTS=N` to change.
//! The input is generated at run time; nothing large is committed.

use std::time::Instant;

use capture::synth::{self, SynthConfig};
use capture::{Bytes, Capture, CaptureWriterBuilder, EventHeader};
use rayon::prelude::*;

fn main() {
    let n: u64 = std::env::var("FERRET_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let level: i32 = std::env::var("FERRET_BENCH_ZSTD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cfg = SynthConfig {
        events: n,
        ..SynthConfig::default()
    };
    let meta = synth::synth_meta(&cfg);

    // 1. Generate the workload (not timed as writer throughput).
    let t = Instant::now();
    let mut w = CaptureWriterBuilder::new()
        .zstd_level(level)
        .build(Vec::new(), "bench", &meta, None)
        .expect("writer");
    synth::generate(&cfg, &mut w).expect("generate");
    let (gen_bytes, _) = w.finish(0).expect("finish");
    eprintln!("generated {n} events in {:.2}s", t.elapsed().as_secs_f64());

    // 2. Pre-decode into plain rows so the timed loop measures only the writer.
    let cap = Capture::from_bytes(Bytes::Owned(gen_bytes), "bench").expect("open");
    let mut rows: Vec<(EventHeader, u32, u32)> = Vec::with_capacity(n as usize);
    let mut arena: Vec<u8> = Vec::new();
    cap.for_each_event(|e| {
        let start = arena.len() as u32;
        arena.extend_from_slice(e.args);
        rows.push((e.header(), start, arena.len() as u32 - start));
    });
    drop(cap);

    // 3. Write throughput, one core.
    let t = Instant::now();
    let mut w = CaptureWriterBuilder::new()
        .zstd_level(level)
        .build(Vec::with_capacity(n as usize * 8), "bench", &meta, None)
        .expect("writer");
    for (h, s, l) in &rows {
        w.push_encoded(h, &arena[*s as usize..(*s + *l) as usize])
            .expect("push");
    }
    let (bytes, sum) = w.finish(0).expect("finish");
    let write_s = t.elapsed().as_secs_f64();
    drop(rows);
    drop(arena);

    // 4. Read and iterate on every core: load, validate, touch every field.
    let cap = Capture::from_bytes(Bytes::Owned(bytes), "bench").expect("open");
    let threads = rayon::current_num_threads();
    let mut best = f64::MAX;
    let mut checksum = 0u64;
    for _ in 0..3 {
        let t = Instant::now();
        checksum = (0..cap.chunks().len())
            .into_par_iter()
            .map(|i| {
                let c = cap.load_chunk(i).expect("chunk");
                c.events().fold(0u64, |acc, e| {
                    acc.wrapping_add(
                        e.ts ^ u64::from(e.tid)
                            ^ e.ret as u64
                            ^ u64::from(e.kind)
                            ^ e.args.len() as u64,
                    )
                })
            })
            .reduce(|| 0, u64::wrapping_add);
        best = best.min(t.elapsed().as_secs_f64());
    }

    let file = cap.bytes().len() as f64;
    let raw = sum.stats.raw_bytes as f64;
    println!("events                 {n}");
    println!("zstd level             {level}");
    println!("chunks                 {}", sum.stats.chunks);
    println!(
        "write (1 core)         {:.2} M events/s",
        n as f64 / write_s / 1e6
    );
    println!(
        "read+iterate ({threads} thr)   {:.2} M events/s",
        n as f64 / best / 1e6
    );
    println!("bytes/event on disk    {:.2}", file / n as f64);
    println!("bytes/event raw (rkyv) {:.2}", raw / n as f64);
    println!("compression ratio      {:.2}", raw / file);
    println!("checksum               {checksum:x}");
}
