//! The in-memory index against rstar 0.12, geo-index 0.4 and kiddo 6 on the standard workloads
//! (BENCHMARKS.md), every peer in the same process and the same run (issue 9's table):
//!
//! - W1, N = 1,000,000 uniform 2-D points, precision 64; rstar holds
//!   `GeomWithData<[f64; 2], u64>` (the row id as data), geo-index a Hilbert-packed `RTree<f64>`
//!   (node size 16, its default) whose item index is the row id, kiddo an `ImmutableKdTree<f64, 2>`
//!   whose item is the row id;
//! - one-by-one insert into a fresh index: `Index::insert_point` per point, and the same inside
//!   one write session (`Index::writer`), vs `RTree::insert`;
//! - bulk load: `Index::insert_points` vs `RTree::bulk_load`, geo-index's builder (add + finish
//!   with Hilbert sort) and `ImmutableKdTree::new_from_slice`;
//! - W2 window queries covering 0.01 % (= the W1 10×10 boxes, 10,000 of them), 1 % (1,000) and
//!   10 % (100) of the area, on the bulk-loaded trees: `Index::search` vs rstar's
//!   `locate_in_envelope_intersecting` and geo-index's `search`, each collected into a `Vec`;
//! - W3 kNN, k = 1, 10 and 100, from the 10,000 W1 query points: `Index::nearest` vs rstar's
//!   `nearest_neighbor_iter().take(k)`, geo-index's `neighbors` and kiddo's `nearest_n`;
//! - resident memory per point (RSS growth over building the structure, divided by N, and the
//!   peak during the build), each structure built in a child process of its own.
//!
//! Before timing, every window's sorted hits are asserted equal across all contenders (and the
//! W1 total to the ground truth 998,246), and every kNN answer's distance multiset likewise.
//!
//! Run: `cargo bench --bench w1_inmemory`. After criterion's report the bench prints a plain
//! table of the medians of this run, each peer's time divided by ours (> 1: we are faster), and
//! the targets of issue 9. `XTREE_BENCH_SKIP_INSERT=1` skips the slow one-by-one inserts.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{
    labels, loadavg, median, w1_ground_truth, w1_stream_after, w2_windows, Window, W1, W1_EXTENT,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use geo_index::rtree::sort::HilbertSort;
use geo_index::rtree::{RTree as GeoTree, RTreeBuilder, RTreeIndex};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use xtree::{Index, IndexOptions, SearchType};

const N: usize = 1_000_000;
const Q: usize = 10_000;
const PRECISION: u32 = 64;
const KS: [usize; 3] = [1, 10, 100];

type PeerItem = GeomWithData<[f64; 2], u64>;
type Kiddo = ImmutableKdTree<f64, 2>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Xtree,
    /// Ours, one-by-one inside one write session.
    XtreeSession,
    Rstar,
    GeoIndex,
    Kiddo,
}

impl Who {
    const PEERS: [Who; 3] = [Who::Rstar, Who::GeoIndex, Who::Kiddo];

    fn name(self) -> &'static str {
        match self {
            Who::Xtree => "xtree",
            Who::XtreeSession => "xtree session",
            Who::Rstar => "rstar",
            Who::GeoIndex => "geo-index",
            Who::Kiddo => "kiddo",
        }
    }
}

const INSERT: &str = "insert 1M one by one";
const BULK: &str = "bulk load 1M";
const WIN: [&str; 3] = ["window 0.01%", "window 1%", "window 10%"];
const KNN: [&str; 3] = ["kNN k=1", "kNN k=10", "kNN k=100"];

/// Print order of the table, with issue 9's target for each row.
const ROWS: [(&str, &str); 8] = [
    (WIN[0], ">= 1.0x geo-index, >= 1.5x rstar"),
    (WIN[1], ">= 1.0x geo-index, >= 1.5x rstar"),
    (WIN[2], ">= 1.0x geo-index, >= 1.5x rstar"),
    (KNN[0], ">= 1.5x rstar, >= 1.0x geo-index"),
    (KNN[1], ">= 1.5x rstar, >= 1.0x geo-index"),
    (KNN[2], ">= 1.5x rstar, >= 1.0x geo-index"),
    (INSERT, ">= 1.0x rstar, session >= 1.5x"),
    (BULK, ">= 1.0x rstar and geo-index"),
];

