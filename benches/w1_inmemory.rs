//! The in-memory index against rstar 0.12 on the standard workloads (BENCHMARKS.md), peers in
//! the same process and the same run:
//!
//! - W1, N = 1,000,000 uniform 2-D points, precision 64 (rstar: `GeomWithData<[f64; 2], u64>`,
//!   the row id being the data, so both sides answer with row ids; the build benches also time
//!   rstar on bare `[f64; 2]` points, for information);
//! - (a) one-by-one insert into a fresh index: `Index::insert_point` per point vs `RTree::insert`;
//! - (b) bulk load: `Index::insert_points` on a fresh index vs `RTree::bulk_load`;
//! - (c) W2 window queries covering 0.01 % (= the W1 10×10 boxes, 10,000 of them), 1 % (1,000)
//!   and 10 % (100) of the area, on a bulk-loaded tree of each: `Index::search` vs
//!   `locate_in_envelope_intersecting` collected into a `Vec<u64>`;
//! - (d) W3 kNN, k = 10, from the 10,000 W1 query points: `Index::nearest` vs
//!   `nearest_neighbor_iter().take(10)` collected into a `Vec<u64>`.
//!
//! Before timing, the hit totals are asserted equal between the two (and, for the W1 boxes, to
//! the ground truth 998,246), and every kNN answer's distance multiset is asserted equal.
//!
//! Run: `cargo bench --bench w1_inmemory`. After criterion's report the bench prints a plain
//! table of the medians of this run (per build, per query), the rstar/xtree speed ratio, the
//! target for it, and p50/p99 latencies of single queries.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{labels, w1_ground_truth, w1_stream_after, w2_windows, Window, W1, W1_EXTENT};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use xtree::{Index, SearchType};

const N: usize = 1_000_000;
const Q: usize = 10_000;
const PRECISION: u32 = 64;
const K: usize = 10;

type PeerItem = GeomWithData<[f64; 2], u64>;

// ---------------------------------------------------------------------------------------------
// Our own record of every timed operation, for the ratio table printed after criterion.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Xtree,
    Rstar,
    RstarBare,
}

/// The workloads of the table, in print order, with the speed-up over rstar the issue targets
/// (rstar's time / ours): insert ≤ 0.8× rstar's time, bulk ≤ rstar's, windows ≥ 1.5× rstar's
/// throughput, kNN ≥ rstar's.
const WORKLOADS: [(&str, &str, f64); 6] = [
    (INSERT, "points", 1.0 / 0.8),
    (BULK, "points", 1.0),
    ("window 0.01% (W1 10x10)", "queries", 1.5),
    ("window 1%", "queries", 1.5),
    ("window 10%", "queries", 1.5),
    (KNN, "queries", 1.0),
];
const INSERT: &str = "insert 1M one by one";
const BULK: &str = "bulk load 1M";
const KNN: &str = "kNN k=10";

/// Seconds per operation (a whole build, or one query), every timed call; key (workload, who).
static TIMES: Mutex<BTreeMap<(&'static str, Who), Vec<f64>>> = Mutex::new(BTreeMap::new());
/// Single-query latencies in seconds from an untimed-by-criterion pass, key (workload, who).
static LATENCIES: Mutex<BTreeMap<(&'static str, Who), Vec<f64>>> = Mutex::new(BTreeMap::new());
/// Lines about hit counts and checks, printed with the table.
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(workload: &'static str, who: Who, secs_per_op: f64) {
    TIMES
        .lock()
        .expect("not poisoned")
        .entry((workload, who))
        .or_default()
        .push(secs_per_op);
}

fn note(line: String) {
    println!("{line}");
    NOTES.lock().expect("not poisoned").push(line);
}

fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    s[i]
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

fn new_index() -> Index {
    Index::new(2, PRECISION, labels(2)).expect("valid options")
}

fn insert_one_by_one(index: &Index, points: &[[f64; 2]]) {
    for (i, p) in points.iter().enumerate() {
        index.insert_point(i as u64, p).expect("valid point");
    }
}

fn peer_items(points: &[[f64; 2]]) -> Vec<PeerItem> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| GeomWithData::new(*p, i as u64))
        .collect()
}

/// Criterion settings for benches whose single iteration takes about a second or more:
/// flat sampling (the same iteration count in every sample), 10 samples, a warm-up of one call.
fn slow_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1));
    g
}

