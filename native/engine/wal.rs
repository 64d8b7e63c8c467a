//! The write-ahead log: one file per log sequence number, `wal-<seq>.log`, holding the logical
//! operations of committed transactions (see `FORMAT.md`, "WAL").
//!
//! ```text
//! file header (32 bytes): magic "XTREEWAL" | format version u32 | reserved u32 | seq u64
//!                         | crc32c u32 of the previous 24 bytes | reserved u32
//! record:                 len u32 | type u8 | reserved u8 | reserved u16 | epoch u64
//!                         | payload[len] | crc32c u32 of header and payload
//! ```
//!
//! A transaction of epoch E is zero or more `OPS` records of epoch E followed by one `COMMIT`
//! record of epoch E whose payload is the number of `OPS` records (u32). Only transactions whose
//! `COMMIT` record is intact are replayed; the scan stops at the first record that is short, has
//! a bad CRC, an impossible length or type, or an epoch out of order — a torn tail, truncated
//! by recovery before new records are appended.
//!
//! All integers are little-endian. Payloads are bounded by [`MAX_PAYLOAD`], so a length read
//! from disk never drives an unbounded allocation.

use std::sync::Arc;

use super::backend::{Backend, BackendFile};
use crate::error::{Error, ErrorKind, Result};

/// Magic bytes at the start of every log file.
pub const MAGIC: &[u8; 8] = b"XTREEWAL";
/// Format version of the log (see `FORMAT.md`).
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the file header.
pub const FILE_HEADER: usize = 32;
/// Bytes of a record header (len, type, reserved, epoch).
pub const RECORD_HEADER: usize = 16;
/// Bytes of a record trailer (crc32c).
pub const RECORD_TRAILER: usize = 4;
/// Largest payload of one record; larger transactions span several `OPS` records.
pub const MAX_PAYLOAD: usize = 8 << 20;

/// Record type: a chunk of a transaction's operations.
pub const TYPE_OPS: u8 = 1;
/// Record type: the end of a transaction.
pub const TYPE_COMMIT: u8 = 2;

/// The file name of log `seq`.
pub fn file_name(seq: u64) -> String {
    format!("wal-{seq:016x}.log")
}

/// The sequence number of a log file name, if it is one.
pub fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn corrupt(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Corruption, format!("{name}: {msg}"))
}

