//! Ferret's eBPF programs.
//!
//! - `sys_enter` (raw tracepoint): for calls whose data is gone at exit or
//!   that never return (execve's filename, argv and envp; exit's status), emits
//!   a `REC_SYS_ENTER` record with the captured blobs.
//! - `sys_exit` (raw tracepoint): one `REC_SYSCALL` record per completed call
//!   that the spec map selects: number, the six argument registers (still in
//!   `pt_regs` at exit), return value, and blobs read from user memory (paths,
//!   socket addresses, data up to the snap length).
//! - `sched_process_fork` / `sched_process_exec` (raw tracepoints): lifecycle
//!   records carrying what the kernel knows of the new or exec'ing task
//!   ([`TaskInfo`]: lineage, ids in its pid namespace, credentials,
//!   capabilities, session, tty, flags of its executable) and its paths (cwd,
//!   executable, cgroup) walked component by component. The fork record is
//!   written in the parent before the child first runs, so a task is always
//!   known before its first event. Kernel struct offsets come from the running
//!   kernel's BTF, resolved in user space and passed in the `OFFSETS` map.
//! - `sched_process_exit` (tracepoint): exit records; field offsets come from
//!   the tracefs format file via the config map.
//!
//! Records are built in a per-CPU scratch buffer and copied to one ring buffer
//! without waking the reader (it polls); a failed copy increments the per-CPU
//! drop counter that the recorder turns into loss records. The recorder's own
//! process is never recorded. Filters (pid tree, comm, cgroup) are applied here.
//!
//! pt_regs offsets are x86_64's (`orig_ax` 120, `di` 112, `si` 104, `dx` 96,
//! `r10` 56, `r8` 72, `r9` 64).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::generated::{
        bpf_get_current_cgroup_id, bpf_get_smp_processor_id, bpf_ktime_get_boot_ns, bpf_loop,
        bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user,
        bpf_probe_read_user_str,
    },
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid},
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, PerCpuArray, RingBuf},
    programs::{RawTracePointContext, TracePointContext},
    EbpfContext,
};
use recorder_common::*;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(32 << 20, 0);
#[map]
static SCRATCH: PerCpuArray<[u8; SCRATCH_LEN]> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SPECS: Array<SysSpec> = Array::with_max_entries(MAX_SYSCALLS, 0);
#[map]
static CONFIG: Array<Config> = Array::with_max_entries(1, 0);
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PIDS: HashMap<u32, u8> = HashMap::with_max_entries(16384, 0);
#[map]
static COMMS: HashMap<[u8; 16], u8> = HashMap::with_max_entries(256, 0);
#[map]
static CGROUPS: HashMap<u64, u8> = HashMap::with_max_entries(256, 0);
#[map]
static OFFSETS: Array<KernelOffsets> = Array::with_max_entries(1, 0);

/// BPF_RB_NO_WAKEUP: the reader polls on a timer.
const NO_WAKEUP: u64 = 1;
const REG_ORIG_AX: usize = 120;
/// Offset of r10 in pt_regs; the eight words from here are
/// r10, r9, r8, ax, cx, dx, si, di.
const REG_BLOCK: usize = 56;

#[inline(always)]
fn config() -> Option<&'static Config> {
    CONFIG.get(0)
}

/// Whether the current task may be recorded.
#[inline(always)]
fn allowed(cfg: &Config, tgid: u32) -> bool {
    if tgid == cfg.self_tgid {
        return false;
    }
    let f = cfg.filters;
    if f == 0 {
        return true;
    }
    if f & FILTER_PID != 0 && PIDS.get_ptr(&tgid).is_none() {
        return false;
    }
    if f & (FILTER_COMM_INCLUDE | FILTER_COMM_EXCLUDE) != 0 {
        let comm = bpf_get_current_comm().unwrap_or([0; 16]);
        let v = COMMS.get_ptr(&comm).map(|p| unsafe { *p }).unwrap_or(0);
        if f & FILTER_COMM_EXCLUDE != 0 && v == 2 {
            return false;
        }
        if f & FILTER_COMM_INCLUDE != 0 && v != 1 {
            return false;
        }
    }
    if f & FILTER_CGROUP != 0 {
        let id = unsafe { bpf_get_current_cgroup_id() };
        if CGROUPS.get_ptr(&id).is_none() {
            return false;
        }
    }
    true
}

#[inline(always)]
fn drop_one() {
    if let Some(p) = DROPS.get_ptr_mut(0) {
        unsafe { *p += 1 };
    }
}

