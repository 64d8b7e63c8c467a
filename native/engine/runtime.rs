//! The durable runtime: one data directory holding any number of named fields (indexes) that
//! share one write-ahead log and commit atomically together (DESIGN.md §5; `docs/design.md`).
//!
//! - Writes apply at once to each field's live in-memory X-tree and append their logical
//!   operation to the runtime's pending transaction (under one writer lock).
//! - [`Runtime::commit`] writes the pending transaction to the log as one framed record group
//!   and, per [`Durability`], makes it durable, then publishes a snapshot of every field taken
//!   at the commit: readers only ever see committed states, and all fields change together.
//! - Checkpoints (`engine::coordinator`) write the pages the last committed snapshots added
//!   since the previous checkpoint into the segment files, then the object tables, a manifest
//!   and the superblock; logs the checkpoint covers are deleted. Recovery
//!   (`engine::recovery`) uses the checkpoint's pages in place and replays the logs after it.
//! - Any failed write or sync poisons the runtime: writes, commits and checkpoints fail with
//!   `ErrorKind::Poisoned` until it is reopened; reads keep answering on the last published
//!   state, and close writes nothing.
//! - Close frees everything the runtime holds (trees, files, threads) even while [`Field`]
//!   handles remain; a snapshot or cursor taken before close keeps its own pages, and keeps
//!   the directory locked while it may still read them ([`super::lock`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::backend::{Backend, BackendFile, StdBackend};
use super::coordinator::{self, Background, CheckpointState, CompactionStats};
use super::field::{closed_error, Field, FieldInner, RuntimeSnapshot};
use super::lock::{lock_dir, DirLock};
use super::ops::{self, FieldMeta};
use super::recovery;
use super::segments::SegmentStats;
use super::wal::{self, WalWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Index, IndexOptions, IndexSnapshot};

/// What a crash may lose (DESIGN.md §5). In every mode recovery yields exactly the state of
/// some commit, never a mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every acknowledged commit survives: the committer syncs the log before `commit` returns.
    Strict,
    /// Same guarantee; concurrent committers share one sync (group commit).
    #[default]
    Balanced,
    /// `commit` returns after the write; a background thread syncs every
    /// [`RuntimeOptions::sync_interval`]. A crash loses at most the commits of that interval.
    Eventual,
}

/// Options of a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Durability policy.
    pub durability: Durability,
    /// Background sync interval of [`Durability::Eventual`].
    pub sync_interval: Duration,
    /// Checkpoint when the current log grows past this many bytes.
    pub checkpoint_log_bytes: u64,
    /// Checkpoint when this much time has passed since the last one and something was
    /// committed (None: no time trigger).
    pub checkpoint_interval: Option<Duration>,
    /// Checkpoint after this many commits since the last one (None: no epoch trigger).
    pub checkpoint_epochs: Option<u64>,
    /// Run the triggers above on a background thread (otherwise only [`Runtime::checkpoint`]).
    pub background_checkpoints: bool,
    /// Checkpoint in [`Runtime::close`] when anything was committed since the last one, so that
    /// the next open replays no log.
    pub checkpoint_on_close: bool,
    /// Memory budget, bytes, for the tree pages the runtime holds in memory: pages written
    /// since the last checkpoint, replaced pages readers may still reach, and pages read from
    /// the segment files (`heap_bytes + loaded_bytes` of [`RuntimeStats`]). When they exceed it
    /// the background coordinator checkpoints (so that written pages are on disk), then lets
    /// every page the checkpoint holds leave memory: it is read again from its slot on its
    /// next use. Without a budget (None, the default) pages stay in memory until the runtime
    /// is closed. Needs `background_checkpoints`; a budget smaller than one commit's pages
    /// makes every commit checkpoint.
    pub memory_budget: Option<u64>,
    /// Background compaction ([`Runtime::compact`]) by the checkpoint coordinator, after a
    /// checkpoint (background or explicit) that leaves the free space of the segment files at
    /// least this fraction of their bytes (and at
    /// least [`RuntimeOptions::compact_min_dead_bytes`]). None: only explicit compactions.
    /// Default 0.2: the files stay within 25 % of their live pages (plus the minimum below).
    pub compact_dead_ratio: Option<f64>,
    /// The least free space, bytes, worth a background compaction (default 16 MiB).
    pub compact_min_dead_bytes: u64,
    /// Open without changing any file, under a shared directory lock ([`Runtime::open_read_only`]
    /// sets it): the directory must exist and be initialised, files are opened for reading
    /// only, a torn log tail is read up to the last commit but not cut, nothing is cleaned up,
    /// no background thread runs, and every write (insert, delete, update, commit, checkpoint,
    /// field creation) fails with `ErrorKind::ReadOnly`. Any number of read-only runtimes, in
    /// any processes, may hold a directory at once while no writer does. Used by `fsck`,
    /// `dump` and `stats` too. The durability and checkpoint options are then ignored.
    pub read_only: bool,
}

impl RuntimeOptions {
    /// The options of [`Runtime::open_read_only`]: the defaults with `read_only` set and
    /// background checkpoints and the checkpoint on close off (they would write).
    pub fn read_only() -> RuntimeOptions {
        RuntimeOptions {
            read_only: true,
            background_checkpoints: false,
            checkpoint_on_close: false,
            ..RuntimeOptions::default()
        }
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            durability: Durability::Balanced,
            sync_interval: Duration::from_millis(50),
            checkpoint_log_bytes: 256 << 20,
            checkpoint_interval: Some(Duration::from_secs(300)),
            checkpoint_epochs: None,
            background_checkpoints: true,
            checkpoint_on_close: true,
            compact_dead_ratio: Some(0.2),
            compact_min_dead_bytes: 16 << 20,
            memory_budget: None,
            read_only: false,
        }
    }
}

/// State owned by the single writer.
pub(super) struct WriterState {
    pub(super) wal: Option<WalWriter>,
    /// Epoch of the last commit.
    pub(super) epoch: u64,
    /// Encoded operations since the last commit.
    pub(super) pending: Vec<u8>,
    /// Snapshot of every field at `epoch` (what a checkpoint writes).
    pub(super) last_commit: Arc<Vec<(FieldMeta, IndexSnapshot)>>,
    /// Bytes ever appended to logs: the log sequence number of the last commit.
    pub(super) lsn: u64,
}