fn header_bytes(seq: u64) -> [u8; FILE_HEADER] {
    let mut h = [0u8; FILE_HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Appends one record to `out`.
fn push_record(out: &mut Vec<u8>, ty: u8, epoch: u64, payload: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.push(ty);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The bytes of transaction `epoch` whose operations are `ops` (already encoded).
pub fn encode_txn(epoch: u64, ops: &[u8]) -> Vec<u8> {
    let chunks = ops.len().div_ceil(MAX_PAYLOAD);
    let mut out =
        Vec::with_capacity(ops.len() + (chunks + 1) * (RECORD_HEADER + RECORD_TRAILER) + 4);
    for c in ops.chunks(MAX_PAYLOAD) {
        push_record(&mut out, TYPE_OPS, epoch, c);
    }
    push_record(&mut out, TYPE_COMMIT, epoch, &(chunks as u32).to_le_bytes());
    out
}

/// An open log being appended to.
pub struct WalWriter {
    file: Arc<dyn BackendFile>,
    name: String,
    seq: u64,
    /// Bytes of the file that hold valid data (the next record goes here).
    end: u64,
}

impl WalWriter {
    /// Creates log `seq` (header written and synced; the caller syncs the directory).
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn create(backend: &dyn Backend, seq: u64) -> Result<WalWriter> {
        let name = file_name(seq);
        let file = backend.open(&name, true)?;
        file.set_len(0)?;
        file.write_at(0, &header_bytes(seq))?;
        file.sync()?;
        Ok(WalWriter {
            file,
            name,
            seq,
            end: FILE_HEADER as u64,
        })
    }

    /// Reopens log `seq` for appending after a [`scan`] found its valid data ending at `end`;
    /// anything after `end` (a torn tail) is cut off and the cut synced.
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn reopen(backend: &dyn Backend, seq: u64, end: u64) -> Result<WalWriter> {
        let name = file_name(seq);
        let file = backend.open(&name, false)?;
        if file.size()? != end {
            file.set_len(end)?;
            file.sync()?;
        }
        Ok(WalWriter {
            file,
            name,
            seq,
            end,
        })
    }

    /// The log's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes written so far (header included).
    pub fn size(&self) -> u64 {
        self.end
    }

    /// Writes transaction bytes from [`encode_txn`] (not yet durable: see [`WalWriter::sync`]).
    ///
    /// # Errors
    /// `Io` from the backend; the log must then not be appended to again (the runtime is
    /// poisoned), since the file may hold part of the transaction.
    pub fn append(&mut self, txn: &[u8]) -> Result<u64> {
        self.file.write_at(self.end, txn)?;
        self.end += txn.len() as u64;
        Ok(self.end)
    }

    /// The file, for a sync outside the writer's lock (group commit).
    pub fn file(&self) -> Arc<dyn BackendFile> {
        self.file.clone()
    }

    /// Makes every appended transaction durable.
    pub fn sync(&self) -> Result<()> {
        self.file.sync()
    }
}

/// What [`scan`] found in one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// The log's sequence number from its header.
    pub seq: u64,
    /// Committed transactions delivered.
    pub txns: u64,
    /// Epoch of the last committed transaction, if any.
    pub last_epoch: Option<u64>,
    /// Offset just past the last committed transaction: where appending resumes.
    pub valid_end: u64,
    /// Bytes after `valid_end` (a torn or uncommitted tail).
    pub tail_bytes: u64,
    /// Why the scan stopped before the end of the file, if it did.
    pub stopped: Option<String>,
}

/// Checks the file header of log `name` and returns its sequence number.
///
/// # Errors
/// `Corruption` for a short file, bad magic, checksum or version; `Io` from the backend.
pub fn read_header(file: &dyn BackendFile, name: &str) -> Result<u64> {
    let len = file.size()?;
    if len < FILE_HEADER as u64 {
        return Err(corrupt(
            name,
            format!("{len} bytes, shorter than the log header"),
        ));
    }
    let mut h = [0u8; FILE_HEADER];
    file.read_at(0, &mut h)?;
    if &h[0..8] != MAGIC {
        return Err(corrupt(name, "not a log file (bad magic)"));
    }
    let crc = u32::from_le_bytes(h[24..28].try_into().expect("4 bytes"));
    if crc != crc32c::crc32c(&h[0..24]) {
        return Err(corrupt(name, "log header checksum mismatch"));
    }
    let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(corrupt(
            name,
            format!("unknown log format version {version}"),
        ));
    }
    let seq = u64::from_le_bytes(h[16..24].try_into().expect("8 bytes"));
    Ok(seq)
}

/// Reads log `name` and calls `apply(epoch, ops)` for every committed transaction, in order.
/// `ops` is the concatenated payload of its `OPS` records.
///
/// # Errors
/// `Corruption` if the file header is damaged (a log whose header was never synced is not
/// listed by a manifest or superblock, so this is real damage), `Io` from the backend, and any
/// error from `apply`.
pub fn scan(
    backend: &dyn Backend,
    name: &str,
    mut apply: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<ScanReport> {
    let file = backend.open(name, false)?;
    let len = file.size()?;
    let seq = read_header(file.as_ref(), name)?;

    let mut report = ScanReport {
        seq,
        txns: 0,
        last_epoch: None,
        valid_end: FILE_HEADER as u64,
        tail_bytes: 0,
        stopped: None,
    };
    let mut pos = FILE_HEADER as u64;
    let mut ops: Vec<u8> = Vec::new();
    let mut ops_records = 0u32;
    let mut txn_epoch: Option<u64> = None;
    let mut rec = Vec::new();
    loop {
        if pos == len {
            break;
        }
        let stop = |why: String| Some(why);
        if len - pos < (RECORD_HEADER + RECORD_TRAILER) as u64 {
            report.stopped = stop(format!("short record header at {pos}"));
            break;
        }
        let mut hdr = [0u8; RECORD_HEADER];
        file.read_at(pos, &mut hdr)?;
        let plen = u32::from_le_bytes(hdr[0..4].try_into().expect("4 bytes")) as usize;
        let ty = hdr[4];
        let epoch = u64::from_le_bytes(hdr[8..16].try_into().expect("8 bytes"));
        if plen == 0 && ty == 0 && epoch == 0 {
            report.stopped = stop(format!("zeros at {pos}"));
            break;
        }
        if plen > MAX_PAYLOAD || !(TYPE_OPS..=TYPE_COMMIT).contains(&ty) {
            report.stopped = stop(format!("impossible record header at {pos}"));
            break;
        }
        let total = (RECORD_HEADER + plen + RECORD_TRAILER) as u64;
        if len - pos < total {
            report.stopped = stop(format!("record at {pos} runs past the end of the file"));
            break;
        }
        rec.resize(total as usize, 0);
        file.read_at(pos, &mut rec)?;
        let body = &rec[..RECORD_HEADER + plen];
        let crc = u32::from_le_bytes(rec[RECORD_HEADER + plen..].try_into().expect("4 bytes"));
        if crc != crc32c::crc32c(body) {
            report.stopped = stop(format!("checksum mismatch in the record at {pos}"));
            break;
        }
        if txn_epoch.is_some_and(|e| e != epoch)
            || report.last_epoch.is_some_and(|last| epoch <= last)
        {
            report.stopped = stop(format!("epoch {epoch} out of order at {pos}"));
            break;
        }
        let payload = &rec[RECORD_HEADER..RECORD_HEADER + plen];
        pos += total;
        if ty == TYPE_OPS {
            txn_epoch = Some(epoch);
            ops.extend_from_slice(payload);
            ops_records += 1;
            continue;
        }
        // COMMIT
        let expect = payload
            .get(0..4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        if plen != 4 || expect != Some(ops_records) {
            report.stopped = stop(format!(
                "commit record at {} does not match its transaction",
                pos - total
            ));
            break;
        }
        apply(epoch, &ops)?;
        report.txns += 1;
        report.last_epoch = Some(epoch);
        report.valid_end = pos;
        ops.clear();
        ops_records = 0;
        txn_epoch = None;
    }
    report.tail_bytes = len - report.valid_end;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::backend::FaultBackend;
    use super::*;

    fn collect(b: &FaultBackend, name: &str) -> (Vec<(u64, Vec<u8>)>, ScanReport) {
        let mut got = Vec::new();
        let r = scan(b, name, |e, ops| {
            got.push((e, ops.to_vec()));
            Ok(())
        })
        .unwrap();
        (got, r)
    }

    #[test]
    fn round_trip_and_big_transactions() {
        let b = FaultBackend::new();
        let mut w = WalWriter::create(&b, 3).unwrap();
        let big: Vec<u8> = (0..MAX_PAYLOAD * 2 + 17).map(|i| i as u8).collect();
        w.append(&encode_txn(1, b"abc")).unwrap();
        w.append(&encode_txn(2, &big)).unwrap();
        w.append(&encode_txn(5, b"")).unwrap();
        let (got, r) = collect(&b, &file_name(3));
        assert_eq!(r.seq, 3);
        assert_eq!(r.txns, 3);
        assert_eq!(r.stopped, None);
        assert_eq!(got[0], (1, b"abc".to_vec()));
        assert_eq!(got[1], (2, big));
        assert_eq!(got[2], (5, vec![]));
        assert_eq!(parse_name(&file_name(3)), Some(3));
    }

    #[test]
    fn every_cut_of_the_tail_keeps_a_prefix_of_commits() {
        let b = FaultBackend::new();
        let mut w = WalWriter::create(&b, 0).unwrap();
        let mut ends = vec![FILE_HEADER as u64];
        for e in 1..=4u64 {
            ends.push(
                w.append(&encode_txn(e, &vec![e as u8; 40 * e as usize]))
                    .unwrap(),
            );
        }
        let full = b.contents(&file_name(0)).unwrap();
        for cut in FILE_HEADER..=full.len() {
            let c = FaultBackend::new();
            let f = c.open(&file_name(0), true).unwrap();
            f.write_at(0, &full[..cut]).unwrap();
            let (got, r) = collect(&c, &file_name(0));
            let whole = ends.iter().filter(|&&e| e <= cut as u64).count() - 1;
            assert_eq!(got.len(), whole, "cut at {cut}");
            assert_eq!(r.valid_end, ends[whole]);
            // A flipped byte inside the last whole transaction drops it and what follows.
            if whole > 0 && cut == full.len() {
                c.flip(&file_name(0), ends[whole] as usize - 6, 3);
                let (got, _) = collect(&c, &file_name(0));
                assert_eq!(got.len(), whole - 1);
            }
        }
    }

    #[test]
    fn damaged_header_is_corruption() {
        let b = FaultBackend::new();
        WalWriter::create(&b, 1).unwrap();
        b.flip(&file_name(1), 17, 0);
        let e = scan(&b, &file_name(1), |_, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corruption);
    }
}
