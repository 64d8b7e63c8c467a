//! Shared helpers for the integration tests (`tests/*.rs`) and the criterion benches
//! (`benches/*.rs`, which include this file with `#[path = "../tests/common/mod.rs"]`).
//!
//! - [`SplitMix64`] and the standard workloads of `BENCHMARKS.md`: W1 (uniform points and
//!   10×10 query boxes), W2 (windows covering a fraction of the data extent) and the clustered
//!   points (Gaussian clusters, σ = 0.05°, around the GeoNames cities).
//! - [`BruteForce`], an oracle that stores coordinates exactly as the index does (precision 32
//!   rounds points to the nearest f32 and boxes outward) and answers every query by a full scan;
//!   kNN ranks by the exact squared distance ([`exact_dist2`], big integers: it shares no
//!   arithmetic with the index).
//!
//! Everything here is deterministic: generators take a seed or a stream, never the clock.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]
// The geometry walks several parallel coordinate arrays by axis; indexing reads best.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use num_bigint::{BigInt, BigUint};

use xtree::SearchType;

// ---------------------------------------------------------------------------------------------
// SplitMix64 (BENCHMARKS.md W1)
// ---------------------------------------------------------------------------------------------

/// The SplitMix64 generator exactly as BENCHMARKS.md W1 specifies it, so that the Java harness
/// and any other language reproduce the same points bit for bit.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The state W1 starts from.
    pub const W1_SEED: u64 = 42;

    /// A generator whose state is `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The W1 stream (state 42).
    pub fn w1() -> Self {
        SplitMix64::new(Self::W1_SEED)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform double in [0, 1): the top 53 bits times 2^-53.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in 0..n (n > 0), as `floor(u * n)`.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        ((self.next_f64() * n as f64) as usize).min(n - 1)
    }
}

/// Rounds to the nearest f32 and widens back: the W1 rounding rule.
pub fn f32r(v: f64) -> f64 {
    v as f32 as f64
}

// ---------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------

/// A closed 2-D box `[min[0], max[0]] × [min[1], max[1]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl Window {
    /// The box with these corners.
    pub fn new(min: [f64; 2], max: [f64; 2]) -> Self {
        Window { min, max }
    }

    /// Width times height.
    pub fn area(&self) -> f64 {
        (self.max[0] - self.min[0]) * (self.max[1] - self.min[1])
    }

    /// The smallest box holding all `points` (panics if empty).
    pub fn bounding(points: &[[f64; 2]]) -> Self {
        assert!(!points.is_empty(), "bounding box of no points");
        let mut w = Window::new(points[0], points[0]);
        for p in points {
            for a in 0..2 {
                w.min[a] = w.min[a].min(p[a]);
                w.max[a] = w.max[a].max(p[a]);
            }
        }
        w
    }
}

// ---------------------------------------------------------------------------------------------
// W1 — uniform points
// ---------------------------------------------------------------------------------------------

/// The side of the W1 data square.
pub const W1_EXTENT: f64 = 1000.0;

/// `(N, Q, total hits)` of BENCHMARKS.md W1.
pub const W1_GROUND_TRUTH: [(usize, usize, u64); 3] = [
    (20_000, 1_000, 1_910),
    (150_000, 1_000, 14_998),
    (1_000_000, 10_000, 998_246),
];

/// The ground-truth total hits of W1 with `n` points and `q` queries, if BENCHMARKS.md gives it.
pub fn w1_ground_truth(n: usize, q: usize) -> Option<u64> {
    W1_GROUND_TRUTH
        .iter()
        .find(|&&(gn, gq, _)| gn == n && gq == q)
        .map(|&(_, _, hits)| hits)
}

/// `n` W1 points from `rng`: x then y, each `f32(u * 1000)`. Row id of point i is i.
pub fn w1_points(rng: &mut SplitMix64, n: usize) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let x = f32r(rng.next_f64() * W1_EXTENT);
            let y = f32r(rng.next_f64() * W1_EXTENT);
            [x, y]
        })
        .collect()
}

