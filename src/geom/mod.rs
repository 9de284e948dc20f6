//! Box geometry and THE IoU. COCO boxes are `[x, y, width, height]` (as read from JSON, f64);
//! the anchor tools add `xyxy` boxes here. Every IoU in the crate is computed by a function of
//! this module.

pub mod xyxy;

/// A COCO box `[x, y, w, h]` in f64, exactly as parsed.
pub type Xywh = [f64; 4];

/// IoU of a detection box with a ground-truth box, exactly as pycocotools' `bbIou`
/// (`common/maskApi.c`): all in f64, no fused multiply-add, in this operation order:
/// `w = min(dx+dw, gx+gw) - max(dx, gx)` (0 if `w <= 0`), same for `h`, `i = w*h`,
/// `u = crowd ? da : (da+ga) - i` with the areas computed from the boxes. For a crowd GT the
/// IoU is intersection over the *detection* area.
#[inline]
pub fn coco_box_iou(d: &Xywh, g: &Xywh, crowd: bool) -> f64 {
    let w = (d[2] + d[0]).min(g[2] + g[0]) - d[0].max(g[0]);
    if w <= 0.0 {
        return 0.0;
    }
    let h = (d[3] + d[1]).min(g[3] + g[1]) - d[1].max(g[1]);
    if h <= 0.0 {
        return 0.0;
    }
    let i = w * h;
    let da = d[2] * d[3];
    let u = if crowd { da } else { (da + g[2] * g[3]) - i };
    i / u
}

/// IoU matrix `[dets.len() x gts.len()]`, row-major, into `out`.
pub fn coco_box_iou_matrix(dets: &[&Xywh], gts: &[(&Xywh, bool)], out: &mut Vec<f64>) {
    out.clear();
    out.reserve(dets.len() * gts.len());
    for d in dets {
        for (g, crowd) in gts {
            out.push(coco_box_iou(d, g, *crowd));
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
        let b = [5.0, 0.0, 10.0, 10.0];
        assert_eq!(coco_box_iou(&a, &b, false), 50.0 / 150.0);
        // Crowd: intersection over the detection's area.
        assert_eq!(coco_box_iou(&a, &b, true), 0.5);
        // Touching boxes do not overlap.
        assert_eq!(coco_box_iou(&a, &[10.0, 0.0, 5.0, 5.0], false), 0.0);
        // A degenerate detection overlaps nothing, even a crowd region.
        assert_eq!(coco_box_iou(&[1.0, 1.0, 0.0, 5.0], &a, true), 0.0);
    }

    proptest! {
        #[test]
        fn iou_is_symmetric_and_bounded(
            x1 in -100.0f64..100.0, y1 in -100.0f64..100.0, w1 in 0.0f64..100.0, h1 in 0.0f64..100.0,
            x2 in -100.0f64..100.0, y2 in -100.0f64..100.0, w2 in 0.0f64..100.0, h2 in 0.0f64..100.0,
        ) {
            let a = [x1, y1, w1, h1];
            let b = [x2, y2, w2, h2];
            let ab = coco_box_iou(&a, &b, false);
            let ba = coco_box_iou(&b, &a, false);
            prop_assert!((0.0..=1.0 + 1e-12).contains(&ab));
            prop_assert!((ab - ba).abs() <= 1e-12);
            // (x+w)-x is not exactly w in floating point, so a box's IoU with itself is 1 only up
            // to rounding relative to |x|/w: check it where that ratio is moderate.
            if w1 >= 1.0 && h1 >= 1.0 {
                prop_assert!((coco_box_iou(&a, &a, false) - 1.0).abs() <= 1e-12);
            }
        }
    }
}
