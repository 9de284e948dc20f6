#!/usr/bin/env python3
"""Expected numbers of tests/compare_cli.rs, made by pycocotools 2.0.11 (not by us):
the draws of seed 7, replicates 0-3, on the 100-image fixture (SplitMix64 as compare_ref
computes it), each replicate made explicit as COCO files and scored by pycocotools, for the fake
bbox results (3-decimal scores: ties within and across images) and their perturbed copy.
    .venv/bin/python scripts/make-expected-compare.py"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts/conformance"))
import compare_ref as ref  # noqa: E402

FIX = ROOT / "fixtures/coco-val2014-100"
SEED, REPLICATES = 7, 4
gt = json.loads((FIX / "instances_val2014_100.json").read_text())
models = ["fakebbox100_results.json", "fakebbox100_perturbed.json"]
dets = [json.loads((FIX / m).read_text()) for m in models]
ids = ref.eval_ids(gt)
out = {"seed": SEED, "models": models, "point": [], "replicates": []}
g, _ = ref.explicit(gt, [], ids)
for d in dets:
    out["point"].append(ref.pycocotools_stats(g, ref.explicit(gt, d, ids)[1]))
for r in range(REPLICATES):
    drawn = ref.drawn_ids(ref.draw(SEED, r, len(ids)), ids)
    g, _ = ref.explicit(gt, [], drawn)
    out["replicates"].append({"image_ids": drawn, "stats": [ref.pycocotools_stats(g, ref.explicit(gt, d, drawn)[1]) for d in dets]})
dst = ROOT / "fixtures/expected/compare/fake_vs_perturbed_seed7.json"
dst.write_text(json.dumps(out) + "\n")
print(dst)
