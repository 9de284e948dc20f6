//! COCO run-length-encoded masks, ported from pycocotools' `common/maskApi.c` operation by
//! operation so that areas, boxes, polygon rasterisation and IoUs are the same numbers.
//!
//! An [`Rle`] stores alternating runs of 0s and 1s over the mask read in column-major order
//! (x outer, y inner), starting with a run of 0s. Integer arithmetic uses C's `uint`/`int`
//! widths (u32/i32 with wrap-around) where maskApi.c does.

/// A run-length-encoded binary mask of `h` rows and `w` columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rle {
    pub h: u32,
    pub w: u32,
    pub counts: Vec<u32>,
}

/// Why a mask could not be built from user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskError(pub String);

impl Rle {
    /// Build from explicit counts, checking that they cover exactly `h*w` pixels.
    pub fn from_counts(h: u32, w: u32, counts: Vec<u32>) -> Result<Rle, MaskError> {
        let sum: u64 = counts.iter().map(|&c| c as u64).sum();
        Rle::check_sum(h, w, sum)?;
        Ok(Rle { h, w, counts })
    }

    /// Counts summing to `sum` must cover exactly the `h*w` pixels.
    pub fn check_sum(h: u32, w: u32, sum: u64) -> Result<(), MaskError> {
        let hw = h as u64 * w as u64;
        if sum != hw {
            return Err(MaskError(format!("RLE counts sum to {} but the mask has {}x{} = {} pixels", sum, h, w, hw)));
        }
        Ok(())
    }

    /// `rleArea`: the number of foreground pixels (sum of the odd runs).
    pub fn area(&self) -> u64 {
        self.counts.iter().skip(1).step_by(2).map(|&c| c as u64).sum()
    }

    /// `rleToBbox` (pycocotools 2.0.11's fixed version): `[x, y, w, h]` of the foreground pixels,
    /// all zeros for an empty mask. Computed by [`RunStats`] (property-tested against
    /// [`Rle::to_bbox_reference`]).
    pub fn to_bbox(&self) -> [f64; 4] {
        self.stats().bbox()
    }

    /// Area, box and the facts the run-interval IoU needs, in one pass over the counts.
    pub fn stats(&self) -> RunStats {
        let mut st = RunStats::new(self.h, self.w);
        for pair in self.counts.chunks(2) {
            st.zeros(pair[0]);
            if let Some(&c) = pair.get(1) {
                st.ones(c);
            }
        }
        st.end(self.counts.len());
        st
    }

    /// maskApi.c's `rleToBbox` loop as written (a division per run): the reference for
    /// [`Rle::to_bbox`].
    pub fn to_bbox_reference(&self) -> [f64; 4] {
        let (h, w) = (self.h, self.w);
        let m = (self.counts.len() / 2) * 2;
        if m == 0 || h == 0 {
            return [0.0; 4];
        }
        let (mut xs, mut ys, mut xe, mut ye) = (w, h, 0u32, 0u32);
        let mut cc: u32 = 0;
        for j in 0..m {
            let start = cc;
            cc = cc.wrapping_add(self.counts[j]);
            if j % 2 == 0 || self.counts[j] == 0 {
                continue;
            }
            let y_start = start % h;
            let x_start = (start - y_start) / h;
            let y_end = (cc - 1) % h;
            let x_end = (cc - 1 - y_end) / h;
            xs = xs.min(x_start);
            xe = xe.max(x_end);
            if x_start < x_end {
                ys = 0;
                ye = h - 1;
            } else {
                ys = ys.min(y_start);
                ye = ye.max(y_end);
            }
        }
        [xs as f64, ys as f64, xe.wrapping_sub(xs).wrapping_add(1) as f64, ye.wrapping_sub(ys).wrapping_add(1) as f64]
    }

    /// Decode to a column-major `h*w` byte mask; `None` if the counts overrun it (`rleDecode`).
    pub fn decode(&self) -> Option<Vec<u8>> {
        let s = self.h as usize * self.w as usize;
        let mut out = Vec::with_capacity(s);
        let mut v = 0u8;
        for &c in &self.counts {
            if out.len() + c as usize > s {
                return None;
            }
            out.resize(out.len() + c as usize, v);
            v ^= 1;
        }
        out.resize(s, 0);
        Some(out)
    }

    /// `rleEncode` of a column-major byte mask (nonzero = foreground).
    pub fn encode(mask: &[u8], h: u32, w: u32) -> Rle {
        let mut counts = Vec::new();
        let (mut p, mut c) = (false, 0u32);
        for &b in &mask[..h as usize * w as usize] {
            let v = b != 0;
            if v != p {
                counts.push(c);
                c = 0;
                p = v;
            }
            c += 1;
        }
        counts.push(c);
        Rle { h, w, counts }
    }

    /// `rleToString`: COCO's compressed text form (LEB128-like, 6 bits per char, chars 48..111,
    /// counts after the 3rd stored as differences to the count two before).
    pub fn to_compressed(&self) -> String {
        let mut s = String::new();
        for (i, &c) in self.counts.iter().enumerate() {
            let mut x = c as i64;
            if i > 2 {
                x -= self.counts[i - 2] as i64;
            }
            loop {
                let mut ch = (x & 0x1f) as u8;
                x >>= 5;
                let more = if ch & 0x10 != 0 { x != -1 } else { x != 0 };
                if more {
                    ch |= 0x20;
                }
                s.push((ch + 48) as char);
                if !more {
                    break;
                }
            }
        }
        s
    }

    /// `rleFrString` with validation: every char must be in COCO's alphabet (48..=111), the text
    /// may not end inside a value, every count must fit a `uint`, and the counts must sum to `h*w`.
    /// Valid strings decode exactly as maskApi.c decodes them (its `int` shifts included).
    pub fn from_compressed(s: &[u8], h: u32, w: u32) -> Result<Rle, MaskError> {
        // One count per char without the continuation bit (0x20 after the -48 shift).
        let n_values = s.iter().filter(|&&b| b.wrapping_sub(48) & 0x20 == 0).count();
        let mut counts: Vec<u32> = Vec::with_capacity(n_values);
        let mut dec = StringDecoder::default();
        for &b in s {
            if let Some(v) = dec.push(b)? {
                counts.push(v);
            }
        }
        dec.finish()?;
        Rle::from_counts(h, w, counts)
    }
}

