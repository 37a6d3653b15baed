// Quantized (kvBits 8 and 4) and rotating (maxKvSize) KV caches against mlx-lm's generate_step with the
// same kv_bits / kv_group_size / quantized_kv_start / max_kv_size: the same 32 greedy tokens, the same
// cache bytes at the end (mlx-lm's nbytes), and the relations between the kinds' sizes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerateOptions, GenerationResult, LoadedModel } from "../../kernel/engine/types.js";
import { kvBufferBytes, mlxlmKv, type KvJob, type KvResult } from "./kvcache-helpers.js";
import { fixture } from "./reference.js";
import { LONG_PROMPT } from "./suite.js";

const NAME = "qwen3-tiny-bf16";
const STEPS = 32;
// head_dim of the fixture is 32, so the cache is quantized in groups of 32 (64 would not divide it, in mlx-lm either).
const GROUP = 32;
const START = 8;
const MAX_KV = 16;
const EXPANDED = ["kv8", "kv4", "kv8chunked"];

describe(`${NAME}: KV-cache kinds vs mlx-lm`, () => {
  const dir = fixture(NAME);
  let engine: MlxEngine;
  let model: LoadedModel;
  const ours: Record<string, GenerationResult> = {};
  let ref: Record<string, KvResult>;

  const cases: Record<string, { opts: GenerateOptions; job: Omit<KvJob, "op" | "ids" | "steps"> }> = {
    plain: { opts: {}, job: {} },
    kv8: { opts: { kvBits: 8, kvGroupSize: GROUP, quantizedKvStart: START }, job: { kv_bits: 8, kv_group_size: GROUP, quantized_kv_start: START } },
    // the same again: a generation that reuses nothing starts from a fresh cache, as mlx-lm's does
    kv8again: { opts: { kvBits: 8, kvGroupSize: GROUP, quantizedKvStart: START }, job: { kv_bits: 8, kv_group_size: GROUP, quantized_kv_start: START } },
    kv4: { opts: { kvBits: 4, kvGroupSize: GROUP, quantizedKvStart: START }, job: { kv_bits: 4, kv_group_size: GROUP, quantized_kv_start: START } },
    // quantized after the first prefill chunk, so later chunks attend through quantized_matmul with the causal mask
    kv8chunked: {
      opts: { kvBits: 8, kvGroupSize: GROUP, quantizedKvStart: START, prefillStepSize: 16 },
      job: { kv_bits: 8, kv_group_size: GROUP, quantized_kv_start: START, prefill_step_size: 16 },
    },
    rotating: { opts: { maxKvSize: MAX_KV }, job: { max_kv_size: MAX_KV } },
    // several prefill chunks into a rotating cache: the windowed mask of make_mask
    rotatingChunked: { opts: { maxKvSize: MAX_KV, prefillStepSize: 8 }, job: { max_kv_size: MAX_KV, prefill_step_size: 8 } },
  };

  beforeAll(async () => {
    engine = createEngine();
    model = await engine.load(dir, { as: NAME });
    for (const [k, c] of Object.entries(cases)) {
      ours[k] = await model.generate(LONG_PROMPT, { raw: true, maxTokens: STEPS, ignoreEos: true, reusePrefix: false, ...c.opts });
    }
    // The CUDA path (the cache expanded per call, then SDPA), forced here on CPU, beside quantized_matmul's, in
    // float32: in bf16 the two orders of rounding part ways at near-ties (steps 18 and 27 of this prompt).
    const f32 = await engine.load(dir, { as: `${NAME}-f32`, dtype: "float32" });
    const run = (k: string) => f32.generate(LONG_PROMPT, { raw: true, maxTokens: STEPS, ignoreEos: true, reusePrefix: false, ...cases[k]!.opts });
    for (const k of EXPANDED) ours[`${k}F32`] = await run(k);
    process.env.MLX_TS_KV_ATTENTION = "dequantize";
    try {
      for (const k of EXPANDED) ours[`${k}Expanded`] = await run(k);
    } finally {
      delete process.env.MLX_TS_KV_ATTENTION;
    }
    const ids = ours.plain!.promptTokens;
    const names = Object.keys(cases);
    const results = await mlxlmKv(dir, names.map((k) => ({ op: "generate" as const, ids, steps: STEPS, ...cases[k]!.job })));
    ref = Object.fromEntries(names.map((k, i) => [k, results[i]!]));
  }, 120_000);

  afterAll(() => engine?.dispose());

  it("the prompt is longer than the rotating cache, and every case decodes the same prompt", () => {
    expect(ours.plain!.promptTokens.length).toBeGreaterThan(MAX_KV + STEPS);
    for (const r of Object.values(ours)) expect(r.promptTokens).toEqual(ours.plain!.promptTokens);
  });

  for (const k of Object.keys(cases)) {
    it(`${k}: the same ${STEPS} greedy tokens as mlx-lm`, () => {
      expect(ours[k]!.tokens).toHaveLength(STEPS);
      expect(ours[k]!.tokens).toEqual(ref[k]!.tokens);
    });
  }

  for (const k of EXPANDED) {
    it(`${k} with the cache expanded for SDPA (MLX_TS_KV_ATTENTION=dequantize, CUDA's default): quantized_matmul's ${STEPS} tokens in float32, the same cache bytes`, () => {
      const got = ours[`${k}Expanded`]!.tokens;
      const want = ours[`${k}F32`]!.tokens;
      expect(got, `first difference at ${got.findIndex((t, i) => t !== want[i])}`).toEqual(want);
      expect(ours[`${k}Expanded`]!.stats.kvCacheBytes).toBe(ours[`${k}F32`]!.stats.kvCacheBytes);
    });
  }

  it("mlx-lm's caches are the kinds asked for", () => {
    expect(ref.plain!.classes).toEqual(["KVCache"]);
    expect(ref.kv8!.classes).toEqual(["QuantizedKVCache"]);
    expect(ref.rotating!.classes).toEqual(["RotatingKVCache"]);
  });

  it("the quantized caches are smaller than the bf16 one: 4-bit < 8-bit < bf16", () => {
    expect(ours.kv8!.stats.kvCacheBytes).toBeLessThan(ours.plain!.stats.kvCacheBytes);
    expect(ours.kv4!.stats.kvCacheBytes).toBeLessThan(ours.kv8!.stats.kvCacheBytes);
  });

  it("kvCacheBytes is mlx-lm's nbytes for the same cache", () => {
    // mlx-lm's loop computes one step more than it yields; within one 256-position buffer that changes no size.
    for (const k of ["plain", "kv8", "kv4", "rotating", "rotatingChunked"]) expect(ours[k]!.stats.kvCacheBytes, k).toBe(ref[k]!.nbytes);
  });

  it("the rotating cache holds at most maxKvSize positions", () => {
    const info = model.info();
    const cfg = info.config as { num_key_value_heads: number; head_dim: number };
    const bound = kvBufferBytes(info.numLayers, cfg.num_key_value_heads, cfg.head_dim, 2, MAX_KV);
    expect(ours.rotating!.stats.kvCacheBytes).toBeGreaterThan(0);
    expect(ours.rotating!.stats.kvCacheBytes).toBeLessThanOrEqual(bound);
    expect(ours.rotatingChunked!.stats.kvCacheBytes).toBeLessThanOrEqual(bound);
  });
});
