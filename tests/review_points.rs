//! Review of point leaves (node kind 3), the inside-window shortcut and the batched kNN keys:
//! mixed points and boxes at both precisions against a brute-force model over the stored
//! coordinates, with the invariant checker after the mutations.

mod common;

use common::{labels, store_max, store_min, store_point, SplitMix64};
use xtree::{Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

const TYPES: [SearchType; 3] = [
    SearchType::Intersects,
    SearchType::Contains,
    SearchType::Within,
];

fn index(d: usize, prec: u32, node_size: usize) -> Index {
    let mut o = IndexOptions::new(d, prec, labels(d));
    o.node_size = node_size;
    Index::with_options(o).expect("valid options")
}

/// A record as stored (rounded to the index precision).
#[derive(Debug, Clone)]
struct Rec {
    id: u64,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

fn stored(prec: u32, lo: &[f64], hi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    if lo == hi {
        let p: Vec<f64> = lo.iter().map(|&x| store_point(prec, x)).collect();
        (p.clone(), p)
    } else {
        (
            lo.iter().map(|&x| store_min(prec, x)).collect(),
            hi.iter().map(|&x| store_max(prec, x)).collect(),
        )
    }
}

fn matches(ty: SearchType, r: &Rec, qlo: &[f64], qhi: &[f64]) -> bool {
    (0..qlo.len()).all(|a| match ty {
        SearchType::Intersects => r.lo[a] <= qhi[a] && r.hi[a] >= qlo[a],
        SearchType::Contains => r.lo[a] <= qlo[a] && r.hi[a] >= qhi[a],
        SearchType::Within => r.lo[a] >= qlo[a] && r.hi[a] <= qhi[a],
    })
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

fn check_windows(ix: &Index, model: &[Rec], windows: &[(Vec<f64>, Vec<f64>)]) {
    for (qlo, qhi) in windows {
        for ty in TYPES {
            let want = sorted(
                model
                    .iter()
                    .filter(|r| matches(ty, r, qlo, qhi))
                    .map(|r| r.id)
                    .collect(),
            );
            let got = sorted(ix.search(ty, qlo, qhi).unwrap());
            assert_eq!(got, want, "{ty:?} {qlo:?} {qhi:?}");
            assert_eq!(ix.count(ty, qlo, qhi).unwrap(), want.len() as u64);
            let mut c = ix.cursor(ty, qlo, qhi).unwrap();
            let mut paged = Vec::new();
            loop {
                let page = c.next_page(3).unwrap();
                if page.is_empty() {
                    break;
                }
                assert!(page.len() <= 3);
                paged.extend(page);
            }
            assert_eq!(sorted(paged), want, "cursor {ty:?} {qlo:?} {qhi:?}");
        }
    }
}

fn check_knn(ix: &Index, model: &[Rec], p: &[f64], k: usize) {
    let mut all: Vec<(num_bigint::BigUint, u64)> = model
        .iter()
        .map(|r| (common::exact_dist2(p, &r.lo, &r.hi), r.id))
        .collect();
    all.sort();
    all.truncate(k);
    let want: Vec<u64> = all.iter().map(|x| x.1).collect();
    let got = ix.nearest(p, k).unwrap();
    assert_eq!(got, want, "knn {p:?} k={k}");
}

/// Coordinates on a coarse grid (many ties and exact edge hits), some not representable in
/// f32 (a third of an integer).
fn coord(rng: &mut SplitMix64) -> f64 {
    let v = rng.below(12) as f64;
    match rng.below(4) {
        0 => v / 3.0,
        1 => -v,
        _ => v,
    }
}

fn random_rec(rng: &mut SplitMix64, d: usize, point_share: usize) -> (Vec<f64>, Vec<f64>) {
    let lo: Vec<f64> = (0..d).map(|_| coord(rng)).collect();
    if rng.below(10) < point_share {
        return (lo.clone(), lo);
    }
    let hi = lo
        .iter()
        .map(|&x| {
            if rng.below(3) == 0 {
                x
            } else {
                x + rng.below(4) as f64 / 3.0
            }
        })
        .collect();
    (lo, hi)
}

fn windows(rng: &mut SplitMix64, d: usize, n: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (mut lo, mut hi) = random_rec(rng, d, 2);
        for a in 0..d {
            hi[a] += rng.below(6) as f64;
            if i % 7 == 0 && a == 0 {
                lo[a] = f64::NEG_INFINITY;
            }
            if i % 11 == 0 {
                hi[a] = f64::INFINITY;
            }
        }
        out.push((lo, hi));
    }
    out.push((vec![f64::NEG_INFINITY; d], vec![f64::INFINITY; d]));
    out
}

/// Random inserts, deletes and updates that turn points into boxes and back, at both
/// precisions, small nodes (splits, condense, reinsertion), checked after every step batch.
#[test]
fn mixed_points_and_boxes_match_the_model() {
    for (seed, d, prec, node) in [
        (1u64, 1usize, 64u32, 256usize),
        (2, 2, 64, 256),
        (3, 2, 32, 256),
        (4, 3, 32, 512),
        (5, 3, 64, 256),
    ] {
        let mut rng = SplitMix64::new(seed);
        let ix = index(d, prec, node);
        let mut model: Vec<Rec> = Vec::new();
        let mut next_id = 0u64;
        for step in 0..1500 {
            let op = rng.below(10);
            if op < 5 || model.is_empty() {
                let (lo, hi) = random_rec(&mut rng, d, 7);
                ix.insert(next_id, &lo, &hi).unwrap();
                let (slo, shi) = stored(prec, &lo, &hi);
                model.push(Rec {
                    id: next_id,
                    lo: slo,
                    hi: shi,
                });
                next_id += 1;
            } else if op < 7 {
                let i = rng.below(model.len());
                let r = model.swap_remove(i);
                assert!(ix.delete(r.id, &r.lo, &r.hi).unwrap(), "delete {r:?}");
            } else {
                let i = rng.below(model.len());
                let (lo, hi) = random_rec(&mut rng, d, 3);
                let r = model[i].clone();
                assert!(ix.update(r.id, &r.lo, &r.hi, &lo, &hi).unwrap());
                let (slo, shi) = stored(prec, &lo, &hi);
                model[i] = Rec {
                    id: r.id,
                    lo: slo,
                    hi: shi,
                };
            }
            if step % 100 == 99 {
                ix.check().unwrap();
                assert_eq!(ix.len(), model.len() as u64);
                check_windows(&ix, &model, &windows(&mut rng, d, 8));
                let p: Vec<f64> = (0..d).map(|_| coord(&mut rng)).collect();
                for k in [0, 1, 5, model.len() + 3] {
                    check_knn(&ix, &model, &p, k);
                }
            }
        }
        // The tree bytes round-trip keeps every answer.
        let back = Index::from_bytes(&ix.to_bytes().unwrap()).unwrap();
        back.check().unwrap();
        check_windows(&back, &model, &windows(&mut rng, d, 8));
    }
}

// ---- corrupted point leaves in tree bytes ----------------------------------------------------

/// Tree bytes split into the part before the pages, the pages and (implicitly) the CRC.
struct Bytes {
    head: Vec<u8>,
    pages: Vec<(u64, Vec<u64>)>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn split_bytes(b: &[u8]) -> Bytes {
    let d = u32_at(b, 8) as usize;
    let pages = u64_at(b, 40) as usize;
    let mut at = 48;
    for _ in 0..d {
        at += 4 + u32_at(b, at) as usize;
    }
    let head = b[..at].to_vec();
    let mut out = Vec::new();
    for _ in 0..pages {
        let id = u64_at(b, at);
        let n = u64_at(b, at + 8) as usize;
        at += 16;
        let words = (0..n).map(|i| u64_at(b, at + 8 * i)).collect();
        at += 8 * n;
        out.push((id, words));
    }
    assert_eq!(at + 4, b.len());
    Bytes { head, pages: out }
}

fn join_bytes(x: &Bytes) -> Vec<u8> {
    let mut b = x.head.clone();
    b[40..48].copy_from_slice(&(x.pages.len() as u64).to_le_bytes());
    for (id, words) in &x.pages {
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&(words.len() as u64).to_le_bytes());
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Everything a loaded index can be asked, on an index of `d` dimensions: none may panic.
fn exercise(ix: &Index) {
    let d = ix.dimension();
    let lo = vec![-1e9; d];
    let hi = vec![1e9; d];
    for ty in TYPES {
        let _ = ix.search(ty, &lo, &hi);
        let _ = ix.search(ty, &vec![2.0; d], &vec![5.0; d]);
        if let Ok(mut c) = ix.cursor(ty, &lo, &hi) {
            while let Ok(p) = c.next_page(7) {
                if p.is_empty() {
                    break;
                }
            }
        }
    }
    let _ = ix.nearest(&vec![3.0; d], 10);
    let _ = ix.check();
    let mut rng = SplitMix64::new(9);
    for i in 0..300u64 {
        let (l, h) = random_rec(&mut rng, d, 5);
        let _ = ix.insert(1 << 40 | i, &l, &h);
        if i % 3 == 0 {
            let _ = ix.delete(1 << 40 | i, &l, &h);
        }
        if i % 5 == 1 {
            let (l2, h2) = random_rec(&mut rng, d, 0);
            let _ = ix.update(1 << 40 | i, &l, &h, &l2, &h2);
        }
    }
    let _ = ix.search(SearchType::Intersects, &lo, &hi);
    let _ = ix.nearest(&vec![3.0; d], 50);
    let _ = ix.check();
}

fn load_and_exercise(b: &[u8]) -> Result<(), String> {
    let r = std::panic::catch_unwind(|| match Index::from_bytes(b) {
        Ok(ix) => {
            exercise(&ix);
            Ok(())
        }
        Err(e) => Err(e.message().to_string()),
    });
    match r {
        Ok(x) => x,
        Err(p) => panic!(
            "panicked: {:?}",
            p.downcast_ref::<String>()
                .map(|s| s.as_str())
                .or(p.downcast_ref::<&str>().copied())
        ),
    }
}

fn points_index(d: usize, prec: u32, n: u64) -> Index {
    let ix = index(d, prec, 256);
    let mut rng = SplitMix64::new(d as u64 * 31 + prec as u64);
    for i in 0..n {
        let p: Vec<f64> = (0..d).map(|_| coord(&mut rng)).collect();
        ix.insert(i, &p, &p).unwrap();
    }
    ix.check().unwrap();
    ix
}

/// Kind bytes changed between leaf, directory and point leaf, word counts cut and grown,
/// levels changed, version 1 with point leaves: a `Corruption` error or an index whose
/// operations all return (errors allowed), never a panic.
#[test]
fn corrupted_point_leaves_never_panic() {
    for (d, prec) in [(2usize, 64u32), (3, 32), (1, 64)] {
        let ix = points_index(d, prec, 400);
        let good = ix.to_bytes().unwrap();
        let base = split_bytes(&good);
        assert!(
            base.pages.iter().any(|(_, w)| w[0] & 0xff == 3),
            "the seed has point leaves"
        );
        load_and_exercise(&join_bytes(&base)).unwrap();
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for p in 0..base.pages.len() {
            let kind = base.pages[p].1[0] & 0xff;
            let mut variants: Vec<Bytes> = Vec::new();
            for new_kind in [1u64, 2, 3] {
                if new_kind == kind {
                    continue;
                }
                let mut b = Bytes {
                    head: base.head.clone(),
                    pages: base.pages.clone(),
                };
                let w = &mut b.pages[p].1;
                w[0] = (w[0] & !0xff) | new_kind;
                variants.push(b);
                // The same with the level made to match the new kind.
                let mut b = Bytes {
                    head: base.head.clone(),
                    pages: base.pages.clone(),
                };
                let w = &mut b.pages[p].1;
                w[0] = (w[0] & !0xff) | new_kind;
                let level = if new_kind == 2 { 1u64 } else { 0 };
                w[1] = (w[1] & 0xffff_ffff) | (level << 32);
                variants.push(b);
            }
            for delta in [-1i64, 1, -8] {
                let mut b = Bytes {
                    head: base.head.clone(),
                    pages: base.pages.clone(),
                };
                let w = &mut b.pages[p].1;
                let n = (w.len() as i64 + delta).max(0) as usize;
                w.resize(n, 0);
                variants.push(b);
            }
            for cap in [1u64, 2, 3, 4, 0xffff_ffff] {
                let mut b = Bytes {
                    head: base.head.clone(),
                    pages: base.pages.clone(),
                };
                let w = &mut b.pages[p].1;
                let count = (w[0] >> 32).min(cap);
                w[0] = (w[0] & 0xffff_ffff) | (count << 32);
                w[1] = (w[1] & !0xffff_ffff) | cap;
                variants.push(b);
            }
            for b in variants {
                let mut bytes = join_bytes(&b);
                let r = load_and_exercise(&bytes).map(|_| "ok".to_string());
                *outcomes
                    .entry(format!("{r:?}").chars().take(60).collect())
                    .or_default() += 1;
                // As version 1.
                bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
                let n = bytes.len() - 4;
                let crc = crc32c::crc32c(&bytes[..n]);
                bytes[n..].copy_from_slice(&crc.to_le_bytes());
                let _ = load_and_exercise(&bytes);
            }
        }
        assert!(
            outcomes.contains_key("Ok(\"ok\")"),
            "some variants load: {outcomes:?}"
        );
        // Version 1 bytes holding a point leaf are refused.
        let mut v1 = good.clone();
        v1[4..8].copy_from_slice(&1u32.to_le_bytes());
        let n = v1.len() - 4;
        let crc = crc32c::crc32c(&v1[..n]);
        v1[n..].copy_from_slice(&crc.to_le_bytes());
        let e = load_and_exercise(&v1).unwrap_err();
        assert!(e.contains("point leaf"), "{e}");
    }
}

// ---- a format-2 data directory written by this version ---------------------------------------

fn unpack_v2() -> tempfile::TempDir {
    use std::io::Read;
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datadir-v2");
    let to = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let name = name.strip_suffix(".gz").unwrap().to_string();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(e.path()).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        std::fs::write(to.path().join(name), out).unwrap();
    }
    to
}

/// The fixture's "points" field: 1000 2-D points at precision 64, row ids 0..1000.
fn v2_points() -> Vec<Rec> {
    let mut r = SplitMix64::new(11);
    (0..1000u64)
        .map(|id| {
            let p = vec![r.next_f64() * 100.0 - 50.0, r.next_f64() * 10.0];
            Rec {
                id,
                lo: p.clone(),
                hi: p,
            }
        })
        .collect()
}

fn check_field(f: &xtree::Field, model: &[Rec], rng: &mut SplitMix64) {
    assert_eq!(f.len().unwrap(), model.len() as u64);
    let snap = f.snapshot().unwrap();
    snap.check().unwrap();
    for _ in 0..30 {
        let x = rng.next_f64() * 110.0 - 55.0;
        let y = rng.next_f64() * 12.0 - 1.0;
        let (qlo, qhi) = (
            vec![x, y],
            vec![x + rng.next_f64() * 40.0, y + rng.next_f64() * 5.0],
        );
        for ty in TYPES {
            let want = sorted(
                model
                    .iter()
                    .filter(|r| matches(ty, r, &qlo, &qhi))
                    .map(|r| r.id)
                    .collect(),
            );
            assert_eq!(sorted(f.search(ty, &qlo, &qhi).unwrap()), want, "{ty:?}");
        }
        let p = [x, y];
        let k = 1 + rng.below(20);
        let mut all: Vec<(num_bigint::BigUint, u64)> = model
            .iter()
            .map(|r| (common::exact_dist2(&p, &r.lo, &r.hi), r.id))
            .collect();
        all.sort();
        let want: Vec<u64> = all.iter().take(k).map(|x| x.1).collect();
        assert_eq!(f.nearest(&p, k).unwrap(), want);
    }
}

/// A writer of this version deletes, updates (points into boxes and back) and inserts into the
/// kind-1 leaves of a format-2 directory, across commits, a checkpoint (format 3 from then on),
/// a reopen with log replay onto the format-2 checkpoint and one onto the format-3 one.
#[test]
fn format_2_directory_takes_mixed_writes() {
    let dir = unpack_v2();
    let mut model = v2_points();
    let mut rng = SplitMix64::new(77);
    let mut next = 5000u64;
    let mut round = |f: &xtree::Field, model: &mut Vec<Rec>, rng: &mut SplitMix64| {
        for _ in 0..300 {
            match rng.below(4) {
                0 if !model.is_empty() => {
                    let r = model.swap_remove(rng.below(model.len()));
                    assert!(f.delete(r.id, &r.lo, &r.hi).unwrap());
                }
                1 if !model.is_empty() => {
                    let i = rng.below(model.len());
                    let r = model[i].clone();
                    let lo = vec![rng.next_f64() * 100.0 - 50.0, rng.next_f64() * 10.0];
                    let hi = if rng.below(2) == 0 {
                        lo.clone()
                    } else {
                        vec![lo[0] + rng.next_f64(), lo[1] + rng.next_f64()]
                    };
                    assert!(f.update(r.id, &r.lo, &r.hi, &lo, &hi).unwrap());
                    model[i] = Rec { id: r.id, lo, hi };
                }
                _ => {
                    let lo = vec![rng.next_f64() * 100.0 - 50.0, rng.next_f64() * 10.0];
                    let hi = if rng.below(3) == 0 {
                        lo.clone()
                    } else {
                        vec![lo[0] + rng.next_f64() * 3.0, lo[1]]
                    };
                    f.insert(next, &lo, &hi).unwrap();
                    model.push(Rec { id: next, lo, hi });
                    next += 1;
                }
            }
        }
    };
    // 1: writes, commit, no checkpoint; reopen replays the log onto the format-2 checkpoint.
    {
        let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
        let f = rt.get("points").unwrap().unwrap();
        round(&f, &mut model, &mut rng);
        rt.commit().unwrap();
        check_field(&f, &model, &mut rng);
        rt.close().unwrap();
    }
    {
        let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
        let f = rt.get("points").unwrap().unwrap();
        check_field(&f, &model, &mut rng);
        round(&f, &mut model, &mut rng);
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        round(&f, &mut model, &mut rng);
        rt.commit().unwrap();
        check_field(&f, &model, &mut rng);
        rt.close().unwrap();
    }
    for _ in 0..2 {
        let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
        let f = rt.get("points").unwrap().unwrap();
        check_field(&f, &model, &mut rng);
        round(&f, &mut model, &mut rng);
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        rt.close().unwrap();
        let ro = Runtime::open_read_only(dir.path()).unwrap();
        check_field(&ro.get("points").unwrap().unwrap(), &model, &mut rng);
        ro.close().unwrap();
        let ix = Index::load_from(dir.path(), "points").unwrap();
        ix.check().unwrap();
        assert_eq!(ix.len(), model.len() as u64);
    }
}

/// Precision 32: window bounds at, just inside and just outside stored values (f64 values
/// between two f32), so the inside shortcut's test must be exact in stored precision; whole
/// point-leaf subtrees inside, cursors paging across them.
#[test]
fn precision_32_window_edges() {
    let d = 2;
    let ix = index(d, 32, 256);
    let mut model = Vec::new();
    let third = 1.0f64 / 3.0;
    let mut id = 0;
    for i in 0..40 {
        for j in 0..40 {
            let p = vec![i as f64 * third, j as f64 * third];
            ix.insert(id, &p, &p).unwrap();
            let s = stored(32, &p, &p);
            model.push(Rec {
                id,
                lo: s.0,
                hi: s.1,
            });
            id += 1;
        }
    }
    // A few boxes too, some with edges on the same values.
    for i in 0..40 {
        let lo = vec![i as f64 * third, 0.0];
        let hi = vec![i as f64 * third + third, 13.0 * third];
        ix.insert(id, &lo, &hi).unwrap();
        let s = stored(32, &lo, &hi);
        model.push(Rec {
            id,
            lo: s.0,
            hi: s.1,
        });
        id += 1;
    }
    ix.check().unwrap();
    let mut ws = Vec::new();
    for (a, b) in [(3, 17), (0, 39), (10, 11), (20, 20), (5, 30)] {
        for eps in [0.0, 1e-12, -1e-12, 1e-9, -1e-9] {
            let lo = a as f64 * third + eps;
            let hi = b as f64 * third - eps;
            if lo <= hi {
                ws.push((vec![lo, lo], vec![hi, hi]));
                ws.push((vec![lo, f64::NEG_INFINITY], vec![hi, f64::INFINITY]));
                let s = (store_point(32, lo), store_point(32, hi));
                ws.push((vec![s.0, s.0], vec![s.1, s.1]));
            }
        }
    }
    check_windows(&ix, &model, &ws);
}

/// 255 dimensions, points and boxes, both precisions: windows, cursors and kNN (k = 0, 1,
/// more than the records) against the model; duplicates and all-equal distances.
#[test]
fn high_dimension_points_and_boxes() {
    let d = 255;
    for prec in [32u32, 64] {
        let ix = index(d, prec, 4096);
        let mut model = Vec::new();
        let mut rng = SplitMix64::new(prec as u64);
        for id in 0..300u64 {
            let (lo, hi) = if id % 50 == 0 {
                (vec![1.0; d], vec![1.0; d]) // duplicates
            } else {
                random_rec(&mut rng, d, 8)
            };
            ix.insert(id, &lo, &hi).unwrap();
            let (slo, shi) = stored(prec, &lo, &hi);
            model.push(Rec {
                id,
                lo: slo,
                hi: shi,
            });
        }
        ix.check().unwrap();
        let mut ws = windows(&mut rng, d, 4);
        ws.push((vec![-20.0; d], vec![20.0; d]));
        check_windows(&ix, &model, &ws);
        for k in [0usize, 1, 7, 1000] {
            check_knn(&ix, &model, &vec![1.0; d], k);
            check_knn(&ix, &model, &vec![1e6; d], k);
        }
        for i in (0..300).step_by(3) {
            let r = model[i].clone();
            assert!(ix.delete(r.id, &r.lo, &r.hi).unwrap());
        }
        let model: Vec<Rec> = model
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|x| x.1)
            .collect();
        ix.check().unwrap();
        check_windows(&ix, &model, &ws);
        check_knn(&ix, &model, &vec![0.5; d], 30);
    }
}
