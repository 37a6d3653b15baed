// Cells of plain expression statements are copied instead of transpiled (plain-cell.ts). The copy must
// behave as TypeScript's transpile of the same cell does: same value, same result flag and assignments,
// and errors mapped back to the same line and column of the cell.
import { SourceMap } from "node:module";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { plainCell } from "../../kernel/session/plain-cell.js";
import { CellScripts, cellFrames } from "../../kernel/session/tracebacks.js";
import { transformCell, transpileCell, type TransformedCell } from "../../kernel/session/transform.js";

const PLAIN = [
  "1+1", "1+1 // 3", "  1 + 2;  // c\n", "a\n(b)", "n++", "a = 3\nb", "[1,2,3].map((x) => x * 2)", "`a${1+2}b`",
  "await Promise.resolve(5)", "({a: 1, b})", "[a,\n  b]\n  .length", "tag`x${a}y`", "new Map([[1, 2]]).size", "1;2;3",
  "o?.p?.[0]?.(5)", "(async (x) => x)(4)", "typeof a === 'number' ? 1 : 2", "/re/g.test('are')", "1n + 2n", "[, 1, ...[2, 3]]",
  "a, b", "delete o.q", "void 0", "a **= 2", "(-a) ** 2", "(1 +\n 2)\n  * 3 // end", "a /* x */ + /* y */ b",
  "o.p.q", "s = `${a}`; s.length", "a\n;[b]", "((x) => x + 1)(a)",
];

const NOT_PLAIN = [
  "x as number", "f<number>(1)", "let y = 1", "'use strict'", "x!", "class A {}", "() => { return 1 }", "this",
  "import('x')", "import.meta.url", "(x: number) => x", "(x = 1) => x", "({ f() { return 1 } })", "a <!-- b", "#!/bin/sh\n1",
  "{...a, [k]: v}", "-a ** 2", "x satisfies number", "<number>x", "function f() {}", "enum E { A }", "1 +", "",
];

function scope(): vm.Context {
  const o: Record<string, unknown> = { p: { q: 7 }, q: 1 };
  return vm.createContext({ a: 2, b: 3, n: 1, o, s: "", tag: (strs: TemplateStringsArray, ...v: unknown[]) => strs.join("|") + v.join(",") });
}

/** the cell's value, or the message of what it threw (`a\n(b)` calls a number, in both forms) */
async function value(t: TransformedCell): Promise<unknown> {
  try {
    const r = (await (vm.runInContext(t.js, scope()) as Promise<{ value: unknown } | undefined>));
    return { value: r?.value };
  } catch (e) {
    return { threw: (e as Error).message };
  }
}

describe("plain cells", () => {
  it("are copied, not transpiled, and run as TypeScript's transpile of them does", async () => {
    for (const code of PLAIN) {
      expect(plainCell(code, "c.ts"), code).toBeDefined();
      const fast = transformCell(code, "c.ts");
      const full = transpileCell(code, "c.ts");
      // the cell's own text, between the wrapper's lines, with only `return { value: (` and `) }` added
      const body = fast.js.slice(fast.js.indexOf("\n") + 1, fast.js.lastIndexOf("\n")).replace("return { value: (", "");
      const tail = body.lastIndexOf(") }");
      expect(body.slice(0, tail) + body.slice(tail + 3), code).toBe(code);
      expect(fast.js, code).not.toBe(full.js); // the copy, not TypeScript's printing of it
      expect({ hasResult: fast.hasResult, declared: fast.declared, bindings: fast.bindings, assigned: fast.assigned, diagnostics: fast.diagnostics }, code)
        .toEqual({ hasResult: full.hasResult, declared: full.declared, bindings: full.bindings, assigned: full.assigned, diagnostics: full.diagnostics });
      expect(await value(fast), code).toEqual(await value(full));
    }
  });

  it("leave anything with types, declarations, modules, function bodies or odd comments to TypeScript", () => {
    for (const code of NOT_PLAIN) expect(plainCell(code, "c.ts"), code).toBeUndefined();
  });

  it("map every number of a literal-arithmetic cell (copied without a parse) back to itself", () => {
    for (const code of ["1+1", "  (12 +\n 3.5)\n  * 7 // end", "/* a */ -4 % 2;", "1 +\n\n  2 - (3)"]) {
      const t = transformCell(code, "c.ts");
      const map = new SourceMap(JSON.parse(t.sourceMap) as ConstructorParameters<typeof SourceMap>[0]);
      const jsLines = t.js.split("\n");
      const cellLines = code.split("\n");
      let numbers = 0;
      jsLines.forEach((text, line) => {
        for (const m of text.matchAll(/\d+(\.\d+)?/g)) {
          const e = map.findEntry(line, m.index) as { originalLine?: number; originalColumn?: number };
          expect(cellLines[e.originalLine!]!.slice(e.originalColumn!).startsWith(m[0]), `${code}: ${m[0]}`).toBe(true);
          numbers++;
        }
      });
      expect(numbers, code).toBe(code.match(/\d+(\.\d+)?/g)!.length);
    }
  });

  it("map an error back to the same cell line and column as the transpiled cell", async () => {
    const throwing = ["missing + 1", "1 +\n  missing", "o.p.none.deep", "[1].map((x) =>\n  x.y.z)", "a; b;\n   o.none()", "  (1, missing)", "tag`${missing}`"];
    for (const code of throwing) {
      const where: unknown[] = [];
      for (const t of [transformCell(code, "c.ts"), transpileCell(code, "c.ts")]) {
        const scripts = new CellScripts();
        scripts.add("mlx-ts-cell-1.js", "1", t.sourceMap, code, t.js);
        const err = await (new vm.Script(t.js, { filename: "mlx-ts-cell-1.js" }).runInContext(scope()) as Promise<unknown>).then(() => undefined, (e: unknown) => e);
        expect(typeof err, code).toBe("object"); // an error of the vm's realm
        where.push(cellFrames(err, scripts).map((f) => [f.line, f.column]));
      }
      expect(where[0], code).toEqual(where[1]);
      expect((where[0] as unknown[]).length, code).toBeGreaterThan(0);
    }
  });
});
