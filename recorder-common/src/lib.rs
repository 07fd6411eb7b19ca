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
/// sched_process_fork, in the parent before the child first runs: `args[0]`
/// parent tid, `args[1]` child tid, `args[2]` child tgid; a [`CAP_TASK`]
/// blob with the child's [`TaskInfo`] and its paths ([`CAP_PATHCOMP`]).
pub const REC_FORK: u16 = 3;
/// sched_process_exec: `args[0]` pid, `args[1]` old pid (the exec'ing thread's
/// tid); blob 0 filename (`bprm->filename`), a [`CAP_TASK`] blob and paths.
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

/// A [`TaskInfo`] read from the kernel's task_struct (slot 0).
pub const CAP_TASK: u8 = 12;
/// One path component, read from the kernel leaf first: slot [`PATH_CWD`],
/// [`PATH_EXE`] or [`PATH_CGROUP`]. The reader reverses them.
pub const CAP_PATHCOMP: u8 = 13;
/// Empty blob: the walk of the path in its slot reached the root, so the
/// components before it are the whole path (absent: cut or unreadable).
pub const CAP_PATHEND: u8 = 14;
/// Path slot: the current directory, up to the task's root (as `getcwd`).
pub const PATH_CWD: u8 = 0;
/// Path slot: the executable (`mm->exe_file`), up to the task's root.
pub const PATH_EXE: u8 = 1;
/// Path slot: the cgroup in the unified (v2) hierarchy, from its root.
pub const PATH_CGROUP: u8 = 2;
/// Path slot: the cgroup in one v1 controller's hierarchy, from its root
/// (cgroup v1 and hybrid hosts, where a runtime may set only v1 paths).
pub const PATH_CGROUP_V1: u8 = 3;
/// [`KernelOffsets::cgroup_walks`] bit: walk the unified hierarchy.
pub const WALK_CGROUP_UNIFIED: u32 = 1;
/// [`KernelOffsets::cgroup_walks`] bit: walk a v1 controller's hierarchy.
pub const WALK_CGROUP_V1: u32 = 2;
/// Most components read per path.
pub const MAX_PATH_DEPTH: usize = 48;
/// Longest component read (NAME_MAX and its NUL).
pub const MAX_NAME: usize = 256;

/// What the kernel holds of a task at fork and exec, read from `task_struct`
/// with offsets from the running kernel's BTF ([`KernelOffsets`]). The
/// programs only copy raw values (no decisions: every branch costs verifier
/// states); the recorder derives namespace views, tty numbers and executable
/// flags from them. A value whose member this kernel lacks is garbage and is
/// ignored by the recorder, which knows the offsets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// Thread id (host view).
    pub tid: u32,
    /// Thread-group id, the process id (host view).
    pub pid: u32,
    /// `real_parent`'s tid.
    pub ptid: u32,
    /// `real_parent`'s tgid: the parent process.
    pub ppid: u32,
    /// Depth of the task's pid namespace (`thread_pid->level`).
    pub level: u32,
    /// Thread id at that depth.
    pub vtid: u32,
    /// `level` of the thread-group leader's `struct pid`.
    pub tgid_level: u32,
    /// Its number at the task's depth.
    pub tgid_nr: u32,
    /// `level` of the process group's `struct pid`.
    pub pgid_level: u32,
    /// Its number at the task's depth.
    pub pgid_nr: u32,
    /// `level` of the session's `struct pid`.
    pub sid_level: u32,
    /// Its number at the task's depth.
    pub sid_nr: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// File-system user id.
    pub fsuid: u32,
    /// File-system group id.
    pub fsgid: u32,
    /// Audit login uid (`u32::MAX`: unset).
    pub loginuid: u32,
    /// Audit session id.
    pub sessionid: u32,
    /// `tty->index` of the controlling terminal.
    pub tty_index: u32,
    /// `tty->driver->major`.
    pub tty_major: u32,
    /// `tty->driver->minor_start`.
    pub tty_minor_start: u32,
    /// tgid of the pid namespace's child reaper.
    pub reaper: u32,
    /// `i_mode` of the executable's inode.
    pub exe_mode: u32,
    /// `i_uid` of the executable's inode.
    pub exe_uid: u32,
    /// `i_gid` of the executable's inode.
    pub exe_gid: u32,
    /// `s_magic` of the executable's file system (low 32 bits).
    pub exe_fs_magic: u32,
    /// The byte of `signal_struct` holding `is_child_subreaper`.
    pub subreaper_byte: u32,
    /// Padding (0).
    pub pad: u32,
    /// The task's pid namespace (pointer, compared only).
    pub ns: u64,
    /// Namespace of the thread-group pid's number at the task's depth.
    pub tgid_ns: u64,
    /// Namespace of the process group's number at the task's depth.
    pub pgid_ns: u64,
    /// Namespace of the session's number at the task's depth.
    pub sid_ns: u64,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// `start_boottime`, ns since boot (as the record timestamps).
    pub start_boottime: u64,
    /// Id of the task's cgroup in the unified hierarchy.
    pub cgroup_id: u64,
    /// Inode number of the executable.
    pub exe_ino: u64,
    /// `signal->tty` (non-zero: a controlling terminal).
    pub tty: u64,
    /// `vfork_done` (non-zero: created by vfork, parent still waiting).
    pub vfork_done: u64,
    /// `mm->exe_file` (non-zero: the task has an executable).
    pub exe_file: u64,
    /// The word after the executable's `struct inode`: overlayfs's
    /// `__upperdentry` (non-zero: upper layer) when `exe_fs_magic` is overlayfs.
    pub exe_upper: u64,
}

