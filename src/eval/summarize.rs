//! Phase 3 of COCOeval (`summarize`): the 12 detection stats (10 for keypoints) and their printed
//! lines. Slices are selected as pycocotools does (area by label, maxDets by value, IoU by exact
//! float equality) and averaged with numpy's pairwise summation, so the doubles are identical.

use super::accumulate::Arrays;
use super::params::{IouType, Params};

/// numpy's `pairwise_sum` for float64 (`numpy/_core/src/umath/loops_utils.h.src`): blocks of
/// fewer than 8 are summed left to right; up to 128 use eight interleaved accumulators combined as
/// `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))` plus a left-to-right remainder; larger blocks split at
/// `n/2` rounded down to a multiple of 8.
pub fn np_pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_pairwise_sum(&a[..n2]) + np_pairwise_sum(&a[n2..])
    }
}

/// `np.mean` of a 1-D float64 array.
pub fn np_mean(a: &[f64]) -> f64 {
    np_pairwise_sum(a) / a.len() as f64
}

/// [`np_pairwise_sum`] of a sequence whose length `n` is known in advance, fed one value at a
/// time, so that the values need not be stored: the leaves of numpy's recursion (blocks of at
/// most 128) are summed as they arrive, by the same rules, and the leaf sums are joined along
/// the same tree. Same additions in the same order, so the same double.
pub struct PairwiseStream {
    /// Leaf lengths in order, and the next one to fill.
    leaves: Vec<usize>,
    leaf: usize,
    /// Position inside the current leaf and its accumulators.
    pos: usize,
    r: [f64; 8],
    res: f64,
    sums: Vec<f64>,
    n: usize,
}

impl PairwiseStream {
    pub fn new(n: usize) -> PairwiseStream {
        fn split(n: usize, out: &mut Vec<usize>) {
            if n <= 128 {
                out.push(n);
            } else {
                let n2 = n / 2 - (n / 2) % 8;
                split(n2, out);
                split(n - n2, out);
            }
        }
        let mut leaves = Vec::with_capacity(n / 64 + 1);
        split(n, &mut leaves);
        PairwiseStream {
            sums: Vec::with_capacity(leaves.len()),
            leaves,
            leaf: 0,
            pos: 0,
            r: [0.0; 8],
            res: 0.0,
            n,
        }
    }

    #[inline]
    pub fn push(&mut self, x: f64) {
        let len = self.leaves[self.leaf];
        let i = self.pos;
        if len < 8 {
            self.res += x;
        } else if i < 8 {
            self.r[i] = x;
        } else if i < len - len % 8 {
            self.r[i % 8] += x;
        } else {
            if i == len - len % 8 {
                self.close_block();
            }
            self.res += x;
        }
        self.pos += 1;
        if self.pos == len {
            if len >= 8 && len % 8 == 0 {
                self.close_block();
            }
            self.sums.push(self.res);
            self.res = 0.0;
            self.pos = 0;
            self.leaf += 1;
        }
    }

    /// The eight accumulators folded as numpy folds them, before the remainder is added.
    #[inline]
    fn close_block(&mut self) {
        let r = &self.r;
        self.res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    }

    /// The sum, once all `n` values were pushed.
    pub fn finish(self) -> f64 {
        fn join(n: usize, sums: &mut std::slice::Iter<'_, f64>) -> f64 {
            if n <= 128 {
                *sums.next().expect("one sum per leaf")
            } else {
                let n2 = n / 2 - (n / 2) % 8;
                join(n2, sums) + join(n - n2, sums)
            }
        }
        debug_assert_eq!(self.leaf, self.leaves.len(), "fewer values than announced");
        if self.n == 0 {
            return 0.0;
        }
        join(self.n, &mut self.sums.iter())
    }
}

/// One summary statistic, described as pycocotools' `_summarize` arguments.
#[derive(Debug, Clone)]
pub struct StatSpec {
    pub ap: bool,
    pub iou: Option<f64>,
    pub area: &'static str,
    pub max_dets: usize,
    pub name: String,
    /// Average over these category positions only (LVIS' frequency groups); `None` = all.
    pub cats: Option<Vec<usize>>,
}

