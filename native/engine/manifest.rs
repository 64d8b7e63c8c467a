//! The manifest: a JSON inventory of the data directory's current state, written
//! tmp + fsync + rename + directory fsync as `manifest-<generation>.json`; the superblock names
//! the current one and carries its CRC (see `FORMAT.md`, "Manifest").

use serde::{Deserialize, Serialize};

use super::backend::{read_all, Backend};
use crate::error::{Error, ErrorKind, Result};

/// Format version written in every manifest (3: segment pages may be point leaves; see
/// `checkpoint::FORMAT_VERSION`). Manifests of versions 1 to 3 are read.
pub const FORMAT_VERSION: u32 = 3;
/// Largest manifest accepted from disk.
pub const MAX_BYTES: u64 = 16 << 20;

/// The checkpoint a manifest names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    /// File name.
    pub file: String,
    /// Commit epoch the checkpoint is an image of.
    pub epoch: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// A named root: one field's place in the checkpoint (informational; the checkpoint is the
/// authority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRoot {
    /// Field name.
    pub name: String,
    /// Field id.
    pub field: u32,
    /// Records at the checkpoint.
    pub records: u64,
}

/// The manifest's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Generation; grows by one per manifest written.
    pub generation: u64,
    /// The current checkpoint, if any commit has been checkpointed.
    pub checkpoint: Option<CheckpointRef>,
    /// First log to replay after the checkpoint: every `wal-<seq>.log` with seq ≥ this, in
    /// order, until one is missing.
    pub wal_start: u64,
    /// The fields of the checkpoint.
    pub roots: Vec<NamedRoot>,
    /// Data files of the state (checkpoint and logs at the time of writing).
    pub files: Vec<String>,
    /// The segment files holding the checkpoint's pages, with their sizes in slots.
    #[serde(default)]
    pub segments: Vec<super::segments::SegmentRef>,
}

/// File name of manifest `generation`.
pub fn file_name(generation: u64) -> String {
    format!("manifest-{generation:016x}.json")
}

/// The generation of a manifest file name, if it is one.
pub fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("manifest-")?.strip_suffix(".json")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok())?
}

/// Writes `m` durably under its generation's name. Returns the CRC32C of the bytes written,
/// for the superblock.
///
/// # Errors
/// `Io` from the backend.
pub fn write(backend: &dyn Backend, m: &Manifest) -> Result<u32> {
    let bytes = serde_json::to_vec_pretty(m).expect("Manifest serialises");
    let name = file_name(m.generation);
    let tmp = format!("{name}.tmp");
    let f = backend.open(&tmp, true)?;
    f.set_len(0)?;
    f.write_at(0, &bytes)?;
    f.sync()?;
    backend.rename(&tmp, &name)?;
    backend.sync_dir()?;
    Ok(crc32c::crc32c(&bytes))
}

/// Reads manifest `generation` and checks it against the CRC the superblock recorded.
///
/// # Errors
/// `Corruption` for a CRC mismatch, bad JSON, a generation or format version that does not
/// match; `Io` from the backend (a missing file included).
pub fn read(backend: &dyn Backend, generation: u64, crc: u32) -> Result<Manifest> {
    let name = file_name(generation);
    let f = backend.open(&name, false)?;
    let bytes = read_all(f.as_ref(), &name, MAX_BYTES)?;
    let bad = |msg: String| Error::new(ErrorKind::Corruption, format!("{name}: {msg}"));
    if crc32c::crc32c(&bytes) != crc {
        return Err(bad("checksum does not match the superblock".into()));
    }
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if m.generation != generation {
        return Err(bad(format!("holds generation {}", m.generation)));
    }
    if m.format_version > FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} is newer than this library",
            m.format_version
        )));
    }
    Ok(m)
}
