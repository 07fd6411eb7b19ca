//! Conversion of a .scap capture into Ferret's model and format.
//!
//! * The process list, fd lists and user lists become the start
//!   [`Snapshot`]; threads are grouped into their processes.
//! * Each exit event is merged with the entry event of the same thread that
//!   precedes it (Ferret's events are completed calls, as in current Falco):
//!   the exit's time, CPU and result, the union of both events' parameters.
//!   Entry-only events (`exit`, `exit_group`, `rt_sigreturn`, `procexit`,
//!   `signaldeliver`, `container`) stand alone. An entry whose exit never
//!   came (a call still blocked when the capture ended) is dropped and
//!   counted: its result is unknown.
//! * A successful `execve` also yields a `procexec` record, placed before the
//!   call, carrying the new image (args, comm, cwd, cgroups, env, tty,
//!   loginuid); `clone` exits name the child and whether it is a thread.
//! * sysdig's internal events (`procinfo`, `switch`, `scapevent`, `k8s`,
//!   `useradded`, `groupadded`) are not events in Ferret; users and groups
//!   that `useradded`/`groupadded` announce join the snapshot. They are
//!   counted by name in the report.
//! * sysdig's own flag encodings (`PPM_O_*`, `PPM_CL_*`, `PPM_MAP_*`) are
//!   translated to the kernel's, which is what Ferret stores; results that the
//!   scap event did not carry (generic calls, `getuid`) are
//!   [`RET_NONE`].
//!
//! Events of codes missing from [`crate::table`] are counted and skipped,
//! never fatal.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rustc_hash::{FxHashMap, FxHashSet};

use capture::kind::{id, RET_NONE};
use capture::schema::{CaptureMeta, FdInfo, FdTarget, GroupInfo, ProcessInfo, Snapshot, UserInfo};
use capture::{ArgWriter, CaptureWriter, EventHeader, SockAddr};

use crate::flags::{clone_flags, fcntl_cmd, map_flags, open_flags};
use crate::table::{event_info, EventInfo, Pt};
use crate::{RawEvent, ScapAccount, ScapFile};

/// What an import did, for the summary and for comparisons with sysdig.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Event blocks read.
    pub scap_events: u64,
    /// Ferret events written.
    pub written: u64,
    /// Entry/exit pairs merged into one event.
    pub merged: u64,
    /// Exit events whose entry was not in the capture (written alone).
    pub exits_alone: u64,
    /// Entry events written alone (calls that do not return).
    pub entries_alone: u64,
    /// Entry events dropped because their exit never came.
    pub entries_dropped: u64,
    /// Internal sysdig events not carried over, by name.
    pub internal: BTreeMap<&'static str, u64>,
    /// Events of codes this build does not know, by code.
    pub unknown: BTreeMap<u16, u64>,
    /// For each written event (by Ferret sequence number), the sysdig event
    /// number (`evt.num`, 1-based) it came from: the exit of a merged pair,
    /// or the lone event; 0 for records Ferret adds (`procexec`).
    pub origin: Vec<u64>,
    /// For each written event, the sysdig number of the entry event merged
    /// into it (0 when none).
    pub entry_origin: Vec<u64>,
}

/// The capture metadata of an imported trace.
pub fn meta(scap: &ScapFile, source: &str) -> CaptureMeta {
    let m = scap.machine.as_ref();
    CaptureMeta {
        hostname: m.map(|m| m.hostname.clone()).unwrap_or_default(),
        kernel_release: String::new(),
        arch: "x86_64".into(),
        num_cpus: m.map_or(0, |m| m.num_cpus),
        boot_time_unix_ns: 0,
        recorder: format!("ferret import {}", env!("CARGO_PKG_VERSION")),
        command_line: Vec::new(),
        filters: Vec::new(),
        snaplen: 0,
        start_unix_ns: first_timed(scap),
        segment: 0,
        source: format!(
            "scap:{source} (version {}.{})",
            scap.version.0, scap.version.1
        ),
    }
}

/// The time of a trace's first timed event (sysdig writes its container
/// dump with ts 0), 0 when none has one.
fn first_timed(scap: &ScapFile) -> u64 {
    scap.events
        .iter()
        .map(|e| e.ts)
        .find(|&t| t != 0)
        .unwrap_or(0)
}

/// The start snapshot of a trace: its process list grouped into processes,
/// with their fds, and its users and groups (plus those `useradded` and
/// `groupadded` events announce for the host).
pub fn snapshot(scap: &ScapFile) -> Snapshot {
    let mut procs: Vec<ProcessInfo> = Vec::new();
    let mut by_pid: HashMap<u64, usize> = HashMap::new();
    // Leaders first, so that a process takes its main thread's view.
    let mut order: Vec<&crate::ScapProcess> = scap.processes.iter().collect();
    order.sort_by_key(|p| (p.tid != p.pid, p.pid, p.tid));
    for p in order {
        if let Some(&i) = by_pid.get(&p.pid) {
            procs[i].threads.push(p.tid as u32);
            if procs[i].fds.is_empty() {
                procs[i].fds = fds_of(scap, p.tid);
            }
            continue;
        }
        let (cgroup, container_id) = pick_cgroup(&p.cgroups);
        let mut args = Vec::with_capacity(p.args.len() + 1);
        args.push(p.exe.clone());
        args.extend(p.args.iter().cloned());
        by_pid.insert(p.pid, procs.len());
        procs.push(ProcessInfo {
            pid: p.pid as u32,
            ppid: p.ptid as u32,
            threads: if p.tid != p.pid {
                vec![p.tid as u32]
            } else {
                Vec::new()
            },
            uid: p.uid,
            gid: p.gid,
            euid: p.uid,
            egid: p.gid,
            loginuid: p.loginuid.unwrap_or(u32::MAX),
            comm: p.comm.clone(),
            exe: p.exepath.clone().unwrap_or_default(),
            args,
            cwd: p.cwd.clone(),
            tty: p.tty.unwrap_or(0),
            start_ts: 0,
            cgroup,
            container_id,
            cap_effective: 0,
            fds: fds_of(scap, p.tid),
        });
    }
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for a in &scap.accounts {
        match a {
            ScapAccount::User {
                uid,
                gid,
                name,
                home,
                shell,
            } => users.push(UserInfo {
                uid: *uid,
                gid: *gid,
                name: name.clone(),
                home: home.clone(),
                shell: shell.clone(),
            }),
            ScapAccount::Group { gid, name } => groups.push(GroupInfo {
                gid: *gid,
                name: name.clone(),
            }),
        }
    }
    // Host accounts announced by events (container ones would need a
    // per-container table, which Ferret does not keep).
    for e in &scap.events {
        let p = |i: usize| e.params.get(i).map(cstr).unwrap_or_default();
        let host = |i: usize| e.params.get(i).is_none_or(|b| cstr(b).is_empty());
        if e.code == 354 && host(5) {
            let uid = num(e.params.first()) as u32;
            if !users.iter().any(|u| u.uid == uid) {
                users.push(UserInfo {
                    uid,
                    gid: num(e.params.get(1)) as u32,
                    name: p(2),
                    home: p(3),
                    shell: p(4),
                });
            }
        } else if e.code == 358 && host(2) {
            let gid = num(e.params.first()) as u32;
            if !groups.iter().any(|g| g.gid == gid) {
                groups.push(GroupInfo { gid, name: p(1) });
            }
        }
    }
    Snapshot {
        processes: procs,
        users,
        groups,
    }
}

/// The cgroup Ferret keeps for a process (the one naming a container, else
/// the first) and the container id, from scap's `controller=path` list.
fn pick_cgroup(cgroups: &[String]) -> (String, String) {
    let path = |c: &String| c.split_once('=').map_or(c.clone(), |(_, p)| p.to_string());
    for c in cgroups {
        let id = container_meta::cgroup::short_id(&path(c));
        if !id.is_empty() {
            return (path(c), id);
        }
    }
    (cgroups.first().map(path).unwrap_or_default(), String::new())
}

