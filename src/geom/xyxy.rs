//! Corner boxes `[x1, y1, x2, y2]` in f32, as the detection frameworks hold anchors and GT
//! boxes, with THE anchor IoU and the box coder (encode/decode of regression deltas).
//!
//! Float discipline: every operation is f32 in the frameworks' order (torchvision `box_iou`,
//! detectron2 `pairwise_iou`, mmdet `bbox_overlaps`, Detectron `bbox_overlaps` with +1), so that
//! exact-tie sets in low-quality matching are the frameworks' own. No fused multiply-add.

/// A corner box `[x1, y1, x2, y2]`.
pub type Xyxy = [f32; 4];

/// Which pixel-width convention a box lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelWidth {
    /// `w = x2 - x1` (detectron2, torchvision, mmdet).
    Continuous,
    /// `w = x2 - x1 + 1` (Detectron's legacy "+1" world).
    PlusOne,
}

impl PixelWidth {
    #[inline]
    fn one(self) -> f32 {
        match self {
            PixelWidth::Continuous => 0.0,
            PixelWidth::PlusOne => 1.0,
        }
    }
}

/// Area in the given pixel convention, `(x2 - x1 + one) * (y2 - y1 + one)` in f32.
#[inline]
pub fn area(b: &Xyxy, px: PixelWidth) -> f32 {
    let one = px.one();
    (b[2] - b[0] + one) * (b[3] - b[1] + one)
}

/// IoU of a ground-truth box with an anchor, both f32, given the GT area (precomputed once per
/// GT as the frameworks do). Operation order, shared by torchvision `box_iou(gt, anchors)`,
/// detectron2 `pairwise_iou`, mmdet `bbox_overlaps` and Detectron's Cython `bbox_overlaps`:
/// `iw = max(min(x2) - max(x1) + one, 0)`, same for `ih`, `inter = iw * ih`,
/// `union = (area_gt + area_anchor) - inter`, `iou = inter / union` (0 when `inter == 0`).
/// `union_eps` is mmdet's clamp of the union (1e-6), 0 elsewhere.
#[inline]
pub fn iou_with_area(gt: &Xyxy, gt_area: f32, a: &Xyxy, px: PixelWidth, union_eps: f32) -> f32 {
    let one = px.one();
    let iw = (gt[2].min(a[2]) - gt[0].max(a[0]) + one).max(0.0);
    let ih = (gt[3].min(a[3]) - gt[1].max(a[1]) + one).max(0.0);
    let inter = iw * ih;
    if inter <= 0.0 {
        return 0.0;
    }
    let union = (gt_area + area(a, px)) - inter;
    let union = if union_eps > 0.0 {
        union.max(union_eps)
    } else {
        union
    };
    inter / union
}

/// IoU of two boxes (see [`iou_with_area`] for the operation order).
#[inline]
pub fn iou(gt: &Xyxy, a: &Xyxy, px: PixelWidth, union_eps: f32) -> f32 {
    iou_with_area(gt, area(gt, px), a, px, union_eps)
}

/// How a framework turns a box into centre/size and back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxCoder {
    pub px: PixelWidth,
    /// `(wx, wy, ww, wh)`: deltas are multiplied by these (mmdet's `1/std` with zero means).
    pub weights: [f32; 4],
    /// mmdet computes the centre as `(x1 + x2) * 0.5`; the others as `x1 + 0.5 * w`.
    pub centre_from_sum: bool,
    /// Largest `dw`/`dh` before `exp` when decoding: `log(1000/16)` in all four frameworks.
    pub clamp: f32,
}

/// `log(1000 / 16)`: `BBOX_XFORM_CLIP` (Detectron), `scale_clamp` (detectron2),
/// `bbox_xform_clip` (torchvision), `wh_ratio_clip = 16/1000` (mmdet).
pub const BBOX_XFORM_CLIP: f32 = 4.135_166_6;

