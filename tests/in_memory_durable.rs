//! In-memory ↔ durable (issue 10): `Index::save_to` writes an in-memory index into a new data
//! directory that reopens as a durable field with the same answers (window queries and kNN
//! against the source), leaving the source untouched; a save that fails at any write or fsync
//! leaves nothing at the target; `Index::load_from` and `Field::to_index` copy a durable field
//! into an in-memory index that no longer depends on the directory.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;

use common::{labels, SplitMix64};
use xtree::engine::backend::Fault;
use xtree::engine::failing::{FailingBackend, FaultPlan};
use xtree::engine::DEFAULT_FIELD;
use xtree::{Durability, ErrorKind, Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

fn writer_opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        ..RuntimeOptions::default()
    }
}

/// An in-memory index of `dim` dimensions: `n` boxes (or points when `points`), some deleted,
/// with small nodes so that the tree has several levels (and supernodes in higher dimensions).
fn source(dim: usize, precision: u32, n: u64, points: bool, seed: u64) -> Index {
    let mut o = IndexOptions::new(dim, precision, labels(dim));
    o.node_size = 1024;
    let ix = Index::with_options(o).unwrap();
    let mut rng = SplitMix64::new(seed);
    let mut kept = Vec::new();
    for row in 0..n {
        let min: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 100.0).collect();
        let max: Vec<f64> = if points {
            min.clone()
        } else {
            min.iter().map(|v| v + rng.next_f64() * 3.0).collect()
        };
        ix.insert(row, &min, &max).unwrap();
        kept.push((row, min, max));
    }
    for (row, min, max) in kept.iter().step_by(7) {
        assert!(ix.delete(*row, min, max).unwrap());
    }
    ix
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// A window query under test: (predicate, min, max) → row ids.
type WindowFn<'a> = &'a dyn Fn(SearchType, &[f64], &[f64]) -> Vec<u64>;

/// Window queries of every kind and kNN of `got` against `want` (both `dim`-D).
fn same_answers(
    got: WindowFn<'_>,
    got_knn: &dyn Fn(&[f64], usize) -> Vec<u64>,
    want: &Index,
    seed: u64,
    ctx: &str,
) {
    let dim = want.dimension();
    let mut rng = SplitMix64::new(seed ^ 0xabc);
    for _ in 0..30 {
        let min: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 90.0).collect();
        let max: Vec<f64> = min.iter().map(|v| v + rng.next_f64() * 30.0).collect();
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            assert_eq!(
                sorted(got(ty, &min, &max)),
                sorted(want.search(ty, &min, &max).unwrap()),
                "{ctx}: {ty:?} {min:?}..{max:?}"
            );
        }
        let p: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 100.0).collect();
        assert_eq!(got_knn(&p, 12), want.nearest(&p, 12).unwrap(), "{ctx}: kNN");
    }
    let all = vec![f64::NEG_INFINITY; dim];
    let end = vec![f64::INFINITY; dim];
    assert_eq!(
        sorted(got(SearchType::Intersects, &all, &end)),
        sorted(want.search(SearchType::Intersects, &all, &end).unwrap()),
        "{ctx}: everything"
    );
}

fn field_answers_like(rt: &Runtime, name: &str, want: &Index, seed: u64, ctx: &str) {
    let f = rt.get(name).unwrap().expect("the saved field");
    assert_eq!(
        format!("{:?}", f.options()),
        format!("{:?}", want.options()),
        "{ctx}"
    );
    assert_eq!(f.len().unwrap(), want.len(), "{ctx}");
    same_answers(
        &|ty, a, b| f.search(ty, a, b).unwrap(),
        &|p, k| f.nearest(p, k).unwrap(),
        want,
        seed,
        ctx,
    );
    f.snapshot().unwrap().check().unwrap();
}

fn index_answers_like(got: &Index, want: &Index, seed: u64, ctx: &str) {
    assert_eq!(
        format!("{:?}", got.options()),
        format!("{:?}", want.options()),
        "{ctx}"
    );
    assert_eq!(got.len(), want.len(), "{ctx}");
    same_answers(
        &|ty, a, b| got.search(ty, a, b).unwrap(),
        &|p, k| got.nearest(p, k).unwrap(),
        want,
        seed,
        ctx,
    );
    got.check().unwrap();
}

