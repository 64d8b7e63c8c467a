//! Read-only snapshots of an [`Index`], and the page export/import that checkpoints use.
//!
//! A snapshot pins one publication of the index: its queries answer on exactly that state
//! whatever the writer does afterwards, and the pages it can reach are not reclaimed until the
//! last clone of it is dropped (DESIGN.md §4).

use std::collections::VecDeque;
use std::sync::Arc;

use super::*;
use crate::store::memory::LoadedPage;
use crate::xtree::node::{NodeMut, NodeRef};
use crate::xtree::params::MAX_HEIGHT;

enum SnapTyped {
    F32(Shape<f32>, Arc<Snapshot>),
    F64(Shape<f64>, Arc<Snapshot>),
}

impl Clone for SnapTyped {
    fn clone(&self) -> Self {
        match self {
            SnapTyped::F32(s, a) => SnapTyped::F32(*s, a.clone()),
            SnapTyped::F64(s, a) => SnapTyped::F64(*s, a.clone()),
        }
    }
}

/// A consistent read-only view of an [`Index`] at one publication. Cheap to clone; `Send +
/// Sync`. Same shapes and errors as the query methods of [`Index`].
#[derive(Clone)]
pub struct IndexSnapshot {
    dimension: usize,
    typed: SnapTyped,
}

impl Index {
    /// A snapshot of the current state (see [`IndexSnapshot`]).
    pub fn snapshot(&self) -> IndexSnapshot {
        let typed = match &self.typed {
            Typed::F32(c) => SnapTyped::F32(c.shape, Arc::new(c.store.snapshot())),
            Typed::F64(c) => SnapTyped::F64(c.shape, Arc::new(c.store.snapshot())),
        };
        IndexSnapshot {
            dimension: self.dimension,
            typed,
        }
    }

    /// An index whose tree is `pages` as written by [`IndexSnapshot::export_pages`] (page 0 is
    /// the root; child ids are page numbers), holding `len` records.
    ///
    /// # Errors
    /// `InvalidArgument` for bad options (as [`Index::with_options`]); `Corruption` when a page
    /// is not a valid node of this dimension and precision, or sits at or above the root's level.
    pub fn from_pages(o: IndexOptions, pages: Vec<LoadedPage>, len: u64) -> Result<Index> {
        let d = o.dimension;
        let bad = |msg: String| Error::new(crate::ErrorKind::Corruption, msg);
        let mut root_level = 0;
        for (i, p) in pages.iter().enumerate() {
            let level = if o.precision == 32 {
                NodeRef::<f32>::new(p.words(), d)?.level()
            } else {
                NodeRef::<f64>::new(p.words(), d)?.level()
            };
            if level > MAX_HEIGHT {
                return Err(bad(format!("checkpoint page {i} claims level {level}")));
            }
            if i == 0 {
                root_level = level;
            } else if level >= root_level {
                return Err(bad(format!("checkpoint page {i} is not below the root")));
            }
        }
        let root = if pages.is_empty() { NIL } else { 0 };
        if o.precision == 32 {
            Self::with_stores(
                o,
                MemoryStore::from_pages(pages, root, len),
                MemoryStore::new(),
            )
        } else {
            Self::with_stores(
                o,
                MemoryStore::new(),
                MemoryStore::from_pages(pages, root, len),
            )
        }
    }
}

impl IndexSnapshot {
    /// Number of records.
    pub fn len(&self) -> u64 {
        match &self.typed {
            SnapTyped::F32(_, n) | SnapTyped::F64(_, n) => n.version().len,
        }
    }

