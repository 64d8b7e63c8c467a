//! rstar as a second oracle (next to the brute-force scan of `tests/common`).
//!
//! Seeded random data in 2-D and 3-D — uniform points, uniform boxes, clustered points, heavy
//! duplicates (including exact duplicate records), degenerate boxes (zero width on one axis) —
//! goes into an `Index` at precision 64 (so stored coordinates are the input bit for bit), into
//! an rstar `RTree` and into the brute-force oracle. Every query is compared against both:
//! INTERSECTS (`locate_in_envelope_intersecting`), WITHIN (`locate_in_envelope`), CONTAINS
//! (rstar candidates filtered, and the scan), `count`, a paged cursor, and kNN (the multiset of
//! distances against `nearest_neighbor_iter`; the exact ids, ties by row id, against the scan).
//! Then a random third is deleted from all three, a few records are moved with `update`, and
//! everything is compared again. The invariant checker runs after every mutation early on and
//! periodically after that.
//!
//! Each case loads its data two ways: one record at a time, and as batches (the first on the
//! empty index is bulk-loaded) followed by single inserts; each with the default node size and
//! with the smallest one (256 bytes), which makes the tree tall and splits frequent.
//!
//! Failures print the seed; rerun with `XTREE_TEST_SEED=<seed> cargo test --test oracle_rstar`.

mod common;

