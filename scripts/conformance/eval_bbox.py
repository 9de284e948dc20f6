#!/usr/bin/env python3
"""Conformance sweep for `retina-tools eval --iou-type bbox` against pycocotools' COCOeval.

For each seeded case, a COCO-like ground truth and results file are generated (ties, crowd,
empty images, huge / non-contiguous / zero / duplicate ids, area boundaries, duplicates,
>100 dets per image, custom maxDets and area ranges, useCats=0, image/category subsets, int vs
float coordinates, many-digit scores, unknown result categories, empty result lists). Both
pycocotools 2.0.11 and retina-tools evaluate it; the 12 stats, the printed summary lines and
every element of the precision / recall / scores arrays must be equal (float64 ==).

    python eval_bbox.py --bin target/release/retina-tools --cases 300 [--seed 0] [--keep DIR]

Exit status 0 when every case passes. The expected numbers always come from pycocotools.
"""
import argparse
import contextlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

BIG = [2**53, 2**53 + 1, 2**62 + 7, 2**63 - 1, 2**64 - 1, 10**12 + 3]


def rand_box(rng, W, H, ints):
    w = rng.uniform(0.5, W * 0.6)
    h = rng.uniform(0.5, H * 0.6)
    # Area-boundary boxes: 32x32 and 96x96 exactly.
    r = rng.random()
    if r < 0.05:
        w, h = 32.0, 32.0
    elif r < 0.08:
        w, h = 96.0, 96.0
    elif r < 0.15:
        w, h = rng.uniform(1, 12), rng.uniform(1, 12)
    x = rng.uniform(-5, W - w * 0.5)
    y = rng.uniform(-5, H - h * 0.5)
    b = [x, y, w, h]
    if ints:
        b = [int(round(v)) for v in b]
        b[2] = max(b[2], 0)
        b[3] = max(b[3], 0)
    else:
        digits = rng.choice([1, 2, 3, 17])
        b = [round(v, digits) for v in b]
    return b


def jitter(rng, b, s, ints):
    out = [b[0] + rng.gauss(0, s * max(b[2], 1)), b[1] + rng.gauss(0, s * max(b[3], 1)),
           max(0.0, b[2] * (1 + rng.gauss(0, s))), max(0.0, b[3] * (1 + rng.gauss(0, s)))]
    if ints:
        out = [int(round(v)) for v in out]
    else:
        out = [round(v, rng.choice([2, 3, 6, 17])) for v in out]
    return out


