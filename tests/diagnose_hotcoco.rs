//! `diagnose`'s confusion matrix, calibration and F-scores against hotcoco 1.3.0 on the bundled
//! val2014 subset (fixtures/expected/diagnose/make_hotcoco.py made the expected numbers): the
//! matrix cell for cell, every other number within 1e-12. The data is loaded through the library
//! as the CLI loads it, and evaluated once per iou type for every case, as `diagnose` does.

mod common;
use common::fixture;
use retina_tools::coco::{shapes, Dataset, Results};
use retina_tools::diagnose::{calibration, confusion, fscores, Input};
use retina_tools::eval::{self, IouType, Params};
use retina_tools::progress::NoProgress;
use serde_json::Value;

const TOL: f64 = 1e-12;

fn close(what: &str, got: f64, want: &Value) {
    let w = want
        .as_f64()
        .unwrap_or_else(|| panic!("{}: expected a number, found {}", what, want));
    assert!(
        (got - w).abs() <= TOL,
        "{}: {} vs hotcoco {} (|d| {:e})",
        what,
        got,
        w,
        (got - w).abs()
    );
}

fn check(iou_type: IouType, name: &str) {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(fixture(&format!(
            "expected/diagnose/hotcoco_{}_val2014_100.json",
            name
        )))
        .unwrap(),
    )
    .unwrap();
    let gt_path = fixture("coco-val2014-100/instances_val2014_100.json");
    let preds = fixture(&format!(
        "coco-val2014-100/{}",
        if iou_type == IouType::Bbox {
            "fakebbox100_results.json"
        } else {
            "fakesegm100_results.json"
        }
    ));
    let params = Params::new(iou_type);
    let buf = std::fs::read(&gt_path).unwrap();
    let gt = Dataset::parse(&gt_path, &buf).unwrap();
    let loaded = if iou_type == IouType::Bbox {
        (Results::load(&preds, &gt).unwrap(), None)
    } else {
        let gs = shapes::GtShapes::parse(&gt_path, &buf, &gt, iou_type, params.kpt_sigmas.len())
            .unwrap();
        let (res, ds) =
            shapes::load_results(&preds, &gt, iou_type, params.kpt_sigmas.len()).unwrap();
        (res, Some((gs, ds)))
    };
    let (res, sh) = loaded;
    let sh = sh
        .as_ref()
        .map(|(g, d)| eval::Shapes::new(&gt, g, d, &params));
    let inp = Input {
        gt: &gt,
        res: &res,
        shapes: sh.as_ref(),
        params: &params,
    };
    let (ev, detail) =
        eval::run_detailed(&gt, &res, sh.as_ref(), &params, true, &NoProgress).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for (ci, case) in cases.iter().enumerate() {
        let a = &case["args"];
        let ctx = |s: &str| format!("{} case {}: {}", name, ci, s);

        let cfg = confusion::ConfusionConfig {
            iou_thr: a["confusion_iou"].as_f64().unwrap(),
            max_det: a["confusion_max_det"].as_u64().map(|x| x as usize),
            min_score: a["confusion_min_score"].as_f64(),
        };
        let c = confusion::confusion(&inp, &ev, &detail, &cfg).unwrap();
        let want = &case["confusion"];
        let ids: Vec<i64> = c.cat_ids.iter().map(|&x| x as i64).collect();
        assert_eq!(
            serde_json::json!(ids),
            want["cat_ids"],
            "{}",
            ctx("cat_ids")
        );
        assert_eq!(
            serde_json::json!(c.matrix),
            want["matrix"],
            "{}",
            ctx("matrix")
        );
        for (i, row) in c.normalized.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                close(
                    &ctx(&format!("normalized[{}][{}]", i, j)),
                    x,
                    &want["normalized"][i][j],
                );
            }
        }

        let cfg = calibration::CalibrationConfig {
            n_bins: a["calibration_bins"].as_u64().unwrap() as usize,
            iou_thr: a["calibration_iou"].as_f64().unwrap(),
        };
        let cal = calibration::calibration(&inp, &ev, &detail, &cfg).unwrap();
        let want = &case["calibration"];
        close(&ctx("ece"), cal.ece, &want["ece"]);
        close(&ctx("mce"), cal.mce, &want["mce"]);
        assert_eq!(
            Some(cal.num_detections),
            want["num_detections"].as_u64(),
            "{}",
            ctx("num_detections")
        );
        let bins = want["bins"].as_array().unwrap();
        assert_eq!(cal.bins.len(), bins.len());
        for (i, (b, w)) in cal.bins.iter().zip(bins).enumerate() {
            assert_eq!(
                Some(b.count),
                w["count"].as_u64(),
                "{}",
                ctx(&format!("bins[{}].count", i))
            );
            close(&ctx(&format!("bins[{}].lower", i)), b.lower, &w["lower"]);
            close(&ctx(&format!("bins[{}].upper", i)), b.upper, &w["upper"]);
            close(
                &ctx(&format!("bins[{}].avg_confidence", i)),
                b.avg_confidence,
                &w["avg_confidence"],
            );
            close(
                &ctx(&format!("bins[{}].avg_accuracy", i)),
                b.avg_accuracy,
                &w["avg_accuracy"],
            );
        }
        let per_cat = want["per_category"].as_object().unwrap();
        assert_eq!(
            cal.per_category.len(),
            per_cat.len(),
            "{}",
            ctx("per_category keys")
        );
        for (id, e) in &cal.per_category {
            close(
                &ctx(&format!("per_category[{}]", id)),
                *e,
                &per_cat[&id.to_string()],
            );
        }

        let f = fscores::fscores(&inp, &ev, &detail, a["fscore_beta"].as_f64().unwrap()).unwrap();
        let want = &case["fscores"];
        close(&ctx("F"), f.f, &want["F"]);
        close(&ctx("F_50"), f.f_50, &want["F_50"]);
        close(&ctx("F_75"), f.f_75, &want["F_75"]);
    }
}