/// `q` W1 query boxes from `rng`: `qx = f32(u*990)`, `qy = f32(u*990)`,
/// box `[qx, f32(qx+10)] × [qy, f32(qy+10)]`.
pub fn w1_queries(rng: &mut SplitMix64, q: usize) -> Vec<Window> {
    (0..q)
        .map(|_| {
            let qx = f32r(rng.next_f64() * 990.0);
            let qy = f32r(rng.next_f64() * 990.0);
            Window::new([qx, qy], [f32r(qx + 10.0), f32r(qy + 10.0)])
        })
        .collect()
}

/// A W1 data set: the points (row id = index) and the queries drawn after them.
#[derive(Debug, Clone)]
pub struct W1 {
    pub points: Vec<[f64; 2]>,
    pub queries: Vec<Window>,
}

impl W1 {
    /// W1 with `n` points and `q` queries from the stream of state 42.
    pub fn generate(n: usize, q: usize) -> Self {
        let mut rng = SplitMix64::w1();
        let points = w1_points(&mut rng, n);
        let queries = w1_queries(&mut rng, q);
        W1 { points, queries }
    }

    /// Row ids `0..n`.
    pub fn row_ids(&self) -> Vec<u64> {
        (0..self.points.len() as u64).collect()
    }

    /// The points row-major (`x0, y0, x1, y1, ...`), as `Index::insert_points` takes them.
    pub fn coords(&self) -> Vec<f64> {
        flatten(&self.points)
    }

    /// The query points of W3 (kNN): the lower corners of the W1 query boxes, `(qx, qy)`.
    pub fn knn_points(&self) -> Vec<[f64; 2]> {
        self.queries.iter().map(|w| w.min).collect()
    }
}

/// Row-major flattening of 2-D points.
pub fn flatten(points: &[[f64; 2]]) -> Vec<f64> {
    points.iter().flat_map(|p| p.iter().copied()).collect()
}

// ---------------------------------------------------------------------------------------------
// W2 — window sizes
// ---------------------------------------------------------------------------------------------

/// The W2 window sizes as fractions of the data extent's area: 0.01 %, 1 %, 10 %.
pub const W2_FRACTIONS: [f64; 3] = [0.0001, 0.01, 0.1];

/// `count` windows each covering `fraction` of `extent`'s area, with the extent's aspect ratio
/// (side `sqrt(fraction) × width` by `sqrt(fraction) × height`), lying inside the extent.
///
/// Drawn like W1 queries, from `rng`: `lo = f32(ext.min + u × (width − side))` for x then y,
/// `hi = f32(lo + side)`. For the uniform 1000×1000 extent and 0.01 % (side 10) this is exactly
/// the W1 query generator, so the ground truth of W1 applies.
pub fn w2_windows(
    rng: &mut SplitMix64,
    extent: Window,
    fraction: f64,
    count: usize,
) -> Vec<Window> {
    assert!(
        fraction > 0.0 && fraction <= 1.0,
        "fraction {fraction} outside (0, 1]"
    );
    let s = fraction.sqrt();
    let side = [
        s * (extent.max[0] - extent.min[0]),
        s * (extent.max[1] - extent.min[1]),
    ];
    (0..count)
        .map(|_| {
            let mut w = Window::new([0.0; 2], [0.0; 2]);
            for a in 0..2 {
                let free = extent.max[a] - extent.min[a] - side[a];
                w.min[a] = f32r(extent.min[a] + rng.next_f64() * free);
            }
            for a in 0..2 {
                w.max[a] = f32r(w.min[a] + side[a]);
            }
            w
        })
        .collect()
}

/// W2 on uniform points: the W1 points (n of them) and then `count` windows of `fraction`,
/// drawn from the same stream right after the points (the uniform 1000×1000 extent).
pub fn w2_uniform(n: usize, fraction: f64, count: usize) -> (Vec<[f64; 2]>, Vec<Window>) {
    let mut rng = SplitMix64::w1();
    let points = w1_points(&mut rng, n);
    let extent = Window::new([0.0, 0.0], [W1_EXTENT, W1_EXTENT]);
    let windows = w2_windows(&mut rng, extent, fraction, count);
    (points, windows)
}

