#!/usr/bin/env python3
"""Side-by-side benchmark of the Python COCO evaluators on one bbox set: retina_tools (this
repository's package), hotcoco, faster-coco-eval and pycocotools, each in its own process,
round-robin (the engines alternate within every round), medians per engine, ratios against
retina_tools, and the 12 stats compared with pycocotools' (f64 ==).

  bench_python.py --gt GT --dt DT --python PY [--runs 5] [--slow-runs 1] [--markdown OUT.md]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def once(py, engine, gt, dt, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    r = subprocess.run([py, os.path.join(HERE, "python_engine.py"), engine, gt, dt], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gt", required=True)
    ap.add_argument("--dt", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5, help="rounds of retina_tools and hotcoco")
    ap.add_argument("--slow-runs", type=int, default=1, help="rounds of faster-coco-eval and pycocotools (0 = skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    fast, slow = ["retina_tools", "hotcoco"], ["faster", "pycocotools"]
    runs = {e: [] for e in fast + slow}
    for i in range(max(a.runs, a.slow_runs)):
        order = fast if i % 2 == 0 else fast[::-1]
        if i < a.slow_runs:
            order = order + slow
        for e in order:
            if i < (a.runs if e in fast else a.slow_runs):
                r = once(a.python, e, a.gt, a.dt, a.threads)
                runs[e].append(r)
                print(f"round {i + 1}: {e:13s} total {r['total_s']:.3f} s (load {r['load_s']:.3f}, eval {r['eval_s']:.3f}; import {r['import_s']:.3f})", flush=True)
    ref = runs["pycocotools"][0]["stats"] if runs["pycocotools"] else None
    base = statistics.median(r["total_s"] for r in runs["retina_tools"])
    rows = ["| engine | total median (s) | runs (s) | load median (s) | evaluate+accumulate+summarize median (s) | vs retina_tools | 12 stats == pycocotools |",
            "|---|---|---|---|---|---|---|"]
    for e in fast + slow:
        rs = runs[e]
        if not rs:
            continue
        med = statistics.median(r["total_s"] for r in rs)
        same = "(reference)" if e == "pycocotools" else ("-" if ref is None else ("yes" if all(r["stats"] == ref for r in rs) else "NO"))
        each = ", ".join("%.2f" % r["total_s"] for r in rs)
        load = statistics.median(r["load_s"] for r in rs)
        ev = statistics.median(r["eval_s"] for r in rs)
        ratio = "1.00x" if e == "retina_tools" else "%.2fx slower" % (med / base)
        rows.append(f"| {e} | {med:.3f} | {each} | {load:.3f} | {ev:.3f} | {ratio} | {same} |")
    text = "\n".join(rows)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
