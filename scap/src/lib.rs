//! Reading sysdig/Falco `.scap` captures at the block level.
//!
//! A `.scap` file (optionally gzip-compressed) is a sequence of pcapng-style
//! blocks: `u32 type, u32 total_len, body, padding to 4, u32 total_len`, all
//! little-endian. This crate reads the section header, machine info, process
//! lists (versions 1 to 9), fd lists (v1, v2), user and group lists (v1, v2),
//! skips interface lists, and returns event blocks (v1 and v2, with or without
//! flags, normal and large) as raw events: timestamp, thread, type code and
//! the parameter byte slices. Interpreting event codes and parameters (the
//! event table) and mapping them onto Ferret's capture model is the job of the
//! importer ([`import`]).
//!
//! A trace is read whole ([`ScapFile`]) or as a stream ([`ScapStream`]: the
//! header, then one event at a time, gzip inflated on a thread of its own),
//! which is how every import reads it: memory does not grow with the trace.
//!
//! Bad input never panics: a damaged or cut file yields every block read
//! before the damage and a [`ScapError`] naming the offset. Unknown block
//! types are counted and skipped.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

/// A problem in a `.scap` file, with its byte offset (in the decompressed
/// stream for gzip files).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset}: {reason}")]
pub struct ScapError {
    /// Where the damaged block starts.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// Machine information (MI block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineInfo {
    /// CPUs.
    pub num_cpus: u32,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Largest pid.
    pub max_pid: u64,
    /// Host name.
    pub hostname: String,
    /// Boot time (Unix ns), when recorded (0 otherwise).
    pub boot_ts_epoch: u64,
}

/// A process-list entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScapProcess {
    /// Thread id.
    pub tid: u64,
    /// Process id.
    pub pid: u64,
    /// Parent thread id.
    pub ptid: u64,
    /// Session id (V6+).
    pub sid: Option<u64>,
    /// Command name.
    pub comm: String,
    /// argv\[0\].
    pub exe: String,
    /// Executable path (V7+).
    pub exepath: Option<String>,
    /// Arguments after argv\[0\].
    pub args: Vec<String>,
    /// Current directory.
    pub cwd: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Environment (V3+).
    pub env: Vec<String>,
    /// cgroups as `subsys=path` (V4+).
    pub cgroups: Vec<String>,
    /// Controlling tty (V9).
    pub tty: Option<u32>,
    /// Audit login uid (V9).
    pub loginuid: Option<u32>,
}

/// An fd-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScapFd {
    /// The fd.
    pub fd: i64,
    /// libscap's fd type code.
    pub kind: u8,
    /// The name (path, tuple text, ...), when the entry has one.
    pub name: String,
    /// The endpoints of an IPv4 or IPv6 socket.
    pub sock: Option<ScapSock>,
}

/// The endpoints of a socket in an fd list: source and destination as the
/// capture stores them (a listening socket has only its own address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScapSock {
    /// Source address (4 or 16 bytes, network order).
    pub sip: Vec<u8>,
    /// Source port.
    pub sport: u16,
    /// Destination address (empty for a listening socket).
    pub dip: Vec<u8>,
    /// Destination port.
    pub dport: u16,
    /// Layer-4 protocol (libscap's SCAP_L4_*: 1 tcp, 2 udp, 3 icmp, 4 raw).
    pub l4: u8,
    /// Whether it is a listening (server) socket.
    pub listening: bool,
}

/// A user or group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScapAccount {
    /// A user.
    User {
        /// Uid.
        uid: u32,
        /// Gid.
        gid: u32,
        /// Name.
        name: String,
        /// Home directory.
        home: String,
        /// Shell.
        shell: String,
    },
    /// A group.
    Group {
        /// Gid.
        gid: u32,
        /// Name.
        name: String,
    },
}

/// One event, not yet interpreted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEvent {
    /// Offset of its block.
    pub offset: u64,
    /// CPU.
    pub cpu: u16,
    /// Block flags (EVF blocks), else 0.
    pub flags: u32,
    /// Timestamp, Unix ns.
    pub ts: u64,
    /// Thread id.
    pub tid: u64,
    /// Event type code (`PPME_*`): even for enter, odd for exit.
    pub code: u16,
    /// Parameters.
    pub params: Params,
}

/// The parameters of one event: their bytes in one buffer (they are
/// contiguous in the file) and where each ends. One allocation per event
/// instead of one per parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    data: Vec<u8>,
    ends: smallvec::SmallVec<[u32; 8]>,
}

