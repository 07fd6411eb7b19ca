//! The block reader on every real trace of ../shared/corpus/scap: the version
//! and the number of event blocks agree with the corpus inventory, metadata
//! is found, and cut files never panic and keep what came before the cut.

use std::path::{Path, PathBuf};

use scap::ScapFile;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/scap");
    if ferret_tests::skip_unless(p.join("INVENTORY.tsv").exists(), "../shared/corpus/scap") {
        return None;
    }
    Some(p)
}

#[test]
fn every_trace_reads_with_the_inventorys_event_block_count() {
    let Some(c) = corpus() else { return };
    let inv = std::fs::read_to_string(c.join("INVENTORY.tsv")).expect("inventory");
    let mut n = 0;
    for line in inv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (path, ver, blocks) = (f[0], f[3], f[4].parse::<u64>().expect("ev_blocks"));
        let s = ScapFile::open(&c.join(path)).expect("read");
        assert!(s.problems.is_empty(), "{path}: {:?}", s.problems);
        assert_eq!(format!("{}.{}", s.version.0, s.version.1), ver, "{path}");
        assert_eq!(s.events.len() as u64, blocks, "{path}: event blocks");
        assert!(s.machine.is_some(), "{path}: machine info");
        assert!(!s.processes.is_empty(), "{path}: process list");
        n += 1;
    }
    assert!(n >= 22, "{n} traces");
}

#[test]
fn metadata_of_a_known_trace() {
    let Some(c) = corpus() else { return };
    let s = ScapFile::open(&c.join("falco/cat_write.scap")).expect("read");
    let cat = s.processes.iter().any(|p| p.comm == "bash");
    assert!(cat, "a bash in the process list");
    assert!(s
        .accounts
        .iter()
        .any(|a| matches!(a, scap::ScapAccount::User { uid: 0, name, .. } if name == "root")));
    assert!(
        s.events.iter().all(|e| e.ts > 1_400_000_000_000_000_000),
        "Unix ns timestamps"
    );
}

#[test]
fn cut_traces_keep_every_block_before_the_cut() {
    let Some(c) = corpus() else { return };
    let (data, problem) =
        scap::decompress(std::fs::read(c.join("falco/connect_localhost.scap")).expect("read"));
    assert!(problem.is_none());
    let full = ScapFile::parse(&data);
    for cut in (0..data.len()).step_by(97) {
        let s = ScapFile::parse(&data[..cut]);
        assert!(s.events.len() <= full.events.len());
        assert_eq!(
            &full.events[..s.events.len()],
            &s.events[..],
            "cut at {cut}"
        );
    }
    // A cut inside a block is reported with the block's offset. (A cut on a
    // block boundary cannot be told from a complete file: scap has no end
    // marker.)
    let last = full.events.last().expect("events").offset as usize;
    let s = ScapFile::parse(&data[..last + 10]);
    assert_eq!(s.events.len(), full.events.len() - 1);
    assert_eq!(s.problems[0].offset, last as u64);
    assert!(
        s.problems[0].reason.contains("cut capture"),
        "{:?}",
        s.problems
    );
    let mut x: u64 = 1;
    for _ in 0..300 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut bad = data.clone();
        let at = (x >> 33) as usize % bad.len();
        bad[at] ^= 0x5a;
        let _ = ScapFile::parse(&bad);
    }
}

#[test]
fn a_cut_gzip_capture_reports_the_cut_and_keeps_the_events_before_it() {
    let Some(c) = corpus() else { return };
    let raw = std::fs::read(c.join("falco/cat_write.scap")).expect("read");
    assert!(raw.starts_with(&[0x1f, 0x8b]), "cat_write.scap is gzip");
    let dir = ferret_tests::scratch("scap-cut");
    std::fs::create_dir_all(&dir).expect("dir");
    let cut = dir.join("cut.scap");
    std::fs::write(&cut, &raw[..raw.len() * 9 / 10]).expect("write");
    let full = ScapFile::open(&c.join("falco/cat_write.scap")).expect("open");
    let half = ScapFile::open(&cut).expect("open");
    assert!(
        half.problems[0].reason.contains("gzip"),
        "{:?}",
        half.problems
    );
    assert!(!half.events.is_empty() && half.events.len() < full.events.len());
    assert_eq!(&full.events[..half.events.len()], &half.events[..]);
}

/// The event table agrees with the one generated from falcosecurity/libs
/// (corpus/scap-format/event_table.tsv): name, direction, parameter names
/// and types, for every code it holds; and it holds every code the corpus
/// traces use.
#[test]
fn event_table_agrees_with_libs() {
    let Some(c) = corpus() else { return };
    let tsv = std::fs::read_to_string(c.join("../scap-format/event_table.tsv")).expect("tsv");
    let mut rows = std::collections::HashMap::new();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        rows.insert(f[0].parse::<u16>().expect("code"), f);
    }
    for e in scap::table::EVENTS {
        let f = rows
            .get(&e.code)
            .unwrap_or_else(|| panic!("code {}", e.code));
        assert_eq!(e.name, f[3], "name of {}", e.code);
        assert_eq!(
            if e.is_enter() { "E" } else { "X" },
            f[2],
            "direction of {}",
            e.code
        );
        let want: Vec<String> = f
            .get(7)
            .map(|p| {
                p.split(", ")
                    .filter(|x| !x.is_empty())
                    .map(|x| x.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let got: Vec<String> = e
            .params
            .iter()
            .map(|(n, t)| {
                // The variant names spell the PT_ names in camel case.
                format!("{n}:PT_{}", format!("{t:?}").to_uppercase())
            })
            .collect();
        assert_eq!(got, want, "parameters of {} ({})", e.code, e.name);
    }
    let mut seen = std::collections::BTreeSet::new();
    let inv = std::fs::read_to_string(c.join("INVENTORY.tsv")).expect("inventory");
    for line in inv.lines().skip(1) {
        let path = line.split('\t').next().expect("path");
        let s = ScapFile::open(&c.join(path)).expect("read");
        seen.extend(s.events.iter().map(|e| e.code));
    }
    let missing: Vec<u16> = seen
        .into_iter()
        .filter(|c| scap::table::event_info(*c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "codes in the corpus without a table entry: {missing:?}"
    );
}
