//! Segmentations and keypoints: what segm and keypoints evaluation read beyond boxes. Parsed only
//! when the IoU type needs them, so bbox loading stays as lean as it is.
//!
//! * Segmentations (GT and results): polygon lists (rasterised with the image's height/width and
//!   merged by union, as `annToRLE` does), uncompressed RLE `{"counts": [..], "size": [h, w]}` and
//!   compressed RLE strings. GT masks are turned into [`Rle`] at load time, in parallel. A
//!   detection's compressed string is validated at load time (which yields its area and box) and
//!   otherwise left in the results file: it is decoded again only when an IoU needs its runs,
//!   which most detections' boxes never do, so ~100k masks never sit in memory as counts.
//! * Results follow `loadRes`: the branch is chosen by the FIRST element (`bbox` if present and
//!   non-empty, else `segmentation`, else `keypoints`); the branch decides each detection's `area`
//!   (box area / mask area / keypoint-extent area).
//!
//! Every bad value is reported with file, JSON path and line:column.

use super::{check_file_start, located, Dataset, Detection, IouType, Results};
use crate::error::{Error, Result};
use crate::geom::Xywh;
use crate::io::json::{self, JResult, JsonError, Kind, Reader};
use crate::io::FileBytes;
use crate::mask::{
    self, CountSink, MaskError, MaskInfo, MaskRef, Rle, RunBuilder, RunStats, StringDecoder,
};
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
    /// A `plain` mask keeps only its size here: its runs below say the same (half the memory of
    /// the GT masks), and [`GtShapes::mask`] rebuilds its counts where a pair needs them.
    pub masks: Vec<Rle>,
    /// segm: area, `rleToBbox` (the IoU pre-check) and shape facts of each mask.
    pub mask_info: Vec<MaskInfo>,
    /// segm: foreground intervals of the `plain` masks, one vector per chunk of the parallel
    /// parse (left where they were made, not copied together).
    runs: Vec<Vec<(u32, u32)>>,
    /// segm: mask `i`'s intervals are `runs[c][a..b]` for `run_span[i] = (c, a, b)`.
    run_span: Vec<(u32, u32, u32)>,
    /// keypoints: `[x, y, v] * K` per annotation, flat (stride `3K`).
    pub keypoints: Vec<f64>,
    /// keypoints: `num_keypoints == 0` (pycocotools ignores such GT, like crowd GT).
    pub no_keypoints: Vec<bool>,
}

impl GtShapes {
    /// Annotation `i`'s mask as [`mask::iou_runs`] reads it against a mask whose `plain` flag is
    /// `other_plain`: a pair of plain masks compares runs only; otherwise the counts are read,
    /// and those of a plain mask (not stored, see [`GtShapes::masks`]) are rebuilt into `buf`.
    pub fn mask<'s>(&'s self, i: usize, other_plain: bool, buf: &'s mut Vec<u32>) -> MaskRef<'s> {
        let (c, a, b) = self.run_span[i];
        let (info, runs) = (
            &self.mask_info[i],
            &self.runs[c as usize][a as usize..b as usize],
        );
        let counts: &[u32] = if info.plain && !other_plain {
            mask::counts_of_runs(runs, info.h as u64 * info.w as u64, buf);
            buf
        } else {
            &self.masks[i].counts
        };
        MaskRef { info, runs, counts }
    }
}

/// Per-detection shapes of a results file, indexed like `Results::detections`.
#[derive(Debug)]
pub struct DtShapes {
    pub branch: ResultsBranch,
    /// The area loadRes gives each detection (what area ranges compare).
    pub areas: Vec<f64>,
    /// segm: every detection's mask.
    pub masks: DtMasks,
    /// keypoints: every detection's keypoints.
    pub keypoints: DetKeypoints,
}

/// Every detection's `[x, y] * K` (pycocotools never reads a detection's visibility), left in
/// the arenas the parallel parse filled, one per chunk of the results file.
#[derive(Debug, Default)]
pub struct DetKeypoints {
    /// `2K`.
    stride: usize,
    chunks: Vec<Vec<f64>>,
    /// Index of the first detection of each chunk.
    first: Vec<usize>,
}

impl DetKeypoints {
    /// Detection `d`'s `[x0, y0, x1, y1, ...]`.
    #[inline]
    pub fn get(&self, d: usize) -> &[f64] {
        let c = self.first.partition_point(|&f| f <= d) - 1;
        let i = d - self.first[c];
        &self.chunks[c][i * self.stride..(i + 1) * self.stride]
    }
}

