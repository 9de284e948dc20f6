"""pycocotools.coco.COCO, backed by the retina-tools Rust library.

The Python side keeps pycocotools' dict indexes (``dataset``, ``anns``, ``imgs``, ``cats``,
``imgToAnns``, ``catToImgs``) and its getters; evaluation reads the same data through the Rust
parser. A results file given to ``loadRes`` as a path is parsed by Rust only; its Python dicts
are built on first access, so evaluating a large results file never builds them.

    >>> from retina_tools.coco import COCO
    >>> gt = COCO("instances_val2017.json")
    >>> dt = gt.loadRes("detections.json")
"""
import copy
import gzip
import itertools
import json
import os
import time
from collections import defaultdict

import numpy as np

from . import _core
from . import mask as maskUtils


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _read_head(path, n=1 << 16):
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read(n)


def _isArrayLike(obj):
    return hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.decode("ascii")
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _dumps(obj):
    return json.dumps(obj, default=_json_default, allow_nan=True).encode()


def _first_result(text):
    """The first element of a JSON results list, parsed alone (loadRes picks its branch by it)."""
    head = 1 << 16
    while True:
        s = text[:head].decode("utf-8", errors="ignore") if isinstance(text, (bytes, bytearray)) else text[:head]
        first = _first_of(s)
        if first is not _INCOMPLETE or head >= len(text):
            return None if first is _INCOMPLETE else first
        head *= 4


_INCOMPLETE = object()


def _first_of(s):
    i = s.find("[")
    if i < 0:
        return None
    j = i + 1
    while j < len(s) and s[j] in " \t\r\n":
        j += 1
    if j >= len(s) or s[j] == "]":
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(s, j)
    except ValueError:
        return _INCOMPLETE
    return obj


def _branch(first):
    """(iouType, keypoints per detection) of loadRes' branch for a first element."""
    if not isinstance(first, dict):
        return "bbox", 0
    if "bbox" in first and not first["bbox"] == []:
        return "bbox", 0
    if "segmentation" in first:
        return "segm", 0
    if "keypoints" in first:
        return "keypoints", len(first["keypoints"]) // 3
    return "bbox", 0


