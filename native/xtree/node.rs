//! The node page: one byte layout for leaves and directory nodes, in memory and (later) on disk.
//!
//! A page is a slice of little-endian 64-bit words (8-byte aligned):
//!
//! ```text
//! word 0      kind: u8 (1 leaf, 2 directory, 3 point leaf) | coord bytes: u8 (4/8) << 8 | dims: u16 << 16 | count: u32 << 32
//! word 1      capacity: u32 | level: u32 << 32        (level 0 = leaf)
//! words 2..6  split history of this node: 256-bit set of axes its MBR was split along
//! words 6..8  reserved (0)
//! then        ids[capacity]: u64         (row ids in leaves, child NodeIDs in directories)
//! then        hist[capacity]: u64        (directories only: each child's split history, axis mod 64)
//! then        coords: per axis a, min_a[capacity] then max_a[capacity], as f32 or f64;
//!             in a point leaf (every record a point) one array per axis, x_a[capacity]
//! ```
//!
//! A point leaf has the capacity of a leaf and half its coordinate bytes: its records are
//! points (min = max on every axis), so one coordinate per axis serves as both bounds. Readers
//! see no difference ([`NodeRef::min`] and [`NodeRef::max`] return the same array); the writer
//! builds a point leaf whenever every entry of a new leaf is a point, and turns it into a box
//! leaf when a box arrives (see `insert`).
//!
//! Structure of arrays: a scan over one axis reads a contiguous array. Capacity follows from the
//! node size and dimension ([`capacity_for`]); a supernode is a directory page whose capacity is a
//! multiple of the normal one.

use crate::error::{Error, ErrorKind, Result};
use crate::geometry::Coord;

/// Bytes of the page header.
pub const HEADER_BYTES: usize = 64;
const HEADER_WORDS: usize = HEADER_BYTES / 8;
/// Page kind byte of a leaf.
pub const KIND_LEAF: u8 = 1;
/// Page kind byte of a directory node.
pub const KIND_DIR: u8 = 2;
/// Page kind byte of a point leaf (one coordinate per axis and entry).
pub const KIND_POINTS: u8 = 3;
/// Smallest capacity a node may have, whatever the node size and dimension.
pub const MIN_CAPACITY: usize = 4;

/// Entries per normal node for a node size in bytes, dimension `dims` and coordinate width.
/// Directory entries carry an extra word (split history), so directory capacity is never larger.
pub fn capacity_for(node_size: usize, dims: usize, coord_bytes: usize, dir: bool) -> usize {
    let per_entry = 8 + if dir { 8 } else { 0 } + 2 * dims * coord_bytes;
    (node_size.saturating_sub(HEADER_BYTES) / per_entry).max(MIN_CAPACITY)
}

/// Number of 64-bit words of a page.
pub fn page_words(dims: usize, coord_bytes: usize, capacity: usize, dir: bool) -> usize {
    let fixed = HEADER_WORDS + capacity * if dir { 2 } else { 1 };
    fixed + (2 * dims * capacity * coord_bytes).div_ceil(8)
}

/// Number of 64-bit words of a point leaf page.
pub fn point_page_words(dims: usize, coord_bytes: usize, capacity: usize) -> usize {
    HEADER_WORDS + capacity + (dims * capacity * coord_bytes).div_ceil(8)
}

/// Coordinate arrays per axis: 1 in a point leaf, 2 (min and max) otherwise.
#[inline]
fn arrays_per_axis(points: bool) -> usize {
    if points {
        1
    } else {
        2
    }
}

fn coords_word_offset(capacity: usize, dir: bool) -> usize {
    HEADER_WORDS + capacity * if dir { 2 } else { 1 }
}

fn corrupt(what: &str) -> Error {
    Error::new(ErrorKind::Corruption, format!("node page: {what}"))
}

