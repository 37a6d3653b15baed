// KV-cache kinds inside a batch (native/src/nn/kv_cache_batch_groups.*): rows with kvBits (quantized once
// their cache reaches quantizedKvStart, before, at or after they join) and rows with maxKvSize (rotating,
// wrapped during the prefill or the decode) each give the greedy tokens of their prompt alone with the same
// options, in a batch of one kind or beside rows of other kinds; so does a single-row run of each kind that
// moves into a batch mid-run. A quantized or rotating row's kvCacheBytes shows its saving.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineModel, type GenerateOptions, type MlxEngine } from "../../kernel/engine/index.js";
import { ensureFixtures, FIXTURES } from "./magics-harness.js";

// Prompt lengths 1, 2, 11 and 17 tokens on the tiny fixtures' tokenizer: rows cross quantizedKvStart and
// maxKvSize at different steps, some during their own prefill.
const PROMPTS = ["Hi", "Hello there", "The quick brown fox jumps over the lazy dog and then", "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"];
const BASE = { maxTokens: 24, raw: true, ignoreEos: true } as const;
// The fixtures' head dim is 32: kvGroupSize 64 cannot quantize it.
const KINDS: Record<string, GenerateOptions> = {
  "kvBits 8 from the start": { kvBits: 8, kvGroupSize: 32, quantizedKvStart: 0 },
  "kvBits 4 from position 12": { kvBits: 4, kvGroupSize: 32, quantizedKvStart: 12 },
  "maxKvSize 16": { maxKvSize: 16 },
  "maxKvSize 10, prefill in chunks of 4": { maxKvSize: 10, prefillStepSize: 4 },
};

let engine: MlxEngine;
const models: Record<string, EngineModel> = {};

beforeAll(async () => {
  ensureFixtures();
  engine = createEngine();
  for (const name of ["qwen3-tiny-bf16", "llama-tiny-bf16"]) models[name] = (await engine.load(join(FIXTURES, name), { as: name })) as EngineModel;
}, 120_000);

afterAll(() => engine?.dispose());

async function alone(m: EngineModel, prompt: string, o: GenerateOptions): Promise<number[]> {
  const r = await m.generate(prompt, { ...BASE, ...o, reusePrefix: false });
  expect(r.stats.batchSize).toBeUndefined();
  return r.tokens;
}

describe("KV-cache kinds in a batch", () => {
  for (const name of ["qwen3-tiny-bf16", "llama-tiny-bf16"]) {
    // llama: the two kinds that change state mid-run (a quantization step, a rotating prefill in chunks)
    const kinds = name === "qwen3-tiny-bf16" ? Object.entries(KINDS) : Object.entries(KINDS).filter(([k]) => k.includes("position") || k.includes("chunks"));
    for (const [kind, o] of kinds) {
      it(`${name}, ${kind}: each batched row's greedy tokens equal its prompt alone`, async () => {
        const m = models[name]!;
        const single = [];
        for (const p of PROMPTS) single.push(await alone(m, p, o));
        const rs = await m.generateBatch(PROMPTS, { ...BASE, ...o });
        expect(rs.map((r) => r.tokens)).toEqual(single);
        for (const r of rs) expect(r.stats.maxBatchSize).toBe(PROMPTS.length);
      }, 120_000);
    }
  }

  it("rows of four kinds in one batch: each equals alone, and each row's kvCacheBytes is its own kind's", async () => {
    const m = models["qwen3-tiny-bf16"]!;
    const kinds: GenerateOptions[] = [{}, KINDS["kvBits 8 from the start"]!, KINDS["kvBits 4 from position 12"]!, { maxKvSize: 12, prefillStepSize: 4 }];
    const single = [];
    for (let i = 0; i < kinds.length; i++) single.push(await alone(m, PROMPTS[i]!, kinds[i]!));
    // Started in one synchronous run: one batch.
    const streams = PROMPTS.map((p, i) => m.stream(p, { ...BASE, ...kinds[i], batch: true }));
    const rs = await Promise.all(streams.map((s) => s.result));
    expect(rs.map((r) => r.tokens)).toEqual(single);
    for (const r of rs) expect(r.stats.maxBatchSize).toBe(4);
    const [plain, kv8, kv4, rotating] = rs.map((r) => r.stats.kvCacheBytes);
    // Full-precision rows hold bf16 keys and values; 8 and 4 bits hold packed ints plus a scale and bias per group.
    expect(kv8!).toBeLessThan(plain!);
    expect(kv4!).toBeLessThan(kv8!);
    expect(rotating!).toBeLessThan(plain!);
    for (const r of rs) expect(r.stats.batchKvCacheBytes).toBeGreaterThan(r.stats.kvCacheBytes);
  }, 120_000);

  it("a row that joins a running batch with kvBits or maxKvSize equals alone, and so does the row it joined", async () => {
    const m = models["llama-tiny-bf16"]!;
    const [rot, q4] = [KINDS["maxKvSize 16"]!, KINDS["kvBits 4 from position 12"]!];
    const a = await alone(m, PROMPTS[2]!, { ...rot, maxTokens: 32 });
    const b = await alone(m, PROMPTS[3]!, q4);
    const first = m.stream(PROMPTS[2]!, { ...BASE, ...rot, maxTokens: 32, batch: true });
    let seen = 0;
    let joined: Promise<{ tokens: number[]; stats: { maxBatchSize?: number } }> | undefined;
    for await (const c of first) {
      seen += c.tokens.length;
      if (seen >= 6 && !joined) joined = m.generate(PROMPTS[3]!, { ...BASE, ...q4 });
    }
    const [fr, jr] = [await first.result, await joined!];
    expect(fr.tokens).toEqual(a);
    expect(jr.tokens).toEqual(b);
    expect(jr.stats.maxBatchSize).toBe(2);
  }, 120_000);

  for (const [kind, o] of Object.entries(KINDS).filter(([k]) => k.includes("position") || k === "maxKvSize 16")) {
    it(`a single-row run with ${kind} moves into a batch mid-run, continues its own cache, and still equals alone`, async () => {
      const m = models["qwen3-tiny-bf16"]!;
      const a = await alone(m, PROMPTS[2]!, { ...o, maxTokens: 40 });
      const b = await alone(m, PROMPTS[0]!, { ...o, maxTokens: 8 });
      const first = m.stream(PROMPTS[2]!, { ...BASE, ...o, maxTokens: 40, reusePrefix: false });
      let seen = 0;
      let second: ReturnType<EngineModel["generate"]> | undefined;
      for await (const c of first) {
        seen += c.tokens.length;
        // After 9 tokens the 11-token prompt's run has wrapped a 16-slot rotating cache.
        if (seen >= 9 && !second) second = m.generate(PROMPTS[0]!, { ...BASE, ...o, maxTokens: 8 });
      }
      const [fr, sr] = [await first.result, await second!];
      expect(fr.stats.maxBatchSize).toBe(2);
      expect(fr.tokens).toEqual(a);
      expect(sr.tokens).toEqual(b);
    }, 120_000);
  }
});
