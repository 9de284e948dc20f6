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
    /// Empty under the LVIS protocol (LVISEval has no scores array).
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
    /// precision, recall and scores in pycocotools' C order (scores empty when not kept).
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
                    if !self.scores.is_empty() {
                        s.extend_from_slice(&self.scores[i..i + self.a * self.m]);
                    }
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

/// The detections of `units` (the slots of one category's live units, in image order),
/// concatenated and stable-sorted by descending score, as pycocotools'
/// `np.argsort(-dtScores, kind='mergesort')` orders them: `(score, slot, rank in unit)`.
pub fn sorted_detections(mt: &Matched, units: &[usize]) -> Vec<(f64, u32, u32)> {
    let keyed = sorted_keys(mt, units);
    let score = |&(_, u, rank): &(u64, u32, u32)| {
        (mt.scores[(mt.off[u as usize] + rank) as usize], u, rank)
    };
    if keyed.len() >= SPLIT_SORT {
        keyed.par_iter().map(score).collect()
    } else {
        keyed.iter().map(score).collect()
    }
}

/// Detections from which [`sorted_detections`] sorts the two halves of the units side by side
/// and merges them (a data-size rule: the order is the same either way).
const SPLIT_SORT: usize = 1 << 16;

/// [`sorted_detections`] with the score keys: `(desc_key(score), unit, rank)`.
fn sorted_keys(mt: &Matched, units: &[usize]) -> Vec<(u64, u32, u32)> {
    let n: usize = units
        .iter()
        .map(|&u| (mt.off[u + 1] - mt.off[u]) as usize)
        .sum();
    if n >= SPLIT_SORT && units.len() >= 2 {
        let (a, b) = units.split_at(units.len() / 2);
        let (a, b) = rayon::join(|| sorted_keys(mt, a), || sorted_keys(mt, b));
        return merge_stable(&a, &b);
    }
    // Stable sort by descending score == unstable sort by (descending score, unit, rank): the
    // concatenation is in (unit, rank) order. Keys: order-preserving u64 of -score (with
    // -0.0 == 0.0, as numpy compares).
    let mut keyed: Vec<(u64, u32, u32)> = Vec::with_capacity(n);
    for &u in units {
        for (rank, &score) in mt.scores[mt.off[u] as usize..mt.off[u + 1] as usize]
            .iter()
            .enumerate()
        {
            keyed.push((desc_key(score), u as u32, rank as u32));
        }
    }
    radix_sort_by_key(&mut keyed, |x| x.0);
    keyed
}

