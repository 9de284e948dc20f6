//! Helpers shared by the segm and keypoints integration tests: run the built binary and compare
//! its stats, printed lines and arrays with the pycocotools numbers in `fixtures/expected/`
//! (made by `fixtures/expected/make_segm_kp.py`, never from our own output).
#![allow(dead_code)]

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retina-tools"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the built binary runs")
}

pub struct Expected {
    pub stats: Vec<f64>,
    pub lines: Vec<String>,
    pub gt: String,
    pub dt: String,
    pub opts: serde_json::Value,
    pub iou_type: String,
}

pub fn expected(case: &str) -> Expected {
    let p = root()
        .join("fixtures/expected")
        .join(format!("{}.json", case));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("expected file exists"))
            .expect("valid JSON");
    Expected {
        // repr() strings round-trip: Rust's parse is correctly rounded like Python's float().
        stats: v["stats_repr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().parse::<f64>().unwrap())
            .collect(),
        lines: v["summary_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        gt: v["gt"].as_str().unwrap().to_string(),
        dt: v["dt"].as_str().unwrap().to_string(),
        opts: v["opts"].clone(),
        iou_type: v["iou_type"].as_str().unwrap().to_string(),
    }
}

fn read_npz(path: &Path, name: &str) -> ArrayD<f64> {
    let mut z =
        NpzReader::new(std::fs::File::open(path).expect("npz exists")).expect("npz readable");
    z.by_name::<ndarray::OwnedRepr<f64>, IxDyn>(&format!("{}.npy", name))
        .or_else(|_| z.by_name(name))
        .expect("array present")
}

/// Run one case; assert stats (f64 ==), the printed lines and (if pinned) every array element.
pub fn check_case(case: &str) {
    let e = expected(case);
    let mut args: Vec<String> = vec![
        "eval".into(),
        e.dt.clone(),
        "--gt".into(),
        e.gt.clone(),
        "--iou-type".into(),
        e.iou_type.clone(),
        "-q".into(),
    ];
    if e.opts.get("use_cats").and_then(|v| v.as_i64()) == Some(0) {
        args.push("--no-cats".into());
    }
    if let Some(m) = e.opts.get("max_dets").and_then(|v| v.as_array()) {
        args.push("--max-dets".into());
        args.push(
            m.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(s) = e.opts.get("sigmas").and_then(|v| v.as_array()) {
        args.push("--kpt-sigmas".into());
        args.push(
            s.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    let npz_expected = root()
        .join("fixtures/expected")
        .join(format!("{}.npz", case));
    let dir = tempfile::tempdir().unwrap();
    let ours_npz = dir.path().join("ours.npz");
    let mut text_args = args.clone();
    text_args.extend(["--arrays".into(), ours_npz.display().to_string()]);
    let refs: Vec<&str> = text_args.iter().map(|s| s.as_str()).collect();
    let out = run(&refs);
    assert!(
        out.status.success(),
        "{}: {}",
        case,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        e.lines.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "{}: printed lines",
        case
    );

    let mut json_args = args.clone();
    json_args.extend(["--json".into(), "-".into()]);
    let refs: Vec<&str> = json_args.iter().map(|s| s.as_str()).collect();
    let out = run(&refs);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats: Vec<f64> = v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(stats, e.stats, "{}: stats", case);

    if npz_expected.exists() {
        for name in ["precision", "recall", "scores"] {
            let (a, b) = (read_npz(&npz_expected, name), read_npz(&ours_npz, name));
            assert_eq!(a.shape(), b.shape(), "{}: {} shape", case, name);
            let diff = a.iter().zip(b.iter()).filter(|(x, y)| x != y).count();
            assert_eq!(diff, 0, "{}: {} differs in {} cells", case, name, diff);
        }
    }
}

/// Run with `args` and assert exit code 2 with every `needles` in stderr.
pub fn assert_bad_input(args: &[&str], needles: &[&str]) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stderr: {}",
        err
    );
    assert!(err.starts_with("error: "), "{}", err);
    assert!(!err.contains("panicked"), "{}", err);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {:?}: {}", n, err);
    }
}

/// Write `text` to a file in `dir`, returning its path as a String.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}
