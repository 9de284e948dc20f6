//! Rendering of `compare`: the side-by-side text table, the JSON document (keys as DESIGN.md §2
//! pins them) and the plot of per-stat deltas with their intervals and per-class AP deltas.

use super::id_json;
use super::plot::{write_figure, Figure, COLORS};
use crate::compare::Comparison;
use crate::error::Result;
use crate::eval::summarize::fmt3;
use plotters::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Said wherever intervals are shown (DESIGN.md §2).
pub const RARE_CATEGORY_NOTE: &str = "with many rare categories a small dataset's bootstrap AP is biased upwards (a category whose ground truth drops out of a resample leaves the average), so intervals of category-averaged stats can sit above the point estimate";

/// How many classes the text lists when `--per-class` is not given.
pub const TOP_CLASSES: usize = 10;

fn interval(lo: f64, hi: f64) -> String {
    format!("[{}, {}]", fmt3(lo), fmt3(hi))
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", fmt3(v))
    } else {
        fmt3(v)
    }
}

/// The AP delta of class row `i` for model `m` against model 0 (`None` where a class has no GT).
fn class_delta(c: &Comparison, m: usize, i: usize) -> Option<f64> {
    let (a, b) = (c.per_class[m][i].ap, c.per_class[0][i].ap);
    (a >= 0.0 && b >= 0.0).then(|| a - b)
}

/// Text: the stats side by side (with intervals), the deltas to model 0 with their intervals and
/// p-values, then the classes whose AP moved most (all of them with `per_class`).
pub fn text(c: &Comparison, paths: &[String], per_class: bool) -> String {
    let n_models = c.evals.len();
    let names = &c.evals[0].stat_names;
    let mut s = String::new();
    let ev0 = &c.evals[0];
    s.push_str(&format!(
        "compare: {} models, {} images, {}",
        n_models,
        ev0.counts.images,
        ev0.params.iou_type.name()
    ));
    match &c.bootstrap {
        Some(b) => s.push_str(&format!(
            "; paired bootstrap over images: {} replicates, seed {}, {}% percentile intervals\n",
            b.n,
            b.seed,
            format_pct(b.confidence)
        )),
        None => s.push_str("; no bootstrap\n"),
    }
    for (m, p) in paths.iter().enumerate() {
        s.push_str(&format!("  [{}] {}\n", m, p));
    }
    s.push('\n');
    // Columns.
    let mut header = vec![format!("{:<6}", "stat")];
    let boot = c.bootstrap.as_ref();
    let vw = if boot.is_some() { 22 } else { 6 };
    let dw = if boot.is_some() { 32 } else { 7 };
    for m in 0..n_models {
        header.push(format!("{:<vw$}", format!("[{}]", m)));
    }
    for m in 1..n_models {
        let h = if boot.is_some() {
            format!("[{}]-[0]  interval  p", m)
        } else {
            format!("[{}]-[0]", m)
        };
        header.push(format!("{:<dw$}", h));
    }
    s.push_str(header.join("  ").trim_end());
    s.push('\n');
    for (i, name) in names.iter().enumerate() {
        let mut row = vec![format!("{:<6}", name)];
        for m in 0..n_models {
            let v = fmt3(c.evals[m].stats[i]);
            row.push(match boot {
                Some(b) => format!(
                    "{:<vw$}",
                    format!("{} {}", v, interval(b.ci[m].lo[i], b.ci[m].hi[i]))
                ),
                None => format!("{:<vw$}", v),
            });
        }
        for m in 1..n_models {
            let d = signed(c.evals[m].stats[i] - c.evals[0].stats[i]);
            row.push(match boot {
                Some(b) => {
                    let di = &b.delta_ci[m - 1];
                    format!(
                        "{:<dw$}",
                        format!(
                            "{} {} {}",
                            d,
                            interval(di.ci.lo[i], di.ci.hi[i]),
                            fmt3(di.p_value[i])
                        )
                    )
                }
                None => format!("{:<dw$}", d),
            });
        }
        s.push_str(row.join("  ").trim_end());
        s.push('\n');
    }
    if boot.is_some() {
        s.push_str(&format!("note: p = min(1, 2 min(#{{d <= 0}}, #{{d >= 0}}) / N) over the replicate deltas d; {}\n", RARE_CATEGORY_NOTE));
    }
    s.push('\n');
    s.push_str(&class_text(c, per_class));
    s
}

