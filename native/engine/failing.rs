//! A backend that fails chosen calls of another, real one: [`FailingBackend`] wraps any
//! [`Backend`] (normally the [`super::backend::StdBackend`] of a data directory, through
//! [`super::Runtime::open_dir_with`]) and makes the N-th fsync and/or the N-th write fail with
//! EIO or ENOSPC, as a failing disk would.
//!
//! [`super::backend::FaultBackend`] simulates a whole disk in memory (crash images, every call
//! site); this wrapper keeps the real files, so a test (in Java, through `dev.xtree.FaultPlan`)
//! can drive a real data directory into a failed fsync and then reopen it normally.
//!
//! - Calls are counted across every file of the backend with atomic counters held by a
//!   [`FaultPlan`], which the test keeps a clone of to read the counts and what was injected.
//! - `sync` of a file and `sync_dir` count as fsyncs; `write_at` counts as a write. Reads,
//!   opens, renames, removals, listings, truncations and maps pass through uncounted.
//! - Each planned failure fires once. Every call after it goes through to the real disk again
//!   (a disk that recovered), so a test that sees later writes refused proves that the runtime's
//!   poisoning refused them, not the disk. A failed write writes nothing; a failed fsync leaves
//!   the bytes written before it in the file (as the page cache would), without syncing them.
//! - Every method of the two traits is forwarded explicitly, `data_end` included: a method added to
//!   them later must be forwarded here too, or the wrapper would silently use its default.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::backend::{io_error, Backend, BackendFile, Fault};
use crate::error::Result;

#[derive(Default)]
struct PlanState {
    fail_sync: Option<(u64, Fault)>,
    fail_write: Option<(u64, Fault)>,
    syncs: AtomicU64,
    writes: AtomicU64,
    injected: Mutex<Vec<String>>,
}

/// Which calls of a [`FailingBackend`] fail, and the counts of calls so far. Cheap to clone:
/// clones share the plan and the counters, so the test keeps one and gives another to the
/// backend.
#[derive(Clone)]
pub struct FaultPlan {
    state: Arc<PlanState>,
}

impl FaultPlan {
    /// A plan failing the `n`-th fsync with `fault` when `sync` is `Some((n, fault))` (1 = the
    /// first, counted over every file and the directory), and likewise the `n`-th write for
    /// `write`. `None`, or `n` = 0, fails no call of that kind.
    pub fn new(sync: Option<(u64, Fault)>, write: Option<(u64, Fault)>) -> FaultPlan {
        FaultPlan {
            state: Arc::new(PlanState {
                fail_sync: sync,
                fail_write: write,
                ..PlanState::default()
            }),
        }
    }

    /// A plan that fails nothing and only counts.
    pub fn counting() -> FaultPlan {
        FaultPlan::new(None, None)
    }

    /// Fsyncs (of files and of the directory) made so far, failed ones included.
    pub fn syncs(&self) -> u64 {
        self.state.syncs.load(Ordering::SeqCst)
    }

    /// Writes made so far, failed ones included.
    pub fn writes(&self) -> u64 {
        self.state.writes.load(Ordering::SeqCst)
    }

    /// The messages of the failures injected so far, in order (at most one per kind of call).
    pub fn injected(&self) -> Vec<String> {
        self.state.injected.lock().clone()
    }

    /// Counts one fsync (`sync`) or write and fails it when it is the planned one.
    fn tick(&self, sync: bool, op: &str, name: &str) -> Result<()> {
        let s = &self.state;
        let (counter, plan) = if sync {
            (&s.syncs, s.fail_sync)
        } else {
            (&s.writes, s.fail_write)
        };
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        match plan {
            Some((at, fault)) if at == n => {
                let e = io_error(op, name, os_error(fault));
                s.injected.lock().push(e.message().to_string());
                Err(e)
            }
            _ => Ok(()),
        }
    }
}

/// The operating system's error for `fault`.
fn os_error(fault: Fault) -> io::Error {
    const EIO: i32 = 5;
    const ENOSPC: i32 = 28;
    io::Error::from_raw_os_error(match fault {
        Fault::Eio => EIO,
        Fault::NoSpace => ENOSPC,
    })
}

/// A [`Backend`] whose calls go to `B`, except the ones its [`FaultPlan`] fails (see the module
/// documentation).
pub struct FailingBackend<B> {
    inner: B,
    plan: FaultPlan,
}

impl<B: Backend> FailingBackend<B> {
    /// Wraps `inner`, failing the calls `plan` names and counting every fsync and write in it.
    pub fn new(inner: B, plan: FaultPlan) -> FailingBackend<B> {
        FailingBackend { inner, plan }
    }