/// `rleFrString`'s decoder fed one character at a time, with the checks of
/// [`Rle::from_compressed`] (which is built on it). Lets a caller decode text it does not own
/// (or that still has JSON escapes) without first copying it.
#[derive(Debug, Clone, Default)]
pub struct StringDecoder {
    /// The value being assembled and how many characters it has so far.
    x: i64,
    k: u32,
    /// Values decoded so far, and the last two (counts after the 3rd are stored as differences
    /// to the count two before).
    m: usize,
    prev2: u32,
    prev1: u32,
    /// Characters consumed (for error messages).
    p: usize,
}

impl StringDecoder {
    /// Consume one character; `Some(count)` when it completes a value.
    #[inline]
    pub fn push(&mut self, b: u8) -> Result<Option<u32>, MaskError> {
        if !(48..=111).contains(&b) {
            return Err(MaskError(format!("compressed RLE string has an invalid character {:?} at {} (allowed: '0'..'o')", b as char, self.p)));
        }
        if self.k >= 7 {
            return Err(MaskError(format!("compressed RLE string has a value longer than 7 characters at {}", self.p)));
        }
        let c = (b - 48) as i32;
        // maskApi.c: `x |= (c & 0x1f) << 5*k` in `int`, then sign-extended to `long`.
        self.x |= ((c & 0x1f).wrapping_shl(5 * self.k)) as i64;
        self.p += 1;
        self.k += 1;
        if c & 0x20 != 0 {
            return Ok(None);
        }
        if c & 0x10 != 0 {
            self.x |= ((-1i32).wrapping_shl(5 * self.k)) as i64;
        }
        let mut x = self.x;
        (self.x, self.k) = (0, 0);
        if self.m > 2 {
            x += self.prev2 as i64;
        }
        if !(0..=u32::MAX as i64).contains(&x) {
            return Err(MaskError(format!("compressed RLE string decodes to an invalid run length {} (count #{})", x, self.m)));
        }
        let v = x as u32;
        (self.prev2, self.prev1) = (self.prev1, v);
        self.m += 1;
        Ok(Some(v))
    }

    /// After the last character: the text may not end inside a value.
    pub fn finish(&self) -> Result<(), MaskError> {
        if self.k > 0 {
            return Err(MaskError(format!("compressed RLE string ends inside a value (at character {})", self.p)));
        }
        Ok(())
    }
}

/// `rleFrString` in one tight loop over a compressed string as it sits inside a JSON string,
/// where `\\` stands for one backslash (a character of the alphabet). Counts alternate between
/// the sink's `zeros` (even positions: runs of 0s) and `ones` (odd positions). `Err(())` on anything
/// [`StringDecoder`] rejects, which then says why; on valid text the counts are exactly its
/// counts (property-tested), up to where the sink is [`CountSink::full`]. The sink is taken and
/// given back by value, so that its fields can
/// live in registers through the loop.
///
/// Counts after the third are stored as differences to the count two before, i.e. to the previous
/// count of the same parity: after the first three, the loop keeps one running value per parity.
#[inline(always)]
pub fn decode_json_text<S: CountSink>(raw: &[u8], mut sink: S) -> Result<S, ()> {
    /// One stored value: most are a single character (a small difference).
    #[inline(always)]
    fn value(raw: &[u8], i: &mut usize) -> Result<i64, ()> {
        let b = *raw.get(*i).ok_or(())?;
        let c = b.wrapping_sub(48);
        if c < 0x20 {
            // No continuation bit: 5 bits, sign-extended.
            *i += 1;
            return Ok((((c as i32) << 27) >> 27) as i64);
        }
        let mut x = 0i64;
        let mut k = 0u32;
        loop {
            let b = *raw.get(*i).ok_or(())?;
            *i += 1 + (b == b'\\') as usize;
            let c = b.wrapping_sub(48);
            if c > 63 || k >= 7 {
                return Err(());
            }
            // maskApi.c: `x |= (c & 0x1f) << 5*k` in `int`, then sign-extended to `long`.
            x |= (((c & 0x1f) as i32).wrapping_shl(5 * k)) as i64;
            k += 1;
            if c & 0x20 == 0 {
                if c & 0x10 != 0 {
                    x |= ((-1i32).wrapping_shl(5 * k)) as i64;
                }
                return Ok(x);
            }
        }
    }
    /// A count must fit u32 (negative or too large values are rejected).
    #[inline(always)]
    fn count(x: i64) -> Result<u32, ()> {
        if x as u64 > u32::MAX as u64 {
            return Err(());
        }
        Ok(x as u32)
    }
    let n = raw.len();
    let mut i = 0;
    let mut m = 0;
    // The first three counts are stored as they are.
    let (mut zeros, mut ones) = (0, 0);
    if i < n {
        zeros = value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m = 1;
    }
    if i < n {
        ones = value(raw, &mut i)?;
        sink.ones(count(ones)?);
        m = 2;
    }
    if i < n {
        zeros = value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m = 3;
    }
    while i < n {
        ones += value(raw, &mut i)?;
        sink.ones(count(ones)?);
        m += 1;
        if i >= n || sink.full() {
            break;
        }
        zeros += value(raw, &mut i)?;
        sink.zeros(count(zeros)?);
        m += 1;
    }
    sink.end(m);
    Ok(sink)
}

/// Where decoded counts go, told apart by parity so that no sink tests it per count.
pub trait CountSink {
    /// A count at an even position: a run of 0s.
    fn zeros(&mut self, c: u32);
    /// A count at an odd position: a run of 1s.
    fn ones(&mut self, c: u32);
    /// After the last count: how many there were.
    #[inline(always)]
    fn end(&mut self, _n: usize) {}
    /// Whether the sink needs no more counts (checked after each count of 1s): decoding may
    /// stop there.
    #[inline(always)]
    fn full(&self) -> bool {
        false
    }
}

impl<T: CountSink + ?Sized> CountSink for &mut T {
    #[inline(always)]
    fn zeros(&mut self, c: u32) {
        (**self).zeros(c);
    }
    #[inline(always)]
    fn ones(&mut self, c: u32) {
        (**self).ones(c);
    }
    #[inline(always)]
    fn end(&mut self, n: usize) {
        (**self).end(n);
    }
    #[inline(always)]
    fn full(&self) -> bool {
        (**self).full()
    }
}

