//! Races of the durable runtime made deterministic: a backend wrapper stops a chosen call of a
//! chosen thread (a checkpoint's clean-up listing, a checkpoint's temporary file) until the
//! test lets it go, so that another thread can act in exactly the gap a defect needs. Each test
//! pins one defect; the randomised `concurrent_crash` test finds the same ones by chance.
//!
//! Waits for "another thread has had time to block" are short sleeps that can only make a test
//! pass vacuously when the machine is slow, never fail it spuriously; the one liveness bound
//! (EVENTUAL syncs during a checkpoint) is 400 sync intervals.

#[path = "common/mod.rs"]
mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use xtree::engine::backend::{Backend, BackendFile, FaultBackend};
use xtree::{Durability, ErrorKind, IndexOptions, Runtime, RuntimeOptions, SearchType};

/// A call a [`Hook`] stops: the first call of kind `op` ("open", "rename", "list") whose file
/// name satisfies `name`, made by the thread called `thread` (any thread if None), once armed.
struct Trap {
    op: &'static str,
    name: fn(&str) -> bool,
    thread: Option<&'static str>,
    /// Fail the call (with `Io`) when released, instead of letting it proceed.
    fail: bool,
    state: Mutex<TrapState>,
    cv: Condvar,
}

#[derive(Default)]
struct TrapState {
    armed: bool,
    reached: bool,
    released: bool,
}

impl Trap {
    fn new(
        op: &'static str,
        name: fn(&str) -> bool,
        thread: Option<&'static str>,
        fail: bool,
    ) -> Arc<Trap> {
        Arc::new(Trap {
            op,
            name,
            thread,
            fail,
            state: Mutex::new(TrapState {
                armed: true,
                ..TrapState::default()
            }),
            cv: Condvar::new(),
        })
    }

    /// Stops the caller if this is the trapped call; returns whether to fail it.
    fn hit(&self, op: &str, name: &str) -> bool {
        if op != self.op || !(self.name)(name) {
            return false;
        }
        if self
            .thread
            .is_some_and(|t| thread::current().name() != Some(t))
        {
            return false;
        }
        let mut s = self.state.lock().unwrap();
        if !s.armed {
            return false;
        }
        s.armed = false;
        s.reached = true;
        self.cv.notify_all();
        while !s.released {
            s = self.cv.wait(s).unwrap();
        }
        self.fail
    }

    /// Waits until the trapped call is reached, at most `limit`; returns whether it was.
    fn wait_reached(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut s = self.state.lock().unwrap();
        while !s.reached {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = self.cv.wait_timeout(s, left).unwrap().0;
        }
        true
    }

    /// Lets the trapped call go (now, or as soon as it is reached).
    fn release(&self) {
        self.state.lock().unwrap().released = true;
        self.cv.notify_all();
    }
}

/// A [`FaultBackend`] whose calls can be stopped by [`Trap`]s.
struct Hook {
    inner: FaultBackend,
    traps: Vec<Arc<Trap>>,
}

impl Hook {
    fn check(&self, op: &str, name: &str) -> xtree::Result<()> {
        for t in &self.traps {
            if t.hit(op, name) {
                return Err(xtree::Error::new(
                    ErrorKind::Io,
                    format!("{op} {name}: injected failure"),
                ));
            }
        }
        Ok(())
    }
}

impl Backend for Hook {
    fn open(&self, name: &str, create: bool) -> xtree::Result<Arc<dyn BackendFile>> {
        self.check("open", name)?;
        self.inner.open(name, create)
    }
    fn exists(&self, name: &str) -> xtree::Result<bool> {
        self.inner.exists(name)
    }
    fn rename(&self, from: &str, to: &str) -> xtree::Result<()> {
        self.check("rename", from)?;
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> xtree::Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> xtree::Result<Vec<String>> {
        self.check("list", ".")?;
        self.inner.list()
    }
    fn sync_dir(&self) -> xtree::Result<()> {
        self.inner.sync_dir()
    }
}

fn opts(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        durability,
        background_checkpoints: false,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    }
}

fn geo() -> IndexOptions {
    let mut o = IndexOptions::new(2, 64, common::labels(2));
    o.node_size = 512;
    o
}

fn ckpt_tmp(name: &str) -> bool {
    name.starts_with("ckpt-") && name.ends_with(".xtc.tmp")
}

fn any(_: &str) -> bool {
    true
}

