//! Weighted re-accumulation for the bootstrap of `compare`: the stats pycocotools computes on a
//! resample of the images made explicit (image `i` drawn `w_i` times, its copies placed right after
//! it in sorted-id order, each with the original's GT and detections), from one evaluation's
//! per-image matches, without matching or sorting again.
//!
//! Why it is exact. Matching is per (image, category), so a copy's states equal the original's.
//! pycocotools' `accumulate` concatenates the units in image order and stable-sorts by descending
//! score: detections are ordered by (score, image, copy, rank). So the explicit order is the
//! original sorted order in which every maximal run of tied detections of one unit (length 1 when
//! scores are distinct) is repeated `w` times as a block (`d1 d2 d1' d2'`). The cumulative TP/FP
//! counts are integers, so counting with weights gives the same numbers as walking the copies;
//! precision, recall and the envelope are then computed with the same formulas
//! ([`super::accumulate::precision_at`], [`super::accumulate::first_tp_reaching`]) and the stats
//! with the same [`super::summarize::summarize_one`].
//!
//! Speed. Most detections are false positives at every IoU threshold of an area range; their
//! weights go into one running sum per "default class" (which area ranges count them as FP). Only
//! the others ("special" detections: true positives, or states differing from their default)
//! touch per-(area, IoU) lanes. A run of copies of one true positive holds the FP count constant,
//! so its precision rises along the run and only its last copy can be an envelope maximum: one
//! precision per drawn true positive, whatever its weight.

use super::accumulate::{first_tp_reaching, precision_at, same_score, sorted_detections, Arrays};
use super::evaluate::{Matched, FP, TP};
use super::params::Params;
use super::summarize::{summarize_one, StatSpec};
use super::Setup;
use rayon::prelude::*;

const NONE: u32 = u32::MAX;

/// A lane where a special detection differs from its default class.
#[derive(Clone, Copy)]
struct Diff {
    /// `a * T + t`.
    lane: u16,
    tp: bool,
    /// Its false-positive count in this lane minus its default's (-1, 0 or +1).
    adj: i8,
}

/// One category's detections in pycocotools' sorted order, as parallel arrays (the walk over
/// plain detections reads `img` and `cls` only).
struct CatData {
    /// Image rank (index into the weights).
    img: Vec<u32>,
    /// Default class: which area ranges count it as a false positive.
    cls: Vec<u16>,
    /// Rank in its unit (for a maxDets cut below the largest).
    rank: Vec<u32>,
    /// Index of its lane differences ([`CatData::diff_off`]), or [`NONE`].
    spec: Vec<u32>,
    /// The entries the walk cannot add to a class sum: `(position, length)` of each special
    /// entry outside tied runs (length 1) and of each run of tied detections of one unit
    /// (length > 1), in order.
    marks: Vec<(u32, u32)>,
    diff_off: Vec<u32>,
    diffs: Vec<Diff>,
    /// Per maxDet whose precision no stat reads: the true positives ranked within the cut, as
    /// `(image, first lane, end lane)` ranges of consecutive lanes where they are TP (recall
    /// needs only their weighted counts).
    recall_tp: Vec<Vec<(u32, u16, u16)>>,
    /// Units with non-ignored GT in some area range: image rank, then `A` npig counts each.
    gt_img: Vec<u32>,
    gt_npig: Vec<u32>,
}

/// One evaluation prepared for weighted re-accumulation.
pub struct Resampler {
    cats: Vec<CatData>,
    /// Per area range, the classes that count as FP there.
    fp_classes: Vec<Vec<u16>>,
    n_class: usize,
    /// The largest maxDet (the matching kept no detection ranked beyond it).
    max_det_all: usize,
    t_n: usize,
    a_n: usize,
    rec_thrs: Vec<f64>,
    max_dets: Vec<usize>,
    /// Per maxDet: its index in the precision arrays (only the maxDets an AP stat reads), or
    /// `None`.
    prec_slot: Vec<Option<usize>>,
    /// The maxDets of the precision arrays.
    prec_max_dets: Vec<usize>,
    need_rec: Vec<bool>,
    params: Params,
    specs: Vec<StatSpec>,
    k_n: usize,
    n_img: usize,
}

/// Per-thread buffers of [`Resampler::stats`].
pub struct Scratch {
    /// Precision of the maxDets in [`Resampler::prec_max_dets`] only (the stats read no other:
    /// a smaller array to fill and to read).
    prec: Arrays,
    /// Recall of every maxDet.
    rec: Arrays,
    tp: Vec<u64>,
    adj: Vec<i64>,
    /// Per lane: (tp count after, precision) at the last copy of each drawn true positive.
    records: Vec<Vec<(u64, f64)>>,
    cum: Vec<u64>,
    c_a: Vec<u64>,
    /// Per recall threshold: the true-positive count it needs (0: threshold <= 0).
    need: Vec<u64>,
}

