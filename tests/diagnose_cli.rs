//! `retina-tools diagnose`: the anchor section against pycocotools' matching (which GT are
//! missed, fixtures made by pycocotools) and against `assign --out-dir` GT by GT; suspects on a
//! hand-made case; determinism across thread counts; bad input.

use ndarray::Array1;
use ndarray_npy::NpzReader;
use std::fs::File;
use std::path::Path;

mod common;
use common::{assert_bad_input, assert_exit2, fixture, run, stderr, stdout};

const GT: &str = "coco-val2014-100/instances_val2014_100.json";
const BBOX: &str = "coco-val2014-100/fakebbox100_results.json";
const SEGM: &str = "coco-val2014-100/fakesegm100_results.json";

fn p(rel: &str) -> String {
    fixture(rel).to_str().unwrap().to_string()
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "{:?}: {}", args, stderr(&o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{:?}: not JSON ({}): {}", args, e, stdout(&o)))
}

fn expected_missed(iou_type: &str) -> Vec<(i64, i64)> {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture(&format!(
            "expected/diagnose/missed_{}_val2014_100.json",
            iou_type
        )))
        .unwrap(),
    )
    .unwrap();
    v["missed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x[0].as_i64().unwrap(), x[1].as_i64().unwrap()))
        .collect()
}

