// Downloads a model repo from the Hugging Face hub into the standard cache layout, so that the next
// load (ours, mlx-lm's or transformers') finds it there. Metadata requests (always first) get a short
// timeout so an unreachable hub fails fast instead of hanging; file transfers are not time-limited
// because multi-GB weights legitimately take long.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { downloadFileToCacheDir, listFiles } from "@huggingface/hub";
import { repoFolder, type HfId } from "./hf-cache.js";
import type { LoadOptions } from "./types.js";

const METADATA_TIMEOUT_MS = 8_000;

const WANTED = [/\.json$/, /\.safetensors$/, /\.jinja$/, /^tokenizer\.model$/, /\.tiktoken$/, /\.txt$/];

/** Which files of a repo a load needs: configs, tokenizer, safetensors weights (not .bin/.pt/.onnx duplicates). */
export function filesToDownload(paths: string[]): string[] {
  const top = paths.filter((p) => !p.includes("/"));
  const picked = top.filter((p) => WANTED.some((re) => re.test(p)));
  if (picked.some((p) => p.endsWith(".safetensors"))) return picked;
  const ggufs = top.filter((p) => p.toLowerCase().endsWith(".gguf"));
  // A GGUF repo with one file is a model; with several the caller must say which one (by path).
  return ggufs.length === 1 ? [...picked, ggufs[0]] : picked;
}

function timedFetch(): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const isFile = url.includes("/resolve/");
    const signal = isFile ? undefined : AbortSignal.timeout(METADATA_TIMEOUT_MS);
    return fetch(input, { ...init, signal: init?.signal ?? signal });
  };
}

export interface HubDownloadOptions {
  cacheDir: string;
  env: Record<string, string | undefined>;
  onProgress?: LoadOptions["onProgress"];
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The hub answered (the repo and revision exist) but a file transfer failed: a network problem, not a missing model. */
export class TransferError extends Error {}

/**
 * The hub client announces each file with console.debug, which would land in a notebook cell's
 * output; progress goes through onProgress instead.
 */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  console.debug = () => undefined;
  try {
    return await f();
  } finally {
    console.debug = debug;
  }
}

/** The commit a branch/tag names, from the hub's revision API. */
async function commitOf(id: HfId, hubUrl: string, accessToken: string | undefined, f: typeof fetch): Promise<string> {
  if (COMMIT_SHA.test(id.revision)) return id.revision;
  const url = `${hubUrl}/api/models/${id.repo}/revision/${encodeURIComponent(id.revision)}`;
  const res = await f(url, { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}${res.status === 401 || res.status === 404 ? " (no such repo or revision, or it is gated: set HF_TOKEN)" : ""}`);
  const sha = ((await res.json()) as { sha?: unknown }).sha;
  if (typeof sha !== "string" || !COMMIT_SHA.test(sha)) throw new Error(`${url} did not name a commit`);
  return sha;
}

/**
 * Downloads id into cacheDir; resolves to the snapshot directory. Throws the fetch error when the hub is
 * unreachable. The revision is pinned to one commit first, so every file lands in the same snapshot, and
 * refs/<revision> is written as huggingface_hub does, so later offline loads find it.
 */
export async function downloadSnapshot(id: HfId, opts: HubDownloadOptions): Promise<string> {
  const hubUrl = (opts.env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
  const accessToken = opts.env.HF_TOKEN || undefined;
  const f = timedFetch();
  const sha = await commitOf(id, hubUrl, accessToken, f);
  const common = { repo: { type: "model" as const, name: id.repo }, revision: sha, hubUrl, fetch: f, ...(accessToken ? { accessToken } : {}) };
  const all: { path: string; size: number }[] = [];
  for await (const f of listFiles({ ...common, recursive: false })) if (f.type === "file") all.push({ path: f.path, size: f.size });
  const names = filesToDownload(all.map((f) => f.path));
  if (names.length === 0) throw new Error(`the repo ${id.repo}@${id.revision} has no safetensors weights or single GGUF file`);
  const sizes = new Map(all.map((f) => [f.path, f.size]));
  const total = names.reduce((s, n) => s + (sizes.get(n) ?? 0), 0);
  let done = 0;
  let snapshotFile = "";
  for (const path of names) {
    opts.onProgress?.({ phase: "download", done, total, file: path });
    try {
      snapshotFile = await quietly(() => downloadFileToCacheDir({ ...common, path, cacheDir: opts.cacheDir }));
    } catch (e) {
      throw new TransferError(`${path}: ${(e as Error).message}`, { cause: e });
    }
    done += sizes.get(path) ?? 0;
  }
  opts.onProgress?.({ phase: "download", done: total, total });
  if (!COMMIT_SHA.test(id.revision)) {
    const refs = join(opts.cacheDir, repoFolder(id.repo), "refs");
    mkdirSync(join(refs, id.revision, ".."), { recursive: true });
    writeFileSync(join(refs, id.revision), sha);
  }
  // downloadFileToCacheDir returns <cache>/models--x--y/snapshots/<sha>/<path>
  return snapshotFile.slice(0, snapshotFile.length - names[names.length - 1].length - 1);
}
