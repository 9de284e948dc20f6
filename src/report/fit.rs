//! Text, JSON and the coverage figure of `anchors --fit`.

use super::assign::{anchor_level_sizes, coverage_figure, CoverageColumn};
use crate::error::Result;
use crate::fit::{FitResult, Measured, Objective};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

fn value_text(obj: Objective, v: f64) -> String {
    match obj {
        Objective::MeanBestIou => format!("{:.4}", v),
        _ => pct(v),
    }
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The human-readable report; `gt_path` goes into the command line that reproduces the best.
pub fn fit_table(r: &FitResult, gt_path: &str) -> String {
    let mut t = String::new();
    let (d, b) = (&r.default, &r.best);
    let matcher = match r.objective {
        Objective::Coverage => format!(
            "GT boxes with >= 1 foreground anchor (IoU >= {}, no low-quality matches)",
            d.stats.pos_iou
        ),
        Objective::Recall => format!("GT boxes whose best anchor IoU >= {}", d.stats.pos_iou),
        Objective::MeanBestIou => "mean best anchor IoU of the GT boxes".into(),
    };
    let _ = writeln!(
        t,
        "anchors --fit: {} convention, objective {}: {}",
        d.stats.convention,
        r.objective.name(),
        matcher
    );
    let _ = writeln!(
        t,
        "{} GT boxes in {} images; search sample {} boxes ({} distinct groups); {} candidates evaluated, {} verified on all images",
        r.gt, d.stats.images, r.sample_gt, r.sample_groups, r.evaluated, r.verified
    );
    let _ = writeln!(t);
    let row = |t: &mut String, name: &str, a: String, b: String| {
        let _ = writeln!(t, "  {:<34} {:>18} {:>18}", name, a, b);
    };
    row(&mut t, "", "default".into(), "best".into());
    row(
        &mut t,
        &format!("objective ({})", r.objective.name()),
        value_text(r.objective, d.value),
        value_text(r.objective, b.value),
    );
    let lq = if d.stats.low_quality {
        "with low-quality"
    } else {
        "0.5 rule"
    };
    for (k, c) in d.stats.coverage.iter().enumerate() {
        let cb = &b.stats.coverage[k];
        row(
            &mut t,
            &format!("coverage {} ({})", c.label, lq),
            format!("{} {}/{}", pct(c.share), c.covered, c.gt),
            format!("{} {}/{}", pct(cb.share), cb.covered, cb.gt),
        );
    }
    row(
        &mut t,
        &format!("best IoU >= {}", d.stats.pos_iou),
        pct(d.stats.recall),
        pct(b.stats.recall),
    );
    row(
        &mut t,
        "mean best IoU",
        format!("{:.4}", d.stats.mean_best_iou),
        format!("{:.4}", b.stats.mean_best_iou),
    );
    row(
        &mut t,
        "foreground anchors / GT",
        format!("{:.2}", d.stats.mean_foreground_per_gt),
        format!("{:.2}", b.stats.mean_foreground_per_gt),
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "  by level: GT boxes with a foreground anchor on the level (0.5 rule) / foreground anchors");
    for (li, l) in d.stats.levels.iter().enumerate() {
        let lb = &b.stats.levels[li];
        row(
            &mut t,
            &format!("P{}", l.level),
            format!(
                "{} / {}",
                d.level_covered.get(li).copied().unwrap_or(0),
                l.foreground
            ),
            format!(
                "{} / {}",
                b.level_covered.get(li).copied().unwrap_or(0),
                lb.foreground
            ),
        );
    }
    let _ = writeln!(t);
    let per_loc = |m: &Measured| {
        format!(
            "{} ({}x{})",
            m.anchors.scales_per_octave as usize * m.anchors.aspect_ratios.len(),
            m.anchors.scales_per_octave,
            m.anchors.aspect_ratios.len()
        )
    };
    row(&mut t, "anchors per location", per_loc(d), per_loc(b));
    let _ = writeln!(
        t,
        "  sizes          default {}\n                 best    {}",
        list(&d.anchors.sizes),
        list(&b.anchors.sizes)
    );
    let _ = writeln!(
        t,
        "  aspect ratios  default {}\n                 best    {}",
        list(&d.anchors.aspect_ratios),
        list(&b.anchors.aspect_ratios)
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "reproduce with:\n  retina-tools assign --gt {} {}",
        gt_path, r.flags
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "detectron2 (config YAML):\n{}",
        indent(&r.snippets.detectron2)
    );
    let _ = writeln!(
        t,
        "mmdetection (model.bbox_head):\n{}",
        indent(&r.snippets.mmdet)
    );
    let _ = write!(t, "torchvision:\n{}", indent(&r.snippets.torchvision));
    t
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {}\n", l)).collect()
}

fn measured_json(m: &Measured) -> Value {
    let cov = |k: usize| m.stats.coverage[k].share;
    let by_level: Vec<Value> = m
        .stats
        .levels
        .iter()
        .enumerate()
        .map(|(li, l)| json!({"level": l.level, "stride": 1u64 << l.level, "gt_covered": m.level_covered.get(li).copied().unwrap_or(0), "foreground": l.foreground}))
        .collect();
    json!({
        "value": m.value,
        "coverage": {"all": cov(0), "small": cov(1), "medium": cov(2), "large": cov(3)},
        "low_quality": m.stats.low_quality,
        "recall": m.stats.recall,
        "mean_best_iou": m.stats.mean_best_iou,
        "by_level": by_level,
        "sizes": m.anchors.sizes,
        "scales_per_octave": m.anchors.scales_per_octave,
        "aspect_ratios": m.anchors.aspect_ratios,
    })
}

/// The `anchors --fit --json` document (keys pinned in DESIGN.md §2, extended in docs/fit.md).
pub fn fit_json(r: &FitResult, seed: u64) -> String {
    let mut best = measured_json(&r.best);
    best["flags"] = Value::from(r.flags.clone());
    let doc = json!({
        "objective": r.objective.name(),
        "convention": r.default.stats.convention,
        "default": measured_json(&r.default),
        "best": best,
        "evaluated": r.evaluated,
        "verified": r.verified,
        "gt": r.gt,
        "sample_gt": r.sample_gt,
        "seed": seed,
        "snippets": r.snippets,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `--plot`: coverage by size, default and best side by side (needs both low-quality settings).
pub fn fit_plot(path: &Path, r: &FitResult) -> Result<()> {
    fn col<'a>(name: &str, m: &'a Measured) -> Option<CoverageColumn<'a>> {
        let other = m.other.as_ref()?;
        let (rule, lq) = if m.stats.low_quality {
            (other, &m.stats)
        } else {
            (&m.stats, other)
        };
        let per_loc = m.anchors.scales_per_octave as usize * m.anchors.aspect_ratios.len();
        Some(CoverageColumn {
            title: format!(
                "{}: {} anchors/location, ratios {}",
                name,
                per_loc,
                m.anchors
                    .aspect_ratios
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            rule,
            with_low_quality: lq,
            level_sizes: anchor_level_sizes(&m.anchors),
        })
    }
    let cols: Vec<CoverageColumn> = [col("default", &r.default), col("best", &r.best)]
        .into_iter()
        .flatten()
        .collect();
    let title = format!(
        "{} anchors fitted for {}: GT coverage by object size ({} GT boxes)",
        r.default.stats.convention,
        r.objective.name(),
        r.gt
    );
    coverage_figure(path, &title, &cols)
}
