//! The recorder on real activity: loads the real eBPF programs as root,
//! records tests/scenarios/run-all.sh, and checks the exact events of every
//! scenario (paths, argv, return codes, parent chain). Without root or BPF
//! rights the tests skip, or fail when FERRET_REQUIRE_ALL=1 (CI).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use capture::args::{ArgValue, SockAddr};
use capture::kind::id;
use capture::Capture;

/// An owned event with its arguments rendered for assertions.
#[derive(Clone, Debug)]
struct Ev {
    seq: u64,
    pid: u32,
    tid: u32,
    kind: u16,
    ret: i64,
    args: HashMap<String, Val>,
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Int(i64),
    Str(String),
    List(Vec<String>),
    Sock(String),
    Absent,
}

impl Ev {
    fn s(&self, name: &str) -> &str {
        match self.args.get(name) {
            Some(Val::Str(s) | Val::Sock(s)) => s,
            _ => "",
        }
    }
    fn i(&self, name: &str) -> Option<i64> {
        match self.args.get(name) {
            Some(Val::Int(i)) => Some(*i),
            _ => None,
        }
    }
    fn list(&self, name: &str) -> Vec<String> {
        match self.args.get(name) {
            Some(Val::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
}

struct Recording {
    events: Vec<Ev>,
    path: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn can_record() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Path::new("/sys/kernel/btf/vmlinux").exists()
}

/// Records run-all.sh once for all tests of this file.
fn recording() -> Option<&'static Recording> {
    static REC: OnceLock<Option<Recording>> = OnceLock::new();
    if ferret_tests::skip_unless(can_record(), "root with BPF rights and kernel BTF") {
        return None;
    }
    REC.get_or_init(|| Some(record_scenarios(&ferret_tests::scratch("scenarios.cap"))))
        .as_ref()
}

/// Runs the scenario suite under the recorder with a pid filter on a gate
/// process, so only the suite's process tree is recorded.
fn record_scenarios(out: &Path) -> Recording {
    let fifo = ferret_tests::scratch("scenario-gate.fifo");
    let _ = std::fs::remove_file(&fifo);
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("cstring");
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let script = root().join("tests/scenarios/run-all.sh");
    let mut gate = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "read _ < '{}'; exec bash '{}'",
            fifo.display(),
            script.display()
        ))
        .stdin(Stdio::null())
        .spawn()
        .expect("gate");
    let _ = std::fs::remove_file(out);
    let mut rec = Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args([
            "--out",
            out.to_str().expect("utf-8"),
            "--pid",
            &gate.id().to_string(),
            "--quiet",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("recorder");
    let mut err = BufReader::new(rec.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).expect("read recorder stderr");
        assert!(n > 0, "recorder exited before recording");
        if line.contains("recording") {
            break;
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open gate")
        .write_all(b"go\n")
        .expect("release gate");
    let start = Instant::now();
    loop {
        if gate.try_wait().expect("wait gate").is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "scenarios did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending SIGINT to our child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let st = rec.wait().expect("wait recorder");
    assert!(st.success(), "recorder failed: {rest}");
    assert!(rest.contains("chain head"), "no summary: {rest}");
    Recording {
        events: load(out),
        path: out.to_path_buf(),
    }
}

fn load(path: &Path) -> Vec<Ev> {
    let cap = Capture::open(path).expect("open capture");
    assert!(cap.problems().is_empty(), "{:?}", cap.problems());
    let mut out = Vec::new();
    let errs = cap.for_each_event(|e| {
        let table = e.info().map(|k| k.args).unwrap_or(&[]);
        let mut args = HashMap::new();
        for (i, v) in e.args().enumerate() {
            let Some((name, _)) = table.get(i) else { break };
            let v = match v.expect("valid args") {
                ArgValue::Absent => Val::Absent,
                ArgValue::Int(x) => Val::Int(x),
                ArgValue::Uint(x) => Val::Int(x as i64),
                ArgValue::Str(s) | ArgValue::Bytes(s) => {
                    Val::Str(String::from_utf8_lossy(s).into_owned())
                }
                ArgValue::StrList(l) => Val::List(
                    l.iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect(),
                ),
                ArgValue::SockAddr(SockAddr::None) => Val::Absent,
                ArgValue::SockAddr(a) => Val::Sock(a.to_string()),
            };
            args.insert(name.to_string(), v);
        }
        out.push(Ev {
            seq: e.seq,
            pid: e.pid,
            tid: e.tid,
            kind: e.kind,
            ret: e.ret,
            args,
        });
    });
    assert!(errs.is_empty(), "{errs:?}");
    out
}

impl Recording {
    /// The events of one scenario: from its begin marker to the next one.
    fn scenario(&self, name: &str) -> Vec<Ev> {
        let marker = |e: &Ev| {
            e.kind == id::EXECVE
                && e.list("args").get(1).map(String::as_str) == Some("ferret-scenario-begin")
        };
        let begin = self
            .events
            .iter()
            .position(|e| marker(e) && e.list("args").get(2).map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("scenario {name} not recorded"));
        let end = self.events[begin + 1..]
            .iter()
            .position(|e| {
                marker(e)
                    || (e.kind == id::EXECVE
                        && e.list("args").get(1).map(String::as_str) == Some("ferret-scenario-end"))
            })
            .map(|i| begin + 1 + i)
            .unwrap_or(self.events.len());
        self.events[begin..end].to_vec()
    }

    /// The image of each process: pid -> (exe filename, argv), from procexec.
    fn images(&self) -> HashMap<u32, (String, Vec<String>)> {
        let mut m = HashMap::new();
        for e in &self.events {
            if e.kind == id::PROC_EXEC {
                m.insert(e.pid, (e.s("filename").to_string(), e.list("args")));
            }
        }
        m
    }

    /// pid -> parent pid, from procfork records.
    fn parents(&self) -> HashMap<u32, u32> {
        let mut m = HashMap::new();
        for e in &self.events {
            if e.kind == id::PROC_FORK {
                if let Some(child) = e.i("child_pid") {
                    if child as u32 != e.pid {
                        m.insert(child as u32, e.pid);
                    }
                }
            }
        }
        m
    }

    /// Basenames of the exe of `pid` and its ancestors, nearest first.
    fn chain(&self, pid: u32) -> Vec<String> {
        let (img, par) = (self.images(), self.parents());
        let mut out = Vec::new();
        let mut p = Some(pid);
        while let Some(x) = p {
            if out.len() > 16 {
                break;
            }
            if let Some((f, _)) = img.get(&x) {
                out.push(f.rsplit('/').next().unwrap_or(f).to_string());
            }
            p = par.get(&x).copied();
        }
        out
    }
}

fn find<'a>(evs: &'a [Ev], what: &str, f: impl Fn(&Ev) -> bool) -> &'a Ev {
    evs.iter()
        .find(|e| f(e))
        .unwrap_or_else(|| panic!("no event: {what}"))
}

fn exec_of<'a>(evs: &'a [Ev], suffix: &str) -> &'a Ev {
    find(evs, &format!("execve of *{suffix}"), |e| {
        e.kind == id::EXECVE && e.s("filename").ends_with(suffix)
    })
}

