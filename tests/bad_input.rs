//! Bad input never panics: exit 2 with one `error:` line naming the file and the place, and a hint.

mod common;
use common::*;
use std::path::PathBuf;

const GT: &str = "coco-val2014-100/instances_val2014_100.json";

fn write(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn eval_preds(preds: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "preds.json", preds.as_bytes());
    run(&[
        "eval",
        p.to_str().unwrap(),
        "--gt",
        fixture(GT).to_str().unwrap(),
    ])
}

fn eval_gt(gt: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let g = write(&dir, "gt.json", gt.as_bytes());
    let p = write(
        &dir,
        "preds.json",
        br#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]"#,
    );
    run(&["eval", p.to_str().unwrap(), "--gt", g.to_str().unwrap()])
}

const DET: &str = r#"{"image_id": 42, "category_id": 18, "bbox": [258.15, 41.29, 348.26, 243.78], "score": 0.236}"#;

#[test]
fn malformed_json_gives_line_and_column() {
    let o = eval_preds(
        "[{\"image_id\": 42, \"category_id\": 18,\n \"bbox\": [1, 2, 3, 4] \"score\": 0.5}]",
    );
    assert_bad_input(
        &o,
        "preds.json",
        &["[0]", "line 2, column 23", "expected ',' or '}'"],
    );
    assert!(stderr(&o).contains("hint: "));
}

#[test]
fn truncated_file() {
    let o = eval_preds(&format!("[{}, {}", DET, &DET[..40]));
    assert_bad_input(&o, "preds.json", &["[1]"]);
}

