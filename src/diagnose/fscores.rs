//! F-scores with hotcoco 1.3.0's `COCOeval.f_scores(beta)` semantics, and per class the best F at
//! IoU .50 with the score threshold that reaches it (a deployable operating point).
//!
//! `F`, `F_50`, `F_75` (hotcoco's `F1`, `F1_50`, `F1_75`, named after beta) read the accumulated
//! precision arrays ([`Evaluation::arrays`]), area range `all` (the first if none is labelled so),
//! the largest maxDets. For each (IoU threshold t, category k), hotcoco takes the best
//! [`f_beta`] over the recall thresholds `r`, pairing the *interpolated* precision `p[t, r, k]`
//! with the recall threshold `r` itself, skipping `p < 0` (no GT); `F` is the mean over every
//! (t, k) that has one, `F_50` / `F_75` over the categories at t = .50 / .75 (found within 1e-9);
//! -1 when nothing is left.
//!
//! `per_class` is ours: a threshold a user can deploy. For category k, over the evaluator's
//! matching at IoU .50, area `all` ([`Detail::matched`]: each image's detections by descending
//! score, cut to the largest maxDets), keep the detections with `score >= s`; ignored ones
//! (crowd / out-of-range matches) count neither way, as in COCO. `precision = TP / (TP + FP)`
//! and `recall = TP / (non-ignored GT)` are the raw values at that cut (not interpolated), and
//! `s` runs over the category's distinct scores; the best F wins, the highest `s` among equal F.
//! Categories without GT are left out; a category whose F is 0 everywhere gets `score_thr: null`.
//! This is the F you get by keeping `score >= score_thr` at inference (per-image cap included).

use super::Input;
use crate::coco::Id;
use crate::eval::evaluate::{IGNORED, TP};
use crate::eval::{Detail, Evaluation};
use crate::Result;

