"""mlx-lm's side of the KV-cache parity tests (test/parity/kvcache-*.test.ts), one JSON line on stdout.

One process runs a list of jobs (JSON on argv[1]) on one model load:
  {"op": "generate", "ids": [...], "steps": N, "kv_bits"?, "kv_group_size"?, "quantized_kv_start"?, "max_kv_size"?, "prefill_step_size"?}
      greedy ids from mlx_lm.generate.generate_step with those options, and the cache's nbytes at the end
  {"op": "continue", "file": F, "ids": [...], "steps": N}
      load_prompt_cache(F), then greedy ids of generate_step(ids, prompt_cache=...) (mlx_lm.generate --prompt-cache-file)
  {"op": "cache_prompt", "file": F, "ids": [...], "kv_bits"?, ...}
      mlx_lm.cache_prompt: the prompt through generate_step(max_tokens=0), then save_prompt_cache(F) with its metadata
"""
from __future__ import annotations

import json
import sys


def main() -> int:
    import mlx.core as mx
    from mlx_lm import load
    from mlx_lm.generate import generate_step
    from mlx_lm.models.cache import load_prompt_cache, make_prompt_cache, save_prompt_cache

    model_path, jobs = sys.argv[1], json.loads(sys.argv[2])
    model, _tokenizer = load(model_path)
    argmax = lambda lp: mx.argmax(lp, axis=-1)  # noqa: E731
    out = []
    for job in jobs:
        kv = {k: job[k] for k in ("kv_bits", "kv_group_size", "quantized_kv_start") if k in job}
        prefill = job.get("prefill_step_size", 2048)
        prompt = mx.array(job["ids"], dtype=mx.uint32)
        if job["op"] == "generate":
            cache = make_prompt_cache(model, max_kv_size=job.get("max_kv_size"))
            tokens = [int(t) for t, _ in generate_step(prompt, model, max_tokens=job["steps"], sampler=argmax, prompt_cache=cache, prefill_step_size=prefill, **kv)]
            out.append({"tokens": tokens, "nbytes": sum(c.nbytes for c in cache), "classes": sorted({type(c).__name__ for c in cache})})
        elif job["op"] == "continue":
            cache = load_prompt_cache(job["file"])
            tokens = [int(t) for t, _ in generate_step(prompt, model, max_tokens=job["steps"], sampler=argmax, prompt_cache=cache, prefill_step_size=prefill, **kv)]
            out.append({"tokens": tokens, "offset": cache[0].offset, "classes": sorted({type(c).__name__ for c in cache})})
        elif job["op"] == "cache_prompt":
            cache = make_prompt_cache(model, job.get("max_kv_size"))
            for _ in generate_step(prompt, model, max_tokens=0, prompt_cache=cache, prefill_step_size=prefill, **kv):
                pass
            save_prompt_cache(job["file"], cache, {"model": model_path, "tokenizer_config": json.dumps({"trust_remote_code": False})})
            out.append({"offset": cache[0].offset, "classes": sorted({type(c).__name__ for c in cache})})
        else:
            raise ValueError(f"unknown op {job['op']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
