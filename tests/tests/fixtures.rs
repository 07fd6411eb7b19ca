//! Compatibility: every committed fixture of every released format version
//! still opens, verifies and yields the facts recorded when it was made.

use capture::kind::id;
use capture::{verify, ArgValue, Capture, IndexSource};
use ferret_tests::fixture;

#[test]
fn v1_synthetic_fixture_opens_verifies_and_holds_its_known_facts() {
    let cap = Capture::open(fixture("v1/synthetic-20k.cap")).expect("fixture opens");
    assert!(cap.problems().is_empty(), "{:?}", cap.problems());
    assert_eq!(cap.index_source(), IndexSource::Trailer);
    assert_eq!(cap.header().format_version, 1);
    assert_eq!(cap.header().schema_version, 1);

    let meta = cap.meta().expect("meta");
    assert_eq!(meta.hostname, "synth-web-01");
    assert_eq!(meta.kernel_release, "6.18.0-synthetic");
    assert_eq!(meta.source, "synthetic");
    assert_eq!(meta.boot_time_unix_ns, 1_790_000_000_000_000_000);

    let rep = verify(&cap);
    assert!(rep.intact(), "{:?}", rep.problems);
    assert_eq!(
        rep.chain_head_hex().as_deref(),
        Some("272e74c6366e73a76815fd3384af07ae7cc2d4770bdcf7f974975f6de1c7b1f1")
    );
    assert_eq!(cap.chunks().len(), 5);
    assert_eq!(cap.event_count(), 20_000);

    let snap = cap.snapshot().expect("snapshot").expect("present");
    assert_eq!(snap.processes.len(), 12);
    assert!(snap
        .users
        .iter()
        .any(|u| u.uid == 33 && u.name == "www-data"));

    let mut counts = std::collections::HashMap::new();
    let mut lost = 0;
    let mut first_exec = None;
    let errors = cap.for_each_event(|e| {
        *counts.entry(e.kind).or_insert(0u32) += 1;
        if e.kind == id::LOSS {
            if let Some(ArgValue::Uint(n)) = e.arg("count") {
                lost += n;
            }
        }
        if e.kind == id::EXECVE && first_exec.is_none() {
            let args: Vec<String> = match e.arg("args") {
                Some(ArgValue::StrList(l)) => l
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
                _ => Vec::new(),
            };
            let filename = e
                .arg("filename")
                .and_then(|v| v.as_bytes())
                .map(|b| b.to_vec());
            first_exec = Some((e.seq, e.pid, filename, args));
        }
    });
    assert!(errors.is_empty());
    assert_eq!(counts[&id::CLOSE], 3678);
    assert_eq!(counts[&id::OPENAT], 2361);
    assert_eq!(counts[&id::EXECVE], 180);
    assert_eq!(counts[&id::LOSS], 3);
    assert_eq!(lost, 1262);
    let (seq, pid, filename, args) = first_exec.expect("an execve");
    assert_eq!(seq, 100);
    assert_eq!(pid, 2000);
    assert_eq!(filename.as_deref(), Some(&b"/usr/bin/id"[..]));
    assert_eq!(args, ["id"]);
}

#[test]
fn v1_recorded_scenarios_fixture_holds_the_suite() {
    let cap = Capture::open(fixture("v1/scenarios.cap")).expect("fixture opens");
    let rep = verify(&cap);
    assert!(rep.intact(), "{:?}", rep.problems);
    assert_eq!(
        rep.chain_head_hex().as_deref(),
        Some("5968cead72ee36b80f7b8c9989032c6112c690b66f8cf77d7eed9ca37747098f")
    );
    let meta = cap.meta().expect("meta");
    assert_eq!(meta.source, "ferret-recorder");
    assert_eq!(meta.snaplen, 80);
    assert!(meta.filters[0].starts_with("pid="));
    assert_eq!(cap.event_count(), 25_214);
    let snap = cap.snapshot().expect("snapshot").expect("present");
    assert!(snap.processes.iter().any(|p| p.pid == 1));

    let mut shadow_cat = false;
    let mut shadow_open = false;
    let mut stratum = false;
    let mut memfd = false;
    let mut lost = 0;
    let errors = cap.for_each_event(|e| {
        let args = |name| match e.arg(name) {
            Some(ArgValue::StrList(l)) => l
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        match e.kind {
            id::EXECVE if args("args") == ["cat", "/etc/shadow"] => shadow_cat = e.ret == 0,
            id::EXECVE if args("args").iter().any(|a| a.starts_with("stratum+tcp://")) => {
                stratum = true
            }
            id::OPENAT if e.arg("name") == Some(ArgValue::Str(b"/etc/shadow")) && e.ret >= 0 => {
                shadow_open = true
            }
            id::MEMFD_CREATE if e.arg("name") == Some(ArgValue::Str(b"payload")) => memfd = true,
            id::LOSS => lost += 1,
            _ => {}
        }
    });
    assert!(errors.is_empty());
    assert!(shadow_cat && shadow_open && stratum && memfd);
    assert_eq!(lost, 0);
}

#[test]
fn v1_recorded_scenarios_fixture_has_kernel_lineage_before_every_child_event() {
    let cap = Capture::open(fixture("v1/scenarios.cap")).expect("fixture opens");
    // Process ids: the fork record's sequence number, then the first event's.
    let mut forked: std::collections::HashMap<i64, u64> = Default::default();
    let mut first: std::collections::HashMap<u32, u64> = Default::default();
    let (mut forks, mut execs, mut with_facts) = (0, 0, 0);
    let errors = cap.for_each_event(|e| {
        first.entry(e.pid).or_insert(e.seq);
        match e.kind {
            id::PROC_FORK => {
                forks += 1;
                let thread = e
                    .arg("task_flags")
                    .and_then(|v| v.as_u64())
                    .is_some_and(|f| f & capture::kind::task_flags::THREAD != 0);
                if e.arg("ppid").and_then(|v| v.as_i64()).is_some() {
                    with_facts += 1;
                }
                if !thread {
                    if let Some(c) = e.arg("child_pid").and_then(|v| v.as_i64()) {
                        forked.entry(c).or_insert(e.seq);
                    }
                }
            }
            id::PROC_EXEC => {
                execs += 1;
                for a in ["cwd", "exepath", "sid", "vpid", "task_flags", "cgroup"] {
                    assert!(e.arg(a).is_some(), "procexec #{} has no {a}", e.seq);
                }
                if e.arg("ppid").and_then(|v| v.as_i64()).is_some() {
                    with_facts += 1;
                }
            }
            _ => {}
        }
    });
    assert!(errors.is_empty());
    assert!(forks > 50 && execs > 50, "{forks} forks, {execs} execs");
    assert_eq!(with_facts, forks + execs);
    // Every process forked during the capture is in it before its first event.
    for (child, seq) in &forked {
        if let Some(f) = first.get(&(*child as u32)) {
            assert!(
                seq < f,
                "process {child}: event #{f} before its fork #{seq}"
            );
        }
    }
}
