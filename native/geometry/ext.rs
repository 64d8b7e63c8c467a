//! Extended-range arithmetic for MBR measures: a nonnegative real held as an `f64` mantissa in
//! `[1, 2)` and an `i32` binary exponent, so that products of up to 255 extents, sums of such
//! products and their differences neither overflow to infinity nor underflow to zero for any
//! finite coordinates (DESIGN.md §2).
//!
//! Rounding: every operation rounds its mantissa once, as the same operation in `f64` would if
//! `f64` had an unbounded exponent; scaling by a power of two never rounds. So a computation in
//! [`Ext`] gives the value the plain `f64` computation gives whenever the latter neither
//! overflows nor underflows, times the same power of two when the inputs are all scaled by one.
//! That makes the tree's decisions invariant under scaling the data by `2^k`.

use std::cmp::Ordering;

/// `2^e` for `e` in the normal exponent range `-1022..=1023`.
#[inline]
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `x · 2^n`, exact unless the result is subnormal or out of range (then rounded once, or
/// infinite). The algorithm of C's `scalbn` (musl): up to three multiplications by powers of
/// two, each exact until the last.
pub fn scalbn(mut x: f64, mut n: i32) -> f64 {
    if n > 1023 {
        x *= pow2(1023);
        n -= 1023;
        if n > 1023 {
            x *= pow2(1023);
            n -= 1023;
            n = n.min(1023);
        }
    } else if n < -1022 {
        // 2^-1022 · 2^53: stays normal so the last step rounds once.
        x *= pow2(-1022 + 53);
        n += 1022 - 53;
        if n < -1022 {
            x *= pow2(-1022 + 53);
            n += 1022 - 53;
            n = n.max(-1022);
        }
    }
    x * pow2(n)
}

/// `x` (finite, `x >= 0`) as `(mantissa in [1, 2), exponent)`; `None` for zero.
#[inline]
pub fn frexp(x: f64) -> Option<(f64, i32)> {
    let bits = x.to_bits() & !(1u64 << 63);
    let field = (bits >> 52) as i32;
    if field == 0 {
        if bits == 0 {
            return None;
        }
        // Subnormal: scale into the normal range first (exact).
        let (m, e) = frexp(x.abs() * pow2(64))?;
        return Some((m, e - 64));
    }
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    Some((m, field - 1023))
}

/// A nonnegative real `m · 2^e` with `m` in `[1, 2)`, or zero (`m == 0`). See the module doc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ext {
    m: f64,
    e: i32,
}

impl Ext {
    /// Zero.
    pub const ZERO: Ext = Ext { m: 0.0, e: 0 };
    /// One.
    pub const ONE: Ext = Ext { m: 1.0, e: 0 };

    /// The exact value of a finite `x >= 0` (negative values and NaN count as zero).
    #[inline]
    pub fn from_f64(x: f64) -> Ext {
        if x.is_nan() || x <= 0.0 {
            return Ext::ZERO;
        }
        match frexp(x) {
            Some((m, e)) => Ext { m, e },
            None => Ext::ZERO,
        }
    }

    /// `m · 2^e` for a finite `m >= 0` (normalised here; exact).
    #[inline]
    pub fn from_parts(m: f64, e: i32) -> Ext {
        Ext::normalised(m, e)
    }

    /// `m' · 2^e` from any finite nonnegative `m'` (normalised here).
    #[inline]
    fn normalised(m: f64, e: i32) -> Ext {
        match frexp(m) {
            Some((m, k)) => Ext {
                m,
                e: e.saturating_add(k),
            },
            None => Ext::ZERO,
        }
    }

    /// True for zero.
    #[inline]
    pub fn is_zero(self) -> bool {
        self.m == 0.0
    }

    /// The mantissa in `[1, 2)` (0 for zero).
    #[inline]
    pub fn mantissa(self) -> f64 {
        self.m
    }

    /// The binary exponent (0 for zero).
    #[inline]
    pub fn exponent(self) -> i32 {
        self.e
    }

    /// The nearest `f64`; values above `f64::MAX` give `+inf`, values below the smallest
    /// subnormal give 0.
    pub fn to_f64(self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        scalbn(self.m, self.e.clamp(-1200, 1200))
    }

    /// `self · o`, rounded once.
    #[inline]
    pub fn times(self, o: Ext) -> Ext {
        let m = self.m * o.m;
        if m == 0.0 {
            return Ext::ZERO;
        }
        let e = self.e.saturating_add(o.e);
        if m >= 2.0 {
            Ext {
                m: m * 0.5,
                e: e.saturating_add(1),
            }
        } else {
            Ext { m, e }
        }
    }

    /// `self / o` (`o` nonzero; zero when `o` is zero), rounded once.
    #[inline]
    pub fn over(self, o: Ext) -> Ext {
        if self.is_zero() || o.is_zero() {
            return Ext::ZERO;
        }
        let m = self.m / o.m;
        let e = self.e.saturating_sub(o.e);
        if m < 1.0 {
            Ext {
                m: m * 2.0,
                e: e.saturating_sub(1),
            }
        } else {
            Ext { m, e }
        }
    }

