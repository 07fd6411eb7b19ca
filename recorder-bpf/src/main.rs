//! Ferret's eBPF programs.
//!
//! - `sys_enter` (raw tracepoint): for calls whose data is gone at exit or
//!   that never return (execve's filename, argv and envp; exit's status), emits
//!   a `REC_SYS_ENTER` record with the captured blobs.
//! - `sys_exit` (raw tracepoint): one `REC_SYSCALL` record per completed call
//!   that the spec map selects: number, the six argument registers (still in
//!   `pt_regs` at exit), return value, and blobs read from user memory (paths,
//!   socket addresses, data up to the snap length).
//! - `sched_process_fork` / `_exec` / `_exit` (tracepoints): lifecycle records;
//!   field offsets come from the tracefs format files via the config map, so no
//!   kernel struct layout is assumed.
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
    let mut h = base_header(REC_SYSCALL, nr as u32);
    h.ret = ret;
    h.args = args;
    r.submit(&h);
    Some(())
}

#[tracepoint(category = "sched", name = "sched_process_fork")]
pub fn sched_process_fork(ctx: TracePointContext) -> i32 {
    try_fork(&ctx);
    0
}

#[inline(always)]
fn try_fork(ctx: &TracePointContext) -> Option<()> {
    let cfg = config()?;
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let parent: i32 = unsafe { ctx.read_at(cfg.fork_parent_off as usize & 0xfff) }.ok()?;
    let child: i32 = unsafe { ctx.read_at(cfg.fork_child_off as usize & 0xfff) }.ok()?;
    if cfg.filters & FILTER_PID != 0 && PIDS.get_ptr(&tgid).is_some() {
        // Follow the tree: a child of a selected process is selected.
        let _ = PIDS.insert(&(child as u32), &1u8, 0);
    }
    if !allowed(cfg, tgid) {
        return None;
    }
    let mut r = Rec::new()?;
    let mut h = base_header(REC_FORK, 0);
    h.args[0] = parent as u32 as u64;
    h.args[1] = child as u32 as u64;
    h.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    r.submit(&h);
    Some(())
}

#[tracepoint(category = "sched", name = "sched_process_exec")]
pub fn sched_process_exec(ctx: TracePointContext) -> i32 {
    try_exec(&ctx);
    0
}

#[inline(always)]
fn try_exec(ctx: &TracePointContext) -> Option<()> {
    let cfg = config()?;
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !allowed(cfg, tgid) {
        return None;
    }
    let pid: i32 = unsafe { ctx.read_at(cfg.exec_pid_off as usize & 0xfff) }.ok()?;
    let old: i32 = unsafe { ctx.read_at(cfg.exec_old_pid_off as usize & 0xfff) }.ok()?;
    let loc: u32 = unsafe { ctx.read_at(cfg.exec_filename_off as usize & 0xfff) }.ok()?;
    let mut r = Rec::new()?;
    if let Some(at) = r.room() {
        let src = ctx.as_ptr() as usize + (loc & 0xffff) as usize;
        let n = unsafe {
            bpf_probe_read_kernel_str(
                r.buf.add(at + BLOB_HEADER_LEN) as *mut _,
                MAX_STR as u32,
                src as *const _,
            )
        };
        if n > 0 {
            r.commit(at, 0, CAP_STR, (n as usize - 1) & (MAX_STR - 1));
        }
    }
    let mut h = base_header(REC_EXEC, 0);
    h.args[0] = pid as u32 as u64;
    h.args[1] = old as u32 as u64;
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
