//! C exports on `XtreeIndex` (in-memory indexes and durable fields) and `XtreeCursor`.
//!
//! Shapes: a point or a box corner is `len == dimension` doubles; a batch of `n` records is `n`
//! row ids and `n * dimension` doubles, row-major (record `i`'s coordinates at
//! `[i * dimension, (i + 1) * dimension)`), boxes as one array of minima and one of maxima.
//! Every array comes with its length, which the index checks.

use std::ffi::c_char;
use std::sync::Mutex;

use super::handles::{self, IndexObject, Object};
use super::wrapper::{c_str, call, check_pointer, copy_out, labels, slice, write_opt, write_out};
use super::{XtreeCursor, XtreeIndex, XTREE_CONTAINS, XTREE_INTERSECTS, XTREE_WITHIN};
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Cursor, Index, IndexOptions, SearchType};

fn is_index(o: &Object) -> bool {
    matches!(o, Object::Index(_))
}

fn is_cursor(o: &Object) -> bool {
    matches!(o, Object::Cursor(_))
}

/// Runs `f` on the index or field of `h`.
fn with_index<T>(h: XtreeIndex, f: impl FnOnce(&IndexObject) -> Result<T>) -> Result<T> {
    let object = handles::get(h.id, "index", is_index, "an index")?;
    match &*object {
        Object::Index(ix) => f(ix),
        _ => unreachable!("handles::get checked the kind"),
    }
}

fn relation_of(r: i32) -> Result<SearchType> {
    match r {
        XTREE_INTERSECTS => Ok(SearchType::Intersects),
        XTREE_CONTAINS => Ok(SearchType::Contains),
        XTREE_WITHIN => Ok(SearchType::Within),
        _ => Err(Error::invalid(format!(
            "relation {r} is not XTREE_INTERSECTS (0), XTREE_CONTAINS (1) or XTREE_WITHIN (2)"
        ))),
    }
}

/// Index options from C arguments (`node_size` 0: the default).
///
/// # Safety
/// As [`labels`].
pub(super) unsafe fn options(
    dimension: u32,
    precision: u32,
    label_ptrs: *const *const c_char,
    labels_len: usize,
    node_size: usize,
) -> Result<IndexOptions> {
    // SAFETY: the caller's guarantee for the label array, passed on.
    let labels = unsafe { labels(label_ptrs, labels_len) }?;
    let mut o = IndexOptions::new(dimension as usize, precision, labels);
    if node_size != 0 {
        o.node_size = node_size;
    }
    Ok(o)
}

/// Registers `object` as an index handle and writes it to `out`.
///
/// # Safety
/// As [`write_out`].
pub(super) unsafe fn publish_index(object: IndexObject, out: *mut XtreeIndex) -> Result<()> {
    let id = handles::insert(Object::Index(object))?;
    // SAFETY: the caller's guarantee for `out`, passed on. `out` was checked writable before
    // the object was made, so this cannot fail and leak the handle.
    unsafe { write_out(out, XtreeIndex { id }, "out") }
}

impl IndexObject {
    fn insert(&self, row: u64, min: &[f64], max: &[f64]) -> Result<()> {
        match self {
            IndexObject::Memory(ix) => ix.insert(row, min, max),
            IndexObject::Field(f, _) => f.insert(row, min, max),
        }
    }

    fn insert_points(&self, rows: &[u64], coords: &[f64]) -> Result<()> {
        match self {
            IndexObject::Memory(ix) => ix.insert_points(rows, coords),
            IndexObject::Field(f, _) => f.insert_points(rows, coords),
        }
    }

    fn insert_boxes(&self, rows: &[u64], mins: &[f64], maxs: &[f64]) -> Result<()> {
        match self {
            IndexObject::Memory(ix) => ix.insert_boxes(rows, mins, maxs),
            IndexObject::Field(f, _) => f.insert_boxes(rows, mins, maxs),
        }
    }

    fn delete(&self, row: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        match self {
            IndexObject::Memory(ix) => ix.delete(row, min, max),
            IndexObject::Field(f, _) => f.delete(row, min, max),
        }
    }

    fn update(&self, row: u64, old: (&[f64], &[f64]), new: (&[f64], &[f64])) -> Result<bool> {
        match self {
            IndexObject::Memory(ix) => ix.update(row, old.0, old.1, new.0, new.1),
            IndexObject::Field(f, _) => f.update(row, old.0, old.1, new.0, new.1),
        }
    }

    fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        match self {
            IndexObject::Memory(ix) => ix.search(ty, min, max),
            IndexObject::Field(f, _) => f.search(ty, min, max),
        }
    }

    fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        match self {
            IndexObject::Memory(ix) => ix.count(ty, min, max),
            IndexObject::Field(f, _) => f.count(ty, min, max),
        }
    }

    fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<(u64, f64)>> {
        match self {
            IndexObject::Memory(ix) => ix.nearest_with_distance(point, k),
            IndexObject::Field(f, _) => f.snapshot()?.nearest_with_distance(point, k),
        }
    }

    fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        match self {
            IndexObject::Memory(ix) => ix.cursor(ty, min, max),
            IndexObject::Field(f, _) => f.cursor(ty, min, max),
        }
    }

    fn len(&self) -> Result<u64> {
        match self {
            IndexObject::Memory(ix) => Ok(ix.len()),
            IndexObject::Field(f, _) => f.len(),
        }
    }

    fn dimension(&self) -> usize {
        match self {
            IndexObject::Memory(ix) => ix.dimension(),
            IndexObject::Field(f, _) => f.dimension(),
        }
    }

    fn commit(&self) -> Result<u64> {
        match self {
            IndexObject::Memory(_) => Ok(0),
            IndexObject::Field(_, rt) => rt.commit(),
        }
    }
}

/// Creates an empty in-memory index and writes its handle to `*out`.
///
/// - `dimension`: 1..=255.
/// - `precision`: 32 (coordinates stored as `float`: points rounded to nearest, boxes rounded
///   outward) or 64 (stored as given).
/// - `labels`: `labels_len` NUL-terminated UTF-8 strings, one name per axis; `labels_len` must
///   equal `dimension`, and the labels must be distinct and not blank. Copied; the caller keeps
///   ownership.
/// - `node_size`: target node page size in bytes (256..=1048576), or 0 for the default.
///
/// Writes are visible to queries as soon as the call returns; `xtree_index_commit` is a no-op.
/// Release the handle with `xtree_index_free`.
///
/// Returns 0, or 1 for a bad argument (NULL `out` or `labels`, a non-UTF-8 label, bad
/// dimension, precision, label count or node size); `*out` is the null handle on failure.
///
/// # Safety
/// Pointers as documented above: `labels` addresses `labels_len` string pointers.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_new(
    dimension: u32,
    precision: u32,
    labels: *const *const c_char,
    labels_len: usize,
    node_size: usize,
    out: *mut XtreeIndex,
) -> i32 {
    call("xtree_index_new", || {
        // SAFETY: `out` is a writable handle or NULL (the caller's guarantee).
        unsafe { write_out(out, XtreeIndex { id: 0 }, "out") }?;
        // SAFETY: the caller's guarantee for `labels`.
        let o = unsafe { options(dimension, precision, labels, labels_len, node_size) }?;
        let index = Index::with_options(o)?;
        // SAFETY: `out` as above.
        unsafe { publish_index(IndexObject::Memory(index), out) }
    })
}

/// Releases an index or field handle. For an in-memory index this frees the index (cursors
/// opened on it keep answering from their snapshot); for a field it releases only the handle,
/// not the runtime. Calls already running on other threads finish first on their own
/// reference. The handle is stale afterwards: every later call with it, including a second
/// `xtree_index_free`, returns 2 (closed) and changes nothing.
///
/// Returns 0; 1 for the null handle or a handle of another kind; 2 for a released handle.
#[no_mangle]
pub extern "C" fn xtree_index_free(index: XtreeIndex) -> i32 {
    call("xtree_index_free", || {
        handles::remove(index.id, "index", is_index, "an index").map(drop)
    })
}

/// Writes the number of dimensions of `index` to `*out`.
///
/// Returns 0; 1 for NULL `out` or a bad handle; 2 for a released handle.
///
/// # Safety
/// `out` is NULL or addresses a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_dimension(index: XtreeIndex, out: *mut u32) -> i32 {
    call("xtree_index_dimension", || {
        let d = with_index(index, |ix| Ok(ix.dimension()))?;
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, d as u32, "out") }
    })
}

