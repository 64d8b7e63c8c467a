//! The durable runtime: one data directory holding any number of named fields (indexes) that
//! share one write-ahead log and commit atomically together (DESIGN.md §5; `docs/design.md`).
//!
//! - Writes apply at once to each field's live in-memory X-tree and append their logical
//!   operation to the runtime's pending transaction (under one writer lock).
//! - [`Runtime::commit`] writes the pending transaction to the log as one framed record group
//!   and, per [`Durability`], makes it durable, then publishes a snapshot of every field taken
//!   at the commit: readers only ever see committed states, and all fields change together.
//! - Checkpoints write the pages the last committed snapshots added since the previous
//!   checkpoint into the segment files, then the object tables, a manifest and the superblock;
//!   logs the checkpoint covers are deleted. Recovery maps the checkpoint's pages in place and
//!   replays the logs after it.
//! - Any failed write or sync poisons the runtime: writes and commits fail with
//!   `ErrorKind::Poisoned` until it is reopened; reads keep answering on the last published state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::backend::{Backend, BackendFile, StdBackend};
use super::checkpoint;
use super::manifest::{self, CheckpointRef, Manifest, NamedRoot};
use super::ops::{self, FieldMeta, Op};
use super::segments::{ObjectTable, Segments};
use super::superblock::{self, Superblock};
use super::wal::{self, WalWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::index::{page_info, Cursor, Index, IndexOptions, IndexSnapshot, SearchType};
use crate::store::{NodeId, NIL};

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
    /// Open without changing any file (no torn-tail truncation, no clean-up, writes refused):
    /// for `fsck`, `dump` and `stats`.
    pub read_only: bool,
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
            read_only: false,
        }
    }
}

/// File name of the directory lock.
pub const LOCK_FILE: &str = "LOCK";

struct FieldInner {
    id: u32,
    meta: FieldMeta,
    index: Index,
}

/// State owned by the single writer.
struct WriterState {
    wal: Option<WalWriter>,
    /// Epoch of the last commit.
    epoch: u64,
    /// Encoded operations since the last commit.
    pending: Vec<u8>,
    /// Snapshot of every field at `epoch` (what a checkpoint writes).
    last_commit: Arc<Vec<(FieldMeta, IndexSnapshot)>>,
    /// Bytes ever appended to logs: the log sequence number of the last commit.
    lsn: u64,
}

struct SyncState {
    file: Option<Arc<dyn BackendFile>>,
    written: u64,
    synced: u64,
    syncing: bool,
}

struct Published {
    epoch: u64,
    snaps: Vec<IndexSnapshot>,
}

struct CheckpointState {
    manifest_gen: u64,
    superblock_gen: u64,
    checkpoint: Option<CheckpointRef>,
    /// The segment files and their free space.
    segs: Segments,
    /// Per field (by id): the durable checkpoint's root and object table. Fields created
    /// since have none.
    tables: Vec<(NodeId, ObjectTable)>,
    /// Pages written by the last checkpoint.
    last_pages: u64,
}

#[derive(Default)]
struct Background {
    stop: bool,
    wake: bool,
}

struct Inner {
    backend: Arc<dyn Backend>,
    opts: RuntimeOptions,
    dir: Option<PathBuf>,
    lock: Mutex<Option<std::fs::File>>,
    w: Mutex<WriterState>,
    fields: RwLock<Vec<Arc<FieldInner>>>,
    names: RwLock<HashMap<String, u32>>,
    published: RwLock<Published>,
    sync: Mutex<SyncState>,
    sync_cv: Condvar,
    ckpt: Mutex<CheckpointState>,
    /// Epoch of the current checkpoint, and when it was taken (µs after `started`): what the
    /// commit path reads to decide whether to wake the checkpoint coordinator.
    ckpt_epoch: AtomicU64,
    ckpt_at_us: AtomicU64,
    started: Instant,
    /// Log syncs made for commits (STRICT, BALANCED and the EVENTUAL background sync).
    log_syncs: AtomicU64,
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
    /// Set (under the writer lock) when close begins: writes and commits are refused from then
    /// on, so none can slip between close's final sync and the end of the runtime.
    closing: AtomicBool,
    bg: Mutex<Background>,
    bg_cv: Condvar,
}

/// A durable runtime over one data directory. `Send + Sync`: share it by reference or `Arc`.
/// Dropping it closes it (see [`Runtime::close`]).
pub struct Runtime {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
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

/// A handle on one field of a [`Runtime`]: writes go to the runtime's pending transaction,
/// reads answer on the last published commit. Cheap to clone.
#[derive(Clone)]
pub struct Field {
    rt: Arc<Inner>,
    f: Arc<FieldInner>,
}

/// Every field's committed state at one epoch, held as long as this value lives.
#[derive(Clone)]
pub struct RuntimeSnapshot {
    epoch: u64,
    fields: Vec<(String, IndexSnapshot)>,
}

/// Figures of a runtime (for `stats` and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Open segment files (one descriptor each).
    pub segment_files: u64,
    /// Log syncs made for commits since open: with BALANCED, commits over syncs is the
    /// group-commit factor.
    pub log_syncs: u64,
}