/// All row ids of field "geo" of a recovered `b` (a fresh copy of its durable image).
fn recovered(b: &FaultBackend) -> xtree::Result<(u64, Vec<u64>)> {
    let rt = Runtime::open_with(Arc::new(b.crash(None)), opts(Durability::Strict))?;
    let epoch = rt.stats().epoch;
    let ids = match rt.get("geo")? {
        Some(f) => {
            let mut ids = f.search(
                SearchType::Intersects,
                &[f64::NEG_INFINITY; 2],
                &[f64::INFINITY; 2],
            )?;
            ids.sort_unstable();
            ids
        }
        None => Vec::new(),
    };
    Ok((epoch, ids))
}

fn spawn<T: Send + 'static>(
    name: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::Builder::new().name(name.into()).spawn(f).unwrap()
}

/// Pins defect 1: `checkpoint_inner` released the checkpoint lock before `remove_garbage`,
/// which deletes every checkpoint and manifest but its own. Checkpoint A stops in its clean-up
/// listing; checkpoint B runs whole; A's clean-up then deleted B's checkpoint and manifest,
/// both calls returned Ok, and the directory no longer opened ("open manifest-…: not found").
#[test]
fn a_checkpoint_clean_up_does_not_delete_a_later_checkpoint() {
    let b = FaultBackend::new();
    let list = Trap::new("list", any, Some("checkpoint-a"), false);
    let hook = Arc::new(Hook {
        inner: b.clone(),
        traps: vec![list.clone()],
    });
    let rt = Arc::new(Runtime::open_with(hook, opts(Durability::Strict)).unwrap());
    let f = rt.field("geo", geo()).unwrap();
    f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    let a = {
        let rt = rt.clone();
        spawn("checkpoint-a", move || rt.checkpoint())
    };
    assert!(
        list.wait_reached(Duration::from_secs(10)),
        "checkpoint A never cleaned up"
    );
    f.insert(2, &[2.0, 2.0], &[3.0, 3.0]).unwrap();
    let last = rt.commit().unwrap();
    let bthread = {
        let rt = rt.clone();
        spawn("checkpoint-b", move || rt.checkpoint())
    };
    // B runs whole unless a fix makes it wait for A's clean-up.
    let deadline = Instant::now() + Duration::from_millis(300);
    while !bthread.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    list.release();
    assert!(a.join().unwrap().unwrap(), "checkpoint A");
    bthread.join().unwrap().unwrap();
    assert!(rt.poisoned().is_none(), "{:?}", rt.poisoned());
    drop(f);
    rt.close().unwrap();
    let files = b.list().unwrap();
    let (epoch, ids) =
        recovered(&b).unwrap_or_else(|e| panic!("the directory does not open: {e} ({files:?})"));
    assert_eq!((epoch, ids), (last, vec![1, 2]));
}

/// Pins defect 1 (the spurious poisoning): checkpoint A stops in its clean-up listing while
/// checkpoint B has written its checkpoint file under its temporary name; A's clean-up deleted
/// B's `.tmp`, B's rename failed, and the runtime was poisoned with no fault at all.
#[test]
fn a_checkpoint_clean_up_does_not_delete_a_running_checkpoints_files() {
    let b = FaultBackend::new();
    let list = Trap::new("list", any, Some("checkpoint-a"), false);
    let rename = Trap::new("rename", ckpt_tmp, Some("checkpoint-b"), false);
    let hook = Arc::new(Hook {
        inner: b.clone(),
        traps: vec![list.clone(), rename.clone()],
    });
    let rt = Arc::new(Runtime::open_with(hook, opts(Durability::Strict)).unwrap());
    let f = rt.field("geo", geo()).unwrap();
    f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    let a = {
        let rt = rt.clone();
        spawn("checkpoint-a", move || rt.checkpoint())
    };
    assert!(list.wait_reached(Duration::from_secs(10)));
    f.insert(2, &[2.0, 2.0], &[3.0, 3.0]).unwrap();
    let last = rt.commit().unwrap();
    let bthread = {
        let rt = rt.clone();
        spawn("checkpoint-b", move || rt.checkpoint())
    };
    // B stops before renaming its checkpoint file, unless a fix makes it wait for A.
    rename.wait_reached(Duration::from_millis(300));
    list.release();
    let ra = a.join().unwrap();
    rename.release();
    let rb = bthread.join().unwrap();
    assert!(rt.poisoned().is_none(), "poisoned: {:?}", rt.poisoned());
    ra.unwrap();
    rb.unwrap();
    drop(f);
    rt.close().unwrap();
    assert_eq!(recovered(&b).unwrap(), (last, vec![1, 2]));
}

