//! Tree height stays logarithmic with the smallest nodes.
//!
//! Regression: with 256-byte pages (capacity 4) the R* split used a minimum fill of
//! floor(0.4 × 4) = 1, so overflowing nodes split 1:4 again and again; one-by-one insertion of a
//! few thousand boxes built a tree more than 64 levels deep and insert failed with "tree deeper
//! than the maximum height". R* requires a minimum fill m ≥ 2 (SIGMOD 1990, §4.2).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xtree::{Index, IndexOptions};

fn height_after_inserts(dims: usize, n: u64, seed: u64) -> (u32, u64) {
    let mut o = IndexOptions::new(dims, 64, (0..dims).map(|a| format!("a{a}")).collect());
    o.node_size = 256;
    let index = Index::with_options(o).expect("valid options");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for row in 0..n {
        let min: Vec<f64> = (0..dims).map(|_| rng.gen_range(0.0..1000.0)).collect();
        let max: Vec<f64> = min.iter().map(|v| v + rng.gen_range(0.0..15.0)).collect();
        index.insert(row, &min, &max).expect("insert");
    }
    let stats = index.check().expect("invariants hold");
    (stats.height, stats.records)
}

#[test]
fn small_nodes_keep_the_tree_logarithmic() {
    for (dims, seed) in [(2, 0xdaa6_6123), (3, 0x78dd_eaea)] {
        let n = 4000;
        let (height, records) = height_after_inserts(dims, n, seed);
        assert_eq!(records, n);
        // Every non-root node holds at least 2 entries, so height ≤ log2(n) + 1.
        let bound = (n as f64).log2().ceil() as u32 + 1;
        assert!(
            height <= bound,
            "{dims}-D: height {height} for {n} records exceeds {bound} (seed {seed:#x})"
        );
    }
}
