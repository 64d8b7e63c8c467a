//! The memory budget of the durable runtime (`RuntimeOptions::memory_budget`, issue 10,
//! "datasets larger than memory"): pages written and read stay within the budget plus a slack
//! while the index grows to ten times it, queries stay exact (pages come back from their slots),
//! snapshots taken before keep answering, readers race the evictions, and the directory reopens
//! to the same state.

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{BruteForce, SplitMix64};
use xtree::{IndexOptions, Runtime, RuntimeOptions, SearchType};

const BUDGET: u64 = 1 << 20;
/// What may be in memory beyond the budget when the coordinator has caught up: the root path
/// and directory pages a query or the next insert reads back, and one commit's pages.
const SLACK: u64 = 1 << 20;

fn opts() -> RuntimeOptions {
    RuntimeOptions {
        memory_budget: Some(BUDGET),
        checkpoint_interval: None,
        ..RuntimeOptions::default()
    }
}

fn field_opts() -> IndexOptions {
    IndexOptions::new(2, 64, vec!["x".into(), "y".into()])
}

/// Waits until the coordinator has brought the pages in memory back within the budget plus
/// the slack; returns what is resident then.
fn settle(rt: &Runtime, ctx: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = rt.stats();
        let resident = s.heap_bytes + s.loaded_bytes;
        if resident <= BUDGET + SLACK {
            return resident;
        }
        assert!(
            Instant::now() < deadline,
            "{ctx}: {resident} bytes in memory for a budget of {BUDGET}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn check(rt: &Runtime, model: &BruteForce, rng: &mut SplitMix64, ctx: &str) {
    let f = rt.get("geo").unwrap().unwrap();
    assert_eq!(f.len().unwrap(), model.len() as u64, "{ctx}");
    for q in 0..40 {
        let lo = [rng.next_f64() * 1000.0, rng.next_f64() * 1000.0];
        let hi = [lo[0] + 40.0, lo[1] + 40.0];
        let mut got = f.search(SearchType::Intersects, &lo, &hi).unwrap();
        got.sort_unstable();
        assert_eq!(
            got,
            model.search(SearchType::Intersects, &lo, &hi),
            "{ctx}: window {q}"
        );
        let want: Vec<u64> = model
            .nearest(&lo, 10)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(f.nearest(&lo, 10).unwrap(), want, "{ctx}: kNN {q}");
    }
}

/// A snapshot taken at 50,000 points still answers as then, pages evicted and read back.
fn verify_held(snap: &xtree::RuntimeSnapshot, old: &BruteForce) {
    let g = snap.field("geo").unwrap();
    let mut all = g
        .search(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
        .unwrap();
    all.sort_unstable();
    assert_eq!(
        all,
        old.search(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
    );
    g.check().unwrap();
}

#[test]
fn an_index_ten_times_the_budget_stays_within_it_and_answers_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(Runtime::open(dir.path(), opts()).unwrap());
    let f = rt.field("geo", field_opts()).unwrap();
    let mut model = BruteForce::new(2, 64);
    let mut rng = SplitMix64::new(31);
    let stop = Arc::new(AtomicBool::new(false));
    // A reader racing the evictions with small windows (a reader of the whole index would
    // keep all of it in memory between two ticks of the coordinator): search and count agree,
    // and each point found lies in its window.
    let reader = {
        let (rt, stop) = (rt.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = SplitMix64::new(33);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let snap = rt.snapshot().unwrap();
                let Some(s) = snap.field("geo") else {
                    continue;
                };
                let lo = [rng.next_f64() * 1000.0, rng.next_f64() * 1000.0];
                let hi = [lo[0] + 10.0, lo[1] + 10.0];
                let ids = s.search(SearchType::Intersects, &lo, &hi).unwrap();
                let count = s.count(SearchType::Intersects, &lo, &hi).unwrap();
                assert_eq!(
                    ids.len() as u64,
                    count,
                    "snapshot of epoch {}",
                    snap.epoch()
                );
                n += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            n
        })
    };
    let mut row = 0u64;
    let mut held = None;
    let mut max_resident = 0;
    while rt.stats().segment_live_bytes < 10 * BUDGET {
        let rows: Vec<u64> = (row..row + 5000).collect();
        let coords: Vec<f64> = (0..rows.len() * 2)
            .map(|_| rng.next_f64() * 1000.0)
            .collect();
        f.insert_points(&rows, &coords).unwrap();
        for (i, &r) in rows.iter().enumerate() {
            model.insert_point(r, &coords[i * 2..i * 2 + 2]);
        }
        row += rows.len() as u64;
        rt.commit().unwrap();
        // A snapshot held across a few commits keeps the pages only it still reaches in
        // memory (their slots may be reused): the budget holds again once it is dropped.
        if (50_000..80_000).contains(&row) {
            if held.is_none() {
                held = Some((rt.snapshot().unwrap(), model.clone()));
            }
            continue;
        }
        if let Some((snap, old)) = held.take() {
            verify_held(&snap, &old);
        }
        max_resident = max_resident.max(settle(&rt, &format!("after {row} points")));
    }
    let s = rt.stats();
    assert!(s.checkpoints >= 3, "{s:?}");
    // Queries read evicted pages back; the coordinator lets them go again.
    check(&rt, &model, &mut rng, "grown");
    settle(&rt, "after queries");
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    println!(
        "{row} points, {} bytes of live pages, at most {max_resident} bytes in memory after \
         each commit (budget {BUDGET})",
        rt.stats().segment_live_bytes
    );
    rt.verify_checkpoint().unwrap();
    drop(f);
    rt.close().unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    check(&rt, &model, &mut rng, "reopened");
    rt.verify_checkpoint().unwrap();
    settle(&rt, "reopened, after queries");
}

#[test]
fn without_a_budget_pages_stay_and_a_budget_needs_no_change_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BruteForce::new(2, 64);
    let mut rng = SplitMix64::new(32);
    {
        let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
        let f = rt.field("geo", field_opts()).unwrap();
        let rows: Vec<u64> = (0..200_000).collect();
        let coords: Vec<f64> = (0..rows.len() * 2)
            .map(|_| rng.next_f64() * 1000.0)
            .collect();
        f.insert_points(&rows, &coords).unwrap();
        for (i, &r) in rows.iter().enumerate() {
            model.insert_point(r, &coords[i * 2..i * 2 + 2]);
        }
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        let s = rt.stats();
        assert!(
            s.heap_bytes > 2 * BUDGET,
            "no budget: the pages stay: {s:?}"
        );
        drop(f);
        rt.close().unwrap();
    }
    // The same directory under a budget: reads load pages, the coordinator's tick lets them go.
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    check(&rt, &model, &mut rng, "under a budget");
    let s = rt.stats();
    assert!(s.loaded_bytes > 0, "{s:?}");
    settle(&rt, "read-only workload");
    check(&rt, &model, &mut rng, "read back");
}