/// The decoded header of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// True for a directory node.
    pub dir: bool,
    /// True for a point leaf ([`KIND_POINTS`]).
    pub points: bool,
    /// Number of dimensions.
    pub dims: usize,
    /// Live entries.
    pub count: usize,
    /// Entry slots.
    pub capacity: usize,
    /// Height above the leaves (0 = leaf).
    pub level: u32,
}

impl Header {
    /// Reads and validates the header of `words` for an index of `dims` dimensions stored as `C`.
    pub fn parse<C: Coord>(words: &[u64], dims: usize) -> Result<Header> {
        if words.len() < HEADER_WORDS {
            return Err(corrupt("shorter than its header"));
        }
        let w0 = words[0];
        let kind = (w0 & 0xff) as u8;
        let width = ((w0 >> 8) & 0xff) as usize;
        let hdims = ((w0 >> 16) & 0xffff) as usize;
        let count = (w0 >> 32) as usize;
        let capacity = (words[1] & 0xffff_ffff) as usize;
        let level = (words[1] >> 32) as u32;
        let (dir, points) = match kind {
            KIND_LEAF => (false, false),
            KIND_DIR => (true, false),
            KIND_POINTS => (false, true),
            _ => return Err(corrupt("unknown kind")),
        };
        if width != C::BYTES || hdims != dims {
            return Err(corrupt(
                "dimension or coordinate width differs from the index",
            ));
        }
        if count > capacity || capacity < 1 {
            return Err(corrupt("count exceeds capacity"));
        }
        if dir != (level > 0) {
            return Err(corrupt("level does not match kind"));
        }
        let need = if points {
            point_page_words(dims, C::BYTES, capacity)
        } else {
            page_words(dims, C::BYTES, capacity, dir)
        };
        if words.len() < need {
            return Err(corrupt("shorter than its capacity"));
        }
        Ok(Header {
            dir,
            points,
            dims,
            count,
            capacity,
            level,
        })
    }
}

/// Validates a page read from outside the process (a segment file, index bytes) before any
/// operation uses it: its header ([`Header::parse`]), then every live entry — each coordinate
/// finite (records are finite, and a directory entry is the union of finite MBRs) and
/// `min <= max` on every axis — and, in a directory, no child named NIL. The tree operations
/// rely on these: a NaN or infinite coordinate read from disk would otherwise reach the split
/// and distance arithmetic, whose results are specified for finite input only.
///
/// # Errors
/// `Corruption` naming the first entry and axis that fails.
pub fn validate_page<C: Coord>(words: &[u64], dims: usize) -> Result<Header> {
    let n = NodeRef::<C>::new(words, dims)?;
    for a in 0..dims {
        let (lo, hi) = (n.min(a), n.max(a));
        for i in 0..n.count() {
            let (l, h) = (lo[i].to_f64(), hi[i].to_f64());
            if !(l.is_finite() && h.is_finite() && l <= h) {
                return Err(corrupt(&format!(
                    "entry {i} has bounds [{l}, {h}] on axis {a} (not finite, or min > max)"
                )));
            }
        }
    }
    if n.h.dir {
        if let Some(i) = n.ids().iter().position(|&id| id == crate::store::NIL) {
            return Err(corrupt(&format!("entry {i} names no child (NIL)")));
        }
    }
    Ok(n.h)
}

/// Writes a fresh empty page header into `words` (which must be `page_words(..)` long, zeroed).
pub fn init_page<C: Coord>(words: &mut [u64], dims: usize, capacity: usize, level: u32) {
    let kind = if level > 0 { KIND_DIR } else { KIND_LEAF };
    words[0] = kind as u64 | ((C::BYTES as u64) << 8) | ((dims as u64) << 16);
    words[1] = capacity as u64 | ((level as u64) << 32);
}

/// Writes a fresh empty point leaf header into `words` (which must be
/// [`point_page_words`]`(..)` long, zeroed).
pub fn init_point_page<C: Coord>(words: &mut [u64], dims: usize, capacity: usize) {
    words[0] = KIND_POINTS as u64 | ((C::BYTES as u64) << 8) | ((dims as u64) << 16);
    words[1] = capacity as u64;
}

