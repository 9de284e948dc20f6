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

/// The evaluation units that have a slot in [`Grouped`] and [`Matched`]: every unit (dense:
/// slot `s` is unit `s`), or a sorted list of units (sparse). LVIS has `K x I` units, 6M for
/// 5,000 images, of which only the verified ones (about 1 %) can hold GT or detections: arrays
/// over all of them cost more than the evaluation. A unit without a slot is empty (no GT, no
/// detection), pycocotools' `None`. Slots are in unit order either way.
#[derive(Clone, Debug)]
pub struct Units {
    n: usize,
    list: Option<std::sync::Arc<Vec<u32>>>,
}

impl Units {
    /// All `n` units, slot = unit.
    pub fn dense(n: usize) -> Units {
        Units { n, list: None }
    }
    /// Slots for the units of `list` (strictly increasing, each `< n`) only.
    pub fn sparse(n: usize, list: Vec<u32>) -> Units {
        debug_assert!(list.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(list.last().is_none_or(|&u| (u as usize) < n));
        Units {
            n,
            list: Some(std::sync::Arc::new(list)),
        }
    }
    /// Units in all (`K x I`).
    pub fn n_units(&self) -> usize {
        self.n
    }
    /// Slots in the arrays.
    pub fn n_slots(&self) -> usize {
        self.list.as_ref().map_or(self.n, |l| l.len())
    }
    /// The unit of slot `s`.
    #[inline]
    pub fn unit(&self, s: usize) -> usize {
        self.list.as_ref().map_or(s, |l| l[s] as usize)
    }
    /// The slot of unit `u`; `None` for a unit without one (empty).
    pub fn slot(&self, u: usize) -> Option<usize> {
        match &self.list {
            None => (u < self.n).then_some(u),
            Some(l) => l.binary_search(&(u as u32)).ok(),
        }
    }
    /// The slots of the units in `r` (one category's images: `k * I..(k + 1) * I`).
    pub fn slots_of(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        match &self.list {
            None => r,
            Some(l) => {
                let a = l.partition_point(|&u| (u as usize) < r.start);
                let b = l.partition_point(|&u| (u as usize) < r.end);
                a..b
            }
        }
    }
}

/// Ground truth and detections grouped into evaluation units, in pycocotools' order.
///
/// A unit is `(category k, image i)`, numbered k-major (`u = k * I + i`) so that accumulation
/// walks one category's images in sorted image-id order. With `useCats=0` there is one
/// pseudo-category. The arrays are per slot of [`Grouped::units`] (see [`Units`]).
pub struct Grouped {
    /// The units with a slot, and their slot numbers.
    pub units: Units,
    /// GT annotation indices, slot by slot.
    pub gt: Vec<u32>,
    /// Per slot, its first entry in `gt` (len slots + 1). Shared with [`Matched`], which reads
    /// each unit's GT slots through it.
    pub gt_start: std::sync::Arc<Vec<u32>>,
    /// Detection indices, slot by slot, in file order.
    pub dt: Vec<u32>,
    /// Per slot, its first entry in `dt`. Shared with [`Matched::off`] when no unit has more
    /// detections than the largest maxDet.
    pub dt_start: std::sync::Arc<Vec<u32>>,
}

/// Stable counting sort: `keys[i]` is the bucket of item `i` (`u32::MAX` = dropped); returns the
/// items grouped by bucket (file order kept inside a bucket) and `starts` (len `n + 1`). Item `i`
/// is `items[i]`, or `i` itself with `None` (no identity array to allocate for 1.5M detections).
/// With far more buckets than items (LVIS' GT: 40k boxes, 6M units) the (bucket, position)
/// pairs are sorted instead and the starts spread in one sequential pass.
fn counting_sort(n: usize, keys: &[u32], items: Option<&[u32]>) -> (Vec<u32>, Vec<u32>) {
    let item = |i: usize| items.map_or(i as u32, |v| v[i]);
    if n > 16 * keys.len() {
        let (order, keys) = sort_pairs(keys, items);
        return (order, spread_starts(n, &keys, |j| j as u32));
    }
    let mut starts = vec![0u32; n + 1];
    for &k in keys {
        if k != u32::MAX {
            starts[k as usize + 1] += 1;
        }
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    // Place with `starts[k]` as bucket k's cursor (no second array: with LVIS' millions of
    // units the copy cost more than the sort); afterwards each cursor sits at the next bucket's
    // start, so shifting by one restores the starts.
    let mut order = vec![0u32; starts[n] as usize];
    for (i, &k) in keys.iter().enumerate() {
        if k != u32::MAX {
            order[starts[k as usize] as usize] = item(i);
            starts[k as usize] += 1;
        }
    }
    for i in (1..=n).rev() {
        starts[i] = starts[i - 1];
    }
    starts[0] = 0;
    (order, starts)
}

/// The stable grouping of [`counting_sort`] by sorting `(bucket, position)` pairs: the items
/// in bucket order (file order inside a bucket) and, beside each, its bucket.
fn sort_pairs(keys: &[u32], items: Option<&[u32]>) -> (Vec<u32>, Vec<u32>) {
    let mut pairs: Vec<(u32, u32)> = keys
        .iter()
        .enumerate()
        .filter(|&(_, &k)| k != u32::MAX)
        .map(|(i, &k)| (k, i as u32))
        .collect();
    pairs.sort_unstable();
    let order = pairs
        .iter()
        .map(|&(_, i)| items.map_or(i, |v| v[i as usize]))
        .collect();
    (order, pairs.iter().map(|&(k, _)| k).collect())
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
    let n_units = setup.k() * n_img;
    // The sort key of an (image rank, category position): the unit itself with useCats (units
    // are category-major); with useCats=0 the image-major slot, whose image ranges are the units.
    let key = |r: u32, c: u32| -> u32 {
        if r == u32::MAX || c == u32::MAX {
            u32::MAX
        } else if setup.use_cats {
            c * n_img as u32 + r
        } else {
            r * n_cpos as u32 + c
        }
    };
    let n_keys = if setup.use_cats {
        n_units
    } else {
        n_img * n_cpos
    };
    let to_units = |order: Vec<u32>, starts: Vec<u32>| -> (Vec<u32>, Vec<u32>) {
        if setup.use_cats {
            (order, starts)
        } else {
            let s = (0..=n_img).map(|i| starts[i * n_cpos]).collect();
            (order, s)
        }
    };

    // GT: iteration order first (image rank, file order), then bucket by the resolved annotation.
    let anns = &gt.annotations;
    let ann_img: Vec<u32> = anns
        .par_iter()
        .map(|a| {
            gt.image_index
                .get(&a.image_id)
                .map(|&i| setup.img_rank[i as usize])
                .unwrap_or(u32::MAX)
        })
        .collect();
    let ann_cpos: Vec<u32> = anns
        .par_iter()
        .map(|a| {
            gt.category_index
                .get(&a.category_id)
                .map(|&c| setup.cat_pos[c as usize])
                .unwrap_or(u32::MAX)
        })
        .collect();
    // Files usually list annotations by increasing id: then each id is its own last occurrence
    // and no map is needed.
    let increasing = anns.windows(2).all(|w| w[0].id < w[1].id);
    let mut last_by_id: rustc_hash::FxHashMap<crate::coco::Id, u32> = Default::default();
    if !increasing {
        last_by_id.reserve(anns.len());
        for (j, a) in anns.iter().enumerate() {
            last_by_id.insert(a.id, j as u32);
        }
    }
    // getAnnIds filters on the listed annotation's category only when useCats; lvis' get_ann_ids
    // also keeps only `0 < area < inf`.
    let lvis = setup.lvis.as_ref();
    let iter_keys: Vec<u32> = (0..anns.len())
        .into_par_iter()
        .map(|j| {
            let area_out = lvis.is_some() && !(anns[j].area > 0.0 && anns[j].area < f64::INFINITY);
            if (setup.use_cats && ann_cpos[j] == u32::MAX) || area_out {
                u32::MAX
            } else {
                ann_img[j]
            }
        })
        .collect();
    let (iter_order, _) = counting_sort(n_img, &iter_keys, None);
    let resolved: Vec<u32> = if increasing {
        iter_order
    } else {
        iter_order
            .iter()
            .map(|&j| last_by_id[&anns[j as usize].id])
            .collect()
    };
    let res_keys: Vec<u32> = resolved
        .par_iter()
        .map(|&e| key(ann_img[e as usize], ann_cpos[e as usize]))
        .collect();
    // Detections: ids are 1..N in file order, so file order is the iteration order.
    let dets = &res.detections;
    if let Some(f) = lvis {
        // LVIS (federated; it implies useCats, so a key is a unit): sparse slots.
        return group_federated(dets, setup, f, n_units, &res_keys, &resolved);
    }
    let (gt_order, gt_starts) = counting_sort(n_keys, &res_keys, Some(&resolved));
    let (gt_u, gt_start) = to_units(gt_order, gt_starts);
    let dt_keys: Vec<u32> = dets
        .par_iter()
        .map(|d| {
            if d.category == u32::MAX {
                return u32::MAX;
            }
            key(
                setup.img_rank[d.image as usize],
                setup.cat_pos[d.category as usize],
            )
        })
        .collect();
    let (dt_order, dt_starts) = counting_sort(n_keys, &dt_keys, None);
    let (dt_u, dt_start) = to_units(dt_order, dt_starts);
    Grouped {
        units: Units::dense(n_units),
        gt: gt_u,
        gt_start: std::sync::Arc::new(gt_start),
        dt: dt_u,
        dt_start: std::sync::Arc::new(dt_start),
    }
}

/// The LVIS grouping, in sparse slots (see [`Units`]): a detection is scored only where its
/// category is verified present on the image (the unit has GT) or verified absent
/// (`neg_category_ids`), and only if the caps kept it; so only those verified units, a few per
/// image, get slots, and nothing touches the millions of others. `gt_keys` is the unit of each
/// GT of `gt_items` (in iteration order; `u32::MAX` = not evaluated). Each image's verified
/// categories are listed (sorted) with their slots, and the detections are counting-sorted by
/// slot (a table that stays in cache): the order a counting sort over all units would give.
fn group_federated(
    dets: &[crate::coco::Detection],
    setup: &Setup,
    f: &super::lvis::Federated,
    n_units: usize,
    gt_keys: &[u32],
    gt_items: &[u32],
) -> Grouped {
    let n_img = setup.img_ids.len();
    let (gt_order, gt_units) = sort_pairs(gt_keys, Some(gt_items));
    // Verified units in unit order (category-major, then image rank).
    let mut verified: Vec<u32> = gt_units.clone();
    verified.extend(f.neg.iter().map(|u| u as u32));
    verified.sort_unstable();
    verified.dedup();
    let mut gt_start = Vec::with_capacity(verified.len() + 1);
    let mut j = 0;
    for &u in &verified {
        gt_start.push(j as u32);
        while j < gt_units.len() && gt_units[j] == u {
            j += 1;
        }
    }
    gt_start.push(j as u32);
    // Per image rank: its verified (category position, slot), by category position.
    let mut per_img_start = vec![0u32; n_img + 1];
    for &u in &verified {
        per_img_start[u as usize % n_img + 1] += 1;
    }
    for r in 0..n_img {
        per_img_start[r + 1] += per_img_start[r];
    }
    let mut cursor = per_img_start.clone();
    let mut per_img = vec![(0u32, 0u32); verified.len()];
    for (s, &u) in verified.iter().enumerate() {
        let r = u as usize % n_img;
        per_img[cursor[r] as usize] = ((u as usize / n_img) as u32, s as u32);
        cursor[r] += 1;
    }
    drop(cursor);
    let keys: Vec<u32> = dets
        .par_iter()
        .enumerate()
        .map(|(i, d)| {
            if d.category == u32::MAX || !f.det_keep[i] {
                return u32::MAX;
            }
            let (r, c) = (
                setup.img_rank[d.image as usize],
                setup.cat_pos[d.category as usize],
            );
            if r == u32::MAX || c == u32::MAX {
                return u32::MAX;
            }
            let list = &per_img
                [per_img_start[r as usize] as usize..per_img_start[r as usize + 1] as usize];
            match list.binary_search_by_key(&c, |&(cp, _)| cp) {
                Ok(j) => list[j].1,
                Err(_) => u32::MAX,
            }
        })
        .collect();
    let (dt_order, dt_start) = counting_sort(verified.len(), &keys, None);
    Grouped {
        units: Units::sparse(n_units, verified),
        gt: gt_order,
        gt_start: std::sync::Arc::new(gt_start),
        dt: dt_order,
        dt_start: std::sync::Arc::new(dt_start),
    }
}

/// `[0, f(0), f(0) + f(1), ...]` (len `n + 1`), computed in parallel chunks (COCO's dense slots
/// run to millions for large sets); the sums are exact integers.
fn prefix_offsets(n: usize, f: impl Fn(usize) -> u32 + Sync) -> Vec<u32> {
    const CHUNK: usize = 1 << 16;
    let mut out = vec![0u32; n + 1];
    let sums: Vec<u32> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&f).sum())
        .collect();
    let mut base = Vec::with_capacity(sums.len());
    let mut acc = 0u32;
    for s in &sums {
        base.push(acc);
        acc += s;
    }
    out[1..]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, part)| {
            let mut acc = base[c];
            for (i, o) in part.iter_mut().enumerate() {
                acc += f(c * CHUNK + i);
                *o = acc;
            }
        });
    out
}

