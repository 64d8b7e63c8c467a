//! The Rust counterpart of the Java benchmark (`java/.../bench/JavaBench.java`), for the
//! Java/Rust ratio. Same procedure, through the Rust API instead of JNI:
//!
//! - `insertBatch`: 5 rounds of `Index::insert_points` of the W1 1M points into a fresh index;
//!   the median round;
//! - `search`: on one bulk-loaded index, 2 warm-up rounds then 5 timed rounds of the 10,000 W1
//!   `Index::search(Intersects)` calls; the median round, queries/s, and p50/p99 of single
//!   calls from one more pass; the total hits must be the ground truth 998,246.
//!
//! Run: `cargo bench --bench java_parity` (a plain timing loop, no criterion). Precision 64 as
//! the Java default, then 32; `XTREE_PARITY_PRECISION=64` (or 32) runs one only.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{labels, w1_ground_truth, W1};
use xtree::{Index, SearchType};

const N: usize = 1_000_000;
const Q: usize = 10_000;
const INSERT_ROUNDS: usize = 5;
const QUERY_WARMUP_ROUNDS: usize = 2;
const QUERY_ROUNDS: usize = 5;

/// The upper median, as the Java harness takes it (`v[len / 2]` of the sorted values).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn run_queries(index: &Index, data: &W1) -> u64 {
    let mut hits = 0u64;
    for w in &data.queries {
        let r = index
            .search(SearchType::Intersects, &w.min, &w.max)
            .expect("valid window");
        hits += r.len() as u64;
        black_box(r);
    }
    hits
}

fn main() {
    // Cargo passes `--bench` (and any filter); nothing here takes arguments.
    let precisions: Vec<u32> = match std::env::var("XTREE_PARITY_PRECISION").ok().as_deref() {
        Some("32") => vec![32],
        Some("64") => vec![64],
        _ => vec![64, 32],
    };
    let data = W1::generate(N, Q);
    let ids = data.row_ids();
    let coords = data.coords();
    let truth = w1_ground_truth(N, Q).expect("published");
    println!(
        "W1 via Rust (java_parity): N={N} points, Q={Q} queries, first point ({:.6}, {:.6})",
        data.points[0][0], data.points[0][1]
    );

    for precision in precisions {
        let mut insert = Vec::with_capacity(INSERT_ROUNDS);
        for _ in 0..INSERT_ROUNDS {
            let index = Index::new(2, precision, labels(2)).expect("valid options");
            let t = Instant::now();
            index.insert_points(&ids, &coords).expect("valid points");
            insert.push(t.elapsed().as_secs_f64());
        }
        let insert = median(&insert);

        let index = Index::new(2, precision, labels(2)).expect("valid options");
        index.insert_points(&ids, &coords).expect("valid points");
        let mut hits = 0;
        for _ in 0..QUERY_WARMUP_ROUNDS {
            hits = run_queries(&index, &data);
        }
        let mut rounds = Vec::with_capacity(QUERY_ROUNDS);
        for _ in 0..QUERY_ROUNDS {
            let t = Instant::now();
            let h = run_queries(&index, &data);
            rounds.push(t.elapsed().as_secs_f64());
            assert_eq!(h, hits, "hits changed between rounds");
        }
        let round = median(&rounds);
        let mut latency: Vec<f64> = data
            .queries
            .iter()
            .map(|w| {
                let t = Instant::now();
                black_box(
                    index
                        .search(SearchType::Intersects, &w.min, &w.max)
                        .expect("valid window"),
                );
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        latency.sort_by(f64::total_cmp);

        println!("precision {precision}:");
        println!(
            "  insertBatch: median {:.1} ms of {INSERT_ROUNDS} rounds = {:.0} points/s",
            insert * 1e3,
            N as f64 / insert
        );
        println!(
            "  search: median round {:.1} ms for {Q} queries = {:.0} queries/s; latency p50 {:.1} us, p99 {:.1} us",
            round * 1e3,
            Q as f64 / round,
            latency[Q / 2],
            latency[Q * 99 / 100]
        );
        println!(
            "  total hits: {hits} (ground truth {truth}: {})",
            if hits == truth { "OK" } else { "MISMATCH" }
        );
        assert_eq!(hits, truth, "W1 hits at precision {precision}");
    }
}