impl Params {
    /// Parameters from their contiguous bytes and their lengths (which must
    /// add up to `data.len()`).
    pub fn new(data: &[u8], lens: impl IntoIterator<Item = usize>) -> Params {
        let mut p = Params::default();
        p.set(data, lens);
        p
    }

    /// Replaces the parameters, reusing the buffers.
    pub fn set(&mut self, data: &[u8], lens: impl IntoIterator<Item = usize>) {
        self.data.clear();
        self.data.extend_from_slice(data);
        self.ends.clear();
        let mut end = 0u32;
        self.ends.extend(lens.into_iter().map(|l| {
            end = end.saturating_add(l as u32);
            end
        }));
    }

    /// Parameter `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.data.get(start..end)
    }

    /// The first parameter.
    pub fn first(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl RawEvent {
    /// Whether it is an enter event.
    pub fn is_enter(&self) -> bool {
        self.code % 2 == 0
    }
}

/// A whole `.scap` file.
#[derive(Clone, Debug, Default)]
pub struct ScapFile {
    /// Section header version (major, minor).
    pub version: (u16, u16),
    /// Machine information.
    pub machine: Option<MachineInfo>,
    /// Process list, in file order.
    pub processes: Vec<ScapProcess>,
    /// Fd lists by thread id.
    pub fds: BTreeMap<u64, Vec<ScapFd>>,
    /// Users and groups.
    pub accounts: Vec<ScapAccount>,
    /// Events, in file order.
    pub events: Vec<RawEvent>,
    /// Blocks of each type (known and unknown), by type code.
    pub block_counts: BTreeMap<u32, u64>,
    /// Problems; reading stopped at the first one that makes the rest unreadable.
    pub problems: Vec<ScapError>,
}

pub mod flags;
pub mod import;
pub mod ppm_sc;
pub mod table;
pub mod write;

/// Block type codes.
pub mod block {
    /// Section header.
    pub const SHB: u32 = 0x0A0D_0D0A;
    /// Machine info.
    pub const MI: u32 = 0x201;
    /// Process list versions 1..9 (and the "international" variants).
    pub const PL: &[(u32, u8)] = &[
        (0x202, 1),
        (0x207, 2),
        (0x209, 3),
        (0x210, 4),
        (0x211, 5),
        (0x212, 6),
        (0x213, 7),
        (0x214, 8),
        (0x215, 9),
        (0x8000_ABCD, 1),
        (0x8013_ABCD, 2),
        (0x8014_ABCD, 3),
    ];
    /// Fd list v1.
    pub const FDL: u32 = 0x203;
    /// Fd list v1, international.
    pub const FDL_INT: u32 = 0x8001_ABCD;
    /// Fd list v2.
    pub const FDL_V2: u32 = 0x218;
    /// Interface list v1, international v1, v2.
    pub const IL: &[u32] = &[0x205, 0x8011_ABCD, 0x219];
    /// User list v1, international v1.
    pub const UL: &[u32] = &[0x206, 0x8012_ABCD];
    /// User list v2.
    pub const UL_V2: u32 = 0x220;
    /// Event blocks: (code, has flags, v2 header).
    pub const EV: &[(u32, bool, bool)] = &[
        (0x204, false, false),
        (0x8010_ABCD, false, false),
        (0x208, true, false),
        (0x216, false, true),
        (0x217, true, true),
        (0x221, false, true),
        (0x222, true, true),
    ];
}

/// Event codes whose parameter lengths are u32 (EF_LARGE_PAYLOAD).
const LARGE_PAYLOAD: &[u16] = &[322, 324, 402];

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, p: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
    }
    fn str16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.p)
    }
}

/// `ip:port` (IPv6 in brackets), as sysdig writes socket endpoints.
pub fn endpoint(ip: &[u8], port: u16) -> String {
    match ip.len() {
        4 => format!("{}.{}.{}.{}:{port}", ip[0], ip[1], ip[2], ip[3]),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(ip);
            format!("{}:{port}", std::net::Ipv6Addr::from(a))
        }
        _ => format!(":{port}"),
    }
}

fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn list(b: &[u8]) -> Vec<String> {
    b.split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Decompresses gzip data (returned unchanged when not gzip). A damaged or
/// truncated gzip stream yields what decompressed before the damage, with the
/// error (its offset is in the decompressed stream: where data stops).
pub fn decompress(raw: Vec<u8>) -> (Vec<u8>, Option<ScapError>) {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return (raw, None);
    }
    let mut out = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(&raw[..]);
    match d.read_to_end(&mut out) {
        Ok(_) => (out, None),
        Err(e) => {
            let err = ScapError {
                offset: out.len() as u64,
                reason: format!("gzip stream damaged or cut: {e}"),
            };
            (out, Some(err))
        }
    }
}

