//! Logical operations carried by the write-ahead log (the payload of a transaction; see
//! `FORMAT.md`, "WAL operations"). The log records what a commit must replay — record inserts
//! and deletes and field creations — never pages: pages are written by checkpoints only.
//!
//! ```text
//! CREATE_FIELD  0x01 | field u32 | json_len u32 | FieldMeta as JSON
//! INSERT        0x02 | field u32 | dims u16 | row u64 | min f64[dims] | max f64[dims]
//! DELETE        0x03 | field u32 | dims u16 | row u64 | min f64[dims] | max f64[dims]
//! INSERT_POINTS 0x04 | field u32 | dims u16 | n u32 | rows u64[n] | coords f64[n*dims]
//! ```
//!
//! Coordinates are the caller's f64 input (already validated); rounding to the index
//! precision is deterministic, so replay stores the same coordinates.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::index::{IndexOptions, MAX_DIMENSION};

const CREATE_FIELD: u8 = 1;
const INSERT: u8 = 2;
const DELETE: u8 = 3;
const INSERT_POINTS: u8 = 4;

/// Largest JSON description of a field accepted from disk.
const MAX_META_JSON: usize = 1 << 20;

/// The persistent description of a field (one named index of a runtime).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// Field name, unique in the runtime.
    pub name: String,
    /// Dimensions, 1..=255.
    pub dimension: usize,
    /// 32 or 64.
    pub precision: u32,
    /// One label per dimension.
    pub labels: Vec<String>,
    /// Node size in bytes.
    pub node_size: usize,
}

impl FieldMeta {
    /// The index options of this field.
    pub fn options(&self) -> IndexOptions {
        IndexOptions {
            dimension: self.dimension,
            precision: self.precision,
            labels: self.labels.clone(),
            node_size: self.node_size,
        }
    }
}

/// One decoded operation, borrowing its coordinates from the log payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A new field with id `field`.
    CreateField {
        /// Field id (position in the runtime's field list).
        field: u32,
        /// Its description.
        meta: FieldMeta,
    },
    /// Insert of (`row`, `[min, max]`).
    Insert {
        /// Field id.
        field: u32,
        /// Row id.
        row: u64,
        /// min then max, `2 * dims` values.
        coords: Vec<f64>,
    },
    /// Delete of (`row`, `[min, max]`) that found the record.
    Delete {
        /// Field id.
        field: u32,
        /// Row id.
        row: u64,
        /// min then max, `2 * dims` values.
        coords: Vec<f64>,
    },
    /// Insert of `rows.len()` points, row-major.
    InsertPoints {
        /// Field id.
        field: u32,
        /// Row ids.
        rows: Vec<u64>,
        /// `rows.len() * dims` values.
        coords: Vec<f64>,
    },
}

