//! Opening a data directory: initialising a new one, and recovering the last committed state of
//! an existing one (DESIGN.md §5): superblock → manifest → checkpoint (object tables; free space
//! rebuilt from them) → segment files → log replay.
//!
//! What recovery refuses, because opening would silently lose acknowledged commits:
//! - a directory without `SUPERBLOCK` that holds anything but the leftovers of an interrupted
//!   creation (an empty first log, the creation's manifest, temporary files): only an empty
//!   directory is initialised, and nothing is ever "repaired" by deleting data;
//! - a missing manifest, checkpoint, segment file or log named by the state, a log missing
//!   between two others, a transaction epoch that skips ahead;
//! - damage anywhere but the torn tail of the newest log. The newest log may also be a log whose
//!   creation a crash interrupted (its header is not intact); that is accepted only when every
//!   byte after the header area is zero, since a log receives commits only after its header is
//!   synced — a log that holds anything else is damaged, and is `Corruption`.

use std::sync::Arc;

use super::backend::{read_all, Backend};
use super::checkpoint;
use super::lock::{DirLock, LOCK_FILE};
use super::manifest::{self, Manifest};
use super::ops::{self, FieldMeta, Op};
use super::segments::{self, ObjectTable, Segments};
use super::superblock::{self, Superblock};
use super::wal::{self, WalWriter};
use super::RuntimeOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::index::Index;
use crate::store::NodeId;

fn corrupt(msg: String) -> Error {
    Error::new(ErrorKind::Corruption, msg)
}

/// What recovery found: the state of the last commit, ready for a runtime.
pub(super) struct Recovered {
    pub(super) sb: Superblock,
    pub(super) manifest: Manifest,
    /// Fields in id order, with their trees at the recovered epoch.
    pub(super) fields: Vec<(FieldMeta, Index)>,
    /// Epoch of the last replayed commit.
    pub(super) epoch: u64,
    /// Bytes of the replayed logs (the log sequence number of the last commit).
    pub(super) lsn: u64,
    pub(super) segs: Segments,
    /// Per field of the checkpoint: its root and object table.
    pub(super) tables: Vec<(NodeId, ObjectTable)>,
    /// The log to append to (None when read-only).
    pub(super) wal: Option<WalWriter>,
    /// Transactions replayed from the logs (commits after the checkpoint).
    pub(super) replayed_transactions: u64,
    /// Record operations replayed: inserts and deletes, a batch counting each of its rows.
    pub(super) replayed_records: u64,
}

/// The name of an engine file (or of a temporary file of one), if `name` is one: what
/// initialising a directory must never delete.
fn engine_file(name: &str) -> bool {
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    base == superblock::FILE
        || wal::parse_name(base).is_some()
        || checkpoint::parse_name(base).is_some()
        || manifest::parse_name(base).is_some()
        || segments::parse_name(base).is_some()
}

/// Whether `name` is left over from an interrupted creation of a data directory (see
/// [`init_if_new`]): nothing a commit could have written.
fn creation_leftover(b: &dyn Backend, name: &str) -> Result<bool> {
    let superblock_tmp = format!("{}.tmp", superblock::FILE);
    let first_manifest = manifest::file_name(1);
    if name == superblock_tmp || name == format!("{first_manifest}.tmp") {
        return Ok(true);
    }
    if name == wal::file_name(0) {
        let f = b.open(name, false)?;
        return wal::is_unwritten(f.as_ref(), name);
    }
    if name == first_manifest {
        // Generation 1 is only ever the creation's manifest: no checkpoint, no fields.
        let f = b.open(name, false)?;
        let bytes = read_all(f.as_ref(), name, manifest::MAX_BYTES)?;
        return Ok(serde_json::from_slice::<Manifest>(&bytes).is_ok_and(|m| {
            m.generation == 1 && m.checkpoint.is_none() && m.roots.is_empty() && m.wal_start == 0
        }));
    }
    Ok(false)
}

