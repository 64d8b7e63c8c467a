//! Where checkpointed pages live: the object table and the segment allocator (DESIGN.md §5;
//! byte layouts in `FORMAT.md`, "Segment files" and "Checkpoint").
//!
//! - **Size classes.** A page goes into the smallest power-of-two slot of at least 4 KiB that
//!   holds it: 4 KiB for a normal node of the default size, up to 256 KiB for a 64-block
//!   supernode (larger node sizes get larger classes).
//! - **Segment files.** One file per size class, `seg-<log2 of the slot size>.xsd` (`seg-12.xsd`
//!   holds 4 KiB slots), a plain array of slots: slot `i` is at byte `i × slot size`. Files grow
//!   a segment (64 slots) or an eighth of their size at a time, whichever is more. One file
//!   descriptor per class file, however large it grows.
//! - **Object table.** Per field, NodeID → [`Entry`] (class, slot, length, CRC32C of the page,
//!   level, birth epoch): which slot holds each page of the checkpointed tree. In memory it is
//!   indexed by the NodeID's handle in shards of [`SHARD`] entries, each allocated when its
//!   first handle is used (progressive activation). A checkpoint writes the whole table
//!   (32 bytes per page); the pages themselves are written only when new.
//! - **Free space.** A bitmap per class of the slots the durable checkpoint uses. It is not
//!   stored: recovery rebuilds it from the object table (which the C++ original failed to do,
//!   so its new nodes overwrote live ones).
//! - **Incremental, copy-on-write checkpoints** ([`Plan`]): the tree is walked from the root,
//!   stopping at every page whose NodeID the table already holds (a published page never
//!   changes and a reclaimed handle comes back under a new ABA tag, so an unchanged NodeID is an
//!   unchanged subtree). New pages go into slots free in the durable checkpoint; slots of pages
//!   the old tree had and the new one lacks are found by walking the old tree down to the kept
//!   subtrees, and become free only once the new checkpoint is the durable one. A crash before
//!   the superblock switch therefore finds the old checkpoint's slots untouched.
//! - **Pages read on first use.** At open each page of the table becomes a [`DiskPage`] that
//!   has read nothing: opening reads the object table, not the pages. Its first use reads the
//!   slot through the backend (`pread`) and checks the CRC, the level and the contents before
//!   the tree sees a word. Pages are read, not memory-mapped, so that a segment file truncated
//!   or rewritten behind the runtime's back is an error from the query that meets it
//!   (`Corruption`), never a `SIGBUS` that kills the process (the JVM with it).
//! - **Pins and the lock.** A slot whose page object is alive and has not read it yet (a
//!   snapshot may hold it) is *pinned*: it is not reused until that page object has read it
//!   or is dropped. Every page object also holds the directory lock, so a snapshot or cursor
//!   that outlives its runtime keeps later openers out until it no longer needs the files.
//! - **Compaction** ([`Segments::plan_compaction`]): pages in the highest slots move into free
//!   lower slots, the object table entries follow (a NodeID names a page wherever it lives, so
//!   no parent changes), and the files are cut. A page object whose page moved before its
//!   first read is redirected to the new slot, which stays pinned for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use super::backend::{Backend, BackendFile};
use super::lock::DirLock;
use crate::error::{Error, ErrorKind, Result};
use crate::store::memory::{LoadedPage, PageBacking};
use crate::store::{handle, NodeId, MAX_HANDLE, NIL};
use crate::xtree::params::MAX_HEIGHT;

/// log2 of the smallest slot (4 KiB).
pub const MIN_CLASS: u32 = 12;
/// log2 of the largest slot accepted from disk (64 MiB).
pub const MAX_CLASS: u32 = 26;
/// Slots per segment: the unit of file growth and one word of the free-space bitmap.
pub const SEGMENT_SLOTS: u64 = 64;
/// Bytes of one object table entry on disk.
pub const ENTRY_BYTES: usize = 32;
/// Entries per shard of the in-memory object table.
pub const SHARD: usize = 1024;
/// Largest write issued at once when slots are contiguous.
const RUN_BYTES: usize = 4 << 20;

/// The size class (log2 of the slot size) of a page of `words` 64-bit words.
pub fn class_for(words: usize) -> u32 {
    ((words * 8).next_power_of_two().trailing_zeros()).max(MIN_CLASS)
}

/// The file name of the segment file of `class`.
pub fn file_name(class: u32) -> String {
    format!("seg-{class:02}.xsd")
}

/// The class of a segment file name, if it is one.
pub fn parse_name(name: &str) -> Option<u32> {
    let d = name.strip_prefix("seg-")?.strip_suffix(".xsd")?;
    let c: u32 = (d.len() == 2).then(|| d.parse().ok())??;
    (MIN_CLASS..=MAX_CLASS).contains(&c).then_some(c)
}

fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Corruption, msg)
}

/// One object table entry: where the page of NodeID `node` is.
///
/// On disk (32 bytes, little-endian): `node u64 | birth u64 | slot u48 | class u8 | level u8 |
/// words u32 | crc32c u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The page's NodeID (handle and ABA tag).
    pub node: NodeId,
    /// Epoch of the checkpoint that first wrote the page.
    pub birth: u64,
    /// Slot index in the class file.
    pub slot: u64,
    /// Size class (log2 of the slot size).
    pub class: u32,
    /// Level of the node (0 = leaf).
    pub level: u32,
    /// Length of the page in 64-bit words.
    pub words: u32,
    /// CRC32C of the page's bytes.
    pub crc: u32,
}

const EMPTY: Entry = Entry {
    node: NIL,
    birth: 0,
    slot: 0,
    class: 0,
    level: 0,
    words: 0,
    crc: 0,
};

