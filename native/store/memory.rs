//! The in-memory node store: pages on the heap, one writer, lock-free readers.
//!
//! - Page table: NodeID → page pointer, in segments of doubling size (so a small index costs a
//!   few hundred bytes and the table never moves), each slot a `crossbeam_epoch::Atomic`.
//!   Segments above [`CHUNK_SLOTS`] slots are split into chunks allocated on first use, so a
//!   high handle (a large index, or one read from a crafted file) costs its chunk, never the
//!   gigabytes of the whole segment. Handles that no page uses are kept as ranges, not one by
//!   one, for the same reason.
//! - Writers never touch a published page: a transaction keeps its dirty pages privately and, at
//!   [`MemoryTxn::publish`], stores them into free slots and then swaps the current [`Version`]
//!   (Release), so a reader that loads the version (Acquire) sees every page it can reach.
//! - Reclamation: pages retired by a publication may still be read by (a) short readers pinned
//!   in the current epoch and (b) long-lived [`Snapshot`]s (cursors). (b) is tracked by a registry
//!   of snapshot sequence numbers; once no snapshot of an older version remains, the retired ids
//!   are handed to the epoch collector, which frees the page and recycles the id after every
//!   reader pinned before has unpinned.
//!
//! This module is one of the few that use `unsafe` (epoch-protected dereferences); every block
//! carries a `// SAFETY:` comment. See UNSAFE.md.
#![allow(unsafe_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned, Shared};
use parking_lot::Mutex;

use super::{handle, next_tag, NodeId, PageRead, PageWrite, Version, MAX_HANDLE, NIL};
use crate::error::{Error, ErrorKind, Result};

const FIRST_SEGMENT_BITS: u32 = 6;
const SEGMENTS: usize = 40;
/// log2 of [`CHUNK_SLOTS`].
const CHUNK_BITS: u32 = 16;
/// Slots of one chunk of a large segment (512 KiB of pointers).
pub const CHUNK_SLOTS: usize = 1 << CHUNK_BITS;

/// A run of page-table slots.
type Slots = Box<[Atomic<Page>]>;

/// One segment of the page table: allocated whole when small, by chunks when large.
enum Segment {
    Flat(Slots),
    Chunked(Box<[OnceLock<Slots>]>),
}

fn null_slots(n: usize) -> Slots {
    (0..n).map(|_| Atomic::null()).collect()
}

impl Segment {
    fn new(size: usize) -> Segment {
        if size <= CHUNK_SLOTS {
            Segment::Flat(null_slots(size))
        } else {
            Segment::Chunked((0..size / CHUNK_SLOTS).map(|_| OnceLock::new()).collect())
        }
    }

    #[inline]
    fn get(&self, off: usize) -> Option<&Atomic<Page>> {
        match self {
            Segment::Flat(s) => s.get(off),
            Segment::Chunked(c) => c
                .get(off >> CHUNK_BITS)?
                .get()?
                .get(off & (CHUNK_SLOTS - 1)),
        }
    }

    fn get_or_create(&self, off: usize) -> &Atomic<Page> {
        match self {
            Segment::Flat(s) => &s[off],
            Segment::Chunked(c) => &c[off >> CHUNK_BITS].get_or_init(|| null_slots(CHUNK_SLOTS))
                [off & (CHUNK_SLOTS - 1)],
        }
    }

    fn slots(&self) -> impl Iterator<Item = &Atomic<Page>> {
        let (flat, chunks): (&[Atomic<Page>], &[OnceLock<Slots>]) = match self {
            Segment::Flat(s) => (s, &[]),
            Segment::Chunked(c) => (&[], c),
        };
        flat.iter()
            .chain(chunks.iter().filter_map(|c| c.get()).flat_map(|c| c.iter()))
    }
}

/// Handles not in use, lowest first: reclaimed ids (under their next tag) and ranges of
/// handles that no page has used since the store was loaded (tag 0).
#[derive(Default)]
struct FreeIds {
    ids: Vec<NodeId>,
    /// Disjoint ranges, highest first, so the lowest is popped first.
    gaps: Vec<std::ops::Range<u64>>,
}

impl FreeIds {
    fn pop(&mut self) -> Option<NodeId> {
        if let Some(id) = self.ids.pop() {
            return Some(id);
        }
        let r = self.gaps.last_mut()?;
        let h = r.start;
        r.start += 1;
        if r.is_empty() {
            self.gaps.pop();
        }
        Some(h)
    }
}

/// A page whose words live outside the heap: a slot of a memory-mapped segment file of the
/// durable store. It is read in place, and may verify itself (its checksum) on first use.
pub trait PageBacking: Send + Sync {
    /// The page's words, 8-byte aligned.
    ///
    /// # Errors
    /// `Corruption` when the page fails its verification.
    fn words(&self) -> Result<&[u64]>;

