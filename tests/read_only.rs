//! Read-only opens of a data directory (`Runtime::open_read_only`, issue 10): several readers
//! at once with the same answers as a brute-force oracle, readers and a writer excluding each
//! other through the directory lock, every write refused with `ErrorKind::ReadOnly`, no file of
//! the directory changed (names, lengths, bytes, modification times), and a torn log tail read
//! up to the last commit without being cut.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;

use common::{assert_unchanged, files, labels, BruteForce, SplitMix64};
use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

/// Field "geo": 2-D boxes, precision 64; field "vec": 3-D points, precision 32. Small nodes, so
/// that a few thousand records make trees of several levels.
fn field_options(dim: usize, precision: u32) -> IndexOptions {
    let mut o = IndexOptions::new(dim, precision, labels(dim));
    o.node_size = 512;
    o
}

fn writer_opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        ..RuntimeOptions::default()
    }
}

/// The oracles of both fields after [`build`].
struct Model {
    geo: BruteForce,
    vec: BruteForce,
}

/// Builds field "geo" (boxes) and field "vec" (points): a first part checkpointed, a second
/// part committed to the log only (the runtime closes without a checkpoint), so that a reader
/// uses checkpoint pages and replays the log. Returns the oracles of the committed state.
fn build(dir: &Path, seed: u64) -> Model {
    let mut rng = SplitMix64::new(seed);
    let mut model = Model {
        geo: BruteForce::new(2, 64),
        vec: BruteForce::new(3, 32),
    };
    let opts = RuntimeOptions {
        checkpoint_on_close: false,
        ..writer_opts()
    };
    let rt = Runtime::open(dir, opts).unwrap();
    let geo = rt.field("geo", field_options(2, 64)).unwrap();
    let vec = rt.field("vec", field_options(3, 32)).unwrap();
    let mut row = 0u64;
    for round in 0..4 {
        for _ in 0..600 {
            let min = [rng.next_f64() * 1000.0, rng.next_f64() * 1000.0];
            let max = [
                min[0] + rng.next_f64() * 20.0,
                min[1] + rng.next_f64() * 20.0,
            ];
            geo.insert(row, &min, &max).unwrap();
            model.geo.insert(row, &min, &max);
            let p = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
            vec.insert_point(row, &p).unwrap();
            model.vec.insert_point(row, &p);
            row += 1;
        }
        // A few deletes per round, so that replay and pages both hold deletions.
        for victim in (row - 600..row).step_by(97) {
            let (id, min, max) = {
                let i = (0..model.geo.len())
                    .find(|&i| model.geo.record(i).0 == victim)
                    .unwrap();
                let (id, min, max) = model.geo.record(i);
                (id, min.to_vec(), max.to_vec())
            };
            assert!(geo.delete(id, &min, &max).unwrap());
            assert!(model.geo.delete(id, &min, &max));
        }
        rt.commit().unwrap();
        if round == 1 {
            assert!(rt.checkpoint().unwrap());
        }
    }
    rt.close().unwrap();
    model
}

/// A query window of field "geo": (min, max).
type Window = ([f64; 2], [f64; 2]);

/// Windows and kNN points that exercise both fields.
fn queries(seed: u64) -> (Vec<Window>, Vec<[f64; 3]>) {
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let windows = (0..25)
        .map(|_| {
            let min = [rng.next_f64() * 900.0, rng.next_f64() * 900.0];
            let side = rng.next_f64() * 200.0;
            (min, [min[0] + side, min[1] + side])
        })
        .collect();
    let points = (0..25)
        .map(|_| [rng.next_f64(), rng.next_f64(), rng.next_f64()])
        .collect();
    (windows, points)
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Every query kind on `rt` against `model`.
fn verify(rt: &Runtime, model: &Model, seed: u64, ctx: &str) {
    let geo = rt.get("geo").unwrap().expect("field geo");
    let vec = rt.get("vec").unwrap().expect("field vec");
    assert_eq!(geo.len().unwrap(), model.geo.len() as u64, "{ctx}");
    assert_eq!(vec.len().unwrap(), model.vec.len() as u64, "{ctx}");
    let (windows, points) = queries(seed);
    for (min, max) in &windows {
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            assert_eq!(
                sorted(geo.search(ty, min, max).unwrap()),
                sorted(model.geo.search(ty, min, max)),
                "{ctx}: {ty:?} {min:?}..{max:?}"
            );
            assert_eq!(
                geo.count(ty, min, max).unwrap(),
                model.geo.count(ty, min, max),
                "{ctx}"
            );
        }
    }
    for p in &points {
        let want: Vec<u64> = model
            .vec
            .nearest(p, 10)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(vec.nearest(p, 10).unwrap(), want, "{ctx}: kNN of {p:?}");
    }
}

