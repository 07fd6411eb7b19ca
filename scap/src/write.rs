//! Writing `.scap` files (format 1.2, as current libscap writes them): a
//! section header, machine info, a process list (version 9), a user list
//! (version 2), fd lists (version 2) and events in `EV_V2` blocks with
//! parameters already encoded by the caller ([`param`] has the encodings of
//! libscap's `PT_*` types).
//!
//! Ferret's own reader and sysdig read what this writes; the committed
//! `.scap` fixtures are made with it, so that the importer's regressions are
//! tested on a bare clone with data the project owns.

use std::io::{self, Write};

use crate::{block, MachineInfo, ScapAccount, ScapFd, ScapProcess};

/// libscap's limit on a path in a process list (`SCAP_MAX_PATH_SIZE`).
const MAX_PATH: usize = 1024;
/// libscap's limit on argv, environment and cgroups in a process list
/// (`SCAP_MAX_ARGS_SIZE`, `SCAP_MAX_ENV_SIZE`, `SCAP_MAX_CGROUPS_SIZE`).
const MAX_ARGS: usize = 4096;

/// Writes a `.scap` stream to `W`.
pub struct ScapWriter<W: Write> {
    w: W,
}

fn str16(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&s[..n]);
}

fn list(items: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    for i in items {
        b.extend_from_slice(i.as_bytes());
        b.push(0);
    }
    b
}

impl<W: Write> ScapWriter<W> {
    /// Starts a file: section header (1.2) and machine info.
    pub fn new(w: W, mi: &MachineInfo) -> io::Result<ScapWriter<W>> {
        let mut s = ScapWriter { w };
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&2u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        s.block(block::SHB, &shb)?;
        let mut m = Vec::new();
        m.extend_from_slice(&mi.num_cpus.to_le_bytes());
        m.extend_from_slice(&mi.memory_bytes.to_le_bytes());
        m.extend_from_slice(&mi.max_pid.to_le_bytes());
        let mut host = [0u8; 128];
        let h = mi.hostname.as_bytes();
        let n = h.len().min(127);
        host[..n].copy_from_slice(&h[..n]);
        m.extend_from_slice(&host);
        m.extend_from_slice(&mi.boot_ts_epoch.to_le_bytes());
        m.extend_from_slice(&[0u8; 24]); // flags, reserved3, reserved4
        s.block(block::MI, &m)?;
        Ok(s)
    }

    fn block(&mut self, ty: u32, body: &[u8]) -> io::Result<()> {
        let padded = (body.len() + 3) & !3;
        let total = (12 + padded) as u32;
        self.w.write_all(&ty.to_le_bytes())?;
        self.w.write_all(&total.to_le_bytes())?;
        self.w.write_all(body)?;
        self.w.write_all(&[0u8; 3][..padded - body.len()])?;
        self.w.write_all(&total.to_le_bytes())
    }

