//! Helpers of the durable-runtime tests: a scripted workload over two fields whose model state
//! is recorded at every commit, and a verifier that checks a recovered runtime equals one of
//! those committed states with every query kind.
#![allow(dead_code)]

use std::collections::BTreeMap;

use xtree::{Field, IndexOptions, Runtime, SearchType};

use crate::common::{labels, BruteForce, SplitMix64};

/// Field "geo": 2-D boxes, precision 64. Field "vec": 3-D points, precision 32.
pub const FIELDS: [(&str, usize, u32); 2] = [("geo", 2, 64), ("vec", 3, 32)];

/// Options of field `i` of [`FIELDS`], with small nodes so that a few hundred records make a
/// tree of several levels.
pub fn field_options(i: usize) -> IndexOptions {
    let (_, d, p) = FIELDS[i];
    let mut o = IndexOptions::new(d, p, labels(d));
    o.node_size = 512;
    o
}

/// The model of both fields.
#[derive(Clone, Debug)]
pub struct Model {
    pub fields: Vec<BruteForce>,
}

impl Model {
    pub fn new() -> Self {
        Model {
            fields: FIELDS
                .iter()
                .map(|&(_, d, p)| BruteForce::new(d, p))
                .collect(),
        }
    }
}

/// Committed model states by epoch.
pub type History = BTreeMap<u64, Model>;

/// Opens (creating) both fields; each creation is a commit, recorded in `history`.
pub fn open_fields(rt: &Runtime, history: &mut History) -> Vec<Field> {
    let mut out = Vec::new();
    for (i, (name, _, _)) in FIELDS.iter().enumerate() {
        let existed = rt.get(name).unwrap().is_some();
        let f = rt.field(name, field_options(i)).unwrap();
        if !existed {
            // The creation commit: the model as of the last recorded state.
            let last = history.values().last().cloned().unwrap_or_else(Model::new);
            history.insert(rt.stats().epoch, last);
        }
        out.push(f);
    }
    out
}

/// A deterministic workload: `commits` transactions of a few writes each (box inserts,
/// deletes of existing boxes, updates, point batches), applied to the runtime and the model.
/// Calls `after_commit(epoch)` after each acknowledged commit. Stops at the first error and
/// returns it (for fault-injection tests), with the number of acknowledged commits.
pub struct Workload {
    pub rng: SplitMix64,
    pub next_row: u64,
    pub model: Model,
}

impl Workload {
    pub fn new(seed: u64, model: Model) -> Self {
        Workload {
            rng: SplitMix64::new(seed),
            next_row: 1_000_000 + seed % 1000 * 10_000,
            model,
        }
    }

    fn coord(&mut self) -> f64 {
        (self.rng.next_f64() * 1000.0).floor() / 4.0
    }

