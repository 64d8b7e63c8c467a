//! Simulated crashes, injected I/O faults and corruption, through the fault-injecting backend.
//!
//! - Crash at every sync point of a scripted workload (with the unsynced tail dropped, and torn)
//!   and reopen: the state equals a committed state, at least the last acknowledged one
//!   (STRICT/BALANCED), any one (EVENTUAL); recovering twice gives the same state; writing on
//!   across a log rotation and crashing at every sync point of that recovers too.
//! - EIO/ENOSPC at every I/O call of the workload: the call fails with `Io`, later writes with
//!   `Poisoned`, reads keep answering, and a reopen shows a committed state.
//! - A flipped bit in each file kind is reported as corruption or loses only a log tail; never
//!   a panic, never a state that no commit produced.

#[path = "common/mod.rs"]
mod common;
mod durable_common;

use std::sync::Arc;

use durable_common::*;
use xtree::engine::backend::{Backend, Fault, FaultBackend};
use xtree::{Durability, ErrorKind, Runtime, RuntimeOptions, SearchType};

fn opts(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        durability,
        background_checkpoints: false,
        checkpoint_on_close: false,
        // Small enough that the scripted workload checkpoints in the middle.
        checkpoint_epochs: Some(6),
        ..RuntimeOptions::default()
    }
}

/// Runs the workload on `b`: fields, `commits` transactions, a checkpoint every 6 commits.
/// Records in `history` each commit's model and in `acked` the number of syncs done when each
/// commit was acknowledged (so a crash image taken at sync k must hold every commit acked at
/// or before k). Returns the first error, if any.
fn run(
    b: &FaultBackend,
    durability: Durability,
    commits: usize,
    history: &mut History,
    acked: &mut Vec<(u64, u64)>,
) -> xtree::Result<()> {
    run_with(b, durability, commits, history, acked, &mut |_| {})
}

/// [`run`], calling `on_ack(epoch)` right after each acknowledged commit.
fn run_with(
    b: &FaultBackend,
    durability: Durability,
    commits: usize,
    history: &mut History,
    acked: &mut Vec<(u64, u64)>,
    on_ack: &mut dyn FnMut(u64),
) -> xtree::Result<()> {
    let rt = Runtime::open_with(Arc::new(b.clone()), opts(durability))?;
    let fields = {
        let mut out = Vec::new();
        for (i, (name, _, _)) in FIELDS.iter().enumerate() {
            // A commit that fails may still have reached the disk: record its state first.
            let last = history.values().last().cloned().unwrap();
            let epoch = rt.stats().epoch + 1;
            history.insert(epoch, last);
            out.push(rt.field(name, field_options(i))?);
            acked.push((b.syncs(), epoch));
            on_ack(epoch);
        }
        out
    };
    let mut work = Workload::new(7, Model::new());
    for c in 0..commits {
        work.writes(&fields)?;
        history.insert(rt.stats().epoch + 1, work.model.clone());
        let epoch = rt.commit()?;
        acked.push((b.syncs(), epoch));
        on_ack(epoch);
        if c % 6 == 5 {
            rt.checkpoint()?;
        }
    }
    rt.close()
}

/// The last epoch acknowledged at or before sync number `sync`.
fn acked_by(acked: &[(u64, u64)], sync: u64) -> u64 {
    acked
        .iter()
        .filter(|(s, _)| *s <= sync)
        .map(|(_, e)| *e)
        .max()
        .unwrap_or(0)
}

#[test]
fn crash_at_every_sync_point_recovers_a_committed_state() {
    for durability in [
        Durability::Strict,
        Durability::Balanced,
        Durability::Eventual,
    ] {
        for torn in [None, Some(0xbad5eed)] {
            let b = FaultBackend::new();
            b.record_crash_images(torn);
            let mut history = History::new();
            history.insert(0, Model::new());
            let mut acked = Vec::new();
            let mut after_ack = Vec::new();
            let mut on_ack = |epoch: u64| {
                let image = b.crash(torn.map(|t| t ^ epoch));
                after_ack.push((format!("after the ack of epoch {epoch}"), image, epoch));
            };
            run_with(&b, durability, 20, &mut history, &mut acked, &mut on_ack).unwrap();
            let images = b.take_images();
            assert!(
                images.len() > 20,
                "{durability:?}: {} sync points",
                images.len()
            );
            // Crash points: inside every sync (before its caller returns), and right after
            // every acknowledged commit (where a policy that skipped its sync would lose it).
            let mut points: Vec<(String, FaultBackend, u64)> = images
                .into_iter()
                .enumerate()
                .map(|(k, image)| {
                    let sync = k as u64 + 1;
                    (format!("in sync {sync}"), image, acked_by(&acked, sync - 1))
                })
                .collect();
            points.extend(after_ack);
            for (at, image, acked_min) in points {
                let ctx = format!("{durability:?} torn {torn:?} crash {at}");
                let min = match durability {
                    Durability::Eventual => 0,
                    _ => acked_min,
                };
                let rt = Runtime::open_with(Arc::new(image.clone()), opts(Durability::Strict))
                    .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
                let epoch = verify_recovered(&rt, &history, min, &ctx);
                drop(rt);
                // Recovery is idempotent: crash right after it and recover again.
                let again = image.crash(None);
                let rt =
                    Runtime::open_with(Arc::new(again.clone()), opts(Durability::Strict)).unwrap();
                assert_eq!(rt.stats().epoch, epoch, "{ctx}: second recovery");
                write_on(rt, &again, torn, &ctx);
            }
        }
    }
}

