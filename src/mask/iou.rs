//! Mask IoU and merge: maskApi.c's `rleIou` and `rleMerge`, plus what evaluation caches per mask
//! to make `rleIou` cheap ([`MaskInfo`], the foreground intervals of [`runs_of`]) and the literal
//! walk it is property-tested against.

use super::{CountSink, Rle};

/// What evaluation needs to know of a mask besides its runs: size, `rleArea`, `rleToBbox`, and
/// whether the run-interval IoU ([`intersect_runs`]) gives maskApi.c's `rleIou` numbers for it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MaskInfo {
    pub h: u32,
    pub w: u32,
    pub area: u64,
    pub bbox: [f64; 4],
    /// `0 < h*w < 2^31` and no zero-length run after the first count: see [`iou`].
    pub plain: bool,
}

/// Largest `h*w` for which run positions and `rleIou`'s u32 sums cannot wrap, even summed in
/// pairs (`ct = ca + cb` in maskApi.c's walk).
const PLAIN_MAX_PIXELS: u64 = (1 << 31) - 1;

/// Area, `rleToBbox` and shape facts of a mask, accumulated count by count (so a mask being
/// decoded needs no second pass).
///
/// The box is maskApi.c's loop reorganised (property-tested against
/// [`Rle::to_bbox_reference`]): runs advance monotonically, so `xs` is the column of the first
/// non-empty run of 1s and `xe` the column of the last pixel of the last one (one division each,
/// at the ends); the rows come from each run's offset in its column, tracked by stepping from the
/// previous run's column instead of dividing; a run that crosses a column boundary makes the box
/// span all rows.
#[derive(Debug, Clone)]
pub struct RunStats {
    h: u64,
    /// `max(h, 1)`, the column length positions are divided by (an `h = 0` mask has no pixels
    /// and an all-zero box whatever is tracked).
    hd: u64,
    w: u32,
    /// Number of counts, given by [`CountSink::end`].
    n: usize,
    /// Some count after the first was 0. A zero count of 0s is noticed only once some pixel was
    /// covered: before that, the count of 1s just before it was 0 too, and already noticed.
    interior_zero: bool,
    /// Pixels covered so far.
    cc: u64,
    area: u64,
    /// First pixel of the first non-empty run of 1s (`u64::MAX`: none yet) and last pixel of the
    /// last one.
    first: u64,
    last: u64,
    /// Smallest and largest row offset of the runs of 1s in their columns. A run reaching into
    /// the next column makes `ye >= h`, which marks a box spanning all rows.
    ys: u64,
    ye: u64,
    /// Index of the first pixel of the column of the last run of 1s (0 before the first run,
    /// which then lands in the branch that places it).
    col0: u64,
}

impl RunStats {
    pub fn new(h: u32, w: u32) -> RunStats {
        let h = h as u64;
        RunStats {
            h,
            hd: h.max(1),
            w,
            n: 0,
            interior_zero: false,
            cc: 0,
            area: 0,
            first: u64::MAX,
            last: 0,
            ys: h,
            ye: 0,
            col0: 0,
        }
    }

    /// A non-empty run of 1s over pixels `start..=last`. Runs come in increasing order, so the
    /// first one sets `first`, and a run's column is the previous run's or a later one (the
    /// first run, with `col0 = 0`, is placed by the same test).
    #[inline(always)]
    fn fg_run(&mut self, start: u64, last: u64) {
        let h = self.hd;
        let col_end = self.col0 + h;
        if start >= col_end {
            self.col0 = if start < col_end + h {
                col_end
            } else {
                start / h * h
            };
        }
        self.first = self.first.min(start);
        self.last = last;
        self.ys = self.ys.min(start - self.col0);
        self.ye = self.ye.max(last - self.col0);
    }

    /// Sum of the counts so far.
    pub fn pixels(&self) -> u64 {
        self.cc
    }

    /// `rleArea`.
    pub fn area(&self) -> u64 {
        self.area
    }

