//! RetinaNet anchor grids, one per framework convention, bit-for-bit (float32) with the
//! framework: cell anchors and their order, rounding, centre offset, padding, feature sizes,
//! strides. The grid is described by a [`Grid`] (levels, strides, cells) from which any anchor is
//! computed on demand by index arithmetic; `assign` never materialises it, `anchors --out` does.
//! Sources: `docs/conventions.md` and `reference/anchor-conventions.md` §1.

use crate::error::{Error, Result};
use crate::geom::xyxy::{BoxCoder, PixelWidth, Xyxy, BBOX_XFORM_CLIP};
use ndarray::Array2;
use std::fmt;

/// Whose anchors (and matcher, resize arithmetic, box coder) to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Convention {
    /// Detectron (Caffe2, `generate_anchors.py`, `get_field_of_anchors`): +1 pixel world.
    Detectron,
    /// detectron2 `DefaultAnchorGenerator` with `Base-RetinaNet.yaml`.
    Detectron2,
    /// torchvision `AnchorGenerator` of `retinanet_resnet50_fpn`.
    Torchvision,
    /// mmdetection 3.x `AnchorGenerator` of `retinanet_r50_fpn`.
    Mmdet,
}

impl Convention {
    pub const ALL: [Convention; 4] = [
        Convention::Detectron2,
        Convention::Torchvision,
        Convention::Mmdet,
        Convention::Detectron,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Convention::Detectron => "detectron",
            Convention::Detectron2 => "detectron2",
            Convention::Torchvision => "torchvision",
            Convention::Mmdet => "mmdet",
        }
    }

    pub fn parse(s: &str) -> Result<Convention> {
        Convention::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Error::input(format!("unknown convention '{}'", s))
                    .with_hint("use one of: detectron2, torchvision, mmdet, detectron")
            })
    }

    /// Aspect ratios (h/w) in the convention's native order. Detectron's are those of its
    /// released RetinaNet configs (`configs/12_2017_baselines/retinanet_*.yaml`: 1.0, 2.0, 0.5).
    pub fn default_aspect_ratios(self) -> Vec<f64> {
        match self {
            Convention::Detectron => vec![1.0, 2.0, 0.5],
            _ => vec![0.5, 1.0, 2.0],
        }
    }

    /// Batch padding: Detectron `FPN.COARSEST_STRIDE = 128`; detectron2 `size_divisibility = 32`
    /// (FPN's coarsest feature stride used by the backbone), torchvision `size_divisible=32`,
    /// mmdet `pad_size_divisor=32`.
    pub fn default_size_divisibility(self) -> u32 {
        match self {
            Convention::Detectron => 128,
            _ => 32,
        }
    }

    pub fn pixel_width(self) -> PixelWidth {
        match self {
            Convention::Detectron => PixelWidth::PlusOne,
            _ => PixelWidth::Continuous,
        }
    }

    /// The RetinaNet box coder of the framework: weights (1,1,1,1) everywhere (mmdet: means 0,
    /// stds 1), Detectron's +1 widths, mmdet's `(x1 + x2) * 0.5` centres.
    pub fn box_coder(self) -> BoxCoder {
        BoxCoder {
            px: self.pixel_width(),
            weights: [1.0; 4],
            centre_from_sum: self == Convention::Mmdet,
            clamp: BBOX_XFORM_CLIP,
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Global order of the anchors in the flat `[A, 4]` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The framework's own order: (level, y, x, a), Detectron (level, a, y, x).
    Native,
    /// (level, y, x, a) for every convention.
    Hwa,
}

/// Largest accepted image side: beyond this a grid is a mistake, not a photo.
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// Largest anchor count accepted (the `--out` array would be 3.2 GB).
pub const MAX_ANCHORS: u64 = 200_000_000;

/// Everything that decides an anchor grid, already validated by [`AnchorConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorConfig {
    pub convention: Convention,
    /// Pyramid levels, e.g. 3..=7 (stride 2^level).
    pub levels: Vec<u32>,
    /// Base anchor size per level (octave 0, ratio 1): 4 × stride = 32..512 by default.
    pub sizes: Vec<f64>,
    pub scales_per_octave: u32,
    /// Aspect ratios h/w, in the order the cells are generated.
    pub aspect_ratios: Vec<f64>,
    /// Centre offset in strides: detectron2 `ANCHOR_GENERATOR.OFFSET` (0.0), mmdet
    /// `center_offset` (0). Detectron and torchvision have none (must be 0).
    pub offset: f64,
    /// Pad the image to a multiple of this before computing feature sizes (0 or 1: none).
    pub size_divisibility: u32,
    pub layout: Layout,
}

