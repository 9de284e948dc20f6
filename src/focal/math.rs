//! The loss formulas, written once. Every backend evaluates exactly these expressions: the CPU
//! path calls them (in f64, vectorised), the WGSL shader is a line-by-line f32 copy (tested
//! against this file), and the tests compare both with a plain libm reference.
//!
//! With `x` the logit of one (anchor, class) element, `y` ∈ {0, 1} its binary target and
//! `x_t = x` if `y = 1` else `-x` (paper, §3): `ce = softplus(-x_t)`, `1 - p_t = σ(-x_t)`,
//! `FL = α_t (1 - p_t)^γ ce`, `FL* = softplus(-(γ* x_t + β)) / γ*` (appendix A). Everything is
//! built from `e = exp(-|x|) ∈ (0, 1]` and `log1p(e)`, so no finite logit gives NaN or inf.

/// Loss parameters. Defaults are the paper's: γ = 2, α = 0.25, FL* with γ* = 2, β = 1.
#[derive(Debug, Clone, PartialEq)]
pub struct LossParams {
    pub gamma: f64,
    pub alpha: f64,
    pub fl_star_gamma: f64,
    pub fl_star_beta: f64,
}

impl Default for LossParams {
    fn default() -> Self {
        // RetinaNet paper §5.1 / Table 1: γ = 2, α = 0.25; appendix A: γ* = 2, β = 1.
        LossParams {
            gamma: 2.0,
            alpha: 0.25,
            fl_star_gamma: 2.0,
            fl_star_beta: 1.0,
        }
    }
}

/// exp(x) for any f64 (NaN excluded), ≤ 1 ulp-ish, written without libm calls so that loops over
/// it vectorise. Range reduction x = k ln2 + r, |r| ≤ ln2/2, degree-13 Taylor polynomial, then
/// scaling by 2^k in two halves so that subnormal results are right too.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1; // fdlibm's split of ln 2 (0x3fe62e42fee00000)
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // 0x3dea39ef35793c76
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let x = x.clamp(-746.0, 710.0);
    let t = x * LOG2_E + MAGIC;
    let kf = t - MAGIC;
    let k = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64); // = kf as an integer
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // Taylor coefficients 1/n!, n = 0..=13 (|r| ≤ 0.347: truncation < 2e-16), evaluated by
    // Estrin's scheme: independent pairs, then powers of r², so the dependency chain is 5
    // multiply-adds deep instead of 14 (the vector loops are latency-bound otherwise).
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = 1.0 + r;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p67 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let p89 = 1.0 / 40_320.0 + r * (1.0 / 362_880.0);
    let p1011 = 1.0 / 3_628_800.0 + r * (1.0 / 39_916_800.0);
    let p1213 = 1.0 / 479_001_600.0 + r * (1.0 / 6_227_020_800.0);
    let q0 = p01 + r2 * p23;
    let q1 = p45 + r2 * p67;
    let q2 = p89 + r2 * p1011;
    let w0 = q0 + r4 * q1;
    let w1 = q2 + r4 * p1213;
    let p = w0 + r8 * w1;
    // 2^k = 2^k1 * 2^k2 with both halves normal numbers (k ∈ [-1077, 1025]).
    let k1 = ((k + 2048) >> 1) - 1024;
    let k2 = k - k1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    p * s1 * s2
}

/// log1p(e) for e ∈ [0, 1], as 2·atanh(s): s = e / (2 + e) for e < √2 - 1, else
/// log1p(e) = ln 2 + 2·atanh((e - 1) / (e + 3)) (that is, log((1 + e) / 2)), so |s| ≤ 0.1716 and
/// 11 odd terms reach 1e-17; both forms are exact divisions of e, no cancellation near 0.
#[inline(always)]
pub fn log1p_unit(e: f64) -> f64 {
    const SQRT2_M1: f64 = std::f64::consts::SQRT_2 - 1.0;
    let small = e < SQRT2_M1;
    let s = if small {
        e / (2.0 + e)
    } else {
        (e - 1.0) / (e + 3.0)
    };
    log1p_series(s, small)
}

