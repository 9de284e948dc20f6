//! `compare`: is model B really better than A? Evaluates every results file exactly as `eval`,
//! then draws paired bootstrap resamples of the images ([`draw`], the same draw for every model)
//! and re-accumulates each model on them with [`crate::eval::resample`] (no re-matching), giving
//! percentile intervals of each stat and of the deltas to a reference model, with p-values.

use crate::coco::{Dataset, Id, Results};
use crate::error::{Error, Result};
use crate::eval::resample::Resampler;
use crate::eval::{self, ClassRow, Evaluation, Params, Protocol, Shapes};
use crate::progress::Progress;
use rayon::prelude::*;

/// Bootstrap settings (DESIGN.md §2 `compare`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Replicates (0 = no bootstrap).
    pub n: usize,
    pub seed: u64,
    /// Two-sided interval coverage, in (0, 1).
    pub confidence: f64,
    /// Keep each replicate's drawn image ids and stats in the result.
    pub keep_replicates: bool,
}

impl Config {
    pub fn new() -> Config {
        Config {
            n: 1000,
            seed: 0,
            confidence: 0.95,
            keep_replicates: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(
                Error::input(format!("--confidence {} is not in (0, 1)", self.confidence))
                    .with_hint("e.g. --confidence 0.95 for 95% intervals"),
            );
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

pub use crate::rng::{mix64, SplitMix64};

/// One resample: `n` image ranks drawn with replacement; returns how often each was drawn.
pub fn draw(seed: u64, replicate: u64, n: usize) -> Vec<u32> {
    let mut g = SplitMix64::for_replicate(seed, replicate);
    let mut w = vec![0u32; n];
    for _ in 0..n {
        w[g.below(n as u64) as usize] += 1;
    }
    w
}

/// A drawn resample's image ids as the explicit dataset lists them: sorted, each repeated as
/// often as it was drawn.
pub fn drawn_ids(weights: &[u32], img_ids: &[Id]) -> Vec<Id> {
    img_ids
        .iter()
        .zip(weights)
        .flat_map(|(&id, &w)| std::iter::repeat_n(id, w as usize))
        .collect()
}

/// One model to compare: its results (and, for segm/keypoints, its shapes).
pub struct Model<'a> {
    pub res: &'a Results,
    pub shapes: Option<&'a Shapes<'a>>,
}

/// Percentile intervals, one bound per stat.
#[derive(Debug, Clone)]
pub struct Interval {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct DeltaInterval {
    pub model: usize,
    pub vs: usize,
    pub ci: Interval,
    pub p_value: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub n: usize,
    pub seed: u64,
    pub confidence: f64,
    /// n: images per resample (the evaluated images).
    pub images: usize,
    /// Per model.
    pub ci: Vec<Interval>,
    /// Per model after the first, against the first.
    pub delta_ci: Vec<DeltaInterval>,
    /// With `keep_replicates`: per replicate, the drawn image ids and the stats of each model.
    pub replicates: Option<Vec<(Vec<Id>, Vec<Vec<f64>>)>>,
}

pub struct Comparison {
    pub evals: Vec<Evaluation>,
    pub per_class: Vec<Vec<ClassRow>>,
    pub bootstrap: Option<Bootstrap>,
}

impl Comparison {
    /// Stats of model `m` minus those of model `vs`.
    pub fn delta(&self, m: usize, vs: usize) -> Vec<f64> {
        self.evals[m]
            .stats
            .iter()
            .zip(&self.evals[vs].stats)
            .map(|(a, b)| a - b)
            .collect()
    }
}

/// `np.quantile(sorted, q)` with numpy's default method ('linear'): virtual index `(n-1)*q`,
/// then numpy's `_lerp` (`b - (b-a)*(1-t)` when `t >= 0.5`, else `a + (b-a)*t`).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let v = (n - 1) as f64 * q;
    let below = v.floor();
    let lo = (below.max(0.0) as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = v - below;
    let (a, b) = (sorted[lo], sorted[hi]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The percentile interval `[q((1-c)/2), q((1+c)/2)]` of `values`, stat by stat
/// (`values[replicate][stat]`).
fn interval(values: &[Vec<f64>], confidence: f64) -> Interval {
    let n_stats = values.first().map_or(0, |v| v.len());
    let (ql, qh) = ((1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0);
    let mut lo = Vec::with_capacity(n_stats);
    let mut hi = Vec::with_capacity(n_stats);
    for s in 0..n_stats {
        let mut col: Vec<f64> = values.iter().map(|v| v[s]).collect();
        col.sort_by(f64::total_cmp);
        lo.push(quantile_sorted(&col, ql));
        hi.push(quantile_sorted(&col, qh));
    }
    Interval { lo, hi }
}

/// Two-sided bootstrap p-value of a delta: `min(1, 2·min(#{Δ* ≤ 0}, #{Δ* ≥ 0}) / N)`.
pub fn p_value(deltas: &[f64]) -> f64 {
    let le = deltas.iter().filter(|&&d| d <= 0.0).count();
    let ge = deltas.iter().filter(|&&d| d >= 0.0).count();
    (2.0 * le.min(ge) as f64 / deltas.len() as f64).min(1.0)
}

/// Evaluate every model and bootstrap. The point estimates are `eval`'s.
pub fn run(
    gt: &Dataset,
    models: &[Model<'_>],
    p: &Params,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Comparison> {
    cfg.validate()?;
    if models.len() < 2 {
        return Err(Error::input("compare needs at least two results files")
            .with_hint("e.g. retina-tools compare A.json B.json --gt GT"));
    }
    if p.protocol == Protocol::Lvis {
        return Err(Error::input(
            "compare follows the COCO protocol; the LVIS protocol is not supported",
        )
        .with_hint("evaluate LVIS results with retina-tools eval"));
    }
    let mut evals = Vec::with_capacity(models.len());
    let mut samplers = Vec::with_capacity(models.len());
    for m in models {
        let (ev, detail) = eval::run_detailed(gt, m.res, m.shapes, p, false, progress)?;
        if cfg.n > 0 {
            let specs = eval::summarize::stat_specs(p);
            samplers.push(Resampler::new(p, &detail.setup, &detail.matched, specs));
        }
        evals.push(ev);
    }
    let per_class = evals.iter().map(|e| e.per_class(gt)).collect();
    let bootstrap = if cfg.n > 0 {
        Some(bootstrap(&evals[0].img_ids, &samplers, cfg, progress))
    } else {
        None
    };
    Ok(Comparison {
        evals,
        per_class,
        bootstrap,
    })
}

fn bootstrap(
    img_ids: &[Id],
    samplers: &[Resampler],
    cfg: &Config,
    progress: &dyn Progress,
) -> Bootstrap {
    let n_img = img_ids.len();
    progress.start("bootstrap", cfg.n as u64);
    // Each replicate's draw depends only on (seed, index); results are collected in index order.
    let reps: Vec<Vec<Vec<f64>>> = (0..cfg.n)
        .into_par_iter()
        .map_init(
            || samplers.iter().map(|s| s.scratch()).collect::<Vec<_>>(),
            |scratch, r| {
                let w = draw(cfg.seed, r as u64, n_img);
                let stats = samplers
                    .iter()
                    .zip(scratch.iter_mut())
                    .map(|(s, sc)| s.stats(&w, sc))
                    .collect();
                progress.inc(1);
                stats
            },
        )
        .collect();
    progress.finish();
    let n_models = samplers.len();
    let ci = (0..n_models)
        .map(|m| {
            let v: Vec<Vec<f64>> = reps.iter().map(|r| r[m].clone()).collect();
            interval(&v, cfg.confidence)
        })
        .collect();
    let delta_ci = (1..n_models)
        .map(|m| {
            let d: Vec<Vec<f64>> = reps
                .iter()
                .map(|r| r[m].iter().zip(&r[0]).map(|(a, b)| a - b).collect())
                .collect();
            let n_stats = d.first().map_or(0, |x| x.len());
            let p_value = (0..n_stats)
                .map(|s| p_value(&d.iter().map(|x| x[s]).collect::<Vec<_>>()))
                .collect();
            DeltaInterval {
                model: m,
                vs: 0,
                ci: interval(&d, cfg.confidence),
                p_value,
            }
        })
        .collect();
    let replicates = cfg.keep_replicates.then(|| {
        reps.iter()
            .enumerate()
            .map(|(r, s)| {
                (
                    drawn_ids(&draw(cfg.seed, r as u64, n_img), img_ids),
                    s.clone(),
                )
            })
            .collect()
    });
    Bootstrap {
        n: cfg.n,
        seed: cfg.seed,
        confidence: cfg.confidence,
        images: n_img,
        ci,
        delta_ci,
        replicates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Vigna's splitmix64.c seeded with 0 (state 0): its first outputs.
        let mut g = SplitMix64::from_state(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(g.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn draws_are_resamples_of_n_and_depend_on_seed_and_index_only() {
        let a = draw(7, 3, 100);
        assert_eq!(a.iter().sum::<u32>(), 100);
        assert_eq!(a, draw(7, 3, 100));
        assert_ne!(a, draw(7, 4, 100));
        assert_ne!(a, draw(8, 3, 100));
        // About 1 - 1/e of the images appear in a resample.
        let distinct = draw(1, 0, 10_000).iter().filter(|&&w| w > 0).count();
        assert!((6000..6650).contains(&distinct), "{}", distinct);
    }

    #[test]
    fn below_is_uniform_enough() {
        let mut g = SplitMix64::for_replicate(0, 0);
        let mut c = [0u32; 3];
        for _ in 0..30_000 {
            c[g.below(3) as usize] += 1;
        }
        assert!(c.iter().all(|&x| (9_600..10_400).contains(&x)), "{:?}", c);
    }

    #[test]
    fn quantile_is_numpys_linear() {
        // numpy 2.4.6: [float(np.quantile([0., 1., 2., 10.], q)) for q in
        // ((1-0.95)/2, 0.025, 0.975, 0.5)] = 0.07500000000000007, 0.07500000000000001,
        // 9.399999999999999, 1.5
        let v = [0.0, 1.0, 2.0, 10.0];
        assert_eq!(quantile_sorted(&v, (1.0 - 0.95) / 2.0), 0.07500000000000007);
        assert_eq!(quantile_sorted(&v, 0.025), 0.07500000000000001);
        assert_eq!(quantile_sorted(&v, 0.975), 9.399999999999999);
        assert_eq!(quantile_sorted(&v, 0.5), 1.5);
        assert_eq!(quantile_sorted(&[3.0], 0.3), 3.0);
    }

    #[test]
    fn p_value_of_identical_models_is_one() {
        assert_eq!(p_value(&[0.0; 10]), 1.0);
        assert_eq!(p_value(&[1.0, 2.0, -1.0, 3.0]), 0.5);
        assert_eq!(p_value(&[1.0, 2.0, 3.0, 4.0]), 0.0);
    }
}
