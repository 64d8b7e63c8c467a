//! Files written by earlier format versions keep opening with the same answers (FORMAT.md,
//! "Version history"): tree bytes of version 1 (`Index::to_bytes` before point leaves) and a
//! data directory of format version 2, both committed under `tests/fixtures/`.
//!
//! The fixtures hold deterministic data ([`points`], [`boxes`]); each test rebuilds the same
//! records in a brute-force oracle and compares every answer. `XTREE_BLESS=1 cargo test --test
//! format_fixtures -- --ignored bless` rewrites the fixtures with the current code: do that only
//! when adding the fixture of a new version, never to make an old one pass.

mod common;

use std::path::{Path, PathBuf};

use common::{labels, BruteForce, SplitMix64};
use xtree::{Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

const N: usize = 1_000;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `N` 2-D points (precision 64), row ids 0..N.
fn points() -> Vec<[f64; 2]> {
    let mut r = SplitMix64::new(11);
    (0..N)
        .map(|_| [r.next_f64() * 100.0 - 50.0, r.next_f64() * 10.0])
        .collect()
}

/// `N` 3-D boxes (precision 32), row ids 0..N.
fn boxes() -> Vec<([f64; 3], [f64; 3])> {
    let mut r = SplitMix64::new(12);
    (0..N)
        .map(|_| {
            let lo = [r.next_f64(), r.next_f64(), r.next_f64()];
            let s = r.next_f64() * 0.05;
            (lo, [lo[0] + s, lo[1] + s * 2.0, lo[2] + s / 2.0])
        })
        .collect()
}

fn point_index() -> Index {
    let index = Index::new(2, 64, labels(2)).unwrap();
    let ids: Vec<u64> = (0..N as u64).collect();
    let coords: Vec<f64> = points().iter().flatten().copied().collect();
    index.insert_points(&ids[..N / 2], &coords[..N]).unwrap();
    for (i, p) in points().iter().enumerate().skip(N / 2) {
        index.insert_point(i as u64, p).unwrap();
    }
    index
}

fn box_index() -> Index {
    let index = Index::with_options(IndexOptions::new(3, 32, labels(3))).unwrap();
    for (i, (lo, hi)) in boxes().iter().enumerate() {
        index.insert(i as u64, lo, hi).unwrap();
    }
    index
}

/// Compares `answer(ty, min, max)` and `knn(p, k)` with the oracle on seeded windows and points.
fn compare(
    oracle: &BruteForce,
    dims: usize,
    answer: impl Fn(SearchType, &[f64], &[f64]) -> Vec<u64>,
    knn: impl Fn(&[f64], usize) -> Vec<u64>,
) {
    let mut r = SplitMix64::new(99);
    for i in 0..200 {
        let c: Vec<f64> = (0..dims).map(|_| r.next_f64() * 60.0 - 30.0).collect();
        let c: Vec<f64> = if dims == 3 {
            c.iter().map(|x| (x + 30.0) / 60.0).collect()
        } else {
            c
        };
        let side = [0.5, 5.0, 40.0][i % 3] * if dims == 3 { 0.02 } else { 1.0 };
        let min: Vec<f64> = c.iter().map(|x| x - side).collect();
        let max: Vec<f64> = c.iter().map(|x| x + side).collect();
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            let mut got = answer(ty, &min, &max);
            got.sort_unstable();
            let mut want = oracle.search(ty, &min, &max);
            want.sort_unstable();
            assert_eq!(got, want, "{ty:?} {min:?} {max:?}");
        }
        let k = [1, 10, 100][i % 3];
        let want: Vec<u64> = oracle.nearest(&c, k).into_iter().map(|x| x.0).collect();
        assert_eq!(knn(&c, k), want, "kNN k={k} at {c:?}");
    }
}

fn point_oracle() -> BruteForce {
    let mut o = BruteForce::new(2, 64);
    for (i, p) in points().iter().enumerate() {
        o.insert(i as u64, p, p);
    }
    o
}

fn box_oracle() -> BruteForce {
    let mut o = BruteForce::new(3, 32);
    for (i, (lo, hi)) in boxes().iter().enumerate() {
        o.insert(i as u64, lo, hi);
    }
    o
}

#[test]
fn tree_bytes_version_1_open() {
    for (name, oracle, dims) in [
        ("tree-v1-points-2d-p64.xtrb", point_oracle(), 2),
        ("tree-v1-boxes-3d-p32.xtrb", box_oracle(), 3),
    ] {
        let bytes = std::fs::read(fixtures().join(name)).expect("the fixture");
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
            1,
            "{name}"
        );
        let index = Index::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        index.check().unwrap();
        assert_eq!(index.len(), N as u64);
        compare(
            &oracle,
            dims,
            |ty, a, b| index.search(ty, a, b).unwrap(),
            |p, k| index.nearest(p, k).unwrap(),
        );
    }
}

/// Unpacks the fixture directory (each file gzipped, `NAME.gz`) into a fresh temporary
/// directory (opening it as a writer changes it).
fn unpack_dir(from: &Path) -> tempfile::TempDir {
    use std::io::Read;
    let to = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let name = name.strip_suffix(".gz").expect("gzipped fixture files");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(e.path()).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        std::fs::write(to.path().join(name), out).unwrap();
    }
    to
}

/// Gzips every file of `dir` in place (`NAME` → `NAME.gz`).
fn pack_dir(dir: &Path) {
    use std::io::Write;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let gz = p.with_file_name(format!("{}.gz", p.file_name().unwrap().to_string_lossy()));
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(gz).unwrap(),
            flate2::Compression::best(),
        );
        enc.write_all(&bytes).unwrap();
        enc.finish().unwrap();
        std::fs::remove_file(&p).unwrap();
    }
}

