//! Insertion (X-tree paper §3.2, Fig. 6 over R* choose-subtree): descend by choose-subtree,
//! copying each node on the path (copy-on-write) and enlarging its entry; add the entry; on
//! overflow split (or grow a supernode) and propagate the new sibling upward, growing a new root
//! when the root splits.

use super::choose_subtree::choose_subtree;
use super::node::{
    init_page, init_point_page, is_point, point_page_words, Entries, NodeMut, NodeRef,
};
use super::params::MAX_HEIGHT;
use super::split::{plan, SplitPlan};
use super::{axis_bit, Shape};
use crate::error::{Error, ErrorKind, Result};
use crate::geometry::{mbr, Coord};
use crate::store::{NodeId, PageWrite, NIL};

/// The writer's view of the tree inside one transaction: the current root and record count.
pub struct Writer<'a, C: Coord, T: PageWrite> {
    /// Node shape.
    pub shape: Shape<C>,
    /// The store transaction.
    pub txn: &'a mut T,
    /// Current root (NIL when empty).
    pub root: NodeId,
    /// Current record count.
    pub len: u64,
}

pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Corruption, msg)
}

impl<'a, C: Coord, T: PageWrite> Writer<'a, C, T> {
    /// A writer over `txn`, starting from its base version.
    pub fn new(shape: Shape<C>, txn: &'a mut T) -> Self {
        let base = txn.base();
        Writer {
            shape,
            txn,
            root: base.root,
            len: base.len,
        }
    }

