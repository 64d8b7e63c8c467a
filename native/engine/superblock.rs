//! The superblock: two fixed slots in the file `SUPERBLOCK`, each naming a manifest generation
//! and its CRC; the valid slot with the higher generation is current (see `FORMAT.md`,
//! "Superblock"). A new state is written to the slot *not* holding the current one, so a torn
//! write leaves the other slot intact.
//!
//! ```text
//! slot (512 bytes, slot k at offset k * 512):
//!   magic "XTREESB1" | format version u32 | reserved u32 | generation u64
//!   | manifest generation u64 | manifest crc32c u32 | reserved (472 bytes, zero)
//!   | crc32c of bytes 0..508 u32
//! ```
//!
//! The file is created whole (both slots) under a temporary name and renamed into place, so a
//! directory with a `SUPERBLOCK` file is a fully initialised data directory.

use super::backend::Backend;
use crate::error::{Error, ErrorKind, Result};

/// File name of the superblock.
pub const FILE: &str = "SUPERBLOCK";
/// Magic bytes of a slot.
pub const MAGIC: &[u8; 8] = b"XTREESB1";
/// Format version of the data directory.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of one slot.
pub const SLOT: usize = 512;

/// The content of a valid slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// Generation of this superblock write (the slot is `generation % 2`).
    pub generation: u64,
    /// Generation of the current manifest.
    pub manifest: u64,
    /// CRC32C of the current manifest's bytes.
    pub manifest_crc: u32,
}

fn encode(sb: &Superblock) -> [u8; SLOT] {
    let mut s = [0u8; SLOT];
    s[0..8].copy_from_slice(MAGIC);
    s[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    s[16..24].copy_from_slice(&sb.generation.to_le_bytes());
    s[24..32].copy_from_slice(&sb.manifest.to_le_bytes());
    s[32..36].copy_from_slice(&sb.manifest_crc.to_le_bytes());
    let crc = crc32c::crc32c(&s[0..SLOT - 4]);
    s[SLOT - 4..].copy_from_slice(&crc.to_le_bytes());
    s
}

fn decode(s: &[u8]) -> Option<Superblock> {
    let crc = u32::from_le_bytes(s[SLOT - 4..SLOT].try_into().ok()?);
    if &s[0..8] != MAGIC || crc != crc32c::crc32c(&s[0..SLOT - 4]) {
        return None;
    }
    if u32::from_le_bytes(s[8..12].try_into().ok()?) != FORMAT_VERSION {
        return None;
    }
    Some(Superblock {
        generation: u64::from_le_bytes(s[16..24].try_into().ok()?),
        manifest: u64::from_le_bytes(s[24..32].try_into().ok()?),
        manifest_crc: u32::from_le_bytes(s[32..36].try_into().ok()?),
    })
}

/// Creates the superblock file holding `sb` (generation 1) atomically.
///
/// # Errors
/// `Io` from the backend.
pub fn create(backend: &dyn Backend, sb: &Superblock) -> Result<()> {
    let tmp = format!("{FILE}.tmp");
    let f = backend.open(&tmp, true)?;
    let mut both = vec![0u8; 2 * SLOT];
    let at = (sb.generation % 2) as usize * SLOT;
    both[at..at + SLOT].copy_from_slice(&encode(sb));
    f.set_len(0)?;
    f.write_at(0, &both)?;
    f.sync()?;
    backend.rename(&tmp, FILE)?;
    backend.sync_dir()
}

/// Writes `sb` into its slot and syncs.
///
/// # Errors
/// `Io` from the backend.
pub fn write(backend: &dyn Backend, sb: &Superblock) -> Result<()> {
    let f = backend.open(FILE, false)?;
    f.write_at((sb.generation % 2) * SLOT as u64, &encode(sb))?;
    f.sync()
}

/// The current superblock: the valid slot of the higher generation, and whether the other
/// slot is valid too.
///
/// # Errors
/// `Corruption` when neither slot is valid; `Io` from the backend.
pub fn read(backend: &dyn Backend) -> Result<(Superblock, bool)> {
    let f = backend.open(FILE, false)?;
    let len = f.size()?;
    if len != 2 * SLOT as u64 {
        return Err(Error::new(
            ErrorKind::Corruption,
            format!("{FILE} is {len} bytes, expected {}", 2 * SLOT),
        ));
    }
    let mut buf = vec![0u8; 2 * SLOT];
    f.read_at(0, &mut buf)?;
    let a = decode(&buf[..SLOT]);
    let b = decode(&buf[SLOT..]);
    match (a, b) {
        (Some(x), Some(y)) => Ok((if x.generation >= y.generation { x } else { y }, true)),
        (Some(x), None) | (None, Some(x)) => Ok((x, false)),
        (None, None) => Err(Error::new(
            ErrorKind::Corruption,
            format!("{FILE}: both slots are damaged"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::backend::FaultBackend;
    use super::*;

    #[test]
    fn newest_valid_slot_wins_and_a_torn_slot_falls_back() {
        let b = FaultBackend::new();
        let s1 = Superblock {
            generation: 1,
            manifest: 1,
            manifest_crc: 11,
        };
        create(&b, &s1).unwrap();
        assert_eq!(read(&b).unwrap().0, s1);
        let s2 = Superblock {
            generation: 2,
            manifest: 2,
            manifest_crc: 22,
        };
        write(&b, &s2).unwrap();
        assert_eq!(read(&b).unwrap(), (s2, true));
        b.flip(FILE, 30, 1); // slot 0 holds generation 2
        assert_eq!(read(&b).unwrap(), (s1, false));
        b.flip(FILE, SLOT + 3, 1);
        assert_eq!(read(&b).unwrap_err().kind(), ErrorKind::Corruption);
    }
}
