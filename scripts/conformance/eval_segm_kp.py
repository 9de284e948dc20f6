#!/usr/bin/env python3
"""Conformance sweep for `retina-tools eval --iou-type segm|keypoints` against pycocotools 2.0.11.

Generates seeded COCO-like cases (segm: polygons incl. multi-ring, clipped and degenerate ones,
uncompressed RLE, compressed RLE, crowd RLE, id-0 GT, score ties, results with and without
`bbox`; keypoints: visible/invisible/no-visible GT, num_keypoints==0, crowd, dets with and
without `bbox`, custom sigmas, useCats=0), runs pycocotools in-process and the retina-tools
binary on each, and compares every stat and every element of precision/recall/scores with
f64 `==`. Also runs the real data sets when present. Exit 1 on any difference in segm; for
keypoints a difference is reported with its max abs value (numpy's SIMD exp vs libm exp, see
docs/segm-keypoints.md) and fails only above 1e-15.

  eval_segm_kp.py --bin target/release/retina-tools --cases 150 [--seed 0] [--only segm|keypoints]
"""
import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

KP_TOL = 1e-15
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rand_mask(rng, h, w, n_shapes):
    m = np.zeros((h, w), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(n_shapes):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(1, w / 2), rng.uniform(1, h / 2)
        if rng.random() < 0.5:
            m[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1] = 1
        else:
            m[int(max(cy - ry, 0)):int(cy + ry), int(max(cx - rx, 0)):int(cx + rx)] = 1
    return m


def encode(m):
    r = mask_utils.encode(np.asfortranarray(m))
    return {"size": [int(x) for x in r["size"]], "counts": r["counts"].decode("ascii")}


def uncompressed(m):
    flat = np.asarray(m, dtype=np.uint8).flatten(order="F")
    counts, prev, c = [], 0, 0
    for v in flat:
        if v != prev:
            counts.append(c)
            c, prev = 0, v
        c += 1
    counts.append(c)
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": counts}


def rand_polygon(rng, h, w):
    k = int(rng.integers(3, 9))
    cx, cy = rng.uniform(-3, w + 3), rng.uniform(-3, h + 3)
    r = rng.uniform(1, max(h, w) / 2)
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    pts = []
    for a in ang:
        rr = r * rng.uniform(0.4, 1.0)
        x, y = cx + rr * np.cos(a), cy + rr * np.sin(a)
        if rng.random() < 0.3:
            x, y = round(x), round(y)
        else:
            x, y = round(float(x), int(rng.integers(0, 6))), round(float(y), int(rng.integers(0, 6)))
        pts += [x, y]
    if rng.random() < 0.1:  # a repeated vertex
        pts += pts[-2:]
    return pts


def gen_segm(rng):
    n_img = int(rng.integers(1, 7))
    n_cat = int(rng.integers(1, 4))
    images = [{"id": int(i * 3 + 1), "height": int(rng.integers(8, 90)), "width": int(rng.integers(8, 90))} for i in range(n_img)]
    cats = [{"id": c + 1, "name": f"c{c + 1}"} for c in range(n_cat)]
    anns, dets = [], []
    aid = 0 if rng.random() < 0.15 else 1
    for im in images:
        h, w = im["height"], im["width"]
        gt_masks = []
        for _ in range(int(rng.integers(0, 6))):
            kind = rng.choice(["poly", "poly", "rle", "ucrle"])
            crowd = int(rng.random() < 0.12)
            if kind == "poly" and not crowd:
                seg = [rand_polygon(rng, h, w) for _ in range(int(rng.integers(1, 3)))]
                rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
                m = mask_utils.decode(rle)
            else:
                m = rand_mask(rng, h, w, int(rng.integers(1, 3)))
                seg = encode(m) if kind == "rle" else uncompressed(m)
            gt_masks.append(m)
            area = float(m.sum()) if rng.random() < 0.8 else float(rng.uniform(0, h * w))
            bb = [float(x) for x in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))]
            anns.append({"id": aid, "image_id": im["id"], "category_id": int(rng.integers(1, n_cat + 1)), "segmentation": seg,
                         "area": area, "bbox": bb, "iscrowd": crowd})
            aid += 1
        for _ in range(int(rng.integers(0, 14))):
            if gt_masks and rng.random() < 0.7:
                m = gt_masks[int(rng.integers(0, len(gt_masks)))].copy()
                # perturb: shift and add/remove a blob
                m = np.roll(m, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 2)))
                if rng.random() < 0.5:
                    m = np.maximum(m, rand_mask(rng, h, w, 1))
            else:
                m = rand_mask(rng, h, w, int(rng.integers(1, 3)))
            score = float(round(rng.random(), int(rng.integers(1, 4))))
            dets.append({"image_id": im["id"], "category_id": int(rng.integers(1, n_cat + 1)), "segmentation": encode(m), "score": score})
    if dets and rng.random() < 0.2:
        # a results file that also carries boxes: loadRes takes its bbox branch (area = box area)
        for d in dets:
            b = mask_utils.toBbox(d["segmentation"])
            d["bbox"] = [float(b[0]), float(b[1]), float(b[2] + rng.uniform(0, 3)), float(b[3])]
    opts = {}
    r = rng.random()
    if r < 0.15:
        opts["use_cats"] = 0
    elif r < 0.3:
        opts["max_dets"] = [1, 5, 100]
    elif r < 0.4:
        opts["area_rng"] = [("all", 0, 1e10), ("small", 0, 200), ("medium", 200, 900), ("large", 900, 1e10)]
    return {"images": images, "annotations": anns, "categories": cats}, dets, opts


