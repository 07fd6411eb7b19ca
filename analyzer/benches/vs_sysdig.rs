//! Whole-process time of `analyzer run` against sysdig 0.29 on
//! `bencer/k8s_node_capture.scap` (146,038 events) with the same rules: the
//! enabled rules of Falco's legacy v1.0.1 file that sysdig can parse. sysdig
//! cannot run a rule file, so it evaluates the `or` of their expanded
//! conditions in one pass (the most favourable form for it: one filter, no
//! per-rule output); Ferret runs the file itself (the other rules disabled),
//! reading and converting the .scap as part of the run. The median of 5 runs
//! of each, and the ratio.
//!
//! `cargo bench -p analyzer --bench vs_sysdig`; needs sysdig and
//! ../shared/corpus.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use ruleset::{load_rules, Selection};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(mut cmd: Command, runs: usize) -> (f64, bool) {
    let mut times = Vec::new();
    let mut ok = true;
    for _ in 0..runs {
        let t = Instant::now();
        let st = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run");
        times.push(t.elapsed().as_secs_f64());
        // analyzer run exits 1 when an alert reaches --fail-on.
        ok &= matches!(st.code(), Some(0 | 1));
    }
    (median(times), ok)
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let trace = corpus.join("scap/bencer/k8s_node_capture.scap");
    let legacy = corpus.join("falco-rules/legacy_falco_rules_v1.0.1.yaml");
    let small = corpus.join("scap/falco/test_ipv6_client.scap");
    if !trace.exists() || !legacy.exists() {
        eprintln!("vs_sysdig benchmark skipped: ../shared/corpus is missing");
        return;
    }
    if Command::new("sysdig").arg("--version").output().is_err() {
        eprintln!("vs_sysdig benchmark skipped: no sysdig");
        return;
    }
    let small = if small.exists() { small } else { trace.clone() };
    let set = load_rules(std::slice::from_ref(&legacy), &Selection::default());
    let (mut parsed, mut refused) = (Vec::new(), Vec::new());
    for r in set.enabled() {
        let cond = r.program.to_string();
        let ok = Command::new("sysdig")
            .arg("-r")
            .arg(&small)
            .arg(&cond)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            parsed.push((r.name.clone(), cond));
        } else {
            refused.push(r.name.clone());
        }
    }
    println!(
        "legacy rules: {} enabled, {} parsed by sysdig 0.29 (the rest disabled on both sides)",
        parsed.len() + refused.len(),
        parsed.len()
    );
    let filter = parsed
        .iter()
        .map(|(_, c)| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" or ");
    let runs = 5;
    let mut sysdig = Command::new("sysdig");
    sysdig
        .arg("-r")
        .arg(&trace)
        .args(["-p", "%evt.num"])
        .arg(&filter);
    let (t_sysdig, ok) = time(sysdig, runs);
    assert!(ok, "sysdig failed on the combined filter");
    let analyzer = PathBuf::from(env!("CARGO_BIN_EXE_analyzer"));
    for threads in ["0", "1"] {
        let mut cmd = Command::new(&analyzer);
        cmd.args([
            "run",
            "-q",
            "--threads",
            threads,
            "--fail-on",
            "emergency",
            "-r",
        ])
        .arg(&legacy);
        for name in &refused {
            cmd.arg("--disable").arg(name);
        }
        cmd.arg(&trace);
        let (t, ok) = time(cmd, runs);
        assert!(ok, "analyzer run failed");
        println!(
            "threads {}: analyzer {:.3} s, sysdig {:.3} s: {:.1}x faster",
            if threads == "0" { "all" } else { threads },
            t,
            t_sysdig,
            t_sysdig / t
        );
    }
}