/// Starts of `n` buckets (len `n + 1`) from the sorted bucket numbers `sorted` of the items
/// that are present: bucket `u` starts at `start_of(j)`, `j` the first entry of `sorted` at or
/// after `u` (`j = sorted.len()` past the last), in one sequential pass over the buckets.
fn spread_starts(n: usize, sorted: &[u32], start_of: impl Fn(usize) -> u32 + Sync) -> Vec<u32> {
    const CHUNK: usize = 1 << 16;
    let mut starts = vec![0u32; n + 1];
    // In parallel chunks, each finding its first entry by binary search.
    starts
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, part)| {
            let u0 = c * CHUNK;
            let mut j = sorted.partition_point(|&k| (k as usize) < u0);
            for (i, s) in part.iter_mut().enumerate() {
                while j < sorted.len() && (sorted[j] as usize) < u0 + i {
                    j += 1;
                }
                *s = start_of(j);
            }
        });
    starts
}

/// Whether GT annotation `ga` is a crowd region for the IoU and the matching (LVIS never reads
/// `iscrowd`).
#[inline]
pub fn is_crowd(ga: &crate::coco::Annotation, lvis: bool) -> bool {
    ga.iscrowd && !lvis
}

/// pycocotools' `_ignore` of GT annotation `gi` in area range `rng`: `iscrowd` (its `ignore`
/// field is overwritten by it; LVIS reads `ignore` instead), keypoints without any, or the
/// `area` field outside the range (both bounds inclusive).
#[inline]
pub fn gt_ignored(
    gt: &Dataset,
    gi: u32,
    rng: &super::AreaRange,
    shapes: Option<&Shapes<'_>>,
    lvis: bool,
) -> bool {
    let ga = &gt.annotations[gi as usize];
    let flagged = if lvis { ga.ignore } else { ga.iscrowd };
    flagged || shapes.is_some_and(|sh| sh.gt_ignored(gi)) || ga.area < rng.lo || ga.area > rng.hi
}

