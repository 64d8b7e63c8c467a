//! A hostile review of compaction (`Runtime::compact`, DESIGN.md §5 "Compaction"): the attacks
//! that `tests/compaction.rs` does not make.
//!
//! - Classes whose slots are larger than one gathered write (8 MiB and up: supernodes of
//!   large nodes): the copy must make progress.
//! - Damage found by a compaction before it has changed anything durable — a corrupted page
//!   it must move, a segment file truncated behind the runtime's back, a missing or damaged
//!   checkpoint file — is reported without poisoning, and the runtime writes on (a later
//!   checkpoint heals a missing or damaged checkpoint file).
//! - Several size classes (a high-dimensional field with supernodes), an empty field and a
//!   field whose every record is deleted: a crash at every sync point of a compaction (clean
//!   and torn) and an I/O error at every call recover the committed state.
//! - A snapshot and a cursor taken right after an open (every page an unread page object)
//!   outlive many rounds of churn, checkpoints and compactions (pages moved several times,
//!   slots freed and reused) and then the runtime itself, and answer exactly as when taken.
//! - Compactions race each other, close, background checkpoints with background compactions,
//!   writers, `Field::to_index` and readers.

#[path = "common/mod.rs"]
mod common;
mod durable_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_common::*;
use xtree::engine::backend::{Backend, Fault, FaultBackend};
use xtree::engine::segments::{self, ObjectTable, Segments};
use xtree::{ErrorKind, Field, IndexOptions, Runtime, RuntimeOptions, SearchType};

use common::{labels, BruteForce, SplitMix64};

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

// ---------------------------------------------------------------------------------------------
// Fields of our own: several size classes, an empty field, a field emptied by deletes.

/// A field of the workload and its model.
#[derive(Clone)]
struct Spec {
    name: &'static str,
    dims: usize,
    precision: u32,
    node_size: Option<usize>,
}

const SPECS: [Spec; 4] = [
    // 4 KiB nodes of 2-D points: class 12.
    Spec {
        name: "pts",
        dims: 2,
        precision: 64,
        node_size: None,
    },
    // 24-D boxes: 8 KiB nodes (class 13) and supernodes of two and more blocks (14, 15).
    Spec {
        name: "hd",
        dims: 24,
        precision: 64,
        node_size: None,
    },
    // Never written.
    Spec {
        name: "empty",
        dims: 3,
        precision: 32,
        node_size: Some(512),
    },
    // Filled, then every record deleted.
    Spec {
        name: "gone",
        dims: 2,
        precision: 32,
        node_size: Some(512),
    },
];

#[derive(Clone)]
struct Models(Vec<BruteForce>);

impl Models {
    fn new() -> Self {
        Models(
            SPECS
                .iter()
                .map(|s| BruteForce::new(s.dims, s.precision))
                .collect(),
        )
    }
}

fn spec_fields(rt: &Runtime) -> Vec<Field> {
    SPECS
        .iter()
        .map(|s| {
            let mut o = IndexOptions::new(s.dims, s.precision, labels(s.dims));
            if let Some(n) = s.node_size {
                o.node_size = n;
            }
            rt.field(s.name, o).unwrap()
        })
        .collect()
}

/// Inserts `n` records into field `f` (points for "pts", boxes otherwise).
fn add(fields: &[Field], m: &mut Models, rng: &mut SplitMix64, f: usize, n: usize, base: u64) {
    let d = SPECS[f].dims;
    for i in 0..n as u64 {
        let lo: Vec<f64> = (0..d).map(|_| rng.next_f64() * 100.0).collect();
        if f == 0 {
            fields[f].insert_point(base + i, &lo).unwrap();
            m.0[f].insert_point(base + i, &lo);
        } else {
            let hi: Vec<f64> = lo.iter().map(|v| v + rng.next_f64() * 10.0).collect();
            fields[f].insert(base + i, &lo, &hi).unwrap();
            m.0[f].insert(base + i, &lo, &hi);
        }
    }
}

