//! Compaction of the segment files (`Runtime::compact`, DESIGN.md §5 "Compaction").
//!
//! - After churn the files shrink to (about) their live pages, the answers stay those of the
//!   model, the checkpoint's object tables and the allocator agree, and the directory reopens
//!   to the same state; a second compaction finds nothing to do.
//! - Right after an open, when the tree's pages are still unread page objects on their old
//!   slots, a compaction that moves them redirects their reads; a snapshot taken before churn
//!   keeps answering from pages the checkpoint no longer has, and a cursor goes on across it.
//! - A crash at every sync point of a compaction (clean and torn) recovers the committed state
//!   with every slot owned once, and writing on from it reuses slots correctly; an I/O error
//!   at every call poisons the runtime, reads go on, and a reopen shows the same state.
//! - Read-only and closed runtimes refuse it; the background policy runs it by dead ratio;
//!   compactions race checkpoints, writers and readers without a wrong answer.

#[path = "common/mod.rs"]
mod common;
mod durable_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_common::*;
use xtree::engine::backend::FaultBackend;
use xtree::{ErrorKind, Field, Runtime, RuntimeOptions, SearchType};

use common::SplitMix64;

fn opts() -> RuntimeOptions {
    RuntimeOptions {
        background_checkpoints: false,
        checkpoint_on_close: true,
        compact_dead_ratio: None,
        ..RuntimeOptions::default()
    }
}

fn open_fb(b: &FaultBackend) -> Runtime {
    Runtime::open_with(Arc::new(b.clone()), opts()).unwrap()
}

/// `n` boxes of field 0 (node size 512: tens of pages) and `n / 4` points of field 1,
/// committed and checkpointed.
fn fill(rt: &Runtime, fields: &[Field], model: &mut Model, rng: &mut SplitMix64, n: usize) {
    let mut next = model.fields[0].len() as u64 * 7 + 1_000_000 * (1 + rng.below(1000) as u64);
    for _ in 0..n {
        let (x, y) = (rng.next_f64() * 200.0, rng.next_f64() * 200.0);
        let (min, max) = ([x, y], [x + rng.next_f64(), y + rng.next_f64()]);
        fields[0].insert(next, &min, &max).unwrap();
        model.fields[0].insert(next, &min, &max);
        next += 1;
    }
    let rows: Vec<u64> = (0..n as u64 / 4).map(|i| next + i).collect();
    let coords: Vec<f64> = (0..rows.len() * 3)
        .map(|_| rng.next_f64() * 100.0 - 50.0)
        .collect();
    fields[1].insert_points(&rows, &coords).unwrap();
    for (i, &r) in rows.iter().enumerate() {
        model.fields[1].insert_point(r, &coords[i * 3..i * 3 + 3]);
    }
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
}

/// Deletes `fraction` of field 0's records (and of field 1's), chosen at random; commits and
/// checkpoints (the freed pages' slots become free space in the files).
fn thin(rt: &Runtime, fields: &[Field], model: &mut Model, rng: &mut SplitMix64, fraction: f64) {
    for (f, field) in fields.iter().enumerate() {
        let m = &mut model.fields[f];
        let n = (m.len() as f64 * fraction) as usize;
        for _ in 0..n {
            let (row, min, max) = m.record(rng.below(m.len()));
            let (min, max) = (min.to_vec(), max.to_vec());
            assert!(field.delete(row, &min, &max).unwrap());
            m.delete(row, &min, &max);
        }
    }
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
}

fn fields_of(rt: &Runtime) -> Vec<Field> {
    let mut h = History::new();
    h.insert(0, Model::new());
    open_fields(rt, &mut h)
}

