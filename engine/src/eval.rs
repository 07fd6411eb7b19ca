//! Evaluating compiled conditions on events: field extraction from the event
//! and the [`State`], Falco's renderings of arguments (flag names, modes,
//! errno names), comparisons, and output formatting. A field the capture
//! cannot supply is `<NA>`, and any comparison with it is false, as in Falco.

use std::borrow::Cow;
use std::net::IpAddr;

use capture::args::ArgValue;
use capture::kind::{id, task_flags, ArgType, FlagSet};
use capture::EventRef;
use rulelang::{Op, Transformer};

use capture::text::rfc3339 as utc;
use ruleset::compile::NO_SLOT;
use ruleset::compile::{
    ArgPositions, CheckNode, Const, FieldArg, FieldRef, Node, NodeId, Operand, OutputPart, Program,
};
use ruleset::fields::FieldKind as F;

use crate::state::{Fd, FdKind, Process, State};

/// An extracted value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    /// Not available (`<NA>`).
    NA,
    /// Text.
    Str(Cow<'a, str>),
    /// Bytes.
    Bytes(Cow<'a, [u8]>),
    /// A number.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An address.
    Ip(IpAddr),
}

impl Val<'_> {
    /// Renders the value as Falco prints it in outputs.
    pub fn render(&self) -> String {
        match self {
            Val::NA => "<NA>".into(),
            Val::Str(s) => s.to_string(),
            Val::Bytes(b) => capture::text::escape(b),
            Val::Int(i) => i.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Ip(ip) => ip.to_string(),
        }
    }
}

/// What the evaluator needs besides the event: the state and capture facts.
pub struct Env<'a> {
    /// Process and fd state (after the event's own effect).
    pub state: &'a State,
    /// Wall-clock anchor of the event clock.
    pub anchor: u64,
    /// Host name of the capture.
    pub hostname: &'a str,
}

/// Linux errno names, for `evt.res`.
fn errno_name(e: i64) -> Cow<'static, str> {
    const N: &[(i64, &str)] = &[
        (1, "EPERM"),
        (2, "ENOENT"),
        (3, "ESRCH"),
        (4, "EINTR"),
        (5, "EIO"),
        (6, "ENXIO"),
        (7, "E2BIG"),
        (8, "ENOEXEC"),
        (9, "EBADF"),
        (10, "ECHILD"),
        (11, "EAGAIN"),
        (12, "ENOMEM"),
        (13, "EACCES"),
        (14, "EFAULT"),
        (16, "EBUSY"),
        (17, "EEXIST"),
        (18, "EXDEV"),
        (19, "ENODEV"),
        (20, "ENOTDIR"),
        (21, "EISDIR"),
        (22, "EINVAL"),
        (23, "ENFILE"),
        (24, "EMFILE"),
        (25, "ENOTTY"),
        (26, "ETXTBSY"),
        (27, "EFBIG"),
        (28, "ENOSPC"),
        (29, "ESPIPE"),
        (30, "EROFS"),
        (32, "EPIPE"),
        (36, "ENAMETOOLONG"),
        (38, "ENOSYS"),
        (39, "ENOTEMPTY"),
        (40, "ELOOP"),
        (61, "ENODATA"),
        (88, "ENOTSOCK"),
        (95, "EOPNOTSUPP"),
        (97, "EAFNOSUPPORT"),
        (98, "EADDRINUSE"),
        (99, "EADDRNOTAVAIL"),
        (101, "ENETUNREACH"),
        (103, "ECONNABORTED"),
        (104, "ECONNRESET"),
        (110, "ETIMEDOUT"),
        (111, "ECONNREFUSED"),
        (113, "EHOSTUNREACH"),
        (114, "EALREADY"),
        (115, "EINPROGRESS"),
    ];
    N.iter()
        .find(|(n, _)| *n == -e)
        .map(|(_, s)| Cow::Borrowed(*s))
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

fn render_arg(v: &ArgValue<'_>, ty: Option<ArgType>) -> String {
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

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Per-event facts computed once and shared by every rule evaluated on the
/// event: its process, fd and (lazily) the path it opens.
pub struct EvCtx<'a> {
    e: &'a EventRef<'a>,
    args: &'a crate::state::Args<'a>,
    env: &'a Env<'a>,
    proc_: Option<&'a Process>,
    fd_num: Option<i64>,
    fd: Option<&'a Fd>,
    is_open: bool,
    path_cell: std::cell::OnceCell<std::sync::Arc<str>>,
    rendered: std::cell::OnceCell<Box<[std::cell::OnceCell<String>; crate::state::MAX_ARGS]>>,
}

