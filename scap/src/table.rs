//! The scap event table for the events that real captures hold and that
//! Ferret's export writes: each event code's name, direction and parameter
//! list with types, as libscap's `event_table.c` defines them (newest
//! parameter list; older captures hold a prefix of it, since parameters are
//! only ever appended).
//!
//! Codes are even for entry (`>`) and odd for exit (`<`). Codes missing here
//! are still read (their parameters stay raw bytes); the importer counts them.

/// How a parameter's bytes are to be read (libscap's `PT_*` types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pt {
    /// `PT_ERRNO`: i64, negative errno on failure.
    Errno,
    /// `PT_FD`: i64 file descriptor.
    Fd,
    /// `PT_PID`: i64 process or thread id.
    Pid,
    /// `PT_INT32`.
    Int32,
    /// `PT_INT64`.
    Int64,
    /// `PT_UINT8`.
    Uint8,
    /// `PT_UINT16`.
    Uint16,
    /// `PT_UINT32`.
    Uint32,
    /// `PT_UINT64`.
    Uint64,
    /// `PT_FLAGS8`.
    Flags8,
    /// `PT_FLAGS16`.
    Flags16,
    /// `PT_FLAGS32`.
    Flags32,
    /// `PT_ENUMFLAGS8`.
    EnumFlags8,
    /// `PT_ENUMFLAGS16`.
    EnumFlags16,
    /// `PT_ENUMFLAGS32`.
    EnumFlags32,
    /// `PT_MODE`: u32 file mode.
    Mode,
    /// `PT_FSRELPATH`: NUL-terminated path relative to a dirfd parameter.
    Fsrelpath,
    /// `PT_UID`: u32.
    Uid,
    /// `PT_GID`: u32.
    Gid,
    /// `PT_SIGTYPE`: u8 signal number.
    SigType,
    /// `PT_SIGSET`: u32.
    SigSet,
    /// `PT_RELTIME`: u64 ns.
    RelTime,
    /// `PT_ABSTIME`: u64 ns since the epoch.
    AbsTime,
    /// `PT_SYSCALLID`: u16.
    SyscallId,
    /// `PT_CHARBUF`: NUL-terminated string.
    Charbuf,
    /// `PT_FSPATH`: NUL-terminated path.
    Fspath,
    /// `PT_BYTEBUF`: raw bytes (NUL-separated lists for argv and env).
    Bytebuf,
    /// `PT_SOCKADDR`: family byte, then address and port or a unix path.
    Sockaddr,
    /// `PT_SOCKTUPLE`: family byte, then both endpoints.
    Socktuple,
    /// `PT_FDLIST`: u16 count, then (u64 fd, u16 flags) pairs.
    FdList,
    /// `PT_DYN`: a tagged value (setsockopt's value).
    Dyn,
}

/// One event code.
#[derive(Debug)]
pub struct EventInfo {
    /// The `PPME_*` code.
    pub code: u16,
    /// Name as sysdig's `evt.type` prints it.
    pub name: &'static str,
    /// Parameter names and types, newest list.
    pub params: &'static [(&'static str, Pt)],
}

impl EventInfo {
    /// Whether this is an entry event (even code).
    pub fn is_enter(&self) -> bool {
        self.code % 2 == 0
    }

    /// Position of the parameter called `name`. The importer asks this for
    /// every argument of every call, and names are a few bytes: compared
    /// inline rather than through memcmp.
    #[inline]
    pub fn index(&self, name: &str) -> Option<usize> {
        let name = name.as_bytes();
        self.params.iter().position(|(n, _)| {
            let n = n.as_bytes();
            n.len() == name.len() && n.iter().zip(name).all(|(a, b)| a == b)
        })
    }
}

macro_rules! pname {
    ($i:ident) => {
        stringify!($i)
    };
    ($l:literal) => {
        $l
    };
}

macro_rules! table {
    ($( $code:literal $name:literal [ $( $pn:tt : $pt:ident ),* ] )*) => {
        /// Every known event, ordered by code.
        pub static EVENTS: &[EventInfo] = &[
            $( EventInfo { code: $code, name: $name, params: &[ $( (pname!($pn), Pt::$pt) ),* ] }, )*
        ];
    };
}