impl Entry {
    /// The entry's 32 bytes.
    pub fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut b = [0u8; ENTRY_BYTES];
        b[0..8].copy_from_slice(&self.node.to_le_bytes());
        b[8..16].copy_from_slice(&self.birth.to_le_bytes());
        let packed = self.slot | (self.class as u64) << 48 | (self.level as u64) << 56;
        b[16..24].copy_from_slice(&packed.to_le_bytes());
        b[24..28].copy_from_slice(&self.words.to_le_bytes());
        b[28..32].copy_from_slice(&self.crc.to_le_bytes());
        b
    }

    /// Decodes 32 bytes and checks every field against its bounds.
    ///
    /// # Errors
    /// `Corruption` for a NodeID, class, level or length no page can have.
    pub fn decode(b: &[u8]) -> Result<Entry> {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let packed = u64_at(16);
        let e = Entry {
            node: u64_at(0),
            birth: u64_at(8),
            slot: packed & ((1 << 48) - 1),
            class: ((packed >> 48) & 0xff) as u32,
            level: (packed >> 56) as u32,
            words: u32_at(24),
            crc: u32_at(28),
        };
        if e.node == NIL || handle(e.node) > MAX_HANDLE {
            return Err(corrupt(format!("object table: bad NodeID {:#x}", e.node)));
        }
        if !(MIN_CLASS..=MAX_CLASS).contains(&e.class)
            || e.level > MAX_HEIGHT
            || e.words < 8
            || (e.words as u64) * 8 > 1 << e.class
        {
            return Err(corrupt(format!(
                "object table: impossible entry for node {:#x} (class {}, level {}, {} words)",
                e.node, e.class, e.level, e.words
            )));
        }
        Ok(e)
    }
}

/// One field's object table: handle → [`Entry`], in shards activated on first use.
#[derive(Clone, Default)]
pub struct ObjectTable {
    /// Shard number → its entries. A map, not a vector, so that a handle near the top of its
    /// range (a crafted checkpoint) costs one shard, not a vector of millions of empty ones.
    shards: std::collections::BTreeMap<usize, Box<[Entry]>>,
    len: usize,
}

impl ObjectTable {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry of the handle of `id`, whatever its tag.
    pub fn get(&self, id: NodeId) -> Option<&Entry> {
        let h = handle(id) as usize;
        let e = &self.shards.get(&(h / SHARD))?[h % SHARD];
        (e.node != NIL).then_some(e)
    }

    /// Whether the table holds exactly NodeID `id` (handle and tag).
    pub fn holds(&self, id: NodeId) -> bool {
        self.get(id).is_some_and(|e| e.node == id)
    }

    /// Adds `e`.
    ///
    /// # Errors
    /// `Corruption` when its handle already has an entry.
    pub fn insert(&mut self, e: Entry) -> Result<()> {
        let h = handle(e.node) as usize;
        let shard = self
            .shards
            .entry(h / SHARD)
            .or_insert_with(|| vec![EMPTY; SHARD].into());
        let slot = &mut shard[h % SHARD];
        if slot.node != NIL {
            return Err(corrupt(format!(
                "object table: nodes {:#x} and {:#x} share a handle",
                slot.node, e.node
            )));
        }
        *slot = e;
        self.len += 1;
        Ok(())
    }

    /// Removes and returns the entry of exactly NodeID `id`.
    pub fn remove(&mut self, id: NodeId) -> Option<Entry> {
        let h = handle(id) as usize;
        let slot = &mut self.shards.get_mut(&(h / SHARD))?[h % SHARD];
        if slot.node != id {
            return None;
        }
        self.len -= 1;
        Some(std::mem::replace(slot, EMPTY))
    }

    /// Points the entry of exactly NodeID `id` at `slot` (compaction moved its page). Returns
    /// false when the table does not hold `id`.
    pub fn set_slot(&mut self, id: NodeId, slot: u64) -> bool {
        let h = handle(id) as usize;
        match self.shards.get_mut(&(h / SHARD)).map(|s| &mut s[h % SHARD]) {
            Some(e) if e.node == id => {
                e.slot = slot;
                true
            }
            _ => false,
        }
    }

    /// Every entry, in handle order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.shards
            .values()
            .flat_map(|s| s.iter())
            .filter(|e| e.node != NIL)
    }
}

/// Slots that page objects still in memory may read: they are not reused (or cut off by
/// compaction) until those objects are dropped.
#[derive(Default)]
struct Pins {
    state: Mutex<PinState>,
}

#[derive(Default)]
struct PinState {
    /// The entry slot of every live page object.
    bits: Vec<u64>,
    /// Page objects whose page compaction moved: entry slot → the slot that holds the page now.
    moved: HashMap<u64, u64>,
    /// The reverse of `moved`: slot holding a moved page → the entry slot of its page object.
    holders: HashMap<u64, u64>,
}

impl PinState {
    /// Whether a live page object may still read `slot`.
    fn pinned(&self, slot: u64) -> bool {
        let bit = self
            .bits
            .get((slot / 64) as usize)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0);
        (bit && !self.moved.contains_key(&slot)) || self.holders.contains_key(&slot)
    }
}

impl Pins {
    fn pinned(&self, slot: u64) -> bool {
        self.state.lock().pinned(slot)
    }
    fn set(&self, slot: u64) {
        set_bit(&mut self.state.lock().bits, slot);
    }
    /// The page object of entry slot `slot` is gone.
    fn release(&self, slot: u64) {
        let mut st = self.state.lock();
        clear_bit(&mut st.bits, slot);
        if let Some(at) = st.moved.remove(&slot) {
            st.holders.remove(&at);
        }
    }
    /// The slot the page object of entry slot `slot` reads.
    fn resolve(&self, slot: u64) -> u64 {
        self.state.lock().moved.get(&slot).copied().unwrap_or(slot)
    }
    /// Compaction copied the page in slot `from` to slot `to`: a page object that reads `from`
    /// (its own entry slot, or the target of an earlier move) reads `to` from now on, which
    /// stays pinned for it. Page objects are made only at open, one per entry, and a move's
    /// target is a slot no page object read, so at most one page object reads any slot.
    fn relocate(&self, from: u64, to: u64) {
        let mut st = self.state.lock();
        let owner = match st.holders.remove(&from) {
            Some(owner) => Some(owner),
            None => st.pinned(from).then_some(from),
        };
        if let Some(owner) = owner {
            st.moved.insert(owner, to);
            st.holders.insert(to, owner);
        }
    }
}