impl<'a> EvCtx<'a> {
    /// The context of event `e` in `env`.
    /// `args` are the event's decoded arguments, shared with the state
    /// engine (see [`crate::replay`]).
    pub fn new(
        e: &'a EventRef<'a>,
        args: &'a crate::state::Args<'a>,
        env: &'a Env<'a>,
    ) -> EvCtx<'a> {
        let proc_ = env.state.procs.get(&e.pid);
        let is_open = matches!(e.kind, id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT);
        let fd_num = match e.kind {
            _ if e.ret == capture::kind::RET_NONE && (is_open || e.kind == id::SOCKET) => None,
            _ if is_open => Some(e.ret),
            id::ACCEPT
            | id::ACCEPT4
            | id::SOCKET
            | id::MEMFD_CREATE
            | id::DUP
            | id::DUP2
            | id::DUP3 => Some(e.ret),
            // Falco gives mmap no fd (its fd argument is often -1).
            id::MMAP => None,
            // sendfile's fd is where it writes, as in Falco.
            id::SENDFILE => args.get("out_fd").and_then(|v| v.as_i64()),
            _ => args.get("fd").and_then(|v| v.as_i64()),
        };
        let fd = fd_num
            .filter(|n| *n >= 0)
            .and_then(|n| proc_.and_then(|p| p.fds.get(&(n as i32))));
        EvCtx {
            e,
            args,
            env,
            proc_,
            fd_num,
            fd,
            is_open,
            path_cell: std::cell::OnceCell::new(),
            rendered: std::cell::OnceCell::new(),
        }
    }

    /// Argument `i` rendered as text, computed on first use.
    fn rendered(&self, i: usize, f: impl FnOnce() -> String) -> &str {
        let cells = self
            .rendered
            .get_or_init(|| Box::new(std::array::from_fn(|_| std::cell::OnceCell::new())));
        match cells.get(i) {
            Some(c) => c.get_or_init(f),
            None => "",
        }
    }

    /// Wall-clock time of the event clock's zero (Unix ns).
    pub fn anchor(&self) -> u64 {
        self.env.anchor
    }

    /// The path an open-like event names (computed on first use).
    fn path(&self) -> Option<&str> {
        if !self.is_open {
            return None;
        }
        Some(self.path_cell.get_or_init(|| match self.fd {
            Some(f) if self.e.ret >= 0 => f.name.clone(),
            _ => self.env.state.open_path_arc(self.e, self.args),
        }))
    }

    fn parent(&self, p: &'a Process) -> Option<&'a Process> {
        p.ppid.and_then(|pp| self.env.state.procs.get(&pp))
    }

    /// The n-th ancestor (0: the process itself). Walks at most
    /// [`crate::state::MAX_ANCESTRY`] steps, so a parent cycle in a hostile
    /// snapshot or an absurd index ends.
    fn ancestor(&self, n: u32) -> Option<&'a Process> {
        if n as usize > crate::state::MAX_ANCESTRY {
            return None;
        }
        let mut p = self.proc_?;
        for _ in 0..n {
            p = self.parent(p)?;
        }
        Some(p)
    }

    fn user(
        &self,
        uid: Option<u32>,
    ) -> Option<&'a (
        std::sync::Arc<str>,
        std::sync::Arc<str>,
        std::sync::Arc<str>,
    )> {
        uid.and_then(|u| self.env.state.accounts.users.get(&u))
    }
}

fn s<'a>(x: Option<&'a std::sync::Arc<str>>) -> Val<'a> {
    match x {
        Some(v) => Val::Str(Cow::Borrowed(v)),
        None => Val::NA,
    }
}

fn cmdline(p: &Process) -> Val<'static> {
    match (&p.comm, &p.args) {
        (Some(c), Some(a)) => {
            let mut out = c.to_string();
            for x in a.iter().skip(1) {
                out.push(' ');
                out.push_str(x);
            }
            Val::Str(Cow::Owned(out))
        }
        (Some(c), None) => Val::Str(Cow::Owned(c.to_string())),
        _ => Val::NA,
    }
}

fn ep_ip(t: Option<(IpAddr, u16)>) -> Val<'static> {
    t.map(|x| Val::Ip(x.0)).unwrap_or(Val::NA)
}

fn ep_port(t: Option<(IpAddr, u16)>) -> Val<'static> {
    t.map(|x| Val::Int(i64::from(x.1))).unwrap_or(Val::NA)
}

fn proc_field<'c>(f: F, p: &'c Process, cx: &EvCtx<'_>) -> Val<'c> {
    match f {
        F::ProcName | F::ProcAname => s(p.comm.as_ref()),
        F::ProcPid | F::ProcApid | F::ProcVpid => Val::Int(i64::from(p.pid)),
        F::ProcExe | F::ProcAexe => p
            .args
            .as_ref()
            .and_then(|a| a.first())
            .map(|x| Val::Str(Cow::Borrowed(&**x)))
            .unwrap_or(Val::NA),
        F::ProcExepath | F::ProcAexepath => s(p.exepath.as_ref()),
        F::ProcCmdline | F::ProcAcmdline => cmdline(p),
        _ => {
            let _ = cx;
            Val::NA
        }
    }
}

