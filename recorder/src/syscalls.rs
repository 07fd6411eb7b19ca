//! The x86_64 syscall table: for every recorded syscall, its number, the
//! capture kind it becomes, and where each of the kind's arguments comes from
//! (a register, or a blob the eBPF program read from user memory). The eBPF
//! spec map is derived from the same table, so the two cannot disagree.

use capture::kind::{id, kind_info};
use capture::syscalls::Sysno;
use recorder_common::*;

/// Where one capture argument comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// Register as a signed 32-bit int (fds, ints), sign-extended.
    I(usize),
    /// Register as an unsigned 64-bit value (flags, sizes, pointers).
    U(usize),
    /// User string at the register.
    Str(usize),
    /// Buffer at the register, valid length = return value.
    BufRet(usize),
    /// Buffer at the register, length in register `.1`.
    BufLen(usize, usize),
    /// sockaddr at the register, length in register `.1`.
    Sock(usize, usize),
    /// sockaddr at the register, length at the int pointer in register `.1`.
    SockPtrLen(usize, usize),
    /// First iovec of the iovec array at the register, up to the return value.
    IovRet(usize),
    /// First iovec of the iovec array at the register (data being written).
    IovLen(usize),
    /// msghdr at the register: its address.
    MsgAddr(usize),
    /// msghdr at the register: first iovec's data up to the return value.
    MsgData(usize),
    /// argv-style string array at the register.
    Argv(usize),
    /// u64 at the register (openat2's flags).
    U64(usize),
    /// clone3's flags, the u64 at the register: not on a new thread's
    /// return, where the `clone_args` are the parent's memory, which the
    /// thread shares and the parent may already have reused (it read
    /// pointers there).
    CloneFlags(usize),
    /// First or second int of the int[2] at the register.
    FdPair(usize, usize),
    /// The socket's local address, from the kernel's `struct sock` of the
    /// call's fd ([`SockInfo`]; needs `SPEC_SOCK`).
    SockLocal,
    /// Not available from this probe.
    Absent,
}

/// One row of the table.
#[derive(Debug)]
pub struct Syscall {
    /// x86_64 syscall number.
    pub nr: u32,
    /// Capture kind id.
    pub kind: u16,
    /// Argument sources, in the kind's argument order.
    pub args: &'static [Src],
    /// Extra spec flags (`SPEC_ENTER`, `SPEC_PROT_EXEC`, ...); `SPEC_EXIT` is
    /// implied unless `enter_only`.
    pub flags: u8,
    /// The call never returns (exit, exit_group): recorded at entry only.
    pub enter_only: bool,
}

use Src::*;

macro_rules! table {
    ($( $call:ident $kind:ident [$($src:expr),*] $(flags $fl:expr)? $(, $eo:ident)? ;)*) => {
        /// Every recorded syscall, named as the kernel names it; its number
        /// comes from the one x86_64 table every crate uses
        /// ([`capture::syscalls::Sysno`]).
        pub static SYSCALLS: &[Syscall] = &[
            $( Syscall { nr: Sysno::$call.id() as u32, kind: id::$kind, args: &[$($src),*], flags: 0 $(| $fl)?, enter_only: table!(@eo $($eo)?) }, )*
        ];
    };
    (@eo) => { false };
    (@eo enter_only) => { true };
}

