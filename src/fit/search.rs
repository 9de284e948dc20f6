//! The search space of `anchors --fit` and the optimiser over it. Discrete shapes (scales per
//! octave × number of aspect ratios within the budget) are searched exhaustively; within a shape
//! the continuous parameters (log base size per level or one log stride multiple, log aspect
//! ratios) live in the unit cube, quantised on decoding so that the printed flags reproduce a
//! candidate exactly. Seeds: the starting configuration and box statistics; then differential
//! evolution (DE/current-to-best/1/bin) with successive halving over the shapes. A seeded
//! SplitMix64 drives every random choice; candidates are evaluated one after another, each
//! scored in parallel with a fixed reduction order, so the result never depends on threads.

use super::score::Score;
use super::{Candidate, Objective, SizeMode};
use crate::rng::SplitMix64;
use std::cmp::Ordering;

/// The search's generator: the crate's SplitMix64 stream from `seed`, with the float-based
/// draws the search uses.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::from_state(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Quantisation of the parameters: base sizes in quarter pixels (exact in f32 and f64, so every
/// framework reads the same number), stride multiples in hundredths, aspect ratios in thousandths.
pub const SIZE_STEP: f64 = 0.25;
pub const MULTIPLE_STEP: f64 = 0.01;
pub const RATIO_STEP: f64 = 0.001;

/// One discrete shape: scales per octave and number of aspect ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub scales_per_octave: u32,
    pub ratios: usize,
}

/// Which parameters may change and within which bounds.
#[derive(Debug, Clone)]
pub struct Space {
    pub levels: Vec<u32>,
    pub size_mode: SizeMode,
    /// Fixed base sizes (when sizes do not vary).
    pub fixed_sizes: Option<Vec<f64>>,
    /// Fixed aspect ratios (when ratios do not vary).
    pub fixed_ratios: Option<Vec<f64>>,
    /// Base size / stride bounds.
    pub multiple_range: (f64, f64),
    /// Aspect ratio (h/w) bounds.
    pub ratio_range: (f64, f64),
    pub shapes: Vec<Shape>,
}

fn quantise(v: f64, step: f64) -> f64 {
    // k / (1/step) with integer k: correctly rounded, so it prints back as the short decimal.
    let inv = (1.0 / step).round();
    (v * inv).round() / inv
}

impl Space {
    fn stride(&self, li: usize) -> f64 {
        (1u64 << self.levels[li]) as f64
    }

    fn size_dims(&self) -> usize {
        match (&self.fixed_sizes, self.size_mode) {
            (Some(_), _) => 0,
            (None, SizeMode::StrideMultiple) => 1,
            (None, SizeMode::PerLevel) => self.levels.len(),
        }
    }

    pub fn dims(&self, shape: Shape) -> usize {
        self.size_dims()
            + if self.fixed_ratios.is_some() {
                0
            } else {
                shape.ratios
            }
    }

    fn log_multiple(&self, u: f64) -> f64 {
        let (lo, hi) = (self.multiple_range.0.log2(), self.multiple_range.1.log2());
        2f64.powf(lo + u.clamp(0.0, 1.0) * (hi - lo))
    }

    fn log_ratio(&self, u: f64) -> f64 {
        let (lo, hi) = (self.ratio_range.0.ln(), self.ratio_range.1.ln());
        (lo + u.clamp(0.0, 1.0) * (hi - lo)).exp()
    }

