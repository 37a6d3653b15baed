#!/usr/bin/env python3
"""What mlx-lm computes for a checkpoint: the reference the parity and interop tests compare against.

  .venv/bin/python scripts/mlxlm-reference.py --model DIR (--ids 1,2,3 | --text "raw text")
      [--steps 32] [--f32-steps 32] [--logits] [--logits-dtype float32|native]
      [--tokens-dtype native|float32] [--prefill-step-size 2048] [--encode "raw text"]
      [--extra-ids 4,5,6 --extra-steps 16 --extra-prefill-step-size 16]

Prints one JSON object on stdout:
  prompt_ids      the prompt as token ids (--text is encoded by mlx-lm's tokenizer as stream_generate
                  encodes a raw string: no chat template, BOS when the tokenizer has one)
  encoded         (with --encode TEXT) mlx-lm's ids for TEXT, as for --text
  tokens          greedy ids for --steps steps from mlx_lm.generate.generate_step (argmax sampler;
                  does not stop at EOS, so callers compare up to their own EOS)
  margins         per step, top-1 minus top-2 log-probability, to tell a real divergence from a tie
  tokens_f32, margins_f32   (with --f32-steps N) the same with every floating parameter in float32
  extra           (with --extra-ids) {prompt_ids, tokens, margins} for a second prompt, native dtype,
                  --extra-steps steps with --extra-prefill-step-size (one process, one load)
  logits_b64      (with --logits) last-position logits of model(mx.array([prompt_ids]))[0, -1] as
                  little-endian float32, base64
  logits_dtype, tokens_dtype, mlx_version, mlx_lm_version, model_type, quantization

"float32" casts every floating parameter (for quantized checkpoints: the non-quantized weights, the
scales and the biases; the packed uint32 weights stay as they are) with nn.Module.set_dtype, so the
activations run in float32 too.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ids", help="comma-separated prompt token ids")
    src.add_argument("--text", help="raw prompt text (encoded without a chat template)")
    ap.add_argument("--encode", help="also report how mlx-lm's tokenizer encodes this raw text (field encoded)")
    ap.add_argument("--steps", type=int, default=32, help="greedy steps (0 = none)")
    ap.add_argument("--logits", action="store_true", help="also emit the last-position logits")
    ap.add_argument("--logits-dtype", choices=["float32", "native"], default="float32")
    ap.add_argument("--tokens-dtype", choices=["float32", "native"], default="native")
    ap.add_argument("--prefill-step-size", type=int, default=2048)
    ap.add_argument("--extra-ids", help="a second prompt (comma-separated ids) decoded in the native dtype in the same process")
    ap.add_argument("--extra-steps", type=int, default=16)
    ap.add_argument("--extra-prefill-step-size", type=int, default=2048)
    ap.add_argument("--f32-steps", type=int, default=0,
                    help="also greedy ids in float32 (tokens_f32, margins_f32), after the native-dtype run")
    return ap.parse_args(argv)


def encode_raw(tokenizer, text: str) -> list[int]:
    # As stream_generate encodes a raw string: special tokens (BOS) unless the text starts with BOS.
    bos = tokenizer.bos_token
    add_special = bos is None or not text.startswith(bos)
    return list(tokenizer.encode(text, add_special_tokens=add_special))


def to_float32(model) -> None:
    import mlx.core as mx

    model.set_dtype(mx.float32)
    mx.eval(model.parameters())


def greedy(model, prompt_ids: list[int], steps: int, prefill_step_size: int) -> tuple[list[int], list[float]]:
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    tokens: list[int] = []
    margins: list[float] = []
    if steps <= 0:
        return tokens, margins
    prompt = mx.array(prompt_ids, dtype=mx.uint32)
    for token, logprobs in generate_step(
        prompt, model, max_tokens=steps, sampler=lambda lp: mx.argmax(lp, axis=-1), prefill_step_size=prefill_step_size
    ):
        tokens.append(int(token))
        top2 = mx.topk(logprobs.astype(mx.float32).reshape(-1), 2)
        hi, lo = sorted(top2.tolist(), reverse=True)
        margins.append(float(hi - lo))
    return tokens, margins


def last_logits(model, prompt_ids: list[int]) -> bytes:
    import mlx.core as mx
    import numpy as np

    out = model(mx.array([prompt_ids]))[0, -1].astype(mx.float32)
    mx.eval(out)
    return np.asarray(out, dtype="<f4").tobytes()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import mlx.core as mx
    import mlx_lm
    from mlx_lm import load

    if not args.model.is_dir():
        print(f"mlxlm-reference: {args.model} is not a directory", file=sys.stderr)
        return 2
    model, tokenizer, config = load(str(args.model), return_config=True)
    if args.ids is not None:
        prompt_ids = [int(x) for x in args.ids.split(",") if x.strip()]
    else:
        prompt_ids = encode_raw(tokenizer, args.text)
    if not prompt_ids:
        print("mlxlm-reference: empty prompt", file=sys.stderr)
        return 2

    result: dict[str, object] = {
        "model": str(args.model),
        "model_type": config.get("model_type"),
        "quantization": config.get("quantization"),
        "mlx_version": mx.__version__,
        "mlx_lm_version": mlx_lm.__version__,
        "prompt_ids": prompt_ids,
    }
    if args.encode is not None:
        result["encoded"] = encode_raw(tokenizer, args.encode)
    dtype_now = "native"
    if args.steps > 0:
        if args.tokens_dtype == "float32":
            to_float32(model)
            dtype_now = "float32"
        tokens, margins = greedy(model, prompt_ids, args.steps, args.prefill_step_size)
        result.update(tokens=tokens, margins=margins, tokens_dtype=dtype_now)
    if args.extra_ids:
        if dtype_now != "native":
            model, tokenizer = load(str(args.model))
            dtype_now = "native"
        extra_ids = [int(x) for x in args.extra_ids.split(",") if x.strip()]
        tokens, margins = greedy(model, extra_ids, args.extra_steps, args.extra_prefill_step_size)
        result["extra"] = {"prompt_ids": extra_ids, "tokens": tokens, "margins": margins}
    if args.f32_steps > 0:
        if dtype_now != "float32":
            to_float32(model)
            dtype_now = "float32"
        tokens, margins = greedy(model, prompt_ids, args.f32_steps, args.prefill_step_size)
        result.update(tokens_f32=tokens, margins_f32=margins)
    if args.logits:
        if args.logits_dtype == "float32" and dtype_now != "float32":
            to_float32(model)
            dtype_now = "float32"
        if args.logits_dtype == "native" and dtype_now != "native":
            model, tokenizer = load(str(args.model))
            dtype_now = "native"
        result.update(logits_b64=base64.b64encode(last_logits(model, prompt_ids)).decode("ascii"), logits_dtype=dtype_now)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
