//! Process and file-descriptor state, in the spirit of libsinsp's thread
//! table: processes (from the start snapshot, then fork, exec, exit), their
//! parents, identities, working directories and fd tables (files, sockets with
//! tuples and roles, pipes, memfds), kept current event by event. Fields that
//! the capture never told are `None`, printed as Falco's `<NA>`.
//!
//! Strings are `Arc<str>` so that cloning the whole state (where a run of
//! chunks starts in a parallel replay, a checkpoint per chunk of a feed)
//! copies pointers, not text.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use capture::args::{ArgValue, SockAddr};
use capture::kind::{id, task_flags};
use capture::schema::{FdTarget, Snapshot};
use capture::EventRef;

/// Hash-map builder for pid, fd and string keys that come from one capture:
/// rustc's Fx hash (`rustc-hash`). DoS resistance buys nothing here and
/// SipHash was a measurable share of evaluation time.
pub type FxBuild = rustc_hash::FxBuildHasher;

/// What an fd refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum FdKind {
    /// A regular file (or unknown file-system object).
    File,
    /// A directory.
    Dir,
    /// An IPv4 socket.
    Ipv4,
    /// An IPv6 socket.
    Ipv6,
    /// A unix socket.
    Unix,
    /// A pipe.
    Pipe,
    /// A memfd.
    Memfd,
    /// An eventfd.
    Event,
    /// A signalfd.
    Signalfd,
    /// An epoll instance.
    Eventpoll,
    /// An inotify instance.
    Inotify,
    /// A timerfd.
    Timerfd,
    /// A BPF map, program or link.
    Bpf,
    /// A userfaultfd.
    Userfaultfd,
    /// An io_uring instance.
    IoUring,
    /// A pidfd.
    Pidfd,
    /// Something else.
    Other,
}

impl FdKind {
    /// Falco's `fd.typechar`.
    pub fn typechar(&self) -> &'static str {
        match self {
            FdKind::File => "f",
            FdKind::Dir => "d",
            FdKind::Ipv4 => "4",
            FdKind::Ipv6 => "6",
            FdKind::Unix => "u",
            FdKind::Pipe => "p",
            FdKind::Memfd => "m",
            FdKind::Event => "e",
            FdKind::Signalfd => "s",
            FdKind::Eventpoll => "l",
            FdKind::Inotify => "i",
            FdKind::Timerfd => "t",
            FdKind::Bpf => "b",
            FdKind::Userfaultfd => "u",
            FdKind::IoUring => "r",
            FdKind::Pidfd => "P",
            FdKind::Other => "o",
        }
    }

    /// Falco's `fd.type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Dir => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Memfd => "memfd",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Pidfd => "pidfd",
            FdKind::Other => "other",
        }
    }

    /// The kind of an anonymous-inode fd from its `/proc/PID/fd` link text
    /// (`anon_inode:[eventfd]`), `None` for anything else.
    pub fn of_anon_inode(desc: &str) -> Option<FdKind> {
        let what = desc.strip_prefix("anon_inode:")?;
        let what = what.trim_start_matches('[').trim_end_matches(']');
        Some(match what {
            "eventfd" => FdKind::Event,
            "signalfd" => FdKind::Signalfd,
            "eventpoll" => FdKind::Eventpoll,
            "inotify" => FdKind::Inotify,
            "timerfd" => FdKind::Timerfd,
            "userfaultfd" => FdKind::Userfaultfd,
            "io_uring" => FdKind::IoUring,
            "pidfd" => FdKind::Pidfd,
            w if w.starts_with("bpf") => FdKind::Bpf,
            _ => return None,
        })
    }
}

/// A socket's endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tuple {
    /// Local address and port.
    pub local: Option<(IpAddr, u16)>,
    /// Remote address and port.
    pub remote: Option<(IpAddr, u16)>,
    /// Protocol: 6 tcp, 17 udp, 0 unknown.
    pub proto: u8,
    /// Whether this side is the server (accepted or listening).
    pub server: bool,
    /// Whether it is connected.
    pub connected: bool,
}

/// One open file descriptor.
#[derive(Clone, Debug, PartialEq)]
pub struct Fd {
    /// Its kind.
    pub kind: FdKind,
    /// Its name: path, tuple text (`1.2.3.4:5->6.7.8.9:10`), unix path, ...
    pub name: Arc<str>,
    /// Socket endpoints, for sockets.
    pub tuple: Option<Tuple>,
}

/// A process (thread group).
#[derive(Clone, Debug, Default)]
pub struct Process {
    /// Thread group id.
    pub pid: u32,
    /// Parent's pid, when known.
    pub ppid: Option<u32>,
    /// Command name.
    pub comm: Option<Arc<str>>,
    /// Executable path.
    pub exepath: Option<Arc<str>>,
    /// argv (`argv[0]` first).
    pub args: Option<Arc<[Arc<str>]>>,
    /// Environment.
    pub env: Option<Arc<[Arc<str>]>>,
    /// Current directory.
    pub cwd: Option<Arc<str>>,
    /// Real uid.
    pub uid: Option<u32>,
    /// Real gid.
    pub gid: Option<u32>,
    /// Effective uid.
    pub euid: Option<u32>,
    /// Audit login uid.
    pub loginuid: Option<u32>,
    /// Controlling tty.
    pub tty: Option<u32>,
    /// cgroup path.
    pub cgroup: Option<Arc<str>>,
    /// Container id ("" on the host).
    pub container_id: Option<Arc<str>>,
    /// Start time (event clock).
    pub start_ts: Option<u64>,
    /// Effective capabilities.
    pub cap_effective: Option<u64>,
    /// Permitted capabilities.
    pub cap_permitted: Option<u64>,
    /// Inheritable capabilities.
    pub cap_inheritable: Option<u64>,
    /// Whether the image was executed from a memfd.
    pub exe_from_memfd: bool,
    /// Effective gid.
    pub egid: Option<u32>,
    /// Session id (in its pid namespace).
    pub sid: Option<u32>,
    /// Process group id (in its pid namespace).
    pub vpgid: Option<u32>,
    /// Process id in its pid namespace.
    pub vpid: Option<u32>,
    /// Kernel facts of the executable (`capture::kind::task_flags`).
    pub task_flags: Option<u64>,
    /// The pid namespace's init (host pid): where orphans go.
    pub reaper: Option<u32>,
    /// The last exec came with the kernel's facts (a `procexec` of a live
    /// recording), so the execve return that follows is not re-applied.
    pub exec_from_kernel: bool,
    /// A child subreaper (PR_SET_CHILD_SUBREAPER): orphans below it go to it.
    pub subreaper: bool,
    /// Live child processes recorded with their parent, for reparenting.
    pub children: u32,
    /// Thread ids in the pid namespace, by host tid (threads only).
    pub vtids: Option<Arc<HashMap<u32, u32, FxBuild>>>,
    /// Open fds.
    pub fds: HashMap<i32, Fd, FxBuild>,
}

/// A user: name, home directory, shell.
pub type UserEntry = (Arc<str>, Arc<str>, Arc<str>);

/// Host users and groups, from the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    /// uid to (name, home, shell).
    pub users: HashMap<u32, UserEntry>,
    /// gid to name.
    pub groups: HashMap<u32, Arc<str>>,
}