/// A record being built in the scratch buffer.
struct Rec {
    buf: *mut u8,
    off: usize,
    nblobs: u16,
    flags: u16,
}

impl Rec {
    #[inline(always)]
    fn new() -> Option<Rec> {
        let buf = SCRATCH.get_ptr_mut(0)? as *mut u8;
        Some(Rec {
            buf,
            off: REC_HEADER_LEN,
            nblobs: 0,
            flags: 0,
        })
    }

    /// Start of the next blob's data, or None when the record is full.
    #[inline(always)]
    fn room(&mut self) -> Option<usize> {
        if self.off >= MAX_RECORD - BLOB_HEADER_LEN {
            self.flags |= FLAG_TRUNCATED;
            return None;
        }
        Some(self.off & (MAX_RECORD - 1))
    }

    #[inline(always)]
    fn commit(&mut self, at: usize, slot: u8, kind: u8, len: usize) {
        let len = len & (MAX_STR * 2 - 1);
        let h = BlobHeader {
            slot,
            kind,
            len: len as u16,
        };
        unsafe { core::ptr::write_unaligned(self.buf.add(at) as *mut BlobHeader, h) };
        self.off = at + BLOB_HEADER_LEN + len;
        self.nblobs += 1;
    }

    #[inline(always)]
    fn user_str(&mut self, slot: u8, src: u64) {
        if src == 0 {
            return;
        }
        let Some(at) = self.room() else { return };
        let n = unsafe {
            bpf_probe_read_user_str(
                self.buf.add(at + BLOB_HEADER_LEN) as *mut _,
                MAX_STR as u32,
                src as *const _,
            )
        };
        if n <= 0 {
            return;
        }
        if n as usize >= MAX_STR {
            self.flags |= FLAG_TRUNCATED;
        }
        self.commit(at, slot, CAP_STR, (n as usize - 1) & (MAX_STR - 1));
    }

    /// Appends a NUL-terminated kernel string of at most `max` bytes.
    #[inline(always)]
    fn kernel_str(&mut self, slot: u8, kind: u8, src: u64, max: u32) -> bool {
        if src == 0 {
            return true;
        }
        let Some(at) = self.room() else { return false };
        let max = if max > MAX_STR as u32 {
            MAX_STR as u32
        } else {
            max
        };
        let n = unsafe {
            bpf_probe_read_kernel_str(
                self.buf.add(at + BLOB_HEADER_LEN) as *mut _,
                max,
                src as *const _,
            )
        };
        if n <= 0 {
            return true;
        }
        self.commit(at, slot, kind, (n as usize - 1) & (MAX_STR - 1));
        true
    }

    /// Appends an empty marker blob.
    #[inline(always)]
    fn mark(&mut self, slot: u8, kind: u8) {
        if let Some(at) = self.room() {
            self.commit(at, slot, kind, 0);
        }
    }

    #[inline(always)]
    fn user_bytes(&mut self, slot: u8, kind: u8, src: u64, len: u64, cap: u32) {
        if src == 0 {
            return;
        }
        let Some(at) = self.room() else { return };
        let mut n = len;
        if n > cap as u64 {
            n = cap as u64;
            self.flags |= FLAG_TRUNCATED;
        }
        let n = (n as u32) & (MAX_STR as u32 * 2 - 1);
        if n > MAX_STR as u32 {
            return;
        }
        let r = unsafe {
            bpf_probe_read_user(
                self.buf.add(at + BLOB_HEADER_LEN) as *mut _,
                n,
                src as *const _,
            )
        };
        if r == 0 {
            self.commit(at, slot, kind, n as usize);
        }
    }

    #[inline(always)]
    fn header(&mut self, h: &RecHeader) {
        let mut h = *h;
        h.payload_len = (self.off - REC_HEADER_LEN) as u32;
        h.nblobs = self.nblobs;
        h.flags = self.flags;
        unsafe { core::ptr::write_unaligned(self.buf as *mut RecHeader, h) };
    }

    #[inline(always)]
    fn submit(&mut self, h: &RecHeader) {
        self.header(h);
        let len = self.off;
        if len > MAX_RECORD + MAX_STR {
            return;
        }
        let data = unsafe { core::slice::from_raw_parts(self.buf as *const u8, len) };
        if EVENTS.output::<[u8]>(data, NO_WAKEUP).is_err() {
            drop_one();
        }
    }
}