/// Writes the number of records of `index` to `*out` (for a field: of its last commit).
///
/// Returns 0; 1 for NULL `out` or a bad handle; 2 for a released handle or a closed runtime.
///
/// # Safety
/// `out` is NULL or addresses a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_len(index: XtreeIndex, out: *mut u64) -> i32 {
    call("xtree_index_len", || {
        let n = with_index(index, |ix| ix.len())?;
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, n, "out") }
    })
}

/// Inserts the record (`row_id`, point `point[0..len]`); `len` must equal the dimension.
/// Several records may share a row id. For a field, the write joins the runtime's pending
/// transaction and becomes visible at the next commit.
///
/// Returns 0; 1 for a bad handle, NULL `point`, `len != dimension`, a NaN or infinite
/// coordinate; 2 for a released handle or a closed runtime; 12 when the runtime is poisoned.
///
/// # Safety
/// `point` addresses `len` doubles (or is NULL).
#[no_mangle]
pub unsafe extern "C" fn xtree_index_insert_point(
    index: XtreeIndex,
    row_id: u64,
    point: *const f64,
    len: usize,
) -> i32 {
    call("xtree_index_insert_point", || {
        // SAFETY: the caller's guarantee for `point`.
        let p = unsafe { slice(point, len, "point") }?;
        with_index(index, |ix| ix.insert(row_id, p, p))
    })
}

/// Inserts the record (`row_id`, box `[min, max]`), each corner `len == dimension` doubles,
/// `min[i] <= max[i]`, all finite.
///
/// Returns as `xtree_index_insert_point`, plus 1 for `min > max` on some axis.
///
/// # Safety
/// `min` and `max` each address `len` doubles (or are NULL).
#[no_mangle]
pub unsafe extern "C" fn xtree_index_insert_box(
    index: XtreeIndex,
    row_id: u64,
    min: *const f64,
    max: *const f64,
    len: usize,
) -> i32 {
    call("xtree_index_insert_box", || {
        // SAFETY: the caller's guarantee for `min` and `max`.
        let (lo, hi) = unsafe { (slice(min, len, "min")?, slice(max, len, "max")?) };
        with_index(index, |ix| ix.insert(row_id, lo, hi))
    })
}

/// Inserts `n` points in one call, all or nothing: record `i` is (`row_ids[i]`,
/// `coords[i * dimension .. (i + 1) * dimension]`); `coords_len` must be `n * dimension`.
/// Everything is validated before anything is stored. On an empty index a large batch is
/// bulk-loaded.
///
/// Returns as `xtree_index_insert_point` (1 also for NULL `row_ids` with `n > 0` or a wrong
/// `coords_len`).
///
/// # Safety
/// `row_ids` addresses `n` ids and `coords` `coords_len` doubles (or they are NULL).
#[no_mangle]
pub unsafe extern "C" fn xtree_index_insert_points(
    index: XtreeIndex,
    row_ids: *const u64,
    n: usize,
    coords: *const f64,
    coords_len: usize,
) -> i32 {
    call("xtree_index_insert_points", || {
        // SAFETY: the caller's guarantee for `row_ids` and `coords`.
        let (rows, c) = unsafe {
            (
                slice(row_ids, n, "row_ids")?,
                slice(coords, coords_len, "coords")?,
            )
        };
        with_index(index, |ix| ix.insert_points(rows, c))
    })
}

/// Inserts `n` boxes in one call, all or nothing: record `i` is (`row_ids[i]`, box
/// `[mins[i*d..(i+1)*d], maxs[i*d..(i+1)*d]]`) with `d` the dimension; `mins` and `maxs` each
/// hold `coords_len == n * d` doubles.
///
/// Returns as `xtree_index_insert_points`, plus 1 for `min > max`.
///
/// # Safety
/// `row_ids` addresses `n` ids, `mins` and `maxs` `coords_len` doubles each (or are NULL).
#[no_mangle]
pub unsafe extern "C" fn xtree_index_insert_boxes(
    index: XtreeIndex,
    row_ids: *const u64,
    n: usize,
    mins: *const f64,
    maxs: *const f64,
    coords_len: usize,
) -> i32 {
    call("xtree_index_insert_boxes", || {
        // SAFETY: the caller's guarantee for the three arrays.
        let (rows, lo, hi) = unsafe {
            (
                slice(row_ids, n, "row_ids")?,
                slice(mins, coords_len, "mins")?,
                slice(maxs, coords_len, "maxs")?,
            )
        };
        with_index(index, |ix| ix.insert_boxes(rows, lo, hi))
    })
}

