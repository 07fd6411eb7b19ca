//! Container processes recorded under load, with real containers: podman
//! (runc) containers started at once, each with a first process that exits
//! at once and a shell whose children read files. The kernel's facts at exec
//! must attribute every event to the right container from its first event,
//! name the program as it names itself (busybox's sh runs applets by
//! re-executing /proc/self/exe, so the kernel calls those `exe`), give its
//! executable's path inside the container, its pid in the container's pid
//! namespace, and tell a binary dropped into the container's writable layer
//! from the image's.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferret_tests::recorder::Recorder;

mod common;

const CONTAINERS: usize = 6;
const IMAGE: &str = "localhost/ferret-lineage-bb:1";

/// A busybox image built locally (no registry is reachable).
fn build_image() {
    let dir = ferret_tests::scratch("lineage-bbroot");
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("busybox");
    for a in ["sh", "cat", "cp"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(a)).expect("applet");
    }
    for i in 0..CONTAINERS {
        for f in ["x", "y", "z"] {
            std::fs::write(dir.join(format!("etc/{f}-{i}")), format!("{f}-{i}\n")).expect("file");
        }
    }
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | podman import - {IMAGE} >/dev/null",
            dir.display()
        ))
        .status()
        .expect("podman import");
    assert!(st.success(), "podman import failed");
}

fn podman(i: usize, cidfile: &Path, cmd: &[&str]) -> Child {
    Command::new("podman")
        .args(ferret_tests::PODMAN_RUN)
        .args([
            "--rm",
            "--name",
            &format!(
                "ferret-lineage-{i}-{}",
                cidfile.file_name().expect("name").to_string_lossy()
            ),
            "--cidfile",
            cidfile.to_str().expect("path"),
            IMAGE,
        ])
        .args(cmd)
        .stdout(Stdio::piped())
        .spawn()
        .expect("podman run")
}

#[test]
fn container_processes_are_attributed_from_their_first_event() {
    if ferret_tests::skip_unless(
        ferret_tests::recorder::can_record(),
        "root with BPF rights and kernel BTF",
    ) {
        return;
    }
    for t in ["podman", "runc", "busybox"] {
        if ferret_tests::skip_unless(ferret_tests::recorder::have(t), t) {
            return;
        }
    }
    build_image();
    let dir = ferret_tests::scratch("lineage-containers");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cap = dir.join("containers.cap");
    let rec = Recorder::start(
        env!("CARGO_BIN_EXE_recorder"),
        &["--out", cap.to_str().expect("path"), "--quiet"],
    );
    let mut kids = Vec::new();
    for i in 0..CONTAINERS {
        // The container's first process reads and exits at once.
        let a = dir.join(format!("first-{i}.cid"));
        // Each reader prints its own name (/proc/self/comm) before the file:
        // the ground truth for proc.name.
        kids.push(podman(
            i,
            &a,
            &["cat", "/proc/self/comm", &format!("/etc/x-{i}")],
        ));
        // A shell's child, then a binary dropped into the writable layer.
        let b = dir.join(format!("shell-{i}.cid"));
        let script = format!(
            "cat /proc/self/comm /etc/y-{i}; cp /bin/busybox /tmp/cat; /tmp/cat /proc/self/comm /etc/z-{i}; true"
        );
        kids.push(podman(i, &b, &["sh", "-c", &script]));
    }
    // The name each reader gave itself, by the file it read next.
    let mut comm: HashMap<String, String> = HashMap::new();
    for k in kids {
        let o = k.wait_with_output().expect("wait");
        assert!(o.status.success(), "a container failed");
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            if let [name, tag] = pair {
                comm.insert(tag.to_string(), name.to_string());
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();

    let cid = |name: String| {
        let full = std::fs::read_to_string(dir.join(name)).expect("cidfile");
        full.trim()[..12].to_string()
    };
    let outputs = common::outputs(
        &cap,
        "evt.type in (open, openat) and (fd.name startswith /etc/x- or fd.name startswith /etc/y- or fd.name startswith /etc/z-)",
        "%fd.name|%container.id|%proc.name|%proc.exepath|%proc.pname|%proc.is_exe_upper_layer|%proc.cwd|%proc.vpid",
    );
    let mut got: HashMap<String, Vec<String>> = HashMap::new();
    for o in &outputs {
        let f: Vec<String> = o.split('|').map(str::to_string).collect();
        got.insert(f[0].clone(), f);
    }
    let mut misses = Vec::new();
    for i in 0..CONTAINERS {
        let first = cid(format!("first-{i}.cid"));
        let shell = cid(format!("shell-{i}.cid"));
        // (file, container, exe path, parent name or "" for any, upper layer)
        for (file, id, exe, parent, upper) in [
            (format!("/etc/x-{i}"), &first, "/bin/busybox", "", "false"),
            (format!("/etc/y-{i}"), &shell, "/bin/busybox", "sh", "false"),
            (format!("/etc/z-{i}"), &shell, "/tmp/cat", "sh", "true"),
        ] {
            let Some(f) = got.get(&file) else {
                misses.push(format!("{file}: no open event"));
                continue;
            };
            let tag = file.trim_start_matches("/etc/");
            let Some(name) = comm.get(tag) else {
                misses.push(format!("{file}: the reader printed no name"));
                continue;
            };
            let mut want = vec![file.clone(), id.clone(), name.clone(), exe.into()];
            want.push(if parent.is_empty() {
                f[4].clone()
            } else {
                parent.into()
            });
            want.push(upper.into());
            want.push("/".into());
            // The container's first process is the init of its pid namespace.
            want.push(if file.starts_with("/etc/x-") {
                "1".into()
            } else {
                f.get(7).cloned().unwrap_or_default()
            });
            if f != &want {
                misses.push(format!("{file}: Ferret {f:?}, truth {want:?}"));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
