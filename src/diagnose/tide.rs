//! TIDE (Bolya et al., ECCV 2020) exactly as the authors' `tidecv` 1.0.1 computes it: its own
//! per-image matching, error classification, "fix one error type and recompute" procedure and
//! 101-point AP. This is the one place that variant lives; it shares the data model
//! ([`crate::coco`]) and THE IoU ([`crate::geom::coco_box_iou`] for boxes, the evaluator's
//! [`crate::eval::Shapes::fill_ious`] for masks) with the evaluator, not its matching.
//!
//! Where tidecv differs from pycocotools' `COCOeval` (each item changes numbers; see
//! docs/diagnose.md, section TIDE):
//! - **One IoU threshold, matching across classes.** Per image (not per image and category), the
//!   top 100 detections *of all classes together* (stable sort by descending score) are matched
//!   greedily to the non-crowd GT: each takes the GT of its own class with the highest IoU
//!   (first such GT on ties) if that IoU `>= pos_thr`, and that GT is then used up. pycocotools
//!   keeps 100 detections per image *and category*.
//! - **Crowds are ignore regions, applied after matching.** A crowd annotation never takes part in
//!   the matching; an unmatched detection of its class (or of any class, for `category_id` -1)
//!   whose crowd IoU (intersection over the detection's area) is `> pos_thr` (strictly) is
//!   ignored. pycocotools lets crowds be matched (with `>=`) in its match loop and lets a
//!   non-crowd GT win first. The GT `ignore` field and the area are not read.
//! - **Its own AP.** Per class: precision/recall over all its detections (stable sort by
//!   descending score, ties in insertion order), precision made monotone, then sampled at 101
//!   recall points `k/100` with `searchsorted(recalls, k/100, side='left')` and averaged
//!   (`sum / 101 * 100`, percent). Unlike pycocotools, a class that has detections but no GT
//!   scores 0 and *counts* in the mean (pycocotools gives it -1 and skips it), and so does every
//!   category id of a detection absent from the GT's categories (pycocotools drops those).
//! - **Recall points** `k/100`, where pycocotools uses `np.linspace(0, 1, 101)`; they differ by
//!   an ulp at ten points (`0.7` vs `0.7000000000000001`), so a class whose recall reaches
//!   exactly 0.7 gets one more point here.
//! - **Images**: the GT's images (each id once, in file order); detections are on them only.
//!
//! On the bundled sample (fixtures/coco-val2014-100) this gives 64.205 where `eval`'s AP50 is
//! 69.697 (bbox; segm 51.801 vs 56.229): 6 categories there have detections but no GT, which
//! tidecv averages as zeros (76 classes instead of 70); the recall points and crowds do the rest.
//!
//! The error types, in tidecv's order: Cls, Loc, Both, Dupe, Bkg, Miss ([`ERROR_NAMES`]).
//! `main[t]` = `max(mAP with the errors of type t fixed - mAP, 0)`; `special` = FalsePos (every
//! false positive scored below every true positive) and FalseNeg (every missed GT removed),
//! without the clamp. Floating point follows tidecv's operation order (Python floats summed left
//! to right, as Python 3.11's `sum`, classes in the insertion order of its dictionaries), so the
//! numbers match within a few ulps; the unit tests and `tests/diagnose_tide.rs` pin them.

use super::Input;
use crate::coco::{Dataset, Id, Results};
use crate::eval::{IouType, ShapeScratch, Shapes};
use crate::geom::coco_box_iou;
use crate::progress::Progress;
use crate::{Error, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// `TIDE(pos_threshold, background_threshold)`.
#[derive(Debug, Clone, Copy)]
pub struct TideConfig {
    pub pos_thr: f64,
    pub bg_thr: f64,
}

impl Default for TideConfig {
    /// tidecv's defaults: `TIDE(pos_threshold=0.5, background_threshold=0.1)`.
    fn default() -> Self {
        TideConfig {
            pos_thr: 0.5,
            bg_thr: 0.1,
        }
    }
}

/// Error types in tidecv's order.
pub const ERROR_NAMES: [&str; 6] = ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"];
pub const SPECIAL_NAMES: [&str; 2] = ["FalsePos", "FalseNeg"];

/// A crowd region of this `category_id` ignores detections of any class (`quantify.py`:
/// `ignore_region['class'] == pred_elem['class'] or ignore_region['class'] == -1`).
const ANY_CLASS: Id = -1;

/// Detections per image tidecv keeps: `datasets.COCO` builds `Data(name, max_dets=100)`.
pub const MAX_DETS: usize = 100;

/// `APDataObject.get_ap`: `resolution = 100`, i.e. 101 recall points `0, 0.01, ..., 1`.
const RESOLUTION: usize = 100;

/// tidecv's `BestGTMatch` starts every GT's best score at -1 and keeps a detection only when its
/// score is strictly higher.
const BEST_SCORE_INIT: f64 = -1.0;

/// One of tidecv's main error types; the discriminant indexes [`ERROR_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// `ClassError`: would be a true positive with the class of a GT it overlaps (IoU >= pos).
    Cls = 0,
    /// `BoxError`: its own class's best GT overlaps it with bg <= IoU <= pos.
    Loc = 1,
    /// `OtherError`: none of the others.
    Both = 2,
    /// `DuplicateError`: overlaps (>= pos) a GT of its class that a higher-scored detection took.
    Dupe = 3,
    /// `BackgroundError`: overlaps no GT of any class above bg (or the image has no GT).
    Bkg = 4,
    /// `MissedError`: a GT no detection matched and no Cls/Loc error could fix.
    Miss = 5,
}