/// Writing goes on from a recovered runtime across a log rotation: a commit, a checkpoint, a
/// commit, with a crash at every sync point of that. The log that recovery cut (a torn tail
/// in the preallocated length) is an older log once the checkpoint has created the next one,
/// so it must end cleanly, or a crash before the checkpoint's manifest fails the reopen as
/// damage "although later logs exist".
fn write_on(rt: Runtime, b: &FaultBackend, torn: Option<u64>, ctx: &str) {
    let start = rt.stats().epoch;
    let f = rt.field(FIELDS[0].0, field_options(0)).unwrap();
    b.record_crash_images(torn);
    f.insert(u64::MAX, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    f.insert(u64::MAX - 1, &[2.0, 2.0], &[3.0, 3.0]).unwrap();
    let last = rt.commit().unwrap();
    drop(f);
    rt.close().unwrap();
    for (k, image) in b.take_images().into_iter().enumerate() {
        let rt = Runtime::open_with(Arc::new(image), opts(Durability::Strict))
            .unwrap_or_else(|e| panic!("{ctx}, writing on, crash in sync {k}: {e}"));
        let epoch = rt.stats().epoch;
        assert!(
            (start..=last).contains(&epoch),
            "{ctx}, writing on, crash in sync {k}: epoch {epoch} outside {start}..={last}"
        );
    }
}

#[test]
fn io_fault_at_every_call_poisons_then_reopens_to_a_committed_state() {
    // Count the calls of a clean run first.
    let clean = FaultBackend::new();
    let mut h = History::new();
    h.insert(0, Model::new());
    run(&clean, Durability::Balanced, 12, &mut h, &mut Vec::new()).unwrap();
    let calls = clean.calls();
    let mut failures = 0;
    for n in 1..=calls {
        let b = FaultBackend::new();
        b.fail_at(
            n,
            if n % 2 == 0 {
                Fault::Eio
            } else {
                Fault::NoSpace
            },
        );
        let mut history = History::new();
        history.insert(0, Model::new());
        let mut acked = Vec::new();
        let r = run(&b, Durability::Balanced, 12, &mut history, &mut acked);
        let ctx = format!("fault at call {n} of {calls}");
        if let Err(e) = r {
            failures += 1;
            assert!(
                matches!(e.kind(), ErrorKind::Io | ErrorKind::Poisoned),
                "{ctx}: {e:?}"
            );
        }
        // Whatever happened, the durable image and the written image both recover to a
        // committed state holding every acknowledged commit.
        let min = acked.last().map_or(0, |(_, e)| *e);
        for (which, image) in [("durable", b.crash(None)), ("written", b.clone())] {
            image.clear_fault();
            let rt = Runtime::open_with(Arc::new(image), opts(Durability::Strict))
                .unwrap_or_else(|e| panic!("{ctx}: reopen of the {which} image failed: {e}"));
            verify_recovered(&rt, &history, min, &format!("{ctx}, {which} image"));
        }
    }
    assert!(
        failures as u64 > calls / 2,
        "{failures} of {calls} runs saw their fault"
    );
}

#[test]
fn after_a_failed_sync_writes_are_refused_and_reads_go_on() {
    let b = FaultBackend::new();
    let rt = Runtime::open_with(Arc::new(b.clone()), opts(Durability::Strict)).unwrap();
    let f = rt.field("geo", field_options(0)).unwrap();
    f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    f.insert(2, &[5.0, 5.0], &[6.0, 6.0]).unwrap();
    b.fail_at(2, Fault::Eio); // the append succeeds, its sync fails
    let e = rt.commit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(rt.poisoned().is_some());
    let e = f.insert(3, &[0.0, 0.0], &[1.0, 1.0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Poisoned);
    assert_eq!(rt.commit().unwrap_err().kind(), ErrorKind::Poisoned);
    assert_eq!(
        f.len().unwrap(),
        1,
        "reads answer on the last published commit"
    );
    drop(rt);
    let rt = Runtime::open_with(Arc::new(b.crash(None)), opts(Durability::Strict)).unwrap();
    let f = rt.get("geo").unwrap().unwrap();
    assert_eq!(f.len().unwrap(), 1);
    f.insert(4, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
}

/// Flips one bit at many offsets of every file of a checkpointed, logged directory. Each open
/// either fails with `Corruption` (or `Io` for a file made unreadable) or yields a committed
/// state; it never panics and never invents a state.
#[test]
fn flipped_bits_are_detected_in_every_file_kind() {
    let b = FaultBackend::new();
    let mut history = History::new();
    history.insert(0, Model::new());
    let mut acked = Vec::new();
    run(&b, Durability::Strict, 15, &mut history, &mut acked).unwrap();
    let files = b.list().unwrap();
    let kinds = ["SUPERBLOCK", "manifest-", "ckpt-", "wal-", "seg-"];
    for kind in kinds {
        assert!(
            files.iter().any(|f| f.starts_with(kind)),
            "no {kind} file in {files:?}"
        );
    }
    let mut detected = 0;
    let mut tried = 0;
    for name in &files {
        let len = b.contents(name).unwrap().len();
        let step = (len / 97).max(1);
        for off in (0..len).step_by(step) {
            let image = b.crash(None);
            assert!(image.flip(name, off, (off % 8) as u8));
            tried += 1;
            match Runtime::open_with(Arc::new(image), opts(Durability::Strict)) {
                Err(e) => {
                    assert!(
                        matches!(e.kind(), ErrorKind::Corruption | ErrorKind::Io),
                        "{name}@{off}: {e:?}"
                    );
                    detected += 1;
                }
                Ok(rt) if name.starts_with("seg-") => {
                    // Pages verify themselves on first use, so open succeeds; the checkpoint
                    // check (fsck) finds the flip, and a query that reads the page fails with
                    // `Corruption` instead of answering wrong. A flip in a slot's padding or a
                    // free slot harms nothing.
                    match rt.verify_checkpoint() {
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::Corruption, "{name}@{off}: {e}");
                            detected += 1;
                            let epoch = rt.stats().epoch;
                            let model = &history[&epoch];
                            for (i, (field, d, _)) in FIELDS.iter().enumerate() {
                                let Some(f) = rt.get(field).unwrap() else {
                                    continue;
                                };
                                let inf = vec![f64::INFINITY; *d];
                                let ninf = vec![f64::NEG_INFINITY; *d];
                                match f.search(SearchType::Intersects, &ninf, &inf) {
                                    Err(e) => assert_eq!(e.kind(), ErrorKind::Corruption),
                                    Ok(mut ids) => {
                                        ids.sort_unstable();
                                        assert_eq!(
                                            ids,
                                            model.fields[i].search(
                                                SearchType::Intersects,
                                                &ninf,
                                                &inf
                                            ),
                                            "{name}@{off}: {field} answered wrong"
                                        );
                                    }
                                }
                            }
                        }
                        Ok(_) => {
                            verify_recovered(&rt, &history, 0, &format!("{name}@{off}"));
                        }
                    };
                }
                Ok(rt) => {
                    // Only a log tail may be lost: the state is still a committed one.
                    assert!(
                        name.starts_with("wal-") || name.starts_with("SUPERBLOCK"),
                        "{name}@{off} undetected"
                    );
                    verify_recovered(&rt, &history, 0, &format!("{name}@{off}"));
                }
            }
        }
    }
    assert!(detected * 2 > tried, "{detected} of {tried} flips detected");
}

/// Logs are replayed in sequence until one is missing: a later log after the gap, or a
/// transaction whose epoch skips ahead, means committed transactions are gone, which recovery
/// reports as corruption instead of opening an older state.
#[test]
fn a_missing_log_or_an_epoch_gap_is_corruption() {
    use xtree::engine::wal::{self, WalWriter};
    let b = FaultBackend::new();
    let o = RuntimeOptions {
        checkpoint_on_close: false,
        ..opts(Durability::Strict)
    };
    {
        let rt = Runtime::open_with(Arc::new(b.clone()), o.clone()).unwrap();
        let f = rt.field("geo", field_options(0)).unwrap();
        f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
        assert_eq!(rt.commit().unwrap(), 2);
        rt.close().unwrap();
    }
    // wal-0 holds epochs 1 and 2. A wal-2 beside it, wal-1 missing:
    let image = b.crash(None);
    let mut w = WalWriter::create(&image, 2).unwrap();
    w.append(&wal::encode_txn(5, &[])).unwrap();
    w.sync().unwrap();
    let e = Runtime::open_with(Arc::new(image), o.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains("is missing although"), "{e}");
    // wal-1 present but starting at epoch 5: epochs 3 and 4 are gone.
    let image = b.crash(None);
    let mut w = WalWriter::create(&image, 1).unwrap();
    w.append(&wal::encode_txn(5, &[])).unwrap();
    w.sync().unwrap();
    let e = Runtime::open_with(Arc::new(image), o.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains("commits are missing"), "{e}");
    // The same log starting at epoch 3 continues the history: it opens.
    let image = b.crash(None);
    let mut w = WalWriter::create(&image, 1).unwrap();
    w.append(&wal::encode_txn(3, &[])).unwrap();
    w.sync().unwrap();
    let rt = Runtime::open_with(Arc::new(image), o).unwrap();
    assert_eq!(rt.stats().epoch, 3);
}
