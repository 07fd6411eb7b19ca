//! The index against a full scan by the engine: every query's count is what
//! the equivalent condition matches over every event, facets count what a
//! scan counts, alerts are found by rule name, a stale, damaged or missing
//! index is rebuilt, and a word in the middle of a long command line is
//! found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use capture::schema::{CaptureMeta, ProcessInfo, Snapshot};
use capture::{Capture, CaptureWriterBuilder, EventHeader};
use engine::eval::{format_output_in, matches_in};
use engine::replay::{CaptureFacts, Replay};
use index::{BuildOptions, EventIndex, SearchRequest};
use ruleset::compile::{compile_condition, compile_format};
use ruleset::load::Definitions;
use ruleset::{load_rules, Selection};

fn scratch(name: &str) -> PathBuf {
    let d = ferret_tests::scratch(&format!("index-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch");
    d
}

/// A copy of the recorded scenarios fixture in its own directory.
fn scenarios(name: &str) -> PathBuf {
    let d = scratch(name);
    let p = d.join("scenarios.cap");
    std::fs::copy(ferret_tests::fixture("v1/scenarios.cap"), &p).expect("copy");
    p
}

/// Events of `cap` where `condition` holds, by a full replay.
fn scan_count(cap: &Path, condition: &str) -> usize {
    let cap = Capture::open(cap).expect("capture");
    let (prog, _) = compile_condition(&Definitions::default(), "t", condition).expect("condition");
    let mut r = Replay::new(
        &cap.snapshot().ok().flatten().unwrap_or_default(),
        CaptureFacts::of(&cap, ""),
    );
    let mut n = 0;
    for i in 0..cap.chunks().len() {
        let c = cap.load_chunk(i).expect("chunk");
        for e in c.events() {
            n += usize::from(r.step(&e, |cx| matches_in(&prog, cx)));
        }
    }
    n
}

fn count(ix: &EventIndex, q: &str) -> usize {
    ix.search(&SearchRequest {
        query: q.into(),
        limit: 0,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{q}: {e}"))
    .total
}

#[test]
fn queries_find_what_a_full_scan_finds() {
    let cap = scenarios("queries");
    let rules = load_rules(
        &[ferret_tests::workspace().join("rules")],
        &Selection::default(),
    );
    let opts = BuildOptions {
        rules: rules.enabled().cloned().collect(),
        rule_files: vec!["rules".into()],
        ..Default::default()
    };
    let (ix, report) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("build");
    let report = report.expect("built");
    let events = Capture::open(&cap).expect("open").event_count();
    assert_eq!(report.events, events);
    assert_eq!(ix.len(), events);
    for (q, cond) in [
        ("proc.name:curl", "proc.name = curl"),
        ("fd.name:\"/etc/shadow\"", "fd.name = /etc/shadow"),
        (
            "evt.type:execve AND user.name:root",
            "evt.type = execve and user.name = root",
        ),
        (
            "proc.pname:bash AND evt.type:openat",
            "proc.pname = bash and evt.type = openat",
        ),
        (
            "fd.sport:[1 TO 65535]",
            "fd.sport >= 1 and fd.sport <= 65535",
        ),
        ("evt.res:ENOENT", "evt.res = ENOENT"),
    ] {
        let want = scan_count(&cap, cond);
        assert!(want > 0, "{cond}: the fixture has such events");
        assert_eq!(count(&ix, q), want, "{q} against {cond}");
    }
    // Alerts are found by rule name, as many as the run raised.
    let res = engine::run::run(
        &Capture::open(&cap).expect("open"),
        &opts.rules,
        &Default::default(),
    );
    let shadow = res
        .alerts
        .iter()
        .filter(|a| a.rule == "Sensitive file read")
        .count();
    assert!(shadow > 0);
    assert_eq!(count(&ix, "rule:\"Sensitive file read\""), shadow);
    // Hits come in time order and point at the events themselves.
    let r = ix
        .search(&SearchRequest {
            query: "proc.name:curl AND evt.type:connect".into(),
            limit: 100,
            ..Default::default()
        })
        .expect("search");
    assert!(!r.hits.is_empty());
    assert!(r.hits.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    let c = Capture::open(&cap).expect("open");
    for h in &r.hits {
        let chunk = c.load_chunk(h.chunk).expect("chunk");
        let e = chunk.event(h.pos).expect("event");
        assert_eq!(e.seq + 1, h.evt_num);
        assert_eq!(e.kind_name(), "connect");
    }
}

#[test]
fn facets_and_time_ranges_count_what_a_scan_counts() {
    let cap = scenarios("facets");
    let (ix, _) = EventIndex::open_or_build(std::slice::from_ref(&cap), &BuildOptions::default())
        .expect("build");
    let r = ix
        .search(&SearchRequest {
            query: "evt.type:openat".into(),
            limit: 0,
            facets: vec!["proc.name".into()],
            facet_size: 5,
            histogram: Some(std::time::Duration::from_secs(1)),
        })
        .expect("search");
    // The scan's counts of proc.name over openat events.
    let c = Capture::open(&cap).expect("open");
    let (parts, _) = compile_format(&Definitions::default(), "t", "%proc.name").expect("format");
    let (is_open, _) =
        compile_condition(&Definitions::default(), "t", "evt.type = openat").expect("cond");
    let mut rp = Replay::new(
        &c.snapshot().ok().flatten().unwrap_or_default(),
        CaptureFacts::of(&c, ""),
    );
    let mut by_name: HashMap<String, u64> = HashMap::new();
    let mut times = Vec::new();
    for i in 0..c.chunks().len() {
        let ch = c.load_chunk(i).expect("chunk");
        for e in ch.events() {
            if let Some(name) = rp.step(&e, |cx| {
                matches_in(&is_open, cx).then(|| format_output_in(&parts, cx).0)
            }) {
                *by_name.entry(name).or_default() += 1;
                times.push(e.ts + c.meta().map(|m| m.boot_time_unix_ns).unwrap_or(0));
            }
        }
    }
    let (name, values) = &r.facets[0];
    assert_eq!(name, "proc.name");
    assert_eq!(values.len(), 5);
    for (k, n) in values {
        assert_eq!(Some(n), by_name.get(k), "facet {k}");
    }
    let mut top: Vec<u64> = by_name.values().copied().collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(values.iter().map(|(_, n)| *n).collect::<Vec<_>>(), top[..5]);
    assert_eq!(
        r.histogram.iter().map(|(_, n)| n).sum::<u64>(),
        times.len() as u64
    );
    // A time range: the middle of the openat events, inclusive.
    times.sort_unstable();
    let (a, b) = (times[times.len() / 4], times[times.len() * 3 / 4]);
    let q = format!(
        "evt.type:openat AND evt.time:[{} TO {}]",
        capture::text::rfc3339(a),
        capture::text::rfc3339(b)
    );
    let want = times.iter().filter(|t| **t >= a && **t <= b).count();
    assert_eq!(count(&ix, &q), want, "{q}");
}

#[test]
fn stale_damaged_or_foreign_indexes_are_never_trusted() {
    let cap = scenarios("stale");
    let opts = BuildOptions::default();
    let (_, first) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("build");
    assert!(first.expect("built").reason.contains("no index"));
    let (_, again) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("open");
    assert!(again.is_none(), "a current index is opened, not rebuilt");
    // The capture is replaced by another: rebuilt.
    std::fs::copy(ferret_tests::fixture("v1/synthetic-20k.cap"), &cap).expect("replace");
    let (ix, r) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("rebuild");
    assert!(r.expect("rebuilt").reason.contains("changed"));
    assert_eq!(ix.len(), Capture::open(&cap).expect("open").event_count());
    drop(ix);
    // A damaged segment: every file of the index truncated but the manifest.
    let dir = EventIndex::default_dir(&cap);
    for e in std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok) {
        if e.file_name() != index::build::MANIFEST {
            std::fs::write(e.path(), b"garbage").expect("damage");
        }
    }
    let (ix, r) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("rebuild");
    assert!(
        r.expect("rebuilt").reason.contains("damaged"),
        "rebuilt because damaged"
    );
    assert!(!ix.is_empty());
    // A directory that is not an index is never replaced.
    let foreign = cap.with_file_name("evidence");
    std::fs::create_dir_all(&foreign).expect("dir");
    std::fs::write(foreign.join("notes.txt"), b"keep me").expect("file");
    let err = EventIndex::open_or_build(
        std::slice::from_ref(&cap),
        &BuildOptions {
            dir: Some(foreign.clone()),
            ..Default::default()
        },
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("not a Ferret index"), "{err}");
    assert_eq!(
        std::fs::read(foreign.join("notes.txt")).expect("kept"),
        b"keep me"
    );
}

#[test]
fn a_word_in_the_middle_of_a_long_command_line_is_found() {
    let d = scratch("cmdline");
    let cap = d.join("long.cap");
    let mut args: Vec<String> = vec!["python3".into(), "-c".into()];
    for i in 0..60 {
        args.push(format!("arg{i}"));
    }
    let blob = "QUJD".repeat(50); // a 200-byte word
    args.push(blob.clone());
    args.push("needle_word".into());
    for i in 60..120 {
        args.push(format!("arg{i}"));
    }
    let snap = Snapshot {
        processes: vec![ProcessInfo {
            pid: 42,
            ppid: 1,
            comm: "python3".into(),
            exe: "/usr/bin/python3".into(),
            args,
            cwd: "/".into(),
            ..ProcessInfo::default()
        }],
        users: Vec::new(),
        groups: Vec::new(),
    };
    let mut w = CaptureWriterBuilder::new()
        .create(&cap, &CaptureMeta::default(), Some(&snap))
        .expect("create");
    w.push(
        &EventHeader {
            ts: 1,
            pid: 42,
            tid: 42,
            kind: capture::kind::id::CLOSE,
            ret: 0,
            ..EventHeader::default()
        },
        |a| {
            a.int(3);
        },
    )
    .expect("push");
    w.finish(0).expect("finish");
    let (ix, _) = EventIndex::open_or_build(std::slice::from_ref(&cap), &BuildOptions::default())
        .expect("build");
    assert_eq!(count(&ix, "needle_word"), 1);
    assert_eq!(count(&ix, "proc.cmdline:needle_word"), 1);
    assert_eq!(
        count(&ix, &format!("proc.cmdline:{}", blob.to_lowercase())),
        1,
        "a 200-byte word is kept"
    );
    assert_eq!(count(&ix, "proc.cmdline:arg0 AND proc.cmdline:arg59"), 1);
}

#[test]
fn query_errors_point_at_their_position() {
    let e = index::query::prepare("proc.name:curl AND proc.nmae:x").expect_err("unknown field");
    assert_eq!(e.position, Some(19));
    assert!(e.message.contains("proc.nmae"));
    let e = index::query::prepare("evt.time:[2026-11-24T02:00 TO").expect_err("unclosed");
    assert_eq!(e.position, Some(9));
    assert_eq!(
        index::query::prepare("evt.time:[2026-11-24T02:00 TO 02:30]").expect("shorthand"),
        "evt.time:[2026-11-24T02:00:00Z TO 2026-11-24T02:30:00Z]"
    );
    assert!(
        index::query::prepare("fd.name:\"a:b\" x").is_ok(),
        "colons inside quotes are text"
    );
}