    /// `rleToBbox`.
    pub fn bbox(&self) -> [f64; 4] {
        if self.n < 2 || self.h == 0 {
            return [0.0; 4];
        }
        let h = self.h;
        let (xs, xe, ys, ye) = if self.first == u64::MAX {
            // maskApi.c's initial values: nothing found.
            (self.w as u64, 0, h, 0)
        } else {
            let (ys, ye) = if self.ye >= h {
                (0, h - 1)
            } else {
                (self.ys, self.ye)
            };
            (self.first / h, self.last / h, ys, ye)
        };
        // C computes `xe-xs+1` in uint; for a mask with only zero-length runs this wraps as there.
        let (xs, ys, xe, ye) = (xs as u32, ys as u32, xe as u32, ye as u32);
        [
            xs as f64,
            ys as f64,
            xe.wrapping_sub(xs).wrapping_add(1) as f64,
            ye.wrapping_sub(ys).wrapping_add(1) as f64,
        ]
    }

    pub fn info(&self) -> MaskInfo {
        let hw = self.h * self.w as u64;
        MaskInfo {
            h: self.h as u32,
            w: self.w,
            area: self.area,
            bbox: self.bbox(),
            plain: hw > 0 && hw <= PLAIN_MAX_PIXELS && !self.interior_zero,
        }
    }
}

impl CountSink for RunStats {
    #[inline(always)]
    fn zeros(&mut self, c: u32) {
        self.interior_zero |= (c == 0) & (self.cc != 0);
        self.cc += c as u64;
    }

    #[inline(always)]
    fn ones(&mut self, c: u32) {
        let c64 = c as u64;
        let start = self.cc;
        self.cc = start + c64;
        self.area += c64;
        self.interior_zero |= c == 0;
        if c != 0 {
            self.fg_run(start, self.cc - 1);
        }
    }

    #[inline(always)]
    fn end(&mut self, n: usize) {
        self.n = n;
    }
}

/// Collects a mask's runs of 1s as pixel intervals `[start, end)` in column-major order; only
/// for masks whose positions fit u32 (`MaskInfo::plain`).
#[derive(Debug)]
pub struct RunBuilder<'a> {
    pos: u32,
    pub out: &'a mut Vec<(u32, u32)>,
}

impl<'a> RunBuilder<'a> {
    pub fn new(out: &'a mut Vec<(u32, u32)>) -> Self {
        RunBuilder { pos: 0, out }
    }
}

impl CountSink for RunBuilder<'_> {
    #[inline]
    fn zeros(&mut self, c: u32) {
        self.pos = self.pos.wrapping_add(c);
    }

    #[inline]
    fn ones(&mut self, c: u32) {
        let end = self.pos.wrapping_add(c);
        if c != 0 {
            self.out.push((self.pos, end));
        }
        self.pos = end;
    }
}

/// The foreground intervals of `counts` (see [`RunBuilder`]), appended to `out`.
pub fn runs_of(counts: &[u32], out: &mut Vec<(u32, u32)>) {
    let mut b = RunBuilder::new(out);
    for pair in counts.chunks(2) {
        b.zeros(pair[0]);
        if let Some(&c) = pair.get(1) {
            b.ones(c);
        }
    }
}

/// The counts of a `plain` mask of `n = h*w` pixels from its runs ([`runs_of`]): a plain mask
/// has no zero-length run after the first count, so its runs determine its counts exactly.
pub fn counts_of_runs(runs: &[(u32, u32)], n: u64, out: &mut Vec<u32>) {
    out.clear();
    let mut pos = 0u32;
    for &(s, e) in runs {
        out.push(s - pos);
        out.push(e - s);
        pos = e;
    }
    if runs.is_empty() || (pos as u64) < n {
        out.push((n - pos as u64) as u32);
    }
}

/// Number of pixels in both of two sorted lists of disjoint intervals.
pub fn intersect_runs(a: &[(u32, u32)], b: &[(u32, u32)]) -> u32 {
    let (Some(a0), Some(b0)) = (a.first(), b.first()) else {
        return 0;
    };
    // Skip what ends before the other mask starts (binary search), then merge.
    let mut sink = IntersectRuns::new(b);
    sink.j = b.partition_point(|r| r.1 <= a0.0);
    for &(s, e) in &a[a.partition_point(|r| r.1 <= b0.0)..] {
        if s >= sink.end {
            break;
        }
        sink.run(s, e);
    }
    sink.inter
}

