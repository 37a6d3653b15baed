// The language-service worker is replaced by a fresh one after RECYCLE_AFTER type checks (its heap keeps
// the pages each new program churns through): the new one knows every earlier cell, and nothing asked of
// the old one is lost on the way.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LanguageServiceClient, RECYCLE_AFTER } from "../../kernel/session/ls-client.js";

const client = new LanguageServiceClient(mkdtempSync(`${tmpdir()}/mlx-ts-ls-`), resolve(import.meta.dirname, "..", ".."));
afterAll(() => client.close());

describe("language-service worker recycling", () => {
  it("a fresh worker takes over after enough checks and still knows every earlier cell", async () => {
    client.addCell("const early: number = 41");
    expect(await client.diagnostics("early.toFixed(2)")).toEqual([]);
    const recyclesBefore = client.recycles;
    const checks: Promise<unknown>[] = [];
    for (let i = 0; i < RECYCLE_AFTER + 20; i++) {
      const code = `const v${i % 7} = ${i} + early`;
      // every few cells one is asked while the next is still pending, as a busy notebook does
      const check = client.diagnostics(code);
      if (i % 5 === 0) checks.push(check);
      else await check;
      client.addCell(code);
    }
    await Promise.all(checks);
    // wait for the replacement to warm up and take over
    for (let i = 0; i < 300 && client.recycles === recyclesBefore; i++) await new Promise((r) => setTimeout(r, 100));
    expect(client.recycles).toBe(recyclesBefore + 1);
    for (let i = 0; i < 100; i++) await client.diagnostics(`v1 + ${i}`); // served once the new one is in
    client.addCell("const late = 'x'");
    expect(await client.diagnostics("early.toFixed(2) + v3.toFixed(1) + late.length")).toEqual([]);
    const errs = await client.diagnostics("const s: string = early");
    expect(errs.map((d) => d.code)).toContain(2322);
    expect((await client.complete("ear", 3)).map((c) => c.name)).toContain("early");
  }, 240_000);
});
