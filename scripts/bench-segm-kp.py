#!/usr/bin/env python3
"""Benchmark `retina-tools eval --iou-type segm|keypoints` against its peers, side by side.

    python scripts/bench-segm-kp.py [--runs 3] [--threads 2] [--hotcoco PATH] [--only segm|keypoints]
                                    [--sets segm,keypoints,segm-sparse,keypoints-sparse]

Generates (once, seeded) the sets with scripts/bench/gen_segm_kp.py into
target/bench-segm-kp/SET/: segm = 1,000 images with ~94k compressed-RLE detections, keypoints =
5,000 images with ~142k keypoint detections (17-digit coordinates, 152 MB); the sparse sets,
where fixed costs (GT parse and polygon rasterisation, process start, page faults) weigh most:
segm-sparse = 5,000 images, ~34k polygon GT, ~10 RLE detections per image (~51k); and
keypoints-sparse = 5,000 images, ~29 detections per image with coordinates and confidences
rounded to 2 decimals (~62 MB of results). Then times whole processes (start to exit), median
of --runs, run round-robin: retina-tools (`--threads N`), pycocotools 2.0.11 (python start + import + load +
loadRes + evaluate + accumulate + summarize) and hotcoco's Rust CLI when given with --hotcoco
(`cargo install hotcoco-cli`). Peak RSS from /usr/bin/time when available. Checks that
retina-tools' stats equal pycocotools' (f64 ==). Prints a markdown table for docs/benchmarks.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PY):
    PY = "/work/venv/bin/python" if os.path.exists("/work/venv/bin/python") else sys.executable

PYCOCO = r"""
import sys, json, contextlib, io
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(sys.stderr):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2]); E = COCOeval(gt, dt, sys.argv[3])
    E.evaluate(); E.accumulate(); E.summarize()
print(json.dumps([float(x) for x in E.stats]))
"""


# Set name -> (iou type, extra arguments of gen_segm_kp.py).
SETS = {
    "segm": ("segm", []),
    "keypoints": ("keypoints", []),
    "segm-sparse": ("segm", ["--images", "5000", "--dets-per-image", "10"]),
    "keypoints-sparse": ("keypoints", ["--decimals", "2"]),
}


def timed(cmd, env=None):
    """(wall seconds, peak RSS MB or None, stdout)"""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    full = ([gnu_time, "-f", "RSS_KB=%M CPU_S=%U %S"] if gnu_time else []) + cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    rss, cpu = None, None
    for line in p.stderr.splitlines():
        if line.startswith("RSS_KB="):
            f = line.split()
            rss = int(f[0][7:]) / 1024
            cpu = float(f[1][6:]) + float(f[2])
    return wall, rss, cpu, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hotcoco", help="path to hotcoco's CLI binary (cargo install hotcoco-cli)")
    ap.add_argument("--hotcoco-args", default="--gt {gt} --dt {dt} --iou-type {iou}",
                    help="argument template for the hotcoco CLI")
    ap.add_argument("--only", choices=["segm", "keypoints"], help="only the sets of this iou type")
    ap.add_argument("--sets", default=",".join(SETS), help="comma list of sets (default: all)")
    ap.add_argument("--skip-pycocotools", action="store_true")
    ap.add_argument("--py-runs", type=int, default=1, help="runs of pycocotools (slow)")
    args = ap.parse_args()
    binary = os.path.join(ROOT, "target", "release", "retina-tools")
    if not os.path.exists(binary):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    rows = []
    for set_name in args.sets.split(","):
        kind, gen_args = SETS[set_name]
        if args.only and kind != args.only:
            continue
        d = os.path.join(ROOT, "target", "bench-segm-kp", set_name)
        gt, dt = os.path.join(d, "gt.json"), os.path.join(d, "dt.json")
        if not (os.path.exists(gt) and os.path.exists(dt)):
            subprocess.run([PY, os.path.join(ROOT, "scripts", "bench", "gen_segm_kp.py"), kind, d] + gen_args, check=True)
        n_img = len(json.load(open(gt))["images"])
        n_det = sum(1 for _ in json.load(open(dt)))
        engines = [("retina-tools", [binary, "eval", dt, "--gt", gt, "--iou-type", kind, "--threads", str(args.threads), "-q", "--json", "-"])]
        if args.hotcoco:
            engines.append(("hotcoco CLI", [args.hotcoco] + args.hotcoco_args.format(gt=gt, dt=dt, iou=kind).split()))
        if not args.skip_pycocotools:
            engines.append(("pycocotools 2.0.11", [PY, "-c", PYCOCO, gt, dt, kind]))
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        # Runs are interleaved (one run of each engine per round), so that a slower spell of a
        # shared machine hits every engine alike instead of whichever ran during it.
        runs = {name: [] for name, _ in engines}
        for i in range(max(args.runs, args.py_runs)):
            for name, cmd in engines:
                if i >= (args.py_runs if name.startswith("pycocotools") else args.runs):
                    continue
                runs[name].append(timed(cmd, env))
        results = {}
        for name, _ in engines:
            walls = [w for w, _, _, _ in runs[name]]
            cpus = [c for _, _, c, _ in runs[name]]
            rss = max((r or 0 for _, r, _, _ in runs[name]), default=0) or None
            out = runs[name][-1][3]
            cpu = statistics.median(cpus) if all(c is not None for c in cpus) else None
            results[name] = (statistics.median(walls), walls, rss, out, cpu)
            print(f"{set_name}: {name}: median {statistics.median(walls):.3f} s ({', '.join(f'{w:.3f}' for w in walls)})", file=sys.stderr)
        pairs = None
        if "hotcoco CLI" in results:
            pairs = [h / o for o, h in zip(results["retina-tools"][1], results["hotcoco CLI"][1])]
            print(f"{set_name}: hotcoco/retina-tools per round: {', '.join(f'{x:.2f}' for x in pairs)} (median {statistics.median(pairs):.2f})", file=sys.stderr)
        same = ""
        if "pycocotools 2.0.11" in results:
            ours = json.loads(results["retina-tools"][3])["stats"]
            ref = json.loads(results["pycocotools 2.0.11"][3])
            same = "yes" if ours == ref else "NO"
        base = results["retina-tools"][0]
        for name, (med, walls, rss, _, cpu) in results.items():
            per_round = f"{statistics.median(pairs):.2f}x" if pairs and name == "hotcoco CLI" else ""
            rows.append((set_name, f"{n_img:,}", f"{n_det:,}", name, f"{med:.3f}", ", ".join(f"{w:.3f}" for w in walls),
                         f"{cpu:.2f}" if cpu is not None else "-", f"{rss:.0f}" if rss else "-", f"{med / base:.2f}x",
                         per_round, same if name == "retina-tools" else ""))
    print("| set | images | dets | engine | wall median s | runs s | CPU s (user+sys) | peak RSS MB | vs retina-tools (medians) | median of per-round ratios | stats == pycocotools |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
