//! The COCO data model: ground-truth datasets (`instances_*.json`) and results files, read with
//! the parallel positioned JSON reader and validated field by field. Every bad value is reported
//! with the file, its JSON path and line:column. Semantics follow pycocotools' `COCO` and
//! `loadRes` (see docs/parity.md), e.g. result ids are always 1..N in file order.

pub mod shapes;

use crate::error::{Error, Result};
use crate::geom::Xywh;
use crate::io::json::{self, JResult, JsonError, Reader};
use rustc_hash::FxHashMap;
use std::path::Path;

/// Which annotation field is read and compared: boxes, masks (`segmentation`) or keypoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IouType {
    Bbox,
    Segm,
    Keypoints,
}

impl IouType {
    pub fn name(self) -> &'static str {
        match self {
            IouType::Bbox => "bbox",
            IouType::Segm => "segm",
            IouType::Keypoints => "keypoints",
        }
    }
}

/// COCO ids are JSON integers; they are kept exact up to 64 bits (and beyond, to i128).
pub type Id = i128;

#[derive(Debug, Clone)]
pub struct Image {
    pub id: Id,
    pub width: Option<f64>,
    pub height: Option<f64>,
    /// LVIS: categories verified absent from the image (`None` when the field is missing).
    pub neg_category_ids: Option<Vec<Id>>,
    /// LVIS: categories whose instances on the image are not all annotated.
    pub not_exhaustive_category_ids: Option<Vec<Id>>,
}

#[derive(Debug, Clone)]
pub struct Category {
    pub id: Id,
    pub name: String,
    /// LVIS: the frequency group `r`, `c` or `f` (`None` when the field is missing).
    pub frequency: Option<String>,
}

/// A ground-truth annotation, with the fields evaluation and matching use.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub id: Id,
    pub image_id: Id,
    pub category_id: Id,
    pub bbox: Xywh,
    /// The `area` field (segmentation area in COCO). pycocotools' area ranges use this, not the box.
    pub area: f64,
    pub iscrowd: bool,
    /// The `ignore` field, as Python truthiness (false when absent or not a number/bool).
    /// pycocotools overwrites it with `iscrowd`; the LVIS protocol reads it instead of `iscrowd`.
    pub ignore: bool,
}

/// A ground-truth dataset. `images`/`categories` keep file order; lookups go through the maps.
#[derive(Debug, Default)]
pub struct Dataset {
    pub images: Vec<Image>,
    pub annotations: Vec<Annotation>,
    pub categories: Vec<Category>,
    /// image id → index of the *last* image with that id (pycocotools keeps the last duplicate).
    pub image_index: FxHashMap<Id, u32>,
    pub category_index: FxHashMap<Id, u32>,
    /// `image_index` and `category_index` as tables indexed by id, when the ids are small
    /// (see [`DenseIds`]): each results file looks up two ids per detection.
    image_dense: DenseIds,
    category_dense: DenseIds,
    /// Where the `annotations` array is in the file text this was parsed from, so that
    /// segmentations and keypoints can be read from it without finding it again.
    pub annotations_span: Option<(usize, usize)>,
    /// Set when some annotation has no `iscrowd`: the error COCO evaluation reports (pycocotools
    /// reads the field), while the LVIS protocol, which never reads it, accepts the file.
    pub missing_iscrowd: Option<Error>,
}

/// An id → index map as a table indexed by id (entry = index + 1, 0 = absent), built only when
/// every id is in `0..2^21` (or below 4 x the count): then a lookup is one load instead of a
/// hash probe. Empty otherwise, and [`DenseIds::get`] says to ask the map.
#[derive(Debug, Clone, Default)]
struct DenseIds(Vec<u32>);

impl DenseIds {
    fn build(map: &FxHashMap<Id, u32>) -> DenseIds {
        let limit = (1i128 << 21).max(4 * map.len() as i128);
        if map.is_empty() || !map.keys().all(|&id| (0..limit).contains(&id)) {
            return DenseIds(Vec::new());
        }
        let max = map.keys().copied().max().unwrap_or(0) as usize;
        let mut t = vec![0u32; max + 1];
        for (&id, &i) in map {
            t[id as usize] = i + 1;
        }
        DenseIds(t)
    }
    /// `Some(index or None)` from the table; `None` when there is no table.
    #[inline]
    fn get(&self, id: Id) -> Option<Option<u32>> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            usize::try_from(id)
                .ok()
                .and_then(|i| self.0.get(i))
                .and_then(|&v| v.checked_sub(1)),
        )
    }
}

