// Validation during LoRA training against mlx-lm: a data directory with train.jsonl and valid.jsonl, the
// same initial adapter on both sides, mlx_lm.tuner.trainer.train evaluating with --val-batches and
// --steps-per-eval. The evaluations draw their batch order from the numpy RNG the training batches are
// shuffled with, so the training losses agreeing too shows the two orders interleave as mlx-lm's do.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetune, type FinetuneResult } from "../../kernel/engine/finetune.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { mulberry32 } from "../prng.js";
import { fixture, PYTHON, ROOT } from "./reference.js";

// 3 training batches (epochs end at steps 3 and 6) and 3 validation batches, 2 of them per evaluation:
// evaluations before steps 1, 3, 6 and 7 each draw a permutation between the epochs'.
const ITERS = 7;
const BATCH = 2;
const VAL_BATCHES = 2;
const STEPS_PER_EVAL = 3;
const LR = 1e-3;
const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const WORDS = "the a model learns small steps from data while loss goes down slowly and then faster over time".split(" ");

function jsonl(seed: number, n: number): string {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(rnd() * 14);
    return JSON.stringify({ text: Array.from({ length: len }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ") });
  }).join("\n") + "\n";
}

interface PyTrain {
  losses: number[];
  val_losses: { step: number; loss: number }[];
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

describe("LoRA validation on qwen3-tiny-bf16 (float32) against mlx_lm.tuner.trainer.train", () => {
  const src = fixture("qwen3-tiny-bf16");
  let engine: MlxEngine;
  let dir: string;
  let ref: PyTrain;
  let ours: FinetuneResult;

  beforeAll(async () => {
    mkdirSync(tmpRoot, { recursive: true });
    dir = mkdtempSync(join(tmpRoot, "lora-val-"));
    const data = join(dir, "data");
    mkdirSync(data);
    writeFileSync(join(data, "train.jsonl"), jsonl(21, 6));
    writeFileSync(join(data, "valid.jsonl"), jsonl(22, 7));
    const init = join(dir, "init.safetensors");
    const common = ["--rank", "4", "--scale", "10", "--num-layers", "2", "--iters", String(ITERS), "--batch", String(BATCH), "--lr", String(LR),
      "--val-batches", String(VAL_BATCHES), "--steps-per-eval", String(STEPS_PER_EVAL)];
    const reference = promisify(execFile)(PYTHON, [join(ROOT, "test", "parity", "lora_reference.py"), "train", "--model", src, "--float32", "--data", data,
      "--init-out", init, "--adapter-out", join(dir, "theirs"), ...common], { cwd: ROOT, maxBuffer: 64 << 20 });
    let failed: unknown;
    reference.catch((e: unknown) => { failed = e; });
    engine = createEngine();
    const model = await engine.load(src, { as: "lora-val", dtype: "float32" });
    while (!existsSync(init)) {
      if (failed) throw failed;
      await new Promise((r) => setTimeout(r, 100));
    }
    // the data directory's valid.jsonl is picked up, as mlx-lm's load_dataset does
    ours = await finetune(model, { dataPath: data, rank: 4, scale: 10, layers: 2, iters: ITERS, batchSize: BATCH, learningRate: LR, initAdapter: init,
      valBatches: VAL_BATCHES, stepsPerEval: STEPS_PER_EVAL });
    const { stdout } = await reference;
    ref = JSON.parse(stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").trim().split("\n").pop()!) as PyTrain;
  });

  afterAll(() => {
    engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("evaluates before the same steps as mlx-lm, with its validation loss within 1e-3 relative", () => {
    expect(ours.valExamples).toBe(7);
    expect(ours.validation.map((v) => v.step)).toEqual(ref.val_losses.map((v) => v.step));
    expect(ours.validation.map((v) => v.step)).toEqual([1, 3, 6, 7]);
    const diffs = ours.validation.map((v, i) => relDiff(v.loss, ref.val_losses[i]!.loss));
    expect(Math.max(...diffs), `ours ${ours.validation.map((v) => v.loss.toFixed(5))} vs mlx-lm ${ref.val_losses.map((v) => v.loss.toFixed(5))}`).toBeLessThan(1e-3);
    // the step records carry the same numbers the progress line and the chart show
    expect(ours.steps.filter((s) => s.valLoss !== undefined).map((s) => s.valLoss)).toEqual(ours.validation.map((v) => v.loss));
    // training moved the validation loss: the evaluations are of different adapters
    expect(new Set(ours.validation.map((v) => v.loss)).size).toBe(4);
  });

  it("trains on the same batches as mlx-lm while evaluating (the training losses agree)", () => {
    const diffs = ours.steps.map((s, i) => relDiff(s.loss, ref.losses[i]!));
    expect(ours.steps.length).toBe(ITERS);
    expect(ours.compiled).toBe(true); // the compiled step (as mlx-lm's) is what was compared
    expect(Math.max(...diffs), `ours ${ours.steps.map((s) => s.loss.toFixed(5))} vs mlx-lm ${ref.losses.map((l) => l.toFixed(5))}`).toBeLessThan(1e-3);
  });
});
