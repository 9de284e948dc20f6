"""retina_tools' COCO/COCOeval against real pycocotools 2.0.11: stats, printed lines, the eval
arrays, evalImgs and ious, bit for bit, on the bundled real data and on seeded synthetic sets."""
import contextlib
import io
import json
import os

import numpy as np
import pytest

from conftest import FIX, assert_same_eval, run

import eval_bbox  # scripts/conformance: the CLI's bbox case generator
import eval_segm_kp  # scripts/conformance: the CLI's segm/keypoints case generators

# keypoints: numpy's SIMD exp vs libm exp (see docs/segm-keypoints.md), as the CLI's sweep.
KP_TOL = eval_segm_kp.KP_TOL


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_val2014_real(val2014, iou_type):
    gt, bbox, segm = val2014
    dt = bbox if iou_type == "bbox" else segm
    assert_same_eval(run("ours", gt, dt, iou_type), run("ref", gt, dt, iou_type))


@pytest.mark.parametrize("params", [
    {"max_dets": [1, 10, 300]},
    {"use_cats": 0},
    {"area_rng": [("all", 0, 1e10), ("small", 0, 400), ("medium", 400, 5000), ("large", 5000, 1e10)]},
    {"img_ids": [139, 285, 632, 724]},
    {"iou_thrs": np.array([0.5, 0.75])},
])
def test_val2014_params(val2014, params):
    gt, bbox, _ = val2014
    if "img_ids" in params:
        with open(gt) as f:
            params = {"img_ids": [im["id"] for im in json.load(f)["images"]][5:40:3]}
    ours, ref = run("ours", gt, bbox, "bbox", params), run("ref", gt, bbox, "bbox", params)
    assert_same_eval(ours, ref)


def test_keypoints_fixture():
    gt, dt = os.path.join(FIX, "keypoints/keypoints_gt.json"), os.path.join(FIX, "keypoints/keypoints_dt.json")
    assert_same_eval(run("ours", gt, dt, "keypoints"), run("ref", gt, dt, "keypoints"), tol=KP_TOL)


@pytest.mark.parametrize("seed", range(40))
def test_bbox_synthetic(tmp_path, seed):
    gt, dets, params = eval_bbox.make_case(seed)
    if not dets:
        pytest.skip("pycocotools' loadRes crashes on an empty list")
    gp, dp = str(tmp_path / "gt.json"), str(tmp_path / "dt.json")
    eval_bbox.dump(gt, gp)
    eval_bbox.dump(dets, dp)
    assert_same_eval(run("ours", gp, dp, "bbox", params), run("ref", gp, dp, "bbox", params))


@pytest.mark.parametrize("seed", range(30))
def test_segm_synthetic(seed):
    rng = np.random.default_rng([seed, 0, 0])
    gt, dets, opts = eval_segm_kp.gen_segm(rng)
    if not dets:
        pytest.skip("pycocotools' loadRes crashes on an empty list")
    assert_same_eval(run("ours", gt, dets, "segm", opts), run("ref", gt, dets, "segm", opts))


@pytest.mark.parametrize("seed", range(30))
def test_keypoints_synthetic(seed):
    rng = np.random.default_rng([seed, 0, 1])
    gt, dets, opts = eval_segm_kp.gen_kp(rng)
    if not dets:
        pytest.skip("pycocotools' loadRes crashes on an empty list")
    assert_same_eval(run("ours", gt, dets, "keypoints", opts), run("ref", gt, dets, "keypoints", opts), tol=KP_TOL)


def test_loadres_list_and_numpy(val2014):
    gt, bbox, _ = val2014
    with open(bbox) as f:
        dets = json.load(f)
    ref = run("ref", gt, bbox, "bbox")
    assert_same_eval(run("ours", gt, dets, "bbox"), ref, deep=False)
    arr = np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in dets])
    assert_same_eval(run("ours", gt, arr, "bbox"), run("ref", gt, arr, "bbox"), deep=False)


