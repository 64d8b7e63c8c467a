//! `xtree load`: a CSV file (gzip allowed) into a field of a durable data directory.
//!
//! Parsing follows RFC 4180 through the `csv` crate (quoted fields, doubled quotes, CRLF). The
//! file has a header row; columns are named by it, or by 0-based position (`#3`). Each row gives
//! one point: the coordinates of the chosen columns, in order, and a row id taken from the id
//! column (an unsigned 64-bit integer) or, without one, the 0-based number of the data row (the
//! header is not a row). Rows that cannot be loaded — a missing or non-numeric coordinate, an
//! infinite or NaN one (or one beyond ±f32::MAX at precision 32), an id that is not a `u64`, a
//! malformed CSV record — are skipped and
//! reported with their line number and reason; every other row is loaded.
//!
//! Rows are inserted in batches of [`BATCH_ROWS`], each batch one commit, so a load that is
//! interrupted keeps every batch committed before it (and a rerun loads it again under the
//! same row ids: a loader is not deduplicating).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{Durability, Runtime, RuntimeOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::index::IndexOptions;

/// Rows per insert batch and commit.
pub const BATCH_ROWS: usize = 50_000;
/// Rejected rows listed in a [`LoadSummary`] (all are counted).
pub const MAX_REJECTS_LISTED: usize = 100;

/// What to load and where.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The data directory (created when absent).
    pub dir: PathBuf,
    /// The CSV file; a name ending in `.gz` is read through gzip.
    pub csv: PathBuf,
    /// Coordinate columns, in axis order: header names, or `#N` for the 0-based column N.
    pub columns: Vec<String>,
    /// The row id column (same forms as `columns`); `None` numbers the data rows from 0.
    pub id_column: Option<String>,
    /// Coordinate precision of a new field: 32 or 64.
    pub precision: u32,
    /// Durability of the runtime during the load.
    pub durability: Durability,
    /// The field to load into (created when absent, with the columns as labels).
    pub field: String,
}

/// One row that was not loaded.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The outcome of a load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    /// Field loaded into.
    pub field: String,
    /// Rows read (data rows, loaded or not).
    pub rows: u64,
    /// Rows loaded.
    pub loaded: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// The first [`MAX_REJECTS_LISTED`] rejected rows.
    pub rejects: Vec<Reject>,
    /// Records in the field after the load.
    pub records: u64,
    /// Wall time of the load, seconds (close included).
    pub seconds: f64,
    /// Bytes of the data directory's files after the load.
    pub bytes_on_disk: u64,
}

/// Counts the bytes read through it, for progress.
struct Counting<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

/// The position of column `spec` (a header name, or `#N`) in `header`.
fn column(header: &csv::StringRecord, spec: &str) -> Result<usize> {
    if let Some(n) = spec.strip_prefix('#') {
        let i: usize = n
            .parse()
            .map_err(|_| invalid(format!("column {spec:?}: expected #N with N a number")))?;
        if i >= header.len() {
            return Err(invalid(format!(
                "column {spec}: the file has {} columns",
                header.len()
            )));
        }
        return Ok(i);
    }
    header.iter().position(|h| h == spec).ok_or_else(|| {
        invalid(format!(
            "column {spec:?} is not in the header ({})",
            header.iter().collect::<Vec<_>>().join(",")
        ))
    })
}