#[inline(always)]
fn base_header(rec: u16, nr: u32) -> RecHeader {
    RecHeader {
        rec,
        cpu: unsafe { bpf_get_smp_processor_id() } as u16,
        nr,
        ts: unsafe { bpf_ktime_get_boot_ns() },
        pid_tgid: bpf_get_current_pid_tgid(),
        uid_gid: bpf_get_current_uid_gid(),
        ..RecHeader::default()
    }
}

/// Reads the syscall argument registers from pt_regs.
#[inline(always)]
fn regs_args(regs: u64) -> [u64; 6] {
    let mut w = [0u64; 8];
    unsafe {
        bpf_probe_read_kernel(
            w.as_mut_ptr() as *mut _,
            64,
            (regs as usize + REG_BLOCK) as *const _,
        )
    };
    // r10 r9 r8 ax cx dx si di -> di si dx r10 r8 r9
    [w[7], w[6], w[5], w[0], w[2], w[1]]
}

/// `args[i]` without a variable-offset stack read (the verifier rejects those).
#[inline(always)]
fn pick(args: &[u64; 6], i: u8) -> u64 {
    match i {
        0 => args[0],
        1 => args[1],
        2 => args[2],
        3 => args[3],
        4 => args[4],
        5 => args[5],
        _ => 0,
    }
}

#[inline(always)]
fn capture_op(r: &mut Rec, op: &CapOp, args: &[u64; 6], ret: i64, snaplen: u32) {
    let slot = op.slot;
    let a = pick(args, slot);
    let len = pick(args, op.len_slot);
    match op.kind {
        CAP_STR => r.user_str(slot, a),
        CAP_SOCKADDR => r.user_bytes(slot, CAP_SOCKADDR, a, len, MAX_SOCKADDR as u32),
        CAP_BUF_RET => {
            if ret > 0 {
                r.user_bytes(slot, CAP_BUF_RET, a, ret as u64, snaplen)
            }
        }
        CAP_BUF_LEN => r.user_bytes(slot, CAP_BUF_LEN, a, len, snaplen),
        CAP_U64 => r.user_bytes(slot, CAP_U64, a, 8, 8),
        CAP_FDPAIR => {
            if ret == 0 {
                r.user_bytes(slot, CAP_FDPAIR, a, 8, 8)
            }
        }
        CAP_IOV_RET | CAP_IOV_LEN => {
            let iov = unsafe { aya_ebpf::helpers::bpf_probe_read_user(a as *const [u64; 2]) };
            if let Ok([base, ilen]) = iov {
                let want = if op.kind == CAP_IOV_RET {
                    if ret > 0 {
                        ret as u64
                    } else {
                        0
                    }
                } else {
                    ilen
                };
                let n = if want < ilen { want } else { ilen };
                if n > 0 {
                    r.user_bytes(slot, CAP_BUF_RET, base, n, snaplen);
                }
            }
        }
        CAP_MSGHDR => {
            // struct msghdr { void *name; int namelen; iovec *iov; size_t iovlen; ... }
            let m = unsafe { aya_ebpf::helpers::bpf_probe_read_user(a as *const [u64; 4]) };
            if let Ok([name, namelen, iovp, _]) = m {
                r.user_bytes(
                    slot,
                    CAP_SOCKADDR,
                    name,
                    namelen & 0xffff_ffff,
                    MAX_SOCKADDR as u32,
                );
                let iov =
                    unsafe { aya_ebpf::helpers::bpf_probe_read_user(iovp as *const [u64; 2]) };
                if let Ok([base, ilen]) = iov {
                    if ret > 0 {
                        let n = if (ret as u64) < ilen {
                            ret as u64
                        } else {
                            ilen
                        };
                        r.user_bytes(slot, CAP_BUF_RET, base, n, snaplen);
                    }
                }
            }
        }
        CAP_SOCKADDR_PLEN => {
            if len != 0 && ret >= 0 {
                if let Ok(l) = unsafe { aya_ebpf::helpers::bpf_probe_read_user(len as *const u32) }
                {
                    r.user_bytes(slot, CAP_SOCKADDR, a, l as u64, MAX_SOCKADDR as u32);
                }
            }
        }
        _ => {}
    }
}

/// State of an argv capture across `bpf_loop` steps (scalars only: the
/// scratch buffer is looked up again in each step).
#[repr(C)]
struct ArgvLoop {
    off: u64,
    nblobs: u64,
    flags: u64,
    arr: u64,
    slot: u64,
}

