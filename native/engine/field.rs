//! Handles on the fields of a [`Runtime`]: writes go to the runtime's pending transaction, reads
//! answer on the last published commit.
//!
//! A [`Field`] holds only its runtime's shared state, its id and its description: the field's
//! tree lives in the runtime, so that closing the runtime frees it (and the files it reads)
//! however many handles remain.

use std::sync::Arc;

use super::ops::{self, FieldMeta};
use super::runtime::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Cursor, Index, IndexOptions, IndexSnapshot, SearchType};

#[allow(unused_imports)] // for the documentation links
use super::runtime::Runtime;

/// A field's tree, owned by its runtime.
pub(super) struct FieldInner {
    pub(super) meta: Arc<FieldMeta>,
    pub(super) index: Index,
}

/// A handle on one field of a [`Runtime`]: writes go to the runtime's pending transaction,
/// reads answer on the last published commit. Cheap to clone. Once the runtime is closed,
/// every call fails with `Closed`.
#[derive(Clone)]
pub struct Field {
    pub(super) rt: Arc<Inner>,
    pub(super) id: u32,
    pub(super) meta: Arc<FieldMeta>,
}

/// Every field's committed state at one epoch, held as long as this value lives.
#[derive(Clone)]
pub struct RuntimeSnapshot {
    pub(super) epoch: u64,
    pub(super) fields: Vec<(String, IndexSnapshot)>,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The field's options.
    pub fn options(&self) -> IndexOptions {
        self.meta.options()
    }

    /// Number of dimensions.
    pub fn dimension(&self) -> usize {
        self.meta.dimension
    }

    fn write<T>(&self, op: impl FnOnce(&Index, &mut Vec<u8>) -> Result<T>) -> Result<T> {
        let mut w = self.rt.w.lock();
        self.rt.check_writable()?;
        let fields = self.rt.fields.read();
        let f = fields
            .get(self.id as usize)
            .ok_or_else(|| Error::internal(format!("field {} has no tree", self.meta.name)))?;
        op(&f.index, &mut w.pending)
    }

    /// Inserts (`row_id`, box `[min, max]`) into the pending transaction. Shapes and errors as
    /// [`Index::insert`], plus `Poisoned` and `Closed`.
    pub fn insert(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<()> {
        let id = self.id;
        self.write(|ix, log| {
            ix.insert(row_id, min, max)?;
            ops::put_record(log, false, id, row_id, min, max);
            Ok(())
        })
    }

    /// Inserts a point; see [`Field::insert`].
    pub fn insert_point(&self, row_id: u64, point: &[f64]) -> Result<()> {
        self.insert(row_id, point, point)
    }

    /// Inserts points, row-major; shapes and errors as [`Index::insert_points`].
    pub fn insert_points(&self, row_ids: &[u64], coords: &[f64]) -> Result<()> {
        let (id, d) = (self.id, self.dimension());
        self.write(|ix, log| {
            ix.insert_points(row_ids, coords)?;
            ops::put_points(log, id, d, row_ids, coords);
            Ok(())
        })
    }

    /// Inserts boxes, row-major mins and maxs, all or nothing; shapes and errors as
    /// [`Index::insert_boxes`].
    pub fn insert_boxes(&self, row_ids: &[u64], mins: &[f64], maxs: &[f64]) -> Result<()> {
        let (id, d) = (self.id, self.dimension());
        self.write(|ix, log| {
            ix.insert_boxes(row_ids, mins, maxs)?;
            for (i, &row) in row_ids.iter().enumerate() {
                let r = i * d..(i + 1) * d;
                ops::put_record(log, false, id, row, &mins[r.clone()], &maxs[r]);
            }
            Ok(())
        })
    }

    /// Deletes one record (`row_id`, box); returns whether it existed. See [`Index::delete`].
    pub fn delete(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        let id = self.id;
        self.write(|ix, log| {
            let found = ix.delete(row_id, min, max)?;
            if found {
                ops::put_record(log, true, id, row_id, min, max);
            }
            Ok(found)
        })
    }

    /// Replaces (`row_id`, old box) by (`row_id`, new box); see [`Index::update`].
    pub fn update(
        &self,
        row_id: u64,
        old_min: &[f64],
        old_max: &[f64],
        new_min: &[f64],
        new_max: &[f64],
    ) -> Result<bool> {
        let id = self.id;
        self.write(|ix, log| {
            let found = ix.update(row_id, old_min, old_max, new_min, new_max)?;
            if found {
                ops::put_record(log, true, id, row_id, old_min, old_max);
                ops::put_record(log, false, id, row_id, new_min, new_max);
            }
            Ok(found)
        })
    }

    /// The committed state of this field that new readers see.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn snapshot(&self) -> Result<IndexSnapshot> {
        let p = self.rt.published.read();
        // Checked under the lock close takes to clear the published state: a reader racing
        // with close gets either the state or `Closed`, never an empty stand-in.
        self.rt.check_open()?;
        match p.snaps.get(self.id as usize) {
            Some(s) => Ok(s.clone()),
            // Created but its creation not yet published (BALANCED, mid-commit): empty.
            None => Ok(Index::with_options(self.options())?.snapshot()),
        }
    }

    /// Committed records.
    pub fn len(&self) -> Result<u64> {
        Ok(self.snapshot()?.len())
    }

    /// True when no committed record exists.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Window query on the committed state; see [`Index::search`].
    pub fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        self.snapshot()?.search(ty, min, max)
    }

    /// Count on the committed state; see [`Index::count`].
    pub fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        self.snapshot()?.count(ty, min, max)
    }

    /// kNN on the committed state; see [`Index::nearest`].
    pub fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<u64>> {
        self.snapshot()?.nearest(point, k)
    }

    /// Paged window query on the committed state; see [`Index::cursor`].
    pub fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        self.snapshot()?.cursor(ty, min, max)
    }
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.meta.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RuntimeSnapshot {
    /// The commit epoch this snapshot shows.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The snapshot of field `name`, if it existed at that epoch.
    pub fn field(&self, name: &str) -> Option<&IndexSnapshot> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Field names and snapshots.
    pub fn fields(&self) -> &[(String, IndexSnapshot)] {
        &self.fields
    }
}

/// The `Closed` error of a runtime's calls after close.
pub(super) fn closed_error() -> Error {
    Error::new(ErrorKind::Closed, "the durable runtime is closed")
}