fn fds_of(scap: &ScapFile, tid: u64) -> Vec<FdInfo> {
    let Some(list) = scap.fds.get(&tid) else {
        return Vec::new();
    };
    list.iter()
        .map(|f| FdInfo {
            fd: f.fd as i32,
            target: match (f.kind, &f.sock) {
                (3..=6, Some(s)) => FdTarget::Inet {
                    proto: match s.l4 {
                        1 => 6,
                        2 => 17,
                        _ => 0,
                    },
                    local: s.sip.clone(),
                    local_port: s.sport,
                    remote: if s.listening {
                        vec![0; s.sip.len()]
                    } else {
                        s.dip.clone()
                    },
                    remote_port: s.dport,
                    listening: s.listening,
                },
                (1 | 2 | 16, _) => FdTarget::File {
                    path: f.name.clone(),
                },
                (7, _) => FdTarget::Pipe {
                    ino: f
                        .name
                        .trim_start_matches("pipe:[")
                        .trim_end_matches(']')
                        .parse()
                        .unwrap_or(0),
                },
                (8, _) => FdTarget::Unix {
                    path: f.name.clone(),
                },
                (20, _) => FdTarget::Memfd {
                    name: f.name.trim_start_matches("memfd:").to_string(),
                },
                // Anonymous inodes, written as /proc shows them.
                (9 | 11..=14 | 17..=19 | 21, _) => FdTarget::Other {
                    desc: match f.kind {
                        9 => "anon_inode:[eventfd]",
                        11 => "anon_inode:[signalfd]",
                        12 => "anon_inode:[eventpoll]",
                        13 => "anon_inode:inotify",
                        14 => "anon_inode:[timerfd]",
                        17 => "anon_inode:bpf",
                        18 => "anon_inode:[userfaultfd]",
                        19 => "anon_inode:[io_uring]",
                        _ => "anon_inode:[pidfd]",
                    }
                    .to_string(),
                },
                _ => FdTarget::Other {
                    desc: f.name.clone(),
                },
            },
        })
        .collect()
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A little-endian integer parameter of any width, sign-extended from its
/// width when `signed`.
fn int_of(b: &[u8], signed: bool) -> i64 {
    let mut x = [0u8; 8];
    let n = b.len().min(8);
    x[..n].copy_from_slice(&b[..n]);
    let v = u64::from_le_bytes(x);
    if signed && n > 0 && n < 8 {
        let shift = 64 - 8 * n as u32;
        ((v << shift) as i64) >> shift
    } else {
        v as i64
    }
}

fn num(b: Option<&[u8]>) -> u64 {
    b.map_or(0, |b| int_of(b, false) as u64)
}

fn list(b: &[u8]) -> Vec<&[u8]> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0).collect()
}

/// A `PT_SOCKADDR` parameter.
fn sockaddr(b: &[u8]) -> SockAddr<'_> {
    match b.split_first() {
        Some((2, r)) if r.len() >= 6 => {
            SockAddr::Inet([r[0], r[1], r[2], r[3]], u16::from_le_bytes([r[4], r[5]]))
        }
        Some((10, r)) if r.len() >= 18 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&r[..16]);
            SockAddr::Inet6(a, u16::from_le_bytes([r[16], r[17]]))
        }
        Some((1, r)) => SockAddr::Unix(r.split(|&c| c == 0).next().unwrap_or(r)),
        Some((f, _)) => SockAddr::Other(u16::from(*f)),
        None => SockAddr::None,
    }
}

/// A `PT_SOCKTUPLE` parameter: (source, destination).
fn socktuple(b: &[u8]) -> (SockAddr<'_>, SockAddr<'_>) {
    match b.split_first() {
        Some((2, r)) if r.len() >= 12 => (
            SockAddr::Inet([r[0], r[1], r[2], r[3]], u16::from_le_bytes([r[4], r[5]])),
            SockAddr::Inet([r[6], r[7], r[8], r[9]], u16::from_le_bytes([r[10], r[11]])),
        ),
        Some((10, r)) if r.len() >= 36 => {
            let (mut s, mut d) = ([0u8; 16], [0u8; 16]);
            s.copy_from_slice(&r[..16]);
            d.copy_from_slice(&r[18..34]);
            (
                SockAddr::Inet6(s, u16::from_le_bytes([r[16], r[17]])),
                SockAddr::Inet6(d, u16::from_le_bytes([r[34], r[35]])),
            )
        }
        Some((1, r)) if r.len() >= 16 => {
            let path = &r[16..];
            let path = path.split(|&c| c == 0).next().unwrap_or(path);
            (SockAddr::Unix(b""), SockAddr::Unix(path))
        }
        _ => (SockAddr::None, SockAddr::None),
    }
}

/// A `PT_FDLIST` parameter as text: `fd:flags` pairs.
fn fdlist(b: &[u8]) -> String {
    let n = b
        .get(..2)
        .map_or(0, |x| u16::from_le_bytes([x[0], x[1]]) as usize);
    (0..n)
        .filter_map(|i| {
            let e = b.get(2 + i * 10..12 + i * 10)?;
            Some(format!(
                "{}:{}",
                int_of(&e[..8], true),
                u16::from_le_bytes([e[8], e[9]])
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A parameter of type `ty` read as an integer: sign-extended for the
/// signed types.
fn int_typed(b: &[u8], ty: Option<Pt>) -> Option<i64> {
    let signed = matches!(
        ty,
        Some(Pt::Errno | Pt::Fd | Pt::Pid | Pt::Int32 | Pt::Int64)
    );
    let v = int_of(b, signed);
    // File descriptors are C ints; old drivers stored some (mmap's)
    // zero-extended in 64 bits, so -1 arrives as 4294967295.
    Some(if ty == Some(Pt::Fd) {
        i64::from(v as i32)
    } else {
        v
    })
}

/// A string parameter's text: up to its first NUL.
fn c_text(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    b.split(|&c| c == 0).next().unwrap_or(b)
}

/// One call: its entry and exit events (either may be missing).
struct Call<'a> {
    enter: Option<(&'a RawEvent, &'static EventInfo)>,
    exit: Option<(&'a RawEvent, &'static EventInfo)>,
}

impl<'a> Call<'a> {
    /// Parameter `name` and its type: the exit's value if the exit has one
    /// (a non-empty one unless `keep_empty`), else the entry's; the type
    /// from the exit's table when it lists the parameter, else from the
    /// entry's. One pass over each table: this runs for every argument of
    /// every converted call.
    fn lookup(&self, name: &str, keep_empty: bool) -> (Option<&'a [u8]>, Option<Pt>) {
        let mut ty = None;
        if let Some((e, i)) = self.exit {
            if let Some(k) = i.index(name) {
                ty = Some(i.params[k].1);
                if let Some(b) = e.params.get(k).filter(|b| keep_empty || !b.is_empty()) {
                    return (Some(b), ty);
                }
            }
        }
        if let Some((e, i)) = self.enter {
            if let Some(k) = i.index(name) {
                let t = *ty.get_or_insert(i.params[k].1);
                let v = e.params.get(k).filter(|b| keep_empty || !b.is_empty());
                return (v, Some(t));
            }
        }
        (None, ty)
    }

    /// Parameter `name`, from the exit if it has it, else from the entry.
    fn p(&self, name: &str) -> Option<&'a [u8]> {
        self.lookup(name, false).0
    }

    /// Parameter `name` as stored, empty or not (an empty `data` is data
    /// of length 0, not a missing value).
    fn raw(&self, name: &str) -> Option<&'a [u8]> {
        self.lookup(name, true).0
    }

    fn int(&self, name: &str) -> Option<i64> {
        let (v, ty) = self.lookup(name, false);
        int_typed(v?, ty)
    }

    fn uint(&self, name: &str) -> Option<u64> {
        self.p(name).map(|b| int_of(b, false) as u64)
    }

    fn str(&self, name: &str) -> Option<&'a [u8]> {
        self.p(name).map(c_text)
    }

    /// The result: the exit's first parameter when it is `res` or `fd`.
    fn ret(&self) -> i64 {
        match self.exit {
            Some((e, i)) => match (i.params.first(), e.params.first()) {
                (Some(("res" | "fd", t)), Some(b)) if !b.is_empty() => int_of(
                    b,
                    matches!(t, Pt::Errno | Pt::Fd | Pt::Pid | Pt::Int32 | Pt::Int64),
                ),
                _ => RET_NONE,
            },
            None => RET_NONE,
        }
    }

    fn any(&self) -> &'a RawEvent {
        self.exit
            .or(self.enter)
            .map(|(e, _)| e)
            .expect("a call has an event")
    }
}

