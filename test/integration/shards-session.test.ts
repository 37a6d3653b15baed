// A sharded model through the session's magics (the in-process harness, the kernel's own Session): %load
// --shards 2 --mode pipeline, %%generate with each rank's memory on the stats line, %models showing the
// spread and the rank pids, a reload after eviction that shards again, a rank stopped (SIGSTOP) mid-generation
// ending it with an error naming the rank, and %unload leaving no rank process.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteOutcome } from "../../kernel/session/types.js";
import { ensureFixtures, FIXTURES, startHarness, STATS_LINE, type Harness } from "./magics-harness.js";
import { childPids, waitGone } from "./shards-helpers.js";

let h: Harness & { engine: ReturnType<typeof import("../../kernel/engine/index.js").createEngine> };
const MODEL = join(FIXTURES, "qwen3-tiny-4bit");
const ok = (o: ExecuteOutcome): void => {
  if (o.status === "error") throw new Error(`cell failed: ${o.ename}: ${o.evalue}`);
};
const texts = (r: Awaited<ReturnType<Harness["run"]>>) => r.sink.outputs.map((b) => String(b["text/plain"] ?? "")).join("\n");
const rankPids = () => h.engine.models.get("s")?.info().shards?.ranks.map((r) => r.pid) ?? [];

beforeAll(async () => {
  ensureFixtures();
  process.env.MLX_TS_SHARD_STALL_MS = "5000"; // read when the watchdog ticks: a stopped rank is named within ~5 s
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  delete process.env.MLX_TS_SHARD_STALL_MS;
  await h?.shutdown();
});

describe("a sharded model in the session", () => {
  it("%load --shards 2, %%generate with per-rank memory, %models, reload after eviction, %unload", async () => {
    ok((await h.run(`%load ${MODEL} --as s --dtype f32 --shards 2 --mode pipeline`)).outcome);
    const pids = rankPids();
    expect(pids).toHaveLength(2);
    expect(childPids()).toEqual(expect.arrayContaining(pids));
    const gen = await h.run("%%generate --model s --max-tokens 8\nHello there");
    ok(gen.outcome);
    const stats = texts(gen).split("\n").find((t) => STATS_LINE.test(t));
    expect(stats).toMatch(/ranks: 0 [\d.]+ [KMG]?B peak, 1 [\d.]+ [KMG]?B peak/);
    const models = texts(await h.run("%models"));
    expect(models).toContain(`sharded: 2 ranks, pipeline over ring (pids ${pids.join(", ")})`);

    // evicted (the registry's eviction is engine.unload), then used again: it comes back sharded
    h.engine.unload("s");
    expect(await waitGone(pids)).toEqual([]);
    ok((await h.run("%%generate --model s --max-tokens 4\nAgain")).outcome);
    const again = rankPids();
    expect(again).toHaveLength(2);
    expect(h.engine.models.get("s")!.info().shards?.mode).toBe("pipeline");

    ok((await h.run("%unload s")).outcome);
    expect(await waitGone(again)).toEqual([]);
    expect(childPids().filter((p) => again.includes(p))).toEqual([]);
  }, 90_000);

  it("a rank stopped mid-generation ends it naming the rank within the stall time-out; the session stays usable", async () => {
    ok((await h.run(`%load ${MODEL} --as s --dtype f32 --shards 2`)).outcome);
    const pids = rankPids();
    const stop = setTimeout(() => process.kill(pids[1]!, "SIGSTOP"), 1500);
    const t0 = Date.now();
    const run = await h.run("%%generate --model s --max-tokens 100000\nTell me a long story");
    clearTimeout(stop);
    expect(run.outcome.status).toBe("error");
    if (run.outcome.status === "error") expect(run.outcome.evalue).toMatch(new RegExp(`rank 1 \\(pid ${pids[1]}\\) stalled`));
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await waitGone(pids)).toEqual([]);
    const after = await h.run("1 + 1");
    ok(after.outcome);
    ok((await h.run(`%load ${MODEL} --as p`)).outcome);
    ok((await h.run("%%generate --model p --max-tokens 3\nok")).outcome);
    ok((await h.run("%unload p")).outcome);
  }, 90_000);
});
