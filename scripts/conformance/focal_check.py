#!/usr/bin/env python3
"""Conformance: `retina-tools focal` against the float64 numpy oracle (ref_focal.py).

For seeded random logits (RetinaNet-like, with extreme values), edge cases (all ignored, no
foreground, C = 1) and every storage variant (float16, Fortran order, big-endian, 3-D), run the
binary on each backend given and compare every sum (≤ 1e-6 relative), every Fig. 4 point
(≤ 1e-4 absolute) and the 50/90/99 % sample shares (≤ 1e-4) with the oracle.

  python scripts/conformance/focal_check.py --bin target/release/retina-tools [--backend cpu gpu]
"""
import argparse, json, math, os, subprocess, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_focal as ref  # noqa: E402

REL = 1e-6
CDF_TOL = 1e-4


def to_d2(t, C):
    t = np.asarray(t, dtype=np.int64).copy()
    d2 = t.copy()
    d2[t == -1] = C
    d2[t == -2] = -1
    return d2


def reference(x, t, gammas, alpha=0.25, gamma=2.0, gs=2.0, beta=1.0, points=101):
    C = x.shape[-1]
    x2 = np.asarray(x, dtype=np.float64).reshape(-1, C)
    d2 = to_d2(np.asarray(t).reshape(-1), C)
    y, valid, fg = ref.binary_targets(d2, C, "d2")
    el = ref.elementwise(x2, y, gamma, alpha, gs, beta)
    vm = valid[:, None] & np.ones((1, C), bool)
    pos, neg = vm & (y > 0), vm & (y == 0)
    out = {"num_fg": int(fg.sum()), "losses": {}}
    for k in ("fl", "ce", "alpha_ce", "fl_star"):
        v = el[k]
        out["losses"][k] = {"total": float(v[vm].sum()), "positive": float(v[pos].sum()), "negative": float(v[neg].sum()),
                            "per_class": [float(v[:, c][vm[:, c]].sum()) for c in range(C)]}
    shares = [i / (points - 1) for i in range(points)]
    out["sweep"] = []
    for g in gammas:
        e = ref.elementwise(x2, y, g, alpha)["fl"]
        ent = {"gamma": g, "positive": float(e[pos].sum()), "negative": float(e[neg].sum())}
        for side, m in (("positive", pos), ("negative", neg)):
            v = np.sort(e[m])
            n, tot = v.size, v.sum()
            if n == 0 or tot <= 0:
                ent["curve_" + side] = None
                continue
            cs = np.concatenate([[0.0], np.cumsum(v)]) / tot
            cdf = [float(cs[int(math.floor(f * n))]) for f in shares]
            top = np.concatenate([[0.0], np.cumsum(v[::-1])]) / tot  # share of the m largest
            q = {}
            for qq in (0.5, 0.9, 0.99):
                mm = int(np.searchsorted(top, qq - 1e-15, side="left"))
                q[qq] = mm / n
            ent["curve_" + side] = (cdf, q)
        out["sweep"].append(ent)
    return out


