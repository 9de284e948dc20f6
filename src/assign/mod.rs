//! Anchor → ground-truth assignment over a COCO dataset, per framework convention: resize
//! arithmetic and GT preparation ([`gt`]), the matcher ([`matcher`]), box targets (the box
//! coder in [`crate::geom::xyxy`]) and the coverage statistics that tell whether the anchors fit
//! the data ([`Stats`]). Images are processed in parallel in fixed-size chunks and reduced in
//! image order with integer counts, so memory is flat in the number of images and the result
//! does not depend on the thread count.

pub mod gt;
pub mod matcher;

use crate::anchors::{AnchorConfig, Convention, Grid};
use crate::coco::{Annotation, Dataset, Id, Image};
use crate::error::{Error, Result};
use crate::geom::Xywh;
use crate::io::npz::{write_npz, NpzEntry};
use crate::progress::Progress;
use gt::{ImageGt, Resize};
use matcher::{match_image, MatchParams, Matching};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::path::PathBuf;

/// COCO's area ranges (pycocotools `areaRng`): small < 32², medium < 96², large beyond.
pub const SMALL_AREA: f64 = 32.0 * 32.0;
pub const MEDIUM_AREA: f64 = 96.0 * 96.0;
/// Edges (sqrt of the box area in network-input pixels) of the coverage-by-size bins.
pub const SIZE_EDGES: [f64; 14] = [
    0.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0, 384.0, 512.0,
];
/// How many worst-covered boxes are reported by default.
pub const DEFAULT_WORST: usize = 10;
/// Images per parallel chunk; bounds memory whatever the dataset size.
const CHUNK: usize = 256;

/// Everything `assign` needs, validated.
#[derive(Debug, Clone)]
pub struct AssignConfig {
    pub anchors: AnchorConfig,
    pub pos_iou: f32,
    pub neg_iou: f32,
    /// `None`: the convention's default (on in all four RetinaNets).
    pub low_quality: Option<bool>,
    pub resize: Option<Resize>,
    pub image_ids: Option<Vec<Id>>,
    pub max_images: Option<usize>,
    pub out_dir: Option<PathBuf>,
    pub worst: usize,
}

impl AssignConfig {
    pub fn new(convention: Convention) -> AssignConfig {
        AssignConfig {
            anchors: AnchorConfig::new(convention),
            pos_iou: 0.5,
            neg_iou: 0.4,
            low_quality: None,
            resize: Some(Resize {
                short: 800,
                max: 1333,
            }),
            image_ids: None,
            max_images: None,
            out_dir: None,
            worst: DEFAULT_WORST,
        }
    }

    pub fn match_params(&self) -> MatchParams {
        MatchParams {
            convention: self.anchors.convention,
            pos_iou: self.pos_iou,
            neg_iou: self.neg_iou,
            low_quality: self.low_quality.unwrap_or(true),
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.anchors.validate()?;
        let ok = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        if !ok(self.pos_iou) || !ok(self.neg_iou) || self.neg_iou > self.pos_iou {
            return Err(Error::input(format!(
                "--pos-iou {} / --neg-iou {}: need 0 <= neg <= pos <= 1",
                self.pos_iou, self.neg_iou
            ))
            .with_hint("RetinaNet uses --pos-iou 0.5 --neg-iou 0.4"));
        }
        if let Some(r) = self.resize {
            if r.short == 0 || r.max == 0 || r.short > 16384 || r.max > 16384 {
                return Err(Error::input(format!(
                    "--resize {},{}: sizes must be between 1 and 16384",
                    r.short, r.max
                ))
                .with_hint("e.g. --resize 800,1333, or --no-resize"));
            }
        }
        if self.max_images == Some(0) {
            return Err(Error::input("--max-images must be at least 1"));
        }
        Ok(())
    }
}

/// Counts of one pyramid level (summed over images).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LevelCounts {
    pub level: u32,
    pub anchors: u64,
    pub foreground: u64,
    pub ignored: u64,
    pub background: u64,
}

/// GT boxes with at least one foreground anchor, for one size class.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Coverage {
    pub label: String,
    pub gt: u64,
    pub covered: u64,
    /// covered / gt (null-free: 0 when there is no GT).
    pub share: f64,
}

/// One coverage-by-size bin (sqrt of the box area in network-input pixels).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SizeBin {
    pub lo: f64,
    pub hi: Option<f64>,
    pub gt: u64,
    pub covered: u64,
}

