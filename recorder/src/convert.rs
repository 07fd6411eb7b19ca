//! Wire records to capture events: the only code that sees both the kernel
//! wire layout (`recorder_common`) and the capture schema (`capture`).
//!
//! Most records map one to one. Two need pairing, done here with small
//! pending maps that are flushed when stale:
//! - execve/execveat: filename, argv and envp are read at entry (they are gone
//!   after a successful exec) and joined with the exit record's return value;
//! - sched_process_exit: takes the status from the exit/exit_group call.
//!
//! Fork and exec records carry what the kernel knew of the task at that
//! moment ([`TaskInfo`] and its cwd, executable and cgroup paths), so they are
//! written at once: a fork record precedes every event of its child, whatever
//! CPU either runs on, and nothing is read from /proc after the fact.

use std::collections::HashMap;

use capture::args::{ArgWriter, SockAddr};
use capture::kind::id;
use capture::writer::{CaptureWriter, EventHeader, Sink};
use recorder_common::*;

use crate::syscalls::{self, Src};

/// A parsed ring-buffer record, borrowing its blobs.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The fixed header.
    pub h: RecHeader,
    /// The blob bytes.
    pub payload: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses a record; `None` when it is shorter than it claims.
    pub fn parse(bytes: &'a [u8]) -> Option<Record<'a>> {
        if bytes.len() < REC_HEADER_LEN {
            return None;
        }
        // SAFETY: RecHeader is repr(C), Copy and valid for any bit pattern;
        // the length was checked and read_unaligned has no alignment need.
        let h: RecHeader = unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const RecHeader) };
        let end = REC_HEADER_LEN.checked_add(h.payload_len as usize)?;
        let payload = bytes.get(REC_HEADER_LEN..end)?;
        Some(Record { h, payload })
    }

    /// Iterates `(slot, kind, bytes)` of the blobs.
    pub fn blobs(&self) -> impl Iterator<Item = (u8, u8, &'a [u8])> + 'a {
        let mut at = 0usize;
        let p = self.payload;
        std::iter::from_fn(move || {
            let hdr = p.get(at..at + BLOB_HEADER_LEN)?;
            let len = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
            let data = p.get(at + BLOB_HEADER_LEN..at + BLOB_HEADER_LEN + len)?;
            at += BLOB_HEADER_LEN + len;
            Some((hdr[0], hdr[1], data))
        })
    }

    fn blob(&self, slot: u8, kind: u8) -> Option<&'a [u8]> {
        self.blobs()
            .find(|(s, k, _)| *s == slot && *k == kind)
            .map(|(_, _, d)| d)
    }

    fn tid(&self) -> u32 {
        self.h.pid_tgid as u32
    }

    fn tgid(&self) -> u32 {
        (self.h.pid_tgid >> 32) as u32
    }
}

/// Decodes a kernel `struct sockaddr`.
pub fn sockaddr(b: &[u8]) -> SockAddr<'_> {
    if b.len() < 2 {
        return SockAddr::None;
    }
    let fam = u16::from_le_bytes([b[0], b[1]]);
    match fam {
        2 if b.len() >= 8 => {
            SockAddr::Inet([b[4], b[5], b[6], b[7]], u16::from_be_bytes([b[2], b[3]]))
        }
        10 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            SockAddr::Inet6(a, u16::from_be_bytes([b[2], b[3]]))
        }
        1 => {
            let path = &b[2..];
            let end = if path.first() == Some(&0) {
                path.len()
            } else {
                path.iter().position(|&c| c == 0).unwrap_or(path.len())
            };
            SockAddr::Unix(&path[..end])
        }
        0 => SockAddr::None,
        f => SockAddr::Other(f),
    }
}

fn comm_str(c: &[u8; 16]) -> &[u8] {
    let n = c.iter().position(|&b| b == 0).unwrap_or(16);
    &c[..n]
}

struct Pending {
    h: RecHeader,
    payload: Vec<u8>,
}