/// Detection masks (segm). Compressed strings stay in the results file, validated, and are
/// decoded on demand ([`DtMasks::get`]); masks given as counts or polygons (and strings with JSON
/// escapes other than `\\`) are stored as counts.
pub struct DtMasks {
    text: FileBytes,
    info: Vec<MaskInfo>,
    src: Vec<MaskSrc>,
    counts: Vec<u32>,
}

impl std::fmt::Debug for DtMasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DtMasks({} masks)", self.info.len())
    }
}

#[derive(Debug, Clone, Copy)]
enum MaskSrc {
    /// Raw span of a compressed string in `text` (JSON escapes left in).
    Text(usize, usize),
    /// Range of `counts`.
    Counts(usize, usize),
}

/// Where [`DtMasks::get`] decodes a detection's runs; reused across detections.
#[derive(Debug, Default)]
pub struct MaskScratch {
    runs: Vec<(u32, u32)>,
    counts: Vec<u32>,
}

impl DtMasks {
    fn empty() -> DtMasks {
        DtMasks {
            text: FileBytes::Owned(Vec::new()),
            info: Vec::new(),
            src: Vec::new(),
            counts: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.info.len()
    }

    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Area, box and shape facts of detection `i`'s mask.
    #[inline]
    pub fn info(&self, i: usize) -> &MaskInfo {
        &self.info[i]
    }

    /// The pixels detection `i`'s mask shares with the foreground intervals `gt_runs`, when its
    /// mask is a `plain` compressed string: counted while decoding, which stops past the last
    /// interval. `None` for masks stored as counts.
    pub fn intersect_text(&self, i: usize, gt_runs: &[(u32, u32)]) -> Option<u32> {
        match self.src[i] {
            MaskSrc::Text(a, b) if self.info[i].plain => {
                // Validated at load time, so decoding cannot fail here.
                decode_span(&self.text[a..b], mask::IntersectRuns::new(gt_runs))
                    .ok()
                    .map(|s| s.inter)
            }
            _ => None,
        }
    }

    /// Detection `i`'s mask as [`mask::iou`] reads it, decoding it into `scratch` if needed: its
    /// runs if it is `plain`, its counts if it is not or `counts` is asked for (a pair with a GT
    /// that is not `plain` compares counts).
    pub fn get<'s>(&'s self, i: usize, counts: bool, scratch: &'s mut MaskScratch) -> MaskRef<'s> {
        let info = &self.info[i];
        scratch.runs.clear();
        scratch.counts.clear();
        let need_counts = counts || !info.plain;
        let counts: &[u32] = match self.src[i] {
            MaskSrc::Text(a, b) => {
                let raw = &self.text[a..b];
                let (runs, counts) = (&mut scratch.runs, &mut scratch.counts);
                // Validated at load time, so decoding cannot fail here.
                if info.plain {
                    let _ = decode_span(raw, RunBuilder::new(runs));
                }
                if need_counts {
                    let _ = decode_span(raw, &mut *counts);
                }
                &scratch.counts
            }
            MaskSrc::Counts(a, b) => {
                let c = &self.counts[a..b];
                if info.plain {
                    mask::runs_of(c, &mut scratch.runs);
                }
                c
            }
        };
        MaskRef {
            info,
            runs: &scratch.runs,
            counts,
        }
    }
}

/// COCO's compressed-RLE alphabet: `'0'..='o'`.
const RLE_FIRST: u8 = b'0';
const RLE_LAST: u8 = b'o';

/// Decode the raw JSON span of a compressed RLE string (its only escapes are `\\`, see
/// [`Reader::plain_string_span`]) into `sink`. On bad text it may have seen some counts before
/// the error.
#[inline]
fn decode_span<S: CountSink>(raw: &[u8], sink: S) -> Result<S, MaskError> {
    if let Ok(sink) = mask::decode_json_text(raw, sink) {
        return Ok(sink);
    }
    // Say what is wrong, as `Rle::from_compressed` would.
    let mut dec = StringDecoder::default();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1 + (b == b'\\') as usize;
        dec.push(b)?;
    }
    dec.finish()?;
    Err(MaskError("compressed RLE string cannot be decoded".into()))
}

/// A segmentation as written in JSON.
#[derive(Debug, Clone)]
enum SegmRaw<'a> {
    Polygons(Vec<Vec<f64>>),
    Rle {
        h: u32,
        w: u32,
        counts: CountsRaw<'a>,
    },
}

/// An RLE's `counts` as written.
#[derive(Debug, Clone)]
enum CountsRaw<'a> {
    List(Vec<u32>),
    /// A compressed string: its raw span in the input (see [`Reader::plain_string_span`]).
    Span(usize, usize),
    /// A compressed string with other escapes (or bad characters), read by [`Reader::string`].
    Text(std::borrow::Cow<'a, str>),
}