/// The IoU matrix `[dets x gts]` (row-major) of one unit, as `computeIoU`/`computeOks` make it:
/// rows in the given (score) order, columns in the unit's GT order; box IoU for bbox, mask IoU
/// or OKS through `shapes` otherwise. `floor`: see [`Shapes::fill_ious`] (0: exact values).
#[allow(clippy::too_many_arguments)]
pub fn unit_ious(
    gt: &Dataset,
    res: &Results,
    dets: &[u32],
    gts: &[u32],
    shapes: Option<&Shapes<'_>>,
    lvis: bool,
    out: &mut Vec<f64>,
    scratch: &mut super::ShapeScratch,
    floor: f64,
) {
    match shapes {
        None => {
            for &d in dets {
                let db = &res.detections[d as usize].bbox;
                for &gi in gts {
                    let ga = &gt.annotations[gi as usize];
                    out.push(coco_box_iou(db, &ga.bbox, is_crowd(ga, lvis)));
                }
            }
        }
        Some(sh) => sh.fill_ious(gt, dets, gts, out, scratch, floor),
    }
}

/// Output of phase 1 for all units; the per-unit arrays are per slot of `units` (the
/// grouping's, see [`Units`]).
pub struct Matched {
    /// The units with a slot, as in [`Grouped::units`].
    pub units: Units,
    /// Per slot: offset into `dt_sorted` (len slots + 1); the grouping's `dt_start` itself
    /// when no unit was cut to the largest maxDet (one array less).
    pub off: std::sync::Arc<Vec<u32>>,
    /// Detection indices per unit, sorted by score (stable), cut to the largest maxDet.
    pub dt_sorted: Vec<u32>,
    /// The score of each `dt_sorted` detection, stored beside it so that accumulation reads
    /// them in sequence instead of across the whole detection array.
    pub scores: Vec<f64>,
    /// Per sorted detection: `A * T` states ([`FP`], [`TP`], [`IGNORED`]), area-major.
    pub states: Vec<u8>,
    /// Per area range, number of non-ignored GT (`npig` contributions) of the slots that have
    /// GT, at `gt_off[s] * A + a` (slots without GT contribute 0 and have no entries). Read it
    /// with [`Matched::npig`].
    npig: Vec<u32>,
    /// Per slot: its first GT in the grouping (`Grouped::gt_start`).
    gt_off: std::sync::Arc<Vec<u32>>,
    /// Per slot: pycocotools' `evaluateImg` returned `None` (no GT and no detection); units
    /// without a slot are `None` too.
    pub empty: Vec<bool>,
    /// Per sorted detection: bit 0 = some state is [`TP`], bit 1 = some state is [`IGNORED`].
    pub flags: Vec<u8>,
    /// Only when asked for ([`match_units`]' `record`): per sorted detection, area range and IoU
    /// threshold (`A * T` per detection, area-major like `states`), the position in its unit's
    /// GT (`Grouped::gt` order) of the GT it matched, or [`NO_MATCH`]. This is pycocotools'
    /// `dtMatches` (by position, not id). Read it with [`Matched::matched_gt`].
    pub gt_match: Vec<u32>,
}

