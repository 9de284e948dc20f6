//! Text tables, JSON and the coverage plot of `anchors` and `assign`.

use super::plot::{draw_figure, Panel, Series};
use crate::anchors::{Convention, Grid};
use crate::assign::Stats;
use crate::error::Result;
use plotters::style::RGBColor;
use std::fmt::Write;
use std::path::Path;

/// Anchor sizes of a level: sqrt of the area (in the convention's pixel world) of the cells
/// closest to square (ratio 1 by default), in generation order.
fn level_sizes(grid: &Grid, li: usize) -> Vec<f64> {
    let one = if grid.convention == Convention::Detectron { 1.0 } else { 0.0 };
    let wh: Vec<(f64, f64)> = grid.levels[li].cells.iter().map(|c| (c[2] - c[0] + one, c[3] - c[1] + one)).collect();
    let skew = |(w, h): (f64, f64)| (w / h).ln().abs();
    let min_skew = wh.iter().map(|&p| skew(p)).fold(f64::INFINITY, f64::min);
    wh.iter().filter(|&&p| skew(p) <= min_skew + 1e-3).map(|&(w, h)| ((w * h).sqrt() * 10.0).round() / 10.0).collect()
}

fn fmt_sizes(v: &[f64]) -> String {
    v.iter().map(|s| format!("{}", s)).collect::<Vec<_>>().join(", ")
}

/// Per-level table of a grid.
pub fn anchors_table(grid: &Grid) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} anchors for {}x{} (padded {}x{}), layout {}",
        grid.convention,
        grid.image_hw.0,
        grid.image_hw.1,
        grid.padded_hw.0,
        grid.padded_hw.1,
        match grid.layout {
            crate::anchors::Layout::Native => "native",
            crate::anchors::Layout::Hwa => "hwa",
        }
    );
    let _ = writeln!(t, "{:<6} {:>8} {:>10} {:>8} {:>10}  sizes (sqrt area)", "level", "stride", "feature", "per loc", "anchors");
    for (li, l) in grid.levels.iter().enumerate() {
        let stride = if l.stride_y == l.stride_x { l.stride_x.to_string() } else { format!("{}x{}", l.stride_y, l.stride_x) };
        let _ = writeln!(t, "{:<6} {:>8} {:>10} {:>8} {:>10}  {}", format!("P{}", l.level), stride, format!("{}x{}", l.feat_h, l.feat_w), l.num_cells(), l.count(), fmt_sizes(&level_sizes(grid, li)));
    }
    let _ = writeln!(t, "{:<6} {:>8} {:>10} {:>8} {:>10}", "total", "", "", "", grid.total);
    t
}

