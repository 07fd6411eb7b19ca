//! The event table: every kind of event a capture can hold, with its stable id,
//! name, category and argument layout.
//!
//! Ids are part of the file format (schema version 1): an id is never reused or
//! renumbered, new kinds take new ids. Ids are below 256 so that a chunk's kind
//! set fits the 256-bit bitmap kept in the frame header and the index.
//!
//! Argument names follow Falco's event table (`evt.arg.name`) wherever Falco has
//! the same syscall, so that rules written against Falco resolve here. The return
//! value is not an argument: every event carries it in its own column.

/// How an argument is to be understood; the storage form is the tag in the
/// argument stream (see [`crate::args`]), this is the meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// A file descriptor number.
    Fd,
    /// A directory file descriptor for `*at` calls (`AT_FDCWD` = -100).
    Dirfd,
    /// A file-system path as the process passed it.
    Path,
    /// A free-form string (a name, a comm, a hostname).
    Str,
    /// A list of strings (argv, envp).
    StrList,
    /// A flag word; the set says how to render it.
    Flags(FlagSet),
    /// A file mode (permission bits and type).
    Mode,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// A process or thread id.
    Pid,
    /// A signal number.
    Signal,
    /// A byte count or length.
    Size,
    /// A signed integer.
    Int,
    /// An unsigned integer.
    Uint,
    /// A user-space address (pointer).
    Addr,
    /// A socket address (inet, inet6, unix).
    SockAddr,
    /// Raw bytes, captured up to the snap length.
    Bytes,
}

/// Named flag sets used to render flag arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagSet {
    /// `O_*` open flags.
    Open,
    /// `CLONE_*` flags.
    Clone,
    /// `PROT_*` memory protection.
    Prot,
    /// `MAP_*` mapping flags.
    Map,
    /// `AT_*` flags of the `*at` calls.
    At,
    /// `AF_*` socket domain.
    SockDomain,
    /// `SOCK_*` socket type.
    SockType,
    /// `F_*` fcntl commands.
    Fcntl,
    /// `PTRACE_*` requests.
    Ptrace,
    /// `PR_*` prctl options.
    Prctl,
    /// `CLONE_NEW*` namespace flags of unshare and setns.
    Namespace,
    /// `MS_*` mount flags.
    Mount,
    /// `RENAME_*` flags.
    Rename,
    /// `SHUT_*` shutdown modes.
    Shutdown,
    /// `MFD_*` memfd_create flags.
    Memfd,
    /// `BPF_*` bpf commands.
    BpfCmd,
    /// Any other flag word, rendered in hex.
    Other,
}

/// Coarse grouping of kinds, used by `info` and by filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Records about the capture itself (drops).
    Capture,
    /// Process lifecycle and identity.
    Process,
    /// File-system activity.
    File,
    /// Network and IPC.
    Net,
    /// Memory mapping.
    Memory,
    /// Privileges, namespaces, modules and other security-relevant calls.
    Security,
    /// Signals.
    Signal,
    /// Everything else.
    Other,
}

impl Category {
    /// The lowercase name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Category::Capture => "capture",
            Category::Process => "process",
            Category::File => "file",
            Category::Net => "net",
            Category::Memory => "memory",
            Category::Security => "security",
            Category::Signal => "signal",
            Category::Other => "other",
        }
    }
}

/// The static description of one kind of event.
#[derive(Debug)]
pub struct KindInfo {
    /// The stable id stored in captures.
    pub id: u16,
    /// The name, as Falco's `evt.type` spells it for syscalls.
    pub name: &'static str,
    /// The coarse category.
    pub category: Category,
    /// Whether this is a system call (`true`) or a lifecycle / capture record.
    pub syscall: bool,
    /// Argument names and types, in stream order.
    pub args: &'static [(&'static str, ArgType)],
}

