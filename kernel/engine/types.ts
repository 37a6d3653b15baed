// The engine façade's public surface: what kernel/session, kernel/magics, repl/ and bench/ use.
// kernel/engine/index.ts exports `createEngine(): Engine` implementing it.
import type { NativeGenerationStats, NativeMemory, NativeModelInfo, NativeQuantizeReport, NativeRuntimeInfo } from "./native-types.js";

export { MlxTsError, isErrorCode, type ErrorCode } from "../protocol.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

export interface GenerateOptions {
  maxTokens?: number; // default 256
  temperature?: number; // default 0 (greedy)
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  repetitionContextSize?: number; // default 20, as mlx-lm
  seed?: number;
  stop?: string[];
  prefillStepSize?: number; // default 2048
  /** Prompt is raw text (no chat template). Default false for strings: a string becomes one user message. */
  raw?: boolean;
  system?: string;
  /** Qwen3: enable_thinking in the chat template. Default true (the template's default). */
  enableThinking?: boolean;
  /** Reuse the KV cache prefix shared with the previous generation on this model. Default true. */
  reusePrefix?: boolean;
  /** Keep generating through end-of-sequence tokens up to maxTokens (benchmarks want a fixed length). Default false. */
  ignoreEos?: boolean;
  signal?: AbortSignal;
  // kvcache: the KV cache's kind, as mlx-lm's generate (kv_bits, kv_group_size, quantized_kv_start, max_kv_size)
  /** Quantize the KV cache to 4 or 8 bits once it holds quantizedKvStart positions. Default: not quantized. */
  kvBits?: number;
  /** Group size of the KV-cache quantization: 32, 64 or 128. Default 64. */
  kvGroupSize?: number;
  /** Positions after which the KV cache is quantized (with kvBits). Default 5000, as mlx-lm. */
  quantizedKvStart?: number;
  /** Keep at most this many positions (a rotating cache: the first 4 stay, the rest is a ring). Default: unbounded. */
  maxKvSize?: number;
  /** Speculative decoding: the name of another loaded model (same vocabulary and EOS) that proposes tokens for this one to check. */
  draft?: string;
  /** Speculative decoding: tokens the draft proposes per target step (default 2, as mlx-lm's num_draft_tokens). Needs `draft`. */
  numDraft?: number;
  // batch: batched and continuous generation (engine/batch.ts)
  /** Run as a row of a batch on this model: it starts one, or joins the running one at its next step (so `Promise.all` of several start together). A generation started while a batch runs joins it anyway. */
  batch?: boolean;
}

export type StopReason = "eos" | "length" | "stop" | "cancelled" | "error";

export interface GenerationStats extends Omit<NativeGenerationStats, "stopReason"> {
  stopReason: StopReason;
}

export interface GenerationChunk {
  /** newly decoded text (never splits a UTF-8 character) */
  text: string;
  tokens: number[];
  /** true while inside a Qwen3 <think>…</think> block */
  thinking: boolean;
  /** speculative decoding: the text was released by tokens the draft model proposed and the target accepted */
  drafted?: boolean;
}

export interface GenerationResult {
  text: string;
  /** text outside <think> blocks */
  answer: string;
  thinking: string;
  tokens: number[];
  promptTokens: number[];
  stats: GenerationStats;
  /** speculative decoding only: indices into `tokens` of the draft's proposals the target accepted */
  drafted?: number[];
}

/** An async iterable of chunks that can be cancelled; `result` resolves when generation ends (also on cancel). */
export interface GenerationStream extends AsyncIterable<GenerationChunk> {
  cancel(): void;
  readonly result: Promise<GenerationResult>;
}

export interface LoadOptions {
  as?: string;
  dtype?: "bfloat16" | "float16" | "float32";
  quant?: { bits: number; groupSize?: number; mode?: "affine" | "mxfp4" | "mxfp8" };
  // dist: shard the model over this many rank processes (kernel/engine/shards.ts); absent or 1 = one process
  shards?: number;
  backend?: "ring" | "nccl" | "mpi";
  /** hostfile: MLX's ring format [["ip:port"], ...] in rank order, or mlx.launch's [{ ssh, ips, node?, checkout? }] (other hosts' ranks start over ssh); default free loopback ports */
  hosts?: string;
  mode?: "tensor" | "pipeline";
  /** how long ranks have to start, join and load (default 60 s, or $MLX_TS_SHARD_TIMEOUT_MS) */
  shardTimeoutMs?: number;
  /** "warmup": on CUDA, the short generations that JIT-compile the model's GPU kernels (gpu-warmup.ts) */
  onProgress?: (p: { phase: "download" | "load" | "warmup"; done: number; total: number; file?: string }) => void;
}