#[test]
fn capture_is_intact_and_has_a_snapshot() {
    let Some(r) = recording() else { return };
    let cap = Capture::open(&r.path).expect("open");
    let rep = capture::verify(&cap);
    assert!(rep.intact(), "{:?}", rep.problems);
    let snap = cap.snapshot().expect("snapshot").expect("present");
    assert!(snap.processes.iter().any(|p| p.pid == 1));
    assert!(snap.users.iter().any(|u| u.name == "root"));
    let meta = cap.meta().expect("meta");
    assert!(meta.filters.iter().any(|f| f.starts_with("pid=")));
    // Only the scenario tree was recorded: every pid descends from the gate.
    // Container records describe the host's containers (pid 0 for those
    // running at the start): capture context, not the scenario's processes.
    let procs: Vec<&Ev> = r
        .events
        .iter()
        .filter(|e| e.kind != id::CONTAINER)
        .collect();
    let gate = procs.first().expect("events").pid;
    let parents = r.parents();
    for e in procs {
        let mut p = e.pid;
        let mut hops = 0;
        while p != gate && hops < 32 {
            p = *parents
                .get(&p)
                .unwrap_or_else(|| panic!("pid {} ({:?}) has no recorded parent", e.pid, e.kind));
            hops += 1;
        }
        assert_eq!(p, gate);
    }
}