macro_rules! kinds {
    ($( $id:literal $konst:ident $name:literal $cat:ident $sys:literal [ $( ($an:literal, $at:expr) ),* ] )*) => {
        /// Constants for every kind id.
        pub mod id {
            $(
                #[doc = concat!("Kind id of `", $name, "`.")]
                pub const $konst: u16 = $id;
            )*
        }

        /// The whole table, ordered by id.
        pub static KINDS: &[KindInfo] = &[
            $( KindInfo { id: $id, name: $name, category: Category::$cat, syscall: $sys, args: &[ $( ($an, $at) ),* ] }, )*
        ];
    };
}

use ArgType::*;
use FlagSet as F;

kinds! {
    // Capture records and lifecycle (from the scheduler tracepoints).
    1 LOSS "ferret_loss" Capture false [("count", Uint), ("first_ts", Uint), ("last_ts", Uint)]
    2 PROC_FORK "procfork" Process false [("child_pid", Pid), ("child_tid", Pid), ("flags", Flags(F::Clone)), ("ppid", Pid), ("ptid", Pid), ("comm", Str), ("exepath", Path), ("cwd", Path), ("uid", Uid), ("gid", Gid), ("euid", Uid), ("egid", Gid), ("loginuid", Uid), ("tty", Uint), ("cgroup", Str), ("sid", Pid), ("vpgid", Pid), ("vpid", Pid), ("vtid", Pid), ("cap_inheritable", Uint), ("cap_permitted", Uint), ("cap_effective", Uint), ("task_flags", Uint), ("reaper", Pid)]
    3 PROC_EXEC "procexec" Process false [("filename", Path), ("args", StrList), ("comm", Str), ("cwd", Path), ("uid", Uid), ("gid", Gid), ("euid", Uid), ("loginuid", Uid), ("tty", Uint), ("cgroup", Str), ("env", StrList), ("ppid", Pid), ("exepath", Path), ("egid", Gid), ("sid", Pid), ("vpgid", Pid), ("vpid", Pid), ("vtid", Pid), ("cap_inheritable", Uint), ("cap_permitted", Uint), ("cap_effective", Uint), ("task_flags", Uint), ("reaper", Pid), ("old_tid", Pid)]
    4 PROC_EXIT "procexit" Process false [("status", Int), ("sig", Signal), ("group_dead", Uint)]
    5 GENERIC "syscall" Other true [("nr", Uint), ("a0", Uint), ("a1", Uint), ("a2", Uint), ("a3", Uint), ("a4", Uint), ("a5", Uint)]
    6 CONTAINER "container" Capture false [("id", Str), ("name", Str), ("image", Str), ("privileged", Uint), ("json", Str), ("initial", Uint)]
    // Process.
    10 EXECVE "execve" Process true [("filename", Path), ("args", StrList), ("env", StrList)]
    11 EXECVEAT "execveat" Process true [("dirfd", Dirfd), ("filename", Path), ("args", StrList), ("env", StrList), ("flags", Flags(F::At))]
    12 CLONE "clone" Process true [("flags", Flags(F::Clone))]
    13 CLONE3 "clone3" Process true [("flags", Flags(F::Clone))]
    14 FORK "fork" Process true []
    15 VFORK "vfork" Process true []
    16 EXIT "exit" Process true [("status", Int)]
    17 EXIT_GROUP "exit_group" Process true [("status", Int)]
    18 CHDIR "chdir" Process true [("path", Path)]
    19 FCHDIR "fchdir" Process true [("fd", Fd)]
    20 PRCTL "prctl" Process true [("option", Flags(F::Prctl)), ("arg2", Uint), ("arg2_str", Str)]
    21 SETPGID "setpgid" Process true [("pid", Pid), ("pgid", Pid)]
    22 GETUID "getuid" Process true [("uid", Uid)]
    23 GETEUID "geteuid" Process true [("euid", Uid)]
    24 GETGID "getgid" Process true [("gid", Gid)]
    25 GETEGID "getegid" Process true [("egid", Gid)]
    26 GETRLIMIT "getrlimit" Process true [("resource", Uint), ("cur", Int), ("max", Int)]
    // Files.
    30 OPEN "open" File true [("name", Path), ("flags", Flags(F::Open)), ("mode", Mode)]
    31 OPENAT "openat" File true [("dirfd", Dirfd), ("name", Path), ("flags", Flags(F::Open)), ("mode", Mode)]
    32 OPENAT2 "openat2" File true [("dirfd", Dirfd), ("name", Path), ("flags", Flags(F::Open)), ("mode", Mode), ("resolve", Flags(F::Other))]
    33 CREAT "creat" File true [("name", Path), ("mode", Mode)]
    34 CLOSE "close" File true [("fd", Fd)]
    35 READ "read" File true [("fd", Fd), ("size", Size), ("data", Bytes)]
    36 WRITE "write" File true [("fd", Fd), ("size", Size), ("data", Bytes)]
    37 PREAD64 "pread" File true [("fd", Fd), ("size", Size), ("pos", Uint), ("data", Bytes)]
    38 PWRITE64 "pwrite" File true [("fd", Fd), ("size", Size), ("pos", Uint), ("data", Bytes)]
    39 READV "readv" File true [("fd", Fd), ("size", Size), ("data", Bytes)]
    40 WRITEV "writev" File true [("fd", Fd), ("size", Size), ("data", Bytes)]
    41 UNLINK "unlink" File true [("path", Path)]
    42 UNLINKAT "unlinkat" File true [("dirfd", Dirfd), ("name", Path), ("flags", Flags(F::At))]
    43 RENAME "rename" File true [("oldpath", Path), ("newpath", Path)]
    44 RENAMEAT "renameat" File true [("olddirfd", Dirfd), ("oldpath", Path), ("newdirfd", Dirfd), ("newpath", Path)]
    45 RENAMEAT2 "renameat2" File true [("olddirfd", Dirfd), ("oldpath", Path), ("newdirfd", Dirfd), ("newpath", Path), ("flags", Flags(F::Rename))]
    46 MKDIR "mkdir" File true [("path", Path), ("mode", Mode)]
    47 MKDIRAT "mkdirat" File true [("dirfd", Dirfd), ("path", Path), ("mode", Mode)]
    48 RMDIR "rmdir" File true [("path", Path)]
    49 SYMLINK "symlink" File true [("target", Path), ("linkpath", Path)]
    50 SYMLINKAT "symlinkat" File true [("target", Path), ("linkdirfd", Dirfd), ("linkpath", Path)]
    51 LINK "link" File true [("oldpath", Path), ("newpath", Path)]
    52 LINKAT "linkat" File true [("olddir", Dirfd), ("oldpath", Path), ("newdir", Dirfd), ("newpath", Path), ("flags", Flags(F::At))]
    53 CHMOD "chmod" File true [("filename", Path), ("mode", Mode)]
    54 FCHMOD "fchmod" File true [("fd", Fd), ("mode", Mode)]
    55 FCHMODAT "fchmodat" File true [("dirfd", Dirfd), ("filename", Path), ("mode", Mode)]
    56 CHOWN "chown" File true [("path", Path), ("uid", Uid), ("gid", Gid)]
    57 FCHOWN "fchown" File true [("fd", Fd), ("uid", Uid), ("gid", Gid)]
    58 FCHOWNAT "fchownat" File true [("dirfd", Dirfd), ("pathname", Path), ("uid", Uid), ("gid", Gid), ("flags", Flags(F::At))]
    59 LCHOWN "lchown" File true [("path", Path), ("uid", Uid), ("gid", Gid)]
    60 DUP "dup" File true [("fd", Fd)]
    61 DUP2 "dup2" File true [("oldfd", Fd), ("newfd", Fd)]
    62 DUP3 "dup3" File true [("oldfd", Fd), ("newfd", Fd), ("flags", Flags(F::Open))]
    63 FCNTL "fcntl" File true [("fd", Fd), ("cmd", Flags(F::Fcntl)), ("arg", Uint)]
    64 PIPE "pipe" File true [("fd1", Fd), ("fd2", Fd)]
    65 PIPE2 "pipe2" File true [("fd1", Fd), ("fd2", Fd), ("flags", Flags(F::Open))]
    66 MEMFD_CREATE "memfd_create" File true [("name", Str), ("flags", Flags(F::Memfd))]
    67 STAT "stat" File true [("path", Path)]
    68 LSTAT "lstat" File true [("path", Path)]
    69 FSTAT "fstat" File true [("fd", Fd)]
    70 LSEEK "lseek" File true [("fd", Fd), ("offset", Uint), ("whence", Uint)]
    71 GETDENTS "getdents" File true [("fd", Fd)]
    72 GETDENTS64 "getdents64" File true [("fd", Fd)]
    73 ACCESS "access" File true [("name", Path), ("mode", Uint)]
    74 GETCWD "getcwd" File true [("path", Path)]
    75 IOCTL "ioctl" File true [("fd", Fd), ("request", Uint), ("argument", Uint)]
    76 SENDFILE "sendfile" File true [("out_fd", Fd), ("in_fd", Fd), ("offset", Uint), ("size", Size)]
    77 SIGNALFD "signalfd" File true [("fd", Fd), ("mask", Uint), ("flags", Uint)]
    // Network.
    80 SOCKET "socket" Net true [("domain", Flags(F::SockDomain)), ("type", Flags(F::SockType)), ("proto", Uint)]
    81 SOCKETPAIR "socketpair" Net true [("domain", Flags(F::SockDomain)), ("type", Flags(F::SockType)), ("proto", Uint), ("fd1", Fd), ("fd2", Fd)]
    82 CONNECT "connect" Net true [("fd", Fd), ("addr", SockAddr), ("local", SockAddr)]
    83 ACCEPT "accept" Net true [("fd", Fd), ("addr", SockAddr), ("local", SockAddr)]
    84 ACCEPT4 "accept4" Net true [("fd", Fd), ("addr", SockAddr), ("local", SockAddr), ("flags", Flags(F::Open))]
    85 BIND "bind" Net true [("fd", Fd), ("addr", SockAddr)]
    86 LISTEN "listen" Net true [("fd", Fd), ("backlog", Int)]
    87 SHUTDOWN "shutdown" Net true [("fd", Fd), ("how", Flags(F::Shutdown))]
    88 SENDTO "sendto" Net true [("fd", Fd), ("size", Size), ("addr", SockAddr), ("data", Bytes), ("local", SockAddr)]
    89 RECVFROM "recvfrom" Net true [("fd", Fd), ("size", Size), ("addr", SockAddr), ("data", Bytes), ("local", SockAddr)]
    90 SENDMSG "sendmsg" Net true [("fd", Fd), ("size", Size), ("addr", SockAddr), ("data", Bytes), ("local", SockAddr)]
    91 RECVMSG "recvmsg" Net true [("fd", Fd), ("size", Size), ("addr", SockAddr), ("data", Bytes), ("local", SockAddr)]
    92 GETSOCKNAME "getsockname" Net true [("fd", Fd)]
    93 GETPEERNAME "getpeername" Net true [("fd", Fd)]
    94 SETSOCKOPT "setsockopt" Net true [("fd", Fd), ("level", Uint), ("optname", Uint), ("val", Bytes), ("optlen", Size)]
    95 GETSOCKOPT "getsockopt" Net true [("fd", Fd), ("level", Uint), ("optname", Uint), ("val", Bytes), ("optlen", Size)]
    96 SENDMMSG "sendmmsg" Net true [("fd", Fd), ("size", Size), ("addr", SockAddr), ("data", Bytes)]
    97 POLL "poll" Net true [("fds", Str), ("timeout", Int)]
    98 PPOLL "ppoll" Net true [("fds", Str), ("timeout", Uint)]
    99 SELECT "select" Net true []
    // Memory.
    100 MMAP "mmap" Memory true [("addr", Addr), ("length", Size), ("prot", Flags(F::Prot)), ("flags", Flags(F::Map)), ("fd", Fd), ("offset", Uint)]
    101 MPROTECT "mprotect" Memory true [("addr", Addr), ("length", Size), ("prot", Flags(F::Prot))]
    102 MUNMAP "munmap" Memory true [("addr", Addr), ("length", Size)]
    103 BRK "brk" Memory true [("addr", Addr)]
    // Security-relevant.
    110 SETUID "setuid" Security true [("uid", Uid)]
    111 SETGID "setgid" Security true [("gid", Gid)]
    112 SETREUID "setreuid" Security true [("ruid", Uid), ("euid", Uid)]
    113 SETREGID "setregid" Security true [("rgid", Gid), ("egid", Gid)]
    114 SETRESUID "setresuid" Security true [("ruid", Uid), ("euid", Uid), ("suid", Uid)]
    115 SETRESGID "setresgid" Security true [("rgid", Gid), ("egid", Gid), ("sgid", Gid)]
    116 SETGROUPS "setgroups" Security true [("size", Size)]
    117 CAPSET "capset" Security true [("pid", Pid), ("cap_effective", Uint), ("cap_permitted", Uint), ("cap_inheritable", Uint)]
    118 SETNS "setns" Security true [("fd", Fd), ("nstype", Flags(F::Namespace))]
    119 UNSHARE "unshare" Security true [("flags", Flags(F::Namespace))]
    120 MOUNT "mount" Security true [("dev", Path), ("dir", Path), ("type", Str), ("flags", Flags(F::Mount))]
    121 UMOUNT2 "umount2" Security true [("name", Path), ("flags", Flags(F::Mount))]
    122 PIVOT_ROOT "pivot_root" Security true [("new_root", Path), ("put_old", Path)]
    123 CHROOT "chroot" Security true [("path", Path)]
    124 PTRACE "ptrace" Security true [("request", Flags(F::Ptrace)), ("pid", Pid), ("addr", Addr)]
    125 INIT_MODULE "init_module" Security true [("length", Size), ("uargs", Str)]
    126 FINIT_MODULE "finit_module" Security true [("fd", Fd), ("uargs", Str), ("flags", Uint)]
    127 DELETE_MODULE "delete_module" Security true [("name", Str), ("flags", Uint)]
    128 BPF "bpf" Security true [("cmd", Flags(F::BpfCmd))]
    129 USERFAULTFD "userfaultfd" Security true [("flags", Flags(F::Open))]
    130 IO_URING_SETUP "io_uring_setup" Security true [("entries", Uint), ("flags", Flags(F::Other))]
    // Signals.
    140 KILL "kill" Signal true [("pid", Pid), ("sig", Signal)]
    141 TKILL "tkill" Signal true [("tid", Pid), ("sig", Signal)]
    142 TGKILL "tgkill" Signal true [("pid", Pid), ("tid", Pid), ("sig", Signal)]
    143 SIGNALDELIVER "signaldeliver" Signal false [("spid", Pid), ("dpid", Pid), ("sig", Signal)]
    // Waiting and timing.
    150 FUTEX "futex" Other true [("addr", Addr), ("op", Uint), ("val", Uint)]
    151 NANOSLEEP "nanosleep" Other true [("interval", Uint)]
    152 EPOLL_WAIT "epoll_wait" Other true [("maxevents", Int)]
}

