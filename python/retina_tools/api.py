"""Training-side tools on numpy arrays: the CLI's ``anchors``, ``assign`` and ``focal`` numbers,
bit for bit, without files; and ``evaluate``, the ``eval --json`` document as a dict."""
import json

import numpy as np

from . import _core

_GRID_KEYS = ("levels", "sizes", "scales_per_octave", "aspect_ratios", "offset", "size_divisibility")


def _grid(overrides):
    bad = set(overrides) - set(_GRID_KEYS)
    if bad:
        raise TypeError("unexpected keyword argument(s): %s" % ", ".join(sorted(bad)))
    g = dict(overrides)
    if g.get("levels") is not None:
        lv = g["levels"]
        if isinstance(lv, str):
            lo, _, hi = lv.partition("-")
            lv = (int(lo), int(hi))
        g["levels"] = (int(lv[0]), int(lv[-1]))
    for k in ("sizes", "aspect_ratios"):
        if g.get(k) is not None:
            g[k] = [float(v) for v in g[k]]
    return g


def anchors(image_size, convention="detectron2", layout="native", **overrides):
    """Anchors of one network input size as float32 [A, 4] (x1, y1, x2, y2).

    Exactly the array ``retina-tools anchors --image-size HxW --out`` writes. ``image_size`` is
    ``(height, width)``; ``convention`` one of detectron2, torchvision, mmdet, detectron;
    ``layout`` native or hwa; overrides: ``levels=(3, 7)``, ``sizes``, ``scales_per_octave``,
    ``aspect_ratios``, ``offset``, ``size_divisibility``.

        >>> import retina_tools
        >>> a = retina_tools.anchors((800, 1333))
        >>> a.shape, a.dtype
        ((201600, 4), dtype('float32'))
    """
    h, w = image_size
    return _core.anchors((int(h), int(w)), convention, layout, **_grid(overrides))


def assign(gt_boxes, gt_classes, image_size, convention="detectron2", resize=None, low_quality=None, pos_iou=0.5, neg_iou=0.4, layout="native", **overrides):
    """Label one image's anchors as the convention's matcher does.

    ``gt_boxes`` float [G, 4] COCO ``[x, y, w, h]`` in the image's pixels (crowd boxes not
    passed), ``gt_classes`` int [G] contiguous class indices, ``image_size = (height, width)``
    of the image; ``resize=None`` keeps that size (the CLI's ``--no-resize``), ``(short, max)``
    resizes as the convention does. Returns ``(labels int32 [A], matched int64 [A],
    targets float32 [A, 4])``: labels are the class index (foreground), -1 (background) or -2
    (ignored); ``matched`` the GT row (-1 where the label is < 0); targets the box deltas with
    the convention's weights. Equal to ``assign --out-dir``'s ``.npz`` for that image.

        >>> import numpy as np, retina_tools
        >>> labels, matched, targets = retina_tools.assign(np.array([[100., 120., 200., 150.]]), np.array([3]), (480, 640))
        >>> int((labels == 3).sum()) > 0
        True
    """
    boxes = np.ascontiguousarray(np.asarray(gt_boxes, dtype=np.float64))
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    classes = np.ascontiguousarray(np.asarray(gt_classes, dtype=np.int64)).reshape(-1)
    if resize is not None:
        resize = (int(resize[0]), int(resize[1]))
    h, w = image_size
    return _core.assign(boxes, classes, (float(h), float(w)), convention, resize, low_quality, float(pos_iou), float(neg_iou), layout, **_grid(overrides))


def focal_stats(logits, targets, gamma=2.0, alpha=0.25, gammas=(0, 0.5, 1, 2), backend="cpu", fl_star_gamma=2.0, fl_star_beta=1.0, cdf_points=101):
    """Focal-loss statistics of ``logits`` [..., C] (float32 or float16, C or Fortran order)
    against integer ``targets`` [...] (0..C-1 foreground class, -1 background, -2 ignored).

    Returns the ``retina-tools focal --json`` document as a dict (losses FL, CE, alpha-CE, FL*,
    per class and per side, the normalisers of each framework, and the gamma sweep with the
    paper's Fig. 4 curves).

        >>> import numpy as np, retina_tools
        >>> x = np.random.default_rng(0).normal(size=(1000, 80)).astype(np.float32)
        >>> t = np.full(1000, -1); t[:10] = 3
        >>> d = retina_tools.focal_stats(x, t)
        >>> sorted(d["losses"])
        ['alpha_ce', 'ce', 'fl', 'fl_star']
    """
    if not isinstance(logits, np.ndarray):
        logits = np.asarray(logits)
    if logits.dtype not in (np.float32, np.float16):
        raise TypeError("logits must be float32 or float16, found %s" % logits.dtype)
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError("targets must be integers (class index, -1 background, -2 ignored), found %s" % targets.dtype)
    fortran = logits.ndim > 1 and logits.flags.f_contiguous and not logits.flags.c_contiguous
    if not (logits.flags.c_contiguous or logits.flags.f_contiguous):
        logits = np.ascontiguousarray(logits)
    half = logits.dtype == np.float16
    if half:
        logits = logits.view(np.uint16)
    t = targets.astype(np.int64, copy=False)
    doc = _core.focal_stats(logits, fortran, half, t, float(gamma), float(alpha), [float(g) for g in gammas], float(fl_star_gamma), float(fl_star_beta), int(cdf_points), backend)
    return json.loads(doc)


