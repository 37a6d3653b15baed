// The quick check of a new cell text (kernel/session/fast-check.ts) against the full one: two language
// services over the same cells, one building a new program per text and one reusing the last checker,
// must report the same diagnostics for every cell, and the quick one must really have been used.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { REFRESH_AFTER } from "../../kernel/session/fast-check.js";
import { CellLanguageService, type TypeDiagnostic } from "../../kernel/session/language-service.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

// cells in order: each one is checked, then (as when it runs) kept for the later ones
const CELLS = [
  "1+1",
  "const n: number = 'hello'; n",
  "const a: number = 1",
  "a.toFixed(2)",
  "a.foo",
  "import { readFileSync } from 'node:fs'",
  "readFileSync({})",
  "readFileSync('x', 'utf8').length",
  "const dup = 1; const dup = 2",
  "let s: string = a",
  "[1, 2].at(0)!.toFixed()",
  "null + 1",
  "process.argv.length + Buffer.from('x').length",
  "interface Point { x: number; y: number }",
  "const p: Point = { x: 1 }",
  "function twice<T>(v: T): [T, T] { return [v, v]; }",
  "twice(3)[0].toUpperCase()",
  "class Box { constructor(public v: number) {} }",
  "new Box('x')",
  "const rows = []; rows.push(1); rows",
  "await Promise.resolve(1)",
  "{ a: 1, b: 'x' }",
  "%time\nconst t: string = 3",
  "import { helper } from './helper.js'",
  "helper(1).length",
  "helper('x')",
  "const later = await import('./helper.js'); later.helper(2)",
  "type Id = import('./helper.js').Id; const id: Id = 'x'",
  "declare global { var extra: number }\nextra.toFixed()",
  "// @ts-ignore\nconst ignored: number = 'x'",
  "mx.array([1, 2, 3])",
  "session.models",
  "display(1)",
  "const a: string = 'redeclared'; a.toUpperCase()",
  "a.toFixed()",
  "unknownName + 1",
];

const show = (d: TypeDiagnostic[]): string[] => d.map((x) => `${x.code} ${x.line}:${x.column} ${x.message}`);

describe("fast type check of a new cell", () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "mlx-ts-fastcheck-"));
    writeFileSync(join(cwd, "helper.ts"), "export type Id = number;\nexport function helper(x: number): string { return String(x); }\n");
  });

  it("gives the same diagnostics as a new program for every cell", { timeout: 120_000 }, () => {
    const quick = new CellLanguageService(cwd, root);
    const full = new CellLanguageService(cwd, root, { fastCheck: false });
    quick.warm();
    full.warm();
    const seen: string[] = [];
    for (const cell of CELLS) {
      const q = show(quick.diagnostics(cell));
      expect(q, cell).toEqual(show(full.diagnostics(cell)));
      seen.push(...q);
      quick.addCell(cell);
      full.addCell(cell);
    }
    // the corpus exercises errors, not only clean cells
    expect(seen.some((s) => s.startsWith("2322 "))).toBe(true);
    expect(seen.some((s) => s.startsWith("2339 "))).toBe(true);
    expect(seen.some((s) => s.startsWith("2451 "))).toBe(true);
    expect(seen.some((s) => s.startsWith("2345 "))).toBe(true);
    expect(seen.some((s) => s.startsWith("2304 "))).toBe(true);
    // most new texts were checked quickly; those needing a new program (new imports, declare global, ts-ignore) were not
    expect(quick.fastChecks).toBeGreaterThan(CELLS.length / 2);
    expect(quick.fastChecks).toBeLessThan(CELLS.length);
    expect(full.fastChecks).toBe(0);
  });

  it("builds a new program after REFRESH_AFTER quick checks, and stays right", { timeout: 120_000 }, () => {
    const quick = new CellLanguageService(cwd, root);
    const full = new CellLanguageService(cwd, root, { fastCheck: false });
    quick.warm();
    quick.addCell("const base = 1");
    full.addCell("const base = 1");
    for (let i = 0; i < REFRESH_AFTER + 6; i++) {
      const cell = i % 3 ? `base + ${i}` : `const v${i}: string = base + ${i}`;
      expect(show(quick.diagnostics(cell)), cell).toEqual(show(full.diagnostics(cell)));
    }
    expect(quick.fastChecks).toBe(REFRESH_AFTER + 5);
  });
});