    /// The words if they are in memory now, without any I/O (None: reading them would).
    fn resident(&self) -> Option<&[u64]> {
        None
    }
}

/// A page handed to [`MemoryStore::from_pages`]: its own words, or an outside backing.
pub enum LoadedPage {
    /// Words owned by the page.
    Owned(Vec<u64>),
    /// A page read in place from its backing.
    Shared(Arc<dyn PageBacking>),
}

enum Page {
    Heap(Box<[u64]>),
    Shared(Arc<dyn PageBacking>),
}

impl Page {
    /// Bytes of the words this page holds on the heap (0 for an outside backing).
    fn heap_bytes(&self) -> u64 {
        match self {
            Page::Heap(w) => w.len() as u64 * 8,
            Page::Shared(_) => 0,
        }
    }

    #[inline]
    fn words(&self) -> Result<&[u64]> {
        match self {
            Page::Heap(w) => Ok(w),
            Page::Shared(b) => b.words(),
        }
    }
}

/// Hasher for NodeID keys of the dirty-page map: one multiply (Fibonacci hashing). NodeIDs are
/// dense small integers, so SipHash's protection against chosen keys buys nothing here.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type DirtyMap = HashMap<NodeId, Vec<u64>, std::hash::BuildHasherDefault<IdHasher>>;

struct Inner {
    segments: [OnceLock<Segment>; SEGMENTS],
    /// Ids whose pages have been reclaimed, and handles never used, which may be reused.
    free: Mutex<FreeIds>,
    /// Next never-used id.
    high: AtomicU64,
    current: Atomic<Version>,
    /// Live long-lived snapshots: sequence number → how many, and the version's root.
    snapshots: Mutex<BTreeMap<u64, (usize, NodeId)>>,
    /// Retired ids not yet handed to the collector, with the last version that could see them.
    pending: Mutex<VecDeque<(u64, Vec<NodeId>)>>,
    /// Batches of retired ids handed to the collector and not yet reclaimed.
    deferred: AtomicU64,
    /// Bytes of the words of the heap pages ([`Page::Heap`]) the page table holds: added when
    /// a publication or [`MemoryStore::from_pages`] stores one, subtracted when the collector
    /// reclaims one. Pages with an outside backing are not counted (their backing counts
    /// itself).
    heap_bytes: AtomicU64,
}

#[inline]
fn locate(id: NodeId) -> (usize, usize) {
    let x = id + (1 << FIRST_SEGMENT_BITS);
    let top = 63 - x.leading_zeros();
    let seg = (top - FIRST_SEGMENT_BITS) as usize;
    (seg, (x - (1u64 << top)) as usize)
}

impl Inner {
    #[inline]
    fn slot(&self, id: NodeId) -> Option<&Atomic<Page>> {
        let (seg, off) = locate(id);
        self.segments.get(seg)?.get()?.get(off)
    }

    fn slot_or_create(&self, id: NodeId) -> &Atomic<Page> {
        let (seg, off) = locate(id);
        let size = 1usize << (seg as u32 + FIRST_SEGMENT_BITS);
        self.segments[seg]
            .get_or_init(|| Segment::new(size))
            .get_or_create(off)
    }

