//! Cross-category confusion matrix with hotcoco 1.3.0's `COCOeval.confusion_matrix(iou_thr,
//! max_det, min_score)` semantics: rows are GT categories, columns predicted categories, index K
//! is background (a missed GT in the last column, an unmatched detection in the last row).
//!
//! hotcoco does not reuse COCO's per-category matching here: it matches **every** detection of an
//! image against **every** GT of the image, whatever their categories ([`match_across_categories`],
//! written once here). Its rules, each checked against hotcoco 1.3.0 on hand-made cases (tests
//! below):
//! - GT: the image's non-crowd annotations of the evaluated categories, category by category in
//!   `cat_ids` order, file order inside a category. Crowd GT take no part at all (a detection on
//!   a crowd region is a background false positive), and the `ignore` field plays no role.
//! - Detections: the evaluated categories' detections of the image, in the same category-major
//!   order, minus those with `score < min_score`; stably sorted by descending score (so ties go
//!   by category order, then file order) and cut to `max_det` **per image, all categories
//!   together** (default: the largest maxDets).
//! - Greedy in that order: a detection takes the still-unmatched GT of highest IoU with
//!   `IoU >= iou_thr` (no `1 - 1e-10` clamp); among equal IoUs the *last* GT in the order wins.
//!   IoU is plain (never crowd): the evaluator's box IoU, or its mask IoU for segm.
//! - `normalized`: each row divided by its sum (all zeros for an empty row).
//!
//! It reads the evaluator's grouping ([`Detail::grouped`], whose (category, image) units hold
//! exactly those GT and detection lists) and its resolved image and category sets.

use super::Input;
use crate::coco::Id;
use crate::eval::{evaluate, Detail, Evaluation, IouType, ShapeScratch};
use crate::geom::coco_box_iou;
use crate::Result;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy)]
pub struct ConfusionConfig {
    pub iou_thr: f64,
    /// `None`: the largest maxDets.
    pub max_det: Option<usize>,
    pub min_score: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Confusion {
    pub iou_thr: f64,
    pub max_det: usize,
    pub min_score: Option<f64>,
    pub cat_ids: Vec<Id>,
    /// `[K+1][K+1]`, rows GT category, columns predicted category, index K = background.
    pub matrix: Vec<Vec<u64>>,
    pub normalized: Vec<Vec<f64>>,
}

pub fn confusion(
    inp: &Input<'_>,
    _ev: &Evaluation,
    detail: &Detail,
    cfg: &ConfusionConfig,
) -> Result<Confusion> {
    if !cfg.iou_thr.is_finite() {
        return Err(crate::Error::input(format!(
            "--confusion-iou: {} is not a number",
            cfg.iou_thr
        ))
        .with_hint("e.g. --confusion-iou 0.5"));
    }
    let setup = &detail.setup;
    let g = &detail.grouped;
    let (gt, res) = (inp.gt, inp.res);
    // The evaluated categories, in evaluation order (the matrix axis). With useCats=0 the
    // evaluator still resolves them; the matrix keeps them apart.
    let cat_ids = setup.cat_ids.clone();
    let k = cat_ids.len();
    let side = k + 1;
    let max_det = cfg
        .max_det
        .unwrap_or_else(|| setup.max_dets.last().copied().unwrap_or(100));
    let n_img = setup.img_ids.len();
    // Matrix axis position of a GT annotation / detection, from its category.
    let gt_pos = |a: u32| -> usize {
        let c = gt
            .category_index
            .get(&gt.annotations[a as usize].category_id)
            .copied();
        c.map(|c| setup.cat_pos[c as usize] as usize)
            .unwrap_or(usize::MAX)
    };
    let dt_pos =
        |d: u32| -> usize { setup.cat_pos[res.detections[d as usize].category as usize] as usize };
    // Per image: its GT and detections, category-major. With useCats the units of image i are
    // (k, i) for every k; with useCats=0 the single unit of image i already concatenates its
    // categories in cat_ids order.
    let units_of = |i: usize| -> Vec<usize> {
        if setup.use_cats {
            (0..k).map(|c| c * n_img + i).collect()
        } else {
            vec![i]
        }
    };
    let boxes = inp.shapes.filter(|s| s.iou_type == IouType::Segm).is_none();
    // Counts are integers, so summing per-thread matrices in any order gives the same matrix:
    // one matrix per rayon fold, not one per image (81x81 u64 per image was most of the time).
    let flat =
        (0..n_img)
            .into_par_iter()
            .fold(
                || (ShapeScratch::default(), vec![0u64; side * side]),
                |(mut scratch, mut local), i| {
                    let scratch = &mut scratch;
                    let units = units_of(i);
                    let mut gts: Vec<u32> = Vec::new();
                    let mut dts: Vec<u32> = Vec::new();
                    for s in units.iter().filter_map(|&u| g.units.slot(u)) {
                        gts.extend(
                            g.gt[g.gt_start[s] as usize..g.gt_start[s + 1] as usize]
                                .iter()
                                .copied()
                                .filter(|&a| !gt.annotations[a as usize].iscrowd),
                        );
                        dts.extend(
                            g.dt[g.dt_start[s] as usize..g.dt_start[s + 1] as usize]
                                .iter()
                                .copied()
                                .filter(|&d| {
                                    cfg.min_score
                                        .is_none_or(|ms| res.detections[d as usize].score >= ms)
                                }),
                        );
                    }
                    evaluate::sort_by_score(&mut dts, res);
                    dts.truncate(max_det);
                    let mut ious = Vec::with_capacity(dts.len() * gts.len());
                    if boxes {
                        for &d in &dts {
                            let db = &res.detections[d as usize].bbox;
                            ious.extend(gts.iter().map(|&a| {
                                coco_box_iou(db, &gt.annotations[a as usize].bbox, false)
                            }));
                        }
                    } else if let Some(sh) = inp.shapes {
                        // Crowd GT were filtered out above, so the mask IoU is the plain one.
                        sh.fill_ious(gt, &dts, &gts, &mut ious, scratch, 0.0);
                    }
                    let matches = match_across_categories(&ious, dts.len(), gts.len(), cfg.iou_thr);
                    let mut gt_taken = vec![false; gts.len()];
                    for (di, m) in matches.iter().enumerate() {
                        let col = dt_pos(dts[di]);
                        match m {
                            Some(gi) => {
                                gt_taken[*gi] = true;
                                local[gt_pos(gts[*gi]) * side + col] += 1;
                            }
                            None => local[k * side + col] += 1,
                        }
                    }
                    for (gi, taken) in gt_taken.iter().enumerate() {
                        if !taken {
                            local[gt_pos(gts[gi]) * side + k] += 1;
                        }
                    }
                    (std::mem::take(scratch), local)
                },
            )
            .map(|(_, local)| local)
            .reduce(
                || vec![0u64; side * side],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(&b) {
                        *x += y;
                    }
                    a
                },
            );
    let matrix: Vec<Vec<u64>> = flat.chunks(side).map(|r| r.to_vec()).collect();
    let normalized = matrix
        .iter()
        .map(|row| {
            let s: u64 = row.iter().sum();
            row.iter()
                .map(|&x| if s == 0 { 0.0 } else { x as f64 / s as f64 })
                .collect()
        })
        .collect();
    Ok(Confusion {
        iou_thr: cfg.iou_thr,
        max_det,
        min_score: cfg.min_score,
        cat_ids,
        matrix,
        normalized,
    })
}

