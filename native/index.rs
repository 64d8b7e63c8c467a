//! The public Rust API: a thread-safe in-memory X-tree index.
//!
//! One writer at a time (writes serialise on an internal mutex), any number of concurrent
//! readers. Every write call is atomic: readers see the index before or after it, never in
//! between, because writers copy-on-write the pages they change and publish a new root at the
//! end of the call (DESIGN.md §4).

use crate::error::Result;

mod bytes;
mod row_set;
mod snapshot;
pub use bytes::{BYTES_MAGIC, BYTES_VERSION};
pub use row_set::RowSet;
pub use snapshot::{check_page, page_info, IndexSnapshot, PageInfo};

pub use crate::geometry::SearchType;

/// Construction parameters of an [`Index`].
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Number of dimensions, 1..=255.
    pub dimension: usize,
    /// Storage precision in bits: 32 (coordinates stored as f32) or 64 (f64).
    pub precision: u32,
    /// One name per dimension; persisted with the index.
    pub labels: Vec<String>,
    /// Target size of a normal node page in bytes (leaf and directory); supernodes are
    /// multiples of it. Node capacity follows from it and the dimension.
    pub node_size: usize,
}

impl IndexOptions {
    /// Options with the default node size for this dimension and precision
    /// ([`default_node_size`]).
    pub fn new(dimension: usize, precision: u32, labels: Vec<String>) -> Self {
        IndexOptions {
            dimension,
            precision,
            labels,
            node_size: default_node_size(dimension, precision),
        }
    }
}

/// The default node size in bytes: one 4 KiB page, or the smallest power of two that holds
/// [`MIN_DEFAULT_FANOUT`] directory entries when the dimension makes entries large (the X-tree's
/// answer to high dimensions is wide nodes; a fan-out of 4 would make the tree needlessly tall).
pub fn default_node_size(dimension: usize, precision: u32) -> usize {
    let coord = if precision == 32 { 4 } else { 8 };
    let entry = 16 + 2 * dimension.clamp(1, MAX_DIMENSION) * coord;
    let wanted = crate::xtree::node::HEADER_BYTES + MIN_DEFAULT_FANOUT * entry;
    wanted.next_power_of_two().max(DEFAULT_NODE_SIZE)
}

use crate::error::Error;
use crate::geometry::Coord;
use crate::store::memory::{MemoryStore, MemoryTxn, Snapshot};
use crate::store::{NodeId, PageRead, PageWrite, NIL};
use crate::xtree::check::{check, TreeStats};
use crate::xtree::insert::Writer;
use crate::xtree::node::Entries;
use crate::xtree::params::{BULK_LOAD_MIN, DEFAULT_NODE_SIZE};
use crate::xtree::query::{for_each_leaf, LeafHits, Traversal, Window};
use crate::xtree::{knn, Shape};

/// Smallest fan-out the default node size provides, whatever the dimension.
pub const MIN_DEFAULT_FANOUT: usize = 16;
/// Largest supported dimension (DESIGN.md §2).
pub const MAX_DIMENSION: usize = 255;
/// Smallest and largest accepted node sizes in bytes.
pub const NODE_SIZE_RANGE: std::ops::RangeInclusive<usize> = 256..=(1 << 20);

struct Core<C: Coord> {
    shape: Shape<C>,
    store: MemoryStore,
}

enum Typed {
    F32(Core<f32>),
    F64(Core<f64>),
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $body:expr) => {
        match &$self.typed {
            Typed::F32($c) => $body,
            Typed::F64($c) => $body,
        }
    };
}

/// A thread-safe in-memory X-tree over `(row id, box)` records.
///
/// Shapes: every coordinate slice has `dimension` elements (points, box corners), or
/// `n * dimension` row-major for batches. Coordinates are `f64` on input and stored at the index
/// precision (see [`IndexOptions::precision`]).
pub struct Index {
    dimension: usize,
    precision: u32,
    labels: Vec<String>,
    node_size: usize,
    typed: Typed,
}