/// What the pages of one class file share: the file, its pins, and the directory lock.
struct ClassShared {
    name: String,
    file: Arc<dyn BackendFile>,
    pins: Pins,
    /// Held for reading by a page object's first read, for writing by compaction while it
    /// redirects moved pages and shortens the file: no read of a slot races its truncation.
    io: RwLock<()>,
    _lock: Option<Arc<DirLock>>,
    /// Bytes of pages read into memory (shared by every class of the [`Segments`]).
    loaded: Arc<AtomicU64>,
}

/// How the contents of a page are checked on first use, beyond its CRC and level: the
/// coordinate precision and dimension of its field.
#[derive(Debug, Clone, Copy)]
struct Shape {
    precision: u32,
    dims: usize,
}

/// A page of the durable checkpoint, read from its slot on first use and verified then (CRC,
/// level, contents); pins its slot until that read and holds the directory lock while it
/// lives.
pub struct DiskPage {
    class: Arc<ClassShared>,
    entry: Entry,
    shape: Shape,
    words: OnceLock<Box<[u64]>>,
}

impl DiskPage {
    fn load(&self) -> Result<Box<[u64]>> {
        // Compaction may have moved the page: it then reads the slot that holds it now (the
        // same bytes). The read lock keeps that slot from being cut off during the read.
        let _io = self.class.io.read();
        let e = &Entry {
            slot: self.class.pins.resolve(self.entry.slot),
            ..self.entry
        };
        let mut v = vec![0u64; e.words as usize];
        let at = e.slot * ClassFile::bytes(e.class);
        if let Err(err) = self
            .class
            .file
            .read_at(at, bytemuck::cast_slice_mut(&mut v))
        {
            let end = at + e.words as u64 * 8;
            let len = self.class.file.size()?;
            if len < end {
                return Err(corrupt(format!(
                    "{} is {len} bytes, too short for the page of node {:#x} in slot {} \
                     (was it truncated while the index was open?)",
                    self.class.name, e.node, e.slot
                )));
            }
            return Err(err);
        }
        verify(e, &v)?;
        crate::index::check_page(self.shape.precision, self.shape.dims, &v).map_err(|err| {
            corrupt(format!(
                "page of node {:#x} ({} slot {}): {}",
                e.node,
                self.class.name,
                e.slot,
                err.message()
            ))
        })?;
        Ok(v.into_boxed_slice())
    }
}

impl PageBacking for DiskPage {
    #[inline]
    fn words(&self) -> Result<&[u64]> {
        if let Some(w) = self.words.get() {
            return Ok(w);
        }
        let v = match self.load() {
            Ok(v) => v,
            // Another reader loaded it meanwhile and released the slot, which a checkpoint may
            // have reused under this read: its verified copy is the page.
            Err(e) => return self.words.get().map(|w| &w[..]).ok_or(e),
        };
        let bytes = v.len() as u64 * 8;
        // Two readers may load it at once: one copy wins, both are the same bytes.
        if self.words.set(v).is_ok() {
            self.class.loaded.fetch_add(bytes, Ordering::Relaxed);
            // Read: the page object never reads its slot again.
            self.class.pins.release(self.entry.slot);
        }
        Ok(self.words.get().expect("set above"))
    }

    fn resident(&self) -> Option<&[u64]> {
        self.words.get().map(|w| &w[..])
    }
}

impl DiskPage {
    /// Whether its words are in memory (read since it was made).
    pub fn is_loaded(&self) -> bool {
        self.words.get().is_some()
    }
}

impl Drop for DiskPage {
    fn drop(&mut self) {
        match self.words.get() {
            Some(w) => {
                self.class
                    .loaded
                    .fetch_sub(w.len() as u64 * 8, Ordering::Relaxed);
            }
            None => self.class.pins.release(self.entry.slot),
        }
    }
}

/// Checks `words` against its table entry: CRC32C and the level in the page header.
///
/// # Errors
/// `Corruption` naming the node, class and slot.
pub fn verify(e: &Entry, words: &[u64]) -> Result<()> {
    let where_ = || {
        format!(
            "page of node {:#x} ({} slot {})",
            e.node,
            file_name(e.class),
            e.slot
        )
    };
    if crc32c::crc32c(bytemuck::cast_slice(words)) != e.crc {
        return Err(corrupt(format!("{}: checksum mismatch", where_())));
    }
    if (words[1] >> 32) as u32 != e.level {
        return Err(corrupt(format!(
            "{}: level {} where the object table says {}",
            where_(),
            words[1] >> 32,
            e.level
        )));
    }
    Ok(())
}

struct ClassFile {
    file: Arc<dyn BackendFile>,
    /// Slots the file holds (its length over the slot size).
    slots: u64,
    /// Slots the durable checkpoint uses.
    used: Vec<u64>,
    /// The file, its pins and the lock, shared with the page objects.
    shared: Arc<ClassShared>,
}

impl ClassFile {
    fn new(
        class: u32,
        file: Arc<dyn BackendFile>,
        lock: Option<Arc<DirLock>>,
        loaded: Arc<AtomicU64>,
    ) -> Result<ClassFile> {
        let slots = file.size()? / ClassFile::bytes(class);
        Ok(ClassFile {
            shared: Arc::new(ClassShared {
                name: file_name(class),
                file: file.clone(),
                pins: Pins::default(),
                io: RwLock::new(()),
                _lock: lock,
                loaded,
            }),
            file,
            slots,
            used: vec![0; slots.div_ceil(64) as usize],
        })
    }
    fn bytes(class: u32) -> u64 {
        1 << class
    }
    fn is_used(&self, slot: u64) -> bool {
        self.used
            .get((slot / 64) as usize)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }
}

fn set_bit(bits: &mut Vec<u64>, slot: u64) {
    let w = (slot / 64) as usize;
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    bits[w] |= 1 << (slot % 64);
}

fn clear_bit(bits: &mut [u64], slot: u64) {
    if let Some(w) = bits.get_mut((slot / 64) as usize) {
        *w &= !(1 << (slot % 64));
    }
}

/// A class file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentRef {
    /// File name.
    pub file: String,
    /// Slot size in bytes.
    pub slot_bytes: u64,
    /// Slots the file held when the manifest was written.
    pub slots: u64,
}