def rel(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(name, got, want, worst):
    errs = []
    for k, w in want["losses"].items():
        g = got["losses"][k]
        for part in ("total", "positive", "negative"):
            r = rel(g[part], w[part])
            worst["sum"] = max(worst["sum"], r)
            if r > REL:
                errs.append("%s %s.%s: %r vs %r (rel %.2e)" % (name, k, part, g[part], w[part], r))
        for c, (a, b) in enumerate(zip(g["per_class"], w["per_class"])):
            r = rel(a, b)
            worst["sum"] = max(worst["sum"], r)
            if r > REL:
                errs.append("%s %s.per_class[%d]: %r vs %r" % (name, k, c, a, b))
    if got["anchors"]["foreground"] != want["num_fg"]:
        errs.append("%s foreground %d vs %d" % (name, got["anchors"]["foreground"], want["num_fg"]))
    for gs, ws in zip(got["sweep"], want["sweep"]):
        for part in ("positive", "negative"):
            r = rel(gs[part], ws[part])
            worst["sum"] = max(worst["sum"], r)
            if r > REL:
                errs.append("%s sweep γ=%g %s: %r vs %r" % (name, ws["gamma"], part, gs[part], ws[part]))
            if ws["curve_" + part] is None:
                if gs["cdf"][part]:
                    errs.append("%s γ=%g %s: expected no curve" % (name, ws["gamma"], part))
                continue
            cdf, q = ws["curve_" + part]
            pts = gs["cdf"][part]
            if len(pts) != len(cdf):
                errs.append("%s γ=%g %s: %d points, want %d" % (name, ws["gamma"], part, len(pts), len(cdf)))
                continue
            for (f, s), w in zip(pts, cdf):
                worst["cdf"] = max(worst["cdf"], abs(s - w))
                if abs(s - w) > CDF_TOL:
                    errs.append("%s γ=%g %s cdf at %g: %r vs %r" % (name, ws["gamma"], part, f, s, w))
            for qq, w in q.items():
                s = gs["samples_for_loss_share"][part][str(qq)]
                worst["share"] = max(worst["share"], abs(s - w))
                if abs(s - w) > CDF_TOL:
                    errs.append("%s γ=%g %s share(%g): %r vs %r" % (name, ws["gamma"], part, qq, s, w))
    return errs


def cases(rng):
    def retina(N, C, lead=None):
        x = rng.normal(-4.6, 1.5, size=(N, C)).astype(np.float32)
        t = np.full(N, -1, np.int64)
        idx = rng.choice(N, size=max(1, N // 100), replace=False)
        cls = rng.integers(0, C, size=idx.size)
        t[idx] = cls
        x[idx, cls] += rng.normal(6.0, 2.0, size=idx.size).astype(np.float32)
        ign = rng.choice(np.setdiff1d(np.arange(N), idx), size=N // 100, replace=False)
        t[ign] = -2
        x.flat[rng.choice(x.size, size=50, replace=False)] = rng.choice([-100.0, 100.0, -60.0, 60.0], size=50)
        if lead is not None:
            return x.reshape(*lead, C), t.reshape(lead)
        return x, t
    x, t = retina(20000, 80)
    yield "retina", x, t
    yield "float16", x.astype(np.float16), t
    yield "fortran", np.asfortranarray(x), t.astype(np.int8)
    yield "bigendian", x.astype(">f4"), t.astype(">i2")
    x3, t3 = retina(6000, 20, lead=(3, 2000))
    yield "batch3d", x3, t3
    yield "batch3d_fortran", np.asfortranarray(x3), np.asfortranarray(t3).astype(np.uint8 if t3.min() >= 0 else np.int32)
    x = rng.uniform(-100, 100, size=(3000, 7)).astype(np.float32)
    t = rng.integers(-2, 7, size=3000)
    yield "uniform_pm100", x, t
    yield "all_ignored", x, np.full(3000, -2)
    yield "no_foreground", x, np.full(3000, -1)
    xc = rng.normal(0, 3, size=(5000, 1)).astype(np.float32)
    yield "single_class", xc, rng.integers(-2, 1, size=5000)
    xh = rng.normal(-3, 2, size=(12, 5000)).astype(np.float32)
    yield "huge_c", xh, rng.integers(-2, 5000, size=12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/retina-tools")
    ap.add_argument("--backend", nargs="+", default=["cpu"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    gammas = [0.0, 0.5, 1.0, 2.0, 5.0]
    errs, worst = [], {"sum": 0.0, "cdf": 0.0, "share": 0.0}
    with tempfile.TemporaryDirectory() as d:
        for name, x, t in cases(rng):
            lp, tp, jp = os.path.join(d, "l.npy"), os.path.join(d, "t.npy"), os.path.join(d, "o.json")
            np.save(lp, x)
            np.save(tp, t)
            want = reference(np.asarray(x, dtype=np.float32), np.asarray(t), gammas)
            for be in a.backend:
                cmd = [a.bin, "focal", "--logits", lp, "--targets", tp, "--backend", be, "--gammas",
                       ",".join("%g" % g for g in gammas), "--json", jp, "-q"]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    errs.append("%s/%s: exit %d: %s" % (name, be, p.returncode, p.stderr.strip()))
                    continue
                got = json.load(open(jp))
                errs += compare("%s/%s" % (name, be), got, want, worst)
                print("%s %-16s %-4s" % ("ok" if not errs else "..", name, be), flush=True)
    print("max relative error of sums: %.3e; max |Δ| cdf point: %.3e; max |Δ| loss-share: %.3e" % (worst["sum"], worst["cdf"], worst["share"]))
    if errs:
        print("\n".join(errs[:40]))
        print("FAILED: %d mismatches" % len(errs))
        sys.exit(1)
    print("focal conformance: all cases match the float64 oracle")


if __name__ == "__main__":
    main()
