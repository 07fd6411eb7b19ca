//! Helpers for Ferret's end-to-end tests: where the workspace, fixtures, the
//! shared corpus and the built binaries are, and the rule for tests that need
//! privileges or the corpus (skip locally, fail in CI).

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A committed fixture under `fixtures/captures/`.
pub fn fixture(rel: &str) -> PathBuf {
    workspace().join("fixtures/captures").join(rel)
}

/// A path in the target directory for test outputs, created on demand.
pub fn scratch(name: &str) -> PathBuf {
    let dir = workspace().join("target/test-scratch");
    std::fs::create_dir_all(&dir).expect("create target/test-scratch");
    dir.join(name)
}

/// A fresh, empty directory under `target/test-scratch` (what an earlier
/// run left there is removed first).
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = scratch(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create a scratch directory");
    d
}

/// Ferret's default rules (`rules/`), as a command-line argument.
pub fn default_rules() -> String {
    workspace().join("rules").display().to_string()
}

/// The recorded scenarios fixture, as a command-line argument.
pub fn scenarios() -> String {
    fixture("v1/scenarios.cap").display().to_string()
}

/// Skips a test whose prerequisite `what` is missing, or fails it when
/// `FERRET_REQUIRE_ALL=1` (set by `.ci/run`), so CI never passes by skipping.
/// Returns `true` when the caller should return early.
pub fn skip_unless(ok: bool, what: &str) -> bool {
    if ok {
        return false;
    }
    if std::env::var("FERRET_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("required test prerequisite missing: {what} (FERRET_REQUIRE_ALL=1)");
    }
    eprintln!("skipped: {what}");
    true
}

pub mod recorder;

/// `podman run` with what this kind of host needs: runc (crun refuses
/// hybrid cgroups) and no ulimit above the host's.
pub const PODMAN_RUN: &[&str] = &[
    "run",
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The fields the sysdig differential tests compare (the golden files of
/// `../shared/corpus/scap/golden` and `fixtures/scap` hold these).
pub const SYSDIG_FIELDS: &[&str] = &[
    "evt.rawtime",
    "evt.cpu",
    "evt.dir",
    "evt.type",
    "proc.name",
    "proc.pid",
    "thread.tid",
    "proc.ppid",
    "proc.pname",
    "proc.cmdline",
    "proc.exepath",
    "user.uid",
    "user.name",
    "fd.num",
    "fd.type",
    "fd.name",
    "evt.res",
    "container.id",
];

/// sysdig's `-p` format of [`SYSDIG_FIELDS`] for every event (`*`),
/// after its event number: with `-j`, one JSON object per event.
pub fn sysdig_format() -> String {
    let fields: Vec<String> = SYSDIG_FIELDS.iter().map(|f| format!("%{f}")).collect();
    format!("*%evt.num {}", fields.join(" "))
}

/// A value of sysdig's `-j` output as Ferret prints it (`null` is `<NA>`).
pub fn sysdig_shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "<NA>".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The process's peak resident memory in MB (`VmHWM`), for benchmarks.
pub fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Runs `f` over `items` on every core; the results in `items`' order
/// (the sysdig differential tests run one sysdig per rule this way).
pub fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out = std::sync::Mutex::new(Vec::new());
    let n = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(it) = items.get(i) else { break };
                let r = f(it);
                out.lock().expect("results").push((i, r));
            });
        }
    });
    let mut v = out.into_inner().expect("results");
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}
