//! Synthetic captures with a realistic event mix, for tests and benchmarks.
//!
//! The generator simulates a small server: a web server whose workers accept
//! connections, open static files and write responses; a database doing
//! positioned reads and writes; interactive shells that fork and exec tools
//! (ls, cat, grep, curl, ps) which load libraries, read files and exit; a cron
//! job; outbound clients. Every event follows the event table, file
//! descriptors are opened before use and closed after, children are forked
//! before they exec, and a loss record appears now and then. The output is a
//! pure function of the seed and the event count, and memory use is constant,
//! so 10M+ events stream straight into a writer.

use crate::args::SockAddr;
use crate::error::Result;
use crate::kind::id;
use crate::schema::{CaptureMeta, FdInfo, FdTarget, GroupInfo, ProcessInfo, Snapshot, UserInfo};
use crate::writer::{CaptureWriter, EventHeader, Sink};

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Number of events to generate.
    pub events: u64,
    /// Seed; the same seed and count give the same capture.
    pub seed: u64,
    /// CPUs of the simulated host.
    pub num_cpus: u16,
    /// Event-clock timestamp of the first event (ns since boot).
    pub start_ts: u64,
    /// Wall-clock time of the event clock's zero.
    pub boot_time_unix_ns: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            events: 100_000,
            seed: 1,
            num_cpus: 4,
            start_ts: 3_600_000_000_000,
            boot_time_unix_ns: 1_790_000_000_000_000_000,
        }
    }
}