impl CountSink for Vec<u32> {
    #[inline]
    fn zeros(&mut self, c: u32) {
        self.push(c);
    }
    #[inline]
    fn ones(&mut self, c: u32) {
        self.push(c);
    }
}

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
        RunStats { h, hd: h.max(1), w, n: 0, interior_zero: false, cc: 0, area: 0, first: u64::MAX, last: 0, ys: h, ye: 0, col0: 0 }
    }

    /// A non-empty run of 1s over pixels `start..=last`. Runs come in increasing order, so the
    /// first one sets `first`, and a run's column is the previous run's or a later one (the
    /// first run, with `col0 = 0`, is placed by the same test).
    #[inline(always)]
    fn fg_run(&mut self, start: u64, last: u64) {
        let h = self.hd;
        let col_end = self.col0 + h;
        if start >= col_end {
            self.col0 = if start < col_end + h { col_end } else { start / h * h };
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
            let (ys, ye) = if self.ye >= h { (0, h - 1) } else { (self.ys, self.ye) };
            (self.first / h, self.last / h, ys, ye)
        };
        // C computes `xe-xs+1` in uint; for a mask with only zero-length runs this wraps as there.
        let (xs, ys, xe, ye) = (xs as u32, ys as u32, xe as u32, ye as u32);
        [xs as f64, ys as f64, xe.wrapping_sub(xs).wrapping_add(1) as f64, ye.wrapping_sub(ys).wrapping_add(1) as f64]
    }

    pub fn info(&self) -> MaskInfo {
        let hw = self.h * self.w as u64;
        MaskInfo { h: self.h as u32, w: self.w, area: self.area, bbox: self.bbox(), plain: hw > 0 && hw <= PLAIN_MAX_PIXELS && !self.interior_zero }
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
        IntersectRuns { gt, j: 0, pos: 0, end: gt.last().map_or(0, |r| r.1), inter: 0 }
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
    let u = if crowd { di.area as u32 } else { (di.area + gi.area - i as u64) as u32 };
    i as f64 / u as f64
}

/// C's `(int)x` on x86-64 (`cvttsd2si`): truncation toward zero; NaN and out-of-range values give
/// `INT_MIN`.
#[inline]
fn c_int(x: f64) -> i32 {
    if x.is_nan() || x >= 2147483648.0 || x <= -2147483649.0 {
        i32::MIN
    } else {
        x as i32
    }
}

/// The upsampling factor of `rleFrPoly`.
const POLY_SCALE: f64 = 5.0;

