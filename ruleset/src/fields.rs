//! The field registry: names, types, argument forms and descriptions of the
//! Falco syscall fields that Ferret knows. Conditions and outputs are checked
//! against it and each reference is resolved to a [`FieldKind`] once, when
//! it is compiled.

use std::sync::OnceLock;

/// The type of a field's value, which decides the operators it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text.
    Str,
    /// A file-system path (text).
    Path,
    /// A signed integer.
    Int,
    /// An unsigned integer.
    Uint,
    /// true/false.
    Bool,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A network (compared by containment: `fd.net = 10.0.0.0/8`).
    Net,
    /// A port number.
    Port,
    /// A wall-clock time (ns since the epoch).
    Time,
    /// A duration in ns.
    Duration,
    /// Raw bytes.
    Bytes,
}

impl FieldType {
    /// The type's name in listings (Falco's names).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "CHARBUF",
            FieldType::Path => "FSPATH",
            FieldType::Int => "INT64",
            FieldType::Uint => "UINT64",
            FieldType::Bool => "BOOL",
            FieldType::Ip => "IPADDR",
            FieldType::Net => "IPNET",
            FieldType::Port => "PORT",
            FieldType::Time => "ABSTIME",
            FieldType::Duration => "RELTIME",
            FieldType::Bytes => "BYTEBUF",
        }
    }

    /// Whether values are text (string operators apply).
    pub fn is_text(self) -> bool {
        matches!(self, FieldType::Str | FieldType::Path | FieldType::Bytes)
    }

    /// Whether values are numbers (ordering operators apply).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int
                | FieldType::Uint
                | FieldType::Port
                | FieldType::Time
                | FieldType::Duration
        )
    }
}

/// What may stand in brackets after a field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgForm {
    /// No argument.
    None,
    /// An optional non-negative index: `proc.aname[2]`, or `proc.aname`.
    OptIndex,
    /// A required argument name or index: `evt.arg.name`, `evt.arg[0]`.
    ArgRef,
    /// An optional key: `proc.env[HOME]`, `k8s.pod.label[app]`.
    OptKey,
    /// A required key: `container.mount.dest[/etc]`.
    Key,
}

/// One field.
#[derive(Debug)]
pub struct FieldInfo {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// Its argument form.
    pub arg: ArgForm,
    /// What it is.
    pub desc: &'static str,
}

macro_rules! fields {
    ($( $name:literal $ty:ident $arg:ident $desc:literal ;)*) => {
        /// Every known field, in listing order.
        pub static FIELDS: &[FieldInfo] = &[
            $( FieldInfo { name: $name, ty: FieldType::$ty, arg: ArgForm::$arg, desc: $desc }, )*
        ];
    };
}

