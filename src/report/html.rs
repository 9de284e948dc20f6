//! The `diagnose --report` page and the figures it shares with `--plot-dir`. Each figure is
//! drawn once with plotters, generic over the backend: to a PNG/SVG file for `--plot-dir`, to an
//! SVG string for the page. The page is one self-contained file: inline SVG and CSS, no script,
//! no network.

use super::diagnose::{confused_pairs, name, trunc};
use super::plot::{draw_panels, pr_figure, register_font, PlotFormat};
use crate::diagnose::{anchors::SIZE_NAMES, tide, Diagnosis};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Classes shown in the confusion heatmap: those in the most confused pairs, at most this many.
pub const HEATMAP_CLASSES: usize = 12;
/// Missed GT listed in the page's anchor section.
pub const PAGE_MISSED: usize = 50;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREY: RGBColor = RGBColor(150, 150, 150);
const RED: RGBColor = RGBColor(214, 39, 40);

/// The figures of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Tide,
    Confusion,
    Reliability,
    Pr,
    Anchors,
}

impl Figure {
    pub const ALL: [Figure; 5] = [
        Figure::Tide,
        Figure::Confusion,
        Figure::Reliability,
        Figure::Pr,
        Figure::Anchors,
    ];

    pub fn file_stem(self) -> &'static str {
        match self {
            Figure::Tide => "tide",
            Figure::Confusion => "confusion",
            Figure::Reliability => "reliability",
            Figure::Pr => "pr_curves",
            Figure::Anchors => "anchor_misses",
        }
    }

    /// Whether the diagnosis has the data this figure draws.
    pub fn available(self, dg: &Diagnosis) -> bool {
        match self {
            Figure::Tide => dg.tide.is_some(),
            Figure::Confusion => dg.confusion.is_some(),
            Figure::Reliability => dg.calibration.is_some(),
            Figure::Pr => true,
            Figure::Anchors => dg.anchors.is_some(),
        }
    }

    fn size(self, dg: &Diagnosis) -> (u32, u32) {
        match self {
            Figure::Tide => (720, 380),
            Figure::Confusion => (760, 700),
            Figure::Reliability => (560, 520),
            Figure::Pr => pr_figure(&dg.ev).3,
            Figure::Anchors => (560, 380),
        }
    }

    fn draw<DB: DrawingBackend>(
        self,
        root: DrawingArea<DB, Shift>,
        dg: &Diagnosis,
    ) -> std::result::Result<(), String> {
        match self {
            Figure::Tide => draw_tide(root, dg),
            Figure::Confusion => draw_confusion(root, dg),
            Figure::Reliability => draw_reliability(root, dg),
            Figure::Pr => {
                let (title, panels, cols, _) = pr_figure(&dg.ev);
                draw_panels(root, &title, &panels, cols)
            }
            Figure::Anchors => draw_anchors(root, dg),
        }
    }

    /// The figure as an SVG document (for the page).
    pub fn svg(self, dg: &Diagnosis) -> Result<String> {
        register_font();
        let mut buf = String::new();
        {
            let root = SVGBackend::with_string(&mut buf, self.size(dg)).into_drawing_area();
            self.draw(root, dg).map_err(|e| {
                Error::internal(format!(
                    "cannot draw the {} figure: {}",
                    self.file_stem(),
                    e
                ))
            })?;
        }
        Ok(buf)
    }

    /// The figure to `path` (.svg or .png), atomically.
    pub fn write(self, path: &Path, format: PlotFormat, dg: &Diagnosis) -> Result<()> {
        register_font();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file_name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = if format == PlotFormat::Svg {
            "svg"
        } else {
            "png"
        };
        let tmp = dir.join(format!(".{}.tmp{}.{}", file_name, std::process::id(), ext));
        let r = match format {
            PlotFormat::Svg => {
                self.draw(SVGBackend::new(&tmp, self.size(dg)).into_drawing_area(), dg)
            }
            PlotFormat::Png => self.draw(
                BitMapBackend::new(&tmp, self.size(dg)).into_drawing_area(),
                dg,
            ),
        };
        if let Err(e) = r {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::internal(format!(
                "{}: cannot draw the plot: {}",
                path.display(),
                e
            )));
        }
        crate::io::replace_with(&tmp, path).map_err(|e| Error::io(path, "write", &e))
    }
}

