//! Fuzz targets for every decoder of a data directory and for operation sequences with reopen,
//! driven by a structured mutation fuzzer that runs on stable Rust (no instrumentation).
//!
//! Targets:
//! - `superblock`: `SUPERBLOCK` bytes → `superblock::read`.
//! - `manifest`: manifest bytes → `manifest::read` (with the checksum the superblock would hold,
//!   so mutations reach the JSON and its checks).
//! - `checkpoint`: checkpoint bytes → `checkpoint::read`, then every field's object table into a
//!   page table (`MemoryStore::from_pages`), as an open does.
//! - `wal`: log bytes → `wal::scan`, each transaction's operations through `ops::decode`.
//! - `page`: node pages in an `Index::to_bytes` string → `Index::from_bytes` (the page checks
//!   the durable store runs on each page's first use, and the tree-shape checks), then every
//!   query kind, insert, delete and the invariant checker on whatever loads.
//! - `directory`: one file of a real data directory (two fields, a checkpoint, a log with
//!   commits after it) replaced by mutated bytes → `Runtime::open` on the fault-injecting
//!   backend, then queries, writes, a commit, a checkpoint and close.
//! - `ops`: a program of inserts, deletes, commits, checkpoints, reopens and crash images (torn
//!   unsynced writes) on a STRICT runtime; after every reopen and at every query the runtime must
//!   equal the model of its acknowledged commits (a mismatch panics: a finding).
//!
//! The mutator flips bits, writes boundary integers and floats (0, ±1, 2^31, 2^32 − 2, ±∞,
//! NaN, subnormals, ±f64::MAX) at aligned offsets, deletes, duplicates and inserts ranges,
//! truncates, extends and splices two inputs; most mutants are then *resealed* (every checksum
//! recomputed) so that they pass the CRCs and reach the structural checks behind them. Inputs
//! that give an outcome not seen before (an error message with its numbers masked, or a success)
//! join the corpus.
//!
//! A finding is a panic or an execution slower than [`SLOW`]. Each is saved under
//! `target/fuzz/<target>/` and printed; the test fails if there is one. An execution stuck for
//! [`STUCK`] is saved and aborts the run.
//!
//! Default run (in `./gradlew test`): about [`DEFAULT_SECONDS`] s per target. Long runs:
//! `./gradlew fuzz -Pfuzz.seconds=600` or `XTREE_FUZZ_SECONDS=600 cargo test --profile ci --test
//! fuzz -- --nocapture --test-threads=1`; `XTREE_FUZZ_EXECS=N` stops each target after N
//! executions instead, `XTREE_FUZZ_SEED` changes the mutation stream,
//! `XTREE_FUZZ_TARGETS=wal,page` selects targets, and `XTREE_FUZZ_REPLAY=<target>:<file>` runs
//! one saved input.

// Every target's reseal has one signature, `fn(&mut Vec<u8>)`: the directory's changes length.
#![allow(clippy::ptr_arg)]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use common::{labels, SplitMix64};
use xtree::engine::backend::{Backend, FaultBackend};
use xtree::engine::{checkpoint, manifest, ops, superblock, wal};
use xtree::store::memory::{LoadedPage, MemoryStore};
use xtree::{Durability, Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

/// Seconds per target of the default run.
const DEFAULT_SECONDS: f64 = 1.5;
/// An execution slower than this is a finding (a hang in the making).
const SLOW: Duration = Duration::from_secs(2);
/// An execution stuck this long aborts the run (after its input is saved).
const STUCK: Duration = Duration::from_secs(60);
/// Largest corpus kept per target.
const MAX_CORPUS: usize = 512;
/// Largest input the mutator grows to.
const MAX_INPUT: usize = 1 << 20;

// ---- targets ---------------------------------------------------------------------------------

/// What one execution gave: a class of outcome (error message with numbers masked, or success).
type Outcome = String;

struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    /// Recomputes the checksums of an input, where its layout allows.
    reseal: fn(&mut Vec<u8>),
    run: fn(&[u8]) -> Outcome,
}

fn class(r: xtree::Result<String>) -> Outcome {
    match r {
        Ok(s) => format!("ok {s}"),
        Err(e) => {
            // Numbers masked first, then cut: a number's digit count must not move the cut.
            let mut out = format!("{:?}: ", e.kind());
            let mut digits = false;
            for c in e.message().chars() {
                if c.is_ascii_hexdigit() && (c.is_ascii_digit() || digits) {
                    if !digits {
                        out.push('#');
                    }
                    digits = true;
                } else {
                    digits = false;
                    out.push(c);
                }
            }
            out.truncate(out.char_indices().nth(120).map_or(out.len(), |(i, _)| i));
            out
        }
    }
}

