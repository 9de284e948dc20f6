#!/usr/bin/env python3
"""Conformance sweep for `retina-tools diagnose --tide` against the authors' tidecv 1.0.1.

For each seeded case a COCO ground truth and a results file are generated: bbox (tidecv's BOX
mode) or segm (MASK: GT polygons, crowd RLEs uncompressed or compressed, detection masks as
compressed RLE), with crowds (some of category -1, which tidecv lets ignore any class), GT of
categories absent from "categories", duplicates, wrong classes, mislocalised boxes, background
detections, detections of unknown categories, images without GT or without detections, more than
100 detections on an image, tied and integer scores, and non-default thresholds. tidecv
(`datasets.COCO`, `COCOResult`, `TIDE(pos, bg, mode).evaluate`, `get_all_errors`,
`count_errors`) and `retina-tools diagnose PREDS --gt GT --tide --json -` evaluate it; the AP and
every main/special dAP must agree within 1e-9 and every error count exactly.

    python diagnose_tide.py --bin target/release/retina-tools --cases 300 [--seed 0] [--keep DIR]

Cases where tidecv itself raises (it divides by zero when no class is left to average, and
raises KeyError on a GT whose fixing detections all score <= -1) are counted as skipped; ours
must still exit 0 on them. Exit status 0 when no case fails; the last line is
`N passed, M failed` (skipped cases counted apart).
"""
import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

from pycocotools import mask as mask_utils
from tidecv import TIDE, datasets

NAMES = ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"]
SPECIAL = ["FalsePos", "FalseNeg"]
TOL = 1e-9


def rnd(rng, v, ints):
    return int(round(v)) if ints else round(v, rng.choice([1, 2, 3, 17]))


def rand_box(rng, W, H, ints):
    w = rng.uniform(2, W * 0.6)
    h = rng.uniform(2, H * 0.6)
    x = rng.uniform(0, W - w)
    y = rng.uniform(0, H - h)
    return [rnd(rng, x, ints), rnd(rng, y, ints), max(rnd(rng, w, ints), 1), max(rnd(rng, h, ints), 1)]


def jitter(rng, b, s, ints):
    w = max(b[2] * (1 + rng.gauss(0, s)), 1.0)
    h = max(b[3] * (1 + rng.gauss(0, s)), 1.0)
    return [rnd(rng, b[0] + rng.gauss(0, s * b[2]), ints), rnd(rng, b[1] + rng.gauss(0, s * b[3]), ints),
            rnd(rng, w, ints), rnd(rng, h, ints)]


def poly_of(rng, b, W, H):
    """An octagon-ish polygon inside box b (clipped to the image)."""
    x, y, w, h = b
    cx, cy = x + w / 2, y + h / 2
    pts = []
    for k in range(8):
        fx = [0, 0.5, 1, 1, 1, 0.5, 0, 0][k]
        fy = [0, 0, 0, 0.5, 1, 1, 1, 0.5][k]
        s = rng.uniform(0.7, 1.0)
        px = min(max(cx + (x + fx * w - cx) * s, 0), W)
        py = min(max(cy + (y + fy * h - cy) * s, 0), H)
        pts += [round(px, 2), round(py, 2)]
    return pts


def rle_of_poly(poly, H, W):
    r = mask_utils.merge(mask_utils.frPyObjects([poly], H, W))
    return {"size": r["size"], "counts": r["counts"].decode("ascii")}


def uncompressed(poly, H, W):
    m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W)))
    flat = m.flatten(order="F")
    counts, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(n)
            cur, n = v, 0
        n += 1
    counts.append(n)
    return {"size": [H, W], "counts": [int(c) for c in counts]}


