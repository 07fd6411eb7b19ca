//! The event table: for every event, its process and fd entities, its type,
//! result, number, time and alerts, in blocks of at most [`BLOCK`] events of
//! one capture chunk, a few bytes per event.
//!
//! - `blocks.bin`: one fixed-size [`BlockMeta`] per block (capture, chunk,
//!   first position, count, first event number, time span, where its bytes
//!   are).
//! - `events.bin`: per block, a zstd frame with its [`Summary`] (the
//!   entities, types and results it holds, with counts, and its alerts),
//!   a zstd frame with its (process, fd) pairs and their counts, and a zstd
//!   frame with its columns (per event, indexes into the summary's lists,
//!   the result, the number and time as deltas), all as LEB128 varints.
//!
//! A query reads every summary (small) and decodes a block's columns only
//! when the summary cannot decide it: counts and facets over whole
//! processes or fds come from the summaries alone.

/// Events per block, at most.
pub const BLOCK: usize = 4096;

/// Bytes of one [`BlockMeta`] in `blocks.bin`.
pub const META_BYTES: usize = 72;

/// Where a block is and what it spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockMeta {
    /// Index of its capture.
    pub capture: u32,
    /// Chunk in that capture.
    pub chunk: u32,
    /// Position of its first event in the chunk.
    pub first_pos: u32,
    /// Events.
    pub count: u32,
    /// Event number (1-based) of its first event.
    pub first_num: u64,
    /// Earliest wall-clock time (Unix ns).
    pub tmin: u64,
    /// Latest wall-clock time (Unix ns).
    pub tmax: u64,
    /// Offset of its summary frame in `events.bin`.
    pub off: u64,
    /// Length of the summary frame.
    pub sum_len: u32,
    /// Length of the columns frame (after the pairs frame).
    pub col_len: u32,
    /// Highest event number in it.
    pub last_num: u64,
    /// Length of the pairs frame (between the summary and the columns).
    pub pair_len: u32,
}

impl BlockMeta {
    /// Little-endian bytes.
    pub fn to_bytes(&self) -> [u8; META_BYTES] {
        let mut b = [0u8; META_BYTES];
        b[0..4].copy_from_slice(&self.capture.to_le_bytes());
        b[4..8].copy_from_slice(&self.chunk.to_le_bytes());
        b[8..12].copy_from_slice(&self.first_pos.to_le_bytes());
        b[12..16].copy_from_slice(&self.count.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_num.to_le_bytes());
        b[24..32].copy_from_slice(&self.tmin.to_le_bytes());
        b[32..40].copy_from_slice(&self.tmax.to_le_bytes());
        b[40..48].copy_from_slice(&self.off.to_le_bytes());
        b[48..52].copy_from_slice(&self.sum_len.to_le_bytes());
        b[52..56].copy_from_slice(&self.col_len.to_le_bytes());
        b[56..64].copy_from_slice(&self.last_num.to_le_bytes());
        b[64..68].copy_from_slice(&self.pair_len.to_le_bytes());
        b
    }

    /// From [`BlockMeta::to_bytes`].
    pub fn from_bytes(b: &[u8; META_BYTES]) -> BlockMeta {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        BlockMeta {
            capture: u32_at(0),
            chunk: u32_at(4),
            first_pos: u32_at(8),
            count: u32_at(12),
            first_num: u64_at(16),
            tmin: u64_at(24),
            tmax: u64_at(32),
            off: u64_at(40),
            sum_len: u32_at(48),
            col_len: u32_at(52),
            last_num: u64_at(56),
            pair_len: u32_at(64),
        }
    }
}

/// One event of the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ev {
    /// Process entity (0: none).
    pub proc_: u32,
    /// Fd entity (0: none).
    pub fd: u32,
    /// Type code ([`type_code`]; `evt.type` by the index's table).
    pub kind: u16,
    /// Result code (see [`res_code`]).
    pub res: u32,
    /// Event number (1-based).
    pub num: u64,
    /// Wall-clock time (Unix ns).
    pub time: u64,
    /// Alert set (0: no alert).
    pub alert: u32,
}

/// The code of an event's type: its kind id, or for a generic event (a
/// call without a kind of its own, named by its number) `0x8000` plus the
/// call's number, so that each call keeps its own `evt.type`.
pub fn type_code(e: &capture::EventRef<'_>) -> u16 {
    match e.generic_nr() {
        Some(nr) => 0x8000 | (nr.min(0x7fff) as u16),
        None => e.kind,
    }
}

