//! Checkpoints, the background threads that trigger them and sync the log, and the clean-up of
//! files the current state no longer needs (DESIGN.md §5; `docs/design.md`, "Checkpoints").
//!
//! A checkpoint runs under the checkpoint lock from start to clean-up: checkpoints are
//! serialised, so a checkpoint's clean-up can never delete the temporary, checkpoint or
//! manifest files of another one in flight. It re-checks, under that lock, that the runtime is
//! not poisoned: a checkpoint that failed while this one waited may have put its manifest or
//! superblock on disk, and a second checkpoint would then reuse that manifest's generation.
//!
//! Background work runs on two threads so that neither waits for the other: the EVENTUAL log
//! sync every [`super::RuntimeOptions::sync_interval`] (a checkpoint can take seconds; the
//! commits of those seconds must not all wait for it to become durable), and the checkpoint
//! coordinator, which checks the triggers when a commit wakes it and every half second.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backend::Backend;
use super::checkpoint;
use super::manifest::{self, CheckpointRef, Manifest, NamedRoot};
use super::ops::FieldMeta;
use super::runtime::Inner;
use super::segments::{ObjectTable, Plan, SegmentStats, Segments};
use super::superblock::{self, Superblock};
use super::wal::{self, WalWriter};
use super::Durability;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{page_info, IndexSnapshot};
use crate::store::{NodeId, NIL};

/// Epoch collector nudges after letting pages leave memory (each a pin and a flush, well under
/// a microsecond when there is nothing to free).
const EVICT_NUDGES: usize = 256;

/// How often the checkpoint coordinator looks at the time trigger when no commit wakes it.
const COORDINATOR_TICK: Duration = Duration::from_millis(500);

/// State of checkpoints, under the checkpoint lock.
pub(super) struct CheckpointState {
    /// The current manifest (the one the durable superblock names).
    pub(super) manifest: Manifest,
    pub(super) superblock_gen: u64,
    /// The segment files and their free space.
    pub(super) segs: Segments,
    /// Per field (by id): the durable checkpoint's root and object table. Fields created
    /// since have none.
    pub(super) tables: Vec<(NodeId, ObjectTable)>,
    /// Pages written by the last checkpoint.
    pub(super) last_pages: u64,
}

/// What a compaction did ([`super::Runtime::compact`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// Bytes of the segment files before.
    pub bytes_before: u64,
    /// Bytes of the segment files after (equal to `bytes_before` when nothing could move).
    pub bytes_after: u64,
    /// Bytes of the slots the checkpoint's pages use (what no compaction can reclaim).
    pub live_bytes: u64,
    /// Pages of the checkpoint moved to lower slots.
    pub pages_moved: u64,
    /// Pages that only snapshots, cursors or unread pages of an older tree still needed,
    /// moved to lower slots with them.
    pub held_pages_moved: u64,
    /// Duration, nanoseconds (the checkpoint [`super::Runtime::compact`] runs first excluded).
    pub nanos: u64,
}

impl Inner {
    /// A checkpoint of the last commit (a no-op returning false when the current checkpoint
    /// covers it); `closing` lets close's own final checkpoint run after writes are refused.
    pub(super) fn checkpoint_inner(&self, closing: bool) -> Result<bool> {
        let mut guard = self.ckpt.lock();
        // Timed from here: the wait for a running checkpoint is not this one's duration.
        let start = Instant::now();
        // Under the lock: a checkpoint that failed while this one waited has poisoned the
        // runtime (and its manifest generation may be on disk), and close may have run.
        self.check_poisoned()?;
        let Some(c) = guard.as_mut() else {
            return Err(super::field::closed_error());
        };
        // 1. Under the writer lock: make the current log durable, start the next one, and take
        //    the snapshots of the last commit. Commits after this go to the new log.
        let (epoch, snaps, new_seq) = {
            let mut w = self.w.lock();
            if closing {
                self.check_poisoned()?;
            } else {
                self.check_writable()?;
            }
            if c.manifest.checkpoint.as_ref().map_or(0, |r| r.epoch) == w.epoch {
                return Ok(false);
            }
            let old = w.wal.as_ref().expect("a writable runtime has a log");
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
        let r = write_pages(&mut c.segs, &c.tables, epoch, &snaps).and_then(|(plan, tables)| {
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
                generation: c.manifest.generation + 1,
                checkpoint: Some(CheckpointRef { file, epoch, bytes }),
                wal_start: new_seq,
                roots,
                files,
                segments,
            };
            let crc = manifest::write(self.backend.as_ref(), &m)?;
            let sb = Superblock {
                generation: c.superblock_gen + 1,
                manifest: m.generation,
                manifest_crc: crc,
            };
            superblock::write(self.backend.as_ref(), &sb)?;
            // The checkpoint is durable: its allocation becomes the one recovery rebuilds.
            let pages = plan.pages;
            plan.commit();
            Ok((m, sb, tables, pages))
        });
        let (m, sb, tables, pages) = self.guard(r)?;
        c.tables = tables;
        c.last_pages = pages;
        c.superblock_gen = sb.generation;
        c.manifest = m.clone();
        let took = start.elapsed();
        {
            let mut summary = self.ckpt_summary.lock();
            *summary = summary.after(c, super::runtime::nanos(took));
        }
        log::info!(
            "xtree checkpoint at epoch {epoch}: {pages} pages written ({} pages in the \
             checkpoint) in {:.1} ms",
            c.tables.iter().map(|(_, t)| t.len() as u64).sum::<u64>(),
            took.as_secs_f64() * 1e3
        );
        self.ckpt_epoch.store(epoch, Ordering::Release);
        self.ckpt_at_us
            .store(self.started.elapsed().as_micros() as u64, Ordering::Release);
        // The memory budget: pages the checkpoint holds may leave memory now.
        if let Some(budget) = self.opts.memory_budget {
            let loaded_too = self.loaded_bytes_now() > budget / 2;
            if let Err(e) = self.evict(c, loaded_too) {
                log::warn!("xtree checkpoint: letting pages leave memory failed: {e}");
            }
        }
        // 6. What the new state no longer needs, still under the checkpoint lock (no other
        //    checkpoint's files can be in flight). A failure here leaves garbage that the next
        //    checkpoint or open removes; it does not poison.
        if let Err(e) = remove_garbage(self.backend.as_ref(), &m) {
            log::warn!("xtree checkpoint clean-up: {e}");
        }
        drop(guard);
        Ok(true)
    }