/// Size of [`TaskInfo`].
pub const TASK_INFO_LEN: usize = core::mem::size_of::<TaskInfo>();

/// Byte offsets of the kernel struct members the programs read, resolved in
/// user space from the running kernel's BTF (Aya's Rust eBPF has no CO-RE).
/// `u32::MAX` marks a member this kernel lacks; the programs then skip what
/// depends on it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOffsets {
    /// task_struct.pid
    pub task_pid: u32,
    /// task_struct.tgid
    pub task_tgid: u32,
    /// task_struct.real_parent
    pub task_real_parent: u32,
    /// task_struct.real_cred
    pub task_cred: u32,
    /// task_struct.fs
    pub task_fs: u32,
    /// task_struct.mm
    pub task_mm: u32,
    /// task_struct.signal
    pub task_signal: u32,
    /// task_struct.loginuid
    pub task_loginuid: u32,
    /// task_struct.sessionid
    pub task_sessionid: u32,
    /// task_struct.cgroups
    pub task_cgroups: u32,
    /// task_struct.thread_pid
    pub task_thread_pid: u32,
    /// task_struct.start_boottime
    pub task_start_boottime: u32,
    /// task_struct.vfork_done
    pub task_vfork_done: u32,
    /// cred.uid
    pub cred_uid: u32,
    /// cred.gid
    pub cred_gid: u32,
    /// cred.euid
    pub cred_euid: u32,
    /// cred.egid
    pub cred_egid: u32,
    /// cred.fsuid
    pub cred_fsuid: u32,
    /// cred.fsgid
    pub cred_fsgid: u32,
    /// cred.cap_inheritable
    pub cred_cap_inheritable: u32,
    /// cred.cap_permitted
    pub cred_cap_permitted: u32,
    /// cred.cap_effective
    pub cred_cap_effective: u32,
    /// fs_struct.root (a struct path)
    pub fs_root: u32,
    /// fs_struct.pwd (a struct path)
    pub fs_pwd: u32,
    /// path.mnt
    pub path_mnt: u32,
    /// path.dentry
    pub path_dentry: u32,
    /// dentry.d_parent
    pub dentry_parent: u32,
    /// dentry.d_name.name
    pub dentry_name: u32,
    /// vfsmount.mnt_root
    pub vfsmount_root: u32,
    /// mount.mnt (the embedded vfsmount)
    pub mount_mnt: u32,
    /// mount.mnt_parent
    pub mount_parent: u32,
    /// mount.mnt_mountpoint
    pub mount_mountpoint: u32,
    /// mm_struct.exe_file
    pub mm_exe_file: u32,
    /// file.f_path
    pub file_path: u32,
    /// file.f_inode
    pub file_inode: u32,
    /// inode.i_mode
    pub inode_mode: u32,
    /// inode.i_uid
    pub inode_uid: u32,
    /// inode.i_gid
    pub inode_gid: u32,
    /// inode.i_sb
    pub inode_sb: u32,
    /// inode.i_ino
    pub inode_ino: u32,
    /// sizeof(struct inode): overlayfs keeps `__upperdentry` right after it.
    pub inode_size: u32,
    /// super_block.s_magic
    pub sb_magic: u32,
    /// signal_struct.tty
    pub signal_tty: u32,
    /// signal_struct.pids (array of struct pid *, by PIDTYPE)
    pub signal_pids: u32,
    /// Bit offset of signal_struct.is_child_subreaper.
    pub signal_subreaper_bit: u32,
    /// tty_struct.index
    pub tty_index: u32,
    /// tty_struct.driver
    pub tty_driver: u32,
    /// tty_driver.major
    pub driver_major: u32,
    /// tty_driver.minor_start
    pub driver_minor_start: u32,
    /// pid.level
    pub pid_level: u32,
    /// pid.numbers
    pub pid_numbers: u32,
    /// sizeof(struct upid)
    pub upid_size: u32,
    /// upid.ns
    pub upid_ns: u32,
    /// pid_namespace.child_reaper
    pub pidns_child_reaper: u32,
    /// css_set.dfl_cgrp
    pub css_set_dfl_cgrp: u32,
    /// cgroup.kn
    pub cgroup_kn: u32,
    /// kernfs_node.name
    pub kernfs_name: u32,
    /// kernfs_node.parent (`__parent` since 6.15)
    pub kernfs_parent: u32,
    /// kernfs_node.id
    pub kernfs_id: u32,
    /// linux_binprm.filename
    pub binprm_filename: u32,
    /// Derived: fs_struct.root.dentry
    pub fs_root_dentry: u32,
    /// Derived: fs_struct.root.mnt
    pub fs_root_mnt: u32,
    /// Derived: fs_struct.pwd.dentry
    pub fs_pwd_dentry: u32,
    /// Derived: fs_struct.pwd.mnt
    pub fs_pwd_mnt: u32,
    /// Derived: file.f_path.dentry
    pub file_dentry: u32,
    /// Derived: file.f_path.mnt
    pub file_mnt: u32,
    /// Derived: signal_struct.pids[PIDTYPE_TGID]
    pub signal_pid_tgid: u32,
    /// Derived: signal_struct.pids[PIDTYPE_PGID]
    pub signal_pid_pgid: u32,
    /// Derived: signal_struct.pids[PIDTYPE_SID]
    pub signal_pid_sid: u32,
    /// Derived: the byte of signal_struct holding is_child_subreaper
    pub signal_subreaper_byte: u32,
    /// task_struct.files
    pub task_files: u32,
    /// files_struct.fdt
    pub files_fdt: u32,
    /// fdtable.fd
    pub fdtable_fd: u32,
    /// fdtable.max_fds
    pub fdtable_max_fds: u32,
    /// file.private_data
    pub file_private_data: u32,
    /// socket.sk
    pub socket_sk: u32,
    /// socket.type
    pub socket_type: u32,
    /// sock_common.skc_family
    pub skc_family: u32,
    /// sock_common.skc_num
    pub skc_num: u32,
    /// sock_common.skc_dport
    pub skc_dport: u32,
    /// sock_common.skc_rcv_saddr
    pub skc_rcv_saddr: u32,
    /// sock_common.skc_daddr
    pub skc_daddr: u32,
    /// sock_common.skc_v6_rcv_saddr
    pub skc_v6_rcv_saddr: u32,
    /// sock_common.skc_v6_daddr
    pub skc_v6_daddr: u32,
    /// unix_sock.addr
    pub unix_addr: u32,
    /// unix_sock.peer
    pub unix_peer: u32,
    /// Derived: unix_address.name + offsetof(sockaddr_un, sun_path)
    pub unix_path: u32,
    /// css_set.subsys (an array of css pointers, by cgroup_subsys_id)
    pub css_set_subsys: u32,
    /// cgroup_subsys_state.cgroup
    pub css_cgroup: u32,
    /// Derived: css_set.subsys + 8 * the id of the v1 controller whose
    /// hierarchy is walked, or u32::MAX
    pub css_set_v1_css: u32,
    /// Which cgroup hierarchies to walk ([`WALK_CGROUP_UNIFIED`],
    /// [`WALK_CGROUP_V1`]), chosen from the host's mounts
    pub cgroup_walks: u32,
    /// Padding (0).
    pub pad2: u32,
}