fn e2s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Horizontal bars: dAP of each main error type, then the two special ones.
fn draw_tide<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    dg: &Diagnosis,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e2s)?;
    let Some(t) = &dg.tide else { return Ok(()) };
    let mut bars: Vec<(String, f64, RGBColor)> = tide::ERROR_NAMES
        .iter()
        .zip(&t.main)
        .map(|(n, &v)| (n.to_string(), v, BLUE))
        .collect();
    bars.extend(
        tide::SPECIAL_NAMES
            .iter()
            .zip(&t.special)
            .map(|(n, &v)| (n.to_string(), v, ORANGE)),
    );
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1.0) * 1.15;
    let n = bars.len();
    let title = format!(
        "TIDE: AP points gained by fixing each error type (AP{} = {:.2})",
        (t.pos_thr * 100.0).round(),
        t.ap
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)
        .map_err(e2s)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let i = (n as f64 - y - 0.5).round();
            if (y - y.floor() - 0.5).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("dAP (percentage points)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e2s)?;
    for (i, (_, v, c)) in bars.iter().enumerate() {
        let y0 = n as f64 - i as f64 - 0.85;
        let y1 = n as f64 - i as f64 - 0.15;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0), (*v, y1)],
                c.filled(),
            )))
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{:.2}", v),
                (*v + max * 0.01, y1 - 0.2),
                ("sans-serif", 13),
            )))
            .map_err(e2s)?;
    }
    root.present().map_err(e2s)
}

/// The classes of the heatmap: those of the most confused pairs, in category order.
fn heatmap_classes(dg: &Diagnosis) -> Vec<usize> {
    let Some(c) = &dg.confusion else {
        return Vec::new();
    };
    let mut pick = Vec::new();
    for (g, p, _, _) in confused_pairs(dg, 4 * HEATMAP_CLASSES) {
        for id in [g, p] {
            if let Some(i) = c.cat_ids.iter().position(|&x| x == id) {
                if !pick.contains(&i) && pick.len() < HEATMAP_CLASSES {
                    pick.push(i);
                }
            }
        }
    }
    if pick.is_empty() {
        // No confusion: the classes with the most GT.
        let k = c.cat_ids.len();
        let mut by_gt: Vec<usize> = (0..k).collect();
        by_gt.sort_by_key(|&i| std::cmp::Reverse(c.matrix[i].iter().sum::<u64>()));
        pick = by_gt.into_iter().take(HEATMAP_CLASSES.min(8)).collect();
    }
    pick.sort_unstable();
    pick
}