    pub(crate) fn node(&self, id: NodeId) -> Result<NodeRef<'_, C>> {
        NodeRef::new(self.txn.page(id)?, self.shape.dims)
    }

    pub(crate) fn node_mut(&mut self, id: NodeId) -> Result<NodeMut<'_, C>> {
        let d = self.shape.dims;
        NodeMut::new(self.txn.page_mut(id)?, d)
    }

    /// The smallest multiple of the normal capacity at `level` that holds `n` entries.
    pub(crate) fn fit_cap(&self, level: u32, n: usize) -> usize {
        let base = self.shape.cap(level);
        n.div_ceil(base).max(1) * base
    }

    /// A fresh page at `level` with `cap` slots holding the entries `idx` of `e`, with own split
    /// history `hist`.
    pub(crate) fn build_page(
        &self,
        level: u32,
        cap: usize,
        e: &Entries<C>,
        idx: &[usize],
        hist: u64,
    ) -> Vec<u64> {
        let d = self.shape.dims;
        // A leaf whose records are all points stores one coordinate per axis (node module doc).
        let points = level == 0 && idx.iter().all(|&i| is_point(e.mbr(i, d)));
        let mut words = if points {
            let mut words = vec![0u64; point_page_words(d, C::BYTES, cap)];
            init_point_page::<C>(&mut words, d, cap);
            words
        } else {
            let mut words = vec![0u64; self.shape.words(level, cap)];
            init_page::<C>(&mut words, d, cap, level);
            words
        };
        let mut w = NodeMut::<C>::new(&mut words, d).expect("a freshly built page is valid");
        w.set_own_history([hist, 0, 0, 0]);
        for &i in idx {
            w.push(e.ids[i], e.hists[i], e.mbr(i, d));
        }
        words
    }

    /// Level of the root, or None for an empty tree.
    pub fn root_level(&self) -> Result<Option<u32>> {
        if self.root == NIL {
            return Ok(None);
        }
        Ok(Some(self.node(self.root)?.level()))
    }

    /// Inserts a record (stored coordinates `m`, flat MBR).
    pub fn insert_record(&mut self, row: u64, m: &[C]) -> Result<()> {
        self.insert_at(0, row, 0, m)?;
        self.len += 1;
        Ok(())
    }

    /// Adds an entry (`id`, split history `hist`, MBR `m`) to a node at `level`
    /// (0: a record into a leaf; L > 0: a subtree of level L-1 into a directory node).
    /// The root must be at `level` or above.
    pub fn insert_at(&mut self, level: u32, id: u64, hist: u64, m: &[C]) -> Result<()> {
        if self.root == NIL {
            if level != 0 {
                return Err(Error::internal("subtree insert into an empty tree"));
            }
            let mut e = Entries::with_capacity(1, self.shape.dims);
            e.push(id, hist, m);
            let page = self.build_page(0, self.shape.leaf_cap, &e, &[0], 0);
            self.root = self.txn.alloc(page);
            return Ok(());
        }
        self.root = self.txn.make_dirty(self.root)?;
        let mut path: Vec<(NodeId, usize)> = Vec::new();
        let mut node = self.root;
        // The MBR of `node`'s entries ∪ `m` for choose-subtree's range test: unknown at the root,
        // then the grown entry of each child descended into.
        let mut u: Option<Vec<C>> = None;
        loop {
            let (i, child, grown) = {
                let r = self.node(node)?;
                if r.level() == level {
                    break;
                }
                if r.level() < level || r.count() == 0 {
                    return Err(Error::internal(format!(
                        "insert at level {level} reached node {node} at level {} with {} entries",
                        r.level(),
                        r.count()
                    )));
                }
                let i = choose_subtree(&r, m, u.as_deref());
                let mut g = r.mbr(i);
                mbr::union_into(&mut g, m);
                (i, r.ids()[i], g)
            };
            let copy = self.txn.make_dirty(child)?;
            let mut w = self.node_mut(node)?;
            w.set_mbr(i, &grown);
            if copy != child {
                w.set_id(i, copy);
            }
            u = Some(grown);
            path.push((node, i));
            if path.len() as u32 > MAX_HEIGHT {
                return Err(corrupt("tree deeper than the maximum height"));
            }
            node = copy;
        }
        self.add_entry(node, path, id, hist, m)
    }

    /// Adds an entry to dirty node `node` reached by `path`, treating overflow upward.
    fn add_entry(
        &mut self,
        mut node: NodeId,
        mut path: Vec<(NodeId, usize)>,
        id: u64,
        hist: u64,
        m: &[C],
    ) -> Result<()> {
        let d = self.shape.dims;
        let mut pending: (u64, u64, Vec<C>) = (id, hist, m.to_vec());
        loop {
            let (e, level, blocks, own) = {
                let r = self.node(node)?;
                if r.count() < r.h.capacity {
                    let (pid, ph, pm) = &pending;
                    if r.h.points && !is_point(pm) {
                        // A box into a point leaf: the leaf becomes a box leaf, same capacity.
                        let mut e = Entries::from_node(&r);
                        e.push(*pid, *ph, pm);
                        let all: Vec<usize> = (0..e.len()).collect();
                        let page = self.build_page(0, r.h.capacity, &e, &all, r.own_history()[0]);
                        self.txn.replace(node, page)?;
                        return Ok(());
                    }
                    self.node_mut(node)?.push(*pid, *ph, pm);
                    return Ok(());
                }
                let mut e = Entries::from_node(&r);
                e.push(pending.0, pending.1, &pending.2);
                let level = r.level();
                let blocks = r.h.capacity / self.shape.cap(level);
                (e, level, blocks, r.own_history()[0])
            };
            match plan(&self.shape, &e, level, blocks) {
                SplitPlan::Supernode { blocks } => {
                    let all: Vec<usize> = (0..e.len()).collect();
                    let cap = blocks * self.shape.cap(level);
                    let page = self.build_page(level, cap, &e, &all, own);
                    self.txn.replace(node, page)?;
                    return Ok(());
                }
                SplitPlan::Split { axis, left, right } => {
                    let h = own | axis_bit(axis);
                    let lp = self.build_page(level, self.fit_cap(level, left.len()), &e, &left, h);
                    self.txn.replace(node, lp)?;
                    let rp =
                        self.build_page(level, self.fit_cap(level, right.len()), &e, &right, h);
                    let sibling = self.txn.alloc(rp);
                    let lb = e.bounds_of(&left, d);
                    let rb = e.bounds_of(&right, d);
                    match path.pop() {
                        Some((parent, i)) => {
                            let mut w = self.node_mut(parent)?;
                            w.set_mbr(i, &lb);
                            w.set_hist(i, h);
                            pending = (sibling, h, rb);
                            node = parent;
                        }
                        None => {
                            let mut two = Entries::with_capacity(2, d);
                            two.push(node, h, &lb);
                            two.push(sibling, h, &rb);
                            let cap = self.shape.dir_cap;
                            let page = self.build_page(level + 1, cap, &two, &[0, 1], 0);
                            self.root = self.txn.alloc(page);
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}