const SEGM_HINT: &str = "a segmentation is a list of polygons [[x0, y0, x1, y1, x2, y2, ...], ...] (each ring at least 3 points), \
or an RLE {\"size\": [height, width], \"counts\": \"...\" or [n0, n1, ...]}";

const KPT_HINT: &str = "keypoints evaluation needs \"keypoints\": [x, y, v, ...] (one triple per sigma) and \"num_keypoints\" on every GT annotation";

fn u32_value(r: &mut Reader<'_>, what: &str) -> JResult<u32> {
    let pos = r.pos();
    let v = r.int()?;
    if !(0..=u32::MAX as i128).contains(&v) {
        return Err(JsonError::new(
            pos,
            format!("{} must be an integer in 0..=4294967295, found {}", what, v),
        ));
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
        return Err(JsonError::new(
            start,
            format!("expected [height, width], found {} numbers", v.len()),
        ));
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
                r.skip_ws();
                if r.fast_number_array(|_| true, &mut ring).is_none() {
                    r.f64_array_into(&mut ring).map_err(|e| e.in_index(i))?;
                }
                if ring.len() % 2 != 0 {
                    return Err(JsonError::new(
                        pos,
                        format!(
                            "a polygon needs x, y pairs; found an odd count of {} numbers",
                            ring.len()
                        ),
                    )
                    .in_index(i));
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
            let (mut size, mut counts) = (None, None);
            let mut first = true;
            while let Some(k) = r.next_key(&mut first)? {
                match &*k {
                    "size" => size = Some(parse_size(r).map_err(|e| e.in_key("size"))?),
                    "counts" => match r.peek_kind().map_err(|e| e.in_key("counts"))? {
                        Kind::String => {
                            counts = Some(match r.plain_string_span(RLE_FIRST, RLE_LAST) {
                                Some((a, b)) => CountsRaw::Span(a, b),
                                None => {
                                    CountsRaw::Text(r.string().map_err(|e| e.in_key("counts"))?)
                                }
                            })
                        }
                        Kind::Array => {
                            r.begin_array()?;
                            let mut v = Vec::new();
                            let mut f = true;
                            while r.next_element(&mut f).map_err(|e| e.in_key("counts"))? {
                                let i = v.len();
                                v.push(
                                    u32_value(r, "an RLE count")
                                        .map_err(|e| e.in_index(i).in_key("counts"))?,
                                );
                            }
                            counts = Some(CountsRaw::List(v));
                        }
                        other => {
                            return Err(JsonError::new(
                                r.pos(),
                                format!(
                                    "expected a string or a list of run lengths, found {}",
                                    other.name()
                                ),
                            )
                            .in_key("counts"))
                        }
                    },
                    _ => r.skip_value().map_err(|e| e.in_key(&k))?,
                }
            }
            let (h, w) = size
                .ok_or_else(|| JsonError::new(start, "an RLE needs \"size\": [height, width]"))?;
            let counts = counts.ok_or_else(|| JsonError::new(start, "an RLE needs \"counts\""))?;
            Ok(SegmRaw::Rle { h, w, counts })
        }
        other => Err(JsonError::new(
            start,
            format!(
                "expected a list of polygons or an RLE object, found {}",
                other.name()
            ),
        )),
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

/// A segmentation turned into what evaluation reads.
enum Mask {
    /// A validated compressed string left in the input (its raw span).
    Text {
        span: (usize, usize),
        info: MaskInfo,
    },
    Counts(Rle),
}

impl Mask {
    /// As counts (decoding a string).
    fn into_rle(self, buf: &[u8]) -> Rle {
        match self {
            Mask::Counts(r) => r,
            Mask::Text { span: (a, b), info } => {
                let mut counts = Vec::new();
                // Validated when the `Mask` was made.
                let _ = decode_span(&buf[a..b], &mut counts);
                Rle {
                    h: info.h,
                    w: info.w,
                    counts,
                }
            }
        }
    }
}

/// Turn a parsed segmentation into the mask pycocotools' `annToRLE` builds (`buf`: the input the
/// spans point into). A compressed string is validated but not stored.
fn to_mask(raw: SegmRaw<'_>, hw: Option<(u32, u32)>, pos: usize, buf: &[u8]) -> JResult<Mask> {
    let (h, w) = hw.ok_or_else(|| JsonError::new(pos, "the image of this annotation has no integer \"height\"/\"width\" (segm evaluation needs them)"))?;
    let (mh, mw, counts) = match raw {
        SegmRaw::Polygons(rings) => {
            for p in &rings {
                mask::check_polygon(p).map_err(|e| JsonError::new(pos, e.0))?;
            }
            let mut rles: Vec<Rle> = rings.iter().map(|p| mask::from_polygon(p, h, w)).collect();
            return Ok(Mask::Counts(match rles.len() {
                // pycocotools raises on `[]`; an empty polygon list is an empty mask.
                0 => Rle {
                    h,
                    w,
                    counts: vec![h.wrapping_mul(w)],
                },
                // `merge` of one mask is that mask (its counts cut to their length: the
                // rasteriser's buffer was sized for the worst case).
                1 => {
                    let mut r = rles.pop().expect("one mask");
                    r.counts.shrink_to_fit();
                    r
                }
                _ => mask::merge(&rles, false),
            }));
        }
        SegmRaw::Rle { h, w, counts } => (h, w, counts),
    };
    if (mh, mw) != (h, w) {
        return Err(JsonError::new(
            pos,
            format!(
                "mask size {}x{} does not match its image ({}x{})",
                mh, mw, h, w
            ),
        ));
    }
    let bad = |e: MaskError| JsonError::new(pos, e.0).in_key("counts");
    match counts {
        CountsRaw::List(counts) => Ok(Mask::Counts(Rle::from_counts(h, w, counts).map_err(bad)?)),
        CountsRaw::Text(s) => Ok(Mask::Counts(
            Rle::from_compressed(s.as_bytes(), h, w).map_err(bad)?,
        )),
        CountsRaw::Span(a, b) => {
            let st = decode_span(&buf[a..b], RunStats::new(h, w)).map_err(bad)?;
            // The check and message of `Rle::from_counts`.
            Rle::check_sum(h, w, st.pixels()).map_err(bad)?;
            Ok(Mask::Text {
                span: (a, b),
                info: st.info(),
            })
        }
    }
}

/// A GT annotation's `[x, y, v] * k`.
fn parse_gt_keypoints(r: &mut Reader<'_>, k: usize) -> JResult<Vec<f64>> {
    let pos = r.pos();
    let mut v = Vec::with_capacity(3 * k);
    r.skip_ws();
    if r.fast_number_array(|_| true, &mut v).is_none() {
        r.f64_array_into(&mut v)?;
    }
    check_keypoint_count(pos, v.len(), k)?;
    Ok(v)
}

/// A detection's `[x, y, v] * k`, appending `[x, y] * k` to `out`: the third number of each
/// triple is only checked for grammar, as pycocotools never reads a detection's visibility.
fn parse_det_keypoints(r: &mut Reader<'_>, k: usize, out: &mut Vec<f64>) -> JResult<()> {
    r.skip_ws();
    let pos = r.pos();
    if let Some(n) = r.fast_number_array(|i| i % 3 != 2, out) {
        return check_keypoint_count(pos, n, k);
    }
    r.begin_array()?;
    let mut first = true;
    let mut n = 0;
    while r.next_element(&mut first)? {
        if n % 3 == 2 {
            r.skip_number().map_err(|e| e.in_index(n))?;
        } else {
            out.push(r.f64().map_err(|e| e.in_index(n))?);
        }
        n += 1;
    }
    check_keypoint_count(pos, n, k)
}

fn check_keypoint_count(pos: usize, n: usize, k: usize) -> JResult<()> {
    if n % 3 != 0 {
        return Err(JsonError::new(
            pos,
            format!(
                "keypoints must be [x, y, v] triples; found {} numbers (not a multiple of 3)",
                n
            ),
        ));
    }
    if n != 3 * k {
        return Err(JsonError::new(
            pos,
            format!(
                "expected {} keypoints ({} numbers, one per sigma), found {}",
                k,
                3 * k,
                n / 3
            ),
        )
        .with_hint_path());
    }
    Ok(())
}

trait HintPath {
    fn with_hint_path(self) -> Self;
}
impl HintPath for JsonError {
    fn with_hint_path(mut self) -> Self {
        self.message
            .push_str(" (use --kpt-sigmas for other skeletons)");
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
    pub fn parse(
        path: &Path,
        buf: &[u8],
        gt: &Dataset,
        iou_type: IouType,
        k: usize,
    ) -> Result<GtShapes> {
        if iou_type == IouType::Bbox {
            return Ok(GtShapes::default());
        }
        let loc = |e: JsonError| located(path, buf, "", e);
        let span = match gt.annotations_span {
            // `buf` is the text `gt` was parsed from (checked cheaply: the span must hold an array).
            Some((a, b))
                if b <= buf.len() && buf.get(a) == Some(&b'[') && buf.get(b - 1) == Some(&b']') =>
            {
                Some((a, b))
            }
            _ => top_level_span(buf, "annotations").map_err(loc)?,
        };
        let Some((ao, ae)) = span else {
            return Err(Error::in_file(
                path,
                "",
                "missing top-level key \"annotations\"",
            ));
        };
        let segm = iou_type == IouType::Segm;
        enum Out {
            /// The mask, its facts and its intervals `runs[a..b]` in the chunk's runs.
            Mask(Rle, MaskInfo, u32, u32),
            Kp(Vec<f64>, bool),
        }
        let parse = |r: &mut Reader<'_>, runs: &mut Vec<(u32, u32)>| -> JResult<Out> {
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
                        seg = Some((
                            pos,
                            parse_segmentation(r).map_err(|e| e.in_key("segmentation"))?,
                        ));
                    }
                    "keypoints" if !segm => {
                        kps = Some(parse_gt_keypoints(r, k).map_err(|e| e.in_key("keypoints"))?)
                    }
                    "num_keypoints" if !segm => {
                        num = Some(r.int().map_err(|e| e.in_key("num_keypoints"))?)
                    }
                    _ => r.skip_value().map_err(|e| e.in_key(&key))?,
                }
            }
            if segm {
                // Annotations of images absent from `images` are never evaluated (nor converted).
                let Some(&img) = image_id.and_then(|id| gt.image_index.get(&id)) else {
                    return Ok(Out::Mask(Rle::default(), MaskInfo::default(), 0, 0));
                };
                let (pos, raw) = seg.ok_or_else(|| {
                    JsonError::new(
                        start,
                        "missing field \"segmentation\" (segm evaluation needs it)",
                    )
                })?;
                let mut rle = to_mask(raw, image_hw(gt, img), pos, buf)
                    .map_err(|e| e.in_key("segmentation"))?
                    .into_rle(buf);
                let info = rle.stats().info();
                let a = runs.len();
                if info.plain {
                    mask::runs_of(&rle.counts, runs);
                    // The runs say it all (see `GtShapes::masks`); the memory goes back to the
                    // next masks of this thread.
                    rle.counts = Vec::new();
                }
                let b = runs.len();
                if b > u32::MAX as usize {
                    return Err(JsonError::new(
                        start,
                        "too many mask runs in one part of the file",
                    ));
                }
                Ok(Out::Mask(rle, info, a as u32, b as u32))
            } else {
                let kps = kps.ok_or_else(|| {
                    JsonError::new(
                        start,
                        "missing field \"keypoints\" (keypoints evaluation needs it)",
                    )
                })?;
                let num = num.ok_or_else(|| JsonError::new(start, "missing field \"num_keypoints\" (pycocotools ignores GT with num_keypoints == 0)"))?;
                Ok(Out::Kp(kps, num == 0))
            }
        };
        let hint = if segm { SEGM_HINT } else { KPT_HINT };
        let (chunks, _) = json::parse_array_par_with(buf, ao, ae, parse)
            .map_err(|e| located(path, buf, "annotations", e).or_hint(hint))?;
        let mut s = GtShapes::default();
        let n: usize = chunks.iter().map(|(v, _)| v.len()).sum();
        if segm {
            s.masks.reserve(n);
            s.mask_info.reserve(n);
            s.run_span.reserve(n);
        }
        for (outs, runs) in chunks {
            let c = s.runs.len() as u32;
            s.runs.push(runs);
            for o in outs {
                match o {
                    Out::Mask(m, info, a, b) => {
                        s.masks.push(m);
                        s.mask_info.push(info);
                        s.run_span.push((c, a, b));
                    }
                    Out::Kp(v, z) => {
                        s.keypoints.extend_from_slice(&v);
                        s.no_keypoints.push(z);
                    }
                }
            }
        }
        Ok(s)
    }
}