/// One detection of a results file, as pycocotools' `loadRes` sees it (bbox branch).
#[derive(Debug, Clone, Copy)]
pub struct Detection {
    /// Index into `Dataset::images`.
    pub image: u32,
    /// Index into `Dataset::categories`, or `u32::MAX` for a category absent from the GT.
    pub category: u32,
    pub bbox: Xywh,
    pub score: f64,
}

impl Detection {
    /// `area = w*h` as loadRes computes it for box results.
    #[inline]
    pub fn area(&self) -> f64 {
        self.bbox[2] * self.bbox[3]
    }
}

/// Detections plus what loading noticed.
#[derive(Debug, Default)]
pub struct Results {
    pub detections: Vec<Detection>,
    /// Detections whose category is not among the GT categories (pycocotools drops them silently).
    pub unknown_category: usize,
    /// `(detection index, category_id)` of those detections, in detection order: tidecv scores
    /// each such category as a class of its own.
    pub unknown_category_ids: Vec<(u32, Id)>,
}

impl Results {
    /// Build from all detections and, per parsed chunk, its detection count and the
    /// `category_id` of each of its unknown-category detections in order.
    pub(crate) fn from_joined(
        detections: Vec<Detection>,
        chunks: Vec<(usize, Vec<Id>)>,
    ) -> Results {
        let mut unknown_category_ids = Vec::new();
        let mut first = 0;
        for (n, ids) in chunks {
            if !ids.is_empty() {
                let unknown = detections[first..first + n]
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.category == u32::MAX)
                    .map(|(i, _)| (first + i) as u32);
                unknown_category_ids.extend(unknown.zip(ids));
            }
            first += n;
        }
        Results {
            unknown_category: unknown_category_ids.len(),
            detections,
            unknown_category_ids,
        }
    }
}

/// Turn a positioned JSON error into the crate error: `FILE: PATH (line L, column C): MESSAGE`.
pub fn located(path: &Path, buf: &[u8], prefix: &str, e: JsonError) -> Error {
    let (line, col) = json::line_col(buf, e.pos);
    let jpath = format!("{}{}", prefix, e.path);
    let loc = if jpath.is_empty() {
        format!("line {}, column {}", line, col)
    } else {
        format!("{} (line {}, column {})", jpath, line, col)
    };
    Error::in_file(path, &loc, e.message)
}

pub(crate) fn check_file_start(path: &Path, buf: &[u8], what: &str) -> Result<()> {
    if buf.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::in_file(path, "", "the file is empty").with_hint(what));
    }
    // JSON text never contains NUL bytes; images, archives and numpy files do, early on.
    if buf.iter().take(4096).any(|&b| b == 0) {
        return Err(
            Error::in_file(path, "", "this is not a JSON text (binary data)").with_hint(what),
        );
    }
    Ok(())
}

const GT_HINT: &str = "expected a COCO ground-truth file: {\"images\": [...], \"annotations\": [...], \"categories\": [...]}";
const RES_HINT: &str = "expected a COCO results file: [{\"image_id\": 1, \"category_id\": 1, \"bbox\": [x, y, w, h], \"score\": 0.9}, ...]";

/// Require a non-negative size value.
fn non_negative(r: &mut Reader<'_>, what: &str) -> JResult<f64> {
    let pos = r.pos();
    let v = r.f64()?;
    if v < 0.0 {
        return Err(JsonError::new(pos, format!("negative {} {}", what, v)));
    }
    Ok(v)
}

pub(crate) fn read_bbox(r: &mut Reader<'_>) -> JResult<Xywh> {
    let pos = r.pos();
    let b = r.f64x4()?;
    if b[2] < 0.0 || b[3] < 0.0 {
        return Err(JsonError::new(
            pos,
            format!("negative box size (width {}, height {})", b[2], b[3]),
        ));
    }
    Ok(b)
}

