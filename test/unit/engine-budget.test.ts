// The budget arithmetic: eviction order, eviction plans with generating models, routing choices, KV
// and quantized sizes, the default budget per backend; and the header estimates on the fixture files.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chooseRoute, defaultBudget, DEFAULT_BUDGET_SHARE, evictionOrder, KV_STEP, kvBytes, kvBytesPerToken, planEviction, weightBytesAt, type Charge, type RouteCandidate } from "../../kernel/engine/budget.js";
import { estimateCheckpoint, fitTable, readSafetensorsHeader } from "../../kernel/engine/estimate.js";
import { parseRegistrationFile, validateRegistration } from "../../kernel/engine/registration.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const FIX = join(import.meta.dirname, "..", ".fixtures", "models");
const c = (name: string, priority: number, lastUsed: number, bytes: number, generating = false): Charge => ({ name, priority, lastUsed, bytes, generating });

describe("eviction order and plans", () => {
  it("orders by priority, then least recently used", () => {
    const order = evictionOrder([c("a", 1, 5, 10), c("b", 0, 9, 10), c("c", 1, 2, 10), c("d", 0, 1, 10)]);
    expect(order.map((x) => x.name)).toEqual(["d", "b", "c", "a"]);
  });

  it("evicts no more than needed, in order", () => {
    const resident = [c("big", 5, 1, 60), c("old", 0, 1, 30), c("new", 0, 2, 30)];
    const plan = planEviction(resident, 40, 150);
    expect(plan.used).toBe(120);
    expect(plan.fits).toBe(true);
    expect(plan.evict).toEqual(["old"]);
    expect(planEviction(resident, 25, 150)).toMatchObject({ fits: true, evict: [] });
    expect(planEviction(resident, 70, 150).evict).toEqual(["old", "new"]);
  });

  it("never evicts a generating model and names it as the blocker", () => {
    const resident = [c("busy", 0, 1, 50, true), c("idle", 3, 2, 50)];
    const plan = planEviction(resident, 80, 120);
    expect(plan.fits).toBe(false);
    expect(plan.evict).toEqual(["idle"]);
    expect(plan.blockedBy).toEqual(["busy"]);
  });

  it("keeps the models asked to be kept", () => {
    const plan = planEviction([c("x", 0, 1, 50), c("y", 1, 2, 50)], 50, 100, new Set(["x"]));
    expect(plan.evict).toEqual(["y"]);
  });

  it("a model larger than the budget fits nowhere and evicts nothing", () => {
    expect(planEviction([c("x", 0, 1, 10)], 200, 100)).toMatchObject({ fits: false, evict: [], blockedBy: [] });
  });
});

describe("sizes", () => {
  const shape = { layers: 4, kvHeads: 4, headDim: 32, dtypeBytes: 2 };
  it("KV bytes are 2 × layers × kv heads × head dim × dtype per position, allocated in steps", () => {
    expect(kvBytesPerToken(shape)).toBe(2 * 4 * 4 * 32 * 2);
    expect(kvBytes(shape, 0)).toBe(0);
    expect(kvBytes(shape, 1)).toBe(KV_STEP * kvBytesPerToken(shape));
    expect(kvBytes(shape, KV_STEP + 1)).toBe(2 * KV_STEP * kvBytesPerToken(shape));
  });

  it("quantized weights: packed bits plus a 16-bit scale and bias per group", () => {
    const p = { quantizable: 64 * 1000, other: 100 };
    expect(weightBytesAt(p, 16)).toBe((64_000 + 100) * 2);
    expect(weightBytesAt(p, 4)).toBe(64_000 / 2 + 1000 * 4 + 200);
    expect(weightBytesAt(p, 8)).toBe(64_000 + 1000 * 4 + 200);
  });

  it("default budget is the stated share of what each backend offers", () => {
    expect(defaultBudget("cpu", 1000, 800)).toEqual({ bytes: Math.floor(1000 * DEFAULT_BUDGET_SHARE), basis: expect.stringContaining("RAM") });
    expect(defaultBudget("metal", 1000, 1500).bytes).toBe(Math.floor(1000 * DEFAULT_BUDGET_SHARE));
    expect(defaultBudget("metal", 1000, 1500).basis).toContain("recommended working set");
    expect(defaultBudget("cuda", 1000, 2000).bytes).toBe(Math.floor(2000 * DEFAULT_BUDGET_SHARE));
  });
});

describe("routing", () => {
  const cand = (name: string, role: string, priority: number, bytes: number, fallback?: string): RouteCandidate => ({ name, role, priority, bytes, resident: false, ...(fallback ? { fallback } : {}) });
  const all = [cand("big", "reason", 2, 100, "tiny"), cand("mid", "reason", 1, 50), cand("huge-low", "reason", 0, 500), cand("tiny", "chat", 0, 10), cand("coder", "code", 0, 40)];
  const fmt = (n: number): string => `${n} B`;

  it("the role's first choice when it fits", () => {
    expect(chooseRoute(all, "reason", () => true, fmt)).toMatchObject({ name: "big" });
  });

  it("the best smaller model of the role when the first does not fit", () => {
    const r = chooseRoute(all, "reason", (x) => x.bytes <= 60, fmt);
    expect(r).toMatchObject({ name: "mid" });
    expect((r as { reason: string }).reason).toContain("best smaller model");
    expect((r as { reason: string }).reason).toContain("big (100 B) does not fit");
  });

  it("the stated fallback when no model of the role fits", () => {
    const r = chooseRoute(all, "reason", (x) => x.bytes <= 20, fmt);
    expect(r).toMatchObject({ name: "tiny" });
    expect((r as { reason: string }).reason).toContain("stated fallback");
  });

  it("nothing fits: says what was tried; an unknown role: undefined", () => {
    expect(chooseRoute(all, "reason", () => false, fmt)).toEqual({ fitsNone: true, tried: ["big", "mid", "tiny"] });
    expect(chooseRoute(all, "poetry", () => true, fmt)).toBeUndefined();
  });
});

