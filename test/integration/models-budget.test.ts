// Several models under one memory budget, through a real Session over the real engine and MLX (CPU
// here): a registry file with a bad entry, loads and evictions in priority-then-LRU order, reloads on
// demand, MLX memory after an eviction, a model larger than the budget, eviction attempts during a
// generation, routing with fallback, two models generating at once, and the estimates against MLX.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryOf, type ModelRegistry } from "../../kernel/engine/registry.js";
import { TABLE_MIME, type TableData } from "../../kernel/display/mime.js";
import type { ExecuteOutcome } from "../../kernel/session/types.js";
import { ensureFixtures, FIXTURES, startHarness, type Harness, type RecordingSink } from "./magics-harness.js";

let h: Harness & { engine: import("../../kernel/engine/engine.js").MlxEngine };
let reg: ModelRegistry;
const tmp = mkdtempSync(join(tmpdir(), "mlx-ts-budget-"));
// big (priority 1) > mid > small; big and mid share the role "reason"; small is the chat model and big's fallback.
const BIG = join(FIXTURES, "qwen3-tiny-bf16");
const MID = join(FIXTURES, "llama-tiny-4bit");
const SMALL = join(FIXTURES, "qwen3-tiny-4bit");
const size: Record<string, number> = {};

const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
const errorOf = (o: ExecuteOutcome): string => {
  if (o.status !== "error") throw new Error("expected the cell to fail, it succeeded");
  return o.evalue;
};
async function cell(code: string): Promise<RecordingSink> {
  const { outcome, sink } = await h.run(code);
  ok(outcome);
  return sink;
}
/** The JSON a cell printed with console.log(JSON.stringify(...)) on its last stdout line. */
async function json<T>(code: string): Promise<T> {
  const sink = await cell(code);
  const lines = sink.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}
const resident = (): string[] => [...h.engine.models.keys()].sort();
async function unloadAll(): Promise<void> {
  for (const n of resident()) await cell(`%unload ${n}`);
}
/** A cell snippet that waits (at most 5 s) until NAME is generating. */
const untilGenerating = (name: string): string =>
  `for (let i = 0; i < 500 && !(await session.models.list()).find((x) => x.name === "${name}")?.generating; i++) await new Promise((r) => setTimeout(r, 10));`;

beforeAll(async () => {
  ensureFixtures();
  h = (await startHarness()) as typeof h;
  reg = registryOf(h.engine);
  writeFileSync(join(tmp, "models.json"), JSON.stringify({ models: [
    { name: "big", path: BIG, role: "reason", priority: 1, context: 256, fallback: "small" },
    { name: "mid", path: MID, role: "reason", context: 256 },
    { name: "ghost", path: "./no-such-model-dir", role: "reason" },
    { name: "small", path: SMALL, role: "chat", context: 256 },
  ] }));
});