class COCO:
    def __init__(self, annotation_file=None):
        """Load a COCO annotation file (path) or dataset dict and build the indexes."""
        self._dataset, self._anns, self._cats, self._imgs = dict(), dict(), dict(), dict()
        self._imgToAnns, self._catToImgs = defaultdict(list), defaultdict(list)
        self._lazy = None  # (gt COCO, results JSON text) of a loadRes result not yet indexed
        self._text = None  # JSON text of `dataset` as it was read (None: serialise on demand)
        self._label = "<dataset>"
        self._gt_core = None
        self._dt_cache = {}
        self._from_res = False
        self._path = None  # the file `dataset` was read from, while it is unchanged
        if annotation_file is not None:
            if isinstance(annotation_file, dict):
                self._dataset = annotation_file
            else:
                print("loading annotations into memory...")
                tic = time.time()
                self._label = os.fspath(annotation_file)
                self._path = self._label
                try:
                    # The Rust parse answers the evaluator; the Python dicts wait for first use.
                    self._gt_core = _core.Gt.load(self._path)
                except ValueError:
                    self._gt_core = None
                if self._gt_core is not None:
                    print("Done (t={:0.2f}s)".format(time.time() - tic))
                    print("creating index...")
                    print("index created!")
                    self._lazy = (None, None)
                    return
                raw = _read(self._path)
                self._text = raw
                dataset = json.loads(raw)
                assert type(dataset) == dict, "annotation file format {} not supported".format(type(dataset))
                print("Done (t={:0.2f}s)".format(time.time() - tic))
                self._dataset = dataset
            self._create_index(keep_text=True)

    # -- lazily indexed attributes (a loadRes result builds its dicts on first access) --------
    def _materialize(self):
        if self._lazy is None:
            return
        gt, text = self._lazy
        self._lazy = None
        core = self._gt_core
        if text is None:
            text = self._text = _read(self._path)
        loaded = json.loads(text)
        self._dataset = loaded if gt is None else gt._res_dataset(loaded)
        self._create_index(keep_text=True, quiet=True)
        self._gt_core = core

    def _get(name):
        def fget(self):
            self._materialize()
            return getattr(self, name)

        def fset(self, value):
            self._materialize()
            setattr(self, name, value)
            if name == "_dataset":
                self._text = None
                self._gt_core = None
                self._dt_cache = {}

        return property(fget, fset)

    dataset = _get("_dataset")
    anns = _get("_anns")
    cats = _get("_cats")
    imgs = _get("_imgs")
    imgToAnns = _get("_imgToAnns")
    catToImgs = _get("_catToImgs")
    del _get

    def createIndex(self):
        """Rebuild the indexes from ``dataset`` (call it after changing ``dataset``)."""
        self._materialize()
        self._create_index(keep_text=False)

    def _create_index(self, keep_text, quiet=False):
        if not quiet:
            print("creating index...")
        anns, cats, imgs = {}, {}, {}
        imgToAnns, catToImgs = defaultdict(list), defaultdict(list)
        ds = self._dataset
        if "annotations" in ds:
            for ann in ds["annotations"]:
                imgToAnns[ann["image_id"]].append(ann)
                anns[ann["id"]] = ann
        if "images" in ds:
            for img in ds["images"]:
                imgs[img["id"]] = img
        if "categories" in ds:
            for cat in ds["categories"]:
                cats[cat["id"]] = cat
        if "annotations" in ds and "categories" in ds:
            for ann in ds["annotations"]:
                catToImgs[ann["category_id"]].append(ann["image_id"])
        if not quiet:
            print("index created!")
        self._anns, self._imgToAnns, self._catToImgs, self._imgs, self._cats = anns, imgToAnns, catToImgs, imgs, cats
        if not keep_text:
            self._text = None
            self._path = None
            self._from_res = False
        self._gt_core = None
        self._dt_cache = {}

    def info(self):
        for key, value in self.dataset["info"].items():
            print("{}: {}".format(key, value))

    def getAnnIds(self, imgIds=[], catIds=[], areaRng=[], iscrowd=None):
        imgIds = imgIds if _isArrayLike(imgIds) else [imgIds]
        catIds = catIds if _isArrayLike(catIds) else [catIds]
        if len(imgIds) == len(catIds) == len(areaRng) == 0:
            anns = self.dataset["annotations"]
        else:
            if not len(imgIds) == 0:
                lists = [self.imgToAnns[imgId] for imgId in imgIds if imgId in self.imgToAnns]
                anns = list(itertools.chain.from_iterable(lists))
            else:
                anns = self.dataset["annotations"]
            anns = anns if len(catIds) == 0 else [ann for ann in anns if ann["category_id"] in catIds]
            anns = anns if len(areaRng) == 0 else [ann for ann in anns if ann["area"] > areaRng[0] and ann["area"] < areaRng[1]]
        if not iscrowd == None:
            ids = [ann["id"] for ann in anns if ann["iscrowd"] == iscrowd]
        else:
            ids = [ann["id"] for ann in anns]
        return ids

    def getCatIds(self, catNms=[], supNms=[], catIds=[]):
        if self._lazy is not None and self._lazy[0] is None and all(_isArrayLike(x) and len(x) == 0 for x in (catNms, supNms, catIds)):
            return self._gt_core.category_ids()
        catNms = catNms if _isArrayLike(catNms) else [catNms]
        supNms = supNms if _isArrayLike(supNms) else [supNms]
        catIds = catIds if _isArrayLike(catIds) else [catIds]
        if len(catNms) == len(supNms) == len(catIds) == 0:
            cats = self.dataset["categories"]
        else:
            cats = self.dataset["categories"]
            cats = cats if len(catNms) == 0 else [cat for cat in cats if cat["name"] in catNms]
            cats = cats if len(supNms) == 0 else [cat for cat in cats if cat["supercategory"] in supNms]
            cats = cats if len(catIds) == 0 else [cat for cat in cats if cat["id"] in catIds]
        ids = [cat["id"] for cat in cats]
        return ids

    def getImgIds(self, imgIds=[], catIds=[]):
        imgIds = imgIds if _isArrayLike(imgIds) else [imgIds]
        catIds = catIds if _isArrayLike(catIds) else [catIds]
        if len(imgIds) == len(catIds) == 0:
            if self._lazy is not None and self._lazy[0] is None:
                return self._gt_core.image_ids()
            ids = self.imgs.keys()
        else:
            ids = set(imgIds)
            for i, catId in enumerate(catIds):
                if i == 0 and len(ids) == 0:
                    ids = set(self.catToImgs[catId])
                else:
                    ids &= set(self.catToImgs[catId])
        return list(ids)

    def loadAnns(self, ids=[]):
        if _isArrayLike(ids):
            return [self.anns[id] for id in ids]
        elif type(ids) == int:
            return [self.anns[ids]]

    def loadCats(self, ids=[]):
        if _isArrayLike(ids):
            return [self.cats[id] for id in ids]
        elif type(ids) == int:
            return [self.cats[ids]]

    def loadImgs(self, ids=[]):
        if _isArrayLike(ids):
            return [self.imgs[id] for id in ids]
        elif type(ids) == int:
            return [self.imgs[ids]]

    def showAnns(self, anns, draw_bbox=False):
        raise NotImplementedError("showAnns needs matplotlib; use pycocotools for drawing")

    # -- results ------------------------------------------------------------------------------
    def _res_dataset(self, anns):
        """What pycocotools' loadRes makes of a results list (its Python bookkeeping)."""
        ds = {"info": copy.deepcopy(self.dataset.get("info", {})), "images": [img for img in self.dataset["images"]]}
        if len(anns) == 0:
            ds["categories"] = copy.deepcopy(self.dataset["categories"])
        elif "caption" in anns[0]:
            imgIds = set([img["id"] for img in ds["images"]]) & set([ann["image_id"] for ann in anns])
            ds["images"] = [img for img in ds["images"] if img["id"] in imgIds]
            for id, ann in enumerate(anns):
                ann["id"] = id + 1
        elif "bbox" in anns[0] and not anns[0]["bbox"] == []:
            ds["categories"] = copy.deepcopy(self.dataset["categories"])
            for id, ann in enumerate(anns):
                bb = ann["bbox"]
                x1, x2, y1, y2 = [bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]]
                if not "segmentation" in ann:
                    ann["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
                ann["area"] = bb[2] * bb[3]
                ann["id"] = id + 1
                ann["iscrowd"] = 0
        elif "segmentation" in anns[0]:
            ds["categories"] = copy.deepcopy(self.dataset["categories"])
            for id, ann in enumerate(anns):
                ann["area"] = maskUtils.area(ann["segmentation"])
                if not "bbox" in ann:
                    ann["bbox"] = maskUtils.toBbox(ann["segmentation"])
                ann["id"] = id + 1
                ann["iscrowd"] = 0
        elif "keypoints" in anns[0]:
            ds["categories"] = copy.deepcopy(self.dataset["categories"])
            for id, ann in enumerate(anns):
                s = ann["keypoints"]
                x = s[0::3]
                y = s[1::3]
                x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
                ann["area"] = (x1 - x0) * (y1 - y0)
                ann["id"] = id + 1
                ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
        ds["annotations"] = anns
        return ds

    def loadRes(self, resFile):
        """Load results (a JSON file path, a list of dicts, or a numpy Nx7 array) against this GT.

        Checked by the Rust parser as the CLI checks a results file: bad input raises ValueError
        naming the element (``[17].bbox``); image ids absent from the GT are refused
        ("Results do not correspond to current coco set"). An empty list is accepted (every
        category with GT then scores 0), where pycocotools crashes.
        """
        print("Loading and preparing results...")
        tic = time.time()
        res = COCO()
        res._from_res = True
        if isinstance(resFile, str) or hasattr(resFile, "__fspath__"):
            text = None
            label = os.fspath(resFile)
            res._path = label
            n = 1 << 16
            while True:  # the first element, however long (a big RLE string)
                head = _read_head(label, n)
                first = _first_result(head)
                if first is not None or len(head) < n:
                    break
                n *= 16
            anns = None
        else:
            if type(resFile) == np.ndarray:
                anns = self.loadNumpyAnnotations(resFile)
            else:
                anns = resFile
            assert type(anns) == list, "results in not an array of objects"
            text = _dumps(anns)
            label = "<results>"
            first = anns[0] if anns else None
        res._text = text
        res._label = label
        iou, k = _branch(first)
        # Validate now, as loadRes asserts now (the parse is kept for a bbox evaluation). A GT
        # the Rust parser refuses is reported when it is evaluated.
        try:
            self._gt_handle()
        except ValueError:
            pass
        else:
            res._dt_handle(self, iou, k)
        if anns is None:
            res._lazy = (self, None)
        else:
            res._dataset = self._res_dataset(anns)
            res._create_index(keep_text=True, quiet=True)
        res._res_gt = self
        print("DONE (t={:0.2f}s)".format(time.time() - tic))
        return res

    def loadNumpyAnnotations(self, data):
        print("Converting ndarray to lists...")
        assert type(data) == np.ndarray
        print(data.shape)
        assert data.shape[1] == 7
        N = data.shape[0]
        ann = []
        for i in range(N):
            if i % 1000000 == 0:
                print("{}/{}".format(i, N))
            ann += [{
                "image_id": int(data[i, 0]),
                "bbox": [data[i, 1], data[i, 2], data[i, 3], data[i, 4]],
                "score": data[i, 5],
                "category_id": int(data[i, 6]),
            }]
        return ann

    def annToRLE(self, ann):
        t = self.imgs[ann["image_id"]]
        h, w = t["height"], t["width"]
        segm = ann["segmentation"]
        if type(segm) == list:
            rles = maskUtils.frPyObjects(segm, h, w)
            rle = maskUtils.merge(rles)
        elif type(segm["counts"]) == list:
            rle = maskUtils.frPyObjects(segm, h, w)
        else:
            rle = ann["segmentation"]
        return rle

    def annToMask(self, ann):
        rle = self.annToRLE(ann)
        m = maskUtils.decode(rle)
        return m

    # -- the Rust side --------------------------------------------------------------------
    def _json_text(self):
        if self._text is None:
            self._text = _dumps(self._dataset)
        return self._text

    def _gt_handle(self):
        """This dataset as the Rust library's ground truth."""
        if self._gt_core is None:
            if self._path is not None and self._text is None and not self._from_res:
                self._gt_core = _core.Gt.load(self._path)
            else:
                self._gt_core = _core.Gt(self._json_text(), self._label)
        return self._gt_core

    def _dt_handle(self, gt, iouType, k):
        """This COCO's detections parsed against ``gt`` (a COCO) for ``iouType``."""
        g = gt._gt_handle()
        key = (id(g), iouType, k)
        hit = self._dt_cache.get(key)
        if hit is not None and hit[0] is g:
            return hit[1]
        if self._from_res and self._path is not None:
            d = _core.Dt.load(g, self._path, iouType, k)
        else:
            if self._from_res and self._text is not None:
                text = self._text
            else:
                # A COCO built from a dataset dict used as detections (torchmetrics does this).
                text = _dumps(self._dataset.get("annotations", []))
            d = _core.Dt(g, text, self._label, iouType, k)
        self._dt_cache[key] = (g, d)
        return d

    def _dt_ids(self):
        """Detection ids when they are not loadRes' 1..N (a dataset dict used as detections)."""
        if self._from_res:
            return None
        ids = [a["id"] for a in self._dataset.get("annotations", [])]
        if ids == list(range(1, len(ids) + 1)):
            return None
        return [int(i) for i in ids]
