//! Ferret captures as sysdig/Falco `.scap` traces (format 1.2), so that the
//! tools a team already runs read them: sysdig, Falco's replay engine
//! (`-o engine.kind=replay`), Stratoshark.
//!
//! What is written:
//! - machine info (host, CPUs, boot time), the start snapshot's processes
//!   (one process-list entry per thread), their open fds, and the host's
//!   users and groups;
//! - each call as the entry/exit pair of the libs' event table, with every
//!   parameter of the newest version of that event in libscap's types
//!   (flags in `PPM_*` encodings). Process fields that only the state knows
//!   (argv, cwd, cgroups, credentials, environment) are filled from the
//!   replayed state, as the kernel driver fills them from the task;
//! - container records as `container` JSON events.
//!
//! Choices, each counted in [`ScapReport`]:
//! - Ferret's `procfork` and `procexec` records are not events of their own
//!   in scap: their content is the clone and execve exit parameters.
//! - `dup2`/`dup3`, `pipe2` and `accept4` are written as the `dup`, `pipe`
//!   and `accept` events older drivers used for them, which every libs
//!   version reads and tracks fds with (`renamed`). A newer-only event
//!   would be skipped by older readers, which then lose the fd.
//! - Calls without an event of their own are generic `syscall` events
//!   named by their `PPM_SC_*` code and native number (`generic`).
//! - Ferret's loss records have no scap equivalent; their counts are
//!   reported (`lost_events`), never silently dropped.
//!
//! Chunks are read in order and replayed once (the exit parameters need the
//! state); a damaged chunk is skipped and named, every intact event written.

use std::collections::BTreeMap;
use std::io::{self, Write};

use capture::kind::{id, task_flags, RET_NONE};
use capture::schema::{FdTarget, Snapshot};
use capture::{ArgValue, Capture, EventRef, SockAddr};
use engine::replay::{CaptureFacts, Replay};
use engine::state::{Args, Process, State};
use scap::write::{Params, ScapWriter};
use scap::{MachineInfo, ScapAccount, ScapFd, ScapProcess, ScapSock};

