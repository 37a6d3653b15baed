// One parity suite per checkpoint: our engine against mlx-lm on the same files, same MLX build.
//   - the raw prompt tokenizes to the same ids
//   - 32 greedy tokens in the checkpoint's own dtype are the same ids
//   - 32 greedy tokens in float32 are the same ids
//   - last-position logits in float32 agree within 1e-3 relative (max |a-b| / max |b|)
//   - with small prefill chunks (several prefill steps) greedy tokens still match
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { GenerationResult, LoadedModel } from "../../kernel/engine/types.js";
import { compareGreedy, fixture, mlxlmReference, relativeError, type Reference } from "./reference.js";

export const PROMPT = "The quick brown fox jumps over the lazy dog. In 1969, Apollo 11 landed on the Moon;";
export const LONG_PROMPT =
  "Unified memory lets the CPU and the GPU read the same buffers without copies. " +
  "A language model's weights are loaded once, and every generation step reads them again: " +
  "prefill processes the prompt in chunks, decode produces one token at a time, and the key-value " +
  "cache grows by one position per token. Quantized weights cut the bytes read per step.";
export const STEPS = 32;
export const LOGITS_TOLERANCE = 1e-3;
const CHUNK = 16;
const CHUNKED_STEPS = 16;

export function eosIds(dir: string): number[] {
  const gen = JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8")) as { eos_token_id: number | number[] };
  return Array.isArray(gen.eos_token_id) ? gen.eos_token_id : [gen.eos_token_id];
}

export function greedy(model: LoadedModel, prompt: string, maxTokens: number, prefillStepSize?: number): Promise<GenerationResult> {
  return model.generate(prompt, {
    raw: true,
    maxTokens,
    temperature: 0,
    reusePrefix: false,
    ...(prefillStepSize === undefined ? {} : { prefillStepSize }),
  });
}

export interface ParityOptions {
  /**
   * false when mlx-lm cannot run this checkpoint in its own dtype on this backend (MLX's CPU GatherMM is
   * float32-only, so an unquantized bf16 MoE runs only on a GPU): the checks in the checkpoint's dtype,
   * chunked prefill included, are skipped and the float32 ones still run.
   */
  nativeDtype?: boolean;
}

export function parityFor(name: string, opts: ParityOptions = {}): void {
  const native = opts.nativeDtype ?? true;
  describe(`${name}: our engine vs mlx-lm`, () => {
    const dir = fixture(name);
    const eos = eosIds(dir);
    let engine: MlxEngine;
    let nativeModel: LoadedModel;
    let f32: LoadedModel;
    let ours: GenerationResult;
    let oursF32: GenerationResult;
    let ref: Reference;
    let chunked: GenerationResult;
    let promptIds: number[];
    let longIds: number[];

    beforeAll(async () => {
      engine = createEngine();
      nativeModel = await engine.load(dir, { as: `${name}-native` });
      f32 = await engine.load(dir, { as: `${name}-f32`, dtype: "float32" });
      // The reference runs on our prompt ids so that a tokenizer difference cannot hide as a model one.
      // mlx-lm's process runs while our generations do (the two take about as long on a 2-core box).
      promptIds = nativeModel.tokenize(PROMPT);
      longIds = nativeModel.tokenize(LONG_PROMPT);
      const reference = mlxlmReference({
        model: dir,
        prompt: promptIds,
        steps: native ? STEPS : 0,
        f32Steps: STEPS,
        logits: true,
        encode: PROMPT,
        ...(native ? { extra: { ids: longIds, steps: CHUNKED_STEPS, prefillStepSize: CHUNK } } : {}),
      });
      reference.catch(() => undefined);
      ours = await greedy(nativeModel, PROMPT, STEPS);
      oursF32 = await greedy(f32, PROMPT, STEPS);
      if (native) chunked = await greedy(nativeModel, LONG_PROMPT, CHUNKED_STEPS, CHUNK);
      ref = await reference;
    });

    afterAll(() => {
      engine?.dispose();
    });

    it("tokenizes the raw prompt as mlx-lm does", () => {
      expect(ours.promptTokens.length).toBeGreaterThan(10);
      expect(ours.promptTokens).toEqual(ref.encoded);
      expect(oursF32.promptTokens).toEqual(ours.promptTokens);
      expect(ours.promptTokens).toEqual(promptIds); // what the reference was given
      if (native) expect(chunked.promptTokens).toEqual(longIds);
    });

    it.skipIf(!native)(`gives mlx-lm's ${STEPS} greedy tokens in the checkpoint's dtype`, () => {
      expect(ours.tokens.length).toBeGreaterThan(0);
      const c = compareGreedy(ours.tokens, ref.tokens, ref.margins, eos);
      expect(c.detail).toBe("");
      expect(c.compared).toBeGreaterThan(0);
      // Random weights must not collapse to one repeated id, or equality would prove little.
      expect(new Set(ref.tokens).size).toBeGreaterThan(1);
    });

    it(`gives mlx-lm's ${STEPS} greedy tokens in float32`, () => {
      const c = compareGreedy(oursF32.tokens, ref.tokensF32, ref.marginsF32, eos);
      expect(c.detail).toBe("");
      expect(c.compared).toBeGreaterThan(0);
    });

    it(`agrees on the last-position logits within ${LOGITS_TOLERANCE} relative, in float32`, async () => {
      const logits = await f32.logits(ours.promptTokens);
      expect(ref.logits).not.toBeNull();
      const r = ref.logits as Float32Array;
      expect(logits.length).toBe(r.length);
      const err = relativeError(logits, r);
      expect(err, `max|ours - mlx-lm| / max|mlx-lm| = ${err}`).toBeLessThan(LOGITS_TOLERANCE);
    });

    it.skipIf(!native)(`gives mlx-lm's greedy tokens when the prompt is prefilled in chunks of ${CHUNK}`, () => {
      expect(chunked.promptTokens.length).toBeGreaterThan(3 * CHUNK);
      expect(ref.extra).not.toBeNull();
      const r = ref.extra as NonNullable<Reference["extra"]>;
      const c = compareGreedy(chunked.tokens, r.tokens, r.margins, eos);
      expect(c.detail).toBe("");
      expect(c.compared).toBeGreaterThan(0);
    });
  });
}