/// Container and Kubernetes fields: of the container a `container` record
/// describes, else of the event's process (`host` for id and name on the
/// host).
fn container_field<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let id: Option<&str> = if cx.e.kind == id::CONTAINER {
        match cx.args.get("id") {
            Some(ArgValue::Str(b)) => std::str::from_utf8(b).ok().map(|x| &x[..x.len().min(12)]),
            _ => None,
        }
    } else {
        cx.proc_.and_then(|p| p.container_id.as_deref())
    };
    let Some(id) = id else { return Val::NA };
    if id.is_empty() {
        return match f {
            F::ContainerId | F::ContainerFullId | F::ContainerName => {
                Val::Str(Cow::Borrowed("host"))
            }
            F::ContainerInfo => Val::Str(Cow::Borrowed("host (id=host)")),
            F::ContainerPrivileged
            | F::ContainerHostPid
            | F::ContainerHostNetwork
            | F::ContainerHostIpc => Val::Bool(false),
            _ => Val::NA,
        };
    }
    let c = cx.env.state.containers.get(id).map(|c| &**c);
    let pod = c.and_then(|c| c.pod.as_deref());
    let key = match &r.arg {
        FieldArg::Key(k) => Some(k.as_str()),
        _ => None,
    };
    let pairs = |l: &[(std::sync::Arc<str>, std::sync::Arc<str>)]| {
        Val::Str(Cow::Owned(
            l.iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ))
    };
    let flag = |b: Option<bool>| b.map(Val::Bool).unwrap_or(Val::NA);
    match f {
        F::ContainerId => Val::Str(Cow::Owned(id.to_string())),
        F::ContainerFullId => match c {
            Some(c) => Val::Str(Cow::Borrowed(&c.full_id)),
            None => Val::Str(Cow::Owned(id.to_string())),
        },
        F::ContainerName => s(c.and_then(|c| c.name.as_ref())),
        F::ContainerImage => s(c.and_then(|c| c.image.as_ref())),
        F::ContainerImageId => s(c.and_then(|c| c.image_id.as_ref())),
        F::ContainerImageRepository => s(c.and_then(|c| c.image_repository.as_ref())),
        F::ContainerImageTag => s(c.and_then(|c| c.image_tag.as_ref())),
        F::ContainerImageDigest => s(c.and_then(|c| c.image_digest.as_ref())),
        F::ContainerType => s(c.and_then(|c| c.runtime.as_ref())),
        F::ContainerPrivileged => flag(c.and_then(|c| c.privileged)),
        F::ContainerIp | F::K8sPodIp => c.and_then(|c| c.ip).map(Val::Ip).unwrap_or(Val::NA),
        F::ContainerMounts => match c.and_then(|c| c.mounts.as_ref()) {
            // sysdig's form: source:dest:mode:rdwr:propagation, comma-separated.
            Some(ms) => Val::Str(Cow::Owned(
                ms.iter().map(mount_text).collect::<Vec<_>>().join(","),
            )),
            None => Val::NA,
        },
        F::ContainerMount
        | F::ContainerMountSource
        | F::ContainerMountDest
        | F::ContainerMountMode
        | F::ContainerMountRdwr
        | F::ContainerMountPropagation => {
            let Some(ms) = c.and_then(|c| c.mounts.as_ref()) else {
                return Val::NA;
            };
            // The key is an index or a glob over destinations.
            let m = match key {
                Some(k) => match k.parse::<usize>() {
                    Ok(i) => ms.get(i),
                    Err(_) => ruleset::glob::Pattern::new(k, false)
                        .and_then(|g| ms.iter().find(|m| g.matches(m.dest.as_bytes()))),
                },
                None => None,
            };
            let Some(m) = m else { return Val::NA };
            Val::Str(match f {
                F::ContainerMount => Cow::Owned(mount_text(m)),
                F::ContainerMountSource => Cow::Borrowed(&*m.source),
                F::ContainerMountDest => Cow::Borrowed(&*m.dest),
                F::ContainerMountMode => Cow::Borrowed(&*m.mode),
                F::ContainerMountRdwr => Cow::Borrowed(if m.rdwr { "true" } else { "false" }),
                _ => Cow::Borrowed(&*m.propagation),
            })
        }
        F::ContainerHealthcheck => s(c.and_then(|c| c.probes[0].as_ref())),
        F::ContainerLiveness => s(c.and_then(|c| c.probes[1].as_ref())),
        F::ContainerReadiness => s(c.and_then(|c| c.probes[2].as_ref())),
        F::ContainerStartTs => c
            .and_then(|c| c.start_ts)
            .map(|t| Val::Int(t as i64))
            .unwrap_or(Val::NA),
        F::ContainerDuration => match c.and_then(|c| c.start_ts) {
            Some(t) => Val::Int(cx.e.ts.wrapping_add(cx.env.anchor).saturating_sub(t) as i64),
            None => Val::NA,
        },
        F::ContainerCniJson | F::K8sPodCniJson => s(c.and_then(|c| c.cni_json.as_ref())),
        F::ContainerHostPid => flag(c.and_then(|c| c.host_pid)),
        F::ContainerHostNetwork => flag(c.and_then(|c| c.host_network)),
        F::ContainerHostIpc => flag(c.and_then(|c| c.host_ipc)),
        // Falco's %container.info without -pk/-pc.
        F::ContainerInfo => Val::Str(Cow::Owned(format!(
            "{} (id={id})",
            c.and_then(|c| c.name.as_deref()).unwrap_or("<NA>")
        ))),
        F::ContainerLabel => match (c, key) {
            (Some(c), Some(k)) => s(c.label(k)),
            _ => Val::NA,
        },
        F::ContainerLabels => match c {
            Some(c) => pairs(&c.labels),
            None => Val::NA,
        },
        F::K8sNsName => s(pod.and_then(|p| p.namespace.as_ref())),
        F::K8sPodName => s(pod.and_then(|p| p.name.as_ref())),
        F::K8sPodUid => s(pod.and_then(|p| p.uid.as_ref())),
        F::K8sPodFullSandboxId => s(pod.and_then(|p| p.sandbox_id.as_ref())),
        F::K8sPodSandboxId => match pod.and_then(|p| p.sandbox_id.as_deref()) {
            Some(sid) => Val::Str(Cow::Borrowed(&sid[..sid.len().min(12)])),
            None => Val::NA,
        },
        F::K8sPodLabel => match (pod, key) {
            (Some(p), Some(k)) => p
                .labels
                .iter()
                .find(|(l, _)| &**l == k)
                .map(|(_, v)| Val::Str(Cow::Borrowed(&**v)))
                .unwrap_or(Val::NA),
            _ => Val::NA,
        },
        F::K8sPodLabels => match pod {
            Some(p) => pairs(&p.labels),
            None => Val::NA,
        },
        _ => Val::NA,
    }
}

fn mount_text(m: &crate::state::Mount) -> String {
    format!(
        "{}:{}:{}:{}:{}",
        m.source, m.dest, m.mode, m.rdwr, m.propagation
    )
}