fn seg_len(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("seg-"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn compaction_shrinks_the_files_to_the_live_pages_and_keeps_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(11);
    let mut model = Model::new();
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = fields_of(&rt);
        fill(&rt, &fields, &mut model, &mut rng, 6000);
        let grown = rt.stats().segment_bytes;
        thin(&rt, &fields, &mut model, &mut rng, 0.8);
        let s = rt.stats();
        assert!(
            s.segment_bytes >= grown,
            "checkpoints never shrink the files"
        );
        assert!(
            s.segment_live_bytes * 3 < s.segment_bytes,
            "churn left free space: {s:?}"
        );
        let c = rt.compact().unwrap();
        assert!(c.pages_moved > 0, "{c:?}");
        assert_eq!(c.bytes_before, s.segment_bytes);
        assert_eq!(c.live_bytes, s.segment_live_bytes);
        assert!(c.bytes_after < c.bytes_before, "{c:?}");
        // Nothing holds old pages: the files end at their last live page.
        assert_eq!(c.bytes_after, c.live_bytes, "{c:?}");
        assert_eq!(seg_len(dir.path()), c.bytes_after);
        let st = rt.stats();
        assert_eq!((st.segment_bytes, st.compactions), (c.bytes_after, 1));
        assert_eq!(
            st.compacted_bytes_total,
            c.bytes_before - c.bytes_after,
            "{st:?}"
        );
        verify_state(&rt, &model, "after compaction");
        let v = rt.verify_checkpoint().unwrap();
        assert_eq!(v.bytes, c.bytes_after);
        // A second compaction has nothing to move or cut.
        let again = rt.compact().unwrap();
        assert_eq!((again.pages_moved, again.bytes_after), (0, c.bytes_after));
        // Writing on reuses and grows the files as before.
        fill(&rt, &fields, &mut model, &mut rng, 500);
        verify_state(&rt, &model, "written on after compaction");
        rt.verify_checkpoint().unwrap();
        rt.close().unwrap();
    }
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    verify_state(&rt, &model, "reopened after compaction");
    rt.verify_checkpoint().unwrap();
    drop(rt);
    let report = xtree::tools::fsck(dir.path()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn pages_moved_before_their_first_read_are_read_from_their_new_slots() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(12);
    let mut model = Model::new();
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = fields_of(&rt);
        fill(&rt, &fields, &mut model, &mut rng, 5000);
        // Free slots low in the files, live pages above them.
        thin(&rt, &fields, &mut model, &mut rng, 0.5);
        fill(&rt, &fields, &mut model, &mut rng, 3000);
        rt.close().unwrap();
    }
    // Reopened: every page is an unread page object on its old slot.
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let fields = fields_of(&rt);
    thin(&rt, &fields, &mut model, &mut rng, 0.3);
    let s = rt.stats();
    assert!(s.loaded_bytes < s.segment_live_bytes, "{s:?}");
    let c = rt.compact().unwrap();
    assert!(c.pages_moved > 0 && c.bytes_after < c.bytes_before, "{c:?}");
    assert_eq!(seg_len(dir.path()), c.bytes_after);
    // Every page of the tree is read now, moved ones from their new slots (the old ones are
    // past the end of the files).
    verify_state(&rt, &model, "first reads after compaction");
    rt.verify_checkpoint().unwrap();
    // The moved pages' replacements go through checkpoints that free the new slots.
    thin(&rt, &fields, &mut model, &mut rng, 0.5);
    rt.compact().unwrap();
    verify_state(&rt, &model, "second compaction");
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    verify_state(&rt, &model, "reopened");
    rt.verify_checkpoint().unwrap();
}

#[test]
fn snapshots_and_cursors_taken_before_go_on_answering() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(13);
    let mut model = Model::new();
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = fields_of(&rt);
        fill(&rt, &fields, &mut model, &mut rng, 6000);
        rt.close().unwrap();
    }
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let fields = fields_of(&rt);
    let before = model.clone();
    let snap = rt.snapshot().unwrap();
    let geo = snap.field("geo").unwrap().clone();
    let inf = [f64::INFINITY; 2];
    let ninf = [f64::NEG_INFINITY; 2];
    let mut cursor = geo.cursor(SearchType::Intersects, &ninf, &inf).unwrap();
    let mut seen: Vec<u64> = cursor.next_page(100).unwrap();
    thin(&rt, &fields, &mut model, &mut rng, 0.7);
    let c1 = rt.compact().unwrap();
    // The snapshot's pages that the checkpoint dropped were read by the deletes that
    // replaced them (their slots are no longer needed); any still unread would have moved
    // down with the live ones (`held_pages_moved`).
    assert!(c1.pages_moved > 0, "{c1:?}");
    assert!(c1.bytes_after < c1.bytes_before, "{c1:?}");
    while let Some(batch) = Some(cursor.next_page(1000).unwrap()).filter(|b| !b.is_empty()) {
        seen.extend(batch);
    }
    seen.sort_unstable();
    let m = &before.fields[0];
    assert_eq!(seen, m.search(SearchType::Intersects, &ninf, &inf));
    // The whole snapshot still answers as the state it was taken at.
    let epoch = snap.epoch();
    let mut h = History::new();
    h.insert(epoch, before.clone());
    for q in 0..20 {
        let lo = [rng.next_f64() * 200.0, rng.next_f64() * 200.0];
        let hi = [lo[0] + 30.0, lo[1] + 30.0];
        let mut got = geo.search(SearchType::Intersects, &lo, &hi).unwrap();
        got.sort_unstable();
        assert_eq!(got, m.search(SearchType::Intersects, &lo, &hi), "query {q}");
    }
    geo.check().unwrap();
    verify_state(&rt, &model, "the current state");
    drop((cursor, geo, snap));
    let c2 = rt.compact().unwrap();
    assert!(c2.bytes_after <= c1.bytes_after, "{c1:?} then {c2:?}");
    assert_eq!(c2.bytes_after, c2.live_bytes, "{c2:?}");
    verify_state(&rt, &model, "after the second compaction");
    rt.verify_checkpoint().unwrap();
    drop(fields);
    rt.close().unwrap();
}

