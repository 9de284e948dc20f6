//! `diagnose` output: the text report (most important first, tables that fit a terminal), the
//! JSON document (pinned keys, DESIGN.md §2), the plots and the HTML page (see [`super::html`]).

use crate::coco::Id;
use crate::diagnose::{anchors::SIZE_NAMES, tide, Diagnosis};
use crate::error::Result;
use std::fmt::Write as _;

/// How many most-confused class pairs the text lists.
pub const CONFUSED_PAIRS: usize = 10;
/// How many classes the per-class operating-point table lists in the text (worst AP first).
pub const TEXT_CLASSES: usize = 15;

pub(crate) fn name<'a>(dg: &'a Diagnosis, id: Id) -> &'a str {
    dg.names.get(&id).map(|s| s.as_str()).unwrap_or("?")
}

/// The most confused (GT class, predicted class, count, share of that GT class's row) pairs,
/// off the diagonal, background excluded, largest count first (row-major order on ties).
pub fn confused_pairs(dg: &Diagnosis, n: usize) -> Vec<(Id, Id, u64, f64)> {
    let Some(c) = &dg.confusion else {
        return Vec::new();
    };
    let k = c.cat_ids.len();
    let mut v = Vec::new();
    for i in 0..k {
        let row: u64 = c.matrix[i].iter().sum();
        for j in 0..k {
            let x = c.matrix[i][j];
            if i != j && x > 0 {
                v.push((c.cat_ids[i], c.cat_ids[j], x, x as f64 / row.max(1) as f64));
            }
        }
    }
    v.sort_by(|a, b| b.2.cmp(&a.2));
    v.truncate(n);
    v
}

