//! COCO evaluation, bit-for-bit with pycocotools 2.0.11's `COCOeval`, split along its three
//! phases: [`evaluate`] (grouping, IoU, matching), [`accumulate`] (precision/recall arrays) and
//! [`summarize`] (the stats and their printed lines). Parallel over independent units with a
//! fixed output order, so results never depend on the thread count.

pub mod accumulate;
pub mod evaluate;
pub mod images;
pub mod keypoints;
pub mod lvis;
pub mod params;
pub mod resample;
pub mod summarize;

use crate::coco::shapes::{DtShapes, GtShapes};
use crate::coco::{Dataset, Id, Results};
use crate::error::{Error, Result};
use crate::mask;
use crate::progress::Progress;
pub use accumulate::Arrays;
pub use params::{AreaRange, IouType, Params, Protocol};

/// Resolved evaluation sets (what `evaluate()` derives from the params).
pub struct Setup {
    /// Sorted unique evaluated image ids.
    pub img_ids: Vec<Id>,
    /// Per GT image index: rank in `img_ids`, or `u32::MAX` if not evaluated.
    pub img_rank: Vec<u32>,
    /// Category ids in evaluation order: sorted unique with useCats; as given (deduplicated) without.
    pub cat_ids: Vec<Id>,
    /// Per GT category index: position in `cat_ids`, or `u32::MAX`.
    pub cat_pos: Vec<u32>,
    pub cat_pos_count: usize,
    pub use_cats: bool,
    /// Sorted maxDets.
    pub max_dets: Vec<usize>,
    /// The LVIS protocol's filters; `None` for COCO.
    pub lvis: Option<lvis::Federated>,
}

impl Setup {
    /// Number of category slots in the arrays (K): 1 with useCats=0.
    pub fn k(&self) -> usize {
        if self.use_cats {
            self.cat_ids.len()
        } else {
            1
        }
    }
}

/// Per-category summary row.
#[derive(Debug, Clone)]
pub struct ClassRow {
    pub category_id: Id,
    pub name: String,
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub ap_small: f64,
    pub ap_medium: f64,
    pub ap_large: f64,
    pub ar100: f64,
    /// LVIS: the category's frequency group (r, c, f).
    pub frequency: Option<String>,
}

/// Everything an evaluation produces.
pub struct Evaluation {
    pub params: Params,
    pub img_ids: Vec<Id>,
    /// Category ids of the K axis (`[-1]` with useCats=0, as pycocotools rewrites it).
    pub cat_ids: Vec<Id>,
    pub max_dets: Vec<usize>,
    pub arrays: Arrays,
    pub stats: Vec<f64>,
    pub stat_names: Vec<String>,
    pub lines: Vec<String>,
    pub counts: Counts,
    /// Quirks that fired and data that was dropped, for stderr.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub images: usize,
    pub gt: usize,
    pub dets: usize,
}

fn resolve(gt: &Dataset, p: &Params) -> Result<Setup> {
    let mut img_ids = match &p.img_ids {
        None => gt.sorted_image_ids(),
        Some(v) => {
            for id in v {
                if !gt.image_index.contains_key(id) {
                    return Err(Error::input(format!(
                        "--img-ids: image id {} is not in the ground truth",
                        id
                    ))
                    .with_hint("list only ids that appear in the GT file's \"images\""));
                }
            }
            v.clone()
        }
    };
    img_ids.sort_unstable();
    img_ids.dedup();
    let cat_ids: Vec<Id> = match &p.cat_ids {
        None => gt.sorted_category_ids(),
        Some(v) => {
            for id in v {
                if !gt.category_index.contains_key(id) {
                    return Err(Error::input(format!(
                        "--cat-ids: category id {} is not in the ground truth",
                        id
                    ))
                    .with_hint("list only ids that appear in the GT file's \"categories\""));
                }
            }
            let mut c = v.clone();
            if p.use_cats {
                c.sort_unstable();
                c.dedup();
            } else {
                let mut seen = rustc_hash::FxHashSet::default();
                c.retain(|x| seen.insert(*x));
            }
            c
        }
    };
    // numpy quirk: `np.unique` turns a list mixing int64-range ids with ids in [2^63, 2^64) into
    // float64, and pycocotools' dict lookups then find only ids that float64 represents exactly.
    let img_lossy = numpy_makes_float64(&img_ids);
    let cat_lossy = p.use_cats && numpy_makes_float64(&cat_ids);
    let rank: rustc_hash::FxHashMap<Id, u32> = img_ids
        .iter()
        .enumerate()
        .filter(|(_, &id)| !img_lossy || float64_exact(id))
        .map(|(i, &id)| (id, i as u32))
        .collect();
    let img_rank = gt
        .images
        .iter()
        .map(|im| rank.get(&im.id).copied().unwrap_or(u32::MAX))
        .collect();
    let cpos: rustc_hash::FxHashMap<Id, u32> = cat_ids
        .iter()
        .enumerate()
        .filter(|(_, &id)| !cat_lossy || float64_exact(id))
        .map(|(i, &id)| (id, i as u32))
        .collect();
    let cat_pos = gt
        .categories
        .iter()
        .map(|c| cpos.get(&c.id).copied().unwrap_or(u32::MAX))
        .collect();
    if p.max_dets.is_empty() {
        return Err(Error::input("--max-dets: at least one value is needed")
            .with_hint("e.g. --max-dets 1,10,100"));
    }
    if p.area_rng.is_empty() {
        return Err(Error::input("--area-rng: at least one range is needed")
            .with_hint("e.g. --area-rng all:0,1e10"));
    }
    Ok(Setup {
        cat_pos_count: cat_ids.len(),
        img_ids,
        img_rank,
        cat_ids,
        cat_pos,
        use_cats: p.use_cats,
        max_dets: p.sorted_max_dets(),
        lvis: None,
    })
}

