//! Native methods of `dev.xtree.lucene.SegmentTree` (the Lucene integration's jar): the xtree
//! of one Lucene segment and field, with segment doc ids as row ids.
//!
//! Two kinds of handle, both made by [`into_handle`] and freed once by their `nativeFree`:
//! - a tree: a `Box<Index>`, built from a batch (`nativeBuild`) or loaded from bytes
//!   (`nativeLoad`); immutable once made, so any number of threads may query it at once;
//! - a blob: a `Box<Mutex<Vec<u8>>>`, the byte string of [`Index::to_bytes`] on its way to or
//!   from a Lucene file, moved across JNI a Java chunk at a time so that neither side needs one
//!   array as large as the tree.
//!
//! The Java class guards both with a read-write lock as `dev.xtree.NativeHandle` does: a handle
//! is 0 (rejected here as closed) or live, and it is freed after every call using it returned.
//! Every body runs in [`call`]; the bridge converts and calls the Rust API, nothing more.

use jni::objects::{JByteArray, JClass, JDoubleArray, JIntArray, JObject, JObjectArray};
use jni::sys::{jint, jlong, jlongArray, jobject, jsize};
use jni::JNIEnv;
use parking_lot::Mutex;

use super::convert::{self, borrow_handle, free_handle, into_handle, to_jlong};
use super::index_details::index_options;
use super::wrapper::{call, BridgeResult};
use crate::index::RowSet;
use crate::{Error, ErrorKind, Index};

type Blob = Mutex<Vec<u8>>;

/// The tree behind a handle from `nativeBuild` or `nativeLoad`.
fn tree<'a>(handle: jlong) -> BridgeResult<&'a Index> {
    // SAFETY: `SegmentTree` passes the handle its build or load returned, or 0 once closed, and
    // frees it only after every call using it has returned (its read-write lock).
    unsafe { borrow_handle::<Index>(handle, "SegmentTree") }
}

/// The blob behind a handle from `nativeToBlob` or `nativeBlobNew`.
fn blob<'a>(handle: jlong) -> BridgeResult<&'a Blob> {
    // SAFETY: as `tree`: `SegmentTree.Bytes` passes a live blob handle or 0, and frees it once,
    // after its last use.
    unsafe { borrow_handle::<Blob>(handle, "SegmentTree.Bytes") }
}

/// Copies a Java `int[]` of doc ids into row ids; a negative doc id is refused.
fn doc_ids(env: &JNIEnv<'_>, array: &JIntArray<'_>, name: &str) -> BridgeResult<Vec<u64>> {
    if array.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    let len = env.get_array_length(array)?;
    let mut docs = vec![0i32; usize::try_from(len).unwrap_or(0)];
    env.get_int_array_region(array, 0, &mut docs)?;
    docs.iter()
        .map(|&d| {
            u64::try_from(d)
                .map_err(|_| Error::invalid(format!("{name} holds the negative doc id {d}")).into())
        })
        .collect()
}

/// A Java array length for `n` elements, or `Unsupported` past what a Java array holds.
fn java_len(n: usize, what: &str) -> BridgeResult<jsize> {
    jsize::try_from(n).map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            format!("{what} of {n} elements is more than a Java array holds"),
        )
        .into()
    })
}

/// A position and length from Java within a buffer of `size` bytes.
fn span(pos: jlong, len: jint, size: usize, what: &str) -> BridgeResult<(usize, usize)> {
    let pos = usize::try_from(pos).ok();
    let len = usize::try_from(len).ok();
    match (pos, len) {
        (Some(p), Some(l)) if p.checked_add(l).is_some_and(|e| e <= size) => Ok((p, l)),
        _ => Err(Error::invalid(format!(
            "{what}: position {pos:?} and length {len:?} are outside 0..={size}"
        ))
        .into()),
    }
}

/// `long nativeBuild(int dimension, int precision, String[] labels, int[] docs, double[] mins,
/// double[] maxs)`: a tree of the records (`docs[i]`, box i), row-major coordinates; `maxs`
/// null means points (`mins` are the points). Bulk-loaded when the batch is large.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the JNI signature: env, class, then the Java parameters
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBuild<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    dimension: jint,
    precision: jint,
    labels: JObjectArray<'local>,
    docs: JIntArray<'local>,
    mins: JDoubleArray<'local>,
    maxs: JDoubleArray<'local>,
) -> jlong {
    call(&mut env, "SegmentTree.nativeBuild", |env| {
        let options = index_options(env, dimension, precision, &labels, 0)?;
        let docs = doc_ids(env, &docs, "docs")?;
        let mins = convert::doubles(env, &mins, "mins")?;
        let index = Index::with_options(options)?;
        if maxs.is_null() {
            index.insert_points(&docs, &mins)?;
        } else {
            let maxs = convert::doubles(env, &maxs, "maxs")?;
            index.insert_boxes(&docs, &mins, &maxs)?;
        }
        Ok(into_handle(index))
    })
}