fn extract<'c>(r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let e = cx.e;
    let f = r.kind;
    let t = cx.fd.and_then(|f| f.tuple.as_ref());
    let na = Val::NA;
    match f {
        F::EvtNum => Val::Int(e.seq as i64 + 1),
        F::EvtTime | F::EvtTimeS => {
            let u = utc(e.ts.wrapping_add(cx.env.anchor));
            let hms = &u[11..u.len() - 1];
            Val::Str(Cow::Owned(if f == F::EvtTimeS {
                hms[..8].to_string()
            } else {
                hms.to_string()
            }))
        }
        F::EvtTimeIso | F::EvtDatetime => {
            Val::Str(Cow::Owned(utc(e.ts.wrapping_add(cx.env.anchor))))
        }
        F::EvtRawtime => Val::Int(e.ts.wrapping_add(cx.env.anchor) as i64),
        F::EvtRawtimeS => Val::Int((e.ts.wrapping_add(cx.env.anchor) / 1_000_000_000) as i64),
        F::EvtRawtimeNs => Val::Int((e.ts.wrapping_add(cx.env.anchor) % 1_000_000_000) as i64),
        F::EvtDir => Val::Str(Cow::Borrowed(if e.is_entry_only() { ">" } else { "<" })),
        F::EvtType => Val::Str(e.kind_name()),
        F::EvtCpu => Val::Int(i64::from(e.cpu)),
        F::EvtCount => Val::Int(1),
        F::EvtSource => Val::Str(Cow::Borrowed("syscall")),
        F::EvtHostname => Val::Str(Cow::Borrowed(cx.env.hostname)),
        F::EvtCategory => Val::Str(Cow::Borrowed(
            e.info().map(|k| k.category.name()).unwrap_or("unknown"),
        )),
        F::EvtArgs | F::EvtInfo => {
            let table = e.info().map(|k| k.args).unwrap_or(&[]);
            let parts: Vec<String> = e
                .args()
                .enumerate()
                .map_while(|(i, v)| {
                    let v = v.ok()?;
                    let (n, ty) = table
                        .get(i)
                        .map(|(n, t)| (n.to_string(), Some(*t)))
                        .unwrap_or((format!("arg{i}"), None));
                    Some(format!("{n}={}", render_arg(&v, ty)))
                })
                .collect();
            Val::Str(Cow::Owned(parts.join(" ")))
        }
        F::EvtArg | F::EvtRawarg => {
            let table = e.info().map(|k| k.args).unwrap_or(&[]);
            let idx = match (&r.arg, &r.positions) {
                (FieldArg::Index(i), _) => Some(*i as usize),
                (FieldArg::Key(_), Some(pos)) => match pos.get(e.kind) {
                    ArgPositions::RET => return Val::Int(e.ret),
                    ArgPositions::NONE => None,
                    i => Some(usize::from(i)),
                },
                _ => None,
            };
            let Some(i) = idx else { return na };
            let Some((v, _)) = cx.args.at(i) else {
                return na;
            };
            let ty = table.get(i).map(|(_, t)| *t);
            if f == F::EvtRawarg {
                return match v {
                    ArgValue::Int(x) => Val::Int(x),
                    ArgValue::Uint(x) => Val::Int(x as i64),
                    ArgValue::Str(b) | ArgValue::Bytes(b) => Val::Str(String::from_utf8_lossy(b)),
                    other => Val::Str(Cow::Owned(render_arg(&other, ty))),
                };
            }
            match v {
                ArgValue::Absent => na,
                ArgValue::Str(b) => Val::Str(String::from_utf8_lossy(b)),
                ArgValue::Int(x)
                    if !matches!(ty, Some(ArgType::Flags(_) | ArgType::Mode | ArgType::Dirfd)) =>
                {
                    Val::Str(Cow::Owned(x.to_string()))
                }
                // Rendered once per event however many checks read it
                // (`evt.arg.flags contains O_TRUNC`, `... O_CREAT`, ...).
                other => Val::Str(Cow::Borrowed(cx.rendered(i, || render_arg(&other, ty)))),
            }
        }
        F::EvtBuffer => match cx.args.get("data") {
            Some(ArgValue::Bytes(b)) => Val::Bytes(Cow::Borrowed(b)),
            _ => na,
        },
        F::EvtBuflen => {
            if matches!(
                e.kind,
                id::READ
                    | id::WRITE
                    | id::PREAD64
                    | id::PWRITE64
                    | id::READV
                    | id::WRITEV
                    | id::SENDTO
                    | id::RECVFROM
                    | id::SENDMSG
                    | id::RECVMSG
            ) && e.ret >= 0
            {
                Val::Int(e.ret)
            } else {
                na
            }
        }
        F::EvtRes => match e.result() {
            Some(r) if r >= 0 => Val::Str(Cow::Borrowed("SUCCESS")),
            Some(r) => Val::Str(errno_name(r)),
            None => na,
        },
        F::EvtRawres => e.result().map(Val::Int).unwrap_or(na),
        F::EvtFailed => Val::Bool(e.result().is_some_and(|r| r < 0)),
        F::EvtIsIo | F::EvtIsIoRead | F::EvtIsIoWrite => {
            let read = matches!(
                e.kind,
                id::READ | id::PREAD64 | id::READV | id::RECVFROM | id::RECVMSG
            );
            let write = matches!(
                e.kind,
                id::WRITE | id::PWRITE64 | id::WRITEV | id::SENDTO | id::SENDMSG
            );
            Val::Bool(match f {
                F::EvtIsIo => read || write,
                F::EvtIsIoRead => read,
                _ => write,
            })
        }
        F::EvtIsOpenRead | F::EvtIsOpenWrite | F::EvtIsOpenExec | F::EvtIsOpenCreate => {
            if !matches!(e.kind, id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT) {
                return Val::Bool(false);
            }
            let flags = if e.kind == id::CREAT {
                0o1101
            } else {
                cx.args.get("flags").and_then(|v| v.as_u64()).unwrap_or(0)
            };
            let mode = cx.args.get("mode").and_then(|v| v.as_u64()).unwrap_or(0);
            Val::Bool(match f {
                F::EvtIsOpenRead => flags & 3 == 0 || flags & 3 == 2,
                F::EvtIsOpenWrite => flags & 3 == 1 || flags & 3 == 2,
                F::EvtIsOpenCreate => flags & 0o100 != 0,
                _ => flags & 0o100 != 0 && mode & 0o111 != 0,
            })
        }
        F::ProcFalse => Val::Bool(false),
        F::ProcAname | F::ProcApid | F::ProcAexe | F::ProcAexepath | F::ProcAcmdline => {
            let n = match r.arg {
                FieldArg::Index(n) => n,
                _ => 1,
            };
            match cx.ancestor(n) {
                Some(a) => proc_field(f, a, cx),
                None => na,
            }
        }
        F::ThreadTid => Val::Int(i64::from(e.tid)),
        F::ThreadIsmain => Val::Bool(e.tid == e.pid),
        F::FsPathName => match cx.path() {
            Some(pth) => Val::Str(Cow::Borrowed(pth)),
            None => ["path", "name", "filename", "pathname"]
                .iter()
                .find_map(|n| match cx.args.get(n) {
                    Some(ArgValue::Str(b)) => Some(Val::Str(String::from_utf8_lossy(b))),
                    _ => None,
                })
                .unwrap_or(na),
        },
        F::FsPathSource | F::FsPathTarget => {
            let names: &[&str] = if f == F::FsPathSource {
                &["oldpath", "target"]
            } else {
                &["newpath", "linkpath"]
            };
            names
                .iter()
                .find_map(|n| match cx.args.get(n) {
                    Some(ArgValue::Str(b)) => Some(Val::Str(String::from_utf8_lossy(b))),
                    _ => None,
                })
                .unwrap_or(na)
        }
        F::FdNum => cx.fd_num.map(Val::Int).unwrap_or(na),
        F::FdName => match (cx.path(), cx.fd) {
            (Some(pth), _) => Val::Str(Cow::Borrowed(pth)),
            (None, Some(fd)) => match &fd.tuple {
                Some(t) if matches!(fd.kind, FdKind::Ipv4 | FdKind::Ipv6) => {
                    Val::Str(Cow::Owned(crate::state::tuple_name(t)))
                }
                _ => Val::Str(Cow::Borrowed(&fd.name)),
            },
            _ => na,
        },
        F::FdType | F::FdTypechar => {
            let kind = if cx.is_open {
                Some(cx.fd.map(|f| f.kind.clone()).unwrap_or(FdKind::File))
            } else {
                cx.fd.map(|f| f.kind.clone())
            };
            match kind {
                Some(k) => Val::Str(Cow::Borrowed(if f == F::FdType {
                    k.type_name()
                } else {
                    k.typechar()
                })),
                None => na,
            }
        }
        F::FdDirectory | F::FdFilename => {
            let name: Option<String> = match (cx.path(), cx.fd) {
                (Some(pth), _) => Some(pth.to_string()),
                (None, Some(fd)) if matches!(fd.kind, FdKind::File | FdKind::Dir) => {
                    Some(fd.name.to_string())
                }
                _ => None,
            };
            match name {
                Some(n) if n.starts_with('/') => {
                    let (dir, file) = n.rsplit_once('/').unwrap_or(("", &n));
                    Val::Str(Cow::Owned(if f == F::FdDirectory {
                        if dir.is_empty() {
                            "/".to_string()
                        } else {
                            dir.to_string()
                        }
                    } else {
                        file.to_string()
                    }))
                }
                _ => na,
            }
        }
        F::FdIp | F::FdNet => ep_ip(t.and_then(|t| t.remote).or(t.and_then(|t| t.local))),
        F::FdCip | F::FdCnet => ep_ip(t.and_then(|t| if t.server { t.remote } else { t.local })),
        F::FdSip | F::FdSnet => ep_ip(t.and_then(|t| if t.server { t.local } else { t.remote })),
        F::FdLip | F::FdLnet => ep_ip(t.and_then(|t| t.local)),
        F::FdRip | F::FdRnet => ep_ip(t.and_then(|t| t.remote)),
        F::FdPort => ep_port(t.and_then(|t| t.remote).or(t.and_then(|t| t.local))),
        F::FdCport => ep_port(t.and_then(|t| if t.server { t.remote } else { t.local })),
        F::FdSport => ep_port(t.and_then(|t| if t.server { t.local } else { t.remote })),
        F::FdLport => ep_port(t.and_then(|t| t.local)),
        F::FdRport => ep_port(t.and_then(|t| t.remote)),
        F::FdL4proto => match t.map(|t| t.proto) {
            Some(6) => Val::Str(Cow::Borrowed("tcp")),
            Some(17) => Val::Str(Cow::Borrowed("udp")),
            Some(_) => Val::Str(Cow::Borrowed("unknown")),
            None => na,
        },
        F::FdSockfamily => match cx.fd.map(|f| &f.kind) {
            Some(FdKind::Ipv4 | FdKind::Ipv6) => Val::Str(Cow::Borrowed("ip")),
            Some(FdKind::Unix) => Val::Str(Cow::Borrowed("unix")),
            _ => na,
        },
        F::FdIsServer => t.map(|t| Val::Bool(t.server)).unwrap_or(na),
        F::FdConnected => t.map(|t| Val::Bool(t.connected)).unwrap_or(na),
        F::FdNameChanged => Val::Bool(false),
        F::ContainerId
        | F::ContainerFullId
        | F::ContainerName
        | F::ContainerImage
        | F::ContainerImageId
        | F::ContainerImageRepository
        | F::ContainerImageTag
        | F::ContainerImageDigest
        | F::ContainerType
        | F::ContainerPrivileged
        | F::ContainerIp
        | F::ContainerMounts
        | F::ContainerMount
        | F::ContainerMountSource
        | F::ContainerMountDest
        | F::ContainerMountMode
        | F::ContainerMountRdwr
        | F::ContainerMountPropagation
        | F::ContainerHealthcheck
        | F::ContainerLiveness
        | F::ContainerReadiness
        | F::ContainerStartTs
        | F::ContainerDuration
        | F::ContainerCniJson
        | F::ContainerHostPid
        | F::ContainerHostNetwork
        | F::ContainerHostIpc
        | F::ContainerInfo
        | F::ContainerLabel
        | F::ContainerLabels
        | F::K8sNsName
        | F::K8sPodName
        | F::K8sPodUid
        | F::K8sPodLabel
        | F::K8sPodLabels
        | F::K8sPodIp
        | F::K8sPodCniJson
        | F::K8sPodSandboxId
        | F::K8sPodFullSandboxId => container_field(f, r, cx),
        F::Unsupported => na,
        _ => {
            let v = own_proc_field(f, r, cx);
            if matches!(v, Val::NA) {
                unknown_thread_default(f).unwrap_or(v)
            } else {
                v
            }
        }
    }
}

