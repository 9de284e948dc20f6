//! TIDE against the numbers of the authors' `tidecv` 1.0.1 on the bundled COCO val2014 sample
//! (fixtures/expected/diagnose/tide_*.json, made by make_tide.py beside them): main and special
//! dAP and the AP within 1e-9, error counts exactly — for bbox (tidecv's BOX mode) and segm
//! (MASK), at the default and at other thresholds. Also: the same numbers for any thread count.

use retina_tools::coco::{shapes, Dataset, Results};
use retina_tools::diagnose::tide::{tide, Tide, TideConfig, ERROR_NAMES, SPECIAL_NAMES};
use retina_tools::diagnose::Input;
use retina_tools::eval::{self, IouType, Params};
use retina_tools::progress::NoProgress;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Load the GT and results as the CLI does and run TIDE.
fn run(gt_path: &Path, res_path: &Path, iou_type: IouType, cfg: &TideConfig) -> Tide {
    let params = Params::new(iou_type);
    let gt = Dataset::load(gt_path).unwrap();
    if iou_type == IouType::Bbox {
        let res = Results::load(res_path, &gt).unwrap();
        let inp = Input {
            gt: &gt,
            res: &res,
            shapes: None,
            params: &params,
        };
        tide(&inp, cfg, &NoProgress).unwrap()
    } else {
        let buf = std::fs::read(gt_path).unwrap();
        let gs = shapes::GtShapes::parse(gt_path, &buf, &gt, iou_type, 0).unwrap();
        let (res, ds) = shapes::load_results(res_path, &gt, iou_type, 0).unwrap();
        let sh = eval::Shapes::new(&gt, &gs, &ds, &params);
        let inp = Input {
            gt: &gt,
            res: &res,
            shapes: Some(&sh),
            params: &params,
        };
        tide(&inp, cfg, &NoProgress).unwrap()
    }
}

fn close(what: &str, ours: f64, theirs: f64) {
    assert!(
        (ours - theirs).abs() <= 1e-9,
        "{}: ours {:?}, tidecv {:?}",
        what,
        ours,
        theirs
    );
}

fn check(name: &str) {
    let dir = root().join("fixtures/expected/diagnose");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{}.json", name))).unwrap())
            .unwrap();
    let iou_type = if doc["iou_type"] == "segm" {
        IouType::Segm
    } else {
        IouType::Bbox
    };
    let want = &doc["tide"];
    let cfg = TideConfig {
        pos_thr: want["pos_thr"].as_f64().unwrap(),
        bg_thr: want["bg_thr"].as_f64().unwrap(),
    };
    let got = run(
        &root().join(doc["gt"].as_str().unwrap()),
        &root().join(doc["results"].as_str().unwrap()),
        iou_type,
        &cfg,
    );
    close(
        &format!("{} ap", name),
        got.ap,
        want["ap"].as_f64().unwrap(),
    );
    for (i, n) in ERROR_NAMES.iter().enumerate() {
        close(
            &format!("{} main.{}", name, n),
            got.main[i],
            want["main"][n].as_f64().unwrap(),
        );
        assert_eq!(
            got.counts[i],
            want["counts"][n].as_u64().unwrap(),
            "{} counts.{}",
            name,
            n
        );
    }
    for (i, n) in SPECIAL_NAMES.iter().enumerate() {
        close(
            &format!("{} special.{}", name, n),
            got.special[i],
            want["special"][n].as_f64().unwrap(),
        );
    }
    // The JSON object has the pinned keys and the same numbers.
    let j = got.to_json();
    for k in ["pos_thr", "bg_thr", "ap", "main", "special", "counts"] {
        assert!(j.get(k).is_some(), "to_json lacks {}", k);
    }
    assert_eq!(j["counts"], want["counts"]);
}

#[test]
fn bbox_equals_tidecv() {
    check("tide_bbox_val2014_100");
    check("tide_bbox_val2014_100_pos0.75_bg0.2");
    check("tide_bbox_val2014_100_pos0.3_bg0");
}

#[test]
fn segm_equals_tidecv() {
    check("tide_segm_val2014_100");
    check("tide_segm_val2014_100_pos0.7_bg0.3");
}

#[test]
fn same_numbers_for_any_thread_count() {
    let gt = root().join("fixtures/coco-val2014-100/instances_val2014_100.json");
    let res = root().join("fixtures/coco-val2014-100/fakesegm100_results.json");
    let cfg = TideConfig::default();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(&gt, &res, IouType::Segm, &cfg));
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(|| run(&gt, &res, IouType::Segm, &cfg));
    assert_eq!(format!("{:?}", one), format!("{:?}", four));
}
