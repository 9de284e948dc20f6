#!/usr/bin/env python3
"""Makes the `focal` demo fixture: fixtures/focal/demo_{logits,targets}.npy.

Targets: RetinaNet assignment (detectron2 convention, IoU ≥ 0.5 fg, < 0.4 bg, low-quality
matches) of two COCO val2014 images (ids 1270 and 761, 480x640, resized to 192x256) from the
shared oracle `oracles/anchors/ref_assign.py` (float64 numpy), written in `assign`'s label format
(0..79 contiguous class of the sorted category ids, -1 background, -2 ignored). `retina-tools
assign` was written in parallel with `focal`; once it lands this script can call it instead.
Logits: synthetic, seeded, shaped like a RetinaNet head part-way through training: N(-4.6, 1.5)
(π = 0.01 prior) everywhere, the target class of foreground anchors raised by N(4 + 4·IoU, 2),
float16 [2, 9216, 80] (2.9 MB).

  python scripts/focal_demo_data.py --shared ../shared
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "focal"))
a = ap.parse_args()
oracles = os.path.join(a.shared, "oracles", "anchors")
coco = os.path.join(a.shared, "data", "coco-val2014-100", "instances_val2014_100.json")
IMAGES, SIZE = (1270, 761), "192x256"
cats = sorted(c["id"] for c in json.load(open(coco))["categories"])
C = len(cats)
rng = np.random.default_rng(2017)
logits, targets = [], []
with tempfile.TemporaryDirectory() as d:
    anchors = os.path.join(d, "a.npy")
    subprocess.run([sys.executable, os.path.join(oracles, "ref_anchors.py"), "--convention", "detectron2",
                    "--image-size", SIZE, "--out", anchors], check=True, stdout=subprocess.DEVNULL)
    for img in IMAGES:
        out = os.path.join(d, "%d.npz" % img)
        subprocess.run([sys.executable, os.path.join(oracles, "ref_assign.py"), "--anchors", anchors, "--coco", coco,
                        "--image-id", str(img), "--image-size", SIZE, "--convention", "detectron2", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        r = np.load(out)
        state, cls, iou = r["state"], r["cls"], r["max_iou"]
        t = np.where(state == 1, cls, np.where(state == 0, -1, -2)).astype(np.int32)
        x = rng.normal(-4.6, 1.5, size=(t.size, C))
        fg = np.where(t >= 0)[0]
        x[fg, t[fg]] += rng.normal(4.0 + 4.0 * iou[fg], 2.0)
        logits.append(x.astype(np.float16))
        targets.append(t)
os.makedirs(a.out, exist_ok=True)
L, T = np.stack(logits), np.stack(targets)
np.save(os.path.join(a.out, "demo_logits.npy"), L)
np.save(os.path.join(a.out, "demo_targets.npy"), T)
print("logits %s %s, targets %s: %d fg, %d ignored" % (L.shape, L.dtype, T.shape, (T >= 0).sum(), (T == -2).sum()))