impl Pending {
    fn record(&self) -> Record<'_> {
        Record {
            h: self.h,
            payload: &self.payload,
        }
    }
}

/// Counters of the conversion.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvStats {
    /// Records read from the ring buffer.
    pub records: u64,
    /// Records too short to parse.
    pub malformed: u64,
    /// Records with blobs cut to fit.
    pub truncated: u64,
}

/// Turns wire records into capture events.
pub struct Converter {
    pending_exec: HashMap<u32, Pending>,
    exit_status: HashMap<u32, i64>,
    /// What the kernel's BTF lacked.
    pub lacks: KernelLacks,
    /// Record syscalls without a table row as generic events.
    pub generic: bool,
    /// Counters.
    pub stats: ConvStats,
    /// Container records for the processes' containers, when tracked.
    pub containers: Option<crate::containers::Tracker>,
}

type Res = capture::Result<()>;

impl Converter {
    /// A converter; `generic` records unlisted syscalls as generic events.
    pub fn new(generic: bool) -> Converter {
        Converter {
            pending_exec: HashMap::new(),
            exit_status: HashMap::new(),
            lacks: KernelLacks::default(),
            generic,
            stats: ConvStats::default(),
            containers: None,
        }
    }

    /// Converts one ring-buffer record.
    pub fn record<W: Sink>(&mut self, bytes: &[u8], w: &mut CaptureWriter<W>) -> Res {
        self.stats.records += 1;
        let Some(r) = Record::parse(bytes) else {
            self.stats.malformed += 1;
            return Ok(());
        };
        if r.h.flags & FLAG_TRUNCATED != 0 {
            self.stats.truncated += 1;
        }
        match r.h.rec {
            REC_SYSCALL => self.syscall(&r, w),
            REC_SYS_ENTER => self.enter(&r, w),
            REC_FORK => self.fork(&r, w),
            REC_EXEC => self.exec(&r, w),
            REC_EXIT => self.exit(&r, w),
            _ => {
                self.stats.malformed += 1;
                Ok(())
            }
        }
    }

    fn header(r: &Record<'_>, kind: u16, ret: i64) -> EventHeader {
        EventHeader {
            ts: r.h.ts,
            cpu: r.h.cpu,
            pid: r.tgid(),
            tid: r.tid(),
            kind,
            ret,
        }
    }

    fn enter<W: Sink>(&mut self, r: &Record<'_>, w: &mut CaptureWriter<W>) -> Res {
        match syscalls::by_nr(r.h.nr) {
            Some(s) if s.enter_only => {
                let status = r.h.args[0] as i32 as i64;
                self.exit_status.insert(r.tid(), status);
                if s.kind == id::EXIT_GROUP {
                    self.exit_status.insert(r.tgid(), status);
                }
                w.push(&Self::header(r, s.kind, 0), |a| write_args(a, s.args, r, 0))?;
            }
            Some(_) => {
                self.pending_exec.insert(
                    r.tid(),
                    Pending {
                        h: r.h,
                        payload: r.payload.to_vec(),
                    },
                );
            }
            None => {}
        }
        Ok(())
    }

    fn syscall<W: Sink>(&mut self, r: &Record<'_>, w: &mut CaptureWriter<W>) -> Res {
        let Some(s) = syscalls::by_nr(r.h.nr) else {
            if self.generic {
                let h = Self::header(r, id::GENERIC, r.h.ret);
                w.push(&h, |a| {
                    a.uint(u64::from(r.h.nr));
                    for v in r.h.args {
                        a.uint(v);
                    }
                })?;
            }
            return Ok(());
        };
        let h = Self::header(r, s.kind, r.h.ret);
        if s.kind == id::EXECVE || s.kind == id::EXECVEAT {
            let p = self.pending_exec.remove(&r.tid());
            return match p {
                Some(p) => w
                    .push(&h, |a| write_args(a, s.args, &p.record(), r.h.ret))
                    .map(drop),
                None => w.push(&h, |a| write_args(a, s.args, r, r.h.ret)).map(drop),
            };
        }
        w.push(&h, |a| write_args(a, s.args, r, r.h.ret))?;
        Ok(())
    }

