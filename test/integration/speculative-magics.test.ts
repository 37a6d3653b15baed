// %%generate / %%chat --draft NAME [--num-draft K] through a real Session (the one the kernel runs) over
// the real engine: the speculative output equals the plain one, the stats line shows the acceptance rate,
// and bad flags give clear errors after which the session keeps working.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findMagic } from "../../kernel/magics/index.js";
import type { ExecuteOutcome, MimeBundle } from "../../kernel/session/types.js";
import { ensureFixtures, FIXTURES, startHarness, STATS_LINE, type Harness } from "./magics-harness.js";

let h: Harness;
const DRAFT_STATS = /\| draft: (\d+)\/(\d+) accepted \((\d+)%\), [\d.]+ tokens\/target step/;

const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
const errorOf = (o: ExecuteOutcome): string => {
  if (o.status !== "error") throw new Error("expected an error, got ok");
  return o.evalue;
};
const lastText = (bundles: MimeBundle[]): string => String(bundles[bundles.length - 1]?.["text/plain"] ?? "");
async function value(code: string): Promise<string> {
  const { outcome } = await h.run(code);
  if (outcome.status !== "ok") throw new Error(`cell failed: ${outcome.status === "error" ? outcome.evalue : outcome.status}`);
  return String(outcome.result?.["text/plain"] ?? "");
}

beforeAll(async () => {
  ensureFixtures();
  h = await startHarness();
  ok((await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as big`)).outcome);
  // The same weights in float32: most proposals are accepted, not all.
  ok((await h.run(`%load ${join(FIXTURES, "qwen3-tiny-bf16")} --as small --dtype f32`)).outcome);
}, 120_000);

afterAll(async () => {
  await h?.shutdown();
});

describe("%%generate --draft", () => {
  it("gives the plain output token for token and shows the acceptance rate in the stats line", async () => {
    const prompt = "Tell me about the sea.";
    const plain = await h.run(`%%generate --model big --max-tokens 32\n${prompt}`);
    ok(plain.outcome);
    expect(lastText(plain.sink.outputs)).toMatch(STATS_LINE);
    expect(lastText(plain.sink.outputs)).not.toMatch(/draft:/);
    const plainTokens = await value("lastGeneration.tokens.join(',')");
    expect(plainTokens.split(",").length).toBeGreaterThan(0);

    const spec = await h.run(`%%generate --model big --max-tokens 32 --draft small --num-draft 3\n${prompt}`);
    ok(spec.outcome);
    const line = lastText(spec.sink.outputs);
    expect(line).toMatch(STATS_LINE);
    const m = DRAFT_STATS.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(Number(m![2]));
    console.log(`%%generate --draft small: ${m![0]}`);
    // the HTML view highlights what the accepted proposals released; the plain view shows none
    const html = String(spec.sink.outputs[spec.sink.outputs.length - 1]?.["text/html"] ?? "");
    if (Number(m![1]) > 0) expect(html).toContain('class="mlx-ts-drafted"');
    expect(String(plain.sink.outputs[plain.sink.outputs.length - 1]?.["text/html"] ?? "")).not.toContain("mlx-ts-drafted");
    expect(await value("lastGeneration.tokens.join(',')")).toBe(plainTokens);
    expect(await value("const r = lastGeneration.stats.acceptanceRate ?? -1; r >= 0 && r <= 1")).toBe("true");
  }, 60_000);

  it("%%chat takes --draft too", async () => {
    const { outcome, sink } = await h.run("%%chat --model big --max-tokens 8 --draft small\nHello there.");
    ok(outcome);
    expect(lastText(sink.outputs)).toMatch(DRAFT_STATS);
  });

  it("bad flags and drafts say what is wrong; the session keeps working", async () => {
    expect(errorOf((await h.run("%%generate --model big --draft small --num-draft 0\nHi")).outcome)).toMatch(/--num-draft/);
    expect(errorOf((await h.run("%%generate --model big --num-draft 2\nHi")).outcome)).toMatch(/--num-draft K needs --draft NAME/);
    expect(errorOf((await h.run("%%generate --model big --draft nope\nHi")).outcome)).toMatch(/draft model nope is not loaded \(loaded: big, small\)/);
    expect(errorOf((await h.run("%%generate --model big --draft big\nHi")).outcome)).toMatch(/is the target model itself/);
    const after = await h.run("%%generate --model big --max-tokens 4\nHi");
    ok(after.outcome);
    expect(lastText(after.sink.outputs)).toMatch(STATS_LINE);
  });

  it("--draft completes model names and is in the help", async () => {
    expect(findMagic("cell", "generate")?.complete?.("--draft s", ["big", "small"])).toEqual(["small"]);
    const { sink } = await h.run("%%generate --help");
    expect(sink.stdout).toMatch(/--draft NAME/);
    expect(sink.stdout).toMatch(/--num-draft K/);
  });
});