/// Checks that `labels` are distinct and none is blank (empty or only white space): labels
/// name the axes of a persisted index, so two that cannot be told apart are a mistake.
///
/// # Errors
/// `InvalidArgument` naming the first blank or repeated label.
pub fn check_labels(labels: &[String]) -> Result<()> {
    let mut seen = std::collections::HashMap::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        if label.trim().is_empty() {
            return Err(Error::invalid(format!("labels[{i}] is blank")));
        }
        if let Some(first) = seen.insert(label.as_str(), i) {
            return Err(Error::invalid(format!(
                "labels[{i}] repeats labels[{first}] ({label:?}); labels must be distinct"
            )));
        }
    }
    Ok(())
}

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::invalid(format!(
            "{what} has {got} coordinates, expected {want}"
        )));
    }
    Ok(())
}

/// Validates a box (or point when `max` is None) of a stored record or a query and returns it
/// in stored precision for records.
fn validate_box(what: &str, d: usize, min: &[f64], max: &[f64], record: bool) -> Result<()> {
    if min.len() != d || max.len() != d {
        let (side, got) = if min.len() != d {
            ("min", min.len())
        } else {
            ("max", max.len())
        };
        return Err(Error::invalid(format!(
            "{what} {side} has {got} coordinates, expected {d}"
        )));
    }
    for a in 0..d {
        let (lo, hi) = (min[a], max[a]);
        if lo.is_nan() || hi.is_nan() {
            return Err(Error::invalid(format!("{what}: coordinate {a} is NaN")));
        }
        if lo > hi {
            return Err(Error::invalid(format!(
                "{what}: min {lo} > max {hi} on axis {a}"
            )));
        }
        if record && (lo.is_infinite() || hi.is_infinite()) {
            return Err(Error::invalid(format!(
                "{what}: coordinate {a} is infinite (allowed in queries only)"
            )));
        }
    }
    Ok(())
}

impl<C: Coord> Core<C> {
    /// Stored coordinates of a validated record: points rounded to nearest, boxes outward.
    fn stored(&self, min: &[f64], max: &[f64]) -> Result<Vec<C>> {
        let mut m = Vec::with_capacity(2 * min.len());
        self.stored_into(min, max, &mut m)?;
        Ok(m)
    }

    /// Appends the stored coordinates of a validated record to `out` (flat MBR layout).
    fn stored_into(&self, min: &[f64], max: &[f64], out: &mut Vec<C>) -> Result<()> {
        let d = min.len();
        let start = out.len();
        let point = min == max;
        if point {
            out.extend(min.iter().map(|&x| C::nearest(x)));
            out.extend_from_within(start..start + d);
        } else {
            out.extend(min.iter().map(|&x| C::down(x)));
            out.extend(max.iter().map(|&x| C::up(x)));
        }
        if C::PRECISION == 32 && out[start..].iter().any(|c| !c.to_f64().is_finite()) {
            out.truncate(start);
            return Err(Error::invalid(format!(
                "a coordinate is outside the range of precision {}",
                C::PRECISION
            )));
        }
        Ok(())
    }

    fn session(&self) -> Session<'_, C> {
        let txn = self.store.begin();
        let base = txn.base();
        Session {
            shape: self.shape,
            txn,
            root: base.root,
            len: base.len,
            failed: false,
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut Session<'_, C>) -> Result<T>) -> Result<T> {
        let mut s = self.session();
        let out = f(&mut s)?;
        s.commit()?;
        Ok(out)
    }

    fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<(u64, f64)>> {
        let r = self.store.reader();
        knn::nearest::<C, _>(&r, self.shape.dims, point, k)
    }

    fn search_each(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        mut f: impl FnMut(u64),
    ) -> Result<()> {
        self.search_leaves(ty, min, max, |h| h.for_each(&mut f))
    }

    fn search_leaves(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        f: impl FnMut(LeafHits<'_>),
    ) -> Result<()> {
        let w = Window::<C>::new(ty, min, max);
        let r = self.store.reader();
        for_each_leaf(&r, self.shape.dims, &w, f)
    }
}

impl Index {
    /// A new empty index; see [`IndexOptions`] for the parameters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) when the dimension is
    /// outside 1..=255, the precision is not 32 or 64, or `labels.len() != dimension`.
    pub fn new(dimension: usize, precision: u32, labels: Vec<String>) -> Result<Index> {
        Self::with_options(IndexOptions::new(dimension, precision, labels))
    }

