//! Read-only snapshots of an [`Index`], and the page export/import that checkpoints use.
//!
//! A snapshot pins one publication of the index: its queries answer on exactly that state
//! whatever the writer does afterwards, and the pages it can reach are not reclaimed until the
//! last clone of it is dropped (DESIGN.md §4).

use std::sync::Arc;

use super::*;
use crate::store::memory::LoadedPage;
use crate::xtree::node::NodeRef;
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

    /// An index whose tree is `pages`, each under its NodeID (child ids in directory pages are
    /// NodeIDs of other pages), rooted at `root` (NIL when empty) and holding `len` records: a
    /// checkpoint being loaded. Pages are not read here (shared pages verify themselves on first
    /// use), so loading costs nothing per byte of the index.
    ///
    /// # Errors
    /// `InvalidArgument` for bad options (as [`Index::with_options`]); `Corruption` when two
    /// pages share a handle or `root` is not one of the pages.
    pub fn from_pages(
        o: IndexOptions,
        pages: Vec<(NodeId, LoadedPage)>,
        root: NodeId,
        len: u64,
    ) -> Result<Index> {
        if (root == NIL) != pages.is_empty()
            || (root != NIL && !pages.iter().any(|(id, _)| *id == root))
        {
            return Err(Error::new(
                crate::ErrorKind::Corruption,
                format!("root {root:#x} is not one of the {} pages", pages.len()),
            ));
        }
        if o.precision == 32 {
            Self::with_stores(
                o,
                MemoryStore::from_pages(pages, root, len)?,
                MemoryStore::new(),
            )
        } else {
            Self::with_stores(
                o,
                MemoryStore::new(),
                MemoryStore::from_pages(pages, root, len)?,
            )
        }
    }
}

/// What a page of the tree says about itself: its level (0 for a leaf) and, for a directory
/// page, its children's NodeIDs.
pub struct PageInfo {
    /// Height above the leaves.
    pub level: u32,
    /// Child NodeIDs (empty for a leaf).
    pub children: Vec<NodeId>,
}

/// Reads the header and child ids of `words`, a page of an index of `dims` dimensions and
/// `precision` bits.
///
/// # Errors
/// `Corruption` when the page is not a valid node of that shape.
pub fn page_info(precision: u32, dims: usize, words: &[u64]) -> Result<PageInfo> {
    fn get<C: Coord>(words: &[u64], dims: usize) -> Result<PageInfo> {
        let n = NodeRef::<C>::new(words, dims)?;
        Ok(PageInfo {
            level: n.level(),
            children: if n.is_leaf() {
                Vec::new()
            } else {
                n.ids().to_vec()
            },
        })
    }
    if precision == 32 {
        get::<f32>(words, dims)
    } else {
        get::<f64>(words, dims)
    }
}

/// Checks `words`, a page of an index of `dims` dimensions and `precision` bits read from
/// disk, before the tree code uses it: the durable store calls this on each page's first use.
///
/// # Errors
/// `Corruption` when the page is not a valid node of that shape.
pub fn check_page(precision: u32, dims: usize, words: &[u64]) -> Result<()> {
    fn get<C: Coord>(words: &[u64], dims: usize) -> Result<()> {
        crate::xtree::node::validate_page::<C>(words, dims).map(|_| ())
    }
    if precision == 32 {
        get::<f32>(words, dims)
    } else {
        get::<f64>(words, dims)
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
        self.search_leaves(ty, min, max, |h| h.append_to(&mut out))?;
        Ok(out)
    }

    /// See [`Index::count`].
    pub fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        let mut n = 0u64;
        self.search_leaves(ty, min, max, |h| n += h.len() as u64)?;
        Ok(n)
    }

    fn search_leaves(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        f: impl FnMut(LeafHits<'_>),
    ) -> Result<()> {
        validate_box("query", self.dimension, min, max, false)?;
        match &self.typed {
            SnapTyped::F32(s, n) => {
                for_each_leaf(&n.reader(), s.dims, &Window::<f32>::new(ty, min, max), f)
            }
            SnapTyped::F64(s, n) => {
                for_each_leaf(&n.reader(), s.dims, &Window::<f64>::new(ty, min, max), f)
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

    /// The root NodeID of the snapshot's tree (NIL when empty).
    pub fn root(&self) -> NodeId {
        match &self.typed {
            SnapTyped::F32(_, n) | SnapTyped::F64(_, n) => n.version().root,
        }
    }

    /// Walks the tree from the root, depth first. For each NodeID reached, `skip(id)` decides
    /// whether to stop there without reading the page (the durable engine skips subtrees it
    /// already has on disk); otherwise `visit(id, page, level)` gets the page and the walk goes
    /// on into its children.
    ///
    /// # Errors
    /// `Corruption` for an unreadable page or a tree deeper than the height bound; errors of
    /// `visit`.
    pub fn walk(
        &self,
        mut skip: impl FnMut(NodeId) -> bool,
        mut visit: impl FnMut(NodeId, &[u64], u32) -> Result<()>,
    ) -> Result<()> {
        match &self.typed {
            SnapTyped::F32(s, n) => walk::<f32>(&n.reader(), s.dims, &mut skip, &mut visit),
            SnapTyped::F64(s, n) => walk::<f64>(&n.reader(), s.dims, &mut skip, &mut visit),
        }
    }
}

fn walk<C: Coord>(
    r: &impl PageRead,
    dims: usize,
    skip: &mut impl FnMut(NodeId) -> bool,
    visit: &mut impl FnMut(NodeId, &[u64], u32) -> Result<()>,
) -> Result<()> {
    let root = r.version().root;
    if root == NIL {
        return Ok(());
    }
    let mut stack = vec![(root, u32::MAX)];
    while let Some((id, parent_level)) = stack.pop() {
        if skip(id) {
            continue;
        }
        let page = r.page(id)?;
        let n = NodeRef::<C>::new(page, dims)?;
        let level = n.level();
        if level >= parent_level || level > MAX_HEIGHT {
            return Err(Error::new(
                crate::ErrorKind::Corruption,
                format!("node {id:#x} at level {level} is not below its parent"),
            ));
        }
        visit(id, page, level)?;
        if !n.is_leaf() {
            stack.extend(n.ids().iter().map(|&c| (c, level)));
        }
    }
    Ok(())
}
