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
        (
            "proc.name:curl AND NOT evt.type:connect",
            "proc.name = curl and not evt.type = connect",
        ),
        (
            "proc.name:curl OR fd.name:\"/etc/shadow\"",
            "proc.name = curl or fd.name = /etc/shadow",
        ),
        (
            "evt.num:[100 TO 2000] AND evt.type:read",
            "evt.num >= 100 and evt.num <= 2000 and evt.type = read",
        ),
        ("evt.num:{100 TO 2000}", "evt.num > 100 and evt.num < 2000"),
        (
            "proc.aname:bash AND fd.directory:/etc",
            "proc.aname = bash and fd.directory = /etc",
        ),
        ("NOT proc.name:curl", "not proc.name = curl"),
        ("-evt.res:SUCCESS", "not evt.res = SUCCESS"),
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
    // And by priority: events with at least one alert of it.
    let mut by_prio: HashMap<String, std::collections::BTreeSet<u64>> = HashMap::new();
    for a in &res.alerts {
        by_prio
            .entry(a.priority.name().to_string())
            .or_default()
            .insert(a.evt_num);
    }
    assert!(!by_prio.is_empty());
    for (prio, events) in &by_prio {
        assert_eq!(
            count(&ix, &format!("priority:{prio}")),
            events.len(),
            "{prio}"
        );
        let lower = prio.to_lowercase();
        assert_eq!(
            count(&ix, &format!("priority:{lower}")),
            events.len(),
            "{lower}"
        );
    }
    // `rule:*`: the events with any alert.
    let alerted: std::collections::BTreeSet<u64> = res.alerts.iter().map(|a| a.evt_num).collect();
    assert_eq!(count(&ix, "rule:*"), alerted.len());
    assert_eq!(count(&ix, "priority:*"), alerted.len());
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
    // One byte of the event table flipped, its size unchanged: the hash in
    // the manifest tells, and the index is rebuilt.
    let dir = EventIndex::default_dir(&cap);
    let table = dir.join(index::build::EVENTS_FILE);
    let mut bytes = std::fs::read(&table).expect("events.bin");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&table, &bytes).expect("flip");
    let (ix, r) = EventIndex::open_or_build(std::slice::from_ref(&cap), &opts).expect("rebuild");
    let why = r.expect("rebuilt").reason;
    assert!(
        why.contains("damaged") && why.contains("events.bin"),
        "{why}"
    );
    assert_eq!(ix.len(), Capture::open(&cap).expect("open").event_count());
    drop(ix);
    // A damaged segment: every file of the index truncated but the manifest.
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

