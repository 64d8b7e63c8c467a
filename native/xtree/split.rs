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
//!
//! Numeric range (DESIGN.md §2): margins are summed in `f64` after scaling every coordinate of
//! the node by one power of two when its extents could overflow the sums (exact, so the order
//! of the sums is kept); volumes, overlaps and overlap ratios are extended-range ([`Ext`]) and
//! measured over the axes on which the node has a positive extent (an axis where every entry
//! has the same value would make every volume 0). The result is invariant under scaling all
//! data by a power of two.

use super::node::Entries;
use super::params::{MAX_OVERLAP, MAX_SUPERNODE_BLOCKS, MIN_FANOUT, MIN_FILL};
use super::{axis_bit, Shape};
use crate::geometry::ext::Ext;
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

/// The power of two every coordinate of a node with bounds `u` is multiplied by before its
/// margins are summed: 1, unless the largest extent is within `2^40` of overflowing (a sum of
/// up to `2^24` margins of 255 extents each must stay finite), then `2^-k` bringing it to
/// `[1, 2)`.
fn margin_scale<C: Coord>(u: &[C]) -> f64 {
    let d = mbr::dims(u);
    let top = (0..d)
        .map(|a| mbr::extent_of(u, a))
        .filter(|x| !x.is_zero())
        .map(Ext::exponent)
        .max()
        .unwrap_or(0);
    if top < 1023 - 40 {
        1.0
    } else {
        crate::geometry::ext::scalbn(1.0, -top)
    }
}

/// Sorted entries with their prefix and suffix bounds (see [`prefix_suffix`]).
type Sort<C> = (Vec<usize>, Vec<C>, Vec<C>);

/// The underflow threshold of plain `f64` volumes of boxes inside `u` (as in choose-subtree's
/// fast path): `2^-1021 · Π max(1, X_a)` when that product of the extents of `u` is below
/// `2^900` and no extent is 0, else None. A product of extents of boxes inside `u` above it
/// never passed through the subnormal range, and none can overflow.
fn fast_threshold<C: Coord>(u: &[C]) -> Option<f64> {
    let d = mbr::dims(u);
    let mut p = 1.0f64;
    for a in 0..d {
        let x = u[d + a].to_f64() - u[a].to_f64();
        if x.is_nan() || x <= 0.0 {
            return None;
        }
        p *= x.max(1.0);
    }
    (p < 2f64.powi(900)).then(|| p * 2f64.powi(-1021))
}

/// Plain `f64` volume of `m`.
#[inline]
fn area_f64<C: Coord>(m: &[C]) -> f64 {
    let d = mbr::dims(m);
    (0..d).fold(1.0, |v, a| v * (m[d + a].to_f64() - m[a].to_f64()))
}

/// The distribution `(sort, k)` of least overlap, ties by least area sum, in plain `f64`; None
/// when a volume fails the threshold `t` (then [`least_overlap_ext`] decides).
fn least_overlap_fast<C: Coord>(
    sorts: &[Sort<C>],
    n: usize,
    m: usize,
    w: usize,
    t: f64,
) -> Option<(usize, usize)> {
    let d = w / 2;
    let mut best: Option<(f64, f64, usize, usize)> = None;
    for (which, (_, pre, suf)) in sorts.iter().enumerate() {
        for k in m..=n - m {
            let l = &pre[(k - 1) * w..k * w];
            let r = &suf[k * w..(k + 1) * w];
            let ov = if mbr::intersects(l, r) {
                let v = (0..d).fold(1.0, |v, a| {
                    v * (l[d + a].min_c(r[d + a]).to_f64() - l[a].max_c(r[a]).to_f64())
                });
                // Touching boxes (a zero factor) or underflow: let the extended path decide.
                if v.is_nan() || v <= t {
                    return None;
                }
                v
            } else {
                0.0
            };
            let (al, ar) = (area_f64(l), area_f64(r));
            if al.is_nan() || ar.is_nan() || al <= t || ar <= t {
                return None;
            }
            let ar = al + ar;
            if best
                .as_ref()
                .is_none_or(|(bo, ba, _, _)| ov < *bo || (ov == *bo && ar < *ba))
            {
                best = Some((ov, ar, which, k));
            }
        }
    }
    best.map(|(_, _, which, k)| (which, k))
}