    fn exec<W: Sink>(&mut self, r: &Record<'_>, w: &mut CaptureWriter<W>) -> Res {
        let pid = r.h.args[0] as u32;
        let old = r.h.args[1] as u32;
        if old != pid {
            if let Some(p) = self.pending_exec.remove(&old) {
                self.pending_exec.insert(pid, p);
            }
        }
        let task = Task::of(r, &self.lacks);
        self.container_of(&task, r, w)?;
        let filename = r.blob(0, CAP_STR).unwrap_or(b"");
        let pending = self.pending_exec.get(&r.tid());
        let argv = |slot: u8| -> Vec<Vec<u8>> {
            pending
                .map(|p| {
                    p.record()
                        .blobs()
                        .filter(|(s, k, _)| *s == slot && *k == CAP_STR)
                        .map(|(_, _, d)| d.to_vec())
                        .collect()
                })
                .unwrap_or_default()
        };
        // execve: argv in slot 1, envp in 2; execveat: 2 and 3.
        let (av, ev) = match pending.map(|p| p.h.nr) {
            Some(322) => (0x82, 0x83),
            _ => (0x81, 0x82),
        };
        let (args, env) = (argv(av), argv(ev));
        let h = Self::header(r, id::PROC_EXEC, 0);
        w.push(&h, |a| {
            a.str(filename);
            if pending.is_some() {
                a.str_list(args.iter());
            } else {
                a.absent();
            }
            a.str(comm_str(&r.h.comm));
            opt_str(a, task.cwd.as_deref());
            match &task.info {
                Some(t) => {
                    a.uint(u64::from(t.uid))
                        .uint(u64::from(t.gid))
                        .uint(u64::from(t.euid));
                    opt_loginuid(a, t);
                    a.uint(u64::from(t.tty))
                }
                None => a.absent().absent().absent().absent().absent(),
            };
            opt_str(a, task.cgroup.as_deref());
            if pending.is_some() {
                a.str_list(env.iter());
            } else {
                a.absent();
            }
            match &task.info {
                Some(t) => a.int(i64::from(t.ppid)),
                None => a.absent(),
            };
            opt_str(a, task.exe.as_deref());
            match &task.info {
                Some(t) => {
                    a.uint(u64::from(t.egid));
                    write_ids_and_caps(a, t, task.flags());
                }
                None => {
                    for _ in 0..10 {
                        a.absent();
                    }
                }
            }
            a.int(i64::from(old));
        })?;
        Ok(())
    }

    /// Records the container of a task's cgroup ahead of the task's record
    /// when it is new.
    fn container_of<W: Sink>(
        &mut self,
        task: &Task,
        r: &Record<'_>,
        w: &mut CaptureWriter<W>,
    ) -> Res {
        match (&mut self.containers, task.cgroup.as_deref()) {
            (Some(t), Some(cg)) => t.observe(cg, r.h.ts, r.tgid(), w),
            _ => Ok(()),
        }
    }

    /// A fork record: written at once, with the child's identity and facts.
    fn fork<W: Sink>(&mut self, r: &Record<'_>, w: &mut CaptureWriter<W>) -> Res {
        let task = Task::of(r, &self.lacks);
        let Some(t) = &task.info else {
            self.stats.malformed += 1;
            return Ok(());
        };
        // CLONE_THREAD | CLONE_SIGHAND | CLONE_VM for threads; CLONE_VFORK |
        // CLONE_VM for vfork: what the kernel's task says, whichever call made it.
        let mut flags = 0u64;
        if t.flags & capture::kind::task_flags::THREAD != 0 {
            flags |= 0x10000 | 0x800 | 0x100;
        }
        if t.flags & capture::kind::task_flags::VFORK != 0 {
            flags |= 0x4000 | 0x100;
        }
        self.container_of(&task, r, w)?;
        let h = Self::header(r, id::PROC_FORK, 0);
        w.push(&h, |a| {
            a.int(i64::from(t.pid))
                .int(i64::from(t.tid))
                .uint(flags)
                .int(i64::from(t.ppid))
                .int(i64::from(t.ptid))
                .str(comm_str(&r.h.comm));
            opt_str(a, task.exe.as_deref());
            opt_str(a, task.cwd.as_deref());
            a.uint(u64::from(t.uid))
                .uint(u64::from(t.gid))
                .uint(u64::from(t.euid))
                .uint(u64::from(t.egid));
            opt_loginuid(a, t);
            a.uint(u64::from(t.tty));
            opt_str(a, task.cgroup.as_deref());
            write_ids_and_caps(a, t, task.flags());
        })?;
        Ok(())
    }