    /// The plan (a clone sharing the counters).
    pub fn plan(&self) -> FaultPlan {
        self.plan.clone()
    }
}

struct FailingFile {
    name: String,
    inner: Arc<dyn BackendFile>,
    plan: FaultPlan,
}

impl BackendFile for FailingFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.plan.tick(false, "write", &self.name)?;
        self.inner.write_at(offset, buf)
    }
    fn sync(&self) -> Result<()> {
        self.plan.tick(true, "fsync", &self.name)?;
        self.inner.sync()
    }
    fn size(&self) -> Result<u64> {
        self.inner.size()
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.inner.set_len(len)
    }
    fn data_end(&self, from: u64, to: u64) -> Result<u64> {
        self.inner.data_end(from, to)
    }
}

impl<B: Backend> Backend for FailingBackend<B> {
    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn BackendFile>> {
        let inner = self.inner.open(name, create)?;
        Ok(Arc::new(FailingFile {
            name: name.to_string(),
            inner,
            plan: self.plan.clone(),
        }))
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.inner.exists(name)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> Result<()> {
        self.plan.tick(true, "fsync directory", ".")?;
        self.inner.sync_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::StdBackend;
    use crate::error::ErrorKind;

    fn backend(dir: &tempfile::TempDir, plan: &FaultPlan) -> FailingBackend<StdBackend> {
        FailingBackend::new(StdBackend::new(dir.path()).unwrap(), plan.clone())
    }

    #[test]
    fn nth_fsync_fails_once_counted_across_files_and_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new(Some((3, Fault::Eio)), None);
        let b = backend(&dir, &plan);
        let (f, g) = (b.open("a", true).unwrap(), b.open("b", true).unwrap());
        f.write_at(0, b"one").unwrap();
        f.sync().unwrap();
        b.sync_dir().unwrap();
        g.write_at(0, b"two").unwrap();
        let e = g.sync().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(
            e.message().contains("fsync b") && e.message().contains("os error 5"),
            "{e}"
        );
        // The disk recovered: the next fsyncs succeed, and the bytes written are there.
        g.sync().unwrap();
        b.sync_dir().unwrap();
        assert_eq!((plan.syncs(), plan.writes()), (5, 2));
        assert_eq!(plan.injected(), vec![e.message().to_string()]);
        let plain = StdBackend::new(dir.path()).unwrap();
        let mut buf = [0u8; 3];
        plain
            .open("b", false)
            .unwrap()
            .read_at(0, &mut buf)
            .unwrap();
        assert_eq!(&buf, b"two");
    }

    #[test]
    fn a_failed_directory_fsync_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new(Some((1, Fault::NoSpace)), None);
        let e = backend(&dir, &plan).sync_dir().unwrap_err();
        assert!(e.message().starts_with("fsync directory"), "{e}");
        assert!(e.message().contains("os error 28"), "{e}");
    }

    #[test]
    fn nth_write_fails_with_no_space_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new(None, Some((2, Fault::NoSpace)));
        let b = backend(&dir, &plan);
        let f = b.open("a", true).unwrap();
        f.write_at(0, b"abc").unwrap();
        let e = f.write_at(3, b"def").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(
            e.message().contains("write a") && e.message().contains("os error 28"),
            "{e}"
        );
        assert_eq!(f.size().unwrap(), 3, "the failed write reached the file");
        f.write_at(3, b"ghi").unwrap();
        f.sync().unwrap();
        let mut buf = [0u8; 6];
        f.read_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"abcghi");
        assert_eq!((plan.syncs(), plan.writes()), (1, 3));
        assert_eq!(plan.injected().len(), 1);
    }

    #[test]
    fn zero_or_none_fails_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for plan in [
            FaultPlan::new(Some((0, Fault::Eio)), Some((0, Fault::Eio))),
            FaultPlan::counting(),
        ] {
            let b = backend(&dir, &plan);
            let f = b.open("a", true).unwrap();
            for i in 0..5u64 {
                f.write_at(i, b"x").unwrap();
                f.sync().unwrap();
            }
            b.sync_dir().unwrap();
            assert_eq!((plan.syncs(), plan.writes()), (6, 5));
            assert!(plan.injected().is_empty());
        }
    }

    #[test]
    fn threads_share_one_count_and_exactly_one_call_fails() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new(Some((50, Fault::Eio)), None);
        let b = Arc::new(backend(&dir, &plan));
        let failures: u64 = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let b = b.clone();
                    s.spawn(move || {
                        let f = b.open(&format!("f{t}"), true).unwrap();
                        (0..25).filter(|_| f.sync().is_err()).count() as u64
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(failures, 1);
        assert_eq!(plan.syncs(), 100);
        assert_eq!(b.plan().injected().len(), 1);
    }
}