    /// A new empty index with explicit options. Errors as [`Index::new`], and for a node size
    /// outside [`NODE_SIZE_RANGE`].
    pub fn with_options(o: IndexOptions) -> Result<Index> {
        Self::with_stores(o, MemoryStore::new(), MemoryStore::new())
    }

    /// An index over `f32` or `f64` store (whichever the precision picks); validates `o`.
    fn with_stores(o: IndexOptions, s32: MemoryStore, s64: MemoryStore) -> Result<Index> {
        if !(1..=MAX_DIMENSION).contains(&o.dimension) {
            return Err(Error::invalid(format!(
                "dimension {} is outside 1..={MAX_DIMENSION}",
                o.dimension
            )));
        }
        if o.labels.len() != o.dimension {
            return Err(Error::invalid(format!(
                "{} labels given for dimension {}",
                o.labels.len(),
                o.dimension
            )));
        }
        check_labels(&o.labels)?;
        if !NODE_SIZE_RANGE.contains(&o.node_size) {
            return Err(Error::invalid(format!(
                "node size {} is outside {NODE_SIZE_RANGE:?}",
                o.node_size
            )));
        }
        let typed = match o.precision {
            32 => Typed::F32(Core {
                shape: Shape::new(o.dimension, o.node_size),
                store: s32,
            }),
            64 => Typed::F64(Core {
                shape: Shape::new(o.dimension, o.node_size),
                store: s64,
            }),
            p => {
                return Err(Error::invalid(format!(
                    "precision {p} is not supported (32 or 64)"
                )))
            }
        };
        Ok(Index {
            dimension: o.dimension,
            precision: o.precision,
            labels: o.labels,
            node_size: o.node_size,
            typed,
        })
    }

    /// Number of dimensions.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Storage precision in bits (32 or 64).
    pub fn precision(&self) -> u32 {
        self.precision
    }

    /// One label per dimension.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The options this index was built with.
    pub fn options(&self) -> IndexOptions {
        IndexOptions {
            dimension: self.dimension,
            precision: self.precision,
            labels: self.labels.clone(),
            node_size: self.node_size,
        }
    }

    /// Number of records.
    pub fn len(&self) -> u64 {
        dispatch!(self, c => c.store.version().len)
    }

    /// True when the index holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of node pages this index holds on the heap (page words; see
    /// [`MemoryStore::heap_bytes`]): every page of an in-memory index, and for a durable
    /// field the pages written since its runtime was opened, not the pages backed by the
    /// segment files. Pages replaced by later writes count until no reader can reach them.
    /// One atomic load.
    pub fn heap_bytes(&self) -> u64 {
        dispatch!(self, c => c.store.heap_bytes())
    }

    /// Frees now, as far as readers allow, the replaced pages that no snapshot can reach any
    /// more (otherwise freed after a later write): see
    /// [`crate::store::memory::MemoryStore::reclaim_unreachable`].
    pub(crate) fn reclaim_unreachable(&self) {
        dispatch!(self, c => c.store.reclaim_unreachable())
    }

    /// [`crate::store::memory::MemoryStore::rebacking`] over this index's tree: `f(id, words,
    /// on_heap)` may give a page that holds the same words another backing.
    ///
    /// # Errors
    /// `Corruption` for a resident page that does not parse.
    pub(crate) fn rebacking(
        &self,
        mut f: impl FnMut(NodeId, &[u64], bool) -> Option<crate::store::memory::LoadedPage>,
    ) -> Result<u64> {
        let (precision, dims) = (self.precision(), self.dimension());
        let children = |w: &[u64]| Ok(crate::index::page_info(precision, dims, w)?.children);
        dispatch!(self, c => c.store.rebacking(children, &mut f))
    }

