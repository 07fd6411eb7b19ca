//! The real `ferret-tui` binary on a real terminal (tmux): the first frame,
//! keys, help, an unbound key, and the terminal put back on `q`, on
//! SIGTERM and after Ctrl-Z; without a terminal and with a missing rules
//! path it says why and exits 2 (the first version panicked with 101).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferret_tests::recorder::have;
use ferret_tests::skip_unless;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferret-tui")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Tmux(String);

impl Tmux {
    /// A detached session of 160x45 whose interactive shell (job control,
    /// as a user's) runs `cmd` then prints its exit code.
    fn start(name: &str, cmd: &str) -> Tmux {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "160",
                "-y",
                "45",
                "bash --norc -i",
            ])
            .status()
            .expect("tmux");
        assert!(ok.success());
        let t = Tmux(name.to_string());
        t.keys(&[&format!("{cmd}; echo EXITED $?"), "Enter"]);
        t
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux")
                .args(["send-keys", "-t", &self.0, k])
                .status()
                .expect("send-keys");
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until the screen contains `text`.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited for {text:?}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the investigator running on this session's terminal.
    fn pid(&self) -> u32 {
        let o = Command::new("tmux")
            .args(["list-panes", "-t", &self.0, "-F", "#{pane_tty}"])
            .output()
            .expect("list-panes");
        let tty = String::from_utf8_lossy(&o.stdout)
            .trim()
            .trim_start_matches("/dev/")
            .to_string();
        let o = Command::new("ps")
            .args(["-t", &tty, "-o", "pid=,comm="])
            .output()
            .expect("ps");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.contains("ferret-tui"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no ferret-tui on {tty}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

/// Whether a ferret-tui started by these tests is still running after its
/// terminal went away (the first hang-up handling spun reading it).
fn survivors() -> Vec<String> {
    let o = Command::new("pgrep")
        .args(["-a", "-f", &format!("{} fixtures", bin())])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn command() -> String {
    format!(
        "cd {} && {} fixtures/captures/v1/scenarios.cap -r rules",
        root().display(),
        bin()
    )
}

#[test]
fn keys_help_and_quit_on_a_real_terminal() {
    if skip_unless(have("tmux"), "tmux") {
        return;
    }
    let t = Tmux::start("ferret-tui-keys", &command());
    let s = t.wait_for("alerts of 17 rules");
    assert!(s.contains("Alerts by rule") && s.contains("? help"), "{s}");
    t.keys(&["x"]);
    t.wait_for("'x' does nothing in Alerts");
    t.keys(&["?"]);
    t.wait_for("Keys (from the key map");
    t.keys(&["Escape", "2"]);
    t.wait_for("Timeline (25214 events)");
    t.keys(&[":", "goto 11105", "Enter", "Enter"]);
    let s = t.wait_for("Event 11105");
    assert!(s.contains("Reverse shell"), "{s}");
    t.keys(&["q"]);
    let s = t.wait_for("EXITED 0");
    assert!(
        !s.contains("Alerts by rule") && !s.contains("Event 11105"),
        "the screen is back: {s}"
    );
}

#[test]
fn sigterm_and_suspend_give_the_terminal_back() {
    if skip_unless(have("tmux") && have("ps"), "tmux and ps") {
        return;
    }
    let t = Tmux::start("ferret-tui-signals", &command());
    t.wait_for("alerts of 17 rules");
    // Ctrl-Z stops it with the terminal restored; `fg` brings it back.
    let pid = t.pid();
    t.keys(&["C-z"]);
    let s = t.wait_for("Stopped");
    assert!(
        !s.contains("Alerts by rule"),
        "the shell's screen is back: {s}"
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    assert_eq!(state, Some("T"), "stopped: {stat}");
    t.keys(&["fg", "Enter"]);
    t.wait_for("Alerts by rule");
    t.keys(&["2"]);
    t.wait_for("Timeline (25214 events)");
    t.keys(&["q"]);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "q after fg");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.screen().contains("Timeline (25214"), "{}", t.screen());
    // SIGTERM ends it with the terminal put back.
    let t = Tmux::start("ferret-tui-term", &command());
    t.wait_for("alerts of 17 rules");
    Command::new("kill")
        .args(["-TERM", &t.pid().to_string()])
        .status()
        .expect("kill");
    let s = t.wait_for("EXITED 0");
    assert!(
        !s.contains("Alerts by rule"),
        "the alternate screen is gone: {s}"
    );
    // A terminal that hangs up ends it.
    let t2 = Tmux::start("ferret-tui-hangup", &command());
    t2.wait_for("alerts of 17 rules");
    let pid = t2.pid();
    drop(t2);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running after the hang-up: {:?}",
            survivors()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn without_a_terminal_or_with_a_missing_rules_path_it_says_why() {
    let fixture = root().join("fixtures/captures/v1/scenarios.cap");
    let o = Command::new(bin())
        .arg(&fixture)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a terminal"));
    if skip_unless(have("tmux"), "tmux") {
        return;
    }
    let t = Tmux::start(
        "ferret-tui-rules",
        &format!("{} {} -r /no/such/rules", bin(), fixture.display()),
    );
    let s = t.wait_for("EXITED 2");
    assert!(s.contains("rules: /no/such/rules: no such file"), "{s}");
}

#[test]
fn several_captures_open_together_and_brackets_switch() {
    if skip_unless(have("tmux"), "tmux") {
        return;
    }
    // A merged capture of the fixture and a small synthetic recording: two
    // recordings, one file.
    let dir = root().join("target/test-scratch/tui-term");
    std::fs::create_dir_all(&dir).expect("dir");
    let synth = dir.join("small.cap");
    let merged = dir.join("two.cap");
    let _ = std::fs::remove_file(&synth);
    let _ = std::fs::remove_file(&merged);
    let analyzer = root().join("target/debug/analyzer");
    if skip_unless(
        analyzer.exists(),
        "the analyzer binary (cargo test --workspace)",
    ) {
        return;
    }
    let ok = |args: &[&str]| {
        let o = Command::new(&analyzer)
            .args(args)
            .output()
            .expect("analyzer");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(&[
        "synth",
        "-q",
        "-o",
        synth.to_str().expect("p"),
        "--events",
        "5000",
    ]);
    let fixture = root().join("fixtures/captures/v1/scenarios.cap");
    ok(&[
        "merge",
        "-q",
        "-o",
        merged.to_str().expect("p"),
        fixture.to_str().expect("p"),
        synth.to_str().expect("p"),
    ]);
    let t = Tmux::start(
        "ferret-tui-two",
        &format!(
            "cd {} && {} {} -r rules",
            root().display(),
            bin(),
            merged.display()
        ),
    );
    let s = t.wait_for("[1/2]");
    assert!(s.contains("two.cap#0") && s.contains("25214 events"), "{s}");
    t.keys(&["]"]);
    let s = t.wait_for("[2/2]");
    assert!(s.contains("two.cap#1") && s.contains("5000 events"), "{s}");
    t.keys(&["["]);
    t.wait_for("[1/2]");
    t.keys(&["q"]);
    t.wait_for("EXITED 0");
}