/// What Falco's libraries give the fields of a thread they know nothing
/// about (they create it on the fly with these values), so that rules
/// behave the same: `proc.name != foo` holds and `proc.name != <NA>` (the
/// `proc_name_exists` macro) does not. Parent fields stay missing.
fn unknown_thread_default(f: F) -> Option<Val<'static>> {
    Some(match f {
        F::ProcName | F::ProcExe | F::ProcCmdline => Val::Str(Cow::Borrowed("<NA>")),
        F::ProcExepath | F::ProcArgs | F::ProcCwd | F::ProcEnv => Val::Str(Cow::Borrowed("")),
        F::ProcPpid => Val::Int(-1),
        F::UserUid | F::GroupGid => Val::Int(i64::from(u32::MAX)),
        F::UserLoginuid => Val::Int(-1),
        F::ProcTty => Val::Int(0),
        _ => return None,
    })
}

/// A capability set as Falco prints it (`CAP_CHOWN CAP_KILL ...`).
fn caps<'c>(set: Option<u64>) -> Val<'c> {
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

/// Fields of the event's own process (and its ancestors by index).
fn own_proc_field<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let e = cx.e;
    let p = cx.proc_;
    let na = Val::NA;
    let Some(p) = p else { return na };
    let user = |uid: Option<u32>| cx.user(uid);
    match f {
        F::ProcPid => Val::Int(i64::from(p.pid)),
        F::ProcVpid => Val::Int(i64::from(p.vpid.unwrap_or(p.pid))),
        F::ProcName => s(p.comm.as_ref()),
        F::ProcExe => p
            .args
            .as_ref()
            .and_then(|a| a.first())
            .map(|x| Val::Str(Cow::Borrowed(&**x)))
            .unwrap_or(na),
        F::ProcSid => p.sid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcVpgid => p.vpgid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcIsSidLeader => match (p.sid, p.vpid) {
            (Some(sid), Some(vpid)) => Val::Bool(sid == vpid),
            _ => na,
        },
        F::ProcIsVpgidLeader => match (p.vpgid, p.vpid) {
            (Some(g), Some(vpid)) => Val::Bool(g == vpid),
            _ => na,
        },
        F::ProcIsExeWritable | F::ProcIsExeUpperLayer => {
            let bit = match f {
                F::ProcIsExeWritable => task_flags::EXE_WRITABLE,
                _ => task_flags::EXE_UPPER_LAYER,
            };
            p.task_flags.map(|t| Val::Bool(t & bit != 0)).unwrap_or(na)
        }
        F::ThreadVtid => {
            if e.tid == e.pid {
                p.vpid.map(|v| Val::Int(i64::from(v))).unwrap_or(na)
            } else {
                p.vtids
                    .as_ref()
                    .and_then(|m| m.get(&e.tid))
                    .map(|v| Val::Int(i64::from(*v)))
                    .unwrap_or(na)
            }
        }
        F::ThreadCapPerm => caps(p.cap_permitted),
        F::ThreadCapInh => caps(p.cap_inheritable),
        F::ProcExepath => s(p.exepath.as_ref()),
        F::ProcArgs => match &p.args {
            Some(a) => Val::Str(Cow::Owned(
                a.iter().skip(1).map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            None => na,
        },
        F::ProcExeline => match &p.args {
            Some(a) => Val::Str(Cow::Owned(
                a.iter().map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            None => na,
        },
        F::ProcCmdline => cmdline(p),
        F::ProcEnv => match (&p.env, &r.arg) {
            (Some(env), FieldArg::Key(k)) => env
                .iter()
                .find_map(|kv| {
                    kv.strip_prefix(k.as_str())
                        .and_then(|r| r.strip_prefix('='))
                        .map(|v| Val::Str(Cow::Owned(v.to_string())))
                })
                .unwrap_or(na),
            (Some(env), _) => Val::Str(Cow::Owned(
                env.iter().map(|x| &**x).collect::<Vec<_>>().join(" "),
            )),
            _ => na,
        },
        F::ProcCwd => s(p.cwd.as_ref()),
        F::ProcPpid | F::ProcPvpid => p.ppid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcPname | F::ProcPexe | F::ProcPexepath | F::ProcPcmdline => {
            let Some(pp) = cx.parent(p) else { return na };
            let g = match f {
                F::ProcPname => F::ProcName,
                F::ProcPexe => F::ProcExe,
                F::ProcPexepath => F::ProcExepath,
                _ => F::ProcCmdline,
            };
            proc_field(g, pp, cx)
        }
        F::ProcDuration => p
            .start_ts
            .map(|st| Val::Int(e.ts.saturating_sub(st) as i64))
            .unwrap_or(na),
        F::ProcStartTs => p
            .start_ts
            .map(|st| Val::Int(st.wrapping_add(cx.env.anchor) as i64))
            .unwrap_or(na),
        F::ProcTty => p.tty.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::ProcIsExeFromMemfd => Val::Bool(p.exe_from_memfd),
        F::ProcFdopencount => Val::Int(p.fds.len() as i64),
        F::ThreadCapEff => caps(p.cap_effective),
        F::UserUid => p.uid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::UserName => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.0)))
            .unwrap_or(na),
        F::UserHomedir => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.1)))
            .unwrap_or(na),
        F::UserShell => user(p.uid)
            .map(|u| Val::Str(Cow::Borrowed(&*u.2)))
            .unwrap_or(na),
        F::UserLoginuid => p
            .loginuid
            .map(|x| Val::Int(if x == u32::MAX { -1 } else { i64::from(x) }))
            .unwrap_or(na),
        F::UserLoginname => match p.loginuid {
            Some(u32::MAX) => Val::Str(Cow::Borrowed("<NA>")),
            l => user(l)
                .map(|u| Val::Str(Cow::Borrowed(&*u.0)))
                .unwrap_or(na),
        },
        F::GroupGid => p.gid.map(|x| Val::Int(i64::from(x))).unwrap_or(na),
        F::GroupName => p
            .gid
            .and_then(|g| cx.env.state.accounts.groups.get(&g))
            .map(|n| Val::Str(Cow::Borrowed(&**n)))
            .unwrap_or(na),
        _ => na,
    }
}