    /// A compaction of the segment files; see [`super::Runtime::compact`]. Runs under the
    /// checkpoint lock, so it never overlaps a checkpoint; commits and readers go on.
    ///
    /// The steps, each durable before the next (a crash between any two leaves one of two
    /// committed states, both with the same contents):
    /// 1. every moved page is read back, verified and copied into its new slot; the class
    ///    files are synced (the old slots are untouched);
    /// 2. the current checkpoint file is rewritten with the new slots, under the same name and
    ///    length (written to a temporary, synced, renamed over the old one);
    /// 3. a manifest of the next generation, listing the shorter files, and the superblock
    ///    naming it (the manifest write syncs the directory, making step 2's rename durable);
    /// 4. moved pages' page objects are redirected to their new slots, the files are cut and
    ///    synced, and the old manifest is removed.
    pub(super) fn compact_inner(&self) -> Result<CompactionStats> {
        let mut guard = self.ckpt.lock();
        let start = Instant::now();
        self.check_writable()?;
        let Some(c) = guard.as_mut() else {
            return Err(super::field::closed_error());
        };
        // Pages replaced by the last writes are freed after the next write otherwise: their
        // slots would count as read and could neither take a moved page nor be cut.
        for f in self.fields.read().iter() {
            f.index.reclaim_unreachable();
        }
        let before = c.segs.stats();
        let plan = c.segs.plan_compaction(&c.tables)?;
        let mut out = CompactionStats {
            bytes_before: before.bytes,
            bytes_after: before.bytes,
            live_bytes: before.used_bytes,
            pages_moved: plan.checkpoint_pages(),
            held_pages_moved: plan.moves.len() as u64 - plan.checkpoint_pages(),
            nanos: 0,
        };
        if plan.is_empty() {
            out.nanos = super::runtime::nanos(start.elapsed());
            return Ok(out);
        }
        let backend = self.backend.as_ref();
        // The checkpoint file to rewrite with the new slots (the same epoch, metadata and
        // record counts), read before anything is written: a missing or damaged file is
        // reported, and nothing having changed, the runtime goes on (unpoisoned); its next
        // checkpoint writes a whole new one.
        let loaded = match &c.manifest.checkpoint {
            Some(ckpt) => {
                let loaded = checkpoint::read(backend, &ckpt.file)?;
                if loaded.fields.len() != c.tables.len() {
                    return Err(Error::internal(
                        "compaction: the checkpoint file and the object tables differ",
                    ));
                }
                Some(loaded)
            }
            None => None,
        };
        // A page that fails verification is damage to report, not a failed write: nothing
        // names the slots written so far, so the runtime goes on (unpoisoned).
        match c.segs.copy_moves(&plan) {
            Err(e) if e.kind() == ErrorKind::Corruption => return Err(e),
            r => self.guard(r)?,
        }
        let r = (|| {
            let mut tables = c.tables.clone();
            for (m, (field, e)) in plan.moves.iter().filter_map(|m| Some((m, m.page?))) {
                if !tables[field].1.set_slot(e.node, m.to) {
                    return Err(Error::internal("compaction: a moved page left its table"));
                }
            }
            let mut m = c.manifest.clone();
            if let (Some(ckpt), Some(loaded)) = (&m.checkpoint, &loaded) {
                let images: Vec<checkpoint::FieldImage<'_>> = loaded
                    .fields
                    .iter()
                    .zip(&tables)
                    .map(|(f, (root, table))| checkpoint::FieldImage {
                        meta: &f.meta,
                        records: f.records,
                        root: *root,
                        table,
                    })
                    .collect();
                let (file, bytes) = checkpoint::write(backend, loaded.epoch, &images)?;
                if file != ckpt.file || bytes != ckpt.bytes {
                    return Err(Error::internal(format!(
                        "compaction rewrote {} as {file} of {bytes} bytes (was {} bytes)",
                        ckpt.file, ckpt.bytes
                    )));
                }
            }
            m.generation += 1;
            // The rewritten checkpoint file has this library's version: so does its manifest
            // (as after any checkpoint).
            m.format_version = manifest::FORMAT_VERSION;
            m.segments = c.segs.refs_after(&plan);
            let crc = manifest::write(backend, &m)?;
            let sb = Superblock {
                generation: c.superblock_gen + 1,
                manifest: m.generation,
                manifest_crc: crc,
            };
            superblock::write(backend, &sb)?;
            Ok((m, sb, tables))
        })();
        let (m, sb, tables) = self.guard(r)?;
        c.tables = tables;
        c.superblock_gen = sb.generation;
        c.manifest = m.clone();
        c.segs.finish_compaction(&plan);
        if let Err(e) = remove_garbage(self.backend.as_ref(), &m) {
            log::warn!("xtree compaction clean-up: {e}");
        }
        let after = c.segs.stats();
        out.bytes_after = after.bytes;
        out.live_bytes = after.used_bytes;
        out.nanos = super::runtime::nanos(start.elapsed());
        {
            let mut summary = self.ckpt_summary.lock();
            *summary = summary.after_compaction(c, &out);
        }
        log::info!(
            "xtree compaction: {} pages moved, segment files {} -> {} bytes ({} live) in {:.1} ms",
            out.pages_moved,
            out.bytes_before,
            out.bytes_after,
            out.live_bytes,
            out.nanos as f64 / 1e6
        );
        Ok(out)
    }