/// One `bpf_loop` step: reads `argv[k]` and appends it as a string blob;
/// returns 1 (stop) at the terminating NULL or an unreadable pointer.
extern "C" fn argv_step(k: u64, ctx: *mut core::ffi::c_void) -> i64 {
    let c = unsafe { &mut *(ctx as *mut ArgvLoop) };
    let p = unsafe { aya_ebpf::helpers::bpf_probe_read_user((c.arr + 8 * k) as *const u64) };
    let s = match p {
        Ok(0) | Err(_) => return 1,
        Ok(s) => s,
    };
    let Some(buf) = SCRATCH.get_ptr_mut(0) else {
        return 1;
    };
    let mut r = Rec {
        buf: buf as *mut u8,
        off: c.off as usize,
        nblobs: c.nblobs as u16,
        flags: c.flags as u16,
    };
    r.user_str(c.slot as u8, s);
    c.off = r.off as u64;
    c.nblobs = r.nblobs as u64;
    c.flags = r.flags as u64;
    if k + 1 == MAX_ARGV as u64 {
        c.flags |= FLAG_TRUNCATED as u64;
    }
    0
}

/// Reads a NULL-terminated array of string pointers, one blob per string,
/// tagged `slot | 0x80`, at most [`MAX_ARGV`].
#[inline(always)]
fn capture_argv(r: &mut Rec, slot: u8, arr: u64) {
    if arr == 0 {
        return;
    }
    let mut st = ArgvLoop {
        off: r.off as u64,
        nblobs: r.nblobs as u64,
        flags: r.flags as u64,
        arr,
        slot: (slot | 0x80) as u64,
    };
    unsafe {
        bpf_loop(
            MAX_ARGV as u32,
            argv_step as *mut core::ffi::c_void,
            &mut st as *mut ArgvLoop as *mut _,
            0,
        )
    };
    r.off = (st.off as usize) & (MAX_RECORD * 2 - 1);
    r.nblobs = st.nblobs as u16;
    r.flags = st.flags as u16;
}

