//! `anchors --fit`: the anchor configuration (base size per level or one stride multiple, scales
//! per octave, aspect ratios, at most `budget` anchors per location) that maximises GT coverage
//! as `assign` measures it. Candidates are scored by the real matcher on a prepared index of the
//! GT ([`score`]), searched by [`search`]; the default and the winner are then measured by
//! [`crate::assign::run`] itself, so the reported numbers are `assign`'s. [`snippets`] writes the
//! winner in detectron2's, mmdetection's and torchvision's own configuration terms.

pub mod score;
pub mod search;
pub mod snippets;

use crate::anchors::AnchorConfig;
use crate::assign::matcher::MatchParams;
use crate::assign::{self, AssignConfig, Stats};
use crate::coco::Dataset;
use crate::error::{Error, Result};
use crate::progress::Progress;
use rustc_hash::FxHashMap;
use score::{GtIndex, Score};
use search::{Scored, Shape, Space, Strategy};

/// What the fit maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Share of GT boxes with ≥ 1 foreground anchor, without low-quality matches.
    Coverage,
    /// Share of GT boxes whose best anchor IoU is ≥ `--pos-iou`.
    Recall,
    /// Mean over GT boxes of the best anchor IoU.
    MeanBestIou,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Coverage => "coverage",
            Objective::Recall => "recall",
            Objective::MeanBestIou => "mean-best-iou",
        }
    }
    /// The objective's value in `assign`'s statistics.
    pub fn of_stats(self, s: &Stats) -> f64 {
        match self {
            Objective::Coverage => s.coverage[0].share,
            Objective::Recall => s.recall,
            Objective::MeanBestIou => s.mean_best_iou,
        }
    }
}

/// How base sizes are parametrised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeMode {
    /// One base size per level.
    PerLevel,
    /// One common multiple of the stride (mmdet `octave_base_scale`, Detectron `ANCHOR_SCALE`).
    StrideMultiple,
}

/// One point of the search space.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub sizes: Vec<f64>,
    pub scales_per_octave: u32,
    pub aspect_ratios: Vec<f64>,
}

impl Candidate {
    fn of(a: &AnchorConfig) -> Candidate {
        Candidate {
            sizes: a.sizes.clone(),
            scales_per_octave: a.scales_per_octave,
            aspect_ratios: a.aspect_ratios.clone(),
        }
    }
    fn key(&self) -> Vec<u64> {
        let mut k: Vec<u64> = self.sizes.iter().map(|v| v.to_bits()).collect();
        k.push(self.scales_per_octave as u64);
        k.extend(self.aspect_ratios.iter().map(|v| v.to_bits()));
        k
    }
    /// The anchor configuration: `base` with this candidate's sizes, scales and ratios.
    pub fn anchors(&self, base: &AnchorConfig) -> AnchorConfig {
        AnchorConfig {
            sizes: self.sizes.clone(),
            scales_per_octave: self.scales_per_octave,
            aspect_ratios: self.aspect_ratios.clone(),
            ..base.clone()
        }
    }
}

/// Default evaluation budget and search sample (tuned for < 1 minute on 5,000 images, 2 cores).
pub const DEFAULT_EVALUATIONS: usize = 400;
pub const DEFAULT_SAMPLE_BOXES: u64 = 6000;
/// Below this IoU the search's scorer does not look for a GT's exact best anchor (see
/// [`score::GtIndex::score`]); coverage and recall do not need it.
pub const SEARCH_BEST_IOU_FLOOR: f32 = 0.5;
/// How many of the best sampled candidates are re-scored on all images.
pub const VERIFY_TOP: usize = 5;

/// Everything the fit needs, validated by [`FitConfig::validate`].
#[derive(Debug, Clone)]
pub struct FitConfig {
    /// Convention, levels, resize, matcher flags and the starting ("default") anchors.
    pub assign: AssignConfig,
    pub objective: Objective,
    /// At most this many anchors per location (scales per octave × aspect ratios).
    pub budget: u32,
    pub size_mode: SizeMode,
    pub vary_sizes: bool,
    pub vary_scales: bool,
    pub vary_ratios: bool,
    /// Base size / stride bounds.
    pub multiple_range: (f64, f64),
    /// Aspect ratio (h/w) bounds.
    pub ratio_range: (f64, f64),
    /// Candidate evaluations on the sample.
    pub evaluations: usize,
    /// GT boxes in the search sample (0: all).
    pub sample_boxes: u64,
    pub seed: u64,
    pub strategy: Strategy,
    /// Also measure the other low-quality setting (for the plot).
    pub both_low_quality: bool,
}

