//! What the import of real sysdig/Falco traces must get right, one fact at a
//! time, checked through `analyzer events --filter --format` (sysdig's
//! `-r trace "filter" -p format`) on ../shared/corpus/scap, with sysdig's
//! own output for the same events as the reference.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/scap");
    if ferret_tests::skip_unless(p.join("INVENTORY.tsv").exists(), "../shared/corpus/scap") {
        return None;
    }
    Some(p)
}

/// Runs `analyzer` with these arguments.
fn analyzer<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

/// `analyzer events TRACE --filter F --format P`: the printed lines.
fn events(trace: &Path, filter: &str, format: &str) -> Vec<String> {
    let out = analyzer([
        OsStr::new("events"),
        trace.as_os_str(),
        OsStr::new("--filter"),
        OsStr::new(filter),
        OsStr::new("--format"),
        OsStr::new(format),
    ]);
    assert!(
        out.status.success(),
        "{filter}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn container_records_fill_container_fields_and_only_later_ones_are_launches() {
    let Some(c) = corpus() else { return };
    // A container started during the capture (sysdig: evt.num 1405).
    let lines = events(
        &c.join("falco/psp/privileged.scap"),
        "evt.type=container",
        "%container.id %container.name %container.image %container.image.repository \
         %container.image.tag %container.privileged %container.type %container.ip %evt.arg.initial",
    );
    assert_eq!(
        lines,
        ["9dbcbd0c435f epic_cray nginx:latest nginx latest true docker 172.17.0.2 0"]
    );
    // The 20 containers already running when the k8s capture began are
    // state: marked initial, and the processes inside them see them.
    let k8s = c.join("bencer/k8s_node_capture.scap");
    let initial = events(&k8s, "evt.type=container", "%evt.arg.initial");
    assert_eq!(initial.len(), 20);
    assert!(initial.iter().all(|l| l == "1"), "{initial:?}");
    // sysdig writes that dump with ts 0; the records take the time the
    // trace starts at, so nothing is dated 1970.
    let times = events(&k8s, "evt.type=container", "%evt.rawtime");
    assert!(
        times.iter().all(|t| t == "1481211698271980141"),
        "{times:?}"
    );
    let info = analyzer([OsStr::new("info"), k8s.as_os_str()]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(!info.contains("1970"), "{info}");
    let kubelet = events(
        &k8s,
        "evt.type=setns and proc.name=nsenter",
        "%container.id %container.image.repository %container.privileged",
    );
    assert!(!kubelet.is_empty());
    for l in &kubelet {
        assert_eq!(
            l,
            "de7157ba23c4 gcr.io/google_containers/hyperkube-amd64 true"
        );
    }
}

#[test]
fn a_clone_by_a_non_leader_thread_makes_a_process_not_a_thread() {
    let Some(c) = corpus() else { return };
    // Thread 3932 of hyperkube (pid 3855) clones process 22371, which
    // execs nsenter: the parent's exit has tid != pid, yet the child is a
    // process of its own whose parent is hyperkube (sysdig agrees).
    let k8s = c.join("bencer/k8s_node_capture.scap");
    let lines = events(
        &k8s,
        "proc.pid=22371 and evt.type=setns",
        "%proc.pid %thread.tid %proc.ppid %proc.pname %proc.name",
    );
    assert!(!lines.is_empty());
    for l in &lines {
        assert_eq!(l, "22371 22371 3855 hyperkube nsenter");
    }
    let clone = events(
        &k8s,
        "evt.type=clone and evt.rawres=22371",
        "%thread.tid %proc.pid %evt.arg.flags",
    );
    assert_eq!(clone, ["3932 3855 0"]);
}

#[test]
fn an_exec_names_its_parent_when_the_fork_is_not_in_the_trace() {
    let Some(c) = corpus() else { return };
    // cat_write.scap starts with cat's execve; its exit names the parent
    // thread (ptid 11310, bash).
    let lines = events(
        &c.join("falco/cat_write.scap"),
        "evt.type=open and proc.name=cat",
        "%proc.ppid %proc.pname %proc.cmdline",
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines.iter().all(|l| l == "11310 bash cat /dev/null"),
        "{lines:?}"
    );
}

#[test]
fn unknown_threads_have_falco_defaults_and_mapped_ipv4_is_ipv4() {
    let Some(c) = corpus() else { return };
    // Threads of syscall.scap have no process record: Falco's libraries
    // give them the name "<NA>", so `proc.name != foo` holds and the
    // `proc_name_exists` macro (`proc.name != <NA>`) does not.
    let t = c.join("falco/syscall.scap");
    let unknown = events(&t, "evt.type=open and proc.name != foo", "%proc.name");
    assert!(!unknown.is_empty());
    assert!(events(&t, "evt.type=open and proc.name != <NA>", "%proc.name").is_empty());
    assert_eq!(
        events(
            &t,
            "evt.type=open and proc.name != foo",
            "%user.uid %proc.ppid"
        )[0],
        "4294967295 -1"
    );
    // An IPv6 socket carrying IPv4 (::ffff:127.0.0.1) is an IPv4 fd.
    let k8s = c.join("bencer/k8s_node_capture.scap");
    let accepted = events(
        &k8s,
        "evt.type=accept and evt.rawres=123",
        "%fd.typechar %fd.name %fd.net",
    );
    assert_eq!(accepted[0], "4 127.0.0.1:47418->127.0.0.1:8080 127.0.0.1");
}

#[test]
fn mmap_fd_minus_one_is_not_zero_extended() {
    let Some(c) = corpus() else { return };
    let lines = events(
        &c.join("falco/cat_write.scap"),
        "evt.type=mmap",
        "%evt.arg.fd",
    );
    assert!(lines.iter().any(|l| l == "-1"), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "4294967295"), "{lines:?}");
}

#[test]
fn events_filter_errors_point_into_the_filter() {
    let Some(c) = corpus() else { return };
    let cat = c.join("falco/cat_write.scap");
    let filter = |f: &str| {
        analyzer([
            OsStr::new("events"),
            cat.as_os_str(),
            OsStr::new("--filter"),
            OsStr::new(f),
        ])
    };
    let out = filter("evt.type=open and proc.nme=cat");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field 'proc.nme'"), "{err}");
    assert!(err.contains("--> --filter:1:19"), "{err}");
    // Line and column within a filter of several lines, however indented.
    let out = filter("   evt.type=open\n and proc.nam=cat");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--> --filter:2:6"), "{err}");
    // Generic calls are selected by their name.
    let k8s = c.join("bencer/k8s_node_capture.scap");
    let out = analyzer([
        OsStr::new("events"),
        k8s.as_os_str(),
        OsStr::new("--kind"),
        OsStr::new("clock_gettime"),
        OsStr::new("--limit"),
        OsStr::new("3"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.lines().all(|l| l.contains(" clock_gettime ")),
        "{text}"
    );
}

#[test]
fn alerts_on_a_scap_trace_carry_sysdigs_event_number() {
    let Some(c) = corpus() else { return };
    let rules = c.join("../falco-rules/legacy_falco_rules_v1.0.1.yaml");
    let trace = c.join("falco/psp/privileged.scap");
    let out = analyzer([
        OsStr::new("run"),
        OsStr::new("--json"),
        OsStr::new("-q"),
        OsStr::new("--rules"),
        rules.as_os_str(),
        trace.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let launch: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["rule"] == "Launch Privileged Container")
        .collect();
    // sysdig -r privileged.scap "evt.type=container" shows it as 1405.
    assert_eq!(launch.len(), 1, "{text}");
    assert_eq!(launch[0]["scap_evt_num"], 1405);
    assert_eq!(launch[0]["evt_num"], 1);
    // The event listing says the same.
    let out = analyzer([
        OsStr::new("events"),
        trace.as_os_str(),
        OsStr::new("--json"),
        OsStr::new("--filter"),
        OsStr::new("evt.type=container"),
        OsStr::new("--format"),
        OsStr::new("%container.name"),
    ]);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(line["scap_evt_num"], 1405);
    assert_eq!(line["output"], "epic_cray");
}