    /// True when the snapshot holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// See [`Index::search`].
    pub fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        self.search_each(ty, min, max, |id| out.push(id))?;
        Ok(out)
    }

    /// See [`Index::count`].
    pub fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        let mut n = 0u64;
        self.search_each(ty, min, max, |_| n += 1)?;
        Ok(n)
    }

    fn search_each(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        f: impl FnMut(u64),
    ) -> Result<()> {
        validate_box("query", self.dimension, min, max, false)?;
        match &self.typed {
            SnapTyped::F32(s, n) => {
                for_each(&n.reader(), s.dims, &Window::<f32>::new(ty, min, max), f)
            }
            SnapTyped::F64(s, n) => {
                for_each(&n.reader(), s.dims, &Window::<f64>::new(ty, min, max), f)
            }
        }
    }

    /// See [`Index::nearest_with_distance`].
    pub fn nearest_with_distance(&self, point: &[f64], k: usize) -> Result<Vec<(u64, f64)>> {
        validate_box("query point", self.dimension, point, point, true)?;
        match &self.typed {
            SnapTyped::F32(s, n) => knn::nearest::<f32, _>(&n.reader(), s.dims, point, k),
            SnapTyped::F64(s, n) => knn::nearest::<f64, _>(&n.reader(), s.dims, point, k),
        }
    }

    /// See [`Index::nearest`].
    pub fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<u64>> {
        Ok(self
            .nearest_with_distance(point, k)?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// See [`Index::cursor`]; the cursor reads this snapshot.
    pub fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        validate_box("query", self.dimension, min, max, false)?;
        let typed = match &self.typed {
            SnapTyped::F32(s, n) => {
                CursorTyped::F32(TypedCursor::over(n.clone(), s.dims, ty, min, max))
            }
            SnapTyped::F64(s, n) => {
                CursorTyped::F64(TypedCursor::over(n.clone(), s.dims, ty, min, max))
            }
        };
        Ok(Cursor { typed })
    }

    /// Runs the invariant checker on the snapshot's tree.
    ///
    /// # Errors
    /// `Internal` naming the first broken invariant, `Corruption` for an unreadable page.
    pub fn check(&self) -> Result<TreeStats> {
        match &self.typed {
            SnapTyped::F32(s, n) => check(&n.reader(), s),
            SnapTyped::F64(s, n) => check(&n.reader(), s),
        }
    }

    /// Number of pages of the tree, counted from the directory nodes (leaves are not read).
    ///
    /// # Errors
    /// `Corruption` for an unreadable page.
    pub fn page_count(&self) -> Result<u64> {
        match &self.typed {
            SnapTyped::F32(s, n) => count_pages::<f32>(&n.reader(), s.dims),
            SnapTyped::F64(s, n) => count_pages::<f64>(&n.reader(), s.dims),
        }
    }

    /// Calls `f` with every page of the tree in breadth-first order, root first, with child
    /// NodeIDs rewritten to the pages' positions in that order (so page 0 is the root and the
    /// ids are dense). Returns the number of pages. The input of [`Index::from_pages`].
    ///
    /// # Errors
    /// `Corruption` for an unreadable page; errors of `f`.
    pub fn export_pages(&self, mut f: impl FnMut(&[u64]) -> Result<()>) -> Result<u64> {
        match &self.typed {
            SnapTyped::F32(s, n) => export::<f32>(&n.reader(), s.dims, &mut f),
            SnapTyped::F64(s, n) => export::<f64>(&n.reader(), s.dims, &mut f),
        }
    }
}

fn count_pages<C: Coord>(r: &impl PageRead, dims: usize) -> Result<u64> {
    let root = r.version().root;
    if root == NIL {
        return Ok(0);
    }
    let mut pages = 1u64;
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let n = NodeRef::<C>::new(r.page(id)?, dims)?;
        if n.is_leaf() {
            continue;
        }
        pages += n.count() as u64;
        if n.level() > 1 {
            stack.extend_from_slice(n.ids());
        }
        // Every leaf holds a record and every directory sits on a root-to-leaf path.
        let bound = r.version().len.saturating_mul(MAX_HEIGHT as u64 + 1) + 1;
        if pages > bound {
            return Err(Error::new(
                crate::ErrorKind::Corruption,
                "more pages than the records can fill (a cycle)",
            ));
        }
    }
    Ok(pages)
}

fn export<C: Coord>(
    r: &impl PageRead,
    dims: usize,
    f: &mut impl FnMut(&[u64]) -> Result<()>,
) -> Result<u64> {
    let root = r.version().root;
    if root == NIL {
        return Ok(0);
    }
    let mut queue = VecDeque::from([root]);
    let mut assigned = 1u64;
    let mut emitted = 0u64;
    let mut buf: Vec<u64> = Vec::new();
    while let Some(id) = queue.pop_front() {
        buf.clear();
        buf.extend_from_slice(r.page(id)?);
        let mut w = NodeMut::<C>::new(&mut buf, dims)?;
        if !w.as_ref().is_leaf() {
            let children: Vec<u64> = w.as_ref().ids().to_vec();
            for (i, child) in children.into_iter().enumerate() {
                w.set_id(i, assigned);
                assigned += 1;
                queue.push_back(child);
            }
        }
        f(&buf)?;
        emitted += 1;
    }
    Ok(emitted)
}