#[test]
fn bbox_val2014_100_equals_hotcoco() {
    check(IouType::Bbox, "bbox");
}

#[test]
fn segm_val2014_100_equals_hotcoco() {
    check(IouType::Segm, "segm");
}

/// The per-class operating point on real data against a brute force: evaluate only the
/// detections with `score >= s` for every candidate `s` of the category, count TP/FP at IoU .50.
#[test]
fn bbox_operating_points_equal_brute_force() {
    let gt_path = fixture("coco-val2014-100/instances_val2014_100.json");
    let gt = Dataset::load(&gt_path).unwrap();
    let res = Results::load(&fixture("coco-val2014-100/fakebbox100_results.json"), &gt).unwrap();
    let params = Params::new(IouType::Bbox);
    let inp = Input {
        gt: &gt,
        res: &res,
        shapes: None,
        params: &params,
    };
    let (ev, detail) = eval::run_detailed(&gt, &res, None, &params, true, &NoProgress).unwrap();
    let beta = 1.0;
    let got = fscores::fscores(&inp, &ev, &detail, beta)
        .unwrap()
        .per_class;
    // The three categories with the most detections.
    let mut by_count: Vec<(usize, usize)> = (0..gt.categories.len())
        .map(|k| {
            (
                res.detections
                    .iter()
                    .filter(|d| d.category == k as u32)
                    .count(),
                k,
            )
        })
        .collect();
    by_count.sort_by(|a, b| b.cmp(a));
    for &(_, k) in by_count.iter().take(3) {
        let cat = gt.categories[k].id;
        let mut scores: Vec<f64> = res
            .detections
            .iter()
            .filter(|d| d.category == k as u32)
            .map(|d| d.score)
            .collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        scores.dedup();
        let mut p = Params::new(IouType::Bbox);
        p.iou_thrs = vec![0.5];
        p.area_rng.truncate(1);
        p.max_dets = vec![100];
        p.cat_ids = Some(vec![cat]);
        let mut best = (0.0f64, None);
        for &s in &scores {
            let sub = Results {
                detections: res
                    .detections
                    .iter()
                    .filter(|d| d.score >= s)
                    .cloned()
                    .collect(),
                unknown_category: 0,
                unknown_category_ids: Vec::new(),
            };
            let (_, d) = eval::run_detailed(&gt, &sub, None, &p, false, &NoProgress).unwrap();
            let tp = d
                .matched
                .states
                .iter()
                .filter(|&&x| x == eval::evaluate::TP)
                .count() as f64;
            let fp = d
                .matched
                .states
                .iter()
                .filter(|&&x| x == eval::evaluate::FP)
                .count() as f64;
            let npig: u32 = (0..d.matched.empty.len())
                .map(|u| d.matched.npig(u, 0, 1))
                .sum();
            let f = fscores::f_beta(tp / (tp + fp), tp / npig as f64, beta);
            if f > best.0 {
                best = (f, Some(s));
            }
        }
        let pc = got.iter().find(|c| c.category_id == cat).unwrap();
        assert_eq!((pc.f, pc.score_thr), best, "category {}", cat);
    }
}

/// Where hotcoco raises, the CLI exits 2 with a hint: an IoU that is not an evaluated threshold,
/// and scores outside [0, 1] (only with --calibration; the other sections still run without it).
#[test]
fn calibration_refusals_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let gt = d.path().join("gt.json");
    let dt = d.path().join("dt.json");
    std::fs::write(&gt, r#"{"images": [{"id": 1, "width": 50, "height": 50}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}"#).unwrap();
    std::fs::write(
        &dt,
        r#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 2.5}]"#,
    )
    .unwrap();
    let (gt, dt) = (gt.to_str().unwrap(), dt.to_str().unwrap());
    common::assert_exit2(
        &["diagnose", dt, "--gt", gt, "--calibration", "-q"],
        "found 2.5 (1 of 1 out of range)",
    );
    common::assert_exit2(
        &[
            "diagnose",
            dt,
            "--gt",
            gt,
            "--calibration",
            "--calibration-iou",
            "0.53",
            "-q",
        ],
        "--calibration-iou",
    );
    let o = common::run(&[
        "diagnose",
        dt,
        "--gt",
        gt,
        "--confusion",
        "--fscores",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["confusion"]["matrix"],
        serde_json::json!([[1, 0], [0, 0]])
    );
    assert_eq!(
        v["fscores"]["per_class"][0]["score_thr"],
        serde_json::json!(2.5)
    );
}
