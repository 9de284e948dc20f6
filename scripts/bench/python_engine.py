#!/usr/bin/env python3
"""One whole-process run of a Python COCO evaluator, timed inside the process:
import, COCO(gt) + loadRes(dt), evaluate + accumulate + summarize. Prints one JSON line:
{"engine", "import_s", "load_s", "eval_s", "total_s" (everything after import), "stats"}.

    python python_engine.py ENGINE GT DT     ENGINE: retina_tools | hotcoco | faster | pycocotools
"""
import contextlib
import io
import json
import sys
import time


def main():
    engine, gt_path, dt_path = sys.argv[1:4]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        if engine == "retina_tools":
            from retina_tools import COCO, COCOeval
        elif engine == "hotcoco":
            from hotcoco import COCO, COCOeval
        elif engine == "faster":
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as COCOeval
        elif engine == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
        else:
            raise SystemExit("unknown engine " + engine)
        t1 = time.perf_counter()
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        t2 = time.perf_counter()
        E = COCOeval(gt, dt, "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
        t3 = time.perf_counter()
    print(json.dumps({"engine": engine, "import_s": t1 - t0, "load_s": t2 - t1, "eval_s": t3 - t2, "total_s": t3 - t1,
                      "stats": [float(x) for x in E.stats]}))


if __name__ == "__main__":
    main()
