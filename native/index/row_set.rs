//! Window-query answers as a set of small row ids, for callers whose row ids are dense document
//! numbers below a known bound (the Lucene integration: row id = segment doc id, bound =
//! `maxDoc`). The set is deduplicated (a row id with several matching records appears once) and
//! delivered in whichever of two forms is smaller, so that it crosses JNI as one array.

use super::*;

/// The row ids of a window query below a bound, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSet {
    /// Few hits: the row ids in increasing order.
    Sorted(Vec<u32>),
    /// Many hits: a bitset of `bound.div_ceil(64)` words, row id `r` at bit `r % 64` of word
    /// `r / 64` (the layout of Lucene's `FixedBitSet`).
    Bits(Vec<u64>),
}

impl RowSet {
    /// Number of distinct row ids.
    pub fn len(&self) -> u64 {
        match self {
            RowSet::Sorted(v) => v.len() as u64,
            RowSet::Bits(w) => w.iter().map(|x| u64::from(x.count_ones())).sum(),
        }
    }

    /// True when no row id is in the set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Collects row ids into a sorted vector while it is smaller than the bitset would be (4 bytes
/// per hit against `bound / 8` bytes), then into the bitset.
struct Collector {
    bound: u32,
    ids: Vec<u32>,
    bits: Option<Vec<u64>>,
    /// The first row id at or above the bound, if any: the caller's data is inconsistent.
    out_of_range: Option<u64>,
}

impl Collector {
    fn new(bound: u32) -> Self {
        Collector {
            bound,
            ids: Vec::new(),
            bits: None,
            out_of_range: None,
        }
    }

    #[inline]
    fn add(&mut self, row: u64) {
        if row >= u64::from(self.bound) {
            self.out_of_range.get_or_insert(row);
            return;
        }
        let row = row as u32;
        if let Some(bits) = &mut self.bits {
            bits[(row / 64) as usize] |= 1u64 << (row % 64);
            return;
        }
        self.ids.push(row);
        if self.ids.len() > (self.bound / 32) as usize {
            let mut bits = vec![0u64; (self.bound as usize).div_ceil(64)];
            for &r in &self.ids {
                bits[(r / 64) as usize] |= 1u64 << (r % 64);
            }
            self.ids = Vec::new();
            self.bits = Some(bits);
        }
    }

    fn finish(self) -> Result<RowSet> {
        if let Some(row) = self.out_of_range {
            return Err(Error::new(
                crate::ErrorKind::Corruption,
                format!("row id {row} is not below the bound {}", self.bound),
            ));
        }
        Ok(match self.bits {
            Some(bits) => RowSet::Bits(bits),
            None => {
                let mut ids = self.ids;
                ids.sort_unstable();
                ids.dedup();
                RowSet::Sorted(ids)
            }
        })
    }
}

impl Index {
    /// The distinct row ids of the records satisfying `ty` against `[min, max]` (as
    /// [`Index::search`]), every row id being below `bound`: sorted when there are at most
    /// `bound / 32` hits, a bitset otherwise.
    ///
    /// # Errors
    /// `InvalidArgument` as [`Index::search`]; `Corruption` when a matching record has a row id
    /// at or above `bound` (the index does not belong to the caller's id space).
    pub fn search_row_set(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        bound: u32,
    ) -> Result<RowSet> {
        validate_box("query", self.dimension, min, max, false)?;
        let mut c = Collector::new(bound);
        match &self.typed {
            Typed::F32(core) => core.search_each(ty, min, max, |id| c.add(id)),
            Typed::F64(core) => core.search_each(ty, min, max, |id| c.add(id)),
        }?;
        c.finish()
    }

    /// Number of distinct row ids [`Index::search_row_set`] would return, without returning
    /// them (a bitset of `bound` bits is built natively when the hits outnumber `bound / 32`).
    /// Errors as [`Index::search_row_set`].
    pub fn count_row_set(
        &self,
        ty: SearchType,
        min: &[f64],
        max: &[f64],
        bound: u32,
    ) -> Result<u64> {
        Ok(self.search_row_set(ty, min, max, bound)?.len())
    }
}