/// A W1 stream positioned right after `n_points` points (two draws each), for drawing windows
/// or query points that follow them.
pub fn w1_stream_after(n_points: usize) -> SplitMix64 {
    let mut rng = SplitMix64::w1();
    for _ in 0..2 * n_points {
        rng.next_u64();
    }
    rng
}

// ---------------------------------------------------------------------------------------------
// Clustered points (GeoNames cities, σ = 0.05°)
// ---------------------------------------------------------------------------------------------

/// The standard deviation of the clusters, in degrees.
pub const CLUSTER_SIGMA_DEG: f64 = 0.05;

/// Where `cities1000.csv.gz` is looked for, in order.
pub fn cities_paths() -> Vec<PathBuf> {
    vec![
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/cities1000.csv.gz"),
        PathBuf::from("/work/shared/data/cities1000.csv.gz"),
    ]
}

/// The GeoNames cities as `[lon, lat]`, in file order (row id = 0-based data row), or an error
/// naming every place tried.
pub fn load_cities() -> Result<Vec<[f64; 2]>, String> {
    let mut tried = Vec::new();
    for path in cities_paths() {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tried.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let reader = BufReader::new(flate2::read::GzDecoder::new(file));
        let mut out = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1))?;
            if i == 0 {
                // Header `lat,lon,name,admin1,admin2,cc`. Names may hold quoted commas, but the
                // two numeric columns come first, so splitting off two fields is safe.
                continue;
            }
            let mut fields = line.splitn(3, ',');
            let parse = |s: Option<&str>| -> Result<f64, String> {
                s.and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| format!("{}: line {}: bad lat/lon", path.display(), i + 1))
            };
            let lat = parse(fields.next())?;
            let lon = parse(fields.next())?;
            out.push([lon, lat]);
        }
        return Ok(out);
    }
    Err(format!(
        "cities1000.csv.gz not found; tried {}",
        tried.join("; ")
    ))
}

/// One standard normal draw by Box–Muller from two stream draws (`u1` then `u2`); returns both
/// coordinates of the pair: `r = sqrt(−2 ln(1 − u1))`, `(r cos 2πu2, r sin 2πu2)`.
pub fn gaussian_pair(rng: &mut SplitMix64) -> (f64, f64) {
    let u1 = rng.next_f64();
    let u2 = rng.next_f64();
    let r = (-2.0 * (1.0 - u1).ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}

/// `n` clustered points around `centres` from `rng`: for each point, a centre
/// `centres[floor(u × len)]`, then a Box–Muller pair scaled by `sigma`,
/// `x = f32(cx + σ·g0)`, `y = f32(cy + σ·g1)` (no wrapping at the antimeridian).
pub fn clustered_points(
    rng: &mut SplitMix64,
    centres: &[[f64; 2]],
    sigma: f64,
    n: usize,
) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let c = centres[rng.below(centres.len())];
            let (g0, g1) = gaussian_pair(rng);
            [f32r(c[0] + sigma * g0), f32r(c[1] + sigma * g1)]
        })
        .collect()
}

/// W2's clustered points: `n` points around the GeoNames cities (σ = 0.05°) from the stream of
/// state `seed` (42 for the standard set).
pub fn geonames_clustered(seed: u64, n: usize) -> Result<Vec<[f64; 2]>, String> {
    let cities = load_cities()?;
    let mut rng = SplitMix64::new(seed);
    Ok(clustered_points(&mut rng, &cities, CLUSTER_SIGMA_DEG, n))
}

// ---------------------------------------------------------------------------------------------
// Stored precision
// ---------------------------------------------------------------------------------------------

/// The next f32 below `f` (toward −∞).
pub fn f32_next_down(f: f32) -> f32 {
    if f.is_nan() || f == f32::NEG_INFINITY {
        return f;
    }
    if f == 0.0 {
        return -f32::from_bits(1);
    }
    let bits = f.to_bits();
    if f > 0.0 {
        f32::from_bits(bits - 1)
    } else {
        f32::from_bits(bits + 1)
    }
}

/// The next f32 above `f` (toward +∞).
pub fn f32_next_up(f: f32) -> f32 {
    -f32_next_down(-f)
}