/// Bounds on what reading a `.scap` file may cost, whatever the file says.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    /// Largest block accepted (a block declaring more is damage): 64 MiB by
    /// default; sysdig's largest blocks, process lists of busy hosts, are a
    /// few MiB.
    pub max_block: usize,
    /// Decompressed bytes read at most (reading stops there with a
    /// problem): 16 GiB by default. Events are kept in memory, so this also
    /// bounds memory.
    pub max_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_block: 64 << 20,
            max_bytes: 16 << 30,
        }
    }
}

pub use capture::reader::open_regular;

impl ScapFile {
    /// Reads and parses a file (gzip or not), streaming: neither the file
    /// nor its decompressed form is held whole, and no block larger than
    /// the limit is allocated. Fails only when the file cannot be opened (or
    /// is not a regular file); damage is reported in [`ScapFile::problems`].
    pub fn open(path: &std::path::Path) -> std::io::Result<ScapFile> {
        ScapFile::open_with(path, &ReadLimits::default())
    }

    /// [`ScapFile::open`] with other limits.
    pub fn open_with(path: &std::path::Path, limits: &ReadLimits) -> std::io::Result<ScapFile> {
        let (r, gz) = trace_reader(path)?;
        Ok(ScapFile::parse_reader(r, gz, limits))
    }
}

/// A trace file's bytes, decompressed if it is gzip (and whether it is):
/// the inflating runs on a thread of its own, in large pieces, while the
/// caller parses (inflating takes about as long as the rest of an import).
fn trace_reader(path: &std::path::Path) -> std::io::Result<(Box<dyn BufRead + Send>, bool)> {
    // 128 KiB: the inflating thread starts once it is read (a larger
    // buffer is read, and its pages faulted in, before anything inflates).
    let mut r = std::io::BufReader::with_capacity(128 << 10, open_regular(path)?);
    let gz = r.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let r: Box<dyn BufRead + Send> = if gz {
        Box::new(Inflated::spawn(r))
    } else {
        Box::new(r)
    };
    Ok((r, gz))
}

/// Reads until `buf` is full or the stream ends: the bytes read, or the
/// error met after those.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<std::io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// One block of a `.scap` stream.
pub struct Block<'a> {
    /// Its type code.
    pub ty: u32,
    /// Its body, without the framing.
    pub body: &'a [u8],
    /// Its offset in the (decompressed) stream.
    pub offset: u64,
}

/// The blocks of a `.scap` stream, one at a time, each checked for its
/// framing (lengths, trailer, the section header first) and bounded by
/// [`ReadLimits`]. After an error, reading stops.
pub struct Blocks<R> {
    r: R,
    gz: bool,
    limits: ReadLimits,
    at: u64,
    buf: Vec<u8>,
    /// Bytes of the reader's buffer the last block was read from in place,
    /// to consume before reading on.
    in_place: usize,
    done: bool,
}

/// Where a block read lies.
enum Read1 {
    /// In the reader's own buffer (not yet consumed).
    InPlace(u32, usize),
    /// Copied into `buf`.
    Copied(u32, usize),
}

impl<R: BufRead> Blocks<R> {
    /// Blocks read from `r` (`gz`: a gzip decoder, whose errors are
    /// reported as such).
    pub fn new(r: R, gz: bool, limits: ReadLimits) -> Blocks<R> {
        Blocks {
            r,
            gz,
            limits,
            at: 0,
            buf: Vec::new(),
            in_place: 0,
            done: false,
        }
    }