table! {
    read READ [I(0), U(2), BufRet(1)];
    write WRITE [I(0), U(2), BufLen(1, 2)];
    open OPEN [Str(0), U(1), U(2)];
    close CLOSE [I(0)];
    mmap MMAP [U(0), U(1), U(2), U(3), I(4), U(5)] flags SPEC_PROT_EXEC;
    mprotect MPROTECT [U(0), U(1), U(2)] flags SPEC_PROT_EXEC;
    pread64 PREAD64 [I(0), U(2), U(3), BufRet(1)];
    pwrite64 PWRITE64 [I(0), U(2), U(3), BufLen(1, 2)];
    readv READV [I(0), U(2), IovRet(1)];
    writev WRITEV [I(0), U(2), IovLen(1)];
    pipe PIPE [FdPair(0, 0), FdPair(0, 1)];
    dup DUP [I(0)];
    dup2 DUP2 [I(0), I(1)];
    socket SOCKET [U(0), U(1), U(2)];
    connect CONNECT [I(0), Sock(1, 2), SockLocal] flags SPEC_SOCK;
    accept ACCEPT [I(0), SockPtrLen(1, 2), SockLocal] flags SPEC_SOCK | SPEC_SOCK_RET;
    sendto SENDTO [I(0), U(2), Sock(4, 5), BufLen(1, 2), SockLocal] flags SPEC_SOCK;
    recvfrom RECVFROM [I(0), U(2), SockPtrLen(4, 5), BufRet(1), SockLocal] flags SPEC_SOCK;
    sendmsg SENDMSG [I(0), Absent, MsgAddr(1), MsgData(1), SockLocal] flags SPEC_SOCK;
    recvmsg RECVMSG [I(0), Absent, MsgAddr(1), MsgData(1), SockLocal] flags SPEC_SOCK;
    shutdown SHUTDOWN [I(0), U(1)];
    bind BIND [I(0), Sock(1, 2)];
    listen LISTEN [I(0), I(1)];
    socketpair SOCKETPAIR [U(0), U(1), U(2), FdPair(3, 0), FdPair(3, 1)];
    clone CLONE [U(0)];
    fork FORK [];
    vfork VFORK [];
    execve EXECVE [Str(0), Argv(1), Argv(2)] flags SPEC_ENTER;
    exit EXIT [I(0)] flags SPEC_ENTER, enter_only;
    kill KILL [I(0), I(1)];
    fcntl FCNTL [I(0), U(1), U(2)] flags SPEC_FCNTL_DUP;
    chdir CHDIR [Str(0)];
    fchdir FCHDIR [I(0)];
    rename RENAME [Str(0), Str(1)];
    mkdir MKDIR [Str(0), U(1)];
    rmdir RMDIR [Str(0)];
    creat CREAT [Str(0), U(1)];
    link LINK [Str(0), Str(1)];
    unlink UNLINK [Str(0)];
    symlink SYMLINK [Str(0), Str(1)];
    chmod CHMOD [Str(0), U(1)];
    fchmod FCHMOD [I(0), U(1)];
    chown CHOWN [Str(0), I(1), I(2)];
    fchown FCHOWN [I(0), I(1), I(2)];
    lchown LCHOWN [Str(0), I(1), I(2)];
    ptrace PTRACE [U(0), I(1), U(2)];
    setuid SETUID [I(0)];
    setgid SETGID [I(0)];
    setreuid SETREUID [I(0), I(1)];
    setregid SETREGID [I(0), I(1)];
    setgroups SETGROUPS [U(0)];
    setresuid SETRESUID [I(0), I(1), I(2)];
    setresgid SETRESGID [I(0), I(1), I(2)];
    capset CAPSET [Absent, Absent, Absent, Absent];
    pivot_root PIVOT_ROOT [Str(0), Str(1)];
    prctl PRCTL [U(0), U(1), Str(1)];
    chroot CHROOT [Str(0)];
    mount MOUNT [Str(0), Str(1), Str(2), U(3)];
    umount2 UMOUNT2 [Str(0), U(1)];
    init_module INIT_MODULE [U(1), Str(2)];
    delete_module DELETE_MODULE [Str(0), U(1)];
    tkill TKILL [I(0), I(1)];
    exit_group EXIT_GROUP [I(0)] flags SPEC_ENTER, enter_only;
    tgkill TGKILL [I(0), I(1), I(2)];
    openat OPENAT [I(0), Str(1), U(2), U(3)];
    mkdirat MKDIRAT [I(0), Str(1), U(2)];
    fchownat FCHOWNAT [I(0), Str(1), I(2), I(3), U(4)];
    unlinkat UNLINKAT [I(0), Str(1), U(2)];
    renameat RENAMEAT [I(0), Str(1), I(2), Str(3)];
    linkat LINKAT [I(0), Str(1), I(2), Str(3), U(4)];
    symlinkat SYMLINKAT [Str(0), I(1), Str(2)];
    fchmodat FCHMODAT [I(0), Str(1), U(2)];
    unshare UNSHARE [U(0)];
    accept4 ACCEPT4 [I(0), SockPtrLen(1, 2), SockLocal, U(3)] flags SPEC_SOCK | SPEC_SOCK_RET;
    dup3 DUP3 [I(0), I(1), U(2)];
    pipe2 PIPE2 [FdPair(0, 0), FdPair(0, 1), U(1)];
    setns SETNS [I(0), U(1)];
    finit_module FINIT_MODULE [I(0), Str(1), U(2)];
    renameat2 RENAMEAT2 [I(0), Str(1), I(2), Str(3), U(4)];
    memfd_create MEMFD_CREATE [Str(0), U(1)];
    bpf BPF [U(0)];
    execveat EXECVEAT [I(0), Str(1), Argv(2), Argv(3), U(4)] flags SPEC_ENTER;
    userfaultfd USERFAULTFD [U(0)];
    io_uring_setup IO_URING_SETUP [U(0), U(1)];
    clone3 CLONE3 [CloneFlags(0)];
    openat2 OPENAT2 [I(0), Str(1), U64(2), Absent, Absent];
}

