//! R* choose-subtree (Beckmann et al. 1990, §4.1).
//!
//! Above the leaves' parents: least area enlargement, ties by least area. At the level whose
//! children are leaves: least overlap enlargement among the `p` entries of least area
//! enlargement, ties by area enlargement, then area. An entry that already contains the new MBR
//! has zero enlargement of both kinds and wins outright (smallest such by area).
//!
//! Numeric range (DESIGN.md §2). Volumes are products of up to 255 extents. The fast path
//! computes them in plain `f64`, as the paper does, and is taken only when that provably neither
//! overflowed nor underflowed: with `X_a` the extent of the node's MBR ∪ the new MBR on axis `a`
//! and `P = Π max(1, X_a) < 2^900`, no product can overflow, and a product above
//! `2^-1021 · P` cannot have passed through the subnormal range (every later factor is at most
//! `max(1, X_a)`); a product that is exactly 0 because a factor is 0 is exact too. Otherwise the
//! node is measured again in extended range ([`Ext`]), over the axes on which the node ∪ the new
//! MBR has a positive extent (on the others every volume would be 0). Both paths round each
//! operation the same way (see `geometry::ext`), so they choose the same entry whenever both
//! apply, and the choice is invariant under scaling the data by a power of two.

use std::cmp::Ordering;

use super::node::NodeRef;
use super::params::CHOOSE_SUBTREE_CANDIDATES;
use crate::geometry::ext::{extent, Ext};
use crate::geometry::{mbr, Coord};

/// Entries whose scratch arrays live on the stack (larger supernodes use the heap).
const STACK_ENTRIES: usize = 256;

/// A volume: plain `f64` (fast path) or extended range.
trait Measure: Copy {
    const ZERO: Self;
    const ONE: Self;
    /// `self · (hi − lo)`.
    fn times_extent(self, lo: f64, hi: f64) -> Self;
    /// `self · max(hi − lo, 0)`.
    fn times_gap(self, lo: f64, hi: f64) -> Self;
    fn plus(self, o: Self) -> Self;
    /// `self − o` (`self >= o`).
    fn minus(self, o: Self) -> Self;
    fn order(self, o: Self) -> Ordering;
    fn is_zero(self) -> bool;
    /// Whether the value is at most `t` (the fast path's underflow threshold; never for `Ext`).
    fn at_most(self, t: f64) -> bool;
}

