//! Native methods of `dev.xtree.IndexDetails`: one entry point per `private static native`
//! method, each converting its arguments and calling one [`Index`] method inside
//! [`wrapper::call`](super::wrapper::call). The handle is a `Box<Index>` (see the module docs of
//! [`jni`](super)).

use jni::objects::{JClass, JDoubleArray, JLongArray, JObjectArray};
use jni::sys::{jboolean, jint, jlong, jlongArray};
use jni::JNIEnv;

use super::convert::{self, borrow_handle, free_handle, into_handle, to_jlong};
use super::search_cursor::CursorCell;
use super::wrapper::{call, BridgeResult};
use crate::{Error, Index, IndexOptions};

/// The index behind a handle from [`Java_dev_xtree_IndexDetails_nativeCreate`].
fn index<'a>(handle: jlong) -> BridgeResult<&'a Index> {
    // SAFETY: `IndexDetails` passes the handle returned by nativeCreate, or 0 once closed, and
    // frees it (nativeFree) only after every call using it has returned (NativeHandle).
    unsafe { borrow_handle::<Index>(handle, "IndexDetails") }
}

/// `long nativeCreate(int dimension, int precision, String[] labels, int nodeSize)`;
/// `nodeSize` 0 selects the library default.
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
        let dimension = usize::try_from(dimension)
            .map_err(|_| Error::invalid(format!("dimension {dimension} is outside 1..=255")))?;
        let precision = u32::try_from(precision)
            .map_err(|_| Error::invalid(format!("precision {precision} is not 32 or 64")))?;
        let labels = convert::strings(env, &labels, "labels")?;
        let node_size = convert::count(node_size, "nodeSize")?;
        let mut options = IndexOptions::new(dimension, precision, labels);
        if node_size != 0 {
            options.node_size = node_size;
        }
        Ok(into_handle(Index::with_options(options)?))
    })
}

/// `void nativeFree(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_IndexDetails_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "IndexDetails.nativeFree", |_| {
        // SAFETY: NativeHandle.close calls this exactly once, with the handle from nativeCreate,
        // after every other call using it has returned.
        unsafe { free_handle::<Index>(handle) };
        Ok(())
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
        Ok(to_jlong(index(handle)?.len()))
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
