//! Native methods of `dev.xtree.IndexDetails`: one entry point per `private static native`
//! method, each converting its arguments and calling one method of the index behind the handle
//! inside [`wrapper::call`](super::wrapper::call). The handle is a `Box<IndexHandle>` (see the
//! module docs of [`jni`](super)): an in-memory [`Index`] or a durable [`Field`].

use std::sync::Arc;

use jni::objects::{JClass, JDoubleArray, JLongArray, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jlongArray, jobject, jobjectArray};
use jni::JNIEnv;

use super::convert::{self, borrow_handle, into_handle, take_handle, to_jlong};
use super::search_cursor::CursorCell;
use super::wrapper::{call, BridgeResult};
use crate::{
    Cursor, Error, Field, Index, IndexOptions, Result, Runtime, RuntimeOptions, RuntimeStats,
    SearchType,
};

/// Name of the one field of a runtime opened by the single-index constructor
/// `new IndexDetails(..., PersistenceMode.DURABLE, dataDir)`.
pub(crate) use crate::engine::DEFAULT_FIELD;

/// What an `IndexDetails` handle holds. Each method forwards to the same-named method of the
/// in-memory [`Index`] or the durable [`Field`]; the bridge adds no index logic.
pub(crate) enum IndexHandle {
    /// `PersistenceMode.IN_MEMORY`: writes are visible at once; commit is a no-op.
    Memory(Index),
    /// `PersistenceMode.DURABLE`: writes go to the runtime's pending transaction; reads answer on
    /// the last commit.
    Durable(DurableField),
}

/// A field of a durable runtime, with the runtime it belongs to (for `commit`).
pub(crate) struct DurableField {
    field: Field,
    runtime: Arc<Runtime>,
    /// True when this handle opened the runtime (the single-index constructor) and so closes
    /// it when freed; false for a field of a `dev.xtree.DurableRuntime`, which closes its own.
    owns_runtime: bool,
}

// Java calls a handle from any thread at once.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<IndexHandle>();
};

impl IndexHandle {
    /// A handle on a field of `runtime`; `owns_runtime` as [`DurableField::owns_runtime`].
    pub(crate) fn durable(field: Field, runtime: Arc<Runtime>, owns_runtime: bool) -> Self {
        IndexHandle::Durable(DurableField {
            field,
            runtime,
            owns_runtime,
        })
    }

    /// The index's dimension, precision, labels and node size.
    fn options(&self) -> IndexOptions {
        match self {
            IndexHandle::Memory(ix) => ix.options(),
            IndexHandle::Durable(d) => d.field.options(),
        }
    }

    fn len(&self) -> Result<u64> {
        match self {
            IndexHandle::Memory(ix) => Ok(ix.len()),
            IndexHandle::Durable(d) => d.field.len(),
        }
    }

    fn insert_point(&self, row_id: u64, point: &[f64]) -> Result<()> {
        match self {
            IndexHandle::Memory(ix) => ix.insert_point(row_id, point),
            IndexHandle::Durable(d) => d.field.insert_point(row_id, point),
        }
    }

    fn insert(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<()> {
        match self {
            IndexHandle::Memory(ix) => ix.insert(row_id, min, max),
            IndexHandle::Durable(d) => d.field.insert(row_id, min, max),
        }
    }

    fn insert_points(&self, row_ids: &[u64], coords: &[f64]) -> Result<()> {
        match self {
            IndexHandle::Memory(ix) => ix.insert_points(row_ids, coords),
            IndexHandle::Durable(d) => d.field.insert_points(row_ids, coords),
        }
    }

    fn insert_boxes(&self, row_ids: &[u64], mins: &[f64], maxs: &[f64]) -> Result<()> {
        match self {
            IndexHandle::Memory(ix) => ix.insert_boxes(row_ids, mins, maxs),
            IndexHandle::Durable(d) => d.field.insert_boxes(row_ids, mins, maxs),
        }
    }

    fn delete(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        match self {
            IndexHandle::Memory(ix) => ix.delete(row_id, min, max),
            IndexHandle::Durable(d) => d.field.delete(row_id, min, max),
        }
    }

    fn update(
        &self,
        row_id: u64,
        old_min: &[f64],
        old_max: &[f64],
        new_min: &[f64],
        new_max: &[f64],
    ) -> Result<bool> {
        match self {
            IndexHandle::Memory(ix) => ix.update(row_id, old_min, old_max, new_min, new_max),
            IndexHandle::Durable(d) => d.field.update(row_id, old_min, old_max, new_min, new_max),
        }
    }

    fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        match self {
            IndexHandle::Memory(ix) => ix.search(ty, min, max),
            IndexHandle::Durable(d) => d.field.search(ty, min, max),
        }
    }

    fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        match self {
            IndexHandle::Memory(ix) => ix.count(ty, min, max),
            IndexHandle::Durable(d) => d.field.count(ty, min, max),
        }
    }

    fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<u64>> {
        match self {
            IndexHandle::Memory(ix) => ix.nearest(point, k),
            IndexHandle::Durable(d) => d.field.nearest(point, k),
        }
    }

    fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        match self {
            IndexHandle::Memory(ix) => ix.cursor(ty, min, max),
            IndexHandle::Durable(d) => d.field.cursor(ty, min, max),
        }
    }

    /// Saves the index (a durable field: its committed state) into the new data directory
    /// `dir`; see [`Index::save_to`].
    fn save_to(&self, dir: &str) -> Result<()> {
        match self {
            IndexHandle::Memory(ix) => ix.save_to(dir),
            IndexHandle::Durable(d) => d.field.save_to(dir),
        }
    }

    /// A new in-memory copy of the index (a durable field: of its committed state).
    fn to_memory(&self) -> Result<Index> {
        match self {
            IndexHandle::Memory(ix) => ix.copy(),
            IndexHandle::Durable(d) => d.field.to_index(),
        }
    }

    /// Commits the runtime of a durable field (every field of it) and returns the epoch; 0 for
    /// an in-memory index, whose writes are visible at once.
    fn commit(&self) -> Result<u64> {
        match self {
            IndexHandle::Memory(_) => Ok(0),
            IndexHandle::Durable(d) => d.runtime.commit(),
        }
    }

    /// The figures of `stats()`: a durable field's runtime's (all its fields), or an in-memory
    /// index's records and heap bytes under the field name [`DEFAULT_FIELD`], all else 0.
    fn stats(&self) -> Result<RuntimeStats> {
        match self {
            IndexHandle::Memory(ix) => Ok(RuntimeStats {
                fields: vec![(DEFAULT_FIELD.to_string(), ix.len())],
                heap_bytes: ix.heap_bytes(),
                ..RuntimeStats::default()
            }),
            IndexHandle::Durable(d) => d.runtime.try_stats(),
        }
    }

    /// Releases the handle's resources: closes the runtime if this handle owns it.
    fn close(self) -> Result<()> {
        match self {
            IndexHandle::Durable(d) if d.owns_runtime => d.runtime.close(),
            _ => Ok(()),
        }
    }
}

/// The index behind a handle from `nativeCreate`, `nativeOpen` or `DurableRuntime.nativeField`.
fn index<'a>(handle: jlong) -> BridgeResult<&'a IndexHandle> {
    // SAFETY: `IndexDetails` passes the handle returned by its constructor's native call, or 0
    // once closed, and frees it (nativeFree) only after every call using it has returned
    // (NativeHandle).
    unsafe { borrow_handle::<IndexHandle>(handle, "IndexDetails") }
}

/// The [`IndexOptions`] of the Java parameters `(dimension, precision, labels, nodeSize)`;
/// `nodeSize` 0 selects the library default. Values (labels distinct and not blank included)
/// are validated by the index.
pub(crate) fn index_options(
    env: &mut JNIEnv<'_>,
    dimension: jint,
    precision: jint,
    labels: &JObjectArray<'_>,
    node_size: jint,
) -> BridgeResult<IndexOptions> {
    let dimension = usize::try_from(dimension)
        .map_err(|_| Error::invalid(format!("dimension {dimension} is outside 1..=255")))?;
    let precision = u32::try_from(precision)
        .map_err(|_| Error::invalid(format!("precision {precision} is not 32 or 64")))?;
    let labels = convert::strings(env, labels, "labels")?;
    let node_size = convert::count(node_size, "nodeSize")?;
    let mut options = IndexOptions::new(dimension, precision, labels);
    if node_size != 0 {
        options.node_size = node_size;
    }
    Ok(options)
}

/// `long nativeCreate(int dimension, int precision, String[] labels, int nodeSize)`: an
/// in-memory index; `nodeSize` 0 selects the library default.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeCreate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    dimension: jint,
    precision: jint,
    labels: JObjectArray<'local>,
    node_size: jint,
) -> jlong {
    call(&mut env, "IndexDetails.nativeCreate", |env| {
        let options = index_options(env, dimension, precision, &labels, node_size)?;
        let index = Index::with_options(options)?;
        Ok(into_handle(IndexHandle::Memory(index)))
    })
}

