// The HF config.json a GGUF's metadata stands for. llama.cpp's converter writes the same hyperparameters
// under "<arch>.<key>" for every architecture, so one table maps them; what differs between
// architectures (defaults, tensor names) is the native architecture file's business.
import type { GgufMetadata } from "./native-types.js";
import type { Json } from "./model-config.js";
import { MlxTsError } from "./types.js";

/** GGUF "<arch>.<key>" -> config.json key, integers. */
const INT_KEYS: [string, string][] = [
  ["embedding_length", "hidden_size"],
  ["block_count", "num_hidden_layers"],
  ["feed_forward_length", "intermediate_size"],
  ["attention.head_count", "num_attention_heads"],
  ["attention.head_count_kv", "num_key_value_heads"],
  ["attention.key_length", "head_dim"],
  ["context_length", "max_position_embeddings"],
  ["expert_count", "num_experts"],
  ["expert_used_count", "num_experts_per_tok"],
  ["expert_feed_forward_length", "moe_intermediate_size"],
];
const REQUIRED = new Set(["embedding_length", "block_count", "attention.head_count"]);

function num(meta: GgufMetadata, key: string): number | undefined {
  const v = meta[key];
  return typeof v === "number" ? v : undefined;
}

/** The config in HF form; E_BAD_CONFIG when a shape key is missing. */
export function configFromGguf(meta: GgufMetadata, source: string): Json {
  const arch = meta["general.architecture"];
  if (typeof arch !== "string" || arch === "") {
    throw new MlxTsError("E_BAD_CONFIG", `${source}: GGUF metadata has no "general.architecture", so the model is unknown. Re-export the GGUF with llama.cpp's converter.`);
  }
  const c: Json = { model_type: arch };
  for (const [g, h] of INT_KEYS) {
    const v = num(meta, `${arch}.${g}`);
    if (v === undefined && REQUIRED.has(g)) {
      throw new MlxTsError(
        "E_BAD_CONFIG",
        `${source}: GGUF metadata "${arch}.${g}" is missing, so the model shape is unknown. Re-export the GGUF with llama.cpp's converter.`,
      );
    }
    if (v !== undefined) c[h] = Math.trunc(v);
  }
  // A MoE GGUF may leave the dense size out; the dense layers (if any) then have none.
  if (c.intermediate_size === undefined) c.intermediate_size = c.moe_intermediate_size ?? 0;
  // llama.cpp's switch for renormalising the top-k expert weights (GGUF stores booleans as 0/1).
  const norm = num(meta, `${arch}.expert_weights_norm`);
  if (norm !== undefined) c.norm_topk_prob = norm !== 0;
  c.rms_norm_eps = num(meta, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-6;
  // llama.cpp's own default when a GGUF has no freq_base.
  c.rope_theta = num(meta, `${arch}.rope.freq_base`) ?? 10000;
  c.max_position_embeddings ??= 4096;
  const tokens = meta["tokenizer.ggml.tokens"];
  const vocab = Array.isArray(tokens) ? tokens.length : num(meta, `${arch}.vocab_size`);
  if (vocab === undefined) {
    throw new MlxTsError("E_BAD_CONFIG", `${source}: GGUF metadata has neither tokenizer.ggml.tokens nor "${arch}.vocab_size", so the vocabulary size is unknown.`);
  }
  c.vocab_size = vocab;
  const factor = num(meta, `${arch}.rope.scaling.factor`);
  const type = meta[`${arch}.rope.scaling.type`] ?? "linear";
  if (factor !== undefined && type === "linear") c.rope_scaling = { type: "linear", factor };
  const bos = num(meta, "tokenizer.ggml.bos_token_id");
  const eos = num(meta, "tokenizer.ggml.eos_token_id");
  if (bos !== undefined) c.bos_token_id = bos;
  if (eos !== undefined) c.eos_token_id = eos;
  return c;
}
