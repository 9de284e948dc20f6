//! Polygon rasterisation, `rleFrPoly`: the fast rasteriser that visits only column crossings,
//! and the literal maskApi.c port ([`from_polygon_reference`]) it is property-tested against.

use super::{MaskError, Rle};

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
    let pts: Vec<(i32, i32)> = (0..k)
        .map(|j| {
            (
                c_int(scale * xy[j * 2] + 0.5),
                c_int(scale * xy[j * 2 + 1] + 0.5),
            )
        })
        .collect();
    if k == 0
        || pts
            .iter()
            .any(|&(x, y)| !(-SAFE..=SAFE).contains(&x) || !(-SAFE..=SAFE).contains(&y))
    {
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
        // Only columns inside the image are crossings: an edge far longer than the image is
        // wide costs no more memory than one across it.
        cap +=
            (((pts[(j + 1) % k].0 - pts[j].0).unsigned_abs() / 5) as usize).min(w as usize + 1) + 2;
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
        let (t_first, t_last) = if flip {
            (dx.max(dy), 0)
        } else {
            (0, dx.max(dy))
        };
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
/// Most upsampled boundary points the point-by-point path ([`from_polygon_general`], taken when
/// a coordinate lies beyond ±2^29 / 5 ≈ 1.07e8 pixels) may walk before [`check_polygon`] refuses
/// the polygon: about half a second of work. maskApi.c walks (and allocates) them all, and its
/// `int` arithmetic overflows there anyway, so such a polygon has no trustworthy reference.
pub const MAX_GENERAL_POINTS: u64 = 1 << 27;

/// Whether [`from_polygon`] can rasterise `xy` in bounded time: always, unless a coordinate is so
/// far out that the point-by-point path must walk more than [`MAX_GENERAL_POINTS`] upsampled
/// points (an edge 27 million pixels long, say). Callers with user data check first.
pub fn check_polygon(xy: &[f64]) -> Result<(), MaskError> {
    const SAFE: i32 = 1 << 29;
    let k = xy.len() / 2;
    // Common case first, without storing the points: every one within ±2^29.
    if xy[..2 * k]
        .iter()
        .all(|&v| (-SAFE..=SAFE).contains(&c_int(POLY_SCALE * v + 0.5)))
    {
        return Ok(());
    }
    let pts: Vec<(i32, i32)> = (0..k)
        .map(|j| {
            (
                c_int(POLY_SCALE * xy[j * 2] + 0.5),
                c_int(POLY_SCALE * xy[j * 2 + 1] + 0.5),
            )
        })
        .collect();
    let mut n = 0u64;
    for j in 0..k {
        let ((xs, ys), (xe, ye)) = (pts[j], pts[(j + 1) % k]);
        n += (xe.wrapping_sub(xs).wrapping_abs().unsigned_abs())
            .max(ys.wrapping_sub(ye).wrapping_abs().unsigned_abs()) as u64
            + 1;
    }
    if n > MAX_GENERAL_POINTS {
        let far = xy.iter().map(|v| v.abs()).fold(0.0, f64::max);
        return Err(MaskError(format!("polygon coordinate {} is too far outside any image to rasterise (beyond ±1.07e8 pixels pycocotools' integer arithmetic overflows)", far)));
    }
    Ok(())
}

fn from_polygon_general(xy: &[f64], h: u32, w: u32) -> Rle {
    let k = xy.len() / 2;
    let scale = POLY_SCALE;
    if k == 0 {
        return Rle {
            h,
            w,
            counts: vec![h.wrapping_mul(w)],
        };
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
        let s = if dx >= dy {
            (ye.wrapping_sub(ys)) as f64 / dx as f64
        } else {
            (xe.wrapping_sub(xs)) as f64 / dy as f64
        };
        if dx >= dy {
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                visit(
                    t.wrapping_add(xs),
                    c_int(ys as f64 + s * t as f64 + 0.5),
                    &mut a,
                );
            }
        } else {
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                visit(
                    c_int(xs as f64 + s * t as f64 + 0.5),
                    t.wrapping_add(ys),
                    &mut a,
                );
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
            let len = 1 + rest
                .windows(2)
                .position(|p| p[1] > p[0])
                .unwrap_or(rest.len() - 1);
            rest[..len].reverse();
            len
        } else {
            1 + rest
                .windows(2)
                .position(|p| p[1] < p[0])
                .unwrap_or(rest.len().saturating_sub(1))
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
        let (src, dst) = if in_b {
            (&b[..], &mut a[..])
        } else {
            (&a[..], &mut b[..])
        };
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
        return Rle {
            h,
            w,
            counts: vec![h.wrapping_mul(w)],
        };
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
        let s = if dx >= dy {
            (ye.wrapping_sub(ys)) as f64 / dx as f64
        } else {
            (xe.wrapping_sub(xs)) as f64 / dy as f64
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::*;
    use proptest::prelude::*;

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
        assert_eq!(
            Rle::from_compressed(r.to_compressed().as_bytes(), 3, 4).unwrap(),
            r
        );
        // A 4-point box polygon, as loadRes synthesizes for box results: exactly the box pixels.
        let b = from_polygon(&[2.0, 1.0, 2.0, 4.0, 6.0, 4.0, 6.0, 1.0], 10, 10);
        assert_eq!(b.area(), 12);
        assert_eq!(b.to_bbox(), [2.0, 1.0, 4.0, 3.0]);
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
    }
}
