// config.json and GGUF metadata -> the typed config the addon takes (pure logic: no addon, no files).
import { describe, expect, it } from "vitest";
import { configFromGguf } from "../../kernel/engine/gguf-config.js";
import { nativeModelConfig } from "../../kernel/engine/model-config.js";

const BASE = {
  model_type: "qwen3_moe",
  hidden_size: 64,
  num_hidden_layers: 3,
  intermediate_size: 128,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  vocab_size: 256,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  rope_theta: 1e6,
  tie_word_embeddings: false,
};

describe("nativeModelConfig", () => {
  it("maps config.json keys, leaves architecture-dependent defaults unset, and keeps MoE fields", () => {
    const c = nativeModelConfig(
      { ...BASE, num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 32, norm_topk_prob: true, decoder_sparse_step: 1, mlp_only_layers: [0] },
      "cfg",
    );
    expect(c).toMatchObject({
      modelType: "qwen3_moe", hiddenSize: 64, numHiddenLayers: 3, numKeyValueHeads: 2, headDim: 16, ropeTheta: 1e6, tieWordEmbeddings: false,
      numExperts: 8, numExpertsPerTok: 2, moeIntermediateSize: 32, normTopkProb: true, decoderSparseStep: 1, mlpOnlyLayers: [0],
      ropeScaling: null, quantization: null, quantizationModules: {},
    });
    const dense = nativeModelConfig({ ...BASE, head_dim: undefined, rope_theta: undefined, tie_word_embeddings: undefined }, "cfg");
    expect(dense.headDim).toBeUndefined();
    expect(dense.ropeTheta).toBeUndefined();
    expect(dense.tieWordEmbeddings).toBeUndefined();
    expect(dense.numExperts).toBeUndefined();
  });

  it("reads quantization with its per-module entries, and rope_parameters as transformers 5 nests them", () => {
    const c = nativeModelConfig(
      {
        ...BASE,
        rope_theta: undefined,
        rope_parameters: { rope_theta: 5e5, rope_type: "llama3", factor: 8, original_max_position_embeddings: 256 },
        quantization: { group_size: 64, bits: 4, mode: "affine", "model.layers.0.mlp.gate": { group_size: 64, bits: 8 }, lm_head: false },
      },
      "cfg",
    );
    expect(c.ropeTheta).toBe(5e5);
    expect(c.ropeScaling).toEqual({ type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256 });
    expect(c.quantization).toEqual({ bits: 4, groupSize: 64, mode: "affine" });
    expect(c.quantizationModules).toEqual({ "model.layers.0.mlp.gate": { bits: 8, groupSize: 64, mode: "affine" }, lm_head: false });
  });

  it("names the key at fault", () => {
    expect(() => nativeModelConfig({ ...BASE, hidden_size: undefined }, "x/config.json")).toThrow(/x\/config.json.*"hidden_size"/);
    expect(() => nativeModelConfig({ ...BASE, model_type: undefined }, "c")).toThrow(expect.objectContaining({ code: "E_BAD_CONFIG" }));
    expect(() => nativeModelConfig({ ...BASE, num_key_value_heads: 3 }, "c")).toThrow(/inconsistent sizes/);
    expect(() => nativeModelConfig({ ...BASE, rope_scaling: { type: "yarn", factor: 4 } }, "c")).toThrow(expect.objectContaining({ code: "E_UNSUPPORTED_ARCH" }));
    expect(() => nativeModelConfig({ ...BASE, rope_scaling: { type: "linear" } }, "c")).toThrow(/needs a "factor"/);
    expect(() => nativeModelConfig({ ...BASE, quantization_config: { quant_method: "gptq" } }, "c")).toThrow(/"gptq" is not supported/);
    expect(() => nativeModelConfig({ ...BASE, mlp_only_layers: "0" }, "c")).toThrow(/mlp_only_layers/);
  });
});

describe("configFromGguf", () => {
  it("maps llama.cpp's <arch>.<key> hyperparameters, MoE counts included", () => {
    const c = configFromGguf(
      {
        "general.architecture": "qwen3moe",
        "qwen3moe.embedding_length": 64,
        "qwen3moe.block_count": 2,
        "qwen3moe.attention.head_count": 4,
        "qwen3moe.attention.head_count_kv": 2,
        "qwen3moe.attention.key_length": 16,
        "qwen3moe.expert_count": 8,
        "qwen3moe.expert_used_count": 2,
        "qwen3moe.expert_feed_forward_length": 32,
        "qwen3moe.rope.freq_base": 1e6,
        "tokenizer.ggml.tokens": ["a", "b", "c"],
        "tokenizer.ggml.eos_token_id": 2,
      },
      "f.gguf",
    );
    expect(c).toEqual({
      model_type: "qwen3moe", hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
      num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 32, intermediate_size: 32, rms_norm_eps: 1e-6, rope_theta: 1e6,
      max_position_embeddings: 4096, vocab_size: 3, eos_token_id: 2,
    });
    expect(nativeModelConfig(c, "f.gguf").numExperts).toBe(8);
  });

  it("names a missing shape key", () => {
    expect(() => configFromGguf({ "general.architecture": "llama", "tokenizer.ggml.tokens": ["a"] }, "f.gguf")).toThrow(/"llama.embedding_length" is missing/);
  });
});
