//! Rendering shared by the subcommands: JSON documents, text tables, array files and plots.

pub mod assign;
pub mod compare;
pub mod diagnose;
pub mod fit;
pub mod focal;
pub mod html;
pub mod plot;

use crate::coco::Id;
use crate::error::Result;
use crate::eval::{ClassRow, Evaluation};
use crate::io::npz::{write_npz, NpzEntry};
use serde::Serialize;
use std::path::Path;

/// An id as a JSON number when it fits 64 bits, as a string beyond.
pub fn id_json(id: Id) -> serde_json::Value {
    if let Ok(v) = i64::try_from(id) {
        serde_json::Value::from(v)
    } else if let Ok(v) = u64::try_from(id) {
        serde_json::Value::from(v)
    } else {
        serde_json::Value::from(id.to_string())
    }
}

#[derive(Serialize)]
struct ClassJson<'a> {
    category_id: serde_json::Value,
    name: &'a str,
    ap: f64,
    ap50: f64,
    ap75: f64,
    ap_small: f64,
    ap_medium: f64,
    ap_large: f64,
    /// `ar100` is AR@300 under the LVIS protocol.
    ar100: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency: Option<&'a str>,
}

#[derive(Serialize)]
struct ParamsJson {
    iou_thrs: Vec<f64>,
    rec_thrs: Vec<f64>,
    max_dets: Vec<usize>,
    area_rng: Vec<(String, f64, f64)>,
    use_cats: bool,
    cat_ids: Vec<serde_json::Value>,
    img_ids: usize,
}

#[derive(Serialize)]
struct CountsJson {
    images: usize,
    gt: usize,
    dets: usize,
}

#[derive(Serialize)]
struct EvalJson<'a> {
    /// Present ("lvis") only under the LVIS protocol, so COCO documents keep their keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    iou_type: &'static str,
    stats: &'a [f64],
    stat_names: &'a [String],
    summary_lines: &'a [String],
    per_class: Vec<ClassJson<'a>>,
    params: ParamsJson,
    counts: CountsJson,
    notes: &'a [String],
}

/// The `eval --json` document. Floats are written in shortest round-trip form.
pub fn eval_json(ev: &Evaluation, rows: &[ClassRow]) -> String {
    serde_json::to_string_pretty(&eval_doc(ev, rows))
        .unwrap_or_else(|e| format!("{{\"error\": \"{}\"}}", e))
}

/// The `eval --json` document as a value (other documents extend it).
pub fn eval_value(ev: &Evaluation, rows: &[ClassRow]) -> serde_json::Value {
    serde_json::to_value(eval_doc(ev, rows)).unwrap_or(serde_json::Value::Null)
}

fn eval_doc<'a>(ev: &'a Evaluation, rows: &'a [ClassRow]) -> EvalJson<'a> {
    let p = &ev.params;
    EvalJson {
        protocol: (p.protocol == crate::eval::Protocol::Lvis).then_some("lvis"),
        iou_type: p.iou_type.name(),
        stats: &ev.stats,
        stat_names: &ev.stat_names,
        summary_lines: &ev.lines,
        per_class: rows
            .iter()
            .map(|r| ClassJson {
                category_id: id_json(r.category_id),
                name: &r.name,
                ap: r.ap,
                ap50: r.ap50,
                ap75: r.ap75,
                ap_small: r.ap_small,
                ap_medium: r.ap_medium,
                ap_large: r.ap_large,
                ar100: r.ar100,
                frequency: r.frequency.as_deref(),
            })
            .collect(),
        params: ParamsJson {
            iou_thrs: p.iou_thrs.clone(),
            rec_thrs: p.rec_thrs.clone(),
            max_dets: ev.max_dets.clone(),
            area_rng: p
                .area_rng
                .iter()
                .map(|a| (a.label.clone(), a.lo, a.hi))
                .collect(),
            use_cats: p.use_cats,
            cat_ids: ev.cat_ids.iter().map(|&c| id_json(c)).collect(),
            img_ids: ev.img_ids.len(),
        },
        counts: CountsJson {
            images: ev.counts.images,
            gt: ev.counts.gt,
            dets: ev.counts.dets,
        },
        notes: &ev.notes,
    }
}

/// Width of the name column of the per-category tables: the longest name, within 8..=24.
fn name_width(rows: &[ClassRow]) -> usize {
    rows.iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 24)
}

/// A per-category table cell: the value in % with one decimal, `-` for -1 (no GT).
fn pct_cell(v: f64) -> String {
    if v < 0.0 {
        "-".to_string()
    } else {
        format!("{:.1}", v * 100.0)
    }
}

