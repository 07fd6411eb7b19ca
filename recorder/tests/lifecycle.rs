//! The recorder's life cycle as root: clean stops on SIGINT/SIGTERM, a
//! readable capture after SIGKILL, --duration and --max-events, rotation into
//! a ring of files, comm filters, and a clear error without root.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capture::kind::id;
use capture::{ArgValue, Capture};

fn can_record() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Path::new("/sys/kernel/btf/vmlinux").exists()
}

fn skip() -> bool {
    ferret_tests::skip_unless(can_record(), "root with BPF rights and kernel BTF")
}

/// Starts the recorder and waits until it records.
// The child is handed to the caller, which waits for it.
#[allow(clippy::zombie_processes)]
fn start(args: &[&str]) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn recorder");
    let mut err = BufReader::new(c.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).expect("read") == 0 {
            let st = c.wait().expect("wait");
            panic!("recorder exited before recording: {st}");
        }
        if line.contains("recording") {
            return (c, err);
        }
    }
}

fn rest(err: &mut BufReader<std::process::ChildStderr>) -> String {
    let mut s = String::new();
    let _ = std::io::Read::read_to_string(err, &mut s);
    s
}

fn wait(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = c.try_wait().expect("wait") {
            return s;
        }
        assert!(t.elapsed() < limit, "recorder did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cat` on a marker path `n` times and returns the path.
fn activity(tag: &str, n: usize) -> String {
    let p = format!("/tmp/ferret-lifecycle-{tag}");
    std::fs::write(&p, "x").expect("marker");
    for _ in 0..n {
        Command::new("cat")
            .arg(&p)
            .stdout(Stdio::null())
            .status()
            .expect("cat");
    }
    p
}

fn opens_of(cap: &Capture, path: &str) -> usize {
    let mut n = 0;
    cap.for_each_event(|e| {
        if e.kind == id::OPENAT && e.arg("name") == Some(ArgValue::Str(path.as_bytes())) {
            n += 1;
        }
    });
    n
}

fn out(name: &str) -> PathBuf {
    let p = ferret_tests::scratch(name);
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn sigterm_finishes_the_capture_cleanly() {
    if skip() {
        return;
    }
    let o = out("lc-term.cap");
    let (mut c, mut err) = start(&["--out", o.to_str().expect("path"), "--comm", "cat"]);
    let marker = activity("term", 5);
    // SAFETY: signalling our child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let st = wait(&mut c, Duration::from_secs(20));
    let text = rest(&mut err);
    assert!(st.success(), "{text}");
    assert!(text.contains("chain head"), "{text}");
    let cap = Capture::open(&o).expect("open");
    assert!(capture::verify(&cap).intact());
    assert_eq!(opens_of(&cap, &marker), 5);
    // The comm filter kept only cat.
    let mut others = 0;
    cap.for_each_event(|e| {
        if e.kind == id::PROC_EXEC {
            if let Some(ArgValue::Str(c)) = e.arg("comm") {
                if c != b"cat" {
                    others += 1;
                }
            }
        }
    });
    assert_eq!(others, 0);
}

#[test]
fn sigkill_leaves_a_readable_capture() {
    if skip() {
        return;
    }
    let o = out("lc-kill.cap");
    let (mut c, _err) = start(&["--out", o.to_str().expect("path"), "--comm", "cat"]);
    let marker = activity("kill", 8);
    // Chunks are sealed at least every second: wait for the seal, then kill.
    std::thread::sleep(Duration::from_millis(1600));
    c.kill().expect("kill");
    let _ = c.wait();
    let cap = Capture::open(&o).expect("a killed recorder's capture opens");
    assert!(cap.chain_head().is_none(), "no trailer after SIGKILL");
    assert!(!cap.problems().is_empty());
    assert_eq!(
        opens_of(&cap, &marker),
        8,
        "every event of the sealed second survives"
    );
    assert!(cap.snapshot().expect("snapshot").is_some());
}

#[test]
fn duration_and_max_events_stop_the_recorder() {
    if skip() {
        return;
    }
    let o = out("lc-dur.cap");
    let t = Instant::now();
    let (mut c, _e) = start(&[
        "--out",
        o.to_str().expect("path"),
        "--duration",
        "1.5",
        "--quiet",
    ]);
    assert!(wait(&mut c, Duration::from_secs(20)).success());
    assert!(t.elapsed() >= Duration::from_millis(1400));

    let o = out("lc-max.cap");
    let (mut c, _e) = start(&[
        "--out",
        o.to_str().expect("path"),
        "--max-events",
        "200",
        "--quiet",
        "--comm",
        "cat",
    ]);
    let keep = std::thread::spawn(|| activity("max", 30));
    assert!(wait(&mut c, Duration::from_secs(30)).success());
    let _ = keep.join();
    let cap = Capture::open(&o).expect("open");
    let n = cap.event_count();
    assert!((200..2000).contains(&n), "stopped near 200 events, got {n}");
}

#[test]
fn rotation_keeps_a_ring_of_readable_files() {
    if skip() {
        return;
    }
    let dir = ferret_tests::scratch("lc-ring");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let base = dir.join("ring.cap");
    let (mut c, _e) = start(&[
        "--out",
        base.to_str().expect("path"),
        "--rotate-time",
        "1",
        "--ring",
        "2",
        "--quiet",
    ]);
    for _ in 0..4 {
        activity("ring", 3);
        std::thread::sleep(Duration::from_millis(900));
    }
    // SAFETY: signalling our child.
    unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
    assert!(wait(&mut c, Duration::from_secs(20)).success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut segments = Vec::new();
    for f in &files {
        let cap = Capture::open(f).expect("open");
        assert!(capture::verify(&cap).intact(), "{}", f.display());
        assert!(
            cap.snapshot().expect("snapshot").is_some(),
            "every segment has its own snapshot"
        );
        segments.push(cap.meta().expect("meta").segment);
    }
    assert!(
        segments[1] == segments[0] + 1 && segments[0] >= 2,
        "{segments:?}"
    );
}

#[test]
fn without_root_the_error_says_what_is_missing() {
    if skip() {
        return;
    }
    let o = out("lc-nobody.cap");
    let r = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_recorder"))
        .args(["--out", o.to_str().expect("path")])
        .output()
        .expect("setpriv");
    assert_eq!(r.status.code(), Some(2));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(e.contains("must run as root"), "{e}");
}

#[test]
fn bad_options_are_rejected_before_loading() {
    let r = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args(["--out", "/tmp/x.cap", "--snaplen", "99999"])
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--snaplen"));
    let h = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .arg("--help")
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&h.stdout);
    for opt in [
        "--pid",
        "--comm",
        "--exclude-comm",
        "--cgroup",
        "--snaplen",
        "--duration",
        "--max-events",
        "--rotate-size",
        "--rotate-time",
        "--ring",
        "--generic",
    ] {
        assert!(text.contains(opt), "--help lacks {opt}");
    }
}