    /// `self + o`, rounded once (the smaller operand aligned to the larger one's exponent).
    #[inline]
    pub fn plus(self, o: Ext) -> Ext {
        let (big, small) = if self.cmp_value(o).is_ge() {
            (self, o)
        } else {
            (o, self)
        };
        if small.is_zero() {
            return big;
        }
        let shift = small.e.saturating_sub(big.e).max(-1100);
        Ext::normalised(big.m + scalbn(small.m, shift), big.e)
    }

    /// `max(self − o, 0)`, rounded once.
    #[inline]
    pub fn minus(self, o: Ext) -> Ext {
        if o.is_zero() {
            return self;
        }
        if self.cmp_value(o).is_le() {
            return Ext::ZERO;
        }
        let shift = o.e.saturating_sub(self.e).max(-1100);
        Ext::normalised(self.m - scalbn(o.m, shift), self.e)
    }

    /// Order of the values.
    #[inline]
    pub fn cmp_value(self, o: Ext) -> Ordering {
        match (self.is_zero(), o.is_zero()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self.e.cmp(&o.e).then(self.m.total_cmp(&o.m)),
        }
    }
}

impl PartialOrd for Ext {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp_value(*o))
    }
}

/// The length `hi − lo` of the interval `[lo, hi]` (finite, `lo <= hi`) in extended range: the
/// `f64` difference, or, when that overflows (an interval longer than `f64::MAX`), the
/// difference of the halves times two. Rounded once either way.
#[inline]
pub fn extent(lo: f64, hi: f64) -> Ext {
    let d = hi - lo;
    if d < f64::INFINITY {
        return Ext::from_f64(d);
    }
    let h = Ext::from_f64(hi * 0.5 - lo * 0.5);
    Ext { m: h.m, e: h.e + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_and_scalbn_round_trip() {
        for &x in &[
            1.0,
            3.0,
            0.1,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1e-310,
            1e300,
        ] {
            let (m, e) = frexp(x).unwrap();
            assert!((1.0..2.0).contains(&m), "{x}");
            assert_eq!(scalbn(m, e), x, "{x}");
        }
        assert_eq!(frexp(0.0), None);
        assert_eq!(scalbn(1.0, -1074), 5e-324);
        assert_eq!(scalbn(1.0, 2000), f64::INFINITY);
        assert_eq!(
            scalbn(f64::MAX, -2000),
            f64::MAX * 2f64.powi(-1000) * 2f64.powi(-1000)
        );
        assert_eq!(scalbn(f64::MAX, -2100), 0.0);
        assert_eq!(scalbn(5e-324, 2000), 2f64.powi(926));
    }

    #[test]
    fn products_and_sums_keep_range() {
        // 255 extents of 1e300: 1e76500, far above f64::MAX.
        let big = (0..255).fold(Ext::ONE, |a, _| a.times(Ext::from_f64(1e300)));
        let bigger = big.times(Ext::from_f64(2.0));
        assert!(big < bigger);
        assert_eq!(bigger.to_f64(), f64::INFINITY);
        // 255 extents of 1e-300: far below the smallest subnormal, still ordered.
        let tiny = (0..255).fold(Ext::ONE, |a, _| a.times(Ext::from_f64(1e-300)));
        let tinier = tiny.times(Ext::from_f64(0.5));
        assert!(Ext::ZERO < tinier && tinier < tiny);
        assert_eq!(tiny.plus(tiny), tiny.times(Ext::from_f64(2.0)));
        assert_eq!(bigger.minus(big), big);
        assert_eq!(big.minus(bigger), Ext::ZERO);
        assert_eq!(tiny.plus(big), big);
        let q = big.over(tiny).exponent() - (big.exponent() - tiny.exponent());
        assert!(q == 0 || q == -1, "{q}");
    }

    #[test]
    fn matches_f64_when_in_range() {
        let xs = [3.7, 0.001, 12345.678, 1.0 / 3.0, 2.5e-5];
        let mut f = 1.0f64;
        let mut x = Ext::ONE;
        for &v in &xs {
            f *= v;
            x = x.times(Ext::from_f64(v));
            assert_eq!(x.to_f64(), f);
        }
        let a = Ext::from_f64(10.25).plus(Ext::from_f64(0.1));
        assert_eq!(a.to_f64(), 10.25 + 0.1);
        assert_eq!(
            Ext::from_f64(10.25).minus(Ext::from_f64(0.1)).to_f64(),
            10.25 - 0.1
        );
    }

    #[test]
    fn extent_of_the_whole_line() {
        let e = extent(-f64::MAX, f64::MAX);
        assert_eq!(e.exponent(), 1024);
        assert_eq!(e.mantissa(), f64::MAX / 2f64.powi(1023));
        assert_eq!(extent(0.0, 5e-324).to_f64(), 5e-324);
        assert!(extent(1.0, 1.0).is_zero());
    }
}