fn opt_int(a: &mut ArgWriter<'_>, v: Option<i64>) {
    match v {
        Some(v) => a.int(v),
        None => a.absent(),
    };
}

fn opt_uint(a: &mut ArgWriter<'_>, v: Option<u64>) {
    match v {
        Some(v) => a.uint(v),
        None => a.absent(),
    };
}

fn opt_str(a: &mut ArgWriter<'_>, v: Option<&[u8]>) {
    match v {
        Some(v) => a.str(v),
        None => a.absent(),
    };
}

fn opt_bytes(a: &mut ArgWriter<'_>, v: Option<&[u8]>) {
    match v {
        Some(v) => a.bytes(v),
        None => a.absent(),
    };
}

/// The Ferret kind for a scap event name, `None` for internal events.
/// [`kind_for`] by event code, from a table built once (every event asks).
fn kind_of(info: &EventInfo) -> Option<u16> {
    static BY_CODE: std::sync::OnceLock<crate::table::ByCode> = std::sync::OnceLock::new();
    BY_CODE
        .get_or_init(|| crate::table::ByCode::new(|_, e| kind_for(e.name)))
        .get(info.code)
}

fn kind_for(name: &str) -> Option<u16> {
    Some(match name {
        "syscall" => id::GENERIC,
        "open" => id::OPEN,
        "openat" => id::OPENAT,
        "close" => id::CLOSE,
        "read" => id::READ,
        "write" => id::WRITE,
        "writev" => id::WRITEV,
        "socket" => id::SOCKET,
        "bind" => id::BIND,
        "connect" => id::CONNECT,
        "listen" => id::LISTEN,
        "accept" => id::ACCEPT,
        "sendto" => id::SENDTO,
        "recvfrom" => id::RECVFROM,
        "sendmsg" => id::SENDMSG,
        "sendmmsg" => id::SENDMMSG,
        "recvmsg" => id::RECVMSG,
        "shutdown" => id::SHUTDOWN,
        "getsockname" => id::GETSOCKNAME,
        "getpeername" => id::GETPEERNAME,
        "setsockopt" => id::SETSOCKOPT,
        "getsockopt" => id::GETSOCKOPT,
        "pipe" => id::PIPE,
        "futex" => id::FUTEX,
        "stat" => id::STAT,
        "lstat" => id::LSTAT,
        "fstat" => id::FSTAT,
        "epoll_wait" => id::EPOLL_WAIT,
        "poll" => id::POLL,
        "ppoll" => id::PPOLL,
        "select" => id::SELECT,
        "lseek" => id::LSEEK,
        "getcwd" => id::GETCWD,
        "chdir" => id::CHDIR,
        "unlink" => id::UNLINK,
        "dup" => id::DUP,
        "signalfd" => id::SIGNALFD,
        "kill" => id::KILL,
        "nanosleep" => id::NANOSLEEP,
        "getrlimit" => id::GETRLIMIT,
        "fcntl" => id::FCNTL,
        "brk" => id::BRK,
        "mmap" => id::MMAP,
        "munmap" => id::MUNMAP,
        "ioctl" => id::IOCTL,
        "procexit" => id::PROC_EXIT,
        "sendfile" => id::SENDFILE,
        "getuid" => id::GETUID,
        "geteuid" => id::GETEUID,
        "getgid" => id::GETGID,
        "getegid" => id::GETEGID,
        "clone" => id::CLONE,
        "execve" => id::EXECVE,
        "signaldeliver" => id::SIGNALDELIVER,
        "getdents" => id::GETDENTS,
        "getdents64" => id::GETDENTS64,
        "setns" => id::SETNS,
        "access" => id::ACCESS,
        "container" => id::CONTAINER,
        "setpgid" => id::SETPGID,
        "pread" => id::PREAD64,
        "pwrite" => id::PWRITE64,
        "readv" => id::READV,
        "creat" => id::CREAT,
        "openat2" => id::OPENAT2,
        "unlinkat" => id::UNLINKAT,
        "rename" => id::RENAME,
        "renameat" => id::RENAMEAT,
        "renameat2" => id::RENAMEAT2,
        "mkdir" => id::MKDIR,
        "mkdirat" => id::MKDIRAT,
        "rmdir" => id::RMDIR,
        "symlink" => id::SYMLINK,
        "symlinkat" => id::SYMLINKAT,
        "link" => id::LINK,
        "linkat" => id::LINKAT,
        "chmod" => id::CHMOD,
        "fchmod" => id::FCHMOD,
        "fchmodat" => id::FCHMODAT,
        "chown" => id::CHOWN,
        "lchown" => id::LCHOWN,
        "fchown" => id::FCHOWN,
        "fchownat" => id::FCHOWNAT,
        "dup2" => id::DUP2,
        "dup3" => id::DUP3,
        "pipe2" => id::PIPE2,
        "memfd_create" => id::MEMFD_CREATE,
        "fchdir" => id::FCHDIR,
        "socketpair" => id::SOCKETPAIR,
        "accept4" => id::ACCEPT4,
        "clone3" => id::CLONE3,
        "fork" => id::FORK,
        "vfork" => id::VFORK,
        "execveat" => id::EXECVEAT,
        "mprotect" => id::MPROTECT,
        "setuid" => id::SETUID,
        "setgid" => id::SETGID,
        "setreuid" => id::SETREUID,
        "setregid" => id::SETREGID,
        "setresuid" => id::SETRESUID,
        "setresgid" => id::SETRESGID,
        "capset" => id::CAPSET,
        "unshare" => id::UNSHARE,
        "mount" => id::MOUNT,
        "umount" | "umount2" => id::UMOUNT2,
        "chroot" => id::CHROOT,
        "ptrace" => id::PTRACE,
        "init_module" => id::INIT_MODULE,
        "finit_module" => id::FINIT_MODULE,
        "delete_module" => id::DELETE_MODULE,
        "bpf" => id::BPF,
        "userfaultfd" => id::USERFAULTFD,
        "io_uring_setup" => id::IO_URING_SETUP,
        "tkill" => id::TKILL,
        "tgkill" => id::TGKILL,
        "prctl" => id::PRCTL,
        _ => return None,
    })
}

/// Entry events that are complete on their own.
fn entry_only(e: &RawEvent, info: &EventInfo) -> bool {
    match info.name {
        "procexit" | "signaldeliver" | "container" => true,
        // exit, exit_group and rt_sigreturn do not return.
        "syscall" => matches!(num(e.params.get(1)), 15 | 60 | 231),
        _ => false,
    }
}

/// A JSON string value `"key":"value"` in a flat search of `json` (enough
/// for the container records, whose keys are unique where it matters).
fn json_str(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    let rest = json[at..].trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = r.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            }
        }
        None
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim().to_string())
    }
}

/// Thread bookkeeping: which process each thread belongs to.
#[derive(Default)]
struct Threads {
    pid_of: FxHashMap<u64, u64>,
    members: FxHashMap<u64, FxHashSet<u64>>,
    /// Child processes a parent's clone exit announced.
    announced: FxHashSet<u64>,
}