/// `rleFrPoly`: rasterise one closed polygon `[x0, y0, x1, y1, ...]` (`k = xy.len()/2` points)
/// into an `h x w` mask at 5x upsampling, with maskApi.c's exact rounding.
///
/// Same arithmetic as maskApi.c (property-tested against [`from_polygon_reference`]), but only
/// where it matters. maskApi.c walks every upsampled boundary point of each edge and keeps a pair
/// of consecutive points only where the upsampled x crosses from a pixel column centre `X`
/// (`X ≡ 2 mod 5`) to `X+1` or back; the boundary indices are sorted afterwards, so their order
/// is free. So each edge is visited only at those crossings:
///
/// - along an edge that advances x by one per point (`dx >= dy`), they are every 5th pair;
/// - along a steeper edge, x is `u(t) = (int)(xs + s*t + .5)` with `|s| < 1`. That is monotone
///   in `t` (IEEE multiplication by a fixed `s`, the additions and the truncation all are), so
///   each `X` is crossed by exactly one pair `{t, t+1}`: its `t` is estimated from the line
///   equation and then stepped until `u(t)` and `u(t+1)` bracket the crossing, with the same
///   arithmetic as maskApi.c, so the outcome is exact whatever the estimate. A pair that
///   reports column `X` must cross it, so nothing else can. This costs `O(dx/5)` per edge
///   instead of `O(dy)`.
///
/// The pair joining one edge's last point to the next edge's first is kept as maskApi.c has it
/// (degenerate edges included). Crossings are emitted in the polygon's order, so every stretch
/// of the boundary that keeps one x direction gives a monotone run of boundary indices, which
/// the sort in [`boundary_to_rle`] merges. Polygons with an upsampled coordinate beyond ±2^29
/// (where maskApi.c's `int` arithmetic may wrap) take the point-by-point path
/// ([`from_polygon_general`]).
pub fn from_polygon(xy: &[f64], h: u32, w: u32) -> Rle {
    const SAFE: i32 = 1 << 29;
    let k = xy.len() / 2;
    let scale = POLY_SCALE;
    let pts: Vec<(i32, i32)> = (0..k).map(|j| (c_int(scale * xy[j * 2] + 0.5), c_int(scale * xy[j * 2 + 1] + 0.5))).collect();
    if k == 0 || pts.iter().any(|&(x, y)| !(-SAFE..=SAFE).contains(&x) || !(-SAFE..=SAFE).contains(&y)) {
        return from_polygon_general(xy, h, w);
    }
    // From here on every coordinate is within ±2^29, so differences fit i32 and each
    // `c + s*t + .5` below (|c| <= 2^29, |s*t| <= 2^30) is finite and below 2^31 in magnitude
    // wherever `s` is finite: C's `(int)` is then a plain truncation (`as i32`).
    let wm1 = if w == 0 { i64::MAX } else { w as i64 - 1 };
    // At most one entry per column crossed, plus one per edge join, plus `boundary_to_rle`'s
    // final `h*w`.
    let mut cap = 1usize;
    for j in 0..k {
        cap += ((pts[(j + 1) % k].0 - pts[j].0).unsigned_abs() / 5) as usize + 2;
    }
    let mut a: Vec<u32> = Vec::with_capacity(cap);
    // maskApi.c's `yd = ceil((y+.5)/5-.5)` clamped to [0, h], in integers (exact for |y| < 2^31):
    // ceil((y-2)/5) = (y+2)/5 for y >= 2, 0 below, h where that exceeds h.
    let row = |y: i32| ((y.max(0) as u32 + 2) / 5).min(h);
    // The boundary index of column `xd` (in [0, w-1]) and upsampled y, with C's uint wrap-around.
    let index = |xd: i64, y: i32| (xd as u32).wrapping_mul(h).wrapping_add(row(y));
    // A pair of consecutive points (pu, pv) -> (u, v) as maskApi.c treats it: kept where
    // `xd = (x+.5)/5-.5` (x the lower of the two us for a step of one) is an integer in [0, w-1],
    // i.e. x ≡ 2 (mod 5) and xd = (x-2)/5.
    let pair = |pu: i32, pv: i32, u: i32, v: i32, a: &mut Vec<u32>| {
        if u != pu {
            let x = (if u < pu { u } else { u - 1 }) as i64 - 2;
            if x.rem_euclid(5) == 0 && (0..=wm1).contains(&(x / 5)) {
                a.push(index(x / 5, v.min(pv)));
            }
        }
    };
    // The columns xd in [0, w-1] whose centre X = 5*xd+2 satisfies lo <= X < hi.
    let columns = |lo: i64, hi: i64| {
        let first = (lo + 2).div_euclid(5).max(0);
        let end = ((hi - 3).div_euclid(5) + 1).min(wm1.saturating_add(1));
        first..end.max(first)
    };
    let mut prev: Option<(i32, i32)> = None;
    for j in 0..k {
        let ((x0, y0), (x1, y1)) = (pts[j], pts[(j + 1) % k]);
        let (mut xs, mut xe, mut ys, mut ye) = (x0, x1, y0, y1);
        let (dx, dy) = ((xe - xs).abs(), (ys - ye).abs());
        let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        // Points t = 0..=d, visited from t = 0 up, or from t = d down when flipped.
        let (t_first, t_last) = if flip { (dx.max(dy), 0) } else { (0, dx.max(dy)) };
        if dx >= dy {
            // NaN when the edge is a single point (dx = dy = 0): maskApi.c's y is then INT_MIN.
            let s = (ye - ys) as f64 / dx as f64;
            let v_end = |t: i32| c_int(ys as f64 + s * t as f64 + 0.5);
            if let Some((pu, pv)) = prev {
                pair(pu, pv, xs + t_first, v_end(t_first), &mut a);
            }
            // Inside the edge (dx >= 1), the pair {t, t+1} has u = xs+t and xs+t+1, whichever
            // the order: kept iff xs+t = 5*xd+2 with xd in [0, w-1], with y = min(v(t), v(t+1)).
            // v is monotone in t like u of steep edges, so that minimum is v(t) where s >= 0 and
            // v(t+1) where s < 0.
            let v_at = |t: i32| (ys as f64 + s * t as f64 + 0.5) as i32;
            let t_min = 2 - xs as i64 + (s < 0.0) as i64;
            let kept = |xd: i64| index(xd, v_at((5 * xd + t_min) as i32));
            let cols = columns(xs as i64, xe as i64);
            if flip {
                a.extend(cols.rev().map(kept));
            } else {
                a.extend(cols.map(kept));
            }
            prev = Some((xs + t_last, v_end(t_last)));
        } else {
            // dy >= 1 and |s| < 1.
            let s = (xe - xs) as f64 / dy as f64;
            let u_at = |t: i32| (xs as f64 + s * t as f64 + 0.5) as i32;
            if let Some((pu, pv)) = prev {
                pair(pu, pv, u_at(t_first), ys + t_first, &mut a);
            }
            let (u0, ud) = (u_at(0), u_at(dy));
            if u0 != ud {
                let inc = u0 < ud;
                // t where x = X + .5 on the line (X + .5 - xs = s*t), to start the search from.
                let t_per_x = dy as f64 / (xe - xs) as f64;
                // In the polygon's order: u goes down along it where inc == flip.
                let cols = columns(u0.min(ud) as i64, u0.max(ud) as i64);
                let (first, last, descending) = (cols.start, cols.end - 1, inc == flip);
                for i in 0..cols.end - cols.start {
                    let xd = if descending { last - i } else { first + i };
                    let x = (5 * xd + 2) as i32;
                    // The pair {t, t+1} that crosses between X and X+1: u(t) <= X < u(t+1) for
                    // increasing u, u(t) > X >= u(t+1) for decreasing u (`before`: on u(0)'s
                    // side). u(0) and u(dy) lie on either side, so both loops stay in 0..=dy.
                    let before = |u: i32| (u <= x) == inc;
                    let est = ((x as f64 + 0.5 - xs as f64) * t_per_x) as i32;
                    let mut t = est.clamp(0, dy - 1);
                    let (mut lo, mut hi) = (u_at(t), u_at(t + 1));
                    while !before(lo) {
                        t -= 1;
                        hi = lo;
                        lo = u_at(t);
                    }
                    while before(hi) {
                        t += 1;
                        lo = hi;
                        hi = u_at(t + 1);
                    }
                    // maskApi.c's column for this pair, taken in its order: the new u, less one
                    // if u went up. That is X for a step of one; a longer step (conceivable only
                    // near the int range) may report another of the columns it spans, and no
                    // other pair can report X.
                    let (pu, u) = if flip { (hi, lo) } else { (lo, hi) };
                    if (if u < pu { u } else { u - 1 }) == x {
                        a.push(index(xd, ys + t));
                    }
                }
            }
            prev = Some((u_at(t_last), ys + t_last));
        }
    }
    boundary_to_rle(a, h, w)
}

/// [`from_polygon`] point by point, with maskApi.c's `int` wrap-arounds: the dense boundary
/// points are consumed as they are generated instead of stored, and `floor`/`ceil` of values
/// known to be finite and non-negative (or tested only for integrality) use integer conversions.
fn from_polygon_general(xy: &[f64], h: u32, w: u32) -> Rle {
    let k = xy.len() / 2;
    let scale = POLY_SCALE;
    if k == 0 {
        return Rle { h, w, counts: vec![h.wrapping_mul(w)] };
    }
    let px = |j: usize| c_int(scale * xy[(j % k) * 2] + 0.5);
    let py = |j: usize| c_int(scale * xy[(j % k) * 2 + 1] + 0.5);
    // `w-1` is unsigned in C: for w = 0 it wraps and no column is out of range.
    let (hh, wm1) = (h as i64, if w == 0 { i64::MAX } else { w as i64 - 1 });
    let mut a: Vec<u32> = Vec::new();
    // Previous dense point; the first point of all has no predecessor.
    let mut prev: Option<(i32, i32)> = None;
    // maskApi.c: `xd = (x+.5)/5-.5; skip unless floor(xd)==xd && 0<=xd<=w-1`, then
    // `yd = (y+.5)/5-.5` clamped to [0, h] and `ceil`ed. For integer x, y below 2^31 the doubles
    // are exact wherever the outcome depends on them: xd is an integer exactly when
    // x ≡ 2 (mod 5), and then equals (x-2)/5; ceil(yd) = ceil((y-2)/5). So integers suffice.
    let mut visit = |u: i32, v: i32, a: &mut Vec<u32>| {
        if let Some((pu, pv)) = prev {
            if u != pu {
                let x = (if u < pu { u } else { u - 1 }) as i64 - 2;
                if x.rem_euclid(5) == 0 {
                    let xd = x / 5;
                    if xd >= 0 && xd <= wm1 {
                        let q = (if v < pv { v } else { pv }) as i64 - 2;
                        let yi = if q < 0 {
                            0
                        } else if q > 5 * hh {
                            hh
                        } else {
                            (q + 4) / 5
                        };
                        a.push((xd as i32).wrapping_mul(h as i32).wrapping_add(yi as i32) as u32);
                    }
                }
            }
        }
        prev = Some((u, v));
    };
    for j in 0..k {
        let (mut xs, mut xe, mut ys, mut ye) = (px(j), px(j + 1), py(j), py(j + 1));
        let dx = (xe.wrapping_sub(xs)).wrapping_abs();
        let dy = (ys.wrapping_sub(ye)).wrapping_abs();
        let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        let s = if dx >= dy { (ye.wrapping_sub(ys)) as f64 / dx as f64 } else { (xe.wrapping_sub(xs)) as f64 / dy as f64 };
        if dx >= dy {
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                visit(t.wrapping_add(xs), c_int(ys as f64 + s * t as f64 + 0.5), &mut a);
            }
        } else {
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                visit(c_int(xs as f64 + s * t as f64 + 0.5), t.wrapping_add(ys), &mut a);
            }
        }
    }
    boundary_to_rle(a, h, w)
}