#[derive(Debug, Clone)]
pub struct ClassF {
    pub category_id: Id,
    pub f: f64,
    pub precision: f64,
    pub recall: f64,
    /// Keep detections with `score >= score_thr`; `None` when no threshold gives a true positive.
    pub score_thr: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct FScores {
    pub beta: f64,
    /// hotcoco's `F1`/`F_beta` over IoU .50:.95, then at .50 and .75.
    pub f: f64,
    pub f_50: f64,
    pub f_75: f64,
    pub per_class: Vec<ClassF>,
}

/// hotcoco's tolerance when it looks an IoU threshold up among `params.iou_thrs`.
const IOU_LOOKUP_TOL: f64 = 1e-9;

/// F-beta of one (precision, recall) pair, in hotcoco's operation order; 0 where
/// `beta² p + r < f64::EPSILON` (the 0/0 case).
pub fn f_beta(precision: f64, recall: f64, beta: f64) -> f64 {
    let beta2 = beta * beta;
    let denom = beta2 * precision + recall;
    if denom < f64::EPSILON {
        return 0.0;
    }
    (1.0 + beta2) * precision * recall / denom
}

pub fn fscores(inp: &Input<'_>, ev: &Evaluation, detail: &Detail, beta: f64) -> Result<FScores> {
    if !beta.is_finite() || beta < 0.0 {
        return Err(crate::Error::input(format!(
            "--fscore-beta: {} must be a finite number >= 0",
            beta
        ))
        .with_hint("e.g. --fscore-beta 1 (F1), 2 (recall weighs more), 0.5"));
    }
    let p = &ev.params;
    let arr = &ev.arrays;
    let a_idx = super::calibration::area_all_index(p);
    let m_idx = arr.m.saturating_sub(1);
    let find = |x: f64| {
        p.iou_thrs
            .iter()
            .position(|&t| (t - x).abs() < IOU_LOOKUP_TOL)
    };
    let (t50, t75) = (find(0.5), find(0.75));
    // (sum, count): over all thresholds, at .50, at .75; summed t-major, then k, as hotcoco.
    let mut buckets = [(0.0f64, 0usize); 3];
    if arr.m > 0 {
        for t in 0..arr.t {
            for k in 0..arr.k {
                let best = (0..arr.r)
                    .filter_map(|r| {
                        let pr = arr.precision[arr.pidx(t, r, k, a_idx, m_idx)];
                        (pr >= 0.0).then(|| f_beta(pr, p.rec_thrs[r], beta))
                    })
                    .fold(f64::NEG_INFINITY, f64::max);
                if best > f64::NEG_INFINITY {
                    for (b, hit) in buckets
                        .iter_mut()
                        .zip([true, Some(t) == t50, Some(t) == t75])
                    {
                        if hit {
                            b.0 += best;
                            b.1 += 1;
                        }
                    }
                }
            }
        }
    }
    let mean = |(s, c): (f64, usize)| if c == 0 { -1.0 } else { s / c as f64 };
    let per_class = match t50 {
        Some(t) => per_class_operating_points(inp, ev, detail, t, beta),
        None => Vec::new(),
    };
    Ok(FScores {
        beta,
        f: mean(buckets[0]),
        f_50: mean(buckets[1]),
        f_75: mean(buckets[2]),
        per_class,
    })
}

/// The best-F score threshold of each category with GT, at IoU threshold index `t` (module docs).
fn per_class_operating_points(
    inp: &Input<'_>,
    ev: &Evaluation,
    detail: &Detail,
    t: usize,
    beta: f64,
) -> Vec<ClassF> {
    let p = &ev.params;
    let a_idx = super::calibration::area_all_index(p);
    let (a_n, t_n) = (p.area_rng.len(), p.iou_thrs.len());
    let mt = &detail.matched;
    let n_img = detail.setup.img_ids.len();
    let mut out = Vec::new();
    for (k, &cat) in ev.cat_ids.iter().enumerate() {
        let slots = mt.units.slots_of(k * n_img..(k + 1) * n_img);
        let npig: u64 = slots
            .clone()
            .filter(|&s| !mt.empty[s])
            .map(|s| mt.npig(s, a_idx, a_n) as u64)
            .sum();
        if npig == 0 {
            continue;
        }
        // (score, is TP) of every counted detection, by descending score.
        let mut dets: Vec<(f64, bool)> = Vec::new();
        for s in slots.filter(|&s| !mt.empty[s]) {
            for r in mt.off[s] as usize..mt.off[s + 1] as usize {
                let st = mt.states[r * a_n * t_n + a_idx * t_n + t];
                if st != IGNORED {
                    dets.push((inp.res.detections[mt.dt_sorted[r] as usize].score, st == TP));
                }
            }
        }
        dets.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best = ClassF {
            category_id: cat,
            f: 0.0,
            precision: 0.0,
            recall: 0.0,
            score_thr: None,
        };
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut i = 0;
        while i < dets.len() {
            // Take every detection tied at this score: `score >= s` keeps them all.
            let s = dets[i].0;
            while i < dets.len() && dets[i].0 == s {
                if dets[i].1 {
                    tp += 1;
                } else {
                    fp += 1;
                }
                i += 1;
            }
            if tp + fp == 0 {
                continue; // only ignored detections so far
            }
            let (prec, rec) = (tp as f64 / (tp + fp) as f64, tp as f64 / npig as f64);
            let f = f_beta(prec, rec, beta);
            if f > best.f {
                best = ClassF {
                    category_id: cat,
                    f,
                    precision: prec,
                    recall: rec,
                    score_thr: Some(s),
                };
            }
        }
        out.push(best);
    }
    out
}

impl FScores {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "beta": self.beta, "F": self.f, "F_50": self.f_50, "F_75": self.f_75,
            "per_class": self.per_class.iter().map(|c| serde_json::json!({"category_id": crate::report::id_json(c.category_id), "f": c.f, "precision": c.precision, "recall": c.recall, "score_thr": c.score_thr})).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::{case, g, Case, D, G};

    const B: [f64; 4] = [0.0, 0.0, 10.0, 10.0];

    fn fs(c: &Case, beta: f64) -> FScores {
        let (ev, detail) = c.eval();
        fscores(&c.input(), &ev, &detail, beta).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12, "{} != {}", a, b);
    }

    // Expected: hotcoco 1.3.0's `f_scores(beta)` on the same case.
    #[test]
    fn f1_f2_f05() {
        let gts: Vec<G> = vec![
            g(1, 1, B),
            g(2, 1, B),
            g(2, 1, [30.0, 30.0, 5.0, 5.0]),
            g(1, 2, [20.0, 20.0, 10.0, 9.0]),
        ];
        let dets: Vec<D> = vec![
            (1, 1, [0.0, 0.0, 10.0, 9.0], 0.95),
            (1, 1, [50.0, 50.0, 10.0, 10.0], 0.9),
            (2, 1, B, 0.8),
            (2, 1, [1.0, 1.0, 10.0, 10.0], 0.7),
            (1, 2, [20.0, 20.0, 10.0, 10.0], 0.6),
        ];
        let c = case(&[1, 2], &gts, &dets);
        for (beta, f, f50) in [
            (1.0, 0.7650753768844221, 0.8316582914572863),
            (2.0, 0.764128256513026, 0.8306613226452906),
            (0.5, 0.7866761679644048, 0.8556034482758619),
        ] {
            let r = fs(&c, beta);
            close(r.f, f);
            close(r.f_50, f50);
            close(r.f_75, f50);
        }
    }