/// Appends an encoded `CREATE_FIELD`.
pub fn put_create_field(out: &mut Vec<u8>, field: u32, meta: &FieldMeta) {
    let json = serde_json::to_vec(meta).expect("FieldMeta serialises");
    out.push(CREATE_FIELD);
    out.extend_from_slice(&field.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
}

/// Appends an encoded `INSERT` (`delete == false`) or `DELETE`.
pub fn put_record(out: &mut Vec<u8>, delete: bool, field: u32, row: u64, min: &[f64], max: &[f64]) {
    out.push(if delete { DELETE } else { INSERT });
    out.extend_from_slice(&field.to_le_bytes());
    out.extend_from_slice(&(min.len() as u16).to_le_bytes());
    out.extend_from_slice(&row.to_le_bytes());
    for v in min.iter().chain(max) {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends an encoded `INSERT_POINTS` (`coords.len() == rows.len() * dims`).
pub fn put_points(out: &mut Vec<u8>, field: u32, dims: usize, rows: &[u64], coords: &[f64]) {
    out.push(INSERT_POINTS);
    out.extend_from_slice(&field.to_le_bytes());
    out.extend_from_slice(&(dims as u16).to_le_bytes());
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    out.reserve(rows.len() * 8 + coords.len() * 8);
    for r in rows {
        out.extend_from_slice(&r.to_le_bytes());
    }
    for v in coords {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bad(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Corruption,
            format!("log operation at payload offset {}: {what}", self.pos),
        )
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.bad("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn dims(&mut self) -> Result<usize> {
        let d = self.u16()? as usize;
        if !(1..=MAX_DIMENSION).contains(&d) {
            return Err(self.bad(&format!("dimension {d}")));
        }
        Ok(d)
    }
    fn f64s(&mut self, n: usize) -> Result<Vec<f64>> {
        let bytes = self.take(
            n.checked_mul(8)
                .ok_or_else(|| self.bad("length overflow"))?,
        )?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
}

/// Decodes every operation of a transaction payload, in order.
///
/// # Errors
/// `Corruption` for an unknown tag, a truncated operation or an impossible length; never
/// allocates more than the payload's own size.
pub fn decode(payload: &[u8], mut f: impl FnMut(Op) -> Result<()>) -> Result<()> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    while r.pos < payload.len() {
        let tag = r.u8()?;
        let field = r.u32()?;
        let op = match tag {
            CREATE_FIELD => {
                let n = r.u32()? as usize;
                if n > MAX_META_JSON {
                    return Err(r.bad("field description too long"));
                }
                let json = r.take(n)?;
                let meta: FieldMeta = serde_json::from_slice(json)
                    .map_err(|e| r.bad(&format!("field description: {e}")))?;
                Op::CreateField { field, meta }
            }
            INSERT | DELETE => {
                let d = r.dims()?;
                let row = r.u64()?;
                let coords = r.f64s(2 * d)?;
                if tag == INSERT {
                    Op::Insert { field, row, coords }
                } else {
                    Op::Delete { field, row, coords }
                }
            }
            INSERT_POINTS => {
                let d = r.dims()?;
                let n = r.u32()? as usize;
                if n.saturating_mul(8 + 8 * d) > payload.len() - r.pos {
                    return Err(r.bad("point batch longer than its record"));
                }
                let rows = (0..n).map(|_| r.u64()).collect::<Result<Vec<u64>>>()?;
                let coords = r.f64s(n * d)?;
                Op::InsertPoints {
                    field,
                    rows,
                    coords,
                }
            }
            t => return Err(r.bad(&format!("unknown operation tag {t}"))),
        };
        f(op)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_truncation_is_an_error() {
        let meta = FieldMeta {
            name: "geo".into(),
            dimension: 2,
            precision: 32,
            labels: vec!["lon".into(), "lat".into()],
            node_size: 4096,
        };
        let mut buf = Vec::new();
        let mut boundaries = vec![0];
        put_create_field(&mut buf, 0, &meta);
        boundaries.push(buf.len());
        put_record(&mut buf, false, 0, 7, &[1.0, 2.0], &[3.0, 4.0]);
        boundaries.push(buf.len());
        put_record(&mut buf, true, 0, 7, &[1.0, 2.0], &[3.0, 4.0]);
        boundaries.push(buf.len());
        put_points(&mut buf, 0, 2, &[1, 2], &[0.5, 0.25, 9.0, 8.0]);
        let mut got = Vec::new();
        decode(&buf, |op| {
            got.push(op);
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Op::CreateField { field: 0, meta });
        assert_eq!(
            got[3],
            Op::InsertPoints {
                field: 0,
                rows: vec![1, 2],
                coords: vec![0.5, 0.25, 9.0, 8.0]
            }
        );
        for cut in 0..buf.len() {
            let ok = decode(&buf[..cut], |_| Ok(())).is_ok();
            assert_eq!(ok, boundaries.contains(&cut), "cut {cut}");
        }
        // A batch claiming more points than its bytes hold is rejected before allocating.
        let mut huge = Vec::new();
        put_points(&mut huge, 0, 2, &[], &[]);
        let n_at = huge.len() - 4;
        huge[n_at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode(&huge, |_| Ok(())).unwrap_err().kind(),
            ErrorKind::Corruption
        );
    }
}
