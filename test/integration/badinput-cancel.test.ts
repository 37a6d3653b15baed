// Cancelling a generation while its prompt is still being prefilled (a long prompt, small prefill
// chunks): it ends as "cancelled" with no token generated, and the same model then generates exactly
// what it generated before, with prefix reuse on (a half-filled KV cache must not leak into it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerationResult, LoadedModel } from "../../kernel/engine/types.js";
import { fixture } from "./badinput-helpers.js";

const SHORT = "Hello there, how are you today?";
// About 12k tokens; in chunks of 8 that is some 1500 prefill steps, far more than the moment we wait.
const LONG = "Unified memory lets the CPU and the GPU share buffers without copies. ".repeat(900);
const WAIT_MS = 150;

let engine: MlxEngine;
let model: LoadedModel;
let before: GenerationResult;

beforeAll(async () => {
  engine = createEngine();
  model = await engine.load(fixture("llama-tiny-bf16"), { as: "cancel" });
  before = await model.generate(SHORT, { raw: true, maxTokens: 12, temperature: 0 });
  expect(before.tokens.length).toBe(12);
});

afterAll(() => {
  engine?.dispose();
});

function expectCancelledInPrefill(r: GenerationResult): void {
  expect(r.stats.stopReason).toBe("cancelled");
  expect(r.stats.generatedTokens).toBe(0);
  // the prefill had started (its partial time is kept) and was cut short: no first token
  expect(r.stats.prefillMs).toBeGreaterThan(0);
  expect(r.stats.ttftMs).toBe(0);
  expect(r.tokens).toEqual([]);
  expect(r.promptTokens.length).toBeGreaterThan(5000);
}

async function expectSameAsBefore(): Promise<void> {
  const after = await model.generate(SHORT, { raw: true, maxTokens: 12, temperature: 0 });
  expect(after.stats.stopReason).toBe("length");
  expect(after.tokens).toEqual(before.tokens);
}

describe("cancel during prefill", () => {
  it("stream.cancel() ends the generation as cancelled, and the model generates as before", async () => {
    const s = model.stream(LONG, { raw: true, maxTokens: 16, temperature: 0, prefillStepSize: 8 });
    const chunks: number[] = [];
    const consume = (async () => {
      for await (const c of s) chunks.push(...c.tokens);
    })();
    await new Promise((r) => setTimeout(r, WAIT_MS));
    s.cancel();
    const r = await s.result;
    await consume;
    expectCancelledInPrefill(r);
    expect(chunks).toEqual([]);
    await expectSameAsBefore();
  });

  it("an AbortSignal does the same through generate()", async () => {
    const ac = new AbortController();
    const pending = model.generate(LONG, { raw: true, maxTokens: 16, temperature: 0, prefillStepSize: 8, signal: ac.signal });
    setTimeout(() => ac.abort(), WAIT_MS);
    expectCancelledInPrefill(await pending);
    await expectSameAsBefore();
  });

  it("the model is not left busy: a second generation can start at once after the cancel", async () => {
    const s = model.stream(LONG, { raw: true, maxTokens: 16, temperature: 0, prefillStepSize: 8 });
    await new Promise((r) => setTimeout(r, WAIT_MS));
    s.cancel();
    expectCancelledInPrefill(await s.result);
    const next = model.stream(SHORT, { raw: true, maxTokens: 12, temperature: 0 });
    expect((await next.result).tokens).toEqual(before.tokens);
  });
});
