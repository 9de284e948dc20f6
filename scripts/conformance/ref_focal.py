#!/usr/bin/env python3
# Vendored copy of shared/oracles/anchors/ref_focal.py (the project-wide float64 oracle), so that
# the conformance check runs on a fresh clone. Do not edit: refresh it from the oracle.
"""float64 reference for sigmoid focal-loss statistics.

  python oracles/anchors/ref_focal.py --logits x.npy --targets t.npy [--label-format d2]
  python oracles/anchors/ref_focal.py --demo            # synthetic data, all outputs
  python oracles/anchors/ref_focal.py --check-torch     # compare with torchvision.ops

Inputs: logits [N, C] (one row per anchor), targets [N] integers.
  --label-format d2        : 0..C-1 foreground class, C background, -1 ignore (default)
  --label-format detectron : 1..C foreground class, 0 background, -1 ignore
Each (anchor, class) pair is one binary sample: target 1 for the anchor's class,
0 for every other class of a fg anchor and for every class of a bg anchor; ignored
anchors contribute nothing.

Per-element losses with x the logit, y in {0,1}, p = sigmoid(x), p_t = p if y else 1-p,
alpha_t = alpha if y else 1-alpha (computed with log-sigmoid, never log(p)):
  ce        = -log(p_t)
  alpha_ce  = alpha_t * ce
  fl        = alpha_t * (1-p_t)^gamma * ce         (alpha < 0 disables alpha_t)
  fl_star   = -log(sigmoid(gamma_s * x_t + beta)) / gamma_s,  x_t = x if y else -x
              (paper appendix A; optional alpha_t with --star-alpha)
Reductions: sum; sum / max(num_fg_anchors, 1); sum / (num_fg_anchors + 1) (Detectron);
mean over valid elements.
Fig. 4 style CDF: for positives and negatives separately, per-element FL sorted
ascending, divided by its total; cdf(f) = sum of the smallest floor(f * n) losses.
"""
import argparse
import json
import math

import numpy as np

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)


def log_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return -np.logaddexp(0.0, -x)          # log(sigmoid(x)), stable both ways


def binary_targets(targets, C, fmt):
    t = np.asarray(targets, dtype=np.int64)
    if fmt == "detectron":
        fg = (t >= 1) & (t <= C)
        cls = t - 1
        bg = t == 0
    else:
        fg = (t >= 0) & (t < C)
        cls = t
        bg = t == C
    valid = fg | bg
    y = np.zeros((t.shape[0], C), dtype=np.float64)
    y[np.where(fg)[0], cls[fg]] = 1.0
    bad = ~(valid | (t == -1))
    if bad.any():
        raise SystemExit("targets out of range for format %s: %s" % (fmt, np.unique(t[bad])))
    return y, valid, fg


def elementwise(x, y, gamma=2.0, alpha=0.25, gamma_star=2.0, beta=1.0, star_alpha=False):
    x = np.asarray(x, dtype=np.float64)
    xt = np.where(y > 0, x, -x)
    log_pt = log_sigmoid(xt)               # log p_t
    pt = np.exp(log_pt)
    ce = -log_pt
    alpha_t = np.where(y > 0, alpha, 1.0 - alpha) if alpha >= 0 else np.ones_like(x)
    mod = (1.0 - pt) ** gamma if gamma != 0 else np.ones_like(x)
    fl = alpha_t * mod * ce
    fl_star = -log_sigmoid(gamma_star * xt + beta) / gamma_star
    if star_alpha:
        fl_star = alpha_t * fl_star
    return {"ce": ce, "alpha_ce": alpha_t * ce, "fl": fl, "fl_noalpha": mod * ce,
            "fl_star": fl_star}


def cdf(values, fractions=FRACTIONS):
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = v.size
    tot = v.sum()
    if n == 0 or tot <= 0:
        return {"n": int(n), "total": float(tot), "cdf": None}
    cs = np.concatenate([[0.0], np.cumsum(v)]) / tot
    return {"n": int(n), "total": float(tot),
            "cdf": {("%g" % f): float(cs[int(math.floor(f * n))]) for f in fractions}}


