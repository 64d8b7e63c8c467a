//! Window queries: INTERSECTS, CONTAINS, WITHIN (DESIGN.md §2), by depth-first descent.
//!
//! The query box arrives in `f64` and is converted once into stored precision with the rounding
//! that keeps each comparison exact (see `geometry::coord`): a record satisfies the predicate on
//! its stored coordinates exactly when it satisfies it on the converted bounds.

use super::node::NodeRef;
use super::params::MAX_HEIGHT;
use crate::error::{Error, ErrorKind, Result};
use crate::geometry::Coord;
use crate::geometry::SearchType;
use crate::store::{NodeId, PageRead, NIL};

/// A query box converted to stored precision.
#[derive(Debug, Clone)]
pub struct Window<C> {
    /// The predicate.
    pub ty: SearchType,
    /// `down(q.min)`, `up(q.min)`, `down(q.max)`, `up(q.max)` per axis.
    pub down_min: Vec<C>,
    /// See `down_min`.
    pub up_min: Vec<C>,
    /// See `down_min`.
    pub down_max: Vec<C>,
    /// See `down_min`.
    pub up_max: Vec<C>,
}

impl<C: Coord> Window<C> {
    /// Converts a validated query box.
    pub fn new(ty: SearchType, min: &[f64], max: &[f64]) -> Self {
        Window {
            ty,
            down_min: min.iter().map(|&x| C::down(x)).collect(),
            up_min: min.iter().map(|&x| C::up(x)).collect(),
            down_max: max.iter().map(|&x| C::down(x)).collect(),
            up_max: max.iter().map(|&x| C::up(x)).collect(),
        }
    }

    /// Indices of the entries of `n` that pass. For the record test: INTERSECTS `min <= down(qmax) && max >= up(qmin)`; CONTAINS
    /// `min <= down(qmin) && max >= up(qmax)`; WITHIN `min >= up(qmin) && max <= down(qmax)`.
    /// Directory entries use INTERSECTS for INTERSECTS/WITHIN and CONTAINS for CONTAINS.
    #[inline]
    fn scan(&self, n: &NodeRef<'_, C>, leaf: bool, hits: &mut Vec<usize>) {
        let ty = if leaf {
            self.ty
        } else if self.ty == SearchType::Contains {
            SearchType::Contains
        } else {
            SearchType::Intersects
        };
        // Per predicate: entry passes iff on every axis `min OP1 b1 && max OP2 b2`.
        let (b1, b2, min_le) = match ty {
            SearchType::Intersects => (&self.down_max, &self.up_min, true),
            SearchType::Contains => (&self.down_min, &self.up_max, true),
            SearchType::Within => (&self.up_min, &self.down_max, false),
        };
        hits.clear();
        let d = b1.len();
        let count = n.count();
        // 64 entries at a time: one bit per entry, ANDed axis by axis (branch-free, so the
        // comparisons vectorise), then the set bits become hit indices.
        let mut start = 0;
        while start < count {
            let len = (count - start).min(64);
            let mut mask: u64 = if len == 64 {
                u64::MAX
            } else {
                (1u64 << len) - 1
            };
            for a in 0..d {
                let mins = &n.min(a)[start..start + len];
                let maxs = &n.max(a)[start..start + len];
                let (x, y) = (b1[a], b2[a]);
                let mut m = 0u64;
                if min_le {
                    for (i, (lo, hi)) in mins.iter().zip(maxs).enumerate() {
                        m |= u64::from((*lo <= x) & (*hi >= y)) << i;
                    }
                } else {
                    for (i, (lo, hi)) in mins.iter().zip(maxs).enumerate() {
                        m |= u64::from((*lo >= x) & (*hi <= y)) << i;
                    }
                }
                mask &= m;
                if mask == 0 {
                    break;
                }
            }
            while mask != 0 {
                hits.push(start + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
            start += len;
        }
    }
}

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Corruption, msg)
}

/// Depth-first traversal state, resumable (used by both one-shot queries and cursors).
#[derive(Debug, Clone, Default)]
pub struct Traversal {
    /// Pending nodes with their expected level.
    stack: Vec<(NodeId, u32)>,
    /// Leaf hits not yet handed out.
    buffered: Vec<u64>,
    started: bool,
}

impl Traversal {
    /// A traversal that has not started.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once every result has been produced.
    pub fn is_done(&self) -> bool {
        self.started && self.stack.is_empty() && self.buffered.is_empty()
    }

    /// Produces results into `out` until `limit` results were added or the traversal ends.
    pub fn run<C: Coord, R: PageRead>(
        &mut self,
        r: &R,
        dims: usize,
        w: &Window<C>,
        limit: usize,
        out: &mut Vec<u64>,
    ) -> Result<()> {
        if !self.started {
            self.started = true;
            let root = r.version().root;
            if root != NIL {
                self.stack.push((root, u32::MAX));
            }
        }
        let mut added = 0;
        let mut hits = Vec::new();
        loop {
            while added < limit {
                match self.buffered.pop() {
                    Some(id) => {
                        out.push(id);
                        added += 1;
                    }
                    None => break,
                }
            }
            if added >= limit {
                return Ok(());
            }
            let Some((id, expect)) = self.stack.pop() else {
                return Ok(());
            };
            let n = NodeRef::<C>::new(r.page(id)?, dims)?;
            if expect != u32::MAX && n.level() != expect {
                return Err(corrupt(format!(
                    "node {id} has level {} where {expect} was expected",
                    n.level()
                )));
            }
            if n.level() > MAX_HEIGHT {
                return Err(corrupt(format!("node {id} has level {}", n.level())));
            }
            w.scan(&n, n.is_leaf(), &mut hits);
            let ids = n.ids();
            if n.is_leaf() {
                self.buffered.extend(hits.iter().map(|&i| ids[i]));
            } else {
                let child_level = n.level() - 1;
                self.stack
                    .extend(hits.iter().map(|&i| (ids[i], child_level)));
            }
        }
    }
}

/// Calls `f` for every record matching `w` in the version read by `r`.
pub fn for_each<C: Coord, R: PageRead>(
    r: &R,
    dims: usize,
    w: &Window<C>,
    mut f: impl FnMut(u64),
) -> Result<()> {
    let root = r.version().root;
    if root == NIL {
        return Ok(());
    }
    let mut stack: Vec<(NodeId, u32)> = vec![(root, u32::MAX)];
    let mut hits = Vec::new();
    while let Some((id, expect)) = stack.pop() {
        let n = NodeRef::<C>::new(r.page(id)?, dims)?;
        if (expect != u32::MAX && n.level() != expect) || n.level() > MAX_HEIGHT {
            return Err(corrupt(format!(
                "node {id} has level {} where {expect} was expected",
                n.level()
            )));
        }
        w.scan(&n, n.is_leaf(), &mut hits);
        let ids = n.ids();
        if n.is_leaf() {
            for &i in &hits {
                f(ids[i]);
            }
        } else {
            let child_level = n.level() - 1;
            stack.extend(hits.iter().map(|&i| (ids[i], child_level)));
        }
    }
    Ok(())
}