/// Two key-sorted runs as one, `a`'s element first on equal keys: the stable sort of `a`
/// followed by `b`.
fn merge_stable(a: &[(u64, u32, u32)], b: &[(u64, u32, u32)]) -> Vec<(u64, u32, u32)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j].0 < a[i].0 {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Stable sort of `v` by a u64 key: least-significant-digit radix, one byte per pass, skipping
/// the bytes that all keys share (scores in [0, 1] share their top bytes). Gives the order of
/// `sort_by_key`, in linear time; short slices use that directly.
pub(crate) fn radix_sort_by_key<T: Copy>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let n = v.len();
    if n < 1024 {
        v.sort_by_key(|x| key(x));
        return;
    }
    let mut counts = [[0u32; 256]; 8];
    for x in v.iter() {
        let k = key(x);
        for (b, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * b)) & 0xFF) as usize] += 1;
        }
    }
    let mut other = v.clone();
    let (mut src, mut dst) = (&mut v[..], &mut other[..]);
    let mut in_v = true;
    for (b, c) in counts.iter().enumerate() {
        if c.iter().any(|&x| x as usize == n) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut sum = 0;
        for (o, &x) in next.iter_mut().zip(c.iter()) {
            *o = sum;
            sum += x as usize;
        }
        for x in src.iter() {
            let d = ((key(x) >> (8 * b)) & 0xFF) as usize;
            dst[next[d]] = *x;
            next[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        in_v = !in_v;
    }
    if !in_v {
        v.copy_from_slice(&other);
    }
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

/// Detections per piece of the score-ordered walk that [`accumulate`] splits across threads
/// (a category with fewer is walked in one piece).
const WALK_PIECE: usize = 1 << 15;

/// One piece of the walk over a category's detections in score order, for one maxDet: the
/// detections kept (rank below maxDet), per (area, IoU threshold) the TP and ignored counts and,
/// at each TP, (false positives so far, position), all counted from the piece's start; the
/// kept scores; the first kept detection's states.
#[derive(Debug, PartialEq)]
struct Walk {
    kept: u32,
    tp: Vec<u32>,
    ign: Vec<u32>,
    events: Vec<Vec<(u32, u32)>>,
    scores: Vec<f64>,
    first_state: Vec<u8>,
}

impl Walk {
    fn empty(at: usize) -> Walk {
        Walk {
            kept: 0,
            tp: vec![0; at],
            ign: vec![0; at],
            events: vec![Vec::new(); at],
            scores: Vec::new(),
            first_state: Vec::new(),
        }
    }
}

/// [`Walk`] of `dets` (in score order) over the matching's per-unit offsets, states and flags.
fn walk(
    dets: &[(f64, u32, u32)],
    max_det: usize,
    (off, states, flags): (&[u32], &[u8], &[u8]),
    at: usize,
) -> Walk {
    let mut w = Walk::empty(at);
    w.scores.reserve(dets.len());
    let mut lanes = vec![0u64; at.div_ceil(8)];
    let mut pending: u32 = 0;
    let mut processed: u32 = 0;
    for &(score, u, rank) in dets {
        if rank as usize >= max_det {
            continue;
        }
        let i = (off[u as usize] + rank) as usize;
        let st = &states[i * at..(i + 1) * at];
        if processed == 0 {
            w.first_state.extend_from_slice(st);
        }
        // fp = processed - ignored - tp, kept lazily: most rows are all-FP and cost one
        // increment.
        processed += 1;
        let fl = flags[i];
        if fl & HAS_IGNORED != 0 {
            // Count IGNORED (= 2, bit 1) states in u8 lanes, 8 per word; flushed to the u32
            // counters before a lane can overflow.
            // A full lane is one 8-byte load (a copy of variable length was a memcpy call per
            // lane, most of the walk's time); only a last partial lane is copied.
            for (lane, c) in lanes.iter_mut().zip(st.chunks(8)) {
                let word = match <[u8; 8]>::try_from(c) {
                    Ok(b) => u64::from_le_bytes(b),
                    Err(_) => {
                        let mut b = [0u8; 8];
                        b[..c.len()].copy_from_slice(c);
                        u64::from_le_bytes(b)
                    }
                };
                *lane += (word >> 1) & 0x0101_0101_0101_0101;
            }
            pending += 1;
            if pending == 255 {
                flush(&mut w.ign, &mut lanes);
                pending = 0;
            }
        }
        if fl & HAS_TP != 0 {
            for j in 0..at {
                if st[j] == TP {
                    w.tp[j] += 1;
                    let ign_j = w.ign[j] + ((lanes[j / 8] >> (8 * (j % 8))) & 0xFF) as u32;
                    w.events[j].push((processed - ign_j - w.tp[j], w.kept));
                }
            }
        }
        w.scores.push(score);
        w.kept += 1;
    }
    flush(&mut w.ign, &mut lanes);
    w
}

/// Consecutive pieces of a walk as one: each piece counted from zero, so its counts and
/// positions are shifted by those of the pieces before it (exact integer sums).
fn join(pieces: Vec<Walk>, at: usize) -> Walk {
    let mut all = Walk::empty(at);
    all.scores
        .reserve(pieces.iter().map(|w| w.scores.len()).sum());
    for w in pieces {
        if all.kept == 0 {
            all.first_state = w.first_state;
        }
        for j in 0..at {
            // fp = kept - ignored - tp, each counted from the start.
            let add_fp = all.kept - all.ign[j] - all.tp[j];
            let kept = all.kept;
            all.events[j].extend(w.events[j].iter().map(|&(f, p)| (f + add_fp, p + kept)));
            all.tp[j] += w.tp[j];
            all.ign[j] += w.ign[j];
        }
        all.kept += w.kept;
        all.scores.extend_from_slice(&w.scores);
    }
    all
}

/// Add the u8 lane counts to the u32 counters and clear the lanes.
fn flush(ign: &mut [u32], lanes: &mut [u64]) {
    for (j, c) in ign.iter_mut().enumerate() {
        *c += ((lanes[j / 8] >> (8 * (j % 8))) & 0xFF) as u32;
    }
    lanes.iter_mut().for_each(|x| *x = 0);
}

/// One category's blocks of the arrays: [T, R, A, M] precision and scores, [T, A, M] recall.
struct CatOut<'o> {
    precision: &'o mut [f64],
    /// `None` when the scores array is not kept (LVIS).
    scores: Option<&'o mut [f64]>,
    recall: &'o mut [f64],
}

impl CatOut<'_> {
    #[inline]
    fn set_score(&mut self, q: usize, v: f64) {
        if let Some(s) = self.scores.as_deref_mut() {
            s[q] = v;
        }
    }
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
    // LVISEval has no scores array: under LVIS it is not kept (LVIS' is as large as precision).
    let n_scores = if setup.lvis.is_some() {
        0
    } else {
        t_n * r_n * k_n * a_n * m_n
    };
    let mut arr = Arrays {
        precision: vec![0.0; t_n * r_n * k_n * a_n * m_n],
        recall: vec![0.0; t_n * k_n * a_n * m_n],
        scores: vec![0.0; n_scores],
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
    let blocks = if n_scores > 0 {
        rayon::iter::Either::Left(
            arr.precision
                .par_chunks_mut(n5.max(1))
                .zip(arr.scores.par_chunks_mut(n5.max(1)))
                .map(|(p, s)| (p, Some(s))),
        )
    } else {
        rayon::iter::Either::Right(arr.precision.par_chunks_mut(n5.max(1)).map(|p| (p, None)))
    };
    blocks
        .zip(arr.recall.par_chunks_mut(n4.max(1)))
        .enumerate()
        .for_each(|(k, ((precision, mut scores), recall))| {
            precision.fill(-1.0);
            if let Some(s) = scores.as_deref_mut() {
                s.fill(-1.0);
            }
            recall.fill(-1.0);
            let mut out = CatOut {
                precision,
                scores,
                recall,
            };
            let live: Vec<usize> = mt
                .units
                .slots_of(k * n_img..(k + 1) * n_img)
                .filter(|&s| !mt.empty[s])
                .collect();
            if live.is_empty() {
                return;
            }
            let all = sorted_detections(mt, &live);
            let npig: Vec<u64> = (0..a_n)
                .map(|a| live.iter().map(|&u| mt.npig(u, a, a_n) as u64).sum())
                .collect();

            let mut env: Vec<f64> = Vec::new();
            let mut need: Vec<usize> = Vec::with_capacity(rec_thrs.len());
            for (mi, &max_det) in setup.max_dets.iter().enumerate() {
                // The walk in score order, in pieces of the same size whatever the thread count
                // (one piece for most categories).
                let m = (&mt.off[..], &mt.states[..], &mt.flags[..]);
                let w = if all.len() <= WALK_PIECE {
                    walk(&all, max_det, m, at)
                } else {
                    join(
                        all.par_chunks(WALK_PIECE)
                            .map(|c| walk(c, max_det, m, at))
                            .collect(),
                        at,
                    )
                };
                let (events, sorted_scores, first_state) = (&w.events, &w.scores, &w.first_state);
                let nd = w.kept as usize;
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
                                out.set_score(q, 0.0);
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
                                out.set_score(q, sorted_scores[0]);
                                continue;
                            }
                            // The event with tp = e + 1.
                            let e = need[r];
                            if e < ev.len() {
                                out.precision[q] = env[e];
                                out.set_score(q, sorted_scores[ev[e].1 as usize]);
                            } else {
                                // searchsorted ran past the end: pycocotools leaves 0 from here on.
                                for r2 in r..r_n {
                                    let q2 = ((t * r_n + r2) * a_n + a) * m_n + mi;
                                    out.precision[q2] = 0.0;
                                    out.set_score(q2, 0.0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::evaluate::{FP, IGNORED};

    /// The radix sort gives `sort_by_key`'s (stable) order: ties keep their input order. Keys
    /// from scores with three decimals tie often and share their top bytes (the skipped passes);
    /// arbitrary keys use every byte.
    #[test]
    fn radix_sort_equals_the_stable_sort() {
        let mut rng = crate::rng::SplitMix64::from_state(0x2545_F491_4F6C_DD1Du64);
        let mut next = || rng.next_u64();
        for n in [0, 1, 100, 1023, 1024, 1500, 20_000] {
            let scores: Vec<(u64, u32)> = (0..n as u32)
                .map(|i| {
                    let s = match next() % 50 {
                        0 => 0.0,
                        1 => -0.0,
                        _ => (next() % 1000) as f64 / 1000.0,
                    };
                    (desc_key(s), i)
                })
                .collect();
            let arbitrary: Vec<(u64, u32)> = (0..n as u32).map(|i| (next(), i)).collect();
            for v in [scores, arbitrary] {
                let mut want = v.clone();
                want.sort_by_key(|x| x.0);
                let mut got = v.clone();
                radix_sort_by_key(&mut got, |x| x.0);
                assert_eq!(got, want, "n = {}", n);
            }
        }
    }

    /// Merging two stably sorted runs equals the stable sort of their concatenation.
    #[test]
    fn merge_of_sorted_runs_is_the_stable_sort() {
        let mut rng = crate::rng::SplitMix64::from_state(0x1234_5678_9ABC_DEF1u64);
        let mut next = |m: u64| rng.below(m);
        for (na, nb) in [(0, 0), (0, 5), (5, 0), (1, 1), (100, 37), (2000, 3000)] {
            let a: Vec<(u64, u32, u32)> = (0..na).map(|i| (next(20), 0, i)).collect();
            let b: Vec<(u64, u32, u32)> = (0..nb).map(|i| (next(20), 1, i)).collect();
            let mut want: Vec<_> = a.iter().chain(&b).copied().collect();
            want.sort_by_key(|x| x.0);
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sa.sort_by_key(|x| x.0);
            sb.sort_by_key(|x| x.0);
            assert_eq!(merge_stable(&sa, &sb), want);
        }
    }

    /// The walk in pieces, joined, equals the walk in one piece: counts, events (false positives
    /// and positions shifted by the pieces before), scores and the first detection's states;
    /// with maxDet cuts and more than 255 ignored rows in a piece (the lane flush).
    #[test]
    fn walk_in_pieces_joins_to_the_whole_walk() {
        let mut rng = crate::rng::SplitMix64::from_state(0x9E37_79B9_7F4A_7C15u64);
        let mut next = |m: u64| rng.below(m);
        let at = 6;
        let (mut off, mut scores, mut states) = (vec![0u32], Vec::new(), Vec::new());
        for _ in 0..300 {
            let n = next(40) as u32;
            for _ in 0..n {
                scores.push(next(100) as f64 / 100.0);
                states.extend((0..at).map(|_| [FP, TP, IGNORED][next(3) as usize]));
            }
            off.push(off.last().unwrap() + n);
        }
        let mut flags = vec![0u8; scores.len()];
        for (i, f) in flags.iter_mut().enumerate() {
            let st = &states[i * at..(i + 1) * at];
            *f = (st.contains(&TP) as u8) * HAS_TP | (st.contains(&IGNORED) as u8) * HAS_IGNORED;
        }
        let mut all: Vec<(u64, u32, u32)> = Vec::new();
        for u in 0..off.len() - 1 {
            for r in 0..off[u + 1] - off[u] {
                all.push((desc_key(scores[(off[u] + r) as usize]), u as u32, r));
            }
        }
        radix_sort_by_key(&mut all, |x| x.0);
        let all: Vec<(f64, u32, u32)> = all
            .iter()
            .map(|&(_, u, r)| (scores[(off[u as usize] + r) as usize], u, r))
            .collect();
        let m = (&off[..], &states[..], &flags[..]);
        for max_det in [1, 10, 100] {
            let whole = walk(&all, max_det, m, at);
            assert!(whole.kept > 0);
            for piece in [1, 7, 1000] {
                let joined = join(
                    all.chunks(piece).map(|c| walk(c, max_det, m, at)).collect(),
                    at,
                );
                assert_eq!(joined, whole, "maxDet {} piece {}", max_det, piece);
            }
        }
    }
}
