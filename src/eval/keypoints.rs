//! Object keypoint similarity (OKS), pycocotools' `computeOks`, with its exact operation order:
//! `e = (dx² + dy²) / vars / (area + eps) / 2` with `vars = (2σ)²`, visible keypoints only when
//! the GT has any (else the distance to the GT box enlarged to `[x-w, x+2w] × [y-h, y+2h]`), and
//! `oks = sum(exp(-e)) / len(e)` with numpy's pairwise sum.
//!
//! `exp`: numpy evaluates `np.exp` on float64 arrays with its own SIMD kernels (Intel SVML on
//! AVX-512 machines); we call the platform libm's `exp`. The two can differ by 1 ulp (≈1.1e-16)
//! on some arguments, so an OKS may differ by about that much; see docs/segm-keypoints.md for the
//! measurement. Matching compares OKS with thresholds, so the stats differ only when an OKS lies
//! within an ulp of a threshold or of another OKS.

use super::summarize::np_pairwise_sum;

/// COCO's 17 person keypoint sigmas as written in pycocotools (`np.array([...]) / 10.0`).
pub const COCO_SIGMAS_X10: [f64; 17] = [
    0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89,
    0.89,
];

/// `np.spacing(1)`, added to the GT area in the OKS denominator.
const AREA_EPS: f64 = f64::EPSILON;

/// pycocotools' default sigmas: the values above divided by 10, as numpy does it.
pub fn coco_sigmas() -> Vec<f64> {
    COCO_SIGMAS_X10.iter().map(|&s| s / 10.0).collect()
}

/// Per-GT data OKS needs, prepared once.
#[derive(Debug, Clone)]
pub struct GtKeypoints {
    /// x, y, visibility per keypoint.
    pub xyv: Vec<[f64; 3]>,
    /// Number of keypoints with v > 0 (`k1`).
    pub visible: usize,
    /// The enlarged box `[x0, x1, y0, y1]` = `[x-w, x+2w, y-h, y+2h]` of the GT `bbox`.
    pub enlarged: [f64; 4],
    /// GT `area` field + eps.
    pub area_eps: f64,
}

impl GtKeypoints {
    pub fn new(kps: &[f64], bbox: &[f64; 4], area: f64) -> GtKeypoints {
        let xyv: Vec<[f64; 3]> = kps.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        let visible = xyv.iter().filter(|p| p[2] > 0.0).count();
        let enlarged = [
            bbox[0] - bbox[2],
            bbox[0] + bbox[2] * 2.0,
            bbox[1] - bbox[3],
            bbox[1] + bbox[3] * 2.0,
        ];
        GtKeypoints {
            xyv,
            visible,
            enlarged,
            area_eps: area + AREA_EPS,
        }
    }
}

/// `vars = (sigmas * 2)**2`.
pub fn variances(sigmas: &[f64]) -> Vec<f64> {
    sigmas
        .iter()
        .map(|&s| {
            let t = s * 2.0;
            t * t
        })
        .collect()
}