#[test]
fn terminal_shell_is_an_interactive_bash_under_script() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("01-terminal-shell");
    let bash = find(&ev, "bash -i exec", |e| {
        e.kind == id::EXECVE
            && e.s("filename").ends_with("/bash")
            && e.list("args").contains(&"-i".to_string())
    });
    assert_eq!(bash.ret, 0);
    let chain = r.chain(bash.pid);
    assert_eq!(chain.first().map(String::as_str), Some("bash"));
    assert!(chain.iter().any(|c| c == "script"), "{chain:?}");
    let pe = find(&ev, "procexec of bash -i", |e| {
        e.kind == id::PROC_EXEC && e.pid == bash.pid
    });
    assert!(
        pe.i("tty").is_some_and(|t| t != 0),
        "tty of the shell: {:?}",
        pe.args.get("tty")
    );
}

#[test]
fn shadow_read_is_an_openat_by_cat() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("02-read-shadow");
    let o = find(&ev, "openat /etc/shadow", |e| {
        e.kind == id::OPENAT && e.s("name") == "/etc/shadow"
    });
    assert!(o.ret >= 3, "fd {}", o.ret);
    assert_eq!(o.i("flags").map(|f| f & 3), Some(0), "O_RDONLY");
    assert_eq!(r.chain(o.pid)[..2], ["cat".to_string(), "bash".to_string()]);
    let rd = find(&ev, "read of the shadow fd", |e| {
        e.kind == id::READ && e.seq > o.seq && e.pid == o.pid && e.i("fd") == Some(o.ret)
    });
    assert!(rd.ret > 0);
    assert!(
        rd.s("data").starts_with("root:"),
        "snapped data: {:?}",
        rd.s("data")
    );
}

#[test]
fn writes_below_etc_and_usr_bin_are_creating_opens() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("03-write-below-etc");
    let o = find(&ev, "create /etc/ferret-scenario.conf", |e| {
        e.kind == id::OPENAT && e.s("name") == "/etc/ferret-scenario.conf"
    });
    assert!(o.ret >= 0);
    assert_ne!(o.i("flags").unwrap_or(0) & 0o100, 0, "O_CREAT");
    find(&ev, "unlink of it", |e| {
        e.kind == id::UNLINKAT && e.s("name") == "/etc/ferret-scenario.conf" && e.ret == 0
    });

    let ev = r.scenario("04-write-below-usr-bin");
    let o = find(&ev, "create /usr/bin/ferret-dropped", |e| {
        e.kind == id::OPENAT
            && e.s("name") == "/usr/bin/ferret-dropped"
            && e.i("flags").unwrap_or(0) & 0o100 != 0
    });
    assert!(o.ret >= 0);
    assert_ne!(o.i("flags").unwrap_or(0) & 0o1, 0, "O_WRONLY");
    assert_eq!(r.chain(o.pid).first().map(String::as_str), Some("cp"));
    // cp moves the bytes with copy_file_range (not a recorded call); the
    // creating open and the close of its fd bracket the copy.
    find(&ev, "close of the copy", |e| {
        e.kind == id::CLOSE && e.seq > o.seq && e.pid == o.pid && e.i("fd") == Some(o.ret)
    });
}

#[test]
fn package_managers_are_execs() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("05-package-manager");
    assert_eq!(exec_of(&ev, "/dpkg").list("args"), ["dpkg", "--version"]);
    let apt = exec_of(&ev, "/apt-get");
    assert_eq!(apt.list("args"), ["apt-get", "--version"]);
    assert_eq!(apt.ret, 0);
}

