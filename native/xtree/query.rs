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

    /// Whether an entry within this window holds only matching records: true for INTERSECTS
    /// and WITHIN (a record inside an MBR inside the window intersects it and lies within it),
    /// false for CONTAINS.
    #[inline]
    fn inside_matches(&self) -> bool {
        self.ty != SearchType::Contains
    }

    /// Indices of the entries of `n` that pass, into `hits`. For the record test: INTERSECTS
    /// `min <= down(qmax) && max >= up(qmin)`; CONTAINS `min <= down(qmin) && max >= up(qmax)`;
    /// WITHIN `min >= up(qmin) && max <= down(qmax)`. Directory entries use INTERSECTS for
    /// INTERSECTS/WITHIN and CONTAINS for CONTAINS; when [`Window::inside_matches`], the
    /// directory entries that lie within the window (the WITHIN test, exact in stored
    /// precision) go to `inside` instead, for their whole subtree matches.
    #[inline]
    fn scan(&self, n: &NodeRef<'_, C>, leaf: bool, hits: &mut Vec<usize>, inside: &mut Vec<usize>) {
        let ty = if leaf {
            self.ty
        } else if self.ty == SearchType::Contains {
            SearchType::Contains
        } else {
            SearchType::Intersects
        };
        hits.clear();
        inside.clear();
        let count = n.count();
        let split = !leaf && self.inside_matches();
        // 64 entries at a time: one bit per entry, ANDed axis by axis (branch-free, so the
        // comparisons vectorise), then the set bits become indices.
        let mut start = 0;
        while start < count {
            let len = (count - start).min(64);
            let mut mask = self.block(n, start, len, ty);
            if split && mask != 0 {
                let within = mask & self.block(n, start, len, SearchType::Within);
                mask &= !within;
                push_bits(within, start, inside);
            }
            push_bits(mask, start, hits);
            start += len;
        }
    }

    /// The bit set of entries `start..start + len` (len <= 64) of `n` that pass `ty`'s test.
    #[inline]
    fn block(&self, n: &NodeRef<'_, C>, start: usize, len: usize, ty: SearchType) -> u64 {
        // Per predicate: entry passes iff on every axis `min OP1 b1 && max OP2 b2`.
        let (b1, b2, min_le) = match ty {
            SearchType::Intersects => (&self.down_max, &self.up_min, true),
            SearchType::Contains => (&self.down_min, &self.up_max, true),
            SearchType::Within => (&self.up_min, &self.down_max, false),
        };
        let mut mask: u64 = if len == 64 {
            u64::MAX
        } else {
            (1u64 << len) - 1
        };
        for a in 0..b1.len() {
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
        mask
    }
}

/// Appends `start + i` for every set bit `i` of `mask`, in increasing order.
#[inline]
fn push_bits(mut mask: u64, start: usize, out: &mut Vec<usize>) {
    while mask != 0 {
        out.push(start + mask.trailing_zeros() as usize);
        mask &= mask - 1;
    }
}

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Corruption, msg)
}

/// A pending node of a depth-first traversal: its NodeID, the level it must have
/// (`u32::MAX`: the root, any level), and whether its MBR lies within the window so that its
/// whole subtree matches ([`Window::inside_matches`]).
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: NodeId,
    level: u32,
    inside: bool,
}

/// The matching records of one leaf: all of its entries, or those at the given slots.
pub enum LeafHits<'a> {
    /// Every row id of the leaf matches.
    All(&'a [u64]),
    /// The row ids `ids[i]` for `i` in the slots match.
    Some(&'a [u64], &'a [usize]),
}

impl LeafHits<'_> {
    /// Number of matching records.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            LeafHits::All(ids) => ids.len(),
            LeafHits::Some(_, slots) => slots.len(),
        }
    }

    /// True when no record matches.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with each matching row id.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u64)) {
        match self {
            LeafHits::All(ids) => ids.iter().for_each(|&id| f(id)),
            LeafHits::Some(ids, slots) => slots.iter().for_each(|&i| f(ids[i])),
        }
    }

    /// Appends the matching row ids to `out`.
    #[inline]
    pub fn append_to(&self, out: &mut Vec<u64>) {
        match self {
            LeafHits::All(ids) => out.extend_from_slice(ids),
            LeafHits::Some(ids, slots) => out.extend(slots.iter().map(|&i| ids[i])),
        }
    }
}

/// Reusable buffers of one traversal.
#[derive(Debug, Clone, Default)]
struct Scratch {
    hits: Vec<usize>,
    inside: Vec<usize>,
}

/// Visits node `p`: checks its level, then hands a leaf's matches to `leaf` or pushes a
/// directory's matching children onto `stack`.
#[inline]
fn visit<C: Coord, R: PageRead>(
    r: &R,
    dims: usize,
    w: &Window<C>,
    p: Pending,
    stack: &mut Vec<Pending>,
    s: &mut Scratch,
    leaf: impl FnOnce(LeafHits<'_>),
) -> Result<()> {
    let n = NodeRef::<C>::new(r.page(p.id)?, dims)?;
    if (p.level != u32::MAX && n.level() != p.level) || n.level() > MAX_HEIGHT {
        return Err(corrupt(format!(
            "node {} has level {} where {} was expected",
            p.id,
            n.level(),
            p.level
        )));
    }
    let ids = n.ids();
    let child = |id, inside| Pending {
        id,
        level: n.level().wrapping_sub(1),
        inside,
    };
    match (n.is_leaf(), p.inside) {
        (true, true) => leaf(LeafHits::All(ids)),
        (false, true) => stack.extend(ids.iter().map(|&id| child(id, true))),
        (is_leaf, false) => {
            w.scan(&n, is_leaf, &mut s.hits, &mut s.inside);
            if is_leaf {
                leaf(LeafHits::Some(ids, &s.hits));
            } else {
                stack.extend(s.hits.iter().map(|&i| child(ids[i], false)));
                stack.extend(s.inside.iter().map(|&i| child(ids[i], true)));
            }
        }
    }
    Ok(())
}

/// Depth-first traversal state, resumable (used by both one-shot queries and cursors).
#[derive(Debug, Clone, Default)]
pub struct Traversal {
    /// Pending nodes.
    stack: Vec<Pending>,
    /// Leaf hits not yet handed out.
    buffered: Vec<u64>,
    started: bool,
    scratch: Scratch,
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
                self.stack.push(Pending {
                    id: root,
                    level: u32::MAX,
                    inside: false,
                });
            }
        }
        let mut added = 0;
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
            let Some(p) = self.stack.pop() else {
                return Ok(());
            };
            let buffered = &mut self.buffered;
            visit(r, dims, w, p, &mut self.stack, &mut self.scratch, |h| {
                h.append_to(buffered)
            })?;
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
    for_each_leaf(r, dims, w, |h| h.for_each(&mut f))
}

/// Calls `f` with the matches of every leaf that has some, for `w` in the version read by
/// `r` (a whole leaf at once when its MBR lies within the window).
pub fn for_each_leaf<C: Coord, R: PageRead>(
    r: &R,
    dims: usize,
    w: &Window<C>,
    mut f: impl FnMut(LeafHits<'_>),
) -> Result<()> {
    let root = r.version().root;
    if root == NIL {
        return Ok(());
    }
    let mut stack = vec![Pending {
        id: root,
        level: u32::MAX,
        inside: false,
    }];
    let mut s = Scratch::default();
    while let Some(p) = stack.pop() {
        visit(r, dims, w, p, &mut stack, &mut s, &mut f)?;
    }
    Ok(())
}
