//! k-nearest-neighbour search, best-first (Hjaltason & Samet, "Distance Browsing in Spatial
//! Databases", ACM TODS 1999) with branch-and-bound pruning (Roussopoulos, Kelley, Vincent,
//! "Nearest Neighbor Queries", SIGMOD 1995): nodes are visited in order of MINDIST from a
//! priority queue; records go into a bounded set of the `k` best found so far, and a node is
//! skipped once its MINDIST exceeds the k-th best distance.
//!
//! Distance is Euclidean from the query point to the stored record box (0 inside); ties are
//! broken by unsigned row id. The order is exact for every finite coordinate and query point
//! (DESIGN.md §2): distances are ranked by the keys of [`crate::geometry::dist`] — the plain
//! `f64` squared distance when its magnitude is tame, an extended-range value otherwise — and
//! two records whose keys are within the proven rounding margin are compared exactly, from
//! their stored coordinates (the leaf pages stay borrowed from the reader for the query).
//! Pruning is conservative: a node is skipped only when its MINDIST key proves it farther than
//! the k-th best record (equal distances are still visited, for their row ids).
//!
//! The reported distance is `sqrt` of the plain `f64` squared distance in the tame case (bit for
//! bit the textbook formula), the rounded extended-range value otherwise, `f64::MAX` for a
//! distance above `f64::MAX` (possible only for coordinates beyond `±f64::MAX / 2`), and made
//! non-decreasing along the answer (near ties, where the rounded values may disagree with the
//! exact order by an ulp, repeat the previous value).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::node::NodeRef;
use super::params::MAX_HEIGHT;
use super::query::corrupt;
use crate::error::Result;
use crate::geometry::dist::{self, DistKey};
use crate::geometry::Coord;
use crate::store::{PageRead, NIL};

/// A queued node, ordered so that `BinaryHeap` (a max-heap) pops the least MINDIST key first.
#[derive(Debug, Clone, Copy)]
struct Pending {
    key: DistKey,
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
        o.key.cmp(&self.key).then(o.id.cmp(&self.id))
    }
}

/// A found record: its distance key, row id, and where its stored box is (a leaf of
/// [`Best::leaves`] and the slot in it) for exact comparisons.
#[derive(Debug, Clone, Copy)]
struct Found {
    key: DistKey,
    row: u64,
    leaf: u32,
    slot: u32,
}

/// The `k` best records so far: a max-heap under the exact order (distance, row id), with the
/// leaves the records live in.
struct Best<'r, C: Coord> {
    k: usize,
    p: &'r [f64],
    /// [`dist::margin`] for this dimension.
    margin: DistKey,
    heap: Vec<Found>,
    leaves: Vec<NodeRef<'r, C>>,
}

impl<'r, C: Coord> Best<'r, C> {
    fn new(k: usize, p: &'r [f64]) -> Self {
        Best {
            k,
            p,
            margin: dist::margin(p.len()),
            heap: Vec::with_capacity(k.min(1 << 16)),
            leaves: Vec::new(),
        }
    }

    /// Exact order of records `a` and `b`: distance, then row id.
    #[inline(always)]
    fn cmp(&self, a: &Found, b: &Found) -> Ordering {
        if a.key + self.margin < b.key {
            Ordering::Less
        } else if b.key + self.margin < a.key {
            Ordering::Greater
        } else {
            self.cmp_near(a, b)
        }
    }

    /// [`Best::cmp`] for keys within the margin: exactly, from the stored boxes.
    #[inline(never)]
    fn cmp_near(&self, a: &Found, b: &Found) -> Ordering {
        let (la, lb) = (&self.leaves[a.leaf as usize], &self.leaves[b.leaf as usize]);
        let (sa, sb) = (a.slot as usize, b.slot as usize);
        dist::cmp_exact(
            self.p,
            |x| (la.min(x)[sa].to_f64(), la.max(x)[sa].to_f64()),
            |x| (lb.min(x)[sb].to_f64(), lb.max(x)[sb].to_f64()),
        )
        .then(a.row.cmp(&b.row))
    }

