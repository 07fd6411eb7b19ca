//! A read-only reader of bolt (bbolt) database files, as containerd
//! (`meta.db`) and podman (`bolt_state.db`) keep their state.
//!
//! The runtimes hold the file's lock for as long as they run, so this reader
//! takes no lock: it reads the file into memory once and walks the tree of
//! the newer of the two meta pages. A page the writer reused meanwhile reads
//! as garbage; every offset and length is bounded, so garbage gives `None`,
//! never a panic, and the caller reads again later.
//!
//! Layout (little-endian), from bbolt's `page.go` and `db.go`:
//! - page header, 16 bytes: id u64, flags u16 (branch 0x01, leaf 0x02,
//!   meta 0x04, freelist 0x10), count u16, overflow u32; a page spans
//!   `(overflow + 1) * page_size` bytes at `id * page_size`.
//! - meta (pages 0 and 1, after the header): magic u32 `0xED0CDAED`,
//!   version u32 (2), page size u32, flags u32, root bucket (root u64,
//!   sequence u64), freelist u64, high-water page u64, txid u64, checksum u64.
//! - branch element, 16 bytes: pos u32, ksize u32, child page u64; the key
//!   sits `pos` bytes after the element.
//! - leaf element, 16 bytes: flags u32 (0x01: the value is a bucket), pos
//!   u32, ksize u32, vsize u32; key then value `pos` bytes after the element.
//! - a bucket value: root page u64 and sequence u64; a root of 0 means the
//!   bucket's single leaf page follows inline in the value.

const MAGIC: u32 = 0xED0C_DAED;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const BUCKET_FLAG: u32 = 0x01;
/// Deeper trees than this are damage (bolt trees are a few levels deep).
const MAX_DEPTH: usize = 32;

/// A database file read into memory.
pub struct Db {
    data: Vec<u8>,
    page_size: usize,
    root: u64,
}

/// A bucket: where its tree starts.
#[derive(Clone, Copy)]
pub struct Bucket<'a> {
    db: &'a Db,
    root: Root<'a>,
}

#[derive(Clone, Copy)]
enum Root<'a> {
    Page(u64),
    Inline(&'a [u8]),
}

