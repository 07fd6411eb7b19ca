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

/// The events of a converted capture, flattened: each header (with its
/// sequence number) and its encoded arguments.
fn events_of(cap: &capture::Capture) -> Vec<(u64, capture::EventHeader, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..cap.chunks().len() {
        let ch = cap.load_chunk(i).expect("chunk");
        for e in ch.events() {
            out.push((e.seq, e.header(), e.args.to_vec()));
        }
    }
    out
}

/// Reading a trace as a stream (what `run`, `info` and `import` do) yields
/// what reading it whole yields: the same header, the same events in the
/// same order, and no late blocks, on every corpus trace; and converting
/// the stream (uncompressed, in memory) gives the same capture events,
/// snapshot and report as converting the whole file.
#[test]
fn streaming_reads_and_converts_what_the_whole_file_reader_does() {
    let Some(c) = corpus() else { return };
    let inv = std::fs::read_to_string(c.join("INVENTORY.tsv")).expect("inventory");
    let mut n = 0;
    for line in inv.lines().skip(1) {
        let path = line.split('\t').next().expect("path");
        let file = c.join(path);
        let whole = ScapFile::open(&file).expect("read");
        let mut s = scap::ScapStream::open(&file, &scap::ReadLimits::default()).expect("open");
        assert!(!s.head.events.is_empty(), "{path}: a prelude");
        assert_eq!(s.head.version, whole.version, "{path}");
        assert_eq!(s.head.machine, whole.machine, "{path}");
        assert_eq!(s.head.processes, whole.processes, "{path}");
        assert_eq!(s.head.fds, whole.fds, "{path}");
        assert_eq!(s.head.accounts, whole.accounts, "{path}");
        let mut events = std::mem::take(&mut s.head.events);
        while let Some(e) = s.next_event() {
            events.push(e);
        }
        assert!(s.head.problems.is_empty(), "{path}: {:?}", s.head.problems);
        assert_eq!(s.late_blocks, 0, "{path}");
        assert_eq!(s.head.block_counts, whole.block_counts, "{path}");
        assert!(events == whole.events, "{path}: streamed events differ");

        let streamed = scap::import::open(&file).expect("import");
        let (bytes, _, rep) =
            scap::import::convert(&whole, path, Vec::new(), path).expect("convert");
        let converted =
            capture::Capture::from_bytes(capture::Bytes::Owned(bytes), path).expect("open");
        assert_eq!(
            format!("{:?}", streamed.capture.snapshot().expect("snapshot")),
            format!("{:?}", converted.snapshot().expect("snapshot")),
            "{path}: snapshot"
        );
        assert_eq!(
            streamed.capture.time_range(),
            converted.time_range(),
            "{path}"
        );
        assert!(
            events_of(&streamed.capture) == events_of(&converted),
            "{path}: converted events differ"
        );
        let r = &streamed.report;
        assert_eq!(
            (
                r.scap_events,
                r.written,
                r.merged,
                r.exits_alone,
                r.entries_alone
            ),
            (
                rep.scap_events,
                rep.written,
                rep.merged,
                rep.exits_alone,
                rep.entries_alone
            ),
            "{path}: report"
        );
        assert_eq!(r.entries_dropped, rep.entries_dropped, "{path}");
        assert_eq!(r.internal, rep.internal, "{path}");
        assert_eq!(r.unknown, rep.unknown, "{path}");
        assert!(
            r.origin == rep.origin && r.entry_origin == rep.entry_origin,
            "{path}"
        );
        n += 1;
    }
    assert!(n >= 22, "{n} traces");
}

/// A cut gzip trace read as a stream (the inflating runs on its own
/// thread) keeps every event before the cut and says where the gzip stream
/// broke; the conversion keeps the same events and reports the problem.
#[test]
fn a_cut_gzip_trace_streams_every_event_before_the_cut() {
    let Some(c) = corpus() else { return };
    let raw = std::fs::read(c.join("bencer/k8s_node_capture.scap")).expect("read");
    assert!(raw.starts_with(&[0x1f, 0x8b]), "gzip");
    let dir = ferret_tests::scratch("scap-stream-cut");
    std::fs::create_dir_all(&dir).expect("dir");
    let full = ScapFile::open(&c.join("bencer/k8s_node_capture.scap")).expect("open");
    for frac in [3, 5, 9] {
        let cut = dir.join(format!("cut{frac}.scap"));
        std::fs::write(&cut, &raw[..raw.len() * frac / 10]).expect("write");
        let whole = ScapFile::open(&cut).expect("open");
        let mut s = scap::ScapStream::open(&cut, &scap::ReadLimits::default()).expect("open");
        let mut events = std::mem::take(&mut s.head.events);
        while let Some(e) = s.next_event() {
            events.push(e);
        }
        assert_eq!(s.head.problems.len(), 1, "{:?}", s.head.problems);
        assert!(
            s.head.problems[0].reason.contains("gzip"),
            "{:?}",
            s.head.problems
        );
        assert_eq!(s.head.problems, whole.problems);
        assert!(events.len() > 100 && events.len() < full.events.len());
        assert!(events[..] == full.events[..events.len()]);
        let imp = scap::import::open(&cut).expect("import");
        assert_eq!(imp.problems, whole.problems);
        assert_eq!(imp.report.scap_events, events.len() as u64);
    }
}

/// A process list after the first event is skipped by the stream, as
/// libscap does (it reads the lists once, before the events), and counted.
#[test]
fn a_header_block_after_the_first_event_is_skipped_and_counted() {
    let Some(c) = corpus() else { return };
    let (data, _) = scap::decompress(std::fs::read(c.join("falco/cat_write.scap")).expect("read"));
    // Block boundaries: the process list and the first event block.
    let (mut at, mut pl, mut first_ev) = (0usize, None, None);
    while at + 8 <= data.len() {
        let ty = u32::from_le_bytes(data[at..at + 4].try_into().expect("4"));
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4")) as usize;
        if scap::block::PL.iter().any(|(t, _)| *t == ty) && pl.is_none() {
            pl = Some(at..at + len);
        }
        if scap::block::EV.iter().any(|(t, _, _)| *t == ty) && first_ev.is_none() {
            first_ev = Some(at..at + len);
        }
        at += len;
    }
    let (pl, ev) = (pl.expect("process list"), first_ev.expect("an event"));
    let mut late = data[..ev.end].to_vec();
    late.extend_from_slice(&data[pl.clone()]);
    late.extend_from_slice(&data[ev.end..]);
    let dir = ferret_tests::scratch("scap-late-block");
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("late.scap");
    std::fs::write(&f, &late).expect("write");
    let whole = ScapFile::parse(&data);
    let mut s = scap::ScapStream::open(&f, &scap::ReadLimits::default()).expect("open");
    let mut events = std::mem::take(&mut s.head.events);
    while let Some(e) = s.next_event() {
        events.push(e);
    }
    assert_eq!(s.late_blocks, 1);
    assert!(s.head.problems.is_empty(), "{:?}", s.head.problems);
    assert_eq!(s.head.processes, whole.processes);
    assert_eq!(events.len(), whole.events.len());
    let shifted = pl.len() as u64;
    for (a, b) in events.iter().zip(&whole.events) {
        let off = if a.offset > ev.start as u64 {
            b.offset + shifted
        } else {
            b.offset
        };
        assert_eq!((a.offset, a.ts, a.tid, a.code), (off, b.ts, b.tid, b.code));
        assert_eq!(a.params, b.params);
    }
}
