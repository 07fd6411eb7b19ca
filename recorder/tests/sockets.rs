//! Socket tuples both ways, against ground truth: many Python clients at
//! once open TCP over IPv4 and IPv6, UDP and unix sockets and print what
//! getsockname/getpeername say of each fd; every connect, accept and sendto
//! Ferret recorded must carry the same local and remote ends.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferret_tests::recorder::Recorder;

mod common;

const CLIENTS: usize = 16;

const SCRIPT: &str = r#"
import socket, os, sys
tag = sys.argv[1]
out = []
def note(kind, fd, s, peer=True):
    l = s.getsockname()
    r = s.getpeername() if peer else None
    out.append("%d %s %d %s %d %s %d" % (os.getpid(), kind, fd, l[0], l[1], r[0] if r else "-", r[1] if r else 0))
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.socket(); c.connect(s.getsockname()); a, _ = s.accept()
note("connect", c.fileno(), c); note("accept4", a.fileno(), a)
a.send(b"hi"); c.recv(2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.bind(("127.0.0.1", 0))
u.sendto(b"x", v.getsockname())
l = u.getsockname(); r = v.getsockname()
out.append("%d sendto %d %s %d %s %d" % (os.getpid(), u.fileno(), l[0], l[1], r[0], r[1]))
s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", 0)); s6.listen()
c6 = socket.socket(socket.AF_INET6); c6.connect(s6.getsockname()[:2]); a6, _ = s6.accept()
note("connect", c6.fileno(), c6); note("accept4", a6.fileno(), a6)
path = "/tmp/ferret-sock-%s" % tag
try: os.unlink(path)
except OSError: pass
x = socket.socket(socket.AF_UNIX); x.bind(path); x.listen()
y = socket.socket(socket.AF_UNIX); y.connect(path); z, _ = x.accept()
out.append("%d connect %d unix - %s 0" % (os.getpid(), y.fileno(), path))
out.append("%d accept4 %d unix - %s 0" % (os.getpid(), z.fileno(), path))
os.unlink(path)
print("\n".join(out))
"#;

#[test]
fn connect_accept_and_sendto_carry_both_ends_as_the_sockets_report_them() {
    if ferret_tests::skip_unless(
        ferret_tests::recorder::can_record(),
        "root with BPF rights and kernel BTF",
    ) {
        return;
    }
    let cap = ferret_tests::scratch("sockets.cap");
    let _ = std::fs::remove_file(&cap);
    let rec = Recorder::start(
        env!("CARGO_BIN_EXE_recorder"),
        &[
            "--out",
            cap.to_str().expect("path"),
            "--quiet",
            "--comm",
            "python3",
        ],
    );
    let kids: Vec<Child> = (0..CLIENTS)
        .map(|i| {
            Command::new("python3")
                .args(["-c", SCRIPT, &i.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3")
        })
        .collect();
    let mut truth: HashMap<(String, String, String), (String, String)> = HashMap::new();
    for k in kids {
        let o = k.wait_with_output().expect("wait");
        assert!(o.status.success(), "a client failed");
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (local, remote) = if f[3] == "unix" {
                ("-".to_string(), f[5].to_string())
            } else {
                (format!("{} {}", f[3], f[4]), format!("{} {}", f[5], f[6]))
            };
            truth.insert((f[0].into(), f[1].into(), f[2].into()), (local, remote));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    rec.stop();
    assert_eq!(truth.len(), CLIENTS * 7);

    let outputs = common::outputs(
        &cap,
        "proc.name = python3 and evt.type in (connect, accept, accept4, sendto)",
        "%proc.pid|%evt.type|%fd.num|%fd.lip|%fd.lport|%fd.rip|%fd.rport|%fd.name",
    );
    let mut seen = 0;
    let mut misses = Vec::new();
    for o in &outputs {
        let f: Vec<&str> = o.split('|').collect();
        let key = (f[0].to_string(), f[1].to_string(), f[2].to_string());
        let Some((local, remote)) = truth.get(&key) else {
            continue;
        };
        seen += 1;
        let (got_l, got_r) = if local == "-" {
            ("-".to_string(), f[7].to_string())
        } else {
            (format!("{} {}", f[3], f[4]), format!("{} {}", f[5], f[6]))
        };
        if &got_l != local || &got_r != remote {
            misses.push(format!(
                "{key:?}: Ferret local {got_l} remote {got_r}, the socket said {local} / {remote}"
            ));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
    assert_eq!(seen, truth.len(), "every call was recorded and matched");
}
