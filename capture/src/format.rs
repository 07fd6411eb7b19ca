//! Byte layouts of the fixed-size parts of a capture file: file header, frame
//! header and trailer. All integers are little-endian. FORMAT.md at the
//! repository root walks the same layouts with diagrams.
//!
//! ```text
//! file    = FileHeader(64) Frame(meta) Frame(snapshot)? Frame(chunk)* [Frame(index) Trailer(64)]
//! frame   = FrameHeader(152) payload(stored_len)
//! ```
//!
//! Every frame header carries the hash of the frame before it (`prev_hash`)
//! and its own hash `hash = BLAKE3(header[0..112] || payload)`, which covers
//! `prev_hash`. The first frame's `prev_hash` is `BLAKE3(file header)`. A frame
//! can therefore be checked on its own (its hash), and the sequence as a whole
//! (each `prev_hash` equals the previous `hash`): changing, dropping or
//! reordering a frame breaks the chain from that point. The last hash (the
//! index frame's, repeated in the trailer) is the capture's *chain head*; the
//! recorder prints it at exit so that it can be written down out of band.

use crate::error::FrameFault;

/// Magic bytes at offset 0.
pub const FILE_MAGIC: [u8; 8] = *b"FERRETCP";
/// Magic bytes at the end of a finished file.
pub const TRAILER_MAGIC: [u8; 8] = *b"FERRETND";
/// Magic bytes at the start of every frame header.
pub const FRAME_MAGIC: [u8; 4] = *b"FRM1";
/// The container format version this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// The schema version (event table and rkyv records) this code writes and reads.
pub const SCHEMA_VERSION: u16 = 1;
/// The schema version of a merged capture (`analyzer merge`): schema 1 plus a
/// sources frame and a stream number in every frame header. Readers of this
/// build read both; recordings are still written as version 1.
pub const MERGED_SCHEMA_VERSION: u16 = 2;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 64;
/// Size of a frame header.
pub const FRAME_HEADER_LEN: usize = 152;
/// Size of the trailer.
pub const TRAILER_LEN: usize = 64;
/// Largest payload (stored or decompressed) a reader accepts: 256 MiB.
pub const MAX_PAYLOAD: u32 = 256 << 20;
/// Largest number of events in one chunk a reader accepts.
pub const MAX_CHUNK_EVENTS: u32 = 1 << 24;

/// The kind of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// [`crate::schema::CaptureMeta`].
    Meta = 1,
    /// [`crate::schema::Snapshot`].
    Snapshot = 2,
    /// [`crate::schema::Chunk`].
    Chunk = 3,
    /// [`crate::schema::CaptureIndex`].
    Index = 4,
    /// [`crate::schema::Sources`]: the recordings a merged capture holds.
    Sources = 5,
}

impl FrameKind {
    fn from_u8(v: u8) -> Option<FrameKind> {
        Some(match v {
            1 => FrameKind::Meta,
            2 => FrameKind::Snapshot,
            3 => FrameKind::Chunk,
            4 => FrameKind::Index,
            5 => FrameKind::Sources,
            _ => return None,
        })
    }

    /// Lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Meta => "meta",
            FrameKind::Snapshot => "snapshot",
            FrameKind::Chunk => "chunk",
            FrameKind::Index => "index",
            FrameKind::Sources => "sources",
        }
    }
}

/// Payload codec of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    /// Stored as is.
    None = 0,
    /// One complete zstd frame.
    Zstd = 1,
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
fn arr32(b: &[u8], at: usize) -> [u8; 32] {
    let mut a = [0u8; 32];
    a.copy_from_slice(&b[at..at + 32]);
    a
}

/// The 64-byte file header.
///
/// ```text
/// 0   8  magic "FERRETCP"
/// 8   2  format_version
/// 10  2  schema_version
/// 12  4  flags (0)
/// 16  8  created_unix_ns
/// 24 16  file_id (random)
/// 40 20  reserved (0)
/// 60  4  crc32 of bytes 0..60
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Container format version.
    pub format_version: u16,
    /// Schema version.
    pub schema_version: u16,
    /// Creation time (Unix ns).
    pub created_unix_ns: u64,
    /// Random id of this file.
    pub file_id: [u8; 16],
}

impl FileHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; FILE_HEADER_LEN] {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[0..8].copy_from_slice(&FILE_MAGIC);
        b[8..10].copy_from_slice(&self.format_version.to_le_bytes());
        b[10..12].copy_from_slice(&self.schema_version.to_le_bytes());
        b[16..24].copy_from_slice(&self.created_unix_ns.to_le_bytes());
        b[24..40].copy_from_slice(&self.file_id);
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header: magic, checksum and versions.
    pub fn decode(b: &[u8]) -> Result<FileHeader, String> {
        if b.len() < FILE_HEADER_LEN {
            return Err(format!(
                "file is {} bytes, shorter than the 64-byte header",
                b.len()
            ));
        }
        if b[0..8] != FILE_MAGIC {
            return Err("not a ferret capture (bad magic)".into());
        }
        if crc32fast::hash(&b[0..60]) != le_u32(b, 60) {
            return Err("file header checksum mismatch".into());
        }
        let h = FileHeader {
            format_version: le_u16(b, 8),
            schema_version: le_u16(b, 10),
            created_unix_ns: le_u64(b, 16),
            file_id: b[24..40]
                .try_into()
                .map_err(|_| "short header".to_string())?,
        };
        if h.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                h.format_version
            ));
        }
        if h.schema_version > MERGED_SCHEMA_VERSION {
            return Err(format!(
                "schema version {} is newer than this build's {MERGED_SCHEMA_VERSION}",
                h.schema_version
            ));
        }
        Ok(h)
    }

    /// The chain's genesis: the `prev_hash` of the first frame.
    pub fn genesis_hash(bytes: &[u8; FILE_HEADER_LEN]) -> [u8; 32] {
        *blake3::hash(bytes).as_bytes()
    }
}

