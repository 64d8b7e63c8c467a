//! Geometry: stored coordinate types, directed rounding, MBR arithmetic, extended-range
//! measures, exactly ranked distances and sortable keys.
//!
//! An MBR (minimum bounding rectangle) of dimension `d` is held as a flat slice of `2 * d`
//! coordinates laid out `[min_0, .., min_{d-1}, max_0, .., max_{d-1}]`. Intervals are closed.

pub mod coord;
pub mod dist;
pub mod ext;
pub mod mbr;
pub mod sortable;

pub use coord::Coord;

/// The query predicate of a window query (DESIGN.md §2): how a record's box must relate to the
/// query box. All intervals are closed. Defined here, in the lowest layer, because both the
/// tree's query code (`xtree::query`) and the public API (`index`) use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchType {
    /// record ∩ query ≠ ∅
    Intersects,
    /// record ⊇ query
    Contains,
    /// record ⊆ query
    Within,
}
