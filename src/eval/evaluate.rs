//! Phase 1 of COCOeval: group GT and detections per (image, category), compute IoUs and match
//! detections to ground truth per area range and IoU threshold (`_prepare`, `computeIoU`,
//! `evaluateImg`). Units are independent, so they run in parallel; each writes only its own slice.

use super::params::Params;
use super::{Setup, Shapes};
use crate::coco::{Dataset, Results};
use crate::geom::coco_box_iou;
use rayon::prelude::*;

/// State of one detection at one (area range, IoU threshold).
pub const FP: u8 = 0;
pub const TP: u8 = 1;
pub const IGNORED: u8 = 2;

/// Ground truth and detections grouped into evaluation units, in pycocotools' order.
///
/// A unit is `(category k, image i)`, stored k-major (`u = k * I + i`) so that accumulation walks
/// one category's images in sorted image-id order. With `useCats=0` there is one pseudo-category.
pub struct Grouped {
    /// GT annotation indices, unit by unit.
    pub gt: Vec<u32>,
    pub gt_start: Vec<u32>,
    /// Detection indices, unit by unit, in file order.
    pub dt: Vec<u32>,
    pub dt_start: Vec<u32>,
}

/// Stable counting sort of `items` by `slot`, returning (order, starts) with `starts.len() == n_slots + 1`.
fn counting_sort(n_slots: usize, items: impl Iterator<Item = (usize, u32)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; n_slots + 1];
    for (s, _) in items.clone() {
        starts[s + 1] += 1;
    }
    for i in 0..n_slots {
        starts[i + 1] += starts[i];
    }
    let mut fill = starts.clone();
    let mut order = vec![0u32; starts[n_slots] as usize];
    for (s, v) in items {
        order[fill[s] as usize] = v;
        fill[s] += 1;
    }
    (order, starts)
}

/// Group GT and detections per unit exactly as `_prepare` + `computeIoU` order them.
///
/// * GT: pycocotools iterates images in sorted id order and each image's annotations in file
///   order, and resolves every annotation id through a dict — so for a duplicated id the *last*
///   annotation with that id is used at each occurrence. The resolved annotation goes to the
///   bucket of its own image and category.
/// * With `useCats=0` a unit concatenates the image's buckets in `catIds` order.
pub fn group(gt: &Dataset, res: &Results, setup: &Setup) -> Grouped {
    let n_img = setup.img_ids.len();
    let n_cpos = setup.cat_pos_count;
    let n_slots = n_img * n_cpos;
    // Image rank and category position of GT-file indices.
    let img_rank = |image_index: u32| setup.img_rank[image_index as usize];
    let cat_pos = |category_index: u32| setup.cat_pos[category_index as usize];

    // GT: first the iteration order (image rank, file order), then bucket by the resolved ann.
    let anns = &gt.annotations;
    let mut last_by_id: rustc_hash::FxHashMap<crate::coco::Id, u32> = Default::default();
    last_by_id.reserve(anns.len());
    for (j, a) in anns.iter().enumerate() {
        last_by_id.insert(a.id, j as u32);
    }
    let ann_img = |j: usize| gt.image_index.get(&anns[j].image_id).map(|&i| img_rank(i)).unwrap_or(u32::MAX);
    let ann_cpos = |j: usize| gt.category_index.get(&anns[j].category_id).map(|&c| cat_pos(c)).unwrap_or(u32::MAX);
    let iter_items = (0..anns.len()).filter_map(|j| {
        let r = ann_img(j);
        // getAnnIds filters on the listed annotation's category only when useCats.
        if r == u32::MAX || (setup.use_cats && ann_cpos(j) == u32::MAX) {
            None
        } else {
            Some((r as usize, j as u32))
        }
    });
    let (iter_order, _) = counting_sort(n_img, iter_items);
    let resolved = iter_order.iter().filter_map(|&j| {
        let e = last_by_id[&anns[j as usize].id] as usize;
        let (r, c) = (ann_img(e), ann_cpos(e));
        if r == u32::MAX || c == u32::MAX {
            None
        } else {
            Some((r as usize * n_cpos + c as usize, e as u32))
        }
    });
    let (gt_order, gt_slot_start) = counting_sort(n_slots, resolved);

    // Detections: ids are 1..N in file order, so file order is the iteration order.
    let dets = &res.detections;
    let dt_items = dets.iter().enumerate().filter_map(|(j, d)| {
        if d.category == u32::MAX {
            return None;
        }
        let (r, c) = (img_rank(d.image), cat_pos(d.category));
        if r == u32::MAX || c == u32::MAX {
            None
        } else {
            Some((r as usize * n_cpos + c as usize, j as u32))
        }
    });
    let (dt_order, dt_slot_start) = counting_sort(n_slots, dt_items);

    // Re-index slots (image-major) into units (category-major).
    let k_units = setup.k();
    let n_units = k_units * n_img;
    let regroup = |order: &[u32], slot_start: &[u32]| -> (Vec<u32>, Vec<u32>) {
        let mut out = Vec::with_capacity(order.len());
        let mut start = Vec::with_capacity(n_units + 1);
        start.push(0u32);
        for k in 0..k_units {
            for i in 0..n_img {
                let (a, b) = if setup.use_cats {
                    (slot_start[i * n_cpos + k], slot_start[i * n_cpos + k + 1])
                } else {
                    (slot_start[i * n_cpos], slot_start[(i + 1) * n_cpos])
                };
                out.extend_from_slice(&order[a as usize..b as usize]);
                start.push(out.len() as u32);
            }
        }
        (out, start)
    };
    let (gt_u, gt_start) = regroup(&gt_order, &gt_slot_start);
    let (dt_u, dt_start) = regroup(&dt_order, &dt_slot_start);
    Grouped { gt: gt_u, gt_start, dt: dt_u, dt_start }
}