/// Read a results file for segm or keypoints evaluation: the detections (as `Results`) and their
/// shapes, following loadRes' branches. `k` is the number of keypoints (sigmas).
pub fn load_results(
    path: &Path,
    gt: &Dataset,
    iou_type: IouType,
    k: usize,
) -> Result<(Results, DtShapes)> {
    let buf = crate::io::read_file(path)?;
    parse_results(path, buf, gt, iou_type, k)
}

const RES_HINT: &str = "expected a COCO results file: [{\"image_id\": 1, \"category_id\": 1, \"segmentation\": {\"size\": [h, w], \"counts\": \"...\"}, \"score\": 0.9}, ...] \
(keypoints: \"keypoints\": [x, y, v, ...])";

struct DetRaw {
    det: Detection,
    /// `bbox` key present and non-empty (loadRes' branch test).
    has_bbox: bool,
    /// A mask was read: the chunk's next one in `masks` (kept out of here: keypoint detections
    /// have none, and a small element keeps the per-chunk vectors small).
    has_mask: bool,
    /// Offset of the keypoints in the chunk's `kps`.
    kps: Option<usize>,
    /// For a detection with keypoints and no box: `det.bbox` already holds loadRes' box of the
    /// keypoints and this its area (computed on the parsing thread, not in the serial pass).
    kp_area: Option<f64>,
    start: usize,
}

