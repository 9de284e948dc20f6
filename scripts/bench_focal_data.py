#!/usr/bin/env python3
"""Benchmark data for `focal`: RetinaNet-like logits [B, A, C] float32 (prior π = 0.01 at init,
confident positives, a few ±60 outliers) with ~1% foreground and ~1% ignored anchors.

  python scripts/bench_focal_data.py OUT_DIR [--images 2 --anchors 201600 --classes 80]
"""
import argparse, os
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--images", type=int, default=2)
ap.add_argument("--anchors", type=int, default=201600)
ap.add_argument("--classes", type=int, default=80)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
B, A, C = a.images, a.anchors, a.classes
N = B * A
x = rng.standard_normal((N, C), dtype=np.float32)
x *= np.float32(1.5)
x -= np.float32(4.6)
t = np.full(N, -1, np.int32)
idx = rng.choice(N, size=N // 100, replace=False)
cls = rng.integers(0, C, size=idx.size)
t[idx] = cls
x[idx, cls] += rng.normal(6.0, 2.0, size=idx.size).astype(np.float32)
rest = np.setdiff1d(np.arange(N), idx)
t[rng.choice(rest, size=N // 100, replace=False)] = -2
x.flat[rng.choice(x.size, size=100, replace=False)] = rng.choice([-60.0, 60.0], size=100).astype(np.float32)
os.makedirs(a.out, exist_ok=True)
np.save(os.path.join(a.out, "logits.npy"), x.reshape(B, A, C))
np.save(os.path.join(a.out, "targets.npy"), t.reshape(B, A))
print("wrote %s/logits.npy %s (%.0f MB), targets.npy" % (a.out, (B, A, C), x.nbytes / 1e6))
