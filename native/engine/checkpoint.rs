//! Checkpoint files: a consistent image of every field's tree at one commit epoch,
//! `ckpt-<epoch>.xtc` (see `FORMAT.md`, "Checkpoint").
//!
//! ```text
//! header (64 bytes): magic "XTREECKP" | format version u32 | field count u32 | epoch u64
//!                    | reserved (36 bytes, zero) | crc32c of bytes 0..60 u32
//! per field, in field-id order:
//!   field header:    meta_len u32 | records u64 | pages u64 | FieldMeta JSON [meta_len]
//!                    | crc32c of the field header before it u32 | zero padding to 8 bytes
//!   per page:        words u32 | crc32c of the page bytes u32 | page [words * 8 bytes]
//! trailer (16 bytes): magic "XTCKPEND" | total pages u32 | crc32c of bytes 0..12 of the trailer
//! ```
//!
//! Pages are the node pages of [`crate::xtree::node`] exactly as the in-memory store holds
//! them, in breadth-first order with child ids rewritten to page numbers (page 0 of a field is
//! its root). Every part is a whole number of 8-byte words, so the file is mapped and its pages
//! are used in place: loading is a verification, not a copy or a rebuild. Every length read
//! back is bounded by the file size and the field's maximum page size before it is used.

use std::sync::Arc;

use super::backend::{Backend, BackendFile};
use super::ops::FieldMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Index, IndexSnapshot};
use crate::store::memory::{LoadedPage, PageBacking};
use crate::xtree::params::MAX_SUPERNODE_BLOCKS;

/// Magic bytes at the start of a checkpoint.
pub const MAGIC: &[u8; 8] = b"XTREECKP";
/// Magic bytes of the trailer.
pub const END_MAGIC: &[u8; 8] = b"XTCKPEND";
/// Format version of checkpoint files.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the file header.
pub const HEADER: usize = 64;
const FIELD_FIXED: usize = 20;
const TRAILER: usize = 16;
const CHUNK: usize = 4 << 20;

/// The file name of the checkpoint of `epoch`.
pub fn file_name(epoch: u64) -> String {
    format!("ckpt-{epoch:016x}.xtc")
}

/// The epoch of a checkpoint file name, if it is one.
pub fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("ckpt-")?.strip_suffix(".xtc")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

fn corrupt(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Corruption, format!("{name}: {msg}"))
}

/// Buffered sequential writer over a backend file.
struct Out {
    file: Arc<dyn BackendFile>,
    buf: Vec<u8>,
    pos: u64,
}

