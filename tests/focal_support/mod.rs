//! Helpers shared by the `focal` integration tests: .npy writing, running the binary, and a plain
//! float64 reference (libm per element, sort-based Fig. 4).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_retina-tools");

/// Write a .npy with a raw header: `descr` like "<f4", `data` already in that byte order/layout.
pub fn write_npy_raw(path: &Path, descr: &str, shape: &[usize], fortran: bool, data: &[u8]) {
    let shape_s = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut h = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
        descr,
        if fortran { "True" } else { "False" },
        shape_s
    );
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

pub fn write_f32(path: &Path, shape: &[usize], v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy_raw(path, "<f4", shape, false, &bytes);
}

pub fn write_i64(path: &Path, shape: &[usize], v: &[i64]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy_raw(path, "<i8", shape, false, &bytes);
}

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run retina-tools")
}

pub fn run_json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--json", "-", "-q"]);
    let o = run(&a);
    assert!(
        o.status.success(),
        "{:?} failed: {}",
        args,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// A tiny deterministic generator: the library's SplitMix64 stream from the state in `.0`.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut g = retina_tools::rng::SplitMix64::from_state(self.0);
        let v = g.next_u64();
        self.0 = self.0.wrapping_add(retina_tools::rng::GOLDEN_GAMMA);
        v
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// RetinaNet-like data: N(-4.6, 1.5) logits, ~1% foreground raised by N(6, 2), ~1% ignored,
/// and some ±`extreme` outliers.
pub fn retina_like(rng: &mut Rng, n: usize, c: usize, extreme: f32) -> (Vec<f32>, Vec<i64>) {
    let mut x: Vec<f32> = (0..n * c)
        .map(|_| (-4.6 + 1.5 * rng.normal()) as f32)
        .collect();
    let mut t = vec![-1i64; n];
    for r in 0..n {
        let u = rng.uniform();
        if u < 0.01 {
            let k = rng.below(c as u64) as usize;
            t[r] = k as i64;
            x[r * c + k] += (6.0 + 2.0 * rng.normal()) as f32;
        } else if u < 0.02 {
            t[r] = -2;
        }
    }
    for _ in 0..(n * c / 1000).max(4) {
        let i = rng.below((n * c) as u64) as usize;
        x[i] = if rng.uniform() < 0.5 {
            extreme
        } else {
            -extreme
        };
    }
    (x, t)
}

pub struct Reference {
    /// fl, ce, alpha_ce, fl_star → [total, positive, negative], per_class
    pub losses: Vec<([f64; 3], Vec<f64>)>,
    pub num_fg: u64,
}

pub fn reference(x: &[f32], t: &[i64], c: usize, gamma: f64, alpha: f64) -> Reference {
    let p = retina_tools::focal::math::LossParams {
        gamma,
        alpha,
        ..Default::default()
    };
    let mut losses = vec![([0.0; 3], vec![0.0; c]); 4];
    let mut num_fg = 0;
    for (r, &tr) in t.iter().enumerate() {
        if tr == -2 {
            continue;
        }
        if tr >= 0 {
            num_fg += 1;
        }
        for k in 0..c {
            let pos = tr == k as i64;
            let v = retina_tools::focal::math::reference(x[r * c + k] as f64, pos, &p);
            for (l, &val) in v.iter().enumerate() {
                losses[l].0[0] += val;
                losses[l].0[if pos { 1 } else { 2 }] += val;
                losses[l].1[k] += val;
            }
        }
    }
    Reference { losses, num_fg }
}

/// Exact Fig. 4 curve of one side by sorting: cs[floor(f·n)] / total.
pub fn sorted_cdf(mut v: Vec<f64>, shares: &[f64]) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    let mut cs = vec![0.0; n + 1];
    for i in 0..n {
        cs[i + 1] = cs[i] + v[i];
    }
    shares
        .iter()
        .map(|&f| cs[(f * n as f64).floor() as usize] / cs[n])
        .collect()
}

pub fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn p(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Compare a `focal --json` document with the reference (every sum ≤ `tol` relative).
pub fn check_sums(j: &serde_json::Value, r: &Reference, tol: f64, what: &str) {
    assert_eq!(
        j["anchors"]["foreground"].as_u64().unwrap(),
        r.num_fg,
        "{what}: foreground"
    );
    for (i, name) in ["fl", "ce", "alpha_ce", "fl_star"].iter().enumerate() {
        let l = &j["losses"][name];
        for (k, part) in ["total", "positive", "negative"].iter().enumerate() {
            let got = l[part].as_f64().unwrap();
            let want = r.losses[i].0[k];
            assert!(got.is_finite(), "{what}: {name}.{part} not finite");
            assert!(
                rel(got, want) <= tol,
                "{what}: {name}.{part} = {got}, reference {want}, rel {}",
                rel(got, want)
            );
        }
        for (c, (g, w)) in l["per_class"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&r.losses[i].1)
            .enumerate()
        {
            let g = g.as_f64().unwrap();
            assert!(
                rel(g, *w) <= tol,
                "{what}: {name}.per_class[{c}] = {g}, reference {w}"
            );
        }
    }
}