/// Deletes one record with this row id and exactly this box (compared at the stored
/// precision; a point is `min == max`). `*found` (optional, may be NULL) is set to whether one
/// existed.
///
/// Returns as `xtree_index_insert_box`.
///
/// # Safety
/// `min` and `max` each address `len` doubles; `found` is NULL or a writable `bool`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_delete(
    index: XtreeIndex,
    row_id: u64,
    min: *const f64,
    max: *const f64,
    len: usize,
    found: *mut bool,
) -> i32 {
    call("xtree_index_delete", || {
        // SAFETY: the caller's guarantee for `min`, `max` and `found`.
        unsafe { write_opt(found, false, "found") }?;
        // SAFETY: as above.
        let (lo, hi) = unsafe { (slice(min, len, "min")?, slice(max, len, "max")?) };
        let f = with_index(index, |ix| ix.delete(row_id, lo, hi))?;
        // SAFETY: as above.
        unsafe { write_opt(found, f, "found") }
    })
}

/// Atomically replaces the record (`row_id`, `[old_min, old_max]`) by (`row_id`,
/// `[new_min, new_max]`); all four corners are `len == dimension` doubles. If the old record is
/// absent nothing is inserted. `*found` (optional) is set to whether it existed.
///
/// Returns as `xtree_index_insert_box`.
///
/// # Safety
/// The four corners each address `len` doubles; `found` is NULL or a writable `bool`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_update(
    index: XtreeIndex,
    row_id: u64,
    old_min: *const f64,
    old_max: *const f64,
    new_min: *const f64,
    new_max: *const f64,
    len: usize,
    found: *mut bool,
) -> i32 {
    call("xtree_index_update", || {
        // SAFETY: the caller's guarantee for the corners and `found`.
        unsafe { write_opt(found, false, "found") }?;
        // SAFETY: as above.
        let (a, b, c, d) = unsafe {
            (
                slice(old_min, len, "old_min")?,
                slice(old_max, len, "old_max")?,
                slice(new_min, len, "new_min")?,
                slice(new_max, len, "new_max")?,
            )
        };
        let f = with_index(index, |ix| ix.update(row_id, (a, b), (c, d)))?;
        // SAFETY: as above.
        unsafe { write_opt(found, f, "found") }
    })
}

/// Window query: the row ids of the records in `relation` (`XTREE_INTERSECTS`,
/// `XTREE_CONTAINS`, `XTREE_WITHIN`) to the closed box `[min, max]` (`len == dimension` doubles
/// each; infinite bounds allowed), in no particular order, written to `ids[0..capacity]`.
/// `*total` is set to the number of matches. A field answers on its last commit.
///
/// Returns 0 when all `*total` ids fit. When `*total > capacity`, returns 1 with `*total` set
/// to the full count and the first `capacity` matches in `ids`: retry with a buffer of at least
/// `*total` ids (the answer of an in-memory index may grow between calls; loop while the status
/// is 1 and `*total > capacity`). `capacity` 0 with `ids` NULL asks for the count only. On any
/// other failure `*total` is 0: 1 for a bad handle, NULL `total`, NULL `ids` with
/// `capacity > 0`, a bad relation, `len != dimension`, NaN or `min > max`; 2 for a released
/// handle or a closed runtime.
///
/// # Safety
/// `min` and `max` each address `len` doubles; `ids` addresses `capacity` writable `uint64_t`
/// (or is NULL with `capacity == 0`); `total` a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_search(
    index: XtreeIndex,
    relation: i32,
    min: *const f64,
    max: *const f64,
    len: usize,
    ids: *mut u64,
    capacity: usize,
    total: *mut u64,
) -> i32 {
    call("xtree_index_search", || {
        // SAFETY: the caller's guarantee for `total`.
        unsafe { write_out(total, 0, "total") }?;
        if capacity > 0 {
            check_pointer(ids, capacity, "ids")?;
        }
        let ty = relation_of(relation)?;
        // SAFETY: the caller's guarantee for `min` and `max`.
        let (lo, hi) = unsafe { (slice(min, len, "min")?, slice(max, len, "max")?) };
        let found = with_index(index, |ix| ix.search(ty, lo, hi))?;
        // SAFETY: the caller's guarantee for `ids` and `capacity`.
        unsafe { copy_out(ids, capacity, &found, "ids") }?;
        // SAFETY: as above for `total`.
        unsafe { write_out(total, found.len() as u64, "total") }?;
        if found.len() > capacity {
            return Err(Error::invalid(format!(
                "ids holds {capacity} row ids but {} records match; retry with a buffer of *total",
                found.len()
            )));
        }
        Ok(())
    })
}