impl BoxCoder {
    #[inline]
    fn centre_size(&self, b: &Xyxy) -> [f32; 4] {
        let one = self.px.one();
        let w = b[2] - b[0] + one;
        let h = b[3] - b[1] + one;
        if self.centre_from_sum {
            [(b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5, w, h]
        } else {
            [b[0] + 0.5 * w, b[1] + 0.5 * h, w, h]
        }
    }

    /// Regression deltas `(dx, dy, dw, dh)` of `gt` relative to `anchor`, in f32 in the
    /// frameworks' order: `dx = wx * (gx - ax) / aw`, `dw = ww * ln(gw / aw)` (the log is taken
    /// in f64 and rounded once, i.e. correctly rounded).
    #[inline]
    pub fn encode(&self, anchor: &Xyxy, gt: &Xyxy) -> [f32; 4] {
        let [ax, ay, aw, ah] = self.centre_size(anchor);
        let [gx, gy, gw, gh] = self.centre_size(gt);
        let [wx, wy, ww, wh] = self.weights;
        [
            wx * (gx - ax) / aw,
            wy * (gy - ay) / ah,
            ww * ((gw / aw) as f64).ln() as f32,
            wh * ((gh / ah) as f64).ln() as f32,
        ]
    }

    /// Inverse of [`BoxCoder::encode`] (with the frameworks' clamp of `dw`, `dh`).
    #[inline]
    pub fn decode(&self, anchor: &Xyxy, d: &[f32; 4]) -> Xyxy {
        let [ax, ay, aw, ah] = self.centre_size(anchor);
        let [wx, wy, ww, wh] = self.weights;
        let (dx, dy) = (d[0] / wx, d[1] / wy);
        let dw = (d[2] / ww).min(self.clamp);
        let dh = (d[3] / wh).min(self.clamp);
        let cx = dx * aw + ax;
        let cy = dy * ah + ay;
        let w = ((dw as f64).exp() as f32) * aw;
        let h = ((dh as f64).exp() as f32) * ah;
        let one = self.px.one();
        if self.centre_from_sum {
            let (hw, hh) = (0.5 * (w - one), 0.5 * (h - one));
            [cx - hw, cy - hh, cx + hw, cy + hh]
        } else {
            // Inverse of `c = x1 + 0.5 * w` with `w = x2 - x1 + one`.
            let x1 = cx - 0.5 * w;
            let y1 = cy - 0.5 * h;
            [x1, y1, x1 + w - one, y1 + h - one]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let a = [0.0, 0.0, 10.0, 10.0];
        let b = [5.0, 0.0, 15.0, 10.0];
        assert_eq!(iou(&a, &b, PixelWidth::Continuous, 0.0), 50.0 / 150.0);
        // +1 world: widths 11, intersection 6x11.
        assert_eq!(
            iou(&a, &b, PixelWidth::PlusOne, 0.0),
            66.0f32 / (121.0 + 121.0 - 66.0)
        );
        assert_eq!(
            iou(&a, &[10.0, 0.0, 12.0, 3.0], PixelWidth::Continuous, 0.0),
            0.0
        );
        // In the +1 world touching boxes share a pixel column.
        assert!(iou(&a, &[10.0, 0.0, 12.0, 3.0], PixelWidth::PlusOne, 0.0) > 0.0);
    }

    fn boxes() -> impl Strategy<Value = Xyxy> {
        (
            -200.0f32..200.0,
            -200.0f32..200.0,
            4.0f32..200.0,
            4.0f32..200.0,
        )
            .prop_map(|(x, y, w, h)| [x, y, x + w, y + h])
    }

    proptest! {
        #[test]
        fn iou_bounded_symmetric(a in boxes(), b in boxes()) {
            for px in [PixelWidth::Continuous, PixelWidth::PlusOne] {
                let ab = iou(&a, &b, px, 0.0);
                let ba = iou(&b, &a, px, 0.0);
                prop_assert!((0.0..=1.0).contains(&ab));
                // union is (area_gt + area_a) - inter: f32 addition commutes exactly.
                prop_assert_eq!(ab, ba);
                prop_assert_eq!(iou(&a, &a, px, 0.0), 1.0);
            }
        }

        #[test]
        fn encode_decode_identity(a in boxes(), g in boxes(), sum in any::<bool>(), plus in any::<bool>()) {
            let coder = BoxCoder {
                px: if plus { PixelWidth::PlusOne } else { PixelWidth::Continuous },
                weights: [1.0, 1.0, 1.0, 1.0],
                centre_from_sum: sum,
                clamp: BBOX_XFORM_CLIP,
            };
            let d = coder.encode(&a, &g);
            let back = coder.decode(&a, &d);
            let scale = 1.0 + g.iter().chain(a.iter()).fold(0.0f32, |m, v| m.max(v.abs()));
            for k in 0..4 {
                prop_assert!((back[k] - g[k]).abs() <= 1e-4 * scale, "{:?} -> {:?} -> {:?}", g, d, back);
            }
        }
    }
}