/// Whether numpy would store these Python ints as float64: some fit int64 and some only uint64
/// (numpy's common type of int64 and uint64 is float64), and none needs Python objects.
pub fn numpy_makes_float64(ids: &[Id]) -> bool {
    let (lo, hi) = (i64::MIN as i128, u64::MAX as i128);
    let all_fit = ids.iter().all(|&x| x >= lo && x <= hi);
    let some_signed = ids.iter().any(|&x| x <= i64::MAX as i128);
    let some_unsigned_only = ids.iter().any(|&x| x > i64::MAX as i128);
    all_fit && some_signed && some_unsigned_only
}

/// Whether float64 represents this id exactly.
pub fn float64_exact(id: Id) -> bool {
    let f = id as f64;
    f.is_finite() && (f as i128) == id && f < 1.8446744073709552e19 * 2.0
}

/// Notes on pycocotools quirks that change numbers and on data it drops silently.
fn quirk_notes(
    gt: &Dataset,
    res: &Results,
    p: &Params,
    setup: &Setup,
    grouped: &evaluate::Grouped,
) -> Vec<String> {
    let mut notes = Vec::new();
    if numpy_makes_float64(&setup.img_ids) {
        let lost = setup.img_ids.iter().filter(|&&x| !float64_exact(x)).count();
        notes.push(format!(
            "image ids mix int64-range values with values >= 2^63: numpy turns them into float64 and pycocotools silently skips the {} image(s) whose id float64 cannot hold exactly (kept for parity; renumber ids below 2^63 to evaluate them)",
            lost
        ));
    }
    if setup.use_cats && numpy_makes_float64(&setup.cat_ids) {
        notes.push("category ids mix int64-range values with values >= 2^63: pycocotools (via numpy float64) skips categories whose id float64 cannot hold exactly (kept for parity)".into());
    }
    if res.detections.is_empty() {
        notes.push("the results file is empty: pycocotools' loadRes would crash here; every category with ground truth scores 0".into());
    }
    if res.unknown_category > 0 {
        notes.push(format!(
            "{} detection(s) have a category_id absent from the ground truth's categories; pycocotools drops them silently, so do we",
            res.unknown_category
        ));
    }
    if p.protocol == Protocol::Lvis {
        let fed = setup.lvis.as_ref();
        let capped = fed
            .map(|f| f.det_keep.iter().filter(|&&k| !k).count())
            .unwrap_or(0);
        let kept = grouped.dt.len();
        notes.push(format!(
            "LVIS protocol: {} of {} detection(s) scored ({} dropped by the per-image cap or area <= 0, the rest on images where their category is neither verified present nor verified absent)",
            kept,
            res.detections.len(),
            capped
        ));
        return notes;
    }
    if p.iou_type != IouType::Keypoints && !setup.max_dets.contains(&100) {
        notes.push("stat 0 (AP @[.50:.95, all]) is -1: pycocotools selects maxDets=100 by value for it and 100 is not among --max-dets".into());
    }
    if p.iou_type != IouType::Keypoints && setup.max_dets.len() < 3 {
        notes.push("fewer than 3 --max-dets: pycocotools' summarize raises IndexError here; the stats use the largest value where a 2nd/3rd is expected".into());
    }
    let id0 = grouped
        .gt
        .iter()
        .filter(|&&g| gt.annotations[g as usize].id == 0)
        .count();
    if id0 > 0 {
        notes.push(format!("{} ground-truth annotation(s) have id 0: pycocotools cannot tell their matches from 'unmatched', so their detections count as false positives (kept for parity)", id0));
    }
    let mut ids: Vec<Id> = gt.annotations.iter().map(|a| a.id).collect();
    ids.sort_unstable();
    let dups = ids.windows(2).filter(|w| w[0] == w[1]).count();
    if dups > 0 {
        notes.push(format!("{} duplicated annotation id(s) in the ground truth: pycocotools keeps the last annotation of each id and uses it at every occurrence (kept for parity)", dups));
    }
    let orphans = gt
        .annotations
        .iter()
        .filter(|a| !gt.image_index.contains_key(&a.image_id))
        .count();
    if orphans > 0 {
        notes.push(format!("{} ground-truth annotation(s) refer to image ids absent from \"images\"; pycocotools never evaluates them", orphans));
    }
    let uncat = gt
        .annotations
        .iter()
        .filter(|a| !gt.category_index.contains_key(&a.category_id))
        .count();
    if uncat > 0 {
        notes.push(format!("{} ground-truth annotation(s) have a category_id absent from \"categories\"; pycocotools never evaluates them", uncat));
    }
    notes
}