impl AnchorConfig {
    /// The RetinaNet defaults of `convention`: P3–P7, sizes 32–512, 3 scales per octave.
    pub fn new(convention: Convention) -> AnchorConfig {
        let mut c = AnchorConfig {
            convention,
            sizes: Vec::new(),
            levels: Vec::new(),
            scales_per_octave: 3,
            aspect_ratios: convention.default_aspect_ratios(),
            offset: 0.0,
            size_divisibility: convention.default_size_divisibility(),
            layout: Layout::Native,
        };
        c.set_levels((3..=7).collect());
        c
    }

    /// Use pyramid levels `levels`, with the default base size `4 x stride` for each (set
    /// `sizes` afterwards to override).
    pub fn set_levels(&mut self, levels: Vec<u32>) {
        self.sizes = levels.iter().map(|l| 4.0 * (1u64 << l) as f64).collect();
        self.levels = levels;
    }

    pub fn validate(&self) -> Result<()> {
        if self.levels.is_empty() || self.levels.iter().any(|&l| l > 12) {
            return Err(Error::input(format!(
                "--levels: {:?} is not a range of pyramid levels within 0-12",
                self.levels
            ))
            .with_hint("e.g. --levels 3-7"));
        }
        if self.levels.windows(2).any(|w| w[1] != w[0] + 1) {
            return Err(Error::input(
                "--levels must be an increasing range like 3-7",
            ));
        }
        if self.sizes.len() != self.levels.len() {
            return Err(Error::input(format!(
                "--sizes has {} values for {} levels",
                self.sizes.len(),
                self.levels.len()
            ))
            .with_hint("give one base anchor size per level, e.g. --sizes 32,64,128,256,512"));
        }
        if self
            .sizes
            .iter()
            .any(|s| !(s.is_finite() && *s >= 1.0 && *s <= 1e5))
        {
            return Err(Error::input(format!(
                "--sizes: {:?} must be finite sizes in pixels between 1 and 100000",
                self.sizes
            )));
        }
        if self.scales_per_octave == 0 || self.scales_per_octave > 16 {
            return Err(Error::input("--scales-per-octave must be between 1 and 16"));
        }
        if self.aspect_ratios.is_empty()
            || self.aspect_ratios.len() > 16
            || self
                .aspect_ratios
                .iter()
                .any(|r| !(r.is_finite() && *r > 0.0 && *r <= 1e3 && *r >= 1e-3))
        {
            return Err(Error::input(format!(
                "--aspect-ratios: {:?} must be 1-16 positive finite ratios (h/w) within 0.001-1000",
                self.aspect_ratios
            )));
        }
        if !self.offset.is_finite() || !(0.0..1.0).contains(&self.offset) {
            return Err(Error::input(format!(
                "--offset {} must be in [0, 1)",
                self.offset
            )));
        }
        if self.offset != 0.0
            && matches!(
                self.convention,
                Convention::Detectron | Convention::Torchvision
            )
        {
            return Err(Error::input(format!("--offset is not a setting of the {} convention", self.convention))
                .with_hint("--offset applies to detectron2 (ANCHOR_GENERATOR.OFFSET) and mmdet (center_offset)"));
        }
        if self.size_divisibility > 4096 {
            return Err(Error::input(format!(
                "--size-divisibility {} is larger than 4096",
                self.size_divisibility
            )));
        }
        Ok(())
    }

