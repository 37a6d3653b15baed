#!/usr/bin/env python3
"""mlx-lm's own tensor-parallel run: the reference for our sharded ranks.

Run it under mlx.launch (which sets MLX_RANK and MLX_HOSTFILE for MLX's ring backend), e.g. 2 ranks on loopback:

  .venv/bin/mlx.launch --backend ring --hosts 127.0.0.1 -n 2 --starting-port 40000 \\
      scripts/mlxlm-sharded-reference.py --model DIR --ids 1,2,3 [--ids 4,5 ...] --steps 32

Each rank loads its shard with mlx_lm.utils.sharded_load (tensor parallel: model.shard(group), as mlx_lm.generate
does with --pipeline off) and decodes greedily with mlx_lm.generate.generate_step in the checkpoint's own dtype.
Rank 0 prints one JSON line: {"rank": 0, "size": N, "runs": [{"tokens": [...], "margins": [...]}, ...]}, one run per
--ids in order (margins: top-1 minus top-2 log-probability per step, as scripts/mlxlm-reference.py reports them).
"""
from __future__ import annotations

import argparse
import json

import mlx.core as mx
from mlx_lm.generate import generate_step
from mlx_lm.utils import sharded_load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True, action="append", help="comma-separated prompt token ids (repeat for more prompts)")
    ap.add_argument("--steps", type=int, default=32)
    a = ap.parse_args()

    group = mx.distributed.init(backend="ring", strict=True)
    model, _tok = sharded_load(a.model, tensor_group=group)
    runs = []
    for ids in a.ids:
        prompt = mx.array([int(t) for t in ids.split(",")], dtype=mx.uint32)
        tokens: list[int] = []
        margins: list[float] = []
        for token, logprobs in generate_step(prompt, model, max_tokens=a.steps, sampler=lambda lp: mx.argmax(lp, axis=-1)):
            tokens.append(int(token))
            top2 = mx.sort(logprobs.astype(mx.float32))[-2:]
            margins.append(float(top2[1] - top2[0]))
        runs.append({"tokens": tokens, "margins": margins})
    if group.rank() == 0:
        print(json.dumps({"rank": 0, "size": group.size(), "runs": runs}), flush=True)


if __name__ == "__main__":
    main()
