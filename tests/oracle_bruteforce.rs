//! Every query kind against a brute-force scan over the stored coordinates, on seeded random
//! data: uniform, clustered, many duplicate coordinates, degenerate boxes; 1, 2, 3, 8 and 64
//! dimensions; precision 32 and 64; after inserts (one by one and bulk), deletes and updates,
//! with the invariant checker after each phase.

mod common;

use common::{exact_dist2, exact_distance_f64};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xtree::{Index, IndexOptions, SearchType};

#[derive(Clone, Copy, Debug)]
enum Dist {
    Uniform,
    Clustered,
    Duplicates,
    Degenerate,
}

/// Stored form of a record at precision 32: points to nearest, boxes outward.
fn stored(prec: u32, min: &[f64], max: &[f64]) -> (Vec<f64>, Vec<f64>) {
    if prec == 64 {
        return (min.to_vec(), max.to_vec());
    }
    if min == max {
        let p: Vec<f64> = min.iter().map(|&x| x as f32 as f64).collect();
        return (p.clone(), p);
    }
    let down = |x: f64| {
        let f = x as f32;
        if (f as f64) > x {
            f32::from_bits(if f > 0.0 {
                f.to_bits() - 1
            } else if f == 0.0 {
                0x8000_0001
            } else {
                f.to_bits() + 1
            }) as f64
        } else {
            f as f64
        }
    };
    let up = |x: f64| -down(-x);
    (
        min.iter().map(|&x| down(x)).collect(),
        max.iter().map(|&x| up(x)).collect(),
    )
}

struct Model {
    d: usize,
    recs: Vec<(u64, Vec<f64>, Vec<f64>)>,
}

impl Model {
    fn matches(&self, ty: SearchType, qmin: &[f64], qmax: &[f64]) -> Vec<u64> {
        let d = self.d;
        let mut v: Vec<u64> = self
            .recs
            .iter()
            .filter(|(_, lo, hi)| {
                (0..d).all(|a| match ty {
                    SearchType::Intersects => lo[a] <= qmax[a] && hi[a] >= qmin[a],
                    SearchType::Contains => lo[a] <= qmin[a] && hi[a] >= qmax[a],
                    SearchType::Within => lo[a] >= qmin[a] && hi[a] <= qmax[a],
                })
            })
            .map(|r| r.0)
            .collect();
        v.sort_unstable();
        v
    }

    /// The k nearest by exact distance (big integers), ties by row id: (distance, id).
    fn knn(&self, p: &[f64], k: usize) -> Vec<(BigUint, u64)> {
        let mut v: Vec<(BigUint, u64)> = self
            .recs
            .iter()
            .map(|(id, lo, hi)| (exact_dist2(p, lo, hi), *id))
            .collect();
        v.sort();
        v.truncate(k);
        v
    }
}

fn gen_box(
    rng: &mut ChaCha8Rng,
    d: usize,
    dist: Dist,
    centres: &[Vec<f64>],
) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![0.0; d];
    let mut hi = vec![0.0; d];
    let point = rng.gen_bool(0.6);
    for a in 0..d {
        let c = match dist {
            Dist::Uniform | Dist::Degenerate => rng.gen_range(-100.0..100.0),
            Dist::Clustered => {
                centres[rng.gen_range(0..centres.len())][a] + rng.gen_range(-1.0..1.0f64).powi(3)
            }
            Dist::Duplicates => rng.gen_range(0..4) as f64 * 10.0,
        };
        let w = if point || (matches!(dist, Dist::Degenerate) && a % 2 == 0) {
            0.0
        } else {
            rng.gen_range(0.0..5.0)
        };
        lo[a] = c;
        hi[a] = c + w;
    }
    (lo, hi)
}