    /// The anchor sizes of level `li`, one per octave scale, as the framework's config lists
    /// them: detectron2 `SIZES` = x · 2^(o/n) (Python floats); torchvision `_default_anchorgen` =
    /// (x, int(x · 2^(1/3)), int(x · 2^(2/3))); Detectron and mmdet do not list sizes (they
    /// scale a base), for them this is x · 2^(o/n) too.
    pub fn octave_sizes(&self, li: usize) -> Vec<f64> {
        let (base, spo) = (self.sizes[li], self.scales_per_octave);
        match self.convention {
            Convention::Torchvision => (0..spo)
                .map(|o| {
                    if o == 0 {
                        base
                    } else {
                        (base * octave_scale(o, spo)).trunc()
                    }
                })
                .collect(),
            _ => (0..spo).map(|o| base * octave_scale(o, spo)).collect(),
        }
    }

    /// Whether every level's base size is the same multiple of its stride (the multiple is then
    /// mmdet's `octave_base_scale` and Detectron's `ANCHOR_SCALE`).
    pub fn uniform_stride_multiple(&self) -> bool {
        let m = |i: usize| self.sizes[i] / (1u64 << self.levels[i]) as f64;
        (0..self.sizes.len().min(self.levels.len())).all(|i| m(i) == m(0))
    }

    /// The grid for an image of `height` x `width` pixels (after resize, before padding).
    pub fn grid(&self, height: u32, width: u32) -> Result<Grid> {
        Grid::new(self, height, width)
    }
}

/// One pyramid level of a grid.
#[derive(Debug, Clone)]
pub struct LevelGrid {
    pub level: u32,
    /// Nominal stride 2^level.
    pub stride: u32,
    /// Strides used to place the anchors (torchvision: `padded // feature`, may differ per axis).
    pub stride_y: u32,
    pub stride_x: u32,
    pub feat_h: usize,
    pub feat_w: usize,
    /// Cell anchors centred on the location, in the convention's order within a location.
    /// f64 for Detectron (added to the shift in f64 and rounded once), else exact f32 values.
    pub cells: Vec<[f64; 4]>,
    /// Index of the level's first anchor in the flat array.
    pub start: usize,
}

impl LevelGrid {
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }
    pub fn count(&self) -> usize {
        self.feat_h * self.feat_w * self.cells.len()
    }
}

/// The anchors of one image: levels and cells; every anchor is computed by [`Grid::anchor`].
#[derive(Debug, Clone)]
pub struct Grid {
    pub convention: Convention,
    pub layout: Layout,
    pub image_hw: (u32, u32),
    pub padded_hw: (u32, u32),
    pub levels: Vec<LevelGrid>,
    /// detectron2's / mmdet's centre offset (in strides); 0 elsewhere.
    offset: f64,
    pub total: usize,
}

fn pad_to(n: u32, div: u32) -> u32 {
    if div > 1 {
        n.div_ceil(div) * div
    } else {
        n
    }
}

/// Python's `2 ** (o / float(spo))` (glibc `pow`, as CPython calls it).
pub fn octave_scale(o: u32, spo: u32) -> f64 {
    2f64.powf(o as f64 / spo as f64)
}

/// Detectron's `generate_anchors(stride, (size,), (ratio,))` for one anchor type
/// (`_ratio_enum` then `_scale_enum`), f64 with numpy's half-to-even `round`.
fn detectron_cell(stride: f64, octave: u32, spo: u32, anchor_scale: f64, ratio: f64) -> [f64; 4] {
    let size = stride * octave_scale(octave, spo) * anchor_scale;
    let scale = size / stride;
    let w = stride; // window (0, 0, stride-1, stride-1): w = x2 - x1 + 1
    let ctr = 0.5 * (w - 1.0);
    let area = w * w;
    let ws = (area / ratio).sqrt().round_ties_even();
    let hs = (ws * ratio).round_ties_even();
    let ws = ws * scale;
    let hs = hs * scale;
    [
        ctr - 0.5 * (ws - 1.0),
        ctr - 0.5 * (hs - 1.0),
        ctr + 0.5 * (ws - 1.0),
        ctr + 0.5 * (hs - 1.0),
    ]
}