/// `void nativeFree(long tree)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "SegmentTree.nativeFree", |_| {
        // SAFETY: SegmentTree.close calls this once, with its live handle, after every other
        // call using it has returned.
        unsafe { free_handle::<Index>(handle) };
        Ok(())
    })
}

/// `long nativeSize(long tree)`: the number of records.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeSize<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "SegmentTree.nativeSize", |_| {
        Ok(to_jlong(tree(handle)?.len()))
    })
}

/// `int nativeDimension(long tree)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeDimension<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, "SegmentTree.nativeDimension", |_| {
        Ok(tree(handle)?.dimension() as jint)
    })
}

/// `int nativePrecision(long tree)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativePrecision<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, "SegmentTree.nativePrecision", |_| {
        Ok(tree(handle)?.precision() as jint)
    })
}

/// `String[] nativeLabels(long tree)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeLabels<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    call(&mut env, "SegmentTree.nativeLabels", |env| {
        let labels = tree(handle)?.labels().to_vec();
        Ok(convert::new_string_array(env, &labels)?.into_raw())
    })
}

/// `long nativeToBlob(long tree)`: a new blob holding [`Index::to_bytes`] of the tree.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeToBlob<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "SegmentTree.nativeToBlob", |_| {
        let bytes = tree(handle)?.to_bytes()?;
        Ok(into_handle::<Blob>(Mutex::new(bytes)))
    })
}

/// `long nativeBlobNew(long capacity)`: an empty blob with room for `capacity` bytes; an
/// allocation that fails is an `XTreeIoException`, not an abort.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBlobNew<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    capacity: jlong,
) -> jlong {
    call(&mut env, "SegmentTree.nativeBlobNew", |_| {
        let capacity = usize::try_from(capacity)
            .map_err(|_| Error::invalid(format!("capacity {capacity} is negative")))?;
        let mut v = Vec::new();
        v.try_reserve_exact(capacity).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot allocate {capacity} bytes for a segment tree: {e}"),
            )
        })?;
        Ok(into_handle::<Blob>(Mutex::new(v)))
    })
}

/// `void nativeBlobAppend(long blob, byte[] src, int len)`: appends `src[0..len]`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBlobAppend<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    src: JByteArray<'local>,
    len: jint,
) {
    call(&mut env, "SegmentTree.nativeBlobAppend", |env| {
        if src.is_null() {
            return Err(Error::invalid("src is null").into());
        }
        let size = usize::try_from(env.get_array_length(&src)?).unwrap_or(0);
        let (_, len) = span(0, len, size, "nativeBlobAppend")?;
        let mut v = blob(handle)?.lock();
        let start = v.len();
        v.try_reserve(len).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot grow a segment tree blob: {e}"),
            )
        })?;
        v.resize(start + len, 0);
        let dst: &mut [i8] = bytemuck::cast_slice_mut(&mut v[start..]);
        env.get_byte_array_region(&src, 0, dst)?;
        Ok(())
    })
}

/// `long nativeBlobLength(long blob)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBlobLength<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "SegmentTree.nativeBlobLength", |_| {
        Ok(to_jlong(blob(handle)?.lock().len() as u64))
    })
}

/// `void nativeBlobRead(long blob, long pos, byte[] dst, int len)`: copies `len` bytes from
/// `pos` into `dst[0..len]`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBlobRead<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    pos: jlong,
    dst: JByteArray<'local>,
    len: jint,
) {
    call(&mut env, "SegmentTree.nativeBlobRead", |env| {
        if dst.is_null() {
            return Err(Error::invalid("dst is null").into());
        }
        let room = usize::try_from(env.get_array_length(&dst)?).unwrap_or(0);
        span(0, len, room, "nativeBlobRead (destination)")?;
        let v = blob(handle)?.lock();
        let (p, l) = span(pos, len, v.len(), "nativeBlobRead")?;
        let src: &[i8] = bytemuck::cast_slice(&v[p..p + l]);
        env.set_byte_array_region(&dst, 0, src)?;
        Ok(())
    })
}

