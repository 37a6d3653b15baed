// %%finetune, %adapter and %%generate --adapter through a real Session over the real engine: the loss
// chart and the progress line are one display each, updated in place; Stop ends the run at its next step
// with the adapter so far saved; a saved adapter set by %%generate --adapter gives the trained model's tokens.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureFixtures, FIXTURES, RecordingSink, startHarness, type Harness } from "./magics-harness.js";

const VEGA = "application/vnd.vegalite.v5+json";
const DATA = ["the cat sat", "a dog ran far", "birds sing at dawn", "fish swim deep"].map((t) => JSON.stringify({ text: t })).join("\n");
let h: Harness;
let dir: string;

/** Runs a %%generate cell, then reads the tokens it left in lastGeneration. */
async function tokensOf(cell: string): Promise<number[]> {
  const { outcome: gen } = await h.run(cell);
  if (gen.status !== "ok") throw new Error(`cell failed: ${gen.status === "error" ? gen.evalue : gen.status}`);
  const { outcome } = await h.run("JSON.stringify(lastGeneration.tokens)");
  if (outcome.status !== "ok") throw new Error("could not read lastGeneration");
  return JSON.parse(String(outcome.result?.["text/plain"] ?? "'[]'").slice(1, -1)) as number[];
}

beforeAll(async () => {
  ensureFixtures();
  dir = mkdtempSync(join(FIXTURES, "..", "tmp-ft-magics-"));
  mkdirSync(dir, { recursive: true });
  h = await startHarness();
  // float32: bfloat16 training steps are slow on the CPU backend
  for (const as of ["ft", "plain"]) {
    const { outcome } = await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as ${as} --dtype f32`);
    expect(outcome.status).toBe("ok");
  }
}, 180_000);

afterAll(async () => {
  await h?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("%%finetune", () => {
  it("trains with a live loss chart and progress line updated in place, and leaves lastFinetune", async () => {
    const save = join(dir, "done");
    const { outcome, sink } = await h.run(`%%finetune ft --iters 3 --batch 2 --layers 1 --lr 1e-2 --save ${save}\n${DATA}`);
    expect(outcome.status, JSON.stringify(outcome)).toBe("ok");
    const charts = sink.events.filter((e) => e.kind !== "stream" && VEGA in e.data);
    expect(charts.length).toBeGreaterThan(1); // the first display, then its updates
    const ids = new Set(charts.map((e) => (e.kind === "stream" ? "" : e.displayId)));
    expect(ids.size).toBe(1);
    const finalChart = sink.outputs.find((b) => VEGA in b)![VEGA] as { data?: { values?: unknown[] } };
    expect(JSON.stringify(finalChart)).toContain("loss");
    expect(existsSync(join(save, "adapters.safetensors"))).toBe(true);
    const { outcome: steps } = await h.run("lastFinetune.steps.length");
    expect(steps.status === "ok" && steps.result?.["text/plain"]).toBe("3");
  });

  it("%%generate --adapter DIR on another copy gives the trained model's greedy tokens", async () => {
    const gen = (model: string, extra = "") => `%%generate --model ${model} --raw --max-tokens 8 ${extra}\nHello there`;
    const trained = await tokensOf(gen("ft"));
    const before = await tokensOf(gen("plain"));
    const withAdapter = await tokensOf(gen("plain", `--adapter ${join(dir, "done")}`));
    expect(withAdapter).toEqual(trained);
    expect(withAdapter).not.toEqual(before);
    const { outcome, sink } = await h.run("%adapter plain --remove");
    expect(outcome.status).toBe("ok");
    expect(sink.text()).toContain("adapter removed");
    expect(await tokensOf(gen("plain"))).toEqual(before);
  });

  it("Stop ends the run at its next step, keeps and saves the adapter so far, and the session goes on", async () => {
    const save = join(dir, "partial");
    const sink = new RecordingSink();
    let updates = 0;
    sink.onEvent = (e) => {
      if (e.kind === "update" && ++updates === 2) h.session.interrupt();
    };
    const { outcome } = await h.run(`%%finetune ft --iters 500 --batch 2 --layers 1 --save ${save} --every 1\n${DATA}`, sink);
    expect(outcome.status).toBe("error");
    if (outcome.status === "error") expect(outcome.ename).toBe("InterruptError");
    expect(existsSync(join(save, "adapters.safetensors"))).toBe(true);
    const { outcome: after } = await h.run("1 + 1");
    expect(after.status === "ok" && after.result?.["text/plain"]).toBe("2");
    expect((await tokensOf("%%generate --model ft --raw --max-tokens 4\nHi")).length).toBeGreaterThan(0);
  });

  it("a bad flag and a missing model are clear errors", async () => {
    const { outcome } = await h.run(`%%finetune nope --iters 1\n${DATA}`);
    expect(outcome.status).toBe("error");
    if (outcome.status === "error") expect(outcome.evalue).toMatch(/nope/);
    const { outcome: bad } = await h.run(`%%generate --model plain --adapter ${join(dir, "missing")}\nHi`);
    expect(bad.status).toBe("error");
    if (bad.status === "error") expect(bad.evalue).toMatch(/missing/);
  });
});