/// A point coordinate as stored with `precision` bits (32: nearest f32).
pub fn store_point(precision: u32, v: f64) -> f64 {
    match precision {
        64 => v,
        32 => f32r(v),
        p => panic!("precision {p}"),
    }
}

/// A box minimum as stored with `precision` bits (32: rounded down to an f32).
pub fn store_min(precision: u32, v: f64) -> f64 {
    match precision {
        64 => v,
        32 => {
            let f = v as f32;
            if (f as f64) > v {
                f32_next_down(f) as f64
            } else {
                f as f64
            }
        }
        p => panic!("precision {p}"),
    }
}

/// A box maximum as stored with `precision` bits (32: rounded up to an f32).
pub fn store_max(precision: u32, v: f64) -> f64 {
    match precision {
        64 => v,
        32 => {
            let f = v as f32;
            if (f as f64) < v {
                f32_next_up(f) as f64
            } else {
                f as f64
            }
        }
        p => panic!("precision {p}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry shared by the oracles
// ---------------------------------------------------------------------------------------------

/// Whether the closed boxes `[amin, amax]` and `[bmin, bmax]` intersect.
pub fn intersects(amin: &[f64], amax: &[f64], bmin: &[f64], bmax: &[f64]) -> bool {
    (0..amin.len()).all(|a| amin[a] <= bmax[a] && bmin[a] <= amax[a])
}

/// Whether `[outer_min, outer_max]` ⊇ `[inner_min, inner_max]`.
pub fn contains(
    outer_min: &[f64],
    outer_max: &[f64],
    inner_min: &[f64],
    inner_max: &[f64],
) -> bool {
    (0..outer_min.len()).all(|a| outer_min[a] <= inner_min[a] && inner_max[a] <= outer_max[a])
}

/// Whether a record `[rmin, rmax]` matches query `[qmin, qmax]` under `ty`.
pub fn matches(ty: SearchType, rmin: &[f64], rmax: &[f64], qmin: &[f64], qmax: &[f64]) -> bool {
    match ty {
        SearchType::Intersects => intersects(rmin, rmax, qmin, qmax),
        SearchType::Contains => contains(rmin, rmax, qmin, qmax),
        SearchType::Within => contains(qmin, qmax, rmin, rmax),
    }
}

/// Squared Euclidean distance from point `p` to the box `[min, max]` (0 inside), summing the
/// axes in order. Both oracles and the kNN comparisons use this one function, so equal
/// geometry gives bit-identical distances.
pub fn dist2_point_box(p: &[f64], min: &[f64], max: &[f64]) -> f64 {
    let mut d2 = 0.0;
    for a in 0..p.len() {
        let d = if p[a] < min[a] {
            min[a] - p[a]
        } else if p[a] > max[a] {
            p[a] - max[a]
        } else {
            0.0
        };
        d2 += d * d;
    }
    d2
}

/// A finite `f64` exactly, as an integer in units of `2^-1074` (the smallest subnormal).
pub fn exact_units(x: f64) -> BigInt {
    assert!(x.is_finite(), "exact_units({x})");
    let bits = x.to_bits();
    let field = ((bits >> 52) & 0x7ff) as u32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, shift) = if field == 0 {
        (frac, 0)
    } else {
        (frac | (1u64 << 52), field - 1)
    };
    let v = BigInt::from(m) << shift;
    if bits >> 63 == 1 {
        -v
    } else {
        v
    }
}

/// The exact squared Euclidean distance from point `p` to the box `[min, max]` (0 inside), as
/// an integer in units of `2^-2148`: per axis the exact gap (big-integer difference of the
/// exact coordinates), squared, summed. No floating-point arithmetic at all.
pub fn exact_dist2(p: &[f64], min: &[f64], max: &[f64]) -> BigUint {
    let mut s = BigInt::from(0u32);
    for a in 0..p.len() {
        let c = if p[a] < min[a] {
            min[a]
        } else if p[a] > max[a] {
            max[a]
        } else {
            continue;
        };
        let g = exact_units(c) - exact_units(p[a]);
        s += &g * &g;
    }
    s.to_biguint().expect("a sum of squares is not negative")
}

/// `sqrt(s · 2^-2148)` rounded to `f64` to about 1e-15 relative (the Euclidean distance of an
/// [`exact_dist2`] value), or `f64::INFINITY` when above `f64::MAX`.
pub fn exact_distance_f64(s: &BigUint) -> f64 {
    let b = s.bits() as i64;
    if b == 0 {
        return 0.0;
    }
    // s ≈ t · 2^(b − 64) with t the top 64 bits.
    let t = if b > 64 {
        let top: BigUint = s >> (b - 64) as usize;
        top.to_u64_digits()[0]
    } else {
        s.to_u64_digits()[0] << (64 - b)
    };
    let mut e = b - 64 - 2148;
    let mut m = t as f64;
    if e % 2 != 0 {
        m *= 2.0;
        e -= 1;
    }
    // sqrt(m) · 2^(e / 2), the power taken in four steps so that no step over- or underflows.
    let half = e / 2;
    let q = half / 4;
    let r = half - 3 * q;
    m.sqrt() * 2f64.powi(q as i32) * 2f64.powi(q as i32) * 2f64.powi(q as i32) * 2f64.powi(r as i32)
}

// ---------------------------------------------------------------------------------------------
// Brute-force oracle
// ---------------------------------------------------------------------------------------------

/// A flat list of records with the coordinates the index stores, queried by full scans.
#[derive(Debug, Clone)]
pub struct BruteForce {
    dim: usize,
    precision: u32,
    ids: Vec<u64>,
    mins: Vec<f64>,
    maxs: Vec<f64>,
}

impl BruteForce {
    /// An empty oracle for `dim` dimensions stored with `precision` bits (32 or 64).
    pub fn new(dim: usize, precision: u32) -> Self {
        assert!(precision == 32 || precision == 64, "precision {precision}");
        BruteForce {
            dim,
            precision,
            ids: Vec::new(),
            mins: Vec::new(),
            maxs: Vec::new(),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Record `i` (in storage order, which deletes shuffle) as `(row id, min, max)`.
    pub fn record(&self, i: usize) -> (u64, &[f64], &[f64]) {
        let d = self.dim;
        (
            self.ids[i],
            &self.mins[i * d..(i + 1) * d],
            &self.maxs[i * d..(i + 1) * d],
        )
    }

    /// Like `Index::insert`: the box rounded outward at precision 32.
    pub fn insert(&mut self, id: u64, min: &[f64], max: &[f64]) {
        assert_eq!(min.len(), self.dim);
        assert_eq!(max.len(), self.dim);
        self.ids.push(id);
        let p = self.precision;
        self.mins.extend(min.iter().map(|&v| store_min(p, v)));
        self.maxs.extend(max.iter().map(|&v| store_max(p, v)));
    }

    /// Like `Index::insert_point`: the point rounded to nearest at precision 32.
    pub fn insert_point(&mut self, id: u64, point: &[f64]) {
        assert_eq!(point.len(), self.dim);
        self.ids.push(id);
        let p = self.precision;
        self.mins.extend(point.iter().map(|&v| store_point(p, v)));
        self.maxs.extend(point.iter().map(|&v| store_point(p, v)));
    }

    /// Removes one record with this id and exactly this stored box (the box is converted as
    /// `insert` converts it); returns whether one existed.
    pub fn delete(&mut self, id: u64, min: &[f64], max: &[f64]) -> bool {
        let p = self.precision;
        let smin: Vec<f64> = min.iter().map(|&v| store_min(p, v)).collect();
        let smax: Vec<f64> = max.iter().map(|&v| store_max(p, v)).collect();
        self.delete_stored(id, &smin, &smax)
    }

    /// Removes one record with this id and exactly this point (converted as `insert_point`).
    pub fn delete_point(&mut self, id: u64, point: &[f64]) -> bool {
        let p = self.precision;
        let s: Vec<f64> = point.iter().map(|&v| store_point(p, v)).collect();
        self.delete_stored(id, &s, &s)
    }

    fn delete_stored(&mut self, id: u64, smin: &[f64], smax: &[f64]) -> bool {
        let d = self.dim;
        let found = (0..self.ids.len()).find(|&i| {
            self.ids[i] == id
                && self.mins[i * d..(i + 1) * d] == *smin
                && self.maxs[i * d..(i + 1) * d] == *smax
        });
        let Some(i) = found else { return false };
        let last = self.ids.len() - 1;
        self.ids.swap(i, last);
        for a in 0..d {
            self.mins.swap(i * d + a, last * d + a);
            self.maxs.swap(i * d + a, last * d + a);
        }
        self.ids.pop();
        self.mins.truncate(last * d);
        self.maxs.truncate(last * d);
        true
    }

    /// The ids of all records matching the query, sorted (with repeats for repeated records).
    pub fn search(&self, ty: SearchType, qmin: &[f64], qmax: &[f64]) -> Vec<u64> {
        let d = self.dim;
        let mut out: Vec<u64> = (0..self.ids.len())
            .filter(|&i| {
                matches(
                    ty,
                    &self.mins[i * d..(i + 1) * d],
                    &self.maxs[i * d..(i + 1) * d],
                    qmin,
                    qmax,
                )
            })
            .map(|i| self.ids[i])
            .collect();
        out.sort_unstable();
        out
    }

    /// The number of records matching the query.
    pub fn count(&self, ty: SearchType, qmin: &[f64], qmax: &[f64]) -> u64 {
        let d = self.dim;
        (0..self.ids.len())
            .filter(|&i| {
                matches(
                    ty,
                    &self.mins[i * d..(i + 1) * d],
                    &self.maxs[i * d..(i + 1) * d],
                    qmin,
                    qmax,
                )
            })
            .count() as u64
    }

    /// The `k` nearest records as `(row id, squared distance)`, ordered by the exact distance
    /// ([`BruteForce::nearest_exact`]) and then by row id (unsigned), as `Index::nearest`
    /// orders them. The squared distance given is the plain `f64` formula
    /// ([`dist2_point_box`], for comparing with peers such as rstar); it may overflow or
    /// underflow at numeric extremes, the order does not.
    pub fn nearest(&self, point: &[f64], k: usize) -> Vec<(u64, f64)> {
        let d = self.dim;
        self.nearest_exact_idx(point, k)
            .into_iter()
            .map(|(i, _)| {
                let d2 = dist2_point_box(
                    point,
                    &self.mins[i * d..(i + 1) * d],
                    &self.maxs[i * d..(i + 1) * d],
                );
                (self.ids[i], d2)
            })
            .collect()
    }

    /// The `k` nearest records as `(row id, exact squared distance in units of 2^-2148)`,
    /// ordered by that distance and then by row id.
    pub fn nearest_exact(&self, point: &[f64], k: usize) -> Vec<(u64, BigUint)> {
        self.nearest_exact_idx(point, k)
            .into_iter()
            .map(|(i, s)| (self.ids[i], s))
            .collect()
    }

    /// Storage positions and exact squared distances of the `k` nearest.
    fn nearest_exact_idx(&self, point: &[f64], k: usize) -> Vec<(usize, BigUint)> {
        let d = self.dim;
        let mut all: Vec<(usize, BigUint)> = (0..self.ids.len())
            .map(|i| {
                let s = exact_dist2(
                    point,
                    &self.mins[i * d..(i + 1) * d],
                    &self.maxs[i * d..(i + 1) * d],
                );
                (i, s)
            })
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1).then(self.ids[a.0].cmp(&self.ids[b.0])));
        all.truncate(k);
        all
    }

    /// The squared distance from `point` to the nearest record with row id `id`, if any (for
    /// turning `Index::nearest` ids into distances when ids are unique).
    pub fn dist2_of(&self, point: &[f64], id: u64) -> Option<f64> {
        let d = self.dim;
        (0..self.ids.len())
            .filter(|&i| self.ids[i] == id)
            .map(|i| {
                dist2_point_box(
                    point,
                    &self.mins[i * d..(i + 1) * d],
                    &self.maxs[i * d..(i + 1) * d],
                )
            })
            .min_by(|a, b| a.total_cmp(b))
    }
}

// ---------------------------------------------------------------------------------------------
// Small conveniences
// ---------------------------------------------------------------------------------------------

/// The seed for randomised tests: `XTREE_TEST_SEED` if set (decimal or 0x-hex), else `default`.
pub fn test_seed(default: u64) -> u64 {
    match std::env::var("XTREE_TEST_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = if let Some(hex) = s.strip_prefix("0x") {
                u64::from_str_radix(hex, 16)
            } else {
                s.parse()
            };
            parsed.unwrap_or_else(|_| panic!("XTREE_TEST_SEED={s:?} is not a u64"))
        }
        Err(_) => default,
    }
}

