//! Node splits: the R* topological split, the X-tree overlap-minimal split, and the decision to
//! make a supernode instead.
//!
//! - Topological split (R*-tree paper §4.2): choose the axis whose candidate distributions have
//!   the least total margin; on it, the distribution with least overlap, ties by least area.
//! - X-tree (Berchtold et al. 1996, §3.2): for a directory node whose topological split overlaps
//!   by more than [`MAX_OVERLAP`], split along an axis shared by the split history of every
//!   entry (such an axis separates the children without overlap). If that split leaves fewer than
//!   [`MIN_FANOUT`] of the entries on one side, no good split exists: the node becomes a
//!   supernode (its capacity grows by one normal node) — up to [`MAX_SUPERNODE_BLOCKS`].

use super::node::Entries;
use super::params::{MAX_OVERLAP, MAX_SUPERNODE_BLOCKS, MIN_FANOUT, MIN_FILL};
use super::{axis_bit, Shape};
use crate::geometry::sortable::f64_key;
use crate::geometry::{mbr, Coord};

/// What to do with an overflowing node.
#[derive(Debug)]
pub enum SplitPlan {
    /// Split into two groups of entry indices along `axis`.
    Split {
        /// Axis of the split (recorded in the split history).
        axis: usize,
        /// Entries staying in the node.
        left: Vec<usize>,
        /// Entries moving to the new sibling.
        right: Vec<usize>,
    },
    /// Grow the directory node into a supernode of `blocks` normal node sizes.
    Supernode {
        /// New size in normal node sizes.
        blocks: usize,
    },
}

/// Prefix and suffix bounds of entries in `order`: `pre[k]` bounds `order[..=k]`, `suf[k]`
/// bounds `order[k..]`.
fn prefix_suffix<C: Coord>(e: &Entries<C>, order: &[usize], d: usize) -> (Vec<C>, Vec<C>) {
    let n = order.len();
    let w = 2 * d;
    let mut pre = vec![C::zeroed(); n * w];
    let mut suf = vec![C::zeroed(); n * w];
    let mut acc = mbr::empty::<C>(d);
    for (k, &i) in order.iter().enumerate() {
        mbr::union_into(&mut acc, e.mbr(i, d));
        pre[k * w..(k + 1) * w].copy_from_slice(&acc);
    }
    let mut acc = mbr::empty::<C>(d);
    for (k, &i) in order.iter().enumerate().rev() {
        mbr::union_into(&mut acc, e.mbr(i, d));
        suf[k * w..(k + 1) * w].copy_from_slice(&acc);
    }
    (pre, suf)
}