/// One box result (an element of a results file), as `loadRes`' bbox branch reads it; with
/// `fast`, the common layout first takes [`fast_box_result`]'s shortcut (same result).
pub(crate) fn parse_box_result(
    r: &mut Reader<'_>,
    gt: &Dataset,
    unknown_ids: &mut Vec<Id>,
    fast: bool,
) -> JResult<Detection> {
    if fast {
        if let Some(det) = fast_box_result(r, gt, unknown_ids) {
            return Ok(det);
        }
    }
    let start = r.pos();
    r.begin_object()?;
    let (mut image, mut category, mut bbox, mut score) = (None, None, None, None);
    let mut first = true;
    while let Some(k) = r.next_key(&mut first)? {
        match &*k {
            "image_id" => image = Some(read_result_image(r, gt).map_err(|e| e.in_key("image_id"))?),
            "category_id" => {
                category = Some(read_result_category(r, gt).map_err(|e| e.in_key("category_id"))?)
            }
            "bbox" => bbox = Some(read_bbox(r).map_err(|e| e.in_key("bbox"))?),
            "score" => score = Some(r.f64().map_err(|e| e.in_key("score"))?),
            _ => r.skip_value().map_err(|e| e.in_key(&k))?,
        }
    }
    let (category, category_id) =
        category.ok_or_else(|| JsonError::new(start, "missing field \"category_id\""))?;
    let det = Detection {
        image: image.ok_or_else(|| JsonError::new(start, "missing field \"image_id\""))?,
        category,
        bbox: bbox.ok_or_else(|| {
            JsonError::new(
                start,
                "missing field \"bbox\" (bbox evaluation needs [x, y, width, height])",
            )
        })?,
        score: score.ok_or_else(|| JsonError::new(start, "missing field \"score\""))?,
    };
    if category == u32::MAX {
        unknown_ids.push(category_id);
    }
    Ok(det)
}

/// The keys of a box result in the order writers use, with json.dump's separators and without
/// any: `{"image_id": I, "category_id": C, "bbox": [x, y, w, h], "score": S}`.
const BOX_RESULT_SPACED: [&[u8]; 5] = [
    b"{\"image_id\": ",
    b", \"category_id\": ",
    b", \"bbox\": ",
    b", \"score\": ",
    b"}",
];
const BOX_RESULT_COMPACT: [&[u8]; 5] = [
    b"{\"image_id\":",
    b",\"category_id\":",
    b",\"bbox\":",
    b",\"score\":",
    b"}",
];

/// A box result in exactly the layout of [`BOX_RESULT_SPACED`] or [`BOX_RESULT_COMPACT`],
/// read with the same value readers as the general path but without its key loop (a quarter of
/// a detection's parse). Anything else (other key order or spacing, extra or repeated keys, a
/// value the readers refuse) returns `None` with `r` untouched, and the general path parses
/// the object from the same place: it gives the same detection or the error.
#[inline]
fn fast_box_result(
    r: &mut Reader<'_>,
    gt: &Dataset,
    unknown_ids: &mut Vec<Id>,
) -> Option<Detection> {
    let mut t = Reader::at(r.buf(), r.pos());
    let lits = if t.eat(BOX_RESULT_SPACED[0]) {
        &BOX_RESULT_SPACED
    } else if t.eat(BOX_RESULT_COMPACT[0]) {
        &BOX_RESULT_COMPACT
    } else {
        return None;
    };
    let image = read_result_image(&mut t, gt).ok()?;
    if !t.eat(lits[1]) {
        return None;
    }
    let (category, category_id) = read_result_category(&mut t, gt).ok()?;
    if !t.eat(lits[2]) {
        return None;
    }
    let bbox = read_bbox(&mut t).ok()?;
    if !t.eat(lits[3]) {
        return None;
    }
    let score = t.f64().ok()?;
    if !t.eat(lits[4]) {
        return None;
    }
    *r = t;
    if category == u32::MAX {
        unknown_ids.push(category_id);
    }
    Some(Detection {
        image,
        category,
        bbox,
        score,
    })
}

fn missing(r: &Reader<'_>, start: usize, field: &str, what: &str) -> JsonError {
    let _ = r;
    JsonError::new(start, format!("missing field \"{}\" ({})", field, what))
}