use common::{
    dist2_point_box, geonames_clustered, labels, seq_diff, sorted_ids_diff, test_seed, BruteForce,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use xtree::{Index, IndexOptions, SearchType};

const PRECISION: u32 = 64;
const DEFAULT_SEED: u64 = 0x0C0F_FEE0_5EED;
const EXTENT: f64 = 1000.0;

type Item<const D: usize> = GeomWithData<Rectangle<[f64; D]>, u64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dist {
    UniformPoints,
    UniformBoxes,
    ClusteredPoints,
    HeavyDuplicates,
    DegenerateBoxes,
}

#[derive(Debug, Clone, Copy)]
enum Load {
    /// `insert_point` / `insert` per record.
    OneByOne,
    /// 60 % in one batch on the empty index (bulk load), 20 % in a second batch, the rest singly.
    Batches,
}

/// The smallest node size the index accepts: fan-outs of a handful, so 3,000 records make a
/// tall tree with many splits (and, with duplicates, supernodes).
const SMALL_NODE_SIZE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rec<const D: usize> {
    id: u64,
    min: [f64; D],
    max: [f64; D],
    /// Inserted with `insert_point` (min == max) rather than `insert`.
    point: bool,
}

impl<const D: usize> Rec<D> {
    fn item(&self) -> Item<D> {
        GeomWithData::new(Rectangle::from_corners(self.min, self.max), self.id)
    }
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

fn uniform<const D: usize>(rng: &mut ChaCha8Rng) -> [f64; D] {
    std::array::from_fn(|_| rng.gen_range(0.0..EXTENT))
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen();
    let u2: f64 = rng.gen();
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn point_rec<const D: usize>(id: u64, p: [f64; D]) -> Rec<D> {
    Rec {
        id,
        min: p,
        max: p,
        point: true,
    }
}

fn generate<const D: usize>(dist: Dist, n: usize, rng: &mut ChaCha8Rng) -> Vec<Rec<D>> {
    let mut recs = Vec::with_capacity(n);
    match dist {
        Dist::UniformPoints => {
            for i in 0..n {
                recs.push(point_rec(i as u64, uniform(rng)));
            }
        }
        Dist::UniformBoxes => {
            for i in 0..n {
                let min: [f64; D] = uniform(rng);
                // Mostly small boxes, a few large ones.
                let scale = if rng.gen_bool(0.05) { 300.0 } else { 15.0 };
                let max = std::array::from_fn(|a| min[a] + rng.gen_range(0.0..scale));
                recs.push(Rec {
                    id: i as u64,
                    min,
                    max,
                    point: false,
                });
            }
        }
        Dist::ClusteredPoints => {
            // 2-D: the GeoNames cities with σ = 0.05° (W2's clustered set), scaled into the
            // common extent; without the data file (or in 3-D) synthetic Gaussian clusters.
            let cities = if D == 2 {
                match geonames_clustered(rng.gen(), n) {
                    Ok(pts) => Some(pts),
                    Err(e) => {
                        eprintln!("clustered points: {e}; using synthetic clusters");
                        None
                    }
                }
            } else {
                None
            };
            match cities {
                Some(pts) => {
                    for (i, p) in pts.iter().enumerate() {
                        let q = std::array::from_fn(|a| (p[a] + 180.0) * (EXTENT / 360.0));
                        recs.push(point_rec(i as u64, q));
                    }
                }
                None => {
                    let centres: Vec<[f64; D]> = (0..40).map(|_| uniform(rng)).collect();
                    for i in 0..n {
                        let c = centres[rng.gen_range(0..centres.len())];
                        let p = std::array::from_fn(|a| c[a] + 3.0 * gaussian(rng));
                        recs.push(point_rec(i as u64, p));
                    }
                }
            }
        }
        Dist::HeavyDuplicates => {
            // 30 distinct geometries (points and boxes) shared by all records, and 3 % of the
            // records inserted twice with the same row id (exact duplicate records).
            let shapes: Vec<([f64; D], [f64; D], bool)> = (0..30)
                .map(|j| {
                    let min: [f64; D] =
                        std::array::from_fn(|_| (rng.gen_range(0..100) * 10) as f64);
                    if j % 3 == 0 {
                        let max = std::array::from_fn(|a| min[a] + 10.0);
                        (min, max, false)
                    } else {
                        (min, min, true)
                    }
                })
                .collect();
            let mut id = 0u64;
            while recs.len() < n {
                let (min, max, point) = shapes[rng.gen_range(0..shapes.len())];
                let r = Rec {
                    id,
                    min,
                    max,
                    point,
                };
                recs.push(r);
                if rng.gen_bool(0.03) && recs.len() < n {
                    recs.push(r);
                }
                id += 1;
            }
        }
        Dist::DegenerateBoxes => {
            // Coordinates on a 0.5 grid so that query bounds taken from records touch others.
            for i in 0..n {
                let min: [f64; D] = std::array::from_fn(|_| (rng.gen_range(0..2000) as f64) * 0.5);
                let flat = rng.gen_range(0..D);
                let all_flat = rng.gen_bool(0.1);
                let max = std::array::from_fn(|a| {
                    if all_flat || a == flat {
                        min[a]
                    } else {
                        min[a] + (rng.gen_range(1..40) as f64) * 0.5
                    }
                });
                recs.push(Rec {
                    id: i as u64,
                    min,
                    max,
                    point: false,
                });
            }
        }
    }
    recs.shuffle(rng);
    recs
}

// ---------------------------------------------------------------------------------------------
// The three structures kept in step
// ---------------------------------------------------------------------------------------------

struct Harness<const D: usize> {
    ctx: String,
    index: Index,
    rtree: RTree<Item<D>>,
    brute: BruteForce,
    live: Vec<Rec<D>>,
    mutations: u64,
}

impl<const D: usize> Harness<D> {
    fn new(ctx: String, node_size: Option<usize>) -> Self {
        let mut options = IndexOptions::new(D, PRECISION, labels(D));
        if let Some(size) = node_size {
            options.node_size = size;
        }
        Harness {
            index: Index::with_options(options).expect("valid options"),
            rtree: RTree::new(),
            brute: BruteForce::new(D, PRECISION),
            live: Vec::new(),
            mutations: 0,
            ctx,
        }
    }

    /// The checker after each of the first 200 mutations, then every 97th.
    fn after_mutation(&mut self, what: &dyn Fn() -> String) {
        self.mutations += 1;
        if self.mutations <= 200 || self.mutations.is_multiple_of(97) {
            self.check(what);
        }
    }

    fn check(&self, what: &dyn Fn() -> String) {
        if let Err(e) = self.index.check() {
            panic!("{}: check() failed after {}: {e}", self.ctx, what());
        }
        assert_eq!(
            self.index.len(),
            self.brute.len() as u64,
            "{}: len() after {}",
            self.ctx,
            what()
        );
    }

    fn insert_one(&mut self, r: Rec<D>) {
        let res = if r.point {
            self.index.insert_point(r.id, &r.min)
        } else {
            self.index.insert(r.id, &r.min, &r.max)
        };
        res.unwrap_or_else(|e| panic!("{}: insert {r:?}: {e}", self.ctx));
        self.add_to_oracles(r);
        self.after_mutation(&|| format!("inserting {r:?}"));
    }

    fn add_to_oracles(&mut self, r: Rec<D>) {
        self.rtree.insert(r.item());
        if r.point {
            self.brute.insert_point(r.id, &r.min);
        } else {
            self.brute.insert(r.id, &r.min, &r.max);
        }
        self.live.push(r);
    }

    /// One batch: `insert_points` if every record is a point, else `insert_boxes`.
    fn insert_batch(&mut self, batch: &[Rec<D>]) {
        let ids: Vec<u64> = batch.iter().map(|r| r.id).collect();
        let mins: Vec<f64> = batch.iter().flat_map(|r| r.min).collect();
        let was_empty = self.index.is_empty();
        let res = if batch.iter().all(|r| r.point) {
            self.index.insert_points(&ids, &mins)
        } else {
            let maxs: Vec<f64> = batch.iter().flat_map(|r| r.max).collect();
            self.index.insert_boxes(&ids, &mins, &maxs)
        };
        res.unwrap_or_else(|e| panic!("{}: batch of {}: {e}", self.ctx, batch.len()));
        for r in batch {
            self.add_to_oracles(*r);
        }
        self.mutations += 1;
        self.check(&|| format!("a batch of {} (empty before: {was_empty})", batch.len()));
    }

    fn delete(&mut self, r: Rec<D>) {
        let deleted = self
            .index
            .delete(r.id, &r.min, &r.max)
            .unwrap_or_else(|e| panic!("{}: delete {r:?}: {e}", self.ctx));
        assert!(
            deleted,
            "{}: delete of live record {r:?} returned false",
            self.ctx
        );
        assert!(
            self.rtree.remove(&r.item()).is_some(),
            "{}: rstar lost {r:?}",
            self.ctx
        );
        assert!(
            self.brute.delete(r.id, &r.min, &r.max),
            "{}: oracle lost {r:?}",
            self.ctx
        );
        let pos = self.live.iter().position(|x| *x == r).expect("live record");
        self.live.swap_remove(pos);
        self.after_mutation(&|| format!("deleting {r:?}"));
    }

    fn delete_absent(&mut self, r: Rec<D>) {
        let deleted = self
            .index
            .delete(r.id, &r.min, &r.max)
            .unwrap_or_else(|e| panic!("{}: delete {r:?}: {e}", self.ctx));
        assert!(
            !deleted,
            "{}: delete of absent record {r:?} returned true",
            self.ctx
        );
        self.after_mutation(&|| format!("deleting absent {r:?}"));
    }

    fn update(&mut self, old: Rec<D>, new: Rec<D>) {
        let moved = self
            .index
            .update(old.id, &old.min, &old.max, &new.min, &new.max)
            .unwrap_or_else(|e| panic!("{}: update {old:?} -> {new:?}: {e}", self.ctx));
        assert!(
            moved,
            "{}: update of live record {old:?} returned false",
            self.ctx
        );
        assert!(self.rtree.remove(&old.item()).is_some());
        assert!(self.brute.delete(old.id, &old.min, &old.max));
        let pos = self
            .live
            .iter()
            .position(|x| *x == old)
            .expect("live record");
        self.live.swap_remove(pos);
        // `update` stores a box; at precision 64 a degenerate box is the point itself.
        self.add_to_oracles(Rec {
            point: false,
            ..new
        });
        self.after_mutation(&|| format!("updating {old:?} -> {new:?}"));
    }

    // -----------------------------------------------------------------------------------------
    // Comparisons
    // -----------------------------------------------------------------------------------------

    fn compare_window(&self, qmin: &[f64; D], qmax: &[f64; D], with_cursor: bool) {
        let envelope = AABB::from_corners(*qmin, *qmax);
        for ty in [
            SearchType::Intersects,
            SearchType::Within,
            SearchType::Contains,
        ] {
            let mut ours = self
                .index
                .search(ty, qmin, qmax)
                .unwrap_or_else(|e| panic!("{}: search {ty:?} {qmin:?}..{qmax:?}: {e}", self.ctx));
            ours.sort_unstable();
            let scan = self.brute.search(ty, qmin, qmax);
            let mut peer: Vec<u64> = match ty {
                SearchType::Intersects => self
                    .rtree
                    .locate_in_envelope_intersecting(&envelope)
                    .map(|it| it.data)
                    .collect(),
                SearchType::Within => self
                    .rtree
                    .locate_in_envelope(&envelope)
                    .map(|it| it.data)
                    .collect(),
                SearchType::Contains => self
                    .rtree
                    .locate_in_envelope_intersecting(&envelope)
                    .filter(|it| {
                        let r = it.geom();
                        common::contains(&r.lower(), &r.upper(), qmin, qmax)
                    })
                    .map(|it| it.data)
                    .collect(),
            };
            peer.sort_unstable();
            if let Some(d) = sorted_ids_diff(&ours, &scan) {
                panic!(
                    "{}: {ty:?} {qmin:?}..{qmax:?} differs from the brute-force scan: {d}",
                    self.ctx
                );
            }
            if let Some(d) = sorted_ids_diff(&ours, &peer) {
                panic!(
                    "{}: {ty:?} {qmin:?}..{qmax:?} differs from rstar: {d}",
                    self.ctx
                );
            }
            let count = self.index.count(ty, qmin, qmax).expect("count");
            assert_eq!(
                count,
                ours.len() as u64,
                "{}: count {ty:?} {qmin:?}..{qmax:?} vs search",
                self.ctx
            );
            if with_cursor {
                let mut cursor = self.index.cursor(ty, qmin, qmax).expect("cursor");
                let mut paged = Vec::new();
                let page = 1 + ours.len() / 3;
                loop {
                    let p = cursor
                        .next_page(page)
                        .unwrap_or_else(|e| panic!("{}: cursor page: {e}", self.ctx));
                    assert!(p.len() <= page, "{}: cursor page over {page}", self.ctx);
                    if p.is_empty() {
                        break;
                    }
                    paged.extend(p);
                }
                paged.sort_unstable();
                if let Some(d) = sorted_ids_diff(&paged, &ours) {
                    panic!(
                        "{}: cursor {ty:?} {qmin:?}..{qmax:?} vs search: {d}",
                        self.ctx
                    );
                }
            }
        }
    }

    fn compare_knn(&self, p: &[f64; D], k: usize) {
        let ours = self
            .index
            .nearest(p, k)
            .unwrap_or_else(|e| panic!("{}: nearest {p:?} k={k}: {e}", self.ctx));
        let scan = self.brute.nearest(p, k);
        let scan_ids: Vec<u64> = scan.iter().map(|&(id, _)| id).collect();
        if let Some(d) = seq_diff(&ours, &scan_ids) {
            panic!(
                "{}: nearest {p:?} k={k}: ids (nearest first, ties by row id) differ from the scan: {d}",
                self.ctx
            );
        }
        // The ids equal the scan's, so the scan's distances are ours (this also covers a row id
        // held by two records with different boxes).
        let mut our_d2: Vec<f64> = scan.iter().map(|&(_, d2)| d2).collect();
        let peer_d2: Vec<f64> = self
            .rtree
            .nearest_neighbor_iter(p)
            .take(k)
            .map(|it| dist2_point_box(p, &it.geom().lower(), &it.geom().upper()))
            .collect();
        // rstar orders ties arbitrarily; compare the sorted distances.
        let mut peer_sorted = peer_d2;
        peer_sorted.sort_by(f64::total_cmp);
        our_d2.sort_by(f64::total_cmp);
        if let Some(d) = seq_diff(&our_d2, &peer_sorted) {
            panic!(
                "{}: nearest {p:?} k={k}: squared distances differ from rstar: {d}",
                self.ctx
            );
        }
    }

    /// Windows of many sizes, windows made of record coordinates (boundary contact), degenerate
    /// and half-infinite windows; kNN with k = 0, 1, 10, 100 and more than the record count.
    fn compare_all(&self, rng: &mut ChaCha8Rng) {
        let lo = self.extent_lo();
        let hi = self.extent_hi();
        let span: [f64; D] = std::array::from_fn(|a| (hi[a] - lo[a]).max(1.0));
        for qi in 0..120 {
            let (qmin, qmax): ([f64; D], [f64; D]) = match qi % 6 {
                // A random window of a random size (up to larger than the data).
                0 | 1 => {
                    let frac = [0.0, 0.001, 0.01, 0.05, 0.2, 0.6, 1.5][rng.gen_range(0..7)];
                    let min = std::array::from_fn(|a| {
                        lo[a] - 0.1 * span[a] + rng.gen::<f64>() * 1.1 * span[a]
                    });
                    let max = std::array::from_fn(|a| min[a] + frac * span[a] * rng.gen::<f64>());
                    (min, max)
                }
                // Exactly a stored record's box.
                2 => {
                    let r = self.live[rng.gen_range(0..self.live.len())];
                    (r.min, r.max)
                }
                // Corners taken from two records: touches boundaries.
                3 => {
                    let a = self.live[rng.gen_range(0..self.live.len())];
                    let b = self.live[rng.gen_range(0..self.live.len())];
                    let min = std::array::from_fn(|i| a.max[i].min(b.min[i]));
                    let max = std::array::from_fn(|i| a.max[i].max(b.min[i]));
                    (min, max)
                }
                // A point query on a stored corner.
                4 => {
                    let r = self.live[rng.gen_range(0..self.live.len())];
                    (r.max, r.max)
                }
                // Half-infinite on some axes.
                _ => {
                    let c: [f64; D] = std::array::from_fn(|a| lo[a] + rng.gen::<f64>() * span[a]);
                    let min = std::array::from_fn(|a| {
                        if rng.gen_bool(0.5) {
                            f64::NEG_INFINITY
                        } else {
                            c[a]
                        }
                    });
                    let max = std::array::from_fn(|a| {
                        if min[a] == f64::NEG_INFINITY || rng.gen_bool(0.3) {
                            c[a] + 0.05 * span[a]
                        } else {
                            f64::INFINITY
                        }
                    });
                    (min, max)
                }
            };
            self.compare_window(&qmin, &qmax, qi % 10 == 0);
        }
        let n = self.live.len();
        for qi in 0..60 {
            let p: [f64; D] = if qi % 4 == 0 {
                self.live[rng.gen_range(0..n)].min
            } else {
                std::array::from_fn(|a| lo[a] - 0.1 * span[a] + rng.gen::<f64>() * 1.2 * span[a])
            };
            let k = [0, 1, 10, 100, n + 3][qi % 5];
            self.compare_knn(&p, k);
        }
    }

    fn extent_lo(&self) -> [f64; D] {
        std::array::from_fn(|a| {
            self.live
                .iter()
                .map(|r| r.min[a])
                .fold(f64::INFINITY, f64::min)
        })
    }

    fn extent_hi(&self) -> [f64; D] {
        std::array::from_fn(|a| {
            self.live
                .iter()
                .map(|r| r.max[a])
                .fold(f64::NEG_INFINITY, f64::max)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

fn run<const D: usize>(dist: Dist, case: u64) {
    const N: usize = 3_000;
    let base = test_seed(DEFAULT_SEED);
    let variants = [
        (Load::OneByOne, None),
        (Load::Batches, None),
        (Load::OneByOne, Some(SMALL_NODE_SIZE)),
        (Load::Batches, Some(SMALL_NODE_SIZE)),
    ];
    for (vi, (load, node_size)) in variants.into_iter().enumerate() {
        let seed = base ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (vi as u64 + 1);
        let nodes = node_size.map_or("default nodes".to_string(), |s| format!("{s}-byte nodes"));
        let ctx = format!(
            "{dist:?} {D}-D {load:?} {nodes} (case seed {seed:#x}; rerun with XTREE_TEST_SEED={base:#x})"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let recs = generate::<D>(dist, N, &mut rng);
        let mut h = Harness::<D>::new(ctx.clone(), node_size);

        match load {
            Load::OneByOne => {
                for r in &recs {
                    h.insert_one(*r);
                }
            }
            Load::Batches => {
                let (first, rest) = recs.split_at(N * 6 / 10);
                let (second, rest) = rest.split_at(N * 2 / 10);
                h.insert_batch(first);
                h.insert_batch(second);
                for r in rest {
                    h.insert_one(*r);
                }
            }
        }
        h.check(&|| "loading".to_string());
        h.ctx = format!("{ctx} [after loading]");
        h.compare_all(&mut rng);

        // Delete a random third; an absent record now and then.
        let mut victims = h.live.clone();
        victims.shuffle(&mut rng);
        victims.truncate(h.live.len() / 3);
        for (i, r) in victims.into_iter().enumerate() {
            h.delete(r);
            if i % 50 == 0 {
                let mut ghost = r;
                ghost.max[0] += 0.25;
                if !h.live.contains(&ghost) {
                    h.delete_absent(ghost);
                }
            }
        }
        // Move a few records.
        for _ in 0..30 {
            let old = h.live[rng.gen_range(0..h.live.len())];
            let min: [f64; D] = std::array::from_fn(|a| old.min[a] + rng.gen_range(-20.0..20.0));
            let max = std::array::from_fn(|a| min[a] + (old.max[a] - old.min[a]));
            h.update(old, Rec { min, max, ..old });
        }
        h.check(&|| "deleting a third and updating 30".to_string());
        h.ctx = format!("{ctx} [after deletes and updates]");
        h.compare_all(&mut rng);
    }
}

#[test]
fn uniform_points_2d() {
    run::<2>(Dist::UniformPoints, 1);
}

#[test]
fn uniform_points_3d() {
    run::<3>(Dist::UniformPoints, 2);
}

#[test]
fn uniform_boxes_2d() {
    run::<2>(Dist::UniformBoxes, 3);
}

#[test]
fn uniform_boxes_3d() {
    run::<3>(Dist::UniformBoxes, 4);
}

#[test]
fn clustered_points_2d() {
    run::<2>(Dist::ClusteredPoints, 5);
}

#[test]
fn clustered_points_3d() {
    run::<3>(Dist::ClusteredPoints, 6);
}

#[test]
fn heavy_duplicates_2d() {
    run::<2>(Dist::HeavyDuplicates, 7);
}

#[test]
fn heavy_duplicates_3d() {
    run::<3>(Dist::HeavyDuplicates, 8);
}

#[test]
fn degenerate_boxes_2d() {
    run::<2>(Dist::DegenerateBoxes, 9);
}

#[test]
fn degenerate_boxes_3d() {
    run::<3>(Dist::DegenerateBoxes, 10);
}