/// The index of a capture at `cap` with `snap` and one event: a close by
/// `pid`.
fn one_close_by(cap: &Path, snap: &Snapshot, pid: u32) -> EventIndex {
    let mut w = CaptureWriterBuilder::new()
        .create(cap, &CaptureMeta::default(), Some(snap))
        .expect("create");
    w.push(
        &EventHeader {
            ts: 1,
            pid,
            tid: pid,
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
    EventIndex::open_or_build(&[cap.to_path_buf()], &BuildOptions::default())
        .expect("build")
        .0
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
    let ix = one_close_by(&cap, &snap, 42);
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
    assert!(index::query::prepare("evt.time:[2026-11-24T02:00 TO 02:30]").is_ok());
    let e = index::query::prepare("proc.name:curl AND (fd.name:x OR").expect_err("unclosed");
    assert_eq!(e.position, Some(19));
    assert!(e.message.contains("unclosed '('"), "{}", e.message);
    let e = index::query::prepare("proc.name:curl AND OR fd.name:x").expect_err("operator");
    assert_eq!(e.position, Some(19));
    let e = index::query::prepare("proc.name:[a TO b]").expect_err("range of names");
    assert_eq!(e.position, Some(10));
    assert!(
        index::query::prepare("fd.name:\"a:b\" x").is_ok(),
        "colons inside quotes are text"
    );
}

/// Every event of `cap` with the values of `fields` (rendered), by a full
/// replay: the scan the index is checked against.
fn scan_rows(cap: &Path, fields: &[&str]) -> Vec<(u64, u64, Vec<String>)> {
    let c = Capture::open(cap).expect("capture");
    let fmt: Vec<String> = fields.iter().map(|f| format!("%{f}")).collect();
    let (parts, _) =
        compile_format(&Definitions::default(), "t", &fmt.join("\u{1}")).expect("format");
    let anchor = CaptureFacts::of(&c, "").anchor;
    let mut r = Replay::new(
        &c.snapshot().ok().flatten().unwrap_or_default(),
        CaptureFacts::of(&c, ""),
    );
    let mut rows = Vec::new();
    for i in 0..c.chunks().len() {
        let ch = c.load_chunk(i).expect("chunk");
        for e in ch.events() {
            let vals = r.step(&e, |cx| format_output_in(&parts, cx).1);
            rows.push((
                e.seq + 1,
                e.ts + anchor,
                vals.iter().map(|(_, v)| v.render()).collect(),
            ));
        }
    }
    rows
}

#[test]
fn generated_queries_over_many_blocks_and_chunks_agree_with_a_scan() {
    // 50k synthetic events in chunks of 7000: blocks of 4096 that end
    // inside and at the ends of chunks.
    let d = scratch("generated");
    let cap = d.join("synth.cap");
    let cfg = capture::synth::SynthConfig {
        events: 50_000,
        seed: 7,
        ..Default::default()
    };
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(7000)
        .create(
            &cap,
            &capture::synth::synth_meta(&cfg),
            Some(&capture::synth::synth_snapshot(&cfg)),
        )
        .expect("create");
    capture::synth::generate(&cfg, &mut w).expect("generate");
    w.finish(0).expect("finish");
    let (ix, _) = EventIndex::open_or_build(std::slice::from_ref(&cap), &BuildOptions::default())
        .expect("build");
    assert_eq!(ix.len(), 50_000);
    let fields = [
        "proc.name",
        "fd.name",
        "evt.type",
        "fd.directory",
        "proc.pname",
    ];
    let rows = scan_rows(&cap, &fields);
    // Values that occur, most frequent first, per field.
    let common = |k: usize| -> Vec<String> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for r in &rows {
            if r.2[k] != "<NA>" {
                *m.entry(r.2[k].as_str()).or_default() += 1;
            }
        }
        let mut v: Vec<(&str, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter().map(|x| x.0.to_string()).collect()
    };
    let (names, files, types, dirs) = (common(0), common(1), common(2), common(3));
    assert!(names.len() > 3 && files.len() > 3 && types.len() > 3 && dirs.len() > 1);
    let (t0, t1) = (rows[12_345].1, rows[31_000].1);
    // (index query, predicate over a scan row)
    type Check = Box<dyn Fn(&(u64, u64, Vec<String>)) -> bool>;
    let q = |s: &str| format!("\"{s}\"");
    let mut cases: Vec<(String, Check)> = Vec::new();
    for i in 0..3 {
        let (n, f, t, dir) = (
            names[i].clone(),
            files[i * 2].clone(),
            types[i].clone(),
            dirs[i % dirs.len()].clone(),
        );
        let (n2, t2) = (n.clone(), t.clone());
        cases.push((
            format!("proc.name:{} AND evt.type:{}", q(&n), q(&t)),
            Box::new(move |r| r.2[0] == n2 && r.2[2] == t2),
        ));
        let (n2, f2) = (n.clone(), f.clone());
        cases.push((
            format!("proc.name:{} OR NOT fd.name:{}", q(&n), q(&f)),
            Box::new(move |r| r.2[0] == n2 || r.2[1] != f2),
        ));
        let (d2, n2, t2) = (dir.clone(), n.clone(), t.clone());
        cases.push((
            format!(
                "(fd.directory:{} OR proc.pname:{}) AND -evt.type:{}",
                q(&dir),
                q(&n),
                q(&t)
            ),
            Box::new(move |r| (r.2[3] == d2 || r.2[4] == n2) && r.2[2] != t2),
        ));
        let (f2, lo, hi) = (f.clone(), 7000 * i as u64 + 4000, 7000 * i as u64 + 20_000);
        cases.push((
            format!("fd.name:{} AND evt.num:[{lo} TO {hi}}}", q(&f)),
            Box::new(move |r| r.2[1] == f2 && r.0 >= lo && r.0 < hi),
        ));
        let t2 = t.clone();
        cases.push((
            format!("evt.rawtime:[{t0} TO {t1}] AND NOT evt.type:{}", q(&t)),
            Box::new(move |r| r.1 >= t0 && r.1 <= t1 && r.2[2] != t2),
        ));
    }
    for (query, pred) in &cases {
        let want: Vec<&(u64, u64, Vec<String>)> = rows.iter().filter(|r| pred(r)).collect();
        let res = ix
            .search(&SearchRequest {
                query: query.clone(),
                limit: 25,
                facets: vec!["proc.name".into(), "fd.name".into(), "evt.type".into()],
                facet_size: 100_000,
                histogram: Some(std::time::Duration::from_millis(50)),
            })
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(res.total, want.len(), "{query}");
        // The first hits in time order, as the scan orders them.
        let mut by_time: Vec<(u64, u64)> = want.iter().map(|r| (r.1, r.0)).collect();
        by_time.sort_unstable();
        let got: Vec<(u64, u64)> = res.hits.iter().map(|h| (h.time_ns, h.evt_num)).collect();
        assert_eq!(got, by_time[..by_time.len().min(25)], "{query}");
        for (k, (name, values)) in res.facets.iter().enumerate() {
            let mut m: HashMap<String, u64> = HashMap::new();
            for r in &want {
                if r.2[[0, 1, 2][k]] != "<NA>" && !r.2[[0, 1, 2][k]].is_empty() {
                    *m.entry(r.2[[0, 1, 2][k]].clone()).or_default() += 1;
                }
            }
            let got: HashMap<String, u64> = values.iter().cloned().collect();
            assert_eq!(got, m, "{query}: facet {name}");
        }
        let mut h: HashMap<u64, u64> = HashMap::new();
        for r in &want {
            *h.entry(r.1 / 50_000_000 * 50_000_000).or_default() += 1;
        }
        let got: HashMap<u64, u64> = res.histogram.iter().copied().collect();
        assert_eq!(got, h, "{query}: histogram");
    }
}

#[test]
fn every_ancestor_is_searchable_however_deep() {
    // A chain of 20 processes; one event in the deepest.
    let d = scratch("ancestry");
    let cap = d.join("deep.cap");
    let processes: Vec<ProcessInfo> = (0..20u32)
        .map(|i| ProcessInfo {
            pid: 100 + i,
            ppid: if i == 0 { 1 } else { 99 + i },
            comm: format!("level{i}"),
            exe: format!("/usr/bin/level{i}"),
            args: vec![format!("level{i}")],
            cwd: "/".into(),
            ..ProcessInfo::default()
        })
        .collect();
    let snap = Snapshot {
        processes,
        users: Vec::new(),
        groups: Vec::new(),
    };
    let ix = one_close_by(&cap, &snap, 119);
    for a in 0..19 {
        assert_eq!(count(&ix, &format!("proc.aname:level{a}")), 1, "level{a}");
    }
    // Deeper than a rule's proc.aname looks (64 ancestors): the index sees
    // what the rule sees.
    let deep = d.join("deeper.cap");
    let processes: Vec<ProcessInfo> = (0..70u32)
        .map(|i| ProcessInfo {
            pid: 100 + i,
            ppid: if i == 0 { 1 } else { 99 + i },
            comm: format!("level{i}"),
            ..ProcessInfo::default()
        })
        .collect();
    let snap70 = Snapshot {
        processes,
        users: Vec::new(),
        groups: Vec::new(),
    };
    let ix70 = one_close_by(&deep, &snap70, 169);
    for a in [0, 4, 5, 6, 60, 68] {
        assert_eq!(
            count(&ix70, &format!("proc.aname:level{a}")),
            scan_count(&deep, &format!("proc.aname = level{a}")),
            "level{a} of 70"
        );
    }
    assert_eq!(count(&ix70, "proc.aname:level68"), 1);
    assert_eq!(
        count(&ix70, "proc.aname:level0"),
        0,
        "69 levels up: beyond 64"
    );
    assert_eq!(
        count(&ix, "proc.aname:level19"),
        0,
        "the process itself is not its ancestor"
    );
    assert_eq!(count(&ix, "proc.pname:level18 AND proc.name:level19"), 1);
}

/// A capture with a container and its pod: a host shell and an nginx in a
/// Kubernetes pod each open files, one of them missing.
fn container_capture(d: &Path) -> PathBuf {
    let cid = "3ad7b6c1a2e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8";
    let proc_ = |pid: u32, uid: u32, comm: &str, cgroup: &str, container: &str| ProcessInfo {
        pid,
        ppid: 1,
        uid,
        gid: uid,
        euid: uid,
        egid: uid,
        comm: comm.into(),
        exe: format!("/usr/bin/{comm}"),
        args: vec![comm.into(), "-l".into()],
        cwd: "/".into(),
        cgroup: cgroup.into(),
        container_id: container.into(),
        ..ProcessInfo::default()
    };
    let snap = Snapshot {
        processes: vec![
            proc_(1, 0, "systemd", "/init.scope", ""),
            proc_(100, 1000, "bash", "/user.slice", ""),
            proc_(
                200,
                0,
                "nginx",
                &format!("/system.slice/docker-{cid}.scope"),
                &cid[..12],
            ),
        ],
        users: Vec::new(),
        groups: Vec::new(),
    };
    let p = d.join("container.cap");
    let mut w = CaptureWriterBuilder::new()
        .create(&p, &CaptureMeta::default(), Some(&snap))
        .expect("create");
    let h = |ts: u64, pid: u32, kind: u16, ret: i64| EventHeader {
        ts,
        pid,
        tid: pid,
        kind,
        ret,
        ..EventHeader::default()
    };
    let json = format!(
        r#"{{"container":{{"id":"{}","full_id":"{cid}","name":"web","image":"nginx:1.25","type":"docker","privileged":false,"labels":{{"io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"u-1"}}}}}}"#,
        &cid[..12]
    );
    w.push(&h(5, 0, capture::kind::id::CONTAINER, 0), |a| {
        a.str(&cid[..12])
            .str("web")
            .str("nginx:1.25")
            .uint(0)
            .str(&json)
            .uint(1);
    })
    .expect("push");
    for (i, (pid, path, ret)) in [
        (200, "/etc/nginx/nginx.conf", 5),
        (100, "/etc/hosts", 5),
        (200, "/etc/missing", -2),
        (200, "/etc/hosts", 6),
    ]
    .into_iter()
    .enumerate()
    {
        w.push(
            &h(10 + i as u64, pid, capture::kind::id::OPENAT, ret),
            |a| {
                a.int(-100).str(path).uint(0).uint(0);
            },
        )
        .expect("push");
    }
    w.finish(0).expect("finish");
    p
}

#[test]
fn each_field_finds_what_a_scan_finds() {
    let d = scratch("fields");
    let caps = [scenarios("fields"), container_capture(&d)];
    let fields: Vec<&str> = index::schema::FIELDS
        .iter()
        .map(|f| f.name)
        .filter(|n| !matches!(*n, "evt.time" | "rule" | "priority" | "proc.cmdline"))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for cap in &caps {
        let (ix, _) =
            EventIndex::open_or_build(std::slice::from_ref(cap), &BuildOptions::default())
                .expect("build");
        let rows = scan_rows(cap, &fields);
        for (k, field) in fields.iter().enumerate() {
            // Each distinct value, up to 6 per field (the most and least
            // common), against the events whose field renders to it.
            let mut m: HashMap<&str, usize> = HashMap::new();
            for r in &rows {
                if r.2[k] != "<NA>" && !r.2[k].is_empty() {
                    *m.entry(r.2[k].as_str()).or_default() += 1;
                }
            }
            let mut values: Vec<(&str, usize)> = m.into_iter().collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            if values.len() > 6 {
                values.drain(3..values.len() - 3);
            }
            for (v, n) in values {
                let q = format!("{field}:\"{}\"", v.replace('"', "\\\""));
                let q = if matches!(
                    index::schema::kind(field),
                    Some(index::schema::Kind::Int | index::schema::Kind::Num)
                ) {
                    format!("{field}:{v}")
                } else {
                    q
                };
                let want = if *field == "proc.aname" {
                    scan_count(cap, &format!("proc.aname = \"{v}\""))
                } else {
                    n
                };
                assert_eq!(count(&ix, &q), want, "{}: {q}", cap.display());
                *seen.entry(field).or_default() += 1;
            }
        }
    }
    // Every field was checked with at least one value somewhere.
    for f in &fields {
        assert!(seen.get(f).copied().unwrap_or(0) > 0, "{f} never checked");
    }
}

/// `FIELD:*` finds the events whose field has a value, as a scan renders
/// them (not `<NA>`, not empty), for every field; `-FIELD:*` the others.
#[test]
fn field_star_finds_the_events_where_the_field_has_a_value() {
    let d = scratch("exists");
    let caps = [scenarios("exists"), container_capture(&d)];
    let fields: Vec<&str> = index::schema::FIELDS
        .iter()
        .map(|f| f.name)
        .filter(|n| !matches!(*n, "rule" | "priority"))
        .collect();
    for cap in &caps {
        let (ix, _) =
            EventIndex::open_or_build(std::slice::from_ref(cap), &BuildOptions::default())
                .expect("build");
        let rows = scan_rows(cap, &fields);
        let mut partial = 0;
        for (k, field) in fields.iter().enumerate() {
            let has = rows
                .iter()
                .filter(|r| r.2[k] != "<NA>" && !r.2[k].is_empty())
                .count();
            let found = count(&ix, &format!("{field}:*"));
            assert_eq!(found, has, "{}: {field}:*", cap.display());
            let none = count(&ix, &format!("* -{field}:*"));
            assert_eq!(none, rows.len() - has, "{}: -{field}:*", cap.display());
            partial += usize::from(has > 0 && has < rows.len());
        }
        assert!(partial >= 5, "{partial} fields with and without values");
        // Without rules no event has an alert.
        assert_eq!(count(&ix, "rule:*"), 0);
    }
}

#[test]
fn generic_calls_keep_their_own_event_types() {
    // Calls without a kind of their own are generic events named by their
    // number: getpid (39) twice, clock_gettime (228) once.
    let d = scratch("generic");
    let cap = d.join("generic.cap");
    let snap = Snapshot {
        processes: vec![ProcessInfo {
            pid: 7,
            ppid: 1,
            comm: "app".into(),
            ..ProcessInfo::default()
        }],
        users: Vec::new(),
        groups: Vec::new(),
    };
    let mut w = CaptureWriterBuilder::new()
        .create(&cap, &CaptureMeta::default(), Some(&snap))
        .expect("create");
    for (ts, nr) in [(1, 39u64), (2, 228), (3, 39)] {
        w.push(
            &EventHeader {
                ts,
                pid: 7,
                tid: 7,
                kind: capture::kind::id::GENERIC,
                ret: 0,
                ..EventHeader::default()
            },
            |a| {
                a.uint(nr).uint(0).uint(0).uint(0).uint(0).uint(0).uint(0);
            },
        )
        .expect("push");
    }
    w.finish(0).expect("finish");
    let (ix, _) = EventIndex::open_or_build(std::slice::from_ref(&cap), &BuildOptions::default())
        .expect("build");
    assert_eq!(
        count(&ix, "evt.type:getpid"),
        scan_count(&cap, "evt.type = getpid")
    );
    assert_eq!(count(&ix, "evt.type:getpid"), 2);
    assert_eq!(count(&ix, "evt.type:clock_gettime"), 1);
    let r = ix
        .search(&SearchRequest {
            query: "*".into(),
            facets: vec!["evt.type".into()],
            facet_size: 10,
            ..Default::default()
        })
        .expect("facet");
    assert_eq!(
        r.facets[0].1,
        vec![("getpid".to_string(), 2), ("clock_gettime".to_string(), 1)]
    );
}

#[test]
fn a_scap_trace_is_indexed_once_and_known_by_its_bytes() {
    // A .scap is converted anew each time it is read (a new chain head):
    // its index must still open on the second search, and be rebuilt when
    // the trace's bytes change.
    let d = scratch("scap");
    let trace = d.join("process-tree.scap");
    std::fs::copy(ferret_tests::fixture("../scap/process-tree.scap"), &trace).expect("copy");
    let opts = BuildOptions::default();
    let (ix, first) =
        EventIndex::open_or_build(std::slice::from_ref(&trace), &opts).expect("build");
    assert!(first.is_some());
    assert!(!ix.is_empty());
    assert_eq!(count(&ix, "*") as u64, ix.len());
    drop(ix);
    let (_, again) = EventIndex::open_or_build(std::slice::from_ref(&trace), &opts).expect("open");
    assert!(
        again.is_none(),
        "a current index of a .scap opens, not rebuilt"
    );
    let mut bytes = std::fs::read(&trace).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&trace, &bytes).expect("write");
    let (_, changed) =
        EventIndex::open_or_build(std::slice::from_ref(&trace), &opts).expect("rebuild");
    assert!(changed.expect("rebuilt").reason.contains("changed"));
}
