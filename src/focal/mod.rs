//! Focal-loss statistics on dumped logits (`retina-tools focal`): FL, CE, α-CE and FL* sums,
//! per class and per side, a γ sweep and the paper's Fig. 4 loss CDFs.
//!
//! - [`math`]: the formulas, once (the WGSL shader mirrors them).
//! - [`input`]: logits + targets, validated, one copy of the logits in their file order.
//! - [`cpu`] and [`gpu`]: the two [`Backend`]s; both return [`Sums`] (finished in f64).
//! - [`stats`]: Fig. 4 from per-bin counts and loss sums of the pass (bins of the logits' top 16
//!   key bits), split further by counting scans where a bin is too coarse for the tolerance.

pub mod cpu;
pub mod gpu;
pub mod input;
pub mod math;
pub mod stats;

pub use input::FocalInput;
pub use math::LossParams;

use crate::error::Result;
use crate::progress::Progress;

/// Where the sums are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// A hardware GPU adapter if there is one, else the CPU (with a note).
    Auto,
    /// Any wgpu adapter, software ones (lavapipe) included; none is an error.
    Gpu,
    /// rayon on the CPU.
    Cpu,
}

/// What to compute besides the fixed losses.
#[derive(Debug, Clone)]
pub struct Config {
    pub params: LossParams,
    /// γ values of the sweep (Fig. 4).
    pub gammas: Vec<f64>,
    /// Number of Fig. 4 points per curve (sample shares 0, 1/(N-1), …, 1).
    pub cdf_points: usize,
}

/// Most γ values one run accepts (the GPU uniform holds this many).
pub const MAX_GAMMAS: usize = 16;

impl Config {
    /// Validated configuration (messages name the CLI flags, which the Python keywords mirror).
    pub fn new(params: LossParams, gammas: Vec<f64>, cdf_points: usize) -> Result<Config> {
        use crate::error::Error;
        if gammas.is_empty() || gammas.len() > MAX_GAMMAS {
            return Err(Error::input(format!(
                "--gammas: give 1 to {} values, found {}",
                MAX_GAMMAS,
                gammas.len()
            ))
            .with_hint("e.g. --gammas 0,0.5,1,2,5"));
        }
        let finite_nonneg = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::input(format!(
                    "{} must be a finite number ≥ 0, found {}",
                    name, v
                )))
            }
        };
        for &g in &gammas {
            finite_nonneg("--gammas", g)?;
        }
        finite_nonneg("--gamma", params.gamma)?;
        if !(0.0..=1.0).contains(&params.alpha) {
            return Err(
                Error::input(format!("--alpha must be in [0, 1], found {}", params.alpha))
                    .with_hint("the paper uses --alpha 0.25"),
            );
        }
        if !(params.fl_star_gamma.is_finite() && params.fl_star_gamma > 0.0) {
            return Err(Error::input(format!(
                "--fl-star-gamma must be > 0, found {}",
                params.fl_star_gamma
            ))
            .with_hint("the paper uses 2 (with β = 1) or 4 (with β = 0)"));
        }
        if !params.fl_star_beta.is_finite() {
            return Err(Error::input("--fl-star-beta must be finite"));
        }
        if cdf_points < 2 {
            return Err(
                Error::input("--cdf-points must be at least 2").with_hint("e.g. --cdf-points 101")
            );
        }
        Ok(Config {
            params,
            gammas,
            cdf_points,
        })
    }
}

/// Raw sums of one pass, unweighted by α (α_t is constant per side, so it is applied at the end).
/// Index 0 = positive elements, 1 = negative elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Sums {
    pub num_classes: usize,
    /// Σ ce per class and side: `ce[side][c]`.
    pub ce: [Vec<f64>; 2],
    /// Σ (1-p_t)^γ ce per class and side, γ = params.gamma.
    pub fl: [Vec<f64>; 2],
    /// Σ FL* per class and side.
    pub fl_star: [Vec<f64>; 2],
    /// Per sweep γ: Σ (1-p_t)^γ ce per side.
    pub sweep: Vec<[f64; 2]>,
    /// Per image (leading dimension; one image for 2-D logits): Σ FL with α_t.
    pub image_fl: Vec<f64>,
}