/// Fixed-width per-category table (values in %, -1 shown as `-`).
pub fn per_class_table(rows: &[ClassRow]) -> String {
    if rows.iter().any(|r| r.frequency.is_some()) {
        return per_class_table_lvis(rows);
    }
    let name_w = name_width(rows);
    let mut s = format!(
        "{:>8}  {:<w$}  {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
        "cat_id",
        "name",
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR100",
        w = name_w
    );
    let f = pct_cell;
    for r in rows {
        let name: String = r.name.chars().take(name_w).collect();
        s.push_str(&format!(
            "{:>8}  {:<w$}  {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
            r.category_id,
            name,
            f(r.ap),
            f(r.ap50),
            f(r.ap75),
            f(r.ap_small),
            f(r.ap_medium),
            f(r.ap_large),
            f(r.ar100),
            w = name_w
        ));
    }
    s
}

/// The LVIS per-category table: rows grouped by frequency (rare, common, frequent, the groups of
/// APr/APc/APf), category order inside a group; AR is AR@300. Categories without GT show `-`.
fn per_class_table_lvis(rows: &[ClassRow]) -> String {
    let name_w = name_width(rows);
    let mut s = format!(
        "{:>8}  {:<w$}  {:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
        "cat_id",
        "name",
        "freq",
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR@300",
        w = name_w
    );
    let f = pct_cell;
    for group in crate::eval::lvis::FREQ_LABELS {
        for r in rows
            .iter()
            .filter(|r| r.frequency.as_deref() == Some(group))
        {
            let name: String = r.name.chars().take(name_w).collect();
            s.push_str(&format!(
                "{:>8}  {:<w$}  {:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
                r.category_id,
                name,
                group,
                f(r.ap),
                f(r.ap50),
                f(r.ap75),
                f(r.ap_small),
                f(r.ap_medium),
                f(r.ap_large),
                f(r.ar100),
                w = name_w
            ));
        }
    }
    s
}

/// `--arrays`: precision/recall/scores as float64 arrays, plus the thresholds, in an `.npz`.
pub fn write_eval_arrays(path: &Path, ev: &Evaluation) -> Result<()> {
    use ndarray::{ArrayD, IxDyn};
    let a = &ev.arrays;
    let internal = |e: ndarray::ShapeError| crate::Error::internal(format!("array shape: {}", e));
    let (precision, recall, scores) = a.c_order();
    // LVISEval's arrays have no maxDets axis (it has one maxDets: the same data) and no scores.
    let lvis = ev.params.protocol == crate::eval::Protocol::Lvis;
    let (p_shape, r_shape): (&[usize], &[usize]) = if lvis {
        (&[a.t, a.r, a.k, a.a], &[a.t, a.k, a.a])
    } else {
        (&[a.t, a.r, a.k, a.a, a.m], &[a.t, a.k, a.a, a.m])
    };
    let precision = ArrayD::from_shape_vec(IxDyn(p_shape), precision).map_err(internal)?;
    let recall = ArrayD::from_shape_vec(IxDyn(r_shape), recall).map_err(internal)?;
    let iou =
        ArrayD::from_shape_vec(IxDyn(&[a.t]), ev.params.iou_thrs.clone()).map_err(internal)?;
    let rec =
        ArrayD::from_shape_vec(IxDyn(&[a.r]), ev.params.rec_thrs.clone()).map_err(internal)?;
    let stats =
        ArrayD::from_shape_vec(IxDyn(&[ev.stats.len()]), ev.stats.clone()).map_err(internal)?;
    let max_dets = ArrayD::from_shape_vec(
        IxDyn(&[ev.max_dets.len()]),
        ev.max_dets.iter().map(|&m| m as i64).collect(),
    )
    .map_err(internal)?;
    let cat_ids = ArrayD::from_shape_vec(
        IxDyn(&[ev.cat_ids.len()]),
        ev.cat_ids.iter().map(|&c| c as i64).collect(),
    )
    .map_err(internal)?;
    let mut entries = vec![
        NpzEntry::F64("precision", precision.view()),
        NpzEntry::F64("recall", recall.view()),
    ];
    let scores = if lvis {
        None
    } else {
        Some(ArrayD::from_shape_vec(IxDyn(p_shape), scores).map_err(internal)?)
    };
    if let Some(scores) = &scores {
        entries.push(NpzEntry::F64("scores", scores.view()));
    }
    entries.extend([
        NpzEntry::F64("iouThrs", iou.view()),
        NpzEntry::F64("recThrs", rec.view()),
        NpzEntry::F64("stats", stats.view()),
    ]);
    if !lvis {
        entries.push(NpzEntry::I64("maxDets", max_dets.view()));
    }
    entries.push(NpzEntry::I64("catIds", cat_ids.view()));
    write_npz(path, &entries)
}
