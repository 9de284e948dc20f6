//! Malformed input to `focal`: exit 2 with a one-line message naming the file and the problem,
//! never a panic.

#[path = "focal_support/mod.rs"]
mod common;
use common::*;

fn expect_input_error(args: &[&str], needles: &[&str]) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{:?}: expected exit 2, stderr: {err}",
        args
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{:?}: stderr lacks {n:?}: {err}", args);
    }
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let c = Case { dir: tmp() };
        write_f32(
            &c.path("l.npy"),
            &[4, 3],
            &[
                0.5, -1.0, 2.0, -3.0, 0.0, 1.0, 4.0, -4.0, 0.25, 1.5, -0.5, 3.0,
            ],
        );
        write_i64(&c.path("t.npy"), &[4], &[0, -1, -2, 2]);
        c
    }
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, logits: &str, targets: &str, needles: &[&str]) {
        let (l, t) = (self.path(logits), self.path(targets));
        expect_input_error(
            &[
                "focal",
                "--logits",
                s(&l),
                "--targets",
                s(&t),
                "--backend",
                "cpu",
            ],
            needles,
        );
    }
}

#[test]
fn truncated_files() {
    let c = Case::new();
    let full = std::fs::read(c.path("l.npy")).unwrap();
    std::fs::write(c.path("cut.npy"), &full[..full.len() - 5]).unwrap();
    c.run("cut.npy", "t.npy", &["cut.npy", "truncated"]);
    std::fs::write(c.path("head.npy"), &full[..20]).unwrap();
    c.run("head.npy", "t.npy", &["head.npy", "truncated"]);
    std::fs::write(c.path("empty.npy"), b"").unwrap();
    c.run("empty.npy", "t.npy", &["empty.npy", "truncated"]);
    std::fs::write(c.path("text.npy"), b"hello, this is not numpy at all").unwrap();
    c.run("text.npy", "t.npy", &["text.npy", "not a .npy"]);
    let t = std::fs::read(c.path("t.npy")).unwrap();
    std::fs::write(c.path("tcut.npy"), &t[..t.len() - 1]).unwrap();
    c.run("l.npy", "tcut.npy", &["tcut.npy", "truncated"]);
}

#[test]
fn wrong_dtypes() {
    let c = Case::new();
    write_npy_raw(&c.path("c8.npy"), "<c8", &[4, 3], false, &[0u8; 96]);
    c.run("c8.npy", "t.npy", &["c8.npy", "complex64", "float32"]);
    write_npy_raw(&c.path("u.npy"), "<U3", &[4, 3], false, &[0u8; 144]);
    c.run("u.npy", "t.npy", &["u.npy", "string"]);
    write_npy_raw(&c.path("i4.npy"), "<i4", &[4, 3], false, &[0u8; 48]);
    c.run("i4.npy", "t.npy", &["i4.npy", "int32", "float32"]);
    write_npy_raw(&c.path("f8.npy"), "<f8", &[4, 3], false, &[0u8; 96]);
    c.run("f8.npy", "t.npy", &["f8.npy", "float64"]);
    write_npy_raw(&c.path("tf.npy"), "<f4", &[4], false, &[0u8; 16]);
    c.run(
        "l.npy",
        "tf.npy",
        &["tf.npy", "targets must be integers", "float32"],
    );
    write_npy_raw(&c.path("tb.npy"), "|b1", &[4], false, &[0u8; 4]);
    c.run("l.npy", "tb.npy", &["tb.npy", "bool"]);
    // A structured dtype: numpy writes the descr as an unquoted list.
    let mut h = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }".to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(h.as_bytes());
    bytes.extend([0u8; 16]);
    std::fs::write(c.path("st.npy"), bytes).unwrap();
    c.run("st.npy", "t.npy", &["st.npy", "structured"]);
}