/// [`least_overlap_fast`] in extended range over the `active` axes; always decides.
fn least_overlap_ext<C: Coord>(
    sorts: &[Sort<C>],
    n: usize,
    m: usize,
    w: usize,
    active: &[usize],
) -> (usize, usize) {
    let mut best: Option<(Ext, Ext, usize, usize)> = None;
    for (which, (_, pre, suf)) in sorts.iter().enumerate() {
        for k in m..=n - m {
            let l = &pre[(k - 1) * w..k * w];
            let r = &suf[k * w..(k + 1) * w];
            let ov = mbr::overlap_on(l, r, active);
            let ar = mbr::area_on(l, active).plus(mbr::area_on(r, active));
            if best
                .as_ref()
                .is_none_or(|(bo, ba, _, _)| ov < *bo || (ov == *bo && ar < *ba))
            {
                best = Some((ov, ar, which, k));
            }
        }
    }
    // `m <= n / 2` makes `m..=n - m` non-empty, and there are two sorts.
    let (_, _, which, k) = best.expect("n >= 2 gives at least one distribution");
    (which, k)
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
    // The node's MBR (the last prefix bound of any sort) and the margin scale it implies, known
    // after the first sort.
    let mut u: Vec<C> = Vec::new();
    let mut scale = 1.0;
    // Choose the axis: least sum of margins over all distributions of both sorts.
    let mut best_axis = 0;
    let mut best_margin = f64::INFINITY;
    let mut best_sorts: Vec<Sort<C>> = Vec::new();
    for a in 0..d {
        let mut s = 0.0;
        let mut sorts = Vec::with_capacity(2);
        for upper in [false, true] {
            let order = sorted_by(e, d, a, upper);
            let (pre, suf) = prefix_suffix(e, &order, d);
            if u.is_empty() {
                u = pre[(n - 1) * w..n * w].to_vec();
                scale = margin_scale(&u);
            }
            for k in m..=n - m {
                s += mbr::margin_scaled(&pre[(k - 1) * w..k * w], scale)
                    + mbr::margin_scaled(&suf[k * w..(k + 1) * w], scale);
            }
            sorts.push((order, pre, suf));
        }
        if a == 0 || s < best_margin {
            best_margin = s;
            best_axis = a;
            best_sorts = sorts;
        }
    }
    // Choose the distribution on that axis: least overlap, ties by least area.
    let active = mbr::active_axes(&u);
    let best = fast_threshold(&u)
        .and_then(|t| least_overlap_fast(&best_sorts, n, m, w, t))
        .unwrap_or_else(|| least_overlap_ext(&best_sorts, n, m, w, &active));
    let (which, k) = best;
    let order = &best_sorts[which].0;
    let left = order[..k].to_vec();
    let right = order[k..].to_vec();
    let ratio = mbr::overlap_ratio(&e.bounds_of(&left, d), &e.bounds_of(&right, d)).to_f64();
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
    let mut best: Option<(Ext, usize, usize, Vec<usize>, usize)> = None;
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
    fn topological_split_of_boxes_beyond_f64_max_margins() {
        // Every margin sum of these overflows f64; the split must still choose an axis, and
        // the distribution that separates the points from the huge boxes.
        let m = f64::MAX;
        let mut boxes = Vec::new();
        for i in 0..6 {
            boxes.push([0.0, 0.0, m, m]);
            boxes.push([i as f64, i as f64, i as f64, i as f64]);
        }
        let e = entries(&boxes, 0);
        let (_, left, right, ratio) = topological(&e, 2, 2);
        assert_eq!(left.len() + right.len(), 12);
        assert!((0.0..=1.0).contains(&ratio));
        // Subspace: every entry has y = 5; volumes are measured on x alone.
        let flat: Vec<[f64; 4]> = (0..10)
            .map(|i| {
                let x = (i % 5) as f64 * 10.0 + (i / 5) as f64 * 100.0;
                [x, 5.0, x + 1.0, 5.0]
            })
            .collect();
        let (axis, left, _, ratio) = topological(&entries(&flat, 0), 2, 2);
        assert_eq!((axis, ratio), (0, 0.0));
        let mut l: Vec<bool> = left.iter().map(|&i| flat[i][0] >= 100.0).collect();
        l.dedup();
        assert_eq!(l.len(), 1, "left group is one cluster");
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
