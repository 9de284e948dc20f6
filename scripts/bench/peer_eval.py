#!/usr/bin/env python3
"""Run one peer COCO evaluator as a whole process: load GT, load results, evaluate, accumulate,
summarize. Prints the 12 stats as JSON on the last stdout line (for the bit-exactness column).

    python peer_eval.py ENGINE GT DT      ENGINE: pycocotools | faster | hotcoco | ultrafast | vernier
"""
import contextlib
import json
import sys


def main():
    engine, gt_path, dt_path = sys.argv[1:4]
    with contextlib.redirect_stdout(sys.stderr):
        if engine == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
        elif engine == "faster":
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as COCOeval
        elif engine == "hotcoco":
            from hotcoco import COCO, COCOeval
        elif engine == "ultrafast":
            from ultrafast_pycocotools import COCO, COCOeval
        elif engine == "vernier":
            from pycocotools.coco import COCO
            from vernier import COCOeval
        else:
            raise SystemExit("unknown engine " + engine)
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        E = COCOeval(gt, dt, "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    print(json.dumps([float(x) for x in E.stats]))


if __name__ == "__main__":
    main()