    /// The next block; `None` at the end, an error (after which reading
    /// stops) at damage. A block that lies whole in the reader's buffer is
    /// read there, without a copy.
    pub fn next_block(&mut self) -> Option<Result<Block<'_>, ScapError>> {
        if self.done {
            return None;
        }
        self.r.consume(std::mem::take(&mut self.in_place));
        let at = self.at;
        let (ty, len, body) = match self.read() {
            Ok(Some(Read1::InPlace(ty, len))) => {
                self.in_place = len;
                // The buffer is not consumed: the same bytes come back.
                match self.r.fill_buf() {
                    Ok(b) if b.len() >= len => (ty, len, &b[8..len - 4]),
                    _ => {
                        self.done = true;
                        return Some(Err(ScapError {
                            offset: at,
                            reason: "read error: the reader's buffer changed".into(),
                        }));
                    }
                }
            }
            Ok(Some(Read1::Copied(ty, len))) => (ty, len, &self.buf[8..len - 4]),
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(reason) => {
                self.done = true;
                return Some(Err(ScapError { offset: at, reason }));
            }
        };
        self.at += len as u64;
        Some(Ok(Block {
            ty,
            body,
            offset: at,
        }))
    }

    /// Reads one block: its type and length, and where it lies.
    fn read(&mut self) -> Result<Option<Read1>, String> {
        let (at, gz, limits) = (self.at, self.gz, self.limits);
        let stream_err = |e: std::io::Error| -> String {
            if gz {
                format!("gzip stream damaged or cut: {e}")
            } else {
                format!("read error: {e}")
            }
        };
        if at >= limits.max_bytes {
            return Err(format!(
                "stopped after {at} bytes: the reading limit (ReadLimits::max_bytes)"
            ));
        }
        // Most blocks lie whole in the reader's buffer: look there first.
        let mut hdr = [0u8; 8];
        let avail = match self.r.fill_buf() {
            Ok(b) => b,
            Err(e) => return Err(stream_err(e)),
        };
        let peeked = avail.len() >= 8;
        if peeked {
            hdr.copy_from_slice(&avail[..8]);
        }
        let (ty, len) = block_header(&hdr);
        if peeked && (12..=avail.len()).contains(&len) && at > 0 {
            check_block(ty, len, at, &limits)?;
            check_trailer(&avail[..len])?;
            return Ok(Some(Read1::InPlace(ty, len)));
        }
        match fill(&mut self.r, &mut hdr) {
            (0, None) if at == 0 => return Err("empty file: not a .scap capture".into()),
            (0, None) => return Ok(None),
            (8, None) => {}
            (_, Some(e)) => return Err(stream_err(e)),
            (_, None) => {
                return Err(if gz {
                    "gzip stream damaged or cut: truncated block header".into()
                } else {
                    "truncated block header".into()
                })
            }
        }
        let (ty, len) = block_header(&hdr);
        check_block(ty, len, at, &limits)?;
        // The buffer only grows (no zeroing of every block).
        let blk = &mut self.buf;
        if blk.len() < len {
            blk.resize(len, 0);
        }
        blk[..8].copy_from_slice(&hdr);
        let blk = &mut blk[..len];
        match fill(&mut self.r, &mut blk[8..]) {
            (n, None) if n == len - 8 => {}
            (_, Some(e)) => return Err(stream_err(e)),
            (_, None) => {
                return Err(if gz {
                    format!("gzip stream damaged or cut: block of {len} bytes runs past the end of the data")
                } else {
                    format!("block of {len} bytes runs past the end of the file (cut capture)")
                })
            }
        }
        check_trailer(blk)?;
        Ok(Some(Read1::Copied(ty, len)))
    }
}

/// A block header's type and length.
fn block_header(hdr: &[u8; 8]) -> (u32, usize) {
    (
        u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]),
        u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize,
    )
}

/// A block header's type and length checked: the section header first, a
/// sane length within the limit.
fn check_block(ty: u32, len: usize, at: u64, limits: &ReadLimits) -> Result<(), String> {
    if at == 0 && ty != block::SHB {
        return Err(format!(
            "no section header block at the start (block type {ty:#x}): not a .scap capture"
        ));
    }
    if len < 12 || len % 4 != 0 && ty != block::SHB {
        return Err(format!("invalid block length {len} for block type {ty:#x}"));
    }
    if len > limits.max_block {
        return Err(format!(
            "block of type {ty:#x} declares {len} bytes, more than the {} a block may have",
            limits.max_block
        ));
    }
    Ok(())
}

/// A whole block's trailer repeats its length.
fn check_trailer(blk: &[u8]) -> Result<(), String> {
    let len = blk.len();
    let tail =
        u32::from_le_bytes([blk[len - 4], blk[len - 3], blk[len - 2], blk[len - 1]]) as usize;
    if tail != len {
        return Err(format!(
            "block trailer length {tail} differs from header length {len}"
        ));
    }
    Ok(())
}

impl ScapFile {
    /// Parses decompressed `.scap` bytes. Never fails: problems are recorded
    /// and everything read before them is kept.
    pub fn parse(data: &[u8]) -> ScapFile {
        ScapFile::parse_reader(data, false, &ReadLimits::default())
    }

    /// Parses a `.scap` stream block by block (`gz`: the stream is a gzip
    /// decoder, whose errors are reported as such).
    pub fn parse_reader(r: impl BufRead, gz: bool, limits: &ReadLimits) -> ScapFile {
        let mut f = ScapFile::default();
        let mut blocks = Blocks::new(r, gz, *limits);
        loop {
            match blocks.next_block() {
                None => break,
                Some(Err(e)) => {
                    f.problems.push(e);
                    break;
                }
                Some(Ok(Block {
                    ty,
                    body,
                    offset: at,
                })) => {
                    *f.block_counts.entry(ty).or_insert(0) += 1;
                    if let Err(reason) = f.block(ty, body, at) {
                        f.problems.push(ScapError { offset: at, reason });
                    }
                }
            }
        }
        f
    }

