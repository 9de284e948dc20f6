//! Score calibration (ECE, MCE, reliability bins) with hotcoco 1.3.0's
//! `COCOeval.calibration(n_bins, iou_threshold)` semantics.
//!
//! hotcoco reads the per-image matching of `evaluate()`; so do we ([`Detail::matched`]): the
//! detections of every (category, image) unit, sorted by score and cut to the largest maxDets,
//! with their state at the IoU threshold `iou_thr` (which must be one of the evaluation's IoU
//! thresholds, within 1e-9) and the area range labelled `all` (the first range if none is).
//! Its rules, checked against hotcoco on hand-made cases (tests below):
//! - ignored detections (matched to a crowd / out-of-range GT, or unmatched and outside the area
//!   range) are left out; every other detection counts, correct when it is a true positive;
//! - every counted score must lie in [0, 1], else it is an error (hotcoco raises `ValueError`);
//! - bin `i` of `n` covers `[i/n, (i+1)/n)`, the last one also takes 1.0: the index is
//!   `min(trunc(score * n), n - 1)` in float64;
//! - a bin's `avg_confidence` / `avg_accuracy` are means over its detections (0 when empty),
//!   summed unit by unit in evaluation order (category-major, images by id, scores descending);
//! - `ece = Σ (count / total) · |acc − conf|` over non-empty bins in bin order, `mce` their
//!   largest gap; both 0 without detections. `per_category`: the ECE of each category that has
//!   at least one counted detection (hotcoco keys it by name; we key it by id).

use super::Input;
use crate::coco::Id;
use crate::eval::evaluate::{IGNORED, TP};
use crate::eval::{Detail, Evaluation};
use crate::Result;

#[derive(Debug, Clone, Copy)]
pub struct CalibrationConfig {
    pub n_bins: usize,
    pub iou_thr: f64,
}

#[derive(Debug, Clone)]
pub struct CalBin {
    pub lower: f64,
    pub upper: f64,
    pub avg_confidence: f64,
    pub avg_accuracy: f64,
    pub count: u64,
}

#[derive(Debug, Clone)]
pub struct Calibration {
    pub n_bins: usize,
    pub iou_thr: f64,
    pub ece: f64,
    pub mce: f64,
    pub bins: Vec<CalBin>,
    /// Per category id (the categories hotcoco lists), its ECE.
    pub per_category: Vec<(Id, f64)>,
    /// Detections counted (hotcoco's `num_detections`).
    pub num_detections: u64,
}

/// hotcoco's tolerance when it looks `iou_threshold` up among `params.iou_thrs`.
const IOU_LOOKUP_TOL: f64 = 1e-9;

pub fn calibration(
    inp: &Input<'_>,
    ev: &Evaluation,
    detail: &Detail,
    cfg: &CalibrationConfig,
) -> Result<Calibration> {
    let p = &ev.params;
    if cfg.n_bins == 0 {
        return Err(
            crate::Error::input("--calibration-bins: at least 1 bin is needed")
                .with_hint("e.g. --calibration-bins 10"),
        );
    }
    let t_idx = p
        .iou_thrs
        .iter()
        .position(|&t| (t - cfg.iou_thr).abs() < IOU_LOOKUP_TOL)
        .ok_or_else(|| {
            crate::Error::input(format!(
                "--calibration-iou: {} is not one of the evaluation's IoU thresholds {:?}",
                cfg.iou_thr, p.iou_thrs
            ))
            .with_hint(
                "calibration reads the evaluation's own matching: use one of .50, .55, ..., .95",
            )
        })?;
    let a_idx = area_all_index(p);
    let (a_n, t_n) = (p.area_rng.len(), p.iou_thrs.len());
    let mt = &detail.matched;
    let res = inp.res;
    let n_img = detail.setup.img_ids.len();
    // (confidence, correct) per detection, in hotcoco's collection order; per category too.
    let mut all: Vec<(f64, bool)> = Vec::new();
    let mut per_cat: Vec<(Id, Vec<(f64, bool)>)> = Vec::new();
    for (k, &cat) in ev.cat_ids.iter().enumerate() {
        let mut dets = Vec::new();
        for s in mt.units.slots_of(k * n_img..(k + 1) * n_img) {
            if mt.empty[s] {
                continue;
            }
            for r in mt.off[s] as usize..mt.off[s + 1] as usize {
                let st = mt.states[r * a_n * t_n + a_idx * t_n + t_idx];
                if st == IGNORED {
                    continue;
                }
                dets.push((res.detections[mt.dt_sorted[r] as usize].score, st == TP));
            }
        }
        if !dets.is_empty() {
            all.extend_from_slice(&dets);
            per_cat.push((cat, dets));
        }
    }
    let bad: Vec<f64> = all
        .iter()
        .map(|d| d.0)
        .filter(|s| !(0.0..=1.0).contains(s))
        .collect();
    if let Some(first) = bad.first() {
        return Err(crate::Error::input(format!(
            "calibration needs scores in [0, 1], found {} ({} of {} out of range)",
            first,
            bad.len(),
            all.len()
        ))
        .with_hint("raw logits or unnormalized scores land in the end bins and make the calibration error meaningless: apply a sigmoid or softmax first, or leave out --calibration"));
    }
    let bins = reliability_bins(&all, cfg.n_bins);
    let (ece, mce) = ece_mce(&bins, all.len());
    let per_category = per_cat
        .iter()
        .map(|(c, d)| (*c, ece_mce(&reliability_bins(d, cfg.n_bins), d.len()).0))
        .collect();
    Ok(Calibration {
        n_bins: cfg.n_bins,
        iou_thr: cfg.iou_thr,
        ece,
        mce,
        bins,
        per_category,
        num_detections: all.len() as u64,
    })
}