fn write_file(b: &FaultBackend, name: &str, bytes: &[u8]) {
    let f = b.open(name, true).expect("open in memory");
    f.set_len(0).expect("set_len");
    f.write_at(0, bytes).expect("write");
    f.sync().expect("sync");
}

fn crc_at(b: &mut [u8], at: usize, covered: std::ops::Range<usize>) {
    if at + 4 <= b.len() && covered.end <= b.len() {
        let crc = crc32c::crc32c(&b[covered]);
        b[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

// superblock

fn reseal_superblock(b: &mut Vec<u8>) {
    let slot = superblock::SLOT;
    for k in 0..b.len() / slot {
        crc_at(b, (k + 1) * slot - 4, k * slot..(k + 1) * slot - 4);
    }
}

fn run_superblock(input: &[u8]) -> Outcome {
    let b = FaultBackend::new();
    write_file(&b, superblock::FILE, input);
    class(superblock::read(&b).map(|(sb, both)| format!("both={both} gen={}", sb.generation % 2)))
}

// manifest

/// The generation the manifest target reads: the one its seed was written under.
const MANIFEST_GENERATION: u64 = 2;

fn run_manifest(input: &[u8]) -> Outcome {
    let b = FaultBackend::new();
    write_file(&b, &manifest::file_name(MANIFEST_GENERATION), input);
    class(manifest::read(&b, MANIFEST_GENERATION, crc32c::crc32c(input)).map(|_| String::new()))
}

// checkpoint

fn reseal_checkpoint(b: &mut Vec<u8>) {
    reseal_checkpoint_with(b, &mut |_| {});
}

/// Reseals checkpoint `b`, first letting `entries` change each object table's bytes (a run of
/// `segments::ENTRY_BYTES` entries) before its checksum is recomputed.
fn reseal_checkpoint_with(b: &mut Vec<u8>, entries_of: &mut dyn FnMut(&mut [u8])) {
    const HEADER: usize = checkpoint::HEADER;
    const FIELD_FIXED: usize = 28;
    let entry = xtree::engine::segments::ENTRY_BYTES;
    crc_at(b, 60, 0..60);
    let Some(nfields) = u32_at(b, 12) else { return };
    let mut pos = HEADER;
    let mut total = 0u64;
    for _ in 0..nfields.min(64) {
        let (Some(meta_len), Some(entries)) = (u32_at(b, pos), u64_at(b, pos + 20)) else {
            return;
        };
        let json_end = pos + FIELD_FIXED + meta_len as usize;
        if json_end + 4 > b.len() {
            return;
        }
        crc_at(b, json_end, pos..json_end);
        let table = (json_end + 4).next_multiple_of(8);
        let Some(table_end) = (entries as usize)
            .checked_mul(entry)
            .and_then(|n| n.checked_add(table))
        else {
            return;
        };
        if table_end + 8 > b.len() {
            return;
        }
        entries_of(&mut b[table..table_end]);
        crc_at(b, table_end, table..table_end);
        total += entries;
        pos = table_end + 8;
    }
    if pos + 16 <= b.len() {
        b[pos + 8..pos + 12].copy_from_slice(&(total as u32).to_le_bytes());
        crc_at(b, pos + 12, pos..pos + 12);
    }
}

fn run_checkpoint(input: &[u8]) -> Outcome {
    let b = FaultBackend::new();
    let name = checkpoint::file_name(7);
    write_file(&b, &name, input);
    class(checkpoint::read(&b, &name).and_then(|loaded| {
        let mut pages = 0;
        for f in loaded.fields {
            // As an open does: every table entry becomes a page of the field's page table.
            let table: Vec<(u64, LoadedPage)> = f
                .table
                .iter()
                .map(|e| (e.node, LoadedPage::Owned(Vec::new())))
                .collect();
            pages += table.len();
            let top = table
                .iter()
                .map(|&(id, _)| xtree::store::handle(id) + 1)
                .max();
            let store = MemoryStore::from_pages(table, f.root, f.records)?;
            // The page table covers exactly the handles up to the highest one loaded.
            assert_eq!(store.ids_used(), top.unwrap_or(0), "handle range");
        }
        Ok(format!("pages>0={}", pages > 0))
    }))
}

// wal

fn reseal_wal(b: &mut Vec<u8>) {
    crc_at(b, 24, 0..24);
    let mut pos = wal::FILE_HEADER;
    while let Some(len) = u32_at(b, pos) {
        if len == 0 || len as usize > wal::MAX_PAYLOAD {
            return;
        }
        let end = pos + wal::RECORD_HEADER + len as usize;
        if end + wal::RECORD_TRAILER > b.len() {
            return;
        }
        crc_at(b, end, pos..end);
        pos = end + wal::RECORD_TRAILER;
    }
}

fn run_wal(input: &[u8]) -> Outcome {
    let b = FaultBackend::new();
    let name = wal::file_name(3);
    write_file(&b, &name, input);
    class(
        wal::scan(&b, &name, |_epoch, payload| {
            ops::decode(payload, |_op| Ok(()))
        })
        .map(|r| format!("clean={} txns>0={}", r.stopped.is_none(), r.txns > 0)),
    )
}

// page

fn reseal_trailing_crc(b: &mut Vec<u8>) {
    if b.len() >= 4 {
        let n = b.len() - 4;
        crc_at(b, n, 0..n);
    }
}

fn run_page(input: &[u8]) -> Outcome {
    class(Index::from_bytes(input).map(|ix| {
        let d = ix.dimension();
        let lo = vec![10.0; d];
        let hi = vec![60.0; d];
        for ty in [
            SearchType::Intersects,
            SearchType::Contains,
            SearchType::Within,
        ] {
            let _ = ix.search(ty, &lo, &hi);
            let _ = ix.count(ty, &lo, &hi);
        }
        let _ = ix.nearest(&lo, 5);
        let _ = ix.nearest_with_distance(&hi, 1);
        let point = |i: u64| -> Vec<f64> {
            (0..d)
                .map(|a| ((i * 7 + a as u64 * 13) % 100) as f64)
                .collect()
        };
        for i in 0..40u64 {
            let _ = ix.insert_point(1 << 40 | i, &point(i));
        }
        for i in 0..10u64 {
            let p = point(i);
            let _ = ix.delete(1 << 40 | i, &p, &p);
        }
        let checked = ix.check().is_ok();
        format!("check={checked}")
    }))
}

fn page_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (dim, precision, points, n) in [(2usize, 64u32, true, 300usize), (3, 32, false, 200)] {
        let mut o = IndexOptions::new(dim, precision, labels(dim));
        o.node_size = 256;
        let ix = Index::with_options(o).expect("index");
        let mut rng = SplitMix64::new(dim as u64);
        for i in 0..n as u64 {
            let min: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 100.0).collect();
            let max: Vec<f64> = min
                .iter()
                .map(|x| if points { *x } else { x + rng.next_f64() * 5.0 })
                .collect();
            ix.insert_boxes(&[i], &min, &max).expect("insert");
        }
        out.push(ix.to_bytes().expect("to_bytes"));
    }
    out
}

// directory

/// The files of the `directory` target's data directory, in a fixed order.
fn directory_files() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let b = FaultBackend::new();
        let rt = Runtime::open_with(Arc::new(b.clone()), fuzz_options()).expect("open");
        let geo = rt.field("geo", small(2, 64)).expect("geo");
        let vec = rt.field("vec", small(3, 32)).expect("vec");
        let mut rng = SplitMix64::new(99);
        for round in 0..6u64 {
            for i in 0..60 {
                let row = round * 100 + i;
                let p = [rng.next_f64() * 100.0, rng.next_f64() * 100.0];
                geo.insert(row, &p, &[p[0] + 1.0, p[1] + 2.0])
                    .expect("insert");
                vec.insert_point(row, &[p[0], p[1], rng.next_f64()])
                    .expect("insert");
            }
            rt.commit().expect("commit");
            if round == 3 {
                rt.checkpoint().expect("checkpoint");
            }
        }
        drop((geo, vec));
        // The files as they are before close (which would checkpoint): the log after the
        // checkpoint holds commits.
        let mut names = b.list().expect("list");
        names.retain(|n| n != "LOCK");
        names.sort();
        let files = names
            .into_iter()
            .filter_map(|n| b.contents(&n).map(|c| (n, c)))
            .collect();
        rt.close().expect("close");
        files
    })
}