/// A GT box with few or no foreground anchors.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorstBox {
    #[serde(serialize_with = "ser_id")]
    pub image_id: Id,
    #[serde(serialize_with = "ser_id")]
    pub annotation_id: Id,
    /// Width and height in the original image (COCO pixels).
    pub width: f64,
    pub height: f64,
    pub foreground_anchors: u64,
    pub best_iou: f32,
    #[serde(skip)]
    order: (usize, usize),
}

fn ser_id<S: serde::Serializer>(id: &Id, s: S) -> std::result::Result<S::Ok, S::Error> {
    match i64::try_from(*id) {
        Ok(v) => s.serialize_i64(v),
        Err(_) => s.serialize_str(&id.to_string()),
    }
}

/// The statistics `assign` reports.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub convention: String,
    pub low_quality: bool,
    pub pos_iou: f32,
    pub neg_iou: f32,
    pub resize: Option<[u32; 2]>,
    pub images: u64,
    pub images_without_gt: u64,
    pub gt: u64,
    pub crowd_dropped: u64,
    pub empty_dropped: u64,
    pub anchors: u64,
    pub anchors_per_image_min: u64,
    pub anchors_per_image_max: u64,
    pub foreground: u64,
    pub ignored: u64,
    pub background: u64,
    /// Detectron only: foreground before its IoU < neg overwrite (`retnet_fg_num` − 1 summed).
    pub foreground_before_overwrite: u64,
    pub levels: Vec<LevelCounts>,
    /// all / small / medium / large (COCO area of the original box, w × h).
    pub coverage: Vec<Coverage>,
    /// GT boxes whose foreground anchors all come from the low-quality rule.
    pub gt_low_quality_only: u64,
    pub mean_foreground_per_gt: f64,
    /// GT boxes whose best IoU over all anchors is ≥ `pos_iou` (with or without low-quality
    /// matches: the best IoU does not depend on them), and that count over `gt`.
    pub gt_best_iou_at_least_pos: u64,
    pub recall: f64,
    /// Mean over GT boxes of the best IoU (f32 values summed in f64, image order, GT order).
    pub mean_best_iou: f64,
    /// Counts of each GT's best IoU over all anchors in bins of 0.1 ([0, .1), …, [.9, 1]).
    pub best_iou_histogram: Vec<u64>,
    pub coverage_by_size: Vec<SizeBin>,
    pub worst: Vec<WorstBox>,
    #[serde(skip)]
    gt_foreground_anchors: u64,
    #[serde(skip)]
    best_iou_sum: f64,
}

impl Stats {
    fn empty(cfg: &AssignConfig) -> Stats {
        let p = cfg.match_params();
        Stats {
            convention: cfg.anchors.convention.name().to_string(),
            low_quality: p.low_quality,
            pos_iou: p.pos_iou,
            neg_iou: p.neg_iou,
            resize: cfg.resize.map(|r| [r.short, r.max]),
            best_iou_histogram: vec![0; 10],
            levels: cfg
                .anchors
                .levels
                .iter()
                .map(|&l| LevelCounts {
                    level: l,
                    ..Default::default()
                })
                .collect(),
            coverage: ["all", "small", "medium", "large"]
                .iter()
                .map(|l| Coverage {
                    label: l.to_string(),
                    ..Default::default()
                })
                .collect(),
            coverage_by_size: (0..SIZE_EDGES.len())
                .map(|i| SizeBin {
                    lo: SIZE_EDGES[i],
                    hi: SIZE_EDGES.get(i + 1).copied(),
                    gt: 0,
                    covered: 0,
                })
                .collect(),
            anchors_per_image_min: u64::MAX,
            ..Default::default()
        }
    }

    fn finish(&mut self) {
        for c in &mut self.coverage {
            c.share = if c.gt > 0 {
                c.covered as f64 / c.gt as f64
            } else {
                0.0
            };
        }
        self.mean_foreground_per_gt = if self.gt > 0 {
            self.gt_foreground_anchors as f64 / self.gt as f64
        } else {
            0.0
        };
        self.recall = if self.gt > 0 {
            self.gt_best_iou_at_least_pos as f64 / self.gt as f64
        } else {
            0.0
        };
        self.mean_best_iou = if self.gt > 0 {
            self.best_iou_sum / self.gt as f64
        } else {
            0.0
        };
        if self.anchors_per_image_min == u64::MAX {
            self.anchors_per_image_min = 0;
        }
    }

