//! The paper's Fig. 4 without sorting the data. Within one side (positives or negatives) every
//! loss is a monotone function of the logit (FL, for any γ ≥ 0, grows with x on negatives and
//! falls with x on positives), so "elements sorted by loss" is "elements sorted by an
//! order-preserving key of the logit", the same order for every γ.
//!
//! The backend's one pass over the data fills [`Bins`]: per side, the element count and the
//! per-γ loss sum of each of the 65,536 bins of the key's top 16 bits. A curve point (the sum of
//! the k smallest losses) is then exact up to the one bin where rank k falls; inside it the sum
//! is bracketed by the bin's monotone loss range and mean. Where a bracket is wider than the
//! tolerance, counting scans (keys only, no loss evaluation) split that bin by the next 8 key
//! bits and, if still needed, the cell by the last 8 bits — at which point every key is one
//! exact logit and the sum is exact. Each reported value is the middle of its final bracket, so
//! its error is at most [`POINT_TOL`] (loss share) or [`SHARE_TOL`] (sample share), exact where
//! the side is small enough for the tolerance to be less than one element. Counts are integers
//! and every sum is added in a fixed order, so the thread count cannot change a result.

use super::input::{FocalInput, IGNORED};
use super::math::{Gamma, Logit};
use super::{Config, LOSS_SHARES};
use crate::progress::Progress;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Bins of the key's top 16 bits.
pub const BINS: usize = 1 << 16;
const BLOCK_ELEMENTS: usize = 1 << 16;
/// Groups of blocks per refinement scan (at most; fewer with fewer threads).
const SCAN_GROUPS: usize = 32;
/// Largest half-width of the bracket of a reported curve point, as a share of the loss.
pub const POINT_TOL: f64 = 1e-5;
/// Largest half-width of the bracket of a reported sample share.
pub const SHARE_TOL: f64 = 1e-5;
/// Refinement rounds (two are enough to reach exact keys; the rest covers brackets that move).
const MAX_ROUNDS: usize = 5;

/// Order-preserving u32 key of an element's logit: ascending key = ascending loss. Positives
/// (index 0) use -x, since their loss falls as x grows.
#[inline(always)]
pub fn key(x: f32, positive: bool) -> u32 {
    let v = if positive { -x } else { x };
    let b = v.to_bits();
    // Negative floats: all bits flipped; others: the sign bit set (branch-free).
    let m = ((b as i32) >> 31) as u32;
    b ^ (m | 0x8000_0000)
}

/// The logit of a key (inverse of [`key`]).
pub fn logit_of(k: u32, positive: bool) -> f32 {
    let b = if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    };
    let v = f32::from_bits(b);
    if positive {
        -v
    } else {
        v
    }
}

/// Unweighted loss (1 - p_t)^γ · ce of an element with this key; α_t is constant per side and
/// cancels in the shares. Same expression as the CPU pass.
pub fn loss_of(k: u32, positive: bool, g: Gamma) -> f64 {
    let lg = Logit::new(logit_of(k, positive) as f64);
    g.pow(lg.one_minus_pt(positive), lg.log_one_minus_pt(positive)) * lg.ce(positive)
}

/// Per side (0 = positives, 1 = negatives): count and per-γ loss sum of every 16-bit key bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    pub gammas: usize,
    pub count: [Vec<u64>; 2],
    /// `sum[side][bin * gammas + g]`
    pub sum: [Vec<f64>; 2],
}

impl Bins {
    pub fn zeros(gammas: usize) -> Bins {
        Bins {
            gammas,
            count: [vec![0; BINS], vec![0; BINS]],
            sum: [vec![0.0; BINS * gammas], vec![0.0; BINS * gammas]],
        }
    }
    /// Add one block's bins (callers fix the order of blocks).
    pub fn add(&mut self, p: &SparseBins) {
        let g = self.gammas;
        for s in 0..2 {
            for (e, &(bin, c)) in p.entries[s].iter().enumerate() {
                let b = bin as usize;
                self.count[s][b] += c;
                for (acc, v) in self.sum[s][b * g..(b + 1) * g]
                    .iter_mut()
                    .zip(&p.sums[s][e * g..(e + 1) * g])
                {
                    *acc += *v;
                }
            }
        }
    }
}

