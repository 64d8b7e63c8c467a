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
