// Interop: our engine quantizes qwen3-tiny bf16 to 4-bit (group 64) and saves it; mlx-lm loads that
// directory and decodes the same greedy tokens, and the files match what mlx-lm's own quantization of
// the same bf16 weights wrote (scripts/make-fixtures.py: qwen3-tiny-4bit).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerationResult, LoadedModel } from "../../kernel/engine/types.js";
import { compareGreedy, fixture, mlxlmReference, PYTHON, ROOT, type Reference } from "./reference.js";
import { eosIds, greedy, PROMPT, STEPS } from "./suite.js";

interface CheckpointDiff {
  only_a: string[];
  only_b: string[];
  mismatched: Record<string, string>;
  max_abs_diff: Record<string, number>;
  config_a: unknown;
  config_b: unknown;
}

const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");

describe("qwen3-tiny quantized and saved by our engine, read by mlx-lm", () => {
  const src = fixture("qwen3-tiny-bf16");
  const mlxlm4bit = fixture("qwen3-tiny-4bit");
  const eos = eosIds(src);
  let engine: MlxEngine;
  let model: LoadedModel;
  let saved: string;
  let ours: GenerationResult;
  let ref: Reference;

  beforeAll(async () => {
    engine = createEngine();
    model = await engine.load(src, { as: "interop" });
    const report = await model.quantize({ bits: 4, groupSize: 64 });
    expect(report.quantizedLayers).toBeGreaterThan(0);
    ours = await greedy(model, PROMPT, STEPS);
    mkdirSync(tmpRoot, { recursive: true });
    saved = join(mkdtempSync(join(tmpRoot, "interop-")), "qwen3-tiny-4bit-ours");
    await model.save(saved);
    ref = await mlxlmReference({ model: saved, prompt: ours.promptTokens, steps: STEPS });
  });

  afterAll(() => {
    engine?.dispose();
    if (saved) rmSync(join(saved, ".."), { recursive: true, force: true });
  });

  it("writes a directory with config, weights and tokenizer files", () => {
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) expect(existsSync(join(saved, f)), f).toBe(true);
    const config = JSON.parse(readFileSync(join(saved, "config.json"), "utf8")) as { quantization?: { bits: number; group_size: number } };
    expect(config.quantization).toMatchObject({ bits: 4, group_size: 64 });
  });

  it("mlx-lm loads it and decodes our greedy tokens", () => {
    const c = compareGreedy(ours.tokens, ref.tokens, ref.margins, eos);
    expect(c.detail).toBe("");
    expect(c.compared).toBeGreaterThan(0);
  });

  it("has mlx-lm's tensors, shapes, dtypes and values for the same quantization", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "scripts", "compare-checkpoints.py"), saved, mlxlm4bit], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const diff = JSON.parse(stdout) as CheckpointDiff;
    expect(diff.only_a).toEqual([]);
    expect(diff.only_b).toEqual([]);
    expect(diff.mismatched).toEqual({});
    const nonzero = Object.entries(diff.max_abs_diff).filter(([, d]) => d !== 0);
    expect(nonzero, `tensors that differ from mlx-lm's quantization: ${JSON.stringify(nonzero)}`).toEqual([]);
    expect(Object.keys(diff.max_abs_diff).length).toBeGreaterThan(10);
  });

  it("loads back in our engine with the same greedy tokens", async () => {
    const back = await engine.load(saved, { as: "interop-back" });
    expect(back.info().quantization).toMatchObject({ bits: 4, groupSize: 64 });
    const again = await greedy(back, PROMPT, STEPS);
    expect(again.tokens).toEqual(ours.tokens);
  });
});