impl Sums {
    pub fn zeros(num_classes: usize, gammas: usize, images: usize) -> Sums {
        let z = || [vec![0.0; num_classes], vec![0.0; num_classes]];
        Sums {
            num_classes,
            ce: z(),
            fl: z(),
            fl_star: z(),
            sweep: vec![[0.0; 2]; gammas],
            image_fl: vec![0.0; images],
        }
    }
    /// Add `o` into `self`, element by element (callers fix the order of additions).
    pub fn add(&mut self, o: &Sums) {
        for s in 0..2 {
            for (a, b) in [
                (&mut self.ce[s], &o.ce[s]),
                (&mut self.fl[s], &o.fl[s]),
                (&mut self.fl_star[s], &o.fl_star[s]),
            ] {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += *y;
                }
            }
        }
        for (a, b) in self.sweep.iter_mut().zip(&o.sweep) {
            a[0] += b[0];
            a[1] += b[1];
        }
        for (a, b) in self.image_fl.iter_mut().zip(&o.image_fl) {
            *a += *b;
        }
    }
}

/// A way to compute [`Sums`]: the rayon CPU path or the WGSL compute shaders.
pub trait Backend {
    /// "cpu" or "gpu", as the JSON reports it.
    fn kind(&self) -> &'static str;
    /// The adapter's name for the GPU backend.
    fn adapter(&self) -> Option<String>;
    /// The sums and the Fig. 4 bins (the GPU backend has the CPU pass fill the bins).
    fn sums(
        &self,
        input: &FocalInput,
        cfg: &Config,
        progress: &dyn Progress,
    ) -> Result<(Sums, stats::Bins)>;
}

/// Anchor counts by label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnchorCounts {
    pub total: u64,
    pub foreground: u64,
    pub background: u64,
    pub ignored: u64,
}

/// One loss, α-weighted and finished.
#[derive(Debug, Clone, PartialEq)]
pub struct LossTotals {
    pub total: f64,
    pub positive: f64,
    pub negative: f64,
    pub per_foreground: f64,
    pub per_class: Vec<f64>,
}

/// One γ of the sweep with its Fig. 4 curves.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepEntry {
    pub gamma: f64,
    pub total: f64,
    pub positive: f64,
    pub negative: f64,
    /// [positive, negative]: (sample share, loss share) points.
    pub cdf: [Vec<(f64, f64)>; 2],
    /// [positive, negative]: share of samples carrying 50 / 90 / 99 % of the loss (None: no loss).
    pub samples_for_loss_share: [[Option<f64>; 3]; 2],
}

/// How the four frameworks would normalise the FL total.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    pub name: &'static str,
    pub normalizer: f64,
    pub loss: f64,
    pub rule: &'static str,
}