    fn add_worst(&mut self, mut more: Vec<WorstBox>, k: usize) {
        self.worst.append(&mut more);
        self.worst.sort_by(|a, b| {
            a.foreground_anchors
                .cmp(&b.foreground_anchors)
                .then(a.best_iou.total_cmp(&b.best_iou))
                .then(a.order.cmp(&b.order))
        });
        self.worst.truncate(k);
    }
}

fn size_bin(side: f64) -> usize {
    SIZE_EDGES.iter().rposition(|&e| side >= e).unwrap_or(0)
}

/// Accumulate one image's matching into `s`.
/// `image`: (id, position in the processing order, for a deterministic worst-box order).
fn image_stats(
    s: &mut Stats,
    grid: &Grid,
    g: &ImageGt,
    m: &Matching,
    (image_id, image_order): (Id, usize),
    resized: &gt::Resized,
    worst_k: usize,
) {
    s.images += 1;
    s.images_without_gt += g.boxes.is_empty() as u64;
    s.gt += g.boxes.len() as u64;
    s.crowd_dropped += g.crowd_dropped as u64;
    s.empty_dropped += g.empty_dropped as u64;
    s.anchors += grid.total as u64;
    s.anchors_per_image_min = s.anchors_per_image_min.min(grid.total as u64);
    s.anchors_per_image_max = s.anchors_per_image_max.max(grid.total as u64);
    s.foreground_before_overwrite += m.fg_before_overwrite as u64;
    let mut level_fg = vec![0u64; grid.levels.len()];
    let mut level_ign = vec![0u64; grid.levels.len()];
    let mut fg_per_gt = vec![0u64; g.boxes.len()];
    let mut strong_per_gt = vec![0u64; g.boxes.len()];
    for h in &m.hits {
        let (li, _, _, _) = grid.locate(h.anchor);
        if h.fg {
            level_fg[li] += 1;
            fg_per_gt[h.gt as usize] += 1;
            strong_per_gt[h.gt as usize] += !h.low_quality as u64;
        } else {
            level_ign[li] += 1;
        }
    }
    for (li, l) in grid.levels.iter().enumerate() {
        let c = &mut s.levels[li];
        c.anchors += l.count() as u64;
        c.foreground += level_fg[li];
        c.ignored += level_ign[li];
        c.background += l.count() as u64 - level_fg[li] - level_ign[li];
    }
    let fg: u64 = level_fg.iter().sum();
    let ign: u64 = level_ign.iter().sum();
    s.foreground += fg;
    s.ignored += ign;
    s.background += grid.total as u64 - fg - ign;
    let mut worst = Vec::new();
    for j in 0..g.boxes.len() {
        let covered = fg_per_gt[j] > 0;
        let (w, h) = g.orig_wh[j];
        let a = w * h;
        let class = if a < SMALL_AREA {
            1
        } else if a < MEDIUM_AREA {
            2
        } else {
            3
        };
        for k in [0, class] {
            s.coverage[k].gt += 1;
            s.coverage[k].covered += covered as u64;
        }
        let side = ((w * resized.sx) * (h * resized.sy)).sqrt();
        let b = &mut s.coverage_by_size[size_bin(side)];
        b.gt += 1;
        b.covered += covered as u64;
        s.gt_low_quality_only += (covered && strong_per_gt[j] == 0) as u64;
        s.gt_foreground_anchors += fg_per_gt[j];
        let best = m.gt_best_iou[j];
        s.gt_best_iou_at_least_pos += (best >= s.pos_iou) as u64;
        s.best_iou_sum += best as f64;
        s.best_iou_histogram[((best * 10.0) as usize).min(9)] += 1;
        worst.push(WorstBox {
            image_id,
            annotation_id: g.ann_ids[j],
            width: w,
            height: h,
            foreground_anchors: fg_per_gt[j],
            best_iou: best,
            order: (image_order, j),
        });
    }
    s.add_worst(worst, worst_k);
}

