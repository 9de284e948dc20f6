//! The paper's Fig. 4, exactly, without sorting the data. Within one side (positives or
//! negatives) every loss is a monotone function of the logit (FL, for any γ ≥ 0, grows with x on
//! negatives and falls with x on positives), so "elements sorted by loss" is "elements sorted by
//! logit", the same order for every γ. We find the logits at the needed ranks (order statistics)
//! with three integer histogram passes over the logits' bits (16 + 8 + 8 bits; counts are
//! integers, so the thread count cannot change them), then one pass adds each element's loss
//! into the slot between consecutive thresholds (done by the CPU backend's pass). A curve point
//! at rank k is then Σ slots below the k-th logit + (k − count below) × its loss: exact up to
//! f64 rounding. The sample shares that carry 50/90/99 % of the loss are found the same way,
//! sorting only the few elements of the one slot where the running sum crosses.

use super::input::{FocalInput, IGNORED};
use super::math::{Gamma, Logit};
use super::{Config, LOSS_SHARES};
use crate::progress::Progress;
use rayon::prelude::*;

/// Internal thresholds per side besides the requested curve points: slots then hold at most
/// n / INTERNAL_RANKS elements, which bounds the work of the loss-share refinement.
const INTERNAL_RANKS: u64 = 256;
const BLOCK_ELEMENTS: usize = 1 << 16;
const BINS: usize = 1 << 16;
/// Groups of blocks per scan (fixed, so the work split does not depend on the thread count).
const SCAN_GROUPS: usize = 32;

/// Order-preserving u32 key of an element's logit: ascending key = ascending loss. Positives
/// (index 0) use -x, since their loss falls as x grows.
#[inline(always)]
pub fn key(x: f32, positive: bool) -> u32 {
    let v = if positive { -x } else { x };
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The logit of a key (inverse of [`key`]).
pub fn logit_of(k: u32, positive: bool) -> f32 {
    let b = if k & 0x8000_0000 != 0 { k & 0x7fff_ffff } else { !k };
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

/// Visit every non-ignored element as (side, key), in parallel over blocks; `A` must merge
/// associatively (integer counts, or lists sorted afterwards).
fn scan<A, I, F, M>(input: &FocalInput, init: I, f: F, merge: M) -> A
where
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, usize, u32) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    let c = input.num_classes;
    let blocks = input.blocks(BLOCK_ELEMENTS);
    // A few groups of consecutive blocks per thread, one accumulator each (one per block would
    // cost more than the scan). The merge is exact (integers) or sorted after, so the grouping,
    // which follows the thread count, cannot change a result.
    let groups = (2 * rayon::current_num_threads()).clamp(1, SCAN_GROUPS);
    let per = blocks.len().div_ceil(groups).max(1);
    let parts: Vec<A> = blocks
        .par_chunks(per)
        .map(|group| {
            let mut acc = init();
            let mut buf = Vec::new();
            for &(r0, r1) in group {
                let rows = input.row_block(r0, r1, &mut buf);
                for r in r0..r1 {
                    let t = input.label(r);
                    if t == IGNORED {
                        continue;
                    }
                    let x = &rows[(r - r0) * c..(r - r0 + 1) * c];
                    for (i, &v) in x.iter().enumerate() {
                        if i as i32 == t {
                            f(&mut acc, 0, key(v, true));
                        } else {
                            f(&mut acc, 1, key(v, false));
                        }
                    }
                }
            }
            acc
        })
        .collect();
    parts.into_iter().reduce(merge).unwrap_or_else(init)
}

/// Thresholds of one side and a lookup table from the top 16 key bits to them.
#[derive(Debug, Clone, Default)]
pub struct SideThresholds {
    /// Elements on this side.
    pub n: u64,
    /// Distinct threshold keys, ascending.
    pub keys: Vec<u32>,
    /// (rank, key) of every requested rank.
    pub ranks: Vec<(u64, u32)>,
    /// For each top-16-bit bin: index range of `keys` in that bin.
    lut: Vec<(u32, u32)>,
}

