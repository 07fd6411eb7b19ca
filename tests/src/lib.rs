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