/// What an export did and what it could not express.
#[derive(Debug, Default)]
pub struct ScapReport {
    /// Events read from the capture.
    pub events_read: u64,
    /// Events written to the trace (a call is an entry and an exit).
    pub scap_events: u64,
    /// Processes and threads of the start snapshot written to the process
    /// list.
    pub threads: u64,
    /// Open fds of the start snapshot written to the fd lists.
    pub fds: u64,
    /// Ferret records whose content went into other events' parameters
    /// (`procfork`, `procexec`), by kind.
    pub folded: BTreeMap<&'static str, u64>,
    /// Calls written under the older event that every reader knows, by
    /// (Ferret kind, scap event).
    pub renamed: BTreeMap<(&'static str, &'static str), u64>,
    /// Calls written as generic `syscall` events, by name.
    pub generic: BTreeMap<String, u64>,
    /// Records scap cannot express, by kind (loss records, kinds unknown to
    /// this build).
    pub dropped: BTreeMap<String, u64>,
    /// Events the recorder said it lost (the sum of the loss records).
    pub lost_events: u64,
    /// Values cut to fit scap's limits: process-list text over libscap's
    /// (argv 4096 bytes, paths 1024) and events over the 64 KiB readers
    /// give one (a 64 kB command line).
    pub cut: u64,
    /// Chunks that could not be read; their events are not in the trace.
    pub chunk_errors: Vec<capture::Error>,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    /// The capture's snapshot could not be read.
    #[error("{0}")]
    Capture(#[from] capture::Error),
    /// The trace could not be written.
    #[error("writing the trace: {0}")]
    Io(#[from] io::Error),
}

/// `PPM_EXE_*` bits of execve's `flags`.
const EXE_WRITABLE: u32 = 1;
const EXE_UPPER_LAYER: u32 = 2;
const EXE_FROM_MEMFD: u32 = 4;

/// The cgroup controllers a process's (unified) cgroup path is written
/// under: readers look for container ids in any of them.
const CONTROLLERS: &[&str] = &["cpuset", "cpu", "memory", "pids"];

/// Writes `cap` as a `.scap` trace to `out` (gzip-compressed when `gzip`,
/// which every libscap reader opens), calling `progress` with the number
/// of events read after each chunk. Returns what was done and the writer
/// (flushed).
pub fn write_scap<W: Write>(
    cap: &Capture,
    source: &str,
    out: W,
    gzip: bool,
    progress: impl FnMut(u64),
) -> Result<(ScapReport, W), ScapError> {
    if gzip {
        let z = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let (rep, z) = write_plain(cap, source, z, progress)?;
        return Ok((rep, z.finish()?));
    }
    write_plain(cap, source, out, progress)
}

fn write_plain<W: Write>(
    cap: &Capture,
    source: &str,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<(ScapReport, W), ScapError> {
    let facts = CaptureFacts::of(cap, source);
    let snapshot = cap.snapshot()?.unwrap_or_default();
    let meta = cap.meta();
    let mi = MachineInfo {
        num_cpus: meta.map_or(1, |m| m.num_cpus.max(1)),
        memory_bytes: 0,
        max_pid: 4_194_304,
        hostname: facts.hostname.to_string(),
        boot_ts_epoch: facts.anchor,
    };
    let mut rep = ScapReport::default();
    let mut w = ScapWriter::new(io::BufWriter::with_capacity(1 << 20, out), &mi)?;
    write_snapshot(&mut w, &snapshot, &mut rep)?;
    let mut x = Exporter {
        w,
        p: Params::default(),
        anchor: facts.anchor,
        rep,
    };
    let mut replay = Replay::new(&snapshot, facts);
    for i in 0..cap.chunks().len() {
        match cap.load_chunk(i) {
            Ok(chunk) => {
                for e in chunk.events() {
                    replay.advance(&e);
                    x.rep.events_read += 1;
                    x.event(&e, replay.state())?;
                }
            }
            Err(err) => x.rep.chunk_errors.push(err),
        }
        progress(x.rep.events_read);
    }
    let Exporter { w, mut rep, p, .. } = x;
    rep.cut += p.cut();
    let out = w
        .finish()?
        .into_inner()
        .map_err(|e| ScapError::Io(e.into_error()))?;
    Ok((rep, out))
}

fn cgroups(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    CONTROLLERS.iter().map(|c| format!("{c}={path}")).collect()
}

fn write_snapshot<W: Write>(
    w: &mut ScapWriter<W>,
    snap: &Snapshot,
    rep: &mut ScapReport,
) -> io::Result<()> {
    let mut procs = Vec::new();
    for p in &snap.processes {
        let exe = p.args.first().cloned().unwrap_or_else(|| p.comm.clone());
        let entry = |tid: u32| ScapProcess {
            tid: u64::from(tid),
            pid: u64::from(p.pid),
            ptid: u64::from(p.ppid),
            sid: None,
            comm: p.comm.clone(),
            exe: exe.clone(),
            exepath: Some(p.exe.clone()),
            args: p.args.iter().skip(1).cloned().collect(),
            cwd: p.cwd.clone(),
            uid: p.uid,
            gid: p.gid,
            env: Vec::new(),
            cgroups: cgroups(&p.cgroup),
            tty: Some(p.tty),
            loginuid: Some(p.loginuid),
        };
        procs.push(entry(p.pid));
        for &t in p.threads.iter().filter(|&&t| t != p.pid) {
            procs.push(entry(t));
        }
    }
    rep.threads = procs.len() as u64;
    rep.cut += w.processes(&procs)?;
    let mut accounts: Vec<ScapAccount> = snap
        .users
        .iter()
        .map(|u| ScapAccount::User {
            uid: u.uid,
            gid: u.gid,
            name: u.name.clone(),
            home: u.home.clone(),
            shell: u.shell.clone(),
        })
        .collect();
    accounts.extend(snap.groups.iter().map(|g| ScapAccount::Group {
        gid: g.gid,
        name: g.name.clone(),
    }));
    w.accounts(&accounts)?;
    for p in &snap.processes {
        if p.fds.is_empty() {
            continue;
        }
        let fds: Vec<ScapFd> = p.fds.iter().map(|f| scap_fd(f.fd, &f.target)).collect();
        rep.fds += fds.len() as u64;
        w.fds(u64::from(p.pid), &fds)?;
    }
    Ok(())
}

/// A snapshot fd as an fd-list entry (libscap's `SCAP_FD_*` types).
fn scap_fd(fd: i32, t: &FdTarget) -> ScapFd {
    let (kind, name, sock) = match t {
        FdTarget::File { path } => (1, path.clone(), None),
        FdTarget::Inet {
            proto,
            local,
            local_port,
            remote,
            remote_port,
            listening,
        } => {
            let l4 = match proto {
                6 => 1,
                17 => 2,
                _ => 0,
            };
            let kind = match (local.len(), listening) {
                (16, false) => 4,
                (16, true) => 6,
                (_, false) => 3,
                (_, true) => 5,
            };
            let sock = ScapSock {
                sip: local.clone(),
                sport: *local_port,
                dip: remote.clone(),
                dport: *remote_port,
                l4,
                listening: *listening,
            };
            (kind, String::new(), Some(sock))
        }
        FdTarget::Unix { path } => (8, path.clone(), None),
        FdTarget::Pipe { ino } => (7, format!("pipe:[{ino}]"), None),
        FdTarget::Memfd { name } => (10, format!("memfd:{name}"), None),
        FdTarget::Other { desc } => {
            let kind = match desc.as_str() {
                "anon_inode:[eventfd]" => 9,
                "anon_inode:[signalfd]" => 11,
                "anon_inode:[eventpoll]" => 12,
                "anon_inode:inotify" => 13,
                "anon_inode:[timerfd]" => 14,
                // bpf, userfaultfd, io_uring and pidfd have types (17-21)
                // that readers before libs 0.10 refuse in an fd list: they
                // are written as unsupported, with their name.
                _ => 10,
            };
            (kind, desc.clone(), None)
        }
    };
    ScapFd {
        fd: i64::from(fd),
        kind,
        name,
        sock,
    }
}

struct Exporter<W: Write> {
    w: ScapWriter<io::BufWriter<W>>,
    p: Params,
    anchor: u64,
    rep: ScapReport,
}

/// An event's arguments with the defaults scap needs: every fixed-width
/// parameter is written at its width, a missing one as 0 (an fd as -1).
struct A<'a>(Args<'a>);

impl<'a> A<'a> {
    fn int(&self, n: &str) -> i64 {
        self.0.get(n).and_then(|v| v.as_i64()).unwrap_or(0)
    }
    fn uint(&self, n: &str) -> u64 {
        self.0.get(n).and_then(|v| v.as_u64()).unwrap_or(0)
    }
    fn fd(&self, n: &str) -> i64 {
        self.0.get(n).and_then(|v| v.as_i64()).unwrap_or(-1)
    }
    fn bytes(&self, n: &str) -> &'a [u8] {
        self.0.get(n).and_then(|v| v.as_bytes()).unwrap_or(b"")
    }
    fn addr(&self, n: &str) -> SockAddr<'a> {
        match self.0.get(n) {
            Some(ArgValue::SockAddr(a)) => a,
            _ => SockAddr::None,
        }
    }
}

/// `PT_SOCKADDR`.
fn sockaddr(p: &mut Params, a: &SockAddr<'_>) {
    let b = p.begin();
    match a {
        SockAddr::Inet(ip, port) => {
            b.push(2);
            b.extend_from_slice(ip);
            b.extend_from_slice(&port.to_le_bytes());
        }
        SockAddr::Inet6(ip, port) => {
            b.push(10);
            b.extend_from_slice(ip);
            b.extend_from_slice(&port.to_le_bytes());
        }
        SockAddr::Unix(path) => {
            b.push(1);
            b.extend_from_slice(path);
            b.push(0);
        }
        SockAddr::None | SockAddr::Other(_) => {}
    }
    p.end();
}

/// `PT_SOCKTUPLE` from `src` to `dst`; empty when neither is an address.
fn socktuple(p: &mut Params, src: &SockAddr<'_>, dst: &SockAddr<'_>) {
    let b = p.begin();
    let v4 = |a: &SockAddr<'_>| match a {
        SockAddr::Inet(ip, port) => Some((*ip, *port)),
        _ => None,
    };
    let v6 = |a: &SockAddr<'_>| match a {
        SockAddr::Inet6(ip, port) => Some((*ip, *port)),
        _ => None,
    };
    if v4(src).is_some() || v4(dst).is_some() {
        let (s, d) = (v4(src).unwrap_or_default(), v4(dst).unwrap_or_default());
        b.push(2);
        b.extend_from_slice(&s.0);
        b.extend_from_slice(&s.1.to_le_bytes());
        b.extend_from_slice(&d.0);
        b.extend_from_slice(&d.1.to_le_bytes());
    } else if v6(src).is_some() || v6(dst).is_some() {
        let (s, d) = (v6(src).unwrap_or_default(), v6(dst).unwrap_or_default());
        b.push(10);
        b.extend_from_slice(&s.0);
        b.extend_from_slice(&s.1.to_le_bytes());
        b.extend_from_slice(&d.0);
        b.extend_from_slice(&d.1.to_le_bytes());
    } else if let (SockAddr::Unix(path), _) | (_, SockAddr::Unix(path)) = (src, dst) {
        b.push(1);
        b.extend_from_slice(&[0u8; 16]);
        b.extend_from_slice(path);
        b.push(0);
    }
    p.end();
}

