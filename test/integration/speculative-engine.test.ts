// Speculative decoding (native/src/speculative_loop.cpp) on the tiny fixtures: a target and drafts that
// share the Qwen3 tokenizer. At temperature 0 the output must be the target's own plain output, token for
// token, whatever the draft proposes; the stats say how many proposals were accepted. The drafts cover
// the three cases of the loop: "f32" (the same weights in float32: most proposals accepted, some not),
// "twin" (the same weights and dtype: every proposal accepted) and "llama" (other weights: none accepted).
// The 4-bit fixture runs too, on fewer tokens: MLX's quantized matmul is ~10x slower than bf16 on this CPU.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerateOptions, GenerationResult, LoadedModel } from "../../kernel/engine/types.js";
import { MlxTsError } from "../../kernel/engine/types.js";
import { ensureFixtures, FIXTURES } from "./magics-harness.js";
import { addon, load, smollmGguf } from "./native-helpers.js";

let engine: MlxEngine;
let target: LoadedModel;

const PROMPT = "Write a long story about a lighthouse keeper and the sea.";

async function both(opts: GenerateOptions, prompt: string | undefined = PROMPT): Promise<{ plain: GenerationResult; spec: GenerationResult }> {
  const plain = await target.generate(prompt, { ...opts, draft: undefined, numDraft: undefined, reusePrefix: false });
  const spec = await target.generate(prompt, { reusePrefix: false, ...opts });
  return { plain, spec };
}

function expectSpecStats(r: GenerationResult): void {
  const s = r.stats;
  expect(s.draftedTokens).toBeGreaterThan(0);
  expect(s.acceptedTokens).toBeGreaterThanOrEqual(0);
  expect(s.acceptedTokens).toBeLessThanOrEqual(s.draftedTokens!);
  expect(s.acceptanceRate).toBeCloseTo(s.acceptedTokens! / s.draftedTokens!, 10);
  expect(s.tokensPerTargetStep).toBeGreaterThanOrEqual(1);
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof MlxTsError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected an error");
}

beforeAll(async () => {
  ensureFixtures();
  engine = createEngine();
  target = await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "big" });
  await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "small", dtype: "float32" });
  await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "twin" });
  await engine.load(join(FIXTURES, "llama-tiny-bf16"), { as: "llama" });
  await engine.load(join(FIXTURES, "qwen3-tiny-4bit"), { as: "q4" });
}, 120_000);

afterAll(() => engine?.dispose());

