#!/usr/bin/env python3
"""Seeded generator of a COCO val2017-scale bbox evaluation set.

    python gen_bbox.py OUT_DIR [--images 5000] [--seed 0] [--dets-per-image 94] [--categories 80]

Writes OUT_DIR/gt.json and OUT_DIR/dt.json shaped like COCO val2017 with a detector's output:
~7.4 GT per image (about 1 % of images without GT, ~1 % crowd), an area mix of roughly
40/35/25 % small/medium/large, 80 categories with COCO's non-contiguous ids, and ~94
detections per image (true positives with jitter, false positives, duplicates) with
3-decimal scores — about 470k detections for 5,000 images. --dets-per-image sets the density
(10 gives a sparse set); --categories N other than 80 uses ids 1..N (365: Objects365's count)
with the same skewed frequencies. Uses only the standard library.
"""
import argparse
import json
import os
import random

COCO_CAT_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31,
                32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
                59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89,
                90]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dets-per-image", type=float, default=94.0)
    ap.add_argument("--categories", type=int, default=80)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    cat_ids = COCO_CAT_IDS if args.categories == 80 else list(range(1, args.categories + 1))
    # Skewed category frequencies, like COCO (person dominates).
    weights = [30.0] + [rng.uniform(0.3, 3.0) for _ in cat_ids[1:]]
    images, anns, dets = [], [], []
    ann_id = 1
    for i in range(args.images):
        img_id = 100000 + i * 7 + rng.randint(0, 6)
        W, H = rng.choice([(640, 480), (640, 427), (480, 640), (500, 375), (640, 640)])
        images.append({"id": img_id, "width": W, "height": H, "file_name": "%012d.jpg" % img_id})
        n_gt = 0 if rng.random() < 0.0115 else max(1, int(rng.expovariate(1 / 7.5)))
        gts = []
        for _ in range(n_gt):
            r = rng.random()
            if r < 0.40:
                side = rng.uniform(4, 32)
            elif r < 0.75:
                side = rng.uniform(32, 96)
            else:
                side = rng.uniform(96, min(W, H))
            ar = rng.uniform(0.5, 2.0)
            w = min(W - 1.0, side * ar ** 0.5)
            h = min(H - 1.0, side / ar ** 0.5)
            x = rng.uniform(0, W - w)
            y = rng.uniform(0, H - h)
            box = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
            cat = rng.choices(cat_ids, weights)[0]
            crowd = 1 if rng.random() < 0.0098 else 0
            area = round(w * h * rng.uniform(0.55, 0.95), 2)
            a = {"id": ann_id, "image_id": img_id, "category_id": cat, "bbox": box, "area": area, "iscrowd": crowd,
                 "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]] if not crowd else
                 {"counts": [0, 10], "size": [H, W]}}
            ann_id += 1
            anns.append(a)
            gts.append(a)
        n_det = max(0, int(rng.gauss(args.dets_per_image, 8)))
        for _ in range(n_det):
            if gts and rng.random() < 0.35:
                g = rng.choice(gts)
                x, y, w, h = g["bbox"]
                s = rng.choice([0.03, 0.08, 0.2])
                box = [x + rng.gauss(0, s * w), y + rng.gauss(0, s * h), max(0.5, w * (1 + rng.gauss(0, s))),
                       max(0.5, h * (1 + rng.gauss(0, s)))]
                cat = g["category_id"] if rng.random() < 0.9 else rng.choices(cat_ids, weights)[0]
                score = rng.uniform(0.2, 1.0)
            else:
                side = rng.uniform(4, min(W, H) * 0.8)
                box = [rng.uniform(0, W - side), rng.uniform(0, H - side), side * rng.uniform(0.6, 1.4), side]
                cat = rng.choices(cat_ids, weights)[0]
                score = rng.uniform(0.0, 0.7)
            dets.append({"image_id": img_id, "category_id": cat, "bbox": [round(v, 2) for v in box],
                         "score": round(score, 3)})
    cats = [{"id": c, "name": "class_%d" % c, "supercategory": "thing"} for c in cat_ids]
    with open(os.path.join(args.out, "gt.json"), "w") as f:
        json.dump({"info": {"description": "synthetic val2017-scale set, seed %d" % args.seed}, "licenses": [],
                   "images": images, "annotations": anns, "categories": cats}, f)
    with open(os.path.join(args.out, "dt.json"), "w") as f:
        json.dump(dets, f)
    print("images %d, gt %d (crowd %d), dets %d" % (len(images), len(anns), sum(a["iscrowd"] for a in anns),
                                                     len(dets)))


if __name__ == "__main__":
    main()
