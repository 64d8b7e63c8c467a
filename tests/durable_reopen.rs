//! The durable runtime across close and reopen, per durability policy: every query kind equals
//! the brute-force model of the last commit, through log replay, checkpoints and reopen cycles
//! with writes between them; plus visibility, snapshots, the directory lock and concurrent
//! readers during commits.

#[path = "common/mod.rs"]
mod common;
mod durable_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use durable_common::*;
use xtree::engine::backend::Backend;
use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

fn opts(durability: Durability, checkpoint_on_close: bool) -> RuntimeOptions {
    RuntimeOptions {
        durability,
        checkpoint_on_close,
        background_checkpoints: false,
        ..RuntimeOptions::default()
    }
}

#[test]
fn reopen_cycles_equal_the_model_for_every_policy() {
    for (pi, durability) in [
        Durability::Strict,
        Durability::Balanced,
        Durability::Eventual,
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::new();
        history.insert(0, Model::new());
        let mut work = Workload::new(100 + pi as u64, Model::new());
        for cycle in 0..6 {
            // Odd cycles close without a checkpoint, so the next open replays the log over the
            // previous checkpoint; cycle 3 also checkpoints in the middle of its writes.
            let rt = Runtime::open(dir.path(), opts(durability, cycle % 2 == 0)).unwrap();
            let ctx = format!("{durability:?} cycle {cycle} open");
            let last = *history.keys().last().unwrap();
            verify_recovered(&rt, &history, last, &ctx);
            let fields = open_fields(&rt, &mut history);
            for c in 0..15 {
                work.writes(&fields).unwrap();
                let epoch = rt.commit().unwrap();
                history.insert(epoch, work.model.clone());
                if cycle == 3 && c == 7 {
                    assert!(rt.checkpoint().unwrap());
                }
            }
            // Uncommitted writes are not visible and are lost at close.
            let before = fields[0].len().unwrap();
            fields[0].insert(7, &[1.0, 1.0], &[2.0, 2.0]).unwrap();
            assert_eq!(fields[0].len().unwrap(), before);
            verify_state(
                &rt,
                &work.model,
                &format!("{durability:?} cycle {cycle} live"),
            );
            rt.close().unwrap();
            assert_eq!(fields[0].len().unwrap_err().kind(), ErrorKind::Closed);
        }
        let rt = Runtime::open(dir.path(), opts(durability, false)).unwrap();
        let last = *history.keys().last().unwrap();
        verify_recovered(&rt, &history, last, &format!("{durability:?} final"));
    }
}

#[test]
fn second_opener_gets_a_clear_error_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    let e = Runtime::open(dir.path(), RuntimeOptions::default()).expect_err("locked");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("locked"), "{e}");
    rt.close().unwrap();
    Runtime::open(dir.path(), RuntimeOptions::default())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn an_existing_field_must_match_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    rt.field("a", IndexOptions::new(2, 64, vec!["x".into(), "y".into()]))
        .unwrap();
    let e = rt
        .field(
            "a",
            IndexOptions::new(3, 64, vec!["x".into(), "y".into(), "z".into()]),
        )
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(rt.field_names(), vec!["a".to_string()]);
}

#[test]
fn held_snapshots_keep_their_epoch_while_the_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(dir.path(), opts(Durability::Balanced, true)).unwrap();
    let f = rt
        .field("p", IndexOptions::new(1, 64, vec!["t".into()]))
        .unwrap();
    f.insert_point(1, &[1.0]).unwrap();
    rt.commit().unwrap();
    let held = rt.snapshot().unwrap();
    let cursor_snap = f.snapshot().unwrap();
    for i in 2..200u64 {
        f.insert_point(i, &[i as f64]).unwrap();
        rt.commit().unwrap();
    }
    rt.checkpoint().unwrap();
    let all = ([f64::NEG_INFINITY], [f64::INFINITY]);
    assert_eq!(
        held.field("p")
            .unwrap()
            .search(SearchType::Intersects, &all.0, &all.1)
            .unwrap(),
        vec![1]
    );
    assert_eq!(cursor_snap.len(), 1);
    assert_eq!(f.len().unwrap(), 199);
}

