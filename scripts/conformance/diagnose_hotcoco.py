#!/usr/bin/env python3
"""Conformance sweep for `retina-tools diagnose --confusion --calibration --fscores` against
hotcoco 1.3.0's `COCOeval.confusion_matrix`, `.calibration` and `.f_scores`.

Each seeded case is a small COCO-like data set, bbox or segm (polygons and RLE masks; results with and without boxes), with
cross-category confusions, crowd GT, images without GT, detections of categories absent from
the GT, score ties (also across categories), scores on bin edges, 0 and 1, sometimes >100
detections per image, scores outside [0, 1] (calibration must fail, as hotcoco raises), and
empty results lists, and varied parameters (confusion IoU / max_det / min_score, calibration bins and IoU, F beta,
maxDets, image and category subsets, useCats=0, area ranges with and without `all`). hotcoco runs in-process, retina-tools as the binary;
the confusion matrix must be equal cell for cell, every other number within 1e-12.

    diagnose_hotcoco.py --bin target/release/retina-tools --cases 300 [--seed 0] [--keep DIR]

Prints `N passed, M failed` and exits 1 on any mismatch. Ids start at 1 and are unique: GT id 0
and duplicated ids are pycocotools quirks the evaluator keeps and hotcoco does not share.
"""
import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_segm_kp import encode, rand_mask, rand_polygon  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

import hotcoco  # noqa: E402

TOL = 1e-12
W, H = 96, 72  # small images keep segm cases cheap


def score(rng, mode):
    if mode == "ties":
        return rng.choice([0.5, 0.25, 0.75, 1.0, 0.1, 0.3, 0.7])
    if mode == "edges":  # bin edges of 10 / 15 bins as floats land on both sides
        return rng.choice([0.0, 1.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 1 / 15, 2 / 15, 7 / 15, 14 / 15])
    if mode == "3dig":
        return round(rng.random(), 3)
    return rng.random()


def rand_box(rng):
    w, h = rng.uniform(2, W * 0.6), rng.uniform(2, H * 0.6)
    x, y = rng.uniform(-3, W - w / 2), rng.uniform(-3, H - h / 2)
    if rng.random() < 0.3:
        return [float(round(v)) for v in (x, y, w, h)]
    return [round(v, rng.choice([1, 2, 17])) for v in (x, y, w, h)]


def jitter(rng, b, s):
    return [b[0] + rng.gauss(0, s * b[2]), b[1] + rng.gauss(0, s * b[3]),
            max(0.5, b[2] * (1 + rng.gauss(0, s))), max(0.5, b[3] * (1 + rng.gauss(0, s)))]