def evaluate(results, gt, iou_type="bbox", max_dets=None, area_rng=None, use_cats=True, img_ids=None, cat_ids=None):
    """The ``retina-tools eval --json`` document as a dict (stats, stat_names, per_class, params,
    counts) for ``results`` (path, list of dicts or Nx7 array) against ``gt`` (path, dict or COCO).

        >>> import retina_tools
        >>> d = retina_tools.evaluate("dt.json", "gt.json")
        >>> d["stats"][0]    # AP @[.50:.95], as pycocotools
    """
    from .coco import COCO
    from .cocoeval import COCOeval
    import contextlib, io

    with contextlib.redirect_stdout(io.StringIO()):
        g = gt if isinstance(gt, COCO) else COCO(gt)
        d = g.loadRes(results)
        E = COCOeval(g, d, iou_type)
        if max_dets is not None:
            E.params.maxDets = list(max_dets)
        if area_rng is not None:
            E.params.areaRngLbl = [k for k, _ in area_rng]
            E.params.areaRng = [list(v) for _, v in area_rng]
        E.params.useCats = 1 if use_cats else 0
        if img_ids is not None:
            E.params.imgIds = list(img_ids)
        if cat_ids is not None:
            E.params.catIds = list(cat_ids)
        E.evaluate()
    return json.loads(E._core.eval_json())


def diagnose(results, gt, iou_type="bbox", **sections):
    """The ``retina-tools diagnose --json`` document as a dict: TIDE (as tidecv), confusion,
    calibration and F-scores (as hotcoco), suspected annotation errors. ``results``: path, list
    of dicts or Nx7 array; ``gt``: path, dict or COCO. Section parameters as keywords, defaults as
    the CLI: ``tide_pos_thr=0.5, tide_bg_thr=0.1, confusion_iou=0.5, confusion_max_det=None,
    confusion_min_score=None, calibration_bins=10, calibration_iou=0.5, fscore_beta=1.0,
    suspect_score=0.9, suspects_top=20``. (The anchor section is CLI-only: ``--anchors``.)

        >>> d = retina_tools.diagnose("dt.json", "gt.json")
        >>> d["tide"]["main"]["Loc"]
    """
    from .coco import COCO
    import contextlib, io

    with contextlib.redirect_stdout(io.StringIO()):
        g = gt if isinstance(gt, COCO) else COCO(gt)
        d = g.loadRes(results)
    return json.loads(_core.diagnose(g._gt_handle(), d._dt_handle(g, iou_type, 0), iou_type, **sections))


def compare(results, gt, iou_type="bbox", bootstrap=1000, seed=0, confidence=0.95, keep_replicates=False, names=None):
    """The ``retina-tools compare --json`` document as a dict: each model's 12 stats, the deltas
    to the first, paired bootstrap intervals over images and p-values (same draws, same numbers
    as the CLI for the same ``seed``). ``results``: a list of two or more results (paths, lists
    of dicts or Nx7 arrays); ``gt``: path, dict or COCO; ``names`` label the models (default:
    the paths, or ``model0``, ``model1``, ...).

        >>> d = retina_tools.compare(["a.json", "b.json"], "gt.json", bootstrap=1000, seed=0)
        >>> d["bootstrap"]["delta_ci"][0]["p_value"][0]   # AP of b vs a
    """
    from .coco import COCO
    import contextlib, io

    results = list(results)
    if names is None:
        names = [r if isinstance(r, str) else "model%d" % i for i, r in enumerate(results)]
    with contextlib.redirect_stdout(io.StringIO()):
        g = gt if isinstance(gt, COCO) else COCO(gt)
        k = 17 if iou_type == "keypoints" else 0  # COCO's person keypoints (the default sigmas)
        handles = [g.loadRes(r)._dt_handle(g, iou_type, k) for r in results]
    return json.loads(_core.compare(g._gt_handle(), handles, [str(n) for n in names], iou_type, bootstrap, seed, confidence, keep_replicates))