table! {
    0 "syscall" [ID: SyscallId, nativeID: Uint16]
    1 "syscall" [ID: SyscallId, nativeID: Uint16]
    2 "open" [name: Fspath, flags: Flags32, mode: Uint32]
    3 "open" [fd: Fd, name: Fspath, flags: Flags32, mode: Uint32, dev: Uint32, ino: Uint64]
    4 "close" [fd: Fd]
    5 "close" [res: Errno, fd: Fd]
    6 "read" [fd: Fd, size: Uint32]
    7 "read" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32]
    8 "write" [fd: Fd, size: Uint32]
    9 "write" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32]
    18 "socket" [domain: EnumFlags32, "type": Uint32, proto: Uint32]
    19 "socket" [fd: Fd, domain: EnumFlags32, "type": Uint32, proto: Uint32, flags: Flags32]
    20 "bind" [fd: Fd]
    21 "bind" [res: Errno, addr: Sockaddr, fd: Fd]
    22 "connect" [fd: Fd, addr: Sockaddr]
    23 "connect" [res: Errno, tuple: Socktuple, fd: Fd, addr: Sockaddr]
    24 "listen" [fd: Fd, backlog: Int32]
    25 "listen" [res: Errno, fd: Fd, backlog: Int32]
    30 "sendto" [fd: Fd, size: Uint32, tuple: Socktuple]
    31 "sendto" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32, tuple: Socktuple]
    34 "recvfrom" [fd: Fd, size: Uint32]
    35 "recvfrom" [res: Errno, data: Bytebuf, tuple: Socktuple, fd: Fd, size: Uint32]
    36 "shutdown" [fd: Fd, how: EnumFlags8]
    37 "shutdown" [res: Errno, fd: Fd, how: EnumFlags8]
    38 "getsockname" []
    39 "getsockname" []
    40 "getpeername" []
    41 "getpeername" []
    42 "socketpair" [domain: EnumFlags32, "type": Uint32, proto: Uint32]
    43 "socketpair" [res: Errno, fd1: Fd, fd2: Fd, source: Uint64, peer: Uint64, domain: EnumFlags32, "type": Uint32, proto: Uint32]
    44 "setsockopt" []
    45 "setsockopt" [res: Errno, fd: Fd, level: EnumFlags8, optname: EnumFlags8, val: Dyn, optlen: Uint32]
    46 "getsockopt" []
    47 "getsockopt" [res: Errno, fd: Fd, level: EnumFlags8, optname: EnumFlags8, val: Dyn, optlen: Uint32]
    48 "sendmsg" [fd: Fd, size: Uint32, tuple: Socktuple]
    49 "sendmsg" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32, tuple: Socktuple]
    50 "sendmmsg" []
    51 "sendmmsg" [res: Errno, fd: Fd, size: Uint32, data: Bytebuf, tuple: Socktuple]
    52 "recvmsg" [fd: Fd]
    53 "recvmsg" [res: Errno, size: Uint32, data: Bytebuf, tuple: Socktuple, msgcontrol: Bytebuf, fd: Fd]
    58 "creat" [name: Fspath, mode: Uint32]
    59 "creat" [fd: Fd, name: Fspath, mode: Uint32, dev: Uint32, ino: Uint64, creat_flags: Flags16]
    60 "pipe" []
    61 "pipe" [res: Errno, fd1: Fd, fd2: Fd, ino: Uint64]
    64 "futex" [addr: Uint64, op: Flags16, val: Uint64]
    65 "futex" [res: Errno, addr: Uint64, op: Flags16, val: Uint64]
    66 "stat" []
    67 "stat" [res: Errno, path: Fspath]
    68 "lstat" []
    69 "lstat" [res: Errno, path: Fspath]
    70 "fstat" [fd: Fd]
    71 "fstat" [res: Errno, fd: Fd]
    78 "epoll_wait" [maxevents: Errno]
    79 "epoll_wait" [res: Errno, maxevents: Errno]
    80 "poll" [fds: FdList, timeout: Int64]
    81 "poll" [res: Errno, fds: FdList, timeout: Int64]
    82 "select" []
    83 "select" [res: Errno]
    86 "lseek" [fd: Fd, offset: Uint64, whence: EnumFlags8]
    87 "lseek" [res: Errno, fd: Fd, offset: Uint64, whence: EnumFlags8]
    92 "getcwd" []
    93 "getcwd" [res: Errno, path: Charbuf]
    94 "chdir" []
    95 "chdir" [res: Errno, path: Charbuf]
    96 "fchdir" [fd: Fd]
    97 "fchdir" [res: Errno, fd: Fd]
    102 "openat" [dirfd: Fd, name: Charbuf, flags: Flags32, mode: Uint32]
    103 "openat" [fd: Fd]
    108 "unlink" [path: Fspath]
    109 "unlink" [res: Errno]
    112 "pread" [fd: Fd, size: Uint32, pos: Uint64]
    113 "pread" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32, pos: Uint64]
    114 "pwrite" [fd: Fd, size: Uint32, pos: Uint64]
    115 "pwrite" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32, pos: Uint64]
    116 "readv" [fd: Fd]
    117 "readv" [res: Errno, size: Uint32, data: Bytebuf, fd: Fd]
    118 "writev" [fd: Fd, size: Uint32]
    119 "writev" [res: Errno, data: Bytebuf, fd: Fd, size: Uint32]
    124 "dup" [fd: Fd]
    125 "dup" [res: Fd]
    126 "signalfd" [fd: Fd, mask: Uint32, flags: Uint8]
    127 "signalfd" [res: Fd, fd: Fd, mask: Uint32, flags: Uint8]
    128 "kill" [pid: Pid, sig: SigType]
    129 "kill" [res: Errno, pid: Pid, sig: SigType]
    130 "tkill" [tid: Pid, sig: SigType]
    131 "tkill" [res: Errno, tid: Pid, sig: SigType]
    132 "tgkill" [pid: Pid, tid: Pid, sig: SigType]
    133 "tgkill" [res: Errno, pid: Pid, tid: Pid, sig: SigType]
    134 "nanosleep" [interval: RelTime]
    135 "nanosleep" [res: Errno, interval: RelTime]
    140 "getrlimit" [resource: EnumFlags8]
    141 "getrlimit" [res: Errno, cur: Int64, max: Int64, resource: EnumFlags8]
    150 "fcntl" [fd: Fd, cmd: EnumFlags8]
    151 "fcntl" [res: Fd, fd: Fd, cmd: EnumFlags8, arg: Uint64]
    152 "switch" [next: Pid, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32]
    158 "brk" [addr: Uint64]
    159 "brk" [res: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, addr: Uint64]
    160 "mmap" [addr: Uint64, length: Uint64, prot: Flags32, flags: Flags32, fd: Fd, offset: Uint64]
    161 "mmap" [res: Errno, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, addr: Uint64, length: Uint64, prot: Flags32, flags: Flags32, fd: Fd, offset: Uint64]
    164 "munmap" [addr: Uint64, length: Uint64]
    165 "munmap" [res: Errno, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, addr: Uint64, length: Uint64]
    168 "ptrace" [request: EnumFlags16, pid: Pid]
    169 "ptrace" [res: Errno, addr: Dyn, data: Dyn, request: EnumFlags16, pid: Pid]
    170 "ioctl" [fd: Fd, request: Uint64, argument: Uint64]
    171 "ioctl" [res: Errno, fd: Fd, request: Uint64, argument: Uint64]
    174 "rename" []
    175 "rename" [res: Errno, oldpath: Fspath, newpath: Fspath]
    176 "renameat" []
    177 "renameat" [res: Errno, olddirfd: Fd, oldpath: Fsrelpath, newdirfd: Fd, newpath: Fsrelpath]
    178 "symlink" []
    179 "symlink" [res: Errno, target: Charbuf, linkpath: Fspath]
    180 "symlinkat" []
    181 "symlinkat" [res: Errno, target: Charbuf, linkdirfd: Fd, linkpath: Fsrelpath]
    186 "procexit" [status: Errno, ret: Errno, sig: SigType, core: Uint8, reaper_tid: Pid]
    188 "sendfile" [out_fd: Fd, in_fd: Fd, offset: Uint64, size: Uint64]
    189 "sendfile" [res: Errno, offset: Uint64, out_fd: Fd, in_fd: Fd, size: Uint64]
    192 "setresuid" [ruid: Uid, euid: Uid, suid: Uid]
    193 "setresuid" [res: Errno, ruid: Uid, euid: Uid, suid: Uid]
    194 "setresgid" [rgid: Gid, egid: Gid, sgid: Gid]
    195 "setresgid" [res: Errno, rgid: Gid, egid: Gid, sgid: Gid]
    196 "scapevent" [event_type: Uint32, event_data: Uint64]
    198 "setuid" [uid: Uid]
    199 "setuid" [res: Errno, uid: Uid]
    200 "setgid" [gid: Gid]
    201 "setgid" [res: Errno, gid: Gid]
    202 "getuid" []
    203 "getuid" [uid: Uid]
    204 "geteuid" []
    205 "geteuid" [euid: Uid]
    206 "getgid" []
    207 "getgid" [gid: Gid]
    208 "getegid" []
    209 "getegid" [egid: Gid]
    216 "clone" []
    222 "clone" []
    223 "clone" [res: Pid, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Int64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, flags: Flags32, uid: Uint32, gid: Uint32, vtid: Pid, vpid: Pid, pidns_init_start_ts: Uint64]
    224 "fork" []
    225 "fork" [res: Pid, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Int64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, flags: Flags32, uid: Uint32, gid: Uint32, vtid: Pid, vpid: Pid, pidns_init_start_ts: Uint64]
    226 "vfork" []
    227 "vfork" [res: Pid, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Int64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, flags: Flags32, uid: Uint32, gid: Uint32, vtid: Pid, vpid: Pid, pidns_init_start_ts: Uint64]
    230 "execve" []
    231 "execve" [res: Errno, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Uint64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, env: Bytebuf]
    232 "signaldeliver" [spid: Pid, dpid: Pid, sig: SigType]
    234 "procinfo" [cpu_usr: Uint64, cpu_sys: Uint64]
    236 "getdents" [fd: Fd]
    237 "getdents" [res: Errno, fd: Fd]
    238 "getdents64" [fd: Fd]
    239 "getdents64" [res: Errno, fd: Fd]
    240 "setns" [fd: Fd, nstype: Flags32]
    241 "setns" [res: Errno, fd: Fd, nstype: Flags32]
    246 "accept" []
    247 "accept" [fd: Fd, tuple: Socktuple, queuepct: Uint8, queuelen: Uint32, queuemax: Uint32]
    248 "accept" [flags: Int32]
    249 "accept" [fd: Fd, tuple: Socktuple, queuepct: Uint8, queuelen: Uint32, queuemax: Uint32]
    254 "ppoll" [fds: FdList, timeout: RelTime, sigmask: SigSet]
    255 "ppoll" [res: Errno, fds: FdList, timeout: RelTime, sigmask: SigSet]
    256 "mount" [flags: Flags32]
    257 "mount" [res: Errno, dev: Charbuf, dir: Fspath, "type": Charbuf, flags: Flags32]
    258 "umount" [flags: Flags32]
    259 "umount" [res: Errno, name: Fspath]
    260 "k8s" [json: Charbuf]
    264 "access" [mode: Flags32]
    265 "access" [res: Errno, name: Fspath, mode: Flags32]
    266 "chroot" []
    267 "chroot" [res: Errno, path: Fspath]
    272 "container" [json: Charbuf]
    276 "mkdir" [mode: Uint32]
    277 "mkdir" [res: Errno, path: Fspath, mode: Uint32]
    278 "rmdir" []
    279 "rmdir" [res: Errno, path: Fspath]
    284 "unshare" [flags: Flags32]
    285 "unshare" [res: Errno, flags: Flags32]
    288 "execve" [filename: Fspath]
    289 "execve" [res: Errno, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Uint64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, env: Bytebuf, tty: Int32]
    292 "execve" [filename: Fspath]
    293 "execve" [res: Errno, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Uint64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, env: Bytebuf, tty: Uint32, vpgid: Pid, loginuid: Uid, flags: Flags32, cap_inheritable: Uint64, cap_permitted: Uint64, cap_effective: Uint64, exe_ino: Uint64, exe_ino_ctime: AbsTime, exe_ino_mtime: AbsTime, uid: Uid, trusted_exepath: Fspath, pgid: Pid, gid: Gid, filename: Fspath]
    294 "setpgid" [pid: Pid, pgid: Pid]
    295 "setpgid" [res: Errno, pid: Pid, pgid: Pid]
    296 "bpf" [cmd: Int64]
    297 "bpf" [res_or_fd: Dyn]
    300 "unlink" []
    301 "unlink" [res: Errno, path: Fspath]
    302 "unlinkat" []
    303 "unlinkat" [res: Errno, dirfd: Fd, name: Fsrelpath, flags: Flags32]
    304 "mkdirat" []
    305 "mkdirat" [res: Errno, dirfd: Fd, path: Fsrelpath, mode: Uint32]
    306 "openat" [dirfd: Fd, name: Fsrelpath, flags: Flags32, mode: Uint32]
    307 "openat" [fd: Fd, dirfd: Fd, name: Fsrelpath, flags: Flags32, mode: Uint32, dev: Uint32, ino: Uint64]
    308 "link" []
    309 "link" [res: Errno, oldpath: Fspath, newpath: Fspath]
    310 "linkat" []
    311 "linkat" [res: Errno, olddir: Fd, oldpath: Fsrelpath, newdir: Fd, newpath: Fsrelpath, flags: Flags32]
    312 "fchmodat" []
    313 "fchmodat" [res: Errno, dirfd: Fd, filename: Fsrelpath, mode: Mode]
    314 "chmod" []
    315 "chmod" [res: Errno, filename: Fspath, mode: Mode]
    316 "fchmod" []
    317 "fchmod" [res: Errno, fd: Fd, mode: Mode]
    318 "renameat2" []
    319 "renameat2" [res: Errno, olddirfd: Fd, oldpath: Fsrelpath, newdirfd: Fd, newpath: Fsrelpath, flags: Flags32]
    320 "userfaultfd" []
    321 "userfaultfd" [res: Errno, flags: Flags32]
    324 "container" [json: Charbuf]
    326 "openat2" [dirfd: Fd, name: Fsrelpath, flags: Flags32, mode: Uint32, resolve: Flags32]
    327 "openat2" [fd: Fd, dirfd: Fd, name: Fsrelpath, flags: Flags32, mode: Uint32, resolve: Flags32, dev: Uint32, ino: Uint64]
    328 "mprotect" [addr: Uint64, length: Uint64, prot: Flags32]
    329 "mprotect" [res: Errno, addr: Uint64, length: Uint64, prot: Flags32]
    330 "execveat" [dirfd: Fd, pathname: Fsrelpath, flags: Flags32]
    331 "execveat" [res: Errno, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Uint64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, env: Bytebuf, tty: Uint32, vpgid: Pid, loginuid: Uid, flags: Flags32, cap_inheritable: Uint64, cap_permitted: Uint64, cap_effective: Uint64, exe_ino: Uint64, exe_ino_ctime: AbsTime, exe_ino_mtime: AbsTime, uid: Uid, trusted_exepath: Fspath, pgid: Pid, gid: Gid]
    334 "clone3" []
    335 "clone3" [res: Pid, exe: Charbuf, args: Bytebuf, tid: Pid, pid: Pid, ptid: Pid, cwd: Charbuf, fdlimit: Int64, pgft_maj: Uint64, pgft_min: Uint64, vm_size: Uint32, vm_rss: Uint32, vm_swap: Uint32, comm: Charbuf, cgroups: Bytebuf, flags: Flags32, uid: Uint32, gid: Uint32, vtid: Pid, vpid: Pid, pidns_init_start_ts: Uint64]
    338 "io_uring_setup" []
    339 "io_uring_setup" [res: Errno, entries: Uint32, sq_entries: Uint32, cq_entries: Uint32, flags: Flags32, sq_thread_cpu: Uint32, sq_thread_idle: Uint32, features: Flags32]
    352 "capset" []
    353 "capset" [res: Errno, cap_inheritable: Uint64, cap_permitted: Uint64, cap_effective: Uint64]
    354 "useradded" [uid: Uint32, gid: Uint32, name: Charbuf, home: Charbuf, shell: Charbuf, container_id: Charbuf]
    358 "groupadded" [gid: Uint32, name: Charbuf, container_id: Charbuf]
    362 "dup2" [fd: Fd]
    363 "dup2" [res: Fd, oldfd: Fd, newfd: Fd]
    364 "dup3" [fd: Fd]
    365 "dup3" [res: Fd, oldfd: Fd, newfd: Fd, flags: Flags32]
    366 "dup" [fd: Fd]
    367 "dup" [res: Fd, oldfd: Fd]
    378 "chown" []
    379 "chown" [res: Errno, path: Fspath, uid: Uint32, gid: Uint32]
    380 "lchown" []
    381 "lchown" [res: Errno, path: Fspath, uid: Uint32, gid: Uint32]
    382 "fchown" []
    383 "fchown" [res: Errno, fd: Fd, uid: Uint32, gid: Uint32]
    384 "fchownat" []
    385 "fchownat" [res: Errno, dirfd: Fd, pathname: Fsrelpath, uid: Uint32, gid: Uint32, flags: Flags32]
    388 "accept4" [flags: Int32]
    389 "accept4" [fd: Fd, tuple: Socktuple, queuepct: Uint8, queuelen: Uint32, queuemax: Uint32, flags: Int32]
    390 "umount2" [flags: Flags32]
    391 "umount2" [res: Errno, name: Fspath, flags: Flags32]
    392 "pipe2" []
    393 "pipe2" [res: Errno, fd1: Fd, fd2: Fd, ino: Uint64, flags: Flags32]
    400 "prctl" []
    401 "prctl" [res: Errno, option: EnumFlags32, arg2_str: Charbuf, arg2_int: Int64]
    404 "memfd_create" []
    405 "memfd_create" [fd: Fd, name: Charbuf, flags: Flags32]
    410 "init_module" []
    411 "init_module" [res: Errno, img: Bytebuf, length: Uint64, uargs: Charbuf]
    412 "finit_module" []
    413 "finit_module" [res: Errno, fd: Fd, uargs: Charbuf, flags: Flags32]
    424 "delete_module" []
    425 "delete_module" [res: Errno, name: Charbuf, flags: Flags32]
    426 "setreuid" []
    427 "setreuid" [res: Errno, ruid: Uid, euid: Uid]
    428 "setregid" []
    429 "setregid" [res: Errno, rgid: Uid, egid: Uid]
}