fn fuzz_options() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        checkpoint_on_close: false,
        checkpoint_interval: None,
        ..RuntimeOptions::default()
    }
}

fn small(dim: usize, precision: u32) -> IndexOptions {
    let mut o = IndexOptions::new(dim, precision, labels(dim));
    o.node_size = 256;
    o
}

fn reseal_directory(b: &mut Vec<u8>) {
    let files = directory_files();
    let Some(&k) = b.first() else { return };
    let (name, _) = &files[k as usize % files.len()];
    let mut body = b[1..].to_vec();
    if name == superblock::FILE {
        reseal_superblock(&mut body);
    } else if name.starts_with("ckpt-") {
        reseal_checkpoint(&mut body);
    } else if name.starts_with("wal-") {
        reseal_wal(&mut body);
    }
    b.truncate(1);
    b.extend_from_slice(&body);
}

fn run_directory(input: &[u8]) -> Outcome {
    let files = directory_files();
    let Some((&k, body)) = input.split_first() else {
        return "empty".into();
    };
    let b = FaultBackend::new();
    let target = k as usize % files.len();
    for (i, (name, bytes)) in files.iter().enumerate() {
        write_file(&b, name, if i == target { body } else { bytes });
    }
    // A mutated manifest is checked against the superblock's CRC first; half the time, make
    // the superblock agree so that the manifest's contents are what is tested.
    let (name, _) = &files[target];
    // Likewise a mutated segment file: its pages' CRCs are in the checkpoint's object tables;
    // half the time, recompute them there, so that the pages reach the checks of their first
    // use (`validate_page`, the levels of the descent) instead of failing their checksum.
    if k >= 128 {
        if let Some(class) = xtree::engine::segments::parse_name(name) {
            if let Some((ckpt, bytes)) = files.iter().find(|(n, _)| n.starts_with("ckpt-")) {
                let mut ck = bytes.clone();
                reseal_checkpoint_with(&mut ck, &mut |table| {
                    for raw in table.chunks_exact_mut(xtree::engine::segments::ENTRY_BYTES) {
                        let Ok(mut e) = xtree::engine::segments::Entry::decode(raw) else {
                            continue;
                        };
                        let at = e.slot.saturating_mul(1 << e.class) as usize;
                        let end = at.saturating_add(e.words as usize * 8);
                        if e.class == class && end <= body.len() {
                            e.crc = crc32c::crc32c(&body[at..end]);
                            raw.copy_from_slice(&e.encode());
                        }
                    }
                });
                write_file(&b, ckpt, &ck);
            }
        }
    }
    if name.starts_with("manifest-") && k >= 128 {
        if let (Ok((sb, _)), Some(generation)) = (superblock::read(&b), manifest::parse_name(name))
        {
            if sb.manifest == generation {
                let mut s = b.contents(superblock::FILE).expect("superblock");
                let slot = (sb.generation % 2) as usize * superblock::SLOT;
                s[slot + 32..slot + 36].copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
                reseal_superblock(&mut s);
                write_file(&b, superblock::FILE, &s);
            }
        }
    }
    class(
        Runtime::open_with(Arc::new(b), fuzz_options()).and_then(|rt| {
            let mut seen = Vec::new();
            for name in rt.field_names() {
                let Some(f) = rt.get(&name)? else { continue };
                let d = f.dimension();
                let lo = vec![0.0; d];
                let hi = vec![100.0; d];
                let n = f
                    .search(SearchType::Intersects, &lo, &hi)
                    .map(|v| v.len().to_string());
                let _ = f.nearest(&lo, 3);
                let _ = f.insert_point(1 << 40, &hi);
                seen.push(format!("{name}:{}", class(n)));
            }
            let _ = rt.commit();
            let _ = rt.checkpoint();
            let _ = rt.verify_checkpoint();
            let closed = rt.close().is_ok();
            Ok(format!("{} closed={closed}", seen.join(",")))
        }),
    )
}

