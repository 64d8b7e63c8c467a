//! Checkpoint files: every field's object table at one commit epoch, `ckpt-<epoch>.xtc` (see
//! `FORMAT.md`, "Checkpoint"). The pages themselves are in the segment files
//! ([`super::segments`]); a checkpoint file names, for each field, its root, its record count
//! and where every page of its tree is.
//!
//! ```text
//! header (64 bytes): magic "XTREECKP" | format version u32 | field count u32 | epoch u64
//!                    | reserved (36 bytes, zero) | crc32c of bytes 0..60 u32
//! per field, in field-id order:
//!   field header:    meta_len u32 | records u64 | root NodeID u64 | entries u64
//!                    | FieldMeta JSON [meta_len] | crc32c of the field header before it u32
//!                    | zero padding to 8 bytes
//!   entries:         entries × 32 bytes (see `segments::Entry`), in handle order
//!                    | crc32c of the entries u32 | 4 zero bytes
//! trailer (16 bytes): magic "XTCKPEND" | total entries u32 | crc32c of bytes 0..12 of the trailer
//! ```
//!
//! The file is small (32 bytes per page of the index) and read whole; every length read back
//! is bounded by the file size before it is used.

use super::backend::{read_all, Backend};
use super::ops::FieldMeta;
use super::segments::{Entry, ObjectTable, ENTRY_BYTES};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{NodeId, NIL};

/// Magic bytes at the start of a checkpoint.
pub const MAGIC: &[u8; 8] = b"XTREECKP";
/// Magic bytes of the trailer.
pub const END_MAGIC: &[u8; 8] = b"XTCKPEND";
/// Format version of checkpoint files: 3 (the segment pages it names may be point leaves,
/// node kind 3). Version 2 (no point leaves; the same layout otherwise) is read as well.
/// Version 1 (whole page images) was written only by pre-release builds and is refused with
/// a message saying so.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest version read.
pub const FORMAT_VERSION_MIN: u32 = 2;
/// Bytes of the file header.
pub const HEADER: usize = 64;
const FIELD_FIXED: usize = 28;
const TRAILER: usize = 16;
/// Largest checkpoint file accepted (32 bytes per page: 2^30 pages).
pub const MAX_BYTES: u64 = 32 << 30;

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

/// One field as a checkpoint records it.
pub struct FieldImage<'a> {
    /// Its description.
    pub meta: &'a FieldMeta,
    /// Records in its tree.
    pub records: u64,
    /// Root NodeID (NIL when empty).
    pub root: NodeId,
    /// Where each page of its tree is.
    pub table: &'a ObjectTable,
}

/// Writes and syncs the checkpoint of `epoch` holding `fields` (in field-id order) under a
/// temporary name, then renames it to [`file_name`]. The caller syncs the directory. Returns
/// the file name and its size in bytes.
///
/// # Errors
/// `Io` from the backend.
pub fn write(
    backend: &dyn Backend,
    epoch: u64,
    fields: &[FieldImage<'_>],
) -> Result<(String, u64)> {
    let name = file_name(epoch);
    let tmp = format!("{name}.tmp");
    let mut out = Vec::with_capacity(
        HEADER
            + TRAILER
            + fields
                .iter()
                .map(|f| 128 + f.table.len() * ENTRY_BYTES)
                .sum::<usize>(),
    );
    let mut h = [0u8; HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(fields.len() as u32).to_le_bytes());
    h[16..24].copy_from_slice(&epoch.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&h);
    let mut total = 0u32;
    for f in fields {
        let json = serde_json::to_vec(f.meta).expect("FieldMeta serialises");
        let start = out.len();
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&f.records.to_le_bytes());
        out.extend_from_slice(&f.root.to_le_bytes());
        out.extend_from_slice(&(f.table.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        let crc = crc32c::crc32c(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.resize(out.len().next_multiple_of(8), 0);
        let start = out.len();
        for e in f.table.iter() {
            out.extend_from_slice(&e.encode());
        }
        let crc = crc32c::crc32c(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        total = total.wrapping_add(f.table.len() as u32);
    }
    let mut t = [0u8; TRAILER];
    t[0..8].copy_from_slice(END_MAGIC);
    t[8..12].copy_from_slice(&total.to_le_bytes());
    let crc = crc32c::crc32c(&t[0..12]);
    t[12..16].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&t);
    let file = backend.open(&tmp, true)?;
    file.set_len(0)?;
    file.write_at(0, &out)?;
    file.sync()?;
    backend.rename(&tmp, &name)?;
    Ok((name, out.len() as u64))
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

/// One field read from a checkpoint.
pub struct LoadedField {
    /// Its description.
    pub meta: FieldMeta,
    /// Records in its tree.
    pub records: u64,
    /// Root NodeID (NIL when empty).
    pub root: NodeId,
    /// Where each page of its tree is.
    pub table: ObjectTable,
}

/// What a checkpoint holds.
pub struct Loaded {
    /// The commit epoch it is an image of.
    pub epoch: u64,
    /// Fields in id order.
    pub fields: Vec<LoadedField>,
}

/// Reads and verifies checkpoint `name`: every CRC, every length, every entry's bounds, and
/// that each root is in its table. The pages are not read (see [`super::segments`]).
///
/// # Errors
/// `Corruption` for any damage or an unknown format version, `Io` from the backend.
pub fn read(backend: &dyn Backend, name: &str) -> Result<Loaded> {
    let file = backend.open(name, false)?;
    let bytes = read_all(file.as_ref(), name, MAX_BYTES)?;
    let len = bytes.len() as u64;
    let mut r = In {
        name,
        bytes: &bytes,
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
    if version == 1 {
        return Err(corrupt(
            name,
            "format version 1 (whole page images) was written by a pre-release build and is \
             not read by this one: rebuild the index from its source data",
        ));
    }
    if !(FORMAT_VERSION_MIN..=FORMAT_VERSION).contains(&version) {
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
        let root = u64::from_le_bytes(fixed[12..20].try_into().expect("8"));
        let entries = u64::from_le_bytes(fixed[20..28].try_into().expect("8"));
        if meta_len as u64 > len || entries > len / ENTRY_BYTES as u64 {
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
        let raw = r.take(entries as usize * ENTRY_BYTES)?;
        if r.u32()? != crc32c::crc32c(raw) || r.take(4)? != [0; 4] {
            return Err(corrupt(
                name,
                format!("field {fi}: object table checksum mismatch"),
            ));
        }
        let mut table = ObjectTable::default();
        for b in raw.chunks_exact(ENTRY_BYTES) {
            let e = Entry::decode(b).map_err(|e| corrupt(name, format!("field {fi}: {e}")))?;
            table
                .insert(e)
                .map_err(|e| corrupt(name, format!("field {fi}: {e}")))?;
        }
        if (root == NIL) != table.is_empty() || (root != NIL && !table.holds(root)) {
            return Err(corrupt(
                name,
                format!("field {fi}: root {root:#x} is not in its object table"),
            ));
        }
        total += entries;
        fields.push(LoadedField {
            meta,
            records,
            root,
            table,
        });
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
    Ok(Loaded { epoch, fields })
}
