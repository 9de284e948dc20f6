//! `retina-tools focal` end to end on the CPU backend: sums against a float64 reference on
//! random and extreme inputs, Fig. 4 against a sort, thread-count independence, every storage
//! variant, the JSON contract and the demo fixture.

#[path = "focal_support/mod.rs"]
mod common;
use common::*;

fn sums_case(name: &str, x: &[f32], t: &[i64], shape: &[usize], extra: &[&str]) {
    let d = tmp();
    let (lp, tp) = (p(&d, "l.npy"), p(&d, "t.npy"));
    write_f32(&lp, shape, x);
    write_i64(&tp, &shape[..shape.len() - 1], t);
    let c = shape[shape.len() - 1];
    let mut args = vec![
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ];
    args.extend_from_slice(extra);
    let j = run_json(&args);
    check_sums(&j, &reference(x, t, c, 2.0, 0.25), 1e-6, name);
}

#[test]
fn random_and_extreme_inputs_match_float64_reference() {
    let mut rng = Rng(7);
    let (x, t) = retina_like(&mut rng, 3000, 20, 100.0);
    sums_case("retina ±100", &x, &t, &[3000, 20], &[]);
    let (x, t) = retina_like(&mut rng, 500, 10, 1e30);
    sums_case("±1e30", &x, &t, &[500, 10], &[]);
    let x: Vec<f32> = (0..4000)
        .map(|_| (rng.uniform() * 200.0 - 100.0) as f32)
        .collect();
    let t: Vec<i64> = (0..1000).map(|_| rng.below(6) as i64 - 2).collect();
    sums_case("uniform ±100", &x, &t, &[1000, 4], &[]);
    sums_case("all ignored", &x, &vec![-2; 1000], &[1000, 4], &[]);
    sums_case("no foreground", &x, &vec![-1; 1000], &[1000, 4], &[]);
    let x1: Vec<f32> = (0..2000).map(|_| (3.0 * rng.normal()) as f32).collect();
    let t1: Vec<i64> = (0..2000).map(|_| rng.below(3) as i64 - 2).collect();
    sums_case("C = 1", &x1, &t1, &[2000, 1], &[]);
    let xh: Vec<f32> = (0..3 * 20000)
        .map(|_| (-3.0 + 2.0 * rng.normal()) as f32)
        .collect();
    sums_case("huge C", &xh, &[5, 19999, -2], &[3, 20000], &[]);
    sums_case(
        "batch [2, 1500, 20]",
        &retina_like(&mut rng, 3000, 20, 60.0).0,
        &t[..0]
            .iter()
            .copied()
            .chain((0..3000).map(|i| if i % 97 == 0 { (i % 20) as i64 } else { -1 }))
            .collect::<Vec<_>>(),
        &[2, 1500, 20],
        &[],
    );
}

#[test]
fn every_point_of_fig4_matches_a_sort() {
    let mut rng = Rng(11);
    let (x, t) = retina_like(&mut rng, 4000, 16, 100.0);
    let d = tmp();
    let (lp, tp) = (p(&d, "l.npy"), p(&d, "t.npy"));
    write_f32(&lp, &[4000, 16], &x);
    write_i64(&tp, &[4000], &t);
    let j = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
        "--gammas",
        "0,0.5,1,2,5",
        "--cdf-points",
        "37",
    ]);
    let sweep = j["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 5);
    for w in sweep {
        let g = w["gamma"].as_f64().unwrap();
        let p = retina_tools::focal::math::LossParams {
            gamma: g,
            alpha: 0.25,
            ..Default::default()
        };
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for (r, &tr) in t.iter().enumerate() {
            if tr == -2 {
                continue;
            }
            for k in 0..16 {
                let isp = tr == k as i64;
                let v = retina_tools::focal::math::reference(x[r * 16 + k] as f64, isp, &p)[0];
                if isp {
                    pos.push(v)
                } else {
                    neg.push(v)
                }
            }
        }
        for (side, vals) in [("positive", pos), ("negative", neg)] {
            let pts = w["cdf"][side].as_array().unwrap();
            assert_eq!(pts.len(), 37);
            let shares: Vec<f64> = pts.iter().map(|q| q[0].as_f64().unwrap()).collect();
            let want = sorted_cdf(vals.clone(), &shares);
            for (q, w2) in pts.iter().zip(&want) {
                let got = q[1].as_f64().unwrap();
                assert!(
                    (got - w2).abs() <= 1e-4,
                    "γ={g} {side} at {}: {got} vs {w2}",
                    q[0]
                );
            }
            // Share of samples carrying 50/90/99% of the loss: smallest m with top-m ≥ q·total.
            let mut v = vals.clone();
            v.sort_by(|a, b| b.partial_cmp(a).unwrap());
            let total: f64 = v.iter().sum();
            for q in ["0.5", "0.9", "0.99"] {
                let qf: f64 = q.parse().unwrap();
                let mut acc = 0.0;
                let mut m = 0;
                while m < v.len() && acc < qf * total * (1.0 - 1e-12) {
                    acc += v[m];
                    m += 1;
                }
                let got = w["samples_for_loss_share"][side][q].as_f64().unwrap();
                assert!(
                    (got - m as f64 / v.len() as f64).abs() <= 1e-3,
                    "γ={g} {side} share {q}: {got} vs {}",
                    m as f64 / v.len() as f64
                );
            }
        }
    }
}