impl Threads {
    fn add(&mut self, tid: u64, pid: u64) {
        if let Some(old) = self.pid_of.insert(tid, pid) {
            if old != pid {
                if let Some(m) = self.members.get_mut(&old) {
                    m.remove(&tid);
                }
            }
        }
        self.members.entry(pid).or_default().insert(tid);
    }

    fn pid(&self, tid: u64) -> u64 {
        self.pid_of.get(&tid).copied().unwrap_or(tid)
    }

    /// Removes a thread; true when it was its process's last.
    fn remove(&mut self, tid: u64) -> bool {
        let pid = self.pid(tid);
        self.pid_of.remove(&tid);
        match self.members.get_mut(&pid) {
            Some(m) => {
                m.remove(&tid);
                m.is_empty()
            }
            None => true,
        }
    }
}

/// Writes the events of `scap` (after [`meta`] and [`snapshot`] went into
/// the writer) and returns what was done.
pub fn import_events<W: capture::Sink>(
    scap: &ScapFile,
    w: &mut CaptureWriter<W>,
) -> capture::Result<ImportReport> {
    Ok(convert_all(scap, w)?.0)
}

/// [`import_events`], and the time of the latest event (if any).
fn convert_all<W: capture::Sink>(
    scap: &ScapFile,
    w: &mut CaptureWriter<W>,
) -> capture::Result<(ImportReport, Option<u64>)> {
    let mut conv = Converter::new(scap);
    for e in &scap.events {
        conv.event(Cow::Borrowed(e), w)?;
    }
    Ok(conv.finish())
}

/// The events half of a conversion: fed a trace's events in file order
/// (after [`meta`] and [`snapshot`] went into the writer), it merges
/// entries with their exits and writes Ferret events.
struct Converter<'a> {
    rep: ImportReport,
    threads: Threads,
    /// Entries waiting for their exit, by thread, with their number.
    pending: FxHashMap<u64, (Cow<'a, RawEvent>, u64, &'static EventInfo)>,
    /// Whether only container (and k8s/mesos) records came so far: those
    /// written before anything else describe the containers already
    /// running when the capture began (sysdig's dump at start): state, not
    /// launches.
    leading: bool,
    /// The time of the trace's first timed event.
    start_ts: u64,
    /// Whether only user and group records came so far: sysdig does not
    /// number those that open a trace (it reads them as the trace's user
    /// list), so event numbers, which the report keeps to point back at
    /// sysdig's, start after them.
    prefix: bool,
    unnumbered: u64,
    /// Events fed so far.
    seen: u64,
    /// The latest event time.
    end_ts: Option<u64>,
    /// Owned events done with, whose buffers the next reads reuse.
    spare: Vec<RawEvent>,
}

/// Keeps a spent owned event's buffers for the next read (a few suffice:
/// one event is read at a time, and entries wait in `pending`).
fn recycle(spare: &mut Vec<RawEvent>, e: Cow<'_, RawEvent>) {
    if let Cow::Owned(e) = e {
        if spare.len() < 16 {
            spare.push(e);
        }
    }
}

impl<'a> Converter<'a> {
    /// A conversion of the trace whose header (process list, prelude) is
    /// `head`.
    fn new(head: &ScapFile) -> Converter<'a> {
        let mut threads = Threads::default();
        for p in &head.processes {
            threads.add(p.tid, p.pid);
        }
        Converter {
            rep: ImportReport::default(),
            threads,
            pending: FxHashMap::default(),
            leading: true,
            start_ts: first_timed(head),
            prefix: true,
            unnumbered: 0,
            seen: 0,
            end_ts: None,
            spare: Vec::new(),
        }
    }

    fn event<W: capture::Sink>(
        &mut self,
        e: Cow<'a, RawEvent>,
        w: &mut CaptureWriter<W>,
    ) -> capture::Result<()> {
        self.seen += 1;
        self.rep.scap_events += 1;
        self.end_ts = Some(self.end_ts.map_or(e.ts, |t| t.max(e.ts)));
        let info = event_info(e.code);
        if self.prefix {
            if info.is_some_and(|i| matches!(i.name, "useradded" | "groupadded")) {
                self.unnumbered += 1;
            } else {
                self.prefix = false;
            }
        }
        let Some(info) = info else {
            *self.rep.unknown.entry(e.code).or_default() += 1;
            recycle(&mut self.spare, e);
            return Ok(());
        };
        let number = self.seen.saturating_sub(self.unnumbered);
        self.leading &= matches!(info.name, "container" | "k8s" | "mesos");
        let mut out = Out {
            w,
            rep: &mut self.rep,
            threads: &mut self.threads,
            leading: self.leading,
            start_ts: self.start_ts,
        };
        if kind_of(info).is_none() {
            *out.rep.internal.entry(info.name).or_default() += 1;
            recycle(&mut self.spare, e);
            return Ok(());
        }
        if info.is_enter() {
            if let Some((old, _, _)) = self.pending.remove(&e.tid) {
                out.rep.entries_dropped += 1;
                recycle(&mut self.spare, old);
            }
            if entry_only(&e, info) {
                out.rep.entries_alone += 1;
                let call = Call {
                    enter: Some((&e, info)),
                    exit: None,
                };
                let r = out.call(&call, number, 0);
                recycle(&mut self.spare, e);
                return r;
            }
            self.pending.insert(e.tid, (e, number, info));
            return Ok(());
        }
        let enter = match self.pending.remove(&e.tid) {
            Some((ev, n, ei)) if ei.code + 1 == e.code => Some((ev, n, ei)),
            Some((ev, _, _)) => {
                out.rep.entries_dropped += 1;
                recycle(&mut self.spare, ev);
                None
            }
            None => None,
        };
        let call = Call {
            enter: enter.as_ref().map(|(ev, _, ei)| (&**ev, *ei)),
            exit: Some((&e, info)),
        };
        if enter.is_some() {
            out.rep.merged += 1;
        } else {
            out.rep.exits_alone += 1;
        }
        let r = out.call(&call, number, enter.as_ref().map_or(0, |(_, n, _)| *n));
        recycle(&mut self.spare, e);
        if let Some((ev, _, _)) = enter {
            recycle(&mut self.spare, ev);
        }
        r
    }

    /// An event to read the next one into (a spent one, whose buffers are
    /// reused, when there is one).
    fn buffer(&mut self) -> RawEvent {
        self.spare.pop().unwrap_or_default()
    }

    /// What was done, and the time of the latest event (if any).
    fn finish(mut self) -> (ImportReport, Option<u64>) {
        self.rep.entries_dropped += self.pending.len() as u64;
        (self.rep, self.end_ts)
    }
}

/// A call's arguments in the order of Ferret's event table, each taken from
/// the scap parameter of the same name (`arg2` is prctl's `arg2_int`) and
/// read as its Ferret type; flag words in `PPM_*` encodings are turned
/// into the kernel's.
fn by_name(a: &mut ArgWriter<'_>, c: &Call<'_>, kind: u16) {
    use capture::kind::{ArgType as T, FlagSet as F};
    let Some(info) = capture::kind_info(kind) else {
        return;
    };
    for (name, ty) in info.args {
        let n = match (kind, *name) {
            (id::PRCTL, "arg2") => "arg2_int",
            _ => name,
        };
        let (v, pty) = c.lookup(n, false);
        let uint = || v.map(|b| int_of(b, false) as u64);
        // PT_DYN values (ptrace's addr) start with their type's index.
        if pty == Some(Pt::Dyn) {
            opt_uint(
                a,
                v.and_then(|b| b.get(1..)).map(|b| int_of(b, false) as u64),
            );
            continue;
        }
        match ty {
            T::Fd | T::Dirfd | T::Pid | T::Int => opt_int(a, v.and_then(|b| int_typed(b, pty))),
            T::Path | T::Str => opt_str(a, v.map(c_text)),
            T::StrList => match v {
                Some(b) => {
                    a.str_list(list(b).iter());
                }
                None => {
                    a.absent();
                }
            },
            T::Bytes => opt_bytes(a, v),
            T::SockAddr => {
                a.sockaddr(&v.map(sockaddr).unwrap_or(SockAddr::None));
            }
            T::Flags(F::Open) => opt_uint(a, uint().map(open_flags)),
            T::Flags(F::Clone) => opt_uint(a, uint().map(clone_flags)),
            T::Flags(F::Map) => opt_uint(a, uint().map(map_flags)),
            T::Flags(F::Fcntl) => opt_uint(a, uint().map(fcntl_cmd)),
            _ => opt_uint(a, uint()),
        }
    }
}

