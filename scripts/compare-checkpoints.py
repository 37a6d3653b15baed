#!/usr/bin/env python3
"""Compare two MLX/HF checkpoint directories tensor by tensor (the interop test uses it to check that a
model quantized and saved by our engine has mlx-lm's layout and values).

  .venv/bin/python scripts/compare-checkpoints.py DIR_A DIR_B

Prints JSON: only_a / only_b (tensor names in one directory only), mismatched (name -> "shape/dtype"
differences), max_abs_diff (name -> max |a-b| over equal-shaped tensors, computed in float32),
config_a / config_b (the "quantization" entries of config.json).
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path


def load_dir(d: Path) -> dict:
    import mlx.core as mx

    weights: dict = {}
    for f in sorted(glob.glob(str(d / "*.safetensors"))):
        weights.update(mx.load(f))
    return weights


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    import mlx.core as mx

    a_dir, b_dir = Path(argv[0]), Path(argv[1])
    a, b = load_dir(a_dir), load_dir(b_dir)
    out: dict = {
        "only_a": sorted(set(a) - set(b)),
        "only_b": sorted(set(b) - set(a)),
        "mismatched": {},
        "max_abs_diff": {},
        "config_a": json.loads((a_dir / "config.json").read_text()).get("quantization"),
        "config_b": json.loads((b_dir / "config.json").read_text()).get("quantization"),
    }
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if x.shape != y.shape or x.dtype != y.dtype:
            out["mismatched"][name] = f"{x.shape}/{x.dtype} vs {y.shape}/{y.dtype}"
            continue
        if mx.issubdtype(x.dtype, mx.integer):
            diff = mx.max(mx.abs(x.astype(mx.int64) - y.astype(mx.int64))).item()
        else:
            diff = mx.max(mx.abs(x.astype(mx.float32) - y.astype(mx.float32))).item()
        out["max_abs_diff"][name] = float(diff)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