    /// Lets pages of the durable checkpoint leave memory (the memory budget): every page of
    /// each field's current tree that the checkpoint's object table holds and that is on the
    /// heap — and, with `loaded_too`, every one read from the segment files — is replaced by a
    /// page object that reads its slot on next use. A page is replaced only when its words'
    /// CRC is the table's (a NodeID names one content, so this is a check, not a condition
    /// that should ever fail). Returns the pages replaced.
    ///
    /// # Errors
    /// `Corruption` for a resident page that does not parse.
    pub(super) fn evict(&self, c: &mut CheckpointState, loaded_too: bool) -> Result<u64> {
        let fields = self.fields.read();
        for f in fields.iter() {
            f.index.reclaim_unreachable();
        }
        let mut replaced = 0;
        for (i, f) in fields.iter().enumerate() {
            let Some((_, table)) = c.tables.get(i) else {
                continue;
            };
            let (precision, dims) = (f.meta.precision, f.meta.dimension);
            let segs = &mut c.segs;
            replaced += f.index.rebacking(|id, words, on_heap| {
                if !on_heap && !loaded_too {
                    return None;
                }
                let e = table.get(id).filter(|e| e.node == id)?;
                if e.words as usize != words.len()
                    || crc32c::crc32c(bytemuck::cast_slice(words)) != e.crc
                {
                    log::error!(
                        "xtree: page of node {id:#x} differs from its checkpointed copy; kept"
                    );
                    return None;
                }
                segs.page_again(e, precision, dims)
            })?;
        }
        drop(fields);
        // The replaced pages are freed once no reader pinned before holds them: nudge the
        // epoch collector, which frees a few expired batches per call.
        for _ in 0..EVICT_NUDGES {
            crossbeam_epoch::pin().flush();
        }
        Ok(replaced)
    }

    /// The memory budget without a checkpoint (nothing committed since the last one, but
    /// reads loaded pages past it): lets the loaded pages go.
    pub(super) fn evict_loaded(&self) -> Result<u64> {
        let mut guard = self.ckpt.lock();
        let Some(c) = guard.as_mut() else {
            return Err(super::field::closed_error());
        };
        self.evict(c, true)
    }

    /// Whether the background compaction trigger fires for segment figures `s`.
    pub(super) fn wants_compaction(&self, s: &SegmentStats) -> bool {
        let dead = s.bytes.saturating_sub(s.used_bytes);
        self.opts.compact_dead_ratio.is_some_and(|r| {
            s.bytes > 0
                && dead >= self.opts.compact_min_dead_bytes
                && dead as f64 >= r * s.bytes as f64
        })
    }