#[test]
fn shape_mismatch_and_zero_d() {
    let c = Case::new();
    write_i64(&c.path("t5.npy"), &[5], &[0, 0, 0, 0, 0]);
    c.run("l.npy", "t5.npy", &["t5.npy", "[5]", "[4]"]);
    write_i64(&c.path("t2d.npy"), &[4, 3], &[0; 12]);
    c.run("l.npy", "t2d.npy", &["t2d.npy", "does not match"]);
    write_npy_raw(&c.path("l0.npy"), "<f4", &[], false, &1.0f32.to_le_bytes());
    c.run("l0.npy", "t.npy", &["l0.npy", "0-d"]);
    write_npy_raw(&c.path("t0.npy"), "<i8", &[], false, &1i64.to_le_bytes());
    c.run("l.npy", "t0.npy", &["t0.npy", "0-d"]);
    write_f32(&c.path("l1.npy"), &[3], &[1.0, 2.0, 3.0]);
    c.run("l1.npy", "t.npy", &["l1.npy", "at least 2 dimensions"]);
    write_f32(&c.path("lc0.npy"), &[4, 0], &[]);
    c.run("lc0.npy", "t.npy", &["lc0.npy", "0 classes"]);
}

#[test]
fn non_finite_logits_report_the_index() {
    let c = Case::new();
    let mut v = vec![0.5f32; 12];
    v[7] = f32::NAN;
    write_f32(&c.path("nan.npy"), &[4, 3], &v);
    c.run("nan.npy", "t.npy", &["nan.npy", "[2, 1]", "NaN"]);
    v[7] = 0.0;
    v[10] = f32::NEG_INFINITY;
    write_f32(&c.path("inf.npy"), &[4, 3], &v);
    c.run("inf.npy", "t.npy", &["inf.npy", "[3, 1]", "-inf"]);
    // float16 inf
    let mut bits = vec![0u8; 24];
    bits[4..6].copy_from_slice(&0x7c00u16.to_le_bytes());
    write_npy_raw(&c.path("h.npy"), "<f2", &[4, 3], false, &bits);
    c.run("h.npy", "t.npy", &["h.npy", "[0, 2]", "inf"]);
}

#[test]
fn targets_out_of_range() {
    let c = Case::new();
    write_i64(&c.path("t3.npy"), &[4], &[0, -1, 3, 1]);
    c.run(
        "l.npy",
        "t3.npy",
        &["t3.npy", "[2]", "target 3", "3 classes"],
    );
    write_i64(&c.path("tm.npy"), &[4], &[0, -3, 1, 1]);
    c.run("l.npy", "tm.npy", &["tm.npy", "[1]", "-3"]);
    write_npy_raw(
        &c.path("tu.npy"),
        "<u8",
        &[4],
        false,
        &[0u64, 1, u64::MAX, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    c.run("l.npy", "tu.npy", &["tu.npy", "[2]", "out of range"]);
}

#[test]
fn missing_files_and_bad_flags() {
    let c = Case::new();
    c.run("nope.npy", "t.npy", &["nope.npy"]);
    let (l, t) = (c.path("l.npy"), c.path("t.npy"));
    let base = [
        "focal",
        "--logits",
        s(&l),
        "--targets",
        s(&t),
        "--backend",
        "cpu",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|x| x.to_string()).collect()
    };
    for (extra, needle) in [
        (&["--gammas", "1,x"][..], "--gammas"),
        (&["--gammas=-1"][..], "--gammas"),
        (&["--alpha", "1.5"][..], "--alpha"),
        (&["--cdf-points", "1"][..], "--cdf-points"),
        (&["--fl-star-gamma", "0"][..], "--fl-star-gamma"),
        (&["--plot", "fig.jpg"][..], "unknown plot format"),
        (&["--threads", "0"][..], "--threads"),
    ] {
        let a = with(extra);
        let a: Vec<&str> = a.iter().map(|x| x.as_str()).collect();
        expect_input_error(&a, &[needle]);
    }
    // A compressed or label-less .npz.
    std::fs::write(c.path("bad.npz"), b"PK not really a zip").unwrap();
    c.run("l.npy", "bad.npz", &["bad.npz", ".npz"]);
}
