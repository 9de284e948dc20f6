//! Phase 2 of COCOeval (`accumulate`): per category, area range and maxDet, sort the detections
//! of all images by score and turn the cumulative TP/FP counts into the interpolated
//! precision/recall/score arrays, with pycocotools' exact arithmetic:
//! `rc = tp / npig`, `pr = tp / (fp + tp + eps)` (eps = `np.spacing(1)`), the right-to-left
//! precision envelope, and `searchsorted(rc, recThrs, 'left')` with out-of-range entries left 0.
//!
//! Only positions of true positives can carry the envelope's maxima and be hit by
//! `searchsorted` (recall changes only there), so precision is evaluated at those positions
//! alone; the values are the same doubles pycocotools computes at them.

use super::evaluate::{Matched, HAS_IGNORED, HAS_TP, TP};
use super::Setup;
use rayon::prelude::*;

/// `np.spacing(1)`, the epsilon pycocotools adds to the precision denominator.
const PRECISION_EPS: f64 = f64::EPSILON;

/// The accumulated arrays, initialised to -1 like pycocotools. pycocotools' shapes are
/// precision/scores `[T, R, K, A, M]` and recall `[T, K, A, M]`; they are stored category-major
/// (`[K, T, R, A, M]` and `[K, T, A, M]`) so that each category's part is one block that the
/// parallel accumulation writes in place. Index them with [`Arrays::pidx`] / [`Arrays::ridx`];
/// [`Arrays::c_order`] gives pycocotools' layout.
#[derive(Debug, Clone)]
pub struct Arrays {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub scores: Vec<f64>,
    pub t: usize,
    pub r: usize,
    pub k: usize,
    pub a: usize,
    pub m: usize,
}

impl Arrays {
    /// Index of `[t, r, k, a, m]` in `precision` and `scores`.
    #[inline]
    pub fn pidx(&self, t: usize, r: usize, k: usize, a: usize, m: usize) -> usize {
        (((k * self.t + t) * self.r + r) * self.a + a) * self.m + m
    }
    /// Index of `[t, k, a, m]` in `recall`.
    #[inline]
    pub fn ridx(&self, t: usize, k: usize, a: usize, m: usize) -> usize {
        ((k * self.t + t) * self.a + a) * self.m + m
    }
    /// precision, recall and scores in pycocotools' C order.
    pub fn c_order(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (n5, n4) = (
            self.t * self.r * self.k * self.a * self.m,
            self.t * self.k * self.a * self.m,
        );
        let (mut p, mut s, mut rc) = (
            Vec::with_capacity(n5),
            Vec::with_capacity(n5),
            Vec::with_capacity(n4),
        );
        for t in 0..self.t {
            for r in 0..self.r {
                for k in 0..self.k {
                    let i = self.pidx(t, r, k, 0, 0);
                    p.extend_from_slice(&self.precision[i..i + self.a * self.m]);
                    s.extend_from_slice(&self.scores[i..i + self.a * self.m]);
                }
            }
            for k in 0..self.k {
                let i = self.ridx(t, k, 0, 0);
                rc.extend_from_slice(&self.recall[i..i + self.a * self.m]);
            }
        }
        (p, rc, s)
    }
}

/// A u64 whose ascending order is the descending order of `score` (finite), with -0.0 == 0.0.
#[inline]
pub(crate) fn desc_key(score: f64) -> u64 {
    let x = if score == 0.0 { 0.0f64 } else { score };
    let b = x.to_bits();
    // Ascending-order key of x, then inverted for descending order.
    let asc = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !asc
}

/// The detections of `units` (one category's live units, in image order), concatenated and
/// stable-sorted by descending score, as pycocotools' `np.argsort(-dtScores, kind='mergesort')`
/// orders them: `(score, unit, rank in unit)`.
pub fn sorted_detections(mt: &Matched, units: &[usize]) -> Vec<(f64, u32, u32)> {
    // Stable sort by descending score == unstable sort by (descending score, unit, rank): the
    // concatenation is in (unit, rank) order. Keys: order-preserving u64 of -score (with
    // -0.0 == 0.0, as numpy compares).
    let mut keyed: Vec<(u64, u32, u32)> = Vec::new();
    for &u in units {
        for (rank, &score) in mt.scores[mt.off[u] as usize..mt.off[u + 1] as usize]
            .iter()
            .enumerate()
        {
            keyed.push((desc_key(score), u as u32, rank as u32));
        }
    }
    keyed.sort_unstable();
    keyed
        .iter()
        .map(|&(_, u, rank)| (mt.scores[(mt.off[u as usize] + rank) as usize], u, rank))
        .collect()
}

