//! Review of `validate_page` (pages checked on load and on a durable page's first use): every
//! page a legitimate index writes must pass it. Indexes at the edges of what the API accepts —
//! precision 32 outward rounding, points and boxes, supernodes (duplicates), pages after heavy
//! deletes, a tree emptied and refilled, 1, 8 and 255 dimensions, ±f64::MAX and ±f32::MAX,
//! subnormals and signed zeros — round-trip through `Index::to_bytes` / `from_bytes` and
//! through a durable `Runtime` (checkpoint, close, reopen, every page read), answering as the
//! original.

mod common;

use common::{labels, SplitMix64};
use xtree::{Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

/// One record: row id, min, max.
type Rec = (u64, Vec<f64>, Vec<f64>);

/// Extreme finite values that `precision` stores finitely (after its rounding).
fn extremes(precision: u32) -> Vec<f64> {
    let big = if precision == 64 {
        f64::MAX
    } else {
        f32::MAX as f64
    };
    vec![
        big,
        -big,
        big / 2.0,
        5e-324,
        -5e-324,
        1e-45,
        -1e-45,
        f64::MIN_POSITIVE,
        0.0,
        -0.0,
        1.0,
    ]
}

/// Records of `dim` dimensions: random points and boxes, extreme coordinates, and many exact
/// duplicates (which force supernodes).
fn records(seed: u64, dim: usize, precision: u32, n: usize) -> Vec<Rec> {
    let mut rng = SplitMix64::new(seed);
    let ext = extremes(precision);
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let kind = rng.below(6);
        let (min, max): (Vec<f64>, Vec<f64>) = match kind {
            // A random point.
            0 => {
                let p: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 100.0).collect();
                (p.clone(), p)
            }
            // A random box (rounded outward at precision 32).
            1 => {
                let lo: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 100.0 - 50.0).collect();
                let hi = lo.iter().map(|x| x + rng.next_f64() * 3.0).collect();
                (lo, hi)
            }
            // A point or a box of extreme coordinates.
            2 | 3 => {
                let a: Vec<f64> = (0..dim).map(|_| ext[rng.below(ext.len())]).collect();
                let b: Vec<f64> = (0..dim).map(|_| ext[rng.below(ext.len())]).collect();
                if kind == 2 {
                    (a.clone(), a)
                } else {
                    let lo = a.iter().zip(&b).map(|(x, y)| x.min(*y)).collect();
                    let hi = a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect();
                    (lo, hi)
                }
            }
            // Duplicates: one box many times, so that splits fail and supernodes form.
            _ => (vec![7.25; dim], vec![7.5; dim]),
        };
        out.push((i, min, max));
    }
    out
}

fn options(dim: usize, precision: u32, node_size: usize) -> IndexOptions {
    let mut o = IndexOptions::new(dim, precision, labels(dim));
    o.node_size = node_size;
    o
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// A search of some index: type, min, max → row ids.
type Search<'a> = &'a dyn Fn(SearchType, &[f64], &[f64]) -> Vec<u64>;

/// The answers compared between an original and its reload.
fn answers(search: Search<'_>, dim: usize) -> Vec<Vec<u64>> {
    let all = (vec![f64::NEG_INFINITY; dim], vec![f64::INFINITY; dim]);
    let mid = (vec![-10.0; dim], vec![60.0; dim]);
    let tiny = (vec![-1e-300; dim], vec![1e-300; dim]);
    let mut out = Vec::new();
    for (lo, hi) in [all, mid, tiny] {
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            out.push(sorted(search(ty, &lo, &hi)));
        }
    }
    out
}

struct Case {
    dim: usize,
    precision: u32,
    node_size: usize,
    n: usize,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for precision in [32u32, 64] {
        out.push(Case {
            dim: 1,
            precision,
            node_size: 256,
            n: 1500,
        });
        out.push(Case {
            dim: 2,
            precision,
            node_size: 256,
            n: 1500,
        });
        out.push(Case {
            dim: 8,
            precision,
            node_size: 1024,
            n: 800,
        });
        out.push(Case {
            dim: 255,
            precision,
            node_size: 64 << 10,
            n: 200,
        });
    }
    out
}