    fn block(&mut self, ty: u32, body: &[u8], offset: u64) -> Result<(), String> {
        let short = || "block body too short".to_string();
        let mut c = Cur::new(body);
        if ty == block::SHB {
            let magic = c.u32().ok_or_else(short)?;
            if magic != 0x1A2B_3C4D {
                return Err(format!(
                    "bad section magic {magic:#x} (only little-endian captures exist)"
                ));
            }
            self.version = (c.u16().ok_or_else(short)?, c.u16().ok_or_else(short)?);
            if self.version.0 > 1 {
                return Err(format!(
                    "section major version {} is not supported",
                    self.version.0
                ));
            }
            return Ok(());
        }
        if ty == block::MI {
            let num_cpus = c.u32().ok_or_else(short)?;
            let memory_bytes = c.u64().ok_or_else(short)?;
            let max_pid = c.u64().ok_or_else(short)?;
            let hostname = text(c.take(128).ok_or_else(short)?);
            let boot_ts_epoch = c.u64().unwrap_or(0);
            self.machine = Some(MachineInfo {
                num_cpus,
                memory_bytes,
                max_pid,
                hostname,
                boot_ts_epoch,
            });
            return Ok(());
        }
        if let Some(&(_, v)) = block::PL.iter().find(|(t, _)| *t == ty) {
            return self.process_list(body, v);
        }
        if ty == block::FDL || ty == block::FDL_INT || ty == block::FDL_V2 {
            return self.fd_list(body, ty == block::FDL_V2);
        }
        if block::UL.contains(&ty) || ty == block::UL_V2 {
            return self.user_list(body, ty == block::UL_V2);
        }
        if let Some(&(_, flags, v2)) = block::EV.iter().find(|(t, _, _)| *t == ty) {
            return self.event(body, flags, v2, offset);
        }
        // Interface lists and unknown blocks: counted and skipped.
        Ok(())
    }

    fn process_list(&mut self, body: &[u8], v: u8) -> Result<(), String> {
        let mut c = Cur::new(body);
        while c.left() >= 4 {
            let start = c.p;
            let entry_len = if v >= 9 {
                Some(c.u32().ok_or("truncated entry")? as usize)
            } else {
                None
            };
            let e = (|| -> Option<ScapProcess> {
                let mut p = ScapProcess {
                    tid: c.u64()?,
                    pid: c.u64()?,
                    ptid: c.u64()?,
                    ..ScapProcess::default()
                };
                if v >= 6 {
                    p.sid = Some(c.u64()?);
                }
                if v >= 8 {
                    c.u64()?; // vpgid
                }
                p.comm = text(c.str16()?);
                p.exe = text(c.str16()?);
                if v >= 7 {
                    p.exepath = Some(text(c.str16()?));
                }
                p.args = list(c.str16()?);
                p.cwd = text(c.str16()?);
                c.u64()?; // fdlimit
                c.u32()?; // flags
                p.uid = c.u32()?;
                p.gid = c.u32()?;
                if v >= 2 {
                    c.take(4 * 3 + 8 * 2)?; // vm sizes, page faults
                    if v >= 3 {
                        p.env = list(c.str16()?);
                    }
                    if v >= 4 {
                        c.take(16)?; // vtid, vpid
                        p.cgroups = list(c.str16()?);
                        if v >= 5 {
                            c.str16()?; // root
                        }
                    }
                }
                if let Some(el) = entry_len {
                    let used = c.p - start;
                    if el >= used + 12 && el.saturating_sub(used) > 29 {
                        c.u64()?; // pidns_init_start_ts
                        p.tty = Some(c.u32()?);
                        if el >= c.p - start + 4 {
                            p.loginuid = Some(c.u32()?);
                        }
                    }
                }
                Some(p)
            })();
            let Some(p) = e else {
                return Err(format!("truncated process entry (version {v})"));
            };
            self.processes.push(p);
            if let Some(el) = entry_len {
                if el < 4 {
                    return Err("process entry length below 4".into());
                }
                c.p = start + el;
            }
        }
        Ok(())
    }

