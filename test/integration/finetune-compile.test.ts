// The compiled training step (params, Adam moments and accumulated gradients in and out of one
// mx::compile'd graph, as mlx-lm's trainer) against the same step uncompiled (MLX_TS_TRAIN_COMPILE=0):
// through the public finetune(), on the tiny fixture in float32, the per-step losses agree within 1e-5
// relative, for plain Adam, AdamW and gradient accumulation (the accumulate-only and update variants).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetune, type FinetuneOptions, type FinetuneResult } from "../../kernel/engine/finetune.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { fixture } from "../parity/reference.js";

// examples of different lengths, so rows are padded and masked differently
const DATA = ["the cat sat on the mat", "a dog ran far away from home today", "birds sing", "fish swim deep in the cold blue sea at night"]
  .map((t) => JSON.stringify({ text: t })).join("\n");

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

describe("compiled training step against the uncompiled one (qwen3-tiny-bf16, float32)", () => {
  let engine: MlxEngine;
  let model: LoadedModel;
  const saved = process.env.MLX_TS_TRAIN_COMPILE;

  beforeAll(async () => {
    engine = createEngine();
    model = await engine.load(fixture("qwen3-tiny-bf16"), { as: "ftc", dtype: "float32" });
  });

  afterAll(() => {
    if (saved === undefined) delete process.env.MLX_TS_TRAIN_COMPILE;
    else process.env.MLX_TS_TRAIN_COMPILE = saved;
    engine?.dispose();
  });

  // the native trainer reads the switch when a run starts
  async function run(compile: boolean, opts: Partial<FinetuneOptions>): Promise<FinetuneResult> {
    process.env.MLX_TS_TRAIN_COMPILE = compile ? "1" : "0";
    return finetune(model, { data: DATA, iters: 5, batchSize: 2, layers: 2, rank: 4, scale: 10, learningRate: 1e-3, seed: 0, ...opts });
  }

  for (const [name, opts] of [
    ["adam", {}],
    ["adamw", { optimizer: "adamw", weightDecay: 0.1 }],
    ["adam with 2-step gradient accumulation", { gradAccum: 2 }],
  ] as [string, Partial<FinetuneOptions>][]) {
    it(`${name}: 5 steps give the same losses`, async () => {
      const compiled = await run(true, opts);
      const plain = await run(false, opts);
      expect(compiled.compiled).toBe(true);
      expect(compiled.uncompiledReason).toBeUndefined();
      expect(plain.compiled).toBe(false);
      expect(plain.uncompiledReason).toMatch(/MLX_TS_TRAIN_COMPILE=0/);
      expect(compiled.steps.length).toBe(5);
      expect(plain.steps.length).toBe(5);
      // the same batches, so the same token counts
      expect(compiled.steps.map((s) => s.tokens)).toEqual(plain.steps.map((s) => s.tokens));
      // the losses must move (the update took effect) and agree step for step
      expect(compiled.steps[4].loss).not.toBe(compiled.steps[0].loss);
      for (let i = 0; i < 5; i++) expect(relDiff(compiled.steps[i].loss, plain.steps[i].loss), `step ${i + 1}`).toBeLessThan(1e-5);
    });
  }
});