impl Out {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file.write_at(self.pos, &self.buf)?;
            self.pos += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Writes and syncs the checkpoint of `epoch` holding `fields` (meta and snapshot, in field-id
/// order) under a temporary name, then renames it to [`file_name`]. The caller syncs the
/// directory. Returns the file name and its size in bytes.
///
/// # Errors
/// `Io` from the backend, `Corruption` if a snapshot page cannot be read.
pub fn write(
    backend: &dyn Backend,
    epoch: u64,
    fields: &[(FieldMeta, IndexSnapshot)],
) -> Result<(String, u64)> {
    let name = file_name(epoch);
    let tmp = format!("{name}.tmp");
    let file = backend.open(&tmp, true)?;
    file.set_len(0)?;
    let mut out = Out {
        file: file.clone(),
        buf: Vec::with_capacity(CHUNK + (1 << 16)),
        pos: 0,
    };
    let mut h = [0u8; HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(fields.len() as u32).to_le_bytes());
    h[16..24].copy_from_slice(&epoch.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    out.put(&h)?;
    let mut total = 0u32;
    for (meta, snap) in fields {
        let pages = snap.page_count()?;
        let json = serde_json::to_vec(meta).expect("FieldMeta serialises");
        let mut fh = Vec::with_capacity(FIELD_FIXED + json.len() + 4);
        fh.extend_from_slice(&(json.len() as u32).to_le_bytes());
        fh.extend_from_slice(&snap.len().to_le_bytes());
        fh.extend_from_slice(&pages.to_le_bytes());
        fh.extend_from_slice(&json);
        let crc = crc32c::crc32c(&fh);
        fh.extend_from_slice(&crc.to_le_bytes());
        // Zero padding to 8 bytes: pages start 8-byte aligned, so they are used in place.
        fh.resize(fh.len().next_multiple_of(8), 0);
        out.put(&fh)?;
        let written = snap.export_pages(|words| {
            let bytes: &[u8] = bytemuck::cast_slice(words);
            let mut ph = [0u8; 8];
            ph[0..4].copy_from_slice(&(words.len() as u32).to_le_bytes());
            ph[4..8].copy_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
            out.put(&ph)?;
            out.put(bytes)
        })?;
        if written != pages {
            return Err(Error::internal("snapshot changed during a checkpoint"));
        }
        total = total.wrapping_add(pages as u32);
    }
    let mut t = [0u8; TRAILER];
    t[0..8].copy_from_slice(END_MAGIC);
    t[8..12].copy_from_slice(&total.to_le_bytes());
    let crc = crc32c::crc32c(&t[0..12]);
    t[12..16].copy_from_slice(&crc.to_le_bytes());
    out.put(&t)?;
    out.flush()?;
    file.sync()?;
    let size = out.pos;
    backend.rename(&tmp, &name)?;
    Ok((name, size))
}

/// The whole checkpoint as 8-byte aligned words: the file mapped, or read when the backend
/// cannot map.
enum Backing {
    Mapped(memmap2::Mmap),
    Read(Vec<u64>),
}

impl PageBacking for Backing {
    fn words(&self) -> &[u64] {
        match self {
            // Checked aligned and a multiple of 8 bytes long when the mapping was made.
            Backing::Mapped(m) => bytemuck::cast_slice(&m[..]),
            Backing::Read(v) => v,
        }
    }
}

fn load(file: &dyn BackendFile, name: &str, len: u64) -> Result<Backing> {
    if !len.is_multiple_of(8) {
        return Err(corrupt(
            name,
            format!("{len} bytes is not a whole number of words"),
        ));
    }
    if let Some(m) = file.map()? {
        if m.len() as u64 == len && bytemuck::try_cast_slice::<u8, u64>(&m[..]).is_ok() {
            return Ok(Backing::Mapped(m));
        }
    }
    let mut v = vec![0u64; (len / 8) as usize];
    file.read_at(0, bytemuck::cast_slice_mut(&mut v))?;
    Ok(Backing::Read(v))
}

/// Sequential reader over the checkpoint's bytes.
struct In<'a> {
    name: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() - self.pos {
            return Err(corrupt(self.name, format!("truncated at {}", self.pos)));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

/// One field loaded from a checkpoint.
pub struct LoadedField {
    /// Its description.
    pub meta: FieldMeta,
    /// Its index, holding the checkpointed tree.
    pub index: Index,
}

/// What a checkpoint holds.
pub struct Loaded {
    /// The commit epoch it is an image of.
    pub epoch: u64,
    /// Fields in id order.
    pub fields: Vec<LoadedField>,
    /// Pages read.
    pub pages: u64,
    /// Whether the pages are used in place from a mapping of the file.
    pub mapped: bool,
}

/// Reads and verifies checkpoint `name` (every CRC, every length) and builds its indexes. The
/// pages are used in place: they point into the mapped (or, without mmap, read) file.
///
/// # Errors
/// `Corruption` for any damage, `Io` from the backend.
pub fn read(backend: &dyn Backend, name: &str) -> Result<Loaded> {
    let file = backend.open(name, false)?;
    let len = file.size()?;
    let backing: Arc<Backing> = Arc::new(load(file.as_ref(), name, len)?);
    let mapped = matches!(*backing, Backing::Mapped(_));
    let shared: Arc<dyn PageBacking> = backing.clone();
    let mut r = In {
        name,
        bytes: bytemuck::cast_slice(backing.words()),
        pos: 0,
    };
    let h = r.take(HEADER)?;
    if &h[0..8] != MAGIC {
        return Err(corrupt(name, "not a checkpoint (bad magic)"));
    }
    if u32::from_le_bytes(h[60..64].try_into().expect("4")) != crc32c::crc32c(&h[0..60]) {
        return Err(corrupt(name, "header checksum mismatch"));
    }
    let version = u32::from_le_bytes(h[8..12].try_into().expect("4"));
    if version != FORMAT_VERSION {
        return Err(corrupt(name, format!("unknown format version {version}")));
    }
    let nfields = u32::from_le_bytes(h[12..16].try_into().expect("4")) as u64;
    let epoch = u64::from_le_bytes(h[16..24].try_into().expect("8"));
    if nfields > len / FIELD_FIXED as u64 {
        return Err(corrupt(
            name,
            format!("{nfields} fields cannot fit in {len} bytes"),
        ));
    }
    let mut fields = Vec::with_capacity(nfields as usize);
    let mut total = 0u64;
    for fi in 0..nfields {
        let start = r.pos;
        let fixed = r.take(FIELD_FIXED)?;
        let meta_len = u32::from_le_bytes(fixed[0..4].try_into().expect("4")) as usize;
        let records = u64::from_le_bytes(fixed[4..12].try_into().expect("8"));
        let pages = u64::from_le_bytes(fixed[12..20].try_into().expect("8"));
        if meta_len as u64 > len || pages > len / 8 {
            return Err(corrupt(name, format!("field {fi}: impossible header")));
        }
        let json = r.take(meta_len)?;
        let covered = &r.bytes[start..r.pos];
        let crc = r.u32()?;
        if crc != crc32c::crc32c(covered) {
            return Err(corrupt(
                name,
                format!("field {fi}: header checksum mismatch"),
            ));
        }
        let pad = r.pos.next_multiple_of(8) - r.pos;
        if r.take(pad)?.iter().any(|&b| b != 0) {
            return Err(corrupt(name, format!("field {fi}: non-zero padding")));
        }
        let meta: FieldMeta = serde_json::from_slice(json)
            .map_err(|e| corrupt(name, format!("field {fi}: description: {e}")))?;
        let max_words = (meta.node_size.saturating_mul(MAX_SUPERNODE_BLOCKS + 1) + 4096) / 8;
        let mut page_list = Vec::with_capacity(pages as usize);
        for p in 0..pages {
            let words = r.u32()? as usize;
            let crc = r.u32()?;
            if words > max_words || words == 0 {
                return Err(corrupt(name, format!("field {fi} page {p}: {words} words")));
            }
            let at = r.pos;
            let bytes = r.take(words * 8)?;
            if crc != crc32c::crc32c(bytes) {
                return Err(corrupt(
                    name,
                    format!("field {fi} page {p}: checksum mismatch"),
                ));
            }
            // `at` is 8-aligned: the header, padded field headers, page headers and pages are
            // all whole words.
            page_list.push(LoadedPage::Shared(shared.clone(), at / 8..at / 8 + words));
        }
        total += pages;
        let index = Index::from_pages(meta.options(), page_list, records)
            .map_err(|e| corrupt(name, format!("field {fi} ({}): {}", meta.name, e.message())))?;
        fields.push(LoadedField { meta, index });
    }
    let t = r.take(TRAILER)?;
    if &t[0..8] != END_MAGIC
        || u32::from_le_bytes(t[12..16].try_into().expect("4")) != crc32c::crc32c(&t[0..12])
        || u32::from_le_bytes(t[8..12].try_into().expect("4")) != total as u32
    {
        return Err(corrupt(name, "bad trailer"));
    }
    if r.pos as u64 != len {
        return Err(corrupt(
            name,
            format!("{} bytes after the trailer", len - r.pos as u64),
        ));
    }
    Ok(Loaded {
        epoch,
        fields,
        pages: total,
        mapped,
    })
}