    /// The process list (version 9): one entry per thread. Text longer
    /// than libscap accepts in a process list (paths 1024 bytes, argv,
    /// environment and cgroups 4096: `SCAP_MAX_PATH_SIZE`,
    /// `SCAP_MAX_ARGS_SIZE`; a longer one makes readers refuse the file) is
    /// cut to fit; returns how many values were cut.
    pub fn processes(&mut self, procs: &[ScapProcess]) -> io::Result<u64> {
        let mut cut = 0u64;
        let mut fit = |b: &[u8], max: usize| -> Vec<u8> {
            if b.len() > max {
                cut += 1;
                b[..max].to_vec()
            } else {
                b.to_vec()
            }
        };
        let mut body = Vec::new();
        for p in procs {
            let comm = fit(p.comm.as_bytes(), MAX_PATH);
            let exe = fit(p.exe.as_bytes(), MAX_PATH);
            let exepath = fit(p.exepath.as_deref().unwrap_or("").as_bytes(), MAX_PATH);
            let args = fit(&list(&p.args), MAX_ARGS);
            let cwd = fit(p.cwd.as_bytes(), MAX_PATH);
            let env = fit(&list(&p.env), MAX_ARGS);
            let cgroups = fit(&list(&p.cgroups), MAX_ARGS);
            let mut e = Vec::new();
            e.extend_from_slice(&p.tid.to_le_bytes());
            e.extend_from_slice(&p.pid.to_le_bytes());
            e.extend_from_slice(&p.ptid.to_le_bytes());
            e.extend_from_slice(&p.sid.unwrap_or(0).to_le_bytes());
            e.extend_from_slice(&0u64.to_le_bytes()); // vpgid
            str16(&mut e, &comm);
            str16(&mut e, &exe);
            str16(&mut e, &exepath);
            str16(&mut e, &args);
            str16(&mut e, &cwd);
            e.extend_from_slice(&1024u64.to_le_bytes()); // fdlimit
            e.extend_from_slice(&0u32.to_le_bytes()); // flags
            e.extend_from_slice(&p.uid.to_le_bytes());
            e.extend_from_slice(&p.gid.to_le_bytes());
            e.extend_from_slice(&[0u8; 4 * 3 + 8 * 2]); // vm sizes, page faults
            str16(&mut e, &env);
            e.extend_from_slice(&(p.tid as i64).to_le_bytes()); // vtid
            e.extend_from_slice(&(p.pid as i64).to_le_bytes()); // vpid
            str16(&mut e, &cgroups);
            str16(&mut e, b"/"); // root
            e.extend_from_slice(&0u64.to_le_bytes()); // pidns_init_start_ts
            e.extend_from_slice(&p.tty.unwrap_or(0).to_le_bytes());
            e.extend_from_slice(&p.loginuid.unwrap_or(u32::MAX).to_le_bytes());
            e.push(0); // exe_writable
            e.extend_from_slice(&[0u8; 24]); // capabilities: inheritable, permitted, effective
            e.push(0); // exe_upper_layer
            e.extend_from_slice(&[0u8; 24]); // exe inode, ctime, mtime
            e.push(0); // exe_from_memfd
            e.push(0); // exe_lower_layer
            e.extend_from_slice(&(p.pid as i64).to_le_bytes()); // pgid
            body.extend_from_slice(&(e.len() as u32 + 4).to_le_bytes());
            body.extend_from_slice(&e);
        }
        self.block(0x215, &body)?;
        Ok(cut)
    }

    /// The user and group list (version 2).
    pub fn accounts(&mut self, accounts: &[ScapAccount]) -> io::Result<()> {
        let mut body = Vec::new();
        for a in accounts {
            let mut e = Vec::new();
            match a {
                ScapAccount::User {
                    uid,
                    gid,
                    name,
                    home,
                    shell,
                } => {
                    e.push(0);
                    e.extend_from_slice(&uid.to_le_bytes());
                    e.extend_from_slice(&gid.to_le_bytes());
                    str16(&mut e, name.as_bytes());
                    str16(&mut e, home.as_bytes());
                    str16(&mut e, shell.as_bytes());
                }
                ScapAccount::Group { gid, name } => {
                    e.push(1);
                    e.extend_from_slice(&gid.to_le_bytes());
                    str16(&mut e, name.as_bytes());
                }
            }
            body.extend_from_slice(&(e.len() as u32 + 4).to_le_bytes());
            body.extend_from_slice(&e);
        }
        self.block(block::UL_V2, &body)
    }

    /// The fd list of thread `tid` (version 2). Files are written as
    /// `FILE_V2` entries; sockets with their endpoints.
    pub fn fds(&mut self, tid: u64, fds: &[ScapFd]) -> io::Result<()> {
        let mut body = tid.to_le_bytes().to_vec();
        for f in fds {
            let mut e = Vec::new();
            e.extend_from_slice(&(f.fd as u64).to_le_bytes());
            e.extend_from_slice(&0u64.to_le_bytes()); // ino
            match &f.sock {
                Some(s) if !s.listening && (s.sip.len() == 4 || s.sip.len() == 16) => {
                    e.push(if s.sip.len() == 4 { 3 } else { 4 });
                    e.extend_from_slice(&s.sip);
                    let mut dip = s.dip.clone();
                    dip.resize(s.sip.len(), 0);
                    e.extend_from_slice(&dip);
                    e.extend_from_slice(&s.sport.to_le_bytes());
                    e.extend_from_slice(&s.dport.to_le_bytes());
                    e.push(s.l4);
                }
                Some(s) if s.sip.len() == 4 || s.sip.len() == 16 => {
                    e.push(if s.sip.len() == 4 { 5 } else { 6 });
                    e.extend_from_slice(&s.sip);
                    e.extend_from_slice(&s.sport.to_le_bytes());
                    e.push(s.l4);
                }
                _ => {
                    let kind = if f.kind == 1 { 16 } else { f.kind };
                    e.push(kind);
                    match kind {
                        16 => e.extend_from_slice(&0u32.to_le_bytes()), // open flags
                        8 => e.extend_from_slice(&[0u8; 16]),           // source, destination
                        _ => {}
                    }
                    str16(&mut e, f.name.as_bytes());
                }
            }
            body.extend_from_slice(&(e.len() as u32 + 4).to_le_bytes());
            body.extend_from_slice(&e);
        }
        self.block(block::FDL_V2, &body)
    }