pub(super) struct SyncState {
    pub(super) file: Option<Arc<dyn BackendFile>>,
    pub(super) written: u64,
    pub(super) synced: u64,
    pub(super) syncing: bool,
}

/// What [`Runtime::stats`] reports of checkpoints: updated when one completes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CheckpointSummary {
    pub(super) epoch: u64,
    pub(super) pages: u64,
    pub(super) last_pages: u64,
    pub(super) segments: SegmentStats,
    /// Checkpoints written since open.
    pub(super) count: u64,
    /// Pages they wrote, in total.
    pub(super) pages_total: u64,
    /// Durations in nanoseconds: the last one, the longest one, and their sum.
    pub(super) nanos_last: u64,
    pub(super) nanos_max: u64,
    pub(super) nanos_total: u64,
    /// Compactions since open that changed something, their total duration (nanoseconds)
    /// and the bytes they cut from the segment files.
    pub(super) compactions: u64,
    pub(super) compaction_nanos_total: u64,
    pub(super) compacted_bytes_total: u64,
}

impl CheckpointSummary {
    /// The summary of the state at open (no checkpoint written yet).
    pub(super) fn of(c: &CheckpointState) -> CheckpointSummary {
        CheckpointSummary {
            epoch: c.manifest.checkpoint.as_ref().map_or(0, |r| r.epoch),
            pages: c.tables.iter().map(|(_, t)| t.len() as u64).sum(),
            last_pages: c.last_pages,
            segments: c.segs.stats(),
            ..CheckpointSummary::default()
        }
    }

    /// The summary after a checkpoint that left state `c` and took `nanos`, following `self`.
    pub(super) fn after(&self, c: &CheckpointState, nanos: u64) -> CheckpointSummary {
        CheckpointSummary {
            count: self.count + 1,
            pages_total: self.pages_total + c.last_pages,
            nanos_last: nanos,
            nanos_max: self.nanos_max.max(nanos),
            nanos_total: self.nanos_total.saturating_add(nanos),
            compactions: self.compactions,
            compaction_nanos_total: self.compaction_nanos_total,
            compacted_bytes_total: self.compacted_bytes_total,
            ..CheckpointSummary::of(c)
        }
    }

    /// The summary after compaction `done` left state `c`, following `self`.
    pub(super) fn after_compaction(
        &self,
        c: &CheckpointState,
        done: &CompactionStats,
    ) -> CheckpointSummary {
        CheckpointSummary {
            segments: c.segs.stats(),
            compactions: self.compactions + 1,
            compaction_nanos_total: self.compaction_nanos_total.saturating_add(done.nanos),
            compacted_bytes_total: self.compacted_bytes_total
                + done.bytes_before.saturating_sub(done.bytes_after),
            ..*self
        }
    }
}

/// Nanoseconds of `d`, saturated to `u64` (584 years).
pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(super) struct Published {
    pub(super) epoch: u64,
    pub(super) snaps: Vec<IndexSnapshot>,
}

/// The state of a runtime, shared by its handles and background threads.
pub(super) struct Inner {
    pub(super) backend: Arc<dyn Backend>,
    pub(super) opts: RuntimeOptions,
    pub(super) dir: Option<PathBuf>,
    /// The directory lock (None for runtimes over a test backend, and after close).
    lock: Mutex<Option<Arc<DirLock>>>,
    pub(super) w: Mutex<WriterState>,
    pub(super) fields: RwLock<Vec<Arc<FieldInner>>>,
    names: RwLock<HashMap<String, u32>>,
    pub(super) published: RwLock<Published>,
    pub(super) sync: Mutex<SyncState>,
    sync_cv: Condvar,
    /// Checkpoint state; None once closed.
    pub(super) ckpt: Mutex<Option<CheckpointState>>,
    /// Figures of the last checkpoint, for `stats` (which must not wait for a running one).
    pub(super) ckpt_summary: Mutex<CheckpointSummary>,
    /// Epoch of the current checkpoint, and when it was taken (µs after `started`): what the
    /// commit path reads to decide whether to wake the checkpoint coordinator.
    pub(super) ckpt_epoch: AtomicU64,
    pub(super) ckpt_at_us: AtomicU64,
    pub(super) started: Instant,
    /// Log syncs made for commits (STRICT, BALANCED and the EVENTUAL background sync).
    log_syncs: AtomicU64,
    /// Commits that wrote a transaction since open, and their latencies in nanoseconds (sum
    /// and maximum).
    commits: AtomicU64,
    commit_nanos_total: AtomicU64,
    commit_nanos_max: AtomicU64,
    /// What recovery did at open: its duration and what it replayed.
    recovery_nanos: u64,
    replayed_transactions: u64,
    replayed_records: u64,
    /// Bytes of durable pages read into memory (see [`super::segments::Segments::loaded_bytes`]).
    loaded_bytes: Arc<AtomicU64>,
    poison: Mutex<Option<String>>,
    pub(super) poisoned: AtomicBool,
    closed: AtomicBool,
    /// Set (under the writer lock) when close begins: writes and commits are refused from then
    /// on, so none can slip between close's final sync and the end of the runtime.
    closing: AtomicBool,
    pub(super) bg: Mutex<Background>,
    pub(super) bg_cv: Condvar,
}