/// OKS of one detection's keypoints `[x0, y0, x1, y1, ...]` with one GT; `vars` from [`variances`].
/// `scratch` holds the per-keypoint terms. With `floor > 0`, an OKS that is certainly below
/// `floor` may come back as 0 without its `exp`s (matching never reads such values; pass 0 for
/// the exact value always): each term `exp(-e)` is at most 1, and below 0.05 where `e >= 3`.
pub fn oks(dt: &[f64], g: &GtKeypoints, vars: &[f64], scratch: &mut Vec<f64>, floor: f64) -> f64 {
    scratch.clear();
    let [x0, x1, y0, y1] = g.enlarged;
    for (j, (gp, dp)) in g.xyv.iter().zip(dt.chunks_exact(2)).enumerate() {
        let (xd, yd) = (dp[0], dp[1]);
        let (dx, dy) = if g.visible > 0 {
            if gp[2] <= 0.0 {
                continue;
            }
            (xd - gp[0], yd - gp[1])
        } else {
            // np.max((z, x0-xd), axis=0) + np.max((z, xd-x1), axis=0)
            (
                0f64.max(x0 - xd) + 0f64.max(xd - x1),
                0f64.max(y0 - yd) + 0f64.max(yd - y1),
            )
        };
        // `* 0.5` is `/ 2.0` exactly (both round the same real number), one division less.
        scratch.push((dx * dx + dy * dy) / vars[j] / g.area_eps * 0.5);
    }
    let n = scratch.len();
    if floor > 0.0 && n > 0 {
        // Terms with e in [0, 3) count 1, the others (e >= 3) 0.05; a negative or NaN e (a
        // negative GT area, say) has no bound, so the OKS is computed.
        let (mut near, mut bounded) = (0usize, true);
        for &e in scratch.iter() {
            if e >= 3.0 {
            } else if e >= 0.0 {
                near += 1;
            } else {
                bounded = false;
            }
        }
        // The margin covers the rounding of the sum (17 terms at most 1 each: ~1e-15).
        if bounded && near as f64 + 0.05 * (n - near) as f64 <= (floor - 1e-9) * n as f64 {
            return 0.0;
        }
    }
    for t in scratch.iter_mut() {
        // exp(-750) ≈ 2.6e-326 is far below half the smallest subnormal: any libm (and numpy)
        // returns +0 there, so far keypoints skip the call.
        *t = if *t > 750.0 { 0.0 } else { (-*t).exp() };
    }
    np_pairwise_sum(scratch) / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oks_identical_points_is_one() {
        let kps: Vec<f64> = (0..17)
            .flat_map(|i| [i as f64 * 3.0, i as f64 * 2.0, 2.0])
            .collect();
        let g = GtKeypoints::new(&kps, &[0.0, 0.0, 48.0, 32.0], 1000.0);
        let vars = variances(&coco_sigmas());
        let mut s = Vec::new();
        let xy: Vec<f64> = kps.chunks_exact(3).flat_map(|p| [p[0], p[1]]).collect();
        assert_eq!(oks(&xy, &g, &vars, &mut s, 0.0), 1.0);
        assert_eq!(s.len(), 17);
    }

    #[test]
    fn oks_uses_visible_only_and_enlarged_box_without_visible() {
        let vars = variances(&coco_sigmas());
        let mut gk = vec![0.0; 51];
        gk[0] = 10.0;
        gk[1] = 10.0;
        gk[2] = 1.0;
        let g = GtKeypoints::new(&gk, &[0.0, 0.0, 20.0, 20.0], 400.0);
        let mut dk = vec![0.0; 34];
        dk[0] = 12.0;
        dk[1] = 10.0;
        let mut s = Vec::new();
        let v = oks(&dk, &g, &vars, &mut s, 0.0);
        let e = (4.0 / vars[0]) / (400.0 + f64::EPSILON) / 2.0;
        assert_eq!(v, (-e).exp());
        // No visible GT keypoint: detections inside the enlarged box have distance 0.
        let g0 = GtKeypoints::new(&vec![0.0; 51], &[0.0, 0.0, 20.0, 20.0], 400.0);
        assert_eq!(oks(&[5.0; 34], &g0, &vars, &mut s, 0.0), 1.0);
    }

    /// With a floor, an OKS is either exact or 0 where the exact one is below the floor; a
    /// negative GT area (terms above 1) is never cut.
    #[test]
    fn floor_gives_exact_values_or_zero_below_it() {
        let vars = variances(&coco_sigmas());
        let mut rng = crate::rng::SplitMix64::from_state(0x0DDB_1A5E_5BAD_5EEDu64);
        let mut next = |m: f64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * m;
        let (mut s, mut cut, mut kept_below) = (Vec::new(), 0, 0);
        for i in 0..20_000 {
            let spread = [2.0, 10.0, 40.0, 200.0][i % 4];
            let cx = next(400.0);
            let gk: Vec<f64> = (0..17)
                .flat_map(|j| {
                    let v = if i % 5 == 0 || j % 3 == 0 { 2.0 } else { 0.0 };
                    [cx + next(60.0), cx + next(60.0), v]
                })
                .collect();
            let area = if i % 97 == 0 {
                -500.0
            } else {
                100.0 + next(5000.0)
            };
            let g = GtKeypoints::new(&gk, &[cx, cx, 60.0, 60.0], area);
            let dk: Vec<f64> = gk
                .chunks_exact(3)
                .flat_map(|p| {
                    [
                        p[0] + next(spread) - spread / 2.0,
                        p[1] + next(spread) - spread / 2.0,
                    ]
                })
                .collect();
            let exact = oks(&dk, &g, &vars, &mut s, 0.0);
            for floor in [0.5, 0.75, 0.95] {
                let got = oks(&dk, &g, &vars, &mut s, floor);
                if got.to_bits() != exact.to_bits() {
                    assert_eq!(got, 0.0);
                    assert!(exact < floor, "{} {}", exact, floor);
                    assert!(area > 0.0);
                    cut += 1;
                } else if exact < floor {
                    kept_below += 1;
                }
            }
        }
        // Both happen: the bound cuts most far pairs, and near ones below the floor stay exact.
        assert!(cut > 10_000 && kept_below > 1_000, "{} {}", cut, kept_below);
    }

    #[test]
    fn far_keypoints_skip_exp_only_where_it_is_zero() {
        // The cut-off of `oks`: libm's exp is exactly +0 from well before it.
        for e in [745.2, 746.0, 750.0, 750.0 + 1e-9, 1e6, f64::MAX] {
            assert_eq!((-e).exp().to_bits(), 0.0f64.to_bits(), "{}", e);
        }
        assert!((-745.0f64).exp() > 0.0);
    }
}
