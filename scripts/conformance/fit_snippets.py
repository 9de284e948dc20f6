#!/usr/bin/env python3
"""`anchors --fit` config snippets against the frameworks' anchor generators.

For several fits on the bundled data (per-level sizes, one stride multiple, odd budgets), each
snippet the fit prints is handed to its framework and must give exactly (float32 array_equal,
same order) the anchors `retina-tools anchors --convention <framework> <the best's anchor flags>`
writes for the same image size:
  detectron2  - its SIZES / ASPECT_RATIOS / OFFSET through `generate_cell_anchors` and the grid
                as the shared oracle re-derives them (detectron2 itself is not installable here);
  torchvision - the snippet executed: torchvision's AnchorGenerator on an ImageList;
  mmdet       - the snippet's dict given to mmdet's AnchorGenerator, `grid_priors`.
torchvision / mmdet are checked when importable (a large install; see docs/fit.md), else SKIP.
Exit 1 on any difference. Usage: fit_snippets.py BIN ORACLE_DIR GT_JSON
"""
import ast
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

BIN, ORACLES, GT = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, ORACLES)
import ref_anchors as RA  # noqa: E402

SIZES = [(800, 1333), (800, 1067), (1333, 800), (600, 1000)]
FITS = [
    ["--evaluations", "60"],
    ["--evaluations", "60", "--size-mode", "stride-multiple", "--seed", "3"],
    ["--evaluations", "60", "--budget", "6", "--convention", "torchvision", "--seed", "1"],
    ["--evaluations", "60", "--budget", "12", "--convention", "mmdet", "--objective", "recall"],
]
tmp = tempfile.mkdtemp()
bad = 0
checked = {"detectron2": 0, "torchvision": 0, "mmdet": 0}
skipped = set()


def ours(conv, anchor_flags, h, w):
    out = os.path.join(tmp, "a.npy")
    subprocess.run([BIN, "anchors", "-q", "--convention", conv, "--image-size", "%dx%d" % (h, w), "--out", out]
                   + anchor_flags, check=True, stdout=subprocess.DEVNULL)
    return np.load(out)


def compare(name, a, b, what):
    global bad
    checked[name] += 1
    if a.shape != b.shape or not np.array_equal(a.astype(np.float32), b.astype(np.float32)):
        bad += 1
        diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("nan")
        print("DIFF %s %s shapes %s %s max|diff| %g" % (name, what, a.shape, b.shape, diff))


def d2_from_snippet(snippet, levels, h, w):
    lines = {l.split(":")[0].strip(): l.split(":", 1)[1].strip() for l in snippet.splitlines() if ":" in l}
    sizes = ast.literal_eval(lines["SIZES"])
    ratios = ast.literal_eval(lines["ASPECT_RATIOS"])
    offset = float(lines["OFFSET"])
    ratios = ratios * len(sizes) if len(ratios) == 1 else ratios
    hp, wp = RA.pad_to(h, 32), RA.pad_to(w, 32)
    out = []
    for li, lv in enumerate(levels):
        s = 2 ** lv
        cells = RA.detectron2_cells(sizes[li], ratios[li])       # generate_cell_anchors
        fh, fw = RA.feature_size(hp, s), RA.feature_size(wp, s)
        out.append(RA.grid(cells, fh, fw, s, s, offset))         # _create_grid_offsets + shifts
    return np.concatenate(out, axis=0).astype(np.float32)


def tv_from_snippet(snippet, levels, h, w):
    import torch
    from torchvision.models.detection.image_list import ImageList
    env = {}
    exec(snippet, env)
    gen = env["anchor_generator"]
    hp, wp = RA.pad_to(h, 32), RA.pad_to(w, 32)
    feats = [torch.zeros(1, 1, RA.feature_size(hp, 2 ** lv), RA.feature_size(wp, 2 ** lv)) for lv in levels]
    il = ImageList(torch.zeros(1, 3, hp, wp), [(h, w)])
    return gen(il, feats)[0].numpy()


def mm_from_snippet(snippet, levels, h, w):
    mm = RA.load_mmdet_pieces()
    env = {}
    exec("cfg = dict(" + snippet + ")", env)
    kw = dict(env["cfg"]["anchor_generator"])
    kw.pop("type")
    gen = mm["anchor_generator"].AnchorGenerator(**kw)
    hp, wp = RA.pad_to(h, 32), RA.pad_to(w, 32)
    sizes = [(RA.feature_size(hp, 2 ** lv), RA.feature_size(wp, 2 ** lv)) for lv in levels]
    return np.concatenate([a.numpy() for a in gen.grid_priors(sizes, device="cpu")], axis=0)


for extra in FITS:
    r = json.loads(subprocess.run([BIN, "anchors", "-q", "--fit", GT, "--json", "-"] + extra, check=True,
                                  capture_output=True, text=True).stdout)
    flags = r["best"]["flags"].split()
    anchor_flags = flags[:flags.index("--resize") if "--resize" in flags else flags.index("--no-resize")]
    anchor_flags = anchor_flags[2:]                               # drop --convention X
    lv = anchor_flags[anchor_flags.index("--levels") + 1].split("-")
    levels = list(range(int(lv[0]), int(lv[1]) + 1))
    sn = r["snippets"]
    for (h, w) in SIZES:
        compare("detectron2", ours("detectron2", anchor_flags, h, w), d2_from_snippet(sn["detectron2"], levels, h, w), (extra, h, w))
        for name, fn in (("torchvision", tv_from_snippet), ("mmdet", mm_from_snippet)):
            try:
                theirs = fn(sn[name], levels, h, w)
            except ImportError as e:
                skipped.add("%s (%s)" % (name, e))
                continue
            compare(name, ours(name, anchor_flags, h, w), theirs, (extra, h, w))
print("fit snippets: %s array-equal checks, %d differences; %d fits x %d image sizes%s" % (
    ", ".join("%s %d" % kv for kv in checked.items()), bad, len(FITS), len(SIZES),
    ("; SKIP " + ", ".join(sorted(skipped))) if skipped else ""))
sys.exit(1 if bad else 0)
