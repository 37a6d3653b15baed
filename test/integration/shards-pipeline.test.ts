// Two rank processes over MLX's ring backend on loopback, pipeline parallel (mlx-lm's pipeline()): rank 0
// holds the first half of the layers and the embedding, rank 1 the rest with the final norm and head; the
// hidden state goes 0 -> 1 with send/recv. Each layer runs whole on one rank, so the arithmetic is the
// single process's: greedy tokens must be equal in the checkpoint's own dtype for bf16. The 4-bit fixtures
// run with float32 activations: with bf16 ones they also match exactly, but take ~57 s each on this CPU
// (measured once by hand, 2026-12-04), past this file's time budget.
import { readFileSync, readdirSync } from "node:fs";
import { resolve, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { childPids, waitGone } from "./shards-helpers.js";

const FIXTURES = resolve("test/.fixtures/models");
let engine: MlxEngine;

beforeAll(() => {
  engine = createEngine();
});

afterAll(() => engine?.dispose());

/** Stored bytes of the checkpoint's tensors, by which pipeline rank of `n` holds them (tied: the embedding counts for the first and the last). */
function stageBytes(dir: string, layers: number, tied: boolean): [number, number] {
  const per = Math.ceil(layers / 2);
  const out: [number, number] = [0, 0];
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".safetensors"))) {
    const buf = readFileSync(join(dir, f));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    for (const [name, t] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const bytes = t.data_offsets[1] - t.data_offsets[0];
      const m = /^model\.layers\.(\d+)\./.exec(name);
      if (m) out[Number(m[1]) < per ? 0 : 1] += bytes;
      else if (name.startsWith("model.embed_tokens.")) {
        out[0] += bytes;
        if (tied) out[1] += bytes;
      } else if (name.startsWith("model.norm.") || name.startsWith("lm_head.")) out[1] += bytes;
    }
  }
  return out;
}

describe("pipeline-parallel over 2 ranks (ring, loopback)", () => {
  for (const fixture of ["qwen3-tiny-bf16", "qwen3-tiny-4bit", "llama-tiny-bf16", "llama-tiny-4bit", "qwen3-moe-tiny-bf16", "qwen2-moe-tiny-bf16"]) {
    it(`${fixture}: 32 greedy tokens in its own dtype equal the single process's; each rank holds its layers`, async () => {
      const dir = join(FIXTURES, fixture);
      const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { num_hidden_layers: number; tie_word_embeddings?: boolean };
      const dtype = fixture.endsWith("4bit") ? ("float32" as const) : undefined;
      const one = await engine.load(dir, { as: "one", dtype });
      const two = await engine.load(dir, { as: "two", dtype, shards: 2, mode: "pipeline" });
      const opts = { maxTokens: 32, temperature: 0, ignoreEos: true };
      // a prompt longer than one prefill step would be, twice: the second reuses each rank's own cache
      for (const prompt of ["The quick brown fox", "The quick brown fox jumps over"]) {
        const a = await one.generate(prompt, opts);
        const b = await two.generate(prompt, opts);
        expect(a.tokens.length).toBe(32);
        expect(b.tokens).toEqual(a.tokens);
      }
      const info = two.info();
      expect(info.shards?.mode).toBe("pipeline");
      expect(info.shards?.count).toBe(2);
      const want = stageBytes(dir, cfg.num_hidden_layers, cfg.tie_word_embeddings ?? true);
      for (const r of info.shards!.ranks) {
        // as stored; the float32 runs hold the 4-bit scales and norms at twice their stored bytes
        if (!dtype) expect(Math.abs(r.weightBytes - want[r.rank]!)).toBeLessThan(want[r.rank]! * 0.01);
        expect(r.weightBytes).toBeLessThan(one.info().weightBytes);
      }
      const pids = info.shards!.ranks.map((r) => r.pid);
      expect(childPids()).toEqual(expect.arrayContaining(pids));
      engine.unload("two");
      engine.unload("one");
      expect(await waitGone(pids)).toEqual([]);
    });
  }

  it("logits through the pipeline equal the single process's; an unknown mode is refused clearly", async () => {
    const dir = join(FIXTURES, "qwen3-tiny-bf16");
    const one = await engine.load(dir, { as: "one" });
    const two = await engine.load(dir, { as: "two", shards: 2, mode: "pipeline" });
    const toks = Int32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await two.logits(toks, { positions: 3 }))).toEqual(Array.from(await one.logits(toks, { positions: 3 })));
    const pids = two.info().shards!.ranks.map((r) => r.pid);
    engine.unload("two");
    engine.unload("one");
    expect(await waitGone(pids)).toEqual([]);
    await expect(engine.load(dir, { as: "bad", shards: 2, mode: "diagonal" as "pipeline" })).rejects.toThrow(/--mode must be tensor or pipeline/);
  });
});
