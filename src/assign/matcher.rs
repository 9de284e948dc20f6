//! The RetinaNet matchers of the four frameworks: IoU ≥ pos → foreground, < neg → background,
//! the band between ignored, plus each framework's low-quality rule (ties included):
//! - detectron2 `Matcher` / torchvision `Matcher`: anchors whose IoU equals a GT's best IoU become
//!   foreground, keeping the anchor's *own* arg-max GT.
//! - mmdet `MaxIoUAssigner` (`min_pos_iou=0`, `gt_max_assign_all`): GTs in order, each takes its
//!   best anchors (a later GT overwrites an earlier one, and overwrites ≥ pos matches).
//! - Detectron `_get_retinanet_blobs`: best anchors first, then ≥ pos, then IoU < neg forced back
//!   to background (so a low-quality match survives only in [neg, pos)).
//!
//! Two implementations: [`match_dense`], the plain reference over the full [G, A] IoU matrix,
//! and [`match_pruned`], which finds the anchors that can reach the neg threshold by grid index
//! arithmetic and never builds the matrix. A property test holds them equal.

use crate::anchors::{Convention, Grid};
use crate::geom::xyxy::{area, iou_with_area, PixelWidth, Xyxy};

/// mmdet's `bbox_overlaps` clamps the union at `eps=1e-6`.
pub const MMDET_UNION_EPS: f32 = 1e-6;

/// Matching parameters. Thresholds are compared in f32, as the frameworks compare their f32
/// IoU tensors with Python floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchParams {
    pub convention: Convention,
    /// IoU ≥ this → foreground (`POSITIVE_OVERLAP`, `IOU_THRESHOLDS[1]`, `fg_iou_thresh`, `pos_iou_thr`: 0.5).
    pub pos_iou: f32,
    /// IoU < this → background (`NEGATIVE_OVERLAP`, `IOU_THRESHOLDS[0]`, `bg_iou_thresh`, `neg_iou_thr`: 0.4).
    pub neg_iou: f32,
    pub low_quality: bool,
}

impl MatchParams {
    pub fn new(convention: Convention) -> MatchParams {
        MatchParams {
            convention,
            pos_iou: 0.5,
            neg_iou: 0.4,
            low_quality: true,
        }
    }
    fn px(&self) -> PixelWidth {
        self.convention.pixel_width()
    }
    fn eps(&self) -> f32 {
        if self.convention == Convention::Mmdet {
            MMDET_UNION_EPS
        } else {
            0.0
        }
    }
}

/// One anchor that is not background.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub anchor: usize,
    /// `true` foreground, `false` ignored.
    pub fg: bool,
    /// GT index (foreground: the matched GT; ignored: the arg-max GT).
    pub gt: u32,
    /// The anchor's best IoU over all GTs.
    pub iou: f32,
    /// Foreground only through the low-quality rule (best IoU < pos).
    pub low_quality: bool,
}

/// Result of matching one image: the non-background anchors in index order, and per GT its
/// best IoU over all anchors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matching {
    pub hits: Vec<Hit>,
    pub gt_best_iou: Vec<f32>,
    /// Detectron's `retnet_fg_num` before the background overwrite (the count its loss
    /// normaliser uses, minus the +1); equal to the foreground count elsewhere.
    pub fg_before_overwrite: usize,
}

/// Label one anchor from its best IoU (first arg-max on ties) and whether it is one of some
/// GT's best anchors (and for mmdet, which GT takes it).
struct AnchorFacts {
    max: f32,
    argmax: u32,
    /// mmdet: the last GT (in order) whose best IoU this anchor equals; others: any such GT.
    best_of: Option<u32>,
}

fn label(p: &MatchParams, anchor: usize, f: &AnchorFacts, fg_before: &mut usize) -> Option<Hit> {
    let hi = f.max >= p.pos_iou;
    let best = p.low_quality && f.best_of.is_some();
    let hit = |fg: bool, gt: u32| {
        Some(Hit {
            anchor,
            fg,
            gt,
            iou: f.max,
            low_quality: fg && !hi,
        })
    };
    match p.convention {
        Convention::Detectron => {
            if hi || best {
                *fg_before += 1;
            }
            if f.max < p.neg_iou {
                None
            } else {
                hit(hi || best, f.argmax)
            }
        }
        Convention::Detectron2 | Convention::Torchvision => {
            if hi || best {
                *fg_before += 1;
                hit(true, f.argmax)
            } else if f.max >= p.neg_iou {
                hit(false, f.argmax)
            } else {
                None
            }
        }
        Convention::Mmdet => {
            if let (true, Some(g)) = (p.low_quality, f.best_of) {
                *fg_before += 1;
                hit(true, g)
            } else if hi {
                *fg_before += 1;
                hit(true, f.argmax)
            } else if f.max >= p.neg_iou {
                hit(false, f.argmax)
            } else {
                None
            }
        }
    }
}