export interface QuantizeOptions {
  bits: number;
  groupSize?: number; // default 64
  mode?: "affine" | "mxfp4" | "mxfp8";
}

export interface LoadedModel {
  readonly name: string;
  /** where it came from: directory or .gguf path */
  readonly source: string;
  info(): NativeModelInfo;
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  /** Renders messages with the model's chat template (generation prompt added). */
  applyChatTemplate(messages: ChatMessage[], opts?: { enableThinking?: boolean }): string;
  stream(prompt: string | ChatMessage[], opts?: GenerateOptions): GenerationStream;
  generate(prompt: string | ChatMessage[], opts?: GenerateOptions): Promise<GenerationResult>;
  /** Float32 logits of the last position, for the raw token sequence; with `positions`, of that many last positions, row after row ([positions × vocab]). */
  logits(tokens: number[], opts?: { positions?: number }): Promise<Float32Array>;
  quantize(opts: QuantizeOptions): Promise<NativeQuantizeReport>;
  /** Atomic: writes into DIR.tmp-XXXX, then renames to DIR. Includes tokenizer files. Refuses a non-empty DIR unless opts.overwrite. */
  save(dir: string, opts?: { overwrite?: boolean }): Promise<void>;
  resetCache(): void;
  /** Writes the KV cache of the last generation to FILE (.safetensors) in mlx-lm's prompt-cache layout. */
  savePromptCache(file: string): Promise<PromptCacheInfo>;
  /** Makes FILE (ours or mlx-lm's) this model's KV cache; the next generation with reusePrefix continues it. */
  loadPromptCache(file: string): Promise<PromptCacheInfo>;
}

/** A prompt-cache file written or read. */
export interface PromptCacheInfo {
  file: string;
  /** positions the cache holds */
  tokens: number;
  /** whether the file lists the token ids of those positions (ours do; mlx-lm's do not, so the next prompt continues it as a suffix) */
  idsKnown: boolean;
  /** mlx-lm cache class names in it: "KVCache", "QuantizedKVCache", "RotatingKVCache" */
  classes: string[];
  /** the cache's bytes (mlx-lm's nbytes) */
  bytes: number;
  /** the file's user metadata ("model", "tokenizer_config", ...) */
  metadata: Record<string, string>;
}

/** A generation starting or ending on the named model (the model registry counts uses from these). */
export type GenerationEvent = { model: string; phase: "start" } | { model: string; phase: "end"; stats?: GenerationStats };

/** Owns the loaded models and the generations running on them; the session, magics and cells all go through it. */
export interface Engine {
  /** loaded models by name, in load order (oldest first) */
  readonly models: ReadonlyMap<string, LoadedModel>;
  /** whether the native addon is loaded yet (it loads on first use) */
  readonly nativeLoaded: boolean;
  /** ID_OR_PATH: an alias ("smollm2"), a local directory, a .gguf file, or an HF id ("org/name") in the HF cache (downloaded when the hub is reachable). */
  load(idOrPath: string, opts?: LoadOptions): Promise<LoadedModel>;
  unload(name: string): void;
  get(name: string): LoadedModel;
  /** The model named, or the default: the most recently loaded model still loaded. E_NOT_LOADED names `user` ("%%generate") when none is. */
  model(name?: string, user?: string): LoadedModel;
  /** generations running on this engine's models (started from anywhere: cells, magics, code) */
  readonly activeGenerations: number;
  /** whether a generation runs on the model `name` now */
  isGenerating(name: string): boolean;
  /** Calls `fn` when a generation starts or ends on any model (the model registry's usage counts); returns the unsubscribe. */
  watchGenerations(fn: (e: GenerationEvent) => void): () => void;
  /** Cancels every running generation; each ends after the token (or prefill chunk) in progress. */
  cancelAll(): void;
  /** Waits, at most `ms`, until no generation runs. */
  settle(ms: number): Promise<void>;
  runtime(): NativeRuntimeInfo;
  memory(): NativeMemory;
  resetPeakMemory(): void;
  setMemoryLimit(bytes: number): number;
  setCacheLimit(bytes: number): number;
  /** MLX's memory and cache limits before this engine first changed them */
  defaultLimits(): { memory: number; cache: number };
  clearCache(): void;
  setDevice(device: "cpu" | "gpu"): void;
}