/// Appends a [`SockInfo`] of `fd`'s socket (both ends, from the kernel) and,
/// for a unix socket, its own and its peer's bound paths.
#[inline(always)]
fn sock_blobs(r: &mut Rec, o: &KernelOffsets, fd: u64) {
    let Some(at) = r.room() else { return };
    // Built in place in the scratch buffer.
    let si = unsafe { &mut *(r.buf.add(at + BLOB_HEADER_LEN) as *mut SockInfo) };
    let task = unsafe { aya_ebpf::helpers::bpf_get_current_task() };
    let fdt = kr64(kr64(task, o.task_files), o.files_fdt);
    si.max_fds = kr32(fdt, o.fdtable_max_fds);
    si.fd = fd as u32;
    let file = kr64(kr64(fdt, o.fdtable_fd), ((fd & 0xf_ffff) * 8) as u32);
    si.mode = kr::<u16>(kr64(file, o.file_inode), o.inode_mode) as u32;
    let sock = kr64(file, o.file_private_data);
    si.sock_type = kr::<u16>(sock, o.socket_type);
    let sk = kr64(sock, o.socket_sk);
    si.sk = sk;
    si.family = kr::<u16>(sk, o.skc_family);
    si.lport = kr::<u16>(sk, o.skc_num);
    si.rport = kr::<u16>(sk, o.skc_dport);
    si.laddr4 = kr32(sk, o.skc_rcv_saddr);
    si.raddr4 = kr32(sk, o.skc_daddr);
    si.laddr6 = kr::<[u8; 16]>(sk, o.skc_v6_rcv_saddr);
    si.raddr6 = kr::<[u8; 16]>(sk, o.skc_v6_daddr);
    let peer = kr64(sk, o.unix_peer);
    si.peer = peer;
    let family = si.family;
    r.commit(at, 0, CAP_SOCKINFO, SOCK_INFO_LEN);
    if family == 1 {
        r.kernel_str(
            0,
            CAP_UNIXPATH,
            kr64(sk, o.unix_addr).wrapping_add(o.unix_path as u64),
            108,
        );
        r.kernel_str(
            1,
            CAP_UNIXPATH,
            kr64(peer, o.unix_addr).wrapping_add(o.unix_path as u64),
            108,
        );
    }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> i32 {
    try_sys_enter(&ctx);
    0
}

#[inline(always)]
fn try_sys_enter(ctx: &RawTracePointContext) -> Option<()> {
    let nr: u64 = ctx.arg(1);
    if nr >= MAX_SYSCALLS as u64 {
        return None;
    }
    let spec = SPECS.get(nr as u32)?;
    if spec.flags & SPEC_ENTER == 0 {
        return None;
    }
    let cfg = config()?;
    let pid_tgid = bpf_get_current_pid_tgid();
    // The comm filter is not applied to exec entries: before the exec the
    // comm is the old program's. The recorder drops entries whose exit is
    // filtered out.
    let mut entry_cfg = *cfg;
    if nr == 59 || nr == 322 {
        entry_cfg.filters &= !(FILTER_COMM_INCLUDE | FILTER_COMM_EXCLUDE);
    }
    if !allowed(&entry_cfg, (pid_tgid >> 32) as u32) {
        return None;
    }
    let regs: u64 = ctx.arg(0);
    let args = regs_args(regs);
    let mut r = Rec::new()?;
    // execve(filename, argv, envp); execveat(dirfd, filename, argv, envp, flags)
    if nr == 59 {
        r.user_str(0, args[0]);
        capture_argv(&mut r, 1, args[1]);
        capture_argv(&mut r, 2, args[2]);
    } else if nr == 322 {
        r.user_str(1, args[1]);
        capture_argv(&mut r, 2, args[2]);
        capture_argv(&mut r, 3, args[3]);
    }
    let mut h = base_header(REC_SYS_ENTER, nr as u32);
    h.args = args;
    r.submit(&h);
    Some(())
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    try_sys_exit(&ctx);
    0
}

#[inline(always)]
fn try_sys_exit(ctx: &RawTracePointContext) -> Option<()> {
    let regs: u64 = ctx.arg(0);
    let ret: i64 = ctx.arg(1);
    let nr = unsafe {
        aya_ebpf::helpers::bpf_probe_read_kernel((regs as usize + REG_ORIG_AX) as *const u64)
    }
    .ok()?;
    if nr >= MAX_SYSCALLS as u64 {
        return None;
    }
    let spec = SPECS.get(nr as u32)?;
    if spec.flags & (SPEC_EXIT | SPEC_GENERIC) == 0 {
        return None;
    }
    let cfg = config()?;
    let pid_tgid = bpf_get_current_pid_tgid();
    if !allowed(cfg, (pid_tgid >> 32) as u32) {
        return None;
    }
    let args = regs_args(regs);
    if spec.flags & SPEC_PROT_EXEC != 0 && args[2] & 4 == 0 {
        return None;
    }
    if spec.flags & SPEC_FCNTL_DUP != 0 && args[1] != 0 && args[1] != 1030 {
        return None;
    }
    let mut r = Rec::new()?;
    if spec.flags & (SPEC_ENTER | SPEC_GENERIC) == 0 {
        capture_op(&mut r, &spec.ops[0], &args, ret, cfg.snaplen);
        capture_op(&mut r, &spec.ops[1], &args, ret, cfg.snaplen);
        capture_op(&mut r, &spec.ops[2], &args, ret, cfg.snaplen);
    }
    if spec.flags & SPEC_SOCK != 0 && (ret >= 0 || ret == -115) {
        if let Some(o) = OFFSETS.get(0) {
            let fd = if spec.flags & SPEC_SOCK_RET != 0 {
                ret as u64
            } else {
                args[0]
            };
            sock_blobs(&mut r, o, fd);
        }
    }
    let mut h = base_header(REC_SYSCALL, nr as u32);
    h.ret = ret;
    h.args = args;
    r.submit(&h);
    Some(())
}

/// Reads a kernel value at `base + off` without a branch: the helper zeroes
/// the destination when the address is unreadable (a null base). A member
/// this kernel lacks gives garbage, which the recorder ignores.
#[inline(always)]
fn kr<T: Copy + Default>(base: u64, off: u32) -> T {
    let mut v = T::default();
    unsafe {
        bpf_probe_read_kernel(
            &mut v as *mut T as *mut _,
            core::mem::size_of::<T>() as u32,
            base.wrapping_add(off as u64) as *const _,
        )
    };
    v
}

#[inline(always)]
fn kr64(base: u64, off: u32) -> u64 {
    kr::<u64>(base, off)
}

#[inline(always)]
fn kr32(base: u64, off: u32) -> u32 {
    kr::<u32>(base, off)
}

/// `&pid->numbers[level]` (a `struct upid`).
#[inline(always)]
fn upid(o: &KernelOffsets, pid: u64, level: u32) -> u64 {
    pid.wrapping_add(o.pid_numbers as u64)
        .wrapping_add((level & 31) as u64 * (o.upid_size & 0xff) as u64)
}

/// Raw facts of `task` (see [`TaskInfo`]); straight-line reads only.
#[inline(always)]
fn task_info(o: &KernelOffsets, t: &mut TaskInfo, task: u64) {
    t.tid = kr32(task, o.task_pid);
    t.pid = kr32(task, o.task_tgid);
    let parent = kr64(task, o.task_real_parent);
    t.ptid = kr32(parent, o.task_pid);
    t.ppid = kr32(parent, o.task_tgid);
    t.vfork_done = kr64(task, o.task_vfork_done);
    let tp = kr64(task, o.task_thread_pid);
    let level = kr32(tp, o.pid_level) & 31;
    t.level = level;
    let me = upid(o, tp, level);
    t.vtid = kr32(me, 0);
    t.ns = kr64(me, o.upid_ns);
    t.reaper = kr32(kr64(t.ns, o.pidns_child_reaper), o.task_tgid);
    let sig = kr64(task, o.task_signal);
    let p = kr64(sig, o.signal_pid_tgid);
    t.tgid_level = kr32(p, o.pid_level);
    t.tgid_nr = kr32(upid(o, p, level), 0);
    t.tgid_ns = kr64(upid(o, p, level), o.upid_ns);
    let p = kr64(sig, o.signal_pid_pgid);
    t.pgid_level = kr32(p, o.pid_level);
    t.pgid_nr = kr32(upid(o, p, level), 0);
    t.pgid_ns = kr64(upid(o, p, level), o.upid_ns);
    let p = kr64(sig, o.signal_pid_sid);
    t.sid_level = kr32(p, o.pid_level);
    t.sid_nr = kr32(upid(o, p, level), 0);
    t.sid_ns = kr64(upid(o, p, level), o.upid_ns);
    t.subreaper_byte = kr::<u8>(sig, o.signal_subreaper_byte) as u32;
    let tty = kr64(sig, o.signal_tty);
    t.tty = tty;
    t.tty_index = kr32(tty, o.tty_index);
    let drv = kr64(tty, o.tty_driver);
    t.tty_major = kr32(drv, o.driver_major);
    t.tty_minor_start = kr32(drv, o.driver_minor_start);
    let cred = kr64(task, o.task_cred);
    t.uid = kr32(cred, o.cred_uid);
    t.gid = kr32(cred, o.cred_gid);
    t.euid = kr32(cred, o.cred_euid);
    t.egid = kr32(cred, o.cred_egid);
    t.fsuid = kr32(cred, o.cred_fsuid);
    t.fsgid = kr32(cred, o.cred_fsgid);
    t.cap_inheritable = kr64(cred, o.cred_cap_inheritable);
    t.cap_permitted = kr64(cred, o.cred_cap_permitted);
    t.cap_effective = kr64(cred, o.cred_cap_effective);
    t.loginuid = kr32(task, o.task_loginuid);
    t.sessionid = kr32(task, o.task_sessionid);
    t.start_boottime = kr64(task, o.task_start_boottime);
    let cg = kr64(kr64(task, o.task_cgroups), o.css_set_dfl_cgrp);
    t.cgroup_id = kr64(kr64(cg, o.cgroup_kn), o.kernfs_id);
    let exe = kr64(kr64(task, o.task_mm), o.mm_exe_file);
    t.exe_file = exe;
    let inode = kr64(exe, o.file_inode);
    t.exe_ino = kr64(inode, o.inode_ino);
    t.exe_mode = kr::<u16>(inode, o.inode_mode) as u32;
    t.exe_uid = kr32(inode, o.inode_uid);
    t.exe_gid = kr32(inode, o.inode_gid);
    t.exe_fs_magic = kr32(kr64(inode, o.inode_sb), o.sb_magic);
    t.exe_upper = kr64(inode, o.inode_size);
}

/// State of a path walk across `bpf_loop` steps. It lives in a per-CPU map,
/// not on the stack: values loaded from a map are unknown to the verifier, so
/// the states of successive steps are equal and the loop verifies once.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WalkLoop {
    off: u64,
    nblobs: u64,
    flags: u64,
    /// The current dentry (or kernfs node).
    node: u64,
    /// The current `struct vfsmount *`.
    mnt: u64,
    root_dentry: u64,
    root_mnt: u64,
    slot: u64,
    /// 1 when the root was reached.
    done: u64,
}