#[inline]
fn transform<'a>(v: Val<'a>, ts: &[Transformer]) -> Val<'a> {
    if ts.is_empty() {
        return v;
    }
    transform_slow(v, ts)
}

fn transform_slow<'a>(v: Val<'a>, ts: &[Transformer]) -> Val<'a> {
    let mut v = v;
    for t in ts.iter().rev() {
        v = match (v, t) {
            (Val::Str(s), Transformer::ToLower) => Val::Str(Cow::Owned(s.to_lowercase())),
            (Val::Str(s), Transformer::ToUpper) => Val::Str(Cow::Owned(s.to_uppercase())),
            (Val::Str(s), Transformer::Basename) => Val::Str(Cow::Owned(basename(&s).to_string())),
            (Val::Str(s), Transformer::Len) => Val::Int(s.len() as i64),
            (Val::Bytes(b), Transformer::Len) => Val::Int(b.len() as i64),
            (Val::Str(s), Transformer::B64) => match b64(s.as_bytes()) {
                Some(d) => Val::Str(Cow::Owned(String::from_utf8_lossy(&d).into_owned())),
                None => Val::NA,
            },
            (other, _) => other,
        };
    }
    v
}

/// The `b64` transformer: standard or URL-safe base64, padded or not,
/// whitespace ignored (the `base64` crate); `None` when it is not base64.
fn b64(s: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    use base64::Engine as _;
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg);
    let clean: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    standard.decode(&clean).or_else(|_| url.decode(&clean)).ok()
}

