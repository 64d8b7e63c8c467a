//! A real data directory whose N-th fsync (EIO) or write (ENOSPC) fails, through
//! `FailingBackend` and `Runtime::open_dir_with`, for every N a small workload reaches: the call
//! fails with `Io`, later writes with `Poisoned` although the disk works again, reads keep the
//! last acknowledged commit, and a normal reopen shows every acknowledged commit plus all or
//! nothing of the failed one (STRICT, BALANCED). The Java twin is `DurableRuntimeFaultTest`.

use std::sync::Arc;

use xtree::engine::backend::Fault;
use xtree::engine::failing::{FailingBackend, FaultPlan};
use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

const ALL: ([f64; 2], [f64; 2]) = ([f64::NEG_INFINITY; 2], [f64::INFINITY; 2]);

fn opts(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        durability,
        background_checkpoints: false,
        ..RuntimeOptions::default()
    }
}

fn rows(rt: &Runtime) -> Vec<u64> {
    let Some(f) = rt.get("geo").unwrap() else {
        return Vec::new();
    };
    let mut ids = f.search(SearchType::Intersects, &ALL.0, &ALL.1).unwrap();
    ids.sort_unstable();
    ids
}

/// What a run acknowledged and what its failing commit would have committed.
#[derive(Default)]
struct Run {
    acked: Vec<Vec<u64>>,
    attempted: Option<Vec<u64>>,
}

/// Four commits of ten rows into field "geo" with a checkpoint after the second; close is the
/// caller's.
fn workload(rt: &Runtime, run: &mut Run) -> xtree::Result<()> {
    run.attempted = Some(Vec::new());
    let geo = rt.field(
        "geo",
        IndexOptions::new(2, 64, vec!["x".into(), "y".into()]),
    )?;
    run.acked.push(run.attempted.take().unwrap());
    let mut model = Vec::new();
    for c in 0..4u64 {
        for i in 0..10 {
            let id = c * 10 + i;
            geo.insert_point(id, &[id as f64, (id % 3) as f64])?;
            model.push(id);
        }
        run.attempted = Some(model.clone());
        rt.commit()?;
        run.acked.push(run.attempted.take().unwrap());
        if c == 1 {
            rt.checkpoint()?;
        }
    }
    Ok(())
}

/// Runs the workload on a new directory with `plan`; checks the failure and the reopen.
fn check(durability: Durability, plan: FaultPlan, ctx: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Run::default();
    run.acked.push(Vec::new());
    let opened = Runtime::open_dir_with(dir.path(), opts(durability), |std| {
        Arc::new(FailingBackend::new(std, plan.clone()))
    });
    let error = match opened {
        Err(e) => Some(e),
        Ok(rt) => match workload(&rt, &mut run) {
            Err(e) => {
                let last = run.acked.last().unwrap();
                assert_eq!(rows(&rt), *last, "{ctx}: reads after {e}");
                let geo = rt.get("geo").unwrap();
                let refused = [
                    geo.map(|g| g.insert_point(999, &[0.0, 0.0]).unwrap_err()),
                    Some(rt.commit().unwrap_err()),
                    Some(rt.checkpoint().unwrap_err()),
                ];
                for r in refused.into_iter().flatten() {
                    assert_eq!(r.kind(), ErrorKind::Poisoned, "{ctx}: {r}");
                }
                rt.close()
                    .expect("a poisoned runtime closes without writing");
                Some(e)
            }
            Ok(()) => rt.close().err(),
        },
    };
    let injected = plan.injected();
    let recovered = rows(&Runtime::open(dir.path(), RuntimeOptions::default()).unwrap());
    match (&error, injected.as_slice()) {
        (None, []) => panic!("{ctx}: the planned call was never made"),
        (Some(e), [i]) => {
            assert_eq!(e.kind(), ErrorKind::Io, "{ctx}: {e}");
            assert_eq!(e.message(), i, "{ctx}");
        }
        // The directory clean-up after a checkpoint does not poison (DESIGN.md §5).
        (None, [i]) => assert!(i.starts_with("fsync directory"), "{ctx}: silent {i}"),
        _ => panic!("{ctx}: {error:?} after {injected:?}"),
    }
    let last = run.acked.last().unwrap();
    assert!(
        recovered == *last || Some(&recovered) == run.attempted.as_ref(),
        "{ctx}: recovered {recovered:?}, acknowledged {last:?}, attempted {:?}",
        run.attempted
    );
}

#[test]
fn every_failed_fsync_and_full_disk_write_leaves_a_committed_state() {
    for durability in [Durability::Strict, Durability::Balanced] {
        // Count the calls of a clean run, then fail each in turn.
        let dir = tempfile::tempdir().unwrap();
        let counting = FaultPlan::counting();
        let rt = Runtime::open_dir_with(dir.path(), opts(durability), |std| {
            Arc::new(FailingBackend::new(std, counting.clone()))
        })
        .unwrap();
        workload(&rt, &mut Run::default()).unwrap();
        rt.close().unwrap();
        let (syncs, writes) = (counting.syncs(), counting.writes());
        assert!(
            syncs >= 10 && writes >= 10,
            "{syncs} fsyncs, {writes} writes"
        );
        for n in 1..=syncs {
            let plan = FaultPlan::new(Some((n, Fault::Eio)), None);
            check(
                durability,
                plan,
                &format!("{durability:?}, fsync {n}/{syncs}"),
            );
        }
        for n in 1..=writes {
            let plan = FaultPlan::new(None, Some((n, Fault::NoSpace)));
            check(
                durability,
                plan,
                &format!("{durability:?}, write {n}/{writes}"),
            );
        }
    }
}
