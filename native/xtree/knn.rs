//! k-nearest-neighbour search, best-first (Hjaltason & Samet, "Distance Browsing in Spatial
//! Databases", ACM TODS 1999): one priority queue of nodes (by MINDIST) and records (by
//! distance), popped in order.
//!
//! Distance is Euclidean from the query point to the stored record box (0 inside). Ties are
//! broken by row id: on equal keys nodes pop before records, so when a record pops every record
//! at the same distance is already queued, and records order by row id among themselves.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::node::NodeRef;
use super::params::MAX_HEIGHT;
use super::query::corrupt;
use crate::error::Result;
use crate::geometry::{mbr, Coord};
use crate::store::{PageRead, NIL};

#[derive(Debug, Clone, Copy)]
struct Item {
    dist2: f64,
    /// 0 = node, 1 = record (nodes first on ties).
    kind: u8,
    id: u64,
    level: u32,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the smallest key first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.dist2
            .total_cmp(&self.dist2)
            .then(o.kind.cmp(&self.kind))
            .then(o.id.cmp(&self.id))
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
    let mut out = Vec::with_capacity(k.min(1 << 16));
    if root == NIL || k == 0 {
        return Ok(out);
    }
    let mut heap = BinaryHeap::new();
    heap.push(Item {
        dist2: 0.0,
        kind: 0,
        id: root,
        level: u32::MAX,
    });
    let mut buf = vec![C::zeroed(); 2 * dims];
    while let Some(it) = heap.pop() {
        if it.kind == 1 {
            out.push((it.id, it.dist2.sqrt()));
            if out.len() == k {
                break;
            }
            continue;
        }
        let n = NodeRef::<C>::new(r.page(it.id)?, dims)?;
        if (it.level != u32::MAX && n.level() != it.level) || n.level() > MAX_HEIGHT {
            return Err(corrupt(format!("node {} has an unexpected level", it.id)));
        }
        let kind = u8::from(n.is_leaf());
        let child_level = n.level().saturating_sub(1);
        for (i, &id) in n.ids().iter().enumerate() {
            n.mbr_into(i, &mut buf);
            heap.push(Item {
                dist2: mbr::min_dist2(p, &buf),
                kind,
                id,
                level: child_level,
            });
        }
    }
    Ok(out)
}