    fn exit<W: Sink>(&mut self, r: &Record<'_>, w: &mut CaptureWriter<W>) -> Res {
        let tid = r.h.args[0] as u32;
        let group_dead = r.h.args[1] != 0;
        let status = self.exit_status.remove(&tid).or_else(|| {
            if group_dead {
                self.exit_status.get(&r.tgid()).copied()
            } else {
                None
            }
        });
        if group_dead {
            self.exit_status.remove(&r.tgid());
        }
        self.pending_exec.remove(&tid);
        let h = Self::header(r, id::PROC_EXIT, 0);
        w.push(&h, |a| {
            match status {
                Some(s) => a.int(s),
                None => a.absent(),
            };
            a.absent().uint(u64::from(group_dead));
        })?;
        Ok(())
    }

    /// Forgets exec entries older than 10 s of event time (the exec never
    /// returned).
    pub fn flush_stale(&mut self, now_ts: u64) {
        self.pending_exec
            .retain(|_, p| now_ts.saturating_sub(p.h.ts) < 10_000_000_000);
    }

    /// Forgets everything pending (at the end of a capture or segment):
    /// nothing waits to be written since fork records go out at once.
    pub fn finish(&mut self) {
        self.pending_exec.clear();
    }
}

/// The namespace ids, capabilities, flags and reaper that `procfork` and
/// `procexec` both end with.
fn write_ids_and_caps(a: &mut ArgWriter<'_>, t: &Facts, flags: u64) {
    a.int(i64::from(t.sid))
        .int(i64::from(t.vpgid))
        .int(i64::from(t.vpid))
        .int(i64::from(t.vtid))
        .uint(t.cap_inheritable)
        .uint(t.cap_permitted)
        .uint(t.cap_effective)
        .uint(flags)
        .int(i64::from(t.reaper));
}

/// The audit login uid, absent when the kernel has none (no CONFIG_AUDIT).
fn opt_loginuid(a: &mut ArgWriter<'_>, t: &Facts) {
    match t.loginuid {
        Some(l) => a.uint(u64::from(l)),
        None => a.absent(),
    };
}

fn opt_str(a: &mut ArgWriter<'_>, s: Option<&[u8]>) {
    match s {
        Some(s) => a.str(s),
        None => a.absent(),
    };
}

/// What the kernel's BTF lacked, so that the matching raw values are ignored.
#[derive(Clone, Debug, Default)]
pub struct KernelLacks {
    /// Bit offset of `signal_struct.is_child_subreaper` (`None`: unknown).
    pub subreaper_bit: Option<u32>,
    /// No `task_struct.loginuid` (a kernel without CONFIG_AUDIT).
    pub loginuid: bool,
}

impl KernelLacks {
    /// From the offsets the probes were given.
    pub fn of(o: &KernelOffsets) -> KernelLacks {
        KernelLacks {
            subreaper_bit: (o.signal_subreaper_bit != u32::MAX).then_some(o.signal_subreaper_bit),
            loginuid: o.task_loginuid == u32::MAX,
        }
    }
}

/// The task facts of a fork or exec record, derived from its raw
/// [`TaskInfo`], and its paths.
struct Task {
    info: Option<Facts>,
    cwd: Option<Vec<u8>>,
    exe: Option<Vec<u8>>,
    cgroup: Option<Vec<u8>>,
}