/// The table entry of `code`, if this build knows it.
pub fn event_info(code: u16) -> Option<&'static EventInfo> {
    // Looked up for every event, several times: a direct index by code
    // instead of a search.
    static BY_CODE: std::sync::OnceLock<ByCode> = std::sync::OnceLock::new();
    let by_code = BY_CODE.get_or_init(|| ByCode::new(|i, _| Some(i as u16)));
    EVENTS.get(usize::from(by_code.get(code)?))
}

/// A value for each event code of the table, indexed directly by code (the
/// codes are dense, below 1024): for lookups made for every event.
pub struct ByCode(Vec<u16>);

impl ByCode {
    /// The values `f` gives each entry (by position and entry); codes it
    /// gives none have none.
    pub fn new(f: impl Fn(usize, &EventInfo) -> Option<u16>) -> ByCode {
        let top = EVENTS.iter().map(|e| e.code).max().unwrap_or(0);
        let mut t = vec![u16::MAX; usize::from(top) + 1];
        for (i, e) in EVENTS.iter().enumerate() {
            if let Some(v) = f(i, e) {
                t[usize::from(e.code)] = v;
            }
        }
        ByCode(t)
    }

    /// The value of `code`.
    pub fn get(&self, code: u16) -> Option<u16> {
        self.0
            .get(usize::from(code))
            .copied()
            .filter(|&v| v != u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_and_paired() {
        assert!(EVENTS.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(event_info(3).map(|e| e.name), Some("open"));
        assert_eq!(
            event_info(293).and_then(|e| e.index("trusted_exepath")),
            Some(27)
        );
        assert!(event_info(999).is_none());
    }
}
