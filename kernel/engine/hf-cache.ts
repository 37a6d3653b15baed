// Resolution of "org/name[@revision]" inside the Hugging Face hub cache, in the layout huggingface_hub
// writes: <cache>/models--org--name/refs/<revision> holds a commit sha; snapshots/<sha>/ holds the files.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type Env = Record<string, string | undefined>;

/** HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order). */
export function hubCacheDir(env: Env = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  return join(env.HOME ?? homedir(), ".cache", "huggingface", "hub");
}

export interface HfId {
  repo: string;
  revision: string;
  /** true when the revision was given explicitly */
  pinned: boolean;
}

const HF_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Parses "org/name" or "org/name@revision"; undefined when the string is not shaped like an HF id. */
export function parseHfId(id: string): HfId | undefined {
  const m = HF_ID.exec(id);
  if (!m || m[1].includes("..") || m[2].includes("..")) return undefined;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? "main", pinned: m[3] !== undefined };
}

export function repoFolder(repo: string): string {
  return `models--${repo.replace("/", "--")}`;
}

export interface CacheLookup {
  /** the snapshot directory (or the single .gguf inside it) when found */
  path?: string;
  /** every path looked at, for the error message */
  searched: string[];
}

function hasModel(dir: string): string | undefined {
  if (existsSync(join(dir, "config.json"))) return dir;
  let ggufs: string[] = [];
  try {
    ggufs = readdirSync(dir).filter((f) => f.toLowerCase().endsWith(".gguf"));
  } catch {
    return undefined;
  }
  // A GGUF-only repo is usable when it holds exactly one file; with several the caller must pick one by path.
  return ggufs.length === 1 ? join(dir, ggufs[0]) : undefined;
}

/** Finds id's snapshot in cacheDir. A branch/tag revision goes through refs/; a full sha names the snapshot directly. */
export function lookupInCache(cacheDir: string, id: HfId): CacheLookup {
  const repoDir = join(cacheDir, repoFolder(id.repo));
  const searched: string[] = [];
  let sha: string | undefined;
  if (COMMIT_SHA.test(id.revision)) sha = id.revision;
  else {
    const ref = join(repoDir, "refs", id.revision);
    searched.push(ref);
    if (existsSync(ref) && statSync(ref).isFile()) sha = readFileSync(ref, "utf8").trim();
  }
  if (sha !== undefined) {
    const snap = join(repoDir, "snapshots", sha);
    searched.push(snap);
    if (existsSync(snap)) {
      const path = hasModel(snap);
      if (path) return { path, searched };
    }
  } else if (!id.pinned) {
    // No refs/main (e.g. a cache filled by hand or from a pinned download): a single snapshot is unambiguous.
    const snaps = join(repoDir, "snapshots");
    searched.push(snaps);
    if (existsSync(snaps)) {
      const all = readdirSync(snaps);
      if (all.length === 1) {
        const path = hasModel(join(snaps, all[0]));
        if (path) return { path, searched };
      }
    }
  }
  return { searched };
}
