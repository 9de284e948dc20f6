#!/usr/bin/env python3
"""Second model for the compare benchmark: DIR/dt_b.json, a perturbed copy of DIR/dt.json
(boxes jittered by 2% of their size, scores times a log-normal factor, 3% dropped; seeded).

    python3 scripts/bench/gen_compare_b.py bench-data/val5000"""
import json
import random
import sys
from pathlib import Path

d = Path(sys.argv[1])
rng = random.Random(5)
out = []
for x in json.loads((d / "dt.json").read_text()):
    if rng.random() < 0.03:
        continue
    bx, by, w, h = x["bbox"]
    j = lambda s: rng.gauss(0.0, 0.02 * s)
    out.append({"image_id": x["image_id"], "category_id": x["category_id"],
                "bbox": [round(bx + j(w), 2), round(by + j(h), 2), round(max(1.0, w + j(w)), 2), round(max(1.0, h + j(h)), 2)],
                "score": round(min(1.0, x["score"] * rng.lognormvariate(0.0, 0.1)), 5)})
(d / "dt_b.json").write_text(json.dumps(out, separators=(",", ":")))
print(f"{d / 'dt_b.json'}: {len(out)} detections")
