//! Scoring a candidate anchor configuration fast and exactly: the GT of every image is prepared
//! once (resize and box conversion do not depend on the anchors), split into groups of boxes that
//! can compete for an anchor, and identical groups on identical image sizes are scored once.
//! Every group is labelled by the real matcher ([`crate::assign::matcher::match_image`]).
//!
//! Why groups are exact: without low-quality matches a GT is covered when some anchor has IoU ≥
//! pos with it and no other GT has a higher IoU there (the first GT wins a tie). For pos ≥ 0.5
//! two boxes can both reach pos with one anchor only if they overlap or touch, so GTs that do not
//! (with a margin far above float rounding) cannot take anchors from each other; a GT's best IoU
//! does not depend on the other GTs at all.

use crate::anchors::{AnchorConfig, Grid};
use crate::assign::matcher::{match_foreground, match_image, MatchParams};
use crate::assign::{select_images, AssignConfig, Prepared};
use crate::coco::Dataset;
use crate::error::Result;
use crate::geom::xyxy::Xyxy;
use crate::progress::Progress;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Boxes closer than this (pixels, plus a relative part) are put in one group.
const GROUP_MARGIN_PX: f32 = 2.0;
const GROUP_MARGIN_REL: f32 = 1e-3;
/// Groups per parallel work item; fixed so the reduction order never depends on the threads.
const CHUNK: usize = 64;

/// Boxes of one image that may compete for anchors, with the number of identical copies.
#[derive(Debug, Clone)]
pub struct Group {
    /// Index into [`GtIndex::sizes`].
    pub size: u32,
    pub boxes: Vec<Xyxy>,
    pub copies: u32,
}

/// The prepared GT of a dataset: distinct resized image sizes and deduplicated groups.
#[derive(Debug, Clone, Default)]
pub struct GtIndex {
    /// Resized (height, width) of the images.
    pub sizes: Vec<(u32, u32)>,
    pub groups: Vec<Group>,
    /// GT boxes counted with their copies.
    pub gt: u64,
}

/// What one candidate gets on an index. Counts are of GT boxes (copies included).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub gt: u64,
    /// GT boxes with ≥ 1 foreground anchor under the matcher without low-quality matches.
    pub covered: u64,
    /// GT boxes whose best anchor IoU is ≥ pos.
    pub recalled: u64,
    /// Sum of the best IoUs (f32 values in f64, group order).
    pub best_iou_sum: f64,
}

impl Score {
    pub fn coverage(&self) -> f64 {
        ratio(self.covered as f64, self.gt)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.recalled as f64, self.gt)
    }
    pub fn mean_best_iou(&self) -> f64 {
        ratio(self.best_iou_sum, self.gt)
    }
    fn add(&mut self, o: &Score) {
        self.gt += o.gt;
        self.covered += o.covered;
        self.recalled += o.recalled;
        self.best_iou_sum += o.best_iou_sum;
    }
}

fn ratio(n: f64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n / d as f64
    }
}

/// Whether two boxes are near enough to compete for an anchor (see the module docs).
fn near(a: &Xyxy, b: &Xyxy) -> bool {
    let m = GROUP_MARGIN_PX
        + GROUP_MARGIN_REL
            * [a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]]
                .iter()
                .fold(0f32, |m, v| m.max(*v));
    a[0] <= b[2] + m && b[0] <= a[2] + m && a[1] <= b[3] + m && b[1] <= a[3] + m
}

/// Split one image's boxes into groups of mutually reachable boxes (union-find), each group in
/// the boxes' original order. With `pos < 0.5` far-apart boxes can share an anchor: one group.
fn split(boxes: &[Xyxy], pos_iou: f32) -> Vec<Vec<Xyxy>> {
    let n = boxes.len();
    if pos_iou < 0.5 {
        return if n == 0 { vec![] } else { vec![boxes.to_vec()] };
    }
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if near(&boxes[i], &boxes[j]) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut out: Vec<Vec<Xyxy>> = Vec::new();
    let mut slot: FxHashMap<usize, usize> = FxHashMap::default();
    for i in 0..n {
        let r = find(&mut parent, i);
        let k = *slot.entry(r).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[k].push(boxes[i]);
    }
    out
}

impl GtIndex {
    /// Prepare the images `assign` would process with `cfg` (its anchors are irrelevant here).
    pub fn build(ds: &Dataset, cfg: &AssignConfig, progress: &dyn Progress) -> Result<GtIndex> {
        let prep = Prepared::new(ds, cfg)?;
        let images = select_images(ds, cfg)?;
        progress.start("preparing GT", images.len() as u64);
        let per_image: Vec<Result<((u32, u32), Vec<Vec<Xyxy>>)>> = images
            .par_iter()
            .map(|&ii| {
                let (r, g) = prep.image_gt(ii)?;
                progress.inc(1);
                Ok((
                    (r.height.max(1), r.width.max(1)),
                    split(&g.boxes, cfg.pos_iou),
                ))
            })
            .collect();
        progress.finish();
        let mut index = GtIndex::default();
        let mut size_slot: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        let mut group_slot: FxHashMap<(u32, Vec<u32>), usize> = FxHashMap::default();
        for r in per_image {
            let (hw, groups) = r?;
            let next = index.sizes.len() as u32;
            let size = *size_slot.entry(hw).or_insert(next);
            if size == next {
                index.sizes.push(hw);
            }
            for boxes in groups {
                index.gt += boxes.len() as u64;
                let key = (
                    size,
                    boxes
                        .iter()
                        .flat_map(|b| b.map(f32::to_bits))
                        .collect::<Vec<u32>>(),
                );
                match group_slot.get(&key) {
                    Some(&k) => index.groups[k].copies += 1,
                    None => {
                        group_slot.insert(key, index.groups.len());
                        index.groups.push(Group {
                            size,
                            boxes,
                            copies: 1,
                        });
                    }
                }
            }
        }
        Ok(index)
    }

