//! State transitions of process lineage on captures built in memory, with
//! the kernel facts a live recording carries: pid reuse without a recorded
//! exit, orphans adopted by the namespace's init or by a child subreaper
//! (set at exec or by prctl), threads with their namespace tids, a fork by
//! a thread of another process (CLONE_PARENT), and the execve return that
//! follows a kernel procexec.

use capture::kind::{id, task_flags};
use capture::schema::{CaptureMeta, ProcessInfo, Snapshot};
use capture::{Bytes, Capture, CaptureWriter, CaptureWriterBuilder, EventHeader};
use engine::run::{run, Matching, RunOptions};
use ruleset::load_rules_str;

type W = CaptureWriter<Vec<u8>>;

fn writer() -> W {
    let snap = Snapshot {
        processes: vec![ProcessInfo {
            pid: 1,
            ppid: 0,
            comm: "init".into(),
            exe: "/sbin/init".into(),
            args: vec!["init".into()],
            cwd: "/".into(),
            ..ProcessInfo::default()
        }],
        users: Vec::new(),
        groups: Vec::new(),
    };
    CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &CaptureMeta::default(), Some(&snap))
        .expect("writer")
}

/// A procfork with kernel facts: `caller` forks `child` (tid `tid`) whose
/// real parent is `ppid`.
#[allow(clippy::too_many_arguments)]
fn fork(w: &mut W, ts: u64, caller: u32, child: u32, tid: u32, ppid: u32, comm: &str, flags: u64) {
    let h = EventHeader {
        ts,
        pid: caller,
        tid: caller,
        kind: id::PROC_FORK,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.int(i64::from(child))
            .int(i64::from(tid))
            .uint(if flags & task_flags::THREAD != 0 {
                0x10000
            } else {
                0
            })
            .int(i64::from(ppid))
            .int(i64::from(ppid))
            .str(comm)
            .str("/bin/x")
            .str("/")
            .uint(0)
            .uint(0)
            .uint(0)
            .uint(0)
            .uint(u64::from(u32::MAX))
            .uint(0)
            .str("/")
            .int(1)
            .int(1)
            .int(i64::from(child))
            .int(i64::from(tid) + 1000)
            .uint(0)
            .uint(0)
            .uint(0)
            .uint(flags)
            .int(1);
    })
    .expect("push");
}

/// A procexec with kernel facts.
fn exec(w: &mut W, ts: u64, pid: u32, ppid: u32, exe: &str, comm: &str, flags: u64) {
    let h = EventHeader {
        ts,
        pid,
        tid: pid,
        kind: id::PROC_EXEC,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.str(exe)
            .str_list([comm])
            .str(comm)
            .str("/")
            .uint(0)
            .uint(0)
            .uint(0)
            .uint(u64::from(u32::MAX))
            .uint(0)
            .str("/")
            .str_list(Vec::<&str>::new())
            .int(i64::from(ppid))
            .str(exe)
            .uint(0)
            .int(1)
            .int(1)
            .int(i64::from(pid))
            .int(i64::from(pid))
            .uint(0)
            .uint(0)
            .uint(0)
            .uint(flags)
            .int(1)
            .int(i64::from(pid));
    })
    .expect("push");
}

fn exit(w: &mut W, ts: u64, pid: u32) {
    let h = EventHeader {
        ts,
        pid,
        tid: pid,
        kind: id::PROC_EXIT,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.int(0).absent().uint(1);
    })
    .expect("push");
}

/// An open of `path` by `pid`/`tid`: the event the rule reports on.
fn open(w: &mut W, ts: u64, pid: u32, tid: u32, path: &str) {
    let h = EventHeader {
        ts,
        pid,
        tid,
        kind: id::OPENAT,
        ret: 3,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.int(-100).str(path).uint(0).uint(0);
    })
    .expect("push");
}