struct Out<'w, 'r, W: capture::Sink> {
    w: &'w mut CaptureWriter<W>,
    rep: &'r mut ImportReport,
    threads: &'r mut Threads,
    /// Whether only container (and k8s/mesos) records came so far.
    leading: bool,
    /// The time of the trace's first timed event.
    start_ts: u64,
}

impl<W: capture::Sink> Out<'_, '_, W> {
    fn push(
        &mut self,
        h: EventHeader,
        num: u64,
        entry: u64,
        args: impl FnOnce(&mut ArgWriter<'_>),
    ) -> capture::Result<()> {
        // Records stored without a time (sysdig writes its container dump
        // at the start of a trace with ts 0) describe the trace's start.
        let h = if h.ts == 0 {
            EventHeader {
                ts: self.start_ts,
                ..h
            }
        } else {
            h
        };
        self.w.push(&h, args)?;
        self.rep.origin.push(num);
        self.rep.entry_origin.push(entry);
        self.rep.written += 1;
        Ok(())
    }

    fn call(&mut self, c: &Call<'_>, num: u64, entry: u64) -> capture::Result<()> {
        let e = c.any();
        let kind = c
            .exit
            .or(c.enter)
            .and_then(|(_, i)| kind_of(i))
            .unwrap_or(id::GENERIC);
        let ret = c.ret();
        // Threads that clone and exec tell which process they belong to.
        let execs = matches!(kind, id::EXECVE | id::EXECVEAT);
        if execs || matches!(kind, id::CLONE | id::CLONE3 | id::FORK | id::VFORK) {
            if let (Some(t), Some(p)) = (c.int("tid"), c.int("pid")) {
                if ret == 0 || execs {
                    self.threads.add(t as u64, p as u64);
                }
            }
        }
        let h = EventHeader {
            ts: e.ts,
            cpu: e.cpu,
            pid: self.threads.pid(e.tid) as u32,
            tid: e.tid as u32,
            kind,
            ret,
        };
        match kind {
            id::GENERIC => {
                let nr = c
                    .enter
                    .and_then(|(e, _)| e.params.get(1))
                    .filter(|b| b.len() == 2)
                    .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])));
                self.push(h, num, entry, |a| opt_uint(a, nr))
            }
            id::OPEN | id::OPENAT => {
                let flags = c.uint("flags").map(open_flags);
                self.push(h, num, entry, |a| {
                    if kind == id::OPENAT {
                        opt_int(a, c.int("dirfd"));
                    }
                    opt_str(a, c.str("name"));
                    opt_uint(a, flags);
                    opt_uint(a, c.uint("mode"));
                })
            }
            id::CLOSE
            | id::FSTAT
            | id::GETDENTS
            | id::GETDENTS64
            | id::GETSOCKNAME
            | id::GETPEERNAME => self.push(h, num, entry, |a| opt_int(a, c.int("fd"))),
            id::READ | id::WRITE | id::WRITEV => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("size"));
                opt_bytes(a, c.raw("data"));
            }),
            id::SENDTO | id::RECVFROM | id::SENDMSG | id::RECVMSG | id::SENDMMSG => {
                // The tuple runs from the sender to the receiver: a
                // receive's peer is its source (as sysdig shows
                // `tuple=127.0.0.11:53->127.0.0.1:45451` on a DNS answer).
                let (src, dst) = c
                    .p("tuple")
                    .map(socktuple)
                    .unwrap_or((SockAddr::None, SockAddr::None));
                let (peer, local) = if matches!(kind, id::RECVFROM | id::RECVMSG) {
                    (src, dst)
                } else {
                    (dst, src)
                };
                self.push(h, num, entry, |a| {
                    opt_int(a, c.int("fd"));
                    opt_uint(a, c.uint("size"));
                    a.sockaddr(&peer);
                    opt_bytes(a, c.raw("data"));
                    if kind != id::SENDMMSG {
                        a.sockaddr(&local);
                    }
                })
            }
            id::SOCKET => self.push(h, num, entry, |a| {
                opt_uint(a, c.uint("domain"));
                opt_uint(a, c.uint("type"));
                opt_uint(a, c.uint("proto"));
            }),
            id::BIND => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                a.sockaddr(&c.p("addr").map(sockaddr).unwrap_or(SockAddr::None));
            }),
            id::CONNECT => {
                let (src, dst) = c
                    .p("tuple")
                    .map(socktuple)
                    .unwrap_or((SockAddr::None, SockAddr::None));
                let dst = match dst {
                    SockAddr::None => c.p("addr").map(sockaddr).unwrap_or(SockAddr::None),
                    d => d,
                };
                self.push(h, num, entry, |a| {
                    opt_int(a, c.int("fd"));
                    a.sockaddr(&dst);
                    a.sockaddr(&src);
                })
            }
            id::ACCEPT => {
                // The tuple runs from the peer (source) to this end.
                let (src, dst) = c
                    .p("tuple")
                    .map(socktuple)
                    .unwrap_or((SockAddr::None, SockAddr::None));
                self.push(h, num, entry, |a| {
                    a.absent();
                    a.sockaddr(&src);
                    a.sockaddr(&dst);
                })
            }
            id::LISTEN => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_int(a, c.int("backlog"));
            }),
            id::SHUTDOWN => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("how"));
            }),
            id::SETSOCKOPT | id::GETSOCKOPT => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("level"));
                opt_uint(a, c.uint("optname"));
                opt_bytes(a, c.p("val"));
                opt_uint(a, c.uint("optlen"));
            }),
            id::PIPE => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd1"));
                opt_int(a, c.int("fd2"));
            }),
            id::FUTEX => self.push(h, num, entry, |a| {
                opt_uint(a, c.uint("addr"));
                opt_uint(a, c.uint("op"));
                opt_uint(a, c.uint("val"));
            }),
            id::STAT | id::LSTAT | id::GETCWD | id::CHDIR | id::UNLINK => {
                self.push(h, num, entry, |a| opt_str(a, c.str("path")))
            }
            id::EPOLL_WAIT => self.push(h, num, entry, |a| opt_int(a, c.int("maxevents"))),
            id::POLL | id::PPOLL => {
                let fds = c.p("fds").map(fdlist);
                self.push(h, num, entry, |a| {
                    opt_str(a, fds.as_deref().map(str::as_bytes));
                    if kind == id::POLL {
                        opt_int(a, c.int("timeout"));
                    } else {
                        opt_uint(a, c.uint("timeout"));
                    }
                })
            }
            id::SELECT => self.push(h, num, entry, |_| {}),
            id::LSEEK => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("offset"));
                opt_uint(a, c.uint("whence"));
            }),
            id::DUP => self.push(h, num, entry, |a| opt_int(a, c.enter.and(c.int("fd")))),
            id::SIGNALFD => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("mask"));
                opt_uint(a, c.uint("flags"));
            }),
            id::KILL => self.push(h, num, entry, |a| {
                opt_int(a, c.int("pid"));
                opt_uint(a, c.uint("sig"));
            }),
            id::NANOSLEEP => self.push(h, num, entry, |a| opt_uint(a, c.uint("interval"))),
            id::GETRLIMIT => self.push(h, num, entry, |a| {
                opt_uint(a, c.uint("resource"));
                opt_int(a, c.int("cur"));
                opt_int(a, c.int("max"));
            }),
            id::FCNTL => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("cmd").map(fcntl_cmd));
                opt_uint(a, c.uint("arg"));
            }),
            id::BRK => self.push(h, num, entry, |a| opt_uint(a, c.uint("addr"))),
            id::MMAP => self.push(h, num, entry, |a| {
                opt_uint(a, c.uint("addr"));
                opt_uint(a, c.uint("length"));
                opt_uint(a, c.uint("prot"));
                opt_uint(a, c.uint("flags").map(map_flags));
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("offset"));
            }),
            id::MUNMAP => self.push(h, num, entry, |a| {
                opt_uint(a, c.uint("addr"));
                opt_uint(a, c.uint("length"));
            }),
            id::IOCTL => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("request"));
                opt_uint(a, c.uint("argument"));
            }),
            id::SENDFILE => self.push(h, num, entry, |a| {
                opt_int(a, c.int("out_fd"));
                opt_int(a, c.int("in_fd"));
                opt_uint(a, c.uint("offset"));
                opt_uint(a, c.uint("size"));
            }),
            id::GETUID | id::GETEUID | id::GETGID | id::GETEGID => {
                let v = c
                    .exit
                    .and_then(|(e, _)| e.params.first())
                    .map(|b| int_of(b, false) as u64);
                self.push(h, num, entry, |a| opt_uint(a, v))
            }
            id::SETNS => self.push(h, num, entry, |a| {
                opt_int(a, c.int("fd"));
                opt_uint(a, c.uint("nstype"));
            }),
            id::ACCESS => self.push(h, num, entry, |a| {
                opt_str(a, c.str("name"));
                opt_uint(a, c.uint("mode"));
            }),
            id::SETPGID => self.push(h, num, entry, |a| {
                opt_int(a, c.int("pid"));
                opt_int(a, c.int("pgid"));
            }),
            id::SIGNALDELIVER => self.push(h, num, entry, |a| {
                opt_int(a, c.int("spid"));
                opt_int(a, c.int("dpid"));
                opt_uint(a, c.uint("sig"));
            }),
            id::PROC_EXIT => {
                let group_dead = self.threads.remove(e.tid);
                self.push(h, num, entry, |a| {
                    opt_int(a, c.int("status"));
                    opt_uint(a, c.uint("sig"));
                    a.uint(u64::from(group_dead));
                })
            }
            id::CONTAINER => {
                let leading = self.leading;
                let json = c
                    .str("json")
                    .map(|j| String::from_utf8_lossy(j).into_owned());
                let j = json.as_deref().unwrap_or("");
                let cid = json_str(j, "id").map(|s| s.chars().take(12).collect::<String>());
                let privileged = json_str(j, "privileged").map(|p| u64::from(p == "true"));
                self.push(h, num, entry, |a| {
                    opt_str(a, cid.as_deref().map(str::as_bytes));
                    opt_str(a, json_str(j, "name").as_deref().map(str::as_bytes));
                    opt_str(a, json_str(j, "image").as_deref().map(str::as_bytes));
                    opt_uint(a, privileged);
                    opt_str(a, json.as_deref().map(str::as_bytes));
                    a.uint(u64::from(leading));
                })
            }
            id::CLONE | id::CLONE3 | id::FORK | id::VFORK => {
                // On the child's exit (result 0) tid and pid describe the
                // child, so they tell a thread; on the parent's exit they
                // describe the parent, and only the flags tell.
                let child_thread = ret == 0
                    && matches!((c.int("tid"), c.int("pid")), (Some(t), Some(p)) if t != p);
                let mut flags = c.uint("flags").map(clone_flags).unwrap_or(0);
                if child_thread {
                    flags |= 0x1_0000;
                }
                if ret > 0 {
                    if let Some(p) = c.int("pid") {
                        // The parent's exit names the child only by its
                        // result; the parameters describe the parent.
                        let child_pid = if flags & 0x1_0000 != 0 { p } else { ret };
                        self.threads.add(ret as u64, child_pid as u64);
                        if child_pid == ret {
                            self.threads.announced.insert(ret as u64);
                        }
                    }
                }
                // A child whose parent's exit is not in the trace (it came
                // before the capture, or was dropped) still names its
                // parent thread: a fork record gives it its parent.
                let ptid = c.int("ptid").filter(|&t| t > 0);
                if let (0, false, Some(pt)) = (ret, child_thread, ptid) {
                    if self.threads.announced.insert(e.tid) {
                        let parent = self.threads.pid(pt as u64);
                        let rec = EventHeader {
                            pid: parent as u32,
                            tid: pt as u32,
                            kind: id::PROC_FORK,
                            ret: 0,
                            ..h
                        };
                        self.push(rec, 0, 0, |a| {
                            a.int(e.tid as i64);
                            a.int(e.tid as i64);
                            a.uint(flags);
                        })?;
                    }
                }
                self.push(h, num, entry, |a| {
                    // fork and vfork have no flags argument.
                    if matches!(kind, id::CLONE | id::CLONE3) {
                        a.uint(flags);
                    }
                })
            }
            id::EXECVE | id::EXECVEAT => {
                let args = c.p("args").map(list).unwrap_or_default();
                let exe = c.str("exe").unwrap_or(b"");
                let env = c.p("env").map(list);
                let filename = c.str("filename").or_else(|| c.str("pathname"));
                let argv: Vec<&[u8]> = std::iter::once(exe).chain(args.iter().copied()).collect();
                let ppid = c
                    .int("ptid")
                    .filter(|&t| t > 0)
                    .map(|t| self.threads.pid(t as u64) as i64);
                if ret == 0 {
                    let cgroups: Vec<String> = c
                        .p("cgroups")
                        .map(list)
                        .unwrap_or_default()
                        .iter()
                        .map(|x| String::from_utf8_lossy(x).into_owned())
                        .collect();
                    let (cgroup, _) = pick_cgroup(&cgroups);
                    let rec = EventHeader {
                        kind: id::PROC_EXEC,
                        ret: 0,
                        ..h
                    };
                    self.push(rec, 0, 0, |a| {
                        opt_str(a, filename.or(c.str("trusted_exepath")));
                        a.str_list(argv.iter());
                        opt_str(a, c.str("comm"));
                        opt_str(a, c.str("cwd"));
                        opt_uint(a, c.uint("uid"));
                        opt_uint(a, c.uint("gid"));
                        a.absent();
                        opt_uint(a, c.uint("loginuid"));
                        opt_uint(a, c.uint("tty"));
                        a.str(cgroup);
                        match &env {
                            Some(en) => a.str_list(en.iter()),
                            None => a.absent(),
                        };
                        // The parent, as the thread that cloned: its process.
                        opt_int(a, ppid);
                        // What current drivers add (libs 0.13 on): the file
                        // the kernel ran, capabilities and the executable's
                        // flags, as the kernel's facts of the exec.
                        let trusted = c.str("trusted_exepath");
                        opt_str(a, trusted);
                        a.absent(); // egid
                        a.absent(); // sid
                        opt_int(a, c.int("vpgid"));
                        a.absent(); // vpid
                        a.absent(); // vtid
                        opt_uint(a, c.uint("cap_inheritable"));
                        opt_uint(a, c.uint("cap_permitted"));
                        opt_uint(a, c.uint("cap_effective"));
                        match (trusted, c.uint("flags")) {
                            (Some(_), Some(f)) => {
                                use capture::kind::task_flags as tf;
                                let mut k = 0;
                                for (ppm, bit) in [
                                    (1, tf::EXE_WRITABLE),
                                    (2, tf::EXE_UPPER_LAYER),
                                    (4, tf::EXE_FROM_MEMFD),
                                ] {
                                    if f & ppm != 0 {
                                        k |= bit;
                                    }
                                }
                                a.uint(k)
                            }
                            _ => a.absent(),
                        };
                    })?;
                }
                self.push(h, num, entry, |a| {
                    if kind == id::EXECVEAT {
                        opt_int(a, c.int("dirfd"));
                    }
                    opt_str(a, filename);
                    a.str_list(argv.iter());
                    match &env {
                        Some(en) => a.str_list(en.iter()),
                        None => a.absent(),
                    };
                    if kind == id::EXECVEAT {
                        opt_uint(a, c.uint("flags"));
                    }
                })
            }
            // Calls whose parameters carry Ferret's argument names.
            _ => self.push(h, num, entry, |a| by_name(a, c, kind)),
        }
    }
}

