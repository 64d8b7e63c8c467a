//! The JNI bridge behind the Java package `dev.xtree` (DESIGN.md §6).
//!
//! One file per Java class with native methods (`index_details.rs`, `search_cursor.rs`,
//! `durable_runtime.rs`), the one panic-catching wrapper every entry point goes through
//! (`wrapper.rs`), and the conversions between Java values and Rust slices (`convert.rs`). The
//! bridge converts and calls the public Rust API; it holds no index logic.
//! `fault_plan.rs` serves `FaultPlan`, a package-private test hook for failing I/O.
//! `stats.rs` builds the `dev.xtree.Stats` of `stats()` in one call; `logging.rs` forwards the
//! library's `log` records to `java.util.logging` through a queue that `dev.xtree.NativeLog`
//! drains.
//! `segment_tree.rs` serves `dev.xtree.lucene.SegmentTree` of the Lucene integration's jar:
//! one tree per Lucene segment and field (a `Box<Index>`), and the byte blobs that carry a tree
//! to and from its segment file (`Box<Mutex<Vec<u8>>>`).
//!
//! Handles: a native object owned by Java is boxed and its pointer passed to Java as a `long`:
//! `IndexDetails` holds a `Box<IndexHandle>` (an in-memory `Index`, or a durable `Field` with
//! the `Arc<Runtime>` it belongs to), `SearchCursor` a `Box<CursorCell>` (a mutex over the
//! `Cursor` and the rows of a page that never reached Java), `DurableRuntime` a
//! `Box<Arc<Runtime>>`. The Java class `dev.xtree.NativeHandle` guarantees the contract every
//! `unsafe` block below relies on: a handle is either 0 (rejected here as closed) or a live
//! pointer returned by the matching constructor, and it is freed exactly once, after every call
//! using it has returned. A field handle shares its runtime through the `Arc`, so freeing the
//! `DurableRuntime` handle (which closes the runtime) never frees memory a field still uses.
//! `FaultPlan` holds a `Box<engine::failing::FaultPlan>`.
//!
//! Unsafe sites (for `UNSAFE.md`), each exercised by the JUnit tests under `-Xcheck:jni`:
//! - `convert::borrow_handle`: every entry point taking a handle; handle 0 is
//!   `NativeBridgeTest.closedHandleIsIllegalState` and
//!   `NativeBridgeTest.closedDurableRuntimeHandleIsIllegalState`, use during close is
//!   `IndexDetailsTest.closeWhileFourThreadsQuery`,
//!   `SearchCursorTest.closeWhileOtherThreadsPage` and
//!   `DurableRuntimeTest.closeWhileFieldsAreInUse`.
//! - `convert::take_handle` (and `convert::free_handle`, built on it): `nativeFree` of the
//!   four classes, reached only from `NativeHandle.close`
//!   (`IndexDetailsTest.concurrentCloseFromManyThreads`,
//!   `DurableRuntimeTest.concurrentCloseFromManyThreads`,
//!   `DurableRuntimeFaultTest.faultPlanCountsAndRejectsBadArguments`); a durable field freed
//!   after its runtime is `DurableRuntimeTest.fieldOutlivesItsRuntime`.
//! - `#[no_mangle]` on every `Java_dev_xtree_*` export: symbol names are the JNI contract.
#![allow(unsafe_code)]

mod convert;
mod durable_runtime;
mod fault_plan;
mod index_details;
mod logging;
mod search_cursor;
mod segment_tree;
mod stats;
mod wrapper;