fields! {
    "evt.num" Uint None "event number in the capture (1-based)";
    "evt.time" Str None "event time as HH:MM:SS.nnnnnnnnn";
    "evt.time.s" Str None "event time as HH:MM:SS";
    "evt.time.iso8601" Str None "event time in ISO 8601";
    "evt.datetime" Str None "event date and time";
    "evt.datetime.s" Str None "event date and time without nanoseconds";
    "evt.rawtime" Time None "event time, ns since the epoch";
    "evt.rawtime.s" Uint None "seconds part of the event time";
    "evt.rawtime.ns" Uint None "nanoseconds part of the event time";
    "evt.reltime" Duration None "time since the capture start";
    "evt.latency" Duration None "time spent in the system call (0: not measured)";
    "evt.deltatime" Duration None "time since the previous event";
    "evt.outputtime" Time None "the time used in alert output";
    "evt.dir" Str None "event direction: always < (completed system calls)";
    "evt.type" Str None "event type (syscall name: open, execve, ...)";
    "evt.cpu" Int None "CPU the event happened on";
    "evt.args" Str None "all arguments as name=value text";
    "evt.arg" Str ArgRef "one argument, by name (evt.arg.name) or index (evt.arg[0]), as text";
    "evt.rawarg" Str ArgRef "one argument by name, raw value";
    "evt.info" Str None "the arguments, or a summary for some events";
    "evt.buffer" Bytes None "the data buffer of I/O events";
    "evt.buflen" Uint None "the data length of I/O events";
    "evt.res" Str None "result: SUCCESS or the error name (ENOENT, ...)";
    "evt.rawres" Int None "result as a number";
    "evt.failed" Bool None "true when the call failed";
    "evt.is_io" Bool None "true for read/write events";
    "evt.is_io_read" Bool None "true for read events";
    "evt.is_io_write" Bool None "true for write events";
    "evt.is_open_read" Bool None "true for opens with read access";
    "evt.is_open_write" Bool None "true for opens with write access";
    "evt.is_open_exec" Bool None "true for opens that create executable files";
    "evt.is_open_create" Bool None "true for opens that create files";
    "evt.is_wait" Bool None "true for waiting calls";
    "evt.category" Str None "event category (file, net, process, ...)";
    "evt.source" Str None "event source (syscall)";
    "evt.hostname" Str None "host name of the capture";
    "evt.count" Uint None "1 for every event";
    "evt.count.error" Uint None "1 for failed events";
    "evt.count.exit" Uint None "1 for exit events";
    "evt.around" Uint OptKey "events around a time";
    "evt.abspath" Path OptKey "absolute path of the event's path argument";
    "evt.is_syslog" Bool None "true for writes to /dev/log";
    "evt.asynctype" Str None "asynchronous event type";
    "evt.pluginname" Str None "plugin that produced the event";
    "evt.plugininfo" Str None "plugin event summary";
    "proc.pid" Int None "process id (tgid)";
    "proc.exe" Str None "first argument (argv[0])";
    "proc.name" Str None "process name (comm, or the executable's base name)";
    "proc.args" Str None "arguments after argv[0], space-separated";
    "proc.env" Str OptKey "environment, or one variable with proc.env[NAME]";
    "proc.cmdline" Str None "name and arguments";
    "proc.exeline" Str None "argv[0] and arguments";
    "proc.cwd" Path None "current directory";
    "proc.nthreads" Uint None "threads of the process";
    "proc.nchilds" Uint None "child threads";
    "proc.ppid" Int None "parent process id";
    "proc.pname" Str None "parent's name";
    "proc.pcmdline" Str None "parent's command line";
    "proc.apid" Int OptIndex "ancestor pid: proc.apid[1] is the parent";
    "proc.aname" Str OptIndex "ancestor name: proc.aname[1] is the parent; without index, any ancestor";
    "proc.aexe" Str OptIndex "ancestor argv[0]";
    "proc.aexepath" Path OptIndex "ancestor executable path";
    "proc.acmdline" Str OptIndex "ancestor command line";
    "proc.loginshellid" Int None "pid of the oldest shell ancestor";
    "proc.duration" Duration None "ns since the process started";
    "proc.fdopencount" Uint None "open file descriptors";
    "proc.fdlimit" Int None "file descriptor limit";
    "proc.start_ts" Time None "process start time";
    "proc.exepath" Path None "full path of the executable";
    "proc.pexe" Str None "parent's argv[0]";
    "proc.pexepath" Path None "parent's executable path";
    "proc.tty" Int None "controlling terminal (0: none)";
    "proc.sid" Int None "session id";
    "proc.sname" Str None "session leader's name";
    "proc.vpgid" Int None "process group id (in its pid namespace)";
    "proc.vpgid.name" Str None "process group leader's name";
    "proc.vpgid.exe" Str None "process group leader's argv[0]";
    "proc.vpgid.exepath" Path None "process group leader's executable path";
    "proc.vpid" Int None "pid in its own pid namespace";
    "proc.pvpid" Int None "parent pid in its own pid namespace";
    "proc.is_container_healthcheck" Bool None "true for a container health check";
    "proc.is_container_liveness_probe" Bool None "true for a liveness probe";
    "proc.is_container_readiness_probe" Bool None "true for a readiness probe";
    "proc.is_exe_writable" Bool None "true when the executable is writable by the user";
    "proc.is_exe_upper_layer" Bool None "true when the executable is in an overlay upper layer";
    "proc.is_exe_from_memfd" Bool None "true when the executable is a memfd";
    "proc.is_sid_leader" Bool None "true for a session leader";
    "proc.is_vpgid_leader" Bool None "true for a process group leader";
    "proc.exe_ino" Int None "inode of the executable";
    "proc.exe_ino.ctime" Time None "ctime of the executable";
    "proc.exe_ino.mtime" Time None "mtime of the executable";
    "proc.exe_ino.ctime_duration_proc_start" Duration None "ns between executable ctime and process start";
    "proc.exe_ino.ctime_duration_pidns_start" Duration None "ns between executable ctime and pid namespace start";
    "proc.pidns_init_start_ts" Time None "start of the pid namespace's init";
    "proc.stdin.type" Str None "type of fd 0";
    "proc.stdout.type" Str None "type of fd 1";
    "proc.stderr.type" Str None "type of fd 2";
    "proc.stdin.name" Path None "name of fd 0";
    "proc.stdout.name" Path None "name of fd 1";
    "proc.stderr.name" Path None "name of fd 2";
    "proc.ppid.duration" Duration None "ns since the parent started";
    "proc.ppid.ts" Time None "parent start time";
    "proc.pid.ts" Time None "process start time";
    "thread.tid" Int None "thread id";
    "thread.vtid" Int None "thread id in its pid namespace";
    "thread.ismain" Bool None "true for the main thread";
    "thread.cap_permitted" Str None "permitted capabilities (CAP_*, space-separated)";
    "thread.cap_inheritable" Str None "inheritable capabilities";
    "thread.cap_effective" Str None "effective capabilities";
    "thread.exectime" Duration None "CPU time of the last scheduled slice";
    "thread.totexectime" Duration None "total CPU time";
    "user.uid" Uint None "user id";
    "user.name" Str None "user name";
    "user.homedir" Path None "home directory";
    "user.shell" Path None "login shell";
    "user.loginuid" Int None "audit login uid (-1: unset)";
    "user.loginname" Str None "audit login user name";
    "group.gid" Uint None "group id";
    "group.name" Str None "group name";
    "fd.num" Int None "file descriptor number";
    "fd.type" Str None "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd";
    "fd.typechar" Str None "fd type as one letter (f, 4, 6, u, p, e, s, l, i, t, n, b, u, r, m)";
    "fd.name" Path None "fd name: path, or connection tuple";
    "fd.nameraw" Path None "fd name as passed to the call";
    "fd.directory" Path None "directory of a file fd";
    "fd.filename" Str None "file name of a file fd";
    "fd.ip" Ip None "either address of a connection";
    "fd.cip" Ip None "client address";
    "fd.sip" Ip None "server address";
    "fd.lip" Ip None "local address";
    "fd.rip" Ip None "remote address";
    "fd.port" Port None "either port";
    "fd.cport" Port None "client port";
    "fd.sport" Port None "server port";
    "fd.lport" Port None "local port";
    "fd.rport" Port None "remote port";
    "fd.l4proto" Str None "transport protocol: tcp, udp, icmp, raw";
    "fd.sockfamily" Str None "socket family: ip or unix";
    "fd.is_server" Bool None "true when the process is the server side";
    "fd.uid" Str None "unique fd id (tid and fd)";
    "fd.containername" Str None "container id and fd name";
    "fd.containerdirectory" Str None "container id and directory";
    "fd.proto" Port None "either protocol port name";
    "fd.cproto" Str None "client protocol";
    "fd.sproto" Str None "server protocol";
    "fd.lproto" Str None "local protocol";
    "fd.rproto" Str None "remote protocol";
    "fd.net" Net None "either address of a connection, compared by network";
    "fd.cnet" Net None "client network";
    "fd.snet" Net None "server network";
    "fd.lnet" Net None "local network";
    "fd.rnet" Net None "remote network";
    "fd.connected" Bool None "true for connected sockets";
    "fd.name_changed" Bool None "true when the event changed the fd's name";
    "fd.cip.name" Str None "client domain name";
    "fd.sip.name" Str None "server domain name";
    "fd.lip.name" Str None "local domain name";
    "fd.rip.name" Str None "remote domain name";
    "fd.dev" Uint None "device number";
    "fd.dev.major" Uint None "device major";
    "fd.dev.minor" Uint None "device minor";
    "fd.ino" Uint None "inode number";
    "fd.types" Str OptIndex "types of the process's fds";
    "fs.path.name" Path None "path of a file-system event";
    "fs.path.nameraw" Path None "path as passed";
    "fs.path.source" Path None "source path (rename, link)";
    "fs.path.sourceraw" Path None "source path as passed";
    "fs.path.target" Path None "target path (rename, link)";
    "fs.path.targetraw" Path None "target path as passed";
    "container.id" Str None "container id (12 characters), host on the host";
    "container.full_id" Str None "full container id";
    "container.name" Str None "container name";
    "container.image" Str None "container image";
    "container.image.id" Str None "image id";
    "container.image.repository" Str None "image repository";
    "container.image.tag" Str None "image tag";
    "container.image.digest" Str None "image digest";
    "container.type" Str None "container runtime";
    "container.privileged" Bool None "true for a privileged container";
    "container.mounts" Str None "container mounts";
    "container.mount" Str Key "one mount, by index or destination";
    "container.mount.source" Path Key "a mount's source";
    "container.mount.dest" Path Key "a mount's destination (key: destination glob)";
    "container.mount.mode" Str Key "a mount's mode";
    "container.mount.rdwr" Str Key "a mount's read-write flag";
    "container.mount.propagation" Str Key "a mount's propagation";
    "container.healthcheck" Str None "health check command";
    "container.liveness_probe" Str None "liveness probe command";
    "container.readiness_probe" Str None "readiness probe command";
    "container.start_ts" Time None "container start time";
    "container.duration" Duration None "ns since the container started";
    "container.ip" Ip None "container IP address";
    "container.cni.json" Str None "CNI result";
    "container.host_pid" Bool None "true when sharing the host pid namespace";
    "container.host_network" Bool None "true when sharing the host network";
    "container.host_ipc" Bool None "true when sharing the host IPC namespace";
    "container.info" Str None "container summary: name (id=...), as Falco without -pk";
    "container.label" Str Key "a container label";
    "container.labels" Str None "container labels (key:value, comma-separated)";
    "k8s.ns.name" Str None "Kubernetes namespace";
    "k8s.pod.name" Str None "Kubernetes pod name";
    "k8s.pod.id" Str None "Kubernetes pod uid (deprecated name)";
    "k8s.pod.uid" Str None "Kubernetes pod uid";
    "k8s.pod.label" Str Key "a pod label";
    "k8s.pod.labels" Str None "pod labels";
    "k8s.pod.ip" Ip None "pod IP";
    "k8s.pod.cni.json" Str None "pod CNI result";
    "k8s.rc.name" Str None "replication controller name (needs the API server: never filled)";
    "k8s.svc.name" Str None "service name (needs the API server: never filled)";
    "k8s.deployment.name" Str None "deployment name (needs the API server: never filled)";
    "k8s.ns.label" Str Key "a namespace label (needs the API server: never filled)";
    "k8s.pod.sandbox_id" Str None "pod sandbox id";
    "k8s.pod.full_sandbox_id" Str None "full pod sandbox id";
    "k8s.rs.name" Str None "replica set name (needs the API server: never filled)";
}

