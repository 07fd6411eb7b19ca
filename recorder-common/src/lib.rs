//! The kernel-to-recorder wire format: what Ferret's eBPF programs put in the
//! ring buffer and which maps configure them. `#[repr(C)]`, `Copy`, no
//! implicit padding, no enums or bools (decoded with checks on the host side,
//! never transmuted). Only `recorder-bpf` and `recorder` depend on this crate;
//! the capture schema (crate `capture`) is a separate layer and the two meet in
//! `recorder/src/convert.rs` only.
//!
//! A ring-buffer record is a [`RecHeader`] followed by `payload_len` bytes of
//! blobs, each a [`BlobHeader`] and `len` bytes.
#![no_std]

/// A completed system call, emitted at syscall exit.
pub const REC_SYSCALL: u16 = 1;
/// Data read at syscall entry (execve's filename and argv, exit's status),
/// for calls whose arguments are gone (or that never return) at exit.
pub const REC_SYS_ENTER: u16 = 2;
/// sched_process_fork: `args[0]` parent tid, `args[1]` child tid.
pub const REC_FORK: u16 = 3;
/// sched_process_exec: `args[0]` pid, `args[1]` old pid; blob 0 filename.
pub const REC_EXEC: u16 = 4;
/// sched_process_exit: `args[0]` tid, `args[1]` group_dead.
pub const REC_EXIT: u16 = 5;

/// Fixed part of every record (120 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecHeader {
    /// One of the `REC_*` constants.
    pub rec: u16,
    /// CPU that produced the record.
    pub cpu: u16,
    /// Syscall number (architecture-specific), or 0.
    pub nr: u32,
    /// `bpf_ktime_get_boot_ns()`.
    pub ts: u64,
    /// `bpf_get_current_pid_tgid()`: tgid in the high half, tid in the low.
    pub pid_tgid: u64,
    /// `bpf_get_current_uid_gid()`: gid in the high half, uid in the low.
    pub uid_gid: u64,
    /// Return value (syscalls) or 0.
    pub ret: i64,
    /// Raw argument registers, or record-specific values.
    pub args: [u64; 6],
    /// `bpf_get_current_cgroup_id()` (exec records), else 0.
    pub cgroup: u64,
    /// `bpf_get_current_comm()`.
    pub comm: [u8; 16],
    /// Bytes of blobs after the header.
    pub payload_len: u32,
    /// Number of blobs.
    pub nblobs: u16,
    /// `BLOB_TRUNCATED` set when some data did not fit.
    pub flags: u16,
}

/// Size of [`RecHeader`] in bytes.
pub const REC_HEADER_LEN: usize = core::mem::size_of::<RecHeader>();

/// Header of one blob: which argument slot it belongs to, what it is, length.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlobHeader {
    /// The argument register (0..=5) the blob was read through.
    pub slot: u8,
    /// One of the `CAP_*` constants.
    pub kind: u8,
    /// Bytes that follow.
    pub len: u16,
}

/// Size of [`BlobHeader`].
pub const BLOB_HEADER_LEN: usize = 4;
/// Record flag: some blob was cut to fit.
pub const FLAG_TRUNCATED: u16 = 1;

/// Capture kinds for an argument register ([`SysSpec::arg`]).
pub const CAP_NONE: u8 = 0;
/// NUL-terminated user string (path, name).
pub const CAP_STR: u8 = 1;
/// `struct sockaddr *`, length in the register named by `len_arg`.
pub const CAP_SOCKADDR: u8 = 2;
/// User buffer whose valid length is the return value (read, recvfrom).
pub const CAP_BUF_RET: u8 = 3;
/// User buffer whose length is the register named by `len_arg` (write).
pub const CAP_BUF_LEN: u8 = 4;
/// `char *const argv[]`: one blob per string (kind `CAP_STR`) in order, at
/// most [`MAX_ARGV`].
pub const CAP_ARGV: u8 = 5;
/// `u64` at a user pointer (clone3's `clone_args.flags`).
pub const CAP_U64: u8 = 6;
/// `int[2]` at a user pointer (pipe, socketpair).
pub const CAP_FDPAIR: u8 = 7;
/// `struct iovec *`: the first iovec's data up to the return value.
pub const CAP_IOV_RET: u8 = 8;
/// `struct iovec *` whose data is written (writev): first iovec, up to len_arg... or ret.
pub const CAP_IOV_LEN: u8 = 9;
/// `struct msghdr *`: a `CAP_SOCKADDR` blob for msg_name and a `CAP_BUF_RET` blob for the first iovec.
pub const CAP_MSGHDR: u8 = 10;
/// `struct sockaddr *` with its length at an `int *` in `len_arg` (accept).
pub const CAP_SOCKADDR_PLEN: u8 = 11;

