//! Segmentations and keypoints: what segm and keypoints evaluation read beyond boxes. Parsed only
//! when the IoU type needs them, so bbox loading stays as lean as it is.
//!
//! * Segmentations (GT and results): polygon lists (rasterised with the image's height/width and
//!   merged by union, as `annToRLE` does), uncompressed RLE `{"counts": [..], "size": [h, w]}` and
//!   compressed RLE strings, all turned into [`Rle`] at load time, in parallel.
//! * Results follow `loadRes`: the branch is chosen by the FIRST element (`bbox` if present and
//!   non-empty, else `segmentation`, else `keypoints`); the branch decides each detection's `area`
//!   (box area / mask area / keypoint-extent area).
//!
//! Every bad value is reported with file, JSON path and line:column.

use super::{check_file_start, located, Dataset, Detection, Results};
use crate::error::{Error, Result};
use crate::eval::masks::{self, Rle};
use crate::eval::IouType;
use crate::geom::Xywh;
use crate::io::json::{self, JResult, JsonError, Kind, Reader};
use rayon::prelude::*;
use std::path::Path;

/// Which `loadRes` branch a results file takes (decided by its first element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsBranch {
    /// `bbox` present and non-empty: area = box area; a missing segmentation becomes the box polygon.
    Bbox,
    /// `segmentation`: area = mask area; bbox from the mask when absent.
    Segm,
    /// `keypoints`: box and area from the min/max of all keypoint coordinates.
    Keypoints,
}

/// Per-annotation shapes of a ground-truth file, indexed like `Dataset::annotations`.
#[derive(Debug, Default)]
pub struct GtShapes {
    /// segm: the annotation's mask (empty `Rle` for annotations of images absent from `images`).
    pub masks: Vec<Rle>,
    /// segm: `rleToBbox` of each mask (the IoU pre-check).
    pub mask_boxes: Vec<[f64; 4]>,
    /// keypoints: `[x, y, v] * K` per annotation, flat (stride `3K`).
    pub keypoints: Vec<f64>,
    /// keypoints: `num_keypoints == 0` (pycocotools ignores such GT, like crowd GT).
    pub no_keypoints: Vec<bool>,
}

/// Per-detection shapes of a results file, indexed like `Results::detections`.
#[derive(Debug)]
pub struct DtShapes {
    pub branch: ResultsBranch,
    /// The area loadRes gives each detection (what area ranges compare).
    pub areas: Vec<f64>,
    pub masks: Vec<Rle>,
    pub mask_boxes: Vec<[f64; 4]>,
    /// keypoints, flat (stride `3K`).
    pub keypoints: Vec<f64>,
}

/// A segmentation as written in JSON.
#[derive(Debug, Clone)]
enum SegmRaw<'a> {
    Polygons(Vec<Vec<f64>>),
    Counts { h: u32, w: u32, counts: Vec<u32> },
    /// Borrowed from the input unless the JSON string had escapes.
    Compressed { h: u32, w: u32, s: std::borrow::Cow<'a, str> },
}

const SEGM_HINT: &str = "a segmentation is a list of polygons [[x0, y0, x1, y1, x2, y2, ...], ...] (each ring at least 3 points), \
or an RLE {\"size\": [height, width], \"counts\": \"...\" or [n0, n1, ...]}";

const KPT_HINT: &str = "keypoints evaluation needs \"keypoints\": [x, y, v, ...] (one triple per sigma) and \"num_keypoints\" on every GT annotation";

fn u32_value(r: &mut Reader<'_>, what: &str) -> JResult<u32> {
    let pos = r.pos();
    let v = r.int()?;
    if !(0..=u32::MAX as i128).contains(&v) {
        return Err(JsonError::new(pos, format!("{} must be an integer in 0..=4294967295, found {}", what, v)));
    }
    Ok(v as u32)
}

fn parse_size(r: &mut Reader<'_>) -> JResult<(u32, u32)> {
    let start = r.pos();
    r.begin_array()?;
    let mut v = Vec::new();
    let mut first = true;
    while r.next_element(&mut first)? {
        let i = v.len();
        v.push(u32_value(r, "a mask size").map_err(|e| e.in_index(i))?);
    }
    if v.len() != 2 {
        return Err(JsonError::new(start, format!("expected [height, width], found {} numbers", v.len())));
    }
    Ok((v[0], v[1]))
}