#[test]
fn same_numbers_for_any_thread_count() {
    let mut rng = Rng(3);
    let (x, t) = retina_like(&mut rng, 20000, 12, 100.0);
    let d = tmp();
    let (lp, tp) = (p(&d, "l.npy"), p(&d, "t.npy"));
    write_f32(&lp, &[20000, 12], &x);
    write_i64(&tp, &[20000], &t);
    let outs: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|n| {
            let o = run(&[
                "focal",
                "--logits",
                s(&lp),
                "--targets",
                s(&tp),
                "--backend",
                "cpu",
                "--threads",
                n,
                "--json",
                "-",
                "-q",
            ]);
            assert!(o.status.success());
            String::from_utf8(o.stdout).unwrap()
        })
        .collect();
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

#[test]
fn storage_variants_give_the_same_numbers() {
    let mut rng = Rng(5);
    let (n, c) = (600, 7);
    let (x, t) = retina_like(&mut rng, n, c, 60.0);
    let d = tmp();
    let base = {
        let (lp, tp) = (p(&d, "l.npy"), p(&d, "t.npy"));
        write_f32(&lp, &[2, n / 2, c], &x);
        write_i64(&tp, &[2, n / 2], &t);
        run_json(&[
            "focal",
            "--logits",
            s(&lp),
            "--targets",
            s(&tp),
            "--backend",
            "cpu",
        ])
    };
    // Fortran order logits (and Fortran int8 targets), big-endian float32 / int16.
    let idx = |b: usize, a: usize, k: usize| b + 2 * (a + (n / 2) * k); // Fortran offset
    let mut fx = vec![0f32; n * c];
    let mut ft = vec![0i8; n];
    for b in 0..2 {
        for a in 0..n / 2 {
            for k in 0..c {
                fx[idx(b, a, k)] = x[(b * (n / 2) + a) * c + k];
            }
            ft[b + 2 * a] = t[b * (n / 2) + a] as i8;
        }
    }
    let (lp, tp) = (p(&d, "lf.npy"), p(&d, "tf.npy"));
    write_npy_raw(
        &lp,
        "<f4",
        &[2, n / 2, c],
        true,
        &fx.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
    );
    write_npy_raw(
        &tp,
        "|i1",
        &[2, n / 2],
        true,
        &ft.iter().map(|&v| v as u8).collect::<Vec<_>>(),
    );
    let jf = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ]);
    let (lp, tp) = (p(&d, "lb.npy"), p(&d, "tb.npy"));
    write_npy_raw(
        &lp,
        ">f4",
        &[2, n / 2, c],
        false,
        &x.iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<_>>(),
    );
    write_npy_raw(
        &tp,
        ">i2",
        &[2, n / 2],
        false,
        &t.iter()
            .flat_map(|&v| (v as i16).to_be_bytes())
            .collect::<Vec<_>>(),
    );
    let jb = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ]);
    for j in [&jf, &jb] {
        for name in ["fl", "ce", "alpha_ce", "fl_star"] {
            for part in ["total", "positive", "negative"] {
                let (a, b) = (
                    j["losses"][name][part].as_f64().unwrap(),
                    base["losses"][name][part].as_f64().unwrap(),
                );
                assert!(rel(a, b) < 1e-12, "{name}.{part}: {a} vs {b}");
            }
        }
        // Row order differs between layouts, so sums may differ in the last bits only.
        close(&j["sweep"], &base["sweep"], "sweep");
        close(&j["normalizers"], &base["normalizers"], "normalizers");
    }
}

