#!/usr/bin/env python3
"""Side-by-side timing of whole diagnosis processes on the same files, in one run.

    python bench_diagnose.py --gt GT --dt DT [--runs 5] [--threads 2] [--tidecv-runs 1] [--markdown OUT]

retina-tools `diagnose` (default sections: TIDE, confusion, calibration, F-scores, suspects)
against hotcoco's Python evaluate + tide_errors + confusion_matrix + calibration + f_scores,
round-robin (drift hits both alike), median wall time and peak RSS of whole processes under
/usr/bin/time; tidecv (minutes per run) is timed `--tidecv-runs` times after them.
"""
import argparse
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
    return float(wall), int(rss) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--dt", required=True)
    ap.add_argument("--ours", default="target/release/retina-tools")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tidecv-runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    env = dict(os.environ)
    for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(a.threads)
    cmds = {
        "retina-tools diagnose": [a.ours, "diagnose", a.dt, "--gt", a.gt, "--threads", str(a.threads), "--json", "-", "-q"],
        "hotcoco (Python)": [a.python, os.path.join(HERE, "peer_diagnose.py"), "hotcoco", a.gt, a.dt],
        "tidecv": [a.python, os.path.join(HERE, "peer_diagnose.py"), "tidecv", a.gt, a.dt],
    }
    times = {k: [] for k in cmds}
    rss = {k: [] for k in cmds}
    ratios = []
    for i in range(a.runs):
        round_t = {}
        for k in ("retina-tools diagnose", "hotcoco (Python)"):
            w, m = timed(cmds[k], env)
            times[k].append(w)
            rss[k].append(m)
            round_t[k] = w
        ratios.append(round_t["hotcoco (Python)"] / round_t["retina-tools diagnose"])
        print("round %d: ours %.3f s, hotcoco %.3f s (%.2fx)" % (i + 1, round_t["retina-tools diagnose"], round_t["hotcoco (Python)"], ratios[-1]), file=sys.stderr)
    for i in range(a.tidecv_runs):
        w, m = timed(cmds["tidecv"], env)
        times["tidecv"].append(w)
        rss["tidecv"].append(m)
        print("tidecv run %d: %.1f s" % (i + 1, w), file=sys.stderr)
    ours = statistics.median(times["retina-tools diagnose"])
    lines = ["| engine | wall median (s) | vs retina-tools | peak RSS (MB) | runs |", "|---|---|---|---|---|"]
    for k in cmds:
        if not times[k]:
            continue
        med = statistics.median(times[k])
        lines.append("| %s | %.3f | %s | %.0f | %d |" % (k, med, "1.00x" if k.startswith("retina") else "%.1fx slower" % (med / ours), max(rss[k]), len(times[k])))
    lines.append("")
    lines.append("per-round ratio hotcoco/ours: median %.2fx (min %.2fx, max %.2fx), %d threads" % (statistics.median(ratios), min(ratios), max(ratios), a.threads))
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