def make_case(seed):
    rng = random.Random(seed)
    segm = rng.random() < 0.4
    ints = rng.random() < 0.3
    n_img = rng.choice([1, 2, 5, 10, 20])
    n_cat = rng.choice([1, 2, 3, 5])
    cat_ids = rng.sample(range(1, 100), n_cat) if rng.random() < 0.4 else list(range(1, n_cat + 1))
    W, H = (rng.randint(40, 160), rng.randint(40, 160)) if segm else (640, 480)
    img_ids = rng.sample(range(1, 10 * n_img + 10), n_img)
    images = [{"id": i, "width": W, "height": H, "file_name": "%d.jpg" % i} for i in img_ids]
    crowd_p = rng.choice([0.0, 0.1, 0.3])
    score_mode = rng.choice(["ties", "3dig", "rand", "int"])
    many = rng.random() < 0.15
    # segm: loadRes' branch (and so ours) is decided by the first detection; all or none get a box.
    with_bbox = rng.random() < 0.3
    anns, dets = [], []
    next_id = 1

    def score():
        if score_mode == "ties":
            return rng.choice([0.5, 0.25, 0.75, 1.0, 0.1])
        if score_mode == "3dig":
            return round(rng.random(), 3)
        if score_mode == "int":
            return rng.choice([0, 1, 1.0, 0.5])
        return rng.random()

    def det(im, cat, b, poly):
        d = {"image_id": im["id"], "category_id": cat, "score": score()}
        if segm:
            d["segmentation"] = rle_of_poly(poly, H, W)
            if with_bbox:
                d["bbox"] = b
        else:
            d["bbox"] = b
        dets.append(d)

    for n, im in enumerate(images):
        # The first image has GT and detections (tidecv divides by zero when nothing is left).
        n_gt = 0 if n > 0 and rng.random() < 0.15 else rng.randint(1, 10)
        gts = []
        for _ in range(n_gt):
            b = rand_box(rng, W, H, ints)
            poly = poly_of(rng, b, W, H)
            crowd = rng.random() < crowd_p
            cat = rng.choice(cat_ids)
            if crowd and rng.random() < 0.1:
                cat = -1  # tidecv: an ignore region of class -1 ignores any class
            elif rng.random() < 0.02:
                cat = 500  # a GT category absent from "categories" is still a class in tidecv
            seg = [poly]
            if crowd:
                seg = uncompressed(poly, H, W) if rng.random() < 0.7 else rle_of_poly(poly, H, W)
            a = {"id": next_id, "image_id": im["id"], "category_id": cat, "bbox": b,
                 "area": b[2] * b[3], "iscrowd": 1 if crowd else 0, "segmentation": seg}
            if rng.random() < 0.05:
                a["ignore"] = 1  # tidecv never reads it
            next_id += 1
            anns.append(a)
            gts.append((a, poly))
        if n > 0 and rng.random() < 0.1:
            continue  # image without detections
        n_det = rng.randint(100, 140) if many and rng.random() < 0.5 else rng.randint(1 if n == 0 else 0, 12)
        for _ in range(n_det):
            r = rng.random()
            if gts and r < 0.75:
                a, poly = rng.choice(gts)
                s = rng.choice([0.0, 0.03, 0.1, 0.25, 0.5])
                b = list(a["bbox"]) if s == 0.0 else jitter(rng, a["bbox"], s, ints)
                p = poly if s == 0.0 else poly_of(rng, b, W, H)
                cat = a["category_id"] if rng.random() < 0.7 else rng.choice(cat_ids)
                if cat == -1 or cat == 500:
                    cat = rng.choice(cat_ids + [500])
            else:
                b = rand_box(rng, W, H, ints)
                p = poly_of(rng, b, W, H)
                cat = rng.choice(cat_ids)
            if rng.random() < 0.02:
                cat = 1000 + rng.randint(0, 2)  # unknown category: its own class in tidecv
            det(im, cat, b, p)
            if rng.random() < 0.08:
                dets.append(dict(dets[-1]))  # exact duplicate
    rng.shuffle(dets)
    if rng.random() < 0.3:
        pos = rng.choice([0.1, 0.3, 0.5, 0.6, 0.75, 0.9])
        bg = rng.choice([b for b in [0.0, 0.05, 0.1, 0.2, 0.3] if b <= pos])  # the CLI wants bg <= pos
    else:
        pos, bg = 0.5, 0.1
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": c, "name": "c%d" % c} for c in cat_ids]}
    return gt, dets, segm, pos, bg