impl SideThresholds {
    fn build_lut(keys: &[u32]) -> Vec<(u32, u32)> {
        let mut lut = vec![(0u32, 0u32); BINS];
        let mut i = 0usize;
        for (b, e) in lut.iter_mut().enumerate() {
            let lo = i;
            while i < keys.len() && (keys[i] >> 16) as usize == b {
                i += 1;
            }
            *e = (lo as u32, i as u32);
        }
        lut
    }
    /// Slot of a key: 2i for keys strictly between thresholds i-1 and i, 2i+1 for key == keys[i].
    #[inline(always)]
    fn slot(&self, k: u32) -> usize {
        let (lo, hi) = self.lut[(k >> 16) as usize];
        let (lo, hi) = (lo as usize, hi as usize);
        let i = if lo == hi { lo } else { lo + self.keys[lo..hi].partition_point(|&u| u < k) };
        if i < hi && self.keys[i] == k {
            2 * i + 1
        } else {
            2 * i
        }
    }
    fn slots(&self) -> usize {
        2 * self.keys.len() + 1
    }
}

/// The thresholds of both sides: what the pass needs to fill [`SlotSums`].
#[derive(Debug, Clone)]
pub struct SlotPlan {
    pub sides: [SideThresholds; 2],
}

/// Per side: element count and per-γ loss sum of each slot (`sum[side][slot * G + g]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSums {
    pub count: [Vec<u64>; 2],
    pub sum: [Vec<f64>; 2],
}

impl SlotSums {
    pub fn add(&mut self, o: &SlotSums) {
        for s in 0..2 {
            for (a, b) in self.count[s].iter_mut().zip(&o.count[s]) {
                *a += *b;
            }
            for (a, b) in self.sum[s].iter_mut().zip(&o.sum[s]) {
                *a += *b;
            }
        }
    }
}

/// The ranks a curve of `n` samples needs: floor(f·n) for the printed shares f (in f64, as a
/// sort-based `cs[floor(f * n)]` would), and an internal grid.
fn ranks_for(n: u64, cdf_points: usize) -> Vec<u64> {
    let mut r: Vec<u64> = cdf_shares(cdf_points).into_iter().map(|f| (f * n as f64).floor() as u64).collect();
    r.extend((1..INTERNAL_RANKS).map(|j| j * n / INTERNAL_RANKS));
    r.retain(|&k| k > 0 && k < n);
    r.sort_unstable();
    r.dedup();
    r
}

/// The printed sample shares: i / (N - 1), i = 0..N.
pub fn cdf_shares(points: usize) -> Vec<f64> {
    let d = (points.max(2) - 1) as f64;
    (0..points.max(2)).map(|i| i as f64 / d).collect()
}

type Hist256 = Vec<[u64; 256]>;

/// Histogram (256 bins of the bits at `sub_shift`) of the elements whose `key >> prefix_shift`
/// is one of `prefixes[side]` (sorted).
fn refine(input: &FocalInput, prefixes: &[Vec<u32>; 2], prefix_shift: u32, sub_shift: u32) -> [Hist256; 2] {
    let luts: Vec<Vec<(u32, u32)>> = prefixes
        .iter()
        .map(|p| {
            let tops: Vec<u32> = p.iter().map(|&x| x << prefix_shift).collect();
            SideThresholds::build_lut(&tops)
        })
        .collect();
    scan(
        input,
        || [vec![[0u64; 256]; prefixes[0].len()], vec![[0u64; 256]; prefixes[1].len()]],
        |acc, side, k| {
            let (lo, hi) = luts[side][(k >> 16) as usize];
            if lo == hi {
                return;
            }
            let p = k >> prefix_shift;
            let range = &prefixes[side][lo as usize..hi as usize];
            if let Ok(j) = range.binary_search(&p) {
                acc[side][lo as usize + j][((k >> sub_shift) & 255) as usize] += 1;
            }
        },
        |mut a, b| {
            for s in 0..2 {
                for (x, y) in a[s].iter_mut().zip(&b[s]) {
                    for j in 0..256 {
                        x[j] += y[j];
                    }
                }
            }
            a
        },
    )
}

/// Locate rank `k` in a histogram: (bin, rank within the bin).
fn locate(h: &[u64], k: u64) -> (usize, u64) {
    let mut cum = 0;
    for (b, &c) in h.iter().enumerate() {
        if k < cum + c {
            return (b, k - cum);
        }
        cum += c;
    }
    (h.len().saturating_sub(1), 0)
}