/// Output of phase 1 for all units.
pub struct Matched {
    /// Per unit: offset into `dt_sorted` (len `n_units + 1`).
    pub off: Vec<u32>,
    /// Detection indices per unit, sorted by score (stable), cut to the largest maxDet.
    pub dt_sorted: Vec<u32>,
    /// Per sorted detection: `A * T` states ([`FP`], [`TP`], [`IGNORED`]), area-major.
    pub states: Vec<u8>,
    /// Per unit and area range: number of non-ignored GT (`npig` contributions).
    pub npig: Vec<u32>,
    /// Per unit: pycocotools' `evaluateImg` returned `None` (no GT and no detection).
    pub empty: Vec<bool>,
}

/// Sort a unit's detections by descending score, stably (`np.argsort(-score, kind='mergesort')`).
/// `partial_cmp` makes `-0.0 == 0.0`, as numpy's comparison does.
pub fn sort_by_score(idx: &mut [u32], res: &Results) {
    idx.sort_by(|&a, &b| {
        let (sa, sb) = (res.detections[a as usize].score, res.detections[b as usize].score);
        sb.partial_cmp(&sa).unwrap_or(std::cmp::Ordering::Equal)
    });
}

#[inline]
fn unmatched_state(det_area: f64, lo: f64, hi: f64) -> u8 {
    if det_area < lo || det_area > hi {
        IGNORED
    } else {
        FP
    }
}

#[derive(Default)]
struct Scratch {
    dets: Vec<u32>,
    det_area: Vec<f64>,
    p_ig: Vec<bool>,
    p_crowd: Vec<bool>,
    p_id_nonzero: Vec<bool>,
    p_iou: Vec<f64>,
    ious: Vec<f64>,
    gt_perm: Vec<u32>,
    gt_ig: Vec<bool>,
    gtm: Vec<bool>,
    /// Per-keypoint OKS terms (keypoints only).
    terms: Vec<f64>,
}

