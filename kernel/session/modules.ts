// Module loading for cells. The vm context has no loader of its own, so `import x from "pkg"`, `import()`
// and `require()` in cells come here: node: built-ins directly; bare names from the working directory's
// node_modules first, then from this repository's (so `import chalk from "chalk"` works anywhere);
// relative paths from the working directory. ESM and CommonJS both load through Node's own import().
import { existsSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../util/repo-root.js";

export class ModuleNotFound extends Error {
  readonly code = "ERR_MODULE_NOT_FOUND";
  constructor(spec: string, bases: string[]) {
    super(`Cannot find module "${spec}" (looked in ${bases.map((b) => join(b, "node_modules")).join(" and ")}). ` +
      `Install it with \`npm install ${spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/")}\` in the notebook's folder.`);
    this.name = "ModuleNotFound";
  }
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

type Exports = string | null | { [k: string]: Exports } | Exports[];

/** Resolves a package.json "exports" entry for an ESM import (conditions node, import, default). */
function resolveExports(exp: Exports, subpath: string): string | undefined {
  const pick = (e: Exports): string | undefined => {
    if (typeof e === "string") return e;
    if (Array.isArray(e)) { for (const x of e) { const r = pick(x); if (r) return r; } return undefined; }
    if (e && typeof e === "object") {
      for (const c of ["node", "import", "module", "default", "require"]) if (c in e) { const r = pick(e[c]!); if (r) return r; }
    }
    return undefined;
  };
  if (typeof exp === "string" || Array.isArray(exp)) return subpath === "." ? pick(exp) : undefined;
  if (!exp) return undefined;
  const keys = Object.keys(exp);
  if (!keys.some((k) => k.startsWith("."))) return subpath === "." ? pick(exp) : undefined;
  if (subpath in exp) return pick(exp[subpath]!);
  for (const k of keys) {
    const star = k.indexOf("*");
    if (star < 0) continue;
    const pre = k.slice(0, star), post = k.slice(star + 1);
    if (subpath.startsWith(pre) && subpath.endsWith(post)) {
      const target = pick(exp[k]!);
      if (target) return target.replace("*", subpath.slice(pre.length, subpath.length - post.length));
    }
  }
  return undefined;
}

function findPackageDir(name: string, base: string): string | undefined {
  let d = base;
  for (;;) {
    const p = join(d, "node_modules", name);
    if (existsSync(join(p, "package.json"))) return p;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/** A file URL (or node: specifier) for `spec`, or undefined when it cannot be found from `base`. */
export function resolveFrom(spec: string, base: string): string | undefined {
  try {
    return pathToFileURL(createRequire(join(base, "__cell__.js")).resolve(spec)).href;
  } catch {
    // ESM-only packages (exports with only an "import" condition) are not visible to require.resolve
  }
  const name = packageName(spec);
  const dir = findPackageDir(name, base);
  if (!dir) return undefined;
  const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { exports?: Exports; module?: string; main?: string };
  const sub = "." + spec.slice(name.length);
  const target = pj.exports !== undefined ? resolveExports(pj.exports, sub) : sub === "." ? (pj.module ?? pj.main ?? "index.js") : sub;
  if (!target) return undefined;
  const file = join(dir, target);
  return existsSync(file) ? pathToFileURL(file).href : undefined;
}

export class CellModules {
  private readonly require_: NodeJS.Require;
  private readonly fallbackRequire: NodeJS.Require;

  constructor(readonly cwd: string = process.cwd(), readonly root: string = repoRoot()) {
    this.require_ = createRequire(join(cwd, "__cell__.js"));
    this.fallbackRequire = createRequire(join(root, "__cell__.js"));
  }

  resolve(spec: string): string {
    if (spec.startsWith("node:") || builtinModules.includes(spec)) return spec.startsWith("node:") ? spec : `node:${spec}`;
    if (spec.startsWith("file:")) return spec;
    if (spec.startsWith(".") || isAbsolute(spec)) return pathToFileURL(resolve(this.cwd, spec)).href;
    const r = resolveFrom(spec, this.cwd) ?? resolveFrom(spec, this.root);
    if (!r) throw new ModuleNotFound(spec, [this.cwd, this.root]);
    return r;
  }

  async import(spec: unknown): Promise<Record<string, unknown>> {
    if (typeof spec !== "string") throw new TypeError(`import() needs a module name string, got ${typeof spec}`);
    return (await import(this.resolve(spec))) as Record<string, unknown>;
  }

  /** `require` for cells: the working directory's modules first, then ours. */
  readonly require = ((spec: string): unknown => {
    try {
      return this.require_(spec);
    } catch (e) {
      if ((e as { code?: string }).code !== "MODULE_NOT_FOUND") throw e;
      return this.fallbackRequire(spec);
    }
  }) as (spec: string) => unknown;
}
