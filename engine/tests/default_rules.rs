//! Ferret's default rules (rules/) on real and synthetic captures: every rule
//! fires on its scenario in the committed recording of the scenario suite and
//! nowhere else; container rules fire on a capture of a containerised shell;
//! the benign synthetic workload raises nothing but its curl health checks;
//! upstream falco_rules.yaml runs over the captures; and the parallel result
//! equals the single-threaded one on a 1M-event capture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use capture::args::ArgValue;
use capture::kind::id;
use capture::schema::{CaptureMeta, ProcessInfo, Snapshot, UserInfo};
use capture::{Bytes, Capture, CaptureWriterBuilder, EventHeader};
use engine::run::{run, Alert, Matching, RunOptions};
use ruleset::{load_rules, CompiledRule, Selection};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn default_rules() -> Vec<CompiledRule> {
    let set = load_rules(&[root().join("rules")], &Selection::default());
    assert_eq!(set.errors(), 0, "{:#?}", set.diagnostics);
    set.enabled().cloned().collect()
}

fn opts(threads: usize) -> RunOptions {
    RunOptions {
        matching: Matching::All,
        threads,
        ..Default::default()
    }
}

/// Scenario name by event number, from the suite's begin markers.
fn scenario_of(cap: &Capture) -> Vec<(u64, String)> {
    let mut marks = Vec::new();
    cap.for_each_event(|e| {
        if e.kind == id::EXECVE {
            if let Some(ArgValue::StrList(l)) = e.arg("args") {
                let a: Vec<String> = l
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                if a.get(1).map(String::as_str) == Some("ferret-scenario-begin") {
                    marks.push((e.seq + 1, a[2].clone()));
                }
            }
        }
    });
    marks
}

fn which(marks: &[(u64, String)], evt_num: u64) -> String {
    marks
        .iter()
        .rev()
        .find(|(n, _)| *n <= evt_num)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| "before".into())
}

#[test]
fn every_default_rule_fires_on_its_scenario_and_nowhere_else() {
    let cap = Capture::open(root().join("fixtures/captures/v1/scenarios.cap")).expect("fixture");
    let rules = default_rules();
    let res = run(&cap, &rules, &opts(0));
    let marks = scenario_of(&cap);
    assert_eq!(marks.len(), 16, "all scenarios marked");
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &res.alerts {
        fired
            .entry(a.rule.clone())
            .or_default()
            .insert(which(&marks, a.evt_num));
    }
    // rule -> (scenario it must fire in, other scenarios where it may also fire)
    let expect: &[(&str, &str, &[&str])] = &[
        ("Terminal shell spawned", "01-terminal-shell", &[]),
        ("Sensitive file read", "02-read-shadow", &[]),
        ("Write below etc", "03-write-below-etc", &[]),
        ("Write below binary dir", "04-write-below-usr-bin", &[]),
        (
            "Package management process launched",
            "05-package-manager",
            &[],
        ),
        ("Download tool launched", "06-download-tool", &[]),
        (
            "Reverse shell via redirected socket",
            "07-reverse-shell-dev-tcp",
            &[],
        ),
        (
            "Netcat with program execution",
            "08-reverse-shell-nc-e",
            &[],
        ),
        ("Crypto miner launched", "09-crypto-miner", &[]),
        (
            "Service account token read",
            "10-service-account-token",
            &[],
        ),
        ("Setuid or setgid bit set", "11-setuid-binary", &[]),
        (
            "Setuid program run by another user",
            "11-setuid-binary",
            &[],
        ),
        ("Namespace change", "12-unshare", &[]),
        ("Kernel module load", "13-module-load", &[]),
        ("Symlink to sensitive file", "14-symlink-sensitive", &[]),
        // chmod u+s on the copied binary and chmod o+rx on the work directory
        // also set execute bits below /tmp.
        (
            "Dropped file made executable",
            "15-chmod-dropped",
            &["11-setuid-binary"],
        ),
        ("Fileless execution from memfd", "16-memfd-exec", &[]),
    ];
    for (rule, must, also) in expect {
        let got = fired.remove(*rule).unwrap_or_default();
        assert!(
            got.contains(*must),
            "{rule} did not fire in {must} (fired in {got:?})"
        );
        for s in &got {
            assert!(
                s == must || also.contains(&s.as_str()),
                "{rule} also fired in {s}"
            );
        }
    }
    assert!(fired.is_empty(), "unexpected rules fired: {fired:?}");
    // The specific detections carry the right details.
    let by = |r: &str| {
        res.alerts
            .iter()
            .filter(|a| a.rule == r)
            .collect::<Vec<&Alert>>()
    };
    assert!(by("Sensitive file read")[0]
        .output
        .contains("file=/etc/shadow process=cat"));
    assert!(by("Crypto miner launched")[0]
        .output
        .contains("stratum+tcp://127.0.0.1:3333"));
    assert!(by("Reverse shell via redirected socket")[0]
        .output
        .contains("->127.0.0.1:"));
    assert!(by("Fileless execution from memfd")[0]
        .output
        .contains("exe=memfd:payload"));
    assert!(by("Namespace change")[0]
        .output
        .contains("CLONE_NEWUSER|CLONE_NEWNET"));
}

