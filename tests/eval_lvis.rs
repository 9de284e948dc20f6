//! `retina-tools eval` under the LVIS protocol against lvis 0.5.3's numbers on the real
//! lvis-val-100 GT with seeded results (fixtures/expected/lvis/, made by its make_expected.py):
//! the 13 results (f64 ==), the printed lines, and precision/recall pinned by SHA-256.

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retina-tools"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the built binary runs")
}

fn expected(case: &str) -> serde_json::Value {
    let p = root()
        .join("fixtures/expected/lvis")
        .join(format!("{}.json", case));
    serde_json::from_slice(&std::fs::read(p).expect("expected file")).expect("valid JSON")
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn check_array(npz: &std::path::Path, name: &str, want: &serde_json::Value) {
    use ndarray_npy::NpzReader;
    let mut z = NpzReader::new(std::fs::File::open(npz).unwrap()).unwrap();
    let a: ndarray::ArrayD<f64> = z
        .by_name(&format!("{}.npy", name))
        .or_else(|_| z.by_name(name))
        .unwrap();
    let shape: Vec<usize> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(a.shape(), &shape[..], "{} shape", name);
    let a = a.as_standard_layout();
    let mut h = Sha256::new();
    for v in a.iter() {
        h.update(v.to_le_bytes());
    }
    let got: String = h.finalize().iter().map(|b| format!("{:02x}", b)).collect();
    assert_eq!(
        a.iter().filter(|&&v| v > -1.0).count() as u64,
        want["valid"].as_u64().unwrap(),
        "{} entries > -1",
        name
    );
    assert_eq!(
        got,
        want["sha256"].as_str().unwrap(),
        "{} differs from lvis'",
        name
    );
}

fn check_case(case: &str) {
    let e = expected(case);
    let d = tempfile::tempdir().unwrap();
    let npz = d.path().join("a.npz");
    let md = e["max_dets"].to_string();
    let args = [
        "eval",
        e["dt"].as_str().unwrap(),
        "--gt",
        e["gt"].as_str().unwrap(),
        "--iou-type",
        e["iou_type"].as_str().unwrap(),
        "--max-dets",
        &md,
        "-q",
    ];
    // stdout: exactly print_results()' lines.
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = strs(&e["summary_lines"]);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        lines.join("\n") + "\n"
    );
    // JSON and arrays.
    let mut a2: Vec<&str> = args.to_vec();
    a2.extend(["--json", "-", "--arrays", npz.to_str().unwrap()]);
    let o = run(&a2);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["protocol"], "lvis");
    assert_eq!(strs(&j["stat_names"]), strs(&e["stat_names"]));
    let want: Vec<f64> = strs(&e["stats_repr"])
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let got: Vec<f64> = j["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got, want, "{}: the 13 results", case);
    check_array(&npz, "precision", &e["precision"]);
    check_array(&npz, "recall", &e["recall"]);
}

#[test]
fn lvis_val_100_bbox() {
    check_case("lvis_val_100_bbox");
}

#[test]
fn lvis_val_100_segm() {
    check_case("lvis_val_100_segm");
}

#[test]
fn lvis_val_100_bbox_20_dets_per_image() {
    check_case("lvis_val_100_bbox_maxdets20");
}

#[test]
fn per_class_groups_by_frequency_and_coco_protocol_can_be_forced() {
    let gt = "fixtures/lvis-val-100/lvis_val_100.json";
    let dt = "fixtures/lvis-val-100/results_bbox.json";
    let o = run(&["eval", dt, "--gt", gt, "--per-class", "-q"]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("freq") && out.contains("AR@300"), "{}", out);
    // Rare rows come before common, common before frequent.
    let first = |g: &str| {
        out.lines()
            .position(|l| l.split_whitespace().nth(2) == Some(g))
            .unwrap()
    };
    assert!(first("r") < first("c") && first("c") < first("f"));
    // The LVIS file has no iscrowd: COCO evaluation refuses it, naming the field.
    let o = run(&["eval", dt, "--gt", gt, "--protocol", "coco", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("iscrowd"));
}

#[test]
fn forcing_lvis_on_a_coco_file_names_the_missing_field() {
    let o = run(&[
        "eval",
        "fixtures/small/dt.json",
        "--gt",
        "fixtures/small/gt.json",
        "--protocol",
        "lvis",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gt.json: images[0]: missing field \"neg_category_ids\""),
        "{}",
        err
    );
    let o = run(&[
        "eval",
        "fixtures/small/dt.json",
        "--gt",
        "fixtures/small/gt.json",
        "--lvis-max-dets-per-cat",
        "5",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
