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

/// Opens of `path` by each command name.
fn opens_by_comm(cap: &Capture, path: &str) -> std::collections::BTreeMap<String, usize> {
    let mut by_pid_comm = std::collections::HashMap::new();
    let mut out = std::collections::BTreeMap::new();
    cap.for_each_event(|e| {
        if e.kind == id::PROC_EXEC {
            if let Some(ArgValue::Str(c)) = e.arg("comm") {
                by_pid_comm.insert(e.pid, String::from_utf8_lossy(c).into_owned());
            }
        }
        if e.kind == id::OPENAT && e.arg("name") == Some(ArgValue::Str(path.as_bytes())) {
            let comm = by_pid_comm.get(&e.pid).cloned().unwrap_or_default();
            *out.entry(comm).or_insert(0) += 1;
        }
    });
    out
}

fn stop(c: &mut Child) {
    // SAFETY: signalling our child.
    unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
    assert!(wait(c, Duration::from_secs(20)).success());
}

#[test]
fn exclude_comm_drops_only_that_command() {
    if skip() {
        return;
    }
    let o = out("lc-exclude.cap");
    let marker = "/tmp/ferret-lifecycle-exclude";
    std::fs::write(marker, "x").expect("marker");
    let (mut c, _e) = start(&[
        "--out",
        o.to_str().expect("path"),
        "--exclude-comm",
        "cat",
        "--quiet",
    ]);
    for tool in ["cat", "head", "cat"] {
        Command::new(tool)
            .arg(marker)
            .stdout(Stdio::null())
            .status()
            .expect("tool");
    }
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut c);
    let by = opens_by_comm(&Capture::open(&o).expect("open"), marker);
    assert_eq!(by.get("head"), Some(&1), "{by:?}");
    assert!(!by.contains_key("cat"), "{by:?}");
}

#[test]
fn cgroup_filter_keeps_only_processes_in_that_cgroup() {
    if skip() {
        return;
    }
    let unified = Path::new("/sys/fs/cgroup/unified");
    let root = if unified.join("cgroup.procs").exists() {
        unified.to_path_buf()
    } else {
        PathBuf::from("/sys/fs/cgroup")
    };
    let name = format!("ferret-lc-{}", std::process::id());
    let dir = root.join(&name);
    let made = std::fs::create_dir(&dir).is_ok();
    if ferret_tests::skip_unless(made, "a writable cgroup v2 hierarchy") {
        return;
    }
    let marker = "/tmp/ferret-lifecycle-cgroup";
    std::fs::write(marker, "x").expect("marker");
    let o = out("lc-cgroup.cap");
    let (mut c, _e) = start(&[
        "--out",
        o.to_str().expect("path"),
        "--cgroup",
        &format!("/{name}"),
        "--quiet",
    ]);
    // One head inside the cgroup, one outside.
    let inside = format!(
        "echo $$ > {}/cgroup.procs && exec head {marker}",
        dir.display()
    );
    Command::new("sh")
        .args(["-c", &inside])
        .stdout(Stdio::null())
        .status()
        .expect("inside");
    Command::new("head")
        .arg(marker)
        .stdout(Stdio::null())
        .status()
        .expect("outside");
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut c);
    let cap = Capture::open(&o).expect("open");
    let by = opens_by_comm(&cap, marker);
    assert_eq!(
        by.get("head"),
        Some(&1),
        "only the head inside the cgroup: {by:?}"
    );
    let _ = std::fs::remove_dir(&dir);
    let meta = cap.meta().expect("meta");
    assert!(meta.filters.iter().any(|f| f.starts_with("cgroup=")));
}

#[test]
fn generic_flag_records_unlisted_syscalls_raw() {
    if skip() {
        return;
    }
    let o = out("lc-generic.cap");
    let (mut c, _e) = start(&[
        "--out",
        o.to_str().expect("path"),
        "--generic",
        "--comm",
        "cat",
        "--quiet",
    ]);
    activity("generic", 2);
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut c);
    let cap = Capture::open(&o).expect("open");
    let mut nrs = std::collections::BTreeSet::new();
    cap.for_each_event(|e| {
        if e.kind == id::GENERIC {
            if let Some(ArgValue::Uint(nr)) = e.arg("nr") {
                nrs.insert(nr);
            }
        }
    });
    // cat calls fstat/newfstatat (5/262), brk (12) or arch_prctl (158): none is in the table.
    assert!(nrs.iter().any(|n| [5, 12, 158, 262].contains(n)), "{nrs:?}");
    assert!(
        !nrs.contains(&0) && !nrs.contains(&257),
        "listed syscalls are never generic: {nrs:?}"
    );
}

#[test]
fn rotation_by_size_starts_new_files() {
    if skip() {
        return;
    }
    let dir = ferret_tests::scratch("lc-size");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let base = dir.join("size.cap");
    let (mut c, _e) = start(&[
        "--out",
        base.to_str().expect("path"),
        "--rotate-size",
        "64k",
        "--snaplen",
        "4096",
        "--quiet",
    ]);
    for _ in 0..6 {
        activity("size", 20);
        std::thread::sleep(Duration::from_millis(1200));
    }
    stop(&mut c);
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for f in &files {
        assert!(
            capture::verify(&Capture::open(f).expect("open")).intact(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn the_output_is_private_and_never_a_planted_link_or_an_existing_file() {
    if skip() {
        return;
    }
    // A link planted where the capture goes: refused, its target untouched.
    let victim = out("lc-victim");
    std::fs::write(&victim, "precious").expect("victim");
    let link = out("lc-link.cap");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    for extra in [&[][..], &["--force"][..]] {
        let r = Command::new(env!("CARGO_BIN_EXE_recorder"))
            .args(["--out", link.to_str().expect("path"), "--duration", "1"])
            .args(extra)
            .output()
            .expect("run");
        assert!(!r.status.success());
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    }
    // A new capture is readable by its owner only; an existing one is kept
    // unless --force replaces it.
    let o = out("lc-private.cap");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_recorder"))
            .args([
                "--out",
                o.to_str().expect("path"),
                "--duration",
                "1",
                "--comm",
                "cat",
            ])
            .args(extra)
            .output()
            .expect("run")
    };
    assert!(run(&[]).status.success());
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&o).expect("meta");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let r = run(&[]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("exists"));
    assert_eq!(std::fs::read(&o).expect("read").len() as u64, meta.len());
    assert!(run(&["--force"]).status.success());
    assert!(Capture::open(&o).expect("open").problems().is_empty());
}

#[test]
fn flags_that_could_never_work_are_refused_with_the_reason() {
    for (args, says) in [
        (&["--comm", "abcdefghijklmnop"][..], "at most 15 bytes"),
        (&["--ring", "3"][..], "--ring needs --rotate-size"),
        (
            &["--rotate-size", "1"][..],
            "--rotate-size must be at least 64k",
        ),
        (
            &["--buffer-size", "16G"][..],
            "--buffer-size must be a power of two",
        ),
        (
            &["--rotate-time", "0"][..],
            "--rotate-time must be at least 1 second",
        ),
        (&["--duration", "0"][..], "--duration must be a positive"),
    ] {
        let r = Command::new(env!("CARGO_BIN_EXE_recorder"))
            .args(["--out", "/tmp/ferret-never-written.cap"])
            .args(args)
            .output()
            .expect("run");
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(e.contains(says), "{args:?}: {e}");
        assert!(!Path::new("/tmp/ferret-never-written.cap").exists());
    }
}
