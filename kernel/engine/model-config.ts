// Reading a model directory's JSON side files, merging the end-of-sequence ids every source names, and
// turning config.json into the typed config the addon takes.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { GgufMetadata, NativeModelConfig, NativeQuantization, NativeRopeScaling } from "./native-types.js";
import { MlxTsError } from "./types.js";

export type Json = Record<string, unknown>;

/** A JSON object file, or undefined when absent. Unparsable files are an E_BAD_CONFIG. */
export function readJsonFile(path: string): Json | undefined {
  if (!existsSync(path)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new MlxTsError("E_BAD_CONFIG", `${path} is not valid JSON (${(e as Error).message}). Restore the file from the model's source.`, { cause: e });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new MlxTsError("E_BAD_CONFIG", `${path} must hold a JSON object. Restore the file from the model's source.`);
  }
  return v as Json;
}

/** eos_token_id as configs write it: a number, a list of numbers, or absent. */
export function idList(v: unknown): number[] {
  if (typeof v === "number" && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number" && Number.isInteger(x));
  return [];
}

export interface EosSources {
  generationConfig?: Json;
  config?: Json;
  tokenizerEosId?: number;
  gguf?: GgufMetadata;
}

/** generation_config.json eos_token_id ∪ config.json eos_token_id ∪ the tokenizer's eos ∪ the GGUF's eos/eot ids, in that order. */
export function mergeEosIds(src: EosSources): number[] {
  const ids: number[] = [
    ...idList(src.generationConfig?.eos_token_id),
    ...idList(src.config?.eos_token_id),
    ...(src.tokenizerEosId === undefined ? [] : [src.tokenizerEosId]),
    ...idList(src.gguf?.["tokenizer.ggml.eos_token_id"]),
    ...idList(src.gguf?.["tokenizer.ggml.eot_token_id"]),
  ];
  return [...new Set(ids)];
}

export interface DirectorySideFiles {
  config?: Json;
  generationConfig?: Json;
}

export function readSideFiles(dir: string): DirectorySideFiles {
  return { config: readJsonFile(join(dir, "config.json")), generationConfig: readJsonFile(join(dir, "generation_config.json")) };
}

/** generation_config.json for a GGUF model saved to a directory. */
export function generationConfigFromGguf(meta: GgufMetadata): Json {
  const out: Json = {};
  const bos = meta["tokenizer.ggml.bos_token_id"];
  if (typeof bos === "number") out.bos_token_id = bos;
  const eos = [...new Set([...idList(meta["tokenizer.ggml.eos_token_id"]), ...idList(meta["tokenizer.ggml.eot_token_id"])])];
  if (eos.length > 0) out.eos_token_id = eos.length === 1 ? eos[0] : eos;
  const pad = meta["tokenizer.ggml.padding_token_id"];
  if (typeof pad === "number") out.pad_token_id = pad;
  return out;
}

// ---- config.json -> the typed config the addon takes (kernel/engine/native-types.ts NativeModelConfig)

function badConfig(source: string, what: string): never {
  throw new MlxTsError("E_BAD_CONFIG", `${source}: ${what}`);
}

function optNumber(raw: Json, key: string, source: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) badConfig(source, `"${key}" must be a number, not ${JSON.stringify(v)}. Fix config.json.`);
  return v;
}

function reqInt(raw: Json, key: string, source: string): number {
  const v = optNumber(raw, key, source);
  if (v === undefined) badConfig(source, `required key "${key}" is missing or not a number. Check that this is an HF-style config.json for a decoder LLM.`);
  return Math.trunc(v);
}