/// `fd.name -> "proc.ppid proc.pname proc.exepath thread.vtid"` for every open.
fn facts(bytes: Vec<u8>) -> std::collections::BTreeMap<String, String> {
    let cap = Capture::from_bytes(Bytes::Owned(bytes), "mem.cap").expect("open");
    let rules = "- rule: opens\n  desc: every open\n  condition: evt.type = openat\n  output: \"%fd.name|%proc.ppid %proc.pname %proc.exepath %thread.vtid\"\n  priority: INFO\n";
    let set = load_rules_str("lineage", rules, &Default::default());
    assert_eq!(set.errors(), 0);
    let compiled: Vec<_> = set.enabled().cloned().collect();
    let opts = RunOptions {
        matching: Matching::All,
        threads: 0,
        ..Default::default()
    };
    run(&cap, &compiled, &opts)
        .alerts
        .iter()
        .map(|a| {
            let (k, v) = a.output.split_once('|').expect("format");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn a_reused_pid_is_a_new_process_even_without_the_old_ones_exit() {
    let mut w = writer();
    fork(&mut w, 10, 1, 100, 100, 1, "shell", 0);
    exec(&mut w, 11, 100, 1, "/bin/shell", "shell", 0);
    fork(&mut w, 12, 1, 150, 150, 1, "other", 0);
    exec(&mut w, 13, 150, 1, "/bin/other", "other", 0);
    fork(&mut w, 20, 100, 200, 200, 100, "shell", 0);
    exec(&mut w, 21, 200, 100, "/bin/old", "old", 0);
    open(&mut w, 22, 200, 200, "/first");
    // 200's exit was lost; the pid comes back as a child of 150.
    fork(&mut w, 30, 150, 200, 200, 150, "other", 0);
    open(&mut w, 31, 200, 200, "/second");
    let f = facts(w.finish(0).expect("finish").0);
    assert_eq!(f["/first"], "100 shell /bin/old 200");
    assert_eq!(f["/second"], "150 other /bin/x 200");
}

#[test]
fn orphans_go_to_the_namespace_init_or_the_nearest_subreaper() {
    let mut w = writer();
    // 100 -> 200 -> 300; 200 exits: 300 goes to init (the reaper, 1).
    fork(&mut w, 10, 1, 100, 100, 1, "top", 0);
    exec(&mut w, 11, 100, 1, "/bin/top", "top", 0);
    fork(&mut w, 12, 100, 200, 200, 100, "top", 0);
    exec(&mut w, 13, 200, 100, "/bin/mid", "mid", 0);
    fork(&mut w, 14, 200, 300, 300, 200, "mid", 0);
    open(&mut w, 15, 300, 300, "/before");
    exit(&mut w, 16, 200);
    open(&mut w, 17, 300, 300, "/after-init");
    // 400 is a subreaper from its exec on; 401 under it loses its parent.
    fork(&mut w, 20, 1, 400, 400, 1, "init", 0);
    exec(
        &mut w,
        21,
        400,
        1,
        "/bin/reaper",
        "reaper",
        task_flags::SUBREAPER,
    );
    fork(&mut w, 22, 400, 401, 401, 400, "reaper", 0);
    exec(&mut w, 23, 401, 400, "/bin/mid", "mid", 0);
    fork(&mut w, 24, 401, 402, 402, 401, "mid", 0);
    exit(&mut w, 25, 401);
    open(&mut w, 26, 402, 402, "/after-subreaper");
    let f = facts(w.finish(0).expect("finish").0);
    assert_eq!(f["/before"], "200 mid /bin/x 300");
    assert_eq!(f["/after-init"], "1 init /bin/x 300");
    assert_eq!(f["/after-subreaper"], "400 reaper /bin/x 402");
}

#[test]
fn prctl_makes_a_subreaper_and_threads_keep_their_namespace_tid() {
    let mut w = writer();
    fork(&mut w, 10, 1, 500, 500, 1, "init", 0);
    exec(&mut w, 11, 500, 1, "/bin/sup", "sup", 0);
    let h = EventHeader {
        ts: 12,
        pid: 500,
        tid: 500,
        kind: id::PRCTL,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.uint(36).uint(1).absent();
    })
    .expect("push");
    // A thread of 500 (tid 510, namespace tid 1510).
    fork(&mut w, 13, 500, 500, 510, 1, "sup", task_flags::THREAD);
    open(&mut w, 14, 500, 510, "/thread");
    fork(&mut w, 15, 500, 501, 501, 500, "sup", 0);
    fork(&mut w, 16, 501, 502, 502, 501, "sup", 0);
    exit(&mut w, 17, 501);
    open(&mut w, 18, 502, 502, "/adopted");
    let f = facts(w.finish(0).expect("finish").0);
    assert_eq!(f["/thread"], "1 init /bin/sup 1510");
    assert_eq!(f["/adopted"], "500 sup /bin/x 502");
}

#[test]
fn clone_parent_takes_the_kernels_parent_not_the_caller() {
    let mut w = writer();
    fork(&mut w, 10, 1, 600, 600, 1, "init", 0);
    exec(&mut w, 11, 600, 1, "/bin/a", "a", 0);
    fork(&mut w, 12, 600, 601, 601, 600, "a", 0);
    exec(&mut w, 13, 601, 600, "/bin/b", "b", 0);
    // 601 forks with CLONE_PARENT: the child's parent is 600.
    fork(&mut w, 14, 601, 602, 602, 600, "b", 0);
    open(&mut w, 15, 602, 602, "/sibling");
    let f = facts(w.finish(0).expect("finish").0);
    assert_eq!(f["/sibling"], "600 a /bin/x 602");
}

#[test]
fn the_execve_return_after_a_kernel_procexec_keeps_the_kernels_image() {
    let mut w = writer();
    fork(&mut w, 10, 1, 700, 700, 1, "init", 0);
    exec(&mut w, 11, 700, 1, "/usr/bin/busybox", "exe", 0);
    let h = EventHeader {
        ts: 12,
        pid: 700,
        tid: 700,
        kind: id::EXECVE,
        ..EventHeader::default()
    };
    w.push(&h, |a| {
        a.str("/proc/self/exe")
            .str_list(["cat"])
            .str_list(Vec::<&str>::new());
    })
    .expect("push");
    open(&mut w, 13, 700, 700, "/image");
    let f = facts(w.finish(0).expect("finish").0);
    assert_eq!(f["/image"], "1 init /usr/bin/busybox 700");
}

#[test]
fn a_parent_cycle_in_a_hostile_snapshot_ends_every_ancestor_walk() {
    let procs = [(10, 11, "a"), (11, 10, "b")]
        .iter()
        .map(|&(pid, ppid, comm)| ProcessInfo {
            pid,
            ppid,
            comm: comm.into(),
            ..ProcessInfo::default()
        })
        .collect();
    let snap = Snapshot {
        processes: procs,
        users: Vec::new(),
        groups: Vec::new(),
    };
    let mut w = CaptureWriterBuilder::new()
        .build(Vec::new(), "mem", &CaptureMeta::default(), Some(&snap))
        .expect("writer");
    open(&mut w, 5, 10, 10, "/x");
    let cap = Capture::from_bytes(Bytes::Owned(w.finish(0).expect("finish").0), "cycle.cap")
        .expect("open");
    let rules = "- rule: cycle\n  desc: ancestors of a cycle\n  condition: evt.type = openat and not proc.aname in (zzz)\n  output: \"%proc.aname[2] %proc.aname[4000000000]\"\n  priority: INFO\n";
    let set = load_rules_str("cycle", rules, &Default::default());
    assert_eq!(set.errors(), 0);
    let compiled: Vec<_> = set.enabled().cloned().collect();
    let opts = RunOptions {
        matching: Matching::All,
        threads: 0,
        ..Default::default()
    };
    let res = run(&cap, &compiled, &opts);
    assert_eq!(res.alerts.len(), 1);
    assert_eq!(res.alerts[0].output, "a <NA>");
}
