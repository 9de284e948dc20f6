#!/usr/bin/env python3
"""anchors --fit: time to result and objective reached, against two baselines.

    python scripts/bench/bench_fit.py BIN GT.json [GT2.json ...] [--rounds 3] [--threads 2]

Per dataset, in alternating rounds (fit, random, fit, random, ...):
  fit     - `anchors --fit` (seeds + differential evolution), wall time of the whole process;
  random  - `anchors --fit --strategy random` with the same number of candidate evaluations
            (same scorer, same search sample, same verification on all images);
  k-means - YOLOv5 autoanchor style (k-means of the resized box (w, h), k = 9, then its genetic
            refinement of the anchor-to-label ratio fitness), the style of mmdetection's
            optimize_anchors.py, mapped onto the RetinaNet structure: the 9 anchors' log aspect
            ratios clustered into 3 ratios, the base sizes spread geometrically over the 5
            levels from the smallest anchor to the largest (so the 3 octave scales of P7 end at
            the largest); scored by `retina-tools assign --no-low-quality` (coverage).
Prints a markdown table (median times; objective = coverage as `assign --no-low-quality`).
Numpy only. The machine is shared: say so next to the figures.
"""
import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import numpy as np


def run_fit(bin_, gt, threads, extra):
    t0 = time.perf_counter()
    out = subprocess.run([bin_, "anchors", "-q", "--threads", str(threads), "--fit", gt, "--json", "-"] + extra,
                         check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, json.loads(out)


def resized_wh(gt):
    """Box (w, h) after detectron2's ResizeShortestEdge(800, 1333); crowd and empty boxes out."""
    d = json.load(open(gt))
    imgs = {i["id"]: i for i in d["images"]}
    wh = []
    for a in d["annotations"]:
        if a.get("iscrowd", 0):
            continue
        im = imgs[a["image_id"]]
        h0, w0 = im["height"], im["width"]
        scale = 800.0 / min(h0, w0)
        nh, nw = (800.0, scale * w0) if h0 < w0 else (scale * h0, 800.0)
        if max(nh, nw) > 1333:
            s = 1333.0 / max(nh, nw)
            nh, nw = nh * s, nw * s
        nh, nw = int(nh + 0.5), int(nw + 0.5)
        w, h = a["bbox"][2] * nw / w0, a["bbox"][3] * nh / h0
        if w > 1e-5 and h > 1e-5:
            wh.append((w, h))
    return np.array(wh, dtype=np.float64)


def yolo_kmeans(wh, n=9, thr=4.0, gen=1000, seed=0):
    """YOLOv5 utils/autoanchor.py kmean_anchors, re-derived: whitened k-means, then mutation
    of the anchors kept when the fitness (mean best ratio metric above 1/thr) improves."""
    rng = np.random.default_rng(seed)
    wh = wh[(wh >= 2.0).any(1)]
    s = wh.std(0)
    x = wh / s
    k = x[rng.choice(len(x), n, replace=False)]
    for _ in range(50):
        d = ((x[:, None, :] - k[None]) ** 2).sum(-1)
        a = d.argmin(1)
        k = np.array([x[a == j].mean(0) if (a == j).any() else k[j] for j in range(n)])
    k = k * s

    def fitness(k):
        r = wh[:, None] / k[None]
        m = np.minimum(r, 1 / r).min(2)
        best = m.max(1)
        return (best * (best > 1 / thr)).mean()

    f = fitness(k)
    for _ in range(gen):
        v = np.ones(k.shape)
        while (v == 1).all():
            v = ((rng.random(k.shape) < 0.9) * rng.random() * rng.standard_normal(k.shape) * 0.1 + 1).clip(0.3, 3.0)
        kg = (k * v).clip(min=2.0)
        fg = fitness(kg)
        if fg > f:
            f, k = fg, kg
    return k[np.argsort(k.prod(1))]


def kmeans_to_retinanet(anchors, levels=(3, 4, 5, 6, 7), spo=3):
    lr = np.log(anchors[:, 1] / anchors[:, 0])
    c = np.quantile(lr, [1 / 6, 1 / 2, 5 / 6])
    for _ in range(50):
        a = np.abs(lr[:, None] - c[None]).argmin(1)
        c = np.array([lr[a == j].mean() if (a == j).any() else c[j] for j in range(3)])
    ratios = sorted(round(float(math.exp(v)), 3) for v in c)
    size = np.sqrt(anchors.prod(1))
    lo, hi = float(size.min()), float(size.max()) / 2 ** ((spo - 1) / spo)
    hi = max(hi, lo)
    n = len(levels)
    sizes = [round(lo * (hi / lo) ** (i / (n - 1)) * 4) / 4 for i in range(n)]
    return sizes, ratios


def coverage(bin_, gt, sizes, ratios, threads):
    out = subprocess.run([bin_, "assign", "-q", "--threads", str(threads), "--gt", gt, "--json", "-", "--no-low-quality",
                          "--sizes", ",".join(str(s) for s in sizes), "--aspect-ratios", ",".join(str(r) for r in ratios)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["coverage"][0]["share"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("gts", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rows = []
    for gt in a.gts:
        t_fit, t_rnd, fit, rnd = [], [], None, None
        for _ in range(a.rounds):
            t, fit = run_fit(a.bin, gt, a.threads, [])
            t_fit.append(t)
            n = str(fit["evaluated"])
            t, rnd = run_fit(a.bin, gt, a.threads, ["--strategy", "random", "--evaluations", n])
            t_rnd.append(t)
        t0 = time.perf_counter()
        km = yolo_kmeans(resized_wh(gt))
        sizes, ratios = kmeans_to_retinanet(km)
        t_km = time.perf_counter() - t0
        cov_km = coverage(a.bin, gt, sizes, ratios, a.threads)
        rows.append((gt, fit, rnd, statistics.median(t_fit), statistics.median(t_rnd), t_km, cov_km, sizes, ratios))
        print("%s: fit %.2fs %s | random %.2fs | k-means %.2fs" % (gt, statistics.median(t_fit), [round(x, 2) for x in t_fit],
                                                                 statistics.median(t_rnd), t_km), file=sys.stderr)
    print("| data | GT boxes | default | fit (time, evaluations) | random search, same evaluations | YOLOv5-style k-means -> RetinaNet |")
    print("| --- | --- | --- | --- | --- | --- |")
    for gt, fit, rnd, tf, tr, tk, ck, sizes, ratios in rows:
        b = fit["best"]
        print("| `%s` | %d | %.2f %% | **%.2f %%** (%.1f s, %d) — sizes %s, ratios %s, %d scales | %.2f %% (%.1f s) | %.2f %% (sizes %s, ratios %s) |" % (
            gt, fit["gt"], 100 * fit["default"]["value"], 100 * b["value"], tf, fit["evaluated"],
            ",".join(str(s) for s in b["sizes"]), ",".join(str(r) for r in b["aspect_ratios"]), b["scales_per_octave"],
            100 * rnd["best"]["value"], tr, 100 * ck, ",".join(str(s) for s in sizes), ",".join(str(r) for r in ratios)))


if __name__ == "__main__":
    main()
