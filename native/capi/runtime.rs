//! C exports on `XtreeRuntime`: a durable data directory and its named fields.

use std::ffi::c_char;
use std::sync::Arc;

use super::handles::{self, IndexObject, Object};
use super::index::{options, publish_index};
use super::wrapper::{c_str, call, write_opt, write_out};
use super::{
    XtreeIndex, XtreeRuntime, XTREE_DURABILITY_BALANCED, XTREE_DURABILITY_EVENTUAL,
    XTREE_DURABILITY_STRICT,
};
use crate::engine::{Durability, Runtime, RuntimeOptions};
use crate::error::{Error, Result};

fn is_runtime(o: &Object) -> bool {
    matches!(o, Object::Runtime(_))
}

fn lookup(h: XtreeRuntime) -> Result<Arc<Runtime>> {
    let object = handles::get(h.id, "runtime", is_runtime, "a runtime")?;
    match &*object {
        Object::Runtime(rt) => Ok(rt.clone()),
        _ => unreachable!("handles::get checked the kind"),
    }
}

fn durability_of(d: i32) -> Result<Durability> {
    match d {
        XTREE_DURABILITY_STRICT => Ok(Durability::Strict),
        XTREE_DURABILITY_BALANCED => Ok(Durability::Balanced),
        XTREE_DURABILITY_EVENTUAL => Ok(Durability::Eventual),
        _ => Err(Error::invalid(format!(
            "durability {d} is not XTREE_DURABILITY_STRICT (0), _BALANCED (1) or _EVENTUAL (2)"
        ))),
    }
}

/// Opens (or initialises, when missing or empty) the data directory `dir` (a NUL-terminated
/// UTF-8 path) with `durability` (`XTREE_DURABILITY_STRICT`, `_BALANCED` or `_EVENTUAL`) and
/// writes the runtime's handle to `*out`. The directory is locked while open: a second open,
/// in this or another process, fails with 10. Recovery replays the write-ahead log, so the
/// state of the last commit comes back. Close it with `xtree_runtime_close`.
///
/// Returns 0; 1 for NULL `dir` or `out`, a non-UTF-8 path or a bad durability; 10 for an I/O
/// error (including "locked" and a `dir` that is a regular file); 11 when the directory's files
/// are damaged (nothing on disk is changed). `*out` is the null handle on failure.
///
/// # Safety
/// `dir` is a NUL-terminated string; `out` a writable `XtreeRuntime`.
#[no_mangle]
pub unsafe extern "C" fn xtree_runtime_open(
    dir: *const c_char,
    durability: i32,
    out: *mut XtreeRuntime,
) -> i32 {
    call("xtree_runtime_open", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, XtreeRuntime { id: 0 }, "out") }?;
        // SAFETY: the caller's guarantee for `dir`.
        let path = unsafe { c_str(dir, "dir") }?;
        let o = RuntimeOptions {
            durability: durability_of(durability)?,
            ..RuntimeOptions::default()
        };
        let rt = Runtime::open(path, o)?;
        let id = handles::insert(Object::Runtime(Arc::new(rt)))?;
        // SAFETY: as above; `out` was written once already, so this cannot fail.
        unsafe { write_out(out, XtreeRuntime { id }, "out") }
    })
}

/// Opens the existing data directory `dir` (a NUL-terminated UTF-8 path) read-only and writes
/// the runtime's handle to `*out`: the last committed state is recovered without changing any
/// file (a torn log tail is read up to the last commit, not cut). Any number of read-only
/// runtimes, in this and other processes, may hold a directory at once while no writer does.
/// Queries answer as usual; every write, commit and field creation on the runtime or its
/// fields returns 4 (`XTREE_ERR_READ_ONLY`); `xtree_runtime_get_field` hands out its fields.
/// Close it with `xtree_runtime_close`.
///
/// Returns 0; 1 for NULL `dir` or `out` or a non-UTF-8 path; 10 for an I/O error (including a
/// missing directory, a directory that holds no data directory, and "locked" by a writer);
/// 11 when the directory's files are damaged. `*out` is the null handle on failure.
///
/// # Safety
/// `dir` is a NUL-terminated string; `out` a writable `XtreeRuntime`.
#[no_mangle]
pub unsafe extern "C" fn xtree_runtime_open_read_only(
    dir: *const c_char,
    out: *mut XtreeRuntime,
) -> i32 {
    call("xtree_runtime_open_read_only", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, XtreeRuntime { id: 0 }, "out") }?;
        // SAFETY: the caller's guarantee for `dir`.
        let path = unsafe { c_str(dir, "dir") }?;
        let rt = Runtime::open_read_only(path)?;
        let id = handles::insert(Object::Runtime(Arc::new(rt)))?;
        // SAFETY: as above; `out` was written once already, so this cannot fail.
        unsafe { write_out(out, XtreeRuntime { id }, "out") }
    })
}