/// Runs `iters` builds, each on fresh state from `setup`, timing only `build`, and records
/// each build under (workload, who). Teardown (drop) is not timed.
fn time_builds<S, T>(
    iters: u64,
    workload: &'static str,
    who: Who,
    setup: &mut impl FnMut() -> S,
    build: &mut impl FnMut(S) -> T,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let state = setup();
        let start = Instant::now();
        let built = build(state);
        let elapsed = start.elapsed();
        black_box(&built);
        drop(built);
        record(workload, who, elapsed.as_secs_f64());
        total += elapsed;
    }
    total
}

/// One build bench: a first untimed build (warms the allocator and gives the duration, so that
/// the group's measurement time fits 10 single-build samples), then criterion's samples.
/// Returns the first build for inspection.
fn bench_build<S, T>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    workload: &'static str,
    who: Who,
    mut setup: impl FnMut() -> S,
    mut build: impl FnMut(S) -> T,
) -> T {
    let state = setup();
    let start = Instant::now();
    let first = build(state);
    let once = start.elapsed();
    g.measurement_time((once * 11).max(Duration::from_secs(1)));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| time_builds(iters, workload, who, &mut setup, &mut build))
    });
    first
}

fn bench_builds(c: &mut Criterion, data: &W1) {
    let ids = data.row_ids();
    let coords = data.coords();
    let items = peer_items(&data.points);

    let mut g = slow_group(c, "w1_insert_1m");
    g.throughput(Throughput::Elements(N as u64));
    let index = bench_build(
        &mut g,
        "xtree/insert_point",
        INSERT,
        Who::Xtree,
        new_index,
        |index| {
            insert_one_by_one(&index, &data.points);
            index
        },
    );
    note(format!("{INSERT}: xtree check() = {:?}", index.check()));
    drop(index);
    bench_build(
        &mut g,
        "rstar/insert",
        INSERT,
        Who::Rstar,
        || items.clone(),
        |items| {
            let mut tree = RTree::new();
            for it in items {
                tree.insert(it);
            }
            tree
        },
    );
    bench_build(
        &mut g,
        "rstar_bare_points/insert",
        INSERT,
        Who::RstarBare,
        || (),
        |()| {
            let mut tree = RTree::new();
            for p in &data.points {
                tree.insert(*p);
            }
            tree
        },
    );
    g.finish();

    let mut g = slow_group(c, "w1_bulk_1m");
    g.throughput(Throughput::Elements(N as u64));
    bench_build(
        &mut g,
        "xtree/insert_points",
        BULK,
        Who::Xtree,
        new_index,
        |index| {
            index.insert_points(&ids, &coords).expect("valid points");
            index
        },
    );
    bench_build(
        &mut g,
        "rstar/bulk_load",
        BULK,
        Who::Rstar,
        || items.clone(),
        RTree::bulk_load,
    );
    bench_build(
        &mut g,
        "rstar_bare_points/bulk_load",
        BULK,
        Who::RstarBare,
        || data.points.clone(),
        RTree::bulk_load,
    );
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

fn ours_window(index: &Index, w: &Window) -> Vec<u64> {
    index
        .search(SearchType::Intersects, &w.min, &w.max)
        .expect("valid window")
}

fn peer_window(tree: &RTree<PeerItem>, w: &Window) -> Vec<u64> {
    tree.locate_in_envelope_intersecting(&AABB::from_corners(w.min, w.max))
        .map(|it| it.data)
        .collect()
}

fn ours_knn(index: &Index, p: &[f64; 2]) -> Vec<u64> {
    index.nearest(p, K).expect("valid point")
}

fn peer_knn(tree: &RTree<PeerItem>, p: &[f64; 2]) -> Vec<u64> {
    tree.nearest_neighbor_iter(p)
        .take(K)
        .map(|it| it.data)
        .collect()
}

/// Per-query latencies of both sides, interleaved query by query.
fn latencies<T>(
    workload: &'static str,
    inputs: &[T],
    mut ours: impl FnMut(&T) -> Vec<u64>,
    mut peer: impl FnMut(&T) -> Vec<u64>,
) {
    let mut a = Vec::with_capacity(inputs.len());
    let mut b = Vec::with_capacity(inputs.len());
    for x in inputs {
        let t = Instant::now();
        black_box(ours(x));
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(peer(x));
        b.push(t.elapsed().as_secs_f64());
    }
    let mut l = LATENCIES.lock().expect("not poisoned");
    l.insert((workload, Who::Xtree), a);
    l.insert((workload, Who::Rstar), b);
}

/// Criterion settings for query batches (one iteration = the whole query set).
fn query_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    queries: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(queries as u64));
    g
}