/// Pins defect 4: `close()` checked for poisoning before it waited for the checkpoint lock, so
/// a checkpoint failing while close waited left close to checkpoint a poisoned runtime anyway.
/// Checkpoint A stops at its checkpoint file and then fails; close, waiting meanwhile, must not
/// write a checkpoint after that failure.
#[test]
fn close_does_not_checkpoint_a_runtime_poisoned_while_it_waited() {
    let b = FaultBackend::new();
    let trap = Trap::new("open", ckpt_tmp, Some("checkpoint-a"), true);
    let hook = Arc::new(Hook {
        inner: b.clone(),
        traps: vec![trap.clone()],
    });
    let o = RuntimeOptions {
        checkpoint_on_close: true,
        ..opts(Durability::Strict)
    };
    let rt = Arc::new(Runtime::open_with(hook, o).unwrap());
    let f = rt.field("geo", geo()).unwrap();
    f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    let last = rt.commit().unwrap();
    drop(f);
    let a = {
        let rt = rt.clone();
        spawn("checkpoint-a", move || rt.checkpoint())
    };
    assert!(trap.wait_reached(Duration::from_secs(10)));
    let closer = {
        let rt = rt.clone();
        spawn("closer", move || rt.close())
    };
    // Let close reach the checkpoint lock, then fail A's checkpoint.
    thread::sleep(Duration::from_millis(200));
    trap.release();
    let e = a.join().unwrap().unwrap_err();
    assert!(e.message().contains("injected"), "{e}");
    let _ = closer.join().unwrap();
    assert!(rt.poisoned().is_some());
    let files = b.list().unwrap();
    assert!(
        !files.iter().any(|n| n.starts_with("ckpt-")),
        "close checkpointed a poisoned runtime: {files:?}"
    );
    assert_eq!(recovered(&b).unwrap(), (last, vec![1]));
}

/// Pins defect 5: under EVENTUAL one background thread both synced the log and ran the
/// checkpoints, so no commit became durable while a checkpoint ran. The background checkpoint
/// is stopped at its checkpoint file; a commit made meanwhile must become durable within 400
/// sync intervals (2 s).
#[test]
fn eventual_commits_become_durable_while_a_checkpoint_runs() {
    let b = FaultBackend::new();
    // Only background checkpoints run here, on whichever thread the runtime uses.
    let trap = Trap::new("open", ckpt_tmp, None, false);
    let hook = Arc::new(Hook {
        inner: b.clone(),
        traps: vec![trap.clone()],
    });
    let o = RuntimeOptions {
        durability: Durability::Eventual,
        sync_interval: Duration::from_millis(5),
        background_checkpoints: true,
        checkpoint_epochs: Some(2),
        checkpoint_interval: None,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open_with(hook, o).unwrap();
    let f = rt.field("geo", geo()).unwrap();
    f.insert(1, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    rt.commit().unwrap();
    assert!(
        trap.wait_reached(Duration::from_secs(10)),
        "the background checkpoint did not start"
    );
    f.insert(2, &[2.0, 2.0], &[3.0, 3.0]).unwrap();
    let e = rt.commit().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut durable = false;
    while Instant::now() < deadline {
        if recovered(&b).is_ok_and(|(epoch, _)| epoch >= e) {
            durable = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    trap.release();
    drop(f);
    rt.close().unwrap();
    assert!(
        durable,
        "EVENTUAL commit {e} was not synced in 2 s while a checkpoint ran"
    );
}

/// New finding (not among defects 1–6): under BALANCED, a commit whose writes another thread's
/// commit already took has nothing pending and returns that commit's epoch as soon as it is
/// durable, possibly before the other thread has published it, so a read right after the
/// acknowledged commit may not see the caller's own write ("visible to new readers from then
/// on" fails). Two threads insert and commit in a loop, each checking it sees its own row.
#[test]
fn a_balanced_commit_is_visible_when_it_returns() {
    let b = FaultBackend::new();
    b.set_jitter(2);
    let rt = Arc::new(Runtime::open_with(Arc::new(b), opts(Durability::Balanced)).unwrap());
    let f = rt.field("geo", geo()).unwrap();
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let (rt, f) = (rt.clone(), f.clone());
            thread::spawn(move || -> Option<String> {
                for i in 0..3000u64 {
                    let row = t << 32 | i;
                    let x = (i % 500) as f64;
                    f.insert(row, &[x, x], &[x, x]).unwrap();
                    // Let another thread's commit take this write.
                    thread::yield_now();
                    let epoch = rt.commit().unwrap();
                    let snap = rt.snapshot().unwrap();
                    if snap.epoch() < epoch {
                        return Some(format!(
                            "thread {t}: commit returned epoch {epoch}, a new snapshot shows {}",
                            snap.epoch()
                        ));
                    }
                    let seen = snap
                        .field("geo")
                        .unwrap()
                        .search(SearchType::Intersects, &[x, x], &[x, x])
                        .unwrap();
                    if !seen.contains(&row) {
                        return Some(format!("thread {t}: row {row} invisible after its commit"));
                    }
                }
                None
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}