fn directory_seeds() -> Vec<Vec<u8>> {
    directory_files()
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| {
            let mut v = vec![i as u8];
            v.extend_from_slice(bytes);
            v
        })
        .collect()
}

// ops

/// Runs `input` as a program against a STRICT runtime on the fault-injecting backend and a
/// model of its acknowledged commits; panics on any difference.
fn run_ops(input: &[u8]) -> Outcome {
    let mut backend = FaultBackend::new();
    let mut rt = Runtime::open_with(Arc::new(backend.clone()), fuzz_options()).expect("open");
    let mut field = rt.field("f", small(2, 64)).expect("field");
    // The committed state, and the writer's state with its uncommitted writes: row → box.
    let mut committed: BTreeMap<u64, [f64; 4]> = BTreeMap::new();
    let mut pending = committed.clone();
    let mut errors = 0u32;
    let check = |field: &xtree::Field, model: &BTreeMap<u64, [f64; 4]>, q: [f64; 4], what: &str| {
        let mut got = field
            .search(SearchType::Intersects, &q[..2], &q[2..])
            .expect("search");
        got.sort_unstable();
        let want: Vec<u64> = model
            .iter()
            .filter(|(_, b)| b[0] <= q[2] && q[0] <= b[2] && b[1] <= q[3] && q[1] <= b[3])
            .map(|(&r, _)| r)
            .collect();
        assert_eq!(got, want, "{what}: window {q:?}");
        assert_eq!(field.len().expect("len"), model.len() as u64, "{what}: len");
    };
    let mut i = 0;
    let mut byte = || {
        let b = input.get(i).copied();
        i += 1;
        b
    };
    while let Some(op) = byte() {
        let a = byte().unwrap_or(0) as f64;
        let c = byte().unwrap_or(0) as f64;
        match op % 10 {
            0..=3 => {
                let row = (op as u64 * 31 + a as u64) % 64;
                let b = [a, c, a + (op % 4) as f64, c + (op % 3) as f64];
                if let std::collections::btree_map::Entry::Vacant(v) = pending.entry(row) {
                    field.insert(row, &b[..2], &b[2..]).expect("insert");
                    v.insert(b);
                }
            }
            4 => {
                let row = (a as u64 * 7 + c as u64) % 64;
                if let Some(b) = pending.remove(&row) {
                    assert!(
                        field.delete(row, &b[..2], &b[2..]).expect("delete"),
                        "delete"
                    );
                }
            }
            5 => match rt.commit() {
                Ok(_) => committed = pending.clone(),
                Err(_) => errors += 1,
            },
            6 => {
                rt.checkpoint().expect("checkpoint");
            }
            7 | 8 => {
                // 7: close and reopen; 8: a crash image (unsynced writes torn) and reopen.
                // Either way only acknowledged commits remain (STRICT).
                drop(field);
                if op % 10 == 8 {
                    // The image is taken first; what the old runtime does after it (its
                    // close) reaches only the old backend, as after a power cut.
                    let image = backend.crash(Some(u64::from(op) << 8 | a as u64));
                    let _ = rt.close();
                    backend = image;
                } else {
                    rt.close().expect("close");
                }
                drop(rt);
                rt = Runtime::open_with(Arc::new(backend.clone()), fuzz_options()).expect("reopen");
                field = rt.field("f", small(2, 64)).expect("field after reopen");
                pending = committed.clone();
                check(&field, &committed, [0.0, 0.0, 300.0, 300.0], "after reopen");
                rt.snapshot()
                    .expect("snapshot")
                    .field("f")
                    .expect("field in snapshot")
                    .check()
                    .expect("invariants after reopen");
            }
            _ => {
                // Queries read the committed state; uncommitted writes are invisible.
                let q = [a, c, a + 40.0, c + 40.0];
                check(&field, &committed, q, "query");
            }
        }
    }
    check(&field, &committed, [0.0, 0.0, 300.0, 300.0], "at the end");
    rt.close().expect("close");
    format!("commits ok, errors>0={}", errors > 0)
}

