//! Stored coordinate types: `f32` for precision 32 and `f64` for precision 64 (DESIGN.md §2).
//!
//! Input always arrives as `f64`. A precision-32 index stores points rounded to the nearest
//! `f32` and boxes rounded outward, so the stored box contains the input box. Queries convert
//! their bounds with the rounding direction that keeps the comparison against stored values exact:
//! `stored <= b` ⇔ `stored <= down(b)` and `stored >= b` ⇔ `stored >= up(b)`.

use bytemuck::Pod;

/// A stored coordinate type. Implemented for `f32` and `f64` only.
pub trait Coord: Pod + PartialOrd + Send + Sync + std::fmt::Debug + 'static {
    /// Bytes per coordinate (4 or 8).
    const BYTES: usize;
    /// Precision in bits as named by the API (32 or 64).
    const PRECISION: u32;
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// Exact widening to `f64`.
    fn to_f64(self) -> f64;
    /// The nearest representable value (round half to even).
    fn nearest(x: f64) -> Self;
    /// The largest representable value `<= x` (`x` not NaN).
    fn down(x: f64) -> Self;
    /// The smallest representable value `>= x` (`x` not NaN).
    fn up(x: f64) -> Self;
    /// `min(self, other)` for non-NaN values.
    #[inline]
    fn min_c(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    /// `max(self, other)` for non-NaN values.
    #[inline]
    fn max_c(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl Coord for f64 {
    const BYTES: usize = 8;
    const PRECISION: u32 = 64;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn nearest(x: f64) -> Self {
        x
    }
    #[inline]
    fn down(x: f64) -> Self {
        x
    }
    #[inline]
    fn up(x: f64) -> Self {
        x
    }
}

impl Coord for f32 {
    const BYTES: usize = 4;
    const PRECISION: u32 = 32;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn nearest(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn down(x: f64) -> Self {
        let f = x as f32;
        if (f as f64) > x {
            next_down_f32(f)
        } else {
            f
        }
    }
    #[inline]
    fn up(x: f64) -> Self {
        let f = x as f32;
        if (f as f64) < x {
            next_up_f32(f)
        } else {
            f
        }
    }
}

/// The next `f32` toward negative infinity (`f` not NaN).
fn next_down_f32(f: f32) -> f32 {
    if f == f32::NEG_INFINITY {
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

/// The next `f32` toward positive infinity (`f` not NaN).
fn next_up_f32(f: f32) -> f32 {
    -next_down_f32(-f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_directed_rounding_brackets_the_input() {
        let samples = [
            0.1f64,
            -0.1,
            1.0 / 3.0,
            -1.0 / 3.0,
            1e-45,
            -1e-45,
            0.0,
            1e300,
            -1e300,
            741.564_880_123,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &x in &samples {
            let d = f32::down(x);
            let u = f32::up(x);
            assert!((d as f64) <= x, "down({x}) = {d}");
            assert!((u as f64) >= x, "up({x}) = {u}");
            if x.is_finite() && x.abs() < f32::MAX as f64 {
                assert!(u == d || next_up_f32(d) == u, "down/up of {x} not adjacent");
            }
        }
        assert_eq!(f32::down(1e300), f32::MAX);
        assert_eq!(f32::up(-1e300), -f32::MAX);
        assert_eq!(f32::down(0.5), 0.5);
        assert_eq!(f32::up(0.5), 0.5);
    }
}
