//! The LVIS protocol, bit-for-bit with the `lvis` package 0.5.3 (`LVISResults` + `LVISEval`).
//! LVIS is COCO's matching and accumulation with other filters, so this module owns only the
//! filters and the summary: which detections and GT enter the units (per-image cap, area > 0,
//! federated presence), the per-unit "not exhaustive" flag, the r/c/f frequency groups and the
//! 13 printed results. [`super::evaluate`] and [`super::accumulate`] do the rest. See
//! docs/parity.md (LVIS) for every rule and where lvis does it.

use super::evaluate::sort_by_score;
use super::params::Params;
use super::summarize::{fmt3, StatSpec};
use super::Setup;
use crate::coco::{Dataset, Results};
use crate::error::{Error, Result};
use std::path::Path;

/// `Params.img_count_lbl`: the frequency groups, in the order of APr, APc, APf.
pub const FREQ_LABELS: [&str; 3] = ["r", "c", "f"];

/// What the LVIS protocol adds to a resolved [`Setup`]. Units are `k * I + i`, as in
/// [`super::evaluate::Grouped`].
pub struct Federated {
    /// Units whose category is in the image's `neg_category_ids` (verified absent).
    pub neg: UnitSet,
    /// Units whose category is in the image's `not_exhaustive_category_ids`; unmatched
    /// detections of the unit are ignored (`dt_ig_mask` in `evaluate_img`).
    pub not_exhaustive: UnitSet,
    /// Per detection: kept by `limit_dets_per_image` (and the opt-in per-category cap) and by
    /// `get_ann_ids`' area filter (`0 < area < inf`).
    pub det_keep: Vec<bool>,
}

/// A set of units, one bit each: LVIS has millions of units (K x I) and lists a few per image.
#[derive(Debug, Clone, Default)]
pub struct UnitSet {
    bits: Vec<u64>,
}

impl UnitSet {
    fn new(n: usize) -> UnitSet {
        UnitSet {
            bits: vec![0; n.div_ceil(64)],
        }
    }
    fn insert(&mut self, u: usize) {
        self.bits[u / 64] |= 1 << (u % 64);
    }
    #[inline]
    pub fn contains(&self, u: usize) -> bool {
        (self.bits[u / 64] >> (u % 64)) & 1 != 0
    }
    /// The units in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &b)| {
            let mut b = b;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let t = b.trailing_zeros() as usize;
                    b &= b - 1;
                    w * 64 + t
                })
            })
        })
    }
}

/// A GT evaluated with the LVIS protocol unless told otherwise: every image carries both
/// `neg_category_ids` and `not_exhaustive_category_ids`, every category a `frequency`.
pub fn detect(gt: &Dataset) -> bool {
    !gt.images.is_empty()
        && !gt.categories.is_empty()
        && gt
            .images
            .iter()
            .all(|im| im.neg_category_ids.is_some() && im.not_exhaustive_category_ids.is_some())
        && gt.categories.iter().all(|c| c.frequency.is_some())
}

/// The fields `LVISEval` reads and would crash without (KeyError / ValueError), as bad input.
pub fn validate(gt: &Dataset, path: &Path) -> Result<()> {
    let hint = "the LVIS protocol needs images with \"neg_category_ids\" and \"not_exhaustive_category_ids\" and categories with \"frequency\" (r, c or f); use --protocol coco for a COCO file";
    for (i, im) in gt.images.iter().enumerate() {
        for (field, v) in [
            ("neg_category_ids", &im.neg_category_ids),
            (
                "not_exhaustive_category_ids",
                &im.not_exhaustive_category_ids,
            ),
        ] {
            if v.is_none() {
                return Err(Error::in_file(
                    path,
                    &format!("images[{}]", i),
                    format!("missing field \"{}\"", field),
                )
                .with_hint(hint));
            }
        }
    }
    for (i, c) in gt.categories.iter().enumerate() {
        match c.frequency.as_deref() {
            Some(f) if FREQ_LABELS.contains(&f) => {}
            Some(f) => {
                return Err(Error::in_file(
                    path,
                    &format!("categories[{}].frequency", i),
                    format!("expected \"r\", \"c\" or \"f\", found \"{}\"", f),
                )
                .with_hint(hint))
            }
            None => {
                return Err(Error::in_file(
                    path,
                    &format!("categories[{}]", i),
                    "missing field \"frequency\"",
                )
                .with_hint(hint))
            }
        }
    }
    Ok(())
}

