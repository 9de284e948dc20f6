//! `retina-tools anchors --fit`: on synthetic datasets built to need it (very small objects,
//! text-line-like elongated objects, one dominant size) the fit finds far better coverage than
//! the default; on COCO data it is not worse; every reported number equals what `assign` measures
//! with the reported flags (run as a separate process); on a small discrete space the fit finds
//! the optimum that an exhaustive sweep of `assign` runs finds; results do not depend on
//! --threads; bad input exits 2.

mod common;

use common::{assert_exit2, fixture, run, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The library's seeded SplitMix64, so the datasets are the same on every machine.
use retina_tools::fit::search::Rng;

fn range(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * r.uniform()
}

/// A COCO file of `images` 1200x800 images (the 800,1333 resize leaves them unchanged) whose
/// boxes come from `shape(rng) -> (w, h)`, about `per_image` per image at random places.
fn synthetic(
    dir: &Path,
    name: &str,
    images: usize,
    per_image: usize,
    seed: u64,
    shape: impl Fn(&mut Rng) -> (f64, f64),
) -> PathBuf {
    let mut rng = Rng::new(seed);
    let (iw, ih) = (1200.0, 800.0);
    let mut imgs = Vec::new();
    let mut anns = Vec::new();
    for i in 0..images {
        imgs.push(serde_json::json!({"id": i + 1, "width": iw, "height": ih, "file_name": format!("{}.jpg", i + 1)}));
        for _ in 0..per_image {
            let (w, h) = shape(&mut rng);
            let (w, h) = (w.min(iw - 1.0), h.min(ih - 1.0));
            let x = (range(&mut rng, 0.0, iw - w) * 100.0).round() / 100.0;
            let y = (range(&mut rng, 0.0, ih - h) * 100.0).round() / 100.0;
            let (w, h) = ((w * 100.0).round() / 100.0, (h * 100.0).round() / 100.0);
            anns.push(serde_json::json!({"id": anns.len() + 1, "image_id": i + 1, "category_id": 1, "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}));
        }
    }
    let doc = serde_json::json!({"images": imgs, "annotations": anns, "categories": [{"id": 1, "name": "thing"}]});
    let path = dir.join(format!("{}.json", name));
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path
}

fn fit(gt: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["anchors", "--fit", gt.to_str().unwrap(), "--json", "-"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{:?}: {}", args, stderr(&o));
    // The fit's own index agrees with assign on the covered boxes (it notes any difference).
    assert!(
        !stderr(&o).contains("internal check"),
        "{:?}: {}",
        args,
        stderr(&o)
    );
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// `assign --json -` with the flags string the fit printed.
fn assign(gt: &Path, flags: &str) -> Value {
    let mut args = vec!["assign", "-q", "--gt", gt.to_str().unwrap(), "--json", "-"];
    args.extend(flags.split_whitespace());
    let o = run(&args);
    assert!(o.status.success(), "{:?}: {}", args, stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The fit's `best` numbers equal `assign`'s with `best.flags`; and its `default` numbers equal
/// `assign`'s with the default anchors and the same matcher flags.
fn check_reproduces(gt: &Path, r: &Value) {
    let flags = r["best"]["flags"].as_str().unwrap();
    let a = assign(gt, flags);
    let cov = |s: &Value, k: usize| s["coverage"][k]["share"].as_f64().unwrap();
    for (k, label) in ["all", "small", "medium", "large"].iter().enumerate() {
        assert_eq!(
            r["best"]["coverage"][label].as_f64().unwrap(),
            cov(&a, k),
            "best coverage {} vs assign {}",
            label,
            flags
        );
    }
    let value = match r["objective"].as_str().unwrap() {
        "coverage" => cov(&a, 0),
        "recall" => a["recall"].as_f64().unwrap(),
        _ => a["mean_best_iou"].as_f64().unwrap(),
    };
    assert_eq!(
        r["best"]["value"].as_f64().unwrap(),
        value,
        "best value vs assign {}",
        flags
    );
    assert_eq!(r["best"]["recall"], a["recall"]);
    assert_eq!(r["best"]["mean_best_iou"], a["mean_best_iou"]);
    let fg: Vec<&Value> = r["best"]["by_level"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["foreground"])
        .collect();
    let afg: Vec<&Value> = a["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["foreground"])
        .collect();
    assert_eq!(fg, afg);
    // The default: the convention's anchors with the same resize and matcher flags.
    let at = flags
        .find(" --resize ")
        .or_else(|| flags.find(" --no-resize"))
        .unwrap();
    let matcher = &flags[at..];
    let levels = flags
        .split("--levels ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap();
    let d = assign(
        gt,
        &format!(
            "--convention {} --levels {} {}",
            r["convention"].as_str().unwrap(),
            levels,
            matcher
        ),
    );
    assert_eq!(
        r["default"]["coverage"]["all"].as_f64().unwrap(),
        cov(&d, 0)
    );
    assert_eq!(r["default"]["recall"], d["recall"]);
}

fn value(r: &Value, which: &str) -> f64 {
    r[which]["value"].as_f64().unwrap()
}

#[test]
fn tiny_objects_get_covered() {
    let tmp = tempfile::tempdir().unwrap();
    let gt = synthetic(tmp.path(), "tiny", 40, 12, 1, |r| {
        let s = range(r, 6.0, 16.0);
        let a = range(r, 0.8, 1.25);
        (s * a, s / a)
    });
    let r = fit(&gt, &[]);
    let (d, b) = (value(&r, "default"), value(&r, "best"));
    eprintln!("tiny objects: default {} -> fit {}", d, b);
    assert!(d < 0.25, "the default should miss most tiny boxes: {}", d);
    assert!(b >= d + 0.5, "fit {} vs default {}", b, d);
    check_reproduces(&gt, &r);
}

#[test]
fn elongated_objects_get_covered() {
    let tmp = tempfile::tempdir().unwrap();
    let gt = synthetic(tmp.path(), "text", 40, 10, 2, |r| {
        let w = range(r, 120.0, 400.0);
        (w, w * range(r, 0.07, 0.12))
    });
    let r = fit(&gt, &[]);
    let (d, b) = (value(&r, "default"), value(&r, "best"));
    eprintln!("elongated objects: default {} -> fit {}", d, b);
    assert!(d < 0.3, "default {}", d);
    assert!(b >= d + 0.4, "fit {} vs default {}", b, d);
    // The ratios found are text-line-like (h/w well below the default's 0.5).
    let min_ratio = r["best"]["aspect_ratios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(min_ratio < 0.25, "{}", r["best"]["aspect_ratios"]);
    check_reproduces(&gt, &r);
}

#[test]
fn one_dominant_size_gets_covered() {
    let tmp = tempfile::tempdir().unwrap();
    // 20 px squares: IoU with the smallest default anchor (32 px) is at most 400/1024 < 0.5.
    let gt = synthetic(tmp.path(), "single", 40, 10, 3, |r| {
        let s = range(r, 19.0, 21.0);
        (s, s)
    });
    let r = fit(&gt, &["--objective", "recall"]);
    let (d, b) = (value(&r, "default"), value(&r, "best"));
    eprintln!("one dominant size (recall): default {} -> fit {}", d, b);
    assert!(d < 0.05, "default {}", d);
    assert!(b > 0.95, "fit {} vs default {}", b, d);
    check_reproduces(&gt, &r);
}

#[test]
fn coco_data_is_not_made_worse_and_is_reproduced_by_assign() {
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    for (objective, conv, extra) in [
        ("coverage", "detectron2", &[][..]),
        ("mean-best-iou", "torchvision", &[][..]),
        ("coverage", "mmdet", &[][..]),
        (
            "coverage",
            "detectron",
            &["--no-resize", "--pos-iou", "0.6", "--neg-iou", "0.45"][..],
        ),
        (
            "recall",
            "detectron2",
            &["--budget", "4", "--levels", "2-6"][..],
        ),
    ] {
        let r = fit(
            &gt,
            &[
                &[
                    "--objective",
                    objective,
                    "--convention",
                    conv,
                    "--evaluations",
                    "120",
                ][..],
                extra,
            ]
            .concat(),
        );
        eprintln!(
            "bundled COCO, {} {} {:?}: default {} -> fit {}",
            objective,
            conv,
            extra,
            value(&r, "default"),
            value(&r, "best")
        );
        let per_loc = r["best"]["scales_per_octave"].as_u64().unwrap() as usize
            * r["best"]["aspect_ratios"].as_array().unwrap().len();
        let budget = if extra.contains(&"4") { 4 } else { 9 };
        assert!(
            per_loc <= budget,
            "{} anchors per location over budget {}",
            per_loc,
            budget
        );
        if budget == 9 {
            assert!(
                value(&r, "best") >= value(&r, "default"),
                "{} {}: {} < {}",
                objective,
                conv,
                value(&r, "best"),
                value(&r, "default")
            );
        }
        check_reproduces(&gt, &r);
    }
}

#[test]
fn finds_the_optimum_of_a_small_discrete_space() {
    let tmp = tempfile::tempdir().unwrap();
    let gt = synthetic(tmp.path(), "mixed", 20, 12, 4, |r| {
        let s = (range(r, 10.0f64.ln(), 300.0f64.ln())).exp();
        let a = range(r, 0.6, 1.6);
        (s * a, s / a)
    });
    // One stride multiple in [1, 4] by hundredths (301 candidates), ratios and scales fixed.
    let space = [
        "--size-mode",
        "stride-multiple",
        "--fix",
        "scales,ratios",
        "--size-range",
        "1,4",
    ];
    // The exhaustive answer, from 301 separate `assign` runs.
    let mut best = (f64::NEG_INFINITY, 0);
    for k in 100..=400 {
        let m = k as f64 / 100.0;
        let sizes: Vec<String> = [8.0, 16.0, 32.0, 64.0, 128.0]
            .iter()
            .map(|s| (m * s).to_string())
            .collect();
        let a = assign(
            &gt,
            &format!("--sizes {} --no-low-quality", sizes.join(",")),
        );
        let v = a["coverage"][0]["share"].as_f64().unwrap();
        if v > best.0 {
            best = (v, k);
        }
    }
    // The space fits in the evaluation budget: enumerated.
    let r = fit(&gt, &space);
    eprintln!(
        "exhaustive optimum {} at multiple {}; fit {}",
        best.0,
        best.1 as f64 / 100.0,
        value(&r, "best")
    );
    // Inside the range, so the search had to find it rather than run into a bound.
    assert!(
        best.1 > 100 && best.1 < 400,
        "optimum on the bound: {}",
        best.1
    );
    assert_eq!(r["evaluated"], 301);
    assert_eq!(
        value(&r, "best"),
        best.0,
        "exhaustive optimum at multiple {}",
        best.1 as f64 / 100.0
    );
    // A third of the budget: differential evolution still reaches the optimum here.
    let r = fit(&gt, &[&space[..], &["--evaluations", "100"]].concat());
    assert_eq!(
        value(&r, "best"),
        best.0,
        "exhaustive optimum at multiple {}",
        best.1 as f64 / 100.0
    );
}

#[test]
fn same_result_whatever_the_thread_count() {
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    let args = |t: &'static str| -> Vec<&'static str> {
        vec![
            "--threads",
            t,
            "--evaluations",
            "80",
            "--sample-boxes",
            "400",
            "--seed",
            "7",
        ]
    };
    let one = fit(&gt, &args("1"));
    for t in ["2", "3"] {
        assert_eq!(fit(&gt, &args(t)), one, "--threads {}", t);
    }
    // Another seed is another search (same default).
    let other = fit(
        &gt,
        &[
            "--threads",
            "2",
            "--evaluations",
            "80",
            "--sample-boxes",
            "400",
            "--seed",
            "8",
        ],
    );
    assert_eq!(other["default"], one["default"]);
}

#[test]
fn text_report_snippets_and_plot() {
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    let tmp = tempfile::tempdir().unwrap();
    let plot = tmp.path().join("fit.png");
    let o = run(&[
        "anchors",
        "-q",
        "--fit",
        gt.to_str().unwrap(),
        "--evaluations",
        "30",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "objective (coverage)",
        "reproduce with:\n  retina-tools assign --gt ",
        "MODEL:\n    ANCHOR_GENERATOR:",
        "anchor_generator=dict(",
        "AnchorGenerator(\n",
    ] {
        assert!(out.contains(needle), "{:?} missing in\n{}", needle, out);
    }
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // assign --plot draws the same kind of figure.
    let svg = tmp.path().join("cov.svg");
    let o = run(&[
        "assign",
        "-q",
        "--gt",
        gt.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(
        s.contains("0.5 rule alone") && s.contains("with low-quality matches") && s.contains("P3")
    );
}

#[test]
fn bad_input_exits_2() {
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    let gt = gt.to_str().unwrap();
    assert_exit2(
        &["anchors", "--fit", "/nonexistent/gt.json"],
        "/nonexistent/gt.json",
    );
    assert_exit2(&["anchors", "--fit", gt, "--budget", "0"], "--budget 0");
    assert_exit2(
        &["anchors", "--fit", gt, "--size-range", "5,1"],
        "--size-range 5,1",
    );
    assert_exit2(
        &["anchors", "--fit", gt, "--ratio-range", "0,1"],
        "--ratio-range",
    );
    assert_exit2(
        &["anchors", "--fit", gt, "--fix", "colours"],
        "--fix: unknown item 'colours'",
    );
    assert_exit2(
        &["anchors", "--fit", gt, "--plot", "x.gif"],
        "unknown plot format",
    );
    assert_exit2(
        &["anchors", "--fit", gt, "--image-size", "800x1333"],
        "cannot be used with",
    );
    assert_exit2(
        &["anchors", "--image-size", "800x1333", "--plot", "x.png"],
        "use it with --fit",
    );
    assert_exit2(&["anchors"], "--image-size");
    assert_exit2(
        &[
            "anchors",
            "--fit",
            gt,
            "--scales-per-octave",
            "3",
            "--aspect-ratios",
            "0.5,1,2",
            "--budget",
            "4",
        ],
        "exceed --budget 4",
    );
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, br#"{"images": [{"id": 1, "width": 10, "height": 10}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5], "area": 1, "iscrowd": 0}], "categories": [{"id": 1, "name": "a"}]}"#).unwrap();
    let o = run(&["anchors", "--fit", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.json") && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
    let nosize = tmp.path().join("nosize.json");
    std::fs::write(&nosize, br#"{"images": [{"id": 7}], "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}], "categories": [{"id": 1, "name": "a"}]}"#).unwrap();
    let o = run(&["anchors", "--fit", nosize.to_str().unwrap()]);
    common::assert_bad_input(&o, "nosize.json", &["image 7 has no width/height"]);
    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, br#"{"images": [{"id": 1, "width": 10, "height": 10}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}"#).unwrap();
    assert_exit2(&["anchors", "--fit", empty.to_str().unwrap()], "no usable");
}