    fn load<'g>(&self, id: NodeId, guard: &'g Guard) -> Result<&'g [u64]> {
        let missing = || Error::new(ErrorKind::Corruption, format!("node {id} has no page"));
        let slot = self.slot(handle(id)).ok_or_else(missing)?;
        let p = slot.load(Ordering::Acquire, guard);
        // SAFETY: the pointer was stored by a publication (Release) that happened before the
        // version through which the caller reached `id` was published, and it is only freed by
        // a deferred function of the epoch collector, which cannot run while `guard` is pinned;
        // a retired page is handed to the collector only when no registered snapshot can reach
        // it. `as_ref` returns None for null, which we report as corruption.
        let page = unsafe { p.as_ref() }.ok_or_else(missing)?;
        page.words()
    }

    fn version(&self, guard: &Guard) -> Version {
        let v = self.current.load(Ordering::Acquire, guard);
        // SAFETY: `current` is never null (set at construction, only ever swapped for a new
        // non-null value) and the old value is destroyed through the collector, after `guard`.
        *unsafe { v.deref() }
    }

    /// Frees the pages of `ids` and makes their handles reusable, under the next ABA tag.
    /// Called by the epoch collector once no reader can reach them.
    fn reclaim(&self, ids: Vec<NodeId>) {
        for &id in &ids {
            if let Some(slot) = self.slot(handle(id)) {
                // SAFETY: no reader can reach `id` any more (see the caller) and the writer does
                // not touch the slot of an id that is not yet on the free list, so nothing else
                // accesses this slot while we take the page out and free it.
                unsafe {
                    let g = epoch::unprotected();
                    let p = slot.swap(Shared::null(), Ordering::AcqRel, g);
                    if !p.is_null() {
                        let page = p.into_owned();
                        self.heap_bytes
                            .fetch_sub(page.heap_bytes(), Ordering::Relaxed);
                        drop(page);
                    }
                }
            }
        }
        self.free.lock().ids.extend(ids.into_iter().map(next_tag));
    }

    fn alloc_id(&self) -> NodeId {
        if let Some(id) = self.free.lock().pop() {
            return id;
        }
        let h = self.high.fetch_add(1, Ordering::Relaxed);
        // 2^32 pages of at least 256 bytes is a terabyte of heap: far beyond any machine this
        // store runs on, so running out of handles is a bug, not a condition to report.
        assert!(h <= MAX_HANDLE, "node handles exhausted");
        h
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: `&mut self` — no reader or writer can hold a reference into the store any more
        // (readers borrow the store through an `Arc<Inner>` that is now gone), so unprotected
        // access and immediate destruction are sound.
        unsafe {
            let g = epoch::unprotected();
            for seg in self.segments.iter().filter_map(|s| s.get()) {
                for slot in seg.slots() {
                    let p = slot.swap(Shared::null(), Ordering::Relaxed, g);
                    if !p.is_null() {
                        drop(p.into_owned());
                    }
                }
            }
            let v = self.current.swap(Shared::null(), Ordering::Relaxed, g);
            if !v.is_null() {
                drop(v.into_owned());
            }
        }
    }
}

/// The in-memory store. Cheap to clone (shared).
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
    /// Serialises writers.
    writer: Arc<Mutex<()>>,
}

/// A weak handle on a [`MemoryStore`]'s state, to wait until the last transient owner of it
/// is gone (see [`StoreWatch::wait_unowned`]).
pub struct StoreWatch(std::sync::Weak<Inner>);