fn merge(into: &mut Stats, s: Stats, k: usize) {
    into.images += s.images;
    into.images_without_gt += s.images_without_gt;
    into.gt += s.gt;
    into.crowd_dropped += s.crowd_dropped;
    into.empty_dropped += s.empty_dropped;
    into.anchors += s.anchors;
    into.anchors_per_image_min = into.anchors_per_image_min.min(s.anchors_per_image_min);
    into.anchors_per_image_max = into.anchors_per_image_max.max(s.anchors_per_image_max);
    into.foreground += s.foreground;
    into.ignored += s.ignored;
    into.background += s.background;
    into.foreground_before_overwrite += s.foreground_before_overwrite;
    for (a, b) in into.levels.iter_mut().zip(s.levels) {
        a.anchors += b.anchors;
        a.foreground += b.foreground;
        a.ignored += b.ignored;
        a.background += b.background;
    }
    for (a, b) in into.coverage.iter_mut().zip(s.coverage) {
        a.gt += b.gt;
        a.covered += b.covered;
    }
    for (a, b) in into.coverage_by_size.iter_mut().zip(s.coverage_by_size) {
        a.gt += b.gt;
        a.covered += b.covered;
    }
    into.gt_low_quality_only += s.gt_low_quality_only;
    into.gt_foreground_anchors += s.gt_foreground_anchors;
    into.gt_best_iou_at_least_pos += s.gt_best_iou_at_least_pos;
    // Images are merged in processing order, so this sum does not depend on the thread count.
    into.best_iou_sum += s.best_iou_sum;
    for (a, b) in into.best_iou_histogram.iter_mut().zip(s.best_iou_histogram) {
        *a += b;
    }
    into.add_worst(s.worst, k);
}

/// The per-anchor arrays `--out-dir` writes: labels (class index / -1 bg / -2 ignored), matched
/// annotation ids (-1 unless foreground), targets (zeros unless foreground).
pub struct AnchorTargets {
    pub labels: Array1<i32>,
    pub matched: Array1<i64>,
    pub targets: Array2<f32>,
}

/// Label value of an ignored anchor.
pub const IGNORED: i32 = -2;
/// Label value of a background anchor.
pub const BACKGROUND: i32 = -1;

pub fn anchor_targets(grid: &Grid, g: &ImageGt, m: &Matching) -> Result<AnchorTargets> {
    let n = grid.total;
    let mut labels = Array1::from_elem(n, BACKGROUND);
    let mut matched = Array1::from_elem(n, -1i64);
    let mut targets = Array2::<f32>::zeros((n, 4));
    let coder = grid.convention.box_coder();
    for h in &m.hits {
        if h.fg {
            let j = h.gt as usize;
            labels[h.anchor] = g.labels[j];
            matched[h.anchor] = i64::try_from(g.ann_ids[j]).map_err(|_| {
                Error::input(format!(
                    "annotation id {} does not fit the int64 'matched' array",
                    g.ann_ids[j]
                ))
            })?;
            let d = coder.encode(&grid.anchor_at(h.anchor), &g.boxes[j]);
            for k in 0..4 {
                targets[[h.anchor, k]] = d[k];
            }
        } else {
            labels[h.anchor] = IGNORED;
        }
    }
    Ok(AnchorTargets {
        labels,
        matched,
        targets,
    })
}

/// The images to process (sorted ids, filtered), and annotations grouped by image.
pub(crate) fn select_images(ds: &Dataset, cfg: &AssignConfig) -> Result<Vec<u32>> {
    let mut ids = ds.sorted_image_ids();
    if let Some(want) = &cfg.image_ids {
        for id in want {
            if !ds.image_index.contains_key(id) {
                return Err(Error::input(format!(
                    "--image-ids: image {} is not in the ground truth",
                    id
                ))
                .with_hint("list ids from the GT file's \"images\""));
            }
        }
        let set: rustc_hash::FxHashSet<Id> = want.iter().copied().collect();
        ids.retain(|i| set.contains(i));
    }
    if let Some(n) = cfg.max_images {
        ids.truncate(n);
    }
    Ok(ids.iter().map(|id| ds.image_index[id]).collect())
}

/// What every image's matching needs, prepared once per run: the matcher parameters, the class
/// index of each category and the annotations of each image. `fit` prepares the GT once with it
/// and matches it against many grids.
pub(crate) struct Prepared<'a> {
    ds: &'a Dataset,
    cfg: &'a AssignConfig,
    params: MatchParams,
    class_index: FxHashMap<Id, i32>,
    by_image: FxHashMap<Id, Vec<&'a Annotation>>,
    orphans: usize,
}

