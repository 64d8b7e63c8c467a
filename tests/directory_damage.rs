//! Damage to each file of a data directory, one file and one kind of damage at a time.
//!
//! A scripted workload builds a directory with everything in it: two fields, several commits,
//! a checkpoint, more commits, a second checkpoint (segment files hold pages of both), more
//! commits, then a third checkpoint that fails after starting the next log, so that the
//! directory ends with an older log (the manifest's `wal_start`) and a newest one, both holding
//! acknowledged commits. Copies of the directory saved along the way provide "older copies".
//!
//! For each file (SUPERBLOCK, the manifest, the checkpoint, each segment file, the older and the
//! newest log, and LOCK on real files): missing; truncated to 0, to half and to one byte short;
//! a bit flipped at several offsets of its header and its body; replaced by an older copy of
//! itself. Each damaged directory is opened on the fault-injecting backend and as a real
//! directory. The outcome must be a clear error (`Corruption`, or `Io` for a missing file other
//! than the superblock and the manifest, naming a file of the directory) after which the
//! directory's files are unchanged (nothing "repaired" by deletion), or the exact state of the
//! last acknowledged commit; never a panic, never an empty index, never an older state.
//!
//! The exception, where the directory alone cannot tell: damage to the NEWEST log that makes it
//! look like a log whose later commits never reached the disk — an older copy of it, the file
//! missing or empty, or a damaged record (a torn write of an unsynced group looks the same).
//! No other file records where the newest log ends, so these must give a committed state
//! (possibly older), without panicking. A damaged *header* of the newest log is not such a case
//! when records follow it (commits go to a log only after its header is synced): that must be
//! an error.
//!
//! `XTREE_DAMAGE_VERBOSE=1 cargo test --profile quick --test directory_damage -- --nocapture`
//! prints the outcome of every case.

#[path = "common/mod.rs"]
mod common;
mod durable_common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use durable_common::*;
use xtree::engine::backend::{Backend, BackendFile, FaultBackend};
use xtree::{Durability, ErrorKind, Runtime, RuntimeOptions, SearchType};

/// A directory's files and their bytes.
type Files = BTreeMap<String, Vec<u8>>;

fn opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    }
}

/// A backend that, once armed, fails the open of a checkpoint's temporary file: a checkpoint
/// that has started the next log and written its pages, then fails.
struct FailCheckpoint<B> {
    inner: B,
    armed: Arc<AtomicBool>,
}

impl<B: Backend> Backend for FailCheckpoint<B> {
    fn open(&self, name: &str, create: bool) -> xtree::Result<Arc<dyn BackendFile>> {
        if name.ends_with(".xtc.tmp") && self.armed.swap(false, Ordering::AcqRel) {
            return Err(xtree::Error::new(
                ErrorKind::Io,
                format!("open {name}: injected failure"),
            ));
        }
        self.inner.open(name, create)
    }
    fn exists(&self, name: &str) -> xtree::Result<bool> {
        self.inner.exists(name)
    }
    fn rename(&self, from: &str, to: &str) -> xtree::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> xtree::Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> xtree::Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> xtree::Result<()> {
        self.inner.sync_dir()
    }
}

/// The durable files of `b`.
fn files_of(b: &FaultBackend) -> Files {
    let c = b.crash(None);
    c.list()
        .unwrap()
        .into_iter()
        .map(|n| {
            let bytes = c.contents(&n).unwrap();
            (n, bytes)
        })
        .collect()
}

/// A new fault-injecting backend holding `files`, all durable.
fn fault_dir(files: &Files) -> FaultBackend {
    let b = FaultBackend::new();
    for (name, bytes) in files {
        let f = b.open(name, true).unwrap();
        f.write_at(0, bytes).unwrap();
        f.sync().unwrap();
    }
    b.sync_dir().unwrap();
    b.crash(None)
}