/// [`Matched::gt_match`] of a detection that matched nothing.
pub const NO_MATCH: u32 = u32::MAX;

impl Matched {
    /// [`Matched::gt_match`] of sorted detection `d` at area range `a` and threshold `t`, for
    /// `n_area` ranges and `n_thr` thresholds (`None`: unmatched, or matches were not recorded).
    #[inline]
    pub fn matched_gt(
        &self,
        d: usize,
        a: usize,
        t: usize,
        n_area: usize,
        n_thr: usize,
    ) -> Option<u32> {
        self.gt_match
            .get(d * n_area * n_thr + a * n_thr + t)
            .copied()
            .filter(|&g| g != NO_MATCH)
    }

    /// Non-ignored GT of slot `s` in area range `a` (of `n_area`).
    #[inline]
    pub fn npig(&self, s: usize, a: usize, n_area: usize) -> u32 {
        let g = self.gt_off[s] as usize;
        if self.gt_off[s + 1] as usize > g {
            self.npig[g * n_area + a]
        } else {
            0
        }
    }
}

pub const HAS_TP: u8 = 1;
pub const HAS_IGNORED: u8 = 2;

/// Sort a unit's detections by descending score, stably (`np.argsort(-score, kind='mergesort')`).
/// `partial_cmp` makes `-0.0 == 0.0`, as numpy's comparison does.
pub fn sort_by_score(idx: &mut [u32], res: &Results) {
    idx.sort_by(|&a, &b| {
        let (sa, sb) = (
            res.detections[a as usize].score,
            res.detections[b as usize].score,
        );
        sb.partial_cmp(&sa).unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// A unit's detections `src` sorted as [`sort_by_score`] sorts them, into `out`: sorting
/// (descending-score key, position) pairs gives the same stable order without comparing through
/// the detections.
fn sort_unit_by_score(src: &[u32], out: &mut Vec<u32>, keyed: &mut Vec<(u64, u32)>, res: &Results) {
    keyed.clear();
    keyed.extend(src.iter().enumerate().map(|(i, &d)| {
        (
            super::accumulate::desc_key(res.detections[d as usize].score),
            i as u32,
        )
    }));
    keyed.sort_unstable();
    out.clear();
    out.extend(keyed.iter().map(|&(_, i)| src[i as usize]));
}

/// Summarise each detection's row of states into [`HAS_TP`] / [`HAS_IGNORED`] bits, once, so
/// that accumulation (which walks every row once per maxDet) can skip rows quickly.
fn set_flags(states: &[u8], flags: &mut [u8], stride: usize) {
    for (row, f) in states.chunks_exact(stride).zip(flags.iter_mut()) {
        let mut any_tp = false;
        let mut any_ig = false;
        for &x in row {
            any_tp |= x == TP;
            any_ig |= x == IGNORED;
        }
        *f = ((any_tp as u8) * HAS_TP) | ((any_ig as u8) * HAS_IGNORED);
    }
}

/// State of a detection left unmatched (or matched to a GT with id 0): ignored outside the area
/// range, and (LVIS) in a unit whose category is not exhaustively annotated on the image.
#[inline]
fn unmatched_state(det_area: f64, lo: f64, hi: f64, not_exhaustive: bool) -> u8 {
    if det_area < lo || det_area > hi || not_exhaustive {
        IGNORED
    } else {
        FP
    }
}

#[derive(Default)]
struct Scratch {
    dets: Vec<u32>,
    keyed: Vec<(u64, u32)>,
    det_area: Vec<f64>,
    best: Vec<f64>,
    /// Detections (positions in the unit, ascending) whose best IoU reaches the lowest
    /// threshold: the only ones the matching loop can change.
    cand: Vec<u32>,
    p_ig: Vec<bool>,
    p_crowd: Vec<bool>,
    p_id_nonzero: Vec<bool>,
    p_iou: Vec<f64>,
    ious: Vec<f64>,
    gt_perm: Vec<u32>,
    gt_ig: Vec<bool>,
    gtm: Vec<bool>,
    /// segm/keypoints IoU buffers.
    shape: super::ShapeScratch,
}

/// A mutable slice handed out in disjoint ranges to parallel jobs that write in place.
struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the jobs only reach the data through `range`, whose contract keeps the ranges they
// hold disjoint; `T: Send` lets each job own its range on another thread.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    fn new(v: &'a mut [T]) -> Self {
        Disjoint {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            _borrow: std::marker::PhantomData,
        }
    }
    /// `v[a..b]`, bounds-checked.
    ///
    /// # Safety
    /// While this slice lives, no other range handed out may overlap it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, a: usize, b: usize) -> &'a mut [T] {
        assert!(a <= b && b <= self.len, "Disjoint::range out of bounds");
        std::slice::from_raw_parts_mut(self.ptr.add(a), b - a)
    }
}