/// Gets the field `name` (NUL-terminated UTF-8, 1..=1024 bytes) of `runtime`, creating it
/// (committed at once, with any pending writes) when it does not exist, and writes a new index
/// handle on it to `*out`. Arguments as `xtree_index_new`; an existing field must have the same
/// dimension, precision and labels. The handle does not own the runtime: release it with
/// `xtree_index_free` (before or after `xtree_runtime_close`); once the runtime is closed its
/// calls return 2.
///
/// Returns 0; 1 for a bad argument or a mismatch with the existing field; 2 for a released
/// handle or closed runtime; 10 or 12 when the creating commit fails. `*out` is the null handle
/// on failure.
///
/// # Safety
/// `name` is a NUL-terminated string; `labels` addresses `labels_len` string pointers; `out` a
/// writable `XtreeIndex`.
#[no_mangle]
pub unsafe extern "C" fn xtree_runtime_field(
    runtime: XtreeRuntime,
    name: *const c_char,
    dimension: u32,
    precision: u32,
    labels: *const *const c_char,
    labels_len: usize,
    node_size: usize,
    out: *mut XtreeIndex,
) -> i32 {
    call("xtree_runtime_field", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, XtreeIndex { id: 0 }, "out") }?;
        // SAFETY: the caller's guarantee for `name`.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: the caller's guarantee for `labels`.
        let o = unsafe { options(dimension, precision, labels, labels_len, node_size) }?;
        let rt = lookup(runtime)?;
        let field = rt.field(name, o)?;
        // SAFETY: as above for `out`.
        unsafe { publish_index(IndexObject::Field(field, rt), out) }
    })
}

/// Writes a new index handle on the existing field `name` of `runtime` to `*out`, or the null
/// handle (`id == 0`) when there is no such field (status 0 in both cases).
///
/// Returns 0; 1 for NULL `name` or `out`, a non-UTF-8 name or a bad handle; 2 for a released
/// handle or a closed runtime.
///
/// # Safety
/// `name` is a NUL-terminated string; `out` a writable `XtreeIndex`.
#[no_mangle]
pub unsafe extern "C" fn xtree_runtime_get_field(
    runtime: XtreeRuntime,
    name: *const c_char,
    out: *mut XtreeIndex,
) -> i32 {
    call("xtree_runtime_get_field", || {
        // SAFETY: the caller's guarantee for `out`.
        unsafe { write_out(out, XtreeIndex { id: 0 }, "out") }?;
        // SAFETY: the caller's guarantee for `name`.
        let name = unsafe { c_str(name, "name") }?;
        let rt = lookup(runtime)?;
        match rt.get(name)? {
            // SAFETY: as above for `out`.
            Some(field) => unsafe { publish_index(IndexObject::Field(field, rt), out) },
            None => Ok(()),
        }
    })
}

/// Commits every pending write of every field of `runtime` as one transaction, durable per
/// its durability when this returns and visible to new queries and cursors; `*epoch`
/// (optional, may be NULL) is set to the commit's epoch.
///
/// Returns 0; 1 for a bad handle; 2 for a released handle; 10 when the log write or sync
/// fails (the runtime is then poisoned); 12 when it was poisoned before.
///
/// # Safety
/// `epoch` is NULL or a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn xtree_runtime_commit(runtime: XtreeRuntime, epoch: *mut u64) -> i32 {
    call("xtree_runtime_commit", || {
        let e = lookup(runtime)?.commit()?;
        // SAFETY: the caller's guarantee for `epoch`.
        unsafe { write_opt(epoch, e, "epoch") }
    })
}

/// Closes `runtime` and releases its handle: makes every commit durable, writes a checkpoint,
/// discards uncommitted writes and frees the trees; the directory lock is released once no
/// cursor opened earlier remains. Field handles stay allocated (calls on them return 2) until
/// each is released with `xtree_index_free`; cursors keep answering from their snapshots. The
/// handle is released even when closing fails; a second `xtree_runtime_close` returns 2.
///
/// Returns 0; 1 for the null handle or another kind of handle; 2 for a released handle; 10
/// when the final sync or checkpoint fails (acknowledged STRICT/BALANCED commits are durable
/// regardless).
#[no_mangle]
pub extern "C" fn xtree_runtime_close(runtime: XtreeRuntime) -> i32 {
    call("xtree_runtime_close", || {
        let object = handles::remove(runtime.id, "runtime", is_runtime, "a runtime")?;
        match &*object {
            Object::Runtime(rt) => rt.close(),
            _ => unreachable!("handles::remove checked the kind"),
        }
    })
}