/// The 152-byte frame header.
///
/// ```text
/// 0    4  magic "FRM1"
/// 4    1  kind (1 meta, 2 snapshot, 3 chunk, 4 index, 5 sources)
/// 5    1  codec (0 none, 1 zstd)
/// 6    2  stream (0; in a merged capture, the recording the frame belongs to)
/// 8    4  frame_no (0-based position in the file)
/// 12   4  stored_len (payload bytes that follow)
/// 16   4  raw_len (payload bytes once decoded)
/// 20   4  event_count (chunks; 0 otherwise)
/// 24   8  first_seq
/// 32   8  ts_min
/// 40   8  ts_max
/// 48  32  kinds bitmap (4 x u64)
/// 80  32  prev_hash
/// 112 32  hash = BLAKE3(bytes 0..112 || payload)
/// 144  4  reserved (0)
/// 148  4  crc32 of bytes 0..148
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// What the payload holds.
    pub kind: FrameKind,
    /// How the payload is encoded.
    pub codec: Codec,
    /// The recording (stream) of a merged capture the frame belongs to; 0 in
    /// a recording.
    pub stream: u16,
    /// Position of the frame in the file.
    pub frame_no: u32,
    /// Payload bytes in the file.
    pub stored_len: u32,
    /// Payload bytes once decompressed.
    pub raw_len: u32,
    /// Events in a chunk frame.
    pub event_count: u32,
    /// First event's sequence number.
    pub first_seq: u64,
    /// Smallest event timestamp.
    pub ts_min: u64,
    /// Largest event timestamp.
    pub ts_max: u64,
    /// Kinds present.
    pub kinds: [u64; 4],
    /// Hash of the previous frame.
    pub prev_hash: [u8; 32],
    /// Hash of this frame.
    pub hash: [u8; 32],
}

impl FrameHeader {
    /// Encodes the header, computing `hash` over it and `payload`, and returns
    /// the bytes and the hash.
    pub fn seal(mut self, payload: &[u8]) -> ([u8; FRAME_HEADER_LEN], [u8; 32]) {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0..4].copy_from_slice(&FRAME_MAGIC);
        b[4] = self.kind as u8;
        b[5] = self.codec as u8;
        b[6..8].copy_from_slice(&self.stream.to_le_bytes());
        b[8..12].copy_from_slice(&self.frame_no.to_le_bytes());
        b[12..16].copy_from_slice(&self.stored_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.raw_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.event_count.to_le_bytes());
        b[24..32].copy_from_slice(&self.first_seq.to_le_bytes());
        b[32..40].copy_from_slice(&self.ts_min.to_le_bytes());
        b[40..48].copy_from_slice(&self.ts_max.to_le_bytes());
        for (i, w) in self.kinds.iter().enumerate() {
            b[48 + i * 8..56 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        b[80..112].copy_from_slice(&self.prev_hash);
        self.hash = frame_hash(&b[0..112], payload);
        b[112..144].copy_from_slice(&self.hash);
        let crc = crc32fast::hash(&b[0..148]);
        b[148..152].copy_from_slice(&crc.to_le_bytes());
        (b, self.hash)
    }

    /// Decodes a header and checks what can be checked without the payload:
    /// magic, checksum, kind, codec and length limits.
    pub fn decode(b: &[u8]) -> Result<FrameHeader, FrameFault> {
        if b.len() < FRAME_HEADER_LEN {
            return Err(FrameFault::Truncated);
        }
        if b[0..4] != FRAME_MAGIC {
            return Err(FrameFault::BadMagic);
        }
        if crc32fast::hash(&b[0..148]) != le_u32(b, 148) {
            return Err(FrameFault::HeaderChecksum);
        }
        let kind = FrameKind::from_u8(b[4]).ok_or(FrameFault::UnknownKind(b[4]))?;
        let codec = match b[5] {
            0 => Codec::None,
            1 => Codec::Zstd,
            c => return Err(FrameFault::UnknownCodec(c)),
        };
        let h = FrameHeader {
            kind,
            codec,
            stream: le_u16(b, 6),
            frame_no: le_u32(b, 8),
            stored_len: le_u32(b, 12),
            raw_len: le_u32(b, 16),
            event_count: le_u32(b, 20),
            first_seq: le_u64(b, 24),
            ts_min: le_u64(b, 32),
            ts_max: le_u64(b, 40),
            kinds: [le_u64(b, 48), le_u64(b, 56), le_u64(b, 64), le_u64(b, 72)],
            prev_hash: arr32(b, 80),
            hash: arr32(b, 112),
        };
        if h.stored_len > MAX_PAYLOAD || h.raw_len > MAX_PAYLOAD {
            return Err(FrameFault::TooLarge(h.stored_len.max(h.raw_len)));
        }
        if h.event_count > MAX_CHUNK_EVENTS {
            return Err(FrameFault::TooManyEvents(h.event_count));
        }
        if h.codec == Codec::None && h.stored_len != h.raw_len {
            return Err(FrameFault::LengthMismatch {
                expected: h.raw_len,
                found: h.stored_len,
            });
        }
        Ok(h)
    }

    /// Checks the payload against the header's hash.
    pub fn check_payload(&self, header_bytes: &[u8], payload: &[u8]) -> Result<(), FrameFault> {
        if frame_hash(&header_bytes[0..112], payload) != self.hash {
            return Err(FrameFault::HashMismatch);
        }
        Ok(())
    }

    /// Total bytes of the frame in the file.
    pub fn frame_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + u64::from(self.stored_len)
    }
}

