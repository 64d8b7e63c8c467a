//! Readers querying while a writer inserts, updates and deletes: every reader observes only
//! states that some completed write call produced (never a half-applied batch, split or
//! condense), counts never go backwards while only inserting, and a cursor keeps its snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use xtree::{Index, IndexOptions, SearchType};

const BATCH: u64 = 64;
const BATCHES: u64 = 150;
const ALL_MIN: [f64; 2] = [f64::NEG_INFINITY, f64::NEG_INFINITY];
const ALL_MAX: [f64; 2] = [f64::INFINITY, f64::INFINITY];

fn point(i: u64) -> [f64; 2] {
    // A scrambled but deterministic position in [0, 1000)^2.
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    [
        (h >> 40) as f64 / (1u64 << 24) as f64 * 1000.0,
        (h & 0xff_ffff) as f64 / (1u64 << 24) as f64 * 1000.0,
    ]
}

#[test]
fn readers_see_only_whole_batches() {
    let mut o = IndexOptions::new(2, 64, vec!["x".into(), "y".into()]);
    o.node_size = 512; // small nodes: many splits per batch
    let idx = Arc::new(Index::with_options(o).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for t in 0..3 {
        let (idx, done, published) = (idx.clone(), done.clone(), published.clone());
        readers.push(thread::spawn(move || {
            let mut last = 0u64;
            let mut checks = 0u64;
            while !done.load(Ordering::Acquire) {
                let floor = published.load(Ordering::Acquire);
                let mut ids = idx
                    .search(SearchType::Intersects, &ALL_MIN, &ALL_MAX)
                    .unwrap();
                let n = ids.len() as u64;
                assert_eq!(n % BATCH, 0, "reader {t} saw a partial batch: {n}");
                assert!(
                    n >= last && n >= floor,
                    "reader {t}: count went back {last}/{floor} -> {n}"
                );
                ids.sort_unstable();
                assert!(
                    ids.iter().copied().eq(0..n),
                    "reader {t}: not the first {n} ids"
                );
                // A window query agrees with the same state's brute force when the state is
                // stable: the count of a sub-window is at most the total.
                let c = idx
                    .count(SearchType::Within, &[0.0, 0.0], &[500.0, 500.0])
                    .unwrap();
                assert!(c <= idx.len());
                last = n;
                checks += 1;
            }
            checks
        }));
    }
    let snapshot_at = 40;
    let mut cursor = None;
    for b in 0..BATCHES {
        if b == snapshot_at {
            cursor = Some(
                idx.cursor(SearchType::Intersects, &ALL_MIN, &ALL_MAX)
                    .unwrap(),
            );
        }
        let ids: Vec<u64> = (b * BATCH..(b + 1) * BATCH).collect();
        let coords: Vec<f64> = ids.iter().flat_map(|&i| point(i)).collect();
        idx.insert_points(&ids, &coords).unwrap();
        published.store((b + 1) * BATCH, Ordering::Release);
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    idx.check().unwrap();
    // The cursor taken before batch 40 sees exactly the first 40 batches.
    let mut c = cursor.unwrap();
    let mut seen = Vec::new();
    loop {
        let page = c.next_page(1000).unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page);
    }
    seen.sort_unstable();
    assert!(seen.iter().copied().eq(0..snapshot_at * BATCH));
}

#[test]
fn readers_during_updates_and_deletes_see_consistent_states() {
    let idx = Arc::new(Index::new(2, 32, vec!["x".into(), "y".into()]).unwrap());
    let n = 4000u64;
    let ids: Vec<u64> = (0..n).collect();
    let coords: Vec<f64> = ids.iter().flat_map(|&i| point(i)).collect();
    idx.insert_points(&ids, &coords).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let deleted = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (idx, done, deleted) = (idx.clone(), done.clone(), deleted.clone());
        readers.push(thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                let floor = deleted.load(Ordering::Acquire);
                let mut got = idx
                    .search(SearchType::Intersects, &ALL_MIN, &ALL_MAX)
                    .unwrap();
                got.sort_unstable();
                // Deletes remove ids from the top down, one per call; updates move points
                // without changing the id set. So the id set is always 0..m for some m.
                let m = got.len() as u64;
                assert!(got.iter().copied().eq(0..m), "ids are not a prefix");
                assert!(m <= n - floor, "a completed delete is not visible");
                let _ = idx.nearest(&[500.0, 500.0], 10).unwrap();
            }
        }));
    }
    for i in 0..1500u64 {
        let p = point(i);
        let q = point(i + 1_000_000);
        assert!(idx.update(i, &p, &p, &q, &q).unwrap());
        if i % 2 == 0 {
            let victim = n - 1 - i / 2;
            let vp = if victim < i {
                point(victim + 1_000_000)
            } else {
                point(victim)
            };
            assert!(idx.delete(victim, &vp, &vp).unwrap(), "delete {victim}");
            deleted.fetch_add(1, Ordering::Release);
        }
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    idx.check().unwrap();
    assert_eq!(idx.len(), n - 750);
}

#[test]
fn write_session_is_invisible_until_commit_and_discarded_on_drop() {
    let idx = Index::new(2, 64, vec!["x".into(), "y".into()]).unwrap();
    let mut w = idx.writer();
    for i in 0..500u64 {
        w.insert_point(i, &point(i)).unwrap();
    }
    assert!(
        w.insert_point(9, &[f64::NAN, 0.0]).is_err(),
        "bad input is refused"
    );
    assert_eq!(w.len(), 500);
    assert_eq!(
        idx.count(SearchType::Intersects, &ALL_MIN, &ALL_MAX)
            .unwrap(),
        0
    );
    w.commit().unwrap();
    assert_eq!(
        idx.count(SearchType::Intersects, &ALL_MIN, &ALL_MAX)
            .unwrap(),
        500
    );
    {
        let mut w = idx.writer();
        assert!(w.delete(0, &point(0), &point(0)).unwrap());
        w.insert_point(1000, &[1.0, 1.0]).unwrap();
        // dropped without commit
    }
    assert_eq!(idx.len(), 500);
    assert_eq!(
        idx.search(SearchType::Intersects, &[1.0, 1.0], &[1.0, 1.0])
            .unwrap(),
        Vec::<u64>::new()
    );
    assert!(idx.delete(0, &point(0), &point(0)).unwrap());
    idx.check().unwrap();
}