/// A value: bytes or a nested bucket.
pub enum Value<'a> {
    /// Plain bytes.
    Bytes(&'a [u8]),
    /// A nested bucket.
    Bucket(Bucket<'a>),
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

impl Db {
    /// Reads a database file; `None` when it is not a bolt file.
    pub fn open(path: &std::path::Path) -> std::io::Result<Option<Db>> {
        Ok(Db::from_bytes(std::fs::read(path)?))
    }

    /// A database from its bytes; `None` when they are not a bolt file.
    pub fn from_bytes(data: Vec<u8>) -> Option<Db> {
        let meta = |off: usize| -> Option<(u32, u64, u64)> {
            let m = off + 16;
            if u32_at(&data, m)? != MAGIC {
                return None;
            }
            let page_size = u32_at(&data, m + 8)?;
            let root = u64_at(&data, m + 16)?;
            let txid = u64_at(&data, m + 48)?;
            // The checksum (FNV-1a 64 of the 56 bytes before it) tells a
            // meta page caught half-written.
            let sum = u64_at(&data, m + 56)?;
            if fnv1a(data.get(m..m + 56)?) != sum {
                return None;
            }
            Some((page_size, root, txid))
        };
        let first = meta(0);
        let page_size = first.map(|m| m.0 as usize).unwrap_or(4096);
        let second = if (512..=1 << 20).contains(&page_size) {
            meta(page_size)
        } else {
            None
        };
        let (ps, root, _) = match (first, second) {
            (Some(a), Some(b)) => {
                if b.2 > a.2 {
                    b
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        if !(512..=1 << 20).contains(&(ps as usize)) {
            return None;
        }
        Some(Db {
            data,
            page_size: ps as usize,
            root,
        })
    }

    /// The root bucket.
    pub fn root(&self) -> Bucket<'_> {
        Bucket {
            db: self,
            root: Root::Page(self.root),
        }
    }

    fn page(&self, id: u64) -> Option<&[u8]> {
        let start = usize::try_from(id).ok()?.checked_mul(self.page_size)?;
        let head = self.data.get(start..start + 16)?;
        let overflow = u32_at(head, 12)? as usize;
        let len = overflow.checked_add(1)?.checked_mul(self.page_size)?;
        let end = start.checked_add(len)?.min(self.data.len());
        self.data.get(start..end)
    }
}

fn fnv1a(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl<'a> Bucket<'a> {
    /// Every key and value of the bucket, in key order.
    pub fn entries(&self) -> Vec<(&'a [u8], Value<'a>)> {
        let mut out = Vec::new();
        let page = match self.root {
            Root::Page(id) => self.db.page(id),
            Root::Inline(p) => Some(p),
        };
        if let Some(p) = page {
            self.walk(p, 0, &mut out);
        }
        out
    }

    fn walk(&self, page: &'a [u8], depth: usize, out: &mut Vec<(&'a [u8], Value<'a>)>) {
        if depth > MAX_DEPTH {
            return;
        }
        let (Some(flags), Some(count)) = (u16_at(page, 8), u16_at(page, 10)) else {
            return;
        };
        for i in 0..count as usize {
            let e = 16 + i * 16;
            if flags & BRANCH != 0 {
                let (Some(_), Some(child)) = (u32_at(page, e), u64_at(page, e + 8)) else {
                    return;
                };
                if let Some(p) = self.db.page(child) {
                    self.walk(p, depth + 1, out);
                }
            } else if flags & LEAF != 0 {
                let (Some(fl), Some(pos), Some(ks), Some(vs)) = (
                    u32_at(page, e),
                    u32_at(page, e + 4),
                    u32_at(page, e + 8),
                    u32_at(page, e + 12),
                ) else {
                    return;
                };
                let k0 = e + pos as usize;
                let Some(key) = page.get(k0..k0 + ks as usize) else {
                    return;
                };
                let v0 = k0 + ks as usize;
                let Some(val) = page.get(v0..v0 + vs as usize) else {
                    return;
                };
                if fl & BUCKET_FLAG != 0 {
                    let Some(root) = u64_at(val, 0) else { continue };
                    let root = if root == 0 {
                        Root::Inline(val.get(16..).unwrap_or(&[]))
                    } else {
                        Root::Page(root)
                    };
                    out.push((key, Value::Bucket(Bucket { db: self.db, root })));
                } else {
                    out.push((key, Value::Bytes(val)));
                }
            } else {
                return;
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<Value<'a>> {
        self.entries()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The bytes of `key` (not a bucket).
    pub fn bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        match self.get(key)? {
            Value::Bytes(b) => Some(b),
            Value::Bucket(_) => None,
        }
    }

    /// The nested bucket `key`.
    pub fn bucket(&self, key: &[u8]) -> Option<Bucket<'a>> {
        match self.get(key)? {
            Value::Bucket(b) => Some(b),
            Value::Bytes(_) => None,
        }
    }

    /// The bucket at a path of nested bucket names.
    pub fn path(&self, names: &[&[u8]]) -> Option<Bucket<'a>> {
        let mut b = *self;
        for n in names {
            b = b.bucket(n)?;
        }
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page-per-level database built by hand: meta pages 0 and 1, a
    /// root leaf (page 2) holding a key and an inline bucket.
    fn tiny() -> Vec<u8> {
        let ps = 4096usize;
        let mut d = vec![0u8; ps * 3];
        for (i, txid) in [(0usize, 1u64), (1, 2)] {
            let m = i * ps + 16;
            d[i * ps + 8..i * ps + 10].copy_from_slice(&0x04u16.to_le_bytes());
            d[m..m + 4].copy_from_slice(&MAGIC.to_le_bytes());
            d[m + 4..m + 8].copy_from_slice(&2u32.to_le_bytes());
            d[m + 8..m + 12].copy_from_slice(&(ps as u32).to_le_bytes());
            d[m + 16..m + 24].copy_from_slice(&2u64.to_le_bytes());
            d[m + 48..m + 56].copy_from_slice(&txid.to_le_bytes());
            let sum = fnv1a(&d[m..m + 56]);
            d[m + 56..m + 64].copy_from_slice(&sum.to_le_bytes());
        }
        // Inline bucket value: header (root 0, seq 0), then a leaf page with
        // one element "k" = "v".
        let mut inline = vec![0u8; 16];
        let mut leaf = vec![0u8; 16 + 16];
        leaf[8..10].copy_from_slice(&LEAF.to_le_bytes());
        leaf[10..12].copy_from_slice(&1u16.to_le_bytes());
        leaf[16 + 4..16 + 8].copy_from_slice(&16u32.to_le_bytes());
        leaf[16 + 8..16 + 12].copy_from_slice(&1u32.to_le_bytes());
        leaf[16 + 12..16 + 16].copy_from_slice(&1u32.to_le_bytes());
        leaf.extend_from_slice(b"kv");
        inline.extend_from_slice(&leaf);
        // Root leaf: "a" = "1", "b" = bucket(inline).
        let p = 2 * ps;
        d[p..p + 8].copy_from_slice(&2u64.to_le_bytes());
        d[p + 8..p + 10].copy_from_slice(&LEAF.to_le_bytes());
        d[p + 10..p + 12].copy_from_slice(&2u16.to_le_bytes());
        let data0 = p + 16 + 32;
        let mut at = data0;
        for (i, (k, v, fl)) in [(&b"a"[..], &b"1"[..], 0u32), (b"b", &inline[..], 1)]
            .into_iter()
            .enumerate()
        {
            let e = p + 16 + i * 16;
            d[e..e + 4].copy_from_slice(&fl.to_le_bytes());
            d[e + 4..e + 8].copy_from_slice(&((at - e) as u32).to_le_bytes());
            d[e + 8..e + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
            d[e + 12..e + 16].copy_from_slice(&(v.len() as u32).to_le_bytes());
            d[at..at + k.len()].copy_from_slice(k);
            at += k.len();
            d[at..at + v.len()].copy_from_slice(v);
            at += v.len();
        }
        d
    }

    #[test]
    fn reads_keys_and_inline_buckets() {
        let db = Db::from_bytes(tiny()).expect("bolt");
        let root = db.root();
        assert_eq!(root.bytes(b"a"), Some(&b"1"[..]));
        assert_eq!(
            root.path(&[b"b"]).and_then(|b| b.bytes(b"k")),
            Some(&b"v"[..])
        );
        assert!(root.bucket(b"a").is_none());
        assert!(root.get(b"zz").is_none());
    }

    #[test]
    fn garbage_never_panics() {
        assert!(Db::from_bytes(b"not bolt".to_vec()).is_none());
        let good = tiny();
        // Every single-byte corruption of the tree pages reads or fails
        // cleanly.
        for i in (8192..good.len()).step_by(7) {
            let mut d = good.clone();
            d[i] ^= 0xff;
            if let Some(db) = Db::from_bytes(d) {
                let _ = db.root().entries().len();
                let _ = db.root().path(&[b"b"]).map(|b| b.entries().len());
            }
        }
        // A torn meta page falls back to the other one.
        let mut d = good.clone();
        d[4096 + 16 + 50] ^= 1;
        assert!(Db::from_bytes(d).is_some());
    }
}