    fn fd_list(&mut self, body: &[u8], v2: bool) -> Result<(), String> {
        let mut c = Cur::new(body);
        let tid = c.u64().ok_or("truncated fd list")?;
        let mut out = Vec::new();
        // Blocks are padded to 4 bytes: fewer than 4 bytes left is padding.
        while c.left() > 3 {
            let start = c.p;
            let entry_len = if v2 {
                Some(c.u32().ok_or("truncated fd entry")? as usize)
            } else {
                None
            };
            let e = (|| -> Option<ScapFd> {
                let fd = c.u64()? as i64;
                c.u64()?; // ino
                let kind = c.u8()?;
                let mut sock = None;
                let name = match kind {
                    3 | 4 => {
                        let w = if kind == 3 { 4 } else { 16 };
                        let (sip, dip) = (c.take(w)?.to_vec(), c.take(w)?.to_vec());
                        let (sport, dport) = (c.u16()?, c.u16()?);
                        let l4 = c.u8()?;
                        let ss = ScapSock {
                            sip,
                            sport,
                            dip,
                            dport,
                            l4,
                            listening: false,
                        };
                        let n = format!(
                            "{}->{}",
                            endpoint(&ss.sip, ss.sport),
                            endpoint(&ss.dip, ss.dport)
                        );
                        sock = Some(ss);
                        n
                    }
                    5 | 6 => {
                        let ip = c.take(if kind == 5 { 4 } else { 16 })?.to_vec();
                        let port = c.u16()?;
                        let l4 = c.u8()?;
                        let n = endpoint(&ip, port);
                        sock = Some(ScapSock {
                            sip: ip,
                            sport: port,
                            dip: Vec::new(),
                            dport: 0,
                            l4,
                            listening: true,
                        });
                        n
                    }
                    8 => {
                        c.take(16)?;
                        text(c.str16()?)
                    }
                    16 => {
                        c.u32()?;
                        let n = text(c.str16()?);
                        if let Some(el) = entry_len {
                            if el >= c.p - start + 4 {
                                c.u32()?;
                            }
                        }
                        n
                    }
                    _ => text(c.str16()?),
                };
                Some(ScapFd {
                    fd,
                    kind,
                    name,
                    sock,
                })
            })();
            let Some(fd) = e else {
                return Err("truncated fd entry".into());
            };
            out.push(fd);
            if let Some(el) = entry_len {
                if el < 4 {
                    return Err("fd entry length below 4".into());
                }
                c.p = start + el;
            }
        }
        self.fds.entry(tid).or_default().extend(out);
        Ok(())
    }

    fn user_list(&mut self, body: &[u8], v2: bool) -> Result<(), String> {
        let mut c = Cur::new(body);
        while c.left() > 3 {
            let start = c.p;
            let entry_len = if v2 {
                Some(c.u32().ok_or("truncated user entry")? as usize)
            } else {
                None
            };
            let e = (|| -> Option<ScapAccount> {
                Some(match c.u8()? {
                    0 => ScapAccount::User {
                        uid: c.u32()?,
                        gid: c.u32()?,
                        name: text(c.str16()?),
                        home: text(c.str16()?),
                        shell: text(c.str16()?),
                    },
                    _ => ScapAccount::Group {
                        gid: c.u32()?,
                        name: text(c.str16()?),
                    },
                })
            })();
            let Some(a) = e else {
                return Err("truncated user entry".into());
            };
            self.accounts.push(a);
            if let Some(el) = entry_len {
                if el < 4 {
                    return Err("user entry length below 4".into());
                }
                c.p = start + el;
            }
        }
        Ok(())
    }

    fn event(&mut self, body: &[u8], has_flags: bool, v2: bool, offset: u64) -> Result<(), String> {
        self.events.push(parse_event(body, has_flags, v2, offset)?);
        Ok(())
    }
}

/// One event block's event.
fn parse_event(body: &[u8], has_flags: bool, v2: bool, offset: u64) -> Result<RawEvent, String> {
    let mut e = RawEvent::default();
    parse_event_into(body, has_flags, v2, offset, &mut e, |_| false)?;
    Ok(e)
}