/// The `ret` of an event whose call returned nothing that was recorded: an
/// imported sysdig event whose exit carried no result (`getuid`, generic
/// calls), or a call whose exit was never seen. Readers show it as `<NA>`.
pub const RET_NONE: i64 = i64::MIN;

/// The largest id a kind may have (ids index a 256-bit bitmap).
pub const MAX_KIND_ID: u16 = 255;

static BY_ID: std::sync::OnceLock<[Option<&'static KindInfo>; 256]> = std::sync::OnceLock::new();

/// Looks a kind up by id; `None` for ids this build does not know (a newer
/// schema, or a damaged file), which readers must tolerate.
pub fn kind_info(id: u16) -> Option<&'static KindInfo> {
    let table = BY_ID.get_or_init(|| {
        let mut t = [None; 256];
        for k in KINDS {
            t[k.id as usize] = Some(k);
        }
        t
    });
    table.get(id as usize).copied().flatten()
}

/// Bits of the `task_flags` argument of `procfork` and `procexec`: what the
/// kernel said of the task and its executable.
pub mod task_flags {
    /// The new task is a thread of its parent's process.
    pub const THREAD: u64 = 1;
    /// Created by vfork.
    pub const VFORK: u64 = 2;
    /// The executable is writable by the task's file-system ids.
    pub const EXE_WRITABLE: u64 = 4;
    /// The executable lives in an overlayfs upper layer.
    pub const EXE_UPPER_LAYER: u64 = 8;
    /// The process is a child subreaper.
    pub const SUBREAPER: u64 = 16;
    /// The executable is a memfd (its file name starts with `memfd:`).
    pub const EXE_FROM_MEMFD: u64 = 32;
}