/// Deletes `fraction` of field `f`'s records, at random.
fn remove(fields: &[Field], m: &mut Models, rng: &mut SplitMix64, f: usize, fraction: f64) {
    let n = (m.0[f].len() as f64 * fraction).ceil() as usize;
    for _ in 0..n.min(m.0[f].len()) {
        let (row, min, max) = m.0[f].record(rng.below(m.0[f].len()));
        let (min, max) = (min.to_vec(), max.to_vec());
        assert!(fields[f].delete(row, &min, &max).unwrap());
        m.0[f].delete(row, &min, &max);
    }
}

/// Checks every field of `rt` against `m`: all ids, windows of each kind, counts, and the
/// tree invariants.
fn check_specs(rt: &Runtime, m: &Models, ctx: &str) {
    let snap = rt.snapshot().unwrap();
    for (f, s) in SPECS.iter().enumerate() {
        let Some(idx) = snap.field(s.name) else {
            assert!(m.0[f].is_empty(), "{ctx}: field {} missing", s.name);
            continue;
        };
        check_index(idx, &m.0[f], s.dims, &format!("{ctx}: {}", s.name));
    }
}

fn check_index(idx: &xtree::IndexSnapshot, m: &BruteForce, d: usize, ctx: &str) {
    assert_eq!(idx.len(), m.len() as u64, "{ctx}: records");
    idx.check()
        .unwrap_or_else(|e| panic!("{ctx}: invariants: {e}"));
    let mut all = idx
        .search(
            SearchType::Intersects,
            &vec![f64::MIN; d],
            &vec![f64::MAX; d],
        )
        .unwrap();
    all.sort_unstable();
    assert_eq!(
        all,
        m.search(
            SearchType::Intersects,
            &vec![f64::MIN; d],
            &vec![f64::MAX; d]
        ),
        "{ctx}: all ids"
    );
    let mut rng = SplitMix64::new(m.len() as u64 ^ 0xfeed);
    for q in 0..4 {
        let lo: Vec<f64> = (0..d).map(|_| rng.next_f64() * 80.0).collect();
        let hi: Vec<f64> = lo.iter().map(|v| v + 40.0).collect();
        for ty in [SearchType::Intersects, SearchType::Within] {
            let mut got = idx.search(ty, &lo, &hi).unwrap();
            got.sort_unstable();
            assert_eq!(got, m.search(ty, &lo, &hi), "{ctx}: {ty:?} query {q}");
        }
    }
}

/// A fault backend holding a churned directory of the four [`SPECS`] fields, closed: "pts"
/// and "hd" filled, thinned and refilled (free slots below live ones in classes 12..15),
/// "gone" filled and then emptied.
fn churned_specs(seed: u64) -> (FaultBackend, Models) {
    let b = FaultBackend::new();
    let mut rng = SplitMix64::new(seed);
    let mut m = Models::new();
    let rt = open_fb(&b);
    let fields = spec_fields(&rt);
    add(&fields, &mut m, &mut rng, 0, 3000, 0);
    add(&fields, &mut m, &mut rng, 1, 1200, 100_000);
    add(&fields, &mut m, &mut rng, 3, 600, 200_000);
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    remove(&fields, &mut m, &mut rng, 0, 0.6);
    remove(&fields, &mut m, &mut rng, 1, 0.6);
    remove(&fields, &mut m, &mut rng, 3, 1.0);
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    add(&fields, &mut m, &mut rng, 0, 500, 300_000);
    add(&fields, &mut m, &mut rng, 1, 200, 400_000);
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    remove(&fields, &mut m, &mut rng, 1, 0.4);
    rt.commit().unwrap();
    drop(fields);
    rt.close().unwrap();
    (b, m)
}

fn seg_classes(b: &FaultBackend) -> Vec<u32> {
    let mut v: Vec<u32> = b
        .list()
        .unwrap()
        .iter()
        .filter_map(|n| segments::parse_name(n))
        .collect();
    v.sort_unstable();
    v
}

