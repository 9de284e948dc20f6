//! `retina-tools anchors`: bit-exact grids against the fixtures made by the reference oracles
//! (fixtures/expected/anchors/make_fixtures.py: real torchvision / mmdet code and the numpy
//! re-derivations of Detectron and detectron2), totals, the table, and bad input.

use ndarray::Array2;
use ndarray_npy::read_npy;
use retina_tools::anchors::{AnchorConfig, Convention, Layout};
use std::path::{Path, PathBuf};

mod common;

use common::{assert_exit2, run, stderr, stdout};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// CRC-32 (IEEE, as Python's zlib.crc32) of little-endian float32 bytes.
fn crc32(values: &[f32]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = 0xFFFF_FFFFu32;
    for v in values {
        for b in v.to_le_bytes() {
            crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

#[test]
fn small_grids_equal_the_oracle_arrays_bit_for_bit() {
    let dir = root().join("fixtures/expected/anchors");
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name
            .strip_prefix("grid_")
            .and_then(|s| s.strip_suffix(".npy"))
        else {
            continue;
        };
        let parts: Vec<&str> = stem.split('_').collect();
        let (conv, size, layout) = (parts[0], parts[1], parts[2]);
        let out = tmp.path().join(format!("{}.npy", stem));
        let o = run(&[
            "anchors",
            "--image-size",
            size,
            "--convention",
            conv,
            "--layout",
            layout,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}: {}", name, stderr(&o));
        let want: Array2<f32> = read_npy(&path).unwrap();
        let got: Array2<f32> = read_npy(&out).unwrap();
        assert_eq!(got.shape(), want.shape(), "{}", name);
        let same = got
            .iter()
            .zip(want.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{}: anchors differ from the oracle", name);
        n += 1;
    }
    assert!(n >= 12, "expected the oracle grids in {}", dir.display());
}

#[test]
fn large_grids_match_the_oracle_fingerprints() {
    let fp: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("fixtures/expected/anchors/fingerprints.json")).unwrap(),
    )
    .unwrap();
    let entries = fp["entries"].as_array().unwrap();
    assert!(entries.len() >= 40);
    for e in entries {
        let conv = Convention::parse(e["convention"].as_str().unwrap()).unwrap();
        let (h, w) = retina_tools::anchors::parse_hw(e["image_size"].as_str().unwrap()).unwrap();
        let mut cfg = AnchorConfig::new(conv);
        cfg.layout = if e["layout"] == "hwa" {
            Layout::Hwa
        } else {
            Layout::Native
        };
        let a = cfg.grid(h, w).unwrap().to_array();
        assert_eq!(
            a.shape()[0] as u64,
            e["shape"][0].as_u64().unwrap(),
            "{}",
            e
        );
        assert_eq!(
            crc32(a.as_slice().unwrap()) as u64,
            e["crc32"].as_u64().unwrap(),
            "{}",
            e
        );
    }
}

#[test]
fn totals_and_table() {
    for (conv, total) in [
        ("detectron2", 201_600),
        ("torchvision", 201_600),
        ("mmdet", 201_600),
        ("detectron", 236_313),
    ] {
        let o = run(&["anchors", "--image-size", "800x1333", "--convention", conv]);
        assert!(o.status.success());
        let text = stdout(&o);
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with("total") && last.ends_with(&total.to_string()),
            "{}: {}",
            conv,
            last
        );
    }
    let o = run(&["anchors", "--image-size", "800x1333"]);
    let want = "\
detectron2 anchors for 800x1333 (padded 800x1344), layout native
level    stride    feature  per loc    anchors  sizes (sqrt area)
P3            8    100x168        9     151200  32, 40.3, 50.8
P4           16      50x84        9      37800  64, 80.6, 101.6
P5           32      25x42        9       9450  128, 161.3, 203.2
P6           64      13x21        9       2457  256, 322.5, 406.4
P7          128       7x11        9        693  512, 645.1, 812.7
total                                   201600
";
    assert_eq!(stdout(&o), want);
    let o = run(&[
        "anchors",
        "--image-size",
        "800x1333",
        "--convention",
        "torchvision",
        "--json",
        "-",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["levels"][3]["stride_used"], serde_json::json!([61, 64]));
    assert_eq!(doc["total"], 201_600);
}

#[test]
fn overrides_change_the_grid() {
    let o = run(&[
        "anchors",
        "--image-size",
        "800x1333",
        "--levels",
        "3-5",
        "--scales-per-octave",
        "1",
        "--aspect-ratios",
        "1",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["total"], 100 * 168 + 50 * 84 + 25 * 42);
    let o = run(&[
        "anchors",
        "--image-size",
        "800x1333",
        "--size-divisibility",
        "1",
        "--levels",
        "3-3",
        "--json",
        "-",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["levels"][0]["feature_hw"],
        serde_json::json!([100, 167])
    );
    // OFFSET 0.5 moves detectron2's centres by half a stride.
    let o = run(&[
        "anchors",
        "--image-size",
        "64x64",
        "--offset",
        "0.5",
        "--levels",
        "3-3",
        "--sizes",
        "32",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_input_exits_2_with_a_message() {
    assert_exit2(
        &["anchors", "--image-size", "0x0"],
        "error: image size 0x0 is empty",
    );
    assert_exit2(&["anchors", "--image-size", "-800x1333"], "negative size");
    assert_exit2(&["anchors", "--image-size", "800x-1"], "negative size");
    assert_exit2(
        &["anchors", "--image-size", "100000x100000"],
        "larger than 16384",
    );
    assert_exit2(
        &["anchors", "--image-size", "99999999999999999999x5"],
        "error:",
    );
    assert_exit2(
        &["anchors", "--image-size", "800by1333"],
        "cannot read '800by1333'",
    );
    assert_exit2(
        &[
            "anchors",
            "--image-size",
            "800x1333",
            "--convention",
            "yolo",
        ],
        "invalid value 'yolo'",
    );
    assert_exit2(
        &["anchors", "--image-size", "800x1333", "--sizes", "32,64"],
        "--sizes has 2 values for 5 levels",
    );
    assert_exit2(
        &[
            "anchors",
            "--image-size",
            "800x1333",
            "--aspect-ratios",
            "0,1",
        ],
        "--aspect-ratios",
    );
    assert_exit2(
        &[
            "anchors",
            "--image-size",
            "800x1333",
            "--aspect-ratios",
            "nan",
        ],
        "--aspect-ratios",
    );
    assert_exit2(
        &["anchors", "--image-size", "800x1333", "--levels", "7-3"],
        "--levels",
    );
    assert_exit2(
        &[
            "anchors",
            "--image-size",
            "800x1333",
            "--convention",
            "torchvision",
            "--offset",
            "0.5",
        ],
        "--offset",
    );
    assert_exit2(
        &[
            "anchors",
            "--image-size",
            "800x1333",
            "--out",
            "/nonexistent-dir/a.npy",
        ],
        "does not exist",
    );
}

#[test]
fn out_file_is_float32_npy() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.npy");
    let o = run(&[
        "anchors",
        "--image-size",
        "800x1333",
        "--convention",
        "detectron",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let a: Array2<f32> = read_npy(Path::new(&out)).unwrap();
    assert_eq!(a.shape(), &[236_313, 4]);
    // Detectron's native order is type-major: the second anchor is the next column, same type.
    assert_eq!(a.row(0).to_vec(), vec![-12.0, -12.0, 19.0, 19.0]);
    assert_eq!(a.row(1).to_vec(), vec![-4.0, -12.0, 27.0, 19.0]);
}
