//! `retina-tools diagnose PREDS --gt GT`: arguments → [`diagnose::Config`] → run → text, JSON,
//! HTML report and plots.

use super::anchors::{ConventionArg, GridArgs};
use super::assign::MatcherArgs;
use super::eval::{load, params_from, ParamArgs};
use super::progress_bar::Bar;
use super::{emit_json, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::assign::AssignConfig;
use retina_tools::diagnose::{self, Sections};
use retina_tools::eval;
use retina_tools::progress::Progress;
use retina_tools::report::{self, plot::PlotFormat};
use retina_tools::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlotFormatArg {
    Png,
    Svg,
}

/// Why the AP is what it is: TIDE errors, confusion, calibration, F-scores and operating points,
/// suspected annotation errors, and the misses that no anchor could catch.
#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// Results file (COCO results JSON).
    #[arg(value_name = "PREDS")]
    pub preds: PathBuf,
    /// Ground-truth file (COCO instances JSON).
    #[arg(long, value_name = "GT")]
    pub gt: PathBuf,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Section: TIDE error attribution, as the authors' tidecv computes it.
    #[arg(long, help_heading = "Sections (default: all five)")]
    pub tide: bool,
    /// Section: cross-category confusion matrix.
    #[arg(long, help_heading = "Sections (default: all five)")]
    pub confusion: bool,
    /// Section: score calibration (ECE, MCE, reliability diagram).
    #[arg(long, help_heading = "Sections (default: all five)")]
    pub calibration: bool,
    /// Section: F-scores, and per class the best F at IoU .50 with its score threshold.
    #[arg(long, help_heading = "Sections (default: all five)")]
    pub fscores: bool,
    /// Section: confident detections that look like annotation errors.
    #[arg(long, help_heading = "Sections (default: all five)")]
    pub suspects: bool,
    /// Add the anchor section: which missed objects this convention's anchors could not catch
    /// (takes `assign`'s anchor, resize and matcher flags).
    #[arg(
        long,
        value_enum,
        value_name = "CONVENTION",
        help_heading = "Sections (default: all five)"
    )]
    pub anchors: Option<ConventionArg>,
    #[command(flatten, next_help_heading = "Anchor section (with --anchors)")]
    pub grid: GridArgs,
    #[command(flatten, next_help_heading = "Anchor section (with --anchors)")]
    pub matcher: MatcherArgs,
    /// TIDE: IoU for a true positive.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        help_heading = "Section parameters"
    )]
    pub tide_pos_thr: f64,
    /// TIDE: IoU below which a detection is background.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.1,
        help_heading = "Section parameters"
    )]
    pub tide_bg_thr: f64,
    /// Confusion matrix: IoU threshold.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        help_heading = "Section parameters"
    )]
    pub confusion_iou: f64,
    /// Confusion matrix: detections per image (default: the largest maxDets).
    #[arg(long, value_name = "N", help_heading = "Section parameters")]
    pub confusion_max_det: Option<usize>,
    /// Confusion matrix: ignore detections below this score.
    #[arg(long, value_name = "S", help_heading = "Section parameters")]
    pub confusion_min_score: Option<f64>,
    /// Calibration: number of confidence bins.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        help_heading = "Section parameters"
    )]
    pub calibration_bins: usize,
    /// Calibration: IoU at which a detection is correct.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        help_heading = "Section parameters"
    )]
    pub calibration_iou: f64,
    /// F-scores: beta (1 = F1).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 1.0,
        help_heading = "Section parameters"
    )]
    pub fscore_beta: f64,
    /// Suspects: minimum detection score.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 0.9,
        help_heading = "Section parameters"
    )]
    pub suspect_score: f64,
    /// Suspects: how many to list, most confident first.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        help_heading = "Section parameters"
    )]
    pub suspects_top: usize,
    /// Write the machine-readable result to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write one self-contained HTML page (inline SVG and CSS, no scripts) with every section.
    #[arg(long, value_name = "PATH.html")]
    pub report: Option<PathBuf>,
    /// Write each plot to this directory.
    #[arg(long, value_name = "DIR")]
    pub plot_dir: Option<PathBuf>,
    /// Format of the --plot-dir plots.
    #[arg(long, value_enum, default_value = "png")]
    pub plot_format: PlotFormatArg,
    #[command(flatten)]
    pub global: GlobalArgs,
}

