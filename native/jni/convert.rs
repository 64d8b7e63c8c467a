//! Conversions between Java arguments and Rust values, and the handle boxes.
//!
//! Arrays cross the boundary whole: one `Get<Type>ArrayRegion` copies a Java array into a Rust
//! buffer, one `Set<Type>ArrayRegion` fills a new Java array, never element by element. A null
//! reference becomes an `InvalidArgument` error naming the parameter; lengths and values are
//! validated by the index itself.

use jni::objects::{JDoubleArray, JLongArray, JObject, JObjectArray, JString};
use jni::sys::{jint, jlong, jsize};
use jni::JNIEnv;

use super::wrapper::BridgeResult;
use crate::{Durability, Error, ErrorKind, SearchType};

/// Copies a Java `double[]` into a new vector.
pub(crate) fn doubles(
    env: &JNIEnv<'_>,
    array: &JDoubleArray<'_>,
    name: &str,
) -> BridgeResult<Vec<f64>> {
    if array.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    let len = env.get_array_length(array)?;
    let mut values = vec![0.0; array_len(len)];
    env.get_double_array_region(array, 0, &mut values)?;
    Ok(values)
}

/// Copies a Java `long[]` of row ids into a new vector; Java's signed `long` maps to `u64` bit
/// for bit.
pub(crate) fn row_ids(
    env: &JNIEnv<'_>,
    array: &JLongArray<'_>,
    name: &str,
) -> BridgeResult<Vec<u64>> {
    if array.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    let len = env.get_array_length(array)?;
    let mut ids = vec![0u64; array_len(len)];
    env.get_long_array_region(array, 0, bytemuck::cast_slice_mut(&mut ids))?;
    Ok(ids)
}

/// Creates a Java `long[]` holding `ids`.
pub(crate) fn new_row_id_array<'local>(
    env: &JNIEnv<'local>,
    ids: &[u64],
) -> BridgeResult<JLongArray<'local>> {
    let len = jsize::try_from(ids.len()).map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "the answer has {} rows, more than a Java array holds; use cursor() or count()",
                ids.len()
            ),
        )
    })?;
    let array = env.new_long_array(len)?;
    env.set_long_array_region(&array, 0, bytemuck::cast_slice(ids))?;
    Ok(array)
}

/// Copies a Java `String` into a Rust string.
pub(crate) fn string(env: &mut JNIEnv<'_>, s: &JString<'_>, name: &str) -> BridgeResult<String> {
    if s.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    Ok(env.get_string(s)?.into())
}

/// Copies a Java `String[]` into Rust strings. Each element is read in its own local-reference
/// frame, so 255 labels do not pile up local references (which `-Xcheck:jni` reports).
pub(crate) fn strings(
    env: &mut JNIEnv<'_>,
    array: &JObjectArray<'_>,
    name: &str,
) -> BridgeResult<Vec<String>> {
    if array.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    let len = env.get_array_length(array)?;
    let mut out = Vec::with_capacity(array_len(len));
    for i in 0..len {
        let s = env.with_local_frame(8, |env| -> BridgeResult<String> {
            let element = JString::from(env.get_object_array_element(array, i)?);
            string(env, &element, &format!("{name}[{i}]"))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Creates a Java `String[]` holding `strings`. Each element is made in its own local-reference
/// frame, so that many names do not pile up local references.
pub(crate) fn new_string_array<'local>(
    env: &mut JNIEnv<'local>,
    strings: &[String],
) -> BridgeResult<JObjectArray<'local>> {
    let len = jsize::try_from(strings.len()).map_err(|_| {
        Error::new(
            ErrorKind::Unsupported,
            format!("{} names are more than a Java array holds", strings.len()),
        )
    })?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, s) in (0..len).zip(strings) {
        env.with_local_frame(8, |env| -> BridgeResult<()> {
            let element = env.new_string(s)?;
            env.set_object_array_element(&array, i, element)?;
            Ok(())
        })?;
    }
    Ok(array)
}

/// A non-negative count from Java (`k`, `maxRows`, `nodeSize`).
pub(crate) fn count(value: jint, name: &str) -> BridgeResult<usize> {
    usize::try_from(value).map_err(|_| Error::invalid(format!("{name} {value} is negative")).into())
}

/// The Java `SearchType.ordinal()` as a Rust [`SearchType`].
pub(crate) fn search_type(ordinal: jint) -> BridgeResult<SearchType> {
    match ordinal {
        0 => Ok(SearchType::Intersects),
        1 => Ok(SearchType::Contains),
        2 => Ok(SearchType::Within),
        _ => Err(Error::invalid(format!("search type ordinal {ordinal} is not 0, 1 or 2")).into()),
    }
}

/// The Java `Durability.ordinal()` as a Rust [`Durability`].
pub(crate) fn durability(ordinal: jint) -> BridgeResult<Durability> {
    match ordinal {
        0 => Ok(Durability::Strict),
        1 => Ok(Durability::Balanced),
        2 => Ok(Durability::Eventual),
        _ => Err(Error::invalid(format!("durability ordinal {ordinal} is not 0, 1 or 2")).into()),
    }
}

/// A Java `long` holding a Rust row count (never above `i64::MAX` in practice; saturates).
pub(crate) fn to_jlong(n: u64) -> jlong {
    jlong::try_from(n).unwrap_or(jlong::MAX)
}

/// JNI array lengths are never negative; treat a negative one as empty rather than trusting it.
fn array_len(len: jsize) -> usize {
    usize::try_from(len).unwrap_or(0)
}

/// Moves `value` to the heap and returns its address as a Java handle, to be freed exactly once
/// by [`free_handle`] or [`take_handle`] with the same `T`.
pub(crate) fn into_handle<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as jlong
}

/// Borrows the object behind a handle made by [`into_handle`]; handle 0 means closed.
///
/// # Safety
/// `handle` must be 0 or a value returned by `into_handle::<T>` that has not been freed, and it
/// must not be freed while the returned reference is alive. `dev.xtree.NativeHandle` guarantees
/// both: it passes 0 after close and frees only after every call using the handle has returned.
pub(crate) unsafe fn borrow_handle<'a, T>(handle: jlong, what: &str) -> BridgeResult<&'a T> {
    let ptr = handle as *const T;
    if ptr.is_null() {
        return Err(Error::new(ErrorKind::Closed, format!("{what} is closed")).into());
    }
    // SAFETY: non-null, and by this function's contract a live `Box<T>` allocation that
    // outlives the borrow.
    Ok(unsafe { &*ptr })
}

/// Takes back ownership of the object behind a handle made by [`into_handle`], for a free that
/// has work to do (closing a durable runtime) before the drop; handle 0 gives `None`.
///
/// # Safety
/// `handle` must be 0 or a value returned by `into_handle::<T>`, not freed before and not in use
/// by any other call; after this call it must never be used again.
pub(crate) unsafe fn take_handle<T>(handle: jlong) -> Option<Box<T>> {
    let ptr = handle as *mut T;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: by this function's contract `ptr` came from `Box::into_raw` for a `Box<T>` and
    // ownership returns to us exactly once.
    Some(unsafe { Box::from_raw(ptr) })
}

/// Drops the object behind a handle made by [`into_handle`]; handle 0 is ignored.
///
/// # Safety
/// As [`take_handle`].
pub(crate) unsafe fn free_handle<T>(handle: jlong) {
    // SAFETY: this function's contract is `take_handle`'s.
    drop(unsafe { take_handle::<T>(handle) });
}