/// The area range hotcoco calls "all": the one labelled `all`, else the first.
pub fn area_all_index(p: &crate::eval::Params) -> usize {
    p.area_rng
        .iter()
        .position(|r| r.label == "all")
        .unwrap_or(0)
}

/// Equal-width bins over [0, 1] of `(confidence, correct)` pairs, means per bin.
fn reliability_bins(dets: &[(f64, bool)], n: usize) -> Vec<CalBin> {
    let mut bins: Vec<CalBin> = (0..n)
        .map(|i| CalBin {
            lower: i as f64 / n as f64,
            upper: (i + 1) as f64 / n as f64,
            avg_confidence: 0.0,
            avg_accuracy: 0.0,
            count: 0,
        })
        .collect();
    for &(conf, correct) in dets {
        // hotcoco: `((conf * n) as usize).min(n - 1)` (a float-to-int cast truncates).
        let idx = ((conf * n as f64) as usize).min(n - 1);
        let b = &mut bins[idx];
        b.avg_confidence += conf;
        b.avg_accuracy += if correct { 1.0 } else { 0.0 };
        b.count += 1;
    }
    for b in &mut bins {
        if b.count > 0 {
            let c = b.count as f64;
            b.avg_confidence /= c;
            b.avg_accuracy /= c;
        }
    }
    bins
}

/// `(ece, mce)`: count-weighted mean and maximum of `|accuracy - confidence|` over non-empty bins.
fn ece_mce(bins: &[CalBin], total: usize) -> (f64, f64) {
    if total == 0 {
        return (0.0, 0.0);
    }
    let (mut ece, mut mce) = (0.0f64, 0.0f64);
    for b in bins.iter().filter(|b| b.count > 0) {
        let gap = (b.avg_accuracy - b.avg_confidence).abs();
        ece += (b.count as f64 / total as f64) * gap;
        mce = mce.max(gap);
    }
    (ece, mce)
}

impl Calibration {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "n_bins": self.n_bins, "iou_thr": self.iou_thr, "ece": self.ece, "mce": self.mce,
            "bins": self.bins.iter().map(|b| serde_json::json!({"lower": b.lower, "upper": b.upper, "avg_confidence": b.avg_confidence, "avg_accuracy": b.avg_accuracy, "count": b.count})).collect::<Vec<_>>(),
            "per_category": self.per_category.iter().map(|(id, e)| (id.to_string(), serde_json::json!(e))).collect::<serde_json::Map<_, _>>(),
            "num_detections": self.num_detections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::{case, g, Case, D, G};

    const B: [f64; 4] = [0.0, 0.0, 10.0, 10.0];

    fn cal(c: &Case, n_bins: usize, iou_thr: f64) -> Result<Calibration> {
        let (ev, detail) = c.eval();
        calibration(
            &c.input(),
            &ev,
            &detail,
            &CalibrationConfig { n_bins, iou_thr },
        )
    }

