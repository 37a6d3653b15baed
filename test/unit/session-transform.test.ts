import vm from "node:vm";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { topLevelAssignments } from "../../kernel/session/const-guard.js";
import { createCellContext } from "../../kernel/session/context.js";
import { bindingScript, preferObjectLiteral, transformCell } from "../../kernel/session/transform.js";

/** Runs transformed cells in the session's own cell context, with a stand-in module loader. */
function runner() {
  const imports: unknown[] = [];
  const c = createCellContext({
    report: () => undefined,
    import: (spec) => { imports.push(spec); return Promise.resolve({ default: { d: 1, named: 2 }, ns: 3 }); },
    require: () => undefined,
    importMetaUrl: "file:///cell.ts",
  });
  const run = async (code: string): Promise<unknown> => {
    let t = transformCell(code, "cell.ts");
    expect(t.diagnostics).toEqual([]);
    const guard = t.assigned.filter((n) => !t.declared.includes(n) && ["const", "import"].includes(c.bindingKind(n) ?? ""));
    if (guard.length) t = transformCell(code, "cell.ts", guard);
    const head = bindingScript(t, c.hasBinding);
    if (head !== undefined) vm.runInContext(head, c.context);
    const r = (await vm.runInContext(t.js, c.context)) as { value: unknown } | undefined;
    return r?.value;
  };
  return Object.assign(run, { globals: c.global, imports });
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

  it("keeps const read-only inside the cell and after it, and from outside the cells", async () => {
    const run = runner();
    await expect(run("const c = 1; c = 2")).rejects.toThrow("Assignment to constant variable 'c'");
    await expect(run("c = 3")).rejects.toThrow("Assignment to constant variable 'c'");
    await expect(run("c++")).rejects.toThrow("Assignment to constant variable 'c'");
    expect(() => { run.globals.c = 4; }).toThrow("Assignment to constant variable 'c'");
    expect(await run("c")).toBe(1);
    // locals that shadow it may change, and a let redeclaration makes it writable
    expect(await run("function f(c: number) { c = 9; return c }\n[f(0), (() => { let c = 2; c++; return c })()]")).toEqual([9, 3]);
    expect(await run("let c = 5; c = 6; c")).toBe(6);
    // the right-hand side runs before the assignment throws, as in JavaScript
    await expect(run("const k = 1; let side = 0; k = (side = 1)")).rejects.toThrow(/constant variable 'k'/);
    expect(await run("side")).toBe(1);
  });

  it("keeps top-level names as script-scope bindings: declared once, redeclared by assignment, seen live by closures", async () => {
    const run = runner();
    const first = transformCell("let count = 0\nconst bump = () => ++count", "c.ts");
    expect(first.bindings).toEqual(["count", "bump"]);
    expect(bindingScript(first, () => false)).toMatch(/^let count, bump;\n/);
    expect(bindingScript(first, (n) => n === "count")).toMatch(/^let bump;\n/);
    expect(bindingScript(first, () => true)).toBeUndefined();
    await run("let count = 0\nconst bump = () => ++count");
    expect(await run("for (let i = 0; i < 1000; i++) count++\ncount")).toBe(1000);
    expect(await run("bump()")).toBe(1001); // the closure of the first cell sees the second cell's updates
    expect(await run("let count = 'redeclared'; count")).toBe("redeclared");
    expect(await run("typeof bump()")).toBe("number"); // and the redeclaration ('redeclared' + 1 is NaN)
    expect(run.globals.count).toBeNaN(); // the global object reads the live binding
    run.globals.count = 7;
    expect(await run("count")).toBe(7);
    // every kind of declaration can be redeclared by any other
    await run("function count() { return 'fn' }");
    expect(await run("count()")).toBe("fn");
    await run("class count { v = 3 }");
    expect(await run("new count().v")).toBe(3);
  });

  it("reports a duplicate declaration inside one cell as TypeScript does, and allows what TypeScript merges", () => {
    const dup = transformCell("const dup = 1\nconst dup = 2", "c.ts");
    expect(dup.diagnostics).toEqual([{ message: "Cannot redeclare block-scoped variable 'dup'.", line: 2, column: 7 }]);
    expect(transformCell("let a = 1; function a() {}", "c.ts").diagnostics[0]?.message).toBe("Duplicate identifier 'a'.");
    expect(transformCell("class K {}\nconst { K } = { K: 1 }", "c.ts").diagnostics[0]).toMatchObject({ line: 2, column: 9 });
    for (const ok of ["var v = 1; var v = 2", "function o(a: string): void\nfunction o(a: unknown) {}", "interface I { a: 1 }\ninterface I { b: 2 }\nclass I {}", "enum E { A }\nenum E { B = 1 }", "type T = 1\nconst T = 1"]) {
      expect(transformCell(ok, "c.ts").diagnostics).toEqual([]);
    }
  });

  it("finds assignments to top-level names, not to locals that shadow them", () => {
    const names = (code: string): string[] =>
      topLevelAssignments(ts.createSourceFile("c.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)).map((a) => a.name);
    expect(names("a = 1; b += 2; c++; --d; (e) = 3")).toEqual(["a", "b", "c", "d", "e"]);
    expect(names("function f(a) { a = 1 } const g = (b) => { b++ }; function h() { var c; if (1) { c = 1 } }")).toEqual([]);
    expect(names("{ let a; a = 1 } for (let i = 0; i < 2; i++) i++; try {} catch (e) { e = 1 } const k = function e2() { e2 = null }")).toEqual([]);
    expect(names("function f() { x = 1 } { let y; } y = 2")).toEqual(["x", "y"]);
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
    expect(run.imports).toEqual(["pkg", "node:fs"]);
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
