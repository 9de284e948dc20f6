"""Reference side of `retina-tools compare`'s exactness checks: the draws (SplitMix64 +
Lemire's unbiased bounded integers, written again here from their papers) and the resample made
explicit as COCO files, scored by pycocotools.

The explicit resample: the evaluated images in sorted-id order, each repeated as often as it
was drawn; copy j of an image becomes a new image placed right after the previous one (new ids
1..n in that order), with the original's GT annotations and detections (in file order)."""
import contextlib
import copy
import io

import numpy as np

M64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class SplitMix64:
    def __init__(self, seed, replicate):
        self.state = mix64(seed ^ mix64(replicate))

    def next(self):
        self.state = (self.state + GOLDEN_GAMMA) & M64
        return mix64(self.state)

    def below(self, n):
        m = self.next() * n
        if (m & M64) < n:
            t = ((1 << 64) - n) % n
            while (m & M64) < t:
                m = self.next() * n
        return m >> 64


def draw(seed, replicate, n):
    """How often each of the n images (by rank) is drawn in replicate `replicate`."""
    g = SplitMix64(seed, replicate)
    w = [0] * n
    for _ in range(n):
        w[g.below(n)] += 1
    return w


def explicit(gt, dets, drawn_ids):
    """The resample as a GT dict and a results list. `drawn_ids`: sorted, with repeats."""
    images = {im["id"]: im for im in gt["images"]}
    anns_by_img = {}
    for a in gt["annotations"]:
        anns_by_img.setdefault(a["image_id"], []).append(a)
    dets_by_img = {}
    for d in dets:
        dets_by_img.setdefault(d["image_id"], []).append(d)
    out_images, out_anns, out_dets = [], [], []
    for new_id, old in enumerate(drawn_ids, start=1):
        im = dict(images[old])
        im["id"] = new_id
        out_images.append(im)
        for a in anns_by_img.get(old, []):
            a2 = copy.deepcopy(a)
            a2["image_id"] = new_id
            a2["id"] = len(out_anns) + 1
            out_anns.append(a2)
        for d in dets_by_img.get(old, []):
            d2 = copy.deepcopy(d)
            d2["image_id"] = new_id
            for k in ("id", "area"):
                d2.pop(k, None)
            out_dets.append(d2)
    g = {k: v for k, v in gt.items() if k not in ("images", "annotations")}
    g["images"] = out_images
    g["annotations"] = out_anns
    return g, out_dets


def pycocotools_stats(gt_dict, dets, iou_type="bbox", use_cats=True, max_dets=None):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = gt_dict
        c.createIndex()
        r = c.loadRes(copy.deepcopy(dets)) if dets else None
        e = COCOeval(c, r, iou_type)
        e.params.useCats = int(use_cats)
        if max_dets is not None:
            e.params.maxDets = list(max_dets)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return [float(x) for x in e.stats]


def eval_ids(gt, img_ids=None):
    ids = sorted({im["id"] for im in gt["images"]})
    if img_ids is not None:
        ids = sorted(set(img_ids))
    return ids


def drawn_ids(weights, ids):
    return [i for i, w in zip(ids, weights) for _ in range(w)]


def same_bits(a, b):
    return len(a) == len(b) and all(np.float64(x).tobytes() == np.float64(y).tobytes() for x, y in zip(a, b))