impl StoreWatch {
    /// Waits, up to `limit`, until the store's state is dropped (or being dropped, perhaps on
    /// another thread), unless a registered snapshot still owns it (then it lives on as long as
    /// the snapshot does, by design). Returns whether the state is gone.
    ///
    /// Besides the store and its snapshots, the only owner of the state is a page reclamation
    /// of [`MemoryTxn::publish`], which the epoch collector may run on any thread of the
    /// process: it upgrades its weak reference for the moment it frees pages, and if the store
    /// is dropped meanwhile, that thread drops the state (and, for the durable store, closes
    /// the files and releases the directory lock its pages hold) after the store's owner
    /// believed it gone. The owner calls this after dropping the store to wait that out.
    pub fn wait_unowned(&self, limit: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        loop {
            let Some(inner) = self.0.upgrade() else {
                return true;
            };
            let snapshots = !inner.snapshots.lock().is_empty();
            // If the other owner let go meanwhile, this drops the state here and now.
            drop(inner);
            if snapshots {
                return false;
            }
            if start.elapsed() >= limit {
                return self.0.strong_count() == 0;
            }
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store whose current version is the empty tree.
    pub fn new() -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                segments: std::array::from_fn(|_| OnceLock::new()),
                free: Mutex::new(FreeIds::default()),
                high: AtomicU64::new(0),
                current: Atomic::new(Version {
                    root: NIL,
                    len: 0,
                    seq: 0,
                }),
                snapshots: Mutex::new(BTreeMap::new()),
                pending: Mutex::new(VecDeque::new()),
                deferred: AtomicU64::new(0),
                heap_bytes: AtomicU64::new(0),
            }),
            writer: Arc::new(Mutex::new(())),
        }
    }

    /// A store whose current version is the tree of `pages` (each under its NodeID), rooted at
    /// `root` (NIL for an empty tree) with `len` records: a checkpoint being loaded. Handles
    /// below the highest one that no page uses become free (tag 0).
    ///
    /// # Errors
    /// `Corruption` when two pages share a handle or a handle is out of range. The caller
    /// validates the pages; a bad child id later reads as corruption, never as a crash.
    pub fn from_pages(pages: Vec<(NodeId, LoadedPage)>, root: NodeId, len: u64) -> Result<Self> {
        let store = MemoryStore::new();
        let mut high = 0u64;
        let mut used = Vec::new();
        for (id, p) in pages {
            let h = handle(id);
            if h > MAX_HANDLE {
                return Err(Error::new(
                    ErrorKind::Corruption,
                    format!("node {id:#x}: handle out of range"),
                ));
            }
            let page = match p {
                LoadedPage::Owned(words) => Page::Heap(words.into_boxed_slice()),
                LoadedPage::Shared(b) => Page::Shared(b),
            };
            let bytes = page.heap_bytes();
            let slot = store.inner.slot_or_create(h);
            // Not yet shared with any reader: unprotected access is sound, and the Release
            // pairs with the Acquire of later loads all the same.
            // SAFETY: the store was created above and is not shared with any thread.
            let g = unsafe { epoch::unprotected() };
            if !slot.load(Ordering::Relaxed, g).is_null() {
                return Err(Error::new(
                    ErrorKind::Corruption,
                    format!("two pages share handle {h}"),
                ));
            }
            slot.store(Owned::new(page), Ordering::Release);
            store.inner.heap_bytes.fetch_add(bytes, Ordering::Relaxed);
            high = high.max(h + 1);
            used.push(h);
        }
        used.sort_unstable();
        let mut gaps = Vec::new();
        let mut next = 0;
        for h in used {
            if h > next {
                gaps.push(next..h);
            }
            next = h + 1;
        }
        gaps.reverse(); // lowest handles are reused first
        store.inner.free.lock().gaps = gaps;
        store.inner.high.store(high, Ordering::Relaxed);
        let v = Owned::new(Version { root, len, seq: 0 });
        // SAFETY: the store was created above and is not shared: no reader can hold the old
        // version, so it can be destroyed at once.
        unsafe {
            let g = epoch::unprotected();
            let old = store.inner.current.swap(v, Ordering::AcqRel, g);
            drop(old.into_owned());
        }
        Ok(store)
    }

    /// The current published version.
    pub fn version(&self) -> Version {
        let g = epoch::pin();
        self.inner.version(&g)
    }

    /// A weak handle to wait, after dropping the store, until its state is gone.
    pub fn watch(&self) -> StoreWatch {
        StoreWatch(Arc::downgrade(&self.inner))
    }

    /// Frees the pages replaced by earlier writes that no snapshot can reach any more, without
    /// waiting for the next write (which is when they are otherwise handed to the epoch
    /// collector), then nudges the collector a few times. Pages that a reader pinned right now
    /// may still walk are freed later, when the collector next runs. Used before a compaction,
    /// so that the slots of durable pages nobody reads are free to reuse and to cut.
    pub fn reclaim_unreachable(&self) {
        {
            // Retired pages are handed to the collector only under the writer lock (here as in
            // a publication), which `rebacking` relies on.
            let _writer = self.writer.lock();
            let guard = epoch::pin();
            retire_unreachable(&self.inner, &mut self.inner.pending.lock(), &guard);
            guard.flush();
        }
        // Each pin and flush may advance the global epoch by one and runs a few of the
        // expired deferred functions (of every store, oldest first); a reader pinned on
        // another thread stops the epoch, so give up after a bounded number of tries.
        for _ in 0..RECLAIM_TRIES {
            if self.inner.deferred.load(Ordering::Relaxed) == 0 {
                break;
            }
            epoch::pin().flush();
        }
    }

    /// Changes how pages of the current version are held, not what they hold (the memory
    /// budget of the durable store: a heap page a checkpoint has written, or a page read from
    /// the files, gives way to a page object that reads its slot again on next use).
    ///
    /// Under the writer lock (so the current version cannot change, and none of its pages, nor
    /// those of registered snapshots, can be reclaimed or their handles reused), walks the
    /// pages of the current version and of every registered snapshot whose words are in memory (heap pages, and backings whose [`PageBacking::resident`] words are
    /// loaded), from the root, descending through `children(words)` and not into a page that
    /// is not in memory. For each it calls `f(id, words, on_heap)`; a `Some(page)` replaces the
    /// page, which must hold the same words. The old page is freed once no reader pinned now
    /// can still hold it (readers, snapshots and cursors read the same words either way).
    /// Returns the pages replaced.
    ///
    /// # Errors
    /// Errors of `children` (a damaged page); pages replaced before it stay replaced.
    pub fn rebacking(
        &self,
        mut children: impl FnMut(&[u64]) -> Result<Vec<NodeId>>,
        mut f: impl FnMut(NodeId, &[u64], bool) -> Option<LoadedPage>,
    ) -> Result<u64> {
        let _writer = self.writer.lock();
        let guard = epoch::pin();
        // The current version and every registered snapshot's: their pages are not reclaimed
        // while the writer lock is held (retired pages are handed to the collector only under
        // it, and only once no registered snapshot can reach them).
        let mut stack = vec![self.inner.version(&guard).root];
        stack.extend(self.inner.snapshots.lock().values().map(|&(_, root)| root));
        stack.retain(|&r| r != NIL);
        stack.sort_unstable();
        stack.dedup();
        let mut seen = std::collections::HashSet::new();
        let mut replaced = 0u64;
        while let Some(id) = stack.pop() {
            // Versions share most of their pages: each is visited once.
            if !seen.insert(id) {
                continue;
            }
            let Some(slot) = self.inner.slot(handle(id)) else {
                continue;
            };
            let cur = slot.load(Ordering::Acquire, &guard);
            // SAFETY: loaded under `guard`; a page reachable from the current version or a
            // registered snapshot is not reclaimed while the writer lock is held, and replaced ones are freed only after
            // every pin of now, `guard` included, has ended.
            let Some(page) = (unsafe { cur.as_ref() }) else {
                continue;
            };
            let (words, on_heap) = match page {
                Page::Heap(w) => (&w[..], true),
                Page::Shared(b) => match b.resident() {
                    Some(w) => (w, false),
                    None => continue,
                },
            };
            stack.extend(children(words)?);
            let Some(new) = f(id, words, on_heap) else {
                continue;
            };
            let new = match new {
                LoadedPage::Owned(w) => Page::Heap(w.into_boxed_slice()),
                LoadedPage::Shared(b) => Page::Shared(b),
            };
            let added = new.heap_bytes();
            if slot
                .compare_exchange(
                    cur,
                    Owned::new(new),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    &guard,
                )
                .is_ok()
            {
                let heap = &self.inner.heap_bytes;
                heap.fetch_add(added, Ordering::Relaxed);
                heap.fetch_sub(page.heap_bytes(), Ordering::Relaxed);
                // SAFETY: `cur` is unreachable from the page table now; readers pinned before
                // the swap may still read it, so destruction waits for their pins to end.
                unsafe { guard.defer_destroy(cur) };
                replaced += 1;
            }
        }
        guard.flush();
        Ok(replaced)
    }

    /// A short-lived reader of the current version (pins the epoch; do not hold it for long).
    pub fn reader(&self) -> MemoryReader<'_> {
        let guard = epoch::pin();
        let version = self.inner.version(&guard);
        MemoryReader {
            inner: &self.inner,
            guard,
            version,
        }
    }

    /// A long-lived snapshot of the current version: its pages stay readable until it is dropped.
    pub fn snapshot(&self) -> Snapshot {
        let mut reg = self.inner.snapshots.lock();
        let version = self.version();
        reg.entry(version.seq).or_insert((0, version.root)).0 += 1;
        drop(reg);
        Snapshot {
            inner: self.inner.clone(),
            version,
        }
    }

    /// Starts the (single) write transaction; blocks while another writer is active.
    pub fn begin(&self) -> MemoryTxn<'_> {
        let lock = self.writer.lock();
        let guard = epoch::pin();
        let base = self.inner.version(&guard);
        MemoryTxn {
            inner: &self.inner,
            arc: self.inner.clone(),
            _lock: lock,
            guard,
            base,
            dirty: DirtyMap::default(),
            retired: Vec::new(),
            published: false,
        }
    }

    /// Bytes of the page words this store holds on the heap: pages published by writers and
    /// pages loaded as [`LoadedPage::Owned`], not pages with an outside backing
    /// ([`LoadedPage::Shared`], e.g. the durable store's pages read from segment files). A page
    /// retired by a publication counts until the epoch collector reclaims it, i.e. until no
    /// snapshot or reader can reach it any more. One atomic load.
    pub fn heap_bytes(&self) -> u64 {
        self.inner.heap_bytes.load(Ordering::Relaxed)
    }

    /// Number of page-table slots ever used (for tests and statistics).
    pub fn ids_used(&self) -> u64 {
        self.inner.high.load(Ordering::Relaxed)
    }
}