/// Readers query while one writer inserts rows 0, 1, 2, ... and commits every 25: a committed
/// state holds exactly rows 0..25k, so every answer must be such a prefix, and successive
/// answers of one reader never go back in time.
#[test]
fn concurrent_readers_only_ever_see_committed_states() {
    for durability in [
        Durability::Strict,
        Durability::Balanced,
        Durability::Eventual,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rt = Arc::new(
            Runtime::open(
                dir.path(),
                RuntimeOptions {
                    durability,
                    checkpoint_epochs: Some(30),
                    ..RuntimeOptions::default()
                },
            )
            .unwrap(),
        );
        let f = rt
            .field("s", IndexOptions::new(2, 64, vec!["x".into(), "y".into()]))
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (f, done) = (f.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut last = 0usize;
                    let mut checks = 0;
                    while !done.load(Ordering::Acquire) {
                        let mut ids = f
                            .search(SearchType::Intersects, &[-1.0, -1.0], &[1e9, 1e9])
                            .unwrap();
                        ids.sort_unstable();
                        let n = ids.len();
                        assert_eq!(
                            n % 25,
                            0,
                            "{durability:?}: {n} rows is not a committed state"
                        );
                        assert!(ids.iter().enumerate().all(|(i, &id)| i as u64 == id));
                        assert!(n >= last, "{durability:?}: went back from {last} to {n}");
                        last = n;
                        checks += 1;
                    }
                    checks
                })
            })
            .collect();
        for row in 0..3000u64 {
            let x = (row * 7919 % 1000) as f64;
            f.insert_point(row, &[x, (row % 97) as f64]).unwrap();
            if row % 25 == 24 {
                rt.commit().unwrap();
            }
        }
        done.store(true, Ordering::Release);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        assert_eq!(f.len().unwrap(), 3000);
        rt.close().unwrap();
    }
}

/// Eight threads committing at once under BALANCED share syncs (group commit) and every commit
/// they were acknowledged survives a reopen.
#[test]
fn concurrent_committers_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(Runtime::open(dir.path(), opts(Durability::Balanced, false)).unwrap());
    let f = rt
        .field("c", IndexOptions::new(1, 64, vec!["t".into()]))
        .unwrap();
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (rt, f) = (rt.clone(), f.clone());
            std::thread::spawn(move || {
                for i in 0..50u64 {
                    let row = t * 1000 + i;
                    f.insert_point(row, &[row as f64]).unwrap();
                    rt.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(f.len().unwrap(), 400);
    rt.close().unwrap();
    drop(rt);
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    let f = rt.get("c").unwrap().unwrap();
    assert_eq!(f.len().unwrap(), 400);
}

/// Regression: a rejected box batch used to be written row by row and withdrawn, so a commit
/// from another thread could catch part of it. `Field::insert_boxes` is all or nothing.
#[test]
fn box_batches_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    let f = rt
        .field("b", IndexOptions::new(2, 64, vec!["x".into(), "y".into()]))
        .unwrap();
    let e = f
        .insert_boxes(&[1, 2], &[0.0, 0.0, 5.0, 5.0], &[1.0, 1.0, 4.0, 6.0])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("batch row 1"), "{e}");
    rt.commit().unwrap();
    assert_eq!(f.len().unwrap(), 0);
    f.insert_boxes(&[1, 2], &[0.0, 0.0, 5.0, 5.0], &[1.0, 1.0, 6.0, 6.0])
        .unwrap();
    rt.commit().unwrap();
    rt.close().unwrap();
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    let f = rt.get("b").unwrap().unwrap();
    assert_eq!(
        f.search(SearchType::Contains, &[5.5, 5.5], &[5.5, 5.5])
            .unwrap(),
        vec![2]
    );
}

