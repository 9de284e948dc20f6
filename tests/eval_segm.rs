//! `retina-tools eval --iou-type segm` against pycocotools 2.0.11's numbers (fixtures/expected/),
//! and malformed masks → exit 2 with the location.

mod support_segm_kp;
use support_segm_kp::{assert_bad_input, check_case, write};

#[test]
fn real_val2014_100_fake_segm_results() {
    // cocoapi's own fake segm results: AP 0.320.
    check_case("segm_val2014_100");
}

#[test]
fn polygons_uncompressed_and_compressed_rle_with_crowd() {
    check_case("segm_mixed");
}

#[test]
fn results_with_boxes_take_the_bbox_branch() {
    // loadRes picks its bbox branch when the first result has a box: det area = box area.
    check_case("segm_with_boxes");
}

#[test]
fn no_cats() {
    check_case("segm_no_cats");
}

const GT: &str = r#"{"images": [{"id": 1, "height": 4, "width": 5}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4, "iscrowd": 0,
                  "segmentation": SEGM}],
 "categories": [{"id": 1, "name": "a"}]}"#;

fn gt_with(dir: &std::path::Path, segm: &str) -> String {
    write(dir, "gt.json", &GT.replace("SEGM", segm))
}

fn dets(dir: &std::path::Path, segm: &str) -> String {
    write(dir, "dt.json", &format!(r#"[{{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {}}}]"#, segm))
}

#[test]
fn malformed_masks_exit_2_with_location() {
    let d = tempfile::tempdir().unwrap();
    let good_dt = dets(d.path(), r#"{"size": [4, 5], "counts": [0, 4, 16]}"#);
    let cases: &[(&str, &[&str])] = &[
        ("[[1, 1, 3, 1, 3]]", &["annotations[0].segmentation[0]", "odd count"]),
        ("[[1, 1, 3, 1]]", &["annotations[0].segmentation[0]", "at least 3 points"]),
        (r#"{"size": [4, 5], "counts": [3, 4]}"#, &["annotations[0].segmentation.counts", "sum to 7", "20 pixels"]),
        (r#"{"size": [4, 5], "counts": [3, -4, 21]}"#, &["annotations[0].segmentation.counts[1]"]),
        (r#"{"size": [4, 6], "counts": [24]}"#, &["annotations[0].segmentation", "does not match its image"]),
        (r#"{"size": [4, 5], "counts": "zz~"}"#, &["annotations[0].segmentation.counts", "invalid character"]),
        (r#"{"size": [4, 5], "counts": "P"}"#, &["annotations[0].segmentation.counts", "ends inside a value"]),
        (r#"{"size": [4, 5], "counts": "3"}"#, &["annotations[0].segmentation.counts", "sum to 3"]),
        (r#"{"counts": "3"}"#, &["annotations[0].segmentation", "size"]),
        ("7", &["annotations[0].segmentation", "expected a list of polygons or an RLE object"]),
    ];
    for (segm, needles) in cases {
        let gt = gt_with(d.path(), segm);
        let mut n = needles.to_vec();
        n.push("line ");
        assert_bad_input(&["eval", &good_dt, "--gt", &gt, "--iou-type", "segm"], &n);
    }
    // The same checks on the results side.
    let gt = gt_with(d.path(), "[[0, 0, 2, 0, 2, 2, 0, 2]]");
    let dt = dets(d.path(), r#"{"size": [4, 5], "counts": "0;"}"#);
    assert_bad_input(&["eval", &dt, "--gt", &gt, "--iou-type", "segm"], &["[0].segmentation.counts", "sum to"]);
    let dt = dets(d.path(), "[[1, 2, 3, 4, 5]]");
    assert_bad_input(&["eval", &dt, "--gt", &gt, "--iou-type", "segm"], &["[0].segmentation[0]", "odd count"]);
    // A results file whose first element has a segmentation and a later one none.
    let dt = write(d.path(), "dt2.json", r#"[{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": [[0,0,2,0,2,2]]},
        {"image_id": 1, "category_id": 1, "score": 0.4}]"#);
    assert_bad_input(&["eval", &dt, "--gt", &gt, "--iou-type", "segm"], &["[1]", "segmentation"]);
}

#[test]
fn tiny_case_by_hand() {
    // GT: a 2x2 square polygon; det: the exact same pixels as uncompressed RLE → IoU 1, AP 1
    // (precision 1 is stored as 1/(1+eps) = 0.9999999999999998 by pycocotools, printed 1.000).
    let d = tempfile::tempdir().unwrap();
    let gt = gt_with(d.path(), "[[0, 0, 2, 0, 2, 2, 0, 2]]");
    let dt = dets(d.path(), r#"{"size": [4, 5], "counts": [0, 2, 2, 2, 14]}"#);
    let out = support_segm_kp::run(&["eval", &dt, "--gt", &gt, "--iou-type", "segm", "-q", "--json", "-"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"][0].as_f64(), Some(0.9999999999999998)); // 1/(1+eps), as pycocotools stores precision 1
}
