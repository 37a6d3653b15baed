// The custom kernels on a machine without a GPU backend (npm test): %kernels status is truthful, every
// decode step takes MLX's SDPA and is counted as a fallback, the measured table loads (a corrupt one is
// reported), MLX_TS_KERNELS and %kernels on|off switch, and bench says there is nothing to measure.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelTablePath } from "../../kernel/engine/kernels.js";
import { loadNative, reconfigureKernels } from "../../kernel/engine/native.js";
import { FIXTURES, startHarness, type Harness } from "./magics-harness.js";

let h: Harness;
const saved = { xdg: process.env.XDG_CACHE_HOME, kernels: process.env.MLX_TS_KERNELS };
const cache = mkdtempSync(join(tmpdir(), "mlx-ts-kernels-"));

beforeAll(async () => {
  process.env.XDG_CACHE_HOME = cache;
  delete process.env.MLX_TS_KERNELS;
  h = await startHarness();
  const r = await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as tiny`);
  expect(r.outcome.status).toBe("ok");
  reconfigureKernels();
}, 300_000);

afterAll(async () => {
  await h?.shutdown();
  for (const [k, v] of [["XDG_CACHE_HOME", saved.xdg], ["MLX_TS_KERNELS", saved.kernels]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  reconfigureKernels();
});

const status = () => loadNative().kernelsStatus()[0]!;
const generate = async () => {
  const r = await h.run(`%%generate --model tiny --max-tokens 4 --raw\nhello`);
  expect(r.outcome.status).toBe("ok");
};

describe("custom kernels without a GPU backend", () => {
  it("status names the kernel, why it cannot run here, the unverified Metal twin and the fallback", async () => {
    const r = await h.run("%kernels");
    const text = r.sink.text();
    expect(text).toContain("decode_attention");
    expect(text).toMatch(/none \((the default device is the CPU|no CUDA or Metal GPU backend)/);
    expect(text).toContain("unverified: no Metal device here");
    expect(text).toContain("fallback: mx.fast.scaled_dot_product_attention (MLX built-in)");
    expect(text).toContain("no measured table on this device");
    expect(text).toContain(kernelTablePath(loadNative().runtime()));
  });

  it("every decode step of a generation is counted as a fallback, none as ours", async () => {
    loadNative().kernelsResetCounts();
    await generate();
    const s = status();
    expect(s.calls).toBe(0);
    // qwen3-tiny has 3 layers: each decode step asks the dispatcher once per layer
    expect(s.fallbacks).toBeGreaterThanOrEqual(3 * 3);
    expect((await h.run("%kernels")).sink.text()).toMatch(new RegExp(`decode_attention .*│ 0 .*│ ${s.fallbacks}\\b`));
  });

  it("%kernels on says it cannot run here and generation still works; off and auto switch back", async () => {
    const on = await h.run("%kernels on decode_attention");
    expect(on.sink.stdout).toMatch(/decode_attention: on\. It cannot run here \(backend cpu/);
    expect(status().mode).toBe("on");
    loadNative().kernelsResetCounts();
    await generate();
    expect(status().calls).toBe(0);
    expect(status().fallbacks).toBeGreaterThan(0);
    expect((await h.run("%kernels")).sink.text()).toContain("on for every shape it takes (%kernels on)");
    await h.run("%kernels off");
    expect(status().mode).toBe("off");
    expect((await h.run("%kernels")).sink.text()).toContain("off (%kernels off)");
    await h.run("%kernels auto");
    expect(status().mode).toBe("auto");
  });

  it("an unknown kernel name is a clear error and the session goes on", async () => {
    const r = await h.run("%kernels on flash_everything");
    expect(r.outcome.status).toBe("error");
    expect(`${r.sink.text()} ${"evalue" in r.outcome ? r.outcome.evalue : ""}`).toMatch(/no custom kernel named "flash_everything" \(there is: decode_attention\)/);
    expect((await h.run("1 + 1")).outcome.status).toBe("ok");
  });

  it("loads a measured table, and reports a corrupt one without using it", async () => {
    const file = kernelTablePath(loadNative().runtime());
    mkdirSync(dirname(file), { recursive: true });
    const rule = { kernel: "decode_attention", dtype: "bfloat16", headDim: 64, gqa: 2, kvMin: 0, kvMax: 2 ** 31 - 1, batchMax: 1, use: true };
    const rt = loadNative().runtime();
    writeFileSync(file, JSON.stringify({ version: 1, backend: rt.backend, deviceName: rt.deviceName, mlxVersion: rt.mlxVersion, measuredAt: "2026-12-04T00:00:00Z", command: "test", rows: [], rules: [rule] }));
    const cfg = reconfigureKernels();
    expect(cfg.table?.rules).toEqual([rule]);
    expect((await h.run("%kernels")).sink.text()).toContain("measured table: on for 1 of 1 shape ranges");
    // the table says use it, but no GPU backend is here: still the fallback
    loadNative().kernelsResetCounts();
    await generate();
    expect(status().calls).toBe(0);

    writeFileSync(file, "{ truncated");
    const bad = reconfigureKernels();
    expect(bad.table).toBeUndefined();
    expect(bad.tableError).toMatch(/is not valid: it is not JSON/);
    const text = (await h.run("%kernels")).sink.text();
    expect(text).toContain(`The kernel dispatch table ${file} is not valid`);
    expect(text).toContain("no measured table on this device");
    await generate();
  });

  it("MLX_TS_KERNELS=off switches every kernel off; a list with an unknown name says so", async () => {
    process.env.MLX_TS_KERNELS = "off";
    reconfigureKernels();
    expect(status().allowed).toBe(false);
    let text = (await h.run("%kernels")).sink.text();
    expect(text).toContain("switched off by MLX_TS_KERNELS");
    expect(text).toContain("MLX_TS_KERNELS=off: every custom kernel is off.");
    process.env.MLX_TS_KERNELS = "decode_attention,rope_norm";
    reconfigureKernels();
    expect(status().allowed).toBe(true);
    text = (await h.run("%kernels")).sink.text();
    expect(text).toContain("MLX_TS_KERNELS names no kernel called rope_norm");
    process.env.MLX_TS_KERNELS = "rope_norm";
    reconfigureKernels();
    expect(status().allowed).toBe(false);
    delete process.env.MLX_TS_KERNELS;
    reconfigureKernels();
    expect(status().allowed).toBe(true);
  });

  it("bench has nothing to measure without a GPU and leaves the table alone", async () => {
    const r = await h.run("%kernels bench");
    expect(r.outcome.status).toBe("ok");
    expect(r.sink.stdout).toMatch(/Nothing to measure here: decode_attention: .*The table is not changed\./);
  });
});