fn parse_segmentation<'a>(r: &mut Reader<'a>) -> JResult<SegmRaw<'a>> {
    let start = r.pos();
    match r.peek_kind()? {
        Kind::Array => {
            r.begin_array()?;
            let mut rings = Vec::new();
            let mut first = true;
            while r.next_element(&mut first)? {
                let i = rings.len();
                let pos = r.pos();
                let mut ring = Vec::new();
                r.f64_array_into(&mut ring).map_err(|e| e.in_index(i))?;
                if ring.len() % 2 != 0 {
                    return Err(JsonError::new(pos, format!("a polygon needs x, y pairs; found an odd count of {} numbers", ring.len())).in_index(i));
                }
                if ring.len() < 6 {
                    return Err(JsonError::new(pos, format!("a polygon needs at least 3 points (6 numbers); found {} numbers (pycocotools 2.0.11 raises here)", ring.len())).in_index(i));
                }
                rings.push(ring);
            }
            Ok(SegmRaw::Polygons(rings))
        }
        Kind::Object => {
            r.begin_object()?;
            let (mut size, mut counts, mut text) = (None, None, None);
            let mut first = true;
            while let Some(k) = r.next_key(&mut first)? {
                match &*k {
                    "size" => size = Some(parse_size(r).map_err(|e| e.in_key("size"))?),
                    "counts" => match r.peek_kind().map_err(|e| e.in_key("counts"))? {
                        Kind::String => text = Some(r.string().map_err(|e| e.in_key("counts"))?),
                        Kind::Array => {
                            r.begin_array()?;
                            let mut v = Vec::new();
                            let mut f = true;
                            while r.next_element(&mut f).map_err(|e| e.in_key("counts"))? {
                                let i = v.len();
                                v.push(u32_value(r, "an RLE count").map_err(|e| e.in_index(i).in_key("counts"))?);
                            }
                            counts = Some(v);
                        }
                        other => return Err(JsonError::new(r.pos(), format!("expected a string or a list of run lengths, found {}", other.name())).in_key("counts")),
                    },
                    _ => r.skip_value().map_err(|e| e.in_key(&k))?,
                }
            }
            let (h, w) = size.ok_or_else(|| JsonError::new(start, "an RLE needs \"size\": [height, width]"))?;
            match (counts, text) {
                (Some(counts), _) => Ok(SegmRaw::Counts { h, w, counts }),
                (None, Some(s)) => Ok(SegmRaw::Compressed { h, w, s }),
                (None, None) => Err(JsonError::new(start, "an RLE needs \"counts\"")),
            }
        }
        other => Err(JsonError::new(start, format!("expected a list of polygons or an RLE object, found {}", other.name()))),
    }
}

/// Integer height and width of a GT image, needed to rasterise polygons and check mask sizes.
fn image_hw(gt: &Dataset, image: u32) -> Option<(u32, u32)> {
    let im = gt.images.get(image as usize)?;
    let ok = |v: f64| v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v);
    match (im.height, im.width) {
        (Some(h), Some(w)) if ok(h) && ok(w) => Some((h as u32, w as u32)),
        _ => None,
    }
}

/// Turn a parsed segmentation into the mask pycocotools' `annToRLE` builds.
fn to_rle(raw: SegmRaw<'_>, hw: Option<(u32, u32)>, pos: usize) -> JResult<Rle> {
    let (h, w) = hw.ok_or_else(|| JsonError::new(pos, "the image of this annotation has no integer \"height\"/\"width\" (segm evaluation needs them)"))?;
    let check = |mh: u32, mw: u32| -> JResult<()> {
        if (mh, mw) != (h, w) {
            return Err(JsonError::new(pos, format!("mask size {}x{} does not match its image ({}x{})", mh, mw, h, w)));
        }
        Ok(())
    };
    match raw {
        SegmRaw::Polygons(rings) => {
            let rles: Vec<Rle> = rings.iter().map(|p| masks::from_polygon(p, h, w)).collect();
            if rles.is_empty() {
                // pycocotools raises on `[]`; an empty polygon list is an empty mask.
                return Ok(Rle { h, w, counts: vec![h.wrapping_mul(w)] });
            }
            Ok(masks::merge(&rles, false))
        }
        SegmRaw::Counts { h: mh, w: mw, counts } => {
            check(mh, mw)?;
            Rle::from_counts(mh, mw, counts).map_err(|e| JsonError::new(pos, e.0).in_key("counts"))
        }
        SegmRaw::Compressed { h: mh, w: mw, s } => {
            check(mh, mw)?;
            Rle::from_compressed(s.as_bytes(), mh, mw).map_err(|e| JsonError::new(pos, e.0).in_key("counts"))
        }
    }
}