/// Looks a kind up by name (`openat`, `procexec`, ...).
pub fn kind_by_name(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

/// A set of kind ids, stored as a 256-bit bitmap (four little-endian u64 words
/// on disk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KindSet(pub [u64; 4]);

impl KindSet {
    /// The empty set.
    pub const EMPTY: KindSet = KindSet([0; 4]);
    /// The set of every id.
    pub const ALL: KindSet = KindSet([u64::MAX; 4]);

    /// Adds an id; ids above [`MAX_KIND_ID`] are ignored.
    pub fn insert(&mut self, id: u16) {
        if id <= MAX_KIND_ID {
            self.0[(id / 64) as usize] |= 1 << (id % 64);
        }
    }

    /// Whether the set holds `id`.
    pub fn contains(&self, id: u16) -> bool {
        id <= MAX_KIND_ID && self.0[(id / 64) as usize] & (1 << (id % 64)) != 0
    }

    /// Whether the two sets share an id.
    pub fn intersects(&self, other: &KindSet) -> bool {
        self.0.iter().zip(other.0.iter()).any(|(a, b)| a & b != 0)
    }

    /// The union of two sets.
    pub fn union(&self, other: &KindSet) -> KindSet {
        let mut out = *self;
        for (o, b) in out.0.iter_mut().zip(other.0.iter()) {
            *o |= b;
        }
        out
    }

    /// Iterates the ids in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=MAX_KIND_ID).filter(move |id| self.contains(*id))
    }

    /// The bitmap as 32 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, w) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// The bitmap from 32 little-endian bytes.
    pub fn from_bytes(b: &[u8; 32]) -> KindSet {
        let mut w = [0u64; 4];
        for (i, x) in w.iter_mut().enumerate() {
            let mut le = [0u8; 8];
            le.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *x = u64::from_le_bytes(le);
        }
        KindSet(w)
    }
}

impl FromIterator<u16> for KindSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut s = KindSet::EMPTY;
        for id in iter {
            s.insert(id);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_ids_are_unique_sorted_and_below_bitmap_limit() {
        let mut prev = 0;
        for k in KINDS {
            assert!(k.id > prev, "{} out of order", k.name);
            assert!(k.id <= MAX_KIND_ID);
            prev = k.id;
        }
        let names: std::collections::HashSet<_> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names.len(), KINDS.len());
    }

    #[test]
    fn lookup_by_id_and_name_agree() {
        for k in KINDS {
            assert_eq!(kind_info(k.id).map(|x| x.name), Some(k.name));
            assert_eq!(kind_by_name(k.name).map(|x| x.id), Some(k.id));
        }
        assert!(kind_info(254).is_none());
        assert!(kind_info(9999).is_none());
    }

    #[test]
    fn kindset_roundtrips_through_bytes() {
        let s: KindSet = [1u16, 63, 64, 200, 255, 300].into_iter().collect();
        assert!(s.contains(255) && s.contains(64) && !s.contains(2) && !s.contains(300));
        assert_eq!(KindSet::from_bytes(&s.to_bytes()), s);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 63, 64, 200, 255]);
    }
}
