//! Checkpoints that overlap other work, forced deterministically through a backend that pauses
//! chosen calls: two checkpoints at once, close while a checkpoint fails, the EVENTUAL sync
//! while a slow checkpoint runs. Each test pins a defect of issue 7 (see its doc comment).

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xtree::engine::backend::{Backend, BackendFile, Fault, FaultBackend};
use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

type Hook = dyn Fn(&str, &str) + Send + Sync;

/// A backend that calls `hook(op, file)` before every call it passes on to `inner` (ops:
/// "open", "list", "rename", "remove", "sync_dir", "write", "sync", "set_len"). The hook may
/// block to hold the caller at that point.
struct HookBackend {
    inner: FaultBackend,
    hook: Arc<Hook>,
}

struct HookFile {
    name: String,
    inner: Arc<dyn BackendFile>,
    hook: Arc<Hook>,
}

impl BackendFile for HookFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> xtree::Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> xtree::Result<()> {
        (self.hook)("write", &self.name);
        self.inner.write_at(offset, buf)
    }
    fn sync(&self) -> xtree::Result<()> {
        (self.hook)("sync", &self.name);
        self.inner.sync()
    }
    fn size(&self) -> xtree::Result<u64> {
        self.inner.size()
    }
    fn set_len(&self, len: u64) -> xtree::Result<()> {
        (self.hook)("set_len", &self.name);
        self.inner.set_len(len)
    }
}

impl Backend for HookBackend {
    fn open(&self, name: &str, create: bool) -> xtree::Result<Arc<dyn BackendFile>> {
        (self.hook)("open", name);
        Ok(Arc::new(HookFile {
            name: name.to_string(),
            inner: self.inner.open(name, create)?,
            hook: self.hook.clone(),
        }))
    }
    fn exists(&self, name: &str) -> xtree::Result<bool> {
        self.inner.exists(name)
    }
    fn rename(&self, from: &str, to: &str) -> xtree::Result<()> {
        (self.hook)("rename", to);
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> xtree::Result<()> {
        (self.hook)("remove", name);
        self.inner.remove(name)
    }
    fn list(&self) -> xtree::Result<Vec<String>> {
        (self.hook)("list", ".");
        self.inner.list()
    }
    fn sync_dir(&self) -> xtree::Result<()> {
        (self.hook)("sync_dir", ".");
        self.inner.sync_dir()
    }
}

fn options() -> IndexOptions {
    let mut o = IndexOptions::new(2, 64, vec!["x".into(), "y".into()]);
    o.node_size = 512;
    o
}

fn opts(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        durability,
        background_checkpoints: false,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    }
}

/// Waits until `cond` holds or `limit` passes; returns whether it held.
fn wait_for(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

fn newest_manifest(b: &FaultBackend) -> u64 {
    b.list()
        .unwrap()
        .iter()
        .filter_map(|n| xtree::engine::manifest::parse_name(n))
        .max()
        .unwrap_or(0)
}

/// Pins issue 7, defect 1: a checkpoint released the checkpoint lock before removing the
/// files the new state does not need, and that clean-up deleted every temporary file and
/// every checkpoint and manifest but its own. A second checkpoint in that gap lost its files:
/// both calls returned Ok and the directory no longer opened ("manifest … not found"), or the
/// second was poisoned by its own vanished `.tmp` file. Here the first checkpoint's clean-up is
/// held (at its directory listing) until the second has written its manifest — which, with
/// checkpoints serialised, it cannot do: the hold times out and the second runs after.
#[test]
fn a_second_checkpoint_during_the_first_ones_clean_up_keeps_its_files() {
    let fault = FaultBackend::new();
    let armed = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicBool::new(false));
    let hook: Arc<Hook> = {
        let (fault, armed, held) = (fault.clone(), armed.clone(), held.clone());
        Arc::new(move |op: &str, _name: &str| {
            if op == "list" && armed.swap(false, Ordering::AcqRel) {
                held.store(true, Ordering::Release);
                let before = newest_manifest(&fault);
                wait_for(Duration::from_millis(1500), || {
                    newest_manifest(&fault) > before
                });
            }
        })
    };
    let b = Arc::new(HookBackend {
        inner: fault.clone(),
        hook,
    });
    let rt = Runtime::open_with(b.clone(), opts(Durability::Strict)).unwrap();
    let f = rt.field("p", options()).unwrap();
    for i in 0..200u64 {
        f.insert_point(i, &[i as f64, (i * 7 % 100) as f64])
            .unwrap();
    }
    rt.commit().unwrap();
    let rt = Arc::new(rt);
    armed.store(true, Ordering::Release);
    let first = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.checkpoint())
    };
    assert!(wait_for(Duration::from_secs(10), || held.load(Ordering::Acquire)));
    f.insert_point(1000, &[5.0, 5.0]).unwrap();
    let last = rt.commit().unwrap();
    let second = rt.checkpoint();
    let first = first.join().unwrap();
    assert!(first.unwrap(), "the first checkpoint");
    assert!(second.unwrap(), "the second checkpoint");
    assert_eq!(rt.poisoned(), None);
    drop(f);
    let rt = Arc::try_unwrap(rt).unwrap();
    rt.close().unwrap();
    let rt = Runtime::open_with(Arc::new(fault.clone()), opts(Durability::Strict))
        .unwrap_or_else(|e| panic!("reopen after two checkpoints: {e}"));
    assert_eq!(rt.stats().epoch, last);
    assert_eq!(rt.stats().checkpoint_epoch, last);
    assert_eq!(rt.get("p").unwrap().unwrap().len().unwrap(), 201);
    rt.verify_checkpoint().unwrap();
}