fn ops_seeds() -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(5);
    (0..4)
        .map(|_| (0..300).map(|_| rng.next_u64() as u8).collect())
        .collect()
}

fn no_reseal(_: &mut Vec<u8>) {}

fn targets() -> Vec<Target> {
    // Seeds of the decoders come from the files of a real data directory.
    let files = directory_files();
    let file = |prefix: &str| -> Vec<Vec<u8>> {
        files
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, b)| b.clone())
            .collect()
    };
    let manifests: Vec<Vec<u8>> = files
        .iter()
        .filter(|(n, _)| manifest::parse_name(n) == Some(MANIFEST_GENERATION))
        .map(|(_, b)| b.clone())
        .collect();
    assert!(
        !manifests.is_empty(),
        "the directory has manifest generation 2: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    vec![
        Target {
            name: "superblock",
            seeds: file(superblock::FILE),
            reseal: reseal_superblock,
            run: run_superblock,
        },
        Target {
            name: "manifest",
            seeds: manifests,
            reseal: no_reseal,
            run: run_manifest,
        },
        Target {
            name: "checkpoint",
            seeds: file("ckpt-"),
            reseal: reseal_checkpoint,
            run: run_checkpoint,
        },
        Target {
            name: "wal",
            seeds: file("wal-"),
            reseal: reseal_wal,
            run: run_wal,
        },
        Target {
            name: "page",
            seeds: page_seeds(),
            reseal: reseal_trailing_crc,
            run: run_page,
        },
        Target {
            name: "directory",
            seeds: directory_seeds(),
            reseal: reseal_directory,
            run: run_directory,
        },
        Target {
            name: "ops",
            seeds: ops_seeds(),
            reseal: no_reseal,
            run: run_ops,
        },
    ]
}