def test_dataset_idiom_and_indexes(val2014):
    """COCO() then .dataset = {...}; createIndex() (torchmetrics), and the dict indexes."""
    import retina_tools
    from pycocotools.coco import COCO as RefCOCO

    gt, bbox, _ = val2014
    with open(gt) as f:
        ds = json.load(f)
    with contextlib.redirect_stdout(io.StringIO()):
        ours = retina_tools.COCO()
        ours.dataset = json.loads(json.dumps(ds))
        ours.createIndex()
        ref = RefCOCO(gt)
        lazy = retina_tools.COCO(gt)
    for c in (ours, lazy):
        assert c.getImgIds() == ref.getImgIds() and c.getCatIds() == ref.getCatIds()
        assert c.getAnnIds(imgIds=[139, 285], catIds=[1], iscrowd=False) == ref.getAnnIds(imgIds=[139, 285], catIds=[1], iscrowd=False)
        assert c.getImgIds(catIds=[1, 3]) == ref.getImgIds(catIds=[1, 3])
        assert c.getCatIds(catNms=["person", "dog"]) == ref.getCatIds(catNms=["person", "dog"])
        assert c.loadImgs(139) == ref.loadImgs(139) and c.loadCats([1, 2]) == ref.loadCats([1, 2])
        assert c.anns == ref.anns and c.imgs == ref.imgs and c.cats == ref.cats
        assert dict(c.imgToAnns) == dict(ref.imgToAnns) and dict(c.catToImgs) == dict(ref.catToImgs)
        for ann in ref.loadAnns(ref.getAnnIds(imgIds=[139, 285, 632])):
            assert c.annToRLE(ann) == ref.annToRLE(ann)
            m = c.annToMask(ann)
            assert m.dtype == np.uint8 and m.flags.f_contiguous and np.array_equal(m, ref.annToMask(ann))
    with contextlib.redirect_stdout(io.StringIO()):
        d_ours, d_ref = lazy.loadRes(bbox), ref.loadRes(bbox)
    assert d_ours.dataset["annotations"] == d_ref.dataset["annotations"]
    assert d_ours.getAnnIds(imgIds=[139]) == d_ref.getAnnIds(imgIds=[139])


def test_summarize_prints_through_sys_stdout(val2014):
    gt, bbox, _ = val2014
    (E, lines) = run("ours", gt, bbox, "bbox")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        E.summarize()
    assert buf.getvalue().splitlines() == lines and len(lines) == 12


def test_install_as_pycocotools_and_iouType_keyword(val2014):
    import subprocess
    import sys

    gt, bbox, _ = val2014
    code = (
        "import retina_tools, contextlib, io; retina_tools.install_as_pycocotools()\n"
        "from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval; import pycocotools.mask as M\n"
        "assert COCOeval is retina_tools.COCOeval and M is retina_tools.mask\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"  g = COCO({gt!r}); E = COCOeval(g, g.loadRes({bbox!r}), iouType='bbox'); E.evaluate(); E.accumulate(); E.summarize()\n"
        "print(repr(float(E.stats[0])))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    (ref, _) = run("ref", gt, bbox, "bbox")
    assert out == repr(float(ref.stats[0]))


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_dataset_dict_as_detections(val2014, iou_type):
    """torchmetrics' idiom: both sides built with COCO(); .dataset = {...}; createIndex()."""
    import copy

    import retina_tools
    from pycocotools.coco import COCO as RefCOCO
    from pycocotools.cocoeval import COCOeval as RefEval

    gt_path, bbox, segm = val2014
    with open(gt_path) as f:
        gt = json.load(f)
    with open(bbox if iou_type == "bbox" else segm) as f:
        dets = json.load(f)
    from pycocotools import mask as M

    anns = []
    for i, d in enumerate(dets):
        a = dict(d, id=i + 1, iscrowd=0)
        a["area"] = d["bbox"][2] * d["bbox"][3] if iou_type == "bbox" else float(M.area(d["segmentation"]))
        if iou_type == "segm":
            a.pop("bbox", None)
        anns.append(a)
    preds = {"images": gt["images"], "categories": gt["categories"], "annotations": anns}
    out = []
    for COCO, COCOeval in ((retina_tools.COCO, retina_tools.COCOeval), (RefCOCO, RefEval)):
        with contextlib.redirect_stdout(io.StringIO()) as buf:
            g, d = COCO(), COCO()
            g.dataset, d.dataset = copy.deepcopy(gt), copy.deepcopy(preds)
            g.createIndex()
            d.createIndex()
            E = COCOeval(g, d, iouType=iou_type)
            E.evaluate()
            E.accumulate()
            E.summarize()
        out.append((E, [l for l in buf.getvalue().splitlines() if l.startswith(" Average")]))
    assert_same_eval(*out)