/// Opens `image`, checks it holds `m` with tables and allocator in agreement, writes on
/// (reusing free slots), compacts again, reopens and checks again.
fn recover_specs_and_write_on(image: FaultBackend, m: &Models, ctx: &str) {
    let rt = Runtime::open_with(Arc::new(image.clone()), opts())
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    check_specs(&rt, m, ctx);
    rt.verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}: object tables against the allocator: {e}"));
    let fields = spec_fields(&rt);
    let mut m = m.clone();
    let mut rng = SplitMix64::new(77);
    add(&fields, &mut m, &mut rng, 1, 100, 900_000);
    add(&fields, &mut m, &mut rng, 3, 50, 950_000);
    remove(&fields, &mut m, &mut rng, 0, 0.2);
    rt.commit().unwrap();
    rt.compact()
        .unwrap_or_else(|e| panic!("{ctx}: compaction after recovery: {e}"));
    rt.verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}, written on: {e}"));
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open_with(Arc::new(image), opts()).unwrap();
    check_specs(&rt, &m, &format!("{ctx}, written on"));
    rt.verify_checkpoint()
        .unwrap_or_else(|e| panic!("{ctx}, written on and reopened: {e}"));
}

#[test]
fn several_classes_an_empty_and_an_emptied_field_survive_a_crash_at_every_sync_point() {
    let (b, m) = churned_specs(31);
    let classes = seg_classes(&b);
    assert!(
        classes.len() >= 3 && classes.iter().any(|&c| c >= 14),
        "size classes {classes:?}"
    );
    for torn in [None, Some(0x0dd_ba11)] {
        let base = b.crash(None);
        let rt = open_fb(&base);
        base.record_crash_images(torn);
        let c = rt.compact().unwrap();
        assert!(c.pages_moved > 0 && c.bytes_after < c.bytes_before, "{c:?}");
        drop(rt);
        let images = base.take_images();
        assert!(images.len() >= 5, "{} sync points", images.len());
        for (k, image) in images.into_iter().enumerate() {
            recover_specs_and_write_on(image, &m, &format!("torn {torn:?}, sync {k}"));
        }
        recover_specs_and_write_on(base.crash(torn), &m, &format!("torn {torn:?}, after"));
    }
}

#[test]
fn several_classes_survive_an_io_error_at_every_call_of_a_compaction() {
    let (b, m) = churned_specs(32);
    let calls = {
        let image = b.crash(None);
        let rt = open_fb(&image);
        let start = image.calls();
        rt.compact().unwrap();
        image.calls() - start
    };
    // The cut is the last thing a compaction does: fault every call, those after the
    // superblock switch included.
    for k in 0..calls {
        let fault = if k % 2 == 0 {
            Fault::Eio
        } else {
            Fault::NoSpace
        };
        let image = b.crash(None);
        let rt = open_fb(&image);
        image.fail_at(image.calls() + k, fault);
        let ctx = format!("fault {fault:?} at call {k} of {calls}");
        let r = rt.compact();
        image.clear_fault();
        match r {
            Ok(_) => {
                // A failed cut is only logged: the state is committed and writable.
                assert!(rt.poisoned().is_none(), "{ctx}: Ok but poisoned");
                check_specs(&rt, &m, &ctx);
                rt.verify_checkpoint()
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                // A second compaction finishes the cut, a checkpoint writes on.
                rt.compact().unwrap();
                rt.verify_checkpoint()
                    .unwrap_or_else(|e| panic!("{ctx}, again: {e}"));
            }
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::Io | ErrorKind::Poisoned),
                    "{ctx}: {e}"
                );
                check_specs(&rt, &m, &format!("{ctx}, reading on"));
            }
        }
        drop(rt);
        recover_specs_and_write_on(image.crash(None), &m, &ctx);
    }
}

// ---------------------------------------------------------------------------------------------
// Slots larger than one gathered write.

/// A page of `words` words at level 0 whose words after the header are `fill`.
fn big_page(words: usize, fill: u64) -> Vec<u64> {
    let mut p = vec![fill; words];
    p[0] = 0;
    p[1] = 0; // level 0 in the high half
    p
}