def make_case(seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    segm = rng.random() < 0.35
    n_img = rng.choice([1, 2, 4, 8, 15])
    n_cat = rng.choice([1, 2, 3, 5])
    img_ids = rng.sample(range(1, 4 * n_img + 5), n_img)
    cat_ids = rng.sample(range(1, 40), n_cat) if rng.random() < 0.5 else list(range(1, n_cat + 1))
    images = [{"id": i, "width": W, "height": H} for i in img_ids]
    crowd_p = rng.choice([0.0, 0.1, 0.25])
    mode = rng.choice(["ties", "edges", "3dig", "rand"])
    many = rng.random() < 0.1
    anns, dets = [], []
    for im in images:
        n_gt = 0 if rng.random() < 0.15 else rng.randint(0, 7)
        gts = []
        for _ in range(n_gt):
            crowd = int(rng.random() < crowd_p)
            cat = rng.choice(cat_ids)
            if segm:
                if rng.random() < 0.5 and not crowd:
                    seg = [rand_polygon(nrng, H, W)]
                    m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, H, W)))
                else:
                    m = rand_mask(nrng, H, W, rng.randint(1, 2))
                    seg = encode(m)
                bb = [float(x) for x in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))]
                a = {"segmentation": seg, "bbox": bb, "area": float(m.sum())}
                gts.append((a, m))
            else:
                b = rand_box(rng)
                a = {"bbox": b, "area": b[2] * b[3] if rng.random() < 0.85 else rng.uniform(0, 5000)}
                gts.append((a, None))
            a.update({"id": len(anns) + 1, "image_id": im["id"], "category_id": cat, "iscrowd": crowd})
            anns.append(a)
        n_det = rng.randint(0, 10) if not many else rng.randint(95, 130)
        for _ in range(n_det):
            cat = rng.choice(cat_ids)
            if gts and rng.random() < 0.75:
                g, m = rng.choice(gts)
                if rng.random() < 0.8:
                    cat = g["category_id"]
                if segm:
                    m = np.roll(m, rng.randint(-3, 3), axis=rng.randint(0, 1))
                    if rng.random() < 0.3:
                        m = np.maximum(m, rand_mask(nrng, H, W, 1))
                    d = {"segmentation": encode(m)}
                else:
                    d = {"bbox": list(g["bbox"]) if rng.random() < 0.1 else jitter(rng, g["bbox"], rng.choice([0.03, 0.1, 0.3]))}
            else:
                d = {"segmentation": encode(rand_mask(nrng, H, W, 1))} if segm else {"bbox": rand_box(rng)}
            if rng.random() < 0.03:
                cat = 1000 + rng.randint(0, 2)  # absent from the GT
            d.update({"image_id": im["id"], "category_id": cat, "score": score(rng, mode)})
            dets.append(d)
    if segm and dets and rng.random() < 0.2:
        # results that also carry boxes: loadRes takes its bbox branch (det area = box area)
        for d in dets:
            b = [float(x) for x in mask_utils.toBbox(d["segmentation"])]
            d["bbox"] = [b[0], b[1], b[2] + rng.uniform(0, 3), b[3]]
    rng.shuffle(dets)
    if dets and rng.random() < 0.04:
        dets[0]["score"] = rng.choice([1.5, -0.25])  # outside [0, 1]: calibration must fail
    if rng.random() < 0.02:
        dets = []  # an empty results list
    args = {
        "confusion_iou": rng.choice([0.5, 0.5, 0.3, 0.75, 0.1]),
        "confusion_max_det": rng.choice([None, None, 1, 3, 10]),
        "confusion_min_score": rng.choice([None, None, 0.25, 0.5, 0.75]),
        "calibration_bins": rng.choice([10, 10, 1, 3, 7, 15, 20]),
        "calibration_iou": rng.choice([0.5, 0.5, 0.75, 0.95, 0.55]),
        "fscore_beta": rng.choice([1.0, 1.0, 2.0, 0.5, 3.0]),
    }
    params = {}
    if rng.random() < 0.15:
        params["max_dets"] = rng.choice([[1, 10, 300], [1, 5, 20], [10, 1, 100]])
    if rng.random() < 0.1 and n_img > 1:
        params["img_ids"] = sorted(rng.sample(img_ids, rng.randint(1, n_img)))
    if rng.random() < 0.1 and n_cat > 1:
        params["cat_ids"] = sorted(rng.sample(cat_ids, rng.randint(1, n_cat)))
    if rng.random() < 0.08:
        params["use_cats"] = 0
    if rng.random() < 0.1:
        params["area_rng"] = rng.choice([
            [["all", 0, 1e10], ["small", 0, 100], ["large", 100, 1e10]],
            [["big", 200, 1e10], ["all", 0, 1e10]],
            [["mid", 50, 2000], ["any", 0, 1e10]],  # no "all": hotcoco falls back to the first
        ])
    gt = {"images": images, "annotations": anns, "categories": [{"id": c, "name": "c%d" % c} for c in cat_ids]}
    return ("segm" if segm else "bbox"), gt, dets, args, params


