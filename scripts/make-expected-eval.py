#!/usr/bin/env python3
"""Regenerate fixtures/expected/eval/*.json with pycocotools 2.0.11 (the reference).

    .venv/bin/python scripts/make-expected-eval.py

For each case: the 12 stats (exact doubles), the printed summary lines, per-category AP/AR
computed from pycocotools' own arrays the way `--per-class` defines them, and a SHA-256 of each
of the precision / recall / scores arrays (float64, little-endian, C order) so that tests can
check every element bit-for-bit without storing megabytes of arrays.
"""
import contextlib
import hashlib
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FX = os.path.join(ROOT, "fixtures")

CASES = {
    "val2014_100_bbox": ("coco-val2014-100/instances_val2014_100.json", "coco-val2014-100/fakebbox100_results.json", {}),
    "val2014_100_bbox_nocats": ("coco-val2014-100/instances_val2014_100.json", "coco-val2014-100/fakebbox100_results.json", {"useCats": 0}),
    "val2014_100_bbox_maxdets_1_10_300": ("coco-val2014-100/instances_val2014_100.json", "coco-val2014-100/fakebbox100_results.json", {"maxDets": [1, 10, 300]}),
    "val2014_100_bbox_custom_areas": ("coco-val2014-100/instances_val2014_100.json", "coco-val2014-100/fakebbox100_results.json",
                                      {"areaRng": [["all", 0, 1e10], ["small", 0, 400], ["medium", 400, 4000], ["large", 4000, 1e10]]}),
    "val2014_100_bbox_subset": ("coco-val2014-100/instances_val2014_100.json", "coco-val2014-100/fakebbox100_results.json",
                                {"imgIds": "first50", "catIds": [1, 3, 18, 62]}),
    "small_bbox": ("small/gt.json", "small/dt.json", {}),
}


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a, dtype="<f8")).tobytes()).hexdigest()


def run(gt_path, dt_path, opts):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        E = COCOeval(gt, dt, "bbox")
        p = E.params
        if opts.get("imgIds") == "first50":
            p.imgIds = sorted(gt.getImgIds())[:50]
        if "catIds" in opts:
            p.catIds = opts["catIds"]
        if "useCats" in opts:
            p.useCats = opts["useCats"]
        if "maxDets" in opts:
            p.maxDets = opts["maxDets"]
        if "areaRng" in opts:
            p.areaRngLbl = [a[0] for a in opts["areaRng"]]
            p.areaRng = [[a[1], a[2]] for a in opts["areaRng"]]
        E.evaluate()
        E.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        E.summarize()
    lines = [l for l in out.getvalue().splitlines() if "Average" in l]
    prec, rec = E.eval["precision"], E.eval["recall"]
    p = E.params
    mdi = len(p.maxDets) - 1
    m100 = [i for i, m in enumerate(p.maxDets) if m == 100]

    def mean(s):
        s = s[s > -1]
        return -1.0 if s.size == 0 else float(np.mean(s))

    def area(lbl):
        return [i for i, l in enumerate(p.areaRngLbl) if l == lbl]

    per_class = []
    cat_ids = E._paramsEval.catIds if p.useCats else [-1]
    t50 = np.where(p.iouThrs == 0.5)[0]
    t75 = np.where(p.iouThrs == 0.75)[0]
    for k, cid in enumerate(cat_ids):
        a_all = area("all")
        row = {"category_id": int(cid),
               "ap": mean(prec[:, :, k, a_all, m100]) if m100 else -1.0,
               "ap50": mean(prec[t50][:, :, k, a_all, mdi]),
               "ap75": mean(prec[t75][:, :, k, a_all, mdi]),
               "ap_small": mean(prec[:, :, k, area("small"), mdi]),
               "ap_medium": mean(prec[:, :, k, area("medium"), mdi]),
               "ap_large": mean(prec[:, :, k, area("large"), mdi]),
               "ar100": mean(rec[:, k, a_all, mdi])}
        per_class.append(row)
    return {"img_ids": [int(i) for i in p.imgIds] if opts.get("imgIds") else None,
            "stats": [float(x) for x in E.stats], "summary_lines": lines, "per_class": per_class,
            "sha256": {"precision": sha(prec), "recall": sha(rec), "scores": sha(E.eval["scores"])},
            "shape": {"precision": list(prec.shape), "recall": list(rec.shape)}}


def main():
    out_dir = os.path.join(FX, "expected", "eval")
    os.makedirs(out_dir, exist_ok=True)
    for name, (gt, dt, opts) in CASES.items():
        res = run(os.path.join(FX, gt), os.path.join(FX, dt), opts)
        res["case"] = {"gt": gt, "dt": dt, "options": opts, "engine": "pycocotools 2.0.11"}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(res, f, indent=1)
        print(name, res["stats"][:3])


if __name__ == "__main__":
    main()