/// Writes the number of records `xtree_index_search` would find to `*out`, without
/// materialising them.
///
/// Returns 0; 1 for a bad handle, NULL `out`, a bad relation, `len != dimension`, NaN or
/// `min > max`; 2 for a released handle or a closed runtime.
///
/// # Safety
/// `min` and `max` each address `len` doubles; `out` a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_count(
    index: XtreeIndex,
    relation: i32,
    min: *const f64,
    max: *const f64,
    len: usize,
    out: *mut u64,
) -> i32 {
    call("xtree_index_count", || {
        let ty = relation_of(relation)?;
        // SAFETY: the caller's guarantee for `min` and `max`.
        let (lo, hi) = unsafe { (slice(min, len, "min")?, slice(max, len, "max")?) };
        let n = with_index(index, |ix| ix.count(ty, lo, hi))?;
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, n, "out") }
    })
}

/// The `k` records nearest to `point` (`len == dimension` finite doubles): Euclidean distance
/// from the point to each record's stored box (0 inside it), ties by row id as unsigned
/// integers, nearest first. Writes their row ids to `ids[0..k]`, their distances (in the units
/// of the coordinates) to `distances[0..k]` when `distances` is not NULL, and their number
/// (`min(k, records)`) to `*found`.
///
/// Returns 0; 1 for a bad handle, NULL `found`, NULL `ids` with `k > 0`, `len != dimension`,
/// a NaN or infinite coordinate; 2 for a released handle or a closed runtime.
///
/// # Safety
/// `point` addresses `len` doubles; `ids` and (unless NULL) `distances` `k` writable elements;
/// `found` a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_nearest(
    index: XtreeIndex,
    point: *const f64,
    len: usize,
    k: usize,
    ids: *mut u64,
    distances: *mut f64,
    found: *mut usize,
) -> i32 {
    call("xtree_index_nearest", || {
        // SAFETY: the caller's guarantee for `found`.
        unsafe { write_out(found, 0, "found") }?;
        if k > 0 {
            check_pointer(ids, k, "ids")?;
            if !distances.is_null() {
                check_pointer(distances, k, "distances")?;
            }
        }
        // SAFETY: the caller's guarantee for `point`.
        let p = unsafe { slice(point, len, "point") }?;
        let near = with_index(index, |ix| ix.nearest(p, k))?;
        let rows: Vec<u64> = near.iter().map(|&(id, _)| id).collect();
        // SAFETY: the caller's guarantee for `ids` (k elements).
        let n = unsafe { copy_out(ids, k, &rows, "ids") }?;
        if !distances.is_null() {
            let d: Vec<f64> = near.iter().map(|&(_, d)| d).collect();
            // SAFETY: the caller's guarantee for `distances` (k elements).
            unsafe { copy_out(distances, k, &d, "distances") }?;
        }
        // SAFETY: as above for `found`.
        unsafe { write_out(found, n, "found") }
    })
}

/// Commits: for a field, every pending write of its runtime (all fields, atomically), durable
/// per the runtime's durability when this returns; `*epoch` (optional, may be NULL) is set to
/// the commit's epoch. For an in-memory index a no-op with epoch 0.
///
/// Returns 0; 1 for a bad handle; 2 for a released handle or a closed runtime; 10 when the log
/// write or sync fails (the runtime is then poisoned); 12 when it was poisoned before.
///
/// # Safety
/// `epoch` is NULL or a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_commit(index: XtreeIndex, epoch: *mut u64) -> i32 {
    call("xtree_index_commit", || {
        let e = with_index(index, |ix| ix.commit())?;
        // SAFETY: the caller's guarantee for `epoch`.
        unsafe { write_opt(epoch, e, "epoch") }
    })
}

