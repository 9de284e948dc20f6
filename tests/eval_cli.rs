//! `retina-tools eval` on the bundled real COCO fixture, against numbers pycocotools 2.0.11
//! produced (fixtures/expected/eval, made by scripts/make-expected-eval.py).

mod common;
use common::*;
use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde_json::Value;
use sha2::{Digest, Sha256};

const GT: &str = "coco-val2014-100/instances_val2014_100.json";
const DT: &str = "coco-val2014-100/fakebbox100_results.json";

fn expected(name: &str) -> Value {
    let p = fixture(&format!("expected/eval/{}.json", name));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn eval_args(gt: &str, dt: &str, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "eval".to_string(),
        fixture(dt).display().to_string(),
        "--gt".into(),
        fixture(gt).display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run_s(args: &[String]) -> std::process::Output {
    let r: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(&r)
}

fn sha_f64(a: &ArrayD<f64>) -> String {
    let mut h = Sha256::new();
    for v in a.iter() {
        h.update(v.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{:02x}", b)).collect()
}

/// Stats, printed lines, per-class rows and every array element equal to pycocotools.
fn check_case(name: &str, gt: &str, dt: &str, extra: &[&str]) {
    let exp = expected(name);
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("arrays.npz");
    let json = dir.path().join("out.json");
    let mut args: Vec<&str> = extra.to_vec();
    let npz_s = npz.display().to_string();
    let json_s = json.display().to_string();
    args.extend(["--arrays", &npz_s, "--json", &json_s, "-q"]);
    let o = run_s(&eval_args(gt, dt, &args));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // stdout: exactly pycocotools' summary lines.
    let lines: Vec<String> = exp["summary_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    if !lines.is_empty() {
        assert_eq!(
            stdout(&o),
            lines.join("\n") + "\n",
            "{}: printed lines",
            name
        );
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        floats(&doc["stats"]),
        floats(&exp["stats"]),
        "{}: stats",
        name
    );
    // Per-class rows, compared as exact doubles.
    let got_rows = doc["per_class"].as_array().unwrap();
    let exp_rows = exp["per_class"].as_array().unwrap();
    assert_eq!(got_rows.len(), exp_rows.len());
    for (g, e) in got_rows.iter().zip(exp_rows) {
        for key in [
            "category_id",
            "ap",
            "ap50",
            "ap75",
            "ap_small",
            "ap_medium",
            "ap_large",
            "ar100",
        ] {
            assert_eq!(
                g[key].as_f64(),
                e[key].as_f64(),
                "{}: per_class {} of {}",
                name,
                key,
                e["category_id"]
            );
        }
    }
    // Arrays, bit for bit, through their hashes.
    let mut r = NpzReader::new(std::fs::File::open(&npz).unwrap()).unwrap();
    for key in ["precision", "recall", "scores"] {
        let a: ArrayD<f64> = r.by_name(key).unwrap();
        assert_eq!(
            sha_f64(&a),
            exp["sha256"][key].as_str().unwrap(),
            "{}: {} array differs from pycocotools",
            name,
            key
        );
    }
}

#[test]
fn real_coco_default_params() {
    check_case("val2014_100_bbox", GT, DT, &[]);
}

#[test]
fn real_coco_use_cats_0() {
    check_case("val2014_100_bbox_nocats", GT, DT, &["--no-cats"]);
}

#[test]
fn real_coco_max_dets_without_100_makes_stat0_minus_one() {
    check_case(
        "val2014_100_bbox_maxdets_1_10_300",
        GT,
        DT,
        &["--max-dets", "1,10,300"],
    );
}

#[test]
fn real_coco_custom_area_ranges() {
    check_case(
        "val2014_100_bbox_custom_areas",
        GT,
        DT,
        &[
            "--area-rng",
            "all:0,1e10",
            "small:0,400",
            "medium:400,4000",
            "large:4000,1e10",
        ],
    );
}

#[test]
fn real_coco_image_and_category_subset() {
    let exp = expected("val2014_100_bbox_subset");
    let ids: Vec<String> = exp["img_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap().to_string())
        .collect();
    let ids = ids.join(",");
    check_case(
        "val2014_100_bbox_subset",
        GT,
        DT,
        &["--img-ids", &ids, "--cat-ids", "1,3,18,62"],
    );
}

#[test]
fn small_hand_made_set() {
    check_case("small_bbox", "small/gt.json", "small/dt.json", &[]);
}

#[test]
fn printed_lines_match_cocoapi_reference_file_up_to_its_old_spacing() {
    // cocoapi's own results file was printed by an older pycocotools with one space fewer.
    let o = run_s(&eval_args(GT, DT, &["-q"]));
    let ours: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            l.replace("Average Precision  (AP)", "Average Precision (AP)")
                .replace("Average Recall     (AR)", "Average Recall    (AR)")
        })
        .collect();
    let reference =
        std::fs::read_to_string(fixture("coco-val2014-100/val2014_fake_eval_res.txt")).unwrap();
    let bbox_part = reference.split("type=bbox").nth(1).unwrap();
    let theirs: Vec<&str> = bbox_part
        .lines()
        .filter(|l| l.contains("Average"))
        .take(12)
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn json_is_identical_for_any_thread_count() {
    let a = run_s(&eval_args(GT, DT, &["--json", "-", "--threads", "1"]));
    let b = run_s(&eval_args(GT, DT, &["--json", "-", "--threads", "2"]));
    let c = run_s(&eval_args(GT, DT, &["--json", "-", "--threads", "3"]));
    assert_eq!(a.status.code(), Some(0));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, c.stdout);
}

#[test]
fn json_to_stdout_has_the_contract_keys() {
    let o = run_s(&eval_args(GT, DT, &["--json", "-", "-q"]));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["iou_type"], "bbox");
    assert_eq!(doc["stats"].as_array().unwrap().len(), 12);
    assert_eq!(doc["stat_names"][0], "AP");
    assert_eq!(doc["counts"]["images"], 100);
    assert_eq!(doc["counts"]["dets"], 734);
    assert_eq!(doc["per_class"].as_array().unwrap().len(), 80);
    assert_eq!(doc["per_class"][0]["name"], "person");
    assert_eq!(doc["params"]["max_dets"], serde_json::json!([1, 10, 100]));
}

#[test]
fn per_class_table_follows_the_summary() {
    let o = run_s(&eval_args(GT, DT, &["--per-class", "-q"]));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 12 + 1 + 1 + 80);
    assert!(
        lines[13].split_whitespace().collect::<Vec<_>>()
            == ["cat_id", "name", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"]
    );
    let exp = expected("val2014_100_bbox");
    let person = &exp["per_class"][0];
    let row: Vec<&str> = lines[14].split_whitespace().collect();
    assert_eq!(row[0], "1");
    assert_eq!(row[1], "person");
    assert_eq!(
        row[2],
        format!("{:.1}", person["ap"].as_f64().unwrap() * 100.0)
    );
}

#[test]
fn pr_plot_is_written_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["svg", "png"] {
        let p = dir.path().join(format!("pr.{}", ext));
        let ps = p.display().to_string();
        let o = run_s(&eval_args(GT, DT, &["--plot-pr", &ps, "-q"]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let bytes = std::fs::read(&p).unwrap();
        if ext == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
            assert!(bytes.len() > 20_000, "a 4-panel PNG is not tiny");
        } else {
            let s = String::from_utf8(bytes).unwrap();
            assert!(s.contains("<svg") && s.contains("IoU=.50") && s.contains("recall"));
        }
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{:?}", names);
}

#[test]
fn empty_results_list_scores_zero_instead_of_crashing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.json");
    std::fs::write(&p, "[]").unwrap();
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--gt",
        fixture(GT).to_str().unwrap(),
        "--json",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    // Every area range with GT: AP 0 and AR 0 (pycocotools' evaluate/accumulate on no detections).
    assert_eq!(floats(&doc["stats"]), vec![0.0; 12]);
    assert!(
        stderr(&o).contains("empty"),
        "says so on stderr: {}",
        stderr(&o)
    );
}

#[test]
fn unknown_categories_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dt.json");
    let mut dets: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(DT)).unwrap()).unwrap();
    dets.as_array_mut().unwrap().push(serde_json::json!({"image_id": 42, "category_id": 9999, "bbox": [1, 2, 3, 4], "score": 0.99}));
    std::fs::write(&p, dets.to_string()).unwrap();
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--gt",
        fixture(GT).to_str().unwrap(),
        "--json",
        "-",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        floats(&doc["stats"]),
        floats(&expected("val2014_100_bbox")["stats"])
    );
    assert!(
        stderr(&o).contains("1 detection(s) have a category_id absent"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn quiet_silences_notes() {
    let o = run_s(&eval_args(GT, DT, &["-q"]));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}
