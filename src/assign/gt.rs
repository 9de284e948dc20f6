//! Ground truth as each framework hands it to its matcher: the image resized with the
//! framework's own size arithmetic, COCO `[x, y, w, h]` turned into corner boxes, scaled,
//! clipped and filtered the framework's way, crowd boxes dropped.
//!
//! Without resize the boxes are computed exactly as the shared oracle `ref_assign.py`
//! (`load_coco`) does: in f64 from the JSON values, rounded to f32 once.

use crate::anchors::Convention;
use crate::coco::{Annotation, Id, Image};
use crate::error::{Error, Result};
use crate::geom::xyxy::Xyxy;

/// `--resize SHORT,MAX`: shortest edge and longest-edge cap (800, 1333 in all four RetinaNets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    pub short: u32,
    pub max: u32,
}

/// The image size the network sees and the factors its boxes are scaled by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resized {
    pub height: u32,
    pub width: u32,
    /// Per-axis box scale (x, y).
    pub sx: f64,
    pub sy: f64,
}

/// Python's `int(v + 0.5)` for non-negative `v`.
fn int_half_up(v: f64) -> u32 {
    (v + 0.5).floor().max(0.0) as u32
}

/// The resized size, per framework:
/// - detectron2 `ResizeShortestEdge.get_output_shape` (f64, `int(x + 0.5)`), boxes × new/old;
/// - torchvision `GeneralizedRCNNTransform`: `scale = min(800 / min, 1333 / max)` (Python
///   floats), size `floor(n * scale)` (`interpolate(recompute_scale_factor=True)`), boxes ×
///   f32 new/old (`resize_boxes`);
/// - mmdet `Resize(keep_ratio=True)` / mmcv `rescale_size`: `min(1333/long, 800/short)`,
///   `int(n * scale + 0.5)`, boxes × new/old;
/// - Detectron `prep_im_for_blob`: `800/short`, capped when `round(scale * long) > 1333`;
///   cv2 rounds the size; boxes × scale.
pub fn resize(conv: Convention, h0: f64, w0: f64, r: Option<Resize>) -> Resized {
    let Some(r) = r else {
        return Resized {
            height: h0 as u32,
            width: w0 as u32,
            sx: 1.0,
            sy: 1.0,
        };
    };
    let (short, max) = (r.short as f64, r.max as f64);
    match conv {
        Convention::Detectron2 => {
            let scale = short / h0.min(w0);
            let (mut nh, mut nw) = if h0 < w0 {
                (short, scale * w0)
            } else {
                (scale * h0, short)
            };
            if nh.max(nw) > max {
                let s = max / nh.max(nw);
                nh *= s;
                nw *= s;
            }
            let (nh, nw) = (int_half_up(nh), int_half_up(nw));
            Resized {
                height: nh,
                width: nw,
                sx: nw as f64 / w0,
                sy: nh as f64 / h0,
            }
        }
        Convention::Torchvision => {
            let scale = (short / h0.min(w0)).min(max / h0.max(w0));
            let nh = (h0 * scale).floor() as u32;
            let nw = (w0 * scale).floor() as u32;
            let sx = (nw as f32 / w0 as f32) as f64;
            let sy = (nh as f32 / h0 as f32) as f64;
            Resized {
                height: nh,
                width: nw,
                sx,
                sy,
            }
        }
        Convention::Mmdet => {
            let scale = (max / h0.max(w0)).min(short / h0.min(w0));
            let nw = int_half_up(w0 * scale);
            let nh = int_half_up(h0 * scale);
            Resized {
                height: nh,
                width: nw,
                sx: nw as f64 / w0,
                sy: nh as f64 / h0,
            }
        }
        Convention::Detectron => {
            let mut scale = short / h0.min(w0);
            if (scale * h0.max(w0)).round_ties_even() > max {
                scale = max / h0.max(w0);
            }
            let nh = (h0 * scale).round_ties_even() as u32;
            let nw = (w0 * scale).round_ties_even() as u32;
            Resized {
                height: nh,
                width: nw,
                sx: scale,
                sy: scale,
            }
        }
    }
}

/// The GT of one image, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct ImageGt {
    pub boxes: Vec<Xyxy>,
    /// Annotation ids, parallel to `boxes`.
    pub ann_ids: Vec<Id>,
    /// Contiguous class index (position of the category id among the sorted category ids).
    pub labels: Vec<i32>,
    /// Original box width and height (COCO pixels), for size statistics.
    pub orig_wh: Vec<(f64, f64)>,
    pub crowd_dropped: usize,
    pub empty_dropped: usize,
}

/// Box values are below this → empty (detectron2 `filter_empty_instances(box_threshold=1e-5)`;
/// the oracle uses it for torchvision and mmdet too).
const EMPTY_BOX: f64 = 1e-5;