/// The pixels a mask's runs of 1s share with `gt`'s foreground intervals, counted while the
/// mask is decoded: a [`CountSink`] that is [`CountSink::full`] once past the last interval, so
/// the rest of the mask need not be decoded. For `plain` masks (positions fit u32). The merge of
/// [`intersect_runs`] too, fed with runs already decoded.
#[derive(Debug)]
pub struct IntersectRuns<'a> {
    gt: &'a [(u32, u32)],
    /// First interval of `gt` that may still meet a run.
    j: usize,
    pos: u32,
    end: u32,
    pub inter: u32,
}

impl<'a> IntersectRuns<'a> {
    pub fn new(gt: &'a [(u32, u32)]) -> Self {
        IntersectRuns {
            gt,
            j: 0,
            pos: 0,
            end: gt.last().map_or(0, |r| r.1),
            inter: 0,
        }
    }

    /// Count the run `[s, e)` of 1s (runs come in increasing order).
    #[inline(always)]
    fn run(&mut self, s: u32, e: u32) {
        let gt = self.gt;
        while self.j < gt.len() && gt[self.j].1 <= s {
            self.j += 1;
        }
        let mut k = self.j;
        while k < gt.len() && gt[k].0 < e {
            self.inter += e.min(gt[k].1) - s.max(gt[k].0);
            k += 1;
        }
    }
}

impl CountSink for IntersectRuns<'_> {
    #[inline(always)]
    fn zeros(&mut self, c: u32) {
        self.pos = self.pos.wrapping_add(c);
    }

    #[inline(always)]
    fn ones(&mut self, c: u32) {
        let (s, e) = (self.pos, self.pos.wrapping_add(c));
        self.pos = e;
        self.run(s, e);
    }

    #[inline(always)]
    fn full(&self) -> bool {
        self.pos >= self.end
    }
}

/// A mask as [`iou`] reads it: its facts, its runs as intervals (read when both masks of a pair
/// are `plain`) and its counts (read otherwise).
#[derive(Debug, Clone, Copy)]
pub struct MaskRef<'a> {
    pub info: &'a MaskInfo,
    pub runs: &'a [(u32, u32)],
    pub counts: &'a [u32],
}

/// The part of `rleIou` that needs only the masks' facts: 0 when the box IoU pre-check
/// (`geom::coco_box_iou` on the `rleToBbox` boxes, i.e. `bbIou`) finds no overlap, -1 for masks
/// of different sizes, `None` when the runs must be compared ([`iou_runs`]).
#[inline]
pub fn iou_precheck(dt: &MaskInfo, gt: &MaskInfo, crowd: bool) -> Option<f64> {
    if crate::geom::coco_box_iou(&dt.bbox, &gt.bbox, crowd) <= 0.0 {
        return Some(0.0);
    }
    if dt.h != gt.h || dt.w != gt.w {
        return Some(-1.0);
    }
    None
}

/// `rleIou` for one pair: [`iou_precheck`], then [`iou_runs`].
pub fn iou(dt: MaskRef<'_>, gt: MaskRef<'_>, crowd: bool) -> f64 {
    iou_precheck(dt.info, gt.info, crowd).unwrap_or_else(|| iou_runs(dt, gt, crowd))
}

/// `rleIou` past the pre-check, for two masks of one size: `intersection / union` (or
/// `/ area(dt)` for a crowd GT), 0 without intersection.
///
/// When both masks are `plain` this counts only the intersection, over foreground intervals, and
/// takes the union as `area(dt) + area(gt) - intersection`: with all counts summing to `h*w` and no
/// zero-length run after the first, maskApi.c's walk visits every pixel and its u32 sums cannot
/// wrap, so it computes exactly these integers. Otherwise (zero-length runs can end maskApi.c's
/// walk early) this is maskApi.c's walk as written ([`iou_walk`]). Property-tested against it.
pub fn iou_runs(dt: MaskRef<'_>, gt: MaskRef<'_>, crowd: bool) -> f64 {
    let (di, gi) = (dt.info, gt.info);
    if !(di.plain && gi.plain) {
        return iou_walk(dt.counts, gt.counts, crowd);
    }
    iou_of_intersection(di, gi, intersect_runs(dt.runs, gt.runs), crowd)
}