/// The metadata a synthetic capture carries.
pub fn synth_meta(cfg: &SynthConfig) -> CaptureMeta {
    CaptureMeta {
        hostname: "synth-web-01".into(),
        kernel_release: "6.18.0-synthetic".into(),
        arch: "x86_64".into(),
        num_cpus: u32::from(cfg.num_cpus),
        boot_time_unix_ns: cfg.boot_time_unix_ns,
        recorder: format!("ferret-synth {}", env!("CARGO_PKG_VERSION")),
        command_line: vec![
            "synth".into(),
            format!("--events={}", cfg.events),
            format!("--seed={}", cfg.seed),
        ],
        filters: Vec::new(),
        snaplen: 80,
        start_unix_ns: cfg.boot_time_unix_ns + cfg.start_ts,
        segment: 0,
        source: "synthetic".into(),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

#[derive(Clone)]
struct Proc {
    pid: u32,
    ppid: u32,
    uid: u32,
    comm: &'static str,
    exe: &'static str,
    args: Vec<String>,
    cpu: u16,
    next_fd: i32,
}

const STATIC_FILES: &[&str] = &[
    "/var/www/html/index.html",
    "/var/www/html/app.js",
    "/var/www/html/style.css",
    "/var/www/html/logo.png",
    "/var/www/html/api/status.json",
];
/// The first 64 bytes of an x86_64 shared object, as a loader reads them.
const ELF_HEADER: [u8; 64] = {
    let mut h = [0u8; 64];
    let head = *b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0\x01\0\0\0";
    let mut i = 0;
    while i < head.len() {
        h[i] = head[i];
        i += 1;
    }
    h
};

/// The start of /etc/passwd, a snap length of it.
const PASSWD: &[u8; 80] =
    b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";

/// Packages whose documentation a scan reads.
const DOC_PACKAGES: &[&str] = &[
    "bash",
    "coreutils",
    "dpkg",
    "apt",
    "libc6",
    "openssl",
    "curl",
    "python3",
    "perl-base",
    "gzip",
    "tar",
    "grep",
    "sed",
    "findutils",
    "util-linux",
    "systemd",
    "openssh-client",
    "ca-certificates",
    "libssl3",
    "zlib1g",
];

/// Text read from files: data events carry up to 80 bytes (the recorder's
/// default snap length).
const TEXT: &[u8; 80] =
    b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstr";

const LIBS: &[&str] = &[
    "/etc/ld.so.cache",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libselinux.so.1",
    "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
    "/usr/lib/locale/locale-archive",
];
const TOOLS: &[(&str, &str, &[&str])] = &[
    ("ls", "/usr/bin/ls", &["ls", "-la", "/var/log"]),
    ("cat", "/usr/bin/cat", &["cat", "/etc/hostname"]),
    (
        "grep",
        "/usr/bin/grep",
        &["grep", "-r", "error", "/var/log/nginx"],
    ),
    ("ps", "/usr/bin/ps", &["ps", "aux"]),
    (
        "curl",
        "/usr/bin/curl",
        &["curl", "-s", "http://127.0.0.1:8080/health"],
    ),
    ("id", "/usr/bin/id", &[]),
];
const READ_FILES: &[&str] = &[
    "/etc/hostname",
    "/etc/passwd",
    "/proc/meminfo",
    "/var/log/nginx/error.log",
    "/etc/nsswitch.conf",
];

/// Streams a synthetic capture's events into `w`. Returns the number written.
pub fn generate<W: Sink>(cfg: &SynthConfig, w: &mut CaptureWriter<W>) -> Result<u64> {
    Synth::new(cfg).fill(w, cfg.events)
}

/// A whole synthetic capture in memory, in chunks of `chunk_events`
/// events (for tests and benchmarks). Returns it and its size in bytes.
pub fn in_memory(cfg: &SynthConfig, chunk_events: u32) -> Result<(crate::Capture, u64)> {
    let mut w = crate::CaptureWriterBuilder::new()
        .chunk_events(chunk_events)
        .build(
            Vec::new(),
            "synthetic",
            &synth_meta(cfg),
            Some(&synth_snapshot(cfg)),
        )?;
    generate(cfg, &mut w)?;
    let bytes = w.finish(0)?.0;
    let len = bytes.len() as u64;
    Ok((
        crate::Capture::from_bytes(crate::Bytes::Owned(bytes), "synthetic.cap")?,
        len,
    ))
}

/// A generator that can be driven in steps (to report progress between them);
/// the events are the same as one [`generate`] call's.
pub struct Synth(Gen);

impl Synth {
    /// A generator for `cfg` (its `events` is ignored; see [`Synth::fill`]).
    pub fn new(cfg: &SynthConfig) -> Synth {
        Synth(Gen::new(cfg))
    }

    /// Generates until `total` events have been written since creation;
    /// returns the total so far.
    pub fn fill<W: Sink>(&mut self, w: &mut CaptureWriter<W>, total: u64) -> Result<u64> {
        self.0.target = total;
        self.0.run(w)
    }
}

/// The snapshot matching [`generate`]'s starting processes.
pub fn synth_snapshot(cfg: &SynthConfig) -> Snapshot {
    let g = Gen::new(cfg);
    let processes = g
        .procs
        .iter()
        .map(|p| ProcessInfo {
            pid: p.pid,
            ppid: p.ppid,
            threads: vec![p.pid],
            uid: p.uid,
            gid: p.uid,
            euid: p.uid,
            egid: p.uid,
            loginuid: if p.comm == "bash" { 1000 } else { u32::MAX },
            comm: p.comm.into(),
            exe: p.exe.into(),
            args: p.args.clone(),
            cwd: if p.comm == "bash" {
                "/home/alice".into()
            } else {
                "/".into()
            },
            tty: if p.comm == "bash" { 34816 } else { 0 },
            start_ts: cfg.start_ts.saturating_sub(1_000_000_000),
            cgroup: "/system.slice".into(),
            container_id: String::new(),
            cap_effective: if p.uid == 0 { 0x1ff_ffff_ffff } else { 0 },
            fds: vec![
                FdInfo {
                    fd: 0,
                    target: FdTarget::File {
                        path: "/dev/null".into(),
                    },
                },
                FdInfo {
                    fd: 1,
                    target: FdTarget::File {
                        path: "/dev/null".into(),
                    },
                },
                FdInfo {
                    fd: 2,
                    target: FdTarget::File {
                        path: "/dev/null".into(),
                    },
                },
            ],
        })
        .collect();
    Snapshot {
        processes,
        users: vec![
            UserInfo {
                uid: 0,
                gid: 0,
                name: "root".into(),
                home: "/root".into(),
                shell: "/bin/bash".into(),
            },
            UserInfo {
                uid: 33,
                gid: 33,
                name: "www-data".into(),
                home: "/var/www".into(),
                shell: "/usr/sbin/nologin".into(),
            },
            UserInfo {
                uid: 105,
                gid: 110,
                name: "postgres".into(),
                home: "/var/lib/postgresql".into(),
                shell: "/bin/bash".into(),
            },
            UserInfo {
                uid: 1000,
                gid: 1000,
                name: "alice".into(),
                home: "/home/alice".into(),
                shell: "/bin/bash".into(),
            },
        ],
        groups: vec![
            GroupInfo {
                gid: 0,
                name: "root".into(),
            },
            GroupInfo {
                gid: 33,
                name: "www-data".into(),
            },
            GroupInfo {
                gid: 110,
                name: "postgres".into(),
            },
            GroupInfo {
                gid: 1000,
                name: "alice".into(),
            },
        ],
    }
}

struct Gen {
    rng: Rng,
    ts: u64,
    target: u64,
    written: u64,
    procs: Vec<Proc>,
    next_pid: u32,
    num_cpus: u16,
}

impl Gen {
    fn new(cfg: &SynthConfig) -> Gen {
        let mk = |pid, ppid, uid, comm, exe, args: &[&str], cpu| Proc {
            pid,
            ppid,
            uid,
            comm,
            exe,
            args: args.iter().map(|s| s.to_string()).collect(),
            cpu,
            next_fd: 3,
        };
        let mut procs = vec![
            mk(
                1,
                0,
                0,
                "systemd",
                "/usr/lib/systemd/systemd",
                &["/sbin/init"],
                0,
            ),
            mk(
                410,
                1,
                0,
                "sshd",
                "/usr/sbin/sshd",
                &["sshd: /usr/sbin/sshd -D"],
                1,
            ),
            mk(
                520,
                1,
                0,
                "nginx",
                "/usr/sbin/nginx",
                &["nginx: master process"],
                0,
            ),
            mk(
                610,
                1,
                105,
                "postgres",
                "/usr/lib/postgresql/15/bin/postgres",
                &["postgres", "-D", "/var/lib/postgresql/15/main"],
                2,
            ),
            mk(
                700,
                1,
                0,
                "cron",
                "/usr/sbin/cron",
                &["/usr/sbin/cron", "-f"],
                3,
            ),
            mk(1200, 410, 1000, "bash", "/usr/bin/bash", &["-bash"], 1),
        ];
        for i in 0..4u32 {
            procs.push(mk(
                521 + i,
                520,
                33,
                "nginx",
                "/usr/sbin/nginx",
                &["nginx: worker process"],
                (i % 4) as u16,
            ));
        }
        for i in 0..2u32 {
            procs.push(mk(
                611 + i,
                610,
                105,
                "postgres",
                "/usr/lib/postgresql/15/bin/postgres",
                &["postgres: checkpointer"],
                2,
            ));
        }
        for p in procs.iter_mut() {
            p.cpu %= cfg.num_cpus.max(1);
        }
        Gen {
            rng: Rng(cfg.seed ^ 0x5eed_f00d),
            ts: cfg.start_ts,
            target: cfg.events,
            written: 0,
            procs,
            next_pid: 2000,
            num_cpus: cfg.num_cpus.max(1),
        }
    }

    fn done(&self) -> bool {
        self.written >= self.target
    }

    fn emit<W: Sink>(
        &mut self,
        w: &mut CaptureWriter<W>,
        p: &Proc,
        kind: u16,
        ret: i64,
        args: impl FnOnce(&mut crate::args::ArgWriter<'_>),
    ) -> Result<()> {
        if self.done() {
            return Ok(());
        }
        // Bursty inter-arrival times: mostly a few microseconds.
        let spread = if self.rng.chance(20) { 200_000 } else { 6_000 };
        self.ts += 200 + self.rng.below(spread);
        let cpu = if self.rng.chance(30) {
            self.rng.below(u64::from(self.num_cpus)) as u16
        } else {
            p.cpu
        };
        let h = EventHeader {
            ts: self.ts,
            cpu,
            pid: p.pid,
            tid: p.pid,
            kind,
            ret,
        };
        w.push(&h, args)?;
        self.written += 1;
        Ok(())
    }

    fn run<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<u64> {
        while !self.done() {
            // Weights calibrated against a real recording of a busy host
            // (bench/workload.sh through the recorder; `cargo bench -p
            // engine --bench real` prints both profiles): opens, reads and
            // closes of many files dominate, then process churn.
            let roll = self.rng.below(1000);
            if roll < 150 {
                self.web_request(w)?;
            } else if roll < 230 {
                self.db_io(w)?;
            } else if roll < 450 {
                self.shell_command(w)?;
            } else if roll < 510 {
                self.outbound(w)?;
            } else if roll < 550 {
                self.file_admin(w)?;
            } else if roll < 960 {
                self.file_scan(w)?;
            } else if roll < 999 {
                self.memory(w)?;
            } else {
                let (ts, cpu) = (self.ts, self.rng.below(u64::from(self.num_cpus)) as u16);
                let n = 1 + self.rng.below(500);
                if !self.done() {
                    w.push_loss(ts + 1, cpu, n, ts.saturating_sub(50_000), ts)?;
                    self.written += 1;
                }
            }
        }
        Ok(self.written)
    }

    fn worker(&mut self, comm: &str) -> Proc {
        // Workers are the non-master processes of a service (parent is not init).
        let n = self
            .procs
            .iter()
            .filter(|p| p.comm == comm && p.ppid != 1)
            .count();
        let k = self.rng.below(n as u64) as usize;
        let p = self
            .procs
            .iter()
            .filter(|p| p.comm == comm && p.ppid != 1)
            .nth(k);
        p.unwrap_or(&self.procs[0]).clone()
    }

    fn alloc_fd(&mut self, pid: u32) -> i32 {
        let p = self.procs.iter_mut().find(|p| p.pid == pid);
        match p {
            Some(p) => {
                let fd = p.next_fd;
                p.next_fd = if p.next_fd > 60 { 3 } else { p.next_fd + 1 };
                fd
            }
            None => 3,
        }
    }

    fn web_request<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self.worker("nginx");
        let conn = self.alloc_fd(p.pid) as i64;
        let client = [
            10,
            0,
            self.rng.below(4) as u8,
            10 + self.rng.below(200) as u8,
        ];
        let cport = 32768 + self.rng.below(28000) as u16;
        self.emit(w, &p, id::ACCEPT4, conn, |a| {
            a.int(6)
                .sockaddr(&SockAddr::Inet(client, cport))
                .sockaddr(&SockAddr::Inet([10, 0, 0, 5], 443))
                .uint(0o4000);
        })?;
        let req = 300 + self.rng.below(500) as i64;
        self.emit(w, &p, id::RECVFROM, req, |a| {
            a.int(conn)
                .uint(8192)
                .sockaddr(&SockAddr::None)
                .bytes(b"GET /index.html HTTP/1.1\r\nHost: www");
        })?;
        let path = *self.rng.pick(STATIC_FILES);
        let miss = self.rng.chance(50);
        let ffd = if miss {
            -2
        } else {
            self.alloc_fd(p.pid) as i64
        };
        self.emit(w, &p, id::OPENAT, ffd, |a| {
            a.int(-100).str(path).uint(0o2000000).uint(0);
        })?;
        if !miss {
            let size = 500 + self.rng.below(60_000) as i64;
            self.emit(w, &p, id::READ, size, |a| {
                a.int(ffd)
                    .uint(65536)
                    .bytes(b"<!doctype html><html><head><title>");
            })?;
            self.emit(w, &p, id::WRITEV, size + 200, |a| {
                a.int(conn)
                    .uint(size as u64 + 200)
                    .bytes(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n");
            })?;
            self.emit(w, &p, id::CLOSE, 0, |a| {
                a.int(ffd);
            })?;
        } else {
            self.emit(w, &p, id::WRITE, 180, |a| {
                a.int(conn).uint(180).bytes(b"HTTP/1.1 404 Not Found\r\n");
            })?;
        }
        self.emit(w, &p, id::WRITE, 120, |a| {
            a.int(4)
                .uint(120)
                .bytes(b"10.0.0.1 - - \"GET /index.html\" 200");
        })?;
        self.emit(w, &p, id::CLOSE, 0, |a| {
            a.int(conn);
        })
    }

    fn db_io<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self.worker("postgres");
        let rel = 16384 + self.rng.below(40) as u32;
        let n = 2 + self.rng.below(6);
        for _ in 0..n {
            let pos = self.rng.below(4096) * 8192;
            let write = self.rng.chance(300);
            let kind = if write { id::PWRITE64 } else { id::PREAD64 };
            self.emit(w, &p, kind, 8192, |a| {
                a.int(7 + i64::from(rel % 8))
                    .uint(8192)
                    .uint(pos)
                    .bytes(&[0, 0, 0, 0, 1, 0, 0, 0]);
            })?;
        }
        if self.rng.chance(100) {
            let path = format!("/var/lib/postgresql/15/main/base/5/{rel}");
            let fd = self.alloc_fd(p.pid) as i64;
            self.emit(w, &p, id::OPENAT, fd, |a| {
                a.int(-100).str(&path).uint(0o2).uint(0o600);
            })?;
            self.emit(w, &p, id::CLOSE, 0, |a| {
                a.int(fd);
            })?;
        }
        Ok(())
    }

    fn shell_command<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let shell = self.worker("bash");
        let child_pid = self.next_pid;
        self.next_pid = if self.next_pid > 4_000_000 {
            2000
        } else {
            self.next_pid + 1
        };
        self.emit(w, &shell, id::CLONE, i64::from(child_pid), |a| {
            a.uint(0x1200011);
        })?;
        self.emit(w, &shell, id::PROC_FORK, 0, |a| {
            a.int(i64::from(child_pid))
                .int(i64::from(child_pid))
                .uint(0x1200011);
        })?;
        let &(comm, exe, argv) = self.rng.pick(TOOLS);
        let mut child = Proc {
            pid: child_pid,
            ppid: shell.pid,
            next_fd: 3,
            ..shell.clone()
        };
        let argv: Vec<&str> = if argv.is_empty() {
            vec![comm]
        } else {
            argv.to_vec()
        };
        self.emit(w, &child, id::EXECVE, 0, |a| {
            a.str(exe).str_list(argv.iter()).str_list([
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "HOME=/home/alice",
                "TERM=xterm-256color",
            ]);
        })?;
        self.emit(w, &child, id::PROC_EXEC, 0, |a| {
            a.str(exe)
                .str_list(argv.iter())
                .str(comm)
                .str("/home/alice")
                .uint(1000)
                .uint(1000)
                .uint(1000)
                .uint(1000)
                .uint(34816)
                .str("/user.slice/user-1000.slice/session-3.scope")
                .str_list(["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/alice"]);
        })?;
        child.comm = comm;
        child.exe = exe;
        for lib in LIBS {
            let fd = 3i64;
            self.emit(w, &child, id::OPENAT, fd, |a| {
                a.int(-100).str(lib).uint(0o2000000).uint(0);
            })?;
            self.emit(w, &child, id::READ, 832, |a| {
                a.int(fd).uint(832).bytes(&ELF_HEADER);
            })?;
            let base = 0x7f00_0000_0000 + self.rng.below(1 << 30) as i64 * 4096;
            self.emit(w, &child, id::MMAP, base, |a| {
                a.uint(0)
                    .uint(2_101_248)
                    .uint(0x5)
                    .uint(0x802)
                    .int(fd)
                    .uint(0);
            })?;
            self.emit(w, &child, id::CLOSE, 0, |a| {
                a.int(fd);
            })?;
        }
        if comm == "curl" {
            self.emit(w, &child, id::SOCKET, 3, |a| {
                a.uint(2).uint(1).uint(6);
            })?;
            self.emit(w, &child, id::CONNECT, 0, |a| {
                a.int(3)
                    .sockaddr(&SockAddr::Inet([127, 0, 0, 1], 8080))
                    .sockaddr(&SockAddr::Inet([127, 0, 0, 1], 41000));
            })?;
            self.emit(w, &child, id::SENDTO, 78, |a| {
                a.int(3)
                    .uint(78)
                    .sockaddr(&SockAddr::None)
                    .bytes(b"GET /health HTTP/1.1\r\n");
            })?;
            self.emit(w, &child, id::RECVFROM, 230, |a| {
                a.int(3)
                    .uint(102400)
                    .sockaddr(&SockAddr::None)
                    .bytes(b"HTTP/1.1 200 OK\r\n");
            })?;
        } else {
            let f = *self.rng.pick(READ_FILES);
            let ok = !(f == "/etc/passwd" && self.rng.chance(100));
            self.emit(w, &child, id::OPENAT, if ok { 3 } else { -13 }, |a| {
                a.int(-100).str(f).uint(0).uint(0);
            })?;
            if ok {
                for _ in 0..1 + self.rng.below(4) {
                    self.emit(w, &child, id::READ, 4096, |a| {
                        a.int(3).uint(4096).bytes(&PASSWD[..]);
                    })?;
                }
                self.emit(w, &child, id::CLOSE, 0, |a| {
                    a.int(3);
                })?;
            }
        }
        for _ in 0..1 + self.rng.below(5) {
            self.emit(w, &child, id::WRITE, 64, |a| {
                a.int(1)
                    .uint(64)
                    .bytes(b"total 48\ndrwxr-xr-x 2 root root 4096 ");
            })?;
        }
        self.emit(w, &child, id::EXIT_GROUP, 0, |a| {
            a.int(0);
        })?;
        self.emit(w, &child, id::PROC_EXIT, 0, |a| {
            a.int(0).int(0);
        })
    }

    fn outbound<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self.worker("nginx");
        let fd = self.alloc_fd(p.pid) as i64;
        let upstream = [10, 0, 1, 20 + self.rng.below(4) as u8];
        self.emit(w, &p, id::SOCKET, fd, |a| {
            a.uint(2).uint(1).uint(6);
        })?;
        let refused = self.rng.chance(30);
        self.emit(w, &p, id::CONNECT, if refused { -111 } else { -115 }, |a| {
            a.int(fd)
                .sockaddr(&SockAddr::Inet(upstream, 8080))
                .sockaddr(&SockAddr::Inet([10, 0, 0, 5], 40000 + (fd as u16)));
        })?;
        if !refused {
            self.emit(w, &p, id::SENDTO, 420, |a| {
                a.int(fd)
                    .uint(420)
                    .sockaddr(&SockAddr::None)
                    .bytes(b"POST /api/v1/orders HTTP/1.1\r\n");
            })?;
            for _ in 0..1 + self.rng.below(3) {
                self.emit(w, &p, id::RECVFROM, 1400, |a| {
                    a.int(fd)
                        .uint(16384)
                        .sockaddr(&SockAddr::None)
                        .bytes(b"HTTP/1.1 201 Created\r\n");
                })?;
            }
        }
        self.emit(w, &p, id::CLOSE, 0, |a| {
            a.int(fd);
        })
    }

    fn file_admin<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self
            .procs
            .iter()
            .find(|p| p.comm == "cron")
            .cloned()
            .unwrap_or_else(|| self.procs[0].clone());
        let n = self.rng.below(100_000);
        let tmp = format!("/var/spool/cron/tmp.{n:05}");
        self.emit(w, &p, id::OPENAT, 5, |a| {
            a.int(-100).str(&tmp).uint(0o101).uint(0o600);
        })?;
        self.emit(w, &p, id::WRITE, 310, |a| {
            a.int(5).uint(310).bytes(b"# m h dom mon dow command\n");
        })?;
        self.emit(w, &p, id::CLOSE, 0, |a| {
            a.int(5);
        })?;
        self.emit(w, &p, id::FCHMODAT, 0, |a| {
            a.int(-100).str(&tmp).uint(0o644);
        })?;
        if self.rng.chance(500) {
            self.emit(w, &p, id::RENAMEAT2, 0, |a| {
                a.int(-100)
                    .str(&tmp)
                    .int(-100)
                    .str("/var/spool/cron/crontabs/root")
                    .uint(0);
            })
        } else {
            self.emit(w, &p, id::UNLINKAT, 0, |a| {
                a.int(-100).str(&tmp).uint(0);
            })
        }
    }

    /// A shell loop reading files (find | xargs sha256sum, grep -r): opens,
    /// reads of up to a snap length of text, closes; some opens fail.
    fn file_scan<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self.worker("bash");
        for _ in 0..3 + self.rng.below(6) {
            let path = format!(
                "/usr/share/doc/{}/{}",
                self.rng.pick(DOC_PACKAGES),
                self.rng
                    .pick(&["copyright", "changelog.Debian.gz", "README", "NEWS.gz"])
            );
            let ok = !self.rng.chance(50);
            let fd = if ok { self.alloc_fd(p.pid) as i64 } else { -2 };
            self.emit(w, &p, id::OPENAT, fd, |a| {
                a.int(-100).str(&path).uint(0o2400000).uint(0);
            })?;
            if !ok {
                continue;
            }
            // A third are directories (find walking the tree): opened
            // with O_DIRECTORY and closed without a read of data.
            if self.rng.chance(330) {
                self.emit(w, &p, id::CLOSE, 0, |a| {
                    a.int(fd);
                })?;
                continue;
            }
            for _ in 0..1 + self.rng.below(2) {
                let n = 40 + self.rng.below(41) as usize;
                self.emit(w, &p, id::READ, 4096, |a| {
                    a.int(fd).uint(4096).bytes(&TEXT[..n]);
                })?;
            }
            self.emit(w, &p, id::CLOSE, 0, |a| {
                a.int(fd);
            })?;
        }
        Ok(())
    }

    fn memory<W: Sink>(&mut self, w: &mut CaptureWriter<W>) -> Result<()> {
        let p = self.worker("postgres");
        let addr = 0x7f10_0000_0000u64 + self.rng.below(1 << 20) * 4096;
        self.emit(w, &p, id::MMAP, addr as i64, |a| {
            a.uint(0).uint(1 << 21).uint(0x3).uint(0x22).int(-1).uint(0);
        })?;
        self.emit(w, &p, id::MPROTECT, 0, |a| {
            a.uint(addr).uint(4096).uint(0x1);
        })
    }
}