/// Offset in the coordinate area of axis `a`'s lower bounds.
#[inline]
fn min_offset(h: &Header, a: usize) -> usize {
    arrays_per_axis(h.points) * a * h.capacity
}

/// Offset in the coordinate area of axis `a`'s upper bounds (the lower ones in a point leaf).
#[inline]
fn max_offset(h: &Header, a: usize) -> usize {
    if h.points {
        a * h.capacity
    } else {
        (2 * a + 1) * h.capacity
    }
}

/// A read-only view of a node page.
#[derive(Clone, Copy)]
pub struct NodeRef<'a, C: Coord> {
    /// The validated header.
    pub h: Header,
    words: &'a [u64],
    coords: &'a [C],
}

impl<'a, C: Coord> NodeRef<'a, C> {
    /// Validates and views `words` as a node of an index with `dims` dimensions.
    pub fn new(words: &'a [u64], dims: usize) -> Result<Self> {
        let h = Header::parse::<C>(words, dims)?;
        let off = coords_word_offset(h.capacity, h.dir);
        let n = arrays_per_axis(h.points) * dims * h.capacity;
        let coords: &[C] = bytemuck::cast_slice(&words[off..]);
        Ok(NodeRef {
            h,
            words,
            coords: &coords[..n],
        })
    }

    /// Live entry count.
    #[inline]
    pub fn count(&self) -> usize {
        self.h.count
    }

    /// Level (0 = leaf).
    #[inline]
    pub fn level(&self) -> u32 {
        self.h.level
    }

    /// True for a leaf.
    #[inline]
    pub fn is_leaf(&self) -> bool {
        !self.h.dir
    }

    /// Row ids (leaf) or child NodeIDs (directory) of the live entries.
    #[inline]
    pub fn ids(&self) -> &'a [u64] {
        &self.words[HEADER_WORDS..HEADER_WORDS + self.h.count]
    }

    /// Split histories of the children (directory only; empty for a leaf).
    #[inline]
    pub fn hists(&self) -> &'a [u64] {
        if self.h.dir {
            let o = HEADER_WORDS + self.h.capacity;
            &self.words[o..o + self.h.count]
        } else {
            &[]
        }
    }

    /// The node's own split history (256-bit axis set as 4 words).
    pub fn own_history(&self) -> [u64; 4] {
        [self.words[2], self.words[3], self.words[4], self.words[5]]
    }

    /// Lower bounds of axis `a` for the live entries (a point leaf's coordinates).
    #[inline]
    pub fn min(&self, a: usize) -> &'a [C] {
        let o = min_offset(&self.h, a);
        &self.coords[o..o + self.h.count]
    }

    /// Upper bounds of axis `a` for the live entries (a point leaf's coordinates, the same
    /// array as [`NodeRef::min`]).
    #[inline]
    pub fn max(&self, a: usize) -> &'a [C] {
        let o = max_offset(&self.h, a);
        &self.coords[o..o + self.h.count]
    }

    /// Copies entry `i`'s MBR into `out` (length 2·dims).
    #[inline]
    pub fn mbr_into(&self, i: usize, out: &mut [C]) {
        let d = self.h.dims;
        for a in 0..d {
            out[a] = self.coords[min_offset(&self.h, a) + i];
            out[d + a] = self.coords[max_offset(&self.h, a) + i];
        }
    }

    /// Entry `i`'s MBR as a new vector.
    pub fn mbr(&self, i: usize) -> Vec<C> {
        let mut v = vec![C::zeroed(); 2 * self.h.dims];
        self.mbr_into(i, &mut v);
        v
    }

    /// The union of all entries' MBRs (the node's exact MBR).
    pub fn bounds(&self) -> Vec<C> {
        let d = self.h.dims;
        let mut out = vec![C::zeroed(); 2 * d];
        for a in 0..d {
            let mins = self.min(a);
            let maxs = self.max(a);
            out[a] = mins.iter().copied().fold(C::INFINITY, C::min_c);
            out[d + a] = maxs.iter().copied().fold(C::NEG_INFINITY, C::max_c);
        }
        out
    }
}

