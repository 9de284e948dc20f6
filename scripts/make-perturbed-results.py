#!/usr/bin/env python3
"""Make fixtures/coco-val2014-100/fakebbox100_perturbed.json: a second "model" for the
`compare` demo and tests, from pycocotools' fake bbox results of the same 100 images.

Each detection's box is jittered (Gaussian, 1.5% of its size), its score multiplied by a
log-normal factor (clipped to [0, 1]), and 3% of the detections are dropped; seeded, so the
file is reproducible:  python3 scripts/make-perturbed-results.py
"""
import json
import random
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
src = root / "fixtures/coco-val2014-100/fakebbox100_results.json"
dst = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "fixtures/coco-val2014-100/fakebbox100_perturbed.json"
rng = random.Random(13)
out = []
for d in json.loads(src.read_text()):
    if rng.random() < 0.03:
        continue
    x, y, w, h = d["bbox"]
    j = lambda s: rng.gauss(0.0, 0.015 * s)
    w2, h2 = max(1.0, w + j(w)), max(1.0, h + j(h))
    box = [round(x + j(w), 2), round(y + j(h), 2), round(w2, 2), round(h2, 2)]
    score = min(1.0, max(0.0, d["score"] * rng.lognormvariate(0.0, 0.1)))
    out.append({"image_id": d["image_id"], "category_id": d["category_id"], "bbox": box, "score": round(score, 6)})
dst.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print(f"{dst}: {len(out)} detections")
