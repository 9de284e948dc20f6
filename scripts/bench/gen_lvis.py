#!/usr/bin/env python3
"""Generate an LVIS-scale synthetic set for bench-lvis.sh: IMAGES images, 1,203 categories
(LVIS v1's 337 rare / 461 common / 405 frequent), ~12 GT boxes per image, per-image
neg_category_ids / not_exhaustive_category_ids, and exactly 300 detections per image
(jittered GT, wrong classes, background). Seeded.

    python gen_lvis.py OUT_DIR [--images 5000] [--seed 0]
"""
import argparse
import json
import os
import random

N_CAT = 1203


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    freq = ["r"] * 337 + ["c"] * 461 + ["f"] * 405
    rng.shuffle(freq)
    cats = [{"id": i + 1, "name": f"cat{i + 1}", "frequency": freq[i]} for i in range(N_CAT)]
    # Frequent categories appear on many images, rare ones on few.
    weight = {"r": 0.05, "c": 0.5, "f": 5.0}
    cat_w = [weight[c["frequency"]] for c in cats]
    images, anns, dets = [], [], []
    aid = 1
    for i in range(a.images):
        iid = i + 1
        W, H = rng.choice([(640, 480), (480, 640), (640, 427), (500, 375)])
        present = set(rng.choices(range(1, N_CAT + 1), cat_w, k=rng.randint(1, 6)))
        img_anns = []
        for c in present:
            for _ in range(rng.choice([1, 1, 2, 3, 5])):
                w, h = rng.uniform(4, W * 0.6), rng.uniform(4, H * 0.6)
                x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
                b = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
                ann = {"id": aid, "image_id": iid, "category_id": c, "bbox": b, "area": round(w * h * rng.uniform(0.5, 0.9), 2)}
                anns.append(ann)
                img_anns.append(ann)
                aid += 1
        neg = rng.sample([c for c in range(1, N_CAT + 1) if c not in present], rng.randint(2, 15))
        nel = rng.sample(sorted(present), rng.randint(0, min(1, len(present))))
        images.append({"id": iid, "width": W, "height": H, "neg_category_ids": neg, "not_exhaustive_category_ids": nel})
        pool = sorted(present) + neg
        for _ in range(a.dets):
            r = rng.random()
            if r < 0.3 and img_anns:
                g = rng.choice(img_anns)
                x, y, w, h = g["bbox"]
                j = rng.choice([0.03, 0.1, 0.25])
                b = [round(x + rng.gauss(0, j) * w, 2), round(y + rng.gauss(0, j) * h, 2), round(w * max(0.2, 1 + rng.gauss(0, j)), 2), round(h * max(0.2, 1 + rng.gauss(0, j)), 2)]
                c = g["category_id"] if rng.random() < 0.7 else rng.choice(pool)
            else:
                w, h = rng.uniform(4, W * 0.5), rng.uniform(4, H * 0.5)
                b = [round(rng.uniform(0, W - w), 2), round(rng.uniform(0, H - h), 2), round(w, 2), round(h, 2)]
                c = rng.choice(pool) if r < 0.6 else rng.randint(1, N_CAT)
            dets.append({"image_id": iid, "category_id": c, "bbox": b, "score": round(rng.random(), 4)})
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "gt.json"), "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    with open(os.path.join(a.out, "dt.json"), "w") as f:
        json.dump(dets, f)
    print(f"{a.out}: {len(images)} images, {len(anns)} GT, {len(dets)} detections")


if __name__ == "__main__":
    main()