fn format_pct(c: f64) -> String {
    let p = c * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round())
    } else {
        format!("{}", p)
    }
}

fn class_text(c: &Comparison, all: bool) -> String {
    let n_models = c.evals.len();
    let rows = &c.per_class[0];
    let name_w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 24);
    let f = |v: f64| {
        if v < 0.0 {
            "-".to_string()
        } else {
            format!("{:.1}", v * 100.0)
        }
    };
    let fd = |v: Option<f64>| v.map_or("-".to_string(), |d| format!("{:+.1}", d * 100.0));
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let title = if all {
        "per-class AP (x100) and its delta to [0]:".to_string()
    } else {
        // Largest |delta| of the last model first; ties by category order.
        let last = n_models - 1;
        order.sort_by(|&a, &b| {
            let (x, y) = (
                class_delta(c, last, a).map_or(-1.0, f64::abs),
                class_delta(c, last, b).map_or(-1.0, f64::abs),
            );
            y.total_cmp(&x).then(a.cmp(&b))
        });
        order.retain(|&i| class_delta(c, last, i).is_some());
        order.truncate(TOP_CLASSES);
        format!(
            "classes whose AP moved most ([{}] vs [0], AP x100; all of them with --per-class):",
            last
        )
    };
    let mut s = title + "\n";
    let mut h = format!("{:>8}  {:<name_w$}", "cat_id", "name");
    for m in 0..n_models {
        h.push_str(&format!(" {:>6}", format!("[{}]", m)));
    }
    for m in 1..n_models {
        h.push_str(&format!(" {:>8}", format!("[{}]-[0]", m)));
    }
    s.push_str(&h);
    s.push('\n');
    for &i in &order {
        let name: String = rows[i].name.chars().take(name_w).collect();
        let mut line = format!("{:>8}  {:<name_w$}", rows[i].category_id, name);
        for m in 0..n_models {
            line.push_str(&format!(" {:>6}", f(c.per_class[m][i].ap)));
        }
        for m in 1..n_models {
            line.push_str(&format!(" {:>8}", fd(class_delta(c, m, i))));
        }
        s.push_str(&line);
        s.push('\n');
    }
    s
}

#[derive(Serialize)]
struct ModelJson<'a> {
    path: &'a str,
    stats: &'a [f64],
}

#[derive(Serialize)]
struct DeltaJson {
    model: usize,
    vs: usize,
    stats: Vec<f64>,
}

#[derive(Serialize)]
struct CiJson<'a> {
    model: usize,
    lo: &'a [f64],
    hi: &'a [f64],
}

#[derive(Serialize)]
struct DeltaCiJson<'a> {
    model: usize,
    vs: usize,
    lo: &'a [f64],
    hi: &'a [f64],
    p_value: &'a [f64],
}

#[derive(Serialize)]
struct ReplicateJson<'a> {
    image_ids: Vec<serde_json::Value>,
    stats: &'a [Vec<f64>],
}

#[derive(Serialize)]
struct BootstrapJson<'a> {
    n: usize,
    seed: u64,
    confidence: f64,
    images: usize,
    ci: Vec<CiJson<'a>>,
    delta_ci: Vec<DeltaCiJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replicates: Option<Vec<ReplicateJson<'a>>>,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    category_id: serde_json::Value,
    name: &'a str,
    ap: Vec<f64>,
    /// Against model 0; null where either model's AP is -1 (no GT of the class).
    delta_ap: Vec<Option<f64>>,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    iou_type: &'static str,
    stat_names: &'a [String],
    models: Vec<ModelJson<'a>>,
    deltas: Vec<DeltaJson>,
    bootstrap: Option<BootstrapJson<'a>>,
    per_class: Vec<ClassJson<'a>>,
}

