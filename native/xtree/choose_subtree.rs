//! R* choose-subtree (Beckmann et al. 1990, §4.1).
//!
//! Above the leaves' parents: least area enlargement, ties by least area. At the level whose
//! children are leaves: least overlap enlargement among the `p` entries of least area
//! enlargement, ties by area enlargement, then area. An entry that already contains the new MBR
//! has zero enlargement of both kinds and wins outright (smallest such by area).

use super::node::NodeRef;
use super::params::CHOOSE_SUBTREE_CANDIDATES;
use crate::geometry::Coord;

/// Entries whose scratch arrays live on the stack (larger supernodes use the heap).
const STACK_ENTRIES: usize = 256;

/// Index of the entry of directory node `n` that should receive an entry with MBR `m`.
/// `n` must have at least one entry.
pub fn choose_subtree<C: Coord>(n: &NodeRef<'_, C>, m: &[C]) -> usize {
    let d = n.h.dims;
    let count = n.count();
    debug_assert!(count > 0);
    // (area enlargement, area) per entry, computed axis by axis over the SoA arrays; on the
    // stack for normal nodes, on the heap only for supernodes.
    let mut grown_s = [1.0f64; STACK_ENTRIES];
    let mut area_s = [1.0f64; STACK_ENTRIES];
    let mut contains_s = [true; STACK_ENTRIES];
    let (mut grown_h, mut area_h, mut contains_h);
    let (grown, area, contains): (&mut [f64], &mut [f64], &mut [bool]) = if count <= STACK_ENTRIES {
        (
            &mut grown_s[..count],
            &mut area_s[..count],
            &mut contains_s[..count],
        )
    } else {
        grown_h = vec![1.0f64; count];
        area_h = vec![1.0f64; count];
        contains_h = vec![true; count];
        (&mut grown_h, &mut area_h, &mut contains_h)
    };
    for a in 0..d {
        let (lo, hi) = (m[a], m[d + a]);
        let (lof, hif) = (lo.to_f64(), hi.to_f64());
        let mins = n.min(a);
        let maxs = n.max(a);
        for i in 0..count {
            let emin = mins[i].to_f64();
            let emax = maxs[i].to_f64();
            area[i] *= emax - emin;
            grown[i] *= emax.max(hif) - emin.min(lof);
            contains[i] &= mins[i] <= lo && maxs[i] >= hi;
        }
    }
    let mut best: Option<usize> = None;
    for i in 0..count {
        if contains[i] && best.is_none_or(|b| area[i] < area[b]) {
            best = Some(i);
        }
    }
    if let Some(b) = best {
        return b;
    }
    // Area enlargement, in place of the grown area.
    for (g, a) in grown.iter_mut().zip(area.iter()) {
        *g -= a;
    }
    let (enl, area) = (&*grown, &*area);
    if n.level() > 1 {
        let mut b = 0;
        for i in 1..count {
            if enl[i] < enl[b] || (enl[i] == enl[b] && area[i] < area[b]) {
                b = i;
            }
        }
        return b;
    }
    // Children are leaves: overlap enlargement among the candidates of least area enlargement,
    // visited in order of area enlargement so that a candidate whose overlap does not grow at
    // all ends the search (nothing later can beat it: overlap enlargement is never negative).
    let mut cand: Vec<usize> = (0..count).collect();
    let by_enl = |i: &usize, j: &usize| {
        enl[*i]
            .total_cmp(&enl[*j])
            .then(area[*i].total_cmp(&area[*j]))
    };
    if count > CHOOSE_SUBTREE_CANDIDATES {
        cand.select_nth_unstable_by(CHOOSE_SUBTREE_CANDIDATES, by_enl);
        cand.truncate(CHOOSE_SUBTREE_CANDIDATES);
    }
    cand.sort_unstable_by(by_enl);
    let mut e = vec![0.0f64; 2 * d];
    let mut g = vec![0.0f64; 2 * d];
    let mut best = cand[0];
    let mut best_key = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for &i in &cand {
        for a in 0..d {
            e[a] = n.min(a)[i].to_f64();
            e[d + a] = n.max(a)[i].to_f64();
            g[a] = e[a].min(m[a].to_f64());
            g[d + a] = e[d + a].max(m[d + a].to_f64());
        }
        let delta = overlap_growth(n, i, &e, &g, d);
        let key = (delta, enl[i], area[i]);
        if key < best_key {
            best_key = key;
            best = i;
            if delta == 0.0 {
                break;
            }
        }
    }
    best
}

/// Σ_j≠i vol(g ∩ E_j) − vol(e ∩ E_j) over the entries of `n`, where `e` is entry i's MBR and
/// `g ⊇ e` its enlargement (both flat, in f64). Entries disjoint from `g` contribute nothing.
fn overlap_growth<C: Coord>(n: &NodeRef<'_, C>, i: usize, e: &[f64], g: &[f64], d: usize) -> f64 {
    let mut delta = 0.0;
    'entries: for j in 0..n.count() {
        if j == i {
            continue;
        }
        let mut vg = 1.0;
        let mut ve = 1.0;
        for a in 0..d {
            let lo = n.min(a)[j].to_f64();
            let hi = n.max(a)[j].to_f64();
            let gl = g[a].max(lo);
            let gh = g[d + a].min(hi);
            if gh < gl {
                continue 'entries;
            }
            vg *= gh - gl;
            let el = e[a].max(lo);
            let eh = e[d + a].min(hi);
            ve *= (eh - el).max(0.0);
        }
        delta += vg - ve;
    }
    delta
}