    /// Verifies the durable checkpoint; see [`super::Runtime::verify_checkpoint`].
    pub(super) fn verify_checkpoint(&self) -> Result<SegmentStats> {
        let guard = self.ckpt.lock();
        let c = guard.as_ref().ok_or_else(super::field::closed_error)?;
        let metas: Vec<FieldMeta> = self
            .fields
            .read()
            .iter()
            .map(|f| (*f.meta).clone())
            .collect();
        let bad = |msg: String| Error::new(ErrorKind::Corruption, msg);
        let mut pages = 0u64;
        for (i, (root, table)) in c.tables.iter().enumerate() {
            let meta = metas
                .get(i)
                .ok_or_else(|| bad(format!("checkpoint field {i} has no field")))?;
            let mut seen = HashSet::new();
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
) -> Result<(Plan<'s>, Vec<(NodeId, ObjectTable)>)> {
    let mut plan = segs.plan();
    let mut tables = Vec::with_capacity(snaps.len());
    let empty = (NIL, ObjectTable::default());
    for (i, (meta, snap)) in snaps.iter().enumerate() {
        let (old_root, old_table) = old.get(i).unwrap_or(&empty);
        let mut table = old_table.clone();
        // Pages the old checkpoint has and the new tree still uses: the roots of unchanged
        // subtrees, where the walk stops.
        let mut kept = HashSet::new();
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

/// Removes the logs, checkpoints, manifests and temporary files that manifest `m` (the current
/// state) does not need. Call only when no checkpoint can be in flight: under the checkpoint
/// lock, or at open.
///
/// # Errors
/// `Io` from the backend.
pub(super) fn remove_garbage(backend: &dyn Backend, m: &Manifest) -> Result<()> {
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

/// Stop and wake flags of the background threads.
#[derive(Default)]
pub(super) struct Background {
    pub(super) stop: bool,
    pub(super) wake: bool,
}

/// The EVENTUAL log sync: every sync interval, makes what was written durable.
pub(super) fn sync_thread(rt: Arc<Inner>) {
    loop {
        {
            let mut b = rt.bg.lock();
            if !b.stop {
                rt.bg_cv.wait_for(&mut b, rt.opts.sync_interval);
            }
            if b.stop {
                return;
            }
        }
        if rt.poisoned.load(Ordering::Acquire) {
            continue;
        }
        let lsn = rt.sync.lock().written;
        if let Err(e) = rt.wait_durable(lsn) {
            log::error!("xtree background sync: {e}");
        }
    }
}

/// The checkpoint coordinator: checks the triggers when a commit wakes it and every
/// [`COORDINATOR_TICK`], and checkpoints when one fired; lets pages leave memory when they
/// exceed the memory budget; compacts when a checkpoint left enough free space.
pub(super) fn checkpoint_thread(rt: Arc<Inner>) {
    // The checkpoint count when the policy last compacted: it tries again only after a
    // checkpoint (explicit or background) has changed the files since.
    let mut compacted_at = None;
    loop {
        {
            let mut b = rt.bg.lock();
            if !b.stop && !b.wake {
                rt.bg_cv.wait_for(&mut b, COORDINATOR_TICK);
            }
            if b.stop {
                return;
            }
            b.wake = false;
        }
        if rt.poisoned.load(Ordering::Acquire) {
            continue;
        }
        let (epoch, size) = {
            let w = rt.w.lock();
            (w.epoch, w.wal.as_ref().map_or(0, |l| l.size()))
        };
        let wanted = rt.wants_checkpoint(epoch, size);
        if !wanted && rt.over_budget() {
            if let Err(e) = rt.evict_loaded() {
                if e.kind() != ErrorKind::Closed {
                    log::error!("xtree: letting pages leave memory: {e}");
                }
            }
        }
        if wanted {
            match rt.checkpoint_inner(false) {
                Ok(_) => {}
                // A runtime closing under the coordinator refuses it: not worth a log line.
                Err(e) if e.kind() == ErrorKind::Closed => continue,
                Err(e) => {
                    log::error!("xtree background checkpoint: {e}");
                    continue;
                }
            }
        }
        let (count, segments) = {
            let s = rt.ckpt_summary.lock();
            (s.count, s.segments)
        };
        if compacted_at != Some(count) && rt.wants_compaction(&segments) {
            compacted_at = Some(count);
            if let Err(e) = rt.compact_inner() {
                if e.kind() != ErrorKind::Closed {
                    log::error!("xtree background compaction: {e}");
                }
            }
        }
    }
}

/// Whether the runtime needs the EVENTUAL sync thread.
pub(super) fn needs_sync_thread(d: Durability) -> bool {
    d == Durability::Eventual
}