/// Derived facts of a task.
struct Facts {
    tid: u32,
    pid: u32,
    ptid: u32,
    ppid: u32,
    vtid: u32,
    vpid: u32,
    vpgid: u32,
    sid: u32,
    uid: u32,
    gid: u32,
    euid: u32,
    egid: u32,
    loginuid: Option<u32>,
    tty: u32,
    reaper: u32,
    cap_inheritable: u64,
    cap_permitted: u64,
    cap_effective: u64,
    flags: u64,
}

impl Facts {
    fn derive(t: &TaskInfo, lacks: &KernelLacks) -> Facts {
        use capture::kind::task_flags as tf;
        // pid_nr_ns: a number is visible in the task's namespace when its
        // struct pid reaches that depth in that same namespace.
        let vis = |level: u32, nr: u32, ns: u64| {
            if level >= t.level && ns == t.ns {
                nr
            } else {
                0
            }
        };
        let tty = if t.tty != 0 {
            let major = t.tty_major & 0xfff;
            let minor = t.tty_minor_start.wrapping_add(t.tty_index) & 0xf_ffff;
            // new_encode_dev(MKDEV(major, minor)), as /proc/PID/stat's tty_nr.
            (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
        } else {
            0
        };
        let mut flags = 0;
        if t.tid != t.pid {
            flags |= tf::THREAD;
        }
        if t.vfork_done != 0 {
            flags |= tf::VFORK;
        }
        if t.exe_file != 0 {
            let m = t.exe_mode;
            // Writable by the task's file-system ids, or CAP_DAC_OVERRIDE.
            if m & 0o002 != 0
                || (t.exe_uid == t.fsuid && m & 0o200 != 0)
                || (t.exe_gid == t.fsgid && m & 0o020 != 0)
                || t.cap_effective & (1 << 1) != 0
            {
                flags |= tf::EXE_WRITABLE;
            }
            // OVERLAYFS_SUPER_MAGIC, and an upper dentry after the inode.
            if t.exe_fs_magic == 0x794c_7630 && t.exe_upper != 0 {
                flags |= tf::EXE_UPPER_LAYER;
            }
        }
        if let Some(bit) = lacks.subreaper_bit {
            if (t.subreaper_byte >> (bit % 8)) & 1 != 0 {
                flags |= tf::SUBREAPER;
            }
        }
        Facts {
            tid: t.tid,
            pid: t.pid,
            ptid: t.ptid,
            ppid: t.ppid,
            vtid: t.vtid,
            vpid: vis(t.tgid_level, t.tgid_nr, t.tgid_ns),
            vpgid: vis(t.pgid_level, t.pgid_nr, t.pgid_ns),
            sid: vis(t.sid_level, t.sid_nr, t.sid_ns),
            uid: t.uid,
            gid: t.gid,
            euid: t.euid,
            egid: t.egid,
            loginuid: (!lacks.loginuid).then_some(t.loginuid),
            tty,
            reaper: t.reaper,
            cap_inheritable: t.cap_inheritable,
            cap_permitted: t.cap_permitted,
            cap_effective: t.cap_effective,
            flags,
        }
    }
}

impl Task {
    fn of(r: &Record<'_>, lacks: &KernelLacks) -> Task {
        let info = r
            .blob(0, CAP_TASK)
            .filter(|b| b.len() == TASK_INFO_LEN)
            .map(|b| {
                // SAFETY: TaskInfo is repr(C), Copy and valid for any bit
                // pattern; the length was checked.
                unsafe { std::ptr::read_unaligned(b.as_ptr() as *const TaskInfo) }
            })
            .map(|t| Facts::derive(&t, lacks));
        // A memfd image is named as its fd is (`memfd:NAME`), not as a path.
        let exe = path_of(r, PATH_EXE).map(|p| match p.strip_prefix(b"/memfd:") {
            Some(rest) if !rest.contains(&b'/') => [&b"memfd:"[..], rest].concat(),
            _ => p,
        });
        Task {
            info,
            cwd: path_of(r, PATH_CWD),
            exe,
            cgroup: pick_cgroup(path_of(r, PATH_CGROUP), path_of(r, PATH_CGROUP_V1)),
        }
    }

