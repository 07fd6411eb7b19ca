//! Container metadata benchmark (root, podman): containers started in a
//! loop, two at a time, untraced, recorded without container metadata
//! (`--no-container-metadata`) and recorded with it. Reports the loop's
//! wall time for each (the recorder's overhead), and from the capture with
//! metadata: for every container, whether its record precedes its first
//! process event, and the metadata latency: the record's time minus the
//! container's creation time as podman reports it.
//!
//! `cargo bench -p recorder --bench containers` (about a minute);
//! `FERRET_CONTAINERS_N=N` containers per run (default 40).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferret_tests::recorder::Recorder;

#[path = "../tests/common/mod.rs"]
mod common;

const IMAGE: &str = "localhost/ferret-bench-ctr:1";

fn image(dir: &Path) {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bin")).expect("mkdir");
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox");
    for a in ["sh", "cat", "true"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).expect("link");
    }
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | podman import - {IMAGE} >/dev/null",
            root.display()
        ))
        .status()
        .expect("import");
    assert!(st.success());
}

/// Starts `n` containers, two at a time; returns the wall time and the
/// containers' names.
fn lap(n: usize, tag: &str) -> (f64, Vec<String>) {
    let t = Instant::now();
    let mut names = Vec::new();
    for i in (0..n).step_by(2) {
        let kids: Vec<_> = (i..(i + 2).min(n))
            .map(|j| {
                let name = format!("ferret-bench-{tag}-{j}-{}", std::process::id());
                names.push(name.clone());
                Command::new("podman")
                    .args(ferret_tests::PODMAN_RUN)
                    .args(["--name", &name, IMAGE, "cat", "/proc/self/cgroup"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("podman")
            })
            .collect();
        for mut k in kids {
            let _ = k.wait();
        }
    }
    (t.elapsed().as_secs_f64(), names)
}

fn full_id(name: &str) -> String {
    let o = Command::new("podman")
        .args(["inspect", "-f", "{{.Id}}", name])
        .output()
        .expect("inspect");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn rm(names: &[String]) {
    for n in names {
        let _ = Command::new("podman").args(["rm", "-f", n]).output();
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !ferret_tests::recorder::have("podman") {
        eprintln!("containers bench: needs root and podman; skipped");
        return;
    }
    let n: usize = std::env::var("FERRET_CONTAINERS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = ferret_tests::scratch("bench-containers");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    image(&dir);
    let recorder = env!("CARGO_BIN_EXE_recorder");
    // Warm podman's caches once.
    let (_, warm) = lap(2, "warm");
    rm(&warm);

    let (untraced, names) = lap(n, "untraced");
    rm(&names);

    let plain = dir.join("plain.cap");
    let rec = Recorder::start(
        recorder,
        &[
            "--out",
            plain.to_str().expect("path"),
            "--quiet",
            "--no-container-metadata",
        ],
    );
    let (without, names) = lap(n, "plain");
    rec.stop();
    rm(&names);

    let cap = dir.join("meta.cap");
    let rec = Recorder::start(recorder, &["--out", cap.to_str().expect("path"), "--quiet"]);
    let (with, names) = lap(n, "meta");
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();
    let ids: Vec<String> = names.iter().map(|n| full_id(n)).collect();
    rm(&names);

    // In event order: records, and each container's first event.
    let out = common::outputs(
        &cap,
        "container.id != host",
        "%evt.num %evt.type %container.full_id %evt.rawtime %container.start_ts",
    );
    let mut record: HashMap<String, (u64, i64, i64)> = HashMap::new();
    let mut first: HashMap<String, u64> = HashMap::new();
    for l in &out {
        let f: Vec<&str> = l.split(' ').collect();
        let num: u64 = f[0].parse().unwrap_or(0);
        if f[1] == "container" {
            record.entry(f[2].to_string()).or_insert((
                num,
                f[3].parse().unwrap_or(0),
                f[4].parse().unwrap_or(0),
            ));
        } else {
            first.entry(f[2].to_string()).or_insert(num);
        }
    }
    let mut preceded = 0;
    let mut lat: Vec<f64> = Vec::new();
    for id in &ids {
        if let (Some(r), Some(f)) = (record.get(id), first.get(id)) {
            if r.0 < *f {
                preceded += 1;
            }
            lat.push((r.1 - r.2) as f64 / 1e6);
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let lost = |p: &Path| {
        let c = capture::Capture::open(p).expect("open");
        let mut n = 0;
        c.for_each_event(|e| {
            if e.kind == capture::kind::id::LOSS {
                n += e.arg("count").and_then(|v| v.as_u64()).unwrap_or(0);
            }
        });
        n
    };
    println!("containers bench: {n} podman containers, two at a time");
    println!(
        "  untraced {:.2} s ({:.0} ms/container); recorded without metadata {:.2} s (+{:.1}%, {} lost); with metadata {:.2} s (+{:.1}% over without, {} lost)",
        untraced,
        untraced * 1000.0 / n as f64,
        without,
        (without / untraced - 1.0) * 100.0,
        lost(&plain),
        with,
        (with / without - 1.0) * 100.0,
        lost(&cap)
    );
    println!(
        "  records: {}/{} containers recorded, {preceded}/{} before their first event",
        lat.len(),
        ids.len(),
        ids.len()
    );
    println!(
        "  metadata latency (record time - creation time): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.9),
        pct(1.0)
    );
}