/// One mount of a container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mount {
    /// Host path.
    pub source: Arc<str>,
    /// Path in the container.
    pub dest: Arc<str>,
    /// Mount mode ("ro", "z", ...).
    pub mode: Arc<str>,
    /// Read-write.
    pub rdwr: bool,
    /// Propagation ("rprivate", ...).
    pub propagation: Arc<str>,
}

/// What a `container` record says of a container (sysdig's container JSON,
/// with Ferret's additions under `ferret`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Container {
    /// Full id.
    pub full_id: Arc<str>,
    /// Name.
    pub name: Option<Arc<str>>,
    /// Image as started (`nginx:latest`).
    pub image: Option<Arc<str>>,
    /// Image id.
    pub image_id: Option<Arc<str>>,
    /// Image repository (`nginx`).
    pub image_repository: Option<Arc<str>>,
    /// Image tag (`latest`).
    pub image_tag: Option<Arc<str>>,
    /// Image digest.
    pub image_digest: Option<Arc<str>>,
    /// Runtime (docker, cri, containerd, ...).
    pub runtime: Option<Arc<str>>,
    /// Privileged.
    pub privileged: Option<bool>,
    /// Address.
    pub ip: Option<IpAddr>,
    /// Mounts (absent when the record lists none).
    pub mounts: Option<Arc<[Mount]>>,
    /// Labels, sorted by key.
    pub labels: Arc<[(Arc<str>, Arc<str>)]>,
    /// Start (creation) time, ns since the epoch.
    pub start_ts: Option<u64>,
    /// Shares the host's pid, network, IPC namespace.
    pub host_pid: Option<bool>,
    /// Shares the host's network namespace.
    pub host_network: Option<bool>,
    /// Shares the host's IPC namespace.
    pub host_ipc: Option<bool>,
    /// Health check, liveness and readiness probe commands.
    pub probes: [Option<Arc<str>>; 3],
    /// CNI result.
    pub cni_json: Option<Arc<str>>,
    /// Kubernetes pod, when the container is a pod's.
    pub pod: Option<Arc<PodInfo>>,
    /// Fields the recorder could not fill, with why.
    pub missing: Arc<[(Arc<str>, Arc<str>)]>,
}

/// The Kubernetes pod of a container, from the kubelet's labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodInfo {
    /// Pod name.
    pub name: Option<Arc<str>>,
    /// Namespace.
    pub namespace: Option<Arc<str>>,
    /// Pod uid.
    pub uid: Option<Arc<str>>,
    /// Full id of the pod's sandbox container.
    pub sandbox_id: Option<Arc<str>>,
    /// The pod's labels, sorted by key.
    pub labels: Arc<[(Arc<str>, Arc<str>)]>,
}

/// sysdig's container types (`CT_*`), by number.
const RUNTIMES: &[&str] = &[
    "docker",
    "lxc",
    "libvirt-lxc",
    "mesos",
    "rkt",
    "custom",
    "cri",
    "containerd",
    "cri-o",
    "bpm",
    "static",
    "podman",
];

fn str_pairs(v: Option<&serde_json::Value>) -> Arc<[(Arc<str>, Arc<str>)]> {
    let mut out: Vec<(Arc<str>, Arc<str>)> = v
        .and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((s(k), s(v.as_str()?))))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.into()
}

/// Pod name, namespace and uid from a dockershim container name
/// (`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`), for traces whose
/// container records carry no labels.
fn dockershim_pod(name: &str) -> Option<PodInfo> {
    let parts: Vec<&str> = name.split('_').collect();
    if parts.len() != 6 || parts[0] != "k8s" {
        return None;
    }
    Some(PodInfo {
        name: Some(s(parts[2])),
        namespace: Some(s(parts[3])),
        uid: Some(s(parts[4])),
        ..PodInfo::default()
    })
}

impl Container {
    /// Reads a `container` record: its id, name, image and privileged
    /// arguments, completed from the JSON document when there is one.
    pub fn from_event(e: &EventRef<'_>) -> Option<(Arc<str>, Container)> {
        let text = |n: &str| match e.arg(n) {
            Some(ArgValue::Str(b)) if !b.is_empty() => Some(lossy(b)),
            _ => None,
        };
        let id = text("id")?;
        let mut c = Container {
            full_id: id.clone(),
            name: text("name"),
            image: text("image"),
            privileged: e.arg("privileged").and_then(|v| v.as_u64()).map(|v| v != 0),
            ..Container::default()
        };
        let json: Option<serde_json::Value> =
            text("json").and_then(|j| serde_json::from_str(&j).ok());
        if let Some(j) = json.as_ref().map(|j| j.get("container").unwrap_or(j)) {
            let st = |k: &str| {
                j.get(k)
                    .and_then(|v| v.as_str())
                    .filter(|v| !v.is_empty())
                    .map(s)
            };
            let flag = |k: &str| j.get(k).and_then(|v| v.as_bool());
            if let Some(f) = st("full_id").or_else(|| st("id")) {
                if f.len() > c.full_id.len() {
                    c.full_id = f;
                }
            }
            c.name = c.name.or_else(|| st("name"));
            c.image = c.image.or_else(|| st("image"));
            c.image_id = st("imageid");
            c.image_repository = st("imagerepo");
            c.image_tag = st("imagetag");
            c.image_digest = st("imagedigest");
            c.runtime = j
                .get("type")
                .and_then(|t| t.as_u64())
                .and_then(|t| RUNTIMES.get(t as usize))
                .map(|t| s(t));
            // sysdig's defaults when a record leaves a key out: not
            // privileged, no mounts (a null, as Ferret writes for what it
            // could not learn, stays unknown).
            if c.privileged.is_none() {
                c.privileged = match j.get("privileged") {
                    None => Some(false),
                    Some(v) => v.as_bool(),
                };
            }
            c.ip = st("ip")
                .and_then(|ip| ip.parse().ok())
                .filter(|ip: &IpAddr| !ip.is_unspecified());
            if j.get("Mounts").is_none() {
                c.mounts = Some(Arc::from(Vec::new()));
            }
            if let Some(ms) = j.get("Mounts").and_then(|m| m.as_array()) {
                let m = |x: &serde_json::Value, k: &str| {
                    s(x.get(k).and_then(|v| v.as_str()).unwrap_or(""))
                };
                c.mounts = Some(
                    ms.iter()
                        .map(|x| Mount {
                            source: m(x, "Source"),
                            dest: m(x, "Destination"),
                            mode: m(x, "Mode"),
                            rdwr: x.get("RW").and_then(|v| v.as_bool()).unwrap_or(false),
                            propagation: m(x, "Propagation"),
                        })
                        .collect(),
                );
            }
            c.labels = str_pairs(j.get("labels"));
            c.start_ts = j
                .pointer("/ferret/created_ns")
                .and_then(|v| v.as_u64())
                .or_else(|| {
                    j.get("created_time")
                        .and_then(|v| v.as_u64())
                        .filter(|&t| t > 0)
                        .map(|t| t * 1_000_000_000)
                });
            c.host_pid = flag("host_pid");
            c.host_network = flag("host_network");
            c.host_ipc = flag("host_ipc");
            for (i, k) in ["Healthcheck", "Liveness-Probe", "Readiness-Probe"]
                .into_iter()
                .enumerate()
            {
                c.probes[i] = j.pointer(&format!("/health_probes/{k}")).map(|p| {
                    let mut cmd = p
                        .get("exe")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string();
                    for a in p
                        .get("args")
                        .and_then(|a| a.as_array())
                        .into_iter()
                        .flatten()
                    {
                        cmd.push(' ');
                        cmd.push_str(a.as_str().unwrap_or(""));
                    }
                    s(&cmd)
                });
            }
            c.cni_json = st("cni_json");
            c.missing = str_pairs(j.pointer("/ferret/missing"));
            let label = |k: &str| {
                c.labels
                    .iter()
                    .find(|(l, _)| &**l == k)
                    .map(|(_, v)| v.clone())
            };
            let pod = PodInfo {
                name: label("io.kubernetes.pod.name"),
                namespace: label("io.kubernetes.pod.namespace"),
                uid: label("io.kubernetes.pod.uid"),
                sandbox_id: st("pod_sandbox_id"),
                labels: str_pairs(j.get("pod_sandbox_labels")),
            };
            let k8s = j.pointer("/ferret/k8s");
            let kt = |k: &str| {
                k8s.and_then(|x| x.get(k))
                    .and_then(|v| v.as_str())
                    .filter(|v| !v.is_empty())
                    .map(s)
            };
            let pod = PodInfo {
                name: pod.name.or_else(|| kt("pod_name")),
                namespace: pod.namespace.or_else(|| kt("namespace")),
                uid: pod.uid.or_else(|| kt("pod_uid")),
                ..pod
            };
            c.pod = if pod.name.is_some() || pod.namespace.is_some() || pod.uid.is_some() {
                Some(Arc::new(pod))
            } else {
                c.name.as_deref().and_then(dockershim_pod).map(Arc::new)
            };
        }
        // A repository and tag from the image name when the record has
        // none (`registry:5000/team/app:1.2@sha256:...`).
        if let (None, Some(img)) = (&c.image_repository, &c.image) {
            let (repo, tag, _) = container_meta::split_image(img);
            c.image_repository = Some(s(&repo));
            if c.image_tag.is_none() {
                c.image_tag = tag.map(|t| s(&t));
            }
        }
        let short: Arc<str> = s(&id.chars().take(12).collect::<String>());
        Some((short, c))
    }

