//! MBR arithmetic on flat slices `[min_0..min_{d-1}, max_0..max_{d-1}]` of stored coordinates.
//!
//! Volumes of high-dimensional boxes under- or overflow `f64`; where a ratio is wanted
//! ([`overlap_ratio`]) it is computed as a product of per-axis ratios instead.

use super::Coord;

/// Dimension of a flat MBR.
#[inline]
pub fn dims<C>(m: &[C]) -> usize {
    m.len() / 2
}

/// Volume (product of extents), in `f64`.
#[inline]
pub fn area<C: Coord>(m: &[C]) -> f64 {
    let d = dims(m);
    let mut a = 1.0;
    for i in 0..d {
        a *= m[d + i].to_f64() - m[i].to_f64();
    }
    a
}

/// Margin (sum of extents), in `f64`.
#[inline]
pub fn margin<C: Coord>(m: &[C]) -> f64 {
    let d = dims(m);
    let mut s = 0.0;
    for i in 0..d {
        s += m[d + i].to_f64() - m[i].to_f64();
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
pub fn enlargement<C: Coord>(a: &[C], b: &[C]) -> f64 {
    let d = dims(a);
    let mut grown = 1.0;
    for i in 0..d {
        let lo = a[i].min_c(b[i]).to_f64();
        let hi = a[d + i].max_c(b[d + i]).to_f64();
        grown *= hi - lo;
    }
    grown - area(a)
}

/// Volume of `a ∩ b` (0 when disjoint).
#[inline]
pub fn overlap<C: Coord>(a: &[C], b: &[C]) -> f64 {
    let d = dims(a);
    let mut v = 1.0;
    for i in 0..d {
        let lo = a[i].max_c(b[i]).to_f64();
        let hi = a[d + i].min_c(b[d + i]).to_f64();
        if hi < lo {
            return 0.0;
        }
        v *= hi - lo;
    }
    v
}

/// `vol(a ∩ b) / vol(a ∪ b)`, computed per axis so that it neither under- nor overflows.
/// Axes where both boxes are degenerate at the same value count as full overlap.
/// This is the overlap measure of the X-tree split (Berchtold et al. 1996, §3.2).
pub fn overlap_ratio<C: Coord>(a: &[C], b: &[C]) -> f64 {
    let d = dims(a);
    let mut r = 1.0;
    for i in 0..d {
        let ilo = a[i].max_c(b[i]).to_f64();
        let ihi = a[d + i].min_c(b[d + i]).to_f64();
        if ihi < ilo {
            return 0.0;
        }
        let ulo = a[i].min_c(b[i]).to_f64();
        let uhi = a[d + i].max_c(b[d + i]).to_f64();
        let u = uhi - ulo;
        if u > 0.0 {
            r *= (ihi - ilo) / u;
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

/// Squared Euclidean distance from point `p` (length d, f64) to box `m` (0 inside).
#[inline]
pub fn min_dist2<C: Coord>(p: &[f64], m: &[C]) -> f64 {
    let d = p.len();
    let mut s = 0.0;
    for i in 0..d {
        let lo = m[i].to_f64();
        let hi = m[d + i].to_f64();
        let x = p[i];
        let delta = if x < lo {
            lo - x
        } else if x > hi {
            x - hi
        } else {
            0.0
        };
        s += delta * delta;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_measures() {
        let a = [0.0f64, 0.0, 2.0, 2.0];
        let b = [1.0f64, 1.0, 3.0, 3.0];
        assert_eq!(area(&a), 4.0);
        assert_eq!(margin(&a), 4.0);
        assert_eq!(overlap(&a, &b), 1.0);
        assert!((overlap_ratio(&a, &b) - 1.0 / 9.0).abs() < 1e-12);
        assert_eq!(enlargement(&a, &b), 5.0);
        assert!(intersects(&a, &b));
        assert!(!contains(&a, &b));
        let mut u = empty::<f64>(2);
        union_into(&mut u, &a);
        union_into(&mut u, &b);
        assert_eq!(u, vec![0.0, 0.0, 3.0, 3.0]);
        assert_eq!(min_dist2(&[5.0, 1.0], &a), 9.0);
        assert_eq!(min_dist2(&[1.0, 1.0], &a), 0.0);
    }
}