/// The code of a result: 0 none, 1 success, 2 + errno for a failure.
pub fn res_code(r: Option<i64>) -> u32 {
    match r {
        None => 0,
        Some(r) if r >= 0 => 1,
        Some(r) => 2u32.saturating_add(u32::try_from(r.unsigned_abs()).unwrap_or(u32::MAX - 2)),
    }
}

/// What a block holds, with counts: the summary a query reads first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Process entities and their events, by id.
    pub procs: Vec<(u32, u32)>,
    /// Fd entities and their events, by id (0: events without an fd).
    pub fds: Vec<(u32, u32)>,
    /// Kinds and their events.
    pub kinds: Vec<(u16, u32)>,
    /// Result codes and their events.
    pub res: Vec<(u32, u32)>,
    /// Alerted events: (index in the block, alert set).
    pub alerts: Vec<(u32, u32)>,
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A block's bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged(pub String);

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn get(&mut self) -> Result<u64, Damaged> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(Damaged("a varint runs past the end".into()));
            };
            self.i += 1;
            if shift > 63 {
                return Err(Damaged("a varint is too long".into()));
            }
            v |= u64::from(c & 0x7f) << shift;
            if c & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn u32(&mut self) -> Result<u32, Damaged> {
        u32::try_from(self.get()?).map_err(|_| Damaged("a value is out of range".into()))
    }

    fn len(&mut self, max: usize) -> Result<usize, Damaged> {
        let n = self.get()? as usize;
        if n > max {
            return Err(Damaged(format!("a list of {n} entries (at most {max})")));
        }
        Ok(n)
    }
}

/// Sorted (value, count) pairs of `it`.
fn tally<T: Ord + Copy>(it: impl Iterator<Item = T>) -> Vec<(T, u32)> {
    let mut v: Vec<T> = it.collect();
    v.sort_unstable();
    let mut out: Vec<(T, u32)> = Vec::new();
    for x in v {
        match out.last_mut() {
            Some((y, n)) if *y == x => *n += 1,
            _ => out.push((x, 1)),
        }
    }
    out
}

/// An encoded block: its meta (without `off`) and its two frames.
pub struct Encoded {
    /// Meta; `off` is set when it is written.
    pub meta: BlockMeta,
    /// The summary frame.
    pub summary: Vec<u8>,
    /// The pairs frame.
    pub pairs: Vec<u8>,
    /// The columns frame.
    pub columns: Vec<u8>,
}

/// Encodes `evs` (at most [`BLOCK`], of one chunk, in position order).
pub fn encode(capture: u32, chunk: u32, first_pos: u32, evs: &[Ev]) -> Encoded {
    let procs = tally(evs.iter().map(|e| e.proc_));
    let fds = tally(evs.iter().map(|e| e.fd));
    let kinds = tally(evs.iter().map(|e| e.kind));
    let res = tally(evs.iter().map(|e| e.res));
    let pairs = tally(evs.iter().map(|e| (e.proc_, e.fd)));
    let alerts: Vec<(u32, u32)> = evs
        .iter()
        .enumerate()
        .filter(|(_, e)| e.alert != 0)
        .map(|(i, e)| (i as u32, e.alert))
        .collect();
    let mut s = Vec::new();
    let list = |s: &mut Vec<u8>, l: &[(u64, u32)]| {
        put(s, l.len() as u64);
        let mut prev = 0u64;
        for (v, n) in l {
            put(s, v - prev);
            put(s, u64::from(*n));
            prev = *v;
        }
    };
    let widen32 = |l: &[(u32, u32)]| {
        l.iter()
            .map(|(v, n)| (u64::from(*v), *n))
            .collect::<Vec<_>>()
    };
    list(&mut s, &widen32(&procs));
    list(&mut s, &widen32(&fds));
    list(
        &mut s,
        &kinds
            .iter()
            .map(|(v, n)| (u64::from(*v), *n))
            .collect::<Vec<_>>(),
    );
    list(&mut s, &widen32(&res));
    list(&mut s, &widen32(&alerts));
    // Pairs as indexes into the process and fd lists, sorted.
    let at = |l: &[(u32, u32)], v: u32| l.partition_point(|(x, _)| *x < v) as u64;
    let mut pr = Vec::new();
    put(&mut pr, pairs.len() as u64);
    let mut prev = 0u64;
    for ((p, f), n) in &pairs {
        let pi = at(&procs, *p);
        put(&mut pr, pi - prev);
        put(&mut pr, at(&fds, *f));
        put(&mut pr, u64::from(*n));
        prev = pi;
    }
    let tmin = evs.iter().map(|e| e.time).min().unwrap_or(0);
    let tmax = evs.iter().map(|e| e.time).max().unwrap_or(0);
    let first_num = evs.first().map_or(0, |e| e.num);
    let last_num = evs.iter().map(|e| e.num).max().unwrap_or(0);
    let mut c = Vec::with_capacity(evs.len() * 8);
    let (mut pt, mut pn) = (tmin as i64, first_num as i64);
    for e in evs {
        put(&mut c, at(&procs, e.proc_));
        put(&mut c, at(&fds, e.fd));
        put(&mut c, kinds.partition_point(|(x, _)| *x < e.kind) as u64);
        put(&mut c, at(&res, e.res));
        put(&mut c, zigzag(e.num as i64 - pn));
        put(&mut c, zigzag(e.time as i64 - pt));
        pn = e.num as i64;
        pt = e.time as i64;
    }
    let z = |b: &[u8]| zstd::bulk::compress(b, 3).expect("zstd compresses a buffer in memory");
    Encoded {
        meta: BlockMeta {
            capture,
            chunk,
            first_pos,
            count: evs.len() as u32,
            first_num,
            tmin,
            tmax,
            off: 0,
            sum_len: 0,
            col_len: 0,
            last_num,
            pair_len: 0,
        },
        summary: z(&s),
        pairs: z(&pr),
        columns: z(&c),
    }
}