fn poisoned_error(msg: &str) -> Error {
    Error::new(
        ErrorKind::Poisoned,
        format!("the runtime is poisoned by an earlier failure ({msg}); reopen it to write again"),
    )
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the durable runtime is closed",
            ));
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.closing.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the durable runtime is closing",
            ));
        }
        if self.opts.read_only {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the runtime was opened read-only",
            ));
        }
        if self.poisoned.load(Ordering::Acquire) {
            let msg = self.poison.lock().clone().unwrap_or_default();
            return Err(poisoned_error(&msg));
        }
        Ok(())
    }

    /// Records the first failure and refuses writes from now on. Returns the error.
    fn poison(&self, e: Error) -> Error {
        let mut p = self.poison.lock();
        if p.is_none() {
            log::error!("xtree runtime poisoned: {e}");
            *p = Some(e.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
        drop(p);
        self.sync_cv.notify_all();
        e
    }

    fn guard<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| self.poison(e))
    }

    fn snapshot_all(&self) -> Arc<Vec<(FieldMeta, IndexSnapshot)>> {
        Arc::new(
            self.fields
                .read()
                .iter()
                .map(|f| (f.meta.clone(), f.index.snapshot()))
                .collect(),
        )
    }

    fn publish(&self, epoch: u64, snaps: &[(FieldMeta, IndexSnapshot)]) {
        let mut p = self.published.write();
        if epoch > p.epoch {
            p.epoch = epoch;
            p.snaps = snaps.iter().map(|(_, s)| s.clone()).collect();
        }
    }

    /// One sync of the current log if anything written is not yet durable; as the leader of a
    /// group when no other sync runs, else waits for the running one. Returns when `lsn` is
    /// durable.
    fn wait_durable(&self, lsn: u64) -> Result<()> {
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

    fn commit(&self) -> Result<u64> {
        let mut w = self.w.lock();
        self.check_writable()?;
        if w.pending.is_empty() {
            let (epoch, lsn) = (w.epoch, w.lsn);
            drop(w);
            if self.opts.durability != Durability::Eventual {
                self.wait_durable(lsn)?;
            }
            return Ok(epoch);
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
        Ok(epoch)
    }

    /// Whether a checkpoint trigger fired. Reads atomics only: a commit must not wait for the
    /// checkpoint lock, which a running checkpoint holds while it writes.
    fn wants_checkpoint(&self, epoch: u64, log_size: u64) -> bool {
        let base = self.ckpt_epoch.load(Ordering::Acquire);
        if epoch <= base {
            return false;
        }
        log_size >= self.opts.checkpoint_log_bytes
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

    fn checkpoint(&self) -> Result<bool> {
        self.checkpoint_inner(false)
    }

    /// A checkpoint; `closing` lets close's own final checkpoint run after writes are refused.
    fn checkpoint_inner(&self, closing: bool) -> Result<bool> {
        let mut c = self.ckpt.lock();
        // 1. Under the writer lock: make the current log durable, start the next one, and take
        //    the snapshots of the last commit. Commits after this go to the new log.
        let (epoch, snaps, new_seq) = {
            let mut w = self.w.lock();
            if !closing {
                self.check_writable()?;
            }
            if c.checkpoint.as_ref().map_or(0, |r| r.epoch) == w.epoch {
                return Ok(false);
            }
            let old = w.wal.as_ref().expect("log");
            let new_seq = old.seq() + 1;
            let r = old.sync();
            self.guard(r)?;
            let created = WalWriter::create(self.backend.as_ref(), new_seq);
            let new = self.guard(created)?;
            let r = self.backend.sync_dir();
            self.guard(r)?;
            {
                let mut s = self.sync.lock();
                s.synced = s.synced.max(w.lsn);
                s.file = Some(new.file());
            }
            w.wal = Some(new);
            (w.epoch, w.last_commit.clone(), new_seq)
        };
        // Everything up to `epoch` is durable now: let readers see it (BALANCED may lag).
        self.publish(epoch, &snaps);
        // 2. The new pages into the segment files, 3. the object tables, 4. the manifest
        //    naming them, 5. the superblock naming the manifest.
        let state = &mut *c;
        let r = write_pages(&mut state.segs, &state.tables, epoch, &snaps).and_then(
            |(plan, tables)| {
                let images: Vec<checkpoint::FieldImage<'_>> = snaps
                    .iter()
                    .zip(&tables)
                    .map(|((meta, snap), (root, table))| checkpoint::FieldImage {
                        meta,
                        records: snap.len(),
                        root: *root,
                        table,
                    })
                    .collect();
                let (file, bytes) = checkpoint::write(self.backend.as_ref(), epoch, &images)?;
                let roots = snaps
                    .iter()
                    .enumerate()
                    .map(|(i, (m, s))| NamedRoot {
                        name: m.name.clone(),
                        field: i as u32,
                        records: s.len(),
                    })
                    .collect();
                let segments = plan.refs();
                let mut files: Vec<String> = segments.iter().map(|s| s.file.clone()).collect();
                files.push(file.clone());
                files.push(wal::file_name(new_seq));
                let m = Manifest {
                    format_version: manifest::FORMAT_VERSION,
                    generation: state.manifest_gen + 1,
                    checkpoint: Some(CheckpointRef { file, epoch, bytes }),
                    wal_start: new_seq,
                    roots,
                    files,
                    segments,
                };
                let crc = manifest::write(self.backend.as_ref(), &m)?;
                let sb = Superblock {
                    generation: state.superblock_gen + 1,
                    manifest: m.generation,
                    manifest_crc: crc,
                };
                superblock::write(self.backend.as_ref(), &sb)?;
                // The checkpoint is durable: its allocation becomes the one recovery rebuilds.
                let pages = plan.pages;
                plan.commit();
                Ok((m, sb, tables, pages))
            },
        );
        let (m, sb, tables, pages) = self.guard(r)?;
        c.tables = tables;
        c.last_pages = pages;
        c.manifest_gen = m.generation;
        c.superblock_gen = sb.generation;
        c.checkpoint = m.checkpoint.clone();
        self.ckpt_epoch.store(epoch, Ordering::Release);
        self.ckpt_at_us
            .store(self.started.elapsed().as_micros() as u64, Ordering::Release);
        drop(c);
        // 5. What the new state no longer needs. A failure here leaves garbage that the next
        //    open removes; it does not poison.
        if let Err(e) = remove_garbage(self.backend.as_ref(), &m) {
            log::warn!("xtree checkpoint clean-up: {e}");
        }
        Ok(true)
    }

    fn stats(&self) -> RuntimeStats {
        // Before the writer lock: a checkpoint takes `ckpt` and then `w`.
        let c = self.ckpt.lock();
        let checkpoint_epoch = c.checkpoint.as_ref().map_or(0, |r| r.epoch);
        let seg = c.segs.stats();
        let checkpoint_pages = c.tables.iter().map(|(_, t)| t.len() as u64).sum();
        let last_checkpoint_pages = c.last_pages;
        drop(c);
        let w = self.w.lock();
        let p = self.published.read();
        let names: Vec<String> = self
            .fields
            .read()
            .iter()
            .map(|f| f.meta.name.clone())
            .collect();
        RuntimeStats {
            epoch: w.epoch,
            published_epoch: p.epoch,
            wal_seq: w.wal.as_ref().map_or(0, |l| l.seq()),
            wal_bytes: w.wal.as_ref().map_or(0, |l| l.size()),
            checkpoint_epoch,
            checkpoint_pages,
            last_checkpoint_pages,
            segment_bytes: seg.bytes,
            segment_files: seg.files,
            log_syncs: self.log_syncs.load(Ordering::Relaxed),
            fields: names
                .into_iter()
                .zip(p.snaps.iter().map(|s| s.len()))
                .collect(),
        }
    }
}

/// The incremental part of a checkpoint (see [`super::segments`]): for each field, writes the
/// pages of its snapshot that the durable checkpoint's object table does not hold, and frees
/// the slots of the pages the old tree had and the new one lacks. Returns the allocation plan
/// (synced; to be committed once the checkpoint is durable) and every field's new root and
/// object table.
///
/// # Errors
/// `Io` from the backend; `Corruption` when a page of the old checkpoint cannot be read back;
/// `Internal` when the new table would give one handle two pages (a bug).
fn write_pages<'s>(
    segs: &'s mut Segments,
    old: &[(NodeId, ObjectTable)],
    epoch: u64,
    snaps: &[(FieldMeta, IndexSnapshot)],
) -> Result<(super::segments::Plan<'s>, Vec<(NodeId, ObjectTable)>)> {
    let mut plan = segs.plan();
    let mut tables = Vec::with_capacity(snaps.len());
    let empty = (NIL, ObjectTable::default());
    for (i, (meta, snap)) in snaps.iter().enumerate() {
        let (old_root, old_table) = old.get(i).unwrap_or(&empty);
        let mut table = old_table.clone();
        // Pages the old checkpoint has and the new tree still uses: the roots of unchanged
        // subtrees, where the walk stops.
        let mut kept = std::collections::HashSet::new();
        let mut added = Vec::new();
        snap.walk(
            |id| {
                let on_disk = old_table.holds(id);
                if on_disk {
                    kept.insert(id);
                }
                on_disk
            },
            |id, page, level| {
                added.push(plan.write(id, page, level, epoch)?);
                Ok(())
            },
        )?;
        // The old tree's pages outside the kept subtrees are gone from the new tree.
        let mut stack = Vec::new();
        if *old_root != NIL {
            stack.push(*old_root);
        }
        while let Some(id) = stack.pop() {
            if kept.contains(&id) {
                continue;
            }
            let e = table.remove(id).ok_or_else(|| {
                Error::new(
                    ErrorKind::Corruption,
                    format!(
                        "field {}: node {id:#x} of the checkpoint is not in its object table",
                        meta.name
                    ),
                )
            })?;
            plan.free(&e);
            if e.level > 0 {
                let page = plan.read(&e)?;
                stack.extend(page_info(meta.precision, meta.dimension, &page)?.children);
            }
        }
        for e in added {
            table.insert(e).map_err(|e| {
                Error::internal(format!(
                    "checkpoint of field {}: {}",
                    meta.name,
                    e.message()
                ))
            })?;
        }
        tables.push((snap.root(), table));
    }
    plan.sync()?;
    Ok((plan, tables))
}

/// Removes logs, checkpoints, manifests and temporary files that manifest `m` does not need.
fn remove_garbage(backend: &dyn Backend, m: &Manifest) -> Result<()> {
    let keep_ckpt = m.checkpoint.as_ref().map(|c| c.file.clone());
    let mut removed = false;
    for name in backend.list()? {
        let garbage = name.ends_with(".tmp")
            || wal::parse_name(&name).is_some_and(|s| s < m.wal_start)
            || (checkpoint::parse_name(&name).is_some() && Some(&name) != keep_ckpt.as_ref())
            || manifest::parse_name(&name).is_some_and(|g| g != m.generation);
        if garbage {
            backend.remove(&name)?;
            removed = true;
        }
    }
    if removed {
        backend.sync_dir()?;
    }
    Ok(())
}

/// Applies one replayed operation to the fields being recovered.
fn apply_op(fields: &mut Vec<(FieldMeta, Index)>, op: Op) -> Result<()> {
    let bad = |msg: String| Error::new(ErrorKind::Corruption, format!("log replay: {msg}"));
    let field = |fields: &mut Vec<(FieldMeta, Index)>, id: u32| -> Result<usize> {
        if (id as usize) < fields.len() {
            Ok(id as usize)
        } else {
            Err(bad(format!("operation on unknown field {id}")))
        }
    };
    let wrap = |e: Error| bad(e.message().to_string());
    let delete = matches!(op, Op::Delete { .. });
    match op {
        Op::CreateField { field: id, meta } => {
            if id as usize != fields.len() {
                return Err(bad(format!("field {id} created out of order")));
            }
            let index = Index::with_options(meta.options()).map_err(wrap)?;
            fields.push((meta, index));
        }
        Op::Insert {
            field: id,
            row,
            coords,
        }
        | Op::Delete {
            field: id,
            row,
            coords,
        } => {
            let i = field(fields, id)?;
            let ix = &fields[i].1;
            let d = coords.len() / 2;
            if d != ix.dimension() {
                return Err(bad(format!("a {d}-dimensional record for field {id}")));
            }
            let (min, max) = (&coords[..d], &coords[d..]);
            if delete {
                // Only deletes that found their record are logged: replay must find it too.
                if !ix.delete(row, min, max).map_err(wrap)? {
                    return Err(bad(format!("delete of row {row} that field {id} lacks")));
                }
            } else {
                ix.insert(row, min, max).map_err(wrap)?;
            }
        }
        Op::InsertPoints {
            field: id,
            rows,
            coords,
        } => {
            let i = field(fields, id)?;
            fields[i].1.insert_points(&rows, &coords).map_err(wrap)?;
        }
    }
    Ok(())
}

/// Takes the advisory lock of data directory `dir` (file [`LOCK_FILE`]): exclusive for a
/// writer, shared for read-only tools. The lock lasts as long as the returned file is open.
///
/// # Errors
/// `Io` naming the directory when another opener holds a conflicting lock.
pub fn lock_dir(dir: &Path, shared: bool) -> Result<std::fs::File> {
    let lock_path = dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| super::backend::io_error("open", &lock_path.display().to_string(), e))?;
    let locked = if shared {
        lock.try_lock_shared()
    } else {
        lock.try_lock()
    };
    if let Err(e) = locked {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "data directory {} is locked by another opener (a runtime in this or another \
                 process): {e}",
                dir.display()
            ),
        ));
    }
    Ok(lock)
}

