// LoRA training against mlx-lm: the same initial adapter (written by mlx-lm's linear_to_lora_layers,
// read by us), the same data through mlx-lm's own dataset loader, the same batch order (numpy's seed 0),
// and mlx_lm.tuner.trainer.train's per-step losses beside ours; then each side loads the other's trained
// adapter and greedy tokens agree.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyAdapter, finetune, type FinetuneResult } from "../../kernel/engine/finetune.js";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { mulberry32 } from "../prng.js";
import { fixture, PYTHON, ROOT } from "./reference.js";
import { greedy, PROMPT, STEPS } from "./suite.js";

const ITERS = 10;
const BATCH = 2;
const LR = 1e-3;
const tmpRoot = join(ROOT, "test", ".fixtures", "tmp");
const WORDS = "the a model learns small steps from data while loss goes down slowly and then faster over time".split(" ");

/** 8 text examples of different lengths (padding and masks differ per row). */
function jsonl(): string {
  const rnd = mulberry32(20);
  return Array.from({ length: 8 }, () => {
    const n = 4 + Math.floor(rnd() * 16);
    return JSON.stringify({ text: Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ") });
  }).join("\n") + "\n";
}

interface PyTrain {
  losses: number[];
  batches: { tokens: number[][]; lengths: number[][] }[];
}

async function py<T>(args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, "test", "parity", "lora_reference.py"), ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
  // the last line is the JSON; a progress bar in mlx-lm's training may leave terminal escapes before it
  return JSON.parse(stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").trim().split("\n").pop()!) as T;
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

for (const name of ["qwen3-tiny-bf16", "qwen3-tiny-4bit"]) {
  describe(`LoRA on ${name} (float32) against mlx_lm.tuner.trainer.train`, () => {
    const src = fixture(name);
    let engine: MlxEngine;
    let model: LoadedModel;
    let dir: string;
    let ref: PyTrain;
    let ours: FinetuneResult;

    beforeAll(async () => {
      mkdirSync(tmpRoot, { recursive: true });
      dir = mkdtempSync(join(tmpRoot, "lora-"));
      mkdirSync(join(dir, "data"));
      const data = jsonl();
      writeFileSync(join(dir, "data", "train.jsonl"), data);
      const common = ["--rank", "4", "--scale", "10", "--num-layers", "2", "--iters", String(ITERS), "--batch", String(BATCH), "--lr", String(LR)];
      // mlx-lm writes the initial adapter, then trains while we train from the same file
      const init = join(dir, "init.safetensors");
      const reference = py<PyTrain>(["train", "--model", src, "--float32", "--data", join(dir, "data"), "--init-out", init, "--adapter-out", join(dir, "theirs"), ...common]);
      let failed: unknown;
      reference.catch((e: unknown) => { failed = e; });
      engine = createEngine();
      model = await engine.load(src, { as: "lora-" + name, dtype: "float32" });
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

    it("trains the same batches in the same order as mlx-lm", () => {
      expect(ref.batches.length).toBe(ITERS);
      expect(ours.schedule.length).toBe(ITERS);
      // Our batch rows, padded as iterate_batches pads them, equal the arrays mlx-lm trained on.
      const examples = jsonl().trim().split("\n").map((l) => model.tokenize((JSON.parse(l) as { text: string }).text));
      ours.schedule.forEach((rows, step) => {
        const theirs = ref.batches[step]!;
        rows.forEach((idx, j) => {
          const n = theirs.lengths[j]![1]!;
          expect(theirs.tokens[j]!.slice(0, n - 1), `step ${step + 1} row ${j}`).toEqual(examples[idx]);
        });
      });
    });

    it("has mlx-lm's loss at each of the first 10 steps within 1e-3 relative", () => {
      expect(ours.steps.map((s) => s.step)).toEqual(Array.from({ length: ITERS }, (_, i) => i + 1));
      const diffs = ours.steps.map((s, i) => relDiff(s.loss, ref.losses[i]!));
      expect(Math.max(...diffs), `ours ${ours.steps.map((s) => s.loss.toFixed(5))} vs mlx-lm ${ref.losses.map((l) => l.toFixed(5))}`).toBeLessThan(1e-3);
      // the compiled step (as mlx-lm's) is what was compared
      expect(ours.compiled).toBe(true);
      // training moved the loss (the comparison is of a loop that does something)
      expect(ours.steps[ITERS - 1]!.loss).toBeLessThan(ours.steps[0]!.loss);
    });

    it("mlx-lm loads our adapter and gives our greedy tokens", async () => {
      const res = await greedy(model, PROMPT, STEPS);
      const theirs = await py<{ tokens: number[] }>(["generate", "--model", src, "--float32", "--adapter-path", join(dir, "ours"), "--ids", res.promptTokens.join(","), "--steps", String(res.tokens.length)]);
      expect(res.tokens).toEqual(theirs.tokens);
    });

    it("we load mlx-lm's trained adapter and give its greedy tokens", async () => {
      const n = await applyAdapter(model, join(dir, "theirs"));
      expect(n).toBeGreaterThan(0);
      const res = await greedy(model, PROMPT, STEPS);
      const theirs = await py<{ tokens: number[] }>(["generate", "--model", src, "--float32", "--adapter-path", join(dir, "theirs"), "--ids", res.promptTokens.join(","), "--steps", String(res.tokens.length)]);
      expect(res.tokens).toEqual(theirs.tokens);
    });
  });
}
