// The KV-cache flags of %%generate / %%chat and the session's prompt-cache functions, through a real
// session: bad values are refused naming what is allowed, %%chat turns reuse the prefix with every cache
// kind (a rotating cache that has wrapped prefills afresh), and a bad prompt-cache file leaves the session working.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteOutcome } from "../../kernel/session/index.js";
import { ensureFixtures, FIXTURES, startHarness, STATS_LINE, type Harness } from "./magics-harness.js";

const QWEN = join(FIXTURES, "qwen3-tiny-bf16");
const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-kv-magics-"));
let h: Harness;

const errorOf = (o: ExecuteOutcome): string => {
  if (o.status !== "error") throw new Error("expected an error, got ok");
  return o.evalue;
};
const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
/** the stats line of a %%generate / %%chat output, and the prompt tokens it says were reused */
const stats = (text: string): { line: string; reused: number; prompt: number } => {
  const line = text.split("\n").find((l) => STATS_LINE.test(l));
  if (!line) throw new Error(`no stats line in:\n${text}`);
  const m = /prompt: (\d+) tokens(?: \((\d+) reused\))?/.exec(line)!;
  return { line, prompt: Number(m[1]), reused: Number(m[2] ?? 0) };
};

beforeAll(async () => {
  ensureFixtures();
  h = await startHarness();
  ok((await h.run(`%load ${QWEN} --as q`)).outcome);
}, 60_000);

afterAll(async () => {
  await h?.shutdown();
});

describe("KV-cache flags", () => {
  it("--kv-bits 3, --kv-group-size 48, --max-kv-size 2 are refused naming what is allowed", async () => {
    expect(errorOf((await h.run("%%generate --kv-bits 3\nHello")).outcome)).toMatch(/--kv-bits must be one of 4, 8 \(got 3\)/);
    expect(errorOf((await h.run("%%chat --kv-group-size 48\nHello")).outcome)).toMatch(/--kv-group-size must be one of 32, 64, 128 \(got 48\)/);
    expect(errorOf((await h.run("%%generate --max-kv-size 2\nHello")).outcome)).toMatch(/--max-kv-size/);
    expect(errorOf((await h.run("%%generate --kv-bits 8 --max-kv-size 64\nHello")).outcome)).toMatch(/cannot be combined/);
    // and the session still generates
    const { outcome, sink } = await h.run("%%generate --max-tokens 4 --raw\nHello");
    ok(outcome);
    expect(stats(sink.text()).line).toMatch(/KV cache: [\d.]+ [KMG]?B/);
  });

  it("%%generate --kv-bits 8 shows a smaller KV cache than bf16 for the same generation", async () => {
    const bytes = (line: string): number => {
      const m = /KV cache: ([\d.]+) ([KMG]?)B/.exec(line)!;
      return Number(m[1]) * ({ "": 1, K: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2]!]!;
    };
    const bf16 = stats((await h.run("%%generate --max-tokens 8 --raw\nUnified memory")).sink.text());
    const q8 = stats((await h.run("%%generate --max-tokens 8 --raw --kv-bits 8 --kv-group-size 32 --quantized-kv-start 0\nUnified memory")).sink.text());
    expect(bytes(q8.line)).toBeLessThan(bytes(bf16.line));
  });

  for (const [kind, flags] of [
    ["bf16", ""],
    ["8-bit", "--kv-bits 8 --kv-group-size 32 --quantized-kv-start 0"],
    ["4-bit", "--kv-bits 4 --kv-group-size 32 --quantized-kv-start 0"],
    ["rotating, not yet wrapped", "--max-kv-size 256"],
  ] as const) {
    it(`%%chat turns reuse the prefix with a ${kind} cache`, async () => {
      ok((await h.run("%%chat --reset")).outcome);
      const first = await h.run(`%%chat --max-tokens 6 ${flags}\nName a colour.`);
      ok(first.outcome);
      const second = await h.run(`%%chat --max-tokens 6 ${flags}\nAnd another one?`);
      ok(second.outcome);
      const s = stats(second.sink.text());
      expect(s.reused).toBeGreaterThanOrEqual(stats(first.sink.text()).prompt);
    });
  }

  it("%%chat with a rotating cache that has wrapped prefills the next turn afresh (it cannot be trimmed)", async () => {
    ok((await h.run("%%chat --reset")).outcome);
    ok((await h.run("%%chat --max-tokens 6 --max-kv-size 8\nName a colour.")).outcome);
    const second = await h.run("%%chat --max-tokens 6 --max-kv-size 8\nAnd another one?");
    ok(second.outcome);
    const s = stats(second.sink.text());
    expect(s.reused).toBe(0);
  });
});

describe("session.savePromptCache / loadPromptCache", () => {
  it("saves the last generation's cache and loads it back; the next generation reuses it", async () => {
    const file = join(tmp, "c.safetensors");
    ok((await h.run("%%generate --max-tokens 4 --raw\nThe quick brown fox")).outcome);
    const saved = await h.run(`const saved = await session.savePromptCache("q", ${JSON.stringify(file)}); saved.tokens`);
    ok(saved.outcome);
    ok((await h.run("session.models.get('q')!.resetCache()")).outcome);
    ok((await h.run(`const loaded = await session.loadPromptCache("q", ${JSON.stringify(file)}); if (loaded.tokens !== saved.tokens || !loaded.idsKnown) throw new Error(JSON.stringify(loaded));`)).outcome);
    const again = await h.run("%%generate --max-tokens 4 --raw\nThe quick brown fox");
    ok(again.outcome);
    expect(stats(again.sink.text()).reused).toBeGreaterThan(0);
  });

  it("a corrupt file: the error names it, and the session keeps generating", async () => {
    const bad = join(tmp, "bad.safetensors");
    writeFileSync(bad, "\u0000\u0001 not safetensors");
    expect(errorOf((await h.run(`await session.loadPromptCache("q", ${JSON.stringify(bad)})`)).outcome)).toContain(bad);
    expect(errorOf((await h.run(`await session.loadPromptCache("q", ${JSON.stringify(join(tmp, "missing.safetensors"))})`)).outcome)).toMatch(/there is no file/);
    expect(errorOf((await h.run(`await session.loadPromptCache("nobody", ${JSON.stringify(bad)})`)).outcome)).toMatch(/nobody/);
    const { outcome } = await h.run("%%generate --max-tokens 4 --raw\nHello");
    ok(outcome);
  });
});