#[test]
fn benign_synthetic_workload_only_raises_its_curl_health_checks() {
    let cap =
        Capture::open(root().join("fixtures/captures/v1/synthetic-20k.cap")).expect("fixture");
    let res = run(&cap, &default_rules(), &opts(0));
    let rules: BTreeSet<&str> = res.alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(rules, ["Download tool launched"].into_iter().collect());
    assert!(res
        .alerts
        .iter()
        .all(|a| a.output.contains("curl -s http://127.0.0.1:8080/health")));
    assert_eq!(
        res.gaps.len(),
        3,
        "the synthetic capture's loss records are gaps"
    );
}

/// A small capture of a containerised process tree: runc starts bash in a
/// docker cgroup, which runs apt-get.
fn container_capture() -> Vec<u8> {
    let cid = "3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
    let cgroup = format!("/system.slice/docker-{cid}.scope");
    let snap = Snapshot {
        processes: vec![ProcessInfo {
            pid: 100,
            ppid: 1,
            comm: "runc".into(),
            exe: "/usr/bin/runc".into(),
            args: vec!["runc".into(), "init".into()],
            cwd: "/".into(),
            cgroup: cgroup.clone(),
            container_id: cid[..12].into(),
            loginuid: u32::MAX,
            ..ProcessInfo::default()
        }],
        users: vec![UserInfo {
            uid: 0,
            gid: 0,
            name: "root".into(),
            home: "/root".into(),
            shell: "/bin/bash".into(),
        }],
        groups: Vec::new(),
    };
    let meta = CaptureMeta {
        hostname: "node-1".into(),
        ..CaptureMeta::default()
    };
    let mut w = CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &meta, Some(&snap))
        .expect("writer");
    let exec =
        |w: &mut capture::CaptureWriter<Vec<u8>>, ts, pid: u32, file: &str, argv: &[&str]| {
            let h = EventHeader {
                ts,
                pid,
                tid: pid,
                kind: id::EXECVE,
                ..EventHeader::default()
            };
            w.push(&h, |a| {
                a.str(file)
                    .str_list(argv.iter())
                    .str_list(Vec::<&str>::new());
            })
            .expect("push");
        };
    let fork = |w: &mut capture::CaptureWriter<Vec<u8>>, ts, parent: u32, child: u32| {
        let h = EventHeader {
            ts,
            pid: parent,
            tid: parent,
            kind: id::PROC_FORK,
            ..EventHeader::default()
        };
        w.push(&h, |a| {
            a.int(i64::from(child)).int(i64::from(child)).uint(0x11);
        })
        .expect("push");
    };
    fork(&mut w, 10, 100, 101);
    exec(&mut w, 20, 101, "/bin/bash", &["bash"]);
    fork(&mut w, 30, 101, 102);
    exec(
        &mut w,
        40,
        102,
        "/usr/bin/apt-get",
        &["apt-get", "install", "-y", "nmap"],
    );
    w.finish(0).expect("finish").0
}

#[test]
fn container_rules_fire_inside_containers_only() {
    let cap =
        Capture::from_bytes(Bytes::Owned(container_capture()), "container.cap").expect("open");
    let res = run(&cap, &default_rules(), &opts(1));
    let got: Vec<(&str, u64)> = res
        .alerts
        .iter()
        .map(|a| (a.rule.as_str(), a.evt_num))
        .collect();
    assert!(
        got.contains(&("Shell spawned in a container", 2)),
        "{got:?}"
    );
    assert!(
        got.contains(&("Package management in a container", 4)),
        "{got:?}"
    );
    assert!(
        got.contains(&("Package management process launched", 4)),
        "{got:?}"
    );
    let shell = res
        .alerts
        .iter()
        .find(|a| a.rule == "Shell spawned in a container")
        .expect("alert");
    assert!(
        shell.output.contains("container=3f1a2b4c5d6e"),
        "{}",
        shell.output
    );
    assert!(shell.output.contains("parent=runc"), "{}", shell.output);
}

