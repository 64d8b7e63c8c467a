//! Squared Euclidean distances from a query point to boxes, ranked exactly for every finite
//! input (DESIGN.md §2: no distance computation may overflow or underflow in a way that changes
//! an order).
//!
//! A squared distance `S = Σ δ_a²` of finite coordinates lies in `[2^-2148, 2^2059]`, beyond the
//! range of `f64`. Ranking uses three tiers:
//!
//! 1. **Fast key.** `Ŝ`, the plain `f64` sum `Σ fl(δ_a)²` in axis order. When
//!    `2^-960 <= Ŝ < +inf` no step overflowed and underflow lost at most `d · 2^-1075`, so
//!    `|Ŝ − S| <= ((d + 3) · 2^-53) · S` (Higham, *Accuracy and Stability of Numerical
//!    Algorithms*, §3.1 and §4.2: `γ_{d+2}` for `d` products and `d − 1` sums, plus the underflow
//!    term, which is below `2^-105 · S` there). The key is `Ŝ`'s bit pattern itself (positive
//!    `f64` bits are monotone in the value): one range check on the hot path, and lossless, so
//!    the reported distance is `sqrt(Ŝ)`, bit for bit the plain formula.
//! 2. **Extended key.** Otherwise `S` is recomputed in [`Ext`] (differences that would overflow
//!    are taken on halves, squares and sums in extended range) with the same error bound, and
//!    encoded with a 47-bit mantissa below (tiny distances: `[1, 2^-960)` of the key space) or
//!    above (huge ones: from the bits of `+inf` up) the fast keys, or as `f64` bits when it lands
//!    in the fast range. Zero is key 0 and only exact zero is.
//! 3. **Exact comparison.** Keys are monotone in the represented value, and a relative error
//!    `ε = (d + 3) · 2^-53 + 2^-47` (computation plus truncation) moves a key by at most
//!    `2.1 · ε · 2^53 + 2` steps. So `key(a) + margin(d) < key(b)`, with
//!    [`margin`]` = 3d + 150`, proves `S_a < S_b`. Keys closer than that (relative difference
//!    below about `10^-14`) are compared exactly by [`cmp_exact`]: `δ² = c² − 2cx + x²` summed
//!    as integers in a fixed-point accumulator of 4288 bits (every product of two `f64` is an
//!    integer multiple of `2^-2148`; Shewchuk, "Adaptive precision floating-point arithmetic and
//!    fast robust geometric predicates", DCG 1997, for the filter-then-exact pattern).
//!
//! Precision 32 coordinates widen to `f64` exactly, so one implementation serves both.

use std::cmp::Ordering;

use super::ext::{extent, scalbn, Ext};

/// A monotone key of a squared distance; see the module doc.
pub type DistKey = u64;

/// Least exponent of the fast range: `Ŝ >= 2^FAST_MIN_EXP` takes the fast key.
const FAST_MIN_EXP: i32 = -960;
/// Bits of `2^FAST_MIN_EXP`: the first fast key (fast keys are the bits of `Ŝ` themselves).
const FAST_MIN_BITS: u64 = ((FAST_MIN_EXP + 1023) as u64) << 52;
/// Bits of `+inf`: the first key above the fast range.
const HIGH_BASE: u64 = 0x7ff0_0000_0000_0000;
/// Least exponent the low range encodes (smallest nonzero `S` is `2^-2148`).
const LOW_MIN_EXP: i32 = -2200;
/// Largest exponent the high range encodes (largest `S` is below `2^2059`).
const HIGH_MAX_EXP: i32 = 2200;
/// Mantissa bits kept outside the fast range: `(1240 binades) << 47` keys fit below
/// `FAST_MIN_BITS`, `(1177 binades) << 47` above `HIGH_BASE`.
const EXT_BITS: u32 = 47;

/// Keys further apart than this are ordered as their values for dimension `d` (module doc).
/// Every key is below `2^63 + 2^58`, so `key + margin(d)` never overflows.
#[inline]
pub fn margin(d: usize) -> u64 {
    3 * d as u64 + 150
}