/// Loads `o.csv` into field `o.field` of the data directory `o.dir`. `progress` is called now
/// and then with the bytes of the (compressed) file read so far and its length.
///
/// # Errors
/// `InvalidArgument` for columns missing from the header, a precision other than 32/64, an
/// existing field of another dimension or precision; `Io` for a file that cannot be read or a
/// directory that cannot be opened (locked by a writer included); `Corruption` for a damaged
/// directory. Bad rows are not errors: they are counted in the summary.
pub fn load_csv(o: &LoadOptions, progress: &mut dyn FnMut(u64, u64)) -> Result<LoadSummary> {
    let start = Instant::now();
    if o.columns.is_empty() {
        return Err(invalid("--columns: name at least one coordinate column"));
    }
    if o.precision != 32 && o.precision != 64 {
        return Err(invalid(format!(
            "precision {}: must be 32 or 64",
            o.precision
        )));
    }
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("{}: {e}", o.csv.display()));
    let file = std::fs::File::open(&o.csv).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counting {
        inner: file,
        read: read.clone(),
    };
    let gz = o.csv.extension().is_some_and(|e| e == "gz");
    let reader: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(counted),
        )))
    } else {
        Box::new(BufReader::new(counted))
    };
    // Records end at '\n' and fields are trimmed (a CRLF's '\r' included): with CRLF as the
    // terminator the reader would report each record's line one too low.
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| invalid(format!("{}: header: {e}", o.csv.display())))?
        .clone();
    let cols: Vec<usize> = o
        .columns
        .iter()
        .map(|c| column(&header, c))
        .collect::<Result<_>>()?;
    let id_col = o
        .id_column
        .as_deref()
        .map(|c| column(&header, c))
        .transpose()?;
    let labels: Vec<String> = cols.iter().map(|&i| header[i].to_string()).collect();
    let dim = cols.len();

    let opts = RuntimeOptions {
        durability: o.durability,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::open(&o.dir, opts)?;
    let field = rt.field(&o.field, IndexOptions::new(dim, o.precision, labels))?;
    let mut summary = LoadSummary {
        field: o.field.clone(),
        rows: 0,
        loaded: 0,
        rejected: 0,
        rejects: Vec::new(),
        records: 0,
        seconds: 0.0,
        bytes_on_disk: 0,
    };
    fn reject(s: &mut LoadSummary, line: u64, reason: String) {
        s.rejected += 1;
        if s.rejects.len() < MAX_REJECTS_LISTED {
            s.rejects.push(Reject { line, reason });
        }
    }
    let mut ids: Vec<u64> = Vec::with_capacity(BATCH_ROWS);
    let mut coords: Vec<f64> = Vec::with_capacity(BATCH_ROWS * dim);
    let mut record = csv::StringRecord::new();
    let mut last_progress = Instant::now();
    progress(0, total);
    let flush = |ids: &mut Vec<u64>, coords: &mut Vec<f64>| -> Result<()> {
        if !ids.is_empty() {
            field.insert_points(ids, coords)?;
            rt.commit()?;
            ids.clear();
            coords.clear();
        }
        Ok(())
    };
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A malformed record (bad UTF-8, an unterminated quote): skip it.
                summary.rows += 1;
                reject(&mut summary, line, format!("malformed CSV: {e}"));
                continue;
            }
        }
        let row_number = summary.rows;
        summary.rows += 1;
        let line = record.position().map_or(line, |p| p.line());
        let id = match id_col {
            None => row_number,
            Some(c) => match record.get(c).map(|s| s.trim().parse::<u64>()) {
                Some(Ok(id)) => id,
                Some(Err(_)) => {
                    let v = record.get(c).unwrap_or("");
                    reject(&mut summary, line, format!("id {v:?} is not a u64"));
                    continue;
                }
                None => {
                    reject(&mut summary, line, format!("no column {c} (the id)"));
                    continue;
                }
            },
        };
        let start_len = coords.len();
        let mut bad = None;
        for (axis, &c) in cols.iter().enumerate() {
            match record.get(c).map(|s| s.trim().parse::<f64>()) {
                Some(Ok(x)) if !x.is_finite() => {
                    let v = record.get(c).unwrap_or("");
                    bad = Some(format!("{} = {v} is not finite", o.columns[axis]));
                    break;
                }
                // A point rounds to the nearest f32; beyond f32::MAX that is infinite.
                Some(Ok(x)) if o.precision == 32 && !(x as f32).is_finite() => {
                    let v = record.get(c).unwrap_or("");
                    bad = Some(format!(
                        "{} = {v} is outside the range of precision 32",
                        o.columns[axis]
                    ));
                    break;
                }
                Some(Ok(x)) => coords.push(x),
                Some(Err(_)) => {
                    let v = record.get(c).unwrap_or("");
                    bad = Some(format!("{} = {v:?} is not a number", o.columns[axis]));
                    break;
                }
                None => {
                    bad = Some(format!("no column {} ({})", c, o.columns[axis]));
                    break;
                }
            }
        }
        if let Some(reason) = bad {
            coords.truncate(start_len);
            reject(&mut summary, line, reason);
            continue;
        }
        ids.push(id);
        summary.loaded += 1;
        if ids.len() == BATCH_ROWS {
            flush(&mut ids, &mut coords)?;
        }
        if last_progress.elapsed() > Duration::from_millis(100) {
            progress(read.load(std::sync::atomic::Ordering::Relaxed), total);
            last_progress = Instant::now();
        }
    }
    flush(&mut ids, &mut coords)?;
    progress(total, total);
    summary.records = field.len()?;
    drop(field);
    rt.close()?;
    summary.bytes_on_disk = crate::engine::runtime::dir_bytes(&o.dir);
    summary.seconds = start.elapsed().as_secs_f64();
    log::info!(
        "loaded {} of {} rows into field {} in {:.2} s",
        summary.loaded,
        summary.rows,
        summary.field,
        summary.seconds
    );
    Ok(summary)
}