fn net_contains(net: IpAddr, plen: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if plen == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(plen.min(32)))
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if plen == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(plen.min(128)))
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn eq_const(v: &Val<'_>, k: &Const) -> Option<bool> {
    Some(match (v, k) {
        (Val::Str(s), Const::Str(c)) => s.as_ref() == c.as_ref(),
        (Val::Bytes(b), Const::Str(c)) => b.as_ref() == c.as_bytes(),
        (Val::Int(i), Const::Int(c)) => i == c,
        (Val::Bool(b), Const::Bool(c)) => b == c,
        (Val::Ip(ip), Const::Ip(c)) => ip == c,
        (Val::Ip(ip), Const::Net(n, p)) => net_contains(*n, *p, *ip),
        (Val::Str(s), Const::Int(c)) => s.parse::<i64>().ok() == Some(*c),
        _ => return None,
    })
}

fn cmp_val(v: &Val<'_>, op: Op, operand: &Operand) -> bool {
    if matches!(v, Val::NA) {
        return false;
    }
    let text: Option<Cow<'_, [u8]>> = match v {
        Val::Str(s) => Some(Cow::Borrowed(s.as_bytes())),
        Val::Bytes(b) => Some(Cow::Borrowed(b.as_ref())),
        _ => None,
    };
    match (op, operand) {
        (Op::Eq, Operand::Const(k)) => eq_const(v, k).unwrap_or(false),
        (Op::Ne, Operand::Const(k)) => eq_const(v, k).map(|x| !x).unwrap_or(false),
        (Op::In | Op::Intersects, Operand::Set(items, strs)) => match v {
            Val::Str(s) if !strs.is_empty() => strs.contains(s.as_ref()),
            _ => items.iter().any(|k| eq_const(v, k) == Some(true)),
        },
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, Operand::Const(Const::Int(c))) => {
            let Val::Int(i) = v else { return false };
            match op {
                Op::Lt => i < c,
                Op::Le => i <= c,
                Op::Gt => i > c,
                _ => i >= c,
            }
        }
        (Op::Contains | Op::BContains, Operand::Const(k)) => {
            let needle: &[u8] = match k {
                Const::Str(s) => s.as_bytes(),
                Const::Bytes(b) => b,
                _ => return false,
            };
            text.is_some_and(|t| memfind(&t, needle))
        }
        (Op::IContains, Operand::Const(Const::Str(n))) => text.is_some_and(|t| ifind(&t, n)),
        (Op::StartsWith | Op::BStartsWith, Operand::Const(k)) => {
            let needle: &[u8] = match k {
                Const::Str(s) => s.as_bytes(),
                Const::Bytes(b) => b,
                _ => return false,
            };
            text.is_some_and(|t| t.starts_with(needle))
        }
        (Op::EndsWith, Operand::Const(Const::Str(n))) => {
            text.is_some_and(|t| t.ends_with(n.as_bytes()))
        }
        (Op::Glob | Op::IGlob, Operand::Glob(g)) => text.is_some_and(|t| g.matches(&t)),
        (Op::Regex, Operand::Regex(r)) => {
            text.is_some_and(|t| r.is_match(&String::from_utf8_lossy(&t)))
        }
        (Op::PMatch, Operand::Prefixes(ps)) => text.is_some_and(|t| {
            ps.iter().any(|p| {
                let p = p.trim_end_matches('/').as_bytes();
                t.starts_with(p) && (t.len() == p.len() || t[p.len()] == b'/' || p.is_empty())
            })
        }),
        _ => false,
    }
}

fn memfind(h: &[u8], n: &[u8]) -> bool {
    memchr::memmem::find(h, n).is_some()
}

/// `icontains`: the needle was lowercased when compiled. An ASCII needle
/// is searched case-insensitively in place (no lowercased copy of the
/// text); a non-ASCII one against the text's Unicode lowercase, as before.
fn ifind(h: &[u8], n: &str) -> bool {
    let n = n.as_bytes();
    if n.is_empty() {
        return true;
    }
    if n.is_ascii() {
        let first = n[0];
        let upper = first.to_ascii_uppercase();
        let mut at = 0;
        while let Some(i) = memchr::memchr2(first, upper, &h[at..]) {
            let start = at + i;
            if h.len() - start < n.len() {
                return false;
            }
            if h[start..start + n.len()].eq_ignore_ascii_case(n) {
                return true;
            }
            at = start + 1;
        }
        return false;
    }
    memfind(String::from_utf8_lossy(h).to_lowercase().as_bytes(), n)
}

fn is_ancestor_any(r: &FieldRef) -> bool {
    matches!(
        r.kind,
        F::ProcAname | F::ProcApid | F::ProcAexe | F::ProcAexepath | F::ProcAcmdline
    ) && r.arg == FieldArg::None
}