/// `|c − x|` where `x` lies outside `[lo, hi]` at `c`, or `None` inside.
#[inline]
fn gap(x: f64, lo: f64, hi: f64) -> Option<f64> {
    if x < lo {
        Some(lo)
    } else if x > hi {
        Some(hi)
    } else {
        None
    }
}

/// The key of `S` given per axis by `bounds(a) = (lo, hi)` from point `p`.
#[inline(always)]
pub fn key(p: &[f64], bounds: impl Fn(usize) -> (f64, f64)) -> DistKey {
    let mut s = 0.0;
    for (a, &x) in p.iter().enumerate() {
        let (lo, hi) = bounds(a);
        let t = if x < lo {
            lo - x
        } else if x > hi {
            x - hi
        } else {
            0.0
        };
        s += t * t;
    }
    // `s` is +0.0, positive or +inf: one unsigned range check on its bits.
    let bits = s.to_bits();
    if bits.wrapping_sub(FAST_MIN_BITS) < HIGH_BASE - FAST_MIN_BITS {
        return bits;
    }
    slow_key(p, bounds)
}

/// The keys of `count` boxes at once, `out[i] = key(p, |a| (lo(a)[i], hi(a)[i]))` bit for bit:
/// the same per-axis gaps summed in the same axis order as [`key`], but axis by axis over the
/// contiguous bound arrays of a node (structure of arrays), so that the compiler vectorises
/// the gaps, squares and sums; entries outside the fast range then take [`key`]'s other tiers
/// one by one. `acc` is scratch (its contents are replaced). `lo(a)` and `hi(a)` give axis
/// `a`'s lower and upper bounds of the boxes, at least `count` of each, widened to `f64`
/// exactly by `widen`.
#[inline]
pub fn keys_into<'c, C: Copy + 'c>(
    p: &[f64],
    count: usize,
    lo: impl Fn(usize) -> &'c [C],
    hi: impl Fn(usize) -> &'c [C],
    widen: impl Fn(C) -> f64 + Copy,
    acc: &mut Vec<f64>,
    out: &mut Vec<DistKey>,
) {
    acc.clear();
    acc.resize(count, 0.0);
    for (a, &x) in p.iter().enumerate() {
        let (l, h) = (&lo(a)[..count], &hi(a)[..count]);
        for ((s, &l), &h) in acc.iter_mut().zip(l).zip(h) {
            // max(l − x, x − h, 0): for l <= h exactly `key`'s gap (at most one of the two
            // differences is positive), as selects rather than branches.
            let (below, above) = (widen(l) - x, x - widen(h));
            let t = if below > above { below } else { above };
            let t = if t > 0.0 { t } else { 0.0 };
            *s += t * t;
        }
    }
    out.clear();
    out.extend(acc.iter().map(|s| s.to_bits()));
    for (i, k) in out.iter_mut().enumerate() {
        if k.wrapping_sub(FAST_MIN_BITS) >= HIGH_BASE - FAST_MIN_BITS {
            *k = slow_key(p, |a| (widen(lo(a)[i]), widen(hi(a)[i])));
        }
    }
}

/// The extended-range tier of [`key`].
#[cold]
#[inline(never)]
fn slow_key(p: &[f64], bounds: impl Fn(usize) -> (f64, f64)) -> DistKey {
    let mut s = Ext::ZERO;
    for (a, &x) in p.iter().enumerate() {
        let (lo, hi) = bounds(a);
        let t = if x < lo {
            extent(x, lo)
        } else if x > hi {
            extent(hi, x)
        } else {
            continue;
        };
        s = s.plus(t.times(t));
    }
    encode(s)
}

/// The key of an extended-range value.
fn encode(s: Ext) -> DistKey {
    if s.is_zero() {
        return 0;
    }
    let e = s.exponent();
    let frac = s.mantissa().to_bits() & ((1u64 << 52) - 1);
    if e < FAST_MIN_EXP {
        let e = e.max(LOW_MIN_EXP);
        1 + (((e - LOW_MIN_EXP) as u64) << EXT_BITS | frac >> (52 - EXT_BITS))
    } else if e <= 1023 {
        (((e + 1023) as u64) << 52) | frac
    } else {
        let e = e.min(HIGH_MAX_EXP);
        HIGH_BASE + (((e - 1024) as u64) << EXT_BITS | frac >> (52 - EXT_BITS))
    }
}