#[test]
fn two_read_only_runtimes_at_once_answer_the_committed_state_and_change_no_file() {
    let seed = common::test_seed(10);
    eprintln!("seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let model = build(dir.path(), seed);
    let before = files(dir.path());
    let a = Runtime::open_read_only(dir.path()).unwrap();
    let b = Runtime::open_read_only(dir.path()).unwrap();
    verify(&a, &model, seed, "reader a");
    verify(&b, &model, seed, "reader b");
    // A snapshot and a cursor of a reader outlive it, as with a writer.
    let snap = a.get("geo").unwrap().unwrap().snapshot().unwrap();
    assert_eq!(a.stats().epoch, b.stats().epoch);
    assert!(a.stats().replayed_transactions > 0, "the log was replayed");
    a.close().unwrap();
    a.close().unwrap(); // idempotent
    let all = [f64::NEG_INFINITY; 2];
    let end = [f64::INFINITY; 2];
    assert_eq!(
        snap.count(SearchType::Intersects, &all, &end).unwrap(),
        model.geo.len() as u64
    );
    verify(&b, &model, seed, "reader b after a closed");
    drop(snap);
    b.close().unwrap();
    assert_unchanged(&before, dir.path(), "after two readers");
    // The directory is still a sound, writable directory with the same state.
    let rt = Runtime::open(dir.path(), writer_opts()).unwrap();
    verify(&rt, &model, seed, "writer after the readers");
}

#[test]
fn a_writer_is_refused_while_readers_hold_the_directory_and_the_reverse() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3);
    let reader = Runtime::open_read_only(dir.path()).unwrap();
    let e = Runtime::open(dir.path(), writer_opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("read-only openers"), "{e}");
    // A snapshot of a closed reader still holds its shared lock: still no writer.
    let snap = reader.get("geo").unwrap().unwrap().snapshot().unwrap();
    reader.close().unwrap();
    assert!(Runtime::open(dir.path(), writer_opts()).is_err());
    drop(snap);

    let writer = Runtime::open(dir.path(), writer_opts()).unwrap();
    let e = Runtime::open_read_only(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("is locked by a writer"), "{e}");
    writer.close().unwrap();
    let again = Runtime::open_read_only(dir.path()).unwrap();
    again.close().unwrap();
}

#[test]
fn every_write_on_a_read_only_runtime_fails_with_read_only() {
    let seed = 7;
    let dir = tempfile::tempdir().unwrap();
    let model = build(dir.path(), seed);
    let before = files(dir.path());
    let rt = Runtime::open_read_only(dir.path()).unwrap();
    let geo = rt.get("geo").unwrap().unwrap();
    let (id, min, max) = {
        let (id, min, max) = model.geo.record(0);
        (id, min.to_vec(), max.to_vec())
    };
    let ro = |r: xtree::Result<()>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::ReadOnly, "{what}: {e}");
        assert!(e.message().contains("read-only"), "{what}: {e}");
    };
    ro(geo.insert(1 << 40, &[1.0, 2.0], &[3.0, 4.0]), "insert");
    ro(geo.insert_point(1 << 40, &[1.0, 2.0]), "insert_point");
    ro(
        geo.insert_points(&[1, 2], &[1.0, 2.0, 3.0, 4.0]),
        "insert_points",
    );
    ro(
        geo.insert_boxes(&[1], &[1.0, 2.0], &[3.0, 4.0]),
        "insert_boxes",
    );
    ro(geo.delete(id, &min, &max).map(|_| ()), "delete");
    ro(
        geo.delete(1 << 41, &min, &max).map(|_| ()),
        "delete of a missing record",
    );
    ro(
        geo.update(id, &min, &max, &[0.0, 0.0], &[1.0, 1.0])
            .map(|_| ()),
        "update",
    );
    ro(rt.commit().map(|_| ()), "commit");
    ro(rt.checkpoint().map(|_| ()), "checkpoint");
    ro(
        rt.field("new", field_options(1, 64)).map(|_| ()),
        "field creation",
    );
    assert_eq!(rt.field_names(), vec!["geo".to_string(), "vec".to_string()]);
    // Asking for an existing field with its own options writes nothing and succeeds.
    rt.field("geo", field_options(2, 64)).unwrap();
    verify(&rt, &model, seed, "after the refused writes");
    assert!(rt.poisoned().is_none(), "a refused write does not poison");
    rt.close().unwrap();
    assert_unchanged(&before, dir.path(), "after refused writes");
}

