"""Shared helpers: run pycocotools 2.0.11 and retina_tools side by side and compare everything
COCOeval returns (stats, printed lines, eval arrays, evalImgs, ious)."""
import contextlib
import importlib
import io
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "fixtures")
sys.path.insert(0, os.path.join(ROOT, "scripts", "conformance"))


def _engines():
    import retina_tools.coco
    import retina_tools.cocoeval

    ref_coco = importlib.import_module("pycocotools.coco")
    ref_eval = importlib.import_module("pycocotools.cocoeval")
    assert not getattr(sys.modules["pycocotools"], "__retina_tools__", False), "pycocotools is replaced; the reference must be the real one"
    return {"ref": (ref_coco.COCO, ref_eval.COCOeval), "ours": (retina_tools.coco.COCO, retina_tools.cocoeval.COCOeval)}


def apply_params(p, params):
    if "img_ids" in params:
        p.imgIds = params["img_ids"]
    if "cat_ids" in params:
        p.catIds = params["cat_ids"]
    if "use_cats" in params:
        p.useCats = params["use_cats"]
    if "max_dets" in params:
        p.maxDets = params["max_dets"]
    if "area_rng" in params:
        p.areaRngLbl = [a[0] for a in params["area_rng"]]
        p.areaRng = [[a[1], a[2]] for a in params["area_rng"]]
    if "sigmas" in params:
        p.kpt_oks_sigmas = np.array(params["sigmas"])
    if "iou_thrs" in params:
        p.iouThrs = params["iou_thrs"]


def run(engine, gt, dt, iou_type, params=None, gt_copy=None):
    """COCO + loadRes + evaluate/accumulate/summarize with one engine; returns (E, summary lines)."""
    import copy

    COCO, COCOeval = _engines()[engine]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if isinstance(gt, dict) and engine == "ref":
            g = COCO()  # pycocotools 2.0.11's COCO() takes a path only
            g.dataset = copy.deepcopy(gt)
            g.createIndex()
        else:
            g = COCO(copy.deepcopy(gt) if isinstance(gt, dict) else gt)
        d = g.loadRes(copy.deepcopy(dt) if isinstance(dt, list) else dt)
        E = COCOeval(g, d, iou_type)
        apply_params(E.params, params or {})
        E.evaluate()
        E.accumulate()
        E.summarize()
    lines = [l for l in out.getvalue().splitlines() if l.startswith(" Average")]
    return E, lines


def assert_same_eval(ours, ref, tol=0.0, deep=True):
    """Every number COCOeval returns equal (f64 ==, or within `tol` for keypoints' exp)."""
    (a, la), (b, lb) = ours, ref
    close = (lambda x, y: np.array_equal(x, y)) if tol == 0 else (lambda x, y: x.shape == y.shape and np.allclose(x, y, rtol=0, atol=tol))
    assert la == lb or tol > 0
    assert isinstance(a.stats, np.ndarray) and a.stats.dtype == np.float64
    assert close(a.stats, b.stats), (a.stats, b.stats)
    for k in ("precision", "recall", "scores"):
        assert a.eval[k].dtype == b.eval[k].dtype and close(a.eval[k], b.eval[k]), k
    assert a.eval["counts"] == b.eval["counts"]
    if not deep:
        return
    ea, eb = a.evalImgs, b.evalImgs
    assert len(ea) == len(eb)
    for x, y in zip(ea, eb):
        assert (x is None) == (y is None)
        if y is None:
            continue
        assert sorted(x) == sorted(y)
        for key, vy in y.items():
            vx = x[key]
            if isinstance(vy, np.ndarray):
                assert vx.dtype == vy.dtype and vx.shape == vy.shape and np.array_equal(vx, vy), (key, vx, vy)
            else:
                assert vx == vy, (key, vx, vy)
    ia, ib = a.ious, b.ious
    assert list(ia) == list(ib)
    for key in ib:
        x, y = ia[key], ib[key]
        if isinstance(y, list):
            assert isinstance(x, list) and x == y
        else:
            assert x.shape == y.shape and close(x, y), key


@pytest.fixture
def val2014():
    d = os.path.join(FIX, "coco-val2014-100")
    return os.path.join(d, "instances_val2014_100.json"), os.path.join(d, "fakebbox100_results.json"), os.path.join(d, "fakesegm100_results.json")


def cli():
    """The retina-tools binary the numpy API is compared with."""
    path = os.environ.get("RETINA_TOOLS_BIN", os.path.join(ROOT, "target", "release", "retina-tools"))
    if not os.path.exists(path):
        pytest.skip("retina-tools binary not built (cargo build --release)")
    return path
