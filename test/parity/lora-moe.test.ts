// LoRA on a mixture-of-experts model against mlx-lm: with the default targets every linear layer of a
// block gets an adapter, the experts' SwitchLinear layers too (mlx-lm's LoRASwitchLinear: a [E, r, in],
// b [E, out, r], through gather_mm). Same initial adapter (mlx-lm's), same data and order; the losses of
// 10 steps agree, mlx-lm loads our trained adapter and gives our greedy tokens, and our fuse of it equals
// mlx_lm.fuse's tensors.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetune, type FinetuneResult } from "../../kernel/engine/finetune.js";
import { fuse } from "../../kernel/engine/finetune-fuse.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { mulberry32 } from "../prng.js";
import { fixture, PYTHON, ROOT } from "./reference.js";
import { greedy, PROMPT } from "./suite.js";

const ITERS = 10;
const BATCH = 2;
const LR = 1e-3;
const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const WORDS = "the a model learns small steps from data while loss goes down slowly and then faster over time".split(" ");

function jsonl(): string {
  const rnd = mulberry32(23);
  return Array.from({ length: 6 }, () => {
    const n = 4 + Math.floor(rnd() * 12);
    return JSON.stringify({ text: Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ") });
  }).join("\n") + "\n";
}

async function py<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "test", "parity", script), ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").trim().split("\n").pop()!) as T;
}

describe("LoRA on qwen3-moe-tiny-bf16 (float32, expert layers included) against mlx-lm", () => {
  const src = fixture("qwen3-moe-tiny-bf16");
  let engine: MlxEngine;
  let model: LoadedModel;
  let dir: string;
  let ref: { losses: number[] };
  let ours: FinetuneResult;

  beforeAll(async () => {
    mkdirSync(tmpRoot, { recursive: true });
    dir = mkdtempSync(join(tmpRoot, "lora-moe-"));
    mkdirSync(join(dir, "data"));
    const data = jsonl();
    writeFileSync(join(dir, "data", "train.jsonl"), data);
    const common = ["--rank", "4", "--scale", "10", "--num-layers", "2", "--iters", String(ITERS), "--batch", String(BATCH), "--lr", String(LR)];
    const init = join(dir, "init.safetensors");
    const reference = py<{ losses: number[] }>("lora_reference.py", ["train", "--model", src, "--float32", "--data", join(dir, "data"), "--init-out", init, "--adapter-out", join(dir, "theirs"), ...common]);
    let failed: unknown;
    reference.catch((e: unknown) => { failed = e; });
    engine = createEngine();
    model = await engine.load(src, { as: "lora-moe", dtype: "float32" });
    while (!existsSync(init)) {
      if (failed) throw failed;
      await new Promise((r) => setTimeout(r, 100));
    }
    ours = await finetune(model, { data, rank: 4, scale: 10, layers: 2, iters: ITERS, batchSize: BATCH, learningRate: LR, initAdapter: init, save: join(dir, "ours") });
    ref = await reference;
  });

  afterAll(() => {
    engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("adapts the expert layers and has mlx-lm's loss at each of 10 steps within 1e-3 relative", () => {
    // the init file is mlx-lm's, with its switch_mlp lora_a / lora_b: every one found its layer (a
    // tensor without one is refused), and our saved adapter has them
    const file = readFileSync(join(dir, "ours", "adapters.safetensors"));
    const names = Object.keys(JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString("utf8")) as object).filter((n) => n !== "__metadata__");
    expect(names.filter((n) => n.includes(".mlp.switch_mlp.")).length).toBeGreaterThan(0);
    expect(names.length).toBe(2 * ours.layers);
    const diffs = ours.steps.map((s, i) => Math.abs(s.loss - ref.losses[i]!) / Math.abs(ref.losses[i]!));
    expect(Math.max(...diffs), `ours ${ours.steps.map((s) => s.loss.toFixed(5))} vs mlx-lm ${ref.losses.map((l) => l.toFixed(5))}`).toBeLessThan(1e-3);
    expect(ours.steps[ITERS - 1]!.loss).toBeLessThan(ours.steps[0]!.loss);
  });

  it("mlx-lm loads our adapter and gives our greedy tokens", async () => {
    const res = await greedy(model, PROMPT, 16);
    const theirs = await py<{ tokens: number[] }>("lora_reference.py", ["generate", "--model", src, "--float32", "--adapter-path", join(dir, "ours"), "--ids", res.promptTokens.join(","), "--steps", String(res.tokens.length)]);
    expect(res.tokens).toEqual(theirs.tokens);
  });

  it("our fuse of the adapter (expert layers too) equals mlx_lm.fuse's tensors", async () => {
    const bf16 = await engine.load(src, { as: "moe-bf16" });
    const res = await fuse(bf16, { adapter: join(dir, "ours"), save: join(dir, "fused-ours") });
    expect(res.fusedLayers).toBe(ours.layers);
    const [r] = await py<{ differ: unknown[]; only_ours: string[]; only_theirs: string[]; config_differ: string[] }[]>("fuse_reference.py",
      ["compare", "--jobs", JSON.stringify([{ model: src, adapter: join(dir, "ours"), ours: res.dir, theirs: join(dir, "fused-theirs"), dequantize: false }])]);
    expect(r!.only_ours).toEqual([]);
    expect(r!.only_theirs).toEqual([]);
    expect(r!.differ, JSON.stringify(r!.differ.slice(0, 3))).toEqual([]);
    expect(r!.config_differ).toEqual([]);
  });
});