describe("speculative decoding, greedy", () => {
  it("equals the target alone, token for token, for several draft lengths and drafts", async () => {
    const plain = await target.generate(PROMPT, { maxTokens: 40, ignoreEos: true, reusePrefix: false });
    expect(plain.tokens.length).toBe(40);
    const runs = [["small", 2, 40], ["twin", 3, 40], ["small", 4, 24], ["llama", 1, 12], ["q4", 2, 6]] as const;
    for (const [draft, numDraft, maxTokens] of runs) {
      const spec = await target.generate(PROMPT, { maxTokens, ignoreEos: true, reusePrefix: false, draft, numDraft });
      const want = plain.tokens.slice(0, maxTokens);
      expect(spec.tokens, `${draft} K=${numDraft}`).toEqual(want);
      expect(spec.text).toBe(target.detokenize(want));
      expect(spec.stats.stopReason).toBe("length");
      expectSpecStats(spec);
      expect(spec.stats.tokensPerTargetStep).toBeLessThanOrEqual(numDraft + 1);
      if (draft === "twin") expect(spec.stats.acceptanceRate).toBe(1);
      console.log(`qwen3-tiny-bf16 + ${draft} K=${numDraft}: acceptance ${spec.stats.acceptanceRate!.toFixed(3)}, ${spec.stats.tokensPerTargetStep!.toFixed(2)} tokens/target step`);
    }
    expect(plain.stats.acceptanceRate).toBeUndefined();
  }, 60_000);

  it("with maxKvSize equals the target alone with that maxKvSize, the ring wrapping in the prefill and in the decode", async () => {
    const long = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen";
    // 17 tokens into a 10-slot ring: it wraps in the prefill (chunks of 5); "Hi" wraps in the decode
    for (const prompt of [long, "Hi"]) {
      {
        const o = { raw: true, maxTokens: 24, ignoreEos: true, reusePrefix: false, maxKvSize: 10, prefillStepSize: 5 } as const;
        const plain = await target.generate(prompt, o);
        // the rotating cache matters here: without it the tokens are others from the first one
        expect(plain.tokens).not.toEqual((await target.generate(prompt, { ...o, maxKvSize: undefined })).tokens);
        for (const [draft, numDraft] of [["twin", 3], ["q4", 2]] as const) {
          const spec = await target.generate(prompt, { ...o, draft, numDraft });
          expect(spec.tokens, `${prompt.slice(0, 8)}, ${draft} K=${numDraft}`).toEqual(plain.tokens);
          expectSpecStats(spec);
        }
      }
    }
  }, 240_000);

  it("says which tokens the draft proposed and the target accepted, in the result and in the stream", async () => {
    // twin: every proposal is accepted, so each round emits K drafted tokens and then the target's own.
    const stream = target.stream(PROMPT, { maxTokens: 16, ignoreEos: true, reusePrefix: false, draft: "twin", numDraft: 3 });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const twin = await stream.result;
    expect(twin.drafted).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14]);
    expect(twin.stats.acceptedTokens).toBe(12);
    const marked = chunks.filter((c) => c.drafted === true);
    expect(marked.flatMap((c) => c.tokens)).toEqual(twin.drafted.map((i) => twin.tokens[i]));
    expect(chunks.filter((c) => c.drafted !== true).flatMap((c) => c.tokens)).toEqual([3, 7, 11, 15].map((i) => twin.tokens[i]));
    expect(chunks.map((c) => c.text).join("")).toBe(twin.text);
    // llama's proposals are never accepted: nothing is marked
    const none = await target.generate(PROMPT, { maxTokens: 6, ignoreEos: true, reusePrefix: false, draft: "llama", numDraft: 2 });
    expect(none.stats.acceptedTokens).toBe(0);
    expect(none.drafted).toEqual([]);
    // small: some accepted, some not; every marked index is a token that was emitted
    const some = await target.generate(PROMPT, { maxTokens: 24, ignoreEos: true, reusePrefix: false, draft: "small", numDraft: 4 });
    expect(some.drafted!.length).toBeLessThanOrEqual(some.stats.acceptedTokens!);
    expect(some.drafted!.every((i) => i >= 0 && i < some.tokens.length)).toBe(true);
    const plain = await target.generate(PROMPT, { maxTokens: 4, ignoreEos: true, reusePrefix: false });
    expect(plain.drafted).toBeUndefined();
  });

  it("stops exactly at maxTokens, at EOS and at a stop string as the plain loop does", async () => {
    for (const maxTokens of [1, 2, 5]) {
      const { plain, spec } = await both({ maxTokens, ignoreEos: true, draft: "twin", numDraft: 4 });
      expect(spec.tokens).toEqual(plain.tokens);
      expect(spec.stats.generatedTokens).toBe(maxTokens);
    }
    const eos = await both({ maxTokens: 16, draft: "small" });
    expect(eos.spec.tokens).toEqual(eos.plain.tokens);
    expect(eos.spec.stats.stopReason).toBe(eos.plain.stats.stopReason);
    // A stop string taken from the middle of the plain output.
    const text = eos.plain.text;
    const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
    expect(stop.length).toBe(3);
    const r = await both({ maxTokens: 16, ignoreEos: true, stop: [stop], draft: "small" });
    expect(r.spec.text).toBe(r.plain.text);
    expect(r.spec.stats.stopReason).toBe("stop");
  });

  it("with a repetition penalty still equals the target alone", async () => {
    const { plain, spec } = await both({ maxTokens: 20, ignoreEos: true, repetitionPenalty: 1.3, repetitionContextSize: 8, draft: "small", numDraft: 3 });
    expect(spec.tokens).toEqual(plain.tokens);
  });

  it("with an 8-bit KV cache (quantized from position 8) equals the target alone with the same cache", async () => {
    // float32 target: a bf16 one checking several positions at once (quantized_matmul over rows) rounds
    // differently from one position at a time, which flips near-ties of the random weights
    const f32 = engine.get("small");
    const kv = { kvBits: 8, kvGroupSize: 32, quantizedKvStart: 8 };
    const opts = { maxTokens: 24, ignoreEos: true, reusePrefix: false, ...kv };
    const plain = await f32.generate(PROMPT, opts);
    const spec = await f32.generate(PROMPT, { ...opts, draft: "big", numDraft: 3 });
    expect(spec.tokens).toEqual(plain.tokens);
    expectSpecStats(spec);
    // the cache did quantize: smaller than the full-precision one for the same run
    const full = await f32.generate(PROMPT, { maxTokens: 24, ignoreEos: true, reusePrefix: false, draft: "big", numDraft: 3 });
    expect(spec.stats.kvCacheBytes).toBeGreaterThan(0);
    expect(spec.stats.kvCacheBytes).toBeLessThan(full.stats.kvCacheBytes);
  });

  it("reuses the prompt prefix on both models and still equals the plain output", async () => {
    const small = engine.get("small");
    target.resetCache();
    small.resetCache();
    const first = await target.generate(PROMPT, { maxTokens: 16, ignoreEos: true, draft: "small" });
    const followUp = [{ role: "user" as const, content: PROMPT }, { role: "assistant" as const, content: first.answer }, { role: "user" as const, content: "Go on." }];
    const spec = await target.generate(followUp, { maxTokens: 24, ignoreEos: true, draft: "small" });
    expect(spec.stats.reusedTokens).toBeGreaterThan(0);
    // The draft's cache is consistent too: a plain generation on it reuses its prefix and matches a cold one.
    const draftWarm = await small.generate(followUp, { maxTokens: 8, ignoreEos: true });
    expect(draftWarm.stats.reusedTokens).toBeGreaterThan(0);
    const draftCold = await small.generate(followUp, { maxTokens: 8, ignoreEos: true, reusePrefix: false });
    expect(draftWarm.tokens).toEqual(draftCold.tokens);
    const plain = await target.generate(followUp, { maxTokens: 24, ignoreEos: true, reusePrefix: false });
    expect(spec.tokens).toEqual(plain.tokens);
  });
});