#[map]
static WALK: PerCpuArray<WalkLoop> = PerCpuArray::with_max_entries(1, 0);

/// Appends the component at `name` to the record and advances to `next`;
/// 1 (stop) when the record is full.
#[inline(always)]
fn walk_emit(c: &mut WalkLoop, name: u64, next: u64) -> i64 {
    let Some(buf) = SCRATCH.get_ptr_mut(0) else {
        return 1;
    };
    let mut r = Rec {
        buf: buf as *mut u8,
        off: (c.off as usize) & (MAX_RECORD * 2 - 1),
        nblobs: c.nblobs as u16,
        flags: c.flags as u16,
    };
    let ok = r.kernel_str((c.slot & 3) as u8, CAP_PATHCOMP, name, MAX_NAME as u32);
    c.off = r.off as u64;
    c.nblobs = r.nblobs as u64;
    c.flags = r.flags as u64;
    if !ok {
        return 1;
    }
    c.node = next;
    0
}

/// One step of a dentry walk: emits the current component and moves to its
/// parent, crossing mount points as `d_path` does; returns 1 at the root.
extern "C" fn dentry_step(_k: u64, _ctx: *mut core::ffi::c_void) -> i64 {
    let Some(c) = WALK.get_ptr_mut(0) else {
        return 1;
    };
    let c = unsafe { &mut *c };
    let Some(o) = OFFSETS.get(0) else { return 1 };
    let d = c.node;
    if d == 0 {
        return 1;
    }
    if d == c.root_dentry && c.mnt == c.root_mnt {
        c.done = 1;
        return 1;
    }
    let parent = kr64(d, o.dentry_parent);
    let mnt_root = kr64(c.mnt, o.vfsmount_root);
    if parent == d && d != mnt_root {
        // A pseudo file's own dentry (memfd, pipe, socket): its name is the
        // whole path, as d_path's d_dname gives it.
        let _ = walk_emit(c, kr64(d, o.dentry_name), parent);
        c.done = 1;
        return 1;
    }
    if d == mnt_root || parent == d {
        let mount = c.mnt.wrapping_sub(o.mount_mnt as u64);
        let up = kr64(mount, o.mount_parent);
        if up == mount || up == 0 {
            // The global root (or a detached mount): as far as d_path goes.
            c.done = 1;
            return 1;
        }
        c.node = kr64(mount, o.mount_mountpoint);
        c.mnt = up.wrapping_add(o.mount_mnt as u64);
        return 0;
    }
    walk_emit(c, kr64(d, o.dentry_name), parent)
}