@contextlib.contextmanager
def quiet_fd2():
    """hotcoco's Rust core warns on file descriptor 2 (e.g. unknown result categories)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def reference(gt_path, dt_path, iou_type, a, params):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), quiet_fd2():
        G = hotcoco.COCO(gt_path)
        E = hotcoco.COCOeval(G, G.loadRes(dt_path), iou_type)
        for k, v in params.items():
            if k == "area_rng":
                E.params.area_rng = [[lo, hi] for _, lo, hi in v]
                E.params.area_rng_lbl = [lbl for lbl, _, _ in v]
            else:
                setattr(E.params, k, v)
        cm = E.confusion_matrix(a["confusion_iou"], a["confusion_max_det"], a["confusion_min_score"])
        E.evaluate()
        E.accumulate()
        E.summarize()
        try:
            cal = E.calibration(a["calibration_bins"], a["calibration_iou"])
        except ValueError as e:
            cal = e
        fs = E.f_scores(a["fscore_beta"])
    names = {c["name"]: c["id"] for c in G.dataset["categories"]}
    prefix = [k for k in fs if "_" not in k][0]
    return cm, cal, {"F": fs[prefix], "F_50": fs[prefix + "_50"], "F_75": fs[prefix + "_75"]}, names


def ours(binary, gt_path, dt_path, iou_type, a, params):
    cmd = [binary, "diagnose", dt_path, "--gt", gt_path, "--confusion", "--calibration", "--fscores", "--json", "-", "-q",
           "--iou-type", iou_type, "--confusion-iou", repr(a["confusion_iou"]),
           "--calibration-bins", str(a["calibration_bins"]), "--calibration-iou", repr(a["calibration_iou"]),
           "--fscore-beta", repr(a["fscore_beta"])]
    if a["confusion_max_det"] is not None:
        cmd += ["--confusion-max-det", str(a["confusion_max_det"])]
    if a["confusion_min_score"] is not None:
        cmd += ["--confusion-min-score", repr(a["confusion_min_score"])]
    for k, flag in (("max_dets", "--max-dets"), ("img_ids", "--img-ids"), ("cat_ids", "--cat-ids")):
        if k in params:
            cmd += [flag, ",".join(map(str, params[k]))]
    if params.get("use_cats") == 0:
        cmd += ["--no-cats"]
    if "area_rng" in params:
        cmd += ["--area-rng"] + ["%s:%r,%r" % tuple(x) for x in params["area_rng"]]
    return subprocess.run(cmd, capture_output=True, text=True)


def compare(ref, out, worst):
    """Differences between hotcoco's numbers and our JSON (empty list: equal)."""
    cm, cal, fs, names = ref
    bad = []

    def num(what, got, want):
        d = abs(got - want)
        worst[0] = max(worst[0], d)
        if not d <= TOL:
            bad.append("%s: ours %r, hotcoco %r" % (what, got, want))

    c = out["confusion"]
    if c["cat_ids"] != list(cm["cat_ids"]):
        bad.append("confusion cat_ids %r vs %r" % (c["cat_ids"], list(cm["cat_ids"])))
    if c["matrix"] != cm["matrix"].tolist():
        bad.append("confusion matrix differs:\n ours %r\n hotcoco %r" % (c["matrix"], cm["matrix"].tolist()))
    else:
        for i, row in enumerate(cm["normalized"].tolist()):
            for j, v in enumerate(row):
                num("normalized[%d][%d]" % (i, j), c["normalized"][i][j], v)
    k = out["calibration"]
    num("ece", k["ece"], cal["ece"])
    num("mce", k["mce"], cal["mce"])
    if len(k["bins"]) != len(cal["bins"]):
        bad.append("bin count %d vs %d" % (len(k["bins"]), len(cal["bins"])))
    for i, (b, w) in enumerate(zip(k["bins"], cal["bins"])):
        if b["count"] != w["count"]:
            bad.append("bins[%d].count %d vs %d" % (i, b["count"], w["count"]))
        for ours_key, ref_key in (("lower", "bin_lower"), ("upper", "bin_upper"), ("avg_confidence", "avg_confidence"), ("avg_accuracy", "avg_accuracy")):
            num("bins[%d].%s" % (i, ours_key), b[ours_key], w[ref_key])
    # With useCats=0 hotcoco names its one pseudo-category `cat_<u64::MAX>`; ours is -1 (the
    # category id pycocotools gives it).
    def cat_key(n):
        return str(names[n]) if n in names else ("-1" if n == "cat_%d" % (2**64 - 1) else n)
    want_pc = {cat_key(n): v for n, v in cal["per_category"].items()}
    if set(k["per_category"]) != set(want_pc):
        bad.append("per_category keys %r vs %r" % (sorted(k["per_category"]), sorted(want_pc)))
    else:
        for cid, v in want_pc.items():
            num("per_category[%s]" % cid, k["per_category"][cid], v)
    f = out["fscores"]
    for key in ("F", "F_50", "F_75"):
        num(key, f[key], fs[key])
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="keep the failing cases' files in this directory")
    o = ap.parse_args()
    passed, failed, worst = 0, 0, [0.0]
    kinds = {"bbox": 0, "segm": 0, "cal_error": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(o.cases):
            seed = o.seed * 1_000_003 + i
            iou_type, gt, dets, a, params = make_case(seed)
            kinds[iou_type] += 1
            d = o.keep if o.keep else tmp
            os.makedirs(d, exist_ok=True)
            gt_path, dt_path = os.path.join(d, "gt_%d.json" % seed), os.path.join(d, "dt_%d.json" % seed)
            with open(gt_path, "w") as fh:
                json.dump(gt, fh)
            with open(dt_path, "w") as fh:
                json.dump(dets, fh)
            ref = reference(gt_path, dt_path, iou_type, a, params)
            r = ours(o.bin, gt_path, dt_path, iou_type, a, params)
            if isinstance(ref[1], ValueError):
                kinds["cal_error"] += 1
                ok = r.returncode == 2 and "calibration" in r.stderr and "[0, 1]" in r.stderr
                bad = [] if ok else ["hotcoco's calibration raised (%s); ours: exit %d, %s" % (ref[1], r.returncode, r.stderr.strip()[-300:])]
            elif r.returncode != 0:
                bad = ["ours failed: exit %d: %s" % (r.returncode, r.stderr.strip()[-500:])]
            else:
                bad = compare(ref, json.loads(r.stdout), worst)
            if bad:
                failed += 1
                print("case %d (%s, %s, params %s): %s" % (seed, iou_type, a, params, "; ".join(bad[:5])))
            else:
                passed += 1
                if o.keep:
                    os.remove(gt_path)
                    os.remove(dt_path)
    print("cases: %d bbox, %d segm, %d where hotcoco's calibration raises; worst |d| %.3g" % (kinds["bbox"], kinds["segm"], kinds["cal_error"], worst[0]))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