#[test]
fn first_match_mode_reports_one_alert_per_event() {
    let cap =
        Capture::from_bytes(Bytes::Owned(container_capture()), "container.cap").expect("open");
    let rules = default_rules();
    let all = run(&cap, &rules, &opts(1));
    let first = run(
        &cap,
        &rules,
        &RunOptions {
            matching: Matching::First,
            threads: 1,
            ..Default::default()
        },
    );
    let events: BTreeSet<u64> = all.alerts.iter().map(|a| a.evt_num).collect();
    assert_eq!(first.alerts.len(), events.len());
    assert!(all.alerts.len() > first.alerts.len());
    // The first rule in load order wins.
    let order: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    for a in &first.alerts {
        let earliest = all
            .alerts
            .iter()
            .filter(|b| b.evt_num == a.evt_num)
            .map(|b| order.iter().position(|n| *n == b.rule))
            .min();
        assert_eq!(order.iter().position(|n| *n == a.rule), earliest.flatten());
    }
}

fn corpus_rules() -> Option<Vec<CompiledRule>> {
    let f = root().join("../shared/corpus/falco-rules/falco_rules.yaml");
    if ferret_tests::skip_unless(f.exists(), "../shared/corpus (falco_rules.yaml)") {
        return None;
    }
    let set = load_rules(&[f], &Selection::default());
    assert_eq!(set.errors(), 0);
    Some(set.enabled().cloned().collect())
}

#[test]
fn upstream_falco_rules_run_over_the_captures() {
    let Some(rules) = corpus_rules() else { return };
    let cap = Capture::open(root().join("fixtures/captures/v1/scenarios.cap")).expect("fixture");
    let res = run(&cap, &rules, &opts(0));
    assert!(res.chunk_errors.is_empty());
    let names: BTreeSet<&str> = res.alerts.iter().map(|a| a.rule.as_str()).collect();
    for r in [
        "Read sensitive file untrusted",
        "Create Symlink Over Sensitive Files",
        "Fileless execution via memfd_create",
    ] {
        assert!(names.contains(r), "{r} missing from {names:?}");
    }
    let cap =
        Capture::open(root().join("fixtures/captures/v1/synthetic-20k.cap")).expect("fixture");
    let res = run(&cap, &rules, &opts(0));
    assert!(res.chunk_errors.is_empty());
    assert_eq!(res.events, 20_000);
}

fn key(a: &Alert) -> (u64, String, String, bool) {
    (a.evt_num, a.rule.clone(), a.output.clone(), a.in_gap)
}

#[test]
fn parallel_result_equals_sequential_on_a_million_events() {
    let cfg = capture::synth::SynthConfig {
        events: 1_000_000,
        seed: 11,
        ..Default::default()
    };
    let meta = capture::synth::synth_meta(&cfg);
    let mut w = CaptureWriterBuilder::new()
        .chunk_events(20_000)
        .build(
            Vec::new(),
            "mem",
            &meta,
            Some(&capture::synth::synth_snapshot(&cfg)),
        )
        .expect("writer");
    capture::synth::generate(&cfg, &mut w).expect("generate");
    let cap =
        Capture::from_bytes(Bytes::Owned(w.finish(0).expect("finish").0), "1m.cap").expect("open");
    let mut rules = default_rules();
    if let Some(up) = corpus_rules() {
        rules.extend(up);
    }
    let one = run(&cap, &rules, &opts(1));
    let two = run(&cap, &rules, &opts(2));
    let four = run(&cap, &rules, &opts(4));
    assert_eq!(one.events, 1_000_000);
    assert!(!one.alerts.is_empty());
    let k1: Vec<_> = one.alerts.iter().map(key).collect();
    assert_eq!(k1, two.alerts.iter().map(key).collect::<Vec<_>>());
    assert_eq!(k1, four.alerts.iter().map(key).collect::<Vec<_>>());
}

#[test]
fn alerts_inside_a_recorded_gap_are_marked() {
    let meta = CaptureMeta::default();
    let mut w = CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &meta, None)
        .expect("writer");
    let exec = |w: &mut capture::CaptureWriter<Vec<u8>>, ts: u64| {
        let h = EventHeader {
            ts,
            pid: 7,
            tid: 7,
            kind: id::EXECVE,
            ..EventHeader::default()
        };
        w.push(&h, |a| {
            a.str("/usr/bin/curl")
                .str_list(["curl", "http://127.0.0.1/"])
                .str_list(Vec::<&str>::new());
        })
        .expect("push");
    };
    exec(&mut w, 1_000);
    exec(&mut w, 5_000);
    w.push_loss(6_000, 1, 42, 4_000, 5_500).expect("loss");
    let cap =
        Capture::from_bytes(Bytes::Owned(w.finish(0).expect("finish").0), "gap.cap").expect("open");
    let res = run(&cap, &default_rules(), &opts(1));
    let marks: Vec<(u64, bool)> = res.alerts.iter().map(|a| (a.evt_num, a.in_gap)).collect();
    assert_eq!(marks, vec![(1, false), (2, true)]);
}
