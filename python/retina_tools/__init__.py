"""retina-tools from Python: a pycocotools drop-in (bit for bit with pycocotools 2.0.11) and
RetinaNet anchors, assignment and focal-loss statistics on numpy arrays, all computed by the
retina-tools Rust library (the GIL is released while it works).

    >>> from retina_tools import COCO, COCOeval
    >>> gt = COCO("instances_val2017.json"); dt = gt.loadRes("detections.json")
    >>> E = COCOeval(gt, dt, "bbox"); E.evaluate(); E.accumulate(); E.summarize()

``retina_tools.install_as_pycocotools()`` makes ``import pycocotools.coco`` (``.cocoeval``,
``.mask``) resolve to this package, for code that imports pycocotools itself.
"""
import sys
import types

from . import mask
from .api import anchors, assign, compare, diagnose, evaluate, focal_stats
from .coco import COCO
from .cocoeval import COCOeval, Params

__all__ = ["COCO", "COCOeval", "Params", "mask", "anchors", "assign", "focal_stats", "evaluate", "diagnose", "compare", "install_as_pycocotools"]
__version__ = "0.1.0"


def install_as_pycocotools():
    """Make ``pycocotools``, ``pycocotools.coco``, ``pycocotools.cocoeval`` and ``pycocotools.mask``
    resolve to retina_tools (for this process), so detectron2, mmdetection and torchmetrics use
    it unchanged. Call it before they import pycocotools.

        >>> import retina_tools; retina_tools.install_as_pycocotools()
        >>> from pycocotools.cocoeval import COCOeval   # retina_tools.cocoeval.COCOeval
    """
    from . import coco, cocoeval

    pkg = types.ModuleType("pycocotools")
    pkg.__path__ = []
    pkg.__version__ = "2.0.11"
    pkg.__retina_tools__ = True
    pkg.coco, pkg.cocoeval, pkg.mask = coco, cocoeval, mask
    sys.modules["pycocotools"] = pkg
    sys.modules["pycocotools.coco"] = coco
    sys.modules["pycocotools.cocoeval"] = cocoeval
    sys.modules["pycocotools.mask"] = mask
    sys.modules["pycocotools._mask"] = mask