// ---- mutator ---------------------------------------------------------------------------------

const U32S: [u32; 9] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xffff,
    0x7fff_ffff,
    0xffff_fffe,
    u32::MAX,
];
const U64S: [u64; 8] = [
    0,
    1,
    u64::MAX,
    u64::MAX - 1,
    (1 << 32) - 2,
    1 << 32,
    1 << 63,
    0x0000_ffff_ffff_ffff,
];
const F64S: [f64; 12] = [
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    5e-324,
    -0.0,
    1e300,
    -1e300,
    1e-300,
    0.5,
];

fn mutate(rng: &mut SplitMix64, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    // An aligned offset: half the time a multiple of `align`, else a multiple plus a random
    // phase, because the fields of a layout are aligned relative to where it starts (after a
    // selector byte, or variable-length labels), not to the input's first byte.
    let at = |rng: &mut SplitMix64, align: usize| -> Option<usize> {
        let phase = if rng.below(2) == 0 {
            0
        } else {
            rng.below(align)
        };
        (len >= align + phase).then(|| phase + rng.below((len - phase) / align) * align)
    };
    match rng.below(12) {
        0 | 1 => {
            if let Some(i) = at(rng, 1) {
                input[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            if let Some(i) = at(rng, 1) {
                input[i] = [0u8, 1, 0x7f, 0x80, 0xff][rng.below(5)];
            }
        }
        3 => {
            if let Some(i) = at(rng, 4) {
                let v = U32S[rng.below(U32S.len())];
                input[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        4 => {
            if let Some(i) = at(rng, 8) {
                let v = U64S[rng.below(U64S.len())];
                input[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        5 => {
            let v = F64S[rng.below(F64S.len())];
            if rng.below(2) == 0 {
                if let Some(i) = at(rng, 8) {
                    input[i..i + 8].copy_from_slice(&v.to_le_bytes());
                }
            } else if let Some(i) = at(rng, 4) {
                input[i..i + 4].copy_from_slice(&(v as f32).to_le_bytes());
            }
        }
        6 => {
            if let Some(i) = at(rng, 1) {
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
        }
        7 => {
            if let Some(i) = at(rng, 1) {
                let n = 1 + rng.below((len - i).min(64));
                let chunk = input[i..i + n].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, chunk);
            }
        }
        8 => {
            let to = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            input.splice(to..to, bytes);
        }
        9 => {
            if len > 0 {
                input.truncate(rng.below(len));
            }
        }
        10 => {
            let n = [1usize, 7, 64, 4096][rng.below(4)];
            input.resize((len + n).min(MAX_INPUT), 0);
        }
        _ => {
            // Splice: a range of another input over the same offset.
            if !other.is_empty() {
                let i = rng.below(other.len());
                let n = 1 + rng.below((other.len() - i).min(256));
                let to = rng.below(len + 1);
                let end = (to + n).min(input.len());
                input.splice(to..end, other[i..i + n].iter().copied());
            }
        }
    }
    input.truncate(MAX_INPUT);
}

// ---- driver ----------------------------------------------------------------------------------

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while this thread runs fuzz executions: their panics are recorded, not printed.
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !FUZZING.with(|f| f.get()) {
                return default(info);
            }
            let loc = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{loc}: {msg}")));
        }));
    });
}

fn out_dir(target: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    base.join("fuzz").join(target)
}

fn save(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = out_dir(target);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{kind}-{:08x}", crc32c::crc32c(input)));
    let _ = std::fs::write(&path, input);
    path
}

struct Tally {
    execs: u64,
    seconds: f64,
    corpus: usize,
    outcomes: usize,
    crashes: u64,
    unique_crashes: usize,
    slow: u64,
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs target `t` for the configured time or executions and returns its tally.
fn fuzz(t: &Target) -> Tally {
    quiet_panics();
    let seconds = env_f64("XTREE_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS);
    let max_execs = env_f64("XTREE_FUZZ_EXECS").map(|x| x as u64);
    let seed = env_f64("XTREE_FUZZ_SEED").map_or(0x5eed, |x| x as u64);
    let mut rng = SplitMix64::new(seed ^ crc32c::crc32c(t.name.as_bytes()) as u64);
    let mut corpus = t.seeds.clone();
    assert!(!corpus.is_empty(), "{}: no seeds", t.name);
    let mut seen: HashSet<Outcome> = HashSet::new();
    let mut crashes: HashMap<String, PathBuf> = HashMap::new();
    let mut tally = Tally {
        execs: 0,
        seconds: 0.0,
        corpus: 0,
        outcomes: 0,
        crashes: 0,
        unique_crashes: 0,
        slow: 0,
    };
    // A watchdog saves the input of an execution stuck for STUCK and aborts the run.
    let current: Arc<Mutex<(Instant, Vec<u8>, bool)>> =
        Arc::new(Mutex::new((Instant::now(), Vec::new(), false)));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (current, done, name) = (current.clone(), done.clone(), t.name);
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let c = current.lock().unwrap_or_else(|e| e.into_inner());
                if c.2 && c.0.elapsed() > STUCK {
                    let path = save(name, "stuck", &c.1);
                    eprintln!("fuzz {name}: an execution is stuck; input saved to {path:?}");
                    std::process::abort();
                }
            }
        })
    };
    let start = Instant::now();
    let mut first = true;
    loop {
        // The seeds run unmutated first.
        let input = if first && tally.execs < t.seeds.len() as u64 {
            t.seeds[tally.execs as usize].clone()
        } else {
            first = false;
            let mut x = corpus[rng.below(corpus.len())].clone();
            let other = corpus[rng.below(corpus.len())].clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut x, &other);
            }
            if rng.below(4) != 0 {
                (t.reseal)(&mut x);
            }
            x
        };
        {
            let mut c = current.lock().unwrap_or_else(|e| e.into_inner());
            *c = (Instant::now(), input.clone(), true);
        }
        let t0 = Instant::now();
        FUZZING.with(|f| f.set(true));
        let r = catch_unwind(AssertUnwindSafe(|| (t.run)(&input)));
        FUZZING.with(|f| f.set(false));
        let took = t0.elapsed();
        current.lock().unwrap_or_else(|e| e.into_inner()).2 = false;
        tally.execs += 1;
        match r {
            Ok(outcome) => {
                if seen.insert(outcome) && corpus.len() < MAX_CORPUS {
                    corpus.push(input.clone());
                }
            }
            Err(_) => {
                tally.crashes += 1;
                let what = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| "unknown panic".into());
                // One finding per site and message shape (numbers masked).
                let first = what.lines().next().unwrap_or("");
                let key: String = first
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .take(100)
                    .collect();
                if let std::collections::hash_map::Entry::Vacant(v) = crashes.entry(key) {
                    let path = save(t.name, "crash", &input);
                    eprintln!("fuzz {}: CRASH {what}\n  input saved to {path:?}", t.name);
                    v.insert(path);
                }
            }
        }
        if took > SLOW {
            tally.slow += 1;
            let path = save(t.name, "slow", &input);
            eprintln!(
                "fuzz {}: an execution took {took:?}; input saved to {path:?}",
                t.name
            );
        }
        let elapsed = start.elapsed().as_secs_f64();
        let enough = match max_execs {
            Some(n) => tally.execs >= n,
            None => elapsed >= seconds,
        };
        if enough && tally.execs >= t.seeds.len() as u64 {
            tally.seconds = elapsed;
            break;
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watchdog.join();
    tally.corpus = corpus.len();
    tally.outcomes = seen.len();
    tally.unique_crashes = crashes.len();
    println!(
        "fuzz {:<10} {:>9} execs in {:>7.1} s ({:>8.0}/s), corpus {:>3}, outcomes {:>3}, \
         crashes {} ({} unique), slow {}",
        t.name,
        tally.execs,
        tally.seconds,
        tally.execs as f64 / tally.seconds.max(1e-9),
        tally.corpus,
        tally.outcomes,
        tally.crashes,
        tally.unique_crashes,
        tally.slow
    );
    tally
}

