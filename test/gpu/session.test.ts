// The session's GPU paths through a real Session over the real engine (in-process): a memory limit that
// refuses a load, %device cpu / %device gpu with a model loaded, and the mx namespace on the GPU.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MlxEngine } from "../../kernel/engine/engine.js";
import { mx, MlxError } from "../../kernel/mx/index.js";
import type { ExecuteOutcome } from "../../kernel/session/types.js";
import { relativeError } from "../parity/reference.js";
import { ensureFixtures, FIXTURES, startHarness, STATS_LINE, type Harness } from "../integration/magics-harness.js";
import { gpuStatus } from "./gpu.js";

const gpu = gpuStatus();
const QWEN = join(FIXTURES, "qwen3-tiny-bf16");
const IDS = [9707, 11, 1879, 0, 576, 374, 264, 1273, 315, 279, 3482, 13];

const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};

describe.skipIf(!gpu.available)(`the session on the GPU (${gpu.line})`, () => {
  let h: Harness & { engine: MlxEngine };
  beforeAll(async () => {
    ensureFixtures();
    h = (await startHarness()) as typeof h;
  });
  afterAll(async () => {
    await h?.shutdown();
    mx.setDefaultDevice("gpu");
  });

  it("a memory limit below the weights refuses the load with a clear error and loads nothing", async () => {
    const previous = h.engine.memory().limit;
    ok((await h.run("%limit memory 1MB")).outcome);
    try {
      const { outcome } = await h.run(`%load ${QWEN} --as too-big`);
      expect(outcome.status).toBe("error");
      if (outcome.status === "error") expect(outcome.evalue).toMatch(/E_MEMORY_LIMIT|memory limit/i);
      expect(h.engine.models.has("too-big")).toBe(false);
    } finally {
      h.engine.setMemoryLimit(previous);
    }
    // and with the limit back, the same load works
    ok((await h.run(`%load ${QWEN} --as fits`)).outcome);
    expect(h.engine.models.has("fits")).toBe(true);
    ok((await h.run("%unload fits")).outcome);
  });

  it("%device cpu and %device gpu switch where a loaded model runs, mid-session", { timeout: 300_000 }, async () => {
    ok((await h.run(`%load ${QWEN} --as q --dtype f32`)).outcome);
    const m = h.engine.get("q");
    const onGpu = await m.logits(IDS);
    const g = await h.run("%%generate --model q --max-tokens 16 --temp 0\nUnified memory");
    ok(g.outcome);
    expect(g.sink.text()).toMatch(STATS_LINE);

    const toCpu = await h.run("%device cpu");
    ok(toCpu.outcome);
    expect(toCpu.sink.stdout).toMatch(/Default device is now cpu/);
    const onCpu = await m.logits(IDS);
    const c = await h.run("%%generate --model q --max-tokens 16 --temp 0\nUnified memory");
    ok(c.outcome);
    expect(c.sink.text()).toMatch(STATS_LINE);

    const toGpu = await h.run("%device gpu");
    ok(toGpu.outcome);
    expect(toGpu.sink.stdout).toMatch(/Default device is now gpu/);
    const again = await m.logits(IDS);

    // Same device, same inputs: the GPU gives the same float32 logits again.
    expect(relativeError(again, onGpu)).toBe(0);
    // The CPU computes in exact float32, the GPU's matmuls in TF32 (MLX_ENABLE_TF32=1): the logits agree
    // within TF32's error but not bit for bit, which shows the switch really moved the work.
    const err = relativeError(onCpu, onGpu);
    expect(err, `relative error CPU vs GPU ${err}`).toBeGreaterThan(0);
    expect(err).toBeLessThan(1e-2);
    ok((await h.run("%unload q")).outcome);
  });
});

describe.skipIf(!gpu.available)(`the mx namespace on the GPU (${gpu.line})`, () => {
  it("runs on the GPU by default and computes what the CPU computes", () => {
    expect(mx.defaultDevice()).toBe("gpu");
    const a = mx.array([[1, 2], [3, 4]], mx.float32);
    expect(mx.matmul(a, a).tolist()).toEqual([[7, 10], [15, 22]]);
    const x = mx.random.normal([256, 256], { key: mx.random.key(7) });
    const onGpu = mx.sum(mx.matmul(x, x)).item() as number;
    mx.setDefaultDevice("cpu");
    try {
      const onCpu = mx.sum(mx.matmul(x, x)).item() as number;
      expect(Math.abs(onGpu - onCpu) / Math.max(1, Math.abs(onCpu))).toBeLessThan(1e-2);
    } finally {
      mx.setDefaultDevice("gpu");
    }
  });

  it("a float64 operation on the GPU fails with a clear MlxError, and the namespace stays usable", () => {
    const d = mx.array([1.5, 2.5], mx.float64);
    let caught: unknown;
    try {
      mx.add(d, d).tolist();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MlxError);
    expect((caught as Error).message).toMatch(/float64/i);
    expect(mx.add(mx.array([1, 2]), mx.array([3, 4])).tolist()).toEqual([4, 6]);
  });
});
