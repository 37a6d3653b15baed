// Tensor-parallel ranks in the checkpoint's own dtype (bf16): the split o/down
// sums round differently from one process's whole matmul (as mlx-lm's ShardedToAllLinear does), so greedy
// tokens are compared up to the first near-tie of the single process's own logits (test/gpu/gpu.ts's
// compareUntilTie): every step before it must be equal, and there must be at least 5 such steps over the
// prompts. 4-bit in bf16 parts from the single process earlier, as mlx-lm's own 2-rank run does: it is
// compared with that run instead (test/parity/shards-mlxlm.test.ts).
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { compareUntilTie } from "../gpu/gpu.js";
import { waitGone } from "./shards-helpers.js";

const FIXTURES = resolve("test/.fixtures/models");
const PROMPTS = ["The quick brown fox", "Once upon a time", "Write a haiku about rain"];
// top-1 minus top-2 logit under which bf16 rounding may flip the order: 2 bf16 ulps at these logits' size
const TIE = 0.25;
let engine: MlxEngine;

beforeAll(() => {
  engine = createEngine();
});

afterAll(() => engine?.dispose());

/** For each generated step: the single process's argmax and its top-1 minus top-2 margin. */
function topTwo(logits: Float32Array, rows: number): { arg: number[]; margin: number[] } {
  const v = logits.length / rows;
  const arg: number[] = [];
  const margin: number[] = [];
  for (let r = 0; r < rows; r++) {
    let a = -Infinity, b = -Infinity, ai = -1;
    for (let i = r * v; i < (r + 1) * v; i++) {
      const x = logits[i]!;
      if (x > a) { b = a; a = x; ai = i - r * v; } else if (x > b) b = x;
    }
    arg.push(ai);
    margin.push(a - b);
  }
  return { arg, margin };
}

describe("tensor-parallel over 2 ranks in the checkpoint's dtype, up to the first near-tie", () => {
  for (const [fixture, steps] of [["qwen3-tiny-bf16", 16], ["llama-tiny-bf16", 16]] as const) {
    it(`${fixture}: greedy tokens equal the single process's up to its first margin under ${TIE}, 5 steps or more over 3 prompts`, async () => {
      const dir = join(FIXTURES, fixture);
      const one = await engine.load(dir, { as: "one" });
      const two = await engine.load(dir, { as: "two", shards: 2 });
      const opts = { maxTokens: steps, temperature: 0, ignoreEos: true };
      let checked = 0;
      for (const PROMPT of PROMPTS) {
        const a = await one.generate(PROMPT, opts);
        const b = await two.generate(PROMPT, opts);
        // the prompt's ids as the generation built them (chat template included)
        const prompt = (one as unknown as { promptTokens(p: string, o: object): { tokens: number[] } }).promptTokens(PROMPT, opts).tokens;
        const ids = [...prompt, ...a.tokens.slice(0, -1)];
        const { arg, margin } = topTwo(await one.logits(ids, { positions: steps }), steps);
        // the margins are those of the steps generated: the single process's argmax is its own token there
        const self = compareUntilTie(a.tokens, arg, margin, TIE);
        expect(self.firstDiff, self.detail).toBe(-1);
        const cmp = compareUntilTie(b.tokens, a.tokens, margin, TIE);
        expect(cmp.firstDiff, cmp.detail).toBe(-1);
        checked += cmp.checked;
      }
      expect(checked).toBeGreaterThanOrEqual(5);
      const pids = two.info().shards!.ranks.map((r) => r.pid);
      engine.unload("two");
      engine.unload("one");
      expect(await waitGone(pids)).toEqual([]);
    }, 120_000);
  }
});