/// Stable descending-score cut of `group` (detection indices in file order) to `n`, as
/// `sorted(anns, key=score, reverse=True)[:n]` (Python's sort is stable, also reversed).
fn keep_top(group: &mut Vec<u32>, n: usize, res: &Results, keep: &mut [bool]) {
    if group.len() <= n {
        return;
    }
    sort_by_score(group, res);
    for &d in &group[n..] {
        keep[d as usize] = false;
    }
}

/// Build the federated filters. `det_area` is each detection's area as the results loader sets
/// it (box `w*h` when the first result carries a `bbox`, else the mask area).
pub fn federated(
    gt: &Dataset,
    res: &Results,
    det_area: &(dyn Fn(usize) -> f64 + Sync),
    p: &Params,
    setup: &Setup,
) -> Federated {
    use rayon::prelude::*;
    let dets = &res.detections;
    let mut det_keep = vec![true; dets.len()];
    // LVISResults.limit_dets_per_image: on the raw results (any category), per image id.
    let per_image = setup
        .max_dets
        .last()
        .copied()
        .unwrap_or(super::params::LVIS_MAX_DETS_PER_IMAGE);
    // One parallel pass over the detections: per-image counts (integer sums per chunk, the
    // same totals in any order) and get_ann_ids' `0 < area < inf`, applied after the caps.
    let n_images = gt.images.len();
    let mut area_ok = vec![false; dets.len()];
    let count = dets
        .par_chunks(1 << 16)
        .zip(area_ok.par_chunks_mut(1 << 16))
        .enumerate()
        .map(|(c, (part, ok))| {
            let mut n = vec![0u32; n_images];
            for (j, (d, o)) in part.iter().zip(ok).enumerate() {
                n[d.image as usize] += 1;
                let a = det_area((c << 16) + j);
                *o = a > 0.0 && a < f64::INFINITY;
            }
            n
        })
        .reduce(
            || vec![0u32; n_images],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    // Only images over the cap need their detections listed and sorted.
    if count.iter().any(|&c| c as usize > per_image) {
        let mut by_image: Vec<Vec<u32>> = vec![Vec::new(); gt.images.len()];
        for (i, d) in dets.iter().enumerate() {
            if count[d.image as usize] as usize > per_image {
                by_image[d.image as usize].push(i as u32);
            }
        }
        for g in by_image.iter_mut() {
            keep_top(g, per_image, res, &mut det_keep);
        }
    }
    // Opt-in v1 cap: per category over the whole file, after the per-image cap.
    if let Some(n) = p.lvis_max_dets_per_cat {
        let mut by_cat: Vec<Vec<u32>> = vec![Vec::new(); gt.categories.len()];
        for (i, d) in dets.iter().enumerate() {
            if det_keep[i] && d.category != u32::MAX {
                by_cat[d.category as usize].push(i as u32);
            }
        }
        for g in by_cat.iter_mut() {
            keep_top(g, n, res, &mut det_keep);
        }
    }
    // get_ann_ids keeps `area > 0 and area < inf`.
    det_keep
        .par_iter_mut()
        .zip(&area_ok)
        .with_min_len(1 << 14)
        .for_each(|(k, &ok)| *k = *k && ok);
    let n_img = setup.img_ids.len();
    let n_units = setup.k() * n_img;
    let mut neg = UnitSet::new(n_units);
    let mut not_exhaustive = UnitSet::new(n_units);
    for (rank, id) in setup.img_ids.iter().enumerate() {
        // The image's lists come from the last image with this id (lvis indexes images in a dict).
        let Some(&ix) = gt.image_index.get(id) else {
            continue;
        };
        let im = &gt.images[ix as usize];
        for (list, out) in [
            (&im.neg_category_ids, &mut neg),
            (&im.not_exhaustive_category_ids, &mut not_exhaustive),
        ] {
            for c in list.iter().flatten() {
                if let Some(&ci) = gt.category_index.get(c) {
                    let cpos = setup.cat_pos[ci as usize];
                    if cpos != u32::MAX {
                        out.insert(cpos as usize * n_img + rank);
                    }
                }
            }
        }
    }
    Federated {
        neg,
        not_exhaustive,
        det_keep,
    }
}

/// `_prepare_freq_group`: category positions (K axis) per frequency group r, c, f.
pub fn freq_groups(gt: &Dataset, setup: &Setup) -> [Vec<usize>; 3] {
    let mut g: [Vec<usize>; 3] = Default::default();
    for (k, id) in setup.cat_ids.iter().enumerate() {
        let f = gt
            .category_index
            .get(id)
            .and_then(|&c| gt.categories[c as usize].frequency.as_deref());
        if let Some(j) = FREQ_LABELS.iter().position(|&l| Some(l) == f) {
            g[j].push(k);
        }
    }
    g
}

/// `LVISEval.summarize`'s 13 results in its order: AP, AP50, AP75, APs, APm, APl, APr, APc,
/// APf, AR@N, ARs@N, ARm@N, ARl@N (N = maxDets, 300).
pub fn stat_specs(p: &Params, groups: &[Vec<usize>; 3]) -> Vec<StatSpec> {
    let md = p
        .sorted_max_dets()
        .last()
        .copied()
        .unwrap_or(super::params::LVIS_MAX_DETS_PER_IMAGE);
    let s =
        |ap: bool, iou: Option<f64>, area: &'static str, name: String, cats: Option<Vec<usize>>| {
            StatSpec {
                ap,
                iou,
                area,
                max_dets: md,
                name,
                cats,
            }
        };
    let mut v = vec![
        s(true, None, "all", "AP".into(), None),
        s(true, Some(0.5), "all", "AP50".into(), None),
        s(true, Some(0.75), "all", "AP75".into(), None),
        s(true, None, "small", "APs".into(), None),
        s(true, None, "medium", "APm".into(), None),
        s(true, None, "large", "APl".into(), None),
    ];
    for (j, l) in FREQ_LABELS.iter().enumerate() {
        v.push(s(
            true,
            None,
            "all",
            format!("AP{}", l),
            Some(groups[j].clone()),
        ));
    }
    v.push(s(false, None, "all", format!("AR@{}", md), None));
    for area in ["small", "medium", "large"] {
        v.push(s(
            false,
            None,
            area,
            format!("AR{}@{}", &area[..1], md),
            None,
        ));
    }
    v
}

