//! The rayon CPU path. Rows are cut into blocks fixed by the shape alone; each block is summed
//! sequentially in f64, and block results are added in block order, so the numbers do not depend
//! on the thread count. The per-element formulas are [`super::math`]'s, evaluated in f64 in loops
//! that the compiler vectorises (AVX2 when the CPU has it; no FMA, so results are identical).

use super::input::{FocalInput, IGNORED};
use super::math::{self, Gamma, Logit};
use super::stats::{key, BinAcc, Bins, SparseBins, BINS};
use super::{Backend, Config, Sums};
use crate::error::Result;
use crate::progress::Progress;
use rayon::prelude::*;

/// Elements per block (rows are whole; a block has at least one row).
const BLOCK_ELEMENTS: usize = 1 << 16;
/// Memory allowed for block partials awaiting their ordered merge.
const WAVE_BYTES: usize = 64 << 20;

pub struct Cpu;

impl Backend for Cpu {
    fn kind(&self) -> &'static str {
        "cpu"
    }
    fn adapter(&self) -> Option<String> {
        None
    }
    fn sums(
        &self,
        input: &FocalInput,
        cfg: &Config,
        progress: &dyn Progress,
    ) -> Result<(Sums, Bins)> {
        Ok(pass(input, cfg, progress))
    }
}

/// The widest vector unit the kernel may use (detected at run time; same results on each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simd {
    None,
    Avx2,
    Avx512,
}

impl Simd {
    fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::env::var_os("RETINA_NO_AVX512").is_none()
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
            {
                return Simd::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::None
    }
}

/// Loop-invariant parameters of the kernel.
struct Kernel {
    main: Gamma,
    sweep: Vec<Gamma>,
    /// Per sweep γ: the same as the main γ (its values are the FL values, not recomputed).
    sweep_is_main: Vec<bool>,
    gs: f64,
    beta: f64,
    alpha: f64,
    /// (e^-β, e^β) when FL* can reuse exp(-|x|) (γ* = 2, 0 ≤ β ≤ 50).
    fls_gamma2: Option<(f64, f64)>,
    /// Some sweep γ needs q, log q and ce per element.
    keep_parts: bool,
}

impl Kernel {
    fn new(cfg: &Config) -> Kernel {
        let main = Gamma::new(cfg.params.gamma);
        let sweep: Vec<Gamma> = cfg.gammas.iter().map(|&g| Gamma::new(g)).collect();
        let sweep_is_main: Vec<bool> = sweep.iter().map(|&g| g == main).collect();
        let (gs, beta) = (cfg.params.fl_star_gamma, cfg.params.fl_star_beta);
        Kernel {
            main,
            keep_parts: sweep_is_main.iter().any(|&m| !m),
            sweep,
            sweep_is_main,
            gs,
            beta,
            alpha: cfg.params.alpha,
            fls_gamma2: (gs == 2.0 && (0.0..=50.0).contains(&beta))
                .then(|| ((-beta).exp(), beta.exp())),
        }
    }
}

/// Rows per kernel chunk: about this many elements, so the chunk's outputs stay in cache.
const CHUNK_ELEMENTS: usize = 4096;

/// The kernel's outputs for one chunk of whole rows, every element taken as a negative.
struct Chunk {
    ce: Vec<f64>,
    q: Vec<f64>,
    lq: Vec<f64>,
    fl: Vec<f64>,
    fls: Vec<f64>,
    /// [g * len + i], only for sweep γ ≠ main γ.
    sw: Vec<f64>,
    /// Fig. 4 bin (top 16 key bits) of every element as a negative.
    bin: Vec<u16>,
}

