//! The missed objects that no anchor could have caught: the bridge from "what the model missed"
//! to "what the anchors allow". A missed GT is one that pycocotools' matching leaves unmatched at
//! IoU .50 in the first area range (`all` by default) with the largest maxDets (100 by default),
//! and that is not ignored there (not crowd, area inside the range). For each, the `assign`
//! matcher of a convention (same anchors, resize and matcher flags) says how many anchors it
//! labels foreground for the box and the box's best anchor IoU.

use super::Input;
use crate::assign::{self, AssignConfig, MEDIUM_AREA, SMALL_AREA};
use crate::coco::Id;
use crate::error::{Error, Result};
use crate::eval::Detail;
use crate::progress::Progress;

/// The IoU threshold at which a GT counts as missed (COCO's AP50).
pub const MISS_IOU: f64 = 0.5;
/// Size classes of the section, by the GT `area` field as pycocotools' area ranges.
pub const SIZE_NAMES: [&str; 3] = ["small", "medium", "large"];

#[derive(Debug, Clone)]
pub struct MissedGt {
    pub image_id: Id,
    pub annotation_id: Id,
    pub category_id: Id,
    /// The GT `area` field, and its size class (index into [`SIZE_NAMES`]).
    pub area: f64,
    pub size: usize,
    pub bbox: [f64; 4],
    /// Anchors the convention labels foreground for this box; `None` when it drops the box.
    pub fg_anchors: Option<u64>,
    /// Best anchor IoU of the box as the convention resizes it; `None` when it drops the box.
    pub best_anchor_iou: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct AnchorSection {
    pub convention: String,
    /// The `assign` flags that reproduce the matching (for the user to run `assign` with).
    pub assign_flags: String,
    pub missed: u64,
    pub missed_without_fg_anchor: u64,
    /// Per [`SIZE_NAMES`]: (missed, missed without a foreground anchor).
    pub by_size: [(u64, u64); 3],
    /// Missed GT in image-id order, then the evaluator's GT order.
    pub missed_gt: Vec<MissedGt>,
}

fn size_class(area: f64) -> usize {
    if area < SMALL_AREA {
        0
    } else if area < MEDIUM_AREA {
        1
    } else {
        2
    }
}

/// The missed GT of an evaluation run with `record_matches` (annotation indices, unit order).
pub fn missed_gt(inp: &Input<'_>, detail: &Detail) -> Result<Vec<u32>> {
    let p = inp.params;
    let t = p
        .iou_thrs
        .iter()
        .position(|&x| x == MISS_IOU)
        .ok_or_else(|| Error::internal("the IoU thresholds do not contain 0.5"))?;
    let t_n = p.iou_thrs.len();
    let rng = p
        .area_rng
        .first()
        .ok_or_else(|| Error::internal("no area range"))?;
    let (g, m) = (&detail.grouped, &detail.matched);
    let a_n = p.area_rng.len();
    if m.gt_match.len() != m.dt_sorted.len() * a_n * t_n {
        return Err(Error::internal("the evaluation did not record its matches"));
    }
    let anns = &inp.gt.annotations;
    let mut out = Vec::new();
    let mut hit = rustc_hash::FxHashSet::default();
    for s in 0..g.units.n_slots() {
        hit.clear();
        for d in m.off[s] as usize..m.off[s + 1] as usize {
            if let Some(pos) = m.matched_gt(d, 0, t, a_n, t_n) {
                hit.insert(g.gt[g.gt_start[s] as usize + pos as usize]);
            }
        }
        for &gi in &g.gt[g.gt_start[s] as usize..g.gt_start[s + 1] as usize] {
            let a = &anns[gi as usize];
            let ignored = a.iscrowd
                || inp.shapes.is_some_and(|sh| sh.gt_ignored(gi))
                || a.area < rng.lo
                || a.area > rng.hi;
            if !ignored && !hit.contains(&gi) {
                out.push(gi);
            }
        }
    }
    Ok(out)
}

/// The section: missed GT (see [`missed_gt`]) against the anchors of `cfg`.
pub fn anchor_section(
    inp: &Input<'_>,
    detail: &Detail,
    cfg: &AssignConfig,
    assign_flags: String,
    progress: &dyn Progress,
) -> Result<AnchorSection> {
    let gt = inp.gt;
    let mut missed = missed_gt(inp, detail)?;
    // Image-id order (the grouping is category-major), then the evaluator's GT order.
    let rank: rustc_hash::FxHashMap<u32, usize> =
        missed.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    missed.sort_by_key(|&g| (gt.annotations[g as usize].image_id, rank[&g]));
    let mut images: Vec<u32> = missed
        .iter()
        .map(|&g| gt.image_index[&gt.annotations[g as usize].image_id])
        .collect();
    images.dedup();
    let per_gt = assign::gt_anchors(gt, cfg, &images, progress)?;
    let mut s = AnchorSection {
        convention: cfg.anchors.convention.name().to_string(),
        assign_flags,
        missed: 0,
        missed_without_fg_anchor: 0,
        by_size: [(0, 0); 3],
        missed_gt: Vec::with_capacity(missed.len()),
    };
    for &gi in &missed {
        let a = &gt.annotations[gi as usize];
        let hit = per_gt.get(&(a.image_id, a.id));
        let size = size_class(a.area);
        let no_fg = hit.is_none_or(|h| h.foreground == 0);
        s.missed += 1;
        s.by_size[size].0 += 1;
        if no_fg {
            s.missed_without_fg_anchor += 1;
            s.by_size[size].1 += 1;
        }
        s.missed_gt.push(MissedGt {
            image_id: a.image_id,
            annotation_id: a.id,
            category_id: a.category_id,
            area: a.area,
            size,
            bbox: a.bbox,
            fg_anchors: hit.map(|h| h.foreground),
            best_anchor_iou: hit.map(|h| h.best_iou as f64),
        });
    }
    Ok(s)
}

impl AnchorSection {
    /// The pinned `"anchors"` JSON object (DESIGN.md §2).
    pub fn to_json(&self) -> serde_json::Value {
        use crate::report::id_json;
        let by_size: serde_json::Map<String, serde_json::Value> = SIZE_NAMES
            .iter()
            .zip(&self.by_size)
            .map(|(n, (m, w))| {
                (
                    n.to_string(),
                    serde_json::json!({"missed": m, "missed_without_fg_anchor": w}),
                )
            })
            .collect();
        serde_json::json!({
            "convention": self.convention,
            "assign_flags": self.assign_flags,
            "missed": self.missed,
            "missed_without_fg_anchor": self.missed_without_fg_anchor,
            "by_size": by_size,
            "missed_gt": self.missed_gt.iter().map(|m| serde_json::json!({
                "image_id": id_json(m.image_id), "annotation_id": id_json(m.annotation_id),
                "category_id": id_json(m.category_id), "area": m.area, "bbox": m.bbox,
                "fg_anchors": m.fg_anchors, "best_anchor_iou": m.best_anchor_iou,
            })).collect::<Vec<_>>(),
        })
    }
}