/// Every number in `a` within 1e-12 (relative, or absolute below 1) of `b`; everything else equal.
fn close(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
                "{at}: {x} vs {y}"
            );
        }
        (V::Array(x), V::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                close(u, v, &format!("{at}[{i}]"));
            }
        }
        (V::Object(x), V::Object(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: keys");
            for (k, u) in x {
                close(u, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn float16_logits_are_read_exactly() {
    // float16 bits for -4.5, 0.25, 3.0, -100.0 (exact in f16).
    let vals: [(u16, f32); 4] = [
        (0xc480, -4.5),
        (0x3400, 0.25),
        (0x4200, 3.0),
        (0xd640, -100.0),
    ];
    let d = tmp();
    let (lp, tp, lp32) = (p(&d, "h.npy"), p(&d, "t.npy"), p(&d, "f.npy"));
    let bits: Vec<u8> = (0..8).flat_map(|i| vals[i % 4].0.to_le_bytes()).collect();
    write_npy_raw(&lp, "<f2", &[4, 2], false, &bits);
    write_f32(
        &lp32,
        &[4, 2],
        &(0..8).map(|i| vals[i % 4].1).collect::<Vec<_>>(),
    );
    write_i64(&tp, &[4], &[0, -1, 1, -2]);
    let a = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ]);
    let b = run_json(&[
        "focal",
        "--logits",
        s(&lp32),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ]);
    assert_eq!(a["losses"], b["losses"]);
}

#[test]
fn json_has_the_contract_keys() {
    let j = run_json(&[
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
        "--backend",
        "cpu",
        "--cdf-points",
        "11",
    ]);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&j),
        [
            "adapter",
            "anchors",
            "backend",
            "losses",
            "normalizers",
            "num_classes",
            "params",
            "shape",
            "sweep"
        ]
    );
    assert_eq!(j["backend"], "cpu");
    assert!(j["adapter"].is_null());
    assert_eq!(j["shape"], serde_json::json!([2, 9216, 80]));
    assert_eq!(j["num_classes"], 80);
    assert_eq!(
        keys(&j["anchors"]),
        ["background", "foreground", "ignored", "total"]
    );
    assert_eq!(
        keys(&j["params"]),
        ["alpha", "fl_star_beta", "fl_star_gamma", "gamma"]
    );
    assert_eq!(keys(&j["losses"]), ["alpha_ce", "ce", "fl", "fl_star"]);
    assert_eq!(
        keys(&j["losses"]["fl"]),
        [
            "negative",
            "per_class",
            "per_foreground",
            "positive",
            "total"
        ]
    );
    assert_eq!(j["losses"]["fl"]["per_class"].as_array().unwrap().len(), 80);
    assert_eq!(
        keys(&j["normalizers"]),
        ["detectron", "detectron2", "mmdet", "torchvision"]
    );
    let w = &j["sweep"][0];
    assert_eq!(
        keys(w),
        [
            "cdf",
            "gamma",
            "negative",
            "positive",
            "samples_for_loss_share",
            "total"
        ]
    );
    assert_eq!(w["cdf"]["positive"].as_array().unwrap().len(), 11);
    assert_eq!(
        keys(&w["samples_for_loss_share"]["negative"]),
        ["0.5", "0.9", "0.99"]
    );
    let a = &j["anchors"];
    assert_eq!(a["total"], 18432);
    let tot = a["foreground"].as_u64().unwrap()
        + a["background"].as_u64().unwrap()
        + a["ignored"].as_u64().unwrap();
    assert_eq!(tot, 18432);
    // The FL total over max(1, #fg) is mmdet's normaliser up to its eps.
    let fl = &j["losses"]["fl"];
    assert!(
        rel(
            fl["per_foreground"].as_f64().unwrap(),
            fl["total"].as_f64().unwrap() / a["foreground"].as_f64().unwrap()
        ) < 1e-15
    );
}