/// detectron2 `generate_cell_anchors`: size-major, ratio-minor, f64 math stored as f32.
fn detectron2_cells(sizes: &[f64], ratios: &[f64]) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for &s in sizes {
        let area = s * s;
        for &r in ratios {
            let w = (area / r).sqrt();
            let h = r * w;
            out.push([
                (-w / 2.0) as f32 as f64,
                (-h / 2.0) as f32 as f64,
                (w / 2.0) as f32 as f64,
                (h / 2.0) as f32 as f64,
            ]);
        }
    }
    out
}

/// torchvision `AnchorGenerator.generate_anchors`: ratio-major, f32 math, then `.round()`
/// (half-to-even).
fn torchvision_cells(sizes: &[f64], ratios: &[f64]) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for &r in ratios {
        let hr = (r as f32).sqrt();
        let wr = 1.0f32 / hr;
        for &s in sizes {
            let ws = wr * s as f32;
            let hs = hr * s as f32;
            let b = [-ws / 2.0, -hs / 2.0, ws / 2.0, hs / 2.0];
            out.push(b.map(|v| v.round_ties_even() as f64));
        }
    }
    out
}

/// mmdet `gen_single_level_base_anchors` with `scale_major=True` (ratio-major, scale-minor),
/// f32 math: `ws = base * w_ratio * scale`, `x1 = ctr - 0.5 * ws`.
fn mmdet_cells(
    base_size: f64,
    scales: &[f64],
    ratios: &[f64],
    center_offset: f64,
) -> Vec<[f64; 4]> {
    let w = base_size as f32;
    let ctr = (center_offset * base_size) as f32;
    let mut out = Vec::new();
    for &r in ratios {
        let hr = (r as f32).sqrt();
        let wr = 1.0f32 / hr;
        for &sc in scales {
            let sc = sc as f32;
            let ws = w * wr * sc;
            let hs = w * hr * sc;
            out.push([
                (ctr - 0.5 * ws) as f64,
                (ctr - 0.5 * hs) as f64,
                (ctr + 0.5 * ws) as f64,
                (ctr + 0.5 * hs) as f64,
            ]);
        }
    }
    out
}