/// [`parse_event`] into `out`, whose buffers are reused; without its
/// parameters when `skip_params` accepts its code.
fn parse_event_into(
    body: &[u8],
    has_flags: bool,
    v2: bool,
    offset: u64,
    out: &mut RawEvent,
    skip_params: fn(u16) -> bool,
) -> Result<(), String> {
    let mut c = Cur::new(body);
    let cpu = c.u16().ok_or("truncated event block")?;
    let flags = if has_flags {
        c.u32().ok_or("truncated event block")?
    } else {
        0
    };
    let ev_start = c.p;
    let ts = c.u64().ok_or("truncated event header")?;
    let tid = c.u64().ok_or("truncated event header")?;
    let len = c.u32().ok_or("truncated event header")? as usize;
    let code = c.u16().ok_or("truncated event header")?;
    let nparams = if v2 {
        Some(c.u32().ok_or("truncated event header")? as usize)
    } else {
        None
    };
    let hdr = c.p - ev_start;
    let ev = body
        .get(ev_start..ev_start + len)
        .ok_or_else(|| format!("event length {len} exceeds its block"))?;
    if len < hdr {
        return Err(format!("event length {len} is below the header size {hdr}"));
    }
    let wide = LARGE_PAYLOAD.contains(&code);
    let lw = if wide { 4 } else { 2 };
    // The lengths present after the header (a count above it runs past the
    // event).
    let avail = (len - hdr) / lw;
    // v1 events do not store nparams: take the largest count, from the
    // event table's downwards, whose lengths account for the event exactly
    // (libscap derives it the same way). The lengths are read once; a
    // count of n uses the first n.
    let max = match nparams {
        Some(n) if n > avail => return Err("parameter lengths run past the event".into()),
        Some(n) => n,
        None => avail.min(table::event_info(code).map_or(32, |e| e.params.len())),
    };
    // Where each parameter ends, straight from the stored lengths.
    let raw = &ev[hdr..hdr + lw * max];
    let ends = &mut out.params.ends;
    ends.clear();
    ends.resize(max, 0);
    let mut end = 0u32;
    if wide {
        for (d, x) in ends.iter_mut().zip(raw.chunks_exact(4)) {
            end = end.saturating_add(u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
            *d = end;
        }
    } else {
        for (d, x) in ends.iter_mut().zip(raw.chunks_exact(2)) {
            end = end.saturating_add(u32::from(u16::from_le_bytes([x[0], x[1]])));
            *d = end;
        }
    }
    let upto = |ends: &[u32], n: usize| if n == 0 { 0 } else { ends[n - 1] as usize };
    // The event's size with all `max` parameters, then with one fewer at a
    // time until it matches (v1; v2 must match with its count).
    let mut n = max;
    if nparams.is_none() {
        while (hdr + lw * n).saturating_add(upto(ends, n)) != len {
            if n == 0 {
                return Err(format!(
                    "cannot split event type {code} of {len} bytes into parameters"
                ));
            }
            n -= 1;
        }
        ends.truncate(n);
    }
    let start = hdr + lw * n;
    let data = ev
        .get(start..start.saturating_add(upto(ends, n)))
        .ok_or("parameters run past the event")?;
    out.params.data.clear();
    if !skip_params(code) {
        out.params.data.extend_from_slice(data);
    } else {
        out.params.ends.clear();
    }
    (out.offset, out.cpu, out.flags, out.ts, out.tid, out.code) =
        (offset, cpu, flags, ts, tid, code);
    Ok(())
}

/// Whether an event belongs to a trace's prelude: the user and group
/// records sysdig writes before the first call, and the records stored
/// without a time (its container dump).
fn prelude_event(e: &RawEvent) -> bool {
    e.ts == 0
        || table::event_info(e.code).is_some_and(|i| matches!(i.name, "useradded" | "groupadded"))
}

/// A `.scap` trace read as a stream, so that neither the file nor its
/// events are held whole: the header (everything before the first event,
/// which is all libscap reads as the trace's state: machine, process, fd
/// and user lists), then the events one at a time.
pub struct ScapStream<R> {
    /// The header, and in `events` the prelude: the user and group records
    /// and untimed records that open the trace, up to and including its
    /// first timed event, so that the trace's start time and its users are
    /// known before the rest is read. Problems found later are added to
    /// `problems` as they are met; `block_counts` is complete once the
    /// stream has ended.
    pub head: ScapFile,
    /// Process, fd, user and other non-event blocks met after the first
    /// event: skipped, as libscap does (counted in `head.block_counts` too).
    pub late_blocks: u64,
    blocks: Blocks<R>,
    /// Blocks of one type in a row not yet added to `head.block_counts`
    /// (counted there once the run ends: an entry per block costs).
    run: (u32, u64),
    /// Event codes whose parameters are not kept ([`ScapStream::skip_params_of`]).
    skip_params: fn(u16) -> bool,
}

impl ScapStream<Box<dyn BufRead + Send>> {
    /// Opens a file (gzip or not) and reads its header and prelude. Fails
    /// only when the file cannot be opened (or is not a regular file);
    /// damage is reported in `head.problems`.
    pub fn open(path: &std::path::Path, limits: &ReadLimits) -> std::io::Result<Self> {
        let (r, gz) = trace_reader(path)?;
        Ok(ScapStream::new(r, gz, limits))
    }
}

/// The inflated bytes of a gzip stream, inflated on a thread of their own
/// and handed over in pieces through a bounded channel (memory stays at a
/// few pieces whatever the trace's size). An inflating error arrives after
/// the bytes inflated before it. Dropping the reader stops the thread.
struct Inflated {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    /// Pieces read, back to the thread to be filled again.
    back: std::sync::mpsc::Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Inflated {
    /// Bytes handed over at a time.
    const PIECE: usize = 512 << 10;

    fn spawn<R: BufRead + Send + 'static>(r: R) -> Inflated {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let sender = tx.clone();
        let inflate = move || {
            let mut d = flate2::bufread::MultiGzDecoder::new(r);
            loop {
                let mut piece = spare.try_recv().unwrap_or_default();
                piece.resize(Inflated::PIECE, 0);
                let (n, err) = fill(&mut d, &mut piece);
                piece.truncate(n);
                if n > 0 && sender.send(Ok(piece)).is_err() {
                    return;
                }
                if let Some(e) = err {
                    let _ = sender.send(Err(e));
                    return;
                }
                if n < Inflated::PIECE {
                    return;
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("scap-inflate".into())
            .spawn(inflate)
        {
            let e = std::io::Error::new(e.kind(), format!("cannot start inflating: {e}"));
            let _ = tx.send(Err(e));
        }
        Inflated {
            rx,
            back,
            cur: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Inflated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let have = self.fill_buf()?;
        let n = buf.len().min(have.len());
        buf[..n].copy_from_slice(&have[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inflated {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(piece)) => {
                    let used = std::mem::replace(&mut self.cur, piece);
                    let _ = self.back.send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The thread finished: the end of the stream.
                Err(_) => break,
            }
        }
        Ok(&self.cur[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.cur.len());
    }
}

impl<R: BufRead> ScapStream<R> {
    /// Whether the trace is gzip-compressed.
    pub fn gzip(&self) -> bool {
        self.blocks.gz
    }

    /// Reads the header and the prelude from `r` (`gz`: a gzip decoder).
    pub fn new(r: R, gz: bool, limits: &ReadLimits) -> ScapStream<R> {
        let mut s = ScapStream {
            head: ScapFile::default(),
            late_blocks: 0,
            blocks: Blocks::new(r, gz, *limits),
            run: (0, 0),
            skip_params: |_| false,
        };
        while let Some(e) = s.read(true) {
            let last = !prelude_event(&e);
            s.head.events.push(e);
            if last {
                break;
            }
        }
        s
    }

    /// From now on, the events whose code `skip` accepts are read without
    /// their parameters (`params` empty; the event is checked all the same),
    /// for a reader that only counts them: copying parameters nobody reads
    /// is a good part of reading a trace.
    pub fn skip_params_of(&mut self, skip: fn(u16) -> bool) {
        self.skip_params = skip;
    }

    /// The next event after the prelude; `None` at the end of the trace or
    /// at damage that stops reading (in `head.problems`).
    pub fn next_event(&mut self) -> Option<RawEvent> {
        self.read(false)
    }

    /// [`ScapStream::next_event`] into `out`, whose buffers are reused;
    /// false at the end.
    pub fn next_event_into(&mut self, out: &mut RawEvent) -> bool {
        self.read_into(false, out)
    }

    fn read(&mut self, header: bool) -> Option<RawEvent> {
        let mut e = RawEvent::default();
        self.read_into(header, &mut e).then_some(e)
    }

    fn read_into(&mut self, header: bool, out: &mut RawEvent) -> bool {
        loop {
            let counts = &mut self.head.block_counts;
            let (ty, body, at) = match self.blocks.next_block() {
                Some(Ok(b)) => (b.ty, b.body, b.offset),
                end => {
                    if self.run.1 > 0 {
                        *counts.entry(self.run.0).or_insert(0) += self.run.1;
                        self.run.1 = 0;
                    }
                    if let Some(Err(e)) = end {
                        self.head.problems.push(e);
                    }
                    return false;
                }
            };
            if self.run.1 > 0 && self.run.0 == ty {
                self.run.1 += 1;
            } else {
                if self.run.1 > 0 {
                    *counts.entry(self.run.0).or_insert(0) += self.run.1;
                }
                self.run = (ty, 1);
            }
            if let Some(&(_, flags, v2)) = block::EV.iter().find(|(t, _, _)| *t == ty) {
                match parse_event_into(body, flags, v2, at, out, self.skip_params) {
                    Ok(()) => return true,
                    Err(reason) => self.head.problems.push(ScapError { offset: at, reason }),
                }
            } else if header && self.head.events.is_empty() {
                if let Err(reason) = self.head.block(ty, body, at) {
                    self.head.problems.push(ScapError { offset: at, reason });
                }
            } else {
                self.late_blocks += 1;
            }
        }
    }
}