    /// The candidate at point `x` of the unit cube of `shape`.
    pub fn decode(&self, shape: Shape, x: &[f64]) -> Candidate {
        let nd = self.size_dims();
        let sizes = match (&self.fixed_sizes, self.size_mode) {
            (Some(s), _) => s.clone(),
            (None, SizeMode::StrideMultiple) => {
                let (lo, hi) = self.multiple_range;
                let m = quantise(self.log_multiple(x[0]), MULTIPLE_STEP).clamp(
                    quantise_up(lo, MULTIPLE_STEP),
                    quantise_down(hi, MULTIPLE_STEP),
                );
                (0..self.levels.len())
                    .map(|li| m * self.stride(li))
                    .collect()
            }
            (None, SizeMode::PerLevel) => (0..self.levels.len())
                .map(|li| {
                    let s = self.stride(li);
                    let (lo, hi) = (self.multiple_range.0 * s, self.multiple_range.1 * s);
                    quantise(self.log_multiple(x[li]) * s, SIZE_STEP)
                        .clamp(quantise_up(lo, SIZE_STEP), quantise_down(hi, SIZE_STEP))
                })
                .collect(),
        };
        let aspect_ratios = match &self.fixed_ratios {
            Some(r) => r.clone(),
            None => {
                let (lo, hi) = self.ratio_range;
                let mut r: Vec<f64> = x[nd..nd + shape.ratios]
                    .iter()
                    .map(|&u| {
                        quantise(self.log_ratio(u), RATIO_STEP)
                            .clamp(quantise_up(lo, RATIO_STEP), quantise_down(hi, RATIO_STEP))
                    })
                    .collect();
                r.sort_by(f64::total_cmp);
                r
            }
        };
        Candidate {
            sizes,
            scales_per_octave: shape.scales_per_octave,
            aspect_ratios,
        }
    }

