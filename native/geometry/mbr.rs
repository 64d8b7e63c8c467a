//! MBR arithmetic on flat slices `[min_0..min_{d-1}, max_0..max_{d-1}]` of stored coordinates.
//!
//! Volumes of boxes with up to 255 axes under- or overflow `f64` (and a single extent of a box
//! reaching past `±f64::MAX / 2` overflows it), so every volume here is an [`Ext`]: extents are
//! taken robustly ([`ext::extent`]) and multiplied in extended range. The `_on` variants measure
//! only the listed axes: callers drop the axes on which every box they compare has extent 0
//! (data on an axis-aligned subspace), which multiplies all those volumes by the same 0 and
//! would make them all equal. See `geometry::ext` for the rounding guarantees.

use super::ext::{self, Ext};
use super::Coord;

/// Dimension of a flat MBR.
#[inline]
pub fn dims<C>(m: &[C]) -> usize {
    m.len() / 2
}

/// Extent of axis `a` of `m`.
#[inline]
pub fn extent_of<C: Coord>(m: &[C], a: usize) -> Ext {
    ext::extent(m[a].to_f64(), m[dims(m) + a].to_f64())
}

/// The axes on which `m` has a positive extent.
pub fn active_axes<C: Coord>(m: &[C]) -> Vec<usize> {
    let d = dims(m);
    (0..d).filter(|&a| m[a] < m[d + a]).collect()
}

/// Volume (product of extents) over all axes.
#[inline]
pub fn area<C: Coord>(m: &[C]) -> Ext {
    (0..dims(m)).fold(Ext::ONE, |v, a| v.times(extent_of(m, a)))
}

/// Volume over the listed axes only.
#[inline]
pub fn area_on<C: Coord>(m: &[C], axes: &[usize]) -> Ext {
    axes.iter().fold(Ext::ONE, |v, &a| v.times(extent_of(m, a)))
}

/// Margin (sum of extents).
#[inline]
pub fn margin<C: Coord>(m: &[C]) -> Ext {
    (0..dims(m)).fold(Ext::ZERO, |s, a| s.plus(extent_of(m, a)))
}

/// Margin in `f64` with every coordinate first multiplied by `scale` (a power of two, at most
/// 1): `Σ fl(max·scale − min·scale)`. With `scale = 1` this is the plain sum; a node whose
/// extents could overflow the sum uses a smaller scale (exact, so the order of margins within
/// the node is kept).
#[inline]
pub fn margin_scaled<C: Coord>(m: &[C], scale: f64) -> f64 {
    let d = dims(m);
    let mut s = 0.0;
    for i in 0..d {
        s += m[d + i].to_f64() * scale - m[i].to_f64() * scale;
    }
    s
}

/// `acc := acc ∪ m`.
#[inline]
pub fn union_into<C: Coord>(acc: &mut [C], m: &[C]) {
    let d = dims(m);
    for i in 0..d {
        acc[i] = acc[i].min_c(m[i]);
        acc[d + i] = acc[d + i].max_c(m[d + i]);
    }
}

/// An "empty" MBR that is the identity of [`union_into`].
pub fn empty<C: Coord>(d: usize) -> Vec<C> {
    let mut v = vec![C::INFINITY; 2 * d];
    for x in &mut v[d..] {
        *x = C::NEG_INFINITY;
    }
    v
}

/// Volume of `a ∪ b` minus volume of `a`.
#[inline]
pub fn enlargement<C: Coord>(a: &[C], b: &[C]) -> Ext {
    let d = dims(a);
    let mut grown = Ext::ONE;
    for i in 0..d {
        let lo = a[i].min_c(b[i]).to_f64();
        let hi = a[d + i].max_c(b[d + i]).to_f64();
        grown = grown.times(ext::extent(lo, hi));
    }
    grown.minus(area(a))
}

/// Volume of `a ∩ b` (0 when disjoint).
#[inline]
pub fn overlap<C: Coord>(a: &[C], b: &[C]) -> Ext {
    let all: Vec<usize> = (0..dims(a)).collect();
    overlap_on(a, b, &all)
}