/// The `compare --json` document. Floats in shortest round-trip form.
pub fn json(c: &Comparison, paths: &[String]) -> String {
    let n_models = c.evals.len();
    let doc = CompareJson {
        iou_type: c.evals[0].params.iou_type.name(),
        stat_names: &c.evals[0].stat_names,
        models: c
            .evals
            .iter()
            .zip(paths)
            .map(|(e, p)| ModelJson {
                path: p,
                stats: &e.stats,
            })
            .collect(),
        deltas: (1..n_models)
            .map(|m| DeltaJson {
                model: m,
                vs: 0,
                stats: c.delta(m, 0),
            })
            .collect(),
        bootstrap: c.bootstrap.as_ref().map(|b| BootstrapJson {
            n: b.n,
            seed: b.seed,
            confidence: b.confidence,
            images: b.images,
            ci: b
                .ci
                .iter()
                .enumerate()
                .map(|(m, i)| CiJson {
                    model: m,
                    lo: &i.lo,
                    hi: &i.hi,
                })
                .collect(),
            delta_ci: b
                .delta_ci
                .iter()
                .map(|d| DeltaCiJson {
                    model: d.model,
                    vs: d.vs,
                    lo: &d.ci.lo,
                    hi: &d.ci.hi,
                    p_value: &d.p_value,
                })
                .collect(),
            replicates: b.replicates.as_ref().map(|r| {
                r.iter()
                    .map(|(ids, stats)| ReplicateJson {
                        image_ids: ids.iter().map(|&i| id_json(i)).collect(),
                        stats,
                    })
                    .collect()
            }),
        }),
        per_class: (0..c.per_class[0].len())
            .map(|i| ClassJson {
                category_id: id_json(c.per_class[0][i].category_id),
                name: &c.per_class[0][i].name,
                ap: (0..n_models).map(|m| c.per_class[m][i].ap).collect(),
                delta_ap: (0..n_models).map(|m| class_delta(c, m, i)).collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{}\"}}", e))
}

/// How many classes the plot shows (largest |delta| of the last model).
const PLOT_CLASSES: usize = 25;

/// `--plot`: left, each stat's delta to model 0 with its interval; right, the per-class AP
/// deltas of the classes that moved most.
pub fn plot(path: &Path, c: &Comparison) -> Result<()> {
    let n_classes = c.per_class[0]
        .iter()
        .enumerate()
        .filter(|(i, _)| class_delta(c, c.evals.len() - 1, *i).is_some())
        .count()
        .min(PLOT_CLASSES);
    let rows = c.evals[0].stats.len().max(n_classes) as u32;
    let size = (1300, 140 + 26 * rows.max(12));
    write_figure(path, &CompareFigure(c), size)
}

struct CompareFigure<'a>(&'a Comparison);

impl Figure for CompareFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String> {
        draw(root, self.0)
    }
}