/// What a chunk of the results file collects besides its [`DetRaw`]s.
#[derive(Default)]
struct DetChunk {
    kps: Vec<f64>,
    /// `category_id` of each detection whose category the GT lacks, in order.
    unknown_ids: Vec<super::Id>,
    masks: Vec<(MaskInfo, DetMaskSrc)>,
}

impl json::ChunkState for DetChunk {
    fn reserve_like_first(&mut self, n: usize) {
        self.kps.reserve_like_first(n);
        self.masks.reserve_like_first(n);
    }
}

/// Where a detection's mask is, before the masks of all chunks are put together.
enum DetMaskSrc {
    Text(usize, usize),
    Counts(Vec<u32>),
}

/// Parse a results file (`text`, kept by the returned [`DtShapes`] when detection masks point
/// into it).
pub fn parse_results(
    path: &Path,
    text: FileBytes,
    gt: &Dataset,
    iou_type: IouType,
    k: usize,
) -> Result<(Results, DtShapes)> {
    let buf: &[u8] = &text;
    check_file_start(path, buf, RES_HINT).map_err(|e| e.or_hint(RES_HINT))?;
    let mut r = Reader::new(buf);
    r.skip_ws();
    let open = r.pos();
    if buf.get(open) != Some(&b'[') {
        let e = r.begin_array().unwrap_err();
        return Err(located(
            path,
            buf,
            "",
            JsonError {
                message: format!(
                    "a results file must be a list of detections ({})",
                    e.message
                ),
                ..e
            },
        )
        .with_hint(RES_HINT));
    }
    let segm = iou_type == IouType::Segm;
    let parse_det = |r: &mut Reader<'_>, chunk: &mut DetChunk| -> JResult<DetRaw> {
        let arena = &mut chunk.kps;
        let start = r.pos();
        r.begin_object()?;
        let (mut image, mut category, mut bbox, mut score) = (None, None, None::<Xywh>, None);
        let (mut has_bbox, mut seg, mut kps) = (false, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(&mut first)? {
            match &*key {
                "image_id" => {
                    image = Some(super::read_result_image(r, gt).map_err(|e| e.in_key("image_id"))?)
                }
                "category_id" => {
                    category = Some(
                        super::read_result_category(r, gt).map_err(|e| e.in_key("category_id"))?,
                    )
                }
                "score" => score = Some(r.f64().map_err(|e| e.in_key("score"))?),
                "bbox" => {
                    r.skip_ws();
                    // `[]` counts as absent for the branch test (`not ann['bbox'] == []`).
                    let mut probe = Reader::at(r.buf(), r.pos());
                    let empty = probe.begin_array().is_ok()
                        && probe.next_element(&mut true).ok() == Some(false);
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
                    seg = Some((
                        pos,
                        parse_segmentation(r).map_err(|e| e.in_key("segmentation"))?,
                    ));
                }
                "keypoints" if !segm => {
                    // A repeated key replaces the earlier value, as in Python.
                    if let Some(off) = kps {
                        arena.truncate(off);
                    }
                    kps = Some(arena.len());
                    parse_det_keypoints(r, k, arena).map_err(|e| e.in_key("keypoints"))?;
                }
                _ => r.skip_value().map_err(|e| e.in_key(&key))?,
            }
        }
        let image = image.ok_or_else(|| JsonError::new(start, "missing field \"image_id\""))?;
        let (category, category_id) =
            category.ok_or_else(|| JsonError::new(start, "missing field \"category_id\""))?;
        let has_mask = seg.is_some();
        if let Some((pos, raw)) = seg {
            chunk.masks.push(
                match to_mask(raw, image_hw(gt, image), pos, buf)
                    .map_err(|e| e.in_key("segmentation"))?
                {
                    Mask::Text { span: (a, b), info } => (info, DetMaskSrc::Text(a, b)),
                    Mask::Counts(rle) => (rle.stats().info(), DetMaskSrc::Counts(rle.counts)),
                },
            );
        }
        if category == u32::MAX {
            chunk.unknown_ids.push(category_id);
        }
        let (mut bbox, mut kp_area) = (bbox.unwrap_or([0.0; 4]), None);
        if let (false, Some(off)) = (has_bbox, kps) {
            if let Some((b, a)) = box_from_keypoints(&chunk.kps[off..off + 2 * k]) {
                bbox = b;
                kp_area = Some(a);
            }
        }
        Ok(DetRaw {
            det: Detection {
                image,
                category,
                bbox,
                score: score.ok_or_else(|| JsonError::new(start, "missing field \"score\""))?,
            },
            has_bbox,
            has_mask,
            kps,
            kp_area,
            start,
        })
    };
    let hint = if segm { SEGM_HINT } else { KPT_HINT };
    let (chunks, end) =
        json::parse_array_par_with(buf, open, buf.len(), parse_det).map_err(|e| {
            let shape_err = e.path.contains(".segmentation") || e.path.contains(".keypoints");
            located(path, buf, "", e).or_hint(if shape_err { hint } else { RES_HINT })
        })?;
    let mut tail = Reader::at(buf, end);
    tail.expect_end()
        .map_err(|e| located(path, buf, "", e).or_hint(RES_HINT))?;

    // loadRes' branch, from the first element.
    let branch = match chunks.first().and_then(|(v, _)| v.first()) {
        None => ResultsBranch::Segm,
        Some(d) if d.has_bbox => ResultsBranch::Bbox,
        Some(d) if d.has_mask => ResultsBranch::Segm,
        Some(d) if d.kps.is_some() => ResultsBranch::Keypoints,
        Some(d) => {
            let need = if segm {
                "\"bbox\" or \"segmentation\""
            } else {
                "\"bbox\" or \"keypoints\""
            };
            return Err(located(path, buf, "[0]", JsonError::new(d.start, format!("the first detection has neither {}; pycocotools picks the results type from it", need))).with_hint(RES_HINT));
        }
    };
    let err_at = |i: usize, start: usize, msg: String| {
        located(path, buf, "", JsonError::new(start, msg).in_index(i)).with_hint(RES_HINT)
    };
    let n: usize = chunks.iter().map(|(v, _)| v.len()).sum();
    let mut areas = Vec::with_capacity(n);
    let mut dets = Vec::with_capacity(n);
    let mut masks_out = DtMasks::empty();
    let mut kps_out = DetKeypoints {
        stride: 2 * k,
        ..Default::default()
    };
    let mut unknown_category_ids = Vec::new();
    let mut i = 0;
    for (raws, chunk) in chunks {
        let DetChunk {
            kps: arena,
            masks: chunk_masks,
            unknown_ids,
        } = chunk;
        let mut chunk_masks = chunk_masks.into_iter();
        let mut unknown_ids = unknown_ids.into_iter();
        let chunk_first = i;
        for d in raws {
            let mut det = d.det;
            let mask = if d.has_mask { chunk_masks.next() } else { None };
            match branch {
                ResultsBranch::Bbox => {
                    if !d.has_bbox {
                        return Err(err_at(i, d.start, "missing field \"bbox\" (the first detection has one, so pycocotools reads every detection's box)".into()));
                    }
                    areas.push(det.area());
                }
                ResultsBranch::Segm => {
                    let Some((info, _)) = &mask else {
                        return Err(err_at(i, d.start, "missing field \"segmentation\" (the first detection has one, so pycocotools reads it from every detection)".into()));
                    };
                    areas.push(info.area as f64);
                    // loadRes sets `bbox = toBbox(mask)` when absent.
                    if !d.has_bbox {
                        det.bbox = info.bbox;
                    }
                }
                ResultsBranch::Keypoints => {
                    let pre = d.kp_area.map(|a| (det.bbox, a));
                    let Some((b, a)) = pre.or_else(|| {
                        d.kps
                            .and_then(|off| box_from_keypoints(&arena[off..off + 2 * k]))
                    }) else {
                        return Err(err_at(i, d.start, "missing or empty field \"keypoints\" (the first detection has keypoints, so pycocotools reads them from every detection)".into()));
                    };
                    det.bbox = b;
                    areas.push(a);
                }
            }
            if segm {
                let (info, src) = match mask {
                    Some(m) => m,
                    None if d.has_bbox => {
                        // loadRes' bbox branch: the box as the polygon [x1,y1, x1,y2, x2,y2, x2,y1].
                        let b = det.bbox;
                        let (x1, x2, y1, y2) = (b[0], b[0] + b[2], b[1], b[1] + b[3]);
                        let (h, w) = image_hw(gt, det.image)
                            .ok_or_else(|| err_at(i, d.start, "the image of this detection has no integer \"height\"/\"width\" (segm evaluation needs them)".into()))?;
                        let poly = [x1, y1, x1, y2, x2, y2, x2, y1];
                        mask::check_polygon(&poly)
                            .map_err(|e| err_at(i, d.start, format!("bbox: {}", e.0)))?;
                        let rle = mask::from_polygon(&poly, h, w);
                        (rle.stats().info(), DetMaskSrc::Counts(rle.counts))
                    }
                    None => {
                        return Err(err_at(
                            i,
                            d.start,
                            "missing field \"segmentation\" (segm evaluation needs it)".into(),
                        ))
                    }
                };
                masks_out.info.push(info);
                masks_out.src.push(match src {
                    DetMaskSrc::Text(a, b) => MaskSrc::Text(a, b),
                    DetMaskSrc::Counts(c) => {
                        let a = masks_out.counts.len();
                        masks_out.counts.extend_from_slice(&c);
                        MaskSrc::Counts(a, masks_out.counts.len())
                    }
                });
            } else {
                // Every detection of the chunk so far had its 2K values: they are dense.
                match d.kps {
                    Some(off) => debug_assert_eq!(off, (i - chunk_first) * 2 * k),
                    None => {
                        return Err(err_at(
                            i,
                            d.start,
                            "missing field \"keypoints\" (keypoints evaluation needs it)".into(),
                        ))
                    }
                }
            }
            if det.category == u32::MAX {
                unknown_category_ids.extend(unknown_ids.next().map(|id| (i as u32, id)));
            }
            dets.push(det);
            i += 1;
        }
        if !segm {
            kps_out.first.push(chunk_first);
            kps_out.chunks.push(arena);
        }
    }
    let unknown_category = unknown_category_ids.len();
    if masks_out.src.iter().any(|s| matches!(s, MaskSrc::Text(..))) {
        masks_out.text = text;
    }
    Ok((
        Results {
            detections: dets,
            unknown_category,
            unknown_category_ids,
        },
        DtShapes {
            branch,
            areas,
            masks: masks_out,
            keypoints: kps_out,
        },
    ))
}

