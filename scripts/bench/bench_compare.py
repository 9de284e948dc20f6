#!/usr/bin/env python3
"""Side-by-side timing of whole compare processes on the same files, in one run.

    python bench_compare.py --gt GT --a A --b B [--runs 2] [--hotcoco-runs 2] [--threads 2]
                            [--scale 1000,10000] [--markdown OUT]

retina-tools `compare A B --bootstrap 1000` against hotcoco 1.3.0's Python
`compare(eval_a, eval_b, n_bootstrap=1000)` (load, evaluate both, bootstrap), alternating the
engines (hotcoco takes about two minutes per run, so only --hotcoco-runs of it); median wall
time and peak RSS under /usr/bin/time. Then ours alone at each --scale replicate count, to show
how the cost grows with the replicates.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_diagnose import timed  # noqa: E402  (one timing helper for the bench scripts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--ours", default="target/release/retina-tools")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hotcoco-runs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", default="0,1000,10000")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    env = dict(os.environ)
    for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(a.threads)
    ours = lambda n: [a.ours, "compare", a.a, a.b, "--gt", a.gt, "--bootstrap", str(n), "--threads", str(a.threads), "--json", "-", "-q"]
    peer = [a.python, os.path.join(HERE, "peer_compare.py"), a.gt, a.a, a.b, "1000"]
    t_ours, t_peer, r_ours, r_peer, ratios = [], [], [], [], []
    for i in range(max(a.runs, a.hotcoco_runs)):
        w, m = timed(ours(1000), env)
        t_ours.append(w)
        r_ours.append(m)
        line = "round %d: ours %.2f s" % (i + 1, w)
        if i < a.hotcoco_runs:
            wp, mp = timed(peer, env)
            t_peer.append(wp)
            r_peer.append(mp)
            ratios.append(wp / w)
            line += ", hotcoco %.1f s (%.1fx)" % (wp, ratios[-1])
        print(line, file=sys.stderr)
    mo, mp = statistics.median(t_ours), statistics.median(t_peer)
    lines = ["| engine (1,000 replicates, 2 models) | wall median (s) | vs retina-tools | peak RSS (MB) | runs |", "|---|---|---|---|---|"]
    lines.append("| retina-tools compare | %.2f | 1.00x | %.0f | %d |" % (mo, max(r_ours), len(t_ours)))
    lines.append("| hotcoco 1.3.0 `compare` (Python) | %.1f | %.1fx slower | %.0f | %d |" % (mp, mp / mo, max(r_peer), len(t_peer)))
    lines.append("")
    lines.append("per-round ratio hotcoco/ours: median %.1fx (min %.1fx, max %.1fx), %d threads" % (statistics.median(ratios), min(ratios), max(ratios), a.threads))
    lines.append("")
    lines.append("| replicates | retina-tools wall (s) | per 1,000 replicates beyond 0 (s) |")
    lines.append("|---|---|---|")
    base = None
    for n in [int(x) for x in a.scale.split(",")]:
        w = statistics.median([timed(ours(n), env)[0] for _ in range(2 if n <= 1000 else 1)])
        if n == 0:
            base = w
        per = "" if (n == 0 or base is None) else "%.2f" % ((w - base) / n * 1000)
        lines.append("| %d | %.2f | %s |" % (n, w, per))
        print("scale %d: %.2f s" % (n, w), file=sys.stderr)
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
