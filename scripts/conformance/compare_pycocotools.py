#!/usr/bin/env python3
"""`retina-tools compare` replicates against pycocotools 2.0.11, bit for bit.

For each case, run `compare --keep-replicates --json`, check that each kept replicate's image
ids are the draw this file computes independently (SplitMix64, compare_ref.draw), rebuild the
first few replicates as explicit COCO files (compare_ref.explicit) and score every model on them
with pycocotools: each stat must equal the replicate's (float64 bits). Cases cover tied scores
(within and across images), distinct scores, useCats=0, other maxDets, --img-ids and segm.
Also checks that the point estimates equal pycocotools on the original data."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_ref as ref  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "fixtures/coco-val2014-100"


def load(p):
    return json.loads(Path(p).read_text())


def variants(tmp):
    """Results files for the cases: (name, path)."""
    a = load(FIX / "fakebbox100_results.json")
    b = load(FIX / "fakebbox100_perturbed.json")
    out = {"fake": FIX / "fakebbox100_results.json", "perturbed": FIX / "fakebbox100_perturbed.json"}
    # Distinct scores everywhere: a unique tiny offset per detection.
    d = [dict(x, score=x["score"] + (i + 1) * 1e-9) for i, x in enumerate(a)]
    # Heavy ties: one decimal, so many detections of one image share a score.
    t = [dict(x, score=round(x["score"], 1)) for x in b]
    for name, v in (("distinct", d), ("coarse", t)):
        p = Path(tmp) / f"{name}.json"
        p.write_text(json.dumps(v))
        out[name] = p
    # Crowded: 130 extra jittered copies of every detection of a few images (one category gets
    # more than 100 per image), for a maxDets cut below the largest that AP reads (100 of 150).
    rnd = __import__("random").Random(3)
    crowded = list(a)
    for x in a:
        if x["image_id"] % 7 == 0:
            for _ in range(130):
                bx, by, w, h = x["bbox"]
                crowded.append(dict(x, bbox=[bx + rnd.uniform(-5, 5), by + rnd.uniform(-5, 5), w, h], score=round(rnd.random(), 2)))
    p = Path(tmp) / "crowded.json"
    p.write_text(json.dumps(crowded))
    out["crowded"] = p
    segm = load(FIX / "fakesegm100_results.json")
    out["segm"] = FIX / "fakesegm100_results.json"
    p = Path(tmp) / "segm_coarse.json"
    p.write_text(json.dumps([dict(x, score=round(x["score"], 1)) for x in segm]))
    out["segm_coarse"] = p
    kp = load(ROOT / "fixtures/keypoints/gen_dt.json")
    out["kp"] = ROOT / "fixtures/keypoints/gen_dt.json"
    p = Path(tmp) / "kp_coarse.json"
    p.write_text(json.dumps([dict(x, score=round(x["score"], 1)) for x in kp]))
    out["kp_coarse"] = p
    return out


CASES = [
    # (name, models, extra flags, iou_type, use_cats, max_dets)
    ("ties (3-decimal scores) vs perturbed", ["fake", "perturbed"], [], "bbox", True, None),
    ("distinct scores", ["distinct", "perturbed"], [], "bbox", True, None),
    ("heavy ties within images, three models", ["coarse", "fake", "distinct"], [], "bbox", True, None),
    ("useCats=0 with ties", ["fake", "coarse"], ["--no-cats"], "bbox", False, None),
    ("maxDets 1,5,20", ["coarse", "perturbed"], ["--max-dets", "1,5,20"], "bbox", True, [1, 5, 20]),
    ("crowded images, maxDets 10,100,150 (AP at 100 < largest)", ["crowded", "fake"], ["--max-dets", "10,100,150"], "bbox", True, [10, 100, 150]),
    ("--img-ids subset", ["fake", "coarse"], ["--img-ids", "IMGIDS"], "bbox", True, None),
    ("segm with ties", ["segm", "segm_coarse"], ["--iou-type", "segm"], "segm", True, None),
    ("keypoints with ties", ["kp", "kp_coarse"], ["--iou-type", "keypoints"], "keypoints", True, None),
]
KP_GT = ROOT / "fixtures/keypoints/gen_gt.json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/retina-tools"))
    ap.add_argument("--bootstrap", type=int, default=20)
    ap.add_argument("--check", type=int, default=3, help="replicates rebuilt per case")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("COMPARE_SEED", "7")))
    args = ap.parse_args()
    coco_gt_path = FIX / "instances_val2014_100.json"
    subset = sorted(im["id"] for im in load(coco_gt_path)["images"])[::3]
    checked = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = variants(tmp)
        for name, models, flags, iou_type, use_cats, max_dets in CASES:
            gt_path = KP_GT if iou_type == "keypoints" else coco_gt_path
            gt = load(gt_path)
            flags = [subset_flag if f == "IMGIDS" else f for f in flags for subset_flag in [",".join(map(str, subset))]]
            out = Path(tmp) / "cmp.json"
            cmd = [args.bin, "compare", *[str(files[m]) for m in models], "--gt", str(gt_path), "--bootstrap", str(args.bootstrap),
                   "--seed", str(args.seed), "--keep-replicates", "--json", str(out), "-q", *flags]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            doc = load(out)
            ids = ref.eval_ids(gt, subset if "--img-ids" in flags else None)
            dets = [load(files[m]) for m in models]
            # Point estimates: pycocotools on the data itself.
            gsub, _ = ref.explicit(gt, [], ids)
            for mi, m in enumerate(models):
                _, dsub = ref.explicit(gt, dets[mi], ids)
                want = ref.pycocotools_stats(gsub, dsub, iou_type, use_cats, max_dets)
                got = doc["models"][mi]["stats"]
                checked += 1
                if not ref.same_bits(want, got):
                    failed += 1
                    print(f"FAIL {name}: point estimate of {m}: ours {got} pycocotools {want}")
            reps = doc["bootstrap"]["replicates"]
            assert len(reps) == args.bootstrap and doc["bootstrap"]["images"] == len(ids)
            for r, rep in enumerate(reps):
                want_ids = ref.drawn_ids(ref.draw(args.seed, r, len(ids)), ids)
                if rep["image_ids"] != want_ids:
                    failed += 1
                    print(f"FAIL {name}: replicate {r}: drawn image ids differ from SplitMix64's")
            for r in range(min(args.check, len(reps))):
                g2, _ = ref.explicit(gt, [], reps[r]["image_ids"])
                for mi, m in enumerate(models):
                    _, d2 = ref.explicit(gt, dets[mi], reps[r]["image_ids"])
                    want = ref.pycocotools_stats(g2, d2, iou_type, use_cats, max_dets)
                    got = reps[r]["stats"][mi]
                    checked += 1
                    if not ref.same_bits(want, got):
                        failed += 1
                        print(f"FAIL {name}: replicate {r}, model {m}:\n  ours        {got}\n  pycocotools {want}")
            print(f"{name}: ok so far ({checked} stat vectors checked, {failed} failed)")
    print(f"compare vs pycocotools: {checked - failed}/{checked} stat vectors identical")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