/// `[x, y, v] * k`. For detections (`read_v == false`) the third number of each triple is only
/// checked for grammar and stored as 0: pycocotools never reads a detection's visibility/score.
fn parse_keypoints(r: &mut Reader<'_>, k: usize, read_v: bool) -> JResult<Vec<f64>> {
    let pos = r.pos();
    let mut v = Vec::with_capacity(3 * k);
    if read_v {
        r.f64_array_into(&mut v)?;
    } else {
        r.begin_array()?;
        let mut first = true;
        while r.next_element(&mut first)? {
            let i = v.len();
            if i % 3 == 2 {
                let p = r.pos();
                match r.peek_kind() {
                    Ok(Kind::Number) => r.skip_value().map_err(|e| e.in_index(i))?,
                    _ => return Err(JsonError::new(p, "expected a number").in_index(i)),
                }
                v.push(0.0);
            } else {
                v.push(r.f64().map_err(|e| e.in_index(i))?);
            }
        }
    }
    if v.len() % 3 != 0 {
        return Err(JsonError::new(pos, format!("keypoints must be [x, y, v] triples; found {} numbers (not a multiple of 3)", v.len())));
    }
    if v.len() != 3 * k {
        return Err(JsonError::new(pos, format!("expected {} keypoints ({} numbers, one per sigma), found {}", k, 3 * k, v.len() / 3))
            .with_hint_path());
    }
    Ok(v)
}

trait HintPath {
    fn with_hint_path(self) -> Self;
}
impl HintPath for JsonError {
    fn with_hint_path(mut self) -> Self {
        self.message.push_str(" (use --kpt-sigmas for other skeletons)");
        self
    }
}

/// The value span of the top-level key `key` of a JSON object text.
fn top_level_span(buf: &[u8], key: &str) -> JResult<Option<(usize, usize)>> {
    let mut r = Reader::new(buf);
    r.begin_object()?;
    let mut first = true;
    let mut span = None;
    while let Some(k) = r.next_key(&mut first)? {
        if k == key {
            r.skip_ws();
            let open = r.pos();
            r.fast_skip()?;
            span = Some((open, r.pos()));
        } else {
            r.fast_skip()?;
        }
    }
    Ok(span)
}

impl GtShapes {
    /// Read the segmentations (segm) or keypoints (keypoints) of `gt`'s annotations from the same
    /// file text. `k` is the number of keypoints (sigmas).
    pub fn parse(path: &Path, buf: &[u8], gt: &Dataset, iou_type: IouType, k: usize) -> Result<GtShapes> {
        if iou_type == IouType::Bbox {
            return Ok(GtShapes::default());
        }
        let loc = |e: JsonError| located(path, buf, "", e);
        let Some((ao, ae)) = top_level_span(buf, "annotations").map_err(loc)? else {
            return Err(Error::in_file(path, "", "missing top-level key \"annotations\""));
        };
        let segm = iou_type == IouType::Segm;
        enum Out {
            Mask(Rle),
            Kp(Vec<f64>, bool),
        }
        let parse = |r: &mut Reader<'_>| -> JResult<Out> {
            let start = r.pos();
            r.begin_object()?;
            let (mut image_id, mut seg, mut kps, mut num) = (None, None, None, None);
            let mut first = true;
            while let Some(key) = r.next_key(&mut first)? {
                match &*key {
                    "image_id" => image_id = Some(r.int().map_err(|e| e.in_key("image_id"))?),
                    "segmentation" if segm => {
                        r.skip_ws();
                        let pos = r.pos();
                        seg = Some((pos, parse_segmentation(r).map_err(|e| e.in_key("segmentation"))?));
                    }
                    "keypoints" if !segm => kps = Some(parse_keypoints(r, k, true).map_err(|e| e.in_key("keypoints"))?),
                    "num_keypoints" if !segm => num = Some(r.int().map_err(|e| e.in_key("num_keypoints"))?),
                    _ => r.skip_value().map_err(|e| e.in_key(&key))?,
                }
            }
            if segm {
                // Annotations of images absent from `images` are never evaluated (nor converted).
                let Some(&img) = image_id.and_then(|id| gt.image_index.get(&id)) else {
                    return Ok(Out::Mask(Rle::default()));
                };
                let (pos, raw) = seg.ok_or_else(|| JsonError::new(start, "missing field \"segmentation\" (segm evaluation needs it)"))?;
                let rle = to_rle(raw, image_hw(gt, img), pos).map_err(|e| e.in_key("segmentation"))?;
                Ok(Out::Mask(rle))
            } else {
                let kps = kps.ok_or_else(|| JsonError::new(start, "missing field \"keypoints\" (keypoints evaluation needs it)"))?;
                let num = num.ok_or_else(|| JsonError::new(start, "missing field \"num_keypoints\" (pycocotools ignores GT with num_keypoints == 0)"))?;
                Ok(Out::Kp(kps, num == 0))
            }
        };
        let hint = if segm { SEGM_HINT } else { KPT_HINT };
        let (outs, _) = json::parse_array_par(buf, ao, ae, parse).map_err(|e| located(path, buf, "annotations", e).or_hint(hint))?;
        let mut s = GtShapes::default();
        for o in outs {
            match o {
                Out::Mask(m) => s.masks.push(m),
                Out::Kp(v, z) => {
                    s.keypoints.extend_from_slice(&v);
                    s.no_keypoints.push(z);
                }
            }
        }
        s.mask_boxes = s.masks.par_iter().map(|m| m.to_bbox()).collect();
        Ok(s)
    }
}