    /// A label's value.
    pub fn label(&self, key: &str) -> Option<&Arc<str>> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v)
    }
}

/// The state of the recorded host at one point of the capture.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Processes by pid.
    pub procs: HashMap<u32, Process, FxBuild>,
    /// Users and groups (shared, never changes).
    pub accounts: Arc<Accounts>,
    /// Containers by (12-character) id, from `container` records.
    pub containers: HashMap<Arc<str>, Arc<Container>, FxBuild>,
}

fn s(x: &str) -> Arc<str> {
    Arc::from(x)
}

fn lossy(b: &[u8]) -> Arc<str> {
    // Valid UTF-8 (nearly every path) skips the lossy conversion's chunking.
    match std::str::from_utf8(b) {
        Ok(s) => Arc::from(s),
        Err(_) => Arc::from(String::from_utf8_lossy(b).as_ref()),
    }
}

fn ip_of(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from([b[0], b[1], b[2], b[3]])),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::from(a))
        }
        _ => None,
    }
}

/// Falco's tuple text: `local->remote` (client side first for servers too is
/// Falco's convention of `cip:cport->sip:sport`).
pub fn tuple_name(t: &Tuple) -> String {
    let ep = |e: Option<(IpAddr, u16)>| match e {
        Some((ip, p)) => format!("{ip}:{p}"),
        None => "0.0.0.0:0".into(),
    };
    if t.local.is_none() && t.remote.is_none() {
        // A socket not yet bound or connected has no name, as in libsinsp.
        return String::new();
    }
    if t.server && t.remote.is_none() {
        // A bound or listening socket is named by its own address.
        return ep(t.local);
    }
    if t.server {
        format!("{}->{}", ep(t.remote), ep(t.local))
    } else {
        format!("{}->{}", ep(t.local), ep(t.remote))
    }
}