/// `print_results()`' line for a result key (its title, IoU, area letter and group come from the
/// key's characters, exactly as lvis derives them).
pub fn format_line(spec: &StatSpec, p: &Params, value: f64) -> String {
    let key = spec.name.as_bytes();
    let (title, kind) = if spec.name.contains("AP") {
        ("Average Precision", "(AP)")
    } else {
        ("Average Recall", "(AR)")
    };
    let third = key.get(2).copied();
    let iou = match third {
        Some(c) if c.is_ascii_digit() => {
            let v: f64 = spec.name[2..].parse::<f64>().unwrap_or(f64::NAN) / 100.0;
            format!("{:.2}", v)
        }
        _ => format!(
            "{:.2}:{:.2}",
            p.iou_thrs.first().copied().unwrap_or(0.5),
            p.iou_thrs.last().copied().unwrap_or(0.95)
        ),
    };
    let letter = |set: &[u8]| {
        third
            .filter(|c| set.contains(c))
            .map(|c| (c as char).to_string())
            .unwrap_or_else(|| "all".into())
    };
    let group = letter(b"rcf");
    let area = letter(b"sml");
    format!(
        " {:<18} {} @[ IoU={:<9} | area={:>6} | maxDets={:>3} catIds={:>3}] = {}",
        title,
        kind,
        iou,
        area,
        spec.max_dets,
        group,
        fmt3(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::IouType;

    #[test]
    fn unit_set_lists_its_units_in_order() {
        let mut rng = crate::rng::SplitMix64::from_state(3);
        for _ in 0..100 {
            let n = rng.below(500) as usize;
            let mut set = UnitSet::new(n);
            let mut want: Vec<usize> = (0..n).filter(|_| rng.below(5) == 0).collect();
            if n > 0 {
                want.push(n - 1); // the last bit of a partial word
                want.dedup();
            }
            for &u in &want {
                set.insert(u);
            }
            assert_eq!(set.iter().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn printed_lines_match_lvis() {
        // Lines printed by lvis 0.5.3's print_results().
        let p = Params::lvis(IouType::Bbox);
        let specs = stat_specs(&p, &Default::default());
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf", "AR@300",
                "ARs@300", "ARm@300", "ARl@300"
            ]
        );
        assert_eq!(format_line(&specs[0], &p, 0.25), " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=300 catIds=all] = 0.250");
        assert_eq!(format_line(&specs[1], &p, -1.0), " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=300 catIds=all] = -1.000");
        assert_eq!(format_line(&specs[3], &p, 0.5), " Average Precision  (AP) @[ IoU=0.50:0.95 | area=     s | maxDets=300 catIds=all] = 0.500");
        assert_eq!(format_line(&specs[6], &p, 0.0), " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=300 catIds=  r] = 0.000");
        assert_eq!(format_line(&specs[12], &p, 1.0), " Average Recall     (AR) @[ IoU=0.50:0.95 | area=     l | maxDets=300 catIds=all] = 1.000");
    }
}
