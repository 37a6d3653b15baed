// What `%load ` completes: the aliases, paths on disk (directories and .gguf files), and the HF ids in
// the local hub cache. Every candidate is the whole word, so it replaces what was typed.
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { hubCacheDir } from "../engine/hf-cache.js";
import { ALIASES } from "../engine/resolve.js";

const MAX = 200;

function pathCandidates(cur: string): string[] {
  const slash = cur.lastIndexOf("/");
  const dirPart = slash >= 0 ? cur.slice(0, slash + 1) : "";
  const base = slash >= 0 ? cur.slice(slash + 1) : cur;
  const dirAbs = dirPart.startsWith("~/") ? join(homedir(), dirPart.slice(2)) : resolve(dirPart || ".");
  let names: string[];
  try {
    names = readdirSync(dirAbs);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (!n.startsWith(base) || (n.startsWith(".") && !base.startsWith("."))) continue;
    let dir = false;
    try {
      dir = statSync(join(dirAbs, n)).isDirectory();
    } catch {
      continue;
    }
    if (dir) out.push(`${dirPart}${n}/`);
    else if (n.endsWith(".gguf")) out.push(`${dirPart}${n}`);
    if (out.length >= MAX) break;
  }
  return out;
}

/** org/name for every model folder in the HF hub cache (models--org--name). */
export function cachedHubIds(cacheDir = hubCacheDir()): string[] {
  if (!existsSync(cacheDir)) return [];
  try {
    return readdirSync(cacheDir)
      .filter((n) => n.startsWith("models--"))
      .map((n) => n.slice("models--".length).split("--"))
      .filter((p) => p.length === 2)
      .map(([org, name]) => `${org}/${name}`)
      .sort();
  } catch {
    return [];
  }
}

/** Candidates for `%load CUR`: a word that looks like a path completes on disk; otherwise aliases, cached ids and local entries. */
export function modelSourceCandidates(cur: string, cacheDir?: string): string[] {
  const looksLikePath = /^(\.{1,2}\/|\/|~\/)/.test(cur);
  if (looksLikePath) return pathCandidates(cur);
  const ids = cachedHubIds(cacheDir);
  const local = cur.includes("/") && !ids.some((id) => id.startsWith(cur)) ? pathCandidates(cur) : [];
  return [...Object.keys(ALIASES), ...ids, ...local].filter((c) => c.startsWith(cur));
}