    /// `capture::kind::task_flags` bits.
    fn flags(&self) -> u64 {
        let mut f = self.info.as_ref().map_or(0, |t| t.flags);
        if self
            .exe
            .as_deref()
            .is_some_and(|b| b.starts_with(b"memfd:"))
        {
            f |= capture::kind::task_flags::EXE_FROM_MEMFD;
        }
        f
    }
}

/// A path the kernel walked leaf first into `slot`, or `None` when the walk
/// did not reach the root (cut or unreadable: never a partial path).
/// The task's cgroup: the unified hierarchy's path, unless only the v1
/// controller's path names a container.
fn pick_cgroup(unified: Option<Vec<u8>>, v1: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let names = |p: &Option<Vec<u8>>| {
        p.as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .is_some_and(|s| container_meta::cgroup::parse(s).is_some())
    };
    if v1.is_some() && (unified.is_none() || (!names(&unified) && names(&v1))) {
        v1
    } else {
        unified
    }
}

fn path_of(r: &Record<'_>, slot: u8) -> Option<Vec<u8>> {
    let mut comps: Vec<&[u8]> = Vec::new();
    let mut complete = false;
    for (s, k, d) in r.blobs() {
        if s != slot {
            continue;
        }
        match k {
            CAP_PATHCOMP => comps.push(d),
            CAP_PATHEND => complete = true,
            _ => {}
        }
    }
    if !complete {
        return None;
    }
    let mut p = Vec::new();
    for c in comps.iter().rev() {
        p.push(b'/');
        p.extend_from_slice(c);
    }
    if p.is_empty() {
        p.push(b'/');
    }
    Some(p)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(a)
}

/// Both ends of the call's socket from the kernel's [`SockInfo`]: (local,
/// remote). `None` when the record has none or the fd was not a socket.
fn sock_ends<'a>(r: &Record<'a>) -> Option<(SockAddr<'a>, SockAddr<'a>)> {
    let b = r
        .blob(0, CAP_SOCKINFO)
        .filter(|b| b.len() == SOCK_INFO_LEN)?;
    // SAFETY: SockInfo is repr(C), Copy and valid for any bit pattern; the
    // length was checked.
    let si: SockInfo = unsafe { std::ptr::read_unaligned(b.as_ptr() as *const SockInfo) };
    if si.mode & 0o170_000 != 0o140_000 || si.fd >= si.max_fds {
        return None;
    }
    let rport = u16::from_be(si.rport);
    match si.family {
        2 => Some((
            SockAddr::Inet(si.laddr4.to_le_bytes(), si.lport),
            if si.raddr4 == 0 && rport == 0 {
                SockAddr::None
            } else {
                SockAddr::Inet(si.raddr4.to_le_bytes(), rport)
            },
        )),
        10 => Some((
            SockAddr::Inet6(si.laddr6, si.lport),
            if si.raddr6 == [0; 16] && rport == 0 {
                SockAddr::None
            } else {
                SockAddr::Inet6(si.raddr6, rport)
            },
        )),
        1 => {
            let path = |slot| match r.blob(slot, CAP_UNIXPATH) {
                Some(p) if !p.is_empty() => SockAddr::Unix(p),
                _ => SockAddr::None,
            };
            Some((path(0), path(1)))
        }
        _ => None,
    }
}