impl Resampler {
    /// Prepare from an evaluation's [`super::Detail`]: sort each category's detections once and
    /// split them into default classes and lane differences.
    pub fn new(p: &Params, setup: &Setup, mt: &Matched, specs: Vec<StatSpec>) -> Resampler {
        let (t_n, a_n) = (p.iou_thrs.len(), p.area_rng.len());
        let at = t_n * a_n;
        let n_img = setup.img_ids.len();
        let k_n = setup.k();
        let m_n = setup.max_dets.len();
        let mut need_prec = vec![false; m_n];
        let mut need_rec = vec![false; m_n];
        for s in &specs {
            for (mi, &m) in setup.max_dets.iter().enumerate() {
                if m == s.max_dets {
                    if s.ap {
                        need_prec[mi] = true;
                    } else {
                        need_rec[mi] = true;
                    }
                }
            }
        }
        // Default class of a detection: per area range, FP at the last IoU threshold (the
        // state it has in most lanes).
        let mut classes: Vec<Vec<bool>> = Vec::new();
        let class_of = |st: &[u8], classes: &mut Vec<Vec<bool>>| -> u16 {
            let mask: Vec<bool> = (0..a_n).map(|a| st[a * t_n + t_n - 1] == FP).collect();
            match classes.iter().position(|c| *c == mask) {
                Some(i) => i as u16,
                None => {
                    classes.push(mask);
                    (classes.len() - 1) as u16
                }
            }
        };
        let sorted: Vec<Vec<(f64, u32, u32)>> = (0..k_n)
            .into_par_iter()
            .map(|k| {
                let live: Vec<usize> = mt
                    .units
                    .slots_of(k * n_img..(k + 1) * n_img)
                    .filter(|&s| !mt.empty[s])
                    .collect();
                sorted_detections(mt, &live)
            })
            .collect();
        let mut cats = Vec::with_capacity(k_n);
        for (k, all) in sorted.iter().enumerate() {
            let n = all.len();
            let mut c = CatData {
                img: Vec::with_capacity(n),
                cls: Vec::with_capacity(n),
                rank: Vec::with_capacity(n),
                spec: Vec::with_capacity(n),
                marks: Vec::new(),
                diff_off: vec![0],
                diffs: Vec::new(),
                recall_tp: Vec::new(),
                gt_img: Vec::new(),
                gt_npig: Vec::new(),
            };
            let mut i = 0;
            while i < all.len() {
                let (score, u, _) = all[i];
                let mut j = i + 1;
                while j < all.len() && all[j].1 == u && same_score(all[j].0, score) {
                    j += 1;
                }
                for (q, &(_, u, rank)) in all[i..j].iter().enumerate() {
                    let base = (mt.off[u as usize] + rank) as usize * at;
                    let st = &mt.states[base..base + at];
                    let cls = class_of(st, &mut classes);
                    let mask = &classes[cls as usize];
                    let start = c.diffs.len();
                    for (lane, &s) in st.iter().enumerate() {
                        let dflt = mask[lane / t_n];
                        let adj = (s == FP) as i8 - dflt as i8;
                        if s == TP || adj != 0 {
                            c.diffs.push(Diff {
                                lane: lane as u16,
                                tp: s == TP,
                                adj,
                            });
                        }
                    }
                    let pos = c.img.len() as u32;
                    let spec = if c.diffs.len() > start {
                        c.diff_off.push(c.diffs.len() as u32);
                        if j - i == 1 {
                            c.marks.push((pos, 1));
                        }
                        (c.diff_off.len() - 2) as u32
                    } else {
                        NONE
                    };
                    if q == 0 && j - i > 1 {
                        c.marks.push((pos, (j - i) as u32));
                    }
                    c.img.push((mt.units.unit(u as usize) - k * n_img) as u32);
                    c.cls.push(cls);
                    c.rank.push(rank);
                    c.spec.push(spec);
                }
                i = j;
            }
            for mi in 0..m_n {
                if need_prec[mi] || !need_rec[mi] {
                    c.recall_tp.push(Default::default());
                    continue;
                }
                let mut ranges: Vec<(u32, u16, u16)> = Vec::new();
                for e in 0..c.img.len() {
                    let sp = c.spec[e];
                    if sp == NONE || c.rank[e] as usize >= setup.max_dets[mi] {
                        continue;
                    }
                    let mut open: Option<(u16, u16)> = None;
                    for d in c.diffs
                        [c.diff_off[sp as usize] as usize..c.diff_off[sp as usize + 1] as usize]
                        .iter()
                        .filter(|d| d.tp)
                    {
                        open = match open {
                            Some((lo, hi)) if hi == d.lane => Some((lo, hi + 1)),
                            Some((lo, hi)) => {
                                ranges.push((c.img[e], lo, hi));
                                Some((d.lane, d.lane + 1))
                            }
                            None => Some((d.lane, d.lane + 1)),
                        };
                    }
                    if let Some((lo, hi)) = open {
                        ranges.push((c.img[e], lo, hi));
                    }
                }
                c.recall_tp.push(ranges);
            }
            // Units without a slot have no GT.
            for s in mt.units.slots_of(k * n_img..(k + 1) * n_img) {
                let n: Vec<u32> = (0..a_n).map(|a| mt.npig(s, a, a_n)).collect();
                if n.iter().any(|&x| x > 0) {
                    c.gt_img.push((mt.units.unit(s) - k * n_img) as u32);
                    c.gt_npig.extend(n);
                }
            }
            cats.push(c);
        }
        let n_class = classes.len();
        let fp_classes = (0..a_n)
            .map(|a| {
                (0..n_class)
                    .filter(|&c| classes[c][a])
                    .map(|c| c as u16)
                    .collect()
            })
            .collect();
        Resampler {
            cats,
            fp_classes,
            n_class,
            max_det_all: setup.max_dets.last().copied().unwrap_or(0),
            t_n,
            a_n,
            rec_thrs: p.rec_thrs.clone(),
            max_dets: setup.max_dets.clone(),
            prec_slot: need_prec
                .iter()
                .scan(0, |n, &x| {
                    Some(x.then(|| {
                        *n += 1;
                        *n - 1
                    }))
                })
                .collect(),
            prec_max_dets: setup
                .max_dets
                .iter()
                .zip(&need_prec)
                .filter(|(_, &x)| x)
                .map(|(&m, _)| m)
                .collect(),
            need_rec,
            params: p.clone(),
            specs,
            k_n,
            n_img,
        }
    }

