// A real kernel process on the GPU, driven by jupyter_client (test/integration/magics-kernel-driver.py):
// %device reports the GPU, %load loads a 4-bit checkpoint (its load warms the GPU kernels), %%generate
// streams tokens and ends with the stats line, and %memory reads MLX's counters there.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cellText, ensureFixtures, FIXTURES, installKernelWithMagics, runInKernel, STATS_LINE } from "../integration/magics-harness.js";
import { gpuStatus } from "./gpu.js";

const gpu = gpuStatus();

describe.skipIf(!gpu.available)(`a real kernel on the GPU (${gpu.line})`, () => {
  it("%load + %%generate through jupyter_client", { timeout: 900_000 }, () => {
    ensureFixtures();
    const dir = join(FIXTURES, "qwen3-tiny-4bit");
    // The load warms the GPU kernels even where the suite turns that off (MLX_TS_WARMUP=0) to save time.
    const env = { ...installKernelWithMagics().env, MLX_TS_WARMUP: "1" };
    const cells = runInKernel([
      { code: "%device" },
      { code: `%load ${dir} --as q4`, timeout: 600 },
      { code: "%%generate --model q4 --max-tokens 24 --temp 0\nThe GPU is", timeout: 600 },
      { code: "%%generate --model q4 --max-tokens 8 --temp 0\nA second prompt of a different length, to see a new shape", timeout: 600 },
      { code: "%memory" },
    ], env);
    for (const c of cells) expect(c.reply?.status, `${c.code}: ${c.reply?.evalue ?? ""}`).toBe("ok");
    expect(cellText(cells[0]!)).toMatch(/Default device: gpu/);
    if (gpu.runtime?.deviceName) expect(cellText(cells[0]!)).toContain(gpu.runtime.deviceName);
    expect(cellText(cells[1]!)).toMatch(/loaded in [\d.]+ s/);
    expect(cellText(cells[2]!)).toMatch(STATS_LINE);
    expect(cellText(cells[3]!)).toMatch(STATS_LINE);
    expect(cellText(cells[4]!)).toMatch(/active/);
  });
});
