//! The C ABI of xtree (`include/xtree.h`, generated from this module by cbindgen).
//!
//! The C layer converts arguments and calls the public Rust API ([`crate::Index`],
//! [`crate::Runtime`], [`crate::Field`], [`crate::Cursor`]); it holds no index logic.
//!
//! - `handles.rs`: the handle registry (a slab of `Arc`s with generation counters).
//! - `wrapper.rs`: the one wrapper every export runs its body in (`catch_unwind`, status codes,
//!   the thread-local last-error message) and the conversions of C arguments (pointers with
//!   lengths, NUL-terminated UTF-8 strings) into Rust slices and strings.
//! - `index.rs`: in-memory indexes, durable fields (both behind [`XtreeIndex`]) and cursors.
//! - `runtime.rs`: durable runtimes.
//!
//! # Contract
//!
//! Every function returns an `int32_t` status: [`XTREE_OK`] (0) or the [`crate::ErrorKind::code`]
//! of the failure (1 invalid argument, 2 closed, 3 unsupported, 4 read-only, 10 I/O, 11 corruption,
//! 12 poisoned, 99 internal). [`xtree_last_error`] returns the message of the calling thread's
//! last call. No panic crosses the boundary: a panic becomes status 99 with its message.
//!
//! Handles are not pointers but 64-bit ids in a process-wide registry (slot index and generation),
//! wrapped in one struct type per kind so that C compilers tell them apart. An id that is 0, was
//! released, or names another kind of object is refused with a status (2 for a released or
//! never-issued id, 1 for the wrong kind), never undefined behaviour: use after free and double
//! free are errors. Calls on one handle from many threads at once are safe; releasing a handle
//! while another thread uses it lets that call finish on the object it already holds.
//!
//! Unsafe sites (for `UNSAFE.md`): the argument conversions of `wrapper.rs` (`slice`,
//! `copy_out`, `c_str`, `labels`, `write_out`), each of which trusts the caller's pointer and
//! length as the header documents them, and `#[no_mangle]` on every export. They are exercised by
//! `tests/capi.rs`, which runs `tests/c/capi_test.c` plain and under AddressSanitizer and
//! UndefinedBehaviorSanitizer.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod handles;
pub mod index;
pub mod runtime;
mod wrapper;

pub use index::*;
pub use runtime::*;
pub use wrapper::xtree_last_error;

/// Status: success.
pub const XTREE_OK: i32 = 0;
/// Status: bad input (NULL handle or pointer, wrong length, NaN, `min > max`, bad dimension or
/// precision, non-UTF-8 string, wrong kind of handle, buffer too small, ...).
pub const XTREE_ERR_INVALID_ARGUMENT: i32 = 1;
/// Status: the handle was released (or never issued), or the runtime behind it is closed.
pub const XTREE_ERR_CLOSED: i32 = 2;
/// Status: the feature is not available.
pub const XTREE_ERR_UNSUPPORTED: i32 = 3;
/// Status: a write (insert, delete, update, commit, field creation) on a runtime opened with
/// `xtree_runtime_open_read_only`, or on one of its fields.
pub const XTREE_ERR_READ_ONLY: i32 = 4;
/// Status: an operating-system I/O error (also: the data directory is locked by another opener).
pub const XTREE_ERR_IO: i32 = 10;
/// Status: bytes read back from the data directory do not form a valid structure.
pub const XTREE_ERR_CORRUPTION: i32 = 11;
/// Status: an earlier write or sync failed; writes are refused until the runtime is reopened.
pub const XTREE_ERR_POISONED: i32 = 12;
/// Status: a bug (a caught Rust panic, or a broken internal invariant).
pub const XTREE_ERR_INTERNAL: i32 = 99;

/// Relation of a window query: the record's box intersects the query box.
pub const XTREE_INTERSECTS: i32 = 0;
/// Relation of a window query: the record's box contains the query box.
pub const XTREE_CONTAINS: i32 = 1;
/// Relation of a window query: the record's box lies within the query box.
pub const XTREE_WITHIN: i32 = 2;

/// Durability of a runtime: every acknowledged commit survives a crash (the committer syncs).
pub const XTREE_DURABILITY_STRICT: i32 = 0;
/// Durability of a runtime: as STRICT, concurrent committers share one sync (the default).
pub const XTREE_DURABILITY_BALANCED: i32 = 1;
/// Durability of a runtime: a background thread syncs every 50 ms; a crash may lose the commits
/// of about the last 50 ms.
pub const XTREE_DURABILITY_EVENTUAL: i32 = 2;

/// A handle on an in-memory index or on a field of a durable runtime. `id == 0` is the null
/// handle. Released by `xtree_index_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XtreeIndex {
    /// Registry id (slot and generation); 0 is never issued.
    pub id: u64,
}

/// A handle on a durable runtime (a data directory). `id == 0` is the null handle. Closed and
/// released by `xtree_runtime_close`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XtreeRuntime {
    /// Registry id (slot and generation); 0 is never issued.
    pub id: u64,
}

/// A handle on a paged window query over a snapshot. `id == 0` is the null handle. Released by
/// `xtree_cursor_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XtreeCursor {
    /// Registry id (slot and generation); 0 is never issued.
    pub id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn status_constants_are_the_error_kind_codes() {
        let pairs = [
            (ErrorKind::InvalidArgument, XTREE_ERR_INVALID_ARGUMENT),
            (ErrorKind::Closed, XTREE_ERR_CLOSED),
            (ErrorKind::Unsupported, XTREE_ERR_UNSUPPORTED),
            (ErrorKind::ReadOnly, XTREE_ERR_READ_ONLY),
            (ErrorKind::Io, XTREE_ERR_IO),
            (ErrorKind::Corruption, XTREE_ERR_CORRUPTION),
            (ErrorKind::Poisoned, XTREE_ERR_POISONED),
            (ErrorKind::Internal, XTREE_ERR_INTERNAL),
        ];
        for (kind, code) in pairs {
            assert_eq!(kind.code(), code, "{kind:?}");
        }
    }
}