/// hotcoco's cross-category greedy matching of one image: `ious` is `[nd x ng]` row-major, the
/// detections in score order. Each detection, in turn, takes the unmatched GT of highest IoU
/// with `IoU >= iou_thr`; `>=` makes the last of equal IoUs win. Returns each detection's GT.
pub fn match_across_categories(
    ious: &[f64],
    nd: usize,
    ng: usize,
    iou_thr: f64,
) -> Vec<Option<usize>> {
    let mut taken = vec![false; ng];
    let mut out = Vec::with_capacity(nd);
    for di in 0..nd {
        let row = &ious[di * ng..(di + 1) * ng];
        let mut best = iou_thr;
        let mut m = None;
        for (gi, &v) in row.iter().enumerate() {
            if taken[gi] {
                continue;
            }
            if v >= best {
                best = v;
                m = Some(gi);
            }
        }
        if let Some(gi) = m {
            taken[gi] = true;
        }
        out.push(m);
    }
    out
}

impl Confusion {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "iou_thr": self.iou_thr, "max_det": self.max_det, "min_score": self.min_score,
            "cat_ids": self.cat_ids.iter().map(|&c| crate::report::id_json(c)).collect::<Vec<_>>(),
            "matrix": self.matrix, "normalized": self.normalized,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::{case, g, Case, D, G};

    const B: [f64; 4] = [0.0, 0.0, 10.0, 10.0];

    fn cm(c: &Case, iou_thr: f64, max_det: Option<usize>, min_score: Option<f64>) -> Confusion {
        let (ev, detail) = c.eval();
        confusion(
            &c.input(),
            &ev,
            &detail,
            &ConfusionConfig {
                iou_thr,
                max_det,
                min_score,
            },
        )
        .unwrap()
    }
    fn two(gts: &[G], dets: &[D]) -> Case {
        case(&[1, 2], gts, dets)
    }

    // Every expected matrix below is hotcoco 1.3.0's `confusion_matrix(...)['matrix']` on the case.
    #[test]
    fn confused_and_background_cells() {
        let c = two(
            &[g(1, 1, B), g(1, 2, [20.0, 20.0, 10.0, 10.0])],
            &[
                (1, 2, B, 0.9),
                (1, 2, [20.0, 20.0, 10.0, 10.0], 0.8),
                (2, 1, B, 0.3),
            ],
        );
        let r = cm(&c, 0.5, None, None);
        assert_eq!(r.matrix, vec![vec![0, 1, 0], vec![0, 1, 0], vec![1, 0, 0]]);
        assert_eq!(
            r.normalized,
            vec![
                vec![0.0, 1.0, 0.0],
                vec![0.0, 1.0, 0.0],
                vec![1.0, 0.0, 0.0]
            ]
        );
        assert_eq!(r.max_det, 100);
    }