impl SlotPlan {
    /// Exact order statistics at every needed rank, by three integer histogram passes.
    pub fn new(input: &FocalInput, cfg: &Config, progress: &dyn Progress) -> SlotPlan {
        progress.start("ranks", 0);
        let h1 = scan(
            input,
            || [vec![0u64; BINS], vec![0u64; BINS]],
            |acc, side, k| acc[side][(k >> 16) as usize] += 1,
            |mut a, b| {
                for s in 0..2 {
                    for (x, y) in a[s].iter_mut().zip(&b[s]) {
                        *x += *y;
                    }
                }
                a
            },
        );
        let n = [h1[0].iter().sum::<u64>(), h1[1].iter().sum::<u64>()];
        let ranks: Vec<Vec<u64>> = (0..2).map(|s| ranks_for(n[s], cfg.cdf_points)).collect();
        // Level 1: top 16 bits.
        let l1: Vec<Vec<(u64, u32, u64)>> = (0..2)
            .map(|s| {
                ranks[s]
                    .iter()
                    .map(|&k| {
                        let (b, r) = locate(&h1[s], k);
                        (k, b as u32, r)
                    })
                    .collect()
            })
            .collect();
        // Level 2: bits 8..16 inside the selected 16-bit prefixes.
        let p2: [Vec<u32>; 2] = std::array::from_fn(|s| {
            let mut v: Vec<u32> = l1[s].iter().map(|e| e.1).collect();
            v.dedup();
            v
        });
        let h2 = refine(input, &p2, 16, 8);
        let l2: Vec<Vec<(u64, u32, u64)>> = (0..2)
            .map(|s| {
                l1[s]
                    .iter()
                    .map(|&(k, b, r)| {
                        let i = p2[s].binary_search(&b).unwrap_or(0);
                        let (sb, r2) = locate(&h2[s][i], r);
                        (k, (b << 8) | sb as u32, r2)
                    })
                    .collect()
            })
            .collect();
        // Level 3: the low 8 bits inside the selected 24-bit prefixes.
        let p3: [Vec<u32>; 2] = std::array::from_fn(|s| {
            let mut v: Vec<u32> = l2[s].iter().map(|e| e.1).collect();
            v.dedup();
            v
        });
        let h3 = refine(input, &p3, 8, 0);
        let sides: [SideThresholds; 2] = std::array::from_fn(|s| {
            let ranks: Vec<(u64, u32)> = l2[s]
                .iter()
                .map(|&(k, p, r)| {
                    let i = p3[s].binary_search(&p).unwrap_or(0);
                    let (lb, _) = locate(&h3[s][i], r);
                    (k, (p << 8) | lb as u32)
                })
                .collect();
            let mut keys: Vec<u32> = ranks.iter().map(|e| e.1).collect();
            keys.dedup();
            let lut = SideThresholds::build_lut(&keys);
            SideThresholds { n: n[s], keys, ranks, lut }
        });
        progress.finish();
        SlotPlan { sides }
    }

    #[inline(always)]
    pub fn slot(&self, side: usize, k: u32) -> usize {
        self.sides[side].slot(k)
    }

    pub fn zeros(&self, gammas: usize) -> SlotSums {
        SlotSums {
            count: std::array::from_fn(|s| vec![0; self.sides[s].slots()]),
            sum: std::array::from_fn(|s| vec![0.0; self.sides[s].slots() * gammas]),
        }
    }

    /// Bytes of one [`SlotSums`].
    pub fn bytes(&self, gammas: usize) -> usize {
        (self.sides[0].slots() + self.sides[1].slots()) * 8 * (1 + gammas)
    }
}

/// Fig. 4 per γ: `cdf[g][side]` points and `shares[g][side][q]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub cdf: Vec<[Vec<(f64, f64)>; 2]>,
    pub shares: Vec<[[Option<f64>; 3]; 2]>,
}

/// A crossing inside a between-slot, to be resolved by sorting that slot's elements.
struct Pending {
    side: usize,
    slot: usize,
    g: usize,
    q: usize,
    /// Loss budget left when entering the slot, and elements before it.
    budget: f64,
    before: u64,
}

