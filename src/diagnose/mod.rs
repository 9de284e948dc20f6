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