/// Counts of the segment store (for `stats`, `fsck` and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SegmentStats {
    /// Pages of the durable checkpoint reached from the roots: counted by
    /// [`crate::engine::Runtime::verify_checkpoint`]; [`Segments::stats`] leaves it 0 (it does
    /// not see the tables).
    pub pages: u64,
    /// Slots in use by the durable checkpoint.
    pub used_slots: u64,
    /// Slots the class files hold.
    pub total_slots: u64,
    /// Bytes of the slots in use (the live part of `bytes`).
    pub used_bytes: u64,
    /// Bytes of the class files.
    pub bytes: u64,
    /// Open class files (one descriptor each).
    pub files: u64,
}

/// The class files of a data directory and their free space.
pub struct Segments {
    backend: Arc<dyn Backend>,
    classes: BTreeMap<u32, ClassFile>,
    /// The directory lock, handed to every page object (None for test backends).
    lock: Option<Arc<DirLock>>,
    /// Bytes of the pages that page objects of these files have read into memory and still
    /// hold (see [`Segments::loaded_bytes`]).
    loaded: Arc<AtomicU64>,
}

impl Segments {
    /// Opens the class files of the directory and rebuilds their free space from `tables`
    /// (the object tables of the durable checkpoint, one per field). `lock` is the directory
    /// lock, which every page object will hold while it lives.
    ///
    /// # Errors
    /// `Corruption` when an entry's slot lies outside its file or two entries share a slot;
    /// `Io` from the backend.
    pub fn open<'t>(
        backend: Arc<dyn Backend>,
        tables: impl IntoIterator<Item = &'t ObjectTable>,
        lock: Option<Arc<DirLock>>,
    ) -> Result<Segments> {
        let mut classes = BTreeMap::new();
        let loaded = Arc::new(AtomicU64::new(0));
        for name in backend.list()? {
            let Some(class) = parse_name(&name) else {
                continue;
            };
            let file = backend.open(&name, false)?;
            classes.insert(
                class,
                ClassFile::new(class, file, lock.clone(), loaded.clone())?,
            );
        }
        for e in tables.into_iter().flat_map(|t| t.iter()) {
            let c = classes.get_mut(&e.class).ok_or_else(|| {
                corrupt(format!(
                    "node {:#x} is in {}, which does not exist",
                    e.node,
                    file_name(e.class)
                ))
            })?;
            if e.slot >= c.slots {
                return Err(corrupt(format!(
                    "node {:#x} is in slot {} of {}, which has {} slots",
                    e.node,
                    e.slot,
                    file_name(e.class),
                    c.slots
                )));
            }
            if c.is_used(e.slot) {
                return Err(corrupt(format!(
                    "two nodes share slot {} of {}",
                    e.slot,
                    file_name(e.class)
                )));
            }
            set_bit(&mut c.used, e.slot);
        }
        Ok(Segments {
            backend,
            classes,
            lock,
            loaded,
        })
    }

    /// The counter of bytes of pages read from these files into memory and still held by
    /// their page objects: a page adds its bytes when its first use reads it, and subtracts
    /// them when it is dropped (no snapshot or reader can reach it any more). Shared, so that
    /// it can be read without the checkpoint lock.
    pub fn loaded_bytes(&self) -> Arc<AtomicU64> {
        self.loaded.clone()
    }

    /// The page of `e` of a field of `precision` and `dims`, to be used in place: a page
    /// object that reads and verifies its slot on first use (see [`DiskPage`]), pinning the
    /// slot until dropped.
    ///
    /// # Errors
    /// `Internal` when `e` names a class without a file (open checked the table).
    pub fn page(&mut self, e: &Entry, precision: u32, dims: usize) -> Result<LoadedPage> {
        let c = self
            .classes
            .get(&e.class)
            .ok_or_else(|| Error::internal("page of a class without a file"))?;
        c.shared.pins.set(e.slot);
        Ok(LoadedPage::Shared(Arc::new(DiskPage {
            class: c.shared.clone(),
            entry: *e,
            shape: Shape { precision, dims },
            words: OnceLock::new(),
        })))
    }

    /// [`Segments::page`] for a page already in memory that is to leave it (the memory
    /// budget): None when a page object made earlier still has `e`'s slot as its own or reads
    /// it (a moved page's), so that at most one unread page object ever reads a slot — the
    /// pins and redirects assume it. The page then stays in memory.
    pub fn page_again(&mut self, e: &Entry, precision: u32, dims: usize) -> Option<LoadedPage> {
        let c = self.classes.get(&e.class)?;
        {
            let mut st = c.shared.pins.state.lock();
            let bit = st
                .bits
                .get((e.slot / 64) as usize)
                .is_some_and(|w| w & (1 << (e.slot % 64)) != 0);
            if bit || st.holders.contains_key(&e.slot) {
                return None;
            }
            set_bit(&mut st.bits, e.slot);
        }
        Some(LoadedPage::Shared(Arc::new(DiskPage {
            class: c.shared.clone(),
            entry: *e,
            shape: Shape { precision, dims },
            words: OnceLock::new(),
        })))
    }

    /// Reads the page of `e` from its file (a new read, whatever page objects hold) and
    /// verifies its CRC and level.
    ///
    /// # Errors
    /// `Io` from the backend, `Corruption` when the page fails verification or the file is
    /// too short for it.
    pub fn read(&self, e: &Entry) -> Result<Vec<u64>> {
        let c = self
            .classes
            .get(&e.class)
            .ok_or_else(|| corrupt(format!("{} is missing", file_name(e.class))))?;
        let mut v = vec![0u64; e.words as usize];
        let at = e.slot * ClassFile::bytes(e.class);
        if let Err(err) = c.file.read_at(at, bytemuck::cast_slice_mut(&mut v)) {
            // As for a page object's read: a file too short for the page is damage (it was
            // cut behind the runtime's back), which compaction reports without poisoning.
            let len = c.file.size()?;
            if len < at + e.words as u64 * 8 {
                return Err(corrupt(format!(
                    "{} is {len} bytes, too short for the page of node {:#x} in slot {} \
                     (was it truncated while the index was open?)",
                    file_name(e.class),
                    e.node,
                    e.slot
                )));
            }
            return Err(err);
        }
        verify(e, &v)?;
        Ok(v)
    }

    /// The class files as the manifest lists them.
    pub fn refs(&self) -> Vec<SegmentRef> {
        self.classes
            .iter()
            .map(|(&class, c)| SegmentRef {
                file: file_name(class),
                slot_bytes: ClassFile::bytes(class),
                slots: c.slots,
            })
            .collect()
    }

    /// Counts for statistics.
    pub fn stats(&self) -> SegmentStats {
        let mut s = SegmentStats::default();
        for (&class, c) in &self.classes {
            let used = c.used.iter().map(|w| w.count_ones() as u64).sum::<u64>();
            s.used_slots += used;
            s.used_bytes += used * ClassFile::bytes(class);
            s.total_slots += c.slots;
            s.bytes += c.slots * ClassFile::bytes(class);
            s.files += 1;
        }
        s
    }

    /// Starts a checkpoint's allocations (see [`Plan`]).
    pub fn plan(&mut self) -> Plan<'_> {
        let taken = self
            .classes
            .iter()
            .map(|(&k, c)| (k, c.used.clone()))
            .collect();
        Plan {
            segs: self,
            taken,
            hint: BTreeMap::new(),
            freed: Vec::new(),
            runs: BTreeMap::new(),
            touched: Vec::new(),
            pages: 0,
            bytes: 0,
        }
    }
}

