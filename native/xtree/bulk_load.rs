//! Bulk load by Sort-Tile-Recursive packing (Leutenegger, Lopez, Edgington, "STR: A Simple and
//! Efficient Algorithm for R-Tree Packing", ICDE 1997).
//!
//! Each level is tiled: sort by the centre on axis 0 into `s = ⌈P^(1/d)⌉` slabs, each slab
//! recursively on the next axis, and the last axis into runs of at most one node's capacity.
//! Slabs and runs are divided evenly (sizes differ by at most one), and never into more parts
//! than would leave a part smaller than a node, so every node but the root is at least half full
//! — above the condense-tree minimum, so the invariant checker holds on a packed tree.

use super::insert::Writer;
use super::node::Entries;
use crate::error::{Error, Result};
use crate::geometry::sortable::f64_key;
use crate::geometry::Coord;
use crate::store::{PageWrite, NIL};

/// Splits `n` items into `parts` runs whose sizes differ by at most one.
fn even_runs(n: usize, parts: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let (q, r) = (n / parts, n % parts);
    (0..parts).scan(0, move |start, k| {
        let len = q + usize::from(k < r);
        let range = *start..*start + len;
        *start += len;
        Some(range)
    })
}

/// The centre `(lo + hi) / 2` of an interval, without overflow: `lo` itself for a point, the sum
/// halved when it is finite, else the sum of the halves (exact there, as both are huge). All
/// three agree with the exactly scaled `fl(lo + hi) / 2` wherever it is defined, so keys of
/// different entries compare consistently (and invariantly under scaling by a power of two).
#[inline]
fn centre(lo: f64, hi: f64) -> f64 {
    if lo == hi {
        return lo;
    }
    let s = lo + hi;
    if s.is_finite() {
        s * 0.5
    } else {
        lo * 0.5 + hi * 0.5
    }
}

fn sort_by_centre<C: Coord>(e: &Entries<C>, d: usize, axis: usize, idx: &mut [usize]) {
    let w = 2 * d;
    let mut keyed: Vec<(u64, usize)> = idx
        .iter()
        .map(|&i| {
            let c = centre(
                e.mbrs[i * w + axis].to_f64(),
                e.mbrs[i * w + d + axis].to_f64(),
            );
            (f64_key(c), i)
        })
        .collect();
    keyed.sort_unstable();
    for (slot, (_, i)) in idx.iter_mut().zip(keyed) {
        *slot = i;
    }
}

/// Tiles `idx` into groups of at most `cap` entries.
fn tile<C: Coord>(
    e: &Entries<C>,
    d: usize,
    axis: usize,
    cap: usize,
    idx: &mut [usize],
    out: &mut Vec<Vec<usize>>,
) {
    let n = idx.len();
    if n <= cap {
        out.push(idx.to_vec());
        return;
    }
    let pages = n.div_ceil(cap);
    sort_by_centre(e, d, axis, idx);
    if axis + 1 >= d {
        for r in even_runs(n, pages) {
            out.push(idx[r].to_vec());
        }
        return;
    }
    let axes_left = (d - axis) as f64;
    let slabs = ((pages as f64).powf(1.0 / axes_left).ceil() as usize)
        .min(n / cap)
        .max(1);
    for r in even_runs(n, slabs) {
        tile(e, d, axis + 1, cap, &mut idx[r], out);
    }
}

impl<C: Coord, T: PageWrite> Writer<'_, C, T> {
    /// Builds a packed tree of the records `e` (ids = row ids, flat MBRs in stored precision)
    /// into an empty tree.
    pub fn bulk_load(&mut self, mut e: Entries<C>) -> Result<()> {
        if self.root != NIL {
            return Err(Error::internal("bulk load into a non-empty tree"));
        }
        let d = self.shape.dims;
        let n = e.len() as u64;
        if e.is_empty() {
            return Ok(());
        }
        // Every group was separated from its neighbours along the tiled axes.
        let tiled_axes = self.shape.axis_mask();
        let mut level = 0u32;
        loop {
            let cap = self.shape.cap(level);
            let mut all: Vec<usize> = (0..e.len()).collect();
            if e.len() <= cap {
                let page = self.build_page(level, cap, &e, &all, 0);
                self.root = self.txn.alloc(page);
                break;
            }
            let mut groups = Vec::with_capacity(e.len().div_ceil(cap));
            tile(&e, d, 0, cap, &mut all, &mut groups);
            let hist = tiled_axes;
            let mut next = Entries::with_capacity(groups.len(), d);
            for g in &groups {
                let page = self.build_page(level, cap, &e, g, hist);
                let bounds = e.bounds_of(g, d);
                let id = self.txn.alloc(page);
                next.push(id, hist, &bounds);
            }
            e = next;
            level += 1;
        }
        self.len = n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_do_not_overflow() {
        assert_eq!(centre(f64::MAX, f64::MAX), f64::MAX);
        assert_eq!(centre(-f64::MAX, f64::MAX), 0.0);
        assert_eq!(centre(f64::MAX / 2.0, f64::MAX), f64::MAX * 0.75);
        assert_eq!(centre(1.0, 3.0), 2.0);
    }

    #[test]
    fn even_runs_cover_everything() {
        let runs: Vec<_> = even_runs(10, 3).collect();
        assert_eq!(runs, vec![0..4, 4..7, 7..10]);
    }
}