/// Writes a kind's arguments from their sources.
fn write_args(a: &mut ArgWriter<'_>, srcs: &[Src], r: &Record<'_>, ret: i64) {
    let regs = r.h.args;
    for src in srcs {
        match *src {
            Src::I(i) => {
                a.int(i64::from(regs[i] as i32));
            }
            Src::U(i) => {
                a.uint(regs[i]);
            }
            Src::Str(i) => match r.blob(i as u8, CAP_STR) {
                Some(s) => {
                    a.str(s);
                }
                None => {
                    a.absent();
                }
            },
            Src::BufRet(i)
            | Src::BufLen(i, _)
            | Src::IovRet(i)
            | Src::IovLen(i)
            | Src::MsgData(i) => {
                let kind = match *src {
                    Src::BufLen(..) => CAP_BUF_LEN,
                    _ => CAP_BUF_RET,
                };
                match r.blob(i as u8, kind) {
                    Some(d) => a.bytes(d),
                    None if ret <= 0 => a.bytes(&[]),
                    None => a.absent(),
                };
            }
            Src::Sock(i, _) | Src::SockPtrLen(i, _) | Src::MsgAddr(i) => {
                match r.blob(i as u8, CAP_SOCKADDR) {
                    Some(b) if !matches!(sockaddr(b), SockAddr::None | SockAddr::Unix([])) => {
                        a.sockaddr(&sockaddr(b));
                    }
                    // No address from the caller (accept without one, a
                    // connected socket): the kernel's remote end.
                    _ => {
                        let remote = sock_ends(r).map(|(_, rem)| rem);
                        a.sockaddr(&remote.unwrap_or(SockAddr::None));
                    }
                }
            }
            Src::SockLocal => match sock_ends(r) {
                Some((local, _)) => {
                    a.sockaddr(&local);
                }
                None => {
                    a.absent();
                }
            },
            Src::Argv(i) => {
                let items: Vec<&[u8]> = r
                    .blobs()
                    .filter(|(s, k, _)| *s == (i as u8 | 0x80) && *k == CAP_STR)
                    .map(|(_, _, d)| d)
                    .collect();
                a.str_list(items);
            }
            Src::CloneFlags(_) if ret == 0 && r.tid() != r.tgid() => {
                a.absent();
            }
            Src::U64(i) | Src::CloneFlags(i) => match r.blob(i as u8, CAP_U64) {
                Some(b) => {
                    a.uint(le_u64(b));
                }
                None => {
                    a.absent();
                }
            },
            Src::FdPair(i, k) => match r.blob(i as u8, CAP_FDPAIR) {
                Some(b) if b.len() >= 8 => {
                    let o = k * 4;
                    a.int(i64::from(i32::from_le_bytes([
                        b[o],
                        b[o + 1],
                        b[o + 2],
                        b[o + 3],
                    ])));
                }
                _ => {
                    a.absent();
                }
            },
            Src::Absent => {
                a.absent();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_decode() {
        let mut v4 = vec![2, 0, 0x11, 0x5c, 127, 0, 0, 1];
        v4.extend([0; 8]);
        assert_eq!(sockaddr(&v4), SockAddr::Inet([127, 0, 0, 1], 4444));
        let mut un = vec![1, 0];
        un.extend(b"/run/x.sock\0garbage");
        assert_eq!(sockaddr(&un), SockAddr::Unix(b"/run/x.sock"));
        assert_eq!(sockaddr(&[1]), SockAddr::None);
        assert_eq!(sockaddr(&[16, 0, 1, 2]), SockAddr::Other(16));
    }

    #[test]
    fn records_shorter_than_they_claim_are_rejected() {
        let h = RecHeader {
            rec: REC_SYSCALL,
            payload_len: 6,
            ..RecHeader::default()
        };
        // SAFETY: RecHeader is plain old data.
        let bytes = unsafe {
            std::slice::from_raw_parts(&h as *const RecHeader as *const u8, REC_HEADER_LEN)
        };
        assert!(Record::parse(bytes).is_none());
        let mut ok = bytes.to_vec();
        ok.extend([3, CAP_STR, 2, 0, b'h', b'i']);
        let r = Record::parse(&ok).expect("parses");
        assert_eq!(
            r.blobs().collect::<Vec<_>>(),
            vec![(3, CAP_STR, &b"hi"[..])]
        );
    }
}