/// Read a results file for segm or keypoints evaluation: the detections (as `Results`) and their
/// shapes, following loadRes' branches. `k` is the number of keypoints (sigmas).
pub fn load_results(path: &Path, gt: &Dataset, iou_type: IouType, k: usize) -> Result<(Results, DtShapes)> {
    let buf = crate::io::read_file(path)?;
    parse_results(path, &buf, gt, iou_type, k)
}

const RES_HINT: &str = "expected a COCO results file: [{\"image_id\": 1, \"category_id\": 1, \"segmentation\": {\"size\": [h, w], \"counts\": \"...\"}, \"score\": 0.9}, ...] \
(keypoints: \"keypoints\": [x, y, v, ...])";

struct DetRaw {
    det: Detection,
    /// `bbox` key present and non-empty (loadRes' branch test).
    has_bbox: bool,
    mask: Option<Rle>,
    kps: Option<Vec<f64>>,
    start: usize,
}

pub fn parse_results(path: &Path, buf: &[u8], gt: &Dataset, iou_type: IouType, k: usize) -> Result<(Results, DtShapes)> {
    check_file_start(path, buf, RES_HINT).map_err(|e| e.or_hint(RES_HINT))?;
    let mut r = Reader::new(buf);
    r.skip_ws();
    let open = r.pos();
    if buf.get(open) != Some(&b'[') {
        let e = r.begin_array().unwrap_err();
        return Err(located(path, buf, "", JsonError { message: format!("a results file must be a list of detections ({})", e.message), ..e }).with_hint(RES_HINT));
    }
    let segm = iou_type == IouType::Segm;
    let parse_det = |r: &mut Reader<'_>| -> JResult<DetRaw> {
        let start = r.pos();
        r.begin_object()?;
        let (mut image, mut category, mut bbox, mut score) = (None, None, None::<Xywh>, None);
        let (mut has_bbox, mut seg, mut kps) = (false, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(&mut first)? {
            match &*key {
                "image_id" => image = Some(super::read_result_image(r, gt).map_err(|e| e.in_key("image_id"))?),
                "category_id" => category = Some(super::read_result_category(r, gt).map_err(|e| e.in_key("category_id"))?),
                "score" => score = Some(r.f64().map_err(|e| e.in_key("score"))?),
                "bbox" => {
                    r.skip_ws();
                    // `[]` counts as absent for the branch test (`not ann['bbox'] == []`).
                    let mut probe = Reader::at(r.buf(), r.pos());
                    let empty = probe.begin_array().is_ok() && probe.next_element(&mut true).ok() == Some(false);
                    if empty {
                        r.skip_value()?;
                    } else {
                        bbox = Some(super::read_bbox(r).map_err(|e| e.in_key("bbox"))?);
                        has_bbox = true;
                    }
                }
                // Parsed for keypoints evaluation too: a first element with a segmentation and no
                // box puts loadRes in its segm branch, where the area is the mask area.
                "segmentation" => {
                    r.skip_ws();
                    let pos = r.pos();
                    seg = Some((pos, parse_segmentation(r).map_err(|e| e.in_key("segmentation"))?));
                }
                "keypoints" if !segm => kps = Some(parse_keypoints(r, k, false).map_err(|e| e.in_key("keypoints"))?),
                _ => r.skip_value().map_err(|e| e.in_key(&key))?,
            }
        }
        let image = image.ok_or_else(|| JsonError::new(start, "missing field \"image_id\""))?;
        let mask = match seg {
            Some((pos, raw)) => Some(to_rle(raw, image_hw(gt, image), pos).map_err(|e| e.in_key("segmentation"))?),
            None => None,
        };
        Ok(DetRaw {
            det: Detection {
                image,
                category: category.ok_or_else(|| JsonError::new(start, "missing field \"category_id\""))?,
                bbox: bbox.unwrap_or([0.0; 4]),
                score: score.ok_or_else(|| JsonError::new(start, "missing field \"score\""))?,
            },
            has_bbox,
            mask,
            kps,
            start,
        })
    };
    let hint = if segm { SEGM_HINT } else { KPT_HINT };
    let (raws, end) = json::parse_array_par(buf, open, buf.len(), parse_det).map_err(|e| {
        let shape_err = e.path.contains(".segmentation") || e.path.contains(".keypoints");
        located(path, buf, "", e).or_hint(if shape_err { hint } else { RES_HINT })
    })?;
    let mut tail = Reader::at(buf, end);
    tail.expect_end().map_err(|e| located(path, buf, "", e).or_hint(RES_HINT))?;

    // loadRes' branch, from the first element.
    let branch = match raws.first() {
        None => ResultsBranch::Segm,
        Some(d) if d.has_bbox => ResultsBranch::Bbox,
        Some(d) if d.mask.is_some() => ResultsBranch::Segm,
        Some(d) if d.kps.is_some() => ResultsBranch::Keypoints,
        Some(d) => {
            let need = if segm { "\"bbox\" or \"segmentation\"" } else { "\"bbox\" or \"keypoints\"" };
            return Err(located(path, buf, "[0]", JsonError::new(d.start, format!("the first detection has neither {}; pycocotools picks the results type from it", need))).with_hint(RES_HINT));
        }
    };
    let err_at = |i: usize, start: usize, msg: String| located(path, buf, "", JsonError::new(start, msg).in_index(i)).with_hint(RES_HINT);
    let n = raws.len();
    let mut areas = Vec::with_capacity(n);
    let mut dets = Vec::with_capacity(n);
    let mut masks_out = Vec::new();
    let mut kps_out = Vec::new();
    let mut box_from_mask: Vec<usize> = Vec::new();
    for (i, d) in raws.into_iter().enumerate() {
        let mut det = d.det;
        match branch {
            ResultsBranch::Bbox => {
                if !d.has_bbox {
                    return Err(err_at(i, d.start, "missing field \"bbox\" (the first detection has one, so pycocotools reads every detection's box)".into()));
                }
                areas.push(det.area());
            }
            ResultsBranch::Segm => {
                let Some(m) = &d.mask else {
                    return Err(err_at(i, d.start, "missing field \"segmentation\" (the first detection has one, so pycocotools reads it from every detection)".into()));
                };
                areas.push(m.area() as f64);
                // loadRes sets `bbox = toBbox(mask)` when absent: filled in from `mask_boxes` below.
                if !d.has_bbox {
                    if segm {
                        box_from_mask.push(i);
                    } else {
                        det.bbox = m.to_bbox();
                    }
                }
            }
            ResultsBranch::Keypoints => {
                let Some((b, a)) = d.kps.as_deref().and_then(crate::eval::keypoints::box_from_keypoints) else {
                    return Err(err_at(i, d.start, "missing or empty field \"keypoints\" (the first detection has keypoints, so pycocotools reads them from every detection)".into()));
                };
                det.bbox = b;
                areas.push(a);
            }
        }
        if segm {
            let m = match d.mask {
                Some(m) => m,
                None if d.has_bbox => {
                    // loadRes' bbox branch: the box as the polygon [x1,y1, x1,y2, x2,y2, x2,y1].
                    let b = det.bbox;
                    let (x1, x2, y1, y2) = (b[0], b[0] + b[2], b[1], b[1] + b[3]);
                    let (h, w) = image_hw(gt, det.image)
                        .ok_or_else(|| err_at(i, d.start, "the image of this detection has no integer \"height\"/\"width\" (segm evaluation needs them)".into()))?;
                    masks::from_polygon(&[x1, y1, x1, y2, x2, y2, x2, y1], h, w)
                }
                None => return Err(err_at(i, d.start, "missing field \"segmentation\" (segm evaluation needs it)".into())),
            };
            masks_out.push(m);
        } else {
            match d.kps {
                Some(v) => kps_out.extend_from_slice(&v),
                None => return Err(err_at(i, d.start, "missing field \"keypoints\" (keypoints evaluation needs it)".into())),
            }
        }
        dets.push(det);
    }
    let unknown_category = dets.iter().filter(|d| d.category == u32::MAX).count();
    let mask_boxes: Vec<[f64; 4]> = masks_out.par_iter().map(|m| m.to_bbox()).collect();
    for i in box_from_mask {
        dets[i].bbox = mask_boxes[i];
    }
    Ok((Results { detections: dets, unknown_category }, DtShapes { branch, areas, masks: masks_out, mask_boxes, keypoints: kps_out }))
}