/// A backend holding a churned directory: two fields, filled, thinned, refilled, thinned.
fn churned(seed: u64) -> (FaultBackend, Model) {
    let b = FaultBackend::new();
    let mut rng = SplitMix64::new(seed);
    let mut model = Model::new();
    let rt = open_fb(&b);
    let fields = fields_of(&rt);
    fill(&rt, &fields, &mut model, &mut rng, 1500);
    thin(&rt, &fields, &mut model, &mut rng, 0.6);
    fill(&rt, &fields, &mut model, &mut rng, 400);
    thin(&rt, &fields, &mut model, &mut rng, 0.5);
    drop(fields);
    rt.close().unwrap();
    (b, model)
}

/// Opens `image`, checks it holds `model` with tables and allocator in agreement, then writes
/// on (reusing free slots), checkpoints, reopens and checks again.
fn recover_and_write_on(image: FaultBackend, model: &Model, ctx: &str) {
    let rt = Runtime::open_with(Arc::new(image.clone()), opts())
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    verify_state(&rt, model, ctx);
    rt.verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}: object tables against the allocator: {e}"));
    let fields = fields_of(&rt);
    let mut model = model.clone();
    let mut rng = SplitMix64::new(99);
    fill(&rt, &fields, &mut model, &mut rng, 300);
    thin(&rt, &fields, &mut model, &mut rng, 0.2);
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open_with(Arc::new(image), opts()).unwrap();
    verify_state(&rt, &model, &format!("{ctx}, written on"));
    rt.verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}, written on: {e}"));
}

#[test]
fn a_crash_at_every_sync_point_of_a_compaction_recovers_the_committed_state() {
    let (b, model) = churned(21);
    for torn in [None, Some(0x5eed_c0de)] {
        let base = b.crash(None);
        let rt = open_fb(&base);
        let before = rt.stats().segment_bytes;
        base.record_crash_images(torn);
        let c = rt.compact().unwrap();
        assert!(c.pages_moved > 0 && c.bytes_after < before, "{c:?}");
        drop(rt);
        let images = base.take_images();
        // Copy sync, checkpoint sync, manifest sync and directory sync, superblock, cuts.
        assert!(images.len() >= 5, "{} sync points", images.len());
        for (k, image) in images.into_iter().enumerate() {
            recover_and_write_on(image, &model, &format!("torn {torn:?}, crash in sync {k}"));
        }
        // And right after it returned.
        recover_and_write_on(base.crash(torn), &model, &format!("torn {torn:?}, after"));
    }
}

#[test]
fn an_io_error_at_every_call_of_a_compaction_poisons_and_loses_nothing() {
    let (b, model) = churned(22);
    let calls = {
        let image = b.crash(None);
        let rt = open_fb(&image);
        let start = image.calls();
        rt.compact().unwrap();
        let n = image.calls() - start;
        drop(rt);
        n
    };
    assert!(calls > 10, "{calls} calls");
    let mut failed = 0;
    for k in 0..calls {
        for fault in [
            xtree::engine::backend::Fault::Eio,
            xtree::engine::backend::Fault::NoSpace,
        ] {
            let image = b.crash(None);
            let rt = open_fb(&image);
            image.fail_at(image.calls() + k, fault);
            let ctx = format!("fault {fault:?} at call {k}");
            match rt.compact() {
                Ok(_) => {}
                Err(e) => {
                    failed += 1;
                    assert!(
                        matches!(e.kind(), ErrorKind::Io | ErrorKind::Poisoned),
                        "{ctx}: {e}"
                    );
                    // Reads go on; writes are refused.
                    verify_state(&rt, &model, &format!("{ctx}, reading on"));
                    assert!(rt.commit().is_err() || rt.poisoned().is_none(), "{ctx}");
                }
            }
            image.clear_fault();
            drop(rt);
            recover_and_write_on(image.crash(None), &model, &ctx);
        }
    }
    assert!(
        failed > calls,
        "most faults must fail the compaction ({failed})"
    );
}