/// Commits racing `close` either fail with `Closed` or are in the reopened state. (Close now
/// refuses writes before its final sync; before, an EVENTUAL commit could slip in after it and
/// stay unsynced. A process that survives cannot observe the missing sync, so this pins the
/// refusal and the accounting, not the sync itself.)
#[test]
fn writes_after_close_begins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(Runtime::open(dir.path(), opts(Durability::Eventual, true)).unwrap());
    let f = rt
        .field("e", IndexOptions::new(1, 64, vec!["t".into()]))
        .unwrap();
    let writer = {
        let (rt, f) = (rt.clone(), f.clone());
        std::thread::spawn(move || {
            let mut acked = 0u64;
            for i in 0..100_000u64 {
                if f.insert_point(i, &[i as f64]).is_err() {
                    break;
                }
                match rt.commit() {
                    Ok(_) => acked = i + 1,
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
                        break;
                    }
                }
            }
            acked
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    rt.close().unwrap();
    let acked = writer.join().unwrap();
    drop(rt);
    let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
    assert_eq!(rt.get("e").unwrap().unwrap().len().unwrap(), acked);
}

/// The ids `s` finds for the query, sorted.
fn sorted(s: &xtree::IndexSnapshot, ty: SearchType, lo: &[f64], hi: &[f64]) -> Vec<u64> {
    let mut v = s.search(ty, lo, hi).unwrap();
    v.sort_unstable();
    v
}

/// Checkpoints are incremental: after a full first checkpoint, a small change writes a few
/// pages, not the tree; the freed slots are reused; and across write / reopen / write / reopen
/// cycles the allocator, rebuilt from the object table at each open, never hands out a live
/// slot (the C++ original's failure): every state equals the model and passes the checkpoint
/// verification. A real directory maps the segment files; the in-memory fault backend cannot
/// map, and the same pages are read instead, with the same answers.
#[test]
fn checkpoints_are_incremental_and_reopen_write_reopen_keeps_everything() {
    use xtree::engine::backend::FaultBackend;
    let dir = tempfile::tempdir().unwrap();
    let o = || IndexOptions::new(2, 32, vec!["x".into(), "y".into()]);
    let mut model: std::collections::BTreeMap<u64, [f64; 2]> = Default::default();
    let mut rng = common::SplitMix64::new(77);
    let mut next_id = 0u64;
    let check = |rt: &Runtime, model: &std::collections::BTreeMap<u64, [f64; 2]>, ctx: &str| {
        let snap = rt.snapshot().unwrap();
        let Some(f) = snap.field("m") else {
            assert!(model.is_empty(), "{ctx}: field missing");
            return;
        };
        assert_eq!(f.len(), model.len() as u64, "{ctx}");
        let all = sorted(
            f,
            SearchType::Intersects,
            &[f64::NEG_INFINITY; 2],
            &[f64::INFINITY; 2],
        );
        assert_eq!(all, model.keys().copied().collect::<Vec<_>>(), "{ctx}");
        let lo = [100.0, 100.0];
        let hi = [400.0, 300.0];
        let got = sorted(f, SearchType::Within, &lo, &hi);
        let want: Vec<u64> = model
            .iter()
            .filter(|(_, p)| p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1])
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(got, want, "{ctx}");
        let seg = rt
            .verify_checkpoint()
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(seg.pages, rt.stats().checkpoint_pages, "{ctx}");
    };
    for cycle in 0..5 {
        let ctx = format!("cycle {cycle}");
        let rt = Runtime::open(dir.path(), opts(Durability::Balanced, true)).unwrap();
        check(&rt, &model, &format!("{ctx} open"));
        let f = rt.field("m", o()).unwrap();
        // A big batch, a checkpoint (the new pages), then a small change and a checkpoint.
        let n = if cycle == 0 { 20_000 } else { 3_000 };
        let rows: Vec<u64> = (next_id..next_id + n).collect();
        let coords: Vec<f64> = (0..2 * n).map(|_| rng.next_f64() * 1000.0).collect();
        for (k, id) in rows.iter().enumerate() {
            model.insert(*id, [coords[2 * k], coords[2 * k + 1]]);
        }
        next_id += n;
        f.insert_points(&rows, &coords).unwrap();
        // Delete a tenth of what exists, spread over the space.
        let victims: Vec<(u64, [f64; 2])> = model
            .iter()
            .filter(|(id, _)| *id % 10 == cycle)
            .map(|(id, p)| (*id, *p))
            .collect();
        for (id, p) in &victims {
            assert!(f.delete(*id, p, p).unwrap());
            model.remove(id);
        }
        rt.commit().unwrap();
        assert!(rt.checkpoint().unwrap());
        let full = rt.stats();
        assert!(full.last_checkpoint_pages > 0, "{ctx}");
        check(&rt, &model, &format!("{ctx} after the big checkpoint"));
        for k in 0..5u64 {
            let p = [rng.next_f64() * 1000.0, rng.next_f64() * 1000.0];
            f.insert_point(next_id + k, &p).unwrap();
            model.insert(next_id + k, p);
        }
        next_id += 5;
        rt.commit().unwrap();
        assert!(rt.checkpoint().unwrap());
        let small = rt.stats();
        // Five points change at most five root-to-leaf paths (plus splits).
        assert!(
            small.last_checkpoint_pages <= 5 * 6,
            "{ctx}: a 5-point checkpoint wrote {} of {} pages",
            small.last_checkpoint_pages,
            small.checkpoint_pages
        );
        // Space is reused: the segment files do not grow by a copy of the tree per checkpoint.
        assert!(
            small.segment_bytes <= full.segment_bytes + 64 * 4096,
            "{ctx}: {} -> {} segment bytes",
            full.segment_bytes,
            small.segment_bytes
        );
        check(&rt, &model, &format!("{ctx} after the small checkpoint"));
        // Odd cycles also commit more after the checkpoint: the next open replays it.
        if cycle % 2 == 1 {
            let p = [1.0, 2.0];
            f.insert_point(next_id, &p).unwrap();
            model.insert(next_id, p);
            next_id += 1;
            rt.commit().unwrap();
        }
        rt.close().unwrap();
    }
    // The same directory through a backend that cannot map: pages are read, answers equal.
    let fault = FaultBackend::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name == "LOCK" {
            continue;
        }
        let file = fault.open(&name, true).unwrap();
        file.write_at(0, &std::fs::read(entry.path()).unwrap())
            .unwrap();
    }
    let rt = Runtime::open_with(Arc::new(fault), opts(Durability::Balanced, false)).unwrap();
    check(&rt, &model, "read, not mapped");
}