/// Whether `data` starts like a .scap file (section header block, or gzip,
/// which Ferret captures never are).
pub fn looks_like_scap(data: &[u8]) -> bool {
    data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) || data.starts_with(&[0x1f, 0x8b])
}

/// Converts a read trace into a Ferret capture written to `out` (`name` is
/// used in messages, `source` names the trace in the metadata).
pub fn convert<W: capture::Sink>(
    scap: &ScapFile,
    source: &str,
    out: W,
    name: &str,
) -> capture::Result<(W, capture::FinishSummary, ImportReport)> {
    convert_with(scap, source, out, name, capture::writer::DEFAULT_ZSTD_LEVEL)
}

/// [`convert`] with a zstd level: 1 for a conversion that only lives in
/// memory (`run`, `info`, the TUI on a .scap), where compressing harder
/// costs more time than it saves.
pub fn convert_with<W: capture::Sink>(
    scap: &ScapFile,
    source: &str,
    out: W,
    name: &str,
    zstd_level: i32,
) -> capture::Result<(W, capture::FinishSummary, ImportReport)> {
    let meta = meta(scap, source);
    let snap = snapshot(scap);
    let mut w = capture::CaptureWriterBuilder::new()
        .zstd_level(zstd_level)
        .build(out, name, &meta, Some(&snap))?;
    let (report, end) = convert_all(scap, &mut w)?;
    let (out, summary) = w.finish(end.unwrap_or(meta.start_unix_ns))?;
    Ok((out, summary, report))
}

