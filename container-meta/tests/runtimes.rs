//! The sources against real runtimes where this machine has them (podman's
//! Engine API service), and against state directories written in the
//! documented layouts of the runtimes it lacks (Docker, CRI-O).

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use container_meta::{cgroup, Host, Runtime};
use serde_json::Value;

fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).args(args).output().expect(cmd);
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn engine_api_answers_like_podman_inspect_and_a_hung_socket_times_out() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if ferret_tests::skip_unless(
        root && Path::new("/usr/bin/podman").exists(),
        "root and podman",
    ) {
        return;
    }
    let dir = ferret_tests::scratch("container-meta-api");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("root/bin")).expect("mkdir");
    std::fs::copy("/bin/busybox", dir.join("root/bin/busybox")).expect("busybox");
    std::os::unix::fs::symlink("busybox", dir.join("root/bin/sleep")).expect("link");
    let image = "localhost/ferret-api:1";
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | podman import - {image} >/dev/null",
            dir.join("root").display()
        ))
        .status()
        .expect("import");
    assert!(st.success());
    let sock = dir.join("podman.sock");
    let mut service = Command::new("podman")
        .args([
            "system",
            "service",
            "--time=0",
            &format!("unix://{}", sock.display()),
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("podman system service");
    let name = format!("ferret-api-{}", std::process::id());
    let mut args: Vec<&str> = ferret_tests::PODMAN_RUN.to_vec();
    args.extend([
        "-d",
        "--name",
        &name,
        "--label",
        "io.kubernetes.pod.name=api-pod",
        "--label",
        "team=red",
        image,
        "sleep",
        "30",
    ]);
    let id = run("podman", &args);
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let host = Host::system().with_api_sockets(vec![sock.clone()]);
    let got = host.lookup_api(&id);
    let truth: Value = serde_json::from_str(&run("podman", &["inspect", &id])).expect("inspect");
    let _ = Command::new("podman").args(["rm", "-f", &name]).output();
    let _ = service.kill();
    let _ = service.wait();
    let got = got.expect("lookup through the API");
    let c = &truth[0];
    assert_eq!(got.id, id);
    assert_eq!(got.name.as_deref(), c["Name"].as_str());
    assert_eq!(got.image.as_deref(), c["ImageName"].as_str());
    assert_eq!(got.image_id.as_deref(), c["Image"].as_str());
    assert_eq!(got.runtime, Some(Runtime::Podman));
    assert_eq!(got.privileged, Some(false));
    assert_eq!(got.labels.get("team").map(String::as_str), Some("red"));
    let pod = got.pod.expect("pod from the labels");
    assert_eq!(pod.name.as_deref(), Some("api-pod"));
    assert_eq!(
        got.image_repository.as_deref(),
        Some("localhost/ferret-api")
    );
    assert_eq!(got.image_tag.as_deref(), Some("1"));

    // A runtime that accepts and never answers costs one timeout, no more.
    let hung = dir.join("hung.sock");
    let l = UnixListener::bind(&hung).expect("bind");
    let keep = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut b = [0u8; 64];
        let _ = s.read(&mut b);
        std::thread::sleep(Duration::from_secs(3));
    });
    let t = Instant::now();
    let r = Host::system()
        .with_api_sockets(vec![hung])
        .with_api_timeout(Duration::from_millis(300))
        .lookup_api(&id);
    let took = t.elapsed();
    assert!(r.is_err(), "a hung socket gave {r:?}");
    assert!(
        took < Duration::from_secs(2),
        "a hung socket held the lookup {took:?}"
    );
    let _ = keep.join();
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// Docker's and CRI-O's state in their documented on-disk layouts (neither
/// runtime is installable here): what `docker inspect` and `crictl inspect`
/// would show, read from the files.
#[test]
fn docker_and_crio_state_directories() {
    let root = ferret_tests::scratch("container-meta-state");
    let _ = std::fs::remove_dir_all(&root);
    let d = "d".to_string() + &"0123456789abcdef".repeat(4)[1..];
    write(
        &root.join(format!("var/lib/docker/containers/{d}/config.v2.json")),
        &format!(
            r#"{{"ID":"{d}","Name":"/web","Created":"2026-11-30T10:00:00.5Z",
               "Image":"sha256:{img}",
               "Config":{{"Image":"nginx:1.25","Labels":{{"io.kubernetes.pod.name":"web-1","io.kubernetes.pod.namespace":"shop","app":"web"}},
                         "Healthcheck":{{"Test":["CMD-SHELL","curl -f localhost"]}}}},
               "State":{{"Running":true,"StartedAt":"2026-11-30T10:00:01Z"}},
               "NetworkSettings":{{"Networks":{{"bridge":{{"IPAddress":"172.17.0.5"}}}}}},
               "MountPoints":{{"/var/run/docker.sock":{{"Source":"/var/run/docker.sock","Destination":"/var/run/docker.sock","RW":true,"Mode":"","Propagation":"rprivate"}}}}}}"#,
            img = "e".repeat(64)
        ),
    );
    write(
        &root.join(format!("var/lib/docker/containers/{d}/hostconfig.json")),
        r#"{"Privileged":true,"PidMode":"host","NetworkMode":"bridge","IpcMode":"private"}"#,
    );
    let c = "c".repeat(64);
    let spec = format!(
        r#"{{"ociVersion":"1.0.2","process":{{"capabilities":{{"bounding":["CAP_CHOWN"]}}}},
           "mounts":[{{"destination":"/etc/hosts","type":"bind","source":"/var/lib/kubelet/pods/u/etc-hosts","options":["rbind","rw"]}}],
           "linux":{{"namespaces":[{{"type":"pid"}},{{"type":"network","path":"/var/run/netns/x"}},{{"type":"ipc"}}],"maskedPaths":["/proc/kcore"]}},
           "annotations":{{"io.kubernetes.cri-o.ContainerType":"container","io.kubernetes.container.name":"api",
             "io.kubernetes.cri-o.ImageName":"quay.io/team/api:2.1","io.kubernetes.cri-o.ImageRef":"{img}",
             "io.kubernetes.cri-o.Labels":"{{\"io.kubernetes.pod.name\":\"api-7\",\"io.kubernetes.pod.namespace\":\"prod\",\"io.kubernetes.pod.uid\":\"1234\"}}",
             "io.kubernetes.cri-o.Created":"2026-11-30T11:00:00Z","io.kubernetes.cri-o.IP.0":"10.1.2.3",
             "io.kubernetes.cri-o.SandboxID":"{sb}","io.kubernetes.pod.name":"api-7","io.kubernetes.pod.namespace":"prod"}}}}"#,
        img = "f".repeat(64),
        sb = "a".repeat(64)
    );
    write(
        &root.join(format!(
            "var/lib/containers/storage/overlay-containers/{c}/userdata/config.json"
        )),
        &spec,
    );
    std::fs::create_dir_all(root.join(format!(
        "run/containers/storage/overlay-containers/{c}/userdata"
    )))
    .expect("run dir");

    let host = Host::at(&root);
    let listed = host.running().containers;
    assert_eq!(listed.len(), 2, "{listed:?}");

    let dk = host
        .lookup(&cgroup::parse(&format!("/system.slice/docker-{d}.scope")).expect("cgroup"))
        .expect("docker");
    assert_eq!(dk.runtime, Some(Runtime::Docker));
    assert_eq!(dk.name.as_deref(), Some("web"));
    assert_eq!(dk.image.as_deref(), Some("nginx:1.25"));
    assert_eq!(dk.image_repository.as_deref(), Some("nginx"));
    assert_eq!(dk.image_tag.as_deref(), Some("1.25"));
    assert_eq!(dk.image_id, Some("e".repeat(64)));
    assert_eq!(dk.privileged, Some(true));
    assert_eq!(
        (dk.host_pid, dk.host_network, dk.host_ipc),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(dk.ip.as_deref(), Some("172.17.0.5"));
    assert_eq!(dk.healthcheck.as_deref(), Some("curl -f localhost"));
    assert_eq!(dk.mounts.len(), 1);
    assert_eq!(dk.mounts[0].dest, "/var/run/docker.sock");
    assert_eq!(dk.created_ns, Some(1_796_032_800_500_000_000));
    let pod = dk.pod.as_ref().expect("pod");
    assert_eq!(
        (pod.name.as_deref(), pod.namespace.as_deref()),
        (Some("web-1"), Some("shop"))
    );
    assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"));

    let cr = host
        .lookup(
            &cgroup::parse(&format!(
                "/kubepods.slice/kubepods-pod1234.slice/crio-{c}.scope"
            ))
            .expect("cgroup"),
        )
        .expect("cri-o");
    assert_eq!(cr.runtime, Some(Runtime::CriO));
    assert_eq!(cr.name.as_deref(), Some("api"));
    assert_eq!(cr.image.as_deref(), Some("quay.io/team/api:2.1"));
    assert_eq!(cr.image_repository.as_deref(), Some("quay.io/team/api"));
    assert_eq!(cr.image_id, Some("f".repeat(64)));
    assert_eq!(cr.privileged, Some(false));
    assert_eq!(cr.ip.as_deref(), Some("10.1.2.3"));
    assert_eq!(cr.mounts.len(), 1);
    let pod = cr.pod.as_ref().expect("pod");
    assert_eq!(pod.name.as_deref(), Some("api-7"));
    assert_eq!(pod.namespace.as_deref(), Some("prod"));
    assert_eq!(pod.uid.as_deref(), Some("1234"));
    assert_eq!(pod.sandbox_id, Some("a".repeat(64)));

    // An id no runtime knows: every source says why.
    let why = host
        .lookup(&cgroup::parse(&format!("/docker/{}", "9".repeat(64))).expect("cgroup"))
        .expect_err("unknown");
    for s in ["podman", "containerd", "CRI-O", "Docker"] {
        assert!(why.contains(s), "{why}");
    }
}