afterAll(async () => {
  await h?.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

describe("a registry file and a budget that fits two of three models", () => {
  it("registers the good entries and reports the bad one by index and name", async () => {
    const { outcome, sink } = await h.run(`%register --from ${join(tmp, "models.json")}`);
    ok(outcome);
    const err = sink.events.filter((e) => e.kind === "stream" && e.name === "stderr").map((e) => (e as { text: string }).text).join("");
    expect(err).toContain("Registered 3 models");
    expect(err).toContain("skipped entry 2 (ghost)");
    expect(err).toContain("does not exist");
    expect(reg.registrations.map((r) => r.name).sort()).toEqual(["big", "mid", "small"]);
    expect(resident()).toEqual([]);
    for (const n of ["big", "mid", "small"]) size[n] = (await reg.estimatedCharge(n)).total;
    expect(size.big).toBeGreaterThan(size.mid!);
    expect(size.mid).toBeGreaterThan(size.small!);
  });

  it("%models lists registered models that are not resident, with estimated bytes and the budget's basis", async () => {
    const sink = await cell("%models");
    const t = sink.outputs[0]![TABLE_MIME] as TableData;
    expect(t.columns).toEqual(["name", "architecture", "quantization", "role", "priority", "resident", "weight bytes", "KV bytes", "charged", "context", "last used", "generations"]);
    expect(t.rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5]])).toEqual([
      ["big", "qwen3", "none", "reason", "1", "no"], ["mid", "llama", "4-bit, group 64", "reason", "0", "no"], ["small", "qwen3", "4-bit, group 64", "chat", "0", "no"],
    ]);
    expect(t.rows[0]![6]).toMatch(/MB \(est\.\)/);
    expect(String(sink.outputs[0]!["text/plain"])).toMatch(/Model budget .* \(75% of RAM \(CPU backend\)\)/);
  });

  it("loads on first use, then evicts the lowest priority before the least recently used", async () => {
    const budget = size.big! + size.mid! + Math.floor(size.small! / 2);
    await cell(`%limit models ${budget}`);
    expect(reg.budget).toBe(budget);

    let s = await cell("%%generate --model big --max-tokens 4\nHello");
    expect(s.text()).toContain("big was loaded for this");
    await cell("%%generate --model mid --max-tokens 4\nHello");
    expect(resident()).toEqual(["big", "mid"]);

    // big is the least recently used, but its priority is higher: mid goes.
    s = await cell("%%generate --model small --max-tokens 4\nHello");
    expect(s.text()).toContain("evicting mid");
    expect(resident()).toEqual(["big", "small"]);

    // Equal priorities: the least recently used goes.
    await cell("%unload big");
    await cell("%%generate --model mid --max-tokens 4\nHello");
    await cell("%%generate --model small --max-tokens 4\nHello");
    expect(resident()).toEqual(["mid", "small"]);
    s = await cell("%%generate --model big --max-tokens 4\nHello");
    expect(s.text()).toContain("evicting mid");
    expect(resident()).toEqual(["big", "small"]);
    const rows = await reg.rows();
    expect(rows.find((r) => r.name === "small")!.generations).toBe(2);
    expect(rows.find((r) => r.name === "mid")!.resident).toBe(false);
  });

  it("a reload on demand shows the progress bar, then the model card", async () => {
    const s = await cell("%%generate --model mid --max-tokens 4\nHello");
    const texts = s.events.filter((e) => e.kind === "display" || e.kind === "update").map((e) => String((e as { data: Record<string, unknown> }).data["text/plain"]));
    expect(texts[0]).toMatch(/^\[[#.]+\] loading .*llama-tiny-4bit/);
    expect(texts.some((t) => t.startsWith("mid — loaded in") && t.includes("reloaded on demand"))).toBe(true);
  });

  it("an evicted model's memory goes back: MLX active memory falls by its weights and the cache keeps none of it", async () => {
    await unloadAll();
    await cell("%limit models 100GB");
    await cell("%%generate --model big --max-tokens 4\nHello");
    await cell("%%generate --model mid --max-tokens 4\nHello");
    h.engine.clearCache();
    const before = h.engine.memory().active;
    const midWeights = h.engine.get("mid").info().weightBytes;
    // room for big and small, not mid besides: using small evicts mid (priority 0 < big's 1)
    await cell(`%limit models ${size.big! + size.small! + 1000}`);
    const s = await cell("%%generate --model small --max-tokens 1\nHi");
    expect(s.text()).toContain("evicting mid");
    const after = h.engine.memory();
    const smallWeights = h.engine.get("small").info().weightBytes;
    // what it was, less mid's weights, plus small's (its KV cache and scratch are small beside them)
    expect(after.active).toBeLessThan(before - midWeights + smallWeights + 0.1 * midWeights);
    expect(after.active).toBeLessThan(before);
    expect(after.cache).toBeLessThan(0.1 * midWeights);
  });

  it("a model larger than the whole budget: a clear error in human units, and nothing is evicted", async () => {
    await cell(`%limit models ${Math.floor(size.big! / 2)}`);
    if (h.engine.models.has("big")) await cell("%unload big");
    const held = resident();
    const msg = errorOf((await h.run("%%generate --model big --max-tokens 4\nHello")).outcome);
    expect(msg).toMatch(/big does not fit in the model budget: it needs about \d+(\.\d+)? MB \(weights \d+(\.\d+)? MB \+ KV cache \d+(\.\d+)? (MB|KB) at 256 tokens\) and the whole budget is \d+(\.\d+)? MB/);
    expect(msg).toContain("%limit models");
    expect(resident()).toEqual(held);
  });
});

describe("eviction during a generation", () => {
  it("is refused after the time-out, and the generation runs to its end", async () => {
    await unloadAll();
    await cell(`%limit models ${size.big! + size.mid! + 1000}`);
    await cell("%%generate --model big --max-tokens 2\nHi");
    await cell(`%limit models ${size.big! + Math.floor(size.small! / 2)}`);
    const r = await json<{ err: string; stop: string; n: number; generatingAtEnsure: boolean }>(`
      session.models.evictWaitMs = 300;
      const g = session.generate("Count to a thousand.", { model: "big", maxTokens: 120, ignoreEos: true });
      ${untilGenerating("big")}
      const generatingAtEnsure = (await session.models.list()).find((x) => x.name === "big")?.generating;
      let err = "";
      try { await session.models.ensure("small"); } catch (e) { err = (e as Error).message; }
      const res = await g;
      console.log(JSON.stringify({ err, stop: res.stats.stopReason, n: res.tokens.length, generatingAtEnsure }));
    `);
    expect(r.generatingAtEnsure).toBe(true);
    expect(r.err).toMatch(/Cannot load small .* generating: big .*never evicted; waited 0 s/);
    expect(r.stop).toBe("length");
    expect(r.n).toBe(120);
    expect(resident()).toEqual(["big"]);
  });

  it("waits for the generation when the time-out allows, then evicts and loads", async () => {
    const r = await json<{ stop: string; n: number; residentAfter: string[] }>(`
      session.models.evictWaitMs = 120000;
      const g = session.generate("Count to a thousand.", { model: "big", maxTokens: 40, ignoreEos: true });
      ${untilGenerating("big")}
      await session.models.ensure("small");
      const res = await g;
      console.log(JSON.stringify({ stop: res.stats.stopReason, n: res.tokens.length, residentAfter: [...session.models.keys()].sort() }));
    `);
    expect(r).toEqual({ stop: "length", n: 40, residentAfter: ["small"] });
  });
});

describe("routing", () => {
  it("the role's first choice, then the best smaller model, then the stated fallback, then a clear error", async () => {
    await unloadAll();
    await cell(`%limit models ${size.big! + size.small! + 1000}`);
    let s = await cell("%%generate --task reason --max-tokens 4\nWhy?");
    expect(s.text()).toContain("answered by big (role reason: big is its first choice)");

    await unloadAll();
    await cell(`%limit models ${size.mid! + 1000}`);
    s = await cell("%%generate --task reason --max-tokens 4\nWhy?");
    expect(s.text()).toMatch(/answered by mid \(role reason: big \([\d.]+ MB\) does not fit in the budget; mid \([\d.]+ MB\) is the best smaller model of the role\)/);

    // a resident model answers whatever the budget now says, so start from none resident
    await unloadAll();
    await cell(`%limit models ${size.small! + 1000}`);
    const routed = await json<{ name: string; reason: string; answeredBy: { model: string; reason: string } }>(`
      const r = await session.models.explainRoute("reason");
      const g = await session.generate("Why?", { task: "reason", maxTokens: 4 });
      console.log(JSON.stringify({ ...r, answeredBy: g.answeredBy }));
    `);
    expect(routed.name).toBe("small");
    expect(routed.reason).toContain("small is its stated fallback");
    expect(routed.answeredBy.model).toBe("small");
    expect(resident()).toEqual(["small"]);

    await unloadAll();
    await cell(`%limit models ${Math.floor(size.small! / 2)}`);
    expect(errorOf((await h.run("%%generate --task reason\nWhy?")).outcome)).toMatch(/No model for the role "reason" fits in the budget of [\d.]+ MB \(big [\d.]+ MB, mid [\d.]+ MB, small [\d.]+ MB\)/);
    expect(errorOf((await h.run("%%generate --task poetry\nWhy?")).outcome)).toMatch(/No registered model has the role "poetry" \(roles: reason, chat\)/);
  });

  it("session.route resolves to the resident model", async () => {
    await cell(`%limit models ${size.big! + size.small! + 1000}`);
    const r = await json<{ name: string; resident: boolean }>(`
      const m = await session.route("reason");
      console.log(JSON.stringify({ name: m.name, resident: session.models.has(m.name) }));
    `);
    expect(r).toEqual({ name: "big", resident: true });
  });
});

describe("two models generating at once", () => {
  it("give the same tokens as one at a time", async () => {
    await cell(`%limit models ${size.big! + size.mid! + size.small!}`);
    const r = await json<{ same: boolean; a: number; b: number }>(`
      await session.models.ensure("big"); await session.models.ensure("mid");
      const o = { maxTokens: 8, reusePrefix: false };
      const a1 = await session.generate("Tell me about memory.", { model: "big", ...o });
      const b1 = await session.generate("Tell me about memory.", { model: "mid", ...o });
      const [a2, b2] = await Promise.all([
        session.generate("Tell me about memory.", { model: "big", ...o }),
        session.generate("Tell me about memory.", { model: "mid", ...o }),
      ]);
      console.log(JSON.stringify({ same: JSON.stringify(a1.tokens) === JSON.stringify(a2.tokens) && JSON.stringify(b1.tokens) === JSON.stringify(b2.tokens), a: a2.tokens.length, b: b2.tokens.length }));
    `);
    expect(r).toEqual({ same: true, a: 8, b: 8 });
  });
});

describe("registration from code, %fit, %memory and the estimates", () => {
  it("session.models.register and %load register; estimates match what MLX holds", async () => {
    await cell("%limit models 100GB");
    await cell(`await session.models.register({ name: "big8", path: ${JSON.stringify(join(FIXTURES, "qwen3-tiny-8bit"))}, role: "reason", priority: -1 })`);
    await cell("%load smollm2 --role chat --priority 2");
    expect(reg.registration("smollm2")).toMatchObject({ role: "chat", priority: 2 });
    for (const n of ["big8", "smollm2", "big", "mid", "small"]) {
      const est = await reg.estimate(n);
      await cell(`await session.models.ensure("${n}")`);
      const measured = h.engine.get(n).info().weightBytes;
      expect(Math.abs(est.weightBytes - measured) / measured, n).toBeLessThan(0.02);
    }
  });

  it("%fit prints 16/8/4 bits × 4k/32k against the budget", async () => {
    await cell("%limit models 60MB");
    const s = await cell("%fit big");
    const t = s.outputs[0]![TABLE_MIME] as TableData;
    expect(t.columns).toEqual(["bits", "context", "weights", "KV cache", "total", "fits 60.0 MB"]);
    expect(t.rows.map((r) => `${r[0]}/${r[1]}`)).toEqual(["16/4k", "16/32k", "8/4k", "8/32k", "4/4k", "4/32k"]);
    expect(t.rows.map((r) => r[5])).toContain("yes");
    expect(t.rows.map((r) => r[5])).toContain("no");
  });

  it("%memory shows each resident model's weights and KV, and a chart", async () => {
    const s = await cell("%memory");
    const per = s.outputs[1]![TABLE_MIME] as TableData;
    expect(per.columns).toEqual(["model", "weights", "KV cache", "charged", "share of budget"]);
    expect(per.rows.map((r) => r[0]).slice(0, -1).sort()).toEqual(resident());
    expect(per.rows[per.rows.length - 1]![0]).toBe("(all resident)");
    expect(s.outputs[2]!["application/vnd.vegalite.v5+json"]).toBeDefined();
    expect(per.rows.find((r) => r[0] === "big")![2]).not.toBe("0 B"); // big generated since it was loaded
    expect(per.rows.find((r) => r[0] === "big8")![2]).toBe("0 B"); // big8 never generated
  });
});