    /// The unit-cube point of a candidate of `shape` (inverse of [`Space::decode`] up to
    /// quantisation); `None` when the candidate is not in this space.
    pub fn encode(&self, shape: Shape, c: &Candidate) -> Option<Vec<f64>> {
        if c.scales_per_octave != shape.scales_per_octave || c.sizes.len() != self.levels.len() {
            return None;
        }
        let unit_m = |m: f64| {
            let (lo, hi) = (self.multiple_range.0.log2(), self.multiple_range.1.log2());
            if hi > lo {
                ((m.log2() - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let unit_r = |r: f64| {
            let (lo, hi) = (self.ratio_range.0.ln(), self.ratio_range.1.ln());
            if hi > lo {
                ((r.ln() - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let mut x = Vec::new();
        match (&self.fixed_sizes, self.size_mode) {
            (Some(_), _) => {}
            (None, SizeMode::StrideMultiple) => {
                let ms: Vec<f64> = (0..self.levels.len())
                    .map(|li| c.sizes[li] / self.stride(li))
                    .collect();
                let g = (ms.iter().map(|m| m.ln()).sum::<f64>() / ms.len() as f64).exp();
                x.push(unit_m(g));
            }
            (None, SizeMode::PerLevel) => {
                x.extend((0..self.levels.len()).map(|li| unit_m(c.sizes[li] / self.stride(li))))
            }
        }
        if self.fixed_ratios.is_none() {
            if c.aspect_ratios.len() != shape.ratios {
                return None;
            }
            x.extend(c.aspect_ratios.iter().map(|&r| unit_r(r)));
        } else if self.fixed_ratios.as_ref() != Some(&c.aspect_ratios) {
            return None;
        }
        Some(x)
    }

    /// Every candidate of the space when there are at most `limit` (after quantisation), else
    /// `None`. Small spaces are searched exhaustively.
    pub fn enumerate(&self, limit: usize) -> Option<Vec<Candidate>> {
        let mut out = Vec::new();
        for &shape in &self.shapes {
            let mut axes: Vec<Vec<f64>> = Vec::new();
            match (&self.fixed_sizes, self.size_mode) {
                (Some(_), _) => {}
                (None, SizeMode::StrideMultiple) => axes.push(steps(
                    self.multiple_range.0,
                    self.multiple_range.1,
                    MULTIPLE_STEP,
                    limit,
                )?),
                (None, SizeMode::PerLevel) => {
                    for li in 0..self.levels.len() {
                        let s = self.stride(li);
                        axes.push(steps(
                            self.multiple_range.0 * s,
                            self.multiple_range.1 * s,
                            SIZE_STEP,
                            limit,
                        )?);
                    }
                }
            }
            let ratio_axis = if self.fixed_ratios.is_none() {
                Some(steps(
                    self.ratio_range.0,
                    self.ratio_range.1,
                    RATIO_STEP,
                    limit,
                )?)
            } else {
                None
            };
            // Ratios are a sorted multiset: count combinations with repetition.
            let mut count: f64 = axes.iter().map(|a| a.len() as f64).product();
            if let Some(r) = &ratio_axis {
                let n = r.len() as f64;
                count *= (0..shape.ratios)
                    .map(|i| (n + i as f64) / (i as f64 + 1.0))
                    .product::<f64>();
            }
            if out.len() as f64 + count > limit as f64 {
                return None;
            }
            let mut sizes_list: Vec<Vec<f64>> = vec![vec![]];
            for a in &axes {
                sizes_list = sizes_list
                    .iter()
                    .flat_map(|p| a.iter().map(move |&v| [p.clone(), vec![v]].concat()))
                    .collect();
            }
            let mut ratio_list: Vec<Vec<f64>> = vec![vec![]];
            if let Some(r) = &ratio_axis {
                for _ in 0..shape.ratios {
                    ratio_list = ratio_list
                        .iter()
                        .flat_map(|p| {
                            r.iter()
                                .filter(|&&v| p.last().is_none_or(|&l| v >= l))
                                .map(move |&v| [p.clone(), vec![v]].concat())
                        })
                        .collect();
                }
            }
            for sz in &sizes_list {
                for rt in &ratio_list {
                    let sizes = match (&self.fixed_sizes, self.size_mode) {
                        (Some(s), _) => s.clone(),
                        (None, SizeMode::StrideMultiple) => (0..self.levels.len())
                            .map(|li| sz[0] * self.stride(li))
                            .collect(),
                        (None, SizeMode::PerLevel) => sz.clone(),
                    };
                    let aspect_ratios = self.fixed_ratios.clone().unwrap_or_else(|| rt.clone());
                    out.push(Candidate {
                        sizes,
                        scales_per_octave: shape.scales_per_octave,
                        aspect_ratios,
                    });
                }
            }
        }
        Some(out)
    }
}

fn quantise_up(v: f64, step: f64) -> f64 {
    let inv = (1.0 / step).round();
    (v * inv - 1e-9).ceil() / inv
}

fn quantise_down(v: f64, step: f64) -> f64 {
    let inv = (1.0 / step).round();
    (v * inv + 1e-9).floor() / inv
}

/// The quantised values in [lo, hi], or `None` when more than `limit`.
fn steps(lo: f64, hi: f64, step: f64, limit: usize) -> Option<Vec<f64>> {
    let inv = (1.0 / step).round();
    let (a, b) = (
        (lo * inv - 1e-9).ceil() as i64,
        (hi * inv + 1e-9).floor() as i64,
    );
    if b < a || (b - a + 1) as usize > limit {
        return if b < a { Some(vec![]) } else { None };
    }
    Some((a..=b).map(|k| k as f64 / inv).collect())
}

/// A scored candidate: (objective, tie-break) compared lexicographically, higher is better.
#[derive(Debug, Clone)]
pub struct Scored {
    pub candidate: Candidate,
    pub score: Score,
    /// Evaluation order (earlier wins a full tie).
    pub order: usize,
}

/// The objective and its tie-break: coverage and recall are step functions of the anchors, so
/// the mean best IoU breaks their ties and gives the search a slope on their plateaus.
pub fn rank(obj: Objective, s: &Score) -> (f64, f64) {
    match obj {
        Objective::Coverage => (s.coverage(), s.mean_best_iou()),
        Objective::Recall => (s.recall(), s.mean_best_iou()),
        Objective::MeanBestIou => (s.mean_best_iou(), s.coverage()),
    }
}

/// `a` better than `b`.
pub fn better(obj: Objective, a: &Scored, b: &Scored) -> bool {
    cmp(obj, a, b) == Ordering::Greater
}

pub fn cmp(obj: Objective, a: &Scored, b: &Scored) -> Ordering {
    let (ra, rb) = (rank(obj, &a.score), rank(obj, &b.score));
    ra.0.total_cmp(&rb.0)
        .then(ra.1.total_cmp(&rb.1))
        .then(b.order.cmp(&a.order))
}

/// Search strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Seeds, then differential evolution with successive halving over the shapes (exhaustive
    /// when the quantised space is no larger than the evaluation budget).
    Evolution,
    /// Uniform random candidates (shape, then parameters), for comparison.
    Random,
}

/// Run the search. `eval` scores a candidate on the sample (it caches repeated candidates and
/// returns `None` once the evaluation budget is spent).
pub fn search(
    space: &Space,
    strategy: Strategy,
    obj: Objective,
    seeds: &[Candidate],
    evaluations: usize,
    seed: u64,
    mut eval: impl FnMut(&Candidate) -> Option<Scored>,
) -> Vec<Scored> {
    let mut rng = Rng::new(seed);
    let mut all: Vec<Scored> = Vec::new();
    match strategy {
        Strategy::Random => {
            let mut tries = 0;
            while tries < evaluations * 20 {
                tries += 1;
                let shape = space.shapes[rng.below(space.shapes.len())];
                let x: Vec<f64> = (0..space.dims(shape)).map(|_| rng.uniform()).collect();
                match eval(&space.decode(shape, &x)) {
                    Some(s) => all.push(s),
                    None => break,
                }
            }
            return all;
        }
        Strategy::Evolution => {}
    }
    if let Some(every) = space.enumerate(evaluations) {
        for c in &every {
            match eval(c) {
                Some(s) => all.push(s),
                None => break,
            }
        }
        return all;
    }
    // Populations, one per shape, seeded with the seeds that fit the shape.
    struct Pop {
        shape: Shape,
        x: Vec<Vec<f64>>,
        fit: Vec<Option<Scored>>,
    }
    let mut pops: Vec<Pop> = Vec::new();
    for &shape in &space.shapes {
        let d = space.dims(shape);
        let n = (3 * d).clamp(6, 16);
        let mut x: Vec<Vec<f64>> = seeds
            .iter()
            .filter_map(|c| space.encode(shape, c))
            .collect();
        x.truncate(n / 2);
        while x.len() < n {
            // Stratified random start: each coordinate spread over the population.
            let k = x.len();
            x.push(
                (0..d)
                    .map(|_| ((k as f64 + rng.uniform()) / n as f64 + rng.uniform()).fract())
                    .collect(),
            );
        }
        pops.push(Pop {
            shape,
            fit: vec![None; n],
            x,
        });
    }
    // Evaluate the seeds first (every shape gets its seeds scored before any evolution).
    let mut spent_out = false;
    for p in pops.iter_mut() {
        let nseed = seeds
            .iter()
            .filter(|c| space.encode(p.shape, c).is_some())
            .count()
            .min(p.x.len() / 2)
            .max(1);
        for i in 0..nseed {
            match eval(&space.decode(p.shape, &p.x[i])) {
                Some(s) => {
                    all.push(s.clone());
                    p.fit[i] = Some(s);
                }
                None => {
                    spent_out = true;
                    break;
                }
            }
        }
    }
    // Successive halving: rounds of equal budget; after each, the better half of the shapes stays.
    let mut alive: Vec<usize> = (0..pops.len()).collect();
    let rounds = (usize::BITS - (pops.len().max(1) - 1).leading_zeros()) as usize + 1;
    let mut used = all.len();
    const F: f64 = 0.5;
    const CR: f64 = 0.9;
    for round in 0..rounds {
        if spent_out {
            break;
        }
        let left = evaluations.saturating_sub(used);
        let per_shape = left / (rounds - round) / alive.len().max(1);
        for &pi in &alive {
            let p = &mut pops[pi];
            let d = p.x.len();
            let dims = space.dims(p.shape);
            let mut spent = 0;
            let mut i = 0;
            let mut stall = 0;
            while spent < per_shape.max(1) && stall < 50 * d {
                let xi = p.x[i].clone();
                let trial_x: Vec<f64> = if p.fit[i].is_none() {
                    xi.clone()
                } else {
                    let best = (0..d)
                        .filter(|&k| p.fit[k].is_some())
                        .max_by(|&a, &b| {
                            cmp(obj, p.fit[a].as_ref().unwrap(), p.fit[b].as_ref().unwrap())
                        })
                        .unwrap_or(i);
                    let (mut a, mut b) = (rng.below(d), rng.below(d));
                    while a == i && d > 1 {
                        a = rng.below(d);
                    }
                    while (b == i || b == a) && d > 2 {
                        b = rng.below(d);
                    }
                    let jr = rng.below(dims.max(1));
                    (0..dims)
                        .map(|k| {
                            if k == jr || rng.uniform() < CR {
                                let v = xi[k]
                                    + F * (p.x[best][k] - xi[k])
                                    + F * (p.x[a][k] - p.x[b][k]);
                                // Reflect into [0, 1].
                                let v = if v < 0.0 {
                                    -v
                                } else if v > 1.0 {
                                    2.0 - v
                                } else {
                                    v
                                };
                                v.clamp(0.0, 1.0)
                            } else {
                                xi[k]
                            }
                        })
                        .collect()
                };
                let cand = space.decode(p.shape, &trial_x);
                let before = all.len();
                match eval(&cand) {
                    None => {
                        spent_out = true;
                        break;
                    }
                    Some(s) => {
                        if s.order >= before {
                            // A new evaluation (cached candidates come back with an old order).
                            all.push(s.clone());
                            spent += 1;
                            used += 1;
                            stall = 0;
                        } else {
                            stall += 1;
                        }
                        let replace = match &p.fit[i] {
                            None => true,
                            Some(f) => cmp(obj, &s, f) != Ordering::Less,
                        };
                        if replace {
                            p.x[i] = trial_x;
                            p.fit[i] = Some(s);
                        }
                    }
                }
                i = (i + 1) % d;
            }
            if spent_out {
                break;
            }
        }
        // Keep the better half of the shapes.
        let best_in = |pi: &usize| {
            pops[*pi]
                .fit
                .iter()
                .flatten()
                .max_by(|a, b| cmp(obj, a, b))
                .cloned()
        };
        let mut ranked: Vec<(usize, Option<Scored>)> =
            alive.iter().map(|pi| (*pi, best_in(pi))).collect();
        ranked.sort_by(|a, b| match (&a.1, &b.1) {
            (Some(x), Some(y)) => cmp(obj, y, x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.0.cmp(&b.0),
        });
        let keep = alive.len().div_ceil(2).max(1);
        alive = ranked.into_iter().take(keep).map(|r| r.0).collect();
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        Space {
            levels: vec![3, 4],
            size_mode: SizeMode::PerLevel,
            fixed_sizes: None,
            fixed_ratios: None,
            multiple_range: (1.0, 16.0),
            ratio_range: (0.1, 10.0),
            shapes: vec![Shape {
                scales_per_octave: 3,
                ratios: 3,
            }],
        }
    }

    #[test]
    fn decode_quantises_and_encode_inverts() {
        let s = space();
        let c = s.decode(s.shapes[0], &[0.5, 0.5, 0.5, 0.0, 1.0]);
        assert_eq!(c.sizes, vec![32.0, 64.0]);
        assert_eq!(c.aspect_ratios, vec![0.1, 1.0, 10.0]);
        let x = s.encode(s.shapes[0], &c).unwrap();
        assert_eq!(s.decode(s.shapes[0], &x), c);
        // Quantised values print back as short decimals.
        let c = s.decode(s.shapes[0], &[0.123, 0.77, 0.31, 0.52, 0.9]);
        for v in c.sizes.iter().chain(&c.aspect_ratios) {
            assert_eq!(v.to_string().parse::<f64>().unwrap(), *v);
            assert!(v.to_string().len() <= 7, "{}", v);
        }
    }

    #[test]
    fn enumerate_counts_multisets() {
        let mut s = space();
        s.fixed_sizes = Some(vec![32.0, 64.0]);
        s.ratio_range = (0.5, 0.503);
        s.shapes = vec![Shape {
            scales_per_octave: 1,
            ratios: 2,
        }];
        let all = s.enumerate(100).unwrap();
        // 4 values, multisets of 2: C(5, 2) = 10.
        assert_eq!(all.len(), 10);
        assert!(s.enumerate(5).is_none());
    }

    #[test]
    fn rng_is_reproducible() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let u = Rng::new(1).uniform();
        assert!((0.0..1.0).contains(&u));
    }
}