/// A result's `image_id`, resolved to the GT image index. An id absent from the GT is bad input
/// (pycocotools' loadRes asserts on it).
pub(crate) fn read_result_image(r: &mut Reader<'_>, gt: &Dataset) -> JResult<u32> {
    let p = r.pos();
    let id = r.int()?;
    gt.image_of(id).ok_or_else(|| {
        JsonError::new(p, format!("image id {} is not in the ground truth (pycocotools: \"Results do not correspond to current coco set\")", id))
    })
}

/// A result's `category_id`, resolved to the GT category index, or `u32::MAX` for a category
/// the GT does not have (pycocotools drops those detections; the caller counts them).
pub(crate) fn read_result_category(r: &mut Reader<'_>, gt: &Dataset) -> JResult<(u32, Id)> {
    let id = r.int()?;
    Ok((gt.category_of(id).unwrap_or(u32::MAX), id))
}

fn parse_image(r: &mut Reader<'_>) -> JResult<Image> {
    let start = r.pos();
    r.begin_object()?;
    let (mut id, mut width, mut height) = (None, None, None);
    let (mut neg_category_ids, mut not_exhaustive_category_ids) = (None, None);
    let mut first = true;
    while let Some(k) = r.next_key(&mut first)? {
        match &*k {
            "id" => id = Some(r.int().map_err(|e| e.in_key("id"))?),
            "width" => width = Some(non_negative(r, "width").map_err(|e| e.in_key("width"))?),
            "height" => height = Some(non_negative(r, "height").map_err(|e| e.in_key("height"))?),
            "neg_category_ids" => {
                neg_category_ids = Some(id_list(r).map_err(|e| e.in_key("neg_category_ids"))?)
            }
            "not_exhaustive_category_ids" => {
                not_exhaustive_category_ids =
                    Some(id_list(r).map_err(|e| e.in_key("not_exhaustive_category_ids"))?)
            }
            _ => r.skip_value().map_err(|e| e.in_key(&k))?,
        }
    }
    let id = id.ok_or_else(|| missing(r, start, "id", "every image needs an integer id"))?;
    Ok(Image {
        id,
        width,
        height,
        neg_category_ids,
        not_exhaustive_category_ids,
    })
}

/// A JSON list of integer ids.
fn id_list(r: &mut Reader<'_>) -> JResult<Vec<Id>> {
    r.begin_array()?;
    let mut v = Vec::new();
    let mut first = true;
    while r.next_element(&mut first)? {
        let i = v.len();
        v.push(r.int().map_err(|e| e.in_index(i))?);
    }
    Ok(v)
}

/// Python truthiness of a number or bool; any other value reads as false (and is skipped).
fn truthy(r: &mut Reader<'_>) -> JResult<bool> {
    let mut probe = Reader::at(r.buf(), r.pos());
    match probe.bool_like() {
        Ok(b) => {
            *r = probe;
            Ok(b)
        }
        Err(_) => {
            r.skip_value()?;
            Ok(false)
        }
    }
}

fn parse_category(r: &mut Reader<'_>) -> JResult<Category> {
    let start = r.pos();
    r.begin_object()?;
    let (mut id, mut name, mut frequency) = (None, None, None);
    let mut first = true;
    while let Some(k) = r.next_key(&mut first)? {
        match &*k {
            "id" => id = Some(r.int().map_err(|e| e.in_key("id"))?),
            "name" => name = Some(r.string().map_err(|e| e.in_key("name"))?.into_owned()),
            "frequency" => {
                frequency = Some(r.string().map_err(|e| e.in_key("frequency"))?.into_owned())
            }
            _ => r.skip_value().map_err(|e| e.in_key(&k))?,
        }
    }
    let id = id.ok_or_else(|| missing(r, start, "id", "every category needs an integer id"))?;
    Ok(Category {
        id,
        name: name.unwrap_or_else(|| id.to_string()),
        frequency,
    })
}

/// How strictly annotations are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// `area` and `iscrowd` are required (pycocotools reads both).
    Strict,
    /// `area` is required, a missing `iscrowd` is 0 (LVIS files have none).
    NoCrowd,
    /// Anchor matching: a missing `area` is the box's `w*h` and a missing `iscrowd` is 0.
    Lenient,
}