/// The grid's levels as JSON.
pub fn anchors_json(grid: &Grid) -> String {
    let levels: Vec<serde_json::Value> = grid
        .levels
        .iter()
        .enumerate()
        .map(|(li, l)| {
            serde_json::json!({
                "level": l.level, "stride": l.stride, "stride_used": [l.stride_y, l.stride_x],
                "feature_hw": [l.feat_h, l.feat_w], "anchors_per_location": l.num_cells(), "anchors": l.count(),
                "cell_anchors": l.cells.iter().map(|c| c.iter().map(|v| *v as f32).collect::<Vec<f32>>()).collect::<Vec<_>>(),
                "sizes": level_sizes(grid, li),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "convention": grid.convention.name(), "image_hw": [grid.image_hw.0, grid.image_hw.1],
        "padded_hw": [grid.padded_hw.0, grid.padded_hw.1], "total": grid.total, "levels": levels,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

/// The human-readable `assign` report.
pub fn stats_table(s: &Stats) -> String {
    let mut t = String::new();
    let resize = s.resize.map(|r| format!("resize {},{}", r[0], r[1])).unwrap_or_else(|| "no resize".into());
    let _ = writeln!(
        t,
        "assign: {} convention, {}, foreground IoU >= {}, background < {}, low-quality matches {}",
        s.convention,
        resize,
        s.pos_iou,
        s.neg_iou,
        if s.low_quality { "on" } else { "off" }
    );
    let _ = writeln!(t, "images {} ({} without GT), GT boxes {} (crowd dropped {}, empty dropped {})", s.images, s.images_without_gt, s.gt, s.crowd_dropped, s.empty_dropped);
    let per_image = if s.anchors_per_image_min == s.anchors_per_image_max { s.anchors_per_image_min.to_string() } else { format!("{}-{}", s.anchors_per_image_min, s.anchors_per_image_max) };
    let _ = writeln!(t, "anchors per image {}", per_image);
    let _ = writeln!(t);
    let _ = writeln!(t, "{:<6} {:>12} {:>11} {:>9} {:>12}", "level", "anchors", "foreground", "ignored", "background");
    for l in &s.levels {
        let _ = writeln!(t, "{:<6} {:>12} {:>11} {:>9} {:>12}", format!("P{}", l.level), l.anchors, l.foreground, l.ignored, l.background);
    }
    let _ = writeln!(t, "{:<6} {:>12} {:>11} {:>9} {:>12}", "total", s.anchors, s.foreground, s.ignored, s.background);
    if s.convention == "detectron" {
        let _ = writeln!(t, "(Detectron counts {} foreground before forcing IoU < {} back to background)", s.foreground_before_overwrite, s.neg_iou);
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "GT coverage (boxes with >= 1 foreground anchor; COCO areas of the original box):");
    for c in &s.coverage {
        let _ = writeln!(t, "  {:<7} {:>7} ({}/{})", c.label, pct(c.covered, c.gt), c.covered, c.gt);
    }
    let _ = writeln!(t, "GT boxes foreground only through low-quality matches: {}", s.gt_low_quality_only);
    let _ = writeln!(t, "mean foreground anchors per GT box: {:.2}", s.mean_foreground_per_gt);
    let _ = writeln!(t);
    let _ = writeln!(t, "best IoU of each GT box over all anchors:");
    for (i, n) in s.best_iou_histogram.iter().enumerate() {
        let _ = writeln!(t, "  [{:.1}, {:.1}{} {:>7}", i as f64 / 10.0, (i + 1) as f64 / 10.0, if i == 9 { "]" } else { ")" }, n);
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "coverage by size (sqrt of box area in network-input pixels):");
    for b in &s.coverage_by_size {
        if b.gt == 0 {
            continue;
        }
        let hi = b.hi.map(|h| format!("{}", h)).unwrap_or_else(|| "inf".into());
        let _ = writeln!(t, "  {:>4}-{:<4} {:>7} ({}/{})", b.lo, hi, pct(b.covered, b.gt), b.covered, b.gt);
    }
    if !s.worst.is_empty() {
        let _ = writeln!(t);
        let _ = writeln!(t, "worst-covered boxes:");
        let _ = writeln!(t, "  {:>12} {:>12} {:>15} {:>4} {:>9}", "image", "annotation", "w x h", "fg", "best IoU");
        for w in &s.worst {
            let _ = writeln!(t, "  {:>12} {:>12} {:>15} {:>4} {:>9.4}", w.image_id, w.annotation_id, format!("{:.1}x{:.1}", w.width, w.height), w.foreground_anchors, w.best_iou);
        }
    }
    t
}

pub fn stats_json(s: &Stats) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default()
}

/// GT coverage against object size (one point per non-empty size bin).
pub fn coverage_plot(path: &Path, s: &Stats) -> Result<()> {
    let pts: Vec<(f64, f64)> = s
        .coverage_by_size
        .iter()
        .filter(|b| b.gt > 0)
        .map(|b| {
            let hi = b.hi.unwrap_or(b.lo * 1.5);
            ((b.lo + hi) / 2.0, b.covered as f64 / b.gt as f64)
        })
        .collect();
    let x_max = pts.iter().fold(64.0f64, |m, p| m.max(p.0 * 1.1));
    let panel = Panel {
        title: format!("{} anchors: {} GT boxes", s.convention, s.gt),
        x_label: "sqrt(box area), network-input pixels".into(),
        y_label: "share with >= 1 foreground anchor".into(),
        x_range: (0.0, x_max),
        y_range: (0.0, 1.02),
        series: vec![Series { label: "coverage".into(), color: RGBColor(31, 119, 180), points: pts }],
    };
    draw_figure(path, "GT coverage by object size", &[panel], 1, (720, 480))
}
