// The custom kernels' dispatch table and switches, as pure logic: MLX_TS_KERNELS, a saved table's checks
// (a corrupt file is refused naming the file and the field), and the rules measured rows give.
import { describe, expect, it } from "vitest";
import { kernelTablePath, parseKernelsEnv, parseKernelTable, rulesFromRows, SPEEDUP_TO_USE, type KernelBenchRow } from "../../kernel/engine/kernels.js";

const row = (kvLen: number, sdpaUs: number, customUs: number, extra: Partial<KernelBenchRow> = {}): KernelBenchRow => ({
  kernel: "decode_attention", dtype: "bfloat16", headDim: 128, nHeads: 32, nKvHeads: 8, kvLen, batch: 1, sdpaUs, customUs, maxError: 1e-3, ...extra,
});
const table = (rules: unknown[]) => JSON.stringify({ version: 1, backend: "cuda", deviceName: "NVIDIA H200", mlxVersion: "0.32.4", measuredAt: "", command: "", rows: [], rules });
const goodRule = { kernel: "decode_attention", dtype: "bfloat16", headDim: 128, gqa: 4, kvMin: 0, kvMax: 4096, batchMax: 1, use: true };

describe("MLX_TS_KERNELS", () => {
  it("unset lets every kernel run; off and its spellings switch all off; a list allows only those", () => {
    expect(parseKernelsEnv(undefined)).toEqual({ allow: null, allOff: false, unknown: [] });
    expect(parseKernelsEnv(" ")).toEqual({ allow: null, allOff: false, unknown: [] });
    for (const v of ["off", "OFF", "0", "none", "false"]) expect(parseKernelsEnv(v).allOff).toBe(true);
    expect(parseKernelsEnv("decode_attention")).toEqual({ allow: ["decode_attention"], allOff: false, unknown: [] });
    expect(parseKernelsEnv("decode_attention, nope")).toEqual({ allow: ["decode_attention", "nope"], allOff: false, unknown: ["nope"] });
  });
});

describe("the saved table", () => {
  it("accepts a well-formed table", () => {
    expect(parseKernelTable(table([goodRule]), "/t.json").rules).toEqual([goodRule]);
  });

  it("refuses a corrupt or mistyped file, naming the file and what is wrong", () => {
    expect(() => parseKernelTable("{ not json", "/c/t.json")).toThrow(/\/c\/t\.json is not valid: it is not JSON/);
    expect(() => parseKernelTable("[]", "/t.json")).toThrow(/not a JSON object/);
    expect(() => parseKernelTable(JSON.stringify({ version: 2 }), "/t.json")).toThrow(/"version" is 2, not 1/);
    expect(() => parseKernelTable(table([{ ...goodRule, kernel: "fast_thing" }]), "/t.json")).toThrow(/rules\[0\]\.kernel "fast_thing" is not a kernel/);
    expect(() => parseKernelTable(table([goodRule, { ...goodRule, headDim: -1 }]), "/t.json")).toThrow(/rules\[1\]\.headDim is not a positive integer/);
    expect(() => parseKernelTable(table([{ ...goodRule, kvMin: 5000 }]), "/t.json")).toThrow(/rules\[0\]\.kvMin/);
    expect(() => parseKernelTable(table([{ ...goodRule, use: "yes" }]), "/t.json")).toThrow(/rules\[0\]\.use is not true or false/);
    try {
      parseKernelTable("{", "/t.json");
    } catch (e) {
      expect((e as { code?: string }).code).toBe("E_BAD_CONFIG");
      expect((e as Error).message).toMatch(/%kernels bench/);
    }
  });

  it("lives in the user cache, one file per backend, GPU and MLX version", () => {
    const p = kernelTablePath({ backend: "cuda", deviceName: "NVIDIA H200", mlxVersion: "0.32.4" }, { XDG_CACHE_HOME: "/c" });
    expect(p).toBe("/c/mlx-ts/kernels/cuda-nvidia-h200-mlx-0.32.4.json");
  });
});

describe("rules from measured rows", () => {
  it("each length stands for the lengths up to the next measured one; ours only where it was fast enough", () => {
    const rules = rulesFromRows([row(4096, 10, 10 / SPEEDUP_TO_USE - 0.01), row(1024, 10, 12), row(32768, 100, 80)]);
    expect(rules.map((r) => [r.kvMin, r.kvMax, r.use])).toEqual([[0, 4096, false], [4096, 32768, true], [32768, 2 ** 31 - 1, true]]);
    expect(rules.every((r) => r.gqa === 4 && r.headDim === 128 && r.batchMax === 1)).toBe(true);
  });

  it("a speed-up just under the threshold stays on the fallback", () => {
    expect(rulesFromRows([row(1024, 10.4, 10)])[0]!.use).toBe(false);
  });

  it("keeps shapes apart", () => {
    const rules = rulesFromRows([row(1024, 10, 5), row(1024, 10, 20, { nHeads: 16 }), row(1024, 10, 5, { dtype: "float16" })]);
    expect(rules.map((r) => `${r.dtype}/${r.gqa}/${r.use}`).sort()).toEqual(["bfloat16/2/false", "bfloat16/4/true", "float16/4/true"]);
  });
});