/// A new real directory holding `files`.
fn real_dir(files: &Files) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// The files of a real directory, without LOCK (which every open creates).
fn real_files(dir: &Path) -> Files {
    let mut out = Files::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name != "LOCK" {
            out.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

fn without_lock(files: &Files) -> Files {
    files
        .iter()
        .filter(|(n, _)| n.as_str() != "LOCK")
        .map(|(n, b)| (n.clone(), b.clone()))
        .collect()
}

/// The directory the workload built, the copies saved along the way, and the committed states.
struct Built {
    /// (when, files), in workload order; the last is the final directory.
    saved: Vec<(&'static str, Files)>,
    history: History,
    /// Epoch of the last acknowledged commit.
    last: u64,
    /// The older and the newest log of the final directory.
    older_log: String,
    newest_log: String,
}

impl Built {
    fn last_files(&self) -> &Files {
        &self.saved.last().unwrap().1
    }
}

fn commit_n(
    rt: &Runtime,
    fields: &[xtree::Field],
    work: &mut Workload,
    history: &mut History,
    n: usize,
) {
    for _ in 0..n {
        work.writes(fields).unwrap();
        let e = rt.commit().unwrap();
        history.insert(e, work.model.clone());
    }
}

/// The scripted workload (see the module documentation).
fn build() -> Built {
    let b = FaultBackend::new();
    let armed = Arc::new(AtomicBool::new(false));
    let backend = Arc::new(FailCheckpoint {
        inner: b.clone(),
        armed: armed.clone(),
    });
    let mut history = History::new();
    history.insert(0, Model::new());
    let mut saved = Vec::new();
    let rt = Runtime::open_with(backend.clone(), opts()).unwrap();
    let fields = open_fields(&rt, &mut history);
    let mut work = Workload::new(11, Model::new());
    saved.push(("after creating the fields", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 10);
    assert!(rt.checkpoint().unwrap());
    saved.push(("after the first checkpoint", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 1);
    saved.push(("one commit after the first checkpoint", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 5);
    assert!(rt.checkpoint().unwrap());
    saved.push(("after the second checkpoint", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 1);
    saved.push(("one commit after the second checkpoint", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 3);
    armed.store(true, Ordering::Release);
    let e = rt.checkpoint().unwrap_err();
    assert!(e.message().contains("injected"), "{e}");
    drop(fields);
    drop(rt);
    // Recovery replays both logs; the commits from here go to the newest.
    let rt = Runtime::open_with(backend, opts()).unwrap();
    let fields = open_fields(&rt, &mut history);
    assert_eq!(rt.stats().epoch, *history.keys().last().unwrap());
    commit_n(&rt, &fields, &mut work, &mut history, 1);
    saved.push(("one commit into the newest log", files_of(&b)));
    commit_n(&rt, &fields, &mut work, &mut history, 4);
    let last = rt.stats().epoch;
    drop(fields);
    rt.close().unwrap();
    let files = files_of(&b);
    let logs: Vec<&String> = files.keys().filter(|n| n.starts_with("wal-")).collect();
    assert_eq!(logs.len(), 2, "{:?}", files.keys());
    let (older_log, newest_log) = (logs[0].clone(), logs[1].clone());
    for kind in ["SUPERBLOCK", "manifest-", "ckpt-", "seg-"] {
        assert!(
            files.keys().any(|n| n.starts_with(kind)),
            "no {kind} file in {:?}",
            files.keys()
        );
    }
    saved.push(("final", files));
    Built {
        saved,
        history,
        last,
        older_log,
        newest_log,
    }
}

/// One damaged directory.
struct Case {
    /// What was done, for messages.
    what: String,
    /// The file damaged.
    file: String,
    files: Files,
    /// Only "a committed state" is required (the documented exception).
    any_committed: bool,
    /// A missing file the engine must call corruption (not `Io`).
    must_be_corruption: bool,
}

/// The offset just past the last non-zero byte (the end of a log's records).
fn nonzero_end(b: &[u8]) -> usize {
    b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1)
}

/// Header and body offsets to flip in file `name` of `len` bytes.
fn flip_offsets(name: &str, bytes: &[u8]) -> Vec<(&'static str, usize)> {
    let len = bytes.len();
    let mut out: Vec<(&'static str, usize)> = Vec::new();
    if name == "SUPERBLOCK" {
        for o in [0, 16, 24, 508, 512, 528, 536, 1020] {
            out.push(("header", o));
        }
        out.extend([("body", 100), ("body", 700)]);
    } else if name.starts_with("manifest-") {
        out.extend([("header", 0), ("header", 3)]);
        out.extend([("body", len / 3), ("body", len / 2), ("body", len - 2)]);
    } else if name.starts_with("ckpt-") {
        for o in [0, 8, 12, 16, 60] {
            out.push(("header", o));
        }
        out.extend([
            ("body", 64),
            ("body", 70),
            ("body", len / 2),
            ("body", len - 16),
            ("body", len - 1),
        ]);
    } else if name.starts_with("seg-") {
        out.extend([("header", 0), ("header", 8)]);
        let used = nonzero_end(bytes);
        out.extend([
            ("body", used / 3),
            ("body", used / 2),
            ("body", used.saturating_sub(1)),
            ("body", len - 1),
        ]);
    } else if name.starts_with("wal-") {
        for o in [0, 8, 16, 24] {
            out.push(("header", o));
        }
        let end = nonzero_end(bytes);
        out.extend([
            ("body", 32),
            ("body", 40),
            ("body", (32 + end) / 2),
            ("body", end - 1),
            ("body", end + 100),
            ("body", len - 1),
        ]);
    }
    out.retain(|&(_, o)| o < len);
    out
}

/// Every damage case of the built directory.
fn cases(built: &Built, real: bool) -> Vec<Case> {
    let mut files = built.last_files().clone();
    if real {
        files.insert("LOCK".into(), Vec::new());
    }
    let newest = built.newest_log.clone();
    let mut out = Vec::new();
    let mut push = |what: String, file: &str, damaged: Files, exception: bool| {
        let must_be_corruption =
            what == "missing" && (file == "SUPERBLOCK" || file.starts_with("manifest-"));
        out.push(Case {
            what,
            file: file.to_string(),
            files: damaged,
            any_committed: exception,
            must_be_corruption,
        });
    };
    for (name, bytes) in &files {
        let newest_log = *name == newest;
        let mut d = files.clone();
        d.remove(name);
        // A missing newest log: as if the checkpoint that created it never began.
        push("missing".into(), name, d, newest_log);
        if name == "LOCK" {
            let mut d = files.clone();
            d.insert(name.clone(), b"garbage".to_vec());
            push("holding garbage".into(), name, d, false);
            continue;
        }
        let len = bytes.len();
        for (what, to) in [("0", 0), ("half", len / 2), ("one byte short", len - 1)] {
            let mut d = files.clone();
            d.get_mut(name).unwrap().truncate(to);
            // An empty newest log: as if a crash interrupted its creation.
            let exception = newest_log && to < 32;
            push(
                format!("truncated to {what} ({to} bytes)"),
                name,
                d,
                exception,
            );
        }
        for (part, off) in flip_offsets(name, bytes) {
            let mut d = files.clone();
            d.get_mut(name).unwrap()[off] ^= 1 << (off % 8);
            // A damaged record of the newest log: as if its last group was torn.
            let exception = newest_log && part == "body";
            push(
                format!("bit flipped in the {part} at {off}"),
                name,
                d,
                exception,
            );
        }
        // Older copies: the same name earlier in the workload, and for the manifest and the
        // checkpoint (whose names change) the previous one's bytes under the current name.
        let mut seen = vec![bytes.clone()];
        for (when, old) in built.saved.iter().rev() {
            let prefix = name.split('-').next().unwrap();
            let older = old.get(name).cloned().or_else(|| {
                (name.starts_with("manifest-") || name.starts_with("ckpt-"))
                    .then(|| {
                        old.iter()
                            .find(|(n, _)| n.starts_with(prefix) && n.contains('-'))
                            .map(|(_, b)| b.clone())
                    })
                    .flatten()
            });
            let Some(older) = older else { continue };
            if seen.contains(&older) {
                continue;
            }
            seen.push(older.clone());
            let mut d = files.clone();
            d.insert(name.clone(), older);
            // An older copy of the newest log: the documented exception.
            push(format!("replaced by its copy {when}"), name, d, newest_log);
        }
    }
    out
}

/// Checks a runtime opened on a damaged directory: the last acknowledged state (or, for the
/// exception, any committed one), with every query kind; a damaged page may instead surface as
/// `Corruption` from the checkpoint check and from queries that read it, never as a wrong
/// answer.
fn check_opened(rt: &Runtime, built: &Built, case: &Case, ctx: &str) -> Result<(), String> {
    let epoch = rt.stats().epoch;
    if !built.history.contains_key(&epoch) {
        return Err(format!("recovered epoch {epoch}, which no commit produced"));
    }
    if !case.any_committed && epoch != built.last {
        return Err(format!(
            "recovered epoch {epoch}, an older state than the acknowledged {}{}",
            built.last,
            if rt.field_names().is_empty() {
                " (an empty index)"
            } else {
                ""
            }
        ));
    }
    let model = &built.history[&epoch];
    match rt.verify_checkpoint() {
        Ok(_) => {
            catch_unwind(AssertUnwindSafe(|| verify_state(rt, model, ctx))).map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "verify_state panicked".into())
            })?;
        }
        Err(e) if e.kind() == ErrorKind::Corruption => {
            // A damaged page: queries reading it fail with Corruption, the others answer right.
            for (i, (field, d, _)) in FIELDS.iter().enumerate() {
                let Some(f) = rt.get(field).map_err(|e| e.to_string())? else {
                    continue;
                };
                let inf = vec![f64::INFINITY; *d];
                let ninf = vec![f64::NEG_INFINITY; *d];
                match f.search(SearchType::Intersects, &ninf, &inf) {
                    Err(e) if e.kind() == ErrorKind::Corruption => {}
                    Err(e) => return Err(format!("{field}: query failed with {e:?}")),
                    Ok(mut ids) => {
                        ids.sort_unstable();
                        if ids != model.fields[i].search(SearchType::Intersects, &ninf, &inf) {
                            return Err(format!("{field} answered wrong after {e}"));
                        }
                    }
                }
            }
        }
        Err(e) => return Err(format!("verify_checkpoint failed with {e:?}")),
    }
    Ok(())
}

/// Checks a failed open: a clear error naming a file, and the directory unchanged.
fn check_failed(
    e: &xtree::Error,
    case: &Case,
    before: &Files,
    after: &Files,
) -> Result<(), String> {
    let names_a_file = ["SUPERBLOCK", "manifest-", "ckpt-", "seg-", "wal-"]
        .iter()
        .any(|k| e.message().contains(k));
    let kind_ok = match e.kind() {
        ErrorKind::Corruption => true,
        ErrorKind::Io => case.what == "missing" && !case.must_be_corruption,
        _ => false,
    };
    if !kind_ok || !names_a_file {
        return Err(format!("unclear error {:?}: {e}", e.kind()));
    }
    if before != after {
        let changed: Vec<&String> = before
            .keys()
            .chain(after.keys())
            .filter(|n| before.get(*n) != after.get(*n))
            .collect();
        return Err(format!(
            "the failed open ({e}) changed the directory: {changed:?}"
        ));
    }
    Ok(())
}

/// Opens `case` on one backend, returning a failure description.
fn run_case(built: &Built, case: &Case, real: bool) -> Result<(), String> {
    let ctx = format!(
        "{} {} {}",
        if real { "real" } else { "fault" },
        case.file,
        case.what
    );
    let verbose = std::env::var("XTREE_DAMAGE_VERBOSE").is_ok();
    let show = |r: &xtree::Result<Runtime>| {
        if verbose {
            match r {
                Ok(rt) => println!("{ctx}: opened at epoch {}", rt.stats().epoch),
                Err(e) => println!("{ctx}: {:?}: {e}", e.kind()),
            }
        }
    };
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        if real {
            let dir = real_dir(&case.files);
            let before = without_lock(&case.files);
            let r = Runtime::open(dir.path(), opts());
            show(&r);
            match r {
                Ok(rt) => check_opened(&rt, built, case, &ctx),
                Err(e) => check_failed(&e, case, &before, &real_files(dir.path())),
            }
        } else {
            let b = fault_dir(&case.files);
            let r = Runtime::open_with(Arc::new(b.clone()), opts());
            show(&r);
            match r {
                Ok(rt) => check_opened(&rt, built, case, &ctx),
                Err(e) => check_failed(&e, case, &case.files, &files_of(&b)),
            }
        }
    }));
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(m)) => Err(format!("{ctx}: {m}")),
        Err(p) => Err(format!(
            "{ctx}: panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

fn run_all(real: bool) {
    let built = build();
    let cases = cases(&built, real);
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(m) = run_case(&built, case, real) {
            failures.push(m);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} damaged directories handled wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() > 60, "only {} cases", cases.len());
    for log in [&built.older_log, &built.newest_log] {
        assert!(
            cases.iter().any(|c| &c.file == log),
            "no case damages {log}"
        );
    }
}

/// Every kind of damage to every file, on the fault-injecting backend. Fails on the code before
/// the fixes of defects 2 (a missing SUPERBLOCK makes a new empty index, a missing manifest is
/// `Io`) and 3 (a damaged header of the newest log drops its commits).
#[test]
fn damaged_files_give_an_error_or_the_last_acknowledged_state() {
    run_all(false);
}

/// The same on real files (and LOCK), opened with [`Runtime::open`].
#[test]
fn damaged_files_give_an_error_or_the_last_acknowledged_state_on_real_files() {
    run_all(true);
}

/// Pins defect 2: opening a directory that has checkpoints, manifests, segments and logs but no
/// SUPERBLOCK used to initialise a new, empty index and delete the old files. It must be
/// `Corruption` naming what it found, and change nothing.
#[test]
fn a_missing_superblock_is_corruption_not_a_new_index() {
    let built = build();
    let mut files = built.last_files().clone();
    files.remove("SUPERBLOCK");
    let b = fault_dir(&files);
    let e = Runtime::open_with(Arc::new(b.clone()), opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains("SUPERBLOCK"), "{e}");
    assert_eq!(files_of(&b), files, "the open changed the directory");
    // Read-only (fsck) says so too.
    let ro = RuntimeOptions {
        read_only: true,
        ..opts()
    };
    assert!(Runtime::open_with(Arc::new(b.clone()), ro).is_err());
    // The same on real files.
    let dir = real_dir(&files);
    let e = Runtime::open(dir.path(), opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert_eq!(real_files(dir.path()), files);
}

/// Pins defect 2 (second part): the manifest the superblock names is missing. `Corruption`
/// naming it, not an `Io` "not found".
#[test]
fn a_missing_manifest_is_corruption() {
    let built = build();
    let mut files = built.last_files().clone();
    let manifest = files
        .keys()
        .find(|n| n.starts_with("manifest-"))
        .unwrap()
        .clone();
    files.remove(&manifest);
    let b = fault_dir(&files);
    let e = Runtime::open_with(Arc::new(b.clone()), opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains(&manifest), "{e}");
    assert_eq!(files_of(&b), files);
}

/// Only an empty directory or the leftovers of an interrupted creation are initialised: a crash
/// at every sync point of the first open leaves a directory that opens as a new, empty index.
/// (Guards the fix of defect 2 against refusing those.)
#[test]
fn an_interrupted_creation_is_started_over() {
    let b = FaultBackend::new();
    b.record_crash_images(None);
    let rt = Runtime::open_with(Arc::new(b.clone()), opts()).unwrap();
    drop(rt);
    let images = b.take_images();
    assert!(images.len() >= 3, "{} sync points", images.len());
    for (k, image) in images.into_iter().enumerate() {
        let names = image.list().unwrap();
        let rt = Runtime::open_with(Arc::new(image), opts())
            .unwrap_or_else(|e| panic!("crash in sync {} of creation ({names:?}): {e}", k + 1));
        assert_eq!(rt.stats().epoch, 0);
        assert!(rt.field_names().is_empty());
    }
}

/// Pins defect 3: a flipped bit in the header of the newest log (after a rotation) made
/// recovery take it for a log whose creation was interrupted and delete it, dropping
/// acknowledged commits. A log holding records after its header is not unfinished:
/// `Corruption`, and the file stays.
#[test]
fn a_damaged_header_of_the_newest_log_is_corruption_when_it_holds_commits() {
    let built = build();
    for off in [0, 9, 17, 25] {
        let mut files = built.last_files().clone();
        files.get_mut(&built.newest_log).unwrap()[off] ^= 0x10;
        let b = fault_dir(&files);
        match Runtime::open_with(Arc::new(b.clone()), opts()) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corruption, "offset {off}: {e}");
                assert!(e.message().contains(&built.newest_log), "{e}");
            }
            Ok(rt) => panic!(
                "offset {off}: opened at epoch {} of {} acknowledged, files now {:?}",
                rt.stats().epoch,
                built.last,
                b.list().unwrap()
            ),
        }
        assert_eq!(
            files_of(&b),
            files,
            "offset {off}: the open changed the directory"
        );
    }
}

/// The case the engine may ignore: the newest log's header is damaged and nothing follows it
/// (its creation was interrupted). The open gives the state of the last commit, which is in
/// the older log. (Guards the fix of defect 3 against refusing it.)
#[test]
fn a_newest_log_with_a_torn_header_and_nothing_after_it_is_ignored() {
    let b = FaultBackend::new();
    let mut history = History::new();
    history.insert(0, Model::new());
    let rt = Runtime::open_with(Arc::new(b.clone()), opts()).unwrap();
    let fields = open_fields(&rt, &mut history);
    let mut work = Workload::new(3, Model::new());
    commit_n(&rt, &fields, &mut work, &mut history, 4);
    let last = rt.stats().epoch;
    drop(fields);
    rt.close().unwrap();
    // A log created (header torn) after the last one, as a checkpoint interrupted right after
    // creating it would leave it (the manifest still names the older log).
    let mut files = files_of(&b);
    let older = files
        .keys()
        .find(|n| n.starts_with("wal-"))
        .unwrap()
        .clone();
    let seq = xtree::engine::wal::parse_name(&older).unwrap();
    let mut header = files[&older][..32].to_vec();
    header[16..24].copy_from_slice(&(seq + 1).to_le_bytes());
    header[3] ^= 1;
    header.resize(64 << 10, 0);
    files.insert(xtree::engine::wal::file_name(seq + 1), header);
    let b = fault_dir(&files);
    let rt = Runtime::open_with(Arc::new(b), opts()).unwrap();
    assert_eq!(rt.stats().epoch, last);
    verify_state(&rt, &history[&last], "torn header of an empty newest log");
}

/// Pins defect 6: with LOCK deleted while a runtime has the directory open, a second writer
/// must still be refused (it used to create a new LOCK file, lock that, and get in).
#[test]
fn a_second_writer_is_refused_after_lock_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(dir.path(), opts()).unwrap();
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    let second = Runtime::open(dir.path(), opts());
    match second {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Io, "{e}"),
        Ok(_) => panic!("a second writer opened the directory after LOCK was deleted"),
    }
    rt.close().unwrap();
}
