//! An [`Index`] as one self-contained byte string, and back: the tree that the Lucene
//! integration stores per segment and field (FORMAT.md, "Lucene segment file").
//!
//! Layout (all integers little-endian; offsets are those of the fields before them):
//!
//! ```text
//! offset  size  field
//! 0       4     magic "XTRB"
//! 4       4     version (u32) = BYTES_VERSION
//! 8       4     dimension (u32), 1..=255
//! 12      4     precision (u32), 32 or 64
//! 16      4     node size in bytes (u32), within NODE_SIZE_RANGE
//! 20      4     reserved (u32) = 0
//! 24      8     records (u64)
//! 32      8     root NodeID (u64), NIL (u64::MAX) for an empty tree
//! 40      8     page count (u64)
//! 48      ...   labels: `dimension` times { byte length (u32), UTF-8 bytes }
//! ...     ...   pages: `page count` times { NodeID (u64), word count (u64), words (u64 each) }
//! end-4   4     CRC-32C (Castagnoli) of every byte before it
//! ```
//!
//! Page words are the node pages of `xtree::node` exactly as the in-memory store holds them,
//! child entries of directory pages naming other pages by NodeID. Loading validates everything
//! before any query can run: the checksum, every length against the bytes that remain (no
//! allocation larger than the input), the options, each page header, and the shape of the tree
//! (every page reached exactly once from the root, each child exactly one level below its parent,
//! no level above `MAX_HEIGHT`, the leaf entries adding up to the record count). A damaged byte
//! string is a `Corruption` error, never a panic, a loop or an unbounded allocation.

use std::collections::HashMap;

use super::*;
use crate::store::memory::LoadedPage;
use crate::xtree::node::Header;
use crate::xtree::params::MAX_HEIGHT;

/// Magic bytes at the start of [`Index::to_bytes`] output.
pub const BYTES_MAGIC: [u8; 4] = *b"XTRB";
/// Version of the byte layout written by [`Index::to_bytes`]: 2 (point leaves, node kind 3,
/// may appear). [`Index::from_bytes`] reads versions 1 (no point leaves) and 2.
pub const BYTES_VERSION: u32 = 2;
/// The oldest version [`Index::from_bytes`] reads.
pub const BYTES_VERSION_MIN: u32 = 1;

const MAGIC_AT: usize = 0;
const VERSION_AT: usize = MAGIC_AT + 4;
const DIMENSION_AT: usize = VERSION_AT + 4;
const PRECISION_AT: usize = DIMENSION_AT + 4;
const NODE_SIZE_AT: usize = PRECISION_AT + 4;
const RESERVED_AT: usize = NODE_SIZE_AT + 4;
const RECORDS_AT: usize = RESERVED_AT + 4;
const ROOT_AT: usize = RECORDS_AT + 8;
const PAGES_AT: usize = ROOT_AT + 8;
const LABELS_AT: usize = PAGES_AT + 8;
const CRC_BYTES: usize = 4;
/// Bytes before the words of each page: its NodeID and word count.
const PAGE_HEADER_BYTES: usize = 16;

fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(
        crate::ErrorKind::Corruption,
        format!("index bytes: {}", msg.into()),
    )
}

/// Bounded little-endian reads over the input: every read checks the bytes that remain.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| corrupt(format!("truncated in {what} at byte {}", self.at)))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

