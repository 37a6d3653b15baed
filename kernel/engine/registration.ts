// A registered model: a name for a checkpoint that need not be resident, with its role, priority,
// context length and fallback. Validation of what users write (a magic line, a call, a JSON file).
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve as resolvePath } from "node:path";
import { ALIASES } from "./resolve.js";
import { MlxTsError, type LoadOptions } from "./types.js";

export interface Registration {
  name: string;
  /** alias, model directory, .gguf file, or HF id: what %load accepts */
  path: string;
  /** what it is for: routing picks models by role ("reasoning", "code", "fast", ...) */
  role?: string;
  /** higher stays resident longer; default 0 */
  priority: number;
  /** positions of KV cache the budget reserves for it; default min(the model's context length, 4096) */
  context?: number;
  /** the model to answer when this one cannot fit even after eviction */
  fallback?: string;
  dtype?: LoadOptions["dtype"];
  quant?: LoadOptions["quant"];
}

/** What `session.models.register()` and each JSON entry accept. */
export interface RegisterInput {
  name: string;
  path: string;
  role?: string;
  priority?: number;
  context?: number;
  fallback?: string;
  dtype?: LoadOptions["dtype"];
  quant?: { bits: number; groupSize?: number };
}

const KEYS = new Set(["name", "path", "role", "priority", "context", "fallback", "dtype", "quant"]);
const HF_ID = /^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/;

function fail(where: string, why: string): never {
  throw new MlxTsError("E_BAD_ARGUMENT", `${where}: ${why}`);
}

/** A path-like string that does not exist is an error now, not at the first generation. */
function checkPath(where: string, path: string): void {
  if (ALIASES[path] !== undefined || existsSync(path)) return;
  const looksLikePath = isAbsolute(path) || path.startsWith(".") || path.startsWith("~") || path.endsWith(".gguf");
  if (!looksLikePath && HF_ID.test(path)) return; // an HF id: resolved (cache or download) when loaded
  fail(where, `path ${JSON.stringify(path)} does not exist, and it is not an alias (${Object.keys(ALIASES).join(", ")}) or an HF id (org/name). Give a model directory, a .gguf file, an alias or an HF id.`);
}

export function validateRegistration(x: unknown, where: string, baseDir?: string): Registration {
  if (x === null || typeof x !== "object" || Array.isArray(x)) fail(where, `expected an object like {"name": "fast", "path": "smollm2", "role": "chat", "priority": 1}, got ${JSON.stringify(x)}`);
  const o = x as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length) fail(where, `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (allowed: ${[...KEYS].join(", ")})`);
  if (typeof o.name !== "string" || !/^[\w.@+-]+$/.test(o.name)) fail(where, `"name" must be a non-empty word (letters, digits, . _ - @ +), got ${JSON.stringify(o.name)}`);
  if (typeof o.path !== "string" || o.path.trim() === "") fail(where, `"path" must be a non-empty string (alias, directory, .gguf file or HF id), got ${JSON.stringify(o.path)}`);
  let path = o.path.trim();
  // Relative paths in a file are relative to the file.
  if (baseDir && !isAbsolute(path) && existsSync(join(baseDir, path))) path = resolvePath(baseDir, path);
  checkPath(where, path);
  const r: Registration = { name: o.name, path, priority: 0 };
  if (o.role !== undefined) {
    if (typeof o.role !== "string" || o.role.trim() === "") fail(where, `"role" must be a non-empty string, got ${JSON.stringify(o.role)}`);
    r.role = o.role.trim();
  }
  if (o.priority !== undefined) {
    if (typeof o.priority !== "number" || !Number.isInteger(o.priority)) fail(where, `"priority" must be a whole number (higher stays resident longer), got ${JSON.stringify(o.priority)}`);
    r.priority = o.priority;
  }
  if (o.context !== undefined) {
    if (typeof o.context !== "number" || !Number.isInteger(o.context) || o.context < 1) fail(where, `"context" must be a positive whole number of tokens, got ${JSON.stringify(o.context)}`);
    r.context = o.context;
  }
  if (o.fallback !== undefined) {
    if (typeof o.fallback !== "string" || o.fallback === "") fail(where, `"fallback" must be a model name, got ${JSON.stringify(o.fallback)}`);
    if (o.fallback === o.name) fail(where, `"fallback" names the model itself; name another registered model`);
    r.fallback = o.fallback;
  }
  if (o.dtype !== undefined) {
    if (o.dtype !== "bfloat16" && o.dtype !== "float16" && o.dtype !== "float32") fail(where, `"dtype" must be bfloat16, float16 or float32, got ${JSON.stringify(o.dtype)}`);
    r.dtype = o.dtype;
  }
  if (o.quant !== undefined) {
    const q = o.quant as { bits?: unknown; groupSize?: unknown };
    if (typeof q !== "object" || q === null || (q.bits !== 4 && q.bits !== 8)) fail(where, `"quant" must be {"bits": 4|8, "groupSize"?: 32|64|128}, got ${JSON.stringify(o.quant)}`);
    if (q.groupSize !== undefined && q.groupSize !== 32 && q.groupSize !== 64 && q.groupSize !== 128) fail(where, `"quant.groupSize" must be 32, 64 or 128, got ${JSON.stringify(q.groupSize)}`);
    r.quant = { bits: q.bits, ...(q.groupSize !== undefined ? { groupSize: q.groupSize as number } : {}) };
  }
  return r;
}

export interface FileEntryError {
  /** position in the file's list, from 0 */
  index: number;
  name?: string;
  message: string;
}

/**
 * A registry file: `[entry, ...]` or `{"models": [entry, ...]}`. Each entry is checked on its own, so a
 * bad one is reported (by index and name) and the others still register.
 */
export function parseRegistrationFile(file: string): { entries: Registration[]; errors: FileEntryError[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MlxTsError("E_BAD_ARGUMENT", `Cannot read the registry file ${file}: ${(e as Error).message}. Check the path.`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MlxTsError("E_BAD_ARGUMENT", `${file} is not valid JSON (${(e as Error).message}); nothing was registered. Fix the file and run it again.`, { cause: e });
  }
  const list = Array.isArray(json) ? json : (json as { models?: unknown } | null)?.models;
  if (!Array.isArray(list)) throw new MlxTsError("E_BAD_ARGUMENT", `${file} must hold a list of models, or {"models": [...]}; nothing was registered.`);
  const entries: Registration[] = [];
  const errors: FileEntryError[] = [];
  const seen = new Set<string>();
  list.forEach((x, index) => {
    const name = typeof (x as { name?: unknown } | null)?.name === "string" ? (x as { name: string }).name : undefined;
    try {
      const r = validateRegistration(x, `${file} entry ${index}${name ? ` (${name})` : ""}`, dirname(resolvePath(file)));
      if (seen.has(r.name)) fail(`${file} entry ${index} (${r.name})`, `the name ${r.name} is already used by an earlier entry; names must be unique`);
      seen.add(r.name);
      entries.push(r);
    } catch (e) {
      errors.push({ index, ...(name ? { name } : {}), message: (e as Error).message });
    }
  });
  return { entries, errors };
}
