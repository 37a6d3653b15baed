// Batched and continuous generation on the real engine (native/src/batch_loop.cpp, engine/batch.ts) over
// the tiny fixtures: each batched row's greedy tokens equal the same prompt generated alone (our plain
// path), and mlx-lm's batch_generate on the same prompt ids; a row that joins a running batch equals
// alone too; bad input is refused by name and the model keeps working.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineModel, type MlxEngine } from "../../kernel/engine/index.js";
import { ensureFixtures, FIXTURES } from "./magics-harness.js";
import { python } from "./native-helpers.js";

const PROMPTS = ["Hello there, how are you today?", "Hi", "The quick brown fox jumps over the lazy dog and then", "One two three"];
const OPTS = { maxTokens: 16, raw: true, ignoreEos: true } as const;

const MLX_LM = String.raw`
import json, sys
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import batch_generate
inp = json.loads(sys.argv[1])
mx.set_default_device(mx.cpu)
model, tok = load(inp["path"])
r = batch_generate(model, tok, inp["prompts"], max_tokens=inp["maxTokens"], return_token_ids=True)
print(json.dumps({"tokens": r.token_ids}))
`;

let engine: MlxEngine;
const models: Record<string, EngineModel> = {};

beforeAll(async () => {
  ensureFixtures();
  engine = createEngine();
  for (const name of ["qwen3-tiny-bf16", "llama-tiny-bf16"]) models[name] = (await engine.load(join(FIXTURES, name), { as: name })) as EngineModel;
}, 120_000);

afterAll(() => engine?.dispose());

async function alone(m: EngineModel, prompt: string, maxTokens: number = OPTS.maxTokens): Promise<number[]> {
  return (await m.generate(prompt, { ...OPTS, maxTokens, reusePrefix: false })).tokens;
}

describe("generateBatch", () => {
  for (const name of ["qwen3-tiny-bf16", "llama-tiny-bf16"]) {
    it(`${name}: each row's greedy tokens equal the prompt alone, and mlx-lm's batch_generate`, async () => {
      const m = models[name]!;
      const single = [];
      for (const p of PROMPTS) single.push(await alone(m, p));
      const batched = await m.generateBatch(PROMPTS, OPTS);
      expect(batched.map((r) => r.tokens)).toEqual(single);
      for (const r of batched) {
        expect(r.stats.batchSize).toBeGreaterThanOrEqual(1);
        expect(r.stats.maxBatchSize).toBe(PROMPTS.length);
        expect(r.stats.generatedTokens).toBe(OPTS.maxTokens);
        expect(r.text).toBe(m.detokenize(r.tokens));
      }

      // mlx-lm stops rows on EOS (and leaves the EOS token out): ours with EOS on, compared the same way.
      const withEos = await m.generateBatch(PROMPTS, { maxTokens: OPTS.maxTokens, raw: true });
      const eos = new Set(m.eosTokenIds);
      const ours = withEos.map((r) => r.tokens.filter((t) => !eos.has(t)));
      const ref = JSON.parse(
        execFileSync(python, ["-c", MLX_LM, JSON.stringify({ path: join(FIXTURES, name), prompts: withEos.map((r) => r.promptTokens), maxTokens: OPTS.maxTokens })], {
          encoding: "utf8",
          maxBuffer: 1 << 24,
        }).trim().split("\n").pop()!,
      ) as { tokens: number[][] };
      expect(ours).toEqual(ref.tokens);
    }, 120_000);
  }

  it("a row that joins a running batch equals that prompt alone, and so does the row it joined", async () => {
    const m = models["qwen3-tiny-bf16"]!;
    const [a, b] = [await alone(m, PROMPTS[2]!, 24), await alone(m, PROMPTS[1]!)];
    const first = m.stream(PROMPTS[2]!, { ...OPTS, maxTokens: 24, batch: true });
    let seen = 0;
    let joined: ReturnType<EngineModel["generate"]> | undefined;
    for await (const c of first) {
      seen += c.tokens.length;
      // Not asked for as a batch row: started while the batch runs, it joins instead of E_BUSY.
      if (seen >= 4 && !joined) joined = m.generate(PROMPTS[1]!, OPTS);
    }
    const [fr, jr] = [await first.result, await joined!];
    expect(fr.tokens).toEqual(a);
    expect(jr.tokens).toEqual(b);
    expect(jr.stats.maxBatchSize).toBe(2);
    expect(fr.stats.maxBatchSize).toBe(2);
  }, 60_000);

  it("Promise.all of batch generations runs them as one batch, each equal to alone", async () => {
    const m = models["llama-tiny-bf16"]!;
    const single = [];
    for (const p of PROMPTS.slice(0, 3)) single.push(await alone(m, p));
    const rs = await Promise.all(PROMPTS.slice(0, 3).map((p) => m.generate(p, { ...OPTS, batch: true })));
    expect(rs.map((r) => r.tokens)).toEqual(single);
    expect(rs.map((r) => r.stats.maxBatchSize)).toEqual([3, 3, 3]);
  }, 60_000);

  it("each row stops on its own stop string and max tokens", async () => {
    const m = models["qwen3-tiny-bf16"]!;
    const plain = await m.generate(PROMPTS[0]!, { ...OPTS, reusePrefix: false });
    const stop = plain.text.slice(6, 10);
    const rs = await m.generateBatch([PROMPTS[0]!, PROMPTS[1]!], { ...OPTS, stop: [stop] });
    const alone0 = await m.generate(PROMPTS[0]!, { ...OPTS, stop: [stop], reusePrefix: false });
    expect(rs[0]!.text).toBe(alone0.text);
    expect(rs[0]!.stats.stopReason).toBe(alone0.stats.stopReason);
    expect(rs[1]!.tokens).toEqual(await alone(m, PROMPTS[1]!));
  }, 60_000);

  it("bad input is refused by name and the model keeps working", async () => {
    const m = models["qwen3-tiny-bf16"]!;
    await expect(m.generateBatch(["a", "  "], OPTS)).rejects.toThrow(/Prompt 2 of 2 .* is empty/);
    await expect(m.generateBatch([], OPTS)).rejects.toThrow(/at least one prompt/);
    await expect(m.generateBatch(["a"], { ...OPTS, kvBits: 3 })).rejects.toThrow(/kvBits/);
    await expect(m.generateBatch(["a"], { ...OPTS, kvBits: 8, maxKvSize: 64 })).rejects.toThrow(/cannot be combined/);
    await expect(m.generateBatch(["a"], { ...OPTS, draft: "llama-tiny-bf16" })).rejects.toThrow(/draft model .* one row at a time/);
    await expect(m.generateBatch(["a"], { ...OPTS, maxTokens: 0 })).rejects.toThrow(/maxTokens/);
    const rs = await m.generateBatch([PROMPTS[3]!], OPTS);
    expect(rs[0]!.tokens).toEqual(await alone(m, PROMPTS[3]!));
  }, 60_000);

  it("cancelling one row leaves the others running to the end", async () => {
    const m = models["llama-tiny-bf16"]!;
    const streams = m.streamBatch([PROMPTS[0]!, PROMPTS[1]!], { ...OPTS, maxTokens: 24 });
    let n = 0;
    for await (const c of streams[0]!) {
      n += c.tokens.length;
      if (n >= 3) break; // leaving the loop cancels that row
    }
    const [r0, r1] = [await streams[0]!.result, await streams[1]!.result];
    expect(r0.stats.stopReason).toBe("cancelled");
    expect(r1.tokens).toEqual(await alone(m, PROMPTS[1]!, 24));
  }, 60_000);
});
