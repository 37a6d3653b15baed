# Fills MLX's on-disk CUDA kernel cache ($MLX_PTX_CACHE_DIR) with the quantized-matmul variants the GPU
# suite and benches use, one process per variant, all at once. Why: NVRTC compiles each variant (dtype x
# bits x row tile) for 40-55 s on one core, one after another inside a process; the device has 16 cores.
# The module names carry no K or N, so small matrices compile the same kernels a real model uses.
import itertools
import os
import subprocess
import sys
import time

ONE = """
import sys, time, mlx.core as mx
dt, bits, m = getattr(mx, sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
w = mx.random.normal((256, 512)).astype(dt)
wq, s, b = mx.quantize(w, group_size=64, bits=bits)
x = mx.random.normal((m, 512)).astype(dt)
t = time.time()
mx.eval(mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=64, bits=bits))
print(f"{sys.argv[1]} b{bits} m{m}: {time.time() - t:.1f} s", flush=True)
"""


def main() -> None:
    if not os.environ.get("MLX_PTX_CACHE_DIR"):
        sys.exit("prewarm: set MLX_PTX_CACHE_DIR (the cache the later processes read)")
    dtypes = (sys.argv[1] if len(sys.argv) > 1 else "bfloat16,float32").split(",")
    # 16, 32 and 64 rows are the three row tiles (tile_m = clamp(next_pow2(m), 16, 64)); under 8 rows MLX uses qmv.
    combos = list(itertools.product(dtypes, (4, 8), (16, 32, 64)))
    t0 = time.time()
    procs = [subprocess.Popen([sys.executable, "-c", ONE, d, str(b), str(m)]) for d, b, m in combos]
    bad = sum(p.wait() != 0 for p in procs)
    print(f"prewarm: {len(combos)} variants, {bad} failed, {time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