#[derive(Debug, Clone)]
pub struct Tide {
    pub pos_thr: f64,
    pub bg_thr: f64,
    /// tidecv's AP at `pos_thr`, in percent as it prints it.
    pub ap: f64,
    /// dAP per error type ([`ERROR_NAMES`]), percentage points (`get_all_errors()['main']`).
    pub main: [f64; 6],
    /// [`SPECIAL_NAMES`] (`get_all_errors()['special']`).
    pub special: [f64; 2],
    /// Number of errors of each type.
    pub counts: [u64; 6],
}

/// A point of tidecv's `APDataObject`: `(score, is_true)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub score: f64,
    pub tp: bool,
}

/// What fixing an error does to the AP data (`Error.fix()`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fix<C> {
    /// The detection leaves the AP data (Dupe, Bkg, Both; Cls/Loc errors that cannot or do not
    /// get to fix their GT).
    Drop,
    /// The detection becomes a true positive of class `C` (`BestGTMatch.fix()`).
    TruePos(C, f64),
    /// One GT of class `C` is removed (`MissedError.fix()` returns `(class, -1)`).
    RemoveGt(C),
}

/// One error, as tidecv stores it after the run.
#[derive(Debug, Clone, Copy)]
struct ErrorRec<C> {
    kind: ErrorType,
    /// `unfix()`: the false-positive point (class, score); `None` for ignored detections and misses.
    original: Option<(C, f64)>,
    fixed: Fix<C>,
}

/// What one image contributes, with classes as category ids (resolved to dense indices, in
/// tidecv's dictionary order, when the images are put together).
#[derive(Default)]
struct ImageOut {
    /// Class of each non-crowd GT, in file order (`add_gt_positives`).
    gt_classes: Vec<Id>,
    /// `ap_data.push` of each kept, non-ignored detection, in score order.
    points: Vec<(Id, Point)>,
    errors: Vec<ErrorRec<Id>>,
    /// Class of each unmatched non-crowd GT (`false_negatives`).
    false_negatives: Vec<Id>,
}

/// The per-image lists of GT annotations and detections, in tidecv's image order.
struct Grouping {
    /// Per image slot: GT annotation indices and detection indices, file order.
    gt: Vec<Vec<u32>>,
    dt: Vec<Vec<u32>>,
}

/// The category id (tidecv's "class") of a detection: the GT category's id, or for a category
/// absent from the GT its own id as the results file gives it.
fn det_class(gt: &Dataset, res: &Results, unknown: &FxHashMap<u32, Id>, d: u32) -> Id {
    let c = res.detections[d as usize].category;
    match gt.categories.get(c as usize) {
        Some(cat) => cat.id,
        // Unknown categories are rare: looked up in a small map. An id the loader did not
        // record (older loaders) still gets a class of its own, distinct from every GT id.
        None => unknown.get(&d).copied().unwrap_or(Id::MIN),
    }
}

/// tidecv iterates `gt.images`: a dict keyed by image id, so each id once, at its first
/// position; the annotations of an id are all those with that `image_id`. (An annotation on an
/// image absent from `images` makes tidecv's loader raise KeyError; it is skipped, as
/// pycocotools skips it.)
fn group(gt: &Dataset, res: &Results) -> Grouping {
    let mut slot_of_id: FxHashMap<Id, u32> = FxHashMap::default();
    let mut slot_of_image = Vec::with_capacity(gt.images.len());
    for im in &gt.images {
        let n = slot_of_id.len() as u32;
        slot_of_image.push(*slot_of_id.entry(im.id).or_insert(n));
    }
    let n = slot_of_id.len();
    let mut g: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, a) in gt.annotations.iter().enumerate() {
        if let Some(&s) = slot_of_id.get(&a.image_id) {
            g[s as usize].push(i as u32);
        }
    }
    let mut dt: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, d) in res.detections.iter().enumerate() {
        if let Some(&s) = slot_of_image.get(d.image as usize) {
            dt[s as usize].push(i as u32);
        }
    }
    Grouping { gt: g, dt }
}

/// First index of the largest value (numpy's `argmax`), and that value. `row` is not empty.
fn argmax(row: impl Iterator<Item = f64>) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in row.enumerate() {
        if i == 0 || v > best.1 {
            best = (i, v);
        }
    }
    best
}

