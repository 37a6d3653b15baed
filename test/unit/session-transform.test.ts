import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { preferObjectLiteral, transformCell } from "../../kernel/session/transform.js";

/** Runs transformed cells in a bare context with a minimal __mlxts, as the session does. */
function runner() {
  const ctx = vm.createContext({});
  vm.runInContext(`globalThis.__mlxts = {
    decl(n, v, k) { Object.defineProperty(globalThis, n, { value: v, writable: k !== "const" && k !== "import", configurable: true, enumerable: true }); },
    imports: [],
    import(spec) { this.imports.push(spec); return Promise.resolve({ default: { d: 1, named: 2 }, ns: 3 }); },
    bindImport(ns, b) {
      if (b.default) this.decl(b.default, ns.default, "import");
      if (b.namespace) this.decl(b.namespace, ns, "import");
      for (const [from, to] of b.named ?? []) this.decl(to, from in ns ? ns[from] : ns.default[from], "import");
    },
  };`, ctx);
  return async (code: string): Promise<unknown> => {
    const t = transformCell(code, "cell.ts");
    expect(t.diagnostics).toEqual([]);
    const r = (await vm.runInContext(t.js, ctx)) as { value: unknown } | undefined;
    return r?.value;
  };
}

describe("transformCell", () => {
  it("publishes const/let/var, functions and classes as globals that later cells can redeclare", async () => {
    const run = runner();
    expect(await run("const x = 1\nlet y = 2\nvar z = 3\nx + y + z")).toBe(6);
    expect(await run("const x = 10; x")).toBe(10);
    expect(await run("let x = 'again'; x")).toBe("again");
    expect(await run("function f() { return g() }\nfunction g() { return 7 }\nf()")).toBe(7);
    expect(await run("class A { v = 1 }\nnew A().v")).toBe(1);
    expect(await run("class A { v = 2 }\nnew A().v")).toBe(2);
  });

  it("keeps const read-only inside the cell and after it", async () => {
    const run = runner();
    await expect(run("const c = 1; c = 2")).rejects.toThrow(/read only/);
    await expect(run("c = 3")).rejects.toThrow(/read only/);
  });

  it("binds every name of a destructuring declaration", async () => {
    const run = runner();
    expect(await run("const { a, b: [c, , d = 4], ...rest } = { a: 1, b: [2, 0], e: 5, f: 6 }; [a, c, d, rest]"))
      .toEqual([1, 2, 4, { e: 5, f: 6 }]);
  });

  it("hoists function declarations within the cell", async () => {
    expect(await runner()("const r = later(); function later() { return 'hoisted' } r")).toBe("hoisted");
  });

  it("supports top-level await and returns the last expression, not awaiting a returned promise", async () => {
    const run = runner();
    expect(await run("const v = await Promise.resolve(5)\nv * 2")).toBe(10);
    const t = transformCell("Promise.resolve(1)", "c.ts");
    const wrapped = (await vm.runInContext(t.js, vm.createContext({}))) as { value: unknown };
    expect(typeof (wrapped.value as Promise<unknown>).then).toBe("function");
  });

  it("has no result when the cell ends with a declaration or a type", () => {
    expect(transformCell("const a = 1", "c.ts").hasResult).toBe(false);
    expect(transformCell("1 + 1\ninterface I { a: number }", "c.ts").hasResult).toBe(true);
  });

  it("rewrites static imports, import() and strips export", async () => {
    const run = runner();
    expect(await run(`import dflt, { named, type T } from "pkg"\nimport * as all from "node:fs"\nexport const e = 1;\n[dflt.d, named, all.ns, e]`))
      .toEqual([1, 2, 3, 1]);
    const t = transformCell(`const m = await import("x"); import.meta.url`, "c.ts");
    expect(t.js).toContain(`__mlxts.import("x")`);
    expect(t.js).toContain("__mlxts.importMeta");
    expect(t.js).not.toMatch(/(^|[^.\w])import\(/);
    expect(t.js).not.toMatch(/^export /m);
  });

  it("drops type-only statements and reports what the cell declares", () => {
    const t = transformCell("interface P { a: number }\ntype Q = string\nconst p: P = { a: 1 }\nenum E { A }", "c.ts");
    expect(t.declared).toEqual(["P", "Q", "p", "E"]);
    expect(t.js).not.toContain("interface");
  });

  it("reports syntax errors with line and column", () => {
    const t = transformCell("const ok = 1\nlet z = (;", "c.ts");
    expect(t.diagnostics[0]).toMatchObject({ line: 2, column: 10 });
  });

  it("reads a braced cell as an object literal when it parses as one", () => {
    expect(preferObjectLiteral("{ a: 1, b: 2 }")).toBe("({ a: 1, b: 2 })");
    expect(preferObjectLiteral("{ let q = 1 }")).toBe("{ let q = 1 }");
  });

  it("a re-run cell gets the same output from the cache, and callers cannot corrupt the cached copy", () => {
    const code = "const cached1 = 1;\ninterface T { x: number }\ncached1 + 1";
    const a = transformCell(code, "cell-a.ts");
    a.declared.push("mutated");
    const b = transformCell(code, "cell-b.ts");
    expect(b.js).toBe(a.js);
    expect(b.declared).toEqual(["cached1", "T"]);
    expect(b.hasResult).toBe(true);
  });
});