#[test]
fn compaction_copies_pages_of_slots_larger_than_one_gathered_write() {
    // Class 23 (8 MiB slots): a 64-block supernode of 128 KiB nodes, or a 5-block one of
    // 1 MiB nodes (FORMAT.md: up to class 26). The copy gathers destinations into writes of
    // at most 4 MiB; one slot is more than that.
    let b = Arc::new(FaultBackend::new());
    let words = (5 << 20) / 8;
    assert_eq!(segments::class_for(words), 23);
    let mut segs = Segments::open(b.clone(), &[], None).unwrap();
    let mut plan = segs.plan();
    let a = plan.write(1, &big_page(words, 1), 0, 1).unwrap();
    let c = plan.write(2, &big_page(words, 2), 0, 1).unwrap();
    plan.sync().unwrap();
    plan.commit();
    // Page 1 goes: page 2 moves down into its slot.
    let mut plan = segs.plan();
    plan.free(&a);
    plan.commit();
    let mut t = ObjectTable::default();
    t.insert(c).unwrap();
    let tables = vec![(c.node, t)];
    let comp = segs.plan_compaction(&tables).unwrap();
    assert_eq!(comp.moves.len(), 1);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = segs.copy_moves(&comp).map(|()| (segs, comp));
        let _ = tx.send(r);
    });
    let (mut segs, comp) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("copy_moves of an 8 MiB slot did not finish in 30 s")
        .unwrap();
    let mut moved = c;
    moved.slot = comp.moves[0].to;
    assert_eq!(segs.read(&moved).unwrap(), big_page(words, 2));
    segs.finish_compaction(&comp);
    assert_eq!(segs.stats().total_slots, 1);
}

// ---------------------------------------------------------------------------------------------
// Damage found before anything durable changed: reported, not poisoned.

/// A closed churned directory over the std backend (pages of field "geo" and "vec").
fn churned_dir(seed: u64) -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let mut h = History::new();
    h.insert(0, Model::new());
    let fields = open_fields(&rt, &mut h);
    let mut w = Workload::new(seed, model.clone());
    for i in 0..400 {
        w.writes(&fields).unwrap();
        rt.commit().unwrap();
        if i % 100 == 99 {
            rt.checkpoint().unwrap();
        }
    }
    // Delete most of field 0: free slots below live pages.
    let mut rng = SplitMix64::new(seed);
    let m = &mut w.model.fields[0];
    for _ in 0..m.len() * 3 / 4 {
        let (row, min, max) = m.record(rng.below(m.len()));
        let (min, max) = (min.to_vec(), max.to_vec());
        assert!(fields[0].delete(row, &min, &max).unwrap());
        m.delete(row, &min, &max);
    }
    rt.commit().unwrap();
    model.clone_from(&w.model);
    drop(fields);
    rt.close().unwrap();
    (dir, model)
}

/// Writes on after a compaction that failed with damage: a commit, a checkpoint, a reopen.
fn writes_on(rt: &Runtime, dir: &std::path::Path, model: &Model, ctx: &str) {
    assert!(
        rt.poisoned().is_none(),
        "{ctx}: poisoned by a compaction that changed nothing: {:?}",
        rt.poisoned()
    );
    let mut h = History::new();
    h.insert(0, model.clone());
    let fields = open_fields(rt, &mut h);
    let mut model = model.clone();
    fields[1].insert_point(77, &[1.0, 2.0, 3.0]).unwrap();
    model.fields[1].insert_point(77, &[1.0, 2.0, 3.0]);
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    verify_state(rt, &model, ctx);
    drop(fields);
    rt.close().unwrap();
    let rt = Runtime::open(dir, opts()).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
    verify_state(&rt, &model, &format!("{ctx}, reopened"));
}

/// The highest slot of `seg-12.xsd` that the checkpoint uses: a compaction moves its page
/// (churn left free slots below it), reading it first.
fn moved_slot(dir: &std::path::Path) -> u64 {
    let b = xtree::engine::backend::StdBackend::read_only(dir).unwrap();
    let name = b
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".xtc"))
        .expect("a checkpoint file");
    let loaded = xtree::engine::checkpoint::read(&b, &name).unwrap();
    loaded
        .fields
        .iter()
        .flat_map(|f| f.table.iter())
        .filter(|e| e.class == 12)
        .map(|e| e.slot)
        .max()
        .expect("a page in class 12")
}

