// The layering rules of kernel/, checked on the source: imports are parsed statically (TypeScript's own
// pre-processor), so a rule broken by any file fails here with the edge that breaks it.
//   - no folder ring (kernel/a imports kernel/b and b, through any path, imports a) and no file circle;
//   - kernel/protocol.ts is a leaf, kernel/util imports only protocol and util;
//   - no Proxy and no computed import specifier in kernel/ (the type checker must see every edge);
//   - the REPL reaches magics only through the session.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");
const KERNEL = join(ROOT, "kernel");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : f.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports of a file (static, type-only, re-exports, literal import()), as repo-relative .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(ROOT, resolve(dirname(file), s.replace(/\.js$/, ".ts"))));
}

/** `kernel/engine/x.ts` -> `engine`; files directly in kernel/ are their own unit (`protocol.ts`). */
const folderOf = (rel: string): string => rel.split("/").slice(1, -1)[0] ?? rel.split("/")[1]!;

interface Graph { [node: string]: Set<string> }

function graphOf(files: string[]): { files: Graph; folders: Graph; why: Map<string, string> } {
  const files_: Graph = {};
  const folders: Graph = {};
  const why = new Map<string, string>();
  for (const abs of files) {
    const f = relative(ROOT, abs);
    files_[f] = new Set(importsOf(abs).filter((t) => t.startsWith("kernel/")));
    for (const t of files_[f]!) {
      const a = folderOf(f), b = folderOf(t);
      if (a === b) continue;
      (folders[a] ??= new Set()).add(b);
      if (!why.has(`${a}->${b}`)) why.set(`${a}->${b}`, `${f} -> ${t}`);
    }
  }
  return { files: files_, folders, why };
}

/** Every cycle's nodes, as found by depth-first search (empty when the graph is acyclic). */
export function cycles(g: Graph): string[][] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of g[n] ?? []) {
      if (state.get(m) === 1) found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of Object.keys(g)) if (!state.has(n)) visit(n);
  return found;
}

const all = tsFiles(KERNEL);
const { files, folders, why } = graphOf(all);

describe("kernel/ import rules", () => {
  it("the cycle finder finds a ring and a circle (so an empty answer below means something)", () => {
    expect(cycles({ a: new Set(["b"]), b: new Set(["c"]), c: new Set(["a"]) })).toEqual([["a", "b", "c", "a"]]);
    expect(cycles({ a: new Set(["b"]), b: new Set() })).toEqual([]);
  });

  it("no folder ring", () => {
    const rings = cycles(folders).map((c) => `${c.join(" -> ")}  (edges: ${c.slice(0, -1).map((n, i) => why.get(`${n}->${c[i + 1]}`)).join("; ")})`);
    expect(rings).toEqual([]);
  });

  it("no file circle", () => {
    expect(cycles(files).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("kernel/protocol.ts is a leaf; kernel/util imports only protocol and util", () => {
    expect([...files["kernel/protocol.ts"]!]).toEqual([]);
    for (const [f, targets] of Object.entries(files)) {
      if (!f.startsWith("kernel/util/")) continue;
      for (const t of targets) expect(t, f).toMatch(/^kernel\/(protocol\.ts|util\/)/);
    }
  });

  it("display and engine never import the layers above them", () => {
    for (const [from, banned] of [["display", ["magics", "session", "jupyter", "bench"]], ["engine", ["magics", "session", "jupyter", "display", "bench", "mx"]], ["bench", ["magics", "session", "jupyter"]]] as const) {
      for (const b of banned) expect(why.get(`${from}->${b}`), `${from} -> ${b}`).toBeUndefined();
    }
  });

// The two that are not there to dodge the type checker: cells' `process` (stdout/exit routed to the cell)
// and the loader of the user's own modules, whose names are only known at run time.
const ALLOWED = new Set(["kernel/session/context.ts: new Proxy", "kernel/session/modules.ts: import(this.resolve(spec))"]);

  it("no Proxy and no computed import specifier in kernel/ (the session global included)", () => {
    const offences: string[] = [];
    for (const abs of all) {
      const src = ts.createSourceFile(abs, readFileSync(abs, "utf8"), ts.ScriptTarget.ES2022, true);
      const visit = (n: ts.Node): void => {
        if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === "Proxy") offences.push(`${relative(ROOT, abs)}: new Proxy`);
        if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && !ts.isStringLiteral(n.arguments[0]!)) {
          offences.push(`${relative(ROOT, abs)}: import(${n.arguments[0]!.getText(src)})`);
        }
        ts.forEachChild(n, visit);
      };
      visit(src);
    }
    expect(offences.filter((o) => !ALLOWED.has(o))).toEqual([]);
  });

  it("the REPL reaches magics only through the session", () => {
    for (const abs of tsFiles(join(ROOT, "repl"))) {
      for (const t of importsOf(abs)) expect(t, relative(ROOT, abs)).not.toMatch(/^kernel\/magics\//);
    }
  });
});
