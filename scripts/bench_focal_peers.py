#!/usr/bin/env python3
"""Peers for the focal benchmark, on already-loaded arrays (load and one-hot excluded):
torchvision.ops.sigmoid_focal_loss(reduction="sum") and a numpy float32 version of the same
stable formula. Prints one line per peer: `name seconds` (best of --repeat).

  python scripts/bench_focal_peers.py bench-data --threads 2
"""
import argparse, os, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("data")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeat", type=int, default=3)
a = ap.parse_args()
x = np.load(os.path.join(a.data, "logits.npy"))
t = np.load(os.path.join(a.data, "targets.npy"))
C = x.shape[-1]
x = x.reshape(-1, C)
t = t.reshape(-1)
valid = t != -2
xv = x[valid]
y = np.zeros_like(xv)
fg = t[valid] >= 0
y[np.where(fg)[0], t[valid][fg]] = 1.0


def best(f):
    ts = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        v = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), v


def numpy_fl(alpha=0.25, gamma=2.0):
    # ce = softplus(-x_t), 1 - p_t = sigmoid(-x_t), FL = alpha_t (1 - p_t)^gamma ce, float32.
    xt = np.where(y > 0, xv, -xv)
    e = np.exp(-np.abs(xv))
    l = np.log1p(e)
    ce = np.maximum(-xt, 0) + l
    q = np.where(xt >= 0, e, 1.0) / (1.0 + e)
    at = np.where(y > 0, alpha, 1 - alpha)
    return float((at * q ** gamma * ce).sum(dtype=np.float64))


s, v = best(numpy_fl)
print("numpy %.4f %.8e" % (s, v))
try:
    import torch
    from torchvision.ops import sigmoid_focal_loss
    torch.set_num_threads(a.threads)
    X, Y = torch.from_numpy(xv), torch.from_numpy(y)
    s, v = best(lambda: sigmoid_focal_loss(X, Y, alpha=0.25, gamma=2.0, reduction="sum").item())
    print("torch %.4f %.8e %s" % (s, v, torch.__version__))
except ImportError as e:
    print("torch skipped (%s)" % e)