/// The last step of `rleFrPoly`: sorted boundary indices → run lengths, zero runs folded.
///
/// maskApi.c appends `h*w`, sorts, takes differences and folds a zero difference (after the
/// first) together with the one after it into the previous count. Here the differences are
/// taken in place, and the folding, a rare case (two boundary indices alike), runs in place
/// from the first zero only where there is one. When `h*w` fits u32 and `w > 0`, every index
/// is at most `h*w` (column `w-1`, row `h` at most; for `w = 0` maskApi.c's unsigned `w-1`
/// bounds no column), so it is appended after the sort rather than sorted with the rest. The
/// indices come as a few monotone runs (see [`from_polygon`]), which [`sort_runs`] merges.
fn boundary_to_rle(mut a: Vec<u32>, h: u32, w: u32) -> Rle {
    let hw = h.wrapping_mul(w);
    if w > 0 && h as u64 * w as u64 <= u32::MAX as u64 {
        sort_runs(&mut a);
        a.push(hw);
    } else {
        a.push(hw);
        sort_runs(&mut a);
    }
    let mut prev = 0u32;
    for e in a.iter_mut() {
        let t = *e;
        *e = e.wrapping_sub(prev);
        prev = t;
    }
    if let Some(z) = a[1..].iter().position(|&d| d == 0) {
        // maskApi.c's loop from the first zero on; it writes no further than it has read.
        let n = a.len();
        let (mut j, mut m) = (z + 1, z + 1);
        while j < n {
            if a[j] > 0 {
                a[m] = a[j];
                m += 1;
                j += 1;
            } else {
                j += 1;
                if j < n {
                    a[m - 1] = a[m - 1].wrapping_add(a[j]);
                    j += 1;
                }
            }
        }
        a.truncate(m);
    }
    Rle { h, w, counts: a }
}

/// Sort `a`, expected to be a few monotone runs: [`from_polygon`] emits one per stretch of the
/// polygon boundary that keeps its x direction (two for a convex polygon). The runs are found
/// (descending ones reversed) and merged pairwise, `n` steps per halving of their number; with
/// more than [`MAX_MERGED_RUNS`] of them the std sort is cheaper.
fn sort_runs(a: &mut Vec<u32>) {
    let n = a.len();
    let mut ends = [0usize; MAX_MERGED_RUNS + 1];
    let mut r = 0;
    let mut i = 0;
    while i < n {
        if r == MAX_MERGED_RUNS {
            a.sort_unstable();
            return;
        }
        let rest = &mut a[i..];
        let len = if rest.len() > 1 && rest[1] < rest[0] {
            let len = 1 + rest.windows(2).position(|p| p[1] > p[0]).unwrap_or(rest.len() - 1);
            rest[..len].reverse();
            len
        } else {
            1 + rest.windows(2).position(|p| p[1] < p[0]).unwrap_or(rest.len().saturating_sub(1))
        };
        i += len;
        r += 1;
        ends[r] = i;
    }
    if r <= 1 {
        return;
    }
    let mut b = vec![0u32; n];
    let mut in_b = false;
    while r > 1 {
        let (src, dst) = if in_b { (&b[..], &mut a[..]) } else { (&a[..], &mut b[..]) };
        let mut merged = 0;
        for k in (0..r).step_by(2) {
            let (lo, mid) = (ends[k], ends[k + 1]);
            let hi = if k + 1 < r { ends[k + 2] } else { mid };
            merge_into(&src[lo..mid], &src[mid..hi], &mut dst[lo..hi]);
            merged += 1;
            ends[merged] = hi;
        }
        r = merged;
        in_b = !in_b;
    }
    if in_b {
        *a = b;
    }
}

/// More runs than this are left to the std sort (see [`sort_runs`]).
const MAX_MERGED_RUNS: usize = 16;

/// Merge the sorted `x` and `y` into `out` (of their total length).
fn merge_into(x: &[u32], y: &[u32], out: &mut [u32]) {
    // Let `y` end with the largest value: it then cannot run out while `x` lasts (equal values
    // are taken from `x` first), so only `x` is watched.
    let (x, y) = match (x.last(), y.last()) {
        (Some(xl), Some(yl)) if xl > yl => (y, x),
        (Some(_), Some(_)) => (x, y),
        _ => {
            out[..x.len()].copy_from_slice(x);
            out[x.len()..].copy_from_slice(y);
            return;
        }
    };
    let (mut i, mut j) = (0, 0);
    for &xv in x {
        while y[j] < xv {
            out[i + j] = y[j];
            j += 1;
        }
        out[i + j] = xv;
        i += 1;
    }
    out[i + j..].copy_from_slice(&y[j..]);
}