#[test]
fn download_tools_connect_to_the_local_server() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("06-download-tool");
    for tool in ["/curl", "/wget"] {
        let x = exec_of(&ev, tool);
        assert!(
            x.list("args")
                .iter()
                .any(|a| a.starts_with("http://127.0.0.1:")),
            "{:?}",
            x.list("args")
        );
        let c = find(&ev, &format!("connect by {tool}"), |e| {
            e.kind == id::CONNECT && e.pid == x.pid && e.s("addr").starts_with("127.0.0.1:")
        });
        assert!(c.ret == 0 || c.ret == -115, "connect ret {}", c.ret);
    }
}

#[test]
fn dev_tcp_reverse_shell_connects_and_dups_the_socket_onto_stdio() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("07-reverse-shell-dev-tcp");
    let c = find(&ev, "connect to the listener", |e| {
        e.kind == id::CONNECT && e.s("addr").starts_with("127.0.0.1:") && e.ret == 0
    });
    assert_eq!(r.chain(c.pid).first().map(String::as_str), Some("bash"));
    let sock = find(&ev, "socket", |e| {
        e.kind == id::SOCKET && e.pid == c.pid && e.ret == c.i("fd").unwrap_or(-1)
    });
    assert_eq!(sock.i("domain"), Some(2));
    let dups: Vec<i64> = ev
        .iter()
        .filter(|e| e.pid == c.pid && matches!(e.kind, id::DUP2 | id::DUP3) && e.ret >= 0)
        .filter_map(|e| e.i("newfd"))
        .collect();
    assert!(
        dups.contains(&0) && dups.contains(&1),
        "dup2 onto stdio: {dups:?}"
    );
}

#[test]
fn nc_e_reverse_shell_is_recorded_with_its_arguments() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("08-reverse-shell-nc-e");
    let nc = exec_of(&ev, "/nc.traditional");
    let args = nc.list("args");
    assert_eq!(args[..3], ["nc.traditional", "-e", "/bin/sh"]);
    find(&ev, "nc connects", |e| {
        e.kind == id::CONNECT && e.pid == nc.pid && e.s("addr").starts_with("127.0.0.1:")
    });
    // nc -e replaces itself with the program once connected.
    let sh = exec_of(&ev, "/bin/sh");
    assert_eq!(sh.pid, nc.pid);
    assert!(sh.seq > nc.seq);
}

#[test]
fn miner_named_binary_carries_the_stratum_url() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("09-crypto-miner");
    let x = exec_of(&ev, "/xmrig");
    assert!(x
        .list("args")
        .iter()
        .any(|a| a == "stratum+tcp://127.0.0.1:3333"));
    let pe = find(&ev, "procexec xmrig", |e| {
        e.kind == id::PROC_EXEC && e.pid == x.pid
    });
    assert_eq!(pe.s("comm"), "xmrig");
}

#[test]
fn service_account_token_read_is_an_openat() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("10-service-account-token");
    let o = find(&ev, "token open", |e| {
        e.kind == id::OPENAT
            && e.s("name") == "/var/run/secrets/kubernetes.io/serviceaccount/token"
            && e.ret >= 0
            && r.chain(e.pid).first().map(String::as_str) == Some("cat")
    });
    assert!(o.ret >= 3);
}

#[test]
fn setuid_binary_is_chmodded_and_run_by_nobody() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("11-setuid-binary");
    let ch = find(&ev, "chmod u+s", |e| {
        e.kind == id::FCHMODAT && e.s("filename").ends_with("/suid-id")
    });
    assert_eq!(ch.ret, 0);
    assert_eq!(ch.i("mode").map(|m| m & 0o4000), Some(0o4000));
    let x = exec_of(&ev, "/suid-id");
    assert_eq!(x.ret, 0);
    let pe = find(&ev, "procexec suid-id", |e| {
        e.kind == id::PROC_EXEC && e.s("filename").ends_with("/suid-id")
    });
    assert_eq!(pe.i("uid"), Some(65534), "real uid nobody");
    find(&ev, "setuid to nobody by setpriv", |e| {
        matches!(e.kind, id::SETRESUID | id::SETREUID | id::SETUID) && e.ret == 0
    });
}