    /// One transaction's writes (not committed).
    pub fn writes(&mut self, fields: &[Field]) -> xtree::Result<()> {
        for _ in 0..1 + self.rng.below(6) {
            match self.rng.below(10) {
                0..=3 => {
                    let row = self.next_row;
                    self.next_row += 1;
                    let (x, y) = (self.coord(), self.coord());
                    let (w, h) = (self.coord() / 50.0, self.coord() / 50.0);
                    let (min, max) = ([x, y], [x + w, y + h]);
                    fields[0].insert(row, &min, &max)?;
                    self.model.fields[0].insert(row, &min, &max);
                }
                4 | 5 => {
                    let m = &self.model.fields[0];
                    if m.is_empty() {
                        continue;
                    }
                    let (row, min, max) = m.record(self.rng.below(m.len()));
                    let (min, max) = (min.to_vec(), max.to_vec());
                    let found = fields[0].delete(row, &min, &max)?;
                    assert!(found, "a model record exists in the index");
                    self.model.fields[0].delete(row, &min, &max);
                }
                6 => {
                    let m = &self.model.fields[0];
                    if m.is_empty() {
                        continue;
                    }
                    let (row, min, max) = m.record(self.rng.below(m.len()));
                    let (min, max) = (min.to_vec(), max.to_vec());
                    let (nx, ny) = (self.coord(), self.coord());
                    let (nmin, nmax) = ([nx, ny], [nx + 1.0, ny + 1.0]);
                    assert!(fields[0].update(row, &min, &max, &nmin, &nmax)?);
                    self.model.fields[0].delete(row, &min, &max);
                    self.model.fields[0].insert(row, &nmin, &nmax);
                }
                _ => {
                    let n = 1 + self.rng.below(40);
                    let mut rows = Vec::new();
                    let mut coords = Vec::new();
                    for _ in 0..n {
                        rows.push(self.next_row);
                        self.next_row += 1;
                        for _ in 0..3 {
                            coords.push(self.rng.next_f64() * 100.0 - 50.0);
                        }
                    }
                    fields[1].insert_points(&rows, &coords)?;
                    for (i, &r) in rows.iter().enumerate() {
                        self.model.fields[1].insert_point(r, &coords[i * 3..i * 3 + 3]);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks that the runtime's published state equals `model` with every query kind and that the
/// trees pass the invariant checker. `ctx` names the case in failure messages.
pub fn verify_state(rt: &Runtime, model: &Model, ctx: &str) {
    let snap = rt.snapshot().unwrap();
    let mut rng = SplitMix64::new(snap.epoch() ^ 0x5eed);
    for (i, (name, d, _)) in FIELDS.iter().enumerate() {
        let m = &model.fields[i];
        let Some(s) = snap.field(name) else {
            assert!(m.is_empty(), "{ctx}: field {name} missing");
            continue;
        };
        assert_eq!(s.len(), m.len() as u64, "{ctx}: {name} record count");
        let stats = s
            .check()
            .unwrap_or_else(|e| panic!("{ctx}: {name} invariants: {e}"));
        assert_eq!(
            stats.records,
            m.len() as u64,
            "{ctx}: {name} records in the tree"
        );
        let inf = vec![f64::INFINITY; *d];
        let ninf = vec![f64::NEG_INFINITY; *d];
        let mut all = s.search(SearchType::Intersects, &ninf, &inf).unwrap();
        all.sort_unstable();
        assert_eq!(
            all,
            m.search(SearchType::Intersects, &ninf, &inf),
            "{ctx}: {name} all ids"
        );
        for q in 0..6 {
            let lo: Vec<f64> = (0..*d).map(|_| rng.next_f64() * 250.0 - 50.0).collect();
            let hi: Vec<f64> = lo.iter().map(|v| v + rng.next_f64() * 80.0).collect();
            for ty in [
                SearchType::Intersects,
                SearchType::Contains,
                SearchType::Within,
            ] {
                let mut got = s.search(ty, &lo, &hi).unwrap();
                got.sort_unstable();
                assert_eq!(
                    got,
                    m.search(ty, &lo, &hi),
                    "{ctx}: {name} {ty:?} query {q}"
                );
                assert_eq!(s.count(ty, &lo, &hi).unwrap(), m.count(ty, &lo, &hi));
            }
            let want: Vec<u64> = m.nearest(&lo, 5).into_iter().map(|(id, _)| id).collect();
            assert_eq!(s.nearest(&lo, 5).unwrap(), want, "{ctx}: {name} kNN {q}");
        }
    }
}

/// Checks that the runtime recovered exactly the committed state of its epoch, at or after
/// `min_epoch`, and that its checkpoint's pages agree with the object table and allocator.
pub fn verify_recovered(rt: &Runtime, history: &History, min_epoch: u64, ctx: &str) -> u64 {
    let epoch = rt.stats().epoch;
    assert!(
        epoch >= min_epoch,
        "{ctx}: recovered epoch {epoch} is older than the last acknowledged commit {min_epoch}"
    );
    let model = history.get(&epoch).unwrap_or_else(|| {
        panic!(
            "{ctx}: recovered epoch {epoch} is not a committed state (known: {:?})",
            history.keys().collect::<Vec<_>>()
        )
    });
    verify_state(rt, model, ctx);
    let seg = rt
        .verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}: checkpoint pages against the object table: {e}"));
    assert_eq!(
        seg.pages,
        rt.stats().checkpoint_pages,
        "{ctx}: checkpoint pages"
    );
    epoch
}