    /// Number of images the weights are indexed by (the evaluated images, in sorted-id order).
    pub fn images(&self) -> usize {
        self.n_img
    }

    pub fn scratch(&self) -> Scratch {
        let (t_n, a_n, m_n, r_n) = (self.t_n, self.a_n, self.max_dets.len(), self.rec_thrs.len());
        let at = t_n * a_n;
        let pm = self.prec_max_dets.len();
        Scratch {
            prec: Arrays {
                precision: vec![-1.0; t_n * r_n * self.k_n * a_n * pm],
                recall: Vec::new(),
                scores: Vec::new(),
                t: t_n,
                r: r_n,
                k: self.k_n,
                a: a_n,
                m: pm,
            },
            rec: Arrays {
                precision: Vec::new(),
                recall: vec![-1.0; t_n * self.k_n * a_n * m_n],
                scores: Vec::new(),
                t: t_n,
                r: r_n,
                k: self.k_n,
                a: a_n,
                m: m_n,
            },
            tp: vec![0; at],
            adj: vec![0; at],
            records: vec![Vec::new(); at],
            cum: vec![0; self.n_class],
            c_a: vec![0; a_n],
            need: Vec::new(),
        }
    }

    /// The stats of the resample in which image rank `i` is drawn `weights[i]` times.
    pub fn stats(&self, weights: &[u32], s: &mut Scratch) -> Vec<f64> {
        assert_eq!(weights.len(), self.n_img, "one weight per evaluated image");
        for k in 0..self.k_n {
            let cat = &self.cats[k];
            let mut npig = vec![0u64; self.a_n];
            for (g, &img) in cat.gt_img.iter().enumerate() {
                let w = weights[img as usize] as u64;
                for (a, n) in npig.iter_mut().enumerate() {
                    *n += w * cat.gt_npig[g * self.a_n + a] as u64;
                }
            }
            for mi in 0..self.max_dets.len() {
                if let Some(pi) = self.prec_slot[mi] {
                    self.walk(cat, k, mi, pi, weights, &npig, s);
                } else if self.need_rec[mi] {
                    self.recall_only(cat, k, mi, weights, &npig, s);
                }
            }
        }
        self.specs
            .iter()
            .map(|sp| {
                if sp.ap {
                    summarize_one(&s.prec, &self.params, &self.prec_max_dets, sp, None)
                } else {
                    summarize_one(&s.rec, &self.params, &self.max_dets, sp, None)
                }
            })
            .collect()
    }

