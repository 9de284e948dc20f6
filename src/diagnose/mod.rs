//! `diagnose`: why the AP is what it is. Each section is one file:
//! - [`tide`]: TIDE error attribution exactly as the authors' `tidecv` 1.0.1 computes it (its own
//!   matching and 101-point AP, a named variant beside the evaluator, sharing its IoU and data);
//! - [`confusion`], [`calibration`], [`fscores`]: hotcoco 1.3.0's `COCOeval.confusion_matrix`,
//!   `.calibration` and `.f_scores`, on the evaluator's own per-image matching and arrays;
//! - [`anchors`]: the missed GT (pycocotools' matching, IoU .50) that no anchor of a training
//!   recipe labels foreground (the `assign` matcher);
//! - [`suspects`]: confident detections that look like annotation errors.

pub mod anchors;
pub mod calibration;
pub mod confusion;
pub mod fscores;
pub mod suspects;
pub mod tide;

use crate::coco::{Dataset, Results};
use crate::eval::{Params, Shapes};

/// What every section reads: the loaded data, the masks for segm, the evaluation parameters.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub gt: &'a Dataset,
    pub res: &'a Results,
    /// `Some` for segm (mask IoU); `None` for bbox.
    pub shapes: Option<&'a Shapes<'a>>,
    pub params: &'a Params,
}

/// Hand-made cases for the sections' unit tests: a small GT and results, evaluated once as the
/// CLI does (`run_detailed` with `record_matches`). Expected values in the tests come from
/// hotcoco 1.3.0 run on the same cases.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::coco::{Dataset, Results};
    use crate::eval::{self, Detail, Evaluation, IouType, Params};

    /// A GT annotation: image, category, box, crowd, annotation id (0: its 1-based position).
    pub type G = (i64, i64, [f64; 4], bool, i64);
    /// A detection: image, category, box, score.
    pub type D = (i64, i64, [f64; 4], f64);

    pub struct Case {
        pub gt: Dataset,
        pub res: Results,
        pub params: Params,
    }

    pub fn g(img: i64, cat: i64, b: [f64; 4]) -> G {
        (img, cat, b, false, 0)
    }

    /// Images 1 and 2 (100x100), categories `cats` named `c<id>`.
    pub fn case(cats: &[i64], gts: &[G], dets: &[D]) -> Case {
        let anns: Vec<serde_json::Value> = gts
            .iter()
            .enumerate()
            .map(|(j, &(img, cat, b, crowd, id))| {
                serde_json::json!({"id": if id == 0 { j as i64 + 1 } else { id }, "image_id": img, "category_id": cat, "bbox": b, "area": b[2] * b[3], "iscrowd": crowd as i32})
            })
            .collect();
        let gt = serde_json::json!({
            "images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
            "categories": cats.iter().map(|c| serde_json::json!({"id": c, "name": format!("c{}", c)})).collect::<Vec<_>>(),
            "annotations": anns,
        });
        let dt: Vec<serde_json::Value> = dets.iter().map(|&(img, cat, b, s)| serde_json::json!({"image_id": img, "category_id": cat, "bbox": b, "score": s})).collect();
        let path = std::path::Path::new("case.json");
        let gt = Dataset::parse(path, gt.to_string().as_bytes()).expect("hand-made GT parses");
        let res = Results::parse(path, serde_json::Value::from(dt).to_string().as_bytes(), &gt).expect("hand-made results parse");
        Case { gt, res, params: Params::new(IouType::Bbox) }
    }

    impl Case {
        pub fn eval(&self) -> (Evaluation, Detail) {
            eval::run_detailed(&self.gt, &self.res, None, &self.params, true, &crate::progress::NoProgress).expect("hand-made case evaluates")
        }
        pub fn input(&self) -> super::Input<'_> {
            super::Input { gt: &self.gt, res: &self.res, shapes: None, params: &self.params }
        }
    }
}