fn selected(name: &str) -> bool {
    match std::env::var("XTREE_FUZZ_TARGETS") {
        Ok(list) => list.split(',').any(|t| t.trim() == name),
        Err(_) => true,
    }
}

fn fuzz_target(name: &str) {
    if !selected(name) {
        return;
    }
    let targets = targets();
    let t = targets.iter().find(|t| t.name == name).expect("target");
    if let Ok(spec) = std::env::var("XTREE_FUZZ_REPLAY") {
        if let Some((which, file)) = spec.split_once(':') {
            if which == name {
                let input = std::fs::read(file).expect("replay input");
                println!("replay {name} {file}: {}", (t.run)(&input));
            }
        }
        return;
    }
    let tally = fuzz(t);
    assert!(tally.execs > 0);
    assert_eq!(
        (tally.crashes, tally.slow),
        (0, 0),
        "fuzz {name}: findings (inputs under {:?})",
        out_dir(name)
    );
}

#[test]
fn fuzz_superblock() {
    fuzz_target("superblock");
}

#[test]
fn fuzz_manifest() {
    fuzz_target("manifest");
}

#[test]
fn fuzz_checkpoint() {
    fuzz_target("checkpoint");
}

#[test]
fn fuzz_wal() {
    fuzz_target("wal");
}