    #[test]
    fn reads_the_largest_max_dets_not_the_100_slot() {
        let mut dets: Vec<D> = (0..120)
            .map(|i| (1, 1, [80.0, 80.0, 5.0, 5.0], 0.9 - 0.001 * i as f64))
            .collect();
        dets.push((1, 1, B, 0.5));
        dets.push((1, 1, [50.0, 50.0, 10.0, 10.0], 0.4));
        let mut c = case(
            &[1, 2],
            &[g(1, 1, B), g(1, 1, [50.0, 50.0, 10.0, 10.0])],
            &dets,
        );
        let r = fs(&c, 1.0);
        assert_eq!((r.f, r.f_50, r.f_75), (0.0, 0.0, 0.0));
        c.params.max_dets = vec![1, 100, 300];
        let r = fs(&c, 1.0);
        close(r.f, 0.032258064516129024);
        close(r.f_50, 0.03225806451612903);
        // Per class: both TP come last, so the best cut keeps all 122 detections.
        let pc = &r.per_class[0];
        assert_eq!(
            (pc.category_id, pc.score_thr, pc.recall),
            (1, Some(0.4), 1.0)
        );
        close(pc.precision, 2.0 / 122.0);
    }

    /// The per-class operating point against a brute force: for every candidate threshold,
    /// evaluate only the detections with `score >= s` and count TP/FP from the evaluator's states.
    #[test]
    fn per_class_operating_point_equals_brute_force() {
        let mut rng = 12345u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut gts: Vec<G> = Vec::new();
        let mut dets: Vec<D> = Vec::new();
        for img in 1..=2 {
            for _ in 0..8 {
                let cat = 1 + (next() * 2.0) as i64;
                let b = [
                    next() * 60.0,
                    next() * 60.0,
                    5.0 + next() * 30.0,
                    5.0 + next() * 30.0,
                ];
                gts.push((img, cat, b, next() < 0.1, 0));
                for _ in 0..2 {
                    let j = [
                        b[0] + next() * 6.0 - 3.0,
                        b[1] + next() * 6.0 - 3.0,
                        b[2],
                        b[3],
                    ];
                    // Scores on a coarse grid: ties across and within images.
                    dets.push((
                        img,
                        if next() < 0.8 { cat } else { 3 - cat },
                        j,
                        (next() * 10.0).floor() / 10.0,
                    ));
                }
            }
            dets.push((img, 1, [80.0, 80.0, 10.0, 10.0], 0.9));
        }
        for beta in [1.0, 2.0, 0.5] {
            let c = case(&[1, 2], &gts, &dets);
            let got = fs(&c, beta).per_class;
            for k in 0..2usize {
                let mut best = (0.0f64, None);
                let mut scores: Vec<f64> = c
                    .res
                    .detections
                    .iter()
                    .filter(|d| d.category == k as u32)
                    .map(|d| d.score)
                    .collect();
                scores.sort_by(|a, b| b.total_cmp(a));
                scores.dedup();
                for &s in &scores {
                    let mut sub = case(
                        &[1, 2],
                        &gts,
                        &dets
                            .iter()
                            .copied()
                            .filter(|d| d.3 >= s)
                            .collect::<Vec<_>>(),
                    );
                    sub.params.iou_thrs = vec![0.5];
                    sub.params.area_rng.truncate(1);
                    sub.params.cat_ids = Some(vec![k as i128 + 1]);
                    let (_, d) = sub.eval();
                    let (tp, fp) = d.matched.states.iter().fold((0u64, 0u64), |(t, f), &x| {
                        (
                            t + (x == TP) as u64,
                            f + (x == crate::eval::evaluate::FP) as u64,
                        )
                    });
                    let npig: u64 = (0..d.matched.empty.len())
                        .map(|u| d.matched.npig(u, 0, 1) as u64)
                        .sum();
                    let f = f_beta(tp as f64 / (tp + fp) as f64, tp as f64 / npig as f64, beta);
                    if f > best.0 {
                        best = (f, Some(s));
                    }
                }
                let pc = got.iter().find(|x| x.category_id == k as i128 + 1).unwrap();
                assert_eq!(
                    (pc.f, pc.score_thr),
                    best,
                    "category {} beta {}",
                    k + 1,
                    beta
                );
            }
        }
    }
}
