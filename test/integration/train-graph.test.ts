// Our LoRA training step's graph against mlx-lm's (bench/lib/train-graph.mjs, as bench/train-graph.mjs counts
// it): qwen3-tiny-bf16, batch 4 padded to 129 tokens, rank 8, all layers. Each of the three graphs (loss and
// grads; the step with Adam's update; the compiled step, after fusion) may have no more primitives than
// mlx-lm's, both counted from MLX's export_to_dot; on a GPU the step is bound by kernel launches.
// Also: the GPU's loss path (mx::fast::cross_entropy, MLX_TS_TRAIN_FAST_CE=1) trains to the same losses here.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs (bench/), no declarations
import { GRAPHS, compareCounts, mlxLmGraphs, oursGraphs, total } from "../../bench/lib/train-graph.mjs";
import { jsonl } from "../../bench/lib/train-data.mjs";
import { finetune } from "../../kernel/engine/finetune.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { ROOT, fixture } from "../parity/reference.js";

type Counts = Record<string, number>;

describe("LoRA training step graph against mlx-lm's (qwen3-tiny-bf16)", () => {
  let engine: MlxEngine;
  let model: LoadedModel;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "mlx-ts-train-graph-"));
    engine = createEngine();
    model = await engine.load(fixture("qwen3-tiny-bf16"), { as: "tg" });
  });

  afterAll(() => {
    engine?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("has no more primitives than mlx-lm's step, graph by graph", async () => {
    const dataPath = join(tmp, "train.jsonl");
    writeFileSync(dataPath, jsonl(4, 128));
    const o = { batch: 4, rank: 8, scale: 20, layers: 16, dataPath };
    const ours = await oursGraphs(finetune, model, join(tmp, "ours"), o);
    expect(ours.shape).toEqual({ batch: 4, length: 129, trainable: 56 });
    const theirs = mlxLmGraphs(ROOT, join(tmp, "mlxlm"), { ...o, model: fixture("qwen3-tiny-bf16") }, ours.shape);
    expect(theirs.info.trainable).toBe(56);
    for (const g of GRAPHS as string[]) {
      const a: Counts = ours.counts[g], b: Counts = theirs.counts[g];
      // both sides really built the step: its matmuls (forward and backward) are there and agree
      expect(a.Matmul, g).toBeGreaterThan(0);
      expect(a.Matmul, g).toBe(b.Matmul);
      const extra = (compareCounts(a, b) as { name: string; diff: number }[]).filter((r) => r.diff > 0).map((r) => `${r.name} +${r.diff}`);
      expect(total(a), `${g}: ours ${total(a)}, mlx-lm ${total(b)}; ours has more ${extra.join(", ")}`).toBeLessThanOrEqual(total(b));
    }
  });

  it("the GPU's fused cross-entropy path gives the CPU path's losses", async () => {
    const data = ["the cat sat on the mat", "a dog ran far away from home today", "birds sing", "fish swim deep in the cold blue sea at night"]
      .map((t) => JSON.stringify({ text: t })).join("\n");
    const saved = process.env.MLX_TS_TRAIN_FAST_CE;
    const run = async (fast: boolean) => {
      process.env.MLX_TS_TRAIN_FAST_CE = fast ? "1" : "0";
      return finetune(model, { data, iters: 2, batchSize: 2, layers: 2, rank: 4, scale: 10, learningRate: 1e-3, seed: 0 });
    };
    try {
      const plain = await run(false);
      const fast = await run(true);
      expect(fast.steps.map((s) => s.tokens)).toEqual(plain.steps.map((s) => s.tokens));
      expect(fast.steps[1].loss).not.toBe(fast.steps[0].loss);
      for (let i = 0; i < 2; i++) expect(Math.abs(fast.steps[i].loss - plain.steps[i].loss) / Math.abs(plain.steps[i].loss), `step ${i + 1}`).toBeLessThan(1e-6);
    } finally {
      if (saved === undefined) delete process.env.MLX_TS_TRAIN_FAST_CE;
      else process.env.MLX_TS_TRAIN_FAST_CE = saved;
    }
  });
});