/// One block's bins: the touched ones only, in bin order.
#[derive(Debug, Default)]
pub struct SparseBins {
    entries: [Vec<(u16, u64)>; 2],
    sums: [Vec<f64>; 2],
}

/// A zeroed fixed-size bin array (indexing it by a u16 needs no bounds check).
fn zeroed_bins<T: Copy + Default>() -> Box<[T; BINS]> {
    match vec![T::default(); BINS].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("a Vec of BINS elements converts to [T; BINS]"),
    }
}

/// Dense accumulator of one worker, reused block after block; [`BinAcc::take`] empties it.
pub struct BinAcc {
    g: usize,
    count: [Box<[u64; BINS]>; 2],
    /// Per side, per γ.
    sum: [Vec<Box<[f64; BINS]>>; 2],
}

impl BinAcc {
    pub fn new(gammas: usize) -> BinAcc {
        BinAcc {
            g: gammas,
            count: [zeroed_bins(), zeroed_bins()],
            sum: [
                (0..gammas).map(|_| zeroed_bins()).collect(),
                (0..gammas).map(|_| zeroed_bins()).collect(),
            ],
        }
    }
    /// Element counts of `side`'s bins (index by the u16 bin: no bounds check).
    #[inline(always)]
    pub fn counts(&mut self, side: usize) -> &mut [u64; BINS] {
        &mut self.count[side]
    }
    /// Loss sums of `side`'s bins for γ index `g`.
    #[inline(always)]
    pub fn sums(&mut self, side: usize, g: usize) -> &mut [f64; BINS] {
        &mut self.sum[side][g]
    }
    /// The non-empty bins, in bin order; leaves the accumulator empty.
    pub fn take(&mut self) -> SparseBins {
        let g = self.g;
        let mut out = SparseBins::default();
        for s in 0..2 {
            // Most bins are empty: test 8 counts at a time (one vector OR) before looking closer.
            for ci in 0..BINS / 8 {
                if self.count[s][ci * 8..ci * 8 + 8]
                    .iter()
                    .fold(0, |a, &c| a | c)
                    == 0
                {
                    continue;
                }
                for b in ci * 8..ci * 8 + 8 {
                    let c = self.count[s][b];
                    if c == 0 {
                        continue;
                    }
                    out.entries[s].push((b as u16, c));
                    for gi in 0..g {
                        out.sums[s].push(self.sum[s][gi][b]);
                        self.sum[s][gi][b] = 0.0;
                    }
                }
                self.count[s][ci * 8..ci * 8 + 8].fill(0);
            }
        }
        out
    }
}

/// Finer counts inside some bins of one side: `l2[bin]` splits a 16-bit bin by key bits 8..16,
/// `l3[prefix]` splits a 24-bit cell by the low 8 bits (one exact logit per entry).
#[derive(Debug, Default)]
struct Refined {
    l2: BTreeMap<u32, Box<[u64; 256]>>,
    l3: BTreeMap<u32, Box<[u64; 256]>>,
}

/// Cells whose finer counts would narrow a bracket, per side.
#[derive(Debug, Default)]
struct Wants {
    l2: [BTreeSet<u32>; 2],
    l3: [BTreeSet<u32>; 2],
}

impl Wants {
    fn is_empty(&self) -> bool {
        self.l2.iter().all(|s| s.is_empty()) && self.l3.iter().all(|s| s.is_empty())
    }
}

#[derive(Debug, Clone, Copy)]
enum Need {
    L2(u32),
    L3(u32),
}

/// One side's bins with prefix sums, and what the refinement scans have split so far.
struct Side<'a> {
    positive: bool,
    g: usize,
    n: u64,
    count: &'a [u64],
    sum: &'a [f64],
    /// pc[b] = elements in bins < b (BINS + 1 entries).
    pc: Vec<u64>,
    /// ps[b * g + gi] = loss in bins < b.
    ps: Vec<f64>,
    refined: Refined,
}