def stats(x, targets, fmt="d2", gamma=2.0, alpha=0.25, gamma_star=2.0, beta=1.0,
          star_alpha=False, cdf_gammas=(0.0, 0.5, 1.0, 2.0), neg_from="all"):
    x = np.asarray(x, dtype=np.float64)
    N, C = x.shape
    y, valid, fg = binary_targets(targets, C, fmt)
    el = elementwise(x, y, gamma, alpha, gamma_star, beta, star_alpha)
    nfg = int(fg.sum())
    out = {"N": int(N), "C": int(C), "num_fg": nfg, "num_bg": int((valid & ~fg).sum()),
           "num_ignore": int((~valid).sum()), "gamma": gamma, "alpha": alpha,
           "gamma_star": gamma_star, "beta": beta, "losses": {}}
    vm = valid[:, None] & np.ones((1, C), bool)
    for k, v in el.items():
        s = float(v[vm].sum())
        out["losses"][k] = {"sum": s, "per_fg": s / max(nfg, 1), "per_fg_plus1": s / (nfg + 1),
                            "mean": s / max(int(vm.sum()), 1),
                            "pos_sum": float(v[vm & (y > 0)].sum()),
                            "neg_sum": float(v[vm & (y == 0)].sum())}
    pos = vm & (y > 0)
    neg = vm & (y == 0)
    if neg_from == "bg":
        neg = neg & ~fg[:, None]
    out["fig4"] = {}
    for g in cdf_gammas:
        e = elementwise(x, y, g, -1.0)["fl"]           # alpha cancels after normalisation
        out["fig4"]["gamma=%g" % g] = {"pos": cdf(e[pos]), "neg": cdf(e[neg])}
    return out


def demo_data(N=20000, C=80, seed=0, fmt="d2"):
    rng = np.random.default_rng(seed)
    x = rng.normal(-4.6, 1.5, size=(N, C))            # ~prior 0.01 at init
    t = np.full(N, C if fmt == "d2" else 0, dtype=np.int64)
    idx = rng.choice(N, size=N // 100, replace=False)
    cls = rng.integers(0, C, size=idx.size)
    t[idx] = cls if fmt == "d2" else cls + 1
    x[idx, cls] += rng.normal(6.0, 2.0, size=idx.size)  # positives mostly confident
    ign = rng.choice(np.setdiff1d(np.arange(N), idx), size=N // 200, replace=False)
    t[ign] = -1
    x[0, 0] = 60.0                                     # extreme logits: stability check
    x[1, 1] = -60.0
    return x, t


def check_torch(x, t, fmt, gamma, alpha):
    import torch
    from torchvision.ops import sigmoid_focal_loss
    C = x.shape[1]
    y, valid, fg = binary_targets(t, C, fmt)
    ref = elementwise(x, y, gamma, alpha)["fl"][valid]
    tv = sigmoid_focal_loss(torch.as_tensor(x[valid], dtype=torch.float64),
                            torch.as_tensor(y[valid], dtype=torch.float64),
                            alpha=alpha, gamma=gamma, reduction="none").numpy()
    fin = np.isfinite(tv)
    tv32 = sigmoid_focal_loss(torch.as_tensor(x[valid], dtype=torch.float32),
                              torch.as_tensor(y[valid], dtype=torch.float32),
                              alpha=alpha, gamma=gamma, reduction="sum").item()
    return {"torchvision_version": __import__("torchvision").__version__,
            "max_abs_diff_fp64": float(np.abs(tv[fin] - ref[fin]).max()),
            "max_rel_diff_fp64": float((np.abs(tv[fin] - ref[fin]) / np.maximum(ref[fin], 1e-300)).max()),
            "nonfinite_in_torchvision": int((~fin).sum()),
            "sum_ref": float(ref.sum()), "sum_tv_fp64": float(tv[fin].sum()), "sum_tv_fp32": tv32}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logits")
    ap.add_argument("--targets")
    ap.add_argument("--label-format", choices=("d2", "detectron"), default="d2")
    ap.add_argument("--gamma", type=float, default=2.0)
    ap.add_argument("--alpha", type=float, default=0.25, help="<0 disables alpha weighting")
    ap.add_argument("--gamma-star", type=float, default=2.0)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--star-alpha", action="store_true")
    ap.add_argument("--neg-from", choices=("all", "bg"), default="all",
                    help="Fig.4 negatives: all y=0 elements, or only those of bg anchors")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--check-torch", action="store_true")
    ap.add_argument("--out", help="write JSON here")
    a = ap.parse_args()
    if a.demo or not a.logits:
        x, t = demo_data(fmt=a.label_format)
    else:
        x, t = np.load(a.logits), np.load(a.targets)
    res = stats(x, t, a.label_format, a.gamma, a.alpha, a.gamma_star, a.beta,
                a.star_alpha, neg_from=a.neg_from)
    if a.check_torch:
        try:
            res["torch_check"] = check_torch(x, t, a.label_format, a.gamma, a.alpha)
        except ImportError as e:
            res["torch_check"] = "skipped: %s" % e
    txt = json.dumps(res, indent=1)
    if a.out:
        open(a.out, "w").write(txt)
    print(txt)


if __name__ == "__main__":
    main()
