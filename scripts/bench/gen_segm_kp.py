#!/usr/bin/env python3
"""Seeded generators of the segm and keypoints benchmark sets (needs numpy + pycocotools).

    python gen_segm_kp.py segm OUT_DIR [--images 1000] [--seed 0]
    python gen_segm_kp.py keypoints OUT_DIR [--images 5000] [--seed 0]

segm: COCO-like GT (~7.4 objects per image, polygon segmentations with 1-2 rings, ~1 % crowd
regions as uncompressed RLE, 80 categories) and ~94 detections per image as compressed RLE
(jittered copies of GT masks, duplicates and false positives), 3-decimal scores — about 94k
RLE detections for 1,000 images.
keypoints: person GT (~2.9 per image, 17 keypoints with COCO-like visibility, some with
num_keypoints == 0, ~1 % crowd) and ~29 detections per image (noisy copies + false positives,
keypoints only, as keypoint detectors write them) — about 145k detections for 5,000 images.
"""
import argparse
import json
import os
import random

import numpy as np
from pycocotools import mask as mask_utils

COCO_CAT_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31,
                32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
                59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89,
                90]
SIZES = [(640, 480), (640, 427), (480, 640), (500, 375), (640, 640)]


def polygon(rng, cx, cy, r, k):
    pts = []
    for j in range(k):
        a = 2 * np.pi * j / k + rng.uniform(-0.2, 0.2)
        rr = r * rng.uniform(0.6, 1.0)
        pts += [round(cx + rr * np.cos(a), 2), round(cy + rr * np.sin(a), 2)]
    return pts


def gen_segm(args, rng):
    weights = [30.0] + [rng.uniform(0.3, 3.0) for _ in COCO_CAT_IDS[1:]]
    images, anns, dets = [], [], []
    aid = 1
    for i in range(args.images):
        W, H = rng.choice(SIZES)
        img_id = 200000 + i * 5 + rng.randint(0, 4)
        images.append({"id": img_id, "width": W, "height": H})
        objs = []
        for _ in range(max(0, int(rng.expovariate(1 / 7.4)))):
            cat = rng.choices(COCO_CAT_IDS, weights)[0]
            r = min(W, H) * rng.choice([rng.uniform(0.02, 0.08), rng.uniform(0.08, 0.2), rng.uniform(0.2, 0.45)])
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            crowd = rng.random() < 0.01
            if crowd:
                rle = mask_utils.frPyObjects([polygon(rng, cx, cy, r, 12)], H, W)[0]
                m = mask_utils.decode(rle).flatten(order="F")
                idx = np.flatnonzero(np.diff(np.concatenate([[0], m, [0]])))
                bounds = np.concatenate([[0], idx, [H * W]])
                counts = np.diff(bounds).tolist()
                seg = {"size": [H, W], "counts": counts}
            else:
                seg = [polygon(rng, cx, cy, r, rng.randint(5, 16))]
                if rng.random() < 0.15:
                    seg.append(polygon(rng, cx + r, cy, r / 3, 6))
                rle = mask_utils.merge(mask_utils.frPyObjects(seg, H, W))
            area = float(mask_utils.area(rle))
            bb = [float(x) for x in mask_utils.toBbox(rle)]
            anns.append({"id": aid, "image_id": img_id, "category_id": cat, "segmentation": seg, "area": area, "bbox": bb, "iscrowd": int(crowd)})
            objs.append((cat, cx, cy, r))
            aid += 1
        n_det = int(rng.gauss(args.dets_per_image, 10))
        for _ in range(max(0, n_det)):
            if objs and rng.random() < 0.6:
                cat, cx, cy, r = rng.choice(objs)
                cx, cy, r = cx + rng.gauss(0, r * 0.15), cy + rng.gauss(0, r * 0.15), r * rng.uniform(0.8, 1.2)
                if rng.random() < 0.1:
                    cat = rng.choices(COCO_CAT_IDS, weights)[0]
            else:
                cat = rng.choices(COCO_CAT_IDS, weights)[0]
                r = min(W, H) * rng.uniform(0.02, 0.3)
                cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            rle = mask_utils.frPyObjects([polygon(rng, cx, cy, r, 10)], H, W)[0]
            dets.append({"image_id": img_id, "category_id": cat, "segmentation": {"size": [H, W], "counts": rle["counts"].decode("ascii")},
                         "score": round(rng.random(), 3)})
    return {"images": images, "annotations": anns, "categories": [{"id": c, "name": f"c{c}"} for c in COCO_CAT_IDS]}, dets


def gen_kp(args, rng):
    images, anns, dets = [], [], []
    aid = 1
    for i in range(args.images):
        W, H = rng.choice(SIZES)
        img_id = 300000 + i * 3 + rng.randint(0, 2)
        images.append({"id": img_id, "width": W, "height": H})
        people = []
        for _ in range(max(0, int(rng.expovariate(1 / 2.9)))):
            bw, bh = rng.uniform(10, W / 2), rng.uniform(20, H * 0.9)
            x, y = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
            kps, nv = [], 0
            none = rng.random() < 0.12
            for _ in range(17):
                v = 0 if none or rng.random() < 0.35 else rng.choice([1, 2, 2])
                if v:
                    kps += [round(rng.uniform(x, x + bw), 2), round(rng.uniform(y, y + bh), 2), v]
                    nv += 1
                else:
                    kps += [0, 0, 0]
            anns.append({"id": aid, "image_id": img_id, "category_id": 1, "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)],
                         "area": round(bw * bh * rng.uniform(0.4, 0.8), 2), "iscrowd": int(rng.random() < 0.01), "keypoints": kps, "num_keypoints": nv})
            people.append((x, y, bw, bh, kps))
            aid += 1
        for _ in range(max(0, int(rng.gauss(args.dets_per_image, 5)))):
            if people and rng.random() < 0.7:
                x, y, bw, bh, g = rng.choice(people)
                s = rng.uniform(1, 0.1 * max(bw, bh))
                kps = []
                for j in range(17):
                    gx, gy = (g[3 * j], g[3 * j + 1]) if g[3 * j + 2] else (rng.uniform(x, x + bw), rng.uniform(y, y + bh))
                    kps += [gx + rng.gauss(0, s), gy + rng.gauss(0, s), rng.random()]
            else:
                kps = []
                for _ in range(17):
                    kps += [rng.uniform(0, W), rng.uniform(0, H), rng.random()]
            if args.decimals is not None:
                kps = [round(v, args.decimals) for v in kps]
            dets.append({"image_id": img_id, "category_id": 1, "keypoints": kps, "score": round(rng.random(), 3)})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, dets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["segm", "keypoints"])
    ap.add_argument("out")
    ap.add_argument("--images", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dets-per-image", type=float)
    ap.add_argument("--decimals", type=int, help="keypoints: round coordinates and confidences (as detectors that "
                    "write short numbers do); default: full float precision")
    args = ap.parse_args()
    if args.kind == "segm":
        args.images = args.images or 1000
        args.dets_per_image = args.dets_per_image or 94.0
    else:
        args.images = args.images or 5000
        args.dets_per_image = args.dets_per_image or 29.0
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    gt, dets = (gen_segm if args.kind == "segm" else gen_kp)(args, rng)
    with open(os.path.join(args.out, "gt.json"), "w") as f:
        json.dump(gt, f)
    with open(os.path.join(args.out, "dt.json"), "w") as f:
        json.dump(dets, f)
    print(f"{args.kind}: {len(gt['images'])} images, {len(gt['annotations'])} GT, {len(dets)} detections -> {args.out}")


if __name__ == "__main__":
    main()