/// Row-normalised heatmap of the most-confused classes, with a background column and row.
fn draw_confusion<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    dg: &Diagnosis,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e2s)?;
    let Some(c) = &dg.confusion else {
        return Ok(());
    };
    let k = c.cat_ids.len();
    let mut idx = heatmap_classes(dg);
    idx.push(k);
    let m = idx.len();
    let label = |i: usize| {
        if i == k {
            "background".to_string()
        } else {
            trunc(name(dg, c.cat_ids[i]), 14)
        }
    };
    let labels: Vec<String> = idx.iter().map(|&i| label(i)).collect();
    let title = format!(
        "Confusion of the most-confused classes (IoU {}; rows: GT, share of the row)",
        c.iou_thr
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(125)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..m as f64, 0.0..m as f64)
        .map_err(e2s)?;
    let ly = labels.clone();
    let fmt_y = move |y: &f64| -> String {
        let i = (m as f64 - y - 0.5).round();
        if (y - y.floor() - 0.5).abs() < 1e-6 && i >= 0.0 && (i as usize) < ly.len() {
            ly[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(2 * m + 1)
        .y_label_formatter(&fmt_y)
        .y_label_style(("sans-serif", 12))
        .y_desc("ground truth")
        .draw()
        .map_err(e2s)?;
    // Column labels drawn by hand, rotated, below each column (plotters' rotated tick labels
    // start inside the plot area and get clipped).
    for (col, l) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(col as f64 + 0.5, 0.0));
        let font = ("sans-serif", 12)
            .into_font()
            .transform(FontTransform::Rotate90);
        root.draw(&Text::new(l.clone(), (px + 6, py + 6), font))
            .map_err(e2s)?;
    }
    let (x0, y0) = chart.backend_coord(&(0.0, 0.0));
    let (x1, _) = chart.backend_coord(&(m as f64, 0.0));
    root.draw(&Text::new(
        "predicted",
        ((x0 + x1) / 2 - 30, y0 + 100),
        ("sans-serif", 13),
    ))
    .map_err(e2s)?;
    for (r, &i) in idx.iter().enumerate() {
        let row: u64 = c.matrix[i].iter().sum();
        for (col, &j) in idx.iter().enumerate() {
            let v = c.matrix[i][j];
            let share = if row > 0 { v as f64 / row as f64 } else { 0.0 };
            let shade = (255.0 * (1.0 - share.sqrt())) as u8;
            let color = if i == j {
                RGBColor(shade, (200.0 + 55.0 * (1.0 - share)) as u8, shade)
            } else {
                RGBColor(255, shade, shade)
            };
            let y = m as f64 - r as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(col as f64, y - 1.0), (col as f64 + 1.0, y)],
                    color.filled(),
                )))
                .map_err(e2s)?;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(col as f64, y - 1.0), (col as f64 + 1.0, y)],
                    WHITE.stroke_width(1),
                )))
                .map_err(e2s)?;
            if v > 0 {
                let tc = if share > 0.5 { WHITE } else { BLACK };
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{}", v),
                        (col as f64 + 0.3, y - 0.6),
                        ("sans-serif", 11).into_font().color(&tc),
                    )))
                    .map_err(e2s)?;
            }
        }
    }
    root.present().map_err(e2s)
}

/// Reliability diagram: per bin, accuracy against confidence, with the diagonal.
fn draw_reliability<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    dg: &Diagnosis,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e2s)?;
    let Some(c) = &dg.calibration else {
        return Ok(());
    };
    let title = format!(
        "Reliability (IoU {}): ECE {:.3}, MCE {:.3}",
        c.iou_thr, c.ece, c.mce
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.0f64)
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .x_desc("confidence (score)")
        .y_desc("accuracy (share of true positives)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e2s)?;
    for b in c.bins.iter().filter(|b| b.count > 0) {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(b.lower, 0.0), (b.upper, b.avg_accuracy)],
                BLUE.mix(0.75).filled(),
            )))
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(b.lower, 0.0), (b.upper, b.avg_accuracy)],
                WHITE.stroke_width(1),
            )))
            .map_err(e2s)?;
        let (lo, hi) = if b.avg_confidence > b.avg_accuracy {
            (b.avg_accuracy, b.avg_confidence)
        } else {
            (b.avg_confidence, b.avg_accuracy)
        };
        let mid = 0.5 * (b.lower + b.upper);
        let w = 0.2 * (b.upper - b.lower);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(mid - w, lo), (mid + w, hi)],
                RED.mix(0.35).filled(),
            )))
            .map_err(e2s)?;
    }
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            GREY.stroke_width(2),
        ))
        .map_err(e2s)?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREY.stroke_width(2)));
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(2.0, 2.0), (2.0, 2.0)],
            BLUE.filled(),
        )))
        .map_err(e2s)?
        .label("accuracy per score bin")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.filled()));
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(2.0, 2.0), (2.0, 2.0)],
            RED.mix(0.35).filled(),
        )))
        .map_err(e2s)?
        .label("gap to the mean score")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], RED.mix(0.35).filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(e2s)?;
    root.present().map_err(e2s)
}