/// A mutable view of a node page (writer-owned, unpublished pages only).
pub struct NodeMut<'a, C: Coord> {
    /// The header as it was when the view was made; `count` is kept current.
    pub h: Header,
    words: &'a mut [u64],
    _c: std::marker::PhantomData<C>,
}

impl<'a, C: Coord> NodeMut<'a, C> {
    /// Views `words` mutably.
    pub fn new(words: &'a mut [u64], dims: usize) -> Result<Self> {
        let h = Header::parse::<C>(words, dims)?;
        Ok(NodeMut {
            h,
            words,
            _c: std::marker::PhantomData,
        })
    }

    /// A read view of the same page.
    pub fn as_ref(&self) -> NodeRef<'_, C> {
        NodeRef::new(self.words, self.h.dims).expect("a page viewed mutably was valid")
    }

    fn coords_mut(&mut self) -> &mut [C] {
        let off = coords_word_offset(self.h.capacity, self.h.dir);
        let n = arrays_per_axis(self.h.points) * self.h.dims * self.h.capacity;
        let c: &mut [C] = bytemuck::cast_slice_mut(&mut self.words[off..]);
        &mut c[..n]
    }

    fn set_count(&mut self, n: usize) {
        self.h.count = n;
        self.words[0] = (self.words[0] & 0xffff_ffff) | ((n as u64) << 32);
    }

    /// Sets the node's own split history.
    pub fn set_own_history(&mut self, hist: [u64; 4]) {
        self.words[2..6].copy_from_slice(&hist);
    }

    /// Overwrites entry `i` (i < capacity) with `id`, split history `hist` and MBR `m`.
    /// Panics when `m` is not a point and this is a point leaf (callers check with
    /// [`NodeMut::holds`]; storing it would lose its extent).
    pub fn write_entry(&mut self, i: usize, id: u64, hist: u64, m: &[C]) {
        let cap = self.h.capacity;
        self.words[HEADER_WORDS + i] = id;
        if self.h.dir {
            self.words[HEADER_WORDS + cap + i] = hist;
        }
        self.set_mbr(i, m);
    }

    /// Whether this page can hold MBR `m`: any, except a box (not a point) in a point leaf.
    #[inline]
    pub fn holds(&self, m: &[C]) -> bool {
        !self.h.points || is_point(m)
    }

    /// Overwrites only the MBR of entry `i`. Panics as [`NodeMut::write_entry`].
    pub fn set_mbr(&mut self, i: usize, m: &[C]) {
        assert!(self.holds(m), "a box written into a point leaf");
        let d = self.h.dims;
        let h = self.h;
        let c = self.coords_mut();
        for a in 0..d {
            c[min_offset(&h, a) + i] = m[a];
            c[max_offset(&h, a) + i] = m[d + a];
        }
    }

    /// Overwrites only the id of entry `i`.
    pub fn set_id(&mut self, i: usize, id: u64) {
        self.words[HEADER_WORDS + i] = id;
    }

    /// Overwrites only the split history of directory entry `i`.
    pub fn set_hist(&mut self, i: usize, hist: u64) {
        let cap = self.h.capacity;
        if self.h.dir {
            self.words[HEADER_WORDS + cap + i] = hist;
        }
    }

    /// Appends an entry. Panics if full (callers check capacity first).
    pub fn push(&mut self, id: u64, hist: u64, m: &[C]) {
        let n = self.h.count;
        assert!(n < self.h.capacity, "push into a full node");
        self.write_entry(n, id, hist, m);
        self.set_count(n + 1);
    }

    /// Removes entry `i` by moving the last entry into its slot (entry order is not meaningful).
    pub fn swap_remove(&mut self, i: usize) {
        let n = self.h.count;
        let last = n - 1;
        if i != last {
            let r = self.as_ref();
            let id = r.ids()[last];
            let hist = if self.h.dir { r.hists()[last] } else { 0 };
            let m = r.mbr(last);
            self.write_entry(i, id, hist, &m);
        }
        self.set_count(last);
    }

    /// Removes all entries.
    pub fn clear(&mut self) {
        self.set_count(0);
    }
}

