// The one default-model rule: the most recently loaded model still loaded, whether it came in through
// %load or session.load(), is what %%generate and session.generate()/stream() use.
// Real session, real engine, the tiny fixture models.
import { join } from "node:path";
import { types } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteOutcome } from "../../kernel/session/types.js";
import { ensureFixtures, FIXTURES, startHarness, type Harness } from "./magics-harness.js";

const LLAMA = join(FIXTURES, "llama-tiny-bf16");
const QWEN = join(FIXTURES, "qwen3-tiny-bf16");
let h: Harness;

const value = (o: ExecuteOutcome): string => {
  if (o.status !== "ok") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
  return String(o.result?.["text/plain"] ?? "");
};
const run = async (code: string): Promise<string> => value((await h.run(code)).outcome);

// Which loaded model produced the last %%generate and a session.generate(): told apart by their greedy
// tokens (the fixtures share a tokenizer, so prompt tokens would not tell).
const usedBy = `await (async () => {
  const opts = { raw: true, maxTokens: 6 };
  const mine = await session.generate("Hello there", opts);
  const refs = [];
  for (const m of session.models.values()) refs.push([m.name, JSON.stringify((await m.generate("Hello there", opts)).tokens)]);
  const owner = (r) => refs.filter(([, t]) => t === JSON.stringify(r.tokens)).map(([n]) => n).join("|");
  return owner(lastGeneration) + " " + owner(mine);
})()`;

beforeAll(async () => {
  ensureFixtures();
  h = await startHarness();
});
afterAll(async () => {
  await h?.shutdown();
});

describe("the default model", () => {
  it("session.load('b') then %load a: %%generate and session.generate() both use a", async () => {
    await run(`(await session.load(${JSON.stringify(LLAMA)}, { as: "b" })).name`);
    expect((await h.run(`%load ${QWEN} --as a`)).outcome.status).toBe("ok");
    expect((await h.run("%%generate --raw --max-tokens 6\nHello there")).outcome.status).toBe("ok");
    expect(await run(usedBy)).toBe("'a a'");
  });

  it("then session.load('b') again: both use b", async () => {
    await run(`(await session.load(${JSON.stringify(LLAMA)}, { as: "b" })).name`);
    expect((await h.run("%%generate --raw --max-tokens 6\nHello there")).outcome.status).toBe("ok");
    expect(await run(usedBy)).toBe("'b b'");
  });

  it("after unloading the default, the one loaded before it is the default for both", async () => {
    expect((await h.run("%unload b")).outcome.status).toBe("ok");
    expect((await h.run("%%generate --raw --max-tokens 6\nHello there")).outcome.status).toBe("ok");
    expect(await run(usedBy)).toBe("'a a'");
    expect(await run("session.engine.model().name")).toBe("'a'");
  });

  it("with nothing loaded, both say how to load one", async () => {
    expect((await h.run("%unload a")).outcome.status).toBe("ok");
    const viaMagic = (await h.run("%%generate\nHi")).outcome;
    const viaCode = (await h.run("await session.generate('Hi')")).outcome;
    for (const o of [viaMagic, viaCode]) {
      expect(o.status).toBe("error");
      if (o.status === "error") expect(o.evalue).toMatch(/none is loaded\. Load one first: `%load smollm2` or `await session\.load\("smollm2"\)`/);
    }
  });

  it("the session global is a plain object over the engine's own model map", () => {
    const g = h.session.globals.session as { models: unknown; engine: unknown };
    expect(types.isProxy(g)).toBe(false);
    expect(types.isProxy(g.engine)).toBe(false);
    expect(g.models).toBeInstanceOf(Map);
  });
});