    #[test]
    fn tied_scores_go_by_category_order_not_file_order() {
        let want = vec![vec![1, 0, 0], vec![0, 0, 0], vec![0, 1, 0]];
        assert_eq!(
            cm(
                &two(&[g(1, 1, B)], &[(1, 2, B, 0.9), (1, 1, B, 0.9)]),
                0.5,
                None,
                None
            )
            .matrix,
            want
        );
        assert_eq!(
            cm(
                &two(&[g(1, 1, B)], &[(1, 1, B, 0.9), (1, 2, B, 0.9)]),
                0.5,
                None,
                None
            )
            .matrix,
            want
        );
    }

    #[test]
    fn equal_iou_gt_the_last_in_category_then_file_order_wins() {
        let want = vec![vec![0, 0, 1], vec![1, 0, 0], vec![0, 0, 0]];
        assert_eq!(
            cm(
                &two(&[g(1, 1, B), g(1, 2, B)], &[(1, 1, B, 0.9)]),
                0.5,
                None,
                None
            )
            .matrix,
            want
        );
        assert_eq!(
            cm(
                &two(&[g(1, 2, B), g(1, 1, B)], &[(1, 1, B, 0.9)]),
                0.5,
                None,
                None
            )
            .matrix,
            want
        );
        // Same category, ids 5 then 3 in the file: file order (not id order) decides.
        let gts = [
            (1, 1, B, false, 5),
            (1, 1, [5.0, 0.0, 10.0, 10.0], false, 3),
        ];
        let r = cm(
            &two(
                &gts,
                &[
                    (1, 1, [2.5, 0.0, 10.0, 10.0], 0.9),
                    (1, 1, [5.0, 0.0, 10.0, 10.0], 0.8),
                ],
            ),
            0.5,
            None,
            None,
        );
        assert_eq!(r.matrix, vec![vec![1, 0, 1], vec![0, 0, 0], vec![1, 0, 0]]);
        assert_eq!(r.normalized[0], vec![0.5, 0.0, 0.5]);
    }

    #[test]
    fn crowd_gt_take_no_part() {
        let r = cm(
            &two(&[(1, 1, B, true, 0)], &[(1, 1, B, 0.9)]),
            0.5,
            None,
            None,
        );
        assert_eq!(r.matrix, vec![vec![0, 0, 0], vec![0, 0, 0], vec![1, 0, 0]]);
    }

    #[test]
    fn max_det_is_per_image_over_all_categories_and_min_score_comes_first() {
        let c = two(
            &[g(1, 1, B), g(1, 2, [50.0, 50.0, 10.0, 10.0])],
            &[(1, 1, B, 0.5), (1, 2, [50.0, 50.0, 10.0, 10.0], 0.9)],
        );
        assert_eq!(
            cm(&c, 0.5, Some(1), None).matrix,
            vec![vec![0, 0, 1], vec![0, 1, 0], vec![0, 0, 0]]
        );
        assert_eq!(
            cm(&c, 0.5, Some(1), Some(0.95)).matrix,
            vec![vec![0, 0, 1], vec![0, 0, 1], vec![0, 0, 0]]
        );
        // score == min_score is kept.
        let c = two(&[g(1, 1, B)], &[(1, 1, B, 0.5)]);
        assert_eq!(cm(&c, 0.5, None, Some(0.5)).matrix[0], vec![1, 0, 0]);
        assert_eq!(cm(&c, 0.5, None, Some(0.5000001)).matrix[0], vec![0, 0, 1]);
    }

    #[test]
    fn iou_equal_to_the_threshold_matches_without_clamp() {
        let c = two(&[g(1, 1, B)], &[(1, 1, [0.0, 0.0, 10.0, 5.0], 0.5)]);
        assert_eq!(
            cm(&c, 0.5, None, None).matrix,
            vec![vec![1, 0, 0], vec![0, 0, 0], vec![0, 0, 0]]
        );
        assert_eq!(
            cm(&c, 1.0, None, None).matrix,
            vec![vec![0, 0, 1], vec![0, 0, 0], vec![1, 0, 0]]
        );
    }

    #[test]
    fn default_max_det_is_the_largest_max_dets() {
        let dets: Vec<D> = (1..12)
            .map(|i| (1, 1, [0.0, 0.0, 10.0, 9.0], 0.1 * i as f64))
            .collect();
        let mut c = two(&[g(1, 1, B)], &dets);
        c.params.max_dets = vec![100, 10];
        assert_eq!(
            cm(&c, 0.5, None, None).matrix,
            vec![vec![1, 0, 0], vec![0, 0, 0], vec![10, 0, 0]]
        );
    }
}