fn unzstd(b: &[u8], max: usize) -> Result<Vec<u8>, Damaged> {
    // A decompression context per thread: making one costs more than
    // decompressing a block.
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
    }
    DCTX.with(|d| match d.borrow_mut().as_mut() {
        Some(d) => d.decompress(b, max),
        None => zstd::bulk::decompress(b, max),
    })
    .map_err(|e| Damaged(format!("zstd: {e}")))
}

/// Decodes a block's summary frame.
pub fn decode_summary(m: &BlockMeta, frame: &[u8]) -> Result<Summary, Damaged> {
    let n = m.count as usize;
    let raw = unzstd(frame, 64 + n * 40)?;
    let mut r = Reader { b: &raw, i: 0 };
    let list = |r: &mut Reader<'_>| -> Result<Vec<(u64, u32)>, Damaged> {
        let len = r.len(n)?;
        let mut out = Vec::with_capacity(len);
        let mut prev = 0u64;
        for _ in 0..len {
            prev = prev
                .checked_add(r.get()?)
                .ok_or_else(|| Damaged("an id overflows".into()))?;
            out.push((prev, r.u32()?));
        }
        Ok(out)
    };
    let narrow = |l: Vec<(u64, u32)>| -> Result<Vec<(u32, u32)>, Damaged> {
        l.into_iter()
            .map(|(v, c)| {
                Ok((
                    u32::try_from(v).map_err(|_| Damaged("an id is out of range".into()))?,
                    c,
                ))
            })
            .collect()
    };
    let procs = narrow(list(&mut r)?)?;
    let fds = narrow(list(&mut r)?)?;
    let kinds = list(&mut r)?
        .into_iter()
        .map(|(v, c)| {
            Ok((
                u16::try_from(v).map_err(|_| Damaged("a kind is out of range".into()))?,
                c,
            ))
        })
        .collect::<Result<Vec<_>, Damaged>>()?;
    let res = narrow(list(&mut r)?)?;
    let alerts = narrow(list(&mut r)?)?;
    Ok(Summary {
        procs,
        fds,
        kinds,
        res,
        alerts,
    })
}

/// Decodes a block's pairs frame: (process, fd, events), by id.
pub fn decode_pairs(
    m: &BlockMeta,
    s: &Summary,
    frame: &[u8],
) -> Result<Vec<(u32, u32, u32)>, Damaged> {
    let n = m.count as usize;
    let raw = unzstd(frame, 16 + n * 20)?;
    let mut r = Reader { b: &raw, i: 0 };
    let len = r.len(n)?;
    let mut pairs = Vec::with_capacity(len);
    let mut pi = 0u64;
    for _ in 0..len {
        pi = pi
            .checked_add(r.get()?)
            .ok_or_else(|| Damaged("an index overflows".into()))?;
        let fi = r.get()?;
        let (Some(p), Some(f)) = (s.procs.get(pi as usize), s.fds.get(fi as usize)) else {
            return Err(Damaged("a pair past its lists".into()));
        };
        pairs.push((p.0, f.0, r.u32()?));
    }
    Ok(pairs)
}

