// The language-service worker runs under a heap limit (so the churn of a new program per cell cannot
// grow it); a worker whose live heap nears the limit is replaced by one with a larger limit, and one that
// runs out of memory is started again with twice the limit. Either way the new worker knows every
// earlier cell, and nothing asked of the old one is lost.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HEAP_LIMIT_MB, LanguageServiceClient } from "../../kernel/session/ls-client.js";

const root = resolve(import.meta.dirname, "..", "..");
const clients: LanguageServiceClient[] = [];
const client = (heapLimitMb: number) => {
  const c = new LanguageServiceClient(mkdtempSync(`${tmpdir()}/mlx-ts-ls-`), root, { heapLimitMb });
  clients.push(c);
  return c;
};
afterAll(() => Promise.all(clients.map((c) => c.close())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cellsSurvive(c: LanguageServiceClient, until: () => boolean): Promise<void> {
  c.addCell("const early: number = 41");
  const checks: Promise<unknown>[] = [];
  for (let i = 0; i < 60; i++) {
    const code = `const v${i % 7} = ${i} + early`;
    // every few cells one is asked while the next is still pending, as a busy notebook does
    const check = c.diagnostics(code);
    if (i % 5 === 0) checks.push(check);
    else expect(await check).toEqual([]);
    c.addCell(code);
  }
  expect(await Promise.all(checks)).toEqual(checks.map(() => []));
  for (let i = 0; i < 600 && !until(); i++) await sleep(100);
  expect(until()).toBe(true);
  c.addCell("const late = 'x'");
  expect(await c.diagnostics("early.toFixed(2) + v3.toFixed(1) + late.length")).toEqual([]);
  const errs = await c.diagnostics("const s: string = early");
  expect(errs.map((d) => d.code)).toContain(2322);
  expect((await c.complete("ear", 3)).map((x) => x.name)).toContain("early");
}

describe("language-service worker heap limit", () => {
  it("starts under the default limit and keeps it for ordinary cells", async () => {
    const c = client(HEAP_LIMIT_MB);
    c.addCell("const a = 1");
    expect(await c.diagnostics("a.toFixed()")).toEqual([]);
    await sleep(1500); // the idle collection reports the live heap
    expect(c.recycles).toBe(0);
    expect(c.heapLimitMb).toBe(HEAP_LIMIT_MB);
  }, 120_000);

  it("a worker near its limit is replaced by one with a larger limit that knows every earlier cell", async () => {
    // the standard library and @types/node alone are about 100 MB live, so 120 MB is near the limit
    const c = client(120);
    await cellsSurvive(c, () => c.recycles >= 1);
    expect(c.heapLimitMb).toBeGreaterThan(120);
  }, 240_000);

  it("a worker that runs out of memory is started again with twice the limit, losing no request", async () => {
    const c = client(40);
    await cellsSurvive(c, () => c.restarts >= 1);
    expect(c.heapLimitMb).toBeGreaterThanOrEqual(80);
  }, 240_000);
});
