// %%finetune with a validation set and %fuse through a real Session over the real engine: the live chart
// carries a validation series beside the training loss and the progress line the val loss; %fuse --as
// loads the fused checkpoint, which generates the trained model's greedy tokens; session.fuse does the
// same from code; a missing --save is a clear error.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../kernel/magics/fuse.js";
import { ensureFixtures, FIXTURES, startHarness, type Harness } from "./magics-harness.js";

const VEGA = "application/vnd.vegalite.v5+json";
const lines = (xs: string[]) => xs.map((t) => JSON.stringify({ text: t })).join("\n") + "\n";
let h: Harness;
let dir: string;

async function tokensOf(cell: string): Promise<number[]> {
  const { outcome: gen } = await h.run(cell);
  if (gen.status !== "ok") throw new Error(`cell failed: ${gen.status === "error" ? gen.evalue : gen.status}`);
  const { outcome } = await h.run("JSON.stringify(lastGeneration.tokens)");
  if (outcome.status !== "ok") throw new Error("could not read lastGeneration");
  return JSON.parse(String(outcome.result?.["text/plain"] ?? "'[]'").slice(1, -1)) as number[];
}

beforeAll(async () => {
  ensureFixtures();
  dir = mkdtempSync(join(FIXTURES, "..", "tmp-ft-fuse-"));
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "data", "train.jsonl"), lines(["the cat sat", "a dog ran far", "birds sing at dawn", "fish swim deep"]));
  writeFileSync(join(dir, "data", "valid.jsonl"), lines(["a cat ran", "birds swim far"]));
  h = await startHarness();
  // float32: bfloat16 training steps are slow on the CPU backend
  const { outcome } = await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as ft --dtype f32`);
  expect(outcome.status).toBe("ok");
}, 180_000);

afterAll(async () => {
  await h?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("%%finetune --val-data and %fuse", () => {
  it("charts the validation loss as a second series and shows it in the progress line", async () => {
    const { outcome, sink } = await h.run(
      `%%finetune ft --data ${join(dir, "data", "train.jsonl")} --val-data ${join(dir, "data", "valid.jsonl")} --val-batches -1 --steps-per-eval 2 --iters 3 --batch 2 --layers 1 --lr 1e-2 --save ${join(dir, "adapter")}`,
    );
    expect(outcome.status, JSON.stringify(outcome)).toBe("ok");
    const chart = sink.outputs.find((b) => VEGA in b)![VEGA] as { data: { values: { step: number; loss: number; series: string }[] }; encoding: { color?: { field: string } } };
    expect(chart.encoding.color?.field).toBe("series");
    const val = chart.data.values.filter((r) => r.series === "validation");
    expect(val.map((r) => r.step)).toEqual([1, 2, 3]); // before step 1, every 2 steps, before the last
    expect(chart.data.values.filter((r) => r.series === "train").length).toBe(3);
    const { outcome: res } = await h.run("JSON.stringify(lastFinetune.validation.map((v) => v.loss))");
    expect(res.status).toBe("ok");
    const losses = JSON.parse(String(res.status === "ok" && res.result?.["text/plain"]).slice(1, -1)) as number[];
    expect(val.map((r) => r.loss)).toEqual(losses.map((l) => Number(l.toFixed(5))));
    expect(sink.text()).toMatch(/val \d+\.\d{4}/);
  });

  it("%fuse --as loads the fused checkpoint, which generates the trained model's tokens", async () => {
    const gen = (model: string) => `%%generate --model ${model} --raw --max-tokens 8\nHello there`;
    const trained = await tokensOf(gen("ft"));
    const { outcome, sink } = await h.run(`%fuse ft --save ${join(dir, "fused")} --as fused`);
    expect(outcome.status, JSON.stringify(outcome)).toBe("ok");
    expect(sink.text()).toMatch(/fused into 7 layers .*Loaded as fused/s);
    expect(await tokensOf(gen("fused"))).toEqual(trained);
  });

  it("session.fuse from code, with an adapter directory, and a clear error without --save", async () => {
    const { outcome } = await h.run(`const r = await session.fuse("ft", { adapter: ${JSON.stringify(join(dir, "adapter"))}, save: ${JSON.stringify(join(dir, "fused2"))} }); r.fusedLayers`);
    expect(outcome.status === "ok" && outcome.result?.["text/plain"], JSON.stringify(outcome)).toBe("7");
    const { outcome: bad } = await h.run("%fuse ft");
    expect(bad.status).toBe("error");
    if (bad.status === "error") expect(bad.evalue).toMatch(/--save DIR is required/);
    const { outcome: after } = await h.run("1 + 1");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("2");
  });
});
