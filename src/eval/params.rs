//! Evaluation parameters, with pycocotools' defaults and its exact threshold values.

use crate::coco::Id;
pub use crate::coco::IouType;

/// Which evaluation protocol: pycocotools' `COCOeval` or the `lvis` package's `LVISEval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Coco,
    /// LVIS' federated protocol (see [`super::lvis`]).
    Lvis,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Coco => "coco",
            Protocol::Lvis => "lvis",
        }
    }
}

/// `LVISResults`' default `max_dets`: detections kept per image (by score), and the maxDets
/// its summary prints.
pub const LVIS_MAX_DETS_PER_IMAGE: usize = 300;

/// A labelled area range; both bounds are inclusive, as in pycocotools.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRange {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
}

/// Everything `COCOeval.params` holds, in our types.
#[derive(Debug, Clone)]
pub struct Params {
    pub iou_type: IouType,
    /// `None`: every image of the GT (`sorted(getImgIds())`).
    pub img_ids: Option<Vec<Id>>,
    /// `None`: every category of the GT (`sorted(getCatIds())`).
    pub cat_ids: Option<Vec<Id>>,
    pub use_cats: bool,
    /// As given; evaluation uses them sorted (pycocotools sorts them in `evaluate`).
    pub max_dets: Vec<usize>,
    pub area_rng: Vec<AreaRange>,
    pub iou_thrs: Vec<f64>,
    pub rec_thrs: Vec<f64>,
    /// Keypoint sigmas (`kpt_oks_sigmas`); one per keypoint. COCO's 17 by default.
    pub kpt_sigmas: Vec<f64>,
    pub protocol: Protocol,
    /// LVIS only: keep at most this many detections per category over the whole results file,
    /// by score (the v1 "fixed AP" cap; off by default, as in lvis 0.5.3).
    pub lvis_max_dets_per_cat: Option<usize>,
}

/// numpy's `linspace(start, stop, num)`: `i*step + start` with `step = (stop-start)/(num-1)`,
/// and the last element set to `stop`. pycocotools' thresholds come from it, and several of them
/// are not the nearest double to `k/100` (e.g. `0.8999999999999999`), so we compute them the
/// same way instead of writing decimals.
pub fn np_linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return vec![];
    }
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

/// pycocotools' `iouThrs = np.linspace(.5, 0.95, 10)`.
pub fn coco_iou_thrs() -> Vec<f64> {
    np_linspace(0.5, 0.95, 10)
}

/// pycocotools' `recThrs = np.linspace(.0, 1.00, 101)`.
pub fn coco_rec_thrs() -> Vec<f64> {
    np_linspace(0.0, 1.0, 101)
}

/// The default area ranges `all, small, medium, large` = `[0, 1e5²], [0, 32²], [32², 96²], [96², 1e5²]`.
pub fn default_area_ranges(iou_type: IouType) -> Vec<AreaRange> {
    let r = |label: &str, lo: f64, hi: f64| AreaRange {
        label: label.into(),
        lo,
        hi,
    };
    match iou_type {
        IouType::Keypoints => vec![
            r("all", 0.0, 1e10),
            r("medium", 1024.0, 9216.0),
            r("large", 9216.0, 1e10),
        ],
        _ => vec![
            r("all", 0.0, 1e10),
            r("small", 0.0, 1024.0),
            r("medium", 1024.0, 9216.0),
            r("large", 9216.0, 1e10),
        ],
    }
}

impl Params {
    pub fn new(iou_type: IouType) -> Params {
        Params {
            iou_type,
            img_ids: None,
            cat_ids: None,
            use_cats: true,
            max_dets: match iou_type {
                IouType::Keypoints => vec![20],
                _ => vec![1, 10, 100],
            },
            area_rng: default_area_ranges(iou_type),
            iou_thrs: coco_iou_thrs(),
            rec_thrs: coco_rec_thrs(),
            kpt_sigmas: super::keypoints::coco_sigmas(),
            protocol: Protocol::Coco,
            lvis_max_dets_per_cat: None,
        }
    }

    /// `LVISEval`'s params: COCO's thresholds and area ranges, maxDets 300 (per image).
    pub fn lvis(iou_type: IouType) -> Params {
        Params {
            max_dets: vec![LVIS_MAX_DETS_PER_IMAGE],
            protocol: Protocol::Lvis,
            ..Params::new(iou_type)
        }
    }

    /// maxDets sorted ascending, as `evaluate()` leaves them.
    pub fn sorted_max_dets(&self) -> Vec<usize> {
        let mut m = self.max_dets.clone();
        m.sort_unstable();
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_equal_numpy() {
        // Values printed by numpy 2.4 (`repr(np.linspace(...)[i])`), see the semantics note.
        let iou = coco_iou_thrs();
        assert_eq!(iou[8], 0.8999999999999999);
        assert_eq!(iou[5], 0.75);
        assert_eq!(iou[9], 0.95);
        let rec = coco_rec_thrs();
        let odd = [
            (35, 0.35000000000000003),
            (41, 0.41000000000000003),
            (47, 0.47000000000000003),
            (57, 0.5700000000000001),
            (69, 0.6900000000000001),
            (70, 0.7000000000000001),
            (82, 0.8200000000000001),
            (83, 0.8300000000000001),
            (94, 0.9400000000000001),
            (95, 0.9500000000000001),
        ];
        for (i, v) in odd {
            assert_eq!(rec[i], v, "recThrs[{}]", i);
        }
        for (i, &r) in rec.iter().enumerate() {
            if !odd.iter().any(|&(j, _)| j == i) {
                assert_eq!(r, i as f64 / 100.0, "recThrs[{}]", i);
            }
        }
    }
}
