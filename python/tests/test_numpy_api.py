"""anchors/assign/focal_stats on numpy against the CLI's files, bit for bit; evaluate() against
`eval --json`."""
import json
import os
import subprocess

import numpy as np
import pytest

import retina_tools
from conftest import FIX, cli


def run_cli(*args):
    r = subprocess.run([cli(), *args, "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("conv", ["detectron2", "torchvision", "mmdet", "detectron"])
@pytest.mark.parametrize("size, extra", [((800, 1333), {}), ((333, 517), {"layout": "hwa"}), ((640, 480), {"levels": (3, 6), "aspect_ratios": [1.0, 2.0], "scales_per_octave": 2, "offset": 0.5})])
def test_anchors_equal_cli(tmp_path, conv, size, extra):
    out = tmp_path / "a.npy"
    args = ["anchors", "--image-size", "%dx%d" % size, "--convention", conv, "--out", str(out)]
    for k, v in extra.items():
        flag = "--" + k.replace("_", "-")
        if k == "levels":
            v = "%d-%d" % v
        elif isinstance(v, list):
            v = ",".join(map(str, v))
        args += [flag, str(v)]
    r = subprocess.run([cli(), *args, "-q"], capture_output=True, text=True)
    if r.returncode == 2:  # a flag the convention does not have: the same error from Python
        with pytest.raises(ValueError) as e:
            retina_tools.anchors(size, convention=conv, **extra)
        assert "error: " + str(e.value).splitlines()[0] == r.stderr.splitlines()[0]
        return
    assert r.returncode == 0, r.stderr
    want = np.load(out)
    got = retina_tools.anchors(size, convention=conv, **extra)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("conv", ["detectron2", "torchvision", "mmdet", "detectron"])
@pytest.mark.parametrize("resize", [None, (800, 1333)])
def test_assign_equal_cli(tmp_path, conv, resize):
    gt_path = os.path.join(FIX, "anchors", "mini_coco.json")
    with open(gt_path) as f:
        ds = json.load(f)
    args = ["assign", "--gt", gt_path, "--convention", conv, "--out-dir", str(tmp_path)]
    args += ["--no-resize"] if resize is None else ["--resize", "%d,%d" % resize]
    run_cli(*args)
    cats = sorted(c["id"] for c in ds["categories"])
    checked = 0
    for im in ds["images"]:
        anns = [a for a in ds["annotations"] if a["image_id"] == im["id"] and not a.get("iscrowd", 0)]
        if conv == "detectron" and any(a.get("area", 1) != a["bbox"][2] * a["bbox"][3] and a.get("area", 1) <= 0 for a in anns):
            continue  # Detectron drops boxes by the `area` field; the array API has only boxes
        boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        classes = np.array([cats.index(a["category_id"]) for a in anns], dtype=np.int64)
        labels, matched, targets = retina_tools.assign(boxes, classes, (im["height"], im["width"]), convention=conv, resize=resize)
        want = np.load(tmp_path / ("%d.npz" % im["id"]))
        row_of = {a["id"]: j for j, a in enumerate(anns)}
        want_matched = np.array([row_of[m] if m >= 0 else -1 for m in want["matched"]], dtype=np.int64)
        assert labels.dtype == np.int32 and matched.dtype == np.int64 and targets.dtype == np.float32
        assert np.array_equal(labels, want["labels"])
        assert np.array_equal(matched, want_matched)
        assert targets.tobytes() == want["targets"].tobytes()
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("shape, dtype, order", [((500, 7), np.float32, "C"), ((2, 300, 5), np.float32, "F"), ((400, 4), np.float16, "C"), ((3, 200, 6), np.float16, "F")])
def test_focal_equal_cli(tmp_path, shape, dtype, order):
    rng = np.random.default_rng(7)
    logits = np.array(rng.normal(0, 3, shape), dtype=dtype, order=order)
    targets = rng.integers(-2, shape[-1], shape[:-1]).astype(np.int64)
    lp, tp = tmp_path / "l.npy", tmp_path / "t.npy"
    np.save(lp, logits)
    np.save(tp, targets)
    want = json.loads(run_cli("focal", "--logits", str(lp), "--targets", str(tp), "--backend", "cpu", "--json", "-", "--gammas", "0,1,2,5"))
    got = retina_tools.focal_stats(logits, targets, gammas=(0, 1, 2, 5))
    assert got == want


NO_COPY = """
import resource, sys, numpy as np, retina_tools
x = np.full((1_000_000, 64), 0.5, np.dtype(sys.argv[1]), order=sys.argv[2])
t = np.full(1_000_000, -1, np.int64); t[::100] = 3
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
retina_tools.focal_stats(x, t, gammas=(2,))
print(x.nbytes, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.parametrize("dtype, order", [("float32", "C"), ("float32", "F"), ("float16", "C")])
def test_focal_borrows_the_logits(dtype, order):
    # A copy of the logits would raise the peak resident size by their size (256 / 128 MB here;
    # measured +256 / +134 MB before the binding borrowed the array, +12 MB after).
    import sys
    r = subprocess.run([sys.executable, "-c", NO_COPY, dtype, order], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    nbytes, grew = map(int, r.stdout.split())
    assert grew < nbytes // 4, (nbytes, grew)


def test_evaluate_equals_eval_json():
    d = os.path.join(FIX, "coco-val2014-100")
    gt, dt = os.path.join(d, "instances_val2014_100.json"), os.path.join(d, "fakebbox100_results.json")
    want = json.loads(run_cli("eval", dt, "--gt", gt, "--json", "-"))
    got = retina_tools.evaluate(dt, gt)
    assert got == want


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_diagnose_equals_diagnose_json(iou_type):
    d = os.path.join(FIX, "coco-val2014-100")
    gt = os.path.join(d, "instances_val2014_100.json")
    dt = os.path.join(d, "fakebbox100_results.json" if iou_type == "bbox" else "fakesegm100_results.json")
    want = json.loads(run_cli("diagnose", dt, "--gt", gt, "--iou-type", iou_type, "--json", "-", "--suspects-top", "5"))
    got = retina_tools.diagnose(dt, gt, iou_type, suspects_top=5)
    assert got == want


def test_compare_equals_compare_json():
    # The CLI's document for the bundled fake results against their perturbed copy, same seed:
    # stats, deltas, intervals, p-values and kept replicates all equal.
    d = os.path.join(FIX, "coco-val2014-100")
    gt = os.path.join(d, "instances_val2014_100.json")
    a, b = os.path.join(d, "fakebbox100_results.json"), os.path.join(d, "fakebbox100_perturbed.json")
    want = json.loads(run_cli("compare", a, b, "--gt", gt, "--bootstrap", "50", "--seed", "3", "--keep-replicates", "--json", "-"))
    got = retina_tools.compare([a, b], gt, bootstrap=50, seed=3, keep_replicates=True)
    assert got == want
    with pytest.raises(ValueError, match="two or more"):
        retina_tools.compare([a], gt)