#[test]
fn fuzz_page() {
    fuzz_target("page");
}

#[test]
fn fuzz_directory() {
    fuzz_target("directory");
}

#[test]
fn fuzz_ops() {
    fuzz_target("ops");
}

/// The mutator and the reseal functions must produce inputs that get past the checksums, or
/// the targets test nothing but the CRCs: every seed, resealed after a coordinate-only change,
/// still decodes.
#[test]
fn resealed_mutants_reach_the_structural_checks() {
    for t in targets() {
        for seed in &t.seeds {
            let mut x = seed.clone();
            (t.reseal)(&mut x);
            assert_eq!(
                (t.run)(&x),
                (t.run)(seed),
                "{}: resealing an intact input changed its outcome",
                t.name
            );
        }
    }
    // A segment page with infinite coordinates reaches the page checks when the checkpoint's
    // CRCs are resealed (selector >= 128), and fails its checksum when they are not.
    let files = directory_files();
    let (i, (_, seg)) = files
        .iter()
        .enumerate()
        .find(|(_, (n, _))| n.starts_with("seg-"))
        .expect("a segment file");
    let mut body = seg.clone();
    for at in (64..256).step_by(8) {
        body[at..at + 8].copy_from_slice(&f64::INFINITY.to_le_bytes());
    }
    let run = |k: usize| {
        let mut input = vec![k as u8];
        input.extend_from_slice(&body);
        run_directory(&input)
    };
    // The selector names file `k % files` and reseals from 128 on.
    let sealed_k = (128..256)
        .find(|k| k % files.len() == i)
        .expect("a selector");
    let (sealed, unsealed) = (run(sealed_k), run(i));
    assert!(sealed.contains("bounds [inf"), "{sealed}");
    assert!(unsealed.contains("checksum mismatch"), "{unsealed}");

    // A changed byte inside a log record, resealed, is read as a record again.
    let wal_seed = targets()
        .into_iter()
        .find(|t| t.name == "wal")
        .expect("wal")
        .seeds[0]
        .clone();
    let mut x = wal_seed.clone();
    let payload = wal::FILE_HEADER + wal::RECORD_HEADER + 2;
    x[payload] ^= 0x40;
    assert!(
        run_wal(&x).contains("clean=false"),
        "unsealed damage stops the scan"
    );
    reseal_wal(&mut x);
    assert_ne!(
        run_wal(&x),
        run_wal(&{
            let mut y = wal_seed.clone();
            y[payload] ^= 0x40;
            y
        })
    );
}

/// Review: the aligned mutations (boundary u64s, f64s and f32s) must be able to land exactly on
/// the fields they target. In the `page` target the pages start after the labels (`x0`, `x1`:
/// 6 bytes each), so their words sit at offset 76 (2 dimensions) or 82 (3): 4 and 2 mod 8, and
/// an 8-aligned f64 (4-aligned f32) write never covers a whole coordinate. An infinite
/// coordinate — the crafted page `validate_page` guards against — is then never produced
/// (straddling all-ones writes give NaNs only). (The same holds for every 8-aligned field of
/// the `directory` target, whose file follows a selector byte.)
#[test]
fn aligned_mutations_land_on_page_coordinates() {
    let ts = targets();
    let page = ts.iter().find(|t| t.name == "page").expect("page");
    let mut rng = SplitMix64::new(77);
    let mut infinite = 0;
    for k in 0..4000 {
        let mut x = page.seeds[k % page.seeds.len()].clone();
        mutate(&mut rng, &mut x, &[]);
        reseal_trailing_crc(&mut x);
        if let Err(e) = Index::from_bytes(&x) {
            if e.message().contains("bounds [") && e.message().contains("inf") {
                infinite += 1;
            }
        }
    }
    assert!(
        infinite > 0,
        "no page mutant of 4000 has an infinite coordinate"
    );
}