/// Run `evaluateImg` for every unit and area range.
///
/// `shapes` is `None` for bbox; for segm and keypoints it supplies the IoU (mask IoU or OKS), the
/// detections' loadRes areas and the keypoint GT ignore flags.
/// With `record`, also fill [`Matched::gt_match`] (the matches of the first area range).
#[allow(clippy::too_many_arguments)]
pub fn match_units(
    gt: &Dataset,
    res: &Results,
    p: &Params,
    setup: &Setup,
    g: &Grouped,
    shapes: Option<&Shapes<'_>>,
    record: bool,
    progress: &dyn crate::progress::Progress,
) -> Matched {
    let n_slots = g.units.n_slots();
    let max_det = *setup.max_dets.last().unwrap_or(&0);
    let a_n = p.area_rng.len();
    let t_n = p.iou_thrs.len();
    let at = a_n * t_n;
    let cut = g
        .dt_start
        .par_windows(2)
        .any(|w| (w[1] - w[0]) as usize > max_det);
    let off = if cut {
        std::sync::Arc::new(prefix_offsets(n_slots, |s| {
            ((g.dt_start[s + 1] - g.dt_start[s]) as usize).min(max_det) as u32
        }))
    } else {
        std::sync::Arc::clone(&g.dt_start)
    };
    let total = off[n_slots] as usize;
    let mut dt_sorted = vec![0u32; total];
    let mut scores = vec![0f64; total];
    let mut states = vec![0u8; total * at];
    let mut npig = vec![0u32; g.gt.len() * a_n];
    // Slots with neither GT nor detections are pycocotools' `None`: marked here, no job.
    let mut empty = vec![false; n_slots];
    empty
        .par_chunks_mut(1 << 16)
        .enumerate()
        .for_each(|(c, part)| {
            for (i, e) in part.iter_mut().enumerate() {
                let s = (c << 16) + i;
                *e = g.gt_start[s] == g.gt_start[s + 1] && g.dt_start[s] == g.dt_start[s + 1];
            }
        });
    let live: Vec<u32> = (0..n_slots as u32)
        .into_par_iter()
        .filter(|&s| !empty[s as usize])
        .collect();
    let mut flags = vec![0u8; total];
    let mut gt_match = if record {
        vec![NO_MATCH; total * at]
    } else {
        Vec::new()
    };
    let gm_stride = if record { at } else { 0 };

    // Each slot writes only its own ranges of the outputs: `off` (detections) and `gt_start`
    // (GT) are prefix sums, so different slots' ranges never overlap.
    struct Job<'s> {
        gts: &'s [u32],
        dts: &'s [u32],
        not_exhaustive: bool,
        dt: &'s mut [u32],
        sc: &'s mut [f64],
        fl: &'s mut [u8],
        st: &'s mut [u8],
        npig: &'s mut [u32],
        gm: &'s mut [u32],
    }
    let out_dt = Disjoint::new(&mut dt_sorted);
    let out_sc = Disjoint::new(&mut scores);
    let out_fl = Disjoint::new(&mut flags);
    let out_st = Disjoint::new(&mut states);
    let out_np = Disjoint::new(&mut npig);
    let out_gm = Disjoint::new(&mut gt_match);
    let job_of = |s: usize| -> Job<'_> {
        let (d0, d1) = (off[s] as usize, off[s + 1] as usize);
        let (g0, g1) = (g.gt_start[s] as usize, g.gt_start[s + 1] as usize);
        // SAFETY: `live` lists each slot once and the ranges of different slots are disjoint
        // (see above), so no two jobs hold overlapping slices.
        unsafe {
            Job {
                gts: &g.gt[g0..g1],
                dts: &g.dt[g.dt_start[s] as usize..g.dt_start[s + 1] as usize],
                not_exhaustive: setup
                    .lvis
                    .as_ref()
                    .is_some_and(|f| f.not_exhaustive.contains(g.units.unit(s))),
                dt: out_dt.range(d0, d1),
                sc: out_sc.range(d0, d1),
                fl: out_fl.range(d0, d1),
                st: out_st.range(d0 * at, d1 * at),
                npig: out_np.range(g0 * a_n, g1 * a_n),
                gm: out_gm.range(d0 * gm_stride, d1 * gm_stride),
            }
        }
    };

    // Run the units image by image (the results are the same in any order: each job writes only
    // its own ranges): an image's detections then stay in cache across its categories' units,
    // where the category-major order would fetch each one from memory. `live` is in unit order,
    // so the stable counting sort by image keeps the category order within an image.
    let n_img = setup.img_ids.len().max(1);
    let order = {
        let keys: Vec<u32> = live
            .iter()
            .map(|&s| (g.units.unit(s as usize) % n_img) as u32)
            .collect();
        counting_sort(n_img, &keys, Some(&live)).0
    };
    progress.start("matching", n_slots as u64);
    let anns = &gt.annotations;
    let dets = &res.detections;
    // LVIS never reads `iscrowd`: plain IoU, and its own `ignore` field marks ignored GT.
    let lvis = setup.lvis.as_ref();
    let crowd = |ga: &crate::coco::Annotation| is_crowd(ga, lvis.is_some());
    // A detection matches a GT at threshold t only with an IoU >= min(t, 1 - 1e-10).
    let match_floor = p
        .iou_thrs
        .iter()
        .map(|&t| t.min(1.0 - 1e-10))
        .fold(f64::INFINITY, f64::min);
    order
        .par_iter()
        .with_min_len(64)
        .for_each_init(Scratch::default, |s, &slot| {
            let slot = slot as usize;
            let job = job_of(slot);
            let (ne, gts, dts) = (job.not_exhaustive, job.gts, job.dts);
            if slot.is_multiple_of(4096) {
                progress.inc(4096.min(n_slots - slot) as u64);
            }
            sort_unit_by_score(dts, &mut s.dets, &mut s.keyed, res);
            s.dets.truncate(max_det);
            job.dt.copy_from_slice(&s.dets);
            for (o, &d) in job.sc.iter_mut().zip(&s.dets) {
                *o = dets[d as usize].score;
            }
            let (nd, ng) = (s.dets.len(), gts.len());
            // IoU matrix [nd x ng] in the unit's GT order (computeIoU). The matching below reads
            // only values from its lowest threshold up, so OKS certainly below it may be 0.
            s.ious.clear();
            unit_ious(
                gt,
                res,
                &s.dets,
                gts,
                shapes,
                lvis.is_some(),
                &mut s.ious,
                &mut s.shape,
                match_floor,
            );
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
                    for di in 0..nd {
                        let st = unmatched_state(s.det_area[di], rng.lo, rng.hi, ne);
                        job.st[di * stride + a * t_n..di * stride + (a + 1) * t_n].fill(st);
                    }
                }
                set_flags(job.st, job.fl, stride);
                return;
            }
            // Best IoU of each detection over the unit's GT: a detection whose best IoU is below a
            // threshold cannot match at that threshold (it needs ious[d,g] >= min(t, 1-1e-10)).
            s.best.clear();
            s.best.extend((0..nd).map(|di| {
                s.ious[di * ng..(di + 1) * ng]
                    .iter()
                    .copied()
                    .fold(0.0f64, f64::max)
            }));
            s.cand.clear();
            s.cand
                .extend((0..nd as u32).filter(|&di| s.best[di as usize] >= match_floor));
            for (a, rng) in p.area_rng.iter().enumerate() {
                // gtIg: iscrowd (the `ignore` field is overwritten by it) or area outside the range.
                s.gt_ig.clear();
                s.gt_ig.extend(
                    gts.iter()
                        .map(|&gi| gt_ignored(gt, gi, rng, shapes, lvis.is_some())),
                );
                job.npig[a] = s.gt_ig.iter().filter(|&&x| !x).count() as u32;
                // Stable sort of GT by ignore flag: non-ignored first, order kept. Everything the
                // matching loop reads is laid out in that order.
                s.gt_perm.clear();
                s.gt_perm
                    .extend((0..ng as u32).filter(|&x| !s.gt_ig[x as usize]));
                s.gt_perm
                    .extend((0..ng as u32).filter(|&x| s.gt_ig[x as usize]));
                s.p_ig.clear();
                s.p_ig
                    .extend(s.gt_perm.iter().map(|&g| s.gt_ig[g as usize]));
                s.p_crowd.clear();
                s.p_crowd.extend(
                    s.gt_perm
                        .iter()
                        .map(|&g| crowd(&anns[gts[g as usize] as usize])),
                );
                s.p_id_nonzero.clear();
                s.p_id_nonzero.extend(
                    s.gt_perm
                        .iter()
                        .map(|&g| anns[gts[g as usize] as usize].id != 0),
                );
                s.p_iou.clear();
                for di in 0..nd {
                    let row = &s.ious[di * ng..(di + 1) * ng];
                    s.p_iou.extend(s.gt_perm.iter().map(|&g| row[g as usize]));
                }
                // Prefill every (det, t) of this area as unmatched; only detections whose best IoU
                // reaches a threshold can change that at that threshold.
                for di in 0..nd {
                    let st = unmatched_state(s.det_area[di], rng.lo, rng.hi, ne);
                    job.st[di * stride + a * t_n..di * stride + (a + 1) * t_n].fill(st);
                }
                for (t, &thr) in p.iou_thrs.iter().enumerate() {
                    s.gtm.clear();
                    s.gtm.resize(ng, false);
                    let thr_eff = thr.min(1.0 - 1e-10);
                    // In score order, as pycocotools walks all of them: the others are skipped.
                    for &di in &s.cand {
                        let di = di as usize;
                        if s.best[di] < thr_eff {
                            continue;
                        }
                        let row = &s.p_iou[di * ng..(di + 1) * ng];
                        let mut iou = thr_eff;
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
                                if record {
                                    job.gm[di * stride + a * t_n + t] = s.gt_perm[mp];
                                }
                                if s.p_ig[mp] {
                                    IGNORED
                                } else if s.p_id_nonzero[mp] {
                                    TP
                                } else {
                                    unmatched_state(s.det_area[di], rng.lo, rng.hi, ne)
                                }
                            }
                            None => unmatched_state(s.det_area[di], rng.lo, rng.hi, ne),
                        };
                        job.st[di * stride + a * t_n + t] = st;
                    }
                }
            }
            set_flags(job.st, job.fl, stride);
        });
    progress.finish();
    Matched {
        units: g.units.clone(),
        off,
        dt_sorted,
        scores,
        states,
        npig,
        gt_off: std::sync::Arc::clone(&g.gt_start),
        empty,
        flags,
        gt_match,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// The stable grouping both ways: counting through every bucket (few buckets) and sorting
    /// (bucket, position) pairs (buckets outnumbering items 16:1).
    fn grouped_by_definition(n: usize, keys: &[u32], items: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let mut order = Vec::new();
        let mut starts = vec![0u32];
        for b in 0..n as u32 {
            order.extend(
                keys.iter()
                    .zip(items)
                    .filter(|(&k, _)| k == b)
                    .map(|(_, &v)| v),
            );
            starts.push(order.len() as u32);
        }
        (order, starts)
    }

    #[test]
    fn counting_sort_dense_and_sparse_group_stably() {
        let mut rng = SplitMix64::from_state(11);
        for case in 0..200 {
            let items_n = (rng.next_u64() % 40) as usize;
            // Dense (n <= 16 items) and sparse (n > 16 items) bucket counts.
            let n = if case % 2 == 0 {
                1 + (rng.next_u64() % 8) as usize
            } else {
                17 * items_n + 1 + (rng.next_u64() % 50) as usize
            };
            let keys: Vec<u32> = (0..items_n)
                .map(|_| {
                    if rng.next_u64() % 5 == 0 {
                        u32::MAX
                    } else {
                        (rng.next_u64() % n as u64) as u32
                    }
                })
                .collect();
            let items: Vec<u32> = (0..items_n as u32).map(|i| i * 3 + 1).collect();
            assert_eq!(
                counting_sort(n, &keys, Some(&items)),
                grouped_by_definition(n, &keys, &items),
                "case {}",
                case
            );
            let identity: Vec<u32> = (0..items_n as u32).collect();
            assert_eq!(
                counting_sort(n, &keys, None),
                grouped_by_definition(n, &keys, &identity),
                "case {} (identity items)",
                case
            );
        }
    }

    #[test]
    fn sparse_units_map_slots_and_ranges_as_the_list_says() {
        let mut rng = SplitMix64::from_state(23);
        for _ in 0..200 {
            let n = 1 + rng.below(300) as usize;
            let list: Vec<u32> = (0..n as u32).filter(|_| rng.below(4) == 0).collect();
            let sparse = Units::sparse(n, list.clone());
            let dense = Units::dense(n);
            assert_eq!((sparse.n_units(), sparse.n_slots()), (n, list.len()));
            assert_eq!((dense.n_units(), dense.n_slots()), (n, n));
            for u in 0..n + 2 {
                let want = list.iter().position(|&x| x as usize == u);
                assert_eq!(sparse.slot(u), want);
                assert_eq!(dense.slot(u), (u < n).then_some(u));
                if let Some(s) = want {
                    assert_eq!(sparse.unit(s), u);
                }
            }
            let a = rng.below(n as u64 + 1) as usize;
            let b = a + rng.below((n - a) as u64 + 1) as usize;
            let slots: Vec<usize> = sparse.slots_of(a..b).collect();
            let want: Vec<usize> = (0..list.len())
                .filter(|&s| (a..b).contains(&(list[s] as usize)))
                .collect();
            assert_eq!(slots, want, "units {}..{}", a, b);
            assert_eq!(dense.slots_of(a..b), a..b);
        }
    }

    #[test]
    fn unit_sort_by_keys_equals_the_stable_comparison_sort() {
        let mut rng = SplitMix64::from_state(5);
        // Few distinct scores (ties), both zeros: the orders must agree exactly.
        let scores = [0.5, 0.25, 0.0, -0.0, 1.0, 0.75, 0.5, -0.0];
        let detections: Vec<crate::coco::Detection> = (0..300)
            .map(|_| crate::coco::Detection {
                image: 0,
                category: 0,
                bbox: [0.0; 4],
                score: scores[rng.below(scores.len() as u64) as usize],
            })
            .collect();
        let res = Results {
            detections,
            ..Default::default()
        };
        let (mut out, mut keyed) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            let len = rng.below(40) as usize;
            // Units list detections in any order (with useCats=0 they are not ascending).
            let src: Vec<u32> = (0..len).map(|_| rng.below(300) as u32).collect();
            let mut want = src.clone();
            sort_by_score(&mut want, &res);
            sort_unit_by_score(&src, &mut out, &mut keyed, &res);
            assert_eq!(out, want);
        }
    }
}