impl<'a> Prepared<'a> {
    pub(crate) fn new(ds: &'a Dataset, cfg: &'a AssignConfig) -> Result<Prepared<'a>> {
        cfg.validate()?;
        let cats = ds.sorted_category_ids();
        let class_index = cats
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as i32))
            .collect();
        let mut by_image: FxHashMap<Id, Vec<&Annotation>> = FxHashMap::default();
        let mut orphans = 0usize;
        for a in &ds.annotations {
            if ds.image_index.contains_key(&a.image_id) {
                by_image.entry(a.image_id).or_default().push(a);
            } else {
                orphans += 1;
            }
        }
        Ok(Prepared {
            ds,
            cfg,
            params: cfg.match_params(),
            class_index,
            by_image,
            orphans,
        })
    }

    /// One image (index into `ds.images`) resized, its grid, its GT and the matcher's output.
    fn image(&self, ii: u32) -> Result<(gt::Resized, Grid, ImageGt, Matching)> {
        let (resized, g) = self.image_gt(ii)?;
        let grid = grid_for(&self.cfg.anchors, &self.ds.images[ii as usize], &resized)?;
        let m = match_image(&grid, &g.boxes, &self.params);
        Ok((resized, grid, g, m))
    }

    /// One image's size after the convention's resize and its GT as the matcher sees it; both
    /// depend on the convention and the resize only, not on the anchors.
    pub(crate) fn image_gt(&self, ii: u32) -> Result<(gt::Resized, ImageGt)> {
        let image = &self.ds.images[ii as usize];
        let anns = self
            .by_image
            .get(&image.id)
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let class_of = |c: Id| -> Result<i32> {
            self.class_index.get(&c).copied().ok_or_else(|| {
                Error::input(format!(
                    "an annotation has category_id {}, which is not among the categories",
                    c
                ))
                .with_hint("every annotation's category_id must be listed in \"categories\"")
            })
        };
        resized_gt(self.cfg, image, anns, class_of)
    }
}

/// One image's size after the convention's resize and its GT as the matcher sees it.
fn resized_gt(
    cfg: &AssignConfig,
    image: &Image,
    anns: &[&Annotation],
    class_of: impl Fn(Id) -> Result<i32>,
) -> Result<(gt::Resized, ImageGt)> {
    let (h0, w0) = gt::check_image(image)?;
    let resized = gt::resize(cfg.anchors.convention, h0, w0, cfg.resize);
    let g = gt::image_gt(cfg.anchors.convention, image, &resized, anns, class_of)?;
    Ok((resized, g))
}

/// Assign the anchors of one image given as arrays (the Python package's `assign`): `boxes` are
/// COCO `[x, y, w, h]` in the image's pixels (no crowd boxes), `classes` their contiguous class
/// indices. The result equals `assign --out-dir`'s `.npz` for an image with these boxes, with
/// `matched` holding the box's row instead of its annotation id (area = `w*h`).
pub fn assign_boxes(
    cfg: &AssignConfig,
    height: f64,
    width: f64,
    boxes: &[Xywh],
    classes: &[i32],
) -> Result<AnchorTargets> {
    cfg.validate()?;
    if boxes.len() != classes.len() {
        return Err(Error::input(format!(
            "gt_boxes has {} rows but gt_classes has {} entries",
            boxes.len(),
            classes.len()
        ))
        .with_hint("pass one class index per box"));
    }
    for (j, b) in boxes.iter().enumerate() {
        if b.iter().any(|v| !v.is_finite()) || b[2] < 0.0 || b[3] < 0.0 {
            return Err(Error::input(format!(
                "gt_boxes[{}]: {:?} is not a box (finite [x, y, w, h] with w, h >= 0)",
                j, b
            ))
            .with_hint("boxes are COCO [x, y, width, height] in pixels"));
        }
    }
    let image = Image {
        id: 0,
        width: Some(width),
        height: Some(height),
        neg_category_ids: None,
        not_exhaustive_category_ids: None,
    };
    let anns: Vec<Annotation> = boxes
        .iter()
        .enumerate()
        .map(|(j, b)| Annotation {
            id: j as Id,
            image_id: 0,
            category_id: classes[j] as Id,
            bbox: *b,
            area: b[2] * b[3],
            iscrowd: false,
            ignore: false,
        })
        .collect();
    let refs: Vec<&Annotation> = anns.iter().collect();
    let (resized, g) = resized_gt(cfg, &image, &refs, |c: Id| Ok(c as i32))?;
    let grid = grid_for(&cfg.anchors, &image, &resized)?;
    let m = match_image(&grid, &g.boxes, &cfg.match_params());
    anchor_targets(&grid, &g, &m)
}