/// How a detection stands after matching (tidecv's `pred['used']`: True / False / None).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Used {
    Matched,
    Unmatched,
    /// Inside a crowd region of its class: left out of the AP data.
    Ignored,
}

/// Per-GT state of tidecv's matching and `BestGTMatch`.
#[derive(Clone, Copy)]
struct GtState {
    used: bool,
    usable: bool,
    best_score: f64,
    best: Option<usize>,
}

/// Mask or box IoU, `[dets x gts]` row-major, with pycocotools' `maskUtils.iou` semantics
/// (`crowd` for every GT, as tidecv passes it).
struct Ious<'a> {
    gt: &'a Dataset,
    res: &'a Results,
    shapes: Option<&'a Shapes<'a>>,
}

impl Ious<'_> {
    fn fill(
        &self,
        dets: &[u32],
        gts: &[u32],
        crowd: bool,
        out: &mut Vec<f64>,
        scratch: &mut ShapeScratch,
    ) {
        out.clear();
        match self.shapes {
            // The evaluator's mask IoU takes crowd-ness from the annotation: tidecv passes
            // `[False] * len(gt)` for the non-crowd GT and `[True]` for a crowd region, which is
            // what their `iscrowd` says.
            Some(s) => s.fill_ious(self.gt, dets, gts, out, scratch, 0.0),
            None => {
                for &d in dets {
                    let db = &self.res.detections[d as usize].bbox;
                    for &g in gts {
                        out.push(coco_box_iou(
                            db,
                            &self.gt.annotations[g as usize].bbox,
                            crowd,
                        ));
                    }
                }
            }
        }
    }
}