/// `long nativeOpen(String dataDir, int durability, int dimension, int precision,
/// String[] labels, int nodeSize, long memoryBudget)`: opens (creating if needed) the runtime
/// of `dataDir` with its field [`DEFAULT_FIELD`], owned by the handle. `durability` is
/// `Durability.ordinal()`; `memoryBudget` is in bytes, 0 for none.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the JNI signature: env, class, then the Java parameters
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
    durability: jint,
    dimension: jint,
    precision: jint,
    labels: JObjectArray<'local>,
    node_size: jint,
    memory_budget: jlong,
) -> jlong {
    call(&mut env, "IndexDetails.nativeOpen", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        let durability = convert::durability(durability)?;
        let options = index_options(env, dimension, precision, &labels, node_size)?;
        let runtime = Runtime::open(
            &data_dir,
            RuntimeOptions {
                durability,
                memory_budget: super::durable_runtime::memory_budget_option(memory_budget)?,
                ..RuntimeOptions::default()
            },
        )?;
        let field = runtime.field(DEFAULT_FIELD, options);
        owning_handle(runtime, field)
    })
}

/// A handle owning `runtime` and its `field`, or, when the field could not be had, `field`'s
/// error after closing the runtime (which releases the directory lock at once).
fn owning_handle(runtime: Runtime, field: Result<Field>) -> BridgeResult<jlong> {
    match field {
        Ok(field) => Ok(into_handle(IndexHandle::durable(
            field,
            Arc::new(runtime),
            true,
        ))),
        Err(e) => {
            let _ = runtime.close();
            Err(e.into())
        }
    }
}

/// `long nativeOpenReadOnly(String dataDir)`: opens the existing data directory read-only
/// ([`Runtime::open_read_only`]) with its field [`DEFAULT_FIELD`], owned by the handle.
///
/// Errors: `InvalidArgument` when the directory has no field [`DEFAULT_FIELD`] (it was not
/// written by the single-index constructor), else as [`Runtime::open_read_only`].
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeOpenReadOnly<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
) -> jlong {
    call(&mut env, "IndexDetails.nativeOpenReadOnly", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        let runtime = Runtime::open_read_only(&data_dir)?;
        let found = runtime.get(DEFAULT_FIELD).and_then(|f| {
            f.ok_or_else(|| {
                Error::invalid(format!(
                    "data directory {data_dir} has no field \"{DEFAULT_FIELD}\" (its fields: \
                     {:?}); open it with DurableRuntime.openReadOnly",
                    runtime.field_names()
                ))
            })
        });
        owning_handle(runtime, found)
    })
}

/// `void nativeSaveTo(long handle, String dataDir)`: saves the index into the new data
/// directory `dataDir` as its field [`DEFAULT_FIELD`] ([`Index::save_to`]).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeSaveTo<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    data_dir: JString<'local>,
) {
    call(&mut env, "IndexDetails.nativeSaveTo", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        Ok(index(handle)?.save_to(&data_dir)?)
    })
}

/// `long nativeToInMemory(long handle)`: a new in-memory `IndexDetails` handle holding a copy
/// of the index (of a durable field's committed state).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeToInMemory<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "IndexDetails.nativeToInMemory", |_| {
        let copy = index(handle)?.to_memory()?;
        Ok(into_handle(IndexHandle::Memory(copy)))
    })
}

/// `String[] nativeLabels(long handle)`: the labels of the index, one per dimension.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeLabels<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    call(&mut env, "IndexDetails.nativeLabels", |env| {
        let labels = index(handle)?.options().labels;
        convert::new_string_array(env, &labels)
    })
    .into_raw()
}

/// `int nativePrecision(long handle)`: the storage precision in bits, 32 or 64.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativePrecision<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, "IndexDetails.nativePrecision", |_| {
        Ok(index(handle)?.options().precision as jint)
    })
}

/// `void nativeFree(long handle)`: frees the handle; for the single-index DURABLE constructor
/// also closes its runtime (the final sync and checkpoint may fail with an I/O error).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "IndexDetails.nativeFree", |_| {
        // SAFETY: NativeHandle.close calls this exactly once, with the handle from the
        // constructor's native call, after every other call using it has returned.
        match unsafe { take_handle::<IndexHandle>(handle) } {
            Some(index) => Ok(index.close()?),
            None => Ok(()),
        }
    })
}

/// `long nativeSize(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeSize<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "IndexDetails.nativeSize", |_| {
        Ok(to_jlong(index(handle)?.len()?))
    })
}

/// `void nativeInsertPoint(long handle, long rowId, double[] point)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeInsertPoint<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_id: jlong,
    point: JDoubleArray<'local>,
) {
    call(&mut env, "IndexDetails.nativeInsertPoint", |env| {
        let point = convert::doubles(env, &point, "point")?;
        Ok(index(handle)?.insert_point(row_id as u64, &point)?)
    })
}

