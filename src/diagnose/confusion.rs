//! Cross-category confusion matrix with hotcoco 1.3.0's `COCOeval.confusion_matrix` semantics.
//! (Being written.)

use super::Input;
use crate::coco::Id;
use crate::eval::{Detail, Evaluation};
use crate::Result;

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

pub fn confusion(_inp: &Input<'_>, _ev: &Evaluation, _detail: &Detail, _cfg: &ConfusionConfig) -> Result<Confusion> {
    Err(crate::Error::internal("the confusion matrix is not implemented yet"))
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
