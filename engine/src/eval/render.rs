//! Falco's renderings of argument values: flag names, modes, errno names,
//! capabilities.

use super::*;

/// Linux errno names, for `evt.res`.
pub(super) fn errno_name(e: i64) -> Cow<'static, str> {
    // Linux's errno numbers 1 to 133 (asm-generic/errno-base.h, errno.h);
    // 41 and 58 are unused.
    const N: &[&str] = &[
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
        "-",
        "ENOMSG",
        "EIDRM",
        "ECHRNG",
        "EL2NSYNC",
        "EL3HLT",
        "EL3RST",
        "ELNRNG",
        "EUNATCH",
        "ENOCSI",
        "EL2HLT",
        "EBADE",
        "EBADR",
        "EXFULL",
        "ENOANO",
        "EBADRQC",
        "EBADSLT",
        "-",
        "EBFONT",
        "ENOSTR",
        "ENODATA",
        "ETIME",
        "ENOSR",
        "ENONET",
        "ENOPKG",
        "EREMOTE",
        "ENOLINK",
        "EADV",
        "ESRMNT",
        "ECOMM",
        "EPROTO",
        "EMULTIHOP",
        "EDOTDOT",
        "EBADMSG",
        "EOVERFLOW",
        "ENOTUNIQ",
        "EBADFD",
        "EREMCHG",
        "ELIBACC",
        "ELIBBAD",
        "ELIBSCN",
        "ELIBMAX",
        "ELIBEXEC",
        "EILSEQ",
        "ERESTART",
        "ESTRPIPE",
        "EUSERS",
        "ENOTSOCK",
        "EDESTADDRREQ",
        "EMSGSIZE",
        "EPROTOTYPE",
        "ENOPROTOOPT",
        "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT",
        "EOPNOTSUPP",
        "EPFNOSUPPORT",
        "EAFNOSUPPORT",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "ECONNABORTED",
        "ECONNRESET",
        "ENOBUFS",
        "EISCONN",
        "ENOTCONN",
        "ESHUTDOWN",
        "ETOOMANYREFS",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "EALREADY",
        "EINPROGRESS",
        "ESTALE",
        "EUCLEAN",
        "ENOTNAM",
        "ENAVAIL",
        "EISNAM",
        "EREMOTEIO",
        "EDQUOT",
        "ENOMEDIUM",
        "EMEDIUMTYPE",
        "ECANCELED",
        "ENOKEY",
        "EKEYEXPIRED",
        "EKEYREVOKED",
        "EKEYREJECTED",
        "EOWNERDEAD",
        "ENOTRECOVERABLE",
        "ERFKILL",
        "EHWPOISON",
    ];
    usize::try_from(-e)
        .ok()
        .and_then(|n| N.get(n.wrapping_sub(1)))
        .filter(|n| **n != "-")
        .map(|n| Cow::Borrowed(*n))
        .unwrap_or_else(|| Cow::Owned(format!("E{}", -e)))
}

fn flag_names(v: u64, table: &[(u64, &str)]) -> String {
    let mut out = String::with_capacity(32);
    push_flag_names(&mut out, v, table);
    if out.is_empty() {
        return table
            .iter()
            .find(|(b, _)| *b == 0 && v == 0)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| "0".into());
    }
    out
}

/// Appends the names of the bits of `v` that `table` names, `|`-separated.
fn push_flag_names(out: &mut String, v: u64, table: &[(u64, &str)]) {
    for (b, n) in table {
        if *b != 0 && v & b == *b {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(n);
        }
    }
}