/// A durable runtime over one data directory. `Send + Sync`: share it by reference or `Arc`.
/// Dropping it closes it (see [`Runtime::close`]).
pub struct Runtime {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("dir", &self.inner.dir)
            .field("durability", &self.inner.opts.durability)
            .field("closed", &self.inner.closed.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

/// Figures of a runtime (for `stats`, monitoring and tests). Counters count since the runtime
/// was opened; durations are in nanoseconds, sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeStats {
    /// Epoch of the last commit.
    pub epoch: u64,
    /// Epoch visible to new readers.
    pub published_epoch: u64,
    /// Sequence number of the current log.
    pub wal_seq: u64,
    /// Bytes of the current log.
    pub wal_bytes: u64,
    /// Epoch of the current checkpoint (0 if none).
    pub checkpoint_epoch: u64,
    /// Field names with their committed record counts.
    pub fields: Vec<(String, u64)>,
    /// Pages of the current checkpoint (object table entries of all fields).
    pub checkpoint_pages: u64,
    /// Pages the last checkpoint of this runtime wrote (0 before the first).
    pub last_checkpoint_pages: u64,
    /// Bytes of the segment files.
    pub segment_bytes: u64,
    /// Bytes of the segment slots the checkpoint's pages use: `segment_bytes` minus this is
    /// free space, which checkpoints reuse and [`Runtime::compact`] gives back.
    pub segment_live_bytes: u64,
    /// Compactions since open that moved or cut something (explicit and background).
    pub compactions: u64,
    /// Sum of their durations, nanoseconds.
    pub compaction_nanos_total: u64,
    /// Bytes they cut from the segment files, in total.
    pub compacted_bytes_total: u64,
    /// Open segment files (one descriptor each).
    pub segment_files: u64,
    /// Log syncs made for commits since open: with BALANCED, commits over syncs is the
    /// group-commit factor.
    pub log_syncs: u64,
    /// Commits that wrote a transaction since open (a field creation is one; a commit with
    /// nothing pending is not).
    pub commits: u64,
    /// Sum of the latencies of those commits, nanoseconds: from the call to its return, the
    /// wait for the writer lock and the log sync (STRICT, BALANCED) included.
    pub commit_nanos_total: u64,
    /// The longest of those latencies, nanoseconds.
    pub commit_nanos_max: u64,
    /// Checkpoints written since open (background, explicit; the one of close comes after
    /// the last `stats`).
    pub checkpoints: u64,
    /// Duration of the last checkpoint, nanoseconds (0 before the first).
    pub checkpoint_nanos_last: u64,
    /// Duration of the longest checkpoint since open, nanoseconds.
    pub checkpoint_nanos_max: u64,
    /// Sum of the durations of the checkpoints since open, nanoseconds.
    pub checkpoint_nanos_total: u64,
    /// Pages written by the checkpoints since open (the last one's: `last_checkpoint_pages`).
    pub checkpoint_pages_total: u64,
    /// Duration of the recovery at open (superblock to the end of log replay), nanoseconds.
    pub recovery_nanos: u64,
    /// Transactions (commits) replayed from the logs at open.
    pub replayed_transactions: u64,
    /// Record operations replayed at open: inserts and deletes, a batch counting each row.
    pub replayed_records: u64,
    /// Bytes of all the files of the data directory (their lengths, as `ls -l` shows them; a
    /// preallocated log counts with its full length). 0 for a runtime over a test backend.
    pub disk_bytes: u64,
    /// Bytes of the node pages the fields hold on the heap that are not backed by the segment
    /// files: pages written since open (a checkpoint writes them to disk but they stay on the
    /// heap until the next open) and pages replaced by writes that readers may still reach.
    pub heap_bytes: u64,
    /// Bytes of the checkpoint's pages read from the segment files into memory (on first use)
    /// and still held.
    pub loaded_bytes: u64,
}
/// Bytes of the regular files directly in `dir` (their lengths); unreadable entries count 0.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn poisoned_error(msg: &str) -> Error {
    Error::new(
        ErrorKind::Poisoned,
        format!("the runtime is poisoned by an earlier failure ({msg}); reopen it to write again"),
    )
}

/// The `ReadOnly` error of a write on a read-only runtime (over directory `dir`, if any).
fn read_only_error(dir: Option<&Path>) -> Error {
    let what = dir.map_or_else(
        || "the runtime".to_string(),
        |d| format!("the runtime of {}", d.display()),
    );
    Error::new(
        ErrorKind::ReadOnly,
        format!("{what} was opened read-only: writes, commits and checkpoints are refused"),
    )
}

