//! The rayon CPU path. Rows are cut into blocks fixed by the shape alone; each block is summed
//! sequentially in f64, and block results are added in block order, so the numbers do not depend
//! on the thread count. The per-element formulas are [`super::math`]'s, evaluated in f64 in loops
//! that the compiler vectorises (AVX2 when the CPU has it; no FMA, so results are identical).

use super::input::{FocalInput, IGNORED};
use super::math::{self, Gamma, Logit};
use super::stats::{key, SlotPlan, SlotSums};
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
    fn sums(&self, input: &FocalInput, cfg: &Config, slots: Option<&SlotPlan>, progress: &dyn Progress) -> Result<(Sums, Option<SlotSums>)> {
        Ok(pass(input, cfg, slots, progress))
    }
}

/// Loop-invariant parameters of the kernel.
struct Kernel {
    main: Gamma,
    sweep: Vec<Gamma>,
    gs: f64,
    beta: f64,
    alpha: f64,
}

/// Per-row scratch: the negative-side value of every class.
struct Scratch {
    ce: Vec<f64>,
    q: Vec<f64>,
    lq: Vec<f64>,
    fl: Vec<f64>,
    fls: Vec<f64>,
    /// [g * C + c]
    sw: Vec<f64>,
}

impl Scratch {
    fn new(c: usize, g: usize) -> Scratch {
        Scratch { ce: vec![0.0; c], q: vec![0.0; c], lq: vec![0.0; c], fl: vec![0.0; c], fls: vec![0.0; c], sw: vec![0.0; c * g] }
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

/// Every class of a row as a negative (y = 0). The positive element, if any, is fixed after.
#[inline(always)]
fn negative_row_generic(x: &[f32], k: &Kernel, s: &mut Scratch) {
    let n = x.len();
    let (ce, q, lq, fls) = (&mut s.ce[..n], &mut s.q[..n], &mut s.lq[..n], &mut s.fls[..n]);
    for i in 0..n {
        let xf = x[i] as f64;
        let lg = Logit::new(xf);
        ce[i] = lg.ce(false);
        q[i] = lg.one_minus_pt(false);
        lq[i] = lg.log_one_minus_pt(false);
        fls[i] = math::fl_star(xf, false, k.gs, k.beta);
    }
    pow_times(k.main, &s.q, &s.lq, &s.ce, &mut s.fl[..n]);
    for (g, &gm) in k.sweep.iter().enumerate() {
        pow_times(gm, &s.q, &s.lq, &s.ce, &mut s.sw[g * n..(g + 1) * n]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn negative_row_avx2(x: &[f32], k: &Kernel, s: &mut Scratch) {
    negative_row_generic(x, k, s)
}

fn negative_row(x: &[f32], k: &Kernel, s: &mut Scratch, avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            // SAFETY: only called when the CPU reports AVX2 (checked once in `pass`).
            return unsafe { negative_row_avx2(x, k, s) };
        }
    }
    let _ = avx2;
    negative_row_generic(x, k, s)
}

/// One block's partial results.
struct Partial {
    sums: Sums,
    slots: Option<SlotSums>,
}

fn block(input: &FocalInput, (r0, r1): (usize, usize), cfg: &Config, k: &Kernel, plan: Option<&SlotPlan>, avx2: bool) -> Partial {
    let c = input.num_classes;
    let g = k.sweep.len();
    let mut sums = Sums::zeros(c, g, input.images);
    let mut slots = plan.map(|p| p.zeros(g));
    let mut buf = Vec::new();
    let rows = input.row_block(r0, r1, &mut buf);
    let mut s = Scratch::new(c, g);
    let mut sw_pos = vec![0.0; g];
    for r in r0..r1 {
        let t = input.label(r);
        if t == IGNORED {
            continue;
        }
        let x = &rows[(r - r0) * c..(r - r0 + 1) * c];
        negative_row(x, k, &mut s, avx2);
        let mut fl_pos = 0.0;
        if t >= 0 {
            let t = t as usize;
            let xf = x[t] as f64;
            let el = math::element(xf, true, k.main, &cfg.params);
            sums.ce[0][t] += el.ce;
            sums.fl[0][t] += el.fl;
            sums.fl_star[0][t] += el.fl_star;
            fl_pos = el.fl;
            let lg = Logit::new(xf);
            let (qp, lqp) = (lg.one_minus_pt(true), lg.log_one_minus_pt(true));
            for (gi, &gm) in k.sweep.iter().enumerate() {
                sw_pos[gi] = gm.pow(qp, lqp) * el.ce;
                sums.sweep[gi][0] += sw_pos[gi];
                s.sw[gi * c + t] = 0.0;
            }
            s.ce[t] = 0.0;
            s.fl[t] = 0.0;
            s.fls[t] = 0.0;
        }
        for i in 0..c {
            sums.ce[1][i] += s.ce[i];
            sums.fl[1][i] += s.fl[i];
            sums.fl_star[1][i] += s.fls[i];
        }
        let mut row_fl = 0.0;
        for &v in &s.fl[..c] {
            row_fl += v;
        }
        sums.image_fl[input.image(r)] += (1.0 - k.alpha) * row_fl + k.alpha * fl_pos;
        for gi in 0..g {
            let mut acc = 0.0;
            for &v in &s.sw[gi * c..(gi + 1) * c] {
                acc += v;
            }
            sums.sweep[gi][1] += acc;
        }
        if let (Some(p), Some(ss)) = (plan, slots.as_mut()) {
            for (i, &xv) in x.iter().enumerate() {
                let pos = i as i32 == t;
                let sign = if pos { 0 } else { 1 };
                let slot = p.slot(sign, key(xv, pos));
                ss.count[sign][slot] += 1;
                let row = &mut ss.sum[sign][slot * g..(slot + 1) * g];
                if pos {
                    for gi in 0..g {
                        row[gi] += sw_pos[gi];
                    }
                } else {
                    for gi in 0..g {
                        row[gi] += s.sw[gi * c + i];
                    }
                }
            }
        }
    }
    Partial { sums, slots }
}

/// One pass over every block: the sums, and the Fig. 4 slot sums when `plan` is given.
pub fn pass(input: &FocalInput, cfg: &Config, plan: Option<&SlotPlan>, progress: &dyn Progress) -> (Sums, Option<SlotSums>) {
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    let k = Kernel {
        main: Gamma::new(cfg.params.gamma),
        sweep: cfg.gammas.iter().map(|&g| Gamma::new(g)).collect(),
        gs: cfg.params.fl_star_gamma,
        beta: cfg.params.fl_star_beta,
        alpha: cfg.params.alpha,
    };
    let g = cfg.gammas.len();
    let blocks = input.blocks(BLOCK_ELEMENTS);
    let partial_bytes = 8 * (6 * input.num_classes + 2 * g + input.images) + plan.map_or(0, |p| p.bytes(g));
    let wave = (WAVE_BYTES / partial_bytes.max(1)).clamp(1, blocks.len().max(1));
    let mut sums = Sums::zeros(input.num_classes, g, input.images);
    let mut slots = plan.map(|p| p.zeros(g));
    progress.start("losses", blocks.len() as u64);
    for w in blocks.chunks(wave) {
        let parts: Vec<Partial> = w
            .par_iter()
            .map(|&b| {
                let p = block(input, b, cfg, &k, plan, avx2);
                progress.inc(1);
                p
            })
            .collect();
        for p in &parts {
            sums.add(&p.sums);
            if let (Some(acc), Some(ps)) = (slots.as_mut(), p.slots.as_ref()) {
                acc.add(ps);
            }
        }
    }
    progress.finish();
    (sums, slots)
}