/// Entry indices sorted by the lower (or upper) bound on axis `a`, ties by index.
fn sorted_by<C: Coord>(e: &Entries<C>, d: usize, a: usize, upper: bool) -> Vec<usize> {
    let off = if upper { d + a } else { a };
    let w = 2 * d;
    let mut keyed: Vec<(u64, usize)> = (0..e.len())
        .map(|i| (f64_key(e.mbrs[i * w + off].to_f64()), i))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The R* topological split of `e` with at least `m` entries per group.
/// Returns (axis, left, right, relative overlap of the two groups' MBRs).
pub fn topological<C: Coord>(
    e: &Entries<C>,
    d: usize,
    m: usize,
) -> (usize, Vec<usize>, Vec<usize>, f64) {
    let n = e.len();
    let w = 2 * d;
    let m = m.clamp(1, n / 2);
    // Choose the axis: least sum of margins over all distributions of both sorts.
    let mut best_axis = 0;
    let mut best_margin = f64::INFINITY;
    let mut best_sorts = Vec::new();
    for a in 0..d {
        let mut s = 0.0;
        let mut sorts = Vec::with_capacity(2);
        for upper in [false, true] {
            let order = sorted_by(e, d, a, upper);
            let (pre, suf) = prefix_suffix(e, &order, d);
            for k in m..=n - m {
                s += mbr::margin(&pre[(k - 1) * w..k * w]) + mbr::margin(&suf[k * w..(k + 1) * w]);
            }
            sorts.push((order, pre, suf));
        }
        if s < best_margin {
            best_margin = s;
            best_axis = a;
            best_sorts = sorts;
        }
    }
    // Choose the distribution on that axis: least overlap, ties by least area.
    let mut best: Option<(f64, f64, usize, usize)> = None;
    for (which, (_, pre, suf)) in best_sorts.iter().enumerate() {
        for k in m..=n - m {
            let l = &pre[(k - 1) * w..k * w];
            let r = &suf[k * w..(k + 1) * w];
            let ov = mbr::overlap(l, r);
            let ar = mbr::area(l) + mbr::area(r);
            if best
                .as_ref()
                .is_none_or(|(bo, ba, _, _)| ov < *bo || (ov == *bo && ar < *ba))
            {
                best = Some((ov, ar, which, k));
            }
        }
    }
    let (_, _, which, k) = best.expect("n >= 2 gives at least one distribution");
    let order = &best_sorts[which].0;
    let left = order[..k].to_vec();
    let right = order[k..].to_vec();
    let ratio = mbr::overlap_ratio(&e.bounds_of(&left, d), &e.bounds_of(&right, d));
    (best_axis, left, right, ratio)
}

/// The X-tree overlap-minimal split along an axis of the common split history, if one exists.
/// Returns (axis, left, right) of the least-overlap, then most balanced, distribution.
pub fn overlap_minimal<C: Coord>(
    e: &Entries<C>,
    d: usize,
    axis_mask: u64,
) -> Option<(usize, Vec<usize>, Vec<usize>)> {
    let common = e.hists.iter().fold(axis_mask, |acc, h| acc & h);
    if common == 0 {
        return None;
    }
    let n = e.len();
    let w = 2 * d;
    let mut best: Option<(f64, usize, usize, Vec<usize>, usize)> = None;
    for a in (0..d.min(64)).filter(|&a| common & axis_bit(a) != 0) {
        let order = sorted_by(e, d, a, false);
        let (pre, suf) = prefix_suffix(e, &order, d);
        for k in 1..n {
            let ov = mbr::overlap_ratio(&pre[(k - 1) * w..k * w], &suf[k * w..(k + 1) * w]);
            let balance = k.min(n - k);
            if best
                .as_ref()
                .is_none_or(|(bo, bb, _, _, _)| ov < *bo || (ov == *bo && balance > *bb))
            {
                best = Some((ov, balance, a, order.clone(), k));
            }
        }
    }
    best.map(|(_, _, a, order, k)| (a, order[..k].to_vec(), order[k..].to_vec()))
}

/// Decides how to treat an overflowing node at `level` holding entries `e` (capacity + 1 of
/// them), currently `blocks` normal node sizes large.
pub fn plan<C: Coord>(shape: &Shape<C>, e: &Entries<C>, level: u32, blocks: usize) -> SplitPlan {
    let d = shape.dims;
    let cap = shape.cap(level);
    // R* requires 2 <= m <= M/2 (R*-tree paper §4.2; `topological` clamps to n/2, and capacity is
    // at least MIN_CAPACITY = 4). With m = 1 small nodes (4 entries at
    // 256-byte pages) split 1:4 again and again and the tree grows linearly instead of
    // logarithmically.
    let m = ((cap as f64 * MIN_FILL).floor() as usize).max(2);
    let (axis, left, right, ratio) = topological(e, d, m);
    if level == 0 || ratio <= MAX_OVERLAP || blocks >= MAX_SUPERNODE_BLOCKS {
        return SplitPlan::Split { axis, left, right };
    }
    if let Some((axis, left, right)) = overlap_minimal(e, d, shape.axis_mask()) {
        let min_side = ((e.len() as f64) * MIN_FANOUT).ceil() as usize;
        let dir_min = shape.min_fill(level);
        if left.len().min(right.len()) >= min_side.max(dir_min) {
            return SplitPlan::Split { axis, left, right };
        }
    }
    SplitPlan::Supernode { blocks: blocks + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(boxes: &[[f64; 4]], hist: u64) -> Entries<f64> {
        let mut e = Entries::with_capacity(boxes.len(), 2);
        for (i, b) in boxes.iter().enumerate() {
            e.push(i as u64, hist, b);
        }
        e
    }

    #[test]
    fn topological_split_separates_two_clusters() {
        let mut boxes = Vec::new();
        for i in 0..5 {
            let x = i as f64;
            boxes.push([x, 0.0, x + 0.5, 0.5]);
            boxes.push([x + 100.0, 0.0, x + 100.5, 0.5]);
        }
        let e = entries(&boxes, 0);
        let (axis, left, right, ratio) = topological(&e, 2, 2);
        assert_eq!(axis, 0);
        assert_eq!(ratio, 0.0);
        let mut l: Vec<bool> = left.iter().map(|&i| boxes[i][0] >= 100.0).collect();
        l.dedup();
        assert_eq!(l.len(), 1, "left group is one cluster");
        assert_eq!(left.len() + right.len(), 10);
    }

    #[test]
    fn overlap_minimal_uses_common_history_axis() {
        // Entries that overlap heavily on x but are disjoint on y; history says y (axis 1).
        let boxes = [
            [0.0, 0.0, 10.0, 1.0],
            [0.0, 2.0, 10.0, 3.0],
            [0.0, 4.0, 10.0, 5.0],
            [0.0, 6.0, 10.0, 7.0],
        ];
        let e = entries(&boxes, 0b10);
        let (axis, left, right) = overlap_minimal(&e, 2, 0b11).unwrap();
        assert_eq!(axis, 1);
        assert_eq!(left.len(), 2);
        assert_eq!(right.len(), 2);
        assert!(overlap_minimal(&entries(&boxes, 0), 2, 0b11).is_none());
    }
}
