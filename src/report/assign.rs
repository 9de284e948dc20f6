//! Text tables, JSON and the coverage plot of `anchors` and `assign`.

use super::plot::{write_figure, Figure};
use crate::anchors::{AnchorConfig, Convention, Grid};
use crate::assign::Stats;
use crate::error::Result;
use plotters::coord::combinators::IntoLogRange;
use plotters::prelude::*;
use std::fmt::Write;
use std::path::Path;

/// Anchor sizes of a level: sqrt of the area (in the convention's pixel world) of the cells
/// closest to square (ratio 1 by default), in generation order.
fn level_sizes(grid: &Grid, li: usize) -> Vec<f64> {
    let one = if grid.convention == Convention::Detectron {
        1.0
    } else {
        0.0
    };
    let wh: Vec<(f64, f64)> = grid.levels[li]
        .cells
        .iter()
        .map(|c| (c[2] - c[0] + one, c[3] - c[1] + one))
        .collect();
    let skew = |(w, h): (f64, f64)| (w / h).ln().abs();
    let min_skew = wh.iter().map(|&p| skew(p)).fold(f64::INFINITY, f64::min);
    wh.iter()
        .filter(|&&p| skew(p) <= min_skew + 1e-3)
        .map(|&(w, h)| ((w * h).sqrt() * 10.0).round() / 10.0)
        .collect()
}

fn fmt_sizes(v: &[f64]) -> String {
    v.iter()
        .map(|s| format!("{}", s))
        .collect::<Vec<_>>()
        .join(", ")
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
    let _ = writeln!(
        t,
        "{:<6} {:>8} {:>10} {:>8} {:>10}  sizes (sqrt area)",
        "level", "stride", "feature", "per loc", "anchors"
    );
    for (li, l) in grid.levels.iter().enumerate() {
        let stride = if l.stride_y == l.stride_x {
            l.stride_x.to_string()
        } else {
            format!("{}x{}", l.stride_y, l.stride_x)
        };
        let _ = writeln!(
            t,
            "{:<6} {:>8} {:>10} {:>8} {:>10}  {}",
            format!("P{}", l.level),
            stride,
            format!("{}x{}", l.feat_h, l.feat_w),
            l.num_cells(),
            l.count(),
            fmt_sizes(&level_sizes(grid, li))
        );
    }
    let _ = writeln!(
        t,
        "{:<6} {:>8} {:>10} {:>8} {:>10}",
        "total", "", "", "", grid.total
    );
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
    let resize = s
        .resize
        .map(|r| format!("resize {},{}", r[0], r[1]))
        .unwrap_or_else(|| "no resize".into());
    let _ = writeln!(
        t,
        "assign: {} convention, {}, foreground IoU >= {}, background < {}, low-quality matches {}",
        s.convention,
        resize,
        s.pos_iou,
        s.neg_iou,
        if s.low_quality { "on" } else { "off" }
    );
    let _ = writeln!(
        t,
        "images {} ({} without GT), GT boxes {} (crowd dropped {}, empty dropped {})",
        s.images, s.images_without_gt, s.gt, s.crowd_dropped, s.empty_dropped
    );
    let per_image = if s.anchors_per_image_min == s.anchors_per_image_max {
        s.anchors_per_image_min.to_string()
    } else {
        format!("{}-{}", s.anchors_per_image_min, s.anchors_per_image_max)
    };
    let _ = writeln!(t, "anchors per image {}", per_image);
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "{:<6} {:>12} {:>11} {:>9} {:>12}",
        "level", "anchors", "foreground", "ignored", "background"
    );
    for l in &s.levels {
        let _ = writeln!(
            t,
            "{:<6} {:>12} {:>11} {:>9} {:>12}",
            format!("P{}", l.level),
            l.anchors,
            l.foreground,
            l.ignored,
            l.background
        );
    }
    let _ = writeln!(
        t,
        "{:<6} {:>12} {:>11} {:>9} {:>12}",
        "total", s.anchors, s.foreground, s.ignored, s.background
    );
    if s.convention == "detectron" {
        let _ = writeln!(
            t,
            "(Detectron counts {} foreground before forcing IoU < {} back to background)",
            s.foreground_before_overwrite, s.neg_iou
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "GT coverage (boxes with >= 1 foreground anchor; COCO areas of the original box):"
    );
    for c in &s.coverage {
        let _ = writeln!(
            t,
            "  {:<7} {:>7} ({}/{})",
            c.label,
            pct(c.covered, c.gt),
            c.covered,
            c.gt
        );
    }
    let _ = writeln!(
        t,
        "GT boxes foreground only through low-quality matches: {}",
        s.gt_low_quality_only
    );
    let _ = writeln!(
        t,
        "mean foreground anchors per GT box: {:.2}",
        s.mean_foreground_per_gt
    );
    let _ = writeln!(
        t,
        "GT boxes with best IoU >= {}: {} ({}/{}); mean best IoU {:.4}",
        s.pos_iou,
        pct(s.gt_best_iou_at_least_pos, s.gt),
        s.gt_best_iou_at_least_pos,
        s.gt,
        s.mean_best_iou
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "best IoU of each GT box over all anchors:");
    for (i, n) in s.best_iou_histogram.iter().enumerate() {
        let _ = writeln!(
            t,
            "  [{:.1}, {:.1}{} {:>7}",
            i as f64 / 10.0,
            (i + 1) as f64 / 10.0,
            if i == 9 { "]" } else { ")" },
            n
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "coverage by size (sqrt of box area in network-input pixels):"
    );
    for b in &s.coverage_by_size {
        if b.gt == 0 {
            continue;
        }
        let hi =
            b.hi.map(|h| format!("{}", h))
                .unwrap_or_else(|| "inf".into());
        let _ = writeln!(
            t,
            "  {:>4}-{:<4} {:>7} ({}/{})",
            b.lo,
            hi,
            pct(b.covered, b.gt),
            b.covered,
            b.gt
        );
    }
    if !s.worst.is_empty() {
        let _ = writeln!(t);
        let _ = writeln!(t, "worst-covered boxes:");
        let _ = writeln!(
            t,
            "  {:>12} {:>12} {:>15} {:>4} {:>9}",
            "image", "annotation", "w x h", "fg", "best IoU"
        );
        for w in &s.worst {
            let _ = writeln!(
                t,
                "  {:>12} {:>12} {:>15} {:>4} {:>9.4}",
                w.image_id,
                w.annotation_id,
                format!("{:.1}x{:.1}", w.width, w.height),
                w.foreground_anchors,
                w.best_iou
            );
        }
    }
    t
}

pub fn stats_json(s: &Stats) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default()
}