fn parse_annotation_with(r: &mut Reader<'_>, mode: Strictness) -> JResult<Annotation> {
    let start = r.pos();
    r.begin_object()?;
    let (mut id, mut image_id, mut category_id, mut bbox, mut area, mut iscrowd) =
        (None, None, None, None, None, None);
    let mut ignore = false;
    let mut first = true;
    while let Some(k) = r.next_key(&mut first)? {
        match &*k {
            "id" => id = Some(r.int().map_err(|e| e.in_key("id"))?),
            "image_id" => image_id = Some(r.int().map_err(|e| e.in_key("image_id"))?),
            "category_id" => category_id = Some(r.int().map_err(|e| e.in_key("category_id"))?),
            "bbox" => bbox = Some(read_bbox(r).map_err(|e| e.in_key("bbox"))?),
            "area" => area = Some(non_negative(r, "area").map_err(|e| e.in_key("area"))?),
            "iscrowd" => iscrowd = Some(r.bool_like().map_err(|e| e.in_key("iscrowd"))?),
            "ignore" => ignore = truthy(r).map_err(|e| e.in_key("ignore"))?,
            _ => r.skip_value().map_err(|e| e.in_key(&k))?,
        }
    }
    if mode != Strictness::Strict {
        iscrowd = iscrowd.or(Some(false));
    }
    if mode == Strictness::Lenient {
        if area.is_none() {
            area = bbox.map(|b: Xywh| b[2] * b[3]);
        }
    }
    Ok(Annotation {
        id: id.ok_or_else(|| missing(r, start, "id", "pycocotools indexes annotations by id"))?,
        image_id: image_id
            .ok_or_else(|| missing(r, start, "image_id", "every annotation belongs to an image"))?,
        category_id: category_id
            .ok_or_else(|| missing(r, start, "category_id", "every annotation has a category"))?,
        bbox: bbox.ok_or_else(|| {
            missing(
                r,
                start,
                "bbox",
                "[x, y, width, height] is needed for bbox evaluation",
            )
        })?,
        area: area.ok_or_else(|| {
            missing(
                r,
                start,
                "area",
                "pycocotools' area ranges use the annotation's area field",
            )
        })?,
        iscrowd: iscrowd.ok_or_else(|| {
            missing(
                r,
                start,
                "iscrowd",
                "pycocotools reads iscrowd of every ground-truth annotation; use 0",
            )
        })?,
        ignore,
    })
}

impl Dataset {
    /// Read and validate a COCO ground-truth file.
    pub fn load(path: &Path) -> Result<Dataset> {
        let timer = crate::progress::PhaseTimer::from_env();
        let buf = crate::io::read_file(path)?;
        timer.lap("read GT file");
        let d = Dataset::parse(path, &buf);
        timer.lap("parse GT");
        d
    }

    /// Read a ground-truth file for anchor matching: like [`Dataset::load`], but annotations
    /// may omit `area` (then `w*h`) and `iscrowd` (then 0).
    pub fn load_lenient(path: &Path) -> Result<Dataset> {
        let buf = crate::io::read_file(path)?;
        Dataset::parse_with(path, &buf, Strictness::Lenient)
    }

    /// Parse a ground-truth file. Annotations without `iscrowd` are accepted (as 0) and noted in
    /// [`Dataset::missing_iscrowd`]: COCO evaluation refuses them, the LVIS protocol does not.
    pub fn parse(path: &Path, buf: &[u8]) -> Result<Dataset> {
        match Dataset::parse_with(path, buf, Strictness::Strict) {
            Err(e) if e.message.contains("missing field \"iscrowd\"") => {
                let mut d = Dataset::parse_with(path, buf, Strictness::NoCrowd)?;
                d.missing_iscrowd = Some(e);
                Ok(d)
            }
            other => other,
        }
    }