/// `TIDEExample` + `TIDERun._eval_image` for one image.
fn eval_image(
    inp: &Input<'_>,
    cfg: &TideConfig,
    ious: &Ious<'_>,
    unknown: &FxHashMap<u32, Id>,
    gts: &[u32],
    dets: &[u32],
    scratch: &mut (ShapeScratch, Vec<f64>, Vec<f64>),
) -> ImageOut {
    let gt = inp.gt;
    let mut out = ImageOut::default();
    let anns = &gt.annotations;
    let truth: Vec<u32> = gts
        .iter()
        .copied()
        .filter(|&g| !anns[g as usize].iscrowd)
        .collect();
    let crowd: Vec<u32> = gts
        .iter()
        .copied()
        .filter(|&g| anns[g as usize].iscrowd)
        .collect();
    out.gt_classes = truth
        .iter()
        .map(|&g| anns[g as usize].category_id)
        .collect();
    if dets.is_empty() {
        for &g in &truth {
            let c = anns[g as usize].category_id;
            out.false_negatives.push(c);
            out.errors.push(ErrorRec {
                kind: ErrorType::Miss,
                original: None,
                fixed: Fix::RemoveGt(c),
            });
        }
        return out;
    }
    // Sort descending by score (stable), keep max_dets.
    let mut preds: Vec<u32> = dets.to_vec();
    crate::eval::evaluate::sort_by_score(&mut preds, inp.res);
    preds.truncate(MAX_DETS);
    let score = |p: usize| inp.res.detections[preds[p] as usize].score;
    let pcls: Vec<Id> = preds
        .iter()
        .map(|&d| det_class(gt, inp.res, unknown, d))
        .collect();
    let gcls: Vec<Id> = truth
        .iter()
        .map(|&g| anns[g as usize].category_id)
        .collect();
    let (np, ng) = (preds.len(), truth.len());

    let (shape_scratch, iou, crowd_iou) = scratch;
    ious.fill(&preds, &truth, false, iou, shape_scratch);
    let same = |p: usize, g: usize| pcls[p] == gcls[g];
    // gt_cls_iou = gt_iou * (pred class == gt class)
    let cls_iou = |p: usize, g: usize| if same(p, g) { iou[p * ng + g] } else { 0.0 };

    let mut used = vec![Used::Unmatched; np];
    let mut st = vec![
        GtState {
            used: false,
            usable: false,
            best_score: BEST_SCORE_INIT,
            best: None
        };
        ng
    ];
    // Greedy, in score order: the best same-class GT by IoU (first on ties, numpy's argmax over
    // a row where used GT columns were zeroed) is taken if its IoU is >= pos.
    if ng > 0 {
        let mut buffer: Vec<f64> = (0..np * ng).map(|k| cls_iou(k / ng, k % ng)).collect();
        for p in 0..np {
            let (g, v) = argmax(buffer[p * ng..(p + 1) * ng].iter().copied());
            if v >= cfg.pos_thr {
                used[p] = Used::Matched;
                st[g].used = true;
                for q in 0..np {
                    buffer[q * ng + g] = 0.0;
                }
            }
        }
    }
    // Crowd regions, in file order: `not used` is true for unmatched and already-ignored ones.
    for &c in &crowd {
        ious.fill(&preds, &[c], true, crowd_iou, shape_scratch);
        let ccls = anns[c as usize].category_id;
        for p in 0..np {
            if used[p] != Used::Matched
                && crowd_iou[p] > cfg.pos_thr
                && (ccls == pcls[p] || ccls == ANY_CLASS)
            {
                used[p] = Used::Ignored;
            }
        }
    }

    let mut pending: Vec<(usize, Option<usize>)> = Vec::new();
    for p in 0..np {
        if used[p] != Used::Ignored {
            out.points.push((
                pcls[p],
                Point {
                    score: score(p),
                    tp: used[p] == Used::Matched,
                },
            ));
        }
        if used[p] == Used::Matched {
            continue;
        }
        let original = (used[p] == Used::Unmatched).then(|| (pcls[p], score(p)));
        // The tests of `_eval_image`, in its order; Loc and Cls name the GT they would fix.
        let (kind, fixes): (ErrorType, Option<usize>) = if ng == 0 {
            (ErrorType::Bkg, None)
        } else {
            let (g, v) = argmax((0..ng).map(|g| cls_iou(p, g)));
            if cfg.bg_thr <= v && v <= cfg.pos_thr {
                (ErrorType::Loc, Some(g))
            } else {
                // gt_noncls_iou = gt_iou * ~(class matches)
                let (g, v) =
                    argmax((0..ng).map(|g| if same(p, g) { 0.0 } else { iou[p * ng + g] }));
                if v >= cfg.pos_thr {
                    (ErrorType::Cls, Some(g))
                } else {
                    // gt_used_cls = gt_used * gt_iou * (class matches)
                    let (_, v) = argmax((0..ng).map(|g| {
                        if st[g].used && same(p, g) {
                            iou[p * ng + g]
                        } else {
                            0.0
                        }
                    }));
                    if v >= cfg.pos_thr {
                        (ErrorType::Dupe, None)
                    } else if argmax((0..ng).map(|g| iou[p * ng + g])).1 <= cfg.bg_thr {
                        (ErrorType::Bkg, None)
                    } else {
                        (ErrorType::Both, None)
                    }
                }
            }
        };
        // Cls/Loc: `BestGTMatch` on an unused GT marks it usable and keeps the highest-scored
        // detection (the first one, as they come in score order; strict `<`) as its fixer. On a
        // used GT the error fixes nothing.
        let fixes = fixes.filter(|&g| !st[g].used);
        if let Some(g) = fixes {
            st[g].usable = true;
            if st[g].best_score < score(p) {
                st[g].best_score = score(p);
                st[g].best = Some(p);
            }
        }
        pending.push((p, fixes));
        out.errors.push(ErrorRec {
            kind,
            original,
            fixed: Fix::Drop,
        });
    }
    // `BestGTMatch.fix()`, once the image's last detection is in: the GT's best detection becomes
    // a true positive (of the GT's class for Cls, of its own for Loc); the others are dropped.
    // (A GT whose Cls/Loc detections all score <= -1 has no best: tidecv raises KeyError there.)
    for (e, &(p, fixes)) in out.errors.iter_mut().zip(&pending) {
        if let Some(g) = fixes {
            if st[g].best == Some(p) {
                let c = if e.kind == ErrorType::Cls {
                    gcls[g]
                } else {
                    pcls[p]
                };
                e.fixed = Fix::TruePos(c, score(p));
            }
        }
    }
    for g in 0..ng {
        if !st[g].used {
            out.false_negatives.push(gcls[g]);
            if !st[g].usable {
                out.errors.push(ErrorRec {
                    kind: ErrorType::Miss,
                    original: None,
                    fixed: Fix::RemoveGt(gcls[g]),
                });
            }
        }
    }
    out
}

/// tidecv's `ClassedAPDataObject` after the run, with classes as dense indices in its dict order.
struct Run {
    classes: Vec<Id>,
    num_gt: Vec<i64>,
    points: Vec<Vec<Point>>,
    false_negatives: Vec<i64>,
    errors: Vec<ErrorRec<u32>>,
}

/// Which `fix_errors` call.
#[derive(Clone, Copy, PartialEq)]
enum FixMode {
    /// `fix_main_errors`: fix the errors of one type.
    Main(ErrorType),
    /// `fix_errors(transform=FalsePositiveError.fix)`: scores become 1 (true) / 0 (false).
    FalsePos,
    /// `fix_errors(false_neg_dict=false_negatives)`: every unmatched GT removed.
    FalseNeg,
}

