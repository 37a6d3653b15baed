// The embedded SmolLM2 GGUF (Q4_1 layers, Q8_0 embedding): loads quantized, with llama.cpp's Q/K row
// permutation undone so HF-style rope applies; answers sensibly; matches an independent reference that
// keeps llama.cpp's layout and uses interleaved ("traditional") rope; saves as an MLX checkpoint that
// mlx-lm loads and that reproduces our logits.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GgufMetadata, NativeModel } from "../../kernel/engine/native-types.js";
import { readGgufMetadata } from "../../kernel/engine/gguf-meta.js";
import { addon, argmax, ensureFixtures, fixtures, load, mlxlmLogits, py, readJson, relErr, smollmGguf } from "./native-helpers.js";

// Python loads of a 135M GGUF take minutes on a busy 2-core box.
const PY_TIMEOUT = 600_000;
let model: NativeModel;
let meta: GgufMetadata;
let tokens: string[];

const id = (piece: string): number => {
  const i = tokens.indexOf(piece);
  if (i < 0) throw new Error(`"${piece}" is not a single token in the SmolLM2 vocabulary`);
  return i;
};
// "The capital of France is" in GPT-2 byte-level pieces (each one token in SmolLM2's vocab).
const promptIds = (): number[] => ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"].map(id);

beforeAll(async () => {
  model = await load(addon(), smollmGguf);
  // The metadata is read once, in TypeScript; the addon gets the config derived from it.
  meta = readGgufMetadata(smollmGguf).metadata;
  tokens = meta["tokenizer.ggml.tokens"] as string[];
});

afterAll(() => model?.dispose());

describe("SmolLM2 GGUF", () => {
  it("loads quantized with an HF-style config derived from the metadata", () => {
    const info = model.info();
    expect(info.architecture).toBe("llama");
    expect(info.modelType).toBe("llama");
    expect(info.quantization).toEqual({ bits: 4, groupSize: 32, mode: "affine" });
    expect(info.numLayers).toBe(30);
    expect(info.hiddenSize).toBe(576);
    expect(info.vocabSize).toBe(49152);
    expect(info.contextLength).toBe(8192);
    expect(info.tieWordEmbeddings).toBe(true);
    // float32 on the CPU backend (no native half arithmetic there), float16 on a GPU.
    expect(info.dtype).toBe(addon().runtime().backend === "cpu" ? "float32" : "float16");
    expect(info.config).toMatchObject({ num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, rope_theta: 100000 });
    // 135M parameters in well under 2 bytes each: the layers stayed quantized.
    expect(info.numParameters).toBeGreaterThan(130e6);
    expect(info.weightBytes).toBeLessThan(150e6);
  });

  it("reads the GGUF metadata with strings, string arrays, numbers and numeric arrays", () => {
    expect(meta["general.architecture"]).toBe("llama");
    expect(tokens.length).toBe(49152);
    expect(meta["llama.context_length"]).toBe(8192);
    expect(meta["tokenizer.ggml.eos_token_id"]).toBe(2);
    const types = meta["tokenizer.ggml.token_type"] as number[];
    expect(types.length).toBe(49152);
    expect(typeof types[0]).toBe("number");
    expect(typeof meta["tokenizer.chat_template"]).toBe("string");
    expect((meta["tokenizer.ggml.merges"] as string[]).length).toBeGreaterThan(40000);
  });

  it("completes 'The capital of France is' with ' Paris'", async () => {
    const logits = await model.logits(Int32Array.from(promptIds()));
    expect(tokens[argmax(logits)]).toBe("ĠParis");
  });

  it("matches a reference that keeps llama.cpp's permuted Q/K and uses interleaved rope", async () => {
    const ids = promptIds();
    const ref = Float32Array.from(JSON.parse(py(GGUF_REFERENCE, [smollmGguf, JSON.stringify(ids), model.info().dtype])) as number[]);
    const ours = await model.logits(Int32Array.from(ids));
    expect(argmax(ours)).toBe(argmax(ref));
    // Same arithmetic up to the order of sums over the permuted head dimensions.
    expect(relErr(ours, ref)).toBeLessThan(1e-3);
  }, PY_TIMEOUT);

  it("saves as an MLX checkpoint that mlx-lm loads and that gives our logits", async () => {
    const out = join(fixtures, "saved-smollm2");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await model.save(out);
    const cfg = readJson(join(out, "config.json"));
    expect(cfg["model_type"]).toBe("llama");
    expect(cfg["quantization"]).toMatchObject({ bits: 4, group_size: 32, mode: "affine", "model.embed_tokens": { bits: 8, group_size: 32 } });
    const ids = promptIds();
    const ref = mlxlmLogits(out, ids);
    const ours = await model.logits(Int32Array.from(ids));
    expect(relErr(ours, ref)).toBeLessThan(1e-3);
    expect(tokens[argmax(ref)]).toBe("ĠParis");
  }, PY_TIMEOUT);
});

describe("float GGUF written from a safetensors checkpoint", () => {
  it("loads with the config derived from metadata and gives mlx-lm's logits on the original", async () => {
    ensureFixtures();
    const src = join(fixtures, "llama-tied-linear-fp32");
    const file = join(fixtures, "llama-tied-linear.gguf");
    py(WRITE_F32_GGUF, [src, file]);
    const m = await load(addon(), file, "float32");
    try {
      const info = m.info();
      expect(info.quantization).toBeNull();
      expect(info.tieWordEmbeddings).toBe(true);
      expect(info.config).toMatchObject({ rope_scaling: { type: "linear", factor: 2 }, num_key_value_heads: 2, vocab_size: 256 });
      const ids = [3, 14, 15, 92, 65, 35, 89, 79];
      const ref = mlxlmLogits(src, ids);
      expect(relErr(await m.logits(Int32Array.from(ids)), ref)).toBeLessThan(1e-3);
    } finally {
      m.dispose();
    }
  }, PY_TIMEOUT);
});

