#!/usr/bin/env python3
"""mlx-lm's side of bench/engine-vs-mlxlm.mjs: the same prompt ids, the same lengths, its own stats.

  .venv/bin/python scripts/mlxlm-bench.py --model DIR --ids-file PROMPT.json --gen 128 --runs 3
      [--prefill-step-size 2048]

Runs mlx_lm.stream_generate (greedy, EOS disabled as mlx_lm.benchmark does) once on a short prompt
to warm up, then --runs times. Prints JSON: {"trials": [{prompt_tokens, generation_tokens, prompt_tps, generation_tps,
ttft_ms, peak_memory}], "mlx_version", "mlx_lm_version"}. prompt_tps / generation_tps are
stream_generate's own numbers; ttft_ms is the wall time from the call to the first yielded token;
peak_memory is mx.get_peak_memory() in bytes, reset before each trial.

  .venv/bin/python scripts/mlxlm-bench.py --model DIR --serve
      loads the model once, then answers one JSON line per request line on stdin,
      {"ids_file": PATH, "gen": N, "prefill_step_size": S}, with that trial's JSON (the fields above);
      bench/engine-vs-mlxlm.mjs --device gpu uses it to alternate the two engines trial by trial.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--ids-file", type=Path)
    ap.add_argument("--serve", action="store_true", help="answer trial requests from stdin (see above)")
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prefill-step-size", type=int, default=2048)
    ap.add_argument("--warmup-prompt", type=int, default=16, help="prompt tokens of the warm-up run")
    ap.add_argument("--warmup-gen", type=int, default=4, help="generated tokens of the warm-up run")
    args = ap.parse_args(argv)

    import mlx.core as mx
    import mlx_lm
    from mlx_lm import load, stream_generate

    model, tokenizer = load(str(args.model))
    tokenizer._eos_token_ids = set()  # as mlx_lm.benchmark: always generate --gen tokens

    def trial(prompt: list[int], gen: int, prefill_step_size: int = args.prefill_step_size) -> dict:
        mx.reset_peak_memory()
        tic = time.perf_counter()
        ttft = None
        last = None
        for resp in stream_generate(model, tokenizer, prompt, max_tokens=gen, prefill_step_size=prefill_step_size):
            if ttft is None:
                ttft = (time.perf_counter() - tic) * 1000.0
            last = resp
        return {
            "prompt_tokens": last.prompt_tokens,
            "generation_tokens": last.generation_tokens,
            "prompt_tps": last.prompt_tps,
            "generation_tps": last.generation_tps,
            "ttft_ms": ttft,
            "peak_memory": mx.get_peak_memory(),
        }

    if args.serve:
        print(json.dumps({"ready": True, "mlx_version": mx.__version__, "mlx_lm_version": mlx_lm.__version__,
                          "device": str(mx.default_device())}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            ids = json.loads(Path(req["ids_file"]).read_text())
            print(json.dumps(trial(ids, req["gen"], req.get("prefill_step_size", args.prefill_step_size))), flush=True)
        return 0
    if args.ids_file is None:
        ap.error("--ids-file is required without --serve")
    ids = json.loads(args.ids_file.read_text())
    trial(ids[: args.warmup_prompt], args.warmup_gen)  # warm-up: builds kernels and buffers once
    trials = [trial(ids, args.gen) for _ in range(args.runs)]
    json.dump({"trials": trials, "mlx_version": mx.__version__, "mlx_lm_version": mlx_lm.__version__}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