/// The stat list for this IoU type with pycocotools' selection rules: bbox/segm stat 0 uses
/// `maxDets=100` by value (hard-coded), the others `maxDets[0..3]` by position of the sorted list
/// (clamped to the last one when fewer than 3 are given — pycocotools raises IndexError there).
pub fn stat_specs(p: &Params) -> Vec<StatSpec> {
    let md = p.sorted_max_dets();
    let at = |i: usize| -> usize { md.get(i).or(md.last()).copied().unwrap_or(100) };
    let s = |ap, iou, area, max_dets, name: &str| StatSpec {
        ap,
        iou,
        area,
        max_dets,
        name: name.to_string(),
        cats: None,
    };
    match p.iou_type {
        IouType::Keypoints => vec![
            s(true, None, "all", 20, "AP"),
            s(true, Some(0.5), "all", 20, "AP50"),
            s(true, Some(0.75), "all", 20, "AP75"),
            s(true, None, "medium", 20, "APm"),
            s(true, None, "large", 20, "APl"),
            s(false, None, "all", 20, "AR"),
            s(false, Some(0.5), "all", 20, "AR50"),
            s(false, Some(0.75), "all", 20, "AR75"),
            s(false, None, "medium", 20, "ARm"),
            s(false, None, "large", 20, "ARl"),
        ],
        _ => vec![
            s(true, None, "all", 100, "AP"),
            s(true, Some(0.5), "all", at(2), "AP50"),
            s(true, Some(0.75), "all", at(2), "AP75"),
            s(true, None, "small", at(2), "APs"),
            s(true, None, "medium", at(2), "APm"),
            s(true, None, "large", at(2), "APl"),
            s(false, None, "all", at(0), "AR1"),
            s(false, None, "all", at(1), "AR10"),
            s(false, None, "all", at(2), "AR100"),
            s(false, None, "small", at(2), "ARs"),
            s(false, None, "medium", at(2), "ARm"),
            s(false, None, "large", at(2), "ARl"),
        ],
    }
}

/// Compute one stat over all categories (`cat = None`) or one category index.
pub fn summarize_one(
    arr: &Arrays,
    p: &Params,
    max_dets_sorted: &[usize],
    spec: &StatSpec,
    cat: Option<usize>,
) -> f64 {
    let tsel: Vec<usize> = match spec.iou {
        None => (0..arr.t).collect(),
        Some(v) => p
            .iou_thrs
            .iter()
            .enumerate()
            .filter(|(_, &x)| x == v)
            .map(|(i, _)| i)
            .collect(),
    };
    let aind: Vec<usize> = p
        .area_rng
        .iter()
        .enumerate()
        .filter(|(_, r)| r.label == spec.area)
        .map(|(i, _)| i)
        .collect();
    let mind: Vec<usize> = max_dets_sorted
        .iter()
        .enumerate()
        .filter(|(_, &m)| m == spec.max_dets)
        .map(|(i, _)| i)
        .collect();
    // numpy broadcasts the two index lists `[:, :, :, aind, mind]` against each other.
    let pairs: Vec<(usize, usize)> = if aind.len() == mind.len() {
        aind.iter().copied().zip(mind.iter().copied()).collect()
    } else if aind.len() == 1 {
        mind.iter().map(|&m| (aind[0], m)).collect()
    } else if mind.len() == 1 {
        aind.iter().map(|&a| (a, mind[0])).collect()
    } else {
        Vec::new()
    };
    let ks: Vec<usize> = match (cat, &spec.cats) {
        (Some(k), _) => vec![k],
        (None, Some(group)) => group.clone(),
        (None, None) => (0..arr.k).collect(),
    };
    // The selected slice in C order: T, (R), K, then the broadcast pair axis. (LVIS' group
    // selection `s[:, :, group, aidx]` has the same order: T, R, then the group's categories.)
    // The arrays are stored category-major; for one T index each (category, pair) is a base
    // offset and R a fixed stride, so the values are read in C order and filtered as read: the
    // values and their order are numpy's. They are summed as they are read (a first pass counts
    // them, in any order): with LVIS' 1,203 categories a stat selects over a million values,
    // and storing them cost more in fresh memory than the sum itself.
    let nr = if spec.ap { arr.r } else { 1 };
    let (src, stride_r) = if spec.ap {
        (&arr.precision, arr.a * arr.m)
    } else {
        (&arr.recall, 0)
    };
    let base = |t: usize, k: usize, a: usize, m: usize| {
        if spec.ap {
            arr.pidx(t, 0, k, a, m)
        } else {
            arr.ridx(t, k, a, m)
        }
    };
    let mut n = 0usize;
    for &k in &ks {
        for &t in &tsel {
            for &(a, m) in &pairs {
                let b = base(t, k, a, m);
                n += (0..nr).filter(|r| src[b + r * stride_r] > -1.0).count();
            }
        }
    }
    if n == 0 {
        return -1.0;
    }
    let mut sum = PairwiseStream::new(n);
    let mut bases = Vec::with_capacity(ks.len() * pairs.len());
    for &t in &tsel {
        bases.clear();
        for &k in &ks {
            for &(a, m) in &pairs {
                bases.push(base(t, k, a, m));
            }
        }
        for r in 0..nr {
            let off = r * stride_r;
            for &b in &bases {
                let v = src[b + off];
                if v > -1.0 {
                    sum.push(v);
                }
            }
        }
    }
    sum.finish() / n as f64
}