impl KernelOffsets {
    /// `base + extra`, or `u32::MAX` when `base` is unknown.
    pub const fn plus(base: u32, extra: u32) -> u32 {
        if base == u32::MAX || extra == u32::MAX {
            u32::MAX
        } else {
            base + extra
        }
    }
}

/// A [`SockInfo`] of the call's socket, read from the kernel (slot 0).
pub const CAP_SOCKINFO: u8 = 15;
/// A unix socket's bound path: slot 0 its own, slot 1 its peer's.
pub const CAP_UNIXPATH: u8 = 16;

/// What the kernel holds of a socket (`struct sock_common`), read through
/// the call's fd at syscall exit: both ends of the tuple, whatever the caller
/// passed. Raw values; the recorder checks that the fd is a socket (`mode`)
/// within the table (`max_fds`) before using them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockInfo {
    /// `skc_family` (AF_INET 2, AF_INET6 10, AF_UNIX 1).
    pub family: u16,
    /// `skc_num`: the local port, host order.
    pub lport: u16,
    /// `skc_dport`: the remote port, network order.
    pub rport: u16,
    /// `socket->type` (SOCK_STREAM 1, SOCK_DGRAM 2).
    pub sock_type: u16,
    /// `skc_rcv_saddr`: the local IPv4 address, network order.
    pub laddr4: u32,
    /// `skc_daddr`: the remote IPv4 address, network order.
    pub raddr4: u32,
    /// `skc_v6_rcv_saddr`.
    pub laddr6: [u8; 16],
    /// `skc_v6_daddr`.
    pub raddr6: [u8; 16],
    /// `i_mode` of the fd's inode (S_IFSOCK for a socket).
    pub mode: u32,
    /// The fd table's size (the fd must be below it).
    pub max_fds: u32,
    /// The fd the socket was read through.
    pub fd: u32,
    /// Padding (0).
    pub pad: u32,
    /// The `struct sock` (an identity, for unix sockets' names).
    pub sk: u64,
    /// The unix peer's `struct sock`, or 0.
    pub peer: u64,
}

/// Size of [`SockInfo`].
pub const SOCK_INFO_LEN: usize = core::mem::size_of::<SockInfo>();

/// Spec flag: emit a [`SockInfo`] of the socket in register 0 (or, with
/// [`SPEC_SOCK_RET`], of the returned fd).
pub const SPEC_SOCK: u8 = 32;
/// Spec flag: the socket of [`SPEC_SOCK`] is the return value (accept).
pub const SPEC_SOCK_RET: u8 = 64;

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
    unsafe impl aya::Pod for super::KernelOffsets {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(core::mem::size_of::<super::RecHeader>(), 120);
        assert_eq!(core::mem::size_of::<super::SysSpec>(), 16);
        assert_eq!(core::mem::size_of::<super::CapOp>(), 4);
        assert_eq!(core::mem::size_of::<super::Config>(), 20);
        assert_eq!(super::TASK_INFO_LEN, 232);
        assert_eq!(super::SOCK_INFO_LEN, 80);
        assert_eq!(core::mem::size_of::<super::KernelOffsets>() % 8, 0);
        assert_eq!(
            core::mem::size_of::<super::BlobHeader>(),
            super::BLOB_HEADER_LEN
        );
    }
}