#[test]
fn a_corrupted_page_to_move_is_reported_without_poisoning() {
    let (dir, model) = churned_dir(41);
    let slot = moved_slot(dir.path());
    let seg = dir.path().join("seg-12.xsd");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[(slot * 4096 + 100) as usize] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let before = std::fs::metadata(&seg).unwrap().len();
    let e = rt.compact().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), before, "file cut");
    // The damaged page is damage a reader meets; the rest answers, and writing goes on.
    assert!(rt.poisoned().is_none(), "{:?}", rt.poisoned());
    // Repair the damage behind the runtime's back (the page object has not read it yet).
    bytes[(slot * 4096 + 100) as usize] ^= 0x40;
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    std::os::unix::fs::FileExt::write_all_at(
        &f,
        &bytes[(slot * 4096) as usize..((slot + 1) * 4096) as usize],
        slot * 4096,
    )
    .unwrap();
    drop(f);
    let c = rt.compact().unwrap();
    assert!(c.pages_moved > 0, "{c:?}");
    rt.verify_checkpoint().unwrap();
    writes_on(&rt, dir.path(), &model, "after a corrupted page");
}

#[test]
fn a_segment_file_truncated_behind_the_runtime_is_corruption_not_poison() {
    let (dir, model) = churned_dir(42);
    let slot = moved_slot(dir.path());
    let seg = dir.path().join("seg-12.xsd");
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    // Cut the file below the page a compaction must move.
    let bytes = std::fs::read(&seg).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(slot * 4096).unwrap();
    let e = rt.compact().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains("too short"), "{e}");
    // Put the bytes back behind its back: nothing was changed, the runtime writes on.
    std::os::unix::fs::FileExt::write_all_at(&f, &bytes[(slot * 4096) as usize..], slot * 4096)
        .unwrap();
    drop(f);
    let c = rt.compact().unwrap();
    assert!(c.pages_moved > 0, "{c:?}");
    rt.verify_checkpoint().unwrap();
    writes_on(&rt, dir.path(), &model, "after a truncated segment file");
}

#[test]
fn a_missing_checkpoint_file_at_compaction_does_not_poison_and_a_checkpoint_heals_it() {
    let (dir, model) = churned_dir(43);
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let ckpt: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xtc"))
        .collect();
    assert_eq!(ckpt.len(), 1);
    std::fs::remove_file(&ckpt[0]).unwrap();
    // Nothing to checkpoint first (the churn was checkpointed at close): the compaction is
    // the first to need the file.
    let e = rt.compact().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Io | ErrorKind::Corruption),
        "{e}"
    );
    // The next checkpoint writes a whole new checkpoint file: the directory heals.
    writes_on(&rt, dir.path(), &model, "after a missing checkpoint file");
}

// ---------------------------------------------------------------------------------------------
// Unread page objects across many compactions, and past the runtime.