impl<'a> Side<'a> {
    fn new(bins: &'a Bins, side: usize) -> Side<'a> {
        let g = bins.gammas;
        let count = &bins.count[side][..];
        let sum = &bins.sum[side][..];
        let mut pc = vec![0u64; BINS + 1];
        let mut ps = vec![0.0f64; (BINS + 1) * g];
        for b in 0..BINS {
            pc[b + 1] = pc[b] + count[b];
            for gi in 0..g {
                ps[(b + 1) * g + gi] = ps[b * g + gi] + sum[b * g + gi];
            }
        }
        Side {
            positive: side == 0,
            g,
            n: pc[BINS],
            count,
            sum,
            pc,
            ps,
            refined: Refined::default(),
        }
    }

    fn total(&self, gi: usize) -> f64 {
        self.ps[BINS * self.g + gi]
    }

    /// Bracket [lo, hi] of the sum of the k smallest losses (γ index `gi`); `needs` receives
    /// the cells whose finer counts would narrow it.
    fn bracket(&self, gi: usize, gamma: Gamma, k: u64, needs: &mut Vec<Need>) -> (f64, f64) {
        if k == 0 {
            return (0.0, 0.0);
        }
        if k >= self.n {
            let t = self.total(gi);
            return (t, t);
        }
        let b = self.pc.partition_point(|&c| c <= k) - 1;
        let base = self.ps[b * self.g + gi];
        let j = k - self.pc[b];
        if j == 0 {
            return (base, base);
        }
        let (lo, hi) = self.bin_partial(b as u32, gi, gamma, j, needs);
        (base + lo, base + hi)
    }

    /// Bracket of the sum of the j smallest losses inside 16-bit bin `b` (0 < j).
    fn bin_partial(
        &self,
        b: u32,
        gi: usize,
        gamma: Gamma,
        j: u64,
        needs: &mut Vec<Need>,
    ) -> (f64, f64) {
        let nb = self.count[b as usize];
        let sb = self.sum[b as usize * self.g + gi];
        if j >= nb {
            return (sb, sb);
        }
        // The j smallest of a bin average at most the bin's mean.
        let mean_cap = j as f64 * (sb / nb as f64);
        if let Some(h) = self.refined.l2.get(&b) {
            let (mut lo, mut hi) = (0.0, 0.0);
            for (i, take) in smallest_first(&h[..], j) {
                let (a, z) = self.cell_partial((b << 8) | i as u32, gamma, take, needs);
                lo += a;
                hi += z;
            }
            return (lo, hi.min(mean_cap).max(lo));
        }
        let l_lo = loss_of(b << 16, self.positive, gamma);
        let l_hi = loss_of((b << 16) | 0xffff, self.positive, gamma);
        let jf = j as f64;
        let lo = (jf * l_lo).max(sb - (nb - j) as f64 * l_hi);
        let hi = (jf * l_hi).min(mean_cap).max(lo);
        if hi > lo {
            needs.push(Need::L2(b));
        }
        (lo, hi)
    }

    /// Bracket of the sum of the `take` smallest losses inside 24-bit cell `p`.
    fn cell_partial(&self, p: u32, gamma: Gamma, take: u64, needs: &mut Vec<Need>) -> (f64, f64) {
        if let Some(h) = self.refined.l3.get(&p) {
            let mut s = 0.0;
            for (i, t) in smallest_first(&h[..], take) {
                s += t as f64 * loss_of((p << 8) | i as u32, self.positive, gamma);
            }
            return (s, s);
        }
        let l_lo = loss_of(p << 8, self.positive, gamma);
        let l_hi = loss_of((p << 8) | 0xff, self.positive, gamma);
        if l_hi > l_lo {
            needs.push(Need::L3(p));
        }
        (take as f64 * l_lo, take as f64 * l_hi.max(l_lo))
    }

    /// Largest j whose bracket end (`upper`: hi, else lo) is ≤ budget.
    fn last_within(&self, gi: usize, gamma: Gamma, budget: f64, upper: bool) -> u64 {
        let (mut lo, mut hi) = (0u64, self.n); // invariant: S(lo) ≤ budget; answer in [lo, hi]
        let mut scratch = Vec::new();
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            scratch.clear();
            let (a, z) = self.bracket(gi, gamma, mid, &mut scratch);
            if (if upper { z } else { a }) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    fn commit(&self, needs: &[Need], side: usize, wants: &mut Wants) {
        for n in needs {
            match *n {
                Need::L2(b) => wants.l2[side].insert(b),
                Need::L3(p) => wants.l3[side].insert(p),
            };
        }
    }
}

/// Fig. 4 per γ: `cdf[g][side]` points and `shares[g][side][q]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub cdf: Vec<[Vec<(f64, f64)>; 2]>,
    pub shares: Vec<[[Option<f64>; 3]; 2]>,
}

/// The printed sample shares: i / (N - 1), i = 0..N.
pub fn cdf_shares(points: usize) -> Vec<f64> {
    let d = (points.max(2) - 1) as f64;
    (0..points.max(2)).map(|i| i as f64 / d).collect()
}

/// Every curve point and loss share from the current brackets, and the cells to split where a
/// bracket is still too wide.
fn evaluate(sides: &[Side; 2], cfg: &Config, gammas: &[Gamma]) -> (Curves, Wants) {
    let gn = gammas.len();
    let shares_f = cdf_shares(cfg.cdf_points);
    let mut cdf = vec![[Vec::new(), Vec::new()]; gn];
    let mut shares = vec![[[None; 3]; 2]; gn];
    let mut wants = Wants::default();
    let mut needs = Vec::new();
    for (s, side) in sides.iter().enumerate() {
        let n = side.n;
        for (gi, &gamma) in gammas.iter().enumerate() {
            let total = side.total(gi);
            if n == 0 || total <= 0.0 {
                continue;
            }
            cdf[gi][s] = shares_f
                .iter()
                .map(|&f| {
                    let k = (f * n as f64).floor() as u64;
                    needs.clear();
                    let (lo, hi) = side.bracket(gi, gamma, k, &mut needs);
                    if hi - lo > 2.0 * POINT_TOL * total {
                        side.commit(&needs, s, &mut wants);
                    }
                    (f, ((0.5 * (lo + hi)) / total).clamp(0.0, 1.0))
                })
                .collect();
            let tol_j = (2.0 * SHARE_TOL * n as f64).floor() as u64;
            for (qi, &q) in LOSS_SHARES.iter().enumerate() {
                // Largest j with S(j) ≤ (1 - q)·total; the answer is (n - j) / n.
                let budget = (1.0 - q) * total;
                let j_lo = side.last_within(gi, gamma, budget, true);
                let j_hi = side.last_within(gi, gamma, budget, false);
                if j_hi.saturating_sub(j_lo) > tol_j {
                    for k in [j_lo + 1, j_hi] {
                        needs.clear();
                        side.bracket(gi, gamma, k, &mut needs);
                        side.commit(&needs, s, &mut wants);
                    }
                    // Bins wholly between the two ends.
                    let b0 = side.pc.partition_point(|&c| c <= j_lo);
                    let b1 = side.pc.partition_point(|&c| c < j_hi);
                    for b in b0..b1.min(BINS) {
                        if side.count[b] > 0 && !side.refined.l2.contains_key(&(b as u32)) {
                            wants.l2[s].insert(b as u32);
                        }
                    }
                }
                let j = j_lo + j_hi.saturating_sub(j_lo) / 2;
                shares[gi][s][qi] = Some((n - j) as f64 / n as f64);
            }
        }
    }
    (Curves { cdf, shares }, wants)
}

/// Finish Fig. 4 from the pass's bins, splitting bins by counting scans where needed.
pub fn curves(input: &FocalInput, cfg: &Config, bins: &Bins, progress: &dyn Progress) -> Curves {
    let gammas: Vec<Gamma> = cfg.gammas.iter().map(|&g| Gamma::new(g)).collect();
    let mut sides = [Side::new(bins, 0), Side::new(bins, 1)];
    let mut round = 0;
    loop {
        let (curves, wants) = evaluate(&sides, cfg, &gammas);
        round += 1;
        if wants.is_empty() || round == MAX_ROUNDS {
            return curves;
        }
        progress.start("Fig. 4 refinement", 0);
        let found = refine_scan(input, &wants);
        for (s, side) in sides.iter_mut().enumerate() {
            for (b, h) in wants.l2[s].iter().zip(found.l2[s].iter()) {
                side.refined.l2.insert(*b, Box::new(*h));
            }
            for (p, h) in wants.l3[s].iter().zip(found.l3[s].iter()) {
                side.refined.l3.insert(*p, Box::new(*h));
            }
        }
        progress.finish();
    }
}

/// Counts found by a refinement scan, in the order of the wanted sets.
struct Found {
    l2: [Vec<[u64; 256]>; 2],
    l3: [Vec<[u64; 256]>; 2],
}

const NONE: u32 = u32::MAX;

/// Where a 16-bit bin's elements are counted in a scan.
struct Target {
    l2: u32,
    /// For each value of key bits 8..16: index into the level-3 counts, or NONE.
    l3: Option<Box<[u32; 256]>>,
}

/// One counting scan over the elements of the wanted bins and cells.
fn refine_scan(input: &FocalInput, wants: &Wants) -> Found {
    let mut luts: [Vec<u32>; 2] = [vec![NONE; BINS], vec![NONE; BINS]];
    let mut targets: [Vec<Target>; 2] = [Vec::new(), Vec::new()];
    for s in 0..2 {
        for (i, &b) in wants.l2[s].iter().enumerate() {
            luts[s][b as usize] = targets[s].len() as u32;
            targets[s].push(Target {
                l2: i as u32,
                l3: None,
            });
        }
        for (i, &p) in wants.l3[s].iter().enumerate() {
            let b = (p >> 8) as usize;
            if luts[s][b] == NONE {
                luts[s][b] = targets[s].len() as u32;
                targets[s].push(Target { l2: NONE, l3: None });
            }
            let t = &mut targets[s][luts[s][b] as usize];
            t.l3.get_or_insert_with(|| Box::new([NONE; 256]))[(p & 255) as usize] = i as u32;
        }
    }
    let sizes = [
        wants.l2[0].len(),
        wants.l2[1].len(),
        wants.l3[0].len(),
        wants.l3[1].len(),
    ];
    let init = || Found {
        l2: [vec![[0u64; 256]; sizes[0]], vec![[0u64; 256]; sizes[1]]],
        l3: [vec![[0u64; 256]; sizes[2]], vec![[0u64; 256]; sizes[3]]],
    };
    let visit = |acc: &mut Found, side: usize, k: u32| {
        let t = luts[side][(k >> 16) as usize];
        if t == NONE {
            return;
        }
        let t = &targets[side][t as usize];
        let mid = ((k >> 8) & 255) as usize;
        if t.l2 != NONE {
            acc.l2[side][t.l2 as usize][mid] += 1;
        }
        if let Some(m) = &t.l3 {
            let i = m[mid];
            if i != NONE {
                acc.l3[side][i as usize][(k & 255) as usize] += 1;
            }
        }
    };
    let merge = |mut a: Found, b: Found| {
        for s in 0..2 {
            for (x, y) in a.l2[s]
                .iter_mut()
                .zip(&b.l2[s])
                .chain(a.l3[s].iter_mut().zip(&b.l3[s]))
            {
                for j in 0..256 {
                    x[j] += y[j];
                }
            }
        }
        a
    };
    let negatives = !wants.l2[1].is_empty() || !wants.l3[1].is_empty();
    scan(input, negatives, init, visit, merge)
}

/// Visit the non-ignored elements as (side, key) in parallel over blocks: all of them, or only
/// the positives when `negatives` is false. `A` must merge exactly (integer counts).
fn scan<A, I, F, M>(input: &FocalInput, negatives: bool, init: I, f: F, merge: M) -> A
where
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, usize, u32) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    let c = input.num_classes;
    let blocks = input.blocks(BLOCK_ELEMENTS);
    let groups = (2 * rayon::current_num_threads()).clamp(1, SCAN_GROUPS);
    let per = blocks.len().div_ceil(groups).max(1);
    let parts: Vec<A> = blocks
        .par_chunks(per)
        .map(|group| {
            let mut acc = init();
            let mut buf = Vec::new();
            for &(r0, r1) in group {
                if !negatives && !(r0..r1).any(|r| input.label(r) >= 0) {
                    continue;
                }
                let rows = input.row_block(r0, r1, &mut buf);
                for r in r0..r1 {
                    let t = input.label(r);
                    if t == IGNORED || (!negatives && t < 0) {
                        continue;
                    }
                    let x = &rows[(r - r0) * c..(r - r0 + 1) * c];
                    if negatives {
                        for (i, &v) in x.iter().enumerate() {
                            if i as i32 != t {
                                f(&mut acc, 1, key(v, false));
                            }
                        }
                    }
                    if t >= 0 {
                        f(&mut acc, 0, key(x[t as usize], true));
                    }
                }
            }
            acc
        })
        .collect();
    parts.into_iter().reduce(merge).unwrap_or_else(init)
}