/// The series of [`log1p_unit`] given s (and which of the two forms produced it).
#[inline(always)]
pub fn log1p_series(s: f64, small: bool) -> f64 {
    let base = if small { 0.0 } else { std::f64::consts::LN_2 };
    // Σ s^(2k) / (2k + 1), k = 0..=10, by Estrin's scheme in t = s² (see `exp`).
    let t = s * s;
    let t2 = t * t;
    let t4 = t2 * t2;
    let t8 = t4 * t4;
    let a01 = 1.0 + t * (1.0 / 3.0);
    let a23 = 1.0 / 5.0 + t * (1.0 / 7.0);
    let a45 = 1.0 / 9.0 + t * (1.0 / 11.0);
    let a67 = 1.0 / 13.0 + t * (1.0 / 15.0);
    let a89 = 1.0 / 17.0 + t * (1.0 / 19.0);
    let b0 = a01 + t2 * a23;
    let b1 = a45 + t2 * a67;
    let b2 = a89 + t2 * (1.0 / 21.0);
    let q = (b0 + t4 * b1) + t8 * b2;
    base + 2.0 * s * q
}

/// softplus(z) = log(1 + e^z), stable for every finite z.
#[inline(always)]
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + log1p_unit(exp(-z.abs()))
}

/// The shared pieces of one logit: `e = exp(-|x|)`, `l = log1p(e)`.
#[derive(Debug, Clone, Copy)]
pub struct Logit {
    pub x: f64,
    pub e: f64,
    pub l: f64,
}

impl Logit {
    #[inline(always)]
    pub fn new(x: f64) -> Logit {
        let e = exp(-x.abs());
        Logit {
            x,
            e,
            l: log1p_unit(e),
        }
    }
    /// Cross-entropy of the element against target `y`: softplus(-x_t).
    #[inline(always)]
    pub fn ce(&self, positive: bool) -> f64 {
        let xt = if positive { self.x } else { -self.x };
        (-xt).max(0.0) + self.l
    }
    /// 1 - p_t = σ(-x_t), computed without cancellation.
    #[inline(always)]
    pub fn one_minus_pt(&self, positive: bool) -> f64 {
        let xt = if positive { self.x } else { -self.x };
        let num = if xt >= 0.0 { self.e } else { 1.0 };
        num / (1.0 + self.e)
    }
    /// log(1 - p_t) = -softplus(x_t).
    #[inline(always)]
    pub fn log_one_minus_pt(&self, positive: bool) -> f64 {
        let xt = if positive { self.x } else { -self.x };
        -(xt.max(0.0) + self.l)
    }
    /// The modulating factor (1 - p_t)^γ.
    #[inline(always)]
    pub fn modulator(&self, positive: bool, gamma: Gamma) -> f64 {
        gamma.pow(self.one_minus_pt(positive), self.log_one_minus_pt(positive))
    }
}

/// γ, classified once so that the common exponents avoid an `exp`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gamma {
    Zero,
    One,
    Two,
    Other(f64),
}

impl Gamma {
    pub fn new(g: f64) -> Gamma {
        if g == 0.0 {
            Gamma::Zero
        } else if g == 1.0 {
            Gamma::One
        } else if g == 2.0 {
            Gamma::Two
        } else {
            Gamma::Other(g)
        }
    }
    /// q^γ given q and log q.
    #[inline(always)]
    pub fn pow(self, q: f64, log_q: f64) -> f64 {
        match self {
            Gamma::Zero => 1.0,
            Gamma::One => q,
            Gamma::Two => q * q,
            Gamma::Other(g) => exp(g * log_q),
        }
    }
}

/// α_t: α on positives, 1 - α on negatives.
#[inline(always)]
pub fn alpha_t(alpha: f64, positive: bool) -> f64 {
    if positive {
        alpha
    } else {
        1.0 - alpha
    }
}

