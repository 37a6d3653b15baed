// Faults of a sharded model, with real rank processes: a rank killed mid-generation, a rank that never
// joins, a port already taken, a hosts file that is not JSON. Each ends with an error naming the rank or
// the file, no rank left running, and an engine that still loads and generates.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type MlxEngine } from "../../kernel/engine/index.js";
import { childPids, drainKillingAtFirstToken, waitGone } from "./shards-helpers.js";

const MODEL = resolve("test/.fixtures/models/qwen3-tiny-4bit");
const tmp = mkdtempSync(join(tmpdir(), "shards-faults-"));
let engine: MlxEngine;

beforeAll(() => {
  engine = createEngine();
});

afterAll(() => {
  engine?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function stillWorks(): Promise<void> {
  const m = await engine.load(MODEL, { as: "plain" });
  const r = await m.generate("ok", { maxTokens: 4, ignoreEos: true });
  expect(r.tokens.length).toBe(4);
  engine.unload("plain");
}

describe("sharded model faults", () => {
  it("a rank killed mid-generation ends it with an error naming the rank; no rank is left", async () => {
    const m = await engine.load(MODEL, { as: "two", shards: 2 });
    const pids = m.info().shards!.ranks.map((r) => r.pid);
    const s = m.stream("Tell me a long story", { maxTokens: 100_000, ignoreEos: true });
    const drained = drainKillingAtFirstToken(s, pids[1]!);
    await expect(drained).rejects.toThrow(/rank 1 \(pid \d+\) was killed \(SIGKILL\)/);
    expect(await waitGone(pids)).toEqual([]);
    await expect(m.generate("again", { maxTokens: 2 })).rejects.toThrow(/rank 1/);
    engine.unload("two");
    await stillWorks();
  });

  it("a rank that never joins times out naming it; no rank is left", async () => {
    const before = new Set(childPids());
    const load = engine.load(MODEL, { as: "stuck", shards: 2, shardTimeoutMs: 6000 });
    // Stop rank 1 as soon as it exists: a real process that never gets to join the ring.
    let stopped: number | undefined;
    const t0 = Date.now();
    while (stopped === undefined && Date.now() - t0 < 5000) {
      const fresh = childPids().filter((p) => !before.has(p)).sort((a, b) => a - b);
      if (fresh.length >= 2) {
        stopped = fresh[1]!;
        process.kill(stopped, "SIGSTOP");
      } else await new Promise((r) => setTimeout(r, 5));
    }
    expect(stopped).toBeDefined();
    await expect(load).rejects.toThrow(/timed out after 6 s: rank 1 never started to join/);
    expect(await waitGone(childPids().filter((p) => !before.has(p)))).toEqual([]);
    expect(engine.models.has("stuck")).toBe(false);
    await stillWorks();
  });

  it("a port already taken is refused naming the rank and the address", async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen({ host: "127.0.0.1", port: 0 }, () => r()));
    const port = (srv.address() as { port: number }).port;
    const hosts = join(tmp, "taken.json");
    writeFileSync(hosts, JSON.stringify([[`127.0.0.1:${port}`], [`127.0.0.1:${port + 1}`]]));
    const before = new Set(childPids());
    await expect(engine.load(MODEL, { as: "taken", shards: 2, hosts })).rejects.toThrow(new RegExp(`Rank 0 cannot listen on 127.0.0.1:${port}: the port is already in use`));
    srv.close();
    expect(await waitGone(childPids().filter((p) => !before.has(p)))).toEqual([]);
    await stillWorks();
  });

  it("a hosts file that is not JSON, or of the wrong size, is refused naming the file", async () => {
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "127.0.0.1:5000\n127.0.0.1:5001\n");
    await expect(engine.load(MODEL, { as: "bad", shards: 2, hosts: bad })).rejects.toThrow(new RegExp(`hosts file ${bad} is not JSON`));
    const three = join(tmp, "three.json");
    writeFileSync(three, JSON.stringify([["127.0.0.1:1"], ["127.0.0.1:2"], ["127.0.0.1:3"]]));
    await expect(engine.load(MODEL, { as: "bad", shards: 2, hosts: three })).rejects.toThrow(/lists 3 ranks but --shards is 2/);
    await stillWorks();
  });
});