/// [`convert_with`] on a trace read as a stream, written as `writer` says:
/// the header and prelude make the metadata and the snapshot, then each
/// event is converted as it is read, so memory holds only the calls waiting
/// for their exit and what the writer buffers. Problems reading the trace
/// are in `scap.head.problems` once this returns (the events before each
/// are converted).
pub fn convert_stream<R: std::io::BufRead, W: capture::Sink>(
    scap: &mut crate::ScapStream<R>,
    source: &str,
    out: W,
    name: &str,
    writer: capture::CaptureWriterBuilder,
) -> capture::Result<(W, capture::FinishSummary, ImportReport)> {
    let meta = meta(&scap.head, source);
    let snap = snapshot(&scap.head);
    convert_events(scap, &meta, &snap, out, name, writer, 0, &mut |_| true)
}

/// The events half of [`convert_stream`]: `sealed` is given each chunk as
/// the writer seals it (when the writer hands them over) and answers
/// whether to go on. `expected` (0: unknown) is about how many events the
/// conversion writes: the report's per-event columns are reserved for
/// them (reserved memory is only touched as events come; a column grown
/// step by step copies itself at each step).
#[allow(clippy::too_many_arguments)]
fn convert_events<R: std::io::BufRead, W: capture::Sink>(
    scap: &mut crate::ScapStream<R>,
    meta: &CaptureMeta,
    snap: &Snapshot,
    out: W,
    name: &str,
    writer: capture::CaptureWriterBuilder,
    expected: usize,
    sealed: &mut dyn FnMut(capture::SealedChunk) -> bool,
) -> capture::Result<(W, capture::FinishSummary, ImportReport)> {
    let mut w = writer.build(out, name, meta, Some(snap))?;
    let mut conv = Converter::new(&scap.head);
    conv.rep.origin.reserve(expected);
    conv.rep.entry_origin.reserve(expected);
    // Whether the consumer of the sealed chunks wants more.
    let mut hand_over = |w: &mut CaptureWriter<W>| {
        let mut go_on = true;
        for c in w.take_sealed() {
            go_on &= sealed(c);
        }
        go_on
    };
    for e in std::mem::take(&mut scap.head.events) {
        conv.event(Cow::Owned(e), &mut w)?;
    }
    // Internal and unknown events are only counted.
    scap.skip_params_of(|code| event_info(code).and_then(kind_of).is_none());
    loop {
        let mut e = conv.buffer();
        if !scap.next_event_into(&mut e) {
            break;
        }
        conv.event(Cow::Owned(e), &mut w)?;
        if !hand_over(&mut w) {
            break;
        }
    }
    let (report, end) = conv.finish();
    w.seal()?;
    hand_over(&mut w);
    let (out, summary) = w.finish(end.unwrap_or(meta.start_unix_ns))?;
    Ok((out, summary, report))
}

/// A .scap file converted in memory, open as a Ferret capture.
pub struct Imported {
    /// The converted capture.
    pub capture: capture::Capture,
    /// What the conversion did.
    pub report: ImportReport,
    /// Problems reading the trace (events before each were kept).
    pub problems: Vec<crate::ScapError>,
}

/// Why a .scap file could not be opened and converted.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading the file (missing, not a regular file, not a .scap, a limit).
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing or reopening the converted capture.
    #[error("{path}: converting: {source}")]
    Convert {
        /// The file.
        path: String,
        /// The cause.
        source: Box<capture::Error>,
    },
}

/// The converted size (estimated) up to which [`open`] keeps a trace's
/// conversion uncompressed in memory.
pub const IN_MEMORY_RAW_LIMIT: u64 = 256 << 20;

/// Reads and converts the .scap file at `path` in memory, so that `run`,
/// `info` and the TUI open sysdig and Falco traces directly.
pub fn open(path: &std::path::Path) -> Result<Imported, OpenError> {
    let mut t = Trace::open(path)?;
    let (meta, snap) = (meta(&t.scap.head, &t.shown), snapshot(&t.scap.head));
    t.convert(&meta, &snap, None)
}

/// A .scap trace opened for an in-memory conversion.
struct Trace {
    scap: crate::ScapStream<Box<dyn std::io::BufRead + Send>>,
    shown: String,
    /// The converted size expected.
    estimate: u64,
}

impl Trace {
    fn open(path: &std::path::Path) -> Result<Trace, OpenError> {
        let shown = path.display().to_string();
        let scap =
            crate::ScapStream::open(path, &crate::ReadLimits::default()).map_err(|source| {
                OpenError::Read {
                    path: shown.clone(),
                    source,
                }
            })?;
        // A Ferret event takes about a quarter of its scap entry and exit,
        // and gzip shrinks a trace about 7 times.
        let on_disk = std::fs::metadata(path).map_or(0, |m| m.len());
        let estimate = if scap.gzip() {
            on_disk.saturating_mul(2)
        } else {
            on_disk / 4
        };
        Ok(Trace {
            scap,
            shown,
            estimate,
        })
    }

    fn convert(
        &mut self,
        meta: &CaptureMeta,
        snap: &Snapshot,
        sealed: Option<&mut dyn FnMut(capture::SealedChunk) -> bool>,
    ) -> Result<Imported, OpenError> {
        let c = self.convert_kept(meta, snap, true, Handover::PARALLEL.chunk_bytes, sealed)?;
        Ok(Imported {
            capture: c.capture.expect("kept"),
            report: c.report,
            problems: c.problems,
        })
    }