    /// Recall of a maxDet whose precision no stat reads: weighted true-positive totals.
    fn recall_only(
        &self,
        cat: &CatData,
        k: usize,
        mi: usize,
        weights: &[u32],
        npig: &[u64],
        s: &mut Scratch,
    ) {
        // Difference array over the lanes, then its prefix sums.
        s.adj.iter_mut().for_each(|x| *x = 0);
        s.adj.push(0);
        for &(img, lo, hi) in &cat.recall_tp[mi] {
            let w = weights[img as usize] as i64;
            s.adj[lo as usize] += w;
            s.adj[hi as usize] -= w;
        }
        let mut run = 0i64;
        for (tp, d) in s.tp.iter_mut().zip(&s.adj) {
            run += d;
            *tp = run as u64;
        }
        s.adj.pop();
        let arr = &mut s.rec;
        for a in 0..self.a_n {
            for t in 0..self.t_n {
                let o = arr.ridx(t, k, a, mi);
                // npig == 0: pycocotools skips the slot (it stays -1); with no drawn
                // detection the recall is 0 = tp / npig as well.
                arr.recall[o] = if npig[a] == 0 {
                    -1.0
                } else {
                    s.tp[a * self.t_n + t] as f64 / npig[a] as f64
                };
            }
        }
    }

    /// Entry `e` with weight `w` (a detection's copies in a row, or one copy inside a tied run).
    #[inline]
    fn step(&self, cat: &CatData, e: usize, w: u64, s: &mut Scratch) {
        let sp = cat.spec[e];
        if sp != NONE {
            let sp = sp as usize;
            // False positives so far per area range, before this entry.
            for (c, cls) in s.c_a.iter_mut().zip(&self.fp_classes) {
                *c = cls.iter().map(|&cl| s.cum[cl as usize]).sum();
            }
            for d in &cat.diffs[cat.diff_off[sp] as usize..cat.diff_off[sp + 1] as usize] {
                let lane = d.lane as usize;
                if d.tp {
                    let fp = (s.c_a[lane / self.t_n] as i64 + s.adj[lane]) as u64;
                    s.tp[lane] += w;
                    let tp = s.tp[lane];
                    s.records[lane].push((tp, precision_at(tp as f64, fp as f64)));
                }
                s.adj[lane] += d.adj as i64 * w as i64;
            }
        }
        s.cum[cat.cls[e] as usize] += w;
    }

    /// Plain entries `from..to`: their weights go to their class sums.
    #[inline]
    fn plain(
        &self,
        cat: &CatData,
        from: usize,
        to: usize,
        md: u32,
        weights: &[u32],
        s: &mut Scratch,
    ) {
        let cum = &mut s.cum;
        if md as usize >= self.max_det_all {
            for (&img, &cls) in cat.img[from..to].iter().zip(&cat.cls[from..to]) {
                cum[cls as usize] += weights[img as usize] as u64;
            }
        } else {
            for ((&img, &cls), &rank) in cat.img[from..to]
                .iter()
                .zip(&cat.cls[from..to])
                .zip(&cat.rank[from..to])
            {
                if rank < md {
                    cum[cls as usize] += weights[img as usize] as u64;
                }
            }
        }
    }