/// Index of a field in [`FIELDS`].
pub type FieldId = u16;

/// Looks a field up by name. `evt.arg.path` style names resolve to `evt.arg`
/// (or `evt.rawarg`) with the argument `path`.
pub fn lookup(name: &str) -> Option<(FieldId, &'static FieldInfo, Option<String>)> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    let idx = INDEX.get_or_init(|| {
        FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name, i))
            .collect()
    });
    if let Some(&i) = idx.get(name) {
        return Some((i as FieldId, &FIELDS[i], None));
    }
    for prefix in ["evt.arg.", "evt.rawarg."] {
        if let Some(arg) = name.strip_prefix(prefix) {
            if !arg.is_empty() {
                let i = idx[&prefix[..prefix.len() - 1]];
                return Some((i as FieldId, &FIELDS[i], Some(arg.to_string())));
            }
        }
    }
    None
}

/// What a field extracts: one variant per field (aliases share one), so the
/// evaluator dispatches on a value resolved at compile time, never on a name.
/// `Unsupported` marks fields Ferret never fills.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso,
    EvtDatetime,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtDir,
    EvtType,
    EvtCpu,
    EvtArgs,
    EvtArg,
    EvtRawarg,
    EvtInfo,
    EvtBuffer,
    EvtBuflen,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtIsOpenCreate,
    EvtCategory,
    EvtSource,
    EvtHostname,
    EvtCount,
    ProcPid,
    ProcExe,
    ProcName,
    ProcArgs,
    ProcEnv,
    ProcCmdline,
    ProcExeline,
    ProcCwd,
    ProcPpid,
    ProcPname,
    ProcPcmdline,
    ProcApid,
    ProcAname,
    ProcAexe,
    ProcAexepath,
    ProcAcmdline,
    ProcDuration,
    ProcExepath,
    ProcPexe,
    ProcPexepath,
    ProcTty,
    ProcVpid,
    ProcPvpid,
    ProcIsExeFromMemfd,
    ProcFdopencount,
    ProcStartTs,
    ProcFalse,
    ThreadTid,
    ThreadIsmain,
    ThreadCapEff,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    FdConnected,
    FdNameChanged,
    FsPathName,
    FsPathSource,
    FsPathTarget,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageId,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerType,
    ContainerPrivileged,
    ContainerIp,
    ContainerMounts,
    ContainerMount,
    ContainerMountSource,
    ContainerMountDest,
    ContainerMountMode,
    ContainerMountRdwr,
    ContainerMountPropagation,
    ContainerHealthcheck,
    ContainerLiveness,
    ContainerReadiness,
    ContainerStartTs,
    ContainerDuration,
    ContainerCniJson,
    ContainerHostPid,
    ContainerHostNetwork,
    ContainerHostIpc,
    ContainerInfo,
    ContainerLabel,
    ContainerLabels,
    K8sNsName,
    K8sPodName,
    K8sPodUid,
    K8sPodLabel,
    K8sPodLabels,
    K8sPodIp,
    K8sPodCniJson,
    K8sPodSandboxId,
    K8sPodFullSandboxId,
    ProcSid,
    ProcVpgid,
    ProcIsSidLeader,
    ProcIsVpgidLeader,
    ProcIsExeWritable,
    ProcIsExeUpperLayer,
    ThreadVtid,
    ThreadCapPerm,
    ThreadCapInh,
    /// A field Ferret never fills (keep last: the evaluator sizes tables by it).
    Unsupported,
}