    /// Converts the rest of the trace; the capture is kept in memory when
    /// `keep` (else its chunks only go to `sealed`).
    fn convert_kept(
        &mut self,
        meta: &CaptureMeta,
        snap: &Snapshot,
        keep: bool,
        chunk_bytes: usize,
        sealed: Option<&mut dyn FnMut(capture::SealedChunk) -> bool>,
    ) -> Result<Converted, OpenError> {
        let shown = &self.shown;
        let conv = |source| OpenError::Convert {
            path: shown.clone(),
            source: Box::new(source),
        };
        // Stored uncompressed unless that would take much memory: the
        // capture is read once, so compressing it costs time for nothing
        // (a capture not kept is neither written nor compressed).
        let writer = if self.estimate <= IN_MEMORY_RAW_LIMIT {
            capture::CaptureWriterBuilder::new().compress(false)
        } else {
            capture::CaptureWriterBuilder::new().zstd_level(1)
        };
        let writer = writer
            .hand_over_chunks(sealed.is_some())
            .chunk_bytes(chunk_bytes);
        // A converted event takes about 64 to 128 bytes: reserve for the
        // larger count (at most 4M events; past that, growing costs little
        // next to the conversion).
        let expected = (self.estimate / 64).min(4 << 20) as usize;
        let mut all = |_| true;
        let sealed = sealed.unwrap_or(&mut all);
        let problems = |t: &mut Trace| std::mem::take(&mut t.scap.head.problems);
        if !keep {
            // Nothing written, nothing hashed: the chunks go to `sealed`.
            let writer = writer.write_frames(false);
            let (_, _, report) = convert_events(
                &mut self.scap,
                meta,
                snap,
                std::io::sink(),
                shown,
                writer,
                expected,
                sealed,
            )
            .map_err(conv)?;
            return Ok(Converted {
                capture: None,
                report,
                problems: problems(self),
            });
        }
        let out = Vec::with_capacity(self.estimate.min(IN_MEMORY_RAW_LIMIT) as usize);
        let (bytes, _, report) = convert_events(
            &mut self.scap,
            meta,
            snap,
            out,
            shown,
            writer,
            expected,
            sealed,
        )
        .map_err(conv)?;
        let capture =
            capture::Capture::from_bytes(capture::Bytes::Owned(bytes), shown).map_err(conv)?;
        Ok(Converted {
            capture: Some(capture),
            report,
            problems: problems(self),
        })
    }
}

/// What a conversion that handed its chunks over leaves
/// ([`ConversionEnd::wait`]).
pub struct Converted {
    /// The converted capture, when it was kept (see [`open_converting`]).
    pub capture: Option<capture::Capture>,
    /// What the conversion did.
    pub report: ImportReport,
    /// Problems reading the trace (events before each were kept).
    pub problems: Vec<crate::ScapError>,
}

/// A .scap trace converting in memory on a thread of its own, its chunks
/// handed over as they are sealed, so that a consumer evaluates them while
/// the rest of the trace is still being read ([`open_converting`]).
pub struct Converting {
    /// The trace's header as a capture's: its metadata and start snapshot,
    /// sent once the conversion's thread has read them (closed without
    /// them when the trace cannot be read: [`ConversionEnd::wait`] says
    /// why).
    pub header: std::sync::mpsc::Receiver<(CaptureMeta, Snapshot)>,
    /// The converted chunks in order, each opened; the channel closes when
    /// the conversion ends (or fails). It holds [`Handover::queue`] chunks
    /// at most: the conversion waits for its consumer.
    pub chunks: std::sync::mpsc::Receiver<capture::Result<capture::LoadedChunk>>,
    /// The end of the conversion.
    pub done: ConversionEnd,
}

/// The end of a [`Converting`] conversion.
pub struct ConversionEnd(std::thread::JoinHandle<Result<Converted, OpenError>>);

impl ConversionEnd {
    /// Waits for the conversion to end: the converted capture if it was
    /// kept (every chunk of which went through the chunks' channel, unless
    /// its receiver was dropped), the report and the trace's problems; or
    /// why the trace could not be read or converted.
    pub fn wait(self) -> Result<Converted, OpenError> {
        self.0
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// How a conversion hands its chunks over ([`open_converting`]), chosen
/// for the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handover {
    /// A chunk is sealed once its columns reach this many bytes (or at the
    /// writer's bounds in events and time).
    pub chunk_bytes: usize,
    /// Sealed chunks waiting for the consumer at most; the conversion
    /// waits beyond.
    pub queue: usize,
}

impl Handover {
    /// For a consumer that shares the chunks among threads, each starting
    /// from a copy of the state at its chunk: large chunks (the writer's 4
    /// MiB), two waiting. Small ones would copy the state at every one of
    /// them (the real workload's 629 MB .scap on two threads: 0.93 s with
    /// 4 MiB chunks, 1.07 s with 128 KiB).
    pub const PARALLEL: Handover = Handover {
        chunk_bytes: capture::writer::DEFAULT_CHUNK_BYTES,
        queue: 2,
    };

    /// For a consumer that replays the chunks in order on one thread:
    /// 128 KiB chunks, sixteen waiting (2 MiB, less than two large ones).
    /// The first reaches the consumer sooner, the conversion does not wait
    /// for a consumer still loading its rules, freed chunk buffers are
    /// reused sooner, and the last chunk leaves less to do once the
    /// conversion ends (k8s_node_capture, whole process: 30.3 -> 27.4 ms;
    /// the real workload's 629 MB .scap 846 -> 857 ms, 137 -> 115 MB
    /// peak).
    pub const SEQUENTIAL: Handover = Handover {
        chunk_bytes: 128 << 10,
        queue: 16,
    };
}

/// Starts converting the .scap file at `path` on a thread of its own, which
/// reads the trace's header too (see [`Converting`]): this returns at once.
/// The converted capture is kept in memory when `keep` (the chunks go to
/// the channel either way); `handover` sizes the chunks and their queue for
/// the consumer. Dropping the receiver of the chunks stops the conversion
/// early.
pub fn open_converting(
    path: &std::path::Path,
    keep: bool,
    handover: Handover,
) -> Result<Converting, OpenError> {
    let (htx, header) = std::sync::mpsc::sync_channel(1);
    let (tx, chunks) = std::sync::mpsc::sync_channel(handover.queue.max(1));
    let file = path.to_path_buf();
    let convert = move || {
        let mut t = Trace::open(&file)?;
        let (meta, snap) = (meta(&t.scap.head, &t.shown), snapshot(&t.scap.head));
        let _ = htx.send((meta.clone(), snap.clone()));
        let name = t.shown.clone();
        t.convert_kept(
            &meta,
            &snap,
            keep,
            handover.chunk_bytes,
            Some(&mut |c| tx.send(capture::LoadedChunk::from_sealed(c, &name)).is_ok()),
        )
    };
    let handle = std::thread::Builder::new()
        .name("scap-convert".into())
        .spawn(convert)
        .map_err(|source| OpenError::Read {
            path: path.display().to_string(),
            source,
        })?;
    Ok(Converting {
        header,
        chunks,
        done: ConversionEnd(handle),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_decoding() {
        assert_eq!(int_of(&[0xff, 0xff, 0xff, 0xff], true), -1);
        assert_eq!(int_of(&[0xff, 0xff, 0xff, 0xff], false), 0xffff_ffff);
        assert_eq!(
            int_of(&[0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], true),
            -115
        );
        let t = [2, 127, 0, 0, 1, 0xb8, 0x58, 127, 0, 0, 1, 80, 0];
        let (s, d) = socktuple(&t);
        assert_eq!(s.to_string(), "127.0.0.1:22712");
        assert_eq!(d.to_string(), "127.0.0.1:80");
        assert_eq!(list(b"a\0bc\0"), vec![&b"a"[..], b"bc"]);
        assert!(list(b"").is_empty());
        assert_eq!(fdlist(&[1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0]), "3:1");
        assert_eq!(
            json_str(
                r#"{"container":{"id":"abc","privileged":true,"name":"x\"y"}}"#,
                "name"
            ),
            Some("x\"y".into())
        );
        assert_eq!(
            json_str(r#"{"privileged":true}"#, "privileged"),
            Some("true".into())
        );
    }
}