/// The reference matcher: materialise every anchor and the full IoU matrix.
pub fn match_dense(grid: &Grid, gts: &[Xyxy], p: &MatchParams) -> Matching {
    let n = grid.total;
    let g = gts.len();
    if g == 0 {
        return Matching::default();
    }
    let (px, eps) = (p.px(), p.eps());
    let areas: Vec<f32> = gts.iter().map(|b| area(b, px)).collect();
    let anchors: Vec<Xyxy> = (0..n).map(|i| grid.anchor_at(i)).collect();
    let mut iou = vec![0f32; g * n];
    for (j, gt) in gts.iter().enumerate() {
        for (i, a) in anchors.iter().enumerate() {
            iou[j * n + i] = iou_with_area(gt, areas[j], a, px, eps);
        }
    }
    let gt_best: Vec<f32> = (0..g)
        .map(|j| {
            iou[j * n..(j + 1) * n]
                .iter()
                .fold(0f32, |m, &v| if v > m { v } else { m })
        })
        .collect();
    let mut out = Matching {
        gt_best_iou: gt_best.clone(),
        ..Default::default()
    };
    let mut fg_before = 0;
    for i in 0..n {
        let (mut max, mut argmax) = (iou[i], 0u32);
        for j in 1..g {
            if iou[j * n + i] > max {
                max = iou[j * n + i];
                argmax = j as u32;
            }
        }
        let best_of = (0..g)
            .rev()
            .find(|&j| iou[j * n + i] == gt_best[j])
            .map(|j| j as u32);
        if let Some(h) = label(
            p,
            i,
            &AnchorFacts {
                max,
                argmax,
                best_of,
            },
            &mut fg_before,
        ) {
            out.hits.push(h);
        }
    }
    out.fg_before_overwrite = fg_before;
    out
}

/// One candidate pair found by the grid search.
#[derive(Clone, Copy)]
struct Pair {
    anchor: usize,
    gt: u32,
    iou: f32,
}

/// Visit every anchor of `grid` that can have IoU ≥ `t` with `gt` (all anchors with a positive
/// intersection when `t == 0`), by index arithmetic on each level's grid. Conservative: the
/// callback gets the exact IoU and decides.
fn for_candidates(
    grid: &Grid,
    gt: &Xyxy,
    gt_area: f32,
    t: f32,
    px: PixelWidth,
    eps: f32,
    mut f: impl FnMut(usize, f32),
) {
    let one = if px == PixelWidth::PlusOne { 1.0 } else { 0.0 };
    let (gw, gh) = ((gt[2] - gt[0]) as f64 + one, (gt[3] - gt[1]) as f64 + one);
    let ga = gt_area as f64;
    // Relative slack on every bound, far above f32 rounding of the IoU.
    let t = t as f64 * (1.0 - 1e-4);
    for (li, l) in grid.levels.iter().enumerate() {
        if l.feat_h == 0 || l.feat_w == 0 {
            continue;
        }
        for (a, c) in l.cells.iter().enumerate() {
            let (aw, ah) = (c[2] - c[0] + one, c[3] - c[1] + one);
            let aa = aw * ah;
            let (mut min_iw, mut min_ih) = (0.0, 0.0);
            if t > 0.0 {
                // IoU ≤ min(area)/max(area); IoU ≥ t needs inter ≥ t·max(area), and the
                // intersection is at most min(w) wide and min(h) high.
                if aa.min(ga) < t * aa.max(ga) {
                    continue;
                }
                let need = t * aa.max(ga);
                min_iw = (need / ah.min(gh)) - 1e-3;
                min_ih = (need / aw.min(gw)) - 1e-3;
            }
            let xs = grid.overlap_range(
                li,
                false,
                (c[0], c[2]),
                (gt[0] as f64, gt[2] as f64),
                min_iw.max(0.0),
            );
            let ys = grid.overlap_range(
                li,
                true,
                (c[1], c[3]),
                (gt[1] as f64, gt[3] as f64),
                min_ih.max(0.0),
            );
            for y in ys {
                for x in xs.clone() {
                    let an = grid.anchor(li, a, y, x);
                    let v = iou_with_area(gt, gt_area, &an, px, eps);
                    if v > 0.0 {
                        f(grid.index(li, a, y, x), v);
                    }
                }
            }
        }
    }
}