impl Grid {
    fn new(cfg: &AnchorConfig, height: u32, width: u32) -> Result<Grid> {
        cfg.validate()?;
        if height == 0 || width == 0 {
            return Err(
                Error::input(format!("image size {}x{} is empty", height, width))
                    .with_hint("give the size as HxW with both sides at least 1, e.g. 800x1333"),
            );
        }
        if height > MAX_IMAGE_SIDE || width > MAX_IMAGE_SIDE {
            return Err(Error::input(format!(
                "image size {}x{} is larger than {} pixels on a side",
                height, width, MAX_IMAGE_SIDE
            ))
            .with_hint("give the size of the network input (after resize), e.g. 800x1333"));
        }
        let conv = cfg.convention;
        let (hp, wp) = (
            pad_to(height, cfg.size_divisibility),
            pad_to(width, cfg.size_divisibility),
        );
        let spo = cfg.scales_per_octave;
        let mut levels = Vec::with_capacity(cfg.levels.len());
        let mut start = 0usize;
        for (li, &level) in cfg.levels.iter().enumerate() {
            let s = 1u32 << level;
            let base = cfg.sizes[li];
            let (feat_h, feat_w) = match conv {
                // Labels are cropped to int(padded / stride) (`_get_retinanet_blobs`).
                Convention::Detectron => ((hp / s) as usize, (wp / s) as usize),
                // Stride-2 convolutions give ceil(n / 2) per halving = ceil(padded / stride).
                _ => (hp.div_ceil(s) as usize, wp.div_ceil(s) as usize),
            };
            let (stride_y, stride_x) = match conv {
                // AnchorGenerator.forward: strides = image_size // grid_size, per axis.
                Convention::Torchvision if feat_h > 0 && feat_w > 0 => {
                    (hp / feat_h as u32, wp / feat_w as u32)
                }
                _ => (s, s),
            };
            let cells = match conv {
                Convention::Detectron => {
                    let anchor_scale = base / s as f64;
                    (0..spo)
                        .flat_map(|o| {
                            cfg.aspect_ratios
                                .iter()
                                .map(move |&r| detectron_cell(s as f64, o, spo, anchor_scale, r))
                        })
                        .collect()
                }
                Convention::Detectron2 => {
                    detectron2_cells(&cfg.octave_sizes(li), &cfg.aspect_ratios)
                }
                Convention::Torchvision => {
                    torchvision_cells(&cfg.octave_sizes(li), &cfg.aspect_ratios)
                }
                Convention::Mmdet if cfg.uniform_stride_multiple() => {
                    // base_size = stride, scales = 2 ** (i / spo) * octave_base_scale (4 = 32 / 8).
                    let octave_base = base / s as f64;
                    let scales: Vec<f64> = (0..spo)
                        .map(|o| octave_scale(o, spo) * octave_base)
                        .collect();
                    mmdet_cells(s as f64, &scales, &cfg.aspect_ratios, cfg.offset)
                }
                Convention::Mmdet => {
                    // One octave_base_scale cannot give sizes that are different multiples of the
                    // strides; mmdet's way to set them is `base_sizes=[...]` with
                    // `scales=[2 ** (i / spo)]` (centre = center_offset * base_size).
                    let scales: Vec<f64> = (0..spo).map(|o| octave_scale(o, spo)).collect();
                    mmdet_cells(base, &scales, &cfg.aspect_ratios, cfg.offset)
                }
            };
            let lg = LevelGrid {
                level,
                stride: s,
                stride_y,
                stride_x,
                feat_h,
                feat_w,
                cells,
                start,
            };
            start += lg.count();
            if start as u64 > MAX_ANCHORS {
                return Err(Error::input(format!(
                    "{}x{} gives more than {} anchors",
                    height, width, MAX_ANCHORS
                ))
                .with_hint("give the size of the network input (after resize), e.g. 800x1333"));
            }
            levels.push(lg);
        }
        let offset = if conv == Convention::Detectron2 {
            cfg.offset
        } else {
            0.0
        };
        Ok(Grid {
            convention: conv,
            layout: cfg.layout,
            image_hw: (height, width),
            padded_hw: (hp, wp),
            levels,
            offset,
            total: start,
        })
    }

    /// Whether the anchor type is the slowest index within a level (Detectron's native order).
    #[inline]
    fn type_major(&self) -> bool {
        self.convention == Convention::Detectron && self.layout == Layout::Native
    }

    /// Flat index of anchor (level index, cell, y, x).
    #[inline]
    pub fn index(&self, li: usize, a: usize, y: usize, x: usize) -> usize {
        let l = &self.levels[li];
        if self.type_major() {
            l.start + (a * l.feat_h + y) * l.feat_w + x
        } else {
            l.start + (y * l.feat_w + x) * l.cells.len() + a
        }
    }

    /// (level index, cell, y, x) of a flat index.
    pub fn locate(&self, index: usize) -> (usize, usize, usize, usize) {
        let li = self
            .levels
            .iter()
            .rposition(|l| l.start <= index)
            .unwrap_or(0);
        let l = &self.levels[li];
        let r = index - l.start;
        if self.type_major() {
            let hw = l.feat_h * l.feat_w;
            (li, r / hw, (r % hw) / l.feat_w, r % l.feat_w)
        } else {
            let a = r % l.cells.len();
            let yx = r / l.cells.len();
            (li, a, yx / l.feat_w, yx % l.feat_w)
        }
    }