/// Joins a path onto a directory, resolving `.` and `..` lexically.
pub fn resolve(dir: Option<&str>, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        match dir {
            Some(d) => format!("{}/{path}", d.trim_end_matches('/')),
            None => return path.to_string(),
        }
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The event kinds [`State::apply`] and [`State::retire`] act on, beside
/// their `match`es: events of other kinds leave the state as it is, so the
/// parallel run's state pass skips them. A kind missing here would make the
/// engine disagree with `engine/tests/oracle.rs`, which applies every event.
pub const STATE_KINDS: &[u16] = &[
    id::PROC_FORK,
    id::PROC_EXEC,
    id::PROC_EXIT,
    id::PRCTL,
    id::CLONE,
    id::CLONE3,
    id::FORK,
    id::VFORK,
    id::EXECVE,
    id::EXECVEAT,
    id::OPEN,
    id::OPENAT,
    id::OPENAT2,
    id::CREAT,
    id::CLOSE,
    id::DUP,
    id::DUP2,
    id::DUP3,
    id::FCNTL,
    id::SOCKET,
    id::SOCKETPAIR,
    id::CONNECT,
    id::ACCEPT,
    id::ACCEPT4,
    id::SENDTO,
    id::RECVFROM,
    id::SENDMSG,
    id::RECVMSG,
    id::BIND,
    id::LISTEN,
    id::PIPE,
    id::PIPE2,
    id::MEMFD_CREATE,
    id::CHDIR,
    id::FCHDIR,
    id::SETUID,
    id::SETREUID,
    id::SETRESUID,
    id::SETGID,
    id::SETREGID,
    id::SETRESGID,
    id::SIGNALFD,
    id::CONTAINER,
];

impl State {
    /// The state at the end of one file of a rotated recording carried into
    /// the next, whose start snapshot (read from /proc when it was opened)
    /// says which processes are alive: a process the state knows keeps what
    /// the events taught (environment, session, credentials, lineage, fds),
    /// which a snapshot cannot say; a process only the snapshot has joins
    /// from it; a process the snapshot lacks ended unseen and leaves, and
    /// so does one whose pid the snapshot shows started at another time
    /// (it ended unseen and the pid was reused). The host's accounts are
    /// the snapshot's.
    pub fn continue_with(mut self, snap: &Snapshot) -> State {
        // /proc gives start times in clock ticks (10 ms).
        const SAME_START_NS: u64 = 50_000_000;
        let fresh = State::from_snapshot(snap);
        self.procs
            .retain(|pid, p| match (fresh.procs.get(pid), p.start_ts) {
                (None, _) => false,
                (Some(f), Some(t)) => f.start_ts.is_none_or(|ft| ft.abs_diff(t) <= SAME_START_NS),
                (Some(_), None) => true,
            });
        for (pid, p) in fresh.procs {
            self.procs.entry(pid).or_insert(p);
        }
        self.accounts = fresh.accounts;
        for (id, c) in fresh.containers {
            self.containers.entry(id).or_insert(c);
        }
        self
    }

    /// The state described by a capture's start snapshot.
    pub fn from_snapshot(snap: &Snapshot) -> State {
        let mut acc = Accounts::default();
        for u in &snap.users {
            acc.users
                .insert(u.uid, (s(&u.name), s(&u.home), s(&u.shell)));
        }
        for g in &snap.groups {
            acc.groups.insert(g.gid, s(&g.name));
        }
        let mut procs = HashMap::default();
        for p in &snap.processes {
            let mut fds: HashMap<i32, Fd, FxBuild> = HashMap::default();
            for f in &p.fds {
                let fd = match &f.target {
                    FdTarget::File { path } => Fd {
                        kind: FdKind::File,
                        name: s(path),
                        tuple: None,
                    },
                    FdTarget::Inet {
                        proto,
                        local,
                        local_port,
                        remote,
                        remote_port,
                        listening,
                    } => {
                        let l = ip_of(local).map(|ip| (ip, *local_port));
                        let r = ip_of(remote)
                            .filter(|ip| !ip.is_unspecified())
                            .map(|ip| (ip, *remote_port));
                        let t = Tuple {
                            local: l,
                            remote: r,
                            proto: *proto,
                            server: *listening,
                            connected: r.is_some(),
                        };
                        let kind = if local.len() == 16 {
                            FdKind::Ipv6
                        } else {
                            FdKind::Ipv4
                        };
                        Fd {
                            kind,
                            name: tuple_name(&t).into(),
                            tuple: Some(t),
                        }
                    }
                    FdTarget::Unix { path } => Fd {
                        kind: FdKind::Unix,
                        name: s(path),
                        tuple: None,
                    },
                    FdTarget::Pipe { ino } => Fd {
                        kind: FdKind::Pipe,
                        name: format!("pipe:[{ino}]").into(),
                        tuple: None,
                    },
                    FdTarget::Memfd { name } => Fd {
                        kind: FdKind::Memfd,
                        name: format!("memfd:{name}").into(),
                        tuple: None,
                    },
                    // Anonymous inodes have no name in Falco (fd.name "").
                    FdTarget::Other { desc } => match FdKind::of_anon_inode(desc) {
                        Some(kind) => Fd {
                            kind,
                            name: s(""),
                            tuple: None,
                        },
                        None => Fd {
                            kind: FdKind::Other,
                            name: s(desc),
                            tuple: None,
                        },
                    },
                };
                fds.insert(f.fd, fd);
            }
            let args: Arc<[Arc<str>]> = p.args.iter().map(|a| s(a)).collect();
            procs.insert(
                p.pid,
                Process {
                    pid: p.pid,
                    ppid: Some(p.ppid),
                    comm: Some(s(&p.comm)),
                    exepath: (!p.exe.is_empty()).then(|| s(p.exe.trim_end_matches(" (deleted)"))),
                    args: Some(args),
                    env: None,
                    cwd: (!p.cwd.is_empty()).then(|| s(&p.cwd)),
                    uid: Some(p.uid),
                    gid: Some(p.gid),
                    euid: Some(p.euid),
                    loginuid: Some(p.loginuid),
                    tty: Some(p.tty),
                    cgroup: Some(s(&p.cgroup)),
                    container_id: Some(s(&p.container_id)),
                    start_ts: Some(p.start_ts),
                    cap_effective: Some(p.cap_effective),
                    exe_from_memfd: p.exe.starts_with("/memfd:"),
                    egid: Some(p.egid),
                    fds,
                    ..Process::default()
                },
            );
        }
        let parents: Vec<u32> = procs.values().filter_map(|p| p.ppid).collect();
        for pp in parents {
            if let Some(p) = procs.get_mut(&pp) {
                p.children += 1;
            }
        }
        State {
            procs,
            accounts: Arc::new(acc),
            containers: HashMap::default(),
        }
    }

    /// The process of `pid`, created empty (all `<NA>`) when unknown.
    fn proc_mut(&mut self, pid: u32) -> &mut Process {
        self.procs.entry(pid).or_insert_with(|| Process {
            pid,
            ..Process::default()
        })
    }

    /// Applies what an event changes, except removals (see [`State::retire`]),
    /// so that rules see the event's own effect (the new fd, the new image).
    pub fn apply(&mut self, e: &EventRef<'_>) {
        self.apply_with(e, &Args::new(e));
    }

    /// [`State::apply`] with the event's arguments already decoded (the
    /// replay loop decodes them once for state and evaluation).
    pub fn apply_with(&mut self, e: &EventRef<'_>, decoded: &Args<'_>) {
        let arg = |n: &str| decoded.get(n);
        let int = |n: &str| arg(n).and_then(|v| v.as_i64());
        match e.kind {
            id::PROC_FORK => {
                let Some(child) = int("child_pid").map(|c| c as u32) else {
                    return;
                };
                let facts = KernelFacts::of(decoded);
                if let Some(k) = &facts {
                    // Kernel facts (live recordings): the task is known
                    // exactly, whatever order its parent's events come in.
                    if k.flags & task_flags::THREAD != 0 {
                        let tid = int("child_tid").map(|c| c as u32).unwrap_or(child);
                        if let (Some(vtid), Some(p)) = (k.vtid, self.procs.get_mut(&child)) {
                            let mut m = p.vtids.as_deref().cloned().unwrap_or_default();
                            m.insert(tid, vtid);
                            p.vtids = Some(Arc::new(m));
                        }
                        return;
                    }
                    if child == e.pid {
                        return;
                    }
                    // A process of this pid already in the state is an earlier
                    // one whose exit was not seen: the pid was reused.
                    if let Some(old) = self.procs.remove(&child) {
                        self.forget_child(&old);
                    }
                    let mut p = self.child_of(e.pid, child, e.ts);
                    k.apply(&mut p);
                    self.insert_child(p);
                    return;
                }
                if child == e.pid || self.procs.contains_key(&child) {
                    return;
                }
                let p = self.child_of(e.pid, child, e.ts);
                self.insert_child(p);
            }
            // PR_SET_NAME by the main thread renames the process (the kernel
            // keeps 15 bytes): busybox applets and runc's init do it at once.
            id::PRCTL
                if e.ret == 0
                    && e.tid == e.pid
                    && arg("option").and_then(|v| v.as_u64()) == Some(15) =>
            {
                if let Some(ArgValue::Str(name)) = arg("arg2_str") {
                    let name = &name[..name.len().min(15)];
                    if let Some(p) = self.procs.get_mut(&e.pid) {
                        p.comm = Some(lossy(name));
                    }
                }
            }
            // PR_SET_CHILD_SUBREAPER: orphans below now go here.
            id::PRCTL if e.ret == 0 && arg("option").and_then(|v| v.as_u64()) == Some(36) => {
                let on = arg("arg2").and_then(|v| v.as_u64()).unwrap_or(0) != 0;
                if let Some(p) = self.procs.get_mut(&e.pid) {
                    p.subreaper = on;
                }
            }
            id::CLONE | id::CLONE3 | id::FORK | id::VFORK => {
                // Imports and captures without scheduler records: the return
                // value names the child.
                let flags = arg("flags").and_then(|v| v.as_u64()).unwrap_or(0);
                if e.ret > 0 && flags & 0x10000 == 0 && !self.procs.contains_key(&(e.ret as u32)) {
                    let p = self.child_of(e.pid, e.ret as u32, e.ts);
                    self.insert_child(p);
                }
            }
            id::PROC_EXEC | id::EXECVE | id::EXECVEAT => {
                if e.kind != id::PROC_EXEC && e.ret != 0 {
                    return;
                }
                // The execve return that follows a procexec with the kernel's
                // facts adds nothing: its filename is what the caller passed
                // (`/proc/self/exe`, a relative path), not the image. Checked
                // before anything is decoded (argv and env are the costly part).
                if e.kind != id::PROC_EXEC {
                    if let Some(p) = self.procs.get_mut(&e.pid) {
                        if std::mem::take(&mut p.exec_from_kernel) {
                            return;
                        }
                    }
                }
                let filename = match arg("filename") {
                    Some(ArgValue::Str(f)) => Some(lossy(f)),
                    _ => None,
                };
                let list = |n: &str| match arg(n) {
                    Some(ArgValue::StrList(l)) => {
                        Some(l.iter().map(lossy).collect::<Arc<[Arc<str>]>>())
                    }
                    _ => None,
                };
                let (args, env) = (list("args"), list("env"));
                let comm = match arg("comm") {
                    Some(ArgValue::Str(c)) => Some(lossy(c)),
                    _ => None,
                };
                // An empty cwd (sysdig's execve exits often carry none) keeps
                // the one inherited at fork, as libsinsp does.
                let cwd = match arg("cwd") {
                    Some(ArgValue::Str(c)) if !c.is_empty() => Some(lossy(c)),
                    _ => None,
                };
                let cgroup = match arg("cgroup") {
                    Some(ArgValue::Str(c)) => Some(lossy(c)),
                    _ => None,
                };
                let uid = int("uid").map(|x| x as u32);
                let gid = int("gid").map(|x| x as u32);
                let euid = int("euid").map(|x| x as u32);
                let loginuid = int("loginuid").map(|x| x as u32);
                let tty = int("tty").map(|x| x as u32);
                let ppid = match e.kind {
                    id::PROC_EXEC => int("ppid").filter(|&x| x > 0).map(|x| x as u32),
                    _ => None,
                };
                let facts = match e.kind {
                    id::PROC_EXEC => KernelFacts::of(decoded),
                    _ => None,
                };
                let p = self.proc_mut(e.pid);
                if p.ppid.is_none() {
                    p.ppid = ppid;
                }
                if let Some(f) = filename {
                    let resolved = if f.starts_with('/') {
                        f.clone()
                    } else {
                        resolve(p.cwd.as_deref(), &f).into()
                    };
                    p.exe_from_memfd = f.starts_with("/proc/self/fd/")
                        || f.starts_with("/dev/fd/")
                        || f.contains("memfd:");
                    if p.exe_from_memfd {
                        if let Some(fdn) = f.rsplit('/').next().and_then(|n| n.parse::<i32>().ok())
                        {
                            if let Some(fd) = p.fds.get(&fdn) {
                                p.exepath = Some(fd.name.clone());
                            }
                        }
                    } else {
                        p.exepath = Some(resolved);
                    }
                    if comm.is_none() && e.kind != id::PROC_EXEC {
                        p.comm = Some(
                            f.rsplit('/')
                                .next()
                                .map(|b| b.chars().take(15).collect::<String>())
                                .unwrap_or_default()
                                .into(),
                        );
                    }
                }
                if let Some(a) = args {
                    p.args = Some(a);
                }
                if let Some(en) = env {
                    if !en.is_empty() || p.env.is_none() {
                        p.env = Some(en);
                    }
                }
                if let Some(c) = comm {
                    p.comm = Some(c);
                }
                if let Some(c) = cwd {
                    p.cwd = Some(c);
                }
                if let Some(c) = cgroup {
                    p.container_id = Some(container_meta::cgroup::short_id(&c).into());
                    p.cgroup = Some(c);
                }
                p.uid = uid.or(p.uid);
                p.gid = gid.or(p.gid);
                p.euid = euid.or(p.euid);
                p.loginuid = loginuid.or(p.loginuid);
                p.tty = tty.or(p.tty);
                if let Some(k) = &facts {
                    // The kernel's view at exec wins over what was inferred
                    // from the filename (interpreters, relative paths).
                    k.apply(p);
                    p.exec_from_kernel = true;
                }
                // Close-on-exec is not recorded; Falco keeps fds across exec too.
            }
            id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT if e.ret >= 0 => {
                let name = self.open_path_arc(e, decoded);
                let kind = if arg("flags")
                    .and_then(|v| v.as_u64())
                    .is_some_and(|f| f & 0o200000 != 0)
                {
                    FdKind::Dir
                } else {
                    FdKind::File
                };
                self.proc_mut(e.pid).fds.insert(
                    e.ret as i32,
                    Fd {
                        kind,
                        name,
                        tuple: None,
                    },
                );
            }
            id::DUP | id::DUP2 | id::DUP3 | id::FCNTL if e.ret >= 0 => {
                let old = int(if e.kind == id::DUP2 || e.kind == id::DUP3 {
                    "oldfd"
                } else {
                    "fd"
                })
                .unwrap_or(-1) as i32;
                let p = self.proc_mut(e.pid);
                if let Some(f) = p.fds.get(&old).cloned() {
                    p.fds.insert(e.ret as i32, f);
                }
            }
            id::SOCKET if e.ret >= 0 => {
                let domain = int("domain").unwrap_or(0);
                let ty = int("type").unwrap_or(0) & 0xf;
                let (kind, proto) = match domain {
                    2 => (
                        FdKind::Ipv4,
                        if ty == 2 {
                            17
                        } else if ty == 1 {
                            6
                        } else {
                            0
                        },
                    ),
                    10 => (
                        FdKind::Ipv6,
                        if ty == 2 {
                            17
                        } else if ty == 1 {
                            6
                        } else {
                            0
                        },
                    ),
                    1 => (FdKind::Unix, 0),
                    _ => (FdKind::Other, 0),
                };
                let tuple = matches!(kind, FdKind::Ipv4 | FdKind::Ipv6).then(|| Tuple {
                    proto,
                    ..Tuple::default()
                });
                let name: Arc<str> = s("");
                self.proc_mut(e.pid)
                    .fds
                    .insert(e.ret as i32, Fd { kind, name, tuple });
            }
            id::CONNECT if e.ret == 0 || e.ret == -115 => {
                let fd = int("fd").unwrap_or(-1) as i32;
                let remote = arg("addr");
                let local = arg("local");
                let p = self.proc_mut(e.pid);
                let entry = p.fds.entry(fd).or_insert_with(|| Fd {
                    kind: FdKind::Ipv4,
                    name: s(""),
                    tuple: Some(Tuple::default()),
                });
                set_endpoints(entry, local, remote, false);
            }
            // Both ends from the kernel (live recordings): unconnected UDP
            // sockets learn their local end and each datagram's peer.
            id::SENDTO | id::RECVFROM | id::SENDMSG | id::RECVMSG if e.ret >= 0 => {
                let local = arg("local");
                if local.is_none() {
                    return;
                }
                let fd = int("fd").unwrap_or(-1) as i32;
                let remote = arg("addr");
                if let Some(f) = self.procs.get_mut(&e.pid).and_then(|p| p.fds.get_mut(&fd)) {
                    if matches!(f.kind, FdKind::Ipv4 | FdKind::Ipv6) {
                        set_endpoints(f, local, remote, false);
                    }
                }
            }
            id::ACCEPT | id::ACCEPT4 if e.ret >= 0 => {
                let lfd = int("fd").unwrap_or(-1) as i32;
                let p = self.proc_mut(e.pid);
                let listener = p.fds.get(&lfd).cloned();
                let mut f = listener.unwrap_or(Fd {
                    kind: FdKind::Ipv4,
                    name: s(""),
                    tuple: Some(Tuple::default()),
                });
                let local = f.tuple.as_ref().and_then(|t| t.local);
                if let Some(t) = f.tuple.as_mut() {
                    t.local = local;
                }
                set_endpoints(&mut f, arg("local"), arg("addr"), true);
                p.fds.insert(e.ret as i32, f);
            }
            id::BIND if e.ret == 0 => {
                let fd = int("fd").unwrap_or(-1) as i32;
                let a = arg("addr");
                let p = self.proc_mut(e.pid);
                if let Some(f) = p.fds.get_mut(&fd) {
                    match a {
                        Some(ArgValue::SockAddr(SockAddr::Unix(path))) => f.name = lossy(path),
                        _ => set_endpoints(f, a, None, true),
                    }
                }
            }
            id::LISTEN if e.ret == 0 => {
                let fd = int("fd").unwrap_or(-1) as i32;
                if let Some(t) = self
                    .proc_mut(e.pid)
                    .fds
                    .get_mut(&fd)
                    .and_then(|f| f.tuple.as_mut())
                {
                    t.server = true;
                }
            }
            id::PIPE | id::PIPE2 | id::SOCKETPAIR if e.ret == 0 => {
                let kind = if e.kind == id::SOCKETPAIR {
                    FdKind::Unix
                } else {
                    FdKind::Pipe
                };
                let (a, b) = (int("fd1"), int("fd2"));
                let p = self.proc_mut(e.pid);
                for fd in [a, b].into_iter().flatten() {
                    p.fds.insert(
                        fd as i32,
                        Fd {
                            kind: kind.clone(),
                            name: s(""),
                            tuple: None,
                        },
                    );
                }
            }
            id::MEMFD_CREATE if e.ret >= 0 => {
                let name = match arg("name") {
                    Some(ArgValue::Str(n)) => format!("memfd:{}", String::from_utf8_lossy(n)),
                    _ => "memfd:".into(),
                };
                self.proc_mut(e.pid).fds.insert(
                    e.ret as i32,
                    Fd {
                        kind: FdKind::Memfd,
                        name: name.into(),
                        tuple: None,
                    },
                );
            }
            id::CHDIR if e.ret == 0 => {
                if let Some(ArgValue::Str(path)) = arg("path") {
                    let p = self.proc_mut(e.pid);
                    p.cwd = Some(resolve(p.cwd.as_deref(), &String::from_utf8_lossy(path)).into());
                }
            }
            id::FCHDIR if e.ret == 0 => {
                let fd = int("fd").unwrap_or(-1) as i32;
                let p = self.proc_mut(e.pid);
                if let Some(f) = p.fds.get(&fd) {
                    p.cwd = Some(f.name.clone());
                }
            }
            id::SETUID | id::SETREUID | id::SETRESUID if e.ret == 0 => {
                let first = ["uid", "ruid"]
                    .iter()
                    .find_map(|n| int(n))
                    .filter(|&v| v >= 0);
                let eff = ["euid", "uid"]
                    .iter()
                    .find_map(|n| int(n))
                    .filter(|&v| v >= 0);
                let p = self.proc_mut(e.pid);
                if let Some(u) = first {
                    p.uid = Some(u as u32);
                }
                if let Some(u) = eff {
                    p.euid = Some(u as u32);
                }
            }
            id::SETGID | id::SETREGID | id::SETRESGID if e.ret == 0 => {
                if let Some(g) = ["gid", "rgid"]
                    .iter()
                    .find_map(|n| int(n))
                    .filter(|&v| v >= 0)
                {
                    self.proc_mut(e.pid).gid = Some(g as u32);
                }
            }
            id::SIGNALFD if e.ret >= 0 => {
                self.proc_mut(e.pid).fds.insert(
                    e.ret as i32,
                    Fd {
                        kind: FdKind::Signalfd,
                        name: s(""),
                        tuple: None,
                    },
                );
            }
            id::CONTAINER => {
                if let Some((id, c)) = Container::from_event(e) {
                    self.containers.insert(id, Arc::new(c));
                }
            }
            _ => {}
        }
    }

    /// Whether `e`, of a kind that changes the state, failed in a way that
    /// leaves the state as it was ([`State::apply`] and [`State::retire`]
    /// do nothing with it): an open or a close that failed. A state-only
    /// pass skips these without decoding them (on the real-workload
    /// recording, the failed opens of header and module searches are a
    /// third of all opens).
    pub fn unchanged_by(e: &EventRef<'_>) -> bool {
        match e.kind {
            id::OPEN | id::OPENAT | id::OPENAT2 | id::CREAT => e.ret < 0,
            id::CLOSE => e.ret != 0,
            _ => false,
        }
    }

    /// Applies removals after the event was evaluated: closed fds, exited
    /// processes.
    pub fn retire(&mut self, e: &EventRef<'_>) {
        self.retire_with(e, &Args::new(e));
    }

    /// [`State::retire`] with the event's arguments already decoded.
    pub fn retire_with(&mut self, e: &EventRef<'_>, decoded: &Args<'_>) {
        match e.kind {
            id::CLOSE if e.ret == 0 => {
                if let Some(fd) = decoded.get("fd").and_then(|v| v.as_i64()) {
                    if let Some(p) = self.procs.get_mut(&e.pid) {
                        p.fds.remove(&(fd as i32));
                    }
                }
            }
            id::PROC_EXIT => {
                let group_dead = decoded
                    .get("group_dead")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(u64::from(e.pid == e.tid));
                if group_dead != 0 {
                    if let Some(old) = self.procs.remove(&e.pid) {
                        self.forget_child(&old);
                        if old.children > 0 {
                            self.reparent_children_of(&old);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A new process `child` forked by `parent` at `ts`: a copy of the
    /// parent (image, credentials, cwd, fds), without what belongs to the
    /// parent alone (its children, threads, subreaper flag, pending exec).
    fn child_of(&self, parent: u32, child: u32, ts: u64) -> Process {
        let mut p = self.procs.get(&parent).cloned().unwrap_or_default();
        p.pid = child;
        p.ppid = Some(parent);
        p.start_ts = Some(ts);
        p.children = 0;
        p.subreaper = false;
        p.exec_from_kernel = false;
        p.vtids = None;
        p
    }

    /// Adds a new process; its parent has one child more.
    fn insert_child(&mut self, p: Process) {
        if let Some(pp) = p.ppid.and_then(|pp| self.procs.get_mut(&pp)) {
            pp.children += 1;
        }
        self.procs.insert(p.pid, p);
    }

    /// A process left the state: its parent has one child fewer.
    fn forget_child(&mut self, gone: &Process) {
        if let Some(pp) = gone.ppid.and_then(|pp| self.procs.get_mut(&pp)) {
            pp.children = pp.children.saturating_sub(1);
        }
    }

    /// The children of an exited process go where the kernel sends them
    /// (`find_new_reaper`): the nearest live ancestor that is a child
    /// subreaper, else the init of its pid namespace.
    fn reparent_children_of(&mut self, dead: &Process) {
        let mut target = None;
        let mut cur = dead.ppid;
        for _ in 0..MAX_ANCESTRY {
            let Some(a) = cur.and_then(|c| self.procs.get(&c)) else {
                break;
            };
            if a.subreaper {
                target = Some(a.pid);
                break;
            }
            cur = a.ppid;
        }
        let Some(target) = target.or(dead.reaper) else {
            return;
        };
        let mut moved = 0;
        for p in self.procs.values_mut() {
            if p.ppid == Some(dead.pid) {
                p.ppid = Some(target);
                moved += 1;
            }
        }
        if let Some(t) = self.procs.get_mut(&target) {
            t.children += moved;
        }
    }

    /// The path an open-like event refers to, absolute when it can be made so.
    pub fn open_path(&self, e: &EventRef<'_>) -> String {
        self.open_path_with(e, &Args::new(e))
    }

    /// [`State::open_path`] with already decoded arguments.
    pub fn open_path_with(&self, e: &EventRef<'_>, args: &Args<'_>) -> String {
        self.open_path_arc(e, args).to_string()
    }

    /// [`State::open_path_with`] as a shared name (the fd's).
    pub fn open_path_arc(&self, e: &EventRef<'_>, args: &Args<'_>) -> Arc<str> {
        let raw = match args.get("name") {
            Some(ArgValue::Str(n)) => n,
            _ => return Arc::from(""),
        };
        if raw.starts_with(b"/") {
            // Fast path: already absolute and normal.
            if !raw
                .windows(2)
                .any(|w| w[0] == b'/' && (w[1] == b'.' || w[1] == b'/'))
                && (raw.len() == 1 || !raw.ends_with(b"/"))
            {
                return lossy(raw);
            }
            return resolve(None, &String::from_utf8_lossy(raw)).into();
        }
        let name = String::from_utf8_lossy(raw);
        let p = self.procs.get(&e.pid);
        let dirfd = args.get("dirfd").and_then(|v| v.as_i64()).unwrap_or(-100);
        let dir = if dirfd == -100 {
            p.and_then(|p| p.cwd.clone())
        } else {
            p.and_then(|p| p.fds.get(&(dirfd as i32)))
                .map(|f| f.name.clone())
        };
        resolve(dir.as_deref(), &name).into()
    }
}

fn endpoint(a: Option<ArgValue<'_>>) -> Option<(IpAddr, u16)> {
    match a {
        Some(ArgValue::SockAddr(SockAddr::Inet(ip, port))) => Some((IpAddr::from(ip), port)),
        Some(ArgValue::SockAddr(SockAddr::Inet6(ip, port))) => Some((IpAddr::from(ip), port)),
        _ => None,
    }
}

fn set_endpoints(
    f: &mut Fd,
    local: Option<ArgValue<'_>>,
    remote: Option<ArgValue<'_>>,
    server: bool,
) {
    if let Some(ArgValue::SockAddr(SockAddr::Unix(p))) = remote {
        f.kind = FdKind::Unix;
        f.name = lossy(p);
        return;
    }
    // A unix socket known by its own path only (the accepted end of a
    // listener bound to a path).
    if let Some(ArgValue::SockAddr(SockAddr::Unix(p))) = local {
        f.kind = FdKind::Unix;
        f.name = lossy(p);
        return;
    }
    let t = f.tuple.get_or_insert_with(Tuple::default);
    if let Some(l) = endpoint(local) {
        t.local = Some(l);
    }
    if let Some(r) = endpoint(remote) {
        t.remote = Some(r);
        t.connected = true;
        if matches!(r.0, IpAddr::V6(_)) {
            f.kind = FdKind::Ipv6;
        }
    }
    t.server = t.server || server;
    // An IPv6 socket talking IPv4 (::ffff:a.b.c.d at both ends) is shown
    // as IPv4, as Falco does, so `fd.net`, `fd.typechar = 4` and the tuple
    // text match what rules expect.
    let mapped = |e: Option<(IpAddr, u16)>| match e {
        Some((IpAddr::V6(a), _)) => a.to_ipv4_mapped().is_some() || a.is_unspecified(),
        Some((IpAddr::V4(_), _)) | None => true,
    };
    let any_mapped = [t.local, t.remote]
        .iter()
        .any(|e| matches!(e, Some((IpAddr::V6(a), _)) if a.to_ipv4_mapped().is_some()));
    if any_mapped && mapped(t.local) && mapped(t.remote) {
        let v4 = |e: Option<(IpAddr, u16)>| {
            e.map(|(ip, port)| match ip {
                IpAddr::V6(a) => (
                    IpAddr::V4(
                        a.to_ipv4_mapped()
                            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                    ),
                    port,
                ),
                v4 => (v4, port),
            })
        };
        t.local = v4(t.local);
        t.remote = v4(t.remote);
        f.kind = FdKind::Ipv4;
    }
    // The tuple text (fd.name) is built when a rule or output asks for it.
}

/// Most arguments decoded per event: the longest kind of the event table
/// (`procexec`, 24); a test keeps the table within it.
pub const MAX_ARGS: usize = 24;

/// Most ancestors any walk up the process tree visits (cycles in hostile
/// snapshots end there).
pub const MAX_ANCESTRY: usize = 256;

/// What the recorder read from the kernel at fork or exec (the trailing
/// arguments of `procfork` and `procexec`); absent in older captures and in
/// imported traces.
struct KernelFacts {
    ppid: Option<u32>,
    comm: Option<Arc<str>>,
    exepath: Option<Arc<str>>,
    cwd: Option<Arc<str>>,
    uid: Option<u32>,
    gid: Option<u32>,
    euid: Option<u32>,
    egid: Option<u32>,
    loginuid: Option<u32>,
    tty: Option<u32>,
    cgroup: Option<Arc<str>>,
    sid: Option<u32>,
    vpgid: Option<u32>,
    vpid: Option<u32>,
    vtid: Option<u32>,
    cap_inheritable: Option<u64>,
    cap_permitted: Option<u64>,
    cap_effective: Option<u64>,
    flags: u64,
    reaper: Option<u32>,
}

impl KernelFacts {
    /// The facts, when the event carries them (`task_flags` present).
    fn of(a: &Args<'_>) -> Option<KernelFacts> {
        let flags = a.get("task_flags").and_then(|v| v.as_u64())?;
        let u32_of = |n: &str| a.get(n).and_then(|v| v.as_i64()).map(|x| x as u32);
        let u64_of = |n: &str| a.get(n).and_then(|v| v.as_u64());
        let str_of = |n: &str| match a.get(n) {
            Some(ArgValue::Str(s)) => Some(lossy(s)),
            _ => None,
        };
        Some(KernelFacts {
            ppid: u32_of("ppid").filter(|&p| p > 0),
            comm: str_of("comm"),
            exepath: str_of("exepath"),
            cwd: str_of("cwd"),
            uid: u32_of("uid"),
            gid: u32_of("gid"),
            euid: u32_of("euid"),
            egid: u32_of("egid"),
            loginuid: u32_of("loginuid"),
            tty: u32_of("tty"),
            cgroup: str_of("cgroup"),
            sid: u32_of("sid"),
            vpgid: u32_of("vpgid"),
            vpid: u32_of("vpid"),
            vtid: u32_of("vtid"),
            cap_inheritable: u64_of("cap_inheritable"),
            cap_permitted: u64_of("cap_permitted"),
            cap_effective: u64_of("cap_effective"),
            flags,
            reaper: u32_of("reaper").filter(|&p| p > 0),
        })
    }

    fn apply(&self, p: &mut Process) {
        fn set<T: Clone>(dst: &mut Option<T>, v: &Option<T>) {
            if v.is_some() {
                dst.clone_from(v);
            }
        }
        set(&mut p.ppid, &self.ppid);
        set(&mut p.comm, &self.comm);
        set(&mut p.exepath, &self.exepath);
        set(&mut p.cwd, &self.cwd);
        set(&mut p.uid, &self.uid);
        set(&mut p.gid, &self.gid);
        set(&mut p.euid, &self.euid);
        set(&mut p.egid, &self.egid);
        set(&mut p.loginuid, &self.loginuid);
        set(&mut p.tty, &self.tty);
        if let Some(c) = &self.cgroup {
            p.container_id = Some(container_meta::cgroup::short_id(c).into());
            p.cgroup = Some(c.clone());
        }
        set(&mut p.sid, &self.sid);
        set(&mut p.vpgid, &self.vpgid);
        set(&mut p.vpid, &self.vpid);
        set(&mut p.cap_inheritable, &self.cap_inheritable);
        set(&mut p.cap_permitted, &self.cap_permitted);
        set(&mut p.cap_effective, &self.cap_effective);
        set(&mut p.reaper, &self.reaper);
        p.task_flags = Some(self.flags);
        p.subreaper = self.flags & task_flags::SUBREAPER != 0;
        p.exe_from_memfd = self.flags & task_flags::EXE_FROM_MEMFD != 0;
    }
}

/// An event's arguments decoded once (lookups by name then cost no decoding).
pub struct Args<'a> {
    vals: [ArgValue<'a>; MAX_ARGS],
    n: usize,
    truncated: bool,
    names: &'static [(&'static str, capture::kind::ArgType)],
}

impl<'a> Args<'a> {
    /// Decodes the arguments of `e` (up to [`MAX_ARGS`], which every kind of
    /// the event table fits; a malformed stream stops early).
    pub fn new(e: &EventRef<'a>) -> Args<'a> {
        let mut vals = [ArgValue::Absent; MAX_ARGS];
        let mut n = 0;
        let mut truncated = false;
        for v in e.args() {
            let Ok(v) = v else { break };
            if n == vals.len() {
                truncated = true;
                break;
            }
            vals[n] = v;
            n += 1;
        }
        Args {
            vals,
            n,
            truncated,
            names: e.info().map(|k| k.args).unwrap_or(&[]),
        }
    }

    /// The argument named `name`, if present.
    pub fn get(&self, name: &str) -> Option<ArgValue<'a>> {
        let i = self.names.iter().position(|(n, _)| *n == name)?;
        (i < self.n).then(|| self.vals[i])
    }

    /// The argument at position `i`, with its declared type.
    pub fn at(&self, i: usize) -> Option<(ArgValue<'a>, Option<capture::kind::ArgType>)> {
        (i < self.n).then(|| (self.vals[i], self.names.get(i).map(|(_, t)| *t)))
    }

    /// Whether the event carried more than [`MAX_ARGS`] arguments (a
    /// capture from a newer schema, or a damaged one): the rest were not
    /// decoded, and the replay counts such events so that runs report them.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Number of decoded arguments.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there is no argument.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_continued_state_keeps_what_events_taught_and_drops_reused_pids() {
        use capture::schema::ProcessInfo;
        let snap = |procs: Vec<(u32, &str, u64)>| Snapshot {
            processes: procs
                .into_iter()
                .map(|(pid, comm, start_ts)| ProcessInfo {
                    pid,
                    comm: comm.into(),
                    start_ts,
                    ..ProcessInfo::default()
                })
                .collect(),
            ..Snapshot::default()
        };
        let mut st = State::from_snapshot(&snap(vec![
            (10, "kept", 1_000_000_000),
            (11, "gone", 1_000_000_000),
            (12, "reused", 1_000_000_000),
        ]));
        // What only events say: a session id.
        for p in st.procs.values_mut() {
            p.sid = Some(777);
        }
        let next = st.continue_with(&snap(vec![
            // The same process, its start read again at tick resolution.
            (10, "kept", 1_004_000_000),
            // The pid of an ended process, taken by a new one.
            (12, "newcomer", 9_000_000_000),
            (13, "born", 8_000_000_000),
        ]));
        let comm = |pid| {
            next.procs
                .get(&pid)
                .and_then(|p| p.comm.as_deref().map(str::to_string))
        };
        assert_eq!(next.procs.get(&10).and_then(|p| p.sid), Some(777));
        assert!(!next.procs.contains_key(&11));
        assert_eq!(comm(12).as_deref(), Some("newcomer"));
        assert_eq!(next.procs.get(&12).and_then(|p| p.sid), None);
        assert_eq!(comm(13).as_deref(), Some("born"));
    }

    use super::*;

    #[test]
    fn every_kind_fits_the_argument_decoder() {
        for k in capture::kind::KINDS {
            assert!(
                k.args.len() <= MAX_ARGS,
                "{} has {} arguments",
                k.name,
                k.args.len()
            );
        }
    }

    #[test]
    fn anonymous_inodes_have_falco_types() {
        let k = |d: &str| FdKind::of_anon_inode(d).map(|k| (k.type_name(), k.typechar()));
        assert_eq!(k("anon_inode:[eventfd]"), Some(("event", "e")));
        assert_eq!(k("anon_inode:[eventpoll]"), Some(("eventpoll", "l")));
        assert_eq!(k("anon_inode:inotify"), Some(("inotify", "i")));
        assert_eq!(k("anon_inode:[timerfd]"), Some(("timerfd", "t")));
        assert_eq!(k("anon_inode:bpf-map"), Some(("bpf", "b")));
        assert_eq!(k("anon_inode:[pidfd]"), Some(("pidfd", "P")));
        assert_eq!(k("anon_inode:[perf_event]"), None);
        assert_eq!(k("socket:[1234]"), None);
    }

    #[test]
    fn dockershim_names_give_the_pod() {
        let p = dockershim_pod(
            "k8s_backend.324710e0_backend-1440326531-xws32_critical-app_d52f3322-bd5a-11e6-8bdb-028ce2cfb533_e9c1aa96",
        )
        .expect("pod");
        assert_eq!(p.name.as_deref(), Some("backend-1440326531-xws32"));
        assert_eq!(p.namespace.as_deref(), Some("critical-app"));
        assert_eq!(
            p.uid.as_deref(),
            Some("d52f3322-bd5a-11e6-8bdb-028ce2cfb533")
        );
        assert!(dockershim_pod("example0_nginx_1").is_none());
        assert!(dockershim_pod("k8s_a_b_c").is_none());
    }

    #[test]
    fn paths_resolve_lexically() {
        assert_eq!(resolve(Some("/home/a"), "../b/./c"), "/home/b/c");
        assert_eq!(resolve(None, "/etc/../etc/shadow"), "/etc/shadow");
        assert_eq!(resolve(None, "rel"), "rel");
    }
}