describe("speculative decoding, sampling", () => {
  it("is reproducible with a seed, stays in the vocabulary, and reports acceptance in 0..1", async () => {
    const opts: GenerateOptions = { maxTokens: 12, ignoreEos: true, temperature: 0.8, topP: 0.95, seed: 7, draft: "twin", numDraft: 3, reusePrefix: false };
    const a = await target.generate(PROMPT, opts);
    const b = await target.generate(PROMPT, opts);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens.length).toBe(12);
    const vocab = target.info().vocabSize;
    expect(a.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < vocab)).toBe(true);
    expectSpecStats(a);
    expect(a.stats.acceptanceRate).toBeLessThanOrEqual(1);
  });

  it("cancels between steps, keeping the partial output, and both models work afterwards", async () => {
    const ac = new AbortController();
    const stream = target.stream(PROMPT, { maxTokens: 100_000, ignoreEos: true, draft: "small", signal: ac.signal });
    let n = 0;
    for await (const chunk of stream) {
      n += chunk.tokens.length;
      if (n >= 5) ac.abort();
    }
    const r = await stream.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.tokens.length).toBeGreaterThanOrEqual(5);
    expect(r.tokens.length).toBeLessThan(100_000);
    const { plain, spec } = await both({ maxTokens: 8, ignoreEos: true, draft: "small" });
    expect(spec.tokens).toEqual(plain.tokens);
  });

  it("a cancel during a long draft (numDraft 1024) cuts the proposals short instead of waiting for all of them", async () => {
    // 1024 draft steps take over a minute here; the test's timeout is what fails if the cancel waits for them.
    const ac = new AbortController();
    const stream = target.stream(PROMPT, { maxTokens: 100_000, ignoreEos: true, draft: "twin", numDraft: 1024, signal: ac.signal, reusePrefix: false });
    setTimeout(() => ac.abort(), 500);
    const r = await stream.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.stats.draftedTokens).toBeLessThan(1024);
    // What was emitted is still the target's greedy output.
    if (r.tokens.length > 0) {
      const plain = await target.generate(PROMPT, { maxTokens: r.tokens.length, ignoreEos: true, reusePrefix: false });
      expect(r.tokens).toEqual(plain.tokens);
    }
  }, 30_000);
});