/// The value a key stands for.
pub fn decode(k: DistKey) -> Ext {
    let ext = |off: u64, e0: i32| {
        let frac = (off & ((1u64 << EXT_BITS) - 1)) << (52 - EXT_BITS);
        Ext::from_parts(
            f64::from_bits((1023u64 << 52) | frac),
            e0 + (off >> EXT_BITS) as i32,
        )
    };
    if k == 0 {
        Ext::ZERO
    } else if k < FAST_MIN_BITS {
        ext(k - 1, LOW_MIN_EXP)
    } else if k < HIGH_BASE {
        Ext::from_f64(f64::from_bits(k))
    } else {
        ext(k - HIGH_BASE, 1024)
    }
}

/// The Euclidean distance a key stands for, rounded to `f64`: `sqrt(Ŝ)` for fast keys (the
/// plain formula), and for distances above `f64::MAX` (possible only beyond `±f64::MAX / 2`),
/// `f64::MAX`.
pub fn distance(k: DistKey) -> f64 {
    if (FAST_MIN_BITS..HIGH_BASE).contains(&k) {
        return f64::from_bits(k).sqrt();
    }
    let s = decode(k);
    if s.is_zero() {
        return 0.0;
    }
    // sqrt(m · 2^e) = sqrt(m · 2^(e mod 2)) · 2^(e div 2).
    let (m, e) = (s.mantissa(), s.exponent());
    let (m, e) = if e.rem_euclid(2) == 1 {
        (m * 2.0, e - 1)
    } else {
        (m, e)
    };
    let r = scalbn(m.sqrt(), e / 2);
    if r < f64::INFINITY {
        r
    } else {
        f64::MAX
    }
}

/// Limbs of the exact accumulator: bits `2^-2148 ..` up to past `2^2060` plus a sign.
const LIMBS: usize = 67;
/// Bit position of `2^0` in the accumulator.
const ACC_BIAS: i32 = 2 * 1074;

/// A two's-complement fixed-point integer in units of `2^-2148`.
struct Acc([u64; LIMBS]);

/// `|x| = m · 2^e` with `m < 2^53` an integer; `(m, e, negative)`.
#[inline]
fn split(x: f64) -> (u64, i32, bool) {
    let bits = x.to_bits();
    let field = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let neg = bits >> 63 == 1;
    if field == 0 {
        (frac, -1074, neg)
    } else {
        (frac | (1u64 << 52), field - 1075, neg)
    }
}

impl Acc {
    fn new() -> Self {
        Acc([0; LIMBS])
    }

    /// `acc += sign · 2^twice · x · y` (`x`, `y` finite), exactly.
    fn add_product(&mut self, x: f64, y: f64, twice: bool, negate: bool) {
        let (mx, ex, nx) = split(x);
        let (my, ey, ny) = split(y);
        if mx == 0 || my == 0 {
            return;
        }
        let prod = mx as u128 * my as u128; // < 2^106
        let pos = (ex + ey + ACC_BIAS + i32::from(twice)) as usize;
        let (limb, off) = (pos / 64, (pos % 64) as u32);
        let (lo, hi) = (prod as u64, (prod >> 64) as u64);
        let words = if off == 0 {
            [lo, hi, 0]
        } else {
            [
                lo << off,
                (hi << off) | (lo >> (64 - off)),
                hi >> (64 - off),
            ]
        };
        if nx ^ ny ^ negate {
            let mut borrow = false;
            for (j, w) in words.iter().enumerate() {
                let (v, b1) = self.0[limb + j].overflowing_sub(*w);
                let (v, b2) = v.overflowing_sub(u64::from(borrow));
                self.0[limb + j] = v;
                borrow = b1 || b2;
            }
            let mut j = limb + 3;
            while borrow && j < LIMBS {
                let (v, b) = self.0[j].overflowing_sub(1);
                self.0[j] = v;
                borrow = b;
                j += 1;
            }
        } else {
            let mut carry = false;
            for (j, w) in words.iter().enumerate() {
                let (v, c1) = self.0[limb + j].overflowing_add(*w);
                let (v, c2) = v.overflowing_add(u64::from(carry));
                self.0[limb + j] = v;
                carry = c1 || c2;
            }
            let mut j = limb + 3;
            while carry && j < LIMBS {
                let (v, c) = self.0[j].overflowing_add(1);
                self.0[j] = v;
                carry = c;
                j += 1;
            }
        }
    }