#[test]
fn a_snapshot_and_cursor_of_unread_pages_outlive_many_compactions_and_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Models::new();
    let mut rng = SplitMix64::new(51);
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = spec_fields(&rt);
        add(&fields, &mut m, &mut rng, 0, 6000, 0);
        add(&fields, &mut m, &mut rng, 1, 800, 100_000);
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        remove(&fields, &mut m, &mut rng, 0, 0.5);
        rt.commit().unwrap();
        drop(fields);
        rt.close().unwrap();
    }
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    // Every page is an unread page object now.
    let snap = rt.snapshot().unwrap();
    let at_open = m.clone();
    let pts = snap.field("pts").unwrap().clone();
    let mut cursor = pts
        .cursor(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
        .unwrap();
    let mut seen = cursor.next_page(50).unwrap();
    let fields = spec_fields(&rt);
    let mut base = 1_000_000;
    for round in 0..8 {
        // Churn: every write reads the pages it replaces, the snapshot keeps the old ones.
        remove(&fields, &mut m, &mut rng, 0, 0.3);
        remove(&fields, &mut m, &mut rng, 1, 0.3);
        add(&fields, &mut m, &mut rng, 0, 800, base);
        add(&fields, &mut m, &mut rng, 1, 120, base + 10_000);
        base += 100_000;
        rt.commit().unwrap();
        let c = rt.compact().unwrap();
        assert!(c.bytes_after <= c.bytes_before, "round {round}: {c:?}");
        rt.verify_checkpoint()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        // Read a little of the snapshot between rounds: some pages read, most not.
        if round % 3 == 1 {
            seen.extend(cursor.next_page(300).unwrap());
        }
    }
    check_specs(&rt, &m, "current state after the rounds");
    drop(fields);
    rt.close().unwrap();
    // The runtime is closed: the snapshot still reads its pages (it holds the files and
    // the directory lock), exactly as they were at the open.
    assert!(
        Runtime::open(dir.path(), opts()).is_err(),
        "the snapshot holds the lock"
    );
    while let Some(b) = Some(cursor.next_page(500).unwrap()).filter(|b| !b.is_empty()) {
        seen.extend(b);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        at_open.0[0].search(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
    );
    for (f, s) in SPECS.iter().enumerate() {
        if let Some(idx) = snap.field(s.name) {
            check_index(idx, &at_open.0[f], s.dims, &format!("snapshot {}", s.name));
        }
    }
    drop((cursor, pts, snap));
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    check_specs(&rt, &m, "reopened");
    rt.verify_checkpoint().unwrap();
    let c = rt.compact().unwrap();
    assert_eq!(c.bytes_after, c.live_bytes, "{c:?}");
}

// ---------------------------------------------------------------------------------------------
// Extremes.

#[test]
fn compaction_of_a_directory_whose_every_record_is_deleted() {
    let (b, mut m) = churned_specs(61);
    let rt = open_fb(&b);
    let fields = spec_fields(&rt);
    let mut rng = SplitMix64::new(62);
    for f in 0..SPECS.len() {
        remove(&fields, &mut m, &mut rng, f, 1.0);
    }
    rt.commit().unwrap();
    let c = rt.compact().unwrap();
    assert_eq!(c.bytes_after, c.live_bytes, "{c:?}");
    rt.verify_checkpoint().unwrap();
    check_specs(&rt, &m, "emptied");
    // Nothing to do twice; a compaction with nothing free.
    let again = rt.compact().unwrap();
    assert_eq!((again.pages_moved, again.bytes_after), (0, c.bytes_after));
    drop(fields);
    rt.close().unwrap();
    recover_specs_and_write_on(b.crash(None), &m, "emptied");
}

// ---------------------------------------------------------------------------------------------
// Races.

#[test]
fn compactions_race_each_other_close_background_compactions_and_to_index() {
    for round in 0..3u64 {
        let (b, m) = churned_specs(70 + round);
        let o = RuntimeOptions {
            background_checkpoints: true,
            checkpoint_epochs: Some(2),
            compact_dead_ratio: Some(0.05),
            compact_min_dead_bytes: 0,
            ..opts()
        };
        let rt = Arc::new(Runtime::open_with(Arc::new(b.clone()), o).unwrap());
        // Snapshots of unread pages, read by a thread while everything else goes on.
        let snap = rt.snapshot().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for _ in 0..2 {
            let (rt, stop) = (rt.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match rt.compact() {
                        Ok(_) => n += 1,
                        Err(e) if e.kind() == ErrorKind::Closed => break,
                        Err(e) => panic!("compaction: {e}"),
                    }
                }
                n
            }));
        }
        {
            let (rt, stop) = (rt.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Some(f)) = rt.get("hd") else { break };
                    match f.to_index() {
                        Ok(i) => {
                            i.snapshot().check().unwrap();
                            n += 1;
                        }
                        Err(e) if e.kind() == ErrorKind::Closed => break,
                        Err(e) => panic!("to_index: {e}"),
                    }
                }
                n
            }));
        }
        let want = m.clone();
        let reader = std::thread::spawn(move || {
            for (f, s) in SPECS.iter().enumerate() {
                if let Some(idx) = snap.field(s.name) {
                    check_index(idx, &want.0[f], s.dims, &format!("old snapshot {}", s.name));
                }
            }
        });
        let fields = spec_fields(&rt);
        let mut m = m;
        let mut rng = SplitMix64::new(round);
        let start = Instant::now();
        let mut base = 5_000_000;
        while start.elapsed() < Duration::from_millis(1500) {
            remove(&fields, &mut m, &mut rng, 0, 0.2);
            add(&fields, &mut m, &mut rng, 0, 300, base);
            remove(&fields, &mut m, &mut rng, 1, 0.2);
            add(&fields, &mut m, &mut rng, 1, 60, base + 50_000);
            base += 100_000;
            rt.commit().unwrap();
        }
        reader.join().unwrap();
        // Close while the compactions and copies still run.
        drop(fields);
        rt.close().unwrap();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        drop(rt);
        recover_specs_and_write_on(b.crash(None), &m, &format!("race round {round}"));
    }
}