impl Runtime {
    /// Opens (creating if needed) the data directory `dir` and recovers its last committed
    /// state: superblock → manifest → checkpoint → log replay. The directory is locked until
    /// [`Runtime::close`].
    ///
    /// # Errors
    /// `Io` when the directory cannot be created or is locked by another opener (in this or
    /// another process) or a file cannot be read; `Corruption` for damaged files.
    pub fn open(dir: impl AsRef<Path>, opts: RuntimeOptions) -> Result<Runtime> {
        let dir = dir.as_ref();
        let backend = StdBackend::new(dir)?;
        let lock = lock_dir(dir, opts.read_only)?;
        Self::open_inner(Arc::new(backend), opts, Some(lock), Some(dir.to_path_buf()))
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
        let backend = StdBackend::new(dir)?;
        let lock = lock_dir(dir, opts.read_only)?;
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
        lock: Option<std::fs::File>,
        dir: Option<PathBuf>,
    ) -> Result<Runtime> {
        let b = backend.as_ref();
        if !b.exists(superblock::FILE)? {
            if opts.read_only {
                return Err(Error::new(
                    ErrorKind::Io,
                    "not a data directory (no SUPERBLOCK file)",
                ));
            }
            // A new directory, or one whose creation never finished: start it over.
            for name in b.list()? {
                if wal::parse_name(&name).is_some()
                    || checkpoint::parse_name(&name).is_some()
                    || manifest::parse_name(&name).is_some()
                    || super::segments::parse_name(&name).is_some()
                    || name.ends_with(".tmp")
                {
                    b.remove(&name)?;
                }
            }
            WalWriter::create(b, 0)?;
            let m = Manifest {
                format_version: manifest::FORMAT_VERSION,
                generation: 1,
                checkpoint: None,
                wal_start: 0,
                roots: vec![],
                files: vec![wal::file_name(0)],
                segments: vec![],
            };
            let crc = manifest::write(b, &m)?;
            superblock::create(
                b,
                &Superblock {
                    generation: 1,
                    manifest: 1,
                    manifest_crc: crc,
                },
            )?;
        }
        let (sb, _) = superblock::read(b)?;
        let m = manifest::read(b, sb.manifest, sb.manifest_crc)?;
        let mut fields: Vec<(FieldMeta, Index)> = Vec::new();
        let mut epoch = 0;
        let mut tables = Vec::new();
        if let Some(c) = &m.checkpoint {
            let loaded = checkpoint::read(b, &c.file)?;
            if loaded.epoch != c.epoch {
                return Err(Error::new(
                    ErrorKind::Corruption,
                    format!(
                        "{} holds epoch {}, the manifest says {}",
                        c.file, loaded.epoch, c.epoch
                    ),
                ));
            }
            epoch = loaded.epoch;
            tables = loaded
                .fields
                .into_iter()
                .map(|f| (f.meta, f.records, f.root, f.table))
                .collect::<Vec<_>>();
        }
        let mut segs = Segments::open(backend.clone(), tables.iter().map(|t| &t.3))?;
        let present = segs.refs();
        for s in &m.segments {
            if present.iter().all(|r| r.file != s.file) {
                return Err(Error::new(
                    ErrorKind::Corruption,
                    format!("segment file {} named by the manifest is missing", s.file),
                ));
            }
        }
        let mut roots = Vec::with_capacity(tables.len());
        for (meta, records, root, table) in tables {
            let pages = table
                .iter()
                .map(|e| Ok((e.node, segs.page(e)?)))
                .collect::<Result<Vec<_>>>()?;
            let index = Index::from_pages(meta.options(), pages, root, records).map_err(|e| {
                Error::new(
                    ErrorKind::Corruption,
                    format!("field {}: {}", meta.name, e.message()),
                )
            })?;
            fields.push((meta, index));
            roots.push((root, table));
        }
        // Replay every log from wal_start on, in order, until one is missing.
        let mut seq = m.wal_start;
        let mut last: Option<(u64, u64)> = None;
        let mut lsn = 0u64;
        let mut unfinished = None;
        loop {
            let name = wal::file_name(seq);
            if !b.exists(&name)? {
                break;
            }
            if seq > m.wal_start && !b.exists(&wal::file_name(seq + 1))? {
                // A log receives commits only after its header is synced, so a newest log
                // with a bad header is one whose creation a crash or fault interrupted: it
                // holds nothing. It is recreated when writing resumes.
                let f = b.open(&name, false)?;
                if let Err(e) = wal::read_header(f.as_ref(), &name) {
                    if e.kind() != ErrorKind::Corruption {
                        return Err(e);
                    }
                    log::warn!("ignoring an unfinished log: {e}");
                    unfinished = Some(seq);
                    break;
                }
            }
            let report = wal::scan(b, &name, |txn_epoch, payload| {
                if txn_epoch <= epoch {
                    return Ok(()); // already in the checkpoint
                }
                if txn_epoch != epoch + 1 {
                    // Every commit takes the next epoch: a gap means lost transactions.
                    return Err(Error::new(
                        ErrorKind::Corruption,
                        format!(
                            "{name}: transaction {txn_epoch} follows {epoch}: commits are missing"
                        ),
                    ));
                }
                ops::decode(payload, |op| apply_op(&mut fields, op))?;
                epoch = txn_epoch;
                Ok(())
            })?;
            if report.seq != seq {
                return Err(Error::new(
                    ErrorKind::Corruption,
                    format!("{name} holds log sequence number {}", report.seq),
                ));
            }
            if let Some(why) = &report.stopped {
                if b.exists(&wal::file_name(seq + 1))? {
                    return Err(Error::new(
                        ErrorKind::Corruption,
                        format!("{name} is damaged ({why}) although later logs exist"),
                    ));
                }
            }
            lsn += report.valid_end;
            last = Some((seq, report.valid_end));
            seq += 1;
        }
        // Replay stopped at the first missing log: a later one means a log in the middle is
        // gone, and with it committed transactions.
        if let Some(later) = b
            .list()?
            .iter()
            .filter_map(|n| wal::parse_name(n))
            .find(|&s| s > seq)
        {
            return Err(Error::new(
                ErrorKind::Corruption,
                format!(
                    "{} is missing although {} exists",
                    wal::file_name(seq),
                    wal::file_name(later)
                ),
            ));
        }
        let Some((last_seq, last_end)) = last else {
            return Err(Error::new(
                ErrorKind::Corruption,
                format!(
                    "log {} named by the manifest is missing",
                    wal::file_name(m.wal_start)
                ),
            ));
        };
        let wal = if opts.read_only {
            None
        } else {
            if let Some(seq) = unfinished {
                b.remove(&wal::file_name(seq))?;
                b.sync_dir()?;
            }
            let w = WalWriter::reopen(b, last_seq, last_end)?;
            remove_garbage(b, &m)?;
            Some(w)
        };
        let mut names = HashMap::new();
        let fields: Vec<Arc<FieldInner>> = fields
            .into_iter()
            .enumerate()
            .map(|(i, (meta, index))| {
                names.insert(meta.name.clone(), i as u32);
                Arc::new(FieldInner {
                    id: i as u32,
                    meta,
                    index,
                })
            })
            .collect();
        let snaps: Arc<Vec<(FieldMeta, IndexSnapshot)>> = Arc::new(
            fields
                .iter()
                .map(|f| (f.meta.clone(), f.index.snapshot()))
                .collect(),
        );
        let file = wal.as_ref().map(|w| w.file());
        let inner = Arc::new(Inner {
            backend,
            dir,
            lock: Mutex::new(lock),
            w: Mutex::new(WriterState {
                wal,
                epoch,
                pending: Vec::new(),
                last_commit: snaps.clone(),
                lsn,
            }),
            fields: RwLock::new(fields),
            names: RwLock::new(names),
            published: RwLock::new(Published {
                epoch,
                snaps: snaps.iter().map(|(_, s)| s.clone()).collect(),
            }),
            sync: Mutex::new(SyncState {
                file,
                written: lsn,
                synced: lsn,
                syncing: false,
            }),
            sync_cv: Condvar::new(),
            ckpt: Mutex::new(CheckpointState {
                manifest_gen: m.generation,
                superblock_gen: sb.generation,
                checkpoint: m.checkpoint.clone(),
                segs,
                tables: roots,
                last_pages: 0,
            }),
            ckpt_epoch: AtomicU64::new(m.checkpoint.as_ref().map_or(0, |c| c.epoch)),
            ckpt_at_us: AtomicU64::new(0),
            started: Instant::now(),
            log_syncs: AtomicU64::new(0),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            bg: Mutex::new(Background::default()),
            bg_cv: Condvar::new(),
            opts,
        });
        let needs_thread = !inner.opts.read_only
            && (inner.opts.background_checkpoints || inner.opts.durability == Durability::Eventual);
        let thread = if needs_thread {
            let bg = inner.clone();
            Some(
                std::thread::Builder::new()
                    .name("xtree-checkpoint".into())
                    .spawn(move || background(bg))
                    .map_err(|e| Error::new(ErrorKind::Io, format!("spawn thread: {e}")))?,
            )
        } else {
            None
        };
        Ok(Runtime {
            inner,
            thread: Mutex::new(thread),
        })
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
            let m = &f.f.meta;
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
        if name.is_empty() || name.len() > 1024 {
            return Err(Error::invalid("a field name has 1..=1024 bytes"));
        }
        let index = Index::with_options(options.clone())?;
        {
            let mut w = self.inner.w.lock();
            self.inner.check_writable()?;
            if self.inner.names.read().contains_key(name) {
                drop(w);
                return self.field(name, options);
            }
            let id = self.inner.fields.read().len() as u32;
            let meta = FieldMeta {
                name: name.to_string(),
                dimension: options.dimension,
                precision: options.precision,
                labels: options.labels.clone(),
                node_size: options.node_size,
            };
            ops::put_create_field(&mut w.pending, id, &meta);
            self.inner
                .fields
                .write()
                .push(Arc::new(FieldInner { id, meta, index }));
            self.inner.names.write().insert(name.to_string(), id);
        }
        self.inner.commit()?;
        Ok(self.get(name)?.expect("the field was just created"))
    }

