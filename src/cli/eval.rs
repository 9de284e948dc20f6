//! `retina-tools eval PREDS --gt GT`: arguments → [`retina_tools::eval::Params`] → run → render.

use super::progress_bar::Bar;
use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::coco::{shapes, Dataset, Id, Results};
use retina_tools::eval::{self, AreaRange, IouType, Params};
use retina_tools::progress::Progress;
use retina_tools::{report, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum IouTypeArg {
    Bbox,
    Segm,
    Keypoints,
}

/// Evaluate a COCO results file against a ground-truth file, exactly like pycocotools.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Results file: a JSON list of {"image_id", "category_id", "bbox", "score"}.
    #[arg(value_name = "PREDS")]
    pub preds: PathBuf,
    /// Ground-truth file (COCO instances JSON).
    #[arg(long, value_name = "GT")]
    pub gt: PathBuf,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print a per-category table (AP, AP50, AP75, APs/m/l, AR100) after the summary.
    #[arg(long)]
    pub per_class: bool,
    /// Write the machine-readable result to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write pycocotools' precision [T,R,K,A,M], recall [T,K,A,M] and scores arrays to an .npz.
    #[arg(long, value_name = "PATH.npz")]
    pub arrays: Option<PathBuf>,
    /// Draw precision/recall curves (IoU .50, .75, .50:.95; one panel per area) to .svg or .png.
    #[arg(long, value_name = "PATH")]
    pub plot_pr: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// pycocotools' evaluation parameters, shared by `eval` and the analyses built on it.
#[derive(Args, Debug, Clone)]
pub struct ParamArgs {
    /// What to compare.
    #[arg(long, value_enum, default_value = "bbox")]
    pub iou_type: IouTypeArg,
    /// Detections per image to keep, comma list (pycocotools' maxDets).
    #[arg(long, value_name = "LIST")]
    pub max_dets: Option<String>,
    /// Area ranges as label:lo,hi items (both bounds inclusive).
    #[arg(long, value_name = "LABEL:LO,HI", num_args = 1..)]
    pub area_rng: Option<Vec<String>>,
    /// Pool all categories into one (pycocotools useCats=0).
    #[arg(long)]
    pub no_cats: bool,
    /// Evaluate only these image ids (comma list).
    #[arg(long, value_name = "LIST")]
    pub img_ids: Option<String>,
    /// Evaluate only these category ids (comma list).
    #[arg(long, value_name = "LIST")]
    pub cat_ids: Option<String>,
    /// Keypoint sigmas for OKS, comma list, one per keypoint (default: COCO's 17 person sigmas).
    #[arg(long, value_name = "LIST")]
    pub kpt_sigmas: Option<String>,
}

fn parse_area_rng(items: &[String]) -> Result<Vec<AreaRange>> {
    let bad = |s: &str| {
        Error::input(format!("--area-rng: cannot read '{}'", s))
            .with_hint("use label:lo,hi items, e.g. --area-rng all:0,1e10 small:0,1024 medium:1024,9216 large:9216,1e10")
    };
    let mut out = Vec::new();
    for item in items.iter().flat_map(|s| s.split_whitespace()) {
        let (label, rng) = item.split_once(':').ok_or_else(|| bad(item))?;
        let (lo, hi) = rng.split_once(',').ok_or_else(|| bad(item))?;
        let lo: f64 = lo.trim().parse().map_err(|_| bad(item))?;
        let hi: f64 = hi.trim().parse().map_err(|_| bad(item))?;
        if label.is_empty() || lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(bad(item));
        }
        out.push(AreaRange { label: label.to_string(), lo, hi });
    }
    Ok(out)
}

