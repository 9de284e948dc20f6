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
        let hw = h as u64 * w as u64;
        if sum != hw {
            return Err(MaskError(format!("RLE counts sum to {} but the mask has {}x{} = {} pixels", sum, h, w, hw)));
        }
        Ok(Rle { h, w, counts })
    }

    /// `rleArea`: the number of foreground pixels (sum of the odd runs).
    pub fn area(&self) -> u64 {
        self.counts.iter().skip(1).step_by(2).map(|&c| c as u64).sum()
    }

    /// `rleToBbox` (pycocotools 2.0.11's fixed version): `[x, y, w, h]` of the foreground pixels,
    /// all zeros for an empty mask. Same results as maskApi.c's loop (property-tested against
    /// [`Rle::to_bbox_reference`]) but without a division per run: the column of a run is found
    /// by stepping from the previous run's column, since runs advance monotonically.
    pub fn to_bbox(&self) -> [f64; 4] {
        let (h, w) = (self.h as u64, self.w);
        let m = (self.counts.len() / 2) * 2;
        if m == 0 || h == 0 {
            return [0.0; 4];
        }
        let (mut xs, mut ys, mut xe, mut ye) = (w as u64, h, 0u64, 0u64);
        let mut cc: u64 = 0;
        // Column of the current position and the index of its first pixel.
        let (mut col, mut col0) = (0u64, 0u64);
        let locate = |pos: u64, col: &mut u64, col0: &mut u64| {
            if pos >= *col0 + h {
                if pos < *col0 + 2 * h {
                    *col += 1;
                    *col0 += h;
                } else {
                    *col = pos / h;
                    *col0 = *col * h;
                }
            }
        };
        let mut full_span = false;
        for j in (1..m).step_by(2) {
            let start = cc + self.counts[j - 1] as u64;
            cc = start + self.counts[j] as u64;
            if self.counts[j] == 0 {
                continue;
            }
            locate(start, &mut col, &mut col0);
            let (x_start, y_start) = (col, start - col0);
            let last = cc - 1;
            if x_start < xs {
                xs = x_start;
            }
            if last < col0 + h {
                // The run stays in its column.
                xe = xe.max(x_start);
                if !full_span {
                    ys = ys.min(y_start);
                    ye = ye.max(last - col0);
                }
            } else {
                locate(last, &mut col, &mut col0);
                xe = xe.max(col);
                ys = 0;
                ye = h - 1;
                full_span = true;
            }
        }
        // C computes `xe-xs+1` in uint; for a mask with only zero-length runs this wraps as there.
        let (xs, ys, xe, ye) = (xs as u32, ys as u32, xe as u32, ye as u32);
        [xs as f64, ys as f64, xe.wrapping_sub(xs).wrapping_add(1) as f64, ye.wrapping_sub(ys).wrapping_add(1) as f64]
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
        let mut p = 0;
        while p < s.len() {
            let (mut x, mut k, mut more) = (0i64, 0u32, true);
            while more {
                let Some(&b) = s.get(p) else {
                    return Err(MaskError(format!("compressed RLE string ends inside a value (at character {})", p)));
                };
                if !(48..=111).contains(&b) {
                    return Err(MaskError(format!("compressed RLE string has an invalid character {:?} at {} (allowed: '0'..'o')", b as char, p)));
                }
                if k >= 7 {
                    return Err(MaskError(format!("compressed RLE string has a value longer than 7 characters at {}", p)));
                }
                let c = (b - 48) as i32;
                // maskApi.c: `x |= (c & 0x1f) << 5*k` in `int`, then sign-extended to `long`.
                x |= ((c & 0x1f).wrapping_shl(5 * k)) as i64;
                more = c & 0x20 != 0;
                p += 1;
                k += 1;
                if !more && (c & 0x10) != 0 {
                    x |= ((-1i32).wrapping_shl(5 * k)) as i64;
                }
            }
            let m = counts.len();
            if m > 2 {
                x += counts[m - 2] as i64;
            }
            if !(0..=u32::MAX as i64).contains(&x) {
                return Err(MaskError(format!("compressed RLE string decodes to an invalid run length {} (count #{})", x, m)));
            }
            counts.push(x as u32);
        }
        Rle::from_counts(h, w, counts)
    }
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
/// Same arithmetic as maskApi.c (property-tested against [`from_polygon_reference`]), fused: the
/// dense boundary points are consumed as they are generated instead of stored, and `floor`/`ceil`
/// of values known to be finite and non-negative (or tested only for integrality) use integer
/// conversions.
pub fn from_polygon(xy: &[f64], h: u32, w: u32) -> Rle {
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
fn boundary_to_rle(mut a: Vec<u32>, h: u32, w: u32) -> Rle {
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

/// `rleIou` for one pair, given both masks' `rleToBbox` boxes: the box IoU pre-check
/// (`geom::coco_box_iou`, i.e. `bbIou`) decides whether the runs are walked; then
/// `intersection / union` (or `/ area(dt)` for a crowd GT) in u32 counts, 0 without
/// intersection, -1 for masks of different sizes.
pub fn iou(dt: &Rle, dt_box: &[f64; 4], gt: &Rle, gt_box: &[f64; 4], crowd: bool) -> f64 {
    if crate::geom::coco_box_iou(dt_box, gt_box, crowd) <= 0.0 {
        return 0.0;
    }
    if dt.h != gt.h || dt.w != gt.w {
        return -1.0;
    }
    let (da, ga) = (&dt.counts, &gt.counts);
    let (ka, kb) = (da.len(), ga.len());
    let mut ca = da.first().copied().unwrap_or(0);
    let mut cb = ga.first().copied().unwrap_or(0);
    let (mut va, mut vb) = (false, false);
    let (mut a, mut b) = (1usize, 1usize);
    let (mut i, mut u): (u32, u32) = (0, 0);
    let mut ct: u32 = 1;
    while ct > 0 {
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
        u = dt.counts.iter().skip(1).step_by(2).fold(0u32, |s, &c| s.wrapping_add(c));
    }
    i as f64 / u as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        fn bbox_fast_equals_reference_on_any_counts(h in 1u32..9, counts in proptest::collection::vec(prop_oneof![2 => Just(0u32), 5 => 1u32..30], 0..12)) {
            let r = Rle { h, w: 1 + counts.iter().sum::<u32>() / h, counts };
            prop_assert_eq!(r.to_bbox(), r.to_bbox_reference());
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
            let ab = iou(&a, &ba, &b, &bb, false);
            prop_assert_eq!(ab, iou(&b, &bb, &a, &ba, false));
            prop_assert_eq!(ab, iou_ref(&a, &b, false));
            prop_assert_eq!(iou(&a, &ba, &b, &bb, true), iou_ref(&a, &b, true));
            let un = merge(&[a.clone(), b.clone()], false);
            let is = merge(&[a.clone(), b.clone()], true);
            let or: Vec<u8> = m1.iter().zip(&m2).map(|(x, y)| x | y).collect();
            let and: Vec<u8> = m1.iter().zip(&m2).map(|(x, y)| x & y).collect();
            prop_assert_eq!(un.decode().unwrap(), or);
            prop_assert_eq!(is.decode().unwrap(), and);
        }
    }
}