impl Inner {
    pub(super) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed_error());
        }
        Ok(())
    }

    /// `Closed` after close, `Poisoned` after a failed write or sync.
    pub(super) fn check_poisoned(&self) -> Result<()> {
        self.check_open()?;
        if self.poisoned.load(Ordering::Acquire) {
            let msg = self.poison.lock().clone().unwrap_or_default();
            return Err(poisoned_error(&msg));
        }
        Ok(())
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.closing.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the durable runtime is closing",
            ));
        }
        if self.opts.read_only {
            return Err(read_only_error(self.dir.as_deref()));
        }
        self.check_poisoned()
    }

    /// Records the first failure and refuses writes from now on. Returns the error.
    pub(super) fn poison(&self, e: Error) -> Error {
        let mut p = self.poison.lock();
        let first = p.is_none();
        if first {
            *p = Some(e.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
        drop(p);
        self.sync_cv.notify_all();
        // Logged once the state is visible: whoever reads the record finds writes refused.
        if first {
            log::error!("xtree runtime poisoned: {e}");
        }
        e
    }

    pub(super) fn guard<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| self.poison(e))
    }

    fn snapshot_all(&self) -> Arc<Vec<(FieldMeta, IndexSnapshot)>> {
        Arc::new(
            self.fields
                .read()
                .iter()
                .map(|f| ((*f.meta).clone(), f.index.snapshot()))
                .collect(),
        )
    }

    pub(super) fn publish(&self, epoch: u64, snaps: &[(FieldMeta, IndexSnapshot)]) {
        let mut p = self.published.write();
        if epoch > p.epoch && !self.closed.load(Ordering::Acquire) {
            p.epoch = epoch;
            p.snaps = snaps.iter().map(|(_, s)| s.clone()).collect();
        }
    }

    /// One sync of the current log if anything written is not yet durable; as the leader of a
    /// group when no other sync runs, else waits for the running one. Returns when `lsn` is
    /// durable.
    pub(super) fn wait_durable(&self, lsn: u64) -> Result<()> {
        let mut s = self.sync.lock();
        loop {
            if self.poisoned.load(Ordering::Acquire) {
                let msg = self.poison.lock().clone().unwrap_or_default();
                return Err(poisoned_error(&msg));
            }
            if s.synced >= lsn {
                return Ok(());
            }
            if s.syncing {
                self.sync_cv.wait(&mut s);
                continue;
            }
            s.syncing = true;
            let target = s.written;
            let file = s.file.clone();
            let r = parking_lot::MutexGuard::unlocked(&mut s, || match file {
                Some(f) => {
                    self.log_syncs.fetch_add(1, Ordering::Relaxed);
                    f.sync()
                }
                None => Ok(()),
            });
            s.syncing = false;
            match r {
                Ok(()) => s.synced = s.synced.max(target),
                Err(e) => {
                    drop(s);
                    return Err(self.poison(e));
                }
            }
            self.sync_cv.notify_all();
        }
    }

    /// [`Runtime::commit`]; counts and times the commits that wrote a transaction.
    pub(super) fn commit(&self) -> Result<u64> {
        let start = Instant::now();
        let (epoch, wrote) = self.commit_txn()?;
        if wrote {
            let t = nanos(start.elapsed());
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.commit_nanos_total.fetch_add(t, Ordering::Relaxed);
            self.commit_nanos_max.fetch_max(t, Ordering::Relaxed);
        }
        Ok(epoch)
    }

    /// The commit: its epoch, and whether it wrote a transaction.
    fn commit_txn(&self) -> Result<(u64, bool)> {
        let mut w = self.w.lock();
        self.check_writable()?;
        if w.pending.is_empty() {
            // Another committer's transaction may have taken this caller's writes and not be
            // published yet (BALANCED publishes after its shared sync): publish it here too,
            // so that what `commit` returns is visible when it returns.
            let (epoch, lsn, snaps) = (w.epoch, w.lsn, w.last_commit.clone());
            drop(w);
            if self.opts.durability != Durability::Eventual {
                self.wait_durable(lsn)?;
                self.publish(epoch, &snaps);
            }
            return Ok((epoch, false));
        }
        let epoch = w.epoch + 1;
        let bytes = wal::encode_txn(epoch, &w.pending);
        let wal = w.wal.as_mut().expect("a writable runtime has a log");
        let appended = wal.append(&bytes);
        self.guard(appended)?;
        w.pending.clear();
        w.epoch = epoch;
        w.lsn += bytes.len() as u64;
        let lsn = w.lsn;
        let snaps = self.snapshot_all();
        w.last_commit = snaps.clone();
        let log_size = w.wal.as_ref().map_or(0, |l| l.size());
        self.sync.lock().written = lsn;
        match self.opts.durability {
            Durability::Strict => {
                self.log_syncs.fetch_add(1, Ordering::Relaxed);
                let r = w.wal.as_ref().expect("log").sync();
                self.guard(r)?;
                {
                    let mut s = self.sync.lock();
                    s.synced = s.synced.max(lsn);
                }
                self.publish(epoch, &snaps);
                drop(w);
            }
            Durability::Balanced => {
                drop(w);
                self.wait_durable(lsn)?;
                self.publish(epoch, &snaps);
            }
            Durability::Eventual => {
                self.publish(epoch, &snaps);
                drop(w);
            }
        }
        if self.opts.background_checkpoints && self.wants_checkpoint(epoch, log_size) {
            let mut b = self.bg.lock();
            b.wake = true;
            self.bg_cv.notify_all();
        }
        Ok((epoch, true))
    }

    /// Bytes of tree pages in memory: written or replaced pages on the heap, and pages read
    /// from the segment files (what [`RuntimeOptions::memory_budget`] bounds).
    pub(super) fn resident_bytes(&self) -> u64 {
        let heap: u64 = self
            .fields
            .read()
            .iter()
            .map(|f| f.index.heap_bytes())
            .sum();
        heap + self.loaded_bytes.load(Ordering::Relaxed)
    }

    /// Pages read from the segment files and still in memory, bytes.
    pub(super) fn loaded_bytes_now(&self) -> u64 {
        self.loaded_bytes.load(Ordering::Relaxed)
    }

    /// Whether the pages in memory exceed the memory budget.
    pub(super) fn over_budget(&self) -> bool {
        self.opts
            .memory_budget
            .is_some_and(|b| self.resident_bytes() > b)
    }

    /// Whether a checkpoint trigger fired. Reads atomics only: a commit must not wait for the
    /// checkpoint lock, which a running checkpoint holds while it writes.
    pub(super) fn wants_checkpoint(&self, epoch: u64, log_size: u64) -> bool {
        let base = self.ckpt_epoch.load(Ordering::Acquire);
        if epoch <= base {
            return false;
        }
        log_size >= self.opts.checkpoint_log_bytes
            || self.over_budget()
            || self
                .opts
                .checkpoint_epochs
                .is_some_and(|n| epoch - base >= n)
            || self
                .opts
                .checkpoint_interval
                .is_some_and(|i| self.since_checkpoint() >= i)
    }

    /// Time since the last checkpoint (or the open).
    fn since_checkpoint(&self) -> Duration {
        let at = Duration::from_micros(self.ckpt_at_us.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(at)
    }

    fn stats(&self) -> RuntimeStats {
        // The directory listing first, under no lock: it is I/O, and commits take `w`.
        let disk_bytes = self.dir.as_deref().map_or(0, dir_bytes);
        let c = *self.ckpt_summary.lock();
        // The published state before the writer's, so that `published_epoch <= epoch`; each
        // lock is held only to copy figures, never nested here.
        let (published_epoch, records): (u64, Vec<u64>) = {
            let p = self.published.read();
            (p.epoch, p.snaps.iter().map(|s| s.len()).collect())
        };
        let (names, heap_bytes) = {
            let fields = self.fields.read();
            let names: Vec<String> = fields.iter().map(|f| f.meta.name.clone()).collect();
            (names, fields.iter().map(|f| f.index.heap_bytes()).sum())
        };
        // `w` is held through a STRICT commit's fsync and a checkpoint's log rotation (never
        // through a checkpoint's page writes): stats may wait that long, no longer.
        let (epoch, wal_seq, wal_bytes) = {
            let w = self.w.lock();
            (
                w.epoch,
                w.wal.as_ref().map_or(0, |l| l.seq()),
                w.wal.as_ref().map_or(0, |l| l.size()),
            )
        };
        RuntimeStats {
            epoch,
            published_epoch,
            wal_seq,
            wal_bytes,
            checkpoint_epoch: c.epoch,
            checkpoint_pages: c.pages,
            last_checkpoint_pages: c.last_pages,
            segment_bytes: c.segments.bytes,
            segment_live_bytes: c.segments.used_bytes,
            compactions: c.compactions,
            compaction_nanos_total: c.compaction_nanos_total,
            compacted_bytes_total: c.compacted_bytes_total,
            segment_files: c.segments.files,
            log_syncs: self.log_syncs.load(Ordering::Relaxed),
            fields: names.into_iter().zip(records).collect(),
            commits: self.commits.load(Ordering::Relaxed),
            commit_nanos_total: self.commit_nanos_total.load(Ordering::Relaxed),
            commit_nanos_max: self.commit_nanos_max.load(Ordering::Relaxed),
            checkpoints: c.count,
            checkpoint_nanos_last: c.nanos_last,
            checkpoint_nanos_max: c.nanos_max,
            checkpoint_nanos_total: c.nanos_total,
            checkpoint_pages_total: c.pages_total,
            recovery_nanos: self.recovery_nanos,
            replayed_transactions: self.replayed_transactions,
            replayed_records: self.replayed_records,
            disk_bytes,
            heap_bytes,
            loaded_bytes: self.loaded_bytes.load(Ordering::Relaxed),
        }
    }

    /// Drops everything the runtime holds once it is closed: trees, published snapshots, the
    /// log, the segment files and the directory lock. Handles (fields, the runtime itself)
    /// keep only this shared shell, whose calls fail with `Closed`.
    fn release(&self) {
        let wal = {
            let mut w = self.w.lock();
            w.pending = Vec::new();
            w.last_commit = Arc::new(Vec::new());
            w.wal.take()
        };
        drop(wal);
        self.sync.lock().file = None;
        let state = self.ckpt.lock().take();
        drop(state);
        // Under the write lock: a reader checks `closed` under the read lock (Field::snapshot).
        let snaps = std::mem::take(&mut self.published.write().snaps);
        drop(snaps);
        let fields = std::mem::take(&mut *self.fields.write());
        let watches: Vec<_> = fields.iter().map(|f| f.index.store_watch()).collect();
        drop(fields);
        self.names.write().clear();
        // The pages of a field's store hold the directory lock. A page reclamation that the
        // epoch collector runs on another thread may own the store for a moment and drop it
        // there, after close has returned: wait for that (the store gone, then the lock held by
        // nothing but this runtime), so that the lock is free when close returns, unless a
        // snapshot or cursor still holds it, as documented.
        let limit = Duration::from_secs(2);
        let start = Instant::now();
        let unowned = watches.iter().all(|w| w.wait_unowned(limit));
        let lock = self.lock.lock().take();
        if let Some(l) = &lock {
            while unowned && Arc::strong_count(l) > 1 && start.elapsed() < limit {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        drop(lock);
    }
}

/// Field names have 1..=1024 bytes.
fn check_field_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 1024 {
        return Err(Error::invalid("a field name has 1..=1024 bytes"));
    }
    Ok(())
}

impl Runtime {
    /// Opens (creating if needed) the data directory `dir` and recovers its last committed
    /// state: superblock → manifest → checkpoint → log replay. The directory is locked until
    /// [`Runtime::close`] (and while a snapshot of this runtime that may still read its files
    /// lives): exclusively, or shared with other readers when `opts.read_only` is set (then
    /// see [`Runtime::open_read_only`], which also turns off the options that would write).
    ///
    /// # Errors
    /// `Io` when the directory cannot be created or is locked by another opener (in this or
    /// another process) or a file cannot be read; `Corruption` for damaged or missing files,
    /// and for a directory without `SUPERBLOCK` that holds data files.
    pub fn open(dir: impl AsRef<Path>, opts: RuntimeOptions) -> Result<Runtime> {
        Self::open_dir_with(dir, opts, |b| Arc::new(b))
    }

    /// Opens the existing data directory `dir` read-only under a shared lock and recovers its
    /// last committed state without changing any file (see [`RuntimeOptions::read_only`]):
    /// [`Runtime::open`] with `read_only: true`, no background threads and no checkpoint on
    /// close. Any number of read-only runtimes, in this and other processes, may hold the
    /// directory at once; a writer's open fails while they do, and this fails while a writer
    /// holds it. Reads answer as on a writable runtime; every write, commit, checkpoint and
    /// field creation fails with `ErrorKind::ReadOnly`.
    ///
    /// # Errors
    /// `Io` when `dir` does not exist, is not a data directory (no `SUPERBLOCK`; nothing is
    /// created), is locked by a writer (in this or another process), or a file cannot be
    /// read; `Corruption` for damaged or missing files.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Runtime> {
        Self::open(dir, RuntimeOptions::read_only())
    }

    /// Opens the data directory `dir` like [`Runtime::open`] (and locks it), but does every
    /// file operation through the backend `wrap` builds around the directory's
    /// [`StdBackend`]: tests wrap it to inject failures into real files.
    ///
    /// # Errors
    /// As [`Runtime::open`].
    pub fn open_dir_with(
        dir: impl AsRef<Path>,
        opts: RuntimeOptions,
        wrap: impl FnOnce(StdBackend) -> Arc<dyn Backend>,
    ) -> Result<Runtime> {
        let dir = dir.as_ref();
        let backend = if opts.read_only {
            StdBackend::read_only(dir)?
        } else {
            StdBackend::new(dir)?
        };
        let lock = Arc::new(lock_dir(dir, opts.read_only)?);
        Self::open_inner(wrap(backend), opts, Some(lock), Some(dir.to_path_buf()))
    }

    /// Opens a runtime over any backend (tests use [`super::backend::FaultBackend`]); no
    /// directory lock is taken.
    ///
    /// # Errors
    /// As [`Runtime::open`].
    pub fn open_with(backend: Arc<dyn Backend>, opts: RuntimeOptions) -> Result<Runtime> {
        Self::open_inner(backend, opts, None, None)
    }

    fn open_inner(
        backend: Arc<dyn Backend>,
        opts: RuntimeOptions,
        lock: Option<Arc<DirLock>>,
        dir: Option<PathBuf>,
    ) -> Result<Runtime> {
        let start = Instant::now();
        recovery::init_if_new(backend.as_ref(), opts.read_only)?;
        let r = recovery::recover(&backend, &opts, lock.as_ref())?;
        let recovery_nanos = nanos(start.elapsed());
        log::info!(
            "xtree recovery of {}: epoch {}, {} fields, replayed {} transactions ({} records) \
             in {:.1} ms",
            dir.as_deref()
                .map_or("(test backend)".into(), |d| d.display().to_string()),
            r.epoch,
            r.fields.len(),
            r.replayed_transactions,
            r.replayed_records,
            recovery_nanos as f64 / 1e6
        );
        let loaded_bytes = r.segs.loaded_bytes();
        let mut names = HashMap::new();
        let fields: Vec<Arc<FieldInner>> = r
            .fields
            .into_iter()
            .enumerate()
            .map(|(i, (meta, index))| {
                names.insert(meta.name.clone(), i as u32);
                Arc::new(FieldInner {
                    meta: Arc::new(meta),
                    index,
                })
            })
            .collect();
        let snaps: Arc<Vec<(FieldMeta, IndexSnapshot)>> = Arc::new(
            fields
                .iter()
                .map(|f| ((*f.meta).clone(), f.index.snapshot()))
                .collect(),
        );
        let file = r.wal.as_ref().map(|w| w.file());
        let checkpoint = r.manifest.checkpoint.clone();
        let state = CheckpointState {
            manifest: r.manifest,
            superblock_gen: r.sb.generation,
            segs: r.segs,
            tables: r.tables,
            last_pages: 0,
        };
        let inner = Arc::new(Inner {
            backend,
            dir,
            lock: Mutex::new(lock),
            w: Mutex::new(WriterState {
                wal: r.wal,
                epoch: r.epoch,
                pending: Vec::new(),
                last_commit: snaps.clone(),
                lsn: r.lsn,
            }),
            fields: RwLock::new(fields),
            names: RwLock::new(names),
            published: RwLock::new(Published {
                epoch: r.epoch,
                snaps: snaps.iter().map(|(_, s)| s.clone()).collect(),
            }),
            sync: Mutex::new(SyncState {
                file,
                written: r.lsn,
                synced: r.lsn,
                syncing: false,
            }),
            sync_cv: Condvar::new(),
            ckpt_epoch: AtomicU64::new(checkpoint.as_ref().map_or(0, |c| c.epoch)),
            ckpt_summary: Mutex::new(CheckpointSummary::of(&state)),
            ckpt: Mutex::new(Some(state)),
            ckpt_at_us: AtomicU64::new(0),
            started: Instant::now(),
            log_syncs: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            commit_nanos_total: AtomicU64::new(0),
            commit_nanos_max: AtomicU64::new(0),
            recovery_nanos,
            replayed_transactions: r.replayed_transactions,
            replayed_records: r.replayed_records,
            loaded_bytes,
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            bg: Mutex::new(Background::default()),
            bg_cv: Condvar::new(),
            opts,
        });
        let rt = Runtime {
            inner,
            threads: Mutex::new(Vec::new()),
        };
        if !rt.inner.opts.read_only {
            if coordinator::needs_sync_thread(rt.inner.opts.durability) {
                rt.spawn("xtree-sync", coordinator::sync_thread)?;
            }
            if rt.inner.opts.background_checkpoints {
                rt.spawn("xtree-checkpoint", coordinator::checkpoint_thread)?;
            }
        }
        Ok(rt)
    }

    fn spawn(&self, name: &str, body: fn(Arc<Inner>)) -> Result<()> {
        let inner = self.inner.clone();
        let h = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(inner))
            .map_err(|e| Error::new(ErrorKind::Io, format!("spawn thread {name}: {e}")))?;
        self.threads.lock().push(h);
        Ok(())
    }

    /// The field `name`, created with `options` if it does not exist (the creation is
    /// committed at once, together with any pending writes of the runtime).
    ///
    /// # Errors
    /// `InvalidArgument` for bad options or when the existing field has another dimension,
    /// precision or labels; `Poisoned`/`Io` as [`Runtime::commit`]; `Closed` after close.
    pub fn field(&self, name: &str, options: IndexOptions) -> Result<Field> {
        self.inner.check_open()?;
        if let Some(f) = self.get(name)? {
            let m = &f.meta;
            if m.dimension != options.dimension
                || m.precision != options.precision
                || m.labels != options.labels
            {
                return Err(Error::invalid(format!(
                    "field {name} exists with dimension {}, precision {} and labels {:?}",
                    m.dimension, m.precision, m.labels
                )));
            }
            return Ok(f);
        }
        check_field_name(name)?;
        let index = Index::with_options(options.clone())?;
        {
            let mut w = self.inner.w.lock();
            self.inner.check_writable()?;
            if self.inner.names.read().contains_key(name) {
                drop(w);
                return self.field(name, options);
            }
            self.register_field(&mut w, name, index);
        }
        self.inner.commit()?;
        Ok(self.get(name)?.expect("the field was just created"))
    }

    /// Adds field `name` holding `index` to the runtime and its creation to the pending log
    /// operations. The caller holds the writer lock (`w`), has checked that the runtime is
    /// writable and that no field has the name, and commits.
    fn register_field(&self, w: &mut WriterState, name: &str, index: Index) {
        let id = self.inner.fields.read().len() as u32;
        let o = index.options();
        let meta = FieldMeta {
            name: name.to_string(),
            dimension: o.dimension,
            precision: o.precision,
            labels: o.labels,
            node_size: o.node_size,
        };
        ops::put_create_field(&mut w.pending, id, &meta);
        self.inner.fields.write().push(Arc::new(FieldInner {
            meta: Arc::new(meta),
            index,
        }));
        self.inner.names.write().insert(name.to_string(), id);
    }

    /// Creates field `name` holding the tree of `index` (moved in, its pages unchanged), commits
    /// the creation and writes a checkpoint of it, so that the pages reach the segment files
    /// through the normal checkpoint path. Only for a runtime that nothing else uses and whose
    /// directory is not yet visible under its final name ([`super::convert`]): the log records
    /// the creation but not the pages, so a crash between the commit and the checkpoint
    /// would recover the field empty.
    ///
    /// # Errors
    /// `InvalidArgument` when the field exists or the name is not 1..=1024 bytes; as
    /// [`Runtime::commit`] and [`Runtime::checkpoint`] otherwise.
    pub(super) fn adopt_field(&self, name: &str, index: Index) -> Result<()> {
        check_field_name(name)?;
        {
            let mut w = self.inner.w.lock();
            self.inner.check_writable()?;
            if self.inner.names.read().contains_key(name) {
                return Err(Error::invalid(format!("field {name} exists")));
            }
            self.register_field(&mut w, name, index);
        }
        self.inner.commit()?;
        self.checkpoint()?;
        Ok(())
    }

    /// The existing field `name`, if any.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn get(&self, name: &str) -> Result<Option<Field>> {
        self.inner.check_open()?;
        let id = self.inner.names.read().get(name).copied();
        let Some(id) = id else {
            return Ok(None);
        };
        let meta = self
            .inner
            .fields
            .read()
            .get(id as usize)
            .map(|f| f.meta.clone())
            .ok_or_else(closed_error)?;
        Ok(Some(Field {
            rt: self.inner.clone(),
            id,
            meta,
        }))
    }

    /// Names of the fields, in creation order (none after close).
    pub fn field_names(&self) -> Vec<String> {
        self.inner
            .fields
            .read()
            .iter()
            .map(|f| f.meta.name.clone())
            .collect()
    }

    /// Commits every write since the last commit, on every field, as one transaction, and
    /// returns its epoch. Durable per the [`Durability`] policy when it returns; visible to new
    /// readers from then on. With nothing pending, waits for earlier commits to be durable.
    ///
    /// # Errors
    /// `Io` when the log write or sync fails (the runtime is then poisoned), `Poisoned` after an
    /// earlier failure, `Closed` after close.
    pub fn commit(&self) -> Result<u64> {
        self.inner.commit()
    }

    /// Writes a checkpoint of the last commit now (a no-op when the current one covers it).
    /// Returns whether one was written. Safe to call while the background coordinator or
    /// another thread checkpoints: checkpoints run one at a time.
    ///
    /// # Errors
    /// As [`Runtime::commit`]; a failed checkpoint poisons the runtime.
    pub fn checkpoint(&self) -> Result<bool> {
        self.inner.checkpoint_inner(false)
    }

    /// Gives the free space of the segment files back to the file system (DESIGN.md §5,
    /// "Compaction"): checkpoints the last commit first (so that the pages it replaced are
    /// free), then moves the pages in the highest slots of each segment file into free lower
    /// slots by changing their object table entries only (no parent page is rewritten: a
    /// NodeID names a page wherever it lives), makes that durable (checkpoint file, manifest,
    /// superblock) and cuts the files. A crash at any point leaves a committed state with
    /// every slot owned once. Readers, cursors and snapshots go on reading during and after
    /// it: a page they hold that moved before they read it is read from its new slot (a page
    /// object reads its slot once, on first use). Replaced pages that no snapshot can reach
    /// are freed first, so that their slots count as free. Runs one at a time with
    /// checkpoints; commits are not held up. The background checkpoint coordinator runs it
    /// by itself after a checkpoint that leaves enough free space
    /// ([`RuntimeOptions::compact_dead_ratio`]).
    ///
    /// # Errors
    /// As [`Runtime::checkpoint`] (a failed write or sync poisons the runtime); `ReadOnly` on
    /// a read-only runtime; `Corruption` when a page to move fails verification or lies past
    /// the end of its (truncated) segment file, `Io` or `Corruption` when the checkpoint file
    /// to rewrite is missing or damaged: nothing is changed then, and the runtime is not
    /// poisoned.
    pub fn compact(&self) -> Result<CompactionStats> {
        self.inner.checkpoint_inner(false)?;
        self.inner.compact_inner()
    }

    /// Every field's committed state at the last published epoch, held until dropped.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn snapshot(&self) -> Result<RuntimeSnapshot> {
        let p = self.inner.published.read();
        self.inner.check_open()?;
        let fields = self.inner.fields.read();
        Ok(RuntimeSnapshot {
            epoch: p.epoch,
            fields: p
                .snaps
                .iter()
                .zip(fields.iter())
                .map(|(s, f)| (f.meta.name.clone(), s.clone()))
                .collect(),
        })
    }

    /// Figures of the runtime (see [`RuntimeStats`]). Cheap: atomics, a summary of the last
    /// checkpoint (it does not wait for a running checkpoint's page writes; at most for a
    /// STRICT commit's log sync or a checkpoint's log rotation, which hold the writer lock), the
    /// published record counts, and a listing of the data directory for `disk_bytes`, taken
    /// under no lock. After close most figures are 0.
    pub fn stats(&self) -> RuntimeStats {
        self.inner.stats()
    }

    /// [`Runtime::stats`], refused once the runtime is closed.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn try_stats(&self) -> Result<RuntimeStats> {
        self.inner.check_open()?;
        Ok(self.inner.stats())
    }

    /// Verifies the durable checkpoint's pages against its object tables ("object table vs
    /// allocator" of `xtree fsck`): reads every page of every field's checkpointed tree from its
    /// segment file and checks its CRC and level, that each child is one level below its
    /// parent, that every entry of each table is reached exactly once from its root (no leaked
    /// and no shared slot), and that the allocator's used slots are exactly the table's
    /// entries.
    ///
    /// # Errors
    /// `Corruption` naming the first problem; `Io` from the backend; `Closed` after close.
    pub fn verify_checkpoint(&self) -> Result<SegmentStats> {
        self.inner.verify_checkpoint()
    }

    /// The data directory, for runtimes opened with [`Runtime::open`].
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// Whether an earlier failure has poisoned the runtime, and why.
    pub fn poisoned(&self) -> Option<String> {
        self.inner.poison.lock().clone()
    }

    /// Stops the background threads, makes every commit durable, checkpoints if configured,
    /// and frees what the runtime holds: its trees, files and — unless a snapshot or cursor
    /// taken earlier may still read the segment files — the directory lock. Uncommitted
    /// writes are discarded. A poisoned runtime writes nothing. Idempotent; later calls on the
    /// runtime or its fields fail with `Closed`.
    ///
    /// # Errors
    /// `Io` when the final sync or checkpoint fails (the commits already acknowledged under
    /// STRICT/BALANCED are durable regardless); the runtime is closed all the same.
    pub fn close(&self) -> Result<()> {
        // Held for the whole close: concurrent closes wait, then see `closed`.
        let mut threads = self.threads.lock();
        if self.inner.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        {
            let mut b = self.inner.bg.lock();
            b.stop = true;
            self.inner.bg_cv.notify_all();
        }
        for h in threads.drain(..) {
            let _ = h.join();
        }
        let lsn = {
            let w = self.inner.w.lock();
            self.inner.closing.store(true, Ordering::Release);
            w.lsn
        };
        let mut result = Ok(());
        if !self.inner.opts.read_only && !self.inner.poisoned.load(Ordering::Acquire) {
            result = self.inner.wait_durable(lsn);
            if result.is_ok() && self.inner.opts.checkpoint_on_close {
                result = self.inner.checkpoint_inner(true).map(|_| ());
                // Poisoned while it waited for a running checkpoint: it wrote nothing.
                if result
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::Poisoned)
                {
                    result = Ok(());
                }
            }
        }
        self.inner.closed.store(true, Ordering::Release);
        self.inner.release();
        result
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            log::error!("xtree runtime close on drop: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::SearchType;

    fn points(from: u64, n: u64) -> (Vec<u64>, Vec<f64>) {
        let ids: Vec<u64> = (from..from + n).collect();
        let coords = ids
            .iter()
            .flat_map(|&i| [(i % 97) as f64, (i / 97) as f64])
            .collect();
        (ids, coords)
    }

    fn options() -> RuntimeOptions {
        RuntimeOptions {
            durability: Durability::Strict,
            background_checkpoints: false,
            ..RuntimeOptions::default()
        }
    }

    /// The counters of issue 11: commits and their latency, checkpoints (count, pages,
    /// durations), recovery (replayed transactions and records), bytes on disk against the
    /// directory, heap bytes of written pages against loaded bytes of read ones.
    #[test]
    fn stats_count_commits_checkpoints_recovery_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let files_bytes = || -> u64 {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().len())
                .sum()
        };
        let written = {
            let no_final_checkpoint = RuntimeOptions {
                checkpoint_on_close: false,
                ..options()
            };
            let rt = Runtime::open(dir.path(), no_final_checkpoint).unwrap();
            let f = rt
                .field(
                    "geo",
                    IndexOptions::new(2, 64, vec!["x".into(), "y".into()]),
                )
                .unwrap();
            let (ids, coords) = points(0, 2000);
            f.insert_points(&ids, &coords).unwrap();
            rt.commit().unwrap();
            rt.commit().unwrap(); // nothing pending: not counted
            let s = rt.try_stats().unwrap();
            assert_eq!((s.commits, s.log_syncs, s.epoch), (2, 2, 2), "{s:?}");
            assert!(s.commit_nanos_max > 0 && s.commit_nanos_max <= s.commit_nanos_total);
            assert_eq!(s.fields, vec![("geo".to_string(), 2000)]);
            // 2000 points in point leaves: 8 bytes of row id and 16 of coordinates each, at least.
            assert!(s.heap_bytes >= 2000 * 24, "{s:?}");
            assert_eq!(s.loaded_bytes, 0);
            assert_eq!(s.checkpoints, 0);
            assert_eq!(s.disk_bytes, files_bytes());

            assert!(rt.checkpoint().unwrap());
            let c = rt.try_stats().unwrap();
            assert_eq!(c.checkpoints, 1);
            assert!(c.last_checkpoint_pages > 0);
            assert_eq!(c.checkpoint_pages_total, c.last_checkpoint_pages);
            assert_eq!(c.checkpoint_pages_total, c.checkpoint_pages);
            assert!(c.checkpoint_nanos_last > 0);
            assert_eq!(c.checkpoint_nanos_max, c.checkpoint_nanos_last);
            assert_eq!(c.checkpoint_nanos_total, c.checkpoint_nanos_last);
            assert_eq!(c.disk_bytes, files_bytes());

            // After the checkpoint: a batch, two single inserts and a delete; closed without
            // the final checkpoint (as after a crash, the reopen replays them).
            let (ids, coords) = points(5000, 30);
            f.insert_points(&ids, &coords).unwrap();
            rt.commit().unwrap();
            f.insert_point(9000, &[1.0, 2.0]).unwrap();
            f.insert_point(9001, &[1.0, 3.0]).unwrap();
            assert!(f.delete(9000, &[1.0, 2.0], &[1.0, 2.0]).unwrap());
            rt.commit().unwrap();
            let written = rt.try_stats().unwrap().heap_bytes;
            rt.close().unwrap();
            written
        };
        let rt = Runtime::open(dir.path(), options()).unwrap();
        let s = rt.try_stats().unwrap();
        assert_eq!(s.replayed_transactions, 2, "{s:?}");
        assert_eq!(s.replayed_records, 30 + 2 + 1, "{s:?}");
        assert!(s.recovery_nanos > 0);
        assert_eq!(s.commits, 0);
        assert_eq!(s.fields, vec![("geo".to_string(), 2000 + 30 + 1)]);
        // Only the replayed writes' pages are on the heap.
        assert!(
            s.heap_bytes > 0 && s.heap_bytes < written,
            "{s:?} vs {written}"
        );
        rt.close().unwrap();
        assert_eq!(rt.try_stats().unwrap_err().kind(), ErrorKind::Closed);

        // Closed with a checkpoint: nothing replayed, nothing on the heap; a query reads pages.
        let rt = Runtime::open(dir.path(), options()).unwrap();
        let s = rt.try_stats().unwrap();
        assert_eq!((s.replayed_transactions, s.replayed_records), (0, 0));
        assert_eq!(s.heap_bytes, 0, "{s:?}");
        let f = rt.get("geo").unwrap().unwrap();
        let all = [f64::NEG_INFINITY, f64::NEG_INFINITY];
        let inf = [f64::INFINITY, f64::INFINITY];
        assert_eq!(f.count(SearchType::Intersects, &all, &inf).unwrap(), 2031);
        let s = rt.try_stats().unwrap();
        assert!(s.loaded_bytes >= 2031 * 24, "{s:?}");
        assert_eq!(s.heap_bytes, 0);
    }
}