/// Turn the annotations of one image into matcher input (see the module docs).
pub fn image_gt(
    conv: Convention,
    image: &Image,
    size: &Resized,
    anns: &[&Annotation],
    class_of: impl Fn(Id) -> Result<i32>,
) -> Result<ImageGt> {
    let (w0, h0) = (image.width.unwrap_or(0.0), image.height.unwrap_or(0.0));
    let mut out = ImageGt::default();
    for ann in anns {
        if ann.iscrowd {
            out.crowd_dropped += 1;
            continue;
        }
        let [x, y, w, h] = ann.bbox;
        let b: Option<Xyxy> = match conv {
            Convention::Detectron => {
                // xywh_to_xyxy (+1 world) then clip_xyxy_to_image to [0, W-1]; drop empty.
                let (x2, y2) = (x + (w - 1.0).max(0.0), y + (h - 1.0).max(0.0));
                let cx = |v: f64| v.max(0.0).min(w0 - 1.0);
                let cy = |v: f64| v.max(0.0).min(h0 - 1.0);
                let (x1, y1, x2, y2) = (cx(x), cy(y), cx(x2), cy(y2));
                if ann.area > 0.0 && x2 > x1 && y2 > y1 {
                    // roidb boxes are float32; `boxes * im_scale` stays float32.
                    let s = size.sx as f32;
                    Some([x1 as f32 * s, y1 as f32 * s, x2 as f32 * s, y2 as f32 * s])
                } else {
                    None
                }
            }
            _ => {
                let mmdet_small = conv == Convention::Mmdet && {
                    // LoadAnnotations/filter: skip boxes with no area inside the image, w < 1 or h < 1.
                    let iw = ((x + w).min(w0) - x.max(0.0)).max(0.0);
                    let ih = ((y + h).min(h0) - y.max(0.0)).max(0.0);
                    iw * ih == 0.0 || ann.area <= 0.0 || w < 1.0 || h < 1.0
                };
                if mmdet_small {
                    None
                } else {
                    let (mut x1, mut y1, mut x2, mut y2) = (x, y, x + w, y + h);
                    if conv == Convention::Torchvision {
                        // coco_utils: clamp to the original image before the transform.
                        x1 = x1.clamp(0.0, w0);
                        x2 = x2.clamp(0.0, w0);
                        y1 = y1.clamp(0.0, h0);
                        y2 = y2.clamp(0.0, h0);
                    }
                    let mut b: [f64; 4] = if conv == Convention::Detectron2 {
                        [x1 * size.sx, y1 * size.sy, x2 * size.sx, y2 * size.sy]
                    } else {
                        // torchvision resize_boxes / mmdet rescale_: float32 boxes × float32 factors.
                        let (sx, sy) = (size.sx as f32, size.sy as f32);
                        [
                            (x1 as f32 * sx) as f64,
                            (y1 as f32 * sy) as f64,
                            (x2 as f32 * sx) as f64,
                            (y2 as f32 * sy) as f64,
                        ]
                    };
                    if conv != Convention::Torchvision {
                        // detectron2 Boxes.clip / mmdet clip_object_border: to the resized image.
                        let (ws, hs) = (w0 * size.sx, h0 * size.sy);
                        b = [
                            b[0].clamp(0.0, ws),
                            b[1].clamp(0.0, hs),
                            b[2].clamp(0.0, ws),
                            b[3].clamp(0.0, hs),
                        ];
                    }
                    if b[2] - b[0] > EMPTY_BOX && b[3] - b[1] > EMPTY_BOX {
                        Some(b.map(|v| v as f32))
                    } else {
                        None
                    }
                }
            }
        };
        match b {
            Some(b) => {
                out.boxes.push(b);
                out.ann_ids.push(ann.id);
                out.labels.push(class_of(ann.category_id)?);
                out.orig_wh.push((w, h));
            }
            None => out.empty_dropped += 1,
        }
    }
    Ok(out)
}

/// Check that an image has a usable size; assignment needs it.
pub fn check_image(image: &Image) -> Result<(f64, f64)> {
    match (image.height, image.width) {
        (Some(h), Some(w)) if h >= 1.0 && w >= 1.0 && h <= 1e5 && w <= 1e5 => Ok((h, w)),
        (Some(h), Some(w)) => Err(Error::input(format!("image {} has an unusable size {}x{}", image.id, h, w)).with_hint("every image needs a height and width of at least 1 pixel")),
        _ => Err(Error::input(format!("image {} has no width/height", image.id)).with_hint("assign needs each image's \"width\" and \"height\" (COCO instances files have them)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_arithmetic() {
        // 480x640 COCO image → 800x1067 (d2, mmdet), torchvision floors.
        let r = Some(Resize {
            short: 800,
            max: 1333,
        });
        let d2 = resize(Convention::Detectron2, 480.0, 640.0, r);
        assert_eq!((d2.height, d2.width), (800, 1067));
        let mm = resize(Convention::Mmdet, 480.0, 640.0, r);
        assert_eq!((mm.height, mm.width), (800, 1067));
        let tv = resize(Convention::Torchvision, 480.0, 640.0, r);
        assert_eq!((tv.height, tv.width), (800, 1066));
        // Checked against torchvision 0.29 GeneralizedRCNNTransform(800, 1333).
        for ((h, w), want) in [
            ((427.0, 640.0), (800, 1199)),
            ((500.0, 375.0), (1066, 800)),
            ((333.0, 500.0), (800, 1201)),
            ((1000.0, 1500.0), (800, 1200)),
        ] {
            let tv = resize(Convention::Torchvision, h, w, r);
            assert_eq!((tv.height, tv.width), want);
        }
        let dt = resize(Convention::Detectron, 480.0, 640.0, r);
        assert_eq!((dt.height, dt.width), (800, 1067));
        // Long edge caps: 500x1500 → 444x1333.
        let d2 = resize(Convention::Detectron2, 500.0, 1500.0, r);
        assert_eq!((d2.height, d2.width), (444, 1333));
    }
}
