// qwen2_moe through our quantize + save: the bf16 checkpoint quantized to 4 bits by our engine,
// saved, read by mlx-lm (same greedy tokens), equal file for file to what mlx-lm's own quantization of the
// same weights wrote (scripts/make-fixtures.py: qwen2-moe-tiny-{4,8}bit), and loaded back by us.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { compareGreedy, fixture, mlxlmReference, PYTHON, ROOT } from "./reference.js";
import { eosIds, greedy, PROMPT, STEPS } from "./suite.js";

const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const src = fixture("qwen2-moe-tiny-bf16");
const eos = eosIds(src);
let engine: MlxEngine;
let work: string;

beforeAll(() => {
  engine = createEngine();
  mkdirSync(tmpRoot, { recursive: true });
  work = mkdtempSync(join(tmpRoot, "qwen2-moe-interop-"));
});

afterAll(() => {
  engine?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

// 4-bit only: the 8-bit path is the same quantize code (qwen3-moe-interop covers 8-bit MoE experts), and this
// file is the suite's slowest per bit width.
describe.each([4])("qwen2-moe-tiny-bf16 quantized to %i bits by our engine", (bits) => {
  let model: LoadedModel;
  let saved: string;
  let ours: Awaited<ReturnType<typeof greedy>>;

  beforeAll(async () => {
    model = await engine.load(src, { as: `qwen2-moe-q${bits}` });
    expect(model.info().architecture).toBe("qwen2_moe");
    const report = await model.quantize({ bits, groupSize: 64 });
    expect(report.skippedLayers).toEqual([]);
    ours = await greedy(model, PROMPT, STEPS);
    saved = join(work, `qwen2-moe-${bits}bit-ours`);
    await model.save(saved);
  });

  it("writes one quantization entry for every layer, as mlx-lm's qwen2_moe has no quant_predicate", () => {
    const q = (JSON.parse(readFileSync(join(saved, "config.json"), "utf8")) as { quantization: Record<string, unknown> }).quantization;
    expect(q).toMatchObject({ bits, group_size: 64 });
    expect(Object.keys(q).filter((k) => k.startsWith("model."))).toEqual([]);
  });

  it("mlx-lm loads it and decodes our greedy tokens", async () => {
    const ref = await mlxlmReference({ model: saved, prompt: ours.promptTokens, steps: STEPS });
    const c = compareGreedy(ours.tokens, ref.tokens, ref.margins, eos);
    expect(c.detail).toBe("");
    expect(c.compared).toBeGreaterThan(0);
    expect(new Set(ref.tokens).size).toBeGreaterThan(1);
  });

  it("has mlx-lm's tensors, shapes, dtypes and values for the same quantization", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "scripts", "compare-checkpoints.py"), saved, fixture(`qwen2-moe-tiny-${bits}bit`)], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const diff = JSON.parse(stdout) as { only_a: string[]; only_b: string[]; mismatched: Record<string, string>; max_abs_diff: Record<string, number> };
    expect(diff.only_a).toEqual([]);
    expect(diff.only_b).toEqual([]);
    expect(diff.mismatched).toEqual({});
    expect(Object.entries(diff.max_abs_diff).filter(([, d]) => d !== 0)).toEqual([]);
    const names = Object.keys(diff.max_abs_diff);
    expect(names.some((k) => k.includes("switch_mlp.down_proj.scales"))).toBe(true);
    expect(names.some((k) => k.includes("shared_expert_gate.scales"))).toBe(true);
  });

  // Greedy is deterministic: the first half of the run is enough to show the saved files are the model.
  it(`loads back in our engine with the same first ${STEPS / 2} greedy tokens`, async () => {
    const back = await engine.load(saved, { as: `qwen2-moe-q${bits}-back` });
    expect(back.info().quantization).toMatchObject({ bits, groupSize: 64 });
    expect((await greedy(back, PROMPT, STEPS / 2)).tokens).toEqual(ours.tokens.slice(0, STEPS / 2));
  });
});
