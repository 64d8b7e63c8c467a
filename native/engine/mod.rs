//! The durable engine under DURABLE indexes (DESIGN.md §5): a runtime over one data directory
//! whose fields share a write-ahead log and checkpoints. Byte layouts are in `FORMAT.md`, the
//! design and its trade-offs in `docs/design.md`.
//!
//! - [`backend`]: the I/O backend trait, the OS implementation and the fault-injecting one;
//! - [`wal`]: the log file (framed, CRC32C, preallocated, torn tail tolerated) and [`ops`], its
//!   operations;
//! - [`checkpoint`]: every field's object table at one epoch, and [`segments`], the size-class
//!   segment files holding the pages, their free space and incremental checkpoints;
//! - [`manifest`] and [`superblock`]: which checkpoint and logs make the current state;
//! - [`runtime`]: commit, durability policies, group commit, snapshots, recovery, poisoning.

pub mod backend;
pub mod checkpoint;
pub mod failing;
pub mod manifest;
pub mod ops;
pub mod runtime;
pub mod segments;
pub mod superblock;
pub mod wal;

pub use runtime::{Durability, Field, Runtime, RuntimeOptions, RuntimeSnapshot, RuntimeStats};
