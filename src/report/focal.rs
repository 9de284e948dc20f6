//! The `focal` JSON document, shared by the CLI and the Python package.

use crate::focal::{self, Report};
use serde_json::{json, Value};

fn share_key(q: f64) -> String {
    format!("{}", q)
}

/// The `focal --json` document (fixed keys, see DESIGN.md).
pub fn focal_json(r: &Report) -> Value {
    let losses: serde_json::Map<String, Value> = r
        .losses
        .iter()
        .map(|(name, l)| {
            (name.to_string(), json!({"total": l.total, "positive": l.positive, "negative": l.negative, "per_foreground": l.per_foreground, "per_class": l.per_class}))
        })
        .collect();
    let normalizers: serde_json::Map<String, Value> = r
        .normalizers
        .iter()
        .map(|n| {
            (
                n.name.to_string(),
                json!({"normalizer": n.normalizer, "fl": n.loss, "rule": n.rule}),
            )
        })
        .collect();
    let sweep: Vec<Value> = r
        .sweep
        .iter()
        .map(|s| {
            let side = |i: usize| -> Value {
                let m: serde_json::Map<String, Value> = focal::LOSS_SHARES
                    .iter()
                    .zip(s.samples_for_loss_share[i])
                    .map(|(&q, v)| (share_key(q), json!(v)))
                    .collect();
                Value::Object(m)
            };
            let pts = |i: usize| -> Value {
                Value::Array(s.cdf[i].iter().map(|&(a, b)| json!([a, b])).collect())
            };
            json!({
                "gamma": s.gamma, "total": s.total, "positive": s.positive, "negative": s.negative,
                "cdf": {"positive": pts(0), "negative": pts(1)},
                "samples_for_loss_share": {"positive": side(0), "negative": side(1)},
            })
        })
        .collect();
    json!({
        "backend": r.backend,
        "adapter": r.adapter,
        "shape": r.shape,
        "num_classes": r.num_classes,
        "anchors": {"total": r.anchors.total, "foreground": r.anchors.foreground, "background": r.anchors.background, "ignored": r.anchors.ignored},
        "params": {"gamma": r.params.gamma, "alpha": r.params.alpha, "fl_star_gamma": r.params.fl_star_gamma, "fl_star_beta": r.params.fl_star_beta},
        "losses": Value::Object(losses),
        "normalizers": Value::Object(normalizers),
        "sweep": sweep,
    })
}