/// Builds, deletes, round-trips through bytes, and checks the reload.
#[test]
fn legitimate_pages_survive_index_bytes() {
    let mut supernodes = 0;
    for (k, c) in cases().iter().enumerate() {
        let ctx = format!("dim {} p{}", c.dim, c.precision);
        let ix = Index::with_options(options(c.dim, c.precision, c.node_size)).expect("index");
        let recs = records(k as u64 + 1, c.dim, c.precision, c.n);
        for (id, lo, hi) in &recs {
            ix.insert(*id, lo, hi)
                .unwrap_or_else(|e| panic!("{ctx}: insert: {e}"));
        }
        let st = ix.check().unwrap_or_else(|e| panic!("{ctx}: check: {e}"));
        supernodes += st.supernodes;
        let round = |when: &str| {
            let bytes = ix.to_bytes().expect("to_bytes");
            let back =
                Index::from_bytes(&bytes).unwrap_or_else(|e| panic!("{ctx} {when}: reload: {e}"));
            back.check()
                .unwrap_or_else(|e| panic!("{ctx} {when}: reload check: {e}"));
            assert_eq!(
                answers(&|t, l, h| back.search(t, l, h).expect("search"), c.dim),
                answers(&|t, l, h| ix.search(t, l, h).expect("search"), c.dim),
                "{ctx} {when}"
            );
        };
        round("full");
        // Pages after deletes: two records in three go, then all but a few, then all.
        for (i, (id, lo, hi)) in recs.iter().enumerate() {
            if i % 3 != 0 {
                assert!(ix.delete(*id, lo, hi).expect("delete"), "{ctx}: delete");
            }
        }
        round("after deletes");
        for (i, (id, lo, hi)) in recs.iter().enumerate() {
            if i % 3 == 0 && i > 30 {
                assert!(ix.delete(*id, lo, hi).expect("delete"), "{ctx}: delete");
            }
        }
        round("nearly empty");
        for (i, (id, lo, hi)) in recs.iter().enumerate() {
            if i % 3 == 0 && i <= 30 {
                assert!(ix.delete(*id, lo, hi).expect("delete"), "{ctx}: delete");
            }
        }
        assert!(ix.is_empty());
        round("empty");
        let (id, lo, hi) = &recs[3];
        ix.insert(*id, lo, hi).expect("insert");
        round("one record");
    }
    assert!(supernodes > 0, "the duplicates formed supernodes");
}

/// The same indexes in a durable runtime: committed, checkpointed (also after deletes), closed
/// and reopened; every page is read (and validated) by the full-range queries.
#[test]
fn legitimate_pages_survive_a_durable_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = || RuntimeOptions {
        background_checkpoints: false,
        checkpoint_interval: None,
        ..RuntimeOptions::default()
    };
    let cases = cases();
    let mut expected = Vec::new();
    {
        let rt = Runtime::open(dir.path(), opts()).expect("open");
        for (k, c) in cases.iter().enumerate() {
            let name = format!("f{k}");
            let f = rt
                .field(&name, options(c.dim, c.precision, c.node_size))
                .expect("field");
            let recs = records(k as u64 + 1, c.dim, c.precision, c.n);
            for (id, lo, hi) in &recs {
                f.insert(*id, lo, hi).expect("insert");
            }
            rt.commit().expect("commit");
            rt.checkpoint().expect("checkpoint");
            for (i, (id, lo, hi)) in recs.iter().enumerate() {
                if i % 3 != 0 {
                    assert!(f.delete(*id, lo, hi).expect("delete"));
                }
            }
            rt.commit().expect("commit");
            rt.checkpoint().expect("checkpoint");
            expected.push(answers(
                &|t, l, h| f.search(t, l, h).expect("search"),
                c.dim,
            ));
        }
        rt.close().expect("close");
    }
    let rt = Runtime::open(dir.path(), opts()).expect("reopen");
    for (k, c) in cases.iter().enumerate() {
        let f = rt.get(&format!("f{k}")).expect("get").expect("field");
        let got = answers(
            &|t, l, h| {
                f.search(t, l, h)
                    .unwrap_or_else(|e| panic!("dim {} p{}: {e}", c.dim, c.precision))
            },
            c.dim,
        );
        assert_eq!(got, expected[k], "dim {} p{}", c.dim, c.precision);
        f.snapshot()
            .expect("snapshot")
            .check()
            .unwrap_or_else(|e| panic!("dim {} p{}: {e}", c.dim, c.precision));
    }
    rt.verify_checkpoint().expect("verify");
    rt.close().expect("close");
}
