// Continuous batching for plain generations (engine/batch.ts MovableRun): a generation started while a
// single-row one runs on the same model moves both into one batch instead of E_BUSY. Greedy tokens of each
// equal the prompt alone (our plain path, run first); the stats show the batch; a generation with an option
// a batch cannot run gets E_BUSY saying why, and the model keeps working.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineModel, type MlxEngine } from "../../kernel/engine/index.js";
import { ensureFixtures, FIXTURES } from "./magics-harness.js";

const PROMPTS = ["The quick brown fox jumps over the lazy dog and then", "Hi", "One two three"];
const OPTS = { maxTokens: 16, raw: true, ignoreEos: true } as const;

let engine: MlxEngine;
let m: EngineModel;

beforeAll(async () => {
  ensureFixtures();
  engine = createEngine();
  m = (await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "q" })) as EngineModel;
  // a draft for the option a batch cannot run (the same checkpoint: the same vocabulary)
  await engine.load(join(FIXTURES, "qwen3-tiny-bf16"), { as: "d" });
}, 120_000);

afterAll(() => engine?.dispose());

async function alone(prompt: string, maxTokens: number = OPTS.maxTokens): Promise<number[]> {
  const r = await m.generate(prompt, { ...OPTS, maxTokens, reusePrefix: false });
  expect(r.stats.batchSize).toBeUndefined();
  return r.tokens;
}

describe("plain generations join one batch", () => {
  it("Promise.all of two plain generate calls: each equals its prompt alone, both ran at batch size 2", async () => {
    const single = [await alone(PROMPTS[0]!), await alone(PROMPTS[1]!)];
    const rs = await Promise.all([m.generate(PROMPTS[0]!, OPTS), m.generate(PROMPTS[1]!, OPTS)]);
    expect(rs.map((r) => r.tokens)).toEqual(single);
    for (const r of rs) {
      expect(r.stats.maxBatchSize).toBe(2);
      expect(r.stats.generatedTokens).toBe(OPTS.maxTokens);
      expect(r.stats.promptTokens).toBe(r.promptTokens.length);
      expect(r.text).toBe(m.detokenize(r.tokens));
      // kvCacheBytes is the row's share of the batch's cache: 1/rows of the step it ended on
      expect(r.stats.batchKvCacheBytes).toBeGreaterThan(0);
      expect(r.stats.kvCacheBytes * r.stats.batchSize!).toBe(r.stats.batchKvCacheBytes);
    }
    // The model is free once the results are in: an option a batch cannot run starts at once.
    const q = await m.generate(PROMPTS[2]!, { ...OPTS, draft: "d" });
    expect(q.stats.generatedTokens).toBe(OPTS.maxTokens);
  }, 60_000);

  it("a plain generation that runs for a while moves into the batch mid-run and still equals alone", async () => {
    const [a, b] = [await alone(PROMPTS[0]!, 24), await alone(PROMPTS[2]!)];
    const first = m.stream(PROMPTS[0]!, { ...OPTS, maxTokens: 24 });
    let seen = 0;
    let second: ReturnType<EngineModel["generate"]> | undefined;
    for await (const c of first) {
      seen += c.tokens.length;
      if (seen >= 5 && !second) second = m.generate(PROMPTS[2]!, OPTS);
    }
    const [fr, sr] = [await first.result, await second!];
    expect(fr.tokens).toEqual(a);
    expect(sr.tokens).toEqual(b);
    expect(fr.stats.generatedTokens).toBe(24);
    expect(fr.stats.promptTokens).toBe(fr.promptTokens.length);
    expect(fr.stats.maxBatchSize).toBe(2);
    expect(sr.stats.maxBatchSize).toBe(2);
    expect(fr.text).toBe(m.detokenize(fr.tokens));
  }, 60_000);

  it("cancelling the moved generation leaves the one that joined it running to the end", async () => {
    const b = await alone(PROMPTS[1]!, 20);
    const first = m.stream(PROMPTS[0]!, { ...OPTS, maxTokens: 200 });
    const second = m.generate(PROMPTS[1]!, { ...OPTS, maxTokens: 20 });
    let n = 0;
    for await (const c of first) {
      n += c.tokens.length;
      if (n >= 3) break; // leaving the loop cancels it
    }
    const [fr, sr] = [await first.result, await second];
    expect(fr.stats.stopReason).toBe("cancelled");
    expect(fr.stats.generatedTokens).toBeLessThan(200);
    expect(sr.tokens).toEqual(b);
  }, 60_000);

  it("an option a batch cannot run gets E_BUSY saying why, either way round, and the model keeps working", async () => {
    const running = m.stream(PROMPTS[0]!, { ...OPTS, maxTokens: 200 });
    expect(() => m.stream(PROMPTS[1]!, { ...OPTS, draft: "d" })).toThrow(/cannot join it as a batch row because a draft model .*not queued/);
    running.cancel();
    await running.result;

    const fixed = m.stream(PROMPTS[0]!, { ...OPTS, maxTokens: 200, draft: "d" });
    let err: unknown;
    try {
      m.stream(PROMPTS[1]!, OPTS);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe("E_BUSY");
    expect(String(err)).toMatch(/running generation cannot take other rows because it uses an option a batch cannot run: a draft model/);
    await expect(m.generateBatch([PROMPTS[1]!], OPTS)).rejects.toThrow(/draft/);
    fixed.cancel();
    expect((await fixed.result).stats.stopReason).toBe("cancelled");
    expect(await alone(PROMPTS[1]!)).toEqual((await m.generate(PROMPTS[1]!, OPTS)).tokens);
  }, 60_000);
});