#[test]
fn data_directory_format_2_opens() {
    let src = fixtures().join("datadir-v2");
    for read_only in [true, false] {
        let dir = unpack_dir(&src);
        let rt = if read_only {
            Runtime::open_read_only(dir.path()).unwrap()
        } else {
            Runtime::open(dir.path(), RuntimeOptions::default()).unwrap()
        };
        for (name, oracle, dims) in [("points", point_oracle(), 2), ("boxes", box_oracle(), 3)] {
            let f = rt.get(name).unwrap().expect("the fixture's field");
            compare(
                &oracle,
                dims,
                |ty, a, b| f.search(ty, a, b).unwrap(),
                |p, k| f.nearest(p, k).unwrap(),
            );
        }
        if !read_only {
            // A writer of the current version adds to it, checkpoints and reopens.
            let f = rt.get("points").unwrap().unwrap();
            f.insert_point(N as u64, &[0.25, 0.5]).unwrap();
            rt.commit().unwrap();
            rt.checkpoint().unwrap();
            rt.close().unwrap();
            let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
            let f = rt.get("points").unwrap().unwrap();
            assert_eq!(f.nearest(&[0.25, 0.5], 1).unwrap(), vec![N as u64]);
            rt.close().unwrap();
        } else {
            rt.close().unwrap();
        }
    }
}

/// Writes the fixtures with the current code (see the module doc).
#[test]
#[ignore]
fn bless() {
    if std::env::var_os("XTREE_BLESS").is_none() {
        return;
    }
    let dir = fixtures();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("tree-v1-points-2d-p64.xtrb"),
        point_index().to_bytes().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("tree-v1-boxes-3d-p32.xtrb"),
        box_index().to_bytes().unwrap(),
    )
    .unwrap();
    let dd = dir.join("datadir-v2");
    let _ = std::fs::remove_dir_all(&dd);
    let rt = Runtime::open(&dd, RuntimeOptions::default()).unwrap();
    let p = rt
        .field("points", IndexOptions::new(2, 64, labels(2)))
        .unwrap();
    for (i, q) in points().iter().enumerate() {
        p.insert_point(i as u64, q).unwrap();
        if i % 250 == 249 {
            rt.commit().unwrap();
        }
    }
    let b = rt
        .field("boxes", IndexOptions::new(3, 32, labels(3)))
        .unwrap();
    for (i, (lo, hi)) in boxes().iter().enumerate() {
        b.insert(i as u64, lo, hi).unwrap();
    }
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    rt.close().unwrap();
    pack_dir(&dd);
}

/// Kinds of the pages of tree bytes: (point leaves, box leaves, directories).
fn page_kinds(bytes: &[u8]) -> (usize, usize, usize) {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let dims = u32_at(8);
    let mut at = 48;
    for _ in 0..dims {
        at += 4 + u32_at(at);
    }
    let mut kinds = (0, 0, 0);
    for _ in 0..u64_at(40) {
        let words = u64_at(at + 8) as usize;
        match bytes[at + 16] {
            3 => kinds.0 += 1,
            1 => kinds.1 += 1,
            2 => kinds.2 += 1,
            k => panic!("kind {k}"),
        }
        at += 16 + 8 * words;
    }
    kinds
}

/// Leaves of points are point leaves (half the coordinate bytes); a box arriving in one turns
/// it into a box leaf, and every answer stays that of the oracle, at both precisions.
#[test]
fn point_leaves_hold_points_and_give_way_to_boxes() {
    for precision in [32u32, 64] {
        let index = Index::new(2, precision, labels(2)).unwrap();
        let mut oracle = BruteForce::new(2, precision);
        for (i, p) in points().iter().enumerate() {
            index.insert_point(i as u64, p).unwrap();
            oracle.insert(i as u64, p, p);
        }
        let (points_leaves, box_leaves, _) = page_kinds(&index.to_bytes().unwrap());
        assert!(
            points_leaves > 1 && box_leaves == 0,
            "{points_leaves} {box_leaves}"
        );
        // Boxes around some of the points, and a box with min -0.0 and max +0.0 (not a point:
        // the bits differ) that must come back with both signs.
        for (k, p) in points().iter().enumerate().step_by(97) {
            let id = (N + k) as u64;
            let (lo, hi) = ([p[0] - 0.5, p[1]], [p[0] + 0.5, p[1] + 0.25]);
            index.insert(id, &lo, &hi).unwrap();
            oracle.insert(id, &lo, &hi);
        }
        let zero = (2 * N) as u64;
        index.insert(zero, &[-0.0, 1.0], &[0.0, 1.0]).unwrap();
        oracle.insert(zero, &[-0.0, 1.0], &[0.0, 1.0]);
        index.check().unwrap();
        let (_, box_leaves, _) = page_kinds(&index.to_bytes().unwrap());
        assert!(box_leaves >= 1);
        compare(
            &oracle,
            2,
            |ty, a, b| index.search(ty, a, b).unwrap(),
            |p, k| index.nearest(p, k).unwrap(),
        );
        // Deleting the boxes keeps the leaves valid (kind 1 holding points is fine).
        for (k, p) in points().iter().enumerate().step_by(97) {
            let id = (N + k) as u64;
            let (lo, hi) = ([p[0] - 0.5, p[1]], [p[0] + 0.5, p[1] + 0.25]);
            assert!(index.delete(id, &lo, &hi).unwrap());
            assert!(oracle.delete(id, &lo, &hi));
        }
        index.check().unwrap();
        let again = Index::from_bytes(&index.to_bytes().unwrap()).unwrap();
        compare(
            &oracle,
            2,
            |ty, a, b| again.search(ty, a, b).unwrap(),
            |p, k| again.nearest(p, k).unwrap(),
        );
    }
}
