//! Conversions between Java arguments and Rust values, and the handle boxes.
//!
//! Arrays cross the boundary whole: one `Get<Type>ArrayRegion` copies a Java array into a Rust
//! buffer, one `Set<Type>ArrayRegion` fills a new Java array, never element by element. A null
//! reference becomes an `InvalidArgument` error naming the parameter; lengths and values are
//! validated by the index itself.

use jni::objects::{JDoubleArray, JLongArray, JObject, JObjectArray, JString};
use jni::sys::{jint, jlong, jsize};
use jni::JNIEnv;

use super::wrapper::{BridgeError, BridgeResult};
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

/// Copies a Java `String` into a Rust string, exactly: a string that is not well-formed UTF-16
/// (an unpaired surrogate) is an `InvalidArgument` error naming the parameter, never a lossy
/// copy, so two distinct Java strings never become the same Rust string.
///
/// The `jni` crate's own conversion falls back to `String::from_utf8_lossy` for such strings,
/// turning every unpaired surrogate into U+FFFD; this decodes the modified UTF-8 of
/// `GetStringUTFChars` itself ([`modified_utf8_to_utf16`]) and then `char::decode_utf16`.
pub(crate) fn string(env: &mut JNIEnv<'_>, s: &JString<'_>, name: &str) -> BridgeResult<String> {
    if s.is_null() {
        return Err(Error::invalid(format!("{name} is null")).into());
    }
    let java = env.get_string(s)?;
    let units = modified_utf8_to_utf16(java.to_bytes()).ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("the JVM returned bytes for {name} that are not modified UTF-8"),
        )
    })?;
    utf16_to_string(&units, name).map_err(BridgeError::from)
}

/// The text of a Java string's UTF-16 code units; an unpaired surrogate is an `InvalidArgument`
/// error naming `name`, the surrogate and its index (in UTF-16 code units, as `String.charAt`).
fn utf16_to_string(units: &[u16], name: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(units.len());
    let mut at = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        match c {
            Ok(c) => {
                out.push(c);
                at += c.len_utf16();
            }
            Err(e) => {
                return Err(Error::invalid(format!(
                    "{name} has an unpaired surrogate U+{:04X} at index {at}; it is not valid \
                     UTF-16 text",
                    e.unpaired_surrogate()
                )))
            }
        }
    }
    Ok(out)
}

/// The UTF-16 code units of a string in the JVM's modified UTF-8 (JNI specification, "Modified
/// UTF-8 Strings"): each code unit is one byte (U+0001..U+007F), two bytes (U+0000 as `C0 80`,
/// and U+0080..U+07FF) or three bytes (U+0800..U+FFFF, surrogates included, one at a time).
/// `None` if `bytes` is not in that form (the JVM never produces such bytes).
fn modified_utf8_to_utf16(bytes: &[u8]) -> Option<Vec<u16>> {
    /// The 6 payload bits of a continuation byte `10xxxxxx`.
    fn tail(b: Option<&u8>) -> Option<u16> {
        b.filter(|&&b| b & 0xC0 == 0x80)
            .map(|&b| u16::from(b & 0x3F))
    }
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b0) = bytes.get(i) {
        let lead = u16::from(b0);
        let (unit, len) = if b0 & 0x80 == 0 && b0 != 0 {
            (lead, 1)
        } else if b0 & 0xE0 == 0xC0 {
            ((lead & 0x1F) << 6 | tail(bytes.get(i + 1))?, 2)
        } else if b0 & 0xF0 == 0xE0 {
            let hi = tail(bytes.get(i + 1))?;
            let lo = tail(bytes.get(i + 2))?;
            ((lead & 0x0F) << 12 | hi << 6 | lo, 3)
        } else {
            return None;
        };
        units.push(unit);
        i += len;
    }
    Some(units)
}

