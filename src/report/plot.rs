//! Plots drawn with plotters, to SVG or PNG by the file extension. Text uses the embedded
//! DejaVu Sans, so the output does not depend on the machine's fonts.

use crate::error::{Error, Result};
use crate::eval::Evaluation;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
}

impl PlotFormat {
    pub fn from_path(path: &Path) -> Result<PlotFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(PlotFormat::Svg),
            Some("png") => Ok(PlotFormat::Png),
            _ => Err(
                Error::input(format!("{}: unknown plot format", path.display()))
                    .with_hint("name the plot file .svg or .png"),
            ),
        }
    }
}

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// One curve: label, colour, points.
pub struct Series {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// One panel of a figure.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub series: Vec<Series>,
}

fn plot_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::internal(format!("{}: cannot draw the plot: {}", path.display(), e))
}

pub(crate) fn draw_panels<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    panels: &[Panel],
    cols: usize,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let rows = panels.len().div_ceil(cols.max(1));
    let areas = root.split_evenly((rows.max(1), cols.max(1)));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(
                panel.x_range.0..panel.x_range.1,
                panel.y_range.0..panel.y_range.1,
            )
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(panel.x_label.as_str())
            .y_desc(panel.y_label.as_str())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        for s in &panel.series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>;
}

struct PanelFigure<'a> {
    title: &'a str,
    panels: &'a [Panel],
    cols: usize,
}

impl Figure for PanelFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String> {
        draw_panels(root, self.title, self.panels, self.cols)
    }
}

/// Draw a figure of panels to `path` (.svg or .png), atomically.
pub fn draw_figure(
    path: &Path,
    title: &str,
    panels: &[Panel],
    cols: usize,
    size: (u32, u32),
) -> Result<()> {
    write_figure(
        path,
        &PanelFigure {
            title,
            panels,
            cols,
        },
        size,
    )
}

/// Draw `fig` to `path` (.svg or .png by the extension), atomically.
pub fn write_figure<F: Figure>(path: &Path, fig: &F, size: (u32, u32)) -> Result<()> {
    register_font();
    let format = PlotFormat::from_path(path)?;
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}.{}",
        file_name,
        std::process::id(),
        if format == PlotFormat::Svg {
            "svg"
        } else {
            "png"
        }
    ));
    let r = match format {
        PlotFormat::Svg => fig.draw(SVGBackend::new(&tmp, size).into_drawing_area()),
        PlotFormat::Png => fig.draw(BitMapBackend::new(&tmp, size).into_drawing_area()),
    };
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(plot_err(path)(e));
    }
    crate::io::replace_with(&tmp, path).map_err(|e| Error::io(path, "write", &e))
}

/// `1e10` rather than `10000000000` in titles.
fn compact(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:e}", v)
    } else {
        format!("{}", v)
    }
}

pub(crate) const COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// PR curves: one panel per area range; curves for IoU .50, .75 and the mean over .50:.95, each
/// the mean over categories (entries of -1 skipped) at the largest maxDet.
pub fn pr_curves(path: &Path, ev: &Evaluation) -> Result<()> {
    let (title, panels, cols, size) = pr_figure(ev);
    draw_figure(path, &title, &panels, cols, size)
}

/// The PR figure of [`pr_curves`]: title, panels, columns and pixel size.
pub(crate) fn pr_figure(ev: &Evaluation) -> (String, Vec<Panel>, usize, (u32, u32)) {
    let a = &ev.arrays;
    let p = &ev.params;
    let m = a.m - 1;
    let curve = |ts: &[usize], area: usize| -> Vec<(f64, f64)> {
        (0..a.r)
            .filter_map(|r| {
                let mut per_t = Vec::new();
                for &t in ts {
                    let v: Vec<f64> = (0..a.k)
                        .map(|k| a.precision[a.pidx(t, r, k, area, m)])
                        .filter(|&v| v > -1.0)
                        .collect();
                    if !v.is_empty() {
                        per_t.push(v.iter().sum::<f64>() / v.len() as f64);
                    }
                }
                if per_t.is_empty() {
                    None
                } else {
                    Some((
                        p.rec_thrs[r],
                        per_t.iter().sum::<f64>() / per_t.len() as f64,
                    ))
                }
            })
            .collect()
    };
    let t50: Vec<usize> = p
        .iou_thrs
        .iter()
        .position(|&x| x == 0.5)
        .into_iter()
        .collect();
    let t75: Vec<usize> = p
        .iou_thrs
        .iter()
        .position(|&x| x == 0.75)
        .into_iter()
        .collect();
    let all: Vec<usize> = (0..a.t).collect();
    let panels: Vec<Panel> = p
        .area_rng
        .iter()
        .enumerate()
        .map(|(ai, rng)| {
            let ap = |ts: &[usize]| {
                let c = curve(ts, ai);
                let mean = if c.is_empty() {
                    -1.0
                } else {
                    c.iter().map(|x| x.1).sum::<f64>() / c.len() as f64
                };
                (c, mean)
            };
            let mut series = Vec::new();
            for (i, (name, ts)) in [("IoU=.50", &t50), ("IoU=.75", &t75), ("IoU=.50:.95", &all)]
                .into_iter()
                .enumerate()
            {
                let (pts, mean) = ap(ts);
                if !pts.is_empty() {
                    series.push(Series {
                        label: format!("{} (AP {:.3})", name, mean),
                        color: COLORS[i],
                        points: pts,
                    });
                }
            }
            Panel {
                title: format!(
                    "area = {} [{}, {}]",
                    rng.label,
                    compact(rng.lo),
                    compact(rng.hi)
                ),
                x_label: "recall".into(),
                y_label: "precision".into(),
                x_range: (0.0, 1.0),
                y_range: (0.0, 1.02),
                series,
            }
        })
        .collect();
    let cols = if panels.len() > 1 { 2 } else { 1 };
    let rows = panels.len().div_ceil(cols) as u32;
    let title = format!(
        "Precision/recall ({}, maxDets={}, mean over categories)",
        p.iou_type.name(),
        ev.max_dets[m]
    );
    let size = (560 * cols as u32, 40 + 420 * rows);
    (title, panels, cols, size)
}