/// pycocotools' printed line: `' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'`.
pub fn format_line(spec: &StatSpec, p: &Params, value: f64) -> String {
    let title = if spec.ap {
        "Average Precision"
    } else {
        "Average Recall"
    };
    let kind = if spec.ap { "(AP)" } else { "(AR)" };
    let iou = match spec.iou {
        None => format!(
            "{:.2}:{:.2}",
            p.iou_thrs.first().copied().unwrap_or(0.5),
            p.iou_thrs.last().copied().unwrap_or(0.95)
        ),
        Some(v) => format!("{:.2}", v),
    };
    format!(
        " {:<18} {} @[ IoU={:<9} | area={:>6} | maxDets={:>3} ] = {}",
        title,
        kind,
        iou,
        spec.area,
        spec.max_dets,
        fmt3(value)
    )
}

/// Python's `'{:0.3f}'.format(x)`: correctly rounded, ties to even on the exact binary value.
pub fn fmt3(x: f64) -> String {
    format!("{:.3}", x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_differs_from_naive_as_numpy_does() {
        // numpy: np.sum(np.full(9, 0.1)) == 0.9 while a running sum gives 0.8999999999999999.
        let a = [0.1; 9];
        let naive: f64 = a.iter().fold(0.0, |s, &x| s + x);
        assert_eq!(naive, 0.8999999999999999);
        assert_eq!(np_pairwise_sum(&a), 0.9);
        assert_eq!(np_pairwise_sum(&[]), 0.0);
    }

    #[test]
    fn streamed_pairwise_sum_equals_numpy_order() {
        let mut rng = crate::rng::SplitMix64::from_state(23);
        let mut lens: Vec<usize> = (0..600).collect();
        lens.extend([1023, 1024, 1025, 4095, 65_536, 100_003, 1_212_000]);
        for n in lens {
            // Values of mixed magnitude, so that a different order of additions shows.
            let a: Vec<f64> = (0..n)
                .map(|_| {
                    let m = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    m * [1.0, 1e-9, 1e7][(rng.next_u64() % 3) as usize]
                })
                .collect();
            let mut s = PairwiseStream::new(n);
            for &x in &a {
                s.push(x);
            }
            assert_eq!(
                s.finish().to_bits(),
                np_pairwise_sum(&a).to_bits(),
                "n = {}",
                n
            );
        }
    }

    #[test]
    fn printed_line_matches_pycocotools() {
        let p = Params::new(IouType::Bbox);
        let specs = stat_specs(&p);
        assert_eq!(
            format_line(&specs[0], &p, 0.50456),
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505"
        );
        assert_eq!(
            format_line(&specs[6], &p, -1.0),
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = -1.000"
        );
        assert_eq!(
            format_line(&specs[1], &p, 0.0),
            " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.000"
        );
        // Ties on the exact binary value round to even, like Python's format.
        assert_eq!(fmt3(0.0625), "0.062");
        assert_eq!(fmt3(0.1875), "0.188");
    }
}
