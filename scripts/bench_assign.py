#!/usr/bin/env python3
"""Benchmark `retina-tools assign` against a vectorised numpy implementation and torchvision's
own AnchorGenerator + box_iou + Matcher (CPU), side by side in one run.

  python scripts/bench_assign.py [--images 500] [--bin target/release/retina-tools] [--no-torch]

Data: a synthetic COCO-like GT file (bench-data/assign-<N>.json; COCO val2014 image sizes and
~7 boxes per image drawn from COCO's box-size distribution), every image resized to
800x1333 by torchvision's rule. The peers are timed on compute alone (anchors + IoU + matching,
JSON loading excluded); retina-tools as a whole process (load, resize, anchors, matching,
statistics; no --out-dir), best of 3.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SIZES = [(480, 640), (640, 480), (427, 640), (640, 427), (426, 640), (500, 375), (375, 500), (512, 640), (612, 612), (480, 600)]


def make_data(path, n, seed=0):
    rnd = random.Random(seed)
    images, anns, aid = [], [], 1
    for i in range(1, n + 1):
        h, w = SIZES[rnd.randrange(len(SIZES))]
        images.append({"id": i, "height": h, "width": w, "file_name": "%012d.jpg" % i})
        for _ in range(max(1, int(rnd.expovariate(1 / 7.0)))):
            # log-uniform side between 6 and ~0.9 of the image, aspect ratio 1/3..3
            side = math.exp(rnd.uniform(math.log(6), math.log(0.9 * min(h, w))))
            ar = math.exp(rnd.uniform(math.log(1 / 3), math.log(3)))
            bw, bh = min(w - 1, side / math.sqrt(ar)), min(h - 1, side * math.sqrt(ar))
            x, y = rnd.uniform(0, w - bw), rnd.uniform(0, h - bh)
            anns.append({"id": aid, "image_id": i, "category_id": rnd.randrange(1, 81), "iscrowd": 0,
                         "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)], "area": round(bw * bh, 2)})
            aid += 1
    cats = [{"id": c, "name": "c%d" % c} for c in range(1, 81)]
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    return images, anns


def tv_resize(h, w):
    s = min(800 / min(h, w), 1333 / max(h, w))
    return int(math.floor(h * s)), int(math.floor(w * s))


def per_image(images, anns):
    by = {}
    for a in anns:
        by.setdefault(a["image_id"], []).append(a)
    out = []
    for im in images:
        h, w = im["height"], im["width"]
        nh, nw = tv_resize(h, w)
        b = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                      for a in by.get(im["id"], [])], dtype=np.float64).reshape(-1, 4)
        b = np.clip(b, 0, np.array([w, h, w, h], np.float64)).astype(np.float32)
        # torchvision resize_boxes: float32 boxes x float32(new) / float32(old)
        r = np.array([np.float32(nw) / np.float32(w), np.float32(nh) / np.float32(h)] * 2, np.float32)
        out.append((nh, nw, (b * r).astype(np.float32)))
    return out


def numpy_anchors(nh, nw, cache={}):
    """torchvision-convention anchors, vectorised (int sizes, rounded cells, padded//feat stride)."""
    hp, wp = -(-nh // 32) * 32, -(-nw // 32) * 32
    key = (hp, wp)
    if key not in cache:
        levels = []
        for l, base in zip(range(3, 8), (32, 64, 128, 256, 512)):
            s = 2 ** l
            fh, fw = -(-hp // s), -(-wp // s)
            sizes = np.array([base, int(base * 2 ** (1 / 3)), int(base * 2 ** (2 / 3))], np.float32)
            hr = np.sqrt(np.array([0.5, 1, 2], np.float32))
            ws = ((1 / hr)[:, None] * sizes[None]).ravel()
            hs = (hr[:, None] * sizes[None]).ravel()
            cells = np.round(np.stack([-ws, -hs, ws, hs], 1) / 2)
            xs = np.arange(fw, dtype=np.float32) * (wp // fw)
            ys = np.arange(fh, dtype=np.float32) * (hp // fh)
            yy, xx = np.meshgrid(ys, xs, indexing="ij")
            sh = np.stack([xx.ravel(), yy.ravel(), xx.ravel(), yy.ravel()], 1)
            levels.append((sh[:, None] + cells[None]).reshape(-1, 4))
        cache[key] = np.concatenate(levels).astype(np.float32)
    return cache[key]


def numpy_match(anchors, gt):
    if gt.shape[0] == 0:
        return np.full(anchors.shape[0], -1)
    ag = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    aa = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    lt = np.maximum(gt[:, None, :2], anchors[None, :, :2])
    rb = np.minimum(gt[:, None, 2:], anchors[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    iou = inter / (ag[:, None] + aa[None] - inter)
    vals, matches = iou.max(0), iou.argmax(0)
    out = matches.copy()
    out[vals < 0.4] = -1
    out[(vals >= 0.4) & (vals < 0.5)] = -2
    best = iou.max(1)
    cand = np.nonzero(iou == best[:, None])[1]
    out[cand] = matches[cand]
    return out


def bench_numpy(data):
    t = time.perf_counter()
    fg = 0
    for nh, nw, gt in data:
        m = numpy_match(numpy_anchors(nh, nw), gt)
        fg += int((m >= 0).sum())
    return time.perf_counter() - t, fg


def bench_torchvision(data):
    import torch
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection import _utils as det_utils
    from torchvision.ops import box_iou
    sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [32, 64, 128, 256, 512])
    gen = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    prepared = []
    for nh, nw, gt in data:
        hp, wp = -(-nh // 32) * 32, -(-nw // 32) * 32
        feats = [torch.empty(1, 1, -(-hp // 2 ** l), -(-wp // 2 ** l)) for l in range(3, 8)]
        prepared.append((ImageList(torch.empty(1, 3, hp, wp), [(nh, nw)]), feats, torch.from_numpy(gt)))
    fg = 0
    with torch.no_grad():
        t = time.perf_counter()
        for il, feats, gt in prepared:
            anchors = gen(il, feats)[0]
            if gt.shape[0] == 0:
                continue
            m = matcher(box_iou(gt, anchors))
            fg += int((m >= 0).sum())
        dt = time.perf_counter() - t
    return dt, fg, torch.__version__, torch.get_num_threads()


def bench_ours(binary, gt_path, threads):
    best, fg = None, None
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run([binary, "assign", "-q", "--gt", gt_path, "--convention", "torchvision",
                              "--threads", str(threads), "--json", "-"], check=True, capture_output=True)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
        fg = json.loads(out.stdout)["foreground"]
    return best, fg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "retina-tools"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-torch", action="store_true")
    a = ap.parse_args()
    os.makedirs(os.path.join(ROOT, "bench-data"), exist_ok=True)
    path = os.path.join(ROOT, "bench-data", "assign-%d.json" % a.images)
    images, anns = make_data(path, a.images)
    data = per_image(images, anns)
    print("%d images, %d GT boxes, resized to 800x1333 (torchvision rule), %d threads" % (len(images), len(anns), a.threads))
    ours, ours_fg = bench_ours(a.bin, path, a.threads)
    rows = [("retina-tools assign (whole process)", ours, ours_fg)]
    t_np, fg_np = bench_numpy(data)
    rows.append(("numpy, vectorised (compute only)", t_np, fg_np))
    if not a.no_torch:
        try:
            t_tv, fg_tv, ver, nt = bench_torchvision(data)
            rows.append(("torchvision %s anchors+box_iou+Matcher (compute only, %d threads)" % (ver, nt), t_tv, fg_tv))
        except ImportError as e:
            print("torchvision not available: %s" % e)
    print("| implementation | total s | ms / image | foreground anchors | retina-tools is faster by |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t, fg in rows:
        print("| %s | %.3f | %.2f | %d | %s |" % (name, t, 1000 * t / len(images), fg, "-" if t == ours else "%.0fx" % (t / ours)))


if __name__ == "__main__":
    main()