/// Renders a flag word the way Falco prints it (`O_WRONLY|O_CREAT`).
pub fn render_flags(set: FlagSet, v: u64) -> String {
    const OPEN: &[(u64, &str)] = &[
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o10000, "O_DSYNC"),
        (0o40000, "O_DIRECT"),
        (0o100000, "O_LARGEFILE"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
        (0o20000000, "O_TMPFILE"),
    ];
    const CLONE: &[(u64, &str)] = &[
        (0x100, "CLONE_VM"),
        (0x200, "CLONE_FS"),
        (0x400, "CLONE_FILES"),
        (0x800, "CLONE_SIGHAND"),
        (0x2000, "CLONE_PTRACE"),
        (0x4000, "CLONE_VFORK"),
        (0x8000, "CLONE_PARENT"),
        (0x10000, "CLONE_THREAD"),
        (0x20000, "CLONE_NEWNS"),
        (0x40000, "CLONE_SYSVSEM"),
        (0x80000, "CLONE_SETTLS"),
        (0x100000, "CLONE_PARENT_SETTID"),
        (0x200000, "CLONE_CHILD_CLEARTID"),
        (0x800000, "CLONE_UNTRACED"),
        (0x1000000, "CLONE_CHILD_SETTID"),
        (0x2000000, "CLONE_NEWCGROUP"),
        (0x4000000, "CLONE_NEWUTS"),
        (0x8000000, "CLONE_NEWIPC"),
        (0x10000000, "CLONE_NEWUSER"),
        (0x20000000, "CLONE_NEWPID"),
        (0x40000000, "CLONE_NEWNET"),
        (0x80000000, "CLONE_IO"),
    ];
    const PROT: &[(u64, &str)] = &[
        (0, "PROT_NONE"),
        (1, "PROT_READ"),
        (2, "PROT_WRITE"),
        (4, "PROT_EXEC"),
    ];
    const MAP: &[(u64, &str)] = &[
        (1, "MAP_SHARED"),
        (2, "MAP_PRIVATE"),
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
    ];
    const MEMFD: &[(u64, &str)] = &[
        (0, "0"),
        (1, "MFD_CLOEXEC"),
        (2, "MFD_ALLOW_SEALING"),
        (4, "MFD_HUGETLB"),
    ];
    let exact = |t: &[(u64, &str)]| {
        t.iter()
            .find(|(b, _)| *b == v)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| v.to_string())
    };
    match set {
        FlagSet::Open => {
            let acc = match v & 3 {
                0 => "O_RDONLY",
                1 => "O_WRONLY",
                _ => "O_RDWR",
            };
            let mut out = String::with_capacity(48);
            out.push_str(acc);
            push_flag_names(&mut out, v & !3, OPEN);
            out
        }
        FlagSet::Clone | FlagSet::Namespace => flag_names(v, CLONE),
        FlagSet::Prot => flag_names(v, PROT),
        FlagSet::Map => flag_names(v, MAP),
        FlagSet::Memfd => flag_names(v, MEMFD),
        FlagSet::SockDomain => exact(&[
            (1, "AF_UNIX"),
            (2, "AF_INET"),
            (10, "AF_INET6"),
            (16, "AF_NETLINK"),
            (17, "AF_PACKET"),
        ]),
        FlagSet::SockType => exact(&[
            (1, "SOCK_STREAM"),
            (2, "SOCK_DGRAM"),
            (3, "SOCK_RAW"),
            (5, "SOCK_SEQPACKET"),
        ]),
        FlagSet::Fcntl => exact(&[
            (0, "F_DUPFD"),
            (1, "F_GETFD"),
            (2, "F_SETFD"),
            (3, "F_GETFL"),
            (4, "F_SETFL"),
            (1030, "F_DUPFD_CLOEXEC"),
        ]),
        FlagSet::Ptrace => exact(&[
            (0, "PTRACE_TRACEME"),
            (1, "PTRACE_PEEKTEXT"),
            (2, "PTRACE_PEEKDATA"),
            (3, "PTRACE_PEEKUSR"),
            (4, "PTRACE_POKETEXT"),
            (5, "PTRACE_POKEDATA"),
            (6, "PTRACE_POKEUSR"),
            (7, "PTRACE_CONT"),
            (8, "PTRACE_KILL"),
            (9, "PTRACE_SINGLESTEP"),
            (12, "PTRACE_GETREGS"),
            (13, "PTRACE_SETREGS"),
            (16, "PTRACE_ATTACH"),
            (17, "PTRACE_DETACH"),
            (24, "PTRACE_SYSCALL"),
            (0x4200, "PTRACE_SETOPTIONS"),
            (0x4206, "PTRACE_SEIZE"),
            (0x4207, "PTRACE_INTERRUPT"),
        ]),
        FlagSet::BpfCmd => exact(&[
            (0, "BPF_MAP_CREATE"),
            (1, "BPF_MAP_LOOKUP_ELEM"),
            (2, "BPF_MAP_UPDATE_ELEM"),
            (3, "BPF_MAP_DELETE_ELEM"),
            (4, "BPF_MAP_GET_NEXT_KEY"),
            (5, "BPF_PROG_LOAD"),
            (6, "BPF_OBJ_PIN"),
            (7, "BPF_OBJ_GET"),
            (8, "BPF_PROG_ATTACH"),
            (9, "BPF_PROG_DETACH"),
        ]),
        _ => format!("{v:#x}"),
    }
}

