// On the GPU: our engine quantizes qwen3-tiny bf16 to 4 bits (group 64) and saves it; mlx-lm loads the
// saved directory on the same GPU and decodes the same greedy tokens (tolerance as in parity.test.ts:
// identical up to mlx-lm's first near-tie, bf16 margin 0.13, at least 8 steps checked).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { fixture, ROOT } from "../parity/reference.js";
import { PROMPT } from "../parity/suite.js";
import { compareUntilTie, gpuStatus, mlxlmOnDevice } from "./gpu.js";

const gpu = gpuStatus();

describe.skipIf(!gpu.available)(`quantize → save → mlx-lm on the GPU (${gpu.line})`, () => {
  let engine: MlxEngine | undefined;
  const tmp = mkdtempSync(join(ROOT, "test", ".fixtures", "gpu-interop-"));
  afterAll(() => {
    engine?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("mlx-lm loads what we quantized and saved, and gives our greedy tokens", { timeout: 600_000 }, async () => {
    engine = createEngine();
    const model = await engine.load(fixture("qwen3-tiny-bf16"), { as: "to-quantize" });
    const report = await model.quantize({ bits: 4, groupSize: 64 });
    expect(report.quantizedLayers).toBeGreaterThan(0);
    const ours = await model.generate(PROMPT, { raw: true, maxTokens: 32, temperature: 0, reusePrefix: false, ignoreEos: true });
    const saved = join(tmp, "qwen3-tiny-4bit-ours");
    await model.save(saved);
    const config = JSON.parse(readFileSync(join(saved, "config.json"), "utf8")) as { quantization?: unknown };
    expect(config.quantization).toMatchObject({ bits: 4, group_size: 64 });
    const ref = await mlxlmOnDevice(saved, ours.promptTokens, 32, "native");
    expect(ref.device).toMatch(/gpu/);
    const c = compareUntilTie(ours.tokens, ref.tokens, ref.margins, 0.13);
    expect(c.detail).toBe("");
    expect(c.checked).toBeGreaterThanOrEqual(8);
  });
});