fn query_box(rng: &mut ChaCha8Rng, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![0.0; d];
    let mut hi = vec![0.0; d];
    for a in 0..d {
        match rng.gen_range(0..10) {
            0 => {
                lo[a] = f64::NEG_INFINITY;
                hi[a] = rng.gen_range(-100.0..100.0);
            }
            1 => {
                lo[a] = 10.0;
                hi[a] = 10.0;
            }
            _ => {
                let c: f64 = rng.gen_range(-110.0..110.0);
                let w = rng.gen_range(0.0..80.0);
                lo[a] = c - w / 2.0;
                hi[a] = c + w / 2.0;
            }
        }
    }
    (lo, hi)
}

fn verify(idx: &Index, m: &Model, rng: &mut ChaCha8Rng, ctx: &str, queries: usize) {
    let stats = idx.check().unwrap_or_else(|e| panic!("{ctx}: {e}"));
    eprintln!("{ctx}: {stats:?}");
    assert_eq!(stats.records, m.recs.len() as u64, "{ctx}");
    assert_eq!(idx.len(), m.recs.len() as u64, "{ctx}");
    let d = m.d;
    for q in 0..queries {
        let (lo, hi) = if q % 3 == 0 && !m.recs.is_empty() {
            // A query equal to a stored record, to exercise the boundaries.
            let r = &m.recs[rng.gen_range(0..m.recs.len())];
            (r.1.clone(), r.2.clone())
        } else {
            query_box(rng, d)
        };
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            let mut got = idx.search(ty, &lo, &hi).unwrap();
            got.sort_unstable();
            let want = m.matches(ty, &lo, &hi);
            assert_eq!(got, want, "{ctx}: {ty:?} query {q} {lo:?}..{hi:?}");
            assert_eq!(
                idx.count(ty, &lo, &hi).unwrap(),
                want.len() as u64,
                "{ctx}: count"
            );
            if q % 5 == 0 {
                let mut cur = idx.cursor(ty, &lo, &hi).unwrap();
                let mut paged = Vec::new();
                loop {
                    let page = cur.next_page(7).unwrap();
                    assert!(page.len() <= 7);
                    if page.is_empty() {
                        break;
                    }
                    paged.extend(page);
                }
                paged.sort_unstable();
                assert_eq!(paged, want, "{ctx}: cursor");
            }
        }
        let p: Vec<f64> = (0..d).map(|_| rng.gen_range(-120.0..120.0)).collect();
        let k = [1, 10, 100][q % 3];
        let got = idx.nearest_with_distance(&p, k).unwrap();
        let want = m.knn(&p, k);
        assert_eq!(got.len(), want.len(), "{ctx}: knn len");
        for (i, ((gid, gd), (ws, wid))) in got.iter().zip(&want).enumerate() {
            // The order is exact: ids agree position by position (ties by row id).
            assert_eq!(gid, wid, "{ctx}: knn {i} id");
            let wd = exact_distance_f64(ws);
            assert!(
                (gd - wd).abs() <= 1e-12 * wd,
                "{ctx}: knn {i} dist {gd} vs {wd}"
            );
        }
    }
}