impl Measure for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn times_extent(self, lo: f64, hi: f64) -> Self {
        self * (hi - lo)
    }
    #[inline(always)]
    fn times_gap(self, lo: f64, hi: f64) -> Self {
        self * (hi - lo).max(0.0)
    }
    #[inline(always)]
    fn plus(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn minus(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn order(self, o: Self) -> Ordering {
        self.total_cmp(&o)
    }
    #[inline(always)]
    fn is_zero(self) -> bool {
        self == 0.0
    }
    #[inline(always)]
    fn at_most(self, t: f64) -> bool {
        // Infinities cannot occur under the fast path's bound on P, nor NaN (which fails here).
        self.is_nan() || self <= t
    }
}

impl Measure for Ext {
    const ZERO: Self = Ext::ZERO;
    const ONE: Self = Ext::ONE;
    #[inline]
    fn times_extent(self, lo: f64, hi: f64) -> Self {
        self.times(extent(lo, hi))
    }
    #[inline]
    fn times_gap(self, lo: f64, hi: f64) -> Self {
        if hi > lo {
            self.times(extent(lo, hi))
        } else {
            Ext::ZERO
        }
    }
    #[inline]
    fn plus(self, o: Self) -> Self {
        self.plus(o)
    }
    #[inline]
    fn minus(self, o: Self) -> Self {
        self.minus(o)
    }
    #[inline]
    fn order(self, o: Self) -> Ordering {
        self.cmp_value(o)
    }
    #[inline]
    fn is_zero(self) -> bool {
        Ext::is_zero(self)
    }
    #[inline]
    fn at_most(self, _t: f64) -> bool {
        false
    }
}

/// Index of the entry of directory node `n` that should receive an entry with MBR `m`.
/// `u`, if known, is the MBR of `n`'s entries ∪ `m` (the parent entry of `n` grown by `m`);
/// without it (at the root) the fast path gathers it on the way. `n` must have at least one
/// entry.
pub fn choose_subtree<C: Coord>(n: &NodeRef<'_, C>, m: &[C], u: Option<&[C]>) -> usize {
    if let Some(i) = choose::<C, f64, true>(n, m, u, &[]) {
        return i;
    }
    let d = n.h.dims;
    let u = match u {
        Some(u) => u.to_vec(),
        None => {
            let mut b = n.bounds();
            mbr::union_into(&mut b, m);
            b
        }
    };
    let active: Vec<bool> = (0..d).map(|a| u[a] < u[d + a]).collect();
    choose::<C, Ext, false>(n, m, Some(&u), &active)
        .expect("the extended-range path never gives up")
}

/// The fast path's threshold: with `X_a = hi[a] − lo[a]` (the node ∪ `m`), `2^-1021 · P` for
/// `P = Π max(1, X_a)`, or None when `P >= 2^900` or some `X_a` is 0 (module doc).
#[inline]
fn fast_threshold(d: usize, lo: impl Fn(usize) -> f64, hi: impl Fn(usize) -> f64) -> Option<f64> {
    let mut p = 1.0f64;
    let mut all_positive = true;
    for a in 0..d {
        let x = hi(a) - lo(a);
        p *= x.max(1.0);
        all_positive &= x > 0.0;
    }
    (all_positive && p < 2f64.powi(900)).then(|| p * 2f64.powi(-1021))
}

/// Choose-subtree measuring volumes as `M`: with `FAST` in plain `f64` over every axis, giving
/// up (None) when the fast path's test fails; otherwise over the axes `a` with `active[a]`.
/// `u` as for [`choose_subtree`].
fn choose<C: Coord, M: Measure, const FAST: bool>(
    n: &NodeRef<'_, C>,
    m: &[C],
    u: Option<&[C]>,
    active: &[bool],
) -> Option<usize> {
    let d = n.h.dims;
    let count = n.count();
    // (area enlargement, area) per entry, computed axis by axis over the SoA arrays; on the
    // stack for normal nodes, on the heap only for supernodes.
    let mut grown_s = [M::ONE; STACK_ENTRIES];
    let mut area_s = [M::ONE; STACK_ENTRIES];
    let mut contains_s = [true; STACK_ENTRIES];
    let (mut grown_h, mut area_h, mut contains_h);
    let (grown, area, contains): (&mut [M], &mut [M], &mut [bool]) = if count <= STACK_ENTRIES {
        (
            &mut grown_s[..count],
            &mut area_s[..count],
            &mut contains_s[..count],
        )
    } else {
        grown_h = vec![M::ONE; count];
        area_h = vec![M::ONE; count];
        contains_h = vec![true; count];
        (&mut grown_h, &mut area_h, &mut contains_h)
    };
    // Without `u`, the fast path gathers `P` of the node's bounds ∪ m here.
    let (mut p, mut all_positive) = (1.0f64, true);
    for a in 0..d {
        let (lo, hi) = (m[a], m[d + a]);
        let (lof, hif) = (lo.to_f64(), hi.to_f64());
        let mins = n.min(a);
        let maxs = n.max(a);
        if FAST && u.is_none() {
            let (mut ulo, mut uhi) = (lof, hif);
            for i in 0..count {
                let emin = mins[i].to_f64();
                let emax = maxs[i].to_f64();
                ulo = ulo.min(emin);
                uhi = uhi.max(emax);
                area[i] = area[i].times_extent(emin, emax);
                grown[i] = grown[i].times_extent(emin.min(lof), emax.max(hif));
                contains[i] &= mins[i] <= lo && maxs[i] >= hi;
            }
            let x = uhi - ulo;
            p *= x.max(1.0);
            all_positive &= x > 0.0;
        } else if FAST || active[a] {
            for i in 0..count {
                let emin = mins[i].to_f64();
                let emax = maxs[i].to_f64();
                area[i] = area[i].times_extent(emin, emax);
                grown[i] = grown[i].times_extent(emin.min(lof), emax.max(hif));
                contains[i] &= mins[i] <= lo && maxs[i] >= hi;
            }
        } else {
            // A dropped axis: every entry and `m` share one value there.
            for i in 0..count {
                contains[i] &= mins[i] <= lo && maxs[i] >= hi;
            }
        }
    }
    let t = if FAST {
        let t = match u {
            Some(u) => fast_threshold(d, |a| u[a].to_f64(), |a| u[d + a].to_f64()),
            None => (all_positive && p < 2f64.powi(900)).then(|| p * 2f64.powi(-1021)),
        }?;
        // grown >= area factor by factor, so its partial products are at least as large.
        // (A non-short-circuiting fold, so that it vectorises.)
        if area.iter().fold(false, |bad, x| bad | x.at_most(t)) {
            return None;
        }
        Some(t)
    } else {
        None
    };
    let mut best: Option<usize> = None;
    for i in 0..count {
        if contains[i] && best.is_none_or(|b| area[i].order(area[b]).is_lt()) {
            best = Some(i);
        }
    }
    if let Some(b) = best {
        return Some(b);
    }
    // Area enlargement, in place of the grown area.
    for (g, a) in grown.iter_mut().zip(area.iter()) {
        *g = g.minus(*a);
    }
    let (enl, area) = (&*grown, &*area);
    if n.level() > 1 {
        let mut b = 0;
        for i in 1..count {
            let o = enl[i].order(enl[b]);
            if o.is_lt() || (o.is_eq() && area[i].order(area[b]).is_lt()) {
                b = i;
            }
        }
        return Some(b);
    }
    // Children are leaves: overlap enlargement among the candidates of least area enlargement,
    // visited in order of area enlargement so that a candidate whose overlap does not grow at
    // all ends the search (nothing later can beat it: overlap enlargement is never negative).
    let mut cand: Vec<usize> = (0..count).collect();
    let by_enl = |i: &usize, j: &usize| {
        enl[*i]
            .order(enl[*j])
            .then_with(|| area[*i].order(area[*j]))
    };
    if count > CHOOSE_SUBTREE_CANDIDATES {
        cand.select_nth_unstable_by(CHOOSE_SUBTREE_CANDIDATES, by_enl);
        cand.truncate(CHOOSE_SUBTREE_CANDIDATES);
    }
    cand.sort_unstable_by(by_enl);
    let mut e = vec![0.0f64; 2 * d];
    let mut g = vec![0.0f64; 2 * d];
    let mut best = cand[0];
    let mut best_key: Option<(M, M, M)> = None;
    for &i in &cand {
        for a in 0..d {
            e[a] = n.min(a)[i].to_f64();
            e[d + a] = n.max(a)[i].to_f64();
            g[a] = e[a].min(m[a].to_f64());
            g[d + a] = e[d + a].max(m[d + a].to_f64());
        }
        let delta = overlap_growth::<C, M, FAST>(n, i, &e, &g, active, t)?;
        let key = (delta, enl[i], area[i]);
        let better = best_key.is_none_or(|(bd, be, ba)| {
            delta
                .order(bd)
                .then_with(|| key.1.order(be))
                .then_with(|| key.2.order(ba))
                .is_lt()
        });
        if better {
            best_key = Some(key);
            best = i;
            if delta.is_zero() {
                break;
            }
        }
    }
    Some(best)
}

/// Σ_j≠i vol(g ∩ E_j) − vol(e ∩ E_j) over the entries of `n`, where `e` is entry i's MBR and
/// `g ⊇ e` its enlargement (both flat, in f64), volumes over the `active` axes. Entries disjoint from `g`
/// contribute nothing. With `t`, None when a nonzero volume is at most `t` (see [`choose`]).
fn overlap_growth<C: Coord, M: Measure, const FAST: bool>(
    n: &NodeRef<'_, C>,
    i: usize,
    e: &[f64],
    g: &[f64],
    active: &[bool],
    t: Option<f64>,
) -> Option<M> {
    let d = n.h.dims;
    let mut delta = M::ZERO;
    'entries: for j in 0..n.count() {
        if j == i {
            continue;
        }
        let mut vg = M::ONE;
        let mut ve = M::ONE;
        let mut ezero = false;
        for a in 0..d {
            let lo = n.min(a)[j].to_f64();
            let hi = n.max(a)[j].to_f64();
            let gl = g[a].max(lo);
            let gh = g[d + a].min(hi);
            if gh < gl {
                continue 'entries;
            }
            if !FAST && !active[a] {
                continue;
            }
            vg = vg.times_extent(gl, gh);
            let (el, eh) = (e[a].max(lo), e[d + a].min(hi));
            ezero |= eh <= el;
            ve = ve.times_gap(el, eh);
        }
        if let Some(t) = t {
            // ve = 0 exactly when a factor is 0 (e disjoint from E_j: common); otherwise
            // vg >= ve factor by factor, so ve above t clears both.
            let suspect = if ezero { vg.at_most(t) } else { ve.at_most(t) };
            if suspect && !zero_factors_explain(n, j, e, g, vg, ve, t) {
                return None;
            }
        }
        delta = delta.plus(vg.minus(ve));
    }
    Some(delta)
}

/// For the fast path of [`overlap_growth`]: whether each of `vg`, `ve` that is at most `t` is 0
/// because one of its factors is 0 (exact), rather than through underflow.
#[cold]
#[inline(never)]
fn zero_factors_explain<C: Coord, M: Measure>(
    n: &NodeRef<'_, C>,
    j: usize,
    e: &[f64],
    g: &[f64],
    vg: M,
    ve: M,
    t: f64,
) -> bool {
    let d = n.h.dims;
    let (mut gzero, mut ezero) = (false, false);
    for a in 0..d {
        let lo = n.min(a)[j].to_f64();
        let hi = n.max(a)[j].to_f64();
        gzero |= g[d + a].min(hi) == g[a].max(lo);
        ezero |= e[d + a].min(hi) <= e[a].max(lo);
    }
    (!vg.at_most(t) || gzero) && (!ve.at_most(t) || ezero)
}
