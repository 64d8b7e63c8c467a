//! kNN and insert in higher dimensions (issue 9's high-dimension table): the in-memory index
//! against rstar 0.12 (`GeomWithData<[f64; D], u64>`, bulk-loaded) and against a linear scan of
//! the same points (row-major `f64`, squared distances with partial-distance early exit and a
//! k-best heap), peers in the same process and the same run.
//!
//! - d = 2, 4, 8, 16, 32, 64; N = 200,000 points per set (`XTREE_BENCH_HIGHD_N` to change);
//!   precision 64;
//! - uniform: each coordinate uniform in [0, 1); clustered: 50 centres uniform in [0, 1)^d,
//!   each point a centre plus a Gaussian offset of σ = 0.02 per axis (SplitMix64 seeds, so the
//!   sets are the same on every run);
//! - 200 query points from the same distribution (another seed), k = 10; the three answers'
//!   distance multisets are asserted equal before timing;
//! - one-by-one insert at d = 64 of the first 20,000 uniform points
//!   (`XTREE_BENCH_HIGHD_INSERT_N`), `Index::insert_point` vs `RTree::insert`.
//!
//! Run: `cargo bench --bench high_dim`; the table after criterion's report gives each peer's
//! median time divided by ours (> 1: we are faster).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{gaussian_pair, labels, loadavg, median, SplitMix64};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use rstar::primitives::GeomWithData;
use rstar::RTree;
use xtree::Index;

const K: usize = 10;
const QUERIES: usize = 200;
const CLUSTERS: usize = 50;
const SIGMA: f64 = 0.02;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Xtree,
    Rstar,
    Scan,
}

/// Seconds per query (or per insert) of every timed pass; key (d, distribution, workload, who).
type Key = (usize, &'static str, &'static str, Who);
static TIMES: Mutex<BTreeMap<Key, Vec<f64>>> = Mutex::new(BTreeMap::new());
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn note(line: String) {
    println!("{line}");
    NOTES.lock().expect("not poisoned").push(line);
}

/// `n` points of dimension `d`, row-major.
fn points(d: usize, n: usize, clustered: bool, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    if !clustered {
        return (0..n * d).map(|_| rng.next_f64()).collect();
    }
    // The centres come from a fixed stream, so queries (another seed) share them.
    let mut crng = SplitMix64::new(7 + d as u64);
    let centres: Vec<f64> = (0..CLUSTERS * d).map(|_| crng.next_f64()).collect();
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = rng.below(CLUSTERS);
        let mut a = 0;
        while a < d {
            let (g1, g2) = gaussian_pair(&mut rng);
            out.push(centres[c * d + a] + SIGMA * g1);
            if a + 1 < d {
                out.push(centres[c * d + a + 1] + SIGMA * g2);
            }
            a += 2;
        }
    }
    out
}

/// The linear scan: the `k` nearest rows of `data` (row-major, dimension `d`) to `q`, as
/// (squared distance, row) nearest first, ties by row.
fn scan_knn(data: &[f64], d: usize, q: &[f64], k: usize) -> Vec<(f64, u64)> {
    // Max-heap of the k best (distance bits order = value order for non-negative f64).
    let mut best: BinaryHeap<(u64, u64)> = BinaryHeap::with_capacity(k + 1);
    let mut bound = f64::INFINITY;
    for (row, p) in data.chunks_exact(d).enumerate() {
        let mut s = 0.0;
        let mut out = false;
        // Partial distances, checked every 8 axes.
        for (cp, cq) in p.chunks(8).zip(q.chunks(8)) {
            for (x, y) in cp.iter().zip(cq) {
                let t = x - y;
                s += t * t;
            }
            if s > bound {
                out = true;
                break;
            }
        }
        if out {
            continue;
        }
        let item = (s.to_bits(), row as u64);
        if best.len() < k {
            best.push(item);
        } else if item < *best.peek().expect("k > 0") {
            best.pop();
            best.push(item);
        } else {
            continue;
        }
        if best.len() == k {
            bound = f64::from_bits(best.peek().expect("k > 0").0);
        }
    }
    let mut v: Vec<(f64, u64)> = best
        .into_iter()
        .map(|(b, r)| (f64::from_bits(b), r))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    v
}