def gen_kp(rng):
    n_img = int(rng.integers(1, 7))
    k = 17 if rng.random() < 0.8 else int(rng.integers(3, 9))
    sigmas = None if k == 17 else [round(float(rng.uniform(0.02, 0.11)), 3) for _ in range(k)]
    images = [{"id": int(i + 1), "height": 480, "width": 640} for i in range(n_img)]
    n_cat = 1 if rng.random() < 0.8 else 2
    cats = [{"id": c + 1, "name": f"p{c + 1}"} for c in range(n_cat)]
    anns, dets = [], []
    aid = 1
    for im in images:
        gts = []
        for _ in range(int(rng.integers(0, 5))):
            x, y = float(rng.uniform(0, 500)), float(rng.uniform(0, 350))
            bw, bh = float(rng.uniform(5, 140)), float(rng.uniform(5, 140))
            kps, nv = [], 0
            for _ in range(k):
                v = int(rng.choice([0, 1, 2], p=[0.3, 0.2, 0.5]))
                if rng.random() < 0.1:
                    v = 0
                if v:
                    kps += [round(float(rng.uniform(x, x + bw)), 2), round(float(rng.uniform(y, y + bh)), 2), v]
                    nv += 1
                else:
                    kps += [0, 0, 0]
            if rng.random() < 0.15:  # no visible keypoint at all (enlarged-box distance)
                kps = [0, 0, 0] * k
                num = 0 if rng.random() < 0.5 else int(rng.integers(1, 4))
            else:
                num = nv
            area = round(bw * bh * float(rng.uniform(0.3, 1.0)), 3)
            ann = {"id": aid, "image_id": im["id"], "category_id": int(rng.integers(1, n_cat + 1)), "bbox": [x, y, bw, bh],
                   "area": area, "iscrowd": int(rng.random() < 0.06), "keypoints": kps, "num_keypoints": num}
            anns.append(ann)
            gts.append(ann)
            aid += 1
        for _ in range(int(rng.integers(0, 12))):
            if gts and rng.random() < 0.8:
                g = gts[int(rng.integers(0, len(gts)))]
                x, y, bw, bh = g["bbox"]
                noise = float(rng.uniform(0.5, 15))
                kps = []
                for j in range(k):
                    gx, gy = g["keypoints"][3 * j], g["keypoints"][3 * j + 1]
                    if gx == 0 and gy == 0:
                        gx, gy = float(rng.uniform(x, x + bw)), float(rng.uniform(y, y + bh))
                    if rng.random() < 0.05:
                        kps += [0, 0, 0]
                    else:
                        kps += [float(gx + rng.normal(0, noise)), float(gy + rng.normal(0, noise)), float(rng.random())]
            else:
                kps = []
                for j in range(k):
                    kps += [float(rng.uniform(0, 640)), float(rng.uniform(0, 480)), float(rng.random())]
            d = {"image_id": im["id"], "category_id": int(rng.integers(1, n_cat + 1)), "keypoints": kps,
                 "score": float(round(rng.random(), int(rng.integers(1, 4))))}
            dets.append(d)
    if dets and rng.random() < 0.4:
        for d in dets:
            xs, ys = d["keypoints"][0::3], d["keypoints"][1::3]
            d["bbox"] = [min(xs), min(ys), max(xs) - min(xs) + 1.5, max(ys) - min(ys)]
    opts = {}
    if sigmas:
        opts["sigmas"] = sigmas
    r = rng.random()
    if r < 0.1:
        opts["use_cats"] = 0
    elif r < 0.2:
        opts["max_dets"] = [5]
    return {"images": images, "annotations": anns, "categories": cats}, dets, opts


def run_pycocotools(gt_path, dt_path, iou_type, opts):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        E = COCOeval(gt, dt, iou_type)
        if "use_cats" in opts:
            E.params.useCats = opts["use_cats"]
        if "max_dets" in opts:
            E.params.maxDets = opts["max_dets"]
        if "area_rng" in opts:
            E.params.areaRngLbl = [a[0] for a in opts["area_rng"]]
            E.params.areaRng = [[a[1], a[2]] for a in opts["area_rng"]]
        if "sigmas" in opts:
            E.params.kpt_oks_sigmas = np.array(opts["sigmas"])
        E.evaluate()
        E.accumulate()
        E.summarize()
    return [float(x) for x in E.stats], E.eval