/// Volume of `a ∩ b` over the listed axes (0 when disjoint on any axis, listed or not).
#[inline]
pub fn overlap_on<C: Coord>(a: &[C], b: &[C], axes: &[usize]) -> Ext {
    if !intersects(a, b) {
        return Ext::ZERO;
    }
    let d = dims(a);
    let mut v = Ext::ONE;
    for &i in axes {
        let lo = a[i].max_c(b[i]).to_f64();
        let hi = a[d + i].min_c(b[d + i]).to_f64();
        v = v.times(ext::extent(lo, hi));
    }
    v
}

/// `vol(a ∩ b) / vol(a ∪ b)`, computed per axis so that it neither under- nor overflows.
/// Axes where both boxes are degenerate at the same value count as full overlap.
/// This is the overlap measure of the X-tree split (Berchtold et al. 1996, §3.2).
pub fn overlap_ratio<C: Coord>(a: &[C], b: &[C]) -> Ext {
    let d = dims(a);
    let mut r = Ext::ONE;
    for i in 0..d {
        let ilo = a[i].max_c(b[i]).to_f64();
        let ihi = a[d + i].min_c(b[d + i]).to_f64();
        if ihi < ilo {
            return Ext::ZERO;
        }
        let ulo = a[i].min_c(b[i]).to_f64();
        let uhi = a[d + i].max_c(b[d + i]).to_f64();
        let u = ext::extent(ulo, uhi);
        if !u.is_zero() {
            r = r.times(ext::extent(ilo, ihi).over(u));
        }
    }
    r
}

/// `a ⊇ b`.
#[inline]
pub fn contains<C: Coord>(a: &[C], b: &[C]) -> bool {
    let d = dims(a);
    (0..d).all(|i| a[i] <= b[i] && a[d + i] >= b[d + i])
}

/// `a ∩ b ≠ ∅`.
#[inline]
pub fn intersects<C: Coord>(a: &[C], b: &[C]) -> bool {
    let d = dims(a);
    (0..d).all(|i| a[i] <= b[d + i] && a[d + i] >= b[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_measures() {
        let a = [0.0f64, 0.0, 2.0, 2.0];
        let b = [1.0f64, 1.0, 3.0, 3.0];
        assert_eq!(area(&a).to_f64(), 4.0);
        assert_eq!(margin(&a).to_f64(), 4.0);
        assert_eq!(margin_scaled(&a, 0.5), 2.0);
        assert_eq!(overlap(&a, &b).to_f64(), 1.0);
        assert!((overlap_ratio(&a, &b).to_f64() - 1.0 / 9.0).abs() < 1e-12);
        assert_eq!(enlargement(&a, &b).to_f64(), 5.0);
        assert!(intersects(&a, &b));
        assert!(!contains(&a, &b));
        let mut u = empty::<f64>(2);
        union_into(&mut u, &a);
        union_into(&mut u, &b);
        assert_eq!(u, vec![0.0, 0.0, 3.0, 3.0]);
        let flat = [0.0f64, 5.0, 2.0, 5.0];
        assert_eq!(active_axes(&flat), vec![0]);
        assert_eq!(area_on(&flat, &[0]).to_f64(), 2.0);
        assert!(area(&flat).is_zero());
    }

    #[test]
    fn extreme_measures_stay_finite_and_ordered() {
        let m = f64::MAX;
        let whole = [-m, -m, m, m];
        let half = [0.0, -m, m, m];
        assert!(area(&half) < area(&whole));
        assert!(margin(&half) < margin(&whole));
        assert!(margin_scaled(&whole, 2f64.powi(-1030)).is_finite());
        assert_eq!(overlap_ratio(&half, &whole).to_f64(), 0.5);
        let t = 5e-324;
        let tiny = [0.0, 0.0, t, t];
        let tiny2 = [0.0, 0.0, 2.0 * t, t];
        assert!(Ext::ZERO < area(&tiny) && area(&tiny) < area(&tiny2));
        assert!(!enlargement(&tiny, &tiny2).is_zero());
    }
}
