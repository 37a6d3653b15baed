// %fuse / session.fuse against mlx_lm.fuse: an adapter we train on the tiny fixture, fused by us and by
// mlx-lm's own fuse command from the same adapter directory. In float32 the fused checkpoint, loaded by
// mlx-lm (and by us), gives the greedy tokens of our base + adapter; on the bf16 and 4-bit bases every
// fused tensor (re-quantized, or with --dequantize plain) equals mlx_lm.fuse's bit for bit.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetune } from "../../kernel/engine/finetune.js";
import { fuse } from "../../kernel/engine/finetune-fuse.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { fixture, PYTHON, ROOT } from "./reference.js";
import { greedy, PROMPT } from "./suite.js";

const STEPS = 16;
const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const DATA = ["the cat sat on the mat", "a dog ran far away", "birds sing at dawn", "fish swim deep down"].map((t) => JSON.stringify({ text: t })).join("\n");

interface Report {
  tensors: number;
  only_ours: string[];
  only_theirs: string[];
  differ: unknown[];
  config_differ: string[];
  quantization: [unknown, unknown];
}

async function py<T>(args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "test", "parity", "fuse_reference.py"), ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as T;
}

describe("fuse against mlx_lm.fuse", () => {
  let engine: MlxEngine;
  let dir: string;
  let adapter: string;
  let trained: LoadedModel;

  beforeAll(async () => {
    mkdirSync(tmpRoot, { recursive: true });
    dir = mkdtempSync(join(tmpRoot, "fuse-"));
    adapter = join(dir, "adapter");
    engine = createEngine();
    // float32 for training speed on the CPU; lr 1e-2 moves the tiny model's tokens
    trained = await engine.load(fixture("qwen3-tiny-bf16"), { as: "trained", dtype: "float32" });
    await finetune(trained, { data: DATA, rank: 4, scale: 10, layers: 2, iters: 4, batchSize: 2, learningRate: 1e-2, save: adapter });
  });

  afterAll(() => {
    engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("float32: the fused checkpoint, loaded by mlx-lm and by us, gives our base + adapter's greedy tokens", async () => {
    const withAdapter = await greedy(trained, PROMPT, STEPS);
    const res = await fuse(trained, { save: join(dir, "f32") });
    expect(res.fusedLayers).toBe(14); // 2 blocks x 7 linear layers
    expect(res.quantized).toBe(false);
    expect(existsSync(join(res.dir, "tokenizer.json"))).toBe(true);
    const theirs = await py<{ tokens: number[] }>(["generate", "--model", res.dir, "--ids", withAdapter.promptTokens.join(","), "--steps", String(withAdapter.tokens.length)]);
    expect(theirs.tokens).toEqual(withAdapter.tokens);
    const fused = await engine.load(res.dir, { as: "fused-f32" });
    expect((await greedy(fused, PROMPT, STEPS)).tokens).toEqual(withAdapter.tokens);
    // the session's model still has its base weights and adapter: fusing did not change it
    expect((await greedy(trained, PROMPT, STEPS)).tokens).toEqual(withAdapter.tokens);
  });

  it("bf16 and 4-bit (re-quantized, and --dequantize): every tensor equals mlx_lm.fuse's", async () => {
    const jobs: { model: string; adapter: string; ours: string; theirs: string; dequantize: boolean }[] = [];
    for (const [name, dequantize] of [["qwen3-tiny-bf16", false], ["qwen3-tiny-4bit", false], ["qwen3-tiny-4bit", true]] as const) {
      const src = fixture(name);
      // the checkpoint's own dtype, as mlx_lm.fuse loads it
      const m = await engine.load(src, { as: `${name}-${dequantize}` });
      const ours = join(dir, `ours-${name}-${dequantize}`);
      const res = await fuse(m, { adapter, save: ours, dequantize });
      expect(res.quantized).toBe(name.endsWith("4bit") && !dequantize);
      if (dequantize) expect(res.dequantizedLayers).toBeGreaterThan(0);
      jobs.push({ model: src, adapter, ours, theirs: join(dir, `theirs-${name}-${dequantize}`), dequantize });
      engine.unload(m.name);
    }
    const reports = await py<Report[]>(["compare", "--jobs", JSON.stringify(jobs)]);
    reports.forEach((r, i) => {
      const what = `${jobs[i]!.model} dequantize=${jobs[i]!.dequantize}`;
      expect(r.tensors, what).toBeGreaterThan(0);
      expect(r.only_ours, what).toEqual([]);
      expect(r.only_theirs, what).toEqual([]);
      expect(r.differ, `${what}: ${JSON.stringify(r.differ.slice(0, 3))}`).toEqual([]);
      expect(r.quantization[0], what).toEqual(r.quantization[1]);
      expect(r.config_differ, what).toEqual([]);
    });
    // the re-quantized checkpoint keeps the base's bits and group size
    const base = JSON.parse(readFileSync(join(fixture("qwen3-tiny-4bit"), "config.json"), "utf8")) as { quantization: unknown };
    expect(reports[1]!.quantization[0]).toEqual(base.quantization);
    expect(reports[2]!.quantization[0]).toBeNull(); // absent from config.json
  });

  it("a model without an adapter, and a non-empty target, are clear errors", async () => {
    const plain = await engine.load(fixture("qwen3-tiny-bf16"), { as: "plain", dtype: "float32" });
    await expect(fuse(plain, { save: join(dir, "none") })).rejects.toThrow(/has no adapter/);
    await expect(fuse(trained, { save: join(dir, "f32") })).rejects.toThrow(/not empty/);
    expect((await greedy(plain, PROMPT, 4)).tokens.length).toBeGreaterThan(0);
  });
});