    /// A weak handle on this index's page store, to wait after dropping the index until no
    /// thread of the epoch collector still owns its pages ([`crate::store::memory::StoreWatch`]).
    pub(crate) fn store_watch(&self) -> crate::store::memory::StoreWatch {
        dispatch!(self, c => c.store.watch())
    }

    /// Inserts the record (`row_id`, box `[min, max]`). A box with `min == max` is a point.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong coordinate count, NaN, infinity, `min > max`, or a value
    /// out of range of precision 32.
    pub fn insert(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<()> {
        validate_box("record", self.dimension, min, max, true)?;
        dispatch!(self, c => {
            let m = c.stored(min, max)?;
            c.write(|s| s.with(|w| w.insert_record(row_id, &m)))
        })
    }

    /// Inserts the point record (`row_id`, `point`). Errors as [`Index::insert`].
    pub fn insert_point(&self, row_id: u64, point: &[f64]) -> Result<()> {
        self.insert(row_id, point, point)
    }

    /// Inserts points, row-major (`coords.len() == row_ids.len() * dimension`), atomically: all
    /// are validated before any is stored. On an empty index a batch of at least
    /// `BULK_LOAD_MIN` records is bulk-loaded (STR). Errors as [`Index::insert`], naming the row.
    pub fn insert_points(&self, row_ids: &[u64], coords: &[f64]) -> Result<()> {
        let d = self.dimension;
        check_len("coords", coords.len(), row_ids.len() * d)?;
        self.insert_boxes(row_ids, coords, coords)
    }

    /// Inserts boxes, row-major mins and maxs (each `row_ids.len() * dimension` long), atomically.
    pub fn insert_boxes(&self, row_ids: &[u64], mins: &[f64], maxs: &[f64]) -> Result<()> {
        let d = self.dimension;
        let n = row_ids.len();
        check_len("mins", mins.len(), n * d)?;
        check_len("maxs", maxs.len(), n * d)?;
        dispatch!(self, c => {
            let mut all = Vec::with_capacity(n * 2 * d);
            for i in 0..n {
                let (lo, hi) = (&mins[i * d..(i + 1) * d], &maxs[i * d..(i + 1) * d]);
                validate_box("record of the batch", d, lo, hi, true)
                    .map_err(|e| Error::invalid(format!("batch row {i}: {}", e.message())))?;
                c.stored_into(lo, hi, &mut all)?;
            }
            c.write(|s| s.insert_many(row_ids, all))
        })
    }

    /// Deletes one record with this row id and box (compared at stored precision). Returns
    /// whether it existed. Errors as [`Index::insert`].
    pub fn delete(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        validate_box("record", self.dimension, min, max, true)?;
        dispatch!(self, c => {
            let m = c.stored(min, max)?;
            c.write(|s| s.with(|w| w.delete_record(row_id, &m)))
        })
    }

    /// Atomically replaces record (`row_id`, old box) by (`row_id`, new box). Returns false, and
    /// changes nothing, when the old record does not exist. Errors as [`Index::insert`].
    pub fn update(
        &self,
        row_id: u64,
        old_min: &[f64],
        old_max: &[f64],
        new_min: &[f64],
        new_max: &[f64],
    ) -> Result<bool> {
        validate_box("old record", self.dimension, old_min, old_max, true)?;
        validate_box("new record", self.dimension, new_min, new_max, true)?;
        dispatch!(self, c => {
            let old = c.stored(old_min, old_max)?;
            let new = c.stored(new_min, new_max)?;
            c.write(|s| s.with(|w| {
                if !w.delete_record(row_id, &old)? {
                    return Ok(false);
                }
                w.insert_record(row_id, &new)?;
                Ok(true)
            }))
        })
    }

    /// Row ids of the records satisfying `ty` against the closed query box `[min, max]`
    /// (infinite bounds allowed), in no particular order.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong coordinate count, NaN or `min > max`.
    pub fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        validate_box("query", self.dimension, min, max, false)?;
        let mut out = Vec::new();
        dispatch!(self, c => c.search_leaves(ty, min, max, |h| h.append_to(&mut out)))?;
        Ok(out)
    }

