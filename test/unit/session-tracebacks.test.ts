// CellScripts keeps only a compact form of each cell's source map and decodes a few at a time, so a
// function from a cell far behind the decoded window must still map back to its own cell and line.
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { transformCell } from "../../kernel/session/transform.js";
import { CellScripts, reportError } from "../../kernel/session/tracebacks.js";

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

/** Runs cells the way the session does (transform, record, vm.Script with the cell's filename). */
function cells() {
  const scripts = new CellScripts();
  const ctx = vm.createContext({});
  vm.runInContext(`globalThis.__mlxts = { decl(n, v) { globalThis[n] = v; } };`, ctx);
  let id = 0;
  return {
    scripts,
    async run(code: string): Promise<unknown> {
      const n = ++id;
      const t = transformCell(code, `cell-${n}.ts`);
      expect(t.diagnostics).toEqual([]);
      const file = `mlx-ts-cell-${n}.js`;
      scripts.add(file, String(n), t.sourceMap, code, t.js);
      return (new vm.Script(t.js, { filename: file }).runInContext(ctx) as Promise<{ value: unknown } | undefined>);
    },
  };
}

describe("cell tracebacks", () => {
  it("map a frame of a cell run hundreds of cells earlier to that cell and line", async () => {
    const c = cells();
    await c.run("const pad = 0\nfunction deep(x: number): number {\n  if (x > 1) throw new TypeError(`bad ${x}`)\n  return x\n}");
    const early = await c.run("deep(3)").then(() => undefined, (e: unknown) => e);
    expect(stripAnsi(reportError(early, c.scripts).traceback.join("\n"))).toContain("Cell [1], line 3, in deep");
    for (let i = 0; i < 300; i++) await c.run(`const v${i % 5}: number = ${i}; v${i % 5}`);
    // errors of 40 later cells are reported in between, so cell 1's decoded map has left the window
    for (let i = 0; i < 40; i++) {
      const e = await c.run(`throw new Error("recent ${i}")`).then(() => undefined, (x: unknown) => x);
      expect(stripAnsi(reportError(e, c.scripts).traceback.join("\n"))).toContain(`Cell [${303 + i}], line 1`);
    }
    const err = await c.run("\n\ndeep(7)").then(() => undefined, (e: unknown) => e);
    const rep = reportError(err, c.scripts);
    const tb = stripAnsi(rep.traceback.join("\n"));
    expect(rep.ename).toBe("TypeError");
    expect(rep.evalue).toBe("bad 7");
    expect(tb).toContain("Cell [1], line 3, in deep");
    expect(tb).toContain("if (x > 1) throw new TypeError(`bad ${x}`)");
    expect(tb).toContain("Cell [343], line 3");
  });

  it("give the same positions whether a cell's map was decoded before or not", async () => {
    const c = cells();
    await c.run("function boom(): never {\n  throw new RangeError('boom')\n}");
    const first = await c.run("boom()").then(() => undefined, (e: unknown) => e);
    const once = stripAnsi(reportError(first, c.scripts).traceback.join("\n"));
    const again = stripAnsi(reportError(first, c.scripts).traceback.join("\n"));
    expect(once).toContain("Cell [1], line 2, in boom");
    expect(once).toContain("Cell [2], line 1");
    expect(again).toBe(once);
  });
});
