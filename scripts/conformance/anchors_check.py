#!/usr/bin/env python3
"""Conformance sweep for `anchors` and `assign` against the shared numpy oracles
(ref_anchors.py, ref_assign.py): random image sizes for every convention and layout
(array-equal, same order), then `assign --no-resize` labels and matched ids on COCO images.
Exit 1 on any difference. Usage: anchors_check.py BIN ORACLE_DIR GT_JSON [N_SIZES] [N_IMAGES]
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

BIN, ORACLES, GT = sys.argv[1], sys.argv[2], sys.argv[3]
N_SIZES = int(sys.argv[4]) if len(sys.argv) > 4 else 12
N_IMAGES = int(sys.argv[5]) if len(sys.argv) > 5 else 12
sys.path.insert(0, ORACLES)
import ref_anchors as RA  # noqa: E402
import ref_assign as RS  # noqa: E402

CONVS = ("detectron2", "torchvision", "mmdet", "detectron")
rnd = random.Random(5)
bad = 0
tmp = tempfile.mkdtemp()
sizes = [(800, 1333), (1333, 800), (1, 1), (31, 33)] + [(rnd.randint(16, 1400), rnd.randint(16, 1400)) for _ in range(N_SIZES)]
for conv in CONVS:
    for (h, w) in sizes:
        for layout in ("native", "hwa"):
            out = os.path.join(tmp, "a.npy")
            subprocess.run([BIN, "anchors", "-q", "--image-size", "%dx%d" % (h, w), "--convention", conv,
                            "--layout", layout, "--out", out], check=True, stdout=subprocess.DEVNULL)
            ours = np.load(out)
            ref, _ = RA.make_anchors(conv, h, w, layout=layout)
            if ours.dtype != np.float32 or ours.shape != ref.shape or not np.array_equal(ours, ref):
                bad += 1
                print("anchors DIFF", conv, h, w, layout, ours.shape, ref.shape)
print("anchors: %d conventions x %d sizes x 2 layouts checked" % (len(CONVS), len(sizes)))

js = json.load(open(GT))
ids = sorted(im["id"] for im in js["images"])
pick = sorted(rnd.sample(ids, min(N_IMAGES, len(ids))))
hw = {im["id"]: (im["height"], im["width"]) for im in js["images"]}
n = 0
for conv in CONVS:
    od = os.path.join(tmp, conv)
    subprocess.run([BIN, "assign", "-q", "--gt", GT, "--no-resize", "--convention", conv, "--image-ids",
                    ",".join(map(str, pick)), "--out-dir", od], check=True, stdout=subprocess.DEVNULL)
    for iid in pick:
        h, w = hw[iid]
        an, _ = RA.make_anchors(conv, h, w)
        gt, labels, _raw, dropped = RS.load_coco(GT, iid, conv)
        dropped_ids = {d[0] for d in dropped}
        kept = np.asarray([a["id"] for a in js["annotations"] if a["image_id"] == iid and a["id"] not in dropped_ids], np.int64)
        res = RS.assign(conv, an.astype(np.float64), gt, labels, True, np.float32)
        st, gi = res["state"], res["gt"]
        want_l = np.where(st == 1, labels[np.maximum(gi, 0)] if len(labels) else -1, np.where(st == 0, -1, -2))
        want_m = np.where(st == 1, kept[np.maximum(gi, 0)] if len(kept) else -1, -1)
        got = np.load(os.path.join(od, "%d.npz" % iid))
        if not (np.array_equal(got["labels"], want_l) and np.array_equal(got["matched"], want_m)):
            bad += 1
            print("assign DIFF", conv, iid, int((got["labels"] != want_l).sum()))
        n += 1
print("assign: %d (convention, image) pairs checked" % n)
sys.exit(1 if bad else 0)