/// One page that compaction moves from slot `from` to the lower slot `to` of the same class
/// file: a page of the durable checkpoint (`page` names its field's table and its entry), or
/// a page only an unread page object still needs (a snapshot's page the checkpoint dropped;
/// `page` is None), whose slot is copied whole and verified by that object when it reads it.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    /// Size class.
    pub class: u32,
    /// The slot it leaves.
    pub from: u64,
    /// The slot it moves to.
    pub to: u64,
    /// Index of the field's object table and the page's entry before the move.
    pub page: Option<(usize, Entry)>,
}

/// What a compaction does (see [`Segments::plan_compaction`]): the pages it moves and the
/// length, in slots, each class file is cut to afterwards.
#[derive(Debug, Default)]
pub struct Compaction {
    /// Pages to move, by class, then by destination slot.
    pub moves: Vec<Move>,
    /// Class → slots the file keeps (only classes whose file gets shorter).
    pub lens: BTreeMap<u32, u64>,
}

impl Compaction {
    /// Whether it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.lens.is_empty()
    }

    /// Pages of the durable checkpoint it moves.
    pub fn checkpoint_pages(&self) -> u64 {
        self.moves.iter().filter(|m| m.page.is_some()).count() as u64
    }
}

impl Segments {
    /// Plans a compaction of every class file (DESIGN.md §5, "Compaction"): the occupied slots
    /// highest first — pages of the durable checkpoint, and slots an unread page object still
    /// needs — move into the lowest slots that are neither, until no free slot lies below an
    /// occupied one; each file is then cut after its last occupied slot. `tables` are the
    /// durable checkpoint's object tables (the ones these files were opened or last committed
    /// with).
    ///
    /// # Errors
    /// `Internal` when a table's entry names a class without a file or a slot the allocator
    /// has free.
    pub fn plan_compaction(&self, tables: &[(NodeId, ObjectTable)]) -> Result<Compaction> {
        let mut by_class: BTreeMap<u32, HashMap<u64, (usize, Entry)>> = BTreeMap::new();
        for (f, (_, t)) in tables.iter().enumerate() {
            for e in t.iter() {
                by_class.entry(e.class).or_default().insert(e.slot, (f, *e));
            }
        }
        let mut out = Compaction::default();
        for (&class, c) in &self.classes {
            let pages = by_class.remove(&class).unwrap_or_default();
            if pages.keys().any(|&slot| !c.is_used(slot)) {
                return Err(Error::internal(format!(
                    "compaction: {} has a page in a slot its allocator has free",
                    file_name(class)
                )));
            }
            let pins = c.shared.pins.state.lock();
            let occupied = |s: u64| c.is_used(s) || pins.pinned(s);
            let mut dest = 0u64;
            let mut len = 0u64;
            for slot in (0..c.slots).rev() {
                if !occupied(slot) {
                    continue;
                }
                while dest < slot && occupied(dest) {
                    dest += 1;
                }
                if dest >= slot {
                    len = len.max(slot + 1);
                    break;
                }
                out.moves.push(Move {
                    class,
                    from: slot,
                    to: dest,
                    page: pages.get(&slot).copied(),
                });
                len = len.max(dest + 1);
                dest += 1;
            }
            drop(pins);
            if len < c.slots {
                out.lens.insert(class, len);
            }
        }
        if let Some((&class, _)) = by_class.iter().next() {
            return Err(Error::internal(format!(
                "compaction: a page of class {class} has no class file"
            )));
        }
        out.moves.sort_unstable_by_key(|m| (m.class, m.to));
        Ok(out)
    }

    /// Copies every page `plan` moves into its new slot (a checkpoint page is read back and
    /// verified first, so a damaged page is reported rather than copied) and syncs the files
    /// written. The old slots are not touched: until the checkpoint naming the new slots is
    /// durable, the old one still reads its pages where they were.
    ///
    /// # Errors
    /// `Io` from the backend; `Corruption` when a page fails verification.
    pub fn copy_moves(&self, plan: &Compaction) -> Result<()> {
        let mut i = 0;
        let mut touched = Vec::new();
        while i < plan.moves.len() {
            let class = plan.moves[i].class;
            let c = self
                .classes
                .get(&class)
                .ok_or_else(|| Error::internal("compaction: move in a class without a file"))?;
            let slot_bytes = ClassFile::bytes(class) as usize;
            // Destinations that follow each other go out as one write.
            let first = plan.moves[i].to;
            let mut buf = Vec::new();
            while i < plan.moves.len() {
                let m = &plan.moves[i];
                let next = first + (buf.len() / slot_bytes) as u64;
                // A write holds at least one slot, however large (classes from 23 on have
                // slots of more than RUN_BYTES): else the loop would never move on.
                let full = !buf.is_empty() && buf.len() + slot_bytes > RUN_BYTES;
                if m.class != class || m.to != next || full {
                    break;
                }
                let at = buf.len();
                match &m.page {
                    Some((_, e)) => buf.extend_from_slice(bytemuck::cast_slice(&self.read(e)?)),
                    None => {
                        buf.resize(at + slot_bytes, 0);
                        c.file.read_at(m.from * slot_bytes as u64, &mut buf[at..])?;
                    }
                }
                buf.resize(at + slot_bytes, 0);
                i += 1;
            }
            c.file.write_at(first * slot_bytes as u64, &buf)?;
            if !touched.contains(&class) {
                touched.push(class);
            }
        }
        for class in touched {
            self.classes[&class].file.sync()?;
        }
        Ok(())
    }

