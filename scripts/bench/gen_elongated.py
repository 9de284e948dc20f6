#!/usr/bin/env python3
"""Seeded generator of a skewed-shape detection set: text lines and pedestrians.

    python gen_elongated.py OUT_DIR [--images 2000] [--seed 0]

Writes OUT_DIR/gt.json: 640x480 / 480x640 / 1024x768 images with ~8 boxes each: 45 % text lines
(h/w 0.06-0.2, widths 30-400 px), 40 % pedestrians (h/w 2-3.5, heights 20-400 px), 15 %
COCO-like boxes (h/w 0.5-2). The shapes RetinaNet's default anchors (ratios 0.5, 1, 2) miss.
Uses only the standard library.
"""
import argparse
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    images, anns = [], []
    for i in range(a.images):
        W, H = rng.choice([(640, 480), (480, 640), (1024, 768)])
        images.append({"id": i + 1, "width": W, "height": H, "file_name": "%06d.jpg" % (i + 1)})
        for _ in range(max(1, int(rng.expovariate(1 / 8.0)))):
            r = rng.random()
            if r < 0.45:
                w = rng.uniform(30, min(400, W - 2))
                h = w * rng.uniform(0.06, 0.2)
            elif r < 0.85:
                h = rng.uniform(20, min(400, H - 2))
                w = h / rng.uniform(2.0, 3.5)
            else:
                s = rng.uniform(10, min(W, H) * 0.6)
                ar = rng.uniform(0.5, 2.0)
                w, h = s / ar ** 0.5, s * ar ** 0.5
            w, h = min(w, W - 1.0), min(h, H - 1.0)
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1 if r < 0.45 else 2,
                         "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                         "area": round(w * h, 2), "iscrowd": 0})
    cats = [{"id": 1, "name": "text"}, {"id": 2, "name": "person"}]
    with open(os.path.join(a.out, "gt.json"), "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    print("images %d, gt %d" % (len(images), len(anns)))


if __name__ == "__main__":
    main()