/// A short-lived reader pinned to one version.
pub struct MemoryReader<'s> {
    inner: &'s Inner,
    guard: Guard,
    version: Version,
}

impl PageRead for MemoryReader<'_> {
    fn version(&self) -> Version {
        self.version
    }
    #[inline]
    fn page(&self, id: NodeId) -> Result<&[u64]> {
        self.inner.load(id, &self.guard)
    }
}

/// A long-lived, registered snapshot of one version. `Send + Sync`; readable from any thread.
pub struct Snapshot {
    inner: Arc<Inner>,
    version: Version,
}

impl Snapshot {
    /// The version this snapshot sees.
    pub fn version(&self) -> Version {
        self.version
    }

    /// A reader of this snapshot's version (pins the epoch while it lives).
    pub fn reader(&self) -> MemoryReader<'_> {
        MemoryReader {
            inner: &self.inner,
            guard: epoch::pin(),
            version: self.version,
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let mut reg = self.inner.snapshots.lock();
        if let Some((n, _)) = reg.get_mut(&self.version.seq) {
            *n -= 1;
            if *n == 0 {
                reg.remove(&self.version.seq);
            }
        }
    }
}

/// The writer's transaction. Dropping it without [`publish`](MemoryTxn::publish) discards
/// every change.
pub struct MemoryTxn<'s> {
    inner: &'s Inner,
    arc: Arc<Inner>,
    _lock: parking_lot::MutexGuard<'s, ()>,
    guard: Guard,
    base: Version,
    dirty: DirtyMap,
    retired: Vec<NodeId>,
    published: bool,
}

