//! pycocotools' per-image results (`COCOeval.evalImgs`) and IoU matrices (`COCOeval.ious`), read
//! back from an evaluation's [`Detail`] (run with `record_matches`) for callers that hand them
//! on, as the Python package does. Nothing is recomputed but the one unit's IoU matrix.

use super::evaluate::{gt_ignored, unit_ious, IGNORED};
use super::{Detail, IouType, Params, ShapeScratch, Shapes};
use crate::coco::{Dataset, Id, Results};

/// One element of `evalImgs`: `evaluateImg(imgId, catId, aRng, maxDet)` of a unit that has GT
/// or detections. Matrices are `[T x D]` / `[T x G]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalImg {
    pub image_id: Id,
    /// `-1` with useCats=0, as pycocotools.
    pub category_id: Id,
    /// Index into `Params::area_rng`.
    pub area: usize,
    pub max_det: usize,
    /// Detection indices, score order, cut to `max_det` (`dtIds` are these + 1, loadRes' ids).
    pub dt: Vec<u32>,
    /// GT annotation indices, non-ignored first (`gtIds` are their `id`s).
    pub gt: Vec<u32>,
    /// `dtMatches`: the matched GT's id (as float64; 0 = unmatched).
    pub dt_matches: Vec<f64>,
    /// `gtMatches`: the id of the (last) detection matched to each GT; 0 = none.
    pub gt_matches: Vec<f64>,
    pub gt_ignore: Vec<bool>,
    pub dt_ignore: Vec<bool>,
}

/// `evalImgs[(k * A + a) * I + i]` for unit `u = k * I + i`; `None` where pycocotools has `None`.
pub fn eval_img(
    gt: &Dataset,
    p: &Params,
    shapes: Option<&Shapes<'_>>,
    detail: &Detail,
    u: usize,
    a: usize,
) -> Option<EvalImg> {
    let (g, m, setup) = (&detail.grouped, &detail.matched, &detail.setup);
    let s = g.units.slot(u)?;
    if m.empty[s] {
        return None;
    }
    let (n_area, n_thr) = (p.area_rng.len(), p.iou_thrs.len());
    let n_img = setup.img_ids.len();
    let gts = &g.gt[g.gt_start[s] as usize..g.gt_start[s + 1] as usize];
    let lvis = setup.lvis.is_some();
    let ig: Vec<bool> = gts
        .iter()
        .map(|&gi| gt_ignored(gt, gi, &p.area_rng[a], shapes, lvis))
        .collect();
    // Stable sort by the ignore flag, and each unit position's place in that order.
    let perm: Vec<usize> = (0..gts.len())
        .filter(|&x| !ig[x])
        .chain((0..gts.len()).filter(|&x| ig[x]))
        .collect();
    let mut place = vec![0usize; gts.len()];
    for (k, &x) in perm.iter().enumerate() {
        place[x] = k;
    }
    let rows = m.off[s] as usize..m.off[s + 1] as usize;
    let (nd, ng) = (rows.len(), gts.len());
    let mut dt_matches = vec![0.0; n_thr * nd];
    let mut gt_matches = vec![0.0; n_thr * ng];
    let mut dt_ignore = vec![false; n_thr * nd];
    for (di, d) in rows.clone().enumerate() {
        let det_id = (m.dt_sorted[d] as u64 + 1) as f64;
        for t in 0..n_thr {
            dt_ignore[t * nd + di] = m.states[d * n_area * n_thr + a * n_thr + t] == IGNORED;
            if let Some(pos) = m.matched_gt(d, a, t, n_area, n_thr) {
                let pos = pos as usize;
                dt_matches[t * nd + di] = gt.annotations[gts[pos] as usize].id as f64;
                gt_matches[t * ng + place[pos]] = det_id;
            }
        }
    }
    let k = u / n_img.max(1);
    Some(EvalImg {
        image_id: setup.img_ids[u % n_img.max(1)],
        category_id: if setup.use_cats { setup.cat_ids[k] } else { -1 },
        area: a,
        max_det: *setup.max_dets.last().unwrap_or(&0),
        dt: m.dt_sorted[rows].to_vec(),
        gt: perm.iter().map(|&x| gts[x]).collect(),
        dt_matches,
        gt_matches,
        gt_ignore: perm.iter().map(|&x| ig[x]).collect(),
        dt_ignore,
    })
}

/// `ious[(imgId, catId)]` of unit `u`: `(D, G, [D x G] row-major)`, or `None` where pycocotools
/// stores `[]` (no detection or no GT; keypoints with useCats=0 never compare anything).
pub fn unit_iou_matrix(
    gt: &Dataset,
    res: &Results,
    p: &Params,
    shapes: Option<&Shapes<'_>>,
    detail: &Detail,
    u: usize,
) -> Option<(usize, usize, Vec<f64>)> {
    let (g, m) = (&detail.grouped, &detail.matched);
    let s = g.units.slot(u)?;
    let gts = &g.gt[g.gt_start[s] as usize..g.gt_start[s + 1] as usize];
    let dets = &m.dt_sorted[m.off[s] as usize..m.off[s + 1] as usize];
    if gts.is_empty() || dets.is_empty() || (p.iou_type == IouType::Keypoints && !p.use_cats) {
        return None;
    }
    let mut out = Vec::with_capacity(dets.len() * gts.len());
    unit_ious(
        gt,
        res,
        dets,
        gts,
        shapes,
        detail.setup.lvis.is_some(),
        &mut out,
        &mut ShapeScratch::default(),
        0.0,
    );
    Some((dets.len(), gts.len(), out))
}