    /// The class files as the manifest lists them once `plan` is done: each cut to its new
    /// length.
    pub fn refs_after(&self, plan: &Compaction) -> Vec<SegmentRef> {
        let mut refs = self.refs();
        for r in &mut refs {
            if let Some(&len) = parse_name(&r.file).and_then(|c| plan.lens.get(&c)) {
                r.slots = len;
            }
        }
        refs
    }

    /// Finishes `plan` once the checkpoint naming the new slots is durable: the allocator's
    /// slots in use follow the moves, unread page objects of moved pages read their new slots
    /// (pinned for them), and
    /// each file is cut to its new length and synced. A failed cut is logged, not returned:
    /// the state is committed, a longer file is only space the next compaction retries.
    pub fn finish_compaction(&mut self, plan: &Compaction) {
        for m in plan.moves.iter().filter(|m| m.page.is_some()) {
            if let Some(c) = self.classes.get_mut(&m.class) {
                clear_bit(&mut c.used, m.from);
                set_bit(&mut c.used, m.to);
            }
        }
        for (&class, c) in &mut self.classes {
            let shared = c.shared.clone();
            let _io = shared.io.write();
            for m in plan.moves.iter().filter(|m| m.class == class) {
                shared.pins.relocate(m.from, m.to);
            }
            let Some(&len) = plan.lens.get(&class) else {
                continue;
            };
            let cut = c
                .file
                .set_len(len * ClassFile::bytes(class))
                .and_then(|()| c.file.sync());
            match cut {
                Ok(()) => {
                    c.slots = len;
                    c.used.truncate(len.div_ceil(64) as usize);
                }
                Err(e) => {
                    log::warn!("xtree compaction: cutting {} failed: {e}", file_name(class));
                    if let Ok(size) = c.file.size() {
                        c.slots = size / ClassFile::bytes(class);
                    }
                }
            }
        }
    }
}

/// Contiguous slots being gathered into one write.
struct Run {
    first: u64,
    slots: u64,
    buf: Vec<u8>,
}

/// The allocations of one checkpoint. New pages go into slots that are free in the durable
/// checkpoint and not pinned; freed slots stay in use until [`Plan::commit`], which the caller
/// runs only once the checkpoint is durable. Dropping a plan discards its allocations (the
/// bytes written into free slots are garbage nobody references).
pub struct Plan<'a> {
    segs: &'a mut Segments,
    /// Per class: slots in use by the durable checkpoint or taken by this plan.
    taken: BTreeMap<u32, Vec<u64>>,
    hint: BTreeMap<u32, u64>,
    freed: Vec<(u32, u64)>,
    runs: BTreeMap<u32, Run>,
    touched: Vec<u32>,
    /// Pages written by this plan.
    pub pages: u64,
    /// Bytes written by this plan.
    pub bytes: u64,
}

