//! Score calibration (ECE, MCE, reliability bins) with hotcoco 1.3.0's `COCOeval.calibration`
//! semantics. (Being written.)

use super::Input;
use crate::coco::Id;
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
}

pub fn calibration(_inp: &Input<'_>, _ev: &Evaluation, _detail: &Detail, _cfg: &CalibrationConfig) -> Result<Calibration> {
    Err(crate::Error::internal("calibration is not implemented yet"))
}

impl Calibration {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "n_bins": self.n_bins, "iou_thr": self.iou_thr, "ece": self.ece, "mce": self.mce,
            "bins": self.bins.iter().map(|b| serde_json::json!({"lower": b.lower, "upper": b.upper, "avg_confidence": b.avg_confidence, "avg_accuracy": b.avg_accuracy, "count": b.count})).collect::<Vec<_>>(),
            "per_category": self.per_category.iter().map(|(id, e)| (id.to_string(), serde_json::json!(e))).collect::<serde_json::Map<_, _>>(),
        })
    }
}