    /// The existing field `name`, if any.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn get(&self, name: &str) -> Result<Option<Field>> {
        self.inner.check_open()?;
        let id = self.inner.names.read().get(name).copied();
        Ok(id.map(|id| Field {
            rt: self.inner.clone(),
            f: self.inner.fields.read()[id as usize].clone(),
        }))
    }

    /// Names of the fields, in creation order.
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
    /// Returns whether one was written.
    ///
    /// # Errors
    /// As [`Runtime::commit`]; a failed checkpoint poisons the runtime.
    pub fn checkpoint(&self) -> Result<bool> {
        self.inner.checkpoint()
    }

    /// Every field's committed state at the last published epoch, held until dropped.
    pub fn snapshot(&self) -> Result<RuntimeSnapshot> {
        self.inner.check_open()?;
        let p = self.inner.published.read();
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

    /// Figures of the runtime.
    pub fn stats(&self) -> RuntimeStats {
        self.inner.stats()
    }

    /// Verifies the durable checkpoint's pages against its object tables ("object table vs
    /// allocator" of `xtree fsck`): reads every page of every field's checkpointed tree from its
    /// segment file (not through the mapping) and checks its CRC and level, that each child is
    /// one level below its parent, that every entry of each table is reached exactly once from
    /// its root (no leaked and no shared slot), and that the allocator's used slots are exactly
    /// the table's entries.
    ///
    /// # Errors
    /// `Corruption` naming the first problem; `Io` from the backend.
    pub fn verify_checkpoint(&self) -> Result<super::segments::SegmentStats> {
        let c = self.inner.ckpt.lock();
        let metas: Vec<FieldMeta> = self
            .inner
            .fields
            .read()
            .iter()
            .map(|f| f.meta.clone())
            .collect();
        let bad = |msg: String| Error::new(ErrorKind::Corruption, msg);
        let mut pages = 0u64;
        for (i, (root, table)) in c.tables.iter().enumerate() {
            let meta = metas
                .get(i)
                .ok_or_else(|| bad(format!("checkpoint field {i} has no field")))?;
            let mut seen = std::collections::HashSet::new();
            let mut stack = Vec::new();
            if *root != NIL {
                stack.push((*root, None));
            }
            while let Some((id, parent_level)) = stack.pop() {
                let e = table.get(id).filter(|e| e.node == id).ok_or_else(|| {
                    bad(format!(
                        "field {}: node {id:#x} is not in the object table",
                        meta.name
                    ))
                })?;
                if !seen.insert(id) {
                    return Err(bad(format!(
                        "field {}: node {id:#x} is reached twice",
                        meta.name
                    )));
                }
                if parent_level.is_some_and(|p: u32| e.level + 1 != p) {
                    return Err(bad(format!(
                        "field {}: node {id:#x} at level {} under a node of level {:?}",
                        meta.name, e.level, parent_level
                    )));
                }
                let page = c.segs.read(e)?;
                let info = page_info(meta.precision, meta.dimension, &page)?;
                stack.extend(info.children.into_iter().map(|k| (k, Some(e.level))));
            }
            if seen.len() != table.len() {
                return Err(bad(format!(
                    "field {}: {} object table entries, {} reachable from the root",
                    meta.name,
                    table.len(),
                    seen.len()
                )));
            }
            pages += seen.len() as u64;
        }
        let mut st = c.segs.stats();
        if st.used_slots != pages {
            return Err(bad(format!(
                "the allocator has {} slots in use for {pages} pages",
                st.used_slots
            )));
        }
        st.pages = pages;
        Ok(st)
    }

    /// The data directory, for runtimes opened with [`Runtime::open`].
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// Whether an earlier failure has poisoned the runtime, and why.
    pub fn poisoned(&self) -> Option<String> {
        self.inner.poison.lock().clone()
    }

    /// Stops the background thread, makes every commit durable, checkpoints if configured, and
    /// releases the directory lock. Uncommitted writes are discarded. Idempotent; later calls
    /// on the runtime or its fields fail with `Closed`.
    ///
    /// # Errors
    /// `Io` when the final sync or checkpoint fails (the commits already acknowledged under
    /// STRICT/BALANCED are durable regardless).
    pub fn close(&self) -> Result<()> {
        // Held for the whole close: concurrent closes wait, then see `closed`.
        let mut thread = self.thread.lock();
        if self.inner.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        {
            let mut b = self.inner.bg.lock();
            b.stop = true;
            self.inner.bg_cv.notify_all();
        }
        if let Some(h) = thread.take() {
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
            }
        }
        self.inner.closed.store(true, Ordering::Release);
        *self.inner.lock.lock() = None;
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

fn background(rt: Arc<Inner>) {
    let tick = if rt.opts.durability == Durability::Eventual {
        rt.opts.sync_interval
    } else {
        Duration::from_millis(500)
    };
    loop {
        {
            let mut b = rt.bg.lock();
            if !b.stop && !b.wake {
                rt.bg_cv.wait_for(&mut b, tick);
            }
            if b.stop {
                return;
            }
            b.wake = false;
        }
        if rt.poisoned.load(Ordering::Acquire) {
            continue;
        }
        if rt.opts.durability == Durability::Eventual {
            let lsn = rt.sync.lock().written;
            if let Err(e) = rt.wait_durable(lsn) {
                log::error!("xtree background sync: {e}");
                continue;
            }
        }
        if rt.opts.background_checkpoints {
            let (epoch, size) = {
                let w = rt.w.lock();
                (w.epoch, w.wal.as_ref().map_or(0, |l| l.size()))
            };
            if rt.wants_checkpoint(epoch, size) {
                if let Err(e) = rt.checkpoint() {
                    log::error!("xtree background checkpoint: {e}");
                }
            }
        }
    }
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.f.meta.name
    }

    /// The field's options.
    pub fn options(&self) -> IndexOptions {
        self.f.meta.options()
    }

    /// Number of dimensions.
    pub fn dimension(&self) -> usize {
        self.f.meta.dimension
    }

    fn write<T>(&self, op: impl FnOnce(&Index, &mut Vec<u8>) -> Result<T>) -> Result<T> {
        let mut w = self.rt.w.lock();
        self.rt.check_writable()?;
        op(&self.f.index, &mut w.pending)
    }

    /// Inserts (`row_id`, box `[min, max]`) into the pending transaction. Shapes and errors as
    /// [`Index::insert`], plus `Poisoned` and `Closed`.
    pub fn insert(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<()> {
        let id = self.f.id;
        self.write(|ix, log| {
            ix.insert(row_id, min, max)?;
            ops::put_record(log, false, id, row_id, min, max);
            Ok(())
        })
    }

    /// Inserts a point; see [`Field::insert`].
    pub fn insert_point(&self, row_id: u64, point: &[f64]) -> Result<()> {
        self.insert(row_id, point, point)
    }

    /// Inserts points, row-major; shapes and errors as [`Index::insert_points`].
    pub fn insert_points(&self, row_ids: &[u64], coords: &[f64]) -> Result<()> {
        let (id, d) = (self.f.id, self.dimension());
        self.write(|ix, log| {
            ix.insert_points(row_ids, coords)?;
            ops::put_points(log, id, d, row_ids, coords);
            Ok(())
        })
    }

    /// Inserts boxes, row-major mins and maxs, all or nothing; shapes and errors as
    /// [`Index::insert_boxes`].
    pub fn insert_boxes(&self, row_ids: &[u64], mins: &[f64], maxs: &[f64]) -> Result<()> {
        let (id, d) = (self.f.id, self.dimension());
        self.write(|ix, log| {
            ix.insert_boxes(row_ids, mins, maxs)?;
            for (i, &row) in row_ids.iter().enumerate() {
                let r = i * d..(i + 1) * d;
                ops::put_record(log, false, id, row, &mins[r.clone()], &maxs[r]);
            }
            Ok(())
        })
    }

    /// Deletes one record (`row_id`, box); returns whether it existed. See [`Index::delete`].
    pub fn delete(&self, row_id: u64, min: &[f64], max: &[f64]) -> Result<bool> {
        let id = self.f.id;
        self.write(|ix, log| {
            let found = ix.delete(row_id, min, max)?;
            if found {
                ops::put_record(log, true, id, row_id, min, max);
            }
            Ok(found)
        })
    }

    /// Replaces (`row_id`, old box) by (`row_id`, new box); see [`Index::update`].
    pub fn update(
        &self,
        row_id: u64,
        old_min: &[f64],
        old_max: &[f64],
        new_min: &[f64],
        new_max: &[f64],
    ) -> Result<bool> {
        let id = self.f.id;
        self.write(|ix, log| {
            let found = ix.update(row_id, old_min, old_max, new_min, new_max)?;
            if found {
                ops::put_record(log, true, id, row_id, old_min, old_max);
                ops::put_record(log, false, id, row_id, new_min, new_max);
            }
            Ok(found)
        })
    }

    /// The committed state of this field that new readers see.
    ///
    /// # Errors
    /// `Closed` after close.
    pub fn snapshot(&self) -> Result<IndexSnapshot> {
        self.rt.check_open()?;
        let p = self.rt.published.read();
        match p.snaps.get(self.f.id as usize) {
            Some(s) => Ok(s.clone()),
            // Created but its creation not yet published (BALANCED, mid-commit): empty.
            None => Ok(Index::with_options(self.options())?.snapshot()),
        }
    }

    /// Committed records.
    pub fn len(&self) -> Result<u64> {
        Ok(self.snapshot()?.len())
    }

    /// True when no committed record exists.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Window query on the committed state; see [`Index::search`].
    pub fn search(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Vec<u64>> {
        self.snapshot()?.search(ty, min, max)
    }

    /// Count on the committed state; see [`Index::count`].
    pub fn count(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<u64> {
        self.snapshot()?.count(ty, min, max)
    }

    /// kNN on the committed state; see [`Index::nearest`].
    pub fn nearest(&self, point: &[f64], k: usize) -> Result<Vec<u64>> {
        self.snapshot()?.nearest(point, k)
    }

    /// Paged window query on the committed state; see [`Index::cursor`].
    pub fn cursor(&self, ty: SearchType, min: &[f64], max: &[f64]) -> Result<Cursor> {
        self.snapshot()?.cursor(ty, min, max)
    }
}

impl RuntimeSnapshot {
    /// The commit epoch this snapshot shows.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The snapshot of field `name`, if it existed at that epoch.
    pub fn field(&self, name: &str) -> Option<&IndexSnapshot> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Field names and snapshots.
    pub fn fields(&self) -> &[(String, IndexSnapshot)] {
        &self.fields
    }
}
