//! F-scores with hotcoco 1.3.0's `COCOeval.f_scores(beta)` semantics, and per class the best F at
//! IoU .50 with the score threshold that reaches it (an operating point). (Being written.)

use super::Input;
use crate::coco::Id;
use crate::eval::{Detail, Evaluation};
use crate::Result;

#[derive(Debug, Clone)]
pub struct ClassF {
    pub category_id: Id,
    pub f: f64,
    pub precision: f64,
    pub recall: f64,
    pub score_thr: f64,
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

pub fn fscores(_inp: &Input<'_>, _ev: &Evaluation, _detail: &Detail, beta: f64) -> Result<FScores> {
    Err(crate::Error::internal(format!("F-scores (beta {}) are not implemented yet", beta)))
}

impl FScores {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "beta": self.beta, "F": self.f, "F_50": self.f_50, "F_75": self.f_75,
            "per_class": self.per_class.iter().map(|c| serde_json::json!({"category_id": crate::report::id_json(c.category_id), "f": c.f, "precision": c.precision, "recall": c.recall, "score_thr": c.score_thr})).collect::<Vec<_>>(),
        })
    }
}