    /// `acc += sign · (c − x)²`.
    fn add_square_gap(&mut self, c: f64, x: f64, negate: bool) {
        self.add_product(c, c, false, negate);
        self.add_product(x, x, false, negate);
        self.add_product(c, x, true, !negate);
    }

    fn sign(&self) -> Ordering {
        if self.0[LIMBS - 1] >> 63 == 1 {
            Ordering::Less
        } else if self.0.iter().all(|&w| w == 0) {
            Ordering::Equal
        } else {
            Ordering::Greater
        }
    }
}

/// Exact order of `S_a` and `S_b`, the squared distances from `p` to two boxes given per axis
/// by `a(axis)` and `b(axis)` as `(lo, hi)`.
pub fn cmp_exact(
    p: &[f64],
    a: impl Fn(usize) -> (f64, f64),
    b: impl Fn(usize) -> (f64, f64),
) -> Ordering {
    // Same gaps on every axis (the same box, or boxes that differ only where the point lies
    // inside both): equal without arithmetic.
    let same = p.iter().enumerate().all(|(i, &x)| {
        let (alo, ahi) = a(i);
        let (blo, bhi) = b(i);
        gap(x, alo, ahi).map(f64::to_bits) == gap(x, blo, bhi).map(f64::to_bits)
    });
    if same {
        return Ordering::Equal;
    }
    let mut acc = Acc::new();
    for (i, &x) in p.iter().enumerate() {
        let (alo, ahi) = a(i);
        if let Some(c) = gap(x, alo, ahi) {
            acc.add_square_gap(c, x, false);
        }
        let (blo, bhi) = b(i);
        if let Some(c) = gap(x, blo, bhi) {
            acc.add_square_gap(c, x, true);
        }
    }
    acc.sign()
}

/// Order of two squared distances known by their keys (from the same point, dimension `d`),
/// exact: by key when the keys are more than [`margin`] apart, else by [`cmp_exact`].
#[inline]
pub fn cmp_keys(
    p: &[f64],
    ka: DistKey,
    kb: DistKey,
    a: impl Fn(usize) -> (f64, f64),
    b: impl Fn(usize) -> (f64, f64),
) -> Ordering {
    let m = margin(p.len());
    if ka.saturating_add(m) < kb {
        Ordering::Less
    } else if kb.saturating_add(m) < ka {
        Ordering::Greater
    } else {
        cmp_exact(p, a, b)
    }
}