impl MemoryTxn<'_> {
    /// Makes the transaction's state the current version: `root` with `len` records.
    pub fn publish(mut self, root: NodeId, len: u64) {
        let inner = self.inner;
        let mut added = 0u64;
        for (id, words) in self.dirty.drain() {
            added += words.len() as u64 * 8;
            let slot = inner.slot_or_create(handle(id));
            let old = slot.swap(
                Owned::new(Page::Heap(words.into_boxed_slice())),
                Ordering::Release,
                &self.guard,
            );
            debug_assert!(old.is_null(), "a fresh id had a page");
        }
        inner.heap_bytes.fetch_add(added, Ordering::Relaxed);
        let v = Version {
            root,
            len,
            seq: self.base.seq + 1,
        };
        let old = inner
            .current
            .swap(Owned::new(v), Ordering::AcqRel, &self.guard);
        // SAFETY: `old` was the current version and is now unreachable from `current`; readers
        // that loaded it are pinned, so destruction is deferred until they unpin.
        unsafe { self.guard.defer_destroy(old) };
        self.published = true;
        let retired = std::mem::take(&mut self.retired);
        let mut pending = inner.pending.lock();
        if !retired.is_empty() {
            pending.push_back((self.base.seq, retired));
        }
        retire_unreachable(&self.arc, &mut pending, &self.guard);
        drop(pending);
        self.guard.flush();
    }
}

/// Collector nudges [`MemoryStore::reclaim_unreachable`] makes at most (each well under a
/// microsecond when there is nothing to run).
const RECLAIM_TRIES: usize = 4096;

