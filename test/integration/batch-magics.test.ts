// %%generate --batch through a real Session (the one the kernel runs) over the real engine: one output per
// prompt line, each with its own stats line and the batch size; each row's tokens equal the prompt alone
// through plain %%generate; an empty line is refused by number and the session keeps working.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteOutcome } from "../../kernel/session/types.js";
import { ensureFixtures, FIXTURES, startHarness, STATS_LINE, type Harness } from "./magics-harness.js";

let h: Harness;
const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
async function value(code: string): Promise<string> {
  const { outcome } = await h.run(code);
  if (outcome.status !== "ok") throw new Error(`cell failed: ${outcome.status === "error" ? outcome.evalue : outcome.status}`);
  // strings come back as their display form, in quotes
  return String(outcome.result?.["text/plain"] ?? "").replace(/^'|'$/g, "");
}

beforeAll(async () => {
  ensureFixtures();
  h = await startHarness();
  ok((await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as q`)).outcome);
}, 120_000);

afterAll(async () => {
  await h?.shutdown();
});

describe("%%generate --batch", () => {
  it("shows one output per prompt line, each with its stats line and batch size, tokens equal to each prompt alone", async () => {
    const lines = ["Name a color.", "Tell me about the sea and the sky.", "Hi"];
    const alone: string[] = [];
    for (const l of lines) {
      ok((await h.run(`%%generate --model q --max-tokens 12\n${l}`)).outcome);
      alone.push(await value("lastGeneration.tokens.join(',')"));
    }
    const run = await h.run(`%%generate --model q --max-tokens 12 --batch\n${lines.join("\n")}`);
    ok(run.outcome);
    const texts = run.sink.outputs.map((b) => String(b["text/plain"] ?? ""));
    const rows = texts.filter((t) => STATS_LINE.test(t));
    expect(rows).toHaveLength(lines.length);
    for (const t of rows) expect(t).toMatch(/\| batch: \d+ rows \(at most 3\)/);
    // lastGeneration is the last row; every row's tokens through session.generateBatch
    expect(await value("lastGeneration.tokens.join(',')")).toBe(alone[2]);
    const batched = await value(`(await session.generateBatch(${JSON.stringify(lines)}, { model: "q", maxTokens: 12 })).map((r) => r.tokens.join(',')).join(';')`);
    expect(batched).toBe(alone.join(";"));
  }, 120_000);

  it("a %%generate cell started while another cell's generation runs joins it in one batch; each equals its prompt alone", async () => {
    const long = { model: "q", maxTokens: 48, ignoreEos: true };
    const a = await value(`(await session.generate("Tell me a long story.", ${JSON.stringify(long)})).tokens.join(',')`);
    ok((await h.run("%%generate --model q --max-tokens 12\nHi")).outcome);
    const b = await value("lastGeneration.tokens.join(',')");
    // The first cell leaves its generation running (as a second client's cell would find it); the next cell joins it.
    ok((await h.run(`let pending = session.generate("Tell me a long story.", ${JSON.stringify(long)}); 1`)).outcome);
    const joined = await h.run("%%generate --model q --max-tokens 12\nHi");
    ok(joined.outcome);
    const line = joined.sink.outputs.map((o) => String(o["text/plain"] ?? "")).find((t) => STATS_LINE.test(t));
    expect(line).toMatch(/\| batch: \d+ rows \(at most 2\)/);
    expect(await value("lastGeneration.tokens.join(',')")).toBe(b);
    expect(await value("(await pending).tokens.join(',')")).toBe(a);
    expect(await value("(await pending).stats.maxBatchSize")).toBe("2");
  }, 60_000);

  it("refuses an empty line by its number, and the session keeps working", async () => {
    const bad = await h.run("%%generate --model q --max-tokens 4 --batch\nfirst\n\nthird");
    expect(bad.outcome.status).toBe("error");
    if (bad.outcome.status === "error") expect(bad.outcome.evalue).toMatch(/line 2 of the body is empty/);
    const batchBad = await h.run("%%generate --model q --max-tokens 4 --batch --kv-bits 3\nfirst\nsecond");
    expect(batchBad.outcome.status).toBe("error");
    if (batchBad.outcome.status === "error") expect(batchBad.outcome.evalue).toMatch(/--kv-bits must be one of/);
    const good = await h.run("%%generate --model q --max-tokens 4 --batch\nfirst\nsecond");
    ok(good.outcome);
    expect(good.sink.outputs.map((b) => String(b["text/plain"] ?? "")).filter((t) => STATS_LINE.test(t))).toHaveLength(2);
    // A quantized KV cache in a batch (the fixture's head dim is 32, so groups of 32)
    const quantized = await h.run("%%generate --model q --max-tokens 4 --batch --kv-bits 8 --kv-group-size 32 --quantized-kv-start 0\nfirst\nsecond");
    ok(quantized.outcome);
    expect(quantized.sink.outputs.map((b) => String(b["text/plain"] ?? "")).filter((t) => STATS_LINE.test(t))).toHaveLength(2);
    expect(await value("1 + 1")).toBe("2");
  }, 60_000);
});
