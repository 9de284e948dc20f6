#!/usr/bin/env python3
"""Side-by-side timing of whole evaluation processes on the same files, in one run.

    python bench_eval.py --gt GT --dt DT --ours target/release/retina-tools [--hotcoco-cli PATH]
                         [--runs 3] [--threads 2] [--engines pycocotools,faster,...] [--markdown OUT]

Each engine runs `--runs` times, round-robin (so machine drift hits all alike), as a whole
process under /usr/bin/time (wall seconds, peak RSS). Reports the median wall time, the ratio to
retina-tools, peak memory, and whether the 12 stats equal pycocotools' bit for bit.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, env):
    """(wall seconds from a monotonic clock, peak RSS MB from /usr/bin/time, stdout)"""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd
        t0 = time.perf_counter()
        r = subprocess.run(full, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (cmd[0], r.stderr[-2000:]))
        rss = tf.read().split()[-1]
    return wall, int(rss) / 1024.0, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--dt", required=True)
    ap.add_argument("--ours", default="target/release/retina-tools")
    ap.add_argument("--hotcoco-cli")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default="retina-tools,hotcoco-cli,hotcoco,ultrafast,vernier,faster,pycocotools")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    env = dict(os.environ)
    for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
        env[k] = str(args.threads)
    engines = [e for e in args.engines.split(",") if e]
    if "hotcoco-cli" in engines and not (args.hotcoco_cli and os.path.exists(args.hotcoco_cli)):
        print("note: hotcoco CLI not found, skipped (cargo install hotcoco-cli)", file=sys.stderr)
        engines.remove("hotcoco-cli")

    def command(e):
        if e == "retina-tools":
            return [args.ours, "eval", args.dt, "--gt", args.gt, "--threads", str(args.threads), "--json", "-", "-q"]
        if e == "hotcoco-cli":
            return [args.hotcoco_cli, "--gt", args.gt, "--dt", args.dt, "--iou-type", "bbox"]
        return [args.python, os.path.join(HERE, "peer_eval.py"), e, args.gt, args.dt]

    times = {e: [] for e in engines}
    rss = {e: [] for e in engines}
    stats = {}
    for run in range(args.runs):
        for e in engines:
            w, m, out = timed(command(e), env)
            times[e].append(w)
            rss[e].append(m)
            if e == "retina-tools":
                stats[e] = json.loads(out)["stats"]
            elif e != "hotcoco-cli":
                stats[e] = json.loads(out.strip().splitlines()[-1])
            print("run %d %-14s %6.2f s %7.1f MB" % (run, e, w, m), file=sys.stderr)
    ours = statistics.median(times["retina-tools"]) if "retina-tools" in times else None
    ref = stats.get("pycocotools")
    rows = ["| engine | wall median (s) | runs (s) | vs retina-tools (median of per-round ratios) | peak RSS (MB) | 12 stats == pycocotools |",
            "|---|---|---|---|---|---|"]
    for e in engines:
        med = statistics.median(times[e])
        ratio = "-"
        if e == "retina-tools":
            ratio = "1.00x"
        elif ours:
            # Each engine's run divided by retina-tools' run of the same round (rounds alternate
            # the engines, so a slow spell of a shared machine hits a pair alike).
            per = [t / o for t, o in zip(times[e], times["retina-tools"])]
            ratio = "%.2fx slower (rounds %s)" % (statistics.median(per), ", ".join("%.2f" % x for x in per))
        exact = "-" if ref is None or e not in stats else ("yes" if stats[e] == ref else "no")
        if e == "hotcoco-cli":
            exact = "n/a (prints 3 decimals)"
        rows.append("| %s | %.3f | %s | %s | %.0f | %s |" % (e, med, ", ".join("%.2f" % t for t in times[e]), ratio,
                                                          max(rss[e]), exact))
    table = "\n".join(rows)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
