//! Operator tools on a data directory, as library code (the `xtree` binary is a thin main):
//! [`fsck`] verifies a directory; its [`Report`] is also what `xtree dump` and `xtree stats` print.

use std::path::Path;

use serde::Serialize;

use crate::engine::backend::{Backend, StdBackend};
use crate::engine::manifest::{self, Manifest};
use crate::engine::segments::SegmentStats;
use crate::engine::superblock;
use crate::engine::wal;
use crate::engine::Runtime;
use crate::error::Result;
use crate::xtree::check::TreeStats;

/// One field as `fsck`, `dump` and `stats` see it.
#[derive(Debug, Clone, Serialize)]
pub struct FieldReport {
    /// Field name.
    pub name: String,
    /// Dimensions.
    pub dimension: usize,
    /// Precision in bits.
    pub precision: u32,
    /// Labels.
    pub labels: Vec<String>,
    /// Node size in bytes.
    pub node_size: usize,
    /// Committed records.
    pub records: u64,
    /// Tree shape from the invariant checker, when it passed.
    pub leaves: u64,
    /// Directory nodes.
    pub directories: u64,
    /// Supernodes.
    pub supernodes: u64,
    /// Height in levels.
    pub height: u32,
}

/// One log as the tools see it.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// File name.
    pub file: String,
    /// Committed transactions.
    pub transactions: u64,
    /// Last committed epoch in it.
    pub last_epoch: Option<u64>,
    /// Bytes from the end of the last committed transaction to the last non-zero byte of the
    /// file (a torn or uncommitted tail); the zeros of the preallocation are not counted.
    pub tail_bytes: u64,
}

/// What [`fsck`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The directory.
    pub dir: String,
    /// Superblock generation, manifest generation, and whether both slots are valid.
    pub superblock_generation: u64,
    /// Current manifest generation.
    pub manifest_generation: u64,
    /// Both superblock slots valid.
    pub both_slots_valid: bool,
    /// The manifest.
    pub manifest: Manifest,
    /// Logs replayed.
    pub logs: Vec<LogReport>,
    /// Recovered commit epoch.
    pub epoch: u64,
    /// Fields.
    pub fields: Vec<FieldReport>,
    /// Files of the directory and their sizes.
    pub files: Vec<(String, u64)>,
    /// Pages of the checkpoint (object table entries, all fields) and the segment files'
    /// slots, used and in all.
    pub segments: SegmentStats,
    /// Problems found; empty when the directory is sound.
    pub problems: Vec<String>,
    /// Observations that are not damage (e.g. a torn log tail, which a crash leaves).
    pub notes: Vec<String>,
}

