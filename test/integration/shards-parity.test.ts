// Two rank processes over MLX's ring backend on loopback, tensor parallel (mlx-lm's shard()): the same
// greedy tokens as one process, each rank holding half of the split projections, and a cancel / unload that
// leaves every rank in step or gone. The comparison runs in float32: in bf16 the split o/down sums round
// differently (as mlx-lm's ShardedToAllLinear does) and flip near-tied tokens of these random-weight models.
import { readFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { childPids, splitBytes, waitGone } from "./shards-helpers.js";

const FIXTURES = resolve("test/.fixtures/models");
let engine: MlxEngine;

beforeAll(() => {
  engine = createEngine();
});

afterAll(() => engine?.dispose());

describe("tensor-parallel over 2 ranks (ring, loopback)", () => {
  for (const fixture of ["qwen3-tiny-bf16", "qwen3-tiny-4bit", "llama-tiny-bf16", "llama-tiny-4bit"]) {
    it(`${fixture}: 32 greedy tokens equal the single process's; each rank holds half of the split tensors`, async () => {
      const dir = join(FIXTURES, fixture);
      const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { num_attention_heads: number; num_key_value_heads: number };
      expect(cfg.num_attention_heads % 2).toBe(0);
      expect(cfg.num_key_value_heads % 2).toBe(0);
      const one = await engine.load(dir, { as: "one", dtype: "float32" });
      const two = await engine.load(dir, { as: "two", dtype: "float32", shards: 2 });
      const opts = { maxTokens: 32, temperature: 0, ignoreEos: true };
      const a = await one.generate("The quick brown fox", opts);
      const b = await two.generate("The quick brown fox", opts);
      expect(a.tokens.length).toBe(32);
      expect(b.tokens).toEqual(a.tokens);

      const info = two.info();
      expect(info.shards?.count).toBe(2);
      const split = splitBytes(dir, 4);
      const whole = one.info().weightBytes;
      for (const r of info.shards!.ranks) {
        // replicated (embeddings, norms) + half of the split tensors
        expect(Math.abs(r.weightBytes - (whole - split / 2))).toBeLessThan(split * 0.01);
        expect(r.activeMemory).toBeGreaterThanOrEqual(r.weightBytes);
      }
      expect(b.stats.ranks?.map((r) => r.rank)).toEqual([0, 1]);
      const pids = info.shards!.ranks.map((r) => r.pid);
      expect(childPids()).toEqual(expect.arrayContaining(pids));
      engine.unload("two");
      engine.unload("one");
      expect(await waitGone(pids)).toEqual([]);
    });
  }

  it("a cancelled generation stops every rank at the same step; the next one runs and matches", async () => {
    const dir = join(FIXTURES, "qwen3-tiny-4bit");
    const one = await engine.load(dir, { as: "one", dtype: "float32" });
    const two = await engine.load(dir, { as: "two", dtype: "float32", shards: 2 });
    const s = two.stream("Tell me a story", { maxTokens: 500, temperature: 0, ignoreEos: true });
    let n = 0;
    for await (const c of s) {
      n += c.tokens.length;
      if (n >= 3) s.cancel();
    }
    const r = await s.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.tokens.length).toBeLessThan(500);
    // Had a rank stopped a step late, it would be waiting in an all_sum and this would hang or fail.
    const a = await one.generate("Another prompt", { maxTokens: 16, temperature: 0, ignoreEos: true });
    const b = await two.generate("Another prompt", { maxTokens: 16, temperature: 0, ignoreEos: true });
    expect(b.tokens).toEqual(a.tokens);
    const pids = two.info().shards!.ranks.map((x) => x.pid);
    engine.unload("two");
    engine.unload("one");
    expect(await waitGone(pids)).toEqual([]);
  });
});
