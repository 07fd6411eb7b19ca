//! The argument stream: how an event's typed arguments are stored.
//!
//! Each event owns a run of bytes in its chunk's `args` column. The run is a
//! sequence of values, one per argument of the kind's table entry
//! ([`crate::kind`]), each a tag byte followed by its payload:
//!
//! | tag  | value     | payload                                                        |
//! |------|-----------|----------------------------------------------------------------|
//! | 0x00 | absent    | none (the argument could not be read)                          |
//! | 0x01 | int       | zigzag LEB128 varint (i64)                                     |
//! | 0x02 | uint      | LEB128 varint (u64)                                            |
//! | 0x03 | str       | varint length, then that many bytes (not necessarily UTF-8)    |
//! | 0x04 | bytes     | varint length, then that many bytes (snapped data)             |
//! | 0x05 | str list  | varint count, then per item a varint length and its bytes      |
//! | 0x06 | sock addr | family byte: 0 none; 1 inet: 4 address bytes in network order, |
//! |      |           | u16 port big-endian; 2 inet6: 16 address bytes, u16 port BE;   |
//! |      |           | 3 unix: varint length, path bytes; 4 other: u16 family LE      |
//!
//! Varints are at most 10 bytes. Every length is bounded by the bytes left in
//! the run; a malformed run yields an error from the iterator, never a panic.
//! Compact varints matter: the stream is most of a chunk and zstd does better on
//! it than on fixed-width fields.

use std::fmt;

/// Tag bytes of the argument stream.
pub mod tag {
    /// The argument could not be read.
    pub const ABSENT: u8 = 0;
    /// A signed integer.
    pub const INT: u8 = 1;
    /// An unsigned integer.
    pub const UINT: u8 = 2;
    /// A string.
    pub const STR: u8 = 3;
    /// Raw bytes.
    pub const BYTES: u8 = 4;
    /// A list of strings.
    pub const STR_LIST: u8 = 5;
    /// A socket address.
    pub const SOCKADDR: u8 = 6;
}

/// A socket address as stored in a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// No address (an unconnected socket, or not applicable).
    None,
    /// IPv4 address and port.
    Inet([u8; 4], u16),
    /// IPv6 address and port.
    Inet6([u8; 16], u16),
    /// Unix socket path (may be empty or abstract).
    Unix(&'a [u8]),
    /// Another address family, by number.
    Other(u16),
}

impl fmt::Display for SockAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockAddr::None => f.write_str("<NA>"),
            SockAddr::Inet(a, p) => write!(f, "{}.{}.{}.{}:{}", a[0], a[1], a[2], a[3], p),
            SockAddr::Inet6(a, p) => write!(f, "[{}]:{}", std::net::Ipv6Addr::from(*a), p),
            SockAddr::Unix(p) => write!(f, "{}", String::from_utf8_lossy(p)),
            SockAddr::Other(fam) => write!(f, "family:{fam}"),
        }
    }
}

/// One decoded argument value, borrowing from the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgValue<'a> {
    /// The argument could not be read.
    Absent,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A string's bytes.
    Str(&'a [u8]),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// A list of strings.
    StrList(StrList<'a>),
    /// A socket address.
    SockAddr(SockAddr<'a>),
}

impl<'a> ArgValue<'a> {
    /// The value as an i64 when it is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ArgValue::Int(v) => Some(v),
            ArgValue::Uint(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a u64 when it is an integer (negative ints wrap, as the
    /// kernel's registers do).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            ArgValue::Int(v) => Some(v as u64),
            ArgValue::Uint(v) => Some(v),
            _ => None,
        }
    }

    /// The value's bytes when it is a string or bytes.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            ArgValue::Str(s) | ArgValue::Bytes(s) => Some(s),
            _ => None,
        }
    }
}

/// A list of strings inside the argument stream, decoded lazily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrList<'a> {
    count: u64,
    body: &'a [u8],
}

impl<'a> StrList<'a> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the items.
    pub fn iter(&self) -> StrListIter<'a> {
        StrListIter {
            left: self.count,
            cur: Cursor {
                buf: self.body,
                pos: 0,
            },
        }
    }
}

/// Iterator over a [`StrList`].
pub struct StrListIter<'a> {
    left: u64,
    cur: Cursor<'a>,
}

impl<'a> Iterator for StrListIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The list was checked when it was decoded, so this cannot fail; an
        // error still ends the iteration rather than panicking.
        let n = self.cur.varint().ok()?;
        self.cur.take(n).ok()
    }
}