/// The anchor sizes (sqrt area of the cells closest to square) of every level of `a`.
pub fn anchor_level_sizes(a: &AnchorConfig) -> Vec<(u32, Vec<f64>)> {
    match a.grid(256, 256) {
        Ok(g) => g
            .levels
            .iter()
            .enumerate()
            .map(|(li, l)| (l.level, level_sizes(&g, li)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// One column of the coverage figure: coverage by the 0.5 rule alone and with low-quality
/// matches (same anchors), and the anchor sizes of each level.
pub struct CoverageColumn<'a> {
    pub title: String,
    pub rule: &'a Stats,
    pub with_low_quality: &'a Stats,
    pub level_sizes: Vec<(u32, Vec<f64>)>,
}

const LEVEL_COLORS: [RGBColor; 8] = [
    RGBColor(148, 103, 189),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
];
const RULE_COLOR: RGBColor = RGBColor(31, 119, 180);
const LQ_COLOR: RGBColor = RGBColor(255, 127, 14);

struct CoverageFigure<'a> {
    title: &'a str,
    columns: &'a [CoverageColumn<'a>],
}

/// (lo, hi) of a size bin on the plot's log axis.
fn bin_span(b: &crate::assign::SizeBin, x: (f64, f64)) -> (f64, f64) {
    (b.lo.max(x.0), b.hi.unwrap_or(x.1).min(x.1))
}

impl Figure for CoverageFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let root = root.titled(self.title, ("sans-serif", 20)).map_err(e)?;
        let x_hi = self
            .columns
            .iter()
            .flat_map(|c| c.level_sizes.iter().flat_map(|l| l.1.iter().copied()))
            .fold(1024.0f64, |m, v| m.max(v * 1.3));
        let x = (2.0f64, x_hi);
        let max_count = self
            .columns
            .iter()
            .flat_map(|c| c.rule.coverage_by_size.iter().map(|b| b.gt))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let areas = root.split_evenly((1, self.columns.len().max(1)));
        for (col, area) in self.columns.iter().zip(areas.iter()) {
            let h = area.dim_in_pixel().1;
            let (top, bottom) = area.split_vertically(h * 64 / 100);
            let mut chart = ChartBuilder::on(&top)
                .caption(&col.title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(22)
                .y_label_area_size(48)
                .build_cartesian_2d((x.0..x.1).log_scale(), 0.0f64..1.08)
                .map_err(e)?;
            chart
                .configure_mesh()
                .y_desc("GT boxes with >= 1 foreground anchor")
                .label_style(("sans-serif", 12))
                .light_line_style(WHITE)
                .x_label_formatter(&|v| format!("{:.0}", v))
                .draw()
                .map_err(e)?;
            // Anchor sizes of each level: thin vertical lines, the level's name above the first.
            for (k, (level, sizes)) in col.level_sizes.iter().enumerate() {
                let c = LEVEL_COLORS[k % LEVEL_COLORS.len()];
                chart
                    .draw_series(sizes.iter().map(|&s| {
                        PathElement::new(vec![(s, 0.0), (s, 1.0)], c.mix(0.55).stroke_width(1))
                    }))
                    .map_err(e)?;
                if let Some(&s0) = sizes.first() {
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("P{}", level),
                            (s0, 1.06),
                            ("sans-serif", 12).into_font().color(&c),
                        )))
                        .map_err(e)?;
                }
            }
            for (label, color, stats) in [
                ("0.5 rule alone (no low-quality)", RULE_COLOR, col.rule),
                ("with low-quality matches", LQ_COLOR, col.with_low_quality),
            ] {
                let pts: Vec<(f64, f64)> = stats
                    .coverage_by_size
                    .iter()
                    .filter(|b| b.gt > 0)
                    .map(|b| {
                        let (lo, hi) = bin_span(b, x);
                        ((lo * hi).sqrt(), b.covered as f64 / b.gt as f64)
                    })
                    .collect();
                let share = stats
                    .coverage
                    .first()
                    .map(|c| c.share * 100.0)
                    .unwrap_or(0.0);
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                    .map_err(e)?
                    .label(format!("{} ({:.1}% of all)", label, share))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(e)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(e)?;
            let mut bars = ChartBuilder::on(&bottom)
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d((x.0..x.1).log_scale(), 0.0f64..max_count * 1.1)
                .map_err(e)?;
            bars.configure_mesh()
                .x_desc("sqrt(box area) after resize, pixels (log scale)")
                .y_desc("GT boxes")
                .label_style(("sans-serif", 12))
                .light_line_style(WHITE)
                .x_label_formatter(&|v| format!("{:.0}", v))
                .y_label_formatter(&|v| format!("{:.0}", v))
                .draw()
                .map_err(e)?;
            bars.draw_series(
                col.rule
                    .coverage_by_size
                    .iter()
                    .filter(|b| b.gt > 0)
                    .map(|b| {
                        let (lo, hi) = bin_span(b, x);
                        Rectangle::new(
                            [(lo * 1.02, 0.0), (hi / 1.02, b.gt as f64)],
                            RGBColor(150, 150, 150).filled(),
                        )
                    }),
            )
            .map_err(e)?;
        }
        root.present().map_err(e)
    }
}

/// GT coverage against object size on a log axis: coverage by the 0.5 rule alone and with
/// low-quality matches, each level's anchor sizes marked, the GT count per size bin as bars;
/// one column per configuration (`assign --plot`: one; `anchors --fit --plot`: default, best).
pub fn coverage_figure(path: &Path, title: &str, columns: &[CoverageColumn]) -> Result<()> {
    let w = 40 + 620 * columns.len().max(1) as u32;
    write_figure(path, &CoverageFigure { title, columns }, (w, 620))
}

/// `assign --plot`: the coverage figure of one configuration.
pub fn coverage_plot(
    path: &Path,
    rule: &Stats,
    with_low_quality: &Stats,
    anchors: &AnchorConfig,
) -> Result<()> {
    let title = format!(
        "{} anchors: GT coverage by object size ({} GT boxes)",
        rule.convention, rule.gt
    );
    let col = CoverageColumn {
        title: format!(
            "anchors per location: {}",
            anchors.scales_per_octave as usize * anchors.aspect_ratios.len()
        ),
        rule,
        with_low_quality,
        level_sizes: anchor_level_sizes(anchors),
    };
    coverage_figure(path, &title, &[col])
}