/// The text report.
pub fn text(dg: &Diagnosis) -> String {
    let ev = &dg.ev;
    let mut s = String::new();
    let st = |name: &str| {
        ev.stat_names
            .iter()
            .position(|n| n == name)
            .map(|i| ev.stats[i])
            .unwrap_or(-1.0)
    };
    let _ = writeln!(
        s,
        "diagnose ({}): {} images, {} GT, {} detections; AP {:.1}, AP50 {:.1}, AP75 {:.1}, AR100 {:.1}",
        ev.params.iou_type.name(),
        ev.counts.images,
        ev.counts.gt,
        ev.counts.dets,
        100.0 * st("AP"),
        100.0 * st("AP50"),
        100.0 * st("AP75"),
        100.0 * st("AR100")
    );
    if let Some(t) = &dg.tide {
        let _ = writeln!(
            s,
            "\nTIDE errors (tidecv 1.0.1; pos IoU {}, background IoU {}): AP{} = {:.2}",
            t.pos_thr,
            t.bg_thr,
            (t.pos_thr * 100.0).round(),
            t.ap
        );
        let _ = writeln!(
            s,
            "  {:<6} {:>7} {:>8}   dAP: AP points gained by fixing every error of the type",
            "error", "dAP", "count"
        );
        let mut order: Vec<usize> = (0..6).collect();
        order.sort_by(|&a, &b| t.main[b].total_cmp(&t.main[a]));
        for i in order {
            let _ = writeln!(
                s,
                "  {:<6} {:>7.2} {:>8}   {}",
                tide::ERROR_NAMES[i],
                t.main[i],
                t.counts[i],
                tide_hint(i)
            );
        }
        let _ = writeln!(
            s,
            "  fixing all false positives: +{:.2}; all false negatives: +{:.2}",
            t.special[0], t.special[1]
        );
    }
    if let Some(a) = &dg.anchors {
        let share = |x: u64, n: u64| {
            if n == 0 {
                0.0
            } else {
                100.0 * x as f64 / n as f64
            }
        };
        let _ = writeln!(
            s,
            "\nMissed objects vs anchors ({}; {}):",
            a.convention, a.assign_flags
        );
        let _ = writeln!(
            s,
            "  {} GT missed at IoU .50; {} of them ({:.1}%) get no foreground anchor: the training recipe could not learn them",
            a.missed,
            a.missed_without_fg_anchor,
            share(a.missed_without_fg_anchor, a.missed)
        );
        for (i, (m, w)) in a.by_size.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:<7} missed {:>6}   without fg anchor {:>6} ({:.1}%)",
                SIZE_NAMES[i],
                m,
                w,
                share(*w, *m)
            );
        }
        let worst: Vec<_> = a
            .missed_gt
            .iter()
            .filter(|m| m.fg_anchors.unwrap_or(0) == 0)
            .take(10)
            .collect();
        if !worst.is_empty() {
            let _ = writeln!(
                s,
                "  {:>12} {:>12}  {:<14} {:>13}  {:>9}",
                "image", "annotation", "class", "w x h", "best IoU"
            );
            for m in worst {
                let iou = m
                    .best_anchor_iou
                    .map(|v| format!("{:.3}", v))
                    .unwrap_or_else(|| "dropped".into());
                let _ = writeln!(
                    s,
                    "  {:>12} {:>12}  {:<14} {:>13}  {:>9}",
                    m.image_id,
                    m.annotation_id,
                    trunc(name(dg, m.category_id), 14),
                    format!("{:.0}x{:.0}", m.bbox[2], m.bbox[3]),
                    iou
                );
            }
        }
    }
    if dg.confusion.is_some() {
        let c = dg.confusion.as_ref().unwrap_or_else(|| unreachable!());
        let pairs = confused_pairs(dg, CONFUSED_PAIRS);
        let k = c.cat_ids.len();
        let missed: u64 = (0..k).map(|i| c.matrix[i][k]).sum();
        let bkg: u64 = (0..k).map(|j| c.matrix[k][j]).sum();
        let _ = writeln!(s, "\nConfusion (IoU {}, {} dets per image{}): {} GT missed (row -> background), {} detections on background", c.iou_thr, c.max_det, c.min_score.map(|m| format!(", score >= {}", m)).unwrap_or_default(), missed, bkg);
        if pairs.is_empty() {
            let _ = writeln!(s, "  no cross-class confusion");
        } else {
            let _ = writeln!(
                s,
                "  {:<18} {:<18} {:>7} {:>9}",
                "GT class", "predicted as", "count", "% of GT"
            );
            for (g, p, n, sh) in pairs {
                let _ = writeln!(
                    s,
                    "  {:<18} {:<18} {:>7} {:>8.1}%",
                    trunc(name(dg, g), 18),
                    trunc(name(dg, p), 18),
                    n,
                    100.0 * sh
                );
            }
        }
    }
    if let Some(c) = &dg.calibration {
        let _ = writeln!(
            s,
            "\nCalibration (IoU {}, {} bins): ECE {:.4}, MCE {:.4}",
            c.iou_thr, c.n_bins, c.ece, c.mce
        );
        let _ = writeln!(
            s,
            "  {:<13} {:>10} {:>9} {:>9}",
            "score", "detections", "mean conf", "accuracy"
        );
        for b in c.bins.iter().filter(|b| b.count > 0) {
            let _ = writeln!(
                s,
                "  [{:.2}, {:.2}) {:>10} {:>9.3} {:>9.3}",
                b.lower, b.upper, b.count, b.avg_confidence, b.avg_accuracy
            );
        }
    }
    if let Some(f) = &dg.fscores {
        let _ = writeln!(
            s,
            "\nF-scores (beta {}): F {:.4}, F@.50 {:.4}, F@.75 {:.4}",
            f.beta, f.f, f.f_50, f.f_75
        );
        let mut rows: Vec<_> = f.per_class.iter().collect();
        let ap50 = |id: Id| {
            dg.per_class
                .iter()
                .find(|r| r.category_id == id)
                .map(|r| r.ap50)
                .unwrap_or(-1.0)
        };
        rows.sort_by(|a, b| a.f.total_cmp(&b.f));
        let _ = writeln!(
            s,
            "  operating points at IoU .50, lowest best-F first ({} of {} classes):",
            rows.len().min(TEXT_CLASSES),
            rows.len()
        );
        let _ = writeln!(
            s,
            "  {:<18} {:>6} {:>6} {:>9} {:>7} {:>11}",
            "class", "AP50", "best F", "precision", "recall", "score >="
        );
        for r in rows.iter().take(TEXT_CLASSES) {
            let a = ap50(r.category_id);
            let _ = writeln!(
                s,
                "  {:<18} {:>6} {:>6.3} {:>9.3} {:>7.3} {:>11}",
                trunc(name(dg, r.category_id), 18),
                if a < 0.0 {
                    "-".into()
                } else {
                    format!("{:.1}", 100.0 * a)
                },
                r.f,
                r.precision,
                r.recall,
                r.score_thr
                    .map_or_else(|| "-".into(), |t| format!("{:.4}", t))
            );
        }
    }
    if let Some(sp) = &dg.suspects {
        let _ = writeln!(
            s,
            "\nSuspected annotation errors (score >= {}): {} of {} confident detections overlap no GT ({}), {} match another class's GT ({})",
            sp.min_score, sp.missing_annotation, sp.examined, "missing_annotation", sp.wrong_label, "wrong_label"
        );
        if !sp.top.is_empty() {
            let _ = writeln!(
                s,
                "  {:<18} {:>12} {:<16} {:>6} {:>6}  {:<26} {}",
                "kind", "image", "class", "score", "IoU", "box x,y,w,h", "GT (class)"
            );
            for t in &sp.top {
                let b = format!(
                    "{:.0},{:.0},{:.0},{:.0}",
                    t.bbox[0], t.bbox[1], t.bbox[2], t.bbox[3]
                );
                let g = match (t.gt_annotation_id, t.gt_category_id) {
                    (Some(a), Some(c)) => format!("{} ({})", a, name(dg, c)),
                    _ => "-".into(),
                };
                let _ = writeln!(
                    s,
                    "  {:<18} {:>12} {:<16} {:>6.3} {:>6.3}  {:<26} {}",
                    t.kind.name(),
                    t.image_id,
                    trunc(name(dg, t.category_id), 16),
                    t.score,
                    t.iou,
                    b,
                    g
                );
            }
        }
    }
    s
}