/// Missed GT per size class, split by whether any anchor is foreground for them.
fn draw_anchors<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    dg: &Diagnosis,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e2s)?;
    let Some(a) = &dg.anchors else { return Ok(()) };
    let max = a.by_size.iter().map(|x| x.0).max().unwrap_or(1).max(1) as f64 * 1.15;
    let title = format!("Missed GT at IoU .50 by size ({} anchors)", a.convention);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..3.0f64, 0.0..max)
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(7)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i < 3 {
                SIZE_NAMES[i].to_string()
            } else {
                String::new()
            }
        })
        .y_desc("missed GT")
        .y_label_formatter(&|y| format!("{:.0}", y))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e2s)?;
    for (i, &(m, w)) in a.by_size.iter().enumerate() {
        let x = i as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, (m - w) as f64)],
                BLUE.filled(),
            )))
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, (m - w) as f64), (x + 0.8, m as f64)],
                RED.filled(),
            )))
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{} ({} no anchor)", m, w),
                (x + 0.2, m as f64 + max * 0.05),
                ("sans-serif", 12),
            )))
            .map_err(e2s)?;
    }
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(9.0, 0.0), (9.0, 0.0)],
            BLUE.filled(),
        )))
        .map_err(e2s)?
        .label("some anchor is foreground")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.filled()));
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(9.0, 0.0), (9.0, 0.0)],
            RED.filled(),
        )))
        .map_err(e2s)?
        .label("no foreground anchor")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], RED.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(e2s)?;
    root.present().map_err(e2s)
}

