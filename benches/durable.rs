//! The durable runtime against the in-memory index and SQLite's R*Tree (rusqlite, bundled
//! SQLite), peers in the same run. A plain timing harness (no criterion: each case is one long
//! ingest or a latency distribution); medians and ratios are printed as a table.
//!
//! - Ingest of N clustered 2-D points (W2's GeoNames clusters, σ = 0.05°), precision 64, in
//!   batches of 10,000 with a commit after each: in-memory `Index::insert_points` per batch;
//!   DURABLE/BALANCED `Field::insert_points` + `Runtime::commit`; SQLite R*Tree in WAL mode
//!   with `synchronous=FULL`, one transaction per batch.
//! - Window queries (0.01 % and 1 % of the data extent, W2) on all three, hits checked equal.
//! - Close (with its checkpoint) and reopen time of the durable index; reopen with a log to
//!   replay.
//! - Commit latency p50/p99 of single-record commits per policy; commits/s with 1 and 8
//!   committing threads under BALANCED.
//! - File descriptors: while the index grows, and with 1,000 fields open in one runtime.
//!
//! Run: `cargo bench --bench durable` (N = 1,000,000); `XTREE_BENCH_N=10000000 cargo bench
//! --bench durable` for the 10M figures of `docs/benchmarks.md`; `XTREE_BENCH_PART=commits`
//! runs only the commit latency and group commit part; `XTREE_BENCH_PART=convert` only the
//! in-memory → durable (`Index::save_to`) and back (`Index::load_from`) part, with answers
//! asserted equal across the source, the loaded copy and the saved directory;
//! `XTREE_BENCH_PART=churn` only the churn and compaction part (three rounds of deleting half
//! and re-inserting; bytes against live pages, `Runtime::compact`, queries before and after,
//! the background policy's share of the time); `XTREE_BENCH_PART=budget` only the memory
//! budget part (ingest ≥ 10× the budget, RSS sampled, queries first and second pass). Data
//! goes to a temporary directory under `target/`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{geonames_clustered, SplitMix64};
use rusqlite::{params, Connection};
use xtree::{Durability, Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

const BATCH: usize = 10_000;

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn opts2() -> IndexOptions {
    IndexOptions::new(2, 64, vec!["lon".into(), "lat".into()])
}

fn bench_dir(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn windows(rng: &mut SplitMix64, fraction: f64, count: usize) -> Vec<([f64; 2], [f64; 2])> {
    // Centres on the data's populated band; side = sqrt(fraction) of the lon/lat extent.
    let (w, h) = (360.0 * fraction.sqrt(), 180.0 * fraction.sqrt());
    (0..count)
        .map(|_| {
            let x = rng.next_f64() * (360.0 - w) - 180.0;
            let y = rng.next_f64() * (120.0 - h) - 60.0;
            ([x, y], [x + w, y + h])
        })
        .collect()
}

/// Commit latency per policy and BALANCED group commit with 1 and 8 threads.
fn commits() {
    // ---- commit latency -------------------------------------------------------------------
    println!("\n== single-record commits ==");
    for durability in [
        Durability::Strict,
        Durability::Balanced,
        Durability::Eventual,
    ] {
        let d = bench_dir("latency");
        let rt = Runtime::open(
            &d,
            RuntimeOptions {
                durability,
                ..RuntimeOptions::default()
            },
        )
        .unwrap();
        let f = rt.field("c", opts2()).unwrap();
        let mut lat = Vec::new();
        for i in 0..1000u64 {
            let t = Instant::now();
            f.insert_point(i, &[i as f64, 0.0]).unwrap();
            rt.commit().unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let p50 = pct(&mut lat, 0.5);
        let p99 = pct(&mut lat, 0.99);
        println!("{durability:?}: p50 {p50:.0} µs, p99 {p99:.0} µs");
    }
    for threads in [1usize, 8] {
        let d = bench_dir("group");
        let rt = Arc::new(Runtime::open(&d, RuntimeOptions::default()).unwrap());
        let f = rt.field("c", opts2()).unwrap();
        let t = Instant::now();
        let per = 2000 / threads as u64;
        let hs: Vec<_> = (0..threads as u64)
            .map(|k| {
                let (rt, f) = (rt.clone(), f.clone());
                std::thread::spawn(move || {
                    for i in 0..per {
                        let row = k * 1_000_000 + i;
                        f.insert_point(row, &[row as f64, 1.0]).unwrap();
                        rt.commit().unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let el = t.elapsed().as_secs_f64();
        let st = rt.stats();
        println!(
            "BALANCED, {threads} committing thread(s): {:.0} commits/s, {:.2} commits per log sync",
            (per * threads as u64) as f64 / el,
            st.epoch as f64 / st.log_syncs.max(1) as f64
        );
    }
}

/// Bytes of the regular files in `dir` as allocated on disk (`st_blocks`) and as their lengths
/// (the log is preallocated, so the two differ).
fn dir_bytes(dir: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .fold((0, 0), |(a, l), m| (a + m.blocks() * 512, l + m.len()))
}

/// In-memory → durable (`Index::save_to`) and back (`Index::load_from`), N clustered points
/// (`XTREE_BENCH_N`, default 1M): times, bytes on disk, and answers asserted equal.
fn convert() {
    let n: usize = std::env::var("XTREE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let points = geonames_clustered(99, n).expect("data/cities1000.csv.gz");
    let rows: Vec<u64> = (0..n as u64).collect();
    let coords: Vec<f64> = points.iter().flat_map(|p| [p[0], p[1]]).collect();
    println!("convert bench: N = {n} clustered 2-D points, precision 64");
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mem = Index::with_options(opts2()).unwrap();
    for (r, c) in rows.chunks(BATCH).zip(coords.chunks(BATCH * 2)) {
        mem.insert_points(r, c).unwrap();
    }
    let heap = mem.heap_bytes();
    let parent = bench_dir("convert");
    let target = parent.join("saved");
    let t = Instant::now();
    mem.save_to(&target).unwrap();
    let save = t.elapsed();
    let (alloc, len) = dir_bytes(&target);
    let t = Instant::now();
    let loaded = Index::load_from(&target, "default").unwrap();
    let load = t.elapsed();
    let t = Instant::now();
    let rt = Runtime::open_read_only(&target).unwrap();
    let reopen = t.elapsed();
    let field = rt.get("default").unwrap().expect("the saved field");
    let mut rng = SplitMix64::new(5);
    let mut hits = 0u64;
    for (lo, hi) in windows(&mut rng, 0.0001, 1_000) {
        let mut a = mem.search(SearchType::Intersects, &lo, &hi).unwrap();
        let mut b = loaded.search(SearchType::Intersects, &lo, &hi).unwrap();
        let mut c = field.search(SearchType::Intersects, &lo, &hi).unwrap();
        a.sort_unstable();
        b.sort_unstable();
        c.sort_unstable();
        assert_eq!(a, b, "loaded copy vs source");
        assert_eq!(a, c, "saved directory vs source");
        hits += a.len() as u64;
    }
    for p in points.iter().step_by((n / 1000).max(1)).take(1000) {
        let a = mem.nearest(p, 10).unwrap();
        assert_eq!(a, loaded.nearest(p, 10).unwrap(), "kNN loaded vs source");
        assert_eq!(a, field.nearest(p, 10).unwrap(), "kNN saved vs source");
    }
    rt.close().unwrap();
    println!(
        "in-memory heap {:.0} MB; save_to {:.3} s ({:.0} MB/s of heap); directory {:.0} MB on disk \
         ({:.0} MB of file lengths, log preallocated), {:.1} B/point on disk",
        heap as f64 / 1e6,
        save.as_secs_f64(),
        heap as f64 / 1e6 / save.as_secs_f64(),
        alloc as f64 / 1e6,
        len as f64 / 1e6,
        alloc as f64 / n as f64
    );
    println!(
        "load_from {:.3} s; open_read_only {:.3} s; 1,000 windows ({hits} hits) and 1,000 kNN(10) \
         equal across source, loaded copy and saved directory",
        load.as_secs_f64(),
        reopen.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&parent);
}

/// Window (0.01 %) and kNN (k = 10) queries per second on `field`, each answer asserted equal
/// to `mem`'s (a mirror given the same writes).
fn query_rates(field: &xtree::Field, mem: &Index, seed: u64) -> (f64, f64) {
    let mut rng = SplitMix64::new(seed);
    let ws = windows(&mut rng, 0.0001, 2_000);
    let t = Instant::now();
    for (lo, hi) in &ws {
        let mut a = field.search(SearchType::Intersects, lo, hi).unwrap();
        a.sort_unstable();
        let mut b = mem.search(SearchType::Intersects, lo, hi).unwrap();
        b.sort_unstable();
        assert_eq!(a, b, "durable vs in-memory mirror");
    }
    let win = ws.len() as f64 / t.elapsed().as_secs_f64();
    let ps: Vec<[f64; 2]> = ws.iter().map(|(lo, _)| *lo).collect();
    let t = Instant::now();
    for p in &ps {
        // As sets: the order of equal distances may differ between the two trees.
        let mut a = field.nearest(p, 10).unwrap();
        let mut b = mem.nearest(p, 10).unwrap();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "kNN durable vs in-memory mirror");
    }
    (win, ps.len() as f64 / t.elapsed().as_secs_f64())
}

/// Churn and compaction (issue 10): N clustered points (`XTREE_BENCH_N`, default 1M) in
/// DURABLE/BALANCED, then 3 rounds of deleting a random half and inserting as many new points;
/// segment bytes against the live pages after each round, `Runtime::compact` (time, bytes),
/// queries after a reopen before and after compaction; then the same churn with the background
/// policy on, for its share of the wall time.
fn churn() {
    let n: usize = std::env::var("XTREE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!(
        "churn bench: N = {n} clustered 2-D points, precision 64, BALANCED, commit every {BATCH}"
    );
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let dir = bench_dir("churn");
    for background in [false, true] {
        let _ = std::fs::remove_dir_all(&dir);
        let opts = RuntimeOptions {
            compact_dead_ratio: background.then_some(0.2),
            ..RuntimeOptions::default()
        };
        let points = geonames_clustered(99, n * 4).expect("data/cities1000.csv.gz");
        let mem = Index::with_options(opts2()).unwrap();
        let rt = Runtime::open(&dir, opts.clone()).unwrap();
        let field = rt.field("geo", opts2()).unwrap();
        let mut live: Vec<u64> = Vec::with_capacity(n);
        let mut next = 0u64;
        let insert = |live: &mut Vec<u64>, next: &mut u64, count: usize| {
            let mut left = count;
            while left > 0 {
                let k = BATCH.min(left);
                let rows: Vec<u64> = (*next..*next + k as u64).collect();
                let coords: Vec<f64> = rows.iter().flat_map(|&r| points[r as usize]).collect();
                field.insert_points(&rows, &coords).unwrap();
                mem.insert_points(&rows, &coords).unwrap();
                rt.commit().unwrap();
                *next += k as u64;
                left -= k;
                live.extend(rows);
            }
        };
        let start = Instant::now();
        insert(&mut live, &mut next, n);
        let ingest = start.elapsed();
        rt.checkpoint().unwrap();
        let s = rt.stats();
        println!(
            "\n== background compaction {} ==",
            if background {
                "on (dead ratio 0.2)"
            } else {
                "off"
            }
        );
        println!(
            "ingest {:.1} s ({:.0} points/s); segment files {:.1} MB, live {:.1} MB ({:+.1} %)",
            ingest.as_secs_f64(),
            n as f64 / ingest.as_secs_f64(),
            s.segment_bytes as f64 / 1e6,
            s.segment_live_bytes as f64 / 1e6,
            (s.segment_bytes as f64 / s.segment_live_bytes as f64 - 1.0) * 100.0
        );
        let mut rng = SplitMix64::new(3);
        let churn_start = Instant::now();
        for round in 1..=3 {
            // Delete a random half, in batches with a commit each.
            for i in (1..live.len()).rev() {
                live.swap(i, rng.below(i + 1));
            }
            let gone = live.split_off(live.len() / 2);
            for chunk in gone.chunks(BATCH) {
                for &r in chunk {
                    let p = points[r as usize];
                    assert!(field.delete(r, &p, &p).unwrap());
                    assert!(mem.delete(r, &p, &p).unwrap());
                }
                rt.commit().unwrap();
            }
            insert(&mut live, &mut next, gone.len());
            rt.checkpoint().unwrap();
            let s = rt.stats();
            println!(
                "round {round}: segment files {:.1} MB, live {:.1} MB (overhead {:+.1} %), \
                 compactions so far {}",
                s.segment_bytes as f64 / 1e6,
                s.segment_live_bytes as f64 / 1e6,
                (s.segment_bytes as f64 / s.segment_live_bytes as f64 - 1.0) * 100.0,
                s.compactions
            );
        }
        let churn_time = churn_start.elapsed();
        let s = rt.stats();
        if background {
            println!(
                "churn {:.1} s wall; {} background compactions took {:.2} s in all = {:.1} % of \
                 the wall time, cut {:.1} MB",
                churn_time.as_secs_f64(),
                s.compactions,
                s.compaction_nanos_total as f64 / 1e9,
                s.compaction_nanos_total as f64 / churn_time.as_nanos() as f64 * 100.0,
                s.compacted_bytes_total as f64 / 1e6
            );
            drop(field);
            rt.close().unwrap();
            continue;
        }
        println!("churn {:.1} s wall", churn_time.as_secs_f64());
        drop(field);
        rt.close().unwrap();
        // Reopened: pages are read from the files on first use.
        let rt = Runtime::open(&dir, opts.clone()).unwrap();
        let field = rt.get("geo").unwrap().unwrap();
        let (w0, k0) = query_rates(&field, &mem, 11);
        let (w0b, k0b) = query_rates(&field, &mem, 12);
        drop(field);
        rt.close().unwrap();
        let rt = Runtime::open(&dir, opts.clone()).unwrap();
        let c = rt.compact().unwrap();
        println!(
            "compact: {:.3} s, {} pages moved, segment files {:.1} -> {:.1} MB, live {:.1} MB \
             (overhead after {:+.1} %), directory {:.1} MB",
            c.nanos as f64 / 1e9,
            c.pages_moved + c.held_pages_moved,
            c.bytes_before as f64 / 1e6,
            c.bytes_after as f64 / 1e6,
            c.live_bytes as f64 / 1e6,
            (c.bytes_after as f64 / c.live_bytes as f64 - 1.0) * 100.0,
            dir_bytes(&dir).1 as f64 / 1e6
        );
        let field = rt.get("geo").unwrap().unwrap();
        // The moved pages are read from their new slots on first use.
        let (w1, k1) = query_rates(&field, &mem, 11);
        drop(field);
        rt.close().unwrap();
        let rt = Runtime::open(&dir, opts.clone()).unwrap();
        let field = rt.get("geo").unwrap().unwrap();
        let (w2, k2) = query_rates(&field, &mem, 11);
        let (w2b, k2b) = query_rates(&field, &mem, 12);
        rt.verify_checkpoint().unwrap();
        println!(
            "queries/s after a reopen, first pass (pages read from the files) then a second: \
             windows 0.01 % before compaction {w0:.0} / {w0b:.0}, right after it {w1:.0}, \
             reopened after it {w2:.0} / {w2b:.0}; kNN(10) {k0:.0} / {k0b:.0}, {k1:.0}, \
             {k2:.0} / {k2b:.0} (answers equal to an in-memory mirror)"
        );
        drop(field);
        rt.close().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Anonymous resident memory of this process, bytes (`RssAnon` of /proc/self/status).
fn rss_anon() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Larger than memory (issue 10): N clustered points (`XTREE_BENCH_N`, default 2M) ingested
/// under a memory budget (`XTREE_BENCH_BUDGET_MB`, default 8) — the pages reach ≥ 10× the
/// budget — with the anonymous RSS, and the pages in memory, sampled after each commit; then
/// window and kNN queries after a reopen, a first pass (every page read from the files; the
/// OS page cache stays warm, it cannot be dropped here) and a second, answers checked against
/// an in-memory mirror, whose own memory is measured first and subtracted.
fn budget() {
    let n: usize = std::env::var("XTREE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let budget_mb: u64 = std::env::var("XTREE_BENCH_BUDGET_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let budget = budget_mb << 20;
    println!("budget bench: N = {n} clustered 2-D points, memory budget {budget_mb} MiB");
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let points = geonames_clustered(99, n).expect("data/cities1000.csv.gz");
    let rows: Vec<u64> = (0..n as u64).collect();
    let coords: Vec<f64> = points.iter().flat_map(|p| [p[0], p[1]]).collect();
    let mem = Index::with_options(opts2()).unwrap();
    for (r, c) in rows.chunks(BATCH).zip(coords.chunks(BATCH * 2)) {
        mem.insert_points(r, c).unwrap();
    }
    let base = rss_anon();
    let dir = bench_dir("budget");
    let opts = RuntimeOptions {
        memory_budget: Some(budget),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(&dir, opts.clone()).unwrap();
    let field = rt.field("geo", opts2()).unwrap();
    let (mut max_rss, mut max_pages) = (0u64, 0u64);
    let t = Instant::now();
    for (r, c) in rows.chunks(BATCH).zip(coords.chunks(BATCH * 2)) {
        field.insert_points(r, c).unwrap();
        rt.commit().unwrap();
        let s = rt.stats();
        max_pages = max_pages.max(s.heap_bytes + s.loaded_bytes);
        max_rss = max_rss.max(rss_anon().saturating_sub(base));
    }
    let ingest = t.elapsed();
    let s = rt.stats();
    println!(
        "ingest {:.1} s ({:.0} points/s), {} checkpoints; live pages {:.1} MB = {:.1}x the budget",
        ingest.as_secs_f64(),
        n as f64 / ingest.as_secs_f64(),
        s.checkpoints,
        s.segment_live_bytes as f64 / 1e6,
        s.segment_live_bytes as f64 / budget as f64
    );
    println!(
        "during ingest, sampled after each commit: pages in memory at most {:.1} MB, anonymous \
         RSS above the mirror at most {:.1} MB (budget {:.1} MB)",
        max_pages as f64 / 1e6,
        max_rss as f64 / 1e6,
        budget as f64 / 1e6
    );
    drop(field);
    rt.close().unwrap();
    let rt = Runtime::open(&dir, opts).unwrap();
    let field = rt.get("geo").unwrap().unwrap();
    let (w_cold, k_cold) = query_rates(&field, &mem, 21);
    let (w_warm, k_warm) = query_rates(&field, &mem, 21);
    std::thread::sleep(Duration::from_secs(2));
    let s = rt.stats();
    println!(
        "after a reopen: windows 0.01 % {w_cold:.0} q/s first pass, {w_warm:.0} q/s second; \
         kNN(10) {k_cold:.0} / {k_warm:.0} q/s; pages in memory 2 s later {:.1} MB, anonymous \
         RSS above the mirror {:.1} MB (answers equal to the mirror)",
        (s.heap_bytes + s.loaded_bytes) as f64 / 1e6,
        rss_anon().saturating_sub(base) as f64 / 1e6
    );
    drop(field);
    rt.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    if std::env::var("XTREE_BENCH_PART").is_ok_and(|p| p == "budget") {
        budget();
        return;
    }
    if std::env::var("XTREE_BENCH_PART").is_ok_and(|p| p == "churn") {
        churn();
        return;
    }
    if std::env::var("XTREE_BENCH_PART").is_ok_and(|p| p == "commits") {
        commits();
        return;
    }
    if std::env::var("XTREE_BENCH_PART").is_ok_and(|p| p == "convert") {
        convert();
        return;
    }
    let n: usize = std::env::var("XTREE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let points = geonames_clustered(99, n).expect("data/cities1000.csv.gz");
    let rows: Vec<u64> = (0..n as u64).collect();
    let coords: Vec<f64> = points.iter().flat_map(|p| [p[0], p[1]]).collect();
    println!("durable bench: N = {n} clustered 2-D points, batches of {BATCH} with a commit each");
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // ---- ingest -----------------------------------------------------------------------
    let t = Instant::now();
    let mem = Index::with_options(opts2()).unwrap();
    for (r, c) in rows.chunks(BATCH).zip(coords.chunks(BATCH * 2)) {
        mem.insert_points(r, c).unwrap();
    }
    let mem_ingest = t.elapsed();

    let dir = bench_dir("durable");
    let fd0 = fds();
    let mut fd_max = fd0;
    let t = Instant::now();
    let rt = Runtime::open(&dir, RuntimeOptions::default()).unwrap();
    let field = rt.field("geo", opts2()).unwrap();
    for (r, c) in rows.chunks(BATCH).zip(coords.chunks(BATCH * 2)) {
        field.insert_points(r, c).unwrap();
        rt.commit().unwrap();
        fd_max = fd_max.max(fds());
    }
    let dur_ingest = t.elapsed();
    let stats = rt.stats();
    // The first checkpoint writes every page (not part of the ingest time).
    let t = Instant::now();
    rt.checkpoint().unwrap();
    let full_ckpt = t.elapsed();
    let full = rt.stats();

    let sqlite_path = bench_dir("sqlite").join("rtree.db");
    let t = Instant::now();
    let db = Connection::open(&sqlite_path).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", "FULL").unwrap();
    db.execute_batch("CREATE VIRTUAL TABLE pts USING rtree(id, minx, maxx, miny, maxy);")
        .unwrap();
    for chunk in rows.chunks(BATCH) {
        let tx = db.unchecked_transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached("INSERT INTO pts VALUES (?1, ?2, ?3, ?4, ?5)")
                .unwrap();
            for &r in chunk {
                let p = points[r as usize];
                st.execute(params![r as i64, p[0], p[0], p[1], p[1]])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let sql_ingest = t.elapsed();

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("\n== ingest, commit every {BATCH} ==");
    println!(
        "{:<34} {:>10} {:>16} {:>10}",
        "", "time", "points/s", "vs memory"
    );
    for (name, d) in [
        ("xtree in-memory", mem_ingest),
        ("xtree DURABLE/BALANCED", dur_ingest),
        ("SQLite R*Tree (WAL, sync FULL)", sql_ingest),
    ] {
        println!(
            "{name:<34} {:>9.2}s {:>16.0} {:>9.2}x",
            d.as_secs_f64(),
            rate(d),
            rate(d) / rate(mem_ingest)
        );
    }
    println!(
        "durable: epoch {}, log {} bytes, checkpoint at epoch {}; open fds {} before, at most {} during",
        stats.epoch, stats.wal_bytes, stats.checkpoint_epoch, fd0, fd_max
    );

    // ---- window queries ----------------------------------------------------------------
    println!("\n== window queries (median of 5 rounds) ==");
    println!(
        "{:<10} {:>8} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "window", "queries", "memory q/s", "durable q/s", "sqlite q/s", "dur/mem", "mem/sqlite"
    );
    let mut rng = SplitMix64::new(7);
    for (label, fraction, count) in [("0.01%", 0.0001, 10_000usize), ("1%", 0.01, 500)] {
        let ws = windows(&mut rng, fraction, count);
        let mut st = db
            .prepare(
                "SELECT id FROM pts WHERE maxx >= ?1 AND minx <= ?2 AND maxy >= ?3 AND miny <= ?4",
            )
            .unwrap();
        let mut hits = [0u64; 3];
        let mut times: [Vec<f64>; 3] = Default::default();
        for _round in 0..5 {
            let t = Instant::now();
            hits[0] = ws
                .iter()
                .map(|(a, b)| mem.search(SearchType::Intersects, a, b).unwrap().len() as u64)
                .sum();
            times[0].push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            hits[1] = ws
                .iter()
                .map(|(a, b)| field.search(SearchType::Intersects, a, b).unwrap().len() as u64)
                .sum();
            times[1].push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            hits[2] = ws
                .iter()
                .map(|(a, b)| {
                    st.query_map(params![a[0], b[0], a[1], b[1]], |r| r.get::<_, i64>(0))
                        .unwrap()
                        .count() as u64
                })
                .sum();
            times[2].push(t.elapsed().as_secs_f64());
        }
        assert_eq!(hits[0], hits[1], "{label}: durable hits");
        assert_eq!(hits[0], hits[2], "{label}: sqlite hits");
        let q: Vec<f64> = times
            .iter_mut()
            .map(|t| count as f64 / pct(t, 0.5))
            .collect();
        println!(
            "{label:<10} {count:>8} {:>14.0} {:>14.0} {:>14.0} {:>9.2}x {:>9.2}x   ({} hits)",
            q[0],
            q[1],
            q[2],
            q[1] / q[0],
            q[0] / q[2],
            hits[0]
        );
    }
    drop(db);

    // ---- close and reopen ----------------------------------------------------------------
    let t = Instant::now();
    rt.close().unwrap();
    let close = t.elapsed();
    drop(rt);
    let t = Instant::now();
    let rt = Runtime::open(&dir, RuntimeOptions::default()).unwrap();
    let reopen = t.elapsed();
    assert_eq!(rt.get("geo").unwrap().unwrap().len().unwrap(), n as u64);
    // A log to replay: 100 more commits of 1,000 points, closed without a checkpoint.
    rt.close().unwrap();
    drop(rt);
    let o = RuntimeOptions {
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(&dir, o.clone()).unwrap();
    let f = rt.get("geo").unwrap().unwrap();
    for i in 0..100u64 {
        let r: Vec<u64> = (0..1000).map(|j| n as u64 + i * 1000 + j).collect();
        let c: Vec<f64> = (0..2000).map(|j| (j % 170) as f64 - 85.0).collect();
        f.insert_points(&r, &c).unwrap();
        rt.commit().unwrap();
    }
    rt.close().unwrap();
    drop(rt);
    let t = Instant::now();
    let rt = Runtime::open(&dir, o).unwrap();
    let replay = t.elapsed();
    assert_eq!(
        rt.get("geo").unwrap().unwrap().len().unwrap(),
        n as u64 + 100_000
    );
    // An incremental checkpoint: the pages those 100 commits changed, not the tree.
    let t = Instant::now();
    assert!(rt.checkpoint().unwrap());
    let incremental = t.elapsed();
    let st = rt.stats();
    rt.close().unwrap();
    drop(rt);
    // A cold open: the page cache dropped (needs root; skipped otherwise).
    let cold = std::fs::write("/proc/sys/vm/drop_caches", "3")
        .ok()
        .map(|_| {
            let t = Instant::now();
            let rt = Runtime::open(&dir, RuntimeOptions::default()).unwrap();
            let open = t.elapsed();
            let f = rt.get("geo").unwrap().unwrap();
            let t = Instant::now();
            let hits = f
                .count(SearchType::Intersects, &[2.0, 45.0], &[3.0, 46.0])
                .unwrap();
            (open, t.elapsed(), hits)
        });
    println!("\n== checkpoints, close / reopen ==");
    println!(
        "first checkpoint after the ingest: {:.3} s, {} pages written, segment files {:.0} MB, checkpoint file (object table) {} bytes",
        full_ckpt.as_secs_f64(),
        full.last_checkpoint_pages,
        full.segment_bytes as f64 / 1e6,
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("ckpt-"))
            .map(|e| e.metadata().map_or(0, |m| m.len()))
            .sum::<u64>()
    );
    println!(
        "checkpoint after 100 commits of 1,000 points: {:.3} s, {} of {} pages written, segment files {:.0} MB",
        incremental.as_secs_f64(),
        st.last_checkpoint_pages,
        st.checkpoint_pages,
        st.segment_bytes as f64 / 1e6
    );
    match cold {
        Some((open, query, hits)) => println!(
            "reopen with the page cache dropped: {:.3} s; then a 1°×1° window query: {:.1} ms ({hits} hits)",
            open.as_secs_f64(),
            query.as_secs_f64() * 1e3
        ),
        None => println!("reopen with the page cache dropped: not measured (needs root)"),
    }
    println!(
        "close (with a checkpoint of what changed since the last one): {:.3} s",
        close.as_secs_f64()
    );
    println!("reopen from the checkpoint: {:.3} s", reopen.as_secs_f64());
    println!(
        "reopen replaying 100 logged commits (100,000 points): {:.3} s",
        replay.as_secs_f64()
    );

    commits();

    // ---- descriptors with many fields ---------------------------------------------------------
    let d = bench_dir("fields");
    let before = fds();
    let rt = Runtime::open(&d, RuntimeOptions::default()).unwrap();
    for i in 0..1000 {
        let f = rt.field(&format!("f{i}"), opts2()).unwrap();
        f.insert_point(1, &[1.0, 2.0]).unwrap();
    }
    rt.commit().unwrap();
    println!(
        "\n1,000 fields open in one runtime: {} file descriptors (process total {}, before {})",
        fds() - before,
        fds(),
        before
    );
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
