//! The WGSL path. The shader is validated by naga without a GPU. The other tests need an adapter
//! (lavapipe counts): without one they print SKIP, unless RETINA_REQUIRE_GPU=1 (as CI sets after
//! installing mesa-vulkan-drivers), where they fail.

#[path = "focal_support/mod.rs"]
mod common;
use common::*;
use retina_tools::focal::gpu::{find_adapter, Found, Gpu};
use retina_tools::focal::{cpu, Config, FocalInput, LossParams};
use retina_tools::progress::NoProgress;

#[test]
fn wgsl_validates_with_naga() {
    let module =
        naga::front::wgsl::parse_str(retina_tools::focal::gpu::SHADER).unwrap_or_else(|e| {
            panic!(
                "focal.wgsl: {}",
                e.emit_to_string(retina_tools::focal::gpu::SHADER)
            )
        });
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("focal.wgsl does not validate: {:?}", e));
    assert!(module.entry_points.iter().any(|e| e.name == "main"));
}

fn gpu(test: &str) -> Option<Gpu> {
    let required = std::env::var("RETINA_REQUIRE_GPU").is_ok_and(|v| v == "1");
    match find_adapter() {
        Found::Hardware(a) | Found::Software(a) => Some(Gpu::open(a).expect("open the GPU")),
        Found::None(why) => {
            assert!(!required, "{test}: RETINA_REQUIRE_GPU=1 but {why}");
            println!("SKIP {test}: {why} (set RETINA_REQUIRE_GPU=1 to make this a failure)");
            None
        }
    }
}

fn has_adapter(test: &str) -> bool {
    let required = std::env::var("RETINA_REQUIRE_GPU").is_ok_and(|v| v == "1");
    match find_adapter() {
        Found::None(why) => {
            assert!(!required, "{test}: RETINA_REQUIRE_GPU=1 but {why}");
            println!("SKIP {test}: {why}");
            false
        }
        _ => true,
    }
}

const VALUES: [f32; 24] = [
    -3.4e38, -1e30, -1e4, -100.0, -88.0, -60.0, -17.5, -4.6, -1.0, -1e-3, -1e-30, 0.0, 1e-30, 1e-3,
    0.5, 1.0, 3.0, 12.0, 30.0, 60.0, 100.0, 1e4, 1e30, 3.4e38,
];

/// Each element's GPU value against math.rs (f64): per-class sums of single elements.
#[test]
fn wgsl_matches_math_rs_element_by_element() {
    let Some(g) = gpu("wgsl_matches_math_rs_element_by_element") else {
        return;
    };
    let v = VALUES.len();
    let cfg = Config {
        params: LossParams::default(),
        gammas: vec![0.0, 0.5, 1.0, 2.0, 5.0],
        cdf_points: 11,
    };
    // Row r: every logit is VALUES, target class r, so class c's positive sum is element c alone.
    let x: Vec<f32> = (0..v).flat_map(|_| VALUES).collect();
    let t: Vec<i64> = (0..v as i64).collect();
    let pos = FocalInput::from_f32(vec![v, v], x, t).unwrap();
    // One background row: class c's negative sum is element c alone.
    let neg = FocalInput::from_f32(vec![1, v], VALUES.to_vec(), vec![-1]).unwrap();
    for (input, side) in [(&pos, 0), (&neg, 1)] {
        let gs = g.sums(input, &cfg, &NoProgress).unwrap();
        let (cs, _) = cpu::pass(input, &cfg, &NoProgress);
        for c in 0..v {
            for (name, a, b) in [
                ("ce", &gs.ce, &cs.ce),
                ("fl", &gs.fl, &cs.fl),
                ("fl_star", &gs.fl_star, &cs.fl_star),
            ] {
                let (gv, cv) = (a[side][c], b[side][c]);
                assert!(
                    gv.is_finite(),
                    "{name} x={} not finite on the GPU",
                    VALUES[c]
                );
                assert!(
                    (gv - cv).abs() <= 2e-6 * cv.abs() + 1e-37,
                    "{name} side {side} x={}: gpu {gv} vs math.rs {cv}",
                    VALUES[c]
                );
            }
        }
    }
}