/// `--plot-dir`: each available figure as DIR/<name>.<format>.
pub fn write_plots(dir: &Path, format: PlotFormat, dg: &Diagnosis) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the directory", &e))?;
    let ext = if format == PlotFormat::Svg {
        "svg"
    } else {
        "png"
    };
    let mut n = 0;
    for f in Figure::ALL.into_iter().filter(|f| f.available(dg)) {
        f.write(&dir.join(format!("{}.{}", f.file_stem(), ext)), format, dg)?;
        n += 1;
    }
    Ok(n)
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = "
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;background:#f5f6f8;color:#1d2430}
header{background:#1d2b44;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.8;font-size:14px;word-break:break-all}
nav{padding:8px 32px;background:#e8ebf0;font-size:14px}
nav a{margin-right:14px;color:#1d4e89;text-decoration:none}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:18px 0;padding:16px 22px}
h2{font-size:20px;margin:4px 0 10px;color:#1d2b44}
.lead{color:#4a5466;font-size:14px;margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#f0f3f8;border-radius:6px;padding:8px 12px;min-width:92px}
.card b{display:block;font-size:20px}
.card span{font-size:12px;color:#556}
.fig{overflow-x:auto}
.fig svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{padding:3px 9px;text-align:right;border-bottom:1px solid #e3e6ea}
th{background:#f0f3f8;position:sticky;top:0}
td.l,th.l{text-align:left}
.two{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.two>div{flex:1 1 420px}
.scroll{max-height:520px;overflow-y:auto}
.bad{color:#b3261e;font-weight:600}
";

fn pct(v: f64) -> String {
    if v < 0.0 {
        "-".into()
    } else {
        format!("{:.1}", 100.0 * v)
    }
}

fn fig(out: &mut String, f: Figure, dg: &Diagnosis) {
    match f.svg(dg) {
        Ok(svg) => {
            let _ = write!(out, "<div class=\"fig\">{}</div>", svg);
        }
        Err(e) => {
            let _ = write!(out, "<p class=\"bad\">{}</p>", esc(&e.message));
        }
    }
}

/// The page.
pub fn page(title: &str, dg: &Diagnosis) -> String {
    let ev = &dg.ev;
    let mut o = String::new();
    let _ = write!(o, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>diagnose: {}</title><style>{}</style></head><body>", esc(title), CSS);
    let _ = write!(
        o,
        "<header><h1>Why the AP is what it is</h1><p>retina-tools diagnose ({}) · {}</p></header>",
        ev.params.iou_type.name(),
        esc(title)
    );
    let mut nav = vec![("summary", "Summary")];
    if dg.tide.is_some() {
        nav.push(("tide", "TIDE errors"));
    }
    if dg.anchors.is_some() {
        nav.push(("anchors", "Misses vs anchors"));
    }
    if dg.confusion.is_some() {
        nav.push(("confusion", "Confusion"));
    }
    if dg.calibration.is_some() {
        nav.push(("calibration", "Calibration"));
    }
    nav.push(("pr", "PR curves"));
    nav.push(("classes", "Per class"));
    if dg.suspects.is_some() {
        nav.push(("suspects", "Suspects"));
    }
    o.push_str("<nav>");
    for (id, label) in &nav {
        let _ = write!(o, "<a href=\"#{}\">{}</a>", id, label);
    }
    o.push_str("</nav><main>");

    // Summary.
    let _ = write!(o, "<section id=\"summary\"><h2>Summary</h2><p class=\"lead\">{} images, {} GT, {} detections. The 12 COCO numbers, bit-for-bit pycocotools:</p><div class=\"cards\">", ev.counts.images, ev.counts.gt, ev.counts.dets);
    for (n, v) in ev.stat_names.iter().zip(&ev.stats) {
        let _ = write!(
            o,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            pct(*v),
            esc(n)
        );
    }
    o.push_str("</div></section>");

    if let Some(t) = &dg.tide {
        let _ = write!(o, "<section id=\"tide\"><h2>TIDE errors</h2><p class=\"lead\">As the authors' tidecv 1.0.1 computes them (its own matching and AP: AP{} = {:.2}). dAP: the AP points gained if every error of that type were fixed.</p><div class=\"two\"><div>", (t.pos_thr * 100.0).round(), t.ap);
        fig(&mut o, Figure::Tide, dg);
        o.push_str(
            "</div><div><table><tr><th class=\"l\">error</th><th>dAP</th><th>count</th></tr>",
        );
        for i in 0..6 {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td>{:.2}</td><td>{}</td></tr>",
                tide::ERROR_NAMES[i],
                t.main[i],
                t.counts[i]
            );
        }
        for i in 0..2 {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td>{:.2}</td><td></td></tr>",
                tide::SPECIAL_NAMES[i],
                t.special[i]
            );
        }
        o.push_str("</table></div></div></section>");
    }

    if let Some(a) = &dg.anchors {
        let _ = write!(
            o,
            "<section id=\"anchors\"><h2>Missed objects vs anchors</h2><p class=\"lead\">{} GT missed at IoU .50 (pycocotools' matching); <span class=\"bad\">{}</span> of them get no foreground anchor from <code>retina-tools assign {}</code>: the training recipe could not have taught the detector to find them.</p><div class=\"two\"><div>",
            a.missed,
            a.missed_without_fg_anchor,
            esc(&a.assign_flags)
        );
        fig(&mut o, Figure::Anchors, dg);
        o.push_str("</div><div class=\"scroll\"><table><tr><th>image</th><th>annotation</th><th class=\"l\">class</th><th>w×h</th><th>fg anchors</th><th>best IoU</th></tr>");
        let mut rows: Vec<_> = a.missed_gt.iter().collect();
        rows.sort_by_key(|m| {
            (
                m.fg_anchors.unwrap_or(0),
                m.best_anchor_iou.map(|v| (v * 1e6) as i64).unwrap_or(-1),
            )
        });
        for m in rows.iter().take(PAGE_MISSED) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"l\">{}</td><td>{:.0}×{:.0}</td><td>{}</td><td>{}</td></tr>",
                m.image_id,
                m.annotation_id,
                esc(name(dg, m.category_id)),
                m.bbox[2],
                m.bbox[3],
                m.fg_anchors.map(|v| v.to_string()).unwrap_or_else(|| "dropped".into()),
                m.best_anchor_iou.map(|v| format!("{:.3}", v)).unwrap_or_else(|| "-".into())
            );
        }
        o.push_str("</table></div></div></section>");
    }

    if let Some(c) = &dg.confusion {
        let _ = write!(o, "<section id=\"confusion\"><h2>Confusion</h2><p class=\"lead\">Cross-category matching at IoU {} (hotcoco's confusion matrix), the most-confused classes.</p><div class=\"two\"><div>", c.iou_thr);
        fig(&mut o, Figure::Confusion, dg);
        o.push_str("</div><div><table><tr><th class=\"l\">GT class</th><th class=\"l\">predicted as</th><th>count</th><th>% of GT</th></tr>");
        for (g, p, n, s) in confused_pairs(dg, 15) {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.1}</td></tr>",
                esc(name(dg, g)),
                esc(name(dg, p)),
                n,
                100.0 * s
            );
        }
        o.push_str("</table></div></div></section>");
    }

    if let Some(c) = &dg.calibration {
        let _ = write!(o, "<section id=\"calibration\"><h2>Calibration</h2><p class=\"lead\">Is a score of 0.8 right 80% of the time? ECE {:.4}, MCE {:.4} ({} bins, IoU {}).</p><div class=\"two\"><div>", c.ece, c.mce, c.n_bins, c.iou_thr);
        fig(&mut o, Figure::Reliability, dg);
        o.push_str("</div><div><table><tr><th class=\"l\">score bin</th><th>detections</th><th>mean score</th><th>accuracy</th></tr>");
        for b in &c.bins {
            let _ = write!(o, "<tr><td class=\"l\">[{:.2}, {:.2})</td><td>{}</td><td>{:.3}</td><td>{:.3}</td></tr>", b.lower, b.upper, b.count, b.avg_confidence, b.avg_accuracy);
        }
        o.push_str("</table></div></div></section>");
    }

    o.push_str("<section id=\"pr\"><h2>Precision / recall</h2>");
    fig(&mut o, Figure::Pr, dg);
    o.push_str("</section>");

    // Per class: AP and the operating point.
    let _ = write!(o, "<section id=\"classes\"><h2>Per class</h2><p class=\"lead\">AP as pycocotools{}.</p><div class=\"scroll\"><table><tr><th>id</th><th class=\"l\">class</th><th>AP</th><th>AP50</th><th>AP75</th><th>APs</th><th>APm</th><th>APl</th><th>AR100</th>", if dg.fscores.is_some() { "; best F at IoU .50 with the score threshold that reaches it" } else { "" });
    if dg.fscores.is_some() {
        o.push_str("<th>best F</th><th>precision</th><th>recall</th><th>score ≥</th>");
    }
    o.push_str("</tr>");
    for r in &dg.per_class {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            r.category_id,
            esc(&r.name),
            pct(r.ap),
            pct(r.ap50),
            pct(r.ap75),
            pct(r.ap_small),
            pct(r.ap_medium),
            pct(r.ap_large),
            pct(r.ar100)
        );
        if let Some(f) = &dg.fscores {
            match f.per_class.iter().find(|c| c.category_id == r.category_id) {
                Some(c) => {
                    let thr = c
                        .score_thr
                        .map(|t| format!("{:.4}", t))
                        .unwrap_or_else(|| "-".into());
                    let _ = write!(
                        o,
                        "<td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td>",
                        c.f, c.precision, c.recall, thr
                    );
                }
                None => o.push_str("<td>-</td><td>-</td><td>-</td><td>-</td>"),
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</table></div></section>");

    if let Some(s) = &dg.suspects {
        let _ = write!(
            o,
            "<section id=\"suspects\"><h2>Suspected annotation errors</h2><p class=\"lead\">Of {} detections with score ≥ {}: {} overlap no GT of any class (missing annotation?), {} match a GT of another class while none of their own overlaps (wrong label?). Most confident first: open the image and look.</p><div class=\"scroll\"><table><tr><th class=\"l\">kind</th><th>image</th><th class=\"l\">detected</th><th>score</th><th>IoU</th><th class=\"l\">box x, y, w, h</th><th class=\"l\">GT (class)</th></tr>",
            s.examined, s.min_score, s.missing_annotation, s.wrong_label
        );
        for t in &s.top {
            let g = match (t.gt_annotation_id, t.gt_category_id) {
                (Some(a), Some(c)) => format!("{} ({})", a, esc(name(dg, c))),
                _ => "-".into(),
            };
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{:.3}</td><td>{:.3}</td><td class=\"l\">{:.1}, {:.1}, {:.1}, {:.1}</td><td class=\"l\">{}</td></tr>",
                t.kind.name(),
                t.image_id,
                esc(name(dg, t.category_id)),
                t.score,
                t.iou,
                t.bbox[0],
                t.bbox[1],
                t.bbox[2],
                t.bbox[3],
                g
            );
        }
        o.push_str("</table></div></section>");
    }
    o.push_str("</main></body></html>\n");
    o
}