impl Plan<'_> {
    fn class_file(&mut self, class: u32) -> Result<&mut ClassFile> {
        if !self.segs.classes.contains_key(&class) {
            let file = self.segs.backend.open(&file_name(class), true)?;
            let lock = self.segs.lock.clone();
            let loaded = self.segs.loaded.clone();
            self.segs
                .classes
                .insert(class, ClassFile::new(class, file, lock, loaded)?);
        }
        Ok(self.segs.classes.get_mut(&class).expect("inserted"))
    }

    fn alloc(&mut self, class: u32) -> Result<u64> {
        if !self.touched.contains(&class) {
            self.touched.push(class);
        }
        let start = self.hint.get(&class).copied().unwrap_or(0);
        let c = self.class_file(class)?;
        let slots = c.slots;
        let shared = c.shared.clone();
        let taken = self.taken.entry(class).or_default();
        let mut slot = start;
        while slot < slots {
            let w = taken.get((slot / 64) as usize).copied().unwrap_or(0);
            if w == u64::MAX {
                slot = (slot / 64 + 1) * 64;
                continue;
            }
            if w & (1 << (slot % 64)) == 0 && !shared.pins.pinned(slot) {
                break;
            }
            slot += 1;
        }
        if slot >= slots {
            // Grow by a segment or an eighth of the file, whichever is more.
            let c = self.class_file(class)?;
            let grow = SEGMENT_SLOTS
                .max(c.slots / 8)
                .next_multiple_of(SEGMENT_SLOTS);
            let new_slots = c.slots.max(slot) + grow;
            c.file.set_len(new_slots * ClassFile::bytes(class))?;
            c.slots = new_slots;
        }
        let taken = self.taken.entry(class).or_default();
        set_bit(taken, slot);
        self.hint.insert(class, slot + 1);
        Ok(slot)
    }

    /// Writes `page` (NodeID `node`, at `level`) into a new slot and returns its entry, born
    /// at `epoch`. Writes are gathered while slots are contiguous; [`Plan::sync`] flushes them.
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn write(&mut self, node: NodeId, page: &[u64], level: u32, epoch: u64) -> Result<Entry> {
        let class = class_for(page.len());
        let slot = self.alloc(class)?;
        let bytes: &[u8] = bytemuck::cast_slice(page);
        let slot_bytes = ClassFile::bytes(class) as usize;
        let contiguous = self
            .runs
            .get(&class)
            .is_some_and(|r| r.first + r.slots == slot && r.buf.len() + slot_bytes <= RUN_BYTES);
        if !contiguous {
            self.flush(class)?;
            self.runs.insert(
                class,
                Run {
                    first: slot,
                    slots: 0,
                    buf: Vec::new(),
                },
            );
        }
        let run = self.runs.get_mut(&class).expect("run");
        // Each slot is written whole (the page, then zeros) so that a run is one write.
        let at = run.buf.len();
        run.buf.extend_from_slice(bytes);
        run.buf.resize(at + slot_bytes, 0);
        run.slots += 1;
        self.pages += 1;
        self.bytes += bytes.len() as u64;
        Ok(Entry {
            node,
            birth: epoch,
            slot,
            class,
            level,
            words: page.len() as u32,
            crc: crc32c::crc32c(bytes),
        })
    }

    fn flush(&mut self, class: u32) -> Result<()> {
        if let Some(run) = self.runs.remove(&class) {
            if run.slots > 0 {
                let c = self.class_file(class)?;
                c.file
                    .write_at(run.first * ClassFile::bytes(class), &run.buf)?;
            }
        }
        Ok(())
    }

    /// Marks the slot of `e` free once the plan commits.
    pub fn free(&mut self, e: &Entry) {
        self.freed.push((e.class, e.slot));
    }

    /// Reads and verifies the page of `e` (a page of the durable checkpoint).
    ///
    /// # Errors
    /// As [`Segments::read`].
    pub fn read(&self, e: &Entry) -> Result<Vec<u64>> {
        self.segs.read(e)
    }

    /// Flushes the gathered writes and syncs every class file written: after this, the new
    /// pages are durable (the manifest that names them is written next).
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn sync(&mut self) -> Result<()> {
        let classes: Vec<u32> = self.runs.keys().copied().collect();
        for class in classes {
            self.flush(class)?;
        }
        for class in self.touched.clone() {
            self.class_file(class)?.file.sync()?;
        }
        Ok(())
    }

    /// The class files as the manifest of this checkpoint lists them.
    pub fn refs(&self) -> Vec<SegmentRef> {
        self.segs.refs()
    }

    /// Makes the plan's allocation the durable one: its new slots in use, its freed slots free
    /// (reusable unless still pinned). Call only after the checkpoint is durable.
    pub fn commit(self) {
        let Plan {
            segs,
            mut taken,
            freed,
            ..
        } = self;
        for (class, slot) in freed {
            if let Some(bits) = taken.get_mut(&class) {
                clear_bit(bits, slot);
            }
        }
        for (class, bits) in taken {
            if let Some(c) = segs.classes.get_mut(&class) {
                c.used = bits;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::FaultBackend;

    #[test]
    fn classes_and_names() {
        assert_eq!(class_for(512), 12);
        assert_eq!(class_for(8), 12);
        assert_eq!(class_for(513), 13);
        assert_eq!(class_for(32 * 1024), 18);
        assert_eq!(parse_name(&file_name(12)), Some(12));
        assert_eq!(parse_name("seg-99.xsd"), None);
        assert_eq!(parse_name("seg-1.xsd"), None);
    }

    #[test]
    fn entry_round_trip_and_bounds() {
        let e = Entry {
            node: crate::store::node_id(77, 3),
            birth: 9,
            slot: 12345,
            class: 13,
            level: 2,
            words: 700,
            crc: 0xdead_beef,
        };
        assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
        let mut bad = e;
        bad.words = 2000; // more than 8 KiB
        assert!(Entry::decode(&bad.encode()).is_err());
        bad = e;
        bad.class = 40;
        assert!(Entry::decode(&bad.encode()).is_err());
    }

    #[test]
    fn table_rejects_shared_handles() {
        let mut t = ObjectTable::default();
        let e = |node| Entry {
            node,
            birth: 1,
            slot: 0,
            class: 12,
            level: 0,
            words: 8,
            crc: 0,
        };
        t.insert(e(5)).unwrap();
        assert!(t.holds(5));
        assert!(!t.holds(crate::store::node_id(5, 1)));
        assert!(t.insert(e(crate::store::node_id(5, 1))).is_err());
        assert!(t.remove(crate::store::node_id(5, 1)).is_none());
        assert_eq!(t.remove(5).unwrap().node, 5);
        assert!(t.is_empty());
        t.insert(e(5000)).unwrap();
        assert_eq!(t.iter().count(), 1);
    }

    /// A valid 1-D, precision-64 node page of `words` words at `level` holding one entry whose
    /// id (word 8) and coordinates are `fill`.
    fn page(level: u32, fill: u64, words: usize) -> Vec<u64> {
        use crate::xtree::node::{init_page, page_words, NodeMut};
        let dir = level > 0;
        let cap = (words - 8) / if dir { 4 } else { 3 };
        assert_eq!(page_words(1, 8, cap, dir), words);
        let mut p = vec![0u64; words];
        init_page::<f64>(&mut p, 1, cap, level);
        NodeMut::<f64>::new(&mut p, 1)
            .unwrap()
            .push(fill, 0, &[fill as f64, fill as f64]);
        p
    }

    #[test]
    fn freed_slots_are_reused_only_after_commit_and_unpin() {
        let b = Arc::new(FaultBackend::new());
        let mut segs = Segments::open(b.clone(), &[], None).unwrap();
        let mut plan = segs.plan();
        let a = plan.write(1, &page(0, 1, 512), 0, 1).unwrap();
        let c = plan.write(2, &page(0, 2, 512), 0, 1).unwrap();
        assert_eq!((a.slot, c.slot), (0, 1));
        plan.sync().unwrap();
        plan.commit();
        // Free `a` in the next plan: its slot is not reused by that plan.
        let mut plan = segs.plan();
        plan.free(&a);
        let d = plan.write(3, &page(0, 3, 512), 0, 2).unwrap();
        assert_eq!(d.slot, 2);
        plan.sync().unwrap();
        plan.commit();
        // Committed: the slot of `a` is free again.
        let mut plan = segs.plan();
        assert_eq!(plan.write(4, &page(0, 4, 512), 0, 3).unwrap().slot, 0);
        drop(plan);
        // Reopen with `c` and `d` live: a page object of `c` pins its slot after it is freed.
        let mut t = ObjectTable::default();
        t.insert(c).unwrap();
        t.insert(d).unwrap();
        let mut segs = Segments::open(b.clone(), std::slice::from_ref(&t), None).unwrap();
        let mapped = segs.page(&c, 64, 1).unwrap();
        let LoadedPage::Shared(p) = &mapped else {
            panic!("a shared page")
        };
        let mut plan = segs.plan();
        plan.free(&c);
        plan.commit();
        let mut plan = segs.plan();
        let e = plan.write(5, &page(0, 5, 512), 0, 4).unwrap();
        assert_eq!(e.slot, 0, "slot 0 was free");
        let f = plan.write(6, &page(0, 6, 512), 0, 4).unwrap();
        assert_ne!(f.slot, c.slot, "pinned while unread");
        drop(plan);
        // Read: its page object no longer needs the slot.
        assert_eq!(p.words().unwrap()[8], 2);
        let mut plan = segs.plan();
        plan.write(7, &page(0, 7, 512), 0, 5).unwrap();
        assert_eq!(plan.write(8, &page(0, 8, 512), 0, 5).unwrap().slot, c.slot);
        drop(plan);
        assert_eq!(p.words().unwrap()[8], 2, "read once, kept");
        drop(mapped);
    }

    /// A compaction's moves, redirects and cut at the level of the class files: checkpoint
    /// pages and an unread page object's page move down; the page objects read the new slots.
    #[test]
    fn compaction_moves_pages_and_redirects_unread_page_objects() {
        let b = Arc::new(FaultBackend::new());
        let mut segs = Segments::open(b.clone(), &[], None).unwrap();
        let mut plan = segs.plan();
        let es: Vec<Entry> = (0..10)
            .map(|i| plan.write(i + 1, &page(0, i + 1, 512), 0, 1).unwrap())
            .collect();
        plan.sync().unwrap();
        plan.commit();
        let segs_len = segs.stats().total_slots;
        // Reopen with pages 1..10 live, then free pages 1..=7 (slots 0..=6): pages 8, 9, 10
        // stay in slots 7, 8, 9. Page 9's object is unread and its page freed: a snapshot's.
        let mut t = ObjectTable::default();
        for e in &es {
            t.insert(*e).unwrap();
        }
        let mut segs = Segments::open(b.clone(), std::slice::from_ref(&t), None).unwrap();
        let objs: Vec<LoadedPage> = es.iter().map(|e| segs.page(e, 64, 1).unwrap()).collect();
        let words = |p: &LoadedPage| match p {
            LoadedPage::Shared(s) => s.words().map(|w| w[8]),
            LoadedPage::Owned(w) => Ok(w[8]),
        };
        // Pages 1..=7 read (and then dropped by the tree), page 9 freed while unread.
        for p in &objs[..7] {
            words(p).unwrap();
        }
        let mut plan = segs.plan();
        for e in es[..7].iter().chain(std::iter::once(&es[8])) {
            plan.free(e);
            t.remove(e.node);
        }
        plan.commit();
        let tables = vec![(es[9].node, t.clone())];
        let c = segs.plan_compaction(&tables).unwrap();
        // From the top: page 10 (slot 9) → 0, page 9 (slot 8, held) → 1, page 8 (slot 7) → 2.
        let moves: Vec<(u64, u64, bool)> = c
            .moves
            .iter()
            .map(|m| (m.from, m.to, m.page.is_some()))
            .collect();
        assert_eq!(moves, [(9, 0, true), (8, 1, false), (7, 2, true)]);
        assert_eq!(c.lens.get(&12), Some(&3));
        assert!(segs_len > 3);
        segs.copy_moves(&c).unwrap();
        let mut t2 = t.clone();
        for m in &c.moves {
            if let Some((_, e)) = m.page {
                assert!(t2.set_slot(e.node, m.to));
            }
        }
        segs.finish_compaction(&c);
        assert_eq!(segs.stats().total_slots, 3);
        assert_eq!(segs.stats().used_slots, 2);
        assert_eq!(
            b.open(&file_name(12), false).unwrap().size().unwrap(),
            3 << 12
        );
        // The unread objects of pages 8, 9 and 10 read their new slots (the old ones are gone).
        for (i, p) in objs.iter().enumerate().skip(7) {
            assert_eq!(words(p).unwrap(), i as u64 + 1, "page {}", i + 1);
        }
        for e in t2.iter() {
            assert_eq!(segs.read(e).unwrap()[8], e.node);
        }
        // Slot 1 (page 9's copy) is reused only once its page object is gone... it was read
        // above, so it is free now: a plan takes slot 1 first.
        let mut plan = segs.plan();
        assert_eq!(plan.write(20, &page(0, 20, 512), 0, 2).unwrap().slot, 1);
        drop(plan);
        drop(objs);
    }

    /// A fault backend holding one committed page (NodeID 1) and its entry.
    fn one_page(p: &[u64]) -> (Arc<FaultBackend>, Entry) {
        let b = Arc::new(FaultBackend::new());
        let mut segs = Segments::open(b.clone(), &[], None).unwrap();
        let mut plan = segs.plan();
        let e = plan.write(1, p, (p[1] >> 32) as u32, 1).unwrap();
        plan.sync().unwrap();
        plan.commit();
        (b, e)
    }

    #[test]
    fn open_rejects_shared_and_out_of_range_slots() {
        let (b, a) = one_page(&page(0, 1, 512));
        let mut t = ObjectTable::default();
        t.insert(a).unwrap();
        let mut twin = a;
        twin.node = 2;
        t.insert(twin).unwrap();
        assert!(Segments::open(b.clone(), std::slice::from_ref(&t), None).is_err());
        let mut far = a;
        far.slot = 1 << 30;
        let mut t = ObjectTable::default();
        t.insert(far).unwrap();
        assert!(Segments::open(b.clone(), &[t], None).is_err());
    }

    #[test]
    fn damaged_page_is_reported_on_first_use() {
        let (b, a) = one_page(&page(1, 9, 600));
        assert_eq!(a.class, 13);
        let f = b.open(&file_name(13), false).unwrap();
        f.write_at(100, &[0xff]).unwrap();
        let mut t = ObjectTable::default();
        t.insert(a).unwrap();
        let mut segs = Segments::open(b.clone(), &[t], None).unwrap();
        let LoadedPage::Shared(p) = segs.page(&a, 64, 1).unwrap() else {
            panic!("a shared page")
        };
        let e = p.words().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corruption);
        assert!(e.message().contains("checksum"), "{e}");
        assert!(segs.read(&a).is_err());
    }
}
