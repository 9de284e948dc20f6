//! `retina-tools compare`: replicates equal pycocotools on the resample made explicit (numbers
//! from scripts/make-expected-compare.py), paired draws, determinism across thread counts, a
//! model against itself, bad input, plots.

mod common;
use common::*;
use serde_json::Value;

const GT: &str = "coco-val2014-100/instances_val2014_100.json";
const A: &str = "coco-val2014-100/fakebbox100_results.json";
const B: &str = "coco-val2014-100/fakebbox100_perturbed.json";

fn f(rel: &str) -> String {
    fixture(rel).display().to_string()
}

fn compare_json(models: &[&str], extra: &[&str]) -> (Value, Vec<u8>) {
    let (gt, files): (String, Vec<String>) = (f(GT), models.iter().map(|m| f(m)).collect());
    let mut args: Vec<&str> = vec!["compare"];
    args.extend(files.iter().map(|s| s.as_str()));
    args.extend(["--gt", &gt, "--json", "-", "-q"]);
    args.extend(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (
        serde_json::from_slice(&o.stdout).expect("JSON on stdout"),
        o.stdout,
    )
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn replicates_equal_pycocotools_on_the_explicit_resample() {
    let want: Value = serde_json::from_slice(
        &std::fs::read(fixture("expected/compare/fake_vs_perturbed_seed7.json")).unwrap(),
    )
    .unwrap();
    let (doc, _) = compare_json(
        &[A, B],
        &["--bootstrap", "4", "--seed", "7", "--keep-replicates"],
    );
    for m in 0..2 {
        assert_eq!(
            bits(&floats(&doc["models"][m]["stats"])),
            bits(&floats(&want["point"][m])),
            "point estimate of model {}",
            m
        );
    }
    let reps = doc["bootstrap"]["replicates"].as_array().unwrap();
    assert_eq!(reps.len(), 4);
    for (r, (got, exp)) in reps
        .iter()
        .zip(want["replicates"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(
            got["image_ids"], exp["image_ids"],
            "replicate {}: the draw (SplitMix64)",
            r
        );
        for m in 0..2 {
            assert_eq!(
                bits(&floats(&got["stats"][m])),
                bits(&floats(&exp["stats"][m])),
                "replicate {} model {}",
                r,
                m
            );
        }
    }
}

#[test]
fn json_keys_and_shapes_follow_the_design() {
    let (doc, raw) = compare_json(&[A, B, A], &["--bootstrap", "30"]);
    // Top-level keys, in the written order (two-space indent).
    let raw = String::from_utf8(raw).unwrap();
    let top: Vec<&str> = raw
        .lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split('"').next().unwrap())
        .collect();
    assert_eq!(
        top,
        [
            "iou_type",
            "stat_names",
            "models",
            "deltas",
            "bootstrap",
            "per_class"
        ]
    );
    assert_eq!(doc["iou_type"], "bbox");
    assert_eq!(doc["stat_names"].as_array().unwrap().len(), 12);
    assert_eq!(doc["models"][1]["path"], f(B));
    let b = &doc["bootstrap"];
    let mut bk: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    bk.sort_unstable();
    assert_eq!(bk, ["ci", "confidence", "delta_ci", "images", "n", "seed"]);
    assert_eq!(
        (
            b["n"].as_u64(),
            b["seed"].as_u64(),
            b["confidence"].as_f64(),
            b["images"].as_u64()
        ),
        (Some(30), Some(0), Some(0.95), Some(100))
    );
    assert_eq!(b["ci"].as_array().unwrap().len(), 3);
    let dci = b["delta_ci"].as_array().unwrap();
    assert_eq!(dci.len(), 2);
    assert_eq!(
        (dci[1]["model"].as_u64(), dci[1]["vs"].as_u64()),
        (Some(2), Some(0))
    );
    for k in ["lo", "hi", "p_value"] {
        assert_eq!(dci[0][k].as_array().unwrap().len(), 12);
    }
    // Deltas are the differences of the point estimates; lo <= hi.
    let d = floats(&doc["deltas"][0]["stats"]);
    let (s0, s1) = (
        floats(&doc["models"][0]["stats"]),
        floats(&doc["models"][1]["stats"]),
    );
    for i in 0..12 {
        assert_eq!(d[i], s1[i] - s0[i]);
        assert!(dci[0]["lo"][i].as_f64() <= dci[0]["hi"][i].as_f64());
    }
    let pc = &doc["per_class"][0];
    let mut pk: Vec<&str> = pc.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    pk.sort_unstable();
    assert_eq!(pk, ["ap", "category_id", "delta_ap", "name"]);
    assert_eq!(pc["ap"].as_array().unwrap().len(), 3);
    assert_eq!(pc["delta_ap"][0].as_f64(), Some(0.0));
    // Without a bootstrap: null.
    let (doc, _) = compare_json(&[A, B], &["--bootstrap", "0"]);
    assert!(doc["bootstrap"].is_null());
}

#[test]
fn model_against_itself_gives_zero_deltas_and_p_value_one() {
    let (doc, _) = compare_json(&[A, A], &["--bootstrap", "200", "--seed", "3"]);
    let dci = &doc["bootstrap"]["delta_ci"][0];
    for i in 0..12 {
        let (lo, hi, p) = (
            dci["lo"][i].as_f64().unwrap(),
            dci["hi"][i].as_f64().unwrap(),
            dci["p_value"][i].as_f64().unwrap(),
        );
        assert!(lo <= 0.0 && 0.0 <= hi, "stat {}: [{}, {}]", i, lo, hi);
        assert_eq!(p, 1.0, "stat {}", i);
    }
    // The point estimate of AP lies inside (or at the edge of) its own interval here.
    let ci = &doc["bootstrap"]["ci"][0];
    assert!(ci["lo"][1].as_f64().unwrap() < ci["hi"][1].as_f64().unwrap());
}

#[test]
fn draws_are_paired_and_do_not_depend_on_the_models() {
    let (ab, _) = compare_json(
        &[A, B],
        &["--bootstrap", "6", "--seed", "11", "--keep-replicates"],
    );
    let (aa, _) = compare_json(
        &[A, A],
        &["--bootstrap", "6", "--seed", "11", "--keep-replicates"],
    );
    let (ra, rb) = (
        ab["bootstrap"]["replicates"].as_array().unwrap(),
        aa["bootstrap"]["replicates"].as_array().unwrap(),
    );
    for (x, y) in ra.iter().zip(rb) {
        // One draw per replicate, shared by every model of a run, and the same in another run.
        assert_eq!(x["image_ids"], y["image_ids"]);
        assert_eq!(x["image_ids"].as_array().unwrap().len(), 100);
        assert_eq!(x["stats"][0], y["stats"][0]);
        assert_eq!(y["stats"][0], y["stats"][1]);
    }
    assert_ne!(ra[0]["image_ids"], ra[1]["image_ids"]);
    let (other, _) = compare_json(
        &[A, B],
        &["--bootstrap", "1", "--seed", "12", "--keep-replicates"],
    );
    assert_ne!(
        other["bootstrap"]["replicates"][0]["image_ids"],
        ra[0]["image_ids"]
    );
}

#[test]
fn json_is_byte_identical_across_thread_counts() {
    let base = compare_json(&[A, B], &["--bootstrap", "300", "--threads", "1"]).1;
    for t in ["2", "3", "8"] {
        assert!(
            compare_json(&[A, B], &["--bootstrap", "300", "--threads", t]).1 == base,
            "--threads {}",
            t
        );
    }
}

#[test]
fn text_shows_the_table_the_intervals_and_the_bias_note() {
    let o = run(&[
        "compare",
        &f(A),
        &f(B),
        "--gt",
        &f(GT),
        "--bootstrap",
        "50",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("compare: 2 models, 100 images, bbox; paired bootstrap over images: 50 replicates, seed 0, 95% percentile intervals\n"), "{}", out);
    let ap = out.lines().find(|l| l.starts_with("AP ")).unwrap();
    assert_eq!(ap.matches('[').count(), 3, "{}", ap);
    assert!(out.contains("biased upwards"));
    assert!(out.contains("classes whose AP moved most ([1] vs [0]"));
    let per_class = run(&[
        "compare",
        &f(A),
        &f(B),
        "--gt",
        &f(GT),
        "--bootstrap",
        "0",
        "--per-class",
        "-q",
    ]);
    let lines = stdout(&per_class)
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(lines, 80, "one row per category");
}

#[test]
fn plots_are_written() {
    let dir = std::env::temp_dir().join(format!("rt-compare-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["svg", "png"] {
        let p = dir.join(format!("c.{}", ext));
        let o = run(&[
            "compare",
            &f(A),
            &f(B),
            "--gt",
            &f(GT),
            "--bootstrap",
            "40",
            "-q",
            "--plot",
            p.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let bytes = std::fs::read(&p).unwrap();
        if ext == "svg" {
            let s = String::from_utf8(bytes).unwrap();
            assert!(
                s.contains("Deltas to [0]")
                    && s.contains("AR100")
                    && s.contains("per-class AP delta")
            );
        } else {
            assert_eq!(&bytes[..4], b"\x89PNG");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_names_the_file() {
    let dir = std::env::temp_dir().join(format!("rt-compare-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A results file of another dataset: an image id this GT does not have.
    let other = dir.join("other_dataset.json");
    std::fs::write(
        &other,
        r#"[{"image_id": 999999999, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    )
    .unwrap();
    let o = run(&[
        "compare",
        &f(A),
        other.to_str().unwrap(),
        "--gt",
        &f(GT),
        "-q",
    ]);
    assert_bad_input(
        &o,
        "other_dataset.json",
        &["[0].image_id", "not in the ground truth"],
    );
    // Image ids that exist, but no category of this GT.
    let cats = dir.join("foreign_cats.json");
    std::fs::write(&cats, r#"[{"image_id": 42, "category_id": 100001, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 73, "category_id": 100002, "bbox": [1, 2, 3, 4], "score": 0.4}]"#).unwrap();
    let o = run(&[
        "compare",
        cats.to_str().unwrap(),
        &f(B),
        "--gt",
        &f(GT),
        "-q",
    ]);
    assert_bad_input(&o, "foreign_cats.json", &["category_id"]);
    assert!(stderr(&o).contains("hint: "));
    // A GT file passed as results.
    let o = run(&["compare", &f(A), &f(GT), "--gt", &f(GT), "-q"]);
    assert_bad_input(&o, "instances_val2014_100.json", &[]);
    // Usage.
    assert_exit2(&["compare", &f(A), "--gt", &f(GT)], "error");
    assert_exit2(
        &[
            "compare",
            &f(A),
            &f(B),
            "--gt",
            &f(GT),
            "--confidence",
            "1.5",
        ],
        "--confidence",
    );
    assert_exit2(
        &["compare", &f(A), &f(B), "--gt", &f(GT), "--keep-replicates"],
        "--json",
    );
    assert_exit2(
        &["compare", &f(A), &f(B), "--gt", &f(GT), "--plot", "x.pdf"],
        "plot format",
    );
    assert_exit2(
        &[
            "compare",
            &f(A),
            &f(B),
            "--gt",
            &fixture("lvis-val-100/lvis_val_100.json")
                .display()
                .to_string(),
        ],
        "LVIS",
    );
    std::fs::remove_dir_all(&dir).ok();
}