impl Index {
    /// The index as one byte string in the layout of this module's docs: its options, record
    /// count, root and every page of the current version. The inverse of [`Index::from_bytes`].
    ///
    /// # Errors
    /// `Corruption` if a page of the tree cannot be read (never for an in-memory index built by
    /// this library).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let snap = self.snapshot();
        let mut pages: Vec<(NodeId, Vec<u64>)> = Vec::new();
        snap.walk(
            |_| false,
            |id, words, _level| {
                pages.push((id, words.to_vec()));
                Ok(())
            },
        )?;
        let labels: usize = self.labels.iter().map(|l| 4 + l.len()).sum();
        let words: usize = pages.iter().map(|(_, w)| w.len()).sum();
        let size = LABELS_AT + labels + pages.len() * PAGE_HEADER_BYTES + words * 8 + CRC_BYTES;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&BYTES_MAGIC);
        out.extend_from_slice(&BYTES_VERSION.to_le_bytes());
        for v in [self.dimension, self.precision as usize, self.node_size, 0] {
            let v = u32::try_from(v).expect("dimension, precision and node size fit in u32");
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&snap.len().to_le_bytes());
        out.extend_from_slice(&snap.root().to_le_bytes());
        out.extend_from_slice(&(pages.len() as u64).to_le_bytes());
        for l in &self.labels {
            let n = u32::try_from(l.len()).expect("a label is shorter than 4 GiB");
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(l.as_bytes());
        }
        for (id, w) in &pages {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(w.len() as u64).to_le_bytes());
            for x in w {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(out.len(), size);
        Ok(out)
    }

    /// An in-memory index read from `bytes`, the output of [`Index::to_bytes`] (the bytes are
    /// copied; nothing refers to `bytes` afterwards). Everything is validated first (see the
    /// module docs), so queries on the result never meet a malformed page.
    ///
    /// # Errors
    /// `Corruption` naming the first problem: bad magic, unknown version, checksum mismatch,
    /// truncation, options out of range, a bad page, or a page set that is not one tree.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index> {
        if bytes.len() < LABELS_AT + CRC_BYTES {
            return Err(corrupt(format!("{} bytes are too short", bytes.len())));
        }
        let (body, crc) = bytes.split_at(bytes.len() - CRC_BYTES);
        if body[MAGIC_AT..MAGIC_AT + 4] != BYTES_MAGIC {
            return Err(corrupt("bad magic (not an xtree index)"));
        }
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let actual = crc32c::crc32c(body);
        if stored != actual {
            return Err(corrupt(format!(
                "checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"
            )));
        }
        let mut r = Reader {
            bytes: body,
            at: VERSION_AT,
        };
        let version = r.u32("version")?;
        if !(BYTES_VERSION_MIN..=BYTES_VERSION).contains(&version) {
            return Err(corrupt(format!(
                "version {version} is not supported (this library reads \
                 {BYTES_VERSION_MIN} to {BYTES_VERSION})"
            )));
        }
        let dimension = r.u32("dimension")? as usize;
        let precision = r.u32("precision")?;
        let node_size = r.u32("node size")? as usize;
        let reserved = r.u32("reserved")?;
        if !(1..=MAX_DIMENSION).contains(&dimension)
            || (precision != 32 && precision != 64)
            || !NODE_SIZE_RANGE.contains(&node_size)
            || reserved != 0
        {
            return Err(corrupt(format!(
                "options out of range (dimension {dimension}, precision {precision}, node size \
                 {node_size}, reserved {reserved})"
            )));
        }
        let records = r.u64("record count")?;
        let root = r.u64("root")?;
        let page_count = r.u64("page count")?;
        debug_assert_eq!(r.at, LABELS_AT);
        let mut labels = Vec::with_capacity(dimension);
        for i in 0..dimension {
            let n = r.u32("label length")? as usize;
            let b = r.take(n, "label")?;
            let s =
                std::str::from_utf8(b).map_err(|_| corrupt(format!("label {i} is not UTF-8")))?;
            labels.push(s.to_string());
        }
        // Each page takes at least its header: bound the count by the bytes left before
        // allocating anything for it.
        let page_count = usize::try_from(page_count)
            .ok()
            .filter(|&n| n <= r.remaining() / PAGE_HEADER_BYTES)
            .ok_or_else(|| corrupt(format!("page count {page_count} exceeds the bytes")))?;
        let mut pages: Vec<(NodeId, Vec<u64>)> = Vec::with_capacity(page_count);
        let mut at: HashMap<NodeId, usize> = HashMap::with_capacity(page_count);
        for p in 0..page_count {
            let id = r.u64("page id")?;
            let n = r.u64("page word count")?;
            let n = usize::try_from(n)
                .ok()
                .filter(|&n| n <= r.remaining() / 8)
                .ok_or_else(|| corrupt(format!("page {p} claims {n} words, past the end")))?;
            let raw = r.take(n * 8, "page words")?;
            let words: Vec<u64> = raw
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    u64::from_le_bytes(a)
                })
                .collect();
            check_page(precision, dimension, &words)
                .map_err(|e| corrupt(format!("page {p} (node {id:#x}): {}", e.message())))?;
            let points = (words[0] & 0xff) as u8 == crate::xtree::node::KIND_POINTS;
            if points && version < 2 {
                return Err(corrupt(format!(
                    "page {p} (node {id:#x}) is a point leaf, which version {version} has not"
                )));
            }
            if at.insert(id, p).is_some() {
                return Err(corrupt(format!("node {id:#x} appears twice")));
            }
            pages.push((id, words));
        }
        if r.remaining() != 0 {
            return Err(corrupt(format!(
                "{} bytes follow the last page",
                r.remaining()
            )));
        }
        check_tree(precision, dimension, &pages, &at, root, records)?;
        let mut o = IndexOptions::new(dimension, precision, labels);
        o.node_size = node_size;
        let pages = pages
            .into_iter()
            .map(|(id, w)| (id, LoadedPage::Owned(w)))
            .collect();
        Index::from_pages(o, pages, root, records).map_err(|e| corrupt(e.message()))
    }
}

/// Checks that `pages` form one tree under `root` holding `records` leaf entries: every page
/// reached exactly once, each child one level below its parent.
fn check_tree(
    precision: u32,
    dims: usize,
    pages: &[(NodeId, Vec<u64>)],
    at: &HashMap<NodeId, usize>,
    root: NodeId,
    records: u64,
) -> Result<()> {
    if root == NIL {
        if !pages.is_empty() || records != 0 {
            return Err(corrupt(format!(
                "an empty tree with {} pages and {records} records",
                pages.len()
            )));
        }
        return Ok(());
    }
    let mut seen = vec![false; pages.len()];
    let mut leaf_entries = 0u64;
    let mut stack: Vec<(NodeId, Option<u32>)> = vec![(root, None)];
    while let Some((id, want_level)) = stack.pop() {
        let &p = at
            .get(&id)
            .ok_or_else(|| corrupt(format!("node {id:#x} is referenced but absent")))?;
        if std::mem::replace(&mut seen[p], true) {
            return Err(corrupt(format!("node {id:#x} is reached twice")));
        }
        let info = page_info(precision, dims, &pages[p].1)?;
        if info.level > MAX_HEIGHT || want_level.is_some_and(|w| w != info.level) {
            return Err(corrupt(format!(
                "node {id:#x} is at level {} (expected {want_level:?})",
                info.level
            )));
        }
        if info.level == 0 {
            let words = &pages[p].1;
            let h = if precision == 32 {
                Header::parse::<f32>(words, dims)?
            } else {
                Header::parse::<f64>(words, dims)?
            };
            leaf_entries += h.count as u64;
        } else {
            let below = info.level - 1;
            stack.extend(info.children.into_iter().map(|c| (c, Some(below))));
        }
    }
    if let Some(p) = seen.iter().position(|s| !s) {
        return Err(corrupt(format!(
            "node {:#x} is not reachable from the root",
            pages[p].0
        )));
    }
    if leaf_entries != records {
        return Err(corrupt(format!(
            "the leaves hold {leaf_entries} records, the header says {records}"
        )));
    }
    Ok(())
}