/// Many threads checkpoint at once, with commits between and the background coordinator on
/// a one-commit trigger: every call succeeds or reports that nothing needed checkpointing, and
/// the directory reopens at the last commit (the class of defect 1, unforced).
#[test]
fn concurrent_explicit_and_background_checkpoints_keep_the_directory_openable() {
    for round in 0..5u64 {
        let fault = FaultBackend::new();
        let o = RuntimeOptions {
            background_checkpoints: true,
            checkpoint_epochs: Some(1),
            ..opts(Durability::Balanced)
        };
        let rt = Arc::new(Runtime::open_with(Arc::new(fault.clone()), o.clone()).unwrap());
        let f = rt.field("p", options()).unwrap();
        let next = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (rt, f, next) = (rt.clone(), f.clone(), next.clone());
                std::thread::spawn(move || {
                    for i in 0..30u64 {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        f.insert_point(id, &[(id % 97) as f64, (id % 89) as f64])
                            .unwrap();
                        rt.commit().unwrap();
                        if (i + t) % 3 == 0 {
                            rt.checkpoint().unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let last = rt.commit().unwrap();
        drop(f);
        let rt = Arc::try_unwrap(rt).unwrap();
        rt.close().unwrap();
        let rt = Runtime::open_with(Arc::new(fault), o)
            .unwrap_or_else(|e| panic!("round {round}: reopen: {e}"));
        assert_eq!(rt.stats().epoch, last, "round {round}");
        assert_eq!(rt.get("p").unwrap().unwrap().len().unwrap(), 120);
        rt.verify_checkpoint().unwrap();
    }
}

/// Pins issue 7, defect 4: `close()` checkpointed a runtime that a failing checkpoint poisoned
/// while close waited for the checkpoint lock, reusing that checkpoint's manifest generation
/// and slots (had its superblock write reached the disk, the directory would not open). A
/// poisoned runtime's close must write nothing. Here a checkpoint is held at its superblock
/// write while another thread closes, then its superblock sync fails.
#[test]
fn close_waiting_for_a_failing_checkpoint_writes_nothing() {
    let fault = FaultBackend::new();
    let armed = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let writes_after = Arc::new(Mutex::new(Vec::<String>::new()));
    let poisoned = Arc::new(AtomicBool::new(false));
    let hook: Arc<Hook> = {
        let (fault, armed, held, release) =
            (fault.clone(), armed.clone(), held.clone(), release.clone());
        let (writes_after, poisoned) = (writes_after.clone(), poisoned.clone());
        Arc::new(move |op: &str, name: &str| {
            if poisoned.load(Ordering::Acquire)
                && matches!(op, "write" | "rename" | "remove" | "set_len" | "open")
            {
                writes_after.lock().unwrap().push(format!("{op} {name}"));
            }
            if op == "write" && name == "SUPERBLOCK" && armed.swap(false, Ordering::AcqRel) {
                held.store(true, Ordering::Release);
                wait_for(Duration::from_secs(10), || release.load(Ordering::Acquire));
                // The write goes through (reaches the disk), its sync fails.
                fault.fail_at(2, Fault::Eio);
            }
        })
    };
    let b = Arc::new(HookBackend {
        inner: fault.clone(),
        hook,
    });
    let o = RuntimeOptions {
        checkpoint_on_close: true,
        ..opts(Durability::Strict)
    };
    let rt = Arc::new(Runtime::open_with(b, o).unwrap());
    let f = rt.field("p", options()).unwrap();
    for i in 0..100u64 {
        f.insert_point(i, &[i as f64, 1.0]).unwrap();
    }
    rt.commit().unwrap();
    drop(f);
    armed.store(true, Ordering::Release);
    let ckpt = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.checkpoint())
    };
    assert!(wait_for(Duration::from_secs(10), || held.load(Ordering::Acquire)));
    let closer = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.close())
    };
    // Give close the time to reach the checkpoint lock (it cannot get past it).
    std::thread::sleep(Duration::from_millis(300));
    poisoned.store(true, Ordering::Release);
    release.store(true, Ordering::Release);
    let e = ckpt.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    closer.join().unwrap().unwrap();
    let after = writes_after.lock().unwrap().clone();
    // The failing checkpoint's own superblock write is the only write after the release.
    assert!(
        after.iter().all(|w| w == "write SUPERBLOCK"),
        "close of a poisoned runtime wrote: {after:?}"
    );
    assert!(rt.poisoned().is_some());
    // A power cut now: the directory opens at the last commit.
    let rt2 = Runtime::open_with(Arc::new(fault.crash(None)), opts(Durability::Strict)).unwrap();
    assert_eq!(rt2.get("p").unwrap().unwrap().len().unwrap(), 100);
}