/// The extraction kind of every registry entry, by [`FieldId`].
fn kinds() -> &'static [FieldKind] {
    static K: OnceLock<Vec<FieldKind>> = OnceLock::new();
    K.get_or_init(|| {
        FIELDS
            .iter()
            .map(|f| match f.name {
                "evt.num" => FieldKind::EvtNum,
                "evt.time" => FieldKind::EvtTime,
                "evt.time.s" => FieldKind::EvtTimeS,
                "evt.time.iso8601" => FieldKind::EvtTimeIso,
                "evt.datetime" | "evt.datetime.s" => FieldKind::EvtDatetime,
                "evt.rawtime" | "evt.outputtime" => FieldKind::EvtRawtime,
                "evt.rawtime.s" => FieldKind::EvtRawtimeS,
                "evt.rawtime.ns" => FieldKind::EvtRawtimeNs,
                "evt.dir" => FieldKind::EvtDir,
                "evt.type" => FieldKind::EvtType,
                "evt.cpu" => FieldKind::EvtCpu,
                "evt.args" => FieldKind::EvtArgs,
                "evt.arg" => FieldKind::EvtArg,
                "evt.rawarg" => FieldKind::EvtRawarg,
                "evt.info" => FieldKind::EvtInfo,
                "evt.buffer" => FieldKind::EvtBuffer,
                "evt.buflen" => FieldKind::EvtBuflen,
                "evt.res" => FieldKind::EvtRes,
                "evt.rawres" => FieldKind::EvtRawres,
                "evt.failed" => FieldKind::EvtFailed,
                "evt.is_io" => FieldKind::EvtIsIo,
                "evt.is_io_read" => FieldKind::EvtIsIoRead,
                "evt.is_io_write" => FieldKind::EvtIsIoWrite,
                "evt.is_open_read" => FieldKind::EvtIsOpenRead,
                "evt.is_open_write" => FieldKind::EvtIsOpenWrite,
                "evt.is_open_exec" => FieldKind::EvtIsOpenExec,
                "evt.is_open_create" => FieldKind::EvtIsOpenCreate,
                "evt.category" => FieldKind::EvtCategory,
                "evt.source" => FieldKind::EvtSource,
                "evt.hostname" => FieldKind::EvtHostname,
                "evt.count" => FieldKind::EvtCount,
                "proc.pid" => FieldKind::ProcPid,
                "proc.exe" => FieldKind::ProcExe,
                "proc.name" => FieldKind::ProcName,
                "proc.args" => FieldKind::ProcArgs,
                "proc.env" => FieldKind::ProcEnv,
                "proc.cmdline" => FieldKind::ProcCmdline,
                "proc.exeline" => FieldKind::ProcExeline,
                "proc.cwd" => FieldKind::ProcCwd,
                "proc.ppid" => FieldKind::ProcPpid,
                "proc.pname" => FieldKind::ProcPname,
                "proc.pcmdline" => FieldKind::ProcPcmdline,
                "proc.apid" => FieldKind::ProcApid,
                "proc.aname" => FieldKind::ProcAname,
                "proc.aexe" => FieldKind::ProcAexe,
                "proc.aexepath" => FieldKind::ProcAexepath,
                "proc.acmdline" => FieldKind::ProcAcmdline,
                "proc.duration" => FieldKind::ProcDuration,
                "proc.exepath" => FieldKind::ProcExepath,
                "proc.pexe" => FieldKind::ProcPexe,
                "proc.pexepath" => FieldKind::ProcPexepath,
                "proc.tty" => FieldKind::ProcTty,
                "proc.vpid" => FieldKind::ProcVpid,
                "proc.pvpid" => FieldKind::ProcPvpid,
                "proc.is_exe_from_memfd" => FieldKind::ProcIsExeFromMemfd,
                "proc.fdopencount" => FieldKind::ProcFdopencount,
                "proc.start_ts" | "proc.pid.ts" => FieldKind::ProcStartTs,
                "proc.is_container_healthcheck"
                | "proc.is_container_liveness_probe"
                | "proc.is_container_readiness_probe" => FieldKind::ProcFalse,
                "thread.tid" => FieldKind::ThreadTid,
                "thread.vtid" => FieldKind::ThreadVtid,
                "proc.sid" => FieldKind::ProcSid,
                "proc.vpgid" => FieldKind::ProcVpgid,
                "proc.is_sid_leader" => FieldKind::ProcIsSidLeader,
                "proc.is_vpgid_leader" => FieldKind::ProcIsVpgidLeader,
                "proc.is_exe_writable" => FieldKind::ProcIsExeWritable,
                "proc.is_exe_upper_layer" => FieldKind::ProcIsExeUpperLayer,
                "thread.ismain" => FieldKind::ThreadIsmain,
                "thread.cap_effective" => FieldKind::ThreadCapEff,
                "thread.cap_permitted" => FieldKind::ThreadCapPerm,
                "thread.cap_inheritable" => FieldKind::ThreadCapInh,
                "user.uid" => FieldKind::UserUid,
                "user.name" => FieldKind::UserName,
                "user.homedir" => FieldKind::UserHomedir,
                "user.shell" => FieldKind::UserShell,
                "user.loginuid" => FieldKind::UserLoginuid,
                "user.loginname" => FieldKind::UserLoginname,
                "group.gid" => FieldKind::GroupGid,
                "group.name" => FieldKind::GroupName,
                "fd.num" => FieldKind::FdNum,
                "fd.type" => FieldKind::FdType,
                "fd.typechar" => FieldKind::FdTypechar,
                "fd.name" | "fd.nameraw" => FieldKind::FdName,
                "fd.directory" => FieldKind::FdDirectory,
                "fd.filename" => FieldKind::FdFilename,
                "fd.ip" => FieldKind::FdIp,
                "fd.cip" => FieldKind::FdCip,
                "fd.sip" => FieldKind::FdSip,
                "fd.lip" => FieldKind::FdLip,
                "fd.rip" => FieldKind::FdRip,
                "fd.port" => FieldKind::FdPort,
                "fd.cport" => FieldKind::FdCport,
                "fd.sport" => FieldKind::FdSport,
                "fd.lport" => FieldKind::FdLport,
                "fd.rport" => FieldKind::FdRport,
                "fd.l4proto" => FieldKind::FdL4proto,
                "fd.sockfamily" => FieldKind::FdSockfamily,
                "fd.is_server" => FieldKind::FdIsServer,
                "fd.net" => FieldKind::FdNet,
                "fd.cnet" => FieldKind::FdCnet,
                "fd.snet" => FieldKind::FdSnet,
                "fd.lnet" => FieldKind::FdLnet,
                "fd.rnet" => FieldKind::FdRnet,
                "fd.connected" => FieldKind::FdConnected,
                "fd.name_changed" => FieldKind::FdNameChanged,
                "fs.path.name" | "fs.path.nameraw" => FieldKind::FsPathName,
                "fs.path.source" | "fs.path.sourceraw" => FieldKind::FsPathSource,
                "fs.path.target" | "fs.path.targetraw" => FieldKind::FsPathTarget,
                "container.id" => FieldKind::ContainerId,
                "container.full_id" => FieldKind::ContainerFullId,
                "container.name" => FieldKind::ContainerName,
                "container.image" => FieldKind::ContainerImage,
                "container.image.id" => FieldKind::ContainerImageId,
                "container.image.repository" => FieldKind::ContainerImageRepository,
                "container.image.tag" => FieldKind::ContainerImageTag,
                "container.image.digest" => FieldKind::ContainerImageDigest,
                "container.type" => FieldKind::ContainerType,
                "container.privileged" => FieldKind::ContainerPrivileged,
                "container.ip" => FieldKind::ContainerIp,
                "container.mounts" => FieldKind::ContainerMounts,
                "container.mount" => FieldKind::ContainerMount,
                "container.mount.source" => FieldKind::ContainerMountSource,
                "container.mount.dest" => FieldKind::ContainerMountDest,
                "container.mount.mode" => FieldKind::ContainerMountMode,
                "container.mount.rdwr" => FieldKind::ContainerMountRdwr,
                "container.mount.propagation" => FieldKind::ContainerMountPropagation,
                "container.healthcheck" => FieldKind::ContainerHealthcheck,
                "container.liveness_probe" => FieldKind::ContainerLiveness,
                "container.readiness_probe" => FieldKind::ContainerReadiness,
                "container.start_ts" => FieldKind::ContainerStartTs,
                "container.duration" => FieldKind::ContainerDuration,
                "container.cni.json" => FieldKind::ContainerCniJson,
                "container.host_pid" => FieldKind::ContainerHostPid,
                "container.host_network" => FieldKind::ContainerHostNetwork,
                "container.host_ipc" => FieldKind::ContainerHostIpc,
                "container.info" => FieldKind::ContainerInfo,
                "container.label" => FieldKind::ContainerLabel,
                "container.labels" => FieldKind::ContainerLabels,
                "k8s.ns.name" => FieldKind::K8sNsName,
                "k8s.pod.name" => FieldKind::K8sPodName,
                "k8s.pod.uid" | "k8s.pod.id" => FieldKind::K8sPodUid,
                "k8s.pod.label" => FieldKind::K8sPodLabel,
                "k8s.pod.labels" => FieldKind::K8sPodLabels,
                "k8s.pod.ip" => FieldKind::K8sPodIp,
                "k8s.pod.cni.json" => FieldKind::K8sPodCniJson,
                "k8s.pod.sandbox_id" => FieldKind::K8sPodSandboxId,
                "k8s.pod.full_sandbox_id" => FieldKind::K8sPodFullSandboxId,
                _ => FieldKind::Unsupported,
            })
            .collect()
    })
}

/// What field `id` extracts ([`FieldKind::Unsupported`] for an id out of range).
pub fn kind(id: FieldId) -> FieldKind {
    kinds()
        .get(id as usize)
        .copied()
        .unwrap_or(FieldKind::Unsupported)
}

/// Whether Ferret ever fills field `id`; rules that use one it never fills
/// are warned about where they use it.
pub fn fillable(id: FieldId) -> bool {
    kind(id) != FieldKind::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_resolve() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(seen.insert(f.name), "duplicate {}", f.name);
            assert_eq!(lookup(f.name).map(|x| x.1.name), Some(f.name));
        }
        let (_, f, arg) = lookup("evt.arg.path").expect("evt.arg.path");
        assert_eq!((f.name, arg.as_deref()), ("evt.arg", Some("path")));
        assert!(lookup("proc.nme").is_none());
        assert!(lookup("evt.arg.").is_none());
    }
}