    /// Shift of column `x` (or row) on level `li` along an axis with stride `s`, in f32 as the
    /// frameworks compute it: `offset * s + k * s` (detectron2 `_create_grid_offsets`, OFFSET
    /// 0.0 by default), `arange(W) * stride` (torchvision, mmdet, Detectron).
    #[inline]
    fn shift(&self, k: usize, s: u32) -> f32 {
        ((self.offset * s as f64) as f32) + (k as f32) * (s as f32)
    }

    /// The anchor of (level index, cell, y, x), exactly as the framework computes it.
    #[inline]
    pub fn anchor(&self, li: usize, a: usize, y: usize, x: usize) -> Xyxy {
        let l = &self.levels[li];
        let c = &l.cells[a];
        if self.convention == Convention::Detectron {
            // get_field_of_anchors: shifts + cell in float64, stored as float32.
            let sx = (x as u64 * l.stride_x as u64) as f64;
            let sy = (y as u64 * l.stride_y as u64) as f64;
            [
                (sx + c[0]) as f32,
                (sy + c[1]) as f32,
                (sx + c[2]) as f32,
                (sy + c[3]) as f32,
            ]
        } else {
            let sx = self.shift(x, l.stride_x);
            let sy = self.shift(y, l.stride_y);
            [
                sx + c[0] as f32,
                sy + c[1] as f32,
                sx + c[2] as f32,
                sy + c[3] as f32,
            ]
        }
    }

    /// The anchor at a flat index.
    pub fn anchor_at(&self, index: usize) -> Xyxy {
        let (li, a, y, x) = self.locate(index);
        self.anchor(li, a, y, x)
    }

    /// Range of column indices `x` (or rows, `axis_y`) on a level whose anchors of cell interval
    /// `(c_lo, c_hi)` (relative to the shift) can overlap the box interval `(lo, hi)` by at least
    /// `min_inter` (in the +1 world the intersection is `min - max + 1`). Conservative by one
    /// cell on each side; the caller computes the exact IoU.
    #[inline]
    pub fn overlap_range(
        &self,
        li: usize,
        axis_y: bool,
        (c_lo, c_hi): (f64, f64),
        (lo, hi): (f64, f64),
        min_inter: f64,
    ) -> std::ops::Range<usize> {
        let l = &self.levels[li];
        let (s, n) = if axis_y {
            (l.stride_y as f64, l.feat_h)
        } else {
            (l.stride_x as f64, l.feat_w)
        };
        let one = if self.convention == Convention::Detectron {
            1.0
        } else {
            0.0
        };
        let off = self.offset * s;
        // Overlap needs  off + k*s + c_lo < hi + one - min_inter  and  off + k*s + c_hi > lo - one + min_inter.
        let k_min = ((lo - one + min_inter - off - c_hi) / s).floor() - 1.0;
        let k_max = ((hi + one - min_inter - off - c_lo) / s).ceil() + 1.0;
        let k0 = k_min.max(0.0);
        let k1 = (k_max + 1.0).min(n as f64);
        if k1 <= k0 {
            return 0..0;
        }
        (k0 as usize)..(k1 as usize)
    }

    /// All anchors as a float32 `[A, 4]` array (x1, y1, x2, y2) in the grid's layout.
    pub fn to_array(&self) -> Array2<f32> {
        let mut out = Array2::<f32>::zeros((self.total, 4));
        {
            let flat = out.as_slice_mut().expect("a fresh array is contiguous");
            for (li, l) in self.levels.iter().enumerate() {
                for y in 0..l.feat_h {
                    for x in 0..l.feat_w {
                        for a in 0..l.cells.len() {
                            let i = self.index(li, a, y, x);
                            flat[4 * i..4 * i + 4].copy_from_slice(&self.anchor(li, a, y, x));
                        }
                    }
                }
            }
        }
        out
    }
}