    /// The largest MINDIST key a node may have and still hold a record that beats the k-th
    /// best: the k-th best key plus the margin (everything while fewer than `k` are known).
    #[inline]
    fn limit(&self) -> DistKey {
        if self.heap.len() < self.k {
            DistKey::MAX
        } else {
            self.heap[0].key + self.margin
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.cmp(&self.heap[i], &self.heap[parent]).is_gt() {
                self.heap.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    /// Restores the heap after the top was replaced: the hole goes down to a leaf along the
    /// larger children, then the new item rises from there (one comparison per level on the
    /// way down, as `std::collections::BinaryHeap::pop` does).
    fn sift_down(&mut self, i: usize) {
        let n = self.heap.len();
        let item = self.heap[i];
        let mut hole = i;
        let mut child = 2 * hole + 1;
        while child + 1 < n {
            if self.cmp(&self.heap[child + 1], &self.heap[child]).is_gt() {
                child += 1;
            }
            self.heap[hole] = self.heap[child];
            hole = child;
            child = 2 * hole + 1;
        }
        if child < n {
            self.heap[hole] = self.heap[child];
            hole = child;
        }
        self.heap[hole] = item;
        self.sift_up(hole);
    }

    /// Offers every record of leaf `n`, whose distance keys are `keys`, to the set.
    fn offer_leaf(&mut self, n: NodeRef<'r, C>, keys: &[DistKey]) {
        let leaf = u32::try_from(self.leaves.len()).expect("fewer than 2^32 leaves per query");
        self.leaves.push(n);
        // Records whose key exceeds this lose on the key alone (most of them).
        let mut reject = self.limit();
        for (slot, (&row, &key)) in n.ids().iter().zip(keys).enumerate() {
            if key > reject {
                continue;
            }
            let f = Found {
                key,
                row,
                leaf,
                // Below the capacity, a u32 of the page header.
                slot: slot as u32,
            };
            if self.heap.len() < self.k {
                self.heap.push(f);
                let last = self.heap.len() - 1;
                self.sift_up(last);
            } else if self.cmp(&f, &self.heap[0]).is_lt() {
                self.heap[0] = f;
                self.sift_down(0);
            } else {
                continue;
            }
            reject = self.limit();
        }
    }

    /// The records nearest first, as (row id, distance).
    fn into_sorted(mut self) -> Vec<(u64, f64)> {
        let mut out = Vec::with_capacity(self.heap.len());
        while let Some(&top) = self.heap.first() {
            let last = self.heap.pop().expect("non-empty");
            if !self.heap.is_empty() {
                self.heap[0] = last;
                self.sift_down(0);
            }
            out.push((top.row, dist::distance(top.key)));
        }
        out.reverse();
        let mut floor = 0.0f64;
        for item in &mut out {
            floor = floor.max(item.1);
            item.1 = floor;
        }
        out
    }
}

/// Distance keys from `p` to every live entry of `n` ([`dist::keys_into`]; `acc` is scratch).
#[inline]
fn node_keys<C: Coord>(n: &NodeRef<'_, C>, p: &[f64], acc: &mut Vec<f64>, out: &mut Vec<DistKey>) {
    dist::keys_into(
        p,
        n.count(),
        |a| n.min(a),
        |a| n.max(a),
        C::to_f64,
        acc,
        out,
    );
}

/// The index of the least key at most `limit` (the first of equal ones), if any.
#[inline]
fn least(keys: &[DistKey], limit: DistKey) -> Option<usize> {
    let mut pick: Option<usize> = None;
    for (i, &key) in keys.iter().enumerate() {
        if key <= limit && pick.is_none_or(|j| key < keys[j]) {
            pick = Some(i);
        }
    }
    pick
}

/// The `k` records nearest to `p` (length = dims, finite), nearest first, as (row id,
/// distance); see the module doc for the order and the distances.
///
/// The search descends greedily: at a directory node it goes on at once to the child of least
/// MINDIST (the first leaf reached gives a distance bound early, as the depth-first dive of
/// Roussopoulos et al. does) and queues the other children that may still matter; after a
/// leaf it takes the queued node of least MINDIST. Every node is read once.
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
    let mut queue = BinaryHeap::<Pending>::new();
    let mut best = Best::<C>::new(k, p);
    let (mut acc, mut keys) = (Vec::new(), Vec::new());
    // The first descent: straight down along the least MINDIST to a leaf, whose records give
    // the first distance bound; only then are the siblings along the path queued, those that
    // the bound does not already rule out (queueing them on the way down would queue them all).
    let mut path: Vec<(NodeRef<'_, C>, usize)> = Vec::new();
    let mut id = root;
    let mut level = u32::MAX;
    for _ in 0..=MAX_HEIGHT + 1 {
        let n = NodeRef::<C>::new(r.page(id)?, dims)?;
        if (level != u32::MAX && n.level() != level) || n.level() > MAX_HEIGHT {
            return Err(corrupt(format!("node {id} has an unexpected level")));
        }
        node_keys(&n, p, &mut acc, &mut keys);
        if n.is_leaf() {
            best.offer_leaf(n, &keys);
            break;
        }
        let Some(pick) = least(&keys, DistKey::MAX) else {
            // An empty directory node (only a corrupted tree has one below the root).
            break;
        };
        path.push((n, pick));
        id = n.ids()[pick];
        level = n.level() - 1;
    }
    for (n, pick) in path.iter().rev() {
        node_keys(n, p, &mut acc, &mut keys);
        let limit = best.limit();
        for (i, (&id, &key)) in n.ids().iter().zip(&keys).enumerate() {
            if key <= limit && i != *pick {
                queue.push(Pending {
                    key,
                    id,
                    level: n.level() - 1,
                });
            }
        }
    }
    let mut next: Option<Pending> = None;
    loop {
        let it = match next.take() {
            Some(it) if it.key <= best.limit() => it,
            _ => match queue.pop() {
                // Keys pop in increasing order: once one is proven too far, all the rest are.
                Some(it) if it.key <= best.limit() => it,
                _ => break,
            },
        };
        let n = NodeRef::<C>::new(r.page(it.id)?, dims)?;
        if (it.level != u32::MAX && n.level() != it.level) || n.level() > MAX_HEIGHT {
            return Err(corrupt(format!("node {} has an unexpected level", it.id)));
        }
        node_keys(&n, p, &mut acc, &mut keys);
        if n.is_leaf() {
            best.offer_leaf(n, &keys);
            continue;
        }
        let child_level = n.level() - 1;
        let limit = best.limit();
        let ids = n.ids();
        let pick = least(&keys, limit);
        for (i, (&id, &key)) in ids.iter().zip(&keys).enumerate() {
            if key <= limit && Some(i) != pick {
                queue.push(Pending {
                    key,
                    id,
                    level: child_level,
                });
            }
        }
        next = pick.map(|i| Pending {
            key: keys[i],
            id: ids[i],
            level: child_level,
        });
    }
    Ok(best.into_sorted())
}
