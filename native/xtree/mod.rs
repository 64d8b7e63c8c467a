//! The X-tree (Berchtold, Keim, Kriegel, VLDB 1996) on top of R*-tree insertion and splitting
//! (Beckmann et al., SIGMOD 1990), over pages addressed by NodeID through a node store.
//!
//! One algorithm per file: [`choose_subtree`], [`split`], [`insert`], [`delete`], [`query`],
//! [`knn`], [`bulk_load`], [`check`]. The writer side works through [`crate::store::PageWrite`]
//! (copy-on-write pages), the reader side through [`crate::store::PageRead`].

pub mod bulk_load;
pub mod check;
pub mod choose_subtree;
pub mod delete;
pub mod insert;
pub mod knn;
pub mod node;
pub mod params;
pub mod query;
pub mod split;

use std::marker::PhantomData;

use crate::geometry::Coord;
use node::{capacity_for, page_words};

/// Shape of the tree's nodes: dimension and capacities, derived from the node size.
#[derive(Debug, Clone, Copy)]
pub struct Shape<C: Coord> {
    /// Number of dimensions.
    pub dims: usize,
    /// Entries per leaf.
    pub leaf_cap: usize,
    /// Entries per normal (non-super) directory node.
    pub dir_cap: usize,
    _c: PhantomData<C>,
}

impl<C: Coord> Shape<C> {
    /// The shape for `dims` dimensions and a node size in bytes.
    pub fn new(dims: usize, node_size: usize) -> Self {
        Shape {
            dims,
            leaf_cap: capacity_for(node_size, dims, C::BYTES, false),
            dir_cap: capacity_for(node_size, dims, C::BYTES, true),
            _c: PhantomData,
        }
    }

    /// Normal capacity of a node at `level`.
    #[inline]
    pub fn cap(&self, level: u32) -> usize {
        if level == 0 {
            self.leaf_cap
        } else {
            self.dir_cap
        }
    }

    /// Minimum entries of a non-root node at `level` (condense-tree threshold).
    pub fn min_fill(&self, level: u32) -> usize {
        let f = if level == 0 {
            params::MIN_FILL
        } else {
            params::DIR_MIN_FILL
        };
        ((self.cap(level) as f64 * f).floor() as usize).max(1)
    }

    /// Words of a page at `level` with `capacity` entries.
    pub fn words(&self, level: u32, capacity: usize) -> usize {
        page_words(self.dims, C::BYTES, capacity, level > 0)
    }

    /// Bit mask of the axes representable in a 64-bit split history.
    pub fn axis_mask(&self) -> u64 {
        if self.dims >= 64 {
            u64::MAX
        } else {
            (1u64 << self.dims) - 1
        }
    }
}

/// The split-history bit of axis `a` (axes ≥ 64 share bits modulo 64).
#[inline]
pub fn axis_bit(a: usize) -> u64 {
    1u64 << (a % 64)
}
