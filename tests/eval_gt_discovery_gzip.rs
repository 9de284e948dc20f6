//! `retina-tools eval PREDS` without `--gt` (the places of DESIGN.md §2, in order; the note on
//! stderr; the misses), and gzip-compressed inputs (by content, several members, truncation).

mod common;
use common::fixture;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

const NAME: &str = "instances_val2017.json";

fn run_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(common::bin());
    c.current_dir(dir)
        .args(args)
        .env_remove("RETINA_GT")
        .env_remove("DETECTRON2_DATASETS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn place(dir: &Path, rel: &str) -> std::path::PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::copy(fixture("coco-val2014-100/instances_val2014_100.json"), &p).unwrap();
    p
}

fn preds() -> String {
    fixture("coco-val2014-100/fakebbox100_results.json")
        .display()
        .to_string()
}

fn reference_stdout() -> String {
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    let o = common::run(&["eval", &preds(), "--gt", gt.to_str().unwrap(), "-q"]);
    assert!(o.status.success());
    common::stdout(&o)
}

#[test]
fn finds_the_gt_in_each_place_in_order() {
    let want = reference_stdout();
    for rel in [
        "annotations",
        "coco/annotations",
        "datasets/coco/annotations",
        "data/coco/annotations",
    ] {
        let d = tempfile::tempdir().unwrap();
        let p = place(d.path(), &format!("{}/{}", rel, NAME));
        let o = run_in(d.path(), &[], &["eval", &preds()]);
        assert!(o.status.success(), "{}: {}", rel, common::stderr(&o));
        assert_eq!(common::stdout(&o), want, "{}", rel);
        let err = common::stderr(&o);
        assert!(
            err.contains(&format!("{}/{}", rel, NAME)),
            "{}: note names the file: {}",
            rel,
            err
        );
        let _ = p;
        // -q silences the note.
        let o = run_in(d.path(), &[], &["eval", &preds(), "-q"]);
        assert!(
            o.status.success() && common::stderr(&o).is_empty(),
            "{}",
            common::stderr(&o)
        );
    }
    // Order: annotations/ wins over coco/annotations/ (the latter is broken to tell them apart).
    let d = tempfile::tempdir().unwrap();
    place(d.path(), &format!("annotations/{}", NAME));
    std::fs::create_dir_all(d.path().join("coco/annotations")).unwrap();
    std::fs::write(d.path().join("coco/annotations").join(NAME), "{").unwrap();
    assert!(run_in(d.path(), &[], &["eval", &preds(), "-q"])
        .status
        .success());
}

#[test]
fn env_vars_retina_gt_first_then_detectron2_datasets() {
    let want = reference_stdout();
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    place(&ds, &format!("coco/annotations/{}", NAME));
    let cwd = d.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let o = run_in(
        &cwd,
        &[("DETECTRON2_DATASETS", ds.to_str().unwrap())],
        &["eval", &preds()],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::stdout(&o), want);
    // $RETINA_GT wins over every other place, whatever the file is called.
    let other = place(d.path(), "elsewhere/my_gt.json");
    std::fs::create_dir_all(cwd.join("annotations")).unwrap();
    std::fs::write(cwd.join("annotations").join(NAME), "{").unwrap();
    let o = run_in(
        &cwd,
        &[("RETINA_GT", other.to_str().unwrap())],
        &["eval", &preds()],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(common::stderr(&o).contains("my_gt.json"));
    // $RETINA_GT pointing nowhere is bad input naming the variable, not a reason to look further.
    let o = run_in(
        &cwd,
        &[("RETINA_GT", "/nonexistent/gt.json")],
        &["eval", &preds()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("RETINA_GT"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn nothing_found_lists_the_places_and_shows_gt() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &[], &["eval", &preds()]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::stderr(&o);
    for needle in [
        "error: ",
        NAME,
        "hint: ",
        "$RETINA_GT",
        "annotations/",
        "coco/annotations/",
        "datasets/coco/annotations/",
        "data/coco/annotations/",
        "$DETECTRON2_DATASETS",
        "--gt",
    ] {
        assert!(err.contains(needle), "lacks {:?}: {}", needle, err);
    }
    // keypoints look for person_keypoints_val2017.json.
    let o = run_in(
        d.path(),
        &[],
        &["eval", &preds(), "--iou-type", "keypoints"],
    );
    assert!(common::stderr(&o).contains("person_keypoints_val2017.json"));
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_inputs_give_the_same_numbers() {
    let want = reference_stdout();
    let d = tempfile::tempdir().unwrap();
    let gt_text = std::fs::read(fixture("coco-val2014-100/instances_val2014_100.json")).unwrap();
    let dt_text = std::fs::read(preds()).unwrap();
    let gt = d.path().join("gt.json.gz");
    std::fs::write(&gt, gz(&gt_text)).unwrap();
    // Results in two concatenated members, under a name that does not say gzip.
    let dt = d.path().join("preds.json");
    let mut two = gz(&dt_text[..1000]);
    two.extend(gz(&dt_text[1000..]));
    std::fs::write(&dt, &two).unwrap();
    let o = common::run(&[
        "eval",
        dt.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::stdout(&o), want);
    // Truncated: exit 2 naming the file.
    let cut = d.path().join("cut.json.gz");
    std::fs::write(&cut, &two[..two.len() / 2]).unwrap();
    let o = common::run(&[
        "eval",
        cut.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "-q",
    ]);
    common::assert_bad_input(&o, "cut.json.gz", &["gzip"]);
    // Corrupt deflate data after a valid header.
    let mut bad = gz(&dt_text);
    for b in bad.iter_mut().skip(20).take(40) {
        *b ^= 0x5a;
    }
    let badp = d.path().join("bad.gz");
    std::fs::write(&badp, &bad).unwrap();
    let o = common::run(&[
        "eval",
        badp.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "-q",
    ]);
    common::assert_bad_input(&o, "bad.gz", &["gzip"]);
}

#[test]
fn gzip_lvis_gt_and_results() {
    let d = tempfile::tempdir().unwrap();
    let gt = d.path().join("lvis.json.gz");
    std::fs::write(
        &gt,
        gz(&std::fs::read(fixture("lvis-val-100/lvis_val_100.json")).unwrap()),
    )
    .unwrap();
    let dt = d.path().join("r.json.gz");
    std::fs::write(
        &dt,
        gz(&std::fs::read(fixture("lvis-val-100/results_bbox.json")).unwrap()),
    )
    .unwrap();
    let plain = common::run(&[
        "eval",
        fixture("lvis-val-100/results_bbox.json").to_str().unwrap(),
        "--gt",
        fixture("lvis-val-100/lvis_val_100.json").to_str().unwrap(),
        "-q",
    ]);
    let o = common::run(&[
        "eval",
        dt.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(common::stdout(&o).contains("catIds=  r"));
    assert_eq!(common::stdout(&o), common::stdout(&plain));
}
