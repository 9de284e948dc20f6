"""torchmetrics' MeanAveragePrecision(backend="pycocotools") on the bundled val2014-100 data,
printed as JSON; `--dropin` first calls retina_tools.install_as_pycocotools(). Run by
test_torchmetrics.py in two processes, with and without the drop-in."""
import json
import os
import sys

import numpy as np
import torch

if "--dropin" in sys.argv:
    import retina_tools

    retina_tools.install_as_pycocotools()
from torchmetrics.detection import MeanAveragePrecision

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures", "coco-val2014-100")


def main():
    iou_type = sys.argv[1]
    with open(os.path.join(FIX, "instances_val2014_100.json")) as f:
        gt = json.load(f)
    with open(os.path.join(FIX, "fakebbox100_results.json")) as f:
        dets = json.load(f)
    imgs = sorted(im["id"] for im in gt["images"])[:40]
    by_img = {i: [] for i in imgs}
    for a in gt["annotations"]:
        if a["image_id"] in by_img:
            by_img[a["image_id"]].append(a)
    preds, target = [], []
    for i in imgs:
        anns = by_img[i]
        ds = [d for d in dets if d["image_id"] == i]
        target.append({
            "boxes": torch.tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64),
            "iscrowd": torch.tensor([a["iscrowd"] for a in anns], dtype=torch.int64),
            "area": torch.tensor([a["area"] for a in anns], dtype=torch.float32),
        })
        preds.append({
            "boxes": torch.tensor([d["bbox"] for d in ds], dtype=torch.float32).reshape(-1, 4),
            "scores": torch.tensor([d["score"] for d in ds], dtype=torch.float32),
            "labels": torch.tensor([d["category_id"] for d in ds], dtype=torch.int64),
        })
    m = MeanAveragePrecision(box_format="xywh", iou_type=iou_type, backend="pycocotools", class_metrics=True, extended_summary=True)
    m.update(preds, target)
    r = m.compute()
    out = {}
    for k, v in r.items():
        if k == "ious":
            out[k] = {str(kk): np.asarray(vv).tolist() for kk, vv in sorted(v.items())}
        elif isinstance(v, torch.Tensor):
            out[k] = v.double().tolist()
        else:
            out[k] = repr(v)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