function optBool(raw: Json, key: string, source: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") badConfig(source, `"${key}" must be true or false, not ${JSON.stringify(v)}. Fix config.json.`);
  return v;
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function quantSpec(q: Json): NativeQuantization | null {
  const bits = typeof q.bits === "number" ? q.bits : undefined;
  const groupSize = typeof q.group_size === "number" ? q.group_size : undefined;
  if (bits === undefined && groupSize === undefined) return null;
  const mode = typeof q.mode === "string" ? q.mode : "affine";
  const mx = mode === "mxfp4" || mode === "mxfp8";
  return { bits: bits ?? (mode === "mxfp8" ? 8 : 4), groupSize: groupSize ?? (mx ? 32 : 64), mode };
}

function ropeScaling(raw: Json, source: string): NativeRopeScaling | null {
  // transformers >= 5 nests rope settings under rope_parameters.
  let rs = raw.rope_scaling;
  if ((rs === undefined || rs === null) && isObject(raw.rope_parameters)) rs = raw.rope_parameters;
  if (!isObject(rs)) return null;
  const t = rs.type ?? rs.rope_type ?? "default";
  if (t !== "default" && t !== "linear" && t !== "llama3") {
    throw new MlxTsError("E_UNSUPPORTED_ARCH", `${source}: rope_scaling type "${String(t)}" is not implemented (supported: default, linear, llama3).`);
  }
  const factor = optNumber(rs, "factor", source);
  if (t !== "default" && factor === undefined) badConfig(source, `rope_scaling of type "${t}" needs a "factor".`);
  return {
    type: t,
    factor: factor ?? 1,
    lowFreqFactor: optNumber(rs, "low_freq_factor", source) ?? 1,
    highFreqFactor: optNumber(rs, "high_freq_factor", source) ?? 4,
    originalMaxPositionEmbeddings: Math.trunc(optNumber(rs, "original_max_position_embeddings", source) ?? 8192),
  };
}

/** config.json (or a config derived from GGUF metadata) as the addon takes it; E_BAD_CONFIG names the key at fault. */
export function nativeModelConfig(raw: Json, source: string): NativeModelConfig {
  const modelType = typeof raw.model_type === "string" ? raw.model_type : "";
  if (modelType === "") badConfig(source, `"model_type" is missing, so the architecture is unknown. Add it (e.g. "llama", "qwen2", "qwen3").`);
  const hiddenSize = reqInt(raw, "hidden_size", source);
  const numHiddenLayers = reqInt(raw, "num_hidden_layers", source);
  const intermediateSize = reqInt(raw, "intermediate_size", source);
  const numAttentionHeads = reqInt(raw, "num_attention_heads", source);
  const vocabSize = reqInt(raw, "vocab_size", source);
  const numKeyValueHeads = Math.trunc(optNumber(raw, "num_key_value_heads", source) ?? numAttentionHeads);
  const headDim = optNumber(raw, "head_dim", source);
  if (hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0 || numKeyValueHeads <= 0 || numAttentionHeads % numKeyValueHeads !== 0 ||
      (headDim !== undefined && headDim <= 0)) {
    badConfig(source, "inconsistent sizes (hidden_size, heads, kv heads, head_dim). Fix config.json.");
  }
  const ropeParams = isObject(raw.rope_parameters) ? raw.rope_parameters : {};
  const cfg: NativeModelConfig = {
    modelType,
    hiddenSize,
    numHiddenLayers,
    intermediateSize,
    numAttentionHeads,
    numKeyValueHeads,
    vocabSize,
    maxPositionEmbeddings: Math.trunc(optNumber(raw, "max_position_embeddings", source) ?? 0),
    rmsNormEps: optNumber(raw, "rms_norm_eps", source) ?? 1e-6,
    ropeTraditional: optBool(raw, "rope_traditional", source) ?? false,
    ropeScaling: ropeScaling(raw, source),
    quantization: null,
    quantizationModules: {},
  };
  const optional: [keyof NativeModelConfig, number | boolean | undefined][] = [
    ["headDim", headDim === undefined ? undefined : Math.trunc(headDim)],
    ["tieWordEmbeddings", optBool(raw, "tie_word_embeddings", source)],
    ["attentionBias", optBool(raw, "attention_bias", source)],
    ["mlpBias", optBool(raw, "mlp_bias", source)],
    ["ropeTheta", optNumber(raw, "rope_theta", source) ?? optNumber(ropeParams, "rope_theta", source)],
    ["numExperts", optNumber(raw, "num_experts", source)],
    ["numExpertsPerTok", optNumber(raw, "num_experts_per_tok", source)],
    ["moeIntermediateSize", optNumber(raw, "moe_intermediate_size", source)],
    ["normTopkProb", optBool(raw, "norm_topk_prob", source)],
    ["decoderSparseStep", optNumber(raw, "decoder_sparse_step", source)],
    ["sharedExpertIntermediateSize", optNumber(raw, "shared_expert_intermediate_size", source)],
  ];
  for (const [k, v] of optional) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  const mlpOnly = raw.mlp_only_layers;
  if (mlpOnly !== undefined && mlpOnly !== null) {
    if (!Array.isArray(mlpOnly) || !mlpOnly.every((x) => Number.isInteger(x))) badConfig(source, `"mlp_only_layers" must be a list of layer indices.`);
    cfg.mlpOnlyLayers = mlpOnly as number[];
  }

  const q = isObject(raw.quantization) ? raw.quantization : isObject(raw.quantization_config) ? raw.quantization_config : undefined;
  if (q) {
    const method = q.quant_method;
    if (typeof method === "string" && method !== "mlx" && typeof q.bits !== "number") {
      throw new MlxTsError(
        "E_UNSUPPORTED_ARCH",
        `${source}: quantization method "${method}" is not supported; only MLX quantized checkpoints (affine, mxfp4, mxfp8) load. Convert with mlx_lm.convert.`,
      );
    }
    cfg.quantization = quantSpec(q);
    for (const [k, v] of Object.entries(q)) {
      if (isObject(v)) {
        const s = quantSpec(v);
        if (s) cfg.quantizationModules[k] = s;
      } else if (v === false) cfg.quantizationModules[k] = false;
    }
  }
  return cfg;
}