def reference(gt_path, dt_path, segm, pos, bg):
    mode = TIDE.MASK if segm else TIDE.BOX
    with contextlib.redirect_stdout(io.StringIO()):
        gt = datasets.COCO(gt_path)
        res = datasets.COCOResult(dt_path)
        t = TIDE(pos_threshold=pos, background_threshold=bg, mode=mode)
        run = t.evaluate(gt, res, mode=mode, name="run")
        e = t.get_all_errors()
    counts = {k.short_name: v for k, v in run.count_errors().items()}
    return {"ap": float(run.ap), "main": {k: float(e["main"]["run"][k]) for k in NAMES},
            "special": {k: float(e["special"]["run"][k]) for k in SPECIAL}, "counts": counts}


def ours(binary, gt_path, dt_path, segm, pos, bg, threads):
    cmd = [binary, "diagnose", dt_path, "--gt", gt_path, "--tide", "--json", "-", "-q", "--threads", str(threads)]
    if segm:
        cmd += ["--iou-type", "segm"]
    if (pos, bg) != (0.5, 0.1):
        cmd += ["--tide-pos-thr", repr(pos), "--tide-bg-thr", repr(bg)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("retina-tools failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)["tide"]


def check(args):
    seed, binary, tmp, keep = args
    gt, dets, segm, pos, bg = make_case(seed)
    gt_path = os.path.join(tmp, "gt_%d.json" % seed)
    dt_path = os.path.join(tmp, "dt_%d.json" % seed)
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    with open(dt_path, "w") as f:
        json.dump(dets, f)
    errs, worst, skipped = [], 0.0, None
    try:
        got = ours(binary, gt_path, dt_path, segm, pos, bg, threads=1 + seed % 2)
    except Exception as e:  # a crash of ours is a failure
        got, errs = None, ["ours: %s" % e]
    try:
        ref = reference(gt_path, dt_path, segm, pos, bg)
    except Exception as e:
        ref, skipped = None, "%s: %s" % (type(e).__name__, e)
    if got is not None and ref is not None:
        pairs = [("ap", got["ap"], ref["ap"])]
        pairs += [("main." + k, got["main"][k], ref["main"][k]) for k in NAMES]
        pairs += [("special." + k, got["special"][k], ref["special"][k]) for k in SPECIAL]
        for name, a, b in pairs:
            d = abs(a - b)
            worst = max(worst, d)
            if not d <= TOL:
                errs.append("%s: ours %r tidecv %r" % (name, a, b))
        for k in NAMES:
            if got["counts"][k] != ref["counts"][k]:
                errs.append("counts.%s: ours %r tidecv %r" % (k, got["counts"][k], ref["counts"][k]))
    if errs and keep:
        os.makedirs(keep, exist_ok=True)
        for pth in (gt_path, dt_path):
            os.replace(pth, os.path.join(keep, os.path.basename(pth)))
        with open(os.path.join(keep, "case_%d.txt" % seed), "w") as f:
            f.write("segm=%s pos=%r bg=%r\n%s\n" % (segm, pos, bg, "\n".join(errs)))
    else:
        for pth in (gt_path, dt_path):
            os.remove(pth)
    return seed, "segm" if segm else "bbox", errs, worst, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/retina-tools")
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--keep", help="directory to keep failing cases in")
    args = ap.parse_args()
    failed = passed = 0
    skipped = []
    worst = 0.0
    modes = {"bbox": 0, "segm": 0}
    with tempfile.TemporaryDirectory() as tmp:
        work = [(args.seed + i, args.bin, tmp, args.keep) for i in range(args.cases)]
        with ProcessPoolExecutor(max_workers=args.jobs) as ex:
            for seed, mode, errs, w, skip in ex.map(check, work):
                modes[mode] += 1
                worst = max(worst, w)
                if errs:
                    failed += 1
                    print("case %d (%s) FAILED:\n  %s" % (seed, mode, "\n  ".join(errs)), file=sys.stderr)
                elif skip:
                    skipped.append((seed, skip))
                else:
                    passed += 1
    for seed, why in skipped:
        print("case %d skipped: tidecv raised %s" % (seed, why), file=sys.stderr)
    print("diagnose --tide conformance vs tidecv 1.0.1: %d cases (%d bbox, %d segm), %d skipped (tidecv raised), worst |delta| %.3g"
          % (args.cases, modes["bbox"], modes["segm"], len(skipped), worst))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
