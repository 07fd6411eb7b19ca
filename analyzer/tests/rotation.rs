//! Several captures as one: the files of a recorder's rotation continue one
//! state (what the events taught about a process outlives the file they
//! were in), and captures of one host that overlap without being one
//! recording, or the same capture twice, are said. Checked against what
//! the processes themselves report (their session id, an environment
//! variable), with eight of them at once in a real recording made here.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ferret_tests::recorder::{can_record, Recorder};
use ferret_tests::skip_unless;

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(args)
        .output()
        .expect("run analyzer")
}

/// The recorder built beside this analyzer (`cargo test --workspace`).
fn recorder_bin() -> PathBuf {
    ferret_tests::recorder::beside(env!("CARGO_BIN_EXE_analyzer"))
}

const WORKERS: usize = 8;

#[test]
fn a_rotated_recording_is_one_state_across_its_files() {
    let bin = recorder_bin();
    if skip_unless(can_record(), "root and a kernel with BTF (to record)")
        || skip_unless(bin.exists(), "the recorder binary (cargo test --workspace)")
    {
        return;
    }
    // Canonical: rules compare with the paths the kernel resolved.
    let dir = ferret_tests::scratch_dir("rotation")
        .canonicalize()
        .expect("canonical");
    let d = dir.display().to_string();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: Marker read\n  desc: a marker file is opened\n  condition: evt.type in (open, openat) and fd.name startswith {d}/marker-\n  output: \"marker file=%fd.name sid=%proc.sid env=%proc.env[FERRET_MARK] pid=%proc.pid\"\n  priority: WARNING\n"
        ),
    )
    .expect("rules");
    let gate = dir.join("gate");
    assert!(Command::new("mkfifo")
        .arg(&gate)
        .status()
        .expect("mkfifo")
        .success());
    // Eight shells, each in a session of its own with its own variable,
    // start once recording runs, make enough events to rotate the file
    // several times, then open their marker themselves (a redirection,
    // no new process) in a later file.
    let mut script = format!("read _ < '{}'; ", gate.display());
    for w in 0..WORKERS {
        let _ = std::fs::File::create(dir.join(format!("marker-{w}")));
        script.push_str(&format!(
            "FERRET_MARK=m{w} setsid bash -c 'echo $$ $(cut -d\" \" -f6 /proc/self/stat) > {d}/truth-{w}; \
             for i in $(seq 1500); do cat /etc/hostname > /dev/null; done; sleep 1; exec 3< {d}/marker-{w}' & "
        ));
    }
    script.push_str("wait");
    let mut load = Command::new("env")
        .args([
            "-i",
            "PATH=/usr/bin:/bin",
            "HOME=/root",
            "bash",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("workload");
    let out = dir.join("r.cap");
    let pid = load.id().to_string();
    let rec = Recorder::start(
        bin.to_str().expect("path"),
        &[
            "--out",
            out.to_str().expect("path"),
            "--rotate-size",
            "150k",
            "--pid",
            &pid,
            "--quiet",
        ],
    );
    // A second recording of the same events: one host, overlapping time,
    // not one recording.
    let other = dir.join("other.cap");
    let rec2 = Recorder::start(
        bin.to_str().expect("path"),
        &[
            "--out",
            other.to_str().expect("path"),
            "--pid",
            &pid,
            "--quiet",
        ],
    );
    std::fs::write(&gate, "go\n").expect("gate");
    assert!(load.wait().expect("workload").success());
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();
    rec2.stop();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("r.") && n.to_string_lossy().ends_with(".cap")
            })
        })
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the recording rotated: {files:?}");
    // Given in reverse: the files run in segment order all the same.
    let mut args = vec!["run", "--json", "--fail-on", "emergency", "-r"];
    let r = rules.display().to_string();
    args.push(&r);
    let rev: Vec<&str> = files.iter().rev().map(String::as_str).collect();
    args.extend(&rev);
    let o = analyzer(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for w in 1..files.len() {
        assert!(
            err.contains(&format!("{} continues {}", files[w], files[w - 1])),
            "{err}"
        );
    }
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(alerts.len(), WORKERS, "{alerts:?}");
    let mut later_file = 0;
    for w in 0..WORKERS {
        let truth = std::fs::read_to_string(dir.join(format!("truth-{w}"))).expect("truth");
        let mut t = truth.split_whitespace();
        let (pid, sid) = (t.next().expect("pid"), t.next().expect("sid"));
        let a = alerts
            .iter()
            .find(|a| a["output_fields"]["fd.name"] == format!("{d}/marker-{w}"))
            .unwrap_or_else(|| panic!("no alert for worker {w}: {alerts:?}"));
        let f = &a["output_fields"];
        assert_eq!(f["proc.pid"].to_string(), pid, "{a}");
        assert_eq!(f["proc.sid"].to_string(), sid, "worker {w}: {a}");
        assert_eq!(f["proc.env[FERRET_MARK]"], format!("m{w}"), "{a}");
        assert_eq!(
            a["hostname"],
            capture::Capture::open(&files[0])
                .expect("open")
                .meta()
                .expect("meta")
                .hostname
                .as_str()
        );
        if a["capture"] != files[0].as_str() {
            later_file += 1;
        }
    }
    assert!(later_file > 0, "every marker was opened in the first file");
    // `events` reads the files as one state too, and names each event's
    // capture and host.
    let filter = format!("evt.type in (open, openat) and fd.name startswith {d}/marker-");
    let mut args = vec![
        "events",
        "--json",
        "-f",
        &filter,
        "-p",
        "%fd.name %proc.sid %proc.env[FERRET_MARK]",
    ];
    args.extend(&rev);
    let o = analyzer(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), WORKERS, "{lines:?}");
    for w in 0..WORKERS {
        let truth = std::fs::read_to_string(dir.join(format!("truth-{w}"))).expect("truth");
        let sid = truth.split_whitespace().nth(1).expect("sid");
        let want = format!("{d}/marker-{w} {sid} m{w}");
        let l = lines
            .iter()
            .find(|l| l["output"] == want.as_str())
            .unwrap_or_else(|| panic!("no line {want:?}: {lines:?}"));
        assert!(files.iter().any(|f| l["capture"] == f.as_str()), "{l}");
        assert!(l["hostname"].as_str().is_some_and(|h| !h.is_empty()), "{l}");
    }
    // The same files one by one: a later file alone knows neither (its
    // snapshot, read from /proc, has no session or environment).
    let last_alone = analyzer(&[
        "run",
        "--json",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &r,
        files.last().expect("files"),
    ]);
    for l in String::from_utf8_lossy(&last_alone.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        assert_eq!(v["output_fields"]["proc.env[FERRET_MARK]"], "", "{v}");
    }
    // The other recording of the same host and time is said.
    let o = analyzer(&[
        "run",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &r,
        &files[0],
        &other.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("overlap in time, but are not one recording"),
        "{err}"
    );
    // The rotation and the other recording merged into one file: each
    // recording is a stream, the rotation's streams still one state, the
    // same alerts as from the files (named by stream), and the overlap said.
    let merged = dir.join("merged.bin");
    let m = merged.display().to_string();
    let o_s = other.display().to_string();
    let mut args = vec!["merge", "-o", &m, &o_s];
    args.extend(&rev);
    let o = analyzer(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("overlap in time, but are not one recording"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("chain head"));
    let o = analyzer(&[
        "run",
        "--json",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &r,
        &m,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_merged: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let o = analyzer(&[
        "run",
        "--json",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &r,
        &o_s,
    ]);
    let other_alerts = String::from_utf8_lossy(&o.stdout).lines().count();
    assert_eq!(from_merged.len(), WORKERS + other_alerts, "{from_merged:?}");
    for a in &alerts {
        let same = from_merged.iter().find(|b| {
            b["output"] == a["output"] && b["capture"].as_str().is_some_and(|c| c.starts_with(&m))
        });
        assert!(
            same.is_some(),
            "{a} not found in the merged capture's alerts"
        );
    }
    // `info` names each stream's source and its chain head, which is what
    // `verify` printed for the source.
    let o = analyzer(&["info", "--json", &m]);
    let infos: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json array");
    assert_eq!(infos.len(), files.len() + 1);
    for f in files.iter().chain([&o_s]) {
        let v = analyzer(&["verify", "--json", f]);
        let v: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
        assert!(
            infos.iter().any(|i| i["merged_from"]["file"] == f.as_str()
                && i["merged_from"]["chain_head"] == v["chain_head"]),
            "{f}: {infos:?}"
        );
    }
    let o = analyzer(&["verify", &m]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // A source given again beside its merge is the same recording twice.
    let o = analyzer(&["run", "-q", "-r", &r, &m, &files[1]]);
    assert_eq!(o.status.code(), Some(2));
    // The directory stands for every capture in it (the rules and truth
    // files beside them are not captures).
    let sub = dir.join("caps");
    std::fs::create_dir_all(&sub).expect("dir");
    for f in &files {
        let p = std::path::Path::new(f);
        std::fs::copy(p, sub.join(p.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(sub.join("notes.txt"), "not a capture").expect("write");
    let o = analyzer(&[
        "run",
        "--json",
        "-q",
        "--fail-on",
        "emergency",
        "-r",
        &r,
        &sub.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), WORKERS);

    // The same capture twice is an error.
    let o = analyzer(&["run", "-q", "-r", &r, &files[0], &files[0]]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("are the same capture"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