def make_case(seed):
    rng = random.Random(seed)
    ints = rng.random() < 0.3
    n_img = rng.choice([1, 2, 5, 10, 20, 40])
    n_cat = rng.choice([1, 2, 3, 5, 8])
    # Ids: sometimes huge and non-contiguous.
    if rng.random() < 0.25:
        img_ids = rng.sample(BIG + list(range(1, 10**6, 9973)), n_img)
    else:
        img_ids = rng.sample(range(0, 3 * n_img + 5), n_img)
    cat_ids = rng.sample(range(1, 100), n_cat) if rng.random() < 0.5 else list(range(1, n_cat + 1))
    images = [{"id": i, "width": 640, "height": 480, "file_name": "%s.jpg" % i} for i in img_ids]
    anns = []
    next_id = 0 if rng.random() < 0.15 else 1  # id 0 quirk
    dets = []
    crowd_p = rng.choice([0.0, 0.05, 0.2])
    score_mode = rng.choice(["ties", "3dig", "long", "rand"])
    many = rng.random() < 0.2
    for im in images:
        if rng.random() < 0.15:
            n_gt = 0  # image without GT
        else:
            n_gt = rng.randint(0, 12)
        gts = []
        for _ in range(n_gt):
            b = rand_box(rng, 640, 480, ints)
            cat = rng.choice(cat_ids)
            area_mode = rng.random()
            if area_mode < 0.6:
                area = b[2] * b[3]
            elif area_mode < 0.7:
                area = rng.choice([1024, 1024.0, 9216, 9216.0, 0, 1e10])
            else:
                area = round(b[2] * b[3] * rng.uniform(0.4, 1.0), 3)
            a = {"id": next_id, "image_id": im["id"], "category_id": cat, "bbox": b, "area": area,
                 "iscrowd": 1 if rng.random() < crowd_p else 0, "segmentation": [[0, 0, 1, 0, 1, 1]]}
            if rng.random() < 0.05:
                a["ignore"] = 1  # overwritten by iscrowd in pycocotools
            anns.append(a)
            gts.append(a)
            next_id += 1
            if rng.random() < 0.03 and next_id > 2:
                next_id -= 2  # duplicate ids
        n_det = rng.randint(0, 8) if not many else rng.randint(90, 160)
        if rng.random() < 0.1:
            n_det = 0
        for j in range(n_det):
            if gts and rng.random() < 0.7:
                g = rng.choice(gts)
                if rng.random() < 0.1:
                    b = list(g["bbox"])  # exact duplicate: IoU 1
                else:
                    b = jitter(rng, g["bbox"], rng.choice([0.02, 0.1, 0.3]), ints)
                cat = g["category_id"] if rng.random() < 0.85 else rng.choice(cat_ids)
            else:
                b = rand_box(rng, 640, 480, ints)
                cat = rng.choice(cat_ids)
            if rng.random() < 0.02:
                cat = 1000 + rng.randint(0, 3)  # category absent from GT
            if score_mode == "ties":
                s = rng.choice([0.5, 0.25, 0.75, 1.0, 0.1])
            elif score_mode == "3dig":
                s = round(rng.random(), 3)
            elif score_mode == "long":
                s = "__LONG%d__" % rng.randint(0, 10**9)
            else:
                s = rng.random()
            d = {"image_id": im["id"], "category_id": cat, "bbox": b, "score": s}
            if rng.random() < 0.05:
                d["id"] = 12345  # ignored: loadRes renumbers
            dets.append(d)
        if rng.random() < 0.1 and dets:
            dets.append(dict(dets[-1]))  # duplicate detection
    rng.shuffle(dets)
    if rng.random() < 0.03:
        dets = []
    params = {}
    r = rng.random()
    if r < 0.15:
        params["max_dets"] = rng.choice([[1, 10, 300], [5, 20, 50], [100, 10, 1], [1, 5, 100], [2, 100, 200]])
    if rng.random() < 0.2:
        params["use_cats"] = 0
    if rng.random() < 0.15:
        params["area_rng"] = rng.choice([
            [["all", 0, 1e10], ["small", 0, 400], ["medium", 400, 5000], ["large", 5000, 1e10]],
            [["all", 0, 1e10], ["small", 0, 1024], ["medium", 1024, 9216], ["large", 9216, 1e10], ["tiny", 0, 100]],
            [["all", 100, 1e5], ["small", 0, 1024], ["medium", 1024, 9216], ["large", 9216, 1e10]],
        ])
    if rng.random() < 0.15 and n_img > 1:
        params["img_ids"] = sorted(rng.sample(img_ids, rng.randint(1, n_img)))
    if rng.random() < 0.15 and n_cat > 1:
        params["cat_ids"] = sorted(rng.sample(cat_ids, rng.randint(1, n_cat)))
    gt = {"info": {"description": "case %d" % seed}, "images": images, "annotations": anns,
          "categories": [{"id": c, "name": "c%d" % c, "supercategory": "x"} for c in cat_ids]}
    return gt, dets, params


def long_digits(m):
    r = random.Random(int(m.group(1)))
    return "0." + "".join(str(r.randint(0, 9)) for _ in range(r.choice([17, 20, 25, 40])))


def dump(obj, path):
    text = json.dumps(obj)
    text = re.sub(r'"__LONG(\d+)__"', long_digits, text)
    with open(path, "w") as f:
        f.write(text)