/// Whether the flat MBR `m` (`2·dims` coordinates) is a point: min and max the same bits on
/// every axis (so a point leaf gives back exactly what was stored, -0.0 and +0.0 included).
#[inline]
pub fn is_point<C: Coord>(m: &[C]) -> bool {
    let d = m.len() / 2;
    bytemuck::cast_slice::<C, u8>(&m[..d]) == bytemuck::cast_slice::<C, u8>(&m[d..])
}

/// Entries taken out of a node, flat: `mbrs` holds `2·dims` coordinates per entry.
#[derive(Debug, Clone, Default)]
pub struct Entries<C> {
    /// Row ids or child NodeIDs.
    pub ids: Vec<u64>,
    /// Split histories (0 for records).
    pub hists: Vec<u64>,
    /// Flat MBRs.
    pub mbrs: Vec<C>,
}

impl<C: Coord> Entries<C> {
    /// An empty list with room for `n` entries of dimension `d`.
    pub fn with_capacity(n: usize, d: usize) -> Self {
        Entries {
            ids: Vec::with_capacity(n),
            hists: Vec::with_capacity(n),
            mbrs: Vec::with_capacity(n * 2 * d),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends one entry.
    pub fn push(&mut self, id: u64, hist: u64, m: &[C]) {
        self.ids.push(id);
        self.hists.push(hist);
        self.mbrs.extend_from_slice(m);
    }

    /// The MBR of entry `i` (dimension `d`).
    #[inline]
    pub fn mbr(&self, i: usize, d: usize) -> &[C] {
        &self.mbrs[i * 2 * d..(i + 1) * 2 * d]
    }

    /// All entries of a node.
    pub fn from_node(n: &NodeRef<'_, C>) -> Self {
        let d = n.h.dims;
        let mut e = Entries::with_capacity(n.count() + 1, d);
        let mut m = vec![C::zeroed(); 2 * d];
        let hists = n.hists();
        for (i, &id) in n.ids().iter().enumerate() {
            n.mbr_into(i, &mut m);
            e.push(id, if n.is_leaf() { 0 } else { hists[i] }, &m);
        }
        e
    }

    /// The union of the MBRs of the entries at `idx`.
    pub fn bounds_of(&self, idx: &[usize], d: usize) -> Vec<C> {
        let mut b = crate::geometry::mbr::empty::<C>(d);
        for &i in idx {
            crate::geometry::mbr::union_into(&mut b, self.mbr(i, d));
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_round_trip() {
        let d = 3;
        let cap = capacity_for(512, d, 8, true);
        let mut words = vec![0u64; page_words(d, 8, cap, true)];
        init_page::<f64>(&mut words, d, cap, 1);
        let mut n = NodeMut::<f64>::new(&mut words, d).unwrap();
        n.push(7, 0b101, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        n.push(9, 0b010, &[-1.0, 1.0, 2.0, 0.0, 4.0, 6.0]);
        n.swap_remove(0);
        let r = NodeRef::<f64>::new(&words, d).unwrap();
        assert_eq!(r.count(), 1);
        assert_eq!(r.ids(), &[9]);
        assert_eq!(r.hists(), &[0b010]);
        assert_eq!(r.mbr(0), vec![-1.0, 1.0, 2.0, 0.0, 4.0, 6.0]);
        assert_eq!(r.bounds(), vec![-1.0, 1.0, 2.0, 0.0, 4.0, 6.0]);
        assert!(NodeRef::<f32>::new(&words, d).is_err());
        assert!(NodeRef::<f64>::new(&words[..4], d).is_err());
    }
}
