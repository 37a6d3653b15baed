// Prompt caches on disk in mlx-lm's layout, both ways, for each cache kind:
//   - ours (session.savePromptCache) → mlx-lm's load_prompt_cache continues to the same greedy tokens as our
//     own continuation (reusePrefix), and our loadPromptCache of it continues the same way;
//   - mlx-lm's (cache_prompt's generate_step + save_prompt_cache) → our loadPromptCache, then a prompt
//     that continues it (as mlx_lm.generate --prompt-cache-file) gives mlx-lm's tokens;
//   - a missing, corrupt or truncated file: a clear error naming the file, and generation still works.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerateOptions, GenerationResult, LoadedModel, PromptCacheInfo } from "../../kernel/engine/types.js";
import { mlxlmKv, type KvJob, type KvResult } from "./kvcache-helpers.js";
import { fixture } from "./reference.js";
import { PROMPT } from "./suite.js";

const NAME = "qwen3-tiny-bf16";
const SUFFIX = " the astronauts";
const STEPS = 16;
const KINDS: Record<string, { opts: GenerateOptions; job: Partial<KvJob> }> = {
  plain: { opts: {}, job: {} },
  kv8: { opts: { kvBits: 8, kvGroupSize: 32, quantizedKvStart: 0 }, job: { kv_bits: 8, kv_group_size: 32, quantized_kv_start: 0 } },
  rotating: { opts: { maxKvSize: 16 }, job: { max_kv_size: 16 } },
};
const CLASS = { plain: "KVCache", kv8: "QuantizedKVCache", rotating: "RotatingKVCache" } as Record<string, string>;