#[test]
fn racing_first_reads_of_a_snapshot_meet_compactions_that_move_free_and_reuse_their_slots() {
    // Each round reopens, so every page is an unread page object again; three readers load
    // the same pages of one snapshot at once (the losers of each first read may meet a slot
    // the winner released and a checkpoint or compaction reused or cut) while the writer
    // churns, checkpoints and compacts as fast as it can.
    let dir = tempfile::tempdir().unwrap();
    let mut m = Models::new();
    let mut rng = SplitMix64::new(81);
    {
        let rt = Runtime::open(dir.path(), opts()).unwrap();
        let fields = spec_fields(&rt);
        add(&fields, &mut m, &mut rng, 0, 5000, 0);
        add(&fields, &mut m, &mut rng, 1, 600, 100_000);
        rt.commit().unwrap();
        drop(fields);
        rt.close().unwrap();
    }
    let mut base = 10_000_000;
    for round in 0..6 {
        let rt = Arc::new(Runtime::open(dir.path(), opts()).unwrap());
        let snap = Arc::new(rt.snapshot().unwrap());
        let want = Arc::new(m.clone());
        let go = Arc::new(std::sync::Barrier::new(4));
        let readers: Vec<_> = (0..3)
            .map(|t| {
                let (snap, want, go) = (snap.clone(), want.clone(), go.clone());
                std::thread::spawn(move || {
                    go.wait();
                    for k in 0..SPECS.len() {
                        let f = (k + t) % SPECS.len();
                        let s = &SPECS[f];
                        if let Some(idx) = snap.field(s.name) {
                            check_index(
                                idx,
                                &want.0[f],
                                s.dims,
                                &format!("round {round} {}", s.name),
                            );
                        }
                    }
                })
            })
            .collect();
        let fields = spec_fields(&rt);
        go.wait();
        for _ in 0..3 {
            remove(&fields, &mut m, &mut rng, 0, 0.25);
            add(&fields, &mut m, &mut rng, 0, 1000, base);
            remove(&fields, &mut m, &mut rng, 1, 0.25);
            add(&fields, &mut m, &mut rng, 1, 120, base + 50_000);
            base += 100_000;
            rt.commit().unwrap();
            rt.compact().unwrap();
        }
        for r in readers {
            r.join().unwrap();
        }
        check_specs(&rt, &m, &format!("round {round}"));
        rt.verify_checkpoint().unwrap();
        drop((fields, snap));
        rt.close().unwrap();
    }
}

#[test]
fn a_damaged_checkpoint_file_at_compaction_is_corruption_without_poison() {
    let (dir, model) = churned_dir(44);
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    let ckpt = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "xtc"))
        .unwrap();
    // A bit flip in the object tables, behind the runtime's back (it read them at open).
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    std::fs::write(&ckpt, &bytes).unwrap();
    let e = rt.compact().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    writes_on(&rt, dir.path(), &model, "after a damaged checkpoint file");
}