impl FitConfig {
    pub fn new(assign: AssignConfig) -> FitConfig {
        FitConfig {
            assign,
            objective: Objective::Coverage,
            budget: 9,
            size_mode: SizeMode::PerLevel,
            vary_sizes: true,
            vary_scales: true,
            vary_ratios: true,
            multiple_range: (1.0, 16.0),
            ratio_range: (0.1, 10.0),
            evaluations: DEFAULT_EVALUATIONS,
            sample_boxes: DEFAULT_SAMPLE_BOXES,
            seed: 0,
            strategy: Strategy::Evolution,
            both_low_quality: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.assign.validate()?;
        if self.budget == 0 || self.budget > 64 {
            return Err(Error::input(format!(
                "--budget {} must be between 1 and 64 anchors per location",
                self.budget
            ))
            .with_hint("RetinaNet uses 9 (3 scales x 3 aspect ratios)"));
        }
        let (lo, hi) = self.multiple_range;
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.25 && lo <= hi && hi <= 64.0) {
            return Err(Error::input(format!("--size-range {},{}: need 0.25 <= LO <= HI <= 64 (base size as a multiple of the stride)", lo, hi)).with_hint("e.g. --size-range 1,16 (the default; RetinaNet's default is 4)"));
        }
        let (lo, hi) = self.ratio_range;
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.01 && lo <= hi && hi <= 100.0) {
            return Err(Error::input(format!(
                "--ratio-range {},{}: need 0.01 <= LO <= HI <= 100 (aspect ratio h/w)",
                lo, hi
            ))
            .with_hint("e.g. --ratio-range 0.1,10 (the default)"));
        }
        if self.evaluations == 0 {
            return Err(Error::input("--evaluations must be at least 1"));
        }
        if !self.vary_scales
            && !self.vary_ratios
            && self.assign.anchors.scales_per_octave as usize
                * self.assign.anchors.aspect_ratios.len()
                > self.budget as usize
        {
            return Err(Error::input(format!(
                "{} scales per octave x {} aspect ratios exceed --budget {}",
                self.assign.anchors.scales_per_octave,
                self.assign.anchors.aspect_ratios.len(),
                self.budget
            ))
            .with_hint("raise --budget or let scales or ratios vary"));
        }
        Ok(())
    }

    /// The assign configuration whose statistics are reported: the objective's matcher
    /// (coverage is measured without low-quality matches).
    fn measure_config(&self, anchors: AnchorConfig, low_quality: Option<bool>) -> AssignConfig {
        AssignConfig {
            anchors,
            low_quality,
            out_dir: None,
            worst: 0,
            ..self.assign.clone()
        }
    }

    fn reported_low_quality(&self) -> Option<bool> {
        match self.objective {
            Objective::Coverage => Some(false),
            _ => self.assign.low_quality,
        }
    }

    fn space(&self) -> Space {
        let start = &self.assign.anchors;
        let b = self.budget;
        let scales: Vec<u32> = if self.vary_scales {
            (1..=b.min(16)).collect()
        } else {
            vec![start.scales_per_octave]
        };
        let shapes = scales
            .into_iter()
            .filter_map(|s| {
                let r = if self.vary_ratios {
                    (b / s) as usize
                } else {
                    start.aspect_ratios.len()
                };
                (r >= 1 && s as usize * r <= b as usize).then_some(Shape {
                    scales_per_octave: s,
                    ratios: r.min(16),
                })
            })
            .collect();
        Space {
            levels: start.levels.clone(),
            size_mode: self.size_mode,
            fixed_sizes: (!self.vary_sizes).then(|| start.sizes.clone()),
            fixed_ratios: (!self.vary_ratios).then(|| start.aspect_ratios.clone()),
            multiple_range: self.multiple_range,
            ratio_range: self.ratio_range,
            shapes,
        }
    }
}

/// The default's or the winner's numbers, as `assign` measures them.
#[derive(Debug, Clone)]
pub struct Measured {
    pub anchors: AnchorConfig,
    /// The objective, from `stats`.
    pub value: f64,
    /// `assign` statistics with the reported flags.
    pub stats: Stats,
    /// `assign` statistics with the other low-quality setting (only for the plot).
    pub other: Option<Stats>,
    /// GT boxes with a foreground anchor on each level (matcher without low-quality matches).
    pub level_covered: Vec<u64>,
}