fn run(d: usize, prec: u32, dist: Dist, n: usize, node_size: usize, seed: u64) {
    let ctx = format!("d={d} prec={prec} {dist:?} n={n} node={node_size} seed={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f64>> = (0..5)
        .map(|_| (0..d).map(|_| rng.gen_range(-90.0..90.0)).collect())
        .collect();
    let mut opts = IndexOptions::new(d, prec, (0..d).map(|a| format!("x{a}")).collect());
    opts.node_size = node_size;
    for bulk in [false, true] {
        let ctx = format!("{ctx} bulk={bulk}");
        let idx = Index::with_options(opts.clone()).unwrap();
        let mut m = Model {
            d,
            recs: Vec::new(),
        };
        let mut boxes = Vec::new();
        for i in 0..n {
            let (lo, hi) = gen_box(&mut rng, d, dist, &centres);
            let id = if matches!(dist, Dist::Duplicates) {
                (i % 50) as u64
            } else {
                i as u64
            };
            boxes.push((id, lo, hi));
        }
        if bulk {
            let ids: Vec<u64> = boxes.iter().map(|b| b.0).collect();
            let mins: Vec<f64> = boxes.iter().flat_map(|b| b.1.clone()).collect();
            let maxs: Vec<f64> = boxes.iter().flat_map(|b| b.2.clone()).collect();
            idx.insert_boxes(&ids, &mins, &maxs).unwrap();
        } else {
            for (id, lo, hi) in &boxes {
                idx.insert(*id, lo, hi).unwrap();
            }
        }
        for (id, lo, hi) in &boxes {
            let (slo, shi) = stored(prec, lo, hi);
            m.recs.push((*id, slo, shi));
        }
        verify(&idx, &m, &mut rng, &format!("{ctx} after insert"), 12);
        // Delete a third (some twice: the second must report false when no duplicate remains).
        for i in (0..n).step_by(3) {
            let (id, lo, hi) = &boxes[i];
            let existed = idx.delete(*id, lo, hi).unwrap();
            let (slo, shi) = stored(prec, lo, hi);
            let pos = m
                .recs
                .iter()
                .position(|r| r.0 == *id && r.1 == slo && r.2 == shi);
            assert_eq!(existed, pos.is_some(), "{ctx}: delete {i}");
            if let Some(p) = pos {
                m.recs.swap_remove(p);
            }
        }
        verify(&idx, &m, &mut rng, &format!("{ctx} after delete"), 8);
        // Update a few survivors.
        for i in (1..n).step_by(7) {
            let (id, lo, hi) = boxes[i].clone();
            let (nlo, nhi) = gen_box(&mut rng, d, dist, &centres);
            let (slo, shi) = stored(prec, &lo, &hi);
            let pos = m
                .recs
                .iter()
                .position(|r| r.0 == id && r.1 == slo && r.2 == shi);
            let ok = idx.update(id, &lo, &hi, &nlo, &nhi).unwrap();
            assert_eq!(ok, pos.is_some(), "{ctx}: update {i}");
            if let Some(p) = pos {
                m.recs.swap_remove(p);
                let (a, b) = stored(prec, &nlo, &nhi);
                m.recs.push((id, a, b));
                boxes[i] = (id, nlo, nhi);
            }
        }
        verify(&idx, &m, &mut rng, &format!("{ctx} after update"), 8);
    }
}

#[test]
fn one_dimension() {
    for dist in [Dist::Uniform, Dist::Duplicates] {
        run(1, 64, dist, 1500, 256, 1);
        run(1, 32, dist, 1500, 512, 2);
    }
}

#[test]
fn two_dimensions() {
    for (i, dist) in [
        Dist::Uniform,
        Dist::Clustered,
        Dist::Duplicates,
        Dist::Degenerate,
    ]
    .into_iter()
    .enumerate()
    {
        run(2, 64, dist, 3000, 512, 10 + i as u64);
        run(2, 32, dist, 3000, 4096, 20 + i as u64);
    }
}

#[test]
fn three_dimensions() {
    for (i, dist) in [Dist::Uniform, Dist::Clustered, Dist::Degenerate]
        .into_iter()
        .enumerate()
    {
        run(3, 64, dist, 2500, 1024, 30 + i as u64);
        run(3, 32, dist, 2500, 512, 40 + i as u64);
    }
}

#[test]
fn eight_dimensions() {
    for (i, dist) in [Dist::Uniform, Dist::Clustered, Dist::Duplicates]
        .into_iter()
        .enumerate()
    {
        run(8, 64, dist, 2000, 2048, 50 + i as u64);
        run(8, 32, dist, 2000, 1024, 60 + i as u64);
    }
}

#[test]
fn sixty_four_dimensions() {
    run(64, 64, Dist::Clustered, 800, 4096, 70);
    run(64, 32, Dist::Uniform, 800, 8192, 71);
}