// The llama.cpp converter's layout: q/k rows permuted for interleaved rope, GGUF tensor names, llama.* metadata.
const WRITE_F32_GGUF = String.raw`
import json, sys
from pathlib import Path
import mlx.core as mx
src, out = Path(sys.argv[1]), sys.argv[2]
cfg = json.loads((src / "config.json").read_text())
w = mx.load(str(src / "model.safetensors"))
def permute(a, n_head):
    return a.reshape(n_head, 2, a.shape[0] // n_head // 2, *a.shape[1:]).swapaxes(1, 2).reshape(a.shape)
names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
g = {"token_embd.weight": w["model.embed_tokens.weight"], "output_norm.weight": w["model.norm.weight"]}
for i in range(cfg["num_hidden_layers"]):
    for hf, gg in names.items():
        a = w[f"model.layers.{i}.{hf}.weight"]
        if gg == "attn_q": a = permute(a, cfg["num_attention_heads"])
        if gg == "attn_k": a = permute(a, cfg["num_key_value_heads"])
        g[f"blk.{i}.{gg}.weight"] = a
u = lambda v: mx.array(v, dtype=mx.uint32)
f = lambda v: mx.array(v, dtype=mx.float32)
meta = {"general.architecture": "llama", "llama.embedding_length": u(cfg["hidden_size"]),
        "llama.block_count": u(cfg["num_hidden_layers"]), "llama.feed_forward_length": u(cfg["intermediate_size"]),
        "llama.attention.head_count": u(cfg["num_attention_heads"]), "llama.attention.head_count_kv": u(cfg["num_key_value_heads"]),
        "llama.attention.layer_norm_rms_epsilon": f(cfg["rms_norm_eps"]), "llama.rope.freq_base": f(cfg["rope_theta"]),
        "llama.context_length": u(cfg["max_position_embeddings"]), "llama.rope.scaling.type": "linear",
        "llama.rope.scaling.factor": f(cfg["rope_scaling"]["factor"]),
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(cfg["vocab_size"])]}
mx.save_gguf(out, g, meta)
`;

// Independent of our loader: raw mx.load of the GGUF, no un-permutation, rope with traditional=True,
// floats cast to the dtype our loader chose.
const GGUF_REFERENCE = String.raw`
import json, sys
import mlx.core as mx
path, ids, dtype = sys.argv[1], json.loads(sys.argv[2]), getattr(mx, sys.argv[3])
w, meta = mx.load(path, return_metadata=True)
w = {k: (v.astype(dtype) if mx.issubdtype(v.dtype, mx.floating) else v) for k, v in w.items()}
n = lambda k: meta[k].item()
H, L, nh, nkv = n("llama.embedding_length"), n("llama.block_count"), n("llama.attention.head_count"), n("llama.attention.head_count_kv")
eps, base = n("llama.attention.layer_norm_rms_epsilon"), n("llama.rope.freq_base")
hd = H // nh
def lin(x, p, in_dims):
    wq = w[p + ".weight"]
    bits = wq.shape[1] * 32 // in_dims
    return mx.quantized_matmul(x, wq, w[p + ".scales"], w[p + ".biases"], transpose=True, group_size=32, bits=bits)
def norm(x, p):
    return mx.fast.rms_norm(x, w[p + ".weight"], eps)
x = mx.array([ids])
e = w["token_embd.weight"][x]
h = mx.dequantize(e, w["token_embd.scales"][x], w["token_embd.biases"][x], group_size=32, bits=8)
T = len(ids)
for i in range(L):
    p = f"blk.{i}."
    a = norm(h, p + "attn_norm")
    q = lin(a, p + "attn_q", H).reshape(1, T, nh, hd).transpose(0, 2, 1, 3)
    k = lin(a, p + "attn_k", H).reshape(1, T, nkv, hd).transpose(0, 2, 1, 3)
    v = lin(a, p + "attn_v", H).reshape(1, T, nkv, hd).transpose(0, 2, 1, 3)
    q = mx.fast.rope(q, hd, traditional=True, base=base, scale=1.0, offset=0)
    k = mx.fast.rope(k, hd, traditional=True, base=base, scale=1.0, offset=0)
    o = mx.fast.scaled_dot_product_attention(q, k, v, scale=hd ** -0.5, mask="causal")
    h = h + lin(o.transpose(0, 2, 1, 3).reshape(1, T, -1), p + "attn_output", nh * hd)
    m = norm(h, p + "ffn_norm")
    g = lin(m, p + "ffn_gate", H)
    h = h + lin(g * mx.sigmoid(g) * lin(m, p + "ffn_up", H), p + "ffn_down", n("llama.feed_forward_length"))
h = norm(h, "output_norm")
logits = mx.quantized_matmul(h, w["token_embd.weight"], w["token_embd.scales"], w["token_embd.biases"], transpose=True, group_size=32, bits=8)
print(json.dumps(logits[0, -1].astype(mx.float32).tolist()))
`;
