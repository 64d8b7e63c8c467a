//! The write-ahead log: one file per log sequence number, `wal-<seq>.log`, holding the logical
//! operations of committed transactions (see `FORMAT.md`, "WAL").
//!
//! ```text
//! file header (32 bytes): magic "XTREEWAL" | format version u32 | reserved u32 | seq u64
//!                         | crc32c u32 of the previous 24 bytes | reserved u32
//! record:                 len u32 | type u8 | reserved u8 | reserved u16 | epoch u64
//!                         | payload[len] | crc32c u32 of header and payload
//! then zeros:             the preallocated rest of the file
//! ```
//!
//! A transaction of epoch E is zero or more `OPS` records of epoch E followed by one `COMMIT`
//! record of epoch E whose payload is the number of `OPS` records (u32). Only transactions whose
//! `COMMIT` record is intact are replayed; the scan stops at the first record that is short, has
//! a bad CRC, an impossible length or type, or an epoch out of order.
//!
//! **Preallocation.** The file is longer than its records: it is extended with zeros
//! (`set_len`) in steps that double from [`PREALLOC_MIN`] up to [`PREALLOC_MAX`], so an append
//! inside the allocated length does not change the file's size and the fdatasync of a commit
//! has no size to write back. The logical size of a log ([`WalWriter::size`],
//! [`ScanReport::valid_end`]) is the end of its last committed transaction, never the file
//! length.
//!
//! **Clean end.** A log ends cleanly when every byte after its last committed transaction is
//! zero (a record is never all zeros: its type is 1 or 2). Anything else after it — a record
//! that fails its checks, an uncommitted transaction, or zeros followed by non-zero bytes — is a
//! damaged tail, reported in [`ScanReport::stopped`]: in the newest log that is a torn write,
//! cut at recovery ([`WalWriter::reopen`]); in an older log, which was synced whole before the
//! next one was created, it is corruption.
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

/// The first preallocation of a log, and the smallest step it grows by: a new log file is
/// 64 KiB long, so a directory of a tiny index costs little even on a file system without
/// sparse files.
pub const PREALLOC_MIN: u64 = 64 << 10;
/// The largest step a log grows by: each extension doubles the allocated length until the step
/// reaches 64 MiB, then adds 64 MiB (a log is rotated at the checkpoint trigger, 256 MiB by
/// default, so a long-lived log is extended about a dozen times).
pub const PREALLOC_MAX: u64 = 64 << 20;
/// Bytes read at a time when checking that the tail of a log is zero.
const ZERO_CHECK_BLOCK: u64 = 1 << 20;

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

/// The allocated length for a log allocated to `allocated` bytes that must hold `needed`:
/// `allocated` itself if it is enough, else grown by steps that double it, each step between
/// [`PREALLOC_MIN`] and [`PREALLOC_MAX`]. A multiple of [`PREALLOC_MIN`] (short of overflow,
/// where it saturates).
fn allocation(allocated: u64, needed: u64) -> u64 {
    let mut a = allocated
        .checked_next_multiple_of(PREALLOC_MIN)
        .unwrap_or(u64::MAX)
        .max(PREALLOC_MIN);
    while a < needed && a < PREALLOC_MAX {
        a += a;
    }
    if a < needed {
        let steps = (needed - a).div_ceil(PREALLOC_MAX);
        a = a.saturating_add(steps.saturating_mul(PREALLOC_MAX));
    }
    a
}

/// An open log being appended to.
pub struct WalWriter {
    file: Arc<dyn BackendFile>,
    name: String,
    seq: u64,
    /// Bytes of the file that hold valid data (the next record goes here).
    end: u64,
    /// The file's length: zeros from `end` to here.
    allocated: u64,
}

impl WalWriter {
    /// Creates log `seq`, preallocated to [`PREALLOC_MIN`] bytes (header written and synced;
    /// the caller syncs the directory).
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn create(backend: &dyn Backend, seq: u64) -> Result<WalWriter> {
        let name = file_name(seq);
        let file = backend.open(&name, true)?;
        // An interrupted earlier creation may have left bytes: start from nothing.
        file.set_len(0)?;
        file.write_at(0, &header_bytes(seq))?;
        let allocated = allocation(0, FILE_HEADER as u64);
        file.set_len(allocated)?;
        file.sync()?;
        Ok(WalWriter {
            file,
            name,
            seq,
            end: FILE_HEADER as u64,
            allocated,
        })
    }