/// Seconds per operation (a whole build, or one query) of every timed call.
static TIMES: Mutex<BTreeMap<(&'static str, Who), Vec<f64>>> = Mutex::new(BTreeMap::new());
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

// ---------------------------------------------------------------------------------------------
// The contenders' builds and queries
// ---------------------------------------------------------------------------------------------

fn new_index() -> Index {
    Index::with_options(IndexOptions::new(2, PRECISION, labels(2))).expect("valid options")
}

fn bulk_index(data: &W1) -> Index {
    let index = new_index();
    index
        .insert_points(&data.row_ids(), &data.coords())
        .expect("valid points");
    index
}

fn peer_items(points: &[[f64; 2]]) -> Vec<PeerItem> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| GeomWithData::new(*p, i as u64))
        .collect()
}

fn geo_build(points: &[[f64; 2]]) -> GeoTree<f64> {
    let mut b = RTreeBuilder::<f64>::new(points.len() as u32);
    for p in points {
        b.add(p[0], p[1], p[0], p[1]);
    }
    b.finish::<HilbertSort>()
}

fn kiddo_build(points: &[[f64; 2]]) -> Kiddo {
    Kiddo::new_from_slice(points).expect("a kiddo tree")
}

/// The structures the queries run on, built once.
struct Trees {
    xtree: Index,
    rstar: RTree<PeerItem>,
    geo: GeoTree<f64>,
    kiddo: Kiddo,
}

impl Trees {
    fn window(&self, who: Who, w: &Window) -> Vec<u64> {
        match who {
            Who::Xtree => self
                .xtree
                .search(SearchType::Intersects, &w.min, &w.max)
                .expect("valid window"),
            Who::Rstar => self
                .rstar
                .locate_in_envelope_intersecting(&AABB::from_corners(w.min, w.max))
                .map(|it| it.data)
                .collect(),
            Who::GeoIndex => self
                .geo
                .search(w.min[0], w.min[1], w.max[0], w.max[1])
                .into_iter()
                .map(u64::from)
                .collect(),
            _ => unreachable!("no window query for {who:?}"),
        }
    }

    fn knn(&self, who: Who, p: &[f64; 2], k: usize) -> Vec<u64> {
        match who {
            Who::Xtree => self.xtree.nearest(p, k).expect("valid point"),
            Who::Rstar => self
                .rstar
                .nearest_neighbor_iter(p)
                .take(k)
                .map(|it| it.data)
                .collect(),
            Who::GeoIndex => self
                .geo
                .neighbors(p[0], p[1], Some(k), None)
                .into_iter()
                .map(u64::from)
                .collect(),
            Who::Kiddo => self
                .kiddo
                .query(p)
                .nearest_n::<SquaredEuclidean<f64>>(NonZeroUsize::new(k).expect("k > 0"))
                .execute()
                .into_iter()
                .map(|r| u64::from(r.item))
                .collect(),
            Who::XtreeSession => unreachable!("no kNN for {who:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Criterion plumbing
// ---------------------------------------------------------------------------------------------

/// Criterion settings for benches whose single iteration takes about a second or more:
/// flat sampling, 10 samples, a warm-up of one call.
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

/// One build bench: a first untimed build (its duration sizes the measurement time), then
/// criterion's samples, each build on fresh state from `setup` with only `build` timed.
fn bench_build<S, T>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    workload: &'static str,
    who: Who,
    mut setup: impl FnMut() -> S,
    mut build: impl FnMut(S) -> T,
) {
    let state = setup();
    let start = Instant::now();
    black_box(build(state));
    g.measurement_time((start.elapsed() * 11).max(Duration::from_secs(1)));
    g.bench_function(who.name(), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let state = setup();
                let start = Instant::now();
                let built = build(state);
                let elapsed = start.elapsed();
                drop(black_box(built));
                record(workload, who, elapsed.as_secs_f64());
                total += elapsed;
            }
            total
        })
    });
}

