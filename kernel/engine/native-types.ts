// The contract between the C++ addon (native/) and the TypeScript engine façade.
// native/src/addon.cpp implements exactly this; kernel/engine/native.ts loads the addon and types it.
// Numbers of bytes are JS numbers (exact up to 2^53). Token ids are int32.

import type { NativeErrorCode } from "../protocol.js";
export type { NativeErrorCode };

/** Native functions throw (or reject with) an Error carrying one of these codes in `.code`. */
export interface NativeError extends Error {
  code: NativeErrorCode;
}

export interface NativeRuntimeInfo {
  mlxVersion: string;
  backend: "cpu" | "metal" | "cuda";
  /** e.g. "cpu", "gpu" — MLX's default device type */
  device: string;
  /** free-form description MLX gives (device name / architecture), or "" */
  deviceName: string;
}

export interface NativeMemory {
  active: number;
  peak: number;
  cache: number;
  /** MLX memory limit currently in force */
  limit: number;
  cacheLimit: number;
}

export interface NativeQuantization {
  bits: number;
  groupSize: number;
  mode: "affine" | "mxfp4" | "mxfp8" | string;
}

/** rope_scaling as config.json gives it (or nested under rope_parameters), checked by kernel/engine/model-config.ts. */
export interface NativeRopeScaling {
  type: "default" | "linear" | "llama3";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** A per-module quantization entry of config.json: its own spec, or false (left unquantized). */
export type NativeModuleQuantization = NativeQuantization | false;

/**
 * The architecture's parameters as config.json names them (camelCase), parsed and checked in TypeScript
 * (kernel/engine/model-config.ts). Keys whose default differs between architectures are optional: the
 * architecture's native file fills them in, as each mlx-lm ModelArgs does.
 */
export interface NativeModelConfig {
  /** config.json model_type, or GGUF general.architecture (the native registry knows both names) */
  modelType: string;
  hiddenSize: number;
  numHiddenLayers: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim?: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  /** absent: the architecture's default; for GGUF, tied unless the file has an output (lm_head) tensor */
  tieWordEmbeddings?: boolean;
  attentionBias?: boolean;
  mlpBias?: boolean;
  ropeTheta?: number;
  ropeTraditional: boolean;
  ropeScaling: NativeRopeScaling | null;
  /** the checkpoint's quantization (config.json "quantization"), or null */
  quantization: NativeQuantization | null;
  /** per-module entries of "quantization", keyed by module path ("model.layers.0.mlp.gate") */
  quantizationModules: Record<string, NativeModuleQuantization>;
  /** mixture of experts (qwen3_moe); absent for dense models */
  numExperts?: number;
  numExpertsPerTok?: number;
  moeIntermediateSize?: number;
  normTopkProb?: boolean;
  decoderSparseStep?: number;
  mlpOnlyLayers?: number[];
  /** qwen2_moe: the shared expert's hidden size */
  sharedExpertIntermediateSize?: number;
}

export interface NativeLoadOptions {
  /** What is being loaded, for messages: a model directory or a .gguf file. */
  path: string;
  format: "safetensors" | "gguf";
  /** The weight files: the safetensors shards (in order), or the one .gguf file. */
  files: string[];
  config: NativeModelConfig;
  /** The same config in HF config.json form: info().config returns it, save() writes it back, each with the quantization keys the weights now carry. */
  hfConfig: Record<string, unknown>;
  /** Cast the non-quantized floating weights to this dtype. Default: keep what the file has; GGUF dequantized/float tensors become float32 on the CPU backend (float16 is far slower there) and float16 on GPU. */
  dtype?: "bfloat16" | "float16" | "float32";
}

export interface NativeModelInfo {
  /** The native architecture file that runs it (native/src/models/registry.cpp maps model_type to it) */
  architecture: string;
  /** config.json model_type (or GGUF general.architecture) */
  modelType: string;
  numParameters: number;
  /** bytes of all weight arrays (quantized weights + scales + biases counted as stored) */
  weightBytes: number;
  quantization: NativeQuantization | null;
  contextLength: number;
  vocabSize: number;
  numLayers: number;
  hiddenSize: number;
  /** dtype of the non-quantized weights, e.g. "bfloat16" */
  dtype: string;
  tieWordEmbeddings: boolean;
  /** hfConfig as loaded, with "quantization"/"quantization_config" as the weights now are, tie_word_embeddings as resolved, and "architectures" when it had none */
  config: Record<string, unknown>;
  /** dist: a model sharded over rank processes (kernel/engine/shards.ts); the other fields are rank 0's */
  shards?: NativeShardsInfo;
}

/** dist: how a sharded model is spread, and each rank's memory (as of its last load or generation). */
export interface NativeShardsInfo {
  count: number;
  backend: string;
  mode: "tensor" | "pipeline";
  ranks: { rank: number; pid: number; host?: string; weightBytes: number; activeMemory: number; peakMemory: number }[];
}

/** GGUF key/value metadata; numeric arrays (e.g. tokenizer.ggml.token_type, scores) become number[]. */
export type GgufMetadata = Record<string, string | number | string[] | number[]>;

export interface NativeGenerateParams {
  maxTokens: number;
  /** 0 = greedy */
  temperature: number;
  /** 1 = off */
  topP: number;
  /** 0 = off */
  topK: number;
  /** 0 = off */
  minP: number;
  /** 1 = off */
  repetitionPenalty: number;
  repetitionContextSize: number;
  /** undefined = nondeterministic */
  seed?: number;
  eosTokenIds: number[];
  /** prompt tokens evaluated per prefill step; default 2048 */
  prefillStepSize: number;
  /** reuse the longest common prefix between this prompt and the tokens already in the model's KV cache */
  reusePrefix: boolean;
  // kvcache: the KV cache's kind (mlx-lm's kv_bits, kv_group_size, quantized_kv_start, max_kv_size)
  /** 4 | 8; absent = full precision */
  kvBits?: number;
  /** default 64 */
  kvGroupSize?: number;
  /** default 5000 */
  quantizedKvStart?: number;
  /** absent = unbounded (plain KVCache); set = RotatingKVCache(max_size, keep 4) */
  maxKvSize?: number;
  /** speculative decoding: another loaded model with the same vocabulary, locked for the run (E_BUSY when it is generating) */
  draft?: NativeModel;
  /** tokens the draft proposes per target step (1..1024, default 2); read only with draft */
  numDraft?: number;
}

export type NativeStopReason = "eos" | "length" | "cancelled" | "error";

export interface NativeGenerationStats {
  promptTokens: number;
  /** prompt tokens whose KV came from the cache instead of being recomputed */
  reusedTokens: number;
  generatedTokens: number;
  /** from generate() call to the first generated token being available */
  ttftMs: number;
  prefillMs: number;
  decodeMs: number;
  /** (promptTokens - reusedTokens) / prefill seconds */
  promptTps: number;
  /** generatedTokens / decode seconds (first token excluded from the decode interval, as mlx-lm does) */
  generationTps: number;
  /** mx::get_peak_memory() at the end (peak is reset at the start of each generation) */
  peakMemory: number;
  /** the KV cache's bytes when the generation ended: mlx-lm's nbytes summed over the layers (arrays as allocated) */
  kvCacheBytes: number;
  stopReason: NativeStopReason;
  /** speculative decoding only: tokens the draft proposed, and how many of them the target accepted */
  draftedTokens?: number;
  acceptedTokens?: number;
  /** acceptedTokens / draftedTokens, 0..1 */
  acceptanceRate?: number;
  /** generatedTokens / target forward passes in the decode (1 = no gain; at most numDraft + 1) */
  tokensPerTargetStep?: number;
  /** batch only (generateBatch, continuous batching): rows in the batched step that gave this row's last token, and the most rows it ran beside */
  batchSize?: number;
  maxBatchSize?: number;
  /** batch only: the whole batch's KV cache bytes when the row ended; kvCacheBytes is then this row's share (1/rows) */
  batchKvCacheBytes?: number;
  /** dist: a sharded model's ranks, with their memory when the generation ended */
  ranks?: NativeShardsInfo["ranks"];
}

/** Delivered on the JS thread, in order. `tokens` events may batch several ids when JS is slower than decode. */
export type NativeGenerationEvent =
  /** drafted: indices into this event's tokens of accepted draft proposals (speculative decoding only) */
  | { type: "tokens"; tokens: number[]; drafted?: number[] }
  | { type: "done"; stats: NativeGenerationStats }
  | { type: "error"; code: NativeErrorCode; message: string; stats: NativeGenerationStats };

export interface NativeGeneration {
  /** Stops after the token being computed; a "done" event with stopReason "cancelled" follows (partial stats kept). Idempotent. */
  cancel(): void;
}

// batch: batched and continuous generation (native/src/napi_batch.cpp)
export interface NativeBatchRow {
  id: number;
  prompt: Int32Array;
  /** no draft (refused with E_BAD_ARGUMENT); kvBits and maxKvSize give the row its own cache kind */
  params: NativeGenerateParams;
  /** start from a copy of the model's cache when it holds exactly a prefix of `prompt` (a single-row run moving into the batch) */
  continueSlot?: boolean;
}

export type NativeBatchEvent =
  | { type: "tokens"; row: number; tokens: number[] }
  | { type: "done"; row: number; stats: NativeGenerationStats }
  | { type: "error"; row: number; code: NativeErrorCode; message: string; stats: NativeGenerationStats }
  /** the loop has ended and the model is free; no event follows */
  | { type: "end" };

export interface NativeBatch {
  /** Joins the running batch at its next step; false once the batch has ended (start a new one). */
  add(row: NativeBatchRow): boolean;
  /** Ends that row after the step in progress ("done" with stopReason "cancelled"). */
  cancel(id: number): void;
  cancelAll(): void;
}

export interface NativeQuantizeOptions {
  bits: number;
  groupSize: number;
  mode: "affine" | "mxfp4" | "mxfp8";
}

export interface NativeQuantizeReport {
  bytesBefore: number;
  bytesAfter: number;
  quantizedLayers: number;
  /** layers left as they were because a dimension does not divide by the group size (as mlx-lm does) */
  skippedLayers: string[];
}

export interface NativeModel {
  info(): NativeModelInfo;
  /** Starts generation on the model's worker thread. One generation per model at a time (E_BAD_ARGUMENT otherwise). */
  generate(prompt: Int32Array, params: NativeGenerateParams, onEvent: (ev: NativeGenerationEvent) => void): NativeGeneration;
  /** Float32 logits of the last `positions` (default 1) positions for this token sequence, row after row (fresh cache; does not touch the generation cache). */
  logits(tokens: Int32Array, positions?: number): Promise<Float32Array>;
  /** Quantize in place (replaces the weights). */
  quantize(opts: NativeQuantizeOptions): Promise<NativeQuantizeReport>;
  /** Write config.json (with "quantization" when quantized) and model.safetensors (+ index when sharded) into dir, in the layout mlx-lm loads. Dir must exist. Tokenizer files are the façade's job. */
  save(dir: string): Promise<void>;
  /** Drop the KV cache. */
  resetCache(): void;
  /** Write the KV cache to `file` in mlx-lm's prompt-cache layout, with `metadata` as its user metadata (plus the token ids). */
  savePromptCache(file: string, metadata: Record<string, string>): Promise<{ tokens: number; idsKnown: boolean; classes: string[]; bytes: number }>;
  /** Read `file` (ours or mlx-lm's) into the KV cache; the next generation with reusePrefix continues it. */
  loadPromptCache(file: string): Promise<{ tokens: number; idsKnown: boolean; classes: string[]; bytes: number; metadata: Record<string, string> }>;
  /** Release weights now (model unusable afterwards). */
  dispose(): void;
  /** batch: starts a batched generation with these rows (at least one); more join with add(). Holds the model until "end". E_BUSY while a single-row generation runs. */
  generateBatch(rows: NativeBatchRow[], onEvent: (ev: NativeBatchEvent) => void): NativeBatch;
}

export interface NativeAddon {
  runtime(): NativeRuntimeInfo;
  loadModel(opts: NativeLoadOptions): Promise<NativeModel>;
  memory(): NativeMemory;
  resetPeakMemory(): void;
  /** returns the previous limit */
  setMemoryLimit(bytes: number): number;
  /** returns the previous limit */
  setCacheLimit(bytes: number): number;
  clearCache(): void;
  /** "cpu" | "gpu"; throws E_BAD_ARGUMENT when the backend has no such device */
  setDefaultDevice(device: "cpu" | "gpu"): void;
  /** custom kernels (kernels.ts): sources folder, measured rules, MLX_TS_KERNELS */
  kernelsConfigure(cfg: { dir: string; rules: NativeKernelRule[]; allow: string[] | null; allOff: boolean }): void;
  /** throws E_BAD_ARGUMENT for an unknown kernel name */
  kernelsSetMode(name: string, mode: "on" | "off" | "auto"): void;
  kernelsStatus(): NativeKernelStatus[];
  kernelsResetCounts(): void;
  kernelsBench(opts: { dtype: string; headDim: number; nHeads: number; nKvHeads: number; kvLen: number; batch: number; iters: number }): Promise<NativeKernelBench>;
}

/** One dispatch rule: where (dtype, head_dim, GQA ratio, KV length in [kvMin, kvMax), batch <= batchMax) a kernel is used. */
export interface NativeKernelRule { kernel: string; dtype: string; headDim: number; gqa: number; kvMin: number; kvMax: number; batchMax: number; use: boolean }

export interface NativeKernelStatus {
  name: string;
  /** the backend its source is for here ("cuda" | "metal"), "" when none can run */
  backend: string;
  available: boolean;
  reason: string;
  mode: "on" | "off" | "auto";
  /** false when MLX_TS_KERNELS switches it off */
  allowed: boolean;
  /** calls that went to the kernel, and to the fallback, since the last reset */
  calls: number;
  fallbacks: number;
  /** self-checks against SDPA, one per compiled variant */
  checks: Array<{ dtype: string; headDim: number; gqa: number; ok: boolean; maxError: number; error: string }>;
}

export interface NativeKernelBench { sdpaUs: number; customUs: number; maxError: number }
