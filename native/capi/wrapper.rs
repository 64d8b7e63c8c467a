//! The one wrapper every C export runs its body in, the thread-local last-error message, and
//! the conversions of C arguments.
//!
//! [`call`] runs a body under `catch_unwind`: `Ok` is status 0, an [`Error`] its
//! [`crate::ErrorKind::code`], a panic status 99 with the panic's message. Unwinding across an
//! `extern "C"` boundary aborts the process, so nothing may escape. The message of each call
//! (empty after a success) is kept in a thread-local buffer that [`xtree_last_error`] exposes.
//!
//! Conversions refuse, with `InvalidArgument` naming the parameter, what can be checked without
//! trusting the caller: NULL with a non-zero length, a misaligned pointer, a byte length above
//! `isize::MAX`, a string that is not UTF-8. Whether a pointer really addresses `len` elements
//! cannot be checked: that is the caller's side of the contract, as in every C API.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{self, AssertUnwindSafe};

use crate::error::{Error, Result};

thread_local! {
    /// The message of this thread's last call; what [`xtree_last_error`] points into.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A message never holds NUL in practice; if one did, it would be cut there, not lost.
    let text = message.split('\0').next().unwrap_or_default();
    let c = CString::new(text).expect("no NUL: the text was cut at the first one");
    // A call from a thread-local destructor at thread exit may come after this buffer was
    // destroyed: the message is dropped (the status still tells the outcome). `with` would
    // panic there, and a panic in an `extern "C"` function aborts the process.
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = c);
}

/// Runs the body of the export `name` and returns its status.
pub(super) fn call(name: &'static str, body: impl FnOnce() -> Result<()>) -> i32 {
    // AssertUnwindSafe: after a panic nothing of the body's state is used again; objects shared
    // with other calls (cursors) guard themselves with a mutex that the panic poisons.
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            super::XTREE_OK
        }
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message()));
            e.kind().code()
        }
        Err(payload) => {
            set_last_error(&format!(
                "panic in {name}: {}",
                crate::error::panic_message(&*payload)
            ));
            super::XTREE_ERR_INTERNAL
        }
    }
}

/// The message of the calling thread's last `xtree_*` call: empty after a success, otherwise the
/// function's name and what went wrong (naming the offending parameter). Never NULL. The string
/// is owned by the library and stays valid until the next `xtree_*` call on the same thread
/// (`xtree_last_error` itself excepted); copy it to keep it. Each thread has its own message.
/// In a thread-local destructor running at thread exit the message may be unavailable: it is
/// then the empty string.
#[no_mangle]
pub extern "C" fn xtree_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|m| m.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

pub(super) fn check_pointer<T>(ptr: *const T, len: usize, what: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    if !ptr.is_aligned() {
        return Err(Error::invalid(format!("{what} is not aligned")));
    }
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Error::invalid(format!("{what}: length {len} is too large")));
    }
    Ok(())
}

/// The `len` elements at `ptr` (NULL allowed when `len` is 0).
///
/// # Safety
/// Unless NULL, `ptr` addresses `len` initialised elements that nothing writes to during the
/// call.
pub(super) unsafe fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_pointer(ptr, len, what)?;
    // SAFETY: non-NULL, aligned, at most isize::MAX bytes (checked above), and the caller
    // guarantees that `ptr` addresses `len` initialised, unaliased-by-writers elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies the first `capacity` elements of `src` (all of it if shorter) to the caller's buffer
/// `dst` of `capacity` elements; returns how many were copied. `dst` may be NULL only when
/// `capacity` is 0.
///
/// # Safety
/// Unless NULL, `dst` addresses `capacity` writable elements that nothing else uses during the
/// call (they need not be initialised).
pub(super) unsafe fn copy_out<T: Copy>(
    dst: *mut T,
    capacity: usize,
    src: &[T],
    what: &str,
) -> Result<usize> {
    if capacity == 0 {
        return Ok(0);
    }
    check_pointer(dst, capacity, what)?;
    let n = src.len().min(capacity);
    // SAFETY: `dst` is non-NULL and aligned (checked above) and, by the caller's guarantee,
    // addresses at least `capacity >= n` writable elements that cannot overlap `src`, which is
    // memory of ours. No reference to the possibly uninitialised buffer is created.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n) };
    Ok(n)
}

/// The NUL-terminated UTF-8 string at `ptr`.
///
/// # Safety
/// Unless NULL, `ptr` addresses a NUL-terminated string that nothing writes to during the call.
pub(super) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string left alone during
    // the call.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map_err(|e| Error::invalid(format!("{what} is not UTF-8: {e}")))
}

/// The `len` strings of the array at `ptr`, as owned labels.
///
/// # Safety
/// Unless NULL, `ptr` addresses `len` pointers, each as for [`c_str`].
pub(super) unsafe fn labels(ptr: *const *const c_char, len: usize) -> Result<Vec<String>> {
    // SAFETY: the caller's guarantee for `ptr` and `len`.
    let pointers = unsafe { slice(ptr, len, "labels") }?;
    pointers
        .iter()
        .enumerate()
        // SAFETY: each element is a string pointer as for `c_str` (the caller's guarantee).
        .map(|(i, &p)| unsafe { c_str(p, &format!("labels[{i}]")) }.map(str::to_owned))
        .collect()
}

/// Writes `value` to the out-parameter `out`.
///
/// # Safety
/// Unless NULL, `out` addresses a writable `T` that nothing else uses during the call.
pub(super) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    if !out.is_aligned() {
        return Err(Error::invalid(format!("{what} is not aligned")));
    }
    // SAFETY: non-NULL and aligned (checked above); the caller guarantees a writable `T`.
    // `write` does not read or drop the old value, which may be uninitialised.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` to `out` unless `out` is NULL (an optional out-parameter).
///
/// # Safety
/// As [`write_out`].
pub(super) unsafe fn write_opt<T>(out: *mut T, value: T, what: &str) -> Result<()> {
    if out.is_null() {
        return Ok(());
    }
    // SAFETY: the caller's guarantee, passed on.
    unsafe { write_out(out, value, what) }
}