impl Run {
    fn build(outs: Vec<ImageOut>) -> Run {
        let mut index: FxHashMap<Id, u32> = FxHashMap::default();
        let mut run = Run {
            classes: Vec::new(),
            num_gt: Vec::new(),
            points: Vec::new(),
            false_negatives: Vec::new(),
            errors: Vec::new(),
        };
        let mut class = |run: &mut Run, c: Id| -> u32 {
            *index.entry(c).or_insert_with(|| {
                run.classes.push(c);
                run.num_gt.push(0);
                run.points.push(Vec::new());
                run.false_negatives.push(0);
                (run.classes.len() - 1) as u32
            })
        };
        for o in outs {
            // Dict insertion order: the image's GT classes, then its detections' classes.
            for c in o.gt_classes {
                let k = class(&mut run, c);
                run.num_gt[k as usize] += 1;
            }
            for (c, p) in o.points {
                let k = class(&mut run, c);
                run.points[k as usize].push(p);
            }
            for c in o.false_negatives {
                let k = class(&mut run, c);
                run.false_negatives[k as usize] += 1;
            }
            for e in o.errors {
                // Every class an error refers to is already known (a GT's or a pushed detection's,
                // except an ignored detection's, whose fixed class is its GT's).
                let original = e.original.map(|(c, s)| (class(&mut run, c), s));
                let fixed = match e.fixed {
                    Fix::Drop => Fix::Drop,
                    Fix::TruePos(c, s) => Fix::TruePos(class(&mut run, c), s),
                    Fix::RemoveGt(c) => Fix::RemoveGt(class(&mut run, c)),
                };
                run.errors.push(ErrorRec {
                    kind: e.kind,
                    original,
                    fixed,
                });
            }
        }
        run
    }

    /// `ap_data.get_mAP()` of the run itself.
    fn map(&self) -> f64 {
        mean_ap((0..self.classes.len()).map(|k| (self.points[k].as_slice(), self.num_gt[k])))
    }

    /// `TIDERun.fix_errors(...).get_mAP()`: a new AP data object where the errors chosen by
    /// `mode` are fixed. Its dicts are filled in tidecv's order: first every error's point (fixed
    /// or not), then the true positives of the run, then the GT counts; this order decides the
    /// order of tied scores and of the classes in the mean.
    fn fixed_map(&self, mode: FixMode) -> f64 {
        let k = self.classes.len();
        let mut gt_pos = self.num_gt.clone();
        let mut slot = vec![u32::MAX; k];
        let mut order: Vec<usize> = Vec::new();
        let mut pts: Vec<Vec<Point>> = Vec::new();
        let mut num: Vec<i64> = Vec::new();
        let mut obj = |c: usize,
                       slot: &mut Vec<u32>,
                       pts: &mut Vec<Vec<Point>>,
                       num: &mut Vec<i64>|
         -> usize {
            if slot[c] == u32::MAX {
                slot[c] = order.len() as u32;
                order.push(c);
                pts.push(Vec::new());
                num.push(0);
            }
            slot[c] as usize
        };
        let transform = |p: Point| {
            if mode == FixMode::FalsePos {
                Point {
                    score: if p.tp { 1.0 } else { 0.0 },
                    tp: p.tp,
                }
            } else {
                p
            }
        };
        for e in &self.errors {
            let point = match mode {
                FixMode::Main(t) if t == e.kind => match e.fixed {
                    Fix::Drop => None,
                    Fix::TruePos(c, s) => Some((c, Point { score: s, tp: true })),
                    Fix::RemoveGt(c) => {
                        gt_pos[c as usize] -= 1;
                        None
                    }
                },
                _ => e.original.map(|(c, s)| {
                    (
                        c,
                        Point {
                            score: s,
                            tp: false,
                        },
                    )
                }),
            };
            if let Some((c, p)) = point {
                let s = obj(c as usize, &mut slot, &mut pts, &mut num);
                pts[s].push(transform(p));
            }
        }
        for c in 0..k {
            for p in self.points[c].iter().filter(|p| p.tp) {
                let s = obj(c, &mut slot, &mut pts, &mut num);
                pts[s].push(transform(*p));
            }
        }
        for (c, (&n, &fneg)) in gt_pos.iter().zip(&self.false_negatives).enumerate() {
            let v = n - if mode == FixMode::FalseNeg { fneg } else { 0 };
            let s = obj(c, &mut slot, &mut pts, &mut num);
            num[s] += v;
        }
        mean_ap(pts.iter().zip(&num).map(|(p, &n)| (p.as_slice(), n)))
    }
}