/// One step of a kernfs (cgroup) walk; returns 1 at the hierarchy's root.
extern "C" fn kernfs_step(_k: u64, _ctx: *mut core::ffi::c_void) -> i64 {
    let Some(c) = WALK.get_ptr_mut(0) else {
        return 1;
    };
    let c = unsafe { &mut *c };
    let Some(o) = OFFSETS.get(0) else { return 1 };
    let parent = kr64(c.node, o.kernfs_parent);
    if parent == 0 {
        c.done = 1;
        return 1;
    }
    walk_emit(c, kr64(c.node, o.kernfs_name), parent)
}

/// Walks a path leaf first into `CAP_PATHCOMP` blobs of `slot`, then a
/// `CAP_PATHEND` marker when the root was reached.
#[inline(always)]
fn walk(r: &mut Rec, slot: u8, node: u64, mnt: u64, root: (u64, u64), kernfs: bool) {
    let Some(st) = WALK.get_ptr_mut(0) else {
        return;
    };
    unsafe {
        *st = WalkLoop {
            off: r.off as u64,
            nblobs: r.nblobs as u64,
            flags: r.flags as u64,
            node,
            mnt,
            root_dentry: root.0,
            root_mnt: root.1,
            slot: slot as u64,
            done: 0,
        }
    };
    let step = if kernfs {
        kernfs_step as *mut core::ffi::c_void
    } else {
        dentry_step as *mut core::ffi::c_void
    };
    unsafe { bpf_loop((MAX_PATH_DEPTH * 2) as u32, step, core::ptr::null_mut(), 0) };
    let st = unsafe { &*st };
    r.off = (st.off as usize) & (MAX_RECORD * 2 - 1);
    r.nblobs = st.nblobs as u16;
    r.flags = st.flags as u16;
    if st.done != 0 {
        r.mark(slot, CAP_PATHEND);
    }
}