/// Looks a syscall up by number.
pub fn by_nr(nr: u32) -> Option<&'static Syscall> {
    static INDEX: std::sync::OnceLock<Vec<Option<&'static Syscall>>> = std::sync::OnceLock::new();
    let idx = INDEX.get_or_init(|| {
        let mut v = vec![None; MAX_SYSCALLS as usize];
        for s in SYSCALLS {
            v[s.nr as usize] = Some(s);
        }
        v
    });
    idx.get(nr as usize).copied().flatten()
}

/// The capture operations a row needs, deduplicated, in argument order.
pub fn capture_ops(s: &Syscall) -> Vec<CapOp> {
    let mut ops: Vec<CapOp> = Vec::new();
    for src in s.args {
        let (slot, kind, len) = match *src {
            Str(i) => (i, CAP_STR, 0),
            BufRet(i) => (i, CAP_BUF_RET, 0),
            BufLen(i, l) => (i, CAP_BUF_LEN, l),
            Sock(i, l) => (i, CAP_SOCKADDR, l),
            SockPtrLen(i, l) => (i, CAP_SOCKADDR_PLEN, l),
            IovRet(i) => (i, CAP_IOV_RET, 0),
            IovLen(i) => (i, CAP_IOV_LEN, 0),
            MsgAddr(i) | MsgData(i) => (i, CAP_MSGHDR, 0),
            Argv(i) => (i, CAP_ARGV, 0),
            U64(i) | CloneFlags(i) => (i, CAP_U64, 0),
            FdPair(i, _) => (i, CAP_FDPAIR, 0),
            I(_) | U(_) | SockLocal | Absent => continue,
        };
        let op = CapOp {
            slot: slot as u8,
            kind,
            len_slot: len as u8,
            pad: 0,
        };
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    ops
}

/// The eBPF spec for one syscall row. Entry-captured calls (execve,
/// execveat) are read by a dedicated path at entry and need no operations.
pub fn spec_for(s: &Syscall) -> SysSpec {
    let mut spec = SysSpec {
        flags: s.flags,
        ..SysSpec::default()
    };
    if !s.enter_only {
        spec.flags |= SPEC_EXIT;
    }
    if s.flags & SPEC_ENTER == 0 {
        for (i, op) in capture_ops(s).into_iter().take(MAX_OPS).enumerate() {
            spec.ops[i] = op;
        }
    }
    spec
}

/// Checks the table against the capture event table: every row's kind has as
/// many arguments as the row has sources (or fewer sources, for trailing
/// arguments not recorded).
pub fn check_table() -> Result<(), String> {
    for s in SYSCALLS {
        let k = kind_info(s.kind)
            .ok_or_else(|| format!("syscall {} has unknown kind {}", s.nr, s.kind))?;
        if s.args.len() > k.args.len() {
            return Err(format!(
                "syscall {} ({}) has {} sources for {} arguments",
                s.nr,
                k.name,
                s.args.len(),
                k.args.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_capture_event_table() {
        check_table().expect("consistent");
        let mut seen = std::collections::HashSet::new();
        for s in SYSCALLS {
            assert!(seen.insert(s.nr), "duplicate nr {}", s.nr);
            assert!(s.nr < MAX_SYSCALLS);
            let k = kind_info(s.kind).expect("kind");
            assert!(k.syscall, "{} is not a syscall kind", k.name);
        }
    }

    #[test]
    fn spec_selects_captures_and_lengths() {
        let w = by_nr(1).expect("write");
        let spec = spec_for(w);
        assert_eq!(spec.flags, SPEC_EXIT);
        assert_eq!(
            spec.ops[0],
            CapOp {
                slot: 1,
                kind: CAP_BUF_LEN,
                len_slot: 2,
                pad: 0
            }
        );
        assert_eq!(spec.ops[1].kind, CAP_NONE);
        let e = spec_for(by_nr(231).expect("exit_group"));
        assert_eq!(e.flags, SPEC_ENTER);
        let x = spec_for(by_nr(59).expect("execve"));
        assert_eq!(x.flags, SPEC_ENTER | SPEC_EXIT);
        assert_eq!(
            x.ops[0].kind, CAP_NONE,
            "execve is captured at entry by its own path"
        );
        for s in SYSCALLS {
            if s.flags & SPEC_ENTER == 0 {
                assert!(
                    capture_ops(s).len() <= MAX_OPS,
                    "syscall {} needs more than {MAX_OPS} ops",
                    s.nr
                );
            }
        }
    }
}