fn missed_of(doc: &serde_json::Value) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = doc["anchors"]["missed_gt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["image_id"].as_i64().unwrap(),
                m["annotation_id"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn missed_gt_are_pycocotools_unmatched_gt() {
    for (iou_type, preds) in [("bbox", BBOX), ("segm", SEGM)] {
        let doc = json_of(&[
            "diagnose",
            &p(preds),
            "--gt",
            &p(GT),
            "--iou-type",
            iou_type,
            "--suspects",
            "--anchors",
            "detectron2",
            "--json",
            "-",
            "-q",
        ]);
        let want = expected_missed(iou_type);
        assert_eq!(missed_of(&doc), want, "{}", iou_type);
        let a = &doc["anchors"];
        assert_eq!(a["missed"].as_u64().unwrap() as usize, want.len());
        let by: u64 = ["small", "medium", "large"]
            .iter()
            .map(|s| a["by_size"][s]["missed"].as_u64().unwrap())
            .sum();
        assert_eq!(by as usize, want.len());
    }
}

fn npz_i64(path: &Path, name: &str) -> Array1<i64> {
    let mut r = NpzReader::new(File::open(path).unwrap()).unwrap();
    r.by_name(name)
        .or_else(|_| r.by_name(&format!("{}.npy", name)))
        .unwrap()
}

/// Every missed GT's foreground-anchor count equals what `assign --out-dir` writes for it, with
/// the flags the section reports; boxes the convention drops have no count.
#[test]
fn anchor_section_agrees_with_assign_out_dir_gt_by_gt() {
    let tmp = tempfile::tempdir().unwrap();
    for conv_flags in [
        vec!["torchvision", "--no-low-quality", "--resize", "512,853"],
        vec!["detectron", "--pos-iou", "0.6"],
        vec!["mmdet", "--no-resize", "--scales-per-octave", "2"],
    ] {
        let mut args = vec!["diagnose", "--suspects", "--json", "-", "-q", "--anchors"];
        args.extend(conv_flags.iter().copied());
        let (bp, gp) = (p(BBOX), p(GT));
        args.extend([bp.as_str(), "--gt", gp.as_str()]);
        let doc = json_of(&args);
        let a = &doc["anchors"];
        let flags = a["assign_flags"].as_str().unwrap().to_string();
        let missed = a["missed_gt"].as_array().unwrap();
        assert!(missed.len() > 50, "{}", missed.len());
        let mut ids: Vec<String> = missed.iter().map(|m| m["image_id"].to_string()).collect();
        ids.dedup();
        let out = tmp.path().join(conv_flags[0]);
        let mut aargs: Vec<String> = vec![
            "assign".into(),
            "-q".into(),
            "--gt".into(),
            gp.clone(),
            "--image-ids".into(),
            ids.join(","),
            "--out-dir".into(),
            out.to_str().unwrap().into(),
        ];
        aargs.extend(flags.split_whitespace().map(String::from));
        let o = run(&aargs.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(0), "{:?}: {}", aargs, stderr(&o));
        let mut without = 0;
        for m in missed {
            let matched = npz_i64(&out.join(format!("{}.npz", m["image_id"])), "matched");
            let ann = m["annotation_id"].as_i64().unwrap();
            let n = matched.iter().filter(|&&x| x == ann).count() as u64;
            match m["fg_anchors"].as_u64() {
                Some(fg) => assert_eq!(fg, n, "{} annotation {}", flags, ann),
                None => assert_eq!(n, 0, "{} annotation {}", flags, ann),
            }
            without += (n == 0) as u64;
            if let Some(iou) = m["best_anchor_iou"].as_f64() {
                assert!((0.0..=1.0).contains(&iou));
                // Foreground needs IoU >= pos-iou unless a low-quality match gave it.
                if flags.contains("--no-low-quality") && n > 0 {
                    assert!(iou >= 0.5, "{} {} {}", flags, ann, iou);
                }
            }
        }
        assert_eq!(
            a["missed_without_fg_anchor"].as_u64().unwrap(),
            without,
            "{}",
            flags
        );
    }
}

#[test]
fn suspects_on_a_hand_made_case() {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("gt.json");
    std::fs::write(&gt, r#"{"images": [{"id": 1, "width": 100, "height": 100}],
        "annotations": [
          {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
          {"id": 2, "image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
          {"id": 3, "image_id": 1, "category_id": 1, "bbox": [80, 0, 20, 20], "area": 400, "iscrowd": 1}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}"#).unwrap();
    let dt = dir.path().join("dt.json");
    std::fs::write(
        &dt,
        r#"[
        {"image_id": 1, "category_id": 1, "bbox": [30, 30, 5, 5], "score": 0.95},
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 20, 20], "score": 0.97},
        {"image_id": 1, "category_id": 2, "bbox": [82, 2, 10, 10], "score": 0.99},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.99},
        {"image_id": 1, "category_id": 2, "bbox": [30, 30, 5, 5], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [51, 51, 20, 20], "score": 0.92}]"#,
    )
    .unwrap();
    let doc = json_of(&[
        "diagnose",
        dt.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--suspects",
        "--json",
        "-",
        "-q",
    ]);
    let s = doc["suspects"].as_array().unwrap();
    let got: Vec<(String, f64, Option<i64>, f64)> = s
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap().to_string(),
                x["score"].as_f64().unwrap(),
                x["gt_annotation_id"].as_i64(),
                x["iou"].as_f64().unwrap(),
            )
        })
        .collect();
    // IoU of [51,51,20,20] with [50,50,20,20]: 19*19 / (400 + 400 - 361).
    let want = vec![
        ("wrong_label".to_string(), 0.97, Some(2), 1.0),
        ("missing_annotation".to_string(), 0.95, None, 0.0),
        ("wrong_label".to_string(), 0.92, Some(2), 361.0 / 439.0),
    ];
    assert_eq!(got, want);
    // The crowd region hides the detection inside it; the low-score one is not examined.
    let text = stdout(&run(&[
        "diagnose",
        dt.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--suspects",
        "-q",
    ]));
    assert!(
        text.contains("1 of 5 confident detections overlap no GT"),
        "{}",
        text
    );
    let top1 = json_of(&[
        "diagnose",
        dt.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--suspects",
        "--suspects-top",
        "1",
        "--suspect-score",
        "0.96",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(top1["suspects"].as_array().unwrap().len(), 1);
}

#[test]
fn json_does_not_depend_on_the_thread_count() {
    for iou_type in ["bbox", "segm"] {
        let preds = if iou_type == "bbox" { p(BBOX) } else { p(SEGM) };
        let outs: Vec<Vec<u8>> = ["1", "2", "3"]
            .iter()
            .map(|t| {
                let o = run(&[
                    "diagnose",
                    &preds,
                    "--gt",
                    &p(GT),
                    "--iou-type",
                    iou_type,
                    "--suspects",
                    "--suspect-score",
                    "0.5",
                    "--anchors",
                    "torchvision",
                    "--json",
                    "-",
                    "-q",
                    "--threads",
                    t,
                ]);
                assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
                o.stdout
            })
            .collect();
        assert_eq!(outs[0], outs[1]);
        assert_eq!(outs[0], outs[2]);
    }
}

#[test]
fn bad_input_exits_2_with_a_place() {
    let (b, g) = (p(BBOX), p(GT));
    assert_exit2(
        &["diagnose", &b, "--gt", &g, "--iou-type", "keypoints"],
        "keypoints is not supported",
    );
    assert_exit2(
        &["diagnose", &b, "--gt", &g, "--tide-bg-thr", "0.6"],
        "--tide-bg-thr",
    );
    assert_exit2(
        &["diagnose", &b, "--gt", &g, "--calibration-bins", "0"],
        "--calibration-bins",
    );
    assert_exit2(
        &["diagnose", &b, "--gt", &g, "--sizes", "8,16,32,64,128"],
        "without --anchors",
    );
    assert_exit2(&["diagnose", &b, "--gt", &g, "--report", "-"], "--report");
    assert_exit2(&["diagnose", &b, "--gt", &g, "--anchors", "yolo"], "yolo");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("preds.json");
    std::fs::write(
        &bad,
        r#"[{"image_id": 42, "category_id": 18, "bbox": [1, 2, 3], "score": 0.5}]"#,
    )
    .unwrap();
    let o = run(&["diagnose", bad.to_str().unwrap(), "--gt", &g]);
    assert_bad_input(&o, "preds.json", &["[0].bbox"]);
    std::fs::write(
        &bad,
        r#"[{"image_id": 999999999, "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    )
    .unwrap();
    let o = run(&["diagnose", bad.to_str().unwrap(), "--gt", &g]);
    assert_bad_input(&o, "preds.json", &["999999999"]);
    // Nothing is left behind by a failed run.
    let report = dir.path().join("r.html");
    let _ = run(&[
        "diagnose",
        bad.to_str().unwrap(),
        "--gt",
        &g,
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(!report.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
