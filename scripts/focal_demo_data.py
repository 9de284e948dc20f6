#!/usr/bin/env python3
"""Makes the `focal` demo fixture: fixtures/focal/demo_{logits,targets}.npy.

Targets: `retina-tools assign` itself (detectron2 convention: IoU >= 0.5 foreground, < 0.4
background, low-quality matches) on two images of the bundled COCO fixture (val2014 ids 761 and
1270, 480x640, resized to 192x256), i.e. the `labels` arrays of `assign --out-dir`, stacked in
the order `focal --targets DIR` stacks them (numeric image id). Logits: synthetic, seeded, shaped
like a RetinaNet head part-way through training: N(-4.6, 1.5) (pi = 0.01 prior) everywhere, the
target class of foreground anchors raised by N(6, 2), float16 [2, A, 80].

  python scripts/focal_demo_data.py            # needs numpy and a release build
"""
import argparse, glob, os, subprocess, tempfile
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "retina-tools"))
ap.add_argument("--out", default=os.path.join(ROOT, "fixtures", "focal"))
a = ap.parse_args()
coco = os.path.join(ROOT, "fixtures", "coco-val2014-100", "instances_val2014_100.json")
C = 80
rng = np.random.default_rng(2017)
with tempfile.TemporaryDirectory() as d:
    subprocess.run([a.bin, "assign", "--gt", coco, "--convention", "detectron2", "--image-ids", "761,1270",
                    "--resize", "192,256", "--out-dir", d, "-q"], check=True, stdout=subprocess.DEVNULL)
    files = sorted(glob.glob(os.path.join(d, "*.npz")), key=lambda p: int(os.path.basename(p)[:-4]))
    targets = [np.load(f)["labels"] for f in files]
logits = []
for t in targets:
    x = rng.normal(-4.6, 1.5, size=(t.size, C))
    fg = np.where(t >= 0)[0]
    x[fg, t[fg]] += rng.normal(6.0, 2.0, size=fg.size)
    logits.append(x.astype(np.float16))
os.makedirs(a.out, exist_ok=True)
L, T = np.stack(logits), np.stack(targets)
np.save(os.path.join(a.out, "demo_logits.npy"), L)
np.save(os.path.join(a.out, "demo_targets.npy"), T)
print("logits %s %s, targets %s %s: %d fg, %d ignored" % (L.shape, L.dtype, T.shape, T.dtype, (T >= 0).sum(), (T == -2).sum()))
