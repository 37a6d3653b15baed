// Batched rows on the GPU, each KV-cache kind (nn/kv_cache_batch_groups.*): four prompts of different
// lengths (so rows are left-padded and the decode skips each row's padding) run as one batch, each row
// against the same prompt alone with the same options. The 0.6B shape in float32, as kernels.test.ts: on
// CUDA a batch's matmuls sum in another order than one row's, and bf16's random weights tie, so tokens are
// compared up to the alone run's first near-tie (top-1 minus top-2 under 2^-13 of the top logit), with at
// least 5 steps checked per row.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineModel, type GenerateOptions, type MlxEngine } from "../../kernel/engine/index.js";
import { fixture } from "../parity/reference.js";
import { compareUntilTie, gpuStatus, marginsOf } from "./gpu.js";

const gpu = gpuStatus();
const NAME = "qwen3-0.6b-shape-bf16";
const PROMPTS = ["Hi", "The history of the decode step", "One two three four five six seven eight nine ten eleven twelve", "A"];
const BASE = { raw: true, maxTokens: 32, temperature: 0, ignoreEos: true } as const;
const KINDS: Record<string, GenerateOptions> = {
  "full precision": {},
  "kvBits 8": { kvBits: 8, quantizedKvStart: 0 },
  "kvBits 4 from position 12": { kvBits: 4, quantizedKvStart: 12 },
  "maxKvSize 16": { maxKvSize: 16 },
};

describe.skipIf(!gpu.available)(`batched generation on the GPU (${gpu.line})`, () => {
  let engine: MlxEngine;
  let model: EngineModel | undefined;
  beforeAll(async () => {
    engine = createEngine();
    if (existsSync(fixture(NAME))) model = (await engine.load(fixture(NAME), { as: NAME, dtype: "float32" })) as EngineModel;
    else process.stderr.write(`batch: ${NAME} is not on this machine (scripts/make-fixtures.py --gpu-shapes --only ${NAME}); skipped\n`);
  }, 300_000);
  afterAll(() => engine?.dispose());

  for (const [kind, o] of Object.entries(KINDS)) {
    it(`${kind}: each batched row's greedy tokens equal its prompt alone up to a near-tie`, { timeout: 300_000 }, async () => {
      if (!model) return;
      const alone = [];
      for (const p of PROMPTS) alone.push(await model.generate(p, { ...BASE, ...o, reusePrefix: false }));
      const rows = await model.generateBatch(PROMPTS, { ...BASE, ...o });
      for (let i = 0; i < PROMPTS.length; i++) {
        expect(rows[i]!.stats.maxBatchSize).toBe(PROMPTS.length);
        const margins = await marginsOf(model, alone[i]!.promptTokens, alone[i]!.tokens);
        const c = compareUntilTie(rows[i]!.tokens, alone[i]!.tokens, margins, 2);
        expect(c.detail, `row ${i}`).toBe("");
        expect(c.checked, `row ${i}: only ${c.checked} steps before the first near-tie`).toBeGreaterThanOrEqual(5);
      }
    });
  }
});
