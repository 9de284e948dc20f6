//! `retina-tools focal --logits L.npy --targets T.npy`: arguments → [`focal::Config`] → run →
//! text table / JSON / Fig. 4 plot.

use super::progress_bar::Bar;
use super::{emit_json, parse_list, print_stdout, GlobalArgs};
use clap::{Args, ValueEnum};
use retina_tools::focal::{self, BackendChoice, Config, LossParams, Report};
use retina_tools::io::npy;
use retina_tools::progress::Progress;
use retina_tools::report::plot::{self, Panel, Series};
use retina_tools::{report, Error, Result};

use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// A hardware GPU if present, else the CPU.
    Auto,
    /// Any GPU adapter, software (lavapipe) included.
    Gpu,
    /// rayon on the CPU.
    Cpu,
}

/// Focal-loss statistics of dumped logits: FL, CE, α-CE and FL* totals, per class and per side,
/// a γ sweep and the paper's Fig. 4 cumulative loss curves.
#[derive(Args, Debug)]
pub struct FocalArgs {
    /// Logits .npy, float32 or float16, shape [..., C] (C or Fortran order).
    #[arg(long, value_name = "L.npy")]
    pub logits: PathBuf,
    /// Targets: integer .npy of the leading shape (0..C-1 class, -1 background, -2 ignored), or
    /// an `assign` .npz (its `labels`), or a directory of them (stacked by numeric image id).
    #[arg(long, value_name = "T.npy|NPZ|DIR")]
    pub targets: PathBuf,
    /// Focusing parameter γ of FL.
    #[arg(long, default_value_t = 2.0)]
    pub gamma: f64,
    /// Class-balance weight α of FL and α-CE (α on positives, 1-α on negatives).
    #[arg(long, default_value_t = 0.25)]
    pub alpha: f64,
    /// γ* of FL* (paper appendix A).
    #[arg(long, default_value_t = 2.0)]
    pub fl_star_gamma: f64,
    /// β of FL* (paper appendix A).
    #[arg(long, default_value_t = 1.0)]
    pub fl_star_beta: f64,
    /// γ values of the sweep and of the Fig. 4 curves (comma list).
    #[arg(long, value_name = "LIST", default_value = "0,0.5,1,2")]
    pub gammas: String,
    /// Points per Fig. 4 curve in the JSON (sample shares 0, 1/(N-1), ..., 1).
    #[arg(long, value_name = "N", default_value_t = 101)]
    pub cdf_points: usize,
    /// Draw Fig. 4 (positives and negatives, one curve per γ) to .svg or .png.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Write the machine-readable result to PATH ('-' = stdout instead of the text).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Where to compute the sums.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    #[command(flatten)]
    pub global: GlobalArgs,
}

fn config_from(a: &FocalArgs) -> Result<Config> {
    let gammas = parse_list::<f64>("--gammas", &a.gammas)?;
    if let Some(p) = &a.plot {
        plot::PlotFormat::from_path(p)?;
    }
    Config::new(
        LossParams {
            gamma: a.gamma,
            alpha: a.alpha,
            fl_star_gamma: a.fl_star_gamma,
            fl_star_beta: a.fl_star_beta,
        },
        gammas,
        a.cdf_points,
    )
}

/// Targets from a .npy, an `assign` .npz (`labels`), or a directory of those.
fn read_targets(path: &Path) -> Result<npy::IntArray> {
    if path.is_dir() {
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        let rd = std::fs::read_dir(path).map_err(|e| Error::io(path, "read", &e))?;
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|s| s.to_str()) == Some("npz") {
                if let Some(id) = p
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    files.push((id, p));
                }
            }
        }
        if files.is_empty() {
            return Err(Error::input(format!(
                "{}: no <image_id>.npz files in the directory",
                path.display()
            ))
            .with_hint("pass the --out-dir of `assign`"));
        }
        files.sort();
        let mut data = Vec::new();
        let mut per = None;
        for (_, p) in &files {
            let a = npy::read_int_from_npz(p, "labels")?;
            if a.shape.len() != 1 || per.is_some_and(|n| n != a.shape[0]) {
                return Err(Error::in_file(
                    p,
                    "labels",
                    format!(
                        "shape {:?} differs from the other images' [{}]",
                        a.shape,
                        per.unwrap_or(0)
                    ),
                ));
            }
            per = Some(a.shape[0]);
            data.extend(a.data);
        }
        return Ok(npy::IntArray {
            shape: vec![files.len(), per.unwrap_or(0)],
            fortran_order: false,
            data,
        });
    }
    if path
        .extension()
        .and_then(|s| s.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
    {
        return npy::read_int_from_npz(path, "labels");
    }
    npy::read_int(path)
}