    /// A seeded subset of whole groups holding about `max_gt` GT boxes (all when smaller).
    pub fn sample(&self, max_gt: u64, seed: u64) -> GtIndex {
        if max_gt == 0 || self.gt <= max_gt {
            return self.clone();
        }
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        let mut rng = super::search::Rng::new(seed ^ 0x5eed_5a3b_1e00_0001);
        rng.shuffle(&mut order);
        let mut take = Vec::new();
        let mut n = 0u64;
        for k in order {
            if n >= max_gt {
                break;
            }
            n += self.groups[k].boxes.len() as u64 * self.groups[k].copies as u64;
            take.push(k);
        }
        take.sort_unstable();
        let groups: Vec<Group> = take.into_iter().map(|k| self.groups[k].clone()).collect();
        GtIndex {
            sizes: self.sizes.clone(),
            groups,
            gt: n,
        }
    }

    /// Distinct groups (the matcher calls one scoring makes).
    pub fn distinct_groups(&self) -> usize {
        self.groups.len()
    }

    /// Resized (width, height) of every GT box, with its copies: the box statistics for seeds.
    pub fn box_shapes(&self) -> Vec<(f64, f64, u32)> {
        self.groups
            .iter()
            .flat_map(|g| {
                g.boxes
                    .iter()
                    .map(move |b| ((b[2] - b[0]) as f64, (b[3] - b[1]) as f64, g.copies))
            })
            .collect()
    }

    fn grids(&self, anchors: &AnchorConfig) -> Result<Vec<Option<Grid>>> {
        let mut used = vec![false; self.sizes.len()];
        for g in &self.groups {
            used[g.size as usize] = true;
        }
        self.sizes
            .iter()
            .zip(used)
            .map(|(&(h, w), u)| {
                if u {
                    anchors.grid(h, w).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect()
    }

    /// Score `anchors` with the matcher `params` (its low-quality rule must be off: coverage is
    /// defined without it, and the best IoU does not depend on it). `exact_best`: every GT's best
    /// IoU exactly ([`match_image`]); otherwise exactly where it is ≥ min(neg, pos) and a lower
    /// bound below ([`match_foreground`], much faster for poor candidates); coverage and recall
    /// at pos are exact either way. With `per_level`, also the number of GT boxes that get a
    /// foreground anchor on each level.
    pub fn score(
        &self,
        anchors: &AnchorConfig,
        params: &MatchParams,
        exact_best: bool,
        per_level: bool,
    ) -> Result<(Score, Vec<u64>)> {
        let grids = self.grids(anchors)?;
        let nl = anchors.levels.len();
        let parts: Vec<(Score, Vec<u64>)> = self
            .groups
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut s = Score::default();
                let mut levels = vec![0u64; if per_level { nl } else { 0 }];
                let mut fg: Vec<u32> = Vec::new();
                let mut on_level: Vec<bool> = Vec::new();
                for g in chunk {
                    let grid = grids[g.size as usize]
                        .as_ref()
                        .expect("every used size has a grid");
                    let m = if exact_best {
                        match_image(grid, &g.boxes, params)
                    } else {
                        match_foreground(grid, &g.boxes, params)
                    };
                    let n = g.boxes.len();
                    fg.clear();
                    fg.resize(n, 0);
                    if per_level {
                        on_level.clear();
                        on_level.resize(n * nl, false);
                    }
                    for h in m.hits.iter().filter(|h| h.fg) {
                        fg[h.gt as usize] += 1;
                        if per_level {
                            on_level[h.gt as usize * nl + grid.locate(h.anchor).0] = true;
                        }
                    }
                    let c = g.copies as u64;
                    let mut one = Score {
                        gt: n as u64,
                        ..Default::default()
                    };
                    for j in 0..n {
                        one.covered += (fg[j] > 0) as u64;
                        one.recalled += (m.gt_best_iou[j] >= params.pos_iou) as u64;
                        one.best_iou_sum += m.gt_best_iou[j] as f64;
                    }
                    s.gt += one.gt * c;
                    s.covered += one.covered * c;
                    s.recalled += one.recalled * c;
                    s.best_iou_sum += one.best_iou_sum * c as f64;
                    if per_level {
                        for (li, l) in levels.iter_mut().enumerate() {
                            *l += (0..n).filter(|&j| on_level[j * nl + li]).count() as u64 * c;
                        }
                    }
                }
                (s, levels)
            })
            .collect();
        let mut total = Score::default();
        let mut levels = vec![0u64; if per_level { nl } else { 0 }];
        for (s, l) in &parts {
            total.add(s);
            for (a, b) in levels.iter_mut().zip(l) {
                *a += b;
            }
        }
        Ok((total, levels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_far_boxes_and_keep_touching_ones() {
        let b = |x: f32, y: f32, w: f32, h: f32| [x, y, x + w, y + h];
        let boxes = vec![
            b(0.0, 0.0, 10.0, 10.0),
            b(100.0, 100.0, 5.0, 5.0),
            b(10.0, 0.0, 10.0, 10.0),
            b(300.0, 0.0, 4.0, 4.0),
        ];
        let g = split(&boxes, 0.5);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0], vec![boxes[0], boxes[2]]);
        assert_eq!(g[1], vec![boxes[1]]);
        assert_eq!(split(&boxes, 0.3).len(), 1);
    }
}
