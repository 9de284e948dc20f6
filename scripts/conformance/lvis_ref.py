"""Run the reference: the `lvis` package 0.5.3 (`LVISResults` + `LVISEval`), returning the 13
results, the lines print_results() prints and the precision/recall arrays."""
import contextlib
import io
import logging

import numpy as np

np.float = float  # lvis 0.5.3 uses np.float (removed in numpy 1.24); it was exactly float.
from lvis import LVIS, LVISEval, LVISResults  # noqa: E402

logging.getLogger("lvis").setLevel(logging.ERROR)


def lvis_eval(gt_path, dt_path, iou_type="bbox", max_dets=300):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = LVIS(gt_path)
        dt = LVISResults(gt, dt_path, max_dets=max_dets)
        ev = LVISEval(gt, dt, iou_type)
        ev.params.max_dets = max_dets
        ev.run()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.print_results()
    return {
        "names": list(ev.results.keys()),
        "stats": [float(v) for v in ev.results.values()],
        "lines": buf.getvalue().splitlines(),
        "precision": ev.eval["precision"],
        "recall": ev.eval["recall"],
    }