/// Whether two scores tie in the sort (numpy's comparison: -0.0 == 0.0).
#[inline]
pub fn same_score(a: f64, b: f64) -> bool {
    desc_key(a) == desc_key(b)
}

/// pycocotools' precision at a position with `tp` true and `fp` false positives so far:
/// `tp / (fp + tp + np.spacing(1))`, in that operation order.
#[inline]
pub fn precision_at(tp: f64, fp: f64) -> f64 {
    tp / ((fp + tp) + PRECISION_EPS)
}

/// The smallest true-positive count `i >= 1` whose recall `i / npig` (a float64 division, as
/// numpy's) reaches `thr > 0`: where `np.searchsorted(rc, thr, side='left')` lands.
pub fn first_tp_reaching(thr: f64, npig: f64) -> u64 {
    let mut i = ((thr * npig).ceil() as u64).max(1);
    while i > 1 && ((i - 1) as f64 / npig) >= thr {
        i -= 1;
    }
    while (i as f64 / npig) < thr {
        i += 1;
    }
    i
}

/// One category's blocks of the arrays: [T, R, A, M] precision and scores, [T, A, M] recall.
struct CatOut<'o> {
    precision: &'o mut [f64],
    scores: &'o mut [f64],
    recall: &'o mut [f64],
}