    fn mixed() -> Case {
        let gts: Vec<G> = vec![
            g(1, 1, B),
            g(2, 1, B),
            g(2, 1, [30.0, 30.0, 5.0, 5.0]),
            g(1, 2, [20.0, 20.0, 10.0, 9.0]),
        ];
        let s = [0.0, 0.0, 3.0, 3.0];
        let dets: Vec<D> = vec![
            (1, 1, [0.0, 0.0, 10.0, 9.0], 0.95),
            (1, 1, [50.0, 50.0, 10.0, 10.0], 0.9),
            (2, 1, B, 0.8),
            (2, 1, [1.0, 1.0, 10.0, 10.0], 0.7),
            (1, 2, [20.0, 20.0, 10.0, 10.0], 0.6),
            (1, 2, s, 1.0),
            (2, 2, s, 0.0),
            (2, 2, s, 0.3),
            (2, 2, s, 0.7),
        ];
        case(&[1, 2], &gts, &dets)
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12, "{} != {}", a, b);
    }

    // Expected: hotcoco 1.3.0's `calibration(n_bins, iou_threshold)` on the same case.
    #[test]
    fn ten_bins_at_050() {
        let r = cal(&mixed(), 10, 0.5).unwrap();
        close(r.ece, 0.4611111111111111);
        close(r.mce, 0.7);
        assert_eq!(r.num_detections, 9);
        let counts: Vec<u64> = r.bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![1, 0, 0, 1, 0, 0, 1, 2, 1, 3]);
        close(r.bins[9].avg_confidence, 0.9500000000000001);
        close(r.bins[9].avg_accuracy, 0.3333333333333333);
        assert_eq!(
            (r.bins[6].avg_confidence, r.bins[6].avg_accuracy),
            (0.6, 1.0)
        );
        assert_eq!((r.bins[1].lower, r.bins[1].upper), (0.1, 0.2));
        assert_eq!(r.per_category.len(), 2);
        close(r.per_category[0].1, 0.4375);
        close(r.per_category[1].1, 0.48000000000000004);
    }

    #[test]
    fn other_bins_and_thresholds() {
        let c = mixed();
        let r = cal(&c, 4, 0.75).unwrap();
        close(r.ece, 0.32777777777777783);
        close(r.mce, 0.4125000000000001);
        close(r.bins[2].avg_confidence, 0.6666666666666666);
        close(r.per_category[0].1, 0.3375000000000001);
        close(r.per_category[1].1, 0.31999999999999995);
        let r = cal(&c, 3, 0.5).unwrap();
        close(r.ece, 0.4166666666666668);
        close(r.mce, 0.5083333333333335);
        assert_eq!(r.bins[0].upper, 0.3333333333333333);
        close(r.bins[2].avg_confidence, 0.8416666666666668);
        let r = cal(&c, 1, 0.95).unwrap();
        close(r.ece, 0.55);
        close(r.bins[0].avg_confidence, 0.6611111111111111);
        // Looked up within 1e-9; 0.53 is not an evaluated threshold.
        assert_eq!(
            cal(&c, 10, 0.55000000001).unwrap().ece,
            cal(&c, 10, 0.5).unwrap().ece
        );
        assert!(cal(&c, 10, 0.53).is_err());
    }

    #[test]
    fn crowd_matches_and_detections_past_max_dets_are_not_counted() {
        let r = cal(
            &case(&[1, 2], &[(1, 1, B, true, 0)], &[(1, 1, B, 0.9)]),
            10,
            0.5,
        )
        .unwrap();
        assert_eq!((r.ece, r.mce, r.num_detections), (0.0, 0.0, 0));
        assert!(r.per_category.is_empty());
        // The out-of-range score is past maxDets: no error.
        let mut c = case(&[1, 2], &[g(1, 1, B)], &[(1, 1, B, 0.9), (1, 1, B, -0.5)]);
        c.params.max_dets = vec![1];
        let r = cal(&c, 10, 0.5).unwrap();
        close(r.ece, 0.09999999999999998);
        assert_eq!(r.num_detections, 1);
    }

    #[test]
    fn scores_outside_0_1_are_an_error_naming_the_first_in_evaluation_order() {
        let s = [50.0, 50.0, 5.0, 5.0];
        let c = case(
            &[1, 2],
            &[g(1, 1, B)],
            &[
                (1, 1, B, 1.2),
                (1, 1, s, 1.7),
                (1, 1, s, -1.0),
                (2, 1, s, 3.0),
            ],
        );
        let e = cal(&c, 10, 0.5).unwrap_err().to_string();
        assert!(e.contains("found 1.7 (4 of 4 out of range)"), "{}", e);
    }
}