/// `ClassedAPDataObject.get_mAP`: the mean, over the classes that have detections or GT, of
/// their AP, summed left to right in dict order (Python 3.11's `sum` adds floats in order;
/// 3.12 would compensate). tidecv raises ZeroDivisionError when no class has either; that is 0
/// here.
fn mean_ap<'p>(classes: impl Iterator<Item = (&'p [Point], i64)>) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (points, num_gt) in classes {
        if points.is_empty() && num_gt == 0 {
            continue;
        }
        sum += class_ap(points, num_gt);
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// `APDataObject.get_ap`: tidecv's 101-point AP of one class, in percent.
///
/// Points sorted by descending score (stable), precision `tp/(tp+fp)` and recall `tp/num_gt`
/// after each, precision made non-increasing from the right, then for each recall point
/// `x = k/100` the precision at `searchsorted(recalls, x, side='left')` (0 past the end),
/// averaged as `sum / 101 * 100`. A class without GT scores 0.
pub fn class_ap(points: &[Point], num_gt: i64) -> f64 {
    if num_gt == 0 {
        return 0.0;
    }
    let mut pts = points.to_vec();
    // Stable, descending, as Python's `list.sort(key=lambda x: -x.score)`: equal scores (0.0 and
    // -0.0 included) keep their order.
    pts.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut precision = Vec::with_capacity(pts.len());
    let mut recall = Vec::with_capacity(pts.len());
    for p in &pts {
        if p.tp {
            tp += 1;
        } else {
            fp += 1;
        }
        // Python int / int: the correctly rounded quotient, as f64 division of exact integers.
        precision.push(tp as f64 / (tp + fp) as f64);
        recall.push(tp as f64 / num_gt as f64);
    }
    for i in (1..precision.len()).rev() {
        if precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i];
        }
    }
    let mut sum = 0.0;
    for k in 0..=RESOLUTION {
        let x = k as f64 / RESOLUTION as f64;
        let idx = recall.partition_point(|&r| r < x);
        if idx < precision.len() {
            sum += precision[idx];
        }
    }
    sum / (RESOLUTION + 1) as f64 * 100.0
}

/// Run TIDE on the input: bbox (tidecv's `TIDE.BOX`) without shapes, segm (`TIDE.MASK`) with.
pub fn tide(inp: &Input<'_>, cfg: &TideConfig, progress: &dyn Progress) -> Result<Tide> {
    if !(cfg.pos_thr.is_finite() && cfg.bg_thr.is_finite()) {
        return Err(Error::input(format!(
            "--tide-pos-thr {} / --tide-bg-thr {}: thresholds must be finite numbers",
            cfg.pos_thr, cfg.bg_thr
        ))
        .with_hint("e.g. --tide-pos-thr 0.5 --tide-bg-thr 0.1"));
    }
    let shapes = match (inp.params.iou_type, inp.shapes) {
        (IouType::Bbox, _) => None,
        (IouType::Segm, Some(s)) => Some(s),
        (IouType::Segm, None) => {
            return Err(Error::internal(
                "TIDE on segm needs the masks (load them with coco::shapes)",
            ))
        }
        (IouType::Keypoints, _) => {
            return Err(Error::input(
                "TIDE has no keypoints mode (tidecv evaluates boxes or masks)",
            )
            .with_hint("use --iou-type bbox or segm"))
        }
    };
    let timer = crate::progress::PhaseTimer::from_env();
    let unknown: FxHashMap<u32, Id> = inp.res.unknown_category_ids.iter().copied().collect();
    let grouping = group(inp.gt, inp.res);
    let ious = Ious {
        gt: inp.gt,
        res: inp.res,
        shapes,
    };
    progress.start("TIDE", grouping.gt.len() as u64);
    let outs: Vec<ImageOut> = grouping
        .gt
        .par_iter()
        .zip(&grouping.dt)
        .map_init(
            || (ShapeScratch::default(), Vec::new(), Vec::new()),
            |scratch, (g, d)| {
                let o = eval_image(inp, cfg, &ious, &unknown, g, d, scratch);
                progress.inc(1);
                o
            },
        )
        .collect();
    progress.finish();
    let run = Run::build(outs);
    timer.lap("TIDE: match and classify per image");
    let t = tide_of_run(&run, cfg);
    timer.lap("TIDE: fix each error type, recompute AP");
    Ok(t)
}

fn tide_of_run(run: &Run, cfg: &TideConfig) -> Tide {
    let ap = run.map();
    let types = [
        ErrorType::Cls,
        ErrorType::Loc,
        ErrorType::Both,
        ErrorType::Dupe,
        ErrorType::Bkg,
        ErrorType::Miss,
    ];
    // The eight re-scorings are independent (tidecv's are not progressive): one task each.
    let modes: Vec<FixMode> = types
        .iter()
        .map(|&t| FixMode::Main(t))
        .chain([FixMode::FalsePos, FixMode::FalseNeg])
        .collect();
    let maps: Vec<f64> = modes.par_iter().map(|&m| run.fixed_map(m)).collect();
    // `max(new_ap - last_ap, 0)`: negative deltas (binning effects) are clamped.
    let main: [f64; 6] = std::array::from_fn(|i| (maps[i] - ap).max(0.0));
    let special = [maps[6] - ap, maps[7] - ap];
    let mut counts = [0u64; 6];
    for e in &run.errors {
        counts[e.kind as usize] += 1;
    }
    Tide {
        pos_thr: cfg.pos_thr,
        bg_thr: cfg.bg_thr,
        ap,
        main,
        special,
        counts,
    }
}