impl Chunk {
    fn new(len: usize, g: usize, keep_parts: bool) -> Chunk {
        let z = || vec![0.0; len];
        let zp = || {
            if keep_parts {
                vec![0.0; len]
            } else {
                Vec::new()
            }
        };
        Chunk {
            ce: z(),
            q: zp(),
            lq: zp(),
            fl: z(),
            fls: z(),
            sw: if keep_parts {
                vec![0.0; len * g]
            } else {
                Vec::new()
            },
            bin: vec![0; len],
        }
    }
    /// FL values of sweep γ `g` for elements `r` of the chunk (of `len` elements).
    #[inline(always)]
    fn sweep(&self, k: &Kernel, g: usize, len: usize, r: std::ops::Range<usize>) -> &[f64] {
        if k.sweep_is_main[g] {
            &self.fl[r]
        } else {
            &self.sw[g * len + r.start..g * len + r.end]
        }
    }
}

/// q^γ · ce for a whole row, with γ's kind hoisted out of the loop.
#[inline(always)]
fn pow_times(g: Gamma, q: &[f64], lq: &[f64], ce: &[f64], out: &mut [f64]) {
    let n = out.len();
    let (q, lq, ce) = (&q[..n], &lq[..n], &ce[..n]);
    match g {
        Gamma::Zero => out.copy_from_slice(ce),
        Gamma::One => {
            for i in 0..n {
                out[i] = q[i] * ce[i];
            }
        }
        Gamma::Two => {
            for i in 0..n {
                out[i] = (q[i] * q[i]) * ce[i];
            }
        }
        Gamma::Other(_) => {
            for i in 0..n {
                out[i] = g.pow(q[i], lq[i]) * ce[i];
            }
        }
    }
}