/// Renders a mode the way Falco prints chmod modes (`S_IRUSR|S_ISUID|...`).
pub fn render_mode(v: u64) -> String {
    const M: &[(u64, &str)] = &[
        (1, "S_IXOTH"),
        (2, "S_IWOTH"),
        (4, "S_IROTH"),
        (8, "S_IXGRP"),
        (16, "S_IWGRP"),
        (32, "S_IRGRP"),
        (64, "S_IXUSR"),
        (128, "S_IWUSR"),
        (256, "S_IRUSR"),
        (512, "S_ISVTX"),
        (1024, "S_ISGID"),
        (2048, "S_ISUID"),
    ];
    flag_names(v & 0o7777, M)
}

/// The text of a flags value, from a per-thread table of the values seen:
/// a capture repeats a few combinations of open flags millions of times,
/// and rules test them as text (`evt.arg.flags contains O_CREAT`). At most
/// [`FLAGS_CACHED`] texts are kept per thread (leaked, so they are
/// `'static`); past that, `None` and the caller renders.
pub(super) fn flags_text(set: FlagSet, v: u64) -> Option<&'static str> {
    use std::cell::RefCell;
    thread_local! {
        static TEXTS: RefCell<rustc_hash::FxHashMap<(FlagSet, u64), &'static str>> =
            RefCell::new(Default::default());
    }
    TEXTS.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(s) = t.get(&(set, v)) {
            return Some(*s);
        }
        if t.len() >= FLAGS_CACHED {
            return None;
        }
        let s: &'static str = Box::leak(render_flags(set, v).into_boxed_str());
        t.insert((set, v), s);
        Some(s)
    })
}

/// Flags texts kept per thread by [`flags_text`].
pub(super) const FLAGS_CACHED: usize = 4096;

pub(super) fn render_arg(v: &ArgValue<'_>, ty: Option<ArgType>) -> String {
    match (v, ty) {
        (ArgValue::Uint(u), Some(ArgType::Flags(set))) => render_flags(set, *u),
        (ArgValue::Int(i), Some(ArgType::Flags(set))) => render_flags(set, *i as u64),
        (ArgValue::Uint(u), Some(ArgType::Mode)) => render_mode(*u),
        (ArgValue::Int(-100), Some(ArgType::Dirfd)) => "AT_FDCWD".into(),
        other => crate::print::render(other.0, other.1),
    }
}

const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability set as Falco prints it (`CAP_CHOWN CAP_KILL ...`).
pub(super) fn caps<'c>(set: Option<u64>) -> Val<'c> {
    match set {
        Some(c) => Val::Str(Cow::Owned(
            CAPS.iter()
                .enumerate()
                .filter(|(i, _)| c & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(" "),
        )),
        None => Val::NA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_texts_are_the_rendered_ones_until_the_table_is_full() {
        // On a thread of its own: the table is per thread.
        std::thread::spawn(|| {
            for v in 0..FLAGS_CACHED as u64 {
                assert_eq!(
                    flags_text(FlagSet::Open, v),
                    Some(render_flags(FlagSet::Open, v).as_str())
                );
            }
            // Seen values still come from the table; new ones are refused.
            assert_eq!(
                flags_text(FlagSet::Open, 0o100).map(str::to_string),
                Some(render_flags(FlagSet::Open, 0o100))
            );
            assert_eq!(flags_text(FlagSet::Open, FLAGS_CACHED as u64 + 1), None);
        })
        .join()
        .expect("thread");
    }
}
