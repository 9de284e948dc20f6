"""retina_tools.mask against pycocotools.mask on random masks, polygons, boxes and RLEs: same
values, dtypes, shapes and memory order."""
import numpy as np
import pytest
from pycocotools import mask as ref

from retina_tools import mask as ours

import conftest  # noqa: F401  (puts scripts/conformance on sys.path)
import eval_segm_kp  # the CLI sweep's uncompressed-RLE helper


def rand_masks(rng, h, w, n):
    m = np.zeros((h, w, n), dtype=np.uint8, order="F")
    for k in range(n):
        for _ in range(int(rng.integers(0, 4))):
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y0:y0 + int(rng.integers(1, h)), x0:x0 + int(rng.integers(1, w)), k] = 1
        m[:, :, k] ^= (rng.random((h, w)) < 0.05).astype(np.uint8)
    return m


def same(a, b):
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
        assert a.flags.f_contiguous == b.flags.f_contiguous
    elif isinstance(b, np.generic):
        assert type(a) == type(b) and a == b
    else:
        assert a == b


@pytest.mark.parametrize("seed", range(25))
def test_random_masks(seed):
    rng = np.random.default_rng(seed)
    h, w, n = int(rng.integers(1, 40)), int(rng.integers(1, 40)), int(rng.integers(1, 5))
    m = rand_masks(rng, h, w, n)
    ro, rr = ours.encode(m), ref.encode(m)
    same(ro, rr)
    same(ours.encode(np.asfortranarray(m[:, :, 0])), ref.encode(np.asfortranarray(m[:, :, 0])))
    if h > 1 and w > 1:  # pycocotools wants Fortran order, 2-D masks too
        for f in (ours.encode, ref.encode):
            with pytest.raises(ValueError):
                f(np.ascontiguousarray(m[:, :, 0]))
    same(ours.decode(rr), ref.decode(rr))
    same(ours.decode(rr[0]), ref.decode(rr[0]))
    same(ours.area(rr), ref.area(rr))
    same(ours.area(rr[0]), ref.area(rr[0]))
    same(ours.toBbox(rr), ref.toBbox(rr))
    same(ours.toBbox(rr[0]), ref.toBbox(rr[0]))
    same(ours.merge(rr), ref.merge(rr))
    same(ours.merge(rr, intersect=1), ref.merge(rr, intersect=1))
    crowd = [int(x) for x in rng.integers(0, 2, n)]
    same(ours.iou(rr, rr[::-1], crowd), ref.iou(rr, rr[::-1], crowd))
    # str counts, as JSON gives them
    rs = [{"size": r["size"], "counts": r["counts"].decode()} for r in rr]
    same(ours.area(rs), ref.area(rs))


@pytest.mark.parametrize("seed", range(25))
def test_polygons_boxes_uncompressed(seed):
    rng = np.random.default_rng(1000 + seed)
    h, w = int(rng.integers(5, 120)), int(rng.integers(5, 120))
    polys = [list(map(float, rng.uniform(-5, max(h, w) + 5, 2 * int(rng.integers(3, 9))).round(2))) for _ in range(int(rng.integers(1, 4)))]
    same(ours.frPyObjects(polys, h, w), ref.frPyObjects(polys, h, w))
    boxes = [list(map(float, np.r_[rng.uniform(-3, w, 1), rng.uniform(-3, h, 1), rng.uniform(0, w, 2)].round(1))) for _ in range(3)]
    same(ours.frPyObjects(np.array(boxes), h, w), ref.frPyObjects(np.array(boxes), h, w))
    # What pycocotools 2.0.11 refuses with TypeError, we refuse too: a flat polygon, boxes as lists.
    for bad in (polys[0], boxes, boxes[0]):
        for f in (ours.frPyObjects, ref.frPyObjects):
            with pytest.raises(TypeError):
                f(bad, h, w)
    unc = eval_segm_kp.uncompressed(rand_masks(rng, h, w, 1)[:, :, 0])
    same(ours.frPyObjects(unc, h, w), ref.frPyObjects(unc, h, w))
    same(ours.frPyObjects([unc], h, w), ref.frPyObjects([unc], h, w))
    # box IoU (lists and arrays), crowd and not
    b2 = np.array(boxes)[::-1].copy()
    same(ours.iou(boxes, b2.tolist(), [0, 1, 0]), ref.iou(boxes, b2.tolist(), [0, 1, 0]))
    same(ours.iou(np.array(boxes), b2, [1, 0, 0]), ref.iou(np.array(boxes), b2, [1, 0, 0]))
    assert ours.iou([], boxes, [0, 0, 0]) == ref.iou([], boxes, [0, 0, 0]) == []


def test_bad_rle_raises_not_crashes():
    with pytest.raises(ValueError):  # would take maskApi.c minutes and overflow its ints
        ours.frPyObjects([[0.0, 0.0, 4e9, 0.0, 4e9, 4e9]], 10, 10)
    with pytest.raises(ValueError):
        ours.decode({"size": [3, 3], "counts": b"\x7f\x7f"})
    with pytest.raises(ValueError):
        ours.encode(np.zeros((3, 3), dtype=np.float64))
    with pytest.raises(TypeError):
        ours.area([42])