/// Entries of `parent` whose name starts with `.{name}.xtree-save-` (a save's temporary).
fn leftovers(parent: &Path, name: &str) -> Vec<String> {
    let prefix = format!(".{name}.xtree-save-");
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn a_saved_index_reopens_durable_with_the_same_pages_and_answers() {
    let seed = common::test_seed(11);
    eprintln!("seed {seed}");
    for (dim, precision, points) in [(2, 64, false), (3, 32, true), (8, 64, false)] {
        let ctx = format!("{dim}-D, precision {precision}");
        let ix = source(dim, precision, 3000, points, seed);
        let before_len = ix.len();
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("saved");
        ix.save_to(&target).unwrap();
        assert!(leftovers(parent.path(), "saved").is_empty());
        // The source is untouched and still writable.
        assert_eq!(ix.len(), before_len);
        ix.check().unwrap();
        let copy = ix.copy().unwrap();
        index_answers_like(&copy, &ix, seed, &format!("{ctx}, Index::copy"));

        let report = xtree::tools::fsck(&target).unwrap();
        assert!(report.problems.is_empty(), "{ctx}: {:?}", report.problems);
        let rt = Runtime::open(&target, writer_opts()).unwrap();
        assert_eq!(rt.field_names(), vec![DEFAULT_FIELD.to_string()]);
        let s = rt.try_stats().unwrap();
        // Everything came from the checkpoint: nothing replayed, no page on the heap, and as
        // many pages in the checkpoint as the tree has.
        assert_eq!(s.replayed_transactions, 0, "{ctx}: {s:?}");
        assert_eq!(s.heap_bytes, 0, "{ctx}: {s:?}");
        let tree = ix.check().unwrap();
        let tree_pages = tree.leaves + tree.directories;
        assert_eq!(s.checkpoint_pages, tree_pages, "{ctx}: {s:?} vs {tree:?}");
        field_answers_like(&rt, DEFAULT_FIELD, &ix, seed, &ctx);
        // A normal durable directory: it takes writes, commits and reopens.
        let f = rt.get(DEFAULT_FIELD).unwrap().unwrap();
        let p = vec![1.5; dim];
        f.insert_point(1 << 40, &p).unwrap();
        rt.commit().unwrap();
        rt.close().unwrap();
        ix.insert_point(1 << 40, &p).unwrap();
        let rt = Runtime::open(&target, writer_opts()).unwrap();
        field_answers_like(
            &rt,
            DEFAULT_FIELD,
            &ix,
            seed,
            &format!("{ctx}, after a write"),
        );
    }
}

#[test]
fn an_empty_index_saves_and_loads() {
    let ix = Index::new(2, 64, labels(2)).unwrap();
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("empty-index");
    ix.save_to(&target).unwrap();
    let rt = Runtime::open_read_only(&target).unwrap();
    assert_eq!(rt.get(DEFAULT_FIELD).unwrap().unwrap().len().unwrap(), 0);
    rt.close().unwrap();
    let back = Index::load_from(&target, DEFAULT_FIELD).unwrap();
    assert_eq!(back.len(), 0);
    back.insert_point(1, &[1.0, 2.0]).unwrap();
    assert_eq!(back.nearest(&[0.0, 0.0], 3).unwrap(), vec![1]);
}

#[test]
fn a_save_refuses_an_existing_non_empty_target_and_accepts_an_empty_one() {
    let ix = source(2, 64, 200, true, 5);
    let parent = tempfile::tempdir().unwrap();
    let full = parent.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"mine").unwrap();
    let e = ix.save_to(&full).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("not empty"), "{e}");
    assert_eq!(std::fs::read(full.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);

    let file = parent.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(
        ix.save_to(&file).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let e = ix
        .save_to(parent.path().join("no/such/parent"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");

    let empty = parent.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ix.save_to(&empty).unwrap();
    let back = Index::load_from(&empty, DEFAULT_FIELD).unwrap();
    index_answers_like(&back, &ix, 5, "saved into an empty directory");
    // A second save to the same, now full, directory is refused.
    assert_eq!(
        ix.save_to(&empty).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(leftovers(parent.path(), "full").is_empty());
    assert!(leftovers(parent.path(), "empty").is_empty());
}

/// Every write and every fsync of a save, failed in turn: the save returns the error, nothing
/// exists at the target, the temporary directory is gone, and the source still answers (or,
/// for the one fsync whose failure the engine tolerates, the target is complete); a save
/// without failure then succeeds.
#[test]
fn a_save_interrupted_at_any_write_or_fsync_leaves_nothing_at_the_target() {
    let ix = source(2, 64, 1500, false, 9);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("saved");
    let counting = FaultPlan::counting();
    {
        let plan = counting.clone();
        ix.save_to_with(parent.path().join("counted"), move |b| {
            Arc::new(FailingBackend::new(b, plan))
        })
        .unwrap();
    }
    let (writes, syncs) = (counting.writes(), counting.syncs());
    assert!(writes > 3 && syncs > 3, "writes {writes}, syncs {syncs}");
    let mut cases = Vec::new();
    for n in 1..=writes {
        cases.push(FaultPlan::new(None, Some((n, Fault::Eio))));
    }
    for n in 1..=syncs {
        cases.push(FaultPlan::new(Some((n, Fault::NoSpace)), None));
    }
    let (mut failed, mut survived) = (0u64, 0u64);
    for plan in cases {
        let kept = plan.clone();
        let r = ix.save_to_with(&target, move |b| Arc::new(FailingBackend::new(b, plan)));
        let injected = kept.injected();
        assert_eq!(injected.len(), 1, "one failure injected: {injected:?}");
        match r {
            // The clean-up after the checkpoint (removing the first log and manifest) may
            // fail without failing anything: the checkpoint is durable, and the save syncs
            // the directory itself afterwards. Then the target is complete.
            Ok(()) => {
                let rt = Runtime::open_read_only(&target).unwrap();
                field_answers_like(&rt, DEFAULT_FIELD, &ix, 9, &format!("{injected:?}"));
                rt.close().unwrap();
                std::fs::remove_dir_all(&target).unwrap();
                survived += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Io, "{e} ({injected:?})");
                assert!(!target.exists(), "{injected:?} left {}", target.display());
                failed += 1;
            }
        }
        assert!(
            leftovers(parent.path(), "saved").is_empty(),
            "{injected:?} left a temporary directory"
        );
    }
    eprintln!("{writes} writes, {syncs} fsyncs: {failed} saves failed, {survived} completed");
    assert!(
        survived <= 1,
        "only the clean-up's directory sync may fail harmlessly"
    );
    ix.check().unwrap();
    ix.save_to(&target).unwrap();
    let rt = Runtime::open_read_only(&target).unwrap();
    field_answers_like(&rt, DEFAULT_FIELD, &ix, 9, "after the failed saves");
}

/// Name → bytes of the files of `dir`.
fn file_bytes(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_durable_field_loads_into_an_independent_in_memory_index() {
    let seed = 21;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("durable");
    let want = source(3, 32, 2500, false, seed);
    want.save_to(&dir).unwrap();
    // More records committed to the log only: the field is checkpoint pages plus a replay.
    {
        let rt = Runtime::open(
            &dir,
            RuntimeOptions {
                checkpoint_on_close: false,
                ..writer_opts()
            },
        )
        .unwrap();
        let f = rt.get(DEFAULT_FIELD).unwrap().unwrap();
        for row in 10_000..10_300u64 {
            let p = [(row % 100) as f64, 50.0, (row / 100) as f64];
            f.insert_point(row, &p).unwrap();
            want.insert_point(row, &p).unwrap();
        }
        rt.commit().unwrap();
        f.insert_point(99_999, &[1.0, 1.0, 1.0]).unwrap(); // never committed
                                                           // Field::to_index on a writer: the committed state, independent of the runtime.
        let copy = f.to_index().unwrap();
        rt.close().unwrap();
        index_answers_like(&copy, &want, seed, "Field::to_index after close");
    }
    let before = file_bytes(&dir);
    let loaded = Index::load_from(&dir, DEFAULT_FIELD).unwrap();
    index_answers_like(&loaded, &want, seed, "Index::load_from");
    // Writes to the copy stay in memory.
    loaded.insert_point(77, &[3.0, 3.0, 3.0]).unwrap();
    assert!(loaded
        .delete(10_000, &[0.0, 50.0, 100.0], &[0.0, 50.0, 100.0])
        .unwrap());
    assert_eq!(loaded.len(), want.len());
    assert_eq!(file_bytes(&dir), before, "the source directory changed");

    let e = Index::load_from(&dir, "nope").err().expect("no field nope");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let writer = Runtime::open(&dir, writer_opts()).unwrap();
    let e = Index::load_from(&dir, DEFAULT_FIELD)
        .err()
        .expect("a writer holds it");
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    // ... and a field saved from a live runtime into another directory.
    let other = parent.path().join("copy");
    writer
        .get(DEFAULT_FIELD)
        .unwrap()
        .unwrap()
        .save_to(&other)
        .unwrap();
    writer.close().unwrap();
    let again = Index::load_from(&other, DEFAULT_FIELD).unwrap();
    index_answers_like(&again, &want, seed, "Field::save_to");
}