/// Everything `focal` reports.
#[derive(Debug, Clone)]
pub struct Report {
    pub backend: &'static str,
    pub adapter: Option<String>,
    pub shape: Vec<usize>,
    pub num_classes: usize,
    pub anchors: AnchorCounts,
    pub params: LossParams,
    /// fl, ce, alpha_ce, fl_star.
    pub losses: [(&'static str, LossTotals); 4],
    pub normalizers: Vec<Normalizer>,
    pub sweep: Vec<SweepEntry>,
}

/// The loss shares whose sample shares are reported (paper §3.3: "the 20% hardest positives…").
pub const LOSS_SHARES: [f64; 3] = [0.5, 0.9, 0.99];

/// Run everything: the sums and Fig. 4 bins on `backend`, then the curves (refined by counting
/// scans where a bin is too coarse). With `fallback`, a backend failure is reported as a note
/// and the CPU reruns the pass.
pub fn run(
    input: &FocalInput,
    cfg: &Config,
    backend: &dyn Backend,
    fallback: bool,
    progress: &dyn Progress,
) -> Result<Report> {
    let timer = crate::progress::PhaseTimer::from_env();
    let (kind, adapter, sums, bins) = match backend.sums(input, cfg, progress) {
        Ok((s, b)) => (backend.kind(), backend.adapter(), s, b),
        Err(e) if fallback => {
            progress.note(&format!("GPU failed ({}); computing on the CPU", e.message));
            let (s, b) = cpu::pass(input, cfg, progress);
            ("cpu", None, s, b)
        }
        Err(e) => return Err(e),
    };
    timer.lap("focal: sums + Fig. 4 bins");
    let curves = stats::curves(input, cfg, &bins, progress);
    timer.lap("focal: curves");
    Ok(finish(input, cfg, kind, adapter, &sums, curves))
}

fn finish(
    input: &FocalInput,
    cfg: &Config,
    backend: &'static str,
    adapter: Option<String>,
    s: &Sums,
    curves: stats::Curves,
) -> Report {
    let a = cfg.params.alpha;
    let counts = input.counts();
    let nfg = counts.foreground as f64;
    let per_fg = |t: f64| t / nfg.max(1.0);
    let total_of = |v: &Vec<f64>| v.iter().sum::<f64>();
    let make = |pos: &Vec<f64>, neg: &Vec<f64>, wp: f64, wn: f64| {
        let positive = wp * total_of(pos);
        let negative = wn * total_of(neg);
        let total = positive + negative;
        LossTotals {
            total,
            positive,
            negative,
            per_foreground: per_fg(total),
            per_class: pos.iter().zip(neg).map(|(p, n)| wp * p + wn * n).collect(),
        }
    };
    let fl = make(&s.fl[0], &s.fl[1], a, 1.0 - a);
    let ce = make(&s.ce[0], &s.ce[1], 1.0, 1.0);
    let ace = make(&s.ce[0], &s.ce[1], a, 1.0 - a);
    let fls = make(&s.fl_star[0], &s.fl_star[1], 1.0, 1.0);
    let normalizers = normalizers(input, fl.total, &s.image_fl);
    let sweep = cfg
        .gammas
        .iter()
        .enumerate()
        .map(|(g, &gamma)| {
            let positive = a * s.sweep[g][0];
            let negative = (1.0 - a) * s.sweep[g][1];
            SweepEntry {
                gamma,
                total: positive + negative,
                positive,
                negative,
                cdf: [curves.cdf[g][0].clone(), curves.cdf[g][1].clone()],
                samples_for_loss_share: curves.shares[g],
            }
        })
        .collect();
    Report {
        backend,
        adapter,
        shape: input.shape.clone(),
        num_classes: input.num_classes,
        anchors: counts,
        params: cfg.params.clone(),
        losses: [("fl", fl), ("ce", ce), ("alpha_ce", ace), ("fl_star", fls)],
        normalizers,
        sweep,
    }
}

/// The FL total normalised the way each framework does it (reference note §4).
fn normalizers(input: &FocalInput, fl_total: f64, image_fl: &[f64]) -> Vec<Normalizer> {
    let fg = input.image_foreground();
    let nfg: u64 = fg.iter().sum();
    // Detectron: fg_num = Σ_images (num_fg + 1), divided by max(fg_num, 1).
    let detectron = fg.iter().map(|&f| f as f64 + 1.0).sum::<f64>().max(1.0);
    // detectron2: EMA of max(num_pos, 1), initial value 100, momentum 0.9 (first update).
    let d2 = 0.9 * 100.0 + 0.1 * (nfg as f64).max(1.0);
    // torchvision: per image Σ / max(1, #fg), mean over images.
    let tv_loss = image_fl
        .iter()
        .zip(&fg)
        .map(|(l, &f)| l / (f as f64).max(1.0))
        .sum::<f64>()
        / image_fl.len().max(1) as f64;
    // mmdet: Σ / (avg_factor + float32 eps), avg_factor = Σ_images #pos.
    let mm = nfg as f64 + f32::EPSILON as f64;
    vec![
        Normalizer { name: "detectron", normalizer: detectron, loss: fl_total / detectron, rule: "sum / max(1, sum over images of (num_fg + 1))" },
        Normalizer { name: "detectron2", normalizer: d2, loss: fl_total / d2, rule: "sum / EMA of max(num_fg, 1) (initial 100, momentum 0.9; first step shown, tends to num_fg)" },
        Normalizer {
            name: "torchvision",
            normalizer: if tv_loss > 0.0 { fl_total / tv_loss } else { 1.0 },
            loss: tv_loss,
            rule: "per image sum / max(1, num_fg), then mean over images (normalizer = total / loss)",
        },
        Normalizer { name: "mmdet", normalizer: mm, loss: fl_total / mm, rule: "sum / (num_fg + float32 eps)" },
    ]
}