#[test]
fn a_missing_or_uninitialised_directory_is_not_created_by_a_read_only_open() {
    let scratch = tempfile::tempdir().unwrap();
    let absent = scratch.path().join("absent");
    let e = Runtime::open_read_only(&absent).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("does not exist"), "{e}");
    assert!(!absent.exists(), "the read-only open created the directory");
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = Runtime::open_read_only(&empty).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("not a data directory"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&empty).unwrap().collect();
    assert!(left.is_empty(), "the read-only open wrote {left:?}");
}

/// A crash in the middle of a log write leaves a torn last transaction: a read-only open
/// answers the commit before it and leaves the log as it is (a writer's open would cut it).
#[test]
fn a_torn_log_tail_is_read_up_to_the_last_commit_and_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RuntimeOptions {
        checkpoint_on_close: false,
        ..writer_opts()
    };
    let opts_of_field = field_options(2, 64);
    let mut model = BruteForce::new(2, 64);
    let log_name = {
        let rt = Runtime::open(dir.path(), opts.clone()).unwrap();
        let f = rt.field("geo", opts_of_field.clone()).unwrap();
        for i in 0..300u64 {
            let p = [(i % 17) as f64, (i / 17) as f64];
            f.insert_point(i, &p).unwrap();
            model.insert_point(i, &p);
        }
        rt.commit().unwrap();
        rt.close().unwrap();
        let logs: Vec<String> = files(dir.path())
            .into_keys()
            .filter(|n| n.starts_with("wal-"))
            .collect();
        assert_eq!(logs.len(), 1, "{logs:?}");
        logs[0].clone()
    };
    let log = dir.path().join(&log_name);
    let committed = std::fs::read(&log).unwrap();
    {
        let rt = Runtime::open(dir.path(), opts).unwrap();
        let f = rt.get("geo").unwrap().unwrap();
        let rows: Vec<u64> = (1000..1200).collect();
        let coords: Vec<f64> = rows.iter().flat_map(|&r| [r as f64, 0.5]).collect();
        f.insert_points(&rows, &coords).unwrap();
        rt.commit().unwrap();
        rt.close().unwrap();
    }
    let mut bytes = std::fs::read(&log).unwrap();
    let start = committed
        .iter()
        .zip(&bytes)
        .position(|(a, b)| a != b)
        .expect("the second commit changed the log");
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    assert!(
        end - start > 64,
        "the second transaction is {} bytes",
        end - start
    );
    // Tear it: the second half of the transaction as a crash mid-write leaves it.
    let mid = start + (end - start) / 2;
    for b in &mut bytes[mid..end] {
        *b ^= 0xa5;
    }
    std::fs::write(&log, &bytes).unwrap();
    let before = files(dir.path());

    let rt = Runtime::open_read_only(dir.path()).unwrap();
    let f = rt.get("geo").unwrap().unwrap();
    assert_eq!(f.len().unwrap(), 300);
    let all = [f64::NEG_INFINITY; 2];
    let inf = [f64::INFINITY; 2];
    assert_eq!(
        sorted(f.search(SearchType::Intersects, &all, &inf).unwrap()),
        sorted(model.search(SearchType::Intersects, &all, &inf))
    );
    let second = Runtime::open_read_only(dir.path()).unwrap();
    assert_eq!(second.get("geo").unwrap().unwrap().len().unwrap(), 300);
    second.close().unwrap();
    rt.close().unwrap();
    assert_unchanged(&before, dir.path(), "after reading a torn tail");
    assert_eq!(std::fs::read(&log).unwrap(), bytes, "the torn tail was cut");

    // fsck (which opens read-only too) reports the tail as a note, not as damage.
    let report = xtree::tools::fsck(dir.path()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        report.notes.iter().any(|n| n.contains("torn tail")),
        "{:?}",
        report.notes
    );
    assert_unchanged(&before, dir.path(), "after fsck");

    // The tail was real: a writer's open cuts it.
    let rt = Runtime::open(dir.path(), writer_opts()).unwrap();
    assert_eq!(rt.get("geo").unwrap().unwrap().len().unwrap(), 300);
    rt.close().unwrap();
    assert!(
        xtree::tools::fsck(dir.path())
            .unwrap()
            .notes
            .iter()
            .all(|n| !n.contains("torn tail")),
        "the writer left the torn tail"
    );
}