    /// Reopens log `seq` for appending after a [`scan`] found its valid data ending at `end`.
    /// Whatever follows `end` (a torn tail, or the zeros of the previous preallocation) is cut
    /// off, the file is extended with zeros again, and both are synced before anything is
    /// appended: a torn record can never sit after the records appended from now on.
    ///
    /// # Errors
    /// `Io` from the backend.
    pub fn reopen(backend: &dyn Backend, seq: u64, end: u64) -> Result<WalWriter> {
        let name = file_name(seq);
        let file = backend.open(&name, false)?;
        if file.size()? != end {
            file.set_len(end)?;
        }
        let allocated = allocation(end, end + 1);
        file.set_len(allocated)?;
        file.sync()?;
        Ok(WalWriter {
            file,
            name,
            seq,
            end,
            allocated,
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

    /// Bytes of records written so far, header included: the logical size, not the file's
    /// (preallocated) length.
    pub fn size(&self) -> u64 {
        self.end
    }

    /// The file's allocated length (see [`PREALLOC_MIN`]).
    pub fn allocated(&self) -> u64 {
        self.allocated
    }

    /// Writes transaction bytes from [`encode_txn`] (not yet durable: see [`WalWriter::sync`]),
    /// first extending the file (see [`PREALLOC_MIN`]) if they would pass its allocated length.
    /// Returns the new logical size.
    ///
    /// # Errors
    /// `Io` from the backend; the log must then not be appended to again (the runtime is
    /// poisoned), since the file may hold part of the transaction.
    pub fn append(&mut self, txn: &[u8]) -> Result<u64> {
        let end = self.end + txn.len() as u64;
        if end > self.allocated {
            // Made durable by the commit's sync, together with the records.
            let allocated = allocation(self.allocated, end);
            self.file.set_len(allocated)?;
            self.allocated = allocated;
        }
        self.file.write_at(self.end, txn)?;
        self.end = end;
        Ok(end)
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
    /// Offset just past the last committed transaction: where appending resumes, and the
    /// log's logical size.
    pub valid_end: u64,
    /// Bytes from `valid_end` to the last non-zero byte of the file: a torn, uncommitted or
    /// damaged tail; 0 when the log ends cleanly (the zeros of the preallocation are not
    /// counted).
    pub tail_bytes: u64,
    /// Why the log does not end cleanly (see the module documentation), if it does not.
    pub stopped: Option<String>,
}

/// The offset just past the last non-zero byte of `file` in `from..to`, or `from` if they are
/// all zero. Reads backwards, so a torn tail near the start of a long preallocation costs no
/// more than a clean one.
fn nonzero_end(file: &dyn BackendFile, from: u64, to: u64) -> Result<u64> {
    let to = file.data_end(from, to)?.clamp(from, to);
    let mut buf = vec![0u8; ZERO_CHECK_BLOCK.min(to.saturating_sub(from)) as usize];
    let mut hi = to;
    while hi > from {
        let lo = hi.saturating_sub(ZERO_CHECK_BLOCK).max(from);
        // Only up to the block's last data: a block of holes (before a written zero byte at the
        // end of a sparse tail, say) costs a seek, not a read.
        let top = file.data_end(lo, hi)?.clamp(lo, hi);
        let block = &mut buf[..(top - lo) as usize];
        file.read_at(lo, block)?;
        if let Some(i) = block.iter().rposition(|&b| b != 0) {
            return Ok(lo + i as u64 + 1);
        }
        hi = lo;
    }
    Ok(from)
}

/// Whether log `name` holds nothing after its header area: every byte from [`FILE_HEADER`]
/// on is zero (or the file is not even that long). Only such a log may be a log whose creation
/// was interrupted; a log receives commits only after its header is synced.
///
/// # Errors
/// `Io` from the backend.
pub fn is_unwritten(file: &dyn BackendFile, name: &str) -> Result<bool> {
    let len = file.size()?;
    let from = FILE_HEADER as u64;
    if len <= from {
        return Ok(true);
    }
    let end = nonzero_end(file, from, len)
        .map_err(|e| Error::new(e.kind(), format!("{name}: {}", e.message())))?;
    Ok(end == from)
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
/// `ops` is the concatenated payload of its `OPS` records. The report says where the committed
/// transactions end and whether only zeros follow (see the module documentation).
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
    // Why the records stop at `pos`; None at a zero record header or the end of the file,
    // where the log may end cleanly.
    let why: Option<String> = loop {
        if pos == len {
            break None;
        }
        if len - pos < (RECORD_HEADER + RECORD_TRAILER) as u64 {
            break Some(format!("short record header at {pos}"));
        }
        let mut hdr = [0u8; RECORD_HEADER];
        file.read_at(pos, &mut hdr)?;
        if hdr == [0u8; RECORD_HEADER] {
            break None;
        }
        let plen = u32::from_le_bytes(hdr[0..4].try_into().expect("4 bytes")) as usize;
        let ty = hdr[4];
        let epoch = u64::from_le_bytes(hdr[8..16].try_into().expect("8 bytes"));
        if plen > MAX_PAYLOAD || !(TYPE_OPS..=TYPE_COMMIT).contains(&ty) {
            break Some(format!("impossible record header at {pos}"));
        }
        let total = (RECORD_HEADER + plen + RECORD_TRAILER) as u64;
        if len - pos < total {
            break Some(format!("record at {pos} runs past the end of the file"));
        }
        rec.resize(total as usize, 0);
        file.read_at(pos, &mut rec)?;
        let body = &rec[..RECORD_HEADER + plen];
        let crc = u32::from_le_bytes(rec[RECORD_HEADER + plen..].try_into().expect("4 bytes"));
        if crc != crc32c::crc32c(body) {
            break Some(format!("checksum mismatch in the record at {pos}"));
        }
        if txn_epoch.is_some_and(|e| e != epoch)
            || report.last_epoch.is_some_and(|last| epoch <= last)
        {
            break Some(format!("epoch {epoch} out of order at {pos}"));
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
            break Some(format!(
                "commit record at {} does not match its transaction",
                pos - total
            ));
        }
        apply(epoch, &ops)?;
        report.txns += 1;
        report.last_epoch = Some(epoch);
        report.valid_end = pos;
        ops.clear();
        ops_records = 0;
        txn_epoch = None;
    };
    // The clean-end rule: only zeros after the last committed transaction.
    let end = nonzero_end(file.as_ref(), report.valid_end, len)?;
    report.tail_bytes = end - report.valid_end;
    if report.tail_bytes > 0 {
        report.stopped = Some(why.unwrap_or_else(|| {
            if pos > report.valid_end {
                format!(
                    "the transaction at {} has no commit record",
                    report.valid_end
                )
            } else {
                format!("zeros at {pos} followed by non-zero bytes up to {end}")
            }
        }));
    }
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
        let mut full = b.contents(&file_name(0)).unwrap();
        let allocated = full.len();
        full.truncate(w.size() as usize);
        for cut in FILE_HEADER..=full.len() {
            // The cut alone (a log written before preallocation, or a crash that lost the
            // extension), and the cut followed by the preallocated zeros.
            for padded in [cut, allocated] {
                let c = FaultBackend::new();
                let f = c.open(&file_name(0), true).unwrap();
                f.write_at(0, &full[..cut]).unwrap();
                f.set_len(padded as u64).unwrap();
                let (got, r) = collect(&c, &file_name(0));
                let whole = ends.iter().filter(|&&e| e <= cut as u64).count() - 1;
                assert_eq!(got.len(), whole, "cut at {cut}");
                assert_eq!(r.valid_end, ends[whole]);
                // The torn part up to its last non-zero byte (a torn part of only zeros is
                // indistinguishable from the preallocation, and as harmless).
                let torn = &full[ends[whole] as usize..cut];
                let nonzero = torn.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
                assert_eq!(r.tail_bytes, nonzero as u64, "cut at {cut}");
                assert_eq!(r.stopped.is_none(), r.tail_bytes == 0, "cut at {cut}");
                // A flipped byte inside the last whole transaction drops it and what follows.
                if whole > 0 && cut == full.len() {
                    c.flip(&file_name(0), ends[whole] as usize - 6, 3);
                    let (got, r) = collect(&c, &file_name(0));
                    assert_eq!(got.len(), whole - 1);
                    assert!(r.stopped.is_some());
                }
            }
        }
    }

    /// Appends `txns` one-operation transactions of epochs 1.. to a new log 0 and syncs it;
    /// returns the writer and the end of each transaction.
    fn written_log(b: &FaultBackend, txns: u64) -> (WalWriter, Vec<u64>) {
        let mut w = WalWriter::create(b, 0).unwrap();
        b.sync_dir().unwrap();
        let ends = (1..=txns)
            .map(|e| w.append(&encode_txn(e, &[e as u8; 100])).unwrap())
            .collect();
        w.sync().unwrap();
        (w, ends)
    }

    #[test]
    fn allocation_doubles_then_grows_by_the_largest_step() {
        assert_eq!(allocation(0, FILE_HEADER as u64), PREALLOC_MIN);
        assert_eq!(allocation(PREALLOC_MIN, PREALLOC_MIN), PREALLOC_MIN);
        assert_eq!(allocation(PREALLOC_MIN, PREALLOC_MIN + 1), 2 * PREALLOC_MIN);
        assert_eq!(allocation(PREALLOC_MIN, 5 * PREALLOC_MIN), 8 * PREALLOC_MIN);
        assert_eq!(allocation(1000, 1001), PREALLOC_MIN);
        assert_eq!(allocation(PREALLOC_MAX, PREALLOC_MAX + 1), 2 * PREALLOC_MAX);
        assert_eq!(
            allocation(3 * PREALLOC_MAX, 3 * PREALLOC_MAX + 1),
            4 * PREALLOC_MAX
        );
        assert_eq!(allocation(0, u64::MAX), u64::MAX);
    }

    /// The point of preallocation: appends inside the allocated length leave the file's size
    /// alone, while the logical size follows the records.
    #[test]
    fn file_size_stays_constant_across_appends_within_a_chunk() {
        let b = FaultBackend::new();
        let mut w = WalWriter::create(&b, 0).unwrap();
        let name = file_name(0);
        let len = || b.contents(&name).unwrap().len() as u64;
        assert_eq!(len(), PREALLOC_MIN);
        assert_eq!(w.size(), FILE_HEADER as u64);
        let txn = encode_txn(1, &[7; 1000]);
        let mut epoch = 1;
        while w.size() + txn.len() as u64 <= PREALLOC_MIN {
            let end = w.append(&encode_txn(epoch, &[7; 1000])).unwrap();
            assert_eq!(end, w.size());
            assert_eq!(len(), PREALLOC_MIN, "after epoch {epoch}");
            epoch += 1;
        }
        w.append(&encode_txn(epoch, &[7; 1000])).unwrap();
        assert_eq!(len(), 2 * PREALLOC_MIN);
        assert_eq!(w.allocated(), 2 * PREALLOC_MIN);
        let (got, r) = collect(&b, &name);
        assert_eq!(got.len() as u64, epoch);
        assert_eq!(r.valid_end, w.size());
    }

    #[test]
    fn preallocated_log_is_scanned_to_its_clean_end() {
        let b = FaultBackend::new();
        let (w, ends) = written_log(&b, 3);
        assert!(w.allocated() > w.size());
        let (got, r) = collect(&b, &file_name(0));
        assert_eq!(got.len(), 3);
        assert_eq!(r.valid_end, ends[2]);
        assert_eq!(r.valid_end, w.size());
        assert_eq!(r.tail_bytes, 0);
        assert_eq!(r.stopped, None);
        // An empty log ends cleanly right after its header.
        WalWriter::create(&b, 1).unwrap();
        let (got, r) = collect(&b, &file_name(1));
        assert!(got.is_empty());
        assert_eq!(
            (r.valid_end, r.tail_bytes, r.stopped),
            (FILE_HEADER as u64, 0, None)
        );
    }

    /// A crash in the middle of an append leaves part of a record before the preallocated
    /// zeros: a damaged tail, which reopening cuts (zeros again, synced) so that appends resume
    /// at the last commit and the log then ends cleanly.
    #[test]
    fn torn_record_followed_by_zeros_is_cut_at_reopen() {
        let b = FaultBackend::new();
        let (w, ends) = written_log(&b, 2);
        let torn = encode_txn(3, &[3; 100]);
        w.file().write_at(ends[1], &torn[..torn.len() / 2]).unwrap();
        w.file().sync().unwrap();
        drop(w);
        let (got, r) = collect(&b, &file_name(0));
        assert_eq!(got.len(), 2);
        assert_eq!(r.valid_end, ends[1]);
        assert_eq!(r.tail_bytes, (torn.len() / 2) as u64);
        assert!(r.stopped.is_some());

        let mut w = WalWriter::reopen(&b, 0, r.valid_end).unwrap();
        assert_eq!(w.size(), ends[1]);
        // The cut is durable: a crash right after reopening finds the clean end.
        let (_, r) = collect(&b.crash(None), &file_name(0));
        assert_eq!((r.valid_end, r.stopped), (ends[1], None));
        let bytes = b.contents(&file_name(0)).unwrap();
        assert_eq!(bytes.len() as u64, w.allocated());
        assert!(bytes[ends[1] as usize..].iter().all(|&x| x == 0));
        w.append(&encode_txn(3, b"again")).unwrap();
        w.sync().unwrap();
        let (got, r) = collect(&b, &file_name(0));
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], (3, b"again".to_vec()));
        assert_eq!(r.stopped, None);
    }

    /// A log followed by a newer one was synced whole, so it must end cleanly: a bad record
    /// with more data after it, or zeros with data after them, is reported, never taken for
    /// the clean end of the log (which would silently drop the commits after it).
    #[test]
    fn damage_before_more_data_is_reported() {
        let b = FaultBackend::new();
        let (_, ends) = written_log(&b, 3);
        let name = file_name(0);
        let clean = b.crash(None);

        // A bad CRC in the middle.
        let c = clean.crash(None);
        c.flip(&name, ends[0] as usize + RECORD_HEADER + 5, 1);
        let (got, r) = collect(&c, &name);
        assert_eq!(got.len(), 1);
        assert_eq!(r.valid_end, ends[0]);
        assert_eq!(r.tail_bytes, ends[2] - ends[0]);
        assert!(r.stopped.unwrap().contains("checksum"));

        // A record header zeroed in the middle: zeros, but not a clean end.
        let c = clean.crash(None);
        let f = c.open(&name, false).unwrap();
        f.write_at(ends[0], &[0u8; RECORD_HEADER]).unwrap();
        let (got, r) = collect(&c, &name);
        assert_eq!(got.len(), 1);
        assert_eq!(r.tail_bytes, ends[2] - ends[0]);
        assert!(r.stopped.unwrap().contains("followed by non-zero"));

        // One stray byte far into the preallocated zeros.
        let c = clean.crash(None);
        c.flip(&name, PREALLOC_MIN as usize - 1, 0);
        let (got, r) = collect(&c, &name);
        assert_eq!(got.len(), 3);
        assert_eq!(r.tail_bytes, PREALLOC_MIN - ends[2]);
        assert!(r.stopped.is_some());

        // A transaction's operations without their commit record, then zeros.
        let c = FaultBackend::new();
        let mut w = WalWriter::create(&c, 0).unwrap();
        let first = w.append(&encode_txn(1, &[1; 100])).unwrap();
        let txn = encode_txn(2, &[2; 100]);
        let ops_only = &txn[..txn.len() - (RECORD_HEADER + 4 + RECORD_TRAILER)];
        w.append(ops_only).unwrap();
        let (got, r) = collect(&c, &name);
        assert_eq!(got.len(), 1);
        assert_eq!(r.valid_end, first);
        assert_eq!(r.tail_bytes, ops_only.len() as u64);
        assert!(r.stopped.unwrap().contains("no commit record"));
    }

    /// A checkpoint rotates the log: a crash before the manifest names the new log leaves both,
    /// the older one ending in its preallocated zeros. Recovery must replay both, not call the
    /// older one damaged "although later logs exist".
    #[test]
    fn rotated_preallocated_log_is_not_damaged() {
        use crate::{IndexOptions, Runtime, RuntimeOptions};
        let b = FaultBackend::new();
        let opts = || RuntimeOptions {
            background_checkpoints: false,
            checkpoint_on_close: false,
            ..RuntimeOptions::default()
        };
        let rt = Runtime::open_with(Arc::new(b.clone()), opts()).unwrap();
        let f = rt
            .field("p", IndexOptions::new(2, 64, vec!["x".into(), "y".into()]))
            .unwrap();
        f.insert_point(1, &[1.0, 2.0]).unwrap();
        rt.commit().unwrap();
        b.record_crash_images(None);
        rt.checkpoint().unwrap();
        f.insert_point(2, &[3.0, 4.0]).unwrap();
        let epoch = rt.commit().unwrap();
        drop(rt);
        let mut both = 0;
        for image in b.take_images() {
            let two_logs =
                image.exists(&file_name(0)).unwrap() && image.exists(&file_name(1)).unwrap();
            if two_logs {
                both += 1;
                let (_, r) = collect(&image, &file_name(0));
                assert_eq!(r.stopped, None);
                assert!((r.valid_end as usize) < image.contents(&file_name(0)).unwrap().len());
            }
            let rt = Runtime::open_with(Arc::new(image), opts()).unwrap();
            assert!(rt.stats().epoch >= epoch - 1);
        }
        assert!(both > 0, "no crash image holds both logs");
    }

    #[test]
    fn damaged_header_is_corruption() {
        let b = FaultBackend::new();
        WalWriter::create(&b, 1).unwrap();
        b.flip(&file_name(1), 17, 0);
        let e = scan(&b, &file_name(1), |_, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corruption);
    }

    /// A file that counts the bytes read from it.
    struct Counting {
        inner: Arc<dyn BackendFile>,
        read: std::sync::atomic::AtomicU64,
    }

    impl BackendFile for Counting {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.read
                .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.inner.read_at(offset, buf)
        }
        fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
            self.inner.write_at(offset, buf)
        }
        fn sync(&self) -> Result<()> {
            self.inner.sync()
        }
        fn size(&self) -> Result<u64> {
            self.inner.size()
        }
        fn set_len(&self, len: u64) -> Result<()> {
            self.inner.set_len(len)
        }
        fn data_end(&self, from: u64, to: u64) -> Result<u64> {
            self.inner.data_end(from, to)
        }
    }

    /// Defect 12 of issue 7: a log extended (sparse) to 64 GiB made open read 64 GiB of zeros
    /// (45 s) to find where its data ends. Holes are skipped now: the tail check reads the
    /// written bytes only, and the scan still finds the commits and a clean end.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_sparse_tail_is_skipped_not_read() {
        let (dir, counting, logical) = sparse_log(&std::env::temp_dir(), 64 << 30);
        assert!(is_unwritten(&counting, "log").is_ok_and(|u| !u));
        let end = nonzero_end(&counting, logical, 64 << 30).unwrap();
        assert_eq!(end, logical, "only zeros after the last commit");
        let read = counting.read.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            read < 8 << 20,
            "read {read} bytes of a log with {logical} written"
        );
        let b = super::super::backend::StdBackend::new(dir.path()).unwrap();
        let r = scan(&b, &file_name(1), |_, _| Ok(())).unwrap();
        assert_eq!((r.txns, r.stopped, r.valid_end), (3, None, logical));
    }

    /// A log with three commits, extended (sparse) to `len`, in a fresh directory under `base`.
    #[cfg(target_os = "linux")]
    fn sparse_log(base: &std::path::Path, len: u64) -> (tempfile::TempDir, Counting, u64) {
        use super::super::backend::StdBackend;
        let dir = tempfile::tempdir_in(base).unwrap();
        let b = StdBackend::new(dir.path()).unwrap();
        let mut w = WalWriter::create(&b, 1).unwrap();
        for epoch in 1..=3 {
            w.append(&encode_txn(epoch, b"some operations")).unwrap();
        }
        w.sync().unwrap();
        let logical = w.size();
        drop(w);
        let file = b.open(&file_name(1), false).unwrap();
        file.set_len(len).unwrap();
        let counting = Counting {
            inner: file,
            read: Default::default(),
        };
        (dir, counting, logical)
    }

    /// The file systems tested: the default one (the temporary directory) and tmpfs.
    #[cfg(target_os = "linux")]
    fn file_systems() -> Vec<std::path::PathBuf> {
        let mut v = vec![std::env::temp_dir()];
        if std::path::Path::new("/dev/shm").is_dir() {
            v.push("/dev/shm".into());
        }
        v
    }

    /// Review of `data_end`: a non-zero byte after a hole (and one between two holes) is still
    /// found, so damage of an older log is still detected; extents are clamped to `from..to`.
    #[test]
    #[cfg(target_os = "linux")]
    fn data_after_a_hole_is_still_found() {
        for fs in file_systems() {
            let len = 1u64 << 30;
            let (dir, f, logical) = sparse_log(&fs, len);
            // Data in the middle, then a hole, then data, then a hole to the end.
            f.write_at(300 << 20, &[9]).unwrap();
            f.write_at(700 << 20, &[0, 0, 5, 0]).unwrap();
            let end = nonzero_end(&f, logical, len).unwrap();
            assert_eq!(end, (700 << 20) + 3, "{fs:?}");
            // `to` below the last extent: the middle byte is the last one.
            assert_eq!(
                nonzero_end(&f, logical, 500 << 20).unwrap(),
                (300 << 20) + 1,
                "{fs:?}"
            );
            // `to` inside an extent and `from` inside one.
            let de = f.data_end(0, 100).unwrap();
            assert!(de <= 100 && de >= logical.min(100), "{fs:?}: {de}");
            let de = f.data_end((700 << 20) + 1, (700 << 20) + 2).unwrap();
            assert_eq!(de, (700 << 20) + 2, "{fs:?}");
            // `from` in a hole before data, and `from` past the last data.
            assert!(f.data_end(1 << 20, len).unwrap() > 700 << 20, "{fs:?}");
            assert_eq!(f.data_end(800 << 20, len).unwrap(), 800 << 20, "{fs:?}");
            let read = f.read.load(std::sync::atomic::Ordering::Relaxed);
            assert!(read < 16 << 20, "{fs:?}: read {read} bytes");
            // The scan calls the log damaged.
            let b = super::super::backend::StdBackend::new(dir.path()).unwrap();
            let r = scan(&b, &file_name(1), |_, _| Ok(())).unwrap();
            assert_eq!(r.txns, 3);
            assert_eq!(r.valid_end, logical);
            assert_eq!(r.tail_bytes, (700 << 20) + 3 - logical, "{fs:?}");
            assert!(r.stopped.is_some(), "{fs:?}");
            // A hole at the start of the range: only the last byte is data.
            let dir2 = tempfile::tempdir_in(&fs).unwrap();
            let b2 = super::super::backend::StdBackend::new(dir2.path()).unwrap();
            let g = b2.open("holey", true).unwrap();
            g.set_len(64 << 20).unwrap();
            g.write_at((64 << 20) - 1, &[1]).unwrap();
            assert_eq!(nonzero_end(g.as_ref(), 0, 64 << 20).unwrap(), 64 << 20);
            assert_eq!(nonzero_end(g.as_ref(), 0, 32 << 20).unwrap(), 0);
        }
    }

    /// Review of `data_end`: the defect it fixes (reading gigabytes of holes at open) comes
    /// back as soon as the sparse tail ends in one written zero byte — a crafted file costs one
    /// `pwrite` more. The backward scan must skip the holes before the last extent too.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_zero_byte_at_the_end_of_a_sparse_tail_does_not_force_a_full_read() {
        for fs in file_systems() {
            let len = 1u64 << 30;
            let (_dir, f, logical) = sparse_log(&fs, len);
            f.write_at(len - 1, &[0]).unwrap();
            f.write_at(len / 2, &[0]).unwrap();
            let end = nonzero_end(&f, logical, len).unwrap();
            assert_eq!(end, logical, "{fs:?}: only zeros after the last commit");
            let read = f.read.load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                read < 16 << 20,
                "{fs:?}: read {read} bytes of a log with {logical} written"
            );
        }
    }
}
