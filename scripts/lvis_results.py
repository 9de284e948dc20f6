#!/usr/bin/env python3
"""Seeded synthetic detections for an LVIS-format GT (the fixtures/lvis-val-100 results).

Per image: most GT objects found with a jittered box (some with a wrong class, some twice),
background boxes, categories from the image's neg/not-exhaustive lists and from anywhere,
scores with ties; at most --max-per-image detections. bbox results carry "bbox"; segm results
carry a compressed RLE of the jittered polygon (or box) and no "bbox".

    python scripts/lvis_results.py GT.json --seed 0 --iou-type bbox -o results.json
"""
import argparse
import json
import random

import numpy as np
import pycocotools.mask as mask_utils


def jitter_box(rng, b, amount):
    x, y, w, h = b
    dx, dy = rng.gauss(0, amount) * w, rng.gauss(0, amount) * h
    sw, sh = max(0.1, 1 + rng.gauss(0, amount)), max(0.1, 1 + rng.gauss(0, amount))
    return [round(x + dx, 2), round(y + dy, 2), round(w * sw, 2), round(h * sh, 2)]


def box_poly(b):
    x, y, w, h = b
    return [[x, y, x, y + h, x + w, y + h, x + w, y]]


def rle_of(polys, h, w):
    rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def make(gt, seed, iou_type, max_per_image):
    rng = random.Random(seed)
    cats = [c["id"] for c in gt["categories"]]
    by_img = {}
    for a in gt["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    out = []
    for im in gt["images"]:
        h, w = im["height"], im["width"]
        dets = []

        def add(cat, box, polys, score):
            d = {"image_id": im["id"], "category_id": cat, "score": score}
            if iou_type == "bbox":
                d["bbox"] = box
            else:
                d["segmentation"] = rle_of(polys, h, w)
            dets.append(d)

        for a in by_img.get(im["id"], []):
            for _ in range(1 + (rng.random() < 0.15)):
                if rng.random() < 0.1:
                    continue  # missed
                box = jitter_box(rng, a["bbox"], rng.choice([0.02, 0.05, 0.15, 0.3]))
                cat = a["category_id"] if rng.random() < 0.8 else rng.choice(cats)
                dx, dy = box[0] - a["bbox"][0], box[1] - a["bbox"][1]
                polys = [[v + (dx if i % 2 == 0 else dy) for i, v in enumerate(p)] for p in a["segmentation"]] if isinstance(a.get("segmentation"), list) else box_poly(box)
                add(cat, box, polys, round(rng.random(), rng.choice([1, 2, 6])))
        pool = cats[:50] + im["neg_category_ids"] + im["not_exhaustive_category_ids"] + [a["category_id"] for a in by_img.get(im["id"], [])]
        for _ in range(rng.randint(0, 60)):
            bw, bh = rng.uniform(2, w / 2), rng.uniform(2, h / 2)
            box = [round(rng.uniform(0, w - bw), 2), round(rng.uniform(0, h - bh), 2), round(bw, 2), round(bh, 2)]
            add(rng.choice(pool), box, box_poly(box), round(rng.random() * 0.6, rng.choice([1, 3])))
        rng.shuffle(dets)
        out.extend(dets[:max_per_image])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iou-type", choices=["bbox", "segm"], default="bbox")
    ap.add_argument("--max-per-image", type=int, default=300)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    with open(a.gt) as f:
        gt = json.load(f)
    res = make(gt, a.seed, a.iou_type, a.max_per_image)
    with open(a.out, "w") as f:
        json.dump(res, f)
    print(f"{a.out}: {len(res)} detections")


if __name__ == "__main__":
    main()