/// A malformed argument stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// The stream ended inside a value.
    #[error("argument stream truncated at byte {0}")]
    Truncated(usize),
    /// A tag byte this schema does not define.
    #[error("unknown argument tag {tag:#04x} at byte {at}")]
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// Where it was.
        at: usize,
    },
    /// A varint longer than 10 bytes.
    #[error("overlong varint at byte {0}")]
    Varint(usize),
    /// A socket address with an unknown family byte.
    #[error("unknown socket address family {family} at byte {at}")]
    Family {
        /// The family byte.
        family: u8,
        /// Where it was.
        at: usize,
    },
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, ArgError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(ArgError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, ArgError> {
        // Most values (tags' lengths, fds, small flags) fit in one byte.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        let start = self.pos;
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ArgError::Varint(start))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], ArgError> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(ArgError::Truncated(self.buf.len()));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ArgError> {
        let s = self.take(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

/// Iterates the values of one event's argument stream.
pub struct ArgIter<'a> {
    cur: Cursor<'a>,
    failed: bool,
}

impl<'a> ArgIter<'a> {
    /// Starts decoding `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        ArgIter {
            cur: Cursor { buf, pos: 0 },
            failed: false,
        }
    }

    fn decode(&mut self) -> Result<ArgValue<'a>, ArgError> {
        let at = self.cur.pos;
        let t = self.cur.byte()?;
        Ok(match t {
            tag::ABSENT => ArgValue::Absent,
            tag::INT => {
                let z = self.cur.varint()?;
                ArgValue::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            tag::UINT => ArgValue::Uint(self.cur.varint()?),
            tag::STR => {
                let n = self.cur.varint()?;
                ArgValue::Str(self.cur.take(n)?)
            }
            tag::BYTES => {
                let n = self.cur.varint()?;
                ArgValue::Bytes(self.cur.take(n)?)
            }
            tag::STR_LIST => {
                let count = self.cur.varint()?;
                let start = self.cur.pos;
                for _ in 0..count {
                    let n = self.cur.varint()?;
                    self.cur.take(n)?;
                }
                ArgValue::StrList(StrList {
                    count,
                    body: &self.cur.buf[start..self.cur.pos],
                })
            }
            tag::SOCKADDR => {
                let fam_at = self.cur.pos;
                ArgValue::SockAddr(match self.cur.byte()? {
                    0 => SockAddr::None,
                    1 => {
                        let a = self.cur.array::<4>()?;
                        SockAddr::Inet(a, u16::from_be_bytes(self.cur.array::<2>()?))
                    }
                    2 => {
                        let a = self.cur.array::<16>()?;
                        SockAddr::Inet6(a, u16::from_be_bytes(self.cur.array::<2>()?))
                    }
                    3 => {
                        let n = self.cur.varint()?;
                        SockAddr::Unix(self.cur.take(n)?)
                    }
                    4 => SockAddr::Other(u16::from_le_bytes(self.cur.array::<2>()?)),
                    family => return Err(ArgError::Family { family, at: fam_at }),
                })
            }
            tag => return Err(ArgError::UnknownTag { tag, at }),
        })
    }
}

impl<'a> Iterator for ArgIter<'a> {
    type Item = Result<ArgValue<'a>, ArgError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.cur.pos >= self.cur.buf.len() {
            return None;
        }
        let r = self.decode();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Appends argument values to an event's stream. Obtained from
