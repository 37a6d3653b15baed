"""Memory bandwidth of this machine as MLX sees it: the best of several copies of a large float32 array
(read + write counted), with the same MLX build our addon links. Prints one JSON line.

    .venv/bin/python bench/bandwidth.py [--mib 1024] [--runs 7]
"""
import argparse
import json
import time

import mlx.core as mx

ap = argparse.ArgumentParser()
ap.add_argument("--mib", type=int, default=1024)
ap.add_argument("--runs", type=int, default=7)
a = ap.parse_args()
n = a.mib * 1024 * 1024 // 4
x = mx.random.uniform(shape=(n,))
mx.eval(x)
best = float("inf")
for _ in range(a.runs):
    t = time.perf_counter()
    y = x * 1.0  # one read and one write of every element; `x + 0` could be folded away
    mx.eval(y)
    best = min(best, time.perf_counter() - t)
    del y
moved = 2 * n * 4
print(json.dumps({"bytes": moved, "best_s": best, "gbps": moved / best / 1e9,
                  "backend": "gpu" if mx.default_device() == mx.gpu else "cpu", "mlx": mx.__version__}))
