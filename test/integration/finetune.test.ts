// Fine-tuning's edges on the real engine: bad JSONL lines reported by number (and the model still
// generates), and a run cancelled mid-way keeps its partial adapter, in memory and on disk, the same.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyAdapter, finetune } from "../../kernel/engine/finetune.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { fixture, ROOT } from "../parity/reference.js";

const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const DATA = ["the cat sat", "a dog ran far", "birds sing at dawn", "fish swim deep"].map((t) => JSON.stringify({ text: t })).join("\n");
const greedy = (m: LoadedModel) => m.generate("Hello there", { raw: true, maxTokens: 8, temperature: 0, reusePrefix: false });

describe("finetune on qwen3-tiny-4bit", () => {
  let engine: MlxEngine;
  let model: LoadedModel;
  let dir: string;

  beforeAll(async () => {
    mkdirSync(tmpRoot, { recursive: true });
    dir = mkdtempSync(join(tmpRoot, "finetune-"));
    engine = createEngine();
    // float32: bfloat16 matmuls are slow on the CPU backend, and training runs the vocabulary projection backwards
    model = await engine.load(fixture("qwen3-tiny-4bit"), { as: "ft", dtype: "float32" });
  });

  afterAll(() => {
    engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reports every bad line by number and trains nothing", async () => {
    const data = [JSON.stringify({ text: "fine" }), "{not json", JSON.stringify({ text: 3 }), JSON.stringify({ text: "word ".repeat(40) })].join("\n");
    const err = await finetune(model, { data, iters: 2, batchSize: 1, maxSeqLength: 16 }).catch((e: unknown) => e as Error & { code?: string });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("E_BAD_ARGUMENT");
    expect(err.message).toMatch(/line 2: not valid JSON/);
    expect(err.message).toMatch(/line 3: "text" is missing or not a string/);
    expect(err.message).toMatch(/line 4: \d+ tokens, longer than the maximum sequence length 16/);
    expect(err.message).not.toMatch(/line 1:/);
    expect((await greedy(model)).tokens.length).toBeGreaterThan(0);
  });

  it("with skipBadLines, trains on the good lines and reports each bad one by number", async () => {
    const data = [JSON.stringify({ text: "fine" }), "{not json", JSON.stringify({ text: 3 }), JSON.stringify({ text: "word ".repeat(40) }), JSON.stringify({ text: "also fine" })].join("\n");
    let started: string[] = [];
    const res = await finetune(model, { data, iters: 2, batchSize: 1, layers: 1, maxSeqLength: 16, skipBadLines: true, onStart: (i) => { started = i.skipped; } });
    expect(res.examples).toBe(2);
    expect(res.steps.length).toBe(2);
    expect(res.skipped).toEqual(started);
    expect(res.skipped.map((p) => /line (\d+):/.exec(p)?.[1])).toEqual(["2", "3", "4"]);
  });

  it("a memory limit below what training needs is a clear error, and the model generates and trains afterwards", async () => {
    const attempt = async (limit: number): Promise<Error & { code?: string }> => {
      const prev = engine.setMemoryLimit(limit);
      try {
        await finetune(model, { data: DATA, iters: 2, batchSize: 2, layers: 1 });
      } catch (e) {
        return e as Error & { code?: string };
      } finally {
        engine.setMemoryLimit(prev);
      }
      throw new Error(`training under a ${limit} byte limit did not fail`);
    };
    // below the weights already held, then just above them (the first step's activations pass it)
    const below = await attempt(1_000_000);
    expect(below.code, String(below)).toBe("E_MEMORY_LIMIT");
    expect(below.message).toMatch(/already take .* above the MLX memory limit/);
    const step = await attempt(engine.memory().active + 4_000_000); // the step's logits alone are ~40 MB
    expect(step.code, String(step)).toBe("E_MEMORY_LIMIT");
    expect(step.message).toMatch(/step 1 needed .* above the MLX memory limit.*--batch/);
    expect((await greedy(model)).tokens.length).toBeGreaterThan(0);
    expect((await finetune(model, { data: DATA, iters: 1, batchSize: 2, layers: 1 })).steps.length).toBe(1);
  });

  it("an unknown target is refused with the layers there are", async () => {
    await expect(finetune(model, { data: DATA, iters: 1, batchSize: 1, targets: ["self_attn.nope"] })).rejects.toThrow(/self_attn\.nope.*self_attn\.q_proj/);
  });

  it("cancelled mid-run, keeps the partial adapter on the model and on disk", async () => {
    const ac = new AbortController();
    const save = join(dir, "partial");
    const res = await finetune(model, {
      data: DATA, iters: 500, batchSize: 2, layers: 1, learningRate: 1e-2, save, every: 2, signal: ac.signal,
      onStep: (s) => { if (s.step === 2) ac.abort(); },
    });
    expect(res.cancelled).toBe(true);
    expect(res.steps.length).toBeGreaterThanOrEqual(2);
    expect(res.steps.length).toBeLessThan(500);
    expect(existsSync(join(save, "adapters.safetensors"))).toBe(true);
    expect(existsSync(join(save, "adapter_config.json"))).toBe(true);
    expect(existsSync(join(save, "0000002_adapters.safetensors"))).toBe(true);
    const withAdapter = await greedy(model);
    // the same model with the saved partial adapter loaded from disk generates the same tokens
    const other = await engine.load(fixture("qwen3-tiny-4bit"), { as: "ft2", dtype: "float32" });
    const plain = await greedy(other);
    expect(await applyAdapter(other, save)).toBe(7);
    expect((await greedy(other)).tokens).toEqual(withAdapter.tokens);
    // and the adapter is what changed the output (lr 1e-2 moves a tiny model's greedy tokens)
    expect(withAdapter.tokens).not.toEqual(plain.tokens);
  });
});