/// A NUL-separated list (`PT_BYTEBUF` of argv, env, cgroups).
fn nul_list<'s>(p: &mut Params, items: impl IntoIterator<Item = &'s [u8]>) {
    let b = p.begin();
    for i in items {
        b.extend_from_slice(i);
        b.push(0);
    }
    p.end();
}

fn arc_bytes(v: &Option<std::sync::Arc<str>>) -> &[u8] {
    v.as_deref().map_or(b"", str::as_bytes)
}

/// The process fields clone, fork, vfork, clone3 and execve exits share
/// (`exe` through `cgroups`).
fn process_head(p: &mut Params, pr: Option<&Process>, tid: u32, pid: u32) {
    let args: Vec<&[u8]> = pr
        .and_then(|x| x.args.as_deref())
        .map(|a| a.iter().map(|s| s.as_bytes()).collect())
        .unwrap_or_default();
    let comm = pr.map_or(&b""[..], |x| arc_bytes(&x.comm));
    p.str(args.first().copied().unwrap_or(comm));
    nul_list(p, args.iter().skip(1).copied());
    p.i64(i64::from(tid));
    p.i64(i64::from(pid));
    p.i64(pr.and_then(|x| x.ppid).map_or(0, i64::from));
    p.str(pr.map_or(&b""[..], |x| arc_bytes(&x.cwd)));
    p.i64(0); // fdlimit: not recorded
    p.u64(0).u64(0); // page faults
    p.u32(0).u32(0).u32(0); // vm size, rss, swap
    p.str(comm);
    let cg = pr
        .and_then(|x| x.cgroup.as_deref())
        .map(cgroups)
        .unwrap_or_default();
    nul_list(p, cg.iter().map(|s| s.as_bytes()));
}

impl<W: Write> Exporter<W> {
    fn write(&mut self, e: &EventRef<'_>, code: u16) -> io::Result<()> {
        self.rep.scap_events += 1;
        self.p.fit();
        self.w.event_params(
            e.cpu,
            e.ts.wrapping_add(self.anchor),
            u64::from(e.tid),
            code,
            &self.p,
        )
    }

    /// Writes an entry event with parameters `enter` and its exit with
    /// `exit`.
    fn pair(
        &mut self,
        e: &EventRef<'_>,
        code: u16,
        enter: impl FnOnce(&mut Params),
        exit: impl FnOnce(&mut Params),
    ) -> io::Result<()> {
        self.p.clear();
        enter(&mut self.p);
        self.write(e, code)?;
        self.p.clear();
        exit(&mut self.p);
        self.write(e, code + 1)
    }

    fn rename(&mut self, from: &'static str, to: &'static str) {
        *self.rep.renamed.entry((from, to)).or_default() += 1;
    }

    fn event(&mut self, e: &EventRef<'_>, st: &State) -> io::Result<()> {
        let a = A(Args::new(e));
        let res = if e.ret == RET_NONE { 0 } else { e.ret };
        match e.kind {
            id::LOSS => {
                self.rep.lost_events += a.uint("count");
                *self.rep.dropped.entry("ferret_loss".into()).or_default() += 1;
                Ok(())
            }
            id::PROC_FORK | id::PROC_EXEC => {
                let name = if e.kind == id::PROC_FORK {
                    "procfork"
                } else {
                    "procexec"
                };
                *self.rep.folded.entry(name).or_default() += 1;
                Ok(())
            }
            id::PROC_EXIT => {
                self.p.clear();
                let status = a.int("status");
                self.p
                    .i64(status)
                    .i64(status)
                    .u8(a.uint("sig") as u8)
                    .u8(0)
                    .i64(0);
                self.write(e, 186)
            }
            id::SIGNALDELIVER => {
                self.p.clear();
                self.p
                    .i64(a.int("spid"))
                    .i64(a.int("dpid"))
                    .u8(a.uint("sig") as u8);
                self.write(e, 232)
            }
            id::CONTAINER => {
                let json = a.bytes("json");
                let built;
                let json = if json.is_empty() {
                    built = serde_json::json!({"container": {
                        "id": String::from_utf8_lossy(a.bytes("id")),
                        "name": String::from_utf8_lossy(a.bytes("name")),
                        "image": String::from_utf8_lossy(a.bytes("image")),
                        "privileged": a.uint("privileged") != 0,
                    }})
                    .to_string();
                    built.as_bytes()
                } else {
                    json
                };
                self.p.clear();
                self.p.set_large();
                self.p.str(json);
                self.write(e, 324)
            }
            id::GENERIC => {
                let nr = a.uint("nr");
                let name = capture::syscalls::x86_64_name(nr).unwrap_or("");
                self.generic(e, name, nr)
            }
            id::EXIT | id::EXIT_GROUP => {
                let (name, nr) = if e.kind == id::EXIT {
                    ("exit", 60)
                } else {
                    ("exit_group", 231)
                };
                self.generic(e, name, nr)
            }
            id::CLONE | id::CLONE3 | id::FORK | id::VFORK => {
                let code = match e.kind {
                    id::CLONE => 222,
                    id::CLONE3 => 334,
                    id::FORK => 224,
                    _ => 226,
                };
                let pr = st.procs.get(&e.pid);
                let flags = scap::flags::to_ppm_clone(a.uint("flags")) as u32;
                let (tid, pid) = (e.tid, e.pid);
                let vtid = pr
                    .and_then(|x| x.vtids.as_ref().and_then(|m| m.get(&tid).copied()))
                    .unwrap_or(tid);
                let vpid = pr.and_then(|x| x.vpid).unwrap_or(pid);
                let (uid, gid) = pr.map_or((0, 0), |x| (x.uid.unwrap_or(0), x.gid.unwrap_or(0)));
                // The child's return is an exit without an entry, as the
                // driver writes it.
                let child = res == 0;
                self.p.clear();
                self.p.i64(res);
                process_head(&mut self.p, pr, tid, pid);
                self.p
                    .u32(flags)
                    .u32(uid)
                    .u32(gid)
                    .i64(i64::from(vtid))
                    .i64(i64::from(vpid))
                    .u64(0);
                if !child {
                    // The entry has no parameters; the exit's are kept
                    // aside meanwhile.
                    let exit = std::mem::take(&mut self.p);
                    self.write(e, code)?;
                    let cut = self.p.cut();
                    self.p = exit;
                    self.rep.cut += cut;
                }
                self.write(e, code + 1)
            }
            id::EXECVE | id::EXECVEAT => {
                let pr = st.procs.get(&e.pid);
                let filename = a.bytes("filename");
                let (code, exit_code) = if e.kind == id::EXECVE {
                    (292, 293)
                } else {
                    (330, 331)
                };
                self.p.clear();
                if e.kind == id::EXECVE {
                    self.p.str(filename);
                } else {
                    self.p
                        .i64(a.fd("dirfd"))
                        .str(filename)
                        .u32(a.uint("flags") as u32);
                }
                self.write(e, code)?;
                self.p.clear();
                self.p.i64(res);
                process_head(&mut self.p, pr, e.tid, e.pid);
                let env: Vec<&[u8]> = pr
                    .and_then(|x| x.env.as_deref())
                    .map(|a| a.iter().map(|s| s.as_bytes()).collect())
                    .unwrap_or_default();
                nul_list(&mut self.p, env);
                let tf = pr.and_then(|x| x.task_flags).unwrap_or(0);
                let mut flags = 0;
                if tf & task_flags::EXE_WRITABLE != 0 {
                    flags |= EXE_WRITABLE;
                }
                if tf & task_flags::EXE_UPPER_LAYER != 0 {
                    flags |= EXE_UPPER_LAYER;
                }
                if tf & task_flags::EXE_FROM_MEMFD != 0 {
                    flags |= EXE_FROM_MEMFD;
                }
                let get = |f: fn(&Process) -> Option<u32>| pr.and_then(f);
                let vpgid = i64::from(get(|x| x.vpgid).unwrap_or(0));
                self.p
                    .u32(get(|x| x.tty).unwrap_or(0))
                    .i64(vpgid)
                    .u32(get(|x| x.loginuid).unwrap_or(u32::MAX))
                    .u32(flags)
                    .u64(pr.and_then(|x| x.cap_inheritable).unwrap_or(0))
                    .u64(pr.and_then(|x| x.cap_permitted).unwrap_or(0))
                    .u64(pr.and_then(|x| x.cap_effective).unwrap_or(0))
                    .u64(0)
                    .u64(0)
                    .u64(0) // exe inode, ctime, mtime
                    .u32(get(|x| x.uid).unwrap_or(0))
                    .str(pr.map_or(&b""[..], |x| arc_bytes(&x.exepath)))
                    .i64(vpgid)
                    .u32(get(|x| x.gid).unwrap_or(0));
                if e.kind == id::EXECVE {
                    self.p.str(filename);
                }
                self.write(e, exit_code)
            }
            _ => self.call(e, &a, res),
        }
    }

