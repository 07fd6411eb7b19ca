//! State transitions and field extraction on captures built in memory: a
//! start snapshot, then events whose effect on every field class is known
//! (evt, proc, user, fd, fs, container), read back through a `%field` format
//! compiled with the direct API and evaluated by the replay loop.

use capture::args::SockAddr;
use capture::kind::id;
use capture::schema::{CaptureMeta, GroupInfo, ProcessInfo, Snapshot, UserInfo};
use capture::{Bytes, Capture, CaptureWriter, CaptureWriterBuilder, EventHeader};
use engine::eval::{format_output_in, matches_in};
use engine::replay::{CaptureFacts, Replay};
use ruleset::compile::{compile_condition, compile_format};
use ruleset::load::Definitions;

type W = CaptureWriter<Vec<u8>>;

/// The container id the recorder derives from a cgroup path ("" on the host).
fn container_meta_short(cgroup: &str) -> String {
    cgroup
        .rsplit('/')
        .next()
        .and_then(|l| l.strip_prefix("docker-"))
        .and_then(|l| l.strip_suffix(".scope"))
        .map(|id| id[..12].to_string())
        .unwrap_or_default()
}

fn writer() -> W {
    let proc_ = |pid, ppid, uid, comm: &str, exe: &str, cwd: &str, cgroup: &str| ProcessInfo {
        container_id: container_meta_short(cgroup),
        pid,
        ppid,
        uid,
        gid: uid,
        euid: uid,
        egid: uid,
        comm: comm.into(),
        exe: exe.into(),
        args: vec![comm.into(), "-l".into()],
        cwd: cwd.into(),
        cgroup: cgroup.into(),
        ..ProcessInfo::default()
    };
    let snap = Snapshot {
        processes: vec![
            proc_(1, 0, 0, "systemd", "/usr/lib/systemd/systemd", "/", "/init.scope"),
            proc_(100, 1, 1000, "bash", "/usr/bin/bash", "/home/alice", "/user.slice"),
            proc_(
                200,
                1,
                0,
                "nginx",
                "/usr/sbin/nginx",
                "/",
                "/system.slice/docker-3ad7b6c1a2e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8.scope",
            ),
        ],
        users: vec![
            UserInfo {
                uid: 0,
                gid: 0,
                name: "root".into(),
                home: "/root".into(),
                shell: "/bin/bash".into(),
            },
            UserInfo {
                uid: 1000,
                gid: 1000,
                name: "alice".into(),
                home: "/home/alice".into(),
                shell: "/bin/bash".into(),
            },
        ],
        groups: vec![GroupInfo {
            gid: 1000,
            name: "alice".into(),
        }],
    };
    let meta = CaptureMeta {
        hostname: "node-7".into(),
        ..CaptureMeta::default()
    };
    CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &meta, Some(&snap))
        .expect("writer")
}

fn h(ts: u64, pid: u32, kind: u16, ret: i64) -> EventHeader {
    EventHeader {
        ts,
        pid,
        tid: pid,
        kind,
        ret,
        ..EventHeader::default()
    }
}