/// A snapshot held across checkpoints keeps reading the pages it saw, even pages mapped from a
/// segment file whose slots later checkpoints free and reuse: a slot stays pinned while a page
/// mapped from it is in memory.
#[test]
fn held_snapshots_of_mapped_pages_survive_slot_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let o = IndexOptions::new(2, 64, vec!["x".into(), "y".into()]);
    let n = 4000u64;
    let point = |id: u64, round: u64| {
        [
            ((id * 7919 + round * 13) % 1000) as f64,
            ((id * 104_729) % 997) as f64,
        ]
    };
    {
        let rt = Runtime::open(dir.path(), opts(Durability::Strict, true)).unwrap();
        let f = rt.field("m", o.clone()).unwrap();
        let rows: Vec<u64> = (0..n).collect();
        let coords: Vec<f64> = rows.iter().flat_map(|&id| point(id, 0)).collect();
        f.insert_points(&rows, &coords).unwrap();
        rt.commit().unwrap();
        rt.close().unwrap();
    }
    let rt = Runtime::open(dir.path(), opts(Durability::Strict, true)).unwrap();
    let f = rt.get("m").unwrap().unwrap();
    let held = rt.snapshot().unwrap();
    let everything = |s: &xtree::IndexSnapshot| {
        sorted(
            s,
            SearchType::Intersects,
            &[f64::NEG_INFINITY; 2],
            &[f64::INFINITY; 2],
        )
    };
    let window =
        |s: &xtree::IndexSnapshot| sorted(s, SearchType::Within, &[0.0, 0.0], &[300.0, 500.0]);
    let before_all = everything(held.field("m").unwrap());
    let before_window = window(held.field("m").unwrap());
    assert_eq!(before_all.len() as u64, n);
    // Moves every record to its place of `round`, commits and checkpoints.
    let move_all = |round: u64| {
        for id in 0..n {
            let old = point(id, round - 1);
            let new = point(id, round);
            f.update(id, &old, &old, &new, &new).unwrap();
        }
        rt.commit().unwrap();
        assert!(rt.checkpoint().unwrap());
    };
    // Two rounds: the first frees every mapped slot, the second would reuse them.
    move_all(1);
    move_all(2);
    let s = held.field("m").unwrap();
    assert_eq!(everything(s), before_all);
    assert_eq!(window(s), before_window);
    s.check().unwrap();
    drop(held);
    // Once the snapshot is gone the slots are reusable: the files stop growing.
    let grown = rt.stats().segment_bytes;
    move_all(3);
    move_all(4);
    assert!(
        rt.stats().segment_bytes <= grown,
        "{} > {grown}",
        rt.stats().segment_bytes
    );
    rt.verify_checkpoint().unwrap();
}
