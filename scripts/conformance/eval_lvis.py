#!/usr/bin/env python3
"""Conformance sweep for `retina-tools eval` under the LVIS protocol against lvis 0.5.3.

Each seeded case is a synthetic LVIS-style set: many rare categories (and some without GT),
per-image neg_category_ids / not_exhaustive_category_ids, crowd annotations (which LVIS does
not read), an occasional `ignore` field, GT and detections of area <= 0, empty images,
GT id 0 and duplicate annotation ids, images with more than maxDets detections, detections of
categories absent from the GT, score ties, bbox and segm (polygon GT, RLE detections, some
carrying a bbox). lvis' LVISEval and retina-tools evaluate it; the 13 results, the printed
lines and every element of precision [T,R,K,A] and recall [T,K,A] must be equal (float64 ==).

    python eval_lvis.py --bin target/release/retina-tools --cases 300 [--seed 0] [--keep DIR]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import pycocotools.mask as mask_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lvis_ref import lvis_eval  # noqa: E402


def rand_box(rng, W, H):
    r = rng.random()
    if r < 0.05:
        w, h = 32.0, 32.0
    elif r < 0.08:
        w, h = 96.0, 96.0
    elif r < 0.11:
        w, h = 0.0, rng.uniform(1, 20)  # area 0
    else:
        w, h = rng.uniform(1, W * 0.6), rng.uniform(1, H * 0.6)
    x, y = rng.uniform(0, W - max(w, 1)), rng.uniform(0, H - max(h, 1))
    return [round(x, rng.choice([0, 1, 2])), round(y, 2), round(w, 2), round(h, 2)]


def poly(b):
    x, y, w, h = b
    return [[x, y, x, y + h, x + w, y + h, x + w, y]]


def make_case(rng, segm):
    n_cat = rng.randint(3, 40)
    cat_ids = rng.sample(range(1, 3 * n_cat + 5), n_cat)
    cats = [{"id": c, "name": f"c{c}", "frequency": rng.choices("rcf", [0.6, 0.25, 0.15])[0]} for c in cat_ids]
    n_img = rng.randint(1, 18)
    img_ids = rng.sample(range(1, 1000), n_img)
    W, H = 120, 100
    images, anns, dets = [], [], []
    aid = 1
    for im in img_ids:
        present = rng.sample(cat_ids, min(len(cat_ids), rng.randint(0, 5))) if rng.random() > 0.15 else []
        for c in present:
            for _ in range(rng.randint(1, 4)):
                b = rand_box(rng, W, H)
                area = b[2] * b[3] if rng.random() < 0.9 else round(rng.uniform(0, 12000), 1)
                if rng.random() < 0.05:
                    area = 0
                a = {"id": aid, "image_id": im, "category_id": c, "bbox": b, "area": area, "segmentation": poly(b)}
                if rng.random() < 0.2:
                    a["iscrowd"] = rng.randint(0, 1)
                if rng.random() < 0.03:
                    a["ignore"] = 1
                r = rng.random()
                if r < 0.02:
                    a["id"] = 0
                elif r < 0.04 and aid > 1:
                    a["id"] = aid - 1
                anns.append(a)
                aid += 1
        others = [c for c in cat_ids if c not in present]
        neg = rng.sample(others, min(len(others), rng.randint(0, 6)))
        nel = rng.sample(present, min(len(present), rng.randint(0, 2))) + rng.sample(cat_ids, rng.randint(0, min(2, len(cat_ids))))
        images.append({"id": im, "width": W, "height": H, "neg_category_ids": neg, "not_exhaustive_category_ids": nel})
        # detections
        n_det = rng.choice([0, 3, 10, 30]) if rng.random() > 0.08 else rng.randint(301, 360)
        pool = present + neg + nel + cat_ids[:3] + [max(cat_ids) + 7]
        img_anns = [a for a in anns if a["image_id"] == im]
        for _ in range(n_det):
            if img_anns and rng.random() < 0.5:
                a = rng.choice(img_anns)
                b = [round(v + rng.gauss(0, 3), 2) for v in a["bbox"][:2]] + [round(max(0, v * (1 + rng.gauss(0, 0.1))), 2) for v in a["bbox"][2:]]
                c = a["category_id"] if rng.random() < 0.85 else rng.choice(pool)
            else:
                b = rand_box(rng, W, H)
                c = rng.choice(pool)
            d = {"image_id": im, "category_id": c, "score": round(rng.random(), rng.choice([1, 2, 8]))}
            if segm:
                d["segmentation"] = mask_utils.merge(mask_utils.frPyObjects(poly(b), H, W))
                d["segmentation"]["counts"] = d["segmentation"]["counts"].decode("ascii")
            if not segm or with_bbox:
                d["bbox"] = b
            dets.append(d)
    gt = {"images": images, "annotations": anns, "categories": cats}
    return gt, dets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="lvis-conf-")
    os.makedirs(tmp, exist_ok=True)
    passed = failed = skipped = 0
    global with_bbox
    for case in range(a.cases):
        rng = random.Random(a.seed * 1_000_003 + case)
        segm = rng.random() < 0.3
        with_bbox = rng.random() < 0.5
        max_dets = 300 if rng.random() < 0.8 else rng.choice([5, 20, 100])
        gt, dets = make_case(rng, segm)
        if not dets or (segm and "bbox" not in dets[0] and any("bbox" in d for d in dets)):
            skipped += 1  # lvis crashes on an empty list
            continue
        gp, dp, npz = (os.path.join(tmp, f"{case}_{n}") for n in ("gt.json", "dt.json", "a.npz"))
        with open(gp, "w") as f:
            json.dump(gt, f)
        with open(dp, "w") as f:
            json.dump(dets, f)
        iou = "segm" if segm else "bbox"
        try:
            ref = lvis_eval(gp, dp, iou, max_dets)
        except Exception as e:  # a crash of the reference: not a comparison
            print(f"case {case}: lvis raised {type(e).__name__}: {e}; skipped")
            skipped += 1
            continue
        cmd = [a.bin, "eval", dp, "--gt", gp, "--iou-type", iou, "--json", "-", "--arrays", npz, "-q", "--max-dets", str(max_dets)]
        o = subprocess.run(cmd, capture_output=True, text=True)
        errs = []
        if o.returncode != 0:
            errs.append(f"exit {o.returncode}: {o.stderr.strip()}")
        else:
            j = json.loads(o.stdout)
            if j.get("protocol") != "lvis":
                errs.append("protocol not detected as lvis")
            if j["stat_names"] != ref["names"]:
                errs.append(f"names {j['stat_names']} != {ref['names']}")
            for i, (x, y) in enumerate(zip(j["stats"], ref["stats"])):
                if x != y:
                    errs.append(f"stat {ref['names'][i]}: {x!r} != {y!r}")
            if j["summary_lines"] != ref["lines"]:
                errs.append("printed lines differ")
            z = np.load(npz)
            for k in ("precision", "recall"):
                if z[k].shape != ref[k].shape or not np.array_equal(z[k], ref[k]):
                    bad = "shape" if z[k].shape != ref[k].shape else int((z[k] != ref[k]).sum())
                    errs.append(f"{k} differs ({bad})")
        if errs:
            failed += 1
            print(f"case {case} ({iou}, maxDets {max_dets}) FAILED: {gp} {dp}")
            for e in errs[:6]:
                print("   ", e)
        else:
            passed += 1
            if not a.keep:
                for p in (gp, dp, npz):
                    os.remove(p)
    print(f"{passed} passed, {failed} failed" + (f" ({skipped} skipped: the reference cannot run them)" if skipped else ""))
    sys.exit(1 if failed else 0)


with_bbox = False

if __name__ == "__main__":
    main()
