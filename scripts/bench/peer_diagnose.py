#!/usr/bin/env python3
"""Run one peer's diagnosis as a whole process (load, evaluate, the analyses).

    python peer_diagnose.py ENGINE GT DT      ENGINE: hotcoco | tidecv

hotcoco: COCOeval.evaluate() + accumulate/summarize + tide_errors + confusion_matrix + calibration
+ f_scores, its Python API (the sections `retina-tools diagnose` computes by default).
tidecv: TIDE(pos 0.5, bg 0.1).evaluate_range on the same files (BOX mode), the authors' package.
"""
import contextlib
import sys


def main():
    engine, gt_path, dt_path = sys.argv[1:4]
    with contextlib.redirect_stdout(sys.stderr):
        if engine == "hotcoco":
            from hotcoco import COCO, COCOeval
            gt = COCO(gt_path)
            dt = gt.loadRes(dt_path)
            e = COCOeval(gt, dt, "bbox")
            e.evaluate()
            e.accumulate()
            e.summarize()
            e.tide_errors(pos_thr=0.5, bg_thr=0.1)
            e.confusion_matrix(iou_thr=0.5)
            e.calibration(n_bins=10, iou_threshold=0.5)
            e.f_scores(beta=1.0)
        elif engine == "tidecv":
            from tidecv import TIDE, datasets
            t = TIDE(pos_threshold=0.5, background_threshold=0.1)
            t.evaluate(datasets.COCO(gt_path), datasets.COCOResult(dt_path), mode=TIDE.BOX)
            t.get_all_errors()
        else:
            raise SystemExit("unknown engine " + engine)


if __name__ == "__main__":
    main()