/// The result of a fit.
#[derive(Debug, Clone)]
pub struct FitResult {
    pub objective: Objective,
    pub default: Measured,
    pub best: Measured,
    /// Every `assign` flag that reproduces `best`.
    pub flags: String,
    /// Distinct candidates scored on the sample.
    pub evaluated: usize,
    /// Candidates re-scored on all images.
    pub verified: usize,
    pub sample_gt: u64,
    pub gt: u64,
    /// Distinct box groups the matcher runs on per candidate (sample / all).
    pub sample_groups: usize,
    pub groups: usize,
    pub snippets: snippets::Snippets,
}

/// Box-statistics seeds for every shape of the space (see [`search`]).
fn seeds(space: &Space, start: &AnchorConfig, shapes_boxes: &[(f64, f64, u32)]) -> Vec<Candidate> {
    let mut out = vec![Candidate::of(start)];
    if shapes_boxes.is_empty() {
        return out;
    }
    // Weighted quantiles of the box side sqrt(w h) after resize.
    let mut sides: Vec<(f64, u32)> = shapes_boxes
        .iter()
        .map(|&(w, h, c)| ((w * h).sqrt().max(1e-3), c))
        .collect();
    sides.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = sides.iter().map(|s| s.1 as f64).sum();
    let quantile = |q: f64| -> f64 {
        let mut acc = 0.0;
        for &(v, c) in &sides {
            acc += c as f64;
            if acc >= q * total {
                return v;
            }
        }
        sides.last().map(|s| s.0).unwrap_or(32.0)
    };
    let nl = space.levels.len();
    let stride = |li: usize| (1u64 << space.levels[li]) as f64;
    let clamp = |li: usize, v: f64| {
        v.clamp(
            space.multiple_range.0 * stride(li),
            space.multiple_range.1 * stride(li),
        )
    };
    // (a) geometric spread from the small end to the large end of the boxes;
    // (b) one level per equal share of the boxes, base a bit below the share's middle.
    let (lo, hi) = (quantile(0.02) * 1.1, quantile(0.98) / 1.6);
    let spread: Vec<f64> = (0..nl)
        .map(|li| {
            clamp(
                li,
                if nl == 1 {
                    lo
                } else {
                    lo * (hi / lo).powf(li as f64 / (nl - 1) as f64)
                },
            )
        })
        .collect();
    let shares: Vec<f64> = (0..nl)
        .map(|li| clamp(li, quantile((li as f64 + 0.5) / nl as f64) / 1.26))
        .collect();
    let per_mode = |sizes: &Vec<f64>| -> Vec<f64> {
        match space.size_mode {
            SizeMode::PerLevel => sizes.clone(),
            SizeMode::StrideMultiple => {
                let g = ((0..nl).map(|li| (sizes[li] / stride(li)).ln()).sum::<f64>() / nl as f64)
                    .exp();
                (0..nl).map(|li| g * stride(li)).collect()
            }
        }
    };
    let size_seeds = [start.sizes.clone(), per_mode(&spread), per_mode(&shares)];
    // Log aspect ratios, k-means in 1-D (weighted), started at quantiles.
    let mut lr: Vec<(f64, u32)> = shapes_boxes
        .iter()
        .map(|&(w, h, c)| ((h.max(1e-3) / w.max(1e-3)).ln(), c))
        .collect();
    lr.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lr_total: f64 = lr.iter().map(|v| v.1 as f64).sum();
    let kmeans = |k: usize| -> Vec<f64> {
        let at = |q: f64| {
            let mut acc = 0.0;
            for &(v, c) in &lr {
                acc += c as f64;
                if acc >= q * lr_total {
                    return v;
                }
            }
            0.0
        };
        let mut c: Vec<f64> = (0..k).map(|i| at((i as f64 + 0.5) / k as f64)).collect();
        for _ in 0..30 {
            let mut sum = vec![0.0; k];
            let mut n = vec![0.0; k];
            for &(v, w) in &lr {
                let j = (0..k)
                    .min_by(|&a, &b| (v - c[a]).abs().total_cmp(&(v - c[b]).abs()))
                    .unwrap_or(0);
                sum[j] += v * w as f64;
                n[j] += w as f64;
            }
            for j in 0..k {
                if n[j] > 0.0 {
                    c[j] = sum[j] / n[j];
                }
            }
        }
        let (rlo, rhi) = space.ratio_range;
        let mut r: Vec<f64> = c.iter().map(|v| v.exp().clamp(rlo, rhi)).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    for shape in &space.shapes {
        let ratio_seeds: Vec<Vec<f64>> = match &space.fixed_ratios {
            Some(r) => vec![r.clone()],
            None => {
                let mut v = vec![kmeans(shape.ratios)];
                if shape.ratios == start.aspect_ratios.len() {
                    v.push(start.aspect_ratios.clone());
                }
                v
            }
        };
        let sizes_list: Vec<Vec<f64>> = match &space.fixed_sizes {
            Some(s) => vec![s.clone()],
            None => size_seeds.to_vec(),
        };
        for s in &sizes_list {
            for r in &ratio_seeds {
                let c = Candidate {
                    sizes: s.clone(),
                    scales_per_octave: shape.scales_per_octave,
                    aspect_ratios: r.clone(),
                };
                if let Some(x) = space.encode(*shape, &c) {
                    // Quantise through the space so the seed is a point of it.
                    let q = space.decode(*shape, &x);
                    if !out.contains(&q) {
                        out.push(q);
                    }
                }
            }
        }
    }
    out
}

/// The `assign` flags that reproduce `a` with the reported matcher.
pub fn assign_flags(a: &AssignConfig) -> String {
    let an = &a.anchors;
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut f = vec![format!("--convention {}", an.convention.name())];
    let (l0, l1) = (an.levels[0], an.levels[an.levels.len() - 1]);
    f.push(format!("--levels {}-{}", l0, l1));
    f.push(format!("--sizes {}", list(&an.sizes)));
    f.push(format!("--scales-per-octave {}", an.scales_per_octave));
    f.push(format!("--aspect-ratios {}", list(&an.aspect_ratios)));
    if an.offset != 0.0 {
        f.push(format!("--offset {}", an.offset));
    }
    if an.size_divisibility != an.convention.default_size_divisibility() {
        f.push(format!("--size-divisibility {}", an.size_divisibility));
    }
    match a.resize {
        Some(r) => f.push(format!("--resize {},{}", r.short, r.max)),
        None => f.push("--no-resize".into()),
    }
    f.push(format!("--pos-iou {} --neg-iou {}", a.pos_iou, a.neg_iou));
    match a.low_quality {
        Some(false) => f.push("--no-low-quality".into()),
        Some(true) => f.push("--low-quality".into()),
        None => {}
    }
    f.join(" ")
}

/// Run the fit on `ds`.
pub fn run(ds: &Dataset, cfg: &FitConfig, progress: &dyn Progress) -> Result<FitResult> {
    cfg.validate()?;
    let start = cfg.assign.anchors.clone();
    let index = GtIndex::build(ds, &cfg.assign, progress)?;
    if index.gt == 0 {
        return Err(Error::input(
            "the ground truth has no usable (non-crowd, non-empty) box to fit anchors to",
        )
        .with_hint("check the GT file's \"annotations\""));
    }
    let sample = index.sample(cfg.sample_boxes, cfg.seed);
    let space = cfg.space();
    if space.shapes.is_empty() {
        return Err(Error::input(format!(
            "--budget {} leaves no anchor shape to search",
            cfg.budget
        ))
        .with_hint("raise --budget or let scales or ratios vary"));
    }
    // Scoring: the real matcher without low-quality matches; neg = pos leaves the foreground
    // (all the objectives look at) unchanged and skips the ignored band.
    // The search scores the best IoU exactly down to SEARCH_BEST_IOU_FLOOR (its tie-break, see
    // `search::rank`) and only the mean-best-iou objective needs it exactly everywhere.
    let params = MatchParams {
        convention: start.convention,
        pos_iou: cfg.assign.pos_iou,
        neg_iou: cfg.assign.pos_iou.min(SEARCH_BEST_IOU_FLOOR),
        low_quality: false,
    };
    let exact_best = cfg.objective == Objective::MeanBestIou;
    let seeds = seeds(&space, &start, &sample.box_shapes());
    let mut cache: FxHashMap<Vec<u64>, Scored> = FxHashMap::default();
    let mut failure: Option<Error> = None;
    progress.start("searching", cfg.evaluations as u64);
    {
        let eval = |c: &Candidate| -> Option<Scored> {
            if failure.is_some() {
                return None;
            }
            let key = c.key();
            if let Some(s) = cache.get(&key) {
                return Some(s.clone());
            }
            if cache.len() >= cfg.evaluations {
                return None;
            }
            match sample.score(&c.anchors(&start), &params, exact_best, false) {
                Ok((score, _)) => {
                    let s = Scored {
                        candidate: c.clone(),
                        score,
                        order: cache.len(),
                    };
                    cache.insert(key, s.clone());
                    progress.inc(1);
                    Some(s)
                }
                Err(e) => {
                    failure = Some(e);
                    None
                }
            }
        };
        search::search(
            &space,
            cfg.strategy,
            cfg.objective,
            &seeds,
            cfg.evaluations,
            cfg.seed,
            eval,
        );
    }
    progress.finish();
    if let Some(e) = failure {
        return Err(e);
    }
    let n_evaluated = cache.len();
    // Verify: the start configuration and the best sampled candidates, on all images.
    let mut ranked: Vec<&Scored> = cache.values().collect();
    ranked.sort_by(|a, b| search::cmp(cfg.objective, b, a));
    let mut finalists: Vec<Candidate> = vec![Candidate::of(&start)];
    for s in ranked {
        if finalists.len() > VERIFY_TOP {
            break;
        }
        if !finalists.contains(&s.candidate) {
            finalists.push(s.candidate.clone());
        }
    }
    progress.start("verifying", finalists.len() as u64);
    let mut full: Vec<(Scored, Vec<u64>)> = Vec::new();
    for (k, c) in finalists.iter().enumerate() {
        let (score, levels) = index.score(&c.anchors(&start), &params, exact_best, true)?;
        full.push((
            Scored {
                candidate: c.clone(),
                score,
                order: k,
            },
            levels,
        ));
        progress.inc(1);
    }
    progress.finish();
    // The start competes only if it fits the budget (it is always measured, as the default).
    let start_fits =
        start.scales_per_octave as usize * start.aspect_ratios.len() <= cfg.budget as usize;
    let (best, best_levels) = full
        .iter()
        .enumerate()
        .filter(|(k, _)| *k > 0 || start_fits)
        .map(|(_, f)| f.clone())
        .reduce(|a, b| {
            if search::better(cfg.objective, &b.0, &a.0) {
                b
            } else {
                a
            }
        })
        .unwrap_or_else(|| full[0].clone());
    let (start_score, start_levels) = full[0].clone();
    let measure = |anchors: AnchorConfig, score: &Score, levels: Vec<u64>| -> Result<Measured> {
        let lq = cfg.reported_low_quality();
        let stats = assign::run(
            ds,
            &cfg.measure_config(anchors.clone(), lq),
            &crate::progress::NoProgress,
        )?;
        if lq == Some(false) && stats.coverage[0].covered != score.covered {
            progress.note(&format!("internal check: the fit's index counts {} covered boxes where assign counts {}; the reported numbers are assign's", score.covered, stats.coverage[0].covered));
        }
        let other = if cfg.both_low_quality {
            let other_lq = Some(
                !cfg.measure_config(anchors.clone(), lq)
                    .match_params()
                    .low_quality,
            );
            Some(assign::run(
                ds,
                &cfg.measure_config(anchors.clone(), other_lq),
                &crate::progress::NoProgress,
            )?)
        } else {
            None
        };
        Ok(Measured {
            value: cfg.objective.of_stats(&stats),
            anchors,
            stats,
            other,
            level_covered: levels,
        })
    };
    progress.start("measuring with assign", 0);
    let default = measure(start.clone(), &start_score.score, start_levels)?;
    let best_anchors = best.candidate.anchors(&start);
    let best_m = measure(best_anchors.clone(), &best.score, best_levels)?;
    progress.finish();
    let flags = assign_flags(&cfg.measure_config(best_anchors.clone(), cfg.reported_low_quality()));
    Ok(FitResult {
        objective: cfg.objective,
        snippets: snippets::Snippets::of(&best_anchors),
        default,
        best: best_m,
        flags,
        evaluated: n_evaluated,
        verified: full.len(),
        sample_gt: sample.gt,
        gt: index.gt,
        sample_groups: sample.distinct_groups(),
        groups: index.distinct_groups(),
    })
}