/// Parse `HxW` (e.g. `800x1333`).
pub fn parse_hw(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        Error::input(format!("--image-size: cannot read '{}'", s))
            .with_hint("give the size as HxW in pixels, e.g. --image-size 800x1333")
    };
    let (h, w) = s
        .trim()
        .to_ascii_lowercase()
        .split_once('x')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .ok_or_else(bad)?;
    let parse = |t: &str| -> Result<u32> {
        if t.starts_with('-') {
            return Err(
                Error::input(format!("--image-size: negative size in '{}'", s))
                    .with_hint("both sides must be positive, e.g. 800x1333"),
            );
        }
        t.parse::<u64>()
            .map_err(|_| bad())
            .map(|v| v.min(u32::MAX as u64) as u32)
    };
    Ok((parse(&h)?, parse(&w)?))
}

/// Parse `--levels 3-7` (or a single level `5`).
pub fn parse_levels(s: &str) -> Result<Vec<u32>> {
    let bad = || {
        Error::input(format!("--levels: cannot read '{}'", s))
            .with_hint("give a range of pyramid levels, e.g. --levels 3-7")
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let a: u32 = a.parse().map_err(|_| bad())?;
    let b: u32 = b.parse().map_err(|_| bad())?;
    if a > b || b > 12 {
        return Err(bad());
    }
    Ok((a..=b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(c: Convention, h: u32, w: u32) -> Grid {
        AnchorConfig::new(c).grid(h, w).unwrap()
    }

    #[test]
    fn totals_at_800x1333() {
        for c in [
            Convention::Detectron2,
            Convention::Torchvision,
            Convention::Mmdet,
        ] {
            let g = grid(c, 800, 1333);
            assert_eq!(g.total, 201_600, "{}", c);
            let per: Vec<usize> = g.levels.iter().map(|l| l.count()).collect();
            assert_eq!(per, vec![151_200, 37_800, 9_450, 2_457, 693]);
        }
        assert_eq!(grid(Convention::Detectron, 800, 1333).total, 236_313);
        let tv = grid(Convention::Torchvision, 800, 1333);
        assert_eq!((tv.levels[3].stride_y, tv.levels[3].stride_x), (61, 64));
        assert_eq!((tv.levels[4].stride_y, tv.levels[4].stride_x), (114, 122));
    }

    #[test]
    fn first_cells_match_the_reference_note() {
        let d = grid(Convention::Detectron, 800, 1333);
        assert_eq!(d.anchor(0, 0, 0, 0), [-12.0, -12.0, 19.0, 19.0]);
        assert_eq!(d.anchor(0, 1, 0, 0), [-8.0, -20.0, 15.0, 27.0]);
        assert_eq!(d.anchor(0, 2, 0, 0), [-18.0, -8.0, 25.0, 15.0]);
        let t = grid(Convention::Torchvision, 800, 1333);
        assert_eq!(t.anchor(0, 0, 0, 0), [-23.0, -11.0, 23.0, 11.0]);
        assert_eq!(t.anchor(0, 2, 0, 0), [-35.0, -18.0, 35.0, 18.0]);
        let d2 = grid(Convention::Detectron2, 800, 1333);
        assert_eq!(d2.anchor(0, 1, 0, 0), [-16.0, -16.0, 16.0, 16.0]);
    }

    #[test]
    fn index_and_locate_round_trip() {
        for c in Convention::ALL {
            for layout in [Layout::Native, Layout::Hwa] {
                let mut cfg = AnchorConfig::new(c);
                cfg.layout = layout;
                let g = cfg.grid(100, 130).unwrap();
                for i in (0..g.total).step_by(7) {
                    let (li, a, y, x) = g.locate(i);
                    assert_eq!(g.index(li, a, y, x), i);
                }
            }
        }
    }

    #[test]
    fn bad_sizes_are_input_errors() {
        let cfg = AnchorConfig::new(Convention::Detectron2);
        assert_eq!(cfg.grid(0, 0).unwrap_err().exit_code(), 2);
        assert_eq!(cfg.grid(100_000, 5).unwrap_err().exit_code(), 2);
        assert!(parse_hw("-5x3").is_err());
        assert!(parse_hw("5by3").is_err());
        assert!(Convention::parse("yolo").is_err());
    }
}