/// Opens a paged window query (arguments as `xtree_index_search`) over a snapshot taken now
/// (for a field: its last commit) and writes its handle to `*out`. Later writes, freeing the
/// index handle and closing the runtime do not affect it: it keeps answering exactly what the
/// snapshot holds (a durable cursor keeps the data directory locked until it is freed). Read it
/// with `xtree_cursor_next`; release it with `xtree_cursor_free`.
///
/// Returns 0, or as `xtree_index_count` (1 also for NULL `out`); `*out` is the null handle on
/// failure.
///
/// # Safety
/// `min` and `max` each address `len` doubles; `out` a writable `XtreeCursor`.
#[no_mangle]
pub unsafe extern "C" fn xtree_index_cursor(
    index: XtreeIndex,
    relation: i32,
    min: *const f64,
    max: *const f64,
    len: usize,
    out: *mut XtreeCursor,
) -> i32 {
    call("xtree_index_cursor", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, XtreeCursor { id: 0 }, "out") }?;
        let ty = relation_of(relation)?;
        // SAFETY: the caller's guarantee for `min` and `max`.
        let (lo, hi) = unsafe { (slice(min, len, "min")?, slice(max, len, "max")?) };
        let cursor = with_index(index, |ix| ix.cursor(ty, lo, hi))?;
        let id = handles::insert(Object::Cursor(Mutex::new(cursor)))?;
        // SAFETY: as above; `out` was written once already, so this cannot fail.
        unsafe { write_out(out, XtreeCursor { id }, "out") }
    })
}

/// Reads the next page of `cursor`: up to `capacity` (>= 1) row ids into `ids`, their number
/// into `*written`. `*written == 0` means the cursor is exhausted; a page may be shorter than
/// `capacity` before the end. Every matching row id is delivered exactly once. Concurrent calls
/// on one cursor are serialised.
///
/// Returns 0; 1 for a bad handle, `capacity == 0`, NULL `ids` or NULL `written`; 2 for a
/// released cursor; 11 when a page of a durable snapshot cannot be read; 99 when an earlier
/// call on this cursor panicked.
///
/// # Safety
/// `ids` addresses `capacity` writable `uint64_t`; `written` a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_cursor_next(
    cursor: XtreeCursor,
    ids: *mut u64,
    capacity: usize,
    written: *mut usize,
) -> i32 {
    call("xtree_cursor_next", || {
        // SAFETY: the caller's guarantee for `written`.
        unsafe { write_out(written, 0, "written") }?;
        if capacity == 0 {
            return Err(Error::invalid(
                "capacity is 0: a page of no rows could not tell the end",
            ));
        }
        // Checked before the cursor moves, so that no row is consumed and then lost.
        check_pointer(ids, capacity, "ids")?;
        let object = handles::get(cursor.id, "cursor", is_cursor, "a cursor")?;
        let Object::Cursor(cell) = &*object else {
            unreachable!("handles::get checked the kind")
        };
        let page = cell
            .lock()
            .map_err(|_| {
                Error::new(
                    ErrorKind::Internal,
                    "the cursor is unusable: an earlier call on it panicked",
                )
            })?
            .next_page(capacity)?;
        // SAFETY: the caller's guarantee for `ids` (capacity elements; the page has at most
        // `capacity` rows).
        let n = unsafe { copy_out(ids, capacity, &page, "ids") }?;
        debug_assert_eq!(n, page.len());
        // SAFETY: as above for `written`.
        unsafe { write_out(written, n, "written") }
    })
}

/// Releases a cursor and its snapshot. The handle is stale afterwards; a second
/// `xtree_cursor_free` returns 2 (closed) and changes nothing.
///
/// Returns 0; 1 for the null handle or another kind of handle; 2 for a released handle.
#[no_mangle]
pub extern "C" fn xtree_cursor_free(cursor: XtreeCursor) -> i32 {
    call("xtree_cursor_free", || {
        handles::remove(cursor.id, "cursor", is_cursor, "a cursor").map(drop)
    })
}

/// Writes the number of live handles of every kind (indexes, fields, runtimes, cursors) in
/// this process to `*out`: a leak check for tests.
///
/// Returns 0; 1 for NULL `out`.
///
/// # Safety
/// `out` is NULL or a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_live_handles(out: *mut u64) -> i32 {
    call("xtree_live_handles", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, handles::live(), "out") }
    })
}

/// Test hook, not in the header: panics with `message` inside the wrapper, so that the C tests
/// can check that a panic becomes status 99 with its message.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[doc(hidden)]
#[no_mangle]
pub unsafe extern "C" fn xtree_test_panic(message: *const c_char) -> i32 {
    call("xtree_test_panic", || {
        // SAFETY: the caller's guarantee for `message`.
        let m = unsafe { c_str(message, "message") }?;
        panic!("{m}");
    })
}