/// Pins issue 7, defect 5: one background thread did both the EVENTUAL log sync and the
/// checkpoints, so no commit became durable while a checkpoint ran (a test with slow segment
/// writes lost 290 acknowledged commits in a 1.5 s window). Here the background checkpoint's
/// segment sync takes 1.5 s while a committer goes on: the log must be synced many times
/// meanwhile, and a power cut in the middle loses at most the last interval's commits.
#[test]
fn eventual_syncs_go_on_while_a_background_checkpoint_runs() {
    let fault = FaultBackend::new();
    let in_seg_sync = Arc::new(AtomicBool::new(false));
    let log_syncs = Arc::new(AtomicU64::new(0));
    let hook: Arc<Hook> = {
        let (in_seg_sync, log_syncs) = (in_seg_sync.clone(), log_syncs.clone());
        Arc::new(move |op: &str, name: &str| {
            if op == "sync" && name.starts_with("wal-") {
                log_syncs.fetch_add(1, Ordering::AcqRel);
            }
            if op == "sync" && name.starts_with("seg-") {
                in_seg_sync.store(true, Ordering::Release);
                std::thread::sleep(Duration::from_millis(1500));
                in_seg_sync.store(false, Ordering::Release);
            }
        })
    };
    let o = RuntimeOptions {
        durability: Durability::Eventual,
        sync_interval: Duration::from_millis(50),
        background_checkpoints: true,
        checkpoint_epochs: Some(50),
        checkpoint_interval: None,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open_with(
        Arc::new(HookBackend {
            inner: fault.clone(),
            hook,
        }),
        o,
    )
    .unwrap();
    let f = rt.field("p", options()).unwrap();
    let mut id = 0u64;
    let mut commit = |rt: &Runtime| {
        f.insert_point(id, &[(id % 101) as f64, (id % 103) as f64])
            .unwrap();
        id += 1;
        rt.commit().unwrap()
    };
    // Commit until the background checkpoint is in its slow segment sync.
    let start = Instant::now();
    while !in_seg_sync.load(Ordering::Acquire) {
        commit(&rt);
        assert!(start.elapsed() < Duration::from_secs(20), "no checkpoint");
    }
    // (Counted by the backend: `stats` is no measure here, it waited for checkpoints once.)
    let syncs_before = log_syncs.load(Ordering::Acquire);
    // Commit for 0.7 s of the checkpoint, remembering when each commit was acknowledged.
    let mut acked = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(700) {
        acked.push((Instant::now(), commit(&rt)));
        std::thread::sleep(Duration::from_micros(200));
    }
    let image = fault.crash(None);
    let taken = Instant::now();
    let syncs = log_syncs.load(Ordering::Acquire) - syncs_before;
    assert!(
        in_seg_sync.load(Ordering::Acquire),
        "the checkpoint was still syncing its segment file"
    );
    assert!(
        syncs >= 3,
        "{syncs} log syncs during 0.7 s of a checkpoint (interval 50 ms)"
    );
    drop(f);
    drop(rt);
    let recovered = Runtime::open_with(Arc::new(image), opts(Durability::Strict)).unwrap();
    let epoch = recovered.stats().epoch;
    // Generous slack: every commit acknowledged 400 ms before the power cut was synced.
    let must = acked
        .iter()
        .filter(|(at, _)| taken.duration_since(*at) > Duration::from_millis(400))
        .map(|&(_, e)| e)
        .max()
        .unwrap_or(0);
    assert!(
        epoch >= must,
        "recovered epoch {epoch}, but {must} was acknowledged 400 ms before the power cut"
    );
    let p = recovered.get("p").unwrap().unwrap();
    assert_eq!(
        p.count(
            SearchType::Intersects,
            &[f64::NEG_INFINITY; 2],
            &[f64::INFINITY; 2]
        )
        .unwrap(),
        p.len().unwrap()
    );
}

/// Pins issue 7, defect 3: after a rotation the newest log holds acknowledged commits — here a
/// checkpoint rotated the log, 50 STRICT commits went to the new log while it wrote its pages,
/// and the power failed before its superblock switch. Recovery took a newest log with a
/// damaged header for a log whose creation was interrupted and deleted it (reopen at 100
/// records instead of 150). Only a log with nothing but zeros after its header may be taken
/// for that; any other is `Corruption`, and is kept.
#[test]
fn a_damaged_header_of_the_newest_log_is_corruption_when_it_holds_commits() {
    let fault = FaultBackend::new();
    let armed = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let hook: Arc<Hook> = {
        let (armed, held, release) = (armed.clone(), held.clone(), release.clone());
        Arc::new(move |op: &str, name: &str| {
            if op == "write" && name.starts_with("seg-") && armed.swap(false, Ordering::AcqRel) {
                held.store(true, Ordering::Release);
                wait_for(Duration::from_secs(10), || release.load(Ordering::Acquire));
            }
        })
    };
    let rt = Arc::new(
        Runtime::open_with(
            Arc::new(HookBackend {
                inner: fault.clone(),
                hook,
            }),
            opts(Durability::Strict),
        )
        .unwrap(),
    );
    let f = rt.field("m", options()).unwrap();
    for i in 0..100u64 {
        f.insert_point(i, &[i as f64, 2.0]).unwrap();
    }
    rt.commit().unwrap();
    armed.store(true, Ordering::Release);
    let ckpt = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.checkpoint())
    };
    assert!(wait_for(Duration::from_secs(10), || held.load(Ordering::Acquire)));
    for i in 100..150u64 {
        f.insert_point(i, &[i as f64, 3.0]).unwrap();
        rt.commit().unwrap();
    }
    let image = fault.crash(None);
    release.store(true, Ordering::Release);
    ckpt.join().unwrap().unwrap();
    let logs: Vec<String> = image
        .list()
        .unwrap()
        .into_iter()
        .filter(|n| xtree::engine::wal::parse_name(n).is_some())
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    let newest = logs.iter().max().unwrap().clone();
    // The image as it is recovers every acknowledged commit.
    let ok = Runtime::open_with(Arc::new(image.crash(None)), opts(Durability::Strict)).unwrap();
    assert_eq!(ok.get("m").unwrap().unwrap().len().unwrap(), 150);
    drop(ok);
    // With one bit of the newest log's header flipped it is damage, not an unfinished log.
    let damaged = image.crash(None);
    assert!(damaged.flip(&newest, 3, 4));
    let before = damaged.contents(&newest).unwrap();
    let e = Runtime::open_with(Arc::new(damaged.clone()), opts(Durability::Strict)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corruption, "{e}");
    assert!(e.message().contains(&newest), "{e}");
    assert_eq!(
        damaged.contents(&newest).unwrap(),
        before,
        "the log is kept"
    );
    // A newest log with zeros after a damaged header is an interrupted creation: it holds
    // nothing, and recovery starts it over.
    let unfinished = image.crash(None);
    let len = unfinished.contents(&newest).unwrap().len();
    let file = unfinished.open(&newest, false).unwrap();
    file.write_at(0, &[0xee; 8]).unwrap();
    file.write_at(32, &vec![0u8; len - 32]).unwrap();
    let rt = Runtime::open_with(Arc::new(unfinished), opts(Durability::Strict)).unwrap();
    assert_eq!(rt.get("m").unwrap().unwrap().len().unwrap(), 100);
}