fn insert_one_by_one(index: &Index, points: &[[f64; 2]]) {
    for (i, p) in points.iter().enumerate() {
        index.insert_point(i as u64, p).expect("valid point");
    }
}

fn bench_builds(c: &mut Criterion, data: &W1) {
    let (ids, coords) = (data.row_ids(), data.coords());
    let items = peer_items(&data.points);
    if std::env::var_os("XTREE_BENCH_SKIP_INSERT").is_none() {
        let mut g = slow_group(c, "w1_insert_1m");
        g.throughput(Throughput::Elements(N as u64));
        let index = new_index();
        insert_one_by_one(&index, &data.points);
        note(format!("{INSERT}: xtree check() = {:?}", index.check()));
        drop(index);
        bench_build(&mut g, INSERT, Who::Xtree, new_index, |index| {
            insert_one_by_one(&index, &data.points);
            index
        });
        bench_build(&mut g, INSERT, Who::XtreeSession, new_index, |index| {
            let mut w = index.writer();
            for (i, p) in data.points.iter().enumerate() {
                w.insert_point(i as u64, p).expect("valid point");
            }
            w.commit().expect("commit");
            index
        });
        bench_build(
            &mut g,
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
        g.finish();
    }

    let mut g = slow_group(c, "w1_bulk_1m");
    g.throughput(Throughput::Elements(N as u64));
    bench_build(&mut g, BULK, Who::Xtree, new_index, |index| {
        index.insert_points(&ids, &coords).expect("valid points");
        index
    });
    bench_build(&mut g, BULK, Who::Rstar, || items.clone(), RTree::bulk_load);
    bench_build(
        &mut g,
        BULK,
        Who::GeoIndex,
        || (),
        |()| geo_build(&data.points),
    );
    bench_build(
        &mut g,
        BULK,
        Who::Kiddo,
        || (),
        |()| kiddo_build(&data.points),
    );
    g.finish();
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
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(queries as u64));
    g
}

/// Benches `run` over every input as one iteration, recording seconds per query.
fn bench_batch<T>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    workload: &'static str,
    who: Who,
    inputs: &[T],
    run: impl Fn(&T) -> Vec<u64>,
) {
    g.bench_function(BenchmarkId::new(who.name(), label), |b| {
        b.iter_custom(|iters| {
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
        })
    });
}