def reference(gt_path, dt_path, dets, params):
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO(gt_path)
        if dets:
            cdt = cgt.loadRes(dt_path)
        else:
            # loadRes crashes on an empty list (cocoapi#450); evaluate an empty result set as
            # pycocotools' own evaluate/accumulate would.
            cdt = COCO()
            cdt.dataset = {"images": cgt.dataset["images"], "categories": cgt.dataset["categories"], "annotations": []}
            cdt.createIndex()
        E = COCOeval(cgt, cdt, "bbox")
        p = E.params
        if "img_ids" in params:
            p.imgIds = params["img_ids"]
        if "cat_ids" in params:
            p.catIds = params["cat_ids"]
        if "use_cats" in params:
            p.useCats = params["use_cats"]
        if "max_dets" in params:
            p.maxDets = params["max_dets"]
        if "area_rng" in params:
            p.areaRngLbl = [a[0] for a in params["area_rng"]]
            p.areaRng = [[a[1], a[2]] for a in params["area_rng"]]
        E.evaluate()
        E.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        E.summarize()
    lines = [l for l in out.getvalue().splitlines() if "Average" in l]
    return E, [float(x) for x in E.stats], lines


def ours(binary, gt_path, dt_path, params, npz, threads):
    cmd = [binary, "eval", dt_path, "--gt", gt_path, "--json", "-", "--arrays", npz, "-q", "--threads", str(threads)]
    if "img_ids" in params:
        cmd += ["--img-ids", ",".join(map(str, params["img_ids"]))]
    if "cat_ids" in params:
        cmd += ["--cat-ids", ",".join(map(str, params["cat_ids"]))]
    if params.get("use_cats") == 0:
        cmd += ["--no-cats"]
    if "max_dets" in params:
        cmd += ["--max-dets", ",".join(map(str, params["max_dets"]))]
    if "area_rng" in params:
        cmd += ["--area-rng"] + ["%s:%r,%r" % (a[0], float(a[1]), float(a[2])) for a in params["area_rng"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("retina-tools failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout), r.stdout


def check(seed, binary, tmp, keep):
    gt, dets, params = make_case(seed)
    gt_path = os.path.join(tmp, "gt_%d.json" % seed)
    dt_path = os.path.join(tmp, "dt_%d.json" % seed)
    npz = os.path.join(tmp, "arr_%d.npz" % seed)
    dump(gt, gt_path)
    dump(dets, dt_path)
    E, stats, lines = None, None, None
    summarize_ok = True
    try:
        E, stats, lines = reference(gt_path, dt_path, dets, params)
    except IndexError:
        # pycocotools' summarize raises with fewer than 3 maxDets; arrays are still comparable.
        summarize_ok = False
    doc, raw = ours(binary, gt_path, dt_path, params, npz, threads=1 + seed % 2)
    errs = []
    if summarize_ok:
        if doc["stats"] != stats:
            errs.append("stats differ: ours %r ref %r" % (doc["stats"], stats))
        if doc["summary_lines"] != lines:
            errs.append("summary lines differ:\n%s\n%s" % ("\n".join(doc["summary_lines"]), "\n".join(lines)))
    if E is not None:
        a = np.load(npz)
        for k in ("precision", "recall", "scores"):
            ref = np.asarray(E.eval[k])
            got = a[k]
            if ref.shape != got.shape:
                errs.append("%s shape %s vs %s" % (k, got.shape, ref.shape))
            elif not np.array_equal(ref, got):
                n = int((ref != got).sum())
                errs.append("%s: %d elements differ (max abs %g)" % (k, n, float(np.abs(ref - got).max())))
    if errs and keep:
        os.makedirs(keep, exist_ok=True)
        for pth in (gt_path, dt_path):
            os.replace(pth, os.path.join(keep, os.path.basename(pth)))
        with open(os.path.join(keep, "params_%d.json" % seed), "w") as f:
            json.dump(params, f)
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/retina-tools")
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="directory to keep failing cases in")
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            seed = args.seed + i
            try:
                errs = check(seed, args.bin, tmp, args.keep)
            except Exception as e:  # a crash of ours is a failure, not a skip
                errs = ["exception: %s" % e]
            if errs:
                failed += 1
                print("case %d FAILED:\n  %s" % (seed, "\n  ".join(errs)), file=sys.stderr)
    passed = args.cases - failed
    print("eval bbox conformance vs pycocotools: %d cases, %d passed, %d failed" % (args.cases, passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