#[test]
fn read_only_and_closed_runtimes_refuse_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(14);
    let mut model = Model::new();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let fields = fields_of(&rt);
    fill(&rt, &fields, &mut model, &mut rng, 500);
    drop(fields);
    rt.close().unwrap();
    assert_eq!(rt.compact().unwrap_err().kind(), ErrorKind::Closed);
    let ro = Runtime::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.compact().unwrap_err().kind(), ErrorKind::ReadOnly);
    verify_state(&ro, &model, "read-only");
    drop(ro);
    // An empty runtime has nothing to compact.
    let empty = tempfile::tempdir().unwrap();
    let rt = Runtime::open(empty.path(), opts()).unwrap();
    let c = rt.compact().unwrap();
    assert_eq!((c.pages_moved, c.bytes_before, c.bytes_after), (0, 0, 0));
}

#[test]
fn the_background_policy_compacts_by_dead_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let o = RuntimeOptions {
        background_checkpoints: true,
        checkpoint_epochs: Some(1),
        compact_dead_ratio: Some(0.25),
        compact_min_dead_bytes: 0,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(dir.path(), o).unwrap();
    let fields = fields_of(&rt);
    let mut rng = SplitMix64::new(15);
    let mut model = Model::new();
    fill(&rt, &fields, &mut model, &mut rng, 4000);
    assert_eq!(rt.stats().compactions, 0, "growing files are not compacted");
    thin(&rt, &fields, &mut model, &mut rng, 0.8);
    // One more commit wakes the coordinator, which checkpoints, then compacts.
    fill(&rt, &fields, &mut model, &mut rng, 4);
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.stats().compactions == 0 {
        assert!(
            Instant::now() < deadline,
            "no background compaction: {:?}",
            rt.stats()
        );
        fields[0].insert(7, &[0.0, 0.0], &[0.0, 0.0]).unwrap();
        model.fields[0].insert(7, &[0.0, 0.0], &[0.0, 0.0]);
        rt.commit().unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = rt.stats();
    assert!(
        (s.segment_bytes - s.segment_live_bytes) as f64 <= 0.25 * s.segment_bytes as f64,
        "{s:?}"
    );
    verify_state(&rt, &model, "after a background compaction");
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    verify_state(&rt, &model, "reopened");
    rt.verify_checkpoint().unwrap();
}

#[test]
fn compactions_race_checkpoints_writers_and_readers() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = fields_of(&rt);
        fill(&rt, &fields, &mut model, &mut SplitMix64::new(16), 4000);
        rt.close().unwrap();
    }
    let rt = Arc::new(Runtime::open(dir.path(), opts()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..2u64 {
        let (rt, stop) = (rt.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if t == 0 {
                    rt.compact().unwrap();
                } else {
                    rt.checkpoint().unwrap();
                }
                n += 1;
            }
            n
        }));
    }
    for _ in 0..2 {
        let (rt, stop) = (rt.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Each snapshot is one committed state: its tree is sound and holds its count.
                let snap = rt.snapshot().unwrap();
                for (name, d) in [("geo", 2), ("vec", 3)] {
                    let s = snap.field(name).unwrap();
                    let all = s
                        .count(
                            SearchType::Intersects,
                            &vec![f64::MIN; d],
                            &vec![f64::MAX; d],
                        )
                        .unwrap();
                    assert_eq!(all, s.len(), "snapshot of epoch {}", snap.epoch());
                    s.check().unwrap();
                }
                n += 1;
            }
            n
        }));
    }
    let fields = fields_of(&rt);
    let mut rng = SplitMix64::new(17);
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < Duration::from_secs(3) || rounds < 4 {
        thin(&rt, &fields, &mut model, &mut rng, 0.3);
        fill(&rt, &fields, &mut model, &mut rng, 800);
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
    verify_state(&rt, &model, "after the race");
    rt.verify_checkpoint().unwrap();
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    verify_state(&rt, &model, "reopened after the race");
    rt.verify_checkpoint().unwrap();
}