#[test]
fn gpu_sums_match_float64_reference_on_random_and_extreme_inputs() {
    if !has_adapter("gpu_sums_match_float64_reference") {
        return;
    }
    let mut rng = Rng(23);
    let cases: Vec<(&str, Vec<f32>, Vec<i64>, Vec<usize>)> = {
        let (x, t) = retina_like(&mut rng, 5000, 20, 100.0);
        let xu: Vec<f32> = (0..3000 * 5)
            .map(|_| (rng.uniform() * 200.0 - 100.0) as f32)
            .collect();
        let tu: Vec<i64> = (0..3000).map(|_| rng.below(7) as i64 - 2).collect();
        let x1: Vec<f32> = (0..4000).map(|_| (3.0 * rng.normal()) as f32).collect();
        let t1: Vec<i64> = (0..4000).map(|_| rng.below(3) as i64 - 2).collect();
        let xh: Vec<f32> = (0..3 * 30000)
            .map(|_| (-3.0 + 2.0 * rng.normal()) as f32)
            .collect();
        vec![
            ("retina ±100", x, t, vec![2, 2500, 20]),
            ("uniform ±100", xu.clone(), tu, vec![3000, 5]),
            ("all ignored", xu.clone(), vec![-2; 3000], vec![3000, 5]),
            ("no foreground", xu, vec![-1; 3000], vec![3000, 5]),
            ("C = 1", x1, t1, vec![4000, 1]),
            ("huge C", xh, vec![7, -1, 29999], vec![3, 30000]),
        ]
    };
    for (name, x, t, shape) in cases {
        let d = tmp();
        let (lp, tp) = (p(&d, "l.npy"), p(&d, "t.npy"));
        write_f32(&lp, &shape, &x);
        write_i64(&tp, &shape[..shape.len() - 1], &t);
        let j = run_json(&[
            "focal",
            "--logits",
            s(&lp),
            "--targets",
            s(&tp),
            "--backend",
            "gpu",
        ]);
        assert_eq!(j["backend"], "gpu", "{name}");
        assert!(j["adapter"].is_string(), "{name}");
        check_sums(
            &j,
            &reference(&x, &t, *shape.last().unwrap(), 2.0, 0.25),
            1e-6,
            name,
        );
        // Sweep sums on the GPU too (γ = 2 equals FL).
        let fl = &j["losses"]["fl"];
        let w = j["sweep"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["gamma"] == 2.0)
            .unwrap();
        for part in ["positive", "negative"] {
            assert!(
                rel(w[part].as_f64().unwrap(), fl[part].as_f64().unwrap()) <= 1e-6,
                "{name}: sweep {part}"
            );
        }
    }
}

#[test]
fn gpu_and_cpu_give_the_same_fig4() {
    if !has_adapter("gpu_and_cpu_give_the_same_fig4") {
        return;
    }
    let a = run_json(&[
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
        "--backend",
        "gpu",
    ]);
    let b = run_json(&[
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
        "--backend",
        "cpu",
    ]);
    for (x, y) in a["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["sweep"].as_array().unwrap())
    {
        assert_eq!(x["cdf"], y["cdf"]);
        assert_eq!(x["samples_for_loss_share"], y["samples_for_loss_share"]);
    }
}

#[test]
fn no_adapter_means_exit_2_for_gpu_and_cpu_for_auto() {
    let base = [
        "focal",
        "--logits",
        "fixtures/focal/demo_logits.npy",
        "--targets",
        "fixtures/focal/demo_targets.npy",
    ];
    let run_env = |extra: &[&str]| {
        std::process::Command::new(BIN)
            .args(base.iter().chain(extra))
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("WGPU_BACKEND", "vulkan")
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap()
    };
    let o = run_env(&["--backend", "gpu"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: --backend gpu: no wgpu adapter") && err.contains("hint: "),
        "{err}"
    );
    let o = run_env(&["--backend", "auto", "--json", "-"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("note: no GPU adapter; using the CPU"), "{err}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["backend"], "cpu");
}