fn tide_hint(i: usize) -> &'static str {
    [
        "right box, wrong class",
        "right class, box IoU in [bg, pos]",
        "wrong class and box",
        "duplicate of a matched detection",
        "on background (IoU <= bg)",
        "GT no detection found",
    ][i]
}

pub(crate) fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The `--json` document: the `eval` document (stats, per-class rows, params, counts) plus one
/// key per computed section.
pub fn json(dg: &Diagnosis) -> String {
    let mut doc = super::eval_value(&dg.ev, &dg.per_class);
    if let serde_json::Value::Object(m) = &mut doc {
        if let Some(t) = &dg.tide {
            m.insert("tide".into(), t.to_json());
        }
        if let Some(c) = &dg.confusion {
            m.insert("confusion".into(), c.to_json());
        }
        if let Some(c) = &dg.calibration {
            m.insert("calibration".into(), c.to_json());
        }
        if let Some(f) = &dg.fscores {
            m.insert("fscores".into(), f.to_json());
        }
        if let Some(s) = &dg.suspects {
            m.insert("suspects".into(), s.to_json());
        }
        if let Some(a) = &dg.anchors {
            m.insert("anchors".into(), a.to_json());
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{}\"}}", e))
}

/// `--plot-dir`: every plot of the report as its own file; returns how many were written.
pub fn write_plots(
    dir: &std::path::Path,
    format: super::plot::PlotFormat,
    dg: &Diagnosis,
) -> Result<usize> {
    super::html::write_plots(dir, format, dg)
}

/// `--report`: the self-contained HTML page, written atomically.
pub fn write_html(path: &std::path::Path, title: &str, dg: &Diagnosis) -> Result<()> {
    let page = super::html::page(title, dg);
    crate::io::write_atomic(path, |w| std::io::Write::write_all(w, page.as_bytes()))
}