impl Tide {
    /// The pinned `"tide"` JSON object (DESIGN.md §2).
    pub fn to_json(&self) -> serde_json::Value {
        let obj = |names: &[&str], v: &[f64]| -> serde_json::Value {
            names
                .iter()
                .zip(v)
                .map(|(n, x)| (n.to_string(), serde_json::json!(x)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        serde_json::json!({
            "pos_thr": self.pos_thr, "bg_thr": self.bg_thr, "ap": self.ap,
            "main": obj(&ERROR_NAMES, &self.main),
            "special": obj(&SPECIAL_NAMES, &self.special),
            "counts": ERROR_NAMES.iter().zip(&self.counts).map(|(n, c)| (n.to_string(), serde_json::json!(c))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    //! Small scenes whose expected numbers were obtained by running tidecv 1.0.1 on the same
    //! data (`datasets.COCO` / `COCOResult`, `TIDE().evaluate(..., mode=TIDE.BOX)`).
    use super::*;
    use crate::coco::{Dataset, Results};
    use crate::eval::Params;
    use crate::progress::NoProgress;
    use std::path::Path;

    type Ann = (i64, i64, [f64; 4], bool);
    type Det = (i64, i64, [f64; 4], f64);

    fn scene(images: &[i64], anns: &[Ann], dets: &[Det], cats: &[i64]) -> Tide {
        let images: Vec<_> = images
            .iter()
            .map(|i| serde_json::json!({"id": i, "width": 200, "height": 200}))
            .collect();
        let anns: Vec<_> = anns
            .iter()
            .enumerate()
            .map(|(k, (im, c, b, crowd))| serde_json::json!({"id": k + 1, "image_id": im, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": *crowd as i32}))
            .collect();
        let cats: Vec<_> = cats
            .iter()
            .map(|c| serde_json::json!({"id": c, "name": format!("c{}", c)}))
            .collect();
        let gt = serde_json::json!({"images": images, "annotations": anns, "categories": cats})
            .to_string();
        let res: Vec<_> = dets.iter().map(|(im, c, b, s)| serde_json::json!({"image_id": im, "category_id": c, "bbox": b, "score": s})).collect();
        let res = serde_json::Value::from(res).to_string();
        let gt = Dataset::parse(Path::new("gt.json"), gt.as_bytes()).expect("scene GT parses");
        let res = Results::parse(Path::new("res.json"), res.as_bytes(), &gt)
            .expect("scene results parse");
        let params = Params::new(IouType::Bbox);
        tide(
            &Input {
                gt: &gt,
                res: &res,
                shapes: None,
                params: &params,
            },
            &TideConfig::default(),
            &NoProgress,
        )
        .expect("tide runs")
    }

    fn check(t: &Tide, ap: f64, main: [f64; 6], special: [f64; 2], counts: [u64; 6]) {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12;
        assert!(close(t.ap, ap), "ap {:?} vs tidecv {:?}", t.ap, ap);
        for i in 0..6 {
            assert!(
                close(t.main[i], main[i]),
                "main.{} {:?} vs tidecv {:?}",
                ERROR_NAMES[i],
                t.main[i],
                main[i]
            );
        }
        for i in 0..2 {
            assert!(
                close(t.special[i], special[i]),
                "special.{} {:?} vs tidecv {:?}",
                SPECIAL_NAMES[i],
                t.special[i],
                special[i]
            );
        }
        assert_eq!(t.counts, counts);
    }

    #[test]
    fn every_error_type_once() {
        // Image 1: GT A (c1), B (c2), C (c1, missed), a c1 crowd, D (c2); image 2 has no GT.
        let t = scene(
            &[1, 2],
            &[
                (1, 1, [0., 0., 10., 10.], false),
                (1, 2, [20., 20., 10., 10.], false),
                (1, 1, [50., 50., 10., 10.], false),
                (1, 1, [100., 100., 50., 50.], true),
                (1, 2, [150., 0., 20., 20.], false),
            ],
            &[
                (1, 1, [0., 0., 10., 10.], 0.9),     // true positive on A
                (1, 1, [1., 0., 10., 10.], 0.8),     // Dupe of A
                (1, 1, [20., 20., 10., 10.], 0.7),   // Cls: c1 on B
                (1, 2, [150., 0., 20., 45.], 0.65),  // Loc: IoU 400/900 with D
                (1, 1, [110., 110., 20., 20.], 0.6), // inside the crowd: ignored, yet a Bkg error
                (1, 2, [5., 0., 10., 10.], 0.55),    // Both: c2 over A at IoU 1/3
                (1, 1, [70., 150., 10., 10.], 0.5),  // Bkg
                (2, 2, [0., 0., 10., 10.], 0.4),     // Bkg: image without GT
            ],
            &[1, 2],
        );
        check(
            &t,
            25.247524752475247,
            [
                25.247524752475247,
                25.247524752475247,
                0.0,
                0.0,
                0.0,
                24.752475247524753,
            ],
            [0.0, 24.752475247524753],
            [1, 1, 1, 1, 3, 1],
        );
    }

    #[test]
    fn tied_scores_keep_file_order_and_false_neg_can_be_negative() {
        // The FalseNeg fix puts the false positives before the true positives of equal score,
        // which lowers the AP: tidecv does not clamp special errors.
        let t = scene(
            &[1],
            &[
                (1, 1, [0., 0., 10., 10.], false),
                (1, 1, [30., 0., 10., 10.], false),
                (1, 1, [60., 0., 10., 10.], false),
            ],
            &[
                (1, 1, [100., 100., 10., 10.], 0.5),
                (1, 1, [0., 0., 10., 10.], 0.5),
                (1, 1, [30., 0., 10., 10.], 0.5),
                (1, 1, [150., 150., 10., 10.], 0.5),
                (1, 1, [61., 0., 10., 10.], 0.25),
            ],
            &[1],
        );
        check(
            &t,
            64.42244224422443,
            [0.0, 0.0, 0.0, 0.0, 35.57755775577557, 0.0],
            [35.57755775577557, -4.422442244224328],
            [0, 0, 0, 0, 2, 0],
        );
    }

    #[test]
    fn crowd_of_category_minus_one_ignores_any_class_and_needs_iou_above_pos() {
        let t = scene(
            &[1],
            &[
                (1, 1, [0., 0., 10., 10.], false),
                (1, -1, [100., 100., 40., 40.], true),
                (1, 2, [0., 100., 20., 20.], true),
            ],
            &[
                (1, 1, [0., 0., 10., 10.], 0.9),
                (1, 2, [110., 110., 10., 10.], 0.8), // ignored by the -1 crowd
                (1, 2, [10., 100., 20., 20.], 0.7),  // crowd IoU exactly 0.5: not ignored
                (1, 2, [5., 100., 20., 20.], 0.6),   // crowd IoU 0.75: ignored
            ],
            &[1, 2],
        );
        check(
            &t,
            50.0,
            [0.0, 0.0, 0.0, 0.0, 50.0, 0.0],
            [0.0, 0.0],
            [0, 0, 0, 0, 3, 0],
        );
    }

    #[test]
    fn iou_equal_to_pos_matches_and_a_second_one_is_loc_not_dupe() {
        let t = scene(
            &[1],
            &[(1, 1, [0., 0., 20., 20.], false)],
            &[
                (1, 1, [0., 0., 20., 40.], 0.9),
                (1, 1, [0., 0., 20., 40.], 0.8),
            ],
            &[1],
        );
        check(&t, 100.0, [0.0; 6], [0.0, 0.0], [0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn at_most_100_detections_per_image() {
        // The one true positive is the 101st by score: dropped, so its GT is missed.
        let mut dets: Vec<Det> = (0..100)
            .map(|i| (1, 1, [150., 150., 5., 5.], 0.9 - 0.001 * i as f64))
            .collect();
        dets.push((1, 1, [0., 0., 10., 10.], 0.01));
        let t = scene(&[1], &[(1, 1, [0., 0., 10., 10.], false)], &dets, &[1]);
        check(&t, 0.0, [0.0; 6], [0.0, 0.0], [0, 0, 0, 0, 100, 1]);
    }

    #[test]
    fn each_unknown_category_is_a_class_of_ap_zero() {
        let t = scene(
            &[1],
            &[
                (1, 1, [0., 0., 10., 10.], false),
                (1, 2, [30., 30., 10., 10.], false),
            ],
            &[
                (1, 1, [0., 0., 10., 10.], 0.9),
                (1, 2, [30., 30., 10., 10.], 0.8),
                (1, 7, [60., 60., 10., 10.], 0.7),
                (1, 8, [90., 60., 10., 10.], 0.6),
                (1, 8, [0., 0., 10., 10.], 0.5),
            ],
            &[1, 2],
        );
        check(
            &t,
            50.0,
            [0.0, 0.0, 0.0, 0.0, 16.66666666666667, 0.0],
            [0.0, 0.0],
            [1, 0, 0, 0, 2, 0],
        );
    }

    #[test]
    fn class_ap_is_tidecvs_101_point_ap() {
        // APDataObject: push (0.9,T) (0.8,F) (0.8,T) (0.5,F) (0.3,T) (0.3,F), 5 GT -> get_ap().
        let pts: Vec<Point> = [
            (0.9, true),
            (0.8, false),
            (0.8, true),
            (0.5, false),
            (0.3, true),
            (0.3, false),
        ]
        .iter()
        .map(|&(score, tp)| Point { score, tp })
        .collect();
        assert_eq!(class_ap(&pts, 5), 45.874587458745914);
        assert_eq!(class_ap(&pts, 0), 0.0);
        assert_eq!(class_ap(&[], 3), 0.0);
    }
}