/// The fast matcher: same result as [`match_dense`], touching only the anchors that can reach
/// IoU ≥ neg with some GT (plus each GT's best anchors when its best IoU is below neg).
/// Returns `None` when some GT overlaps no anchor at all while the low-quality rule is on (then
/// every anchor is that GT's "best", and the caller falls back to [`match_dense`]).
pub fn match_pruned(grid: &Grid, gts: &[Xyxy], p: &MatchParams) -> Option<Matching> {
    pruned(grid, gts, p, true)
}

/// The foreground of the matcher without low-quality matches (`p.low_quality` must be false),
/// skipping [`match_pruned`]'s search for the best anchor of a GT that no anchor brings to IoU
/// ≥ min(neg, pos): the hits are exactly [`match_pruned`]'s (up to which low anchors are
/// ignored rather than background), and `gt_best_iou` is exact where it is ≥ min(neg, pos),
/// below that the best over the anchors the pruned search visited (a lower bound, often 0).
/// `anchors --fit` scores thousands of candidates with it.
pub fn match_foreground(grid: &Grid, gts: &[Xyxy], p: &MatchParams) -> Matching {
    debug_assert!(!p.low_quality, "match_foreground has no low-quality rule");
    let p = MatchParams {
        low_quality: false,
        ..*p
    };
    pruned(grid, gts, &p, false)
        .expect("without low-quality matches the pruned matcher always answers")
}

fn pruned(grid: &Grid, gts: &[Xyxy], p: &MatchParams, exact_best: bool) -> Option<Matching> {
    let g = gts.len();
    if g == 0 {
        return Some(Matching::default());
    }
    let (px, eps) = (p.px(), p.eps());
    let areas: Vec<f32> = gts.iter().map(|b| area(b, px)).collect();
    let t = p.neg_iou.min(p.pos_iou).max(0.0);
    let mut pairs: Vec<Pair> = Vec::new();
    let mut gt_best = vec![0f32; g];
    // Anchors that are some GT's best while that best is below t: not in `pairs`.
    let mut low_best: Vec<usize> = Vec::new();
    for (j, gt) in gts.iter().enumerate() {
        let start = pairs.len();
        let mut best = 0f32;
        for_candidates(grid, gt, areas[j], t, px, eps, |i, v| {
            if v > best {
                best = v;
            }
            if v >= t {
                pairs.push(Pair {
                    anchor: i,
                    gt: j as u32,
                    iou: v,
                });
            }
        });
        if exact_best && (best < t || pairs.len() == start) {
            // The best anchor may have been pruned: search every overlapping anchor.
            best = 0.0;
            let mut ties: Vec<usize> = Vec::new();
            for_candidates(grid, gt, areas[j], 0.0, px, eps, |i, v| {
                if v > best {
                    best = v;
                    ties.clear();
                }
                if v == best {
                    ties.push(i);
                }
            });
            if best == 0.0 {
                if p.low_quality {
                    return None;
                }
            } else if best < t {
                low_best.extend(ties);
            }
        }
        gt_best[j] = best;
    }
    // Anchors needing every GT's IoU: those in pairs (complete for IoU ≥ t) and the low bests.
    pairs.sort_unstable_by_key(|q| (q.anchor, q.gt));
    low_best.sort_unstable();
    low_best.dedup();
    let mut out = Matching {
        gt_best_iou: gt_best.clone(),
        ..Default::default()
    };
    let mut fg_before = 0;
    let mut row = vec![0f32; g];
    let mut k = 0;
    let mut lb = 0;
    loop {
        let next_pair = pairs.get(k).map(|q| q.anchor);
        let next_low = low_best.get(lb).copied();
        let anchor = match (next_pair, next_low) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (Some(a), Some(b)) => a.min(b),
        };
        if next_low == Some(anchor) {
            // Exact IoU with every GT.
            let an = grid.anchor_at(anchor);
            for (j, gt) in gts.iter().enumerate() {
                row[j] = iou_with_area(gt, areas[j], &an, px, eps);
            }
            lb += 1;
            while pairs.get(k).map(|q| q.anchor) == Some(anchor) {
                k += 1;
            }
        } else {
            // Every GT with IoU ≥ t is in pairs; the others cannot be the max (which is ≥ t), and
            // cannot make the anchor one of their bests (their best is ≥ t, or the anchor is in low_best).
            row.iter_mut().for_each(|v| *v = 0.0);
            while let Some(q) = pairs.get(k).filter(|q| q.anchor == anchor) {
                row[q.gt as usize] = q.iou;
                k += 1;
            }
        }
        let (mut max, mut argmax) = (row[0], 0u32);
        for (j, &v) in row.iter().enumerate().skip(1) {
            if v > max {
                max = v;
                argmax = j as u32;
            }
        }
        let best_of = (0..g)
            .rev()
            .find(|&j| row[j] > 0.0 && row[j] == gt_best[j])
            .map(|j| j as u32);
        if let Some(h) = label(
            p,
            anchor,
            &AnchorFacts {
                max,
                argmax,
                best_of,
            },
            &mut fg_before,
        ) {
            out.hits.push(h);
        }
    }
    out.fg_before_overwrite = fg_before;
    Some(out)
}

