#!/usr/bin/env python3
"""One whole LVIS evaluation by a peer, for bench-lvis.sh: `hotcoco` (its Python LVISEval
drop-in, with LVISResults' 300-per-image cap) or `lvis` (the lvis package 0.5.3). Prints AP.

    python peer_lvis.py hotcoco|lvis GT DT
"""
import contextlib
import io
import sys

engine, gt_path, dt_path = sys.argv[1:4]
if engine == "hotcoco":
    import hotcoco

    gt = hotcoco.LVIS(gt_path)
    dt = hotcoco.LVISResults(gt, dt_path, max_dets=300)
    ev = hotcoco.LVISEval(gt, dt, "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    print("AP", ev.stats[0])
else:
    import numpy as np

    np.float = float
    from lvis import LVIS, LVISEval, LVISResults

    gt = LVIS(gt_path)
    dt = LVISResults(gt, dt_path)
    ev = LVISEval(gt, dt, "bbox")
    ev.run()
    print("AP", ev.results["AP"])