/// FL* of the paper's appendix A: softplus(-(γ* x_t + β)) / γ*, written as
/// max(-(x_t + β/γ*), 0) + log1p(e^{-|γ* x_t + β|}) / γ* so that γ* x_t cannot overflow the
/// linear part (it matters in the f32 shader for |x| near f32::MAX).
#[inline(always)]
pub fn fl_star(x: f64, positive: bool, gamma_star: f64, beta: f64) -> f64 {
    let xt = if positive { x } else { -x };
    let z = gamma_star * xt + beta;
    (-(xt + beta / gamma_star)).max(0.0) + log1p_unit(exp(-z.abs())) / gamma_star
}

/// The CPU kernel's negative element (y = 0, x_t = -x) for γ* = 2, 0 ≤ β ≤ 50, in one go:
/// `(log1p(e), 1 - p_t, FL*)` with e = exp(-|x|), one `exp` and two divisions instead of two
/// and four. FL* needs exp(-|2 x_t + β|), which is e²·e^-β (x ≤ 0), e²·e^β (x > β/2) or
/// e^-β / e² (0 < x ≤ β/2, where e² ≥ e^-β); `c = (e^-β, e^β)`. The reciprocals of 1 + e,
/// of log1p's denominator and of e² (for FL*'s e^-β / e²) come from one division of their
/// product; e² is floored at 1e-300, which only changes lanes where that reciprocal is unused.
/// Agrees with [`Logit`] + [`fl_star`] to a few ulps.
#[inline(always)]
pub fn negative_parts_gamma2(x: f64, beta: f64, c: (f64, f64)) -> (f64, f64, f64) {
    const SQRT2_M1: f64 = std::f64::consts::SQRT_2 - 1.0;
    let e = exp(-x.abs());
    let a = 1.0 + e;
    let small = e < SQRT2_M1;
    let (bn, bd) = if small {
        (e, 2.0 + e)
    } else {
        (e - 1.0, e + 3.0)
    };
    let e2 = e * e;
    let d = e2.max(1e-300);
    let ab = a * bd;
    let r = 1.0 / (ab * d);
    let inv_d = r * ab;
    let r_ab = r * d;
    let l = log1p_series(bn * (r_ab * a), small);
    let q = if x <= 0.0 { e } else { 1.0 } * (r_ab * bd);
    let grow = if x <= 0.0 { c.0 } else { c.1 };
    let u = if x <= 0.0 || 2.0 * x > beta {
        e2 * grow
    } else {
        c.0 * inv_d
    };
    let fls = (x - 0.5 * beta).max(0.0) + 0.5 * log1p_unit(u);
    (l, q, fls)
}

/// All losses of one element, unweighted by α (α is applied to the sums, per side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementLosses {
    pub ce: f64,
    /// (1 - p_t)^γ · ce, i.e. FL without α_t.
    pub fl: f64,
    pub fl_star: f64,
}

/// Every loss of one element. The one definition the CPU path inlines and the WGSL mirrors.
#[inline(always)]
pub fn element(x: f64, positive: bool, gamma: Gamma, p: &LossParams) -> ElementLosses {
    let lg = Logit::new(x);
    let ce = lg.ce(positive);
    ElementLosses {
        ce,
        fl: lg.modulator(positive, gamma) * ce,
        fl_star: fl_star(x, positive, p.fl_star_gamma, p.fl_star_beta),
    }
}