    fn parse_with(path: &Path, buf: &[u8], strict: Strictness) -> Result<Dataset> {
        check_file_start(path, buf, GT_HINT).map_err(|e| e.or_hint(GT_HINT))?;
        let loc = |e: JsonError| located(path, buf, "", e).or_hint(GT_HINT);
        // Pass 1: find the three arrays (the last occurrence of a key wins, as in Python).
        let mut r = Reader::new(buf);
        let mut spans: [Option<(usize, usize)>; 3] = [None; 3];
        r.begin_object().map_err(|e| {
            loc(JsonError {
                message: format!("the top level must be an object ({})", e.message),
                ..e
            })
        })?;
        let mut first = true;
        let mut annotations = None;
        let parse_ann = |r: &mut Reader<'_>| parse_annotation_with(r, strict);
        while let Some(k) = r.next_key(&mut first).map_err(loc)? {
            let slot = match &*k {
                "images" => Some(0),
                "annotations" => Some(1),
                "categories" => Some(2),
                _ => None,
            };
            match slot {
                Some(1) => {
                    // The big array is parsed where it stands (its end is found by the parse),
                    // saving a skip over most of the file. A parse error sends it back to the
                    // path of the other arrays, which reports it only if this key is the last.
                    r.skip_ws();
                    let open = r.pos();
                    match json::parse_array_par(buf, open, buf.len(), parse_ann) {
                        Ok((anns, end)) => {
                            annotations = Some(anns);
                            spans[1] = Some((open, end));
                            r = Reader::at(buf, end);
                        }
                        Err(_) => {
                            annotations = None;
                            r.fast_skip().map_err(|e| loc(e.in_key(&k)))?;
                            spans[1] = Some((open, r.pos()));
                        }
                    }
                }
                Some(s) => {
                    r.skip_ws();
                    let open = r.pos();
                    r.fast_skip().map_err(|e| loc(e.in_key(&k)))?;
                    spans[s] = Some((open, r.pos()));
                }
                None => r.skip_value().map_err(|e| loc(e.in_key(&k)))?,
            }
        }
        r.expect_end().map_err(loc)?;
        let names = ["images", "annotations", "categories"];
        for (i, s) in spans.iter().enumerate() {
            if s.is_none() {
                return Err(Error::in_file(
                    path,
                    "",
                    format!("missing top-level key \"{}\"", names[i]),
                )
                .with_hint(GT_HINT));
            }
        }
        let (io, ie) = spans[0].unwrap_or_default();
        let (ao, ae) = spans[1].unwrap_or_default();
        let (co, ce) = spans[2].unwrap_or_default();
        let pre = |name: &str, e: JsonError| located(path, buf, name, e).or_hint(GT_HINT);
        let (images, _) =
            json::parse_array_par(buf, io, ie, parse_image).map_err(|e| pre("images", e))?;
        let annotations = match annotations {
            Some(a) => a,
            None => {
                json::parse_array_par(buf, ao, ae, parse_ann)
                    .map_err(|e| pre("annotations", e))?
                    .0
            }
        };
        let (categories, _) =
            json::parse_array_par(buf, co, ce, parse_category).map_err(|e| pre("categories", e))?;

        let mut image_index = FxHashMap::default();
        image_index.reserve(images.len());
        for (i, im) in images.iter().enumerate() {
            image_index.insert(im.id, i as u32);
        }
        let mut category_index = FxHashMap::default();
        for (i, c) in categories.iter().enumerate() {
            category_index.insert(c.id, i as u32);
        }
        Ok(Dataset {
            images,
            annotations,
            categories,
            image_dense: DenseIds::build(&image_index),
            category_dense: DenseIds::build(&category_index),
            image_index,
            category_index,
            annotations_span: Some((ao, ae)),
            missing_iscrowd: None,
        })
    }

    /// The index of image `id` (the last image with that id), as `image_index` gives it.
    #[inline]
    pub fn image_of(&self, id: Id) -> Option<u32> {
        self.image_dense
            .get(id)
            .unwrap_or_else(|| self.image_index.get(&id).copied())
    }

    /// The index of category `id`, as `category_index` gives it.
    #[inline]
    pub fn category_of(&self, id: Id) -> Option<u32> {
        self.category_dense
            .get(id)
            .unwrap_or_else(|| self.category_index.get(&id).copied())
    }