describe("speculative decoding, bad input", () => {
  it("refuses a draft with another vocabulary, an unknown name, the target itself and numDraft < 1; the session keeps working", async () => {
    await engine.load(smollmGguf, { as: "smol" });
    const vocab = await codeOf(target.generate(PROMPT, { maxTokens: 4, draft: "smol" }));
    expect(vocab.code).toBe("E_BAD_ARGUMENT");
    expect(vocab.message).toMatch(/smol cannot draft for big: their vocabularies differ/);
    expect(vocab.message).toMatch(/embedding rows 151669 vs 49152/);

    const unknown = await codeOf(target.generate(PROMPT, { maxTokens: 4, draft: "nope" }));
    expect(unknown.code).toBe("E_NOT_LOADED");
    expect(unknown.message).toMatch(/draft model nope is not loaded \(loaded: big, small, twin, llama, q4, smol\)/);

    const self = await codeOf(target.generate(PROMPT, { maxTokens: 4, draft: "big" }));
    expect(self.code).toBe("E_BAD_ARGUMENT");
    expect(self.message).toMatch(/is the target model itself/);

    for (const numDraft of [0, -1, 1.5]) {
      const e = await codeOf(target.generate(PROMPT, { maxTokens: 4, draft: "small", numDraft }));
      expect(e.code).toBe("E_BAD_ARGUMENT");
      expect(e.message).toMatch(/numDraft .* must be an integer from 1 to 1024/);
    }
    const noDraft = await codeOf(target.generate(PROMPT, { maxTokens: 4, numDraft: 3 }));
    expect(noDraft.message).toMatch(/numDraft .* needs a draft model/);
    const empty = await codeOf(target.generate(PROMPT, { maxTokens: 4, draft: " " }));
    expect(empty.message).toMatch(/draft .* must be a non-empty string/);

    engine.unload("smol");
    const { plain, spec } = await both({ maxTokens: 8, ignoreEos: true, draft: "small" });
    expect(spec.tokens).toEqual(plain.tokens);
  }, 60_000);

  it("the addon itself refuses a draft that is not a NativeModel, the model itself, or another vocabulary", async () => {
    const mlx = addon();
    const m = await load(mlx, join(FIXTURES, "qwen3-tiny-bf16"));
    const other = await load(mlx, smollmGguf);
    const params = { maxTokens: 2, temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, repetitionContextSize: 20, eosTokenIds: [], prefillStepSize: 2048, reusePrefix: false };
    const start = (draft: unknown): unknown => m.generate(Int32Array.from([1, 2, 3]), { ...params, draft } as never, () => undefined);
    expect(() => start({})).toThrow(/params.draft must be a NativeModel returned by loadModel\(\)/);
    expect(() => start(m)).toThrow(/params.draft is this model itself/);
    expect(() => start(other)).toThrow(/the draft model's vocabulary \(49152 embedding rows\) differs from this model's \(151669\)/);
    m.dispose();
    other.dispose();
  });

  it("a draft busy with its own generation gives E_BUSY; a target drafting locks its draft", async () => {
    const small = engine.get("small");
    const own = small.stream(PROMPT, { maxTokens: 100_000, ignoreEos: true });
    const busy = await codeOf(() => target.stream(PROMPT, { maxTokens: 4, draft: "small" }));
    expect(busy.code).toBe("E_BUSY");
    expect(busy.message).toMatch(/Cannot use small as the draft for big: a generation is running on it/);
    own.cancel();
    await own.result;

    const run = target.stream(PROMPT, { maxTokens: 100_000, ignoreEos: true, draft: "small" });
    expect(engine.isGenerating("small")).toBe(true);
    const locked = await codeOf(() => small.stream(PROMPT, { maxTokens: 4 }));
    expect(locked.code).toBe("E_BUSY");
    run.cancel();
    expect((await run.result).stats.stopReason).toBe("cancelled");
    expect(engine.isGenerating("small")).toBe(false);
    expect((await small.generate(PROMPT, { maxTokens: 4, ignoreEos: true })).tokens.length).toBe(4);
  });
});