/// maskApi.c's last step of `rleFrPoly` as written (a second array, the unstable sort), the
/// reference for [`boundary_to_rle`].
fn boundary_to_rle_reference(mut a: Vec<u32>, h: u32, w: u32) -> Rle {
    a.push(h.wrapping_mul(w));
    a.sort_unstable();
    let mut prev = 0u32;
    for e in a.iter_mut() {
        let t = *e;
        *e = e.wrapping_sub(prev);
        prev = t;
    }
    let mut b: Vec<u32> = Vec::with_capacity(a.len());
    let mut j = 0;
    b.push(a[j]);
    j += 1;
    while j < a.len() {
        if a[j] > 0 {
            b.push(a[j]);
            j += 1;
        } else {
            j += 1;
            if j < a.len() {
                let last = b.len() - 1;
                b[last] = b[last].wrapping_add(a[j]);
                j += 1;
            }
        }
    }
    Rle { h, w, counts: b }
}

/// maskApi.c's `rleFrPoly` as written (boundary point arrays, `floor`/`ceil`): the reference
/// for [`from_polygon`].
pub fn from_polygon_reference(xy: &[f64], h: u32, w: u32) -> Rle {
    let k = xy.len() / 2;
    let scale = POLY_SCALE;
    let mut x: Vec<i32> = (0..k).map(|j| c_int(scale * xy[j * 2] + 0.5)).collect();
    let mut y: Vec<i32> = (0..k).map(|j| c_int(scale * xy[j * 2 + 1] + 0.5)).collect();
    if k == 0 {
        return Rle { h, w, counts: vec![h.wrapping_mul(w)] };
    }
    x.push(x[0]);
    y.push(y[0]);
    // Dense boundary points at the upsampled resolution.
    let mut u: Vec<i32> = Vec::new();
    let mut v: Vec<i32> = Vec::new();
    for j in 0..k {
        let (mut xs, mut xe, mut ys, mut ye) = (x[j], x[j + 1], y[j], y[j + 1]);
        let dx = (xe.wrapping_sub(xs)).wrapping_abs();
        let dy = (ys.wrapping_sub(ye)).wrapping_abs();
        let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        let s = if dx >= dy { (ye.wrapping_sub(ys)) as f64 / dx as f64 } else { (xe.wrapping_sub(xs)) as f64 / dy as f64 };
        if dx >= dy {
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                u.push(t.wrapping_add(xs));
                v.push(c_int(ys as f64 + s * t as f64 + 0.5));
            }
        } else {
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                v.push(t.wrapping_add(ys));
                u.push(c_int(xs as f64 + s * t as f64 + 0.5));
            }
        }
    }
    // Points on the y-boundary, downsampled.
    let (hf, wm1) = (h as f64, (w as u64).wrapping_sub(1) as f64);
    let mut a: Vec<u32> = Vec::new();
    for j in 1..u.len() {
        if u[j] == u[j - 1] {
            continue;
        }
        let mut xd = (if u[j] < u[j - 1] { u[j] } else { u[j] - 1 }) as f64;
        xd = (xd + 0.5) / scale - 0.5;
        if xd.floor() != xd || xd < 0.0 || xd > wm1 {
            continue;
        }
        let mut yd = (if v[j] < v[j - 1] { v[j] } else { v[j - 1] }) as f64;
        yd = (yd + 0.5) / scale - 0.5;
        if yd < 0.0 {
            yd = 0.0;
        } else if yd > hf {
            yd = hf;
        }
        yd = yd.ceil();
        let (xi, yi) = (c_int(xd), c_int(yd));
        a.push(xi.wrapping_mul(h as i32).wrapping_add(yi) as u32);
    }
    // RLE from the boundary points.
    boundary_to_rle_reference(a, h, w)
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
            return Rle { h: 0, w: 0, counts: vec![] };
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
        u = da.iter().skip(1).step_by(2).fold(0u32, |s, &c| s.wrapping_add(c));
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
    use proptest::prelude::*;

    /// [`iou`] through [`MaskRef`]s built from `Rle`s, as evaluation calls it.
    fn iou_of(d: &Rle, g: &Rle, crowd: bool) -> f64 {
        let (di, gi) = (d.stats().info(), g.stats().info());
        let (mut dr, mut gr) = (Vec::new(), Vec::new());
        runs_of(&d.counts, &mut dr);
        runs_of(&g.counts, &mut gr);
        iou(MaskRef { info: &di, runs: &dr, counts: &d.counts }, MaskRef { info: &gi, runs: &gr, counts: &g.counts }, crowd)
    }

    /// Plain reference IoU on decoded masks.
    fn iou_ref(d: &Rle, g: &Rle, crowd: bool) -> f64 {
        let (md, mg) = (d.decode().unwrap(), g.decode().unwrap());
        let i = md.iter().zip(&mg).filter(|(a, b)| **a != 0 && **b != 0).count();
        let un = md.iter().zip(&mg).filter(|(a, b)| **a != 0 || **b != 0).count();
        let ad = md.iter().filter(|&&a| a != 0).count();
        if i == 0 {
            0.0
        } else if crowd {
            i as f64 / ad as f64
        } else {
            i as f64 / un as f64
        }
    }

    /// Counts of `text` by [`StringDecoder`] one character at a time (`None` if it rejects it).
    fn decoder_counts(text: &[u8]) -> Option<Vec<u32>> {
        let mut d = StringDecoder::default();
        let mut out = Vec::new();
        for &b in text {
            if let Some(v) = d.push(b).ok()? {
                out.push(v);
            }
        }
        d.finish().ok()?;
        Some(out)
    }

    /// `text` as it sits inside a JSON string: each backslash doubled.
    fn json_escaped(text: &[u8]) -> Vec<u8> {
        text.iter().flat_map(|&b| if b == b'\\' { vec![b, b] } else { vec![b] }).collect()
    }

    /// Counts of `text` by [`decode_json_text`], told apart by parity as it reports them.
    fn json_text_counts(text: &[u8]) -> Option<Vec<u32>> {
        struct Tagged(Vec<(bool, u32)>);
        impl CountSink for Tagged {
            fn zeros(&mut self, c: u32) {
                self.0.push((false, c));
            }
            fn ones(&mut self, c: u32) {
                self.0.push((true, c));
            }
        }
        let mut t = Tagged(Vec::new());
        decode_json_text(&json_escaped(text), &mut t).ok()?;
        assert!(t.0.iter().enumerate().all(|(i, &(one, _))| one == (i % 2 == 1)), "parity of {:?}", t.0);
        Some(t.0.into_iter().map(|(_, c)| c).collect())
    }

    #[test]
    fn known_values_from_pycocotools() {
        // pycocotools 2.0.11: frPyObjects([[1,2,10,2,10,10]], 20, 30) -> b'Z11c01O1O1O1O1O1O0^<', area 35.
        let r = from_polygon(&[1.0, 2.0, 10.0, 2.0, 10.0, 10.0], 20, 30);
        assert_eq!(r.to_compressed(), "Z11c01O1O1O1O1O1O0^<");
        assert_eq!(r.area(), 35);
        // area/toBbox of {'size':[3,4],'counts':'2;'} -> 11, [0, 0, 5, 3] ... with counts [2, 11]
        // covering 13 != 12 pixels, which we reject.
        assert!(Rle::from_compressed(b"2;", 3, 4).is_err());
        let r = Rle::from_compressed(b"zz", 3, 4);
        assert!(r.is_err());
        assert!(Rle::from_compressed(b"\x7f", 3, 4).is_err());
        assert!(Rle::from_compressed(b"P", 3, 4).is_err());
        let r = Rle::from_counts(3, 4, vec![2, 3, 7]).unwrap();
        assert_eq!(r.area(), 3);
        assert_eq!(r.to_bbox(), [0.0, 0.0, 2.0, 3.0]);
        assert_eq!(Rle::from_compressed(r.to_compressed().as_bytes(), 3, 4).unwrap(), r);
        // A 4-point box polygon, as loadRes synthesizes for box results: exactly the box pixels.
        let b = from_polygon(&[2.0, 1.0, 2.0, 4.0, 6.0, 4.0, 6.0, 1.0], 10, 10);
        assert_eq!(b.area(), 12);
        assert_eq!(b.to_bbox(), [2.0, 1.0, 4.0, 3.0]);
    }

    #[test]
    fn bad_counts_are_rejected() {
        assert!(Rle::from_counts(3, 4, vec![2, 3, 5]).is_err());
        assert!(Rle::from_compressed(b"", 3, 4).is_err());
        assert!(Rle::from_compressed(b"0", 0, 0).is_ok());
        // A value cut off mid-way (continuation bit set on the last char).
        assert!(Rle::from_compressed(b"P", 1, 1).is_err());
    }

    proptest! {
        // Each case rasterises edges of up to 5*10^5 upsampled points with the reference.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn polygon_long_edges_equal_reference(h in 0u32..300, w in 0u32..300, scale in prop_oneof![Just(1e4), Just(1e5)],
                                              pts in proptest::collection::vec((-1.0f64..1.0, -1.0f64..1.0), 3..6)) {
            // Edges up to 10^5 pixels long (5*10^5 upsampled points), where rounding in
            // `xs + s*t + .5` can put a crossing away from the line equation's estimate.
            let xy: Vec<f64> = pts.iter().flat_map(|&(x, y)| [x * scale + 150.0, y * scale]).collect();
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
        }
    }

    fn arb_mask() -> impl Strategy<Value = (u32, u32, Vec<u8>)> {
        (1u32..12, 1u32..12).prop_flat_map(|(h, w)| (Just(h), Just(w), proptest::collection::vec(prop_oneof![3 => Just(0u8), 2 => Just(1u8)], (h * w) as usize)))
    }

    proptest! {
        #[test]
        fn polygon_fast_equals_reference(h in 0u32..60, w in 0u32..60,
                                         pts in proptest::collection::vec((-10.0f64..70.0, -10.0f64..70.0, 0u8..4), 3..12)) {
            // Mix of integer, 1-decimal and arbitrary coordinates, repeated vertices included.
            let xy: Vec<f64> = pts.iter().flat_map(|&(x, y, kind)| match kind {
                0 => [x.round(), y.round()],
                1 => [(x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0],
                _ => [x, y],
            }).collect();
            let mut xy2 = xy.clone();
            xy2.extend_from_slice(&xy[xy.len() - 2..]);
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
            prop_assert_eq!(from_polygon(&xy2, h, w), from_polygon_reference(&xy2, h, w));
        }

        #[test]
        fn polygon_far_out_takes_the_general_path(h in 0u32..40, w in 0u32..40, far in prop_oneof![Just(1.2e8), Just(-1.2e8), Just(4.2e8), Just(-4.3e8)],
                                                  pts in proptest::collection::vec((-10.0f64..10.0, -10.0f64..10.0), 3..8)) {
            // A small polygon translated beyond the fast path's ±2^29 (upsampled) in x or y: short
            // edges, maskApi.c's int arithmetic near its limits.
            let xy: Vec<f64> = pts.iter().flat_map(|&(x, y)| [x + far, y]).collect();
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
            let yx: Vec<f64> = pts.iter().flat_map(|&(x, y)| [x, y + far]).collect();
            prop_assert_eq!(from_polygon(&yx, h, w), from_polygon_reference(&yx, h, w));
        }

        #[test]
        fn polygon_fast_equals_reference_large(h in 0u32..700, w in 0u32..700,
                                               pts in proptest::collection::vec((-50.0f64..750.0, -50.0f64..750.0), 3..20)) {
            // Image-sized polygons with long edges of every slope.
            let xy: Vec<f64> = pts.iter().flat_map(|&(x, y)| [(x * 100.0).round() / 100.0, y]).collect();
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
        }

        #[test]
        fn polygon_steep_edges_equal_reference(h in 0u32..80, w in 0u32..80, x0 in -20.0f64..100.0, spread in prop_oneof![Just(0.0), 0.0f64..3.0, 0.0f64..40.0],
                                               ys in proptest::collection::vec((-3000.0f64..3000.0, 0.0f64..1.0, 0u8..3), 3..10)) {
            // Tall polygons: mostly edges with dx < dy, of every slope sign and steepness,
            // across the image's columns and beyond them on both sides.
            let xy: Vec<f64> = ys.iter().flat_map(|&(y, f, kind)| {
                let x = x0 + spread * (2.0 * f - 1.0);
                match kind {
                    0 => [x.round(), y.round()],
                    1 => [(x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0],
                    _ => [x, y],
                }
            }).collect();
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
        }

        #[test]
        fn boundary_to_rle_equals_reference(big: bool, h in 1u32..40, w in 1u32..40, seed in proptest::collection::vec((0u32..1000, 0u32..1000, 0u8..4), 0..60)) {
            // Boundary indices as rleFrPoly makes them (column in [0, w-1], row in [0, h], in
            // C's uint), in monotone stretches and not, with repeats (zero differences); and
            // masks whose h*w does not fit u32, where the indices wrap.
            let (h, w) = if big { (h * 7919 + 65_536, w * 6007 + 65_536) } else { (h, w) };
            let index = |xd: u32, yi: u32| xd.wrapping_mul(h).wrapping_add(yi);
            let mut a: Vec<u32> = Vec::new();
            for &(c, r, kind) in &seed {
                let (xd, yi) = (c % w, r % (h + 1));
                let stretch = (xd..w.min(xd + 5)).map(|x| index(x, yi));
                match kind {
                    0 => a.push(index(xd, yi)),
                    1 => a.extend([index(xd, yi), index(xd, yi)]),
                    2 => a.extend(stretch),
                    _ => a.extend(stretch.rev()),
                }
            }
            prop_assert_eq!(boundary_to_rle(a.clone(), h, w), boundary_to_rle_reference(a, h, w));
        }

        #[test]
        fn sort_runs_sorts(parts in proptest::collection::vec((proptest::collection::vec(0u32..50, 0..30), 0u8..3), 0..25)) {
            // Ascending, descending and unordered stretches of small values (many repeats),
            // from none to more runs than are merged.
            let mut a: Vec<u32> = Vec::new();
            for (mut v, kind) in parts {
                match kind {
                    0 => v.sort_unstable(),
                    1 => v.sort_unstable_by(|x, y| y.cmp(x)),
                    _ => {}
                }
                a.extend(v);
            }
            let mut expected = a.clone();
            expected.sort_unstable();
            sort_runs(&mut a);
            prop_assert_eq!(a, expected);
        }

        #[test]
        fn polygon_in_a_huge_image_equals_reference(h in 60_000u32..100_000, w in 60_000u32..100_000,
                                                    pts in proptest::collection::vec((-10.0f64..70.0, -10.0f64..70.0), 3..10)) {
            // h*w beyond u32: boundary indices wrap as C's uint does.
            let xy: Vec<f64> = pts.iter().flat_map(|&(x, y)| [x * 100.0, y * 100.0]).collect();
            prop_assert_eq!(from_polygon(&xy, h, w), from_polygon_reference(&xy, h, w));
        }

        #[test]
        fn bbox_fast_equals_reference_on_any_counts(h in 1u32..9, counts in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..30], 0..12)) {
            let r = Rle { h, w: 1 + counts.iter().sum::<u32>() / h, counts };
            prop_assert_eq!(r.to_bbox(), r.to_bbox_reference());
        }

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
        fn json_text_decoding_equals_the_reference_decoder(counts in proptest::collection::vec(prop_oneof![3 => 0u32..40, 1 => 0u32..5_000_000], 0..40),
                                                           noise in proptest::collection::vec((0usize..200, 0u8..=255), 0..3)) {
            // Valid strings (any counts, long values and backslashes included), then the same
            // strings with a few bytes replaced, which may make them invalid anywhere.
            let text = Rle { h: 1, w: counts.iter().map(|&c| c as u64).sum::<u64>().min(u32::MAX as u64) as u32, counts: counts.clone() }.to_compressed().into_bytes();
            prop_assert_eq!(json_text_counts(&text), Some(counts.clone()));
            prop_assert_eq!(decoder_counts(&text), Some(counts));
            let mut bad = text.clone();
            for &(at, b) in &noise {
                if !bad.is_empty() {
                    let k = at % bad.len();
                    bad[k] = b;
                }
            }
            prop_assert_eq!(json_text_counts(&bad), decoder_counts(&bad), "{:?}", String::from_utf8_lossy(&bad));
        }

        #[test]
        fn stats_while_decoding_text_equal_the_references(h in 1u32..9, counts in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..30], 0..12)) {
            // Any counts (zero-length runs, runs across columns), as evaluation reads results.
            let r = Rle { h, w: 1 + counts.iter().sum::<u32>() / h, counts };
            let text = json_escaped(r.to_compressed().as_bytes());
            let st = decode_json_text(&text, RunStats::new(r.h, r.w)).unwrap();
            prop_assert_eq!(st.info(), r.stats().info());
            prop_assert_eq!(st.info().bbox, r.to_bbox_reference());
            prop_assert_eq!(st.area(), r.area());
            prop_assert_eq!(st.pixels(), r.counts.iter().map(|&c| c as u64).sum::<u64>());
            prop_assert_eq!(st.info().plain, !r.counts.iter().skip(1).any(|&c| c == 0));
        }

        #[test]
        fn intersecting_while_decoding_equals_intersect_runs((h, w, m1) in arb_mask(), seed in 0u64..1000, cut in 0usize..40) {
            // Two related masks (and the second cut short, so decoding may stop early or not).
            let m2: Vec<u8> = m1.iter().enumerate().map(|(i, &b)| if (i as u64 * 2654435761 + seed) % 3 == 0 || i >= cut * 4 { 1 - b } else { b }).collect();
            let (a, b) = (Rle::encode(&m1, h, w), Rle::encode(&m2, h, w));
            let (mut ra, mut rb) = (Vec::new(), Vec::new());
            runs_of(&a.counts, &mut ra);
            runs_of(&b.counts, &mut rb);
            let text = json_escaped(a.to_compressed().as_bytes());
            let got = decode_json_text(&text, IntersectRuns::new(&rb)).unwrap().inter;
            prop_assert_eq!(got, intersect_runs(&ra, &rb));
            prop_assert_eq!(got as usize, m1.iter().zip(&m2).filter(|(x, y)| **x != 0 && **y != 0).count());
        }

        #[test]
        fn encode_decode_round_trip((h, w, m) in arb_mask()) {
            let r = Rle::encode(&m, h, w);
            prop_assert_eq!(r.decode().unwrap(), m.clone());
            prop_assert_eq!(r.area() as usize, m.iter().filter(|&&b| b != 0).count());
            prop_assert_eq!(r.to_bbox(), r.to_bbox_reference());
            let s = r.to_compressed();
            prop_assert_eq!(Rle::from_compressed(s.as_bytes(), h, w).unwrap(), r.clone());
            // Box: tight bounds of the foreground pixels.
            let px: Vec<(u32, u32)> = (0..w).flat_map(|x| (0..h).map(move |y| (x, y))).filter(|&(x, y)| m[(x * h + y) as usize] != 0).collect();
            if px.is_empty() {
                prop_assert_eq!(r.to_bbox(), [0.0; 4]);
            } else {
                let x0 = px.iter().map(|p| p.0).min().unwrap();
                let x1 = px.iter().map(|p| p.0).max().unwrap();
                let y0 = px.iter().map(|p| p.1).min().unwrap();
                let y1 = px.iter().map(|p| p.1).max().unwrap();
                prop_assert_eq!(r.to_bbox(), [x0 as f64, y0 as f64, (x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64]);
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
