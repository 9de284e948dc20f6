//! Replays every kept fuzz input — the crashing inputs under `fuzz/regressions/<target>/` and the
//! seed corpora under `fuzz/seeds/<target>/` — through the same property checks the fuzz targets
//! run (`retina_tools::fuzzing`), so a fixed crash stays fixed without a nightly toolchain.

use retina_tools::fuzzing::TARGETS;
use std::path::Path;

fn replay(dir: &str) -> usize {
    let mut n = 0;
    for (name, check) in TARGETS {
        let d = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(dir)
            .join(name);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{}: the {} property fails on this input", f.display(), name);
            }
            n += 1;
        }
    }
    n
}

#[test]
fn seed_corpora_pass() {
    assert!(
        replay("seeds") >= 40,
        "the seed corpora are missing: run fuzz/make_seeds.py"
    );
}

#[test]
fn kept_crashes_stay_fixed() {
    // Also the shapes of the original crash (issue 10), generated rather than stored: a value
    // nested far deeper than any recursive reader's stack allows.
    let nested = |open: &str, inner: &str, close: &str, n: usize| {
        format!("{}{}{}", open.repeat(n), inner, close.repeat(n))
    };
    retina_tools::fuzzing::json_reader(nested("[", "", "]", 200_000).as_bytes());
    retina_tools::fuzzing::json_reader(nested("{\"a\":", "1", "}", 100_000).as_bytes());
    retina_tools::fuzzing::json_reader(nested("[", "", "", 100_000).as_bytes());
    let gt = format!(
        "{{\"info\": {}, \"images\": [], \"annotations\": [], \"categories\": []}}",
        nested("{\"a\":", "1", "}", 100_000)
    );
    retina_tools::fuzzing::coco_gt(gt.as_bytes());
    let res = format!("[{{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5, \"extra\": {}}}]", nested("[", "", "]", 100_000));
    retina_tools::fuzzing::coco_results(res.as_bytes());
    replay("regressions");
}