    /// Number of records [`Index::search`] would return, without materialising them.
    pub fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        validate_box("query", self.dimension, min, max, false)?;
        let mut n = 0u64;
        dispatch!(self, c => c.search_leaves(ty, min, max, |h| n += h.len() as u64))?;
        Ok(n)
    }

    /// Row ids of the `k` records nearest to `point` (Euclidean distance from the point to the
    /// stored box, ties by row id), nearest first. Fewer when the index holds fewer.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong coordinate count or a NaN or infinite coordinate.
    pub fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<u64>> {
        Ok(self
            .nearest_with_distance(point, k)?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// Like [`Index::nearest`], with each record's Euclidean distance, in the units of the
    /// coordinates. The order is exact for every finite coordinate; a distance is rounded to
    /// f64 (about 1e-14 relative at extreme magnitudes), non-decreasing along the answer, and
    /// one above `f64::MAX` is reported as `f64::MAX`.
    pub fn nearest_with_distance(&self, point: &[f64], k: usize) -> Result<Vec<(u64, f64)>> {
        validate_box("query point", self.dimension, point, point, true)?;
        dispatch!(self, c => c.nearest(point, k))
    }

    /// Starts a write session: any number of writes, made visible to readers together and
    /// atomically by [`IndexWriter::commit`]; dropping the session without committing discards
    /// them. Other writers (sessions or the single-write methods) wait until it ends; readers
    /// never wait and see the state before the session until it commits (DESIGN.md §4).
    pub fn writer(&self) -> IndexWriter<'_> {
        let typed = match &self.typed {
            Typed::F32(c) => WriterTyped::F32(c, c.session()),
            Typed::F64(c) => WriterTyped::F64(c, c.session()),
        };
        IndexWriter {
            dimension: self.dimension,
            typed,
        }
    }

    /// A paged cursor over the results of a window query on a snapshot taken now.
    pub fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        validate_box("query", self.dimension, min, max, false)?;
        let typed = match &self.typed {
            Typed::F32(c) => CursorTyped::F32(TypedCursor::new(c, ty, min, max)),
            Typed::F64(c) => CursorTyped::F64(TypedCursor::new(c, ty, min, max)),
        };
        Ok(Cursor { typed })
    }

    /// Runs the invariant checker on the current version.
    ///
    /// # Errors
    /// `Internal` naming the first broken invariant.
    pub fn check(&self) -> Result<TreeStats> {
        dispatch!(self, c => check(&c.store.reader(), &c.shape))
    }
}

struct TypedCursor<C: Coord> {
    snapshot: std::sync::Arc<Snapshot>,
    window: Window<C>,
    traversal: Traversal,
    dims: usize,
}

impl<C: Coord> TypedCursor<C> {
    fn new(c: &Core<C>, ty: SearchType, min: &[f64], max: &[f64]) -> Self {
        Self::over(
            std::sync::Arc::new(c.store.snapshot()),
            c.shape.dims,
            ty,
            min,
            max,
        )
    }

    fn over(
        snapshot: std::sync::Arc<Snapshot>,
        dims: usize,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
    ) -> Self {
        TypedCursor {
            snapshot,
            window: Window::new(ty, min, max),
            traversal: Traversal::new(),
            dims,
        }
    }

    fn next_page(&mut self, max: usize) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let r = self.snapshot.reader();
        debug_assert_eq!(r.version(), self.snapshot.version());
        self.traversal
            .run(&r, self.dims, &self.window, max.max(1), &mut out)?;
        Ok(out)
    }
}

enum CursorTyped {
    F32(TypedCursor<f32>),
    F64(TypedCursor<f64>),
}

/// A paged window query over a snapshot: later writes to the index do not change its results,
/// and it stays valid after the index is dropped. `Send + Sync`.
pub struct Cursor {
    typed: CursorTyped,
}

impl Cursor {
    /// Up to `max` (at least 1) more row ids; an empty vector once exhausted.
    ///
    /// # Errors
    /// `Corruption` if a page of the snapshot cannot be read (durable store only).
    pub fn next_page(&mut self, max: usize) -> Result<Vec<u64>> {
        match &mut self.typed {
            CursorTyped::F32(c) => c.next_page(max),
            CursorTyped::F64(c) => c.next_page(max),
        }
    }
}