/// Decodes a block's columns frame into its events.
pub fn decode_events(m: &BlockMeta, s: &Summary, frame: &[u8]) -> Result<Vec<Ev>, Damaged> {
    let n = m.count as usize;
    let raw = unzstd(frame, n * 60 + 64)?;
    let mut r = Reader { b: &raw, i: 0 };
    let pick = |l: &[(u32, u32)], i: u64| {
        l.get(i as usize)
            .map(|x| x.0)
            .ok_or_else(|| Damaged("an index past its list".into()))
    };
    let mut out = Vec::with_capacity(n);
    let (mut pt, mut pn) = (m.tmin as i64, m.first_num as i64);
    let mut alerts = s.alerts.iter().peekable();
    for i in 0..n {
        let proc_ = pick(&s.procs, r.get()?)?;
        let fd = pick(&s.fds, r.get()?)?;
        let kind = s
            .kinds
            .get(r.get()? as usize)
            .map(|x| x.0)
            .ok_or_else(|| Damaged("an index past its list".into()))?;
        let res = pick(&s.res, r.get()?)?;
        pn = pn.wrapping_add(unzigzag(r.get()?));
        pt = pt.wrapping_add(unzigzag(r.get()?));
        let alert = match alerts.peek() {
            Some((at, set)) if *at as usize == i => {
                alerts.next();
                *set
            }
            _ => 0,
        };
        out.push(Ev {
            proc_,
            fd,
            kind,
            res,
            num: pn as u64,
            time: pt as u64,
            alert,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_round_trips() {
        let evs: Vec<Ev> = (0..BLOCK as u64)
            .map(|i| Ev {
                proc_: (i % 7) as u32 + 1,
                fd: if i % 3 == 0 {
                    0
                } else {
                    (i % 50) as u32 + 100_000
                },
                kind: (i % 5) as u16 * 90,
                res: res_code(Some(-(i as i64 % 3))),
                num: 1000 + i,
                time: 1_700_000_000_000_000_000 + i * 1000 - (i % 2) * 500,
                alert: u32::from(i % 1000 == 0) * 3,
            })
            .collect();
        let e = encode(1, 2, 3, &evs);
        let s = decode_summary(&e.meta, &e.summary).expect("summary");
        assert_eq!(s.procs.iter().map(|p| p.1).sum::<u32>(), BLOCK as u32);
        assert_eq!(s.alerts.len(), 5);
        let pairs = decode_pairs(&e.meta, &s, &e.pairs).expect("pairs");
        assert_eq!(pairs.iter().map(|p| p.2).sum::<u32>(), BLOCK as u32);
        assert!(pairs.iter().any(|p| p.1 == 0));
        assert!(pairs
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert_eq!(decode_events(&e.meta, &s, &e.columns).expect("events"), evs);
        let m = BlockMeta::from_bytes(&e.meta.to_bytes());
        assert_eq!(m, e.meta);
        // Damage is an error, never a panic.
        let mut bad = e.columns.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        bad.truncate(bad.len() - 3);
        assert!(decode_events(&e.meta, &s, &bad).is_err());
        assert!(decode_summary(&e.meta, b"not zstd at all").is_err());
    }

    #[test]
    fn damaged_frames_are_errors_never_panics() {
        // Valid zstd frames of arbitrary varints, and a real block with
        // bytes flipped: every decoder returns, with an error or values.
        let evs: Vec<Ev> = (0..300u64)
            .map(|i| Ev {
                proc_: (i % 5) as u32,
                fd: (i % 9) as u32,
                kind: (i % 4) as u16,
                res: (i % 3) as u32,
                num: i + 1,
                time: i * 7,
                alert: u32::from(i % 50 == 0),
            })
            .collect();
        let good = encode(0, 0, 0, &evs);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..3000 {
            let len = (next() % 200) as usize;
            let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let frame = zstd::bulk::compress(&raw, 1).expect("compress");
            let m = BlockMeta {
                count: (next() % 5000) as u32,
                ..good.meta
            };
            if let Ok(s) = decode_summary(&m, &frame) {
                let _ = decode_pairs(&m, &s, &frame);
                let _ = decode_events(&m, &s, &frame);
            }
            let s = decode_summary(&good.meta, &good.summary).expect("summary");
            let mut cols = good.columns.clone();
            let at = (next() as usize) % cols.len();
            cols[at] ^= 1 << (round % 8);
            let _ = decode_events(&good.meta, &s, &cols);
            let _ = decode_events(&good.meta, &s, &frame);
            let _ = decode_pairs(&good.meta, &s, &frame);
        }
    }
}