/// `visit` on every event of `cap`, through the replay loop.
fn each<T>(cap: &Capture, visit: impl Fn(&engine::eval::EvCtx<'_>) -> T) -> Vec<T> {
    let mut replay = Replay::new(
        &cap.snapshot().expect("snapshot").expect("snapshot"),
        CaptureFacts::of(cap, "mem"),
    );
    let mut out = Vec::new();
    for i in 0..cap.chunks().len() {
        let c = cap.load_chunk(i).expect("chunk");
        for e in c.events() {
            out.push(replay.step(&e, &visit));
        }
    }
    out
}

/// Every event's rendering of `format`.
fn render(cap: &Capture, format: &str) -> Vec<String> {
    let (parts, _) =
        compile_format(&Definitions::default(), "test", format).expect("format compiles");
    each(cap, |cx| format_output_in(&parts, cx).0)
}

/// Whether `condition` holds on each event.
fn holds(cap: &Capture, condition: &str) -> Vec<bool> {
    let (prog, _) =
        compile_condition(&Definitions::default(), "test", condition).expect("compiles");
    each(cap, |cx| matches_in(&prog, cx))
}

fn finish(w: W) -> Capture {
    Capture::from_bytes(Bytes::Owned(w.finish(0).expect("finish").0), "mem").expect("open")
}

#[test]
fn file_fields_follow_open_chdir_and_close() {
    let mut w = writer();
    // bash (alice, cwd /home/alice) opens notes.txt for writing: fd 3.
    w.push(&h(10, 100, id::OPENAT, 3), |a| {
        a.int(-100).str("notes.txt").uint(0o101).uint(0o644);
    })
    .expect("push");
    // It writes to fd 3, changes directory, closes fd 3, reads fd 3.
    w.push(&h(20, 100, id::CHDIR, 0), |a| {
        a.str("/tmp");
    })
    .expect("push");
    w.push(&h(30, 100, id::CLOSE, 0), |a| {
        a.int(3);
    })
    .expect("push");
    w.push(&h(40, 100, id::READ, -9), |a| {
        a.int(3).uint(16).absent();
    })
    .expect("push");
    // A failed open of a relative path in the new directory.
    w.push(&h(50, 100, id::OPENAT, -2), |a| {
        a.int(-100).str("../etc/shadow").uint(0).uint(0);
    })
    .expect("push");
    let cap = finish(w);
    let lines = render(
        &cap,
        "%evt.num %evt.type %proc.name %proc.pname %user.name %user.uid %proc.cwd | %fd.num %fd.name %fd.directory %fd.filename %fd.typechar | %evt.arg.flags %evt.res %evt.failed %fs.path.name %evt.is_open_write %evt.hostname",
    );
    assert_eq!(
        lines,
        [
            "1 openat bash systemd alice 1000 /home/alice/ | 3 /home/alice/notes.txt /home/alice notes.txt f | O_WRONLY|O_CREAT SUCCESS false /home/alice/notes.txt true node-7",
            // chdir names a path (fs.path.name) and changes proc.cwd.
            "2 chdir bash systemd alice 1000 /tmp/ | <NA> <NA> <NA> <NA> <NA> | <NA> SUCCESS false /tmp false node-7",
            // close still sees the fd it closes (retired after evaluation).
            "3 close bash systemd alice 1000 /tmp/ | 3 /home/alice/notes.txt /home/alice notes.txt f | <NA> SUCCESS false <NA> false node-7",
            // then it is gone.
            "4 read bash systemd alice 1000 /tmp/ | 3 <NA> <NA> <NA> <NA> | <NA> EBADF true <NA> false node-7",
            // A failed open names the path it tried, resolved against the new cwd.
            "5 openat bash systemd alice 1000 /tmp/ | -2 /etc/shadow /etc shadow f | O_RDONLY ENOENT true /etc/shadow false node-7",
        ]
    );
}

#[test]
fn socket_fields_follow_socket_and_connect() {
    let mut w = writer();
    w.push(&h(10, 100, id::SOCKET, 4), |a| {
        a.uint(2).uint(1).uint(6);
    })
    .expect("push");
    w.push(&h(20, 100, id::CONNECT, 0), |a| {
        a.int(4)
            .sockaddr(&SockAddr::Inet([10, 1, 2, 3], 443))
            .sockaddr(&SockAddr::Inet([192, 168, 0, 5], 50000));
    })
    .expect("push");
    let cap = finish(w);
    let lines = render(
        &cap,
        "%fd.type %fd.l4proto %fd.name | %fd.cip:%fd.cport %fd.sip:%fd.sport %fd.lip %fd.rip %fd.is_server %fd.sockfamily",
    );
    assert_eq!(lines[1], "ipv4 tcp 192.168.0.5:50000->10.1.2.3:443 | 192.168.0.5:50000 10.1.2.3:443 192.168.0.5 10.1.2.3 false ip");
    assert_eq!(
        holds(
            &cap,
            "fd.snet = 10.0.0.0/8 and fd.sport = 443 and not fd.cnet = 10.0.0.0/8"
        ),
        [false, true]
    );
}

#[test]
fn container_fields_come_from_the_cgroup_and_the_container_record() {
    let mut w = writer();
    let json = r#"{"container":{"id":"3ad7b6c1a2e4","full_id":"3ad7b6c1a2e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8","name":"web","image":"nginx:1.25","type":"docker","privileged":false,"labels":{"io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"u-1"}}}"#;
    w.push(&h(5, 0, id::CONTAINER, 0), |a| {
        a.str("3ad7b6c1a2e4")
            .str("web")
            .str("nginx:1.25")
            .uint(0)
            .str(json)
            .uint(1);
    })
    .expect("push");
    for pid in [200, 100] {
        w.push(&h(10, pid, id::OPENAT, 5), |a| {
            a.int(-100).str("/etc/hosts").uint(0).uint(0);
        })
        .expect("push");
    }
    let cap = finish(w);
    let lines = render(
        &cap,
        "%proc.name %container.id %container.name %container.image.repository %container.image.tag %k8s.ns.name %k8s.pod.name",
    );
    assert_eq!(lines[1], "nginx 3ad7b6c1a2e4 web nginx 1.25 shop web-0");
    assert_eq!(lines[2], "bash host host <NA> <NA> <NA> <NA>");
}

#[test]
fn an_exec_without_a_cwd_keeps_the_inherited_one() {
    let mut w = writer();
    // sysdig's execve exits often carry an empty cwd: the process keeps
    // the directory it had (libsinsp does the same).
    for (ts, cwd) in [(10, ""), (20, "/srv")] {
        w.push(&h(ts, 100, id::PROC_EXEC, 0), |a| {
            a.str("/usr/bin/cat").str_list(["cat"]).str("cat").str(cwd);
        })
        .expect("push");
    }
    let cap = finish(w);
    assert_eq!(
        render(&cap, "%proc.name %proc.cwd"),
        ["cat /home/alice/", "cat /srv/"]
    );
}