/// Plain libm float64 reference of one element (for tests): FL with α_t, CE, α-CE, FL*.
pub fn reference(x: f64, positive: bool, p: &LossParams) -> [f64; 4] {
    let xt = if positive { x } else { -x };
    // log σ(z) = -log(1 + e^-z), as numpy's logaddexp does it.
    let log_sig = |z: f64| -> f64 {
        if z >= 0.0 {
            -(-z).exp().ln_1p()
        } else {
            z - z.exp().ln_1p()
        }
    };
    let log_pt = log_sig(xt);
    let ce = -log_pt;
    let at = alpha_t(p.alpha, positive);
    let one_minus_pt = -log_pt.exp_m1(); // 1 - p_t without cancellation
    let fl = at * one_minus_pt.powf(p.gamma) * ce;
    let fls = -log_sig(p.fl_star_gamma * xt + p.fl_star_beta) / p.fl_star_gamma;
    [fl, ce, at * ce, fls]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / a.abs().max(b.abs())
        }
    }

    #[test]
    fn exp_matches_libm() {
        let mut x = -745.0;
        while x < 709.0 {
            // ≤ 3 ulps (Estrin's evaluation order rounds a little more than Horner's).
            assert!(
                rel(exp(x), x.exp()) < 7e-16 || (x < -708.0 && rel(exp(x), x.exp()) < 1e-12),
                "x={x} {} {}",
                exp(x),
                x.exp()
            );
            x += 0.0137;
        }
        assert_eq!(exp(-1e300), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn log1p_matches_libm() {
        for i in 0..=100_000 {
            let e = i as f64 / 100_000.0;
            assert!(
                rel(log1p_unit(e), e.ln_1p()) < 1e-15,
                "e={e} rel={}",
                rel(log1p_unit(e), e.ln_1p())
            );
        }
        for e in [1e-300, 1e-20, 1e-9, 3e-5] {
            assert!(rel(log1p_unit(e), e.ln_1p()) < 1e-15);
        }
    }

    #[test]
    fn element_matches_reference() {
        let p = LossParams::default();
        for &x in &[
            -3.4e38, -1e4, -100.0, -60.0, -17.3, -4.6, -1.0, -1e-8, 0.0, 1e-8, 0.5, 3.0, 30.0,
            100.0, 1e4, 3.4e38,
        ] {
            for pos in [false, true] {
                let el = element(x, pos, Gamma::new(p.gamma), &p);
                let at = alpha_t(p.alpha, pos);
                let r = reference(x, pos, &p);
                let got = [at * el.fl, el.ce, at * el.ce, el.fl_star];
                for k in 0..4 {
                    assert!(got[k].is_finite());
                    assert!(
                        rel(got[k], r[k]) < 1e-13,
                        "x={x} pos={pos} k={k} got={} ref={}",
                        got[k],
                        r[k]
                    );
                }
            }
        }
    }

    #[test]
    fn fused_negative_parts_match() {
        for beta in [0.0, 1.0, 3.5, 50.0] {
            let c = ((-beta as f64).exp(), (beta as f64).exp());
            let mut x: f64 = -800.0;
            while x < 800.0 {
                let lg = Logit::new(x);
                let (l, q, fls) = negative_parts_gamma2(x, beta, c);
                assert!(
                    rel(l, lg.l) < 1e-15 || (l - lg.l).abs() < 1e-300,
                    "x={x}: l {l} vs {}",
                    lg.l
                );
                assert!(
                    rel(q, lg.one_minus_pt(false)) < 1e-15
                        || (q - lg.one_minus_pt(false)).abs() < 1e-300,
                    "x={x}: q {q} vs {}",
                    lg.one_minus_pt(false)
                );
                let want = fl_star(x, false, 2.0, beta);
                assert!(
                    rel(fls, want) < 1e-13 || (fls - want).abs() < 1e-300,
                    "x={x} beta={beta}: {fls} vs {want}"
                );
                x += if x.abs() < 30.0 { 0.0173 } else { 1.37 };
            }
        }
    }

    #[test]
    fn gamma_forms_agree() {
        let lg = Logit::new(-2.5);
        for pos in [false, true] {
            let q = lg.one_minus_pt(pos);
            let lq = lg.log_one_minus_pt(pos);
            assert!(rel(Gamma::Two.pow(q, lq), exp(2.0 * lq)) < 1e-15);
            assert!(rel(Gamma::One.pow(q, lq), exp(lq)) < 1e-15);
        }
    }
}
