// Loads that must fail cleanly: a typed MlxTsError with the expected code and a message that says what
// and why, and the engine keeps working afterwards (the next load and generation in the same process).
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";
import { copyFixture, expectMlxTsError, fixture, makeGguf, removeScratch, scratch } from "./badinput-helpers.js";

let engine: MlxEngine;
let tmp: string;
let good: LoadedModel;
let goodTokens: number[];

async function stillWorks(): Promise<void> {
  // the model loaded before the failure still generates the same tokens
  const r = await good.generate("Hello there", { raw: true, maxTokens: 8, temperature: 0 });
  expect(r.tokens).toEqual(goodTokens);
  // and a new load succeeds
  const again = await engine.load(fixture("qwen3-tiny-4bit"), { as: "after-failure" });
  const r2 = await again.generate("Hello there", { raw: true, maxTokens: 4, temperature: 0 });
  expect(r2.tokens.length).toBe(4);
  engine.unload("after-failure");
}

beforeAll(async () => {
  engine = createEngine();
  tmp = scratch("badinput-load");
  good = await engine.load(fixture("qwen3-tiny-bf16"), { as: "good" });
  goodTokens = (await good.generate("Hello there", { raw: true, maxTokens: 8, temperature: 0 })).tokens;
  expect(goodTokens.length).toBe(8);
});

afterAll(() => {
  engine?.dispose();
  removeScratch(tmp);
});

describe("bad inputs to engine.load", () => {
  it("a directory that does not exist: E_MODEL_NOT_FOUND", async () => {
    const missing = join(tmp, "no-such-model");
    await expectMlxTsError(() => engine.load(missing), "E_MODEL_NOT_FOUND", ["no-such-model"]);
    expect(engine.models.has("no-such-model")).toBe(false);
    await stillWorks();
  });

  it('a config with model_type "foo": E_UNSUPPORTED_ARCH', async () => {
    const dir = copyFixture("qwen3-tiny-bf16", join(tmp, "arch"));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, model_type: "foo", architectures: ["FooForCausalLM"] }));
    await expectMlxTsError(() => engine.load(dir, { as: "foo" }), "E_UNSUPPORTED_ARCH", ["foo"]);
    expect(engine.models.has("foo")).toBe(false);
    await stillWorks();
  });

  it("a safetensors file cut in half: E_CORRUPT_WEIGHTS", async () => {
    const dir = copyFixture("qwen3-tiny-bf16", join(tmp, "cut-half"));
    const file = join(dir, "model.safetensors");
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expectMlxTsError(() => engine.load(dir, { as: "cut-half" }), "E_CORRUPT_WEIGHTS", []);
    expect(engine.models.has("cut-half")).toBe(false);
    await stillWorks();
  });

  it("a safetensors file cut inside its header: E_CORRUPT_WEIGHTS", async () => {
    const dir = copyFixture("qwen3-tiny-bf16", join(tmp, "cut-header"));
    truncateSync(join(dir, "model.safetensors"), 100);
    await expectMlxTsError(() => engine.load(dir, { as: "cut-header" }), "E_CORRUPT_WEIGHTS", []);
    await stillWorks();
  });

  it("a GGUF with an IQ2_XXS tensor: E_UNSUPPORTED_GGUF_TYPE, while the same file in F32 loads", async () => {
    const bad = makeGguf(join(tmp, "iq2.gguf"), "IQ2_XXS");
    await expectMlxTsError(() => engine.load(bad, { as: "iq2" }), "E_UNSUPPORTED_GGUF_TYPE", []);
    expect(engine.models.has("iq2")).toBe(false);
    // Control: only the tensor type differs, so the failure above is about the type.
    const ok = makeGguf(join(tmp, "f32.gguf"), "F32");
    const m = await engine.load(ok, { as: "gguf-f32" });
    expect(m.info().architecture).toBe("llama");
    const r = await m.generate("the", { raw: true, maxTokens: 3, temperature: 0 });
    expect(r.tokens.length).toBeGreaterThan(0);
    engine.unload("gguf-f32");
    await stillWorks();
  });

  it("a memory limit below what the weights need: E_MEMORY_LIMIT, and the limit is restored", async () => {
    const before = engine.memory().limit;
    const previous = engine.setMemoryLimit(4 << 20);
    try {
      expect(engine.memory().limit).toBe(4 << 20);
      await expectMlxTsError(() => engine.load(fixture("llama-tiny-bf16"), { as: "too-big" }), "E_MEMORY_LIMIT", []);
      expect(engine.models.has("too-big")).toBe(false);
    } finally {
      engine.setMemoryLimit(previous);
    }
    expect(engine.memory().limit).toBe(before);
    await stillWorks();
  });
});
