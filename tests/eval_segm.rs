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
    write(
        dir,
        "dt.json",
        &format!(
            r#"[{{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {}}}]"#,
            segm
        ),
    )
}

#[test]
fn malformed_masks_exit_2_with_location() {
    let d = tempfile::tempdir().unwrap();
    let good_dt = dets(d.path(), r#"{"size": [4, 5], "counts": [0, 4, 16]}"#);
    let cases: &[(&str, &[&str])] = &[
        (
            "[[1, 1, 3, 1, 3]]",
            &["annotations[0].segmentation[0]", "odd count"],
        ),
        (
            "[[1, 1, 3, 1]]",
            &["annotations[0].segmentation[0]", "at least 3 points"],
        ),
        (
            r#"{"size": [4, 5], "counts": [3, 4]}"#,
            &[
                "annotations[0].segmentation.counts",
                "sum to 7",
                "20 pixels",
            ],
        ),
        (
            r#"{"size": [4, 5], "counts": [3, -4, 21]}"#,
            &["annotations[0].segmentation.counts[1]"],
        ),
        (
            r#"{"size": [4, 6], "counts": [24]}"#,
            &["annotations[0].segmentation", "does not match its image"],
        ),
        (
            r#"{"size": [4, 5], "counts": "zz~"}"#,
            &["annotations[0].segmentation.counts", "invalid character"],
        ),
        (
            r#"{"size": [4, 5], "counts": "P"}"#,
            &["annotations[0].segmentation.counts", "ends inside a value"],
        ),
        (
            r#"{"size": [4, 5], "counts": "3"}"#,
            &["annotations[0].segmentation.counts", "sum to 3"],
        ),
        (
            r#"{"counts": "3"}"#,
            &["annotations[0].segmentation", "size"],
        ),
        (
            "7",
            &[
                "annotations[0].segmentation",
                "expected a list of polygons or an RLE object",
            ],
        ),
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
    assert_bad_input(
        &["eval", &dt, "--gt", &gt, "--iou-type", "segm"],
        &["[0].segmentation.counts", "sum to"],
    );
    let dt = dets(d.path(), "[[1, 2, 3, 4, 5]]");
    assert_bad_input(
        &["eval", &dt, "--gt", &gt, "--iou-type", "segm"],
        &["[0].segmentation[0]", "odd count"],
    );
    // A results file whose first element has a segmentation and a later one none.
    let dt = write(
        d.path(),
        "dt2.json",
        r#"[{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": [[0,0,2,0,2,2]]},
        {"image_id": 1, "category_id": 1, "score": 0.4}]"#,
    );
    assert_bad_input(
        &["eval", &dt, "--gt", &gt, "--iou-type", "segm"],
        &["[1]", "segmentation"],
    );
}

#[test]
fn tiny_case_by_hand() {
    // GT: a 2x2 square polygon; det: the exact same pixels as uncompressed RLE → IoU 1, AP 1
    // (precision 1 is stored as 1/(1+eps) = 0.9999999999999998 by pycocotools, printed 1.000).
    let d = tempfile::tempdir().unwrap();
    let gt = gt_with(d.path(), "[[0, 0, 2, 0, 2, 2, 0, 2]]");
    let dt = dets(d.path(), r#"{"size": [4, 5], "counts": [0, 2, 2, 2, 14]}"#);
    let out = support_segm_kp::run(&[
        "eval",
        &dt,
        "--gt",
        &gt,
        "--iou-type",
        "segm",
        "-q",
        "--json",
        "-",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"][0].as_f64(), Some(0.9999999999999998)); // 1/(1+eps), as pycocotools stores precision 1
}

#[test]
fn a_mask_gives_the_same_numbers_however_it_is_written() {
    // Compressed strings are validated at load time and decoded again from the results file when
    // an IoU needs them; these contain `\` (written `\\` in JSON). The same masks written with
    // other JSON escapes, or as uncompressed counts, take other paths and must agree.
    let d = tempfile::tempdir().unwrap();
    let gt = write(
        d.path(),
        "gt.json",
        r#"{"images": [{"id": 1, "height": 6, "width": 8}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 3], "area": 12, "iscrowd": 0, "segmentation": {"size": [6, 8], "counts": [24, 3, 3, 3, 3, 3, 3, 3, 3]}},
                 {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 6], "area": 24, "iscrowd": 1, "segmentation": {"size": [6, 8], "counts": [0, 24, 24]}},
                 {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 3], "area": 12, "iscrowd": 0, "segmentation": [[1, 1, 5, 1, 5, 4, 1, 4]]}],
 "categories": [{"id": 1, "name": "a"}]}"#,
    );
    let strings = [r"01g02\O000000", r"1240i0O\O", r"033000g0N\O"];
    let counts = [
        "[0, 1, 23, 3, 3, 3, 3, 3, 3, 3, 3]",
        "[1, 2, 4, 2, 29, 1, 9]",
        "[0, 3, 3, 3, 3, 3, 26, 1, 6]",
    ];
    let write_dets = |name: &str, segm: &dyn Fn(usize) -> String| {
        let items: Vec<String> = (0..3)
            .map(|i| {
                format!(
                    r#"{{"image_id": 1, "category_id": 1, "score": 0.{}, "segmentation": {}}}"#,
                    9 - i,
                    segm(i)
                )
            })
            .collect();
        write(d.path(), name, &format!("[{}]", items.join(",\n")))
    };
    let plain = write_dets("plain.json", &|i| {
        format!(
            r#"{{"size": [6, 8], "counts": {}}}"#,
            serde_json::to_string(strings[i]).unwrap()
        )
    });
    let escaped = write_dets("escaped.json", &|i| {
        let u: String = strings[i]
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        format!(r#"{{"size": [6, 8], "counts": "{}"}}"#, u)
    });
    let uncompressed = write_dets("counts.json", &|i| {
        format!(r#"{{"size": [6, 8], "counts": {}}}"#, counts[i])
    });
    let stats = |dt: &str| -> Vec<f64> {
        let out = support_segm_kp::run(&[
            "eval",
            dt,
            "--gt",
            &gt,
            "--iou-type",
            "segm",
            "-q",
            "--json",
            "-",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["stats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let a = stats(&plain);
    assert!(a[1] > 0.0, "{:?}", a);
    assert_eq!(a, stats(&escaped));
    assert_eq!(a, stats(&uncompressed));
    // A bad character inside an otherwise plain string is still reported with its position.
    let bad = write_dets("bad.json", &|i| {
        format!(
            r#"{{"size": [6, 8], "counts": {}}}"#,
            serde_json::to_string(&strings[i].replace('O', "~")).unwrap()
        )
    });
    assert_bad_input(
        &["eval", &bad, "--gt", &gt, "--iou-type", "segm"],
        &["[0].segmentation.counts", "invalid character '~'", "line 1"],
    );
}
