#!/usr/bin/env python3
"""hotcoco 1.3.0's `compare` as a whole process: load GT and two results files, evaluate both,
then `hotcoco.compare(eval_a, eval_b, n_bootstrap=N)`.

    python peer_compare.py GT A B N"""
import contextlib
import sys


def main():
    gt_path, a_path, b_path, n = sys.argv[1:5]
    with contextlib.redirect_stdout(sys.stderr):
        from hotcoco import COCO, COCOeval, compare
        gt = COCO(gt_path)
        evals = []
        for p in (a_path, b_path):
            e = COCOeval(gt, gt.loadRes(p), "bbox")
            e.evaluate()
            evals.append(e)
        r = compare(evals[0], evals[1], n_bootstrap=int(n), seed=0)
    print(r["ci"] is not None, r["num_images"])


if __name__ == "__main__":
    main()