/// `void nativeInsert(long handle, long rowId, double[] min, double[] max)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeInsert<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_id: jlong,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) {
    call(&mut env, "IndexDetails.nativeInsert", |env| {
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        Ok(index(handle)?.insert(row_id as u64, &min, &max)?)
    })
}

/// `void nativeInsertPoints(long handle, long[] rowIds, double[] coords)`: one crossing per
/// batch, coords row-major.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeInsertPoints<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_ids: JLongArray<'local>,
    coords: JDoubleArray<'local>,
) {
    call(&mut env, "IndexDetails.nativeInsertPoints", |env| {
        let row_ids = convert::row_ids(env, &row_ids, "rowIds")?;
        let coords = convert::doubles(env, &coords, "coords")?;
        Ok(index(handle)?.insert_points(&row_ids, &coords)?)
    })
}

/// `void nativeInsertBoxes(long handle, long[] rowIds, double[] mins, double[] maxs)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeInsertBoxes<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_ids: JLongArray<'local>,
    mins: JDoubleArray<'local>,
    maxs: JDoubleArray<'local>,
) {
    call(&mut env, "IndexDetails.nativeInsertBoxes", |env| {
        let row_ids = convert::row_ids(env, &row_ids, "rowIds")?;
        let mins = convert::doubles(env, &mins, "mins")?;
        let maxs = convert::doubles(env, &maxs, "maxs")?;
        Ok(index(handle)?.insert_boxes(&row_ids, &mins, &maxs)?)
    })
}

/// `boolean nativeDelete(long handle, long rowId, double[] min, double[] max)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeDelete<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_id: jlong,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) -> jboolean {
    call(&mut env, "IndexDetails.nativeDelete", |env| {
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        Ok(index(handle)?.delete(row_id as u64, &min, &max)?.into())
    })
}

/// `boolean nativeUpdate(long handle, long rowId, double[] oldMin, double[] oldMax,
/// double[] newMin, double[] newMax)`.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the JNI signature: env, class, then the Java parameters
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeUpdate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    row_id: jlong,
    old_min: JDoubleArray<'local>,
    old_max: JDoubleArray<'local>,
    new_min: JDoubleArray<'local>,
    new_max: JDoubleArray<'local>,
) -> jboolean {
    call(&mut env, "IndexDetails.nativeUpdate", |env| {
        let old_min = convert::doubles(env, &old_min, "oldMin")?;
        let old_max = convert::doubles(env, &old_max, "oldMax")?;
        let new_min = convert::doubles(env, &new_min, "newMin")?;
        let new_max = convert::doubles(env, &new_max, "newMax")?;
        let updated =
            index(handle)?.update(row_id as u64, &old_min, &old_max, &new_min, &new_max)?;
        Ok(updated.into())
    })
}

/// `long[] nativeSearch(long handle, int type, double[] min, double[] max)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeSearch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) -> jlongArray {
    call(&mut env, "IndexDetails.nativeSearch", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        let ids = index(handle)?.search(ty, &min, &max)?;
        convert::new_row_id_array(env, &ids)
    })
    .into_raw()
}

/// `long nativeCount(long handle, int type, double[] min, double[] max)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeCount<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) -> jlong {
    call(&mut env, "IndexDetails.nativeCount", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        Ok(to_jlong(index(handle)?.count(ty, &min, &max)?))
    })
}

/// `long[] nativeNearest(long handle, double[] point, int k)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeNearest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    point: JDoubleArray<'local>,
    k: jint,
) -> jlongArray {
    call(&mut env, "IndexDetails.nativeNearest", |env| {
        let point = convert::doubles(env, &point, "point")?;
        let k = convert::count(k, "k")?;
        let ids = index(handle)?.nearest(&point, k)?;
        convert::new_row_id_array(env, &ids)
    })
    .into_raw()
}

/// `long nativeCursor(long handle, int type, double[] min, double[] max)`: a new cursor handle
/// (see [`search_cursor`](super::search_cursor)), independent of the index handle.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeCursor<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) -> jlong {
    call(&mut env, "IndexDetails.nativeCursor", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        let cursor = index(handle)?.cursor(ty, &min, &max)?;
        Ok(into_handle(CursorCell::new(cursor)))
    })
}

/// `long nativeCommit(long handle)`: commits the runtime of a durable index and returns the
/// epoch; 0 for an in-memory index.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeCommit<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "IndexDetails.nativeCommit", |_| {
        Ok(to_jlong(index(handle)?.commit()?))
    })
}

/// `Stats nativeStats(long handle)`: see [`IndexHandle::stats`]; one call.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeStats<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    call(&mut env, "IndexDetails.nativeStats", |env| {
        let stats = index(handle)?.stats()?;
        super::stats::new_stats(env, &stats)
    })
    .into_raw()
}