/// [`crate::CaptureWriter::push`]; also usable on any `Vec<u8>`.
pub struct ArgWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> ArgWriter<'a> {
    /// Wraps a buffer; values are appended at its end.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        ArgWriter { buf }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn blob(&mut self, t: u8, b: &[u8]) -> &mut Self {
        self.buf.push(t);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
        self
    }

    /// An argument that could not be read.
    pub fn absent(&mut self) -> &mut Self {
        self.buf.push(tag::ABSENT);
        self
    }

    /// A signed integer.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.buf.push(tag::INT);
        self.varint(((v << 1) ^ (v >> 63)) as u64);
        self
    }

    /// An unsigned integer.
    pub fn uint(&mut self, v: u64) -> &mut Self {
        self.buf.push(tag::UINT);
        self.varint(v);
        self
    }

    /// A string (path, name, ...).
    pub fn str(&mut self, s: impl AsRef<[u8]>) -> &mut Self {
        self.blob(tag::STR, s.as_ref())
    }

    /// Raw bytes (snapped I/O data).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.blob(tag::BYTES, b)
    }

    /// A list of strings (argv, envp).
    pub fn str_list<I, S>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: ExactSizeIterator,
        S: AsRef<[u8]>,
    {
        let it = items.into_iter();
        self.buf.push(tag::STR_LIST);
        self.varint(it.len() as u64);
        for s in it {
            let s = s.as_ref();
            self.varint(s.len() as u64);
            self.buf.extend_from_slice(s);
        }
        self
    }

    /// A socket address.
    pub fn sockaddr(&mut self, a: &SockAddr<'_>) -> &mut Self {
        self.buf.push(tag::SOCKADDR);
        match a {
            SockAddr::None => self.buf.push(0),
            SockAddr::Inet(ip, port) => {
                self.buf.push(1);
                self.buf.extend_from_slice(ip);
                self.buf.extend_from_slice(&port.to_be_bytes());
            }
            SockAddr::Inet6(ip, port) => {
                self.buf.push(2);
                self.buf.extend_from_slice(ip);
                self.buf.extend_from_slice(&port.to_be_bytes());
            }
            SockAddr::Unix(p) => {
                self.buf.push(3);
                self.varint(p.len() as u64);
                self.buf.extend_from_slice(p);
            }
            SockAddr::Other(fam) => {
                self.buf.push(4);
                self.buf.extend_from_slice(&fam.to_le_bytes());
            }
        }
        self
    }

    /// Appends an already-encoded value (copied from another capture).
    pub fn value(&mut self, v: &ArgValue<'_>) -> &mut Self {
        match v {
            ArgValue::Absent => self.absent(),
            ArgValue::Int(i) => self.int(*i),
            ArgValue::Uint(u) => self.uint(*u),
            ArgValue::Str(s) => self.str(s),
            ArgValue::Bytes(b) => self.bytes(b),
            ArgValue::StrList(l) => {
                let items: Vec<&[u8]> = l.iter().collect();
                self.str_list(items)
            }
            ArgValue::SockAddr(a) => self.sockaddr(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_roundtrips() {
        let mut buf = Vec::new();
        ArgWriter::new(&mut buf)
            .absent()
            .int(-100)
            .int(i64::MIN)
            .uint(u64::MAX)
            .str("/etc/shadow")
            .bytes(&[0, 1, 2, 255])
            .str_list(["bash", "-c", "id"])
            .sockaddr(&SockAddr::Inet([127, 0, 0, 1], 4444))
            .sockaddr(&SockAddr::Inet6([0; 16], 443))
            .sockaddr(&SockAddr::Unix(b"/run/x.sock"))
            .sockaddr(&SockAddr::Other(16))
            .sockaddr(&SockAddr::None);
        let vals: Vec<_> = ArgIter::new(&buf)
            .collect::<Result<_, _>>()
            .expect("valid stream");
        assert_eq!(vals.len(), 12);
        assert_eq!(vals[0], ArgValue::Absent);
        assert_eq!(vals[1], ArgValue::Int(-100));
        assert_eq!(vals[2], ArgValue::Int(i64::MIN));
        assert_eq!(vals[3], ArgValue::Uint(u64::MAX));
        assert_eq!(vals[4], ArgValue::Str(b"/etc/shadow"));
        assert_eq!(vals[5], ArgValue::Bytes(&[0, 1, 2, 255]));
        match vals[6] {
            ArgValue::StrList(l) => {
                assert_eq!(
                    l.iter().collect::<Vec<_>>(),
                    vec![&b"bash"[..], b"-c", b"id"]
                )
            }
            other => panic!("expected list, got {other:?}"),
        }
        assert_eq!(
            vals[7],
            ArgValue::SockAddr(SockAddr::Inet([127, 0, 0, 1], 4444))
        );
        assert_eq!(vals[9], ArgValue::SockAddr(SockAddr::Unix(b"/run/x.sock")));
        assert_eq!(vals[10], ArgValue::SockAddr(SockAddr::Other(16)));
        assert_eq!(vals[11], ArgValue::SockAddr(SockAddr::None));
    }

    #[test]
    fn every_truncation_of_a_stream_errors_without_panicking() {
        let mut buf = Vec::new();
        ArgWriter::new(&mut buf)
            .int(123456789)
            .str("abcdef")
            .str_list(["a", "bb"])
            .sockaddr(&SockAddr::Inet6([1; 16], 1));
        for cut in 0..buf.len() {
            let r: Result<Vec<_>, _> = ArgIter::new(&buf[..cut]).collect();
            if cut != 0 && ![5, 13, 20].contains(&cut) {
                assert!(r.is_err(), "cut at {cut} decoded");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..2000 {
            let mut buf = vec![0u8; (x % 64) as usize];
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            for v in ArgIter::new(&buf).flatten() {
                if let ArgValue::StrList(l) = v {
                    let _ = l.iter().count();
                }
            }
        }
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let buf = [
            tag::UINT,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ];
        assert_eq!(ArgIter::new(&buf).next(), Some(Err(ArgError::Varint(1))));
    }
}
