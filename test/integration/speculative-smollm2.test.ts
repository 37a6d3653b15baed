// Speculative decoding on the embedded SmolLM2 (the GGUF the package ships, Q4_1) with a 3-bit copy of
// itself as the draft (the engine's quantize, from the dequantized weights): greedy output equal to the
// target alone, and the acceptance rate printed. Few tokens: MLX's quantized matmuls are slow on this CPU.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import type { LoadedModel } from "../../kernel/engine/types.js";

let engine: MlxEngine;
let target: LoadedModel;

beforeAll(async () => {
  engine = createEngine();
  target = await engine.load("smollm2");
  const draft = await engine.load("smollm2", { as: "smol3" });
  const rep = await draft.quantize({ bits: 3, groupSize: 64 });
  expect(rep.bytesAfter).toBeLessThan(rep.bytesBefore);
}, 120_000);

afterAll(() => engine?.dispose());

describe("SmolLM2 with a 3-bit SmolLM2 draft", () => {
  it("gives the target's greedy tokens and reports an acceptance rate in 0..1", async () => {
    const opts = { maxTokens: 16, ignoreEos: true, reusePrefix: false, raw: true } as const;
    const prompt = "The capital of France is";
    const plain = await target.generate(prompt, opts);
    const spec = await target.generate(prompt, { ...opts, draft: "smol3", numDraft: 2 });
    expect(plain.tokens.length).toBe(16);
    expect(spec.tokens).toEqual(plain.tokens);
    expect(spec.text).toBe(plain.text);
    const s = spec.stats;
    expect(s.acceptanceRate).toBeGreaterThanOrEqual(0);
    expect(s.acceptanceRate).toBeLessThanOrEqual(1);
    expect(s.draftedTokens).toBeGreaterThan(0);
    console.log(
      `SmolLM2 Q4_1 + 3-bit draft, K=2: acceptance ${s.acceptanceRate!.toFixed(3)} (${s.acceptedTokens}/${s.draftedTokens}), ` +
        `${s.tokensPerTargetStep!.toFixed(2)} tokens/target step; ${s.generationTps.toFixed(2)} tok/s vs ${plain.stats.generationTps.toFixed(2)} tok/s alone (CPU)`,
    );
  }, 90_000);
});
