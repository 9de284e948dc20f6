//! `retina-tools eval PREDS [--gt GT]`: arguments → [`retina_tools::eval::Params`] → run → render.
//! Without `--gt` the ground truth is looked for where the frameworks keep it ([`find_gt`]); the
//! protocol (COCO or LVIS) follows the GT unless `--protocol` says otherwise.

use super::progress_bar::Bar;
use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::args::parse_area_rng;
use retina_tools::coco::{shapes, Dataset, Id, Results};
use retina_tools::eval::{self, IouType, Params, Protocol};
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
    /// Ground-truth file (COCO or LVIS instances JSON, may be gzip-compressed). Default: the
    /// first of $RETINA_GT, annotations/, coco/annotations/, datasets/coco/annotations/,
    /// data/coco/annotations/ and $DETECTRON2_DATASETS/coco/annotations/ that holds
    /// instances_val2017.json (person_keypoints_val2017.json for keypoints).
    #[arg(long, value_name = "GT")]
    pub gt: Option<PathBuf>,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Evaluation protocol (default: lvis when the GT's images carry neg_category_ids and
    /// not_exhaustive_category_ids and its categories a frequency, else coco).
    #[arg(long, value_enum, value_name = "coco|lvis")]
    pub protocol: Option<ProtocolArg>,
    /// LVIS: keep at most N detections per category over the whole file, by score (the v1
    /// 10,000 cap; off by default, as in lvis 0.5.3).
    #[arg(long, value_name = "N")]
    pub lvis_max_dets_per_cat: Option<usize>,
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

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Coco,
    Lvis,
}

/// The GT file name the frameworks use for this IoU type.
fn gt_file_name(iou_type: IouTypeArg) -> &'static str {
    match iou_type {
        IouTypeArg::Keypoints => "person_keypoints_val2017.json",
        _ => "instances_val2017.json",
    }
}

/// The places `eval` looks for the ground truth without `--gt`, in order (DESIGN.md §2):
/// `(where, path)`. `$RETINA_GT` is handled by [`find_gt`] before these.
fn gt_places(name: &str) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = [
        "annotations",
        "coco/annotations",
        "datasets/coco/annotations",
        "data/coco/annotations",
    ]
    .iter()
    .map(|d| {
        let p = PathBuf::from(d).join(name);
        (p.display().to_string(), p)
    })
    .collect();
    match std::env::var_os("DETECTRON2_DATASETS").filter(|s| !s.is_empty()) {
        Some(root) => {
            let p = PathBuf::from(root).join("coco/annotations").join(name);
            v.push((
                format!(
                    "$DETECTRON2_DATASETS/coco/annotations/{} ({})",
                    name,
                    p.display()
                ),
                p,
            ));
        }
        None => v.push((
            format!("$DETECTRON2_DATASETS/coco/annotations/{} (not set)", name),
            PathBuf::new(),
        )),
    }
    v
}

/// Find the ground truth when `--gt` is not given: `$RETINA_GT` (which must exist), then the
/// framework layouts under the current directory, then `$DETECTRON2_DATASETS`.
pub fn find_gt(iou_type: IouTypeArg) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os("RETINA_GT").filter(|s| !s.is_empty()) {
        let p = PathBuf::from(v);
        if !p.is_file() {
            return Err(Error::input(format!(
                "$RETINA_GT is set to {}, which is not a file",
                p.display()
            ))
            .with_hint("point RETINA_GT at the ground-truth JSON, unset it, or pass --gt GT"));
        }
        return Ok(p);
    }
    let name = gt_file_name(iou_type);
    let places = gt_places(name);
    if let Some((_, p)) = places
        .iter()
        .find(|(_, p)| !p.as_os_str().is_empty() && p.is_file())
    {
        return Ok(p.clone());
    }
    let tried: Vec<String> = std::iter::once("$RETINA_GT (not set)".to_string())
        .chain(places.into_iter().map(|(w, _)| w))
        .collect();
    Err(Error::input(format!("no ground-truth file given and no {} found", name))
        .with_hint(format!("looked in: {}; pass it with --gt GT, e.g. retina-tools eval preds.json --gt instances_val2017.json", tried.join(", "))))
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
            return Err(Error::input(format!(
                "--kpt-sigmas: '{}' must be positive finite numbers",
                s
            ))
            .with_hint("e.g. --kpt-sigmas 0.025,0.025,0.035"));
        }
    }
    Ok(p)
}

/// GT, results and (segm/keypoints) their shapes, loaded as `params.iou_type` needs them.
pub type Loaded = (
    Dataset,
    Results,
    Option<(shapes::GtShapes, shapes::DtShapes)>,
);