/// Spec flag: record this syscall at exit.
pub const SPEC_EXIT: u8 = 1;
/// Spec flag: emit a [`REC_SYS_ENTER`] record at entry. For execve (59) and
/// execveat (322) it holds the filename and the argv and envp strings.
pub const SPEC_ENTER: u8 = 2;
/// Spec flag: a generic record (number and raw registers only).
pub const SPEC_GENERIC: u8 = 4;
/// Spec flag: only when register 2 has PROT_EXEC (mmap, mprotect).
pub const SPEC_PROT_EXEC: u8 = 8;
/// Spec flag: only when register 1 is F_DUPFD or F_DUPFD_CLOEXEC (fcntl).
pub const SPEC_FCNTL_DUP: u8 = 16;

/// One capture operation: read what register `slot` points to, as `kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapOp {
    /// The argument register (0..=5).
    pub slot: u8,
    /// One of the `CAP_*` constants (`CAP_NONE` ends the list).
    pub kind: u8,
    /// For length-taking kinds: the register holding the length.
    pub len_slot: u8,
    /// Padding (0).
    pub pad: u8,
}

/// Most capture operations per syscall.
pub const MAX_OPS: usize = 3;

/// What to capture for one syscall number; an array map indexed by number.
/// Few operations per call (instead of one per register) keep the number of
/// paths the verifier explores small.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysSpec {
    /// `SPEC_*` flags; 0 = not recorded.
    pub flags: u8,
    /// Padding (0).
    pub pad: [u8; 3],
    /// Capture operations, in order; unused ones have kind `CAP_NONE`.
    pub ops: [CapOp; MAX_OPS],
}

/// Number of syscall numbers the spec map covers.
pub const MAX_SYSCALLS: u32 = 512;
/// Most argv/envp strings captured per exec.
pub const MAX_ARGV: usize = 64;
/// Longest string captured (paths; longer ones are cut and flagged).
pub const MAX_STR: usize = 4096;
/// Longest socket address captured.
pub const MAX_SOCKADDR: usize = 128;
/// Largest record (header and blobs).
pub const MAX_RECORD: usize = 16384;
/// Size of the per-CPU scratch buffer records are built in (room for one more
/// maximal blob past `MAX_RECORD`, so writes can be bounded by a mask).
pub const SCRATCH_LEN: usize = 32768;

/// Recorder configuration, one entry of an array map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The recorder's own tgid: never recorded.
    pub self_tgid: u32,
    /// Bytes of I/O data kept per event (<= 4096).
    pub snaplen: u32,
    /// `FILTER_*` bits: which filter maps are active.
    pub filters: u32,
    /// Offset of `parent_pid` in the sched_process_fork record.
    pub fork_parent_off: u32,
    /// Offset of `child_pid` in the sched_process_fork record.
    pub fork_child_off: u32,
    /// Offset of the `filename` __data_loc in sched_process_exec.
    pub exec_filename_off: u32,
    /// Offset of `pid` in sched_process_exec.
    pub exec_pid_off: u32,
    /// Offset of `old_pid` in sched_process_exec.
    pub exec_old_pid_off: u32,
    /// Offset of `pid` in sched_process_exit.
    pub exit_pid_off: u32,
    /// Offset of `group_dead` in sched_process_exit, or `u32::MAX` if absent.
    pub exit_group_dead_off: u32,
}

/// Filter bit: only tgids in the PIDS map (and their descendants).
pub const FILTER_PID: u32 = 1;
/// Filter bit: only comms in the COMMS map with value 1.
pub const FILTER_COMM_INCLUDE: u32 = 2;
/// Filter bit: never comms in the COMMS map with value 2.
pub const FILTER_COMM_EXCLUDE: u32 = 4;
/// Filter bit: only cgroup ids in the CGROUPS map.
pub const FILTER_CGROUP: u32 = 8;

#[cfg(feature = "user")]
mod user {
    // SAFETY: all of these are repr(C), Copy, without padding bytes that
    // could leak, and valid for every bit pattern.
    unsafe impl aya::Pod for super::SysSpec {}
    unsafe impl aya::Pod for super::Config {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(core::mem::size_of::<super::RecHeader>(), 120);
        assert_eq!(core::mem::size_of::<super::SysSpec>(), 16);
        assert_eq!(core::mem::size_of::<super::CapOp>(), 4);
        assert_eq!(core::mem::size_of::<super::Config>(), 40);
        assert_eq!(
            core::mem::size_of::<super::BlobHeader>(),
            super::BLOB_HEADER_LEN
        );
    }
}