fn bench_queries(c: &mut Criterion, data: &W1) {
    let trees = Trees {
        xtree: bulk_index(data),
        rstar: RTree::bulk_load(peer_items(&data.points)),
        geo: geo_build(&data.points),
        kiddo: kiddo_build(&data.points),
    };
    let stats = trees.xtree.check();
    assert!(stats.is_ok(), "check() of the bulk-loaded tree: {stats:?}");
    note(format!("{BULK}: xtree check() = {stats:?}"));

    // W2 windows: 0.01 % is the W1 query set itself; the larger ones continue the stream.
    let extent = Window::new([0.0, 0.0], [W1_EXTENT, W1_EXTENT]);
    let window_sets: [Vec<Window>; 3] = [
        data.queries.clone(),
        w2_windows(&mut w1_stream_after(N), extent, 0.01, 1_000),
        w2_windows(&mut w1_stream_after(N), extent, 0.1, 100),
    ];
    let window_who = [Who::Xtree, Who::Rstar, Who::GeoIndex];
    for (workload, windows) in WIN.iter().zip(&window_sets) {
        let mut total = 0u64;
        for w in windows {
            let sorted = |who| {
                let mut v = trees.window(who, w);
                v.sort_unstable();
                v
            };
            let ours = sorted(Who::Xtree);
            for who in &window_who[1..] {
                assert_eq!(
                    ours,
                    sorted(*who),
                    "{workload} {w:?}: hits xtree vs {who:?}"
                );
            }
            total += ours.len() as u64;
        }
        let mut line = format!(
            "{workload}: {} windows, hits equal across xtree, rstar, geo-index: {total} in all",
            windows.len()
        );
        if *workload == WIN[0] {
            let truth = w1_ground_truth(N, Q).expect("published");
            assert_eq!(
                total, truth,
                "{workload}: total hits vs the W1 ground truth"
            );
            line.push_str(&format!(" = ground truth {truth}"));
        }
        note(line);
        let mut g = query_group(c, "w2_window_uniform_1m", windows.len());
        let label = workload.split_whitespace().nth(1).expect("a size");
        for who in window_who {
            bench_batch(&mut g, label, workload, who, windows, |w| {
                trees.window(who, w)
            });
        }
        g.finish();
    }

    // kNN: the distance multisets must agree (peers order ties arbitrarily).
    let knn_points = data.knn_points();
    let d2 = |p: &[f64; 2], id: u64| {
        let q = data.points[id as usize];
        common::dist2_point_box(p, &q, &q)
    };
    let knn_who = [Who::Xtree, Who::Rstar, Who::GeoIndex, Who::Kiddo];
    for (workload, k) in KNN.iter().zip(KS) {
        for p in &knn_points {
            let dists = |who| {
                let mut v: Vec<f64> = trees.knn(who, p, k).iter().map(|&id| d2(p, id)).collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let ours: Vec<f64> = trees
                .knn(Who::Xtree, p, k)
                .iter()
                .map(|&id| d2(p, id))
                .collect();
            assert!(
                ours.windows(2).all(|w| w[0] <= w[1]),
                "kNN {p:?}: xtree's answer is not nearest first"
            );
            for who in &knn_who[1..] {
                assert_eq!(
                    dists(Who::Xtree),
                    dists(*who),
                    "{workload} at {p:?}: vs {who:?}"
                );
            }
        }
        note(format!(
            "{workload}: {} query points, distance multisets equal across xtree, rstar, \
             geo-index, kiddo",
            knn_points.len()
        ));
        let mut g = query_group(c, "w3_knn_uniform_1m", knn_points.len());
        let label = format!("k={k}");
        for who in knn_who {
            bench_batch(&mut g, &label, workload, who, &knn_points, |p| {
                trees.knn(who, p, k)
            });
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Resident memory per point, each structure in a child process of its own
// ---------------------------------------------------------------------------------------------

/// The child processes' structures: (name, environment value).
const RSS_CASES: [(&str, &str); 7] = [
    ("xtree p64, one by one", "xtree-insert-64"),
    ("xtree p64, bulk", "xtree-bulk-64"),
    ("xtree p32, one by one", "xtree-insert-32"),
    ("xtree p32, bulk", "xtree-bulk-32"),
    ("rstar, bulk", "rstar-bulk"),
    ("geo-index, bulk", "geo-bulk"),
    ("kiddo, bulk", "kiddo-bulk"),
];
const RSS_ENV: &str = "XTREE_BENCH_RSS_CHILD";

/// (VmRSS, VmHWM) of this process in bytes, from /proc/self/status.
fn rss_and_peak() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// In a child: builds the structure `case` names from the W1 points and prints
/// `rss_growth peak_growth` in bytes (growth over the state with the input already built).
fn rss_child(case: &str) {
    let data = W1::generate(N, 0);
    let (ids, coords) = (data.row_ids(), data.coords());
    let items = peer_items(&data.points);
    let (rss0, _) = rss_and_peak();
    let index_of =
        |p: u32| Index::with_options(IndexOptions::new(2, p, labels(2))).expect("valid options");
    let keep: Box<dyn std::any::Any> = match case {
        "xtree-insert-64" | "xtree-insert-32" => {
            let index = index_of(if case.ends_with("64") { 64 } else { 32 });
            insert_one_by_one(&index, &data.points);
            Box::new(index)
        }
        "xtree-bulk-64" | "xtree-bulk-32" => {
            let index = index_of(if case.ends_with("64") { 64 } else { 32 });
            index.insert_points(&ids, &coords).expect("valid points");
            Box::new(index)
        }
        "rstar-bulk" => Box::new(RTree::bulk_load(items.clone())),
        "geo-bulk" => Box::new(geo_build(&data.points)),
        "kiddo-bulk" => Box::new(kiddo_build(&data.points)),
        other => panic!("unknown case {other}"),
    };
    let (rss1, peak) = rss_and_peak();
    black_box(&keep);
    println!(
        "{} {}",
        rss1.saturating_sub(rss0),
        peak.saturating_sub(rss0)
    );
}

fn measure_rss() {
    let exe = std::env::current_exe().expect("the bench binary");
    println!();
    println!("== resident memory per point, N = {N} 2-D points, one child process per row ==");
    println!(
        "{:<24} {:>14} {:>16} {:>14}",
        "structure", "RSS B/point", "build peak B/pt", "peak / final"
    );
    for (name, case) in RSS_CASES {
        let out = Command::new(&exe).env(RSS_ENV, case).output();
        let parsed = out.ok().and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout).to_string();
            let mut it = s.lines().last()?.split_whitespace();
            Some((
                it.next()?.parse::<f64>().ok()?,
                it.next()?.parse::<f64>().ok()?,
            ))
        });
        let Some((rss, peak)) = parsed else {
            println!("{name:<24} (the child failed)");
            continue;
        };
        let line = format!(
            "{:<24} {:>14.1} {:>16.1} {:>13.2}x",
            name,
            rss / N as f64,
            peak / N as f64,
            peak / rss
        );
        println!("{line}");
        NOTES
            .lock()
            .expect("not poisoned")
            .push(format!("rss: {line}"));
    }
    println!("targets: p32 <= 24 B one by one, <= 20 B bulk; p64 <= 36 / 30; bulk peak <= 2x");
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

fn print_table() {
    let times = TIMES.lock().expect("not poisoned");
    let med = |w: &str, who: Who| {
        times
            .iter()
            .find(|((tw, tv), _)| *tw == w && *tv == who)
            .map_or(f64::NAN, |(_, v)| median(v))
    };
    println!();
    println!(
        "== xtree vs rstar 0.12, geo-index 0.4, kiddo 6: W1 N = {N}, 2-D, precision 64; \
         medians of this run =="
    );
    println!("ratio = peer's median time / xtree's (> 1: xtree is faster)");
    println!(
        "{:<22} {:>11} {:>20} {:>20} {:>20}   target",
        "workload", "xtree/op", "rstar", "geo-index", "kiddo"
    );
    for (w, target) in ROWS {
        let ours = med(w, Who::Xtree);
        let cell = |who: Who| {
            let t = med(w, who);
            if t.is_finite() {
                format!("{} {:.2}x", fmt_time(t), t / ours)
            } else {
                "-".to_string()
            }
        };
        let [r, g, k] = Who::PEERS.map(cell);
        println!(
            "{w:<22} {:>11} {r:>20} {g:>20} {k:>20}   {target}",
            fmt_time(ours)
        );
        if w == INSERT {
            let s = med(w, Who::XtreeSession);
            let rs = med(w, Who::Rstar);
            if s.is_finite() {
                println!(
                    "{:<22} {:>11} {:>20}",
                    "  in one session",
                    fmt_time(s),
                    format!("{:.2}x", rs / s)
                );
            }
        }
    }
    let notes = NOTES.lock().expect("not poisoned");
    println!();
    println!("== checks ==");
    for n in notes.iter() {
        println!("{n}");
    }
}

fn main() {
    if let Ok(case) = std::env::var(RSS_ENV) {
        rss_child(&case);
        return;
    }
    note(format!("load average at start: {}", loadavg()));
    let data = W1::generate(N, Q);
    let mut c = Criterion::default().configure_from_args();
    bench_queries(&mut c, &data);
    bench_builds(&mut c, &data);
    c.final_summary();
    measure_rss();
    note(format!("load average at end: {}", loadavg()));
    print_table();
}