def run_ours(binary, gt_path, dt_path, iou_type, opts, npz):
    cmd = [binary, "eval", dt_path, "--gt", gt_path, "--iou-type", iou_type, "--json", "-", "--arrays", npz, "-q", "--threads", "2"]
    if opts.get("use_cats") == 0:
        cmd.append("--no-cats")
    if "max_dets" in opts:
        cmd += ["--max-dets", ",".join(str(m) for m in opts["max_dets"])]
    if "area_rng" in opts:
        cmd += ["--area-rng"] + [f"{a}:{lo},{hi}" for a, lo, hi in opts["area_rng"]]
    if "sigmas" in opts:
        cmd += ["--kpt-sigmas", ",".join(repr(s) for s in opts["sigmas"])]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"retina-tools exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)["stats"], np.load(npz)


def compare(ref_stats, ref_eval, ours_stats, ours_arr):
    """(equal, max abs diff, what differs)"""
    diffs, maxd = [], 0.0
    rs, os_ = np.asarray(ref_stats, dtype=float), np.asarray(ours_stats, dtype=float)
    if rs.shape != os_.shape:
        return False, float("inf"), f"stats shape {rs.shape} vs {os_.shape}"
    if not np.array_equal(rs, os_):
        diffs.append("stats")
        maxd = max(maxd, float(np.max(np.abs(rs - os_))))
    for name in ("precision", "recall", "scores"):
        a, b = np.asarray(ref_eval[name]), ours_arr[name]
        if a.shape != b.shape:
            return False, float("inf"), f"{name} shape {a.shape} vs {b.shape}"
        if not np.array_equal(a, b):
            diffs.append(f"{name} ({int(np.sum(a != b))} cells)")
            maxd = max(maxd, float(np.max(np.abs(a - b))))
    return not diffs, maxd, ", ".join(diffs)


def check_case(binary, tmp, name, gt, dets, iou_type, opts):
    gt_path = os.path.join(tmp, f"{name}_gt.json")
    dt_path = os.path.join(tmp, f"{name}_dt.json")
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    with open(dt_path, "w") as f:
        json.dump(dets, f)
    return check_files(binary, tmp, name, gt_path, dt_path, iou_type, opts)


def check_files(binary, tmp, name, gt_path, dt_path, iou_type, opts):
    ref_stats, ref_eval = run_pycocotools(gt_path, dt_path, iou_type, opts)
    ours_stats, ours_arr = run_ours(binary, gt_path, dt_path, iou_type, opts, os.path.join(tmp, f"{name}.npz"))
    return compare(ref_stats, ref_eval, ours_stats, ours_arr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/retina-tools")
    ap.add_argument("--cases", type=int, default=150, help="generated cases per IoU type")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["segm", "keypoints"])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"), help="extra real data (small/gt.json, small/dt.json) when present")
    args = ap.parse_args()
    results = {"segm": [0, 0], "keypoints": [0, 0]}
    kp_max = 0.0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        fx = os.path.join(ROOT, "fixtures")
        real = [
            ("segm", os.path.join(fx, "coco-val2014-100/instances_val2014_100.json"), os.path.join(fx, "coco-val2014-100/fakesegm100_results.json")),
            ("keypoints", os.path.join(fx, "keypoints/keypoints_gt.json"), os.path.join(fx, "keypoints/keypoints_dt.json")),
            ("segm", os.path.join(args.data, "small/gt.json"), os.path.join(args.data, "small/dt.json")),
        ]
        for t, gp, dp in real:
            d = os.path.basename(dp)
            if args.only and t != args.only or not (os.path.exists(gp) and os.path.exists(dp)):
                continue
            ok, maxd, what = check_files(args.bin, tmp, "real", gp, dp, t, {})
            results[t][0] += 1
            results[t][1] += ok
            kp_max = max(kp_max, maxd) if t == "keypoints" else kp_max
            if not ok:
                print(f"DIFF real {t} {d}: {what} (max {maxd:.3g})")
                failed = failed or t == "segm" or maxd > KP_TOL
        for t, gen in (("segm", gen_segm), ("keypoints", gen_kp)):
            if args.only and t != args.only:
                continue
            for i in range(args.cases):
                rng = np.random.default_rng([args.seed, i, 0 if t == "segm" else 1])
                gt, dets, opts = gen(rng)
                if not dets:
                    dets = []
                try:
                    if not dets:
                        continue  # pycocotools' loadRes crashes on an empty list
                    ok, maxd, what = check_case(args.bin, tmp, f"{t}{i}", gt, dets, t, opts)
                except Exception as e:  # noqa: BLE001 - report and count as failure
                    ok, maxd, what = False, float("inf"), f"error: {e}"
                results[t][0] += 1
                results[t][1] += ok
                if t == "keypoints" and maxd != float("inf"):
                    kp_max = max(kp_max, maxd)
                if not ok:
                    print(f"DIFF {t} case seed={args.seed} i={i} opts={opts}: {what} (max {maxd:.3g})")
                    failed = failed or t == "segm" or maxd > KP_TOL
    for t, (n, ok) in results.items():
        if n:
            print(f"{t}: {ok}/{n} cases bit-identical (stats + precision/recall/scores)")
    if results["keypoints"][0]:
        print(f"keypoints: max abs difference {kp_max:.3g} (tolerance {KP_TOL:g})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
