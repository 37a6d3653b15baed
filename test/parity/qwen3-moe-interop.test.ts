// qwen3_moe beyond the shared parity suite: logits on a long prompt (SwitchGLU's sorted path) and, on a
// GPU, in bfloat16 itself; and our quantize + save of the
// bf16 checkpoint read by mlx-lm (same greedy tokens) and equal, file for file, to what mlx-lm's own
// quantization of the same weights wrote (scripts/make-fixtures.py: qwen3-moe-tiny-{4,8}bit), the
// router's 8-bit override included.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { compareGreedy, fixture, mlxlmReference, PYTHON, relativeError, ROOT } from "./reference.js";
import { eosIds, greedy, LOGITS_TOLERANCE, LONG_PROMPT, PROMPT, STEPS } from "./suite.js";
import { loadNative } from "../../kernel/engine/native.js";

// bf16 keeps 8 significant bits, so one rounding of a logit of size |max| moves it by up to |max| * 2^-8.
// Our graph is mlx-lm's op for op on the same MLX build, so the logits should agree to a few such steps
// at most: 2^-6 (four bf16 steps) relative to the largest logit.
const BF16_LOGITS_TOLERANCE = 2 ** -6;

const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const cpu = loadNative().runtime().backend === "cpu";
const src = fixture("qwen3-moe-tiny-bf16");
const eos = eosIds(src);
let engine: MlxEngine;
let work: string;

beforeAll(() => {
  engine = createEngine();
  mkdirSync(tmpRoot, { recursive: true });
  work = mkdtempSync(join(tmpRoot, "moe-interop-"));
});

afterAll(() => {
  engine?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("qwen3-moe-tiny-bf16 last-position logits", () => {
  it(`agree within ${LOGITS_TOLERANCE} in float32 on a prompt long enough that SwitchGLU sorts tokens by expert`, async () => {
    const model = await engine.load(src, { as: "moe-f32", dtype: "float32" });
    expect(model.info().architecture).toBe("qwen3_moe");
    const ids = (await greedy(model, LONG_PROMPT, 1)).promptTokens;
    // top-2 routing: 2 * tokens expert choices; SwitchGLU sorts from 64 on
    expect(2 * ids.length).toBeGreaterThanOrEqual(64);
    const ours = await model.logits(ids);
    const ref = await mlxlmReference({ model: src, prompt: ids, steps: 0, logits: true });
    const err = relativeError(ours, ref.logits as Float32Array);
    expect(err, `max|ours - mlx-lm| / max|mlx-lm| = ${err}`).toBeLessThan(LOGITS_TOLERANCE);
  });

  // mlx-lm cannot run an unquantized MoE in bfloat16 on the CPU backend (MLX's CPU GatherMM is float32-only).
  it.skipIf(cpu)(`agree within ${BF16_LOGITS_TOLERANCE} relative in bfloat16`, async () => {
    const model = await engine.load(src, { as: "moe-bf16" });
    expect(model.info().dtype).toBe("bfloat16");
    const ids = (await greedy(model, PROMPT, 1)).promptTokens;
    const ours = await model.logits(ids);
    const ref = await mlxlmReference({ model: src, prompt: ids, steps: 0, logits: true, logitsDtype: "native" });
    const err = relativeError(ours, ref.logits as Float32Array);
    expect(err, `max|ours - mlx-lm| / max|mlx-lm| = ${err}`).toBeLessThan(BF16_LOGITS_TOLERANCE);
  });
});

describe.each([4, 8])("qwen3-moe-tiny-bf16 quantized to %i bits by our engine", (bits) => {
  let model: LoadedModel;
  let saved: string;
  let ours: Awaited<ReturnType<typeof greedy>>;

  beforeAll(async () => {
    model = await engine.load(src, { as: `moe-q${bits}` });
    const report = await model.quantize({ bits, groupSize: 64 });
    expect(report.skippedLayers).toEqual([]);
    ours = await greedy(model, PROMPT, STEPS);
    saved = join(work, `qwen3-moe-${bits}bit-ours`);
    await model.save(saved);
  });

  it("writes the router's 8-bit override into config.json, as mlx-lm's quant_predicate does", () => {
    const q = (JSON.parse(readFileSync(join(saved, "config.json"), "utf8")) as { quantization: Record<string, unknown> }).quantization;
    expect(q).toMatchObject({ bits, group_size: 64 });
    if (bits !== 8) expect(q["model.layers.1.mlp.gate"]).toMatchObject({ bits: 8, group_size: 64 });
    // layer 0 is dense (mlp_only_layers): it has no router
    expect(q["model.layers.0.mlp.gate"]).toBeUndefined();
  });

  it("mlx-lm loads it and decodes our greedy tokens", async () => {
    const ref = await mlxlmReference({ model: saved, prompt: ours.promptTokens, steps: STEPS });
    const c = compareGreedy(ours.tokens, ref.tokens, ref.margins, eos);
    expect(c.detail).toBe("");
    expect(c.compared).toBeGreaterThan(0);
  });

  it("has mlx-lm's tensors, shapes, dtypes and values for the same quantization", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "scripts", "compare-checkpoints.py"), saved, fixture(`qwen3-moe-tiny-${bits}bit`)], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const diff = JSON.parse(stdout) as { only_a: string[]; only_b: string[]; mismatched: Record<string, string>; max_abs_diff: Record<string, number> };
    expect(diff.only_a).toEqual([]);
    expect(diff.only_b).toEqual([]);
    expect(diff.mismatched).toEqual({});
    expect(Object.entries(diff.max_abs_diff).filter(([, d]) => d !== 0)).toEqual([]);
    expect(Object.keys(diff.max_abs_diff).some((k) => k.includes("switch_mlp.down_proj.scales"))).toBe(true);
  });

  it("loads back in our engine with the same greedy tokens", async () => {
    const back = await engine.load(saved, { as: `moe-q${bits}-back` });
    expect(back.info().quantization).toMatchObject({ bits, groupSize: 64 });
    expect((await greedy(back, PROMPT, STEPS)).tokens).toEqual(ours.tokens);
  });
});