/// Initialises the directory of `b` when it has no `SUPERBLOCK`: an empty first log, the first
/// manifest and the superblock (created whole under a temporary name and renamed into place).
/// Returns whether it did.
///
/// # Errors
/// `Corruption` naming the files found when the directory holds engine files other than the
/// leftovers of an interrupted creation (a lost `SUPERBLOCK` must not turn a directory with
/// data into an empty index); `Io` when `read_only` (nothing may be created) or from the
/// backend.
pub(super) fn init_if_new(b: &dyn Backend, read_only: bool) -> Result<bool> {
    if b.exists(superblock::FILE)? {
        return Ok(false);
    }
    let mut leftovers = Vec::new();
    let mut found = Vec::new();
    for name in b.list()? {
        if name == LOCK_FILE || !engine_file(&name) {
            continue; // not ours: left alone
        }
        if creation_leftover(b, &name)? {
            leftovers.push(name);
        } else {
            found.push(name);
        }
    }
    if !found.is_empty() {
        const SHOWN: usize = 8;
        let mut list = found
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if found.len() > SHOWN {
            list.push_str(&format!(" and {} more", found.len() - SHOWN));
        }
        return Err(corrupt(format!(
            "the data directory has no {} but holds {list}: it is not a new directory, and \
             opening it would lose its data (restore {} from a backup, or move these files \
             away to start a new index)",
            superblock::FILE,
            superblock::FILE
        )));
    }
    if read_only {
        return Err(Error::new(
            ErrorKind::Io,
            format!("not a data directory (no {} file)", superblock::FILE),
        ));
    }
    for name in &leftovers {
        b.remove(name)?;
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
    Ok(true)
}

/// `Corruption` unless file `name`, which `by` names, exists.
fn named_file(b: &dyn Backend, name: &str, by: &str) -> Result<()> {
    if b.exists(name)? {
        Ok(())
    } else {
        Err(corrupt(format!("{name}, named by {by}, is missing")))
    }
}

/// Recovers the last committed state of an initialised directory (see the module
/// documentation). Pages of the checkpoint are not read: the trees use them in place, and each
/// verifies itself on first use. Unless `opts.read_only`, the newest log is reopened for
/// appending (its torn tail cut) and files the state does not need are removed.
///
/// # Errors
/// `Corruption` for damaged or missing files (see the module documentation); `Io` from the
/// backend.
pub(super) fn recover(
    backend: &Arc<dyn Backend>,
    opts: &RuntimeOptions,
    lock: Option<&Arc<DirLock>>,
) -> Result<Recovered> {
    let b = backend.as_ref();
    let (sb, _) = superblock::read(b)?;
    named_file(b, &manifest::file_name(sb.manifest), superblock::FILE)?;
    let m = manifest::read(b, sb.manifest, sb.manifest_crc)?;
    let manifest_name = manifest::file_name(m.generation);
    let mut fields: Vec<(FieldMeta, Index)> = Vec::new();
    let mut epoch = 0;
    let mut loaded_tables = Vec::new();
    if let Some(c) = &m.checkpoint {
        named_file(b, &c.file, &manifest_name)?;
        let loaded = checkpoint::read(b, &c.file)?;
        if loaded.epoch != c.epoch {
            return Err(corrupt(format!(
                "{} holds epoch {}, the manifest says {}",
                c.file, loaded.epoch, c.epoch
            )));
        }
        epoch = loaded.epoch;
        loaded_tables = loaded
            .fields
            .into_iter()
            .map(|f| (f.meta, f.records, f.root, f.table))
            .collect::<Vec<_>>();
    }
    for s in &m.segments {
        named_file(b, &s.file, &manifest_name)?;
    }
    let mut segs = Segments::open(
        backend.clone(),
        loaded_tables.iter().map(|t| &t.3),
        lock.cloned(),
    )?;
    let mut tables = Vec::with_capacity(loaded_tables.len());
    for (meta, records, root, table) in loaded_tables {
        let pages = table
            .iter()
            .map(|e| Ok((e.node, segs.page(e, meta.precision, meta.dimension)?)))
            .collect::<Result<Vec<_>>>()?;
        let index = Index::from_pages(meta.options(), pages, root, records)
            .map_err(|e| corrupt(format!("field {}: {}", meta.name, e.message())))?;
        fields.push((meta, index));
        tables.push((root, table));
    }

    // Replay every log from wal_start on, in order, until one is missing.
    let mut seq = m.wal_start;
    let mut last: Option<(u64, u64)> = None;
    let mut lsn = 0u64;
    let mut unfinished = None;
    let (mut replayed_transactions, mut replayed_records) = (0u64, 0u64);
    loop {
        let name = wal::file_name(seq);
        if !b.exists(&name)? {
            break;
        }
        let newest = !b.exists(&wal::file_name(seq + 1))?;
        if seq > m.wal_start && newest {
            let f = b.open(&name, false)?;
            if let Err(e) = wal::read_header(f.as_ref(), &name) {
                if e.kind() != ErrorKind::Corruption {
                    return Err(e);
                }
                if !wal::is_unwritten(f.as_ref(), &name)? {
                    return Err(corrupt(format!(
                        "{}; the log holds data after its header, so its creation was not \
                         interrupted: it is damaged, and it may hold acknowledged commits",
                        e.message()
                    )));
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
                return Err(corrupt(format!(
                    "{name}: transaction {txn_epoch} follows {epoch}: commits are missing"
                )));
            }
            ops::decode(payload, |op| {
                replayed_records += records_of(&op);
                apply_op(&mut fields, op)
            })?;
            epoch = txn_epoch;
            replayed_transactions += 1;
            Ok(())
        })?;
        if report.seq != seq {
            return Err(corrupt(format!(
                "{name} holds log sequence number {}",
                report.seq
            )));
        }
        if let Some(why) = &report.stopped {
            if !newest {
                return Err(corrupt(format!(
                    "{name} is damaged ({why}) although later logs exist"
                )));
            }
        }
        lsn += report.valid_end;
        last = Some((seq, report.valid_end));
        seq += 1;
    }
    // Replay stopped at the first missing log: a later one means a log in the middle is gone,
    // and with it committed transactions.
    if let Some(later) = b
        .list()?
        .iter()
        .filter_map(|n| wal::parse_name(n))
        .find(|&s| s > seq)
    {
        return Err(corrupt(format!(
            "{} is missing although {} exists",
            wal::file_name(seq),
            wal::file_name(later)
        )));
    }
    let Some((last_seq, last_end)) = last else {
        return Err(corrupt(format!(
            "{}, named by {manifest_name}, is missing",
            wal::file_name(m.wal_start)
        )));
    };
    let wal = if opts.read_only {
        None
    } else {
        if let Some(seq) = unfinished {
            b.remove(&wal::file_name(seq))?;
            b.sync_dir()?;
        }
        let w = WalWriter::reopen(b, last_seq, last_end)?;
        // No checkpoint runs yet: every file the state does not name is garbage.
        super::coordinator::remove_garbage(b, &m)?;
        Some(w)
    };
    Ok(Recovered {
        sb,
        manifest: m,
        fields,
        epoch,
        lsn,
        segs,
        tables,
        wal,
        replayed_transactions,
        replayed_records,
    })
}

/// The records an operation inserts or deletes (a field creation: none).
fn records_of(op: &Op) -> u64 {
    match op {
        Op::CreateField { .. } => 0,
        Op::Insert { .. } | Op::Delete { .. } => 1,
        Op::InsertPoints { rows, .. } => rows.len() as u64,
    }
}

/// Applies one replayed operation to the fields being recovered.
fn apply_op(fields: &mut Vec<(FieldMeta, Index)>, op: Op) -> Result<()> {
    let bad = |msg: String| corrupt(format!("log replay: {msg}"));
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