/// A data directory from Java: a string as [`string`] reads it, without NUL (which no path
/// can hold: `InvalidArgument`) and not a regular file (`Io`, saying so, instead of the bare
/// "File exists" of creating the directory).
pub(crate) fn data_dir(env: &mut JNIEnv<'_>, s: &JString<'_>, name: &str) -> BridgeResult<String> {
    let dir = string(env, s, name)?;
    if let Some(at) = dir.find('\0') {
        return Err(Error::invalid(format!(
            "{name} has a NUL character at byte {at}; a path cannot hold one"
        ))
        .into());
    }
    if std::path::Path::new(&dir).is_file() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{name} {dir} is a regular file, not a directory"),
        )
        .into());
    }
    Ok(dir)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::check_labels;

    /// The modified UTF-8 the JVM makes of a Java string (its UTF-16 code units), as a
    /// reference for the decoder: each unit encoded on its own, U+0000 as `C0 80`.
    fn encode(units: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for &u in units {
            match u {
                0x0001..=0x007F => out.push(u as u8),
                0x0000 | 0x0080..=0x07FF => {
                    out.extend([0xC0 | (u >> 6) as u8, 0x80 | (u & 0x3F) as u8]);
                }
                _ => out.extend([
                    0xE0 | (u >> 12) as u8,
                    0x80 | ((u >> 6) & 0x3F) as u8,
                    0x80 | (u & 0x3F) as u8,
                ]),
            }
        }
        out
    }

    /// Pins issue 7, item 14: every UTF-16 code unit survives the decoding, and text with an
    /// unpaired surrogate is refused instead of becoming U+FFFD (which made "\uD800" and
    /// "\uDC00" the same label, directory or field name).
    #[test]
    fn strings_decode_exactly_or_not_at_all() {
        let good: Vec<u16> =
            "a\u{0}\u{7f}\u{80}\u{7ff}\u{800}\u{e9}\u{4e16}\u{ffff}\u{1F600}\u{10FFFF}"
                .encode_utf16()
                .collect();
        let bytes = encode(&good);
        assert_eq!(modified_utf8_to_utf16(&bytes).as_deref(), Some(&good[..]));
        assert_eq!(
            utf16_to_string(&good, "s").expect("well-formed"),
            String::from_utf16(&good).expect("well-formed")
        );
        for (units, at) in [
            (vec![0xD800], 0),
            (vec![0x61, 0xDC00], 1),
            (vec![0xDBFF, 0xD800], 0),
            (vec![0xDE00, 0xD83D], 0),
            (vec![0xD83D, 0xDE00, 0xD83D], 2),
        ] {
            let decoded = modified_utf8_to_utf16(&encode(&units)).expect("modified UTF-8");
            assert_eq!(decoded, units);
            let e = utf16_to_string(&decoded, "labels[3]").expect_err("unpaired surrogate");
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(
                e.message().contains("labels[3]")
                    && e.message().contains(&format!("at index {at}")),
                "{}",
                e.message()
            );
        }
        for bad in [
            &[0x80][..],
            &[0xC0],
            &[0xE0, 0x80],
            &[0xF0, 0x9F, 0x98, 0x80],
            &[0],
        ] {
            assert_eq!(modified_utf8_to_utf16(bad), None, "{bad:?}");
        }
    }

    /// Pins issue 7, item 14: blank and repeated labels are refused, naming the label.
    #[test]
    fn labels_must_be_distinct_and_not_blank() {
        let labels = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_labels(&labels(&["x", "y", "\u{e9}"])).is_ok());
        for (v, part) in [
            (&["x", "x"][..], "labels[1] repeats labels[0]"),
            (&["", "y"], "labels[0] is blank"),
            (&["x", " \t"], "labels[1] is blank"),
            (&["a", "b", "a"], "labels[2] repeats labels[0]"),
        ] {
            let e = check_labels(&labels(v)).expect_err("bad labels");
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().contains(part), "{}", e.message());
        }
    }
}