    /// Sorted unique image ids (pycocotools' `sorted(getImgIds())`).
    pub fn sorted_image_ids(&self) -> Vec<Id> {
        let mut v: Vec<Id> = self.image_index.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Sorted unique category ids.
    pub fn sorted_category_ids(&self) -> Vec<Id> {
        let mut v: Vec<Id> = self.category_index.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

impl Results {
    /// Read a results file (a JSON list of detections) against `gt`.
    pub fn load(path: &Path, gt: &Dataset) -> Result<Results> {
        let timer = crate::progress::PhaseTimer::from_env();
        let buf = crate::io::read_file(path)?;
        timer.lap("read results file");
        let r = Results::parse(path, &buf, gt);
        timer.lap("parse results");
        r
    }

    pub fn parse(path: &Path, buf: &[u8], gt: &Dataset) -> Result<Results> {
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
        let parse_det = |r: &mut Reader<'_>, unknown_ids: &mut Vec<Id>| {
            parse_box_result(r, gt, unknown_ids, true)
        };
        let (detections, chunks, end) =
            json::parse_array_par_joined(buf, open, buf.len(), json::MIN_CHUNK, parse_det)
                .map_err(|e| located(path, buf, "", e).or_hint(RES_HINT))?;
        let mut tail = Reader::at(buf, end);
        tail.expect_end()
            .map_err(|e| located(path, buf, "", e).or_hint(RES_HINT))?;
        Ok(Results::from_joined(detections, chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GT: &str = r#"{"info": {"x": [1, {"y": null}]},
      "images": [{"id": 1, "width": 10, "height": 20}, {"id": 9007199254740993}],
      "annotations": [{"id": 5, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 0,
                       "segmentation": [[1, 2, 3, 4, 5, 6]]}],
      "categories": [{"id": 3, "name": "cat"}]}"#;

    #[test]
    fn box_result_shortcut_equals_the_general_parse() {
        let d = Dataset::parse(Path::new("gt.json"), GT.as_bytes()).unwrap();
        let mut rng = crate::rng::SplitMix64::from_state(29);
        let keys = ["image_id", "category_id", "bbox", "score", "extra"];
        let values: [&[&str]; 5] = [
            &["1", "9007199254740993", "2", "1.0", "-1", "\"1\"", "1e400"],
            &["3", "77", "3.5", "null", "99999999999999999999999"],
            &[
                "[1, 2, 3, 4]",
                "[1.5,2.25,3e2,4E-1]",
                "[1, 2, -3, 4]",
                "[1, 2, 3]",
                "[1, 2, 3, 4, 5]",
                "[ 1 , 2 , 3 , 4 ]",
                "[0.1, 0.2, 1e400, 4]",
                "{}",
            ],
            &[
                "0.5",
                "-0.0",
                "1",
                "9.999999999999999e22",
                "null",
                "1e-400",
                "\"x\"",
            ],
            &["[[1]]", "{\"a\": 1}", "\"s\""],
        ];
        let seps = [
            (", ", ": "),
            (",", ":"),
            (" , ", " : "),
            (", ", ":  "),
            (",\n", ": "),
        ];
        for case in 0..4000 {
            // Mostly the writers' layout (four keys in order), sometimes reordered, repeated,
            // with an extra key, a missing one or another spacing.
            let mut order: Vec<usize> = vec![0, 1, 2, 3];
            match rng.below(6) {
                0 => order.swap(rng.below(4) as usize, rng.below(4) as usize),
                1 => order.insert(rng.below(5) as usize, 4),
                2 => order.push(rng.below(4) as usize),
                3 => {
                    order.remove(rng.below(4) as usize);
                }
                _ => {}
            }
            let (comma, colon) = if rng.below(4) == 0 {
                seps[rng.below(seps.len() as u64) as usize]
            } else {
                seps[rng.below(2) as usize]
            };
            let mut text = String::from(if rng.below(10) == 0 { " {" } else { "{" });
            for (i, &k) in order.iter().enumerate() {
                if i > 0 {
                    text.push_str(comma);
                }
                let pool = values[k];
                // The first value of each pool most of the time, so that many cases pass.
                let v = if rng.below(3) == 0 {
                    pool[rng.below(pool.len() as u64) as usize]
                } else {
                    pool[0]
                };
                text.push_str(&format!("\"{}\"{}{}", keys[k], colon, v));
            }
            text.push_str(["}", " }", "}, {", ""][rng.below(4) as usize]);
            let [fast, general] = crate::fuzzing::box_result_both_ways(text.as_bytes(), 0, &d);
            assert_eq!(fast, general, "case {}: {}", case, text);
        }
    }

    #[test]
    fn dense_id_tables_answer_as_the_maps() {
        let mut rng = crate::rng::SplitMix64::from_state(17);
        for case in 0..300 {
            let n = rng.below(50) as usize;
            // Small ids (a table), then ones with a negative or a huge id (the map).
            let big = match case % 3 {
                0 => 0,
                1 => -1 - rng.below(5) as i128,
                _ => (1i128 << 21) + rng.below(1 << 40) as i128,
            };
            let mut map: FxHashMap<Id, u32> = FxHashMap::default();
            for i in 0..n {
                let id = if i == 0 && big != 0 {
                    big
                } else {
                    rng.below(3000) as i128
                };
                map.insert(id, i as u32);
            }
            let dense = DenseIds::build(&map);
            assert_eq!(
                dense.0.is_empty(),
                map.is_empty() || big != 0,
                "case {}",
                case
            );
            for probe in (-3..3100).chain([big, i128::MAX, i128::MIN, 1 << 21]) {
                let want = map.get(&probe).copied();
                assert_eq!(
                    dense.get(probe).unwrap_or(want),
                    want,
                    "case {} id {}",
                    case,
                    probe
                );
            }
        }
    }

    #[test]
    fn loads_gt_with_exact_ids() {
        let d = Dataset::parse(Path::new("gt.json"), GT.as_bytes()).unwrap();
        assert_eq!(d.images.len(), 2);
        assert_eq!(d.images[1].id, 9007199254740993);
        assert!(d.image_index.contains_key(&9007199254740993));
        assert!(!d.image_index.contains_key(&9007199254740992));
        assert_eq!(d.annotations[0].bbox, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.annotations[0].area, 12.5);
        assert_eq!(d.categories[0].name, "cat");
    }

    #[test]
    fn results_errors_name_the_path() {
        let d = Dataset::parse(Path::new("gt.json"), GT.as_bytes()).unwrap();
        let e = Results::parse(
            Path::new("r.json"),
            br#"[{"image_id": 1, "category_id": 3, "bbox": [1,2,3], "score": 1}]"#,
            &d,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("r.json: [0].bbox (line 1, column 43): expected 4 numbers"),
            "{}",
            e.message
        );
        let e = Results::parse(
            Path::new("r.json"),
            br#"[{"image_id": 2, "category_id": 3, "bbox": [1,2,3,4], "score": 1}]"#,
            &d,
        )
        .unwrap_err();
        assert!(
            e.message.contains("[0].image_id") && e.message.contains("not in the ground truth"),
            "{}",
            e.message
        );
        let e = Results::parse(
            Path::new("r.json"),
            br#"[{"image_id": 1, "category_id": 3, "bbox": [1,2,3,4], "score": NaN}]"#,
            &d,
        )
        .unwrap_err();
        assert!(
            e.message.contains("[0].score") && e.message.contains("NaN"),
            "{}",
            e.message
        );
        let r = Results::parse(
            Path::new("r.json"),
            br#"[{"image_id": 1, "category_id": 7, "bbox": [1,2,3,4], "score": 1}]"#,
            &d,
        )
        .unwrap();
        assert_eq!(r.unknown_category, 1);
        assert_eq!(r.unknown_category_ids, vec![(0, 7)]);
    }

    #[test]
    fn unknown_category_ids_survive_parallel_chunks() {
        // ~2 MB of results: parsed in several chunks; every 997th detection has an unknown
        // category, and a repeated key keeps only its last value (as in Python).
        let d = Dataset::parse(Path::new("gt.json"), GT.as_bytes()).unwrap();
        let mut text = String::from("[");
        let mut want = Vec::new();
        for i in 0..20000u32 {
            let cat = if i % 997 == 5 {
                1000 + (i % 3) as i128
            } else {
                3
            };
            if cat != 3 {
                want.push((i, cat));
            }
            let sep = if i == 0 { "" } else { ",\n" };
            text.push_str(&format!("{}{{\"image_id\": 1, \"category_id\": 77, \"category_id\": {}, \"bbox\": [1.5, 2.25, 3.125, 4.0625], \"score\": 0.123456789}}", sep, cat));
        }
        text.push(']');
        let r = Results::parse(Path::new("r.json"), text.as_bytes(), &d).unwrap();
        assert_eq!(r.detections.len(), 20000);
        assert_eq!(r.unknown_category, want.len());
        assert_eq!(r.unknown_category_ids, want);
    }
}