#[test]
fn demo_fixture_matches_reference_and_plots() {
    let lp = std::path::Path::new("fixtures/focal/demo_logits.npy");
    let arr = retina_tools::io::npy::read_float(lp).unwrap();
    let x: Vec<f32> = match arr.data {
        retina_tools::io::npy::FloatData::F16(v) => v
            .iter()
            .map(|&h| retina_tools::io::npy::f16_to_f32(h))
            .collect(),
        retina_tools::io::npy::FloatData::F32(v) => v.into_vec(),
    };
    let t =
        retina_tools::io::npy::read_int(std::path::Path::new("fixtures/focal/demo_targets.npy"))
            .unwrap()
            .data;
    let d = tmp();
    let (svg, png) = (p(&d, "fig4.svg"), p(&d, "fig4.png"));
    let j = run_json(&[
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
        "--backend",
        "cpu",
        "--plot",
        s(&svg),
    ]);
    check_sums(&j, &reference(&x, &t, 80, 2.0, 0.25), 1e-6, "demo");
    let o = run(&[
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
        "--backend",
        "cpu",
        "--plot",
        s(&png),
        "-q",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("logits [2, 9216, 80] (80 classes), backend cpu\n"),
        "{text}"
    );
    let count = |f: &dyn Fn(i64) -> bool| t.iter().filter(|&&v| f(v)).count();
    let line = format!(
        "anchors: 18432 total, {} foreground, {} background, {} ignored",
        count(&|v| v >= 0),
        count(&|v| v == -1),
        count(&|v| v == -2)
    );
    assert!(text.contains(&line), "{line} not in {text}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("negative samples") && svg_text.contains("γ = 2"));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn npz_targets_from_assign_are_accepted() {
    // An uncompressed .npz with a `labels` int32 array, as `assign --out-dir` writes.
    let d = tmp();
    let labels: Vec<i64> = vec![0, -1, -2, 1, -1];
    let npz = p(&d, "17.npz");
    let arr = ndarray::Array1::from_vec(labels.iter().map(|&v| v as i32).collect::<Vec<i32>>());
    retina_tools::io::npz::write_npz(
        &npz,
        &[retina_tools::io::npz::NpzEntry::I32(
            "labels",
            arr.view().into_dyn(),
        )],
    )
    .unwrap();
    let lp = p(&d, "l.npy");
    let x: Vec<f32> = (0..10).map(|i| i as f32 - 5.0).collect();
    write_f32(&lp, &[5, 2], &x);
    let tp = p(&d, "t.npy");
    write_i64(&tp, &[5], &labels);
    let a = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&npz),
        "--backend",
        "cpu",
    ]);
    let b = run_json(&[
        "focal",
        "--logits",
        s(&lp),
        "--targets",
        s(&tp),
        "--backend",
        "cpu",
    ]);
    assert_eq!(a["losses"], b["losses"]);
    // A directory of them stacks by image id: logits [1, 5, 2].
    let l3 = p(&d, "l3.npy");
    write_f32(&l3, &[1, 5, 2], &x);
    let c = run_json(&[
        "focal",
        "--logits",
        s(&l3),
        "--targets",
        d.path().to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!(c["losses"], b["losses"]);
}

#[test]
fn demo_targets_are_what_assign_writes() {
    // The demo fixture's targets are `assign --out-dir` labels; focal reads that directory too.
    let d = tmp();
    let out = run(&[
        "assign",
        "--gt",
        "fixtures/coco-val2014-100/instances_val2014_100.json",
        "--convention",
        "detectron2",
        "--image-ids",
        "761,1270",
        "--resize",
        "192,256",
        "--out-dir",
        s(d.path()),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixture =
        retina_tools::io::npy::read_int(std::path::Path::new("fixtures/focal/demo_targets.npy"))
            .unwrap();
    let mut stacked = Vec::new();
    for id in [761, 1270] {
        let a = retina_tools::io::npy::read_int_from_npz(&p(&d, &format!("{id}.npz")), "labels")
            .unwrap();
        stacked.extend(a.data);
    }
    assert_eq!(stacked, fixture.data);
    let base = [
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--backend",
        "cpu",
    ];
    let from_dir = run_json(&[&base[..], &["--targets", s(d.path())]].concat());
    let from_npy =
        run_json(&[&base[..], &["--targets", "fixtures/focal/demo_targets.npy"]].concat());
    assert_eq!(from_dir["losses"], from_npy["losses"]);
    assert_eq!(from_dir["sweep"], from_npy["sweep"]);
}
