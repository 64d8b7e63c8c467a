//! Property test: random sequences of insert / batch insert / delete / update / query against a
//! `Vec` model, with the invariant checker after every step (small nodes, so splits, supernodes,
//! condense-tree and root changes happen within a few dozen operations).

use proptest::prelude::*;
use xtree::{Index, IndexOptions, SearchType};

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, Vec<f64>, Vec<f64>),
    Batch(Vec<(u64, Vec<f64>)>),
    /// Delete the model's record at this position (mod len), or a missing one if empty.
    Delete(usize),
    DeleteMissing(u64, Vec<f64>),
    Update(usize, Vec<f64>, Vec<f64>),
    Query(u8, Vec<f64>, Vec<f64>),
    Knn(Vec<f64>, usize),
}

const D: usize = 2;

fn coord() -> impl Strategy<Value = f64> {
    // Few distinct values: many duplicates and boundary hits.
    prop_oneof![(0i32..20).prop_map(|v| v as f64), -50.0f64..50.0]
}

fn boxed() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (
        prop::collection::vec(coord(), D),
        prop::collection::vec(0.0f64..8.0, D),
        any::<bool>(),
    )
        .prop_map(|(lo, w, point)| {
            let hi = if point {
                lo.clone()
            } else {
                lo.iter().zip(&w).map(|(a, b)| a + b).collect()
            };
            (lo, hi)
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..40, boxed()).prop_map(|(id, (lo, hi))| Op::Insert(id, lo, hi)),
        1 => prop::collection::vec((0u64..40, prop::collection::vec(coord(), D)), 0..300).prop_map(Op::Batch),
        3 => any::<usize>().prop_map(Op::Delete),
        1 => (0u64..40, boxed()).prop_map(|(id, (lo, _))| Op::DeleteMissing(id, lo)),
        1 => (any::<usize>(), boxed()).prop_map(|(i, (lo, hi))| Op::Update(i, lo, hi)),
        2 => (0u8..3, boxed()).prop_map(|(t, (lo, hi))| Op::Query(t, lo, hi)),
        1 => (prop::collection::vec(coord(), D), 0usize..20).prop_map(|(p, k)| Op::Knn(p, k)),
    ]
}

fn matches(ty: SearchType, lo: &[f64], hi: &[f64], qlo: &[f64], qhi: &[f64]) -> bool {
    (0..D).all(|a| match ty {
        SearchType::Intersects => lo[a] <= qhi[a] && hi[a] >= qlo[a],
        SearchType::Contains => lo[a] <= qlo[a] && hi[a] >= qhi[a],
        SearchType::Within => lo[a] >= qlo[a] && hi[a] <= qhi[a],
    })
}

fn dist(p: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    (0..D)
        .map(|a| {
            let t = (lo[a] - p[a]).max(p[a] - hi[a]).max(0.0);
            t * t
        })
        .sum::<f64>()
        .sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn operations_match_a_vec_model(ops in prop::collection::vec(op(), 1..120), node_size in prop_oneof![Just(256usize), Just(512), Just(4096)]) {
        let mut o = IndexOptions::new(D, 64, vec!["x".into(), "y".into()]);
        o.node_size = node_size;
        let idx = Index::with_options(o).unwrap();
        let mut model: Vec<(u64, Vec<f64>, Vec<f64>)> = Vec::new();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Insert(id, lo, hi) => {
                    idx.insert(id, &lo, &hi).unwrap();
                    model.push((id, lo, hi));
                }
                Op::Batch(points) => {
                    let ids: Vec<u64> = points.iter().map(|p| p.0).collect();
                    let coords: Vec<f64> = points.iter().flat_map(|p| p.1.clone()).collect();
                    idx.insert_points(&ids, &coords).unwrap();
                    model.extend(points.into_iter().map(|(id, p)| (id, p.clone(), p)));
                }
                Op::Delete(i) => {
                    if model.is_empty() { continue; }
                    let (id, lo, hi) = model.swap_remove(i % model.len());
                    prop_assert!(idx.delete(id, &lo, &hi).unwrap(), "step {step}: delete existing");
                }
                Op::DeleteMissing(id, p) => {
                    let present = model.iter().position(|r| r.0 == id && r.1 == p && r.2 == p);
                    prop_assert_eq!(idx.delete(id, &p, &p).unwrap(), present.is_some(), "step {}", step);
                    if let Some(i) = present { model.swap_remove(i); }
                }
                Op::Update(i, lo, hi) => {
                    if model.is_empty() { continue; }
                    let i = i % model.len();
                    let (id, olo, ohi) = model[i].clone();
                    prop_assert!(idx.update(id, &olo, &ohi, &lo, &hi).unwrap());
                    model[i] = (id, lo, hi);
                }
                Op::Query(t, qlo, qhi) => {
                    let ty = [SearchType::Intersects, SearchType::Contains, SearchType::Within][t as usize];
                    let mut got = idx.search(ty, &qlo, &qhi).unwrap();
                    got.sort_unstable();
                    let mut want: Vec<u64> = model.iter().filter(|r| matches(ty, &r.1, &r.2, &qlo, &qhi)).map(|r| r.0).collect();
                    want.sort_unstable();
                    prop_assert_eq!(got, want, "step {}", step);
                }
                Op::Knn(p, k) => {
                    let got = idx.nearest_with_distance(&p, k).unwrap();
                    let mut want: Vec<(f64, u64)> = model.iter().map(|r| (dist(&p, &r.1, &r.2), r.0)).collect();
                    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    want.truncate(k);
                    let got: Vec<(f64, u64)> = got.into_iter().map(|(id, d)| (d, id)).collect();
                    prop_assert_eq!(got, want, "step {}", step);
                }
            }
            let stats = idx.check();
            prop_assert!(stats.is_ok(), "step {}: {:?}", step, stats);
            prop_assert_eq!(idx.len(), model.len() as u64);
        }
    }
}