/// Finish the curves from the slot sums (and one small refinement scan for the loss shares).
pub fn curves(input: &FocalInput, cfg: &Config, plan: &SlotPlan, ss: &SlotSums, progress: &dyn Progress) -> Curves {
    let gn = cfg.gammas.len();
    let gammas: Vec<Gamma> = cfg.gammas.iter().map(|&g| Gamma::new(g)).collect();
    let shares_f = cdf_shares(cfg.cdf_points);
    let mut cdf = vec![[Vec::new(), Vec::new()]; gn];
    let mut shares = vec![[[None; 3]; 2]; gn];
    let mut pending = Vec::new();
    for side in 0..2 {
        let st = &plan.sides[side];
        let n = st.n;
        let slots = st.slots();
        for g in 0..gn {
            // Prefix sums over slots: sum/count of slots [0, i).
            let mut psum = vec![0.0f64; slots + 1];
            let mut pcnt = vec![0u64; slots + 1];
            for i in 0..slots {
                psum[i + 1] = psum[i] + ss.sum[side][i * gn + g];
                pcnt[i + 1] = pcnt[i] + ss.count[side][i];
            }
            let total = psum[slots];
            if n == 0 || total <= 0.0 {
                continue;
            }
            let positive = side == 0;
            cdf[g][side] = shares_f
                .iter()
                .map(|&f| {
                    let k = (f * n as f64).floor() as u64;
                    if k == 0 {
                        return (f, 0.0);
                    }
                    if k >= n {
                        return (f, 1.0);
                    }
                    let u = st.ranks.iter().find(|e| e.0 == k).map(|e| e.1).unwrap_or(0);
                    let i = st.keys.binary_search(&u).unwrap_or(0);
                    // Slots 0..=2i hold every element with key < u.
                    let below = psum[2 * i + 1];
                    let cnt = pcnt[2 * i + 1];
                    let s = below + (k - cnt) as f64 * loss_of(u, positive, gammas[g]);
                    (f, (s / total).clamp(0.0, 1.0))
                })
                .collect();
            for (qi, &q) in LOSS_SHARES.iter().enumerate() {
                // Largest j with S(j) ≤ (1 - q)·total; the answer is (n - j) / n.
                let budget = (1.0 - q) * total;
                let Some(i) = (0..slots).find(|&i| psum[i + 1] > budget) else {
                    shares[g][side][qi] = Some(0.0);
                    continue;
                };
                let left = budget - psum[i];
                if i % 2 == 1 {
                    let l = loss_of(st.keys[i / 2], positive, gammas[g]);
                    let extra = if l > 0.0 { ((left / l).floor() as u64).min(ss.count[side][i].saturating_sub(1)) } else { 0 };
                    let j = pcnt[i] + extra;
                    shares[g][side][qi] = Some((n - j) as f64 / n as f64);
                } else {
                    pending.push(Pending { side, slot: i, g, q: qi, budget: left, before: pcnt[i] });
                }
            }
        }
    }
    if !pending.is_empty() {
        progress.start("loss shares", 0);
        let mut wanted: Vec<(usize, usize)> = pending.iter().map(|p| (p.side, p.slot)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let keys = collect_slots(input, plan, &wanted);
        for p in &pending {
            let w = wanted.binary_search(&(p.side, p.slot)).unwrap_or(0);
            let n = plan.sides[p.side].n;
            let mut cum = 0.0;
            let mut extra = 0u64;
            for &k in &keys[w] {
                let l = loss_of(k, p.side == 0, gammas[p.g]);
                if cum + l > p.budget {
                    break;
                }
                cum += l;
                extra += 1;
            }
            shares[p.g][p.side][p.q] = Some((n - (p.before + extra)) as f64 / n as f64);
        }
        progress.finish();
    }
    Curves { cdf, shares }
}

/// Sorted keys of the elements in each wanted (side, between-slot).
fn collect_slots(input: &FocalInput, plan: &SlotPlan, wanted: &[(usize, usize)]) -> Vec<Vec<u32>> {
    // Key range of between-slot 2i: (keys[i-1], keys[i]) exclusive.
    let ranges: Vec<(usize, u64, u64)> = wanted
        .iter()
        .map(|&(side, slot)| {
            let st = &plan.sides[side];
            let i = slot / 2;
            let lo = if i == 0 { 0u64 } else { st.keys[i - 1] as u64 + 1 };
            let hi = if i < st.keys.len() { st.keys[i] as u64 } else { 1u64 << 32 };
            (side, lo, hi)
        })
        .collect();
    let mut marked = [vec![false; BINS], vec![false; BINS]];
    for &(side, lo, hi) in &ranges {
        if lo < hi {
            for b in (lo >> 16) as usize..=((hi - 1) >> 16) as usize {
                marked[side][b] = true;
            }
        }
    }
    let mut out = scan(
        input,
        || vec![Vec::new(); ranges.len()],
        |acc: &mut Vec<Vec<u32>>, side, k| {
            if !marked[side][(k >> 16) as usize] {
                return;
            }
            for (j, &(s, lo, hi)) in ranges.iter().enumerate() {
                if s == side && (k as u64) >= lo && (k as u64) < hi {
                    acc[j].push(k);
                }
            }
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                x.extend(y);
            }
            a
        },
    );
    for v in out.iter_mut() {
        v.sort_unstable();
    }
    out
}
