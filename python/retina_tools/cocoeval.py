"""pycocotools.cocoeval.COCOeval, computed by the retina-tools Rust library.

Same interface and the same numbers as pycocotools 2.0.11, bit for bit: ``params`` (settable
as lists or numpy arrays), ``evaluate()``, ``accumulate()``, ``summarize()`` (printed through
``sys.stdout``), ``stats``, ``eval`` and, built on first access, ``evalImgs`` and ``ious``.

    >>> from retina_tools.coco import COCO
    >>> from retina_tools.cocoeval import COCOeval
    >>> gt = COCO("instances_val2017.json"); dt = gt.loadRes("detections.json")
    >>> E = COCOeval(gt, dt, "bbox"); E.evaluate(); E.accumulate(); E.summarize()
"""
import copy
import datetime
import time
from collections import defaultdict

import numpy as np

from . import _core


class COCOeval:
    def __init__(self, cocoGt=None, cocoDt=None, iouType="segm"):
        if not iouType:
            print("iouType not specified. use default iouType segm")
        self.cocoGt = cocoGt
        self.cocoDt = cocoDt
        self._evalImgs = defaultdict(list)
        self.eval = {}
        self._gts = defaultdict(list)
        self._dts = defaultdict(list)
        self.params = Params(iouType=iouType)
        self._paramsEval = {}
        self.stats = []
        self._ious = {}
        self._core = None
        self._args = None
        if not cocoGt is None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    def evaluate(self):
        """Match detections to ground truth per image and category (in Rust, GIL released)."""
        tic = time.time()
        print("Running per image evaluation...")
        p = self.params
        if not p.useSegm is None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
            print("useSegm (deprecated) is not None. Running {} evaluation".format(p.iouType))
        print("Evaluate annotation type *{}*".format(p.iouType))
        raw_img_ids = [int(i) for i in p.imgIds]
        raw_cat_ids = [int(c) for c in p.catIds]
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        if p.iouType not in ("bbox", "segm", "keypoints"):
            raise Exception("unknown iouType for iou computation")
        sigmas = [float(s) for s in np.asarray(getattr(p, "kpt_oks_sigmas", []), dtype=float).reshape(-1)]
        k = len(sigmas) if p.iouType == "keypoints" else 0
        gt = self.cocoGt._gt_handle()
        dt = self.cocoDt._dt_handle(self.cocoGt, p.iouType, k)
        self._args = (
            gt, dt, p.iouType, raw_img_ids, raw_cat_ids, bool(p.useCats), [int(m) for m in p.maxDets],
            [(float(a[0]), float(a[1])) for a in p.areaRng], [str(l) for l in p.areaRngLbl],
            [float(t) for t in np.asarray(p.iouThrs).reshape(-1)], [float(r) for r in np.asarray(p.recThrs).reshape(-1)], sigmas,
        )
        self._core = _core.evaluate(*self._args)
        self._evalImgs = None
        self._ious = None
        self._img_objs = list(p.imgIds)
        self._cat_objs = list(p.catIds) if p.useCats else [-1]
        self._area_objs = list(p.areaRng)
        self._paramsEval = copy.deepcopy(self.params)
        self.eval = {}
        toc = time.time()
        print("DONE (t={:0.2f}s).".format(toc - tic))

    @property
    def evalImgs(self):
        """Per (category, area range, image) results, as pycocotools' list (None for empty)."""
        if self._evalImgs is None:
            detailed = _core.evaluate(*self._args, record=True)
            self._evalImgs = detailed.eval_imgs(self._img_objs, self._cat_objs, self._area_objs, self.cocoDt._dt_ids())
        return self._evalImgs

    @evalImgs.setter
    def evalImgs(self, value):
        self._evalImgs = value

    @property
    def ious(self):
        """``{(imgId, catId): [D x G] float64 array or []}`` as ``evaluate()`` leaves it."""
        if self._ious is None:
            self._ious = self._core.ious(self._img_objs, self._cat_objs)
        return self._ious

    @ious.setter
    def ious(self, value):
        self._ious = value

    def accumulate(self, p=None):
        """The precision/recall/scores arrays (computed with evaluate(), in Rust)."""
        print("Accumulating evaluation results...")
        tic = time.time()
        if self._core is None:
            print("Please run evaluate() first")
            raise Exception("Please run evaluate() first")
        if p is None:
            p = self.params
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        precision, recall, scores = self._core.arrays()
        T, R, K, A, M = precision.shape
        self.eval = {
            "params": p,
            "counts": [T, R, K, A, M],
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": precision,
            "recall": recall,
            "scores": scores,
        }
        toc = time.time()
        print("DONE (t={:0.2f}s).".format(toc - tic))

    def summarize(self):
        """Print pycocotools' summary lines and set ``stats``."""
        if not self.eval:
            raise Exception("Please run accumulate() first")
        lines = self._core.lines()
        if self.params.iouType in ("bbox", "segm") and len(self.params.maxDets) < 3:
            print(lines[0])
            raise IndexError("list index out of range")
        for line in lines:
            print(line)
        self.stats = np.array(self._core.stats(), dtype=np.float64)

    def __str__(self):
        self.summarize()


class Params:
    """Params for coco evaluation api (pycocotools' defaults, numpy's exact thresholds)."""

    def setDetParams(self):
        self.imgIds = []
        self.catIds = []
        self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
        self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
        self.maxDets = [1, 10, 100]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1

    def setKpParams(self):
        self.imgIds = []
        self.catIds = []
        self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
        self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
        self.maxDets = [20]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "medium", "large"]
        self.useCats = 1
        self.kpt_oks_sigmas = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0

    def __init__(self, iouType="segm"):
        if iouType == "segm" or iouType == "bbox":
            self.setDetParams()
        elif iouType == "keypoints":
            self.setKpParams()
        else:
            raise Exception("iouType not supported")
        self.iouType = iouType
        self.useSegm = None