/// `void nativeBlobFree(long blob)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeBlobFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "SegmentTree.nativeBlobFree", |_| {
        // SAFETY: SegmentTree.Bytes.close calls this once, with its live handle, after every
        // other call using it has returned.
        unsafe { free_handle::<Blob>(handle) };
        Ok(())
    })
}

/// `long nativeLoad(long blob)`: a tree from the blob's bytes ([`Index::from_bytes`]); damaged
/// bytes are an `XTreeCorruptionException`. The blob is left as it was.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeLoad<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "SegmentTree.nativeLoad", |_| {
        let index = Index::from_bytes(&blob(handle)?.lock())?;
        Ok(into_handle(index))
    })
}

/// `Object nativeSearch(long tree, int type, double[] min, double[] max, int maxDoc)`: the
/// distinct doc ids of the window query, as an ascending `int[]` when few, else as the `long[]`
/// words of a bitset of `maxDoc` bits ([`Index::search_row_set`]).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeSearch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
    max_doc: jint,
) -> jobject {
    call(&mut env, "SegmentTree.nativeSearch", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        let bound = bound(max_doc)?;
        let object: JObject<'_> = match tree(handle)?.search_row_set(ty, &min, &max, bound)? {
            RowSet::Sorted(ids) => {
                let array = env.new_int_array(java_len(ids.len(), "a doc id array")?)?;
                env.set_int_array_region(&array, 0, bytemuck::cast_slice(&ids))?;
                array.into()
            }
            RowSet::Bits(words) => {
                let array = env.new_long_array(java_len(words.len(), "a bitset")?)?;
                env.set_long_array_region(&array, 0, bytemuck::cast_slice(&words))?;
                array.into()
            }
        };
        Ok(object.into_raw())
    })
}

fn bound(max_doc: jint) -> BridgeResult<u32> {
    u32::try_from(max_doc)
        .map_err(|_| Error::invalid(format!("maxDoc {max_doc} is negative")).into())
}

/// `long nativeCount(long tree, int type, double[] min, double[] max)`: matching records.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeCount<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
) -> jlong {
    call(&mut env, "SegmentTree.nativeCount", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        Ok(to_jlong(tree(handle)?.count(ty, &min, &max)?))
    })
}

/// `long nativeCountDistinct(long tree, int type, double[] min, double[] max, int maxDoc)`:
/// matching distinct doc ids ([`Index::count_row_set`]).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeCountDistinct<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    ty: jint,
    min: JDoubleArray<'local>,
    max: JDoubleArray<'local>,
    max_doc: jint,
) -> jlong {
    call(&mut env, "SegmentTree.nativeCountDistinct", |env| {
        let ty = convert::search_type(ty)?;
        let min = convert::doubles(env, &min, "min")?;
        let max = convert::doubles(env, &max, "max")?;
        let bound = bound(max_doc)?;
        Ok(to_jlong(
            tree(handle)?.count_row_set(ty, &min, &max, bound)?,
        ))
    })
}

/// `long[] nativeNearest(long tree, double[] point, int k, double[] distances)`: the row ids
/// of the `k` records nearest to `point`, nearest first (ties by row id), their distances
/// written to `distances[0..n]` (`distances.length >= k`).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_lucene_SegmentTree_nativeNearest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    point: JDoubleArray<'local>,
    k: jint,
    distances: JDoubleArray<'local>,
) -> jlongArray {
    call(&mut env, "SegmentTree.nativeNearest", |env| {
        let point = convert::doubles(env, &point, "point")?;
        let k = convert::count(k, "k")?;
        if distances.is_null() {
            return Err(Error::invalid("distances is null").into());
        }
        let room = usize::try_from(env.get_array_length(&distances)?).unwrap_or(0);
        if room < k {
            return Err(Error::invalid(format!(
                "distances has room for {room}, fewer than k = {k}"
            ))
            .into());
        }
        let hits = tree(handle)?.nearest_with_distance(&point, k)?;
        let ids: Vec<u64> = hits.iter().map(|h| h.0).collect();
        let dist: Vec<f64> = hits.iter().map(|h| h.1).collect();
        env.set_double_array_region(&distances, 0, &dist)?;
        convert::new_row_id_array(env, &ids)
    })
    .into_raw()
}