/// Run `evaluateImg` for every unit and area range.
///
/// `shapes` is `None` for bbox; for segm and keypoints it supplies the IoU (mask IoU or OKS), the
/// detections' loadRes areas and the keypoint GT ignore flags.
pub fn match_units(gt: &Dataset, res: &Results, p: &Params, setup: &Setup, g: &Grouped, shapes: Option<&Shapes<'_>>, progress: &dyn crate::progress::Progress) -> Matched {
    let n_units = g.gt_start.len() - 1;
    let max_det = *setup.max_dets.last().unwrap_or(&0);
    let a_n = p.area_rng.len();
    let t_n = p.iou_thrs.len();
    let at = a_n * t_n;
    let mut off = Vec::with_capacity(n_units + 1);
    off.push(0u32);
    for u in 0..n_units {
        let d = (g.dt_start[u + 1] - g.dt_start[u]) as usize;
        off.push(off[u] + d.min(max_det) as u32);
    }
    let total = off[n_units] as usize;
    let mut dt_sorted = vec![0u32; total];
    let mut states = vec![0u8; total * at];
    let mut npig = vec![0u32; n_units * a_n];
    let mut empty = vec![false; n_units];

    // Split the outputs into per-unit slices so units can run in parallel without sharing.
    struct Job<'s> {
        u: usize,
        dt: &'s mut [u32],
        st: &'s mut [u8],
        npig: &'s mut [u32],
        empty: &'s mut bool,
    }
    let mut jobs: Vec<Job<'_>> = Vec::with_capacity(n_units);
    {
        let mut dt_rest: &mut [u32] = &mut dt_sorted;
        let mut st_rest: &mut [u8] = &mut states;
        let mut np_rest: &mut [u32] = &mut npig;
        let mut em_rest: &mut [bool] = &mut empty;
        for u in 0..n_units {
            let d = (off[u + 1] - off[u]) as usize;
            let (a, b) = std::mem::take(&mut dt_rest).split_at_mut(d);
            dt_rest = b;
            let (c, e) = std::mem::take(&mut st_rest).split_at_mut(d * at);
            st_rest = e;
            let (f, h) = std::mem::take(&mut np_rest).split_at_mut(a_n);
            np_rest = h;
            let (x, y) = std::mem::take(&mut em_rest).split_at_mut(1);
            em_rest = y;
            jobs.push(Job { u, dt: a, st: c, npig: f, empty: &mut x[0] });
        }
    }

    progress.start("matching", n_units as u64);
    let anns = &gt.annotations;
    let dets = &res.detections;
    jobs.par_iter_mut().with_min_len(64).for_each_init(
        Scratch::default,
        |s, job| {
            let u = job.u;
            let gts = &g.gt[g.gt_start[u] as usize..g.gt_start[u + 1] as usize];
            let dts = &g.dt[g.dt_start[u] as usize..g.dt_start[u + 1] as usize];
            if u % 4096 == 0 {
                progress.inc(4096.min(n_units - u) as u64);
            }
            if gts.is_empty() && dts.is_empty() {
                *job.empty = true;
                return;
            }
            s.dets.clear();
            s.dets.extend_from_slice(dts);
            sort_by_score(&mut s.dets, res);
            s.dets.truncate(max_det);
            job.dt.copy_from_slice(&s.dets);
            let (nd, ng) = (s.dets.len(), gts.len());
            // IoU matrix [nd x ng] in the unit's GT order (computeIoU).
            s.ious.clear();
            match shapes {
                None => {
                    for &d in &s.dets {
                        let db = &dets[d as usize].bbox;
                        for &gi in gts {
                            let ga = &anns[gi as usize];
                            s.ious.push(coco_box_iou(db, &ga.bbox, ga.iscrowd));
                        }
                    }
                }
                Some(sh) => sh.fill_ious(gt, &s.dets, gts, &mut s.ious, &mut s.terms),
            }
            // Detection areas as loadRes sets them (box area; mask or keypoint-extent area in
            // its segm/keypoints branches), once per unit.
            s.det_area.clear();
            s.det_area.extend(s.dets.iter().map(|&d| match shapes {
                None => dets[d as usize].area(),
                Some(sh) => sh.dt.areas[d as usize],
            }));
            let stride = a_n * t_n;
            if ng == 0 {
                // No GT: every detection is unmatched; only the area test differs per range.
                for (a, rng) in p.area_rng.iter().enumerate() {
                    job.npig[a] = 0;
                    for di in 0..nd {
                        let st = unmatched_state(s.det_area[di], rng.lo, rng.hi);
                        job.st[di * stride + a * t_n..di * stride + (a + 1) * t_n].fill(st);
                    }
                }
                return;
            }
            for (a, rng) in p.area_rng.iter().enumerate() {
                // gtIg: iscrowd (the `ignore` field is overwritten by it) or area outside the range.
                s.gt_ig.clear();
                s.gt_ig.extend(gts.iter().map(|&gi| {
                    let ga = &anns[gi as usize];
                    ga.iscrowd || shapes.is_some_and(|sh| sh.gt_ignored(gi)) || ga.area < rng.lo || ga.area > rng.hi
                }));
                job.npig[a] = s.gt_ig.iter().filter(|&&x| !x).count() as u32;
                // Stable sort of GT by ignore flag: non-ignored first, order kept. Everything the
                // matching loop reads is laid out in that order.
                s.gt_perm.clear();
                s.gt_perm.extend((0..ng as u32).filter(|&x| !s.gt_ig[x as usize]));
                s.gt_perm.extend((0..ng as u32).filter(|&x| s.gt_ig[x as usize]));
                s.p_ig.clear();
                s.p_ig.extend(s.gt_perm.iter().map(|&g| s.gt_ig[g as usize]));
                s.p_crowd.clear();
                s.p_crowd.extend(s.gt_perm.iter().map(|&g| anns[gts[g as usize] as usize].iscrowd));
                s.p_id_nonzero.clear();
                s.p_id_nonzero.extend(s.gt_perm.iter().map(|&g| anns[gts[g as usize] as usize].id != 0));
                s.p_iou.clear();
                for di in 0..nd {
                    let row = &s.ious[di * ng..(di + 1) * ng];
                    s.p_iou.extend(s.gt_perm.iter().map(|&g| row[g as usize]));
                }
                for (t, &thr) in p.iou_thrs.iter().enumerate() {
                    s.gtm.clear();
                    s.gtm.resize(ng, false);
                    for di in 0..nd {
                        let row = &s.p_iou[di * ng..(di + 1) * ng];
                        let mut iou = thr.min(1.0 - 1e-10);
                        let mut m: Option<usize> = None; // position in the sorted GT
                        for pos in 0..ng {
                            if s.gtm[pos] && !s.p_crowd[pos] {
                                continue;
                            }
                            if let Some(mp) = m {
                                if !s.p_ig[mp] && s.p_ig[pos] {
                                    break;
                                }
                            }
                            let v = row[pos];
                            if v < iou {
                                continue;
                            }
                            iou = v;
                            m = Some(pos);
                        }
                        // pycocotools: a match sets dtIg = gtIg[m] and dtm = gt id; then
                        // dtIg |= (dtm == 0) & (det area outside the range). A GT with id 0 leaves
                        // dtm == 0, so its match reads as unmatched (a false positive): a quirk we keep.
                        let st = match m {
                            Some(mp) => {
                                s.gtm[mp] = true;
                                if s.p_ig[mp] {
                                    IGNORED
                                } else if s.p_id_nonzero[mp] {
                                    TP
                                } else {
                                    unmatched_state(s.det_area[di], rng.lo, rng.hi)
                                }
                            }
                            None => unmatched_state(s.det_area[di], rng.lo, rng.hi),
                        };
                        job.st[di * stride + a * t_n + t] = st;
                    }
                }
            }
        },
    );
    progress.finish();
    Matched { off, dt_sorted, states, npig, empty }
}
