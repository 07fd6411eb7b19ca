//! Driving the real recorder from tests: start it and wait until it
//! records, stop it with SIGINT, and kill it when a test fails first (a
//! recorder left running would keep its probes attached and slow every later
//! test and benchmark).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Whether this process can load the recorder's eBPF programs: root on a
/// kernel with BTF.
pub fn can_record() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Path::new("/sys/kernel/btf/vmlinux").exists()
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running recorder; killed on drop unless stopped.
pub struct Recorder(Option<Child>);

impl Recorder {
    /// Starts `bin` with `args` and returns once it says it is recording.
    /// Its stderr is drained in the background so it never blocks.
    // The child is kept and waited for by stop() or drop().
    #[allow(clippy::zombie_processes)]
    pub fn start(bin: &str, args: &[&str]) -> Recorder {
        let mut c = Command::new(bin)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn recorder");
        let mut err = BufReader::new(c.stderr.take().expect("stderr"));
        let mut line = String::new();
        let mut said = String::new();
        loop {
            line.clear();
            if err.read_line(&mut line).expect("read recorder stderr") == 0 {
                let st = c.wait().expect("wait");
                panic!("recorder exited before recording: {st}\n{said}");
            }
            said.push_str(&line);
            if line.contains("recording") {
                std::thread::spawn(move || {
                    let mut rest = String::new();
                    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
                });
                return Recorder(Some(c));
            }
        }
    }

    /// Stops the recorder with SIGINT and waits (30 s at most) for it to
    /// finish its file; panics when it fails.
    pub fn stop(mut self) -> ExitStatus {
        let mut c = self.0.take().expect("running");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
        let t = Instant::now();
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                assert!(st.success(), "recorder failed: {st}");
                return st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "recorder did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The recorder built beside another binary of the workspace (a test's
/// `env!("CARGO_BIN_EXE_analyzer")`: `cargo test --workspace` builds both).
pub fn beside(binary: &str) -> std::path::PathBuf {
    Path::new(binary).with_file_name("recorder")
}

/// Records `script` with the recorder `bin` into `out`: only the script's
/// own processes (`--pid`), which start once the recorder records, in a
/// clean environment (PATH, HOME, LANG), and `extra` recorder arguments.
/// Returns when the script has ended and the recorder has finished the
/// file; panics when either fails.
pub fn record_script(bin: &Path, out: &Path, script: &str, extra: &[&str]) {
    let gate = out.with_extension("gate");
    let _ = std::fs::remove_file(&gate);
    let made = Command::new("mkfifo").arg(&gate).status().expect("mkfifo");
    assert!(made.success(), "mkfifo {}", gate.display());
    let mut load = Command::new("env")
        .args([
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LANG=C.UTF-8",
            "bash",
            "-c",
            &format!("read _ < '{}'; {script}", gate.display()),
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("start the script");
    let pid = load.id().to_string();
    let mut args = vec![
        "--out",
        out.to_str().expect("utf-8 path"),
        "--pid",
        &pid,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let rec = Recorder::start(bin.to_str().expect("utf-8 path"), &args);
    std::fs::write(&gate, "go\n").expect("open the gate");
    let st = load.wait().expect("wait for the script");
    assert!(st.success(), "the recorded script failed: {st}");
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();
    let _ = std::fs::remove_file(&gate);
}