describe("header estimates of the fixture checkpoints", () => {
  it("bf16: weights as stored, KV geometry from config.json", () => {
    const e = estimateCheckpoint({ kind: "dir", path: join(FIX, "qwen3-tiny-bf16") }, { backend: "cpu" });
    const header = readSafetensorsHeader(join(FIX, "qwen3-tiny-bf16", "model.safetensors"));
    const stored = [...header.values()].reduce((s, t) => s + t.bytes, 0);
    expect(e.weightBytes).toBeLessThanOrEqual(stored);
    expect(e.weightBytes).toBeGreaterThan(stored * 0.9);
    expect(e.parameters * 2).toBe(e.weightBytes);
    expect(e.kv).toEqual({ layers: 4, kvHeads: 4, headDim: 32, dtypeBytes: 2 });
    expect(e.quantization).toBeNull();
  });

  it("the 4-bit and 8-bit copies count the same parameters as the bf16 one", () => {
    const bf16 = estimateCheckpoint({ kind: "dir", path: join(FIX, "qwen3-tiny-bf16") }, { backend: "cpu" });
    for (const bits of [4, 8]) {
      const q = estimateCheckpoint({ kind: "dir", path: join(FIX, `qwen3-tiny-${bits}bit`) }, { backend: "cpu" });
      expect(q.parameters).toBe(bf16.parameters);
      expect(q.quantization).toEqual({ bits, groupSize: 64 });
      // the formula for a quantized copy of the bf16 split gives what the quantized file holds
      expect(Math.abs(weightBytesAt(bf16.params, bits) - q.weightBytes) / q.weightBytes).toBeLessThan(0.01);
    }
  });

  it("--quant and --dtype options change the estimate as a load with them would", () => {
    const p = { kind: "dir" as const, path: join(FIX, "llama-tiny-bf16") };
    const base = estimateCheckpoint(p, { backend: "cpu" });
    expect(estimateCheckpoint(p, { backend: "cpu", dtype: "float32" }).weightBytes).toBe(base.weightBytes * 2);
    expect(estimateCheckpoint(p, { backend: "cpu", quant: { bits: 4 } }).weightBytes).toBeLessThan(base.weightBytes / 3);
  });

  it("%fit rows: 16/8/4 bits × 4k/32k against the budget", () => {
    const e = estimateCheckpoint({ kind: "dir", path: join(FIX, "qwen3-tiny-bf16") }, { backend: "cpu" });
    const budget = weightBytesAt(e.params, 8) + kvBytes(e.kv, 4096);
    const rows = fitTable(e, budget);
    expect(rows.map((r) => [r.bits, r.context])).toEqual([[16, 4096], [16, 32768], [8, 4096], [8, 32768], [4, 4096], [4, 32768]]);
    expect(rows.map((r) => r.fits)).toEqual([false, false, true, false, true, false]);
    for (const r of rows) expect(r.total).toBe(r.weightBytes + r.kvBytes);
  });

  it("a truncated safetensors header is a clear error", () => {
    const dir = mkdtempSync(join(tmpdir(), "mlx-ts-est-"));
    try {
      writeFileSync(join(dir, "config.json"), "{}");
      writeFileSync(join(dir, "model.safetensors"), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
      expect(() => estimateCheckpoint({ kind: "dir", path: dir }, { backend: "cpu" })).toThrow(/ends inside its header/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("registrations", () => {
  const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-reg-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("accepts aliases, paths and HF ids; rejects a missing path with what to do", () => {
    expect(validateRegistration({ name: "s", path: "smollm2", role: "chat", priority: 2 }, "x")).toEqual({ name: "s", path: "smollm2", role: "chat", priority: 2 });
    expect(validateRegistration({ name: "h", path: "org/some-model" }, "x").path).toBe("org/some-model");
    expect(() => validateRegistration({ name: "m", path: "./nope" }, "x")).toThrow(/does not exist/);
    expect(() => validateRegistration({ name: "m", path: "smollm2", priority: 1.5 }, "x")).toThrow(/whole number/);
    expect(() => validateRegistration({ name: "m", path: "smollm2", fallback: "m" }, "x")).toThrow(/itself/);
    expect(() => validateRegistration({ name: "m", path: "smollm2", colour: "red" }, "x")).toThrow(MlxTsError);
  });

  it("a file with bad entries reports each by index and name, and keeps the good ones", () => {
    const file = join(tmp, "models.json");
    writeFileSync(file, JSON.stringify({ models: [
      { name: "a", path: "smollm2" },
      { name: "b", path: "./missing-dir" },
      { path: "smollm2" },
      { name: "c", path: join(FIX, "qwen3-tiny-4bit"), role: "fast" },
      { name: "a", path: "smollm2" },
    ] }));
    const { entries, errors } = parseRegistrationFile(file);
    expect(entries.map((e) => e.name)).toEqual(["a", "c"]);
    expect(errors.map((e) => [e.index, e.name])).toEqual([[1, "b"], [2, undefined], [4, "a"]]);
    expect(errors[0]!.message).toContain("entry 1 (b)");
    expect(errors[2]!.message).toContain("already used");
  });

  it("an unparsable file registers nothing and says so", () => {
    const file = join(tmp, "bad.json");
    writeFileSync(file, "{ not json");
    expect(() => parseRegistrationFile(file)).toThrow(/nothing was registered/);
  });
});
