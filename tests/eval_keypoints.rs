//! `retina-tools eval --iou-type keypoints` against pycocotools 2.0.11's numbers
//! (fixtures/expected/), and malformed keypoints → exit 2 with the location.

mod support_segm_kp;
use support_segm_kp::{assert_bad_input, check_case, write};

#[test]
fn real_small_keypoints_set() {
    check_case("keypoints_small");
}

#[test]
fn generated_with_invisible_and_num_keypoints_zero() {
    check_case("keypoints_gen");
}

#[test]
fn custom_sigmas() {
    check_case("keypoints_sigmas");
}

#[test]
fn printed_lines_are_the_ten_keypoint_stats() {
    let e = support_segm_kp::expected("keypoints_small");
    assert_eq!(e.lines.len(), 10);
    assert_eq!(
        e.lines[3],
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets= 20 ] = 0.000"
            .replace("0.000", &e.lines[3][e.lines[3].len() - 5..])
    );
}

const GT: &str = r#"{"images": [{"id": 1, "height": 100, "width": 100}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 300, "iscrowd": 0,
                  "num_keypoints": 2, "keypoints": KPS}],
 "categories": [{"id": 1, "name": "person"}]}"#;

#[test]
fn malformed_keypoints_exit_2_with_location() {
    let d = tempfile::tempdir().unwrap();
    let three = "[12, 12, 2, 20, 20, 1, 0, 0, 0]";
    let gt_ok = write(d.path(), "gt_ok.json", &GT.replace("KPS", three));
    let dt = |name: &str, kps: &str| {
        write(
            d.path(),
            name,
            &format!(
                r#"[{{"image_id": 1, "category_id": 1, "score": 0.5, "keypoints": {}}}]"#,
                kps
            ),
        )
    };
    // Not a multiple of 3.
    let bad = dt("d1.json", "[1, 2, 3, 4]");
    assert_bad_input(
        &[
            "eval",
            &bad,
            "--gt",
            &gt_ok,
            "--iou-type",
            "keypoints",
            "--kpt-sigmas",
            "0.05,0.05,0.05",
        ],
        &["[0].keypoints", "multiple of 3", "line "],
    );
    // GT side, too.
    let gt_bad = write(
        d.path(),
        "gt_bad.json",
        &GT.replace("KPS", "[1, 2, 3, 4, 5]"),
    );
    let good = dt("d2.json", three);
    assert_bad_input(
        &[
            "eval",
            &good,
            "--gt",
            &gt_bad,
            "--iou-type",
            "keypoints",
            "--kpt-sigmas",
            "0.05,0.05,0.05",
        ],
        &["annotations[0].keypoints", "multiple of 3"],
    );
    // Count that does not match the sigmas (17 by default).
    assert_bad_input(
        &["eval", &good, "--gt", &gt_ok, "--iou-type", "keypoints"],
        &["annotations[0].keypoints", "--kpt-sigmas"],
    );
    // Bad sigma list.
    assert_bad_input(
        &[
            "eval",
            &good,
            "--gt",
            &gt_ok,
            "--iou-type",
            "keypoints",
            "--kpt-sigmas",
            "0.05,-1,0.05",
        ],
        &["--kpt-sigmas"],
    );
    // Missing num_keypoints on a GT.
    let gt_nonum = write(
        d.path(),
        "gt_nonum.json",
        &GT.replace("KPS", three)
            .replace("\"num_keypoints\": 2,", ""),
    );
    assert_bad_input(
        &[
            "eval",
            &good,
            "--gt",
            &gt_nonum,
            "--iou-type",
            "keypoints",
            "--kpt-sigmas",
            "0.05,0.05,0.05",
        ],
        &["annotations[0]", "num_keypoints"],
    );
}

#[test]
fn exact_match_gives_oks_one() {
    let d = tempfile::tempdir().unwrap();
    let three = "[12, 12, 2, 20, 20, 1, 0, 0, 0]";
    let gt = write(d.path(), "gt.json", &GT.replace("KPS", three));
    let dt = write(
        d.path(),
        "dt.json",
        &format!(
            r#"[{{"image_id": 1, "category_id": 1, "score": 0.5, "keypoints": {}}}]"#,
            three
        ),
    );
    let out = support_segm_kp::run(&[
        "eval",
        &dt,
        "--gt",
        &gt,
        "--iou-type",
        "keypoints",
        "--kpt-sigmas",
        "0.05,0.05,0.05",
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
    assert_eq!(v["stats"].as_array().unwrap().len(), 10);
    // GT area 300 is below the "medium" range, so AP(all) = 1 (stored as 1/(1+eps)) and AP_M = -1.
    assert_eq!(v["stats"][0].as_f64(), Some(0.9999999999999998)); // 1/(1+eps), as pycocotools stores precision 1
    assert_eq!(v["stats"][3].as_f64(), Some(-1.0));
}

#[test]
fn results_parsed_in_many_chunks_and_repeated_keys_give_the_same_numbers() {
    // Detection keypoints go into one arena per parse chunk; a file of several MB is cut into
    // many chunks. The same detections written compactly (one chunk), padded (many chunks), and
    // with a repeated "keypoints" key (the last one counts, as in Python) must agree.
    let d = tempfile::tempdir().unwrap();
    let gt = write(
        d.path(),
        "gt.json",
        &GT.replace("KPS", "[12, 12, 2, 20, 20, 1, 0, 0, 0]"),
    );
    let n = 3000;
    let kps = |i: usize| {
        format!(
            "[{}, {}, 0.{}, {}, 20.5, 1, 3.25, 0, 0]",
            10 + i % 5,
            12.0 + (i % 7) as f64 * 0.37,
            i % 10,
            20 - i % 3
        )
    };
    let det = |i: usize, pad: &str, repeat: bool| {
        let dup = if repeat {
            r#""keypoints": [1e3, 2, 3, 4, 5, 6, 7, 8, 9], "#.to_string()
        } else {
            String::new()
        };
        format!(
            r#"{{"image_id": 1, "category_id": 1, {}"keypoints": {}, "score": 0.{:04}{}}}"#,
            dup,
            kps(i),
            (i * 7919) % 10000,
            pad
        )
    };
    let file = |name: &str, pad: &str, repeat: bool| {
        write(
            d.path(),
            name,
            &format!(
                "[{}]",
                (0..n)
                    .map(|i| det(i, pad, repeat))
                    .collect::<Vec<_>>()
                    .join(",\n")
            ),
        )
    };
    let pad = format!(r#", "note": "{}""#, "x".repeat(2000));
    let stats = |dt: &str| -> Vec<f64> {
        let out = support_segm_kp::run(&[
            "eval",
            dt,
            "--gt",
            &gt,
            "--iou-type",
            "keypoints",
            "--kpt-sigmas",
            "0.05,0.05,0.05",
            "-q",
            "--json",
            "-",
            "--threads",
            "2",
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
    let compact = stats(&file("compact.json", "", false));
    assert!(compact[0] > 0.0, "{:?}", compact);
    assert_eq!(compact, stats(&file("padded.json", &pad, false)));
    assert_eq!(compact, stats(&file("repeated.json", &pad, true)));
}