/// Labels `x0, x1, ...` for `dim` dimensions.
pub fn labels(dim: usize) -> Vec<String> {
    (0..dim).map(|i| format!("x{i}")).collect()
}

/// `None` if the sorted id lists are equal, else a short description: lengths and up to 20
/// ids missing from `got` and 20 extra in it (multiset difference).
pub fn sorted_ids_diff(got: &[u64], want: &[u64]) -> Option<String> {
    if got == want {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    while i < got.len() || j < want.len() {
        match (got.get(i), want.get(j)) {
            (Some(g), Some(w)) if g == w => {
                i += 1;
                j += 1;
            }
            (Some(g), Some(w)) if g < w => {
                extra.push(*g);
                i += 1;
            }
            (Some(g), None) => {
                extra.push(*g);
                i += 1;
            }
            (_, Some(w)) => {
                missing.push(*w);
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    Some(format!(
        "got {} ids, want {}; missing {} (first: {:?}), extra {} (first: {:?})",
        got.len(),
        want.len(),
        missing.len(),
        &missing[..missing.len().min(20)],
        extra.len(),
        &extra[..extra.len().min(20)]
    ))
}

/// `None` if the sequences are equal, else lengths and the first differing position with a
/// few elements of context from each.
pub fn seq_diff<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T]) -> Option<String> {
    if got == want {
        return None;
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let from = first.saturating_sub(2);
    Some(format!(
        "got {} items, want {}; first difference at {first}: got[{from}..] = {:?}, want[{from}..] = {:?}",
        got.len(),
        want.len(),
        &got[from..got.len().min(first + 5)],
        &want[from..want.len().min(first + 5)]
    ))
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`, 4 KiB pages).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages in /proc/self/statm");
    pages * 4096
}

// ---------------------------------------------------------------------------------------------
// Directory contents, for tests that a reader changes no file
// ---------------------------------------------------------------------------------------------

/// Every file of a directory (recursively): relative name → (bytes, modification time);
/// a subdirectory appears as `name/` with no bytes.
pub type Files = BTreeMap<String, (Vec<u8>, SystemTime)>;

/// The files of `dir` now (see [`Files`]).
pub fn files(dir: &Path) -> Files {
    let mut out = Files::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let name = e.file_name().into_string().unwrap();
        if m.is_dir() {
            for (n, v) in files(&e.path()) {
                out.insert(format!("{name}/{n}"), v);
            }
            out.insert(format!("{name}/"), (vec![], m.modified().unwrap()));
        } else {
            out.insert(
                name,
                (
                    std::fs::read(e.path()).unwrap_or_default(),
                    m.modified().unwrap(),
                ),
            );
        }
    }
    out
}

/// Asserts that `dir` holds exactly the files of `before`, with the same bytes and
/// modification times; `ctx` names the case in the message.
pub fn assert_unchanged(before: &Files, dir: &Path, ctx: &str) {
    let after = files(dir);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{ctx}: names changed"
    );
    for (k, (b, m)) in before {
        assert!(after[k].0 == *b, "{ctx}: bytes of {k} changed");
        assert_eq!(after[k].1, *m, "{ctx}: mtime of {k} changed");
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmark reporting
// ---------------------------------------------------------------------------------------------

/// The median of `v` (the upper one of an even count). Panics on an empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// The 1, 5 and 15 minute load averages, for judging the noise of a run on a shared machine.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}