fn frame_hash(head: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(head);
    h.update(payload);
    *h.finalize().as_bytes()
}

/// The 64-byte trailer of a finished file.
///
/// ```text
/// 0   8  index_offset (file offset of the index frame)
/// 8   4  frame_count (frames before the trailer, index included)
/// 12  2  format_version
/// 14  2  reserved (0)
/// 16 32  chain_head (hash of the index frame)
/// 48  4  reserved (0)
/// 52  4  crc32 of bytes 0..52
/// 56  8  magic "FERRETND"
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Offset of the index frame.
    pub index_offset: u64,
    /// Number of frames.
    pub frame_count: u32,
    /// Hash of the index frame, the last link of the chain.
    pub chain_head: [u8; 32],
}

impl Trailer {
    /// Encodes the trailer.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[0..8].copy_from_slice(&self.index_offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.frame_count.to_le_bytes());
        b[12..14].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[16..48].copy_from_slice(&self.chain_head);
        let crc = crc32fast::hash(&b[0..52]);
        b[52..56].copy_from_slice(&crc.to_le_bytes());
        b[56..64].copy_from_slice(&TRAILER_MAGIC);
        b
    }

    /// Decodes the last 64 bytes of a file, if they are a valid trailer.
    pub fn decode(b: &[u8]) -> Result<Trailer, String> {
        if b.len() < TRAILER_LEN {
            return Err("too short for a trailer".into());
        }
        if b[56..64] != TRAILER_MAGIC {
            return Err("no trailer (the capture was not finished)".into());
        }
        if crc32fast::hash(&b[0..52]) != le_u32(b, 52) {
            return Err("trailer checksum mismatch".into());
        }
        let v = le_u16(b, 12);
        if v != FORMAT_VERSION {
            return Err(format!("trailer format version {v} is not supported"));
        }
        Ok(Trailer {
            index_offset: le_u64(b, 0),
            frame_count: le_u32(b, 8),
            chain_head: arr32(b, 16),
        })
    }
}

/// Lowercase hex of a hash, for output.
pub fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_header_roundtrips_and_rejects_flips() {
        let h = FileHeader {
            format_version: FORMAT_VERSION,
            schema_version: SCHEMA_VERSION,
            created_unix_ns: 123,
            file_id: [7; 16],
        };
        let b = h.encode();
        assert_eq!(FileHeader::decode(&b), Ok(h));
        for i in 0..FILE_HEADER_LEN {
            let mut c = b;
            c[i] ^= 0x10;
            assert!(FileHeader::decode(&c).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn frame_header_roundtrips_and_hash_covers_payload() {
        let h = FrameHeader {
            kind: FrameKind::Chunk,
            codec: Codec::Zstd,
            stream: 2,
            frame_no: 3,
            stored_len: 5,
            raw_len: 50,
            event_count: 9,
            first_seq: 100,
            ts_min: 1,
            ts_max: 2,
            kinds: [1, 2, 3, 4],
            prev_hash: [9; 32],
            hash: [0; 32],
        };
        let (b, hash) = h.seal(b"hello");
        let d = FrameHeader::decode(&b).expect("valid header");
        assert_eq!(d.hash, hash);
        assert_eq!(d.kinds, [1, 2, 3, 4]);
        assert!(d.check_payload(&b, b"hello").is_ok());
        assert_eq!(d.check_payload(&b, b"hellO"), Err(FrameFault::HashMismatch));
        for i in 0..FRAME_HEADER_LEN {
            let mut c = b;
            c[i] ^= 0x01;
            assert!(FrameHeader::decode(&c).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn trailer_roundtrips() {
        let t = Trailer {
            index_offset: 4096,
            frame_count: 12,
            chain_head: [3; 32],
        };
        assert_eq!(Trailer::decode(&t.encode()), Ok(t));
    }
}