/// Evaluates a node; a node with several parents (a shared macro) is
/// evaluated once per event and remembered in `memo` (0 unknown, 1 false,
/// 2 true), so a condition costs at most its number of nodes.
fn eval_node(prog: &Program, id: NodeId, cx: &EvCtx<'_>, memo: &mut [u8]) -> bool {
    let slot = prog.slots.get(id as usize).copied().unwrap_or(NO_SLOT);
    if slot != NO_SLOT {
        match memo.get(slot as usize) {
            Some(1) => return false,
            Some(2) => return true,
            _ => {}
        }
    }
    let r = eval_node_once(prog, id, cx, memo);
    if let Some(m) = memo.get_mut(slot as usize) {
        *m = 1 + u8::from(r);
    }
    r
}

fn eval_node_once(prog: &Program, id: NodeId, cx: &EvCtx<'_>, memo: &mut [u8]) -> bool {
    match &prog.nodes[id as usize] {
        Node::And(xs) => xs.iter().all(|x| eval_node(prog, *x, cx, memo)),
        Node::Or(xs) => xs.iter().any(|x| eval_node(prog, *x, cx, memo)),
        Node::Not(x) => !eval_node(prog, *x, cx, memo),
        Node::Check(c) => check(c, cx),
    }
}

/// Evaluates one check on an event.
pub fn check(c: &CheckNode, cx: &EvCtx<'_>) -> bool {
    if let Some(ks) = &c.kinds {
        let hit = ks.contains(cx.e.kind);
        return if c.op == Op::Ne { !hit } else { hit };
    }
    if is_ancestor_any(&c.field) {
        // proc.aname without an index: any ancestor (parent and up).
        let mut n = 1;
        while let Some(a) = cx.ancestor(n) {
            let v = transform(proc_field(c.field.kind, a, cx), &c.field.transformers);
            if c.op == Op::Exists || cmp_val(&v, c.op, &c.operand) {
                return true;
            }
            n += 1;
            if n > 64 {
                break;
            }
        }
        return false;
    }
    let v = transform(extract(&c.field, cx), &c.field.transformers);
    match (&c.op, &c.operand) {
        (Op::Exists, _) => !matches!(v, Val::NA),
        (_, Operand::Field(other)) => {
            let w = transform(extract(other, cx), &other.transformers);
            if matches!(v, Val::NA) || matches!(w, Val::NA) {
                return false;
            }
            let k = match w {
                Val::Str(s) => Const::Str(s.as_ref().into()),
                Val::Int(i) => Const::Int(i),
                Val::Bool(b) => Const::Bool(b),
                Val::Ip(ip) => Const::Ip(ip),
                Val::Bytes(b) => Const::Bytes(b.as_ref().into()),
                Val::NA => return false,
            };
            let op = match c.op {
                Op::Lt
                | Op::Le
                | Op::Gt
                | Op::Ge
                | Op::Eq
                | Op::Ne
                | Op::Contains
                | Op::StartsWith
                | Op::EndsWith => c.op,
                _ => Op::Eq,
            };
            cmp_val(&v, op, &Operand::Const(k))
        }
        (op, operand) => cmp_val(&v, *op, operand),
    }
}

/// Evaluates a program with an event context shared across rules.
pub fn matches_in(prog: &Program, cx: &EvCtx<'_>) -> bool {
    match prog.nslots {
        0 => eval_node(prog, prog.root, cx, &mut []),
        n if n <= 64 => eval_node(prog, prog.root, cx, &mut [0u8; 64]),
        n => eval_node(prog, prog.root, cx, &mut vec![0u8; n as usize]),
    }
}

/// Formats an output with the event's context, and collects the fields it
/// names with their values (for JSON alerts).
pub fn format_output_in(
    parts: &[OutputPart],
    cx: &EvCtx<'_>,
) -> (String, Vec<(String, Val<'static>)>) {
    let mut text = String::new();
    let mut fields = Vec::new();
    for p in parts {
        match p {
            OutputPart::Text(t) => text.push_str(t),
            OutputPart::Field(f) => {
                let v = transform(extract(f, cx), &f.transformers);
                text.push_str(&v.render());
                let owned = match v {
                    Val::NA => Val::NA,
                    Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
                    Val::Bytes(b) => Val::Bytes(Cow::Owned(b.into_owned())),
                    Val::Int(i) => Val::Int(i),
                    Val::Bool(b) => Val::Bool(b),
                    Val::Ip(ip) => Val::Ip(ip),
                };
                fields.push((f.to_string(), owned));
            }
        }
    }
    (text, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_modes_render_like_falco() {
        assert_eq!(
            render_flags(FlagSet::Open, 0o1101),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(render_flags(FlagSet::Open, 0), "O_RDONLY");
        assert_eq!(render_flags(FlagSet::Ptrace, 16), "PTRACE_ATTACH");
        assert_eq!(
            render_mode(0o4755),
            "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"
        );
        assert_eq!(errno_name(-2), "ENOENT");
    }

    #[test]
    fn networks_contain_addresses() {
        let n: IpAddr = "10.0.0.0".parse().expect("ip");
        assert!(net_contains(n, 8, "10.1.2.3".parse().expect("ip")));
        assert!(!net_contains(n, 8, "11.0.0.1".parse().expect("ip")));
        assert_eq!(b64(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64(b"_-8").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(b64(b"not base64!"), None);
    }
}

#[cfg(test)]
mod fillable_tests {
    use ruleset::fields::{fillable, lookup};

    #[test]
    fn container_and_pod_fields_are_filled_and_api_server_fields_are_not() {
        let filled = |n: &str| fillable(lookup(n).expect(n).0);
        for f in [
            "container.id",
            "container.image.repository",
            "container.mount.dest",
            "container.label",
            "container.info",
            "k8s.pod.name",
            "k8s.ns.name",
            "k8s.pod.labels",
        ] {
            assert!(filled(f), "{f}");
        }
        for f in ["k8s.deployment.name", "k8s.svc.name", "fd.sip.name"] {
            assert!(!filled(f), "{f}");
        }
    }
}