/// The sub-bins of histogram `h` (counts in ascending key order) that hold its `n` smallest
/// elements: (index, how many of them), empty sub-bins skipped.
fn smallest_first(h: &[u64], n: u64) -> impl Iterator<Item = (usize, u64)> + '_ {
    let mut rem = n;
    h.iter()
        .enumerate()
        .map_while(move |(i, &c)| {
            if rem == 0 {
                return None;
            }
            let t = c.min(rem);
            rem -= t;
            Some((i, t))
        })
        .filter(|&(_, t)| t > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::focal::{cpu, LossParams};
    use crate::progress::NoProgress;

    /// Exact sort-based Fig. 4, as the oracle computes it.
    fn exact(losses: &mut Vec<f64>, points: usize) -> Option<(Vec<f64>, [f64; 3])> {
        losses.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = losses.len();
        let total: f64 = losses.iter().sum();
        if n == 0 || total <= 0.0 {
            return None;
        }
        let mut cs = vec![0.0];
        for &l in losses.iter() {
            cs.push(cs.last().unwrap() + l);
        }
        let cdf = cdf_shares(points)
            .iter()
            .map(|&f| cs[(f * n as f64).floor() as usize] / total)
            .collect();
        let shares = LOSS_SHARES.map(|q| {
            let j = cs.iter().rposition(|&s| s <= (1.0 - q) * total).unwrap();
            (n - j) as f64 / n as f64
        });
        Some((cdf, shares))
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.next().max(1e-300), self.next());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    fn check(
        shape: (usize, usize),
        gen: &mut dyn FnMut(usize, usize) -> (f32, i64),
        gammas: &[f64],
        points: usize,
    ) {
        let (rows, c) = shape;
        let mut data = Vec::with_capacity(rows * c);
        let mut targets = Vec::with_capacity(rows);
        for r in 0..rows {
            let (_, t) = gen(r, usize::MAX);
            targets.push(t);
            for i in 0..c {
                data.push(gen(r, i).0);
            }
        }
        let input = FocalInput::from_f32(vec![rows, c], data.clone(), targets.clone()).unwrap();
        let cfg = Config {
            params: LossParams::default(),
            gammas: gammas.to_vec(),
            cdf_points: points,
        };
        let (_, bins) = cpu::pass(&input, &cfg, &NoProgress);
        let got = curves(&input, &cfg, &bins, &NoProgress);
        for (gi, &g) in gammas.iter().enumerate() {
            for side in 0..2 {
                let mut losses = Vec::new();
                for r in 0..rows {
                    if targets[r] == IGNORED as i64 {
                        continue;
                    }
                    for i in 0..c {
                        let pos = targets[r] == i as i64;
                        if pos == (side == 0) {
                            losses.push(loss_of(key(data[r * c + i], pos), pos, Gamma::new(g)));
                        }
                    }
                }
                match exact(&mut losses, points) {
                    None => assert!(got.cdf[gi][side].is_empty()),
                    Some((cdf, shares)) => {
                        for (p, (f, v)) in cdf.iter().zip(&got.cdf[gi][side]) {
                            assert!(
                                (p - v).abs() <= 1.1e-5,
                                "γ={g} side={side} f={f}: {v} vs exact {p}"
                            );
                        }
                        for q in 0..3 {
                            let s = got.shares[gi][side][q].unwrap();
                            assert!(
                                (s - shares[q]).abs() <= 1.1e-5,
                                "γ={g} side={side} q={q}: {s} vs exact {}",
                                shares[q]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn key_orders_like_the_logit() {
        let xs = [
            -f32::MAX,
            -1e30,
            -2.5,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            0.5,
            3.0,
            1e30,
            f32::MAX,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0], false) <= key(w[1], false));
            assert!(key(w[0], true) >= key(w[1], true));
            assert_eq!(logit_of(key(w[0], false), false), w[0]);
            assert_eq!(logit_of(key(w[1], true), true), w[1]);
        }
    }

    #[test]
    fn curves_match_sorting_on_detector_like_logits() {
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let rows = 3000;
        let labels: Vec<i64> = (0..rows)
            .map(|_| {
                if rng.next() < 0.05 {
                    (rng.next() * 20.0) as i64
                } else if rng.next() < 0.02 {
                    -2
                } else {
                    -1
                }
            })
            .collect();
        let mut gen = |r: usize, i: usize| {
            if i == usize::MAX {
                return (0.0, labels[r]);
            }
            ((rng.normal() * 1.5 - 4.6) as f32, 0)
        };
        check((rows, 20), &mut gen, &[0.0, 0.5, 1.0, 2.0, 5.0], 101);
    }

    #[test]
    fn curves_match_sorting_on_concentrated_and_extreme_logits() {
        // Most logits in one narrow range (one 16-bit bin), a few extremes, many ties.
        let mut rng = Rng(12345);
        let rows = 2000;
        let labels: Vec<i64> = (0..rows)
            .map(|r| if r % 7 == 0 { (r % 3) as i64 } else { -1 })
            .collect();
        let mut gen = |r: usize, i: usize| {
            if i == usize::MAX {
                return (0.0, labels[r]);
            }
            let u = rng.next();
            let x = if u < 0.01 {
                if rng.next() < 0.5 {
                    -100.0
                } else {
                    100.0
                }
            } else if u < 0.3 {
                -3.0
            } else {
                -3.0 - 0.02 * rng.next()
            };
            (x as f32, 0)
        };
        check((rows, 3), &mut gen, &[0.0, 2.0, 3.5], 11);
    }

    #[test]
    fn curves_match_sorting_with_one_class_and_tiny_sides() {
        let mut rng = Rng(777);
        let labels = [0i64, -1, -1, -2, 0, -1];
        let mut gen = |r: usize, i: usize| {
            if i == usize::MAX {
                return (0.0, labels[r]);
            }
            ((rng.normal() * 30.0) as f32, 0)
        };
        check((6, 1), &mut gen, &[2.0], 5);
    }

    #[test]
    fn curves_match_sorting_on_a_big_side() {
        // Large enough that the sample-share tolerance is more than one element.
        let mut rng = Rng(4242);
        let rows = 40_000;
        let labels: Vec<i64> = (0..rows)
            .map(|_| {
                if rng.next() < 0.01 {
                    (rng.next() * 10.0) as i64
                } else {
                    -1
                }
            })
            .collect();
        let mut gen = |r: usize, i: usize| {
            if i == usize::MAX {
                return (0.0, labels[r]);
            }
            ((rng.normal() * 2.0 - 4.0) as f32, 0)
        };
        check((rows, 10), &mut gen, &[2.0], 101);
    }
}