#[test]
fn unshare_creates_user_and_net_namespaces() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("12-unshare");
    let u = find(&ev, "unshare", |e| e.kind == id::UNSHARE);
    assert_eq!(u.ret, 0);
    let f = u.i("flags").unwrap_or(0);
    assert_ne!(f & 0x1000_0000, 0, "CLONE_NEWUSER");
    assert_ne!(f & 0x4000_0000, 0, "CLONE_NEWNET");
}

#[test]
fn module_load_attempt_fails_in_finit_module() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("13-module-load");
    let m = find(&ev, "finit_module or init_module", |e| {
        matches!(e.kind, id::FINIT_MODULE | id::INIT_MODULE)
    });
    assert!(m.ret < 0, "a random file must not load: {}", m.ret);
    assert_eq!(r.chain(m.pid).first().map(String::as_str), Some("insmod"));
    let x = exec_of(&ev, "/insmod");
    assert!(x.list("args")[1].ends_with("ferret_evil.ko"));
}

#[test]
fn symlink_to_shadow_is_recorded() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("14-symlink-sensitive");
    let s = find(&ev, "symlinkat", |e| {
        matches!(e.kind, id::SYMLINKAT | id::SYMLINK) && e.s("target") == "/etc/shadow"
    });
    assert_eq!(s.ret, 0);
    assert!(s.s("linkpath").ends_with("shadow-link"));
}

#[test]
fn chmod_plus_x_on_dropped_file_then_exec() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("15-chmod-dropped");
    let ch = find(&ev, "chmod +x", |e| {
        e.kind == id::FCHMODAT && e.s("filename").ends_with("/dropped.sh")
    });
    assert_eq!(ch.i("mode").map(|m| m & 0o111), Some(0o111));
    let x = exec_of(&ev, "/dropped.sh");
    assert_eq!(x.ret, 0);
}

#[test]
fn memfd_exec_is_visible_as_memfd_create_then_exec_of_its_fd() {
    let Some(r) = recording() else { return };
    let ev = r.scenario("16-memfd-exec");
    let m = find(&ev, "memfd_create", |e| {
        e.kind == id::MEMFD_CREATE && e.s("name") == "payload"
    });
    assert!(m.ret >= 3);
    let x = find(&ev, "exec of the memfd", |e| {
        e.kind == id::EXECVE && e.s("filename") == format!("/proc/self/fd/{}", m.ret)
    });
    assert_eq!(x.ret, 0);
    assert_eq!(x.list("args"), ["payload"]);
    assert_ne!(x.pid, m.pid, "the forked child execs");
    let _ = x.tid;
}

#[test]
fn events_are_numbered_without_gaps() {
    let Some(r) = recording() else { return };
    for (i, e) in r.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
    }
}

#[test]
fn default_rules_detect_every_scenario_in_the_live_recording() {
    let Some(r) = recording() else { return };
    let cap = Capture::open(&r.path).expect("open");
    let set = ruleset::load_rules(&[root().join("rules")], &ruleset::Selection::default());
    assert_eq!(set.errors(), 0);
    let rules: Vec<_> = set.enabled().cloned().collect();
    let opts = engine::run::RunOptions {
        matching: engine::run::Matching::All,
        threads: 0,
        ..Default::default()
    };
    let res = engine::run::run(&cap, &rules, &opts);
    let fired: std::collections::BTreeSet<&str> =
        res.alerts.iter().map(|a| a.rule.as_str()).collect();
    for rule in [
        "Terminal shell spawned",
        "Sensitive file read",
        "Write below etc",
        "Write below binary dir",
        "Package management process launched",
        "Download tool launched",
        "Reverse shell via redirected socket",
        "Netcat with program execution",
        "Crypto miner launched",
        "Service account token read",
        "Setuid or setgid bit set",
        // The effective uid comes from the kernel at exec, so this holds for
        // a process that exits at once too.
        "Setuid program run by another user",
        "Namespace change",
        "Kernel module load",
        "Symlink to sensitive file",
        "Dropped file made executable",
        "Fileless execution from memfd",
    ] {
        assert!(
            fired.contains(rule),
            "{rule} did not fire on the live recording; fired: {fired:?}"
        );
    }
}