/// Sum in 8 interleaved lanes, then the lanes in order: a fixed order the compiler vectorises.
#[inline(always)]
fn sum8(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut it = v.chunks_exact(8);
    for ch in &mut it {
        for j in 0..8 {
            acc[j] += ch[j];
        }
    }
    for (j, &r) in it.remainder().iter().enumerate() {
        acc[j] += r;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Every element of `x` as a negative (y = 0): ce, FL (main γ), FL*, the sweep values and the
/// Fig. 4 bin, into `out`. One flat loop over the chunk, which the compiler vectorises; γ and the
/// FL* form are chosen outside it.
#[inline(always)]
fn kernel_generic(x: &[f32], k: &Kernel, out: &mut Chunk) {
    let (gs, beta) = (k.gs, k.beta);
    // (log1p(e), 1 - p_t, FL*) of a negative element.
    macro_rules! with_fls {
        ($pow:expr) => {
            match k.fls_gamma2 {
                Some(c) if k.keep_parts => {
                    kernel_loop::<true>(x, out, $pow, Gamma2Parts { beta, c })
                }
                None if k.keep_parts => {
                    kernel_loop::<true>(x, out, $pow, GenericParts { gs, beta })
                }
                Some(c) => kernel_loop::<false>(x, out, $pow, Gamma2Parts { beta, c }),
                None => kernel_loop::<false>(x, out, $pow, GenericParts { gs, beta }),
            }
        };
    }
    match k.main {
        Gamma::Zero => with_fls!(|_q: f64, _lq: f64| 1.0),
        Gamma::One => with_fls!(|q: f64, _lq: f64| q),
        Gamma::Two => with_fls!(|q: f64, _lq: f64| q * q),
        Gamma::Other(_) => with_fls!(|q: f64, lq: f64| k.main.pow(q, lq)),
    }
    if k.keep_parts {
        let n = x.len();
        for (g, &gm) in k.sweep.iter().enumerate() {
            if !k.sweep_is_main[g] {
                pow_times(
                    gm,
                    &out.q[..n],
                    &out.lq[..n],
                    &out.ce[..n],
                    &mut out.sw[g * n..(g + 1) * n],
                );
            }
        }
    }
}

/// (log1p(e), 1 - p_t, FL*) of a negative element, e = exp(-|x|) (a trait, not a closure, so that it is
/// always inlined into the vector loop).
trait NegativeParts {
    fn parts(&self, x: f64) -> (f64, f64, f64);
}

/// Any γ*, β.
struct GenericParts {
    gs: f64,
    beta: f64,
}

impl NegativeParts for GenericParts {
    #[inline(always)]
    fn parts(&self, x: f64) -> (f64, f64, f64) {
        let lg = Logit::new(x);
        (
            lg.l,
            lg.one_minus_pt(false),
            math::fl_star(x, false, self.gs, self.beta),
        )
    }
}

/// γ* = 2, 0 ≤ β ≤ 50: the fused form.
struct Gamma2Parts {
    beta: f64,
    c: (f64, f64),
}

impl NegativeParts for Gamma2Parts {
    #[inline(always)]
    fn parts(&self, x: f64) -> (f64, f64, f64) {
        math::negative_parts_gamma2(x, self.beta, self.c)
    }
}

#[inline(always)]
fn kernel_loop<const KEEP_PARTS: bool>(
    x: &[f32],
    out: &mut Chunk,
    pow: impl Fn(f64, f64) -> f64,
    parts: impl NegativeParts,
) {
    let n = x.len();
    let (ce_v, fl_v, fls_v, bin) = (
        &mut out.ce[..n],
        &mut out.fl[..n],
        &mut out.fls[..n],
        &mut out.bin[..n],
    );
    let (q_v, lq_v) = if KEEP_PARTS {
        (&mut out.q[..n], &mut out.lq[..n])
    } else {
        (&mut [][..], &mut [][..])
    };
    for i in 0..n {
        bin[i] = (key(x[i], false) >> 16) as u16;
        let xf = x[i] as f64;
        let (l, q, fls) = parts.parts(xf);
        // As Logit::ce / log_one_minus_pt for y = 0 (x_t = -x).
        let ce = xf.max(0.0) + l;
        let lq = -((-xf).max(0.0) + l);
        ce_v[i] = ce;
        fl_v[i] = pow(q, lq) * ce;
        fls_v[i] = fls;
        if KEEP_PARTS {
            q_v[i] = q;
            lq_v[i] = lq;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2(x: &[f32], k: &Kernel, out: &mut Chunk) {
    kernel_generic(x, k, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
unsafe fn kernel_avx512(x: &[f32], k: &Kernel, out: &mut Chunk) {
    kernel_generic(x, k, out)
}

fn kernel(x: &[f32], k: &Kernel, out: &mut Chunk, simd: Simd) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd == Simd::Avx512 {
            // SAFETY: only called when the CPU reports AVX-512 F/DQ/VL (checked in `Simd::detect`).
            return unsafe { kernel_avx512(x, k, out) };
        }
        if simd == Simd::Avx2 {
            // SAFETY: only called when the CPU reports AVX2 (checked in `Simd::detect`).
            return unsafe { kernel_avx2(x, k, out) };
        }
    }
    let _ = simd;
    kernel_generic(x, k, out)
}

/// One block's partial results.
struct Partial {
    sums: Sums,
    bins: SparseBins,
}

fn block(
    input: &FocalInput,
    (r0, r1): (usize, usize),
    cfg: &Config,
    k: &Kernel,
    (acc, out): &mut (BinAcc, Chunk),
    simd: Simd,
) -> Partial {
    let c = input.num_classes;
    let g = k.sweep.len();
    let mut sums = Sums::zeros(c, g, input.images);
    let mut buf = Vec::new();
    let rows = input.row_block(r0, r1, &mut buf);
    let per = (CHUNK_ELEMENTS / c).max(1);
    let mut sw_pos = vec![0.0; g];
    let mut image_neg = vec![0.0; input.images];
    let mut sweep_neg = vec![0.0; g];
    let [_, neg_ce] = &mut sums.ce;
    let [_, neg_fl] = &mut sums.fl;
    let [_, neg_fls] = &mut sums.fl_star;
    let mut cr0 = r0;
    while cr0 < r1 {
        let cr1 = (cr0 + per).min(r1);
        let len = (cr1 - cr0) * c;
        kernel(&rows[(cr0 - r0) * c..(cr1 - r0) * c], k, out, simd);
        for r in cr0..cr1 {
            let t = input.label(r);
            if t == IGNORED {
                continue;
            }
            let o = (r - cr0) * c;
            // The negatives of the row: every class but the positive one.
            let tu = if t >= 0 { t as usize } else { c };
            for part in [0..tu.min(c), (tu + 1).min(c)..c] {
                let rg = o + part.start..o + part.end;
                for (a, v) in neg_ce[part.clone()].iter_mut().zip(&out.ce[rg.clone()]) {
                    *a += *v;
                }
                for (a, v) in neg_fl[part.clone()].iter_mut().zip(&out.fl[rg.clone()]) {
                    *a += *v;
                }
                for (a, v) in neg_fls[part.clone()].iter_mut().zip(&out.fls[rg.clone()]) {
                    *a += *v;
                }
                image_neg[input.image(r)] += (1.0 - k.alpha) * sum8(&out.fl[rg.clone()]);
                for (gi, acc_g) in sweep_neg.iter_mut().enumerate() {
                    *acc_g += sum8(out.sweep(k, gi, len, rg.clone()));
                }
                let bins = &out.bin[rg.clone()];
                let counts = acc.counts(1);
                for &b in bins {
                    counts[b as usize] += 1;
                }
                for gi in 0..g {
                    let sums = acc.sums(1, gi);
                    for (&b, &v) in bins.iter().zip(out.sweep(k, gi, len, rg.clone())) {
                        sums[b as usize] += v;
                    }
                }
            }
        }
        cr0 = cr1;
    }
    // Positives: one element per foreground row.
    for r in r0..r1 {
        let t = input.label(r);
        if t < 0 {
            continue;
        }
        let t = t as usize;
        let xv = rows[(r - r0) * c + t];
        let xf = xv as f64;
        let el = math::element(xf, true, k.main, &cfg.params);
        sums.ce[0][t] += el.ce;
        sums.fl[0][t] += el.fl;
        sums.fl_star[0][t] += el.fl_star;
        sums.image_fl[input.image(r)] += k.alpha * el.fl;
        let lg = Logit::new(xf);
        let (qp, lqp) = (lg.one_minus_pt(true), lg.log_one_minus_pt(true));
        for (gi, &gm) in k.sweep.iter().enumerate() {
            sw_pos[gi] = gm.pow(qp, lqp) * el.ce;
            sums.sweep[gi][0] += sw_pos[gi];
        }
        let b = (key(xv, true) >> 16) as u16;
        acc.counts(0)[b as usize] += 1;
        for gi in 0..g {
            acc.sums(0, gi)[b as usize] += sw_pos[gi];
        }
    }
    for (a, b) in sums.image_fl.iter_mut().zip(&image_neg) {
        *a += *b;
    }
    for gi in 0..g {
        sums.sweep[gi][1] += sweep_neg[gi];
    }
    Partial {
        sums,
        bins: acc.take(),
    }
}

/// One pass over every block: the sums and the Fig. 4 bins.
pub fn pass(input: &FocalInput, cfg: &Config, progress: &dyn Progress) -> (Sums, Bins) {
    let simd = Simd::detect();
    let k = Kernel::new(cfg);
    let g = cfg.gammas.len();
    let blocks = input.blocks(BLOCK_ELEMENTS);
    let partial_bytes = 8 * (6 * input.num_classes + 2 * g + input.images)
        + BLOCK_ELEMENTS.min(2 * BINS) * 8 * (2 + g);
    let wave = (WAVE_BYTES / partial_bytes.max(1)).clamp(1, blocks.len().max(1));
    let mut sums = Sums::zeros(input.num_classes, g, input.images);
    let mut bins = Bins::zeros(g);
    progress.start("losses", blocks.len() as u64);
    for w in blocks.chunks(wave) {
        let parts: Vec<Partial> = w
            .par_iter()
            .map_init(
                || {
                    (
                        BinAcc::new(g),
                        Chunk::new(
                            (CHUNK_ELEMENTS / input.num_classes).max(1) * input.num_classes,
                            g,
                            k.keep_parts,
                        ),
                    )
                },
                |acc, &b| {
                    let p = block(input, b, cfg, &k, acc, simd);
                    progress.inc(1);
                    p
                },
            )
            .collect();
        for p in &parts {
            sums.add(&p.sums);
            bins.add(&p.bins);
        }
    }
    progress.finish();
    (sums, bins)
}
