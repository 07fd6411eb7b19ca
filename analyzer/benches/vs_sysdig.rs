//! Whole-process time of `analyzer run` against sysdig 0.29 on
//! `bencer/k8s_node_capture.scap` (146,038 events) with the same rules: the
//! enabled rules of Falco's legacy v1.0.1 file that sysdig can parse. sysdig
//! cannot run a rule file, so it evaluates the `or` of their expanded
//! conditions in one pass (the most favourable form for it: one filter, no
//! per-rule output); Ferret runs the file itself (the other rules disabled),
//! reading and converting the .scap as part of the run. The median of 11
//! runs of each (a run is 25-40 ms on a VM whose timings vary: five left the
//! median a run's noise away), and the ratio.
//!
//! Then the same on large real data (issue 17): the real-workload recording
//! (`target/bench/workload.cap`, `bench/record.sh`) exported to .scap by
//! `analyzer export --format scap`, with the enabled rules of
//! falco_rules.yaml + incubating + sandbox that sysdig parses; one run
//! each: sysdig on the .scap, `analyzer run` on the same .scap (import
//! included) and on the Ferret capture it came from.
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

/// The enabled rules of `files` whose expanded condition sysdig parses
/// (tried on `probe`), and the names of the others.
fn sysdig_parsable(files: &[PathBuf], probe: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let set = load_rules(files, &Selection::default());
    let (mut parsed, mut refused) = (Vec::new(), Vec::new());
    for r in set.enabled() {
        let cond = r.program.to_string();
        let ok = Command::new("sysdig")
            .arg("-r")
            .arg(probe)
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
    (parsed, refused)
}

fn or_filter(parsed: &[(String, String)]) -> String {
    parsed
        .iter()
        .map(|(_, c)| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `analyzer run` with `files`, the `refused` rules disabled, on `input`.
fn analyzer_run(files: &[PathBuf], refused: &[String], threads: &str, input: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyzer"));
    cmd.args(["run", "-q", "--threads", threads, "--fail-on", "emergency"]);
    for f in files {
        cmd.arg("-r").arg(f);
    }
    for name in refused {
        cmd.arg("--disable").arg(name);
    }
    cmd.arg(input);
    cmd
}

/// The exported real-workload recording against sysdig.
fn real_workload(corpus: &Path, probe: &Path) {
    let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/workload.cap");
    if !cap.exists() {
        eprintln!(
            "real-workload comparison skipped: no target/bench/workload.cap (bench/record.sh)"
        );
        return;
    }
    let r = corpus.join("falco-rules");
    let files = vec![
        r.join("falco_rules.yaml"),
        r.join("falco-incubating_rules.yaml"),
        r.join("falco-sandbox_rules.yaml"),
    ];
    let (parsed, refused) = sysdig_parsable(&files, probe);
    let trace = cap.with_extension("scap");
    let t = Instant::now();
    let st = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["export", "-q", "--force", "--format", "scap"])
        .arg(&cap)
        .arg("-o")
        .arg(&trace)
        .status()
        .expect("export");
    assert!(st.success(), "export failed");
    let export_s = t.elapsed().as_secs_f64();
    let events = capture::Capture::open(&cap).expect("open").event_count();
    let size = std::fs::metadata(&trace).map_or(0, |m| m.len());
    println!(
        "real workload: {events} events exported in {export_s:.2} s ({:.2} M events/s), {size} bytes of .scap ({:.0} bytes/event)",
        events as f64 / export_s / 1e6,
        size as f64 / events as f64
    );
    println!(
        "current rules: {} enabled, {} parsed by sysdig 0.29 (the rest disabled on both sides)",
        parsed.len() + refused.len(),
        parsed.len()
    );
    let mut sysdig = Command::new("sysdig");
    sysdig
        .arg("-r")
        .arg(&trace)
        .args(["-p", "%evt.num"])
        .arg(or_filter(&parsed));
    let (t_sysdig, ok) = time(sysdig, 1);
    assert!(ok, "sysdig failed on the combined filter");
    for (what, input) in [("the .scap", &trace), ("the Ferret capture", &cap)] {
        for threads in ["0", "1"] {
            let (t, ok) = time(analyzer_run(&files, &refused, threads, input), 1);
            assert!(ok, "analyzer run failed");
            println!(
                "real workload, {what}, threads {}: analyzer {t:.3} s, sysdig {t_sysdig:.3} s: {:.1}x faster",
                if threads == "0" { "all" } else { threads },
                t_sysdig / t
            );
        }
    }
    let _ = std::fs::remove_file(&trace);
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
    let legacy_files = vec![legacy.clone()];
    let (parsed, refused) = sysdig_parsable(&legacy_files, &small);
    println!(
        "legacy rules: {} enabled, {} parsed by sysdig 0.29 (the rest disabled on both sides)",
        parsed.len() + refused.len(),
        parsed.len()
    );
    let filter = or_filter(&parsed);
    let runs = 11;
    let mut sysdig = Command::new("sysdig");
    sysdig
        .arg("-r")
        .arg(&trace)
        .args(["-p", "%evt.num"])
        .arg(&filter);
    let (t_sysdig, ok) = time(sysdig, runs);
    assert!(ok, "sysdig failed on the combined filter");
    for threads in ["0", "1"] {
        let cmd = analyzer_run(&legacy_files, &refused, threads, &trace);
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
    real_workload(&corpus, &small);
}
