// Focal-loss sums on the GPU: an f32 copy of src/focal/math.rs (tested against it).
//
// One invocation owns one class column over a group of R consecutive rows of the chunk and
// accumulates, with Kahan compensation, K = 6 + 2·G sums: ce, (1-p_t)^γ·ce and FL*, each for the
// positive and the negative side, then (1-p_t)^γ_g·ce per sweep γ and side. It writes them to its
// own slot of `out`; the host adds the slots in f64. No float atomics anywhere.

struct Params {
    rows: u32,          // rows in this chunk
    classes: u32,       // C
    rows_per_thread: u32,
    n_gamma: u32,
    gamma: f32,         // γ of FL
    fl_star_gamma: f32, // γ*
    fl_star_beta: f32,  // β
    _pad: f32,
    gammas: array<vec4<f32>, 4>, // sweep γ values (n_gamma of them)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const MAX_K: u32 = 38u; // 6 + 2 * 16 sweep values
const IGNORED: i32 = -2;

// exp(x) by range reduction x = k ln2 + r and a degree-7 polynomial; ldexp for 2^k. WGSL's exp
// is only specified to 3 + 2|x| ulp, which is too loose for |x| ~ 100.
fn exp_f(x_in: f32) -> f32 {
    let x = clamp(x_in, -104.0, 88.7);
    let k = round(x * 1.442695041);
    let r = (x - k * 0.693145752) - k * 1.42860677e-6;
    var p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let ki = i32(k);
    // Two halves so that 2^k stays representable for the subnormal range.
    let k1 = ki / 2;
    return ldexp(ldexp(p, k1), ki - k1);
}

// log1p(e) for e in [0, 1] as 2·atanh(s), as in math.rs (WGSL log is only 2^-21 absolute near 1).
fn log1p_unit(e: f32) -> f32 {
    let small = e < 0.41421356;
    let s = select((e - 1.0) / (e + 3.0), e / (2.0 + e), small);
    let base = select(0.693147181, 0.0, small);
    let s2 = s * s;
    var q = 1.0 / 9.0;
    q = q * s2 + 1.0 / 7.0;
    q = q * s2 + 1.0 / 5.0;
    q = q * s2 + 1.0 / 3.0;
    q = q * s2 + 1.0;
    return base + 2.0 * s * q;
}

// q^γ from q and log q, with the common exponents exact.
fn pow_g(q: f32, lq: f32, g: f32) -> f32 {
    if (g == 0.0) { return 1.0; }
    if (g == 1.0) { return q; }
    if (g == 2.0) { return q * q; }
    return exp_f(g * lq);
}

fn sweep_gamma(i: u32) -> f32 {
    return P.gammas[i / 4u][i % 4u];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = (wid.y * nwg.x + wid.x) * 256u + lid;
    let c = g % P.classes;
    let group = g / P.classes;
    let r0 = group * P.rows_per_thread;
    if (r0 >= P.rows) { return; }
    let r1 = min(r0 + P.rows_per_thread, P.rows);
    let k_n = 6u + 2u * P.n_gamma;
    var acc: array<f32, MAX_K>;
    var comp: array<f32, MAX_K>;
    for (var k = 0u; k < MAX_K; k++) { acc[k] = 0.0; comp[k] = 0.0; }
    for (var r = r0; r < r1; r++) {
        let t = labels[r];
        if (t == IGNORED) { continue; }
        let x = logits[r * P.classes + c];
        let pos = i32(c) == t;
        let side = select(1u, 0u, pos);
        let xt = select(-x, x, pos);
        let e = exp_f(-abs(x));
        let l = log1p_unit(e);
        let ce = max(-xt, 0.0) + l;                       // softplus(-x_t)
        let q = select(1.0, e, xt >= 0.0) / (1.0 + e);    // 1 - p_t = σ(-x_t)
        let lq = -(max(xt, 0.0) + l);                     // log(1 - p_t)
        var v: array<f32, 3>;
        v[0] = ce;
        v[1] = pow_g(q, lq, P.gamma) * ce;
        // FL* as in math.rs::fl_star (no overflow of γ*·x_t in the linear part).
        v[2] = max(-(xt + P.fl_star_beta / P.fl_star_gamma), 0.0)
             + log1p_unit(exp_f(-abs(P.fl_star_gamma * xt + P.fl_star_beta))) / P.fl_star_gamma;
        for (var j = 0u; j < 3u; j++) {
            let k = 2u * j + side;
            let y = v[j] - comp[k];
            let s = acc[k] + y;
            comp[k] = (s - acc[k]) - y;
            acc[k] = s;
        }
        for (var i = 0u; i < P.n_gamma; i++) {
            let k = 6u + 2u * i + side;
            let y = pow_g(q, lq, sweep_gamma(i)) * ce - comp[k];
            let s = acc[k] + y;
            comp[k] = (s - acc[k]) - y;
            acc[k] = s;
        }
    }
    let base = g * k_n;
    for (var k = 0u; k < k_n; k++) { out[base + k] = acc[k]; }
}