/// Times `iters` passes over `inputs`, recording seconds per query for each pass.
fn time_batches<T>(
    iters: u64,
    workload: &'static str,
    who: Who,
    inputs: &[T],
    mut run: impl FnMut(&T) -> Vec<u64>,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        for x in inputs {
            black_box(run(x));
        }
        let elapsed = start.elapsed();
        record(workload, who, elapsed.as_secs_f64() / inputs.len() as f64);
        total += elapsed;
    }
    total
}

fn bench_queries(c: &mut Criterion, data: &W1) {
    let index = new_index();
    index
        .insert_points(&data.row_ids(), &data.coords())
        .expect("valid points");
    let stats = index.check();
    assert!(stats.is_ok(), "check() of the bulk-loaded tree: {stats:?}");
    note(format!("{BULK}: xtree check() = {stats:?}"));
    let tree = RTree::bulk_load(peer_items(&data.points));

    // W2 windows: 0.01 % is the W1 query set itself; the larger ones continue the stream
    // after the points (their counts keep each batch around 10-100 ms).
    let extent = Window::new([0.0, 0.0], [W1_EXTENT, W1_EXTENT]);
    let window_sets: [(&'static str, Vec<Window>); 3] = [
        (WORKLOADS[2].0, data.queries.clone()),
        (
            WORKLOADS[3].0,
            w2_windows(&mut w1_stream_after(N), extent, 0.01, 1_000),
        ),
        (
            WORKLOADS[4].0,
            w2_windows(&mut w1_stream_after(N), extent, 0.1, 100),
        ),
    ];

    for (workload, windows) in &window_sets {
        let ours: u64 = windows
            .iter()
            .map(|w| ours_window(&index, w).len() as u64)
            .sum();
        let peer: u64 = windows
            .iter()
            .map(|w| peer_window(&tree, w).len() as u64)
            .sum();
        assert_eq!(ours, peer, "{workload}: total hits xtree vs rstar");
        let mut line = format!(
            "{workload}: {} windows, total hits xtree {ours} = rstar {peer}",
            windows.len()
        );
        if *workload == WORKLOADS[2].0 {
            let truth = w1_ground_truth(N, Q).expect("published");
            assert_eq!(ours, truth, "{workload}: total hits vs the W1 ground truth");
            line.push_str(&format!(" = ground truth {truth}"));
        }
        note(line);
        latencies(
            workload,
            windows,
            |w| ours_window(&index, w),
            |w| peer_window(&tree, w),
        );

        let mut g = query_group(c, "w2_window_uniform_1m", windows.len());
        let label = workload.split_whitespace().nth(1).expect("a size");
        g.bench_function(BenchmarkId::new("xtree/search", label), |b| {
            b.iter_custom(|iters| {
                time_batches(iters, workload, Who::Xtree, windows, |w| {
                    ours_window(&index, w)
                })
            })
        });
        g.bench_function(
            BenchmarkId::new("rstar/locate_in_envelope_intersecting", label),
            |b| {
                b.iter_custom(|iters| {
                    time_batches(iters, workload, Who::Rstar, windows, |w| {
                        peer_window(&tree, w)
                    })
                })
            },
        );
        g.finish();
    }

    // kNN: the distance multisets must agree (rstar orders ties arbitrarily).
    let knn_points = data.knn_points();
    let d2 = |p: &[f64; 2], id: u64| {
        let q = data.points[id as usize];
        common::dist2_point_box(p, &q, &q)
    };
    for p in &knn_points {
        let mut a: Vec<f64> = ours_knn(&index, p).iter().map(|&id| d2(p, id)).collect();
        let mut b: Vec<f64> = peer_knn(&tree, p).iter().map(|&id| d2(p, id)).collect();
        assert!(
            a.windows(2).all(|w| w[0] <= w[1]),
            "kNN {p:?}: xtree's answer is not nearest first"
        );
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        assert_eq!(a, b, "kNN k={K} at {p:?}: distances xtree vs rstar");
    }
    note(format!(
        "{KNN}: {} query points, distance multisets xtree = rstar for every query",
        knn_points.len()
    ));
    latencies(
        KNN,
        &knn_points,
        |p| ours_knn(&index, p),
        |p| peer_knn(&tree, p),
    );
    let mut g = query_group(c, "w3_knn10_uniform_1m", knn_points.len());
    g.bench_function("xtree/nearest", |b| {
        b.iter_custom(|iters| {
            time_batches(iters, KNN, Who::Xtree, &knn_points, |p| ours_knn(&index, p))
        })
    });
    g.bench_function("rstar/nearest_neighbor_iter", |b| {
        b.iter_custom(|iters| {
            time_batches(iters, KNN, Who::Rstar, &knn_points, |p| peer_knn(&tree, p))
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

fn fmt_time(secs: f64) -> String {
    if !secs.is_finite() {
        "-".to_string()
    } else if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else {
        format!("{:.2} µs", secs * 1e6)
    }
}

fn fmt_rate(per_op_secs: f64, unit: &str, ops_per_op: f64) -> String {
    if !per_op_secs.is_finite() {
        return "-".to_string();
    }
    let rate = ops_per_op / per_op_secs;
    if rate >= 1e6 {
        format!("{:.2}M {unit}/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k {unit}/s", rate / 1e3)
    } else {
        format!("{rate:.1} {unit}/s")
    }
}

fn print_table() {
    let times = TIMES.lock().expect("not poisoned");
    let lat = LATENCIES.lock().expect("not poisoned");
    let med = |w: &str, who: Who| {
        times
            .iter()
            .find(|((tw, tv), _)| *tw == w && *tv == who)
            .map_or(f64::NAN, |(_, v)| median(v))
    };
    let samples = |w: &str, who: Who| {
        times
            .iter()
            .find(|((tw, tv), _)| *tw == w && *tv == who)
            .map_or(0, |(_, v)| v.len())
    };

    println!();
    println!(
        "== xtree vs rstar 0.12: W1 N = {N}, 2-D, precision 64; medians of this run's timed calls =="
    );
    println!(
        "{:<25} {:>11} {:>11} {:>16} {:>16} {:>9} {:>9} {:>4}",
        "workload", "xtree/op", "rstar/op", "xtree rate", "rstar rate", "speed-up", "target", "met"
    );
    for (w, unit, target) in WORKLOADS {
        let ours = med(w, Who::Xtree);
        let peer = med(w, Who::Rstar);
        // A build op is the whole 1M build; a query op is one query.
        let per = if unit == "points" { N as f64 } else { 1.0 };
        let speed = peer / ours;
        let met = if speed.is_finite() {
            if speed >= target {
                "yes"
            } else {
                "NO"
            }
        } else {
            "-"
        };
        println!(
            "{:<25} {:>11} {:>11} {:>16} {:>16} {:>8.2}x {:>8.2}x {:>4}",
            w,
            fmt_time(ours),
            fmt_time(peer),
            fmt_rate(ours, unit, per),
            fmt_rate(peer, unit, per),
            speed,
            target,
            met
        );
    }
    println!("speed-up = rstar's median time / xtree's (higher is better for xtree);");
    println!("target: insert time <= 0.8x rstar's (speed-up >= 1.25), bulk load <= rstar's,");
    println!("window throughput >= 1.5x rstar's, kNN(10) throughput >= rstar's.");
    for w in [INSERT, BULK] {
        let bare = med(w, Who::RstarBare);
        if bare.is_finite() {
            println!(
                "  (info) {w}: rstar on bare [f64; 2] points (no row ids): {} (xtree speed-up {:.2}x)",
                fmt_time(bare),
                bare / med(w, Who::Xtree)
            );
        }
    }
    let counts: Vec<String> = WORKLOADS
        .iter()
        .map(|(w, _, _)| format!("{w}: {}/{}", samples(w, Who::Xtree), samples(w, Who::Rstar)))
        .collect();
    println!("  timed calls xtree/rstar: {}", counts.join(", "));

    if !lat.is_empty() {
        println!();
        println!("== single-query latency (one untimed-by-criterion pass, queries interleaved) ==");
        println!(
            "{:<25} {:>11} {:>11} {:>11} {:>11}",
            "workload", "xtree p50", "xtree p99", "rstar p50", "rstar p99"
        );
        for (w, unit, _) in WORKLOADS {
            if unit != "queries" {
                continue;
            }
            let (Some(a), Some(b)) = (lat.get(&(w, Who::Xtree)), lat.get(&(w, Who::Rstar))) else {
                continue;
            };
            println!(
                "{:<25} {:>11} {:>11} {:>11} {:>11}",
                w,
                fmt_time(percentile(a, 0.5)),
                fmt_time(percentile(a, 0.99)),
                fmt_time(percentile(b, 0.5)),
                fmt_time(percentile(b, 0.99))
            );
        }
    }
    let notes = NOTES.lock().expect("not poisoned");
    if !notes.is_empty() {
        println!();
        println!("== checks ==");
        for n in notes.iter() {
            println!("{n}");
        }
    }
}

/// The load averages, for judging the noise of a run on a shared machine.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn main() {
    note(format!("load average at start: {}", loadavg()));
    let data = W1::generate(N, Q);
    let mut c = Criterion::default().configure_from_args();
    bench_builds(&mut c, &data);
    bench_queries(&mut c, &data);
    c.final_summary();
    note(format!("load average at end: {}", loadavg()));
    print_table();
}