/// The label of a row chart's tick at `y`: rows are drawn top to bottom, `labels[0]` at the top.
fn row_label(y: f64, labels: &[String]) -> String {
    let i = y.round();
    if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
        labels[labels.len() - 1 - i as usize].clone()
    } else {
        String::new()
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    c: &Comparison,
) -> std::result::Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let n_models = c.evals.len();
    let title = match &c.bootstrap {
        Some(b) => format!(
            "Deltas to [0] with {}% paired-bootstrap intervals ({} replicates, {} images)",
            format_pct(b.confidence),
            b.n,
            b.images
        ),
        None => "Deltas to [0] (no bootstrap)".to_string(),
    };
    let root = root.titled(&title, ("sans-serif", 20)).map_err(e)?;
    let (body, foot) = root.split_vertically(root.dim_in_pixel().1 - 24);
    if c.bootstrap.is_some() {
        foot.draw(&Text::new(
            "Note: with many rare categories, a small dataset's bootstrap AP is biased upwards.",
            (10, 4),
            ("sans-serif", 13),
        ))
        .map_err(e)?;
    }
    let (left, right) = body.split_horizontally(560);
    let colour = |m: usize| COLORS[(m - 1) % COLORS.len()];

    // Left: stats.
    let names = &c.evals[0].stat_names;
    let ns = names.len();
    let mut lo_x: f64 = 0.0;
    let mut hi_x: f64 = 0.0;
    for m in 1..n_models {
        for (i, d) in c.delta(m, 0).into_iter().enumerate() {
            lo_x = lo_x.min(d);
            hi_x = hi_x.max(d);
            if let Some(b) = &c.bootstrap {
                lo_x = lo_x.min(b.delta_ci[m - 1].ci.lo[i]);
                hi_x = hi_x.max(b.delta_ci[m - 1].ci.hi[i]);
            }
        }
    }
    let pad = ((hi_x - lo_x) * 0.08).max(1e-3);
    let (x0, x1) = (lo_x - pad, hi_x + pad);
    let mut chart = ChartBuilder::on(&left)
        .caption("stats: delta and interval", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, -0.5f64..(ns as f64 - 0.5))
        .map_err(e)?;
    chart
        .configure_mesh()
        .y_labels(ns * 2 + 1)
        .y_label_formatter(&|y| row_label(*y, names))
        .x_desc("delta to [0]")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, ns as f64 - 0.5)],
            BLACK.stroke_width(1),
        )))
        .map_err(e)?;
    for m in 1..n_models {
        let col = colour(m);
        let off = if n_models > 2 {
            (m as f64 - 1.0) / (n_models as f64 - 2.0) * 0.4 - 0.2
        } else {
            0.0
        };
        let d = c.delta(m, 0);
        let y = |i: usize| (ns - 1 - i) as f64 - off;
        if let Some(b) = &c.bootstrap {
            let ci = &b.delta_ci[m - 1].ci;
            chart
                .draw_series((0..ns).map(|i| {
                    PathElement::new(
                        vec![(ci.lo[i], y(i)), (ci.hi[i], y(i))],
                        col.stroke_width(2),
                    )
                }))
                .map_err(e)?;
            chart
                .draw_series((0..ns).flat_map(|i| {
                    [ci.lo[i], ci.hi[i]].into_iter().map(move |x| {
                        PathElement::new(
                            vec![(x, y(i) - 0.15), (x, y(i) + 0.15)],
                            col.stroke_width(2),
                        )
                    })
                }))
                .map_err(e)?;
        }
        chart
            .draw_series((0..ns).map(|i| Circle::new((d[i], y(i)), 4, col.filled())))
            .map_err(e)?
            .label(format!("[{}] - [0]", m))
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, col.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(e)?;

    // Right: classes that moved most.
    let last = n_models - 1;
    let mut order: Vec<usize> = (0..c.per_class[0].len())
        .filter(|&i| class_delta(c, last, i).is_some())
        .collect();
    order.sort_by(|&a, &b| {
        class_delta(c, last, b)
            .unwrap_or(0.0)
            .abs()
            .total_cmp(&class_delta(c, last, a).unwrap_or(0.0).abs())
            .then(a.cmp(&b))
    });
    order.truncate(PLOT_CLASSES);
    let nc = order.len().max(1);
    let mut m_lo: f64 = 0.0;
    let mut m_hi: f64 = 0.0;
    for m in 1..n_models {
        for &i in &order {
            let d = class_delta(c, m, i).unwrap_or(0.0);
            m_lo = m_lo.min(d);
            m_hi = m_hi.max(d);
        }
    }
    let pad = ((m_hi - m_lo) * 0.08).max(1e-3);
    let class_names: Vec<String> = order
        .iter()
        .map(|&i| c.per_class[0][i].name.chars().take(20).collect())
        .collect();
    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!(
                "per-class AP delta (the {} classes that moved most)",
                order.len()
            ),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d((m_lo - pad)..(m_hi + pad), -0.5f64..(nc as f64 - 0.5))
        .map_err(e)?;
    chart
        .configure_mesh()
        .y_labels(nc * 2 + 1)
        .y_label_formatter(&|y| row_label(*y, &class_names))
        .x_desc("AP delta to [0]")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    let h = 0.8 / (n_models - 1) as f64;
    for m in 1..n_models {
        let col = colour(m);
        chart
            .draw_series(order.iter().enumerate().map(|(j, &i)| {
                let d = class_delta(c, m, i).unwrap_or(0.0);
                let y0 = (nc - 1 - j) as f64 - 0.4 + (m - 1) as f64 * h;
                Rectangle::new(
                    [(0.0f64.min(d), y0), (0.0f64.max(d), y0 + h * 0.9)],
                    col.filled(),
                )
            }))
            .map_err(e)?;
    }
    root.present().map_err(e)
}
