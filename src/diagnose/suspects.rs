//! Likely annotation errors, for a person to open the image and look: a confident detection
//! (score ≥ the threshold) that overlaps no GT of any class (a missing annotation?), or that
//! matches a GT of another class while no GT of its own class overlaps it (a wrong label?).
//! Overlap is the evaluator's IoU (boxes, or masks in segm; crowd regions with crowd IoU, so a
//! detection inside a crowd region is not suspect).

use super::Input;
use crate::coco::{Id, Results};
use crate::eval::ShapeScratch;
use crate::geom::coco_box_iou;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Below this IoU a GT does not overlap a detection.
pub const NO_OVERLAP_IOU: f64 = 0.1;
/// At or above this IoU a detection matches a GT of another class (COCO's AP50 threshold).
pub const MATCH_IOU: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspectKind {
    MissingAnnotation,
    WrongLabel,
}

impl SuspectKind {
    pub fn name(self) -> &'static str {
        match self {
            SuspectKind::MissingAnnotation => "missing_annotation",
            SuspectKind::WrongLabel => "wrong_label",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Suspect {
    pub kind: SuspectKind,
    /// Index of the detection in the results file.
    pub det: u32,
    pub image_id: Id,
    pub category_id: Id,
    pub bbox: [f64; 4],
    pub score: f64,
    /// The other-class GT it matches (wrong_label); `None` for missing_annotation.
    pub gt_annotation_id: Option<Id>,
    pub gt_category_id: Option<Id>,
    /// wrong_label: its IoU with that GT; missing_annotation: its largest IoU with any GT.
    pub iou: f64,
}

#[derive(Debug, Clone)]
pub struct Suspects {
    pub min_score: f64,
    /// Confident detections examined, and how many of each kind were found (before the cut).
    pub examined: u64,
    pub missing_annotation: u64,
    pub wrong_label: u64,
    /// The `top` most confident, most confident first (file order on ties).
    pub top: Vec<Suspect>,
}

/// Find the suspects among the detections of the evaluated images and categories.
pub fn suspects(inp: &Input<'_>, img_evaluated: &[bool], min_score: f64, top: usize) -> Suspects {
    let (gt, res) = (inp.gt, inp.res);
    let mut by_image: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (j, a) in gt.annotations.iter().enumerate() {
        if let (Some(&i), true) = (
            gt.image_index.get(&a.image_id),
            gt.category_index.contains_key(&a.category_id),
        ) {
            by_image.entry(i).or_default().push(j as u32);
        }
    }
    let confident: Vec<u32> = (0..res.detections.len() as u32)
        .filter(|&d| {
            let det = &res.detections[d as usize];
            det.score >= min_score && det.category != u32::MAX && img_evaluated[det.image as usize]
        })
        .collect();
    let found: Vec<Option<Suspect>> = confident
        .par_iter()
        .map_init(
            || (ShapeScratch::default(), Vec::new()),
            |(scratch, ious), &d| classify(inp, res, &by_image, d, scratch, ious),
        )
        .collect();
    let mut all: Vec<Suspect> = found.into_iter().flatten().collect();
    let missing = all
        .iter()
        .filter(|s| s.kind == SuspectKind::MissingAnnotation)
        .count() as u64;
    let wrong = all.len() as u64 - missing;
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.det.cmp(&b.det)));
    all.truncate(top);
    Suspects {
        min_score,
        examined: confident.len() as u64,
        missing_annotation: missing,
        wrong_label: wrong,
        top: all,
    }
}

fn classify(
    inp: &Input<'_>,
    res: &Results,
    by_image: &FxHashMap<u32, Vec<u32>>,
    d: u32,
    scratch: &mut ShapeScratch,
    ious: &mut Vec<f64>,
) -> Option<Suspect> {
    let gt = inp.gt;
    let det = &res.detections[d as usize];
    let gts: &[u32] = by_image
        .get(&det.image)
        .map(|v| v.as_slice())
        .unwrap_or(&[]);
    ious.clear();
    match inp.shapes {
        None => ious.extend(gts.iter().map(|&g| {
            let a = &gt.annotations[g as usize];
            coco_box_iou(&det.bbox, &a.bbox, a.iscrowd)
        })),
        Some(sh) => sh.fill_ious(gt, &[d], gts, ious, scratch, 0.0),
    }
    let det_cat = gt.categories[det.category as usize].id;
    let (mut any, mut own) = (0.0f64, 0.0f64);
    let mut other: Option<(usize, f64)> = None;
    for (k, &g) in gts.iter().enumerate() {
        let a = &gt.annotations[g as usize];
        let v = ious[k];
        any = any.max(v);
        if a.category_id == det_cat {
            own = own.max(v);
        } else if !a.iscrowd && other.is_none_or(|(_, best)| v > best) {
            other = Some((k, v));
        }
    }
    let base = |kind, gt_ann: Option<&crate::coco::Annotation>, iou| Suspect {
        kind,
        det: d,
        image_id: gt.images[det.image as usize].id,
        category_id: det_cat,
        bbox: det.bbox,
        score: det.score,
        gt_annotation_id: gt_ann.map(|a| a.id),
        gt_category_id: gt_ann.map(|a| a.category_id),
        iou,
    };
    if any < NO_OVERLAP_IOU {
        return Some(base(SuspectKind::MissingAnnotation, None, any));
    }
    match other {
        Some((k, v)) if v >= MATCH_IOU && own < NO_OVERLAP_IOU => Some(base(
            SuspectKind::WrongLabel,
            Some(&gt.annotations[gts[k] as usize]),
            v,
        )),
        _ => None,
    }
}

impl Suspects {
    /// The pinned `"suspects"` JSON list (DESIGN.md §2).
    pub fn to_json(&self) -> serde_json::Value {
        use crate::report::id_json;
        serde_json::Value::Array(
            self.top
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "kind": s.kind.name(), "image_id": id_json(s.image_id), "category_id": id_json(s.category_id),
                        "bbox": s.bbox, "score": s.score, "gt_annotation_id": s.gt_annotation_id.map(id_json),
                        "gt_category_id": s.gt_category_id.map(id_json), "iou": s.iou,
                    })
                })
                .collect(),
        )
    }
}