/// `rleIou` of two `plain` masks of one size from their intersection `i` (see [`iou_runs`]).
#[inline]
pub fn iou_of_intersection(di: &MaskInfo, gi: &MaskInfo, i: u32, crowd: bool) -> f64 {
    if i == 0 {
        return 0.0;
    }
    // Both areas are at most h*w < 2^31, so neither sum wraps.
    let u = if crowd {
        di.area as u32
    } else {
        (di.area + gi.area - i as u64) as u32
    };
    i as f64 / u as f64
}

/// `rleMerge`: union (or intersection) of masks of one size; an empty mask for no input and
/// 0x0 if the sizes differ (as maskApi.c).
pub fn merge(rles: &[Rle], intersect: bool) -> Rle {
    match rles.len() {
        0 => return Rle::default(),
        1 => return rles[0].clone(),
        _ => {}
    }
    let (h, w) = (rles[0].h, rles[0].w);
    let mut cnts: Vec<u32> = rles[0].counts.clone();
    for bb in &rles[1..] {
        if bb.h != h || bb.w != w {
            return Rle {
                h: 0,
                w: 0,
                counts: vec![],
            };
        }
        let aa = std::mem::take(&mut cnts);
        let (am, bm) = (aa.len(), bb.counts.len());
        let mut ca = aa.first().copied().unwrap_or(0);
        let mut cb = bb.counts.first().copied().unwrap_or(0);
        let (mut v, mut va, mut vb) = (false, false, false);
        let (mut ai, mut bi) = (1usize, 1usize);
        let mut cc: u32 = 0;
        let mut ct: u32 = 1;
        while ct > 0 {
            let c = ca.min(cb);
            cc = cc.wrapping_add(c);
            ct = 0;
            ca -= c;
            if ca == 0 && ai < am {
                ca = aa[ai];
                ai += 1;
                va = !va;
            }
            ct = ct.wrapping_add(ca);
            cb -= c;
            if cb == 0 && bi < bm {
                cb = bb.counts[bi];
                bi += 1;
                vb = !vb;
            }
            ct = ct.wrapping_add(cb);
            let vp = v;
            v = if intersect { va && vb } else { va || vb };
            if v != vp || ct == 0 {
                cnts.push(cc);
                cc = 0;
            }
        }
    }
    Rle { h, w, counts: cnts }
}

/// maskApi.c's `rleIou` walk as written, after the box pre-check: `intersection / union` (or
/// `/ area(dt)` for a crowd GT) in u32 counts, 0 without intersection. Both masks have one size.
pub fn iou_walk(da: &[u32], ga: &[u32], crowd: bool) -> f64 {
    let (ka, kb) = (da.len(), ga.len());
    let mut ca = da.first().copied().unwrap_or(0);
    let mut cb = ga.first().copied().unwrap_or(0);
    let (mut va, mut vb) = (false, false);
    let (mut a, mut b) = (1usize, 1usize);
    let (mut i, mut u): (u32, u32) = (0, 0);
    let mut ct: u32 = 1;
    while ct > 0 {
        // Counts of unequal sums (a polygon rasterised for a 0-wide image) would leave one side
        // exhausted and the other stuck forever, here as in maskApi.c: stop instead.
        if (ca == 0 && a >= ka && cb > 0) || (cb == 0 && b >= kb && ca > 0) {
            break;
        }
        let c = ca.min(cb);
        if va || vb {
            u = u.wrapping_add(c);
            if va && vb {
                i = i.wrapping_add(c);
            }
        }
        ct = 0;
        ca -= c;
        if ca == 0 && a < ka {
            ca = da[a];
            a += 1;
            va = !va;
        }
        ct = ct.wrapping_add(ca);
        cb -= c;
        if cb == 0 && b < kb {
            cb = ga[b];
            b += 1;
            vb = !vb;
        }
        ct = ct.wrapping_add(cb);
    }
    if i == 0 {
        u = 1;
    } else if crowd {
        u = da
            .iter()
            .skip(1)
            .step_by(2)
            .fold(0u32, |s, &c| s.wrapping_add(c));
    }
    i as f64 / u as f64
}