pub fn accumulate(
    setup: &Setup,
    iou_thrs: &[f64],
    rec_thrs: &[f64],
    n_area: usize,
    n_img: usize,
    mt: &Matched,
) -> Arrays {
    let (t_n, r_n, a_n, m_n) = (iou_thrs.len(), rec_thrs.len(), n_area, setup.max_dets.len());
    let k_n = setup.k();
    let at = a_n * t_n;

    // Zeroed (pages the OS maps on first touch, not written here); each category fills its own
    // block with pycocotools' -1 below, in parallel, instead of one serial pass over them all.
    let mut arr = Arrays {
        precision: vec![0.0; t_n * r_n * k_n * a_n * m_n],
        recall: vec![0.0; t_n * k_n * a_n * m_n],
        scores: vec![0.0; t_n * r_n * k_n * a_n * m_n],
        t: t_n,
        r: r_n,
        k: k_n,
        a: a_n,
        m: m_n,
    };
    let (n5, n4) = (t_n * r_n * a_n * m_n, t_n * a_n * m_n);
    if n5 == 0 {
        // No per-category blocks to zip (no recall thresholds): recall is filled here.
        arr.recall.fill(-1.0);
    }
    arr.precision
        .par_chunks_mut(n5.max(1))
        .zip(arr.scores.par_chunks_mut(n5.max(1)))
        .zip(arr.recall.par_chunks_mut(n4.max(1)))
        .enumerate()
        .for_each(|(k, ((precision, scores), recall))| {
            precision.fill(-1.0);
            scores.fill(-1.0);
            recall.fill(-1.0);
            let out = CatOut {
                precision,
                scores,
                recall,
            };
            let units = k * n_img..(k + 1) * n_img;
            let live: Vec<usize> = units.clone().filter(|&u| !mt.empty[u]).collect();
            if live.is_empty() {
                return;
            }
            let all = sorted_detections(mt, &live);
            let npig: Vec<u64> = (0..a_n)
                .map(|a| live.iter().map(|&u| mt.npig(u, a, a_n) as u64).sum())
                .collect();

            let mut tp = vec![0u32; at];
            let mut ign = vec![0u32; at];
            let mut lanes = vec![0u64; at.div_ceil(8)];
            // Per (a, t): (fp count, position) at each true positive.
            let mut events: Vec<Vec<(u32, u32)>> = vec![Vec::new(); at];
            let mut sorted_scores: Vec<f64> = Vec::with_capacity(all.len());
            let mut env: Vec<f64> = Vec::new();
            let mut need: Vec<usize> = Vec::with_capacity(rec_thrs.len());
            for (mi, &max_det) in setup.max_dets.iter().enumerate() {
                tp.iter_mut().for_each(|x| *x = 0);
                ign.iter_mut().for_each(|x| *x = 0);
                lanes.iter_mut().for_each(|x| *x = 0);
                let mut pending: u32 = 0;
                let mut processed: u32 = 0;
                events.iter_mut().for_each(|e| e.clear());
                sorted_scores.clear();
                let mut pos: u32 = 0;
                let mut first_state: Vec<u8> = Vec::new();
                for &(score, u, rank) in &all {
                    if rank as usize >= max_det {
                        continue;
                    }
                    let base = (mt.off[u as usize] + rank) as usize * at;
                    let st = &mt.states[base..base + at];
                    if pos == 0 {
                        first_state.extend_from_slice(st);
                    }
                    // fp = processed - ignored - tp, kept lazily: most rows are all-FP and cost
                    // one increment.
                    processed += 1;
                    let fl = mt.flags[(mt.off[u as usize] + rank) as usize];
                    if fl & HAS_IGNORED != 0 {
                        // Count IGNORED (= 2, bit 1) states in u8 lanes, 8 per word; flushed to
                        // the u32 counters before a lane can overflow.
                        for (w, lane) in lanes.iter_mut().enumerate() {
                            let lo = w * 8;
                            let hi = (lo + 8).min(at);
                            let mut bytes = [0u8; 8];
                            bytes[..hi - lo].copy_from_slice(&st[lo..hi]);
                            *lane += (u64::from_le_bytes(bytes) >> 1) & 0x0101_0101_0101_0101;
                        }
                        pending += 1;
                        if pending == 255 {
                            for j in 0..at {
                                ign[j] += ((lanes[j / 8] >> (8 * (j % 8))) & 0xFF) as u32;
                            }
                            lanes.iter_mut().for_each(|x| *x = 0);
                            pending = 0;
                        }
                    }
                    if fl & HAS_TP != 0 {
                        for j in 0..at {
                            if st[j] == TP {
                                tp[j] += 1;
                                let ign_j =
                                    ign[j] + ((lanes[j / 8] >> (8 * (j % 8))) & 0xFF) as u32;
                                events[j].push((processed - ign_j - tp[j], pos));
                            }
                        }
                    }
                    sorted_scores.push(score);
                    pos += 1;
                }
                let nd = pos as usize;
                for a in 0..a_n {
                    if npig[a] == 0 {
                        continue;
                    }
                    let npig_f = npig[a] as f64;
                    // Where searchsorted lands for each recall threshold depends on npig only:
                    // the TP count it needs, minus one (unused for thresholds <= 0).
                    need.clear();
                    need.extend(rec_thrs.iter().map(|&thr| {
                        if thr <= 0.0 {
                            0
                        } else {
                            (first_tp_reaching(thr, npig_f) - 1) as usize
                        }
                    }));
                    for t in 0..t_n {
                        let j = a * t_n + t;
                        let ev = &events[j];
                        let o = (t * a_n + a) * m_n + mi;
                        if nd == 0 {
                            out.recall[o] = 0.0;
                            for r in 0..r_n {
                                let q = ((t * r_n + r) * a_n + a) * m_n + mi;
                                out.precision[q] = 0.0;
                                out.scores[q] = 0.0;
                            }
                            continue;
                        }
                        // rc[-1] = tp_total / npig.
                        out.recall[o] = ev.len() as f64 / npig_f;
                        // Precision at each TP, then the suffix maximum (the envelope).
                        env.clear();
                        env.extend(
                            ev.iter()
                                .enumerate()
                                .map(|(i, &(f, _))| precision_at((i + 1) as f64, f as f64)),
                        );
                        for i in (0..env.len().saturating_sub(1)).rev() {
                            if env[i + 1] > env[i] {
                                env[i] = env[i + 1];
                            }
                        }
                        // Position 0's own precision (0 unless it is a TP, which env covers).
                        let pr0 = if first_state[j] == TP { env[0] } else { 0.0 };
                        let env0 = if env.is_empty() { pr0 } else { pr0.max(env[0]) };
                        for (r, &thr) in rec_thrs.iter().enumerate() {
                            let q = ((t * r_n + r) * a_n + a) * m_n + mi;
                            if thr <= 0.0 {
                                // rc[0] >= 0 >= thr: index 0.
                                out.precision[q] = env0;
                                out.scores[q] = sorted_scores[0];
                                continue;
                            }
                            // The event with tp = e + 1.
                            let e = need[r];
                            if e < ev.len() {
                                out.precision[q] = env[e];
                                out.scores[q] = sorted_scores[ev[e].1 as usize];
                            } else {
                                // searchsorted ran past the end: pycocotools leaves 0 from here on.
                                for r2 in r..r_n {
                                    let q2 = ((t * r_n + r2) * a_n + a) * m_n + mi;
                                    out.precision[q2] = 0.0;
                                    out.scores[q2] = 0.0;
                                }
                                break;
                            }
                        }
                    }
                }
            }
        });
    arr
}
