//! The invariant checker (DESIGN.md §3), used by tests after mutations and by `fsck`.
//!
//! Checks: every node parses and has the expected level (all leaves at level 0, so equal depth);
//! each directory entry's MBR equals the exact bounds of its child; each child's own split
//! history equals the history recorded in its parent's entry, and histories name only existing
//! axes; fan-out: non-root nodes hold at least the condense-tree minimum, leaves have the normal
//! capacity, directory capacities are multiples of the normal one up to the largest supernode;
//! no node is reachable twice; the number of records equals the version's count; stored
//! coordinates are finite with min <= max.

use std::collections::HashSet;

use super::node::NodeRef;
use super::params::{MAX_HEIGHT, MAX_SUPERNODE_BLOCKS};
use super::Shape;
use crate::error::{Error, Result};
use crate::geometry::Coord;
use crate::store::{NodeId, PageRead, NIL};

/// Statistics gathered by a successful check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeStats {
    /// Records.
    pub records: u64,
    /// Leaves.
    pub leaves: u64,
    /// Directory nodes (including supernodes).
    pub directories: u64,
    /// Directory nodes larger than one normal node.
    pub supernodes: u64,
    /// Height in levels (0 for an empty tree, 1 for a single leaf).
    pub height: u32,
}

fn broken(msg: String) -> Error {
    Error::internal(format!("invariant violated: {msg}"))
}

/// Checks the tree of the version read by `r`.
pub fn check<C: Coord, R: PageRead>(r: &R, shape: &Shape<C>) -> Result<TreeStats> {
    let d = shape.dims;
    let v = r.version();
    let mut stats = TreeStats::default();
    if v.root == NIL {
        if v.len != 0 {
            return Err(broken(format!("empty tree claims {} records", v.len)));
        }
        return Ok(stats);
    }
    let root_level = NodeRef::<C>::new(r.page(v.root)?, d)?.level();
    if root_level > MAX_HEIGHT {
        return Err(broken(format!(
            "root level {root_level} exceeds the maximum"
        )));
    }
    stats.height = root_level + 1;
    let mut seen: HashSet<NodeId> = HashSet::new();
    // (node, expected level, expected MBR and own history from the parent entry)
    type Pending<C> = (NodeId, u32, Option<(Vec<C>, u64)>);
    let mut stack: Vec<Pending<C>> = vec![(v.root, root_level, None)];
    while let Some((id, level, expect)) = stack.pop() {
        if !seen.insert(id) {
            return Err(broken(format!("node {id} is reachable twice")));
        }
        let n = NodeRef::<C>::new(r.page(id)?, d)?;
        if n.level() != level {
            return Err(broken(format!(
                "node {id} at level {} where {level} was expected",
                n.level()
            )));
        }
        let is_root = expect.is_none();
        let base = shape.cap(level);
        if n.is_leaf() {
            stats.leaves += 1;
            if n.h.capacity != base {
                return Err(broken(format!("leaf {id} has capacity {}", n.h.capacity)));
            }
        } else {
            stats.directories += 1;
            let cap = n.h.capacity;
            if cap % base != 0 || cap / base > MAX_SUPERNODE_BLOCKS {
                return Err(broken(format!("directory {id} has capacity {cap}")));
            }
            if cap > base {
                stats.supernodes += 1;
            }
        }
        if n.count() == 0 || (!is_root && n.count() < shape.min_fill(level)) {
            return Err(broken(format!(
                "node {id} at level {level} holds {} entries (minimum {})",
                n.count(),
                shape.min_fill(level)
            )));
        }
        if let Some((m, hist)) = &expect {
            let b = n.bounds();
            if &b != m {
                return Err(broken(format!(
                    "parent MBR of node {id} is {m:?}, its exact bounds are {b:?}"
                )));
            }
            if n.own_history()[0] != *hist {
                return Err(broken(format!(
                    "node {id} split history {:#x} differs from its parent entry's {hist:#x}",
                    n.own_history()[0]
                )));
            }
        }
        for (i, &h) in n.hists().iter().enumerate() {
            if h & !shape.axis_mask() != 0 {
                return Err(broken(format!(
                    "entry {i} of node {id} has split history {h:#x} naming a missing axis"
                )));
            }
        }
        if n.is_leaf() {
            stats.records += n.count() as u64;
            for a in 0..d {
                for (lo, hi) in n.min(a).iter().zip(n.max(a)) {
                    if lo.partial_cmp(hi).is_none_or(|o| o.is_gt())
                        || !lo.to_f64().is_finite()
                        || !hi.to_f64().is_finite()
                    {
                        return Err(broken(format!("leaf {id} holds a bad box on axis {a}")));
                    }
                }
            }
        } else {
            let hists = n.hists();
            for (i, &child) in n.ids().iter().enumerate() {
                stack.push((child, level - 1, Some((n.mbr(i), hists[i]))));
            }
        }
    }
    if stats.records != v.len {
        return Err(broken(format!(
            "tree holds {} records, version claims {}",
            stats.records, v.len
        )));
    }
    Ok(stats)
}