/// maskApi.c's `rleIou` for one pair as written (box pre-check with the given `rleToBbox`
/// boxes, size check, walk): the reference for [`iou`].
pub fn iou_reference(dt: &Rle, dt_box: &[f64; 4], gt: &Rle, gt_box: &[f64; 4], crowd: bool) -> f64 {
    if crate::geom::coco_box_iou(dt_box, gt_box, crowd) <= 0.0 {
        return 0.0;
    }
    if dt.h != gt.h || dt.w != gt.w {
        return -1.0;
    }
    iou_walk(&dt.counts, &gt.counts, crowd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::test_support::*;
    use crate::mask::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn iou_equals_the_walk_on_any_counts(h in 1u32..6, w in 1u32..6, crowd: bool,
                                            a in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..8], 1..10),
                                            b in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..8], 1..10)) {
            // Counts cut or padded to sum to h*w, zero-length runs anywhere (which end maskApi.c's
            // walk early: those pairs must take the walk).
            let fit = |mut c: Vec<u32>| {
                let hw = h * w;
                let mut s = 0;
                for x in c.iter_mut() {
                    *x = (*x).min(hw - s);
                    s += *x;
                }
                if s < hw {
                    c.push(hw - s);
                }
                Rle::from_counts(h, w, c).unwrap()
            };
            let (a, b) = (fit(a), fit(b));
            prop_assert_eq!(a.stats().info().bbox, a.to_bbox_reference());
            prop_assert_eq!(a.stats().info().area, a.area());
            let v = iou_of(&a, &b, crowd);
            prop_assert_eq!(v, iou_reference(&a, &a.to_bbox_reference(), &b, &b.to_bbox_reference(), crowd));
        }

        #[test]
        fn plain_counts_come_back_from_their_runs(h in 1u32..6, w in 1u32..6,
                                                 c in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..8], 1..12)) {
            // Counts cut or padded to sum to h*w (zero-length runs anywhere): the plain ones
            // must come back.
            let hw = h * w;
            let mut s = 0;
            let mut c: Vec<u32> = c.into_iter().map(|x| { let x = x.min(hw - s); s += x; x }).collect();
            if s < hw {
                c.push(hw - s);
            }
            let rle = Rle::from_counts(h, w, c.clone()).unwrap();
            let mut runs = Vec::new();
            runs_of(&rle.counts, &mut runs);
            let mut back = Vec::new();
            counts_of_runs(&runs, hw as u64, &mut back);
            if rle.stats().info().plain {
                prop_assert_eq!(back, c);
            }
        }

        #[test]
        fn iou_matches_reference_and_is_symmetric((h, w, m1) in arb_mask(), seed in 0u64..1000) {
            let m2: Vec<u8> = m1.iter().enumerate().map(|(i, &b)| if (i as u64 * 2654435761 + seed) % 3 == 0 { 1 - b } else { b }).collect();
            let (a, b) = (Rle::encode(&m1, h, w), Rle::encode(&m2, h, w));
            let (ba, bb) = (a.to_bbox(), b.to_bbox());
            prop_assert_eq!(ba, a.to_bbox_reference());
            prop_assert_eq!(bb, b.to_bbox_reference());
            let ab = iou_of(&a, &b, false);
            prop_assert_eq!(ab, iou_of(&b, &a, false));
            prop_assert_eq!(ab, iou_ref(&a, &b, false));
            prop_assert_eq!(ab, iou_reference(&a, &ba, &b, &bb, false));
            prop_assert_eq!(iou_of(&a, &b, true), iou_ref(&a, &b, true));
            prop_assert_eq!(iou_of(&a, &b, true), iou_reference(&a, &ba, &b, &bb, true));
            let un = merge(&[a.clone(), b.clone()], false);
            let is = merge(&[a.clone(), b.clone()], true);
            let or: Vec<u8> = m1.iter().zip(&m2).map(|(x, y)| x | y).collect();
            let and: Vec<u8> = m1.iter().zip(&m2).map(|(x, y)| x & y).collect();
            prop_assert_eq!(un.decode().unwrap(), or);
            prop_assert_eq!(is.decode().unwrap(), and);
        }
    }
}
