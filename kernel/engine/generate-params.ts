// The one check of generation options, before anything reaches native: each message names the option,
// says what it means and what to pass. Native re-checks only what it needs to stay memory-safe.
import type { NativeGenerateParams } from "./native-types.js";
import { MlxTsError, type GenerateOptions } from "./types.js";

const INT_MAX = 2 ** 31 - 1;

function bad(what: string, got: unknown, want: string): MlxTsError {
  return new MlxTsError("E_BAD_ARGUMENT", `${what}, got ${typeof got === "string" ? JSON.stringify(got) : String(got)}. ${want}`);
}

function int(name: string, v: number, lo: number, hi: number, meaning: string, example: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw bad(`${name} (${meaning}) must be an integer from ${lo} to ${hi === INT_MAX ? "2^31-1" : hi}`, v, `Pass e.g. ${name}: ${example}.`);
  }
  return v;
}

function real(name: string, v: number, ok: (x: number) => boolean, range: string, meaning: string, example: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw bad(`${name} (${meaning}) must be a number ${range}`, v, `Pass e.g. ${name}: ${example}.`);
  return v;
}

/** The native parameters for `o` (defaults as mlx-lm's), or E_BAD_ARGUMENT naming the first bad option. */
export function generateParams(o: GenerateOptions, eosTokenIds: readonly number[]): NativeGenerateParams {
  const p: NativeGenerateParams = {
    maxTokens: int("maxTokens", o.maxTokens ?? 256, 1, INT_MAX, "how many tokens to generate at most", "256"),
    temperature: real("temperature", o.temperature ?? 0, (x) => x >= 0, ">= 0", "0 = greedy", "0.7"),
    topP: real("topP", o.topP ?? 1, (x) => x > 0 && x <= 1, "in (0, 1]", "nucleus mass; 1 = off", "0.9"),
    topK: int("topK", o.topK ?? 0, 0, INT_MAX, "sample among the K most likely; 0 = off", "40"),
    minP: real("minP", o.minP ?? 0, (x) => x >= 0 && x <= 1, "in [0, 1]", "drop tokens below minP × the top probability; 0 = off", "0.05"),
    repetitionPenalty: real("repetitionPenalty", o.repetitionPenalty ?? 1, (x) => x > 0, "> 0", "1 = off", "1.1"),
    repetitionContextSize: int("repetitionContextSize", o.repetitionContextSize ?? 20, 0, INT_MAX, "how many recent tokens the penalty looks at", "20"),
    eosTokenIds: o.ignoreEos ? [] : [...eosTokenIds],
    prefillStepSize: int("prefillStepSize", o.prefillStepSize ?? 2048, 1, INT_MAX, "prompt tokens per prefill chunk", "2048"),
    reusePrefix: o.reusePrefix ?? true,
  };
  // kvcache: mlx-lm's kv_bits / kv_group_size / quantized_kv_start / max_kv_size
  if (o.kvBits !== undefined) {
    if (o.kvBits !== 4 && o.kvBits !== 8) throw bad("kvBits (the KV cache's quantization bits) must be 4 or 8", o.kvBits, "Pass kvBits: 8 (or 4), or leave it out for a full-precision cache.");
    p.kvBits = o.kvBits;
  }
  p.kvGroupSize = int("kvGroupSize", o.kvGroupSize ?? 64, 32, 128, "the KV cache's quantization group size", "64");
  if (![32, 64, 128].includes(p.kvGroupSize)) throw bad("kvGroupSize (the KV cache's quantization group size) must be 32, 64 or 128", o.kvGroupSize, "Pass e.g. kvGroupSize: 64.");
  p.quantizedKvStart = int("quantizedKvStart", o.quantizedKvStart ?? 5000, 0, INT_MAX, "positions after which the KV cache is quantized", "5000");
  if (o.maxKvSize !== undefined) p.maxKvSize = int("maxKvSize", o.maxKvSize, 5, INT_MAX, "positions the rotating KV cache keeps; the first 4 always stay", "4096");
  if (p.kvBits !== undefined && p.maxKvSize !== undefined) {
    throw new MlxTsError("E_BAD_ARGUMENT", "kvBits and maxKvSize cannot be combined: mlx-lm has no quantized rotating cache. Pass one of them.");
  }
  if (o.draft !== undefined && (typeof o.draft !== "string" || o.draft.trim().length === 0)) {
    throw bad("draft (the name of a loaded model that proposes tokens) must be a non-empty string", o.draft, 'Load a small model with the same tokenizer, e.g. `%load PATH --as small`, then pass draft: "small".');
  }
  if (o.numDraft !== undefined) {
    if (o.draft === undefined) throw bad("numDraft (tokens the draft proposes per step) needs a draft model", o.numDraft, 'Pass draft: "NAME" as well, or leave numDraft out.');
    p.numDraft = int("numDraft", o.numDraft, 1, 1024, "tokens the draft proposes per target step", "2");
  } else if (o.draft !== undefined) p.numDraft = 2;
  if (o.seed !== undefined) p.seed = int("seed", o.seed, 0, Number.MAX_SAFE_INTEGER, "the sampling seed", "1");
  if (o.stop !== undefined && (!Array.isArray(o.stop) || o.stop.some((s) => typeof s !== "string" || s.length === 0))) {
    throw bad("stop (strings that end the generation) must be an array of non-empty strings", JSON.stringify(o.stop), 'Pass e.g. stop: ["\\n\\n"].');
  }
  return p;
}