    /// Precision and recall of maxDet `mi` for category `k`.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        cat: &CatData,
        k: usize,
        mi: usize,
        pi: usize,
        weights: &[u32],
        npig: &[u64],
        s: &mut Scratch,
    ) {
        let md = self.max_dets[mi] as u32;
        s.tp.iter_mut().for_each(|x| *x = 0);
        s.adj.iter_mut().for_each(|x| *x = 0);
        s.cum.iter_mut().for_each(|x| *x = 0);
        s.records.iter_mut().for_each(|r| r.clear());
        let mut i = 0;
        for &(pos, len) in &cat.marks {
            let (pos, len) = (pos as usize, len as usize);
            self.plain(cat, i, pos, md, weights, s);
            i = pos + len;
            let w = weights[cat.img[pos] as usize];
            if w == 0 || cat.rank[pos] >= md {
                continue;
            }
            if len == 1 {
                self.step(cat, pos, w as u64, s);
            } else {
                // A run of tied detections of one unit: the copies repeat it block by block.
                let n = cat.rank[pos..pos + len]
                    .iter()
                    .take_while(|&&r| r < md)
                    .count();
                for _ in 0..w {
                    for e in pos..pos + n {
                        self.step(cat, e, 1, s);
                    }
                }
            }
        }
        self.plain(cat, i, cat.img.len(), md, weights, s);
        // Drawn detections kept by the cut.
        let nd: u64 = s.cum.iter().sum();
        let (t_n, r_n) = (self.t_n, self.rec_thrs.len());
        let (prec, rec_arr) = (&mut s.prec, &mut s.rec);
        for a in 0..self.a_n {
            // Where searchsorted lands for each recall threshold: the same for every IoU.
            let npig_f = npig[a] as f64;
            s.need.clear();
            if npig[a] > 0 {
                s.need.extend(self.rec_thrs.iter().map(|&thr| {
                    if thr <= 0.0 {
                        0
                    } else {
                        first_tp_reaching(thr, npig_f)
                    }
                }));
            }
            for t in 0..t_n {
                let lane = a * t_n + t;
                let o = rec_arr.ridx(t, k, a, mi);
                // precision[t, r, k, a, pi] for r = 0, 1, ...: one stride apart.
                let q0 = prec.pidx(t, 0, k, a, pi);
                let stride = prec.a * prec.m;
                let row = &mut prec.precision[q0..q0 + (r_n - 1) * stride + 1];
                if npig[a] == 0 {
                    rec_arr.recall[o] = -1.0;
                    row.iter_mut().step_by(stride).for_each(|x| *x = -1.0);
                    continue;
                }
                if nd == 0 {
                    rec_arr.recall[o] = 0.0;
                    row.iter_mut().step_by(stride).for_each(|x| *x = 0.0);
                    continue;
                }
                let tp_total = s.tp[lane];
                rec_arr.recall[o] = tp_total as f64 / npig_f;
                // The envelope (suffix maximum) over the true positives' precisions.
                let rec = &mut s.records[lane];
                for i in (0..rec.len().saturating_sub(1)).rev() {
                    if rec[i + 1].1 > rec[i].1 {
                        rec[i].1 = rec[i + 1].1;
                    }
                }
                let mut pos = 0usize;
                let mut past_end = false;
                for (q, &need) in row.iter_mut().step_by(stride).zip(&s.need) {
                    if past_end || need > tp_total {
                        // searchsorted ran past the end: pycocotools stops there, leaving 0.
                        past_end = true;
                        *q = 0.0;
                    } else if need == 0 {
                        // searchsorted gives index 0: the envelope over everything (0 when no
                        // detection is a true positive).
                        *q = rec.first().map_or(0.0, |x| x.1);
                    } else {
                        // The record holding the event tp == need (thresholds ascend, so does
                        // pos; restart if they do not).
                        if pos >= rec.len() || (pos > 0 && rec[pos - 1].0 >= need) {
                            pos = 0;
                        }
                        while rec[pos].0 < need {
                            pos += 1;
                        }
                        *q = rec[pos].1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_tp_reaching_is_searchsorted_left() {
        for npig in [1u64, 3, 7, 10, 49, 100, 1000, 12345] {
            let nf = npig as f64;
            for thr in crate::eval::params::coco_rec_thrs()
                .into_iter()
                .filter(|&t| t > 0.0)
            {
                let slow = (1..=npig).find(|&i| (i as f64 / nf) >= thr).unwrap();
                assert_eq!(
                    first_tp_reaching(thr, nf),
                    slow,
                    "npig {} thr {}",
                    npig,
                    thr
                );
            }
        }
    }

    /// Weights of 1 are the dataset itself: the stats are `eval`'s, bit for bit.
    #[test]
    fn unit_weights_give_the_evaluation() {
        use crate::coco::{Dataset, Results};
        use crate::eval::{run_detailed, summarize::stat_specs, IouType};
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/coco-val2014-100");
        let gt = Dataset::load(&dir.join("instances_val2014_100.json")).unwrap();
        let res = Results::load(&dir.join("fakebbox100_results.json"), &gt).unwrap();
        for max_dets in [vec![1, 10, 100], vec![5, 100, 3]] {
            let mut p = Params::new(IouType::Bbox);
            p.max_dets = max_dets;
            let (ev, d) =
                run_detailed(&gt, &res, None, &p, false, &crate::progress::NoProgress).unwrap();
            let rs = Resampler::new(&p, &d.setup, &d.matched, stat_specs(&p));
            let mut sc = rs.scratch();
            assert_eq!(rs.stats(&vec![1; rs.images()], &mut sc), ev.stats);
        }
    }
}
