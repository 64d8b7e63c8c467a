//! Deletion with condense-tree (Guttman, "R-trees", SIGMOD 1984, §3.3; R*-tree paper §4):
//! find the leaf holding the record, copy the path, remove the record, dissolve underfull nodes
//! on the way up (collecting their entries), tighten the remaining MBRs, reinsert the collected
//! entries at their level, and shorten the tree while the root has a single child.

use super::insert::{corrupt, Writer};
use super::node::Entries;
use super::params::MAX_HEIGHT;
use crate::error::Result;
use crate::geometry::{mbr, Coord};
use crate::store::{NodeId, PageWrite, NIL};

impl<C: Coord, T: PageWrite> Writer<'_, C, T> {
    /// The path `(node, entry index)` from the root to the leaf entry of record (`row`, `m`),
    /// if it exists.
    fn find_record(&self, row: u64, m: &[C]) -> Result<Option<Vec<(NodeId, usize)>>> {
        if self.root == NIL {
            return Ok(None);
        }
        let mut path: Vec<(NodeId, usize)> = vec![(self.root, 0)];
        let mut buf = vec![C::zeroed(); m.len()];
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let r = self.node(node)?;
            if r.is_leaf() {
                for (i, &id) in r.ids().iter().enumerate() {
                    if id == row {
                        r.mbr_into(i, &mut buf);
                        if buf == m {
                            path.last_mut().expect("non-empty").1 = i;
                            return Ok(Some(path));
                        }
                    }
                }
                path.pop();
                continue;
            }
            let mut descend = None;
            while *next < r.count() {
                let i = *next;
                *next += 1;
                r.mbr_into(i, &mut buf);
                if mbr::contains(&buf, m) {
                    descend = Some((i, r.ids()[i]));
                    break;
                }
            }
            match descend {
                Some((_, child)) => {
                    // The parent's slot already holds i + 1 (where to resume on backtrack).
                    path.push((child, 0));
                    if path.len() as u32 > MAX_HEIGHT {
                        return Err(corrupt("tree deeper than the maximum height"));
                    }
                }
                None => {
                    path.pop();
                }
            }
        }
        Ok(None)
    }

    /// Deletes one record with row id `row` and stored MBR `m`. Returns whether it existed.
    pub fn delete_record(&mut self, row: u64, m: &[C]) -> Result<bool> {
        let Some(mut path) = self.find_record(row, m)? else {
            return Ok(false);
        };
        // Directory entries of the path were stored as "resume index" (i + 1); make them i.
        let last = path.len() - 1;
        for step in path.iter_mut().take(last) {
            step.1 -= 1;
        }
        // Copy the path.
        let root = self.txn.make_dirty(path[0].0)?;
        self.root = root;
        path[0].0 = root;
        for k in 1..path.len() {
            let child = path[k].0;
            let copy = self.txn.make_dirty(child)?;
            if copy != child {
                let (parent, i) = path[k - 1];
                self.node_mut(parent)?.set_id(i, copy);
            }
            path[k].0 = copy;
        }
        let (leaf, i) = path[last];
        self.node_mut(leaf)?.swap_remove(i);
        self.len -= 1;
        // Condense: dissolve underfull nodes below the root, tighten the rest.
        let mut orphans: Vec<(u32, Entries<C>)> = Vec::new();
        for k in (1..path.len()).rev() {
            let node = path[k].0;
            let (parent, pi) = path[k - 1];
            let (underfull, level, entries, bounds) = {
                let r = self.node(node)?;
                let level = r.level();
                if r.count() < self.shape.min_fill(level) {
                    (true, level, Some(Entries::from_node(&r)), None)
                } else {
                    (false, level, None, Some(r.bounds()))
                }
            };
            if underfull {
                self.node_mut(parent)?.swap_remove(pi);
                self.txn.free(node);
                orphans.push((level, entries.expect("collected")));
            } else {
                self.node_mut(parent)?
                    .set_mbr(pi, &bounds.expect("computed"));
            }
        }
        if self.node(self.root)?.count() == 0 {
            self.txn.free(self.root);
            self.root = NIL;
        }
        // Reinsert, higher levels first.
        orphans.sort_by_key(|(level, _)| std::cmp::Reverse(*level));
        let d = self.shape.dims;
        for (level, e) in orphans {
            for i in 0..e.len() {
                self.reinsert(level, e.ids[i], e.hists[i], e.mbr(i, d))?;
            }
        }
        self.shorten_root()?;
        Ok(true)
    }

    /// Puts back an entry taken from a dissolved node at `level`: at its level when the tree is
    /// still tall enough, otherwise as the records of its subtree.
    fn reinsert(&mut self, level: u32, id: u64, hist: u64, m: &[C]) -> Result<()> {
        let fits = level == 0 || self.root_level()?.is_some_and(|rl| rl >= level);
        if fits {
            return self.insert_at(level, id, hist, m);
        }
        // `id` is a subtree root at level - 1: reinsert its records and drop its nodes.
        let mut records = Entries::with_capacity(0, self.shape.dims);
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            {
                let r = self.node(n)?;
                if r.is_leaf() {
                    let e = Entries::from_node(&r);
                    for i in 0..e.len() {
                        records.push(e.ids[i], 0, e.mbr(i, self.shape.dims));
                    }
                } else {
                    stack.extend_from_slice(r.ids());
                }
            }
            self.txn.free(n);
        }
        for i in 0..records.len() {
            self.insert_at(0, records.ids[i], 0, records.mbr(i, self.shape.dims))?;
        }
        Ok(())
    }

    /// While the root is a directory node with one child, make the child the root.
    fn shorten_root(&mut self) -> Result<()> {
        while self.root != NIL {
            let child = {
                let r = self.node(self.root)?;
                if r.is_leaf() || r.count() != 1 {
                    return Ok(());
                }
                r.ids()[0]
            };
            self.txn.free(self.root);
            self.root = child;
        }
        Ok(())
    }
}
