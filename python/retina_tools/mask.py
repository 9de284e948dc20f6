"""pycocotools.mask, from the retina-tools Rust library (maskApi.c ported operation by operation).

Same functions, arguments, dtypes and memory order as pycocotools 2.0.11::

    >>> import numpy as np
    >>> from retina_tools import mask
    >>> m = np.zeros((4, 5), dtype=np.uint8, order="F"); m[1:3, 1:4] = 1
    >>> r = mask.encode(m); r
    {'size': [4, 5], 'counts': b'51200'}
    >>> int(mask.area(r)), mask.toBbox(r).tolist()
    (6, [1.0, 1.0, 3.0, 2.0])
"""
import numpy as np

from . import _core

__all__ = ["encode", "decode", "area", "toBbox", "iou", "merge", "frPyObjects"]


def _encode3(bimask):
    if not isinstance(bimask, np.ndarray):
        raise TypeError("encode expects a numpy uint8 array of shape (h, w) or (h, w, n)")
    if bimask.dtype != np.uint8:
        raise ValueError("Buffer dtype mismatch, expected 'uint8_t' but got '%s'" % bimask.dtype)
    if not bimask.flags.f_contiguous:
        raise ValueError("ndarray is not Fortran contiguous")
    h, w, n = bimask.shape
    return _core.mask_encode(bimask.tobytes(order="F"), h, w, n)


def encode(bimask):
    """Binary mask(s) (uint8, (h, w) or Fortran (h, w, n)) -> RLE dict (or list of them)."""
    if len(bimask.shape) == 3:
        return _encode3(bimask)
    elif len(bimask.shape) == 2:
        h, w = bimask.shape
        return _encode3(bimask.reshape((h, w, 1), order="F"))[0]
    raise ValueError("encode expects a mask of shape (h, w) or (h, w, n)")


def _decode_list(rles):
    buf, h, w = _core.mask_decode(rles)
    return np.frombuffer(bytearray(buf), dtype=np.uint8).reshape((h, w, len(rles)), order="F")


def decode(rleObjs):
    """RLE dict -> uint8 (h, w) mask; list of RLEs -> (h, w, n), Fortran order."""
    if type(rleObjs) == list:
        return _decode_list(rleObjs)
    return _decode_list([rleObjs])[:, :, 0]


def area(rleObjs):
    """Foreground pixel count: uint32 array for a list, numpy uint32 for one RLE."""
    if type(rleObjs) == list:
        return _core.mask_area(rleObjs)
    return _core.mask_area([rleObjs])[0]


def toBbox(rleObjs):
    """[x, y, w, h] of the foreground (float64; (n, 4) for a list)."""
    if type(rleObjs) == list:
        return _core.mask_to_bbox(rleObjs)
    return _core.mask_to_bbox([rleObjs])[0]


def merge(rleObjs, intersect=0):
    """Union (or intersection with intersect=1) of RLEs of one size."""
    return _core.mask_merge(list(rleObjs), bool(intersect))


def _preproc(objs):
    if len(objs) == 0:
        return objs
    if type(objs) == np.ndarray:
        if len(objs.shape) == 1:
            objs = objs.reshape((objs[0], 1))
        if not len(objs.shape) == 2 or not objs.shape[1] == 4:
            raise Exception("numpy ndarray input is only for *bounding boxes* and should have Nx4 dimension")
        return objs.astype(np.double)
    if type(objs) == list:
        isbox = np.all(np.array([(len(obj) == 4) and ((type(obj) == list) or (type(obj) == np.ndarray)) for obj in objs]))
        isrle = np.all(np.array([type(obj) == dict for obj in objs]))
        if isbox:
            objs = np.array(objs, dtype=np.double)
            if len(objs.shape) == 1:
                objs = objs.reshape((1, objs.shape[0]))
            return objs
        if isrle:
            return list(objs)
        raise Exception("list input can be bounding box (Nx4) or RLEs ([RLE])")
    raise Exception("unrecognized type.  The following type: RLEs (rle), np.ndarray (box), and list (box) are supported.")


def iou(dt, gt, pyiscrowd):
    """IoU matrix [len(dt) x len(gt)] of RLE lists or box arrays (crowd GT: intersection / dt area)."""
    iscrowd = [bool(x) for x in np.array(pyiscrowd, dtype=np.uint8).reshape(-1)]
    dt = _preproc(dt)
    gt = _preproc(gt)
    if len(dt) == 0 or len(gt) == 0:
        return []
    if not type(dt) == type(gt):
        raise Exception("The dt and gt should have the same data type, either RLEs, list or np.ndarray")
    if len(iscrowd) != len(gt):
        raise Exception("iscrowd must have the same length as gt")
    if type(dt) == np.ndarray:
        out = _core.mask_iou_box(dt.tolist(), gt.tolist(), iscrowd)
    else:
        out = _core.mask_iou_rle(dt, gt, iscrowd)
    return np.asfortranarray(out)


def frPyObjects(pyobj, h, w):
    """Polygons, boxes or uncompressed RLEs -> compressed RLE(s), as pycocotools."""
    h, w = int(h), int(w)
    if type(pyobj) == np.ndarray:
        return _core.mask_fr_bbox(np.asarray(pyobj, dtype=np.double).reshape(-1, 4).tolist(), h, w)
    if type(pyobj) == list and len(pyobj[0]) == 4:
        # pycocotools 2.0.11 passes the list on to frBbox, which takes arrays only.
        raise TypeError("Argument 'bb' has incorrect type (expected numpy.ndarray, got list)")
    if type(pyobj) == list and len(pyobj[0]) > 4:
        return _core.mask_fr_poly([[float(v) for v in p] for p in pyobj], h, w)
    if type(pyobj) == list and type(pyobj[0]) == dict and "counts" in pyobj[0] and "size" in pyobj[0]:
        return _core.mask_fr_uncompressed(pyobj)
    if type(pyobj) == list and len(pyobj) == 4:
        raise TypeError("Argument 'bb' has incorrect type (expected numpy.ndarray, got list)")
    if type(pyobj) == list and len(pyobj) > 4:
        return _core.mask_fr_poly([[float(v) for v in pyobj]], h, w)[0]
    if type(pyobj) == dict and "counts" in pyobj and "size" in pyobj:
        return _core.mask_fr_uncompressed([pyobj])[0]
    raise Exception("input type is not supported.")
