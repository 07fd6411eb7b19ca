//! A process whose container shows only in a cgroup v1 hierarchy (a v1 host,
//! or a runtime that sets only v1 paths on a hybrid host like this one):
//! the recorder must still attribute it to its container, from its first
//! event, and record the container as unknown to every runtime, with why.
//!
//! The test makes such a process itself: it creates a cgroup named like a
//! container in the v1 `pids` hierarchy only and moves a shell into it,
//! which then execs the reader; the unified hierarchy keeps it on the host.

use std::path::Path;
use std::process::Command;

use ferret_tests::recorder::Recorder;

mod common;

#[test]
fn a_container_seen_only_in_a_v1_hierarchy_is_attributed() {
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if ferret_tests::skip_unless(
        ferret_tests::recorder::can_record(),
        "root with BPF rights and kernel BTF",
    ) || ferret_tests::skip_unless(
        v1.join("cgroup.procs").exists(),
        "a cgroup v1 pids hierarchy at /sys/fs/cgroup/pids",
    ) {
        return;
    }
    let id = format!(
        "{:064x}",
        0xfe44e7_u64 * 1_000_003 + std::process::id() as u64
    );
    let parent = v1.join("ferret-v1");
    let cg = parent.join(&id);
    std::fs::create_dir_all(&cg).expect("create the v1 cgroup");
    let dir = ferret_tests::scratch("cgroup-v1");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let marker = dir.join("v1-marker");
    std::fs::write(&marker, "x\n").expect("marker");
    let marker = marker.canonicalize().expect("canonical");
    let cap = dir.join("v1.cap");
    let rec = Recorder::start(
        env!("CARGO_BIN_EXE_recorder"),
        &["--out", cap.to_str().expect("path"), "--quiet"],
    );
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec cat {} >/dev/null",
            cg.display(),
            marker.display()
        ))
        .status()
        .expect("sh");
    std::thread::sleep(std::time::Duration::from_millis(300));
    rec.stop();
    let _ = std::fs::remove_dir(&cg);
    let _ = std::fs::remove_dir(&parent);
    assert!(st.success());

    let unified = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
    assert!(
        !unified.contains(&id),
        "the test cgroup must exist in v1 only"
    );
    let out = common::outputs(
        &cap,
        &format!(
            "evt.type in (open, openat) and fd.name = {}",
            marker.display()
        ),
        "%proc.name %container.id %container.type %container.name",
    );
    assert_eq!(
        out,
        vec![format!("cat {} <NA> <NA>", &id[..12])],
        "the reader's open"
    );
    let c = capture::Capture::open(&cap).expect("open");
    let sum = engine::summary::summarize(&c);
    let rec = sum
        .containers
        .iter()
        .find(|c| c.id == id)
        .expect("a record for the v1-only container");
    for f in ["name", "image"] {
        assert!(
            rec.missing
                .iter()
                .any(|(m, why)| m == f && why.contains("containerd") && why.contains("podman")),
            "{:?}",
            rec.missing
        );
    }
}
