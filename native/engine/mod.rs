//! The durable engine under DURABLE indexes (DESIGN.md §5): a runtime over one data directory
//! whose fields share a write-ahead log and checkpoints. Byte layouts are in `FORMAT.md`, the
//! design and its trade-offs in `docs/design.md`.
//!
//! - [`backend`]: the I/O backend trait, the OS implementation and the fault-injecting one
//!   ([`failing`] wraps a real directory to fail chosen calls);
//! - [`wal`]: the log file (framed, CRC32C, preallocated, torn tail tolerated) and [`ops`], its
//!   operations;
//! - [`checkpoint`]: every field's object table at one epoch, and [`segments`], the size-class
//!   segment files holding the pages, their free space and incremental checkpoints;
//! - [`manifest`] and [`superblock`]: which checkpoint and logs make the current state;
//! - [`lock`]: the directory lock;
//! - [`runtime`]: commit, durability policies, group commit, snapshots, poisoning, close;
//!   `field`: the handles on its fields; `recovery`: opening and recovering a directory;
//!   `coordinator`: checkpoints, the background threads and the clean-up of old files;
//! - [`convert`]: in-memory ↔ durable (`Index::save_to`, `Index::load_from`,
//!   `Field::to_index`).

pub mod backend;
pub mod checkpoint;
pub mod convert;
mod coordinator;
pub mod failing;
mod field;
pub mod lock;
pub mod manifest;
pub mod ops;
mod recovery;
pub mod runtime;
pub mod segments;
pub mod superblock;
pub mod wal;

pub use convert::DEFAULT_FIELD;
pub use coordinator::CompactionStats;
pub use field::{Field, RuntimeSnapshot};
pub use runtime::{Durability, Runtime, RuntimeOptions, RuntimeStats};