#[test]
fn not_a_list() {
    let o = eval_preds(r#"{"annotations": []}"#);
    assert_bad_input(&o, "preds.json", &["must be a list"]);
}

#[test]
fn wrong_types() {
    let o = eval_preds(
        r#"[{"image_id": "42", "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    );
    assert_bad_input(
        &o,
        "preds.json",
        &["[0].image_id", "expected a number, found a string"],
    );
    let o = eval_preds(r#"[{"image_id": 42, "category_id": 18, "bbox": "1,2,3,4", "score": 0.5}]"#);
    assert_bad_input(&o, "preds.json", &["[0].bbox", "expected an array"]);
    let o = eval_preds(
        r#"[{"image_id": 42.5, "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    );
    assert_bad_input(&o, "preds.json", &["[0].image_id", "expected an integer"]);
}

#[test]
fn missing_fields() {
    let o = eval_preds(&format!(
        "[{}, {}]",
        DET, r#"{"image_id": 42, "category_id": 18, "bbox": [1, 2, 3, 4]}"#
    ));
    assert_bad_input(&o, "preds.json", &["[1]", "missing field \"score\""]);
    let o = eval_preds(r#"[{"image_id": 42, "category_id": 18, "score": 0.5}]"#);
    assert_bad_input(&o, "preds.json", &["[0]", "missing field \"bbox\""]);
}

#[test]
fn wrong_box_length() {
    let o = eval_preds(r#"[{"image_id": 42, "category_id": 18, "bbox": [1, 2, 3], "score": 0.5}]"#);
    assert_bad_input(
        &o,
        "preds.json",
        &["[0].bbox", "expected 4 numbers", "found 3"],
    );
}

#[test]
fn non_finite_numbers() {
    for lit in ["NaN", "Infinity", "-Infinity", "1e999"] {
        let o = eval_preds(&format!(
            r#"[{}, {{"image_id": 42, "category_id": 18, "bbox": [1, 2, 3, 4], "score": {}}}]"#,
            DET, lit
        ));
        assert_bad_input(&o, "preds.json", &["[1].score", "finite"]);
    }
}

#[test]
fn negative_sizes() {
    let o =
        eval_preds(r#"[{"image_id": 42, "category_id": 18, "bbox": [1, 2, -3, 4], "score": 0.5}]"#);
    assert_bad_input(&o, "preds.json", &["[0].bbox", "negative box size"]);
}

#[test]
fn result_image_not_in_gt() {
    let o = eval_preds(&format!(
        "[{}, {}]",
        DET, r#"{"image_id": 123456789, "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.5}"#
    ));
    assert_bad_input(
        &o,
        "preds.json",
        &["[1].image_id", "123456789", "not in the ground truth"],
    );
}

#[test]
fn empty_and_binary_files() {
    let o = eval_preds("");
    assert_bad_input(&o, "preds.json", &["empty"]);
    let o = eval_preds("   \n");
    assert_bad_input(&o, "preds.json", &["empty"]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "preds.json",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    );
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--gt",
        fixture(GT).to_str().unwrap(),
    ]);
    assert_bad_input(&o, "preds.json", &["binary"]);
}

#[test]
fn trailing_garbage() {
    let o = eval_preds(&format!("[{}] x", DET));
    assert_bad_input(&o, "preds.json", &["after the end"]);
}

#[test]
fn missing_file() {
    let o = run(&[
        "eval",
        "/nonexistent/preds.json",
        "--gt",
        fixture(GT).to_str().unwrap(),
    ]);
    assert_bad_input(&o, "/nonexistent/preds.json", &["cannot read"]);
}

#[test]
fn gt_problems() {
    let o = eval_gt(r#"{"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}]}"#);
    assert_bad_input(&o, "gt.json", &["missing top-level key \"annotations\""]);
    let o = eval_gt(r#"[1, 2]"#);
    assert_bad_input(&o, "gt.json", &["top level must be an object"]);
    let o = eval_gt(
        r#"{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": -1, "iscrowd": 0}], "categories": [{"id": 1}]}"#,
    );
    assert_bad_input(&o, "gt.json", &["annotations[0].area", "negative"]);
    let o = eval_gt(
        r#"{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1}], "categories": [{"id": 1}]}"#,
    );
    assert_bad_input(
        &o,
        "gt.json",
        &["annotations[0]", "missing field \"iscrowd\""],
    );
    let o = eval_gt(r#"{"images": [{"id": 1, "width": -5}], "annotations": [], "categories": []}"#);
    assert_bad_input(&o, "gt.json", &["images[0].width", "negative"]);
    let o = eval_gt(
        r#"{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, NaN, 1], "area": 1, "iscrowd": 0}], "categories": [{"id": 1}]}"#,
    );
    assert_bad_input(&o, "gt.json", &["annotations[0].bbox[2]", "NaN"]);
}

#[test]
fn bad_flags_exit_2() {
    let g = fixture(GT);
    let g = g.to_str().unwrap();
    let d = fixture("coco-val2014-100/fakebbox100_results.json");
    let d = d.to_str().unwrap();
    let o = run(&["eval", d, "--gt", g, "--max-dets", "1,x"]);
    assert_bad_input(&o, "--max-dets", &["'x'"]);
    let o = run(&["eval", d, "--gt", g, "--area-rng", "all:5"]);
    assert_bad_input(&o, "--area-rng", &["all:5"]);
    let o = run(&["eval", d, "--gt", g, "--img-ids", "1,2"]);
    assert_bad_input(&o, "--img-ids", &["not in the ground truth"]);
    let o = run(&["eval", d, "--gt", g, "--plot-pr", "out.pdf"]);
    assert_bad_input(&o, "out.pdf", &["plot format"]);
    let o = run(&["eval", d, "--gt", g, "--json", "/nonexistent-dir/x.json"]);
    assert_bad_input(&o, "/nonexistent-dir/x.json", &["does not exist"]);
    let o = run(&["eval", d, "--gt", g, "--threads", "0"]);
    assert_bad_input(&o, "--threads", &[]);
    let o = run(&["eval", d]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Regression (issue 10): values nested a million deep in a field nobody reads aborted the
/// process with a stack overflow (SIGABRT, exit 134). They are skipped now, in every subcommand
/// that reads COCO JSON and for every IoU type; truncated deep nesting is exit 2 with a place.
#[test]
fn hostile_nesting_is_skipped_or_refused_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1_000_000;
    let deep_arr = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let preds = write(&dir, "preds.json", format!("[{{\"image_id\": 42, \"category_id\": 18, \"bbox\": [258.15, 41.29, 348.26, 243.78], \"score\": 0.236, \"extra\": {}}}]", deep_arr).as_bytes());
    let gt_text = std::fs::read_to_string(fixture(GT)).unwrap();
    let m = 300_000;
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(m), "}".repeat(m));
    let gt = write(
        &dir,
        "gt.json",
        format!("{{\"info\": {}, {}", deep_obj, &gt_text.trim_start()[1..]).as_bytes(),
    );
    let (p, g) = (preds.to_str().unwrap(), gt.to_str().unwrap());
    let fb = fixture("coco-val2014-100/fakebbox100_results.json");
    let fb = fb.to_str().unwrap();
    let gt_fixture = fixture(GT);
    let gt_fixture = gt_fixture.to_str().unwrap();
    for args in [
        vec!["eval", p, "--gt", gt_fixture],
        vec!["eval", p, "--gt", gt_fixture, "--iou-type", "segm"],
        vec!["eval", fb, "--gt", g],
        vec!["eval", fb, "--gt", g, "--iou-type", "segm"],
        vec!["assign", "--gt", g, "--max-images", "2"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{:?}: {}", args, stderr(&o));
        assert!(
            !stderr(&o).contains("overflow"),
            "{:?}: {}",
            args,
            stderr(&o)
        );
    }
    // Truncated inside the nesting: bad input, with the path into it.
    let cut = write(
        &dir,
        "cut.json",
        format!("[{{\"image_id\": 42, \"extra\": {}", "[".repeat(n)).as_bytes(),
    );
    let o = run(&["eval", cut.to_str().unwrap(), "--gt", gt_fixture]);
    assert_bad_input(&o, "cut.json", &["[0].extra[0][0]", "end of file"]);
}

#[test]
fn hint_says_expected_once() {
    for o in [eval_preds(""), eval_gt("")] {
        let err = stderr(&o);
        assert!(err.contains("hint: expected a COCO"), "{}", err);
        assert!(!err.contains("expected expected"), "{}", err);
    }
}

/// `--json /dev/null` (or a FIFO, `/dev/stdout`) is written into, never replaced: the atomic
/// rename is for regular files only. (Renaming over /dev/null as root replaced the device.)
#[test]
fn special_output_files_are_written_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let f = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(f).unwrap())
    };
    let o = run(&[
        "eval",
        fixture("coco-val2014-100/fakebbox100_results.json")
            .to_str()
            .unwrap(),
        "--gt",
        fixture(GT).to_str().unwrap(),
        "--json",
        fifo.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = reader.join().unwrap();
    assert!(text.contains("\"stats\""), "{}", text);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced by a file"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left behind"
    );
}

#[test]
fn gzip_bomb_is_refused_not_aborted() {
    // 3 GB of spaces in 30 gzip members (13 MB), read with 2 GB of address space: the
    // decompression must stop with a named error (exit 2), not abort on a failed allocation.
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let member = |body: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(body).unwrap();
        e.finish().unwrap()
    };
    let spaces = vec![b' '; 100 << 20];
    let mut bomb = member(&[b"[".as_slice(), &spaces].concat());
    let rest = member(&spaces);
    for _ in 0..29 {
        bomb.extend_from_slice(&rest);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bomb.json.gz", &bomb);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 2000000; exec '{}' eval '{}' --gt fixtures/small/gt.json",
            env!("CARGO_BIN_EXE_retina-tools"),
            p.display()
        ))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", err);
    assert!(
        err.contains(
            "bomb.json.gz: cannot decompress: the data expands beyond the memory available"
        ),
        "{}",
        err
    );
}