/// The anchor grid of a resized image (the error names the image).
pub(crate) fn grid_for(
    anchors: &AnchorConfig,
    image: &crate::coco::Image,
    resized: &gt::Resized,
) -> Result<Grid> {
    anchors
        .grid(resized.height.max(1), resized.width.max(1))
        .map_err(|e| Error {
            message: format!("image {}: {}", image.id, e.message),
            ..e
        })
}

/// What the matcher gives one GT box: the anchors it labels foreground for it and the box's best
/// anchor IoU (float32, in the framework's operation order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtAnchors {
    pub foreground: u64,
    pub best_iou: f32,
}

/// For the images `images` (indices into `ds.images`), each kept GT box's [`GtAnchors`], keyed
/// by (image id, annotation id). Boxes the convention drops (crowd, empty) are absent. Exactly
/// the matching `run` (and `--out-dir`) performs with the same config.
pub fn gt_anchors(
    ds: &Dataset,
    cfg: &AssignConfig,
    images: &[u32],
    progress: &dyn Progress,
) -> Result<FxHashMap<(Id, Id), GtAnchors>> {
    let prep = Prepared::new(ds, cfg)?;
    progress.start("anchors", images.len() as u64);
    let per_image: Vec<Result<Vec<((Id, Id), GtAnchors)>>> = images
        .par_iter()
        .map(|&ii| {
            let (_, _, g, m) = prep.image(ii)?;
            let mut fg = vec![0u64; g.boxes.len()];
            for h in m.hits.iter().filter(|h| h.fg) {
                fg[h.gt as usize] += 1;
            }
            let id = ds.images[ii as usize].id;
            progress.inc(1);
            Ok((0..g.boxes.len())
                .map(|j| {
                    (
                        (id, g.ann_ids[j]),
                        GtAnchors {
                            foreground: fg[j],
                            best_iou: m.gt_best_iou[j],
                        },
                    )
                })
                .collect())
        })
        .collect();
    progress.finish();
    let mut out = FxHashMap::default();
    for r in per_image {
        out.extend(r?);
    }
    Ok(out)
}

/// Run assignment over `ds` and return the statistics (and write `--out-dir` files).
pub fn run(ds: &Dataset, cfg: &AssignConfig, progress: &dyn Progress) -> Result<Stats> {
    let prep = Prepared::new(ds, cfg)?;
    if prep.orphans > 0 {
        progress.note(&format!(
            "{} annotations refer to images absent from \"images\"; they are skipped",
            prep.orphans
        ));
    }
    let images = select_images(ds, cfg)?;
    for &i in &images {
        gt::check_image(&ds.images[i as usize])?;
    }
    if let Some(dir) = &cfg.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the directory", &e))?;
    }
    let mut total = Stats::empty(cfg);
    progress.start("assign", images.len() as u64);
    for (ci, chunk) in images.chunks(CHUNK).enumerate() {
        let results: Vec<Result<Stats>> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, &ii)| {
                let image = &ds.images[ii as usize];
                let (resized, grid, g, m) = prep.image(ii)?;
                if let Some(dir) = &cfg.out_dir {
                    let t = anchor_targets(&grid, &g, &m)?;
                    let path = dir.join(format!("{}.npz", image.id));
                    write_npz(
                        &path,
                        &[
                            NpzEntry::I32("labels", t.labels.view().into_dyn()),
                            NpzEntry::I64("matched", t.matched.view().into_dyn()),
                            NpzEntry::F32("targets", t.targets.view().into_dyn()),
                        ],
                    )?;
                }
                let mut s = Stats::empty(cfg);
                image_stats(
                    &mut s,
                    &grid,
                    &g,
                    &m,
                    (image.id, ci * CHUNK + k),
                    &resized,
                    cfg.worst,
                );
                progress.inc(1);
                Ok(s)
            })
            .collect();
        for r in results {
            merge(&mut total, r?, cfg.worst);
        }
    }
    progress.finish();
    total.finish();
    Ok(total)
}
