#!/usr/bin/env python3
"""Side-by-side timing of whole LVIS evaluation processes on the same files, in one run.

    python bench_lvis.py --gt GT --dt DT [--runs 5] [--lvis-runs 1] [--threads 2] [--markdown OUT]

retina-tools `eval` (LVIS protocol, detected from the GT) against hotcoco's Python `LVISEval`
drop-in, round-robin (drift hits both alike), median wall time and peak RSS of whole processes
under /usr/bin/time; the lvis package (minutes per run) is timed `--lvis-runs` times after them.
The AP each engine prints is shown, to check they computed the same thing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, env):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name] + cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (" ".join(cmd[:3]), r.stderr[-2000:]))
        wall, rss = tf.read().split()[-2:]
    return float(wall), int(rss) / 1024.0, r.stdout


def ap_of(name, out):
    if name.startswith("retina"):
        return json.loads(out)["stats"][0]
    return float(out.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--dt", required=True)
    ap.add_argument("--ours", default="target/release/retina-tools")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lvis-runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    env = dict(os.environ)
    for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(a.threads)
    ours, hot, lv = "retina-tools eval (LVIS)", "hotcoco LVISEval (Python)", "lvis 0.5.3"
    cmds = {
        ours: [a.ours, "eval", a.dt, "--gt", a.gt, "--threads", str(a.threads), "--json", "-", "-q"],
        hot: [a.python, os.path.join(HERE, "peer_lvis.py"), "hotcoco", a.gt, a.dt],
        lv: [a.python, os.path.join(HERE, "peer_lvis.py"), "lvis", a.gt, a.dt],
    }
    times = {k: [] for k in cmds}
    rss = {k: [] for k in cmds}
    aps = {}
    ratios = []
    for i in range(a.runs):
        rt = {}
        for k in (ours, hot):
            w, m, out = timed(cmds[k], env)
            times[k].append(w)
            rss[k].append(m)
            aps[k] = ap_of(k, out)
            rt[k] = w
        ratios.append(rt[hot] / rt[ours])
        print("round %d: ours %.3f s, hotcoco %.3f s (%.2fx)" % (i + 1, rt[ours], rt[hot], ratios[-1]), file=sys.stderr)
    for i in range(a.lvis_runs):
        w, m, out = timed(cmds[lv], env)
        times[lv].append(w)
        rss[lv].append(m)
        aps[lv] = ap_of(lv, out)
        print("lvis run %d: %.1f s" % (i + 1, w), file=sys.stderr)
    base = statistics.median(times[ours])
    lines = ["| engine | wall median (s) | vs retina-tools | peak RSS (MB) | runs | AP |", "|---|---|---|---|---|---|"]
    for k in cmds:
        if not times[k]:
            continue
        med = statistics.median(times[k])
        lines.append("| %s | %.3f | %s | %.0f | %d | %r |" % (k, med, "1.00x" if k == ours else "%.1fx slower" % (med / base), max(rss[k]), len(times[k]), aps.get(k)))
    lines.append("")
    lines.append("per-round ratio hotcoco/ours: median %.2fx (min %.2fx, max %.2fx), %d threads" % (statistics.median(ratios), min(ratios), max(ratios), a.threads))
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
