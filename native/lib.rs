//! xtree: a multi-dimensional numeric index (an X-tree) for JVM search-engine plugins.
//!
//! - [`Index`]: the thread-safe in-memory index (one writer, lock-free readers).
//! - [`xtree`]: the algorithms (Berchtold, Keim, Kriegel, VLDB 1996, over the R*-tree).
//! - [`store`]: pages addressed by NodeID; the in-memory store.
//! - [`engine`]: the durable runtime (write-ahead log, checkpoints, recovery) behind DURABLE
//!   indexes: [`Runtime`] and its [`Field`]s.
//! - `jni`: the bridge to `dev.xtree.*` in Java.
//! - [`capi`]: the C ABI (`include/xtree.h`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!(
    "xtree pages are little-endian words viewed in place; big-endian hosts are unsupported"
);

pub mod capi;
pub mod engine;
pub mod error;
pub mod geometry;
pub mod index;
pub mod jni;
pub mod store;
pub mod tools;
pub mod xtree;

pub use engine::{
    CompactionStats, Durability, Field, Runtime, RuntimeOptions, RuntimeSnapshot, RuntimeStats,
};
pub use error::{Error, ErrorKind, Result};
pub use index::{Cursor, Index, IndexOptions, IndexSnapshot, IndexWriter, SearchType};
pub use xtree::check::TreeStats;