/// Per-thread buffers of [`Shapes::fill_ious`].
#[derive(Default)]
pub struct ShapeScratch {
    /// Per-keypoint OKS terms.
    terms: Vec<f64>,
    /// A detection's decoded mask.
    mask: crate::coco::shapes::MaskScratch,
    /// A `plain` GT mask's counts, rebuilt for a pair with a detection that is not plain
    /// ([`GtShapes::mask`]).
    gt_counts: Vec<u32>,
}

/// What segm and keypoints evaluation compare beyond boxes (see [`crate::coco::shapes`]).
pub struct Shapes<'a> {
    pub iou_type: IouType,
    pub gt: &'a GtShapes,
    pub dt: &'a DtShapes,
    /// keypoints: per GT annotation, prepared for OKS.
    gt_kps: Vec<keypoints::GtKeypoints>,
    /// keypoints: `(2σ)²` per keypoint.
    vars: Vec<f64>,
    /// keypoints with useCats=0: pycocotools' `computeOks` looks up `_gts[img, -1]`, finds
    /// nothing and returns no OKS, so nothing matches.
    no_oks: bool,
    /// LVIS: `iscrowd` is never read (every IoU is the plain one).
    ignore_crowd: bool,
}

impl<'a> Shapes<'a> {
    pub fn new(
        gt: &Dataset,
        gt_shapes: &'a GtShapes,
        dt_shapes: &'a DtShapes,
        p: &Params,
    ) -> Shapes<'a> {
        let k = p.kpt_sigmas.len();
        let gt_kps = if p.iou_type == IouType::Keypoints {
            use rayon::prelude::*;
            gt.annotations
                .par_iter()
                .enumerate()
                .map(|(i, a)| {
                    keypoints::GtKeypoints::new(
                        &gt_shapes.keypoints[i * 3 * k..(i + 1) * 3 * k],
                        &a.bbox,
                        a.area,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        Shapes {
            iou_type: p.iou_type,
            gt: gt_shapes,
            dt: dt_shapes,
            gt_kps,
            vars: keypoints::variances(&p.kpt_sigmas),
            no_oks: !p.use_cats,
            ignore_crowd: p.protocol == Protocol::Lvis,
        }
    }

    /// keypoints: `ignore = num_keypoints == 0 or iscrowd` (the iscrowd part is the caller's).
    #[inline]
    pub fn gt_ignored(&self, gt_index: u32) -> bool {
        self.iou_type == IouType::Keypoints && self.gt.no_keypoints[gt_index as usize]
    }

    /// IoU matrix `[dets x gts]` (row-major) of one unit: mask IoU (`rleIou`) or OKS. With
    /// `floor > 0` an OKS certainly below it may be given as 0 (see [`keypoints::oks`]): for
    /// matching, which reads only values from its lowest threshold up; 0 gives exact values.
    pub fn fill_ious(
        &self,
        gt: &Dataset,
        dets: &[u32],
        gts: &[u32],
        out: &mut Vec<f64>,
        scratch: &mut ShapeScratch,
        floor: f64,
    ) {
        let crowd = |g: usize| gt.annotations[g].iscrowd && !self.ignore_crowd;
        match self.iou_type {
            IouType::Keypoints => {
                for &d in dets {
                    let dk = self.dt.keypoints.get(d as usize);
                    for &g in gts {
                        out.push(if self.no_oks {
                            0.0
                        } else {
                            keypoints::oks(
                                dk,
                                &self.gt_kps[g as usize],
                                &self.vars,
                                &mut scratch.terms,
                                floor,
                            )
                        });
                    }
                }
            }
            _ => {
                let dm = &self.dt.masks;
                for &d in dets {
                    let d = d as usize;
                    let di = dm.info(d);
                    let row = out.len();
                    // First the pre-check of every pair (it returns only 0 or -1, so NaN marks
                    // the pairs that need the runs); the detection's mask is decoded once, and
                    // only if some pair gets past it (most do not).
                    let (mut need_runs, mut need_counts) = (false, false);
                    for &g in gts {
                        let g = g as usize;
                        let gi = &self.gt.mask_info[g];
                        let v = mask::iou_precheck(di, gi, crowd(g));
                        need_runs |= v.is_none();
                        need_counts |= v.is_none() && !gi.plain;
                        out.push(v.unwrap_or(f64::NAN));
                    }
                    let mut pending = out[row..]
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_nan())
                        .map(|(k, _)| k);
                    if let (Some(k), None) = (pending.next(), pending.next()) {
                        // One pair to compare (the common case): count its intersection while
                        // decoding, which stops past the GT's last run.
                        let g = gts[k] as usize;
                        if di.plain && self.gt.mask_info[g].plain {
                            let gm = self.gt.mask(g, true, &mut scratch.gt_counts);
                            if let Some(i) = dm.intersect_text(d, gm.runs) {
                                out[row + k] = mask::iou_of_intersection(di, gm.info, i, crowd(g));
                                continue;
                            }
                        }
                    }
                    if need_runs {
                        let dref = dm.get(d, need_counts, &mut scratch.mask);
                        for (v, &g) in out[row..].iter_mut().zip(gts) {
                            if v.is_nan() {
                                let g = g as usize;
                                let gm = self.gt.mask(g, dref.info.plain, &mut scratch.gt_counts);
                                *v = mask::iou_runs(dref, gm, crowd(g));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Evaluate `res` against `gt` with `p` (bbox; segm and keypoints need [`run_with`]).
pub fn run(gt: &Dataset, res: &Results, p: &Params, progress: &dyn Progress) -> Result<Evaluation> {
    run_with(gt, res, None, p, progress)
}

/// Evaluate with the shapes segm/keypoints compare (`None` for bbox).
pub fn run_with(
    gt: &Dataset,
    res: &Results,
    shapes: Option<&Shapes<'_>>,
    p: &Params,
    progress: &dyn Progress,
) -> Result<Evaluation> {
    run_detailed(gt, res, shapes, p, false, progress).map(|(ev, _)| ev)
}

/// The per-image results behind an [`Evaluation`], for analyses that re-read them (diagnose):
/// the resolved sets, the grouping into (category, image) units and the per-detection matches.
pub struct Detail {
    pub setup: Setup,
    pub grouped: evaluate::Grouped,
    pub matched: evaluate::Matched,
}

/// [`run_with`], keeping the [`Detail`]; `record_matches` fills [`evaluate::Matched::gt_match`].
pub fn run_detailed(
    gt: &Dataset,
    res: &Results,
    shapes: Option<&Shapes<'_>>,
    p: &Params,
    record_matches: bool,
    progress: &dyn Progress,
) -> Result<(Evaluation, Detail)> {
    if p.iou_type != IouType::Bbox && shapes.is_none() {
        return Err(Error::internal(format!(
            "{} evaluation needs the segmentations/keypoints (load them with coco::shapes)",
            p.iou_type.name()
        )));
    }
    if p.iou_type == IouType::Keypoints && p.kpt_sigmas.is_empty() {
        return Err(Error::input("--kpt-sigmas: at least one sigma is needed")
            .with_hint("e.g. COCO's 17: --kpt-sigmas .026,.025,.025,..."));
    }
    if p.protocol == Protocol::Coco {
        if let Some(e) = &gt.missing_iscrowd {
            return Err(e.clone());
        }
    }
    let timer = crate::progress::PhaseTimer::from_env();
    let mut setup = resolve(gt, p)?;
    let mut groups: [Vec<usize>; 3] = Default::default();
    if p.protocol == Protocol::Lvis {
        if p.iou_type == IouType::Keypoints || !p.use_cats {
            return Err(
                Error::input("the LVIS protocol evaluates bbox or segm with categories")
                    .with_hint("drop --no-cats / --iou-type keypoints, or use --protocol coco"),
            );
        }
        if setup.max_dets.len() != 1 {
            return Err(Error::input("--max-dets: the LVIS protocol takes one value (detections kept per image; 300 by default)").with_hint("e.g. --max-dets 300"));
        }
        let area = |i: usize| match shapes {
            None => res.detections[i].area(),
            Some(sh) => sh.dt.areas[i],
        };
        setup.lvis = Some(lvis::federated(gt, res, &area, p, &setup));
        groups = lvis::freq_groups(gt, &setup);
        timer.lap("LVIS filters (per-image cap, area, verified units)");
    }
    let grouped = evaluate::group(gt, res, &setup);
    let notes = quirk_notes(gt, res, p, &setup, &grouped);
    timer.lap("index (group per image and category)");
    let matched = evaluate::match_units(
        gt,
        res,
        p,
        &setup,
        &grouped,
        shapes,
        record_matches,
        progress,
    );
    timer.lap("IoU + match");
    let arrays = accumulate::accumulate(
        &setup,
        &p.iou_thrs,
        &p.rec_thrs,
        p.area_rng.len(),
        setup.img_ids.len(),
        &matched,
    );
    timer.lap("accumulate");
    let specs = if p.protocol == Protocol::Lvis {
        lvis::stat_specs(p, &groups)
    } else {
        summarize::stat_specs(p)
    };
    // Each stat is computed on its own (in its own fixed order), so they run in parallel.
    let stats: Vec<f64> = {
        use rayon::prelude::*;
        specs
            .par_iter()
            .map(|s| summarize::summarize_one(&arrays, p, &setup.max_dets, s, None))
            .collect()
    };
    timer.lap("summarize");
    let lines = specs
        .iter()
        .zip(&stats)
        .map(|(s, &v)| {
            if p.protocol == Protocol::Lvis {
                lvis::format_line(s, p, v)
            } else {
                summarize::format_line(s, p, v)
            }
        })
        .collect();
    let counts = Counts {
        images: setup.img_ids.len(),
        gt: grouped.gt.len(),
        dets: grouped.dt.len(),
    };
    let cat_ids = if setup.use_cats {
        setup.cat_ids.clone()
    } else {
        vec![-1]
    };
    let ev = Evaluation {
        params: p.clone(),
        img_ids: setup.img_ids.clone(),
        cat_ids,
        max_dets: setup.max_dets.clone(),
        arrays,
        stats,
        stat_names: specs.iter().map(|s| s.name.to_string()).collect(),
        lines,
        counts,
        notes,
    };
    Ok((
        ev,
        Detail {
            setup,
            grouped,
            matched,
        },
    ))
}

impl Evaluation {
    /// Per-category AP/AR with the same selection rules as the summary stats of the same name.
    pub fn per_class(&self, gt: &Dataset) -> Vec<ClassRow> {
        let lvis = self.params.protocol == Protocol::Lvis;
        let specs = if lvis {
            lvis::stat_specs(&self.params, &Default::default())
        } else {
            summarize::stat_specs(&self.params)
        };
        let ar_name = if lvis {
            specs[9].name.clone()
        } else {
            "AR100".to_string()
        };
        let find = |name: &str| specs.iter().find(|s| s.name == name).cloned();
        let val = |name: &str, k: usize| -> f64 {
            match find(name) {
                Some(s) => summarize::summarize_one(
                    &self.arrays,
                    &self.params,
                    &self.max_dets,
                    &s,
                    Some(k),
                ),
                None => -1.0,
            }
        };
        // One row per category, each computed on its own: in parallel, the same values.
        use rayon::prelude::*;
        self.cat_ids
            .par_iter()
            .enumerate()
            .map(|(k, &id)| ClassRow {
                category_id: id,
                name: gt
                    .category_index
                    .get(&id)
                    .map(|&i| gt.categories[i as usize].name.clone())
                    .unwrap_or_else(|| "all".into()),
                ap: val("AP", k),
                ap50: val("AP50", k),
                ap75: val("AP75", k),
                ap_small: val("APs", k),
                ap_medium: val("APm", k),
                ap_large: val("APl", k),
                ar100: val(&ar_name, k),
                frequency: gt
                    .category_index
                    .get(&id)
                    .and_then(|&i| gt.categories[i as usize].frequency.clone())
                    .filter(|_| lvis),
            })
            .collect()
    }
}