/// Box and area that loadRes derives from result keypoints `[x0, y0, x1, y1, ...]`: min/max over
/// *all* x and y, unlabeled (0,0) points included. `None` for an empty list.
pub fn box_from_keypoints(kps: &[f64]) -> Option<([f64; 4], f64)> {
    if kps.len() < 2 {
        return None;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for p in kps.chunks_exact(2) {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    Some(([x0, y0, x1 - x0, y1 - y0], (x1 - x0) * (y1 - y0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain GT mask keeps only its runs, and its counts come back exactly where a pair
    /// needs them; a mask that is not plain keeps its counts.
    #[test]
    fn gt_masks_give_their_counts_back() {
        let ring_a = [2.0, 3.0, 20.5, 4.0, 18.0, 15.25, 3.5, 12.0];
        let ring_b = [22.0, 1.0, 29.0, 2.0, 25.0, 9.5];
        let text = format!(
            r#"{{"images": [{{"id": 1, "height": 20, "width": 30}}],
              "annotations": [
                {{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0, "segmentation": [{a:?}]}},
                {{"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0, "segmentation": [{a:?}, {b:?}]}},
                {{"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 1, "segmentation": {{"size": [20, 30], "counts": [5, 10, 3, 0, 2, 580]}}}},
                {{"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 1, "segmentation": {{"size": [20, 30], "counts": [0, 7, 93, 500]}}}},
                {{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0, "segmentation": [[0, 0, 0.5, 0, 0.5, 0.5]]}}],
              "categories": [{{"id": 1, "name": "a"}}]}}"#,
            a = ring_a.to_vec(),
            b = ring_b.to_vec()
        );
        let path = Path::new("gt.json");
        let gt = Dataset::parse(path, text.as_bytes()).unwrap();
        let gs = GtShapes::parse(path, text.as_bytes(), &gt, IouType::Segm, 17).unwrap();
        let (ra, rb) = (
            mask::from_polygon_reference(&ring_a, 20, 30),
            mask::from_polygon_reference(&ring_b, 20, 30),
        );
        let tiny = mask::from_polygon_reference(&[0.0, 0.0, 0.5, 0.0, 0.5, 0.5], 20, 30);
        let want: [Vec<u32>; 5] = [
            ra.counts.clone(),
            mask::merge(&[ra, rb], false).counts,
            vec![5, 10, 3, 0, 2, 580],
            vec![0, 7, 93, 500],
            tiny.counts,
        ];
        let mut buf = Vec::new();
        for (i, w) in want.iter().enumerate() {
            let plain = gs.mask_info[i].plain;
            assert_eq!(gs.mask(i, false, &mut buf).counts, &w[..], "mask {}", i);
            assert_eq!(gs.masks[i].counts.is_empty(), plain, "mask {}", i);
        }
        assert!(!gs.mask_info[2].plain && gs.mask_info[3].plain);
    }

    #[test]
    fn keypoint_box_includes_zero_points() {
        let (b, a) = box_from_keypoints(&[10.0, 20.0, 0.0, 0.0, 30.0, 25.0]).unwrap();
        assert_eq!(b, [0.0, 0.0, 30.0, 25.0]);
        assert_eq!(a, 750.0);
    }
}