pub fn run(a: FocalArgs) -> Result<()> {
    let cfg = config_from(&a)?;
    let bar = Bar::new(a.global.quiet);
    let t0 = Instant::now();
    bar.start("loading", 0);
    let timer = retina_tools::progress::PhaseTimer::from_env();
    let logits = npy::read_float(&a.logits)?;
    let targets = read_targets(&a.targets)?;
    timer.lap("focal: read logits + targets");
    let input = focal::FocalInput::new(logits, targets, &a.logits, &a.targets)?;
    timer.lap("focal: validate");
    bar.finish();
    let t_load = t0.elapsed();
    let choice = match a.backend {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Gpu => BackendChoice::Gpu,
        BackendArg::Cpu => BackendChoice::Cpu,
    };
    let (backend, fallback, note) = focal::gpu::select(choice)?;
    if let Some(n) = note {
        bar.note(&n);
    }
    let report = focal::run(&input, &cfg, backend.as_ref(), fallback, &bar)?;
    let t_run = t0.elapsed() - t_load;
    if let Some(p) = &a.plot {
        draw(p, &report)?;
    }
    let doc = match &a.json {
        Some(_) => serde_json::to_string_pretty(&report::focal::focal_json(&report))
            .map_err(|e| Error::internal(format!("cannot write JSON: {}", e)))?,
        None => String::new(),
    };
    let to_stdout_json = emit_json(a.json.as_deref(), || doc)?;
    if !to_stdout_json {
        print_stdout(&text(&report))?;
    }
    if !a.global.quiet {
        eprintln!(
            "note: {} on {}; load {:.3}s, compute {:.3}s",
            fmt_shape(&report.shape),
            report.adapter.as_deref().unwrap_or("cpu"),
            t_load.as_secs_f64(),
            t_run.as_secs_f64()
        );
    }
    Ok(())
}

fn fmt_shape(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", 100.0 * x))
        .unwrap_or_else(|| "-".into())
}

pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let a = &r.anchors;
    s.push_str(&format!(
        "logits {} ({} classes), backend {}{}\n",
        fmt_shape(&r.shape),
        r.num_classes,
        r.backend,
        r.adapter
            .as_ref()
            .map(|n| format!(" ({})", n))
            .unwrap_or_default()
    ));
    s.push_str(&format!(
        "anchors: {} total, {} foreground, {} background, {} ignored\n\n",
        a.total, a.foreground, a.background, a.ignored
    ));
    let p = &r.params;
    s.push_str(&format!(
        "loss (γ={} α={}; FL* γ*={} β={})\n",
        p.gamma, p.alpha, p.fl_star_gamma, p.fl_star_beta
    ));
    s.push_str(&format!(
        "{:<10} {:>14} {:>14} {:>14} {:>14}\n",
        "", "total", "positive", "negative", "/ max(1,#fg)"
    ));
    for (name, l) in &r.losses {
        s.push_str(&format!(
            "{:<10} {:>14.6e} {:>14.6e} {:>14.6e} {:>14.6e}\n",
            name, l.total, l.positive, l.negative, l.per_foreground
        ));
    }
    s.push_str("\nFL normalised as each framework does:\n");
    for n in &r.normalizers {
        s.push_str(&format!(
            "  {:<12} {:>14.6e}  ({})\n",
            n.name, n.loss, n.rule
        ));
    }
    s.push_str("\nγ sweep (FL with α); share of samples carrying 50/90/99% of the loss:\n");
    s.push_str(&format!(
        "{:>5} {:>14} {:>14} {:>14}   {:>22}   {:>22}\n",
        "γ", "total", "positive", "negative", "positives 50/90/99", "negatives 50/90/99"
    ));
    for w in &r.sweep {
        let q = |i: usize| {
            format!(
                "{}/{}/{}",
                pct(w.samples_for_loss_share[i][0]),
                pct(w.samples_for_loss_share[i][1]),
                pct(w.samples_for_loss_share[i][2])
            )
        };
        s.push_str(&format!(
            "{:>5} {:>14.6e} {:>14.6e} {:>14.6e}   {:>22}   {:>22}\n",
            w.gamma,
            w.total,
            w.positive,
            w.negative,
            q(0),
            q(1)
        ));
    }
    s
}

const COLORS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

fn draw(path: &Path, r: &Report) -> Result<()> {
    let panel = |side: usize, title: &str| Panel {
        title: title.into(),
        x_label: "fraction of samples (sorted by loss)".into(),
        y_label: "cumulative normalized loss".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        series: r
            .sweep
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.cdf[side].is_empty())
            .map(|(i, w)| {
                let (cr, cg, cb) = COLORS[i % COLORS.len()];
                Series {
                    label: format!("γ = {}", w.gamma),
                    color: plotters::style::RGBColor(cr, cg, cb),
                    points: w.cdf[side].clone(),
                }
            })
            .collect(),
    };
    let panels = [panel(0, "positive samples"), panel(1, "negative samples")];
    plot::draw_figure(
        path,
        "Cumulative focal loss (RetinaNet paper, Fig. 4)",
        &panels,
        2,
        (1100, 500),
    )
}