    /// One event (`EV_V2`): its code (`PPME_*`), thread, time (Unix ns),
    /// CPU and encoded parameters.
    pub fn event(
        &mut self,
        cpu: u16,
        ts: u64,
        tid: u64,
        code: u16,
        params: &[Vec<u8>],
    ) -> io::Result<()> {
        let large = crate::LARGE_PAYLOAD.contains(&code);
        let lw = if large { 4 } else { 2 };
        let len = 26 + lw * params.len() + params.iter().map(Vec::len).sum::<usize>();
        let mut b = Vec::with_capacity(2 + len);
        b.extend_from_slice(&cpu.to_le_bytes());
        b.extend_from_slice(&ts.to_le_bytes());
        b.extend_from_slice(&tid.to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(&code.to_le_bytes());
        b.extend_from_slice(&(params.len() as u32).to_le_bytes());
        for p in params {
            if large {
                b.extend_from_slice(&(p.len() as u32).to_le_bytes());
            } else {
                b.extend_from_slice(&(p.len().min(u16::MAX as usize) as u16).to_le_bytes());
            }
        }
        for p in params {
            b.extend_from_slice(p);
        }
        self.block(0x216, &b)
    }

    /// One event (`EV_V2`) whose parameters are in `p`, written without a
    /// copy of its own: the exporter's path.
    pub fn event_params(
        &mut self,
        cpu: u16,
        ts: u64,
        tid: u64,
        code: u16,
        p: &Params,
    ) -> io::Result<()> {
        let large = crate::LARGE_PAYLOAD.contains(&code);
        let lw = if large { 4 } else { 2 };
        let n = p.lens.len();
        let len = 26 + lw * n + p.data.len();
        let body = 2 + len;
        let padded = (body + 3) & !3;
        let total = (12 + padded) as u32;
        let mut head = [0u8; 36];
        head[..4].copy_from_slice(&0x216u32.to_le_bytes());
        head[4..8].copy_from_slice(&total.to_le_bytes());
        head[8..10].copy_from_slice(&cpu.to_le_bytes());
        head[10..18].copy_from_slice(&ts.to_le_bytes());
        head[18..26].copy_from_slice(&tid.to_le_bytes());
        head[26..30].copy_from_slice(&(len as u32).to_le_bytes());
        head[30..32].copy_from_slice(&code.to_le_bytes());
        head[32..36].copy_from_slice(&(n as u32).to_le_bytes());
        self.w.write_all(&head)?;
        let mut lens = [0u8; 4 * Params::MAX];
        for (i, l) in p.lens.iter().enumerate() {
            if large {
                lens[i * 4..i * 4 + 4].copy_from_slice(&l.to_le_bytes());
            } else {
                lens[i * 2..i * 2 + 2].copy_from_slice(&(*l as u16).to_le_bytes());
            }
        }
        self.w.write_all(&lens[..lw * n])?;
        self.w.write_all(&p.data)?;
        self.w.write_all(&[0u8; 3][..padded - body])?;
        self.w.write_all(&total.to_le_bytes())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// The parameters of one event, encoded back to back as libscap's `PT_*`
/// types, reused from event to event.
#[derive(Default)]
pub struct Params {
    lens: Vec<u32>,
    data: Vec<u8>,
    /// Where the parameter being built began (see [`Params::begin`]).
    open: usize,
    /// Parameters cut to the 65,535 bytes an event's length field holds.
    cut: u64,
    /// Whether this event's lengths are 32-bit (a large-payload event).
    large: bool,
}

impl Params {
    /// The most parameters an event may have here (execve's exit has 31).
    pub const MAX: usize = 32;

    /// Empties the list for the next event.
    pub fn clear(&mut self) {
        self.lens.clear();
        self.data.clear();
        self.large = false;
    }

    /// Lifts the 16-bit limit for this event: its code is one of the
    /// large-payload events (`container` JSON), whose lengths are 32-bit.
    pub fn set_large(&mut self) {
        self.large = true;
    }

    fn limit(&self) -> usize {
        if self.large {
            u32::MAX as usize
        } else {
            Self::MAX_LEN
        }
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Whether there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The longest parameter an event (other than the few large-payload
    /// ones) can hold: its length is a u16.
    pub const MAX_LEN: usize = u16::MAX as usize;

    fn push(&mut self, b: &[u8]) -> &mut Params {
        debug_assert!(self.lens.len() < Self::MAX);
        let b = if b.len() > self.limit() {
            self.cut += 1;
            &b[..self.limit()]
        } else {
            b
        };
        self.data.extend_from_slice(b);
        self.lens.push(b.len() as u32);
        self
    }

    /// Parameters cut so far to fit an event's limits.
    pub fn cut(&self) -> u64 {
        self.cut
    }

    /// Makes the event fit the 64 KiB block that readers give an event
    /// that is not a large-payload one (libscap refuses a longer block):
    /// while it is too long, its longest parameter (argv, environment,
    /// data) is cut by the excess.
    pub fn fit(&mut self) {
        if self.large {
            return;
        }
        // Block header 12, CPU 2, event header 26, lengths 2 each, padding
        // up to 3.
        let budget = (1usize << 16) - 12 - 2 - 26 - 3 - 2 * self.lens.len();
        while self.data.len() > budget {
            let excess = self.data.len() - budget;
            let Some((i, &longest)) = self.lens.iter().enumerate().max_by_key(|(_, l)| **l) else {
                return;
            };
            let start: usize = self.lens[..i].iter().map(|l| *l as usize).sum();
            let keep = (longest as usize).saturating_sub(excess);
            self.data.drain(start + keep..start + longest as usize);
            self.lens[i] = keep as u32;
            self.cut += 1;
        }
    }

    /// `PT_ERRNO`, `PT_FD`, `PT_PID`, `PT_INT64`.
    pub fn i64(&mut self, v: i64) -> &mut Params {
        self.push(&v.to_le_bytes())
    }

    /// `PT_UINT64`, `PT_ABSTIME`, `PT_RELTIME`.
    pub fn u64(&mut self, v: u64) -> &mut Params {
        self.push(&v.to_le_bytes())
    }

    /// `PT_UINT32`, `PT_INT32`, `PT_FLAGS32`, `PT_MODE`, `PT_UID`, `PT_GID`.
    pub fn u32(&mut self, v: u32) -> &mut Params {
        self.push(&v.to_le_bytes())
    }

    /// `PT_UINT16`, `PT_FLAGS16`, `PT_SYSCALLID`.
    pub fn u16(&mut self, v: u16) -> &mut Params {
        self.push(&v.to_le_bytes())
    }

    /// `PT_UINT8`, `PT_FLAGS8`, `PT_SIGTYPE`.
    pub fn u8(&mut self, v: u8) -> &mut Params {
        self.push(&[v])
    }

    /// `PT_CHARBUF`, `PT_FSPATH`: the bytes up to any NUL, then a NUL.
    pub fn str(&mut self, s: &[u8]) -> &mut Params {
        let s = s.split(|&c| c == 0).next().unwrap_or(s);
        let s = if s.len() >= self.limit() {
            self.cut += 1;
            &s[..self.limit() - 1]
        } else {
            s
        };
        self.data.extend_from_slice(s);
        self.data.push(0);
        self.lens.push(s.len() as u32 + 1);
        self
    }

    /// `PT_BYTEBUF`: raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Params {
        self.push(b)
    }

    /// Starts a parameter whose bytes the caller appends to
    /// [`Params::buf`]; [`Params::end`] closes it.
    pub fn begin(&mut self) -> &mut Vec<u8> {
        self.open = self.data.len();
        &mut self.data
    }

    /// Closes the parameter opened by [`Params::begin`] (cut to
    /// [`Params::MAX_LEN`] when longer).
    pub fn end(&mut self) -> &mut Params {
        let mut n = self.data.len() - self.open;
        if n > self.limit() {
            self.cut += 1;
            self.data.truncate(self.open + self.limit());
            n = self.limit();
        }
        self.lens.push(n as u32);
        self
    }
}

/// Parameter encodings of libscap's `PT_*` types.
pub mod param {
    use std::net::Ipv4Addr;

    /// `PT_ERRNO`, `PT_FD`, `PT_PID`, `PT_INT64`: a little-endian i64.
    pub fn i64(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// `PT_UINT64`, `PT_ABSTIME`, `PT_RELTIME`.
    pub fn u64(v: u64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// `PT_UINT32`, `PT_FLAGS32`, `PT_UID`, `PT_GID`.
    pub fn u32(v: u32) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// `PT_INT32`.
    pub fn i32(v: i32) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// `PT_UINT8`, `PT_SIGTYPE`, `PT_FLAGS8`.
    pub fn u8(v: u8) -> Vec<u8> {
        vec![v]
    }

    /// `PT_CHARBUF`, `PT_FSPATH`: a NUL-terminated string.
    pub fn str(s: &str) -> Vec<u8> {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        b
    }

    /// `PT_BYTEBUF` holding a NUL-separated list (argv, env, cgroups).
    pub fn list(items: &[&str]) -> Vec<u8> {
        let mut b = Vec::new();
        for i in items {
            b.extend_from_slice(i.as_bytes());
            b.push(0);
        }
        b
    }

    /// `PT_BYTEBUF`: raw bytes.
    pub fn bytes(b: &[u8]) -> Vec<u8> {
        b.to_vec()
    }

    /// `PT_SOCKADDR` of an IPv4 address (`PPM_AF_INET` = 2).
    pub fn sockaddr4(ip: Ipv4Addr, port: u16) -> Vec<u8> {
        let mut b = vec![2];
        b.extend_from_slice(&ip.octets());
        b.extend_from_slice(&port.to_le_bytes());
        b
    }

    /// `PT_SOCKTUPLE` of an IPv4 connection, source then destination.
    pub fn socktuple4(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16)) -> Vec<u8> {
        let mut b = vec![2];
        b.extend_from_slice(&src.0.octets());
        b.extend_from_slice(&src.1.to_le_bytes());
        b.extend_from_slice(&dst.0.octets());
        b.extend_from_slice(&dst.1.to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ScapFile, ScapSock};

    /// What is written reads back the same through Ferret's reader.
    #[test]
    fn round_trip() {
        let mi = MachineInfo {
            num_cpus: 2,
            memory_bytes: 1 << 30,
            max_pid: 4_194_304,
            hostname: "fixture".into(),
            boot_ts_epoch: 1_700_000_000_000_000_000,
        };
        let procs = vec![ScapProcess {
            tid: 100,
            pid: 100,
            ptid: 1,
            sid: Some(100),
            comm: "bash".into(),
            exe: "bash".into(),
            exepath: Some("/usr/bin/bash".into()),
            args: vec!["-l".into()],
            cwd: "/root/".into(),
            uid: 0,
            gid: 0,
            env: vec!["HOME=/root".into()],
            cgroups: vec!["cpu=/".into()],
            tty: Some(34816),
            loginuid: Some(0),
        }];
        let fds = vec![
            ScapFd {
                fd: 3,
                kind: 1,
                name: "/var/log/x".into(),
                sock: None,
            },
            ScapFd {
                fd: 4,
                kind: 3,
                name: String::new(),
                sock: Some(ScapSock {
                    sip: vec![10, 0, 0, 1],
                    sport: 40000,
                    dip: vec![10, 0, 0, 2],
                    dport: 443,
                    l4: 6,
                    listening: false,
                }),
            },
        ];
        let mut w = ScapWriter::new(Vec::new(), &mi).expect("new");
        w.processes(&procs).expect("pl");
        w.accounts(&[ScapAccount::User {
            uid: 0,
            gid: 0,
            name: "root".into(),
            home: "/root".into(),
            shell: "/bin/bash".into(),
        }])
        .expect("ul");
        w.fds(100, &fds).expect("fdl");
        w.event(
            1,
            5,
            100,
            102,
            &[
                param::i64(-100),
                param::str("x"),
                param::u32(0),
                param::u32(0),
            ],
        )
        .expect("ev");
        w.event(1, 6, 100, 103, &[param::i64(5)]).expect("ev");
        let bytes = w.finish().expect("finish");
        let f = ScapFile::parse(&bytes);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        assert_eq!(f.version, (1, 2));
        assert_eq!(
            f.machine.as_ref().map(|m| m.hostname.as_str()),
            Some("fixture")
        );
        assert_eq!(f.processes, procs);
        assert_eq!(f.accounts.len(), 1);
        let got = &f.fds[&100];
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "/var/log/x");
        assert_eq!(got[1].sock.as_ref().map(|s| s.dport), Some(443));
        assert_eq!(f.events.len(), 2);
        assert_eq!(f.events[0].params.get(1), Some(&b"x\0"[..]));
        assert_eq!(f.events[1].params.first(), Some(&5i64.to_le_bytes()[..]));
        assert_eq!(
            (f.events[1].tid, f.events[1].ts, f.events[1].cpu),
            (100, 6, 1)
        );
    }
}
