//! `retina-tools assign`: labels and matched annotation ids equal the reference matchers
//! (fixtures/expected/anchors/make_fixtures.py: torchvision's Matcher and mmdet's MaxIoUAssigner
//! run for real, detectron2 and Detectron by the numpy oracles in float32) on the synthetic
//! mini file and 12 real COCO images, without resize; statistics; determinism; bad input.

use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;
use std::fs::File;
use std::path::{Path, PathBuf};

mod common;

use common::{assert_exit2, run, stderr};
const CONVENTIONS: [&str; 4] = ["detectron2", "torchvision", "mmdet", "detectron"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(root().join("fixtures/expected/anchors/assign_manifest.json")).unwrap(),
    )
    .unwrap()
}

fn npz<T: ndarray_npy::ReadableElement, D: ndarray::Dimension>(
    path: &Path,
    name: &str,
) -> ndarray::Array<T, D> {
    let mut r = NpzReader::new(File::open(path).unwrap()).unwrap();
    r.by_name(name)
        .or_else(|_| r.by_name(&format!("{}.npy", name)))
        .unwrap()
}

#[test]
fn labels_and_matches_equal_the_reference_matchers() {
    let man = manifest();
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (set, s) in man["sets"].as_object().unwrap() {
        let gt = root().join(s["gt"].as_str().unwrap());
        let entries = s["entries"].as_array().unwrap();
        for conv in CONVENTIONS {
            let ids: Vec<String> = entries
                .iter()
                .filter(|e| e["convention"] == conv)
                .map(|e| e["image_id"].to_string())
                .collect();
            let out = tmp.path().join(format!("{}_{}", conv, set));
            let o = run(&[
                "assign",
                "-q",
                "--gt",
                gt.to_str().unwrap(),
                "--no-resize",
                "--convention",
                conv,
                "--image-ids",
                &ids.join(","),
                "--out-dir",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            for e in entries.iter().filter(|e| e["convention"] == conv) {
                let id = e["image_id"].as_i64().unwrap();
                let exp = root().join(format!(
                    "fixtures/expected/anchors/assign_{}_{}_{}.npz",
                    conv, set, id
                ));
                let index: Array1<i64> = npz(&exp, "index");
                let want_labels: Array1<i32> = npz(&exp, "labels");
                let want_matched: Array1<i64> = npz(&exp, "matched");
                let got = out.join(format!("{}.npz", id));
                let labels: Array1<i32> = npz(&got, "labels");
                let matched: Array1<i64> = npz(&got, "matched");
                let targets: Array2<f32> = npz(&got, "targets");
                assert_eq!(
                    labels.len() as u64,
                    e["anchors"].as_u64().unwrap(),
                    "{} {} {}",
                    set,
                    conv,
                    id
                );
                assert_eq!(targets.shape(), &[labels.len(), 4]);
                let nonbg: Vec<i64> = labels
                    .iter()
                    .enumerate()
                    .filter(|(_, &l)| l != -1)
                    .map(|(i, _)| i as i64)
                    .collect();
                assert_eq!(
                    nonbg,
                    index.to_vec(),
                    "{} {} image {}: non-background anchors differ",
                    set,
                    conv,
                    id
                );
                for (k, &i) in index.iter().enumerate() {
                    let i = i as usize;
                    assert_eq!(
                        labels[i], want_labels[k],
                        "{} {} image {} anchor {}",
                        set, conv, id, i
                    );
                    assert_eq!(
                        matched[i], want_matched[k],
                        "{} {} image {} anchor {}",
                        set, conv, id, i
                    );
                }
                for i in 0..labels.len() {
                    if labels[i] < 0 {
                        assert_eq!(matched[i], -1);
                        assert_eq!(targets.row(i).to_vec(), vec![0.0; 4]);
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 50, "{} images checked", checked);
}

fn stats(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["assign", "-q", "--json", "-"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{:?}: {}", args, stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn statistics_on_the_mini_file() {
    let gt = root().join("fixtures/anchors/mini_coco.json");
    let gt = gt.to_str().unwrap();
    // Reference numbers: reference/anchor-conventions.md §2 (image 1, 800x1333).
    for (conv, extra, fg, ign, lowq_fg_gt) in [
        ("detectron2", None, 102, 171, None),
        ("detectron2", Some("--no-low-quality"), 76, 181, Some(0)),
        ("torchvision", None, 118, 172, None),
        ("mmdet", None, 102, 171, None),
        ("detectron", None, 83, 198, None),
    ] {
        let mut args = vec![
            "--gt",
            gt,
            "--no-resize",
            "--image-ids",
            "1",
            "--convention",
            conv,
        ];
        args.extend(extra);
        let s = stats(&args);
        assert_eq!(s["foreground"], fg, "{} {:?}", conv, extra);
        assert_eq!(s["ignored"], ign, "{} {:?}", conv, extra);
        assert_eq!(s["gt"], 6);
        assert_eq!(s["crowd_dropped"], 1);
        let total = s["foreground"].as_u64().unwrap()
            + s["ignored"].as_u64().unwrap()
            + s["background"].as_u64().unwrap();
        assert_eq!(total, s["anchors"].as_u64().unwrap());
        let per_level: u64 = s["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["foreground"].as_u64().unwrap())
            .sum();
        assert_eq!(per_level, fg);
        if let Some(n) = lowq_fg_gt {
            assert_eq!(s["gt_low_quality_only"], n);
        }
    }
    // Detectron: 96 foreground before the IoU < 0.4 overwrite (`retnet_fg_num` = 97).
    let s = stats(&[
        "--gt",
        gt,
        "--no-resize",
        "--image-ids",
        "1",
        "--convention",
        "detectron",
    ]);
    assert_eq!(s["foreground_before_overwrite"], 96);
    // Without low-quality matches detectron2 leaves 3 GT boxes uncovered.
    let s = stats(&[
        "--gt",
        gt,
        "--no-resize",
        "--image-ids",
        "1",
        "--no-low-quality",
    ]);
    assert_eq!(s["coverage"][0]["covered"], 3);
    assert_eq!(s["coverage"][0]["gt"], 6);
}

#[test]
fn deterministic_for_any_thread_count_and_resized_by_default() {
    let gt = root().join("fixtures/coco-val2014-100/instances_val2014_100.json");
    let gt = gt.to_str().unwrap();
    for conv in CONVENTIONS {
        let a = run(&[
            "assign",
            "-q",
            "--gt",
            gt,
            "--convention",
            conv,
            "--threads",
            "1",
            "--json",
            "-",
        ]);
        let b = run(&[
            "assign",
            "-q",
            "--gt",
            gt,
            "--convention",
            conv,
            "--threads",
            "2",
            "--json",
            "-",
        ]);
        assert!(a.status.success(), "{}", stderr(&a));
        assert_eq!(a.stdout, b.stdout, "{}", conv);
        let s: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
        assert_eq!(s["images"], 100);
        // Resized to 800 on the short side: P3 alone has 100 rows of anchors or more.
        assert!(
            s["anchors_per_image_min"].as_u64().unwrap() >= 100 * 100 * 9,
            "{}",
            s["anchors_per_image_min"]
        );
        let hist: u64 = s["best_iou_histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(hist, s["gt"].as_u64().unwrap());
        assert_eq!(s["worst"].as_array().unwrap().len(), 10);
    }
}

#[test]
fn text_report_and_plot() {
    let gt = root().join("fixtures/anchors/mini_coco.json");
    let tmp = tempfile::tempdir().unwrap();
    let plot = tmp.path().join("cov.svg");
    let o = run(&[
        "assign",
        "-q",
        "--gt",
        gt.to_str().unwrap(),
        "--no-resize",
        "--image-ids",
        "1",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("total        201600         102       171       201327"),
        "{}",
        text
    );
    assert!(text.contains("GT boxes foreground only through low-quality matches:"));
    assert!(text.contains("worst-covered boxes:"));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("coverage"));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ann = |bbox: &str| {
        format!(
            r#"{{"images": [{{"id": 1, "width": 640, "height": 480}}], "categories": [{{"id": 1, "name": "a"}}], "annotations": [{{"id": 1, "image_id": 1, "category_id": 1, "bbox": {}}}]}}"#,
            bbox
        )
    };
    let no_images = write(d, "noimg.json", r#"{"annotations": [], "categories": []}"#);
    assert_exit2(
        &["assign", "--gt", &no_images],
        "missing top-level key \"images\"",
    );
    let short = write(d, "short.json", &ann("[1, 2, 3]"));
    assert_exit2(&["assign", "--gt", &short], "annotations[0].bbox");
    let neg = write(d, "neg.json", &ann("[1, 2, -3, 4]"));
    assert_exit2(&["assign", "--gt", &neg], "negative box size");
    let text = write(d, "text.json", &ann(r#"[1, 2, "a", 4]"#));
    assert_exit2(&["assign", "--gt", &text], "annotations[0].bbox");
    let nan = write(d, "nan.json", &ann("[1, 2, NaN, 4]"));
    assert_exit2(&["assign", "--gt", &nan], "annotations[0].bbox");
    let nosize = write(
        d,
        "nosize.json",
        r#"{"images": [{"id": 1}], "categories": [], "annotations": []}"#,
    );
    assert_exit2(&["assign", "--gt", &nosize], "image 1 has no width/height");
    let zero = write(
        d,
        "zero.json",
        r#"{"images": [{"id": 1, "width": 0, "height": 0}], "categories": [], "annotations": []}"#,
    );
    assert_exit2(&["assign", "--gt", &zero], "unusable size");
    let huge = write(
        d,
        "huge.json",
        r#"{"images": [{"id": 1, "width": 1e9, "height": 5}], "categories": [], "annotations": []}"#,
    );
    assert_exit2(&["assign", "--gt", &huge, "--no-resize"], "unusable size");
    let badcat = write(
        d,
        "badcat.json",
        &ann("[1, 2, 3, 4]").replace("\"category_id\": 1", "\"category_id\": 9"),
    );
    assert_exit2(&["assign", "--gt", &badcat], "category_id 9");
    assert_exit2(
        &["assign", "--gt", &d.join("missing.json").to_string_lossy()],
        "missing.json",
    );
    let ok = write(d, "ok.json", &ann("[1, 2, 3, 4]"));
    assert_exit2(
        &["assign", "--gt", &ok, "--image-ids", "7"],
        "image 7 is not in the ground truth",
    );
    assert_exit2(
        &[
            "assign",
            "--gt",
            &ok,
            "--pos-iou",
            "0.3",
            "--neg-iou",
            "0.4",
        ],
        "need 0 <= neg <= pos <= 1",
    );
    assert_exit2(&["assign", "--gt", &ok, "--resize", "800"], "--resize");
    assert_exit2(&["assign", "--gt", &ok, "--resize", "0,1333"], "--resize");
    assert_exit2(
        &["assign", "--gt", &ok, "--convention", "yolo"],
        "invalid value 'yolo'",
    );
    assert_exit2(
        &["assign", "--gt", &ok, "--plot", "x.gif"],
        "unknown plot format",
    );
    assert_exit2(
        &["assign", "--gt", &ok, "--max-images", "0"],
        "--max-images",
    );
    // A file without area/iscrowd is fine for matching; an image without GT is all background.
    let o = run(&["assign", "-q", "--gt", &ok, "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let empty = write(
        d,
        "empty.json",
        r#"{"images": [{"id": 1, "width": 640, "height": 480}], "categories": [], "annotations": []}"#,
    );
    let o = run(&["assign", "-q", "--gt", &empty, "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["foreground"], 0);
    assert_eq!(s["images_without_gt"], 1);
    assert_eq!(s["background"], s["anchors"]);
}