fn dist2(data: &[f64], d: usize, row: u64, q: &[f64]) -> f64 {
    let p = &data[row as usize * d..(row as usize + 1) * d];
    p.iter().zip(q).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    g
}

fn bench_pass(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    key: Key,
    label: &str,
    per_pass: usize,
    mut run: impl FnMut(),
) {
    g.bench_function(BenchmarkId::new(format!("{:?}", key.3), label), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                run();
                let e = start.elapsed();
                TIMES
                    .lock()
                    .expect("not poisoned")
                    .entry(key)
                    .or_default()
                    .push(e.as_secs_f64() / per_pass as f64);
                total += e;
            }
            total
        })
    });
}

fn knn_set<const D: usize>(c: &mut Criterion, n: usize, clustered: bool) {
    let dist: &'static str = if clustered { "clustered" } else { "uniform" };
    let data = points(D, n, clustered, 1000 + D as u64);
    let queries = points(D, QUERIES, clustered, 2000 + D as u64);
    let index = Index::new(D, 64, labels(D)).expect("valid options");
    let ids: Vec<u64> = (0..n as u64).collect();
    index.insert_points(&ids, &data).expect("valid points");
    let items: Vec<GeomWithData<[f64; D], u64>> = data
        .chunks_exact(D)
        .enumerate()
        .map(|(i, p)| GeomWithData::new(p.try_into().expect("D coordinates"), i as u64))
        .collect();
    let tree = RTree::bulk_load(items);
    let stats = index.check().expect("a valid tree");

    for q in queries.chunks_exact(D) {
        let sorted = |rows: Vec<u64>| {
            let mut v: Vec<f64> = rows.iter().map(|&r| dist2(&data, D, r, q)).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let ours = sorted(index.nearest(q, K).expect("valid point"));
        let qa: [f64; D] = q.try_into().expect("D coordinates");
        let peer = sorted(
            tree.nearest_neighbor_iter(&qa)
                .take(K)
                .map(|it| it.data)
                .collect(),
        );
        let scan = sorted(scan_knn(&data, D, q, K).into_iter().map(|x| x.1).collect());
        assert_eq!(
            ours, peer,
            "d={D} {dist}: kNN distances xtree vs rstar at {q:?}"
        );
        assert_eq!(
            ours, scan,
            "d={D} {dist}: kNN distances xtree vs scan at {q:?}"
        );
    }
    note(format!(
        "d={D} {dist}: N={n}, {QUERIES} kNN(k={K}) answers equal across xtree, rstar, scan; \
         tree height {}, {} leaves, {} directories ({} supernodes)",
        stats.height, stats.leaves, stats.directories, stats.supernodes
    ));

    let mut g = group(c, &format!("high_dim_knn10_{dist}"));
    let label = format!("d={D}");
    bench_pass(
        &mut g,
        (D, dist, "knn", Who::Xtree),
        &label,
        QUERIES,
        || {
            for q in queries.chunks_exact(D) {
                black_box(index.nearest(q, K).expect("valid point"));
            }
        },
    );
    bench_pass(
        &mut g,
        (D, dist, "knn", Who::Rstar),
        &label,
        QUERIES,
        || {
            for q in queries.chunks_exact(D) {
                let qa: [f64; D] = q.try_into().expect("D coordinates");
                black_box(
                    tree.nearest_neighbor_iter(&qa)
                        .take(K)
                        .map(|it| it.data)
                        .collect::<Vec<u64>>(),
                );
            }
        },
    );
    bench_pass(&mut g, (D, dist, "knn", Who::Scan), &label, QUERIES, || {
        for q in queries.chunks_exact(D) {
            black_box(scan_knn(&data, D, q, K));
        }
    });
    g.finish();
}

fn insert_64(c: &mut Criterion, n: usize) {
    const D: usize = 64;
    let data = points(D, n, false, 1000 + D as u64);
    let mut g = c.benchmark_group("high_dim_insert");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    let label = format!("d=64 n={n}");
    bench_pass(
        &mut g,
        (D, "uniform", "insert", Who::Xtree),
        &label,
        n,
        || {
            let index = Index::new(D, 64, labels(D)).expect("valid options");
            for (i, p) in data.chunks_exact(D).enumerate() {
                index.insert_point(i as u64, p).expect("valid point");
            }
            black_box(index);
        },
    );
    bench_pass(
        &mut g,
        (D, "uniform", "insert", Who::Rstar),
        &label,
        n,
        || {
            let mut tree = RTree::new();
            for (i, p) in data.chunks_exact(D).enumerate() {
                let a: [f64; D] = p.try_into().expect("D coordinates");
                tree.insert(GeomWithData::new(a, i as u64));
            }
            black_box(tree);
        },
    );
    g.finish();
}

fn fmt_us(secs: f64) -> String {
    if secs.is_finite() {
        format!("{:.1} µs", secs * 1e6)
    } else {
        "-".to_string()
    }
}

fn print_table() {
    let times = TIMES.lock().expect("not poisoned");
    let med = |d, dist, w, who| {
        times
            .get(&(d, dist, w, who))
            .map_or(f64::NAN, |v| median(v))
    };
    println!();
    println!("== kNN k={K} in d dimensions, {QUERIES} queries; medians of this run ==");
    println!("ratio = the other's median time / xtree's (> 1: xtree is faster)");
    println!(
        "{:<4} {:<10} {:>12} {:>20} {:>20}",
        "d", "data", "xtree/query", "rstar", "linear scan"
    );
    for dist in ["uniform", "clustered"] {
        for d in [2, 4, 8, 16, 32, 64] {
            let ours = med(d, dist, "knn", Who::Xtree);
            let cell = |who| {
                let t = med(d, dist, "knn", who);
                format!("{} {:.2}x", fmt_us(t), t / ours)
            };
            println!(
                "{d:<4} {dist:<10} {:>12} {:>20} {:>20}",
                fmt_us(ours),
                cell(Who::Rstar),
                cell(Who::Scan)
            );
        }
    }
    let (ours, peer) = (
        med(64, "uniform", "insert", Who::Xtree),
        med(64, "uniform", "insert", Who::Rstar),
    );
    println!(
        "insert d=64, one by one: xtree {} per point, rstar {} per point: ratio {:.2}x \
         (target: xtree's time <= 2x rstar's, ratio >= 0.5)",
        fmt_us(ours),
        fmt_us(peer),
        peer / ours
    );
    println!("target: never slower than the linear scan, ahead of rstar");
    println!();
    println!("== checks ==");
    for n in NOTES.lock().expect("not poisoned").iter() {
        println!("{n}");
    }
}

fn main() {
    note(format!("load average at start: {}", loadavg()));
    let n = env_usize("XTREE_BENCH_HIGHD_N", 200_000);
    let mut c = Criterion::default().configure_from_args();
    for clustered in [false, true] {
        knn_set::<2>(&mut c, n, clustered);
        knn_set::<4>(&mut c, n, clustered);
        knn_set::<8>(&mut c, n, clustered);
        knn_set::<16>(&mut c, n, clustered);
        knn_set::<32>(&mut c, n, clustered);
        knn_set::<64>(&mut c, n, clustered);
    }
    insert_64(&mut c, env_usize("XTREE_BENCH_HIGHD_INSERT_N", 20_000));
    c.final_summary();
    note(format!("load average at end: {}", loadavg()));
    print_table();
}