describe(`${NAME}: prompt-cache files with mlx-lm`, () => {
  const dir = fixture(NAME);
  const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-prompt-cache-"));
  let engine: MlxEngine;
  let model: LoadedModel;
  let p1: number[];
  const saved: Record<string, PromptCacheInfo> = {};
  const cont: Record<string, GenerationResult> = {};
  const reloaded: Record<string, GenerationResult> = {};
  const fromMlx: Record<string, { info: PromptCacheInfo; result: GenerationResult }> = {};
  let made: KvResult[];
  let refOurs: Record<string, KvResult>;
  let refMlx: Record<string, KvResult>;
  const gen = (prompt: string, opts: GenerateOptions): Promise<GenerationResult> =>
    model.generate(prompt, { raw: true, maxTokens: STEPS, ignoreEos: true, ...opts });

  beforeAll(async () => {
    engine = createEngine();
    model = await engine.load(dir, { as: NAME });
    const kinds = Object.keys(KINDS);
    for (const k of kinds) {
      const o = KINDS[k]!.opts;
      model.resetCache();
      // One token: the cache then holds exactly the prompt.
      const first = await gen(PROMPT, { ...o, maxTokens: 1, reusePrefix: false });
      p1 = first.promptTokens;
      saved[k] = await model.savePromptCache(join(tmp, `ours-${k}.safetensors`));
      cont[k] = await gen(PROMPT + SUFFIX, { ...o, reusePrefix: true });
      model.resetCache();
      await model.loadPromptCache(saved[k]!.file);
      reloaded[k] = await gen(PROMPT + SUFFIX, { ...o, reusePrefix: true });
    }
    made = await mlxlmKv(dir, kinds.map((k) => ({ op: "cache_prompt" as const, ids: p1, file: join(tmp, `mlx-${k}.safetensors`), ...KINDS[k]!.job })));
    for (const k of kinds) {
      model.resetCache();
      const info = await model.loadPromptCache(join(tmp, `mlx-${k}.safetensors`));
      fromMlx[k] = { info, result: await gen(SUFFIX, { ...KINDS[k]!.opts, reusePrefix: true }) };
    }
    const jobs: KvJob[] = [
      ...kinds.map((k) => ({ op: "continue" as const, file: saved[k]!.file, ids: cont[k]!.promptTokens.slice(p1.length), steps: STEPS, ...KINDS[k]!.job })),
      ...kinds.map((k) => ({ op: "continue" as const, file: join(tmp, `mlx-${k}.safetensors`), ids: fromMlx[k]!.result.promptTokens, steps: STEPS, ...KINDS[k]!.job })),
    ];
    const r = await mlxlmKv(dir, jobs);
    refOurs = Object.fromEntries(kinds.map((k, i) => [k, r[i]!]));
    refMlx = Object.fromEntries(kinds.map((k, i) => [k, r[kinds.length + i]!]));
  }, 180_000);

  afterAll(() => engine?.dispose());

  for (const k of Object.keys(KINDS)) {
    it(`${k}: our file holds the prompt, as a ${CLASS[k]}, and mlx-lm reads it as one`, () => {
      expect(saved[k]!.tokens).toBe(p1.length);
      expect(saved[k]!.idsKnown).toBe(true);
      expect(saved[k]!.classes).toEqual([CLASS[k]]);
      expect(refOurs[k]!.classes).toEqual([CLASS[k]]);
      expect(refOurs[k]!.offset).toBe(p1.length + cont[k]!.promptTokens.length - p1.length + STEPS);
    });

    it(`${k}: our continuation reuses the saved prefix, and mlx-lm continues our file to the same tokens`, () => {
      // The longer prompt must start with the shorter one's ids for the reuse to be exact.
      expect(cont[k]!.promptTokens.slice(0, p1.length)).toEqual(p1);
      expect(cont[k]!.stats.reusedTokens).toBe(p1.length);
      expect(cont[k]!.tokens).toEqual(refOurs[k]!.tokens);
    });

    it(`${k}: our loadPromptCache of our file continues the same way`, () => {
      expect(reloaded[k]!.stats.reusedTokens).toBe(p1.length);
      expect(reloaded[k]!.tokens).toEqual(cont[k]!.tokens);
    });

    it(`${k}: mlx-lm's file loads (no ids: the prompt continues it) and gives mlx-lm's tokens`, () => {
      expect(made[Object.keys(KINDS).indexOf(k)]!.classes).toEqual([CLASS[k]]);
      expect(fromMlx[k]!.info).toMatchObject({ tokens: p1.length, idsKnown: false, classes: [CLASS[k]] });
      expect(fromMlx[k]!.info.metadata.model).toBe(dir);
      expect(fromMlx[k]!.result.tokens).toEqual(refMlx[k]!.tokens);
    });
  }

  describe("bad files", () => {
    let plain: GenerationResult;
    beforeAll(async () => {
      plain = await gen(PROMPT, { reusePrefix: false });
    }, 60_000);

    const expectWorks = async (): Promise<void> => {
      const again = await gen(PROMPT, { reusePrefix: true });
      expect(again.tokens).toEqual(plain.tokens);
    };

    it("a missing file: E_BAD_ARGUMENT naming it, then generation works", async () => {
      const f = join(tmp, "nope.safetensors");
      await expect(model.loadPromptCache(f)).rejects.toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringContaining(`there is no file "${f}"`) });
      await expectWorks();
    });

    it("a file that is not safetensors: E_BAD_ARGUMENT naming it, then generation works", async () => {
      const f = join(tmp, "garbage.safetensors");
      writeFileSync(f, "this is not a prompt cache");
      await expect(model.loadPromptCache(f)).rejects.toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringMatching(/"[^"]*garbage\.safetensors" is not a readable safetensors file/) });
      await expectWorks();
    });

    it("a truncated file: E_BAD_ARGUMENT naming it, then generation works", async () => {
      const f = join(tmp, "truncated.safetensors");
      const bytes = readFileSync(saved.plain!.file);
      writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expect(model.loadPromptCache(f)).rejects.toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringContaining("truncated.safetensors") });
      await expectWorks();
    });

    it("a safetensors file that is not a prompt cache (model weights): says so, then generation works", async () => {
      await expect(model.loadPromptCache(join(dir, "model.safetensors"))).rejects.toMatchObject({
        code: "E_BAD_ARGUMENT",
        message: expect.stringContaining("has no cache class names"),
      });
      await expectWorks();
    });

    it("kvBits 3: E_BAD_ARGUMENT naming the supported values, then generation works", async () => {
      await expect(gen(PROMPT, { kvBits: 3 })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringContaining("must be 4 or 8") });
      await expect(gen(PROMPT, { kvBits: 8, maxKvSize: 16 })).rejects.toMatchObject({ code: "E_BAD_ARGUMENT", message: expect.stringContaining("cannot be combined") });
      await expectWorks();
    });

    it("a kvGroupSize that does not divide the head dim: the generation fails saying so, then generation works", async () => {
      await expect(gen(PROMPT, { kvBits: 8, kvGroupSize: 64, quantizedKvStart: 0, reusePrefix: false })).rejects.toMatchObject({
        message: expect.stringContaining("does not divide this model's head dim (32)"),
      });
      await expectWorks();
    });
  });
});