/// Whether `S_a > S_b` is proven by the keys alone (used to prune: a node whose MINDIST key
/// passes this against the k-th best record cannot hold a record as near).
#[inline]
pub fn surely_greater(ka: DistKey, kb: DistKey, d: usize) -> bool {
    ka > kb.saturating_add(margin(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt_key(p: &[f64], q: &[f64]) -> DistKey {
        key(p, |a| (q[a], q[a]))
    }

    /// The batch kernel gives every box the key [`key`] gives it, bit for bit, across the
    /// whole finite range: zero, subnormal and huge gaps, points and boxes, inside and out.
    #[test]
    fn batch_keys_equal_single_keys() {
        let specials = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-300,
            1.0,
            -1.0,
            3.5,
            1e150,
            -1e160,
            f64::MAX,
            -f64::MAX,
            f64::MAX / 3.0,
        ];
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut pick = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            specials[(state >> 33) as usize % specials.len()]
        };
        for d in [1usize, 2, 3, 7] {
            for _ in 0..200 {
                let count = 1 + (pick().to_bits() % 70) as usize;
                let p: Vec<f64> = (0..d).map(|_| pick()).collect();
                let mut lo = vec![vec![0.0; count]; d];
                let mut hi = vec![vec![0.0; count]; d];
                for a in 0..d {
                    for i in 0..count {
                        let (x, y) = (pick(), pick());
                        // Every third entry a point, the rest boxes with lo <= hi.
                        let (l, h) = if i % 3 == 0 {
                            (x, x)
                        } else {
                            (x.min(y), x.max(y))
                        };
                        lo[a][i] = l;
                        hi[a][i] = h;
                    }
                }
                let (mut acc, mut out) = (Vec::new(), Vec::new());
                keys_into(&p, count, |a| &lo[a], |a| &hi[a], |c| c, &mut acc, &mut out);
                for i in 0..count {
                    let single = key(&p, |a| (lo[a][i], hi[a][i]));
                    assert_eq!(out[i], single, "d={d} entry {i} of p={p:?}");
                }
            }
        }
    }

    #[test]
    fn fast_keys_are_the_plain_formula() {
        let p = [1.0, 2.0];
        let q = [4.0, 6.0];
        let k = pt_key(&p, &q);
        assert_eq!(distance(k), 5.0);
        assert_eq!(decode(k).to_f64(), 25.0);
    }

    #[test]
    fn keys_order_extremes() {
        let o = [0.0];
        let mut keys: Vec<DistKey> = [
            0.0,
            5e-324,
            1e-320,
            1e-170,
            2e-170,
            1e-100,
            1.0,
            1e150,
            1e155,
            2e155,
            1e300,
            f64::MAX,
        ]
        .iter()
        .map(|&x| pt_key(&o, &[x]))
        .collect();
        let sorted = keys.clone();
        keys.sort_unstable();
        assert_eq!(keys, sorted);
        for w in sorted.windows(2) {
            assert!(surely_greater(w[1], w[0], 1), "{w:?}");
        }
        // The longest gap of all: from -MAX to MAX.
        let far = key(&[-f64::MAX], |_| (f64::MAX, f64::MAX));
        assert!(surely_greater(far, pt_key(&o, &[f64::MAX]), 1));
        assert_eq!(distance(far), f64::MAX);
        let d = distance(pt_key(&o, &[2e-170]));
        assert!((d / 2e-170 - 1.0).abs() < 1e-13, "{d}");
        assert_eq!(distance(pt_key(&o, &[5e-324])), 5e-324);
        let d = distance(pt_key(&o, &[1e200]));
        assert!((d / 1e200 - 1.0).abs() < 1e-13, "{d}");
    }

    #[test]
    fn exact_comparison_resolves_near_ties() {
        let p = [0.0, 0.0];
        let q1 = [1.0, 2f64.powi(-30)];
        let q2 = [1.0, 0.0];
        // 1 + 2^-60 vs 1: equal in f64, ordered exactly.
        assert_eq!(pt_key(&p, &q1), pt_key(&p, &q2));
        assert_eq!(
            cmp_keys(
                &p,
                pt_key(&p, &q1),
                pt_key(&p, &q2),
                |a| (q1[a], q1[a]),
                |a| (q2[a], q2[a])
            ),
            Ordering::Greater
        );
        // Exact ties at different coordinates: (3, 4) and (5, 0) from the origin.
        let a = [3.0, 4.0];
        let b = [-5.0, 0.0];
        assert_eq!(
            cmp_exact(&p, |i| (a[i], a[i]), |i| (b[i], b[i])),
            Ordering::Equal
        );
        // Huge and opposite: -MAX to MAX beats -MAX to MAX - ulp.
        let x = [-f64::MAX];
        let m1 = f64::MAX;
        let m2 = f64::from_bits(f64::MAX.to_bits() - 1);
        assert_eq!(cmp_exact(&x, |_| (m1, m1), |_| (m2, m2)), Ordering::Greater);
        // Subnormal gaps.
        assert_eq!(
            cmp_exact(&[0.0], |_| (5e-324, 5e-324), |_| (1e-323, 1e-323)),
            Ordering::Less
        );
    }
}
