//! The lifetimes around a durable runtime on real files: snapshots and cursors that outlive
//! their runtime, segment files truncated while open, field handles kept after close. Each
//! test pins a defect of issue 7 (see its doc comment). The directory lock and what open
//! refuses are in `directory_damage.rs`; overlapping checkpoints in `durable_races.rs`.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;

use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

fn opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        ..RuntimeOptions::default()
    }
}

fn options() -> IndexOptions {
    IndexOptions::new(2, 64, vec!["x".into(), "y".into()])
}

fn point(id: u64, round: u64) -> [f64; 2] {
    [
        ((id * 7919 + round * 13) % 1000) as f64,
        ((id * 104_729) % 997) as f64,
    ]
}

const ALL: [f64; 2] = [f64::NEG_INFINITY, f64::NEG_INFINITY];
const END: [f64; 2] = [f64::INFINITY, f64::INFINITY];

/// A directory holding field "m" with `n` points, checkpointed and closed: the next open reads
/// every page from the segment files.
fn build(dir: &Path, n: u64) {
    let rt = Runtime::open(dir, opts()).unwrap();
    let f = rt.field("m", options()).unwrap();
    let rows: Vec<u64> = (0..n).collect();
    let coords: Vec<f64> = rows.iter().flat_map(|&id| point(id, 0)).collect();
    f.insert_points(&rows, &coords).unwrap();
    rt.commit().unwrap();
    rt.close().unwrap();
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Pins issue 7, defect 7: `close()` released the directory lock while a snapshot or cursor of
/// the runtime still read its segment files; the next opener reused those slots, and the old
/// readers then failed ("node … has no page") or returned foreign or partial answers (a Java
/// cursor gave 3,038 of 4,000 ids with no error). Now such readers keep exactly their answers,
/// and the directory stays locked until the last of them is dropped.
#[test]
fn a_snapshot_that_outlives_its_runtime_keeps_its_answers_and_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let n = 4000u64;
    build(dir.path(), n);
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let f = rt.get("m").unwrap().unwrap();
    let snap = f.snapshot().unwrap();
    let mut cursor = f.cursor(SearchType::Intersects, &ALL, &END).unwrap();
    let first = cursor.next_page(100).unwrap();
    let want_all: Vec<u64> = (0..n).collect();
    let window = |s: &xtree::IndexSnapshot| {
        sorted(
            s.search(SearchType::Within, &[0.0, 0.0], &[300.0, 500.0])
                .unwrap(),
        )
    };
    rt.close().unwrap();
    drop(f);
    // (The window is computed only now, after close: most of its pages are still unread.)
    let want_window: Vec<u64> = (0..n)
        .filter(|&id| {
            let p = point(id, 0);
            p[0] <= 300.0 && p[1] <= 500.0
        })
        .collect();
    match Runtime::open(dir.path(), opts()) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert!(e.message().contains("is locked"), "{e}");
        }
        Ok(rt2) => {
            // Whoever may open must not change what the old snapshot reads: move every
            // record twice, checkpointing, so that every slot is freed and reused.
            let f2 = rt2.get("m").unwrap().unwrap();
            for round in 1..=2 {
                for id in 0..n {
                    let (a, b) = (point(id, round - 1), point(id, round));
                    f2.update(id, &a, &a, &b, &b).unwrap();
                }
                rt2.commit().unwrap();
                rt2.checkpoint().unwrap();
            }
            rt2.close().unwrap();
        }
    }
    assert_eq!(window(&snap), want_window, "the held snapshot after close");
    assert_eq!(
        sorted(snap.search(SearchType::Intersects, &ALL, &END).unwrap()),
        want_all
    );
    let mut got = first;
    loop {
        let page = cursor.next_page(500).unwrap();
        if page.is_empty() {
            break;
        }
        got.extend(page);
    }
    assert_eq!(sorted(got), want_all, "the cursor after close");
    drop(snap);
    drop(cursor);
    // Every reader is gone: the directory opens again and writes.
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let f = rt.get("m").unwrap().unwrap();
    f.insert_point(n, &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    assert!(f.len().unwrap() == n + 1);
}

/// Pins issue 7, defect 11: segment files were memory-mapped, so a cleanup script or backup
/// tool that truncated one while the index was open killed the process (the JVM with it) with
/// SIGBUS. Pages are now read on first use: a page of the truncated file is a `Corruption`
/// error from the query that needs it, and pages read before still answer.
#[test]
fn a_segment_file_truncated_while_open_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let n = 4000u64;
    build(dir.path(), n);
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let f = rt.get("m").unwrap().unwrap();
    // Reads a few pages (a small window), then the file shrinks under the runtime.
    let small = sorted(
        f.search(SearchType::Within, &[0.0, 0.0], &[20.0, 20.0])
            .unwrap(),
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("seg-")
        {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
        }
    }
    let e = f.search(SearchType::Intersects, &ALL, &END).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains("truncated"), "{e}");
    let again = sorted(
        f.search(SearchType::Within, &[0.0, 0.0], &[20.0, 20.0])
            .unwrap(),
    );
    assert_eq!(again, small, "pages read before the truncation");
    drop(f);
    drop(rt);
    // The directory is damaged now, and says so.
    let e = xtree::tools::fsck(dir.path());
    assert!(e.map(|r| !r.problems.is_empty()).unwrap_or(true));
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Pins issue 7, defect 13: a field handle kept after its runtime closed kept the runtime's
/// trees, logs and segment files (1,000 open/close cycles: file descriptors 210 → 2,010,
/// +96 MiB, deleted logs kept their disk space). After close a field holds nothing but its
/// handle.
#[test]
fn fields_kept_after_close_hold_no_files_or_trees() {
    let mut kept = Vec::new();
    let mut kept_runtimes = Vec::new();
    let mut fds_after_warmup = 0;
    let mut rss_after_warmup = 0;
    for cycle in 0..120u64 {
        if cycle == 20 {
            fds_after_warmup = open_fds();
            rss_after_warmup = common::resident_bytes();
        }
        // A new directory per cycle: what a kept handle pins is not the next cycle's data.
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let f = rt.field("m", options()).unwrap();
        let base = cycle * 10_000;
        let rows: Vec<u64> = (base..base + 10_000).collect();
        let coords: Vec<f64> = rows.iter().flat_map(|&id| point(id, cycle)).collect();
        f.insert_points(&rows, &coords).unwrap();
        rt.commit().unwrap();
        rt.close().unwrap();
        assert_eq!(
            f.len().unwrap_err().kind(),
            ErrorKind::Closed,
            "a field after close"
        );
        assert_eq!(rt.get("m").unwrap_err().kind(), ErrorKind::Closed);
        kept.push(f.clone());
        kept.push(f);
        // The runtime value itself is kept too (closed, not dropped).
        kept_runtimes.push(rt);
    }
    let fds = open_fds();
    let rss = common::resident_bytes();
    assert!(
        fds <= fds_after_warmup + 8,
        "file descriptors {fds_after_warmup} → {fds} over 100 cycles"
    );
    // A leak would keep 100 × 10,000 points (~60 MB of pages); allow allocator slack.
    assert!(
        rss <= rss_after_warmup + (30 << 20),
        "RSS {} → {} MiB over 100 cycles",
        rss_after_warmup >> 20,
        rss >> 20
    );
    assert_eq!(kept.len() + kept_runtimes.len(), 360);
}