/// Appends the task's info and its cwd, executable and cgroup paths.
#[inline(always)]
fn task_blobs(r: &mut Rec, o: &KernelOffsets, task: u64) {
    let Some(at) = r.room() else { return };
    // Built in place in the scratch buffer (the stack is too small for it).
    let t = unsafe { &mut *(r.buf.add(at + BLOB_HEADER_LEN) as *mut TaskInfo) };
    task_info(o, t, task);
    r.commit(at, 0, CAP_TASK, TASK_INFO_LEN);
    let fs = kr64(task, o.task_fs);
    let root = (kr64(fs, o.fs_root_dentry), kr64(fs, o.fs_root_mnt));
    walk(
        r,
        PATH_CWD,
        kr64(fs, o.fs_pwd_dentry),
        kr64(fs, o.fs_pwd_mnt),
        root,
        false,
    );
    let exe = kr64(kr64(task, o.task_mm), o.mm_exe_file);
    walk(
        r,
        PATH_EXE,
        kr64(exe, o.file_dentry),
        kr64(exe, o.file_mnt),
        root,
        false,
    );
    let cgroups = kr64(task, o.task_cgroups);
    if o.cgroup_walks & WALK_CGROUP_UNIFIED != 0 {
        let cg = kr64(cgroups, o.css_set_dfl_cgrp);
        walk(r, PATH_CGROUP, kr64(cg, o.cgroup_kn), 0, (0, 0), true);
    }
    // On v1 and hybrid hosts a runtime may set only v1 paths: the chosen
    // controller's hierarchy too.
    if o.cgroup_walks & WALK_CGROUP_V1 != 0 && o.css_set_v1_css != u32::MAX {
        let cg = kr64(kr64(cgroups, o.css_set_v1_css), o.css_cgroup);
        walk(r, PATH_CGROUP_V1, kr64(cg, o.cgroup_kn), 0, (0, 0), true);
    }
}

#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn sched_process_fork(ctx: RawTracePointContext) -> i32 {
    try_fork(&ctx);
    0
}

#[inline(always)]
fn try_fork(ctx: &RawTracePointContext) -> Option<()> {
    let cfg = config()?;
    let o = OFFSETS.get(0)?;
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    // sched_process_fork(struct task_struct *parent, struct task_struct *child)
    let child: u64 = ctx.arg(1);
    let child_tid = kr32(child, o.task_pid);
    let child_tgid = kr32(child, o.task_tgid);
    if cfg.filters & FILTER_PID != 0 && PIDS.get_ptr(&tgid).is_some() {
        // Follow the tree: a child of a selected process is selected.
        let _ = PIDS.insert(&child_tgid, &1u8, 0);
    }
    if !allowed(cfg, tgid) {
        return None;
    }
    let mut r = Rec::new()?;
    task_blobs(&mut r, o, child);
    let mut h = base_header(REC_FORK, 0);
    h.args[0] = pid_tgid & 0xffff_ffff;
    h.args[1] = child_tid as u64;
    h.args[2] = child_tgid as u64;
    h.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    r.submit(&h);
    Some(())
}

#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> i32 {
    try_exec(&ctx);
    0
}

#[inline(always)]
fn try_exec(ctx: &RawTracePointContext) -> Option<()> {
    let cfg = config()?;
    let o = OFFSETS.get(0)?;
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !allowed(cfg, tgid) {
        return None;
    }
    // sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
    let task: u64 = ctx.arg(0);
    let old: u64 = ctx.arg(1);
    let bprm: u64 = ctx.arg(2);
    let mut r = Rec::new()?;
    r.kernel_str(0, CAP_STR, kr64(bprm, o.binprm_filename), MAX_STR as u32);
    task_blobs(&mut r, o, task);
    let mut h = base_header(REC_EXEC, 0);
    h.args[0] = tgid as u64;
    h.args[1] = old & 0xffff_ffff;
    h.cgroup = unsafe { bpf_get_current_cgroup_id() };
    h.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    r.submit(&h);
    Some(())
}

#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn sched_process_exit(ctx: TracePointContext) -> i32 {
    try_exit(&ctx);
    0
}

#[inline(always)]
fn try_exit(ctx: &TracePointContext) -> Option<()> {
    let cfg = config()?;
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !allowed(cfg, tgid) {
        return None;
    }
    let tid: i32 = unsafe { ctx.read_at(cfg.exit_pid_off as usize & 0xfff) }.ok()?;
    let group_dead: u8 = if cfg.exit_group_dead_off == u32::MAX {
        (tgid == pid_tgid as u32) as u8
    } else {
        unsafe { ctx.read_at(cfg.exit_group_dead_off as usize & 0xfff) }.unwrap_or(0)
    };
    if group_dead != 0 && cfg.filters & FILTER_PID != 0 {
        let _ = PIDS.remove(&tgid);
    }
    let mut r = Rec::new()?;
    let mut h = base_header(REC_EXIT, 0);
    h.args[0] = tid as u32 as u64;
    h.args[1] = group_dead as u64;
    h.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    r.submit(&h);
    Some(())
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