/// Hands the retired pages in `pending` that no snapshot older than `oldest_snapshot` can
/// reach to the epoch collector, which frees them once every reader pinned now has unpinned.
fn retire_unreachable(
    inner: &Arc<Inner>,
    pending: &mut VecDeque<(u64, Vec<NodeId>)>,
    guard: &Guard,
) {
    let oldest_snapshot = inner
        .snapshots
        .lock()
        .keys()
        .next()
        .copied()
        .unwrap_or(u64::MAX);
    while pending
        .front()
        .is_some_and(|(seen, _)| *seen < oldest_snapshot)
    {
        let (_, ids) = pending.pop_front().expect("front exists");
        // Weak: the collector may run this long after the store is gone (it runs deferred
        // functions lazily), and a strong reference would keep every page of the store —
        // for the durable store, its files and directory lock — alive until then. A store
        // already dropped freed these pages itself.
        let store = Arc::downgrade(inner);
        inner.deferred.fetch_add(1, Ordering::Relaxed);
        // No registered snapshot can reach `ids`, but a reader pinned now may still walk an
        // older version that names them: the collector runs this only after every such pin
        // has ended.
        guard.defer(move || {
            if let Some(store) = store.upgrade() {
                store.reclaim(ids);
                store.deferred.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }
}

impl Drop for MemoryTxn<'_> {
    fn drop(&mut self) {
        if !self.published && !self.dirty.is_empty() {
            // Unpublished pages were never visible: their ids can be reused at once.
            self.inner
                .free
                .lock()
                .ids
                .extend(self.dirty.keys().copied());
        }
    }
}

impl PageWrite for MemoryTxn<'_> {
    fn base(&self) -> Version {
        self.base
    }

    #[inline]
    fn page(&self, id: NodeId) -> Result<&[u64]> {
        match self.dirty.get(&id) {
            Some(p) => Ok(p),
            None => self.inner.load(id, &self.guard),
        }
    }

    fn page_mut(&mut self, id: NodeId) -> Result<&mut [u64]> {
        self.dirty
            .get_mut(&id)
            .map(|p| p.as_mut_slice())
            .ok_or_else(|| {
                Error::internal(format!("node {id} is not writable in this transaction"))
            })
    }

    #[inline]
    fn is_dirty(&self, id: NodeId) -> bool {
        self.dirty.contains_key(&id)
    }

    fn make_dirty(&mut self, id: NodeId) -> Result<NodeId> {
        if self.dirty.contains_key(&id) {
            return Ok(id);
        }
        let copy = self.inner.load(id, &self.guard)?.to_vec();
        let new = self.inner.alloc_id();
        self.dirty.insert(new, copy);
        self.retired.push(id);
        Ok(new)
    }

    fn alloc(&mut self, page: Vec<u64>) -> NodeId {
        let id = self.inner.alloc_id();
        self.dirty.insert(id, page);
        id
    }

    fn replace(&mut self, id: NodeId, words: Vec<u64>) -> Result<()> {
        match self.dirty.get_mut(&id) {
            Some(p) => {
                *p = words;
                Ok(())
            }
            None => Err(Error::internal(format!(
                "node {id} is not writable in this transaction"
            ))),
        }
    }

    fn free(&mut self, id: NodeId) {
        if self.dirty.remove(&id).is_some() {
            self.inner.free.lock().ids.push(id);
        } else {
            self.retired.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_addressing_is_dense_and_disjoint() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
    }

    /// Defect 12 of issue 7: a page under the highest handle (a crafted checkpoint or index
    /// bytes) made loading allocate a 2^31-slot segment and a free list of 2^32 ids. It costs
    /// one chunk now, the handles below stay allocatable lowest first, and the page reads back.
    #[test]
    fn the_highest_handle_costs_one_chunk() {
        let top = MAX_HANDLE;
        let store = MemoryStore::from_pages(
            vec![
                (top, LoadedPage::Owned(vec![7; 4])),
                (3, LoadedPage::Owned(vec![3; 4])),
            ],
            top,
            0,
        )
        .unwrap();
        assert_eq!(store.reader().page(top).unwrap(), &[7; 4]);
        assert_eq!(store.reader().page(3).unwrap(), &[3; 4]);
        let (seg, _) = locate(top);
        match store.inner.segments[seg].get() {
            Some(Segment::Chunked(c)) => {
                assert_eq!(c.iter().filter(|c| c.get().is_some()).count(), 1);
            }
            _ => panic!("the top segment is chunked"),
        }
        let mut t = store.begin();
        let ids: Vec<NodeId> = (0..5).map(|_| t.alloc(vec![0; 4])).collect();
        t.publish(top, 0);
        // Handles 0, 1, 2, then 4, 5 (3 is in use); never the top one again.
        let handles: Vec<u64> = ids.iter().map(|&id| handle(id)).collect();
        assert_eq!(handles, [0, 1, 2, 4, 5]);
        assert_eq!(store.ids_used(), top + 1);
    }

    #[test]
    fn publish_retire_and_snapshot_isolation() {
        let store = MemoryStore::new();
        let mut t = store.begin();
        let a = t.alloc(vec![0; 4]);
        t.page_mut(a).unwrap()[0] = 11;
        t.publish(a, 1);
        let snap = store.snapshot();
        let mut t = store.begin();
        let b = t.make_dirty(a).unwrap();
        assert_ne!(a, b);
        t.page_mut(b).unwrap()[0] = 22;
        t.publish(b, 2);
        // The snapshot still reads the old page; a new reader reads the new one.
        assert_eq!(snap.reader().page(a).unwrap()[0], 11);
        let r = store.reader();
        assert_eq!(r.version().root, b);
        assert_eq!(r.page(b).unwrap()[0], 22);
        drop(r);
        drop(snap);
        // Many more publications let the collector run; the old id eventually gets reused.
        for i in 0..2000u64 {
            let mut t = store.begin();
            let root = store.version().root;
            let n = t.make_dirty(root).unwrap();
            t.page_mut(n).unwrap()[0] = i;
            t.publish(n, 1);
        }
        assert!(
            store.ids_used() < 2000,
            "ids are recycled: {}",
            store.ids_used()
        );
        assert_eq!(store.reader().page(store.version().root).unwrap()[0], 1999);
    }

    /// Heap bytes: published pages add their words, reclaimed ones subtract them (once no
    /// snapshot or pinned reader can reach them), pages with an outside backing count 0.
    #[test]
    fn heap_bytes_follow_publish_reclaim_and_loading() {
        let store = MemoryStore::new();
        assert_eq!(store.heap_bytes(), 0);
        let mut t = store.begin();
        let a = t.alloc(vec![0; 4]);
        let b = t.alloc(vec![0; 8]);
        t.free(b); // never published: never counted
        t.publish(a, 1);
        assert_eq!(store.heap_bytes(), 32);
        let snap = store.snapshot();
        for i in 0..2000u64 {
            let mut t = store.begin();
            let root = store.version().root;
            let n = t.make_dirty(root).unwrap();
            t.page_mut(n).unwrap()[0] = i;
            t.publish(n, 1);
        }
        // The snapshot holds the first page; the retired copies after it are reclaimed in time.
        assert!(store.heap_bytes() >= 64, "{}", store.heap_bytes());
        drop(snap);
        for _ in 0..2000u64 {
            let mut t = store.begin();
            let root = store.version().root;
            let n = t.make_dirty(root).unwrap();
            t.publish(n, 1);
        }
        assert!(
            store.heap_bytes() < 2000 * 32,
            "reclaimed pages are subtracted: {}",
            store.heap_bytes()
        );
        assert!(store.heap_bytes() >= 32);

        struct Outside(Vec<u64>);
        impl PageBacking for Outside {
            fn words(&self) -> Result<&[u64]> {
                Ok(&self.0)
            }
        }
        let loaded = MemoryStore::from_pages(
            vec![
                (0, LoadedPage::Owned(vec![1; 16])),
                (1, LoadedPage::Shared(Arc::new(Outside(vec![2; 16])))),
            ],
            0,
            0,
        )
        .unwrap();
        assert_eq!(loaded.heap_bytes(), 128);
    }

    #[test]
    fn dropped_transaction_changes_nothing() {
        let store = MemoryStore::new();
        {
            let mut t = store.begin();
            let a = t.alloc(vec![0; 4]);
            t.page_mut(a).unwrap()[0] = 1;
        }
        assert_eq!(store.version().root, NIL);
        assert_eq!(store.version().seq, 0);
    }

    /// Review of the chunked page table: readers (short ones and snapshots) race with a writer
    /// whose publications create new chunks of large segments (handles past 2^17) and whose
    /// retired pages are reclaimed and their handles reused. Every page a reader's version
    /// reaches must be there and hold its own NodeID; no handle in use is handed out again.
    #[test]
    fn readers_race_chunk_creation_and_reclaim() {
        use std::sync::atomic::AtomicBool;
        // Loaded pages at every even handle below 2^16 * 3/2: gaps at the odd ones, and
        // handles above come from `high`, in chunked segments.
        let base = (CHUNK_SLOTS * 3 / 2) as u64;
        let pages = (0..base)
            .step_by(2)
            .map(|h| (h, LoadedPage::Owned(vec![h, 0])))
            .collect();
        let store = MemoryStore::from_pages(pages, NIL, 0).unwrap();
        let stop = AtomicBool::new(false);
        // The root page lists the NodeIDs of the current batch; each page holds its NodeID.
        let check = |r: &MemoryReader<'_>| {
            let v = r.version();
            if v.root == NIL {
                return;
            }
            let root = r.page(v.root).expect("root");
            assert_eq!(root[0], v.root);
            for &id in &root[1..] {
                assert_eq!(r.page(id).expect("a reachable page")[0], id);
            }
        };
        /// Stops the readers however the writer ends (a failed assertion included).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        std::thread::scope(|s| {
            let _stop = Stop(&stop);
            for k in 0..2 {
                let (store, stop) = (&store, &stop);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if k == 0 {
                            check(&store.reader());
                        } else {
                            let snap = store.snapshot();
                            check(&snap.reader());
                            std::thread::yield_now();
                            check(&snap.reader());
                        }
                    }
                });
            }
            let mut prev: Vec<NodeId> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for round in 0..400u64 {
                let mut t = store.begin();
                let batch: Vec<NodeId> = (0..1000).map(|_| t.alloc(vec![0, 0])).collect();
                for &id in &batch {
                    t.page_mut(id).unwrap()[0] = id;
                    assert!(seen.insert(id), "NodeID {id:#x} handed out twice");
                    let h = handle(id);
                    assert!(h >= base || h % 2 == 1, "loaded handle {h} handed out");
                }
                let root = t.alloc(Vec::new());
                assert!(seen.insert(root), "NodeID {root:#x} handed out twice");
                let mut words = vec![root];
                words.extend(&batch);
                t.replace(root, words).unwrap();
                // Keep every other batch, so that `high` grows through new chunks.
                if round % 2 == 1 {
                    for id in prev.drain(..) {
                        t.free(id);
                    }
                } else {
                    prev.clear();
                }
                prev.extend(&batch);
                prev.push(root);
                t.publish(root, 0);
            }
        });
        assert!(store.ids_used() > base + 2 * CHUNK_SLOTS as u64);
        check(&store.reader());
    }
}