fn config_from(a: &DiagnoseArgs) -> Result<diagnose::Config> {
    let mut c = diagnose::Config::new();
    let any = a.tide || a.confusion || a.calibration || a.fscores || a.suspects;
    c.sections = if any {
        Sections {
            tide: a.tide,
            confusion: a.confusion,
            calibration: a.calibration,
            fscores: a.fscores,
            suspects: a.suspects,
        }
    } else {
        Sections::ALL
    };
    c.tide = diagnose::tide::TideConfig {
        pos_thr: a.tide_pos_thr,
        bg_thr: a.tide_bg_thr,
    };
    c.confusion = diagnose::confusion::ConfusionConfig {
        iou_thr: a.confusion_iou,
        max_det: a.confusion_max_det,
        min_score: a.confusion_min_score,
    };
    c.calibration = diagnose::calibration::CalibrationConfig {
        n_bins: a.calibration_bins,
        iou_thr: a.calibration_iou,
    };
    c.fscore_beta = a.fscore_beta;
    c.suspect_score = a.suspect_score;
    c.suspects_top = a.suspects_top;
    if let Some(conv) = a.anchors {
        let mut ac = AssignConfig::new(conv.into());
        ac.anchors = a.grid.config(conv)?;
        a.matcher.apply(&mut ac)?;
        ac.validate()?;
        let name = ac.anchors.convention.name();
        let mut flags = vec![format!("--convention {}", name)];
        flags.extend(a.grid.flags());
        flags.extend(a.matcher.flags());
        c.anchors = Some((ac, flags.join(" ")));
    } else if !a.grid.flags().is_empty() {
        return Err(
            Error::input("anchor flags were given without --anchors").with_hint(
                "add --anchors detectron2|torchvision|mmdet|detectron to get the anchor section",
            ),
        );
    }
    for p in [&a.report, &a.json].into_iter().flatten() {
        if p.as_os_str().is_empty() {
            return Err(Error::input("an output path is empty"));
        }
    }
    if let Some(p) = &a.report {
        if p.as_os_str() == "-" {
            return Err(Error::input("--report needs a file path, not '-'")
                .with_hint("e.g. --report diagnose.html"));
        }
    }
    c.validate()?;
    Ok(c)
}

pub fn run(a: DiagnoseArgs) -> Result<()> {
    let params = params_from(&a.params)?;
    let cfg = config_from(&a)?;
    if params.iou_type == eval::IouType::Keypoints {
        return Err(Error::input(
            "diagnose compares boxes or masks: --iou-type keypoints is not supported",
        )
        .with_hint("use --iou-type bbox or segm"));
    }
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let (gt, res, shapes) = load(&a.preds, &a.gt, &params)?;
    bar.finish();
    let t_load = t0.elapsed();
    let sh = shapes
        .as_ref()
        .map(|(g, d)| eval::Shapes::new(&gt, g, d, &params));
    let inp = diagnose::Input {
        gt: &gt,
        res: &res,
        shapes: sh.as_ref(),
        params: &params,
    };
    let dg = diagnose::run(&inp, &cfg, &bar)?;
    let t_run = t0.elapsed() - t_load;
    for n in &dg.ev.notes {
        bar.note(n);
    }
    if let Some(dir) = &a.plot_dir {
        let format = match a.plot_format {
            PlotFormatArg::Png => PlotFormat::Png,
            PlotFormatArg::Svg => PlotFormat::Svg,
        };
        let written = report::diagnose::write_plots(dir, format, &dg)?;
        if !a.global.quiet {
            eprintln!("note: {} plots written to {}", written, dir.display());
        }
    }
    if let Some(path) = &a.report {
        let title = format!("{} vs {}", a.preds.display(), a.gt.display());
        report::diagnose::write_html(path, &title, &dg)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::diagnose::json(&dg))?;
    if !to_stdout_json {
        print_stdout(&report::diagnose::text(&dg))?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} images, {} GT, {} detections; load {:.3}s, diagnose {:.3}s",
            dg.ev.counts.images,
            dg.ev.counts.gt,
            dg.ev.counts.dets,
            t_load.as_secs_f64(),
            t_run.as_secs_f64()
        );
    }
    std::mem::forget(dg);
    std::mem::forget(sh);
    std::mem::forget((gt, res, shapes));
    Ok(())
}