    /// A generic `syscall` event: entry only for calls that do not return.
    fn generic(&mut self, e: &EventRef<'_>, name: &str, nr: u64) -> io::Result<()> {
        let label = if name.is_empty() {
            format!("syscall {nr}")
        } else {
            name.to_string()
        };
        *self.rep.generic.entry(label).or_default() += 1;
        let sc = scap::ppm_sc::code(name);
        self.p.clear();
        self.p.u16(sc).u16(nr as u16);
        self.write(e, 0)?;
        if matches!(nr, 15 | 60 | 231) {
            return Ok(());
        }
        self.write(e, 1)
    }

    /// Every other call: its entry and exit parameters.
    fn call(&mut self, e: &EventRef<'_>, a: &A<'_>, res: i64) -> io::Result<()> {
        use scap::flags::{to_ppm_fcntl, to_ppm_map, to_ppm_open};
        let k = e.kind;
        let u32_ = |n: &str| a.uint(n) as u32;
        match k {
            id::OPEN => self.pair(
                e,
                2,
                |p| {
                    p.str(a.bytes("name"))
                        .u32(to_ppm_open(a.uint("flags")) as u32)
                        .u32(u32_("mode"));
                },
                |p| {
                    p.i64(res)
                        .str(a.bytes("name"))
                        .u32(to_ppm_open(a.uint("flags")) as u32)
                        .u32(u32_("mode"))
                        .u32(0)
                        .u64(0);
                },
            ),
            id::OPENAT | id::OPENAT2 => {
                let two = k == id::OPENAT2;
                self.pair(
                    e,
                    if two { 326 } else { 306 },
                    |p| {
                        p.i64(a.fd("dirfd"))
                            .str(a.bytes("name"))
                            .u32(to_ppm_open(a.uint("flags")) as u32)
                            .u32(u32_("mode"));
                        if two {
                            p.u32(u32_("resolve"));
                        }
                    },
                    |p| {
                        p.i64(res)
                            .i64(a.fd("dirfd"))
                            .str(a.bytes("name"))
                            .u32(to_ppm_open(a.uint("flags")) as u32)
                            .u32(u32_("mode"));
                        if two {
                            p.u32(u32_("resolve"));
                        }
                        p.u32(0).u64(0);
                    },
                )
            }
            id::CREAT => self.pair(
                e,
                58,
                |p| {
                    p.str(a.bytes("name")).u32(u32_("mode"));
                },
                |p| {
                    p.i64(res)
                        .str(a.bytes("name"))
                        .u32(u32_("mode"))
                        .u32(0)
                        .u64(0)
                        .u16(0);
                },
            ),
            id::CLOSE => self.pair(
                e,
                4,
                |p| {
                    p.i64(a.fd("fd"));
                },
                |p| {
                    p.i64(res).i64(a.fd("fd"));
                },
            ),
            id::READ | id::WRITE | id::WRITEV => {
                let code = match k {
                    id::READ => 6,
                    id::WRITE => 8,
                    _ => 118,
                };
                self.pair(
                    e,
                    code,
                    |p| {
                        p.i64(a.fd("fd")).u32(u32_("size"));
                    },
                    |p| {
                        p.i64(res)
                            .bytes(a.bytes("data"))
                            .i64(a.fd("fd"))
                            .u32(u32_("size"));
                    },
                )
            }
            id::READV => self.pair(
                e,
                116,
                |p| {
                    p.i64(a.fd("fd"));
                },
                |p| {
                    p.i64(res)
                        .u32(u32_("size"))
                        .bytes(a.bytes("data"))
                        .i64(a.fd("fd"));
                },
            ),
            id::PREAD64 | id::PWRITE64 => self.pair(
                e,
                if k == id::PREAD64 { 112 } else { 114 },
                |p| {
                    p.i64(a.fd("fd")).u32(u32_("size")).u64(a.uint("pos"));
                },
                |p| {
                    p.i64(res)
                        .bytes(a.bytes("data"))
                        .i64(a.fd("fd"))
                        .u32(u32_("size"))
                        .u64(a.uint("pos"));
                },
            ),
            id::UNLINK | id::RMDIR | id::CHROOT => {
                let code = match k {
                    id::UNLINK => 300,
                    id::RMDIR => 278,
                    _ => 266,
                };
                self.pair(
                    e,
                    code,
                    |_| {},
                    |p| {
                        p.i64(res).str(a.bytes("path"));
                    },
                )
            }
            id::UNLINKAT => self.pair(
                e,
                302,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("dirfd"))
                        .str(a.bytes("name"))
                        .u32(u32_("flags"));
                },
            ),
            id::RENAME | id::LINK => self.pair(
                e,
                if k == id::RENAME { 174 } else { 308 },
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("oldpath")).str(a.bytes("newpath"));
                },
            ),
            id::RENAMEAT | id::RENAMEAT2 => self.pair(
                e,
                if k == id::RENAMEAT { 176 } else { 318 },
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("olddirfd"))
                        .str(a.bytes("oldpath"))
                        .i64(a.fd("newdirfd"))
                        .str(a.bytes("newpath"));
                    if k == id::RENAMEAT2 {
                        p.u32(u32_("flags"));
                    }
                },
            ),
            id::LINKAT => self.pair(
                e,
                310,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("olddir"))
                        .str(a.bytes("oldpath"))
                        .i64(a.fd("newdir"))
                        .str(a.bytes("newpath"))
                        .u32(u32_("flags"));
                },
            ),
            id::MKDIR => self.pair(
                e,
                276,
                |p| {
                    p.u32(u32_("mode"));
                },
                |p| {
                    p.i64(res).str(a.bytes("path")).u32(u32_("mode"));
                },
            ),
            id::MKDIRAT => self.pair(
                e,
                304,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("dirfd"))
                        .str(a.bytes("path"))
                        .u32(u32_("mode"));
                },
            ),
            id::SYMLINK => self.pair(
                e,
                178,
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("target")).str(a.bytes("linkpath"));
                },
            ),
            id::SYMLINKAT => self.pair(
                e,
                180,
                |_| {},
                |p| {
                    p.i64(res)
                        .str(a.bytes("target"))
                        .i64(a.fd("linkdirfd"))
                        .str(a.bytes("linkpath"));
                },
            ),
            id::CHMOD => self.pair(
                e,
                314,
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("filename")).u32(u32_("mode"));
                },
            ),
            id::FCHMOD => self.pair(
                e,
                316,
                |_| {},
                |p| {
                    p.i64(res).i64(a.fd("fd")).u32(u32_("mode"));
                },
            ),
            id::FCHMODAT => self.pair(
                e,
                312,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("dirfd"))
                        .str(a.bytes("filename"))
                        .u32(u32_("mode"));
                },
            ),
            id::CHOWN | id::LCHOWN => self.pair(
                e,
                if k == id::CHOWN { 378 } else { 380 },
                |_| {},
                |p| {
                    p.i64(res)
                        .str(a.bytes("path"))
                        .u32(u32_("uid"))
                        .u32(u32_("gid"));
                },
            ),
            id::FCHOWN => self.pair(
                e,
                382,
                |_| {},
                |p| {
                    p.i64(res).i64(a.fd("fd")).u32(u32_("uid")).u32(u32_("gid"));
                },
            ),
            id::FCHOWNAT => self.pair(
                e,
                384,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("dirfd"))
                        .str(a.bytes("pathname"))
                        .u32(u32_("uid"))
                        .u32(u32_("gid"))
                        .u32(u32_("flags"));
                },
            ),
            id::DUP | id::DUP2 | id::DUP3 => {
                match k {
                    id::DUP2 => self.rename("dup2", "dup"),
                    id::DUP3 => self.rename("dup3", "dup"),
                    _ => {}
                }
                let old = if k == id::DUP {
                    a.fd("fd")
                } else {
                    a.fd("oldfd")
                };
                self.pair(
                    e,
                    124,
                    |p| {
                        p.i64(old);
                    },
                    |p| {
                        p.i64(res);
                    },
                )
            }
            id::FCNTL => self.pair(
                e,
                150,
                |p| {
                    p.i64(a.fd("fd")).u8(to_ppm_fcntl(a.uint("cmd")) as u8);
                },
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .u8(to_ppm_fcntl(a.uint("cmd")) as u8)
                        .u64(a.uint("arg"));
                },
            ),
            id::PIPE | id::PIPE2 => {
                if k == id::PIPE2 {
                    self.rename("pipe2", "pipe");
                }
                self.pair(
                    e,
                    60,
                    |_| {},
                    |p| {
                        p.i64(res).i64(a.fd("fd1")).i64(a.fd("fd2")).u64(0);
                    },
                )
            }
            id::MEMFD_CREATE => self.pair(
                e,
                404,
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("name")).u32(u32_("flags"));
                },
            ),
            id::STAT | id::LSTAT => self.pair(
                e,
                if k == id::STAT { 66 } else { 68 },
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("path"));
                },
            ),
            id::FSTAT | id::GETDENTS | id::GETDENTS64 | id::FCHDIR => {
                let code = match k {
                    id::FSTAT => 70,
                    id::GETDENTS => 236,
                    id::GETDENTS64 => 238,
                    _ => 96,
                };
                self.pair(
                    e,
                    code,
                    |p| {
                        p.i64(a.fd("fd"));
                    },
                    |p| {
                        p.i64(res).i64(a.fd("fd"));
                    },
                )
            }
            id::LSEEK => self.pair(
                e,
                86,
                |p| {
                    p.i64(a.fd("fd"))
                        .u64(a.uint("offset"))
                        .u8(a.uint("whence") as u8);
                },
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .u64(a.uint("offset"))
                        .u8(a.uint("whence") as u8);
                },
            ),
            id::ACCESS => self.pair(
                e,
                264,
                |p| {
                    p.u32(u32_("mode"));
                },
                |p| {
                    p.i64(res).str(a.bytes("name")).u32(u32_("mode"));
                },
            ),
            id::GETCWD | id::CHDIR => self.pair(
                e,
                if k == id::GETCWD { 92 } else { 94 },
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("path"));
                },
            ),
            id::IOCTL => self.pair(
                e,
                170,
                |p| {
                    p.i64(a.fd("fd"))
                        .u64(a.uint("request"))
                        .u64(a.uint("argument"));
                },
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .u64(a.uint("request"))
                        .u64(a.uint("argument"));
                },
            ),
            id::SENDFILE => self.pair(
                e,
                188,
                |p| {
                    p.i64(a.fd("out_fd"))
                        .i64(a.fd("in_fd"))
                        .u64(a.uint("offset"))
                        .u64(a.uint("size"));
                },
                |p| {
                    p.i64(res)
                        .u64(a.uint("offset"))
                        .i64(a.fd("out_fd"))
                        .i64(a.fd("in_fd"))
                        .u64(a.uint("size"));
                },
            ),
            id::SIGNALFD => self.pair(
                e,
                126,
                |p| {
                    p.i64(a.fd("fd"))
                        .u32(u32_("mask"))
                        .u8(a.uint("flags") as u8);
                },
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .u32(u32_("mask"))
                        .u8(a.uint("flags") as u8);
                },
            ),
            id::SOCKET => self.pair(
                e,
                18,
                |p| {
                    p.u32(u32_("domain")).u32(u32_("type")).u32(u32_("proto"));
                },
                |p| {
                    p.i64(res)
                        .u32(u32_("domain"))
                        .u32(u32_("type"))
                        .u32(u32_("proto"))
                        .u32(0);
                },
            ),
            id::SOCKETPAIR => self.pair(
                e,
                42,
                |p| {
                    p.u32(u32_("domain")).u32(u32_("type")).u32(u32_("proto"));
                },
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd1"))
                        .i64(a.fd("fd2"))
                        .u64(0)
                        .u64(0)
                        .u32(u32_("domain"))
                        .u32(u32_("type"))
                        .u32(u32_("proto"));
                },
            ),
            id::CONNECT => {
                let (remote, local) = (a.addr("addr"), a.addr("local"));
                self.pair(
                    e,
                    22,
                    |p| {
                        p.i64(a.fd("fd"));
                        sockaddr(p, &remote);
                    },
                    |p| {
                        p.i64(res);
                        socktuple(p, &local, &remote);
                        p.i64(a.fd("fd"));
                        sockaddr(p, &remote);
                    },
                )
            }
            id::ACCEPT | id::ACCEPT4 => {
                if k == id::ACCEPT4 {
                    self.rename("accept4", "accept");
                }
                let (peer, local) = (a.addr("addr"), a.addr("local"));
                self.pair(
                    e,
                    248,
                    |p| {
                        p.i64(a.int("flags"));
                    },
                    |p| {
                        p.i64(res);
                        socktuple(p, &peer, &local);
                        p.u8(0).u32(0).u32(0);
                    },
                )
            }
            id::BIND => self.pair(
                e,
                20,
                |p| {
                    p.i64(a.fd("fd"));
                },
                |p| {
                    p.i64(res);
                    sockaddr(p, &a.addr("addr"));
                    p.i64(a.fd("fd"));
                },
            ),
            id::LISTEN => self.pair(
                e,
                24,
                |p| {
                    p.i64(a.fd("fd")).u32(a.int("backlog") as u32);
                },
                |p| {
                    p.i64(res).i64(a.fd("fd")).u32(a.int("backlog") as u32);
                },
            ),
            id::SHUTDOWN => self.pair(
                e,
                36,
                |p| {
                    p.i64(a.fd("fd")).u8(a.uint("how") as u8);
                },
                |p| {
                    p.i64(res).i64(a.fd("fd")).u8(a.uint("how") as u8);
                },
            ),
            id::SENDTO | id::SENDMSG => {
                let (remote, local) = (a.addr("addr"), a.addr("local"));
                self.pair(
                    e,
                    if k == id::SENDTO { 30 } else { 48 },
                    |p| {
                        p.i64(a.fd("fd")).u32(u32_("size"));
                        socktuple(p, &local, &remote);
                    },
                    |p| {
                        p.i64(res)
                            .bytes(a.bytes("data"))
                            .i64(a.fd("fd"))
                            .u32(u32_("size"));
                        socktuple(p, &local, &remote);
                    },
                )
            }
            id::SENDMMSG => {
                let remote = a.addr("addr");
                self.pair(
                    e,
                    50,
                    |_| {},
                    |p| {
                        p.i64(res)
                            .i64(a.fd("fd"))
                            .u32(u32_("size"))
                            .bytes(a.bytes("data"));
                        socktuple(p, &SockAddr::None, &remote);
                    },
                )
            }
            id::RECVFROM => {
                let (remote, local) = (a.addr("addr"), a.addr("local"));
                self.pair(
                    e,
                    34,
                    |p| {
                        p.i64(a.fd("fd")).u32(u32_("size"));
                    },
                    |p| {
                        p.i64(res).bytes(a.bytes("data"));
                        socktuple(p, &remote, &local);
                        p.i64(a.fd("fd")).u32(u32_("size"));
                    },
                )
            }
            id::RECVMSG => {
                let (remote, local) = (a.addr("addr"), a.addr("local"));
                self.pair(
                    e,
                    52,
                    |p| {
                        p.i64(a.fd("fd"));
                    },
                    |p| {
                        p.i64(res).u32(u32_("size")).bytes(a.bytes("data"));
                        socktuple(p, &remote, &local);
                        p.bytes(b"").i64(a.fd("fd"));
                    },
                )
            }
            id::GETSOCKNAME | id::GETPEERNAME => self.pair(
                e,
                if k == id::GETSOCKNAME { 38 } else { 40 },
                |_| {},
                |_| {},
            ),
            id::SETSOCKOPT | id::GETSOCKOPT => self.pair(
                e,
                if k == id::SETSOCKOPT { 44 } else { 46 },
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .u8(a.uint("level") as u8)
                        .u8(a.uint("optname") as u8);
                    // PT_DYN: index 0 is raw bytes.
                    let b = p.begin();
                    b.push(0);
                    b.extend_from_slice(a.bytes("val"));
                    p.end().u32(u32_("optlen"));
                },
            ),
            id::POLL | id::PPOLL => {
                // Ferret keeps the fd list as text; scap's fd list is
                // binary and is rebuilt from it.
                let text = String::from_utf8_lossy(a.bytes("fds")).into_owned();
                let fds: Vec<(i64, u16)> = text
                    .split_whitespace()
                    .filter_map(|s| {
                        let (f, fl) = s.split_once(':')?;
                        Some((f.parse().ok()?, fl.parse().ok()?))
                    })
                    .collect();
                let fdlist = |p: &mut Params| {
                    let b = p.begin();
                    b.extend_from_slice(&(fds.len() as u16).to_le_bytes());
                    for (f, fl) in &fds {
                        b.extend_from_slice(&f.to_le_bytes());
                        b.extend_from_slice(&fl.to_le_bytes());
                    }
                    p.end();
                };
                let timeout = a.int("timeout");
                if k == id::POLL {
                    self.pair(
                        e,
                        80,
                        |p| {
                            fdlist(p);
                            p.i64(timeout);
                        },
                        |p| {
                            p.i64(res);
                            fdlist(p);
                            p.i64(timeout);
                        },
                    )
                } else {
                    self.pair(
                        e,
                        254,
                        |p| {
                            fdlist(p);
                            p.u64(timeout as u64).u32(0);
                        },
                        |p| {
                            p.i64(res);
                            fdlist(p);
                            p.u64(timeout as u64).u32(0);
                        },
                    )
                }
            }
            id::SELECT => self.pair(
                e,
                84,
                |_| {},
                |p| {
                    p.i64(res);
                },
            ),
            id::MMAP => {
                let (prot, flags) = (u32_("prot"), to_ppm_map(a.uint("flags")) as u32);
                let tail = |p: &mut Params| {
                    p.u64(a.uint("addr"))
                        .u64(a.uint("length"))
                        .u32(prot)
                        .u32(flags)
                        .i64(a.fd("fd"))
                        .u64(a.uint("offset"));
                };
                self.pair(e, 160, tail, |p| {
                    p.i64(res).u32(0).u32(0).u32(0);
                    tail(p);
                })
            }
            id::MPROTECT => self.pair(
                e,
                328,
                |p| {
                    p.u64(a.uint("addr"))
                        .u64(a.uint("length"))
                        .u32(u32_("prot"));
                },
                |p| {
                    p.i64(res)
                        .u64(a.uint("addr"))
                        .u64(a.uint("length"))
                        .u32(u32_("prot"));
                },
            ),
            id::MUNMAP => self.pair(
                e,
                164,
                |p| {
                    p.u64(a.uint("addr")).u64(a.uint("length"));
                },
                |p| {
                    p.i64(res)
                        .u32(0)
                        .u32(0)
                        .u32(0)
                        .u64(a.uint("addr"))
                        .u64(a.uint("length"));
                },
            ),
            id::BRK => self.pair(
                e,
                158,
                |p| {
                    p.u64(a.uint("addr"));
                },
                |p| {
                    p.u64(res as u64).u32(0).u32(0).u32(0).u64(a.uint("addr"));
                },
            ),
            id::SETUID | id::SETGID => {
                let (code, n) = if k == id::SETUID {
                    (198, "uid")
                } else {
                    (200, "gid")
                };
                self.pair(
                    e,
                    code,
                    |p| {
                        p.u32(u32_(n));
                    },
                    |p| {
                        p.i64(res).u32(u32_(n));
                    },
                )
            }
            id::SETREUID | id::SETREGID => {
                let (code, r, ef) = if k == id::SETREUID {
                    (426, "ruid", "euid")
                } else {
                    (428, "rgid", "egid")
                };
                self.pair(
                    e,
                    code,
                    |_| {},
                    |p| {
                        p.i64(res).u32(u32_(r)).u32(u32_(ef));
                    },
                )
            }
            id::SETRESUID | id::SETRESGID => {
                let (code, n) = if k == id::SETRESUID {
                    (192, ["ruid", "euid", "suid"])
                } else {
                    (194, ["rgid", "egid", "sgid"])
                };
                self.pair(
                    e,
                    code,
                    |p| {
                        p.u32(u32_(n[0])).u32(u32_(n[1])).u32(u32_(n[2]));
                    },
                    |p| {
                        p.i64(res).u32(u32_(n[0])).u32(u32_(n[1])).u32(u32_(n[2]));
                    },
                )
            }
            id::CAPSET => self.pair(
                e,
                352,
                |_| {},
                |p| {
                    p.i64(res)
                        .u64(a.uint("cap_inheritable"))
                        .u64(a.uint("cap_permitted"))
                        .u64(a.uint("cap_effective"));
                },
            ),
            id::SETNS => self.pair(
                e,
                240,
                |p| {
                    p.i64(a.fd("fd")).u32(u32_("nstype"));
                },
                |p| {
                    p.i64(res).i64(a.fd("fd")).u32(u32_("nstype"));
                },
            ),
            id::UNSHARE => self.pair(
                e,
                284,
                |p| {
                    p.u32(u32_("flags"));
                },
                |p| {
                    p.i64(res).u32(u32_("flags"));
                },
            ),
            id::MOUNT => self.pair(
                e,
                256,
                |p| {
                    p.u32(u32_("flags"));
                },
                |p| {
                    p.i64(res)
                        .str(a.bytes("dev"))
                        .str(a.bytes("dir"))
                        .str(a.bytes("type"))
                        .u32(u32_("flags"));
                },
            ),
            id::UMOUNT2 => self.pair(
                e,
                390,
                |p| {
                    p.u32(u32_("flags"));
                },
                |p| {
                    p.i64(res).str(a.bytes("name")).u32(u32_("flags"));
                },
            ),
            id::PTRACE => self.pair(
                e,
                168,
                |p| {
                    p.u16(a.uint("request") as u16).i64(a.int("pid"));
                },
                |p| {
                    p.i64(res);
                    // PT_DYN: index 0 is a u64.
                    for v in [a.uint("addr"), 0] {
                        let b = p.begin();
                        b.push(0);
                        b.extend_from_slice(&v.to_le_bytes());
                        p.end();
                    }
                    p.u16(a.uint("request") as u16).i64(a.int("pid"));
                },
            ),
            id::INIT_MODULE => self.pair(
                e,
                410,
                |_| {},
                |p| {
                    p.i64(res)
                        .bytes(b"")
                        .u64(a.uint("length"))
                        .str(a.bytes("uargs"));
                },
            ),
            id::FINIT_MODULE => self.pair(
                e,
                412,
                |_| {},
                |p| {
                    p.i64(res)
                        .i64(a.fd("fd"))
                        .str(a.bytes("uargs"))
                        .u32(u32_("flags"));
                },
            ),
            id::DELETE_MODULE => self.pair(
                e,
                424,
                |_| {},
                |p| {
                    p.i64(res).str(a.bytes("name")).u32(u32_("flags"));
                },
            ),
            id::BPF => {
                let cmd = a.int("cmd");
                self.pair(
                    e,
                    296,
                    |p| {
                        p.i64(cmd);
                    },
                    |p| {
                        // PT_DYN: index 0 an fd (map and program
                        // creation), 1 a result.
                        let b = p.begin();
                        b.push(if res >= 0 && matches!(cmd, 0 | 5) {
                            0
                        } else {
                            1
                        });
                        b.extend_from_slice(&res.to_le_bytes());
                        p.end();
                    },
                )
            }
            id::USERFAULTFD => self.pair(
                e,
                320,
                |_| {},
                |p| {
                    p.i64(res).u32(u32_("flags"));
                },
            ),
            id::IO_URING_SETUP => self.pair(
                e,
                338,
                |_| {},
                |p| {
                    p.i64(res)
                        .u32(u32_("entries"))
                        .u32(0)
                        .u32(0)
                        .u32(u32_("flags"))
                        .u32(0)
                        .u32(0)
                        .u32(0);
                },
            ),
            id::KILL | id::TKILL => {
                let (code, n) = if k == id::KILL {
                    (128, "pid")
                } else {
                    (130, "tid")
                };
                self.pair(
                    e,
                    code,
                    |p| {
                        p.i64(a.int(n)).u8(a.uint("sig") as u8);
                    },
                    |p| {
                        p.i64(res).i64(a.int(n)).u8(a.uint("sig") as u8);
                    },
                )
            }
            id::TGKILL => self.pair(
                e,
                132,
                |p| {
                    p.i64(a.int("pid"))
                        .i64(a.int("tid"))
                        .u8(a.uint("sig") as u8);
                },
                |p| {
                    p.i64(res)
                        .i64(a.int("pid"))
                        .i64(a.int("tid"))
                        .u8(a.uint("sig") as u8);
                },
            ),
            id::FUTEX => self.pair(
                e,
                64,
                |p| {
                    p.u64(a.uint("addr"))
                        .u16(a.uint("op") as u16)
                        .u64(a.uint("val"));
                },
                |p| {
                    p.i64(res)
                        .u64(a.uint("addr"))
                        .u16(a.uint("op") as u16)
                        .u64(a.uint("val"));
                },
            ),
            id::NANOSLEEP => self.pair(
                e,
                134,
                |p| {
                    p.u64(a.uint("interval"));
                },
                |p| {
                    p.i64(res).u64(a.uint("interval"));
                },
            ),
            id::EPOLL_WAIT => self.pair(
                e,
                78,
                |p| {
                    p.i64(a.int("maxevents"));
                },
                |p| {
                    p.i64(res).i64(a.int("maxevents"));
                },
            ),
            id::PRCTL => self.pair(
                e,
                400,
                |_| {},
                |p| {
                    p.i64(res)
                        .u32(u32_("option"))
                        .str(a.bytes("arg2_str"))
                        .i64(a.int("arg2"));
                },
            ),
            id::SETPGID => self.pair(
                e,
                294,
                |p| {
                    p.i64(a.int("pid")).i64(a.int("pgid"));
                },
                |p| {
                    p.i64(res).i64(a.int("pid")).i64(a.int("pgid"));
                },
            ),
            id::GETUID | id::GETEUID | id::GETGID | id::GETEGID => {
                let (code, n) = match k {
                    id::GETUID => (202, "uid"),
                    id::GETEUID => (204, "euid"),
                    id::GETGID => (206, "gid"),
                    _ => (208, "egid"),
                };
                self.pair(
                    e,
                    code,
                    |_| {},
                    |p| {
                        p.u32(u32_(n));
                    },
                )
            }
            id::GETRLIMIT => self.pair(
                e,
                140,
                |p| {
                    p.u8(a.uint("resource") as u8);
                },
                |p| {
                    p.i64(res)
                        .i64(a.int("cur"))
                        .i64(a.int("max"))
                        .u8(a.uint("resource") as u8);
                },
            ),
            id::SETGROUPS => {
                let name = e.kind_name().into_owned();
                let nr = capture::syscalls::x86_64_number(&name).unwrap_or(0);
                self.generic(e, &name, nr)
            }
            _ => {
                *self
                    .rep
                    .dropped
                    .entry(e.kind_name().into_owned())
                    .or_default() += 1;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_encode_as_libscap_reads_them() {
        let mut p = Params::default();
        socktuple(
            &mut p,
            &SockAddr::Inet([127, 0, 0, 1], 47192),
            &SockAddr::Inet([127, 0, 0, 1], 80),
        );
        sockaddr(&mut p, &SockAddr::Unix(b"/run/x.sock"));
        socktuple(&mut p, &SockAddr::None, &SockAddr::None);
        let mut w = ScapWriter::new(Vec::new(), &MachineInfo::default()).expect("writer");
        w.event_params(0, 1, 7, 23, &p).expect("event");
        let f = scap::ScapFile::parse(&w.finish().expect("finish"));
        let e = &f.events[0];
        // The layout of the corpus's connect_localhost trace.
        assert_eq!(
            e.params.get(0),
            Some(&[2, 127, 0, 0, 1, 0x58, 0xb8, 127, 0, 0, 1, 80, 0][..])
        );
        assert_eq!(e.params.get(1), Some(&b"\x01/run/x.sock\0"[..]));
        assert_eq!(e.params.get(2), Some(&b""[..]));
    }

    #[test]
    fn snapshot_fds_keep_their_socket_layout() {
        let f = scap_fd(
            4,
            &FdTarget::Inet {
                proto: 6,
                local: vec![0; 16],
                local_port: 8080,
                remote: vec![0; 16],
                remote_port: 0,
                listening: true,
            },
        );
        assert_eq!(f.kind, 6);
        let mut w = ScapWriter::new(Vec::new(), &MachineInfo::default()).expect("writer");
        w.fds(1, &[f, scap_fd(5, &FdTarget::Pipe { ino: 9 })])
            .expect("fds");
        let back = scap::ScapFile::parse(&w.finish().expect("finish"));
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        let l = &back.fds[&1];
        assert_eq!(
            l[0].sock.as_ref().map(|s| (s.sport, s.listening)),
            Some((8080, true))
        );
        assert_eq!(l[1].name, "pipe:[9]");
    }
}
