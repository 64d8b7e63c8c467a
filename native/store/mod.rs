//! Node stores: where pages live, addressed by NodeID (DESIGN.md §4).
//!
//! The tree code sees two capabilities and nothing else, so that the durable store can slot in
//! under it unchanged:
//! - [`PageRead`]: a reader's view of one published version (a snapshot);
//! - [`PageWrite`]: the single writer's transaction, which copies a published page before it
//!   changes it ([`PageWrite::make_dirty`]) and publishes a new root atomically at the end.
//!
//! Pages are slices of 64-bit words (see `xtree::node` for the layout).

pub mod memory;

use crate::error::Result;

/// A node identifier: a handle (the low 32 bits, the node's slot in the store's page table)
/// and an ABA tag (the high 32 bits), which grows by one each time a reclaimed handle is reused.
/// Two pages that ever lived under one handle therefore have different NodeIDs, which is what
/// lets the durable engine tell an unchanged page from a new one by NodeID alone (its object
/// table maps NodeID → disk slot). [`NIL`] marks "no node" (the root of an empty tree).
pub type NodeId = u64;

/// The absent node.
pub const NIL: NodeId = u64::MAX;

/// Bits of the handle part of a [`NodeId`].
pub const HANDLE_BITS: u32 = 32;
/// Largest usable handle (the all-ones handle belongs to [`NIL`]).
pub const MAX_HANDLE: u64 = (1 << HANDLE_BITS) - 2;

/// The handle (page-table slot) of `id`.
#[inline]
pub fn handle(id: NodeId) -> u64 {
    id & ((1 << HANDLE_BITS) - 1)
}

/// The ABA tag of `id`.
#[inline]
pub fn tag(id: NodeId) -> u32 {
    (id >> HANDLE_BITS) as u32
}

/// The NodeID of `handle` with `tag`.
#[inline]
pub fn node_id(handle: u64, tag: u32) -> NodeId {
    debug_assert!(handle <= MAX_HANDLE);
    ((tag as u64) << HANDLE_BITS) | handle
}

/// The NodeID the next page under the handle of `id` gets once `id` is reclaimed.
#[inline]
pub fn next_tag(id: NodeId) -> NodeId {
    node_id(handle(id), tag(id).wrapping_add(1))
}

/// A published state of the tree: its root, its record count and a sequence number that grows
/// by one with every publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Root node, or [`NIL`] when the tree is empty.
    pub root: NodeId,
    /// Records in the tree.
    pub len: u64,
    /// Publication sequence number.
    pub seq: u64,
}

/// Read access to the pages of one published version.
pub trait PageRead {
    /// The version being read.
    fn version(&self) -> Version;
    /// The page of node `id`. Errors if `id` does not name a page (corruption).
    fn page(&self, id: NodeId) -> Result<&[u64]>;
}

/// The writer's transaction over a store.
///
/// Pages reachable from a published root are immutable; the writer copies one before changing it
/// (copy-on-write), receiving a new NodeID, and must then point the parent at the copy.
pub trait PageWrite {
    /// The version this transaction started from.
    fn base(&self) -> Version;
    /// The current page of `id` (a dirty copy if one exists in this transaction).
    fn page(&self, id: NodeId) -> Result<&[u64]>;
    /// Mutable page of a node made dirty in this transaction. Errors if `id` is not dirty.
    fn page_mut(&mut self, id: NodeId) -> Result<&mut [u64]>;
    /// Whether `id` is writable in this transaction.
    fn is_dirty(&self, id: NodeId) -> bool;
    /// A writable node with the contents of `id`: `id` itself if already dirty, otherwise a copy
    /// under a new NodeID (and `id` is retired when the transaction publishes).
    fn make_dirty(&mut self, id: NodeId) -> Result<NodeId>;
    /// A new writable node holding `page`.
    fn alloc(&mut self, page: Vec<u64>) -> NodeId;
    /// Replaces the buffer of dirty node `id` (to grow or shrink a supernode).
    fn replace(&mut self, id: NodeId, words: Vec<u64>) -> Result<()>;
    /// Drops node `id` from the tree (retired at publication if it was published).
    fn free(&mut self, id: NodeId);
}