/// [`match_pruned`], or [`match_dense`] in the rare case it declines.
pub fn match_image(grid: &Grid, gts: &[Xyxy], p: &MatchParams) -> Matching {
    match_pruned(grid, gts, p).unwrap_or_else(|| match_dense(grid, gts, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchors::{AnchorConfig, Layout};
    use proptest::prelude::*;

    fn boxes(max_w: f32, max_h: f32) -> impl Strategy<Value = Vec<Xyxy>> {
        prop::collection::vec(
            (0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0u8..4).prop_map(
                move |(x, y, w, h, snap)| {
                    let (x, y) = (x * max_w, y * max_h);
                    let (w, h) = (1.0 + w * w * max_w * 0.8, 1.0 + h * h * max_h * 0.8);
                    let b = [x, y, (x + w).min(max_w), (y + h).min(max_h)];
                    // Integer boxes provoke exact ties with integer (torchvision) anchors.
                    if snap == 0 {
                        b.map(|v| v.round())
                    } else {
                        b
                    }
                },
            ),
            0..6,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn pruned_equals_dense(gts in boxes(320.0, 250.0), conv in 0usize..4, lq in any::<bool>(), hwa in any::<bool>()) {
            let conv = Convention::ALL[conv];
            let mut cfg = AnchorConfig::new(conv);
            cfg.layout = if hwa { Layout::Hwa } else { Layout::Native };
            let grid = cfg.grid(250, 320).unwrap();
            let gts: Vec<Xyxy> = gts.into_iter().filter(|b| b[2] > b[0] && b[3] > b[1]).collect();
            let mut p = MatchParams::new(conv);
            p.low_quality = lq;
            let dense = match_dense(&grid, &gts, &p);
            if let Some(pruned) = match_pruned(&grid, &gts, &p) {
                prop_assert_eq!(&pruned.gt_best_iou, &dense.gt_best_iou);
                prop_assert_eq!(pruned.fg_before_overwrite, dense.fg_before_overwrite);
                prop_assert_eq!(pruned.hits.len(), dense.hits.len());
                for (a, b) in pruned.hits.iter().zip(dense.hits.iter()) {
                    prop_assert_eq!(a, b);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn foreground_matcher_equals_dense_without_low_quality(gts in boxes(320.0, 250.0), conv in 0usize..4, neg in 0.2f32..0.5) {
            let conv = Convention::ALL[conv];
            let grid = AnchorConfig::new(conv).grid(250, 320).unwrap();
            let gts: Vec<Xyxy> = gts.into_iter().filter(|b| b[2] > b[0] && b[3] > b[1]).collect();
            let p = MatchParams { convention: conv, pos_iou: 0.5, neg_iou: neg, low_quality: false };
            let dense = match_dense(&grid, &gts, &p);
            let fast = match_foreground(&grid, &gts, &p);
            let fg = |m: &Matching| m.hits.iter().filter(|h| h.fg).map(|h| (h.anchor, h.gt)).collect::<Vec<_>>();
            prop_assert_eq!(fg(&fast), fg(&dense));
            for (a, b) in fast.gt_best_iou.iter().zip(&dense.gt_best_iou) {
                if *b >= neg { prop_assert_eq!(a, b); } else { prop_assert!(a <= b); }
            }
        }
    }

    #[test]
    fn empty_image_is_all_background() {
        let grid = AnchorConfig::new(Convention::Detectron2)
            .grid(64, 64)
            .unwrap();
        let m = match_image(&grid, &[], &MatchParams::new(Convention::Detectron2));
        assert!(m.hits.is_empty());
    }
}