pub fn load(preds: &std::path::Path, gt_path: &std::path::Path, params: &Params) -> Result<Loaded> {
    if params.iou_type == IouType::Bbox {
        let (gt, _) = load_gt(gt_path, params)?;
        let (res, _) = load_preds(preds, &gt, params)?;
        return Ok((gt, res, None));
    }
    // segm/keypoints: the GT shapes (polygon rasterisation) and the results need only the GT's
    // images and categories, so the two parses run side by side; each one's serial steps and
    // uneven last chunks then overlap the other's work. GT errors are reported first, as when
    // the GT was read first.
    let timer = retina_tools::progress::PhaseTimer::from_env();
    let buf = retina_tools::io::read_file(gt_path)?;
    let gt = Dataset::parse(gt_path, &buf)?;
    timer.lap("parse GT");
    let k = params.kpt_sigmas.len();
    let (gs, rd) = rayon::join(
        || shapes::GtShapes::parse(gt_path, &buf, &gt, params.iou_type, k),
        || shapes::load_results(preds, &gt, params.iou_type, k),
    );
    let gs = gs?;
    let (res, ds) = rd?;
    timer.lap("parse GT shapes and results + shapes (together)");
    Ok((gt, res, Some((gs, ds))))
}

/// The GT and (segm/keypoints) its shapes.
pub fn load_gt(
    gt_path: &std::path::Path,
    params: &Params,
) -> Result<(Dataset, Option<shapes::GtShapes>)> {
    if params.iou_type == IouType::Bbox {
        return Ok((Dataset::load(gt_path)?, None));
    }
    let timer = retina_tools::progress::PhaseTimer::from_env();
    let buf = retina_tools::io::read_file(gt_path)?;
    let gt = Dataset::parse(gt_path, &buf)?;
    timer.lap("parse GT");
    let gs = shapes::GtShapes::parse(gt_path, &buf, &gt, params.iou_type, params.kpt_sigmas.len())?;
    timer.lap("parse GT shapes");
    Ok((gt, Some(gs)))
}

/// A results file against a loaded GT, with its shapes for segm/keypoints.
pub fn load_preds(
    preds: &std::path::Path,
    gt: &Dataset,
    params: &Params,
) -> Result<(Results, Option<shapes::DtShapes>)> {
    if params.iou_type == IouType::Bbox {
        return Ok((Results::load(preds, gt)?, None));
    }
    let timer = retina_tools::progress::PhaseTimer::from_env();
    let (res, ds) = shapes::load_results(preds, gt, params.iou_type, params.kpt_sigmas.len())?;
    timer.lap("parse results + shapes");
    Ok((res, Some(ds)))
}

/// Settle the protocol from the flag or the GT, and give LVIS its defaults (maxDets 300).
fn apply_protocol(
    a: &EvalArgs,
    gt: &Dataset,
    gt_path: &std::path::Path,
    params: &mut Params,
) -> Result<()> {
    let lvis = match a.protocol {
        Some(ProtocolArg::Lvis) => true,
        Some(ProtocolArg::Coco) => false,
        None => eval::lvis::detect(gt),
    };
    if !lvis {
        if a.lvis_max_dets_per_cat.is_some() {
            return Err(
                Error::input("--lvis-max-dets-per-cat applies to the LVIS protocol only")
                    .with_hint("add --protocol lvis, or drop the flag"),
            );
        }
        return Ok(());
    }
    eval::lvis::validate(gt, gt_path)?;
    params.protocol = Protocol::Lvis;
    params.lvis_max_dets_per_cat = a.lvis_max_dets_per_cat;
    if a.params.max_dets.is_none() {
        params.max_dets = Params::lvis(params.iou_type).max_dets;
    }
    Ok(())
}

pub fn run(a: EvalArgs) -> Result<()> {
    let mut params = params_from(&a.params)?;
    let gt_path = match &a.gt {
        Some(p) => p.clone(),
        None => {
            let p = find_gt(a.params.iou_type)?;
            if !a.global.quiet {
                eprintln!("note: using ground truth {} (no --gt given)", p.display());
            }
            p
        }
    };
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
    let (gt, res, shapes) = load(&a.preds, &gt_path, &params)?;
    apply_protocol(&a, &gt, &gt_path, &mut params)?;
    bar.finish();
    let t_load = t0.elapsed();
    let sh = shapes
        .as_ref()
        .map(|(g, d)| eval::Shapes::new(&gt, g, d, &params));
    let ev = eval::run_with(&gt, &res, sh.as_ref(), &params, &bar)?;
    let t_eval = t0.elapsed() - t_load;
    for n in &ev.notes {
        bar.note(n);
    }
    let rows = if a.per_class || a.json.is_some() {
        Some(ev.per_class(&gt))
    } else {
        None
    };

    if let Some(path) = &a.arrays {
        report::write_eval_arrays(path, &ev)?;
    }
    if let Some(path) = &a.plot_pr {
        report::plot::pr_curves(path, &ev)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || {
        report::eval_json(&ev, rows.as_deref().unwrap_or(&[]))
    })?;
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