/// The writer's open transaction over the tree: a root and count private to it.
struct Session<'a, C: Coord> {
    shape: Shape<C>,
    txn: MemoryTxn<'a>,
    root: NodeId,
    len: u64,
    /// An operation failed part-way: the session must not publish.
    failed: bool,
}

impl<C: Coord> Session<'_, C> {
    /// Runs one tree operation; on error the session's tree state is left as it was before the
    /// operation only if the operation failed before changing anything — callers abandon the
    /// session on error (its changes are never published).
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Writer<'_, C, MemoryTxn<'_>>) -> Result<T>,
    ) -> Result<T> {
        let mut w = Writer {
            shape: self.shape,
            txn: &mut self.txn,
            root: self.root,
            len: self.len,
        };
        let out = f(&mut w);
        self.root = w.root;
        self.len = w.len;
        self.failed |= out.is_err();
        out
    }

    fn insert_many(&mut self, rows: &[u64], mbrs: Vec<C>) -> Result<()> {
        let d = self.shape.dims;
        self.with(|w| {
            if w.root == NIL && rows.len() >= BULK_LOAD_MIN {
                let e = Entries {
                    ids: rows.to_vec(),
                    hists: vec![0; rows.len()],
                    mbrs,
                };
                return w.bulk_load(e);
            }
            for (i, &row) in rows.iter().enumerate() {
                w.insert_record(row, &mbrs[i * 2 * d..(i + 1) * 2 * d])?;
            }
            Ok(())
        })
    }

    fn commit(self) -> Result<()> {
        if self.failed {
            return Err(Error::internal(
                "a write of this session failed part-way; its changes were discarded",
            ));
        }
        self.txn.publish(self.root, self.len);
        Ok(())
    }
}

enum WriterTyped<'a> {
    F32(&'a Core<f32>, Session<'a, f32>),
    F64(&'a Core<f64>, Session<'a, f64>),
}

macro_rules! session {
    ($self:expr, $c:ident, $s:ident => $body:expr) => {
        match &mut $self.typed {
            WriterTyped::F32($c, $s) => $body,
            WriterTyped::F64($c, $s) => $body,
        }
    };
}

/// A write session (see [`Index::writer`]). Same validation and errors as the methods of
/// [`Index`] with the same names. After an error the session should be dropped (its changes are
/// then discarded); committing after an error is refused.
pub struct IndexWriter<'a> {
    dimension: usize,
    typed: WriterTyped<'a>,
}

impl IndexWriter<'_> {
    /// Inserts a record; see [`Index::insert`].
    pub fn insert(&mut self, row_id: u64, min: &[f64], max: &[f64]) -> Result<()> {
        validate_box("record", self.dimension, min, max, true)?;
        session!(self, c, s => {
            let m = c.stored(min, max)?;
            s.with(|w| w.insert_record(row_id, &m))
        })
    }

    /// Inserts a point record; see [`Index::insert_point`].
    pub fn insert_point(&mut self, row_id: u64, point: &[f64]) -> Result<()> {
        self.insert(row_id, point, point)
    }

    /// Deletes a record; see [`Index::delete`].
    pub fn delete(&mut self, row_id: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        validate_box("record", self.dimension, min, max, true)?;
        session!(self, c, s => {
            let m = c.stored(min, max)?;
            s.with(|w| w.delete_record(row_id, &m))
        })
    }

    /// Records in the index as this session sees it.
    pub fn len(&self) -> u64 {
        match &self.typed {
            WriterTyped::F32(_, s) => s.len,
            WriterTyped::F64(_, s) => s.len,
        }
    }

    /// True when [`IndexWriter::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Publishes every write of the session atomically.
    ///
    /// # Errors
    /// `Internal` if an operation of the session failed part-way (not for rejected input, which
    /// changes nothing); the session's changes are then discarded.
    pub fn commit(self) -> Result<()> {
        match self.typed {
            WriterTyped::F32(_, s) => s.commit(),
            WriterTyped::F64(_, s) => s.commit(),
        }
    }
}
