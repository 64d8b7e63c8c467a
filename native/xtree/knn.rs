//! k-nearest-neighbour search, best-first (Hjaltason & Samet, "Distance Browsing in Spatial
//! Databases", ACM TODS 1999) with branch-and-bound pruning (Roussopoulos, Kelley, Vincent,
//! "Nearest Neighbor Queries", SIGMOD 1995): nodes are visited in order of MINDIST from a
//! priority queue; records go into a bounded set of the `k` best `(distance, row id)` found so
//! far, and a node is skipped once its MINDIST exceeds the k-th best distance.
//!
//! Distance is Euclidean from the query point to the stored record box (0 inside). Ties are
//! broken by row id: a node whose MINDIST *equals* the k-th distance is still visited, since it
//! may hold a record at that distance with a smaller row id.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::node::NodeRef;
use super::params::MAX_HEIGHT;
use super::query::corrupt;
use crate::error::Result;
use crate::geometry::Coord;
use crate::store::{PageRead, NIL};

/// A queued node, ordered so that `BinaryHeap` (a max-heap) pops the least MINDIST first.
#[derive(Debug, Clone, Copy)]
struct Pending {
    dist2: f64,
    id: u64,
    level: u32,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> Ordering {
        o.dist2.total_cmp(&self.dist2).then(o.id.cmp(&self.id))
    }
}

/// A found record; the max-heap keeps the worst of the `k` best on top.
#[derive(Debug, Clone, Copy)]
struct Found {
    dist2: f64,
    row: u64,
}

impl PartialEq for Found {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Found {}
impl PartialOrd for Found {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Found {
    fn cmp(&self, o: &Self) -> Ordering {
        self.dist2.total_cmp(&o.dist2).then(self.row.cmp(&o.row))
    }
}

/// Squared MINDIST from `p` to entry `i` of `n`, read from the axis arrays.
#[inline]
fn entry_dist2<C: Coord>(n: &NodeRef<'_, C>, i: usize, p: &[f64]) -> f64 {
    let mut s = 0.0;
    for (a, &x) in p.iter().enumerate() {
        let lo = n.min(a)[i].to_f64();
        let hi = n.max(a)[i].to_f64();
        let t = if x < lo {
            lo - x
        } else if x > hi {
            x - hi
        } else {
            0.0
        };
        s += t * t;
    }
    s
}

/// Offers every record of leaf `n` to the bounded set of the `k` best.
fn offer_leaf<C: Coord>(n: &NodeRef<'_, C>, p: &[f64], k: usize, best: &mut BinaryHeap<Found>) {
    for (i, &row) in n.ids().iter().enumerate() {
        let f = Found {
            dist2: entry_dist2(n, i, p),
            row,
        };
        if best.len() < k {
            best.push(f);
        } else if f < *best.peek().expect("k > 0 records held") {
            best.pop();
            best.push(f);
        }
    }
}

/// The `k` records nearest to `p` (length = dims), nearest first, as (row id, distance).
pub fn nearest<C: Coord, R: PageRead>(
    r: &R,
    dims: usize,
    p: &[f64],
    k: usize,
) -> Result<Vec<(u64, f64)>> {
    let root = r.version().root;
    if root == NIL || k == 0 {
        return Ok(Vec::new());
    }
    let mut queue = BinaryHeap::new();
    let mut best: BinaryHeap<Found> = BinaryHeap::with_capacity(k.min(1 << 16) + 1);
    // Dive greedily to the leaf of least MINDIST first: its records give a distance bound, so
    // the best-first phase queues only nodes that can still matter.
    let mut dived = NIL;
    {
        let mut id = root;
        for _ in 0..=MAX_HEIGHT {
            let n = NodeRef::<C>::new(r.page(id)?, dims)?;
            if n.is_leaf() {
                offer_leaf(&n, p, k, &mut best);
                dived = id;
                break;
            }
            let mut pick = (f64::INFINITY, NIL);
            for (i, &child) in n.ids().iter().enumerate() {
                let d2 = entry_dist2(&n, i, p);
                if d2 < pick.0 {
                    pick = (d2, child);
                }
            }
            if pick.1 == NIL {
                break;
            }
            id = pick.1;
        }
    }
    queue.push(Pending {
        dist2: 0.0,
        id: root,
        level: u32::MAX,
    });
    // The k-th best distance so far (infinite until k records are found).
    let bound = |best: &BinaryHeap<Found>| {
        if best.len() < k {
            f64::INFINITY
        } else {
            best.peek().map_or(f64::INFINITY, |f| f.dist2)
        }
    };
    while let Some(it) = queue.pop() {
        if it.dist2 > bound(&best) {
            break;
        }
        let n = NodeRef::<C>::new(r.page(it.id)?, dims)?;
        if (it.level != u32::MAX && n.level() != it.level) || n.level() > MAX_HEIGHT {
            return Err(corrupt(format!("node {} has an unexpected level", it.id)));
        }
        let ids = n.ids();
        if n.is_leaf() {
            if it.id != dived {
                offer_leaf(&n, p, k, &mut best);
            }
        } else {
            let child_level = n.level() - 1;
            let limit = bound(&best);
            for (i, &id) in ids.iter().enumerate() {
                let dist2 = entry_dist2(&n, i, p);
                if dist2 <= limit {
                    queue.push(Pending {
                        dist2,
                        id,
                        level: child_level,
                    });
                }
            }
        }
    }
    let mut out: Vec<(u64, f64)> = best
        .into_sorted_vec()
        .into_iter()
        .map(|f| (f.row, f.dist2.sqrt()))
        .collect();
    out.truncate(k);
    Ok(out)
}
