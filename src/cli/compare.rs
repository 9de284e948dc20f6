//! `retina-tools compare A.json B.json [C.json ...] --gt GT`: arguments → [`compare::Config`] →
//! evaluate each model and bootstrap → text, JSON, plot.

use super::eval::{load_gt, load_preds, params_from, ParamArgs};
use super::progress_bar::Bar;
use super::{emit_json, print_stdout, GlobalArgs};
use clap::Args;
use retina_tools::compare::{self, Model};
use retina_tools::eval;
use retina_tools::progress::Progress;
use retina_tools::report::{self, plot::PlotFormat};
use retina_tools::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

/// Is model B really better than A? The stats side by side, deltas to the first model and paired
/// bootstrap intervals over images (each replicate exactly pycocotools on the resample).
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Results files (COCO results JSON), two or more; deltas are taken against the first.
    #[arg(value_name = "RESULTS", num_args = 2.., required = true)]
    pub preds: Vec<PathBuf>,
    /// Ground-truth file (COCO instances JSON).
    #[arg(long, value_name = "GT")]
    pub gt: PathBuf,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Bootstrap replicates (0 = no bootstrap).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the draws (SplitMix64; replicate r uses the stream of (seed, r)).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Coverage of the percentile intervals.
    #[arg(long, value_name = "C", default_value_t = 0.95)]
    pub confidence: f64,
    /// Put every replicate's drawn image ids and stats in the JSON.
    #[arg(long)]
    pub keep_replicates: bool,
    /// List every class's AP and delta (default: the ones that moved most).
    #[arg(long)]
    pub per_class: bool,
    /// Write the machine-readable result to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Draw the per-stat deltas with their intervals and the per-class AP deltas (.svg or .png).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

pub fn run(a: CompareArgs) -> Result<()> {
    let params = params_from(&a.params)?;
    let cfg = compare::Config {
        n: a.bootstrap,
        seed: a.seed,
        confidence: a.confidence,
        keep_replicates: a.keep_replicates,
    };
    cfg.validate()?;
    if a.keep_replicates && a.json.is_none() {
        return Err(Error::input(
            "--keep-replicates puts the replicates in the JSON, but no --json was given",
        )
        .with_hint("add --json PATH (or --json -)"));
    }
    if let Some(p) = &a.plot {
        if p.as_os_str() == "-" {
            return Err(Error::input("--plot needs a file path, not '-'")
                .with_hint("e.g. --plot compare.svg"));
        }
        PlotFormat::from_path(p)?;
    }
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let (gt, gs) = load_gt(&a.gt, &params)?;
    if eval::lvis::detect(&gt) {
        return Err(Error::input(format!(
            "{}: an LVIS ground truth; compare follows the COCO protocol",
            a.gt.display()
        ))
        .with_hint("compare COCO-format datasets; evaluate LVIS results with retina-tools eval"));
    }
    let mut loaded = Vec::with_capacity(a.preds.len());
    for p in &a.preds {
        let (res, ds) = load_preds(p, &gt, &params)?;
        // A results file of another dataset: ids that happen to exist in this GT but no
        // category of it (image ids absent from the GT are already an error).
        if !res.detections.is_empty() && res.unknown_category == res.detections.len() {
            return Err(Error::input(format!("{}: none of its {} detections has a category_id of {}", p.display(), res.detections.len(), a.gt.display()))
                .with_hint("is it a results file of another dataset? compare results made on this ground truth"));
        }
        loaded.push((res, ds));
    }
    bar.finish();
    let t_load = t0.elapsed();
    let shapes: Vec<Option<eval::Shapes<'_>>> = loaded
        .iter()
        .map(|(_, ds)| {
            gs.as_ref()
                .zip(ds.as_ref())
                .map(|(g, d)| eval::Shapes::new(&gt, g, d, &params))
        })
        .collect();
    let models: Vec<Model<'_>> = loaded
        .iter()
        .zip(&shapes)
        .map(|((res, _), sh)| Model {
            res,
            shapes: sh.as_ref(),
        })
        .collect();
    let cmp = compare::run(&gt, &models, &params, &cfg, &bar)?;
    let t_run = t0.elapsed() - t_load;
    for (m, ev) in cmp.evals.iter().enumerate() {
        for n in &ev.notes {
            bar.note(&format!("[{}] {}", m, n));
        }
    }
    let paths: Vec<String> = a.preds.iter().map(|p| p.display().to_string()).collect();
    if let Some(path) = &a.plot {
        report::compare::plot(path, &cmp)?;
    }
    let to_stdout_json = emit_json(a.json.as_deref(), || report::compare::json(&cmp, &paths))?;
    if !to_stdout_json {
        print_stdout(&report::compare::text(&cmp, &paths, a.per_class))?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} models, {} images; load {:.3}s, evaluate + bootstrap {:.3}s",
            models.len(),
            cmp.evals[0].counts.images,
            t_load.as_secs_f64(),
            t_run.as_secs_f64()
        );
    }
    std::mem::forget(cmp);
    std::mem::forget(models);
    std::mem::forget(shapes);
    std::mem::forget((gt, gs, loaded));
    Ok(())
}
