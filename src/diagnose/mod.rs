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

use crate::assign::AssignConfig;
use crate::error::{Error, Result};
use crate::eval::{ClassRow, Evaluation, IouType};
use crate::progress::Progress;

/// Which sections to compute.
#[derive(Debug, Clone, Copy)]
pub struct Sections {
    pub tide: bool,
    pub confusion: bool,
    pub calibration: bool,
    pub fscores: bool,
    pub suspects: bool,
}

impl Sections {
    /// The default: every section but the anchor one (which needs a convention).
    pub const ALL: Sections = Sections {
        tide: true,
        confusion: true,
        calibration: true,
        fscores: true,
        suspects: true,
    };
}

/// Everything `diagnose` needs beyond the evaluation parameters.
#[derive(Debug, Clone)]
pub struct Config {
    pub sections: Sections,
    pub tide: tide::TideConfig,
    pub confusion: confusion::ConfusionConfig,
    pub calibration: calibration::CalibrationConfig,
    pub fscore_beta: f64,
    pub suspect_score: f64,
    pub suspects_top: usize,
    /// The anchor section: `assign`'s config and the flags that reproduce it.
    pub anchors: Option<(AssignConfig, String)>,
}

impl Config {
    /// Defaults as hotcoco's and tidecv's (DESIGN.md §2).
    pub fn new() -> Config {
        Config {
            sections: Sections::ALL,
            tide: tide::TideConfig {
                pos_thr: 0.5,
                bg_thr: 0.1,
            },
            confusion: confusion::ConfusionConfig {
                iou_thr: 0.5,
                max_det: None,
                min_score: None,
            },
            calibration: calibration::CalibrationConfig {
                n_bins: 10,
                iou_thr: 0.5,
            },
            fscore_beta: 1.0,
            suspect_score: 0.9,
            suspects_top: 20,
            anchors: None,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let unit = |name: &str, v: f64| -> Result<()> {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::input(format!("{}: {} is not in [0, 1]", name, v))
                    .with_hint(format!("{} takes an IoU or score between 0 and 1", name)))
            }
        };
        unit("--tide-pos-thr", self.tide.pos_thr)?;
        unit("--tide-bg-thr", self.tide.bg_thr)?;
        unit("--confusion-iou", self.confusion.iou_thr)?;
        unit("--calibration-iou", self.calibration.iou_thr)?;
        if self.tide.bg_thr > self.tide.pos_thr {
            return Err(Error::input(format!(
                "--tide-bg-thr {} is above --tide-pos-thr {}",
                self.tide.bg_thr, self.tide.pos_thr
            ))
            .with_hint("TIDE's background threshold is the lower one (defaults 0.1 and 0.5)"));
        }
        if self.calibration.n_bins == 0 {
            return Err(Error::input("--calibration-bins must be at least 1")
                .with_hint("e.g. --calibration-bins 10"));
        }
        if !(self.fscore_beta.is_finite() && self.fscore_beta > 0.0) {
            return Err(Error::input(format!(
                "--fscore-beta {} must be a positive number",
                self.fscore_beta
            ))
            .with_hint("1 weighs precision and recall alike"));
        }
        if self.confusion.max_det == Some(0) {
            return Err(Error::input("--confusion-max-det must be at least 1"));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// Everything `diagnose` found.
pub struct Diagnosis {
    pub ev: Evaluation,
    pub per_class: Vec<ClassRow>,
    pub tide: Option<tide::Tide>,
    pub confusion: Option<confusion::Confusion>,
    pub calibration: Option<calibration::Calibration>,
    pub fscores: Option<fscores::FScores>,
    pub suspects: Option<suspects::Suspects>,
    pub anchors: Option<anchors::AnchorSection>,
    /// Category id → name, for the reports.
    pub names: rustc_hash::FxHashMap<crate::coco::Id, String>,
}

/// Run the evaluation once (keeping its per-image matches) and every selected section on it.
pub fn run(inp: &Input<'_>, cfg: &Config, progress: &dyn Progress) -> Result<Diagnosis> {
    cfg.validate()?;
    if inp.params.iou_type == IouType::Keypoints {
        return Err(Error::input(
            "diagnose compares boxes or masks: --iou-type keypoints is not supported",
        )
        .with_hint("use --iou-type bbox or segm"));
    }
    let timer = crate::progress::PhaseTimer::from_env();
    let (ev, detail) =
        crate::eval::run_detailed(inp.gt, inp.res, inp.shapes, inp.params, true, progress)?;
    let per_class = ev.per_class(inp.gt);
    timer.lap("diagnose: evaluation");
    let s = cfg.sections;
    // TIDE (its own matching) runs beside the sections that read the evaluation; each is
    // deterministic on its own, so running them side by side changes no number.
    let (tide, rest) = rayon::join(
        || {
            if s.tide {
                tide::tide(inp, &cfg.tide, progress).map(Some)
            } else {
                Ok(None)
            }
        },
        || -> Result<_> {
            let confusion = if s.confusion {
                Some(confusion::confusion(inp, &ev, &detail, &cfg.confusion)?)
            } else {
                None
            };
            let calibration = if s.calibration {
                Some(calibration::calibration(
                    inp,
                    &ev,
                    &detail,
                    &cfg.calibration,
                )?)
            } else {
                None
            };
            let fscores = if s.fscores {
                Some(fscores::fscores(inp, &ev, &detail, cfg.fscore_beta)?)
            } else {
                None
            };
            let suspects = if s.suspects {
                let evaluated: Vec<bool> = detail
                    .setup
                    .img_rank
                    .iter()
                    .map(|&r| r != u32::MAX)
                    .collect();
                Some(suspects::suspects(
                    inp,
                    &evaluated,
                    cfg.suspect_score,
                    cfg.suspects_top,
                ))
            } else {
                None
            };
            Ok((confusion, calibration, fscores, suspects))
        },
    );
    let tide = tide?;
    let (confusion, calibration, fscores, suspects) = rest?;
    timer.lap("diagnose: sections");
    let anchors = match &cfg.anchors {
        Some((acfg, flags)) => Some(anchors::anchor_section(
            inp,
            &detail,
            acfg,
            flags.clone(),
            progress,
        )?),
        None => None,
    };
    let names = inp
        .gt
        .categories
        .iter()
        .map(|c| (c.id, c.name.clone()))
        .collect();
    Ok(Diagnosis {
        ev,
        per_class,
        tide,
        confusion,
        calibration,
        fscores,
        suspects,
        anchors,
        names,
    })
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
        let res = Results::parse(
            path,
            serde_json::Value::from(dt).to_string().as_bytes(),
            &gt,
        )
        .expect("hand-made results parse");
        Case {
            gt,
            res,
            params: Params::new(IouType::Bbox),
        }
    }

    impl Case {
        pub fn eval(&self) -> (Evaluation, Detail) {
            eval::run_detailed(
                &self.gt,
                &self.res,
                None,
                &self.params,
                true,
                &crate::progress::NoProgress,
            )
            .expect("hand-made case evaluates")
        }
        pub fn input(&self) -> super::Input<'_> {
            super::Input {
                gt: &self.gt,
                res: &self.res,
                shapes: None,
                params: &self.params,
            }
        }
    }
}