/// Verifies the data directory `dir` without changing it: superblock slots, the manifest's
/// CRC, every checkpoint page CRC, every log record CRC, replay, and the tree invariant checker
/// on every field. Damage is listed in [`Report::problems`].
///
/// # Errors
/// Only when the directory cannot be read at all (missing, locked by a writer); every form of
/// damage is a problem in the report.
pub fn fsck(dir: &Path) -> Result<Report> {
    if !dir.is_dir() {
        return Err(crate::Error::new(
            crate::ErrorKind::Io,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let _lock = crate::engine::lock::lock_dir(dir, true)?;
    let backend = StdBackend::read_only(dir)?;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let files: Vec<(String, u64)> = backend
        .list()?
        .into_iter()
        .map(|n| {
            let size = backend.open(&n, false).and_then(|f| f.size()).unwrap_or(0);
            (n, size)
        })
        .collect();
    let mut report = Report {
        dir: dir.display().to_string(),
        superblock_generation: 0,
        manifest_generation: 0,
        both_slots_valid: false,
        manifest: Manifest {
            format_version: 0,
            generation: 0,
            checkpoint: None,
            wal_start: 0,
            roots: vec![],
            files: vec![],
            segments: vec![],
        },
        logs: vec![],
        epoch: 0,
        fields: vec![],
        files,
        segments: SegmentStats::default(),
        problems: vec![],
        notes: vec![],
    };
    match superblock::read(&backend) {
        Ok((sb, both)) => {
            report.superblock_generation = sb.generation;
            report.manifest_generation = sb.manifest;
            report.both_slots_valid = both;
            if !both {
                notes.push("one superblock slot is invalid (normal before the second checkpoint, else a torn or damaged slot)".into());
            }
            match manifest::read(&backend, sb.manifest, sb.manifest_crc) {
                Ok(m) => report.manifest = m,
                Err(e) => problems.push(format!("manifest: {e}")),
            }
        }
        Err(e) => problems.push(format!("superblock: {e}")),
    }
    if problems.is_empty() {
        let mut seq = report.manifest.wal_start;
        while backend.exists(&wal::file_name(seq))? {
            let name = wal::file_name(seq);
            match wal::scan(&backend, &name, |_, _| Ok(())) {
                Ok(r) => {
                    if r.tail_bytes > 0 {
                        notes.push(format!(
                            "{name}: {} bytes after the last committed transaction ({}) — a torn \
                             tail from a crash, cut at the next writable open",
                            r.tail_bytes,
                            r.stopped.clone().unwrap_or_default()
                        ));
                    }
                    report.logs.push(LogReport {
                        file: name,
                        transactions: r.txns,
                        last_epoch: r.last_epoch,
                        tail_bytes: r.tail_bytes,
                    });
                }
                Err(e) => notes.push(format!("{name}: {e}")),
            }
            seq += 1;
        }
        match Runtime::open_read_only(dir) {
            Ok(rt) => {
                report.epoch = rt.stats().epoch;
                match rt.verify_checkpoint() {
                    Ok(st) => report.segments = st,
                    Err(e) => problems.push(format!("checkpoint pages: {e}")),
                }
                let snap = rt.snapshot()?;
                for name in rt.field_names() {
                    let Some(f) = rt.get(&name)? else { continue };
                    let o = f.options();
                    let s = snap.field(&name).cloned();
                    let stats = match s.as_ref().map(|s| s.check()) {
                        Some(Ok(t)) => t,
                        Some(Err(e)) => {
                            problems.push(format!("field {name}: {e}"));
                            TreeStats::default()
                        }
                        None => TreeStats::default(),
                    };
                    report.fields.push(FieldReport {
                        name,
                        dimension: o.dimension,
                        precision: o.precision,
                        labels: o.labels,
                        node_size: o.node_size,
                        records: s.map_or(0, |s| s.len()),
                        leaves: stats.leaves,
                        directories: stats.directories,
                        supernodes: stats.supernodes,
                        height: stats.height,
                    });
                }
                rt.close()?;
            }
            Err(e) => problems.push(format!("recovery: {e}")),
        }
    }
    report.problems = problems;
    report.notes = notes;
    Ok(report)
}

impl Report {
    /// A human-readable description.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "data directory {}", self.dir);
        let _ = writeln!(
            s,
            "superblock generation {} (both slots valid: {}), manifest generation {}",
            self.superblock_generation, self.both_slots_valid, self.manifest_generation
        );
        match &self.manifest.checkpoint {
            Some(c) => {
                let _ = writeln!(
                    s,
                    "checkpoint {} at epoch {} ({} bytes)",
                    c.file, c.epoch, c.bytes
                );
            }
            None => {
                let _ = writeln!(s, "no checkpoint yet");
            }
        }
        for l in &self.logs {
            let _ = writeln!(
                s,
                "log {}: {} transactions, last epoch {:?}, {} tail bytes",
                l.file, l.transactions, l.last_epoch, l.tail_bytes
            );
        }
        let _ = writeln!(s, "recovered epoch {}", self.epoch);
        let g = &self.segments;
        let _ = writeln!(
            s,
            "checkpoint pages {} in {} segment files: {} of {} slots used ({} bytes)",
            g.pages, g.files, g.used_slots, g.total_slots, g.bytes
        );
        for f in &self.fields {
            let _ = writeln!(
                s,
                "field {}: {}-D precision {} labels {:?} node {} B: {} records, {} leaves, {} directories ({} supernodes), height {}",
                f.name, f.dimension, f.precision, f.labels, f.node_size, f.records, f.leaves,
                f.directories, f.supernodes, f.height
            );
        }
        for (n, size) in &self.files {
            let _ = writeln!(s, "file {n}: {size} bytes");
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        for p in &self.problems {
            let _ = writeln!(s, "PROBLEM: {p}");
        }
        let _ = writeln!(
            s,
            "{}",
            if self.problems.is_empty() {
                "OK"
            } else {
                "DAMAGED"
            }
        );
        s
    }
}
pub mod load;