pub fn params_from(a: &ParamArgs) -> Result<Params> {
    let iou_type = match a.iou_type {
        IouTypeArg::Bbox => IouType::Bbox,
        IouTypeArg::Segm => IouType::Segm,
        IouTypeArg::Keypoints => IouType::Keypoints,
    };
    let mut p = Params::new(iou_type);
    if let Some(s) = &a.max_dets {
        p.max_dets = parse_list::<usize>("--max-dets", s)?;
    }
    if let Some(items) = &a.area_rng {
        p.area_rng = parse_area_rng(items)?;
    }
    p.use_cats = !a.no_cats;
    if let Some(s) = &a.img_ids {
        p.img_ids = Some(parse_list::<Id>("--img-ids", s)?);
    }
    if let Some(s) = &a.cat_ids {
        p.cat_ids = Some(parse_list::<Id>("--cat-ids", s)?);
    }
    if let Some(s) = &a.kpt_sigmas {
        p.kpt_sigmas = parse_list::<f64>("--kpt-sigmas", s)?;
        if p.kpt_sigmas.is_empty() || p.kpt_sigmas.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
            return Err(Error::input(format!("--kpt-sigmas: '{}' must be positive finite numbers", s)).with_hint("e.g. --kpt-sigmas 0.025,0.025,0.035"));
        }
    }
    Ok(p)
}

/// GT, results and (segm/keypoints) their shapes, loaded as `params.iou_type` needs them.
pub type Loaded = (Dataset, Results, Option<(shapes::GtShapes, shapes::DtShapes)>);

pub fn load(preds: &std::path::Path, gt_path: &std::path::Path, params: &Params) -> Result<Loaded> {
    let k = params.kpt_sigmas.len();
    if params.iou_type == IouType::Bbox {
        let gt = Dataset::load(gt_path)?;
        let res = Results::load(preds, &gt)?;
        Ok((gt, res, None))
    } else {
        let timer = retina_tools::progress::PhaseTimer::from_env();
        let buf = retina_tools::io::read_file(gt_path)?;
        let gt = Dataset::parse(gt_path, &buf)?;
        timer.lap("parse GT");
        let gs = shapes::GtShapes::parse(gt_path, &buf, &gt, params.iou_type, k)?;
        drop(buf);
        timer.lap("parse GT shapes");
        let (res, ds) = shapes::load_results(preds, &gt, params.iou_type, k)?;
        timer.lap("parse results + shapes");
        Ok((gt, res, Some((gs, ds))))
    }
}

pub fn run(a: EvalArgs) -> Result<()> {
    let params = params_from(&a.params)?;
    for path in [&a.arrays, &a.plot_pr].into_iter().flatten() {
        if path.as_os_str() == "-" {
            return Err(Error::input("--arrays/--plot-pr need a file path, not '-'"));
        }
    }
    if let Some(p) = &a.plot_pr {
        report::plot::PlotFormat::from_path(p)?;
    }
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let (gt, res, shapes) = load(&a.preds, &a.gt, &params)?;
    bar.finish();
    let t_load = t0.elapsed();
    let sh = shapes.as_ref().map(|(g, d)| eval::Shapes::new(&gt, g, d, &params));
    let ev = eval::run_with(&gt, &res, sh.as_ref(), &params, &bar)?;
    let t_eval = t0.elapsed() - t_load;
    for n in &ev.notes {
        bar.note(n);
    }
    let rows = if a.per_class || a.json.is_some() { Some(ev.per_class(&gt)) } else { None };

    if let Some(path) = &a.arrays {
        report::write_eval_arrays(path, &ev)?;
    }
    if let Some(path) = &a.plot_pr {
        report::plot::pr_curves(path, &ev)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::eval_json(&ev, rows.as_deref().unwrap_or(&[])))?;
    if !to_stdout_json {
        let mut text = ev.lines.join("\n");
        text.push('\n');
        if a.per_class {
            if let Some(rows) = &rows {
                text.push('\n');
                text.push_str(&report::per_class_table(rows));
            }
        }
        print_stdout(&text)?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} images, {} GT, {} detections; load {:.3}s, evaluate {:.3}s",
            ev.counts.images,
            ev.counts.gt,
            ev.counts.dets,
            t_load.as_secs_f64(),
            t_eval.as_secs_f64()
        );
    }
    // The process exits right after this (main calls `process::exit`): leave the large
    // structures, and the mapped results file, to the OS instead of freeing and unmapping them
    // piece by piece while the worker threads are still alive.
    std::mem::forget(ev);
    std::mem::forget(sh);
    std::mem::forget((gt, res, shapes));
    Ok(())
}
