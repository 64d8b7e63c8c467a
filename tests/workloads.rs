//! Ground truth of the standard workloads (BENCHMARKS.md W1): the index must return exactly the
//! published hit totals, at precision 32 and 64, whether the points arrive one by one
//! (`insert_point`) or in one batch on an empty index (`insert_points`, bulk-loaded), and the
//! invariant checker must pass on the built tree.
//!
//! The whole file takes about 5 s in release and 20 s in debug builds on the 2-core machines.

mod common;

use common::{
    labels, w1_ground_truth, w1_points, w1_queries, w2_uniform, BruteForce, SplitMix64, Window, W1,
};
use xtree::{Index, SearchType};

#[derive(Debug, Clone, Copy)]
enum Load {
    /// `insert_point` per point, in row order.
    OneByOne,
    /// One `insert_points` call on the empty index.
    Bulk,
}

fn build(w1: &W1, precision: u32, load: Load) -> Index {
    let index = Index::new(2, precision, labels(2)).expect("valid options");
    match load {
        Load::OneByOne => {
            for (i, p) in w1.points.iter().enumerate() {
                index
                    .insert_point(i as u64, p)
                    .unwrap_or_else(|e| panic!("insert_point({i}, {p:?}): {e}"));
            }
        }
        Load::Bulk => index
            .insert_points(&w1.row_ids(), &w1.coords())
            .unwrap_or_else(|e| panic!("insert_points of {} points: {e}", w1.points.len())),
    }
    assert_eq!(
        index.len(),
        w1.points.len() as u64,
        "len after {load:?} load"
    );
    if let Err(e) = index.check() {
        panic!(
            "check() after {load:?} load of {} W1 points at precision {precision}: {e}",
            w1.points.len()
        );
    }
    index
}

fn search(index: &Index, w: &Window) -> Vec<u64> {
    index
        .search(SearchType::Intersects, &w.min, &w.max)
        .unwrap_or_else(|e| panic!("search {w:?}: {e}"))
}

/// Builds W1 with `n` points and `q` queries, checks the total against the ground truth, that
/// `count` agrees with `search`, and (if `brute`) every answer against a full scan.
fn run_w1(n: usize, q: usize, precision: u32, load: Load, brute: bool) {
    let expected = w1_ground_truth(n, q).expect("a published W1 size");
    let w1 = W1::generate(n, q);
    let index = build(&w1, precision, load);

    let oracle = brute.then(|| {
        let mut o = BruteForce::new(2, precision);
        for (i, p) in w1.points.iter().enumerate() {
            o.insert_point(i as u64, p);
        }
        o
    });

    let mut total = 0u64;
    let mut total_count = 0u64;
    for (qi, w) in w1.queries.iter().enumerate() {
        let mut got = search(&index, w);
        total += got.len() as u64;
        total_count += index
            .count(SearchType::Intersects, &w.min, &w.max)
            .unwrap_or_else(|e| panic!("count {w:?}: {e}"));
        if let Some(o) = &oracle {
            got.sort_unstable();
            let want = o.search(SearchType::Intersects, &w.min, &w.max);
            if let Some(d) = common::sorted_ids_diff(&got, &want) {
                panic!("W1 N={n} precision {precision} {load:?}: query {qi} {w:?} differs from a full scan: {d}");
            }
        }
    }
    assert_eq!(
        total, expected,
        "W1 N={n} Q={q} precision {precision} {load:?}: total hits of search()"
    );
    assert_eq!(
        total_count, expected,
        "W1 N={n} Q={q} precision {precision} {load:?}: total of count()"
    );
}

#[test]
fn splitmix64_check_value() {
    let mut rng = SplitMix64::w1();
    let p = w1_points(&mut rng, 1)[0];
    assert_eq!(
        format!("({:.6}, {:.6})", p[0], p[1]),
        "(741.564880, 159.910400)"
    );
    // The points are f32 values, so f32 and f64 indexes hold the same data.
    assert_eq!(p[0], p[0] as f32 as f64);
    assert_eq!(p[1], p[1] as f32 as f64);
}

/// The generator alone (no index) reproduces the published totals, so a mismatch in the index
/// tests below is the index's, not the workload's.
#[test]
fn w1_generator_matches_ground_truth_by_full_scan() {
    for (n, q) in [(20_000, 1_000), (150_000, 1_000)] {
        let mut rng = SplitMix64::w1();
        let points = w1_points(&mut rng, n);
        let queries = w1_queries(&mut rng, q);
        let total: u64 = queries
            .iter()
            .map(|w| {
                points
                    .iter()
                    .filter(|p| common::intersects(&p[..], &p[..], &w.min, &w.max))
                    .count() as u64
            })
            .sum();
        assert_eq!(
            Some(total),
            w1_ground_truth(n, q),
            "W1 N={n} Q={q} by full scan"
        );
    }
}

/// W2 at 0.01 % of the uniform extent is W1's query generator (side 10), so W1's ground truth
/// carries over to the W2 benches.
#[test]
fn w2_smallest_windows_are_w1_queries() {
    let w1 = W1::generate(20_000, 1_000);
    let (points, windows) = w2_uniform(20_000, 0.0001, 1_000);
    assert_eq!(points, w1.points);
    assert_eq!(windows, w1.queries);
    let (_, big) = w2_uniform(1_000, 0.1, 100);
    for w in &big {
        assert!((w.area() / 1e6 - 0.1).abs() < 1e-6, "area of {w:?}");
        assert!(w.min[0] >= 0.0 && w.min[1] >= 0.0 && w.max[0] <= 1000.0 && w.max[1] <= 1000.0);
    }
}

#[test]
fn w1_20k_precision32_one_by_one() {
    run_w1(20_000, 1_000, 32, Load::OneByOne, true);
}

#[test]
fn w1_20k_precision32_bulk() {
    run_w1(20_000, 1_000, 32, Load::Bulk, true);
}

#[test]
fn w1_20k_precision64_one_by_one() {
    run_w1(20_000, 1_000, 64, Load::OneByOne, true);
}

#[test]
fn w1_20k_precision64_bulk() {
    run_w1(20_000, 1_000, 64, Load::Bulk, true);
}

#[test]
fn w1_150k_precision32_one_by_one() {
    run_w1(150_000, 1_000, 32, Load::OneByOne, false);
}

#[test]
fn w1_150k_precision32_bulk() {
    run_w1(150_000, 1_000, 32, Load::Bulk, false);
}

#[test]
fn w1_150k_precision64_one_by_one() {
    run_w1(150_000, 1_000, 64, Load::OneByOne, false);
}

#[test]
fn w1_150k_precision64_bulk() {
    run_w1(150_000, 1_000, 64, Load::Bulk, false);
}

#[test]
fn w1_1m_precision64_bulk() {
    run_w1(1_000_000, 10_000, 64, Load::Bulk, false);
}

#[test]
fn w1_1m_precision32_bulk() {
    run_w1(1_000_000, 10_000, 32, Load::Bulk, false);
}
